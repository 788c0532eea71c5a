//! What each actor's history in the data says, learned once before the behavioural rules
//! ([`super::baseline`]) run: its time zone and working pattern, the first time it used each
//! network, client family and location, and how many actors share each source. Also the
//! normalizations those sources are compared by (network /24 or /48, client family, place).
//!
//! The history is learned with group-bys over the whole frame (per actor and UTC hour, per
//! actor and source); only their results are read one by one.

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use super::context::{Context, NO_ACTOR, PRINCIPAL, glob_regex};
use super::event::{Ev, ids, short_actor, u64s};
use super::geo::{COUNTRY_ZONES, country_name};
use super::{DAY, HOUR, MINUTE, minutes};
use crate::schema::{ACTOR, COUNTRY, SRC_IP, USER_AGENT};
use crate::{Error, Result, config};

/// An actor's time zone and fallback working hours.
#[derive(Debug, Clone)]
pub struct ActorZone {
    /// The zone.
    pub tz: jiff::tz::TimeZone,
    /// How it is named in reasons (`America/Chicago`, `UTC+05 (inferred)`).
    pub label: String,
    /// Fallback working minutes of the day `[start, end)`.
    pub hours: (u32, u32),
    /// Fallback working weekdays (0 = Monday).
    pub days: Vec<u32>,
}

/// An actor's working pattern in local time.
#[derive(Debug, Clone, Default)]
pub struct WorkPattern {
    /// Local days active in each local hour.
    pub days_by_hour: Vec<BTreeSet<i64>>,
    /// Weeks active on each weekday.
    pub weeks_by_weekday: Vec<BTreeSet<i64>>,
    /// Distinct active days.
    pub active_days: usize,
    /// Events.
    pub events: u64,
    /// (earliest minute, latest minute, events) per active (day, hour).
    pub buckets: Vec<(i64, u32, u32, u64)>,
    /// The first and last local day of the data: a weekday outside it could not be seen.
    pub span_days: (i64, i64),
    /// The weeks with any activity, ascending (of `weeks_by_weekday`, gathered once).
    pub active_weeks: Vec<i64>,
}

/// Per principal ([`super::principal`]): (UTC hour number, events, first and last time) per
/// active hour.
pub type Activity = HashMap<u32, Vec<(i64, u64, i64, i64)>>;

/// What the behavioural rules learn once and share.
#[derive(Debug, Default)]
pub struct Baselines {
    /// Zone per principal name ([`super::principal`]: a person's sessions in every account
    /// keep one working day).
    pub zones: HashMap<String, ActorZone>,
    /// Working pattern per principal name.
    pub patterns: HashMap<String, WorkPattern>,
    /// First time (and row) each (actor, dimension, value) was seen, and how many actors
    /// use each value.
    pub first_seen: FirstSeen,
    /// Per actor dictionary id, the latest of its first-seen times: whether anything was
    /// new for it after a time, without going through every (actor, dimension, value).
    pub newest_first: HashMap<u32, i64>,
    /// Per principal number: (UTC hour number, events, first and last time) of each hour
    /// it was active, in time order.
    pub activity: Activity,
}

const DIMENSIONS: [(&str, &str); 3] = [
    (SRC_IP, "network"),
    (USER_AGENT, "client"),
    (COUNTRY, "country"),
];

/// When each actor first used each normalized value (network, client family, country), and
/// how many actors use each value. Values are numbered per dimension and actors go by their
/// dictionary ids: the table has an entry per actor and value, hundreds of thousands on a
/// month of a large organisation, held as sorted integer keys rather than maps of names.
#[derive(Debug, Default)]
pub struct FirstSeen {
    /// Per dimension (in [`DIMENSIONS`] order): the normalized values, by number.
    values: [Vec<String>; 3],
    /// Per dimension: each value's number.
    numbers: [HashMap<String, u32>; 3],
    /// Per dimension and value number: distinct actors that used it.
    actors: [Vec<usize>; 3],
    /// Per dimension: ([`pair_of`] actor id and value number, first time, its row),
    /// sorted by key, one entry per key.
    firsts: [Vec<(u64, i64, u32)>; 3],
}

