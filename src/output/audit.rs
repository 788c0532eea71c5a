//! The access audit and the access review as grids: the columns `trailscope access` writes
//! as CSV and Markdown, which reports and saved views show too.

use crate::audit::access::{Access, Grant, Holding};
use crate::text::format_time_utc;

use super::{Cell, Grid};

/// Columns of the audit's CSV (and Markdown), in order.
pub const GRANT_COLUMNS: [&str; 27] = [
    "grantee",
    "grantee_type",
    "role",
    "scope",
    "provider",
    "action",
    "lifetime",
    "privileged",
    "granted_by",
    "approver",
    "justification",
    "ticket",
    "granted_at",
    "scheduled_end",
    "ended_at",
    "ended_by",
    "status",
    "duration_seconds",
    "overdue",
    "used",
    "privileged_actions_in_window",
    "top_actions",
    "last_used",
    "used_after_window",
    "used_outside_purpose",
    "self_approved",
    "event_ids",
];

fn text(v: &Option<String>) -> Cell {
    v.as_ref().map_or(Cell::Null, |s| Cell::Text(s.clone()))
}

fn time(v: Option<i64>) -> Cell {
    v.map_or(Cell::Null, Cell::Time)
}

/// One grant as the cells of [`GRANT_COLUMNS`].
pub fn grant_cells(g: &Grant) -> Vec<Cell> {
    let top: Vec<String> = g
        .top_actions
        .iter()
        .map(|a| format!("{} {}", a.action, a.count))
        .collect();
    vec![
        Cell::Text(g.grantee.clone()),
        Cell::Text(g.grantee_type.to_string()),
        Cell::Text(g.role.clone()),
        Cell::Text(g.scope.clone()),
        Cell::Text(g.provider.clone()),
        Cell::Text(g.action.clone()),
        Cell::Text(g.lifetime.as_str().to_string()),
        Cell::Bool(g.privileged),
        Cell::Text(g.granted_by.clone()),
        text(&g.approver),
        text(&g.justification),
        text(&g.ticket),
        Cell::Time(g.granted_at),
        time(g.scheduled_end),
        time(g.ended_at),
        text(&g.ended_by),
        Cell::Text(g.status.as_str().to_string()),
        Cell::Int(g.duration_seconds),
        Cell::Bool(g.overdue),
        Cell::Bool(g.used),
        Cell::UInt(g.privileged_actions_in_window),
        Cell::Text(top.join("; ")),
        time(g.last_used),
        Cell::UInt(g.used_after_window),
        Cell::UInt(g.used_outside_purpose),
        Cell::Bool(g.self_approved),
        Cell::Text(g.event_ids.join(" ")),
    ]
}

/// The access audit as a grid of [`GRANT_COLUMNS`].
pub fn access_grid(access: &Access) -> Grid {
    Grid {
        headers: GRANT_COLUMNS.map(String::from).to_vec(),
        rows: access.grants.iter().map(grant_cells).collect(),
    }
}

/// Columns of the review CSV: those of Entra's downloadable access-review history, then
/// what the logs add, then the reviewer's note.
pub const REVIEW_COLUMNS: [&str; 17] = [
    "principal",
    "type",
    "resource",
    "scope",
    "provider",
    "decision",
    "justification",
    "reviewer",
    "applied_by",
    "applied_date",
    "recommendation",
    "since",
    "granted_by",
    "last_used",
    "grant_justification",
    "event_ids",
    "reviewer_note",
];

/// The access review as a grid of [`REVIEW_COLUMNS`] (times RFC 3339 UTC, as importers
/// read them; `decision` and the reviewer's fields empty).
pub fn review_grid(holdings: &[Holding]) -> Grid {
    let empty = || Cell::Text(String::new());
    // RFC 3339 UTC, as importers read times, whatever the display zone.
    let utc = |t: i64| Cell::Text(format_time_utc(t));
    Grid {
        headers: REVIEW_COLUMNS.map(String::from).to_vec(),
        rows: holdings
            .iter()
            .map(|h| {
                vec![
                    Cell::Text(h.principal.clone()),
                    Cell::Text(h.principal_type.clone()),
                    Cell::Text(h.role.clone()),
                    Cell::Text(h.scope.clone()),
                    Cell::Text(h.provider.clone()),
                    empty(),
                    empty(),
                    empty(),
                    empty(),
                    empty(),
                    Cell::Text(h.recommendation.clone()),
                    utc(h.since),
                    Cell::Text(h.granted_by.clone()),
                    h.last_used.map_or(Cell::Null, utc),
                    text(&h.justification),
                    Cell::Text(h.event_ids.join(" ")),
                    empty(),
                ]
            })
            .collect(),
    }
}

