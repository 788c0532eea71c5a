//! Grants paired with what surrounds them: the duplicate records of one grant merged (Entra
//! logs a PIM activation twice, as the activation and as the directory's role change), each
//! grant's end (the first removal of the same key at or after it, or the next grant of the
//! key when it was renewed first), its approval (the last PIM request approval of the same
//! member and role before it), its scheduled end, and AWS role assumptions into privileged
//! roles. The pairings are Polars joins ([`next_by_key`]); only the selected grant, end and
//! approval events are read one by one.

use std::collections::HashMap;

use crate::Result;
use crate::detectors::Context;
use crate::detectors::context::glob_regex;
use crate::detectors::event::Ev;
use crate::detectors::grants::{self, Change, Side, Temporary, next_by_key, who_of_actor};
use crate::detectors::jit::Roles;
use crate::providers::time::parse_time_text;
use crate::schema::OUTCOME;
use crate::time::{DAY, HOUR, MINUTE};

use super::actors::{Actors, role_key, use_key};
use super::{AccessSpec, Grant, Lifetime, Status};
use crate::identity::Identities;

/// Records of one grant closer than this are one grant (the PIM activation and the
/// directory's own "Add member to role").
const SAME_GRANT: i64 = 5 * MINUTE;
/// An approval counts for a grant made at most this long after it.
const APPROVAL_VALID: i64 = DAY;

/// One grant before its use is counted, with what [`super::usage`] needs.
pub(crate) struct Paired {
    /// The row.
    pub grant: Grant,
    /// Whose privileged actions are its use (`provider|actor name`).
    pub use_key: String,
    /// The entitlement as [`Change::what`] names it (for the role's purpose).
    pub what: String,
    /// Its window length (temporary grants), µs.
    pub length: Option<i64>,
    /// Rows of its own events (grant, end, approval): never counted as use.
    pub rows: Vec<u32>,
}

