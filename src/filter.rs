//! The filter language of the filter bar and of `--filter`: one line, parsed into a
//! [`FilterExpr`] (with character spans so errors can be underlined) and compiled into one
//! Polars [`Expr`]. A filter is never interpreted row by row.
//!
//! # Terms
//!
//! | Written | Matches |
//! |---|---|
//! | `actor:jdoe` | the column equals the value, ignoring case |
//! | `actor:*admin*`, `action:Attach*Policy` | `*` stands for any text (whole value, ignoring case) |
//! | `action~"^(Attach\|Put).*Policy$"` | a regex found anywhere in the value (case-sensitive unless `(?i)`) |
//! | `privileged`, `mfa:false`, `read_only:unknown` | boolean columns (`true`/`false`/`unknown`; also `yes`/`no`/`null`) |
//! | `after:2024-03-01`, `before:"2024-03-02 12:00"` | time `>=` / `<` the instant |
//! | `time:2024-03-01`, `time:"2024-03-01 12:00"` | the day, minute or second the value names |
//! | `last:24h`, `last:30m`, `last:7d`, `last:1h30m` | within that long of the newest event (`s m h d w`; a day is 24 h) |
//! | `ip:10.0.0.0/8`, `ip:2001:db8::/32`, `ip:203.0.113.7` | `src_ip` inside the CIDR (values that are not IPs never match) |
//! | `actor in @oncall.txt`, `ip in @vpn.txt`, `actor in (alice, "bob smith")` | any value of a list |
//! | `admin`, `"access denied"` | free text: case-insensitive substring of actor, action, resource or error |
//!
//! Terms separated by spaces must all match (`and`, `&&` may be written); `or` (`OR`, `||`)
//! matches either side; `not`, `-` or `!` negate; parentheses group. `not` binds tighter than
//! `and`, which binds tighter than `or`. Keywords are case-insensitive; quote them (`"or"`) to
//! search for the word.
//!
//! # Fields
//!
//! | Field (aliases) | Column type | Takes |
//! |---|---|---|
//! | `provider`, `log_type`, `actor` (`user`, `who`), `actor_type` (`type`), `action`, `service`, `src_ip`, `user_agent` (`ua`), `location` (`region`), `outcome`, `error`, `account`, `source` | categorical | `:` value, `~` regex, `in` list |
//! | `event_id`, `resource`, `session`, `details` | string | `:` value, `~` regex, `in` list |
//! | `mfa`, `read_only`, `privileged` | boolean | bare name, `:true`, `:false`, `:unknown` |
//! | `time` | time | `:` date or time |
//! | `after`, `before`, `last` | time | `:` date, time or `today`/`yesterday`; `last:` a duration |
//! | `ip` | `src_ip` as an address | `:` CIDR or address, `in` list of CIDRs |
//!
//! Field names are case-insensitive.
//!
//! # Grammar
//!
//! ```text
//! filter   = [ or_expr ]                              (blank: everything)
//! or_expr  = and_expr { ("or" | "||") and_expr }
//! and_expr = unary { [ "and" | "&&" ] unary }
//! unary    = ("not" | "-" | "!") unary | "(" or_expr ")" | term
//! term     = FIELD (":" | "~") VALUE
//!          | FIELD "in" ( "@" VALUE | "(" VALUE { [","] VALUE } ")" )
//!          | BOOL_FIELD
//!          | VALUE                                    (free text)
//! VALUE    = '"' { char | '\"' | '\\' } '"'           (other backslashes stay as written)
//!          | bare                                     (up to a space or an unmatched ')')
//! ```
//!
//! # Values
//!
//! In `field:VALUE`, list items and free text, `*` is a wildcard, `\*` a literal star and
//! `\\` a backslash; any other backslash is literal (`C:\Users`). Inside double quotes,
//! `\"` is a quote and `\\` a backslash first, so `"a \*"` is `a *` with a literal star.
//! [`quote_value`] writes any value so it reads back as an exact match. Regex values
//! (`field~`) are passed to the regex engine as written (after unquoting).
//!
//! List files hold one value (or CIDR for `ip`) per line; blank lines and comments (`#` at
//! the start of a line or after a space) are ignored. Paths are relative to
//! [`FilterContext::base_dir`].
//!
//! # Semantics
//!
//! Every term is true or false, never unknown: a missing value (null) matches no positive
//! term, so `-actor:jdoe` keeps events without an actor, `-actor:*` selects them, and
//! `!read_only` keeps events whose `read_only` is unknown. Dates and times without an offset
//! are read in [`FilterContext::tz`]; `last:`, `today` and `yesterday` are relative to
//! [`FilterContext::newest`] (with no newest event they match nothing).
//!
//! Terms on categorical columns (values, wildcards, regexes, free text, CIDRs, lists) are
//! tested once per distinct value of the process-wide dictionary and compile to a test on the
//! physical ids: compile again after new values were loaded.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use polars::prelude::*;
use regex::Regex;

use crate::schema::{
    ACTION, ACTOR, ACTOR_TYPE, BOOL_COLUMNS, CATEGORICAL_COLUMNS, Dictionaries, ERROR,
    EVENT_COLUMNS, LOCATION, RESOURCE, SOURCE, SRC_IP, STRING_COLUMNS, TIME, USER_AGENT,
};
use crate::text::escape_control;

#[cfg(test)]
mod tests;

/// Pseudo-field: time at or after an instant.
pub const AFTER: &str = "after";
/// Pseudo-field: time strictly before an instant.
pub const BEFORE: &str = "before";
/// Pseudo-field: time within a duration of the newest event.
pub const LAST: &str = "last";
/// Pseudo-field: `src_ip` as an address, matched against CIDRs.
pub const IP: &str = "ip";

/// Alternative names for fields.
const ALIASES: [(&str, &str); 5] = [
    ("user", ACTOR),
    ("who", ACTOR),
    ("type", ACTOR_TYPE),
    ("ua", USER_AGENT),
    ("region", LOCATION),
];

/// Columns searched by free text.
const TEXT_COLUMNS: [&str; 4] = [ACTOR, ACTION, RESOURCE, ERROR];

/// Lists up to this long are matched value by value on string columns.
const SHORT_LIST: usize = 16;

/// Deepest nesting of parentheses and negations accepted.
const MAX_DEPTH: usize = 100;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// What compiling a filter needs to know beyond the filter.
#[derive(Debug, Clone)]
pub struct FilterContext {
    /// Time zone of dates and times written without an offset (the display time zone).
    pub tz: jiff::tz::TimeZone,
    /// Time of the newest event (UTC microseconds), the reference of `last:`, `today`,
    /// `yesterday`.
    pub newest: Option<i64>,
    /// Directory `@list` paths are relative to.
    pub base_dir: PathBuf,
}

impl Default for FilterContext {
    fn default() -> Self {
        FilterContext {
            tz: jiff::tz::TimeZone::UTC,
            newest: None,
            base_dir: PathBuf::from("."),
        }
    }
}

