//! Polars SQL over the events, for what the filter language cannot express.

use polars::prelude::*;

use crate::{Error, Result};

/// The table name the events are registered under.
pub const TABLE: &str = "events";

/// Runs Polars SQL over the frame, registered as the table [`TABLE`] (`events`).
pub fn sql(frame: &DataFrame, query: &str) -> Result<DataFrame> {
    let mut context = polars::sql::SQLContext::new();
    context.register(TABLE, frame.clone().lazy());
    context
        .execute(query)
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::Invalid(format!("SQL: {e}")))
}
