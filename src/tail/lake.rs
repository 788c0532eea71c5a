//! `tail --lake DIR`: what is followed is appended to a Parquet lake as it commits, every
//! `--lake-every` and at the end. Events the lake already holds are skipped by the export, so
//! a restart that reads some events again (from `--state` or from the start) adds nothing twice.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use polars::prelude::{IdxCa, IdxSize, PlSmallStr};

use crate::Result;
use crate::lake::write::{self, ExportSummary};
use crate::store::{FrameStore, StoreChange};

/// Appends a followed store's new events to a lake.
pub struct LakeAppender {
    root: PathBuf,
    every: Duration,
    last: Instant,
    /// Rows before this one were exported (when `whole` is false).
    from: usize,
    /// Rows moved since the last export (a late event was sorted in): export every row and
    /// let the lake skip those it holds.
    whole: bool,
    /// What was written so far.
    pub summary: ExportSummary,
}

impl LakeAppender {
    /// Appends to the lake at `root` every `every`.
    pub fn new(root: PathBuf, every: Duration) -> Self {
        LakeAppender {
            root,
            every,
            last: Instant::now(),
            from: 0,
            whole: false,
            summary: ExportSummary::default(),
        }
    }

    /// Notes what a commit changed.
    pub fn committed(&mut self, change: &StoreChange) {
        match &change.appended {
            Some(rows) if rows.start >= self.from || rows.is_empty() => {}
            Some(rows) => self.from = rows.start,
            None => self.whole = true,
        }
    }

    /// Exports the committed events not yet in the lake, when `every` has passed or `now`.
    pub fn flush(&mut self, store: &FrameStore, now: bool) -> Result<()> {
        if !now && self.last.elapsed() < self.every {
            return Ok(());
        }
        self.last = Instant::now();
        let height = store.frame().height();
        if !self.whole && self.from >= height {
            return Ok(());
        }
        let rows = (!self.whole).then(|| {
            IdxCa::from_vec(
                PlSmallStr::EMPTY,
                (self.from as IdxSize..height as IdxSize).collect(),
            )
        });
        let done = write::export(store, rows.as_ref(), &self.root)?;
        self.summary.written += done.written;
        self.summary.skipped += done.skipped;
        self.summary.files += done.files;
        self.summary.bytes += done.bytes;
        self.summary.raw_missing += done.raw_missing;
        self.summary.partitions = self.summary.partitions.max(done.partitions);
        self.from = height;
        self.whole = false;
        Ok(())
    }
}
