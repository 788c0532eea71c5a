//! Where JSON values begin and end, without parsing them: the resumable structural scanner
//! that framing uses to cut arrays, wrapper objects and concatenated or pretty-printed values
//! into records (strings are skipped with SIMD search, so this costs little next to parsing),
//! and that sniffing uses to tell one-object-per-line input from the rest.

use crate::json_scan;

/// Keys whose array value holds the records of a wrapper object: CloudTrail and Azure
/// deliveries, Graph and REST pages, CloudWatch Logs payloads, `aws cloudtrail lookup-events`
/// pages (`Events`), CloudTrail Lake query results (`QueryResultRows`, whose rows are arrays),
/// Splunk's REST search results (`results`) and Cloud Logging `entries.list` pages (`entries`).
pub const WRAPPER_KEYS: [&[u8]; 9] = [
    b"Records",
    b"records",
    b"value",
    b"logEvents",
    b"items",
    b"Events",
    b"QueryResultRows",
    b"results",
    b"entries",
];

/// The key of an Elasticsearch/OpenSearch search response whose object holds the hits array
/// under the same key: `{"hits":{"total":..,"hits":[{"_source":{..}}]}}`.
const SEARCH_HITS_KEY: &[u8] = b"hits";

/// Why a scan stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// The input is fully framed.
    Finished,
    /// More bytes are needed; everything before `keep_from` is consumed.
    NeedMore {
        /// The first byte still needed.
        keep_from: usize,
    },
    /// Enough records for a chunk; everything before `keep_from` is consumed.
    ChunkFull {
        /// The first byte still needed.
        keep_from: usize,
    },
}

/// A scan that ran out of bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Incomplete;

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
pub struct BoundaryScanner {
    stack: Vec<Level>,
    pos: usize,
    /// Whether an array element ended and no comma followed it yet.
    after_element: bool,
    /// Array elements that followed the previous one without a comma (`[{..}{..}]`): read
    /// anyway, and counted so that the load says so.
    missing_separators: u64,
}

impl Default for BoundaryScanner {
    fn default() -> Self {
        BoundaryScanner {
            stack: vec![Level::Top],
            pos: 0,
            after_element: false,
            missing_separators: 0,
        }
    }
}

impl BoundaryScanner {
    /// Adjusts buffer indices after `n` bytes were dropped from the front.
    pub fn shift(&mut self, n: usize) {
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

    /// How many array elements followed the previous one without a separating comma.
    pub fn missing_separators(&self) -> u64 {
        self.missing_separators
    }

    fn level(&self) -> Level {
        self.stack.last().copied().unwrap_or(Level::Top)
    }

    /// Scans from the saved position, pushing record spans and garbage reports.
    pub fn run(
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
                    self.after_element = false;
                }
                (Level::TopArray | Level::WrapperArray { .. } | Level::Top, b',') => {
                    self.pos = p + 1;
                    self.after_element = false;
                }
                // Objects, and in a wrapper the rows of CloudTrail Lake results (arrays).
                (Level::TopArray | Level::WrapperArray { .. }, b'{')
                | (Level::WrapperArray { .. }, b'[') => match self.scan_value(buf, p) {
                    Ok(end) => {
                        if self.after_element {
                            self.missing_separators += 1;
                        }
                        self.after_element = true;
                        spans.push((p, end));
                        record_bytes += end - p;
                        self.pos = end;
                    }
                    Err(Incomplete) => {
                        return ScanOutcome::NeedMore {
                            keep_from: self.keep_from(p),
                        };
                    }
                },
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
                    // Inside a search response's hits object, `hits` is its wrapper array.
                    let search_hits = key == SEARCH_HITS_KEY && self.stack.len() > 2;
                    if (WRAPPER_KEYS.contains(&key) || search_hits) && buf[value] == b'[' {
                        self.stack.pop();
                        self.stack.push(Level::Object {
                            start,
                            wrapper: true,
                        });
                        self.stack.push(Level::WrapperArray {
                            object_start: start,
                        });
                        self.pos = value + 1;
                        self.after_element = false;
                        continue;
                    }
                    if key == SEARCH_HITS_KEY && buf[value] == b'{' {
                        match self.holds_hits_array(buf, value) {
                            Ok(true) => {
                                // A search response: its hits object is read like a wrapper
                                // object, and neither object is a record itself.
                                self.stack.pop();
                                self.stack.push(Level::Object {
                                    start,
                                    wrapper: true,
                                });
                                self.stack.push(Level::Object {
                                    start: value,
                                    wrapper: true,
                                });
                                self.pos = value + 1;
                                continue;
                            }
                            Ok(false) => {}
                            Err(Incomplete) => {
                                return ScanOutcome::NeedMore {
                                    keep_from: self.keep_from(p),
                                };
                            }
                        }
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

    /// Whether the object at `p` has a `hits` key holding an array (the hits object of a
    /// search response), reading only as far as that key.
    fn holds_hits_array(&mut self, buf: &[u8], p: usize) -> Result<bool, Incomplete> {
        let mut found = false;
        self.visit_top_object_keys(buf, p, &mut |key, value_start| {
            found = key == SEARCH_HITS_KEY && buf.get(value_start) == Some(&b'[');
            key == SEARCH_HITS_KEY
        })?;
        Ok(found)
    }

    /// After garbage: back to the top level at the next `{` that starts a line, or the end.
    fn recover(&mut self, buf: &[u8]) {
        self.stack.truncate(1);
        self.after_element = false;
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
    pub fn scan_value(&mut self, buf: &[u8], p: usize) -> Result<usize, Incomplete> {
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
    pub fn visit_top_object_keys(
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
        let j = json_scan::quote_or_backslash(rest).ok_or(Incomplete)?;
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
