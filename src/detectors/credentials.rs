//! Service credentials that should have ended (D32 `nhi-secret-hygiene`): credentials that
//! pile up without the old one retired, rotations that broke, long-term keys used from many
//! networks at once, a new key used at once from a new place.
//!
//! Polars selects the credential and sign-in events and counts per key with group-bys; only
//! the selected rows are read one by one, to word the reason.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::context::Context;
use super::derived::Derived;
use super::event::{Ev, ROW, i64s, strings, u64s};
use super::finding::{Finding, Severity, finding, hours_text, when_utc, with_actor};
use super::grants::{self, Side, who_of_actor};
use super::{DAY, Found, HOUR, MINUTE, Rule, RuleInfo, Stage, minutes};
use crate::schema::{ACTOR, ERROR, OUTCOME, PROVIDER, SESSION, SRC_IP, TIME};
use crate::{Error, Result};

use Severity::{Info, Low, Medium};

/// The service-credential rule.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![Box::new(SecretHygiene)]
}

// ---------------------------------------------------------------------------------------
// D32: secrets of non-human identities
// ---------------------------------------------------------------------------------------

struct SecretHygiene;

static SECRETS: RuleInfo = RuleInfo {
    id: "nhi-secret-hygiene",
    title: "Service credential hygiene",
    mitre: &["T1098.001", "T1552"],
    severity: Low,
    summary: "service-principal sign-ins failing on expired or invalid secrets (broken rotation), then a new credential by someone new to the app; credentials added without the old one retired; one long-term AWS key used from several networks at once; a self-created key used at once from a new address",
};

/// Entra errors of a client secret that expired (7000222) or is wrong (7000215).
const SECRET_ERRORS: [&str; 2] = ["7000222", "7000215"];

fn is_credential_add(e: &Ev) -> bool {
    match e.provider.as_str() {
        "aws" => e.action == "CreateAccessKey",
        "entra" => {
            e.action == "Add service principal credentials"
                || (e.action.starts_with("Update application")
                    && e.action.contains("Certificates and secrets"))
        }
        _ => false,
    }
}

/// What a credential event does to the credential it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialChange {
    /// A new credential.
    Create,
    /// A credential changed: activated or deactivated (AWS), added or removed (an Entra
    /// application's secrets and certificates).
    Update,
    /// A credential deactivated (it can be activated again).
    Deactivate,
    /// A credential deleted or revoked.
    Delete,
}

/// The credential events of every provider: what they do, and the kind of credential
/// (access key, service-account key, service-principal secret or certificate, personal
/// access token, API token). Shared by this rule and the identity inventory.
pub fn credential_change(provider: &str, action: &str) -> Option<(CredentialChange, &'static str)> {
    use CredentialChange::{Create, Deactivate, Delete, Update};
    Some(match provider {
        "aws" => match action {
            "CreateAccessKey" => (Create, "access key"),
            "DeleteAccessKey" => (Delete, "access key"),
            "UpdateAccessKey" => (Update, "access key"),
            _ => return None,
        },
        "entra" => {
            let secret = "service-principal secret";
            if !(action.ends_with("service principal credentials")
                || (action.starts_with("Update application")
                    && action.contains("Certificates and secrets")))
            {
                return None;
            }
            match action {
                "Add service principal credentials" => (Create, secret),
                "Remove service principal credentials" => (Delete, secret),
                _ => (Update, secret),
            }
        }
        "gcp" => match action.rsplit('.').next().unwrap_or(action) {
            "CreateServiceAccountKey" | "UploadServiceAccountKey" => {
                (Create, "service-account key")
            }
            "DeleteServiceAccountKey" => (Delete, "service-account key"),
            "DisableServiceAccountKey" => (Deactivate, "service-account key"),
            _ => return None,
        },
        "github" => match action {
            "personal_access_token.create" | "personal_access_token.regenerate" => {
                (Create, "personal access token")
            }
            "personal_access_token.destroy" | "personal_access_token.access_revoked" => {
                (Delete, "personal access token")
            }
            _ => return None,
        },
        "okta" => match action {
            "system.api_token.create" => (Create, "API token"),
            "system.api_token.revoke" => (Delete, "API token"),
            _ => return None,
        },
        _ => return None,
    })
}

