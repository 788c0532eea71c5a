//! Reading loaded events' original records again, for rules that test fields the
//! normalized columns do not hold: each record's bytes from its input (in windows of
//! neighbouring records when many are read), out of its envelope, parsed; CSV rows become
//! objects of their columns.

use std::collections::HashMap;

use polars::prelude::DataFrame;
use serde_json::Value;

use crate::Result;
use crate::detectors::event::u64s;
use crate::load::{sniff, source};
use crate::schema::{RAW_LEN, RAW_OFFSET, SOURCE};
use crate::store::FrameStore;

/// Bytes read at once when reading many records of one input in order.
const WINDOW: u64 = 32 << 20;

/// Reads the original records of a frame's rows again.
pub struct RecordReader<'a> {
    store: &'a FrameStore,
    /// Each row's input, as the `source` column's physical id.
    sources: Vec<Option<u32>>,
    /// Input names by physical id.
    names: HashMap<u32, String>,
    offsets: Vec<Option<u64>>,
    lengths: Vec<Option<u64>>,
    /// The header rows of CSV inputs, read once each.
    headers: std::sync::Mutex<HashMap<String, csv::StringRecord>>,
}

/// How far into a CSV input its header row is looked for.
const MAX_CSV_HEADER: u64 = 1 << 20;

