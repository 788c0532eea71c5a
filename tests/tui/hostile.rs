//! Issue 13 in the TUI: random keys, mouse and terminal sizes (0x0 to 1000x1000, during
//! loading too) never panic; a screen smaller than the last resize event draws inside its
//! buffer; a 6 MB record and a record nested 100,000 deep show a bounded, cut record.
//! Cases: `PROPTEST_CASES` (default 64 with a loaded store, 24 while loading).

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use proptest::prelude::*;
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::{Ingest, LoadOptions};
use trailscope::load::source::{self, Origin};
use trailscope::store::FrameStore;
use trailscope::tui::jobs::{self, InputPlace, Job, RecordJob, RecordPlace, Slot};
use trailscope::tui::pretty_json::{MAX_INDENT, SHOWN_BYTES};
use trailscope::tui::{Action, Command, Effect, Harness, View, update};

use super::{sample, settings};
use crate::util::{fixture, load};

/// One thing that can happen to the TUI.
#[derive(Debug, Clone)]
enum Step {
    /// A key, with modifiers.
    Key(KeyCode, KeyModifiers),
    /// The terminal was resized and the event applied.
    Resize(u16, u16),
    /// The terminal was resized; the event is not applied yet.
    ResizeScreenOnly(u16, u16),
    /// A click or a wheel turn somewhere.
    Mouse(MouseEventKind, u16, u16),
    /// Time passed.
    Tick,
    /// News from the loader (up to this many messages).
    Load(u8),
}

fn size() -> impl Strategy<Value = (u16, u16)> {
    prop_oneof![
        4 => (0u16..=40, 0u16..=16),
        2 => (0u16..=1000, 0u16..=1000),
        1 => Just((0, 0)),
        1 => Just((10, 3)),
        1 => Just((400, 120)),
        1 => Just((1000, 1000)),
    ]
}

fn key_code() -> impl Strategy<Value = KeyCode> {
    let named = prop_oneof![
        Just(KeyCode::Enter),
        Just(KeyCode::Esc),
        Just(KeyCode::Tab),
        Just(KeyCode::BackTab),
        Just(KeyCode::Up),
        Just(KeyCode::Down),
        Just(KeyCode::Left),
        Just(KeyCode::Right),
        Just(KeyCode::PageUp),
        Just(KeyCode::PageDown),
        Just(KeyCode::Home),
        Just(KeyCode::End),
        Just(KeyCode::Backspace),
        Just(KeyCode::Delete),
        Just(KeyCode::F(1)),
    ];
    // The keymap's keys, more often than any character.
    let bound = proptest::sample::select(
        "jkhlgGdDuUnN/?cCrRsS+-=123456 \t()\":*q"
            .chars()
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        4 => bound.prop_map(KeyCode::Char),
        3 => named,
        1 => any::<char>().prop_map(KeyCode::Char),
    ]
}

