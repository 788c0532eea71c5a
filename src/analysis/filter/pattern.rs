//! Values as patterns: wildcards, literal matching with case folding, and quoting values back.

use super::*;

/// One piece of a pattern value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A character matched as itself (ignoring case).
    Lit(char),
    /// `*`: any text.
    Star,
}

/// Reads pattern text: `*` wildcard, `\*` literal star, `\\` backslash, other `\` literal.
pub fn pattern_pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push(Piece::Star),
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '\\')) => {
                    out.push(Piece::Lit(next));
                    chars.next();
                }
                _ => out.push(Piece::Lit('\\')),
            },
            c => out.push(Piece::Lit(c)),
        }
    }
    out
}

/// The text a pattern without wildcards matches (escapes read), `None` when it has a `*`.
pub fn literal_of(pieces: &[Piece]) -> Option<String> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(c) => Some(*c),
            Piece::Star => None,
        })
        .collect()
}

pub(super) fn render_pieces(pieces: &[Piece]) -> String {
    let mut out = String::with_capacity(pieces.len());
    for piece in pieces {
        match piece {
            Piece::Star => out.push('*'),
            Piece::Lit('*') => out.push_str("\\*"),
            Piece::Lit('\\') => out.push_str("\\\\"),
            Piece::Lit(c) => out.push(*c),
        }
    }
    out
}

pub(super) fn canonical_pattern(text: &str) -> String {
    render_pieces(&pattern_pieces(text))
}

/// The regex body of a pattern (no flags, no anchors).
pub(super) fn pieces_regex(pieces: &[Piece]) -> String {
    let mut out = String::new();
    let mut literal = String::new();
    let mut last_star = false;
    for piece in pieces {
        match piece {
            Piece::Lit(c) => {
                literal.push(*c);
                last_star = false;
            }
            Piece::Star => {
                out.push_str(&regex::escape(&literal));
                literal.clear();
                if !last_star {
                    out.push_str(".*");
                }
                last_star = true;
            }
        }
    }
    out.push_str(&regex::escape(&literal));
    out
}

/// A test of a value, usable on dictionary values (in Rust) and string columns (in Polars).
pub(super) struct Matcher {
    pub(super) regex: Regex,
    pub(super) source: String,
}

impl Matcher {
    pub(super) fn new(source: String) -> Result<Self, String> {
        let regex = validate_regex(&source)?;
        Ok(Matcher { regex, source })
    }

    /// One matcher for the wildcard values of a list (`in @file`): only matched in Rust, so
    /// it may grow with the list (a list file is at most 64 MiB).
    pub(super) fn alternatives(patterns: &[String]) -> Result<Self, String> {
        let source = format!("(?is)^(?:{})$", patterns.join("|"));
        let regex = validate_regex_sized(&source, 256 << 20)?;
        Ok(Matcher { regex, source })
    }

    /// A pattern matching the whole value (`anchored`) or any part of it, ignoring case.
    /// Leading and trailing stars become missing anchors, so `*x*` is a plain substring
    /// search the regex engine can run with its literal prefilter.
    pub(super) fn pattern(pattern: &str, anchored: bool) -> Result<Self, String> {
        let pieces = pattern_pieces(pattern);
        let start = pieces.iter().take_while(|p| **p == Piece::Star).count();
        let end = pieces.len()
            - pieces
                .iter()
                .rev()
                .take_while(|p| **p == Piece::Star)
                .count();
        let body = pieces_regex(pieces.get(start..end.max(start)).unwrap_or_default());
        let open = if anchored && start == 0 { "^" } else { "" };
        let close = if anchored && end == pieces.len() {
            "$"
        } else {
            ""
        };
        Matcher::new(format!("(?is){open}{body}{close}"))
    }
}

