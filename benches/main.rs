//! trailscope benchmarks: `cargo bench --bench main -- [load] [query] [parse] [render] [follow] [detect] [hostile] [tail] [views] [report] [access] [identities] [identity] [incidents] [sigma] [lake --lake-events N] [--events N] [--runs R] [--seconds S]`.
//!
//! load: generates 1,000,000 CloudTrail events (once, under `target/bench-data`) as one
//! NDJSON file and as 1,000 S3 delivery files, then loads each shape into the normalized
//! frame in a fresh child process per run and reports wall time, throughput and peak
//! resident memory (VmHWM). If Python with the `duckdb` module is available, DuckDB loads
//! the same files in the same run for comparison (`benches/duckdb_load.py`).
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
        bench_load(events, runs);
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
    let stamp = format!("{events} v4");
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

fn bench_load(events: usize, runs: usize) {
    let base = data_dir();
    let shapes = [
        (
            "ndjson (1 file)",
            synth::Kind::CloudtrailNdjson,
            base.join(format!("cloudtrail-ndjson-{events}")),
        ),
        (
            "S3 {\"Records\"} (1,000-record files)",
            synth::Kind::CloudtrailS3,
            base.join(format!("cloudtrail-s3-{events}")),
        ),
    ];
    println!(
        "load: {events} CloudTrail events, {runs} runs each, {} threads",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<38} {:>9} {:>10} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "shape", "MB", "min s", "median s", "MB/s", "events/s", "peak MB", "duckdb s"
    );
    for (label, kind, dir) in shapes {
        ensure(kind, &dir, events);
        let bytes = dir_bytes(&dir);
        let mut times = Vec::new();
        let mut peaks = Vec::new();
        let mut loaded = 0;
        for _ in 0..runs {
            let exe = std::env::current_exe().unwrap();
            let out = Command::new(exe)
                .arg("--child-load")
                .arg(&dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8_lossy(&out.stdout);
            let fields: Vec<&str> = line.split_whitespace().collect();
            times.push(fields[0].parse::<f64>().unwrap());
            loaded = fields[1].parse::<u64>().unwrap();
            peaks.push(fields[2].parse::<f64>().unwrap());
        }
        times.sort_by(f64::total_cmp);
        let min = times[0];
        let median = times[times.len() / 2];
        let peak = peaks.iter().copied().fold(0.0, f64::max);
        let duck = duckdb_seconds(&dir, kind);
        println!(
            "{:<38} {:>9.0} {:>10.3} {:>10.3} {:>10.0} {:>12.0} {:>10.0} {:>10}",
            label,
            bytes as f64 / 1e6,
            min,
            median,
            bytes as f64 / 1e6 / median,
            loaded as f64 / median,
            peak,
            duck.map(|d| format!("{d:.3}"))
                .unwrap_or_else(|| "n/a".into())
        );
        assert_eq!(loaded as usize, events, "every generated event is loaded");
    }
}

/// Loads a directory and prints `seconds events peak_rss_mb`.
fn child_load(dir: &Path) {
    let started = Instant::now();
    let inputs = source::expand(&[dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    let store = FrameStore::load(inputs, options).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let events = store.frame().height();
    println!("{seconds:.4} {events} {:.1}", peak_rss_mb());
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// DuckDB's time to load the same files into a table, when Python and duckdb are present.
fn duckdb_seconds(dir: &Path, kind: synth::Kind) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/duckdb_load.py");
    let shape = match kind {
        synth::Kind::CloudtrailS3 => "s3",
        _ => "ndjson",
    };
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
