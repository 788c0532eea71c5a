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
    /// The load finished: merge the chunks its last batches left (see [`Run`]).
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
        // Hundreds of small chunks (one per batch) slow every filter and gather: queries
        // want few contiguous chunks. Tailing appends small batches, so chunks are merged
        // only once they pile up, and then only the newest ones. The last commit of a load
        // that committed nothing before (a headless load's one commit) merges the small
        // chunks the last batches left; the large ones the pending merges made stay as they
        // are, for copying them again would add two columns to the load's peak (and time).
        // After earlier commits the store still shows their frame while this one runs (the
        // TUI): copying all of it would hold the frame twice, so only the chunks of the rows
        // this commit added are merged.
        let run = if rechunk && before + removed_before == 0 {
            Some(Run::Small)
        } else if rechunk {
            Some(Run::Added(before))
        } else if frame.max_n_chunks() > MAX_CHUNKS {
            Some(Run::BinaryCounter)
        } else {
            None
        };
        if let Some(run) = run {
            frame = match merge_newest_chunks(frame, run) {
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
        stack_under(&mut frame, part).map_err(Error::polars("appending events"))?;
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
                stack_under(&mut merged, part).map_err(Error::polars("merging appended events"))?;
            }
            merged.rechunk_mut_par();
            // Each merge copies the chunk anyway: repeated strings are stored once in it.
            super::shared_strings::share_repeated_strings(&mut merged)
                .map_err(Error::polars("merging appended events"))?;
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
                stack_under(&mut head, tail)?;
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

/// Which of a frame's newest chunks a merge takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// The shortest run at the end that is at least half as long as the chunk before it, so
    /// chunk sizes shrink towards the end like a binary counter. A frame that grows by small
    /// appends (tailing) then copies each event O(log n) times, instead of copying the whole
    /// frame every few appends (a million events: a second each time, stalling every key and
    /// printed line).
    BinaryCounter,
    /// The chunks at the end shorter than a quarter of the largest: at the end of a load, the
    /// batches that arrived since the pending merges last made a large chunk. When more than
    /// [`MAX_CHUNKS`] would remain, every chunk.
    Small,
    /// The chunks that start at or after this row: what a commit added (unless ordering
    /// moved older rows among them), leaving the rows committed before as they are.
    Added(usize),
}

/// Merges the newest chunks of a frame (see [`Run`]), column by column: when nothing else
/// holds the frame, a column's old chunks are freed as soon as its merged copy is made.
fn merge_newest_chunks(frame: DataFrame, kind: Run) -> Result<DataFrame> {
    // A column holding one value for all rows has no chunks to merge (reading its chunks
    // would make it a value per row).
    let series = || {
        frame.columns().iter().filter_map(|c| match c {
            Column::Series(s) => Some(s),
            Column::Scalar(_) => None,
        })
    };
    let lengths: Vec<usize> = series()
        .next()
        .map(|s| s.chunk_lengths().collect())
        .unwrap_or_default();
    let same_chunks = series().all(|s| s.chunk_lengths().eq(lengths.iter().copied()));
    let mut frame = frame;
    if lengths.len() < 2 || !same_chunks {
        frame.rechunk_mut_par();
        return Ok(frame);
    }
    let start = match kind {
        Run::BinaryCounter => {
            let mut start = lengths.len() - 1;
            let mut run = lengths[start];
            while start > 0 && (run * 2 >= lengths[start - 1] || lengths.len() - start < 2) {
                start -= 1;
                run += lengths[start];
            }
            start
        }
        Run::Small => {
            let largest = lengths.iter().copied().max().unwrap_or(0);
            let mut start = lengths.len();
            while start > 0 && lengths[start - 1] * 4 < largest {
                start -= 1;
            }
            if start + 1 > MAX_CHUNKS {
                0
            } else if lengths.len() - start < 2 {
                return Ok(frame); // nothing small, or one small chunk: nothing to merge
            } else {
                start
            }
        }
        Run::Added(rows) => {
            let mut start = 0;
            let mut row = 0;
            while start < lengths.len() && row < rows {
                row += lengths[start];
                start += 1;
            }
            if lengths.len() - start < 2 {
                return Ok(frame);
            }
            start
        }
    };
    if start == 0 {
        frame.rechunk_mut_par();
        return Ok(frame);
    }
    let offset: usize = lengths[..start].iter().sum();
    let mut head = frame.slice(0, offset);
    let mut newest = frame.slice(offset as i64, frame.height() - offset);
    drop(frame);
    newest.rechunk_mut_par();
    stack_under(&mut head, newest).map_err(Error::polars("merging appended events"))?;
    Ok(head)
}

