//! access: the access audit and the access review over a generated month (`synth month`,
//! the seven providers with PIM activations, role assumptions, bindings and grants) of about
//! `--events` events (default 1,000,000), loaded once; the audit runs `--runs` times as the
//! CLI runs it (the grants' original records read from the gzipped inputs) and its wall time
//! after the load is reported (target: at most 1 s).

use std::path::Path;
use std::time::{Duration, Instant};

use trailscope::audit::access::{self, AccessSpec};
use trailscope::config::Config;
use trailscope::synth;

/// Runs the access group.
pub fn bench(data: &Path, events: usize, runs: usize, ensure: impl Fn(synth::Kind, &Path, usize)) {
    let (store, load_s) = super::detect::load_month(data, events, ensure);
    let frame = store.frame();
    println!(
        "access: generated month, {} events loaded in {load_s:.2} s; {runs} runs",
        frame.height()
    );
    let config = Config::builtin().expect("built-in config");
    let spec = AccessSpec::default();
    let mut times: Vec<Duration> = Vec::new();
    let mut line = String::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        // As `trailscope access` runs it: the grants' original records read from the inputs.
        let audit = access::audit_store(&store, &config, None, &spec).expect("access audit");
        let holdings = access::review(&audit.grants, &spec, audit.span.1);
        times.push(started.elapsed());
        line = format!(
            "{}; {} holdings in the review",
            audit.summary.line(),
            holdings.len()
        );
    }
    times.sort();
    println!(
        "access: audit and review min {:.3} s, median {:.3} s; {line}",
        times[0].as_secs_f64(),
        times[times.len() / 2].as_secs_f64()
    );
}
