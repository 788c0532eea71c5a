//! Runs a detection's work (learning the baselines, each rule) on worker threads. A job
//! starts as soon as what it reads is ready rather than at a barrier per stage: a rule that
//! reads what earlier stages found waits for them, one that reads nothing of the others
//! ([`Rule::reads_findings`]) runs whenever a worker is idle, filling the gaps where one long
//! rule holds up its stage. What each rule sees is fixed by its stage alone, so the findings
//! never depend on the number of workers or on which thread ran what.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::context::Context;
use super::derived::Derived;
use super::history::{self, Baselines};
use super::{Found, Prepared, Rule, Stage};
use crate::{Error, Result};

/// Work of a detection: learning the baselines, or a rule.
#[derive(Clone, Copy)]
pub(super) enum Job<'r> {
    /// Learning the actors' baselines.
    Baselines,
    /// The part of a rule that reads no other rule's findings ([`Rule::prepare`]).
    Prepare(&'r dyn Rule),
    /// Running a rule (its [`Rule::finish`] when it prepares).
    Rule(&'r dyn Rule),
}

/// What a [`Job`] produced, and how long it took.
pub(super) enum Done {
    /// The baselines.
    Baselines(Duration),
    /// A rule's preparation, handed on to the rule.
    Prepared,
    /// A rule's findings (with a configured severity already applied), and the time it
    /// took with its preparation.
    Found(&'static str, Found, Duration),
}

/// The jobs of a run, in the order a free worker prefers them: the baselines first (the
/// rules of later stages wait for them) and the rules' preparations, then the rules by
/// stage, then as given.
pub(super) fn jobs<'r>(rules: &[&'r dyn Rule], baselines: bool) -> Vec<Job<'r>> {
    let mut ordered: Vec<&'r dyn Rule> = rules.to_vec();
    ordered.sort_by_key(|r| r.stage());
    let learn = baselines.then_some(Job::Baselines);
    let prepare = (ordered.iter())
        .filter(|r| r.prepares())
        .map(|r| Job::Prepare(*r));
    let run = ordered.iter().map(|r| Job::Rule(*r));
    learn.into_iter().chain(prepare).chain(run).collect()
}

/// The index of a stage in [`Stage::ALL`].
fn stage_index(stage: Stage) -> usize {
    Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0)
}

/// Where the workers meet: which jobs started, their results, and what the rules may read.
struct Board {
    started: Vec<bool>,
    results: Vec<Option<Done>>,
    /// The first error, by job order once every worker stopped.
    errors: Vec<(usize, Error)>,
    /// A panic of a job, raised again on the calling thread.
    panic: Option<Box<dyn std::any::Any + Send>>,
    running: usize,
    baselines: bool,
    /// How many stages (of [`Stage::ALL`]) are done and taken into `derived`.
    absorbed: usize,
    /// What the rules that read earlier stages see: the stages before `absorbed`.
    derived: Arc<Derived>,
    /// What the rules that read no other rule see: the baselines alone.
    free: Arc<Derived>,
    /// The preparations done and not yet taken, by rule id, with the time each took.
    prepared: HashMap<&'static str, (Prepared, Duration)>,
}

impl Board {
    fn stopped(&self) -> bool {
        self.panic.is_some() || !self.errors.is_empty()
    }

