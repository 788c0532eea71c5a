//! Drawing: one function per view, each reading `&AppState` only (the view-models `update`
//! computed). Nothing here queries data or changes state, so drawing is fast and snapshots
//! are deterministic.
//!
//! Positions come from the frame's own area, never from the size `update` last heard of
//! (the terminal can shrink between a resize event and the next draw), and every write goes
//! through [`put`] or a widget given an area inside the frame, so no size can index outside
//! the buffer.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::detectors::Severity;
use crate::schema::ACTOR;
use crate::text::{format_time, truncate};

use super::keymap::View;
use super::record::{Cut, Token};

mod bars;
use super::state::{
    ACTOR_COLUMNS, AppState, Areas, FINDING_COLUMNS, LANE_LABEL_WIDTH, LoadPhase, PIVOT_CELL_WIDTH,
    PIVOT_LABEL_WIDTH, pivot_columns, timeline_columns,
};
use bars::{draw_filter_bar, draw_gauge, draw_overlay, draw_status};

/// Styles for roles, readable on dark and light backgrounds; modifiers only under `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    fn of(state: &AppState) -> Theme {
        Theme {
            color: state.settings.color,
        }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    fn header(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    fn muted(self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::DIM)
    }

    fn error(self) -> Style {
        self.fg(Color::Red)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    fn severity(self, severity: Severity) -> Style {
        match severity {
            Severity::Critical | Severity::High => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::Medium => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            Severity::Low => self.fg(Color::Cyan),
            Severity::Info => Style::new(),
        }
    }

    fn token(self, token: Token) -> Style {
        match token {
            Token::Key => self.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Token::Str => self.fg(Color::Green),
            Token::Num => self.fg(Color::Magenta),
            Token::Literal => self.fg(Color::Red),
            Token::Punct | Token::Plain => Style::new(),
        }
    }

    /// Heat shading of a count relative to the largest: a fixed dark text on a light ramp,
    /// so it reads the same on dark and light terminals.
    fn heat(self, count: u64, max: u64) -> Style {
        if count == 0 || max == 0 {
            return self.muted();
        }
        let level = ((count * 5).div_ceil(max)).clamp(1, 5);
        if !self.color {
            return if level >= 4 {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
        }
        let bg = [230u8, 229, 222, 215, 209][(level - 1) as usize];
        Style::new().fg(Color::Black).bg(Color::Indexed(bg))
    }

    fn bar(self) -> Style {
        self.fg(Color::Blue)
    }
}

/// Writes `text` at (x, y) within `area`, cut to `width` columns; nothing outside `area` or
/// the buffer.
fn put(buf: &mut Buffer, area: Rect, x: u16, y: u16, width: u16, text: &str, style: Style) {
    let area = area.intersection(buf.area);
    if y < area.y || y >= area.bottom() || x < area.x || x >= area.right() {
        return;
    }
    let width = width.min(area.right() - x);
    let cut = truncate(text, width as usize);
    buf.set_stringn(x, y, cut.as_ref(), width as usize, style);
}

/// Right-aligns `text` in `width` columns.
fn right(text: &str, width: u16) -> String {
    format!("{text:>w$}", w = width as usize)
}

/// A count with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, state: &AppState) {
    let areas = state.areas_in(frame.area());
    let theme = Theme::of(state);
    draw_tabs(frame, state, areas.tabs, theme);
    match state.view {
        View::Events => draw_events(frame, state, &areas, theme),
        View::Detail => draw_detail(frame, state, areas.main, theme),
        View::Pivot => draw_pivot(frame, state, areas.main, theme),
        View::Timeline => draw_timeline(frame, state, areas.main, theme),
        View::Actors => draw_actors(frame, state, areas.main, theme),
        View::Findings => draw_findings(frame, state, areas.main, theme),
    }
    if let Some(gauge) = areas.gauge {
        draw_gauge(frame, state, gauge, theme);
    }
    draw_filter_bar(frame, state, areas.filter, theme);
    draw_status(frame, state, areas.status, theme);
    draw_overlay(frame, state, areas.main, theme);
}

