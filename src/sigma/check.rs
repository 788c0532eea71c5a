//! `trailscope sigma check`: how many rules convert per log source, which do not and why,
//! how each field a rule names is read, and (given logs) which fields no record holds and
//! which rules fire.

use std::collections::BTreeMap;

use polars::prelude::DataFrame;

use super::fields::{SOURCES, Source};
use super::reader::RecordReader;
use super::record::RecordEvent;
use super::rules::{RuleSet, Unconverted};
use super::run::SigmaRun;
use crate::Result;
use crate::detectors::event::strings;
use crate::schema::{LOG_TYPE, PROVIDER};
use crate::store::FrameStore;

/// Records of each source read to see which fields they hold (a sample: enough to find
/// every field an export carries, bounded for large inputs).
const FIELD_SAMPLE: usize = 5_000;

/// Rules per log source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCount {
    /// The source.
    pub source: Source,
    /// Rules naming it that convert.
    pub converted: usize,
}

/// One field of one source, as the rules use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldUse {
    /// The source.
    pub source: Source,
    /// The field as rules write it.
    pub field: String,
    /// How it is read, in order ([`Source::lookups`]).
    pub read_as: Vec<String>,
    /// Whether the field mapping names it (else it is read as written).
    pub mapped: bool,
    /// Rules naming it.
    pub rules: usize,
    /// With logs: (records holding it, records of the source sampled).
    pub present: Option<(usize, usize)>,
}

/// What `sigma check` reports.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Rule files read.
    pub files: usize,
    /// Converted rules per source (every source, zero included).
    pub sources: Vec<SourceCount>,
    /// Correlation rules.
    pub correlations: usize,
    /// What does not convert, with reasons.
    pub unconverted: Vec<Unconverted>,
    /// Every field the converted rules name.
    pub fields: Vec<FieldUse>,
    /// With logs: per rule key, the events it matched (rules that fired only).
    pub fired: BTreeMap<String, usize>,
}

impl CheckReport {
    /// Converted detection rules.
    pub fn converted(&self) -> usize {
        self.sources.iter().map(|s| s.converted).sum()
    }

    /// Rules seen: converted plus those that are not (one per unconverted entry that names
    /// a rule or a whole file).
    pub fn total(&self) -> usize {
        self.converted() + self.correlations + self.unconverted.len()
    }
}

/// The static check of a rule set.
pub fn check(set: &RuleSet) -> CheckReport {
    let sources = SOURCES
        .iter()
        .map(|s| SourceCount {
            source: *s,
            converted: set.rules.iter().filter(|r| r.source == *s).count(),
        })
        .collect();
    let mut fields: BTreeMap<(Source, String), usize> = BTreeMap::new();
    for rule in &set.rules {
        for field in &rule.fields {
            *fields.entry((rule.source, field.clone())).or_default() += 1;
        }
    }
    CheckReport {
        files: set.files,
        sources,
        correlations: set.correlations.len(),
        unconverted: set.unconverted.clone(),
        fields: fields
            .into_iter()
            .map(|((source, field), rules)| FieldUse {
                mapped: !source.mapped(&field).is_empty(),
                read_as: source
                    .lookups(&field)
                    .iter()
                    .map(|l| l.to_string())
                    .collect(),
                source,
                field,
                rules,
                present: None,
            })
            .collect(),
        fired: BTreeMap::new(),
    }
}

/// Adds what the loaded records say: which fields they hold and which rules fired.
pub fn with_logs(
    mut report: CheckReport,
    store: &FrameStore,
    frame: &DataFrame,
    run: &SigmaRun,
    set: &RuleSet,
) -> Result<CheckReport> {
    let providers = strings(frame, PROVIDER)?;
    let log_types = strings(frame, LOG_TYPE)?;
    let reader = RecordReader::new(store, frame)?;
    let mut samples: BTreeMap<Source, Vec<serde_json::Value>> = BTreeMap::new();
    for source in SOURCES {
        let rows = (0..providers.len())
            .filter(|r| {
                providers[*r] == source.provider() && source.covers_log_type(&log_types[*r])
            })
            .take(FIELD_SAMPLE);
        let records: Vec<serde_json::Value> =
            rows.filter_map(|r| reader.record(r as u32).ok()).collect();
        samples.insert(source, records);
    }
    for field in &mut report.fields {
        let records = samples.get(&field.source).map(Vec::as_slice).unwrap_or(&[]);
        let holding = records
            .iter()
            .filter(|r| {
                RecordEvent::new(r, field.source)
                    .found_at(&field.field)
                    .is_some()
            })
            .count();
        field.present = Some((holding, records.len()));
    }
    for hit in &run.hits {
        *report
            .fired
            .entry(format!("sigma:{}", set.rules[hit.rule].key))
            .or_default() += 1;
    }
    Ok(report)
}
