//! follow: keys while events arrive. The TUI holds N CloudTrail events (default 1,000,000)
//! in follow mode, with its jobs on its own workers (view, analyses, detectors, record),
//! while 10,000 events per second arrive for a few seconds in batches of 500, as the follower
//! sends them. This thread plays the TUI's loop: it applies arrivals, ticks (which start
//! commits on the commit worker), finished jobs (a commit's frame put in place among them)
//! and keys as they fall due, draws at most every 16 ms on a 120x40 `TestBackend`, and times
//! each key from the moment it was pressed to the end of the frame that shows it, so a key
//! pressed while the loop is busy (a result being applied) counts the wait. Two runs: arrivals newer than every loaded event (a live tail), and
//! arrivals from the hour before the newest (late exports: every commit re-sorts the frame).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use polars::prelude::*;
use trailscope::config::Config;
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::{Batch, IngestMsg, LoadOptions};
use trailscope::load::source;
use trailscope::schema::TIME;
use trailscope::store::FrameStore;
use trailscope::synth;
use trailscope::tui::action::IngestMsgBox;
use trailscope::tui::{Action, Harness, Settings};

use crate::{data_dir, ensure};

/// Events per second arriving.
const RATE: usize = 10_000;
/// Events per batch.
const BATCH: usize = 500;
/// How long events arrive in each run.
const RUN: Duration = Duration::from_secs(12);
/// A key every this often.
const KEY_EVERY: Duration = Duration::from_millis(47);
/// The TUI's tick and frame.
const TICK: Duration = Duration::from_millis(250);
const FRAME: Duration = Duration::from_millis(16);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn micros(frame: &DataFrame, last: bool) -> i64 {
    let column = frame.column(TIME).unwrap();
    let column = column.cast(&DataType::Int64).unwrap();
    let values = column.i64().unwrap();
    if last { values.max() } else { values.min() }.unwrap()
}

/// The arriving events: a second data set, its times moved into `start .. end` (order
/// kept), in time order, cut into batches with fingerprints of their own (they are new
/// events).
fn arrivals(events: &DataFrame, start: i64, end: i64, input: usize) -> Vec<Batch> {
    let dtype = events.column(TIME).unwrap().dtype().clone();
    let (first, last) = (micros(events, false), micros(events, true));
    let scale = (end - start) as f64 / (last - first).max(1) as f64;
    let moved = events
        .clone()
        .lazy()
        .with_column(
            ((col(TIME).cast(DataType::Int64) - lit(first)).cast(DataType::Float64) * lit(scale)
                + lit(start as f64))
            .cast(DataType::Int64)
            .cast(dtype)
            .alias(TIME),
        )
        .sort([TIME], SortMultipleOptions::default())
        .collect()
        .unwrap();
    (0..moved.height())
        .step_by(BATCH)
        .map(|offset| {
            let frame = moved.slice(offset as i64, BATCH);
            let fingerprints = (offset..offset + frame.height())
                .map(|i| (1u64 << 63) | i as u64)
                .collect();
            Batch {
                input,
                frame,
                fingerprints,
                staged: Vec::new(),
                kept: Vec::new(),
            }
        })
        .collect()
}

struct Samples(Vec<Duration>);

