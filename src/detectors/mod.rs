//! Detection engine: rules over the normalized frame that turn events into explained
//! [`Finding`]s. Knows nothing of output: the CLI (`report`) and the TUI present findings.
//!
//! Rules select their events with Polars expressions (dictionary-level tests on the
//! categorical columns, `str().contains` on `details`) and learn baselines with group-bys
//! over the whole frame; only the few rows a rule selected are looked at one by one, to
//! word the reason.
//!
//! The files, in the order data goes through them:
//! * [`context`]: the read-only inputs every rule sees; [`event`]: the rows a rule selected,
//!   read one by one; [`geo`]: countries, their centroids and zones.
//! * [`derived`]: what is computed for the rules rather than read: the actors' baselines
//!   ([`history`]), and what the rules of earlier stages found.
//! * The rule families. Dangerous whatever the context: the single-event engine ([`single`])
//!   with its tables [`resources`], [`identity`] (and [`okta_sessions`]), [`kubernetes`] and
//!   [`perimeter`]; the tables whose judgement counts targets or reads earlier days
//!   ([`spread`]): [`secrets`], [`compute`] and [`serverless`]; and stolen instance
//!   credentials ([`instance_credentials`]).
//!   Sign-in attacks: [`signin_attacks`] (failure bursts, spraying, MFA fatigue). Bursts:
//!   [`window`] (destruction, denials). Each actor's own history:
//!   [`baseline`] (working hours, dormancy, first-seen sources, rare actions, services) and
//!   [`travel`]. Access that should have ended, from grants paired with their ends
//!   ([`grants`]): [`jit`] (temporary grants), [`credentials`] (service credentials) and
//!   [`creep`] (privileges piling up). Log sources gone silent, altered or out of time:
//!   [`integrity`].
//! * [`finding`]: findings, and the grouping of judged events into them.
//! * [`live`]: detection over a growing frame: which findings are news, and a background
//!   runner of the rules over the newest frame.
//!
//! Some rules combine what others found (a privileged action off-hours is worse when an
//! event rule judged it high). They do so through [`Stage`]s: a rule reads only what the
//! stages before its own found, fixed before its stage starts, so the order of the rules in
//! the catalogue never changes a result.

pub mod attack;
pub mod baseline;
pub mod compute;
pub mod context;
pub mod credentials;
pub mod creep;
pub mod derived;
pub mod event;
pub mod finding;
pub mod geo;
pub mod grants;
pub mod history;
pub mod identity;
pub mod instance_credentials;
pub mod integrity;
pub mod jit;
pub mod kubernetes;
pub mod live;
pub mod okta_sessions;
pub mod perimeter;
pub mod playbook;
pub mod principal;
pub mod resources;
pub mod role_grants;
mod schedule;
pub mod secrets;
pub mod serverless;
pub mod signin_attacks;
pub mod single;
pub mod spread;
pub mod travel;
pub mod window;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use polars::prelude::DataFrame;

use crate::config::Config;
use crate::{Error, Result};
pub use context::Context;
pub use derived::{Anomaly, Derived};
pub use finding::{Finding, Severity, at_least, sort_findings};
pub use live::{Change, LiveDetector, LiveFinding, LiveFindings, LiveResult, LiveRun, settle_time};

/// Time units in microseconds, for the rules (`super::DAY`).
pub(crate) use crate::time::{DAY, HOUR, MINUTE};

/// Minutes from a configured count.
pub(crate) fn minutes(n: u32) -> i64 {
    i64::from(n) * MINUTE
}

/// What a rule is: its id, title, technique and family, for the catalogue and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id (`audit-log-tampering`), the key of `[detect.rules.<id>]`.
    pub id: &'static str,
    /// Title of its findings.
    pub title: &'static str,
    /// MITRE ATT&CK techniques.
    pub mitre: &'static [&'static str],
    /// Default severity (before escalation).
    pub severity: Severity,
    /// What it looks for, in one line.
    pub summary: &'static str,
}

/// When a rule runs, which is what it may read of other rules' results: the rows the rules
/// of earlier stages judged and the anomalies they marked ([`Derived`]), never anything of
/// its own stage or later ones. A rule that reads nothing of the others still has a stage:
/// the one that keeps its findings from the rules that must not combine them (travel and the
/// grant lifecycles come after rare actions, integrity after permission creep).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Single events and bursts, judged on their own.
    Events,
    /// Working pattern and dormancy: read which rows the event rules judged high.
    Habits,
    /// New sources and service identities: read also the habits and their anomalies.
    Sources,
    /// Rare actions and impossible travel: read also the first-seen sources.
    Rarity,
    /// Temporary grants and service credentials: read every row judged high before.
    Lifecycle,
    /// Permission creep and log integrity: read every finding before.
    Accumulation,
}

