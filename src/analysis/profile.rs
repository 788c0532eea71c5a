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

/// Columns of the intermediate frame: local time, local date (days since the epoch) and hour
/// of day.
const LOCAL: &str = "local";
const DATE: &str = "date";
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
    /// The actor's usual cells: the hours it is active in on at least a quarter of its active
    /// days (and on two of them), on weekdays holding at least 5% of its active days. Days, not
    /// events, are counted, so a burst does not make its hour usual and a job that runs every
    /// hour is usual at every hour.
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
    let mut cells = Vec::new();
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
                col(LOCAL).floor_div(lit(DAY)).alias(DATE),
                ((col(LOCAL) % lit(DAY) + lit(DAY)) % lit(DAY))
                    .floor_div(lit(HOUR))
                    .alias(HOUR_OF_DAY),
            ])
            .group_by([col(DATE), col(HOUR_OF_DAY)])
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
            if let (Some(d), Some(h), Some(n)) = (get(DATE), get(HOUR_OF_DAY), get(COUNT)) {
                cells.push((d, h.rem_euclid(24) as usize, n as u64));
            }
        }
    }
    Ok(Profile::from_day_hours(actor, &cells))
}

impl Profile {
    /// Builds a profile from events counted per local date (days since the epoch) and hour.
    pub fn from_day_hours(actor: &str, cells: &[(i64, usize, u64)]) -> Profile {
        let mut counts = [[0u64; 24]; 7];
        let mut days_in_hour = [0u64; 24];
        let mut dates: Vec<i64> = Vec::with_capacity(cells.len());
        for &(date, hour, n) in cells {
            let hour = hour.min(23);
            // 1970-01-01 was a Thursday (weekday 3).
            let weekday = (date + 3).rem_euclid(7) as usize;
            counts[weekday][hour] += n;
            if n > 0 {
                days_in_hour[hour] += 1;
                dates.push(date);
            }
        }
        dates.sort_unstable();
        dates.dedup();
        let active_days = dates.len() as u64;
        let mut days_on_weekday = [0u64; 7];
        for date in &dates {
            days_on_weekday[(date + 3).rem_euclid(7) as usize] += 1;
        }
        // With one active day there is nothing to compare with: its hours are its habit.
        let usual_hour = |h: usize| {
            let days = days_in_hour[h];
            days > 0 && days * 4 >= active_days && (days >= 2 || active_days == 1)
        };
        let total: u64 = counts.iter().flatten().sum();
        let mut usual = [[false; 24]; 7];
        let mut outside = 0;
        for w in 0..7 {
            let usual_day = active_days > 0 && days_on_weekday[w] * 100 >= active_days * 5;
            for h in 0..24 {
                usual[w][h] = usual_day && usual_hour(h);
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
