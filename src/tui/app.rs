//! The application state and the one function that changes it: [`update`] applies an
//! [`Action`] (a key, a resize, news from the loader or a worker) to the [`AppState`] and
//! returns the [`Effect`]s for `tui/mod.rs` to carry out (run a job, read a record, quit).
//! Every view-model the views draw is computed here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crossterm::event::KeyEventKind;

use crate::analysis::filter;
use crate::analysis::{self, PivotSpec, TimelineSpec, ViewSpec};
use crate::audit::identities::{IdentitiesSpec, IdentityColumn};
use crate::load::pipeline::IngestMsg;
use crate::schema;
use crate::text::escape_control;

use super::jobs::{
    Analysis, AnalysisJob, AnalysisOutput, Done, Job, RecordJob, Sort, StoreSnapshot, ViewJob,
    ViewRows,
};
use super::keymap::Command;
use super::model::{self, IdentityOrder};
use super::state::View;

use super::action::{Action, Effect, IngestMsgBox};
use super::drill;
use super::input;
use super::investigate;
use super::state::{
    AppState, FilterEdit, IDENTITY_COLUMNS, IDENTITY_SORTS, LoadPhase, Overlay, PIVOT_FIELDS,
};
use super::values;

/// Lanes (actors) the timeline keeps; the rest are summed into "(other)".
const TIMELINE_LANES: usize = 300;
/// Rows and columns the pivot keeps.
const PIVOT_TOP: usize = 300;