/// A dimension's index in [`DIMENSIONS`].
fn dimension_index(dim: &str) -> Option<usize> {
    DIMENSIONS.iter().position(|(_, d)| *d == dim)
}

impl FirstSeen {
    /// When (and in which row) the actor with dictionary id `actor` first used the
    /// normalized `value` of `dim`.
    pub fn get(&self, actor: u32, dim: &str, value: &str) -> Option<(i64, u32)> {
        let d = dimension_index(dim)?;
        let number = *self.numbers[d].get(value)?;
        let key = (u64::from(actor) << 32) | u64::from(number);
        let table = &self.firsts[d];
        let at = table.binary_search_by_key(&key, |e| e.0).ok()?;
        table.get(at).map(|e| (e.1, e.2))
    }

    /// How many actors used the normalized `value` of `dim`.
    pub fn popularity(&self, dim: &str, value: &str) -> usize {
        let Some(d) = dimension_index(dim) else {
            return 0;
        };
        (self.numbers[d].get(value))
            .and_then(|n| self.actors[d].get(*n as usize))
            .copied()
            .unwrap_or(0)
    }

    /// The (dimension, value, (first time, row)) entries of the actor with dictionary id
    /// `actor`.
    pub fn of_actor(&self, actor: u32) -> Vec<(&'static str, &str, (i64, u32))> {
        let (lo, hi) = (u64::from(actor) << 32, (u64::from(actor) + 1) << 32);
        let mut out = Vec::new();
        for (d, table) in self.firsts.iter().enumerate() {
            let start = table.partition_point(|e| e.0 < lo);
            for &(key, t, row) in table[start..].iter().take_while(|e| e.0 < hi) {
                let value =
                    (self.values[d].get(split_key(key).1 as usize)).map_or("", String::as_str);
                out.push((DIMENSIONS[d].1, value, (t, row)));
            }
        }
        out
    }
}

/// Learns the baselines from the whole frame.
pub fn learn(ctx: &Context<'_>) -> Result<Baselines> {
    let mut b = Baselines {
        activity: activity(ctx)?,
        ..Baselines::default()
    };
    let countries = signin_countries(ctx)?;
    b.zones = zones(ctx, &b.activity, &countries);
    b.patterns = patterns(ctx, &b.zones, &b.activity);
    first_seen(ctx, &mut b)?;
    Ok(b)
}

/// Per principal and UTC hour, events and first/last time: one pass over the events of
/// the principals with privileged actions (the only ones the working-hours rule judges),
/// all their actors' events included.
fn activity(ctx: &Context<'_>) -> Result<Activity> {
    let mut judged = Vec::new();
    for number in (ctx.privileged_actors.iter()).filter_map(|a| ctx.principals.of(a)) {
        let n = number as usize;
        if judged.len() <= n {
            judged.resize(n + 1, false);
        }
        judged[n] = true;
    }
    let rows = &ctx.per_row;
    // Per (principal, hour) [`pair_of`]: events, first and last time.
    let mut hours: HashMap<u64, (u64, i64, i64), foldhash::fast::FixedState> = HashMap::default();
    for (p, t) in rows.principal.iter().zip(&rows.time) {
        if !judged.get(*p as usize).copied().unwrap_or(false) {
            continue;
        }
        let (t, hour) = (*t, t.div_euclid(HOUR));
        hours
            .entry(pair_of(*p, hour))
            .and_modify(|(n, lo, hi)| {
                *n += 1;
                *lo = (*lo).min(t);
                *hi = (*hi).max(t);
            })
            .or_insert((1, t, t));
    }
    let mut out: Activity = HashMap::new();
    for (k, (n, lo, hi)) in hours {
        let (id, h) = split_key(k);
        out.entry(id).or_default().push((i64::from(h), n, lo, hi));
    }
    for buckets in out.values_mut() {
        buckets.sort_unstable();
    }
    Ok(out)
}

/// An id and a non-negative integer as one `u64` key (a negative integer as `u32::MAX`,
/// as the group-by keys it replaced held it): grouping by one integer is fast.
pub(super) fn pair_of(id: u32, value: i64) -> u64 {
    let value = u64::try_from(value).unwrap_or(u64::from(u32::MAX));
    (u64::from(id) << 32).wrapping_add(value)
}

