//! Window rules: many events of one kind in a short time. Failed sign-ins per actor, the
//! same source failing for many actors (spraying), a success right after either, mass
//! destruction and identity deletion, bursts of denied calls.
//!
//! Polars selects the events (failed sign-ins, destructive actions, denials); the runs and
//! sliding-window counts are then taken over those few rows, sorted by key and time.

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
        Box::new(FailureBurst),
        Box::new(Spray),
        Box::new(SuccessAfterFailures),
        Box::new(MfaFatigue),
        Box::new(MassDestruction),
        Box::new(MassIdentityDeletion),
        Box::new(DeniedBurst),
    ]
}

/// A quiet gap that ends a burst.
const QUIET: i64 = 30 * MINUTE;

/// Sign-in actions of every provider.
pub(crate) fn is_signin(c: &Combo) -> bool {
    match c.provider.as_str() {
        "aws" => c.action == "ConsoleLogin",
        "entra" => c.action == "Sign-in",
        "okta" => c.action == "user.session.start" || c.action.starts_with("user.authentication."),
        "gcp" => c.action.starts_with("google.login.LoginService.login"),
        "github" => c.action == "user.failed_login" || c.action == "user.login",
        _ => false,
    }
}

/// Entra error codes that are credential failures (not MFA prompts, consent or silent SSO).
const ENTRA_FAILURES: [&str; 16] = [
    "50126", "50053", "50055", "50056", "50057", "50034", "50064", "50144", "50135", "80002",
    "80005", "120000", "120002", "120020", "70000", "70008",
];

/// Whether a failed sign-in is a credential failure worth counting.
fn counts_as_failure(e: &Ev) -> bool {
    match e.provider.as_str() {
        "entra" => {
            let code = e.error.split_whitespace().next().unwrap_or("");
            ENTRA_FAILURES.contains(&code) && !e.log_type.contains("service_principal")
        }
        "okta" => {
            let r = e.error.to_ascii_uppercase();
            r.contains("INVALID_CREDENTIALS")
                || r.contains("LOCKED_OUT")
                || r.contains("VERIFICATION_ERROR")
                || r.is_empty()
        }
        "kubernetes" => e.error.starts_with("401"),
        _ => true,
    }
}

/// Credential failures at sign-in, in time order.
fn failed_signins(ctx: &Context<'_>) -> Result<Vec<Ev>> {
    let k8s_401 = ctx.category(crate::schema::ERROR, |e| e.starts_with("401"));
    let predicate = ctx
        .actions(is_signin)
        .or(k8s_401)
        .and(ctx.category(OUTCOME, |o| o == "failure"));
    Ok(ctx
        .select(predicate)?
        .into_iter()
        .filter(counts_as_failure)
        .collect())
}

/// Splits events (sorted by key, then time) into runs of one key with no quiet gap longer
/// than `gap`.
fn runs<'e>(events: &'e [&'e Ev], key: impl Fn(&Ev) -> &str, gap: i64) -> Vec<&'e [&'e Ev]> {
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
fn densest(run: &[&Ev], width: i64, weight: impl Fn(&Ev) -> u64) -> (u64, Range<usize>) {
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
fn most_distinct<'e>(
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

fn sorted_by(events: &[Ev], key: impl Fn(&Ev) -> &str) -> Vec<&Ev> {
    let mut refs: Vec<&Ev> = events.iter().collect();
    refs.sort_by(|a, b| (key(a), a.time, a.row).cmp(&(key(b), b.time, b.row)));
    refs
}

fn span_text(run: &[&Ev]) -> String {
    let (first, last) = (run[0].time, run[run.len() - 1].time);
    let minutes = (last - first) / MINUTE;
    format!(
        "between {} and {} ({} min)",
        when_utc(first),
        &when_utc(last)[11..],
        minutes.max(1)
    )
}

fn distinct<'e>(run: &[&'e Ev], value: impl Fn(&'e Ev) -> &'e str) -> Vec<&'e str> {
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

struct FailureBurst;

static FAILURE_BURST: RuleInfo = RuleInfo {
    id: "signin-failure-burst",
    title: "Burst of failed sign-ins",
    mitre: &["T1110.001"],
    severity: Medium,
    summary: "at least `failures` credential failures for one actor within `failure_minutes` (5 in 15 min for root and break-glass); one finding per burst",
};

/// The failure bursts of the data: per actor, the run and its window.
fn failure_bursts<'e>(ctx: &Context<'_>, failures: &'e [&'e Ev]) -> Vec<&'e [&'e Ev]> {
    let t = &ctx.config.thresholds;
    runs(failures, |e| e.actor.as_str(), QUIET)
        .into_iter()
        .filter(|run| {
            let first = run[0];
            if first.actor.is_empty() || first.actor == "HIDDEN_DUE_TO_SECURITY_REASONS" {
                return false;
            }
            let root = first.actor_type == "root" || ctx.is_breakglass(&first.actor);
            let (need, width) = if root {
                (t.root_failures, 15 * MINUTE)
            } else {
                (t.failures, minutes(t.failure_minutes))
            };
            densest(run, width, |_| 1).0 >= u64::from(need)
                || (!root && densest(run, 60 * MINUTE, |_| 1).0 >= 20)
        })
        .collect()
}

