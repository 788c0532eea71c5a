//! Framing: cutting an input's bytes into [`Chunk`]s of complete records, in bounded
//! memory, whatever the container: NDJSON, JSON arrays, wrapper objects
//! (`{"Records":[...]}` and friends), concatenated or pretty-printed values, or CSV
//! exports. A structural scanner finds value boundaries without parsing values.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use crate::{Location, Rejection};

/// Target size of a chunk's record bytes; big enough to amortize, small enough to spread
/// across threads and keep memory bounded.
pub const CHUNK_TARGET: usize = 4 << 20;
/// A single record larger than this is rejected rather than buffered.
pub const MAX_RECORD: usize = 64 << 20;
/// Keys whose array value holds the records of a wrapper object.
pub const WRAPPER_KEYS: [&[u8]; 5] = [b"Records", b"records", b"value", b"logEvents", b"items"];

/// How records sit in an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One JSON object per line.
    Lines,
    /// JSON values found by scanning: arrays, wrappers, concatenated or pretty values.
    Json,
    /// A CSV export with a header row.
    Csv,
    /// Not JSON, not CSV.
    Unknown(String),
    /// No content at all.
    Empty,
}

impl Shape {
    /// A short name for summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Shape::Lines => "ndjson",
            Shape::Json => "json",
            Shape::Csv => "csv",
            Shape::Unknown(_) => "unknown",
            Shape::Empty => "empty",
        }
    }
}

/// Decides the shape of an input from its first bytes (BOM already removed).
pub fn sniff_shape(head: &[u8], at_eof: bool) -> Shape {
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return if at_eof {
            Shape::Empty
        } else {
            Shape::Unknown("only whitespace".into())
        };
    };
    match head[start] {
        b'[' => Shape::Json,
        b'{' => {
            // One object per line, none a wrapper: cheap line framing. Anything else
            // (pretty-printed, concatenated over several lines, wrappers): scan.
            if head_is_ndjson(head, start, at_eof) {
                Shape::Lines
            } else {
                Shape::Json
            }
        }
        _ => {
            let first_line = head[start..].split(|b| *b == b'\n').next().unwrap_or(&[]);
            let text = std::str::from_utf8(first_line);
            let printable = first_line
                .iter()
                .all(|b| *b >= 0x20 || matches!(b, b'\t' | b'\r'));
            if text.is_ok()
                && printable
                && (first_line.contains(&b',') || first_line.contains(&b'\t'))
            {
                Shape::Csv
            } else {
                let shown: String =
                    String::from_utf8_lossy(&head[start..head.len().min(start + 16)])
                        .chars()
                        .map(|c| if c.is_control() { '.' } else { c })
                        .collect();
                Shape::Unknown(format!("not JSON or CSV (starts with {shown:?})"))
            }
        }
    }
}

/// Whether the head looks like one JSON object per line: the first line is a complete
/// object (not a wrapper), and at least two thirds of the first lines that open an object
/// close it on the same line. NDJSON with a few broken lines stays NDJSON (each line then
/// stands alone); pretty-printed or concatenated multi-line values do not.
fn head_is_ndjson(head: &[u8], start: usize, at_eof: bool) -> bool {
    let mut scanner = Scanner::default();
    let mut lines: Vec<&[u8]> = head[start..].split(|b| *b == b'\n').collect();
    if !at_eof && lines.len() > 1 {
        lines.pop(); // may be cut by the end of the head
    }
    // An object left open on its line and continued by a member line (`"key": ...`) is a
    // pretty-printed value among one-line ones: concatenated values, not NDJSON.
    let trimmed: Vec<&[u8]> = lines
        .iter()
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .collect();
    let continued = trimmed.windows(2).take(64).any(|pair| {
        pair[0].first() == Some(&b'{')
            && pair[1].first() == Some(&b'"')
            && Scanner::default().scan_value(pair[0], 0).is_err()
    });
    if continued {
        return false;
    }
    let mut opening = 0usize;
    let mut complete = 0usize;
    for (i, line) in lines
        .iter()
        .map(|l| l.trim_ascii())
        .filter(|l| l.first() == Some(&b'{'))
        .take(32)
        .enumerate()
    {
        opening += 1;
        // The wrapper test first: it stops at the wrapper key, where scanning the whole
        // value would read a whole S3 delivery file just to sniff it.
        let whole = !looks_like_wrapper(line)
            && scanner
                .scan_value(line, 0)
                .is_ok_and(|end| end == line.len());
        if i == 0 && !whole {
            return false;
        }
        complete += usize::from(whole);
    }
    opening > 0 && complete * 3 >= opening * 2
}

