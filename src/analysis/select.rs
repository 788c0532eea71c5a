//! Event selection: a [`ViewSpec`]'s filter and time range, compiled against the frame, then
//! its sort (categorical columns by their text) and columns. The TUI's events view and
//! `trailscope query` both select through here, and every other analysis runs over the rows
//! it selected.

use polars::prelude::*;

use crate::schema::{self, Dictionaries, TIME};
use crate::{Error, Result};

use super::filter::{self, FilterContext, FilterError, FilterExpr, TimeBound};
use super::keys::check_column;
use super::{SortKey, TimeRange, ViewSpec};

/// The row-index column added while filtering (the frame's own columns never start with `__`).
const ROW: &str = "__row";

/// A view ready to run: its spec, with the filter and time range compiled against the
/// frame's dictionary into one expression.
#[derive(Debug, Clone)]
pub struct CompiledView {
    /// The spec.
    pub spec: ViewSpec,
    /// The filter and time range as one expression (None: every event).
    pub filter: Option<Expr>,
}

impl ViewSpec {
    /// Compiles the filter and the time range for `frame` (whose newest event `last:`,
    /// `today` and `yesterday` are relative to); `@list` paths are relative to the current
    /// directory. Error spans are character columns of the filter as written.
    pub fn compile(&self, frame: &DataFrame) -> Result<CompiledView, FilterError> {
        let ctx = FilterContext::for_frame(frame, self.tz.clone());
        let mut terms = Vec::new();
        if !self.filter.trim().is_empty() {
            terms.push(filter::parse(&self.filter)?);
        }
        if let Some(range) = &self.range {
            terms.extend(range.terms());
        }
        let combined = if terms.len() > 1 {
            Some(FilterExpr::And(terms))
        } else {
            terms.pop()
        };
        let filter = combined
            .map(|expr| filter::compile(&expr, &ctx))
            .transpose()?;
        Ok(CompiledView {
            spec: self.clone(),
            filter,
        })
    }

    /// The columns shown: the spec's, else [`schema::DEFAULT_COLUMNS`].
    pub fn shown_columns(&self) -> Vec<&str> {
        if self.columns.is_empty() {
            schema::DEFAULT_COLUMNS.to_vec()
        } else {
            self.columns.iter().map(String::as_str).collect()
        }
    }
}

impl TimeRange {
    /// The range as filter terms (`after:`, `before:`, `last:`), checked when compiled.
    pub fn terms(&self) -> Vec<FilterExpr> {
        let term = |bound, value: &str| FilterExpr::Time {
            bound,
            value: value.to_string(),
            span: 0..0,
        };
        match self {
            TimeRange::Between { after, before } => after
                .iter()
                .map(|a| term(TimeBound::After, a))
                .chain(before.iter().map(|b| term(TimeBound::Before, b)))
                .collect(),
            TimeRange::Last(duration) => vec![term(TimeBound::Last, duration)],
        }
    }
}

/// The events a view selected.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Frame rows in display order (None: every row, in frame order).
    pub rows: Option<IdxCa>,
    /// How many rows match.
    pub matching: usize,
    /// Earliest matching time.
    pub first: Option<i64>,
    /// Latest matching time.
    pub last: Option<i64>,
}

/// The rows of `frame` a view selects, in its order (its limit is not applied: the TUI
/// scrolls through all of them), with their count and time range.
pub fn select_rows(frame: &DataFrame, view: &CompiledView) -> Result<Selection> {
    if view.filter.is_none() && view.spec.sort.is_none() {
        let (first, last) = frame.column(TIME).map(time_range).unwrap_or((None, None));
        return Ok(Selection {
            rows: None,
            matching: frame.height(),
            first,
            last,
        });
    }
    let out = plan(frame, view, true)?
        .select([col(ROW), col(TIME)])
        .collect()
        .map_err(Error::polars("filtering events"))?;
    let mut rows = out
        .column(ROW)
        .and_then(|c| c.idx().cloned())
        .map_err(Error::polars("filtering events"))?;
    let (first, last) = out.column(TIME).map(time_range).unwrap_or((None, None));
    if let Some(key) = categorical_sort(view) {
        rows = sort_by_category(frame, &rows, key)?;
    }
    Ok(Selection {
        matching: rows.len(),
        rows: Some(rows),
        first,
        last,
    })
}

