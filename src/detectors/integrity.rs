//! Log integrity (D29 `log-integrity-gap`; MITRE T1562.008, whose detection note is that "a
//! sudden loss of a log source may indicate that it has been disabled"). Three checks over
//! the whole frame, each one group-by, whose few results are worded one by one:
//!
//! * **Silence**: a stream (provider + account / tenant / project + log type) with no events
//!   for far longer than its own pattern allows. Each stream is counted in 10-minute buckets;
//!   a silence must last `gap_minutes`, be `gap_factor` times the stream's 99th-percentile
//!   gap and twice its 99th-percentile silence longer than a bucket, and the stream's *floor* (the 10th-percentile count of the same UTC hours on its
//!   other full days) must predict at least `gap_expected_events` events in it. Nights,
//!   weekends and holidays of people-driven streams have a floor of zero and never count;
//!   streams with fewer than `gap_history_days` full days are not judged. A stream that stops
//!   while the streams loaded with it go on is judged up to their last event.
//! * **Altered copies**: one provider event id on rows that differ in who, what, when, where
//!   or the outcome. The store already drops exact duplicates (`LoadStats::duplicates`), so
//!   rows sharing an id differ somewhere; Kubernetes stages of one `auditID` are different
//!   records and are compared stage by stage; ids that fall back to a correlation id are
//!   skipped.
//! * **Clock**: events stamped in the future, or more than `clock_skew_hours` after the rest
//!   of their file.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use polars::prelude::*;

use super::context::{Context, NO_ACTOR};
use super::derived::Derived;
use super::event::{Ev, ROW, i64s, ids, u64s};
use super::finding::{Finding, Severity, finding, when_utc};
use super::resources::tampering_action;
use super::{DAY, Found, HOUR, MINUTE, Rule, RuleInfo, Stage};
use crate::schema::{
    ACCOUNT, CORRELATION_ID, EVENT_ID, ID_HASH, IdentityHasher, LOG_TYPE, OUTCOME, PRIVILEGED,
    PROVIDER, SOURCE, TIME,
};
use crate::{Error, Result};

use Severity::{High, Info, Low, Medium};

/// The integrity rule.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![Box::new(LogIntegrity)]
}

static INFO: RuleInfo = RuleInfo {
    id: "log-integrity-gap",
    title: "Log source silent, altered or out of time",
    mitre: &["T1562.008"],
    severity: Medium,
    summary: "a stream silent far beyond its own pattern (high after tampering or a privileged action), one event id with differing copies (high), events in the future or far after the rest of their file (low)",
};

struct LogIntegrity;

impl Rule for LogIntegrity {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn stage(&self) -> Stage {
        // Reads nothing of the others, but permission creep must not combine it.
        Stage::Accumulation
    }

    fn reads_findings(&self) -> bool {
        false
    }

    fn run(&self, ctx: &Context<'_>, _: &Derived) -> Result<Found> {
        // Events with a wrong clock would stretch the streams they are in: left out.
        let (mut out, odd) = clock(ctx)?;
        out.extend(silences(ctx, odd)?);
        out.extend(altered_copies(ctx)?);
        Ok(out.into())
    }
}

/// Size of the buckets streams are counted in.
const BUCKET: i64 = 10 * MINUTE;
const NONE: u64 = (1 << 24) - 1;

fn t() -> Expr {
    col(TIME).to_physical()
}

/// The combined (provider, account, log type) physical key of a row's stream.
fn stream_key() -> Expr {
    let id = |c: &str| {
        col(c)
            .to_physical()
            .cast(DataType::UInt64)
            .fill_null(lit(NONE))
    };
    id(PROVIDER) * lit(1u64 << 48) + id(ACCOUNT) * lit(1u64 << 24) + id(LOG_TYPE)
}

/// `aws/111122223333/management`, `kubernetes/audit`.
fn stream_label(ctx: &Context<'_>, key: u64) -> (String, String) {
    let name = |column: &'static str, id: u64| -> Option<String> {
        (id != NONE)
            .then(|| ctx.name(column, id as u32).map(str::to_string))
            .flatten()
    };
    let provider = name(PROVIDER, key >> 48).unwrap_or_default();
    let parts: Vec<String> = [
        Some(provider.clone()),
        name(ACCOUNT, (key >> 24) & NONE),
        name(LOG_TYPE, key & NONE),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.is_empty())
    .collect();
    (parts.join("/"), provider)
}

