//! The work that may take longer than a frame: the filtered and sorted view of the events,
//! the analyses over it (pivot, timeline, identities), the detection run, and reading and
//! pretty-printing the selected record (a record can be megabytes). Each is a plain
//! function of a [`Job`] (which owns a clone of the frame, cheap because polars columns are
//! reference-counted) to a [`Done`] message; `tui/mod.rs` runs them on workers, one
//! latest-wins slot per [`Slot`], and tests run them inline.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use polars::prelude::*;

use crate::analysis::{self, CompiledView, Pivot, PivotSpec, SortKey, TimelineSpec};
use crate::audit::access::{self, AccessSpec};
use crate::audit::identities::{IdentitiesSpec, IdentityRow};
use crate::config::Config;
use crate::detectors::{self, Finding, Severity};
use crate::load::source::{self, Origin};
use crate::output::report::{self, ReportFormat, ReportSpec, ReportStats};
use crate::schema::{RAW_LEN, RAW_OFFSET, SOURCE};
use crate::store::{CommitFailed, CommitWork, Committed, FrameStore, RecordSource};
use crate::text::escape_control;

use super::access::{AccessView, access_view};
use super::model::{self, FindingRow, IdentityOrder, IdentityView, TimelineView};
use super::pretty_json::{self, PrettyRecord};

/// A sort of the events table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub column: &'static str,
    /// Largest first.
    pub descending: bool,
}

impl From<Sort> for SortKey {
    fn from(sort: Sort) -> SortKey {
        SortKey {
            column: sort.column.to_string(),
            descending: sort.descending,
        }
    }
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
    /// The identity inventory.
    Identities,
    /// The access audit.
    Access,
    /// The detection engine.
    Detect,
    /// Reading and pretty-printing the selected record.
    Record,
    /// Writing a report.
    Export,
    /// Merging arrived events into the frame.
    Commit,
    /// Reading a page of a lake's events.
    LakePage,
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
    /// Write a report of the current view.
    Export(Box<ExportJob>),
    /// Merge the events appended to the store into its frame (one at a time: the store
    /// begins no other commit until this one is finished).
    Commit(Box<CommitWork>),
    /// Read a page of a lake's events into a store.
    LakePage(LakePageJob),
}

/// The events of a lake page, read (debug output gives their number).
pub struct PageEvents(pub Box<FrameStore>);

impl std::fmt::Debug for PageEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PageEvents({} events)", self.0.frame().height())
    }
}

/// A page of a lake's events to read.
pub struct LakePageJob {
    /// The lake view's pages.
    pub pages: Arc<crate::lake::pages::LakePages>,
    /// Which one.
    pub index: usize,
}

impl Job {
    /// The slot this job competes in.
    pub fn slot(&self) -> Slot {
        match self {
            Job::View(_) => Slot::View,
            Job::Analysis(job) => match job.analysis {
                Analysis::Pivot(_) => Slot::Pivot,
                Analysis::Timeline(..) => Slot::Timeline,
                Analysis::Identities(..) => Slot::Identities,
                Analysis::Access(..) => Slot::Access,
            },
            Job::Detect(_) => Slot::Detect,
            Job::Record(_) => Slot::Record,
            Job::Export(_) => Slot::Export,
            Job::Commit(_) => Slot::Commit,
            Job::LakePage(_) => Slot::LakePage,
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
    /// The view, its filter compiled.
    pub view: CompiledView,
    /// An event to find in the new rows (the selection, kept while events arrive).
    pub anchor: Option<Anchor>,
}

/// An event the events table keeps selected while the frame grows: its row when the rows
/// before it stayed where they were, else where its record is (rows moved when the frame
/// was re-sorted by time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// Its row in the frame the job runs on.
    Row(u32),
    /// Its input (the `source` column) and the offset of its record there.
    Record {
        /// The input.
        source: String,
        /// The record's offset.
        offset: u64,
    },
}

impl Anchor {
    /// Where the event at `row` of `frame` was read from, to find it again after its row moved.
    pub fn record(frame: &DataFrame, row: u32) -> Option<Anchor> {
        let value = |name: &str| frame.column(name).ok()?.get(row as usize).ok();
        let source = value(SOURCE)?.str_value().into_owned();
        let offset = value(RAW_OFFSET)?.extract::<u64>()?;
        Some(Anchor::Record { source, offset })
    }