impl Rule for FailureBurst {
    fn info(&self) -> &'static RuleInfo {
        &FAILURE_BURST
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let failures = failed_signins(ctx)?;
        let sorted = sorted_by(&failures, |e| e.actor.as_str());
        Ok(failure_bursts(ctx, &sorted)
            .into_iter()
            .map(|run| {
                let ips = distinct(run, |e| e.src_ip.as_str());
                let root = run[0].actor_type == "root" || ctx.is_breakglass(&run[0].actor);
                let severity = if root || ips.len() >= 2 { High } else { Medium };
                let reason = format!(
                    "{} failed sign-ins for {} {} from {} ({})",
                    run.len(),
                    run[0].who(),
                    span_text(run),
                    list(&ips, 3),
                    distinct(run, |e| e.error.as_str())
                        .first()
                        .copied()
                        .unwrap_or("failure")
                );
                finding(&FAILURE_BURST, severity, run, reason)
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------

struct Spray;

static SPRAY: RuleInfo = RuleInfo {
    id: "password-spray",
    title: "Password spraying from one source",
    mitre: &["T1110.003"],
    severity: High,
    summary: "one source address failing sign-ins for at least `spray_actors` distinct actors within `spray_minutes`; a paced spray of half as many from an address no one signed in from before is low, high when a success from that address follows",
};

/// A spray found in the data: its failures, and whether it reached `spray_actors` targets
/// (otherwise it is a small, paced one from an address new to the tenant).
struct SprayRun<'e> {
    run: &'e [&'e Ev],
    full: bool,
}

/// The sprays of the data: per source address, the runs with enough distinct targets
/// (`spray_actors`), or half as many from an address that had no successful sign-in before
/// the run (an office's shared address sees colleagues mistype; an attacker's does not).
fn sprays<'e>(ctx: &Context<'_>, by_ip: &'e [&'e Ev]) -> Result<Vec<SprayRun<'e>>> {
    let t = &ctx.config.thresholds;
    let width = minutes(t.spray_minutes);
    let small = (t.spray_actors / 2).max(3) as usize;
    let mut out = Vec::new();
    for run in runs(by_ip, |e| e.src_ip.as_str(), width.max(QUIET)) {
        if run[0].src_ip.is_empty() || ctx.is_trusted(&run[0].src_ip) {
            continue;
        }
        let targets = most_distinct(run, width, |e| e.actor.as_str()).0;
        if targets >= t.spray_actors as usize {
            out.push(SprayRun { run, full: true });
        } else if targets >= small {
            out.push(SprayRun { run, full: false });
        }
    }
    let small_sources: HashSet<&str> = out
        .iter()
        .filter(|s| !s.full)
        .map(|s| s.run[0].src_ip.as_str())
        .collect();
    if small_sources.is_empty() {
        return Ok(out);
    }
    let known = successes_from(ctx, &small_sources)?;
    out.retain(|s| {
        s.full
            || !known
                .iter()
                .any(|e| e.src_ip == s.run[0].src_ip && e.time < s.run[0].time)
    });
    Ok(out)
}

/// Successful sign-ins from any of `sources`.
fn successes_from(ctx: &Context<'_>, sources: &HashSet<&str>) -> Result<Vec<Ev>> {
    ctx.select(
        ctx.actions(is_signin)
            .and(ctx.category(OUTCOME, |o| o == "success"))
            .and(ctx.category(crate::schema::SRC_IP, |ip| sources.contains(ip))),
    )
}