fn draw_tabs(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    if area.height == 0 {
        return;
    }
    let buf = frame.buffer_mut();
    let mut x = area.x;
    let active = if state.view == View::Detail {
        View::Events
    } else {
        state.view
    };
    for (i, view) in View::TABS.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, view.title());
        let style = if *view == active {
            theme.selected().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        put(buf, area, x, area.y, label.len() as u16, &label, style);
        x = x.saturating_add(label.len() as u16);
    }
    let help = "? help  q quit";
    let w = help.len() as u16;
    if area.width > x.saturating_add(w + 1) {
        put(buf, area, area.right() - w, area.y, w, help, theme.muted());
    }
}

/// A message under a view's two header lines (the view's info line and its column header).
fn draw_message_below_header(frame: &mut Frame<'_>, area: Rect, text: &str, theme: Theme) {
    let body = Rect::new(
        area.x,
        area.y.saturating_add(2),
        area.width,
        area.height.saturating_sub(2),
    );
    draw_message(frame, body, text, theme);
}

fn draw_message(frame: &mut Frame<'_>, area: Rect, text: &str, theme: Theme) {
    if area.height == 0 {
        return;
    }
    let y = area.y + area.height / 2;
    let w = text.chars().count() as u16;
    let x = area.x + area.width.saturating_sub(w) / 2;
    put(
        frame.buffer_mut(),
        area,
        x,
        y,
        area.width,
        text,
        theme.muted(),
    );
}

fn empty_text(state: &AppState, what: &str) -> String {
    if state.phase == LoadPhase::Loading && state.total() == 0 {
        "loading…".to_string()
    } else if state.total() == 0 {
        "no events loaded".to_string()
    } else {
        format!("no {what} match the filter")
    }
}

fn draw_events(frame: &mut Frame<'_>, state: &AppState, areas: &Areas, theme: Theme) {
    let area = areas.table;
    let events = &state.events;
    // Visible columns from the column offset, as many as fit after the flag marker.
    let mut shown = Vec::new();
    let mut x = area.x.saturating_add(2);
    for (i, column) in events.columns.iter().enumerate().skip(events.col_offset) {
        if x >= area.right() {
            break;
        }
        let w = state.column_width(column).min(area.right() - x);
        shown.push((i, *column, x, w));
        x = x.saturating_add(state.column_width(column) + 1);
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
            for &(i, _, x, w) in &shown {
                if let Some(cell) = row.cells.get(i) {
                    put(buf, area, x, y, w, cell, style);
                }
            }
        }
    }
    if let Some(detail) = areas.detail {
        draw_detail(frame, state, detail, theme);
    }
}

