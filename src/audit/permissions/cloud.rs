//! What the GCP and Azure rows share: the tally of the calls made under one grant, the
//! verdict over its window (the rules of the AWS judge: use after removal, last use against
//! the tracking period, the grace for new grants, what the logs cannot show), and the
//! selection of one provider's successful events.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use super::{DAY, PermissionRow, PermissionsSpec, Status};
use crate::schema::{ACTOR, ACTOR_ID, Dictionaries, IDENTITY, OUTCOME, PROVIDER, has_category_id};
use crate::text::format_time_utc;
use crate::{Error, Result};

/// The row index column added before filtering (the reader is asked by frame row).
pub(super) const ROW: &str = "__row";
/// Records larger than this are not parsed (an audit entry is a few kilobytes).
const MAX_RECORD: usize = 1 << 20;
/// Records are read this many at a time, so memory stays bounded on large inputs.
pub(super) const READ_CHUNK: usize = 4_096;

/// The day of a time, for reasons.
pub(super) fn day(us: i64) -> String {
    format_time_utc(us).chars().take(10).collect()
}

/// The JSON record at `i` of what the reader gave, if it is one and not too large.
pub(super) fn record_at(records: &[Option<Vec<u8>>], i: usize) -> Option<serde_json::Value> {
    records
        .get(i)?
        .as_ref()
        .filter(|b| b.len() <= MAX_RECORD)
        .and_then(|b| serde_json::from_slice(b).ok())
}

/// The end of the logs and what the analysis was asked.
pub(super) struct Frame<'a> {
    /// What to judge and how.
    pub spec: &'a PermissionsSpec,
    /// The first event (grants older than the logs count from here).
    pub start: i64,
    /// The last event.
    pub end: i64,
}

/// The filter for `provider`'s successful events.
pub(super) fn successful(provider: &str) -> Expr {
    let dict = Dictionaries::shared();
    let ids = |column: &str, wanted: &str| -> Vec<u32> {
        dict.category_values(column)
            .into_iter()
            .filter(|(_, v)| v == wanted)
            .map(|(id, _)| id)
            .collect()
    };
    has_category_id(PROVIDER, ids(PROVIDER, provider))
        .and(has_category_id(OUTCOME, ids(OUTCOME, "success")))
}

/// The category ids of `column` whose value `accept`s.
pub(super) fn category_ids(column: &str, accept: &dyn Fn(&str) -> bool) -> Vec<u32> {
    Dictionaries::shared()
        .category_values(column)
        .into_iter()
        .filter(|(_, v)| accept(v))
        .map(|(id, _)| id)
        .collect()
}

/// `events` filtered by `filter`, with the frame row in [`ROW`], the given columns kept.
pub(super) fn select(events: &DataFrame, filter: Expr, columns: &[&str]) -> Result<DataFrame> {
    let mut keep = vec![col(ROW)];
    keep.extend(columns.iter().map(|c| col(*c)));
    events
        .clone()
        .lazy()
        .with_row_index(ROW, None)
        .filter(filter)
        .select(keep)
        .collect()
        .map_err(Error::polars("selecting the cloud permission events"))
}

/// The `identity` of each principal's calls, keyed by the lowercase actor name and object
/// id (`actor_id`) of `provider`'s events: how a grant's principal is shown.
pub(super) fn identities_of(events: &DataFrame, provider: &str) -> Result<HashMap<String, String>> {
    let df = select(events, successful(provider), &[ACTOR, ACTOR_ID, IDENTITY])?;
    let actors = crate::detectors::event::strings(&df, ACTOR)?;
    let actor_ids = crate::detectors::event::strings(&df, ACTOR_ID)?;
    let identities = crate::detectors::event::strings(&df, IDENTITY)?;
    let mut out = HashMap::new();
    for ((actor, actor_id), identity) in actors.iter().zip(&actor_ids).zip(&identities) {
        if identity.is_empty() {
            continue;
        }
        for key in [actor, actor_id].into_iter().filter(|k| !k.is_empty()) {
            out.entry(key.to_ascii_lowercase())
                .or_insert_with(|| identity.clone());
        }
    }
    Ok(out)
}

/// The calls made under one grant of one permission (or action pattern).
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Calls while granted, by what was done (permission or operation).
    counts: BTreeMap<String, u64>,
    uses: u64,
    first: Option<i64>,
    last: Option<i64>,
    /// Calls after the grant was removed that no other grant covers.
    after: Vec<(String, i64)>,
}

impl Tally {
    /// A call while granted.
    pub fn used(&mut self, what: &str, time: i64) {
        *self.counts.entry(what.to_string()).or_default() += 1;
        self.uses += 1;
        self.first = Some(self.first.map_or(time, |f| f.min(time)));
        self.last = Some(self.last.map_or(time, |l| l.max(time)));
    }

    /// A call after the grant was removed, no other grant covering it.
    pub fn used_after(&mut self, what: &str, time: i64) {
        self.after.push((what.to_string(), time));
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.uses == 0 && self.after.is_empty()
    }

    /// Writes the counts into `row` and judges it; `blind` says why the logs cannot show the
    /// use of what the row grants (data-plane actions, Data Access logs absent), if so.
    pub fn judge(mut self, row: &mut PermissionRow, frame: &Frame<'_>, blind: Option<&str>) {
        row.uses = self.uses;
        row.first_use = self.first;
        row.last_use = self.last;
        row.actions_used = self.counts.len() as u64;
        let mut top: Vec<(String, u64)> = self.counts.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(5);
        row.top_actions = top;
        self.after.sort_by_key(|a| a.1);
        row.used_after_removal = self.after.len() as u64;
        let (status, reason) = verdict(row, self.after.first(), frame, blind);
        row.status = status;
        row.reason = reason;
    }
}

