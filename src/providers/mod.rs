//! Provider parsers: one file per log format family, each a pure function from a record's
//! bytes to a normalized [`Event`]. This module holds the [`Provider`] trait, the error a
//! parser returns and the registry, the one list of providers; [`fields`] and [`time`] hold
//! what the parsers share.

use std::fmt;

use crate::json_scan::ScanError;
use crate::schema::Event;

pub mod azure_activity;
pub mod cloudtrail;
pub mod entra;
pub mod fields;
pub mod gcp;
pub mod github;
pub mod kubernetes;
pub mod okta;
pub mod time;

/// Why a record could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The record is valid but belongs to another format; detection should try again.
    NotThisFormat,
    /// The record is broken or lacks what an event needs; the reason says what.
    Invalid(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotThisFormat => f.write_str("record is not of this format"),
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl From<ScanError> for RecordError {
    fn from(e: ScanError) -> Self {
        RecordError::Invalid(e.to_string())
    }
}

impl RecordError {
    /// An invalid-record error from a JSON parse error.
    pub fn json(err: sonic_rs::Error) -> Self {
        let text = err.to_string();
        let first_line = text.lines().next().unwrap_or(&text);
        Self::Invalid(format!("invalid JSON: {first_line}"))
    }
}

/// A parsed record used to recognize formats: only the first record of an input (and
/// records the input's format refused) are parsed this way.
pub type Probe = sonic_rs::Value;

/// One log format family.
pub trait Provider: Send + Sync {
    /// The format name users pass to `--input-format` and see in summaries.
    fn format(&self) -> &'static str;
    /// Whether a JSON record (already unwrapped from any envelope) is of this format.
    fn sniff_json(&self, probe: &Probe) -> bool;
    /// The name of the variant of this format's record shape a probe has, when the summary
    /// should say it (Azure SDK serialisation: `azure-sdk`).
    fn dialect(&self, _probe: &Probe) -> Option<&'static str> {
        None
    }
    /// Parses one JSON record into an event.
    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError>;
    /// Whether `parse_json` itself refuses records nested deeper than
    /// [`crate::json_scan::MAX_NESTING`], so the load pipeline may skip its own check (a second
    /// pass over every record).
    fn bounds_nesting(&self) -> bool {
        false
    }
    /// Whether a table export (CSV) with these column headers is of this format.
    fn sniff_table(&self, _headers: &csv::StringRecord) -> bool {
        false
    }
    /// Parses one row of a table export.
    fn parse_table<'a>(
        &self,
        _headers: &'a csv::StringRecord,
        _row: &'a csv::StringRecord,
    ) -> Result<Event<'a>, RecordError> {
        Err(RecordError::NotThisFormat)
    }
}

/// Every provider, in detection order (most specific first): the one list of providers that
/// detection, `--input-format` and the help and error texts read.
pub fn registry() -> &'static [&'static dyn Provider] {
    static REGISTRY: [&dyn Provider; 7] = [
        &kubernetes::Kubernetes,
        &gcp::Gcp,
        &cloudtrail::CloudTrail,
        &okta::Okta,
        &entra::Entra,
        &azure_activity::AzureActivity,
        &github::GitHub,
    ];
    &REGISTRY
}

/// The provider with this format name.
pub fn by_format(name: &str) -> Option<&'static dyn Provider> {
    registry()
        .iter()
        .copied()
        .find(|p| p.format().eq_ignore_ascii_case(name))
}

/// The format names understood, for help and error messages.
pub fn format_names() -> Vec<&'static str> {
    registry().iter().map(|p| p.format()).collect()
}