/// Whether a top-level object holds its records in a wrapper array.
fn looks_like_wrapper(object: &[u8]) -> bool {
    let mut found = false;
    let mut scanner = Scanner::default();
    let _ = scanner.visit_top_object_keys(object, 0, &mut |key, value_start| {
        found = WRAPPER_KEYS.contains(&key) && object.get(value_start) == Some(&b'[');
        found
    });
    found
}

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
    scanner: Scanner,
    pending: VecDeque<Framed>,
    done: bool,
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
            scanner: Scanner::default(),
            pending: Default::default(),
            done: false,
        }
    }

    /// The input's shape, once known (after the first call to [`Framer::next_chunk`]).
    pub fn shape(&self) -> Option<&Shape> {
        self.shape.as_ref()
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
        let mut limited = (&mut self.reader).take(want as u64);
        match limited.read_to_end(&mut self.buf) {
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
        if self.buf.len() < CHUNK_TARGET && !self.eof {
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
        if self.buf.len() < CHUNK_TARGET && !self.eof {
            self.fill(CHUNK_TARGET);
        }
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut garbage: Vec<(usize, String)> = Vec::new();
        let outcome = self
            .scanner
            .run(&self.buf, self.eof, CHUNK_TARGET, &mut spans, &mut garbage);
        for (pos, reason) in garbage {
            let location = self.location(pos);
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
                    self.scanner = Scanner::default();
                    self.skip_to_newline();
                    return;
                }
                self.consume(keep_from);
                self.fill(CHUNK_TARGET.max(self.buf.len()));
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

/// Why a scan stopped.
#[derive(Debug, PartialEq, Eq)]
enum ScanOutcome {
    /// The input is fully framed.
    Finished,
    /// More bytes are needed; everything before `keep_from` is consumed.
    NeedMore { keep_from: usize },
    /// Enough records for a chunk; everything before `keep_from` is consumed.
    ChunkFull { keep_from: usize },
}

/// A scan that ran out of bytes.
#[derive(Debug, PartialEq, Eq)]
struct Incomplete;

/// Where the structural scanner is, between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Between top-level values.
    Top,
    /// Inside a top-level array.
    TopArray,
    /// Inside a top-level object, reading its keys; `start` is the `{` (buffer index) and
    /// `wrapper` says whether a wrapper array was found in it.
    Object { start: usize, wrapper: bool },
    /// Inside a wrapper array of a top-level object.
    WrapperArray { object_start: usize },
}

/// A resumable structural JSON scanner: it finds value boundaries without parsing values
/// (strings are skipped with SIMD search), so framing costs little next to parsing.
#[derive(Debug, Clone)]
struct Scanner {
    stack: Vec<Level>,
    pos: usize,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            stack: vec![Level::Top],
            pos: 0,
        }
    }
}

impl Scanner {
    /// Adjusts buffer indices after `n` bytes were dropped from the front.
    fn shift(&mut self, n: usize) {
        self.pos = self.pos.saturating_sub(n);
        for level in &mut self.stack {
            match level {
                Level::Object { start, .. } => *start = start.saturating_sub(n),
                Level::WrapperArray { object_start } => {
                    *object_start = object_start.saturating_sub(n)
                }
                _ => {}
            }
        }
    }

    fn level(&self) -> Level {
        self.stack.last().copied().unwrap_or(Level::Top)
    }

