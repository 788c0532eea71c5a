//! Read-only analyses over the event frame. Each takes a frame (the store's, or a filtered
//! view of it) and returns a small struct or frame.

pub mod filter;

use std::collections::HashMap;

use polars::prelude::*;

use crate::schema::{
    self, ACTION, ACTOR, ACTOR_TYPE, Dictionaries, MFA, OUTCOME, PRIVILEGED, PROVIDER, READ_ONLY,
    SOURCE, SRC_IP, TIME,
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
    let names = category_names(SOURCE);
    let mut sources = Vec::with_capacity(per_source.height());
    for row in 0..per_source.height() {
        let value = |name: &str| per_source.column(name).ok().and_then(|c| c.get(row).ok());
        sources.push(SourceSummary {
            // Grouped by the dictionary id: turn it back into the input's name.
            source: value(SOURCE)
                .map(|v| key_of(SOURCE, v, &names).label().to_string())
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
    let keys = counted
        .column(column)
        .map_err(Error::polars("counting values"))?;
    let counts = counted
        .column("count")
        .map_err(Error::polars("counting values"))?;
    let mut out: Counts = (0..counted.height())
        .map(|i| {
            let key = key_of(column, keys.get(i).unwrap_or(AnyValue::Null), &names);
            let count = counts
                .get(i)
                .ok()
                .and_then(|v| v.extract::<u64>())
                .unwrap_or(0);
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
    if is_categorical(column) || column == TIME {
        col(column).to_physical().alias(column)
    } else {
        col(column)
    }
}

/// Turns a grouped key value back into a [`Key`].
fn key_of(column: &str, value: AnyValue<'_>, names: &HashMap<u32, String>) -> Key {
    match value {
        AnyValue::Null => Key::Null,
        AnyValue::UInt32(id) if is_categorical(column) => names
            .get(&id)
            .map(|s| Key::Value(s.clone()))
            .unwrap_or(Key::Null),
        AnyValue::Int64(us) if column == TIME => Key::Value(crate::text::format_time_utc(us)),
        AnyValue::String(s) => Key::Value(s.to_string()),
        AnyValue::StringOwned(s) => Key::Value(s.to_string()),
        AnyValue::Boolean(b) => Key::Value(b.to_string()),
        other => Key::Value(other.str_value().to_string()),
    }
}

fn category_names(column: &str) -> HashMap<u32, String> {
    if is_categorical(column) {
        Dictionaries::shared()
            .category_values(column)
            .into_iter()
            .collect()
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
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '/' | ':' | '+'))
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
    /// A pivot from ranked (key, total) rows and columns and the cell counts.
    fn assemble(
        spec: &PivotSpec,
        rows: Vec<(Key, u64)>,
        cols: Vec<(Key, u64)>,
        cells: Vec<Vec<u64>>,
        total: u64,
    ) -> Pivot {
        let (row_keys, row_totals) = rows.into_iter().unzip();
        let (col_keys, col_totals): (Vec<Key>, Vec<u64>) = cols.into_iter().unzip();
        Pivot {
            spec: spec.clone(),
            row_keys,
            row_totals,
            col_totals: if spec.cols.is_some() {
                col_totals
            } else {
                vec![total]
            },
            col_keys,
            cells,
            total,
        }
    }

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
            if named.is_empty() {
                String::new()
            } else {
                format!("not ({})", named.join(" or "))
            }
        }
        key => key_filter(column, key),
    }
}

/// The `top` keys of a column by count (or distinct count), and whether others exist.
fn top_keys(
    frame: &DataFrame,
    column: &str,
    distinct: Option<&str>,
    top: usize,
) -> Result<(Vec<AnyValue<'static>>, bool)> {
    let measure = measure_expr(distinct);
    let grouped = frame
        .clone()
        .lazy()
        .group_by([key_expr(column)])
        .agg([measure.alias("n")])
        .collect()
        .map_err(Error::polars("ranking pivot keys"))?;
    let keys = grouped
        .column(column)
        .map_err(Error::polars("ranking pivot keys"))?;
    let counts = grouped
        .column("n")
        .and_then(|c| c.u64().cloned())
        .map_err(Error::polars("ranking pivot keys"))?;
    let names = category_names(column);
    let mut ranked: Vec<(AnyValue<'static>, u64, Key)> = (0..grouped.height())
        .filter_map(|i| {
            let value = keys.get(i).ok()?.into_static();
            let key = key_of(column, value.clone(), &names);
            Some((value, counts.get(i).unwrap_or(0), key))
        })
        .collect();
    // Ties broken by the label, so the same data always gives the same top N (dictionary
    // ids follow the order parallel loading met the values in, which varies run to run).
    ranked.sort_by(|(_, na, ka), (_, nb, kb)| {
        let null = |k: &Key| matches!(k, Key::Null);
        null(ka)
            .cmp(&null(kb))
            .then(nb.cmp(na))
            .then_with(|| ka.label().cmp(kb.label()))
    });
    let shown = ranked.len().min(top.max(1));
    let others = ranked.len() > shown;
    ranked.truncate(shown);
    Ok((ranked.into_iter().map(|(v, _, _)| v).collect(), others))
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
    matches!(
        value,
        AnyValue::UInt32(u32::MAX) | AnyValue::Int64(i64::MIN)
    ) || matches!(value, AnyValue::String(s) if *s == OTHER)
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
    if distinct.is_none() {
        return count_pivot(frame, spec);
    }
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
        if is_sentinel(&value) {
            Key::Other
        } else {
            key_of(column, value, names)
        }
    };
    let count_at = |df: &DataFrame, i: usize| {
        df.column("n")
            .ok()
            .and_then(|c| c.get(i).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0)
    };
    // Row keys and totals.
    let row_totals_df = totals_by(row_bucket)?;
    let mut rows: Vec<(Key, u64)> = (0..row_totals_df.height())
        .map(|i| {
            let v = row_totals_df
                .column(&spec.rows)
                .ok()
                .and_then(|c| c.get(i).ok())
                .unwrap_or(AnyValue::Null);
            (
                to_key(&spec.rows, v, &row_names),
                count_at(&row_totals_df, i),
            )
        })
        .collect();
    sort_keys(&mut rows);
    let mut cols: Vec<(Key, u64)> = Vec::new();
    if let (Some(c), Some(bucket)) = (&spec.cols, col_bucket) {
        let df = totals_by(bucket)?;
        cols = (0..df.height())
            .map(|i| {
                let v = df
                    .column(c)
                    .ok()
                    .and_then(|col| col.get(i).ok())
                    .unwrap_or(AnyValue::Null);
                (to_key(c, v, &col_names), count_at(&df, i))
            })
            .collect();
        sort_keys(&mut cols);
    }
    let row_index: HashMap<Key, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), i))
        .collect();
    let col_index: HashMap<Key, usize> = cols
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), i))
        .collect();
    let width = cols.len().max(1);
    let mut matrix = vec![vec![0u64; width]; rows.len()];
    for i in 0..cells.height() {
        let rv = cells
            .column(&spec.rows)
            .ok()
            .and_then(|c| c.get(i).ok())
            .unwrap_or(AnyValue::Null);
        let r = row_index.get(&to_key(&spec.rows, rv, &row_names)).copied();
        let c = match &spec.cols {
            Some(cn) => {
                let cv = cells
                    .column(cn)
                    .ok()
                    .and_then(|c| c.get(i).ok())
                    .unwrap_or(AnyValue::Null);
                col_index.get(&to_key(cn, cv, &col_names)).copied()
            }
            None => Some(0),
        };
        if let (Some(r), Some(c)) = (r, c) {
            matrix[r][c] = count_at(&cells, i);
        }
    }
    let total = match distinct {
        Some(d) => frame
            .column(d)
            .and_then(|c| c.drop_nulls().n_unique())
            .map_err(Error::polars("counting distinct values"))? as u64,
        None => frame.height() as u64,
    };
    Ok(Pivot::assemble(spec, rows, cols, matrix, total))
}

