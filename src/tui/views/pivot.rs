//! The pivot: counts by two fields as a heat table, with the drill-down cursor.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::super::state::{AppState, PIVOT_CELL_WIDTH, PIVOT_LABEL_WIDTH, pivot_columns};
use super::{Theme, draw_message_below_header, empty_text, put, right, thousands, value_label};

pub(super) fn draw_pivot(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let pivot = &state.pivot;
    let buf = frame.buffer_mut();
    let info = format!(
        "rows: {} (r)   columns: {} (c)   {}",
        pivot.rows,
        pivot.cols,
        match &pivot.result {
            Some(p) => format!("{} events", thousands(p.pivot.total)),
            None => "counting…".to_string(),
        }
    );
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
    let Some(view) = &pivot.result else { return };
    if view.row_labels.is_empty() {
        draw_message_below_header(frame, area, &empty_text(state, "events"), theme);
        return;
    }
    let header_y = area.y.saturating_add(1);
    let label_w = PIVOT_LABEL_WIDTH.min(area.width);
    let cell = PIVOT_CELL_WIDTH;
    put(
        buf,
        area,
        area.x,
        header_y,
        label_w,
        &format!("{} \\ {}", pivot.rows, pivot.cols),
        theme.header(),
    );
    let total_x = area.x.saturating_add(label_w);
    let total_style = if pivot.col == 0 {
        theme.header().add_modifier(Modifier::UNDERLINED)
    } else {
        theme.header()
    };
    put(
        buf,
        area,
        total_x,
        header_y,
        cell,
        &right("all", cell - 1),
        total_style,
    );
    let visible = pivot_columns(area.width);
    let cols: Vec<usize> = (pivot.col_offset..view.col_labels.len())
        .take(visible)
        .collect();
    let cell_x = |n: usize| total_x.saturating_add(cell.saturating_mul(n as u16 + 1));
    for (n, &c) in cols.iter().enumerate() {
        let x = cell_x(n);
        let label = value_label(state, pivot.cols, &view.col_labels[c], cell - 1);
        let style = if pivot.col == c + 1 {
            theme.header().add_modifier(Modifier::UNDERLINED)
        } else {
            theme.header()
        };
        put(
            buf,
            area,
            x,
            header_y,
            cell,
            &right(&label, cell - 1),
            style,
        );
    }
    let row_max = view.pivot.row_totals.iter().copied().max().unwrap_or(0);
    for (n, r) in (pivot.cursor.offset..view.row_labels.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let selected = r == pivot.cursor.selected;
        let label_style = if selected {
            theme.header()
        } else {
            Style::new()
        };
        let marker = if selected { "▶ " } else { "  " };
        put(
            buf,
            area,
            area.x,
            y,
            label_w,
            &format!(
                "{marker}{}",
                value_label(state, pivot.rows, &view.row_labels[r], label_w - 2)
            ),
            label_style,
        );
        let total = view.pivot.row_totals.get(r).copied().unwrap_or(0);
        let mut style = theme.heat(total, row_max);
        if selected && pivot.col == 0 {
            style = style.patch(theme.selected());
        }
        put(
            buf,
            area,
            total_x,
            y,
            cell - 1,
            &right(&thousands(total), cell - 1),
            style,
        );
        for (i, &c) in cols.iter().enumerate() {
            let x = cell_x(i);
            let count = view
                .pivot
                .cells
                .get(r)
                .and_then(|row| row.get(c))
                .copied()
                .unwrap_or(0);
            let mut style = theme.heat(count, view.max);
            if selected && pivot.col == c + 1 {
                style = style.patch(theme.selected());
            }
            let text = if count == 0 {
                "·".to_string()
            } else {
                thousands(count)
            };
            put(buf, area, x, y, cell - 1, &right(&text, cell - 1), style);
        }
    }
}
