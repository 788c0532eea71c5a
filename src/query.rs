//! Read-only analyses over the event frame. Each takes a frame (the store's, or a filtered
//! view of it) and returns a small struct or frame.

use std::collections::HashMap;

use polars::prelude::*;

use crate::schema::{
    self, ACTION, ACTOR, ACTOR_TYPE, Dictionaries, MFA, OUTCOME, PRIVILEGED, PROVIDER, READ_ONLY, SOURCE, SRC_IP,
    TIME,
};
use crate::{Error, Result};

/// Counts per value of a column, most frequent first.
pub type Counts = Vec<(String, u64)>;

/// The overview of a frame shown by `trailscope summary`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Events in the frame.
    pub events: u64,
    /// Earliest event time (UTC microseconds).
    pub first: Option<i64>,
    /// Latest event time (UTC microseconds).
    pub last: Option<i64>,
    /// Distinct actors.
    pub actors: u64,
    /// Events without a timestamp.
    pub without_time: u64,
    /// Events per provider.
    pub providers: Counts,
    /// The most frequent actions.
    pub top_actions: Counts,
    /// Per input (the `source` column): events, first and last time.
    pub per_source: Vec<SourceSummary>,
}

/// Time range and size of one input's events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceSummary {
    /// The input's name.
    pub source: String,
    /// Events loaded from it.
    pub events: u64,
    /// Earliest event time.
    pub first: Option<i64>,
    /// Latest event time.
    pub last: Option<i64>,
    /// Distinct actors.
    pub actors: u64,
}

/// Summarizes a frame: time range, distinct actors, counts by provider, top actions.
pub fn summarize(frame: &DataFrame, top_actions: usize) -> Result<Summary> {
    let err = Error::polars("summarizing events");
    let time = frame
        .column(TIME)
        .map_err(Error::polars("summarizing events"))?;
    let physical = time.as_materialized_series().to_physical_repr();
    let times = physical.i64().map_err(err)?;
    let actors = frame
        .column(ACTOR)
        .and_then(|c| c.drop_nulls().n_unique())
        .map_err(Error::polars("counting actors"))? as u64;
    let per_source = frame
        .clone()
        .lazy()
        .group_by([key_expr(SOURCE)])
        .agg([
            len().alias("events"),
            col(TIME).min().alias("first"),
            col(TIME).max().alias("last"),
            col(ACTOR).drop_nulls().n_unique().alias("actors"),
        ])
        .collect()
        .map_err(Error::polars("summarizing inputs"))?;
    let mut sources = Vec::with_capacity(per_source.height());
    for row in 0..per_source.height() {
        let value = |name: &str| per_source.column(name).ok().and_then(|c| c.get(row).ok());
        sources.push(SourceSummary {
            source: value(SOURCE)
                .and_then(|v| v.extract_str().map(str::to_string))
                .unwrap_or_default(),
            events: value("events")
                .and_then(|v| v.extract::<u64>())
                .unwrap_or(0),
            first: value("first").and_then(any_to_micros),
            last: value("last").and_then(any_to_micros),
            actors: value("actors")
                .and_then(|v| v.extract::<u64>())
                .unwrap_or(0),
        });
    }
    Ok(Summary {
        events: frame.height() as u64,
        first: times.min(),
        last: times.max(),
        actors,
        without_time: times.null_count() as u64,
        providers: value_counts(frame, PROVIDER, usize::MAX)?,
        top_actions: value_counts(frame, ACTION, top_actions)?,
        per_source: sources,
    })
}

fn any_to_micros(value: AnyValue<'_>) -> Option<i64> {
    match value {
        AnyValue::Datetime(v, _, _) => Some(v),
        AnyValue::DatetimeOwned(v, _, _) => Some(v),
        AnyValue::Int64(v) => Some(v),
        _ => None,
    }
}