impl AppState {
    /// The first effects: compute the view and run the detectors over what is loaded.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.frame_changed(&mut effects);
        effects
    }

    pub(super) fn set_pages(&mut self) {
        let areas = self.areas();
        self.events.cursor.page = areas.table.height.saturating_sub(1).max(1) as usize;
        let list_page = areas.main.height.saturating_sub(2).max(1) as usize;
        self.pivot.cursor.page = list_page;
        self.timeline.cursor.page = list_page;
        self.identities.cursor.page = list_page;
        self.findings.cursor.page = list_page;
        // Narrow screens give the access view's last line to the selected grant's detail.
        self.access.cursor.page =
            if areas.main.width < super::access::WIDE_ACCESS && areas.main.height > 3 {
                list_page.saturating_sub(1).max(1)
            } else {
                list_page
            };
        self.incidents.cursor.page = list_page;
        self.detail.page = match (self.view, areas.detail) {
            (View::Detail, _) => areas.main.height.saturating_sub(2).max(1) as usize,
            (_, Some(d)) => d.height.saturating_sub(2).max(1) as usize,
            _ => 1,
        };
    }

    /// The frame changed (first load, new batches): recompute what depends on it (the
    /// detectors at their own pace).
    pub(super) fn frame_changed(&mut self, effects: &mut Vec<Effect>) {
        self.frame_gen += 1;
        self.request_view(effects);
        self.detection.wanted = true;
        self.run_detectors_if_due(Instant::now(), effects);
    }

    pub(super) fn request_view(&mut self, effects: &mut Vec<Effect>) {
        let spec = ViewSpec {
            filter: self.filter.text.clone(),
            range: self.range.clone(),
            tz: self.settings.tz.clone(),
            columns: self.events.columns.iter().map(|c| c.to_string()).collect(),
            sort: self.events.sort.map(Into::into),
            ..ViewSpec::default()
        };
        let view = match spec.compile(self.store.frame()) {
            Ok(view) => view,
            Err(e) => {
                self.filter.error = Some(e);
                return;
            }
        };
        self.filter.error = None;
        self.events.requested += 1;
        effects.push(Effect::Run(Job::View(ViewJob {
            version: self.events.requested,
            frame_gen: self.frame_gen,
            frame: self.store.frame().clone(),
            view,
            anchor: self.events.anchor.take(),
        })));
    }

    pub(super) fn set_filter(&mut self, text: String, effects: &mut Vec<Effect>) {
        self.filter.text = text;
        self.request_view(effects);
    }

    pub(super) fn refresh_window(&mut self) {
        self.set_pages();
        let len = self.events.matching;
        self.events.cursor.clamp(len);
        let flags_valid = self.findings_rows_valid(self.findings.frame_gen);
        let empty = HashMap::new();
        let window = model::window(
            self.store.frame(),
            self.events.rows.as_ref(),
            self.events.cursor.offset,
            self.events.cursor.page,
            &self.events.columns,
            &self.settings.tz,
            if flags_valid {
                &self.findings.flags
            } else {
                &empty
            },
        );
        self.events.window = window;
        self.measure_columns();
        self.keep_column_visible();
    }

    pub(super) fn detail_visible(&self) -> bool {
        self.view == View::Detail || (self.view == View::Events && self.areas().detail.is_some())
    }

    pub(super) fn sync_detail(&mut self, effects: &mut Vec<Effect>) {
        if !self.detail_visible() {
            return;
        }
        let row = self.selected_row();
        if row != self.detail.frame_row || self.detail.rows_epoch != self.rows_moved_at {
            self.detail.frame_row = row;
            self.detail.rows_epoch = self.rows_moved_at;
            self.detail.record = Default::default();
            self.detail.error = None;
            self.detail.scroll = 0;
            if let Some(row) = row {
                // Read and pretty-printed on a worker: a record can be megabytes.
                effects.push(Effect::Run(Job::Record(RecordJob::locate(
                    &self.store,
                    row,
                    self.rows_moved_at,
                ))));
            }
        }
        if self.view == View::Detail {
            self.sync_record(false);
        }
    }

    /// Asks for the current view's analysis if it is out of date.
    pub(super) fn ensure_analysis(&mut self, effects: &mut Vec<Effect>) {
        self.ensure_analysis_of(self.view, false, effects);
    }

    /// Asks for every analysis that is out of date, ahead of time (not while typing a filter).
    pub(super) fn prefetch_analyses(&mut self, effects: &mut Vec<Effect>) {
        if matches!(self.overlay, Some(Overlay::Filter(_))) {
            return;
        }
        // The access audit is computed when its view opens, not ahead; so is the identity
        // inventory while following (about a second of a worker per commit at a million
        // events, which the events view's jobs need more).
        for view in [View::Pivot, View::Timeline, View::Identities] {
            if view != self.view && view == View::Identities && self.phase == LoadPhase::Following {
                continue;
            }
            self.ensure_analysis_of(view, view != self.view, effects);
        }
    }

    pub(super) fn ensure_analysis_of(
        &mut self,
        view: View,
        prefetch: bool,
        effects: &mut Vec<Effect>,
    ) {
        let version = self.events.content;
        if version == 0 {
            return;
        }
        let rows = self.events.rows.clone();
        let frame = || self.store.frame().clone();
        let run = |job: Job| {
            if prefetch {
                Effect::Prefetch(job)
            } else {
                Effect::Run(job)
            }
        };
        match view {
            View::Pivot => {
                let want = (version, self.pivot.rows, self.pivot.cols);
                if self.pivot.shown != Some(want) && self.pivot.requested != Some(want) {
                    self.pivot.requested = Some(want);
                    let cols =
                        (self.pivot.cols != self.pivot.rows).then(|| self.pivot.cols.to_string());
                    effects.push(run(Job::Analysis(AnalysisJob {
                        version,
                        frame: frame(),
                        rows,
                        analysis: Analysis::Pivot(PivotSpec {
                            rows: self.pivot.rows.to_string(),
                            cols,
                            distinct: None,
                            top: PIVOT_TOP,
                        }),
                    })));
                }
            }
            View::Timeline => {
                let zoom = match self.timeline.zoom {
                    Some(z) => z,
                    None => {
                        let (first, last) = (
                            self.events.first.unwrap_or(0),
                            self.events.last.unwrap_or(0),
                        );
                        let bucket =
                            analysis::auto_bucket(first, last, self.timeline_columns() as i64);
                        analysis::BUCKETS
                            .iter()
                            .position(|(b, _)| *b == bucket)
                            .unwrap_or(analysis::BUCKETS.len() - 1)
                    }
                };
                let want = (version, zoom);
                if self.timeline.shown != Some(want) && self.timeline.requested != Some(want) {
                    self.timeline.requested = Some(want);
                    effects.push(run(Job::Analysis(AnalysisJob {
                        version,
                        frame: frame(),
                        rows,
                        analysis: Analysis::Timeline(
                            TimelineSpec {
                                by: self.timeline.lane_column().to_string(),
                                bucket: analysis::BUCKETS.get(zoom).map(|(b, _)| *b),
                                tz: self.settings.tz.clone(),
                                top: TIMELINE_LANES,
                            },
                            Arc::clone(&self.findings.list),
                        ),
                    })));
                }
            }
            View::Identities
                if self.identities.shown != Some(version)
                    && self.identities.requested != Some(version) =>
            {
                self.identities.requested = Some(version);
                effects.push(run(Job::Analysis(AnalysisJob {
                    version,
                    frame: frame(),
                    rows,
                    analysis: Analysis::Identities(
                        IdentitiesSpec {
                            breakglass: match self.identities.spec.breakglass.is_empty() {
                                true => self.settings.config.detect.breakglass_actors.clone(),
                                false => self.identities.spec.breakglass.clone(),
                            },
                            ..self.identities.spec.clone()
                        },
                        self.identity_order(),
                    ),
                })));
            }
            View::Access
                if self.access.shown != Some(version) && self.access.requested != Some(version) =>
            {
                self.access.requested = Some(version);
                effects.push(run(Job::Analysis(AnalysisJob {
                    version,
                    frame: frame(),
                    rows,
                    analysis: Analysis::Access(
                        self.access.spec.clone(),
                        Arc::clone(&self.settings.config),
                        StoreSnapshot(Arc::new(self.store.snapshot())),
                    ),
                })));
            }
            _ => {}
        }
    }

    pub(super) fn open_view(&mut self, view: View, effects: &mut Vec<Effect>) {
        self.view = view;
        if view == View::Findings {
            self.follow.latest = None;
        }
        self.set_pages();
        self.refresh_window();
        self.ensure_analysis(effects);
        self.sync_detail(effects);
    }

    /// Adds `part` to the filter, remembering where to go back to, and shows the events.
    pub(super) fn drill(&mut self, part: String, effects: &mut Vec<Effect>) {
        if part.is_empty() {
            return;
        }
        let combined = filter::drill::and_term(&self.filter.text, &part);
        self.show_events(combined, effects);
    }

    /// Shows the events `filter` selects, remembering the view and filter to go back to.
    pub(super) fn show_events(&mut self, filter: String, effects: &mut Vec<Effect>) {
        self.push_back();
        self.events.cursor.selected = 0;
        self.events.cursor.offset = 0;
        self.set_filter(filter, effects);
        self.open_view(View::Events, effects);
    }

    /// The identities view's order, its column resolved (an unknown one sorts by events).
    pub(super) fn identity_order(&self) -> IdentityOrder {
        let (column, descending) = self.identities.sort;
        let column = IDENTITY_SORTS
            .get(column)
            .copied()
            .unwrap_or(IdentityColumn::Events);
        (column, descending)
    }

    pub(super) fn sort_identities(&mut self) {
        let order = self.identity_order();
        model::sort_identities(&mut self.identities.rows, order);
    }
}

