//! The detail pane's record: the original bytes re-indented as JSON and cut into coloured
//! tokens, keeping the record's own key order. Not a validator: anything that is not JSON
//! (a CSV row) is shown as plain lines. Every token is escaped.
//!
//! Log content is written by whoever touched the cloud, so the printer is bounded: it keeps
//! the first [`SHOWN_BYTES`] of pretty output and says where it cut, it never recurses, and
//! nesting deeper than [`MAX_INDENT`] levels is indented as that level. Its memory is
//! proportional to what it keeps, whatever the record's size or depth.

use crate::text::escape_control;

/// Pretty output kept of one record (indentation included); the rest is cut with a notice.
/// 256 KiB is thousands of screens, and costs a few milliseconds.
pub const SHOWN_BYTES: usize = 256 * 1024;

/// Bytes of a record read for the pane: enough for [`SHOWN_BYTES`] of output even from a
/// record padded with whitespace, and a bound on what one selection reads.
pub const READ_BYTES: u32 = 16 * SHOWN_BYTES as u32;

/// Nesting levels shown by indentation; deeper levels keep this indentation, so a record of
/// 100,000 nested `[` does not cost 200,000 spaces a line.
pub const MAX_INDENT: usize = 32;

const INDENT: &str = "  ";

/// What a piece of a record is, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// An object key.
    Key,
    /// A string value.
    Str,
    /// A number.
    Num,
    /// `true`, `false`, `null`.
    Literal,
    /// Braces, brackets, commas, colons.
    Punct,
    /// Anything else.
    Plain,
}

/// Where a record was cut: how much of it the pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Bytes of the record that made it into the pretty output (about).
    pub shown: u64,
    /// Bytes of the whole record.
    pub total: u64,
}

/// A pretty-printed record: one text with the ends of its lines and of its coloured pieces
/// (three allocations in all, instead of one per token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrettyRecord {
    text: String,
    /// Byte offset in `text` where each line ends.
    line_ends: Vec<u32>,
    /// Byte offset in `text` where each piece ends, and its kind; pieces cover `text`.
    pieces: Vec<(u32, Token)>,
    cut: Option<Cut>,
}

impl PrettyRecord {
    /// Number of lines.
    pub fn len(&self) -> usize {
        self.line_ends.len()
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.line_ends.is_empty()
    }

    /// Bytes of pretty output kept (at most [`SHOWN_BYTES`]).
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Where the record was cut, if it was.
    pub fn cut(&self) -> Option<Cut> {
        self.cut
    }

    /// The pieces of line `i` (none past the end).
    pub fn line(&self, i: usize) -> Vec<(&str, Token)> {
        let Some(&end) = self.line_ends.get(i) else {
            return Vec::new();
        };
        let start = match i.checked_sub(1) {
            Some(prev) => self.line_ends.get(prev).copied().unwrap_or(0),
            None => 0,
        };
        let first = self.pieces.partition_point(|(e, _)| *e <= start);
        let mut from = start;
        let mut out = Vec::new();
        for &(to, token) in self.pieces.get(first..).unwrap_or(&[]) {
            if to > end {
                break;
            }
            if let Some(text) = self.text.get(from as usize..to as usize) {
                out.push((text, token));
            }
            from = to;
        }
        out
    }

    /// Every line as plain text (for tests and copying).
    pub fn plain_lines(&self) -> Vec<String> {
        (0..self.len())
            .map(|i| self.line(i).into_iter().map(|(s, _)| s).collect())
            .collect()
    }
}

/// Pretty-prints a whole record into at most [`SHOWN_BYTES`] of lines of tokens.
pub fn pretty(raw: &[u8]) -> PrettyRecord {
    pretty_prefix(raw, raw.len() as u64, SHOWN_BYTES)
}

/// Pretty-prints the first bytes of a record of `total` bytes (`raw` may be a prefix of it),
/// keeping at most `budget` bytes of output; says where it cut.
pub fn pretty_prefix(raw: &[u8], total: u64, budget: usize) -> PrettyRecord {
    let text = String::from_utf8_lossy(raw);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let skipped = text.len() - trimmed.len();
    let trimmed = trimmed.trim_end();
    let mut printer = Printer::new(budget);
    let consumed = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        print_json(trimmed, &mut printer)
    } else {
        print_lines(trimmed, &mut printer)
    };
    let mut record = printer.finish();
    let read_all = raw.len() as u64 >= total;
    if consumed < trimmed.len() || !read_all {
        record.cut = Some(Cut {
            shown: ((skipped + consumed) as u64).min(total),
            total,
        });
    }
    record
}

/// Lines of text that is not JSON; returns the bytes consumed.
fn print_lines(text: &str, printer: &mut Printer) -> usize {
    let mut consumed = 0;
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            printer.newline(0);
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !printer.push(&escaped_within(line, printer.room()), Token::Plain) {
            return consumed;
        }
        consumed += line.len() + 1;
    }
    text.len()
}

