//! Timelines: events per time bucket, one lane per value of a column, with buckets starting
//! at local boundaries of a display time zone; and the bucket arithmetic (sizes, labels,
//! widening to stay within a bucket limit) the TUI's zoom shares.

use std::collections::HashMap;

use polars::prelude::*;

use crate::schema::TIME;
use crate::time::{DAY, DurationError, HOUR, SECOND, YEAR, parse_duration};
use crate::{Error, Result};

use super::keys::{
    COUNT, Key, category_names, check_column, grouped_counts, grouped_keys, key_expr,
    top_with_other,
};
use super::{Spec, TimelineSpec};

impl Spec for TimelineSpec {
    type Output = Timeline;

    fn columns(&self) -> Vec<&str> {
        vec![TIME, self.by.as_str()]
    }

    fn compute(&self, events: &DataFrame) -> Result<Timeline> {
        timeline(events, self)
    }
}

/// Bucket sizes offered when none is given, smallest first (microseconds).
pub const BUCKETS: [(i64, &str); 12] = [
    (60 * SECOND, "1m"),
    (5 * 60 * SECOND, "5m"),
    (15 * 60 * SECOND, "15m"),
    (30 * 60 * SECOND, "30m"),
    (HOUR, "1h"),
    (3 * HOUR, "3h"),
    (6 * HOUR, "6h"),
    (12 * HOUR, "12h"),
    (DAY, "1d"),
    (7 * DAY, "7d"),
    (30 * DAY, "30d"),
    (365 * DAY, "365d"),
];

/// The most buckets a timeline has (its lanes share them). A timeline holds a count per
/// bucket and lane, so without a limit its memory follows the time span, not the events:
/// 1970 to 2024 in minutes is 28 million buckets per lane. 10,000 is more rows than a
/// table is read by, 25 screens of the widest terminal to pan through in the TUI, and still
/// a year in hours (8,760) or a day in 10 seconds (8,640); with the default 10 lanes it is
/// under 1 MB of counts.
pub const MAX_TIMELINE_BUCKETS: usize = 10_000;

/// The most counts (buckets times lanes, the totals included) a timeline holds: with many
/// lanes (`--top 1000`) the bucket widens further, so the counts stay within 8 MB and the
/// printed grid within about 100 MB however many lanes are asked for.
pub const MAX_TIMELINE_CELLS: usize = 1_000_000;

/// Bucket sizes a bucket asked for widens to when it would make too many buckets, smallest
/// first: a few under a minute, then [`BUCKETS`]; past them, whole multiples of 365 days.
fn wider_buckets() -> impl Iterator<Item = i64> {
    [SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND]
        .into_iter()
        .chain(BUCKETS.iter().map(|(b, _)| *b))
}

/// How many buckets of `bucket` µs the local times `lo..=hi` fall into, counted the way the
/// timeline groups them (floor division) and without overflow at any instant.
pub fn bucket_count(lo: i64, hi: i64, bucket: i64) -> u128 {
    let b = i128::from(bucket.max(1));
    let (lo, hi) = (i128::from(lo.min(hi)), i128::from(lo.max(hi)));
    (hi.div_euclid(b) - lo.div_euclid(b) + 1).unsigned_abs()
}

/// The bucket to count local times `lo..=hi` with when `wanted` was asked for: `wanted` when
/// it makes at most `limit` buckets, else the smallest wider size that does (see
/// [`wider_buckets`]). Only the span's two ends are looked at, so this costs nothing however
/// long the span.
pub fn widen_bucket(lo: i64, hi: i64, wanted: i64, limit: usize) -> i64 {
    let wanted = wanted.max(1);
    // One bucket cannot always be had: two neighbouring instants can straddle a boundary.
    let limit = limit.max(2) as u128;
    if bucket_count(lo, hi, wanted) <= limit {
        return wanted;
    }
    if let Some(bucket) =
        wider_buckets().find(|b| *b >= wanted && bucket_count(lo, hi, *b) <= limit)
    {
        return bucket;
    }
    // Whole years, starting from the count that is at most one bucket short of fitting.
    let span = (i128::from(hi) - i128::from(lo)).unsigned_abs();
    let mut years = span / (limit - 1) / YEAR as u128 + 1;
    loop {
        let bucket = i64::try_from(years * YEAR as u128).unwrap_or(i64::MAX);
        if bucket == i64::MAX || bucket_count(lo, hi, bucket) <= limit {
            return bucket.max(wanted);
        }
        years += 1;
    }
}

