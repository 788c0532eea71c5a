//! The identities: the identity inventory as a sortable table (kind, counts, MFA coverage,
//! networks, last seen, flags), fitted to the terminal's width.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use crate::detectors::Severity;
use crate::text::format_time;

use super::super::state::{AppState, IDENTITY_COLUMNS};
use super::{
    Theme, draw_message_below_header, empty_text, put, right, sort_arrow, thousands, value_label,
};
use crate::schema;

/// Widths of the fixed columns (kind .. last seen); identity and flags share the rest.
const FIXED: [u16; 7] = [9, 7, 5, 5, 5, 4, 10];

/// The width of every column at a terminal width.
fn widths(total: u16) -> [u16; 9] {
    let gaps = IDENTITY_COLUMNS.len() as u16;
    let fixed: u16 = FIXED.iter().sum::<u16>() + gaps;
    let rest = total.saturating_sub(fixed).max(12);
    let flags = (rest / 3).min(30);
    let identity = rest - flags;
    let [kind, events, privileged, failures, mfa, nets, last] = FIXED;
    [
        identity, kind, events, privileged, failures, mfa, nets, last, flags,
    ]
}

pub(super) fn draw_identities(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let identities = &state.identities;
    let buf = frame.buffer_mut();
    let info = match identities.shown {
        Some(_) => format!(
            "{} identities   o: sort by the column   Enter: events   t: timeline",
            thousands(identities.rows.len() as u64)
        ),
        None => "counting…".to_string(),
    };
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
    let widths = widths(area.width);
    let numeric = |i: usize| (2..=6).contains(&i);
    let header_y = area.y.saturating_add(1);
    let mut x = area.x;
    let mut xs = Vec::new();
    for (i, name) in IDENTITY_COLUMNS.iter().enumerate() {
        xs.push(x);
        let arrow = sort_arrow(identities.sort.0 == i, identities.sort.1);
        let mut style = theme.header();
        if identities.col_cursor == i {
            style = style.add_modifier(Modifier::UNDERLINED);
        }
        let text = if numeric(i) {
            right(&format!("{name}{arrow}"), widths[i])
        } else {
            format!("{name}{arrow}")
        };
        put(buf, area, x, header_y, widths[i], &text, style);
        x = x.saturating_add(widths[i] + 1);
    }
    if identities.shown.is_some() && identities.rows.is_empty() {
        draw_message_below_header(frame, area, &empty_text(state, "identities"), theme);
        return;
    }
    let tz = &state.settings.tz;
    for (n, r) in (identities.cursor.offset..identities.rows.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let view = &identities.rows[r];
        let row = &view.identity;
        let style = if r == identities.cursor.selected {
            theme.selected()
        } else {
            Style::new()
        };
        if r == identities.cursor.selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), style);
        }
        let last: String = row
            .last_seen
            .map(|t| format_time(t, tz).chars().take(10).collect())
            .unwrap_or_default();
        let cells = [
            value_label(state, schema::IDENTITY, &view.label, widths[0]),
            row.kind.as_str().to_string(),
            right(&thousands(row.events), widths[2]),
            right(&thousands(row.privileged), widths[3]),
            right(&thousands(row.failures), widths[4]),
            right(&view.mfa, widths[5]),
            right(&thousands(row.networks), widths[6]),
            last,
            view.flags.clone(),
        ];
        for (i, cell) in cells.iter().enumerate() {
            let mut cell_style = style;
            let warn = (i == 3 && row.privileged > 0)
                || (i == 4 && row.failures > 0)
                || (i == 8 && !row.flags.is_empty());
            if warn {
                cell_style = cell_style.patch(theme.severity(Severity::Medium));
            }
            put(buf, area, xs[i], y, widths[i], cell, cell_style);
        }
    }
}
