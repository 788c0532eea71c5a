//! report: an HTML and a CSV report of a view matching about 100,000 of 1,000,000 loaded
//! CloudTrail events, in the same process after loading: the view is one account's events
//! (`account:684203427827`, the busiest account of the generated data, seed 42: 98,222
//! events; `actor:*admin*` matched only 55,465). Reports each
//! phase's wall time (best and median of the runs) and the peak resident memory above the
//! loaded frame: the peak is reset after loading (`/proc/self/clear_refs`), so VmHWM after
//! the report is the report's own peak.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use trailscope::analysis::ViewSpec;
use trailscope::config::Config;
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::output::report::{self, ReportFormat, ReportSpec, RowFormat};
use trailscope::store::FrameStore;
use trailscope::synth;

/// CPU time (user + system) this process has used, in seconds: against wall time it says
/// how many cores a phase kept busy.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after its ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// report-rules: the rules behind an HTML report alone, `runs` times over the report's
/// 1,000,000 loaded events: wall and CPU time of each run and the slowest phases of the
/// fastest (a short process to profile, e.g. under `perf record`).
pub fn bench_rules(data: &Path, events: usize, runs: usize) {
    let store = load_once(data, events);
    let config = Config::builtin().unwrap();
    // What preparing the rules' context holds and peaks at.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status_mb("VmRSS:");
    let t = Instant::now();
    let context = trailscope::detectors::Context::new(store.frame(), &config).unwrap();
    println!(
        "report-rules: the context alone {:.3} s, holds +{:.0} MB, peak +{:.0} MB",
        t.elapsed().as_secs_f64(),
        status_mb("VmRSS:") - base,
        status_mb("VmHWM:") - base
    );
    drop(context);
    // TRAILSCOPE_BENCH_RULE_PEAKS=1: each rule alone (with its context, and the baselines
    // when it reads them), on this thread: which rules make the peak.
    if std::env::var_os("TRAILSCOPE_BENCH_RULE_PEAKS").is_some() {
        let mut peaks = Vec::new();
        for i in 0..trailscope::detectors::rules().len() {
            let rule = trailscope::detectors::rules().swap_remove(i);
            let id = rule.info().id;
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let base = status_mb("VmRSS:");
            let t = Instant::now();
            trailscope::detectors::run_rules(store.frame(), &config, &[rule]).unwrap();
            peaks.push((status_mb("VmHWM:") - base, id, t.elapsed().as_secs_f64()));
        }
        peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
        let peaks: Vec<String> = (peaks.iter().take(15))
            .map(|(mb, id, s)| format!("{id} +{mb:.0} MB ({s:.2} s)"))
            .collect();
        println!(
            "  peak of each rule alone, with the context: {}",
            peaks.join(", ")
        );
    }
    let mut best: Option<(f64, trailscope::detectors::Timings)> = None;
    for _ in 0..runs.max(1) {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let base = status_mb("VmRSS:");
        let (t, cpu) = (Instant::now(), cpu_s());
        let (findings, phases) = trailscope::detectors::run_timed(store.frame(), &config).unwrap();
        let wall = t.elapsed().as_secs_f64();
        println!(
            "report-rules: {} events, {} findings: {wall:.3} s wall, {:.2} s CPU, peak +{:.0} MB",
            store.frame().height(),
            findings.len(),
            cpu_s() - cpu,
            status_mb("VmHWM:") - base
        );
        if best.as_ref().is_none_or(|(b, _)| wall < *b) {
            best = Some((wall, phases));
        }
    }
    if let Some((_, mut phases)) = best {
        phases.sort_by_key(|p| std::cmp::Reverse(p.1));
        let phases: Vec<String> = (phases.iter().take(12))
            .map(|(id, d)| format!("{id} {:.0} ms", d.as_secs_f64() * 1000.0))
            .collect();
        println!("  slowest phases of the fastest run: {}", phases.join(", "));
    }
}

