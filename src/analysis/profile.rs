//! Activity profiles: when an actor works, as events per weekday and local hour of day, and
//! the cells that are usual for it.

use polars::prelude::*;

use crate::schema::{ACTOR, TIME};
use crate::time::{DAY, HOUR};
use crate::{Error, Result};

use super::keys::{COUNT, value_counts};
use super::timeline::local_time_expr;
use super::{ProfileSpec, Spec};

impl Spec for ProfileSpec {
    type Output = Vec<Profile>;

    fn columns(&self) -> Vec<&str> {
        vec![ACTOR, TIME]
    }

    fn compute(&self, events: &DataFrame) -> Result<Vec<Profile>> {
        profiles(events, self)
    }
}

/// Columns of the intermediate frame: local time, weekday (0 = Monday) and hour of day.
const LOCAL: &str = "local";
const WEEKDAY: &str = "weekday";
const HOUR_OF_DAY: &str = "hour";

/// The profiles a spec asks for: of its actors, else of the `top` busiest, busiest first.
pub fn profiles(frame: &DataFrame, spec: &ProfileSpec) -> Result<Vec<Profile>> {
    let actors = if spec.actors.is_empty() {
        value_counts(frame, ACTOR, spec.top.max(1))?
            .into_iter()
            .map(|(actor, _)| actor)
            .collect()
    } else {
        spec.actors.clone()
    };
    actors
        .iter()
        .map(|actor| profile(frame, actor, &spec.tz))
        .collect()
}

/// When an actor works: events per weekday (Monday first) and local hour.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The actor.
    pub actor: String,
    /// `counts[weekday][hour]`, weekday 0 = Monday.
    pub counts: [[u64; 24]; 7],
    /// The actor's usual cells: the hours holding 95% of the actor's events, on weekdays
    /// holding at least 5% of them.
    pub usual: [[bool; 24]; 7],
    /// Events outside the usual cells.
    pub outside: u64,
    /// Events counted.
    pub total: u64,
}

/// Builds the weekday x hour activity profile of one actor in a time zone.
pub fn profile(frame: &DataFrame, actor: &str, tz: &jiff::tz::TimeZone) -> Result<Profile> {
    let of_actor = frame
        .clone()
        .lazy()
        .filter(
            col(ACTOR)
                .cast(DataType::String)
                .eq(lit(actor))
                .and(col(TIME).is_not_null()),
        )
        .collect()
        .map_err(Error::polars("selecting the actor's events"))?;
    let mut counts = [[0u64; 24]; 7];
    if of_actor.height() > 0 {
        let times = of_actor
            .column(TIME)
            .map_err(Error::polars("profile"))?
            .as_materialized_series()
            .to_physical_repr();
        let ca = times.i64().map_err(Error::polars("profile"))?;
        let (first, last) = (ca.min().unwrap_or(0), ca.max().unwrap_or(0));
        let local = local_time_expr(tz, first, last);
        let grouped = of_actor
            .lazy()
            .select([local.alias(LOCAL)])
            .select([
                ((col(LOCAL).floor_div(lit(DAY)) + lit(3)) % lit(7)).alias(WEEKDAY),
                ((col(LOCAL) % lit(DAY) + lit(DAY)) % lit(DAY))
                    .floor_div(lit(HOUR))
                    .alias(HOUR_OF_DAY),
            ])
            .group_by([col(WEEKDAY), col(HOUR_OF_DAY)])
            .agg([len().cast(DataType::UInt64).alias(COUNT)])
            .collect()
            .map_err(Error::polars("building the activity profile"))?;
        for i in 0..grouped.height() {
            let get = |name: &str| {
                grouped
                    .column(name)
                    .ok()
                    .and_then(|c| c.get(i).ok())
                    .and_then(|v| v.extract::<i64>())
            };
            if let (Some(w), Some(h), Some(n)) = (get(WEEKDAY), get(HOUR_OF_DAY), get(COUNT)) {
                let (w, h) = (w.rem_euclid(7) as usize, h.rem_euclid(24) as usize);
                counts[w][h] += n as u64;
            }
        }
    }
    Ok(Profile::from_counts(actor, counts))
}

impl Profile {
    /// Derives the usual cells from counts.
    pub fn from_counts(actor: &str, counts: [[u64; 24]; 7]) -> Profile {
        let total: u64 = counts.iter().flatten().sum();
        let mut by_hour: Vec<(usize, u64)> = (0..24)
            .map(|h| (h, (0..7).map(|w| counts[w][h]).sum()))
            .collect();
        by_hour.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut usual_hours = [false; 24];
        let mut covered = 0u64;
        for (h, n) in by_hour {
            if n == 0 || covered * 100 >= total * 95 {
                break;
            }
            usual_hours[h] = true;
            covered += n;
        }
        let mut usual = [[false; 24]; 7];
        let mut outside = 0;
        for w in 0..7 {
            let day_total: u64 = counts[w].iter().sum();
            let usual_day = total > 0 && day_total * 100 >= total * 5;
            for h in 0..24 {
                usual[w][h] = usual_day && usual_hours[h];
                if !usual[w][h] {
                    outside += counts[w][h];
                }
            }
        }
        Profile {
            actor: actor.to_string(),
            counts,
            usual,
            outside,
            total,
        }
    }
}
