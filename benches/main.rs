//! trailscope benchmarks: `cargo bench --bench main -- [load] [load-providers] [memory] [query] [parse] [render] [follow] [detect] [hostile] [tail] [views] [report] [report-rules] [report-csv] [access] [identities] [permissions] [identity] [incidents] [sigma] [lake --lake-events N] [--events N] [--runs R] [--seconds S]`.
//!
//! load: generates 1,000,000 CloudTrail events of realistic traffic (once, under
//! `target/bench-data`) as one NDJSON file and as 1,000 S3 delivery files, then loads each
//! shape into the normalized frame in a fresh child process per run and reports wall time,
//! throughput and peak resident memory (VmHWM). If Python with the `duckdb` module is
//! available, DuckDB loads the same files after each run (`benches/duckdb_load.py`).
//! load-providers: the same for Entra sign-ins, Kubernetes audit and GCP audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::store::FrameStore;
use trailscope::synth;

mod access;
mod detect;
mod follow;
mod hostile;
mod identities;
mod identity;
mod incidents;
mod lake;
mod permissions;
mod query;
mod render;
mod report;
mod sigma;
mod tail;
mod views;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--child-load") {
        child_load(Path::new(&args[1]));
        return;
    }
    if args.first().map(String::as_str) == Some("--child-memory") {
        child_memory(Path::new(&args[1]));
        return;
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let events: usize = value("--events")
        .map(|v| v.parse().unwrap())
        .unwrap_or(1_000_000);
    let runs: usize = value("--runs").map(|v| v.parse().unwrap()).unwrap_or(3);
    let groups: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .collect();
    if groups.is_empty() || groups.contains(&"load") {
        bench_load(events, runs, false);
    }
    if groups.contains(&"memory") {
        bench_memory(events);
    }
    if groups.contains(&"load-providers") {
        bench_load(events, runs, true);
    }
    if groups.is_empty() || groups.contains(&"query") {
        query::bench_query(events, runs.max(5));
    }
    if groups.contains(&"parse") {
        bench_parse(events);
    }
    if groups.contains(&"render") {
        render::bench(events);
    }
    if groups.contains(&"hostile") {
        hostile::bench(&data_dir());
        hostile::bench_gzip_seek(&data_dir());
    }
    if groups.contains(&"follow") {
        follow::bench(events);
    }
    if groups.contains(&"tail") {
        let history = data_dir().join(format!("cloudtrail-ndjson-{events}"));
        ensure(synth::Kind::CloudtrailNdjson, &history, events);
        let seconds = value("--seconds").map(|v| v.parse().unwrap()).unwrap_or(20);
        tail::bench(&history, 10_000, seconds);
    }
    if groups.contains(&"views") {
        views::bench(runs);
    }
    if groups.contains(&"report") {
        report::bench(&data_dir(), events, runs);
    }
    if groups.contains(&"report-rules") {
        report::bench_rules(&data_dir(), events, runs);
    }
    if groups.contains(&"report-csv") {
        report::bench_rows(&data_dir(), events, runs);
    }
    if groups.contains(&"detect") {
        detect::bench(&data_dir(), events, runs, ensure);
    }
    if groups.contains(&"sigma") {
        sigma::bench(&data_dir(), events, runs, ensure);
    }
    if groups.contains(&"access") {
        access::bench(&data_dir(), events, runs, ensure);
    }
    if groups.contains(&"identities") {
        identities::bench(&data_dir(), events, runs, ensure);
    }
    if groups.contains(&"permissions") {
        permissions::bench(&data_dir(), events, runs, ensure);
    }
    if groups.contains(&"identity") {
        identity::bench(&data_dir(), events, runs, ensure);
    }
    if groups.contains(&"lake") {
        let lake_events = value("--lake-events")
            .map(|v| v.parse().unwrap())
            .unwrap_or(100_000_000);
        lake::bench(&data_dir(), lake_events, runs, ensure);
    }
    if groups.contains(&"incidents") {
        incidents::bench(&data_dir(), events, runs, ensure);
    }
}

