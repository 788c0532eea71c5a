//! What a lake holds, from its directory and file footers only (no event is read): per
//! provider the days, files, events, bytes on disk and time span.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::Result;

use super::io_error;
use super::layout::NULL_PARTITION;
use super::scan::{self, file_metadata, row_group_times};

/// One provider's partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProviderSummary {
    /// The `provider` partition.
    pub provider: String,
    /// `date` partitions (days with events; the partition of events without a time counts).
    pub days: usize,
    /// Parquet files.
    pub files: usize,
    /// Events.
    pub events: u64,
    /// Events without a time (in the null partition).
    pub untimed: u64,
    /// Bytes of its files on disk.
    pub bytes: u64,
    /// The oldest and newest event time (UTC microseconds), from the row groups' statistics.
    pub first: Option<i64>,
    /// See `first`.
    pub last: Option<i64>,
}

/// A lake's contents, per provider in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LakeSummary {
    /// Per provider.
    pub providers: Vec<ProviderSummary>,
}

impl LakeSummary {
    /// The sums over every provider (named `all`).
    pub fn total(&self) -> ProviderSummary {
        let mut total = ProviderSummary {
            provider: "all".into(),
            ..ProviderSummary::default()
        };
        for p in &self.providers {
            total.days += p.days;
            total.files += p.files;
            total.events += p.events;
            total.untimed += p.untimed;
            total.bytes += p.bytes;
            total.first = min_some(total.first, p.first);
            total.last = total.last.max(p.last);
        }
        total
    }
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Summarises the lake at `root` from its footers.
pub fn summarize(root: &Path) -> Result<LakeSummary> {
    // The files come in time order of their partitions, providers interleaved.
    let mut providers: BTreeMap<String, ProviderSummary> = BTreeMap::new();
    let mut days: BTreeSet<(String, String)> = BTreeSet::new();
    for file in scan::lake_files(root)? {
        let summary = providers
            .entry(file.provider.clone())
            .or_insert_with(|| ProviderSummary {
                provider: file.provider.clone(),
                ..ProviderSummary::default()
            });
        if days.insert((file.provider.clone(), file.day.clone())) {
            summary.days += 1;
        }
        let metadata = file_metadata(&file.path)?;
        summary.files += 1;
        summary.bytes += std::fs::metadata(&file.path)
            .map_err(io_error(&file.path))?
            .len();
        let rows = metadata.num_rows as u64;
        summary.events += rows;
        if file.day == NULL_PARTITION {
            summary.untimed += rows;
        }
        for group in &metadata.row_groups {
            if let Some((min, max)) = row_group_times(&metadata, group) {
                summary.first = min_some(summary.first, Some(min));
                summary.last = summary.last.max(Some(max));
            }
        }
    }
    Ok(LakeSummary {
        providers: providers.into_values().collect(),
    })
}
