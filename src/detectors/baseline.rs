//! Behavioural rules: each actor judged against its own history in the data
//! ([`super::history`]). Working hours and days in the actor's time zone, dormancy,
//! first-seen sources, rare actions, and the stricter baselines of non-human identities.
//!
//! Only the events a rule judges (privileged actions, sign-ins, first occurrences) are read
//! one by one. Later rules combine earlier ones through their [`Stage`]s: first-seen sources
//! and rare actions escalate on the off-hours and dormancy anomalies.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::context::is_signin;
use super::context::{Context, NO_ACTOR, PrincipalHistory};
use super::derived::{Anomaly, Derived};
use super::event::{Ev, short_actor};
use super::finding::{Hit, Severity, finding, group_hits, group_principal_hits_by_day, when_utc};
use super::history::{
    ActorZone, Baselines, WorkPattern, days_text, local_of, new_dimensions, pair_of, split_key,
};
use super::{DAY, Found, MINUTE, Prepared, Rule, RuleInfo, Stage, minutes};
use crate::schema::{ACTOR, OUTCOME};
use crate::{Error, Result};

use Severity::{Critical, High, Info, Low, Medium};

/// The behavioural rules (off-hours and dormancy first: the first-seen and rare-action rules
/// read what they found).
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(OffHours),
        Box::new(Dormant),
        Box::new(FirstSeen),
        Box::new(NonHuman),
        Box::new(RareAction),
    ]
}

use crate::time::WEEKDAY_NAMES;

// ---------------------------------------------------------------------------------------
// Off-hours privileged action
// ---------------------------------------------------------------------------------------

struct OffHours;

static OFF_HOURS: RuleInfo = RuleInfo {
    id: "off-hours-privileged-action",
    title: "Privileged action outside the actor's working pattern",
    mitre: &["T1078.004"],
    severity: Medium,
    summary: "a successful privileged action at an hour or on a weekday the actor does not work, learned per person or role (its sessions in every account together) in its own time zone; configured business hours (low) when history is thin",
};

impl Rule for OffHours {
    fn info(&self) -> &'static RuleInfo {
        &OFF_HOURS
    }

    fn stage(&self) -> Stage {
        Stage::Habits
    }

    fn reads_baselines(&self) -> bool {
        true
    }

    fn prepares(&self) -> bool {
        true
    }

    fn run(&self, ctx: &Context<'_>, derived: &Derived) -> Result<Found> {
        let prepared = self.prepare(ctx, &derived.baselines_only())?;
        self.finish(ctx, derived, prepared)
    }

    fn prepare(&self, ctx: &Context<'_>, baselines: &Derived) -> Result<Prepared> {
        // Judged first on the principal and time alone (most privileged actions are usual
        // ones); only the unusual ones are read whole.
        let habits = Habits::new(ctx, baselines.baselines()?);
        Ok(Box::new(ctx.select_positions(habits.unusual_positions())?))
    }

    fn finish(&self, ctx: &Context<'_>, derived: &Derived, prepared: Prepared) -> Result<Found> {
        let events: Vec<Ev> = super::prepared(prepared, OFF_HOURS.id)?;
        let habits = Habits::new(ctx, derived.baselines()?);
        let mut hits = Vec::new();
        for e in events {
            let principal = ctx.principals.name_of(&e.actor);
            let Some((z, profile, habit)) = habits.judge(principal, e.time) else {
                continue;
            };
            let (day, minute, wd) = local_of(e.time, &z.tz);
            // Worded only for the events judged: most privileged actions are usual ones.
            let local = || {
                format!(
                    "{} {:02}:{:02} {}",
                    WEEKDAY_NAMES[wd as usize],
                    minute / 60,
                    minute % 60,
                    z.label
                )
            };
            let (severity, reason) = match habit {
                Habit::Usual => continue,
                Habit::Unusual(p) => {
                    // Machines keep no office hours: an hour new for a service or for the
                    // platform (a kubelet reading secrets on a Sunday) is worth noting,
                    // not investigating, unless the action itself was judged dangerous.
                    let machine = ctx
                        .stats
                        .get(&e.actor)
                        .is_some_and(|s| s.non_human || s.system);
                    let sev = if derived.is_critical_tier(e.row) {
                        High
                    } else if machine {
                        Low
                    } else {
                        Medium
                    };
                    (
                        sev,
                        format!(
                            "{} {} on {}; over {} days {} acted only {} {}",
                            e.who(),
                            describe(&e),
                            local(),
                            p.active_days,
                            judged_name(ctx, &e, principal),
                            p.weekdays_text(),
                            p.hours_text(day)
                        ),
                    )
                }
                Habit::OutsideFallback if e.non_human() => continue,
                Habit::OutsideFallback => {
                    let days = profile.map_or(0, |p| p.active_days);
                    (
                        Low,
                        format!(
                            "{} {} on {}, outside the configured working hours {} {:02}:{:02}-{:02}:{:02} ({days} active day(s) in the data: too few for a personal profile)",
                            e.who(),
                            describe(&e),
                            local(),
                            days_text(&z.days),
                            z.hours.0 / 60,
                            z.hours.0 % 60,
                            z.hours.1 / 60,
                            z.hours.1 % 60
                        ),
                    )
                }
            };
            let severity = if ctx.is_automation(&e.actor) {
                Info
            } else {
                severity
            };
            hits.push(Hit {
                ev: e,
                severity,
                reason,
            });
        }
        let rows: Vec<u32> = hits.iter().map(|h| h.ev.row).collect();
        Ok(Found::marking(
            group_hits(&OFF_HOURS, hits, 60 * MINUTE),
            Anomaly::OffHours,
            &rows,
        ))
    }
}

