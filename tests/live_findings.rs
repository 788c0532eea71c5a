//! Live detection (issue 15): the same events give the same findings whether they were loaded
//! at once or tailed in chunks, each finding is reported new once, and the background runner
//! works on the newest frame.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use polars::prelude::*;
use trailscope::config::Config;
use trailscope::detectors::{self, Change, Finding, LiveDetector, LiveFinding, LiveFindings};
use trailscope::load::pipeline::Batch;
use trailscope::store::FrameStore;

use crate::util::load;

/// The generated month the chunking test tails: its size and seed (the detection tests' month).
const MONTH_EVENTS: usize = 100_000;
const MONTH_SEED: u64 = 11;
/// Into how many chunks the month is cut.
const CHUNKS: usize = 20;

/// A finding's identity with what may change as it grows.
fn summary(f: &Finding) -> (u64, String, &'static str, u64) {
    (f.identity(), f.rule.clone(), f.severity.as_str(), f.count)
}

/// Row numbers of `height` rows cut into [`CHUNKS`] chunks of irregular sizes (from a few
/// hundred rows to a tenth of the month), in order, the same on every run.
fn in_order(height: usize) -> Vec<Vec<IdxSize>> {
    let weights: Vec<usize> = (0..CHUNKS).map(|i| 1 + (i * 7919 + 13) % 23).collect();
    let total: usize = weights.iter().sum();
    let mut chunks = Vec::new();
    let (mut start, mut acc) = (0, 0);
    for w in &weights {
        acc += w;
        let end = height * acc / total;
        chunks.push((start as IdxSize..end as IdxSize).collect());
        start = end;
    }
    chunks
}

/// [`in_order`], with every fifth event of the last ten minutes before each cut arriving
/// late, in the next chunk after newer events (as exports delivered out of order do). Only
/// events whose time no other event shares are moved: events of the same instant have no
/// order, so which of them is a finding's first is arbitrary either way.
fn with_late_events(frame: &DataFrame) -> Vec<Vec<IdxSize>> {
    let times: Vec<Option<i64>> = frame
        .column(trailscope::schema::TIME)
        .unwrap()
        .as_materialized_series()
        .to_physical_repr()
        .i64()
        .unwrap()
        .iter()
        .collect();
    let unique = |i: usize| {
        times[i].is_some()
            && (i == 0 || times[i - 1] != times[i])
            && times.get(i + 1).is_none_or(|n| *n != times[i])
    };
    let mut chunks = in_order(frame.height());
    for k in 0..chunks.len() - 1 {
        let Some(cut) = chunks[k].last().and_then(|r| times[*r as usize]) else {
            continue;
        };
        let (mut late, mut kept) = (Vec::new(), Vec::new());
        for (n, r) in chunks[k].iter().enumerate() {
            let row = *r as usize;
            let recent = times[row].is_some_and(|t| t >= cut - 600_000_000);
            if n % 5 == 0 && unique(row) && recent {
                late.push(*r);
            } else {
                kept.push(*r);
            }
        }
        chunks[k] = kept;
        chunks[k + 1].extend(late);
    }
    chunks
}

/// What tailing found: the last run's findings and every report, with its chunk.
struct Tailed {
    last: Vec<Finding>,
    reported: Vec<(usize, LiveFinding)>,
    height: usize,
}

/// Appends the chunks of `frame` to a fresh store one by one, committing, running the rules
/// and diffing after each.
fn tail(frame: &DataFrame, chunks: &[Vec<IdxSize>], config: &Config) -> Tailed {
    let mut store = FrameStore::new();
    let mut live = LiveFindings::new();
    let mut reported = Vec::new();
    let mut last = Vec::new();
    for (n, rows) in chunks.iter().enumerate() {
        let idx = IdxCa::from_vec(PlSmallStr::EMPTY, rows.clone());
        store
            .append(Batch {
                input: 0,
                frame: frame.take(&idx).unwrap(),
                fingerprints: rows.iter().map(|r| u64::from(*r)).collect(),
                staged: Vec::new(),
                kept: Vec::new(),
            })
            .unwrap();
        store.commit().unwrap();
        last = detectors::run(store.frame(), config).unwrap();
        for f in live.diff(store.frame(), &last).unwrap() {
            reported.push((n, f));
        }
    }
    Tailed {
        last,
        reported,
        height: store.frame().height(),
    }
}

