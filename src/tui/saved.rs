//! Saved views in the TUI: the current state captured as a [`SavedView`] (filter, range,
//! zone, columns, sort, and the tab's analysis), a saved view opened (the same tab, filter
//! and rows), and the keys of the prompts (name, note, `:` commands, confirmations) and of
//! the views list. Saving rewrites one small TOML file (a few kilobytes, atomically) on the
//! UI thread; everything else here only changes the state.

use crossterm::event::{KeyCode, KeyEvent};

use crate::analysis::{self, PivotSpec, SortKey, TimelineSpec, ViewSpec};
use crate::schema::{self, IDENTITY};
use crate::text::escape_control;
use crate::views::{self, FindingsSpec, SavedView, ViewAnalysis};

use super::action::Effect;
use super::jobs::Sort;
use super::state::{ActiveView, AppState, Asking, Cursor, Overlay, Prompt, View};

/// The pivot's `top` as saved: the CLI's default (the TUI keeps its own, larger one).
const SAVED_PIVOT_TOP: usize = analysis::DEFAULT_PIVOT_TOP;

/// A column name as the TUI holds it (a schema constant), if it is one.
fn column(name: &str) -> Option<&'static str> {
    schema::EVENT_COLUMNS.iter().copied().find(|c| *c == name)
}

impl AppState {
    /// The current state as a view named `name` (title and note from the active view when it
    /// has that name).
    pub fn capture(&self, name: &str) -> SavedView {
        let mut view = SavedView::new(name);
        if let Some(active) = self.active.as_ref().filter(|a| a.saved.name == name) {
            view.title = active.saved.title.clone();
            view.note = active.saved.note.clone();
        }
        // A zone is saved only when the view opened had one (the TUI does not change zones).
        view.tz = self.active.as_ref().and_then(|a| a.saved.tz.clone());
        let columns: Vec<String> = if self.events.columns == schema::DEFAULT_COLUMNS {
            Vec::new()
        } else {
            self.events.columns.iter().map(|c| c.to_string()).collect()
        };
        view.view = ViewSpec {
            filter: self.filter.text.trim().to_string(),
            range: self.range.clone(),
            tz: self.settings.tz.clone(),
            columns,
            sort: self.events.sort.map(SortKey::from),
            limit: None,
        };
        view.analysis = match self.view {
            View::Pivot => ViewAnalysis::Pivot(PivotSpec {
                rows: self.pivot.rows.to_string(),
                cols: (self.pivot.cols != self.pivot.rows).then(|| self.pivot.cols.to_string()),
                distinct: None,
                top: SAVED_PIVOT_TOP,
            }),
            View::Timeline => ViewAnalysis::Timeline(TimelineSpec {
                by: self.timeline.lane_column().to_string(),
                bucket: self
                    .timeline
                    .zoom
                    .and_then(|z| analysis::BUCKETS.get(z))
                    .map(|(b, _)| *b),
                tz: self.settings.tz.clone(),
                top: analysis::DEFAULT_TIMELINE_LANES,
            }),
            // No saved-view analysis of its own yet: the incidents are grouped from the findings.
            View::Findings | View::Incidents => ViewAnalysis::Findings(self.findings.spec.clone()),
            View::Access => ViewAnalysis::Access(self.access.spec.clone()),
            View::Identities => ViewAnalysis::Identities(self.identities.spec.clone()),
            View::Events | View::Detail => ViewAnalysis::Events,
        };
        view
    }

    /// Whether the state shows what `saved` describes (the parts a view holds).
    fn shows(&self, saved: &SavedView) -> bool {
        let now = self.capture(&saved.name);
        let analysis_same = match (&now.analysis, &saved.analysis) {
            // The TUI's timeline lanes are always actors, its pivot keeps its own top.
            (ViewAnalysis::Timeline(a), ViewAnalysis::Timeline(b)) => {
                a.bucket == b.bucket && a.by == b.by
            }
            (ViewAnalysis::Pivot(a), ViewAnalysis::Pivot(b)) => {
                a.rows == b.rows && a.cols == b.cols
            }
            (a, b) => a == b,
        };
        let columns = |v: &SavedView| v.view.shown_columns().join(",");
        now.view.filter == saved.view.filter.trim()
            && now.view.range == saved.view.range
            && now.view.sort == saved.view.sort
            && columns(&now) == columns(saved)
            && analysis_same
    }