/// Event counts per (row value, column value) in one group-by over physical keys; every
/// total, the top N and the "(other)" buckets are then derived from that small result, so a
/// pivot costs one pass over the frame.
fn count_pivot(frame: &DataFrame, spec: &PivotSpec) -> Result<Pivot> {
    let mut group = vec![key_expr(&spec.rows)];
    if let Some(c) = &spec.cols {
        group.push(key_expr(c));
    }
    let grouped = frame
        .clone()
        .lazy()
        .group_by(group)
        .agg([len().cast(DataType::UInt64).alias("n")])
        .collect()
        .map_err(Error::polars("counting pivot cells"))?;
    let row_names = category_names(&spec.rows);
    let row_values = grouped_keys(&grouped, &spec.rows, &row_names)?;
    let col_values = match &spec.cols {
        Some(c) => grouped_keys(&grouped, c, &category_names(c))?,
        None => vec![Key::Null; grouped.height()],
    };
    let counts = grouped_counts(&grouped)?;
    let mut row_sum: HashMap<&Key, u64> = HashMap::new();
    let mut col_sum: HashMap<&Key, u64> = HashMap::new();
    for ((r, c), n) in row_values.iter().zip(&col_values).zip(&counts) {
        *row_sum.entry(r).or_default() += n;
        *col_sum.entry(c).or_default() += n;
    }
    let rows = top_with_other(row_sum, spec.top);
    let cols = if spec.cols.is_some() {
        top_with_other(col_sum, spec.top)
    } else {
        Vec::new()
    };
    let index = |keys: &[(Key, u64)]| -> HashMap<Key, usize> {
        keys.iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect()
    };
    let (row_index, col_index) = (index(&rows), index(&cols));
    let other_row = row_index.get(&Key::Other).copied();
    let other_col = col_index.get(&Key::Other).copied();
    let width = cols.len().max(1);
    let mut matrix = vec![vec![0u64; width]; rows.len()];
    for ((r, c), n) in row_values.iter().zip(&col_values).zip(&counts) {
        let r = row_index.get(r).copied().or(other_row);
        let c = if spec.cols.is_some() {
            col_index.get(c).copied().or(other_col)
        } else {
            Some(0)
        };
        if let (Some(r), Some(c)) = (r, c) {
            matrix[r][c] += n;
        }
    }
    let total = frame.height() as u64;
    Ok(Pivot::assemble(spec, rows, cols, matrix, total))
}