fn draw_detail(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
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

fn draw_pivot(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
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
        let label = truncate(&view.col_labels[c], cell as usize - 1);
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
            &format!("{marker}{}", view.row_labels[r]),
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

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn draw_timeline(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let timeline = &state.timeline;
    let buf = frame.buffer_mut();
    let Some(view) = &timeline.result else {
        put(
            buf,
            area,
            area.x,
            area.y,
            area.width,
            "counting…",
            theme.muted(),
        );
        return;
    };
    let visible = timeline_columns(area.width);
    let buckets = view.timeline.starts.len();
    let start = timeline.start.min(buckets);
    let end = (start + visible).min(buckets);
    let label = |i: usize| view.bucket_labels.get(i).cloned().unwrap_or_default();
    let info = format!(
        "bucket {}   {} → {}   +/- zoom  ←/→ pan  Enter: events of the actor",
        query_bucket_label(view.timeline.bucket),
        label(start),
        label(end.saturating_sub(1)),
    );
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
    if view.labels.is_empty() {
        draw_message_below_header(frame, area, &empty_text(state, "events"), theme);
        return;
    }
    let label_w = LANE_LABEL_WIDTH.min(area.width);
    let axis_y = area.y.saturating_add(1);
    put(buf, area, area.x, axis_y, label_w, ACTOR, theme.header());
    // The column of the n-th bucket shown (saturating: `put` drops what is off the area).
    let bucket_x = |n: usize| {
        area.x
            .saturating_add(label_w)
            .saturating_add(1)
            .saturating_add(u16::try_from(n).unwrap_or(u16::MAX))
    };
    // Axis: a tick every 10 buckets.
    for n in (0..end - start).step_by(10) {
        put(buf, area, bucket_x(n), axis_y, 1, "┬", theme.muted());
    }
    for (n, lane_index) in (timeline.cursor.offset..view.labels.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let Some(lane) = view.timeline.lanes.get(lane_index) else {
            break;
        };
        let selected = lane_index == timeline.cursor.selected;
        let marks = view.marks.get(lane_index);
        let flagged = marks.is_some_and(|m| !m.is_empty());
        let prefix = match (selected, flagged) {
            (true, true) => "▶!",
            (true, false) => "▶ ",
            (false, true) => " !",
            (false, false) => "  ",
        };
        let style = if selected {
            theme.header().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        put(
            buf,
            area,
            area.x,
            y,
            label_w,
            &format!("{prefix}{}", view.labels[lane_index]),
            style,
        );
        let lane_max = lane.counts.iter().copied().max().unwrap_or(0).max(1);
        for (n, i) in (start..end).enumerate() {
            let x = bucket_x(n);
            let count = lane.counts.get(i).copied().unwrap_or(0);
            if let Some(severity) = marks.and_then(|m| m.get(&i)) {
                put(
                    buf,
                    area,
                    x,
                    y,
                    1,
                    "!",
                    theme.severity(*severity).add_modifier(Modifier::REVERSED),
                );
            } else if count > 0 {
                let level = ((count * 8).div_ceil(lane_max)).clamp(1, 8) as usize;
                put(
                    buf,
                    area,
                    x,
                    y,
                    1,
                    &BARS[level - 1].to_string(),
                    theme.bar(),
                );
            }
        }
    }
}

fn query_bucket_label(bucket: i64) -> String {
    crate::analysis::bucket_label(bucket)
}

fn sort_arrow(active: bool, descending: bool) -> &'static str {
    match (active, descending) {
        (false, _) => "",
        (true, true) => "▼",
        (true, false) => "▲",
    }
}

fn draw_actors(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
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
            row.kind().to_string(),
            right(&thousands(row.events), widths[2]),
            right(&thousands(row.privileged), widths[3]),
            right(&thousands(row.failures), widths[4]),
            right(&thousands(row.distinct_ips), widths[5]),
            time(row.first),
            time(row.last),
            row.provider.clone(),
        ];
        for (i, cell) in cells.iter().enumerate() {
            let mut cell_style = style;
            if i == 3 && row.privileged > 0 || i == 4 && row.failures > 0 {
                cell_style = cell_style.patch(theme.severity(Severity::Medium));
            }
            put(buf, area, xs[i], y, widths[i], cell, cell_style);
        }
    }
}

fn draw_findings(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let findings = &state.findings;
    let buf = frame.buffer_mut();
    let info = if let Some(error) = &findings.error {
        format!("the detectors failed: {error}")
    } else if findings.running && findings.rows.is_empty() {
        "running the detectors…".to_string()
    } else {
        format!(
            "{} findings   Enter: the events behind one",
            thousands(findings.rows.len() as u64)
        )
    };
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
    let widths: [u16; 6] = [9, 19, 26, 24, 7, 200];
    let header_y = area.y.saturating_add(1);
    let mut x = area.x;
    let mut xs = Vec::new();
    for (i, name) in FINDING_COLUMNS.iter().enumerate() {
        xs.push(x);
        put(buf, area, x, header_y, widths[i], name, theme.header());
        x = x.saturating_add(widths[i] + 1);
    }
    if findings.rows.is_empty() {
        if !findings.running {
            draw_message_below_header(frame, area, "no findings", theme);
        }
        return;
    }
    for (n, r) in (findings.cursor.offset..findings.rows.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let row = &findings.rows[r];
        let selected = r == findings.cursor.selected;
        let style = if selected {
            theme.selected()
        } else {
            Style::new()
        };
        if selected {
            buf.set_style(Rect::new(area.x, y, area.width, 1), style);
        }
        let why = if row.mitre.is_empty() {
            row.reason.clone()
        } else {
            format!("{} [{}]", row.reason, row.mitre)
        };
        let cells = [
            row.severity.as_str().to_string(),
            row.time.clone(),
            row.rule.clone(),
            row.actor.clone(),
            right(&thousands(row.count), widths[4]),
            why,
        ];
        for (i, cell) in cells.iter().enumerate() {
            let cell_style = if i == 0 {
                style.patch(theme.severity(row.severity))
            } else {
                style
            };
            let w = widths[i].min(area.right().saturating_sub(xs[i]));
            put(buf, area, xs[i], y, w, cell, cell_style);
        }
    }
}