/// The identity a credential event is for: the key's user, the service principal or app.
pub fn credential_owner(e: &Ev) -> String {
    match e.provider.as_str() {
        "aws" => e
            .detail("userName")
            .map(str::to_lowercase)
            .unwrap_or_else(|| who_of_actor(&e.actor)),
        _ => e.resource.to_lowercase(),
    }
}

impl Rule for SecretHygiene {
    fn info(&self) -> &'static RuleInfo {
        &SECRETS
    }

    fn stage(&self) -> Stage {
        // Reads nothing of the others, but the temporary-grant rule must not combine it.
        Stage::Lifecycle
    }

    fn reads_findings(&self) -> bool {
        false
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let credentials = ctx.select_actions(
            |c| {
                matches!(c.provider.as_str(), "aws" | "entra")
                    && credential_change(&c.provider, &c.action).is_some()
            },
            &[ctx.category(OUTCOME, |o| o == "success")],
        )?;
        let mut out = broken_rotation(ctx, &credentials)?;
        out.extend(not_retired(ctx, &credentials)?);
        out.extend(key_from_many_networks(ctx)?);
        out.extend(new_key_from_new_address(ctx, &credentials)?);
        Ok(out.into())
    }
}

/// (a) ≥ `secret_failures` expired/invalid-secret sign-ins of one service principal within
/// `secret_failure_minutes`; medium when a new credential for it follows from someone who
/// had not managed the app before.
fn broken_rotation(ctx: &Context<'_>, credentials: &[Ev]) -> Result<Vec<Finding>> {
    let t = &ctx.config.thresholds;
    let failed = ctx.select_actions(
        |c| c.provider == "entra" && c.action.starts_with("Sign-in (service"),
        &[ctx.category(ERROR, |e| SECRET_ERRORS.iter().any(|c| e.starts_with(c)))],
    )?;
    let mut by_sp: HashMap<&str, Vec<&Ev>> = HashMap::new();
    for e in &failed {
        by_sp.entry(e.actor.as_str()).or_default().push(e);
    }
    let width = minutes(t.secret_failure_minutes);
    let mut out = Vec::new();
    let mut sps: Vec<&&str> = by_sp.keys().collect();
    sps.sort();
    for sp in sps {
        let list = &by_sp[*sp];
        let (mut best, mut lo) = ((0, 0), 0);
        for hi in 0..list.len() {
            while list[hi].time - list[lo].time > width {
                lo += 1;
            }
            if hi + 1 - lo > best.1 - best.0 {
                best = (lo, hi + 1);
            }
        }
        let burst = &list[best.0..best.1];
        if burst.len() < t.secret_failures as usize {
            continue;
        }
        let (first, last) = (burst[0], burst[burst.len() - 1]);
        let codes: HashSet<&str> = burst
            .iter()
            .filter_map(|e| e.error.split_whitespace().next())
            .collect();
        let mut codes: Vec<&str> = codes.into_iter().collect();
        codes.sort_unstable();
        let app = sp.to_lowercase();
        // A new credential for the app within a day after the failures began, by someone
        // who had not managed its credentials before.
        let fix = credentials.iter().find(|c| {
            is_credential_add(c)
                && credential_owner(c) == app
                && c.time >= first.time
                && c.time <= last.time + DAY
        });
        let newcomer = fix.filter(|f| {
            !credentials
                .iter()
                .any(|c| c.time < first.time && c.actor == f.actor && credential_owner(c) == app)
        });
        let mut reason = format!(
            "{} failed {} sign-ins on an expired or invalid client secret ({}) between {} and {}: its secret rotation broke",
            sp,
            burst.len(),
            codes.join(", "),
            when_utc(first.time),
            &when_utc(last.time)[11..]
        );
        let severity = match (fix, newcomer) {
            (Some(f), Some(_)) => {
                reason.push_str(&format!(
                    "; then {} added a credential to it at {} ({}) and had not managed its credentials before",
                    f.who(),
                    when_utc(f.time),
                    f.action
                ));
                Medium
            }
            (Some(f), None) => {
                reason.push_str(&format!(
                    "; {} added a new credential at {}",
                    f.who(),
                    when_utc(f.time)
                ));
                Low
            }
            _ => Low,
        };
        let mut evs: Vec<&Ev> = burst.to_vec();
        evs.extend(fix);
        out.push(with_actor(finding(&SECRETS, severity, &evs, reason), sp));
    }
    Ok(out)
}