/// Where the load time goes: one thread, the NDJSON benchmark file, stage by stage.
fn bench_parse(events: usize) {
    use trailscope::providers::{Provider, cloudtrail::CloudTrail};
    use trailscope::schema::{EventBatch, RawSpan};
    let dir = data_dir().join(format!("cloudtrail-ndjson-{events}"));
    ensure(synth::Kind::CloudtrailNdjson, &dir, events);
    let bytes = std::fs::read(dir.join("cloudtrail.ndjson")).unwrap();
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let started = Instant::now();
    let mut n = 0usize;
    for line in &lines {
        let value: sonic_rs::Value = sonic_rs::from_slice(line).unwrap();
        use sonic_rs::JsonValueTrait;
        n += usize::from(value.is_object());
    }
    let tree = started.elapsed();
    let started = Instant::now();
    for line in &lines {
        n += usize::from(trailscope::json_scan::too_deep(line).is_none());
    }
    let nesting = started.elapsed();
    let started = Instant::now();
    for line in &lines {
        n += usize::from(CloudTrail.parse_json(line).is_ok());
    }
    let parse = started.elapsed();
    let started = Instant::now();
    let mut batch = EventBatch::with_capacity("bench", 4096);
    for line in &lines {
        let event = CloudTrail.parse_json(line).unwrap();
        batch.push(
            &event,
            line,
            RawSpan {
                offset: 0,
                len: line.len() as u32,
                line: 0,
            },
            false,
        );
        if batch.len() == 4096 {
            let full = std::mem::replace(&mut batch, EventBatch::with_capacity("bench", 4096));
            n += full.into_frame().unwrap().height();
        }
    }
    let parse_push = started.elapsed();
    let per = |d: std::time::Duration| d.as_nanos() as f64 / lines.len() as f64;
    println!(
        "parse: {} records, one thread (ns/record): sonic_rs::Value tree {:.0}, nesting check {:.0}, CloudTrail::parse_json {:.0}, parse + EventBatch push + into_frame {:.0} ({n})",
        lines.len(),
        per(tree),
        per(nesting),
        per(parse),
        per(parse_push)
    );
}

fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-data")
}

