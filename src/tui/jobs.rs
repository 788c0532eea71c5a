//! The work that may take longer than a frame: the filtered and sorted view of the events,
//! the analyses over it (pivot, timeline, actors), the detection run, and reading and
//! pretty-printing the selected record (a record can be megabytes). Each is a plain
//! function of a [`Job`] (which owns a clone of the frame, cheap because polars columns are
//! reference-counted) to a [`Done`] message; `tui/mod.rs` runs them on workers, one
//! latest-wins slot per [`Slot`], and tests run them inline.

use std::sync::Arc;

use polars::prelude::*;

use crate::analysis::{self, Pivot, PivotSpec, Timeline, TimelineSpec};
use crate::config::Config;
use crate::detectors::{self, Finding};
use crate::load::source::{self, Origin};
use crate::schema::{
    ACTOR, ACTOR_TYPE, CATEGORICAL_COLUMNS, Dictionaries, OUTCOME, PRIVILEGED, PROVIDER, RAW_LEN,
    RAW_OFFSET, SOURCE, SRC_IP, TIME,
};
use crate::store::FrameStore;
use crate::text::escape_control;

use super::model::ActorRow;
use super::record::{self, PrettyRecord};

/// The row-index column added while filtering (the frame's own columns never start with `__`).
const ROW: &str = "__row";

/// A sort of the events table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub column: &'static str,
    /// Largest first.
    pub descending: bool,
}

/// Which worker slot a job goes to; a newer job replaces a queued one of the same slot.
/// Each analysis has its own slot, so all three can be computed ahead of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Filtering and sorting.
    View,
    /// The pivot.
    Pivot,
    /// The timeline.
    Timeline,
    /// The actor inventory.
    Actors,
    /// The detection engine.
    Detect,
    /// Reading and pretty-printing the selected record.
    Record,
}

/// Work to do off the UI thread.
pub enum Job {
    /// Filter and sort the events.
    View(ViewJob),
    /// An analysis of the filtered events.
    Analysis(AnalysisJob),
    /// Run the detectors over every event.
    Detect(DetectJob),
    /// Read and pretty-print the record of a frame row.
    Record(RecordJob),
}

impl Job {
    /// The slot this job competes in.
    pub fn slot(&self) -> Slot {
        match self {
            Job::View(_) => Slot::View,
            Job::Analysis(job) => match job.analysis {
                Analysis::Pivot(_) => Slot::Pivot,
                Analysis::Timeline(_) => Slot::Timeline,
                Analysis::Actors => Slot::Actors,
            },
            Job::Detect(_) => Slot::Detect,
            Job::Record(_) => Slot::Record,
        }
    }
}

/// Filter and sort the frame into the rows the events table shows.
pub struct ViewJob {
    /// Which request this answers.
    pub version: u64,
    /// Which frame it ran on.
    pub frame_gen: u64,
    /// The store's frame.
    pub frame: DataFrame,
    /// The compiled filter (None: everything).
    pub filter: Option<Expr>,
    /// The sort (None: time order, the frame's own).
    pub sort: Option<Sort>,
    /// The filter's text (what the rows match).
    pub filter_text: String,
}

/// What an analysis job computes.
#[derive(Debug, Clone)]
pub enum Analysis {
    /// Counts by two fields.
    Pivot(PivotSpec),
    /// Lanes over time.
    Timeline(TimelineSpec),
    /// The identity inventory.
    Actors,
}

/// An analysis of the filtered rows of a frame.
pub struct AnalysisJob {
    /// The view version whose rows these are.
    pub version: u64,
    /// The store's frame.
    pub frame: DataFrame,
    /// The rows of the view (None: all).
    pub rows: Option<IdxCa>,
    /// What to compute.
    pub analysis: Analysis,
}

/// Run the detection engine.
pub struct DetectJob {
    /// Which frame it ran on.
    pub frame_gen: u64,
    /// The store's frame.
    pub frame: DataFrame,
    /// Rule settings.
    pub config: Arc<Config>,
}

