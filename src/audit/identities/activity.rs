//! What each identity did: kind, providers, accounts, first and last seen, active days and
//! the longest silence, events, privileged actions, failures, MFA coverage of interactive
//! sign-ins, source networks, countries and user agents. One Polars group-by per aggregate
//! over the selected events; the grouped results (a few rows per identity) are read here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::*;

use super::names::{Dict, identity_column, packed};
use super::{DAY, IdentitiesSpec, IdentityRow, Kind, LinkedActor};
use crate::detectors::context::{Combo, glob_regex, is_signin, is_system_actor};
use crate::detectors::event::{i64s, strings, u64s};
use crate::net::Addr;
use crate::schema::{
    ACCOUNT, ACTION, ACTOR, ACTOR_TYPE, COUNTRY, Dictionaries, MFA, OUTCOME, PRIVILEGED, PROVIDER,
    SRC_IP, TIME, USER_AGENT, has_category_id,
};
use crate::{Error, Result};

const ID: &str = "__identity";
const N: &str = "__n";

/// The rows of every identity with activity, before lifecycle, credentials, holdings and
/// flags; most active first, ties by name.
pub(crate) fn activity(frame: &DataFrame, spec: &IdentitiesSpec) -> Result<Vec<IdentityRow>> {
    let base = frame
        .clone()
        .lazy()
        .filter(col(identity_column()).is_not_null())
        .with_column(col(identity_column()).alias(ID));
    let failure = category_is(OUTCOME, |o| o == "failure");
    let main = base
        .clone()
        .group_by([col(ID).to_physical().cast(DataType::UInt64).alias(ID)])
        .agg([
            col(TIME).min().alias("first"),
            col(TIME).max().alias("last"),
            len().cast(DataType::UInt64).alias(N),
            col(PRIVILEGED)
                .fill_null(lit(false))
                .sum()
                .cast(DataType::UInt64)
                .alias("privileged"),
            col(PRIVILEGED)
                .fill_null(lit(false))
                .and(col(MFA).eq(lit(false)).fill_null(lit(false)))
                .sum()
                .cast(DataType::UInt64)
                .alias("no_mfa"),
            failure.sum().cast(DataType::UInt64).alias("failures"),
        ])
        .collect()
        .map_err(Error::polars("identity activity"))?;
    let identities = Dict::of(identity_column());
    let ids = u64s(&main, ID)?;
    let (first, last) = (i64s(&main, "first")?, i64s(&main, "last")?);
    let (events, privileged) = (u64s(&main, N)?, u64s(&main, "privileged")?);
    let (no_mfa, failures) = (u64s(&main, "no_mfa")?, u64s(&main, "failures")?);
    let mut rows: Vec<(u64, IdentityRow)> = (0..main.height())
        .filter_map(|i| {
            let id = ids[i]?;
            let name = identities.name(id)?;
            Some((
                id,
                IdentityRow {
                    identity: name.to_string(),
                    first_seen: first[i],
                    last_seen: last[i],
                    events: events[i].unwrap_or(0),
                    privileged: privileged[i].unwrap_or(0),
                    privileged_without_mfa: no_mfa[i].unwrap_or(0),
                    failures: failures[i].unwrap_or(0),
                    ..IdentityRow::default()
                },
            ))
        })
        .collect();
    rows.sort_by(|(_, a), (_, b)| {
        b.events
            .cmp(&a.events)
            .then_with(|| a.identity.cmp(&b.identity))
    });
    let index: HashMap<u64, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut rows: Vec<IdentityRow> = rows.into_iter().map(|(_, r)| r).collect();

    // Kind: the actor types its records carry, and its name.
    let breakglass = spec
        .breakglass
        .iter()
        .map(|g| glob_regex(g))
        .collect::<Result<Vec<_>>>()?;
    let types = Dict::of(ACTOR_TYPE);
    let mut kinds: HashMap<usize, BTreeMap<String, u64>> = HashMap::new();
    for (i, value, n) in pairs(&base, &index, ACTOR_TYPE, None)? {
        let name = types.name(value).unwrap_or_default().to_string();
        *kinds.entry(i).or_default().entry(name).or_default() += n;
    }
    for (i, row) in rows.iter_mut().enumerate() {
        let counts = kinds.remove(&i).unwrap_or_default();
        let (kind, why) = classify(&row.identity, &counts, row.events, &breakglass);
        row.kind = kind;
        row.kind_why = why;
    }

    // Actors and providers.
    let (actors, providers) = (Dict::of(ACTOR), Dict::of(PROVIDER));
    let linked = base
        .clone()
        .filter(col(ACTOR).is_not_null())
        .group_by([
            packed(col(ID), col(ACTOR)).alias("k"),
            col(PROVIDER)
                .to_physical()
                .cast(DataType::UInt64)
                .alias(PROVIDER),
        ])
        .agg([len().alias(N)])
        .collect()
        .map_err(Error::polars("actors of identities"))?;
    for (key, provider) in u64s(&linked, "k")?
        .into_iter()
        .zip(u64s(&linked, PROVIDER)?)
    {
        let Some(key) = key else { continue };
        let Some(&i) = index.get(&(key >> 32)) else {
            continue;
        };
        let actor = actors
            .name(key & 0xffff_ffff)
            .unwrap_or_default()
            .to_string();
        let provider = provider
            .and_then(|p| providers.name(p))
            .unwrap_or_default()
            .to_string();
        let row = &mut rows[i];
        if !provider.is_empty() && !row.providers.contains(&provider) {
            row.providers.push(provider.clone());
        }
        row.actors.push(LinkedActor {
            why: if actor == row.identity {
                "the actor itself".to_string()
            } else {
                String::new()
            },
            actor,
            provider,
        });
    }
    // Accounts and countries.
    let accounts = Dict::of(ACCOUNT);
    for (i, value, _) in pairs(&base, &index, ACCOUNT, None)? {
        if let Some(name) = accounts.name(value) {
            rows[i].accounts.push(name.to_string());
        }
    }
    let countries = Dict::of(COUNTRY);
    for (i, value, _) in pairs(&base, &index, COUNTRY, None)? {
        if let Some(name) = countries.name(value) {
            rows[i].countries.push(name.to_string());
        }
    }
    // User agents: how many, and the most used.
    let agents = Dict::of(USER_AGENT);
    let mut top_agent: HashMap<usize, (u64, u64)> = HashMap::new();
    for (i, value, n) in pairs(&base, &index, USER_AGENT, None)? {
        rows[i].user_agents += 1;
        let best = top_agent.entry(i).or_insert((0, value));
        let better = n > best.0 || (n == best.0 && agents.name(value) < agents.name(best.1));
        if better {
            *best = (n, value);
        }
    }
    for (i, (_, value)) in top_agent {
        rows[i].top_user_agent = agents.name(value).unwrap_or_default().to_string();
    }
    // Source networks: /24 for IPv4, /48 for IPv6 (what is not an address is not counted);
    // each distinct address is parsed once.
    let addresses = Dict::of(SRC_IP);
    let mut parsed: HashMap<u64, Option<(bool, u128)>> = HashMap::new();
    let mut networks: HashMap<usize, BTreeSet<(bool, u128)>> = HashMap::new();
    for (i, value, _) in pairs(&base, &index, SRC_IP, None)? {
        let net = *parsed
            .entry(value)
            .or_insert_with(|| addresses.name(value).and_then(network));
        if let Some(net) = net {
            networks.entry(i).or_default().insert(net);
        }
    }
    for (i, nets) in networks {
        rows[i].networks = nets.len() as u64;
    }
    // Active days, and the longest silence between two of them: (identity, day) keys in
    // order are each identity's days in order.
    let day = (col(TIME).to_physical() / lit(DAY)).cast(DataType::UInt64);
    let days = base
        .clone()
        .filter(col(TIME).is_not_null())
        .group_by([
            (col(ID).to_physical().cast(DataType::UInt64) * lit(1u64 << 32) + day).alias("k"),
        ])
        .agg([len().alias(N)])
        .sort(["k"], SortMultipleOptions::default())
        .collect()
        .map_err(Error::polars("active days"))?;
    let mut previous: Option<(usize, i64)> = None;
    for key in u64s(&days, "k")?.into_iter().flatten() {
        let Some(&i) = index.get(&(key >> 32)) else {
            continue;
        };
        let day = (key & 0xffff_ffff) as i64;
        let row = &mut rows[i];
        row.active_days += 1;
        if let Some((before_row, before)) = previous
            && before_row == i
        {
            let gap = (day - before - 1).max(0) as u64;
            if gap > row.longest_gap_days {
                row.longest_gap_days = gap;
                row.gap_end = Some(day * DAY);
            }
        }
        previous = Some((i, day));
    }
    // The latest privileged action.
    let latest = base
        .clone()
        .filter(col(PRIVILEGED).eq(lit(true)))
        .group_by([col(ID).to_physical().cast(DataType::UInt64).alias(ID)])
        .agg([
            col(TIME).max().alias("t"),
            col(ACTION)
                .sort_by([col(TIME)], SortMultipleOptions::default())
                .last()
                .alias(ACTION),
        ])
        .collect()
        .map_err(Error::polars("latest privileged actions"))?;
    let (ids, times, actions) = (
        u64s(&latest, ID)?,
        i64s(&latest, "t")?,
        strings(&latest, ACTION)?,
    );
    for ((id, t), action) in ids.iter().zip(times).zip(actions) {
        if let (Some(&i), Some(t)) = (id.and_then(|id| index.get(&id)), t) {
            rows[i].last_privileged = Some((t, action));
        }
    }
    // MFA coverage of successful interactive sign-ins whose record tells.
    let signin_ids: Vec<u32> = Dictionaries::shared()
        .category_values(ACTION)
        .into_iter()
        .filter(|(_, name)| is_signin_name(name))
        .map(|(id, _)| id)
        .collect();
    if !signin_ids.is_empty() {
        let success = category_is(OUTCOME, |o| o == "success");
        let filter = has_category_id(ACTION, signin_ids)
            .and(success)
            .and(col(MFA).is_not_null());
        let signins = base
            .clone()
            .filter(filter)
            .group_by([
                col(ID).cast(DataType::String),
                col(PROVIDER),
                col(ACTION),
                col(MFA),
            ])
            .agg([len().cast(DataType::UInt64).alias(N)])
            .collect()
            .map_err(Error::polars("sign-ins and MFA"))?;
        let (ids, providers, actions) = (
            strings(&signins, ID)?,
            strings(&signins, PROVIDER)?,
            strings(&signins, ACTION)?,
        );
        let mfa = signins
            .column(MFA)
            .map_err(Error::polars("reading MFA"))?
            .bool()
            .map_err(Error::polars("reading MFA"))?
            .iter()
            .collect::<Vec<_>>();
        let n = u64s(&signins, N)?;
        let by_name: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.identity.as_str(), i))
            .collect();
        let mut counts: Vec<(usize, u64, bool)> = Vec::new();
        for i in 0..signins.height() {
            let combo = Combo {
                key: 0,
                provider: providers[i].clone(),
                service: String::new(),
                action: actions[i].clone(),
            };
            let Some(&r) = by_name.get(ids[i].as_str()).filter(|_| is_signin(&combo)) else {
                continue;
            };
            counts.push((r, n[i].unwrap_or(0), mfa[i] == Some(true)));
        }
        for (r, count, with_mfa) in counts {
            rows[r].signins += count;
            if with_mfa {
                rows[r].mfa_signins += count;
            }
        }
    }
    for row in &mut rows {
        row.providers.sort();
        row.actors
            .sort_by(|a, b| (&a.provider, &a.actor).cmp(&(&b.provider, &b.actor)));
        row.accounts.sort();
        row.countries.sort();
    }
    Ok(rows)
}