/// The `limit` most frequent non-null values of a column, with their counts, most frequent
/// first (ties by value).
pub fn value_counts(frame: &DataFrame, column: &str, limit: usize) -> Result<Counts> {
    check_column(column)?;
    let counted = frame
        .clone()
        .lazy()
        .filter(col(column).is_not_null())
        .group_by([key_expr(column)])
        .agg([len().cast(DataType::UInt64).alias("count")])
        .collect()
        .map_err(Error::polars("counting values"))?;
    let names = category_names(column);
    let keys = counted.column(column).map_err(Error::polars("counting values"))?;
    let counts = counted.column("count").map_err(Error::polars("counting values"))?;
    let mut out: Counts = (0..counted.height())
        .map(|i| {
            let key = key_of(column, keys.get(i).unwrap_or(AnyValue::Null), &names);
            let count = counts.get(i).ok().and_then(|v| v.extract::<u64>()).unwrap_or(0);
            (key.label().to_string(), count)
        })
        .collect();
    out.sort_by(|(va, ca), (vb, cb)| cb.cmp(ca).then_with(|| va.cmp(vb)));
    out.truncate(limit);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Grouping keys: categorical columns are grouped by their physical ids (u32), which is
// several times faster than grouping strings; ids are turned back into text only for the
// few groups a result shows.
// ---------------------------------------------------------------------------------------

/// The bucket for values outside the top N.
pub const OTHER: &str = "(other)";
/// The label of a null value.
pub const NONE: &str = "(none)";

/// A value a result is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A value of the column (display text).
    Value(String),
    /// The column was null.
    Null,
    /// Everything outside the top N.
    Other,
}

impl Key {
    /// The label shown for this key.
    pub fn label(&self) -> &str {
        match self {
            Key::Value(v) => v,
            Key::Null => NONE,
            Key::Other => OTHER,
        }
    }
}

fn is_categorical(column: &str) -> bool {
    schema::CATEGORICAL_COLUMNS.contains(&column) || column == SOURCE
}

/// Checks that a column exists in the event schema.
pub fn check_column(column: &str) -> Result<()> {
    if schema::EVENT_COLUMNS.contains(&column) || column == SOURCE {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "unknown column '{column}'; columns: {}",
            schema::EVENT_COLUMNS.join(", ")
        )))
    }
}

/// The expression a column is grouped by, as `i64`-compatible or string keys.
fn key_expr(column: &str) -> Expr {
    if is_categorical(column) {
        col(column).to_physical().alias(column)
    } else if column == TIME {
        col(column).to_physical().alias(column)
    } else {
        col(column)
    }
}

/// Turns a grouped key value back into a [`Key`].
fn key_of(column: &str, value: AnyValue<'_>, names: &HashMap<u32, String>) -> Key {
    match value {
        AnyValue::Null => Key::Null,
        AnyValue::UInt32(id) if is_categorical(column) => {
            names.get(&id).map(|s| Key::Value(s.clone())).unwrap_or(Key::Null)
        }
        AnyValue::Int64(us) if column == TIME => Key::Value(crate::text::format_time_utc(us)),
        AnyValue::String(s) => Key::Value(s.to_string()),
        AnyValue::StringOwned(s) => Key::Value(s.to_string()),
        AnyValue::Boolean(b) => Key::Value(b.to_string()),
        other => Key::Value(other.str_value().to_string()),
    }
}

fn category_names(column: &str) -> HashMap<u32, String> {
    if is_categorical(column) {
        Dictionaries::shared().category_values(column).into_iter().collect()
    } else {
        HashMap::new()
    }
}

/// The filter text that selects events whose `column` has `key` (for drill-down).
pub fn key_filter(column: &str, key: &Key) -> String {
    match key {
        Key::Value(v) if matches!(column, MFA | READ_ONLY | PRIVILEGED) => format!("{column}:{v}"),
        Key::Value(v) => format!("{column}:{}", quote_filter_value(v)),
        Key::Null if matches!(column, MFA | READ_ONLY) => format!("{column}:unknown"),
        Key::Null => format!("-{column}:*"),
        Key::Other => String::new(),
    }
}