/// The keys of a grouped result's column, turned back into display keys.
fn grouped_keys(
    grouped: &DataFrame,
    column: &str,
    names: &HashMap<u32, String>,
) -> Result<Vec<Key>> {
    let values = grouped
        .column(column)
        .map_err(Error::polars("reading grouped keys"))?
        .as_materialized_series();
    Ok(values.iter().map(|v| key_of(column, v, names)).collect())
}

/// The `n` column of a grouped result.
fn grouped_counts(grouped: &DataFrame) -> Result<Vec<u64>> {
    let n = grouped
        .column("n")
        .map_err(Error::polars("reading group counts"))?
        .as_materialized_series()
        .u64()
        .map_err(Error::polars("reading group counts"))?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    Ok(n)
}

/// The `top` largest keys, and one "(other)" key summing the rest when there is a rest;
/// largest first, ties by label.
fn top_with_other(sums: HashMap<&Key, u64>, top: usize) -> Vec<(Key, u64)> {
    let mut keys: Vec<(Key, u64)> = sums.into_iter().map(|(k, n)| (k.clone(), n)).collect();
    sort_keys(&mut keys);
    let top = top.max(1);
    if keys.len() > top {
        let rest: u64 = keys[top..].iter().map(|(_, n)| n).sum();
        keys.truncate(top);
        keys.push((Key::Other, rest));
    }
    keys
}

