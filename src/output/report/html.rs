//! A report as one self-contained HTML page: inline styles and an inline SVG chart, no
//! scripts, fonts or images from anywhere, and a Content-Security-Policy that forbids
//! scripts outright, so a value from a log that slipped through escaping still could not
//! run. Every log value passes [`escape_html`]; the page prints on A4 without the colours.

use std::io::{self, Write};

use crate::output::table::{Cell, Grid};
use crate::text::{escape_html, format_time};

use super::{Masthead, MultiReport, Report, Scope, svg};

/// Nothing may load or run: no scripts, no network, no frames or forms; inline styles and
/// the inline SVG only.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2329;margin:2rem auto;max-width:1200px;padding:0 1rem}
h1{font-size:1.7rem;margin:0 0 .3rem}h3{font-size:1.05rem;margin:1.4rem 0 .4rem}.report-view{border-top:3px solid #57606a;margin-top:2.5rem}nav ol{margin:.3rem 0}
h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.note{white-space:pre-wrap;background:#f6f8fa;border-left:4px solid #57606a;padding:.5rem .8rem}
.meta{color:#57606a;font-size:.9rem}.redacted{background:#fff8c5;border:1px solid #d4a72c;padding:.4rem .8rem}
table{border-collapse:collapse;margin:.4rem 0;font-size:.85rem}th,td{border:1px solid #d0d7de;padding:.2rem .45rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}.inputs td.mono{overflow-wrap:anywhere;max-width:34rem}
.events td{max-width:28rem;overflow-wrap:anywhere}code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.82rem}
pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere}
.tops{display:flex;flex-wrap:wrap;gap:1.2rem;align-items:flex-start}.tops table{flex:1 1 16rem;max-width:36rem}.tops td{overflow-wrap:anywhere}
.counts{display:flex;gap:2rem;flex-wrap:wrap}.counts div{font-size:1.3rem}.counts span{display:block;font-size:.8rem;color:#57606a}
.sev-critical,.sev-high{color:#a40e26;font-weight:600}.sev-medium{color:#9a6700;font-weight:600}
svg.timeline{width:100%;height:auto;max-height:220px}svg .axis{stroke:#57606a}svg .label{font-size:11px;fill:#57606a}
svg .success{fill:#8c959f}svg .unknown{fill:#c6cdd5}svg .failure{fill:#cf222e}
.legend span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}tr,svg{break-inside:avoid}thead{display:table-header-group}.events td{max-width:none}}
@page{size:A4 landscape;margin:12mm}
"#;

/// Writes the page of one view.
pub fn write(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    write_head(out, &r.masthead())?;
    write_view(
        out,
        r,
        &Place {
            prefix: "",
            level: 2,
        },
    )?;
    write_scope(out, &r.scope, &r.tz)?;
    writeln!(out, "</body></html>")
}

/// Writes the page of several views: the masthead, a table of contents, one section per
/// view in order (its sub-sections one heading level down, their ids prefixed with the
/// section's), and the shared scope.
pub fn write_multi(out: &mut dyn Write, m: &MultiReport) -> io::Result<()> {
    let e = |s: &str| escape_html(s).into_owned();
    write_head(out, &m.masthead())?;
    writeln!(out, r#"<nav id="contents"><h2>Contents</h2><ol>"#)?;
    for v in &m.views {
        writeln!(
            out,
            r##"<li><a href="#{}">{}</a> ({} matching events, {} findings)</li>"##,
            v.anchor,
            e(&v.report.title),
            group(v.report.matching as u64),
            group(v.report.finding_count as u64)
        )?;
    }
    writeln!(
        out,
        r##"<li><a href="#scope">Scope and input hashes</a></li></ol><p>Made again by:</p><pre id="report-command">{}</pre></nav>"##,
        e(&m.report_command)
    )?;
    for v in &m.views {
        writeln!(
            out,
            r#"<section id="{0}" class="report-view"><h2 id="{0}-title">{1}</h2>"#,
            v.anchor,
            e(&v.report.title)
        )?;
        if !v.report.note.trim().is_empty() {
            writeln!(
                out,
                r#"<p class="note" id="{}-note">{}</p>"#,
                v.anchor,
                e(&v.report.note)
            )?;
        }
        let prefix = format!("{}-", v.anchor);
        write_view(
            out,
            &v.report,
            &Place {
                prefix: &prefix,
                level: 3,
            },
        )?;
        writeln!(out, "</section>")?;
    }
    write_scope(out, &m.scope, &m.tz)?;
    writeln!(out, "</body></html>")
}

/// Where a view's sections go on the page: the prefix of their ids, the level of their
/// headings.
struct Place<'a> {
    prefix: &'a str,
    level: u8,
}

/// The document's head and the masthead: title, note, who made it when, redaction.
fn write_head(out: &mut dyn Write, r: &Masthead<'_>) -> io::Result<()> {
    let e = |s: &str| escape_html(s).into_owned();
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, r#"<html lang="en"><head><meta charset="utf-8">"#)?;
    writeln!(
        out,
        r#"<meta http-equiv="Content-Security-Policy" content="{CSP}">"#
    )?;
    writeln!(out, r#"<meta name="referrer" content="no-referrer">"#)?;
    writeln!(
        out,
        r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#
    )?;
    writeln!(out, "<title>{}</title>", e(r.title))?;
    writeln!(out, "<style>{STYLE}</style></head><body>")?;
    writeln!(out, r#"<header><h1 id="title">{}</h1>"#, e(r.title))?;
    if !r.note.trim().is_empty() {
        writeln!(out, r#"<p class="note" id="note">{}</p>"#, e(r.note))?;
    }
    writeln!(
        out,
        r#"<p class="meta">Generated <span id="generated-at">{}</span> by <span id="generated-by">{}</span> with trailscope {} · configuration sha256 <span class="mono" id="config-hash">{}</span> · times in {}</p>"#,
        e(r.generated_at),
        e(r.generated_by),
        e(r.version),
        e(r.config_hash),
        e(r.tz)
    )?;
    if !r.redacted.is_empty() {
        let fields: Vec<&str> = r
            .redacted
            .iter()
            .map(|c| super::redact::field_name(c))
            .collect();
        writeln!(
            out,
            r#"<p class="redacted" id="redaction">Redacted: every value of {} is replaced by a keyed pseudonym (the same value has the same pseudonym throughout), wherever it appears.</p>"#,
            e(&fields.join(", "))
        )?;
    }
    writeln!(out, "</header>")
}

/// One view's sections: counts, definition, timeline, top values, findings, the audit it
/// asks for, events.
fn write_view(out: &mut dyn Write, r: &Report, place: &Place<'_>) -> io::Result<()> {
    let e = |s: &str| escape_html(s).into_owned();
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), |t| format_time(t, &r.tz));
    let (p, h) = (place.prefix, place.level);

    // Counts.
    writeln!(
        out,
        r#"<section id="{p}counts"><h{h}>Counts</h{h}><div class="counts">"#
    )?;
    let n = |v: usize| group(v as u64);
    writeln!(
        out,
        "<div>{}<span>matching events</span></div><div>{}<span>events loaded</span></div><div>{}<span>findings in scope</span></div>",
        n(r.matching),
        n(r.loaded),
        n(r.finding_count)
    )?;
    writeln!(
        out,
        "<div>{} – {}<span>first and last matching event</span></div></div>",
        e(&time(r.range.0)),
        e(&time(r.range.1))
    )?;
    if !r.severities.is_empty() {
        let parts: Vec<String> = r
            .severities
            .iter()
            .map(|(s, c)| format!(r#"<span class="sev-{0}">{0}</span> {c}"#, s.as_str()))
            .collect();
        writeln!(out, "<p>Findings by severity: {}</p>", parts.join(", "))?;
    }
    let (seen, loaded, duplicates, rejected) = r.scope.totals;
    writeln!(
        out,
        r##"<p>From {} inputs: {} records seen = {} loaded + {} duplicates + {} rejected (<a href="#scope">scope and input hashes</a>).</p>"##,
        group(r.scope.inputs.len() as u64),
        group(seen),
        group(loaded),
        group(duplicates),
        group(rejected)
    )?;
    writeln!(out, "</section>")?;

    // The view.
    writeln!(
        out,
        r#"<section id="{p}view"><h{h}>View</h{h}><table class="definition">"#
    )?;
    if let Some(name) = &r.view.name {
        writeln!(out, "<tr><th>Saved view</th><td>{}</td></tr>", e(name))?;
    }
    if !r.view.shared.is_empty() {
        writeln!(
            out,
            "<tr><th>Every view</th><td><code>{}</code> (given on the command line, applied to every view of this report)</td></tr>",
            e(&r.view.shared)
        )?;
    }
    let filter = if r.view.filter.is_empty() {
        "(none: every event)".to_string()
    } else {
        r.view.filter.clone()
    };
    writeln!(
        out,
        r#"<tr><th>Filter</th><td><code>{}</code></td></tr><tr><th>Time range</th><td>{}</td></tr><tr><th>Time zone</th><td>{}</td></tr><tr><th>Columns</th><td>{}</td></tr><tr><th>Sort</th><td>{}</td></tr><tr><th>Findings</th><td>at least {}</td></tr></table>"#,
        e(&filter),
        e(&r.view.range),
        e(&r.view.tz),
        e(&r.view.columns.join(", ")),
        e(&r.view.sort),
        r.view.min_severity
    )?;
    writeln!(
        out,
        r#"<p>Made again by:</p><pre id="{p}report-command">{}</pre><p>The same events, every column:</p><pre id="{p}query-command">{}</pre></section>"#,
        e(&r.report_command),
        e(&r.query_command)
    )?;

    // Timeline.
    writeln!(
        out,
        r#"<section id="{p}timeline"><h{h}>Timeline</h{h}><p class="legend">Matching events per {} ({}):<span style="background:#8c959f"></span>success<span style="background:#c6cdd5"></span>unknown<span style="background:#cf222e"></span>failure</p>"#,
        e(&crate::analysis::bucket_label(r.timeline.bucket)),
        e(&r.view.tz)
    )?;
    writeln!(out, "{}</section>", svg::chart(&r.timeline, p))?;

    // Top values.
    writeln!(
        out,
        r#"<section id="{p}top"><h{h}>Top values</h{h}><div class="tops">"#
    )?;
    for (column, counts) in &r.top {
        writeln!(
            out,
            r#"<table class="top" id="{p}top-{0}"><thead><tr><th>{0}</th><th>events</th></tr></thead><tbody>"#,
            e(column)
        )?;
        for (value, count) in counts {
            writeln!(
                out,
                r#"<tr><td>{}</td><td class="n">{}</td></tr>"#,
                e(value),
                group(*count)
            )?;
        }
        if counts.is_empty() {
            writeln!(out, r#"<tr><td colspan="2">(none)</td></tr>"#)?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(out, "</div></section>")?;

    // Findings.
    writeln!(
        out,
        r#"<section id="{p}findings"><h{h}>Findings in scope</h{h}><p>{}</p>"#,
        e(&r.findings_summary())
    )?;
    if !r.findings.is_empty() {
        writeln!(
            out,
            "<table><thead><tr><th>severity</th><th>time</th><th>rule</th><th>actor</th><th>events</th><th>MITRE</th><th>reason</th><th>event ids</th></tr></thead><tbody>"
        )?;
        for f in &r.findings {
            let ids: Vec<&str> = f.event_ids.iter().take(5).map(String::as_str).collect();
            let more = f.event_ids.len().saturating_sub(ids.len());
            writeln!(
                out,
                r#"<tr><td class="sev-{0}">{0}</td><td>{1}</td><td>{2}<br><small>{3}</small></td><td>{4}</td><td class="n">{5}</td><td>{6}</td><td>{7}</td><td class="mono">{8}{9}</td></tr>"#,
                f.severity.as_str(),
                e(&time(f.time)),
                e(&f.rule),
                e(&f.title),
                e(&f.actor),
                group(f.count),
                e(&f.mitre.join(", ")),
                e(&f.reason),
                e(&ids.join(" ")),
                if more > 0 {
                    format!(" (+{more})")
                } else {
                    String::new()
                }
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(out, "</section>")?;

    // The access audit or review the view asks for.
    if let Some(section) = &r.audit {
        writeln!(
            out,
            r#"<section id="{p}{}"><h{h}>{}</h{h}>"#,
            section.id,
            e(&section.title)
        )?;
        if let Some(summary) = &section.summary {
            writeln!(
                out,
                r#"<p id="{p}{}-summary">{}</p>"#,
                section.id,
                e(summary)
            )?;
        }
        write_grid(out, &section.grid, &r.tz)?;
        writeln!(out, "</section>")?;
    }

    // Events.
    let shown = r.events.rows.len();
    writeln!(
        out,
        r#"<section id="{p}events"><h{h}>Events</h{h}><p id="{p}events-shown">{}</p>"#,
        if shown < r.matching {
            format!(
                "The first {} of {} matching events (the table is capped at {}; the CSV, JSON, NDJSON and Parquet formats carry all of them).",
                group(shown as u64),
                group(r.matching as u64),
                group(r.max_rows as u64)
            )
        } else {
            format!("All {} matching events.", group(r.matching as u64))
        }
    )?;
    write_grid(out, &r.events, &r.tz)?;
    writeln!(out, "</section>")
}

/// A grid as an HTML table, every cell escaped, numbers aligned right.
fn write_grid(out: &mut dyn Write, grid: &Grid, tz: &jiff::tz::TimeZone) -> io::Result<()> {
    let e = |s: &str| escape_html(s).into_owned();
    write!(out, r#"<table class="events"><thead><tr>"#)?;
    for h in &grid.headers {
        write!(out, "<th>{}</th>", e(h))?;
    }
    writeln!(out, "</tr></thead><tbody>")?;
    for row in &grid.rows {
        write!(out, "<tr>")?;
        for cell in row {
            match cell {
                Cell::Null => write!(out, "<td></td>")?,
                Cell::Int(_) | Cell::UInt(_) | Cell::Float(_) => {
                    write!(out, r#"<td class="n">{}</td>"#, e(&cell.display(tz)))?
                }
                other => write!(out, "<td>{}</td>", e(&other.display(tz)))?,
            }
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody></table>")
}

/// The scope: inputs with hashes and counts, coverage per stream, gaps.
fn write_scope(out: &mut dyn Write, s: &Scope, tz: &jiff::tz::TimeZone) -> io::Result<()> {
    let e = |s: &str| escape_html(s).into_owned();
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_string(), |t| format_time(t, tz));
    writeln!(
        out,
        r#"<section id="scope"><h2>Scope</h2><p>Loaded events from {} to {}. Check an input with <code>sha256sum FILE</code>.</p>"#,
        e(&time(s.range.0)),
        e(&time(s.range.1))
    )?;
    writeln!(
        out,
        r#"<table class="inputs"><thead><tr><th>input</th><th>format</th><th>bytes</th><th>SHA-256</th><th>seen</th><th>loaded</th><th>duplicates</th><th>rejected</th></tr></thead><tbody>"#
    )?;
    for i in &s.inputs {
        writeln!(
            out,
            r#"<tr><td class="mono">{}</td><td>{}</td><td class="n">{}</td><td class="mono">{}{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            e(&i.name),
            e(&i.format),
            i.size.map_or_else(|| "-".into(), group),
            e(i.sha256.as_deref().unwrap_or("(not a file: not hashed)")),
            if i.changed_since_load {
                "<br><small>changed since it was loaded (size or modification time): this is the hash of the file now</small>"
            } else {
                ""
            },
            group(i.seen),
            group(i.loaded),
            group(i.duplicates),
            group(i.rejected)
        )?;
    }
    let (seen, loaded, duplicates, rejected) = s.totals;
    writeln!(
        out,
        r#"<tr><th>total ({} inputs)</th><td></td><td></td><td></td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr></tbody></table>"#,
        s.inputs.len(),
        group(seen),
        group(loaded),
        group(duplicates),
        group(rejected)
    )?;
    writeln!(
        out,
        r#"<h3>Coverage</h3><table class="streams"><thead><tr><th>stream</th><th>first event</th><th>last event</th><th>events</th><th>gaps judged</th></tr></thead><tbody>"#
    )?;
    for st in &s.streams {
        writeln!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            e(&st.label),
            e(&time(Some(st.first))),
            e(&time(Some(st.last))),
            group(st.events),
            if st.judged {
                "yes"
            } else {
                "no: too short a history"
            }
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if s.stream_count > s.streams.len() {
        writeln!(
            out,
            "<p>{} more streams not listed.</p>",
            group((s.stream_count - s.streams.len()) as u64)
        )?;
    }
    writeln!(
        out,
        r#"<p id="gaps">Gaps: a stream silent far beyond its own pattern, in hours its quietest days still log events (judged for streams with {} full days or more; nights, weekends and the lulls of a small tenant are not gaps). {}</p>"#,
        s.history_days,
        if s.gaps.is_empty() {
            "None found.".to_string()
        } else {
            format!("{} found:", s.gaps.len())
        }
    )?;
    if !s.gaps.is_empty() {
        writeln!(out, "<ul>")?;
        for (_, gap) in &s.gaps {
            writeln!(out, "<li>{}</li>", e(gap))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</section>")
}

/// A count with thousands separators (`1,000,000`).
pub use crate::text::thousands as group;
