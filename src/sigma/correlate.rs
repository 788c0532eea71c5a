//! Sigma correlation rules (event count, value count, temporal, ...) over the detection
//! matches: rsigma's correlation engine is fed the matched records in time order with the
//! detections already computed, and each firing becomes a finding naming its events.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::*;
use rsigma_eval::result::ResultBody;
use rsigma_eval::{CorrelationConfig, CorrelationEngine, EvaluationResult};

use super::hit::Matched;
use super::reader::RecordReader;
use super::record::{ROW_REF, RecordEvent};
use super::rules::RuleSet;
use crate::detectors::Finding;
use crate::detectors::event::{i64s, strings};
use crate::schema::{ACTOR, EVENT_ID, PROVIDER, TIME};
use crate::{Error, Result};

/// At most this many events are named per correlation finding (rsigma keeps references to
/// the latest ones of a window).
const EVENTS_PER_FINDING: usize = 100;

/// Indexes of the detection rules whose own matches a correlation hides (`generate: false`,
/// the specification's default): they only feed it.
pub fn hidden_rules(set: &RuleSet) -> BTreeSet<usize> {
    let mut hidden = BTreeSet::new();
    for correlation in &set.correlations {
        if correlation.parsed.generate {
            continue;
        }
        for reference in &correlation.parsed.rules {
            if let Some(index) = set
                .rules
                .iter()
                .position(|r| r.id == *reference || r.name.as_deref() == Some(reference.as_str()))
            {
                hidden.insert(index);
            }
        }
    }
    hidden
}

/// Runs `set`'s correlation rules over `hits` (with the detection results that made them,
/// which a run keeps whenever the set has correlation rules).
pub fn correlate(
    set: &RuleSet,
    reader: &RecordReader<'_>,
    frame: &DataFrame,
    hits: &[Matched],
) -> Result<(Vec<Finding>, Vec<String>)> {
    if set.correlations.is_empty() || hits.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let config = CorrelationConfig {
        max_correlation_events: EVENTS_PER_FINDING,
        ..CorrelationConfig::default()
    };
    let mut engine = CorrelationEngine::new(config);
    engine.set_correlation_event_mode(rsigma_eval::CorrelationEventMode::Refs);
    let mut problems = Vec::new();
    for rule in &set.rules {
        if let Err(e) = engine.add_rule(&rule.parsed) {
            problems.push(format!("{}: {e}", rule.path.display()));
        }
    }
    for correlation in &set.correlations {
        if let Err(e) = engine.add_correlation(&correlation.parsed) {
            problems.push(format!("{}: {e}", correlation.path.display()));
        }
    }
    let times = i64s(frame, TIME)?;
    // The matches of each row, rows in time order.
    let mut by_row: BTreeMap<(i64, u32), Vec<&Matched>> = BTreeMap::new();
    for pair in hits {
        let time = times
            .get(pair.0.row as usize)
            .copied()
            .flatten()
            .unwrap_or(0);
        by_row.entry((time, pair.0.row)).or_default().push(pair);
    }
    let mut firings: Vec<(u32, EvaluationResult)> = Vec::new();
    for ((time, row), matches) in by_row {
        let Ok(value) = reader.record(row) else {
            continue; // counted by the detection pass already
        };
        let source = set.rules[matches[0].0.rule].source;
        let event = RecordEvent::for_row(&value, source, row);
        let detections = matches.iter().filter_map(|(_, r)| r.clone()).collect();
        for result in engine.process_with_detections(&event, detections, time.div_euclid(1_000_000))
        {
            if matches!(result.body, ResultBody::Correlation(_)) {
                firings.push((row, result));
            }
        }
    }
    Ok((findings(set, frame, firings)?, problems))
}

