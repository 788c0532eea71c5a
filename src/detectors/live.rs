//! Detection over a growing frame: which findings are news ([`LiveFindings`]: new ones, and
//! those that grew or changed severity, each reported once), and a background runner of the
//! rules that always works on the newest frame it was given ([`LiveDetector`]).
//!
//! The rules are re-run over the whole frame rather than fed event by event: baselines,
//! windows and stages then see exactly what a one-off `detect` over the same events sees, so
//! the same events give the same findings whether they were loaded at once or tailed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, bounded};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::schema::{RESOURCE, SRC_IP};
use crate::{Error, Result};

use super::{Finding, Severity};

/// How many distinct source addresses and resources a [`LiveFinding`] carries.
pub const ENTITIES_KEPT: usize = 10;
/// How many of a finding's rows are read for its addresses and resources (a spray of 100,000
/// events needs no more to name ten of them).
const ROWS_READ: usize = 1_000;
/// How many reported findings [`LiveFindings`] remembers; past it, those whose first event is
/// oldest are forgotten first (a forgotten finding still in the frame would be reported
/// again, so this is far above what the rules find in a frame that fits in memory).
pub const REPORTED_KEPT: usize = 100_000;

/// Why a finding is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Never reported before.
    New,
    /// Reported before, and since then it grew (more events) or its severity changed.
    Updated,
}

impl Change {
    /// The lowercase name (`new`, `updated`).
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Updated => "updated",
        }
    }
}

/// A finding worth reporting, with the entities silences match on.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveFinding {
    /// The finding (its `rows` index the frame it was found in).
    pub finding: Finding,
    /// Whether it is new or an update.
    pub change: Change,
    /// Distinct source addresses of its events (at most [`ENTITIES_KEPT`], first seen first).
    pub src_ips: Vec<String>,
    /// Distinct resources of its events (at most [`ENTITIES_KEPT`], first seen first).
    pub resources: Vec<String>,
}

/// What was reported of one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Reported {
    #[serde(with = "severity_name")]
    severity: Severity,
    count: u64,
    /// The time of its first event (µs), which decides what is forgotten first.
    time: Option<i64>,
    /// Hash of its rule, provider and actor: the findings it may continue as.
    lineage: u64,
    /// Hashes of a few of its event ids (the first and last [`ANCHORS`] / 2), by which a
    /// finding whose first event changed is still recognized.
    anchors: Vec<u64>,
}

/// How many event ids of a reported finding are remembered to recognize it.
const ANCHORS: usize = 4;

impl Reported {
    fn of(f: &Finding) -> Reported {
        let n = f.event_ids.len();
        let picked = f
            .event_ids
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < ANCHORS / 2 || *i + ANCHORS / 2 >= n)
            .map(|(_, id)| hash(id));
        Reported {
            severity: f.severity,
            count: f.count,
            time: f.time,
            lineage: lineage(f),
            anchors: picked.collect(),
        }
    }

    /// Takes what `f` is now, keeping the largest count reported, so that a finding that
    /// shrinks (a baseline moved) and grows back is not reported again.
    fn absorb(&mut self, f: &Finding) {
        let count = self.count.max(f.count);
        *self = Reported {
            count,
            ..Reported::of(f)
        };
    }
}

fn hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

fn lineage(f: &Finding) -> u64 {
    hash(&format!("{}\u{1f}{}\u{1f}{}", f.rule, f.provider, f.actor))
}

/// The findings reported so far, by [`Finding::identity`]; serializable so that a restarted
/// `tail --state` reports nothing twice. Remembers at most [`REPORTED_KEPT`] findings.
///
/// A finding's identity is its rule, provider, actor and first event. When an event arrives
/// late, earlier than the first event of a finding it belongs to, the finding's identity
/// changes; so a finding with an unknown identity that shares an event with a reported one
/// of the same rule, provider and actor that is gone from the run is taken as that one
/// continued (reported as [`Change::Updated`] when it grew), not as new.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveFindings {
    reported: BTreeMap<u64, Reported>,
}

impl LiveFindings {
    /// Nothing reported yet.
    pub fn new() -> LiveFindings {
        LiveFindings::default()
    }