impl FilterContext {
    /// A context for filtering `frame`: its newest event time, lists relative to the
    /// current directory.
    pub fn for_frame(frame: &DataFrame, tz: jiff::tz::TimeZone) -> Self {
        let newest = frame.column(TIME).ok().and_then(|c| {
            let physical = c.as_materialized_series().to_physical_repr();
            physical.i64().ok().and_then(|t| t.max())
        });
        FilterContext {
            tz,
            newest,
            ..FilterContext::default()
        }
    }
}

/// How a field term compares values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `field:value`: whole value, ignoring case, `*` wildcards.
    Match,
    /// `field~regex`: a regex found anywhere in the value.
    Regex,
}

/// The kind of a time term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// `after:T`: time >= T.
    After,
    /// `before:T`: time < T.
    Before,
    /// `time:T`: within the day, hour, minute or second T names.
    During,
    /// `last:D`: time >= newest - D.
    Last,
}

/// Where the values of an `in` list come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSource {
    /// `@path`: a file, one value per line.
    File(PathBuf),
    /// `(a, b, ...)`: the values written (patterns, or CIDRs for `ip`).
    Values(Vec<String>),
}

/// A parsed filter. Spans are character ranges of the input; equality ignores them.
///
/// Pattern values (`Field` with [`MatchOp::Match`], `Text`, list values) are written with the
/// escapes of the language: `*` wildcard, `\*` literal star, `\\` backslash.
#[derive(Debug, Clone)]
pub enum FilterExpr {
    /// Matches everything (the blank filter).
    All,
    /// All of these.
    And(Vec<FilterExpr>),
    /// Any of these.
    Or(Vec<FilterExpr>),
    /// Not this.
    Not(Box<FilterExpr>),
    /// A value or regex test on a categorical or string column.
    Field {
        /// The column (a [`crate::schema`] constant).
        field: &'static str,
        /// How the value is compared.
        op: MatchOp,
        /// The pattern or regex.
        value: String,
        /// Where the term is.
        span: Range<usize>,
    },
    /// Free text searched in actor, action, resource and error.
    Text {
        /// The pattern.
        text: String,
        /// Where the term is.
        span: Range<usize>,
    },
    /// A time bound.
    Time {
        /// Which bound.
        bound: TimeBound,
        /// The date, time or duration as written (unquoted).
        value: String,
        /// Where the term is.
        span: Range<usize>,
    },
    /// `src_ip` inside a CIDR.
    Cidr {
        /// The CIDR or address as written.
        cidr: String,
        /// Where the term is.
        span: Range<usize>,
    },
    /// The column (or [`IP`] for CIDRs on `src_ip`) has one of the list's values.
    InList {
        /// The column, or [`IP`].
        field: &'static str,
        /// The values.
        list: ListSource,
        /// Where the term is.
        span: Range<usize>,
    },
    /// A boolean column is true, false or unknown (`None`).
    Bool {
        /// The column.
        field: &'static str,
        /// The value tested; `None` tests for null.
        value: Option<bool>,
        /// Where the term is.
        span: Range<usize>,
    },
}

impl PartialEq for FilterExpr {
    fn eq(&self, other: &Self) -> bool {
        use FilterExpr as F;
        match (self, other) {
            (F::All, F::All) => true,
            (F::And(a), F::And(b)) | (F::Or(a), F::Or(b)) => a == b,
            (F::Not(a), F::Not(b)) => a == b,
            (
                F::Field {
                    field: f1,
                    op: o1,
                    value: v1,
                    ..
                },
                F::Field {
                    field: f2,
                    op: o2,
                    value: v2,
                    ..
                },
            ) => f1 == f2 && o1 == o2 && v1 == v2,
            (F::Text { text: a, .. }, F::Text { text: b, .. }) => a == b,
            (
                F::Time {
                    bound: b1,
                    value: v1,
                    ..
                },
                F::Time {
                    bound: b2,
                    value: v2,
                    ..
                },
            ) => b1 == b2 && v1 == v2,
            (F::Cidr { cidr: a, .. }, F::Cidr { cidr: b, .. }) => a == b,
            (
                F::InList {
                    field: f1,
                    list: l1,
                    ..
                },
                F::InList {
                    field: f2,
                    list: l2,
                    ..
                },
            ) => f1 == f2 && l1 == l2,
            (
                F::Bool {
                    field: f1,
                    value: v1,
                    ..
                },
                F::Bool {
                    field: f2,
                    value: v2,
                    ..
                },
            ) => f1 == f2 && v1 == v2,
            _ => false,
        }
    }
}

impl Eq for FilterExpr {}

/// An invalid filter: what was expected, and where (character columns of the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// What is wrong, for a person.
    pub message: String,
    /// The characters to underline (0-based, end exclusive).
    pub span: Range<usize>,
}

impl FilterError {
    fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        FilterError {
            message: message.into(),
            span,
        }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.span.start + 1, self.message)
    }
}

impl std::error::Error for FilterError {}

impl From<FilterError> for crate::Error {
    fn from(e: FilterError) -> Self {
        crate::Error::Invalid(format!("invalid filter: {e}"))
    }
}

/// Every field name, for completion and help (aliases are accepted but not listed).
pub fn field_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        EVENT_COLUMNS
            .iter()
            .copied()
            .chain([SOURCE, AFTER, BEFORE, LAST, IP])
            .collect()
    })
}

/// Parses and compiles a filter.
pub fn compile_str(input: &str, ctx: &FilterContext) -> Result<Expr, FilterError> {
    compile(&parse(input)?, ctx)
}

// ---------------------------------------------------------------------------------------
// Fields

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Category,
    Text,
    Bool,
    Time,
    After,
    Before,
    Last,
    Ip,
}

/// The canonical name and kind of a field name or alias (case-insensitive).
fn lookup(name: &str) -> Option<(&'static str, Kind)> {
    let canonical = field_names()
        .iter()
        .chain(ALIASES.iter().map(|(alias, _)| alias))
        .find(|f| f.eq_ignore_ascii_case(name))?;
    let canonical = ALIASES
        .iter()
        .find(|(alias, _)| alias == canonical)
        .map_or(*canonical, |(_, field)| *field);
    kind_of(canonical).map(|kind| (canonical, kind))
}

fn kind_of(field: &str) -> Option<Kind> {
    Some(match field {
        TIME => Kind::Time,
        AFTER => Kind::After,
        BEFORE => Kind::Before,
        LAST => Kind::Last,
        IP => Kind::Ip,
        SOURCE => Kind::Category,
        f if CATEGORICAL_COLUMNS.contains(&f) => Kind::Category,
        f if STRING_COLUMNS.contains(&f) => Kind::Text,
        f if BOOL_COLUMNS.contains(&f) => Kind::Bool,
        _ => return None,
    })
}