/// How an event's time compares with its principal's habits.
enum Habit<'b> {
    /// Inside them.
    Usual,
    /// Outside the principal's own working pattern.
    Unusual(&'b WorkPattern),
    /// Outside the configured business hours, for a principal with too little history.
    OutsideFallback,
}

/// The working-hours judgement over the learned baselines.
struct Habits<'c, 'b> {
    ctx: &'c Context<'c>,
    b: &'b Baselines,
    /// Other days an hour must have been worked on to be usual.
    k: usize,
}

impl<'c, 'b> Habits<'c, 'b> {
    /// The habits of the baselines. An hour is usual when worked on 3 other days over a
    /// span of four weeks or more, else on `offhours_min_days`.
    fn new(ctx: &'c Context<'c>, b: &'b Baselines) -> Self {
        let span_days = (ctx.span.1 - ctx.span.0) / DAY;
        let k = if span_days >= 28 {
            3
        } else {
            ctx.config.thresholds.offhours_min_days as usize
        };
        Habits { ctx, b, k }
    }
}

impl<'b> Habits<'_, 'b> {
    /// A principal's zone, profile and how `time` compares with its habits; None for a
    /// principal without a zone (no privileged action of its own).
    fn judge(
        &self,
        principal: &str,
        time: i64,
    ) -> Option<(&'b ActorZone, Option<&'b WorkPattern>, Habit<'b>)> {
        let d = self.ctx.config;
        let z = self.b.zones.get(principal)?;
        let profile = self.b.patterns.get(principal);
        let (day, minute, wd) = local_of(time, &z.tz);
        let personal = profile.filter(|p| {
            p.active_days >= d.min_history_days as usize
                && p.events >= u64::from(d.min_history_events)
        });
        let habit = match personal {
            Some(p)
                if p.hour_usual((minute / 60) as usize, day, self.k) && p.weekday_usual(day) =>
            {
                Habit::Usual
            }
            Some(p) => Habit::Unusual(p),
            None if z.days.contains(&(wd as u32))
                && (z.hours.0..z.hours.1).contains(&(minute as u32)) =>
            {
                Habit::Usual
            }
            None => Habit::OutsideFallback,
        };
        Some((z, profile, habit))
    }

    /// The positions of the successful privileged actions whose time is outside their
    /// principal's habits: judged on the context's integers, so the usual rows are never
    /// read whole.
    fn unusual_positions(&self) -> Vec<IdxSize> {
        let r = &self.ctx.per_row;
        let mut unusual = Vec::new();
        for (i, (p, time)) in r.principal.iter().zip(&r.time).enumerate() {
            if !(r.privileged[i] && r.success[i]) {
                continue;
            }
            let Some(principal) = self.ctx.principals.name(*p) else {
                continue;
            };
            if let Some((_, _, Habit::Unusual(_) | Habit::OutsideFallback)) =
                self.judge(principal, *time)
            {
                unusual.push(i as IdxSize);
            }
        }
        unusual
    }
}