fn ensure(kind: synth::Kind, dir: &Path, events: usize) {
    let marker = dir.join(".complete");
    // v9: a CloudTrail access key lasts a credential session (a person's working day per
    // account and client, a workload's few hours) instead of one call; v8: people keep office
    // hours in their zones and work mostly in their team's accounts (src/synth/traffic.rs);
    // v7: the calls depend on the caller.
    let stamp = format!("{events} v9");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(&stamp) {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    eprintln!("generating {events} events into {} ...", dir.display());
    synth::write(kind, dir, events, 42).unwrap();
    std::fs::write(marker, stamp).unwrap();
}

fn dir_bytes(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// The shapes `load` measures (CloudTrail) and `load-providers` measures (the others).
/// Each is (label, generator, directory name, `duckdb_load.py` shape).
fn load_shapes(providers: bool) -> Vec<(&'static str, synth::Kind, &'static str, &'static str)> {
    if providers {
        vec![
            (
                "Entra sign-ins {\"records\"} (hourly files)",
                synth::Kind::EntraSignins,
                "entra-signins",
                "entra",
            ),
            (
                "Kubernetes audit (1 file)",
                synth::Kind::Kubernetes,
                "kubernetes",
                "k8s",
            ),
            (
                "GCP audit (hourly one-per-line)",
                synth::Kind::Gcp,
                "gcp",
                "gcp",
            ),
        ]
    } else {
        vec![
            (
                "CloudTrail ndjson (1 file)",
                synth::Kind::CloudtrailNdjson,
                "cloudtrail-ndjson",
                "ndjson",
            ),
            (
                "CloudTrail S3 (1,000-record files)",
                synth::Kind::CloudtrailS3,
                "cloudtrail-s3",
                "s3",
            ),
        ]
    }
}

/// CPU seconds (user + system) this process has used, all its threads, living or ended
/// (`/proc/self/stat`, in the kernel's 100 Hz clock ticks): on a shared host, what a phase
/// costs is steadier in CPU time than in wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces), from the state on: utime and
    // stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: Vec<f64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse().ok())
        .collect();
    ticks.iter().sum::<f64>() / 100.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Loads each shape in a fresh process per run, alternating with DuckDB loading the same
/// files, so both see the same machine state; prints medians and their ratio.
fn bench_load(events: usize, runs: usize, providers: bool) {
    let base = data_dir();
    println!(
        "load: {events} events per shape, {runs} runs each alternating with DuckDB, {} threads",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<40} {:>7} {:>9} {:>9} {:>10} {:>9} {:>10} {:>7}",
        "shape", "MB", "median s", "min s", "events/s", "peak MB", "duckdb s", "ratio"
    );
    for (label, kind, name, shape) in load_shapes(providers) {
        let dir = base.join(format!("{name}-{events}"));
        ensure(kind, &dir, events);
        let bytes = dir_bytes(&dir);
        let mut times = Vec::new();
        let mut ducks = Vec::new();
        let mut peak: f64 = 0.0;
        let mut loaded = 0;
        for _ in 0..runs {
            let line = child("--child-load", &dir);
            let fields: Vec<&str> = line.split_whitespace().collect();
            times.push(fields[0].parse::<f64>().unwrap());
            loaded = fields[1].parse::<u64>().unwrap();
            peak = peak.max(fields[2].parse::<f64>().unwrap());
            if let Some(d) = duckdb_seconds(&dir, shape) {
                ducks.push(d);
            }
        }
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        let ours = median(times);
        let duck = (!ducks.is_empty()).then(|| median(ducks));
        println!(
            "{:<40} {:>7.0} {:>9.3} {:>9.3} {:>10.0} {:>9.0} {:>10} {:>7}",
            label,
            bytes as f64 / 1e6,
            ours,
            min,
            loaded as f64 / ours,
            peak,
            duck.map(|d| format!("{d:.3}"))
                .unwrap_or_else(|| "n/a".into()),
            duck.map(|d| format!("{:.2}x", ours / d))
                .unwrap_or_else(|| "n/a".into())
        );
        assert_eq!(loaded as usize, events, "every generated event is loaded");
    }
}

/// Peak memory of loading `events` CloudTrail events (one NDJSON file), and where the
/// frame's bytes are, column by column.
fn bench_memory(events: usize) {
    let dir = data_dir().join(format!("cloudtrail-ndjson-{events}"));
    ensure(synth::Kind::CloudtrailNdjson, &dir, events);
    let report = child("--child-memory", &dir);
    println!(
        "memory: {events} CloudTrail events ({:.0} MB one-per-line)",
        dir_bytes(&dir) as f64 / 1e6
    );
    print!("{report}");
}

/// Loads a directory and prints the process's peak while batches arrive and during the
/// load's last commit (which puts the rows in time order), the store's own state, and the
/// frame's bytes column by column.
fn child_memory(dir: &Path) {
    use trailscope::load::pipeline::IngestMsg;
    let started = Instant::now();
    let inputs = source::expand(&[dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    let mut store = FrameStore::new();
    let ingest = store.start_load(inputs, options);
    let mut finished = None;
    for msg in ingest.receiver.iter() {
        if matches!(msg, IngestMsg::LoadFinished) {
            finished = Some(msg);
            break;
        }
        store.apply(msg).unwrap();
    }
    let streaming_peak = peak_rss_mb();
    let before_commit = rss_mb("VmRSS:");
    reset_peak_rss();
    store.apply(finished.expect("the load finishes")).unwrap();
    ingest.wait_idle();
    store.commit().unwrap();
    let commit_peak = peak_rss_mb();
    let seconds = started.elapsed().as_secs_f64();
    let frame = store.frame();
    let mut columns: Vec<(String, usize)> = frame
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), column_bytes(c)))
        .collect();
    columns.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    let total: usize = columns.iter().map(|(_, s)| s).sum();
    let rows = frame.height().max(1);
    println!(
        "loaded {} events in {seconds:.2} s; peak RSS {:.0} MB (while batches arrived {streaming_peak:.0} MB, RSS {before_commit:.0} MB when they all had; the last commit {commit_peak:.0} MB); RSS now {:.0} MB",
        frame.height(),
        streaming_peak.max(commit_peak),
        rss_mb("VmRSS:")
    );
    println!(
        "frame {:.0} MB ({:.0} bytes/event: values, string views and buffers, validity); duplicate index {:.0} MB",
        total as f64 / 1e6,
        total as f64 / rows as f64,
        store.duplicate_index_bytes() as f64 / 1e6
    );
    for (name, size) in columns.iter().take(14) {
        println!(
            "  {name:<16} {:>8.1} MB {:>6.1} B/event",
            *size as f64 / 1e6,
            *size as f64 / rows as f64
        );
    }
    // The identity graph's size, as the resident memory a copy of it adds.
    let before_copy = rss_mb("VmRSS:");
    let copy = store.identities().clone();
    println!(
        "identity graph about {:.0} MB (what a copy of it adds); {} original records kept",
        rss_mb("VmRSS:") - before_copy,
        store.kept_records().len()
    );
    drop(copy);
    // What the frame alone keeps resident, once the store (its duplicate index, identity
    // graph) is dropped, and then with nothing loaded.
    let frame = store.frame().clone();
    drop(store);
    println!(
        "RSS with the frame alone: {:.0} MB (anonymous {:.0} MB, file {:.0} MB)",
        rss_mb("VmRSS:"),
        rss_mb("RssAnon:"),
        rss_mb("RssFile:")
    );
    drop(frame);
    println!(
        "RSS with nothing loaded: {:.0} MB (anonymous {:.0} MB, file {:.0} MB)",
        rss_mb("VmRSS:"),
        rss_mb("RssAnon:"),
        rss_mb("RssFile:")
    );
}

