//! What links two findings, and the grouping itself: findings sharing a key (an identity, a
//! public address, a session, a resource naming an identity) within the window join one
//! group. Two bounds keep a busy key from chaining a month into one incident: a group spans
//! at most the window from its first finding, and keys shared by too many identities
//! (a NAT address, an application everyone signs in to) link nothing.

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use super::rows::CitedRows;
use crate::detectors::Finding;
use crate::detectors::instance_credentials::is_public;
use crate::net::Addr;
use crate::schema::{Dictionaries, IDENTITY, OUTCOME, SRC_IP};
use crate::{Error, Result};

/// Something two findings can share.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Key {
    /// An identity (lowercased): who acted, whom a finding is about, or an identity a
    /// finding's resource names (a credential made for it, a role granted to it).
    Who(String),
    /// A public source address.
    Address(String),
    /// A session or credential id.
    Session(String),
    /// A resource acted on (not the application of a sign-in).
    Resource(String),
}

/// Rules about signing in: their resources are applications everyone signs in to, so they
/// link nothing.
const SIGN_IN_RULES: &[&str] = &[
    "password-spray",
    "signin-failure-burst",
    "signin-success-after-failures",
    "mfa-fatigue",
    "impossible-travel",
    "console-signin-without-mfa",
    "provider-risk-signal",
];

/// Whom a finding is about: its actor when that is an address (a spray), else the identity of
/// its first event, else its actor.
pub(super) fn subject(f: &Finding, rows: &CitedRows) -> String {
    if Addr::parse(&f.actor).is_some() {
        return f.actor.clone();
    }
    f.rows
        .first()
        .and_then(|r| rows.at(*r))
        .map(|i| rows.who(i).to_string())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| f.actor.clone())
}

/// The public addresses that more than `limit` identities acted from successfully, among
/// the addresses the findings' events came from: one pass over the frame's dictionary ids,
/// a row costing one lookup in a table indexed by id unless its address is a candidate.
pub(super) fn shared_addresses(
    frame: &DataFrame,
    findings: &[Finding],
    limit: usize,
) -> Result<HashSet<String>> {
    let ids = |name: &str| crate::detectors::event::u32s(frame, name);
    let addresses = ids(SRC_IP)?;
    let dictionary = Dictionaries::shared();
    let mut candidates: HashMap<u32, HashSet<u32>> = HashMap::new();
    for f in findings {
        // A spray's address is its events' source too, so it is among the candidates.
        for row in &f.rows {
            if let Some(Some(id)) = addresses.get(*row as usize)
                && dictionary.category_name(SRC_IP, *id).is_some_and(is_public)
            {
                candidates.entry(*id).or_default();
            }
        }
    }
    let Some(largest) = candidates.keys().max() else {
        return Ok(HashSet::new());
    };
    let mut wanted = vec![false; *largest as usize + 1];
    for id in candidates.keys() {
        wanted[*id as usize] = true;
    }
    let success = dictionary
        .category_values(OUTCOME)
        .into_iter()
        .find(|(_, name)| name == "success")
        .map(|(id, _)| id);
    let identity = frame
        .column(IDENTITY)
        .map_err(Error::polars("reading a column"))?
        .as_materialized_series()
        .to_physical_repr();
    let identity = identity.u32().map_err(Error::polars("reading a column"))?;
    let outcome = frame
        .column(OUTCOME)
        .map_err(Error::polars("reading a column"))?
        .as_materialized_series()
        .to_physical_repr();
    let outcome = outcome.u32().map_err(Error::polars("reading a column"))?;
    // One zipped pass (a chunked array's `get` searches its chunks on every call).
    for ((address, outcome), who) in addresses.iter().zip(outcome.iter()).zip(identity.iter()) {
        let Some(address) = address else { continue };
        if !wanted.get(*address as usize).copied().unwrap_or(false) || outcome != success {
            continue;
        }
        let Some(who) = who else { continue };
        if let Some(seen) = candidates.get_mut(address)
            && seen.len() <= limit
        {
            seen.insert(who);
        }
    }
    Ok(candidates
        .into_iter()
        .filter(|(_, seen)| seen.len() > limit)
        .filter_map(|(id, _)| dictionary.category_name(SRC_IP, id).map(String::from))
        .collect())
}