fn unknown_field(name: &str, span: Range<usize>) -> FilterError {
    let lower = name.to_ascii_lowercase();
    let suggestion = field_names()
        .iter()
        .chain(ALIASES.iter().map(|(alias, _)| alias))
        .map(|f| (edit_distance(&lower, f), *f))
        .filter(|(d, _)| *d <= 2 && *d < lower.chars().count())
        .min_by_key(|(d, _)| *d);
    let hint = match suggestion {
        Some((_, f)) => format!("did you mean '{f}'?"),
        None => "quote the word to search for it as text".to_string(),
    };
    FilterError::new(
        format!(
            "unknown field '{}' (fields: {}; {hint})",
            escape_control(name),
            field_names().join(", ")
        ),
        span,
    )
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
struct Value {
    /// The characters as written, without the quotes.
    raw: String,
    quoted: bool,
    span: Range<usize>,
}

impl Value {
    /// The value with quoting undone (`\"` and `\\` inside quotes).
    fn text(&self) -> String {
        if self.quoted {
            unescape(&self.raw)
        } else {
            self.raw.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    In,
    /// `name:value` or `name~value`.
    Field {
        name: String,
        name_span: Range<usize>,
        op: char,
        value: Value,
    },
    /// A bare word or a quoted phrase.
    Word(Value),
    /// `@path` after `in`.
    File(Value),
    /// `(a, b)` after `in`.
    Items(Vec<Value>),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Range<usize>,
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
}

fn keyword(word: &str) -> Option<Tok> {
    match word.to_ascii_lowercase().as_str() {
        "or" => Some(Tok::Or),
        "and" => Some(Tok::And),
        "not" => Some(Tok::Not),
        "in" => Some(Tok::In),
        _ => None,
    }
}

fn lex(chars: &[char]) -> Result<Vec<Token>, FilterError> {
    let mut lx = Lexer { chars, pos: 0 };
    let mut out = Vec::new();
    loop {
        lx.skip_ws();
        let start = lx.pos;
        let Some(c) = lx.peek() else { break };
        let tok = match c {
            '(' => {
                lx.pos += 1;
                Tok::LParen
            }
            ')' => {
                lx.pos += 1;
                Tok::RParen
            }
            '"' => Tok::Word(lx.quoted(false)?),
            '|' if lx.peek_at(1) == Some('|') => {
                lx.pos += 2;
                Tok::Or
            }
            '&' if lx.peek_at(1) == Some('&') => {
                lx.pos += 2;
                Tok::And
            }
            '!' | '-' => {
                lx.pos += 1;
                Tok::Not
            }
            _ => lx.word_or_field()?,
        };
        let is_in = tok == Tok::In;
        out.push(Token {
            tok,
            span: start..lx.pos,
        });
        if is_in && let Some(list) = lx.list()? {
            out.push(list);
        }
    }
    Ok(out)
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A double-quoted value; the cursor is on the opening quote.
    fn quoted(&mut self, in_list: bool) -> Result<Value, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => return Err(FilterError::new("unclosed quote", start..self.chars.len())),
                Some('"') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    raw.push('\\');
                    self.pos += 1;
                    if let Some(c) = self.peek() {
                        raw.push(c);
                        self.pos += 1;
                    }
                }
                Some(c) => {
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
        match self.peek() {
            None | Some(')') => {}
            Some(c) if c.is_whitespace() || (in_list && c == ',') => {}
            Some(_) => {
                return Err(FilterError::new(
                    "expected a space or ')' after the closing quote",
                    self.pos..self.pos + 1,
                ));
            }
        }
        Ok(Value {
            raw,
            quoted: true,
            span: start..self.pos,
        })
    }

    /// A bare value: up to whitespace or an unmatched `)` (in a list: up to `,` or `)`).
    /// A backslash keeps the next character in the value.
    fn unquoted(&mut self, in_list: bool) -> Value {
        let start = self.pos;
        let mut depth = 0usize;
        let mut raw = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            match c {
                ')' if depth == 0 || in_list => break,
                ',' if in_list => break,
                '(' if !in_list => depth += 1,
                ')' => depth -= 1,
                '\\' => {
                    if let Some(next) = self.peek_at(1).filter(|n| !n.is_whitespace()) {
                        raw.push('\\');
                        raw.push(next);
                        self.pos += 2;
                        continue;
                    }
                }
                _ => {}
            }
            raw.push(c);
            self.pos += 1;
        }
        Value {
            raw,
            quoted: false,
            span: start..self.pos,
        }
    }

    /// `name:value`, `name~value`, a keyword or a bare word.
    fn word_or_field(&mut self) -> Result<Tok, FilterError> {
        let start = self.pos;
        let mut end = start;
        while self
            .chars
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            end += 1;
        }
        let ident: String = self
            .chars
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .collect();
        if ident.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            match self.chars.get(end) {
                Some(&op @ (':' | '~')) => {
                    self.pos = end + 1;
                    let value = if self.peek() == Some('"') {
                        self.quoted(false)?
                    } else {
                        self.unquoted(false)
                    };
                    return Ok(Tok::Field {
                        name: ident,
                        name_span: start..end,
                        op,
                        value,
                    });
                }
                Some('(') => {
                    if let Some(k) = keyword(&ident) {
                        self.pos = end;
                        return Ok(k);
                    }
                }
                _ => self.foreign_operator(&ident, start, end)?,
            }
        }
        let value = self.unquoted(false);
        Ok(keyword(&value.raw).unwrap_or(Tok::Word(value)))
    }

    /// Rejects operators of other query languages after a field name (`actor=x`, `actor!=x`,
    /// `time>x`), which would otherwise be searched as text and silently match nothing.
    fn foreign_operator(&self, ident: &str, start: usize, end: usize) -> Result<(), FilterError> {
        let Some((field, kind)) = lookup(ident) else {
            return Ok(());
        };
        let next = |n: usize| self.chars.get(end + n).copied();
        let (len, hint) = match (next(0), next(1)) {
            (Some('!'), Some(':' | '=')) => (2, format!("use -{ident}:VALUE to exclude a value")),
            (Some('!'), Some('~')) => (2, format!("use -{ident}~REGEX to exclude a regex")),
            (Some('='), Some('=')) => (2, format!("use {ident}:VALUE")),
            (Some('='), _) => (1, format!("use {ident}:VALUE")),
            (Some(op @ ('<' | '>')), eq) => {
                let len = if eq == Some('=') { 2 } else { 1 };
                let hint = match (kind, op) {
                    (Kind::Time | Kind::After | Kind::Before, '>') => "use after:TIME".to_string(),
                    (Kind::Time | Kind::After | Kind::Before, _) => "use before:TIME".to_string(),
                    _ => format!("'{field}' cannot be compared with '{op}'"),
                };
                (len, hint)
            }
            _ => return Ok(()),
        };
        let op: String = self
            .chars
            .get(end..end + len)
            .unwrap_or_default()
            .iter()
            .collect();
        Err(FilterError::new(
            format!("unexpected '{op}' after '{ident}' ({hint})"),
            start..end + len,
        ))
    }

    /// The list after `in`: `@path` or `(values)`.
    fn list(&mut self) -> Result<Option<Token>, FilterError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                let value = if self.peek() == Some('"') {
                    self.quoted(false)?
                } else {
                    self.unquoted(false)
                };
                Ok(Some(Token {
                    tok: Tok::File(value),
                    span: start..self.pos,
                }))
            }
            Some('(') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    while self.peek().is_some_and(|c| c.is_whitespace() || c == ',') {
                        self.pos += 1;
                    }
                    match self.peek() {
                        None => {
                            return Err(FilterError::new(
                                "unclosed list: expected ')'",
                                start..self.chars.len(),
                            ));
                        }
                        Some(')') => {
                            self.pos += 1;
                            break;
                        }
                        Some('"') => items.push(self.quoted(true)?),
                        Some(_) => items.push(self.unquoted(true)),
                    }
                }
                Ok(Some(Token {
                    tok: Tok::Items(items),
                    span: start..self.pos,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// Undoes the escapes of a quoted value: `\"` and `\\`; other backslashes stay.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next @ ('"' | '\\')) = chars.peek()
        {
            out.push(next);
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Parser

/// Parses a filter. Blank input is [`FilterExpr::All`].
pub fn parse(input: &str) -> Result<FilterExpr, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let toks = lex(&chars)?;
    if toks.is_empty() {
        return Ok(FilterExpr::All);
    }
    let mut parser = Parser {
        toks,
        pos: 0,
        chars: &chars,
    };
    let expr = parser.or(0)?;
    match parser.next() {
        None => Ok(expr),
        Some(t) => Err(match t.tok {
            Tok::RParen => {
                FilterError::new("unbalanced parenthesis: ')' has no matching '('", t.span)
            }
            _ => FilterError::new("unexpected text", t.span),
        }),
    }
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    chars: &'a [char],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn source(&self, span: &Range<usize>) -> String {
        self.chars
            .get(span.clone())
            .unwrap_or_default()
            .iter()
            .collect()
    }

    fn operand_missing(&self) -> bool {
        matches!(self.peek(), None | Some(Tok::Or | Tok::And | Tok::RParen))
    }

    fn expected_after(&self, t: &Token) -> FilterError {
        FilterError::new(
            format!("expected a term after '{}'", self.source(&t.span)),
            t.span.clone(),
        )
    }

    fn or(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        let mut items = vec![self.and(depth)?];
        while let Some(Tok::Or) = self.peek() {
            let Some(t) = self.next() else { break };
            if self.operand_missing() {
                return Err(self.expected_after(&t));
            }
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(FilterExpr::All)
        } else {
            FilterExpr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        let mut items = vec![self.unary(depth)?];
        loop {
            match self.peek() {
                None | Some(Tok::Or | Tok::RParen) => break,
                Some(Tok::And) => {
                    let Some(t) = self.next() else { break };
                    if self.operand_missing() {
                        return Err(self.expected_after(&t));
                    }
                }
                Some(_) => {}
            }
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(FilterExpr::All)
        } else {
            FilterExpr::And(items)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<FilterExpr, FilterError> {
        let end = self.chars.len();
        let Some(t) = self.next() else {
            return Err(FilterError::new("expected a term", end..end));
        };
        if depth > MAX_DEPTH {
            return Err(FilterError::new(
                format!("filter nested too deeply (at most {MAX_DEPTH} levels)"),
                t.span,
            ));
        }
        match t.tok {
            Tok::Not => {
                if self.operand_missing() {
                    return Err(self.expected_after(&t));
                }
                Ok(FilterExpr::Not(Box::new(self.unary(depth + 1)?)))
            }
            Tok::LParen => {
                match self.peek() {
                    Some(Tok::RParen) => {
                        let close = self.pos;
                        let end = self.toks.get(close).map_or(t.span.end, |r| r.span.end);
                        return Err(FilterError::new("empty parentheses", t.span.start..end));
                    }
                    None => return Err(unclosed(t.span)),
                    _ => {}
                }
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => Ok(inner),
                    _ => Err(unclosed(t.span)),
                }
            }
            Tok::RParen => Err(FilterError::new(
                "unbalanced parenthesis: ')' has no matching '('",
                t.span,
            )),
            Tok::Or | Tok::And => Err(FilterError::new(
                format!("expected a term before '{}'", self.source(&t.span)),
                t.span,
            )),
            Tok::In => Err(FilterError::new(
                "'in' needs a field before it and a list after it (actor in @oncall.txt, \
                 actor in (alice, bob)); quote \"in\" to search for the word",
                t.span,
            )),
            Tok::File(_) | Tok::Items(_) => Err(FilterError::new("unexpected list", t.span)),
            Tok::Field {
                name,
                name_span,
                op,
                value,
            } => field_term(&name, name_span, op, &value, t.span),
            Tok::Word(value) => {
                if !value.quoted && self.peek() == Some(&Tok::In) {
                    self.list_term(&value)
                } else {
                    word_term(&value)
                }
            }
        }
    }

    /// `FIELD in LIST`; the field word is consumed, `in` is next.
    fn list_term(&mut self, word: &Value) -> Result<FilterExpr, FilterError> {
        let Some(in_tok) = self.next() else {
            return Err(FilterError::new("expected 'in'", word.span.clone()));
        };
        let (field, kind) =
            lookup(&word.raw).ok_or_else(|| unknown_field(&word.raw, word.span.clone()))?;
        let field = match kind {
            Kind::Category | Kind::Text => field,
            Kind::Ip => IP,
            _ => {
                return Err(FilterError::new(
                    format!(
                        "'{field}' cannot be matched against a list (lists work on text fields and ip)"
                    ),
                    word.span.clone(),
                ));
            }
        };
        let list_tok = match self.peek() {
            Some(Tok::File(_) | Tok::Items(_)) => self.next(),
            _ => None,
        };
        let Some(list_tok) = list_tok else {
            return Err(FilterError::new(
                "expected @FILE or (VALUES) after 'in'",
                in_tok.span,
            ));
        };
        let span = word.span.start..list_tok.span.end;
        let list = match list_tok.tok {
            Tok::File(path) => {
                let text = path.text();
                if text.is_empty() {
                    return Err(FilterError::new(
                        "expected a file name after '@'",
                        list_tok.span,
                    ));
                }
                ListSource::File(PathBuf::from(text))
            }
            Tok::Items(items) => {
                if items.is_empty() {
                    return Err(FilterError::new("empty list", list_tok.span));
                }
                let mut values = Vec::with_capacity(items.len());
                for item in &items {
                    let text = item.text();
                    if field == IP {
                        if parse_cidr(&text).is_none() {
                            return Err(cidr_error(&text, item.span.clone()));
                        }
                        values.push(text);
                    } else {
                        values.push(canonical_pattern(&text));
                    }
                }
                ListSource::Values(values)
            }
            _ => return Err(FilterError::new("unexpected text", list_tok.span)),
        };
        Ok(FilterExpr::InList { field, list, span })
    }
}

fn unclosed(span: Range<usize>) -> FilterError {
    FilterError::new("unbalanced parenthesis: '(' is never closed", span)
}

fn field_term(
    name: &str,
    name_span: Range<usize>,
    op: char,
    value: &Value,
    span: Range<usize>,
) -> Result<FilterExpr, FilterError> {
    let (field, kind) = lookup(name).ok_or_else(|| unknown_field(name, name_span))?;
    if value.raw.is_empty() && !value.quoted {
        return Err(FilterError::new(
            format!("expected a value after '{name}{op}'"),
            span,
        ));
    }
    let text = value.text();
    let vspan = value.span.clone();
    if op == '~' {
        let hint = match kind {
            Kind::Category | Kind::Text => {
                validate_regex(&text).map_err(|m| FilterError::new(m, vspan))?;
                return Ok(FilterExpr::Field {
                    field,
                    op: MatchOp::Regex,
                    value: text,
                    span,
                });
            }
            Kind::Bool => format!("use {field}:true, {field}:false or {field}:unknown"),
            Kind::Ip => format!("use {IP}:CIDR, or {SRC_IP}~ for a regex"),
            _ => format!("use {field}:VALUE"),
        };
        return Err(FilterError::new(
            format!("'{name}' does not take a regex ({hint})"),
            span,
        ));
    }
    let time = |bound| -> Result<FilterExpr, FilterError> {
        if parse_time(&text).is_none() {
            return Err(FilterError::new(time_error(&text), vspan.clone()));
        }
        Ok(FilterExpr::Time {
            bound,
            value: text.clone(),
            span: span.clone(),
        })
    };
    match kind {
        Kind::Category | Kind::Text => Ok(FilterExpr::Field {
            field,
            op: MatchOp::Match,
            value: canonical_pattern(&text),
            span,
        }),
        Kind::Bool => match parse_bool(&text) {
            Some(value) => Ok(FilterExpr::Bool { field, value, span }),
            None => Err(FilterError::new(
                format!(
                    "invalid value '{}' for {field} (use true, false or unknown)",
                    escape_control(&text)
                ),
                vspan,
            )),
        },
        Kind::Time => time(TimeBound::During),
        Kind::After => time(TimeBound::After),
        Kind::Before => time(TimeBound::Before),
        Kind::Last => {
            if parse_duration(&text).is_none() {
                return Err(FilterError::new(duration_error(&text), vspan));
            }
            Ok(FilterExpr::Time {
                bound: TimeBound::Last,
                value: text,
                span,
            })
        }
        Kind::Ip => {
            if parse_cidr(&text).is_none() {
                return Err(cidr_error(&text, vspan));
            }
            Ok(FilterExpr::Cidr { cidr: text, span })
        }
    }
}

fn word_term(value: &Value) -> Result<FilterExpr, FilterError> {
    let span = value.span.clone();
    if value.quoted {
        let text = value.text();
        if text.is_empty() {
            return Err(FilterError::new("empty search text", span));
        }
        return Ok(FilterExpr::Text {
            text: canonical_pattern(&text),
            span,
        });
    }
    if let Some((field, Kind::Bool)) = lookup(&value.raw) {
        return Ok(FilterExpr::Bool {
            field,
            value: Some(true),
            span,
        });
    }
    Ok(FilterExpr::Text {
        text: canonical_pattern(&value.raw),
        span,
    })
}

fn parse_bool(text: &str) -> Option<Option<bool>> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(Some(true)),
        "false" | "no" | "0" => Some(Some(false)),
        "unknown" | "null" | "none" => Some(None),
        _ => None,
    }
}

fn validate_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("invalid regex: {}", regex_message(&e)))
}

