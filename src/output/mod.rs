//! Writers for what headless commands print: aligned text tables and JSON. Every string
//! from a log passes through [`crate::text`] before it is written: a [`Table`] escapes each
//! header and cell itself, so a new column cannot forget to.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::analysis::{self, Pivot, Profile, Summary, Timeline};
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
    /// A table with these column headers, escaped for the terminal (a pivot's or timeline's
    /// headers are log values); `right` marks right-aligned (numeric) columns.
    pub fn new(headers: &[&str], right: &[bool]) -> Self {
        Table {
            headers: headers
                .iter()
                .map(|h| escape_control(h).into_owned())
                .collect(),
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

// ---------------------------------------------------------------------------------------
// Frames (query results, pivots, timelines) as table, CSV, JSON or NDJSON
// ---------------------------------------------------------------------------------------

/// How a headless command prints a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned text columns for a person.
    Table,
    /// RFC 4180 CSV, formulas neutralized.
    Csv,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// One value of a result, typed enough for JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// Text.
    Text(String),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An instant, UTC microseconds.
    Time(i64),
}

impl Cell {
    /// The cell for display: times in `tz`, nulls empty; not yet escaped.
    pub fn display(&self, tz: &jiff::tz::TimeZone) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(v) => v.to_string(),
            Cell::UInt(v) => v.to_string(),
            Cell::Float(v) => v.to_string(),
            Cell::Bool(v) => v.to_string(),
            Cell::Time(us) => text::format_time(*us, tz),
        }
    }

    /// The cell as JSON: times as RFC 3339 UTC.
    pub fn json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Int(v) => json!(v),
            Cell::UInt(v) => json!(v),
            Cell::Float(v) => json!(v),
            Cell::Bool(v) => json!(v),
            Cell::Time(us) => Value::String(text::format_time_utc(*us)),
        }
    }
}

/// The cells of one column of a frame, converted once (not per row and value lookup).
pub fn column_cells(column: &polars::prelude::Column) -> crate::Result<Vec<Cell>> {
    use polars::prelude::*;
    let err = crate::Error::polars("reading a result column");
    let series = column.as_materialized_series();
    let cells = match series.dtype() {
        DataType::Datetime(unit, _) => {
            let scale = match unit {
                TimeUnit::Nanoseconds => -1_000,
                TimeUnit::Microseconds => 1,
                TimeUnit::Milliseconds => 1_000,
            };
            let physical = series.to_physical_repr();
            let ca = physical.i64().map_err(err)?;
            ca.iter()
                .map(|v| match v {
                    Some(v) if scale < 0 => Cell::Time(v / -scale),
                    Some(v) => Cell::Time(v * scale),
                    None => Cell::Null,
                })
                .collect()
        }
        DataType::Boolean => series
            .bool()
            .map_err(err)?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Bool))
            .collect(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => series
            .cast(&DataType::UInt64)
            .map_err(crate::Error::polars("reading a result column"))?
            .u64()
            .map_err(crate::Error::polars("reading a result column"))?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::UInt))
            .collect(),
        dt if dt.is_integer() => series
            .cast(&DataType::Int64)
            .map_err(crate::Error::polars("reading a result column"))?
            .i64()
            .map_err(crate::Error::polars("reading a result column"))?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Int))
            .collect(),
        dt if dt.is_float() => series
            .cast(&DataType::Float64)
            .map_err(crate::Error::polars("reading a result column"))?
            .f64()
            .map_err(crate::Error::polars("reading a result column"))?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Float))
            .collect(),
        DataType::String => series
            .str()
            .map_err(err)?
            .iter()
            .map(|v| v.map_or(Cell::Null, |s| Cell::Text(s.to_string())))
            .collect(),
        DataType::Categorical(..) | DataType::Enum(..) => series
            .cast(&DataType::String)
            .map_err(crate::Error::polars("reading a result column"))?
            .str()
            .map_err(crate::Error::polars("reading a result column"))?
            .iter()
            .map(|v| v.map_or(Cell::Null, |s| Cell::Text(s.to_string())))
            .collect(),
        _ => (0..series.len())
            .map(|i| match series.get(i) {
                Ok(AnyValue::Null) | Err(_) => Cell::Null,
                Ok(v) => Cell::Text(v.str_value().into_owned()),
            })
            .collect(),
    };
    Ok(cells)
}

/// A result as named columns of cells: what every writer below prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    /// Column names.
    pub headers: Vec<String>,
    /// Rows of cells, one per header.
    pub rows: Vec<Vec<Cell>>,
}

impl Grid {
    /// Converts a frame.
    pub fn from_frame(frame: &polars::prelude::DataFrame) -> crate::Result<Grid> {
        let columns: Vec<Vec<Cell>> = frame
            .columns()
            .iter()
            .map(column_cells)
            .collect::<crate::Result<_>>()?;
        let rows = (0..frame.height())
            .map(|i| {
                columns
                    .iter()
                    .map(|c| c.get(i).cloned().unwrap_or(Cell::Null))
                    .collect()
            })
            .collect();
        Ok(Grid {
            headers: frame
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect(),
            rows,
        })
    }

    /// Writes the grid in a format; times shown in `tz` (table and CSV) or UTC (JSON).
    pub fn write(
        &self,
        out: &mut dyn Write,
        format: OutputFormat,
        tz: &jiff::tz::TimeZone,
    ) -> io::Result<()> {
        match format {
            OutputFormat::Table => {
                let right: Vec<bool> = (0..self.headers.len())
                    .map(|i| {
                        self.rows.iter().all(|r| {
                            matches!(
                                r.get(i),
                                Some(Cell::Int(_) | Cell::UInt(_) | Cell::Float(_) | Cell::Null)
                            )
                        }) && !self.rows.is_empty()
                    })
                    .collect();
                let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
                let mut table = Table::new(&headers, &right);
                for row in &self.rows {
                    table.row(row.iter().map(|c| c.display(tz)).collect());
                }
                table.write(out, 80)
            }
            OutputFormat::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer
                    .write_record(
                        self.headers
                            .iter()
                            .map(|h| text::guard_csv_cell(h).into_owned()),
                    )
                    .map_err(csv_io_error)?;
                for row in &self.rows {
                    writer
                        .write_record(row.iter().map(|c| {
                            let shown = c.display(tz);
                            text::guard_csv_cell(&shown).into_owned()
                        }))
                        .map_err(csv_io_error)?;
                }
                writer.flush()
            }
            OutputFormat::Json => {
                let rows: Vec<Value> = self.rows.iter().map(|r| self.object(r)).collect();
                writeln!(out, "{}", Value::Array(rows))
            }
            OutputFormat::Ndjson => {
                for row in &self.rows {
                    writeln!(out, "{}", self.object(row))?;
                }
                Ok(())
            }
        }
    }

    fn object(&self, row: &[Cell]) -> Value {
        let map: Map<String, Value> = self
            .headers
            .iter()
            .zip(row)
            .map(|(h, c)| (h.clone(), c.json()))
            .collect();
        Value::Object(map)
    }
}

/// A CSV writer's error as an I/O error of the same kind, so a closed pipe stays a
/// `BrokenPipe` that the binary treats as success (not an opaque error exiting 2).
fn csv_io_error(err: csv::Error) -> io::Error {
    let kind = match err.kind() {
        csv::ErrorKind::Io(io) => io.kind(),
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err)
}

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

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

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
fn ranges_by_source(summary: &Summary) -> HashMap<&str, &crate::analysis::SourceSummary> {
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
