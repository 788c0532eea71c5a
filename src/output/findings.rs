//! Detection findings as `trailscope detect` prints them: a text table with a count per
//! severity, JSON, or one JSON object per line.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::detectors::Finding;
use crate::text;

use super::table::Table;

/// One finding as the JSON object `detect --format json|jsonl` prints:
/// `{"rule","title","severity","time","actor","provider","event_ids","count","reason","mitre"}`.
/// Log-derived text is kept as written (JSON escapes it); times are RFC 3339 UTC.
pub fn finding_json(f: &Finding) -> Value {
    json!({
        "rule": f.rule,
        "title": f.title,
        "severity": f.severity.as_str(),
        "time": f.time.map(text::format_time_utc),
        "actor": f.actor,
        "provider": f.provider,
        "event_ids": f.event_ids,
        "count": f.count,
        "reason": f.reason,
        "mitre": f.mitre,
    })
}

/// Writes findings one JSON object per line.
pub fn write_findings_jsonl(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    write_json_lines(out, findings, finding_json)
}

/// Writes findings as one JSON array.
pub fn write_findings_json(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    write_json_array(out, findings, finding_json)
}

/// Writes `items` one JSON object per line (the findings' and incidents' `jsonl`).
pub(crate) fn write_json_lines<T>(
    out: &mut dyn Write,
    items: &[T],
    to_json: impl Fn(&T) -> Value,
) -> io::Result<()> {
    for item in items {
        writeln!(out, "{}", to_json(item))?;
    }
    Ok(())
}

/// Writes `items` as one JSON array on one line (the findings' and incidents' `json`).
pub(crate) fn write_json_array<T>(
    out: &mut dyn Write,
    items: &[T],
    to_json: impl Fn(&T) -> Value,
) -> io::Result<()> {
    let all: Vec<Value> = items.iter().map(to_json).collect();
    writeln!(out, "{}", Value::Array(all))
}

/// Writes findings as a table (time in `tz`), most severe first within a time, then a
/// count per severity.
pub fn write_findings_table(
    out: &mut dyn Write,
    findings: &[Finding],
    tz: &jiff::tz::TimeZone,
) -> io::Result<()> {
    let mut table = Table::new(
        &["TIME", "SEVERITY", "RULE", "ACTOR", "EVENTS", "REASON"],
        &[false, false, false, false, true, false],
    );
    for f in findings {
        table.row(vec![
            f.time.map(|t| text::format_time(t, tz)).unwrap_or_default(),
            f.severity.as_str().to_string(),
            f.rule.clone(),
            f.actor.clone(),
            f.count.to_string(),
            f.reason.clone(),
        ]);
    }
    table.write(out, 200)?;
    let mut counts = Vec::new();
    for sev in ["critical", "high", "medium", "low", "info"] {
        let n = findings
            .iter()
            .filter(|f| f.severity.as_str() == sev)
            .count();
        if n > 0 {
            counts.push(format!("{n} {sev}"));
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} finding(s){}",
        findings.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        }
    )
}