fn step(loading: bool) -> impl Strategy<Value = Step> {
    let modifiers = prop_oneof![
        8 => Just(KeyModifiers::NONE),
        1 => Just(KeyModifiers::CONTROL),
        1 => Just(KeyModifiers::SHIFT),
    ];
    let mouse = prop_oneof![
        Just(MouseEventKind::Down(MouseButton::Left)),
        Just(MouseEventKind::ScrollDown),
        Just(MouseEventKind::ScrollUp),
    ];
    prop_oneof![
        10 => (key_code(), modifiers).prop_map(|(k, m)| Step::Key(k, m)),
        3 => size().prop_map(|(w, h)| Step::Resize(w, h)),
        2 => size().prop_map(|(w, h)| Step::ResizeScreenOnly(w, h)),
        2 => (mouse, 0u16..=1000, 0u16..=1000).prop_map(|(k, x, y)| Step::Mouse(k, x, y)),
        1 => Just(Step::Tick),
        // Without a load under way, a no-op.
        (if loading { 3 } else { 1 }) => (1u8..=8).prop_map(Step::Load),
    ]
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking replays whole sessions; a few hundred are enough to find a small one.
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// The detection fixtures: every provider, findings included, and small, so a case is quick.
fn fixture_inputs() -> Vec<trailscope::load::source::Input> {
    source::expand(&[fixture("detect").display().to_string()]).inputs
}

fn load_options() -> LoadOptions {
    LoadOptions::new(Arc::new(Classifier::builtin().expect("config")))
}

/// Applies a step, then draws (the real loop draws after every burst).
fn apply(h: &mut Harness, step: &Step, ingest: Option<&Ingest>) {
    match step {
        Step::Key(code, modifiers) => h.send(Action::Key(KeyEvent::new(*code, *modifiers))),
        Step::Resize(w, ht) => h.resize(*w, *ht),
        Step::ResizeScreenOnly(w, ht) => h.resize_screen(*w, *ht),
        Step::Mouse(kind, column, row) => h.send(Action::Mouse(MouseEvent {
            kind: *kind,
            column: *column,
            row: *row,
            modifiers: KeyModifiers::NONE,
        })),
        Step::Tick => h.send(Action::Tick),
        Step::Load(n) => {
            if let Some(ingest) = ingest {
                for _ in 0..*n {
                    match ingest.receiver.recv_timeout(Duration::from_secs(10)) {
                        Ok(msg) => {
                            h.send(Action::Loaded(trailscope::tui::action::IngestMsgBox(msg)))
                        }
                        Err(_) => break,
                    }
                }
            }
        }
    }
    h.draw();
}

/// No cell of the screen holds a control character (log content is escaped).
fn assert_no_control_characters(h: &mut Harness) {
    let buffer = h.draw().buffer().clone();
    for cell in buffer.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "{:?}",
            cell.symbol()
        );
    }
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn random_keys_mice_and_sizes_never_panic(
        (w, ht) in size(),
        steps in proptest::collection::vec(step(false), 1..40),
    ) {
        let store = load(&[&fixture("detect")]);
        let mut h = Harness::new(store, settings(), w, ht);
        h.draw();
        for step in &steps {
            apply(&mut h, step, None);
        }
        assert_no_control_characters(&mut h);
    }
}

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn random_keys_and_sizes_while_loading_never_panic(
        (w, ht) in size(),
        steps in proptest::collection::vec(step(true), 1..40),
    ) {
        let mut store = FrameStore::new();
        let ingest = store.start_load(fixture_inputs(), load_options());
        let mut h = Harness::new(store, settings(), w, ht);
        h.draw();
        for step in &steps {
            apply(&mut h, step, Some(&ingest));
        }
        ingest.cancel();
        ingest.wait_idle();
    }
}

// ---------------------------------------------------------------------------------------
// Regressions
// ---------------------------------------------------------------------------------------

#[test]
fn the_load_gauge_and_the_timeline_draw_inside_a_screen_smaller_than_the_last_resize() {
    // While loading, the gauge sits on the bottom rows of the size `update` knows of; a
    // screen that shrank before its resize event arrived used to be indexed outside.
    let mut store = FrameStore::new();
    let ingest = store.start_load(
        source::expand(&[crate::util::sample_logs().display().to_string()]).inputs,
        load_options(),
    );
    let mut h = Harness::new(store, settings(), 400, 120);
    assert!(h.state.areas().gauge.is_some(), "the gauge is shown");
    for round in 0..40u16 {
        let (big, small) = ((400, 120), (10 + round % 3, 3 + round % 2));
        // The screen changes one way while the state still has the other size.
        h.resize_screen(small.0, small.1);
        h.draw();
        h.resize(small.0, small.1);
        h.resize_screen(big.0, big.1);
        h.draw();
        h.resize(big.0, big.1);
        if let Ok(msg) = ingest.receiver.recv_timeout(Duration::from_secs(10)) {
            h.send(Action::Loaded(trailscope::tui::action::IngestMsgBox(msg)));
        }
    }
    ingest.cancel();
    ingest.wait_idle();

    // The timeline writes a cell per bucket across the width the state knows of.
    let mut h = Harness::new(sample(), settings(), 400, 120);
    for view in [
        View::Timeline,
        View::Pivot,
        View::Identities,
        View::Findings,
        View::Events,
    ] {
        h.command(Command::OpenView(view));
        h.resize(400, 120);
        h.resize_screen(30, 5);
        h.draw();
        h.resize_screen(0, 0);
        h.draw();
        h.resize_screen(1000, 1000);
        let screen = h.screen();
        assert!(!screen.trim().is_empty(), "{view:?} draws at 1000x1000");
    }
}

