//! The analyses as headless commands print them: the load summary, pivots, timelines and
//! activity profiles, as text tables, grids (CSV, NDJSON) or JSON documents; drill-down
//! filters ride along so a script can select the events behind a row.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::analysis::{self, Pivot, Profile, SourceSummary, Summary, Timeline};
use crate::store::FrameStore;
use crate::text::{self, escape_control};
use crate::time::WEEKDAYS;

use super::table::{Cell, Grid, Table};

/// A pivot as a grid: one row per row key with its cells, the row total and its drill-down
/// filter, then a total row.
pub fn pivot_grid(pivot: &Pivot) -> Grid {
    let mut headers = vec![pivot.spec.rows.clone()];
    headers.extend(pivot.col_keys.iter().map(|k| k.label().to_string()));
    headers.push("total".into());
    headers.push("filter".into());
    let mut rows: Vec<Vec<Cell>> = pivot
        .row_keys
        .iter()
        .enumerate()
        .map(|(r, key)| {
            let mut row = vec![Cell::Text(key.label().to_string())];
            if pivot.spec.cols.is_some() {
                row.extend(
                    pivot
                        .cells
                        .get(r)
                        .into_iter()
                        .flatten()
                        .map(|n| Cell::UInt(*n)),
                );
            }
            row.push(Cell::UInt(pivot.row_totals.get(r).copied().unwrap_or(0)));
            row.push(Cell::Text(pivot.cell_filter(r, None)));
            row
        })
        .collect();
    let mut total = vec![Cell::Text("(total)".into())];
    if pivot.spec.cols.is_some() {
        total.extend(pivot.col_totals.iter().map(|n| Cell::UInt(*n)));
    }
    total.push(Cell::UInt(pivot.total));
    total.push(Cell::Null);
    rows.push(total);
    Grid { headers, rows }
}

/// A pivot as one JSON object, every row with the filter that selects its events.
pub fn pivot_json(pivot: &Pivot) -> Value {
    let measure = match &pivot.spec.distinct {
        Some(d) => format!("distinct {d}"),
        None => "events".to_string(),
    };
    let rows: Vec<Value> = pivot
        .row_keys
        .iter()
        .enumerate()
        .map(|(r, key)| {
            let mut row = json!({
                "key": key.label(),
                "total": pivot.row_totals.get(r).copied().unwrap_or(0),
                "filter": pivot.cell_filter(r, None),
            });
            if pivot.spec.cols.is_some() {
                row["cells"] = json!(pivot.cells.get(r).cloned().unwrap_or_default());
                row["cell_filters"] = json!(
                    (0..pivot.col_keys.len())
                        .map(|c| pivot.cell_filter(r, Some(c)))
                        .collect::<Vec<_>>()
                );
            }
            row
        })
        .collect();
    let mut object = json!({
        "rows": pivot.spec.rows,
        "cols": pivot.spec.cols,
        "measure": measure,
        "data": rows,
        "total": pivot.total,
    });
    if pivot.spec.cols.is_some() {
        object["columns"] = json!(pivot.col_keys.iter().map(|k| k.label()).collect::<Vec<_>>());
        object["column_totals"] = json!(pivot.col_totals);
    }
    object
}

/// A timeline as a grid: one row per bucket (local start), one column per lane, and the total.
pub fn timeline_grid(timeline: &Timeline) -> Grid {
    let mut headers = vec![format!(
        "bucket ({})",
        analysis::bucket_label(timeline.bucket)
    )];
    headers.extend(timeline.lanes.iter().map(|l| l.key.label().to_string()));
    headers.push("total".into());
    let rows = (0..timeline.starts.len())
        .map(|i| {
            let mut row = vec![Cell::Text(timeline.label(i))];
            row.extend(
                timeline
                    .lanes
                    .iter()
                    .map(|l| Cell::UInt(l.counts.get(i).copied().unwrap_or(0))),
            );
            row.push(Cell::UInt(timeline.totals.get(i).copied().unwrap_or(0)));
            row
        })
        .collect();
    Grid { headers, rows }
}

/// A timeline as one JSON object: bucket starts (local), totals, and the lanes; when the
/// bucket asked for was widened, `widened` says from what and why.
pub fn timeline_json(timeline: &Timeline, tz: &jiff::tz::TimeZone) -> Value {
    let mut object = json!({
        "by": timeline.by,
        "bucket": analysis::bucket_label(timeline.bucket),
        "time_zone": tz.iana_name().unwrap_or("UTC"),
        "starts": (0..timeline.starts.len()).map(|i| timeline.label(i)).collect::<Vec<_>>(),
        "totals": timeline.totals,
        "lanes": timeline.lanes.iter().map(|l| json!({
            "key": l.key.label(),
            "total": l.total,
            "filter": analysis::key_filter(&timeline.by, &l.key),
            "counts": l.counts,
        })).collect::<Vec<_>>(),
    });
    if let Some(w) = &timeline.widened {
        object["widened"] = json!({
            "requested": analysis::bucket_label(w.requested),
            "would_make": u64::try_from(w.would_make).unwrap_or(u64::MAX),
            "limit": w.limit,
            "note": timeline.widening_note(),
        });
    }
    object
}

