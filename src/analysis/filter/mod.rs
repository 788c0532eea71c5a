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
//! | `admin`, `"access denied"` | free text: case-insensitive substring of actor, identity, action, resource, error or details |
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
//! | `provider`, `log_type`, `actor` (`user`, `who`), `actor_type` (`type`; `non-human` is `service` or `system`), `action`, `service`, `src_ip`, `user_agent` (`ua`), `region`, `country` (ISO code: `country:DE`), `city`, `outcome`, `error`, `account`, `source` | categorical | `:` value, `~` regex, `in` list |
//! | `event_id`, `resource`, `session`, `details` | string | `:` value, `~` regex, `in` list |
//! | `mfa`, `read_only`, `privileged` | boolean | bare name, `:true`, `:false`, `:unknown` |
//! | `time` | time | `:` date or time |
//! | `after`, `before`, `last` | time | `:` date, time or `today`/`yesterday`; `last:` a duration |
//! | `ip` | `src_ip` as an address | `:` CIDR or address, `in` list of CIDRs |
//!
//! Field names are case-insensitive. `actor_type` and `outcome` hold a fixed set of values: a
//! value outside it (without `*`) is an error naming the values, not a filter matching nothing.
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
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use polars::prelude::*;
use regex::Regex;

use crate::net::{Addr, Cidr};
use crate::schema::{
    self, ACTION, ACTOR, ACTOR_TYPE, ActorType, BOOL_COLUMNS, DETAILS, Dictionaries, ERROR,
    EVENT_COLUMNS, IDENTITY, OUTCOME, RESOURCE, SOURCE, SRC_IP, STRING_COLUMNS, TIME, USER_AGENT,
};
use crate::text::escape_control;
use crate::time::{HOUR, MINUTE, SECOND, parse_duration};

mod compile;
pub mod drill;
mod lex;
mod parse;
mod pattern;
mod values;

use lex::*;
use parse::*;
use pattern::*;
use values::*;

pub use compile::compile;
pub use drill::quote_value;
pub use parse::parse;
pub use pattern::{Piece, literal_of, pattern_pieces};

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
const ALIASES: [(&str, &str); 4] = [
    ("user", ACTOR),
    ("who", ACTOR),
    ("type", ACTOR_TYPE),
    ("ua", USER_AGENT),
];

/// Columns searched by free text: the categorical ones through their dictionaries (once per
/// distinct value), the string ones row by row.
pub const TEXT_COLUMNS: [&str; 6] = [ACTOR, IDENTITY, ACTION, RESOURCE, ERROR, DETAILS];

/// Lists up to this long are matched value by value on string columns.
const SHORT_LIST: usize = 16;

/// Deepest nesting of parentheses and negations accepted.
const MAX_DEPTH: usize = 100;

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
    /// Free text searched in actor, identity, action, resource, error and details.
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

/// The period `[start, end)` (UTC microseconds) a time value of `after:`, `before:` or
/// `time:` names, read in the context's zone; `None` for `today`/`yesterday` without a newest
/// event. For translating filters into other languages.
pub fn time_period(value: &str, ctx: &FilterContext) -> Result<Option<(i64, i64)>, String> {
    let spec = parse_time(value).ok_or_else(|| time_error(value))?;
    spec.range(ctx)
        .map_err(|e| format!("time '{}' is out of range: {e}", escape_control(value)))
}

/// The values of an `in` list as the filter reads them (a list file is read now).
pub fn list_values(
    list: &ListSource,
    ctx: &FilterContext,
    span: &Range<usize>,
) -> Result<Vec<String>, FilterError> {
    match list {
        ListSource::Values(values) => Ok(values.clone()),
        ListSource::File(path) => Ok(compile::read_list(path, ctx, span)?
            .into_iter()
            .map(|(value, _)| value)
            .collect()),
    }
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
        f if schema::is_categorical(f) => Kind::Category,
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
