//! Where the user was: every view's cursor, scroll, zoom and pan, saved with the filter when
//! a drill-down or a narrowing changes it, and put back by Esc (a stack of states), so going
//! back lands on the same row, cell, lane and bucket.

use super::action::Effect;
use super::jobs::Anchor;
use super::state::{AppState, Back, Places};

impl AppState {
    /// Every view's place now.
    pub fn places(&self) -> Places {
        let event = self.selected_row().and_then(|row| {
            let anchor = Anchor::record(self.store.frame(), row)?;
            let line = self.events.cursor.selected - self.events.cursor.offset;
            Some((anchor, line))
        });
        let t = &self.timeline;
        Places {
            event,
            event_columns: (self.events.col_cursor, self.events.col_offset),
            pivot: (self.pivot.cursor, self.pivot.col, self.pivot.col_offset),
            timeline: (t.cursor, t.start, t.zoom, t.bucket, t.mark),
            identities: self.identities.cursor,
            findings: self.findings.cursor,
            access: self.access.cursor,
            incidents: self.incidents.cursor,
        }
    }

    /// Remembers the view, the filter and every place, before the filter changes.
    pub(super) fn push_back(&mut self) {
        self.back.push(Back {
            view: self.view,
            filter: self.filter.text.clone(),
            places: self.places(),
            range: self.range.clone(),
        });
    }

    /// Keeps the selected event selected (on its line) in the view the next filter makes.
    pub(super) fn keep_selected_event(&mut self) {
        if let Some((anchor, line)) = self.places().event {
            self.events.anchor = Some(anchor);
            self.events.restore_line = Some(line);
        }
    }

    /// Esc after a drill-down: the filter, the view and every place as they were.
    pub(super) fn pop_back(&mut self, effects: &mut Vec<Effect>) -> bool {
        let Some(back) = self.back.pop() else {
            return false;
        };
        self.restore_places(&back.places);
        self.events.anchor = back.places.event.as_ref().map(|(a, _)| a.clone());
        self.events.restore_line = back.places.event.as_ref().map(|(_, line)| *line);
        self.restoring = Some(back.places);
        self.range = back.range;
        self.set_filter(back.filter, effects);
        self.open_view(back.view, effects);
        true
    }

    /// Puts the views' places back (again when the events of the filter arrive: results of
    /// the filter left behind may have clamped them in between).
    pub(super) fn restore_places(&mut self, places: &Places) {
        (self.events.col_cursor, self.events.col_offset) = places.event_columns;
        (self.pivot.cursor, self.pivot.col, self.pivot.col_offset) = places.pivot;
        let t = &mut self.timeline;
        let zoom_changed = t.zoom != places.timeline.2;
        (t.cursor, t.start, t.zoom, t.bucket, t.mark) = places.timeline;
        if zoom_changed {
            t.shown = None;
        }
        self.identities.cursor = places.identities;
        self.findings.cursor = places.findings;
        self.access.cursor = places.access;
        self.incidents.cursor = places.incidents;
    }

    /// The places being restored, once the events of the restored filter arrived.
    pub(super) fn finish_restoring(&mut self) {
        // The results of the restored filter clamp them when they arrive.
        if let Some(places) = self.restoring.take() {
            self.restore_places(&places);
        }
    }
}
