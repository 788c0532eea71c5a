//! What results are keyed by: the values of a column as [`Key`]s, counts per value, and the
//! filter text that selects a key's events (the drill-down). Categorical columns are grouped
//! by their physical ids (u32), several times faster than grouping strings; ids are turned
//! back into text only for the few groups a result shows.

use std::collections::HashMap;

use polars::prelude::*;

use crate::schema::{self, Dictionaries, MFA, PRIVILEGED, READ_ONLY, SOURCE, TIME};
use crate::{Error, Result};

use super::filter::drill;

/// Counts per value of a column, most frequent first.
pub type Counts = Vec<(String, u64)>;

/// The bucket for values outside the top N.
pub const OTHER: &str = "(other)";
/// The label of a null value.
pub const NONE: &str = "(none)";

/// The count column of a grouped result.
pub(super) const COUNT: &str = "n";

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

/// The filter text that selects events whose `column` has `key` (for drill-down); empty for
/// "(other)", which only the result that made it can spell out.
pub fn key_filter(column: &str, key: &Key) -> String {
    match key {
        Key::Value(v) if matches!(column, MFA | READ_ONLY | PRIVILEGED) => format!("{column}:{v}"),
        Key::Value(v) => drill::equals(column, v),
        Key::Null => drill::missing(column),
        Key::Other => String::new(),
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
        .agg([len().cast(DataType::UInt64).alias(COUNT)])
        .collect()
        .map_err(Error::polars("counting values"))?;
    let keys = grouped_keys(&counted, column, &category_names(column))?;
    let counts = grouped_counts(&counted)?;
    let mut out: Counts = keys
        .into_iter()
        .zip(counts)
        .map(|(key, count)| (key.label().to_string(), count))
        .collect();
    out.sort_by(|(va, ca), (vb, cb)| cb.cmp(ca).then_with(|| va.cmp(vb)));
    out.truncate(limit);
    Ok(out)
}

/// The expression a column is grouped by, as `i64`-compatible or string keys.
pub(super) fn key_expr(column: &str) -> Expr {
    if schema::is_categorical(column) || column == TIME {
        col(column).to_physical().alias(column)
    } else {
        col(column)
    }
}

/// Turns a grouped key value back into a [`Key`].
pub(super) fn key_of(column: &str, value: AnyValue<'_>, names: &HashMap<u32, String>) -> Key {
    match value {
        AnyValue::Null => Key::Null,
        AnyValue::UInt32(id) if schema::is_categorical(column) => names
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

/// An instant (UTC microseconds) read back from a result: a time, or its physical `i64`.
pub(super) fn micros(value: AnyValue<'_>) -> Option<i64> {
    match value {
        AnyValue::Datetime(v, _, _) | AnyValue::DatetimeOwned(v, _, _) | AnyValue::Int64(v) => {
            Some(v)
        }
        _ => None,
    }
}

/// The text of each dictionary id of a categorical column (empty for other columns).
pub(super) fn category_names(column: &str) -> HashMap<u32, String> {
    if schema::is_categorical(column) {
        Dictionaries::shared()
            .category_values(column)
            .into_iter()
            .collect()
    } else {
        HashMap::new()
    }
}

/// The keys of a grouped result's column, turned back into display keys.
pub(super) fn grouped_keys(
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

/// The [`COUNT`] column of a grouped result.
pub(super) fn grouped_counts(grouped: &DataFrame) -> Result<Vec<u64>> {
    let n = grouped
        .column(COUNT)
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
pub(super) fn top_with_other(sums: HashMap<&Key, u64>, top: usize) -> Vec<(Key, u64)> {
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
pub(super) fn sort_keys(keys: &mut [(Key, u64)]) {
    keys.sort_by(|(ka, na), (kb, nb)| {
        let other = |k: &Key| matches!(k, Key::Other);
        other(ka)
            .cmp(&other(kb))
            .then(nb.cmp(na))
            .then_with(|| ka.label().cmp(kb.label()))
    });
}