impl Samples {
    fn line(&mut self, name: &str) {
        self.0.sort();
        let n = self.0.len();
        let at = |q: f64| {
            self.0
                .get(((n as f64 * q) as usize).min(n.saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{name:<44} {n:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            ms(at(0.5)),
            ms(at(0.95)),
            ms(at(0.99)),
            ms(self.0.last().copied().unwrap_or_default())
        );
    }
}

/// Runs the follow group.
pub fn bench(events: usize) {
    let dir = data_dir().join(format!("cloudtrail-ndjson-{events}"));
    ensure(synth::Kind::CloudtrailNdjson, &dir, events);
    let arriving = RATE * RUN.as_secs() as usize;
    let more_dir = data_dir().join(format!("cloudtrail-ndjson-{arriving}"));
    ensure(synth::Kind::CloudtrailNdjson, &more_dir, arriving);
    let options = || LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    let more = FrameStore::load(
        source::expand(&[more_dir.display().to_string()]).inputs,
        options(),
    )
    .unwrap();
    println!(
        "follow: {RATE} events/s in batches of {BATCH} for {} s into {events} events, 120x40, \
         jobs on workers; key = pressed -> drawn (ms)",
        RUN.as_secs()
    );
    println!(
        "{:<44} {:>6} {:>8} {:>8} {:>8} {:>8}",
        "", "n", "median", "p95", "p99", "max"
    );
    for (name, late) in [("live tail", false), ("late export", true)] {
        let store = FrameStore::load(
            source::expand(&[dir.display().to_string()]).inputs,
            options(),
        )
        .unwrap();
        // A live tail: the arrivals' event times over the 12 s after the newest loaded event.
        // A late export: over the hour before it, so that every commit re-sorts the frame.
        let newest = micros(store.frame(), true);
        let (start, end) = if late {
            (newest - 3_600_000_000, newest - 1)
        } else {
            (newest + 1, newest + RUN.as_micros() as i64)
        };
        let batches = arrivals(more.frame(), start, end, store.inputs().len());
        run(name, store, batches);
    }
}

fn run(name: &str, store: FrameStore, batches: Vec<Batch>) {
    let settings = Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: Arc::new(Config::builtin().unwrap()),
        color: true,
    };
    let mut h = Harness::new(store, settings, 120, 40).with_workers();
    h.state.follow_inputs();
    h.send(Action::Loaded(IngestMsgBox(IngestMsg::LoadFinished)));
    h.wait_idle();
    h.draw();
    let (gen0, rows0) = (h.state.frame_gen, h.state.total());

    let mut keys = Samples(Vec::new());
    let mut ticks = Samples(Vec::new());
    let mut results = Samples(Vec::new());
    let mut draws = Samples(Vec::new());
    let mut commits_took = Samples(Vec::new());
    let mut last_commit_gen = h.state.frame_gen;
    let mut detections = 0;
    let mut last_detection = h.state.detection.last_start;
    let batch_every = Duration::from_secs_f64(BATCH as f64 / RATE as f64);
    let started = Instant::now();
    let (mut next_batch, mut next_tick, mut next_key) =
        (started, started + TICK, started + KEY_EVERY);
    let mut batches = batches.into_iter();
    let mut pressed: Vec<Instant> = Vec::new();
    let mut last_draw = Instant::now();
    let mut dirty = false;
    let mut n_keys = 0usize;
    while started.elapsed() < RUN {
        let now = Instant::now();
        while now >= next_batch {
            if let Some(batch) = batches.next() {
                h.send(Action::Loaded(IngestMsgBox(IngestMsg::BatchLoaded(batch))));
            }
            next_batch += batch_every;
            dirty = true;
        }
        if now >= next_tick {
            let t = Instant::now();
            h.send(Action::Tick);
            ticks.0.push(t.elapsed());
            next_tick += TICK;
            dirty = true;
        }
        if now >= next_key {
            // Up and down at the newest rows, and now and then to the pivot and back.
            let key = match n_keys % 20 {
                18 => KeyCode::Char('2'),
                19 => KeyCode::Char('1'),
                n if n % 2 == 0 => KeyCode::Char('k'),
                _ => KeyCode::Char('j'),
            };
            h.key(key);
            n_keys += 1;
            pressed.push(next_key);
            next_key += KEY_EVERY;
            dirty = true;
        }
        let t = Instant::now();
        if h.pump(Duration::ZERO) > 0 {
            results.0.push(t.elapsed());
            dirty = true;
        }
        if h.state.frame_gen != last_commit_gen {
            last_commit_gen = h.state.frame_gen;
            commits_took.0.extend(h.state.last_commit.take());
        }
        if h.state.detection.last_start != last_detection {
            detections += 1;
            last_detection = h.state.detection.last_start;
        }
        if dirty && last_draw.elapsed() >= FRAME {
            let t = Instant::now();
            h.draw();
            let drawn = Instant::now();
            draws.0.push(drawn - t);
            keys.0.extend(pressed.drain(..).map(|p| drawn - p));
            last_draw = drawn;
            dirty = false;
        }
        let mut next = next_batch.min(next_tick).min(next_key);
        if dirty {
            next = next.min(last_draw + FRAME);
        }
        // Wait for what falls due next, or for a job's result (applied at once, as the
        // loop wakes for it).
        while Instant::now() < next {
            let t = Instant::now();
            if h.pump(Duration::ZERO) > 0 {
                results.0.push(t.elapsed());
                dirty = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(300));
        }
    }
    let commits = h.state.frame_gen - gen0;
    let arrived = h.state.total() - rows0;
    println!(
        "{name}: {arrived} events arrived and committed in {commits} commits, \
         {detections} detection runs, frame {} events",
        h.state.total()
    );
    keys.line(&format!("{name}: key, pressed -> drawn"));
    ticks.line(&format!(
        "{name}: tick (starting a commit or a detection run)"
    ));
    commits_took.line(&format!("{name}: commit, on its worker"));
    results.line(&format!("{name}: job results applied"));
    draws.line(&format!("{name}: draw"));
}
