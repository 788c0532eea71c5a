//! Incidents: the findings of one story grouped together. Findings that share an identity
//! (an address for a finding about an address, such as a spray), a public source address, a
//! session, or a resource naming an identity (a credential made for it, a role granted to
//! it, which it then uses) within `[incidents] window` are one [`Incident`], with its kill
//! chain, the entities involved and the evidence events, each listed once with every rule
//! that cited it. A finding belongs to exactly one incident; a lone finding is an incident
//! of one, so the incidents list always covers every finding.
//!
//! Severity: the highest of the findings', raised one step when the chain's findings stand
//! for [`TACTICS_TO_RAISE`] or more distinct ATT&CK tactics (a story that moves from access
//! to persistence to evasion is worse than any of its steps).
//!
//! The bounds against over-grouping are in [`links`]: an incident spans at most the window
//! from its first finding, and addresses or resources shared by many identities link
//! nothing.

mod links;
mod rows;

use std::collections::{BTreeMap, HashMap, HashSet};

use polars::prelude::DataFrame;

use crate::Result;
use crate::config::Config;
use crate::detectors::attack::{self, Tactic};
use crate::detectors::{Finding, Severity};
use crate::net::Addr;
use crate::schema::{ACTOR, IDENTITY, RESOURCE, SESSION, SRC_IP};
use rows::CitedRows;

/// Distinct tactics in a chain that raise its severity one step.
pub const TACTICS_TO_RAISE: usize = 3;
/// Evidence events kept per incident (the count says how many there are).
pub const MAX_EVIDENCE: usize = 500;
/// Entities kept per kind (the most frequent).
pub const MAX_ENTITIES_PER_KIND: usize = 50;

/// How findings are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The longest time from an incident's first finding to its last (µs).
    pub window: i64,
    /// An address that more identities acted from successfully links nothing; neither does a
    /// resource the findings of more subjects touch.
    pub shared_identities: usize,
}

impl Settings {
    /// The `[incidents]` settings of a configuration.
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            window: config.incidents.window_us(),
            shared_identities: config.incidents.shared_address_identities,
        }
    }
}

/// One step of a kill chain: a finding and the tactic it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The finding.
    pub finding: Finding,
    /// Its ATT&CK tactic (none when no technique it cites is known).
    pub tactic: Option<Tactic>,
}

/// What kind of thing an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityKind {
    /// A person or workload across providers (the `identity` column).
    Identity,
    /// A principal as one provider names it.
    Actor,
    /// A source address.
    Address,
    /// A resource acted on.
    Resource,
    /// A session or temporary credential id.
    Session,
    /// A credential a finding saw created (its owner or key).
    Credential,
}

impl EntityKind {
    /// The lowercase name (`identity`, `actor`, `address`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Identity => "identity",
            EntityKind::Actor => "actor",
            EntityKind::Address => "address",
            EntityKind::Resource => "resource",
            EntityKind::Session => "session",
            EntityKind::Credential => "credential",
        }
    }

    /// The column a filter narrows on for this kind.
    pub fn column(self) -> &'static str {
        match self {
            EntityKind::Identity => IDENTITY,
            EntityKind::Actor => ACTOR,
            EntityKind::Address => SRC_IP,
            EntityKind::Resource | EntityKind::Credential => RESOURCE,
            EntityKind::Session => SESSION,
        }
    }
}

/// Something an incident involves, with how many of its evidence events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// What it is.
    pub kind: EntityKind,
    /// Its value as the logs write it.
    pub value: String,
    /// Evidence events naming it.
    pub count: u64,
}

/// One event behind an incident, listed once with every rule that cited it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Row in the frame the rules ran on.
    pub row: u32,
    /// UTC µs.
    pub time: Option<i64>,
    /// Provider.
    pub provider: String,
    /// The provider's event id.
    pub event_id: String,
    /// Who acted.
    pub actor: String,
    /// The person or workload behind the actor.
    pub identity: String,
    /// What was done.
    pub action: String,
    /// On what.
    pub resource: String,
    /// From where.
    pub src_ip: String,
    /// Its session or credential id.
    pub session: String,
    /// The rules that cited it, in chain order.
    pub rules: Vec<String>,
}