    /// The event's row in `frame`.
    fn frame_row(&self, frame: &DataFrame) -> Option<u32> {
        match self {
            Anchor::Row(row) => Some(*row).filter(|r| (*r as usize) < frame.height()),
            Anchor::Record { source, offset } => {
                // Offsets first (integers); the few rows at that offset in other inputs are
                // told apart by their input.
                let offsets = frame.column(RAW_OFFSET).ok()?.as_materialized_series();
                let sources = frame.column(SOURCE).ok()?;
                offsets
                    .u64()
                    .ok()?
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| *o == Some(*offset))
                    .find(|(i, _)| {
                        sources
                            .get(*i)
                            .is_ok_and(|v| v.str_value() == source.as_str())
                    })
                    .map(|(i, _)| i as u32)
            }
        }
    }

    /// The event's position among `rows` of `frame` (None: every row in frame order).
    pub fn position(&self, frame: &DataFrame, rows: Option<&IdxCa>) -> Option<usize> {
        let row = self.frame_row(frame)?;
        match rows {
            None => Some(row as usize),
            Some(rows) => rows
                .downcast_iter()
                .flat_map(|a| a.values().iter().copied())
                .position(|r| r == row),
        }
    }
}

/// What an analysis job computes.
#[derive(Debug, Clone)]
pub enum Analysis {
    /// Counts by two fields.
    Pivot(PivotSpec),
    /// Lanes over time, marked where these findings fired (on the worker: a month's
    /// findings can take the UI thread tens of milliseconds to mark).
    Timeline(TimelineSpec, Arc<Vec<Finding>>),
    /// The identity inventory, in the order the view shows it (sorted on the worker, so
    /// that a result arriving while events stream in costs the UI thread nothing).
    Identities(IdentitiesSpec, IdentityOrder),
    /// The access audit, with the configuration it judges by and a snapshot of the store
    /// (its identity resolver names grantees as the CLI does, and the grants' original
    /// records give PIM justification, ticket and scheduled end).
    Access(AccessSpec, Arc<Config>, StoreSnapshot),
}

/// A snapshot of the store for a worker ([`FrameStore::snapshot`]: the frame, the inputs'
/// origins and the identities, all cheap to clone).
#[derive(Clone)]
pub struct StoreSnapshot(pub Arc<FrameStore>);

impl std::fmt::Debug for StoreSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreSnapshot({} events)", self.0.frame().height())
    }
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

/// Write a report of the current view (`trailscope report`'s function, on a worker).
pub struct ExportJob {
    /// A snapshot of the store: its events, inputs and their counts.
    pub store: FrameStore,
    /// Rule settings (for findings, and the report's configuration hash).
    pub config: Arc<Config>,
    /// What to report.
    pub spec: ReportSpec,
    /// In which format.
    pub format: ReportFormat,
    /// Where.
    pub path: PathBuf,
    /// The findings of this frame when the TUI has them (else the report runs the rules).
    pub findings: Option<Vec<Finding>>,
}

/// Run the detection engine.
pub struct DetectJob {
    /// Which frame it ran on.
    pub frame_gen: u64,
    /// The store's frame.
    pub frame: DataFrame,
    /// Rule settings.
    pub config: Arc<Config>,
    /// Display time zone (of the findings' rows).
    pub tz: jiff::tz::TimeZone,
    /// A snapshot of the store when `[detect] sigma` names rules (they read the original
    /// records again).
    pub store: Option<Box<FrameStore>>,
}

/// The built-in rules' findings and those of the Sigma rules the configuration names.
fn all_findings(job: &DetectJob) -> crate::Result<Vec<Finding>> {
    let mut list = detectors::run(&job.frame, &job.config)?;
    if let Some(store) = &job.store {
        crate::sigma::add_configured(store, &job.frame, &job.config, &mut list)?;
    }
    Ok(list)
}

/// Read the original record of a frame row and pretty-print its beginning.
pub struct RecordJob {
    /// The frame row.
    pub row: u32,
    /// The row order `row` belongs to (see [`super::state::DetailModel::rows_epoch`]).
    pub epoch: u64,
    /// Where its bytes are, or why they cannot be read.
    pub place: Result<RecordPlace, String>,
}

