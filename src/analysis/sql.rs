//! Polars SQL over the events, for what the filter language cannot express.

use polars::prelude::*;

use crate::{Error, Result};

/// The table name the events are registered under.
pub const TABLE: &str = "events";

/// Runs Polars SQL over the frame, registered as the table [`TABLE`] (`events`).
///
/// The table shows categorical columns as strings: Polars SQL's string functions and
/// `LIKE` reject categoricals, and a SQL user sees text, not a dictionary. The casts are
/// lazy, so a query pays only for the columns it reads.
pub fn sql(frame: &DataFrame, query: &str) -> Result<DataFrame> {
    let mut context = polars::sql::SQLContext::new();
    let as_text: Vec<Expr> = frame
        .columns()
        .iter()
        .filter(|c| matches!(c.dtype(), DataType::Categorical(..)))
        .map(|c| col(c.name().clone()).cast(DataType::String))
        .collect();
    context.register(TABLE, frame.clone().lazy().with_columns(as_text));
    context
        .execute(query)
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::Invalid(format!("SQL: {e}")))
}
