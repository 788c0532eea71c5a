//! A [`FilterExpr`] as one SQL condition over the lake table, with the filter language's
//! semantics: every term is true or false (a null value matches no positive term, so each
//! term is wrapped in `COALESCE(..., FALSE)` and `NOT` keeps rows without a value), values
//! match whole and ignoring case with `*` wildcards (`lower(col) LIKE ... ESCAPE '!'`),
//! regexes are found anywhere (rewritten portably by [`super::regex`]), free text searches the
//! filter's text columns, and time terms carry a `date` partition predicate so engines prune
//! partitions.

use std::ops::Range;

use crate::analysis::filter::{
    self, FilterContext, FilterExpr, IP, ListSource, MatchOp, Piece, TEXT_COLUMNS, TimeBound,
    literal_of, pattern_pieces,
};
use crate::lake::layout::{DATE, LakeType, column_type, day_of};
use crate::net::Cidr;
use crate::schema::{SRC_IP, TIME};
use crate::text::escape_control;
use crate::time::parse_duration;
use crate::{Error, Result};

use super::dialect::Engine;
use super::regex::portable;

/// The escape character of LIKE patterns: not a backslash, which Spark's string literals
/// would read as an escape of their own.
const LIKE_ESCAPE: char = '!';

/// Translates filters for one engine and table.
pub struct FilterSql<'a> {
    /// The engine written for.
    pub engine: Engine,
    /// The table's name, as written (quoted when used), for `last:`'s newest event.
    pub table: &'a str,
    /// The time zone, list directory and newest event of the filter.
    pub ctx: &'a FilterContext,
}

impl FilterSql<'_> {
    /// The SQL condition selecting what `expr` selects; `None` for a filter matching every
    /// event.
    pub fn condition(&self, expr: &FilterExpr) -> Result<Option<String>> {
        if matches!(expr, FilterExpr::All) {
            return Ok(None);
        }
        self.expr(expr).map(Some)
    }

    fn expr(&self, expr: &FilterExpr) -> Result<String> {
        let e = self.engine;
        Ok(match expr {
            FilterExpr::All => "TRUE".to_string(),
            FilterExpr::And(items) | FilterExpr::Or(items) => {
                let is_and = matches!(expr, FilterExpr::And(_));
                let parts = items
                    .iter()
                    .map(|item| self.expr(item))
                    .collect::<Result<Vec<_>>>()?;
                match parts.as_slice() {
                    [] => (if is_and { "TRUE" } else { "FALSE" }).to_string(),
                    [one] => one.clone(),
                    _ => format!("({})", parts.join(if is_and { " AND " } else { " OR " })),
                }
            }
            FilterExpr::Not(inner) => format!("NOT {}", self.expr(inner)?),
            FilterExpr::Field {
                field, op, value, ..
            } => {
                check_text_column(field)?;
                let column = e.ident(field);
                match op {
                    MatchOp::Match => known(&like(e, &column, value, true)),
                    MatchOp::Regex => known(&e.regex_match(&column, &portable(value)?)),
                }
            }
            FilterExpr::Text { text, .. } => {
                let tests: Vec<String> = TEXT_COLUMNS
                    .iter()
                    .map(|column| like(e, &e.ident(column), text, false))
                    .collect();
                known(&tests.join(" OR "))
            }
            FilterExpr::Time { bound, value, span } => self.time(*bound, value, span)?,
            FilterExpr::Cidr { cidr, .. } => {
                let block = parse_cidr(cidr)?;
                known(&ipv4_in(e, &[block]))
            }
            FilterExpr::InList { field, list, span } => self.list(field, list, span)?,
            FilterExpr::Bool { field, value, .. } => {
                if column_type(field) != Some(LakeType::Boolean) {
                    return Err(Error::Invalid(format!("'{field}' is not a boolean field")));
                }
                let column = e.ident(field);
                match value {
                    Some(v) => known(&format!("{column} = {}", if *v { "TRUE" } else { "FALSE" })),
                    None => format!("{column} IS NULL"),
                }
            }
        })
    }

    fn time(&self, bound: TimeBound, value: &str, span: &Range<usize>) -> Result<String> {
        let e = self.engine;
        let time = e.ident(TIME);
        let date = e.ident(DATE);
        if bound == TimeBound::Last {
            let duration = parse_duration(value).map_err(|_| {
                Error::Invalid(format!(
                    "invalid duration '{}' (use last:30m, last:24h or last:7d)",
                    escape_control(value)
                ))
            })?;
            // Relative to the newest event of the table, as trailscope's is to the newest
            // loaded event.
            return Ok(known(&format!(
                "{time} >= (SELECT max({time}) FROM {}) - {}",
                e.table(self.table),
                e.interval(duration)
            )));
        }
        let period = filter::time_period(value, self.ctx)
            .map_err(|m| Error::Invalid(format!("column {}: {m}", span.start + 1)))?;
        let Some((start, end)) = period else {
            return Err(Error::Invalid(format!(
                "'{}' is relative to the newest event in trailscope's time zone; write the date instead",
                escape_control(value)
            )));
        };
        let day = |us: i64| e.string(&day_of(Some(us)));
        // The date predicate stands apart from COALESCE so engines see it as a partition
        // filter; it is implied by the time test, so it changes no result.
        Ok(match bound {
            TimeBound::After => format!(
                "({date} >= {} AND {})",
                day(start),
                known(&format!("{time} >= {}", e.timestamp(start)?))
            ),
            TimeBound::Before => format!(
                "({date} <= {} AND {})",
                day(start.saturating_sub(1)),
                known(&format!("{time} < {}", e.timestamp(start)?))
            ),
            TimeBound::During | TimeBound::Last => format!(
                "({date} BETWEEN {} AND {} AND {})",
                day(start),
                day(end.saturating_sub(1)),
                known(&format!(
                    "{time} >= {} AND {time} < {}",
                    e.timestamp(start)?,
                    e.timestamp(end)?
                ))
            ),
        })
    }

    fn list(&self, field: &str, list: &ListSource, span: &Range<usize>) -> Result<String> {
        let e = self.engine;
        let values = filter::list_values(list, self.ctx, span)?;
        if field == IP {
            let blocks = values
                .iter()
                .map(|v| parse_cidr(v))
                .collect::<Result<Vec<_>>>()?;
            if blocks.is_empty() {
                return Ok("FALSE".to_string());
            }
            return Ok(known(&ipv4_in(e, &blocks)));
        }
        check_text_column(field)?;
        if values.is_empty() {
            return Ok("FALSE".to_string());
        }
        let column = e.ident(field);
        let mut exact = Vec::new();
        let mut tests = Vec::new();
        for value in &values {
            match literal_of(&pattern_pieces(value)) {
                Some(literal) => exact.push(e.string(&literal.to_lowercase())),
                None => tests.push(like(e, &column, value, true)),
            }
        }
        if !exact.is_empty() {
            exact.sort();
            exact.dedup();
            tests.insert(0, format!("lower({column}) IN ({})", exact.join(", ")));
        }
        Ok(known(&tests.join(" OR ")))
    }
}

