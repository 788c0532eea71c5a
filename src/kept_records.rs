//! Original records kept beside the frame at load time: the few an analysis reads again
//! (the permissions analysis's IAM grant events, see
//! [`crate::schema::keeps_record`]), taken while the loader holds their
//! bytes, so that the analysis does not decompress its inputs again to reach them.
//!
//! A record is found by where it was read from (its row's `source` and `raw_offset`), so
//! duplicates dropped, stages superseded and rows reordered by a commit cannot pair a row
//! with another row's record. Memory is bounded: past [`MAX_KEPT_BYTES`] nothing more is
//! kept, and those records are read from the inputs as before.

use std::collections::HashMap;
use std::sync::Arc;

use polars::prelude::DataFrame;

use crate::schema::{RAW_OFFSET, SOURCE};

/// The most bytes kept in all (a grant event's record is 1 to 5 KB: some ten thousand).
pub const MAX_KEPT_BYTES: usize = 64 << 20;
/// Records larger than this are not kept (the analyses skip them too).
const MAX_RECORD: usize = 1 << 20;

/// Records kept by where they were read from; cheap to clone (the bytes are shared).
#[derive(Debug, Clone, Default)]
pub struct KeptRecords {
    by_place: HashMap<(String, u64), Arc<[u8]>>,
    bytes: usize,
}

impl KeptRecords {
    /// Keeps the records `kept` (row of `frame`, bytes as read) of the rows `keep` says stay
    /// (the rows that are not duplicates), while the bound allows. `shown` turns the bytes
    /// read into the record as [`crate::store::FrameStore::raw_record`] gives it.
    pub fn keep(
        &mut self,
        frame: &DataFrame,
        keep: &[bool],
        kept: Vec<(u32, Vec<u8>)>,
        shown: impl Fn(Vec<u8>) -> Vec<u8>,
    ) {
        if kept.is_empty() {
            return;
        }
        let (Ok(sources), Ok(offsets)) = (frame.column(SOURCE), frame.column(RAW_OFFSET)) else {
            return;
        };
        for (row, bytes) in kept {
            let row = row as usize;
            if !keep.get(row).copied().unwrap_or(false)
                || bytes.len() > MAX_RECORD
                || self.bytes + bytes.len() > MAX_KEPT_BYTES
            {
                continue;
            }
            let (Ok(source), Some(offset)) = (
                sources.get(row),
                offsets.get(row).ok().and_then(|v| v.extract::<u64>()),
            ) else {
                continue;
            };
            let record: Arc<[u8]> = shown(bytes).into();
            self.bytes += record.len();
            self.by_place
                .insert((source.str_value().to_string(), offset), record);
        }
    }

    /// The record read from `source` at `offset`, when it was kept.
    pub fn get(&self, source: &str, offset: u64) -> Option<Arc<[u8]>> {
        // The key is owned; a look-up by borrowed parts would need a second map type.
        self.by_place.get(&(source.to_string(), offset)).cloned()
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.by_place.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_place.is_empty()
    }
}