impl Stage {
    /// Every stage, in the order they run.
    pub const ALL: [Stage; 6] = [
        Stage::Events,
        Stage::Habits,
        Stage::Sources,
        Stage::Rarity,
        Stage::Lifecycle,
        Stage::Accumulation,
    ];
}

/// What one rule found: its findings, and the rows it marks as behavioural anomalies for the
/// rules of later stages.
#[derive(Debug, Default)]
pub struct Found {
    /// The findings.
    pub findings: Vec<Finding>,
    /// Rows marked with an anomaly.
    pub anomalies: Vec<(u32, Anomaly)>,
}

impl Found {
    /// Findings that also mark `rows` with `anomaly`.
    pub fn marking(findings: Vec<Finding>, anomaly: Anomaly, rows: &[u32]) -> Found {
        Found {
            findings,
            anomalies: rows.iter().map(|r| (*r, anomaly)).collect(),
        }
    }
}

impl From<Vec<Finding>> for Found {
    fn from(findings: Vec<Finding>) -> Found {
        Found {
            findings,
            anomalies: Vec::new(),
        }
    }
}

impl FromIterator<Finding> for Found {
    fn from_iter<I: IntoIterator<Item = Finding>>(findings: I) -> Found {
        Found::from(findings.into_iter().collect::<Vec<_>>())
    }
}

/// A detection rule.
pub trait Rule: Send + Sync {
    /// What the rule is.
    fn info(&self) -> &'static RuleInfo;
    /// When it runs: what it may read of other rules' results.
    fn stage(&self) -> Stage;
    /// Whether it reads the actors' baselines ([`Derived::baselines`]), learned before the
    /// rules run when an enabled rule does.
    fn reads_baselines(&self) -> bool {
        false
    }
    /// Whether it reads what the rules of earlier stages found ([`Derived::is_critical_tier`],
    /// [`Derived::critical_rows`], [`Derived::anomalies_of`]). One that does not runs whenever
    /// a worker is free, before its stage if it comes to that, and sees the baselines alone.
    fn reads_findings(&self) -> bool {
        true
    }
    /// Runs the rule over the context's frame, with what earlier stages found.
    fn run(&self, ctx: &Context<'_>, derived: &Derived) -> Result<Found>;
    /// Whether the rule splits its work: [`Rule::prepare`], which reads no other rule's
    /// findings, runs whenever a worker is free (once the baselines are learned, if it reads
    /// them), and [`Rule::finish`] judges what it prepared at the rule's stage.
    fn prepares(&self) -> bool {
        false
    }
    /// The part of the work that reads no other rule's findings; `baselines` holds the
    /// baselines alone.
    fn prepare(&self, _ctx: &Context<'_>, _baselines: &Derived) -> Result<Prepared> {
        Ok(Box::new(()))
    }
    /// The rest of the work, with what earlier stages found: [`Rule::run`] with what
    /// [`Rule::prepare`] gave.
    fn finish(&self, ctx: &Context<'_>, derived: &Derived, _prepared: Prepared) -> Result<Found> {
        self.run(ctx, derived)
    }
}

/// What a rule's [`Rule::prepare`] hands to its [`Rule::finish`].
pub type Prepared = Box<dyn std::any::Any + Send + Sync>;

/// What a rule prepared, as the type it prepares.
pub(crate) fn prepared<T: 'static>(prepared: Prepared, id: &str) -> Result<T> {
    prepared
        .downcast::<T>()
        .map(|b| *b)
        .map_err(|_| Error::Invalid(format!("rule {id} was handed another rule's preparation")))
}

/// Every built-in rule, in catalogue order (the order of the README and `trailscope rules`;
/// they run by [`Stage`]).
pub fn rules() -> Vec<Box<dyn Rule>> {
    let mut all = single_event_rules();
    all.extend(spread_rules());
    all.push(Box::new(instance_credentials::InstanceCredentialsElsewhere));
    all.extend(signin_attacks::rules());
    all.extend(window::rules());
    all.extend(baseline::rules());
    all.extend(travel::rules());
    all.extend(jit::rules());
    all.extend(credentials::rules());
    all.extend(creep::rules());
    all.extend(integrity::rules());
    all
}

