//! The overview of a frame `trailscope summary` prints: time range, distinct actors, events
//! per provider, the most frequent actions, and each input's share.

use polars::prelude::*;

use crate::schema::{ACTION, ACTOR, PROVIDER, SOURCE, TIME};
use crate::{Error, Result};

use super::keys::{Counts, category_names, key_expr, key_of, micros, value_counts};

/// Columns of the per-input summary: events, first and last time, distinct actors.
const EVENTS: &str = "events";
const FIRST: &str = "first";
const LAST: &str = "last";
const ACTORS: &str = "actors";

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
            len().alias(EVENTS),
            col(TIME).min().alias(FIRST),
            col(TIME).max().alias(LAST),
            col(ACTOR).drop_nulls().n_unique().alias(ACTORS),
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
            events: value(EVENTS).and_then(|v| v.extract::<u64>()).unwrap_or(0),
            first: value(FIRST).and_then(micros),
            last: value(LAST).and_then(micros),
            actors: value(ACTORS).and_then(|v| v.extract::<u64>()).unwrap_or(0),
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
