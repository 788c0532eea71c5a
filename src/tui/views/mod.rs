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

use crate::detectors::Severity;
use crate::text::truncate;

use super::pretty_json::Token;
use super::state::View;

mod access;
mod bars;
mod events;
mod finding_detail;
pub use finding_detail::PANE_BESIDE_FROM;
mod findings;
mod identities;
mod incidents;
mod pivot;
mod record;
mod timeline;
use super::state::{AppState, LoadPhase};
use access::draw_access;
use bars::{draw_filter_bar, draw_gauge, draw_overlay, draw_status};
use events::draw_events;
use findings::draw_findings;
use identities::draw_identities;
use incidents::draw_incidents;
use pivot::draw_pivot;
use record::draw_detail;
pub use record::{byte_size, cut_notice};
use timeline::draw_timeline;

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

    fn notice(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
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

/// A value of `field` as the views show it in `width` columns: principals shortened (unless
/// the user asked for them whole), long identifiers cut in the middle, prose at the end.
fn value_label(state: &AppState, field: &str, text: &str, width: u16) -> String {
    let shown = super::columns::shown(field, text, state.full_values);
    super::columns::fit(field, &shown, width).into_owned()
}

/// Right-aligns `text` in `width` columns.
fn right(text: &str, width: u16) -> String {
    format!("{text:>w$}", w = width as usize)
}

pub use crate::text::thousands;

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
        View::Identities => draw_identities(frame, state, areas.main, theme),
        View::Findings => draw_findings(frame, state, areas.main, theme),
        View::Access => draw_access(frame, state, areas.main, theme),
        View::Incidents => draw_incidents(frame, state, areas.main, theme),
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
    for (view, label) in View::TABS.iter().zip(super::state::tab_labels(area.width)) {
        let style = if *view == active {
            theme.selected().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        put(buf, area, x, area.y, label.len() as u16, &label, style);
        x = x.saturating_add(label.len() as u16);
    }
    // The longest hint that fits: at 80 columns the tabs leave room for `? help` only, and
    // help is what a new user must find.
    for help in ["? help  q quit", "? help"] {
        let w = help.len() as u16;
        if area.width >= x.saturating_add(w + 1) {
            put(buf, area, area.right() - w, area.y, w, help, theme.muted());
            break;
        }
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
    } else if state.phase == LoadPhase::Following && state.total() == 0 {
        "waiting for events…".to_string()
    } else if state.total() == 0 {
        "no events loaded".to_string()
    } else {
        format!("no {what} match the filter")
    }
}

fn sort_arrow(active: bool, descending: bool) -> &'static str {
    match (active, descending) {
        (false, _) => "",
        (true, true) => "▼",
        (true, false) => "▲",
    }
}
