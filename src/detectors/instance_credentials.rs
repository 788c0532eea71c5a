//! `instance-credentials-used-elsewhere`: EC2 instance-role credentials (the session named
//! after its instance, `assumed-role/<role>/i-…`) used from where the instance is not. An
//! instance calls AWS from one address (its own, its NAT's, or a private one through a VPC
//! endpoint); stolen credentials show up (a) from a public address some other identity was
//! already using (the thief's own workstation), or (b) from a second public address, in
//! another network, while the instance still calls from its first one. GuardDuty's
//! `InstanceCredentialExfiltration` needs AWS's address ranges; these two need only the
//! trail. Counted with group-bys on (session, address), so only flagged pairs are read.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use polars::prelude::*;

use super::context::Context;
use super::derived::Derived;
use super::event::{i64s, u64s};
use super::finding::{Hit, Severity, group_hits, when_utc};
use super::{Found, Rule, RuleInfo, Stage, minutes};
use crate::schema::{ACTOR, ACTOR_TYPE, PROVIDER, SRC_IP, TIME};
use crate::{Error, Result};

static INFO: RuleInfo = RuleInfo {
    id: "instance-credentials-used-elsewhere",
    title: "Instance credentials used outside their instance",
    mitre: &["T1552.005", "T1078.004"],
    severity: High,
    summary: "an EC2 instance-role session (`…/i-<id>`) calling from a public address another identity used before it (high), or from a second public address in another /16 while the instance still calls from its first (medium)",
};

use Severity::{High, Medium};

/// The rule.
pub struct InstanceCredentialsElsewhere;

/// Whether an actor is an EC2 instance-role session: `…:assumed-role/<role>/i-<8 or 17 hex>`.
pub(super) fn is_instance_session(actor: &str) -> bool {
    let Some((path, session)) = actor.rsplit_once('/') else {
        return false;
    };
    let id = session.strip_prefix("i-").unwrap_or("");
    path.contains(":assumed-role/")
        && matches!(id.len(), 8 | 17)
        && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A routable public address (documentation ranges count: they stand for public ones).
pub(crate) fn is_public(ip: &str) -> bool {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let [x, y, ..] = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || (x == 100 && (64..128).contains(&y)))
        }
        Ok(IpAddr::V6(a)) => {
            let first = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80)
        }
        Err(_) => false,
    }
}

/// The network an address is in, for "another network": its /16 (IPv4) or /32 (IPv6).
fn network(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let [x, y, ..] = a.octets();
            format!("{x}.{y}")
        }
        Ok(IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{:x}:{:x}", s[0], s[1])
        }
        Err(_) => ip.to_string(),
    }
}

/// First and last use of one address by one actor.
#[derive(Debug, Clone, Copy)]
struct Use {
    first: i64,
    last: i64,
}

/// (actor, address) -> first and last use, over the rows of `predicate`.
fn uses(ctx: &Context<'_>, predicate: Expr) -> Result<HashMap<(String, String), Use>> {
    let df = ctx
        .frame
        .clone()
        .lazy()
        .filter(predicate)
        .group_by([
            col(ACTOR).to_physical().alias("a"),
            col(SRC_IP).to_physical().alias("ip"),
        ])
        .agg([
            col(TIME).to_physical().min().alias("first"),
            col(TIME).to_physical().max().alias("last"),
        ])
        .collect()
        .map_err(Error::polars("instance sessions per address"))?;
    let (actors, ips) = (u64s(&df, "a")?, u64s(&df, "ip")?);
    let (first, last) = (i64s(&df, "first")?, i64s(&df, "last")?);
    let mut out = HashMap::new();
    for i in 0..df.height() {
        let actor = actors[i].and_then(|id| ctx.name(ACTOR, id as u32));
        let ip = ips[i].and_then(|id| ctx.name(SRC_IP, id as u32));
        if let (Some(actor), Some(ip), Some(f), Some(l)) = (actor, ip, first[i], last[i]) {
            out.insert(
                (actor.to_string(), ip.to_string()),
                Use { first: f, last: l },
            );
        }
    }
    Ok(out)
}