    /// How many findings are remembered as reported.
    pub fn len(&self) -> usize {
        self.reported.len()
    }

    /// Whether nothing was reported yet.
    pub fn is_empty(&self) -> bool {
        self.reported.is_empty()
    }

    /// The findings of a run of the rules over `frame` that are news: those never reported
    /// ([`Change::New`]) and those that grew or changed severity since they were
    /// ([`Change::Updated`]), in the order given; remembers them as reported.
    pub fn diff(&mut self, frame: &DataFrame, findings: &[Finding]) -> Result<Vec<LiveFinding>> {
        let mut out = Vec::new();
        for (f, known) in findings.iter().zip(self.match_reported(findings)) {
            let change = match known.and_then(|id| self.reported.remove(&id)) {
                None => {
                    self.reported.insert(f.identity(), Reported::of(f));
                    Change::New
                }
                Some(mut was) => {
                    let news = f.count > was.count || f.severity != was.severity;
                    was.absorb(f);
                    self.reported.insert(f.identity(), was);
                    if !news {
                        continue;
                    }
                    Change::Updated
                }
            };
            out.push(LiveFinding {
                src_ips: distinct_values(frame, SRC_IP, &f.rows)?,
                resources: distinct_values(frame, RESOURCE, &f.rows)?,
                finding: f.clone(),
                change,
            });
        }
        self.forget_oldest();
        Ok(out)
    }

    /// Remembers findings as reported without reporting them (what existed before a
    /// consumer started to care, such as the history loaded before alerts are wanted).
    pub fn mark_reported(&mut self, findings: &[Finding]) {
        for (f, known) in findings.iter().zip(self.match_reported(findings)) {
            let mut was = known
                .and_then(|id| self.reported.remove(&id))
                .unwrap_or_else(|| Reported::of(f));
            was.absorb(f);
            self.reported.insert(f.identity(), was);
        }
        self.forget_oldest();
    }

    /// For each finding, the identity it was reported under: its own, or that of a reported
    /// finding it continues (same lineage, gone from this run, sharing an event).
    fn match_reported(&self, findings: &[Finding]) -> Vec<Option<u64>> {
        let present: HashSet<u64> = findings.iter().map(Finding::identity).collect();
        let mut gone: Option<HashMap<u64, Vec<u64>>> = None;
        let mut taken: HashSet<u64> = HashSet::new();
        let mut out = Vec::with_capacity(findings.len());
        for f in findings {
            let id = f.identity();
            if self.reported.contains_key(&id) {
                out.push(Some(id));
                continue;
            }
            // Built once, and only when some finding is unknown.
            let gone = gone.get_or_insert_with(|| {
                let mut by_lineage: HashMap<u64, Vec<u64>> = HashMap::new();
                for (id, r) in &self.reported {
                    if !present.contains(id) {
                        by_lineage.entry(r.lineage).or_default().push(*id);
                    }
                }
                by_lineage
            });
            let candidates = gone.get(&lineage(f)).map(Vec::as_slice).unwrap_or(&[]);
            let continued = if candidates.is_empty() {
                None
            } else {
                let events: HashSet<u64> = f.event_ids.iter().map(|e| hash(e)).collect();
                candidates.iter().copied().find(|old| {
                    !taken.contains(old)
                        && self
                            .reported
                            .get(old)
                            .is_some_and(|r| r.anchors.iter().any(|a| events.contains(a)))
                })
            };
            if let Some(old) = continued {
                taken.insert(old);
            }
            out.push(continued);
        }
        out
    }

    /// Past [`REPORTED_KEPT`], forgets the findings with the oldest first events, down to
    /// nine tenths of it so that this sort happens rarely.
    fn forget_oldest(&mut self) {
        if self.reported.len() <= REPORTED_KEPT {
            return;
        }
        let mut times: Vec<(Option<i64>, u64)> =
            self.reported.iter().map(|(id, r)| (r.time, *id)).collect();
        times.sort_unstable();
        let drop = self.reported.len() - REPORTED_KEPT * 9 / 10;
        for (_, id) in times.into_iter().take(drop) {
            self.reported.remove(&id);
        }
    }
}

