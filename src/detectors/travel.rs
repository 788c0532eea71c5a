//! Impossible travel: consecutive successful sign-ins of one actor (Entra, Okta) from
//! countries too far apart for the time between them, with a built-in table of country
//! centroids (no GeoIP database needed).

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::context::Context;
use super::context::is_signin;
use super::derived::Derived;
use super::event::u64s;
use super::finding::{Finding, Severity, finding};
use super::geo::{centroid, country_name};
use super::history::{actor_key, network_of};
use super::{Found, HOUR, Rule, RuleInfo, Stage};
use crate::schema::{ACTOR, COUNTRY, OUTCOME};
use crate::{Error, Result};

use Severity::{High, Medium};

/// The impossible-travel rule.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![Box::new(Travel)]
}

struct Travel;

static TRAVEL: RuleInfo = RuleInfo {
    id: "impossible-travel",
    title: "Sign-ins from places too far apart",
    mitre: &["T1078.004"],
    severity: High,
    summary: "two successful sign-ins of one actor (Entra, Okta) from countries at least `travel_km` apart at more than `travel_kmh`; different countries within 2 h when a country is not in the built-in table (medium)",
};

impl Rule for Travel {
    fn info(&self) -> &'static RuleInfo {
        &TRAVEL
    }

    fn stage(&self) -> Stage {
        // Not for rare actions to combine; the grant lifecycles read it.
        Stage::Rarity
    }

    fn reads_findings(&self) -> bool {
        false
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        let signins = ctx.action_frame(
            |c| is_signin(c) && matches!(c.provider.as_str(), "entra" | "okta"),
            &[ctx
                .category(OUTCOME, |o| o == "success")
                .and(col(COUNTRY).is_not_null())],
        )?;
        // Only actors signing in from more than one country.
        let places = signins
            .clone()
            .lazy()
            .group_by([actor_key(), col(COUNTRY).to_physical().alias("l")])
            .agg([len().alias("n")])
            .collect()
            .map_err(Error::polars("sign-in places"))?;
        let (actors, locations) = (u64s(&places, ACTOR)?, u64s(&places, "l")?);
        let mut countries: HashMap<u64, HashSet<String>> = HashMap::new();
        for (a, l) in actors.iter().zip(&locations) {
            if let (Some(a), Some(l)) = (a, l)
                && let Some(place) = ctx.name(COUNTRY, *l as u32)
            {
                countries.entry(*a).or_default().insert(country_name(place));
            }
        }
        let ids: Vec<u32> = countries
            .into_iter()
            .filter(|(_, c)| c.len() > 1)
            .map(|(a, _)| a as u32)
            .collect();
        if ids.is_empty() {
            return Ok(Found::default());
        }
        let member = col(ACTOR)
            .to_physical()
            .is_in(lit(Series::new("ids".into(), ids)).implode(false), true);
        let mut events = ctx.events(
            &signins
                .lazy()
                .filter(member)
                .collect()
                .map_err(Error::polars("sign-ins"))?,
        )?;
        events.sort_by(|a, b| (&a.actor, a.time).cmp(&(&b.actor, b.time)));
        let t = &ctx.config.thresholds;
        let mut findings: Vec<Finding> = Vec::new();
        // The last reported leg (its finding, and its departure's country): a leg that flies
        // straight back from where it landed is the same excursion, told in the same finding.
        let mut last_leg: Option<(usize, u32, String)> = None;
        let mut seen: HashMap<&str, HashSet<String>> = HashMap::new();
        for pair in events.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let history = seen.entry(a.actor.as_str()).or_default();
            history.insert(country_name(&a.country));
            if a.actor != b.actor {
                continue;
            }
            let (ca, cb) = (country_name(&a.country), country_name(&b.country));
            if ca == cb || network_of(&a.src_ip) == network_of(&b.src_ip) {
                continue;
            }
            let hours = ((b.time - a.time) as f64 / HOUR as f64).max(1.0 / 60.0);
            let known = history.contains(&cb);
            let leg = match (centroid(&ca), centroid(&cb)) {
                (Some(pa), Some(pb)) => {
                    let km = haversine(pa, pb);
                    let speed = km / hours;
                    (km >= t.travel_km && speed >= t.travel_kmh).then(|| {
                        (
                            if known { Medium } else { High },
                            format!(
                                "{ca} and {:.0} min later from {cb} ({km:.0} km apart: {speed:.0} km/h)",
                                hours * 60.0
                            ),
                        )
                    })
                }
                _ if hours <= 2.0 => Some((
                    Medium,
                    format!("{ca} and {:.0} min later from {cb}", hours * 60.0),
                )),
                _ => None,
            };
            let Some((severity, leg)) = leg else {
                continue;
            };
            match &last_leg {
                Some((i, landed, home)) if *landed == a.row && *home == cb => {
                    let f = &mut findings[*i];
                    f.reason.push_str(&format!(
                        ", and {:.0} min later back from {cb}",
                        hours * 60.0
                    ));
                    f.severity = f.severity.max(severity);
                    f.event_ids.push(b.event_id.clone());
                    f.rows.push(b.row);
                    f.count += 1;
                    last_leg = None;
                }
                _ => {
                    let reason = format!("{} signed in from {leg}", b.who());
                    findings.push(finding(&TRAVEL, severity, &[a, b], reason));
                    last_leg = Some((findings.len() - 1, b.row, ca));
                }
            }
        }
        Ok(findings.into())
    }
}

/// Great-circle distance in km.
fn haversine(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_great_circles() {
        let (de, us) = (centroid("DE").unwrap(), centroid("United States").unwrap());
        let km = haversine(de, us);
        assert!((7000.0..9000.0).contains(&km), "{km}");
        assert_eq!(country_name("Lyon, France"), "FR");
        assert_eq!(country_name("Atlantis"), "Atlantis");
    }
}
