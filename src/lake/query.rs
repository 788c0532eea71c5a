//! Analyses over a lake: a view's filter, with the lake's newest event as the reference of
//! `last:`, applied file by file to the partitions and row groups it can match, keeping
//! only the matching rows' needed columns; the result then goes through the same
//! [`crate::analysis`] functions as a loaded frame, so both give the same answer.

use std::path::Path;

use polars::prelude::*;

use crate::analysis::filter::{self, FilterContext, FilterExpr};
use crate::analysis::{self, CompiledView, Spec, ViewSpec};
use crate::load::pipeline::Batch;
use crate::schema::{self, EVENT_COLUMNS, ID_HASH, RAW_LEN, RAW_LINE, RAW_OFFSET, SOURCE, TIME};
use crate::store::FrameStore;
use crate::{Error, Result};

use super::layout::{NULL_PARTITION, RAW};
use super::prune::Pruning;
use super::records;
use super::scan::{self, LakeFile, ScanStats};

/// A part of a lake view's events: those in a time window, or those without a time (a page
/// of [`super::pages::LakePages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Events with `start <= time < end` (UTC microseconds).
    Times(i64, i64),
    /// Events without a time (the null partition).
    Untimed,
}

/// A row group a view can match, as its footer describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateGroup {
    /// Whether it is in a dated partition (not the null partition).
    pub dated: bool,
    /// Its first and last event time (UTC µs), None without statistics.
    pub times: Option<(i64, i64)>,
    /// Its events.
    pub events: u64,
}

/// A view opened over a lake: the files it can match and how to filter them.
#[derive(Debug, Clone)]
pub struct LakeView {
    files: Vec<LakeFile>,
    expr: Option<FilterExpr>,
    /// The part of the view's events read (None: all of them).
    window: Option<Window>,
    ctx: FilterContext,
    pruning: Pruning,
    /// The columns the filter reads.
    filter_columns: Vec<&'static str>,
    /// What was opened and skipped so far.
    pub stats: ScanStats,
}

impl LakeView {
    /// Opens `view`'s filter and time range over the lake at `root`.
    pub fn open(root: &Path, view: &ViewSpec) -> Result<LakeView> {
        let all = scan::lake_files(root)?;
        let ctx = FilterContext {
            tz: view.tz.clone(),
            newest: scan::newest_time(&all)?,
            ..FilterContext::default()
        };
        let mut terms = Vec::new();
        if !view.filter.trim().is_empty() {
            terms.push(filter::parse(&view.filter).map_err(invalid)?);
        }
        if let Some(range) = &view.range {
            terms.extend(range.terms());
        }
        let expr = if terms.len() > 1 {
            Some(FilterExpr::And(terms))
        } else {
            terms.pop()
        };
        // Compiled once up front so that an invalid filter fails before any file is read.
        if let Some(expr) = &expr {
            let _checked = filter::compile(expr, &ctx).map_err(invalid)?;
        }
        let pruning = Pruning::of(expr.as_ref(), &ctx)?;
        let mut stats = ScanStats {
            files: all.len(),
            ..ScanStats::default()
        };
        let mut files = Vec::new();
        let mut last: Option<(String, String)> = None;
        let mut keep = false;
        for file in all {
            let partition = (file.provider.clone(), file.day.clone());
            if last.as_ref() != Some(&partition) {
                stats.partitions += 1;
                keep = pruning.keeps_partition(&file.provider, &file.day)?;
                stats.partitions_read += usize::from(keep);
                last = Some(partition);
            }
            if keep {
                files.push(file);
            }
        }
        let mut filter_columns = Vec::new();
        if let Some(expr) = &expr {
            columns_of(expr, &mut filter_columns);
        }
        Ok(LakeView {
            files,
            expr,
            window: None,
            ctx,
            pruning,
            filter_columns,
            stats,
        })
    }

    /// How many events the row groups the filter can match hold, from the footers alone:
    /// what a read would go through (at least what it selects).
    pub fn rows_to_read(&self) -> Result<u64> {
        let mut stats = ScanStats::default();
        for file in &self.files {
            scan::kept_row_groups(file, &self.pruning, &mut stats)?;
        }
        Ok(stats.rows_read)
    }