/// A GitHub audit event whose `data` holds about `bytes` of nested objects.
fn big_github_record(bytes: usize) -> String {
    let mut items = Vec::new();
    let mut len = 0;
    let mut i = 0u64;
    while len < bytes {
        let item = format!(r#"{{"name":"item-{i}","value":"\u001b[31m{i}","n":{i}}}"#);
        len += item.len() + 1;
        items.push(item);
        i += 1;
    }
    format!(
        concat!(
            r#"{{"@timestamp":1709546400000,"_document_id":"YmlnLXJlY29yZA","action":"repo.create","#,
            r#""actor":"big-record","actor_ip":"203.0.113.9","created_at":1709546400000,"#,
            r#""org":"example-org","repo":"example-org/x","data":{{"items":[{}]}}}}"#
        ),
        items.join(",")
    )
}

#[test]
fn a_6_mb_record_is_shown_cut_with_a_notice_and_bounded_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.ndjson");
    let record = big_github_record(6_000_000);
    std::fs::write(&path, format!("{record}\n")).expect("write");
    let store = load(&[&path]);
    assert_eq!(store.frame().height(), 1, "the record loads");
    // For the log only (the assertions are on sizes, not on time): the worker's job alone.
    let started = std::time::Instant::now();
    let done = jobs::run(Job::Record(RecordJob::locate(&store, 0, 0)));
    let took = started.elapsed();
    if let jobs::Done::RecordRead {
        result: Ok(pretty), ..
    } = &done
    {
        eprintln!(
            "read and pretty-printed a {} byte record in {took:?}: {} bytes in {} lines",
            record.len(),
            pretty.text_len(),
            pretty.len()
        );
    }
    let mut h = Harness::new(store, settings(), 120, 40);
    h.command(Command::DrillDown);
    assert_eq!(h.state.view, View::Detail);
    let detail = &h.state.detail;
    assert!(detail.error.is_none(), "{:?}", detail.error);
    assert!(
        detail.record.text_len() <= SHOWN_BYTES,
        "pretty output bounded: {} bytes",
        detail.record.text_len()
    );
    // Lines of about 40 bytes: a bounded number of them, not 6 MB worth.
    assert!(
        detail.record.len() < SHOWN_BYTES / 8,
        "{}",
        detail.record.len()
    );
    let cut = detail.record.cut().expect("the record is cut");
    assert_eq!(cut.total, record.len() as u64);
    assert!(cut.shown < cut.total / 10, "{cut:?}");
    let screen = h.screen();
    assert!(screen.contains("… record cut after"), "{screen}");
    assert!(screen.contains("of 5.7 MB"), "{screen}");
    assert!(screen.contains("the whole record is in"), "{screen}");
    assert!(
        screen.contains("\\u001b[31m"),
        "escaped as JSON text: {screen}"
    );
    // The end of what is shown can be scrolled to, and the notice stays.
    h.command(Command::GoBottom);
    let screen = h.screen();
    assert!(screen.contains("… record cut after"), "{screen}");
    assert_no_control_characters(&mut h);
}

#[test]
fn selecting_a_row_asks_a_worker_for_its_record() {
    let mut h = Harness::new(sample(), settings(), 120, 40);
    let effects = update(&mut h.state, Action::Do(Command::ScrollBy(1)));
    let record_jobs: Vec<_> = effects
        .iter()
        .filter(|e| matches!(e, Effect::Run(job) if job.slot() == Slot::Record))
        .collect();
    assert_eq!(record_jobs.len(), 1, "{effects:?}");
    assert!(
        h.state.detail.record.is_empty(),
        "nothing is read on the UI thread"
    );
}

/// How the loader would find a file again.
fn origin_of(path: &std::path::Path) -> Origin {
    let input = source::expand(&[path.display().to_string()])
        .inputs
        .pop()
        .expect("input");
    source::open(&input).expect("open").origin
}

#[test]
fn a_record_nested_100_000_deep_is_shown_bounded_in_the_record_pane() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("deep.json");
    let depth = 100_000;
    let raw = format!("{{\"a\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
    std::fs::write(&path, &raw).expect("write");
    let mut h = Harness::new(sample(), settings(), 120, 40);
    h.command(Command::DrillDown);
    let row = h.state.detail.frame_row.expect("a row is selected");
    // The loader refuses records this deep; the pane must cope with one all the same.
    let job = RecordJob {
        row,
        epoch: h.state.rows_moved_at,
        place: Ok(RecordPlace::Input(InputPlace {
            input: path.display().to_string(),
            origin: origin_of(&path),
            offset: 0,
            len: raw.len() as u32,
        })),
    };
    let done = jobs::run(Job::Record(job));
    h.send(Action::Computed(done));
    let record = &h.state.detail.record;
    assert!(record.text_len() <= SHOWN_BYTES);
    assert!(record.cut().is_some());
    let widest = record
        .plain_lines()
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!(
        widest <= MAX_INDENT * 2 + 8,
        "indentation is capped: {widest}"
    );
    let screen = h.screen();
    assert!(screen.contains("\"a\": ["), "{screen}");
    assert!(screen.contains("… record cut after"), "{screen}");
    for _ in 0..50 {
        h.command(Command::PageBy(1));
    }
    h.command(Command::GoBottom);
    h.screen();
}