/// Largest first, ties by label; "(other)" last.
fn sort_keys(keys: &mut [(Key, u64)]) {
    keys.sort_by(|(ka, na), (kb, nb)| {
        let other = |k: &Key| matches!(k, Key::Other);
        other(ka)
            .cmp(&other(kb))
            .then(nb.cmp(na))
            .then_with(|| ka.label().cmp(kb.label()))
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
const YEAR: i64 = 365 * DAY;

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

/// Parses a duration like `90s`, `5m`, `1h`, `2d`, `1w` into microseconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let invalid = || {
        Error::Invalid(format!(
            "invalid duration '{text}' (use e.g. 30s, 5m, 1h, 1d, 1w)"
        ))
    };
    let n: i64 = number.parse().map_err(|_| invalid())?;
    let unit_us = match unit.trim() {
        "s" | "sec" => SECOND,
        "m" | "min" => 60 * SECOND,
        "h" => HOUR,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => return Err(invalid()),
    };
    if n <= 0 {
        return Err(Error::Invalid(format!(
            "duration must be positive: '{text}'"
        )));
    }
    // Microseconds in an i64 reach 292,000 years; a longer duration would wrap around.
    n.checked_mul(unit_us).ok_or_else(|| {
        Error::Invalid(format!(
            "duration too long: '{text}' (at most about 290,000 years)"
        ))
    })
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

// ---------------------------------------------------------------------------------------
// Timeline
// ---------------------------------------------------------------------------------------

/// What to count over time.
#[derive(Debug, Clone)]
pub struct TimelineSpec {
    /// One lane per value of this column.
    pub by: String,
    /// Bucket size in microseconds (None: automatic, about 60 buckets). Widened when it would
    /// make more than [`MAX_TIMELINE_BUCKETS`] buckets (see [`Timeline::widened`]).
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
    let grouped = timed
        .clone()
        .group_by([
            local.clone().floor_div(lit(bucket)).alias("bucket"),
            key_expr(&spec.by),
        ])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .collect()
        .map_err(Error::polars("counting timeline buckets"))?;
    let buckets: Vec<i64> = grouped
        .column("bucket")
        .map_err(Error::polars("timeline"))?
        .as_materialized_series()
        .i64()
        .map_err(Error::polars("timeline"))?
        .iter()
        .map(|b| b.unwrap_or(0))
        .collect();
    let keys = grouped_keys(&grouped, &spec.by, &category_names(&spec.by))?;
    let counts = grouped_counts(&grouped)?;
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

/// Builds a timeline of a (filtered) frame. Events without a time are not counted.
///
/// The bucket is widened when it would make more than [`MAX_TIMELINE_BUCKETS`] buckets (or
/// more than [`MAX_TIMELINE_CELLS`] counts over the lanes), so memory follows the events and
/// that limit, never the time span; [`Timeline::widened`] says so.
pub fn timeline(frame: &DataFrame, spec: &TimelineSpec) -> Result<Timeline> {
    check_column(&spec.by)?;
    let timed = frame.clone().lazy().filter(col(TIME).is_not_null());
    let times = frame.column(TIME).map_err(Error::polars("reading times"))?;
    let physical = times.as_materialized_series().to_physical_repr();
    let ca = physical.i64().map_err(Error::polars("reading times"))?;
    let empty = |bucket: i64| Timeline {
        by: spec.by.clone(),
        bucket,
        starts: vec![],
        lanes: vec![],
        totals: vec![],
        widened: None,
    };
    let (Some(first), Some(last)) = (ca.min(), ca.max()) else {
        return Ok(empty(spec.bucket.unwrap_or(HOUR)));
    };
    let wanted = spec.bucket.unwrap_or_else(|| auto_bucket(first, last, 60));
    let (lo, hi) = local_bounds(&spec.tz, first, last);
    let local = local_time_expr(&spec.tz, first, last);
    let mut bucket = widen_bucket(lo, hi, wanted, MAX_TIMELINE_BUCKETS);
    let mut counted = count_buckets(&timed, &local, bucket, spec)?;
    // The lanes are known only now; many of them share the count budget, which can take a
    // second, coarser pass (lane totals do not depend on the bucket, so one is enough).
    let limit = bucket_limit(counted.shown.len());
    let coarser = widen_bucket(lo, hi, bucket, limit);
    if coarser != bucket {
        bucket = coarser;
        counted = count_buckets(&timed, &local, bucket, spec)?;
    }
    let (Some(&first_bucket), Some(&last_bucket)) =
        (counted.buckets.iter().min(), counted.buckets.iter().max())
    else {
        return Ok(empty(bucket));
    };
    // The local bounds saturate where the vectorized local time would wrap around (instants
    // near the ends of i64); refuse rather than allocate if the buckets disagree with them.
    let width = i128::from(last_bucket) - i128::from(first_bucket) + 1;
    let width = match usize::try_from(width) {
        Ok(w) if w <= limit => w,
        _ => {
            return Err(Error::Invalid(format!(
                "cannot count times from {} to {} in at most {limit} buckets",
                crate::text::format_time_utc(first),
                crate::text::format_time_utc(last)
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
        .filter(
            col(ACTOR)
                .cast(DataType::String)
                .eq(lit(actor))
                .and(col(TIME).is_not_null()),
        )
        .collect()
        .map_err(Error::polars("selecting the actor's events"))?;
    let mut counts = [[0u64; 24]; 7];
    if of_actor.height() > 0 {
        let times = of_actor
            .column(TIME)
            .map_err(Error::polars("profile"))?
            .as_materialized_series()
            .to_physical_repr();
        let ca = times.i64().map_err(Error::polars("profile"))?;
        let (first, last) = (ca.min().unwrap_or(0), ca.max().unwrap_or(0));
        let local = local_time_expr(tz, first, last);
        let grouped = of_actor
            .lazy()
            .select([local.alias("local")])
            .select([
                ((col("local").floor_div(lit(DAY)) + lit(3)) % lit(7)).alias("weekday"),
                ((col("local") % lit(DAY) + lit(DAY)) % lit(DAY))
                    .floor_div(lit(HOUR))
                    .alias("hour"),
            ])
            .group_by([col("weekday"), col("hour")])
            .agg([len().cast(DataType::UInt64).alias("n")])
            .collect()
            .map_err(Error::polars("building the activity profile"))?;
        for i in 0..grouped.height() {
            let get = |name: &str| {
                grouped
                    .column(name)
                    .ok()
                    .and_then(|c| c.get(i).ok())
                    .and_then(|v| v.extract::<i64>())
            };
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
        let mut by_hour: Vec<(usize, u64)> = (0..24)
            .map(|h| (h, (0..7).map(|w| counts[w][h]).sum()))
            .collect();
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
        Profile {
            actor: actor.to_string(),
            counts,
            usual,
            outside,
            total,
        }
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
            col(PRIVILEGED)
                .sum()
                .cast(DataType::UInt64)
                .alias("privileged_actions"),
            col(OUTCOME)
                .cast(DataType::String)
                .eq(lit("failure"))
                .sum()
                .cast(DataType::UInt64)
                .alias("failures"),
            col(SRC_IP)
                .drop_nulls()
                .n_unique()
                .cast(DataType::UInt64)
                .alias("distinct_ips"),
        ])
        // Ties by name: group-by order varies from run to run.
        .sort_by_exprs(
            [col("events"), col(ACTOR).cast(DataType::String)],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false])
                .with_nulls_last(true),
        )
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

// ---------------------------------------------------------------------------------------
// Event selection (`trailscope query`)
// ---------------------------------------------------------------------------------------

/// How to order events: a column, descending or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The column.
    pub column: String,
    /// Largest first.
    pub descending: bool,
}

impl SortKey {
    /// Parses `col` or `col:desc` / `col:asc`.
    pub fn parse(text: &str) -> Result<SortKey> {
        let (column, order) = match text.rsplit_once(':') {
            Some((c, o)) => (c, o),
            None => (text, "asc"),
        };
        let descending = match order.to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            _ => {
                return Err(Error::Invalid(format!(
                    "invalid sort '{text}': use COLUMN, COLUMN:asc or COLUMN:desc"
                )));
            }
        };
        check_column(column)?;
        Ok(SortKey {
            column: column.to_string(),
            descending,
        })
    }
}

/// The events matching a filter, sorted and cut: the frame `trailscope query` prints.
pub fn select(
    frame: &DataFrame,
    filter: Option<Expr>,
    sort: Option<&SortKey>,
    limit: Option<usize>,
) -> Result<DataFrame> {
    let mut lazy = frame.clone().lazy();
    if let Some(expr) = filter {
        lazy = lazy.filter(expr);
    }
    let options = |key: &SortKey| {
        SortMultipleOptions::default()
            .with_order_descending(key.descending)
            .with_nulls_last(true)
            .with_maintain_order(true)
    };
    match sort {
        Some(key) if is_categorical(&key.column) => {
            // Categoricals sort by their text: each row's id is mapped to the lexical rank of
            // its value (computed over the few distinct values), then ranks are sorted.
            let selected = lazy.collect().map_err(Error::polars("selecting events"))?;
            let ranks = lexical_ranks(&key.column);
            let ids = selected
                .column(&key.column)
                .map_err(Error::polars("sorting events"))?
                .as_materialized_series()
                .to_physical_repr();
            let ranked = ids
                .u32()
                .map_err(Error::polars("sorting events"))?
                .apply_values(|id| ranks.get(id as usize).copied().unwrap_or(u32::MAX))
                .into_series()
                .with_name(PlSmallStr::from_static(SORT_RANK));
            let mut sorted = selected
                .lazy()
                .with_column(lit(ranked))
                .sort([SORT_RANK], options(key));
            if let Some(n) = limit {
                sorted = sorted.limit(n as IdxSize);
            }
            sorted
                .collect()
                .and_then(|df| df.drop(SORT_RANK))
                .map_err(Error::polars("sorting events"))
        }
        _ => {
            if let Some(key) = sort {
                lazy = lazy.sort([key.column.as_str()], options(key));
            }
            if let Some(n) = limit {
                lazy = lazy.limit(n as IdxSize);
            }
            lazy.collect().map_err(Error::polars("selecting events"))
        }
    }
}

/// A temporary column holding sort ranks.
const SORT_RANK: &str = "__sort_rank";

/// For each physical id of a categorical column, the rank of its text among all values.
fn lexical_ranks(column: &str) -> Vec<u32> {
    let mut values = Dictionaries::shared().category_values(column);
    values.sort_by(|a, b| a.1.cmp(&b.1));
    let size = values
        .iter()
        .map(|(id, _)| *id as usize + 1)
        .max()
        .unwrap_or(0);
    let mut ranks = vec![u32::MAX; size];
    for (rank, (id, _)) in values.iter().enumerate() {
        ranks[*id as usize] = rank as u32;
    }
    ranks
}
