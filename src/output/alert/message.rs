//! What an alert says: one finding as JSON (the `detect --format jsonl` object plus a `text`
//! summary, the change, source addresses and resources), or one message for a window of
//! findings with a table in its `text`. Slack and Microsoft Teams incoming webhooks show the
//! `text` field and ignore the rest.

use serde_json::{Value, json};

use crate::detectors::LiveFinding;
use crate::detectors::finding::when_utc;
use crate::output::finding_json;
use crate::output::table::Table;
use crate::text;

/// Rows of the table in an aggregated message; the rest are counted.
pub const TABLE_ROWS: usize = 25;
/// Findings listed in an aggregated message's `findings`; the rest are counted in `omitted`.
pub const FINDINGS_LISTED: usize = 100;

/// Log text made safe for a chat message: control characters escaped, and `&`, `<` and `>`
/// written as entities, so that an actor named `<!channel>` cannot notify a whole channel.
pub fn chat_text(s: &str) -> String {
    text::escape_control(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One line about a finding: `[HIGH] Mass destruction: alice@example.com, 23 events,
/// 2026-01-05 14:03 UTC (mass-destruction, new)`.
pub fn summary_line(f: &LiveFinding) -> String {
    let g = &f.finding;
    let when = g
        .time
        .map(when_utc)
        .unwrap_or_else(|| "time unknown".into());
    chat_text(&format!(
        "[{}] {}: {}, {} event{}, {when} ({}, {})",
        g.severity.as_str().to_ascii_uppercase(),
        g.title,
        if g.actor.is_empty() { "-" } else { &g.actor },
        g.count,
        if g.count == 1 { "" } else { "s" },
        g.rule,
        f.change.as_str()
    ))
}

/// One finding as an alert: `{"text", "rule", "title", "severity", "time", "actor",
/// "provider", "event_ids", "count", "reason", "mitre", "change", "src_ips", "resources"}`.
pub fn alert_json(f: &LiveFinding) -> Value {
    let mut value = finding_json(&f.finding);
    if let Value::Object(map) = &mut value {
        map.insert("text".into(), Value::String(summary_line(f)));
        map.insert("change".into(), Value::String(f.change.as_str().into()));
        map.insert("src_ips".into(), json!(f.src_ips));
        map.insert("resources".into(), json!(f.resources));
    }
    value
}

/// Findings of a window as one message: `{"text", "count", "findings": [alert...], "omitted"}`,
/// where `text` has a count per severity and a table (severity, rule, actor, events, change).
pub fn digest_json(findings: &[LiveFinding]) -> Value {
    let mut counts = Vec::new();
    for sev in ["critical", "high", "medium", "low", "info"] {
        let n = findings
            .iter()
            .filter(|f| f.finding.severity.as_str() == sev)
            .count();
        if n > 0 {
            counts.push(format!("{n} {sev}"));
        }
    }
    let mut table = Table::new(
        &["SEVERITY", "RULE", "ACTOR", "EVENTS", "CHANGE"],
        &[false, false, false, true, false],
    );
    for f in findings.iter().take(TABLE_ROWS) {
        table.row(vec![
            f.finding.severity.as_str().to_string(),
            f.finding.rule.clone(),
            f.finding.actor.clone(),
            f.finding.count.to_string(),
            f.change.as_str().to_string(),
        ]);
    }
    let mut rows = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = table.write(&mut rows, 48);
    // A backtick in a log value must not close the code block.
    let rows = String::from_utf8_lossy(&rows).replace('`', "'");
    let more = findings.len().saturating_sub(TABLE_ROWS);
    let text = format!(
        "trailscope: {} finding{} ({})\n```\n{}{}```",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        counts.join(", "),
        chat_text_keep_lines(&rows),
        if more > 0 {
            format!("… and {more} more\n")
        } else {
            String::new()
        }
    );
    json!({
        "text": text,
        "count": findings.len(),
        "findings": findings.iter().take(FINDINGS_LISTED).map(alert_json).collect::<Vec<_>>(),
        "omitted": findings.len().saturating_sub(FINDINGS_LISTED),
    })
}

/// [`chat_text`] line by line (the table's cells are already free of control characters).
fn chat_text_keep_lines(s: &str) -> String {
    s.lines().map(|l| chat_text(l) + "\n").collect()
}