/// When each identity's latest successful privileged action was (µs).
pub(crate) fn last_successful_privileged(frame: &DataFrame) -> Result<HashMap<String, i64>> {
    latest_per_identity(
        frame,
        col(PRIVILEGED)
            .eq(lit(true))
            .and(category_is(OUTCOME, |o| o == "success")),
        "latest privileged actions",
    )
}

/// When each identity's latest successful AWS console sign-in was (µs).
pub(crate) fn last_console_logins(frame: &DataFrame) -> Result<HashMap<String, i64>> {
    latest_per_identity(
        frame,
        category_is(ACTION, |a| a == "ConsoleLogin")
            .and(category_is(PROVIDER, |p| p == "aws"))
            .and(category_is(OUTCOME, |o| o == "success")),
        "latest console sign-ins",
    )
}

/// The time of each identity's latest event matching `wanted` (µs).
fn latest_per_identity(
    frame: &DataFrame,
    wanted: Expr,
    what: &'static str,
) -> Result<HashMap<String, i64>> {
    let df = frame
        .clone()
        .lazy()
        .filter(col(identity_column()).is_not_null().and(wanted))
        .group_by([col(identity_column()).alias(ID)])
        .agg([col(TIME).max().alias("t")])
        .collect()
        .map_err(Error::polars(what))?;
    let (ids, times) = (strings(&df, ID)?, i64s(&df, "t")?);
    Ok(ids
        .into_iter()
        .zip(times)
        .filter_map(|(id, t)| Some((id, t?)))
        .collect())
}