/// `test` as true or false, never null.
fn known(test: &str) -> String {
    format!("COALESCE({test}, FALSE)")
}

fn check_text_column(field: &str) -> Result<()> {
    match column_type(field) {
        Some(LakeType::Text) => Ok(()),
        _ => Err(Error::Invalid(format!(
            "'{field}' cannot be matched against a value in the lake"
        ))),
    }
}

/// The whole value (`anchored`) or part of it matches the `*` pattern, ignoring case.
fn like(e: Engine, column: &str, pattern: &str, anchored: bool) -> String {
    let pieces = pattern_pieces(pattern);
    let mut text = String::with_capacity(pattern.len() + 2);
    if !anchored {
        text.push('%');
    }
    let mut last_star = false;
    for piece in &pieces {
        match piece {
            Piece::Star => {
                if !last_star {
                    text.push('%');
                }
                last_star = true;
                continue;
            }
            Piece::Lit(c) => {
                for lower in c.to_lowercase() {
                    if matches!(lower, '%' | '_') || lower == LIKE_ESCAPE {
                        text.push(LIKE_ESCAPE);
                    }
                    text.push(lower);
                }
            }
        }
        last_star = false;
    }
    if !anchored && !last_star {
        text.push('%');
    }
    let has_wildcard = text.contains('%') || pieces.contains(&Piece::Star);
    if !has_wildcard && !text.contains(LIKE_ESCAPE) {
        return format!("lower({column}) = {}", e.string(&text));
    }
    format!(
        "lower({column}) LIKE {} ESCAPE '{LIKE_ESCAPE}'",
        e.string(&text)
    )
}

fn parse_cidr(text: &str) -> Result<Cidr> {
    let block = Cidr::parse(text)
        .ok_or_else(|| Error::Invalid(format!("invalid CIDR '{}'", escape_control(text))))?;
    if !block.is_v4() {
        return Err(Error::Invalid(format!(
            "the IPv6 block '{}' cannot be translated to SQL faithfully (the engines share no IPv6 parser); match IPv6 addresses with src_ip~ or src_ip:2001:db8:*",
            escape_control(text)
        )));
    }
    Ok(block)
}

/// Unicode white space, which trailscope trims around an address.
const SPACE: &str = "[\\x{9}-\\x{D} \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]*";
/// One decimal octet as Rust's parser takes it (no leading zeros).
const OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
/// The octets of a value the full pattern accepted (its only run of dotted digits).
const OCTETS: &str = "([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.([0-9]+)";

/// `src_ip` is an IPv4 address (dotted quad, or IPv4-mapped IPv6 written `::ffff:a.b.c.d`)
/// inside one of the blocks.
fn ipv4_in(e: Engine, blocks: &[Cidr]) -> String {
    let column = e.ident(SRC_IP);
    let regex = format!(
        "\\A{SPACE}(?:::[fF][fF][fF][fF]:)?{OCTET}\\.{OCTET}\\.{OCTET}\\.{OCTET}{SPACE}\\z"
    );
    let octet = |n: u32| e.try_cast(&e.regex_group(&column, OCTETS, n), "BIGINT");
    let number = format!(
        "(({}) * 16777216 + ({}) * 65536 + ({}) * 256 + ({}))",
        octet(1),
        octet(2),
        octet(3),
        octet(4)
    );
    let ranges: Vec<String> = blocks
        .iter()
        .map(|b| {
            let (low, high) = b.v4_range();
            format!("{number} BETWEEN {low} AND {high}")
        })
        .collect();
    format!(
        "CASE WHEN {} THEN {} ELSE FALSE END",
        e.regex_match(&column, &regex),
        ranges.join(" OR ")
    )
}
