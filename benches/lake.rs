//! lake: a Parquet lake of `--lake-events` events (default 100,000,000; built once under
//! `$HOME/.cache/trailscope/lake-<N>`, or `$TRAILSCOPE_LAKE_DIR`, by writing a generated
//! month of 1,000,000 events `N / 1,000,000` times over with shifted times and fresh ids),
//! then `query --lake` with a one-hour filter, an actor filter over everything (a common and
//! a rare actor), an event id lookup, a pivot and a timeline over everything (file by file,
//! and collected in one frame as before), in this process, with what each read and each
//! case's peak resident memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use polars::prelude::ChunkAgg;

use trailscope::analysis::{PivotSpec, TimelineSpec, ViewSpec};
use trailscope::lake::scan::ScanStats;
use trailscope::lake::{aggregate, query, replicate};
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::schema::{ACTION, ACTOR, PROVIDER};
use trailscope::store::FrameStore;
use trailscope::synth;

/// A timed case: the rows it gave and what it read.
type Case = Box<dyn Fn() -> (usize, ScanStats)>;

/// Events of the generated month the lake copies.
const BASE_EVENTS: usize = 1_000_000;

fn lake_dir(events: usize) -> PathBuf {
    match std::env::var_os("TRAILSCOPE_LAKE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
            home.join(".cache/trailscope")
                .join(format!("lake-{events}"))
        }
    }
}

