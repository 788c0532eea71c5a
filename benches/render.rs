//! render: the TUI over 1,000,000 CloudTrail events, drawn on ratatui's `TestBackend` at
//! 120x40. Each measurement is a keypress applied through `update` with its jobs run inline
//! (filter, sort, pivot, timeline, actors on the calling thread) plus one draw; scrolling
//! is one row per redraw, and resident memory is read before and after 1,000 scroll steps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use trailscope::config::Config;
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::store::FrameStore;
use trailscope::synth;
use trailscope::tui::jobs::Slot;
use trailscope::tui::{Command, Harness, Settings, View};

use crate::{data_dir, ensure};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

struct Timings {
    name: String,
    samples: Vec<Duration>,
}

impl Timings {
    fn new(name: &str) -> Timings {
        Timings {
            name: name.to_string(),
            samples: Vec::new(),
        }
    }

    fn time(&mut self, h: &mut Harness, step: impl FnOnce(&mut Harness)) {
        let started = Instant::now();
        step(h);
        h.draw();
        self.samples.push(started.elapsed());
    }

    fn print(&mut self) {
        self.samples.sort();
        let n = self.samples.len().max(1);
        let median = self.samples.get(n / 2).copied().unwrap_or_default();
        let max = self.samples.last().copied().unwrap_or_default();
        println!(
            "{:<50} {:>6} {:>10.2} {:>10.2}",
            self.name,
            self.samples.len(),
            ms(median),
            ms(max)
        );
    }
}

/// Runs the render group.
pub fn bench(events: usize) {
    let dir = data_dir().join(format!("cloudtrail-ndjson-{events}"));
    ensure(synth::Kind::CloudtrailNdjson, &dir, events);
    let inputs = source::expand(&[dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    let store = FrameStore::load(inputs, options).unwrap();
    let loaded = store.frame().height();
    let settings = Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: Arc::new(Config::builtin().unwrap()),
        color: true,
    };
    let started = Instant::now();
    let mut h = Harness::new(store, settings, 120, 40);
    h.draw();
    let first = started.elapsed();
    // Analyses computed ahead of time run on workers in the TUI; here they are kept back and
    // run (untimed) between keypresses, as the workers would while the user reads the screen.
    h.defer_prefetch = true;
    println!("render: {loaded} events, 120x40 TestBackend, keypress = update + jobs inline + draw");
    println!(
        "{:<50} {:>6} {:>10} {:>10}",
        "operation", "runs", "median ms", "max ms"
    );
    println!(
        "{:<50} {:>6} {:>10.2} {:>10.2}",
        "open (view, detectors, 3 analyses inline, draw)",
        1,
        ms(first),
        ms(first)
    );

    // Filter: typing in the filter bar re-filters a million rows on every key.
    h.key(KeyCode::Char('/'));
    h.type_text("outcome:failur");
    let mut filter = Timings::new("filter keypress (outcome:failure <-> failur)");
    for i in 0..20 {
        filter.time(&mut h, |h| {
            h.key(if i % 2 == 0 {
                KeyCode::Char('e')
            } else {
                KeyCode::Backspace
            })
        });
    }
    filter.print();
    h.key(KeyCode::Char('e'));
    h.key(KeyCode::Enter);
    let matching = h.state.events.matching;
    let mut filter = Timings::new("filter keypress (actor:*admin* <-> admin)");
    h.command(Command::ClearFilter);
    h.key(KeyCode::Char('/'));
    h.type_text("actor:*admin");
    for i in 0..20 {
        filter.time(&mut h, |h| {
            h.key(if i % 2 == 0 {
                KeyCode::Char('*')
            } else {
                KeyCode::Backspace
            })
        });
    }
    filter.print();
    h.key(KeyCode::Esc);
    h.command(Command::ClearFilter);

    // Sort: the time column (asc, desc, off) and the actor column, over every row.
    let mut sort_time = Timings::new("sort keypress, time column (asc/desc/off)");
    for _ in 0..9 {
        sort_time.time(&mut h, |h| h.key(KeyCode::Char('o')));
        h.settle();
    }
    sort_time.print();
    h.command(Command::MoveColumn(2));
    let mut sort_actor = Timings::new("sort keypress, actor column (asc/desc/off)");
    for _ in 0..9 {
        sort_actor.time(&mut h, |h| h.key(KeyCode::Char('o')));
        h.settle();
    }
    sort_actor.print();
    h.command(Command::MoveColumn(-2));

    // View changes. After a filter change the three analyses are computed on workers (timed
    // here one by one); a view key pressed before its analysis is done redraws at once with
    // "counting…", and after it is done shows the result.
    let names = ["pivot", "timeline", "actors", "events"];
    let mut running: Vec<Timings> = names
        .iter()
        .map(|v| Timings::new(&format!("view keypress, {v} (analysis still running)")))
        .collect();
    let mut ready: Vec<Timings> = names
        .iter()
        .map(|v| Timings::new(&format!("view keypress, {v} (analysis done)")))
        .collect();
    let mut worker: Vec<Timings> = names[..3]
        .iter()
        .map(|v| Timings::new(&format!("worker: {v} after a filter change")))
        .collect();
    let ctrl_u = || {
        trailscope::tui::Action::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('u'),
            crossterm::event::KeyModifiers::CONTROL,
        ))
    };
    for round in 0..6 {
        h.key(KeyCode::Char('/'));
        h.send(ctrl_u());
        h.type_text(if round % 2 == 0 {
            "outcome:success"
        } else {
            "outcome:failure"
        });
        h.key(KeyCode::Enter);
        for (i, key) in ['2', '3', '4', '1'].into_iter().enumerate() {
            running[i].time(&mut h, |h| h.key(KeyCode::Char(key)));
        }
        for (slot, took) in h.settle() {
            let i = match slot {
                Slot::Pivot => 0,
                Slot::Timeline => 1,
                _ => 2,
            };
            worker[i].samples.push(took);
        }
        for (i, key) in ['2', '3', '4', '1'].into_iter().enumerate() {
            ready[i].time(&mut h, |h| h.key(KeyCode::Char(key)));
        }
    }
    for t in running
        .iter_mut()
        .chain(ready.iter_mut())
        .chain(worker.iter_mut())
    {
        t.print();
    }
    h.command(Command::OpenView(View::Events));
    h.command(Command::ClearFilter);

    // Scrolling, with the record pane following the selection.
    let mut scroll = Timings::new("scroll one row (j) + redraw, record pane on");
    for _ in 0..50 {
        scroll.time(&mut h, |h| h.command(Command::ScrollBy(1)));
    }
    let before = rss_mb();
    for _ in 0..1000 {
        scroll.time(&mut h, |h| h.command(Command::ScrollBy(1)));
    }
    let after = rss_mb();
    scroll.print();
    let mut page = Timings::new("scroll one page (PgDn) + redraw");
    for _ in 0..200 {
        page.time(&mut h, |h| h.command(Command::PageBy(1)));
    }
    page.print();
    println!(
        "resident memory: {before:.1} MB before 1,000 scroll steps, {after:.1} MB after ({:+.1} MB)",
        after - before
    );
    workflow_keys(&mut h);
    println!("(outcome:failure matched {matching} events)");
}

