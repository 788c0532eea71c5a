//! Detection over a lake in bounded memory: the rules judge the lake a stretch of `step`
//! (a week by default) at a time, each stretch loaded with the `history` before it (30 days
//! by default) and the day after it, so that memory follows the size of a window rather than
//! of the lake. A stretch's findings are those whose first event falls in it: a finding that
//! started earlier was reported by its own stretch's window, and one running past the end of
//! a stretch is seen through the day after.
//!
//! What a window changes against one run over everything: a rule's history (first-seen
//! tables, baselines, dormancy, the usual days of a stream) reaches back `history`, not to
//! the start of the lake, the way a SIEM's look-back window does, and facts a rule learns
//! from an actor's other events come from the window alone (so the rules fire at least as
//! often); a finding that runs on past the day after its stretch is cut there. Identities
//! idle for longer than `history` are not seen as dormant: the 30 days of the default
//! cover the rules' default dormancy (14 to 90 days, half the data's span).

use std::path::Path;

use crate::analysis::ViewSpec;
use crate::detectors::Finding;
use crate::store::FrameStore;
use crate::time::DAY;
use crate::{Error, Result};

use super::layout::NULL_PARTITION;
use super::query::{self, LakeView, Window};
use super::scan::{self, ScanStats};

/// The history each stretch is judged with unless asked otherwise (µs).
pub const DEFAULT_HISTORY: i64 = 30 * DAY;
/// The stretch judged at a time unless asked otherwise (µs).
pub const DEFAULT_STEP: i64 = 7 * DAY;

/// What a run over a lake by windows did.
#[derive(Debug, Clone, Default)]
pub struct WindowedRun {
    /// The findings, in the order the stretches were judged.
    pub findings: Vec<Finding>,
    /// What was read, summed over the windows (an event is read by several windows).
    pub stats: ScanStats,
    /// Windows judged (stretches with events, plus one for events without a time).
    pub windows: usize,
    /// The most events one window held.
    pub largest_window: usize,
    /// Events judged: each selected event once, in the window of its stretch.
    pub events: u64,
}

/// Runs `judge` (the rules) over the events of the lake at `root` that `view` selects, a
/// stretch of `step` (µs, whole days) at a time with `history` (µs) before it; see the
/// module documentation. `judge` gets each window's store; the findings' `rows` are
/// cleared (they point into a window), their event ids name the events.
pub fn by_windows(
    root: &Path,
    view: &ViewSpec,
    (history, step): (i64, i64),
    judge: &mut dyn FnMut(&FrameStore) -> Result<Vec<Finding>>,
) -> Result<WindowedRun> {
    if history < 0 || step < DAY || step % DAY != 0 {
        return Err(Error::Invalid(
            "a window's history cannot be negative and its stretch is whole days".into(),
        ));
    }
    let files = scan::lake_files(root)?;
    let mut starts: Vec<i64> = Vec::new();
    for day in files.iter().filter_map(|f| super::prune::day_start(&f.day)) {
        match starts.last() {
            Some(last) if day < last + step => {}
            _ => starts.push(day),
        }
    }
    let timeless = files.iter().any(|f| f.day == NULL_PARTITION);
    let mut run = WindowedRun::default();
    let stretches = starts.into_iter().map(Some).chain(timeless.then_some(None));
    // Opened once (the files listed, the newest event found in the footers), then narrowed
    // to each window.
    let whole = LakeView::open(root, view)?;
    for start in stretches {
        let mut lake = whole.clone();
        lake.set_window(match start {
            Some(start) => Window::Times(start - history, start + step + DAY),
            None => Window::Untimed,
        })?;
        if lake.files().is_empty() {
            continue;
        }
        let judged = |time: Option<i64>| match start {
            Some(start) => time.is_some_and(|t| (start..start + step).contains(&t)),
            None => true,
        };
        let (store, stats) = query::store_of(&mut lake)?;
        add_stats(&mut run.stats, &stats);
        let height = store.frame().height();
        if height == 0 {
            continue;
        }
        run.windows += 1;
        run.largest_window = run.largest_window.max(height);
        run.events += events_judged(&store, &judged)?;
        for mut finding in judge(&store)? {
            if judged(finding.time) {
                finding.rows.clear();
                run.findings.push(finding);
            }
        }
    }
    Ok(run)
}

/// How many of the window's events its stretch judges.
fn events_judged(store: &FrameStore, judged: &dyn Fn(Option<i64>) -> bool) -> Result<u64> {
    let times = store
        .frame()
        .column(crate::schema::TIME)
        .map_err(Error::polars("reading a window's times"))?
        .as_materialized_series()
        .to_physical_repr();
    let times = times
        .i64()
        .map_err(Error::polars("reading a window's times"))?;
    Ok(times.iter().filter(|t| judged(*t)).count() as u64)
}

fn add_stats(total: &mut ScanStats, window: &ScanStats) {
    total.partitions = window.partitions;
    total.files = window.files;
    total.partitions_read += window.partitions_read;
    total.files_read += window.files_read;
    total.row_groups += window.row_groups;
    total.row_groups_read += window.row_groups_read;
    total.row_groups_ruled_out_by_values += window.row_groups_ruled_out_by_values;
    total.rows_read += window.rows_read;
    total.parts += window.parts;
    for c in &window.columns_read {
        if !total.columns_read.contains(c) {
            total.columns_read.push(c.clone());
        }
    }
}