/// JSON re-indented; returns the bytes consumed. Iterative, with the open containers on a
/// stack that grows with the output, never with the input.
fn print_json(text: &str, printer: &mut Printer) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    // Open containers, innermost last: `{` or `[`.
    let mut stack: Vec<u8> = Vec::new();
    // Whether the next string is a key: inside an object, after `{` or `,`.
    let mut expect_key = false;
    while let Some(&c) = bytes.get(i) {
        if printer.is_full() {
            return i;
        }
        match c {
            b'{' | b'[' => {
                // An empty container stays on one line.
                let close = if c == b'{' { b'}' } else { b']' };
                let mut j = i + 1;
                while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
                    j += 1;
                }
                if bytes.get(j) == Some(&close) {
                    let pair = if c == b'{' { "{}" } else { "[]" };
                    printer.push(pair, Token::Punct);
                    i = j + 1;
                    expect_key = false;
                    continue;
                }
                printer.push(if c == b'{' { "{" } else { "[" }, Token::Punct);
                stack.push(c);
                expect_key = c == b'{';
                printer.newline(stack.len());
            }
            b'}' | b']' => {
                stack.pop();
                printer.newline(stack.len());
                printer.push(if c == b'}' { "}" } else { "]" }, Token::Punct);
                expect_key = false;
            }
            b',' => {
                printer.push(",", Token::Punct);
                printer.newline(stack.len());
                expect_key = stack.last() == Some(&b'{');
            }
            b':' => {
                printer.push(": ", Token::Punct);
                expect_key = false;
            }
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&b) = bytes.get(i) {
                    if b == b'"' {
                        break;
                    }
                    if b == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                // Quotes and backslashes are ASCII, so these are character boundaries
                // (a backslash before a multi-byte character is stepped over whole below).
                let end = (i + 1).min(bytes.len());
                let s = slice_at_boundaries(text, start, end);
                let kind = if expect_key { Token::Key } else { Token::Str };
                printer.push(&escaped_within(s, printer.room()), kind);
                i = end;
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            _ => {
                let start = i;
                while bytes.get(i + 1).is_some_and(|&b| {
                    !matches!(b, b',' | b'}' | b']' | b':' | b'"' | b'{' | b'[')
                        && !b.is_ascii_whitespace()
                }) {
                    i += 1;
                }
                let s = slice_at_boundaries(text, start, i + 1);
                let kind = match s {
                    "true" | "false" | "null" => Token::Literal,
                    s if s.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => Token::Num,
                    _ => Token::Plain,
                };
                printer.push(&escaped_within(s, printer.room()), kind);
            }
        }
        i += 1;
    }
    if printer.is_full() {
        i.min(bytes.len())
    } else {
        bytes.len()
    }
}

/// `text[start..end]`, widened to character boundaries (a backslash escaping a multi-byte
/// character leaves `end` inside it).
fn slice_at_boundaries(text: &str, mut start: usize, mut end: usize) -> &str {
    end = end.min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start = start.min(end);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    text.get(start..end).unwrap_or("")
}

/// `s` escaped, looking at no more of it than `room` bytes of output can show (escaping never
/// shortens text), so a 6 MB string costs no more than what is kept of it.
fn escaped_within(s: &str, room: usize) -> String {
    let mut end = s.len().min(room.saturating_add(1));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    escape_control(s.get(..end).unwrap_or("")).into_owned()
}

/// Builds a [`PrettyRecord`] until its budget is spent.
struct Printer {
    record: PrettyRecord,
    budget: usize,
    full: bool,
}

impl Printer {
    fn new(budget: usize) -> Printer {
        Printer {
            record: PrettyRecord::default(),
            budget,
            full: false,
        }
    }

    fn room(&self) -> usize {
        self.budget.saturating_sub(self.record.text.len())
    }

    fn is_full(&self) -> bool {
        self.full
    }

    /// Appends a piece, or as much of it as fits; false once the budget is spent.
    fn push(&mut self, text: &str, token: Token) -> bool {
        if self.full {
            return false;
        }
        let room = self.room();
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len() {
            self.full = true;
        }
        if end > 0 {
            self.record.text.push_str(text.get(..end).unwrap_or(""));
            let at = self.end();
            let line_start = self.record.line_ends.last().copied();
            match self.record.pieces.last_mut() {
                // A piece continuing one of the same kind on the same line merges with it.
                Some((last, kind)) if *kind == token && line_start != Some(*last) => {
                    *last = at;
                }
                _ => self.record.pieces.push((at, token)),
            }
        }
        !self.full
    }

    fn end(&self) -> u32 {
        // The budget keeps the text far below 4 GiB.
        u32::try_from(self.record.text.len()).unwrap_or(u32::MAX)
    }

    /// Ends the current line; the next is indented for `depth` (at most [`MAX_INDENT`]).
    fn newline(&mut self, depth: usize) {
        if self.full {
            return;
        }
        self.record.line_ends.push(self.end());
        for _ in 0..depth.min(MAX_INDENT) {
            if !self.push(INDENT, Token::Plain) {
                break;
            }
        }
    }