impl Rule for Spray {
    fn info(&self) -> &'static RuleInfo {
        &SPRAY
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let failures = failed_signins(ctx)?;
        let sorted = sorted_by(&failures, |e| e.src_ip.as_str());
        let found = sprays(ctx, &sorted)?;
        let sources: HashSet<&str> = found.iter().map(|s| s.run[0].src_ip.as_str()).collect();
        let successes = if found.iter().any(|s| !s.full) {
            successes_from(ctx, &sources)?
        } else {
            Vec::new()
        };
        let window = minutes(ctx.config.thresholds.success_after_minutes);
        Ok(found
            .into_iter()
            .map(|SprayRun { run, full }| {
                let users = distinct(run, |e| e.who());
                let (start, end) = (run[0].time, run[run.len() - 1].time);
                // A paced spray matters when it worked: a success from the spraying address.
                let success = (!full)
                    .then(|| {
                        successes.iter().find(|s| {
                            s.src_ip == run[0].src_ip && s.time >= start && s.time <= end + window
                        })
                    })
                    .flatten();
                let mut reason = format!(
                    "{} failed sign-in for {} different users {} ({} attempts): {}",
                    run[0].src_ip,
                    users.len(),
                    span_text(run),
                    run.len(),
                    list(&users, 6)
                );
                let mut events: Vec<&Ev> = run.to_vec();
                let severity = match (full, success) {
                    (true, _) => High,
                    (false, Some(s)) => {
                        reason.push_str(&format!(
                            "; then {} signed in from the same address {} min later",
                            s.who(),
                            (s.time - end).max(0) / MINUTE
                        ));
                        events.push(s);
                        High
                    }
                    (false, None) => {
                        reason.push_str(
                            " (a paced spray from an address no one signed in from before)",
                        );
                        Low
                    }
                };
                let mut f = finding(&SPRAY, severity, &events, reason);
                f.actor = run[0].src_ip.clone();
                f
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------

struct SuccessAfterFailures;

static SUCCESS_AFTER: RuleInfo = RuleInfo {
    id: "signin-success-after-failures",
    title: "Successful sign-in after a failure burst or spray",
    mitre: &["T1110", "T1078.004"],
    severity: High,
    summary: "a successful sign-in for an actor within `success_after_minutes` of a failure burst or spray that targeted it; critical from the attacking address",
};

impl Rule for SuccessAfterFailures {
    fn info(&self) -> &'static RuleInfo {
        &SUCCESS_AFTER
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let failures = failed_signins(ctx)?;
        let by_actor = sorted_by(&failures, |e| e.actor.as_str());
        let by_ip = sorted_by(&failures, |e| e.src_ip.as_str());
        // (actor, attack end, attack events, attacking addresses)
        let mut attacks: Vec<(String, i64, Vec<&Ev>, Vec<String>)> = Vec::new();
        for run in failure_bursts(ctx, &by_actor) {
            let ips = distinct(run, |e| e.src_ip.as_str())
                .iter()
                .map(|s| s.to_string())
                .collect();
            attacks.push((
                run[0].actor.clone(),
                run[run.len() - 1].time,
                run.to_vec(),
                ips,
            ));
        }
        // (whether a success counts only from the attacking address: paced sprays)
        let mut from_attacker_only: HashSet<usize> = HashSet::new();
        for SprayRun { run, full } in sprays(ctx, &by_ip)? {
            for user in distinct(run, |e| e.actor.as_str()) {
                let theirs: Vec<&Ev> = run.iter().copied().filter(|e| e.actor == user).collect();
                let end = theirs.last().map_or(0, |e| e.time);
                if !full {
                    from_attacker_only.insert(attacks.len());
                }
                attacks.push((user.to_string(), end, theirs, vec![run[0].src_ip.clone()]));
            }
        }
        if attacks.is_empty() {
            return Ok(Found::default());
        }
        let targets: HashSet<String> = attacks.iter().map(|a| a.0.clone()).collect();
        let predicate = ctx
            .actions(is_signin)
            .and(ctx.category(OUTCOME, |o| o == "success"))
            .and(ctx.category(crate::schema::ACTOR, |a| targets.contains(a)));
        let successes = ctx.select(predicate)?;
        let window = minutes(ctx.config.thresholds.success_after_minutes);
        let mut out = Vec::new();
        let mut used = HashSet::new();
        for (i, (actor, end, events, ips)) in attacks.iter().enumerate() {
            let first = events.first().map_or(*end, |e| e.time);
            let attacker_only = from_attacker_only.contains(&i);
            let Some(success) = successes.iter().find(|s| {
                s.actor == *actor
                    && s.time >= first
                    && s.time <= end + window
                    && (!attacker_only || ips.contains(&s.src_ip))
            }) else {
                continue;
            };
            if !used.insert((actor.clone(), success.row)) {
                continue;
            }
            let same_ip = ips.contains(&success.src_ip);
            let severity = if same_ip { Critical } else { High };
            let mut all: Vec<&Ev> = events.clone();
            all.push(success);
            let gap = (success.time - end).max(0) / MINUTE;
            let reason = format!(
                "{} signed in successfully ({}) from {} {} min after {} failed attempts{}",
                success.who(),
                success.action,
                success.src_ip,
                gap,
                events.len(),
                if same_ip {
                    " from the same address"
                } else {
                    ""
                }
            );
            out.push(finding(&SUCCESS_AFTER, severity, &all, reason));
        }
        Ok(out.into())
    }
}

// ---------------------------------------------------------------------------------------

struct MfaFatigue;

static MFA_FATIGUE: RuleInfo = RuleInfo {
    id: "mfa-fatigue",
    title: "MFA push fatigue",
    mitre: &["T1621"],
    severity: High,
    summary: "at least 3 denied or failed MFA prompts (Okta push denials and failed verifications, Entra 500121) for one actor within 30 min followed by an approval (high; critical from an address the actor never signed in from before); 5 or more without approval (medium)",
};

/// Denied MFA prompts before an approval that make fatigue, and without one, a bombing.
const FATIGUE_DENIALS: usize = 3;
const BOMBING_DENIALS: usize = 5;
const FATIGUE_WINDOW: i64 = 30 * MINUTE;

/// What an MFA event says: a prompt was denied or failed (`Some(false)`), approved
/// (`Some(true)`), or neither.
fn mfa_answer(e: &Ev) -> Option<bool> {
    match (e.provider.as_str(), e.action.as_str()) {
        ("okta", "user.mfa.okta_verify.deny_push") => Some(false),
        ("okta", "user.authentication.auth_via_mfa") => Some(e.ok()),
        ("entra", "Sign-in") if e.error.starts_with("500121") => Some(false),
        ("entra", "Sign-in") if e.ok() && e.mfa == Some(true) => Some(true),
        _ => None,
    }
}

impl Rule for MfaFatigue {
    fn info(&self) -> &'static RuleInfo {
        &MFA_FATIGUE
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let denied = ctx.actions(|c| {
            (c.provider == "okta"
                && matches!(
                    c.action.as_str(),
                    "user.mfa.okta_verify.deny_push" | "user.authentication.auth_via_mfa"
                ))
                || (c.provider == "entra" && c.action == "Sign-in")
        });
        // Only actors with a denial are read whole (Entra sign-ins are most of a tenant).
        // Okta logs a denied push as a successful `deny_push`.
        let deny_push =
            ctx.actions(|c| c.provider == "okta" && c.action == "user.mfa.okta_verify.deny_push");
        let deniers: HashSet<String> = ctx
            .select(
                deny_push.or(denied
                    .clone()
                    .and(ctx.category(OUTCOME, |o| o == "failure"))),
            )?
            .iter()
            .filter(|e| mfa_answer(e) == Some(false))
            .map(|e| e.actor.clone())
            .collect();
        if deniers.is_empty() {
            return Ok(Found::default());
        }
        let events =
            ctx.select(denied.and(ctx.category(crate::schema::ACTOR, |a| deniers.contains(a))))?;
        let sorted = sorted_by(&events, |e| e.actor.as_str());
        let mut out = Vec::new();
        // The actor's approved sign-in addresses so far.
        let mut known_ips: HashSet<&str> = HashSet::new();
        let mut actor = "";
        for run in runs(&sorted, |e| e.actor.as_str(), FATIGUE_WINDOW) {
            if run[0].actor != actor {
                actor = run[0].actor.as_str();
                known_ips.clear();
            }
            let mut denials: Vec<&Ev> = Vec::new();
            for e in run.iter().copied() {
                match mfa_answer(e) {
                    Some(false) => {
                        denials.retain(|d| e.time - d.time <= FATIGUE_WINDOW);
                        denials.push(e);
                    }
                    Some(true) if denials.len() >= FATIGUE_DENIALS => {
                        let new_place = !known_ips.contains(e.src_ip.as_str());
                        let severity = if new_place { Critical } else { High };
                        let reason = format!(
                            "{} denied or failed {} MFA prompts {}, then approved one from {}{}",
                            e.who(),
                            denials.len(),
                            span_text(&denials),
                            e.src_ip,
                            if new_place {
                                ", an address it never signed in from before"
                            } else {
                                ""
                            }
                        );
                        let mut all = std::mem::take(&mut denials);
                        all.push(e);
                        out.push(finding(&MFA_FATIGUE, severity, &all, reason));
                        known_ips.insert(e.src_ip.as_str());
                    }
                    Some(true) => {
                        denials.clear();
                        known_ips.insert(e.src_ip.as_str());
                    }
                    None => {}
                }
            }
            if denials.len() >= BOMBING_DENIALS {
                let reason = format!(
                    "{} denied or failed {} MFA prompts {} and approved none",
                    denials[0].who(),
                    denials.len(),
                    span_text(&denials)
                );
                out.push(finding(&MFA_FATIGUE, Medium, &denials, reason));
            }
        }
        Ok(out.into())
    }
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
        let predicate = ctx
            .actions(|c| destructive.is_privileged(&c.provider, Some(&c.service), &c.action))
            .and(ctx.category(OUTCOME, |o| o == "success"));
        let events = ctx.select(predicate)?;
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
        let predicate = ctx
            .actions(is_identity_removal)
            .and(ctx.category(OUTCOME, |o| o == "success"));
        let events = ctx.select(predicate)?;
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