    /// Scans from the saved position, pushing record spans and garbage reports.
    fn run(
        &mut self,
        buf: &[u8],
        eof: bool,
        chunk_target: usize,
        spans: &mut Vec<(usize, usize)>,
        garbage: &mut Vec<(usize, String)>,
    ) -> ScanOutcome {
        let mut record_bytes = 0usize;
        loop {
            let Some(p) = skip_ws(buf, self.pos) else {
                self.pos = buf.len();
                return if eof && self.level() == Level::Top {
                    ScanOutcome::Finished
                } else {
                    ScanOutcome::NeedMore {
                        keep_from: self.keep_from(buf.len()),
                    }
                };
            };
            self.pos = p;
            if record_bytes >= chunk_target {
                return ScanOutcome::ChunkFull {
                    keep_from: self.keep_from(p),
                };
            }
            let byte = buf[p];
            match (self.level(), byte) {
                (Level::Top, b'[') => {
                    self.stack.push(Level::TopArray);
                    self.pos = p + 1;
                }
                (Level::Top, b'{') => {
                    self.stack.push(Level::Object {
                        start: p,
                        wrapper: false,
                    });
                    self.pos = p + 1;
                }
                (Level::TopArray | Level::WrapperArray { .. }, b']') => {
                    self.stack.pop();
                    self.pos = p + 1;
                }
                (Level::TopArray | Level::WrapperArray { .. } | Level::Top, b',') => {
                    self.pos = p + 1
                }
                (Level::TopArray | Level::WrapperArray { .. }, b'{') => {
                    match self.scan_value(buf, p) {
                        Ok(end) => {
                            spans.push((p, end));
                            record_bytes += end - p;
                            self.pos = end;
                        }
                        Err(Incomplete) => {
                            return ScanOutcome::NeedMore {
                                keep_from: self.keep_from(p),
                            };
                        }
                    }
                }
                (Level::Object { start, wrapper }, b'}') => {
                    self.stack.pop();
                    self.pos = p + 1;
                    if !wrapper {
                        spans.push((start, p + 1));
                        record_bytes += p + 1 - start;
                    }
                }
                (Level::Object { .. }, b',') => self.pos = p + 1,
                (Level::Object { start, .. }, b'"') => {
                    let key_end = match scan_string(buf, p) {
                        Ok(end) => end,
                        Err(Incomplete) => {
                            return ScanOutcome::NeedMore {
                                keep_from: self.keep_from(p),
                            };
                        }
                    };
                    let key = &buf[p + 1..key_end - 1];
                    let Some(colon) = skip_ws(buf, key_end) else {
                        return ScanOutcome::NeedMore {
                            keep_from: self.keep_from(p),
                        };
                    };
                    if buf[colon] != b':' {
                        garbage.push((
                            colon,
                            "malformed JSON object: expected ':' after a key".into(),
                        ));
                        self.recover(buf);
                        continue;
                    }
                    let Some(value) = skip_ws(buf, colon + 1) else {
                        return ScanOutcome::NeedMore {
                            keep_from: self.keep_from(p),
                        };
                    };
                    if WRAPPER_KEYS.contains(&key) && buf[value] == b'[' {
                        self.stack.pop();
                        self.stack.push(Level::Object {
                            start,
                            wrapper: true,
                        });
                        self.stack.push(Level::WrapperArray {
                            object_start: start,
                        });
                        self.pos = value + 1;
                        continue;
                    }
                    match self.scan_value(buf, value) {
                        Ok(end) => self.pos = end,
                        Err(Incomplete) => {
                            return ScanOutcome::NeedMore {
                                keep_from: self.keep_from(p),
                            };
                        }
                    }
                }
                (level, other) => {
                    let what = match level {
                        Level::Top => "expected a JSON object or array",
                        Level::TopArray | Level::WrapperArray { .. } => {
                            "expected an object in the array"
                        }
                        Level::Object { .. } => "malformed JSON object",
                    };
                    let shown = if other.is_ascii_graphic() {
                        format!("'{}'", other as char)
                    } else {
                        format!("byte 0x{other:02x}")
                    };
                    garbage.push((p, format!("{what}, found {shown}")));
                    // A non-object element (a string or number in an array) is skipped whole.
                    if matches!(level, Level::TopArray | Level::WrapperArray { .. })
                        && !matches!(other, b'}' | b']')
                    {
                        match self.scan_value(buf, p) {
                            Ok(end) if end > p => {
                                self.pos = end;
                                continue;
                            }
                            Ok(_) => {}
                            Err(Incomplete) if !eof => {
                                return ScanOutcome::NeedMore {
                                    keep_from: self.keep_from(p),
                                };
                            }
                            Err(Incomplete) => {}
                        }
                    }
                    self.recover(buf);
                }
            }
        }
    }