/// Anomalies as reasons list them (`off-hours, first-seen source`).
fn names(anomalies: &[Anomaly]) -> String {
    anomalies
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a reason names whose habits were judged: the event's actor, or the person or role
/// behind it ([`super::principal`]) when that covers several actor names.
fn judged_name<'e>(ctx: &Context<'_>, e: &'e Ev, principal: &'e str) -> &'e str {
    let names = (ctx.principals.of(&e.actor)).map_or(1, |p| ctx.principals.actor_count(p));
    if names > 1 {
        short_actor(principal)
    } else {
        e.who()
    }
}

/// "attached AdministratorAccess to legacy-admin" style summary of an event.
fn describe(e: &Ev) -> String {
    let target = e
        .detail("policyArn")
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .or_else(|| e.detail("role").map(str::to_string));
    match (target, e.resource.is_empty()) {
        (Some(t), false) => format!("ran {} ({t}, {})", e.action, e.resource),
        (Some(t), true) => format!("ran {} ({t})", e.action),
        (None, false) => format!("ran {} on {}", e.action, e.resource),
        (None, true) => format!("ran {}", e.action),
    }
}

// ---------------------------------------------------------------------------------------
// Dormant identity reactivated
// ---------------------------------------------------------------------------------------

struct Dormant;

static DORMANT: RuleInfo = RuleInfo {
    id: "dormant-identity-reactivated",
    title: "Dormant identity active again",
    mitre: &["T1078.004"],
    severity: Medium,
    summary: "an identity (a person with its sessions in every account, a service role with all its sessions) acting again after `dormant_days` without events (default half the data span, 14-90 days); the finding covers its first 24 hours back",
};