/// Rows whose categorical column holds a value passing `accept` (a test on dictionary ids).
fn category_is(column: &str, accept: impl Fn(&str) -> bool) -> Expr {
    let ids: Vec<u32> = Dictionaries::shared()
        .category_values(column)
        .into_iter()
        .filter(|(_, v)| accept(v))
        .map(|(id, _)| id)
        .collect();
    has_category_id(column, ids)
}

/// Events per (identity, value of a categorical column), as (row index, value id, count);
/// nulls are left out. One group-by on the two dictionary ids packed in one integer.
fn pairs(
    base: &LazyFrame,
    index: &HashMap<u64, usize>,
    column: &str,
    filter: Option<Expr>,
) -> Result<Vec<(usize, u64, u64)>> {
    let mut lazy = base.clone().filter(col(column).is_not_null());
    if let Some(filter) = filter {
        lazy = lazy.filter(filter);
    }
    let df = lazy
        .group_by([packed(col(ID), col(column)).alias("k")])
        .agg([len().cast(DataType::UInt64).alias(N)])
        .collect()
        .map_err(Error::polars("identity values"))?;
    let (keys, n) = (u64s(&df, "k")?, u64s(&df, N)?);
    Ok(keys
        .into_iter()
        .zip(n)
        .filter_map(|(k, n)| {
            let k = k?;
            let i = *index.get(&(k >> 32))?;
            Some((i, k & 0xffff_ffff, n.unwrap_or(0)))
        })
        .collect())
}