fn regex_message(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .or_else(|| s.lines().last())
            .unwrap_or("syntax error")
            .to_string(),
        regex::Error::CompiledTooBig(_) => "pattern too large".to_string(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Patterns

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Lit(char),
    Star,
}

/// Reads pattern text: `*` wildcard, `\*` literal star, `\\` backslash, other `\` literal.
fn pattern_pieces(text: &str) -> Vec<Piece> {
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

fn render_pieces(pieces: &[Piece]) -> String {
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

fn canonical_pattern(text: &str) -> String {
    render_pieces(&pattern_pieces(text))
}

/// The regex body of a pattern (no flags, no anchors).
fn pieces_regex(pieces: &[Piece]) -> String {
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
struct Matcher {
    regex: Regex,
    source: String,
}

impl Matcher {
    fn new(source: String) -> Result<Self, String> {
        let regex = validate_regex(&source)?;
        Ok(Matcher { regex, source })
    }

    /// A pattern matching the whole value (`anchored`) or any part of it, ignoring case.
    /// Leading and trailing stars become missing anchors, so `*x*` is a plain substring
    /// search the regex engine can run with its literal prefilter.
    fn pattern(pattern: &str, anchored: bool) -> Result<Self, String> {
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
struct Glob {
    /// Whole-value equality (anchored, no star), lowercase.
    exact: Option<Vec<u8>>,
    prefix: Vec<u8>,
    suffix: Vec<u8>,
    middles: Vec<CaseFinder>,
    fallback: Regex,
}

impl Glob {
    /// `None` when the pattern itself is not ASCII (the regex is used instead).
    fn new(pattern: &str, anchored: bool) -> Result<Option<Glob>, String> {
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

    fn is_match(&self, value: &str) -> bool {
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
fn classify(hay: &[u8]) -> u8 {
    hay.iter().fold(0u8, |acc, &b| {
        acc | (b & 0x80) | u8::from(b.wrapping_sub(b'A') < 26)
    })
}

/// Finds a lowercase ASCII needle in ASCII text ignoring case: candidates for the needle's
/// rarest byte (either case) come from `memchr2`, then the window is compared.
struct CaseFinder {
    needle: Vec<u8>,
    /// The needle as is, for text without uppercase letters.
    exact: memchr::memmem::Finder<'static>,
    anchor: usize,
    lower: u8,
    upper: u8,
}

impl CaseFinder {
    fn new(needle: Vec<u8>) -> Self {
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

    fn find_ignoring_case(&self, hay: &[u8]) -> Option<usize> {
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
type RowTest = dyn Fn(&str, &mut Vec<u8>) -> bool + Send + Sync;

/// Applies `test` to every value of a string column in one vectorized pass (nulls: false).
fn string_kernel(column: &str, label: String, test: Arc<RowTest>) -> Expr {
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
fn string_pattern(column: &str, pattern: &str, anchored: bool) -> Result<Expr, String> {
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
fn render_value(s: &str, in_list: bool) -> String {
    let needs_quotes = s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '(' | ')') || (in_list && c == ','));
    if needs_quotes {
        quote_string(s)
    } else {
        s.to_string()
    }
}

fn quote_string(s: &str) -> String {
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

/// Quotes a value so that `field:VALUE` parses back to an exact (case-insensitive) equality
/// with it: `*` becomes `\*`, `\` becomes `\\`, and values with spaces, quotes or
/// parentheses are put in double quotes.
pub fn quote_value(value: &str) -> String {
    render_value(&literal_pattern(value), false)
}

/// The pattern matching exactly `value` (stars and backslashes escaped).
fn literal_pattern(value: &str) -> String {
    let pieces: Vec<Piece> = value.chars().map(Piece::Lit).collect();
    render_pieces(&pieces)
}

// ---------------------------------------------------------------------------------------
// Time

enum TimeSpec {
    Date(jiff::civil::Date),
    Civil(jiff::civil::DateTime, i64),
    Instant(jiff::Timestamp, i64),
    Today,
    Yesterday,
}

fn time_error(text: &str) -> String {
    format!(
        "invalid time '{}' (use 2024-03-01, \"2024-03-01 12:00\", or last:24h)",
        escape_control(text)
    )
}

fn duration_error(text: &str) -> String {
    format!(
        "invalid duration '{}' (use last:30m, last:24h or last:7d)",
        escape_control(text)
    )
}

fn parse_time(text: &str) -> Option<TimeSpec> {
    let s = text.trim();
    match s.to_ascii_lowercase().as_str() {
        "today" => return Some(TimeSpec::Today),
        "yesterday" => return Some(TimeSpec::Yesterday),
        _ => {}
    }
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let Some(sep) = s.find(['T', 't', ' ']) else {
        return s.parse::<jiff::civil::Date>().ok().map(TimeSpec::Date);
    };
    let precision = time_precision(s.get(sep + 1..)?)?;
    if s.contains('[') {
        return s
            .parse::<jiff::Zoned>()
            .ok()
            .map(|z| TimeSpec::Instant(z.timestamp(), precision));
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(TimeSpec::Instant(ts, precision));
    }
    s.parse::<jiff::civil::DateTime>()
        .ok()
        .map(|dt| TimeSpec::Civil(dt, precision))
}

/// The length of the period a time of day names: an hour, minute, second or microsecond.
fn time_precision(time: &str) -> Option<i64> {
    let clock = |c: char| c.is_ascii_digit() || c == ':';
    let digits = time
        .chars()
        .take_while(|c| clock(*c))
        .filter(char::is_ascii_digit)
        .count();
    if time.trim_start_matches(clock).starts_with(['.', ',']) {
        return Some(1);
    }
    match digits {
        2 => Some(HOUR),
        4 => Some(MINUTE),
        6 => Some(SECOND),
        _ => None,
    }
}

fn parse_duration(text: &str) -> Option<i64> {
    let s = text.trim().to_ascii_lowercase();
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut chars = s.chars().peekable();
    while chars.peek().is_some() {
        let mut n: i64 = 0;
        let mut digits = 0;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = n.checked_mul(10)?.checked_add(i64::from(d))?;
            digits += 1;
            chars.next();
        }
        if digits == 0 {
            return None;
        }
        let unit = match chars.next()? {
            's' => SECOND,
            'm' => MINUTE,
            'h' => HOUR,
            'd' => DAY,
            'w' => WEEK,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
}

impl TimeSpec {
    /// The period `[start, end)` in UTC microseconds; `None` when it is relative to the newest
    /// event and there is none.
    fn range(&self, ctx: &FilterContext) -> Result<Option<(i64, i64)>, String> {
        let tz = &ctx.tz;
        let day = |d: jiff::civil::Date| -> Result<(i64, i64), jiff::Error> {
            let start = d.to_zoned(tz.clone())?.timestamp().as_microsecond();
            let end = d
                .tomorrow()?
                .to_zoned(tz.clone())?
                .timestamp()
                .as_microsecond();
            Ok((start, end))
        };
        let out = match self {
            TimeSpec::Date(d) => day(*d),
            TimeSpec::Civil(dt, precision) => dt.to_zoned(tz.clone()).map(|z| {
                let start = z.timestamp().as_microsecond();
                (start, start.saturating_add(*precision))
            }),
            TimeSpec::Instant(ts, precision) => {
                let start = ts.as_microsecond();
                Ok((start, start.saturating_add(*precision)))
            }
            TimeSpec::Today | TimeSpec::Yesterday => {
                let Some(newest) = ctx.newest else {
                    return Ok(None);
                };
                jiff::Timestamp::from_microsecond(newest).and_then(|ts| {
                    let date = ts.to_zoned(tz.clone()).date();
                    match self {
                        TimeSpec::Yesterday => day(date.yesterday()?),
                        _ => day(date),
                    }
                })
            }
        };
        out.map(Some).map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------------------------------
// Addresses

/// An address block; IPv4-mapped IPv6 addresses count as IPv4.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    net: u128,
    mask: u128,
    v4: bool,
}

fn cidr_error(text: &str, span: Range<usize>) -> FilterError {
    FilterError::new(format!("invalid CIDR '{}'", escape_control(text)), span)
}

/// An address as (bits, is IPv4).
fn parse_ip(s: &str) -> Option<(u128, bool)> {
    Some(match s.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => (u128::from(u32::from(a)), true),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), true),
            None => (u128::from(a), false),
        },
    })
}

fn parse_cidr(text: &str) -> Option<Cidr> {
    let text = text.trim();
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let prefix: Option<u32> = match prefix {
        None => None,
        Some(p) if (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse().ok()?)
        }
        Some(_) => return None,
    };
    let (bits, v4, width, prefix) = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => (u128::from(u32::from(a)), true, 32, prefix.unwrap_or(32)),
        IpAddr::V6(a) => match (a.to_ipv4_mapped(), prefix) {
            (Some(m), Some(p)) if p >= 96 => (u128::from(u32::from(m)), true, 32, p - 96),
            (Some(m), None) => (u128::from(u32::from(m)), true, 32, 32),
            _ => (u128::from(a), false, 128, prefix.unwrap_or(128)),
        },
    };
    if prefix > width {
        return None;
    }
    let full = if v4 { u128::from(u32::MAX) } else { u128::MAX };
    let mask = u128::MAX
        .checked_shl(width - prefix)
        .map_or(0, |m| m & full);
    Some(Cidr {
        net: bits & mask,
        mask,
        v4,
    })
}

impl Cidr {
    fn contains(&self, (bits, v4): (u128, bool)) -> bool {
        v4 == self.v4 && bits & self.mask == self.net
    }
}

// ---------------------------------------------------------------------------------------
// Compilation

/// Compiles a filter into a boolean Polars expression over the event frame.
///
/// Lists are read and terms on categorical columns are resolved against the dictionaries
/// now; compile again when new values may have been loaded.
pub fn compile(expr: &FilterExpr, ctx: &FilterContext) -> Result<Expr, FilterError> {
    match expr {
        FilterExpr::All => Ok(lit(true)),
        FilterExpr::And(items) => {
            Ok(balanced(compile_all(items, ctx)?, |a, b| a.and(b)).unwrap_or_else(|| lit(true)))
        }
        FilterExpr::Or(items) => {
            Ok(balanced(compile_all(items, ctx)?, |a, b| a.or(b)).unwrap_or_else(|| lit(false)))
        }
        FilterExpr::Not(inner) => Ok(compile(inner, ctx)?.not()),
        FilterExpr::Field {
            field,
            op,
            value,
            span,
        } => {
            let error = |m: String| FilterError::new(m, span.clone());
            match (kind_of(field), op) {
                (Some(Kind::Text), MatchOp::Match) => {
                    string_pattern(field, value, true).map_err(error)
                }
                (Some(Kind::Category | Kind::Text), _) => {
                    let matcher = match op {
                        MatchOp::Match => Matcher::pattern(value, true),
                        MatchOp::Regex => Matcher::new(value.clone()),
                    }
                    .map_err(error)?;
                    Ok(column_test(field, &matcher))
                }
                _ => Err(error(format!(
                    "'{field}' cannot be matched against a value"
                ))),
            }
        }
        FilterExpr::Text { text, span } => {
            let error = |m: String| FilterError::new(m, span.clone());
            let matcher = Matcher::pattern(text, false).map_err(error)?;
            let mut tests = Vec::with_capacity(TEXT_COLUMNS.len());
            for column in TEXT_COLUMNS {
                tests.push(match kind_of(column) {
                    Some(Kind::Text) => string_pattern(column, text, false).map_err(error)?,
                    _ => column_test(column, &matcher),
                });
            }
            Ok(balanced(tests, |a, b| a.or(b)).unwrap_or_else(|| lit(false)))
        }
        FilterExpr::Time { bound, value, span } => compile_time(*bound, value, span, ctx),
        FilterExpr::Cidr { cidr, span } => {
            let block = parse_cidr(cidr).ok_or_else(|| cidr_error(cidr, span.clone()))?;
            Ok(category_ids(SRC_IP, |v| {
                parse_ip(v).is_some_and(|ip| block.contains(ip))
            }))
        }
        FilterExpr::InList { field, list, span } => compile_list(field, list, span, ctx),
        FilterExpr::Bool { field, value, span } => {
            if kind_of(field) != Some(Kind::Bool) {
                return Err(FilterError::new(
                    format!("'{field}' is not a boolean field"),
                    span.clone(),
                ));
            }
            Ok(match value {
                Some(v) => col(*field).eq_missing(lit(*v)),
                None => col(*field).is_null(),
            })
        }
    }
}

fn compile_all(items: &[FilterExpr], ctx: &FilterContext) -> Result<Vec<Expr>, FilterError> {
    items.iter().map(|e| compile(e, ctx)).collect()
}

/// Combines expressions pairwise so the tree stays shallow.
fn balanced(mut exprs: Vec<Expr>, combine: impl Fn(Expr, Expr) -> Expr) -> Option<Expr> {
    while exprs.len() > 1 {
        let mut next = Vec::with_capacity(exprs.len() / 2 + 1);
        let mut it = exprs.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => combine(a, b),
                None => a,
            });
        }
        exprs = next;
    }
    exprs.pop()
}

/// Rows whose categorical `column` holds a dictionary value accepted by `accept`, tested
/// once per distinct value.
fn category_ids(column: &str, mut accept: impl FnMut(&str) -> bool) -> Expr {
    let ids: Vec<u32> = Dictionaries::shared()
        .category_values(column)
        .into_iter()
        .filter(|(_, v)| accept(v))
        .map(|(id, _)| id)
        .collect();
    match ids.as_slice() {
        [] => lit(false),
        [id] => col(column).to_physical().eq_missing(lit(*id)),
        _ => col(column)
            .to_physical()
            .is_in(lit(Series::new(column.into(), ids)).implode(false), true),
    }
}

/// The test of `matcher` on a categorical column (per distinct value) or a string column.
fn column_test(column: &str, matcher: &Matcher) -> Expr {
    if kind_of(column) == Some(Kind::Category) {
        category_ids(column, |v| matcher.regex.is_match(v))
    } else {
        col(column)
            .str()
            .contains(lit(matcher.source.clone()), true)
            .fill_null(lit(false))
    }
}

fn compile_time(
    bound: TimeBound,
    value: &str,
    span: &Range<usize>,
    ctx: &FilterContext,
) -> Result<Expr, FilterError> {
    let time = || col(TIME).to_physical();
    let expr = if bound == TimeBound::Last {
        let duration = parse_duration(value)
            .ok_or_else(|| FilterError::new(duration_error(value), span.clone()))?;
        let Some(newest) = ctx.newest else {
            return Ok(lit(false));
        };
        time().gt_eq(lit(newest.saturating_sub(duration)))
    } else {
        let spec =
            parse_time(value).ok_or_else(|| FilterError::new(time_error(value), span.clone()))?;
        let range = spec.range(ctx).map_err(|e| {
            FilterError::new(
                format!("time '{}' is out of range: {e}", escape_control(value)),
                span.clone(),
            )
        })?;
        let Some((start, end)) = range else {
            return Ok(lit(false));
        };
        match bound {
            TimeBound::After => time().gt_eq(lit(start)),
            TimeBound::Before => time().lt(lit(start)),
            TimeBound::During | TimeBound::Last => {
                time().gt_eq(lit(start)).and(time().lt(lit(end)))
            }
        }
    };
    Ok(expr.fill_null(lit(false)))
}

/// The values of a list file: one per line, blank lines and `#` comments skipped, with their
/// line numbers.
fn read_list(
    path: &Path,
    ctx: &FilterContext,
    span: &Range<usize>,
) -> Result<Vec<(String, usize)>, FilterError> {
    let text = std::fs::read_to_string(ctx.base_dir.join(path)).map_err(|e| {
        FilterError::new(
            format!(
                "cannot read list file '{}': {e}",
                escape_control(&path.to_string_lossy())
            ),
            span.clone(),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut value = line.trim();
        if value.starts_with('#') {
            continue;
        }
        if let Some(pos) = value
            .char_indices()
            .find(|&(i, c)| c == '#' && value[..i].ends_with(char::is_whitespace))
            .map(|(i, _)| i)
        {
            value = value[..pos].trim_end();
        }
        if !value.is_empty() {
            out.push((value.to_string(), i + 1));
        }
    }
    Ok(out)
}

fn compile_list(
    field: &str,
    list: &ListSource,
    span: &Range<usize>,
    ctx: &FilterContext,
) -> Result<Expr, FilterError> {
    let (values, file) = match list {
        ListSource::Values(values) => (values.iter().map(|v| (v.clone(), 0)).collect(), None),
        ListSource::File(path) => (read_list(path, ctx, span)?, Some(path)),
    };
    if field == IP {
        let mut blocks = Vec::with_capacity(values.len());
        for (value, line) in &values {
            match parse_cidr(value) {
                Some(block) => blocks.push(block),
                None => {
                    let mut message = format!("invalid CIDR '{}'", escape_control(value));
                    if let Some(path) = file {
                        message.push_str(&format!(
                            " in {} line {line}",
                            escape_control(&path.to_string_lossy())
                        ));
                    }
                    return Err(FilterError::new(message, span.clone()));
                }
            }
        }
        return Ok(category_ids(SRC_IP, |v| {
            parse_ip(v).is_some_and(|ip| blocks.iter().any(|b| b.contains(ip)))
        }));
    }
    let kind = kind_of(field).filter(|k| matches!(k, Kind::Category | Kind::Text));
    let Some(kind) = kind else {
        return Err(FilterError::new(
            format!("'{field}' cannot be matched against a list"),
            span.clone(),
        ));
    };
    let error = |m: String| FilterError::new(m, span.clone());
    if values.is_empty() {
        return Ok(lit(false));
    }
    // Short lists on string columns test each value with a Glob; long ones use a set of
    // lowercase values (behind a length check) and one regex for the wildcards.
    let short = kind == Kind::Text && values.len() <= SHORT_LIST;
    let mut globs = Vec::new();
    let mut exact: HashSet<String> = HashSet::new();
    let mut wild = Vec::new();
    for (value, _) in &values {
        if short && let Some(glob) = Glob::new(value, true).map_err(error)? {
            globs.push(glob);
            continue;
        }
        let pieces = pattern_pieces(value);
        if pieces.contains(&Piece::Star) {
            wild.push(pieces_regex(&pieces));
        } else {
            let literal: String = pieces
                .iter()
                .map(|p| match p {
                    Piece::Lit(c) => *c,
                    Piece::Star => '*',
                })
                .collect();
            exact.insert(literal.to_lowercase());
        }
    }
    let wild = if wild.is_empty() {
        None
    } else {
        Some(Matcher::new(format!("(?is)^(?:{})$", wild.join("|"))).map_err(error)?)
    };
    if kind == Kind::Category {
        return Ok(category_ids(field, |v| {
            exact.contains(&v.to_lowercase()) || wild.as_ref().is_some_and(|w| w.regex.is_match(v))
        }));
    }
    let lengths: HashSet<usize> = exact.iter().map(String::len).collect();
    let exact: HashSet<Vec<u8>> = exact.into_iter().map(String::into_bytes).collect();
    let in_set = move |s: &str, buf: &mut Vec<u8>| {
        if exact.is_empty() {
            false
        } else if s.is_ascii() {
            lengths.contains(&s.len()) && {
                buf.clear();
                buf.extend(s.bytes().map(|b| b.to_ascii_lowercase()));
                exact.contains(buf.as_slice())
            }
        } else {
            exact.contains(s.to_lowercase().as_bytes())
        }
    };
    let test = move |s: &str, buf: &mut Vec<u8>| {
        globs.iter().any(|g| g.is_match(s))
            || in_set(s, buf)
            || wild.as_ref().is_some_and(|w| w.regex.is_match(s))
    };
    Ok(string_kernel(
        field,
        format!("filter {field} in list"),
        Arc::new(test),
    ))
}

// ---------------------------------------------------------------------------------------
// Printing

/// Where an expression is printed, for parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Top,
    Or,
    And,
    Not,
}

/// Always true, for `All` inside a compound expression.
const ALWAYS: &str = "(privileged or -privileged)";
/// Always false, for an empty `Or`.
const NEVER: &str = "(privileged -privileged)";

impl FilterExpr {
    /// The term `field:VALUE` matching exactly `value` (ignoring case) on a categorical or
    /// string column, e.g. to turn a pivot cell into a filter.
    pub fn equals(field: &'static str, value: &str) -> FilterExpr {
        FilterExpr::Field {
            field,
            op: MatchOp::Match,
            value: literal_pattern(value),
            span: 0..0,
        }
    }

    /// Canonical text of the filter; [`parse`] reads it back to an equal expression.
    pub fn to_filter_string(&self) -> String {
        let mut out = String::new();
        self.render(&mut out, Context::Top);
        out
    }

    /// Where the term is in the input it was parsed from (`None` for compound expressions).
    pub fn span(&self) -> Option<Range<usize>> {
        match self {
            FilterExpr::All | FilterExpr::And(_) | FilterExpr::Or(_) | FilterExpr::Not(_) => None,
            FilterExpr::Field { span, .. }
            | FilterExpr::Text { span, .. }
            | FilterExpr::Time { span, .. }
            | FilterExpr::Cidr { span, .. }
            | FilterExpr::InList { span, .. }
            | FilterExpr::Bool { span, .. } => Some(span.clone()),
        }
    }

    fn render(&self, out: &mut String, ctx: Context) {
        match self {
            FilterExpr::All => {
                if ctx != Context::Top {
                    out.push_str(ALWAYS);
                }
            }
            FilterExpr::And(items) | FilterExpr::Or(items) => {
                let is_and = matches!(self, FilterExpr::And(_));
                match items.as_slice() {
                    [] if is_and => FilterExpr::All.render(out, ctx),
                    [] => out.push_str(NEVER),
                    [one] => one.render(out, ctx),
                    _ => {
                        let paren = if is_and {
                            matches!(ctx, Context::And | Context::Not)
                        } else {
                            ctx != Context::Top
                        };
                        let (sep, inner) = if is_and {
                            (" ", Context::And)
                        } else {
                            (" or ", Context::Or)
                        };
                        if paren {
                            out.push('(');
                        }
                        for (i, item) in items.iter().enumerate() {
                            if i > 0 {
                                out.push_str(sep);
                            }
                            item.render(out, inner);
                        }
                        if paren {
                            out.push(')');
                        }
                    }
                }
            }
            FilterExpr::Not(inner) => {
                out.push('-');
                inner.render(out, Context::Not);
            }
            FilterExpr::Field {
                field, op, value, ..
            } => {
                let op = if *op == MatchOp::Regex { '~' } else { ':' };
                out.push_str(&format!("{field}{op}{}", render_value(value, false)));
            }
            FilterExpr::Text { text, .. } => out.push_str(&render_text(text)),
            FilterExpr::Time { bound, value, .. } => {
                let name = match bound {
                    TimeBound::After => AFTER,
                    TimeBound::Before => BEFORE,
                    TimeBound::During => TIME,
                    TimeBound::Last => LAST,
                };
                out.push_str(&format!("{name}:{}", render_value(value, false)));
            }
            FilterExpr::Cidr { cidr, .. } => {
                out.push_str(&format!("{IP}:{}", render_value(cidr, false)));
            }
            FilterExpr::InList { field, list, .. } => {
                out.push_str(field);
                out.push_str(" in ");
                match list {
                    ListSource::File(path) => {
                        out.push('@');
                        out.push_str(&render_value(&path.to_string_lossy(), false));
                    }
                    ListSource::Values(values) => {
                        let items: Vec<String> =
                            values.iter().map(|v| render_value(v, true)).collect();
                        out.push_str(&format!("({})", items.join(", ")));
                    }
                }
            }
            FilterExpr::Bool { field, value, .. } => match value {
                Some(true) => out.push_str(field),
                Some(false) => out.push_str(&format!("{field}:false")),
                None => out.push_str(&format!("{field}:unknown")),
            },
        }
    }
}

/// Free text as a bare word when it would read back as free text, else quoted.
fn render_text(text: &str) -> String {
    let bare = render_value(text, false) == text
        && !text.starts_with(['-', '!', '@'])
        && !text.starts_with("||")
        && !text.starts_with("&&")
        && !text.contains([':', '~', '=', '<', '>', '!'])
        && keyword(text).is_none()
        && !matches!(lookup(text), Some((_, Kind::Bool)));
    if bare {
        text.to_string()
    } else {
        quote_string(text)
    }
}