/// Applies an action to the state; returns what to do next.
pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    let mut effects = Vec::new();
    match action {
        Action::Key(key) => {
            if key.kind != KeyEventKind::Release
                && let Some(command) = input::on_key(state, key, &mut effects)
            {
                run_command(state, command, &mut effects);
            }
        }
        Action::Mouse(mouse) => {
            if let Some(command) = input::on_mouse(state, mouse, &mut effects) {
                run_command(state, command, &mut effects);
            }
        }
        Action::Resize(w, h) => {
            state.size = (w, h);
            state.refresh_window();
            state.sync_detail(&mut effects);
        }
        Action::Tick => state.on_tick(&mut effects),
        Action::Do(command) => run_command(state, command, &mut effects),
        Action::Loaded(IngestMsgBox(msg)) => {
            match &msg {
                IngestMsg::ProgressMade(p) => state.progress = *p,
                IngestMsg::BatchLoaded(batch) => state.note_arrivals(batch.frame.height()),
                _ => {}
            }
            if matches!(msg, IngestMsg::LoadFinished) {
                // Not applied: that would commit here, and commits run on a worker.
                state.store.mark_finished();
                state.load_finished(&mut effects);
            } else if let Err(e) = state.store.apply(msg) {
                state.message = Some(escape_control(&e.to_string()).into_owned());
            }
        }
        Action::Computed(done) => on_done(state, done, &mut effects),
        Action::Terminate | Action::TerminalLost => {
            state.quitting = true;
            effects.push(Effect::Quit);
        }
    }
    state.note_view_changes();
    effects
}