/// Firings as findings: successive firings of one correlation for one group, while its window
/// keeps firing, are one finding.
fn findings(
    set: &RuleSet,
    frame: &DataFrame,
    firings: Vec<(u32, EvaluationResult)>,
) -> Result<Vec<Finding>> {
    if firings.is_empty() {
        return Ok(Vec::new());
    }
    let times = i64s(frame, TIME)?;
    // The text columns of the rows the firings name only (not a string per loaded event).
    let mut named: BTreeSet<u32> = BTreeSet::new();
    for (row, result) in &firings {
        named.insert(*row);
        if let ResultBody::Correlation(body) = &result.body {
            named.extend(body.event_refs.iter().flatten().filter_map(row_of));
        }
    }
    let named: Vec<u32> = named.into_iter().collect();
    let picked = frame
        .take(&IdxCa::from_vec(
            PlSmallStr::EMPTY,
            named.iter().map(|r| *r as IdxSize).collect(),
        ))
        .map_err(Error::polars("reading the correlated events"))?;
    let index: HashMap<u32, usize> = named.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    let (actors, providers, ids) = (
        strings(&picked, ACTOR)?,
        strings(&picked, PROVIDER)?,
        strings(&picked, EVENT_ID)?,
    );
    let text = |column: &Vec<String>, row: u32| {
        index
            .get(&row)
            .and_then(|i| column.get(*i))
            .cloned()
            .unwrap_or_default()
    };
    let mut open: HashMap<(String, Vec<(String, String)>), usize> = HashMap::new();
    let mut out: Vec<Finding> = Vec::new();
    for (row, result) in firings {
        let ResultBody::Correlation(body) = &result.body else {
            continue;
        };
        let Some(correlation) = set.correlations.iter().find(|c| {
            Some(&c.id) == result.header.rule_id.as_ref() || c.title == result.header.rule_title
        }) else {
            return Err(Error::Invalid(format!(
                "a correlation fired that was not loaded: {}",
                result.header.rule_title
            )));
        };
        let mut rows: Vec<u32> = body
            .event_refs
            .iter()
            .flatten()
            .filter_map(row_of)
            .collect();
        rows.push(row);
        let time = times.get(row as usize).copied().flatten();
        let group: Vec<(String, String)> = body.group_key.clone();
        let key = (correlation.id.clone(), group.clone());
        let window = i64::try_from(body.timespan_secs)
            .unwrap_or(i64::MAX / 2_000_000)
            .saturating_mul(1_000_000);
        if let Some(index) = open.get(&key).copied()
            && let Some(previous) = out.get_mut(index)
            && time.unwrap_or(0) - previous.time.unwrap_or(0) <= window
        {
            let mut all: BTreeSet<u32> = previous.rows.iter().copied().collect();
            all.extend(rows);
            previous.rows = all.into_iter().collect();
            previous.event_ids = previous.rows.iter().map(|r| text(&ids, *r)).collect();
            previous.count = previous.rows.len() as u64;
            continue;
        }
        rows.sort_unstable();
        rows.dedup();
        let grouped = if group.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = group.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(", grouped by {}", parts.join(", "))
        };
        let reason = format!(
            "Sigma correlation \"{}\" ({} over {}{grouped}): {} reached {} (rules: {})",
            correlation.title,
            body.correlation_type.as_str(),
            correlation.parsed.timespan.original,
            body.correlation_type.as_str(),
            body.aggregated_value,
            correlation.parsed.rules.join(", ")
        );
        let first = rows.first().copied().unwrap_or(row) as usize;
        open.insert(key, out.len());
        out.push(Finding {
            rule: format!("sigma:{}", correlation.key),
            title: correlation.title.clone(),
            severity: correlation.severity,
            time: times.get(first).copied().flatten(),
            actor: text(&actors, row),
            provider: text(&providers, row),
            event_ids: rows.iter().map(|r| text(&ids, *r)).collect(),
            count: rows.len() as u64,
            rows,
            reason,
            mitre: correlation.mitre.clone(),
        });
    }
    Ok(out)
}

/// The frame row an event reference names ([`RecordEvent::for_row`]).
fn row_of(reference: &rsigma_eval::correlation::EventRef) -> Option<u32> {
    reference.id.as_deref()?.strip_prefix(ROW_REF)?.parse().ok()
}
