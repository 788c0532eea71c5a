//! Detection over a lake by windows (`detect --lake --window`): every event is judged once,
//! a window holds a part of the lake, what the rules judging each event find over
//! everything the windows find too, and the planted incidents of a generated month are found.

use std::collections::BTreeSet;

use trailscope::analysis::ViewSpec;
use trailscope::config::Config;
use trailscope::detectors::{self, Finding};
use trailscope::lake::{detect, write};

use crate::util::{load, run, stderr, stdout};

const DAY: i64 = 86_400_000_000;

/// A finding by what it is about: its rule and its events.
fn key(f: &Finding) -> (String, Vec<String>) {
    let mut ids = f.event_ids.clone();
    ids.sort();
    (f.rule.clone(), ids)
}

#[test]
fn a_month_judged_a_day_at_a_time_finds_what_its_windows_can_see() {
    let data = tempfile::tempdir().unwrap();
    let (events, seed) = crate::util::month_setting();
    let truth = trailscope::synth::write_month(data.path(), events, seed).unwrap();
    let store = load(&[data.path()]);
    let lake = tempfile::tempdir().unwrap();
    write::export(&store, None, lake.path()).unwrap();
    let config = Config::builtin().unwrap();
    let whole = detectors::run(store.frame(), &config).unwrap();
    let mut judge = |s: &trailscope::store::FrameStore| detectors::run(s.frame(), &config);
    // A day at a time with a week of history: windows of nine days.
    let run = detect::by_windows(
        lake.path(),
        &ViewSpec::default(),
        (7 * DAY, DAY),
        &mut judge,
    )
    .unwrap();
    let height = store.frame().height();
    // Every event judged once, in windows of about nine of the month's days.
    assert_eq!(run.events, height as u64);
    assert!(run.windows >= 28, "{} windows", run.windows);
    assert!(
        run.largest_window * 2 < height,
        "a window held {} of {height} events",
        run.largest_window
    );
    // Findings carry their events' ids, not rows of a window that is gone.
    assert!(
        run.findings
            .iter()
            .all(|f| f.rows.is_empty() && !f.event_ids.is_empty())
    );
    // The rules that judge each event (with facts of the actor's other events, which a
    // window holds fewer of, so they fire at least as often): every finding over everything
    // starts a finding of the windows, with the same rule and first event.
    let single: BTreeSet<&str> = detectors::single_event_rules()
        .iter()
        .map(|r| r.info().id)
        .collect();
    let first = |f: &Finding| (f.rule.clone(), f.event_ids.first().cloned());
    let started: BTreeSet<_> = run.findings.iter().map(first).collect();
    let whole_single: Vec<&Finding> = (whole.iter())
        .filter(|f| single.contains(f.rule.as_str()))
        .collect();
    assert!(!whole_single.is_empty());
    for w in whole_single {
        assert!(
            started.contains(&first(w)),
            "no window found {} / {} ({:?})",
            w.rule,
            w.actor,
            w.event_ids.first()
        );
    }
    // No finding twice: each is reported by the window of its first event's day.
    let keys: Vec<_> = run.findings.iter().map(key).collect();
    let distinct: BTreeSet<_> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "a finding was reported twice");
    // The defaults (a week at a time, with 30 days of history) find every planted incident,
    // the dormant identity idle for 19 days included.
    let defaults = (detect::DEFAULT_HISTORY, detect::DEFAULT_STEP);
    let weekly =
        detect::by_windows(lake.path(), &ViewSpec::default(), defaults, &mut judge).unwrap();
    assert_eq!(weekly.events, height as u64);
    let missed = crate::util::missed_incidents(&truth, &weekly.findings);
    eprintln!(
        "lake detect: {height} events; by days {} windows (largest {}), {} findings; by weeks {} windows, {} findings; over everything {} findings",
        run.windows,
        run.largest_window,
        run.findings.len(),
        weekly.windows,
        weekly.findings.len(),
        whole.len()
    );
    assert!(missed.is_empty(), "missed: {missed:#?}");
}

#[test]
fn the_cli_judges_a_lake_by_windows_when_asked() {
    let lake = tempfile::tempdir().unwrap();
    let exported = run(&[
        "export",
        "--lake",
        lake.path().to_str().unwrap(),
        crate::util::sample_logs().to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let root = lake.path().to_str().unwrap();
    let windowed = run(&[
        "detect", "--lake", root, "--window", "3d", "--format", "jsonl",
    ]);
    assert!(windowed.status.success(), "{}", stderr(&windowed));
    assert!(
        stderr(&windowed).contains("judged a week at a time")
            && stderr(&windowed).contains("3d before it"),
        "{}",
        stderr(&windowed)
    );
    let whole = run(&[
        "detect", "--lake", root, "--window", "all", "--format", "jsonl",
    ]);
    assert!(whole.status.success(), "{}", stderr(&whole));
    assert!(!stderr(&whole).contains("judged a week at a time"));
    // The samples' single-event findings (root use, logging stopped) are in both.
    let rules = |out: &str| -> BTreeSet<String> {
        out.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["rule"].as_str().map(String::from))
            .collect()
    };
    let (windowed, whole) = (rules(&stdout(&windowed)), rules(&stdout(&whole)));
    assert!(whole.contains("audit-log-tampering"), "{whole:?}");
    assert!(windowed.contains("audit-log-tampering"), "{windowed:?}");
    let bad = run(&["detect", "--lake", root, "--window", "soon"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("invalid --window 'soon'"),
        "{}",
        stderr(&bad)
    );
    let without_lake = run(&["detect", "--window", "3d"]);
    assert!(!without_lake.status.success());
}