    /// Reads only the view's events in `window` from now on.
    pub fn set_window(&mut self, window: Window) -> Result<()> {
        match window {
            Window::Times(start, end) => {
                self.pruning.limit_times(start, end);
                let mut kept = Vec::with_capacity(self.files.len());
                for file in std::mem::take(&mut self.files) {
                    if self.pruning.keeps_partition(&file.provider, &file.day)? {
                        kept.push(file);
                    }
                }
                self.files = kept;
                if !self.filter_columns.contains(&TIME) {
                    self.filter_columns.push(TIME);
                }
            }
            Window::Untimed => self.files.retain(|f| f.day == NULL_PARTITION),
        }
        let mut partitions: Vec<(&str, &str)> = (self.files.iter())
            .map(|f| (f.provider.as_str(), f.day.as_str()))
            .collect();
        partitions.dedup();
        self.stats.partitions_read = partitions.len();
        self.window = Some(window);
        Ok(())
    }

    /// The row groups the filter can match (from the footers and value indexes).
    pub fn candidate_groups(&self) -> Result<Vec<CandidateGroup>> {
        let mut stats = ScanStats::default();
        let mut out = Vec::new();
        for file in &self.files {
            let Some((metadata, _)) = scan::kept_row_groups(file, &self.pruning, &mut stats)?
            else {
                continue;
            };
            let dated = file.day != NULL_PARTITION;
            for group in &metadata.row_groups {
                let times = scan::row_group_times(&metadata, group).filter(|_| dated);
                out.push(CandidateGroup {
                    dated,
                    times,
                    events: group.num_rows() as u64,
                });
            }
        }
        Ok(out)
    }

    /// Keeps only the files `keep` accepts (of those the filter's partitions left).
    pub fn retain_files(&mut self, keep: impl Fn(&LakeFile) -> bool) {
        self.files.retain(keep);
    }

    /// The files of the partitions the filter can match, in time order of their partitions.
    pub fn files(&self) -> &[LakeFile] {
        &self.files
    }