/// Read the original record of a frame row and pretty-print its beginning.
pub struct RecordJob {
    /// The frame row.
    pub row: u32,
    /// Where its bytes are, or why they cannot be read.
    pub place: Result<RecordPlace, String>,
}

/// Where the bytes of one record are: its input and its range in the input's (decompressed)
/// bytes.
#[derive(Debug, Clone)]
pub struct RecordPlace {
    /// The input's name (the `source` column).
    pub input: String,
    /// How to read the input again.
    pub origin: Origin,
    /// Offset of the record.
    pub offset: u64,
    /// Length of the record.
    pub len: u32,
}

impl RecordJob {
    /// Finds the record of a frame row (cheap: three values and a map lookup), so that the
    /// worker reads it without the store, which stays on the UI thread.
    pub fn locate(store: &FrameStore, row: u32) -> RecordJob {
        let frame = store.frame();
        let value = |name: &str| frame.column(name).ok()?.get(row as usize).ok();
        let place = match value(SOURCE) {
            None => Err(format!(
                "event {} has no record locator",
                u64::from(row) + 1
            )),
            Some(source) => {
                let input = source.str_value().into_owned();
                match store.origin(&input) {
                    None => Err(format!("{input}: the input is no longer readable")),
                    Some(origin) => Ok(RecordPlace {
                        origin: origin.clone(),
                        offset: value(RAW_OFFSET)
                            .and_then(|v| v.extract::<u64>())
                            .unwrap_or(0),
                        len: value(RAW_LEN).and_then(|v| v.extract::<u32>()).unwrap_or(0),
                        input,
                    }),
                }
            }
        };
        RecordJob { row, place }
    }
}

/// The rows of the events view.
#[derive(Debug, Clone)]
pub struct ViewRows {
    /// Which request this answers.
    pub version: u64,
    /// Which frame it ran on.
    pub frame_gen: u64,
    /// Frame rows in display order (None: every row in frame order).
    pub rows: Option<IdxCa>,
    /// How many rows match.
    pub matching: usize,
    /// Earliest matching time.
    pub first: Option<i64>,
    /// Latest matching time.
    pub last: Option<i64>,
    /// The filter's text.
    pub filter_text: String,
}

/// An analysis result.
#[derive(Debug, Clone)]
pub enum AnalysisOutput {
    /// A pivot table.
    Pivot(Pivot),
    /// A timeline (and the bucket it was asked for).
    Timeline(Timeline),
    /// Actor rows, most active first.
    Actors(Vec<ActorRow>),
}

/// A finished job: news for `update`.
#[derive(Debug, Clone)]
pub enum Done {
    /// The events view was computed.
    ViewComputed(Result<ViewRows, String>, u64),
    /// An analysis was computed for a view version.
    AnalysisComputed {
        /// The view version.
        version: u64,
        /// The result or why it failed.
        result: Result<AnalysisOutput, String>,
    },
    /// The detectors ran over a frame generation.
    FindingsFound {
        /// The frame generation.
        frame_gen: u64,
        /// The findings or why the run failed.
        result: Result<Vec<Finding>, String>,
    },
    /// The record of a frame row was read and pretty-printed.
    RecordRead {
        /// The frame row.
        row: u32,
        /// The record (its first [`record::SHOWN_BYTES`] of pretty output), or why it could
        /// not be read.
        result: Result<PrettyRecord, String>,
    },
}

/// Runs a job to its result.
pub fn run(job: Job) -> Done {
    match job {
        Job::View(job) => {
            let version = job.version;
            Done::ViewComputed(view_rows(job).map_err(|e| e.to_string()), version)
        }
        Job::Analysis(job) => Done::AnalysisComputed {
            version: job.version,
            result: analyse(job).map_err(|e| e.to_string()),
        },
        Job::Detect(job) => Done::FindingsFound {
            frame_gen: job.frame_gen,
            result: detectors::run(&job.frame, &job.config).map_err(|e| e.to_string()),
        },
        Job::Record(job) => Done::RecordRead {
            row: job.row,
            result: job.place.and_then(|place| read_record(&place)),
        },
    }
}