    /// After garbage: back to the top level at the next `{` that starts a line, or the end.
    fn recover(&mut self, buf: &[u8]) {
        self.stack.truncate(1);
        let from = self.pos + 1;
        let mut i = from;
        loop {
            match memchr::memchr(b'\n', buf.get(i..).unwrap_or(&[])) {
                Some(nl) => {
                    let line_start = i + nl + 1;
                    if let Some(p) = skip_ws(buf, line_start)
                        && matches!(buf[p], b'{' | b'[')
                    {
                        self.pos = p;
                        return;
                    }
                    i = line_start;
                }
                None => {
                    self.pos = buf.len();
                    return;
                }
            }
        }
    }

    /// The first byte that must be kept: the start of an open non-wrapper top-level object
    /// (it is emitted whole), else the given position.
    fn keep_from(&self, pos: usize) -> usize {
        for level in &self.stack {
            if let Level::Object {
                start,
                wrapper: false,
            } = level
            {
                return (*start).min(pos);
            }
        }
        pos
    }

    /// Finds the end (exclusive) of the JSON value starting at `p`.
    fn scan_value(&mut self, buf: &[u8], p: usize) -> Result<usize, Incomplete> {
        match buf.get(p) {
            None => Err(Incomplete),
            Some(b'"') => scan_string(buf, p),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut i = p;
                loop {
                    let j = find_structural(buf, i).ok_or(Incomplete)?;
                    match buf[j] {
                        b'"' => {
                            i = scan_string(buf, j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        _ => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return Ok(j + 1);
                            }
                        }
                    }
                    i = j + 1;
                }
            }
            Some(_) => {
                let rest = &buf[p..];
                match rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                {
                    Some(n) => Ok(p + n),
                    None => Err(Incomplete),
                }
            }
        }
    }

    /// Calls `visit(key, value_start)` for each key of the top-level object at `p`, until it
    /// returns true.
    fn visit_top_object_keys(
        &mut self,
        buf: &[u8],
        p: usize,
        visit: &mut dyn FnMut(&[u8], usize) -> bool,
    ) -> Result<(), Incomplete> {
        if buf.get(p) != Some(&b'{') {
            return Ok(());
        }
        let mut i = p + 1;
        loop {
            let q = skip_ws(buf, i).ok_or(Incomplete)?;
            match buf[q] {
                b'}' => return Ok(()),
                b',' => i = q + 1,
                b'"' => {
                    let key_end = scan_string(buf, q)?;
                    let colon = skip_ws(buf, key_end).ok_or(Incomplete)?;
                    if buf[colon] != b':' {
                        return Ok(());
                    }
                    let value = skip_ws(buf, colon + 1).ok_or(Incomplete)?;
                    if visit(&buf[q + 1..key_end - 1], value) {
                        return Ok(());
                    }
                    i = self.scan_value(buf, value)?;
                }
                _ => return Ok(()),
            }
        }
    }
}

fn skip_ws(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|n| from + n)
}

/// End (exclusive) of the string starting with the quote at `p`.
fn scan_string(buf: &[u8], p: usize) -> Result<usize, Incomplete> {
    let mut i = p + 1;
    loop {
        let rest = buf.get(i..).ok_or(Incomplete)?;
        let j = crate::json_scan::quote_or_backslash(rest).ok_or(Incomplete)?;
        if rest[j] == b'"' {
            return Ok(i + j + 1);
        }
        i += j + 2;
    }
}

/// The next `"`, `{`, `}`, `[` or `]` at or after `from`.
fn find_structural(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|b| matches!(b, b'"' | b'{' | b'}' | b'[' | b']'))
        .map(|n| from + n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