/// Quotes a value for the filter language so `field:VALUE` is an exact match.
pub fn quote_filter_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '/' | ':' | '+'))
        && !value.starts_with('-');
    if plain {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '*' => out.push_str("\\*"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------
// Pivot
// ---------------------------------------------------------------------------------------

/// What to pivot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PivotSpec {
    /// The column whose values become rows.
    pub rows: String,
    /// The column whose values become columns (none: a single count column).
    pub cols: Option<String>,
    /// Count distinct values of this column instead of events.
    pub distinct: Option<String>,
    /// Keep the N largest rows and columns; the rest go to "(other)".
    pub top: usize,
}

/// A pivot table: counts per (row value, column value), largest first, with totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Pivot {
    /// The spec it answers.
    pub spec: PivotSpec,
    /// Row keys, largest total first; `Other` last when present.
    pub row_keys: Vec<Key>,
    /// Column keys, largest total first; `Other` last when present.
    pub col_keys: Vec<Key>,
    /// `cells[r][c]`.
    pub cells: Vec<Vec<u64>>,
    /// Total per row.
    pub row_totals: Vec<u64>,
    /// Total per column.
    pub col_totals: Vec<u64>,
    /// Grand total (events, or distinct values over everything).
    pub total: u64,
}

impl Pivot {
    /// The filter selecting the events of a cell (`col` None: the whole row). The "(other)"
    /// bucket is expressed as "not any of the shown values".
    pub fn cell_filter(&self, row: usize, col: Option<usize>) -> String {
        let mut parts = Vec::new();
        if let Some(key) = self.row_keys.get(row) {
            parts.push(bucket_filter(&self.spec.rows, key, &self.row_keys));
        }
        if let (Some(c), Some(column)) = (col, &self.spec.cols)
            && let Some(key) = self.col_keys.get(c)
        {
            parts.push(bucket_filter(column, key, &self.col_keys));
        }
        parts.retain(|p| !p.is_empty());
        parts.join(" ")
    }
}

fn bucket_filter(column: &str, key: &Key, shown: &[Key]) -> String {
    match key {
        Key::Other => {
            let named: Vec<String> = shown
                .iter()
                .filter(|k| !matches!(k, Key::Other))
                .map(|k| key_filter(column, k))
                .collect();
            if named.is_empty() { String::new() } else { format!("not ({})", named.join(" or ")) }
        }
        key => key_filter(column, key),
    }
}

/// The `top` keys of a column by count (or distinct count), and whether others exist.
fn top_keys(frame: &DataFrame, column: &str, distinct: Option<&str>, top: usize) -> Result<(Vec<AnyValue<'static>>, bool)> {
    let measure = measure_expr(distinct);
    let grouped = frame
        .clone()
        .lazy()
        .group_by([key_expr(column)])
        .agg([measure.alias("n")])
        .sort(["n"], SortMultipleOptions::default().with_order_descending(true).with_maintain_order(true))
        .collect()
        .map_err(Error::polars("ranking pivot keys"))?;
    let keys = grouped.column(column).map_err(Error::polars("ranking pivot keys"))?;
    let shown = grouped.height().min(top.max(1));
    let values = (0..shown).filter_map(|i| keys.get(i).ok().map(|v| v.into_static())).collect();
    Ok((values, grouped.height() > shown))
}

fn measure_expr(distinct: Option<&str>) -> Expr {
    match distinct {
        Some(d) => col(d).drop_nulls().n_unique().cast(DataType::UInt64),
        None => len().cast(DataType::UInt64),
    }
}