/// Reads at most [`record::READ_BYTES`] of a record and pretty-prints what fits.
fn read_record(place: &RecordPlace) -> Result<PrettyRecord, String> {
    let wanted = place.len.min(record::READ_BYTES);
    let bytes = source::read_raw(&place.origin, place.offset, wanted).map_err(|e| {
        crate::Error::Io {
            location: crate::Location {
                path: place.input.clone(),
                line: None,
                byte_offset: Some(place.offset),
            },
            source: e,
        }
        .to_string()
    })?;
    Ok(record::pretty_prefix(
        &bytes,
        u64::from(place.len),
        record::SHOWN_BYTES,
    ))
}

fn time_range(times: &Column) -> (Option<i64>, Option<i64>) {
    let physical = times.as_materialized_series().to_physical_repr();
    match physical.i64() {
        Ok(t) => (t.min(), t.max()),
        Err(_) => (None, None),
    }
}

fn view_rows(job: ViewJob) -> crate::Result<ViewRows> {
    let ViewJob {
        version,
        frame_gen,
        frame,
        filter,
        sort,
        filter_text,
    } = job;
    if filter.is_none() && sort.is_none() {
        let (first, last) = frame.column(TIME).map(time_range).unwrap_or((None, None));
        return Ok(ViewRows {
            version,
            frame_gen,
            rows: None,
            matching: frame.height(),
            first,
            last,
            filter_text,
        });
    }
    // Categorical columns sort by their values' rank in the dictionary (a counting sort over
    // ids), several times faster than comparing a million strings.
    let categorical = sort.filter(|s| is_categorical(s.column));
    let mut lazy = frame.clone().lazy().with_row_index(ROW, None);
    if let Some(expr) = filter {
        lazy = lazy.filter(expr);
    }
    if let Some(sort) = sort.filter(|s| !is_categorical(s.column)) {
        lazy = lazy.sort(
            [sort.column],
            SortMultipleOptions::default()
                .with_order_descending(sort.descending)
                .with_nulls_last(true)
                .with_maintain_order(true),
        );
    }
    let out = lazy
        .select([col(ROW), col(TIME)])
        .collect()
        .map_err(crate::Error::polars("filtering events"))?;
    let mut rows = out
        .column(ROW)
        .and_then(|c| c.idx().cloned())
        .map_err(crate::Error::polars("filtering events"))?;
    let (first, last) = out.column(TIME).map(time_range).unwrap_or((None, None));
    if let Some(sort) = categorical {
        rows = sort_by_category(&frame, &rows, sort)?;
    }
    Ok(ViewRows {
        version,
        frame_gen,
        matching: rows.len(),
        rows: Some(rows),
        first,
        last,
        filter_text,
    })
}

fn is_categorical(column: &str) -> bool {
    CATEGORICAL_COLUMNS.contains(&column) || column == SOURCE
}

