//! The selected event's original record, pretty-printed, with a notice when it was cut.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::super::pretty_json::Cut;
use super::super::state::AppState;
use super::{Theme, thousands};

pub(super) fn draw_detail(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let detail = &state.detail;
    let title = match (&detail.origin, detail.frame_row) {
        (Some(origin), Some(_)) => {
            // The end of a long path is what tells inputs apart.
            let room = area.width.saturating_sub(14) as usize;
            let chars: Vec<char> = origin.chars().collect();
            let shown: String = if chars.len() > room {
                std::iter::once('…')
                    .chain(chars[chars.len() + 1 - room.max(1)..].iter().copied())
                    .collect()
            } else {
                origin.clone()
            };
            format!(" Record · {shown} ")
        }
        (None, Some(row)) => format!(" Record (event {}) ", thousands(u64::from(row) + 1)),
        _ => " Record ".to_string(),
    };
    let mut block = Block::bordered().title(title).border_style(theme.muted());
    if let Some(cut) = detail.record.cut() {
        // On the border, so it shows whatever the scroll.
        block = block.title_bottom(Line::styled(
            cut_notice(cut, detail.origin.as_deref()),
            theme.error(),
        ));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line<'_>> = if let Some(error) = &detail.error {
        vec![Line::styled(error.as_str(), theme.error())]
    } else if detail.record.is_empty() {
        let text = if detail.frame_row.is_some() {
            "reading…"
        } else {
            "no event selected"
        };
        vec![Line::styled(text, theme.muted())]
    } else {
        (detail.scroll..detail.record.len())
            .take(inner.height as usize)
            .map(|i| {
                Line::from(
                    detail
                        .record
                        .line(i)
                        .into_iter()
                        .map(|(text, token)| Span::styled(text, theme.token(token)))
                        .collect::<Vec<_>>(),
                )
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

/// What the record pane says under a record it cut.
pub fn cut_notice(cut: Cut, origin: Option<&str>) -> String {
    let whole = match origin {
        Some(origin) => format!("; the whole record is in {origin}"),
        None => String::new(),
    };
    format!(
        " … record cut after {} of {}{whole} ",
        byte_size(cut.shown),
        byte_size(cut.total)
    )
}

/// A size in bytes for people: `812 B`, `256 KB`, `6.1 MB` (powers of 1024).
pub fn byte_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.0} KB", b / KB)
    } else if b < KB * KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else {
        format!("{:.1} GB", b / (KB * KB * KB))
    }
}