/// The bytes a column holds: Polars' estimate counts a string's bytes but not the 16-byte
/// view every value has, nor a buffer shared by several chunks once; a column holding one
/// value for every row (a null scalar) holds nothing per row.
fn column_bytes(column: &polars::prelude::Column) -> usize {
    use polars::prelude::*;
    let Column::Series(series) = column else {
        return 0;
    };
    let Ok(strings) = series.str() else {
        return series.estimated_size();
    };
    let mut buffers = std::collections::HashSet::new();
    let validity = strings.len().div_ceil(8) * usize::from(strings.has_nulls());
    validity
        + strings
            .downcast_iter()
            .map(|array| {
                let shared: usize = array
                    .data_buffers()
                    .iter()
                    .filter(|b| buffers.insert(b.as_ptr() as usize))
                    .map(|b| b.len())
                    .sum();
                array.views().len() * 16 + shared
            })
            .sum::<usize>()
}

/// Starts the process's peak resident set (VmHWM) afresh from what is resident now.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn rss_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Loads a directory and prints `seconds events peak_rss_mb`.
fn child_load(dir: &Path) {
    let (store, seconds) = load_dir(dir);
    let events = store.frame().height();
    println!("{seconds:.4} {events} {:.1}", peak_rss_mb());
}

/// Runs this benchmark binary as a child (`--child-load`, `--child-memory`) on `dir`, so each
/// measurement starts from a fresh process; returns what it printed.
fn child(flag: &str, dir: &Path) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).arg(flag).arg(dir).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Loads a directory as `trailscope` does, and the seconds it took.
fn load_dir(dir: &Path) -> (FrameStore, f64) {
    let started = Instant::now();
    let inputs = source::expand(&[dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    let store = FrameStore::load(inputs, options).unwrap();
    (store, started.elapsed().as_secs_f64())
}

fn peak_rss_mb() -> f64 {
    rss_mb("VmHWM:")
}

/// DuckDB's time to load the same files into a table, when Python and duckdb are present.
fn duckdb_seconds(dir: &Path, shape: &str) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/duckdb_load.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg(shape)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}
