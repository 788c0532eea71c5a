//! Enter in each view (drill down: the record, a pivot cell, a timeline lane's bucket, an
//! identity, a finding or incident, a grant) and the filters those drill-downs add.

use crate::analysis::filter;
use crate::analysis::{self, Key as QueryKey};
use crate::detectors::Finding;
use crate::schema::{self, ACTOR, EVENT_ID, PROVIDER};

use super::action::Effect;
use super::investigate;
use super::state::{AppState, View};

/// Event ids put in the filter of a finding's events.
const FINDING_IDS: usize = 200;

/// Enter: drills down from the view under the cursor.
pub(super) fn drill_down(state: &mut AppState, effects: &mut Vec<Effect>) {
    match state.view {
        View::Events => {
            if state.selected_row().is_some() {
                state.open_view(View::Detail, effects);
            }
        }
        View::Detail => {}
        View::Pivot => {
            let Some(view) = &state.pivot.result else {
                return;
            };
            let row = state.pivot.cursor.selected;
            if row >= view.row_labels.len() {
                return;
            }
            let col = match (state.pivot.col, &view.pivot.spec.cols) {
                (0, _) | (_, None) => None,
                (c, Some(_)) => Some(c - 1),
            };
            let part = view.pivot.cell_filter(row, col);
            state.drill(part, effects);
        }
        View::Timeline => {
            let Some(view) = &state.timeline.result else {
                return;
            };
            let lane = state.timeline.cursor.selected;
            match view.timeline.lanes.get(lane).map(|l| &l.key) {
                Some(QueryKey::Other) => {
                    let what = state.timeline.lane_column();
                    state.message = Some(format!(
                        "(other) is every {what} not shown; pick a named lane"
                    ));
                }
                Some(key) => {
                    let lane = analysis::key_filter(state.timeline.lane_column(), key);
                    let part = match state.timeline_selection() {
                        Some(range) => format!("{lane} {range}"),
                        None => lane,
                    };
                    state.drill(part, effects);
                }
                None => {}
            }
        }
        View::Identities => {
            let Some(row) = state.identities.rows.get(state.identities.cursor.selected) else {
                return;
            };
            let part = identity_filter(&row.identity.identity);
            state.drill(part, effects);
        }
        View::Findings => {
            let Some(finding) = state.findings.selected() else {
                return;
            };
            let part = finding_filter(finding);
            let rows = finding.rows.clone();
            investigate::drill_to_evidence(state, part, &rows, effects);
        }
        View::Incidents => {
            let Some(incident) = state.incidents.selected() else {
                return;
            };
            let part = investigate::incident_filter(incident);
            let rows = incident.rows();
            investigate::drill_to_evidence(state, part, &rows, effects);
        }
        View::Access => {
            let selected = state.access.cursor.selected;
            let Some(row) = state
                .access
                .result
                .as_ref()
                .and_then(|a| a.rows.get(selected))
            else {
                return;
            };
            let part = row.drill.clone();
            state.drill(part, effects);
        }
    }
}

/// The filter selecting an identity's events.
fn identity_filter(identity: &str) -> String {
    analysis::key_filter(schema::IDENTITY, &QueryKey::Value(identity.to_string()))
}

/// The identities view's `t`: the selected identity's events on the timeline.
pub(super) fn own_timeline(state: &mut AppState, effects: &mut Vec<Effect>) {
    if state.view != View::Identities {
        return;
    }
    let Some(row) = state.identities.rows.get(state.identities.cursor.selected) else {
        return;
    };
    let part = identity_filter(&row.identity.identity);
    state.drill(part, effects);
    state.open_view(View::Timeline, effects);
}

/// The filter selecting the events behind a finding: its event ids (and provider), else its actor.
pub fn finding_filter(finding: &Finding) -> String {
    if finding.event_ids.is_empty() {
        return analysis::key_filter(ACTOR, &QueryKey::Value(finding.actor.clone()));
    }
    let ids: Vec<String> = finding
        .event_ids
        .iter()
        .take(FINDING_IDS)
        .map(|id| filter::quote_value(id))
        .collect();
    let provider = if finding.provider.is_empty() {
        String::new()
    } else {
        format!(
            "{} ",
            analysis::key_filter(PROVIDER, &QueryKey::Value(finding.provider.clone()))
        )
    };
    format!("{provider}{EVENT_ID} in ({})", ids.join(", "))
}