/// Parses a bucket size: a positive duration (`90s`, `15m`, `1h30m`, `1d`, `1w`), in
/// microseconds.
pub fn parse_bucket(text: &str) -> Result<i64> {
    match parse_duration(text) {
        Ok(0) => Err(Error::Invalid(format!(
            "duration must be positive: '{text}'"
        ))),
        Ok(us) => Ok(us),
        Err(DurationError::TooLong) => Err(Error::Invalid(format!(
            "duration too long: '{text}' (at most about 290,000 years)"
        ))),
        Err(DurationError::Invalid) => Err(Error::Invalid(format!(
            "invalid duration '{text}' (use e.g. 30s, 5m, 1h, 1d, 1w)"
        ))),
    }
}

/// The bucket size giving fewer than `max_buckets` buckets over a time range: the smallest
/// of [`BUCKETS`] that does, else a whole number of 365-day years, so any span fits.
pub fn auto_bucket(first: i64, last: i64, max_buckets: i64) -> i64 {
    let span = (i128::from(last) - i128::from(first)).max(1);
    let max_buckets = i128::from(max_buckets.max(1));
    BUCKETS
        .iter()
        .map(|(b, _)| *b)
        .find(|b| span / i128::from(*b) < max_buckets)
        .unwrap_or_else(|| {
            let years = span / i128::from(YEAR) / max_buckets + 1;
            i64::try_from(years * i128::from(YEAR)).unwrap_or(i64::MAX)
        })
}

/// A label for a bucket size (`1h`, `15m`, `90s`; whole days past the named sizes as `730d`).
pub fn bucket_label(bucket: i64) -> String {
    BUCKETS
        .iter()
        .find(|(b, _)| *b == bucket)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| {
            if bucket >= DAY && bucket % DAY == 0 {
                format!("{}d", bucket / DAY)
            } else {
                format!("{}s", bucket / SECOND)
            }
        })
}

/// The UTC offsets (µs) of `tz` over `[first, last]`: the offset at `first`, then each change
/// as (instant, new offset). At most 400 changes are followed (two centuries of daylight
/// saving); past them the last offset holds.
fn offset_changes(tz: &jiff::tz::TimeZone, first: i64, last: i64) -> (i64, Vec<(i64, i64)>) {
    let Ok(start) = jiff::Timestamp::from_microsecond(first) else {
        return (0, Vec::new());
    };
    let initial = i64::from(tz.to_offset(start).seconds()) * SECOND;
    let mut changes = Vec::new();
    for t in tz.following(start) {
        let at = t.timestamp().as_microsecond();
        if at > last {
            break;
        }
        changes.push((at, i64::from(t.offset().seconds()) * SECOND));
        if changes.len() > 400 {
            break;
        }
    }
    (initial, changes)
}

/// An expression of the local wall-clock time (µs) of `time` in `tz`, valid for events in
/// `[first, last]`: the UTC offset is piecewise constant between the zone's transitions, so
/// this stays a cheap vectorized expression (no per-row zone lookups).
pub fn local_time_expr(tz: &jiff::tz::TimeZone, first: i64, last: i64) -> Expr {
    let utc = col(TIME).to_physical();
    let (initial, changes) = offset_changes(tz, first, last);
    let mut expr = lit(initial);
    for (at, offset) in changes {
        expr = when(utc.clone().gt_eq(lit(at)))
            .then(lit(offset))
            .otherwise(expr);
    }
    utc + expr
}

