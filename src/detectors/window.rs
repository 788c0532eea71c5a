//! Window rules: many events of one kind in a short time. Mass destruction and identity
//! deletion, bursts of denied calls; and the runs and sliding windows the sign-in attack
//! rules ([`super::signin_attacks`]) count with.
//!
//! Polars selects the events (destructive actions, denials); the runs and sliding-window
//! counts are then taken over those few rows, sorted by key and time.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::context::{Combo, Context};
use super::derived::Derived;
use super::event::Ev;
use super::finding::{Severity, finding, when_utc};
use super::{DAY, Found, MINUTE, Rule, RuleInfo, Stage, minutes};
use crate::Result;
use crate::schema::OUTCOME;

use Severity::{Critical, High, Low, Medium};

/// The window rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(MassDestruction),
        Box::new(MassIdentityDeletion),
        Box::new(DeniedBurst),
    ]
}

/// A quiet gap that ends a burst.
pub(super) const QUIET: i64 = 30 * MINUTE;

/// Entra error codes that are credential failures (not MFA prompts, consent or silent SSO).
/// Splits events (sorted by key, then time) into runs of one key with no quiet gap longer
/// than `gap`.
pub(super) fn runs<'e>(
    events: &'e [&'e Ev],
    key: impl Fn(&Ev) -> &str,
    gap: i64,
) -> Vec<&'e [&'e Ev]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=events.len() {
        if i == events.len()
            || key(events[i]) != key(events[i - 1])
            || events[i].time - events[i - 1].time > gap
        {
            if start < i {
                out.push(&events[start..i]);
            }
            start = i;
        }
    }
    out
}

/// The window of at most `width` holding the largest total of `weight` in a run.
pub(super) fn densest(run: &[&Ev], width: i64, weight: impl Fn(&Ev) -> u64) -> (u64, Range<usize>) {
    let mut best = (0, 0..0);
    let mut total = 0;
    let mut lo = 0;
    for hi in 0..run.len() {
        total += weight(run[hi]);
        while run[hi].time - run[lo].time > width {
            total -= weight(run[lo]);
            lo += 1;
        }
        if total > best.0 {
            best = (total, lo..hi + 1);
        }
    }
    best
}

/// The window of at most `width` with the most distinct `value`s in a run.
pub(super) fn most_distinct<'e>(
    run: &[&'e Ev],
    width: i64,
    value: impl Fn(&'e Ev) -> &'e str,
) -> (usize, Range<usize>) {
    let mut best = (0, 0..0);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut lo = 0;
    for hi in 0..run.len() {
        *counts.entry(value(run[hi])).or_default() += 1;
        while run[hi].time - run[lo].time > width {
            let v = value(run[lo]);
            if let Some(n) = counts.get_mut(v) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(v);
                }
            }
            lo += 1;
        }
        if counts.len() > best.0 {
            best = (counts.len(), lo..hi + 1);
        }
    }
    best
}

pub(super) fn sorted_by(events: &[Ev], key: impl Fn(&Ev) -> &str) -> Vec<&Ev> {
    let mut refs: Vec<&Ev> = events.iter().collect();
    refs.sort_by(|a, b| (key(a), a.time, a.row).cmp(&(key(b), b.time, b.row)));
    refs
}

pub(super) fn span_text(run: &[&Ev]) -> String {
    let (first, last) = (run[0].time, run[run.len() - 1].time);
    let minutes = (last - first) / MINUTE;
    format!(
        "between {} and {} ({} min)",
        when_utc(first),
        &when_utc(last)[11..],
        minutes.max(1)
    )
}

pub(super) fn distinct<'e>(run: &[&'e Ev], value: impl Fn(&'e Ev) -> &'e str) -> Vec<&'e str> {
    let mut seen = HashSet::new();
    run.iter()
        .map(|e| value(e))
        .filter(|v| !v.is_empty() && seen.insert(*v))
        .collect()
}

/// Up to `max` values joined, with how many more.
pub(super) fn list(values: &[&str], max: usize) -> String {
    let mut out = values
        .iter()
        .take(max)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if values.len() > max {
        out.push_str(&format!(" and {} more", values.len() - max));
    }
    out
}

// ---------------------------------------------------------------------------------------

struct MassDestruction;

static MASS_DESTRUCTION: RuleInfo = RuleInfo {
    id: "mass-destruction",
    title: "Mass deletion or destruction",
    mitre: &["T1485", "T1490"],
    severity: High,
    summary: "at least `destruction_events` destructive actions (or 10 distinct resources) by one actor within `destruction_minutes`, or 3 backups/snapshots/keys in an hour; above 3x the actor's own earlier maximum",
};

fn is_recovery(e: &Ev) -> bool {
    let a = e.action.to_ascii_lowercase();
    [
        "snapshot",
        "backup",
        "recoverypoint",
        "restorepoint",
        "keydeletion",
        "cryptokeyversion",
        "deletedvaults",
        "lifecycle",
    ]
    .iter()
    .any(|k| a.contains(k))
}

