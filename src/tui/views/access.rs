//! The access audit: the grants of the filtered events with their end, flags and use, in
//! 80 columns, and the selected grant's scheduled end, justification and ticket on the
//! last line; on wide screens those two are columns instead. The summary line is above.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::detectors::Severity;
use crate::text::format_time;

use super::super::access::{FLAG_LEGEND, WIDE_ACCESS};
use super::super::state::AppState;
use super::{Theme, draw_message_below_header, empty_text, put};

/// What a column shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Granted,
    Grantee,
    Role,
    Scheduled,
    Ended,
    Flags,
    Reason,
    Use,
}

/// Column headers and widths; the last column takes what is left.
const COLUMNS: [(&str, u16, Cell); 6] = [
    ("granted", 11, Cell::Granted),
    ("grantee", 17, Cell::Grantee),
    ("role @ scope", 18, Cell::Role),
    ("ended", 12, Cell::Ended),
    ("flags", 5, Cell::Flags),
    ("use", 0, Cell::Use),
];

/// The columns on screens at least [`WIDE_ACCESS`] wide: the scheduled end and the justification
/// get their own columns.
const WIDE_COLUMNS: [(&str, u16, Cell); 8] = [
    ("granted", 11, Cell::Granted),
    ("grantee", 20, Cell::Grantee),
    ("role @ scope", 24, Cell::Role),
    ("scheduled", 11, Cell::Scheduled),
    ("ended", 12, Cell::Ended),
    ("flags", 5, Cell::Flags),
    ("justification (ticket)", 30, Cell::Reason),
    ("use", 0, Cell::Use),
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
    let wide = area.width >= WIDE_ACCESS;
    let columns: &[(&str, u16, Cell)] = if wide { &WIDE_COLUMNS } else { &COLUMNS };
    let mut xs = Vec::with_capacity(columns.len());
    let mut x = area.x;
    for &(name, width, _) in columns {
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
    // Month, day, hour and minute tell grants apart on a screen (the status bar shows
    // the years); exports carry full times.
    let short = |t: i64| {
        let m: String = format_time(t, tz).chars().take(16).collect();
        m.get(5..).map_or_else(|| m.clone(), str::to_string)
    };
    // Narrow screens give the last line to the selected grant's schedule and reason.
    let mut bottom = area.bottom();
    if !wide && area.height > 3 {
        bottom = bottom.saturating_sub(1);
        if let Some(row) = view.rows.get(cursor.selected) {
            let scheduled = row.scheduled_end.map_or_else(|| "none".to_string(), short);
            let reason = match row.reason() {
                r if r.is_empty() => "none".to_string(),
                r => r,
            };
            let detail = format!("scheduled end {scheduled} · justification {reason}");
            put(
                buf,
                area,
                area.x,
                bottom,
                area.width,
                &detail,
                theme.muted(),
            );
        }
    }
    for (n, r) in (cursor.offset..view.rows.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= bottom {
            break;
        }
        let row = &view.rows[r];
        let style = if r == cursor.selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), theme.selected());
            theme.selected()
        } else {
            Style::new()
        };
        for (i, &(_, width, cell)) in columns.iter().enumerate() {
            let text = match cell {
                Cell::Granted => short(row.granted_at),
                Cell::Grantee => row.grantee.clone(),
                Cell::Role => row.role.clone(),
                Cell::Scheduled => row.scheduled_end.map(short).unwrap_or_default(),
                Cell::Ended => match row.ended_at {
                    None => "still held".to_string(),
                    Some(t) if row.expired => format!("~{}", short(t)),
                    Some(t) => short(t),
                },
                Cell::Flags => row.flags.clone(),
                Cell::Reason => row.reason(),
                Cell::Use => row.used.clone(),
            };
            let width = match width {
                0 => area.right().saturating_sub(xs[i]),
                w => w,
            };
            let mut cell_style = style;
            let alarming =
                (cell == Cell::Ended && row.ended_at.is_none() && row.flags.contains('O'))
                    || (cell == Cell::Flags && row.flags.contains(['O', 'L', 'P', 'S']));
            if alarming {
                cell_style = cell_style.patch(theme.severity(Severity::Medium));
            }
            put(buf, area, xs[i], y, width, &text, cell_style);
        }
    }
}