/// The bucketed key: the value itself when among `top`, else a sentinel for "(other)".
fn bucket_expr(column: &str, top: &[AnyValue<'static>], others: bool) -> Result<Expr> {
    let key = key_expr(column);
    if !others {
        return Ok(key);
    }
    let values = Series::from_any_values(PlSmallStr::from_static("top"), top, false)
        .map_err(Error::polars("bucketing pivot keys"))?;
    let sentinel = match values.dtype() {
        DataType::UInt32 => lit(u32::MAX),
        DataType::Int64 => lit(i64::MIN),
        DataType::Boolean => return Ok(key),
        _ => lit(OTHER),
    };
    Ok(when(key.clone().is_in(lit(values).implode(true), true))
        .then(key)
        .otherwise(sentinel)
        .alias(column))
}

fn is_sentinel(value: &AnyValue<'_>) -> bool {
    matches!(value, AnyValue::UInt32(u32::MAX) | AnyValue::Int64(i64::MIN))
        || matches!(value, AnyValue::String(s) if *s == OTHER)
}

/// Builds a pivot of a (filtered) frame.
pub fn pivot(frame: &DataFrame, spec: &PivotSpec) -> Result<Pivot> {
    check_column(&spec.rows)?;
    if let Some(c) = &spec.cols {
        check_column(c)?;
    }
    if let Some(d) = &spec.distinct {
        check_column(d)?;
    }
    let distinct = spec.distinct.as_deref();
    let (row_top, row_others) = top_keys(frame, &spec.rows, distinct, spec.top)?;
    let row_bucket = bucket_expr(&spec.rows, &row_top, row_others)?;
    let row_names = category_names(&spec.rows);
    let mut group = vec![row_bucket.clone()];
    let mut col_names = HashMap::new();
    let mut col_bucket = None;
    if let Some(cols) = &spec.cols {
        let (col_top, col_others) = top_keys(frame, cols, distinct, spec.top)?;
        let bucket = bucket_expr(cols, &col_top, col_others)?;
        group.push(bucket.clone());
        col_bucket = Some(bucket);
        col_names = category_names(cols);
    }
    let measure = measure_expr(distinct);
    let cells = frame
        .clone()
        .lazy()
        .group_by(group)
        .agg([measure.clone().alias("n")])
        .collect()
        .map_err(Error::polars("counting pivot cells"))?;
    let totals_by = |bucket: Expr| -> Result<DataFrame> {
        frame
            .clone()
            .lazy()
            .group_by([bucket])
            .agg([measure.clone().alias("n")])
            .collect()
            .map_err(Error::polars("counting pivot totals"))
    };
    let to_key = |column: &str, value: AnyValue<'_>, names: &HashMap<u32, String>| {
        if is_sentinel(&value) { Key::Other } else { key_of(column, value, names) }
    };
    let count_at = |df: &DataFrame, i: usize| df.column("n").ok().and_then(|c| c.get(i).ok()).and_then(|v| v.extract::<u64>()).unwrap_or(0);
    // Row keys and totals.
    let row_totals_df = totals_by(row_bucket)?;
    let mut rows: Vec<(Key, u64)> = (0..row_totals_df.height())
        .map(|i| {
            let v = row_totals_df.column(&spec.rows).ok().and_then(|c| c.get(i).ok()).unwrap_or(AnyValue::Null);
            (to_key(&spec.rows, v, &row_names), count_at(&row_totals_df, i))
        })
        .collect();
    sort_keys(&mut rows);
    let mut cols: Vec<(Key, u64)> = Vec::new();
    if let (Some(c), Some(bucket)) = (&spec.cols, col_bucket) {
        let df = totals_by(bucket)?;
        cols = (0..df.height())
            .map(|i| {
                let v = df.column(c).ok().and_then(|col| col.get(i).ok()).unwrap_or(AnyValue::Null);
                (to_key(c, v, &col_names), count_at(&df, i))
            })
            .collect();
        sort_keys(&mut cols);
    }
    let row_index: HashMap<Key, usize> = rows.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect();
    let col_index: HashMap<Key, usize> = cols.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect();
    let width = cols.len().max(1);
    let mut matrix = vec![vec![0u64; width]; rows.len()];
    for i in 0..cells.height() {
        let rv = cells.column(&spec.rows).ok().and_then(|c| c.get(i).ok()).unwrap_or(AnyValue::Null);
        let r = row_index.get(&to_key(&spec.rows, rv, &row_names)).copied();
        let c = match &spec.cols {
            Some(cn) => {
                let cv = cells.column(cn).ok().and_then(|c| c.get(i).ok()).unwrap_or(AnyValue::Null);
                col_index.get(&to_key(cn, cv, &col_names)).copied()
            }
            None => Some(0),
        };
        if let (Some(r), Some(c)) = (r, c) {
            matrix[r][c] = count_at(&cells, i);
        }
    }
    let total = match distinct {
        Some(d) => frame.column(d).and_then(|c| c.drop_nulls().n_unique()).map_err(Error::polars("counting distinct values"))? as u64,
        None => frame.height() as u64,
    };
    Ok(Pivot {
        spec: spec.clone(),
        row_totals: rows.iter().map(|(_, n)| *n).collect(),
        row_keys: rows.into_iter().map(|(k, _)| k).collect(),
        col_totals: if spec.cols.is_some() { cols.iter().map(|(_, n)| *n).collect() } else { vec![total] },
        col_keys: cols.into_iter().map(|(k, _)| k).collect(),
        cells: matrix,
        total,
    })
}

