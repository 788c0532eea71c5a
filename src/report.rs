//! Writers for what headless commands print: aligned text tables and JSON. Every string
//! from a log passes through [`crate::text`] before it is written.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::query::Summary;
use crate::store::FrameStore;
use crate::text::{self, escape_control};

/// A text table: a header row and rows of cells, aligned in columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers; `right` marks right-aligned (numeric) columns.
    pub fn new(headers: &[&str], right: &[bool]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: right.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are escaped for the terminal.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| escape_control(&c).into_owned())
                .collect(),
        );
    }

    /// Writes the table; columns wider than `max_width` are cut with `…`.
    pub fn write(&self, out: &mut dyn Write, max_width: usize) -> io::Result<()> {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count()).min(max_width);
            }
        }
        let line = |cells: &[String]| -> String {
            let mut parts = Vec::with_capacity(columns);
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let cell = text::truncate(cell, *width);
                let pad = width.saturating_sub(cell.chars().count());
                let right = self.right.get(i).copied().unwrap_or(false);
                parts.push(if right {
                    format!("{}{cell}", " ".repeat(pad))
                } else if i + 1 == columns {
                    cell.to_string()
                } else {
                    format!("{cell}{}", " ".repeat(pad))
                });
            }
            parts.join("  ").trim_end().to_string()
        };
        writeln!(out, "{}", line(&self.headers))?;
        for row in &self.rows {
            writeln!(out, "{}", line(row))?;
        }
        Ok(())
    }
}

/// Writes the load summary as text: one row per input, totals, rejections, overview.
pub fn write_summary_table(
    out: &mut dyn Write,
    store: &FrameStore,
    summary: &Summary,
    tz: &jiff::tz::TimeZone,
) -> io::Result<()> {
    let mut table = Table::new(
        &[
            "INPUT",
            "FORMAT",
            "SHAPE",
            "EVENTS",
            "DUPLICATES",
            "REJECTED",
            "FIRST",
            "LAST",
        ],
        &[false, false, false, true, true, true, false, false],
    );
    for input in store.inputs() {
        let range = summary.per_source.iter().find(|s| s.source == input.name);
        table.row(vec![
            shorten_path(&input.name, 60),
            format_name(input.format, input.envelope),
            input.shape.to_string(),
            input.events.to_string(),
            input.duplicates.to_string(),
            input.rejected.to_string(),
            range
                .and_then(|r| r.first)
                .map(|t| text::format_time(t, tz))
                .unwrap_or_default(),
            range
                .and_then(|r| r.last)
                .map(|t| text::format_time(t, tz))
                .unwrap_or_default(),
        ]);
    }
    let (events, duplicates, rejected) = store.totals();
    table.row(vec![
        format!("TOTAL ({} inputs)", store.inputs().len()),
        String::new(),
        String::new(),
        events.to_string(),
        duplicates.to_string(),
        rejected.to_string(),
        summary
            .first
            .map(|t| text::format_time(t, tz))
            .unwrap_or_default(),
        summary
            .last
            .map(|t| text::format_time(t, tz))
            .unwrap_or_default(),
    ]);
    table.write(out, 60)?;
    writeln!(out)?;
    writeln!(
        out,
        "records seen: {} = {events} loaded + {duplicates} duplicates + {rejected} rejected",
        events + duplicates + rejected
    )?;
    writeln!(out, "distinct actors: {}", summary.actors)?;
    if summary.without_time > 0 {
        writeln!(
            out,
            "events without a timestamp: {} (shown last)",
            summary.without_time
        )?;
    }
    writeln!(out, "providers: {}", join_counts(&summary.providers))?;
    writeln!(out, "top actions: {}", join_counts(&summary.top_actions))?;
    let rejections: Vec<_> = store
        .inputs()
        .iter()
        .flat_map(|i| i.rejections.iter())
        .collect();
    if !rejections.is_empty() {
        writeln!(
            out,
            "\nrejected records (first {} per input):",
            crate::store::REJECTIONS_KEPT
        )?;
        for r in rejections {
            writeln!(out, "  {r}")?;
        }
    }
    Ok(())
}

/// Keeps the end of a long path, where the file name is.
fn shorten_path(path: &str, width: usize) -> String {
    let count = path.chars().count();
    if count <= width {
        return path.to_string();
    }
    let tail: String = path.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}

fn format_name(format: Option<&str>, envelope: Option<&str>) -> String {
    match (format, envelope) {
        (Some(f), Some(e)) => format!("{f} ({e})"),
        (Some(f), None) => f.to_string(),
        (None, _) => "-".to_string(),
    }
}

fn join_counts(counts: &[(String, u64)]) -> String {
    counts
        .iter()
        .map(|(v, c)| format!("{v} {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The load summary as one JSON object:
/// `{"files":[{"path","format","events","rejected","duplicates",...}],"total":{...}}`.
pub fn summary_json(store: &FrameStore, summary: &Summary) -> Value {
    let files: Vec<Value> = store
        .inputs()
        .iter()
        .map(|input| {
            let range = summary.per_source.iter().find(|s| s.source == input.name);
            json!({
                "path": input.name,
                "format": input.format,
                "shape": input.shape,
                "envelope": input.envelope,
                "events": input.events,
                "rejected": input.rejected,
                "duplicates": input.duplicates,
                "seen": input.seen(),
                "first": range.and_then(|r| r.first).map(text::format_time_utc),
                "last": range.and_then(|r| r.last).map(text::format_time_utc),
                "rejections": input.rejections.iter().map(|r| json!({
                    "path": r.location.path,
                    "line": r.location.line,
                    "byte_offset": r.location.byte_offset,
                    "reason": r.reason,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let (events, duplicates, rejected) = store.totals();
    let providers: Map<String, Value> = summary
        .providers
        .iter()
        .map(|(p, c)| (p.clone(), json!(c)))
        .collect();
    let top_actions: Vec<Value> = summary
        .top_actions
        .iter()
        .map(|(a, c)| json!({"action": a, "count": c}))
        .collect();
    json!({
        "files": files,
        "total": {
            "events": events,
            "rejected": rejected,
            "duplicates": duplicates,
            "seen": events + duplicates + rejected,
            "first": summary.first.map(text::format_time_utc),
            "last": summary.last.map(text::format_time_utc),
            "actors": summary.actors,
            "without_time": summary.without_time,
            "providers": providers,
            "top_actions": top_actions,
        }
    })
}

// ---------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------

/// One finding as the JSON object `detect --format json|jsonl` prints:
/// `{"rule","title","severity","time","actor","provider","event_ids","count","reason","mitre"}`.
/// Log-derived text is kept as written (JSON escapes it); times are RFC 3339 UTC.
pub fn finding_json(f: &crate::detectors::Finding) -> Value {
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
pub fn write_findings_jsonl(
    out: &mut dyn Write,
    findings: &[crate::detectors::Finding],
) -> io::Result<()> {
    for f in findings {
        writeln!(out, "{}", finding_json(f))?;
    }
    Ok(())
}

/// Writes findings as one JSON array.
pub fn write_findings_json(
    out: &mut dyn Write,
    findings: &[crate::detectors::Finding],
) -> io::Result<()> {
    let all: Vec<Value> = findings.iter().map(finding_json).collect();
    writeln!(out, "{}", Value::Array(all))
}

/// Writes findings as a table (time in `tz`), most severe first within a time, then a
/// count per severity.
pub fn write_findings_table(
    out: &mut dyn Write,
    findings: &[crate::detectors::Finding],
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
