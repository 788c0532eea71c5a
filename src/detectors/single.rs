//! The engine of the single-event rules: actions that are dangerous whatever the context.
//! A [`SingleRule`] names the (provider, service, action) it looks at and how it judges one
//! event; the engine turns the first into one Polars `is_in` over the frame and runs the
//! judge over the few selected events. The rules themselves are tables: cloud resources in
//! [`super::resources`], identity in [`super::identity`], Kubernetes in [`super::kubernetes`].
//! Also the matching helpers those tables share.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::context::{Combo, Context};
use super::derived::Derived;
use super::event::Ev;
use super::finding::{Hit, Severity, group_hits};
use super::{DAY, Found, Rule, RuleInfo, Stage, minutes};
use crate::Result;
use crate::schema::{DETAILS, OUTCOME};

/// How a rule judges one selected event: a severity and a reason, or nothing.
pub(super) type Judge = fn(&Ev, &Scope<'_, '_>) -> Option<(Severity, String)>;

/// What a judge sees besides the event: the context, and facts about the rule's other
/// selected events (first occurrence per actor and key, active days per actor), gathered
/// the first time a judge asks (most judges never do).
pub struct Scope<'c, 'a> {
    ctx: &'c Context<'a>,
    selected: &'c [Ev],
    facts: std::cell::OnceCell<Facts>,
}

/// Per actor, per key: the row of its first selected event; per actor, its active days.
type Facts = (
    HashMap<String, HashMap<String, u32>>,
    HashMap<String, usize>,
);

impl<'a> std::ops::Deref for Scope<'_, 'a> {
    type Target = Context<'a>;
    fn deref(&self) -> &Context<'a> {
        self.ctx
    }
}

impl Scope<'_, '_> {
    /// The row of the actor's first selected event with this key (`roleArn` detail, or "").
    pub(super) fn first_of(&self, actor: &str, key: &str) -> Option<u32> {
        self.facts().0.get(actor)?.get(key).copied()
    }

    /// Distinct days on which the actor has selected events.
    pub(super) fn secret_reader_days(&self, actor: &str) -> usize {
        self.facts().1.get(actor).copied().unwrap_or(0)
    }

    fn facts(&self) -> &Facts {
        self.facts.get_or_init(|| facts(self.selected))
    }
}

/// The [`Facts`] of the selected events. Keyed by actor first, so that neither filling nor
/// reading copies an actor's name per event (a rule may select 100,000 events).
fn facts(selected: &[Ev]) -> Facts {
    let mut firsts: HashMap<String, HashMap<String, u32>> = HashMap::new();
    let mut days: HashMap<String, HashSet<i64>> = HashMap::new();
    for e in selected {
        let (key, day) = (scope_key(e), e.time.div_euclid(DAY));
        match firsts.get_mut(&e.actor) {
            Some(keys) => {
                if keys.get(key).is_none() {
                    keys.insert(key.to_string(), e.row);
                }
            }
            None => {
                firsts.insert(e.actor.clone(), HashMap::from([(key.to_string(), e.row)]));
            }
        }
        match days.get_mut(&e.actor) {
            Some(seen) => {
                seen.insert(day);
            }
            None => {
                days.insert(e.actor.clone(), HashSet::from([day]));
            }
        }
    }
    (
        firsts,
        days.into_iter().map(|(a, d)| (a, d.len())).collect(),
    )
}

fn scope_key(e: &Ev) -> &str {
    e.detail("roleArn").unwrap_or("")
}

/// A single-event rule: which actions it reads and how it judges one event.
pub struct SingleRule {
    pub(super) info: RuleInfo,
    pub(super) select: fn(&Combo) -> bool,
    pub(super) judge: Judge,
    /// Judge failed events too (otherwise only successful ones and those of unknown
    /// outcome).
    pub(super) failures: bool,
    /// A further row filter (Polars), for rules not keyed by action alone.
    pub(super) rows: Option<fn(&Context<'_>) -> Expr>,
    /// A second pass over the judged events, for what needs more than one event.
    pub(super) refine: Option<Refine>,
}

/// A rule's second pass over its hits: sub-rules that need more than one event (sessions,
/// windows, what the actor did around the event) escalate, add or replace hits.
pub(super) type Refine = fn(&Context<'_>, Vec<Hit>) -> Result<Vec<Hit>>;

/// The rules of single-event tables, in table order.
pub fn rules(tables: &[&'static [SingleRule]]) -> Vec<Box<dyn Rule>> {
    tables
        .iter()
        .flat_map(|table| table.iter())
        .map(|r| Box::new(Single(r)) as Box<dyn Rule>)
        .collect()
}

struct Single(&'static SingleRule);

impl Rule for Single {
    fn info(&self) -> &'static RuleInfo {
        &self.0.info
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let rule = self.0;
        let mut then = Vec::new();
        if !rule.failures {
            // A record that does not state its outcome (an Okta event without
            // `outcome.result`, an Entra audit record without `result`) is judged: a
            // dangerous action that may have happened is worth a look, only a failure is not.
            then.push(ctx.category(OUTCOME, |o| o != "failure"));
        }
        // The row filter reads only the rule's actions' rows.
        then.extend(rule.rows.map(|rows| rows(ctx)));
        let selected = ctx.select_actions(rule.select, &then)?;
        let scope = Scope {
            ctx,
            selected: &selected,
            facts: std::cell::OnceCell::new(),
        };
        let verdicts: Vec<Option<(Severity, String)>> =
            selected.iter().map(|ev| (rule.judge)(ev, &scope)).collect();
        let mut hits: Vec<Hit> = (selected.into_iter().zip(verdicts))
            .filter_map(|(ev, verdict)| {
                let (severity, reason) = verdict?;
                Some(Hit {
                    ev,
                    severity,
                    reason,
                })
            })
            .collect();
        if let Some(refine) = rule.refine {
            hits = refine(ctx, hits)?;
        }
        Ok(group_hits(&rule.info, hits, minutes(ctx.config.group_minutes)).into())
    }
}

/// Whether an action of `provider` is one of `actions` (any case).
pub(super) fn is(c: &Combo, provider: &str, actions: &[&str]) -> bool {
    c.provider == provider && actions.iter().any(|a| c.action.eq_ignore_ascii_case(a))
}

/// Whether an AWS action of `service` is one of `actions` (any case).
pub(super) fn aws(c: &Combo, service: &str, actions: &[&str]) -> bool {
    is(c, "aws", actions) && c.service == service
}

/// The last dot segment of a GCP methodName.
pub(super) fn gcp_leaf(action: &str) -> &str {
    action.rsplit('.').next().unwrap_or(action)
}

/// Lowercase (ASCII).
pub(super) fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Rows whose `details` match a regex.
pub(super) fn details_match(pattern: &str) -> Expr {
    col(DETAILS)
        .str()
        .contains(lit(pattern.to_string()), true)
        .fill_null(lit(false))
}
