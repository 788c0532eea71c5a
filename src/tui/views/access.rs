//! The access audit: the grants of the filtered events with their end, flags and use, in
//! 80 columns; the summary line above them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::detectors::Severity;
use crate::text::format_time;

use super::super::access::FLAG_LEGEND;
use super::super::state::AppState;
use super::{Theme, draw_message_below_header, empty_text, put};

/// Column headers and widths; the last column takes what is left.
const COLUMNS: [(&str, u16); 6] = [
    ("granted", 11),
    ("grantee", 17),
    ("role @ scope", 18),
    ("ended", 12),
    ("flags", 5),
    ("use", 0),
];

pub(super) fn draw_access(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let buf = frame.buffer_mut();
    let Some(view) = state.access.result.as_ref() else {
        put(
            buf,
            area,
            area.x,
            area.y,
            area.width,
            "auditing…",
            theme.muted(),
        );
        return;
    };
    let info = format!("{}   flags: {FLAG_LEGEND}   Enter: events", view.summary);
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
    let header_y = area.y.saturating_add(1);
    let mut xs = Vec::with_capacity(COLUMNS.len());
    let mut x = area.x;
    for (name, width) in COLUMNS {
        xs.push(x);
        let width = if width == 0 {
            area.right().saturating_sub(x)
        } else {
            width
        };
        put(buf, area, x, header_y, width, name, theme.header());
        x = x.saturating_add(width + 1);
    }
    if view.rows.is_empty() {
        draw_message_below_header(frame, area, &empty_text(state, "grants"), theme);
        return;
    }
    let tz = &state.settings.tz;
    let cursor = &state.access.cursor;
    for (n, r) in (cursor.offset..view.rows.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let row = &view.rows[r];
        let style = if r == cursor.selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), theme.selected());
            theme.selected()
        } else {
            Style::new()
        };
        // Month, day, hour and minute tell grants apart on a screen (the status bar shows
        // the years); exports carry full times.
        let short = |t: i64| {
            let m: String = format_time(t, tz).chars().take(16).collect();
            m.get(5..).map_or_else(|| m.clone(), str::to_string)
        };
        let ended = match row.ended_at {
            None => "still held".to_string(),
            Some(t) if row.expired => format!("~{}", short(t)),
            Some(t) => short(t),
        };
        let cells = [
            short(row.granted_at),
            row.grantee.clone(),
            row.role.clone(),
            ended,
            row.flags.clone(),
            row.used.clone(),
        ];
        for (i, cell) in cells.iter().enumerate() {
            let width = match COLUMNS[i].1 {
                0 => area.right().saturating_sub(xs[i]),
                w => w,
            };
            let mut cell_style = style;
            let alarming = (i == 3 && row.ended_at.is_none() && row.flags.contains('O'))
                || (i == 4 && row.flags.contains(['O', 'L', 'P', 'S']));
            if alarming {
                cell_style = cell_style.patch(theme.severity(Severity::Medium));
            }
            put(buf, area, xs[i], y, width, cell, cell_style);
        }
    }
}