/// (b) a credential added while an older one was in use, and neither retired within
/// `key_overlap_days` (info: sprawl).
fn not_retired(ctx: &Context<'_>, credentials: &[Ev]) -> Result<Vec<Finding>> {
    let days = i64::from(ctx.config.thresholds.key_overlap_days) * DAY;
    let adds: Vec<usize> = (0..credentials.len())
        .filter(|&i| {
            let e = &credentials[i];
            e.action == "CreateAccessKey" || e.action == "Add service principal credentials"
        })
        .collect();
    if adds.is_empty() {
        return Ok(Vec::new());
    }
    let side = |ids: &[usize]| -> Side {
        ids.iter()
            .map(|&i| {
                let e = &credentials[i];
                (
                    format!("{}|{}", e.provider, credential_owner(e)),
                    e.time,
                    i as u32,
                )
            })
            .collect()
    };
    let retires: Vec<usize> = (0..credentials.len())
        .filter(|&i| {
            let a = credentials[i].action.as_str();
            a == "DeleteAccessKey"
                || a == "UpdateAccessKey"
                || a == "Remove service principal credentials"
        })
        .collect();
    let add_side = side(&adds);
    let retired = grants::next_by_key(&add_side, &side(&retires), true, false)?;
    let earlier = grants::next_by_key(&add_side, &add_side, false, true)?;
    // Identities that used a long-term AWS key, and service principals that signed in,
    // before a credential was added: they had a credential to retire.
    let owners: HashSet<String> = adds
        .iter()
        .map(|&i| credential_owner(&credentials[i]))
        .collect();
    let actor_ids = ctx.category(ACTOR, |a| owners.contains(&who_of_actor(a)));
    let used = ctx
        .frame
        .clone()
        .lazy()
        .filter(actor_ids)
        .group_by([col(ACTOR).to_physical().alias(ACTOR)])
        .agg([col(TIME).min().alias("first")])
        .collect()
        .map_err(Error::polars("credential owners"))?;
    let names = id_names(ctx, &used, ACTOR)?;
    let firsts = i64s(&used, "first")?;
    let mut first_use: HashMap<String, i64> = HashMap::new();
    for (n, f) in names.iter().zip(firsts) {
        let slot = first_use.entry(who_of_actor(n)).or_insert(i64::MAX);
        *slot = (*slot).min(f.unwrap_or(i64::MAX));
    }
    let mut out = Vec::new();
    for &i in &adds {
        let e = &credentials[i];
        if e.actor_type == "root" {
            // Root keys are root-or-breakglass-use findings.
            continue;
        }
        let owner = credential_owner(e);
        let due = e.time + days;
        let gone = retired
            .get(&(i as u32))
            .is_some_and(|&r| credentials[r as usize].time <= due);
        if gone || ctx.span.1 < due {
            continue;
        }
        let before = earlier.get(&(i as u32)).map(|&p| &credentials[p as usize]);
        let active_before = first_use.get(&owner).is_some_and(|&f| f < e.time - MINUTE);
        let evidence = match before {
            Some(p) => format!("an earlier credential was added at {}", when_utc(p.time)),
            None if active_before => format!("{owner} was already active before it"),
            None => continue,
        };
        let reason = format!(
            "a new credential for {owner} was added at {} ({} by {}) while {evidence}, and no credential of {owner} was deleted or deactivated in the {} days after",
            when_utc(e.time),
            e.action,
            e.who(),
            days / DAY
        );
        let mut evs = vec![e];
        evs.extend(before);
        out.push(with_actor(finding(&SECRETS, Info, &evs, reason), &owner));
    }
    Ok(out)
}

/// The /16 (IPv4) or /32 (IPv6) network of an address, standing in for its ASN.
fn network(ip: &str) -> Option<String> {
    let crate::net::Addr { bits, v4 } = crate::net::Addr::parse(ip)?;
    Some(if v4 {
        format!("{}.{}", (bits >> 24) & 0xff, (bits >> 16) & 0xff)
    } else {
        format!("{:x}", bits >> 96)
    })
}

