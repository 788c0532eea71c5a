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
    let mut last = Vec::new();
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
        last = grouped.clone();
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
    tui_keys(store, findings, last);
}

/// Keys of the Findings and Incidents views (with their detail panes) over the month's
/// findings and incidents: each timed from the key to the frame drawn at 120x40.
fn tui_keys(
    store: trailscope::store::FrameStore,
    findings: Vec<detectors::Finding>,
    grouped: Vec<incidents::Incident>,
) {
    use crossterm::event::KeyCode;
    use trailscope::tui::jobs::{Done, FindingsRun};
    use trailscope::tui::{Action, Harness};

    let settings = trailscope::tui::Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: std::sync::Arc::new(Config::builtin().expect("built-in config")),
        color: true,
    };
    let mut h = Harness::new(store, settings, 120, 40);
    h.defer_prefetch = true;
    let mut run = FindingsRun::new(findings, &jiff::tz::TimeZone::UTC);
    run.incidents = grouped;
    let frame_gen = h.state.frame_gen;
    h.send(Action::Computed(Done::FindingsFound {
        frame_gen,
        result: Ok(run),
    }));
    h.draw();
    let time = |h: &mut Harness, name: &str, keys: &[KeyCode], times: usize| {
        let mut samples = Vec::new();
        for i in 0..times {
            let key = keys[i % keys.len()];
            let started = Instant::now();
            h.key(key);
            h.draw();
            samples.push(started.elapsed());
            h.settle();
        }
        samples.sort();
        println!(
            "incidents: TUI {name}: median {:.2} ms, max {:.2} ms over {} keys",
            samples[samples.len() / 2].as_secs_f64() * 1000.0,
            samples[samples.len() - 1].as_secs_f64() * 1000.0,
            samples.len()
        );
    };
    time(&mut h, "open Findings (5)", &[KeyCode::Char('5')], 1);
    time(
        &mut h,
        "Findings pane (d) on/off",
        &[KeyCode::Char('d')],
        11,
    );
    time(
        &mut h,
        "Findings: next finding, pane open",
        &[KeyCode::Down],
        50,
    );
    time(&mut h, "open Incidents (7)", &[KeyCode::Char('7')], 1);
    time(
        &mut h,
        "Incidents pane (d) on/off",
        &[KeyCode::Char('d')],
        11,
    );
    time(
        &mut h,
        "Incidents: next incident, pane open",
        &[KeyCode::Down],
        50,
    );
    time(
        &mut h,
        "Incidents: next entity (])",
        &[KeyCode::Char(']')],
        20,
    );
}