/// report-csv: the report's CSV and NDJSON of the bench view, `runs` times each over one
/// load: wall time, rate and peak above the loaded frame of each run (a short process to
/// profile). `TRAILSCOPE_BENCH_ROWS_OUT=DIR` keeps the files (to compare them byte for byte).
pub fn bench_rows(data: &Path, events: usize, runs: usize) {
    let store = load_once(data, events);
    let config = Config::builtin().unwrap();
    let spec = bench_spec();
    let temp = tempfile::tempdir().unwrap();
    let out = std::env::var_os("TRAILSCOPE_BENCH_ROWS_OUT")
        .map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
    for (name, format) in [("csv", RowFormat::Csv), ("ndjson", RowFormat::Ndjson)] {
        for _ in 0..runs.max(1) {
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let base = status_mb("VmRSS:");
            let path = out.join(format!("report.{name}"));
            let (t, cpu) = (Instant::now(), cpu_s());
            let stats =
                report::write(&store, &config, &spec, ReportFormat::Rows(format), &path).unwrap();
            let wall = t.elapsed().as_secs_f64();
            let size = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64 / 1e6);
            println!(
                "report-csv: {name:<6} {} events, {size:.1} MB: {wall:.3} s wall, {:.2} s CPU, {:.0} MB/s, peak +{:.0} MB",
                stats.written,
                cpu_s() - cpu,
                size / wall,
                status_mb("VmHWM:") - base
            );
        }
    }
}

