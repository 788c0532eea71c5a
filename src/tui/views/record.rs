//! The selected event's record: under the events table, the original record pretty-printed;
//! full screen (the record view), with tabs for the original, the normalized fields and the
//! findings citing the event, a search with its matches highlighted, wrap or horizontal
//! scroll. Everything drawn was escaped when the lines were built.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::text::char_width;

use super::super::pretty_json::Cut;
use super::super::record::{MAX_MATCHES, RecordTab};
use super::super::record_update as record_view;
use super::super::state::{AppState, View};
use super::{Theme, thousands};

/// The record's title: where it came from (the end of a long path, which tells inputs
/// apart), in `room` columns.
fn origin_title(state: &AppState, room: usize) -> String {
    let detail = &state.detail;
    match (&detail.origin, detail.frame_row) {
        (Some(origin), Some(_)) => {
            let chars: Vec<char> = origin.chars().collect();
            if chars.len() > room {
                std::iter::once('…')
                    .chain(chars[chars.len() + 1 - room.max(1)..].iter().copied())
                    .collect()
            } else {
                origin.clone()
            }
        }
        (None, Some(row)) => format!("event {}", thousands(u64::from(row) + 1)),
        _ => String::new(),
    }
}

pub(super) fn draw_detail(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    if state.view == View::Detail {
        draw_record_view(frame, state, area, theme);
        return;
    }
    let detail = &state.detail;
    let origin = origin_title(state, area.width.saturating_sub(14) as usize);
    let title = if origin.is_empty() {
        " Record ".to_string()
    } else {
        format!(" Record · {origin} ")
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
    let lines: Vec<Line<'_>> = if let Some(message) = record_message(state) {
        message
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

/// What stands in for the original record while it cannot be shown.
fn record_message(state: &AppState) -> Option<Vec<Line<'static>>> {
    let detail = &state.detail;
    let theme = Theme::of(state);
    if let Some(error) = &detail.error {
        return Some(vec![Line::styled(error.clone(), theme.error())]);
    }
    if detail.record.is_empty() {
        let text = if detail.frame_row.is_some() {
            "reading…"
        } else {
            "no event selected"
        };
        return Some(vec![Line::styled(text, theme.muted())]);
    }
    None
}

/// The record view: title line with the tabs, the lines of the tab, the search line.
fn draw_record_view(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let record = &state.record;
    let mut tabs: Vec<Span<'_>> = vec![Span::styled(" Record ", theme.header())];
    for tab in RecordTab::ALL {
        // Brackets, so the tab shown reads without colour too.
        let (text, style) = if tab == record.tab {
            (format!("[{}]", tab.title()), theme.selected())
        } else {
            (format!(" {} ", tab.title()), theme.muted())
        };
        tabs.push(Span::raw(" "));
        tabs.push(Span::styled(text, style));
    }
    let wrap = record.wrap || record.tab == RecordTab::Findings;
    let hint = if wrap {
        "  Tab · / · w "
    } else {
        "  Tab · / · w · ←→ "
    };
    tabs.push(Span::styled(hint, theme.muted()));
    let used: usize = tabs.iter().map(|s| s.content.chars().count()).sum();
    let room = usize::from(area.width).saturating_sub(used + 6);
    let origin = origin_title(state, room);
    if room >= 8 && !origin.is_empty() {
        tabs.push(Span::styled(format!("· {origin} "), theme.muted()));
    }
    let mut block = Block::bordered()
        .title(Line::from(tabs))
        .border_style(theme.muted());
    let search_line = search_line(state, theme);
    if let Some(line) = search_line {
        block = block.title_bottom(line);
    } else if record.tab == RecordTab::Original
        && let Some(cut) = state.detail.record.cut()
    {
        block = block.title_bottom(Line::styled(
            cut_notice(cut, state.detail.origin.as_deref()),
            theme.error(),
        ));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if record.tab == RecordTab::Original
        && let Some(message) = record_message(state)
    {
        frame.render_widget(Paragraph::new(message), inner);
        return;
    }
    if record.tab == RecordTab::Fields && record.fields.is_empty() {
        let line = Line::styled("no event selected", theme.muted());
        frame.render_widget(Paragraph::new(vec![line]), inner);
        return;
    }
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    let mut rows: Vec<Line<'_>> = Vec::with_capacity(height);
    let count = record_view::line_count(state);
    let mut i = record_view::scroll_of(state);
    while rows.len() < height && i < count {
        let pieces = highlighted(state, i, theme);
        let selected = record.tab == RecordTab::Fields && i == record.field_cursor;
        let laid: Vec<Vec<(String, Style)>> = if wrap {
            wrap_pieces(&pieces, width)
        } else {
            vec![skip_columns(&pieces, record.hscroll)]
        };
        for row in laid {
            if rows.len() >= height {
                break;
            }
            let mut line = Line::from(
                row.into_iter()
                    .map(|(text, style)| Span::styled(text, style))
                    .collect::<Vec<_>>(),
            );
            if selected {
                line = line.patch_style(theme.selected());
            }
            rows.push(line);
        }
        i += 1;
    }
    frame.render_widget(Paragraph::new(rows), inner);
}

/// The search line on the bottom border: the prompt while typing, then where `n`/`N` are
/// (`3/7`), or that nothing matched.
fn search_line(state: &AppState, theme: Theme) -> Option<Line<'static>> {
    let search = state.record.search.as_ref()?;
    let query = crate::text::escape_control(&search.query).into_owned();
    let found = if search.query.is_empty() {
        String::new()
    } else if search.matches.is_empty() {
        "  no match".to_string()
    } else {
        let more = if search.matches.len() >= MAX_MATCHES {
            "+"
        } else {
            ""
        };
        format!(
            "  {}/{}{more}",
            thousands(search.current as u64 + 1),
            thousands(search.matches.len() as u64)
        )
    };
    let typing = search.typing.is_some();
    let keys = if typing {
        "  Enter: keep · Esc: drop "
    } else {
        "  n/N: next/previous · /: edit "
    };
    let mut spans = vec![Span::styled(
        format!(" /{query}"),
        theme.header().add_modifier(Modifier::UNDERLINED),
    )];
    if typing {
        spans.push(Span::styled("▏", theme.header()));
    }
    spans.push(Span::styled(
        found,
        if search.matches.is_empty() {
            theme.error()
        } else {
            theme.header()
        },
    ));
    spans.push(Span::styled(keys, theme.muted()));
    Some(Line::from(spans))
}

/// Line `i` of the tab as styled pieces, the search's matches in it highlighted (the current
/// one more strongly).
fn highlighted(state: &AppState, i: usize, theme: Theme) -> Vec<(String, Style)> {
    let pieces = record_view::line(state, i);
    let search = state.record.search.as_ref();
    let matches: Vec<(usize, usize, bool)> = search
        .map(|s| {
            let first = s.matches.partition_point(|m| m.line < i);
            s.matches[first..]
                .iter()
                .enumerate()
                .take_while(|(_, m)| m.line == i)
                .map(|(k, m)| (m.start, m.end, first + k == s.current))
                .collect()
        })
        .unwrap_or_default();
    let mut out: Vec<(String, Style)> = Vec::with_capacity(pieces.len());
    let mut at = 0usize;
    for (text, token) in pieces {
        let base = theme.token(token);
        if matches.is_empty() {
            out.push((text, base));
            continue;
        }
        let mut current: Option<(String, Style)> = None;
        for c in text.chars() {
            let style = match matches.iter().find(|(s, e, _)| at >= *s && at < *e) {
                Some((_, _, true)) => Style::new()
                    .add_modifier(Modifier::REVERSED | Modifier::BOLD | Modifier::UNDERLINED),
                Some((_, _, false)) => base.add_modifier(Modifier::REVERSED),
                None => base,
            };
            match &mut current {
                Some((t, s)) if *s == style => t.push(c),
                _ => {
                    if let Some(done) = current.take() {
                        out.push(done);
                    }
                    current = Some((c.to_string(), style));
                }
            }
            at += 1;
        }
        if let Some(done) = current {
            out.push(done);
        }
    }
    out
}

/// The pieces without their first `skip` display columns (the horizontal scroll).
fn skip_columns(pieces: &[(String, Style)], skip: usize) -> Vec<(String, Style)> {
    let mut skipped = 0usize;
    let mut out = Vec::with_capacity(pieces.len());
    for (text, style) in pieces {
        if skipped >= skip {
            out.push((text.clone(), *style));
            continue;
        }
        let mut kept = String::new();
        for c in text.chars() {
            if skipped >= skip {
                kept.push(c);
            } else {
                skipped += char_width(c);
            }
        }
        if !kept.is_empty() {
            out.push((kept, *style));
        }
    }
    out
}

/// The pieces cut into rows of at most `width` display columns.
fn wrap_pieces(pieces: &[(String, Style)], width: usize) -> Vec<Vec<(String, Style)>> {
    let width = width.max(1);
    let mut rows: Vec<Vec<(String, Style)>> = vec![Vec::new()];
    let mut used = 0usize;
    for (text, style) in pieces {
        let mut part = String::new();
        for c in text.chars() {
            let w = char_width(c);
            if used + w > width && used > 0 {
                if !part.is_empty()
                    && let Some(row) = rows.last_mut()
                {
                    row.push((std::mem::take(&mut part), *style));
                }
                rows.push(Vec::new());
                used = 0;
            }
            part.push(c);
            used += w;
        }
        if !part.is_empty()
            && let Some(row) = rows.last_mut()
        {
            row.push((part, *style));
        }
    }
    rows
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