/// The distinct non-empty values of a column in some rows, first seen first, at most
/// [`ENTITIES_KEPT`], reading at most [`ROWS_READ`] rows.
fn distinct_values(frame: &DataFrame, column: &str, rows: &[u32]) -> Result<Vec<String>> {
    let height = frame.height();
    let rows: Vec<IdxSize> = rows
        .iter()
        .filter(|r| (**r as usize) < height)
        .take(ROWS_READ)
        .map(|r| *r as IdxSize)
        .collect();
    let values = frame
        .column(column)
        .and_then(|c| c.take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows)))
        .and_then(|c| c.cast(&DataType::String))
        .map_err(Error::polars("reading a finding's entities"))?;
    let text = values
        .str()
        .map_err(Error::polars("reading a finding's entities"))?;
    let mut out: Vec<String> = Vec::new();
    for value in text.iter().flatten() {
        if !value.is_empty() && !out.iter().any(|v| v == value) {
            out.push(value.to_string());
            if out.len() == ENTITIES_KEPT {
                break;
            }
        }
    }
    Ok(out)
}

/// A [`Severity`] as its name in saved state (`"high"`).
pub(crate) mod severity_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::Severity;

    /// Writes the name.
    pub fn serialize<S: Serializer>(severity: &Severity, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(severity.as_str())
    }

    /// Reads a name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
        let name = String::deserialize(d)?;
        Severity::parse(&name).ok_or_else(|| D::Error::custom(format!("unknown severity {name}")))
    }
}

