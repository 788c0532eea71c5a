//! Pivot tables: event counts (or distinct counts) per value of one column, or per pair of
//! values of two, keeping the largest N and summing the rest into "(other)".

use std::collections::HashMap;

use polars::prelude::*;

use crate::{Error, Result};

use super::keys::{
    COUNT, Key, OTHER, category_names, check_column, grouped_counts, grouped_keys, key_expr,
    key_filter, key_of, sort_keys, top_with_other,
};
use super::{PivotSpec, Spec};

impl Spec for PivotSpec {
    type Output = Pivot;

    fn columns(&self) -> Vec<&str> {
        let mut columns = vec![self.rows.as_str()];
        columns.extend(self.cols.as_deref());
        columns.extend(self.distinct.as_deref());
        columns
    }

    fn compute(&self, events: &DataFrame) -> Result<Pivot> {
        pivot(events, self)
    }
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
        .agg([measure.alias(COUNT)])
        .collect()
        .map_err(Error::polars("ranking pivot keys"))?;
    let keys = grouped
        .column(column)
        .map_err(Error::polars("ranking pivot keys"))?;
    let counts = grouped
        .column(COUNT)
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

fn check_pivot_columns(spec: &PivotSpec) -> Result<()> {
    check_column(&spec.rows)?;
    if let Some(c) = &spec.cols {
        check_column(c)?;
    }
    if let Some(d) = &spec.distinct {
        check_column(d)?;
    }
    Ok(())
}

/// Builds a pivot of a (filtered) frame.
pub fn pivot(frame: &DataFrame, spec: &PivotSpec) -> Result<Pivot> {
    check_pivot_columns(spec)?;
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
        .agg([measure.clone().alias(COUNT)])
        .collect()
        .map_err(Error::polars("counting pivot cells"))?;
    let totals_by = |bucket: Expr| -> Result<DataFrame> {
        frame
            .clone()
            .lazy()
            .group_by([bucket])
            .agg([measure.clone().alias(COUNT)])
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
        df.column(COUNT)
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
    let grouped = count_cells(frame, spec)?;
    count_pivot_of_cells(&grouped, spec)
}

/// The key columns of a pivot's cells: the row column, and the column column if any.
fn cell_keys(spec: &PivotSpec) -> Vec<&str> {
    let mut keys = vec![spec.rows.as_str()];
    keys.extend(spec.cols.as_deref());
    keys
}

/// Event counts ([`COUNT`]) per (row, column) physical key.
fn count_cells(frame: &DataFrame, spec: &PivotSpec) -> Result<DataFrame> {
    let group: Vec<Expr> = cell_keys(spec).into_iter().map(key_expr).collect();
    frame
        .clone()
        .lazy()
        .group_by(group)
        .agg([len().cast(DataType::UInt64).alias(COUNT)])
        .collect()
        .map_err(Error::polars("counting pivot cells"))
}

/// A count pivot from its cells' counts ([`count_cells`], or several merged).
fn count_pivot_of_cells(grouped: &DataFrame, spec: &PivotSpec) -> Result<Pivot> {
    let row_names = category_names(&spec.rows);
    let row_values = grouped_keys(grouped, &spec.rows, &row_names)?;
    let col_values = match &spec.cols {
        Some(c) => grouped_keys(grouped, c, &category_names(c))?,
        None => vec![Key::Null; grouped.height()],
    };
    let counts = grouped_counts(grouped)?;
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
    let total = counts.iter().sum();
    Ok(Pivot::assemble(spec, rows, cols, matrix, total))
}

/// What a pivot adds up over parts of its events (files of a lake): event counts per (row,
/// column) key, or for distinct counts each (row, column, distinct) value once. Parts
/// [`merge`](PivotPart::merge) and the merged part gives the same pivot as all the events
/// ([`PivotPart::pivot`]), holding the cells (or their distinct values) rather than the
/// events. Categorical keys are dictionary ids, so parts must share the dictionaries.
#[derive(Debug, Clone)]
pub struct PivotPart {
    /// Counted cells ([`COUNT`] per key), or the distinct (row, column, distinct) values.
    cells: DataFrame,
}

impl PivotPart {
    /// The part of `spec`'s pivot that `events` (holding [`Spec::columns`]) make.
    pub fn of(events: &DataFrame, spec: &PivotSpec) -> Result<PivotPart> {
        check_pivot_columns(spec)?;
        let cells = match distinct_columns(spec) {
            Some(columns) => unique_rows(events.clone().lazy(), &columns)?,
            None => count_cells(events, spec)?,
        };
        Ok(PivotPart { cells })
    }

    /// One part holding what all of `parts` hold.
    pub fn merge(parts: Vec<PivotPart>, spec: &PivotSpec) -> Result<PivotPart> {
        let mut frames = parts.into_iter().map(|p| p.cells);
        let Some(mut cells) = frames.next() else {
            return Ok(PivotPart {
                cells: DataFrame::empty(),
            });
        };
        let mut several = false;
        for frame in frames {
            cells
                .vstack_mut_owned(frame)
                .map_err(Error::polars("merging pivot parts"))?;
            several = true;
        }
        if !several {
            return Ok(PivotPart { cells });
        }
        let cells = match distinct_columns(spec) {
            Some(columns) => unique_rows(cells.lazy(), &columns)?,
            None => {
                let keys: Vec<Expr> = cell_keys(spec).into_iter().map(col).collect();
                cells
                    .lazy()
                    .group_by(keys)
                    .agg([col(COUNT).sum().cast(DataType::UInt64).alias(COUNT)])
                    .collect()
                    .map_err(Error::polars("merging pivot parts"))?
            }
        };
        Ok(PivotPart { cells })
    }

    /// Rows held: the cells counted, or the distinct values kept.
    pub fn height(&self) -> usize {
        self.cells.height()
    }

    /// The pivot of every event the merged parts were made of.
    pub fn pivot(&self, spec: &PivotSpec) -> Result<Pivot> {
        if self.cells.width() == 0 {
            // No part: the pivot of no events.
            let empty = crate::schema::empty_frame();
            return pivot(&empty, spec);
        }
        match distinct_columns(spec) {
            // The distinct counts of the deduplicated values are those of the events.
            Some(_) => pivot(&self.cells, spec),
            None => count_pivot_of_cells(&self.cells, spec),
        }
    }
}

/// For a distinct pivot, the columns whose distinct value combinations decide it.
fn distinct_columns(spec: &PivotSpec) -> Option<Vec<&str>> {
    let distinct = spec.distinct.as_deref()?;
    let mut columns = cell_keys(spec);
    columns.push(distinct);
    let mut unique: Vec<&str> = Vec::with_capacity(columns.len());
    for c in columns {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    Some(unique)
}

/// Each combination of `columns`' values once.
fn unique_rows(frame: LazyFrame, columns: &[&str]) -> Result<DataFrame> {
    frame
        .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .unique(None, UniqueKeepStrategy::Any)
        .collect()
        .map_err(Error::polars("keeping distinct pivot values"))
}
