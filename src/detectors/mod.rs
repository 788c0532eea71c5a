//! Detection engine: rules over the normalized frame that turn events into explained
//! [`Finding`]s. Knows nothing of output: the CLI (`report`) and the TUI present findings.

use polars::prelude::DataFrame;

use crate::Result;
use crate::config::Config;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Context worth knowing.
    Info,
    /// Unusual, rarely harmful.
    Low,
    /// Worth a look.
    Medium,
    /// Likely harmful.
    High,
    /// Act now.
    Critical,
}

impl Severity {
    /// The lowercase name (`info` ... `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(name: &str) -> Option<Severity> {
        match name.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// One explained detection: the events behind it and why they matter.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Rule id (`audit-log-tampering`).
    pub rule: String,
    /// Short title for lists.
    pub title: String,
    /// How much it matters.
    pub severity: Severity,
    /// Time of the first event behind it (µs since the epoch, UTC).
    pub time: Option<i64>,
    /// The principal it is about.
    pub actor: String,
    /// The provider of the events.
    pub provider: String,
    /// The provider's own ids of every event behind it.
    pub event_ids: Vec<String>,
    /// Row indices of those events in the frame the rules ran on.
    pub rows: Vec<u32>,
    /// How many events are behind it.
    pub count: u64,
    /// Why, with the evidence, for a person.
    pub reason: String,
    /// MITRE ATT&CK technique ids (`T1562.008`).
    pub mitre: Vec<String>,
}

/// Runs every enabled rule over a frame; findings sorted by time.
pub fn run(_frame: &DataFrame, _config: &Config) -> Result<Vec<Finding>> {
    Ok(Vec::new())
}
