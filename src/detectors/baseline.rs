//! Behavioural rules: each actor judged against its own history in the data. Working hours
//! and days in the actor's time zone, dormancy, first-seen sources, rare actions, travel
//! between sign-ins, and the stricter baselines of non-human identities.
//!
//! The history is learned with group-bys over the whole frame (per actor and local hour,
//! per actor and source, per actor and action, per actor and day); only the events a rule
//! judges (privileged actions, sign-ins, first occurrences) are read one by one.

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use super::window::is_signin;
use super::{
    Ctx, DAY, Ev, Finding, HOUR, Hit, MINUTE, ROW, Rule, RuleInfo, Severity, finding, group_hits,
    hours_of, i64s, minutes, u64s, when_utc, zone,
};
use crate::schema::{ACTOR, LOCATION, OUTCOME, PRIVILEGED, SRC_IP, TIME, USER_AGENT};
use crate::{Error, Result, config};

use Severity::{Critical, High, Info, Low, Medium};

/// The behavioural rules, in the order they combine (off-hours and dormancy first: the
/// first-seen and rare-action rules escalate on them).
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(OffHours),
        Box::new(Dormant),
        Box::new(FirstSeen),
        Box::new(NonHuman),
        Box::new(RareAction),
        Box::new(super::travel::Travel),
    ]
}

/// Whether a rule reads the shared [`Baselines`].
pub fn uses_baselines(id: &str) -> bool {
    rules().iter().any(|r| r.info().id == id)
}

// ---------------------------------------------------------------------------------------
// Baselines
// ---------------------------------------------------------------------------------------

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

/// An actor's working profile in local time.
#[derive(Debug, Clone, Default)]
pub struct Profile {
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
}

/// Per actor (physical id): (UTC hour number, events, first and last time) per active hour.
pub type Activity = HashMap<u32, Vec<(i64, u64, i64, i64)>>;