impl Rule for Dormant {
    fn info(&self) -> &'static RuleInfo {
        &DORMANT
    }

    fn stage(&self) -> Stage {
        Stage::Habits
    }

    fn reads_findings(&self) -> bool {
        false
    }

    fn reads_baselines(&self) -> bool {
        true
    }

    fn run(&self, ctx: &Context<'_>, derived: &Derived) -> Result<Found> {
        let span_days = (ctx.span.1 - ctx.span.0) / DAY;
        let idle_days = match ctx.config.dormant_days {
            0 => (span_days / 2).clamp(14, 90),
            n => i64::from(n),
        };
        let idle = idle_days * DAY;
        // Per (principal, UTC day): first and last time.
        let r = &ctx.per_row;
        let mut days: HashMap<u64, (i64, i64), foldhash::fast::FixedState> = HashMap::default();
        for (p, t) in r.principal.iter().zip(&r.time) {
            if *p == NO_ACTOR {
                continue;
            }
            let t = *t;
            days.entry(pair_of(*p, t.div_euclid(DAY)))
                .and_modify(|(lo, hi)| {
                    *lo = (*lo).min(t);
                    *hi = (*hi).max(t);
                })
                .or_insert((t, t));
        }
        let mut by_actor: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
        for (k, span) in days {
            by_actor.entry(split_key(k).0).or_default().push(span);
        }
        let mut returns = Vec::new();
        for (id, mut spans) in by_actor {
            spans.sort_unstable();
            for w in spans.windows(2) {
                if w[1].0 - w[0].1 >= idle {
                    returns.push((id, w[0].1, w[1].0));
                }
            }
        }
        let mut out = Vec::new();
        let mut marked = Vec::new();
        let read = returns_events(ctx, &returns)?;
        for ((id, before, back), (events, last_before)) in returns.into_iter().zip(read) {
            let Some(principal) = ctx.principals.name(id) else {
                continue;
            };
            let Some(first) = events.first() else {
                continue;
            };
            // Unauthenticated requests (`system:anonymous`, an anonymous S3 read) are nobody's
            // identity: their pauses say nothing (the anonymous-access rules judge them).
            if first.actor_type == "anonymous" {
                continue;
            }
            let actor = first.actor.clone();
            let non_human = first.non_human();
            let privileged = events.iter().filter(|e| e.privileged && e.ok()).count();
            let writes = events
                .iter()
                .filter(|e| e.read_only == Some(false) && e.ok())
                .count();
            let credentials = events.iter().any(|e| {
                e.ok()
                    && [
                        "CreateAccessKey",
                        "Add service principal credentials",
                        "system.api_token.create",
                    ]
                    .iter()
                    .any(|a| e.action == *a)
                    || e.action.ends_with("CreateServiceAccountKey")
            });
            let b = derived.baselines()?;
            let new_source = events.iter().any(|e| !new_dimensions(ctx, b, e).is_empty());
            let severity = if credentials || (privileged > 0 && new_source) {
                Critical
            } else if non_human || privileged > 0 {
                High
            } else if writes > 0 {
                Medium
            } else {
                Low
            };
            let system = ctx.stats.get(&actor).is_some_and(|s| s.system);
            let severity = if ctx.is_automation(&actor) || ctx.is_automation(principal) {
                Info
            } else if system && !credentials {
                // The platform's own identities come and go with the nodes and features
                // in use: back after a pause is no anomaly worth a look on its own.
                severity.min(Low)
            } else {
                severity
            };
            let gap = (back - before) / DAY;
            let last = last_before
                .first()
                .map_or(String::new(), |e| format!(", {}", e.action));
            let actions: Vec<&str> = {
                let mut seen = HashSet::new();
                events
                    .iter()
                    .map(|e| e.action.as_str())
                    .filter(|a| seen.insert(*a))
                    .take(4)
                    .collect()
            };
            // Named as the principal judged: the person behind every account's session, the
            // role behind every process's session.
            let names = ctx.principals.actor_count(id);
            let reason = format!(
                "{} ({}{}) had no activity for {gap} days (last: {}{last}); it came back at {} with {} event(s) in 24 h ({}){}{}",
                judged_name(ctx, first, principal),
                match first.actor_type.as_str() {
                    _ if non_human => "non-human",
                    "human" | "root" => "person",
                    _ => "identity of unknown kind",
                },
                if names > 1 {
                    format!(", {names} names in the logs")
                } else {
                    String::new()
                },
                when_utc(before),
                when_utc(back),
                events.len(),
                actions.join(", "),
                if privileged > 0 {
                    format!(", {privileged} privileged")
                } else {
                    String::new()
                },
                if new_source {
                    ", from a source new for it"
                } else {
                    ""
                }
            );
            let refs: Vec<&Ev> = events.iter().collect();
            out.push(finding(&DORMANT, severity, &refs, reason));
            marked.extend(events.iter().map(|e| e.row));
        }
        Ok(Found::marking(out, Anomaly::Dormant, &marked))
    }
}

/// The events of each dormant return `(principal, last time before the pause, time back)`: those
/// of its first 24 hours back and those at its last time before the pause, each in time
/// order. Read in one pass over the frame: two filters per return rescanned the whole frame
/// each time (80 s for 10,000 returns over 1,000,000 events).
fn returns_events(
    ctx: &Context<'_>,
    returns: &[(u32, i64, i64)],
) -> Result<Vec<(Vec<Ev>, Vec<Ev>)>> {
    let mut of_actor: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, (id, _, _)) in returns.iter().enumerate() {
        of_actor.entry(*id).or_default().push(i);
    }
    let r = &ctx.per_row;
    // Per return, the rows back and the rows before, in frame order.
    let mut wanted: Vec<(Vec<u32>, Vec<u32>)> = vec![Default::default(); returns.len()];
    let mut keep: Vec<IdxSize> = Vec::new();
    for (i, (actor, time)) in r.principal.iter().zip(&r.time).enumerate() {
        let Some(list) = of_actor.get(actor) else {
            continue;
        };
        let (time, row) = (*time, r.row[i]);
        let mut kept = false;
        for &i in list {
            let (_, before, back) = returns[i];
            if time >= back && time < back + DAY {
                wanted[i].0.push(row);
                kept = true;
            }
            if time == before {
                wanted[i].1.push(row);
                kept = true;
            }
        }
        if kept {
            keep.push(i as IdxSize);
        }
    }
    let read = ctx.select_positions(keep)?;
    let at: HashMap<u32, usize> = read.iter().enumerate().map(|(i, e)| (e.row, i)).collect();
    let gather = |rows: &[u32]| -> Vec<Ev> {
        let mut evs: Vec<Ev> = rows
            .iter()
            .filter_map(|r| at.get(r).map(|i| read[*i].clone()))
            .collect();
        evs.sort_by_key(|e| (e.time, e.row));
        evs
    };
    Ok(wanted
        .iter()
        .map(|(back, before)| (gather(back), gather(before)))
        .collect())
}