/// A duration for a person: `45 min`, `6 h 10 min`, `3 d 4 h`.
pub(crate) fn duration(us: i64) -> String {
    let minutes = us / MINUTE;
    let (d, h, m) = (minutes / (24 * 60), minutes / 60 % 24, minutes % 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) if m == 0 => format!("{h} h"),
        (0, _) => format!("{h} h {m} min"),
        _ if h == 0 => format!("{d} d"),
        _ => format!("{d} d {h} h"),
    }
}

fn success(ctx: &Context<'_>) -> Expr {
    ctx.category(OUTCOME, |o| o == "success")
}

fn between(lo: i64, hi: i64) -> Expr {
    t().gt_eq(lit(lo)).and(t().lt_eq(lit(hi)))
}

// ---------------------------------------------------------------------------------------
// Silence
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Bucket {
    start: i64,
    n: u64,
    lo: i64,
    hi: i64,
}

/// A silence of one stream: from its last event before to its first event after (or the
/// others' last event, `trailing`).
#[derive(Debug, Clone)]
struct Silence {
    key: u64,
    from: i64,
    to: i64,
    trailing: bool,
    expected: f64,
    days: usize,
    p99: i64,
    longest_other: i64,
}

fn silences(ctx: &Context<'_>, odd: Vec<u32>) -> Result<Vec<Finding>> {
    let cfg = &ctx.config.integrity;
    let odd: HashSet<u32> = odd.into_iter().collect();
    // Bucketed in one pass over the dictionary ids and times (a two-key group-by over every
    // row cost four times as much): rows come in time order, so a stream's buckets arrive in
    // order and only out-of-order rows need the merge below.
    // Each row's stream key, packed one dictionary column at a time.
    let mut keys = vec![0u64; ctx.per_row.time.len()];
    for (column, shift) in [(PROVIDER, 48), (ACCOUNT, 24), (LOG_TYPE, 0)] {
        for (key, v) in keys.iter_mut().zip(ids(&ctx.frame, column, NO_ACTOR)?) {
            let id = if v == NO_ACTOR { NONE } else { u64::from(v) };
            *key += id << shift;
        }
    }
    let r = &ctx.per_row;
    let keyed = (0..r.time.len())
        .filter(|i| odd.is_empty() || !odd.contains(&r.row[*i]))
        .map(|i| (Some(keys[i]), Some(r.time[i])));
    // Stream keys are packed dictionary ids, few and distinct: no need for SipHash per row.
    let mut streams: HashMap<u64, Vec<Bucket>, BuildHasherDefault<IdentityHasher>> =
        HashMap::default();
    let mut sorted = true;
    for (k, t) in keyed {
        let (Some(k), Some(t)) = (k, t) else {
            continue;
        };
        let start = t.div_euclid(BUCKET) * BUCKET;
        let buckets = streams.entry(k).or_default();
        match buckets.last_mut() {
            Some(b) if b.start == start => {
                b.n += 1;
                b.lo = b.lo.min(t);
                b.hi = b.hi.max(t);
            }
            last => {
                sorted &= last.is_none_or(|b| b.start < start);
                buckets.push(Bucket {
                    start,
                    n: 1,
                    lo: t,
                    hi: t,
                });
            }
        }
    }
    if !sorted {
        for buckets in streams.values_mut() {
            buckets.sort_by_key(|b| b.start);
            buckets.dedup_by(|later, kept| {
                let same = later.start == kept.start;
                if same {
                    kept.n += later.n;
                    kept.lo = kept.lo.min(later.lo);
                    kept.hi = kept.hi.max(later.hi);
                }
                same
            });
        }
    }
    let spans: Vec<(u64, i64, i64)> = streams
        .iter_mut()
        .filter_map(|(k, v)| Some((*k, v.first()?.lo, v.last()?.hi)))
        .collect();
    let min_gap = i64::from(cfg.gap_minutes.max(1)) * MINUTE;
    let mut found = Vec::new();
    for (key, buckets) in &streams {
        let Some(&(_, first, last)) = spans.iter().find(|s| s.0 == *key) else {
            continue;
        };
        // Full UTC days inside the stream's own span, with their hourly counts.
        let days: Vec<i64> = ((first + DAY - 1).div_euclid(DAY)..last.div_euclid(DAY)).collect();
        if days.len() < cfg.gap_history_days as usize {
            continue;
        }
        let mut hourly: HashMap<i64, [u64; 24]> = HashMap::new();
        for b in buckets {
            let slot = hourly.entry(b.start.div_euclid(DAY)).or_insert([0; 24]);
            slot[(b.start.rem_euclid(DAY) / HOUR) as usize] += b.n;
        }
        let total: u64 = buckets.iter().map(|b| b.n).sum();
        let mut gaps: Vec<(i64, i64, i64)> = buckets
            .windows(2)
            .map(|w| (w[1].lo - w[0].hi, w[0].hi, w[1].lo))
            .collect();
        gaps.sort_unstable();
        let p99 = percentile_gap(&gaps, total, 0.99);
        // ... and twice the 99th percentile of its silences longer than a bucket (a stream
        // quiet for 90 minutes every night is not silent after two hours).
        // (The longest one is left out: it is the silence being judged.)
        let mut long: Vec<i64> = gaps.iter().map(|g| g.0).filter(|g| *g > BUCKET).collect();
        long.pop();
        let long_p99 = long
            .get(((long.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let threshold = min_gap
            .max((cfg.gap_factor * p99 as f64) as i64)
            .max(2 * long_p99);
        let mut candidates: Vec<(i64, i64, bool)> = gaps
            .iter()
            .filter(|g| g.0 >= threshold)
            .map(|g| (g.1, g.2, false))
            .collect();
        // The stream stops while the streams loaded with it go on.
        let others_end = spans
            .iter()
            .filter(|s| s.0 != *key && s.1 < last)
            .map(|s| s.2)
            .max();
        if let Some(end) = others_end.filter(|end| end - last >= threshold) {
            candidates.push((last, end, true));
        }
        for (from, to, trailing) in candidates {
            let (expected, used) = expected_events(&hourly, &days, from, to);
            if used < cfg.gap_history_days as usize || expected < cfg.gap_expected_events {
                continue;
            }
            let longest_other = gaps.iter().rev().find(|g| g.1 != from).map_or(0, |g| g.0);
            found.push(Silence {
                key: *key,
                from,
                to,
                trailing,
                expected,
                days: used,
                p99,
                longest_other,
            });
        }
    }
    if found.is_empty() {
        return Ok(Vec::new());
    }
    word_silences(ctx, found)
}

/// The `q` quantile of a stream's gaps between events, from the gaps between its buckets
/// (exact) and the gaps inside buckets (shorter than a bucket; counted as a bucket).
fn percentile_gap(between: &[(i64, i64, i64)], events: u64, q: f64) -> i64 {
    let all = events.saturating_sub(1) as usize;
    if all == 0 {
        return 0;
    }
    let inside = all.saturating_sub(between.len());
    let rank = ((q * all as f64).ceil() as usize).clamp(1, all) - 1;
    if rank < inside {
        BUCKET
    } else {
        between
            .get(rank - inside)
            .map_or(BUCKET, |g| g.0.max(BUCKET))
    }
}

/// Events the stream's floor predicts in `[from, to)`: per UTC hour, the 10th-percentile
/// count of that hour on the stream's full days that the silence does not touch. Returns the
/// expectation and how many days it was learned from.
fn expected_events(
    hourly: &HashMap<i64, [u64; 24]>,
    days: &[i64],
    from: i64,
    to: i64,
) -> (f64, usize) {
    let (first_day, last_day) = (from.div_euclid(DAY), to.div_euclid(DAY));
    let other: Vec<[u64; 24]> = days
        .iter()
        .filter(|d| **d < first_day || **d > last_day)
        .map(|d| hourly.get(d).copied().unwrap_or([0; 24]))
        .collect();
    if other.is_empty() {
        return (0.0, 0);
    }
    let mut floor = [0f64; 24];
    for (h, slot) in floor.iter_mut().enumerate() {
        let mut values: Vec<u64> = other.iter().map(|d| d[h]).collect();
        values.sort_unstable();
        *slot = values[values.len() / 10] as f64;
    }
    let mut sum = 0.0;
    let mut at = from;
    while at < to {
        let next = (at - at.rem_euclid(HOUR) + HOUR).min(to);
        sum += floor[(at.rem_euclid(DAY) / HOUR) as usize] * (next - at) as f64 / HOUR as f64;
        at = next;
    }
    (sum, other.len())
}

fn word_silences(ctx: &Context<'_>, found: Vec<Silence>) -> Result<Vec<Finding>> {
    // The events either side of each silence.
    let edges = found
        .iter()
        .map(|s| {
            let at = lit(s.key).eq(stream_key());
            let after = if s.trailing {
                lit(false)
            } else {
                t().eq(lit(s.to))
            };
            at.and(t().eq(lit(s.from)).or(after))
        })
        .reduce(Expr::or)
        .unwrap_or(lit(false));
    let edge_events = ctx.select(edges)?;
    // What came right before: tampering in the 24 hours, privileged actions in 10 minutes.
    let windows = |before: i64, after: i64| {
        found
            .iter()
            .map(|s| between(s.from - before, s.from + after))
            .reduce(Expr::or)
            .unwrap_or(lit(false))
    };
    let tampering = ctx.select_actions(tampering_action, &[success(ctx).and(windows(DAY, 0))])?;
    let privileged = ctx.select(
        col(PRIVILEGED)
            .eq(lit(true))
            .fill_null(lit(false))
            .and(success(ctx))
            .and(windows(10 * MINUTE, 10 * MINUTE)),
    )?;
    let mut out = Vec::new();
    for s in found {
        let (label, provider) = stream_label(ctx, s.key);
        let key_of = |e: &Ev| e.provider == provider;
        let before = edge_events.iter().rfind(|e| e.time == s.from && key_of(e));
        let after = edge_events
            .iter()
            .find(|e| !s.trailing && e.time == s.to && key_of(e));
        let events: Vec<&Ev> = before.into_iter().chain(after).collect();
        if events.is_empty() {
            continue;
        }
        let length = duration(s.to - s.from);
        let mut reason = if s.trailing {
            format!(
                "{label} has no events after {} while the logs loaded with it go on until {} ({length})",
                when_utc(s.from),
                when_utc(s.to)
            )
        } else {
            format!(
                "{label} was silent for {length}, from {} to {}",
                when_utc(s.from),
                when_utc(s.to)
            )
        };
        let usual = if s.p99 <= BUCKET {
            "under 10 min".to_string()
        } else {
            duration(s.p99)
        };
        reason.push_str(&format!(
            ": on its quietest days ({} other full days, 10th percentile) it logs about {:.0} events in those hours; its gaps are otherwise {usual} (99th percentile), {} at the longest",
            s.days,
            s.expected,
            duration(s.longest_other.max(0))
        ));
        // A stream that stops may only be an export that ends earlier: low unless escalated.
        let mut severity = if s.trailing { Low } else { Medium };
        if let Some(tamper) = tampering
            .iter()
            .rev()
            .find(|e| e.time <= s.from && e.time >= s.from - DAY)
        {
            severity = High;
            reason.push_str(&format!(
                "; {} by {} at {} ({} before the silence) changed audit logging",
                tamper.action,
                tamper.who(),
                when_utc(tamper.time),
                duration(s.from - tamper.time)
            ));
        } else if let Some(p) = privileged
            .iter()
            .find(|e| (e.time - s.from).abs() <= 10 * MINUTE)
        {
            severity = High;
            reason.push_str(&format!(
                "; it starts within 10 minutes of a privileged action: {} by {} at {}",
                p.action,
                p.who(),
                when_utc(p.time)
            ));
        }
        let mut f = finding(&INFO, severity, &events, reason);
        f.actor = label;
        f.provider = provider;
        f.time = Some(s.from);
        out.push(f);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Altered copies
// ---------------------------------------------------------------------------------------

fn altered_copies(ctx: &Context<'_>) -> Result<Vec<Finding>> {
    // Ids on more than one row, by their hash, in one pass over the integer column (a group-by
    // with a million groups cost five times as much); collisions only add rows, the grouping
    // below compares the ids themselves.
    let column = ctx
        .frame
        .column(ID_HASH)
        .map_err(Error::polars("finding shared event ids"))?
        .as_materialized_series()
        .clone();
    let hashes_ca = column
        .u64()
        .map_err(Error::polars("finding shared event ids"))?;
    // Two passes over a 2 MiB bitmap (it stays in cache, a million-entry hash set does not)
    // leave the few hashes whose bucket was hit twice; only those go into a set.
    const BITS: u32 = 24;
    let slot = |h: u64| (h >> (64 - BITS)) as usize;
    let mut once = vec![0u64; 1 << (BITS - 6)];
    let mut twice = vec![0u64; 1 << (BITS - 6)];
    for h in hashes_ca.iter().flatten() {
        let (word, bit) = (slot(h) / 64, 1u64 << (slot(h) % 64));
        twice[word] |= once[word] & bit;
        once[word] |= bit;
    }
    let mut seen: HashSet<u64, BuildHasherDefault<IdentityHasher>> = HashSet::default();
    let mut shared: HashSet<u64, BuildHasherDefault<IdentityHasher>> = HashSet::default();
    for h in hashes_ca.iter().flatten() {
        if twice[slot(h) / 64] & (1u64 << (slot(h) % 64)) != 0 && !seen.insert(h) {
            shared.insert(h);
        }
    }
    drop((seen, once, twice));
    if shared.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = Series::new(ID_HASH.into(), shared.into_iter().collect::<Vec<u64>>());
    // Ids that fall back to a correlation id (Entra records without an id) are not unique.
    let rows = ctx.select(
        col(ID_HASH)
            .is_in(lit(hashes).implode(false), false)
            .and(col(EVENT_ID).neq_missing(col(CORRELATION_ID))),
    )?;
    let mut groups: HashMap<(&str, &str, &str, &str), Vec<&Ev>> = HashMap::new();
    for e in &rows {
        let stage = if e.provider == "kubernetes" {
            e.detail("stage").unwrap_or("")
        } else {
            ""
        };
        groups
            .entry((&e.provider, &e.log_type, &e.event_id, stage))
            .or_default()
            .push(e);
    }
    let mut out = Vec::new();
    for ((provider, _, id, _), copies) in groups {
        if copies.len() < 2 {
            continue;
        }
        let differs = differences(&copies);
        // An edited copy keeps the time and the action and changes who, where, the outcome
        // or the target; copies that differ in time or action are different events under one
        // id (test corpora, broken id generators).
        let edited = !differs
            .iter()
            .any(|d| d.starts_with("time ") || d.starts_with("action "));
        let (severity, reason) = if differs.is_empty() {
            (
                Info,
                format!(
                    "{provider} event {id} was loaded {} times, the same in who, what, when and where but not in every detail: likely one event in two export formats",
                    copies.len()
                ),
            )
        } else if edited {
            (
                High,
                format!(
                    "{provider} event {id} appears {} times with different content ({}) at the same time and action: one of the copies was altered or forged",
                    copies.len(),
                    differs.join("; ")
                ),
            )
        } else {
            (
                Low,
                format!(
                    "{provider} id {id} is on {} different events ({}): a reused or broken event id",
                    copies.len(),
                    differs.join("; ")
                ),
            )
        };
        out.push(finding(&INFO, severity, &copies, reason));
    }
    out.sort_by_key(|f| f.time);
    Ok(out)
}

/// What differs between copies of one event: `field a vs b`.
fn differences(copies: &[&Ev]) -> Vec<String> {
    type Field = (&'static str, fn(&Ev) -> String);
    let fields: [Field; 7] = [
        ("time", |e| crate::text::format_time_utc(e.time)),
        ("actor", |e| e.actor.clone()),
        ("action", |e| e.action.clone()),
        ("outcome", |e| e.outcome.clone()),
        ("source address", |e| e.src_ip.clone()),
        ("target", |e| e.resource.clone()),
        ("error", |e| e.error.clone()),
    ];
    let mut out = Vec::new();
    for (name, get) in fields {
        let mut values: Vec<String> = Vec::new();
        for e in copies {
            let v = get(e);
            if !values.contains(&v) {
                values.push(v);
            }
        }
        if values.len() > 1 {
            let shown: Vec<&str> = values
                .iter()
                .map(|v| if v.is_empty() { "(none)" } else { v.as_str() })
                .collect();
            out.push(format!("{name} {}", shown.join(" vs ")));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------

/// Files smaller than this are not judged for events after the rest.
const MIN_FILE_EVENTS: u64 = 10;

/// Clock findings, and the rows behind them.
fn clock(ctx: &Context<'_>) -> Result<(Vec<Finding>, Vec<u32>)> {
    let skew = i64::from(ctx.config.integrity.clock_skew_hours.max(1)) * HOUR;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(i64::MAX / 2, |d| d.as_micros() as i64);
    let files = ctx
        .frame
        .clone()
        .lazy()
        .group_by([col(SOURCE).to_physical().alias("s")])
        .agg([
            len().alias("n"),
            t().quantile(lit(0.99), QuantileMethod::Lower).alias("bulk"),
            t().max().alias("last"),
            t().min().alias("first"),
        ])
        .collect()
        .map_err(Error::polars("file time ranges"))?;
    let (ids, n, bulk, last, first) = (
        u64s(&files, "s")?,
        u64s(&files, "n")?,
        i64s(&files, "bulk")?,
        i64s(&files, "last")?,
        i64s(&files, "first")?,
    );
    // Files whose last events lie far after their 99th percentile: by `skew`, and by ten
    // times the file's usual spacing (a sparse file's last event is not late).
    let mut suspects: Vec<(u32, u64, i64, i64)> = Vec::new();
    for i in 0..files.height() {
        let (Some(id), Some(n), Some(bulk), Some(last), Some(first)) =
            (ids[i], n[i], bulk[i], last[i], first[i])
        else {
            continue;
        };
        let spacing = (bulk - first) / (n as i64 - 1).max(1);
        let needed = skew.max(spacing.saturating_mul(10));
        if n >= MIN_FILE_EVENTS && last - bulk > needed {
            suspects.push((id as u32, n, bulk, needed));
        }
    }
    let source_is = |ids: Vec<u32>| -> Expr {
        col(SOURCE)
            .to_physical()
            .is_in(lit(Series::new(SOURCE.into(), ids)).implode(false), false)
    };
    let future = ctx.select(t().gt(lit(now.saturating_add(skew))))?;
    let tail = if suspects.is_empty() {
        Vec::new()
    } else {
        let any_tail = suspects
            .iter()
            .map(|(id, _, bulk, _)| source_is(vec![*id]).and(t().gt_eq(lit(*bulk))))
            .reduce(Expr::or)
            .unwrap_or(lit(false));
        ctx.frame
            .clone()
            .lazy()
            .filter(any_tail)
            .select([
                col(ROW),
                col(SOURCE).to_physical().alias("s"),
                t().alias("t"),
            ])
            .collect()
            .map_err(Error::polars("late events"))
            .and_then(|df| {
                let (rows, ids, times) = (u64s(&df, ROW)?, u64s(&df, "s")?, i64s(&df, "t")?);
                Ok((0..df.height())
                    .filter_map(|i| Some((ids[i]? as u32, times[i]?, rows[i]? as u32)))
                    .collect::<Vec<_>>())
            })?
    };
    let mut out = Vec::new();
    let future_rows: HashSet<u32> = future.iter().map(|e| e.row).collect();
    if !future.is_empty() {
        out.extend(future_findings(&future, now));
    }
    // Per suspect file: the largest jump in its tail that leaves at most 1 % above it.
    let mut late_rows: Vec<(u32, i64, i64)> = Vec::new();
    for (id, n, _, needed) in &suspects {
        let mut times: Vec<(i64, u32)> = tail
            .iter()
            .filter(|(s, _, _)| s == id)
            .map(|(_, t, r)| (*t, *r))
            .collect();
        times.sort_unstable();
        let allowed = ((*n / 100).max(1) as usize).min(times.len().saturating_sub(1));
        let best = (times.len() - allowed..times.len())
            .filter(|i| *i > 0)
            .map(|i| (times[i].0 - times[i - 1].0, i))
            .max();
        if let Some((_, i)) = best.filter(|(jump, _)| jump > needed) {
            let rest_end = times[i - 1].0;
            for (time, row) in &times[i..] {
                if !future_rows.contains(row) {
                    late_rows.push((*row, *time, rest_end));
                }
            }
        }
    }
    let mut odd: Vec<u32> = future_rows.iter().copied().collect();
    odd.extend(late_rows.iter().map(|r| r.0));
    if late_rows.is_empty() {
        return Ok((out, odd));
    }
    let wanted: Vec<u32> = late_rows.iter().map(|r| r.0).collect();
    let late = ctx.select_rows(&wanted)?;
    let mut by_file: HashMap<i64, Vec<&Ev>> = HashMap::new();
    for e in &late {
        if let Some((_, _, rest_end)) = late_rows.iter().find(|r| r.0 == e.row) {
            by_file.entry(*rest_end).or_default().push(e);
        }
    }
    for (rest_end, events) in by_file {
        let first = events.iter().map(|e| e.time).min().unwrap_or(rest_end);
        let reason = format!(
            "{} event(s) stamped from {}, {} after the rest of their file, which ends {}: a wrong clock or an edited timestamp",
            events.len(),
            when_utc(first),
            duration(first - rest_end),
            when_utc(rest_end)
        );
        out.push(finding(&INFO, Low, &events, reason));
    }
    out.sort_by_key(|f| f.time);
    Ok((out, odd))
}

fn future_findings(future: &[Ev], now: i64) -> Vec<Finding> {
    let mut by_provider: HashMap<&str, Vec<&Ev>> = HashMap::new();
    for e in future {
        by_provider.entry(&e.provider).or_default().push(e);
    }
    by_provider
        .into_values()
        .map(|events| {
            let first = events.iter().map(|e| e.time).min().unwrap_or(now);
            let reason = format!(
                "{} event(s) stamped in the future, from {} ({} after this run): a wrong clock or an edited timestamp",
                events.len(),
                when_utc(first),
                duration(first - now)
            );
            finding(&INFO, Low, &events, reason)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(duration(45 * MINUTE), "45 min");
        assert_eq!(duration(6 * HOUR + 10 * MINUTE), "6 h 10 min");
        assert_eq!(duration(2 * HOUR), "2 h");
        assert_eq!(duration(3 * DAY + 4 * HOUR + 5 * SECOND), "3 d 4 h");
    }

    #[test]
    fn the_floor_ignores_quiet_days_and_the_silent_day() {
        // 20 days with 30 events an hour at 02:00, two quiet days, and the silent day.
        let mut hourly = HashMap::new();
        let days: Vec<i64> = (0..23).collect();
        for d in 0..23 {
            let mut h = [0u64; 24];
            h[2] = if d == 5 || d == 6 { 0 } else { 30 };
            hourly.insert(d, h);
        }
        hourly.insert(22, [0; 24]);
        let (expected, used) =
            expected_events(&hourly, &days, 22 * DAY + 2 * HOUR, 22 * DAY + 3 * HOUR);
        assert_eq!(used, 22);
        assert!((expected - 30.0).abs() < 1e-9, "{expected}");
        // Nights of a day-time stream predict nothing.
        let (night, _) = expected_events(&hourly, &days, 22 * DAY + 4 * HOUR, 22 * DAY + 9 * HOUR);
        assert_eq!(night, 0.0);
    }

    #[test]
    fn gap_percentiles_count_the_gaps_inside_buckets() {
        let gaps = vec![(30 * MINUTE, 0, 0), (2 * HOUR, 0, 0)];
        assert_eq!(percentile_gap(&gaps, 1000, 0.99), BUCKET);
        assert_eq!(percentile_gap(&gaps, 3, 0.99), 2 * HOUR);
    }
}
