//! Judging each permission: the calls each grant window covered, the calls after a removal
//! that no other grant covers, calls no grant in the logs covers, and why a permission
//! cannot be told (grace periods, data events, unknown policies, unmapped calls).

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{Catalog, Mapping};
use super::grants::{Created, Granted};
use super::policy::{Allow, expand};
use super::usage::Use;
use super::{DAY, PermissionRow, PermissionsSpec, Status};
use crate::text::format_time_utc;

pub(super) struct Judge<'a> {
    pub catalog: &'a Catalog,
    pub spec: &'a PermissionsSpec,
    /// First and last event of the logs (µs).
    pub start: i64,
    pub end: i64,
    pub created: &'a Created,
}

fn day(us: i64) -> String {
    format_time_utc(us).chars().take(10).collect()
}

fn within(t: i64, from: i64, until: Option<i64>) -> bool {
    t >= from && until.is_none_or(|u| t < u)
}

/// A statement's patterns, one group per service namespace (a `NotAction` statement, or
/// patterns with a wildcard namespace, stay whole).
fn split_by_service(allow: &Allow, written: &[String]) -> Vec<(Allow, Vec<String>)> {
    if allow.not {
        return vec![(allow.clone(), written.to_vec())];
    }
    let mut groups: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (pattern, w) in allow.patterns.iter().zip(written) {
        let ns = match pattern.split_once(':') {
            Some((ns, _)) if !ns.contains(['*', '?']) => ns.to_string(),
            _ => "*".to_string(),
        };
        let group = groups.entry(ns).or_default();
        group.0.push(pattern.clone());
        group.1.push(w.clone());
    }
    groups
        .into_values()
        .map(|(patterns, w)| {
            (
                Allow {
                    patterns,
                    not: false,
                    conditional: allow.conditional,
                },
                w,
            )
        })
        .collect()
}

/// The calls a statement covered while granted, and those after its removal that no other
/// grant covers.
struct Tally<'u> {
    counts: BTreeMap<&'u str, u64>,
    uses: u64,
    first: Option<i64>,
    last: Option<i64>,
    after: Vec<(&'u str, i64)>,
}

impl Tally<'_> {
    fn fill(&self, row: &mut PermissionRow) {
        row.uses = self.uses;
        row.first_use = self.first;
        row.last_use = self.last;
        row.actions_used = self.counts.len() as u64;
        let mut top: Vec<(String, u64)> = self
            .counts
            .iter()
            .map(|(a, n)| (a.to_string(), *n))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(5);
        row.top_actions = top;
        row.used_after_removal = self.after.len() as u64;
    }
}

fn tally<'u>(
    allow: &Allow,
    grant: &Granted,
    mapped: &[(&'u str, &Use)],
    covered_at: &dyn Fn(&str, i64) -> bool,
) -> Tally<'u> {
    let mut t = Tally {
        counts: BTreeMap::new(),
        uses: 0,
        first: None,
        last: None,
        after: Vec::new(),
    };
    for &(action, u) in mapped {
        if !allow.allows(action) || grant.policy.denied(action) {
            continue;
        }
        for &time in &u.times {
            if within(time, grant.from, grant.until) {
                *t.counts.entry(action).or_default() += 1;
                t.uses += 1;
                t.first = Some(t.first.map_or(time, |f| f.min(time)));
                t.last = Some(t.last.map_or(time, |l| l.max(time)));
            } else if grant.until.is_some_and(|until| time >= until) && !covered_at(action, time) {
                t.after.push((action, time));
            }
        }
    }
    t.after.sort_by_key(|&(_, time)| time);
    t
}

/// A statement of a grant window.
struct Statement<'g> {
    grant: &'g Granted,
    allow: &'g Allow,
    written: &'g [String],
}

impl Statement<'_> {
    fn allows(&self, action: &str) -> bool {
        self.allow.allows(action) && !self.grant.policy.denied(action)
    }
}