    fn finish(mut self) -> PrettyRecord {
        let end = self.end();
        // The last line has no newline after it; nothing printed at all is no line.
        if self.record.line_ends.last() != Some(&end) && !self.record.text.is_empty() {
            self.record.line_ends.push(end);
        }
        self.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(record: &PrettyRecord) -> Vec<String> {
        record.plain_lines()
    }

    #[test]
    fn json_is_indented_in_its_own_key_order() {
        let record = pretty(br#"{"z":1,"a":{"b":[true,null,"x"]},"e":[],"s":"a,b"}"#);
        assert_eq!(
            plain(&record),
            [
                "{",
                "  \"z\": 1,",
                "  \"a\": {",
                "    \"b\": [",
                "      true,",
                "      null,",
                "      \"x\"",
                "    ]",
                "  },",
                "  \"e\": [],",
                "  \"s\": \"a,b\"",
                "}",
            ]
        );
        assert_eq!(record.line(1)[1], ("\"z\"", Token::Key));
        assert_eq!(record.line(1)[3], ("1", Token::Num));
        assert_eq!(record.line(4)[1], ("true", Token::Literal));
        assert_eq!(record.line(6)[1], ("\"x\"", Token::Str));
        assert_eq!(record.cut(), None);
    }

    #[test]
    fn control_characters_inside_strings_are_escaped() {
        let record = pretty(b"{\"a\":\"\x1b]0;pwned\x07\"}");
        let all: String = plain(&record).concat();
        assert!(!all.chars().any(|c| c.is_control()), "{all:?}");
        assert!(all.contains("\\e]0;pwned\\u{7}"));
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        let record = pretty(br#"{"a":"say \"hi\", ok"}"#);
        assert_eq!(plain(&record)[1], r#"  "a": "say \"hi\", ok""#);
    }

    #[test]
    fn non_json_is_shown_as_lines() {
        let record = pretty(b"a,b,c\r\n");
        assert_eq!(plain(&record), ["a,b,c"]);
        let record = pretty(b"a\x1b[2J\r\nb");
        assert_eq!(plain(&record), ["a\\e[2J", "b"]);
    }

    #[test]
    fn a_backslash_before_a_multibyte_character_does_not_split_it() {
        let record = pretty("{\"a\":\"\\é\",\"b\":\"\\".as_bytes());
        assert_eq!(plain(&record)[1], "  \"a\": \"\\é\",");
        assert_eq!(plain(&record)[2], "  \"b\": \"\\");
    }

    #[test]
    fn a_big_record_is_cut_at_the_budget_and_says_so() {
        let item = r#"{"k":"value","n":12345},"#;
        let mut raw = String::from("[");
        while raw.len() < 6_000_000 {
            raw.push_str(item);
        }
        raw.push_str("1]");
        let record = pretty(raw.as_bytes());
        assert!(record.text_len() <= SHOWN_BYTES, "{}", record.text_len());
        assert!(record.text_len() > SHOWN_BYTES - 100);
        let cut = record.cut().expect("cut");
        assert_eq!(cut.total, raw.len() as u64);
        assert!(cut.shown > 50_000 && cut.shown < 300_000, "{cut:?}");
        // A 6 MB string is cut too, without escaping all of it.
        let raw = format!("{{\"a\":\"{}\"}}", "\u{1b}".repeat(6_000_000));
        let record = pretty(raw.as_bytes());
        assert!(record.text_len() <= SHOWN_BYTES);
        assert!(record.cut().is_some());
        // Not JSON either.
        let record = pretty("x".repeat(6_000_000).as_bytes());
        assert_eq!(record.text_len(), SHOWN_BYTES);
        assert!(record.cut().is_some());
    }

    #[test]
    fn deep_nesting_neither_overflows_nor_indents_without_bound() {
        let raw = "[".repeat(100_000) + &"]".repeat(100_000);
        let record = pretty(raw.as_bytes());
        assert!(record.text_len() <= SHOWN_BYTES);
        let widest = plain(&record).iter().map(String::len).max().unwrap_or(0);
        assert_eq!(widest, MAX_INDENT * INDENT.len() + 1);
        assert!(record.cut().is_some());
        // Unclosed, and objects.
        let raw = "{\"a\":".repeat(100_000);
        let record = pretty(raw.as_bytes());
        assert!(record.text_len() <= SHOWN_BYTES);
        assert!(record.len() > 1000);
    }

    #[test]
    fn a_prefix_of_a_longer_record_is_marked_cut() {
        let record = pretty_prefix(br#"{"a":1}"#, 10_000, SHOWN_BYTES);
        assert_eq!(record.len(), 3);
        assert_eq!(
            record.cut(),
            Some(Cut {
                shown: 7,
                total: 10_000
            })
        );
    }

    #[test]
    fn an_empty_record_has_no_lines() {
        assert!(pretty(b"").is_empty());
        assert!(pretty(b"  \n").is_empty());
        assert_eq!(plain(&pretty(b"{}")), ["{}"]);
    }
}
