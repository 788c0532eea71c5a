//! The way through: read-only analyses over the event frame, each described by a plain-data
//! spec. The CLI builds the specs from its flags, the TUI from its state, and saved views
//! will read them from TOML; all three run them through the same functions
//! ([`select_rows`]/[`select()`] for a [`ViewSpec`], [`run`] for the analyses), so a pivot in
//! the TUI and `trailscope pivot` cannot disagree.
//!
//! One file per analysis: [`mod@select`] (filter, time range, sort, columns),
//! [`mod@summary`], [`keys`] (values, counts, drill-down filters), [`mod@pivot`],
//! [`mod@timeline`] (buckets in a display zone), [`mod@profile`], [`mod@inventory`] and
//! [`mod@sql`]; the filter language is [`filter`].

pub mod filter;
pub mod keys;
pub mod pivot;
pub mod profile;
pub mod select;
pub mod sql;
pub mod summary;
pub mod timeline;

use polars::prelude::{DataFrame, IdxCa};
use serde::{Deserialize, Serialize};

use crate::schema::ACTOR;
use crate::{Error, Result};

pub use keys::{Counts, Key, NONE, OTHER, check_column, key_filter, value_counts};
pub use pivot::{Pivot, PivotPart, pivot};
pub use profile::{Profile, profile, profiles};
pub use select::{CompiledView, Selection, select, select_rows, selected_frame};
pub use sql::sql;
pub use summary::{SourceSummary, Summary, summarize};
pub use timeline::{
    BUCKETS, Counted, Lane, MAX_TIMELINE_BUCKETS, MAX_TIMELINE_CELLS, Timeline, TimelineCounter,
    TimelineSpan, Widening, auto_bucket, bucket_count, bucket_label, format_local, local_time_expr,
    parse_bucket, timeline, widen_bucket,
};

// ---------------------------------------------------------------------------------------
// Specs: plain data (serde), stored as TOML by saved views
// ---------------------------------------------------------------------------------------

/// Which events to show and how: the events table of the TUI, `trailscope query`, and the
/// selection every other analysis runs over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewSpec {
    /// Filter text in the filter language (blank: every event).
    pub filter: String,
    /// A time range applied on top of the filter.
    pub range: Option<TimeRange>,
    /// Display time zone (an IANA name in TOML): how times are shown, and how dates and
    /// times without an offset in the filter and the range are read.
    #[serde(with = "zone_name")]
    pub tz: jiff::tz::TimeZone,
    /// Columns shown, in order (empty: [`crate::schema::DEFAULT_COLUMNS`]).
    pub columns: Vec<String>,
    /// The order (None: the frame's own, time order).
    pub sort: Option<SortKey>,
    /// Show at most this many events.
    pub limit: Option<usize>,
}

impl Default for ViewSpec {
    fn default() -> Self {
        ViewSpec {
            filter: String::new(),
            range: None,
            tz: jiff::tz::TimeZone::UTC,
            columns: Vec::new(),
            sort: None,
            limit: None,
        }
    }
}

/// A time range: absolute (either end may be open) or relative to the newest event. Ends are
/// written as the filter's `after:`/`before:` take them (`2024-03-01`, `"2024-03-01 12:00"`,
/// RFC 3339), durations as `last:` takes them (`24h`, `1h30m`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TimeRange {
    /// From `after` (inclusive) to `before` (exclusive).
    Between {
        /// The first instant in the range.
        #[serde(default)]
        after: Option<String>,
        /// The first instant after the range.
        #[serde(default)]
        before: Option<String>,
    },
    /// Within this long of the newest event.
    Last(String),
}

/// How to order events: a column, descending or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortKey {
    /// The column.
    pub column: String,
    /// Largest first.
    #[serde(default)]
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

/// What to pivot: event counts (or distinct counts) by one column, or by two as a cross table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PivotSpec {
    /// The column whose values become rows.
    pub rows: String,
    /// The column whose values become columns (none: a single count column).
    #[serde(default)]
    pub cols: Option<String>,
    /// Count distinct values of this column instead of events.
    #[serde(default)]
    pub distinct: Option<String>,
    /// Keep the N largest rows and columns; the rest go to "(other)".
    #[serde(default = "default_pivot_top")]
    pub top: usize,
}

/// Rows and columns a pivot keeps when a spec does not say (`trailscope pivot --top`).
pub const DEFAULT_PIVOT_TOP: usize = 20;

