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

/// Chunk ends over `height` rows: irregular sizes (from a few hundred rows to a tenth of the
/// month), the same on every run.
fn chunk_ends(height: usize) -> Vec<usize> {
    let weights: Vec<usize> = (0..CHUNKS).map(|i| 1 + (i * 7919 + 13) % 23).collect();
    let total: usize = weights.iter().sum();
    let mut ends = Vec::new();
    let mut acc = 0;
    for w in &weights {
        acc += w;
        ends.push(height * acc / total);
    }
    ends
}

/// Rows `range` of a frame as a batch of input 0, fingerprinted by row.
fn batch(frame: &DataFrame, start: usize, end: usize) -> Batch {
    Batch {
        input: 0,
        frame: frame.slice(start as i64, end - start),
        fingerprints: (start as u64..end as u64).collect(),
    }
}

#[test]
fn tailing_in_chunks_finds_what_loading_at_once_finds_and_reports_each_once() {
    let dir = tempfile::tempdir().unwrap();
    trailscope::synth::write_month(dir.path(), MONTH_EVENTS, MONTH_SEED).unwrap();
    let config = Config::builtin().unwrap();
    let at_once_store = load(&[dir.path()]);
    let at_once_frame = at_once_store.frame();
    let at_once = detectors::run(at_once_frame, &config).unwrap();
    assert!(
        at_once.len() > 20,
        "the month has findings: {}",
        at_once.len()
    );

    // Tail the same events in irregular chunks, in time order as a follower delivers them.
    let mut store = FrameStore::new();
    let mut live = LiveFindings::new();
    let mut reported: Vec<(usize, LiveFinding)> = Vec::new();
    let mut start = 0;
    let mut last = Vec::new();
    for (chunk, end) in chunk_ends(at_once_frame.height()).into_iter().enumerate() {
        store.append(batch(at_once_frame, start, end)).unwrap();
        store.commit().unwrap();
        start = end;
        last = detectors::run(store.frame(), &config).unwrap();
        for f in live.diff(store.frame(), &last).unwrap() {
            reported.push((chunk, f));
        }
    }
    assert_eq!(store.frame().height(), at_once_frame.height());

    // The final findings are the same.
    let final_set: BTreeSet<_> = last.iter().map(summary).collect();
    let expected: BTreeSet<_> = at_once.iter().map(summary).collect();
    assert_eq!(final_set, expected);

    // Each finding was reported new exactly once; none twice.
    let mut new_count: BTreeMap<u64, usize> = BTreeMap::new();
    for (_, f) in &reported {
        if f.change == Change::New {
            *new_count.entry(f.finding.identity()).or_default() += 1;
        }
    }
    for f in &at_once {
        assert_eq!(
            new_count.get(&f.identity()),
            Some(&1),
            "reported new {:?} times: {} {} {:?}",
            new_count.get(&f.identity()),
            f.rule,
            f.actor,
            f.time
        );
    }
    assert!(new_count.values().all(|n| *n == 1));

    // Findings reported on the way that the whole month does not have.
    let final_ids: BTreeSet<u64> = at_once.iter().map(Finding::identity).collect();
    let gone: Vec<&(usize, LiveFinding)> = reported
        .iter()
        .filter(|(_, f)| f.change == Change::New && !final_ids.contains(&f.finding.identity()))
        .collect();
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for (chunk, f) in &gone {
        *by_rule.entry(f.finding.rule.as_str()).or_default() += 1;
        let shifted = at_once.iter().find(|a| {
            a.rule == f.finding.rule
                && a.actor == f.finding.actor
                && a.event_ids.iter().any(|e| f.finding.event_ids.contains(e))
        });
        eprintln!(
            "live: chunk {chunk}: {} {} {} {:?} count {} not in the month's findings{}",
            f.finding.rule,
            f.finding.severity.as_str(),
            f.finding.actor,
            f.finding.time.map(trailscope::text::format_time_utc),
            f.finding.count,
            match shifted {
                Some(a) => format!(
                    "; shares events with {:?} count {}",
                    a.time.map(trailscope::text::format_time_utc),
                    a.count
                ),
                None => String::new(),
            }
        );
    }
    let updated = reported
        .iter()
        .filter(|(_, f)| f.change == Change::Updated)
        .count();
    eprintln!(
        "live: {} findings at once; tailed in {CHUNKS} chunks: {} reported new, {updated} updates, {} gone by the end {by_rule:?}",
        at_once.len(),
        new_count.len(),
        gone.len()
    );
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
