//! detect: all rules over a generated month (`synth month`, a realistic mix of the seven
//! providers with planted incidents) of about `--events` events (default 1,000,000), loaded once;
//! the rules run `--runs` times and the wall time of `detectors::run` is reported, with the
//! slowest rules of the fastest run.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trailscope::config::Config;
use trailscope::detectors::{self, Severity};
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::store::FrameStore;
use trailscope::synth;

/// Where the generated month of about `events` events lives, and the events to ask
/// `synth month` for: it writes about 1.29 times as many (the targets are stated for
/// 1,000,000).
pub fn month_dir(data: &Path, events: usize) -> (std::path::PathBuf, usize) {
    let request = events * 775 / 1000;
    (data.join(format!("month-{request}")), request)
}

/// Generates (once) and loads a month of about `events` events; returns the store and the
/// load time in seconds.
pub fn load_month(
    data: &Path,
    events: usize,
    ensure: impl Fn(synth::Kind, &Path, usize),
) -> (FrameStore, f64) {
    let (dir, request) = month_dir(data, events);
    ensure(synth::Kind::Month, &dir, request);
    let started = Instant::now();
    let inputs = source::expand(&[dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().expect("built-in config")));
    let store = FrameStore::load(inputs, options).expect("load");
    (store, started.elapsed().as_secs_f64())
}

/// Runs the detect group.
pub fn bench(data: &Path, events: usize, runs: usize, ensure: impl Fn(synth::Kind, &Path, usize)) {
    let (store, load_s) = load_month(data, events, ensure);
    let frame = store.frame();
    println!(
        "detect: generated month, {} events loaded in {load_s:.2} s; {} rules, {runs} runs",
        frame.height(),
        detectors::catalogue().len()
    );
    let config = Config::builtin().expect("built-in config");
    let mut best: Option<(Duration, Vec<(&'static str, Duration)>)> = None;
    let mut times = Vec::new();
    let mut summary = String::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let (findings, timings) = detectors::run_timed(frame, &config).expect("detect");
        let elapsed = started.elapsed();
        times.push(elapsed);
        let serious = findings
            .iter()
            .filter(|f| f.severity >= Severity::Medium)
            .count();
        summary = format!("{} findings, {serious} medium or higher", findings.len());
        if best.as_ref().is_none_or(|(b, _)| elapsed < *b) {
            best = Some((elapsed, timings));
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "detect: all rules min {:.3} s, median {:.3} s ({:.1} M events/s); {summary}",
        times[0].as_secs_f64(),
        median.as_secs_f64(),
        frame.height() as f64 / median.as_secs_f64() / 1e6
    );
    if let Some((_, mut timings)) = best {
        timings.sort_by_key(|t| std::cmp::Reverse(t.1));
        let top: Vec<String> = timings
            .iter()
            .take(
                if std::env::var_os("TRAILSCOPE_BENCH_ALL_PHASES").is_some() {
                    99
                } else {
                    8
                },
            )
            .map(|(id, d)| format!("{id} {:.0} ms", d.as_secs_f64() * 1000.0))
            .collect();
        println!("detect: slowest phases: {}", top.join(", "));
    }
}