/// How long after its first event (µs, in event time) a finding of `rule` can still be
/// cancelled by events that arrive late: the rules that report something missing (an MFA
/// step, a revocation, events from a stream) wait this long for it. Zero for the rest.
pub fn settle_time(rule: &str, config: &Config) -> i64 {
    use crate::time::MINUTE;
    match rule {
        "console-signin-without-mfa" => super::okta_sessions::OKTA_MFA_WINDOW,
        "jit-grant-not-revoked-or-overused" => i64::from(config.detect.jit.grace_minutes) * MINUTE,
        "log-integrity-gap" => i64::from(config.detect.integrity.gap_minutes) * MINUTE,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------
// The background runner
// ---------------------------------------------------------------------------------------

/// One run of the rules over a submitted frame.
#[derive(Debug, Clone)]
pub struct LiveRun {
    /// Every finding of the run, sorted by time (their `rows` index the submitted frame).
    pub all: Vec<Finding>,
    /// The findings that are news ([`LiveFindings::diff`]).
    pub changes: Vec<LiveFinding>,
    /// Events in the frame the rules ran over.
    pub events: usize,
    /// How long the rules and the diff took.
    pub took: Duration,
}

/// What the runner sends: a run, or why the rules failed (the runner keeps going).
pub type LiveResult = std::result::Result<LiveRun, String>;

/// How many finished runs wait for the consumer before the runner waits for it.
const RESULTS_QUEUED: usize = 4;

/// Runs the rules on a background thread over the newest frame submitted, never blocking
/// the caller: a frame submitted while a run is in progress waits, and replaces any frame
/// still waiting (latest wins).
pub struct LiveDetector {
    shared: Arc<Shared>,
    results: Receiver<LiveResult>,
    handle: Option<JoinHandle<()>>,
}

struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
    reported: Mutex<LiveFindings>,
}

#[derive(Default)]
struct Slot {
    pending: Option<DataFrame>,
    running: bool,
    stop: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic on the runner leaves consistent data (it only swaps values in and out).
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl LiveDetector {
    /// Starts the runner with the rules' configuration, what was reported before (from
    /// `--state`, or [`LiveFindings::new`]) and the least time between the starts of two runs
    /// (zero: run again as soon as a newer frame is there).
    pub fn start(config: Config, reported: LiveFindings, cadence: Duration) -> LiveDetector {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            changed: Condvar::new(),
            reported: Mutex::new(reported),
        });
        let (tx, rx) = bounded(RESULTS_QUEUED);
        let worker = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("live-detect".into())
            .spawn(move || run_loop(&worker, &config, cadence, &tx))
            .ok();
        LiveDetector {
            shared,
            results: rx,
            handle,
        }
    }

    /// Asks for a run over `frame` (a clone of the store's frame is cheap: columns are
    /// shared); returns at once.
    pub fn submit(&self, frame: DataFrame) {
        lock(&self.shared.slot).pending = Some(frame);
        self.shared.changed.notify_all();
    }

    /// Runs `rules` (the [`super::single_event_rules`]) over `batch`, events just appended,
    /// on the caller's thread, and returns what is news: single-event findings fire on
    /// arrival instead of after the next run over everything, which reports them no more.
    pub fn check_arrivals(
        &self,
        batch: &DataFrame,
        config: &Config,
        rules: &[Box<dyn super::Rule>],
    ) -> Result<Vec<LiveFinding>> {
        let findings = super::run_rules(batch, config, rules)?;
        lock(&self.shared.reported).diff(batch, &findings)
    }

    /// The finished runs, in the order they ran.
    pub fn results(&self) -> &Receiver<LiveResult> {
        &self.results
    }

    /// What was reported so far, to save with `--state`.
    pub fn reported(&self) -> LiveFindings {
        lock(&self.shared.reported).clone()
    }

    /// Waits until no frame waits and no run is in progress (tests; a run's result is on
    /// [`LiveDetector::results`] by then, unless the results queue was full).
    pub fn wait_idle(&self) {
        let mut slot = lock(&self.shared.slot);
        while (slot.pending.is_some() || slot.running) && !slot.stop && self.handle.is_some() {
            slot = self
                .shared
                .changed
                .wait(slot)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Stops the runner (a run in progress finishes first) and returns what was reported.
    pub fn stop(mut self) -> LiveFindings {
        self.shutdown();
        self.reported()
    }

    fn shutdown(&mut self) {
        lock(&self.shared.slot).stop = true;
        self.shared.changed.notify_all();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for LiveDetector {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs over everything take at most this share of the time between them (one in
/// [`RUN_SHARE`]): on a large frame a run takes a second or more, and running back to back
/// would take a core from reading and printing.
const RUN_SHARE: u32 = 3;

fn run_loop(shared: &Shared, config: &Config, base: Duration, tx: &Sender<LiveResult>) {
    let mut last_start: Option<Instant> = None;
    let mut cadence = base;
    loop {
        let frame = {
            let mut slot = lock(&shared.slot);
            loop {
                if slot.stop {
                    return;
                }
                let rested = last_start.is_none_or(|t| t.elapsed() >= cadence);
                if slot.pending.is_some() && rested {
                    break;
                }
                slot = match last_start.filter(|_| slot.pending.is_some()) {
                    Some(t) => {
                        let left = cadence.saturating_sub(t.elapsed());
                        shared
                            .changed
                            .wait_timeout(slot, left)
                            .map(|(s, _)| s)
                            .unwrap_or_else(|e| e.into_inner().0)
                    }
                    None => shared.changed.wait(slot).unwrap_or_else(|e| e.into_inner()),
                };
            }
            // Taken under the lock that found it there: present.
            let Some(frame) = slot.pending.take() else {
                continue;
            };
            slot.running = true;
            frame
        };
        let started = Instant::now();
        last_start = Some(started);
        let result = super::run_on_this_thread(&frame, config).and_then(|all| {
            let changes = lock(&shared.reported).diff(&frame, &all)?;
            Ok(LiveRun {
                all,
                changes,
                events: frame.height(),
                took: started.elapsed(),
            })
        });
        cadence = base.max(started.elapsed() * RUN_SHARE);
        let mut message = result.map_err(|e| e.to_string());
        // Wait for a slow consumer, but never past a stop.
        loop {
            match tx.send_timeout(message, Duration::from_millis(100)) {
                Ok(()) => break,
                Err(SendTimeoutError::Disconnected(_)) => return,
                Err(SendTimeoutError::Timeout(back)) => {
                    if lock(&shared.slot).stop {
                        return;
                    }
                    message = back;
                }
            }
        }
        lock(&shared.slot).running = false;
        shared.changed.notify_all();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn finding(actor: &str, first: &str, count: u64, severity: Severity) -> Finding {
        Finding {
            rule: "mass-destruction".into(),
            title: "Mass destruction".into(),
            severity,
            time: Some(1_700_000_000_000_000),
            actor: actor.into(),
            provider: "aws".into(),
            event_ids: vec![first.into()],
            rows: Vec::new(),
            count,
            reason: String::new(),
            mitre: Vec::new(),
        }
    }

    #[test]
    fn findings_are_new_once_and_updated_when_they_grow_or_change_severity() {
        let frame = crate::schema::empty_frame();
        let mut live = LiveFindings::new();
        let a = finding("alice", "e1", 20, Severity::High);
        let b = finding("bob", "e9", 5, Severity::Medium);
        let first = live.diff(&frame, &[a.clone(), b.clone()]).unwrap();
        assert_eq!(
            first.iter().map(|f| f.change).collect::<Vec<_>>(),
            [Change::New, Change::New]
        );
        assert!(
            live.diff(&frame, &[a.clone(), b.clone()])
                .unwrap()
                .is_empty()
        );
        let grown = finding("alice", "e1", 25, Severity::High);
        let worse = finding("bob", "e9", 5, Severity::Critical);
        let next = live.diff(&frame, &[grown, worse]).unwrap();
        assert_eq!(next.len(), 2);
        assert!(next.iter().all(|f| f.change == Change::Updated));
        // Shrinking is no news, and growing back to what was reported is none either.
        assert!(live.diff(&frame, &[a]).unwrap().is_empty());
        let back = finding("alice", "e1", 25, Severity::High);
        assert!(live.diff(&frame, &[back]).unwrap().is_empty());
    }

    #[test]
    fn a_finding_whose_first_event_arrived_late_is_the_same_finding() {
        let frame = crate::schema::empty_frame();
        let mut live = LiveFindings::new();
        let mut burst = finding("alice", "e2", 2, Severity::High);
        burst.event_ids.push("e3".into());
        assert_eq!(
            live.diff(&frame, std::slice::from_ref(&burst))
                .unwrap()
                .len(),
            1
        );
        // e1 arrives late, before e2: the burst's first event, so its identity, changed.
        let mut grown = finding("alice", "e1", 3, Severity::High);
        grown.time = Some(burst.time.unwrap() - 1);
        grown.event_ids.extend(["e2".into(), "e3".into()]);
        assert_ne!(grown.identity(), burst.identity());
        let news = live.diff(&frame, std::slice::from_ref(&grown)).unwrap();
        assert_eq!(news.len(), 1);
        assert_eq!(news[0].change, Change::Updated);
        assert!(live.diff(&frame, &[grown.clone()]).unwrap().is_empty());
        assert_eq!(live.len(), 1);
        // A finding sharing events with one still present is a finding of its own.
        let mut other = finding("alice", "e0", 1, Severity::High);
        other.time = Some(0);
        other.event_ids.push("e3".into());
        let news = live.diff(&frame, &[grown, other]).unwrap();
        assert_eq!(news.len(), 1);
        assert_eq!(news[0].change, Change::New);
    }

    #[test]
    fn reported_findings_survive_a_round_trip_through_json() {
        let frame = crate::schema::empty_frame();
        let mut live = LiveFindings::new();
        let a = finding("alice", "e1", 20, Severity::High);
        live.diff(&frame, std::slice::from_ref(&a)).unwrap();
        let text = serde_json::to_string(&live).unwrap();
        assert!(text.contains("\"high\""), "{text}");
        let mut back: LiveFindings = serde_json::from_str(&text).unwrap();
        assert_eq!(back, live);
        assert!(back.diff(&frame, &[a]).unwrap().is_empty());
    }

    #[test]
    fn the_oldest_findings_are_forgotten_past_the_cap() {
        let mut live = LiveFindings::new();
        let many: Vec<Finding> = (0..REPORTED_KEPT + 1)
            .map(|i| {
                let mut f = finding("a", &format!("e{i}"), 1, Severity::Low);
                f.time = Some(i as i64);
                f
            })
            .collect();
        live.mark_reported(&many);
        assert!(live.len() <= REPORTED_KEPT);
        let frame = crate::schema::empty_frame();
        let newest = many.last().unwrap().clone();
        let oldest = many[0].clone();
        assert!(live.diff(&frame, &[newest]).unwrap().is_empty());
        assert_eq!(live.diff(&frame, &[oldest]).unwrap().len(), 1);
    }
}
