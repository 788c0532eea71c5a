//! The actors: the identity inventory as a sortable table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use crate::detectors::Severity;
use crate::text::format_time;

use super::super::state::{ACTOR_COLUMNS, AppState};
use super::{Theme, draw_message_below_header, empty_text, put, right, sort_arrow, thousands};

pub(super) fn draw_actors(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let actors = &state.actors;
    let buf = frame.buffer_mut();
    let info = match actors.shown {
        Some(_) => format!(
            "{} identities   s: sort by the column   Enter: events of the actor",
            thousands(actors.rows.len() as u64)
        ),
        None => "counting…".to_string(),
    };
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
    let widths: [u16; 9] = [32, 10, 7, 10, 8, 5, 19, 19, 10];
    let header_y = area.y.saturating_add(1);
    let mut x = area.x;
    let mut xs = Vec::new();
    for (i, name) in ACTOR_COLUMNS.iter().enumerate() {
        xs.push(x);
        let arrow = sort_arrow(actors.sort.0 == i, actors.sort.1);
        let mut style = theme.header();
        if actors.col_cursor == i {
            style = style.add_modifier(Modifier::UNDERLINED);
        }
        let text = if (2..=5).contains(&i) {
            right(&format!("{name}{arrow}"), widths[i])
        } else {
            format!("{name}{arrow}")
        };
        put(buf, area, x, header_y, widths[i], &text, style);
        x = x.saturating_add(widths[i] + 1);
    }
    if actors.shown.is_some() && actors.rows.is_empty() {
        draw_message_below_header(frame, area, &empty_text(state, "actors"), theme);
        return;
    }
    let tz = &state.settings.tz;
    for (n, r) in (actors.cursor.offset..actors.rows.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let row = &actors.rows[r];
        let style = if r == actors.cursor.selected {
            theme.selected()
        } else {
            Style::new()
        };
        if r == actors.cursor.selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), style);
        }
        let time = |t: Option<i64>| t.map(|t| format_time(t, tz)).unwrap_or_default();
        let cells = [
            row.label.clone(),
            row.identity.kind().to_string(),
            right(&thousands(row.identity.events), widths[2]),
            right(&thousands(row.identity.privileged), widths[3]),
            right(&thousands(row.identity.failures), widths[4]),
            right(&thousands(row.identity.distinct_ips), widths[5]),
            time(row.identity.first),
            time(row.identity.last),
            row.provider.clone(),
        ];
        for (i, cell) in cells.iter().enumerate() {
            let mut cell_style = style;
            if i == 3 && row.identity.privileged > 0 || i == 4 && row.identity.failures > 0 {
                cell_style = cell_style.patch(theme.severity(Severity::Medium));
            }
            put(buf, area, xs[i], y, widths[i], cell, cell_style);
        }
    }
}
