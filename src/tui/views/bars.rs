//! The screen's edges: the load gauge, the filter bar (with the error underlined where it
//! is), the status bar, and the overlays (help, column chooser, pivot field picker).

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Gauge, Paragraph};

use crate::schema;
use crate::text::{escape_control, format_time};

use super::super::keymap;
use super::super::pretty_json::Token;
use super::super::state::{AppState, LoadPhase, Overlay, PIVOT_FIELDS};
use super::{Theme, thousands};

pub(super) fn draw_gauge(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let p = state.progress;
    let ratio = if p.bytes_total > 0 {
        (p.bytes_read as f64 / p.bytes_total as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let label = format!(
        "loading {:.1} / {:.1} MB · {} events",
        p.bytes_read as f64 / 1e6,
        p.bytes_total as f64 / 1e6,
        thousands(p.events)
    );
    let gauge = Gauge::default()
        .ratio(ratio)
        .label(label)
        .gauge_style(theme.bar());
    frame.render_widget(gauge, area);
}

pub(super) fn draw_filter_bar(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    if area.height == 0 {
        return;
    }
    if let Some(Overlay::Prompt(prompt)) = &state.overlay {
        let label = prompt.label();
        let text = escape_control(&prompt.text);
        let line = Line::from(vec![
            Span::styled(label.clone(), theme.header()),
            Span::raw(text.clone().into_owned()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        let before: String = prompt.text.chars().take(prompt.cursor).collect();
        let x = area
            .x
            .saturating_add(label.chars().count() as u16)
            .saturating_add(escape_control(&before).chars().count() as u16);
        if x < area.right() {
            frame.set_cursor_position(Position::new(x, area.y));
        }
        return;
    }
    let editing = match &state.overlay {
        Some(Overlay::Filter(edit)) => Some(edit),
        _ => None,
    };
    let text = editing.map_or(state.filter.text.as_str(), |e| e.text.as_str());
    let mut spans = Vec::new();
    let mut prefix_width = 2u16;
    if let Some(range) = &state.range {
        let shown = format!(
            "⏱ {} │ ",
            escape_control(&super::super::time_range::range_text(range))
        );
        prefix_width = prefix_width.saturating_add(shown.chars().count() as u16);
        spans.push(Span::styled(shown, theme.header()));
    }
    spans.push(Span::styled("/ ", theme.header()));
    if text.is_empty() && editing.is_none() {
        // In the record, `/` searches the record (the filter is edited from the other views).
        let hint = if state.view == super::super::state::View::Detail {
            "to search the record, n/N for the next match; q or Esc closes it"
        } else {
            "to filter, e.g. actor:alice action:*Policy* -outcome:success last:24h"
        };
        spans.push(Span::styled(hint, theme.muted()));
    } else {
        let error = state.filter.error.as_ref();
        let shown = crate::text::escape_control(text);
        match error {
            Some(e) if shown.len() == text.len() => {
                let chars: Vec<char> = text.chars().collect();
                let (s, mut end) = (e.span.start.min(chars.len()), e.span.end.min(chars.len()));
                if end <= s {
                    end = s;
                }
                spans.push(Span::raw(chars[..s].iter().collect::<String>()));
                let marked: String = chars[s..end].iter().collect();
                // An error at the end of the input is marked with a space.
                spans.push(Span::styled(
                    if marked.is_empty() {
                        " ".to_string()
                    } else {
                        marked
                    },
                    theme.error(),
                ));
                spans.push(Span::raw(chars[end..].iter().collect::<String>()));
            }
            _ => spans.push(Span::raw(shown.into_owned())),
        }
        if let Some(e) = error
            && filter_error_inline(state, area.width)
        {
            spans.push(Span::styled(
                format!("   {}", filter_error_text(e)),
                theme.error(),
            ));
        } else if error.is_none() && state.view_pending() {
            spans.push(Span::styled("   …", theme.muted()));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    if let Some(edit) = editing {
        let x = area
            .x
            .saturating_add(prefix_width)
            .saturating_add(edit.cursor as u16);
        if x < area.right() {
            frame.set_cursor_position(Position::new(x, area.y));
        }
    }
}

/// How a filter's error reads: where, and what was expected.
fn filter_error_text(e: &crate::analysis::filter::FilterError) -> String {
    format!(
        "✗ column {}: {}",
        e.span.start + 1,
        crate::text::escape_control(&e.message)
    )
}

/// Whether the filter's error fits on the filter line after the filter (else the status line
/// shows it, so it is never cut off).
fn filter_error_inline(state: &AppState, width: u16) -> bool {
    let Some(e) = &state.filter.error else {
        return true;
    };
    let text = match &state.overlay {
        Some(Overlay::Filter(edit)) => edit.text.as_str(),
        _ => state.filter.text.as_str(),
    };
    let range = state.range.as_ref().map_or(0, |r| {
        super::super::time_range::range_text(r).chars().count() + 5
    });
    let needed =
        range + 2 + escape_control(text).chars().count() + 3 + filter_error_text(e).chars().count();
    needed <= usize::from(width)
}

pub(super) fn draw_status(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    if area.height == 0 {
        return;
    }
    if let Some(e) = &state.filter.error
        && !filter_error_inline(state, area.width)
    {
        let line = Line::from(Span::styled(filter_error_text(e), theme.error()));
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let tz = &state.settings.tz;
    let slash = if area.width >= 110 { " / " } else { "/" };
    let mut parts = vec![format!(
        "{}{slash}{} events",
        thousands(state.events.matching as u64),
        thousands(state.total() as u64)
    )];
    let rejected = state.rejected();
    if rejected > 0 {
        parts.push(format!("{} rejected", thousands(rejected)));
    }
    let flagged = state.findings.rows.len();
    if flagged > 0 {
        parts.push(format!("{} findings", thousands(flagged as u64)));
    }
    parts.push(
        match state.phase {
            LoadPhase::Loading => "loading",
            LoadPhase::Loaded => "loaded",
            LoadPhase::Following if state.follow.sticking => "following",
            LoadPhase::Following => "paused",
        }
        .to_string(),
    );
    if let Some(lake) = &state.lake {
        let reading = lake
            .reading
            .map(|r| format!(", reading {}", r + 1))
            .unwrap_or_default();
        parts.push(format!(
            "lake page {}/{}{reading}",
            lake.current + 1,
            lake.pages.len()
        ));
    }
    if let Some(active) = &state.active {
        let changed = if active.changed { " (changed)" } else { "" };
        parts.push(format!(
            "view {}{changed}",
            escape_control(&active.saved.name)
        ));
    }
    let following = state.phase == LoadPhase::Following;
    if following {
        parts.push(format!(
            "{} events/s",
            thousands(state.follow.shown_rate.round() as u64)
        ));
    }
    let mut news: Vec<Span<'_>> = Vec::new();
    if let Some(message) = &state.message {
        news.push(Span::styled(format!("  {message}"), theme.error()));
    }
    if let Some(announcement) = &state.follow.latest {
        news.push(Span::styled(
            format!("  {}", announcement.text),
            theme.severity(announcement.severity),
        ));
    }
    if let Some(notice) = latest_notice(state) {
        news.push(Span::styled(format!("  {notice}"), theme.notice()));
    }
    if let (Some(first), Some(last)) = (state.events.first, state.events.last) {
        let (first, last) = (format_time(first, tz), format_time(last, tz));
        let range = if area.width >= 110 {
            format!("{first} → {last}")
        } else {
            // Dates only on narrow terminals.
            let date = |t: &str| t.chars().take(10).collect::<String>();
            format!("{} → {}", date(&first), date(&last))
        };
        let news_width: usize = news.iter().map(|s| s.content.chars().count()).sum();
        let width = parts.join(" · ").chars().count() + 3 + range.chars().count() + news_width;
        // While following, news of the inputs and findings matters more than the time
        // range (the timeline shows it).
        // So does a message (it lasts until the next key).
        let busy = following || state.message.is_some();
        if !busy || news_width == 0 || width <= usize::from(area.width) {
            parts.push(range);
        }
    }
    let quiet = news.is_empty();
    let mut spans = vec![Span::styled(parts.join(" · "), theme.header())];
    spans.extend(news);
    if quiet && area.width >= 100 {
        let hints: Vec<String> = keymap::hints(state.view)
            .into_iter()
            .take(3)
            .map(|(k, d)| format!("{k} {d}"))
            .collect();
        if !hints.is_empty() {
            spans.push(Span::styled(
                format!("   {}", hints.join(" · ")),
                theme.muted(),
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The latest news about a followed input (deleted, rotated, truncated, unreadable), escaped,
/// with how many there were when more than one.
fn latest_notice(state: &AppState) -> Option<String> {
    let (notices, count) = state.store.notices();
    let last = notices.last()?;
    let text = format!(
        "⚠ {}: {}",
        escape_control(&last.name),
        escape_control(&last.what)
    );
    Some(if count > 1 {
        format!("{text} ({} notices)", thousands(count))
    } else {
        text
    })
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_list(frame: &mut Frame<'_>, area: Rect, title: &str, lines: Vec<Line<'_>>, scroll: usize) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(format!(" {title} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let visible: Vec<Line<'_>> = lines
        .into_iter()
        .skip(scroll)
        .take(inner.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

pub(super) fn draw_overlay(frame: &mut Frame<'_>, state: &AppState, main: Rect, theme: Theme) {
    match &state.overlay {
        None | Some(Overlay::Filter(_)) => {}
        Some(Overlay::Help { scroll }) => {
            let mut lines = Vec::new();
            for line in keymap::help_lines() {
                if let Some(heading) = line.heading {
                    if !lines.is_empty() {
                        lines.push(Line::raw(""));
                    }
                    lines.push(Line::styled(heading, theme.header()));
                }
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<16}", line.keys), theme.token(Token::Key)),
                    Span::raw(line.description),
                ]));
            }
            let area = centered(main, 64, main.height);
            let scroll = (*scroll).min(lines.len().saturating_sub(1));
            // Say that it scrolls, and where the page is, when it does not fit.
            let page = usize::from(area.height.saturating_sub(2));
            let title = if lines.len() > page {
                format!(
                    "Keys {}-{} of {} · ↑↓ PgUp PgDn scroll · Esc closes",
                    scroll + 1,
                    (scroll + page).min(lines.len()),
                    lines.len()
                )
            } else {
                "Keys (Esc closes)".to_string()
            };
            draw_list(frame, area, &title, lines, scroll);
        }
        Some(Overlay::Columns { cursor, .. }) => {
            let lines = schema::EVENT_COLUMNS
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let on = state.events.columns.contains(c);
                    let text = format!("[{}] {c}", if on { "x" } else { " " });
                    if i == *cursor {
                        Line::styled(text, theme.selected())
                    } else {
                        Line::raw(text)
                    }
                })
                .collect::<Vec<_>>();
            let area = centered(main, 46, (lines.len() as u16 + 2).min(main.height));
            let inner_h = area.height.saturating_sub(2) as usize;
            let scroll = cursor.saturating_sub(inner_h.saturating_sub(1));
            let title = "Columns (Space toggles, Enter keeps, Esc cancels)";
            draw_list(frame, area, title, lines, scroll);
        }
        Some(Overlay::Prompt(_)) => {}
        Some(Overlay::Views { cursor }) => {
            let views = state.library.list();
            let name_w = views
                .iter()
                .map(|v| v.name.chars().count())
                .max()
                .unwrap_or(0)
                .min(32);
            let lines = views
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let (mark, file) = match &v.origin {
                        crate::views::Origin::BuiltIn => ("built-in", String::new()),
                        crate::views::Origin::File { path, .. } => {
                            ("saved", format!("  · {}", path.display()))
                        }
                    };
                    let text = format!(
                        "{:name_w$}  {:10} {:9} {}{}",
                        escape_control(&v.name),
                        v.analysis.kind(),
                        mark,
                        escape_control(&v.title),
                        escape_control(&file),
                    );
                    if i == *cursor {
                        Line::styled(text, theme.selected())
                    } else {
                        Line::raw(text)
                    }
                })
                .collect::<Vec<_>>();
            let area = centered(main, 100, (lines.len() as u16 + 2).min(main.height));
            let inner_h = area.height.saturating_sub(2) as usize;
            let scroll = cursor.saturating_sub(inner_h.saturating_sub(1));
            draw_list(
                frame,
                area,
                "Views (Enter opens, r renames, d deletes, Esc closes)",
                lines,
                scroll,
            );
        }
        Some(Overlay::PickField { rows, cursor }) => {
            let lines = PIVOT_FIELDS
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if i == *cursor {
                        Line::styled(*f, theme.selected())
                    } else {
                        Line::raw(*f)
                    }
                })
                .collect::<Vec<_>>();
            let area = centered(main, 30, (lines.len() as u16 + 2).min(main.height));
            let inner_h = area.height.saturating_sub(2) as usize;
            let scroll = cursor.saturating_sub(inner_h.saturating_sub(1));
            let title = if *rows { "Pivot rows" } else { "Pivot columns" };
            draw_list(frame, area, title, lines, scroll);
        }
    }
}
