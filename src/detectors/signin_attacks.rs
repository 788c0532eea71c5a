//! Credential attacks at sign-in: failure bursts against one actor, one source failing for
//! many actors (spraying, also small and paced when it succeeds), a success right after
//! either, and MFA push fatigue. Failed sign-ins are selected with Polars; the runs and
//! windows ([`super::window`]) are counted over those few rows.

use std::collections::HashSet;

use super::context::{Combo, Context, is_signin};
use super::derived::Derived;
use super::event::Ev;
use super::finding::{Severity, finding};
use super::window::{QUIET, densest, distinct, list, most_distinct, runs, sorted_by, span_text};
use super::{Found, MINUTE, Rule, RuleInfo, Stage, minutes};
use crate::Result;
use crate::schema::OUTCOME;

use Severity::{Critical, High, Low, Medium};

/// The sign-in attack rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(FailureBurst),
        Box::new(Spray),
        Box::new(SuccessAfterFailures),
        Box::new(MfaFatigue),
    ]
}

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
        // A source must be an address: `private` or `gce-internal-ip` are many callers.
        if crate::net::Addr::parse(&run[0].src_ip).is_none() || ctx.is_trusted(&run[0].src_ip) {
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
    ctx.select_actions(
        is_signin,
        &[ctx
            .category(OUTCOME, |o| o == "success")
            .and(ctx.category(crate::schema::SRC_IP, |ip| sources.contains(ip)))],
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
        let successes = ctx.select_actions(
            is_signin,
            &[ctx
                .category(OUTCOME, |o| o == "success")
                .and(ctx.category(crate::schema::ACTOR, |a| targets.contains(a)))],
        )?;
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
        let denied = |c: &Combo| {
            (c.provider == "okta"
                && matches!(
                    c.action.as_str(),
                    "user.mfa.okta_verify.deny_push" | "user.authentication.auth_via_mfa"
                ))
                || (c.provider == "entra" && c.action == "Sign-in")
        };
        // Only actors with a denial are read whole (Entra sign-ins are most of a tenant).
        // Okta logs a denied push as a successful `deny_push` (one of the denied actions).
        let deny_push =
            ctx.actions(|c| c.provider == "okta" && c.action == "user.mfa.okta_verify.deny_push");
        let deniers: HashSet<String> = ctx
            .select_actions(
                denied,
                &[deny_push.or(ctx.category(OUTCOME, |o| o == "failure"))],
            )?
            .iter()
            .filter(|e| mfa_answer(e) == Some(false))
            .map(|e| e.actor.clone())
            .collect();
        if deniers.is_empty() {
            return Ok(Found::default());
        }
        let events = ctx.select_actions(
            denied,
            &[ctx.category(crate::schema::ACTOR, |a| deniers.contains(a))],
        )?;
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
