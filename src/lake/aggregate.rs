//! Pivots and timelines over a whole lake in bounded memory: each file's matching events are
//! reduced to a partial result ([`PivotPart`], [`TimelineSpan`] and [`TimelineCounter`]) and
//! the partial results merged, so what is held follows the cells of the result (and, for
//! distinct counts, their distinct values), not the number of matching events. The partial
//! results are the [`crate::analysis`] functions' own, so the answers equal those over
//! loaded events.

use std::path::Path;

use polars::prelude::DataFrame;

use crate::Result;
use crate::analysis::{
    self, Counted, Pivot, PivotPart, PivotSpec, Spec, Timeline, TimelineSpan, TimelineSpec,
    ViewSpec,
};
use crate::schema::TIME;

use super::query::LakeView;
use super::scan::ScanStats;

/// Parts of a distinct pivot are merged once they hold more rows than this and than the
/// merged result: merging deduplicates, and doing it geometrically keeps its cost linear.
const MERGE_ROWS: usize = 1 << 20;

/// `trailscope pivot --lake`: the pivot of the events `view` selects, file by file.
pub fn pivot(root: &Path, view: &ViewSpec, spec: &PivotSpec) -> Result<(Pivot, ScanStats)> {
    let mut lake = LakeView::open(root, view)?;
    let columns = checked_columns(spec)?;
    let mut merged: Option<PivotPart> = None;
    let mut pending: Vec<PivotPart> = Vec::new();
    for_each_part(&mut lake, &columns, |events| {
        pending.push(PivotPart::of(events, spec)?);
        let held: usize = pending.iter().map(PivotPart::height).sum();
        let merged_rows = merged.as_ref().map_or(0, PivotPart::height);
        if held > MERGE_ROWS.max(merged_rows) {
            pending.extend(merged.take());
            merged = Some(PivotPart::merge(std::mem::take(&mut pending), spec)?);
        }
        Ok(())
    })?;
    pending.extend(merged);
    let pivot = PivotPart::merge(pending, spec)?.pivot(spec)?;
    Ok((pivot, lake.stats))
}

/// `trailscope timeline --lake`: the timeline of the events `view` selects, in passes over
/// the matching files: their times alone decide the span and so the bucket, then each
/// file's events are counted per bucket and lane value (a second count, at a coarser bucket,
/// only when many lanes leave too little room, as over loaded events).
pub fn timeline(
    root: &Path,
    view: &ViewSpec,
    spec: &TimelineSpec,
) -> Result<(Timeline, ScanStats)> {
    let mut lake = LakeView::open(root, view)?;
    let columns = checked_columns(spec)?;
    let mut span = TimelineSpan::default();
    for_each_part(&mut lake, &[TIME], |events| {
        span.add(TimelineSpan::of(events)?);
        Ok(())
    })?;
    let mut counter = span.counter(spec)?;
    loop {
        for_each_part(&mut lake, &columns, |events| counter.add(events))?;
        match counter.finish()? {
            Counted::Done(timeline) => return Ok((timeline, lake.stats)),
            Counted::Again(again) => counter = again,
        }
    }
}

/// The columns an analysis reads, checked, each once.
fn checked_columns<S: Spec>(spec: &S) -> Result<Vec<&str>> {
    let mut columns: Vec<&str> = Vec::new();
    for c in spec.columns() {
        analysis::check_column(c)?;
        if !columns.contains(&c) {
            columns.push(c);
        }
    }
    Ok(columns)
}

/// Calls `add` with each matching file's events (with `columns`) that has some, counting
/// the parts in the scan's statistics.
fn for_each_part(
    lake: &mut LakeView,
    columns: &[&str],
    mut add: impl FnMut(&DataFrame) -> Result<()>,
) -> Result<()> {
    for index in 0..lake.files().len() {
        let Some(events) = lake.matches(index, columns)? else {
            continue;
        };
        if events.height() > 0 {
            add(&events)?;
            lake.stats.parts += 1;
        }
    }
    Ok(())
}
