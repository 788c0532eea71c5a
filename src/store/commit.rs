//! Committing appended events to the frame: the batches waiting for the commit, and the
//! merge itself (stack, drop superseded stages, sort late events into place, keep chunks
//! few), taken out of the store as a [`CommitWork`] so that it can run on another thread
//! (the TUI's worker) while the store keeps taking batches.

use std::collections::HashSet;
use std::ops::Range;

use polars::prelude::*;

use crate::identity::Identities;
use crate::schema::{self, ID_HASH, RAW_OFFSET, TIME};
use crate::{Error, Result};

/// What one commit merges, taken from the store by
/// [`FrameStore::begin_commit`](super::FrameStore::begin_commit).
pub struct CommitWork {
    /// The committed frame (columns shared with the store's).
    pub(super) frame: DataFrame,
    /// The batches appended since, oldest first.
    pub(super) parts: Vec<DataFrame>,
    /// Rows (`id_hash`, `raw_offset`) a more complete stage replaced.
    pub(super) superseded: HashSet<(u64, u64)>,
    /// The resolver to label every row with again, when links changed.
    pub(super) relabel: Option<Box<Identities>>,
    /// Make the frame one chunk per column.
    pub(super) rechunk: bool,
    /// The generation of the frame the commit starts from.
    pub(super) generation: u64,
}

/// A finished commit, for [`FrameStore::finish_commit`](super::FrameStore::finish_commit).
pub struct Committed {
    pub(super) frame: DataFrame,
    pub(super) appended: Option<Range<usize>>,
    pub(super) from_generation: u64,
    /// Whether the frame's content changed (a rechunk alone does not).
    pub(super) changed: bool,
}

/// A commit that failed, with what it took from the store so that nothing is lost.
pub struct CommitFailed {
    pub(super) error: Error,
    pub(super) parts: Vec<DataFrame>,
    pub(super) superseded: HashSet<(u64, u64)>,
    pub(super) relabel: bool,
}

impl std::fmt::Debug for CommitWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitWork")
            .field("rows", &self.frame.height())
            .field("parts", &self.parts.len())
            .field("generation", &self.generation)
            .finish()
    }
}

impl std::fmt::Debug for Committed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committed")
            .field("rows", &self.frame.height())
            .field("appended", &self.appended)
            .finish()
    }
}

impl std::fmt::Debug for CommitFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitFailed")
            .field("error", &self.error)
            .field("parts", &self.parts.len())
            .finish()
    }
}

impl CommitWork {
    /// Merges the batches into the frame in time order (events without a time last).
    pub fn run(self) -> std::result::Result<Committed, Box<CommitFailed>> {
        let mut restore = Some(Restore {
            parts: self.parts.clone(),
            superseded: self.superseded.clone(),
            relabel: self.relabel.is_some(),
        });
        let CommitWork {
            frame,
            parts,
            superseded,
            relabel,
            rechunk,
            generation,
        } = self;
        let stacked = match stack(frame, parts, &superseded) {
            Ok(stacked) => stacked,
            Err(error) => return Err(fail(restore, error)),
        };
        // The copy kept for a failure holds every batch's chunks, so that while it lives
        // putting rows in order holds the frame twice: at the end of a load (the only
        // commit of a headless one) that was the peak of the whole load. What follows
        // there cannot fail but for a fault in Polars itself (the order's indices are in
        // bounds), so the copy is released first and each column is freed as soon as its
        // ordered copy is made. Tailing commits, and relabelling (which can fail), keep it.
        if rechunk && relabel.is_none() {
            restore = None;
        }
        let Stacked {
            mut frame,
            before,
            added,
            removed_before,
            order,
        } = stacked;
        let in_order = order.is_none();
        if let Some(order) = order {
            frame = match order.apply(frame) {
                Ok(frame) => frame,
                Err(error) => return Err(fail(restore, error)),
            };
        }
        // Hundreds of small chunks (one per batch) slow every filter and gather; one
        // contiguous chunk per column is what queries want. Tailing appends small batches,
        // so chunks are merged only once they pile up, and then only the newest ones.
        if rechunk {
            frame.rechunk_mut_par();
        } else if frame.max_n_chunks() > MAX_CHUNKS {
            frame = match merge_newest_chunks(frame) {
                Ok(frame) => frame,
                Err(error) => return Err(fail(restore, error)),
            };
        }
        // A join that renamed an identity (or new configured links) changes rows already
        // committed: every row is labelled again, and no row range alone says what changed.
        let relabelled = relabel.is_some() && frame.height() > 0;
        if let Some(mut identities) = relabel.filter(|_| relabelled) {
            let labelled = identities.label(&frame).and_then(|identity| {
                frame
                    .with_column(identity)
                    .map(drop)
                    .map_err(Error::polars("resolving identities"))
            });
            if let Err(error) = labelled {
                return Err(fail(restore, error));
            }
        }
        let after = frame.height();
        let changed = added > 0 || removed_before > 0 || !superseded.is_empty() || relabelled;
        Ok(Committed {
            frame,
            appended: (in_order && removed_before == 0 && !relabelled).then_some(before..after),
            from_generation: generation,
            changed,
        })
    }
}