// ---------------------------------------------------------------------------------------
// First-seen source for a privileged action
// ---------------------------------------------------------------------------------------

struct FirstSeen;

static FIRST_SEEN: RuleInfo = RuleInfo {
    id: "first-seen-source-for-privileged-action",
    title: "Privileged action from a source new for the actor",
    mitre: &["T1078.004"],
    severity: Low,
    summary: "a privileged action or sign-in from a network (/24), client family or country the actor never used before, after its learning period; medium with two new dimensions or a critical-tier action, high with off-hours or dormancy",
};

/// Rows of actors with something new after learning, limited to privileged successes (and
/// successful sign-ins when `signins`).
fn candidates(ctx: &Context<'_>, b: &Baselines, humans: bool, signins: bool) -> Result<Vec<Ev>> {
    let actors: Vec<u32> = (b.newest_first.iter())
        .filter(|(id, t)| {
            ctx.name(ACTOR, **id).is_some_and(|actor| {
                ctx.stats.get(actor).is_some_and(|s| s.non_human != humans)
                    && ctx.learn_end(actor).is_some_and(|end| **t >= end)
            })
        })
        .map(|(id, _)| *id)
        .collect();
    if actors.is_empty() {
        return Ok(Vec::new());
    }
    let mut wanted = Vec::new();
    for id in actors {
        let id = id as usize;
        if wanted.len() <= id {
            wanted.resize(id + 1, false);
        }
        wanted[id] = true;
    }
    let signin: Vec<bool> = ctx.combos.iter().map(|c| signins && is_signin(c)).collect();
    let r = &ctx.per_row;
    let positions: Vec<IdxSize> = (0..r.actor.len())
        .filter(|&i| {
            wanted.get(r.actor[i] as usize).copied().unwrap_or(false)
                && r.success[i]
                && (r.privileged[i] || signin.get(r.action[i] as usize).copied().unwrap_or(false))
        })
        .map(|i| i as IdxSize)
        .collect();
    ctx.select_positions(positions)
}

