//! Repeated strings held once, without a dictionary. A string column's values are 16-byte
//! views; a value longer than 12 bytes points into the column's data buffers, and nothing
//! stops two views from pointing at the same bytes. When the pending merges copy a chunk,
//! the text columns that repeat (`session`, `resource`, `details`, `correlation_id`) are
//! written again with each distinct value's bytes stored once and every later use pointing
//! at them: a repeat costs its view alone. The type does not change (readers, filters, the
//! lake see the same strings), and there is no process-wide dictionary that never shrinks.
//!
//! Memory is bounded whatever the input: the table that finds repeats lives for one column
//! of one merge and has at most [`MAX_SLOTS`] slots of 4 bytes. A first pass counts what
//! sharing would save, reading the column alone; a column whose values seldom repeat (as a
//! hostile input can make them) is left as it was, having cost that read and nothing more.

use std::hash::BuildHasher;

use polars::prelude::*;

use crate::schema::{CORRELATION_ID, DETAILS, RESOURCE, SESSION};

/// The text columns whose values repeat often enough to share (not `event_id`: every value
/// is its own).
pub(super) const SHARED_COLUMNS: [&str; 4] = [SESSION, RESOURCE, DETAILS, CORRELATION_ID];

/// Values of at most this many bytes live in their view: nothing to share.
const INLINE_LEN: u32 = 12;
/// The table's slots at most (4 bytes each: 16 MiB).
const MAX_SLOTS: usize = 1 << 22;
/// Slots looked at for one value before it is stored anew, whatever the table holds. With
/// the table at most half full, eight neighbours all taken is rare enough that a repeat is
/// almost never stored twice (with four, about one run in 500 of the test below stored a
/// few values twice: one full neighbourhood evicts a value whose later repeats cascade).
const PROBES: usize = 8;
/// The new data buffers are blocks of this size (a longer value gets a block of its own).
const BLOCK: usize = 4 << 20;
/// A column with fewer long values than this is left as it is (too little to gain).
const MIN_LONG_VALUES: usize = 1024;
/// A column is written again only when that saves at least 1/n of its long values' bytes.
const MIN_SAVING_SHARE: usize = 16;
/// An empty slot.
const EMPTY: u32 = u32::MAX;

/// The Polars array of one chunk of a string column.
type StrArray = <StringType as PolarsDataType>::Array;

/// Rewrites the frame's [`SHARED_COLUMNS`] of one chunk (a merged frame) with each
/// repeated value's bytes held once; columns of several chunks, or holding one value for
/// all rows, are left as they are. One column at a time, each replacing the old one, so
/// that the copy adds one column at most.
pub(super) fn share_repeated_strings(frame: &mut DataFrame) -> PolarsResult<()> {
    for name in SHARED_COLUMNS {
        let shared = match frame.column(name) {
            Ok(Column::Series(series)) => match series.str() {
                Ok(strings) if strings.chunks().len() == 1 => strings
                    .downcast_iter()
                    .next()
                    .and_then(share_repeats)
                    .map(|array| StringChunked::with_chunk(name.into(), array)),
                _ => None,
            },
            _ => None,
        };
        if let Some(shared) = shared {
            frame.replace(name, shared.into_column())?;
        }
    }
    Ok(())
}

/// The table that finds a value's earlier row: slots hold row numbers, a value's slots are
/// the [`PROBES`] after its hash.
struct Repeats {
    slots: Vec<u32>,
    hasher: foldhash::fast::RandomState,
}