/// (c) one long-term AWS access key (`AKIA…`) used from ≥ `key_ips` public addresses in ≥ 2
/// networks within `key_ip_minutes`.
fn key_from_many_networks(ctx: &Context<'_>) -> Result<Vec<Finding>> {
    let t = &ctx.config.thresholds;
    let keys = col(SESSION).str().starts_with(lit("AKIA"));
    let aws = ctx.category(PROVIDER, |p| p == "aws");
    // A key belongs to one user: users with fewer addresses over all their long-term keys
    // cannot have a key with more. Counted on dictionary ids first (cheap), so the group-by
    // on key text only sees the few users left.
    let users = ctx
        .frame
        .clone()
        .lazy()
        .filter(aws.clone().and(keys.clone()))
        .group_by([col(ACTOR).to_physical().alias("a")])
        .agg([col(SRC_IP).to_physical().n_unique().alias("ips")])
        .filter(col("ips").gt_eq(lit(t.key_ips)))
        .collect()
        .map_err(Error::polars("access keys by address"))?;
    let users: Vec<u32> = u64s(&users, "a")?
        .into_iter()
        .flatten()
        .map(|a| a as u32)
        .collect();
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let of_users = col(ACTOR).to_physical().is_in(
        lit(Series::new("users".into(), users)).implode(false),
        false,
    );
    let candidates = ctx
        .frame
        .clone()
        .lazy()
        .filter(aws.clone().and(of_users).and(keys.clone()))
        .group_by([col(SESSION)])
        .agg([col(SRC_IP).n_unique().alias("ips")])
        .filter(col("ips").gt_eq(lit(t.key_ips)))
        .collect()
        .map_err(Error::polars("access keys by address"))?;
    let wanted = strings(&candidates, SESSION)?;
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let list = lit(Series::new("keys".into(), wanted)).implode(false);
    let predicate = aws.and(col(SESSION).is_in(list, true));
    let session_by_row = sessions(ctx, predicate.clone())?;
    let events = ctx.select(predicate)?;
    let mut by_key: HashMap<&str, Vec<&Ev>> = HashMap::new();
    for e in &events {
        if network(&e.src_ip).is_none() || ctx.is_trusted(&e.src_ip) {
            continue;
        }
        if let Some(key) = session_by_row.get(&e.row) {
            by_key.entry(key.as_str()).or_default().push(e);
        }
    }
    let width = minutes(t.key_ip_minutes);
    let mut out = Vec::new();
    let mut keys: Vec<&&str> = by_key.keys().collect();
    keys.sort();
    for key in keys {
        let list = &by_key[*key];
        let mut best: (usize, usize, usize) = (0, 0, 0);
        let mut lo = 0;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for hi in 0..list.len() {
            *counts.entry(list[hi].src_ip.as_str()).or_default() += 1;
            while list[hi].time - list[lo].time > width {
                let ip = list[lo].src_ip.as_str();
                if let Some(n) = counts.get_mut(ip) {
                    *n -= 1;
                    if *n == 0 {
                        counts.remove(ip);
                    }
                }
                lo += 1;
            }
            if counts.len() > best.0 {
                best = (counts.len(), lo, hi + 1);
            }
        }
        let run = &list[best.1..best.2];
        let mut ips: Vec<&str> = Vec::new();
        for e in run {
            if !ips.contains(&e.src_ip.as_str()) {
                ips.push(&e.src_ip);
            }
        }
        let nets: HashSet<String> = ips.iter().filter_map(|ip| network(ip)).collect();
        if ips.len() < t.key_ips as usize || nets.len() < 2 {
            continue;
        }
        let minutes_used = (run[run.len() - 1].time - run[0].time) / MINUTE;
        let reason = format!(
            "long-term access key {key} of {} was used from {} addresses in {} networks within {} min ({} to {}): {}",
            run[0].who(),
            ips.len(),
            nets.len(),
            minutes_used.max(1),
            when_utc(run[0].time),
            &when_utc(run[run.len() - 1].time)[11..],
            ips.join(", ")
        );
        out.push(finding(&SECRETS, Medium, run, reason));
    }
    Ok(out)
}

