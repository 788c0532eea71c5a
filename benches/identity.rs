//! identity: what identity resolution adds to a load. A generated month (`synth month`, the
//! seven providers mixed) of about `--events` events is loaded `--runs` times; then the
//! resolver labels every row of the loaded frame from scratch `--runs` times: the whole of
//! the work a load spends on identities (a load does it batch by batch as events arrive).

use std::path::Path;
use std::time::{Duration, Instant};

use trailscope::identity::{Identities, IdentityLinks};
use trailscope::schema::{ACTOR, IDENTITY};
use trailscope::synth;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs the identity group.
pub fn bench(data: &Path, events: usize, runs: usize, ensure: impl Fn(synth::Kind, &Path, usize)) {
    let mut loads = Vec::new();
    let mut store = None;
    for _ in 0..runs.max(1) {
        let (loaded, seconds) = super::detect::load_month(data, events, &ensure);
        store = Some(loaded);
        loads.push(Duration::from_secs_f64(seconds));
    }
    let Some(store) = store else { return };
    let frame = store.frame();
    let mut resolves = Vec::new();
    let mut placeholders = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let mut identities = Identities::new(&IdentityLinks::new());
        let column = identities.label(frame).expect("label");
        resolves.push(started.elapsed());
        placeholders = identities.placeholders();
        assert_eq!(column.len(), frame.height());
    }
    let distinct = |name: &str| {
        frame
            .column(name)
            .and_then(|c| c.n_unique())
            .unwrap_or_default()
    };
    let (load, resolve) = (median(loads), median(resolves));
    println!(
        "identity: generated month, {} events, {} actors -> {} identities \
         ({placeholders} ids ignored as placeholders)",
        frame.height(),
        distinct(ACTOR),
        distinct(IDENTITY)
    );
    println!(
        "identity: load median {:.2} s; resolving every row's identity median {:.0} ms \
         ({:.1} % of the load), {runs} runs",
        load.as_secs_f64(),
        resolve.as_secs_f64() * 1000.0,
        resolve.as_secs_f64() / load.as_secs_f64() * 100.0
    );
}