/// The actor's physical id as a group-by key, named after its column.
pub(super) fn actor_key() -> Expr {
    col(ACTOR).to_physical().alias(ACTOR)
}

/// The two integers of a [`pair_of`] key.
pub(super) fn split_key(key: u64) -> (u32, u32) {
    ((key >> 32) as u32, (key & 0xffff_ffff) as u32)
}

/// Resolves each actor's zone: configured per actor, per group, inferred from when a
/// person acts, else the default.
fn zones(
    ctx: &Context<'_>,
    activity: &Activity,
    countries: &HashMap<u32, String>,
) -> HashMap<String, ActorZone> {
    let d = ctx.config;
    let default_hours = hours_of(&d.business_hours);
    let default_days: Vec<u32> = d
        .business_days
        .iter()
        .filter_map(|x| crate::time::parse_weekday(x))
        .collect();
    let groups: Vec<(Vec<regex::Regex>, &config::Schedule)> = d
        .groups
        .values()
        .map(|g| {
            (
                g.members
                    .iter()
                    .filter_map(|m| glob_regex(m).ok())
                    .collect(),
                g,
            )
        })
        .collect();
    let mut out = HashMap::new();
    for (id, buckets) in activity {
        let id = *id;
        // Hour-of-week histogram (UTC, Monday 00:00 = 0), for the inference.
        let mut week = [0u64; 168];
        for (h, n, _, _) in buckets {
            week[(h + 72).rem_euclid(168) as usize] += n;
        }
        let hist: Vec<(i64, u64)> = week
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(h, n)| (h as i64, *n))
            .collect();
        let Some(actor) = ctx.principals.name(id) else {
            continue;
        };
        let short = short_actor(actor);
        let schedule = d
            .actors
            .get(actor)
            .or_else(|| d.actors.get(short))
            .or_else(|| {
                groups
                    .iter()
                    .find(|(globs, _)| globs.iter().any(|g| g.is_match(actor) || g.is_match(short)))
                    .map(|(_, s)| *s)
            });
        let non_human = ctx.principals.non_human(id);
        let (tz, label) = match schedule.and_then(|s| s.tz.as_deref()) {
            Some(name) => (zone(name), name.to_string()),
            None => match (d.infer_tz && !non_human)
                .then(|| {
                    countries
                        .get(&id)
                        .and_then(|c| zone_of_country(c, &hist, ctx.span))
                })
                .flatten()
            {
                Some((tz, name, country)) => {
                    (tz, format!("{name} (inferred, sign-ins in {country})"))
                }
                None => match (d.infer_tz && !non_human)
                    .then(|| infer_offset(&hist))
                    .flatten()
                {
                    Some(hours) => {
                        let tz = jiff::tz::Offset::from_seconds(hours * 3600)
                            .map(jiff::tz::TimeZone::fixed)
                            .unwrap_or(jiff::tz::TimeZone::UTC);
                        (tz, format!("UTC{hours:+03} (inferred)"))
                    }
                    None => (zone(&d.default_tz), d.default_tz.clone()),
                },
            },
        };
        let hours = schedule
            .and_then(|s| s.hours.as_deref())
            .and_then(config::parse_hours)
            .unwrap_or(default_hours);
        let days = schedule
            .and_then(|s| s.days.as_ref())
            .map(|ds| {
                ds.iter()
                    .filter_map(|x| crate::time::parse_weekday(x))
                    .collect()
            })
            .unwrap_or_else(|| default_days.clone());
        out.insert(
            actor.to_string(),
            ActorZone {
                tz,
                label,
                hours,
                days,
            },
        );
    }
    out
}