/// What a failed commit gives back to the store, so that nothing is lost.
struct Restore {
    parts: Vec<DataFrame>,
    superseded: HashSet<(u64, u64)>,
    relabel: bool,
}

/// The failed commit: with what it took from the store, or (when that was released because
/// nothing more could fail but Polars itself) with the error alone.
fn fail(restore: Option<Restore>, error: Error) -> Box<CommitFailed> {
    let restore = restore.unwrap_or(Restore {
        parts: Vec::new(),
        superseded: HashSet::new(),
        relabel: false,
    });
    Box::new(CommitFailed {
        error,
        parts: restore.parts,
        superseded: restore.superseded,
        relabel: restore.relabel,
    })
}

/// The committed frame with the batches under it, superseded stages gone, and the order
/// that puts its rows in time.
struct Stacked {
    frame: DataFrame,
    /// Committed rows still there, at the top.
    before: usize,
    /// Rows the batches brought.
    added: usize,
    /// Committed rows removed as superseded stages.
    removed_before: usize,
    /// `None` when the rows are in time order already.
    order: Option<TimeOrder>,
}

/// Stacks the batches under the frame, drops the superseded stages and finds the order in
/// time: everything of a commit that can fail but relabelling, without copying the rows.
fn stack(
    mut frame: DataFrame,
    parts: Vec<DataFrame>,
    superseded: &HashSet<(u64, u64)>,
) -> Result<Stacked> {
    let before = frame.height();
    let added = parts.iter().map(DataFrame::height).sum::<usize>();
    for part in parts {
        frame
            .vstack_mut_owned(part)
            .map_err(Error::polars("appending events"))?;
    }
    // Stages bettered by a later, more complete stage of their request leave the frame;
    // when one of them was committed already, rows before the new ones moved.
    let mut removed_before = 0;
    if !superseded.is_empty() {
        (frame, removed_before) = without_rows(frame, superseded, before)?;
    }
    let before = before - removed_before;
    let order = if is_time_sorted_from(&frame, before.saturating_sub(1))? {
        None
    } else {
        Some(TimeOrder::from_first_late(&frame, before)?)
    };
    Ok(Stacked {
        frame,
        before,
        added,
        removed_before,
        order,
    })
}

/// Batches appended since the last commit, merged as they arrive so that their number stays
/// small. Appending a frame to another costs time in the number of chunks it already has, so
/// stacking one batch per small file at commit time grew quadratically (50,000 files: 40 s).
/// Batches are merged like a log-structured tree: `MERGE_FANOUT` frames of one level become one
/// rechunked frame of the next, so each event is copied O(log n) times and at most
/// `MERGE_FANOUT` frames per level wait for the commit.
#[derive(Default)]
pub(super) struct Pending {
    /// (level, frame), levels never increasing from bottom to top.
    pub(super) stack: Vec<(u32, DataFrame)>,
}

