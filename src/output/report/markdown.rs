//! A report as Markdown for tickets and wikis: the same sections as the HTML page, a text
//! sparkline for the timeline, tables with every log value passed through
//! [`escape_markdown`] so nothing renders as markup, a link or a table border.

use std::io::{self, Write};

use crate::output::table::{Cell, Grid};
use crate::text::{escape_markdown, format_time};

use super::html::group;
use super::{Masthead, MultiReport, Report, Scope, svg};

/// Characters of the sparkline.
const SPARK_WIDTH: usize = 72;

/// Writes the report of one view.
pub fn write(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    write_head(out, &r.masthead())?;
    write_view(out, r, "##")?;
    write_scope(out, &r.scope, &r.tz)
}

/// Writes the report of several views: the masthead, the contents, one section per view in
/// order (its parts one heading level down) and the shared scope.
pub fn write_multi(out: &mut dyn Write, m: &MultiReport) -> io::Result<()> {
    let md = |s: &str| escape_markdown(s).into_owned();
    write_head(out, &m.masthead())?;
    writeln!(out, "## Contents\n")?;
    for (i, v) in m.views.iter().enumerate() {
        let heading = section_heading(i, &v.report.title);
        writeln!(
            out,
            "{}. [{}](#{}) ({} matching events, {} findings)",
            i + 1,
            md(&v.report.title),
            heading_anchor(&heading),
            group(v.report.matching as u64),
            group(v.report.finding_count as u64)
        )?;
    }
    writeln!(out, "{}. [Scope](#scope)\n", m.views.len() + 1)?;
    writeln!(out, "Made again by:\n\n{}", fence(&m.report_command))?;
    for (i, v) in m.views.iter().enumerate() {
        writeln!(out, "## {}\n", md(&section_heading(i, &v.report.title)))?;
        if !v.report.note.trim().is_empty() {
            for line in v.report.note.lines() {
                writeln!(out, "> {}", md(line))?;
            }
            writeln!(out)?;
        }
        write_view(out, &v.report, "###")?;
    }
    write_scope(out, &m.scope, &m.tz)
}

/// A view's heading in a report of several: its number and title.
fn section_heading(index: usize, title: &str) -> String {
    format!("{}. {}", index + 1, crate::text::escape_control(title))
}