/// Activity profiles as text: per actor a weekday x local-hour grid of counts; counts
/// outside the actor's usual hours carry a `!`.
pub fn write_profiles(
    out: &mut dyn Write,
    profiles: &[Profile],
    tz: &jiff::tz::TimeZone,
) -> io::Result<()> {
    for p in profiles {
        writeln!(
            out,
            "{} ({} events, {} outside the usual hours; {})",
            escape_control(&p.actor),
            p.total,
            p.outside,
            tz.iana_name().unwrap_or("UTC")
        )?;
        let hours: String = (0..24).map(|h| format!("{h:>4}")).collect();
        writeln!(out, "     {hours}")?;
        for (w, day) in WEEKDAYS.iter().enumerate() {
            let cells: String = (0..24)
                .map(|h| {
                    let n = p.counts[w][h];
                    let shown = if n > 999 {
                        "999+".to_string()
                    } else {
                        n.to_string()
                    };
                    match (n, p.usual[w][h]) {
                        (0, _) => "   .".to_string(),
                        (_, true) => format!("{shown:>4}"),
                        // Activity outside the actor's own pattern is what a responder looks for.
                        (_, false) => format!("{:>4}", format!("{shown}!")),
                    }
                })
                .collect();
            writeln!(out, "{day}  {cells}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Activity profiles as JSON: counts and usual cells, weekday 0 = Monday.
pub fn profiles_json(profiles: &[Profile], tz: &jiff::tz::TimeZone) -> Value {
    Value::Array(
        profiles
            .iter()
            .map(|p| {
                json!({
                    "actor": p.actor,
                    "time_zone": tz.iana_name().unwrap_or("UTC"),
                    "total": p.total,
                    "outside_usual": p.outside,
                    "weekdays": WEEKDAYS,
                    "counts": p.counts.iter().map(|d| d.to_vec()).collect::<Vec<_>>(),
                    "usual": p.usual.iter().map(|d| d.to_vec()).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
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
    let ranges = ranges_by_source(summary);
    for input in store.inputs() {
        let range = ranges.get(input.name.as_str()).copied();
        // An input of digests only is named by what it held (`cloudtrail-digest`).
        let held = input
            .skipped
            .keys()
            .next()
            .filter(|_| input.format.is_none());
        table.row(vec![
            shorten_path(&input.name, 60),
            held.map_or_else(
                || format_name(input.format, input.envelope),
                |kind| kind.name().to_string(),
            ),
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
    // Objects without events are not records: said apart, once per kind.
    for (kind, inputs) in store.skipped_inputs() {
        writeln!(out, "{}", kind.skipped_line(inputs))?;
    }
    let stage_duplicates: u64 = store.inputs().iter().map(|i| i.stage_duplicates).sum();
    if stage_duplicates > 0 {
        writeln!(
            out,
            "of the duplicates, {stage_duplicates} are earlier stages of a request whose \
             most complete stage is loaded (Kubernetes RequestReceived/ResponseComplete)"
        )?;
    }
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
    // Inputs loaded with a warning (records recovered from arrays that lost their commas).
    let (notices, _) = store.notices();
    if !notices.is_empty() {
        writeln!(out, "\nwarnings:")?;
        for notice in notices {
            let name = escape_control(&notice.name);
            writeln!(out, "  {name}: {}", escape_control(&notice.what))?;
        }
    }
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

/// `value count, value count, ...` with each value (a log value) escaped for the terminal.
fn join_counts(counts: &[(String, u64)]) -> String {
    counts
        .iter()
        .map(|(v, c)| format!("{} {c}", escape_control(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each input's events and time range by name: a map, since a directory may hold 50,000
/// inputs and a search per input made the summary quadratic.
fn ranges_by_source(summary: &Summary) -> HashMap<&str, &SourceSummary> {
    summary
        .per_source
        .iter()
        .map(|s| (s.source.as_str(), s))
        .collect()
}

/// The load summary as one JSON object:
/// `{"files":[{"path","format","events","rejected","duplicates",...}],"total":{...}}`.
pub fn summary_json(store: &FrameStore, summary: &Summary) -> Value {
    let ranges = ranges_by_source(summary);
    let files: Vec<Value> = store
        .inputs()
        .iter()
        .map(|input| {
            let range = ranges.get(input.name.as_str()).copied();
            json!({
                "path": input.name,
                "format": input.format,
                "shape": input.shape,
                "envelope": input.envelope,
                "events": input.events,
                "rejected": input.rejected,
                "duplicates": input.duplicates,
                "stage_duplicates": input.stage_duplicates,
                "seen": input.seen(),
                "skipped": input.skipped.iter().map(|(k, n)| (k.name().to_string(), json!(n))).collect::<Map<String, Value>>(),
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
            "stage_duplicates": store.inputs().iter().map(|i| i.stage_duplicates).sum::<u64>(),
            "seen": events + duplicates + rejected,
            "skipped_inputs": store.skipped_inputs().into_iter().map(|(k, n)| (k.name().to_string(), json!(n))).collect::<Map<String, Value>>(),
            "first": summary.first.map(text::format_time_utc),
            "last": summary.last.map(text::format_time_utc),
            "actors": summary.actors,
            "without_time": summary.without_time,
            "providers": providers,
            "top_actions": top_actions,
        }
    })
}
