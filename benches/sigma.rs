//! sigma: the public SigmaHQ rules for our log sources (`$TRAILSCOPE_SIGMA_RULES`, default
//! `../shared/sigma-rules`) over a generated month of about `--events` events (default
//! 1,000,000, every provider). Times reading the rules, then `--runs` runs of the engine
//! (prefilter on the normalized columns, candidates' records read once, rsigma on them;
//! target: at most 2 s on 1,000,000 events). For comparison it also times rsigma alone, every
//! rule of a source on every record of that source with no prefilter, over the first
//! 5,000 rows, and reports its rate (`TRAILSCOPE_BENCH_SIGMA_NO_FULL_SCAN=1` skips that).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::sigma::{self, RuleSet, SigmaTap};
use trailscope::store::FrameStore;
use trailscope::synth;

/// Rows the no-prefilter comparison reads.
const FULL_SCAN_ROWS: usize = 5_000;

/// Loads the month, with `tap` seeing every record.
fn load(month: &str, tap: Option<Arc<SigmaTap>>) -> FrameStore {
    let inputs = source::expand(&[month.to_string()]).inputs;
    let mut options = LoadOptions::new(Arc::new(Classifier::builtin().expect("built-in config")));
    if let Some(tap) = tap {
        options.tap = Some(tap);
    }
    FrameStore::load(inputs, options).expect("load")
}

/// Runs the sigma group.
pub fn bench(data: &Path, events: usize, runs: usize, ensure: impl Fn(synth::Kind, &Path, usize)) {
    let rules_dir = std::env::var_os("TRAILSCOPE_SIGMA_RULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/sigma-rules"));
    let started = Instant::now();
    let set = RuleSet::load(std::slice::from_ref(&rules_dir)).expect("rules");
    let rules_s = started.elapsed().as_secs_f64();
    let (store, load_s) = super::detect::load_month(data, events, &ensure);
    let frame = store.frame();
    println!(
        "sigma: {} rules converted ({} not) from {} read in {:.0} ms; generated month, {} events loaded in {load_s:.2} s",
        set.rules.len() + set.correlations.len(),
        set.unconverted.len(),
        rules_dir.display(),
        rules_s * 1000.0,
        frame.height()
    );
    // Alternating in one process: a plain load, a load evaluating the rules on each record
    // (what `detect --sigma` does), the run over the tapped store, and the run reading the
    // records again over the plain store. What the rules add is the tapped load's extra
    // time plus its run.
    let month = super::detect::month_dir(data, events)
        .0
        .display()
        .to_string();
    let (mut plain, mut tapped, mut after, mut times) = (vec![], vec![], vec![], vec![]);
    let mut cpu_added = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let (started, cpu) = (Instant::now(), super::cpu_seconds());
        let again = load(&month, None);
        plain.push(started.elapsed());
        let plain_cpu = super::cpu_seconds() - cpu;
        drop(again);
        let tap = Arc::new(
            SigmaTap::new(Arc::new(
                RuleSet::load(std::slice::from_ref(&rules_dir)).expect("rules"),
            ))
            .expect("tap"),
        );
        let (started, cpu) = (Instant::now(), super::cpu_seconds());
        let with_tap = load(&month, Some(tap.clone()));
        tapped.push(started.elapsed());
        let started = Instant::now();
        let run =
            sigma::run_tapped(&with_tap, with_tap.frame(), &tap, 3_600_000_000).expect("sigma");
        after.push(started.elapsed());
        cpu_added.push(super::cpu_seconds() - cpu - plain_cpu);
        assert_eq!(with_tap.frame().height(), frame.height());
        drop(with_tap);
        let started = Instant::now();
        let reread = sigma::run(&store, frame, &set, 3_600_000_000).expect("sigma");
        times.push(started.elapsed());
        assert_eq!(
            reread.hits.len(),
            run.hits.len(),
            "tapped and read-again runs agree"
        );
        assert_eq!(reread.findings.len(), run.findings.len());
        last = Some(reread);
    }
    let median = |v: &mut Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    let (plain_s, tapped_s, after_s) =
        (median(&mut plain), median(&mut tapped), median(&mut after));
    println!(
        "sigma: evaluated while loading (medians of {} runs): plain load {plain_s:.3} s, load with the rules {tapped_s:.3} s (+{:.3} s), then the run {after_s:.3} s: the rules add {:.3} s",
        plain.len(),
        tapped_s - plain_s,
        tapped_s - plain_s + after_s
    );
    cpu_added.sort_by(f64::total_cmp);
    println!(
        "sigma: CPU time the rules add (tapped load and run, minus the plain load): median {:.2} s, min {:.2} s",
        cpu_added[cpu_added.len() / 2],
        cpu_added[0]
    );
    times.sort();
    let run = last.expect("one run");
    let fired = run
        .hits
        .iter()
        .map(|h| h.rule)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!(
        "sigma: reading again (the run without a tap): min {:.3} s, median {:.3} s over {} runs; {} records read for {} (rule, record) evaluations; {} matches of {fired} rules, {} findings, {} unreadable",
        times[0].as_secs_f64(),
        times[times.len() / 2].as_secs_f64(),
        times.len(),
        run.records_read,
        run.evaluations,
        run.hits.len(),
        run.findings.len(),
        run.unreadable
    );
    let mut costly: Vec<(usize, usize, &str)> = (0..set.rules.len())
        .map(|r| {
            (
                run.evaluated[r],
                run.candidates[r],
                set.rules[r].key.as_str(),
            )
        })
        .collect();
    costly.sort_by(|a, b| b.cmp(a));
    for (evaluated, candidates, key) in costly.iter().take(8) {
        println!(
            "sigma: most read: {key}: {evaluated} records evaluated of {candidates} candidates"
        );
    }
    // The comparison takes a while and does not change with our code: skippable.
    if std::env::var_os("TRAILSCOPE_BENCH_SIGMA_NO_FULL_SCAN").is_none() {
        full_scan(&store, &set);
    }
}

/// rsigma with no prefilter: every rule of a record's source on every record.
fn full_scan(store: &trailscope::store::FrameStore, set: &RuleSet) {
    use polars::prelude::*;
    let frame = store.frame();
    let rows = frame.height().min(FULL_SCAN_ROWS);
    let head = frame.slice(0, rows);
    let text = |name: &str| -> Vec<String> {
        let c = head.column(name).unwrap().cast(&DataType::String).unwrap();
        c.str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    let (providers, log_types) = (text("provider"), text("log_type"));
    let reader = sigma::reader::RecordReader::new(store, &head).expect("reader");
    let started = Instant::now();
    let (mut evaluations, mut matches) = (0usize, 0usize);
    for row in 0..rows {
        let Ok(record) = reader.record(row as u32) else {
            continue;
        };
        for rule in &set.rules {
            if providers[row] != rule.source.provider()
                || !rule.source.covers_log_type(&log_types[row])
            {
                continue;
            }
            evaluations += 1;
            let event = sigma::record::RecordEvent::new(&record, rule.source);
            if rsigma_eval::evaluate_rule(&rule.compiled, &event).is_some() {
                matches += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sigma: without the prefilter (rsigma on every record), first {rows} rows: {elapsed:.2} s, {:.0} events/s, {evaluations} evaluations, {matches} matches",
        rows as f64 / elapsed
    );
}