/// Every grant of the data, paired with its end and approval, in time order.
pub(crate) fn grants(
    ctx: &Context<'_>,
    spec: &AccessSpec,
    actors: &Actors,
    identities: Option<&Identities>,
) -> Result<Vec<Paired>> {
    let changes = grants::changes(ctx)?;
    let roles = Roles::new(&ctx.config.jit)?;
    let window = i64::from(spec.window_hours.unwrap_or(ctx.config.jit.window_hours)) * HOUR;
    let grace = i64::from(spec.grace_minutes.unwrap_or(ctx.config.jit.grace_minutes)) * MINUTE;
    let last = ctx.span.1;

    let merged = merge_duplicates(&changes);
    let side = |ids: &[usize]| -> Side {
        ids.iter()
            .map(|&i| (changes[i].key.clone(), changes[i].ev.time, i as u32))
            .collect()
    };
    let heads: Vec<usize> = merged.iter().map(|m| m[0]).collect();
    let ends: Vec<usize> = (0..changes.len()).filter(|&i| !changes[i].grant).collect();
    let grant_side = side(&heads);
    let end_of = next_by_key(&grant_side, &side(&ends), true, false)?;
    let renewed = next_by_key(&grant_side, &grant_side, true, true)?;
    let approvals = approvals(ctx)?;
    let approval_side: Side = approvals
        .iter()
        .enumerate()
        .map(|(i, (key, ev))| (key.clone(), ev.time, i as u32))
        .collect();
    let approved = next_by_key(&grant_side, &approval_side, false, false)?;

    let mut out = Vec::with_capacity(merged.len() + 16);
    for group in &merged {
        let head = group[0];
        let records: Vec<&Change> = group.iter().map(|&i| &changes[i]).collect();
        // The record that says most: the temporary one (the PIM activation, by the person).
        let c = records
            .iter()
            .copied()
            .find(|r| r.temporary.is_some())
            .unwrap_or(&changes[head]);
        let temporary = records.iter().find_map(|r| r.temporary);
        let lifetime = match temporary {
            None => Lifetime::Standing,
            Some(Temporary::Expiring) => Lifetime::Expiring,
            Some(_) => Lifetime::Temporary,
        };
        let role_hours = roles.of(&c.what).and_then(|(_, r, _)| r.hours);
        let length = match temporary {
            None => None,
            Some(Temporary::Timebound) => role_hours.map(|h| i64::from(h) * HOUR),
            Some(_) => Some(role_hours.map_or(window, |h| i64::from(h) * HOUR)),
        };
        let scheduled = logged_end(&c.ev).or_else(|| length.map(|l| c.ev.time + l));
        let length = length.or_else(|| scheduled.map(|s| s - c.ev.time));
        let end = end_of.get(&(head as u32)).map(|&e| &changes[e as usize]);
        let next = renewed
            .get(&(head as u32))
            .map(|&g| &changes[g as usize])
            // A renewal is a later grant of the key, not a duplicate record merged here.
            .filter(|g| !group.iter().any(|&i| changes[i].ev.row == g.ev.row));
        let superseded = next.filter(|n| end.is_none_or(|e| n.ev.time < e.ev.time));
        let (ended_at, ended_by, status, end_ev) = match (superseded, end, lifetime, scheduled) {
            (Some(n), _, _, _) => (
                Some(n.ev.time),
                Some(format!("granted again ({})", n.ev.action)),
                Status::Ended,
                None,
            ),
            (None, Some(e), _, _) => (
                Some(e.ev.time),
                Some(e.ev.action.clone()),
                Status::Ended,
                Some(&e.ev),
            ),
            (None, None, Lifetime::Expiring, Some(s)) if s <= last => {
                (Some(s), None, Status::Expired, None)
            }
            _ => (None, None, Status::Held, None),
        };
        let approval = approved
            .get(&(head as u32))
            .map(|&a| &approvals[a as usize].1)
            .filter(|a| c.ev.time - a.time <= APPROVAL_VALID);
        let mut event_ids: Vec<String> = records.iter().map(|r| r.ev.event_id.clone()).collect();
        event_ids.extend(end_ev.map(|e| e.event_id.clone()));
        event_ids.extend(approval.map(|a| a.event_id.clone()));
        event_ids.retain(|id| !id.is_empty());
        event_ids.dedup();
        let mut record_rows: Vec<u32> = records.iter().map(|r| r.ev.row).collect();
        record_rows.extend(approval.map(|a| a.row));
        let mut rows = record_rows.clone();
        rows.extend(end_ev.map(|e| e.row));
        let overdue = lifetime == Lifetime::Temporary
            && scheduled.is_some_and(|s| ended_at.unwrap_or(last) > s + grace);
        let approver = approval.map(|a| a.actor.clone());
        let grantee = actors.identity(identities, &c.ev.provider, &c.grantee, &c.who);
        let self_approved = approval.is_some_and(|a| who_of_actor(&a.actor) == c.who)
            || (lifetime == Lifetime::Standing && who_of_actor(&c.ev.actor) == c.who);
        let (role, scope) = role_and_scope(c);
        out.push(Paired {
            use_key: use_key(&c.ev.provider, &grantee),
            what: c.what.clone(),
            length,
            rows,
            grant: Grant {
                grantee,
                grantee_as_written: c.grantee.clone(),
                grantee_type: match c.ev.detail("principalType") {
                    // An Identity Center assignment says whether it names a user or a group.
                    Some(t) if t.eq_ignore_ascii_case("GROUP") => "Group",
                    _ => grantee_type(&c.grantee, records.iter().any(|r| r.non_human)),
                },
                role,
                scope,
                provider: c.ev.provider.clone(),
                action: c.ev.action.clone(),
                lifetime,
                privileged: records.iter().any(|r| r.privileged),
                granted_by: c.ev.actor.clone(),
                approver,
                justification: first_detail(&c.ev, approval, &["justification", "reason"]),
                ticket: first_detail(&c.ev, approval, &["ticket", "ticketNumber"]),
                granted_at: c.ev.time,
                scheduled_end: scheduled,
                ended_at,
                ended_by,
                status,
                duration_seconds: (ended_at.unwrap_or(last) - c.ev.time).max(0) / 1_000_000,
                overdue,
                used: false,
                privileged_actions_in_window: 0,
                top_actions: Vec::new(),
                last_used: None,
                acted_as: Vec::new(),
                used_after_window: 0,
                used_outside_purpose: 0,
                never_used: true,
                self_approved,
                event_ids,
                record_rows,
            },
        });
    }
    out.extend(role_assumptions(ctx, spec, actors, identities)?);
    out.sort_by(|a, b| {
        (a.grant.granted_at, &a.grant.grantee, &a.grant.role).cmp(&(
            b.grant.granted_at,
            &b.grant.grantee,
            &b.grant.role,
        ))
    });
    Ok(out)
}