/// Checks what tailing reported against the findings of the whole month at once; returns
/// (findings reported new more than once in their lineage, reports of findings gone by the
/// end) after printing them.
fn check(name: &str, at_once: &[Finding], t: &Tailed) -> (usize, usize) {
    // The final findings are the same.
    let final_set: BTreeSet<_> = t.last.iter().map(summary).collect();
    let expected: BTreeSet<_> = at_once.iter().map(summary).collect();
    assert_eq!(final_set, expected, "{name}");

    // No identity was reported new twice.
    let mut new_count: BTreeMap<u64, usize> = BTreeMap::new();
    for (_, f) in &t.reported {
        if f.change == Change::New {
            *new_count.entry(f.finding.identity()).or_default() += 1;
        }
    }
    assert!(new_count.values().all(|n| *n == 1), "{name}");

    // Each finding was reported new once: under its own identity, or as an earlier finding
    // it continues (same rule and actor, sharing an event).
    let same = |a: &Finding, b: &Finding| {
        a.identity() == b.identity()
            || (a.rule == b.rule
                && a.actor == b.actor
                && a.event_ids.iter().any(|e| b.event_ids.contains(e)))
    };
    // (Some rules find overlapping findings, such as two of a credential's problems: another
    // finding of the month is not this one reported again.)
    let final_ids: BTreeSet<u64> = at_once.iter().map(Finding::identity).collect();
    let mut twice = 0;
    for f in at_once {
        let news = t
            .reported
            .iter()
            .filter(|(_, r)| {
                let id = r.finding.identity();
                r.change == Change::New
                    && (id == f.identity() || (!final_ids.contains(&id) && same(&r.finding, f)))
            })
            .count();
        assert!(
            news >= 1,
            "{name}: never reported: {} {} {:?}",
            f.rule,
            f.actor,
            f.time
        );
        if news > 1 {
            twice += 1;
            eprintln!(
                "live {name}: {} {} {:?} reported new {news} times",
                f.rule,
                f.actor,
                f.time.map(trailscope::text::format_time_utc)
            );
        }
    }

    // Findings reported on the way that the whole month does not have.
    let gone: Vec<&(usize, LiveFinding)> = t
        .reported
        .iter()
        .filter(|(_, r)| r.change == Change::New && !at_once.iter().any(|f| same(&r.finding, f)))
        .collect();
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, f) in &gone {
        *by_rule.entry(f.finding.rule.as_str()).or_default() += 1;
    }
    let updated = t
        .reported
        .iter()
        .filter(|(_, f)| f.change == Change::Updated)
        .count();
    eprintln!(
        "live {name}: {} findings at once; tailed in {CHUNKS} chunks: {} reported new, {updated} updates, {twice} reported new more than once, {} gone by the end {by_rule:?}",
        at_once.len(),
        new_count.len(),
        gone.len()
    );
    (twice, gone.len())
}

#[test]
fn tailing_in_chunks_finds_what_loading_at_once_finds_and_reports_each_once() {
    let dir = tempfile::tempdir().unwrap();
    trailscope::synth::write_month(dir.path(), MONTH_EVENTS, MONTH_SEED).unwrap();
    let config = Config::builtin().unwrap();
    let store = load(&[dir.path()]);
    let frame = store.frame();
    let at_once = detectors::run(frame, &config).unwrap();
    assert!(
        at_once.len() > 20,
        "the month has findings: {}",
        at_once.len()
    );

    // In time order, as a follower delivers a stream.
    let ordered = tail(frame, &in_order(frame.height()), &config);
    assert_eq!(ordered.height, frame.height());
    let (twice, _) = check("in order", &at_once, &ordered);
    assert_eq!(twice, 0);

    // With late events.
    let late = tail(frame, &with_late_events(frame), &config);
    assert_eq!(late.height, frame.height());
    let (twice, _) = check("late events", &at_once, &late);
    assert_eq!(twice, 0);
}

#[test]
fn the_runner_reports_the_newest_frame_and_its_news() {
    let dir = tempfile::tempdir().unwrap();
    trailscope::synth::write(trailscope::synth::Kind::Sample, dir.path(), 0, 7).unwrap();
    let store = load(&[dir.path()]);
    let frame = store.frame().clone();
    let config = Config::builtin().unwrap();
    let expected = detectors::run(&frame, &config).unwrap();
    assert!(!expected.is_empty());

    let detector = LiveDetector::start(config, LiveFindings::new(), Duration::ZERO);
    // Many frames in a row: older ones waiting are replaced by the newest.
    let half = frame.slice(0, frame.height() / 2);
    for _ in 0..10 {
        detector.submit(half.clone());
    }
    detector.submit(frame.clone());
    detector.wait_idle();
    let runs: Vec<_> = detector.results().try_iter().map(|r| r.unwrap()).collect();
    // One run may have started on an older frame before the newest came; never one per frame.
    assert!(!runs.is_empty() && runs.len() <= 3, "{} runs", runs.len());
    let last = runs.last().unwrap();
    assert_eq!(last.events, frame.height(), "the newest frame ran last");
    assert_eq!(last.all, expected);
    let news: usize = runs.iter().map(|r| r.changes.len()).sum();
    assert!(news >= expected.len(), "every finding was news once");
    let new_ids: BTreeSet<u64> = runs
        .iter()
        .flat_map(|r| &r.changes)
        .filter(|f| f.change == Change::New)
        .map(|f| f.finding.identity())
        .collect();
    assert!(expected.iter().all(|f| new_ids.contains(&f.identity())));

    // The same frame again: nothing is news.
    detector.submit(frame.clone());
    detector.wait_idle();
    let again = detector.results().try_recv().unwrap().unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(again.all.len(), expected.len());

    // What was reported carries over to a restarted runner (`tail --state`).
    let saved = serde_json::to_string(&detector.stop()).unwrap();
    let restored: LiveFindings = serde_json::from_str(&saved).unwrap();
    let restarted = LiveDetector::start(Config::builtin().unwrap(), restored, Duration::ZERO);
    restarted.submit(frame);
    restarted.wait_idle();
    let after = restarted.results().try_recv().unwrap().unwrap();
    assert!(after.changes.is_empty(), "{:?}", after.changes);
    // Findings carry their source addresses and resources, for silences.
    let with_ips = runs
        .iter()
        .flat_map(|r| &r.changes)
        .filter(|f| !f.src_ips.is_empty())
        .count();
    assert!(with_ips > 0, "some findings have source addresses");
}