/// Per principal number, the country most of its successful sign-ins came from.
fn signin_countries(ctx: &Context<'_>) -> Result<HashMap<u32, String>> {
    let df = ctx
        .action_frame(
            super::context::is_signin,
            &[ctx
                .category(crate::schema::OUTCOME, |o| o == "success")
                .and(col(COUNTRY).is_not_null())],
        )?
        .lazy()
        .group_by([col(PRINCIPAL), col(COUNTRY).to_physical().alias("l")])
        .agg([len().alias("n")])
        .collect()
        .map_err(Error::polars("sign-in countries"))?;
    let (actors, places, counts) = (u64s(&df, PRINCIPAL)?, u64s(&df, "l")?, u64s(&df, "n")?);
    let mut tally: HashMap<u32, HashMap<String, u64>> = HashMap::new();
    for i in 0..df.height() {
        if let (Some(a), Some(l), Some(n)) = (actors[i], places[i], counts[i])
            && let Some(place) = ctx.name(COUNTRY, l as u32)
        {
            *tally
                .entry(a as u32)
                .or_default()
                .entry(country_name(place))
                .or_default() += n;
        }
    }
    Ok(tally
        .into_iter()
        .filter_map(|(a, by_country)| {
            let total: u64 = by_country.values().sum();
            let (country, n) = by_country
                .into_iter()
                .max_by_key(|(c, n)| (*n, c.clone()))?;
            // Mostly one country: a traveller's or VPN user's places say little.
            (n * 10 >= total * 8).then_some((a, country))
        })
        .collect())
}

/// The zone of `country` that puts most of the actor's events inside Mon-Fri 07:00-20:00
/// (at least 60% of them: else the places do not describe the hours), with its name.
fn zone_of_country(
    country: &str,
    hist: &[(i64, u64)],
    span: (i64, i64),
) -> Option<(jiff::tz::TimeZone, String, String)> {
    let (_, names) = COUNTRY_ZONES.iter().find(|(c, _)| *c == country)?;
    let total: u64 = hist.iter().map(|(_, n)| n).sum();
    if total < 20 {
        return None;
    }
    let middle = jiff::Timestamp::from_microsecond(span.0 / 2 + span.1 / 2).ok()?;
    // (events inside, distance of the day's centre from 12:45, zone)
    let mut best: Option<(u64, f64, &str)> = None;
    for name in names.iter() {
        let tz = jiff::tz::TimeZone::get(name).ok()?;
        // The histogram is by UTC hour over the whole span: the offset in its middle.
        let offset = i64::from(tz.to_offset(middle).seconds()).div_euclid(3600);
        let (mut inside, mut hour_sum) = (0u64, 0f64);
        for (how, n) in hist {
            let local = (how + offset).rem_euclid(168);
            if local / 24 < 5 && (7..20).contains(&(local % 24)) {
                inside += n;
                hour_sum += ((local % 24) as f64 + 0.5) * *n as f64;
            }
        }
        // Neighbouring zones often both fit: the one centring the day on the usual
        // 08:00-17:30 wins.
        let centre = (hour_sum / inside.max(1) as f64 - 12.75).abs();
        if best.is_none_or(|(b, c, _)| inside > b || (inside == b && centre < c)) {
            best = Some((inside, centre, name));
        }
    }
    let (inside, _, name) = best?;
    (inside * 10 >= total * 6).then(|| {
        (
            jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC),
            name.to_string(),
            country.to_string(),
        )
    })
}

/// The whole-hour UTC offset that puts at least 80% of a person's events inside
/// Mon-Fri 07:00-20:00, the one centring the day nearest 13:00 when several do.
fn infer_offset(hist: &[(i64, u64)]) -> Option<i32> {
    let total: u64 = hist.iter().map(|(_, n)| n).sum();
    if total < 20 {
        return None;
    }
    let mut best: Option<(i32, f64)> = None;
    for offset in -11i32..=14 {
        let mut inside = 0u64;
        let mut hour_sum = 0f64;
        for (how, n) in hist {
            let local = (how + i64::from(offset)).rem_euclid(168);
            let (day, hour) = (local / 24, local % 24);
            if day < 5 && (7..20).contains(&hour) {
                inside += n;
                hour_sum += (hour as f64 + 0.5) * *n as f64;
            }
        }
        if (inside as f64) < 0.8 * total as f64 {
            continue;
        }
        let centre = (hour_sum / inside as f64 - 13.0).abs();
        if best.is_none_or(|(_, c)| centre < c) {
            best = Some((offset, centre));
        }
    }
    best.map(|(o, _)| o)
}

