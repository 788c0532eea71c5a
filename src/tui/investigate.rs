//! Findings and incidents as starting points: their detail pane's commands (show it, pick an
//! entity, narrow the filter to it), and drilling into their events so that the result is
//! never an unexplained empty view: when none of the events is in the current filter, the
//! drill replaces the filter (Esc restores it) and the status bar says so.

use crate::analysis::{self, Key as QueryKey, filter};
use crate::incidents::{Entity, Incident};
use crate::schema::EVENT_ID;

use super::action::Effect;
use super::state::{AppState, View};

/// Event ids a drill-down filter names at most (the filter stays short enough to read).
const DRILL_IDS: usize = 200;

/// The filter selecting the events behind an incident: their event ids.
pub(super) fn incident_filter(incident: &Incident) -> String {
    let ids: Vec<String> = incident
        .evidence
        .iter()
        .filter(|e| !e.event_id.is_empty())
        .take(DRILL_IDS)
        .map(|e| filter::quote_value(&e.event_id))
        .collect();
    if ids.is_empty() {
        return analysis::key_filter(
            crate::schema::IDENTITY,
            &QueryKey::Value(incident.subject.clone()),
        );
    }
    format!("{EVENT_ID} in ({})", ids.join(", "))
}

/// Whether one of `rows` is among the events the filter selects (all without a filter).
fn in_filter(state: &AppState, rows: &[u32]) -> bool {
    match &state.events.rows {
        None => true,
        Some(selected) => {
            let mask = crate::views::row_mask(selected, state.store.frame().height());
            rows.iter()
                .any(|r| mask.get(*r as usize).copied().unwrap_or(false))
        }
    }
}

/// Shows the events `part` selects: narrowed from the current filter when one of `rows` is
/// in it, else with `part` alone (and a message saying why).
pub(super) fn drill_to_evidence(
    state: &mut AppState,
    part: String,
    rows: &[u32],
    effects: &mut Vec<Effect>,
) {
    if in_filter(state, rows) {
        state.drill(part, effects);
        return;
    }
    state.show_events(part, effects);
    state.message =
        Some("its events are outside the filter: the filter was replaced (Esc restores it)".into());
}

/// The entities the detail pane lists: the incident's, or those of the incident a finding
/// belongs to.
pub fn pane_entities(state: &AppState) -> &[Entity] {
    pane_incident(state).map_or(&[], |i| i.entities.as_slice())
}

/// The incident the detail pane is about: the selected one, or the selected finding's.
pub fn pane_incident(state: &AppState) -> Option<&Incident> {
    match state.view {
        View::Incidents => state.incidents.selected(),
        View::Findings => {
            let id = state.findings.selected()?.identity();
            state
                .incidents
                .list
                .iter()
                .find(|i| i.chain.iter().any(|s| s.finding.identity() == id))
        }
        _ => None,
    }
}

impl AppState {
    /// The entity under the open detail pane's cursor.
    pub fn pane_entity(&self) -> Option<&Entity> {
        let pane = match self.view {
            View::Findings => self.findings.pane,
            View::Incidents => self.incidents.pane,
            _ => return None,
        };
        pane.open
            .then(|| pane_entities(self).get(pane.entity))
            .flatten()
    }
}

impl AppState {
    /// Whether the open detail pane takes the list's place (a terminal too narrow for both).
    pub fn pane_replaces_list(&self) -> bool {
        let open = match self.view {
            View::Findings => self.findings.pane.open,
            View::Incidents => self.incidents.pane.open,
            _ => false,
        };
        open && self.size.0 < crate::tui::views::PANE_BESIDE_FROM
    }
}

/// `d`: shows or hides the detail pane.
pub(super) fn toggle_pane(state: &mut AppState) {
    match state.view {
        View::Findings => state.findings.pane.open = !state.findings.pane.open,
        View::Incidents => state.incidents.pane.open = !state.incidents.pane.open,
        _ => {}
    }
}

/// `]` / `[`: the next or previous entity of the pane (it opens the pane).
pub(super) fn select_entity(state: &mut AppState, delta: i32) {
    let n = pane_entities(state).len();
    let pane = match state.view {
        View::Findings => &mut state.findings.pane,
        View::Incidents => &mut state.incidents.pane,
        _ => return,
    };
    pane.open = true;
    let target = (pane.entity as i64 + i64::from(delta)).clamp(0, n.saturating_sub(1) as i64);
    pane.entity = target as usize;
    // The pane scrolls to the entity picked.
    pane.scroll = 0;
}

/// `f`: narrows the filter to the pane's selected entity.
pub(super) fn filter_to_entity(state: &mut AppState, effects: &mut Vec<Effect>) {
    let selected = match state.view {
        View::Findings => state.findings.pane.entity,
        View::Incidents => state.incidents.pane.entity,
        _ => return,
    };
    let Some(entity) = pane_entities(state).get(selected) else {
        state.message = Some("no entity to filter to".into());
        return;
    };
    let part = analysis::key_filter(entity.kind.column(), &QueryKey::Value(entity.value.clone()));
    // The events naming it: narrowed from the filter when one of them is in it.
    let rows: Vec<u32> = pane_incident(state)
        .map(|i| {
            i.evidence
                .iter()
                .filter(|e| e.names(entity))
                .map(|e| e.row)
                .collect()
        })
        .unwrap_or_default();
    drill_to_evidence(state, part, &rows, effects);
}
