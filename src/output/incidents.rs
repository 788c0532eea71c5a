//! Incidents as `trailscope incidents` prints them: a text table per incident (its kill
//! chain, entities and what to check next), JSON, or one JSON object per line.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::detectors::attack;
use crate::detectors::playbook;
use crate::incidents::{Incident, Step};
use crate::text::{self, escape_control};

use super::table::Table;

fn step_json(step: &Step) -> Value {
    let f = &step.finding;
    let mitre: Vec<Value> = f
        .mitre
        .iter()
        .map(|id| match attack::technique(id) {
            Some(t) => json!({"id": id, "name": t.name, "tactic": t.tactic.name()}),
            None => json!({"id": id, "name": null, "tactic": null}),
        })
        .collect();
    json!({
        "rule": f.rule,
        "title": f.title,
        "severity": f.severity.as_str(),
        "time": f.time.map(text::format_time_utc),
        "actor": f.actor,
        "provider": f.provider,
        "tactic": step.tactic.map(|t| t.name()),
        "count": f.count,
        "event_ids": f.event_ids,
        "reason": f.reason,
        "mitre": mitre,
        "next_steps": playbook::next_steps(&f.rule),
    })
}

/// One incident as the JSON object `incidents --format json|jsonl` prints (the README's
/// "Incidents" documents every field). Log-derived text is kept as written (JSON escapes
/// it); times are RFC 3339 UTC.
pub fn incident_json(i: &Incident) -> Value {
    json!({
        "id": i.id,
        "title": i.title,
        "subject": i.subject,
        "severity": i.severity.as_str(),
        "severity_raised": i.raised,
        "tactics": i.tactics.iter().map(|t| t.name()).collect::<Vec<_>>(),
        "first": i.first.map(text::format_time_utc),
        "last": i.last.map(text::format_time_utc),
        "findings": i.chain.iter().map(step_json).collect::<Vec<_>>(),
        "entities": i.entities.iter().map(|e| json!({
            "kind": e.kind.as_str(),
            "value": e.value,
            "count": e.count,
        })).collect::<Vec<_>>(),
        "evidence": i.evidence.iter().map(|e| json!({
            "time": e.time.map(text::format_time_utc),
            "provider": e.provider,
            "event_id": e.event_id,
            "actor": e.actor,
            "identity": e.identity,
            "action": e.action,
            "resource": e.resource,
            "src_ip": e.src_ip,
            "session": e.session,
            "rules": e.rules,
        })).collect::<Vec<_>>(),
        "evidence_total": i.evidence_total,
    })
}

/// Writes incidents one JSON object per line.
pub fn write_incidents_jsonl(out: &mut dyn Write, incidents: &[Incident]) -> io::Result<()> {
    super::findings::write_json_lines(out, incidents, incident_json)
}

/// Writes incidents as one JSON array.
pub fn write_incidents_json(out: &mut dyn Write, incidents: &[Incident]) -> io::Result<()> {
    super::findings::write_json_array(out, incidents, incident_json)
}

/// Entities shown per kind in the table (JSON has them all).
const TABLE_ENTITIES: usize = 6;

/// Writes each incident as a header, its kill chain (time in `tz`), its entities and what to
/// check next, then a count per severity.
pub fn write_incidents_table(
    out: &mut dyn Write,
    incidents: &[Incident],
    tz: &jiff::tz::TimeZone,
) -> io::Result<()> {
    let time = |t: Option<i64>| t.map(|t| text::format_time(t, tz)).unwrap_or_default();
    for i in incidents {
        writeln!(
            out,
            "{}  {}{}  {}",
            i.id,
            i.severity.as_str(),
            if i.raised {
                " (raised: 3+ tactics)"
            } else {
                ""
            },
            escape_control(&i.title)
        )?;
        writeln!(
            out,
            "  {} .. {}; {} finding(s), {} event(s); tactics: {}",
            time(i.first),
            time(i.last),
            i.chain.len(),
            i.evidence_total,
            if i.tactics.is_empty() {
                "-".to_string()
            } else {
                i.tactics
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(" > ")
            }
        )?;
        let mut table = Table::new(
            &["  TIME", "SEVERITY", "TACTIC", "RULE", "ACTOR", "EVENTS"],
            &[false, false, false, false, false, true],
        );
        for step in &i.chain {
            let f = &step.finding;
            table.row(vec![
                format!("  {}", time(f.time)),
                f.severity.as_str().to_string(),
                step.tactic.map_or("-", |t| t.name()).to_string(),
                f.rule.clone(),
                f.actor.clone(),
                f.count.to_string(),
            ]);
        }
        table.write(out, 200)?;
        let mut kinds: Vec<String> = Vec::new();
        for kind in i
            .entities
            .iter()
            .map(|e| e.kind)
            .collect::<std::collections::BTreeSet<_>>()
        {
            let of_kind: Vec<_> = i.entities.iter().filter(|e| e.kind == kind).collect();
            let mut shown: Vec<String> = of_kind
                .iter()
                .take(TABLE_ENTITIES)
                .map(|e| format!("{} ({})", escape_control(&e.value), e.count))
                .collect();
            if of_kind.len() > TABLE_ENTITIES {
                shown.push(format!("+{} more", of_kind.len() - TABLE_ENTITIES));
            }
            kinds.push(format!("  {}: {}", kind.as_str(), shown.join(", ")));
        }
        for line in kinds {
            writeln!(out, "{line}")?;
        }
        if let Some(top) = i.chain.iter().max_by_key(|s| s.finding.severity)
            && let Some(steps) = playbook::next_steps(&top.finding.rule)
        {
            writeln!(out, "  next: {steps}")?;
        }
        writeln!(out)?;
    }
    let mut counts = Vec::new();
    for sev in ["critical", "high", "medium", "low", "info"] {
        let n = incidents
            .iter()
            .filter(|i| i.severity.as_str() == sev)
            .count();
        if n > 0 {
            counts.push(format!("{n} {sev}"));
        }
    }
    let findings: usize = incidents.iter().map(|i| i.chain.len()).sum();
    writeln!(
        out,
        "{} incident(s) from {} finding(s){}",
        incidents.len(),
        findings,
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        }
    )
}