    /// Updates whether the state has changed since the active view was opened or saved.
    pub(super) fn note_view_changes(&mut self) {
        if let Some(active) = &self.active {
            let changed = !self.shows(&active.saved);
            if let Some(active) = self.active.as_mut() {
                active.changed = changed;
            }
        }
    }

    /// Opens a saved view: its zone, range, filter, columns, sort and analysis, on its tab,
    /// from the first row.
    pub fn open_saved(&mut self, saved: SavedView, effects: &mut Vec<Effect>) {
        self.overlay = None;
        self.back.clear();
        self.settings.tz = saved.tz.clone().unwrap_or_else(|| self.display_tz.clone());
        self.range = saved.view.range.clone();
        let columns: Vec<&'static str> = saved
            .view
            .shown_columns()
            .into_iter()
            .filter_map(column)
            .collect();
        self.events.columns = if columns.is_empty() {
            schema::DEFAULT_COLUMNS.to_vec()
        } else {
            columns
        };
        self.events.col_cursor = 0;
        self.events.col_offset = 0;
        self.events.sort = saved.view.sort.as_ref().and_then(|s| {
            column(&s.column).map(|column| Sort {
                column,
                descending: s.descending,
            })
        });
        self.events.cursor = Cursor {
            page: self.events.cursor.page,
            ..Cursor::default()
        };
        self.findings.spec = FindingsSpec::default();
        self.findings.scoped = false;
        let tab = match &saved.analysis {
            ViewAnalysis::Events => View::Events,
            ViewAnalysis::Pivot(p) => {
                if let Some(rows) = column(&p.rows) {
                    self.pivot.rows = rows;
                    self.pivot.cols = p.cols.as_deref().and_then(column).unwrap_or(rows);
                }
                self.pivot.cursor = Cursor {
                    page: self.pivot.cursor.page,
                    ..Cursor::default()
                };
                self.pivot.col = 0;
                self.pivot.col_offset = 0;
                View::Pivot
            }
            ViewAnalysis::Timeline(t) => {
                // The zoom of the saved bucket, else the smallest one at least as wide.
                self.timeline.zoom = t.bucket.map(|b| {
                    analysis::BUCKETS
                        .iter()
                        .position(|(size, _)| *size >= b)
                        .unwrap_or(analysis::BUCKETS.len() - 1)
                });
                self.timeline.start = 0;
                self.timeline.anchor = None;
                // Lanes other than identities are shown by actor: the TUI has those two.
                self.timeline.by_identity = t.by == IDENTITY;
                (self.timeline.shown, self.timeline.requested) = (None, None);
                View::Timeline
            }
            ViewAnalysis::Findings(f) => {
                self.findings.spec = f.clone();
                self.findings.scoped = true;
                View::Findings
            }
            ViewAnalysis::Identities(spec) => {
                self.identities.spec = spec.clone();
                (self.identities.shown, self.identities.requested) = (None, None);
                View::Identities
            }
            // The TUI shows the grants; a review is the CLI's and the report's table.
            ViewAnalysis::Access(spec) | ViewAnalysis::Review(spec) => {
                self.access.spec = spec.clone();
                (self.access.shown, self.access.requested) = (None, None);
                View::Access
            }
        };
        self.refilter_findings();
        self.set_filter(saved.view.filter.trim().to_string(), effects);
        self.open_view(tab, effects);
        self.message = Some(format!("opened view '{}'", escape_control(&saved.name)));
        self.active = Some(ActiveView {
            saved,
            changed: false,
        });
    }

