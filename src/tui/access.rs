//! The access view's model: the audit's grants as the view draws them (texts escaped, flags
//! as letters), each with the filter its drill-down applies: the grant's own events and the
//! grantee's privileged actions while holding it.

use crate::analysis::filter::quote_value;
use crate::audit::access::{Access, Grant, Status};
use crate::schema::{ACTOR, EVENT_ID, PRIVILEGED};
use crate::text::{escape_control, format_time_utc};

/// Event ids a drill-down filter names at most.
const DRILL_IDS: usize = 20;
/// Actor names a drill-down filter names at most.
const DRILL_ACTORS: usize = 20;

/// The flags as letters, in the order [`AccessRow::flags`] writes them, with their meaning.
pub const FLAG_LEGEND: &str =
    "O overdue  U unused  L used late  P beyond purpose  S self-approved  J no justification";

/// The narrowest view that shows the scheduled end and the justification as columns;
/// narrower views show them for the selected grant on their last line.
pub const WIDE_ACCESS: u16 = 140;

/// The audit as the access view draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessView {
    /// The summary line.
    pub summary: String,
    /// One row per grant, in time order.
    pub rows: Vec<AccessRow>,
}

/// One grant as drawn (escaped).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRow {
    /// When it was granted (µs, formatted when drawn in the display zone).
    pub granted_at: i64,
    /// The grantee.
    pub grantee: String,
    /// The role, and its scope when there is one (`role @ scope`).
    pub role: String,
    /// The provider.
    pub provider: String,
    /// When it was meant to end (from the log, else the configured window; None: standing).
    pub scheduled_end: Option<i64>,
    /// The justification the grant or its request gives.
    pub justification: Option<String>,
    /// The ticket it names.
    pub ticket: Option<String>,
    /// When it ended (None while held).
    pub ended_at: Option<i64>,
    /// Whether it expired without an event.
    pub expired: bool,
    /// Flags as letters (see [`FLAG_LEGEND`]).
    pub flags: String,
    /// Its use: `count (top actions)` or `never used`.
    pub used: String,
    /// The filter of its drill-down.
    pub drill: String,
}

/// The view-model of an audit.
pub fn access_view(access: &Access) -> AccessView {
    AccessView {
        summary: escape_control(&access.summary.line()).into_owned(),
        rows: access.grants.iter().map(access_row).collect(),
    }
}

fn access_row(g: &Grant) -> AccessRow {
    let role = if g.scope.is_empty() {
        g.role.clone()
    } else {
        format!("{} @ {}", g.role, g.scope)
    };
    AccessRow {
        granted_at: g.granted_at,
        grantee: escape_control(&g.grantee).into_owned(),
        role: escape_control(&role).into_owned(),
        provider: escape_control(&g.provider).into_owned(),
        scheduled_end: g.scheduled_end,
        justification: g
            .justification
            .as_deref()
            .map(|j| escape_control(j).into_owned()),
        ticket: g.ticket.as_deref().map(|t| escape_control(t).into_owned()),
        ended_at: g.ended_at,
        expired: g.status == Status::Expired,
        flags: flags(g),
        used: escape_control(&g.use_text()).into_owned(),
        drill: drill(g),
    }
}

impl AccessRow {
    /// Its justification and ticket as one cell: `justification (ticket)`, either alone,
    /// or empty.
    pub fn reason(&self) -> String {
        match (&self.justification, &self.ticket) {
            (Some(j), Some(t)) => format!("{j} ({t})"),
            (Some(j), None) => j.clone(),
            (None, Some(t)) => format!("ticket {t}"),
            (None, None) => String::new(),
        }
    }
}

fn flags(g: &Grant) -> String {
    [
        (g.overdue, 'O'),
        (g.never_used, 'U'),
        (g.used_after_window > 0, 'L'),
        (g.used_outside_purpose > 0, 'P'),
        (g.self_approved, 'S'),
        (g.justification.is_none() && g.ticket.is_none(), 'J'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, c)| *c)
    .collect()
}

/// The grant's own events, and the grantee's privileged actions from the grant to its end
/// (or the end of the logs).
fn drill(g: &Grant) -> String {
    let list = |values: &mut dyn Iterator<Item = &String>| -> String {
        values
            .map(|v| quote_value(v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ids = list(&mut g.event_ids.iter().take(DRILL_IDS));
    let own = format!("{EVENT_ID} in ({ids})");
    if g.acted_as.is_empty() {
        return own;
    }
    let actors = list(&mut g.acted_as.iter().take(DRILL_ACTORS));
    let mut window = format!(
        "{ACTOR} in ({actors}) {PRIVILEGED} after:{}",
        quote_value(&format_time_utc(g.granted_at))
    );
    if let Some(end) = g.ended_at {
        // `before:` is exclusive; the end itself is in the window.
        window.push_str(&format!(
            " before:{}",
            quote_value(&format_time_utc(end + 1))
        ));
    }
    format!("{own} or ({window})")
}