/// The privileged candidates with what is new about their source (what `new_dimensions`
/// gives): what the rule prepares before it reads the earlier stages' anomalies.
type FreshSources = Vec<(Ev, Vec<(&'static str, String, bool)>)>;

impl Rule for FirstSeen {
    fn info(&self) -> &'static RuleInfo {
        &FIRST_SEEN
    }

    fn stage(&self) -> Stage {
        Stage::Sources
    }

    fn reads_baselines(&self) -> bool {
        true
    }

    fn prepares(&self) -> bool {
        true
    }

    fn run(&self, ctx: &Context<'_>, derived: &Derived) -> Result<Found> {
        let prepared = self.prepare(ctx, &derived.baselines_only())?;
        self.finish(ctx, derived, prepared)
    }

    fn prepare(&self, ctx: &Context<'_>, baselines: &Derived) -> Result<Prepared> {
        let b = baselines.baselines()?;
        let mut fresh: FreshSources = Vec::new();
        for e in candidates(ctx, b, true, true)? {
            let new = new_dimensions(ctx, b, &e);
            if !new.is_empty() {
                fresh.push((e, new));
            }
        }
        Ok(Box::new(fresh))
    }

    fn finish(&self, ctx: &Context<'_>, derived: &Derived, prepared: Prepared) -> Result<Found> {
        let fresh: FreshSources = super::prepared(prepared, FIRST_SEEN.id)?;
        let mut hits = Vec::new();
        for (e, new) in fresh {
            let anomalies = derived.anomalies_of(e.row);
            let mut severity = if !e.privileged {
                Info
            } else if anomalies.contains(&Anomaly::OffHours)
                || anomalies.contains(&Anomaly::Dormant)
            {
                High
            } else if new.len() >= 2 || derived.is_critical_tier(e.row) {
                Medium
            } else {
                Low
            };
            if new.iter().all(|(_, _, popular)| *popular) {
                severity = severity.down();
            }
            if ctx.is_automation(&e.actor) {
                severity = Info;
            }
            let history = ctx
                .stats
                .get(&e.actor)
                .map_or(0, |s| (e.time - s.first) / DAY);
            let dims: Vec<String> = new.iter().map(|(d, v, _)| format!("{d} {v}")).collect();
            let extra = if anomalies.is_empty() {
                String::new()
            } else {
                format!("; also {}", names(anomalies))
            };
            let reason = format!(
                "{} {} from {} — new for {} after {history} days of history{extra}",
                e.who(),
                describe(&e),
                dims.join(" and "),
                e.who()
            );
            hits.push(Hit {
                ev: e,
                severity,
                reason,
            });
        }
        let rows: Vec<u32> = hits
            .iter()
            .filter(|h| h.ev.privileged)
            .map(|h| h.ev.row)
            .collect();
        Ok(Found::marking(
            group_hits(&FIRST_SEEN, hits, minutes(ctx.config.group_minutes)),
            Anomaly::FirstSeenSource,
            &rows,
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Non-human identity anomalies
// ---------------------------------------------------------------------------------------

struct NonHuman;

static NON_HUMAN: RuleInfo = RuleInfo {
    id: "non-human-identity-anomaly",
    title: "Service identity acting out of character",
    mitre: &["T1078.004", "T1528"],
    severity: Medium,
    summary: "a service identity signing in interactively (console, portal, Okta session), or acting from a network or client family it never used before (learned over `nhi_learn_days`)",
};

impl Rule for NonHuman {
    fn info(&self) -> &'static RuleInfo {
        &NON_HUMAN
    }

    fn stage(&self) -> Stage {
        Stage::Sources
    }

    fn reads_findings(&self) -> bool {
        false
    }

    fn reads_baselines(&self) -> bool {
        true
    }

    fn run(&self, ctx: &Context<'_>, derived: &Derived) -> Result<Found> {
        let interactive = ctx
            .actions(|c| {
                (c.provider == "aws"
                    && matches!(c.action.as_str(), "ConsoleLogin" | "GetSigninToken"))
                    || (c.provider == "okta" && c.action == "user.session.start")
            })
            .or(ctx
                .actions(|c| c.provider == "entra" && c.action == "Sign-in")
                .and(ctx.category(crate::schema::LOG_TYPE, |l| l == "signin")));
        // Service identities: by their events' type, or machine sessions (EC2 instance
        // roles) even where the provider calls a console session human.
        let services = ctx
            .category(crate::schema::ACTOR_TYPE, |t| t == "service")
            .or(ctx.category(ACTOR, |a| {
                ctx.stats
                    .get(a)
                    .is_some_and(|s| s.non_human && !a.starts_with("system:"))
                    || machine_session(a)
            }));
        let mut hits = Vec::new();
        for e in ctx.select(
            interactive
                .and(services)
                .and(ctx.category(OUTCOME, |o| o == "success")),
        )? {
            if e.actor_type == "system" {
                continue;
            }
            let reason = format!(
                "{} is a service identity but signed in interactively ({}) from {} with {}",
                e.who(),
                e.action,
                e.source(),
                if e.user_agent.is_empty() {
                    "no user agent"
                } else {
                    &e.user_agent
                }
            );
            hits.push(Hit {
                ev: e,
                severity: High,
                reason,
            });
        }
        let b = derived.baselines()?;
        // New network or client for a service: its first event with that value.
        // And each service's networks by when first seen (for the reason).
        let mut rows: Vec<u32> = Vec::new();
        let mut networks: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
        for &id in b.newest_first.keys() {
            let Some(actor) = ctx.name(ACTOR, id) else {
                continue;
            };
            if !ctx.stats.get(actor).is_some_and(|s| s.non_human) {
                continue;
            }
            let learned = ctx.learn_end(actor);
            let seen = networks.entry(actor).or_default();
            for (dim, value, (t, row)) in b.first_seen.of_actor(id) {
                if dim != "country" && learned.is_some_and(|end| t >= end) {
                    rows.push(row);
                }
                if dim == "network" {
                    seen.push((t, value));
                }
            }
            seen.sort_unstable();
        }
        if !rows.is_empty() {
            // In row order, as the table's own order is a hash map's.
            rows.sort_unstable();
            let firsts = ctx.select_rows(&rows)?;
            for e in firsts {
                if e.actor_type != "service" {
                    continue;
                }
                let new = new_dimensions(ctx, b, &e);
                let network = new.iter().find(|(d, _, _)| *d == "network");
                let client = new.iter().find(|(d, _, _)| *d == "client");
                let write = e.read_only == Some(false) || e.privileged;
                let severity = match (network, client) {
                    (Some(_), _) if write => High,
                    (Some(_), _) => Medium,
                    (None, Some(_)) => Low,
                    (None, None) => continue,
                };
                let profile: Vec<&str> = (networks.get(e.actor.as_str()).into_iter())
                    .flatten()
                    .filter(|(t, _)| *t < e.time)
                    .map(|(_, v)| *v)
                    .take(3)
                    .collect();
                let history = ctx
                    .stats
                    .get(&e.actor)
                    .map_or(0, |s| (e.time - s.first) / DAY);
                let dims: Vec<String> = new.iter().map(|(d, v, _)| format!("{d} {v}")).collect();
                let reason = format!(
                    "{} (service identity, {history} days from {}) {} from {}",
                    e.who(),
                    if profile.is_empty() {
                        "no known network".to_string()
                    } else {
                        profile.join(", ")
                    },
                    describe(&e),
                    dims.join(" and ")
                );
                hits.push(Hit {
                    ev: e,
                    severity,
                    reason,
                });
            }
        }
        Ok(group_hits(&NON_HUMAN, hits, minutes(ctx.config.group_minutes)).into())
    }
}

/// An AWS role session named after an EC2 instance (`.../assumed-role/web/i-0123abcd...`).
fn machine_session(actor: &str) -> bool {
    actor.contains(":assumed-role/")
        && actor.rsplit('/').next().is_some_and(|s| {
            s.len() >= 10 && s.starts_with("i-") && s[2..].chars().all(|c| c.is_ascii_hexdigit())
        })
}

// ---------------------------------------------------------------------------------------
// Rare action for actor
// ---------------------------------------------------------------------------------------

struct RareAction;

static RARE: RuleInfo = RuleInfo {
    id: "rare-action-for-actor",
    title: "Action new for the actor",
    mitre: &["T1078.004"],
    severity: Info,
    summary: "a write or privileged action the principal behind the actor (the person, or a service's role) never did before, after its learning period, one finding per principal and day listing the actions (info; low when privileged; medium when critical-tier or off-hours / from a new source)",
};

/// The writes new for their principal after its learning period, as events, with each
/// candidate row's action and how many principals did each action: what the rule prepares
/// before it reads the earlier stages' anomalies.
struct RareCandidates {
    events: Vec<Ev>,
    keyed: HashMap<u32, u32, foldhash::fast::FixedState>,
    doers: Vec<usize>,
    histories: Vec<PrincipalHistory>,
}

impl Rule for RareAction {
    fn info(&self) -> &'static RuleInfo {
        &RARE
    }

    fn stage(&self) -> Stage {
        Stage::Rarity
    }

    fn prepares(&self) -> bool {
        true
    }

    fn run(&self, ctx: &Context<'_>, derived: &Derived) -> Result<Found> {
        let prepared = self.prepare(ctx, &derived.baselines_only())?;
        self.finish(ctx, derived, prepared)
    }

    fn prepare(&self, ctx: &Context<'_>, _: &Derived) -> Result<Prepared> {
        let read_only: Vec<bool> = (ctx.frame.column(crate::schema::READ_ONLY))
            .map_err(Error::polars("reading a column"))?
            .bool()
            .map_err(Error::polars("reading a column"))?
            .iter()
            .map(|v| v == Some(true))
            .collect();
        // Per (principal, action) of the writes: first time and least row. Judged per
        // principal, not per name: each new session of a service (`…/botocore-session-<n>`)
        // is a new name for which every action is new, and a person's SSO session has a
        // name per account.
        let r = &ctx.per_row;
        let mut firsts: HashMap<u64, (i64, u32), foldhash::fast::FixedState> = HashMap::default();
        for (i, read) in read_only.iter().enumerate() {
            if *read {
                continue;
            }
            let (t, row) = (r.time[i], r.row[i]);
            firsts
                .entry((u64::from(r.principal[i]) << 32) | u64::from(r.action[i]))
                .and_modify(|(first, least)| {
                    *first = (*first).min(t);
                    *least = (*least).min(row);
                })
                .or_insert((t, row));
        }
        // Principals per action (a missing actor counts as one).
        let histories = ctx.principal_histories();
        let mut doers = vec![0usize; ctx.combos.len()];
        let mut rows = Vec::new();
        let mut keyed: HashMap<u32, u32, foldhash::fast::FixedState> =
            HashMap::with_capacity_and_hasher(firsts.len(), Default::default());
        for (&k, &(t, row)) in &firsts {
            let (principal, action) = split_key(k);
            if let Some(n) = doers.get_mut(action as usize) {
                *n += 1;
            }
            keyed.insert(row, action);
            let end = histories.get(principal as usize).and_then(|h| h.learn_end);
            if end.is_some_and(|end| t >= end) {
                rows.push(row);
            }
        }
        let events = if rows.is_empty() {
            Vec::new()
        } else {
            ctx.select_rows(&rows)?
        };
        Ok(Box::new(RareCandidates {
            events,
            keyed,
            doers,
            histories,
        }))
    }

    fn finish(&self, ctx: &Context<'_>, derived: &Derived, prepared: Prepared) -> Result<Found> {
        let RareCandidates {
            events,
            keyed,
            doers,
            histories,
        } = super::prepared(prepared, RARE.id)?;
        if events.is_empty() {
            return Ok(Found::default());
        }
        let mut hits = Vec::new();
        for e in events {
            if !e.ok() || (e.read_only != Some(false) && !e.privileged) {
                continue;
            }
            let anomalies = derived.anomalies_of(e.row);
            let mut severity =
                if derived.is_critical_tier(e.row) || (e.privileged && !anomalies.is_empty()) {
                    Medium
                } else if e.privileged {
                    Low
                } else {
                    Info
                };
            let others = keyed
                .get(&e.row)
                .and_then(|k| doers.get(*k as usize))
                .copied()
                .unwrap_or(1)
                .saturating_sub(1);
            if others == 0 && severity < Medium {
                severity = severity.up();
            }
            let principal = ctx.principals.of(&e.actor);
            let principal_name = principal.and_then(|p| ctx.principals.name(p));
            if ctx.is_automation(&e.actor) || principal_name.is_some_and(|p| ctx.is_automation(p)) {
                severity = Info;
            } else if ctx.stats.get(&e.actor).is_some_and(|s| s.system)
                && !derived.is_critical_tier(e.row)
            {
                severity = severity.min(Low);
            }
            let first = principal
                .and_then(|p| histories.get(p as usize))
                .map(|h| h.first);
            let history = first.map_or(0, |first| (e.time - first) / DAY);
            let reason = format!(
                "{} {} for the first time in {history} days of history; {} other actor(s) ever did it{}",
                judged_name(ctx, &e, principal_name.unwrap_or(&e.actor)),
                describe(&e),
                others,
                if anomalies.is_empty() {
                    String::new()
                } else {
                    format!("; also {}", names(anomalies))
                }
            );
            hits.push((
                principal.unwrap_or(NO_ACTOR),
                Hit {
                    ev: e,
                    severity,
                    reason,
                },
            ));
        }
        // One finding per principal and day: new actions are each unremarkable alone, and a
        // workload or person starting on new work makes several (Elastic's new_terms and
        // Panther's dedup windows aggregate the same way).
        Ok(group_principal_hits_by_day(&RARE, hits).into())
    }
}
