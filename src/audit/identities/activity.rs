//! What each identity did: kind, providers, accounts, first and last seen, active days and
//! the longest silence, events, privileged actions, failures, MFA coverage of interactive
//! sign-ins, source networks, countries and user agents. One Polars group-by per aggregate
//! over the selected events; the grouped results (a few rows per identity) are read here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::*;

use super::names::identity_column;
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
        .group_by([col(ID)])
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
    let names = strings(&main, ID)?;
    let (first, last) = (i64s(&main, "first")?, i64s(&main, "last")?);
    let (events, privileged) = (u64s(&main, N)?, u64s(&main, "privileged")?);
    let (no_mfa, failures) = (u64s(&main, "no_mfa")?, u64s(&main, "failures")?);
    let mut rows: Vec<IdentityRow> = (0..main.height())
        .map(|i| IdentityRow {
            identity: names[i].clone(),
            first_seen: first[i],
            last_seen: last[i],
            events: events[i].unwrap_or(0),
            privileged: privileged[i].unwrap_or(0),
            privileged_without_mfa: no_mfa[i].unwrap_or(0),
            failures: failures[i].unwrap_or(0),
            ..IdentityRow::default()
        })
        .collect();
    rows.sort_by(|a, b| {
        b.events
            .cmp(&a.events)
            .then_with(|| a.identity.cmp(&b.identity))
    });
    let index: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.identity.clone(), i))
        .collect();
    let at = |name: &str| index.get(name).copied();

    // Kind: the actor types its records carry, and its name.
    let breakglass = spec
        .breakglass
        .iter()
        .map(|g| glob_regex(g))
        .collect::<Result<Vec<_>>>()?;
    let mut types: HashMap<usize, BTreeMap<String, u64>> = HashMap::new();
    for (id, kind, n) in counted(&base, &[ACTOR_TYPE], None)? {
        if let Some(i) = at(&id) {
            *types
                .entry(i)
                .or_default()
                .entry(kind[0].clone())
                .or_default() += n;
        }
    }
    for (i, row) in rows.iter_mut().enumerate() {
        let counts = types.remove(&i).unwrap_or_default();
        let (kind, why) = classify(&row.identity, &counts, row.events, &breakglass);
        row.kind = kind;
        row.kind_why = why;
    }

    // Actors and providers.
    for (id, values, _) in counted(&base, &[ACTOR, PROVIDER], None)? {
        if let Some(i) = at(&id) {
            let row = &mut rows[i];
            let (actor, provider) = (values[0].clone(), values[1].clone());
            if !row.providers.contains(&provider) && !provider.is_empty() {
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
    }
    // Accounts and countries.
    for (id, values, _) in counted(&base, &[ACCOUNT], Some(col(ACCOUNT).is_not_null()))? {
        if let Some(i) = at(&id) {
            rows[i].accounts.push(values[0].clone());
        }
    }
    for (id, values, _) in counted(&base, &[COUNTRY], Some(col(COUNTRY).is_not_null()))? {
        if let Some(i) = at(&id) {
            rows[i].countries.push(values[0].clone());
        }
    }
    // User agents: how many, and the most used.
    let mut top_agent: HashMap<usize, u64> = HashMap::new();
    for (id, values, n) in counted(&base, &[USER_AGENT], Some(col(USER_AGENT).is_not_null()))? {
        if let Some(i) = at(&id) {
            let row = &mut rows[i];
            row.user_agents += 1;
            let best = top_agent.entry(i).or_default();
            if n > *best || (n == *best && values[0] < row.top_user_agent) {
                *best = n;
                row.top_user_agent = values[0].clone();
            }
        }
    }
    // Source networks: /24 for IPv4, /48 for IPv6 (what is not an address is not counted).
    let mut networks: HashMap<usize, BTreeSet<(bool, u128)>> = HashMap::new();
    for (id, values, _) in counted(&base, &[SRC_IP], Some(col(SRC_IP).is_not_null()))? {
        if let (Some(i), Some(net)) = (at(&id), network(&values[0])) {
            networks.entry(i).or_default().insert(net);
        }
    }
    for (i, nets) in networks {
        rows[i].networks = nets.len() as u64;
    }
    // Active days, and the longest silence between two of them.
    let days = base
        .clone()
        .group_by([col(ID), (col(TIME).to_physical() / lit(DAY)).alias("day")])
        .agg([len().alias(N)])
        .sort(["day"], SortMultipleOptions::default())
        .collect()
        .map_err(Error::polars("active days"))?;
    let (ids, day) = (strings(&days, ID)?, i64s(&days, "day")?);
    let mut previous: HashMap<usize, i64> = HashMap::new();
    for (id, day) in ids.iter().zip(day) {
        let (Some(i), Some(day)) = (at(id), day) else {
            continue;
        };
        let row = &mut rows[i];
        row.active_days += 1;
        if let Some(before) = previous.insert(i, day) {
            let gap = (day - before - 1).max(0) as u64;
            if gap > row.longest_gap_days {
                row.longest_gap_days = gap;
                row.gap_end = Some(day * DAY);
            }
        }
    }
    // The latest privileged action.
    let latest = base
        .clone()
        .filter(col(PRIVILEGED).eq(lit(true)))
        .group_by([col(ID)])
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
        strings(&latest, ID)?,
        i64s(&latest, "t")?,
        strings(&latest, ACTION)?,
    );
    for ((id, t), action) in ids.iter().zip(times).zip(actions) {
        if let (Some(i), Some(t)) = (at(id), t) {
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
            .group_by([col(ID), col(PROVIDER), col(ACTION), col(MFA)])
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
        for i in 0..signins.height() {
            let combo = Combo {
                key: 0,
                provider: providers[i].clone(),
                service: String::new(),
                action: actions[i].clone(),
            };
            let Some(r) = at(&ids[i]).filter(|_| is_signin(&combo)) else {
                continue;
            };
            let count = n[i].unwrap_or(0);
            rows[r].signins += count;
            if mfa[i] == Some(true) {
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
    let df = frame
        .clone()
        .lazy()
        .filter(
            col(identity_column())
                .is_not_null()
                .and(col(PRIVILEGED).eq(lit(true)))
                .and(category_is(OUTCOME, |o| o == "success")),
        )
        .group_by([col(identity_column()).alias(ID)])
        .agg([col(TIME).max().alias("t")])
        .collect()
        .map_err(Error::polars("latest privileged actions"))?;
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

/// Events per (identity, values of `columns`), as (identity, values, count).
fn counted(
    base: &LazyFrame,
    columns: &[&str],
    filter: Option<Expr>,
) -> Result<Vec<(String, Vec<String>, u64)>> {
    let mut lazy = base.clone();
    if let Some(filter) = filter {
        lazy = lazy.filter(filter);
    }
    let mut keys = vec![col(ID)];
    keys.extend(columns.iter().map(|c| col(*c)));
    let df = lazy
        .group_by(keys)
        .agg([len().cast(DataType::UInt64).alias(N)])
        .collect()
        .map_err(Error::polars("identity values"))?;
    let ids = strings(&df, ID)?;
    let values = columns
        .iter()
        .map(|c| strings(&df, c))
        .collect::<Result<Vec<_>>>()?;
    let n = u64s(&df, N)?;
    Ok((0..df.height())
        .map(|i| {
            (
                ids[i].clone(),
                values.iter().map(|v| v[i].clone()).collect(),
                n[i].unwrap_or(0),
            )
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