impl Repeats {
    fn new(long_values: usize) -> Repeats {
        let slots = (long_values * 2).next_power_of_two().min(MAX_SLOTS);
        Repeats {
            slots: vec![EMPTY; slots],
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The earlier row holding `bytes` (`same` says whether a row does), or else remembers
    /// `row` for them (in a full neighbourhood, instead of the row its first slot held).
    fn earlier(&mut self, bytes: &[u8], row: usize, same: impl Fn(u32) -> bool) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let hash = self.hasher.hash_one(bytes) as usize;
        let mut free = hash & mask;
        for probe in 0..PROBES {
            let slot = (hash + probe) & mask;
            match self.slots[slot] {
                EMPTY => {
                    free = slot;
                    break;
                }
                earlier if same(earlier) => return Some(earlier),
                _ => {}
            }
        }
        self.slots[free] = row as u32;
        None
    }
}

/// The array with each repeated long value's bytes stored once, or `None` when that is not
/// worth it (few long values, few repeats) or the array is not what it should be. A first
/// pass counts what sharing would save, reading the array alone; only when it pays does a
/// second one copy the values.
fn share_repeats(array: &StrArray) -> Option<StrArray> {
    let views = array.views();
    let buffers = array.data_buffers();
    let long = views.iter().filter(|v| v.length > INLINE_LEN).count();
    if long < MIN_LONG_VALUES || views.len() >= EMPTY as usize {
        return None;
    }
    // The validity is read with the inherent `take_validity` (the `Array` trait is not
    // reachable through `polars`); the clone shares the array's buffers.
    let validity = array.clone().take_validity();
    let is_long = |row: usize| {
        views[row].length > INLINE_LEN && validity.as_ref().is_none_or(|v| v.get_bit(row))
    };
    let value = |row: usize| {
        let view = views[row];
        bytes_of(buffers, view.buffer_idx, view.offset, view.length)
    };
    let mut repeats = Repeats::new(long);
    let (mut long_bytes, mut saved) = (0usize, 0usize);
    for row in (0..views.len()).filter(|&row| is_long(row)) {
        let bytes = value(row)?;
        long_bytes += bytes.len();
        let same = |earlier: u32| value(earlier as usize) == Some(bytes);
        if repeats.earlier(bytes, row, same).is_some() {
            saved += bytes.len();
        }
    }
    if saved * MIN_SAVING_SHARE < long_bytes {
        return None;
    }
    repeats.slots.fill(EMPTY);
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut new_views = Vec::with_capacity(views.len());
    for (row, view) in views.iter().enumerate() {
        let mut view = *view;
        if validity.as_ref().is_some_and(|v| !v.get_bit(row)) {
            // A null's view is not read; an empty one keeps no bytes alive.
            (view.length, view.prefix, view.buffer_idx, view.offset) = (0, 0, 0, 0);
            new_views.push(view);
        } else if view.length <= INLINE_LEN {
            new_views.push(view);
        } else {
            let bytes = value(row)?;
            let same = |earlier: u32| {
                let e = new_views[earlier as usize];
                bytes_of(&blocks, e.buffer_idx, e.offset, e.length) == Some(bytes)
            };
            match repeats.earlier(bytes, row, same) {
                Some(earlier) => view = new_views[earlier as usize],
                None => (view.buffer_idx, view.offset) = store(&mut blocks, bytes)?,
            }
            new_views.push(view);
        }
    }
    drop(repeats);
    if let Some(last) = blocks.last_mut() {
        last.shrink_to_fit();
    }
    let blocks = blocks.into_iter().map(Into::into).collect();
    StrArray::try_new(ArrowDataType::Utf8View, new_views.into(), blocks, validity).ok()
}

/// The `length` bytes at `offset` of buffer `index`, or `None` when they are not there.
fn bytes_of<B: AsRef<[u8]>>(buffers: &[B], index: u32, offset: u32, length: u32) -> Option<&[u8]> {
    let start = offset as usize;
    buffers
        .get(index as usize)?
        .as_ref()
        .get(start..start.checked_add(length as usize)?)
}

/// Appends `bytes` to the last block (a new one when it is full); where they went.
fn store(blocks: &mut Vec<Vec<u8>>, bytes: &[u8]) -> Option<(u32, u32)> {
    let fits = blocks
        .last()
        .is_some_and(|b| b.len() + bytes.len() <= b.capacity());
    if !fits {
        if let Some(last) = blocks.last_mut() {
            last.shrink_to_fit();
        }
        blocks.push(Vec::with_capacity(BLOCK.max(bytes.len())));
    }
    let index = u32::try_from(blocks.len() - 1).ok()?;
    let block = blocks.last_mut()?;
    let offset = u32::try_from(block.len()).ok()?;
    block.extend_from_slice(bytes);
    Some((index, offset))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn array(values: &[Option<String>]) -> StrArray {
        let chunked: StringChunked = values.iter().map(|v| v.as_deref()).collect();
        chunked.rechunk().downcast_iter().next().unwrap().clone()
    }

    fn buffer_bytes(array: &StrArray) -> usize {
        array.data_buffers().iter().map(|b| b.len()).sum()
    }

    #[test]
    fn repeated_values_are_stored_once_and_read_back_the_same() {
        // 4,000 rows: 500 distinct long values, each four times, short ones and nulls between.
        let values: Vec<Option<String>> = (0..4_000)
            .map(|i| match i % 10 {
                0 => None,
                1 => Some(format!("short{}", i % 7)),
                _ => Some(format!("arn:aws:s3:::bucket-{:04}/key", i % 500)),
            })
            .collect();
        let before = array(&values);
        let shared = share_repeats(&before).expect("worth sharing");
        let read: Vec<Option<String>> = shared.iter().map(|v| v.map(str::to_string)).collect();
        assert_eq!(read, values);
        let distinct: usize = {
            let mut long: Vec<_> = values.iter().flatten().filter(|v| v.len() > 12).collect();
            long.sort();
            long.dedup();
            long.iter().map(|v| v.len()).sum()
        };
        // Each distinct value once. The hash is seeded per run, so a full neighbourhood of
        // probes can (very rarely) store a value again: that costs bytes, never a wrong value.
        let stored = buffer_bytes(&shared);
        assert!(
            stored >= distinct && stored <= distinct + distinct / 50,
            "{stored} bytes for {distinct}"
        );
        assert!(buffer_bytes(&before) > 5 * distinct);
    }

    #[test]
    fn the_pending_merges_hold_each_session_once() {
        use crate::schema::{Event, EventBatch, RawSpan};
        use crate::store::commit::{MERGE_FANOUT, Pending};
        // MERGE_FANOUT batches of 100 events that use 50 sessions between them: one merge.
        let mut pending = Pending::default();
        for b in 0..MERGE_FANOUT {
            let mut events = EventBatch::with_capacity("test", 100);
            for i in 0..100 {
                let session = format!("ASIA{:016}", (b * 100 + i) % 50);
                let event = Event {
                    provider: "aws",
                    time: Some(1_700_000_000_000_000 + (b * 100 + i) as i64),
                    session: Some(session.as_str().into()),
                    ..Event::default()
                };
                let span = RawSpan {
                    offset: (b * 100 + i) as u64,
                    len: 2,
                    line: 1,
                };
                events.push(&event, b"{}", span, false);
            }
            pending.push(events.into_frame().unwrap()).unwrap();
        }
        let merged: Vec<DataFrame> = pending.take().collect();
        assert_eq!(merged.len(), 1, "the batches were merged");
        let sessions = merged[0].column(SESSION).unwrap().str().unwrap().clone();
        assert_eq!(sessions.len(), MERGE_FANOUT * 100);
        assert_eq!(sessions.get(51), Some("ASIA0000000000000001"));
        let array = sessions.downcast_iter().next().unwrap();
        assert_eq!(buffer_bytes(array), 50 * 20, "each session's bytes once");
    }

    #[test]
    fn values_that_never_repeat_are_left_as_they_were() {
        let values: Vec<Option<String>> = (0..10_000)
            .map(|i| Some(format!("a-value-that-is-its-own-{i}")))
            .collect();
        assert!(share_repeats(&array(&values)).is_none());
    }

    #[test]
    fn a_frame_reads_the_same_after_sharing_filters_and_sorts_included() {
        let n = 5_000;
        let session: Vec<Option<String>> = (0..n)
            .map(|i| (i % 13 != 0).then(|| format!("ASIAEXAMPLEKEY{:06}", i % 300)))
            .collect();
        let details: Vec<String> = (0..n)
            .map(|i| format!("{{\"bucket\":\"b{}\"}}", i % 40))
            .collect();
        let frame =
            df!(SESSION => &session, DETAILS => &details, "n" => (0..n as i64).collect::<Vec<_>>())
                .unwrap();
        let mut shared = frame.clone();
        share_repeated_strings(&mut shared).unwrap();
        assert!(shared.equals_missing(&frame));
        let bytes = |f: &DataFrame| {
            buffer_bytes(
                f.column(SESSION)
                    .unwrap()
                    .str()
                    .unwrap()
                    .downcast_iter()
                    .next()
                    .unwrap(),
            )
        };
        assert_eq!(bytes(&shared), 300 * 20);
        let query = |f: DataFrame| {
            f.lazy()
                .filter(col(SESSION).str().ends_with(lit("7")))
                .sort(
                    [DETAILS],
                    SortMultipleOptions::default().with_maintain_order(true),
                )
                .collect()
                .unwrap()
        };
        assert!(query(shared).equals_missing(&query(frame)));
    }
}