/// The earliest and latest local wall-clock times (µs) that events in `[first, last]` can
/// have in `tz`, from the smallest and largest offset in that range.
fn local_bounds(tz: &jiff::tz::TimeZone, first: i64, last: i64) -> (i64, i64) {
    let (initial, changes) = offset_changes(tz, first, last);
    let offsets = std::iter::once(initial).chain(changes.iter().map(|(_, o)| *o));
    let (low, high) = offsets.fold((initial, initial), |(lo, hi), o| (lo.min(o), hi.max(o)));
    (first.saturating_add(low), last.saturating_add(high))
}

/// Counts per time bucket, one lane per value.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The lane column.
    pub by: String,
    /// Bucket size (µs).
    pub bucket: i64,
    /// Local wall-clock start of each bucket (µs since the epoch, as if UTC).
    pub starts: Vec<i64>,
    /// Lanes, busiest first; "(other)" last.
    pub lanes: Vec<Lane>,
    /// Events per bucket over all lanes.
    pub totals: Vec<u64>,
    /// Set when the bucket asked for would have made too many buckets and was widened.
    pub widened: Option<Widening>,
}

/// Why a timeline's bucket is wider than the one asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widening {
    /// The bucket asked for (µs).
    pub requested: i64,
    /// How many buckets it would have made.
    pub would_make: u128,
    /// The most buckets the timeline could have ([`MAX_TIMELINE_BUCKETS`], fewer with many lanes).
    pub limit: usize,
    /// The local wall-clock span counted (µs, as if UTC).
    pub span: (i64, i64),
}

/// One lane of a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// The value.
    pub key: Key,
    /// Events per bucket.
    pub counts: Vec<u64>,
    /// Events in the lane.
    pub total: u64,
}

impl Timeline {
    /// The label of bucket `i` (local time, minute precision; seconds for buckets under a minute).
    pub fn label(&self, i: usize) -> String {
        let Some(start) = self.starts.get(i) else {
            return String::new();
        };
        format_local(*start, self.bucket)
    }

    /// A sentence for a person when the bucket asked for was widened: the span, the bucket
    /// asked for, how many buckets it would have made, the limit, and the bucket used.
    pub fn widening_note(&self) -> Option<String> {
        let w = self.widened.as_ref()?;
        Some(format!(
            "bucket {} would make {} buckets from {} to {}; a timeline has at most {}, so the bucket is {}",
            bucket_label(w.requested),
            w.would_make,
            format_local(w.span.0, SECOND),
            format_local(w.span.1, SECOND),
            w.limit,
            bucket_label(self.bucket)
        ))
    }
}