/// The bench's 1,000,000 CloudTrail events, loaded as every command loads them.
fn load_once(data: &Path, events: usize) -> FrameStore {
    let dir = data.join(format!("cloudtrail-ndjson-{events}"));
    super::ensure(synth::Kind::CloudtrailNdjson, &dir, events);
    let inputs = source::expand(&[dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    FrameStore::load(inputs, options).unwrap()
}

/// The bench's report: one account's events.
fn bench_spec() -> ReportSpec {
    ReportSpec {
        title: "Production account activity".into(),
        view: ViewSpec {
            filter: "account:684203427827".into(),
            ..ViewSpec::default()
        },
        author: Some("bench@localhost".into()),
        ..ReportSpec::default()
    }
}

pub fn bench(data: &Path, events: usize, runs: usize) {
    let dir = data.join(format!("cloudtrail-ndjson-{events}"));
    super::ensure(synth::Kind::CloudtrailNdjson, &dir, events);
    // The load without and with hashing the inputs as they are read (`report` asks for it):
    // the difference is what hashing costs the load.
    let load = |hash: bool| {
        let started = Instant::now();
        let inputs = source::expand(&[dir.display().to_string()]).inputs;
        let mut options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
        options.hash_inputs = hash;
        let store = FrameStore::load(inputs, options).unwrap();
        (store, started.elapsed().as_secs_f64())
    };
    let mut plain_s = Vec::new();
    let mut hashing_s = Vec::new();
    for _ in 0..runs {
        plain_s.push(load(false).1);
        hashing_s.push(load(true).1);
    }
    plain_s.sort_by(f64::total_cmp);
    hashing_s.sort_by(f64::total_cmp);
    println!(
        "report: load without / with hashing the inputs while reading: best {:.2} s / {:.2} s, median {:.2} s / {:.2} s",
        plain_s[0],
        hashing_s[0],
        plain_s[plain_s.len() / 2],
        hashing_s[hashing_s.len() / 2]
    );
    let (store, load_s) = load(true);
    let config = Config::builtin().unwrap();
    let spec = bench_spec();
    let out = tempfile::tempdir().unwrap();
    let loaded_mb = status_mb("VmRSS:");
    println!(
        "report: {} events loaded in {load_s:.2} s, {loaded_mb:.0} MB resident; filter {:?}; {runs} runs, best / median",
        store.frame().height(),
        spec.view.filter
    );
    let mut rows = Vec::new();
    for (name, format) in [
        ("html", ReportFormat::Html),
        ("csv", ReportFormat::Rows(RowFormat::Csv)),
        ("parquet", ReportFormat::Rows(RowFormat::Parquet)),
    ] {
        let mut times = Vec::new();
        let mut peak = 0f64;
        let mut stats = None;
        for _ in 0..runs {
            // Resets VmHWM to the current resident size (Linux 4.0+).
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let base = status_mb("VmRSS:");
            let started = Instant::now();
            let path = out.path().join(format!("report.{name}"));
            stats = Some(report::write(&store, &config, &spec, format, &path).unwrap());
            times.push(started.elapsed().as_secs_f64());
            peak = peak.max(status_mb("VmHWM:") - base);
        }
        times.sort_by(f64::total_cmp);
        let stats = stats.unwrap();
        let size = std::fs::metadata(out.path().join(format!("report.{name}")))
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0);
        println!(
            "  {name:<8} {:>7.3} s {:>7.3} s  peak +{peak:.0} MB  {} of {} events, {size:.1} MB",
            times[0],
            times[times.len() / 2],
            stats.written,
            stats.matching
        );
        rows.push((name, times[0], peak));
    }
    // The HTML report over a store loaded without hashing: the inputs are read again for
    // their SHA-256 beside the rules (what `report` did before it asked the load to hash).
    {
        let (plain, _) = load(false);
        let mut times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            report::write(
                &plain,
                &config,
                &spec,
                ReportFormat::Html,
                &out.path().join("reread.html"),
            )
            .unwrap();
            times.push(started.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  html, loaded without hashing (inputs read again beside the rules): best {:.3} s, median {:.3} s",
            times[0],
            times[times.len() / 2]
        );
    }
    // Where an HTML report's time goes.
    let frame = store.frame();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status_mb("VmRSS:");
    let (t, cpu) = (Instant::now(), cpu_s());
    let (findings, mut phases) = trailscope::detectors::run_timed(frame, &config).unwrap();
    let detect_s = t.elapsed().as_secs_f64();
    let detect_cpu_s = cpu_s() - cpu;
    let detect_mb = status_mb("VmHWM:") - base;
    phases.sort_by_key(|p| std::cmp::Reverse(p.1));
    let shown = if std::env::var_os("TRAILSCOPE_BENCH_ALL_PHASES").is_some() {
        99
    } else {
        8
    };
    let phases: Vec<String> = (phases.iter().take(shown))
        .map(|(id, d)| format!("{id} {:.0} ms", d.as_secs_f64() * 1000.0))
        .collect();
    println!("  detection's slowest phases: {}", phases.join(", "));
    // What the findings are: the rules that make most of them, with how many are medium+.
    let mut per_rule: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for f in &findings {
        let entry = per_rule.entry(f.rule.as_str()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(f.severity >= trailscope::detectors::Severity::Medium);
    }
    let mut per_rule: Vec<_> = per_rule.into_iter().collect();
    per_rule.sort_by_key(|(_, (n, _))| std::cmp::Reverse(*n));
    let counts: Vec<String> = (per_rule.iter().take(shown))
        .map(|(rule, (n, serious))| format!("{rule} {n} ({serious} medium+)"))
        .collect();
    println!("  findings per rule: {}", counts.join(", "));
    let t = Instant::now();
    for input in store.inputs() {
        let _ = report::scope::hash_input(&input.name);
    }
    let hash_s = t.elapsed().as_secs_f64();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status_mb("VmRSS:");
    let t = Instant::now();
    report::write_with_findings(
        &store,
        &config,
        &spec,
        ReportFormat::Html,
        &out.path().join("known.html"),
        Some(&findings),
    )
    .unwrap();
    let known_s = t.elapsed().as_secs_f64();
    let known_mb = status_mb("VmHWM:") - base;
    println!(
        "  of the HTML report: detection {detect_s:.3} s ({detect_cpu_s:.2} s of CPU, peak +{detect_mb:.0} MB, {} findings), SHA-256 of the inputs read again {hash_s:.3} s (not done: the load hashed them); \
         with the findings known (the TUI's export) {known_s:.3} s, peak +{known_mb:.0} MB",
        findings.len()
    );
    let html_csv: f64 = rows.iter().take(2).map(|r| r.1).sum();
    let peak: f64 = rows.iter().take(2).map(|r| r.2).fold(0.0, f64::max);
    println!(
        "  HTML + CSV: {html_csv:.3} s beyond the load, peak +{peak:.0} MB above the loaded frame"
    );
}
