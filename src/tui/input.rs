//! Keys and the mouse: a key is typed into the open overlay (filter bar, help, pickers) or
//! resolved through the keymap into a [`Command`]; the mouse wheel scrolls and a click selects
//! a row or a tab. Commands are returned for `update` to run, never run here.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::schema;

use super::action::Effect;
use super::history::{HISTORY_LIMIT, write_history};
use super::keymap::{self, Command};
use super::state::View;
use super::state::{AppState, Cursor, FilterEdit, Overlay, PIVOT_FIELDS};

/// Handles a key: typed into the open overlay, or resolved to the command it stands for.
pub(super) fn on_key(
    state: &mut AppState,
    key: KeyEvent,
    effects: &mut Vec<Effect>,
) -> Option<Command> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
        state.quitting = true;
        effects.push(Effect::Quit);
        return None;
    }
    if state.overlay.is_none() && state.view == View::Detail && state.record_search_open() {
        on_record_search_key(state, key);
        return None;
    }
    match state.overlay.take() {
        Some(Overlay::Filter(edit)) => on_filter_key(state, edit, key, effects),
        Some(Overlay::Help { scroll }) => {
            let lines = keymap::help_lines().len();
            let page = state.areas().main.height.saturating_sub(2).max(1) as usize;
            let scroll = match key.code {
                KeyCode::Down | KeyCode::Char('j') => Some(scroll + 1),
                KeyCode::Up | KeyCode::Char('k') => Some(scroll.saturating_sub(1)),
                KeyCode::PageDown | KeyCode::Char(' ') => Some(scroll + page),
                KeyCode::PageUp => Some(scroll.saturating_sub(page)),
                KeyCode::Char('g') | KeyCode::Home => Some(0),
                KeyCode::Char('G') | KeyCode::End => Some(lines),
                _ => None,
            };
            if let Some(scroll) = scroll {
                state.overlay = Some(Overlay::Help {
                    scroll: scroll.min(lines.saturating_sub(1)),
                });
            }
        }
        Some(Overlay::Columns { cursor, original }) => {
            let n = schema::EVENT_COLUMNS.len();
            let cursor = match key.code {
                KeyCode::Down | KeyCode::Char('j') => (cursor + 1).min(n - 1),
                KeyCode::Up | KeyCode::Char('k') => cursor.saturating_sub(1),
                KeyCode::Char(' ') => {
                    toggle_column(state, cursor.min(n - 1));
                    cursor
                }
                // Enter keeps the choice; Esc puts the columns back as they were.
                KeyCode::Enter => return None,
                KeyCode::Esc => {
                    if state.events.columns != original {
                        state.events.columns = original;
                        state.refresh_window();
                    }
                    return None;
                }
                _ => cursor,
            };
            state.overlay = Some(Overlay::Columns { cursor, original });
        }
        Some(Overlay::PickField { rows, cursor }) => {
            let n = PIVOT_FIELDS.len();
            match key.code {
                KeyCode::Down | KeyCode::Char('j') => {
                    state.overlay = Some(Overlay::PickField {
                        rows,
                        cursor: (cursor + 1).min(n - 1),
                    })
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    state.overlay = Some(Overlay::PickField {
                        rows,
                        cursor: cursor.saturating_sub(1),
                    })
                }
                KeyCode::Enter | KeyCode::Char(' ') => {
                    let field = PIVOT_FIELDS[cursor.min(n - 1)];
                    if rows {
                        state.pivot.rows = field;
                    } else {
                        state.pivot.cols = field;
                    }
                    state.pivot.cursor = Cursor {
                        page: state.pivot.cursor.page,
                        ..Cursor::default()
                    };
                    state.pivot.col = 0;
                    state.pivot.col_offset = 0;
                    state.ensure_analysis(effects);
                }
                _ => {}
            }
        }
        Some(Overlay::Prompt(prompt)) => super::saved::on_prompt_key(state, prompt, key, effects),
        Some(Overlay::Views { cursor }) => super::saved::on_views_key(state, cursor, key, effects),
        None => {
            let stroke = keymap::Keystroke::from_event(&key);
            let command = keymap::resolve(state.view, stroke);
            // A key that does nothing says so (until the next key), and where the keys are.
            if command.is_none() && !matches!(key.code, KeyCode::Modifier(_) | KeyCode::Null) {
                let label = crate::text::escape_control(&stroke.label()).into_owned();
                state.message = Some(format!("unknown key {label}: ? for help"));
            }
            return command;
        }
    }
    None
}

/// A key typed into the record view's search: Enter keeps the search (n/N step through its
/// matches), Esc drops it, anything else edits it and searches again as it is typed.
fn on_record_search_key(state: &mut AppState, key: KeyEvent) {
    let Some(search) = &mut state.record.search else {
        return;
    };
    let mut cursor = search.typing.unwrap_or(0);
    match key.code {
        KeyCode::Enter => {
            search.typing = None;
            if search.query.is_empty() {
                state.record.search = None;
            }
        }
        KeyCode::Esc => state.record.search = None,
        _ => {
            if super::line::edit_line(&mut search.query, &mut cursor, key) {
                search.typing = Some(cursor);
                state.research();
            } else {
                search.typing = Some(cursor);
            }
        }
    }
}