/// Largest first, ties by label; "(other)" last.
fn sort_keys(keys: &mut [(Key, u64)]) {
    keys.sort_by(|(ka, na), (kb, nb)| {
        let other = |k: &Key| matches!(k, Key::Other);
        other(ka).cmp(&other(kb)).then(nb.cmp(na)).then_with(|| ka.label().cmp(kb.label()))
    });
}

// ---------------------------------------------------------------------------------------
// Time buckets in a display time zone
// ---------------------------------------------------------------------------------------

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
const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3600 * SECOND;
const DAY: i64 = 24 * HOUR;

/// Parses a duration like `90s`, `5m`, `1h`, `2d`, `1w` into microseconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().map_err(|_| Error::Invalid(format!("invalid duration '{text}' (use e.g. 30s, 5m, 1h, 1d, 1w)")))?;
    let unit_us = match unit.trim() {
        "s" | "sec" => SECOND,
        "m" | "min" => 60 * SECOND,
        "h" => HOUR,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => return Err(Error::Invalid(format!("invalid duration '{text}' (use e.g. 30s, 5m, 1h, 1d, 1w)"))),
    };
    if n <= 0 {
        return Err(Error::Invalid(format!("duration must be positive: '{text}'")));
    }
    Ok(n * unit_us)
}

/// The bucket size giving at most `max_buckets` buckets over a time range.
pub fn auto_bucket(first: i64, last: i64, max_buckets: i64) -> i64 {
    let span = (last - first).max(1);
    BUCKETS.iter().map(|(b, _)| *b).find(|b| span / b < max_buckets).unwrap_or(365 * DAY)
}

/// A label for a bucket size (`1h`, `15m`, `90s`).
pub fn bucket_label(bucket: i64) -> String {
    BUCKETS.iter().find(|(b, _)| *b == bucket).map(|(_, l)| l.to_string()).unwrap_or_else(|| format!("{}s", bucket / SECOND))
}

/// An expression of the local wall-clock time (µs) of `time` in `tz`, valid for events in
/// `[first, last]`: the UTC offset is piecewise constant between the zone's transitions, so
/// this stays a cheap vectorized expression (no per-row zone lookups).
pub fn local_time_expr(tz: &jiff::tz::TimeZone, first: i64, last: i64) -> Expr {
    let utc = col(TIME).to_physical();
    let Ok(start) = jiff::Timestamp::from_microsecond(first) else {
        return utc;
    };
    let offset_us = |ts: jiff::Timestamp| i64::from(tz.to_offset(ts).seconds()) * SECOND;
    let mut expr = lit(offset_us(start));
    let mut transitions = Vec::new();
    for t in tz.following(start) {
        let at = t.timestamp().as_microsecond();
        if at > last {
            break;
        }
        transitions.push((at, i64::from(t.offset().seconds()) * SECOND));
        if transitions.len() > 400 {
            break;
        }
    }
    for (at, offset) in transitions {
        expr = when(utc.clone().gt_eq(lit(at))).then(lit(offset)).otherwise(expr);
    }
    utc + expr
}

// ---------------------------------------------------------------------------------------
// Timeline
// ---------------------------------------------------------------------------------------

