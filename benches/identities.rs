//! identities: the identity inventory over a generated month (`synth month`, the seven
//! providers) of about `--events` events (default 1,000,000), loaded once; the inventory
//! runs `--runs` times and its wall time after the load is reported (target: 1 s).

use std::path::Path;
use std::time::Instant;

use trailscope::audit::identities::{self, IdentitiesSpec};
use trailscope::config::Config;
use trailscope::synth;

/// Runs the identities group.
pub fn bench(data: &Path, events: usize, runs: usize, ensure: impl Fn(synth::Kind, &Path, usize)) {
    let (store, load_seconds) = super::detect::load_month(data, events, ensure);
    let frame = store.frame();
    println!(
        "identities: generated month, {} events loaded in {:.2} s; {runs} runs",
        frame.height(),
        load_seconds
    );
    let spec = IdentitiesSpec::default();
    let config = Config::builtin().expect("built-in config");
    let mut times = Vec::new();
    let mut summary = String::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        // As `trailscope identities` runs it (without --permissions).
        let inventory =
            identities::inventory_store(&store, &config, None, &spec).expect("identities");
        times.push(started.elapsed());
        let flagged = inventory
            .rows
            .iter()
            .filter(|r| !r.flags.is_empty())
            .count();
        summary = format!("{} identities, {flagged} flagged", inventory.rows.len());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "identities: inventory min {:.3} s, median {:.3} s ({:.1} M events/s); {summary}",
        times[0].as_secs_f64(),
        median.as_secs_f64(),
        frame.height() as f64 / median.as_secs_f64() / 1e6
    );
}