fn on_done(state: &mut AppState, done: Done, effects: &mut Vec<Effect>) {
    match done {
        Done::Committed { result, took } => state.committed(result, took, effects),
        Done::ViewComputed(result, version) => {
            if version != state.events.requested {
                return;
            }
            match result {
                Ok(ViewRows {
                    frame_gen,
                    rows,
                    matching,
                    first,
                    last,
                    filter_text,
                    anchored,
                    ..
                }) => {
                    if frame_gen != state.frame_gen {
                        // Asked for before the frame changed, and nothing newer was asked
                        // for (the filter did not compile on the new frame): ask again, or
                        // the view would stay pending and hold back every commit.
                        state.request_view(effects);
                        return;
                    }
                    let key = (frame_gen, filter_text);
                    if state.events.content_key.as_ref() != Some(&key) {
                        if state.events.content_key.as_ref().map(|k| &k.1) != Some(&key.1) {
                            state.events.fitted.clear();
                        }
                        state.events.content += 1;
                        state.events.content_key = Some(key);
                    }
                    state.events.rows = rows;
                    state.refilter_findings();
                    state.events.matching = matching;
                    state.events.first = first;
                    state.events.last = last;
                    state.events.version = version;
                    state.place_cursor(anchored);
                    state.refresh_window();
                    state.finish_restoring();
                    state.ensure_analysis(effects);
                    state.prefetch_analyses(effects);
                    state.sync_detail(effects);
                }
                Err(e) => {
                    state.events.version = version;
                    state.message = Some(escape_control(&e).into_owned());
                }
            }
        }
        Done::AnalysisComputed { version, result } => {
            if version != state.events.content {
                return;
            }
            match result {
                Ok(AnalysisOutput::Pivot(pivot)) => {
                    let Some(rows) = PIVOT_FIELDS.iter().find(|f| **f == pivot.spec.rows) else {
                        return;
                    };
                    let cols = pivot
                        .spec
                        .cols
                        .as_deref()
                        .and_then(|c| PIVOT_FIELDS.iter().find(|f| **f == c))
                        .unwrap_or(rows);
                    state.pivot.shown = Some((version, rows, cols));
                    let view = model::pivot_view(pivot);
                    state.pivot.cursor.clamp(view.row_labels.len());
                    state.pivot.col = state.pivot.col.min(view.col_labels.len());
                    if let Some(old) = state.pivot.result.replace(view) {
                        effects.push(Effect::discard(old));
                    }
                }
                Ok(AnalysisOutput::Timeline(view)) => {
                    let timeline = &view.timeline;
                    // A bucket widened to fit the bucket limit is shown at the zoom level
                    // that holds it, and zooming goes on from there.
                    let zoom = analysis::BUCKETS
                        .iter()
                        .position(|(b, _)| *b >= timeline.bucket)
                        .unwrap_or(analysis::BUCKETS.len() - 1);
                    state.timeline.finest = timeline.widened.as_ref().map(|w| {
                        format!(
                            "finest zoom for this span: {} (at most {} buckets)",
                            analysis::bucket_label(timeline.bucket),
                            w.limit
                        )
                    });
                    if let Some(note) = &state.timeline.finest {
                        state.timeline.zoom = Some(zoom);
                        state.message = Some(note.clone());
                    }
                    state.timeline.shown = Some((version, zoom));
                    state.timeline.cursor.clamp(view.labels.len());
                    let buckets = view.timeline.starts.len();
                    state.timeline.start =
                        match (state.timeline.anchor.take(), view.timeline.starts.first()) {
                            (Some(anchor), Some(&first)) if view.timeline.bucket > 0 => {
                                ((anchor - first).max(0) / view.timeline.bucket) as usize
                            }
                            _ => state.timeline.start,
                        };
                    state.timeline.start = state
                        .timeline
                        .start
                        .min(buckets.saturating_sub(state.timeline_columns()));
                    state.timeline.bucket = match (
                        state.timeline.cursor_at.take(),
                        view.timeline.starts.first(),
                    ) {
                        (Some(at), Some(&first)) if view.timeline.bucket > 0 => {
                            ((at - first).max(0) / view.timeline.bucket) as usize
                        }
                        _ => state.timeline.bucket,
                    };
                    state.timeline.mark = state.timeline.mark.filter(|m| *m < buckets);
                    if let Some(old) = state.timeline.result.replace(view) {
                        effects.push(Effect::discard(old));
                    }
                    state.move_bucket(0);
                }
                Ok(AnalysisOutput::Access(view)) => {
                    state.access.shown = Some(version);
                    state.access.cursor.clamp(view.rows.len());
                    if let Some(old) = state.access.result.replace(view) {
                        effects.push(Effect::discard(old));
                    }
                }
                Ok(AnalysisOutput::Identities(rows, order)) => {
                    state.identities.shown = Some(version);
                    let old = std::mem::replace(&mut state.identities.rows, rows);
                    effects.push(Effect::discard(old));
                    // The order may have changed while the job ran.
                    if order != state.identity_order() {
                        state.sort_identities();
                    }
                    state.identities.cursor.clamp(state.identities.rows.len());
                }
                Err(e) => state.message = Some(escape_control(&e).into_owned()),
            }
        }
        Done::Exported { path, result } => {
            let path = escape_control(&path.display().to_string()).into_owned();
            state.message = Some(match result {
                Ok(stats) => format!(
                    "wrote {path}: {} of {} matching events",
                    stats.written, stats.matching
                ),
                Err(e) => format!("export failed: {}", escape_control(&e)),
            });
        }
        Done::RecordRead { row, epoch, result } => {
            // A record of a row no longer selected, or of a row number that named another
            // event when it was asked for (a page turned, rows re-sorted), is stale.
            let detail = &state.detail;
            if detail.frame_row == Some(row) && detail.rows_epoch == epoch {
                state.detail.origin = model::origin(state.store.frame(), row);
                match result {
                    Ok(record) => state.detail.record = record,
                    Err(e) => state.detail.error = Some(escape_control(&e).into_owned()),
                }
                if state.view == View::Detail {
                    state.research();
                }
            }
        }
        Done::LakePageRead { index, result } => state.lake_page_read(index, result, effects),
        Done::FindingsFound { frame_gen, result } => {
            // One run at a time: this is the run under way (or one from a test).
            state.findings.running = false;
            if !state.of_this_page(frame_gen) {
                // A run over the page shown before: its findings are of other events.
                state.run_detectors_if_due(Instant::now(), effects);
                return;
            }
            match result {
                Ok(run) => {
                    state.announce_findings(&run.list, &run.identities);
                    // Rows re-sorted since the run hold other events: no flags until the next.
                    let valid = state.findings_rows_valid(Some(frame_gen));
                    let flags = if valid { run.flags } else { HashMap::new() };
                    let findings = &mut state.findings;
                    effects.push(Effect::discard((
                        std::mem::replace(&mut findings.rows, run.rows),
                        std::mem::replace(&mut findings.flags, flags),
                        std::mem::replace(&mut findings.list, Arc::new(run.list)),
                    )));
                    effects.push(Effect::discard(std::mem::replace(
                        &mut state.incidents.list,
                        run.incidents,
                    )));
                    state.findings.frame_gen = valid.then_some(frame_gen);
                    state.findings.error = None;
                    state.refilter_findings();
                    // The timeline is marked on a worker: ask for it again with these findings.
                    if state.timeline.result.is_some() {
                        (state.timeline.shown, state.timeline.requested) = (None, None);
                        state.prefetch_analyses(effects);
                    }
                    state.refresh_window();
                    if state.view == View::Detail {
                        state.sync_record(true);
                    }
                }
                Err(e) => state.findings.error = Some(escape_control(&e).into_owned()),
            }
            state.run_detectors_if_due(Instant::now(), effects);
        }
    }
}