/// The grants (indexes into `changes`) with their duplicate records: records of one key
/// closer than [`SAME_GRANT`] with no end between them are one grant. Time order.
fn merge_duplicates(changes: &[Change]) -> Vec<Vec<usize>> {
    let mut open: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        if !c.grant {
            open.remove(c.key.as_str());
            continue;
        }
        match open.get(c.key.as_str()) {
            Some(&g) if c.ev.time - changes[groups[g][0]].ev.time <= SAME_GRANT => {
                groups[g].push(i)
            }
            _ => {
                open.insert(c.key.as_str(), groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// Entra PIM request approvals, keyed as their grant is (member and role).
fn approvals(ctx: &Context<'_>) -> Result<Vec<(String, Ev)>> {
    let predicate = ctx
        .actions(|c| {
            c.provider == "entra" && c.action.to_ascii_lowercase().contains("request approved")
        })
        .and(ctx.category(OUTCOME, |o| o == "success"));
    Ok(ctx
        .select(predicate)?
        .into_iter()
        .filter(|e| !e.resource.is_empty())
        .map(|e| {
            let role = e.detail("role").unwrap_or("a directory role");
            let key = format!("entra|{}|{role}", e.resource).to_lowercase();
            (key, e)
        })
        .collect())
}

/// AWS role assumptions (`AssumeRole*`) into privileged roles: elevations that end with the
/// session, which no event logs.
fn role_assumptions(
    ctx: &Context<'_>,
    spec: &AccessSpec,
    actors: &Actors,
    identities: Option<&Identities>,
) -> Result<Vec<Paired>> {
    let patterns = spec
        .privileged_roles
        .iter()
        .map(|g| glob_regex(g))
        .collect::<Result<Vec<_>>>()?;
    let predicate = ctx
        .actions(|c| c.provider == "aws" && c.action.starts_with("AssumeRole"))
        .and(ctx.category(OUTCOME, |o| o == "success"));
    let length = i64::from(spec.session_minutes) * MINUTE;
    let last = ctx.span.1;
    let mut out = Vec::new();
    for ev in ctx.select(predicate)? {
        let arn = ev.detail("roleArn").unwrap_or(&ev.resource);
        let Some(name) = arn
            .split(":role/")
            .nth(1)
            .map(|p| p.rsplit('/').next().unwrap_or(p))
        else {
            continue;
        };
        if !patterns.iter().any(|p| p.is_match(name)) || ev.actor.is_empty() {
            continue;
        }
        let end = ev.time + length;
        let expired = end <= last;
        let who = who_of_actor(&ev.actor);
        let account = arn.split(':').nth(4).unwrap_or(&ev.account).to_string();
        out.push(Paired {
            // The session acts as the role: its actions are the role's.
            use_key: role_key(name),
            what: name.to_string(),
            length: Some(length),
            rows: vec![ev.row],
            grant: Grant {
                grantee: actors.identity(identities, "aws", &ev.actor, &who),
                grantee_as_written: ev.actor.clone(),
                grantee_type: grantee_type(&ev.actor, ev.non_human()),
                role: name.to_string(),
                scope: account,
                provider: ev.provider.clone(),
                action: ev.action.clone(),
                lifetime: Lifetime::Expiring,
                privileged: true,
                granted_by: ev.actor.clone(),
                approver: None,
                justification: None,
                ticket: None,
                granted_at: ev.time,
                scheduled_end: Some(end),
                ended_at: expired.then_some(end),
                ended_by: None,
                status: if expired {
                    Status::Expired
                } else {
                    Status::Held
                },
                duration_seconds: (end.min(last) - ev.time).max(0) / 1_000_000,
                overdue: false,
                used: false,
                privileged_actions_in_window: 0,
                top_actions: Vec::new(),
                last_used: None,
                acted_as: Vec::new(),
                used_after_window: 0,
                used_outside_purpose: 0,
                never_used: true,
                // Assuming a role is allowed by its trust policy, not approved by anyone.
                self_approved: false,
                event_ids: [ev.event_id.clone()]
                    .into_iter()
                    .filter(|i| !i.is_empty())
                    .collect(),
                record_rows: vec![ev.row],
            },
        });
    }
    Ok(out)
}

/// The grantee's type as access reviews name it.
fn grantee_type(written: &str, non_human: bool) -> &'static str {
    let lower = written.to_ascii_lowercase();
    if lower.starts_with("group:") {
        "Group"
    } else if non_human || lower.starts_with("serviceaccount:") {
        "ServicePrincipal"
    } else {
        "User"
    }
}

/// The role and the scope it applies to, from the entitlement as [`Change::what`] words it.
fn role_and_scope(c: &Change) -> (String, String) {
    // The account the log comes from (tenant, organization), else what it stands for.
    let account_or = |whole: &str| {
        if c.ev.account.is_empty() {
            whole.to_string()
        } else {
            c.ev.account.clone()
        }
    };
    let split = |separator: &str| match c.what.split_once(separator) {
        Some((role, scope)) => (role.to_string(), scope.to_string()),
        None => (c.what.clone(), c.ev.resource.clone()),
    };
    match c.ev.provider.as_str() {
        "azure" | "gcp" => split(" on "),
        "kubernetes" => split(" through "),
        "entra" => (c.what.clone(), account_or("directory")),
        // An Identity Center assignment applies in its target account.
        "aws" => match c.ev.detail("targetId") {
            Some(account) => (c.what.clone(), account.to_string()),
            None => (c.what.clone(), account_or("")),
        },
        // Okta and GitHub grants apply to the whole organization the log comes from.
        _ => (c.what.clone(), account_or("organization")),
    }
}

/// A value of the grant's (else its approval's) details under one of `keys`.
fn first_detail(ev: &Ev, approval: Option<&Ev>, keys: &[&str]) -> Option<String> {
    [Some(ev), approval]
        .into_iter()
        .flatten()
        .find_map(|e| keys.iter().find_map(|k| e.detail(k)))
        .filter(|v| !v.trim().is_empty())
        .map(str::to_string)
}

/// The end a grant's record schedules (PIM `expiration`, a binding condition's expiry),
/// when the provider wrote it into `details`.
fn logged_end(ev: &Ev) -> Option<i64> {
    ["expiration", "endDateTime", "expires", "conditionExpiry"]
        .iter()
        .find_map(|k| ev.detail(k))
        .and_then(parse_time_text)
}
