//! identities: the identity inventory over a generated month (`synth month`, the seven
//! providers) of about `--events` events (default 1,000,000), loaded once; the inventory
//! runs `--runs` times and its wall time after the load is reported (target: 1 s).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use trailscope::analysis;
use trailscope::audit::identities::IdentitiesSpec;
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::store::FrameStore;
use trailscope::synth;

/// Runs the identities group.
pub fn bench(data: &Path, events: usize, runs: usize, ensure: impl Fn(synth::Kind, &Path, usize)) {
    // The month the detect group uses: `synth month` writes about 1.29 times what it is
    // asked for.
    let request = events * 775 / 1000;
    let dir = data.join(format!("month-{request}"));
    ensure(synth::Kind::Month, &dir, request);
    let started = Instant::now();
    let inputs = source::expand(&[dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().expect("built-in config")));
    let store = FrameStore::load(inputs, options).expect("load");
    let frame = store.frame();
    println!(
        "identities: generated month, {} events loaded in {:.2} s; {runs} runs",
        frame.height(),
        started.elapsed().as_secs_f64()
    );
    let spec = IdentitiesSpec::default();
    let mut times = Vec::new();
    let mut summary = String::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let inventory = analysis::run(frame, None, &spec).expect("identities");
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