/// A case-insensitive `*` pattern for string columns, several times faster than a `(?i)`
/// regex per row. One vectorizable pass classifies the value: without uppercase letters the
/// lowercase pattern is matched as is (SIMD `memmem`); with some, bytes are compared ignoring
/// ASCII case; values that are not ASCII go to the equivalent regex (Unicode case folding),
/// so results are always those of the regex.
pub(super) struct Glob {
    /// Whole-value equality (anchored, no star), lowercase.
    pub(super) exact: Option<Vec<u8>>,
    pub(super) prefix: Vec<u8>,
    pub(super) suffix: Vec<u8>,
    pub(super) middles: Vec<CaseFinder>,
    pub(super) fallback: Regex,
}

impl Glob {
    /// `None` when the pattern itself is not ASCII (the regex is used instead).
    pub(super) fn new(pattern: &str, anchored: bool) -> Result<Option<Glob>, String> {
        let fallback = Matcher::pattern(pattern, anchored)?.regex;
        let pieces = pattern_pieces(pattern);
        if pieces
            .iter()
            .any(|p| matches!(p, Piece::Lit(c) if !c.is_ascii()))
        {
            return Ok(None);
        }
        let mut segments: Vec<Vec<u8>> = vec![Vec::new()];
        for piece in &pieces {
            match piece {
                Piece::Star => segments.push(Vec::new()),
                Piece::Lit(c) => {
                    if let Some(last) = segments.last_mut() {
                        last.push(c.to_ascii_lowercase() as u8);
                    }
                }
            }
        }
        let mut glob = Glob {
            exact: None,
            prefix: Vec::new(),
            suffix: Vec::new(),
            middles: Vec::new(),
            fallback,
        };
        if anchored && segments.len() == 1 {
            glob.exact = segments.pop();
            return Ok(Some(glob));
        }
        if anchored {
            glob.prefix = segments.remove(0);
            glob.suffix = segments.pop().unwrap_or_default();
        }
        glob.middles = segments
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(CaseFinder::new)
            .collect();
        Ok(Some(glob))
    }

