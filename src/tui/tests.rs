//! `update` fed actions directly, no terminal and no data: stale results are dropped,
//! effects are what `tui/mod.rs` needs, the filter bar edits by characters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Effect};
use super::app::update;
use super::drill::finding_filter;
use super::jobs::{Done, Slot, ViewRows};
use super::keymap::Command;
use super::state::View;
use super::state::{AppState, Cursor, Overlay, Settings};
use crate::detectors::{Finding, Severity};
use crate::store::FrameStore;

fn state() -> AppState {
    let settings = Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: Arc::new(crate::config::Config::default()),
        color: true,
    };
    AppState::new(FrameStore::new(), settings)
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn slots(effects: &[Effect]) -> Vec<Slot> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Run(job) | Effect::Prefetch(job) => Some(job.slot()),
            _ => None,
        })
        .collect()
}

#[test]
fn starting_asks_for_the_view_and_the_detectors() {
    let mut s = state();
    let effects = s.start();
    assert_eq!(slots(&effects), [Slot::View, Slot::Detect]);
    assert!(s.view_pending());
}

#[test]
fn a_stale_view_result_is_dropped() {
    let mut s = state();
    let _ = s.start();
    let stale = ViewRows {
        version: s.events.requested + 7,
        frame_gen: s.frame_gen,
        rows: None,
        matching: 42,
        first: None,
        last: None,
        filter_text: String::new(),
        anchored: None,
    };
    let version = stale.version;
    let effects = update(
        &mut s,
        Action::Computed(Done::ViewComputed(Ok(stale), version)),
    );
    assert!(effects.is_empty());
    assert_eq!(s.events.matching, 0);
    assert!(s.view_pending());
}

#[test]
fn typing_in_the_filter_bar_asks_for_a_new_view_each_time() {
    let mut s = state();
    let _ = s.start();
    let _ = update(&mut s, Action::Do(Command::OpenFilter));
    let mut views = 0;
    for c in "admin é".chars() {
        views += slots(&update(&mut s, key(KeyCode::Char(c))))
            .iter()
            .filter(|s| **s == Slot::View)
            .count();
    }
    assert_eq!(views, 7, "one latest-wins view job per key");
    let _ = update(&mut s, key(KeyCode::Left));
    let _ = update(&mut s, key(KeyCode::Backspace));
    let Some(Overlay::Filter(edit)) = &s.overlay else {
        panic!("the bar is open")
    };
    assert_eq!(edit.text, "adminé", "characters, not bytes");
    assert_eq!(edit.cursor, 5);
    let _ = update(&mut s, key(KeyCode::Char(' ')));
    let effects = update(&mut s, key(KeyCode::Char('(')));
    assert!(s.filter.error.is_some());
    assert!(slots(&effects).is_empty(), "an invalid filter runs nothing");
    let _ = update(&mut s, key(KeyCode::Esc));
    assert!(s.overlay.is_none());
    assert_eq!(s.filter.text, "");
    assert!(s.filter.error.is_none());
}

#[test]
fn quitting_and_signals_end_in_the_quit_effect() {
    for action in [
        Action::Do(Command::Quit),
        Action::Terminate,
        Action::TerminalLost,
        Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        key(KeyCode::Char('q')),
    ] {
        let mut s = state();
        let effects = update(&mut s, action);
        assert!(matches!(effects.as_slice(), [Effect::Quit]), "{effects:?}");
        assert!(s.quitting);
    }
    // While typing a filter, q is a letter.
    let mut s = state();
    let _ = update(&mut s, Action::Do(Command::OpenFilter));
    let _ = update(&mut s, key(KeyCode::Char('q')));
    assert!(!s.quitting);
}

#[test]
fn views_cycle_and_esc_goes_back_to_the_events() {
    let mut s = state();
    let _ = update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.view, View::Pivot);
    let _ = update(&mut s, key(KeyCode::BackTab));
    let _ = update(&mut s, key(KeyCode::BackTab));
    assert_eq!(s.view, View::Incidents);
    let _ = update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.view, View::Events);
    let _ = update(&mut s, key(KeyCode::Char('?')));
    assert!(matches!(s.overlay, Some(Overlay::Help { .. })));
    let _ = update(&mut s, key(KeyCode::Esc));
    assert!(s.overlay.is_none());
}

#[test]
fn the_cursor_stays_in_range_and_on_screen() {
    let mut c = Cursor {
        page: 10,
        ..Cursor::default()
    };
    c.move_by(25, 100);
    assert_eq!((c.selected, c.offset), (25, 16));
    c.move_by(-1000, 100);
    assert_eq!((c.selected, c.offset), (0, 0));
    c.move_by(i64::MAX / 4, 100);
    assert_eq!((c.selected, c.offset), (99, 90));
    c.clamp(5);
    assert_eq!((c.selected, c.offset), (4, 0));
    c.move_by(3, 0);
    assert_eq!((c.selected, c.offset), (0, 0));
}

