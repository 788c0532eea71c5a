//! The findings: what the detection engine found, most severe first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::super::state::{AppState, FINDING_COLUMNS};
use super::finding_detail::{draw_finding_pane, split_for_pane};
use super::{Theme, draw_message_below_header, put, right, thousands, value_label};
use crate::schema;

pub(super) fn draw_findings(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let findings = &state.findings;
    let (list, pane) = split_for_pane(area, findings.pane.open);
    if let Some(pane) = pane {
        draw_finding_pane(frame, state, pane, theme);
    }
    let Some(area) = list else {
        return;
    };
    let buf = frame.buffer_mut();
    let info = if let Some(error) = &findings.error {
        format!("the detectors failed: {error}")
    } else if findings.running && findings.rows.is_empty() {
        "running the detectors…".to_string()
    } else {
        let spec = &findings.spec;
        let rules = if spec.rules.is_empty() {
            String::new()
        } else {
            format!(" of {} rules", spec.rules.len())
        };
        let admitted = if spec.min_severity > crate::detectors::Severity::Info || !rules.is_empty()
        {
            format!(" (>= {}{rules})", spec.min_severity.as_str())
        } else {
            String::new()
        };
        // `31 findings, 12 in filter`: the filter scopes the list, and says so.
        let scope = if findings.shown.len() < findings.rows.len() || state.events.rows.is_some() {
            format!(
                ", {} in filter{admitted}",
                thousands(findings.shown.len() as u64)
            )
        } else {
            String::new()
        };
        format!(
            "{} findings{scope}   Enter: events  d: detail",
            thousands(findings.rows.len() as u64)
        )
    };
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
    // As wide as the times are: a `--tz` zone adds its abbreviation.
    let time_width = findings
        .rows
        .iter()
        .map(|r| r.time.chars().count())
        .max()
        .unwrap_or(19)
        .clamp(19, 40) as u16;
    let widths: [u16; 6] = [9, time_width, 26, 24, 7, 200];
    let header_y = area.y.saturating_add(1);
    let mut x = area.x;
    let mut xs = Vec::new();
    for (i, name) in FINDING_COLUMNS.iter().enumerate() {
        xs.push(x);
        put(buf, area, x, header_y, widths[i], name, theme.header());
        x = x.saturating_add(widths[i] + 1);
    }
    if findings.shown.is_empty() {
        if !findings.running {
            draw_message_below_header(frame, area, "no findings", theme);
        }
        return;
    }
    for (n, r) in (findings.cursor.offset..findings.shown.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let Some(row) = findings.shown.get(r).and_then(|&i| findings.rows.get(i)) else {
            break;
        };
        let selected = r == findings.cursor.selected;
        let style = if selected {
            theme.selected()
        } else {
            Style::new()
        };
        if selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), style);
        }
        let why = if row.mitre.is_empty() {
            row.reason.clone()
        } else {
            format!("{} [{}]", row.reason, row.mitre)
        };
        let cells = [
            row.severity.as_str().to_string(),
            row.time.clone(),
            row.rule.clone(),
            value_label(state, schema::ACTOR, &row.actor, widths[3]),
            right(&thousands(row.count), widths[4]),
            why,
        ];
        for (i, cell) in cells.iter().enumerate() {
            let cell_style = if i == 0 {
                style.patch(theme.severity(row.severity))
            } else {
                style
            };
            let w = widths[i].min(area.right().saturating_sub(xs[i]));
            put(buf, area, xs[i], y, w, cell, cell_style);
        }
    }
}