/// The events a view shows: its rows in its order, cut to its limit, with its columns (the
/// frame `trailscope query` prints).
pub fn select(frame: &DataFrame, view: &CompiledView) -> Result<DataFrame> {
    let columns = view.spec.shown_columns();
    for column in &columns {
        check_column(column)?;
    }
    let limit = view.spec.limit;
    let selected = if categorical_sort(view).is_some() {
        // Rows in the order of the column's text, then the first `limit` of them.
        let rows = select_rows(frame, view)?.rows.unwrap_or_default();
        let rows = match limit {
            Some(n) => rows.slice(0, n.min(rows.len())),
            None => rows,
        };
        frame
            .take(&rows)
            .map_err(Error::polars("selecting events"))?
    } else {
        // One plan, so a sort with a limit is a top-k and a filter one pass over the frame.
        let mut lazy = plan(frame, view, false)?;
        if let Some(n) = limit {
            lazy = lazy.limit(n as IdxSize);
        }
        lazy.collect().map_err(Error::polars("selecting events"))?
    };
    selected
        .select(columns.iter().copied())
        .map_err(Error::polars("choosing columns"))
}

/// The view's filter and its sort (unless by a categorical column, which [`sort_by_category`]
/// orders afterwards) as one lazy plan over `frame`, with the frame's row numbers in [`ROW`]
/// when `row_index` is set.
fn plan(frame: &DataFrame, view: &CompiledView, row_index: bool) -> Result<LazyFrame> {
    let mut lazy = frame.clone().lazy();
    if row_index {
        lazy = lazy.with_row_index(ROW, None);
    }
    if let Some(expr) = view.filter.clone() {
        lazy = lazy.filter(expr);
    }
    if let Some(key) = &view.spec.sort {
        check_column(&key.column)?;
        if !schema::is_categorical(&key.column) {
            lazy = lazy.sort(
                [key.column.as_str()],
                SortMultipleOptions::default()
                    .with_order_descending(key.descending)
                    .with_nulls_last(true)
                    .with_maintain_order(true),
            );
        }
    }
    Ok(lazy)
}

/// The view's sort when it is by a categorical column.
fn categorical_sort(view: &CompiledView) -> Option<&SortKey> {
    view.spec
        .sort
        .as_ref()
        .filter(|k| schema::is_categorical(&k.column))
}

/// The selected rows of `frame` (all of them, in frame order, when `rows` is None) with only
/// `columns`, each checked against the schema first: what an analysis runs over.
pub fn selected_frame(
    frame: &DataFrame,
    rows: Option<&IdxCa>,
    columns: &[&str],
) -> Result<DataFrame> {
    let mut names: Vec<&str> = Vec::with_capacity(columns.len());
    for c in columns {
        check_column(c)?;
        if !names.contains(c) {
            names.push(c);
        }
    }
    let selected = frame
        .select(names.iter().copied())
        .map_err(Error::polars("selecting columns"))?;
    match rows {
        None => Ok(selected),
        Some(rows) => selected.take(rows).map_err(Error::polars("selecting rows")),
    }
}

fn time_range(times: &Column) -> (Option<i64>, Option<i64>) {
    let physical = times.as_materialized_series().to_physical_repr();
    match physical.i64() {
        Ok(t) => (t.min(), t.max()),
        Err(_) => (None, None),
    }
}

/// Orders `rows` by the text of a categorical column, nulls last, ties keeping their order:
/// each row's dictionary id is mapped to the rank of its text among the column's values,
/// then the rows are counting-sorted by rank, several times faster than comparing a million
/// strings.
fn sort_by_category(frame: &DataFrame, rows: &IdxCa, key: &SortKey) -> Result<IdxCa> {
    let physical = frame
        .column(&key.column)
        .map_err(Error::polars("sorting events"))?
        .as_materialized_series()
        .to_physical_repr()
        .rechunk();
    let ids = physical.u32().map_err(Error::polars("sorting events"))?;
    let mut values = Dictionaries::shared().category_values(&key.column);
    values.sort_by(|a, b| a.1.cmp(&b.1));
    let size = values
        .iter()
        .map(|(id, _)| *id as usize + 1)
        .max()
        .unwrap_or(0);
    let buckets = values.len() + 1;
    let null = buckets - 1;
    let mut rank = vec![null; size];
    for (r, (id, _)) in values.iter().enumerate() {
        rank[*id as usize] = if key.descending { buckets - 2 - r } else { r };
    }
    let keys: Vec<usize> = ids
        .downcast_iter()
        .flat_map(|a| a.iter())
        .map(|id| {
            id.and_then(|id| rank.get(*id as usize).copied())
                .unwrap_or(null)
        })
        .collect();
    let order: Vec<IdxSize> = rows
        .downcast_iter()
        .flat_map(|a| a.values().iter().copied())
        .collect();
    let mut starts = vec![0usize; buckets + 1];
    for &row in &order {
        starts[keys.get(row as usize).copied().unwrap_or(null) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut sorted = vec![0 as IdxSize; order.len()];
    for &row in &order {
        let key = keys.get(row as usize).copied().unwrap_or(null);
        sorted[starts[key]] = row;
        starts[key] += 1;
    }
    Ok(IdxCa::from_vec(PlSmallStr::from_static(ROW), sorted))
}