/// The keys of each finding (in the findings' order), without shared addresses and without
/// resources more than `limit` subjects' findings touch.
pub(super) fn keys(
    findings: &[Finding],
    rows: &CitedRows,
    shared: &HashSet<String>,
    limit: usize,
) -> Vec<BTreeSet<Key>> {
    let lower = |s: &str| s.to_lowercase();
    let mut all: Vec<BTreeSet<Key>> = findings
        .iter()
        .map(|f| {
            let mut keys = BTreeSet::new();
            let by_address = Addr::parse(&f.actor).is_some();
            if by_address {
                if !shared.contains(f.actor.trim()) {
                    keys.insert(Key::Address(f.actor.trim().to_string()));
                }
            } else if !f.actor.is_empty() {
                keys.insert(Key::Who(lower(&f.actor)));
            }
            let sign_in = SIGN_IN_RULES.contains(&f.rule.as_str());
            for i in f.rows.iter().filter_map(|r| rows.at(*r)) {
                // A spray's events name its victims, who did nothing: it links by address.
                if !by_address && !rows.who(i).is_empty() {
                    keys.insert(Key::Who(lower(rows.who(i))));
                }
                let ip = rows.src_ip[i].trim();
                if is_public(ip) && !shared.contains(ip) {
                    keys.insert(Key::Address(ip.to_string()));
                }
                if !rows.session[i].is_empty() {
                    keys.insert(Key::Session(rows.session[i].clone()));
                }
                if !sign_in && !rows.resource[i].is_empty() {
                    keys.insert(Key::Resource(lower(&rows.resource[i])));
                    keys.insert(Key::Who(lower(&rows.resource[i])));
                }
            }
            keys
        })
        .collect();
    // A resource many people's findings touch (a busy bucket, a shared namespace) is
    // ordinary work, not a thread of one story.
    let mut touched: HashMap<&Key, HashSet<String>> = HashMap::new();
    let subjects: Vec<String> = findings.iter().map(|f| subject(f, rows)).collect();
    for (keys, who) in all.iter().zip(&subjects) {
        for key in keys.iter().filter(|k| matches!(k, Key::Resource(_))) {
            touched.entry(key).or_default().insert(who.clone());
        }
    }
    let busy: HashSet<Key> = touched
        .into_iter()
        .filter(|(_, who)| who.len() > limit)
        .map(|(k, _)| k.clone())
        .collect();
    for keys in &mut all {
        keys.retain(|k| !busy.contains(k));
    }
    all
}

/// One group being built: when its first finding happened, its findings, and the group it
/// was merged into.
struct Group {
    start: i64,
    members: Vec<usize>,
    merged_into: Option<usize>,
}

fn root(groups: &[Group], mut g: usize) -> usize {
    while let Some(next) = groups[g].merged_into {
        g = next;
    }
    g
}

/// Groups findings (indices into `findings`) that share a key, each group spanning at most
/// `window` µs from its first finding to its last; every finding is in exactly one group.
/// Groups come in the order of their first finding.
pub(super) fn group(findings: &[Finding], keys: &[BTreeSet<Key>], window: i64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|i| (findings[*i].time.unwrap_or(i64::MIN), *i));
    let mut groups: Vec<Group> = Vec::new();
    let mut latest: HashMap<&Key, usize> = HashMap::new();
    for i in order {
        let time = findings[i].time.unwrap_or(i64::MIN);
        let earliest = time.saturating_sub(window);
        let candidates: BTreeSet<usize> = keys[i]
            .iter()
            .filter_map(|k| latest.get(k))
            .map(|g| root(&groups, *g))
            .filter(|g| groups[*g].start >= earliest)
            .collect();
        let target = match candidates.first() {
            Some(first) => {
                let first = *first;
                for other in candidates.iter().skip(1) {
                    let moved = std::mem::take(&mut groups[*other].members);
                    let start = groups[*other].start;
                    groups[*other].merged_into = Some(first);
                    groups[first].members.extend(moved);
                    groups[first].start = groups[first].start.min(start);
                }
                first
            }
            None => {
                groups.push(Group {
                    start: time,
                    members: Vec::new(),
                    merged_into: None,
                });
                groups.len() - 1
            }
        };
        groups[target].members.push(i);
        for k in &keys[i] {
            latest.insert(k, target);
        }
    }
    let mut out: Vec<Vec<usize>> = groups
        .into_iter()
        .filter(|g| g.merged_into.is_none() && !g.members.is_empty())
        .map(|mut g| {
            g.members
                .sort_by_key(|i| (findings[*i].time.unwrap_or(i64::MIN), *i));
            g.members
        })
        .collect();
    out.sort_by_key(|m| {
        m.first()
            .map(|i| (findings[*i].time.unwrap_or(i64::MIN), *i))
    });
    out
}