/// Where the bytes of one record are.
#[derive(Debug, Clone)]
pub enum RecordPlace {
    /// In an input.
    Input(InputPlace),
    /// In the store's record source (a lake), at a locator.
    Kept(Arc<dyn RecordSource>, u64),
}

/// A record's input and its range in the input's (decompressed) bytes.
#[derive(Debug, Clone)]
pub struct InputPlace {
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
    pub fn locate(store: &FrameStore, row: u32, epoch: u64) -> RecordJob {
        let frame = store.frame();
        let value = |name: &str| frame.column(name).ok()?.get(row as usize).ok();
        let locator = || value(RAW_OFFSET).and_then(|v| v.extract::<u64>());
        if let Some(records) = store.record_source() {
            let place = locator()
                .map(|at| RecordPlace::Kept(Arc::clone(records), at))
                .ok_or_else(|| format!("event {} has no record locator", u64::from(row) + 1));
            return RecordJob { row, epoch, place };
        }
        let place = match value(SOURCE) {
            None => Err(format!(
                "event {} has no record locator",
                u64::from(row) + 1
            )),
            Some(source) => {
                let input = source.str_value().into_owned();
                match store.origin(&input) {
                    None => Err(format!("{input}: the input is no longer readable")),
                    Some(origin) => Ok(RecordPlace::Input(InputPlace {
                        origin: origin.clone(),
                        offset: locator().unwrap_or(0),
                        len: value(RAW_LEN).and_then(|v| v.extract::<u32>()).unwrap_or(0),
                        input,
                    })),
                }
            }
        };
        RecordJob { row, epoch, place }
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
    /// Where the job's anchor is among `rows` (None: no anchor, or it is not among them).
    pub anchored: Option<usize>,
}

/// An analysis result.
#[derive(Debug, Clone)]
pub enum AnalysisOutput {
    /// A pivot table.
    Pivot(Pivot),
    /// A timeline, labelled and marked.
    Timeline(TimelineView),
    /// Identity rows, in the order they were asked for.
    Identities(Vec<IdentityView>, IdentityOrder),
    /// The access audit's grants.
    Access(AccessView),
}

/// A finished job: news for `update`.
#[derive(Debug)]
pub enum Done {
    /// Arrived events were merged into a new frame (or could not be).
    Committed {
        /// The frame to put in place, or what to give back to the store.
        result: Result<Committed, Box<CommitFailed>>,
        /// How long the merge took.
        took: std::time::Duration,
    },
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
        result: Result<FindingsRun, String>,
    },
    /// A report was written (or not).
    Exported {
        /// Where.
        path: PathBuf,
        /// What it holds, or why it could not be written.
        result: Result<ReportStats, String>,
    },
    /// A page of a lake's events was read (or could not be).
    LakePageRead {
        /// Which page.
        index: usize,
        /// Its events, or why they could not be read.
        result: Result<PageEvents, String>,
    },
    /// The record of a frame row was read and pretty-printed.
    RecordRead {
        /// The frame row.
        row: u32,
        /// The row order it belongs to.
        epoch: u64,
        /// The record (its first [`pretty_json::SHOWN_BYTES`] of pretty output), or why it could
        /// not be read.
        result: Result<PrettyRecord, String>,
    },
}

/// The findings of a detection run and what the UI shows of them, computed on the worker
/// (a live tail can hold tens of thousands of findings).
#[derive(Debug, Clone)]
pub struct FindingsRun {
    /// The findings, by time.
    pub list: Vec<Finding>,
    /// Each finding's [`Finding::identity`].
    pub identities: Vec<u64>,
    /// The findings view's rows, escaped.
    pub rows: Vec<FindingRow>,
    /// Frame row -> most severe finding.
    pub flags: HashMap<u32, Severity>,
    /// The findings grouped into incidents.
    pub incidents: Vec<crate::incidents::Incident>,
}