/// Findings of one story.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Stable id across runs over the same data (`INC-` and a hash of its first finding).
    pub id: String,
    /// One line for lists.
    pub title: String,
    /// Whom it is mostly about (the identity of most findings, or an address).
    pub subject: String,
    /// The highest of its findings', raised per [`TACTICS_TO_RAISE`].
    pub severity: Severity,
    /// Whether the severity was raised for crossing tactics.
    pub raised: bool,
    /// The distinct tactics of its chain, in kill-chain order.
    pub tactics: Vec<Tactic>,
    /// Its findings by time.
    pub chain: Vec<Step>,
    /// Identities, actors, addresses, resources, sessions and credentials involved, by kind,
    /// most frequent first (at most [`MAX_ENTITIES_PER_KIND`] each).
    pub entities: Vec<Entity>,
    /// The first and last evidence event (UTC µs).
    pub first: Option<i64>,
    /// See `first`.
    pub last: Option<i64>,
    /// Evidence events by time, each once (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<Evidence>,
    /// How many distinct events are behind its findings.
    pub evidence_total: usize,
}

impl Evidence {
    /// Whether the event names `entity`.
    pub fn names(&self, entity: &Entity) -> bool {
        let value = match entity.kind {
            EntityKind::Identity => &self.identity,
            EntityKind::Actor => &self.actor,
            EntityKind::Address => &self.src_ip,
            EntityKind::Resource | EntityKind::Credential => &self.resource,
            EntityKind::Session => &self.session,
        };
        *value == entity.value
    }
}

impl Incident {
    /// Whether one of its findings has an event among `mask`'s rows (a filter's selection).
    pub fn in_mask(&self, mask: &[bool]) -> bool {
        self.chain.iter().any(|s| {
            s.finding
                .rows
                .iter()
                .any(|r| mask.get(*r as usize).copied().unwrap_or(false))
        })
    }

    /// Every frame row behind its findings.
    pub fn rows(&self) -> Vec<u32> {
        let mut rows: Vec<u32> = self
            .chain
            .iter()
            .flat_map(|s| s.finding.rows.iter().copied())
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    }
}

/// Groups findings of the rules run over `frame` into incidents, in the order of their first
/// finding.
pub fn group(
    frame: &DataFrame,
    findings: &[Finding],
    settings: &Settings,
) -> Result<Vec<Incident>> {
    group_timed(frame, findings, settings).map(|(incidents, _)| incidents)
}

/// How long each phase of [`group_timed`] took: `rows`, `shared addresses`, `keys`,
/// `grouping`, `building`.
pub type Timings = Vec<(&'static str, std::time::Duration)>;

/// [`group`], also returning the time each phase took (for the benchmark).
pub fn group_timed(
    frame: &DataFrame,
    findings: &[Finding],
    settings: &Settings,
) -> Result<(Vec<Incident>, Timings)> {
    let mut timings = Vec::new();
    let mut started = std::time::Instant::now();
    let mut lap = |name: &'static str, timings: &mut Timings| {
        timings.push((name, started.elapsed()));
        started = std::time::Instant::now();
    };
    let rows = CitedRows::read(frame, findings)?;
    lap("rows", &mut timings);
    let shared = links::shared_addresses(frame, findings, settings.shared_identities)?;
    lap("shared addresses", &mut timings);
    let keys = links::keys(findings, &rows, &shared, settings.shared_identities);
    lap("keys", &mut timings);
    let groups = links::group(findings, &keys, settings.window);
    lap("grouping", &mut timings);
    let incidents = groups
        .iter()
        .map(|members| build(findings, members, &rows))
        .collect();
    lap("building", &mut timings);
    Ok((incidents, timings))
}