fn run_command(state: &mut AppState, command: Command, effects: &mut Vec<Effect>) {
    state.message = None;
    match command {
        Command::ScrollBy(n) => scroll(state, i64::from(n), effects),
        // A pane in the list's place (narrow terminals) pages through its text; ↑/↓ still
        // pick the finding or incident it shows.
        Command::PageBy(n) if state.pane_replaces_list() => {
            let page = i64::from(state.areas().main.height.saturating_sub(2).max(1));
            let pane = if state.view == View::Findings {
                &mut state.findings.pane
            } else {
                &mut state.incidents.pane
            };
            pane.scroll = (pane.scroll as i64 + i64::from(n) * page).clamp(0, 10_000) as usize;
        }
        Command::PageBy(n) => {
            let page = match state.view {
                View::Events => state.events.cursor.page,
                View::Detail => state.detail.page,
                View::Pivot => state.pivot.cursor.page,
                View::Timeline => state.timeline.cursor.page,
                View::Identities => state.identities.cursor.page,
                View::Findings => state.findings.cursor.page,
                View::Access => state.access.cursor.page,
                View::Incidents => state.incidents.cursor.page,
            };
            scroll(state, i64::from(n) * page.max(1) as i64, effects)
        }
        Command::GoTop => scroll(state, i64::MIN / 4, effects),
        Command::GoBottom => scroll(state, i64::MAX / 4, effects),
        Command::MoveColumn(n) => match state.view {
            View::Events => {
                let max = state.events.columns.len().saturating_sub(1) as i64;
                state.events.col_cursor =
                    (state.events.col_cursor as i64 + i64::from(n)).clamp(0, max) as usize;
                state.refresh_window();
            }
            View::Pivot => {
                let cols = state
                    .pivot
                    .result
                    .as_ref()
                    .map_or(0, |p| p.col_labels.len());
                state.pivot.col =
                    (state.pivot.col as i64 + i64::from(n)).clamp(0, cols as i64) as usize;
                let visible = state.pivot_columns();
                if state.pivot.col > 0 {
                    let data = state.pivot.col - 1;
                    if data < state.pivot.col_offset {
                        state.pivot.col_offset = data;
                    } else if data >= state.pivot.col_offset + visible {
                        state.pivot.col_offset = data + 1 - visible;
                    }
                }
            }
            View::Timeline => state.move_bucket(i64::from(n)),
            View::Identities => {
                let max = IDENTITY_COLUMNS.len() as i64 - 1;
                state.identities.col_cursor =
                    (state.identities.col_cursor as i64 + i64::from(n)).clamp(0, max) as usize;
            }
            View::Detail => state.pan_record(n),
            View::Findings | View::Access | View::Incidents => {}
        },
        // Switching views keeps the back stack: Esc after looking at another view of a
        // drill-down still unwinds it.
        Command::OpenView(view) => {
            state.open_view(view, effects);
        }
        Command::CycleView(n) => {
            let current = View::TABS
                .iter()
                .position(|v| *v == state.view)
                .unwrap_or(0) as i64;
            let next = (current + i64::from(n)).rem_euclid(View::TABS.len() as i64) as usize;
            state.open_view(View::TABS[next], effects);
        }
        Command::GoBack => {
            if state.view == View::Detail {
                state.open_view(View::Events, effects);
            } else if state.pop_back(effects) {
            } else if state.view != View::Events {
                state.open_view(View::Events, effects);
            }
        }
        Command::Quit => {
            state.quitting = true;
            effects.push(Effect::Quit);
        }
        Command::OpenFilter => {
            let text = state.filter.text.clone();
            state.overlay = Some(Overlay::Filter(FilterEdit {
                cursor: text.chars().count(),
                original: text.clone(),
                text,
                history_pos: None,
            }));
        }
        Command::TurnLakePage(delta) => state.turn_lake_page(delta, effects),
        Command::ClearFilter => {
            if !state.filter.text.is_empty() {
                state.set_filter(String::new(), effects);
            }
        }
        Command::DrillDown => drill::drill_down(state, effects),
        Command::OwnTimeline => drill::own_timeline(state, effects),
        Command::SortByColumn => match state.view {
            View::Events => {
                let Some(&column) = state.events.columns.get(state.events.col_cursor) else {
                    return;
                };
                state.events.sort = match state.events.sort {
                    Some(Sort {
                        column: c,
                        descending: false,
                    }) if c == column => Some(Sort {
                        column,
                        descending: true,
                    }),
                    Some(Sort {
                        column: c,
                        descending: true,
                    }) if c == column => None,
                    _ => Some(Sort {
                        column,
                        descending: false,
                    }),
                };
                state.request_view(effects);
            }
            View::Identities => {
                let column = state.identities.col_cursor;
                state.identities.sort = match state.identities.sort {
                    (c, descending) if c == column => (column, !descending),
                    // Counts read best largest first, names A to Z.
                    _ => (column, (2..=5).contains(&column)),
                };
                state.sort_identities();
            }
            _ => {}
        },
        Command::ChooseColumns => {
            let cursor = schema::EVENT_COLUMNS
                .iter()
                .position(|c| state.events.columns.get(state.events.col_cursor) == Some(c))
                .unwrap_or(0);
            state.overlay = Some(Overlay::Columns {
                cursor,
                original: state.events.columns.clone(),
            });
        }
        Command::PickRowField | Command::PickColumnField => {
            let rows = command == Command::PickRowField;
            let current = if rows {
                state.pivot.rows
            } else {
                state.pivot.cols
            };
            let cursor = PIVOT_FIELDS.iter().position(|f| *f == current).unwrap_or(0);
            state.overlay = Some(Overlay::PickField { rows, cursor });
        }
        Command::ZoomIn | Command::ZoomOut => {
            // From the zoom shown (chosen to fit until the user zooms).
            let Some(zoom) = state.timeline.zoom.or(state.timeline.shown.map(|s| s.1)) else {
                return;
            };
            if command == Command::ZoomIn
                && let Some(note) = &state.timeline.finest
            {
                state.message = Some(note.clone());
                return;
            }
            let next = if command == Command::ZoomIn {
                zoom.saturating_sub(1)
            } else {
                (zoom + 1).min(analysis::BUCKETS.len() - 1)
            };
            if next != zoom {
                let starts = state.timeline.result.as_ref().map(|t| &t.timeline.starts);
                state.timeline.anchor = starts.and_then(|s| s.get(state.timeline.start).copied());
                state.timeline.cursor_at =
                    starts.and_then(|s| s.get(state.timeline.bucket).copied());
                state.timeline.mark = None;
                state.timeline.zoom = Some(next);
                state.ensure_analysis(effects);
            }
        }
        Command::ToggleLanes => {
            state.timeline.by_identity = !state.timeline.by_identity;
            state.timeline.cursor = Default::default();
            (state.timeline.shown, state.timeline.requested) = (None, None);
            state.message = Some(format!(
                "timeline lanes by {}",
                state.timeline.lane_column()
            ));
            state.ensure_analysis(effects);
        }
        Command::ToggleDetailPane => {
            state.events.show_detail = !state.events.show_detail;
            state.refresh_window();
            state.sync_detail(effects);
        }
        Command::ToggleFindingDetail => investigate::toggle_pane(state),
        Command::SelectEntity(n) => investigate::select_entity(state, n),
        Command::FilterToEntity => investigate::filter_to_entity(state, effects),
        Command::ShowHelp => state.overlay = Some(Overlay::Help { scroll: 0 }),
        Command::SaveView => state.ask_save_name(None),
        Command::ShowViews => state.overlay = Some(Overlay::Views { cursor: 0 }),
        Command::OpenCommandLine => {
            state.overlay = Some(Overlay::Prompt(super::state::Prompt::new(
                super::state::Asking::Command,
                "",
            )))
        }
        Command::ToggleFollow => state.toggle_follow(effects),
        Command::SearchRecord => state.start_record_search(),
        Command::StepMatch(n) => state.step_match(n),
        Command::ToggleWrap => state.toggle_record_wrap(),
        Command::CycleRecordTab(n) => state.cycle_record_tab(n),
        Command::Export => state.ask_export_path(),
        Command::FilterValue { exclude } => values::filter_value(state, exclude, effects),
        Command::CopyValue => values::copy_value(state, effects),
        Command::OnlyValue => values::only_value(state, effects),
        Command::ResizeColumn(delta) => state.resize_column(delta),
        Command::MarkBucket => state.mark_bucket(),
        Command::AskTimeRange => state.ask_time_range(),
        Command::ZoomToSelection => state.zoom_to_selection(effects),
        Command::NextActiveBucket(step) => state.next_active_bucket(step),
        Command::BusiestBucket => state.busiest_bucket(),
        Command::FullWidth => state.toggle_full_width(),
        Command::ToggleFullNames => {
            state.full_values = !state.full_values;
            state.events.fitted.clear();
            state.refresh_window();
            state.message = Some(if state.full_values {
                "principals shown whole (a shortens them)".into()
            } else {
                "principals shortened: Admin/dana for arn:aws:sts::…:assumed-role/Admin/dana (a shows them whole)".into()
            });
        }
    }
}