/// Whether an action name is an interactive sign-in in some provider.
fn is_signin_name(action: &str) -> bool {
    crate::schema::PROVIDERS.iter().any(|p| {
        is_signin(&Combo {
            key: 0,
            provider: (*p).to_string(),
            service: String::new(),
            action: action.to_string(),
        })
    })
}

/// The /24 (IPv4) or /48 (IPv6) network of an address.
pub(crate) fn network(ip: &str) -> Option<(bool, u128)> {
    let Addr { bits, v4 } = Addr::parse(ip)?;
    Some(if v4 {
        (true, bits >> 8)
    } else {
        (false, bits >> 80)
    })
}

/// The kind of an identity and why: root when a record says so or it is a configured
/// break-glass account, the platform by its name, else what most of its records say.
fn classify(
    name: &str,
    types: &BTreeMap<String, u64>,
    events: u64,
    breakglass: &[regex::Regex],
) -> (Kind, String) {
    let count = |t: &str| types.get(t).copied().unwrap_or(0);
    if count("root") > 0 {
        return (
            Kind::Root,
            format!(
                "its records name the account's root user ({} of {events} events)",
                count("root")
            ),
        );
    }
    if breakglass.iter().any(|r| r.is_match(name)) {
        return (
            Kind::Root,
            "configured as a break-glass account ([detect] breakglass_actors)".to_string(),
        );
    }
    let (best, n) = types
        .iter()
        .filter(|(t, _)| t.as_str() != "unknown" && !t.is_empty())
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(t, n)| (t.as_str(), *n))
        .unwrap_or(("unknown", 0));
    if is_system_actor(name, best) && best != "anonymous" {
        let why = if best == "system" {
            format!("its records type it system ({n} of {events} events)")
        } else {
            "its name is the platform's (Kubernetes system: or eks: identity)".to_string()
        };
        return (Kind::System, why);
    }
    let kind = match best {
        "human" => Kind::Human,
        "service" => Kind::Service,
        "system" => Kind::System,
        "anonymous" => Kind::Anonymous,
        _ => Kind::Unknown,
    };
    if kind == Kind::Unknown {
        return (
            kind,
            "no record says what kind of identity it is".to_string(),
        );
    }
    let others: Vec<String> = types
        .iter()
        .filter(|(t, _)| t.as_str() != best)
        .map(|(t, n)| format!("{} on {n}", if t.is_empty() { "unknown" } else { t }))
        .collect();
    let mut why = format!("its records type it {best} ({n} of {events} events)");
    if !others.is_empty() {
        why.push_str(&format!("; {}", others.join(", ")));
    }
    (kind, why)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_slash_24_and_slash_48() {
        assert_eq!(network("198.51.100.7"), network("198.51.100.200"));
        assert_ne!(network("198.51.100.7"), network("198.51.101.7"));
        assert_eq!(network("2001:db8:1:ffff::1"), network("2001:db8:1:0::2"));
        assert_ne!(network("2001:db8:1::1"), network("2001:db8:2::1"));
        assert_eq!(network("not an address"), None);
    }

    #[test]
    fn kind_follows_the_records_and_says_why() {
        let types: BTreeMap<String, u64> =
            [("human".to_string(), 9), ("service".to_string(), 1)].into();
        let (kind, why) = classify("ann@example.com", &types, 10, &[]);
        assert_eq!(kind, Kind::Human);
        assert!(why.contains("human (9 of 10 events)"), "{why}");
        assert!(why.contains("service on 1"), "{why}");
        let root: BTreeMap<String, u64> = [("root".to_string(), 1)].into();
        assert_eq!(classify("x", &root, 3, &[]).0, Kind::Root);
        let glass = [glob_regex("*break-glass*").unwrap()];
        let (kind, why) = classify("break-glass-1@corp", &types, 10, &glass);
        assert_eq!(kind, Kind::Root);
        assert!(why.contains("break-glass"));
        let sys: BTreeMap<String, u64> = [("service".to_string(), 4)].into();
        assert_eq!(
            classify("system:kube-scheduler", &sys, 4, &[]).0,
            Kind::System
        );
        assert_eq!(classify("x", &BTreeMap::new(), 1, &[]).0, Kind::Unknown);
    }
}
