//! Framing: cutting an input's bytes into [`Chunk`]s of complete records, in bounded
//! memory, whatever the container: NDJSON, JSON arrays, wrapper objects
//! (`{"Records":[...]}` and friends), concatenated or pretty-printed values, or CSV
//! exports. [`sniff`](crate::load::sniff) says which container an input is; the
//! [`boundary`](crate::load::boundary) scanner finds JSON value boundaries without parsing
//! values; lines and CSV records are cut here.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use crate::load::boundary::{BoundaryScanner, ScanOutcome};
use crate::load::sniff::{Shape, sniff_shape};
use crate::{Location, Rejection};

/// Target size of a chunk's record bytes; big enough to amortize, small enough to spread
/// across threads and keep memory bounded.
pub const CHUNK_TARGET: usize = 4 << 20;
/// A single record larger than this is rejected rather than buffered.
pub const MAX_RECORD: usize = 64 << 20;

/// The most a live read takes at once.
const LIVE_READ: usize = 1 << 20;
/// How much of a live stream is read, at most, before its shape is judged.
const SNIFF_LIVE: usize = 64 << 10;

/// Where a record sits in a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start in the chunk's data.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// 1-based line of the record's first byte in the input.
    pub line: u64,
}

/// How a chunk's records are laid out.
#[derive(Debug, Clone)]
pub enum Records {
    /// One record per non-empty line.
    Lines,
    /// Records at these spans.
    Spans(Vec<Span>),
    /// CSV rows (no header row), to be read with this header.
    Csv(Arc<csv::StringRecord>),
}

/// Complete records of one input, with their position.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The bytes.
    pub data: Vec<u8>,
    /// Byte offset of `data[0]` in the (decompressed) input.
    pub offset: u64,
    /// 1-based line of `data[0]`.
    pub line: u64,
    /// The layout of records in `data`.
    pub records: Records,
}

impl Chunk {
    /// The records of a JSON chunk (none for CSV): (offset in `data`, bytes without
    /// surrounding white space, 1-based line in the input).
    pub fn json_records(&self) -> Box<dyn Iterator<Item = (usize, &[u8], u64)> + '_> {
        let data = &self.data[..];
        match &self.records {
            Records::Lines => {
                let mut start = 0usize;
                let mut line = self.line;
                Box::new(std::iter::from_fn(move || {
                    while start < data.len() {
                        let end =
                            memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |n| start + n);
                        let this_line = line;
                        let slice = &data[start..end];
                        let at = start;
                        start = end + 1;
                        line += 1;
                        let trimmed = crate::load::sniff::strip_line_prefix(slice.trim_ascii());
                        if !trimmed.is_empty() {
                            let lead = slice.len() - slice.trim_ascii_start().len();
                            let prefix = slice.trim_ascii().len() - trimmed.len();
                            return Some((at + lead + prefix, trimmed, this_line));
                        }
                    }
                    None
                }))
            }
            Records::Spans(spans) => Box::new(
                spans
                    .iter()
                    .map(move |s| (s.start, &data[s.start..s.start + s.len], s.line)),
            ),
            Records::Csv(_) => Box::new(std::iter::empty()),
        }
    }
}

/// What framing yields: records, or something that could not be framed.
#[derive(Debug)]
pub enum Framed {
    /// Complete records.
    Chunk(Chunk),
    /// Unusable bytes (truncated value, garbage, read error), counted as one rejected record.
    Rejected(Rejection),
}

/// Chunk buffers handed back once parsed, so that framing refills warm memory instead of
/// asking the system for fresh pages for every chunk (zeroing fresh pages cost more than
/// reading the file did).
#[derive(Default)]
pub struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

/// Buffers kept for reuse; more than the chunks in flight is memory held for nothing.
const POOL_KEEP: usize = 8;

impl BufferPool {
    /// An empty buffer, reused when one is free.
    pub fn take(&self) -> Vec<u8> {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        reused.unwrap_or_default()
    }

    /// Hands a buffer back for reuse.
    pub fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() < CHUNK_TARGET / 2 {
            return;
        }
        buf.clear();
        if let Ok(mut free) = self.free.lock()
            && free.len() < POOL_KEEP
        {
            free.push(buf);
        }
    }
}