/// The rules that judge each event on its own (no window, no history): what they find in a
/// few new events is what a run over everything finds for them, so they can run on arrival.
pub fn single_event_rules() -> Vec<Box<dyn Rule>> {
    single::rules(&[
        &resources::RULES,
        &identity::RULES,
        &role_grants::RULES,
        &kubernetes::RULES,
        &perimeter::RULES,
    ])
}

/// Table rules whose judgement needs more than the new events: how many targets one actor
/// reaches in a window and what it did on earlier days ([`spread`]), so they run only over
/// everything.
fn spread_rules() -> Vec<Box<dyn Rule>> {
    single::rules(&[&secrets::RULES, &compute::RULES, &serverless::RULES])
}

/// The catalogue of built-in rules.
pub fn catalogue() -> Vec<&'static RuleInfo> {
    rules().iter().map(|r| r.info()).collect()
}

/// Runs every enabled rule over a frame, the rules of a stage on every core; findings sorted
/// by time.
pub fn run(frame: &DataFrame, config: &Config) -> Result<Vec<Finding>> {
    run_rules_timed(frame, config, &rules(), all_cores()).map(|(findings, _)| findings)
}

/// [`run`] on the calling thread only, for a process that runs the rules again and again
/// (following a stream): threads started per run leave their allocator arenas holding
/// memory (measured while tailing: 2.5 GB resident instead of 1.1 GB).
pub fn run_on_this_thread(frame: &DataFrame, config: &Config) -> Result<Vec<Finding>> {
    run_rules(frame, config, &rules())
}

fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How long each phase of a run took: `prepare`, `baselines`, then each rule id.
pub type Timings = Vec<(&'static str, Duration)>;

/// [`run`], also returning the time each phase took.
pub fn run_timed(frame: &DataFrame, config: &Config) -> Result<(Vec<Finding>, Timings)> {
    run_rules_timed(frame, config, &rules(), all_cores())
}

/// The given rules (in any order: they run by [`Stage`]) over a frame, on the calling thread.
pub fn run_rules(
    frame: &DataFrame,
    config: &Config,
    rules: &[Box<dyn Rule>],
) -> Result<Vec<Finding>> {
    run_rules_timed(frame, config, rules, 1).map(|(findings, _)| findings)
}

fn run_rules_timed(
    frame: &DataFrame,
    config: &Config,
    rules: &[Box<dyn Rule>],
    workers: usize,
) -> Result<(Vec<Finding>, Timings)> {
    let mut timings = Vec::new();
    let started = Instant::now();
    // Settings may name any built-in rule, also when only some of them run.
    let catalogue = self::rules();
    let known: HashSet<&str> = catalogue.iter().map(|r| r.info().id).collect();
    if let Some(id) = config
        .detect
        .rules
        .keys()
        .find(|k| !known.contains(k.as_str()))
    {
        return Err(Error::Invalid(format!(
            "unknown rule '{id}' in [detect.rules]; rules: {}",
            catalogue
                .iter()
                .map(|r| r.info().id)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let enabled: Vec<&dyn Rule> = rules
        .iter()
        .map(|r| r.as_ref())
        .filter(|r| {
            config
                .detect
                .rules
                .get(r.info().id)
                .is_none_or(|s| s.enabled)
        })
        .collect();
    let ctx = Context::new(frame, config)?;
    timings.push(("prepare", started.elapsed()));
    let wants_baselines = enabled.iter().any(|r| r.reads_baselines());
    let jobs = schedule::jobs(&enabled, wants_baselines);
    let severity_of = |id: &'static str| {
        (config.detect.rules.get(id))
            .and_then(|s| s.severity.as_deref())
            .and_then(Severity::parse)
    };
    let mut findings = Vec::new();
    for done in schedule::run(&ctx, &jobs, workers, &severity_of)? {
        match done {
            schedule::Done::Baselines(took) => timings.push(("baselines", took)),
            schedule::Done::Prepared => {}
            schedule::Done::Found(id, found, took) => {
                timings.push((id, took));
                findings.extend(found.findings);
            }
        }
    }
    sort_findings(&mut findings);
    Ok((findings, timings))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_documented() {
        let all = catalogue();
        let ids: HashSet<&str> = all.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), all.len());
        assert!(
            all.iter()
                .all(|r| !r.summary.is_empty() && !r.title.is_empty())
        );
    }
}