fn patterns(
    ctx: &Context<'_>,
    zones: &HashMap<String, ActorZone>,
    activity: &Activity,
) -> HashMap<String, WorkPattern> {
    let mut out: HashMap<String, WorkPattern> = HashMap::new();
    for (id, buckets) in activity {
        let Some(actor) = ctx.principals.name(*id) else {
            continue;
        };
        let Some(zone) = zones.get(actor) else {
            continue;
        };
        let mut p = WorkPattern {
            days_by_hour: vec![BTreeSet::new(); 24],
            weeks_by_weekday: vec![BTreeSet::new(); 7],
            ..WorkPattern::default()
        };
        let mut days = HashSet::new();
        let offsets = Offsets::new(&zone.tz, ctx.span);
        p.span_days = (offsets.local(ctx.span.0).0, offsets.local(ctx.span.1).0);
        for (_, n, lo, hi) in buckets {
            let (day, lo_min) = offsets.local(*lo);
            let (_, hi_min) = offsets.local(*hi);
            p.days_by_hour[(lo_min / 60) as usize % 24].insert(day);
            p.weeks_by_weekday[weekday(day) as usize].insert(week(day));
            p.events += n;
            p.buckets
                .push((day, lo_min as u32, hi_min.max(lo_min) as u32, *n));
            days.insert(day);
        }
        p.active_days = days.len();
        let weeks: BTreeSet<i64> = p.weeks_by_weekday.iter().flatten().copied().collect();
        p.active_weeks = weeks.into_iter().collect();
        out.insert(actor.to_string(), p);
    }
    out
}

/// Weekday of a local day number (0 = Monday; day 0 = 1970-01-01, a Thursday).
fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// Monday-based week number of a local day number.
fn week(day: i64) -> i64 {
    (day + 3).div_euclid(7)
}

use crate::time::WEEKDAYS;

impl WorkPattern {
    /// Whether local hour `hour` is usual, not counting day `day`: the actor was active in
    /// it (or the hour before or after) on `k` other days.
    pub(super) fn hour_usual(&self, hour: usize, day: i64, k: usize) -> bool {
        [23, 0, 1].iter().any(|d| {
            let h = (hour + d) % 24;
            let days = &self.days_by_hour[h];
            days.len() - usize::from(days.contains(&day)) >= k
        })
    }

    /// Whether weekday of `day` is usual, not counting that week: the actor was active on it
    /// in two of the other weeks it could have been (fewer when there are fewer).
    pub(super) fn weekday_usual(&self, day: i64) -> bool {
        let own = &self.weeks_by_weekday[weekday(day) as usize];
        let seen = own.len() - usize::from(own.contains(&week(day)));
        seen >= self.chances(weekday(day), Some(week(day))).min(2)
    }

    /// The actor's active weeks (but `except`) in which `weekday` fell inside the data: the
    /// first and last weeks of a short history are partial, and a week away is no chance.
    fn chances(&self, weekday: i64, except: Option<i64>) -> usize {
        let (first, last) = self.span_days;
        (self.active_weeks.iter().copied())
            .filter(|w| Some(*w) != except)
            .filter(|w| (first..=last).contains(&(w * 7 + weekday - 3)))
            .count()
    }

    /// The usual weekdays, as `Mon-Fri` or a list.
    pub(super) fn weekdays_text(&self) -> String {
        let usual: Vec<usize> = (0..7)
            .filter(|w| {
                let seen = self.weeks_by_weekday[*w].len();
                seen > 0 && seen >= self.chances(*w as i64, None).min(2)
            })
            .collect();
        days_text(&usual.iter().map(|d| *d as u32).collect::<Vec<_>>())
    }