/// Formats a local wall-clock instant (µs, as if UTC) with the precision a bucket needs.
pub fn format_local(local_us: i64, bucket: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_microsecond(local_us) else {
        return String::new();
    };
    let civil = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    if bucket >= DAY {
        civil.strftime("%Y-%m-%d").to_string()
    } else if bucket >= 60 * SECOND {
        civil.strftime("%Y-%m-%d %H:%M").to_string()
    } else {
        civil.strftime("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// The most buckets a timeline with `lanes` lanes may have (see [`MAX_TIMELINE_CELLS`]).
fn bucket_limit(lanes: usize) -> usize {
    (MAX_TIMELINE_CELLS / (lanes + 1)).clamp(2, MAX_TIMELINE_BUCKETS)
}

/// The bucket index column of the grouped counts.
const BUCKET: &str = "bucket";

/// Counts per (bucket, lane value) at one bucket size, with the lanes shown.
struct BucketCounts {
    /// Bucket index (local time floor-divided by the bucket) of each group.
    buckets: Vec<i64>,
    /// Lane value of each group.
    keys: Vec<Key>,
    /// Events in each group.
    counts: Vec<u64>,
    /// The lanes shown, busiest first, "(other)" last, with their totals.
    shown: Vec<(Key, u64)>,
}

/// One pass over the timed events: counts per (bucket, lane value). The result has at most
/// one row per event, whatever the span.
fn count_buckets(
    timed: &LazyFrame,
    local: &Expr,
    bucket: i64,
    spec: &TimelineSpec,
) -> Result<BucketCounts> {
    let (buckets, keys, counts) = grouped_buckets(timed, local, bucket, &spec.by)?;
    let mut sums: HashMap<&Key, u64> = HashMap::new();
    for (k, n) in keys.iter().zip(&counts) {
        *sums.entry(k).or_default() += n;
    }
    let shown = top_with_other(sums, spec.top);
    Ok(BucketCounts {
        buckets,
        keys,
        counts,
        shown,
    })
}

/// Counts per (bucket, lane value) of the timed events: bucket indexes, lane values, counts.
fn grouped_buckets(
    timed: &LazyFrame,
    local: &Expr,
    bucket: i64,
    by: &str,
) -> Result<(Vec<i64>, Vec<Key>, Vec<u64>)> {
    let grouped = timed
        .clone()
        .group_by([
            local.clone().floor_div(lit(bucket)).alias(BUCKET),
            key_expr(by),
        ])
        .agg([len().cast(DataType::UInt64).alias(COUNT)])
        .collect()
        .map_err(Error::polars("counting timeline buckets"))?;
    let buckets: Vec<i64> = grouped
        .column(BUCKET)
        .map_err(Error::polars("timeline"))?
        .as_materialized_series()
        .i64()
        .map_err(Error::polars("timeline"))?
        .iter()
        .map(|b| b.unwrap_or(0))
        .collect();
    let keys = grouped_keys(&grouped, by, &category_names(by))?;
    let counts = grouped_counts(&grouped)?;
    Ok((buckets, keys, counts))
}

/// Builds a timeline of a (filtered) frame. Events without a time are not counted.
///
/// The bucket is widened when it would make more than [`MAX_TIMELINE_BUCKETS`] buckets (or
/// more than [`MAX_TIMELINE_CELLS`] counts over the lanes), so memory follows the events and
/// that limit, never the time span; [`Timeline::widened`] says so.
pub fn timeline(frame: &DataFrame, spec: &TimelineSpec) -> Result<Timeline> {
    check_column(&spec.by)?;
    let timed = frame.clone().lazy().filter(col(TIME).is_not_null());
    let (Some(first), Some(last)) = time_span(frame)? else {
        return Ok(empty_timeline(spec, spec.bucket.unwrap_or(HOUR)));
    };
    let (mut plan, local) = Plan::new(spec, first, last);
    let mut counted = count_buckets(&timed, &local, plan.bucket, spec)?;
    // The lanes are known only now; many of them share the count budget, which can take a
    // second, coarser pass (lane totals do not depend on the bucket, so one is enough).
    plan.limit = bucket_limit(counted.shown.len());
    let coarser = widen_bucket(plan.lo, plan.hi, plan.bucket, plan.limit);
    if coarser != plan.bucket {
        plan.bucket = coarser;
        counted = count_buckets(&timed, &local, plan.bucket, spec)?;
    }
    assemble(spec, &plan, &counted)
}

/// The earliest and latest event time of a frame.
fn time_span(frame: &DataFrame) -> Result<(Option<i64>, Option<i64>)> {
    let times = frame.column(TIME).map_err(Error::polars("reading times"))?;
    let physical = times.as_materialized_series().to_physical_repr();
    let ca = physical.i64().map_err(Error::polars("reading times"))?;
    Ok((ca.min(), ca.max()))
}

fn empty_timeline(spec: &TimelineSpec, bucket: i64) -> Timeline {
    Timeline {
        by: spec.by.clone(),
        bucket,
        starts: vec![],
        lanes: vec![],
        totals: vec![],
        widened: None,
    }
}

/// How a timeline's events are bucketed: their time span (UTC and local) and the bucket.
#[derive(Debug, Clone)]
struct Plan {
    first: i64,
    last: i64,
    /// The local wall-clock span.
    lo: i64,
    hi: i64,
    bucket: i64,
    /// The most buckets the lanes leave room for ([`bucket_limit`]).
    limit: usize,
}

impl Plan {
    /// The plan of events from `first` to `last` before the lanes are known (at most
    /// [`MAX_TIMELINE_BUCKETS`]), and the expression of their local times.
    fn new(spec: &TimelineSpec, first: i64, last: i64) -> (Plan, Expr) {
        let wanted = spec.bucket.unwrap_or_else(|| auto_bucket(first, last, 60));
        let (lo, hi) = local_bounds(&spec.tz, first, last);
        let plan = Plan {
            first,
            last,
            lo,
            hi,
            bucket: widen_bucket(lo, hi, wanted, MAX_TIMELINE_BUCKETS),
            limit: MAX_TIMELINE_BUCKETS,
        };
        (plan, local_time_expr(&spec.tz, first, last))
    }
}

/// The timeline of the counted buckets.
fn assemble(spec: &TimelineSpec, plan: &Plan, counted: &BucketCounts) -> Result<Timeline> {
    let (bucket, limit, (lo, hi)) = (plan.bucket, plan.limit, (plan.lo, plan.hi));
    let (Some(&first_bucket), Some(&last_bucket)) =
        (counted.buckets.iter().min(), counted.buckets.iter().max())
    else {
        return Ok(empty_timeline(spec, bucket));
    };
    // The local bounds saturate where the vectorized local time would wrap around (instants
    // near the ends of i64); refuse rather than allocate if the buckets disagree with them.
    let width = i128::from(last_bucket) - i128::from(first_bucket) + 1;
    let width = match usize::try_from(width) {
        Ok(w) if w <= limit => w,
        _ => {
            return Err(Error::Invalid(format!(
                "cannot count times from {} to {} in at most {limit} buckets",
                crate::text::format_time_utc(plan.first),
                crate::text::format_time_utc(plan.last)
            )));
        }
    };
    let index: HashMap<&Key, usize> = counted
        .shown
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k, i))
        .collect();
    let other = index.get(&Key::Other).copied();
    let mut lanes: Vec<Lane> = counted
        .shown
        .iter()
        .map(|(key, total)| Lane {
            key: key.clone(),
            counts: vec![0; width],
            total: *total,
        })
        .collect();
    let mut totals = vec![0u64; width];
    for ((k, n), b) in counted
        .keys
        .iter()
        .zip(&counted.counts)
        .zip(&counted.buckets)
    {
        let slot = (b - first_bucket) as usize;
        if let Some(lane) = index.get(k).copied().or(other)
            && let Some(count) = lanes.get_mut(lane).and_then(|l| l.counts.get_mut(slot))
        {
            *count += n;
        }
        if let Some(total) = totals.get_mut(slot) {
            *total += n;
        }
    }
    let widened = spec
        .bucket
        .filter(|requested| *requested != bucket)
        .map(|requested| Widening {
            requested,
            would_make: bucket_count(lo, hi, requested),
            limit,
            span: (lo, hi),
        });
    Ok(Timeline {
        by: spec.by.clone(),
        bucket,
        starts: (0..width as i64)
            .map(|i| first_bucket.saturating_add(i).saturating_mul(bucket))
            .collect(),
        lanes,
        totals,
        widened,
    })
}

/// What a timeline needs of all its events before it can count them per bucket: their time
/// span. Computed over parts of the events (files of a lake) from their times alone and
/// [`add`](TimelineSpan::add)ed up; then a [`TimelineCounter`] counts the same parts into
/// buckets and lanes, giving the timeline of all the events while holding only the counts
/// per bucket and lane value.
#[derive(Debug, Clone, Default)]
pub struct TimelineSpan {
    first: Option<i64>,
    last: Option<i64>,
}

impl TimelineSpan {
    /// The span of `events` (holding `time`).
    pub fn of(events: &DataFrame) -> Result<TimelineSpan> {
        let (first, last) = time_span(events)?;
        Ok(TimelineSpan { first, last })
    }

    /// Adds the span of other events.
    pub fn add(&mut self, other: TimelineSpan) {
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = self.last.max(other.last);
    }

    /// The counter of the timeline of these events, at the bucket [`timeline`] counts with
    /// first.
    pub fn counter(self, spec: &TimelineSpec) -> Result<TimelineCounter> {
        check_column(&spec.by)?;
        let plan = match (self.first, self.last) {
            (Some(first), Some(last)) => Some(Plan::new(spec, first, last)),
            _ => None,
        };
        Ok(TimelineCounter {
            spec: spec.clone(),
            plan,
            recounted: false,
            cells: HashMap::new(),
        })
    }
}

/// Counts parts of a timeline's events into its buckets (see [`TimelineSpan`]).
#[derive(Debug, Clone)]
pub struct TimelineCounter {
    spec: TimelineSpec,
    /// None when no event has a time.
    plan: Option<(Plan, Expr)>,
    /// Whether this is the second count, at the bucket the lanes left room for.
    recounted: bool,
    /// Events per (bucket index, lane value).
    cells: HashMap<(i64, Key), u64>,
}

/// What counting a timeline's parts gave: the timeline, or the need to count them again at
/// a coarser bucket (many lanes share the count budget, as in [`timeline`]).
#[derive(Debug)]
pub enum Counted {
    /// The timeline of every event counted.
    Done(Timeline),
    /// The same parts are to be counted again with this counter.
    Again(TimelineCounter),
}

impl TimelineCounter {
    /// Counts `events` (a part of those the span was made of) into the buckets.
    pub fn add(&mut self, events: &DataFrame) -> Result<()> {
        let Some((plan, local)) = &self.plan else {
            return Ok(());
        };
        let timed = events.clone().lazy().filter(col(TIME).is_not_null());
        let (buckets, keys, counts) = grouped_buckets(&timed, local, plan.bucket, &self.spec.by)?;
        for ((bucket, key), n) in buckets.into_iter().zip(keys).zip(counts) {
            *self.cells.entry((bucket, key)).or_default() += n;
        }
        Ok(())
    }

    /// Counts per bucket and lane value held.
    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    /// The timeline of every event counted, or a counter for a second count when the lanes
    /// need a coarser bucket.
    pub fn finish(self) -> Result<Counted> {
        let Some((mut plan, local)) = self.plan else {
            let bucket = self.spec.bucket.unwrap_or(HOUR);
            return Ok(Counted::Done(empty_timeline(&self.spec, bucket)));
        };
        let mut counted = BucketCounts {
            buckets: Vec::with_capacity(self.cells.len()),
            keys: Vec::with_capacity(self.cells.len()),
            counts: Vec::with_capacity(self.cells.len()),
            shown: Vec::new(),
        };
        for ((bucket, key), n) in self.cells {
            counted.buckets.push(bucket);
            counted.keys.push(key);
            counted.counts.push(n);
        }
        let mut sums: HashMap<&Key, u64> = HashMap::new();
        for (k, n) in counted.keys.iter().zip(&counted.counts) {
            *sums.entry(k).or_default() += n;
        }
        counted.shown = top_with_other(sums, self.spec.top);
        plan.limit = bucket_limit(counted.shown.len());
        let coarser = widen_bucket(plan.lo, plan.hi, plan.bucket, plan.limit);
        if coarser != plan.bucket && !self.recounted {
            plan.bucket = coarser;
            return Ok(Counted::Again(TimelineCounter {
                spec: self.spec,
                plan: Some((plan, local)),
                recounted: true,
                cells: HashMap::new(),
            }));
        }
        assemble(&self.spec, &plan, &counted).map(Counted::Done)
    }
}