fn scroll(state: &mut AppState, delta: i64, effects: &mut Vec<Effect>) {
    match state.view {
        View::Events => {
            let before = state.events.cursor;
            state.events.cursor.move_by(delta, state.events.matching);
            state.events_scrolled();
            if state.events.cursor.offset != before.offset {
                state.refresh_window();
            }
            state.sync_detail(effects);
        }
        View::Detail => state.scroll_record(delta),
        View::Pivot => {
            let n = state
                .pivot
                .result
                .as_ref()
                .map_or(0, |p| p.row_labels.len());
            state.pivot.cursor.move_by(delta, n);
        }
        View::Timeline => {
            let n = state.timeline.result.as_ref().map_or(0, |t| t.labels.len());
            state.timeline.cursor.move_by(delta, n);
        }
        View::Identities => {
            let n = state.identities.rows.len();
            state.identities.cursor.move_by(delta, n);
        }
        View::Findings => {
            let n = state.findings.shown.len();
            state.findings.cursor.move_by(delta, n);
            state.findings.pane.entity = 0;
            state.findings.pane.scroll = 0;
        }
        View::Access => {
            let n = state.access.result.as_ref().map_or(0, |a| a.rows.len());
            state.access.cursor.move_by(delta, n);
        }
        View::Incidents => {
            let n = state.incidents.shown.len();
            state.incidents.cursor.move_by(delta, n);
            state.incidents.pane.entity = 0;
            state.incidents.pane.scroll = 0;
        }
    }
}