/// Resets the peak resident memory to the current one (Linux `clear_refs` 5), so that each
/// case's peak is its own rather than the largest of the cases before it.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn bench(data: &Path, events: usize, runs: usize, ensure: fn(synth::Kind, &Path, usize)) {
    let base_dir = data.join(format!("month-{BASE_EVENTS}"));
    ensure(synth::Kind::Month, &base_dir, BASE_EVENTS);
    let inputs = source::expand(&[base_dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    let store = FrameStore::load(inputs, options).unwrap();
    let base = store.frame().height();
    let copies = events.div_ceil(base).max(1);
    let root = lake_dir(events);
    let marker = root.join(".bench-complete");
    // v2: files have their value indexes.
    let stamp = format!("{base} x {copies} v2");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(&stamp) {
        let _ = std::fs::remove_dir_all(&root);
        eprintln!(
            "writing a lake of {} events into {} ...",
            base * copies,
            root.display()
        );
        let started = Instant::now();
        let written = replicate::replicate(&store, &root, copies).unwrap();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "lake: wrote {} events in {} files ({} partitions), {:.1} GB, in {secs:.0} s ({:.2} M events/s)",
            written.written,
            written.files,
            written.partitions,
            written.bytes as f64 / 1e9,
            written.written as f64 / secs / 1e6
        );
        std::fs::write(&marker, &stamp).unwrap();
    }
    // An actor with a moderate share of the events, and the middle day of the month.
    let frame = store.frame();
    let actors = frame
        .column(ACTOR)
        .unwrap()
        .cast(&polars::prelude::DataType::String)
        .unwrap();
    let actor = actors
        .str()
        .unwrap()
        .get(frame.height() / 2)
        .unwrap()
        .to_string();
    // An actor with few events (at least 5 in the month), and one event's id.
    let mut counts: std::collections::HashMap<&str, usize> = Default::default();
    for a in actors.str().unwrap().iter().flatten() {
        *counts.entry(a).or_default() += 1;
    }
    let rare = counts
        .iter()
        .filter(|(a, n)| **n >= 5 && a.is_ascii())
        .min_by_key(|(a, n)| (**n, **a))
        .map(|(a, n)| (a.to_string(), *n))
        .unwrap();
    let event_id = frame
        .column(trailscope::schema::EVENT_ID)
        .unwrap()
        .str()
        .unwrap()
        .get(frame.height() / 3)
        .unwrap()
        .to_string();
    let mid = frame
        .column(trailscope::schema::TIME)
        .unwrap()
        .as_materialized_series()
        .to_physical_repr()
        .i64()
        .map(|t| (t.min().unwrap() + t.max().unwrap()) / 2)
        .unwrap();
    drop(store);
    let after = jiff::Timestamp::from_microsecond(mid - mid.rem_euclid(3_600_000_000)).unwrap();
    let before = after + jiff::SignedDuration::from_hours(1);
    let time_filter = format!("after:{after} before:{before}");
    let actor_filter = format!(
        "actor:{}",
        trailscope::analysis::filter::quote_value(&actor)
    );
    let rare_filter = format!(
        "actor:{}",
        trailscope::analysis::filter::quote_value(&rare.0)
    );
    // Copies of an event carry its id with `-<copy>` appended.
    let id_filter = format!(
        "event_id:{}",
        trailscope::analysis::filter::quote_value(&format!("{event_id}-{}", copies / 2))
    );
    println!(
        "lake: {} events in {}, {runs} runs each, best / median ms (peak RSS of the process)",
        base * copies,
        root.display()
    );
    let every_column = |filter: &str| ViewSpec {
        filter: filter.to_string(),
        columns: trailscope::schema::EVENT_COLUMNS.map(String::from).to_vec(),
        ..ViewSpec::default()
    };
    let pivot_spec = PivotSpec {
        rows: ACTION.to_string(),
        cols: Some(PROVIDER.to_string()),
        distinct: None,
        top: 20,
    };
    let timeline_spec = TimelineSpec {
        by: ACTOR.to_string(),
        bucket: None,
        tz: jiff::tz::TimeZone::UTC,
        top: 10,
    };
    // Pivots and timelines over everything, as `pivot|timeline --lake` run them (file by
    // file) and as they ran before (the matching events' columns collected in one frame).
    let cases: Vec<(&str, Case)> = vec![
        (
            "query, one hour, every column",
            Box::new({
                let root = root.clone();
                let view = every_column(&time_filter);
                move || {
                    let (out, stats) = query::select(&root, &view).unwrap();
                    (out.height(), stats)
                }
            }),
        ),
        (
            "query, one actor over everything",
            Box::new({
                let root = root.clone();
                let view = ViewSpec {
                    filter: actor_filter.clone(),
                    ..ViewSpec::default()
                };
                move || {
                    let (out, stats) = query::select(&root, &view).unwrap();
                    (out.height(), stats)
                }
            }),
        ),
        (
            "query, a rare actor over everything",
            Box::new({
                let root = root.clone();
                let view = ViewSpec {
                    filter: rare_filter.clone(),
                    ..ViewSpec::default()
                };
                move || {
                    let (out, stats) = query::select(&root, &view).unwrap();
                    (out.height(), stats)
                }
            }),
        ),
        (
            "query, one event id over everything",
            Box::new({
                let root = root.clone();
                let view = ViewSpec {
                    filter: id_filter.clone(),
                    ..ViewSpec::default()
                };
                move || {
                    let (out, stats) = query::select(&root, &view).unwrap();
                    (out.height(), stats)
                }
            }),
        ),
        (
            "pivot action x provider, file by file",
            Box::new({
                let root = root.clone();
                let spec = pivot_spec.clone();
                move || {
                    let (out, stats) =
                        aggregate::pivot(&root, &ViewSpec::default(), &spec).unwrap();
                    (out.row_keys.len(), stats)
                }
            }),
        ),
        (
            "timeline by actor, file by file",
            Box::new({
                let root = root.clone();
                let spec = timeline_spec.clone();
                move || {
                    let (out, stats) =
                        aggregate::timeline(&root, &ViewSpec::default(), &spec).unwrap();
                    (out.starts.len(), stats)
                }
            }),
        ),
        // Last: the memory they leave behind would raise the peaks of the cases after them.
        (
            "pivot action x provider, one frame",
            Box::new({
                let root = root.clone();
                let spec = pivot_spec.clone();
                move || {
                    let (out, stats) = query::run(&root, &ViewSpec::default(), &spec).unwrap();
                    (out.row_keys.len(), stats)
                }
            }),
        ),
        (
            "timeline by actor, one frame",
            Box::new({
                let root = root.clone();
                let spec = timeline_spec.clone();
                move || {
                    let (out, stats) = query::run(&root, &ViewSpec::default(), &spec).unwrap();
                    (out.starts.len(), stats)
                }
            }),
        ),
    ];
    println!(
        "  (one hour: {time_filter}; actor: {actor_filter}; rare actor ({} events a month): {rare_filter}; {id_filter})",
        rare.1
    );
    for (name, case) in &cases {
        let mut times = Vec::new();
        let mut last = (0, ScanStats::default());
        reset_peak_rss();
        for _ in 0..runs {
            let started = Instant::now();
            last = case();
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:<42} {:>9.0} / {:>9.0}  {} rows; read {}/{} partitions, {}/{} row groups ({} ruled out by value), {} events; peak {:.0} MB",
            times[0],
            times[times.len() / 2],
            last.0,
            last.1.partitions_read,
            last.1.partitions,
            last.1.row_groups_read,
            last.1.row_groups,
            last.1.row_groups_ruled_out_by_values,
            last.1.rows_read,
            peak_rss_mb()
        );
    }
}
