//! View-models: what the views draw, already escaped, built by `update` from the frame and
//! the query results. The views never see polars.

use std::collections::HashMap;

use polars::prelude::*;

use crate::analysis::{Key, Pivot, Timeline};
use crate::audit::identities::{IdentityColumn, IdentityRow};
use crate::detectors::{Finding, Severity};
use crate::text::{escape_control, format_time};

/// One visible row of the events table.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// The row in the store's frame.
    pub frame_row: u32,
    /// One escaped cell per shown column.
    pub cells: Vec<String>,
    /// The most severe finding this event is behind.
    pub flag: Option<Severity>,
}

/// The identities view's order: the column and whether largest first.
pub type IdentityOrder = (IdentityColumn, bool);

/// Sorts identity rows in an order.
pub fn sort_identities(rows: &mut [IdentityView], (column, descending): IdentityOrder) {
    rows.sort_by(|a, b| column.compare(&a.identity, &b.identity, descending));
}

/// One identity of the identities view: what the inventory found, and its texts escaped.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityView {
    /// The identity as stored (for the filter and the sort; its texts are never drawn).
    pub identity: IdentityRow,
    /// The identity's name, escaped.
    pub label: String,
    /// MFA coverage as a percentage, or `n/a`.
    pub mfa: String,
    /// Its flags' names, escaped.
    pub flags: String,
}

/// One finding of the findings view, escaped.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    /// Severity.
    pub severity: Severity,
    /// Time of the first event, formatted.
    pub time: String,
    /// Rule id.
    pub rule: String,
    /// Title.
    pub title: String,
    /// Actor.
    pub actor: String,
    /// Events behind it.
    pub count: u64,
    /// Why.
    pub reason: String,
    /// MITRE technique ids.
    pub mitre: String,
}

/// The pivot as drawn: escaped labels and counts, plus the pivot for drill-down filters.
#[derive(Debug, Clone, PartialEq)]
pub struct PivotView {
    /// The result.
    pub pivot: Pivot,
    /// Row labels, escaped.
    pub row_labels: Vec<String>,
    /// Column labels, escaped.
    pub col_labels: Vec<String>,
    /// The largest cell (for heat shading).
    pub max: u64,
}

/// The timeline as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineView {
    /// The result.
    pub timeline: Timeline,
    /// Lane labels, escaped.
    pub labels: Vec<String>,
    /// The stored value of each lane (for the filter; None for "(other)").
    pub actors: Vec<Option<String>>,
    /// Bucket labels (local time).
    pub bucket_labels: Vec<String>,
    /// Per lane: bucket index -> the most severe finding there.
    pub marks: Vec<HashMap<usize, Severity>>,
    /// The busiest bucket of any lane.
    pub max: u64,
}

/// The text of one cell.
pub fn cell_text(value: AnyValue<'_>, tz: &jiff::tz::TimeZone) -> String {
    match value {
        AnyValue::Null => String::new(),
        AnyValue::Datetime(us, _, _) | AnyValue::DatetimeOwned(us, _, _) => format_time(us, tz),
        AnyValue::Boolean(b) => b.to_string(),
        v => escape_control(&v.str_value()).into_owned(),
    }
}