impl Judge<'_> {
    /// Every row: the permissions of principals with grants in the logs, their calls no
    /// grant covers and their calls that cannot be mapped.
    pub fn rows(&self, granted: &[Granted], uses: &[Use]) -> Vec<PermissionRow> {
        let mut by_principal: BTreeMap<&str, (Vec<&Granted>, Vec<&Use>)> = BTreeMap::new();
        for g in granted {
            by_principal.entry(&g.principal).or_default().0.push(g);
        }
        for u in uses {
            if let Some(entry) = by_principal.get_mut(u.principal.as_str()) {
                entry.1.push(u);
            }
        }
        let mut rows = Vec::new();
        for (principal, (grants, uses)) in by_principal {
            self.principal_rows(principal, &grants, &uses, &mut rows);
        }
        rows.sort_by(|a, b| {
            (&a.identity, a.status, &a.permission, &a.via, a.granted_at).cmp(&(
                &b.identity,
                b.status,
                &b.permission,
                &b.via,
                b.granted_at,
            ))
        });
        rows
    }

    fn principal_rows(
        &self,
        principal: &str,
        grants: &[&Granted],
        uses: &[&Use],
        rows: &mut Vec<PermissionRow>,
    ) {
        let is_role = principal.contains(":role/");
        // A user is named by the identity of its own calls; a role is its own identity.
        let identity = if is_role {
            principal.to_string()
        } else {
            uses.iter()
                .map(|u| u.identity.clone())
                .next()
                .unwrap_or_else(|| principal.to_string())
        };
        let sessions: Vec<String> = if is_role {
            let set: BTreeSet<&str> = uses.iter().map(|u| u.identity.as_str()).collect();
            set.into_iter().map(str::to_string).collect()
        } else {
            Vec::new()
        };
        let statements: Vec<Statement> = grants
            .iter()
            .flat_map(|g| {
                g.policy
                    .allows
                    .iter()
                    .map(move |(allow, written)| Statement {
                        grant: g,
                        allow,
                        written,
                    })
            })
            .collect();
        // Mapped calls: (action name, time, use index).
        let mapped: Vec<(&str, &Use)> = uses
            .iter()
            .filter_map(|u| match u.mapping {
                Mapping::Action(i) => self.catalog.actions.get(i).map(|a| (a.name.as_str(), *u)),
                _ => None,
            })
            .collect();
        let covered_at = |action: &str, t: i64| {
            statements
                .iter()
                .any(|s| within(t, s.grant.from, s.grant.until) && s.allows(action))
        };
        let blank = PermissionRow {
            sessions: sessions.clone(),
            ..PermissionRow::blank(identity.clone(), principal.to_string(), "aws")
        };
        let grant_row = |g: &Granted| PermissionRow {
            via: g.via.clone(),
            granted_at: Some(g.from),
            removed_at: g.until,
            granted_by_events: g.event_ids.clone(),
            removed_by_event: g.removed_by.clone(),
            ..blank.clone()
        };
        for g in grants {
            if let Some(why) = &g.policy.cannot_tell {
                rows.push(PermissionRow {
                    permission: "(whole policy)".into(),
                    reason: format!("cannot tell what it grants: {why}"),
                    ..grant_row(g)
                });
            }
        }
        for s in &statements {
            // One row per service the statement names and uses; the services it names but
            // never used share one row (Access Analyzer's unused services).
            let mut idle: Vec<(Allow, Vec<String>, Vec<usize>)> = Vec::new();
            for (allow, written) in split_by_service(s.allow, s.written) {
                let actions = expand(self.catalog, &allow, &s.grant.policy);
                let tally = tally(&allow, s.grant, &mapped, &covered_at);
                if tally.uses == 0 && tally.after.is_empty() {
                    idle.push((allow, written, actions));
                    continue;
                }
                let mut row = PermissionRow {
                    permission: allow.text(&written),
                    conditional: allow.conditional,
                    actions_granted: actions.len() as u64,
                    ..grant_row(s.grant)
                };
                tally.fill(&mut row);
                self.judge(&mut row, &actions, &tally.after);
                rows.push(row);
            }
            if !idle.is_empty() {
                let mut written = Vec::new();
                let mut actions = Vec::new();
                let mut patterns = Vec::new();
                for (allow, w, a) in idle {
                    patterns.extend(allow.patterns);
                    written.extend(w);
                    actions.extend(a);
                }
                actions.sort_unstable();
                actions.dedup();
                let allow = Allow {
                    patterns,
                    not: s.allow.not,
                    conditional: s.allow.conditional,
                };
                let mut row = PermissionRow {
                    permission: allow.text(&written),
                    conditional: allow.conditional,
                    actions_granted: actions.len() as u64,
                    ..grant_row(s.grant)
                };
                self.judge(&mut row, &actions, &[]);
                rows.push(row);
            }
        }
        // Calls no grant in the logs covers, and calls that cannot be mapped.
        let mut uncovered: BTreeMap<String, PermissionRow> = BTreeMap::new();
        for u in uses {
            let (permission, status, reason, times): (String, Status, String, Vec<i64>) = match &u
                .mapping
            {
                Mapping::Action(i) => {
                    let Some(action) = self.catalog.actions.get(*i) else {
                        continue;
                    };
                    // Calls after a removal are reported on the removed grant's row.
                    let removed_covers = |t: i64| {
                        statements.iter().any(|s| {
                            s.grant.until.is_some_and(|until| t >= until) && s.allows(&action.name)
                        })
                    };
                    let times: Vec<i64> = u
                        .times
                        .iter()
                        .copied()
                        .filter(|&t| !covered_at(&action.name, t) && !removed_covers(t))
                        .collect();
                    (
                        action.name.clone(),
                        Status::Used,
                        "no grant in the logs covers it (granted before them, or by a \
                             policy, permission boundary or role trust they do not show)"
                            .into(),
                        times,
                    )
                }
                Mapping::UnknownSource => (
                    format!("{}:{}", u.service, u.action),
                    Status::CannotTell,
                    format!(
                        "the event source {}.amazonaws.com is not in the CloudTrail-to-IAM mapping",
                        u.service
                    ),
                    u.times.clone(),
                ),
                Mapping::NotInSar(ns) => (
                    format!("{}:{}", u.service, u.action),
                    Status::CannotTell,
                    format!(
                        "the Service Authorization Reference has no action {ns}:{} (the call \
                             is authorized under another name)",
                        u.action
                    ),
                    u.times.clone(),
                ),
                Mapping::Unpermissioned => continue,
            };
            if times.is_empty() {
                continue;
            }
            let row = uncovered
                .entry(permission.clone())
                .or_insert_with(|| PermissionRow {
                    permission,
                    status,
                    reason,
                    ..blank.clone()
                });
            row.uses += times.len() as u64;
            let (first, last) = (times.iter().min().copied(), times.iter().max().copied());
            row.first_use = row.first_use.min(first).or(first);
            row.last_use = row.last_use.max(last);
        }
        rows.extend(uncovered.into_values());
    }

    /// The status and reason of a grant's statement.
    fn judge(&self, row: &mut PermissionRow, actions: &[usize], after: &[(&str, i64)]) {
        let tracking_days = i64::from(self.spec.tracking_days);
        let tracking_from = self.end - tracking_days * DAY;
        let conditional = if row.conditional {
            " (conditional: its condition is treated as granting)"
        } else {
            ""
        };
        if let (Some(&(action, t)), Some(removed)) = (after.first(), row.removed_at) {
            row.status = Status::NoLongerGranted;
            row.reason = format!(
                "{action} used on {} after the grant was removed on {} ({} call{} after removal; \
                 no other grant in the logs covers {})",
                day(t),
                day(removed),
                after.len(),
                if after.len() == 1 { "" } else { "s" },
                if after.len() == 1 { "it" } else { "them" },
            );
            return;
        }
        if let Some(last) = row.last_use {
            if last >= tracking_from || row.removed_at.is_some() {
                row.status = Status::Used;
                row.reason = format!(
                    "{} of {} actions used, last on {}{conditional}",
                    row.actions_used,
                    row.actions_granted,
                    day(last)
                );
            } else {
                row.status = Status::Unused;
                row.reason = format!(
                    "last used on {}, before the {tracking_days}-day tracking period{conditional}",
                    day(last)
                );
            }
            return;
        }
        let granted = row.granted_at.unwrap_or(self.start);
        let grace = i64::from(self.spec.grace_days) * DAY;
        let new_identity = i64::from(self.spec.new_identity_days) * DAY;
        let data = actions
            .iter()
            .filter(|&&i| self.catalog.actions.get(i).is_some_and(|a| a.data_event))
            .count();
        let (status, reason) = if let Some(removed) = row.removed_at {
            (
                Status::Unused,
                format!("not used while granted (removed on {})", day(removed)),
            )
        } else if self.end - granted < grace {
            (
                Status::CannotTell,
                format!(
                    "granted on {}, {} days before the end of the logs: within the {}-day grace \
                     for new permissions",
                    day(granted),
                    (self.end - granted) / DAY,
                    self.spec.grace_days
                ),
            )
        } else if let Some(&created) = self.created.get(&row.principal)
            && self.end - created < new_identity
        {
            (
                Status::CannotTell,
                format!(
                    "{} was created on {}: within the {}-day grace for new identities",
                    row.principal,
                    day(created),
                    self.spec.new_identity_days
                ),
            )
        } else if actions.is_empty() {
            (
                Status::CannotTell,
                "matches no action of the Service Authorization Reference".into(),
            )
        } else if data == actions.len() {
            (
                Status::CannotTell,
                "grants only data events, which CloudTrail does not log by default".into(),
            )
        } else {
            let covered = (self.end - self.start) / DAY;
            let mut reason = format!(
                "none of its {} actions used since {}",
                actions.len(),
                day(granted.max(tracking_from))
            );
            if covered < tracking_days {
                reason.push_str(&format!(
                    " (the logs cover {covered} days of the {tracking_days}-day tracking period)"
                ));
            }
            if data > 0 {
                reason.push_str(&format!(
                    "; {data} of them are data events CloudTrail does not log by default"
                ));
            }
            reason.push_str(conditional);
            (Status::Unused, reason)
        };
        row.status = status;
        row.reason = reason;
    }
}