/// The investigation keys of issue 19: a value under the cursor narrows the filter (`,`) and
/// Esc puts the place back; columns resized; the timeline's bucket cursor, its drill-down and
/// back; a time-range jump and back.
fn workflow_keys(h: &mut Harness) {
    h.command(Command::OpenView(View::Events));
    h.command(Command::ClearFilter);
    h.command(Command::MoveColumn(2));
    let mut narrow = Timings::new("narrow to the actor under the cursor (,)");
    let mut back = Timings::new("back (Esc) with every place restored");
    for _ in 0..10 {
        narrow.time(h, |h| h.key(KeyCode::Char(',')));
        h.settle();
        back.time(h, |h| h.key(KeyCode::Esc));
        h.settle();
        h.command(Command::ScrollBy(37));
    }
    narrow.print();
    back.print();
    let mut resize = Timings::new("resize a column (< and >)");
    for i in 0..20 {
        resize.time(h, |h| {
            h.key(KeyCode::Char(if i % 2 == 0 { '>' } else { '<' }))
        });
    }
    resize.print();
    h.command(Command::OpenView(View::Timeline));
    h.settle();
    let mut bucket = Timings::new("timeline: move the bucket cursor");
    for _ in 0..40 {
        bucket.time(h, |h| h.key(KeyCode::Right));
    }
    bucket.print();
    let mut drill = Timings::new("timeline: Enter (lane and bucket), then Esc");
    for _ in 0..5 {
        drill.time(h, |h| h.key(KeyCode::Enter));
        h.settle();
        drill.time(h, |h| h.key(KeyCode::Esc));
        h.settle();
    }
    drill.print();
    h.command(Command::OpenView(View::Events));
    let mut range = Timings::new("time range (t 1h Enter), then Esc");
    for _ in 0..5 {
        h.key(KeyCode::Char('t'));
        h.type_text("1h");
        range.time(h, |h| h.key(KeyCode::Enter));
        h.settle();
        range.time(h, |h| h.key(KeyCode::Esc));
        h.settle();
    }
    range.print();
}