/// The rows `offset .. offset + height` of the view (frame rows `rows`, or the frame in
/// order), as escaped cells of `columns`.
pub fn window(
    frame: &DataFrame,
    rows: Option<&IdxCa>,
    offset: usize,
    height: usize,
    columns: &[&'static str],
    tz: &jiff::tz::TimeZone,
    flags: &HashMap<u32, Severity>,
) -> Vec<EventRow> {
    let total = rows.map_or(frame.height(), |r| r.len());
    if offset >= total || height == 0 {
        return Vec::new();
    }
    let len = height.min(total - offset);
    let (slice, frame_rows): (Option<DataFrame>, Vec<u32>) = match rows {
        None => {
            let slice = frame
                .select(columns.iter().copied())
                .ok()
                .map(|f| f.slice(offset as i64, len));
            (slice, (offset..offset + len).map(|r| r as u32).collect())
        }
        Some(rows) => {
            let idx = rows.slice(offset as i64, len);
            let frame_rows: Vec<u32> = idx
                .downcast_iter()
                .flat_map(|a| a.values().iter().copied())
                .collect();
            let slice = frame
                .select(columns.iter().copied())
                .ok()
                .and_then(|f| f.take(&idx).ok());
            (slice, frame_rows)
        }
    };
    let Some(slice) = slice else {
        return Vec::new();
    };
    let cols: Vec<Option<&Column>> = columns.iter().map(|c| slice.column(c).ok()).collect();
    frame_rows
        .into_iter()
        .enumerate()
        .map(|(i, frame_row)| EventRow {
            frame_row,
            cells: cols
                .iter()
                .map(|c| {
                    c.and_then(|c| c.get(i).ok())
                        .map(|v| cell_text(v, tz))
                        .unwrap_or_default()
                })
                .collect(),
            flag: flags.get(&frame_row).copied(),
        })
        .collect()
}

/// The escaped label of a key.
pub fn key_label(key: &Key) -> String {
    escape_control(key.label()).into_owned()
}

/// The pivot view-model.
pub fn pivot_view(pivot: Pivot) -> PivotView {
    let max = pivot.cells.iter().flatten().copied().max().unwrap_or(0);
    PivotView {
        row_labels: pivot.row_keys.iter().map(key_label).collect(),
        col_labels: if pivot.spec.cols.is_some() {
            pivot.col_keys.iter().map(key_label).collect()
        } else {
            vec!["events".to_string()]
        },
        max,
        pivot,
    }
}

/// The local wall-clock time (as the timeline counts it) of a UTC instant.
pub fn local_micros(utc: i64, tz: &jiff::tz::TimeZone) -> i64 {
    match jiff::Timestamp::from_microsecond(utc) {
        Ok(ts) => utc + i64::from(tz.to_offset(ts).seconds()) * 1_000_000,
        Err(_) => utc,
    }
}

/// The timeline view-model, findings not marked yet (see [`mark_findings`]): built on a
/// worker, because it labels every bucket.
pub fn timeline_view(timeline: Timeline) -> TimelineView {
    let labels = timeline.lanes.iter().map(|l| key_label(&l.key)).collect();
    let actors = timeline
        .lanes
        .iter()
        .map(|l| match &l.key {
            Key::Value(v) => Some(v.clone()),
            Key::Null | Key::Other => None,
        })
        .collect::<Vec<_>>();
    let max = timeline
        .lanes
        .iter()
        .flat_map(|l| l.counts.iter())
        .copied()
        .max()
        .unwrap_or(0);
    let bucket_labels = (0..timeline.starts.len())
        .map(|i| timeline.label(i))
        .collect();
    TimelineView {
        labels,
        actors,
        bucket_labels,
        marks: vec![HashMap::new(); timeline.lanes.len()],
        max,
        timeline,
    }
}

/// Marks the findings on their actor's lane, the most severe per bucket (replacing the
/// marks of earlier findings). One lookup per finding: a live tail can hold tens of
/// thousands of findings, and this runs on the UI thread.
pub fn mark_findings(view: &mut TimelineView, findings: &[Finding], tz: &jiff::tz::TimeZone) {
    let timeline = &view.timeline;
    let mut marks: Vec<HashMap<usize, Severity>> = vec![HashMap::new(); timeline.lanes.len()];
    let lanes: HashMap<&str, usize> = view
        .actors
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.as_deref().map(|a| (a, i)))
        .collect();
    if let Some(&start) = timeline.starts.first()
        && timeline.bucket > 0
    {
        for finding in findings {
            let Some(time) = finding.time else { continue };
            let local = local_micros(time, tz);
            if local < start {
                continue;
            }
            let bucket = ((local - start) / timeline.bucket) as usize;
            if bucket >= timeline.starts.len() {
                continue;
            }
            if let Some(&lane) = lanes.get(finding.actor.as_str()) {
                let slot = marks[lane].entry(bucket).or_insert(finding.severity);
                *slot = (*slot).max(finding.severity);
            }
        }
    }
    view.marks = marks;
}

/// The findings view-model and the frame rows each finding flags.
pub fn finding_rows(
    findings: &[Finding],
    tz: &jiff::tz::TimeZone,
) -> (Vec<FindingRow>, HashMap<u32, Severity>) {
    let mut flags: HashMap<u32, Severity> = HashMap::new();
    for finding in findings {
        for row in &finding.rows {
            let slot = flags.entry(*row).or_insert(finding.severity);
            *slot = (*slot).max(finding.severity);
        }
    }
    let rows = findings
        .iter()
        .map(|f| FindingRow {
            severity: f.severity,
            time: f.time.map(|t| format_time(t, tz)).unwrap_or_default(),
            rule: escape_control(&f.rule).into_owned(),
            title: escape_control(&f.title).into_owned(),
            actor: escape_control(&f.actor).into_owned(),
            count: f.count,
            reason: escape_control(&f.reason).into_owned(),
            mitre: escape_control(&f.mitre.join(",")).into_owned(),
        })
        .collect();
    (rows, flags)
}

/// Where the event at a frame row was read from: `input:line`, escaped.
pub fn origin(frame: &DataFrame, row: u32) -> Option<String> {
    let value = |name: &str| frame.column(name).ok()?.get(row as usize).ok();
    let source = value(crate::schema::SOURCE)?.str_value().into_owned();
    let line = value(crate::schema::RAW_LINE).and_then(|v| v.extract::<u64>());
    let text = match line {
        Some(line) if line > 0 => format!("{source}:{line}"),
        _ => source,
    };
    Some(escape_control(&text).into_owned())
}
