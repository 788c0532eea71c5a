//! Okta sessions started without MFA: the multi-event half of `console-signin-without-mfa`
//! (catalogue D03, Okta), run by [`super::single`] after the rule's single-event judge.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::MINUTE;
use super::context::Context;
use super::event::{ROW, i64s, u64s};
use super::finding::{Hit, Severity, hhmm_utc};
use crate::schema::{ACTOR, MFA, OUTCOME, PROVIDER, SESSION, TIME};
use crate::{Error, Result};

use Severity::{Low, Medium};

/// MFA this close to a session start (same actor) counts for it.
pub(crate) const OKTA_MFA_WINDOW: i64 = 10 * MINUTE;
/// Share of sessions with MFA that makes MFA the norm (for the actor, else the org).
const OKTA_MFA_NORM: f64 = 0.8;

/// Okta marks MFA on the events that prove it (`user.authentication.auth_via_mfa`, factor
/// verifications), never on `user.session.start`. A session start is without MFA when no such
/// event shares its session id and none by the same actor is within 10 minutes; it is a
/// finding only where MFA is the norm: for an actor with >= 3 other sessions, >= 80 % of them
/// had MFA, else >= 80 % of >= 20 sessions of the org did. Low; medium for actors with
/// privileged actions in the data.
pub(super) fn without_mfa(ctx: &Context<'_>, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let start = ctx
        .actions(|c| c.provider == "okta" && c.action == "user.session.start")
        .and(ctx.category(OUTCOME, |o| o == "success"));
    let proof = ctx
        .category(PROVIDER, |p| p == "okta")
        .and(col(MFA).eq(lit(true)).fill_null(lit(false)));
    let df = ctx
        .frame
        .clone()
        .lazy()
        .filter(start.clone().or(proof.clone()))
        .select([
            col(ROW),
            col(TIME).to_physical().alias("t"),
            col(ACTOR).to_physical().alias("a"),
            col(SESSION),
            proof.alias("proof"),
        ])
        .collect()
        .map_err(Error::polars("Okta sessions"))?;
    if df.height() == 0 {
        return Ok(hits);
    }
    let rows = u64s(&df, ROW)?;
    let times = i64s(&df, "t")?;
    let actors = u64s(&df, "a")?;
    let proofs: Vec<bool> = df
        .column("proof")
        .and_then(|c| c.bool().cloned())
        .map_err(Error::polars("Okta sessions"))?
        .iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    let sessions = df
        .column(SESSION)
        .and_then(|c| c.str().cloned())
        .map_err(Error::polars("Okta sessions"))?;
    let sessions: Vec<Option<&str>> = sessions.iter().collect();
    let mut proven_sessions: HashSet<&str> = HashSet::new();
    let mut proof_times: HashMap<u64, Vec<i64>> = HashMap::new();
    for i in 0..df.height() {
        if proofs[i] {
            if let Some(s) = sessions[i] {
                proven_sessions.insert(s);
            }
            if let (Some(a), Some(t)) = (actors[i], times[i]) {
                proof_times.entry(a).or_default().push(t);
            }
        }
    }
    for v in proof_times.values_mut() {
        v.sort_unstable();
    }
    // (row, actor, with MFA) per session start.
    let starts: Vec<(u32, u64, bool)> = (0..df.height())
        .filter(|i| !proofs[*i])
        .filter_map(|i| {
            let (a, t) = (actors[i]?, times[i]?);
            let near = proof_times.get(&a).is_some_and(|v| {
                let at = v.partition_point(|p| *p < t - OKTA_MFA_WINDOW);
                v.get(at).is_some_and(|p| *p <= t + OKTA_MFA_WINDOW)
            });
            let session = sessions[i].is_some_and(|s| proven_sessions.contains(s));
            Some((rows[i]? as u32, a, near || session))
        })
        .collect();
    let mut per_actor: HashMap<u64, (usize, usize)> = HashMap::new();
    for (_, a, mfa) in &starts {
        let slot = per_actor.entry(*a).or_default();
        slot.0 += 1;
        slot.1 += usize::from(*mfa);
    }
    let org = (starts.len(), starts.iter().filter(|s| s.2).count());
    let mut why: HashMap<u32, String> = HashMap::new();
    for (row, a, mfa) in &starts {
        if *mfa {
            continue;
        }
        let (n, with) = per_actor.get(a).copied().unwrap_or_default();
        let others = n - 1;
        let norm = if others >= 3 {
            (with as f64 >= OKTA_MFA_NORM * others as f64).then(|| {
                format!("{with} of their {others} other Okta sessions in the data used MFA")
            })
        } else {
            (org.0 >= 20 && org.1 as f64 >= OKTA_MFA_NORM * (org.0 - 1) as f64).then(|| {
                format!(
                    "{} of the {} other Okta sessions in the data used MFA",
                    org.1,
                    org.0 - 1
                )
            })
        };
        if let Some(norm) = norm {
            why.insert(*row, norm);
        }
    }
    if why.is_empty() {
        return Ok(hits);
    }
    let wanted: Vec<u32> = why.keys().copied().collect();
    let events = ctx.select(col(ROW).cast(DataType::UInt32).is_in(
        lit(Series::new("rows".into(), wanted)).implode(false),
        false,
    ))?;
    for ev in events {
        let Some(norm) = why.get(&ev.row) else {
            continue;
        };
        let privileged = ctx.privileged_actors.contains(&ev.actor);
        // Countries by name, as Okta wrote them.
        let country = crate::country::country_name(&ev.country).unwrap_or(&ev.country);
        let place = match (ev.city.as_str(), country) {
            ("", "") => String::new(),
            ("", country) => format!(" ({country})"),
            (city, "") => format!(" ({city})"),
            (city, country) => format!(" ({city}, {country})"),
        };
        let reason = format!(
            "{} started an Okta session at {} from {}{place} without MFA (no MFA verification in that session or within 10 minutes); {norm}{}",
            ev.who(),
            hhmm_utc(ev.time),
            ev.src_ip,
            if privileged {
                "; this user performs privileged actions in the data"
            } else {
                ""
            }
        );
        hits.push(Hit {
            severity: if privileged { Medium } else { Low },
            reason,
            ev,
        });
    }
    Ok(hits)
}
