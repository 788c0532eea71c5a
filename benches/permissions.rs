//! permissions: permissions granted versus used over a generated month (`synth month`, the
//! seven providers) of about `--events` events (default 1,000,000), loaded once; the
//! analysis runs `--runs` times and its wall time after the load is reported (target: well
//! under 1 s).

use std::path::Path;
use std::time::Instant;

use trailscope::audit::permissions::{self, PermissionsSpec};
use trailscope::synth;

/// Runs the permissions group.
pub fn bench(data: &Path, events: usize, runs: usize, ensure: impl Fn(synth::Kind, &Path, usize)) {
    let (store, load_seconds) = super::detect::load_month(data, events, ensure);
    println!(
        "permissions: generated month, {} events loaded in {:.2} s; {runs} runs",
        store.frame().height(),
        load_seconds
    );
    let spec = PermissionsSpec::default();
    let mut times = Vec::new();
    let mut summary = String::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let result = permissions::audit_store(&store, None, &spec).expect("permissions");
        times.push(started.elapsed());
        let s = &result.summary;
        summary = format!(
            "{} rows; {} grant events; calls: {} mapped, {} cannot tell, {} unattributed",
            result.rows.len(),
            s.grant_events,
            s.mapped_events,
            s.cannot_tell_events,
            s.unattributed_events
        );
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "permissions: min {:.3} s, median {:.3} s; {summary}",
        times[0].as_secs_f64(),
        median.as_secs_f64(),
    );
}