    /// The events of `file` the view matches, with `columns` (frame types); None when no row
    /// group of the file can match. The filter's columns are read first; the others only
    /// when some event matches, and converted to the frame's types only for the matches
    /// (free-text columns such as `resource` cost the most to read and convert).
    /// With `raw_offset` among the columns, each row's is its [`records::locator`], `index`
    /// being the file's position in [`LakeView::files`].
    pub fn matches(&mut self, index: usize, columns: &[&str]) -> Result<Option<DataFrame>> {
        let Some(file) = self.files.get(index).cloned() else {
            return Ok(None);
        };
        let Some((metadata, rows)) = scan::kept_row_groups(&file, &self.pruning, &mut self.stats)?
        else {
            return Ok(None);
        };
        // The locators of every row read, kept alongside while the rows are filtered.
        let locators = columns.contains(&RAW_OFFSET).then(|| {
            let located: Vec<u64> = rows
                .into_iter()
                .flatten()
                .map(|row| records::locator(index, row))
                .collect();
            UInt64Chunked::from_vec(RAW_OFFSET.into(), located).into_column()
        });
        let with_locators = |mut frame: DataFrame, mask: Option<&BooleanChunked>| {
            if let Some(locators) = &locators {
                let locators = match mask {
                    Some(mask) => locators
                        .filter(mask)
                        .map_err(Error::polars("filtering lake events"))?,
                    None => locators.clone(),
                };
                frame
                    .with_column(locators)
                    .map_err(Error::polars("locating lake records"))?;
            }
            Ok::<_, Error>(frame)
        };
        let window = match self.window {
            Some(Window::Times(start, end)) => {
                let time = || col(TIME).to_physical();
                Some(time().gt_eq(lit(start)).and(time().lt(lit(end))))
            }
            _ => None,
        };
        if self.expr.is_none() && window.is_none() {
            self.stats.note_columns(columns);
            let read = scan::read_lake_columns(&file.path, metadata, columns)?;
            let frame = scan::to_frame_types(read, &file.provider, columns)?;
            return with_locators(frame, None).map(Some);
        }
        self.stats.note_columns(&self.filter_columns.clone());
        let read = scan::read_lake_columns(&file.path, metadata.clone(), &self.filter_columns)?;
        let tested = scan::to_frame_types(read, &file.provider, &self.filter_columns)?;
        // Compiled per file, after reading it: categorical tests are lists of dictionary
        // ids, and this file may have added values to the dictionaries.
        let compiled = match &self.expr {
            Some(expr) => Some(filter::compile(expr, &self.ctx).map_err(invalid)?),
            None => None,
        };
        let predicate = match (compiled, window) {
            (Some(expr), Some(window)) => expr.and(window),
            (Some(expr), None) => expr,
            (None, Some(window)) => window,
            (None, None) => lit(true),
        };
        let mask = tested
            .clone()
            .lazy()
            .select([predicate.alias(MASK)])
            .collect()
            .and_then(|m| m.column(MASK).and_then(|c| c.bool().cloned()))
            .map_err(Error::polars("filtering lake events"))?;
        let mask = mask
            .fill_null_with_values(false)
            .map_err(Error::polars("filtering lake events"))?;
        let tested = tested
            .filter(&mask)
            .map_err(Error::polars("filtering lake events"))?;
        let rest: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| !self.filter_columns.contains(c))
            .collect();
        let mut out = tested;
        if !rest.is_empty() {
            let others = if mask.any() {
                self.stats.note_columns(&rest);
                let read = scan::read_lake_columns(&file.path, metadata, &rest)?
                    .filter(&mask)
                    .map_err(Error::polars("filtering lake events"))?;
                scan::to_frame_types(read, &file.provider, &rest)?
            } else {
                empty(&rest)?
            };
            for column in others.columns().iter().cloned() {
                out.with_column(column)
                    .map_err(Error::polars("joining lake columns"))?;
            }
        }
        let out = with_locators(out, Some(&mask))?;
        out.select(columns.iter().copied())
            .map(Some)
            .map_err(Error::polars("choosing lake columns"))
    }

    /// Every matching event with `columns`, in time order (events without a time last);
    /// with `enough`, reading stops after the first whole day that brings the count to it.
    pub fn collect(&mut self, columns: &[&str], enough: Option<usize>) -> Result<DataFrame> {
        let mut parts: Vec<DataFrame> = Vec::new();
        let mut count = 0;
        let mut day: Option<String> = None;
        for index in 0..self.files.len() {
            let file_day = &self.files[index].day;
            if enough.is_some_and(|n| count >= n) && day.as_ref() != Some(file_day) {
                break;
            }
            day = Some(file_day.clone());
            if let Some(part) = self.matches(index, columns)? {
                count += part.height();
                if part.height() > 0 {
                    parts.push(part);
                }
            }
        }
        let mut frame = match parts.len() {
            0 => empty(columns)?,
            _ => {
                let mut frame = parts.swap_remove(0);
                // `swap_remove` moved the last part first; time order is restored below.
                for part in parts {
                    frame
                        .vstack_mut_owned(part)
                        .map_err(Error::polars("joining lake events"))?;
                }
                frame
            }
        };
        frame.rechunk_mut_par();
        if columns.contains(&TIME) {
            frame = frame
                .sort(
                    [TIME],
                    SortMultipleOptions::default()
                        .with_maintain_order(true)
                        .with_nulls_last(true),
                )
                .map_err(Error::polars("ordering lake events"))?;
        }
        Ok(frame)
    }
}

/// An empty frame with `columns` of the frame's types.
fn empty(columns: &[&str]) -> Result<DataFrame> {
    schema::empty_frame()
        .select(columns.iter().copied())
        .map_err(Error::polars("choosing lake columns"))
}

/// The column holding whether each event matches.
const MASK: &str = "__match";

fn invalid(err: filter::FilterError) -> Error {
    Error::Invalid(format!("invalid filter: {}", err.message))
}

/// The columns a filter reads (every event column for free text, which searches several).
fn columns_of(expr: &FilterExpr, out: &mut Vec<&'static str>) {
    let mut add = |c: &'static str| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    match expr {
        FilterExpr::All => {}
        FilterExpr::And(items) | FilterExpr::Or(items) => {
            items.iter().for_each(|i| columns_of(i, out));
        }
        FilterExpr::Not(inner) => columns_of(inner, out),
        FilterExpr::Field { field, .. } | FilterExpr::Bool { field, .. } => add(field),
        FilterExpr::InList { field, .. } if *field == filter::IP => add(schema::SRC_IP),
        FilterExpr::InList { field, .. } => add(field),
        FilterExpr::Text { .. } => EVENT_COLUMNS.iter().for_each(|c| add(c)),
        FilterExpr::Time { .. } => add(TIME),
        FilterExpr::Cidr { .. } => add(schema::SRC_IP),
    }
}