fn build(findings: &[Finding], members: &[usize], rows: &CitedRows) -> Incident {
    let chain: Vec<Step> = members
        .iter()
        .map(|i| Step {
            finding: findings[*i].clone(),
            tactic: attack::tactic_of(&findings[*i].mitre),
        })
        .collect();
    let top = chain
        .iter()
        .map(|s| s.finding.severity)
        .max()
        .unwrap_or(Severity::Info);
    let mut tactics: Vec<Tactic> = chain.iter().filter_map(|s| s.tactic).collect();
    tactics.sort();
    tactics.dedup();
    let raised = tactics.len() >= TACTICS_TO_RAISE && top < Severity::Critical;
    let severity = if raised { top.up() } else { top };
    // Evidence: each event once, with the rules that cited it in chain order.
    let mut cited: BTreeMap<(i64, u32), Vec<String>> = BTreeMap::new();
    for step in &chain {
        for row in &step.finding.rows {
            let Some(i) = rows.at(*row) else { continue };
            let time = rows.time[i].unwrap_or(i64::MIN);
            let rules = cited.entry((time, *row)).or_default();
            if !rules.contains(&step.finding.rule) {
                rules.push(step.finding.rule.clone());
            }
        }
    }
    let credential_rows: HashSet<u32> = chain
        .iter()
        .filter(|s| s.finding.rule == "credential-created-for-other-identity")
        .flat_map(|s| s.finding.rows.iter().copied())
        .collect();
    let mut counts: HashMap<(EntityKind, &str), u64> = HashMap::new();
    for (_, row) in cited.keys() {
        let Some(i) = rows.at(*row) else { continue };
        let resource_kind = if credential_rows.contains(row) {
            EntityKind::Credential
        } else {
            EntityKind::Resource
        };
        for (kind, value) in [
            (EntityKind::Identity, rows.who(i)),
            (EntityKind::Actor, rows.actor[i].as_str()),
            (EntityKind::Address, rows.src_ip[i].as_str()),
            (resource_kind, rows.resource[i].as_str()),
            (EntityKind::Session, rows.session[i].as_str()),
        ] {
            // A named placeholder in the address column (`private`, `AWS Internal`,
            // `gce-internal-ip`) is no address to block or look up.
            let placeholder = kind == EntityKind::Address && Addr::parse(value).is_none();
            if !value.is_empty() && !placeholder {
                *counts.entry((kind, value)).or_default() += 1;
            }
        }
    }
    let mut entities: Vec<Entity> = counts
        .into_iter()
        .map(|((kind, value), count)| Entity {
            kind,
            value: value.to_string(),
            count,
        })
        .collect();
    entities.sort_by(|a, b| (a.kind, b.count, &a.value).cmp(&(b.kind, a.count, &b.value)));
    let mut kept: HashMap<EntityKind, usize> = HashMap::new();
    entities.retain(|e| {
        let n = kept.entry(e.kind).or_default();
        *n += 1;
        *n <= MAX_ENTITIES_PER_KIND
    });
    let times = cited.keys().map(|(t, _)| *t).filter(|t| *t != i64::MIN);
    let first = times
        .clone()
        .min()
        .or_else(|| chain.iter().filter_map(|s| s.finding.time).min());
    let last = times.max().or(first);
    let evidence_total = cited.len();
    let evidence: Vec<Evidence> = cited
        .into_iter()
        .take(MAX_EVIDENCE)
        .filter_map(|((_, row), rules)| {
            let i = rows.at(row)?;
            Some(Evidence {
                row,
                time: rows.time[i],
                provider: rows.provider[i].clone(),
                event_id: rows.event_id[i].clone(),
                actor: rows.actor[i].clone(),
                identity: rows.who(i).to_string(),
                action: rows.action[i].clone(),
                resource: rows.resource[i].clone(),
                src_ip: rows.src_ip[i].clone(),
                session: rows.session[i].clone(),
                rules,
            })
        })
        .collect();
    let subject = subject_of(&chain, rows);
    let id = chain.first().map_or_else(String::new, |s| {
        format!("INC-{:012x}", s.finding.identity() >> 16)
    });
    let title = title(&chain, &subject, &tactics);
    Incident {
        id,
        title,
        subject,
        severity,
        raised,
        tactics,
        chain,
        entities,
        first,
        last,
        evidence,
        evidence_total,
    }
}

/// The subject most findings are about, preferring an identity to an address.
fn subject_of(chain: &[Step], rows: &CitedRows) -> String {
    let mut tally: BTreeMap<(bool, String), usize> = BTreeMap::new();
    for step in chain {
        let who = links::subject(&step.finding, rows);
        let is_address = crate::net::Addr::parse(&who).is_some();
        *tally.entry((!is_address, who)).or_default() += 1;
    }
    tally
        .into_iter()
        .max_by(|((a_id, a), an), ((b_id, b), bn)| (a_id, an, b).cmp(&(b_id, bn, a)))
        .map(|((_, who), _)| who)
        .unwrap_or_default()
}

/// `dana@corp: Audit logging stopped, and 30 more findings across 7 tactics` (the title of
/// its most severe finding, the earliest among equals).
fn title(chain: &[Step], subject: &str, tactics: &[Tactic]) -> String {
    let Some(top) = chain
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| (s.finding.severity, std::cmp::Reverse(*i)))
        .map(|(_, s)| s)
    else {
        return String::new();
    };
    match chain.len() {
        1 => format!("{subject}: {}", top.finding.title),
        n => format!(
            "{subject}: {}, and {} more finding{} across {} tactic{}",
            top.finding.title,
            n - 1,
            if n == 2 { "" } else { "s" },
            tactics.len(),
            if tactics.len() == 1 { "" } else { "s" }
        ),
    }
}

#[cfg(test)]
mod tests;
