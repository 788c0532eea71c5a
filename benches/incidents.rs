//! incidents: grouping the findings of a generated month (`synth month`, about `--events`
//! events, default 1,000,000) into incidents, what it adds to detection. The rules run once;
//! the grouping runs `--runs` times over their findings and its wall time is reported
//! (target: at most 100 ms on 1,000,000 events).

use std::path::Path;
use std::time::Instant;

use trailscope::config::Config;
use trailscope::detectors;
use trailscope::incidents::{self, Settings};
use trailscope::synth;

/// Runs the incidents group.
pub fn bench(data: &Path, events: usize, runs: usize, ensure: impl Fn(synth::Kind, &Path, usize)) {
    let (store, load_s) = super::detect::load_month(data, events, ensure);
    let frame = store.frame();
    let config = Config::builtin().expect("built-in config");
    let started = Instant::now();
    let findings = detectors::run(frame, &config).expect("detect");
    let detect_s = started.elapsed().as_secs_f64();
    let settings = Settings::from_config(&config);
    let mut times = Vec::new();
    let mut summary = String::new();
    let mut phases = String::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let (grouped, timings) =
            incidents::group_timed(frame, &findings, &settings).expect("incidents");
        let elapsed = started.elapsed();
        if times.iter().all(|t| elapsed < *t) {
            phases = timings
                .iter()
                .map(|(name, d)| format!("{name} {:.1} ms", d.as_secs_f64() * 1000.0))
                .collect::<Vec<_>>()
                .join(", ");
        }
        times.push(elapsed);
        let largest = grouped.iter().map(|i| i.chain.len()).max().unwrap_or(0);
        let multi = grouped.iter().filter(|i| i.chain.len() > 1).count();
        summary = format!(
            "{} findings -> {} incidents ({multi} of several findings, largest {largest})",
            findings.len(),
            grouped.len()
        );
    }
    times.sort();
    println!(
        "incidents: generated month, {} events loaded in {load_s:.2} s, rules {detect_s:.3} s; grouping min {:.1} ms, median {:.1} ms over {} runs; {summary}",
        frame.height(),
        times[0].as_secs_f64() * 1000.0,
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times.len()
    );
    println!("incidents: phases of the fastest run: {phases}");
}