/// Cuts an input into chunks of complete records.
pub struct Framer {
    name: String,
    pool: Arc<BufferPool>,
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// Line of `buf[0]`.
    line: u64,
    eof: bool,
    shape: Option<Shape>,
    csv_header: Option<Arc<csv::StringRecord>>,
    scanner: BoundaryScanner,
    pending: VecDeque<Framed>,
    done: bool,
    /// Reads return what is there instead of waiting for a full chunk (a followed pipe).
    live: bool,
    /// The line of the last garbage reported: the rest of a broken line is one rejection,
    /// not one per token the scanner skips.
    garbage_line: Option<u64>,
    /// Missing array separators counted by scanners since replaced (after an oversized value).
    earlier_missing_separators: u64,
}

impl Drop for Framer {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.buf));
    }
}

impl Framer {
    /// A framer over decompressed bytes; `name` is used in rejection locations.
    pub fn new(name: &str, reader: Box<dyn Read + Send>) -> Self {
        Framer::with_pool(name, reader, Arc::default())
    }

    /// A framer that takes its chunk buffers from `pool` (give them back once parsed).
    pub fn with_pool(name: &str, reader: Box<dyn Read + Send>, pool: Arc<BufferPool>) -> Self {
        Framer {
            name: name.to_string(),
            reader,
            buf: pool.take(),
            pool,
            offset: 0,
            line: 1,
            eof: false,
            shape: None,
            csv_header: None,
            scanner: BoundaryScanner::default(),
            pending: Default::default(),
            done: false,
            live: false,
            garbage_line: None,
            earlier_missing_separators: 0,
        }
    }

    /// A framer for a stream that is read as it is written (a followed pipe): each read takes
    /// what has arrived, so complete records go out as soon as they are there instead of
    /// when a chunk is full.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// A framer whose first byte is at `offset`, line `line` of the input (a part of a file).
    pub fn starting_at(mut self, offset: u64, line: u64) -> Self {
        self.offset = offset;
        self.line = line;
        self
    }

    /// The input's shape, once known (after the first call to [`Framer::next_chunk`]).
    pub fn shape(&self) -> Option<&Shape> {
        self.shape.as_ref()
    }

    /// How many records inside arrays followed the previous one without a separating comma
    /// (`[{..}{..}]`): they are read, and the load says how many were recovered.
    pub fn missing_separators(&self) -> u64 {
        self.earlier_missing_separators + self.scanner.missing_separators()
    }

