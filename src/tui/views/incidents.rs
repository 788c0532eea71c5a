//! The incidents: the findings grouped into stories, most recent story last, with the
//! detail pane beside the list (or instead of it when the terminal is narrow).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::super::state::AppState;
use super::finding_detail::{draw_incident_pane, split_for_pane};
use super::{Theme, draw_message_below_header, put, right, thousands};
use crate::text::{escape_control, format_time};

/// Below this width the list leaves out the id column.
const NARROW: u16 = 100;

/// Column headers and widths of the list (the title takes the rest).
const COLUMNS: [(&str, u16); 6] = [
    ("SEVERITY", 9),
    ("FIRST", 19),
    ("FINDINGS", 8),
    ("TACTICS", 7),
    ("ID", 16),
    ("TITLE", 200),
];

pub(super) fn draw_incidents(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let incidents = &state.incidents;
    let (list, pane) = split_for_pane(area, incidents.pane.open);
    if let Some(pane) = pane {
        draw_incident_pane(frame, state, pane, theme);
    }
    let Some(area) = list else {
        return;
    };
    let buf = frame.buffer_mut();
    let findings = &state.findings;
    let info = if let Some(error) = &findings.error {
        format!("the detectors failed: {error}")
    } else if findings.running && incidents.list.is_empty() {
        "running the detectors…".to_string()
    } else {
        let total = incidents.list.len();
        let scope = if incidents.shown.len() < total || state.events.rows.is_some() {
            format!(", {} in filter", thousands(incidents.shown.len() as u64))
        } else {
            String::new()
        };
        format!(
            "{} incident{} from {} findings{scope}   Enter: events  d: detail",
            thousands(total as u64),
            if total == 1 { "" } else { "s" },
            thousands(findings.list.len() as u64),
        )
    };
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
    // Narrow, the title keeps the room the id would take (the pane shows the id).
    let shown: Vec<usize> = (0..COLUMNS.len())
        .filter(|i| area.width >= NARROW || COLUMNS[*i].0 != "ID")
        .collect();
    let header_y = area.y.saturating_add(1);
    let mut xs = vec![area.right(); COLUMNS.len()];
    let mut x = area.x;
    for &i in &shown {
        let (name, width) = COLUMNS[i];
        xs[i] = x;
        put(buf, area, x, header_y, width, name, theme.header());
        x = x.saturating_add(width + 1);
    }
    if incidents.shown.is_empty() {
        if !findings.running {
            let text = if incidents.list.is_empty() {
                "no incidents"
            } else {
                "no incident has an event in the filter"
            };
            draw_message_below_header(frame, area, text, theme);
        }
        return;
    }
    for (n, r) in (incidents.cursor.offset..incidents.shown.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let Some(incident) = incidents.shown.get(r).and_then(|&i| incidents.list.get(i)) else {
            break;
        };
        let selected = r == incidents.cursor.selected;
        let style = if selected {
            theme.selected()
        } else {
            Style::new()
        };
        if selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), style);
        }
        let severity = if incident.raised {
            format!("{}+", incident.severity.as_str())
        } else {
            incident.severity.as_str().to_string()
        };
        let cells = [
            severity,
            incident
                .first
                .map(|t| format_time(t, &state.settings.tz))
                .unwrap_or_default(),
            right(&thousands(incident.chain.len() as u64), COLUMNS[2].1),
            right(&incident.tactics.len().to_string(), COLUMNS[3].1),
            incident.id.clone(),
            escape_control(&incident.title).into_owned(),
        ];
        for (i, cell) in cells.iter().enumerate() {
            if !shown.contains(&i) {
                continue;
            }
            let cell_style = if i == 0 {
                style.patch(theme.severity(incident.severity))
            } else {
                style
            };
            let w = COLUMNS[i].1.min(area.right().saturating_sub(xs[i]));
            put(buf, area, xs[i], y, w, cell, cell_style);
        }
    }
}