impl<'a> RecordReader<'a> {
    /// Reads the locator columns of `frame` (derived from `store`'s frame).
    pub fn new(store: &'a FrameStore, frame: &DataFrame) -> Result<RecordReader<'a>> {
        Ok(RecordReader {
            store,
            sources: u64s(frame, SOURCE)?
                .into_iter()
                .map(|v| v.and_then(|v| u32::try_from(v).ok()))
                .collect(),
            names: crate::schema::Dictionaries::shared()
                .category_values(SOURCE)
                .into_iter()
                .collect(),
            offsets: u64s(frame, RAW_OFFSET)?,
            lengths: u64s(frame, RAW_LEN)?,
            headers: Default::default(),
        })
    }

    fn place(&self, row: u32) -> (&str, u64, u64) {
        let row = row as usize;
        let name = self
            .sources
            .get(row)
            .copied()
            .flatten()
            .and_then(|id| self.names.get(&id))
            .map(String::as_str)
            .unwrap_or("");
        let offset = self.offsets.get(row).copied().flatten().unwrap_or(0);
        let length = self.lengths.get(row).copied().flatten().unwrap_or(0);
        (name, offset, length)
    }

    fn origin(&self, name: &str, offset: u64) -> std::result::Result<&source::Origin, String> {
        self.store
            .origin(name)
            .ok_or_else(|| format!("{name} at byte {offset}: the input is no longer readable"))
    }

    /// The record of `row`, out of its envelope and parsed; or why it cannot be read.
    pub fn record(&self, row: u32) -> std::result::Result<Value, String> {
        let (name, offset, length) = self.place(row);
        let origin = self.origin(name, offset)?;
        let length = u32::try_from(length)
            .map_err(|_| format!("{name} at byte {offset}: record too long"))?;
        let raw = source::read_raw(origin, offset, length)
            .map_err(|e| format!("{name} at byte {offset}: cannot read the record again: {e}"))?;
        self.parse(row, &raw)
    }

    /// The record of `row` from its bytes (as [`RecordReader::each_raw`] gives them).
    pub fn parse(&self, row: u32, raw: &[u8]) -> std::result::Result<Value, String> {
        let (name, offset, _) = self.place(row);
        let at = || format!("{name} at byte {offset}");
        let first = raw.iter().find(|b| !b.is_ascii_whitespace());
        // A CSV row (its input's header comes first); JSON records are objects, Lake rows arrays.
        if first.is_some_and(|b| !matches!(b, b'{' | b'[')) && offset > 0 {
            let origin = self.origin(name, offset)?;
            return self
                .table_row(name, origin, offset, raw)
                .map_err(|e| format!("{}: {e}", at()));
        }
        bare_record(raw).map_err(|e| format!("{}: {e}", at()))
    }

    /// Where a row's record lies (input, offset): rows sorted by it are read in windows by
    /// [`RecordReader::each_raw`].
    pub fn place_key(&self, row: u32) -> (Option<u32>, Option<u64>, u32) {
        let source = self.sources.get(row as usize).copied().flatten();
        let offset = self.offsets.get(row as usize).copied().flatten();
        (source, offset, row)
    }

    /// Calls `f` with the bytes of each row's record, rows ordered by
    /// [`RecordReader::place_key`]: neighbouring records of one input are read in one
    /// window rather than one read each.
    pub fn each_raw<T>(
        &self,
        items: &[T],
        row_of: impl Fn(&T) -> u32,
        mut f: impl FnMut(&T, std::result::Result<&[u8], String>),
    ) {
        let rows: Vec<u32> = items.iter().map(&row_of).collect();
        let mut window: Vec<u8> = Vec::new();
        let mut window_at: (&str, u64) = ("", 0);
        let mut group_end = 0u64;
        for (i, (row, item)) in rows.iter().zip(items).enumerate() {
            let (name, offset, length) = self.place(*row);
            let end = offset.saturating_add(length);
            let inside = name == window_at.0
                && offset >= window_at.1
                && end <= window_at.1 + window.len() as u64;
            if !inside {
                if name != window_at.0 || i == 0 {
                    // The end of this input's last record to read: windows stay inside it.
                    group_end = rows[i..]
                        .iter()
                        .map(|r| self.place(*r))
                        .take_while(|(n, _, _)| *n == name)
                        .map(|(_, o, l)| o.saturating_add(l))
                        .max()
                        .unwrap_or(end);
                }
                let span = group_end.saturating_sub(offset).min(WINDOW).max(length);
                let read = self.origin(name, offset).and_then(|origin| {
                    let span = u32::try_from(span)
                        .map_err(|_| format!("{name} at byte {offset}: record too long"))?;
                    source::read_raw(origin, offset, span).map_err(|e| {
                        format!("{name} at byte {offset}: cannot read the record again: {e}")
                    })
                });
                match read {
                    Ok(bytes) => {
                        window = bytes;
                        window_at = (name, offset);
                    }
                    Err(e) => {
                        window.clear();
                        window_at = ("", 0);
                        f(item, Err(e));
                        continue;
                    }
                }
            }
            let from = (offset - window_at.1) as usize;
            f(item, Ok(&window[from..from + length as usize]));
        }
    }

    /// A row of a CSV export as an object of its columns; columns holding JSON objects or
    /// arrays (Log Analytics' dynamic columns) are parsed, so rules reach into them.
    fn table_row(
        &self,
        name: &str,
        origin: &source::Origin,
        offset: u64,
        raw: &[u8],
    ) -> std::result::Result<Value, String> {
        let cached = self.headers.lock().ok().and_then(|h| h.get(name).cloned());
        let header = match cached {
            Some(h) => h,
            None => {
                let head = source::read_raw(origin, 0, offset.min(MAX_CSV_HEADER) as u32)
                    .map_err(|e| format!("cannot read the CSV header again: {e}"))?;
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(head.as_slice());
                let mut header = csv::StringRecord::new();
                reader
                    .read_record(&mut header)
                    .map_err(|e| format!("invalid CSV header: {e}"))?;
                if let Ok(mut headers) = self.headers.lock() {
                    headers.insert(name.to_string(), header.clone());
                }
                header
            }
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(raw);
        let mut row = csv::StringRecord::new();
        reader
            .read_record(&mut row)
            .map_err(|e| format!("invalid CSV row: {e}"))?;
        let mut object = serde_json::Map::new();
        for (column, value) in header.iter().zip(row.iter()) {
            let trimmed = value.trim_start();
            let parsed = (trimmed.starts_with('{') || trimmed.starts_with('['))
                .then(|| serde_json::from_str::<Value>(value).ok())
                .flatten();
            object.insert(
                column.to_string(),
                parsed.unwrap_or_else(|| Value::String(value.to_string())),
            );
        }
        Ok(Value::Object(object))
    }
}

/// A record's JSON, out of its envelope (EventBridge, CloudWatch Logs, Cribl, AKS
/// diagnostics), parsed.
pub fn bare_record(raw: &[u8]) -> std::result::Result<Value, String> {
    let envelope = sniff::detect_envelope(raw);
    let bare = if envelope == sniff::Envelope::None {
        std::borrow::Cow::Borrowed(raw)
    } else {
        sniff::unwrap(envelope, raw)?.record
    };
    super::projection::parse_keeping(&bare, None)
}