/// Shows or hides one column of [`schema::EVENT_COLUMNS`] (the last one stays), keeping the
/// schema's order.
fn toggle_column(state: &mut AppState, at: usize) {
    let Some(&column) = schema::EVENT_COLUMNS.get(at) else {
        return;
    };
    let columns = &mut state.events.columns;
    if let Some(i) = columns.iter().position(|c| *c == column) {
        if columns.len() > 1 {
            columns.remove(i);
        }
    } else {
        let after = |c: &&str| schema::EVENT_COLUMNS.iter().position(|e| e == c) > Some(at);
        let i = columns.iter().position(after).unwrap_or(columns.len());
        columns.insert(i, column);
    }
    state.refresh_window();
}

pub(super) fn on_filter_key(
    state: &mut AppState,
    mut edit: FilterEdit,
    key: KeyEvent,
    effects: &mut Vec<Effect>,
) {
    let mut changed = false;
    match key.code {
        KeyCode::Esc => {
            if edit.text != edit.original {
                state.set_filter(edit.original, effects);
            }
            return;
        }
        KeyCode::Enter => {
            if state.filter.error.is_some() {
                state.overlay = Some(Overlay::Filter(edit));
                return;
            }
            let text = edit.text.trim().to_string();
            if !text.is_empty() && state.filter.history.last() != Some(&text) {
                state.filter.history.push(text);
                let excess = state.filter.history.len().saturating_sub(HISTORY_LIMIT);
                state.filter.history.drain(..excess);
                if let Some(path) = &state.filter.history_file
                    && let Err(e) = write_history(path, &state.filter.history)
                {
                    // Not fatal: the history still works for this run.
                    let why = crate::text::escape_control(&e.to_string()).into_owned();
                    state.message = Some(format!("filter history not saved: {why}"));
                }
            }
            // Following: the newest matching event; else the first.
            state.events.cursor.selected = if state.sticking() { usize::MAX } else { 0 };
            state.refresh_window();
            state.sync_detail(effects);
            state.prefetch_analyses(effects);
            return;
        }
        KeyCode::Up | KeyCode::Down => {
            let history = &state.filter.history;
            if !history.is_empty() {
                let pos = match (key.code, edit.history_pos) {
                    (KeyCode::Up, None) => Some(history.len() - 1),
                    (KeyCode::Up, Some(p)) => Some(p.saturating_sub(1)),
                    (_, Some(p)) if p + 1 < history.len() => Some(p + 1),
                    _ => None,
                };
                edit.history_pos = pos;
                edit.text = pos
                    .and_then(|p| history.get(p).cloned())
                    .unwrap_or_default();
                edit.cursor = edit.text.chars().count();
                changed = true;
            }
        }
        _ => changed = super::line::edit_line(&mut edit.text, &mut edit.cursor, key),
    }
    if changed {
        state.set_filter(edit.text.clone(), effects);
    }
    state.overlay = Some(Overlay::Filter(edit));
}

/// Handles the mouse: the command a wheel turn or a click on a row stands for (a click on a
/// tab opens the view itself).
pub(super) fn on_mouse(
    state: &mut AppState,
    mouse: MouseEvent,
    effects: &mut Vec<Effect>,
) -> Option<Command> {
    let areas = state.areas();
    match mouse.kind {
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let delta = if mouse.kind == MouseEventKind::ScrollDown {
                3
            } else {
                -3
            };
            let over_detail = areas.detail.is_some_and(|d| mouse.row >= d.y);
            if state.overlay.is_some() {
                return None;
            }
            if over_detail {
                scroll_detail(state, delta);
            } else {
                return Some(Command::ScrollBy(delta as i32));
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if state.overlay.is_some() {
                return None;
            }
            if mouse.row == areas.tabs.y && areas.tabs.height > 0 {
                // Tabs are drawn one after the other, as `tab_labels` makes them.
                let mut x = 0u16;
                let labels = super::state::tab_labels(areas.tabs.width);
                for (view, label) in View::TABS.into_iter().zip(labels) {
                    let w = label.len() as u16;
                    if mouse.column >= x && mouse.column < x + w {
                        state.open_view(view, effects);
                        return None;
                    }
                    x += w;
                }
                return None;
            }
            let (top, offset, selected) = match state.view {
                View::Events => (
                    areas.table.y + 1,
                    state.events.cursor.offset,
                    state.events.cursor.selected,
                ),
                View::Pivot => (
                    areas.main.y + 2,
                    state.pivot.cursor.offset,
                    state.pivot.cursor.selected,
                ),
                View::Timeline => (
                    areas.main.y + 2,
                    state.timeline.cursor.offset,
                    state.timeline.cursor.selected,
                ),
                View::Identities => (
                    areas.main.y + 2,
                    state.identities.cursor.offset,
                    state.identities.cursor.selected,
                ),
                View::Findings => (
                    areas.main.y + 2,
                    state.findings.cursor.offset,
                    state.findings.cursor.selected,
                ),
                View::Access => (
                    areas.main.y + 2,
                    state.access.cursor.offset,
                    state.access.cursor.selected,
                ),
                View::Incidents => (
                    areas.main.y + 2,
                    state.incidents.cursor.offset,
                    state.incidents.cursor.selected,
                ),
                View::Detail => return None,
            };
            let bottom = if state.view == View::Events {
                areas.table.y + areas.table.height
            } else {
                areas.main.y + areas.main.height
            };
            if mouse.row >= top && mouse.row < bottom {
                let target = offset + (mouse.row - top) as usize;
                return Some(Command::ScrollBy(target as i32 - selected as i32));
            }
        }
        _ => {}
    }
    None
}

pub(super) fn scroll_detail(state: &mut AppState, delta: i64) {
    let max = state.detail.record.len().saturating_sub(state.detail.page);
    state.detail.scroll = (state.detail.scroll as i64 + delta).clamp(0, max as i64) as usize;
}
