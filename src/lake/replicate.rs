//! A large lake without going through JSON, for benchmarks: every partition of loaded
//! events written `copies` times over, copy `k` of an event `k` microseconds later with
//! `-k` appended to its event id (its original record is the original's).

use std::path::Path;

use polars::prelude::*;

use crate::schema::{self, EVENT_ID, TIME};
use crate::store::FrameStore;
use crate::{Error, Result};

use super::layout::partition_dir;
use super::write::{ExportSummary, PartFile, ROW_GROUP_ROWS, lake_chunk, partitions, prepare_root};

/// Writes `copies` copies of the store's events into the (new) lake at `root`.
pub fn replicate(store: &FrameStore, root: &Path, copies: usize) -> Result<ExportSummary> {
    prepare_root(root)?;
    let copies = copies.max(1);
    let frame = store.frame();
    let mut summary = ExportSummary::default();
    for ((_, provider, day), rows) in partitions(frame)? {
        let part = frame
            .take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))
            .map_err(Error::polars("splitting events by partition"))?;
        let raw = |chunk: &DataFrame| super::write::raw_records(store, chunk);
        let (base, missing) = lake_chunk(&part, &raw)?;
        summary.raw_missing += missing * copies as u64;
        let total = base.height() * copies;
        let dir = partition_dir(root, &provider, &day);
        let mut file: Option<PartFile> = None;
        let mut start = 0;
        while start < total {
            let end = (start + ROW_GROUP_ROWS).min(total);
            let chunk = copy_rows(&base, start..end, copies)?;
            if file.is_none() {
                file = Some(PartFile::create(&dir, &chunk)?);
            }
            if let Some(f) = &mut file {
                f.write(&chunk)?;
            }
            start = end;
        }
        summary.written += total as u64;
        if let Some(f) = file {
            summary.bytes += f.finish()?;
            summary.files += 1;
            summary.partitions += 1;
        }
    }
    Ok(summary)
}

/// Rows `range` of `base` repeated `copies` times (row `j` is copy `j % copies` of base
/// row `j / copies`), each copy shifted and renamed.
fn copy_rows(base: &DataFrame, range: std::ops::Range<usize>, copies: usize) -> Result<DataFrame> {
    let err = || Error::polars("copying events");
    let rows: Vec<IdxSize> = range.clone().map(|j| (j / copies) as IdxSize).collect();
    let mut chunk = base
        .take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))
        .map_err(err())?;
    let ks: Vec<i64> = range.map(|j| (j % copies) as i64).collect();
    let times = chunk
        .column(TIME)
        .map_err(err())?
        .as_materialized_series()
        .to_physical_repr();
    let times = times.i64().map_err(err())?;
    let shifted: Int64Chunked = times
        .iter()
        .zip(&ks)
        .map(|(t, k)| t.map(|t| t + k))
        .collect();
    let shifted = shifted
        .with_name(TIME.into())
        .into_series()
        .cast(&schema::time_dtype())
        .map_err(err())?;
    let ids = chunk
        .column(EVENT_ID)
        .and_then(|c| c.str().cloned())
        .map_err(err())?;
    let renamed: StringChunked = ids
        .iter()
        .zip(&ks)
        .map(|(id, k)| id.map(|id| format!("{id}-{k}")))
        .collect();
    chunk.with_column(shifted.into_column()).map_err(err())?;
    chunk
        .with_column(renamed.with_name(EVENT_ID.into()).into_column())
        .map_err(err())?;
    chunk.rechunk_mut_par();
    Ok(chunk)
}