#[test]
fn a_finding_filters_to_its_event_ids() {
    let mut finding = Finding {
        rule: "r".into(),
        title: "t".into(),
        severity: Severity::High,
        time: None,
        actor: "alice smith".into(),
        provider: "aws".into(),
        event_ids: vec!["e-1".into(), "e 2".into()],
        rows: vec![],
        count: 2,
        reason: String::new(),
        mitre: vec![],
    };
    assert_eq!(
        finding_filter(&finding),
        r#"provider:aws event_id in (e-1, "e 2")"#
    );
    finding.event_ids.clear();
    assert_eq!(finding_filter(&finding), r#"actor:"alice smith""#);
}

#[test]
fn a_selected_record_is_read_on_a_worker_and_a_stale_one_is_dropped() {
    use super::pretty_json::pretty;
    let mut s = state();
    let _ = s.start();
    // No view yet: nothing is selected, nothing is read.
    let _ = update(&mut s, Action::Resize(100, 40));
    assert_eq!(s.detail.frame_row, None);
    // A record arriving for a row no longer selected is dropped.
    s.detail.frame_row = Some(3);
    let effects = update(
        &mut s,
        Action::Computed(Done::RecordRead {
            row: 2,
            epoch: 0,
            result: Ok(pretty(br#"{"a":1}"#)),
        }),
    );
    assert!(effects.is_empty());
    assert!(s.detail.record.is_empty());
    let _ = update(
        &mut s,
        Action::Computed(Done::RecordRead {
            row: 3,
            epoch: 0,
            result: Ok(pretty(br#"{"a":1}"#)),
        }),
    );
    assert_eq!(s.detail.record.len(), 3);
    let _ = update(
        &mut s,
        Action::Computed(Done::RecordRead {
            row: 3,
            epoch: 0,
            result: Err("gone".into()),
        }),
    );
    assert_eq!(s.detail.error.as_deref(), Some("gone"));
    // Row 3 read before the rows moved held another event: dropped.
    s.detail.rows_epoch = 1;
    s.detail.error = None;
    let _ = update(
        &mut s,
        Action::Computed(Done::RecordRead {
            row: 3,
            epoch: 0,
            result: Err("of another event".into()),
        }),
    );
    assert_eq!(s.detail.error, None);
}

/// A batch of `n` AWS events of input 0, the `i`th at `first + i` seconds.
fn arrivals(first: i64, n: usize) -> crate::load::pipeline::Batch {
    use crate::schema::{Event, EventBatch, RawSpan};
    let mut events = EventBatch::with_capacity("arrivals", n);
    for i in 0..n {
        let event = Event {
            provider: "aws",
            time: Some((first + i as i64) * 1_000_000),
            ..Event::default()
        };
        let span = RawSpan {
            offset: (first as u64) * 1_000 + i as u64,
            len: 2,
            line: i as u64,
        };
        events.push(&event, b"{}", span, false);
    }
    let fingerprints = events.fingerprints().to_vec();
    crate::load::pipeline::Batch {
        input: 0,
        frame: events.into_frame().unwrap(),
        fingerprints,
        staged: Vec::new(),
        kept: Vec::new(),
    }
}

fn loaded(batch: crate::load::pipeline::Batch) -> Action {
    Action::Loaded(super::action::IngestMsgBox(
        crate::load::pipeline::IngestMsg::BatchLoaded(batch),
    ))
}

/// Runs the view jobs among `effects` and applies their results (a commit waits for the
/// view of the last one).
fn run_views(s: &mut AppState, effects: Vec<Effect>) {
    for effect in effects {
        if let Effect::Run(job) = effect
            && job.slot() == Slot::View
        {
            let more = update(s, Action::Computed(super::jobs::run(job)));
            run_views(s, more);
        }
    }
}

/// Takes the commit job out of `effects`, leaving the rest.
fn commit_job(effects: &mut Vec<Effect>) -> Option<super::jobs::Job> {
    let at = effects
        .iter()
        .position(|e| matches!(e, Effect::Run(job) if job.slot() == Slot::Commit))?;
    match effects.remove(at) {
        Effect::Run(job) => Some(job),
        _ => None,
    }
}

#[test]
fn arrivals_are_committed_on_a_worker_while_keys_are_answered() {
    use super::state::LoadPhase;
    let mut s = state();
    let _ = s.start();
    // The load ends: its events are committed on a worker, and the status bar says
    // "loaded" only once they are in the table.
    let _ = update(&mut s, loaded(arrivals(0, 3)));
    let finished = crate::load::pipeline::IngestMsg::LoadFinished;
    let mut effects = update(
        &mut s,
        Action::Loaded(super::action::IngestMsgBox(finished)),
    );
    let job = commit_job(&mut effects).expect("the load's last commit goes to a worker");
    assert_eq!(
        s.phase,
        LoadPhase::Loading,
        "not loaded before its events are in"
    );
    assert_eq!(s.store.frame().height(), 0);
    let effects = update(&mut s, Action::Computed(super::jobs::run(job)));
    run_views(&mut s, effects);
    assert_eq!(s.phase, LoadPhase::Loaded);
    assert_eq!(s.store.frame().height(), 3);
    let gen_before = s.frame_gen;

    // Events arrive while following; a tick starts their commit on a worker and the UI
    // thread goes on with the frame it has: a key moves the cursor meanwhile, and more
    // events appended meanwhile wait for the next commit.
    s.follow_inputs();
    let _ = update(&mut s, loaded(arrivals(10, 4)));
    let mut job = None;
    for _ in 0..8 {
        let mut effects = update(&mut s, Action::Tick);
        job = commit_job(&mut effects);
        if job.is_some() {
            break;
        }
    }
    let job = job.expect("a tick starts the commit");
    assert!(s.store.is_committing());
    assert_eq!(
        s.store.frame().height(),
        3,
        "the frame stays until the commit is done"
    );
    let _ = update(&mut s, loaded(arrivals(20, 2)));
    let effects = update(&mut s, Action::Tick);
    assert!(
        !slots(&effects).contains(&Slot::Commit),
        "one commit at a time"
    );
    let _ = update(&mut s, key(KeyCode::Up));
    let _ = update(&mut s, Action::Computed(super::jobs::run(job)));
    assert_eq!(s.store.frame().height(), 7);
    assert!(s.frame_gen > gen_before, "the views follow the new frame");
    assert!(s.store.needs_commit(), "the events appended meanwhile wait");
    let (events, duplicates, rejected) = s.store.totals();
    assert_eq!((events, duplicates, rejected), (9, 0, 0));
}