    /// Opens the view named `name`, or says there is none.
    fn open_named(&mut self, name: &str, effects: &mut Vec<Effect>) {
        match self.library.get(name).cloned() {
            Some(view) => self.open_saved(view, effects),
            None => {
                self.message = Some(format!("no view named '{}'", escape_control(name)));
            }
        }
    }

    /// Asks for the name to save under (the active view's, to save it again).
    pub(super) fn ask_save_name(&mut self, name: Option<String>) {
        let name = name
            .or_else(|| self.active.as_ref().map(|a| a.saved.name.clone()))
            .unwrap_or_default();
        self.overlay = Some(Overlay::Prompt(Prompt::new(Asking::SaveName, name)));
    }

    /// After the name: asks before replacing another existing view, then for the note.
    fn chose_save_name(&mut self, name: String) {
        if let Err(e) = views::check_name(&name) {
            self.message = Some(escape_control(&e.to_string()).into_owned());
            self.overlay = Some(Overlay::Prompt(Prompt::new(Asking::SaveName, name)));
            return;
        }
        let active = self.active.as_ref().map(|a| a.saved.name.as_str());
        if self.library.get(&name).is_some() && active != Some(name.as_str()) {
            self.overlay = Some(Overlay::Prompt(Prompt::new(
                Asking::ConfirmOverwrite { name },
                "",
            )));
        } else {
            self.ask_note(name);
        }
    }

    /// Asks for the note, pre-filled with the note of the view of that name.
    fn ask_note(&mut self, name: String) {
        let note = self
            .library
            .get(&name)
            .map(|v| v.note.clone())
            .unwrap_or_default();
        self.overlay = Some(Overlay::Prompt(Prompt::new(
            Asking::SaveNote { name },
            note,
        )));
    }

    /// Saves the current state as `name` with `note`.
    fn save_as(&mut self, name: &str, note: String) {
        let mut view = self.capture(name);
        view.note = note;
        if let Some(existing) = self.library.get(name)
            && view.title.is_empty()
        {
            view.title = existing.title.clone();
        }
        match self.library.save(&view) {
            Ok(path) => {
                self.message = Some(format!(
                    "saved view '{}' in {}",
                    escape_control(name),
                    escape_control(&path.display().to_string())
                ));
                let saved = self.library.get(name).cloned().unwrap_or(view);
                self.active = Some(ActiveView {
                    saved,
                    changed: false,
                });
            }
            Err(e) => self.message = Some(escape_control(&e.to_string()).into_owned()),
        }
    }

    /// Runs a `:` command.
    fn run_command_line(&mut self, line: &str, effects: &mut Vec<Effect>) {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let rest: Vec<&str> = words.collect();
        match (verb, rest.as_slice()) {
            ("", _) => {}
            ("save" | "w", []) => self.ask_save_name(None),
            ("save" | "w", [name]) => self.chose_save_name(name.to_string()),
            ("view" | "open" | "e", [name]) => self.open_named(name, effects),
            ("views", []) => self.overlay = Some(Overlay::Views { cursor: 0 }),
            ("export", []) => self.ask_export_path(),
            ("export", [path]) => self.export_to(path, effects),
            _ => {
                self.message = Some(format!(
                    "unknown command ':{}' (save NAME, view NAME, views, export FILE)",
                    escape_control(line)
                ));
            }
        }
    }
}