    /// The 2nd-98th percentile of local time of day, `HH:MM-HH:MM`, leaving out `day`.
    pub(super) fn hours_text(&self, day: i64) -> String {
        let kept: Vec<(u32, u32, u64)> = self
            .buckets
            .iter()
            .filter(|b| b.0 != day)
            .map(|b| (b.1, b.2, b.3))
            .collect();
        let total: u64 = kept.iter().map(|b| b.2).sum();
        let pick = |sorted: &mut Vec<(u32, u64)>, q: f64| {
            sorted.sort_unstable();
            let target = (q * total as f64).ceil() as u64;
            let mut acc = 0;
            for (m, n) in sorted.iter() {
                acc += n;
                if acc >= target.max(1) {
                    return *m;
                }
            }
            sorted.last().map_or(0, |x| x.0)
        };
        let lo = pick(&mut kept.iter().map(|b| (b.0, b.2)).collect(), 0.02);
        let hi = pick(&mut kept.iter().map(|b| (b.1, b.2)).collect(), 0.98);
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            lo / 60,
            lo % 60,
            hi / 60,
            hi % 60
        )
    }
}

/// Weekdays (0 = Monday) as `Mon-Fri` or `Sat,Sun`.
pub(super) fn days_text(days: &[u32]) -> String {
    if days.is_empty() {
        return "no day".into();
    }
    let contiguous = days.windows(2).all(|w| w[1] == w[0] + 1);
    if contiguous && days.len() > 2 {
        format!(
            "{}-{}",
            WEEKDAYS[days[0] as usize % 7],
            WEEKDAYS[days[days.len() - 1] as usize % 7]
        )
    } else {
        days.iter()
            .map(|d| WEEKDAYS[*d as usize % 7])
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A zone's UTC offsets over the data span, for fast local times.
struct Offsets {
    at: Vec<i64>,
    offset: Vec<i64>,
}

impl Offsets {
    fn new(tz: &jiff::tz::TimeZone, (first, last): (i64, i64)) -> Offsets {
        let start = jiff::Timestamp::from_microsecond(first).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let mut at = vec![i64::MIN];
        let mut offset = vec![i64::from(tz.to_offset(start).seconds()) * 1_000_000];
        for t in tz.following(start).take(400) {
            let when = t.timestamp().as_microsecond();
            if when > last {
                break;
            }
            at.push(when);
            offset.push(i64::from(t.offset().seconds()) * 1_000_000);
        }
        Offsets { at, offset }
    }

    /// Local (day number, minute of day) of a UTC time.
    fn local(&self, us: i64) -> (i64, i64) {
        let i = self.at.partition_point(|a| *a <= us).saturating_sub(1);
        let local = us + self.offset.get(i).copied().unwrap_or(0);
        (local.div_euclid(DAY), local.rem_euclid(DAY) / MINUTE)
    }
}

/// Local (day number, minute of day, weekday) of a UTC time in a zone.
pub(super) fn local_of(us: i64, tz: &jiff::tz::TimeZone) -> (i64, i64, i64) {
    let offset = jiff::Timestamp::from_microsecond(us)
        .map(|ts| i64::from(tz.to_offset(ts).seconds()) * 1_000_000)
        .unwrap_or(0);
    let local = us + offset;
    let day = local.div_euclid(DAY);
    (day, local.rem_euclid(DAY) / MINUTE, weekday(day))
}

/// The network of an address: /24 for IPv4, /48 for IPv6; None for names and junk.
///
/// A private address is its whole private range: a new /24 inside `10.0.0.0/8` (a node-pool
/// upgrade moving pods to a new slice of the cluster's pod range, a new office subnet) is
/// no new network, and the ranges are the organisation's own.
pub(crate) fn network_of(ip: &str) -> Option<String> {
    // `0.0.0.0` and `::` are no address (see `net::Addr::parse`), so no network.
    crate::net::Addr::parse(ip)?;
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => {
            let o = a.octets();
            let private = match o {
                [10, ..] => Some("10.0.0.0/8"),
                [172, b, ..] if (16..32).contains(&b) => Some("172.16.0.0/12"),
                [192, 168, ..] => Some("192.168.0.0/16"),
                [100, b, ..] if (64..128).contains(&b) => Some("100.64.0.0/10"),
                [127, ..] => Some("127.0.0.0/8"),
                [169, 254, ..] => Some("169.254.0.0/16"),
                _ => None,
            };
            Some(match private {
                Some(range) => format!("{range} (private)"),
                None => format!("{}.{}.{}.0/24", o[0], o[1], o[2]),
            })
        }
        std::net::IpAddr::V6(a) => {
            let s = a.segments();
            if let Some(v4) = a.to_ipv4_mapped() {
                return network_of(&v4.to_string());
            }
            Some(if s[0] & 0xfe00 == 0xfc00 {
                "fc00::/7 (private)".to_string()
            } else if s[0] & 0xffc0 == 0xfe80 || a.is_loopback() {
                "fe80::/10 (local)".to_string()
            } else {
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            })
        }
    }
}

/// The family of a user agent: product and major version, or the browser.
pub(crate) fn client_of(ua: &str) -> Option<String> {
    let ua = ua.trim().trim_start_matches('[').trim_end_matches(']');
    if ua.is_empty() {
        return None;
    }
    if ua.starts_with("Mozilla/") {
        for (needle, name) in [
            ("Edg/", "Edge"),
            ("Firefox/", "Firefox"),
            ("Chrome/", "Chrome"),
            ("Safari/", "Safari"),
        ] {
            if ua.contains(needle) {
                return Some(name.into());
            }
        }
        return Some("browser".into());
    }
    let first = ua.split_whitespace().next().unwrap_or(ua);
    Some(match first.split_once('/') {
        Some((product, version)) => {
            let major: String = version.chars().take_while(|c| *c != '.').collect();
            format!("{product}/{major}")
        }
        None => first.to_string(),
    })
}

/// A country code, when there is one.
fn place_of(country: &str) -> Option<String> {
    let c = country.trim();
    (!c.is_empty()).then(|| c.to_string())
}

fn normalize(dim: &str, value: &str) -> Option<String> {
    match dim {
        "network" => network_of(value),
        "client" => client_of(value),
        _ => place_of(value),
    }
}

fn first_seen(ctx: &Context<'_>, b: &mut Baselines) -> Result<()> {
    let mut newest: HashMap<u32, i64> = HashMap::new();
    let rows = &ctx.per_row;
    for (column, dim) in DIMENSIONS {
        let raw = ids(&ctx.frame, column, NO_ACTOR)?;
        // Per (actor, raw value) key: first time and least row.
        let mut groups: HashMap<u64, (i64, u32), foldhash::fast::FixedState> = HashMap::default();
        for (i, &v) in raw.iter().enumerate() {
            let actor = rows.actor[i];
            if v == NO_ACTOR || actor == NO_ACTOR {
                continue;
            }
            let (t, r) = (rows.time[i], rows.row[i]);
            groups
                .entry((u64::from(actor) << 32) | u64::from(v))
                .and_modify(|(first, least)| {
                    *first = (*first).min(t);
                    *least = (*least).min(r);
                })
                .or_insert((t, r));
        }
        // Many raw values make one normalized value (addresses of a network): the earliest
        // per actor and normalized value is found on integers, and only those are named.
        // Per raw dictionary id: not yet normalized, or its normalized value's number.
        let mut norm: Vec<Option<Option<u32>>> = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut firsts: Vec<(u64, i64, u32)> = Vec::with_capacity(groups.len());
        for (k, (t, r)) in groups {
            let (id, v) = split_key(k);
            if norm.len() <= v as usize {
                norm.resize(v as usize + 1, None);
            }
            let value = *norm[v as usize].get_or_insert_with(|| {
                let name = ctx.name(column, v).and_then(|raw| {
                    if dim == "network" && ctx.is_trusted(raw) {
                        return None;
                    }
                    normalize(dim, raw)
                })?;
                Some(*index.entry(name.clone()).or_insert_with(|| {
                    values.push(name);
                    values.len() as u32 - 1
                }))
            });
            if let Some(value) = value {
                firsts.push(((u64::from(id) << 32) | u64::from(value), t, r));
            }
        }
        // The earliest (time, row) per (actor, value) first, then one entry per key.
        firsts.sort_unstable();
        firsts.dedup_by_key(|e| e.0);
        let mut actors_per = vec![0usize; values.len()];
        for &(key, t, _) in &firsts {
            let (id, value) = split_key(key);
            if let Some(n) = actors_per.get_mut(value as usize) {
                *n += 1;
            }
            let latest = newest.entry(id).or_insert(t);
            *latest = (*latest).max(t);
        }
        let d = dimension_index(dim).unwrap_or(0);
        let table = &mut b.first_seen;
        table.numbers[d] = index;
        table.values[d] = values;
        table.actors[d] = actors_per;
        table.firsts[d] = firsts;
    }
    b.newest_first = newest;
    Ok(())
}

/// The dimensions (network, client, country) of an event first seen for its actor after
/// its learning period, within the grouping window before the event.
pub(super) fn new_dimensions(
    ctx: &Context<'_>,
    b: &Baselines,
    e: &Ev,
) -> Vec<(&'static str, String, bool)> {
    let Some(learned) = ctx.learn_end(&e.actor) else {
        return Vec::new();
    };
    if e.time < learned {
        return Vec::new();
    }
    let Some(actor) = ctx.stats.get(&e.actor).map(|s| s.id) else {
        return Vec::new();
    };
    let window = minutes(ctx.config.group_minutes);
    let mut out = Vec::new();
    for (dim, raw) in [
        ("network", &e.src_ip),
        ("client", &e.user_agent),
        ("country", &e.country),
    ] {
        if dim == "network" && ctx.is_trusted(raw) {
            continue;
        }
        let Some(value) = normalize(dim, raw) else {
            continue;
        };
        let Some((first, _)) = b.first_seen.get(actor, dim, &value) else {
            continue;
        };
        if first >= learned && e.time - first <= window {
            let popular = b.first_seen.popularity(dim, &value) > 3;
            out.push((dim, value, popular));
        }
    }
    out
}

/// The zone named in the configuration, or UTC.
fn zone(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Working hours from the configuration (`config::parse_hours`), default 08:00-19:00.
fn hours_of(text: &str) -> (u32, u32) {
    config::parse_hours(text).unwrap_or((8 * 60, 19 * 60))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_normalize() {
        assert_eq!(
            network_of("203.0.113.66").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            network_of("2001:db8:1:2::1").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(network_of("ec2.amazonaws.com"), None);
        for placeholder in [
            "0.0.0.0",
            "::",
            "private",
            "gce-internal-ip",
            "AWS Internal",
        ] {
            assert_eq!(network_of(placeholder), None, "{placeholder}");
        }
        // Private ranges are one network each, whatever the /24.
        assert_eq!(network_of("10.4.1.20"), network_of("10.4.9.21"));
        assert_eq!(network_of("172.20.1.1"), network_of("172.31.9.9"));
        assert_ne!(network_of("172.32.1.1"), network_of("172.31.9.9"));
        assert_eq!(network_of("fd00:1::5"), network_of("fd12:3::5"));
        assert_eq!(network_of("::ffff:10.1.2.3"), network_of("10.9.9.9"));
        assert_eq!(
            client_of("aws-cli/2.15.10 Python/3.11.6").as_deref(),
            Some("aws-cli/2")
        );
        assert_eq!(
            client_of("Mozilla/5.0 (Windows NT 10.0) Chrome/122.0 Safari/537.36").as_deref(),
            Some("Chrome")
        );
        assert_eq!(
            client_of("[aws-cli/1.18.136]").as_deref(),
            Some("aws-cli/1")
        );
        assert_eq!(place_of(" DE ").as_deref(), Some("DE"));
        assert_eq!(place_of(""), None);
    }

    #[test]
    fn offsets_are_inferred_from_working_hours() {
        // Mon-Fri 15:00-23:00 UTC: a person at UTC-6 working 09:00-17:00.
        let hist: Vec<(i64, u64)> = (0..5)
            .flat_map(|d| (15..23).map(move |h| (d * 24 + h, 3)))
            .collect();
        assert_eq!(infer_offset(&hist), Some(-6));
        let around: Vec<(i64, u64)> = (0..168).map(|h| (h, 3)).collect();
        assert_eq!(infer_offset(&around), None);
    }

    #[test]
    fn weekdays_read_as_ranges() {
        assert_eq!(days_text(&[0, 1, 2, 3, 4]), "Mon-Fri");
        assert_eq!(days_text(&[5, 6]), "Sat,Sun");
    }
}