/// The session (access key) of the rows a predicate selects.
/// The names of a column of dictionary ids, from a group-by on a categorical's physical
/// ids (casting every row to text before grouping costs more than the rule).
fn id_names(ctx: &Context<'_>, df: &DataFrame, column: &'static str) -> Result<Vec<String>> {
    Ok(u64s(df, column)?
        .into_iter()
        .map(|id| {
            id.and_then(|id| ctx.name(column, id as u32))
                .unwrap_or("")
                .to_string()
        })
        .collect())
}

fn sessions(ctx: &Context<'_>, predicate: Expr) -> Result<HashMap<u32, String>> {
    let df = ctx
        .frame
        .clone()
        .lazy()
        .filter(predicate)
        .select([col(ROW), col(SESSION)])
        .collect()
        .map_err(Error::polars("sessions"))?;
    Ok(u64s(&df, ROW)?
        .into_iter()
        .zip(strings(&df, SESSION)?)
        .filter_map(|(r, s)| Some((r? as u32, s)))
        .collect())
}

/// (d) an AWS access key a user created for themself, used within `new_key_hours` from an
/// address the user had not used before the key was made.
fn new_key_from_new_address(ctx: &Context<'_>, credentials: &[Ev]) -> Result<Vec<Finding>> {
    let hours = i64::from(ctx.config.thresholds.new_key_hours) * HOUR;
    let own: Vec<(&Ev, String)> = credentials
        .iter()
        .filter(|e| e.action == "CreateAccessKey")
        .filter(|e| credential_owner(e) == who_of_actor(&e.actor))
        .filter_map(|e| Some((e, e.detail("accessKeyId")?.to_string())))
        .collect();
    if own.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = own.iter().map(|(_, k)| k.clone()).collect();
    let list = lit(Series::new("keys".into(), ids)).implode(false);
    let session_by_row = sessions(ctx, col(SESSION).is_in(list, true))?;
    if session_by_row.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<u32> = session_by_row.keys().copied().collect();
    let uses = ctx.select_rows(&rows)?;
    let creators: HashSet<&str> = own.iter().map(|(e, _)| e.actor.as_str()).collect();
    let seen = ctx
        .frame
        .clone()
        .lazy()
        .filter(ctx.category(ACTOR, |a| creators.contains(a)))
        .group_by([
            col(ACTOR).to_physical().alias(ACTOR),
            col(SRC_IP).to_physical().alias(SRC_IP),
        ])
        .agg([col(TIME).min().alias("first")])
        .collect()
        .map_err(Error::polars("addresses of key creators"))?;
    let mut first_seen: HashMap<(String, String), i64> = HashMap::new();
    for ((a, ip), f) in id_names(ctx, &seen, ACTOR)?
        .into_iter()
        .zip(id_names(ctx, &seen, SRC_IP)?)
        .zip(i64s(&seen, "first")?)
    {
        first_seen.insert((a, ip), f.unwrap_or(i64::MAX));
    }
    let mut out = Vec::new();
    for (created, key) in &own {
        let new_ip: Vec<&Ev> = uses
            .iter()
            .filter(|u| session_by_row.get(&u.row) == Some(key))
            .filter(|u| u.time >= created.time && u.time <= created.time + hours)
            .filter(|u| {
                // A service name (`AWS Internal`) is no address the key moved to.
                crate::net::Addr::parse(&u.src_ip).is_some()
                    && !ctx.is_trusted(&u.src_ip)
                    && first_seen
                        .get(&(created.actor.clone(), u.src_ip.clone()))
                        .is_none_or(|&f| f >= created.time)
            })
            .collect();
        let Some(first) = new_ip.first() else {
            continue;
        };
        let reason = format!(
            "{} created access key {key} for themself at {} from {} and it was used {} later from {}, an address {} had not used before ({} events: {})",
            created.who(),
            when_utc(created.time),
            if created.src_ip.is_empty() {
                "?"
            } else {
                &created.src_ip
            },
            hours_text((first.time - created.time).max(MINUTE)),
            first.src_ip,
            created.who(),
            new_ip.len(),
            {
                let mut a: Vec<&str> = new_ip.iter().map(|e| e.action.as_str()).collect();
                a.dedup();
                a.join(", ")
            }
        );
        let mut evs = vec![*created];
        evs.extend(new_ip.iter().copied());
        out.push(finding(&SECRETS, Medium, &evs, reason));
    }
    Ok(out)
}
