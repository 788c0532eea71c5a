//! The lake in other engines' SQL: table definitions ([`ddl`]) and the filter language,
//! queries and pivots translated so an investigation written in trailscope runs unchanged on
//! DuckDB, Spark, Trino or Athena. Whatever cannot be translated with the same meaning is
//! refused with a message saying why.

mod ddl;
mod dialect;
mod filter;
mod pivot;
pub mod regex;

pub use ddl::{DEFAULT_LOCATION, ddl};
pub use dialect::Engine;
pub use filter::FilterSql;
pub use pivot::pivot_sql;

use crate::analysis::SortKey;
use crate::lake::layout::{FILE_COLUMNS, RAW, column_type};
use crate::schema::{EVENT_ID, PROVIDER, TIME};
use crate::text::escape_control;
use crate::{Error, Result};

/// The default table name of the lake.
pub const DEFAULT_TABLE: &str = "events";

/// The columns a query returns when none are asked for: every lake column but the raw
/// record, with the provider.
pub fn default_columns() -> Vec<&'static str> {
    FILE_COLUMNS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| *c != RAW)
        .chain([PROVIDER])
        .collect()
}

/// What a query selects besides its condition.
#[derive(Debug, Clone, Default)]
pub struct QueryShape {
    /// Columns returned (empty: [`default_columns`]).
    pub columns: Vec<String>,
    /// The order (None: time order).
    pub sort: Option<SortKey>,
    /// At most this many rows.
    pub limit: Option<usize>,
}

/// The SELECT of the events of `table` matching `condition`.
pub fn query_sql(
    engine: Engine,
    table: &str,
    condition: Option<&str>,
    shape: &QueryShape,
) -> Result<String> {
    let known = |c: &str| -> Result<String> {
        match column_type(c) {
            Some(_) => Ok(engine.ident(c)),
            None => Err(Error::Invalid(format!(
                "'{}' is not a lake column",
                escape_control(c)
            ))),
        }
    };
    let columns = if shape.columns.is_empty() {
        default_columns()
            .into_iter()
            .map(&known)
            .collect::<Result<Vec<_>>>()?
    } else {
        shape
            .columns
            .iter()
            .map(|c| known(c))
            .collect::<Result<Vec<_>>>()?
    };
    let order = match &shape.sort {
        Some(key) => format!(
            "{}{}",
            known(&key.column)?,
            if key.descending { " DESC" } else { "" }
        ),
        None => format!("{}, {}", engine.ident(TIME), engine.ident(EVENT_ID)),
    };
    let mut sql = format!(
        "SELECT {}\nFROM {}",
        columns.join(", "),
        engine.table(table)
    );
    if let Some(condition) = condition {
        sql.push_str(&format!("\nWHERE {condition}"));
    }
    sql.push_str(&format!("\nORDER BY {order}"));
    if let Some(n) = shape.limit {
        sql.push_str(&format!("\nLIMIT {n}"));
    }
    Ok(sql)
}
