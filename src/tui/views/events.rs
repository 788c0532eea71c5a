//! The events table: the visible window of rows, sortable columns, flagged rows marked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::super::columns;
use super::super::state::{AppState, Areas};
use super::record::draw_detail;
use super::{Theme, draw_message, empty_text, put};

pub(super) fn draw_events(frame: &mut Frame<'_>, state: &AppState, areas: &Areas, theme: Theme) {
    let area = areas.table;
    let events = &state.events;
    // Visible columns from the column offset, as many as fit after the flag marker.
    let mut shown = Vec::new();
    let mut x = area.x.saturating_add(super::super::events_columns::MARKER);
    let widths = events.widths.iter().copied().chain(std::iter::repeat(10));
    for ((i, column), width) in events
        .columns
        .iter()
        .enumerate()
        .skip(events.col_offset)
        .zip(widths)
    {
        if x >= area.right() {
            break;
        }
        let w = width.min(area.right() - x);
        shown.push((i, *column, x, w));
        x = x.saturating_add(width + 1);
    }
    // The last column takes the rest of the line.
    if let Some(last) = shown.last_mut() {
        last.3 = area.right().saturating_sub(last.2);
    }
    let buf = frame.buffer_mut();
    if area.height > 0 {
        for &(i, column, x, w) in &shown {
            let arrow = match events.sort {
                Some(s) if s.column == column => {
                    if s.descending {
                        "▼"
                    } else {
                        "▲"
                    }
                }
                _ => "",
            };
            let mut style = theme.header();
            if i == events.col_cursor {
                style = style.add_modifier(Modifier::UNDERLINED);
            }
            put(buf, area, x, area.y, w, &format!("{column}{arrow}"), style);
        }
    }
    if events.window.is_empty() {
        let body = Rect::new(
            area.x,
            area.y.saturating_add(1),
            area.width,
            area.height.saturating_sub(1),
        );
        draw_message(frame, body, &empty_text(state, "events"), theme);
    } else {
        for (n, row) in events.window.iter().enumerate() {
            let y = area.y.saturating_add(1).saturating_add(n as u16);
            if n >= usize::from(u16::MAX) || y >= area.bottom() {
                break;
            }
            let selected = events.cursor.offset + n == events.cursor.selected;
            let mut style = match row.flag {
                Some(severity) => theme.severity(severity),
                None => Style::new(),
            };
            if selected {
                style = style.patch(theme.selected());
                buf.set_style(Rect::new(area.x, y, area.width, 1), style);
            }
            if row.flag.is_some() {
                put(
                    buf,
                    area,
                    area.x,
                    y,
                    1,
                    "!",
                    style.add_modifier(Modifier::BOLD),
                );
            }
            for &(i, column, x, w) in &shown {
                if let Some(cell) = row.cells.get(i) {
                    let text = columns::shown(column, cell, state.full_values);
                    put(buf, area, x, y, w, &columns::fit(column, &text, w), style);
                }
            }
        }
    }
    if let Some(detail) = areas.detail {
        draw_detail(frame, state, detail, theme);
    }
}
