//! The identity inventory, the access audit and the access review as grids: the columns `trailscope access` writes
//! as CSV and Markdown, which reports and saved views show too.

use crate::audit::access::{Access, Grant, Holding};
use crate::audit::identities::{IdentityColumn, IdentityRow, Inventory};
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

/// The cell of a table column.
fn cell(row: &IdentityRow, column: IdentityColumn) -> Cell {
    let time = |t: Option<i64>| t.map_or(Cell::Null, Cell::Time);
    match column {
        IdentityColumn::Identity => Cell::Text(row.identity.clone()),
        IdentityColumn::Kind => Cell::Text(row.kind.as_str().to_string()),
        IdentityColumn::Providers => Cell::Text(row.providers.join(",")),
        IdentityColumn::Events => Cell::UInt(row.events),
        IdentityColumn::ActiveDays => Cell::UInt(row.active_days),
        IdentityColumn::Privileged => Cell::UInt(row.privileged),
        IdentityColumn::Failures => Cell::UInt(row.failures),
        IdentityColumn::Mfa => Cell::Text(row.mfa_text()),
        IdentityColumn::Networks => Cell::UInt(row.networks),
        IdentityColumn::FirstSeen => time(row.first_seen),
        IdentityColumn::LastSeen => time(row.last_seen),
        IdentityColumn::Flags => Cell::Text(row.flag_names()),
    }
}

/// The identity inventory's table columns (what `trailscope identities` prints).
pub fn inventory_table(inventory: &Inventory) -> Grid {
    Grid {
        headers: IdentityColumn::ALL
            .iter()
            .map(|c| c.name().to_string())
            .collect(),
        rows: inventory
            .rows
            .iter()
            .map(|r| IdentityColumn::ALL.iter().map(|c| cell(r, *c)).collect())
            .collect(),
    }
}

/// The identity inventory with its detail: the table's columns, then what a spreadsheet
/// wants (lists joined with `; `); the CSV of `trailscope identities` and of reports.
pub fn inventory_grid(inventory: &Inventory) -> Grid {
    let mut grid = inventory_table(inventory);
    let end = inventory.end.unwrap_or(0);
    grid.headers.extend(
        [
            "kind_why",
            "accounts",
            "countries",
            "user_agents",
            "top_user_agent",
            "last_privileged_action",
            "last_privileged_at",
            "created",
            "created_by",
            "owner",
            "owner_gone",
            "credentials",
            "held_at_end",
            "flag_reasons",
        ]
        .map(String::from),
    );
    for (cells, row) in grid.rows.iter_mut().zip(&inventory.rows) {
        let created = row
            .lifecycle
            .iter()
            .find(|e| e.kind == crate::audit::identities::LifecycleKind::Created);
        let credentials: Vec<String> = row
            .credentials
            .iter()
            .map(|c| {
                let id = c.id.as_deref().unwrap_or("?");
                let age = c
                    .age_days(end)
                    .map_or(String::new(), |d| format!(", {d} days"));
                let state = if c.active() { "active" } else { "deleted" };
                format!("{} {id} ({state}{age})", c.kind)
            })
            .collect();
        let held: Vec<&str> = row.held().map(|h| h.what.as_str()).collect();
        let reasons: Vec<String> = row
            .flags
            .iter()
            .map(|f| format!("{}: {}", f.kind.as_str(), f.reason))
            .collect();
        let text = |s: String| Cell::Text(s);
        cells.extend([
            text(row.kind_why.clone()),
            text(row.accounts.join("; ")),
            text(row.countries.join("; ")),
            Cell::UInt(row.user_agents),
            text(row.top_user_agent.clone()),
            text(
                row.last_privileged
                    .as_ref()
                    .map(|(_, a)| a.clone())
                    .unwrap_or_default(),
            ),
            row.last_privileged
                .as_ref()
                .map_or(Cell::Null, |(t, _)| Cell::Time(*t)),
            created.map_or(Cell::Null, |e| Cell::Time(e.time)),
            text(created.map(|e| e.by.clone()).unwrap_or_default()),
            text(
                row.owner
                    .as_ref()
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
            ),
            row.owner
                .as_ref()
                .and_then(|o| o.gone)
                .map_or(Cell::Null, |(t, _)| Cell::Time(t)),
            text(credentials.join("; ")),
            text(held.join("; ")),
            text(reasons.join("; ")),
        ]);
    }
    grid
}