    /// The first job that may start now, in preference order.
    fn next(&self, jobs: &[Job<'_>]) -> Option<usize> {
        (0..jobs.len()).find(|i| !self.started[*i] && self.ready(jobs[*i]))
    }

    fn ready(&self, job: Job<'_>) -> bool {
        match job {
            Job::Baselines => true,
            Job::Prepare(rule) => !rule.reads_baselines() || self.baselines,
            Job::Rule(rule) => {
                (!rule.reads_baselines() || self.baselines)
                    && (!rule.reads_findings() || self.absorbed >= stage_index(rule.stage()))
                    && (!rule.prepares() || self.prepared.contains_key(rule.info().id))
            }
        }
    }

    /// Takes in every stage now complete, in stage order and job order within a stage.
    fn absorb_complete_stages(&mut self, jobs: &[Job<'_>]) {
        while let Some(stage) = Stage::ALL.get(self.absorbed) {
            let of_stage = |j: &Job<'_>| matches!(j, Job::Rule(r) if r.stage() == *stage);
            let complete = jobs
                .iter()
                .zip(&self.results)
                .all(|(j, done)| !of_stage(j) || done.is_some());
            if !complete {
                return;
            }
            let derived = Arc::make_mut(&mut self.derived);
            for (job, done) in jobs.iter().zip(&self.results) {
                if let (true, Some(Done::Found(_, found, _))) = (of_stage(job), done) {
                    derived.absorb(found);
                }
            }
            self.absorbed += 1;
        }
    }
}

/// Runs `jobs` on up to `workers` threads (the calling thread alone for one) and returns
/// what each produced, in job order. `severity_of` gives a rule's configured severity.
pub(super) fn run<'r>(
    ctx: &Context<'_>,
    jobs: &[Job<'r>],
    workers: usize,
    severity_of: &(dyn Fn(&'static str) -> Option<super::Severity> + Sync),
) -> Result<Vec<Done>> {
    let board = Mutex::new(Board {
        started: vec![false; jobs.len()],
        results: jobs.iter().map(|_| None).collect(),
        errors: Vec::new(),
        panic: None,
        running: 0,
        baselines: false,
        absorbed: 0,
        derived: Arc::new(Derived::default()),
        free: Arc::new(Derived::default()),
        prepared: HashMap::new(),
    });
    // Stages with no job (a configuration that enables a few rules, one rule run alone) are
    // complete before anything runs: a rule of a later stage must not wait for them.
    lock(&board).absorb_complete_stages(jobs);
    let wake = Condvar::new();
    let work = || worker(ctx, jobs, &board, &wake, severity_of);
    let threads = workers.clamp(1, jobs.len().max(1));
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    }
    let mut board = board.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(panic) = board.panic.take() {
        std::panic::resume_unwind(panic);
    }
    board.errors.sort_by_key(|(i, _)| *i);
    if let Some((_, e)) = board.errors.into_iter().next() {
        return Err(e);
    }
    board
        .results
        .into_iter()
        .map(|done| done.ok_or_else(|| Error::Invalid("a detection rule could not start".into())))
        .collect()
}

fn lock(board: &Mutex<Board>) -> MutexGuard<'_, Board> {
    board.lock().unwrap_or_else(|e| e.into_inner())
}

/// One worker: takes the next job that may start, runs it, records it, until none is left.
fn worker(
    ctx: &Context<'_>,
    jobs: &[Job<'_>],
    board: &Mutex<Board>,
    wake: &Condvar,
    severity_of: &(dyn Fn(&'static str) -> Option<super::Severity> + Sync),
) {
    loop {
        let mut b = lock(board);
        let (i, derived, prepared) = loop {
            if b.stopped() || b.started.iter().all(|s| *s) {
                return;
            }
            if let Some(i) = b.next(jobs) {
                let derived = match jobs[i] {
                    Job::Rule(r) if r.reads_findings() => Arc::clone(&b.derived),
                    _ => Arc::clone(&b.free),
                };
                let prepared = match jobs[i] {
                    Job::Rule(r) if r.prepares() => b.prepared.remove(r.info().id),
                    _ => None,
                };
                b.started[i] = true;
                b.running += 1;
                break (i, derived, prepared);
            }
            if b.running == 0 {
                // Nothing runs and nothing may start: a rule waits for what no job makes.
                let stuck = Error::Invalid("a detection rule waits for what no rule makes".into());
                b.errors.push((jobs.len(), stuck));
                wake.notify_all();
                return;
            }
            b = wake.wait(b).unwrap_or_else(|e| e.into_inner());
        };
        drop(b);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_job(ctx, jobs[i], &derived, prepared, severity_of)
        }));
        drop(derived);
        let mut b = lock(board);
        b.running -= 1;
        match outcome {
            Ok(Ok(Ran::Baselines(learned, took))) => {
                Arc::make_mut(&mut b.derived).set_baselines(Arc::clone(&learned));
                b.free = Arc::new(b.derived.baselines_only());
                b.baselines = true;
                b.results[i] = Some(Done::Baselines(took));
            }
            Ok(Ok(Ran::Prepared(id, prepared, took))) => {
                b.prepared.insert(id, (prepared, took));
                b.results[i] = Some(Done::Prepared);
            }
            Ok(Ok(Ran::Found(id, found, took))) => {
                b.results[i] = Some(Done::Found(id, found, took));
                b.absorb_complete_stages(jobs);
            }
            Ok(Err(e)) => b.errors.push((i, e)),
            Err(panic) => b.panic = Some(panic),
        }
        wake.notify_all();
    }
}

/// What running one job gave.
enum Ran {
    Baselines(Arc<Baselines>, Duration),
    Prepared(&'static str, Prepared, Duration),
    Found(&'static str, Found, Duration),
}

/// Runs one job: `derived` is what it may read, `prepared` a rule's preparation and the
/// time it took.
fn run_job(
    ctx: &Context<'_>,
    job: Job<'_>,
    derived: &Derived,
    prepared: Option<(Prepared, Duration)>,
    severity_of: &(dyn Fn(&'static str) -> Option<super::Severity> + Sync),
) -> Result<Ran> {
    let started = Instant::now();
    match job {
        Job::Baselines => {
            let learned = Arc::new(history::learn(ctx)?);
            Ok(Ran::Baselines(learned, started.elapsed()))
        }
        Job::Prepare(rule) => {
            let prepared = rule.prepare(ctx, derived)?;
            Ok(Ran::Prepared(rule.info().id, prepared, started.elapsed()))
        }
        Job::Rule(rule) => {
            let id = rule.info().id;
            let (mut found, before) = match prepared {
                Some((prepared, took)) => (rule.finish(ctx, derived, prepared)?, took),
                None => (rule.run(ctx, derived)?, Duration::ZERO),
            };
            if let Some(severity) = severity_of(id) {
                for f in &mut found.findings {
                    f.severity = severity;
                }
            }
            Ok(Ran::Found(id, found, before + started.elapsed()))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::load::classify::Classifier;
    use crate::load::pipeline::LoadOptions;
    use crate::load::source;
    use crate::store::FrameStore;

    /// A generated month of `events` events with incidents planted, loaded.
    fn month(events: usize, seed: u64) -> FrameStore {
        let dir = tempfile::tempdir().unwrap();
        crate::synth::write_month(dir.path(), events, seed).unwrap();
        let names = vec![dir.path().display().to_string()];
        let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
        FrameStore::load(source::expand(&names).inputs, options).unwrap()
    }

    /// A rule that says it reads no other rule's findings runs before its stage and sees the
    /// baselines alone: on a month with incidents planted (so earlier stages find much), it
    /// finds exactly what it finds when it sees every earlier stage's findings.
    #[test]
    fn rules_that_read_no_findings_find_the_same_without_them() {
        let store = month(40_000, 7);
        let config = Config::builtin().unwrap();
        let ctx = Context::new(store.frame(), &config).unwrap();
        let all = super::super::rules();
        let mut derived = Derived::default();
        derived.set_baselines(Arc::new(history::learn(&ctx).unwrap()));
        let mut free = 0;
        for stage in Stage::ALL {
            let of_stage: Vec<&dyn Rule> = (all.iter().map(|r| r.as_ref()))
                .filter(|r| r.stage() == stage)
                .collect();
            let mut found = Vec::new();
            for rule in &of_stage {
                let with = rule.run(&ctx, &derived).unwrap();
                if !rule.reads_findings() {
                    free += 1;
                    let without = rule.run(&ctx, &derived.baselines_only()).unwrap();
                    assert_eq!(
                        format!("{:?}", without.findings),
                        format!("{:?}", with.findings),
                        "{} reads earlier findings but says it does not",
                        rule.info().id
                    );
                }
                found.push(with);
            }
            for f in &found {
                derived.absorb(f);
            }
        }
        assert!(free >= 5, "only {free} rules run before their stage");
        assert!(
            derived.critical_rows().len() > 10,
            "the month's earlier stages found too little to tell"
        );
    }

    /// Every rule runs alone (a configuration may enable just one): none waits for a stage
    /// that has no rule to run, and each finds what it finds beside the others, apart from
    /// what it reads of their findings.
    #[test]
    fn every_rule_runs_alone() {
        let store = month(4_000, 11);
        let config = Config::builtin().unwrap();
        let everything =
            super::super::run_rules(store.frame(), &config, &super::super::rules()).unwrap();
        for i in 0..super::super::rules().len() {
            let rule = super::super::rules().swap_remove(i);
            let (id, reads) = (rule.info().id, rule.reads_findings());
            let alone = super::super::run_rules(store.frame(), &config, &[rule])
                .unwrap_or_else(|e| panic!("{id} alone: {e}"));
            if !reads {
                let beside: Vec<_> = everything.iter().filter(|f| f.rule == id).collect();
                assert_eq!(
                    format!("{:?}", alone.iter().collect::<Vec<_>>()),
                    format!("{beside:?}"),
                    "{id} finds other things alone"
                );
            }
        }
    }
}