impl Rule for InstanceCredentialsElsewhere {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn stage(&self) -> Stage {
        Stage::Events
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        // Most data has no instance sessions: nothing to read then.
        if !ctx.stats.keys().any(|a| is_instance_session(a)) {
            return Ok(Found::default());
        }
        let aws = ctx.category(PROVIDER, |p| p == "aws");
        let sessions = ctx.category(ACTOR, is_instance_session);
        let public = ctx.category(SRC_IP, is_public);
        let own = uses(ctx, aws.clone().and(sessions).and(public))?;
        if own.is_empty() {
            return Ok(Found::default());
        }
        let addresses: HashSet<&str> = own.keys().map(|(_, ip)| ip.as_str()).collect();
        let others = uses(
            ctx,
            aws.and(ctx.category(SRC_IP, |ip| addresses.contains(ip)))
                .and(ctx.category(ACTOR, |a| !is_instance_session(a)))
                .and(ctx.category(ACTOR_TYPE, |t| t != "system")),
        )?;
        // (session, address) -> severity and why.
        let mut flagged: HashMap<(String, String), (Severity, String)> = HashMap::new();
        for ((session, ip), u) in &own {
            let before = others
                .iter()
                .filter(|((_, other_ip), o)| other_ip == ip && o.first < u.first)
                .min_by_key(|(_, o)| o.first);
            if let Some(((other, _), o)) = before {
                flagged.insert(
                    (session.clone(), ip.clone()),
                    (
                        High,
                        format!(
                            "the instance credentials of {} were used from {ip}, an address {} had used since {}: they left the instance",
                            short(session),
                            short(other),
                            when_utc(o.first)
                        ),
                    ),
                );
            }
        }
        let mut by_session: HashMap<&str, Vec<(&str, Use)>> = HashMap::new();
        for ((session, ip), u) in &own {
            by_session.entry(session).or_default().push((ip, *u));
        }
        for (session, mut list) in by_session {
            list.sort_by_key(|(ip, u)| (u.first, *ip));
            let Some(&(home, home_use)) = list.first() else {
                continue;
            };
            for (ip, u) in list.iter().skip(1) {
                let key = (session.to_string(), ip.to_string());
                if flagged.contains_key(&key)
                    || network(ip) == network(home)
                    || u.first > home_use.last
                {
                    continue;
                }
                flagged.insert(
                    key,
                    (
                        Medium,
                        format!(
                            "the instance credentials of {} were used from {ip} while the instance kept calling from {home} (another network): two places at once",
                            short(session)
                        ),
                    ),
                );
            }
        }
        if flagged.is_empty() {
            return Ok(Found::default());
        }
        let sessions: HashSet<&str> = flagged.keys().map(|(s, _)| s.as_str()).collect();
        let ips: HashSet<&str> = flagged.keys().map(|(_, ip)| ip.as_str()).collect();
        let events = ctx.select(
            ctx.category(ACTOR, |a| sessions.contains(a))
                .and(ctx.category(SRC_IP, |ip| ips.contains(ip))),
        )?;
        let hits: Vec<Hit> = events
            .into_iter()
            .filter_map(|ev| {
                let (severity, reason) =
                    flagged.get(&(ev.actor.clone(), ev.src_ip.clone()))?.clone();
                Some(Hit {
                    ev,
                    severity,
                    reason,
                })
            })
            .collect();
        Ok(group_hits(&INFO, hits, minutes(ctx.config.group_minutes)).into())
    }
}

/// The role and session of an assumed-role ARN, or the last segment of another actor.
fn short(actor: &str) -> &str {
    match actor.split_once(":assumed-role/") {
        Some((_, rest)) => rest,
        None => super::event::short_actor(actor),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn instance_sessions_and_public_addresses() {
        assert!(is_instance_session(
            "arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0"
        ));
        assert!(is_instance_session(
            "arn:aws:sts::111122223333:assumed-role/web/i-95b86090"
        ));
        assert!(!is_instance_session(
            "arn:aws:sts::111122223333:assumed-role/web/alice@example.com"
        ));
        assert!(!is_instance_session(
            "arn:aws:iam::111122223333:user/i-0123456789abcdef0"
        ));
        assert!(is_public("18.236.253.47"));
        assert!(is_public("203.0.113.9"));
        assert!(!is_public("10.1.2.3"));
        assert!(!is_public("100.64.0.1"));
        assert!(!is_public("fd00::1"));
        assert!(!is_public("ec2.amazonaws.com"));
        assert_eq!(network("18.236.253.47"), "18.236");
    }
}