/// Orders `rows` by the text of a categorical column (nulls last; ties keep their order).
fn sort_by_category(frame: &DataFrame, rows: &IdxCa, sort: Sort) -> crate::Result<IdxCa> {
    let err = crate::Error::polars("sorting events");
    let physical = frame
        .column(sort.column)
        .map_err(crate::Error::polars("sorting events"))?
        .as_materialized_series()
        .to_physical_repr()
        .rechunk();
    let ids = physical.u32().map_err(err)?;
    let mut values = Dictionaries::shared().category_values(sort.column);
    values.sort_by(|a, b| a.1.cmp(&b.1));
    let size = values
        .iter()
        .map(|(id, _)| *id as usize + 1)
        .max()
        .unwrap_or(0);
    let buckets = values.len() + 1;
    let null = buckets - 1;
    let mut rank = vec![null; size];
    for (r, (id, _)) in values.iter().enumerate() {
        rank[*id as usize] = if sort.descending { buckets - 2 - r } else { r };
    }
    let keys: Vec<usize> = ids
        .downcast_iter()
        .flat_map(|a| a.iter())
        .map(|id| {
            id.and_then(|id| rank.get(*id as usize).copied())
                .unwrap_or(null)
        })
        .collect();
    let order: Vec<IdxSize> = rows
        .downcast_iter()
        .flat_map(|a| a.values().iter().copied())
        .collect();
    let mut starts = vec![0usize; buckets + 1];
    for &row in &order {
        starts[keys.get(row as usize).copied().unwrap_or(null) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut sorted = vec![0 as IdxSize; order.len()];
    for &row in &order {
        let key = keys.get(row as usize).copied().unwrap_or(null);
        sorted[starts[key]] = row;
        starts[key] += 1;
    }
    Ok(IdxCa::from_vec(PlSmallStr::from_static(ROW), sorted))
}

/// The filtered rows of `frame` with only `columns` (all rows in frame order when `rows` is None).
pub fn view_frame(
    frame: &DataFrame,
    rows: Option<&IdxCa>,
    columns: &[&str],
) -> crate::Result<DataFrame> {
    let mut names: Vec<&str> = Vec::with_capacity(columns.len());
    for c in columns {
        if !names.contains(c) {
            names.push(c);
        }
    }
    let selected = frame
        .select(names.iter().copied())
        .map_err(crate::Error::polars("selecting columns"))?;
    match rows {
        None => Ok(selected),
        Some(rows) => selected
            .take(rows)
            .map_err(crate::Error::polars("selecting rows")),
    }
}

fn analyse(job: AnalysisJob) -> crate::Result<AnalysisOutput> {
    let rows = job.rows.as_ref();
    match job.analysis {
        Analysis::Pivot(spec) => {
            let mut columns = vec![spec.rows.as_str()];
            columns.extend(spec.cols.as_deref());
            columns.extend(spec.distinct.as_deref());
            let frame = view_frame(&job.frame, rows, &columns)?;
            analysis::pivot(&frame, &spec).map(AnalysisOutput::Pivot)
        }
        Analysis::Timeline(spec) => {
            let frame = view_frame(&job.frame, rows, &[TIME, spec.by.as_str()])?;
            analysis::timeline(&frame, &spec).map(AnalysisOutput::Timeline)
        }
        Analysis::Actors => {
            let frame = view_frame(
                &job.frame,
                rows,
                &[
                    ACTOR, ACTOR_TYPE, PROVIDER, TIME, PRIVILEGED, OUTCOME, SRC_IP,
                ],
            )?;
            let table = analysis::actors(&frame)?;
            Ok(AnalysisOutput::Actors(actor_rows(&table)))
        }
    }
}

fn actor_rows(table: &DataFrame) -> Vec<ActorRow> {
    let column = |name: &str| table.column(name).ok();
    let (actor, kind, provider) = (column(ACTOR), column(ACTOR_TYPE), column(PROVIDER));
    let (first, last) = (column("first_seen"), column("last_seen"));
    let (events, privileged) = (column("events"), column("privileged_actions"));
    let (failures, ips) = (column("failures"), column("distinct_ips"));
    let text = |c: &Option<&Column>, i: usize| -> String {
        c.and_then(|c| c.get(i).ok())
            .map(|v| match v {
                AnyValue::Null => String::new(),
                v => v.str_value().into_owned(),
            })
            .unwrap_or_default()
    };
    let number = |c: &Option<&Column>, i: usize| -> u64 {
        c.and_then(|c| c.get(i).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0)
    };
    let time = |c: &Option<&Column>, i: usize| -> Option<i64> {
        match c.and_then(|c| c.get(i).ok()) {
            Some(AnyValue::Datetime(v, _, _)) | Some(AnyValue::DatetimeOwned(v, _, _)) => Some(v),
            _ => None,
        }
    };
    (0..table.height())
        .map(|i| {
            let name = text(&actor, i);
            ActorRow {
                label: escape_control(&name).into_owned(),
                actor: name,
                actor_type: escape_control(&text(&kind, i)).into_owned(),
                provider: escape_control(&text(&provider, i)).into_owned(),
                first: time(&first, i),
                last: time(&last, i),
                events: number(&events, i),
                privileged: number(&privileged, i),
                failures: number(&failures, i),
                distinct_ips: number(&ips, i),
            }
        })
        .collect()
}