fn default_pivot_top() -> usize {
    DEFAULT_PIVOT_TOP
}

/// What to count over time: events per bucket, one lane per value of a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineSpec {
    /// One lane per value of this column.
    #[serde(default = "default_lane_column")]
    pub by: String,
    /// Bucket size in microseconds, a duration (`1h30m`) in TOML (None: automatic, about 60
    /// buckets). Widened when it would make more than [`MAX_TIMELINE_BUCKETS`] buckets (see
    /// [`Timeline::widened`]).
    #[serde(default, with = "bucket_text")]
    pub bucket: Option<i64>,
    /// Display time zone (buckets start at local boundaries); an IANA name in TOML.
    #[serde(default = "utc", with = "zone_name")]
    pub tz: jiff::tz::TimeZone,
    /// Lanes kept; the rest are summed into "(other)".
    #[serde(default = "default_lanes")]
    pub top: usize,
}

/// Lanes a timeline keeps when a spec does not say (`trailscope timeline --top`).
pub const DEFAULT_TIMELINE_LANES: usize = 10;

fn default_lanes() -> usize {
    DEFAULT_TIMELINE_LANES
}

fn default_lane_column() -> String {
    ACTOR.to_string()
}

/// Whose activity profile to build: weekday x local hour of day, per actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    /// The actors (empty: the `top` busiest of the selected events).
    #[serde(default)]
    pub actors: Vec<String>,
    /// How many of the busiest actors when none are named.
    #[serde(default = "default_lanes")]
    pub top: usize,
    /// The time zone the hours are counted in; an IANA name in TOML.
    #[serde(default = "utc", with = "zone_name")]
    pub tz: jiff::tz::TimeZone,
}

fn utc() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::UTC
}

// ---------------------------------------------------------------------------------------
// Running an analysis
// ---------------------------------------------------------------------------------------

/// An analysis described by a spec: the event columns it reads, and how it is computed.
pub trait Spec {
    /// What it computes.
    type Output;
    /// The event columns it reads; [`run`] cuts the selected events to them.
    fn columns(&self) -> Vec<&str>;
    /// Computes it over selected events (a frame holding at least [`Spec::columns`]).
    fn compute(&self, events: &DataFrame) -> Result<Self::Output>;
}

/// Runs an analysis over the selected rows of a frame (`rows` None: every row): the one
/// entry point the CLI, the TUI's jobs and saved views share.
pub fn run<S: Spec>(frame: &DataFrame, rows: Option<&IdxCa>, spec: &S) -> Result<S::Output> {
    let events = selected_frame(frame, rows, &spec.columns())?;
    spec.compute(&events)
}

// ---------------------------------------------------------------------------------------
// TOML forms of a time zone and a bucket
// ---------------------------------------------------------------------------------------

/// A time zone as its IANA name.
mod zone_name {
    use serde::{Deserialize, Deserializer, Serializer, de, ser};

    pub fn serialize<S: Serializer>(tz: &jiff::tz::TimeZone, s: S) -> Result<S::Ok, S::Error> {
        match tz.iana_name() {
            Some(name) => s.serialize_str(name),
            None => Err(ser::Error::custom("a time zone without an IANA name")),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<jiff::tz::TimeZone, D::Error> {
        let name = String::deserialize(d)?;
        jiff::tz::TimeZone::get(&name).map_err(|_| {
            de::Error::custom(format!(
                "unknown time zone '{name}' (use an IANA name such as Europe/Berlin)"
            ))
        })
    }
}

/// A bucket size as a duration (`1h30m`).
mod bucket_text {
    use serde::{Deserialize, Deserializer, Serializer, de, ser};

    use crate::time::{format_duration, parse_duration};

    pub fn serialize<S: Serializer>(bucket: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match bucket {
            None => s.serialize_none(),
            Some(us) => match format_duration(*us) {
                Some(text) => s.serialize_some(&text),
                None => Err(ser::Error::custom(
                    "a bucket that is no whole number of seconds",
                )),
            },
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        match parse_duration(&text) {
            Ok(us) if us > 0 => Ok(Some(us)),
            _ => Err(de::Error::custom(format!(
                "invalid bucket '{text}' (use e.g. 30s, 15m, 1h30m, 1d)"
            ))),
        }
    }
}
