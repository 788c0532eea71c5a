//! Which partitions and row groups a filter can match, decided from the filter alone and
//! conservatively: only terms that every match must satisfy (the filter's top-level `and`)
//! prune, and only those over the provider alone (tested on the partition's provider), time
//! bounds (`after:`, `before:`, `time:`, `last:`, turned into an interval), or values looked
//! up (`actor:alice`, `ip:203.0.113.7`, `event_id in @ids.txt`, and `or`s of them: tested
//! against each row group's [`super::values`] index); anything else keeps the partition.

use polars::prelude::*;

use crate::analysis::filter::{
    self, FilterContext, FilterExpr, IP, MatchOp, TimeBound, literal_of, pattern_pieces,
};
use crate::net::Cidr;
use crate::schema::{self, Dictionaries, PROVIDER, TIME};
use crate::time::DAY;
use crate::{Error, Result};

use super::layout::NULL_PARTITION;
use super::values::{GroupValues, Probe};

/// What a filter implies about the partitions and row groups that can hold a match.
#[derive(Debug, Clone)]
pub struct Pruning {
    /// Top-level terms over the provider alone.
    provider_terms: Vec<FilterExpr>,
    /// Every match is in `[start, end)` (UTC microseconds) when set.
    times: Option<(i64, i64)>,
    /// Every match holds one of the values of each of these.
    lookups: Vec<Vec<Probe>>,
    /// The compile context of the filter.
    ctx: FilterContext,
}

impl Pruning {
    /// Nothing pruned.
    pub fn none() -> Pruning {
        Pruning {
            provider_terms: Vec::new(),
            times: None,
            lookups: Vec::new(),
            ctx: FilterContext::default(),
        }
    }

    /// The pruning `expr` (None: every event) implies, compiled in `ctx`.
    pub fn of(expr: Option<&FilterExpr>, ctx: &FilterContext) -> Result<Pruning> {
        let mut pruning = Pruning {
            ctx: ctx.clone(),
            ..Pruning::none()
        };
        let mut terms = Vec::new();
        if let Some(expr) = expr {
            top_level(expr, &mut terms);
        }
        for term in terms {
            if only_provider(term) {
                pruning.provider_terms.push(term.clone());
            } else if let FilterExpr::Time { bound, value, .. } = term {
                let (start, end) = time_interval(*bound, value, ctx)?;
                let (s, e) = pruning.times.unwrap_or((i64::MIN, i64::MAX));
                pruning.times = Some((s.max(start), e.min(end)));
            } else if let Some(probes) = probes(term, ctx) {
                pruning.lookups.push(probes);
            }
        }
        Ok(pruning)
    }

    /// Narrows the matches to `[start, end)` (UTC microseconds) on top of the filter's own
    /// bounds: a page of a lake.
    pub fn limit_times(&mut self, start: i64, end: i64) {
        let (s, e) = self.times.unwrap_or((i64::MIN, i64::MAX));
        self.times = Some((s.max(start), e.min(end)));
    }

    /// Whether a time term bounds the matches (events without a time never match then).
    pub fn is_time_bounded(&self) -> bool {
        self.times.is_some()
    }