/// Puts `bottom`'s rows under `top`'s, as `DataFrame::vstack_mut_owned` does, except that a
/// column holding one value for all its rows in both (a null scalar: CloudTrail's
/// `correlation_id`, see `schema::EventBatch::into_frame`) stays one value instead of
/// becoming a value per row; an empty side takes the other's columns as they are.
pub(super) fn stack_under(top: &mut DataFrame, bottom: DataFrame) -> PolarsResult<()> {
    let same_schema = top.width() == bottom.width()
        && top
            .columns()
            .iter()
            .zip(bottom.columns())
            .all(|(t, b)| t.name() == b.name() && t.dtype() == b.dtype());
    if !same_schema {
        // Polars says what does not match (or takes `bottom` for a frame with no columns).
        top.vstack_mut_owned(bottom)?;
        return Ok(());
    }
    if bottom.height() == 0 {
        return Ok(());
    }
    if top.height() == 0 {
        *top = bottom;
        return Ok(());
    }
    let height = top.height() + bottom.height();
    let columns = std::mem::take(top)
        .into_columns()
        .into_iter()
        .zip(bottom.into_columns())
        .map(|(mut upper, lower)| match (&upper, &lower) {
            (Column::Scalar(u), Column::Scalar(l)) if u.scalar() == l.scalar() => Ok(
                Column::new_scalar(upper.name().clone(), u.scalar().clone(), height),
            ),
            _ => {
                upper.append_owned(lower)?;
                Ok(upper)
            }
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    *top = DataFrame::new(height, columns)?;
    Ok(())
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::load::pipeline::Batch;
    use crate::schema::{CITY, CORRELATION_ID, EVENT_ID, Event, EventBatch, RawSpan};
    use crate::store::FrameStore;

    /// `n` events of input `input`, out of time order, with correlation ids when `correlated`.
    fn batch(input: usize, n: usize, correlated: bool) -> Batch {
        let mut events = EventBatch::with_capacity("test", n);
        for i in 0..n {
            let id = format!("e{input}-{i}");
            let correlation = format!("op{input}-{i}");
            let event = Event {
                provider: "aws",
                time: Some(1_700_000_000_000_000 + ((input * 31 + i * 17) % 97) as i64),
                event_id: Some(id.as_str().into()),
                correlation_id: correlated.then(|| correlation.as_str().into()),
                ..Event::default()
            };
            let span = RawSpan {
                offset: (input * 1_000 + i) as u64,
                len: 2,
                line: i as u64 + 1,
            };
            events.push(&event, b"{}", span, false);
        }
        Batch {
            input,
            fingerprints: events.fingerprints().to_vec(),
            staged: Vec::new(),
            kept: Vec::new(),
            frame: events.into_frame().unwrap(),
        }
    }

    /// event id -> correlation id, over the frame's rows.
    fn correlations(frame: &DataFrame) -> Vec<(String, Option<String>)> {
        let ids = frame.column(EVENT_ID).unwrap().str().unwrap().clone();
        let correlations = frame
            .column(CORRELATION_ID)
            .unwrap()
            .as_materialized_series()
            .str()
            .unwrap()
            .clone();
        let mut pairs: Vec<_> = ids
            .iter()
            .zip(correlations.iter())
            .map(|(id, c)| (id.unwrap().to_string(), c.map(str::to_string)))
            .collect();
        pairs.sort();
        pairs
    }

    fn in_time_order(frame: &DataFrame) -> bool {
        let times = frame.column(TIME).unwrap().as_materialized_series();
        let times = times.to_physical_repr();
        let times: Vec<i64> = times.i64().unwrap().into_no_null_iter().collect();
        times.windows(2).all(|w| w[0] <= w[1])
    }

    fn is_scalar(frame: &DataFrame, name: &str) -> bool {
        matches!(frame.column(name).unwrap(), Column::Scalar(_))
    }

    #[test]
    fn a_column_null_in_every_row_stays_one_value_through_merges_orders_and_filters() {
        let mut store = FrameStore::new();
        // Enough batches for pending frames to merge a level up, out of time order.
        for input in 0..(2 * MERGE_FANOUT + 5) {
            let batch = batch(input, 10, false);
            assert!(is_scalar(&batch.frame, CORRELATION_ID));
            store.append(batch).unwrap();
        }
        store.mark_finished();
        assert_eq!(store.commit().unwrap().appended, None, "rows were ordered");
        let frame = store.frame();
        let rows = (2 * MERGE_FANOUT + 5) * 10;
        assert_eq!(frame.height(), rows);
        assert!(is_scalar(frame, CORRELATION_ID) && is_scalar(frame, CITY));
        assert!(!is_scalar(frame, EVENT_ID));
        assert_eq!(frame.column(CORRELATION_ID).unwrap().null_count(), rows);
        assert!(in_time_order(frame));
        // A filter keeps it one value, with the rows it selects.
        let picked = frame
            .clone()
            .lazy()
            .filter(col(EVENT_ID).str().starts_with(lit("e3-")))
            .collect()
            .unwrap();
        assert_eq!(picked.height(), 10);
        assert_eq!(picked.column(CORRELATION_ID).unwrap().null_count(), 10);

        // Late events that have correlation ids: every row keeps its own value.
        store.append(batch(500, 10, true)).unwrap();
        store.append(batch(501, 10, false)).unwrap();
        store.commit().unwrap();
        let frame = store.frame();
        assert_eq!(frame.height(), rows + 20);
        assert!(!is_scalar(frame, CORRELATION_ID));
        let pairs = correlations(frame);
        let with_values: Vec<_> = pairs.iter().filter(|(_, c)| c.is_some()).collect();
        assert_eq!(with_values.len(), 10);
        for (id, correlation) in with_values {
            let i = id
                .strip_prefix("e500-")
                .expect("only the correlated batch has values");
            assert_eq!(correlation.as_deref(), Some(format!("op500-{i}").as_str()));
        }
        assert!(in_time_order(frame));
    }

    /// One event at second `i` (frames pushed in `i` order are in time order).
    fn at(i: i64) -> DataFrame {
        let mut events = EventBatch::with_capacity("test", 1);
        let event = Event {
            provider: "aws",
            time: Some(1_700_000_000_000_000 + i * 1_000_000),
            ..Event::default()
        };
        let span = RawSpan {
            offset: i as u64,
            len: 2,
            line: i as u64 + 1,
        };
        events.push(&event, b"{}", span, false);
        events.into_frame().unwrap()
    }

    /// Where the first chunk of the time column keeps its values.
    fn first_times(frame: &DataFrame) -> usize {
        let times = frame.column(TIME).unwrap().as_materialized_series();
        let times = times.to_physical_repr();
        let chunk = times.i64().unwrap().downcast_iter().next().unwrap();
        chunk.values().as_ptr() as usize
    }

    #[test]
    fn the_last_commit_of_a_headless_load_merges_the_small_chunks_and_copies_no_large_one() {
        let mut store = FrameStore::new();
        // One level-2 frame of 1,024 events, one level-1 frame and 8 single events.
        let events = (MERGE_FANOUT * MERGE_FANOUT + MERGE_FANOUT + 8) as i64;
        for i in 0..events {
            store.pending.push(at(i)).unwrap();
        }
        let large = first_times(&store.pending.stack[0].1);
        assert_eq!(
            store.pending.stack[0].1.height(),
            MERGE_FANOUT * MERGE_FANOUT
        );
        store.mark_finished();
        assert_eq!(store.commit().unwrap().appended, Some(0..events as usize));
        let frame = store.frame();
        assert_eq!(frame.height(), events as usize);
        assert_eq!(first_times(frame), large, "the large chunk was not copied");
        let lengths: Vec<usize> = frame
            .column(TIME)
            .unwrap()
            .as_materialized_series()
            .chunk_lengths()
            .collect();
        assert_eq!(lengths, [MERGE_FANOUT * MERGE_FANOUT, MERGE_FANOUT + 8]);
        assert!(in_time_order(frame));
        assert!(is_scalar(frame, CORRELATION_ID));
    }

    #[test]
    fn the_last_commit_after_earlier_ones_does_not_copy_what_they_committed() {
        let mut store = FrameStore::new();
        for i in 0..100 {
            store.pending.push(at(i)).unwrap();
        }
        // A commit while loading (the TUI shows its frame while the next one runs).
        store.commit().unwrap();
        let shown = first_times(store.frame());
        for i in 100..150 {
            store.pending.push(at(i)).unwrap();
        }
        store.mark_finished();
        assert_eq!(store.commit().unwrap().appended, Some(100..150));
        let frame = store.frame();
        assert_eq!(first_times(frame), shown, "the shown frame was not copied");
        assert!(frame.max_n_chunks() <= MAX_CHUNKS);
        assert_eq!(frame.height(), 150);
        assert!(in_time_order(frame));
    }

    #[test]
    fn stacking_null_scalars_keeps_them_and_checks_the_columns_as_polars_does() {
        let mut top = batch(0, 3, false).frame;
        stack_under(&mut top, batch(1, 4, false).frame).unwrap();
        assert_eq!(top.height(), 7);
        assert!(is_scalar(&top, CORRELATION_ID));
        // Against the same rows stacked by Polars (a value per row): equal.
        let mut expected = batch(0, 3, false).frame;
        expected.vstack_mut_owned(batch(1, 4, false).frame).unwrap();
        assert!(top.equals_missing(&expected));
        // An empty frame takes the batch's columns as they are.
        let mut empty = schema::empty_frame();
        stack_under(&mut empty, batch(2, 2, false).frame).unwrap();
        assert!(is_scalar(&empty, CORRELATION_ID));
        // Another schema is refused.
        let odd = DataFrame::new(1, vec![Column::new("odd".into(), [1i32])]).unwrap();
        assert!(stack_under(&mut top, odd).is_err());
    }
}