    pub(super) fn is_match(&self, value: &str) -> bool {
        let hay = value.as_bytes();
        if let Some(exact) = &self.exact {
            if hay.len() == exact.len() && hay.eq_ignore_ascii_case(exact) {
                return true;
            }
            return !value.is_ascii() && self.fallback.is_match(value);
        }
        let flags = classify(hay);
        if flags & 0x80 != 0 {
            return self.fallback.is_match(value);
        }
        let fold = flags != 0;
        let same = |a: &[u8], b: &[u8]| {
            if fold {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let Some(hi) = hay.len().checked_sub(self.suffix.len()) else {
            return false;
        };
        let mut lo = self.prefix.len();
        // (Empty prefixes and suffixes are skipped: comparing with an empty Vec is oddly slow.)
        if hi < lo
            || (lo > 0 && !hay.get(..lo).is_some_and(|p| same(p, &self.prefix)))
            || (!self.suffix.is_empty() && !hay.get(hi..).is_some_and(|s| same(s, &self.suffix)))
        {
            return false;
        }
        for finder in &self.middles {
            let found = hay.get(lo..hi).and_then(|window| {
                if fold {
                    finder.find_ignoring_case(window)
                } else {
                    finder.exact.find(window)
                }
            });
            match found {
                Some(i) => lo += i + finder.needle.len(),
                None => return false,
            }
        }
        true
    }
}

/// Bit 7: `hay` is not ASCII; bit 0: it has an uppercase ASCII letter. (Kept out of line:
/// inlined into [`Glob::is_match`] the loop is not vectorized and runs 2-3 times slower.)
#[inline(never)]
pub(super) fn classify(hay: &[u8]) -> u8 {
    hay.iter().fold(0u8, |acc, &b| {
        acc | (b & 0x80) | u8::from(b.wrapping_sub(b'A') < 26)
    })
}

/// Finds a lowercase ASCII needle in ASCII text ignoring case: candidates for the needle's
/// rarest byte (either case) come from `memchr2`, then the window is compared.
pub(super) struct CaseFinder {
    pub(super) needle: Vec<u8>,
    /// The needle as is, for text without uppercase letters.
    pub(super) exact: memchr::memmem::Finder<'static>,
    pub(super) anchor: usize,
    pub(super) lower: u8,
    pub(super) upper: u8,
}

impl CaseFinder {
    pub(super) fn new(needle: Vec<u8>) -> Self {
        // Higher is rarer in identifiers, paths and ARNs.
        let rarity = |b: u8| match b {
            b'a'..=b'z' => b"etaoinsrhldcumfpgwybvkxjqz"
                .iter()
                .position(|c| *c == b)
                .unwrap_or(0),
            b'0'..=b'9' => 10,
            b'/' | b':' | b'-' | b'.' | b'_' | b' ' => 0,
            _ => 30,
        };
        let anchor = needle
            .iter()
            .enumerate()
            .max_by_key(|(i, b)| (rarity(**b), usize::MAX - i))
            .map_or(0, |(i, _)| i);
        let lower = needle.get(anchor).copied().unwrap_or(0);
        CaseFinder {
            exact: memchr::memmem::Finder::new(&needle).into_owned(),
            anchor,
            lower,
            upper: lower.to_ascii_uppercase(),
            needle,
        }
    }

    pub(super) fn find_ignoring_case(&self, hay: &[u8]) -> Option<usize> {
        let last = hay.len().checked_sub(self.needle.len())?;
        let region = hay.get(self.anchor..=last + self.anchor)?;
        let mut offset = 0;
        loop {
            let rest = region.get(offset..)?;
            let i = if self.lower == self.upper {
                memchr::memchr(self.lower, rest)
            } else {
                memchr::memchr2(self.lower, self.upper, rest)
            }?;
            let start = offset + i;
            if hay
                .get(start..start + self.needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(&self.needle))
            {
                return Some(start);
            }
            offset = start + 1;
        }
    }
}

/// A test of one value of a string column.
pub(super) type RowTest = dyn Fn(&str, &mut Vec<u8>) -> bool + Send + Sync;

/// Applies `test` to every value of a string column in one vectorized pass (nulls: false).
pub(super) fn string_kernel(column: &str, label: String, test: Arc<RowTest>) -> Expr {
    col(column).map_with_fmt_str(
        move |c: Column| {
            let values = c.str()?;
            let mut buf = Vec::new();
            let out: BooleanChunked = if values.null_count() == 0 {
                values
                    .downcast_iter()
                    .flat_map(|array| array.values_iter())
                    .map(|s| test(s, &mut buf))
                    .collect()
            } else {
                values
                    .iter()
                    .map(|v| v.is_some_and(|s| test(s, &mut buf)))
                    .collect()
            };
            Ok(out.with_name(c.name().clone()).into_column())
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::Boolean)),
        label,
    )
}

/// The test of a `*` pattern on a string column.
pub(super) fn string_pattern(column: &str, pattern: &str, anchored: bool) -> Result<Expr, String> {
    match Glob::new(pattern, anchored)? {
        Some(glob) => Ok(string_kernel(
            column,
            format!("filter {column}:{pattern}"),
            Arc::new(move |s: &str, _: &mut Vec<u8>| glob.is_match(s)),
        )),
        None => {
            let matcher = Matcher::pattern(pattern, anchored)?;
            Ok(col(column)
                .str()
                .contains(lit(matcher.source), true)
                .fill_null(lit(false)))
        }
    }
}

/// Writes a value so the lexer reads it back unchanged: bare when it can be, else quoted
/// with `"` and the backslashes that would be misread escaped.
pub(super) fn render_value(s: &str, in_list: bool) -> String {
    let needs_quotes = s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '(' | ')') || (in_list && c == ','));
    if needs_quotes {
        quote_string(s)
    } else {
        s.to_string()
    }
}

pub(super) fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' if matches!(chars.peek(), None | Some('\\' | '"')) => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The pattern matching exactly `value` (stars and backslashes escaped).
pub(super) fn literal_pattern(value: &str) -> String {
    let pieces: Vec<Piece> = value.chars().map(Piece::Lit).collect();
    render_pieces(&pieces)
}