    /// Whether the partition of `provider` and `day` can hold a match.
    pub fn keeps_partition(&self, provider: &str, day: &str) -> Result<bool> {
        if day == NULL_PARTITION {
            if self.times.is_some() {
                return Ok(false);
            }
        } else if let Some(start) = day_start(day)
            && !self.keeps_times(start, start + DAY - 1)
        {
            return Ok(false);
        }
        if self.provider_terms.is_empty() {
            return Ok(true);
        }
        let probe = Column::new(PROVIDER.into(), [provider])
            .cast(
                Dictionaries::shared()
                    .dtype(PROVIDER)
                    .unwrap_or(&DataType::String),
            )
            .map_err(Error::polars("testing a partition's provider"))?;
        let frame = DataFrame::new(1, vec![probe])
            .map_err(Error::polars("testing a partition's provider"))?;
        for term in &self.provider_terms {
            let expr = filter::compile(term, &self.ctx)
                .map_err(|e| Error::Invalid(format!("invalid filter: {}", e.message)))?;
            if !holds(&frame, expr)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether the filter looks values up (row groups' value indexes are then worth reading).
    pub fn looks_up_values(&self) -> bool {
        !self.lookups.is_empty()
    }

    /// Whether a row group whose values `group` describes can hold a match.
    pub fn keeps_values(&self, group: &GroupValues) -> bool {
        (self.lookups.iter()).all(|any| any.iter().any(|probe| group.may_hold(probe)))
    }

    /// Whether events between `min` and `max` (inclusive) can match.
    pub fn keeps_times(&self, min: i64, max: i64) -> bool {
        match self.times {
            Some((start, end)) => max >= start && min < end,
            None => true,
        }
    }
}

/// The terms every match satisfies: the filter itself, or the items of its top-level `and`s.
fn top_level<'a>(expr: &'a FilterExpr, out: &mut Vec<&'a FilterExpr>) {
    match expr {
        FilterExpr::And(items) => items.iter().for_each(|i| top_level(i, out)),
        other => out.push(other),
    }
}

/// Whether a term reads the provider and nothing else.
fn only_provider(expr: &FilterExpr) -> bool {
    match expr {
        FilterExpr::And(items) | FilterExpr::Or(items) => {
            !items.is_empty() && items.iter().all(only_provider)
        }
        FilterExpr::Not(inner) => only_provider(inner),
        FilterExpr::Field { field, .. } | FilterExpr::InList { field, .. } => *field == PROVIDER,
        _ => false,
    }
}

/// The values one of which every match of `expr` holds, when the index can tell: a whole
/// value without wildcards (`actor:alice`), a single address (`ip:203.0.113.7`), a list of
/// either, or an `or` of such terms; None otherwise.
fn probes(expr: &FilterExpr, ctx: &FilterContext) -> Option<Vec<Probe>> {
    let text = |field: &str, value: &str| Probe::text(field, &literal_of(&pattern_pieces(value))?);
    let address = |value: &str| Some(Probe::address(Cidr::parse(value)?.single()?));
    match expr {
        FilterExpr::Field {
            field,
            op: MatchOp::Match,
            value,
            ..
        } => Some(vec![text(field, value)?]),
        FilterExpr::Cidr { cidr, .. } => Some(vec![address(cidr)?]),
        FilterExpr::InList { field, list, .. } => {
            let values = filter::list_values(list, ctx, &(0..0)).ok()?;
            if *field == IP {
                values.iter().map(|v| address(v)).collect()
            } else {
                values.iter().map(|v| text(field, v)).collect()
            }
        }
        FilterExpr::Or(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(probes(item, ctx)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// The first microsecond of a `YYYY-MM-DD` partition.
pub(super) fn day_start(day: &str) -> Option<i64> {
    let date: jiff::civil::Date = day.parse().ok()?;
    let ts = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(ts.as_microsecond())
}

/// Whether `expr` is true for the one row of `frame`.
fn holds(frame: &DataFrame, expr: Expr) -> Result<bool> {
    let out = frame
        .clone()
        .lazy()
        .select([expr.alias("__holds")])
        .collect()
        .map_err(Error::polars("testing a filter term"))?;
    Ok(out
        .column("__holds")
        .ok()
        .and_then(|c| c.bool().ok().and_then(|b| b.get(0)))
        .unwrap_or(false))
}

/// The interval `[start, end)` a time term accepts, found by evaluating the term as the
/// filter compiles it (so it cannot disagree with the filter): `after:`/`last:` accept from
/// a point on, `before:` up to one, `time:` a stretch starting where `after:` of the same
/// value starts. Each boundary is a binary search over the representable times.
fn time_interval(bound: TimeBound, value: &str, ctx: &FilterContext) -> Result<(i64, i64)> {
    let compile = |bound: TimeBound| {
        let term = FilterExpr::Time {
            bound,
            value: value.to_string(),
            span: 0..0,
        };
        filter::compile(&term, ctx)
            .map_err(|e| Error::Invalid(format!("invalid filter: {}", e.message)))
    };
    let at = |expr: &Expr, t: i64| -> Result<bool> {
        let times = Column::new(TIME.into(), [t])
            .cast(&schema::time_dtype())
            .map_err(Error::polars("testing a time term"))?;
        let frame = DataFrame::new(1, vec![times]).map_err(Error::polars("testing a time term"))?;
        holds(&frame, expr.clone())
    };
    let (lo, hi) = (schema::TIME_RANGE.start, schema::TIME_RANGE.end);
    // The first t in [from, hi) where `pred` holds, `pred` being false then true there.
    let first_true = |expr: &Expr, from: i64, want: bool| -> Result<i64> {
        let (mut a, mut b) = (from, hi);
        while a < b {
            let mid = a + (b - a) / 2;
            if at(expr, mid)? == want {
                b = mid;
            } else {
                a = mid + 1;
            }
        }
        Ok(a)
    };
    Ok(match bound {
        TimeBound::After | TimeBound::Last => (first_true(&compile(bound)?, lo, true)?, i64::MAX),
        TimeBound::Before => (i64::MIN, first_true(&compile(bound)?, lo, false)?),
        TimeBound::During => {
            let start = first_true(&compile(TimeBound::After)?, lo, true)?;
            let during = compile(TimeBound::During)?;
            if start >= hi || !at(&during, start)? {
                (start, start)
            } else {
                (start, first_true(&during, start, false)?)
            }
        }
    })
}