/// How many items one event destroys (EC2 calls list their instances).
fn items(e: &Ev) -> u64 {
    e.detail("instances")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

impl Rule for MassDestruction {
    fn info(&self) -> &'static RuleInfo {
        &MASS_DESTRUCTION
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let destructive = &ctx.destructive;
        let events = ctx.select_actions(
            |c| destructive.is_privileged(&c.provider, Some(&c.service), &c.action),
            &[ctx.category(OUTCOME, |o| o == "success")],
        )?;
        let sorted = sorted_by(&events, |e| e.actor.as_str());
        let t = &ctx.config.thresholds;
        let width = minutes(t.destruction_minutes);
        let mut out = Vec::new();
        let mut earlier: HashMap<&str, (i64, u64)> = HashMap::new(); // actor -> (day, max)
        let mut history: HashMap<&str, Vec<(i64, u64)>> = HashMap::new();
        for run in runs(&sorted, |e| e.actor.as_str(), width) {
            let (count, _) = densest(run, width, items);
            let resources = most_distinct(run, width, |e| e.resource.as_str()).0;
            let recovery: Vec<&Ev> = run.iter().copied().filter(|e| is_recovery(e)).collect();
            let recovery_n = most_distinct(&recovery, 60 * MINUTE, |e| e.resource.as_str()).0;
            let actor = run[0].actor.as_str();
            let day = run[0].time.div_euclid(DAY);
            let before = history
                .get(actor)
                .map(|h| {
                    h.iter()
                        .filter(|(d, _)| *d < day)
                        .map(|(_, n)| *n)
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            history.entry(actor).or_default().push((day, count));
            earlier.insert(actor, (day, count));
            let big = count >= u64::from(t.destruction_events) || resources >= 10;
            let recovery_hit = recovery_n >= 3;
            if !big && !recovery_hit {
                continue;
            }
            let seasoned = ctx
                .actor_first(actor)
                .is_some_and(|first| run[0].time - first >= 7 * DAY);
            if seasoned && before > 0 && count <= 3 * before {
                continue;
            }
            let mut by_action: Vec<(&str, u64)> = Vec::new();
            for e in run.iter() {
                match by_action.iter_mut().find(|(a, _)| *a == e.action) {
                    Some((_, n)) => *n += items(e),
                    None => by_action.push((&e.action, items(e))),
                }
            }
            let total: u64 = run.iter().map(|e| items(e)).sum();
            let actions = by_action
                .iter()
                .map(|(a, n)| format!("{a} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let examples = distinct(run, |e| e.resource.as_str());
            let baseline = if before > 0 {
                format!(
                    "; the actor's previous maximum was {before} per {} min",
                    t.destruction_minutes
                )
            } else {
                "; nothing comparable earlier in the data".to_string()
            };
            let reason = format!(
                "{} destroyed {total} items {} ({actions}; e.g. {}){baseline}",
                run[0].who(),
                span_text(run),
                list(&examples, 3)
            );
            let mut f = finding(&MASS_DESTRUCTION, High, run, reason);
            if recovery_hit && !big {
                f.mitre = vec!["T1490".into()];
            }
            out.push(f);
        }
        Ok(out.into())
    }
}

// ---------------------------------------------------------------------------------------

struct MassIdentityDeletion;

static MASS_IDENTITY: RuleInfo = RuleInfo {
    id: "mass-identity-deletion",
    title: "Many identities removed",
    mitre: &["T1531"],
    severity: High,
    summary: "at least `identity_deletions` distinct users, roles, service accounts or memberships removed by one actor within `destruction_minutes` (20 in an hour: critical)",
};

fn is_identity_removal(c: &Combo) -> bool {
    match c.provider.as_str() {
        "entra" => [
            "Delete user",
            "Hard Delete user",
            "Disable account",
            "Remove member from role",
            "Remove eligible member from role",
            "Delete application",
            "Remove service principal",
        ]
        .iter()
        .any(|a| c.action.eq_ignore_ascii_case(a)),
        "okta" => matches!(
            c.action.as_str(),
            "user.lifecycle.delete.initiated"
                | "user.lifecycle.deactivate"
                | "user.lifecycle.suspend"
                | "group.user_membership.remove"
        ),
        "aws" => {
            c.service == "iam"
                && matches!(
                    c.action.as_str(),
                    "DeleteUser" | "DeleteRole" | "DeleteLoginProfile" | "RemoveUserFromGroup"
                )
        }
        "gcp" => {
            c.action.ends_with("DeleteServiceAccount")
                || c.action.ends_with("DisableServiceAccount")
        }
        "github" => matches!(
            c.action.as_str(),
            "org.remove_member" | "team.remove_member" | "repo.remove_member"
        ),
        "kubernetes" => matches!(
            c.action.as_str(),
            "delete serviceaccounts" | "delete rolebindings"
        ),
        _ => false,
    }
}

impl Rule for MassIdentityDeletion {
    fn info(&self) -> &'static RuleInfo {
        &MASS_IDENTITY
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let events = ctx.select_actions(
            is_identity_removal,
            &[ctx.category(OUTCOME, |o| o == "success")],
        )?;
        let sorted = sorted_by(&events, |e| e.actor.as_str());
        let t = &ctx.config.thresholds;
        let width = minutes(t.destruction_minutes);
        let mut out = Vec::new();
        for run in runs(&sorted, |e| e.actor.as_str(), QUIET) {
            let (n, _) = most_distinct(run, width, |e| e.resource.as_str());
            if n < t.identity_deletions as usize {
                continue;
            }
            let hour = most_distinct(run, 60 * MINUTE, |e| e.resource.as_str()).0;
            let severity = if hour >= 20 { Critical } else { High };
            let targets = distinct(run, |e| e.resource.as_str());
            let reason = format!(
                "{} removed {} identities {} ({}): {}",
                run[0].who(),
                targets.len(),
                span_text(run),
                list(&distinct(run, |e| e.action.as_str()), 3),
                list(&targets, 5)
            );
            out.push(finding(&MASS_IDENTITY, severity, run, reason));
        }
        Ok(out.into())
    }
}

// ---------------------------------------------------------------------------------------

struct DeniedBurst;

static DENIED: RuleInfo = RuleInfo {
    id: "access-denied-burst",
    title: "Burst of denied calls",
    mitre: &["T1526", "T1580", "T1087.004"],
    severity: Low,
    summary: "at least `denied_events` denied calls by one actor within `denied_minutes` (low); 20 across 5 services in an hour, or denied privileged calls (medium)",
};

fn is_denial(error: &str) -> bool {
    error.contains("AccessDenied")
        || error.contains("UnauthorizedOperation")
        || error.contains("AuthorizationFailed")
        || error.contains("PERMISSION_DENIED")
        || error.starts_with("403")
        || error.starts_with("7 ")
}

impl Rule for DeniedBurst {
    fn info(&self) -> &'static RuleInfo {
        &DENIED
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let predicate = ctx
            .category(crate::schema::ERROR, is_denial)
            .and(ctx.category(OUTCOME, |o| o == "failure"));
        let events = ctx.select(predicate)?;
        let sorted = sorted_by(&events, |e| e.actor.as_str());
        let t = &ctx.config.thresholds;
        let width = minutes(t.denied_minutes);
        let mut out = Vec::new();
        for run in runs(&sorted, |e| e.actor.as_str(), QUIET) {
            let (n, _) = densest(run, width, |_| 1);
            if n < u64::from(t.denied_events) {
                continue;
            }
            let services = distinct(run, |e| e.service.as_str());
            let privileged = run.iter().filter(|e| e.privileged).count();
            let hour = densest(run, 60 * MINUTE, |_| 1).0;
            let severity = if (hour >= 20 && services.len() >= 5) || privileged > 0 {
                Medium
            } else {
                Low
            };
            let reason = format!(
                "{} was denied {} calls {} across {} service(s) ({}){}",
                run[0].who(),
                run.len(),
                span_text(run),
                services.len(),
                list(&distinct(run, |e| e.action.as_str()), 5),
                if privileged > 0 {
                    format!("; {privileged} of them privileged")
                } else {
                    String::new()
                }
            );
            out.push(finding(&DENIED, severity, run, reason));
        }
        Ok(out.into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ev(actor: &str, ip: &str, minute: i64) -> Ev {
        Ev {
            actor: actor.into(),
            src_ip: ip.into(),
            time: minute * MINUTE,
            ..Ev::default()
        }
    }

    #[test]
    fn windows_find_the_densest_stretch() {
        let events: Vec<Ev> = [0, 1, 2, 30, 31, 32, 33, 34]
            .iter()
            .map(|m| ev("a", "x", *m))
            .collect();
        let refs: Vec<&Ev> = events.iter().collect();
        let (n, range) = densest(&refs, 10 * MINUTE, |_| 1);
        assert_eq!((n, range), (5, 3..8));
        assert_eq!(runs(&refs, |e| e.actor.as_str(), 20 * MINUTE).len(), 2);
    }

    #[test]
    fn distinct_counts_slide() {
        let events: Vec<Ev> = (0..12)
            .map(|i| ev(&format!("u{}", i % 4), "x", i * 10))
            .collect();
        let refs: Vec<&Ev> = events.iter().collect();
        assert_eq!(most_distinct(&refs, 30 * MINUTE, |e| e.actor.as_str()).0, 4);
        assert_eq!(most_distinct(&refs, 15 * MINUTE, |e| e.actor.as_str()).0, 2);
    }
}