fn verdict(
    row: &PermissionRow,
    after: Option<&(String, i64)>,
    frame: &Frame<'_>,
    blind: Option<&str>,
) -> (Status, String) {
    let tracking_days = i64::from(frame.spec.tracking_days);
    let tracking_from = frame.end - tracking_days * DAY;
    let conditional = if row.conditional {
        " (conditional: its condition is treated as granting)"
    } else {
        ""
    };
    if let (Some((what, t)), Some(removed)) = (after, row.removed_at) {
        let n = row.used_after_removal;
        return (
            Status::NoLongerGranted,
            format!(
                "{what} used on {} after the grant was removed on {} ({n} call{} after removal; \
                 no other grant in the logs covers {})",
                day(*t),
                day(removed),
                if n == 1 { "" } else { "s" },
                if n == 1 { "it" } else { "them" },
            ),
        );
    }
    if let Some(last) = row.last_use {
        return if last >= tracking_from || row.removed_at.is_some() {
            (
                Status::Used,
                format!(
                    "used {} times, last on {}{conditional}",
                    row.uses,
                    day(last)
                ),
            )
        } else {
            (
                Status::Unused,
                format!(
                    "last used on {}, before the {tracking_days}-day tracking period{conditional}",
                    day(last)
                ),
            )
        };
    }
    // What the logs cannot show is not judged unused, removed or not.
    if let Some(blind) = blind {
        return (Status::CannotTell, blind.to_string());
    }
    let granted = row.granted_at.unwrap_or(frame.start);
    let grace = i64::from(frame.spec.grace_days) * DAY;
    if let Some(removed) = row.removed_at {
        return (
            Status::Unused,
            format!("not used while granted (removed on {})", day(removed)),
        );
    }
    if frame.end - granted < grace {
        return (
            Status::CannotTell,
            format!(
                "granted on {}, {} days before the end of the logs: within the {}-day grace for \
                 new permissions",
                day(granted),
                (frame.end - granted) / DAY,
                frame.spec.grace_days
            ),
        );
    }
    let covered = (frame.end - frame.start) / DAY;
    let mut reason = format!("not used since {}", day(granted.max(tracking_from)));
    if covered < tracking_days {
        reason.push_str(&format!(
            " (the logs cover {covered} days of the {tracking_days}-day tracking period)"
        ));
    }
    reason.push_str(conditional);
    (Status::Unused, reason)
}

/// When a grant was held, and the events that opened and closed it.
#[derive(Debug, Clone, Default)]
pub(super) struct Window {
    /// None: held before the logs (closed in them).
    pub from: Option<i64>,
    /// None: held at the end of the logs.
    pub until: Option<i64>,
    /// The event that granted it (None: older than the logs).
    pub granted_by: Option<String>,
    /// The event that removed it.
    pub removed_by: Option<String>,
}

impl Window {
    /// Whether the grant was held at `t`.
    pub fn holds_at(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f) && self.until.is_none_or(|u| t < u)
    }

    /// Whether `t` is after the grant was removed.
    pub fn removed_before(&self, t: i64) -> bool {
        self.until.is_some_and(|u| t >= u)
    }

    /// `row` with this window's times and events.
    pub fn stamp(&self, row: PermissionRow) -> PermissionRow {
        PermissionRow {
            granted_at: self.from,
            removed_at: self.until,
            granted_by_events: self.granted_by.iter().cloned().collect(),
            removed_by_event: self.removed_by.clone(),
            ..row
        }
    }
}

/// A grant with its window.
pub(super) trait Windowed {
    /// Its window, to set.
    fn window_mut(&mut self) -> &mut Window;
}

/// Grants opened and closed by events in time order, keyed by what they grant to whom
/// where: a grant repeated while held keeps its first event; a removal with no grant before
/// it closes a grant older than the logs.
pub(super) struct Ledger<K, T> {
    open: HashMap<K, T>,
    closed: Vec<T>,
}

impl<K: std::hash::Hash + Eq, T: Windowed> Ledger<K, T> {
    /// An empty ledger.
    pub fn new() -> Self {
        Ledger {
            open: HashMap::new(),
            closed: Vec::new(),
        }
    }

    /// `grant` (its window not yet set) given at `time` by `event`.
    pub fn grant(&mut self, key: K, mut grant: T, time: i64, event: String) {
        self.open.entry(key).or_insert_with(|| {
            *grant.window_mut() = Window {
                from: Some(time),
                granted_by: Some(event),
                ..Window::default()
            };
            grant
        });
    }

    /// `grant` (its window not yet set) removed at `time` by `event`.
    pub fn revoke(&mut self, key: K, grant: T, time: i64, event: String) {
        let mut held = self.open.remove(&key).unwrap_or(grant);
        let window = held.window_mut();
        window.until = Some(time);
        window.removed_by = Some(event);
        self.closed.push(held);
    }

    /// Every grant, closed or held at the end.
    pub fn into_grants(self) -> Vec<T> {
        let mut out = self.closed;
        out.extend(self.open.into_values());
        out
    }
}