/// What the behavioural rules learn once and share.
#[derive(Debug, Default)]
pub struct Baselines {
    /// Zone per actor.
    pub zones: HashMap<String, ActorZone>,
    /// Working profile per actor.
    pub profiles: HashMap<String, Profile>,
    /// First time (and row) each (actor, dimension, value) was seen.
    pub first_seen: HashMap<(String, &'static str, String), (i64, u32)>,
    /// Distinct actors per (dimension, value).
    pub popularity: HashMap<(&'static str, String), usize>,
    /// Per actor (physical id): (UTC hour number, events, first and last time) of each
    /// hour it was active, in time order.
    pub activity: Activity,
}

const DIMENSIONS: [(&str, &str); 3] = [
    (SRC_IP, "network"),
    (USER_AGENT, "client"),
    (LOCATION, "location"),
];

impl Ctx<'_> {
    /// The shared baselines (learned on first use).
    pub fn baselines(&self) -> Result<&Baselines> {
        if let Some(b) = self.baselines.get() {
            return Ok(b);
        }
        let learned = learn(self)?;
        Ok(self.baselines.get_or_init(|| learned))
    }

    /// When an actor's learning period ends.
    pub fn learn_end(&self, actor: &str) -> Option<i64> {
        let stat = self.stats.get(actor)?;
        let days = if stat.non_human {
            self.config.nhi_learn_days
        } else {
            self.config.learn_days
        };
        (stat.events >= u64::from(self.config.learn_events))
            .then(|| stat.first + i64::from(days) * DAY)
    }
}

fn learn(ctx: &Ctx<'_>) -> Result<Baselines> {
    let mut b = Baselines {
        activity: activity(ctx)?,
        ..Baselines::default()
    };
    b.zones = zones(ctx, &b.activity);
    b.profiles = profiles(ctx, &b.zones, &b.activity);
    first_seen(ctx, &mut b)?;
    Ok(b)
}

/// Per actor and UTC hour, events and first/last time: one group-by over the events of
/// the actors with privileged actions (the only ones the working-hours rule judges).
fn activity(ctx: &Ctx<'_>) -> Result<Activity> {
    let judged = ctx.category(ACTOR, |a| ctx.privileged_actors.contains(a));
    let df = ctx
        .frame
        .clone()
        .lazy()
        .filter(judged)
        .group_by([pair_key(
            col(ACTOR).to_physical(),
            col(TIME).to_physical().floor_div(lit(HOUR)),
        )
        .alias("k")])
        .agg([
            len().alias("n"),
            col(TIME).min().alias("lo"),
            col(TIME).max().alias("hi"),
        ])
        .collect()
        .map_err(Error::polars("activity per actor and hour"))?;
    let (keys, ns) = (u64s(&df, "k")?, u64s(&df, "n")?);
    let (lo, hi) = (i64s(&df, "lo")?, i64s(&df, "hi")?);
    let mut out: Activity = HashMap::new();
    for i in 0..df.height() {
        if let (Some(k), Some(n), Some(lo), Some(hi)) = (keys[i], ns[i], lo[i], hi[i]) {
            let (id, h) = split_key(k);
            out.entry(id).or_default().push((i64::from(h), n, lo, hi));
        }
    }
    for buckets in out.values_mut() {
        buckets.sort_unstable();
    }
    Ok(out)
}

pub(super) fn actor_key() -> Expr {
    col(ACTOR).to_physical().alias(ACTOR)
}

/// Two non-negative integers (the first a physical id) as one `u64` group key: grouping
/// by one integer is much faster than by two columns.
fn pair_key(id: Expr, value: Expr) -> Expr {
    id.cast(DataType::UInt64) * lit(1u64 << 32)
        + value
            .cast(DataType::UInt64)
            .fill_null(lit(u64::from(u32::MAX)))
}

fn split_key(key: u64) -> (u32, u32) {
    ((key >> 32) as u32, (key & 0xffff_ffff) as u32)
}

/// Resolves each actor's zone: configured per actor, per group, inferred from when a
/// person acts, else the default.
fn zones(ctx: &Ctx<'_>, activity: &Activity) -> HashMap<String, ActorZone> {
    let d = ctx.config;
    let default_hours = hours_of(&d.business_hours);
    let default_days: Vec<u32> = d
        .business_days
        .iter()
        .filter_map(|x| config::parse_weekday(x))
        .collect();
    let groups: Vec<(Vec<regex::Regex>, &config::Schedule)> = d
        .groups
        .values()
        .map(|g| {
            (
                g.members
                    .iter()
                    .filter_map(|m| super::glob_regex(m).ok())
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
        let Some(actor) = ctx.name(ACTOR, id) else {
            continue;
        };
        let short = super::short_actor(actor);
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
        let non_human = ctx.stats.get(actor).is_some_and(|s| s.non_human);
        let (tz, label) = match schedule.and_then(|s| s.tz.as_deref()) {
            Some(name) => (zone(name), name.to_string()),
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
        };
        let hours = schedule
            .and_then(|s| s.hours.as_deref())
            .and_then(config::parse_hours)
            .unwrap_or(default_hours);
        let days = schedule
            .and_then(|s| s.days.as_ref())
            .map(|ds| ds.iter().filter_map(|x| config::parse_weekday(x)).collect())
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

fn profiles(
    ctx: &Ctx<'_>,
    zones: &HashMap<String, ActorZone>,
    activity: &Activity,
) -> HashMap<String, Profile> {
    let mut out: HashMap<String, Profile> = HashMap::new();
    for (id, buckets) in activity {
        let Some(actor) = ctx.name(ACTOR, *id) else {
            continue;
        };
        let Some(zone) = zones.get(actor) else {
            continue;
        };
        let mut p = Profile {
            days_by_hour: vec![BTreeSet::new(); 24],
            weeks_by_weekday: vec![BTreeSet::new(); 7],
            ..Profile::default()
        };
        let mut days = HashSet::new();
        let offsets = Offsets::new(&zone.tz, ctx.span);
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

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEKDAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl Profile {
    /// Whether local hour `hour` is usual, not counting day `day`: the actor was active in
    /// it (or the hour before or after) on `k` other days.
    fn hour_usual(&self, hour: usize, day: i64, k: usize) -> bool {
        [23, 0, 1].iter().any(|d| {
            let h = (hour + d) % 24;
            let days = &self.days_by_hour[h];
            days.len() - usize::from(days.contains(&day)) >= k
        })
    }

    /// Whether weekday of `day` is usual, not counting that week.
    fn weekday_usual(&self, day: i64) -> bool {
        let weeks: BTreeSet<i64> = self.weeks_by_weekday.iter().flatten().copied().collect();
        let need = weeks.len().saturating_sub(1).min(2);
        let own = &self.weeks_by_weekday[weekday(day) as usize];
        own.len() - usize::from(own.contains(&week(day))) >= need
    }

    /// The usual weekdays, as `Mon-Fri` or a list.
    fn weekdays_text(&self) -> String {
        let usual: Vec<usize> = (0..7)
            .filter(|w| {
                self.weeks_by_weekday[*w].len()
                    >= 2.min(
                        self.weeks_by_weekday
                            .iter()
                            .map(BTreeSet::len)
                            .max()
                            .unwrap_or(0),
                    )
            })
            .collect();
        days_text(&usual.iter().map(|d| *d as u32).collect::<Vec<_>>())
    }

    /// The 2nd-98th percentile of local time of day, `HH:MM-HH:MM`, leaving out `day`.
    fn hours_text(&self, day: i64) -> String {
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

fn days_text(days: &[u32]) -> String {
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
fn local_of(us: i64, tz: &jiff::tz::TimeZone) -> (i64, i64, i64) {
    let offset = jiff::Timestamp::from_microsecond(us)
        .map(|ts| i64::from(tz.to_offset(ts).seconds()) * 1_000_000)
        .unwrap_or(0);
    let local = us + offset;
    let day = local.div_euclid(DAY);
    (day, local.rem_euclid(DAY) / MINUTE, weekday(day))
}

/// The network of an address: /24 for IPv4, /48 for IPv6; None for names and junk.
pub(crate) fn network_of(ip: &str) -> Option<String> {
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => {
            let o = a.octets();
            Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        std::net::IpAddr::V6(a) => {
            let s = a.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
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

/// A geography (not a cloud region or zone).
fn place_of(location: &str) -> Option<String> {
    let l = location.trim();
    (!l.is_empty() && !l.chars().any(|c| c.is_ascii_digit()) && !l.eq_ignore_ascii_case("global"))
        .then(|| l.to_string())
}

fn normalize(dim: &str, value: &str) -> Option<String> {
    match dim {
        "network" => network_of(value),
        "client" => client_of(value),
        _ => place_of(value),
    }
}

fn first_seen(ctx: &Ctx<'_>, b: &mut Baselines) -> Result<()> {
    let mut actors_per: HashMap<(&'static str, String), HashSet<u32>> = HashMap::new();
    for (column, dim) in DIMENSIONS {
        let df = ctx
            .frame
            .clone()
            .lazy()
            .filter(col(column).is_not_null())
            .group_by([pair_key(col(ACTOR).to_physical(), col(column).to_physical()).alias("k")])
            .agg([col(TIME).min().alias("t"), col(ROW).min().alias("r")])
            .collect()
            .map_err(Error::polars("first-seen sources"))?;
        let (keys, ts, rs) = (u64s(&df, "k")?, i64s(&df, "t")?, u64s(&df, "r")?);
        let mut norm: HashMap<u32, Option<String>> = HashMap::new();
        for i in 0..df.height() {
            let (Some(k), Some(t), Some(r)) = (keys[i], ts[i], rs[i]) else {
                continue;
            };
            let (id, v) = split_key(k);
            let value = norm
                .entry(v)
                .or_insert_with(|| {
                    ctx.name(column, v).and_then(|raw| {
                        if dim == "network" && ctx.is_trusted(raw) {
                            return None;
                        }
                        normalize(dim, raw)
                    })
                })
                .clone();
            let (Some(value), Some(actor)) = (value, ctx.name(ACTOR, id)) else {
                continue;
            };
            actors_per
                .entry((dim, value.clone()))
                .or_default()
                .insert(id);
            let slot = b
                .first_seen
                .entry((actor.to_string(), dim, value))
                .or_insert((t, r as u32));
            if (t, r as u32) < *slot {
                *slot = (t, r as u32);
            }
        }
    }
    b.popularity = actors_per.into_iter().map(|(k, v)| (k, v.len())).collect();
    Ok(())
}

/// The dimensions (network, client, location) of an event first seen for its actor after
/// its learning period, within the grouping window before the event.
fn new_dimensions(ctx: &Ctx<'_>, b: &Baselines, e: &Ev) -> Vec<(&'static str, String, bool)> {
    let Some(learned) = ctx.learn_end(&e.actor) else {
        return Vec::new();
    };
    if e.time < learned {
        return Vec::new();
    }
    let window = minutes(ctx.config.group_minutes);
    let mut out = Vec::new();
    for (dim, raw) in [
        ("network", &e.src_ip),
        ("client", &e.user_agent),
        ("location", &e.location),
    ] {
        if dim == "network" && ctx.is_trusted(raw) {
            continue;
        }
        let Some(value) = normalize(dim, raw) else {
            continue;
        };
        let Some((first, _)) = b.first_seen.get(&(e.actor.clone(), dim, value.clone())) else {
            continue;
        };
        if *first >= learned && e.time - first <= window {
            let popular = b
                .popularity
                .get(&(dim, value.clone()))
                .copied()
                .unwrap_or(0)
                > 3;
            out.push((dim, value, popular));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Off-hours privileged action
// ---------------------------------------------------------------------------------------

struct OffHours;

static OFF_HOURS: RuleInfo = RuleInfo {
    id: "off-hours-privileged-action",
    title: "Privileged action outside the actor's working pattern",
    mitre: &["T1078.004"],
    severity: Medium,
    summary: "a successful privileged action at an hour or on a weekday the actor does not work, learned per actor in its own time zone; configured business hours (low) when history is thin",
};

fn privileged_success(ctx: &Ctx<'_>) -> Expr {
    col(PRIVILEGED)
        .eq(lit(true))
        .fill_null(lit(false))
        .and(ctx.category(OUTCOME, |o| o == "success"))
}

impl Rule for OffHours {
    fn info(&self) -> &'static RuleInfo {
        &OFF_HOURS
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> Result<Vec<Finding>> {
        let events = ctx.select(privileged_success(ctx))?;
        let b = ctx.baselines()?;
        let d = ctx.config;
        let span_days = (ctx.span.1 - ctx.span.0) / DAY;
        let k = if span_days >= 28 {
            3
        } else {
            d.thresholds.offhours_min_days as usize
        };
        let mut hits = Vec::new();
        for e in events {
            let Some(z) = b.zones.get(&e.actor) else {
                continue;
            };
            let (day, minute, wd) = local_of(e.time, &z.tz);
            let hour = (minute / 60) as usize;
            let profile = b.profiles.get(&e.actor);
            let personal = profile.filter(|p| {
                p.active_days >= d.min_history_days as usize
                    && p.events >= u64::from(d.min_history_events)
            });
            let local = format!(
                "{} {:02}:{:02} {}",
                WEEKDAY_NAMES[wd as usize],
                minute / 60,
                minute % 60,
                z.label
            );
            let what = describe(&e);
            let (severity, reason) = match personal {
                Some(p) => {
                    if p.hour_usual(hour, day, k) && p.weekday_usual(day) {
                        continue;
                    }
                    let sev = if ctx.is_critical_tier(e.row) {
                        High
                    } else {
                        Medium
                    };
                    (
                        sev,
                        format!(
                            "{} {what} on {local}; over {} days {} acted only {} {}",
                            e.who(),
                            p.active_days,
                            e.who(),
                            p.weekdays_text(),
                            p.hours_text(day)
                        ),
                    )
                }
                None if e.non_human() => continue,
                None => {
                    let inside = z.days.contains(&(wd as u32))
                        && (z.hours.0..z.hours.1).contains(&(minute as u32));
                    if inside {
                        continue;
                    }
                    let days = profile.map_or(0, |p| p.active_days);
                    (
                        Low,
                        format!(
                            "{} {what} on {local}, outside the configured working hours {} {:02}:{:02}-{:02}:{:02} ({days} active day(s) in the data: too few for a personal profile)",
                            e.who(),
                            days_text(&z.days),
                            z.hours.0 / 60,
                            z.hours.0 % 60,
                            z.hours.1 / 60,
                            z.hours.1 % 60
                        ),
                    )
                }
            };
            let severity = if ctx.is_automation(&e.actor) {
                Info
            } else {
                severity
            };
            hits.push(Hit {
                ev: e,
                severity,
                reason,
            });
        }
        let rows: Vec<u32> = hits.iter().map(|h| h.ev.row).collect();
        ctx.mark(&rows, "off-hours");
        Ok(group_hits(&OFF_HOURS, hits, 60 * MINUTE))
    }
}

/// "attached AdministratorAccess to legacy-admin" style summary of an event.
fn describe(e: &Ev) -> String {
    let target = e
        .detail("policyArn")
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .or_else(|| e.detail("role").map(str::to_string));
    match (target, e.resource.is_empty()) {
        (Some(t), false) => format!("ran {} ({t}, {})", e.action, e.resource),
        (Some(t), true) => format!("ran {} ({t})", e.action),
        (None, false) => format!("ran {} on {}", e.action, e.resource),
        (None, true) => format!("ran {}", e.action),
    }
}

// ---------------------------------------------------------------------------------------
// Dormant identity reactivated
// ---------------------------------------------------------------------------------------

struct Dormant;

static DORMANT: RuleInfo = RuleInfo {
    id: "dormant-identity-reactivated",
    title: "Dormant identity active again",
    mitre: &["T1078.004"],
    severity: Medium,
    summary: "an identity acting again after `dormant_days` without events (default half the data span, 14-90 days); the finding covers its first 24 hours back",
};

impl Rule for Dormant {
    fn info(&self) -> &'static RuleInfo {
        &DORMANT
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> Result<Vec<Finding>> {
        let span_days = (ctx.span.1 - ctx.span.0) / DAY;
        let idle_days = match ctx.config.dormant_days {
            0 => (span_days / 2).clamp(14, 90),
            n => i64::from(n),
        };
        let idle = idle_days * DAY;
        let days = ctx
            .frame
            .clone()
            .lazy()
            .group_by([pair_key(
                col(ACTOR).to_physical(),
                col(TIME).to_physical().floor_div(lit(DAY)),
            )
            .alias("k")])
            .agg([col(TIME).min().alias("lo"), col(TIME).max().alias("hi")])
            .collect()
            .map_err(Error::polars("active days"))?;
        let (keys, lo, hi) = (u64s(&days, "k")?, i64s(&days, "lo")?, i64s(&days, "hi")?);
        let mut by_actor: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
        for i in 0..days.height() {
            if let (Some(k), Some(lo), Some(hi)) = (keys[i], lo[i], hi[i]) {
                by_actor.entry(split_key(k).0).or_default().push((lo, hi));
            }
        }
        let mut returns = Vec::new();
        for (id, mut spans) in by_actor {
            spans.sort_unstable();
            for w in spans.windows(2) {
                if w[1].0 - w[0].1 >= idle {
                    returns.push((id, w[0].1, w[1].0));
                }
            }
        }
        let mut out = Vec::new();
        for (id, before, back) in returns {
            let Some(actor) = ctx.name(ACTOR, id).map(str::to_string) else {
                continue;
            };
            let predicate = col(ACTOR)
                .to_physical()
                .eq(lit(id))
                .and(col(TIME).to_physical().gt_eq(lit(back)))
                .and(col(TIME).to_physical().lt(lit(back + DAY)));
            let events = ctx.select(predicate)?;
            let Some(first) = events.first() else {
                continue;
            };
            let last_before = ctx.select(
                col(ACTOR)
                    .to_physical()
                    .eq(lit(id))
                    .and(col(TIME).to_physical().eq(lit(before))),
            )?;
            let non_human = first.non_human();
            let privileged = events.iter().filter(|e| e.privileged && e.ok()).count();
            let writes = events
                .iter()
                .filter(|e| e.read_only == Some(false) && e.ok())
                .count();
            let credentials = events.iter().any(|e| {
                e.ok()
                    && [
                        "CreateAccessKey",
                        "Add service principal credentials",
                        "system.api_token.create",
                    ]
                    .iter()
                    .any(|a| e.action == *a)
                    || e.action.ends_with("CreateServiceAccountKey")
            });
            let b = ctx.baselines()?;
            let new_source = events.iter().any(|e| !new_dimensions(ctx, b, e).is_empty());
            let severity = if credentials || (privileged > 0 && new_source) {
                Critical
            } else if non_human || privileged > 0 {
                High
            } else if writes > 0 {
                Medium
            } else {
                Low
            };
            let severity = if ctx.is_automation(&actor) {
                Info
            } else {
                severity
            };
            let gap = (back - before) / DAY;
            let last = last_before
                .first()
                .map_or(String::new(), |e| format!(", {}", e.action));
            let actions: Vec<&str> = {
                let mut seen = HashSet::new();
                events
                    .iter()
                    .map(|e| e.action.as_str())
                    .filter(|a| seen.insert(*a))
                    .take(4)
                    .collect()
            };
            let reason = format!(
                "{} ({}) had no activity for {gap} days (last: {}{last}); it came back at {} with {} event(s) in 24 h ({}){}{}",
                first.who(),
                if non_human { "non-human" } else { "person" },
                when_utc(before),
                when_utc(back),
                events.len(),
                actions.join(", "),
                if privileged > 0 {
                    format!(", {privileged} privileged")
                } else {
                    String::new()
                },
                if new_source {
                    ", from a source new for it"
                } else {
                    ""
                }
            );
            let refs: Vec<&Ev> = events.iter().collect();
            let rows: Vec<u32> = events.iter().map(|e| e.row).collect();
            out.push(finding(&DORMANT, severity, &refs, reason));
            ctx.mark(&rows, "dormant");
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// First-seen source for a privileged action
// ---------------------------------------------------------------------------------------

struct FirstSeen;

static FIRST_SEEN: RuleInfo = RuleInfo {
    id: "first-seen-source-for-privileged-action",
    title: "Privileged action from a source new for the actor",
    mitre: &["T1078.004"],
    severity: Low,
    summary: "a privileged action or sign-in from a network (/24), client family or location the actor never used before, after its learning period; medium with two new dimensions or a critical-tier action, high with off-hours or dormancy",
};

/// Rows of actors with something new after learning, limited to privileged successes (and
/// successful sign-ins when `signins`).
fn candidates(ctx: &Ctx<'_>, b: &Baselines, humans: bool, signins: bool) -> Result<Vec<Ev>> {
    let actors: HashSet<&str> = b
        .first_seen
        .iter()
        .filter(|((actor, _, _), (t, _))| {
            ctx.stats.get(actor).is_some_and(|s| s.non_human != humans)
                && ctx.learn_end(actor).is_some_and(|end| *t >= end)
        })
        .map(|((actor, _, _), _)| actor.as_str())
        .collect();
    if actors.is_empty() {
        return Ok(Vec::new());
    }
    let mut scope = privileged_success(ctx);
    if signins {
        scope = scope.or(ctx
            .actions(is_signin)
            .and(ctx.category(OUTCOME, |o| o == "success")));
    }
    ctx.select(ctx.category(ACTOR, |a| actors.contains(a)).and(scope))
}

impl Rule for FirstSeen {
    fn info(&self) -> &'static RuleInfo {
        &FIRST_SEEN
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> Result<Vec<Finding>> {
        let b = ctx.baselines()?;
        let mut hits = Vec::new();
        for e in candidates(ctx, b, true, true)? {
            let new = new_dimensions(ctx, b, &e);
            if new.is_empty() {
                continue;
            }
            let anomalies = ctx.anomalies_of(e.row);
            let mut severity = if !e.privileged {
                Info
            } else if anomalies.contains(&"off-hours") || anomalies.contains(&"dormant") {
                High
            } else if new.len() >= 2 || ctx.is_critical_tier(e.row) {
                Medium
            } else {
                Low
            };
            if new.iter().all(|(_, _, popular)| *popular) {
                severity = severity.down();
            }
            if ctx.is_automation(&e.actor) {
                severity = Info;
            }
            let history = ctx
                .stats
                .get(&e.actor)
                .map_or(0, |s| (e.time - s.first) / DAY);
            let dims: Vec<String> = new.iter().map(|(d, v, _)| format!("{d} {v}")).collect();
            let extra = if anomalies.is_empty() {
                String::new()
            } else {
                format!("; also {}", anomalies.join(", "))
            };
            let reason = format!(
                "{} {} from {} — new for {} after {history} days of history{extra}",
                e.who(),
                describe(&e),
                dims.join(" and "),
                e.who()
            );
            hits.push(Hit {
                ev: e,
                severity,
                reason,
            });
        }
        let rows: Vec<u32> = hits
            .iter()
            .filter(|h| h.ev.privileged)
            .map(|h| h.ev.row)
            .collect();
        ctx.mark(&rows, "first-seen source");
        Ok(group_hits(
            &FIRST_SEEN,
            hits,
            minutes(ctx.config.group_minutes),
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Non-human identity anomalies
// ---------------------------------------------------------------------------------------

struct NonHuman;

static NON_HUMAN: RuleInfo = RuleInfo {
    id: "non-human-identity-anomaly",
    title: "Service identity acting out of character",
    mitre: &["T1078.004", "T1528"],
    severity: Medium,
    summary: "a service identity signing in interactively (console, portal, Okta session), or acting from a network or client family it never used before (learned over `nhi_learn_days`)",
};

impl Rule for NonHuman {
    fn info(&self) -> &'static RuleInfo {
        &NON_HUMAN
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> Result<Vec<Finding>> {
        let interactive = ctx
            .actions(|c| {
                (c.provider == "aws"
                    && matches!(c.action.as_str(), "ConsoleLogin" | "GetSigninToken"))
                    || (c.provider == "okta" && c.action == "user.session.start")
            })
            .or(ctx
                .actions(|c| c.provider == "entra" && c.action == "Sign-in")
                .and(ctx.category(crate::schema::LOG_TYPE, |l| l == "signin")));
        // Service identities: by their events' type, or machine sessions (EC2 instance
        // roles) even where the provider calls a console session human.
        let services = ctx
            .category(crate::schema::ACTOR_TYPE, |t| t == "service")
            .or(ctx.category(ACTOR, |a| {
                ctx.stats
                    .get(a)
                    .is_some_and(|s| s.non_human && !a.starts_with("system:"))
                    || machine_session(a)
            }));
        let mut hits = Vec::new();
        for e in ctx.select(
            interactive
                .and(services)
                .and(ctx.category(OUTCOME, |o| o == "success")),
        )? {
            if e.actor_type == "system" {
                continue;
            }
            let reason = format!(
                "{} is a service identity but signed in interactively ({}) from {} with {}",
                e.who(),
                e.action,
                e.src_ip,
                if e.user_agent.is_empty() {
                    "no user agent"
                } else {
                    &e.user_agent
                }
            );
            hits.push(Hit {
                ev: e,
                severity: High,
                reason,
            });
        }
        let b = ctx.baselines()?;
        // New network or client for a service: its first event with that value.
        let rows: Vec<u32> = b
            .first_seen
            .iter()
            .filter(|((actor, dim, _), (t, _))| {
                *dim != "location"
                    && ctx.stats.get(actor).is_some_and(|s| s.non_human)
                    && ctx.learn_end(actor).is_some_and(|end| *t >= end)
            })
            .map(|(_, (_, row))| *row)
            .collect();
        if !rows.is_empty() {
            let firsts = ctx.select(
                col(ROW).is_in(lit(Series::new("rows".into(), rows)).implode(false), true),
            )?;
            for e in firsts {
                if e.actor_type != "service" {
                    continue;
                }
                let new = new_dimensions(ctx, b, &e);
                let network = new.iter().find(|(d, _, _)| *d == "network");
                let client = new.iter().find(|(d, _, _)| *d == "client");
                let write = e.read_only == Some(false) || e.privileged;
                let severity = match (network, client) {
                    (Some(_), _) if write => High,
                    (Some(_), _) => Medium,
                    (None, Some(_)) => Low,
                    (None, None) => continue,
                };
                let profile = b
                    .first_seen
                    .iter()
                    .filter(|((a, d, _), (t, _))| *a == e.actor && *d == "network" && *t < e.time)
                    .map(|((_, _, v), _)| v.as_str())
                    .take(3)
                    .collect::<Vec<_>>();
                let history = ctx
                    .stats
                    .get(&e.actor)
                    .map_or(0, |s| (e.time - s.first) / DAY);
                let dims: Vec<String> = new.iter().map(|(d, v, _)| format!("{d} {v}")).collect();
                let reason = format!(
                    "{} (service identity, {history} days from {}) {} from {}",
                    e.who(),
                    if profile.is_empty() {
                        "no known network".to_string()
                    } else {
                        profile.join(", ")
                    },
                    describe(&e),
                    dims.join(" and ")
                );
                hits.push(Hit {
                    ev: e,
                    severity,
                    reason,
                });
            }
        }
        Ok(group_hits(
            &NON_HUMAN,
            hits,
            minutes(ctx.config.group_minutes),
        ))
    }
}

/// An AWS role session named after an EC2 instance (`.../assumed-role/web/i-0123abcd...`).
fn machine_session(actor: &str) -> bool {
    actor.contains(":assumed-role/")
        && actor.rsplit('/').next().is_some_and(|s| {
            s.len() >= 10 && s.starts_with("i-") && s[2..].chars().all(|c| c.is_ascii_hexdigit())
        })
}

// ---------------------------------------------------------------------------------------
// Rare action for actor
// ---------------------------------------------------------------------------------------

struct RareAction;

static RARE: RuleInfo = RuleInfo {
    id: "rare-action-for-actor",
    title: "Action new for the actor",
    mitre: &["T1078.004"],
    severity: Info,
    summary: "a write or privileged action the actor never did before, after its learning period (info; low when privileged; medium when critical-tier or off-hours / from a new source)",
};

impl Rule for RareAction {
    fn info(&self) -> &'static RuleInfo {
        &RARE
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> Result<Vec<Finding>> {
        let df = ctx
            .frame
            .clone()
            .lazy()
            .filter(
                col(crate::schema::READ_ONLY)
                    .eq(lit(true))
                    .fill_null(lit(false))
                    .not(),
            )
            .group_by([actor_key(), col(super::KEY).alias("k")])
            .agg([col(TIME).min().alias("t"), col(ROW).min().alias("r")])
            .collect()
            .map_err(Error::polars("first actions"))?;
        let (ids, ts, rs) = (u64s(&df, ACTOR)?, i64s(&df, "t")?, u64s(&df, "r")?);
        let keys = u64s(&df, "k")?;
        let mut doers: HashMap<u64, usize> = HashMap::new();
        for k in keys.iter().flatten() {
            *doers.entry(*k).or_default() += 1;
        }
        let mut rows = Vec::new();
        for i in 0..df.height() {
            let (Some(id), Some(t), Some(r)) = (ids[i], ts[i], rs[i]) else {
                continue;
            };
            let Some(actor) = ctx.name(ACTOR, id as u32) else {
                continue;
            };
            if ctx.learn_end(actor).is_some_and(|end| t >= end) {
                rows.push(r as u32);
            }
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let events =
            ctx.select(col(ROW).is_in(lit(Series::new("rows".into(), rows)).implode(false), true))?;
        let keyed: HashMap<u32, u64> = (0..df.height())
            .filter_map(|i| Some((rs[i]? as u32, keys[i]?)))
            .collect();
        let mut hits = Vec::new();
        for e in events {
            if !e.ok() || (e.read_only != Some(false) && !e.privileged) {
                continue;
            }
            let anomalies = ctx.anomalies_of(e.row);
            let mut severity =
                if ctx.is_critical_tier(e.row) || (e.privileged && !anomalies.is_empty()) {
                    Medium
                } else if e.privileged {
                    Low
                } else {
                    Info
                };
            let others = keyed
                .get(&e.row)
                .and_then(|k| doers.get(k))
                .copied()
                .unwrap_or(1)
                .saturating_sub(1);
            if others == 0 && severity < Medium {
                severity = severity.up();
            }
            if ctx.is_automation(&e.actor) {
                severity = Info;
            }
            let history = ctx
                .stats
                .get(&e.actor)
                .map_or(0, |s| (e.time - s.first) / DAY);
            let reason = format!(
                "{} {} for the first time in {history} days of history; {} other actor(s) ever did it{}",
                e.who(),
                describe(&e),
                others,
                if anomalies.is_empty() {
                    String::new()
                } else {
                    format!("; also {}", anomalies.join(", "))
                }
            );
            hits.push(Hit {
                ev: e,
                severity,
                reason,
            });
        }
        Ok(group_hits(&RARE, hits, 60 * MINUTE))
    }
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
        assert_eq!(place_of("us-east-1"), None);
        assert_eq!(place_of("Lyon, France").as_deref(), Some("Lyon, France"));
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