impl FindingsRun {
    /// The view-models of `list`, times in `tz`.
    pub fn new(list: Vec<Finding>, tz: &jiff::tz::TimeZone) -> FindingsRun {
        let (rows, flags) = model::finding_rows(&list, tz);
        FindingsRun {
            identities: list.iter().map(Finding::identity).collect(),
            list,
            rows,
            flags,
            incidents: Vec::new(),
        }
    }
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
            result: all_findings(&job)
                .and_then(|list| {
                    let settings = crate::incidents::Settings::from_config(&job.config);
                    let incidents = crate::incidents::group(&job.frame, &list, &settings)?;
                    let mut run = FindingsRun::new(list, &job.tz);
                    run.incidents = incidents;
                    Ok(run)
                })
                .map_err(|e| e.to_string()),
        },
        Job::Record(job) => Done::RecordRead {
            row: job.row,
            epoch: job.epoch,
            result: job.place.and_then(|place| read_record(&place)),
        },
        Job::Commit(work) => {
            let started = std::time::Instant::now();
            let result = work.run();
            Done::Committed {
                result,
                took: started.elapsed(),
            }
        }
        Job::LakePage(job) => Done::LakePageRead {
            index: job.index,
            result: job
                .pages
                .load(job.index)
                .map(|(store, _)| PageEvents(Box::new(store)))
                .map_err(|e| e.to_string()),
        },
        Job::Export(job) => Done::Exported {
            result: report::write_with_findings(
                &job.store,
                &job.config,
                &job.spec,
                job.format,
                &job.path,
                job.findings.as_deref(),
            )
            .map_err(|e| e.to_string()),
            path: job.path,
        },
    }
}

/// Reads at most [`pretty_json::READ_BYTES`] of a record and pretty-prints what fits.
fn read_record(place: &RecordPlace) -> Result<PrettyRecord, String> {
    let place = match place {
        RecordPlace::Input(place) => place,
        RecordPlace::Kept(records, locator) => {
            let bytes = records.read(*locator).map_err(|e| e.to_string())?;
            let shown = crate::load::sniff::shown_record(&bytes);
            return Ok(pretty_json::pretty_prefix(
                &shown,
                shown.len() as u64,
                pretty_json::SHOWN_BYTES,
            ));
        }
    };
    let wanted = place.len.min(pretty_json::READ_BYTES);
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
    // An export tool's wrapper (lookup-events, search hits...) shows the record inside it.
    let (shown, total) = if wanted == place.len {
        let inner = crate::load::sniff::shown_record(&bytes);
        let total = inner.len() as u64;
        (inner, total)
    } else {
        (std::borrow::Cow::Borrowed(&bytes[..]), u64::from(place.len))
    };
    Ok(pretty_json::pretty_prefix(
        &shown,
        total,
        pretty_json::SHOWN_BYTES,
    ))
}

fn view_rows(job: ViewJob) -> crate::Result<ViewRows> {
    let selection = analysis::select_rows(&job.frame, &job.view)?;
    let anchored = job
        .anchor
        .as_ref()
        .and_then(|a| a.position(&job.frame, selection.rows.as_ref()));
    Ok(ViewRows {
        anchored,
        version: job.version,
        frame_gen: job.frame_gen,
        rows: selection.rows,
        matching: selection.matching,
        first: selection.first,
        last: selection.last,
        filter_text: job.view.spec.filter.trim().to_string(),
    })
}

fn analyse(job: AnalysisJob) -> crate::Result<AnalysisOutput> {
    let (frame, rows) = (&job.frame, job.rows.as_ref());
    match &job.analysis {
        Analysis::Pivot(spec) => analysis::run(frame, rows, spec).map(AnalysisOutput::Pivot),
        Analysis::Timeline(spec, findings) => analysis::run(frame, rows, spec).map(|timeline| {
            let mut view = model::timeline_view(timeline);
            model::mark_findings(&mut view, findings, &spec.tz);
            AnalysisOutput::Timeline(view)
        }),
        Analysis::Identities(spec, order) => analysis::run(frame, rows, spec).map(|inventory| {
            let mut rows: Vec<IdentityView> =
                inventory.rows.into_iter().map(identity_view).collect();
            model::sort_identities(&mut rows, *order);
            AnalysisOutput::Identities(rows, *order)
        }),
        Analysis::Access(spec, config, store) => access::audit_store(&store.0, config, rows, spec)
            .map(|access| AnalysisOutput::Access(access_view(&access))),
    }
}

/// An identity as the identities view shows it (escaped).
fn identity_view(identity: IdentityRow) -> IdentityView {
    IdentityView {
        label: escape_control(&identity.identity).into_owned(),
        mfa: match identity.mfa_coverage() {
            Some(share) => format!("{:.0}%", share * 100.0),
            None => "n/a".to_string(),
        },
        flags: escape_control(&identity.flag_names()).into_owned(),
        identity,
    }
}