/// Handles a key typed into a prompt.
pub(super) fn on_prompt_key(
    state: &mut AppState,
    mut prompt: Prompt,
    key: KeyEvent,
    effects: &mut Vec<Effect>,
) {
    let confirm = matches!(
        prompt.asking,
        Asking::ConfirmOverwrite { .. } | Asking::ConfirmDelete { .. }
    );
    if confirm {
        let yes = matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y'));
        match prompt.asking {
            Asking::ConfirmOverwrite { name } if yes => state.ask_note(name),
            Asking::ConfirmDelete { name } if yes => {
                match state.library.remove(&name) {
                    Ok(path) => {
                        state.message = Some(format!(
                            "deleted view '{}' from {}",
                            escape_control(&name),
                            escape_control(&path.display().to_string())
                        ));
                        if state.active.as_ref().is_some_and(|a| a.saved.name == name) {
                            state.active = None;
                        }
                    }
                    Err(e) => state.message = Some(escape_control(&e.to_string()).into_owned()),
                }
                state.overlay = Some(Overlay::Views { cursor: 0 });
            }
            Asking::ConfirmDelete { .. } => state.overlay = Some(Overlay::Views { cursor: 0 }),
            _ => {}
        }
        return;
    }
    match key.code {
        KeyCode::Esc => {
            if matches!(prompt.asking, Asking::Rename { .. }) {
                state.overlay = Some(Overlay::Views { cursor: 0 });
            }
            return;
        }
        KeyCode::Enter => {
            let text = prompt.text.trim().to_string();
            match prompt.asking {
                Asking::SaveName => state.chose_save_name(text),
                Asking::SaveNote { name } => state.save_as(&name, text),
                Asking::Command => state.run_command_line(&text, effects),
                Asking::ExportPath => state.export_to(&text, effects),
                Asking::TimeRange => state.set_time_range(&text, effects),
                Asking::Rename { old } => {
                    match state.library.rename(&old, &text) {
                        Ok(_) => {
                            state.message = Some(format!(
                                "renamed view '{}' to '{}'",
                                escape_control(&old),
                                escape_control(&text)
                            ));
                            if let Some(active) =
                                state.active.as_mut().filter(|a| a.saved.name == old)
                            {
                                active.saved.name = text;
                            }
                        }
                        Err(e) => state.message = Some(escape_control(&e.to_string()).into_owned()),
                    }
                    state.overlay = Some(Overlay::Views { cursor: 0 });
                }
                Asking::ConfirmOverwrite { .. } | Asking::ConfirmDelete { .. } => {}
            }
            return;
        }
        _ => {
            super::line::edit_line(&mut prompt.text, &mut prompt.cursor, key);
        }
    }
    state.overlay = Some(Overlay::Prompt(prompt));
}

/// Handles a key in the views list: move, Enter opens, `r` renames, `d` deletes (asking
/// first), Esc closes.
pub(super) fn on_views_key(
    state: &mut AppState,
    cursor: usize,
    key: KeyEvent,
    effects: &mut Vec<Effect>,
) {
    let names: Vec<String> = state
        .library
        .list()
        .iter()
        .map(|v| v.name.clone())
        .collect();
    let n = names.len();
    let selected = names.get(cursor.min(n.saturating_sub(1))).cloned();
    let keep = |state: &mut AppState, cursor: usize| {
        state.overlay = Some(Overlay::Views {
            cursor: cursor.min(n.saturating_sub(1)),
        });
    };
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => {}
        KeyCode::Down | KeyCode::Char('j') => keep(state, cursor + 1),
        KeyCode::Up | KeyCode::Char('k') => keep(state, cursor.saturating_sub(1)),
        KeyCode::Home | KeyCode::Char('g') => keep(state, 0),
        KeyCode::End | KeyCode::Char('G') => keep(state, n),
        KeyCode::Enter => match selected {
            Some(name) => state.open_named(&name, effects),
            None => keep(state, cursor),
        },
        KeyCode::Char('r') | KeyCode::Char('d') => {
            let Some(name) = selected else {
                return keep(state, cursor);
            };
            let builtin = state
                .library
                .get(&name)
                .is_some_and(|v| v.origin == views::Origin::BuiltIn);
            if builtin {
                state.message = Some(format!(
                    "'{}' is built in: it cannot be renamed or deleted, only overridden (save a view of that name)",
                    escape_control(&name)
                ));
                return keep(state, cursor);
            }
            let asking = if key.code == KeyCode::Char('r') {
                Asking::Rename { old: name.clone() }
            } else {
                Asking::ConfirmDelete { name: name.clone() }
            };
            let text = if key.code == KeyCode::Char('r') {
                name
            } else {
                String::new()
            };
            state.overlay = Some(Overlay::Prompt(Prompt::new(asking, text)));
        }
        _ => keep(state, cursor),
    }
}