/// What to count over time.
#[derive(Debug, Clone)]
pub struct TimelineSpec {
    /// One lane per value of this column.
    pub by: String,
    /// Bucket size in microseconds (None: automatic, about 60 buckets).
    pub bucket: Option<i64>,
    /// Display time zone (buckets start at local boundaries).
    pub tz: jiff::tz::TimeZone,
    /// Lanes kept; the rest are summed into "(other)".
    pub top: usize,
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
    /// The label of bucket `i` (local time, minute precision).
    pub fn label(&self, i: usize) -> String {
        let Some(start) = self.starts.get(i) else {
            return String::new();
        };
        format_local(*start, self.bucket)
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
    } else {
        civil.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

/// Builds a timeline of a (filtered) frame. Events without a time are not counted.
pub fn timeline(frame: &DataFrame, spec: &TimelineSpec) -> Result<Timeline> {
    check_column(&spec.by)?;
    let timed = frame.clone().lazy().filter(col(TIME).is_not_null());
    let times = frame.column(TIME).map_err(Error::polars("reading times"))?;
    let physical = times.as_materialized_series().to_physical_repr();
    let ca = physical.i64().map_err(Error::polars("reading times"))?;
    let (Some(first), Some(last)) = (ca.min(), ca.max()) else {
        return Ok(Timeline { by: spec.by.clone(), bucket: spec.bucket.unwrap_or(HOUR), starts: vec![], lanes: vec![], totals: vec![] });
    };
    let bucket = spec.bucket.unwrap_or_else(|| auto_bucket(first, last, 60));
    let local = local_time_expr(&spec.tz, first, last);
    let bucket_expr = local.floor_div(lit(bucket)).alias("bucket");
    let (top, others) = top_keys(&frame.clone().lazy().filter(col(TIME).is_not_null()).collect().map_err(Error::polars("timeline"))?, &spec.by, None, spec.top)?;
    let lane_expr = bucket_expr_for_lane(&spec.by, &top, others)?;
    let grouped = timed
        .group_by([bucket_expr, lane_expr])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .collect()
        .map_err(Error::polars("counting timeline buckets"))?;
    let buckets = grouped.column("bucket").map_err(Error::polars("timeline"))?;
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for i in 0..grouped.height() {
        if let Some(b) = buckets.get(i).ok().and_then(|v| v.extract::<i64>()) {
            lo = lo.min(b);
            hi = hi.max(b);
        }
    }
    if lo > hi {
        return Ok(Timeline { by: spec.by.clone(), bucket, starts: vec![], lanes: vec![], totals: vec![] });
    }
    let width = (hi - lo + 1) as usize;
    let names = category_names(&spec.by);
    let mut lanes: HashMap<Key, Vec<u64>> = HashMap::new();
    let mut totals = vec![0u64; width];
    for i in 0..grouped.height() {
        let b = buckets.get(i).ok().and_then(|v| v.extract::<i64>()).unwrap_or(lo);
        let key_value = grouped.column(&spec.by).ok().and_then(|c| c.get(i).ok()).unwrap_or(AnyValue::Null);
        let key = if is_sentinel(&key_value) { Key::Other } else { key_of(&spec.by, key_value, &names) };
        let n = grouped.column("n").ok().and_then(|c| c.get(i).ok()).and_then(|v| v.extract::<u64>()).unwrap_or(0);
        let slot = (b - lo) as usize;
        lanes.entry(key).or_insert_with(|| vec![0; width])[slot] += n;
        totals[slot] += n;
    }
    let mut lanes: Vec<Lane> = lanes
        .into_iter()
        .map(|(key, counts)| Lane { total: counts.iter().sum(), key, counts })
        .collect();
    lanes.sort_by(|a, b| {
        let other = |k: &Key| matches!(k, Key::Other);
        other(&a.key).cmp(&other(&b.key)).then(b.total.cmp(&a.total)).then_with(|| a.key.label().cmp(b.key.label()))
    });
    Ok(Timeline {
        by: spec.by.clone(),
        bucket,
        starts: (0..width as i64).map(|i| (lo + i) * bucket).collect(),
        lanes,
        totals,
    })
}

fn bucket_expr_for_lane(column: &str, top: &[AnyValue<'static>], others: bool) -> Result<Expr> {
    bucket_expr(column, top, others)
}

// ---------------------------------------------------------------------------------------
// Activity profile
// ---------------------------------------------------------------------------------------

/// When an actor works: events per weekday (Monday first) and local hour.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The actor.
    pub actor: String,
    /// `counts[weekday][hour]`, weekday 0 = Monday.
    pub counts: [[u64; 24]; 7],
    /// The actor's usual cells: the hours holding 95% of the actor's events, on weekdays
    /// holding at least 5% of them.
    pub usual: [[bool; 24]; 7],
    /// Events outside the usual cells.
    pub outside: u64,
    /// Events counted.
    pub total: u64,
}

/// Builds the weekday x hour activity profile of one actor in a time zone.
pub fn profile(frame: &DataFrame, actor: &str, tz: &jiff::tz::TimeZone) -> Result<Profile> {
    let of_actor = frame
        .clone()
        .lazy()
        .filter(col(ACTOR).cast(DataType::String).eq(lit(actor)).and(col(TIME).is_not_null()))
        .collect()
        .map_err(Error::polars("selecting the actor's events"))?;
    let mut counts = [[0u64; 24]; 7];
    if of_actor.height() > 0 {
        let times = of_actor.column(TIME).map_err(Error::polars("profile"))?.as_materialized_series().to_physical_repr();
        let ca = times.i64().map_err(Error::polars("profile"))?;
        let (first, last) = (ca.min().unwrap_or(0), ca.max().unwrap_or(0));
        let local = local_time_expr(tz, first, last);
        let grouped = of_actor
            .lazy()
            .select([local.alias("local")])
            .select([
                ((col("local").floor_div(lit(DAY)) + lit(3)) % lit(7)).alias("weekday"),
                ((col("local") % lit(DAY) + lit(DAY)) % lit(DAY)).floor_div(lit(HOUR)).alias("hour"),
            ])
            .group_by([col("weekday"), col("hour")])
            .agg([len().cast(DataType::UInt64).alias("n")])
            .collect()
            .map_err(Error::polars("building the activity profile"))?;
        for i in 0..grouped.height() {
            let get = |name: &str| grouped.column(name).ok().and_then(|c| c.get(i).ok()).and_then(|v| v.extract::<i64>());
            if let (Some(w), Some(h), Some(n)) = (get("weekday"), get("hour"), get("n")) {
                let (w, h) = (w.rem_euclid(7) as usize, h.rem_euclid(24) as usize);
                counts[w][h] += n as u64;
            }
        }
    }
    Ok(Profile::from_counts(actor, counts))
}

impl Profile {
    /// Derives the usual cells from counts.
    pub fn from_counts(actor: &str, counts: [[u64; 24]; 7]) -> Profile {
        let total: u64 = counts.iter().flatten().sum();
        let mut by_hour: Vec<(usize, u64)> = (0..24).map(|h| (h, (0..7).map(|w| counts[w][h]).sum())).collect();
        by_hour.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut usual_hours = [false; 24];
        let mut covered = 0u64;
        for (h, n) in by_hour {
            if n == 0 || covered * 100 >= total * 95 {
                break;
            }
            usual_hours[h] = true;
            covered += n;
        }
        let mut usual = [[false; 24]; 7];
        let mut outside = 0;
        for w in 0..7 {
            let day_total: u64 = counts[w].iter().sum();
            let usual_day = total > 0 && day_total * 100 >= total * 5;
            for h in 0..24 {
                usual[w][h] = usual_day && usual_hours[h];
                if !usual[w][h] {
                    outside += counts[w][h];
                }
            }
        }
        Profile { actor: actor.to_string(), counts, usual, outside, total }
    }
}

// ---------------------------------------------------------------------------------------
// Actors and SQL
// ---------------------------------------------------------------------------------------

/// Every identity in a frame with what it did.
pub fn actors(frame: &DataFrame) -> Result<DataFrame> {
    frame
        .clone()
        .lazy()
        .filter(col(ACTOR).is_not_null())
        .group_by([col(ACTOR)])
        .agg([
            col(ACTOR_TYPE).first().alias(ACTOR_TYPE),
            col(PROVIDER).first().alias(PROVIDER),
            col(TIME).min().alias("first_seen"),
            col(TIME).max().alias("last_seen"),
            len().cast(DataType::UInt64).alias("events"),
            col(PRIVILEGED).sum().cast(DataType::UInt64).alias("privileged_actions"),
            col(OUTCOME).cast(DataType::String).eq(lit("failure")).sum().cast(DataType::UInt64).alias("failures"),
            col(SRC_IP).drop_nulls().n_unique().cast(DataType::UInt64).alias("distinct_ips"),
        ])
        .sort(["events"], SortMultipleOptions::default().with_order_descending(true).with_maintain_order(true))
        .collect()
        .map_err(Error::polars("listing actors"))
}

/// Runs Polars SQL over the frame, registered as the table `events`.
pub fn sql(frame: &DataFrame, query: &str) -> Result<DataFrame> {
    let mut context = polars::sql::SQLContext::new();
    context.register("events", frame.clone().lazy());
    context
        .execute(query)
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::Invalid(format!("SQL: {e}")))
}