/// `trailscope query --lake`: the events `view` shows (its columns, sort and limit), and
/// what the scan read.
pub fn select(root: &Path, view: &ViewSpec) -> Result<(DataFrame, ScanStats)> {
    let mut lake = LakeView::open(root, view)?;
    let mut columns: Vec<&str> = view.shown_columns();
    for c in &columns {
        analysis::check_column(c)?;
    }
    if let Some(key) = &view.sort {
        analysis::check_column(&key.column)?;
        columns.push(key.column.as_str());
    }
    columns.push(TIME);
    let columns = dedup(columns);
    // Files come in time order, so without a sort the first `limit` events are in the
    // first days that hold that many.
    let enough = view.limit.filter(|_| view.sort.is_none());
    let matched = lake.collect(&columns, enough)?;
    let rest = CompiledView {
        spec: ViewSpec {
            filter: String::new(),
            range: None,
            ..view.clone()
        },
        filter: None,
    };
    Ok((analysis::select(&matched, &rest)?, lake.stats))
}

/// An analysis (a profile; pivots and timelines go through [`super::aggregate`]) over the
/// events of a lake `view` selects, their columns collected in one frame.
pub fn run<S: Spec>(root: &Path, view: &ViewSpec, spec: &S) -> Result<(S::Output, ScanStats)> {
    let mut lake = LakeView::open(root, view)?;
    let columns = spec.columns();
    for c in &columns {
        analysis::check_column(c)?;
    }
    let matched = lake.collect(&dedup(columns), None)?;
    Ok((analysis::run(&matched, None, spec)?, lake.stats))
}

/// The columns a `*` in `query --sql` over a lake stands for: every column the lake holds
/// but the original record (`raw`, read only when the query names it).
pub fn sql_columns() -> Vec<&'static str> {
    let mut columns = EVENT_COLUMNS.to_vec();
    columns.extend([SOURCE, RAW_LINE]);
    columns
}

/// `trailscope query --sql QUERY --lake`: Polars SQL over the table `events` (as
/// [`analysis::sql`]: categorical columns as text) holding the events `view`'s filter and
/// range select, read with only the columns the query names (see
/// [`analysis::sql::named_columns`]), in time order when it names `time`. The matching events' named
/// columns are held in memory while the query runs.
pub fn sql(root: &Path, view: &ViewSpec, query: &str) -> Result<(DataFrame, ScanStats)> {
    let mut lake = LakeView::open(root, view)?;
    let star = sql_columns();
    let mut nameable = star.clone();
    nameable.push(RAW);
    let mut columns = analysis::sql::named_columns(query, &nameable, &star);
    if columns.is_empty() {
        // `SELECT COUNT(*)` names no column, but its table needs the matching rows.
        columns.push(TIME);
    }
    let matched = lake.collect(&columns, None)?;
    Ok((analysis::sql(&matched, query)?, lake.stats))
}

/// The columns a store built from a lake holds: the frame's, without the original record.
pub fn store_columns() -> Vec<&'static str> {
    let mut columns = EVENT_COLUMNS.to_vec();
    columns.extend([SOURCE, RAW_OFFSET, RAW_LEN, RAW_LINE, ID_HASH]);
    columns
}

/// The events a lake `view` selects as a store (every frame column but the original
/// record), for what needs a loaded store: detections, the TUI.
pub fn load_store(root: &Path, view: &ViewSpec) -> Result<(FrameStore, ScanStats)> {
    store_of(&mut LakeView::open(root, view)?)
}

/// The events `lake` selects as a store, as [`load_store`].
pub fn store_of(lake: &mut LakeView) -> Result<(FrameStore, ScanStats)> {
    let frame = lake.collect(&store_columns(), None)?;
    let mut store = FrameStore::new();
    // The lake holds each event once, so every row is its own fingerprint.
    let fingerprints = (0..frame.height() as u64).collect();
    store.append(Batch {
        input: 0,
        frame,
        fingerprints,
        staged: Vec::new(),
        kept: Vec::new(),
    })?;
    store.commit()?;
    let files = lake.files().iter().map(|f| f.path.clone()).collect();
    store.set_record_source(records::LakeRecords::new(files));
    Ok((store, lake.stats.clone()))
}

fn dedup(columns: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(columns.len());
    for c in columns {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}