/// The anchor GitHub, GitLab and most wikis give a heading: lowercase, letters, digits, `-`
/// and `_` kept, spaces as `-`, the rest dropped.
fn heading_anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The title, note, who made it when, and redaction.
fn write_head(out: &mut dyn Write, r: &Masthead<'_>) -> io::Result<()> {
    let m = |s: &str| escape_markdown(s).into_owned();
    writeln!(out, "# {}\n", m(r.title))?;
    if !r.note.trim().is_empty() {
        for line in r.note.lines() {
            writeln!(out, "> {}", m(line))?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Generated {} by {} with trailscope {}; configuration sha256 `{}`; times in {}.\n",
        r.generated_at,
        m(r.generated_by),
        r.version,
        r.config_hash,
        m(r.tz)
    )?;
    if !r.redacted.is_empty() {
        let fields: Vec<&str> = r
            .redacted
            .iter()
            .map(|c| super::redact::field_name(c))
            .collect();
        writeln!(
            out,
            "**Redacted:** every value of {} is replaced by a keyed pseudonym (the same value has the same pseudonym throughout), wherever it appears.\n",
            m(&fields.join(", "))
        )?;
    }
    Ok(())
}

/// One view's parts under headings of level `h` (`##`, `###`).
fn write_view(out: &mut dyn Write, r: &Report, h: &str) -> io::Result<()> {
    let m = |s: &str| escape_markdown(s).into_owned();
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), |t| format_time(t, &r.tz));
    writeln!(out, "{h} Counts\n")?;
    writeln!(
        out,
        "- matching events: {}\n- events loaded: {}\n- findings in scope: {}\n- first and last matching event: {} – {}",
        group(r.matching as u64),
        group(r.loaded as u64),
        group(r.finding_count as u64),
        time(r.range.0),
        time(r.range.1)
    )?;
    if !r.severities.is_empty() {
        let parts: Vec<String> = r
            .severities
            .iter()
            .map(|(s, c)| format!("{} {c}", s.as_str()))
            .collect();
        writeln!(out, "- findings by severity: {}", parts.join(", "))?;
    }
    let (seen, loaded, duplicates, rejected) = r.scope.totals;
    writeln!(
        out,
        "- from {} inputs: {} records seen = {} loaded + {} duplicates + {} rejected (see Scope)",
        group(r.scope.inputs.len() as u64),
        group(seen),
        group(loaded),
        group(duplicates),
        group(rejected)
    )?;
    writeln!(out)?;

    writeln!(out, "{h} View\n")?;
    writeln!(out, "| setting | value |\n|---|---|")?;
    if let Some(name) = &r.view.name {
        writeln!(out, "| saved view | {} |", m(name))?;
    }
    if !r.view.shared.is_empty() {
        writeln!(
            out,
            "| every view | {} (given on the command line, applied to every view of this report) |",
            m(&r.view.shared)
        )?;
    }
    let filter = if r.view.filter.is_empty() {
        "(none: every event)".to_string()
    } else {
        r.view.filter.clone()
    };
    writeln!(out, "| filter | {} |", m(&filter))?;
    writeln!(out, "| time range | {} |", m(&r.view.range))?;
    writeln!(out, "| time zone | {} |", m(&r.view.tz))?;
    writeln!(out, "| columns | {} |", m(&r.view.columns.join(", ")))?;
    writeln!(out, "| sort | {} |", m(&r.view.sort))?;
    writeln!(out, "| findings | at least {} |\n", r.view.min_severity)?;
    writeln!(
        out,
        "Made again by:\n\n{}\nThe same events, every column:\n\n{}",
        fence(&r.report_command),
        fence(&r.query_command)
    )?;

    writeln!(out, "{h} Timeline\n")?;
    writeln!(
        out,
        "Matching events per {} ({}), from {} to {}:\n",
        m(&crate::analysis::bucket_label(r.timeline.bucket)),
        m(&r.view.tz),
        r.timeline.label(0),
        r.timeline.label(r.timeline.starts.len().saturating_sub(1))
    )?;
    writeln!(
        out,
        "{}",
        fence(&format!(
            "{}  max {}",
            svg::sparkline(&r.timeline, SPARK_WIDTH),
            r.timeline.totals.iter().max().copied().unwrap_or(0)
        ))
    )?;

    writeln!(out, "{h} Top values\n")?;
    for (column, counts) in &r.top {
        writeln!(out, "| {} | events |\n|---|---:|", m(column))?;
        for (value, count) in counts {
            writeln!(out, "| {} | {} |", m(value), group(*count))?;
        }
        if counts.is_empty() {
            writeln!(out, "| (none) | |")?;
        }
        writeln!(out)?;
    }

    writeln!(out, "{h} Findings in scope\n")?;
    writeln!(out, "{}\n", r.findings_summary())?;
    if !r.findings.is_empty() {
        writeln!(
            out,
            "| severity | time | rule | actor | events | MITRE | reason | event ids |\n|---|---|---|---|---:|---|---|---|"
        )?;
        for f in &r.findings {
            let ids: Vec<&str> = f.event_ids.iter().take(5).map(String::as_str).collect();
            let more = f.event_ids.len().saturating_sub(ids.len());
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {}{} |",
                f.severity.as_str(),
                time(f.time),
                m(&f.rule),
                m(&f.actor),
                group(f.count),
                m(&f.mitre.join(", ")),
                m(&f.reason),
                m(&ids.join(" ")),
                if more > 0 {
                    format!(" (+{more})")
                } else {
                    String::new()
                }
            )?;
        }
        writeln!(out)?;
    }

    if let Some(section) = &r.audit {
        writeln!(out, "{h} {}\n", m(&section.title))?;
        if let Some(summary) = &section.summary {
            writeln!(out, "{}\n", m(summary))?;
        }
        write_grid(out, &section.grid, &r.tz)?;
        writeln!(out)?;
    }

    writeln!(out, "{h} Events\n")?;
    let shown = r.events.rows.len();
    if shown < r.matching {
        writeln!(
            out,
            "The first {} of {} matching events (the table is capped at {}; the CSV, JSON, NDJSON and Parquet formats carry all of them).\n",
            group(shown as u64),
            group(r.matching as u64),
            group(r.max_rows as u64)
        )?;
    } else {
        writeln!(out, "All {} matching events.\n", group(r.matching as u64))?;
    }
    write_grid(out, &r.events, &r.tz)?;
    writeln!(out)
}

