//! Permission creep: identities that gather privileged grants over the data without any
//! being taken back. A report-style rule: one finding per identity, listing its grants.
//!
//! The grants and their removals come from [`super::grants`]; a grant is still held when no
//! removal of the same key follows it (a Polars join on the key).

use std::collections::HashMap;

use super::context::Context;
use super::derived::Derived;
use super::event::Ev;
use super::finding::{Severity, finding, when_utc};
use super::grants::{self, Change, Side};
use super::{DAY, Found, Rule, RuleInfo, Stage};
use crate::Result;

use Severity::{Low, Medium};

/// The permission-creep rule.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![Box::new(PermissionCreep)]
}

struct PermissionCreep;

static CREEP: RuleInfo = RuleInfo {
    id: "permission-creep",
    title: "Privileges accumulating",
    mitre: &["T1098.003"],
    severity: Low,
    summary: "an identity holding at least `creep_grants` privileged grants (roles, policies, admin groups and teams, bindings) given over the data and never removed; medium for a non-human identity given a critical-tier role or policy",
};

impl Rule for PermissionCreep {
    fn info(&self) -> &'static RuleInfo {
        &CREEP
    }

    fn stage(&self) -> Stage {
        // Reads which grants any earlier rule judged high (the critical tier).
        Stage::Accumulation
    }

    fn run(&self, ctx: &Context<'_>, derived: &Derived) -> Result<Found> {
        let changes = grants::changes(ctx)?;
        let side = |grant: bool| -> Side {
            (0..changes.len())
                .filter(|&i| changes[i].grant == grant && (changes[i].privileged || !grant))
                .map(|i| (changes[i].key.clone(), changes[i].ev.time, i as u32))
                .collect()
        };
        let (given, ended) = (side(true), side(false));
        let removed = grants::next_by_key(&given, &ended, true, false)?;
        // The last grant of each key still held, per grantee.
        let mut held: HashMap<(&str, &str), HashMap<&str, &Change>> = HashMap::new();
        for (_, _, i) in &given {
            if removed.contains_key(i) {
                continue;
            }
            let c = &changes[*i as usize];
            held.entry((c.ev.provider.as_str(), c.who.as_str()))
                .or_default()
                .insert(c.key.as_str(), c);
        }
        let need = ctx.config.thresholds.creep_grants.max(1) as usize;
        let mut out = Vec::new();
        let mut keys: Vec<&(&str, &str)> = held.keys().collect();
        keys.sort();
        for key in keys {
            let mut list: Vec<&Change> = held[key].values().copied().collect();
            list.sort_by_key(|c| (c.ev.time, c.ev.row));
            let non_human =
                list[0].non_human || ctx.stats.get(&list[0].grantee).is_some_and(|s| s.non_human);
            let critical: Vec<&Change> = list
                .iter()
                .copied()
                .filter(|c| derived.is_critical_tier(c.ev.row))
                .collect();
            let nhi_critical = non_human && !critical.is_empty();
            if list.len() < need && !nhi_critical {
                continue;
            }
            let (first, last) = (list[0].ev.time, list[list.len() - 1].ev.time);
            let grants: Vec<String> = list
                .iter()
                .take(8)
                .map(|c| {
                    format!(
                        "{} ({} by {}, {})",
                        c.what,
                        c.ev.action,
                        c.ev.who(),
                        when_utc(c.ev.time)
                    )
                })
                .collect();
            let more = if list.len() > 8 {
                format!(" and {} more", list.len() - 8)
            } else {
                String::new()
            };
            let (severity, lead) = if nhi_critical {
                (
                    Medium,
                    format!(
                        "non-human identity {} holds {} critical-tier grant(s)",
                        list[0].grantee,
                        critical.len()
                    ),
                )
            } else {
                (
                    Low,
                    format!(
                        "{} gathered {} privileged grants",
                        list[0].grantee,
                        list.len()
                    ),
                )
            };
            let days = (last - first) / DAY;
            let when = if list.len() == 1 {
                String::new()
            } else {
                format!(
                    " between {} and {} ({days} days)",
                    when_utc(first),
                    when_utc(last)
                )
            };
            let reason = format!(
                "{lead}{when} and none was removed: {}{more}",
                grants.join("; ")
            );
            let events: Vec<&Ev> = list.iter().map(|c| &c.ev).collect();
            let mut f = finding(&CREEP, severity, &events, reason);
            f.actor = list[0].grantee.clone();
            out.push(f);
        }
        Ok(out.into())
    }
}