/// How many pending frames of one level are merged into one.
pub(super) const MERGE_FANOUT: usize = 32;

impl Pending {
    pub(super) fn push(&mut self, frame: DataFrame) -> Result<()> {
        self.stack.push((0, frame));
        loop {
            let Some(&(level, _)) = self.stack.last() else {
                return Ok(());
            };
            let run = self
                .stack
                .iter()
                .rev()
                .take_while(|(l, _)| *l == level)
                .count();
            if run < MERGE_FANOUT {
                return Ok(());
            }
            let start = self.stack.len() - run;
            let mut parts = self.stack.drain(start..).map(|(_, f)| f);
            let mut merged = parts.next().unwrap_or_else(schema::empty_frame);
            for part in parts {
                merged
                    .vstack_mut_owned(part)
                    .map_err(Error::polars("merging appended events"))?;
            }
            merged.rechunk_mut_par();
            self.stack.push((level + 1, merged));
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    /// Puts back the frames a failed commit took, before any appended since.
    pub(super) fn restore(&mut self, frames: Vec<DataFrame>) {
        // A level no merge reaches keeps them at the bottom, in their order.
        let restored = frames.into_iter().map(|f| (u32::MAX, f));
        self.stack.splice(0..0, restored);
    }

    /// The pending frames, oldest first; leaves none.
    pub(super) fn take(&mut self) -> impl Iterator<Item = DataFrame> + use<> {
        std::mem::take(&mut self.stack).into_iter().map(|(_, f)| f)
    }
}

/// The order that puts a frame's rows in time, for a frame whose first rows are in time
/// order and whose other rows were just added: only the rows from the first old row later
/// than the earliest new one move. Late exports are mostly a little late, so a commit
/// sorts the newest rows instead of the whole frame (a million events: 100 ms or more each
/// time). The order is stable, as a full sort would be.
struct TimeOrder {
    /// Rows before this one stay where they are.
    from: usize,
    /// For each row from `from` on, in time order: its index counted from `from`.
    indices: IdxCa,
}

impl TimeOrder {
    fn from_first_late(frame: &DataFrame, sorted: usize) -> Result<TimeOrder> {
        let time = frame
            .column(TIME)
            .map_err(Error::polars("reading event times"))?;
        let times = time
            .as_materialized_series()
            .to_physical_repr()
            .into_owned();
        let times = times
            .i64()
            .map_err(Error::polars("reading event times"))?
            .clone();
        let added = times.slice(sorted as i64, frame.height() - sorted);
        // Old rows are sorted with their timeless rows last: the first one later than the
        // earliest new event starts what must be sorted again.
        let from = match added.min() {
            None => 0,
            Some(earliest) => {
                let (mut low, mut high) = (0usize, sorted);
                while low < high {
                    let mid = (low + high) / 2;
                    match times.get(mid) {
                        Some(t) if t <= earliest => low = mid + 1,
                        _ => high = mid,
                    }
                }
                low
            }
        };
        let indices = time.slice(from as i64, frame.height() - from).arg_sort(
            SortOptions::default()
                .with_nulls_last(true)
                .with_maintain_order(true),
        );
        Ok(TimeOrder { from, indices })
    }

    /// The frame's rows in this order. Column by column, each column taken out of the frame
    /// before it is ordered: when nothing else holds the frame, a column's old rows are
    /// freed as soon as its ordered copy is made, so ordering adds one column at most.
    fn apply(self, frame: DataFrame) -> Result<DataFrame> {
        let ordered = if self.from == 0 {
            gather_by_column(frame, &self.indices)
        } else {
            let mut head = frame.slice(0, self.from);
            let tail = frame.slice(self.from as i64, frame.height() - self.from);
            drop(frame);
            gather_by_column(tail, &self.indices).and_then(|tail| {
                head.vstack_mut_owned(tail)?;
                Ok(head)
            })
        };
        ordered.map_err(Error::polars("sorting events by time"))
    }
}

/// The frame's rows at `indices`, one column at a time (see [`TimeOrder::apply`]).
fn gather_by_column(frame: DataFrame, indices: &IdxCa) -> PolarsResult<DataFrame> {
    let columns = frame
        .into_columns()
        .into_iter()
        .map(|column| column.take(indices))
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new(indices.len(), columns)
}

/// Chunks a committed frame may have before the newest are merged.
pub(super) const MAX_CHUNKS: usize = 8;

/// Merges the newest chunks of a frame: the shortest run at the end that is at least half as
/// long as the chunk before it, so chunk sizes shrink towards the end like a binary counter.
/// A frame that grows by small appends (tailing) then copies each event O(log n) times,
/// instead of copying the whole frame every few appends (a million events: a second each
/// time, stalling every key and printed line).
fn merge_newest_chunks(frame: DataFrame) -> Result<DataFrame> {
    let lengths: Vec<usize> = frame
        .columns()
        .first()
        .map(|c| c.as_materialized_series().chunk_lengths().collect())
        .unwrap_or_default();
    let same_chunks = frame.columns().iter().all(|c| {
        c.as_materialized_series()
            .chunk_lengths()
            .eq(lengths.iter().copied())
    });
    let mut frame = frame;
    if lengths.len() < 2 || !same_chunks {
        frame.rechunk_mut_par();
        return Ok(frame);
    }
    let mut start = lengths.len() - 1;
    let mut run = lengths[start];
    while start > 0 && (run * 2 >= lengths[start - 1] || lengths.len() - start < 2) {
        start -= 1;
        run += lengths[start];
    }
    if start == 0 {
        frame.rechunk_mut_par();
        return Ok(frame);
    }
    let offset: usize = lengths[..start].iter().sum();
    let mut head = frame.slice(0, offset);
    let mut newest = frame.slice(offset as i64, frame.height() - offset);
    newest.rechunk_mut_par();
    head.vstack_mut_owned(newest)
        .map_err(Error::polars("merging appended events"))?;
    Ok(head)
}

/// The frame without the rows whose (`id_hash`, `raw_offset`) are in `rows`, and how many of
/// the removed rows were among its first `prefix`.
fn without_rows(
    frame: DataFrame,
    rows: &HashSet<(u64, u64)>,
    prefix: usize,
) -> Result<(DataFrame, usize)> {
    let column = |name: &str| {
        frame
            .column(name)
            .and_then(|c| c.u64().cloned())
            .map_err(Error::polars("reading the stage locator"))
    };
    let (ids, offsets) = (column(ID_HASH)?, column(RAW_OFFSET)?);
    let mut removed_before = 0;
    let keep: BooleanChunked = ids
        .iter()
        .zip(offsets.iter())
        .enumerate()
        .map(|(i, (id, offset))| {
            let gone = id.is_some_and(|id| rows.contains(&(id, offset.unwrap_or(0))));
            removed_before += usize::from(gone && i < prefix);
            Some(!gone)
        })
        .collect();
    let frame = frame
        .filter(&keep)
        .map_err(Error::polars("dropping superseded stages"))?;
    Ok((frame, removed_before))
}

/// Whether the frame is in time order (timeless rows last), given that its first `from`
/// rows are (the committed part: only the rows from there on are read).
fn is_time_sorted_from(frame: &DataFrame, from: usize) -> Result<bool> {
    let time = frame
        .column(TIME)
        .map(|c| c.slice(from as i64, frame.height().saturating_sub(from)))
        .and_then(|c| c.as_materialized_series().to_physical_repr().i64().cloned())
        .map_err(Error::polars("reading event times"))?;
    let mut last = i64::MIN;
    let mut seen_null = false;
    for chunk in time.downcast_iter() {
        for value in chunk.iter() {
            match value {
                Some(&t) if !seen_null && t >= last => last = t,
                Some(_) => return Ok(false),
                None => seen_null = true,
            }
        }
    }
    Ok(true)
}