    /// The next chunk of records or rejection; `None` at the end of the input.
    pub fn next_chunk(&mut self) -> Option<Framed> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            self.step();
        }
    }

    fn fill(&mut self, want: usize) {
        if self.eof {
            return;
        }
        // Reserve up front: growing the buffer while reading copies it several times.
        self.buf.reserve(want);
        let result = if self.live {
            self.read_available(want)
        } else {
            let mut limited = (&mut self.reader).take(want as u64);
            limited.read_to_end(&mut self.buf)
        };
        match result {
            Ok(0) => self.eof = true,
            Ok(_) => {}
            Err(e) => {
                let at = self.offset + self.buf.len() as u64;
                let reason = match e.kind() {
                    io::ErrorKind::UnexpectedEof => {
                        format!("input ends early (truncated compressed stream?): {e}")
                    }
                    _ => format!("read error after {at} bytes: {e}"),
                };
                self.pending.push_back(Framed::Rejected(Rejection {
                    location: Location {
                        path: self.name.clone(),
                        line: None,
                        byte_offset: Some(at),
                    },
                    reason,
                }));
                self.eof = true;
            }
        }
    }

    /// One read of at most `want` bytes, whatever has arrived (at least one byte unless the
    /// stream ended).
    fn read_available(&mut self, want: usize) -> io::Result<usize> {
        let start = self.buf.len();
        self.buf.resize(start + want.min(LIVE_READ), 0);
        let result = loop {
            match self.reader.read(&mut self.buf[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.buf.truncate(start + *result.as_ref().unwrap_or(&0));
        result
    }

    fn location(&self, buf_pos: usize) -> Location {
        let line = self.line + count_newlines(&self.buf[..buf_pos.min(self.buf.len())]);
        Location::at(self.name.clone(), line, self.offset + buf_pos as u64)
    }

    /// Moves the buffer out (for a chunk), keeping its bytes from `n` on as the new buffer:
    /// like [`Framer::consume`], without copying the consumed bytes.
    fn hand_over(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buf.len());
        let mut next = self.pool.take();
        next.extend_from_slice(&self.buf[n..]);
        self.line += count_newlines(&self.buf[..n]);
        self.offset += n as u64;
        self.scanner.shift(n);
        std::mem::replace(&mut self.buf, next)
    }

    /// Drops `n` consumed bytes from the front of the buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.line += count_newlines(&self.buf[..n]);
        self.offset += n as u64;
        self.buf.drain(..n);
        self.scanner.shift(n);
    }

    fn step(&mut self) {
        if self.shape.is_none() {
            self.fill(CHUNK_TARGET);
            // A live stream's first read may hold part of a record: the shape is judged on
            // whole lines.
            while self.live
                && !self.eof
                && self.buf.len() < SNIFF_LIVE
                && memchr::memchr(b'\n', &self.buf).is_none()
            {
                self.fill(CHUNK_TARGET);
            }
            // Strip a UTF-8 byte order mark; offsets still count it.
            if self.buf.starts_with(&[0xef, 0xbb, 0xbf]) {
                self.consume(3);
            }
            let shape = sniff_shape(&self.buf, self.eof);
            if let Shape::Unknown(reason) = &shape {
                self.pending.push_back(Framed::Rejected(Rejection {
                    location: Location::file(self.name.clone()),
                    reason: format!("unrecognized content: {reason}"),
                }));
                self.done = true;
            }
            if shape == Shape::Empty {
                self.done = true;
            }
            self.shape = Some(shape);
            return;
        }
        match self.shape {
            Some(Shape::Lines) => self.step_lines(),
            Some(Shape::Json) => self.step_json(),
            Some(Shape::Csv) => self.step_csv(),
            _ => self.done = true,
        }
    }

    fn step_lines(&mut self) {
        // Live, complete lines already here go out before waiting for more.
        let waiting = self.live && memchr::memchr(b'\n', &self.buf).is_some();
        if self.buf.len() < CHUNK_TARGET && !self.eof && !waiting {
            self.fill(CHUNK_TARGET);
        }
        let cut = if self.eof {
            self.buf.len()
        } else {
            match memchr::memrchr(b'\n', &self.buf) {
                Some(pos) => pos + 1,
                None if self.buf.len() > MAX_RECORD => {
                    let location = self.location(0);
                    self.pending.push_back(Framed::Rejected(Rejection {
                        location,
                        reason: format!("line longer than {} MiB", MAX_RECORD >> 20),
                    }));
                    self.skip_to_newline();
                    return;
                }
                None => {
                    self.fill(CHUNK_TARGET);
                    return;
                }
            }
        };
        if cut == 0 {
            self.done = self.eof;
            return;
        }
        let (offset, line) = (self.offset, self.line);
        let mut data = self.hand_over(cut);
        data.truncate(cut);
        let chunk = Chunk {
            offset,
            line,
            data,
            records: Records::Lines,
        };
        self.pending.push_back(Framed::Chunk(chunk));
        if self.eof && self.buf.is_empty() {
            self.done = true;
        }
    }

    fn skip_to_newline(&mut self) {
        loop {
            if let Some(pos) = memchr::memchr(b'\n', &self.buf) {
                self.consume(pos + 1);
                return;
            }
            let len = self.buf.len();
            self.consume(len);
            if self.eof {
                self.done = true;
                return;
            }
            self.fill(CHUNK_TARGET);
        }
    }

    fn step_json(&mut self) {
        // Live, what is here is scanned first; a value cut by the end of the buffer reads
        // more below.
        let waiting = self.live && !self.buf.is_empty();
        if self.buf.len() < CHUNK_TARGET && !self.eof && !waiting {
            self.fill(CHUNK_TARGET);
        }
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut garbage: Vec<(usize, String)> = Vec::new();
        let outcome = self
            .scanner
            .run(&self.buf, self.eof, CHUNK_TARGET, &mut spans, &mut garbage);
        for (pos, reason) in garbage {
            let location = self.location(pos);
            if location.line.is_some() && location.line == self.garbage_line {
                continue;
            }
            self.garbage_line = location.line;
            self.pending
                .push_back(Framed::Rejected(Rejection { location, reason }));
        }
        // Bytes of the buffer already consumed by handing it over to a chunk.
        let mut consumed = 0;
        if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
            let (base, end) = (first.0, last.1);
            let mut line = self.line + count_newlines(&self.buf[..base]);
            let mut cursor = base;
            let spans = spans
                .iter()
                .map(|&(s, e)| {
                    line += count_newlines(&self.buf[cursor..s]);
                    cursor = s;
                    Span {
                        start: s,
                        len: e - s,
                        line,
                    }
                })
                .collect();
            consumed = match outcome {
                ScanOutcome::Finished => self.buf.len(),
                ScanOutcome::NeedMore { keep_from } | ScanOutcome::ChunkFull { keep_from } => {
                    keep_from
                }
            }
            .min(self.buf.len());
            let (offset, line) = (self.offset, self.line);
            // The whole buffer goes to the chunk (spans index into it): no copy of the records.
            let mut data = self.hand_over(consumed);
            data.truncate(end.max(consumed));
            let chunk = Chunk {
                offset,
                line,
                data,
                records: Records::Spans(spans),
            };
            self.pending.push_back(Framed::Chunk(chunk));
        }
        match outcome {
            ScanOutcome::Finished => {
                let len = self.buf.len();
                self.consume(len);
                self.done = true;
            }
            ScanOutcome::NeedMore { keep_from } => {
                let keep_from = keep_from.saturating_sub(consumed);
                if self.eof {
                    // The input ended inside a value.
                    let location = self.location(keep_from);
                    self.pending.push_back(Framed::Rejected(Rejection {
                        location,
                        reason: "truncated JSON: the input ends inside a value".into(),
                    }));
                    let len = self.buf.len();
                    self.consume(len);
                    self.done = true;
                    return;
                }
                if self.buf.len() - keep_from > MAX_RECORD {
                    let location = self.location(keep_from);
                    self.pending.push_back(Framed::Rejected(Rejection {
                        location,
                        reason: format!("JSON value larger than {} MiB", MAX_RECORD >> 20),
                    }));
                    self.earlier_missing_separators += self.scanner.missing_separators();
                    self.scanner = BoundaryScanner::default();
                    self.skip_to_newline();
                    return;
                }
                self.consume(keep_from);
                // Live, records found go out before waiting for more.
                if !(self.live && consumed > 0) {
                    self.fill(CHUNK_TARGET.max(self.buf.len()));
                }
            }
            ScanOutcome::ChunkFull { keep_from } => {
                self.consume(keep_from.saturating_sub(consumed));
            }
        }
    }

    fn step_csv(&mut self) {
        if self.buf.len() < CHUNK_TARGET && !self.eof {
            self.fill(CHUNK_TARGET);
        }
        let cut = if self.eof {
            Some(self.buf.len())
        } else {
            last_csv_record_end(&self.buf)
        };
        let Some(cut) = cut else {
            if self.buf.len() > MAX_RECORD {
                let location = self.location(0);
                self.pending.push_back(Framed::Rejected(Rejection {
                    location,
                    reason: format!("CSV record larger than {} MiB", MAX_RECORD >> 20),
                }));
                self.done = true;
            } else {
                self.fill(CHUNK_TARGET);
            }
            return;
        };
        let mut start = 0;
        if self.csv_header.is_none() {
            let header_end = first_csv_record_end(&self.buf[..cut]).unwrap_or(cut);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(&self.buf[..header_end]);
            let mut header = csv::StringRecord::new();
            match reader.read_record(&mut header) {
                Ok(true) => self.csv_header = Some(Arc::new(header)),
                _ => {
                    self.pending.push_back(Framed::Rejected(Rejection {
                        location: self.location(0),
                        reason: "CSV header row is not valid UTF-8 text".into(),
                    }));
                    self.done = true;
                    return;
                }
            }
            start = header_end;
        }
        if cut > start {
            let data = self.buf[start..cut].to_vec();
            let line = self.line + count_newlines(&self.buf[..start]);
            let header = self.csv_header.clone().unwrap_or_default();
            self.pending.push_back(Framed::Chunk(Chunk {
                offset: self.offset + start as u64,
                line,
                data,
                records: Records::Csv(header),
            }));
        }
        self.consume(cut);
        if self.eof && self.buf.is_empty() {
            self.done = true;
        }
    }
}

/// Counts line feeds.
pub fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// End (exclusive) of the last complete CSV record: after the last newline outside quotes.
fn last_csv_record_end(buf: &[u8]) -> Option<usize> {
    let mut in_quotes = false;
    let mut last = None;
    for i in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            last = Some(i + 1);
        }
    }
    last
}

/// End (exclusive) of the first CSV record.
fn first_csv_record_end(buf: &[u8]) -> Option<usize> {
    let mut in_quotes = false;
    for i in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