/// A grid as a Markdown table, every cell escaped.
pub fn write_grid(out: &mut dyn Write, grid: &Grid, tz: &jiff::tz::TimeZone) -> io::Result<()> {
    let m = |s: &str| escape_markdown(s).into_owned();
    let headers: Vec<String> = grid.headers.iter().map(|h| m(h)).collect();
    writeln!(out, "| {} |", headers.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(headers.len()))?;
    for row in &grid.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Cell::Null => String::new(),
                other => m(&other.display(tz)),
            })
            .collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

fn write_scope(out: &mut dyn Write, s: &Scope, tz: &jiff::tz::TimeZone) -> io::Result<()> {
    let m = |s: &str| escape_markdown(s).into_owned();
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), |t| format_time(t, tz));
    writeln!(out, "## Scope\n")?;
    writeln!(
        out,
        "Loaded events from {} to {}. Check an input with `sha256sum FILE`.\n",
        time(s.range.0),
        time(s.range.1)
    )?;
    writeln!(
        out,
        "| input | format | bytes | SHA-256 | seen | loaded | duplicates | rejected |\n|---|---|---:|---|---:|---:|---:|---:|"
    )?;
    for i in &s.inputs {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            m(&i.name),
            m(&i.format),
            i.size.map_or_else(|| "-".into(), group),
            i.sha256.as_deref().map_or_else(
                || "(not a file: not hashed)".to_string(),
                |h| if i.changed_since_load {
                    format!("`{h}` (changed since it was loaded: the hash of the file now)")
                } else {
                    format!("`{h}`")
                }
            ),
            group(i.seen),
            group(i.loaded),
            group(i.duplicates),
            group(i.rejected)
        )?;
    }
    let (seen, loaded, duplicates, rejected) = s.totals;
    writeln!(
        out,
        "| **total ({} inputs)** | | | | {} | {} | {} | {} |\n",
        s.inputs.len(),
        group(seen),
        group(loaded),
        group(duplicates),
        group(rejected)
    )?;
    writeln!(
        out,
        "### Coverage\n\n| stream | first event | last event | events | gaps judged |\n|---|---|---|---:|---|"
    )?;
    for st in &s.streams {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            m(&st.label),
            time(Some(st.first)),
            time(Some(st.last)),
            group(st.events),
            if st.judged {
                "yes"
            } else {
                "no: too short a history"
            }
        )?;
    }
    if s.stream_count > s.streams.len() {
        writeln!(
            out,
            "\n{} more streams not listed.",
            group((s.stream_count - s.streams.len()) as u64)
        )?;
    }
    writeln!(
        out,
        "\nGaps: a stream silent far beyond its own pattern, in hours its quietest days still log events (judged for streams with {} full days or more; nights, weekends and the lulls of a small tenant are not gaps). {}\n",
        s.history_days,
        if s.gaps.is_empty() {
            "None found.".to_string()
        } else {
            format!("{} found:", s.gaps.len())
        }
    )?;
    for (_, gap) in &s.gaps {
        writeln!(out, "- {}", m(gap))?;
    }
    if !s.gaps.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// Text in a fenced code block, the fence longer than any run of backticks in it.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let ticks = "`".repeat((longest + 1).max(3));
    format!("{ticks}\n{}\n{ticks}\n", crate::text::escape_control(text))
}
