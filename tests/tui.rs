//! The terminal UI: every view rendered on the bundled sample (insta snapshots at 80x24 and
//! 120x40, and a 20x5 terminal that must not panic), escaping of hostile log content, state
//! changes through `update`, and the real binary in a pseudo-terminal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use crossterm::event::KeyCode;
use polars::prelude::*;
use trailscope::analysis;
use trailscope::analysis::filter::{self, FilterContext};
use trailscope::detectors::{Finding, Severity};
use trailscope::schema::{ACTION, ACTOR, EVENT_ID, PROVIDER, TIME};
use trailscope::store::FrameStore;
use trailscope::tui::jobs::{Done, FindingsRun};
use trailscope::tui::state::Overlay;
use trailscope::tui::views::thousands;
use trailscope::tui::{Action, Command, Harness, Settings, View};

use crate::util::{load, load_names, sample_logs};

mod access;
mod export;
mod follow;
mod hostile;
mod incidents;
mod keystrokes;
mod places;
mod pty;
mod record;
mod saved;
mod values;

fn settings() -> Settings {
    Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: Arc::new(trailscope::config::Config::builtin().expect("config")),
        color: true,
    }
}

/// The bundled sample, loaded as the CLI does.
fn sample() -> FrameStore {
    // Relative (tests run in the package directory), so record titles do not name the checkout.
    assert!(sample_logs().is_dir());
    load_names(&["sample-logs".to_string()])
}

fn harness(width: u16, height: u16) -> Harness {
    let mut h = Harness::new(sample(), settings(), width, height);
    let findings = demo_findings(&h);
    set_findings(&mut h, findings);
    h
}

fn text_of(frame: &DataFrame, column: &str, row: usize) -> String {
    frame
        .column(column)
        .and_then(|c| c.get(row))
        .map(|v| v.str_value().into_owned())
        .unwrap_or_default()
}

/// Two findings over real rows of the sample: the first events of its busiest actor.
fn demo_findings(h: &Harness) -> Vec<Finding> {
    let frame = h.state.store.frame();
    let actor = analysis::value_counts(frame, ACTOR, 1).expect("counts")[0]
        .0
        .clone();
    let rows: Vec<u32> = (0..frame.height())
        .filter(|&r| text_of(frame, ACTOR, r) == actor)
        .take(3)
        .map(|r| r as u32)
        .collect();
    let time = |r: u32| -> Option<i64> {
        match frame.column(TIME).ok()?.get(r as usize).ok()? {
            AnyValue::Datetime(v, _, _) => Some(v),
            _ => None,
        }
    };
    let ids: Vec<String> = rows
        .iter()
        .map(|&r| text_of(frame, EVENT_ID, r as usize))
        .collect();
    vec![
        Finding {
            rule: "demo-burst".into(),
            title: "Demo burst".into(),
            severity: Severity::High,
            time: time(rows[0]),
            actor: actor.clone(),
            provider: text_of(frame, PROVIDER, rows[0] as usize),
            event_ids: ids.clone(),
            rows: rows.clone(),
            count: rows.len() as u64,
            reason: "three events in a row from the busiest actor".into(),
            mitre: vec!["T1078".into()],
        },
        Finding {
            rule: "demo-single".into(),
            title: "Demo single".into(),
            severity: Severity::Medium,
            time: time(rows[1]),
            actor,
            provider: text_of(frame, PROVIDER, rows[1] as usize),
            event_ids: ids[1..2].to_vec(),
            rows: rows[1..2].to_vec(),
            count: 1,
            reason: "one event".into(),
            mitre: vec![],
        },
    ]
}

fn set_findings(h: &mut Harness, findings: Vec<Finding>) {
    let frame_gen = h.state.frame_gen;
    h.send(Action::Computed(Done::FindingsFound {
        frame_gen,
        result: Ok(FindingsRun::new(findings, &jiff::tz::TimeZone::UTC)),
    }));
}

/// The count of events a filter selects, computed by the library (not the TUI).
fn count(frame: &DataFrame, text: &str) -> usize {
    let expr = filter::compile_str(
        text,
        &FilterContext::for_frame(frame, jiff::tz::TimeZone::UTC),
    )
    .expect("filter");
    frame
        .clone()
        .lazy()
        .filter(expr)
        .collect()
        .expect("filter")
        .height()
}

fn status_line(screen: &str) -> String {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Snapshots of every view
// ---------------------------------------------------------------------------------------

fn open(h: &mut Harness, view: &str) {
    match view {
        "events" => {}
        "record" => h.key(KeyCode::Enter),
        "pivot" => h.command(Command::OpenView(View::Pivot)),
        "timeline" => h.command(Command::OpenView(View::Timeline)),
        "identities" => h.command(Command::OpenView(View::Identities)),
        "findings" => h.command(Command::OpenView(View::Findings)),
        "help" => h.key(KeyCode::Char('?')),
        "filter_error" => {
            h.key(KeyCode::Char('/'));
            h.type_text("actor:alice and (");
        }
        other => panic!("unknown view {other}"),
    }
}

/// What each view's snapshot shows, by the name `open` takes.
const SNAPSHOT_NAMES: [(&str, &str); 8] = [
    (
        "events",
        "events_view_lists_the_sample_with_the_record_of_the_selected_row",
    ),
    (
        "record",
        "record_view_pretty_prints_the_selected_events_original_record",
    ),
    ("pivot", "pivot_view_counts_actors_by_action_busiest_first"),
    (
        "timeline",
        "timeline_view_draws_a_lane_per_actor_with_findings_marked",
    ),
    (
        "identities",
        "identities_view_ranks_identities_by_events_with_their_flags",
    ),
    ("findings", "findings_view_lists_findings_most_severe_first"),
    ("help", "help_lists_every_key_binding_by_view"),
    (
        "filter_error",
        "filter_bar_underlines_the_error_at_its_column",
    ),
];

fn snapshot_name(view: &str) -> &'static str {
    SNAPSHOT_NAMES
        .iter()
        .find(|(v, _)| *v == view)
        .map(|(_, name)| *name)
        .unwrap_or("unnamed_view")
}

const VIEWS: [&str; 8] = [
    "events",
    "record",
    "pivot",
    "timeline",
    "identities",
    "findings",
    "help",
    "filter_error",
];

#[test]
fn every_view_renders_the_sample_at_80x24_120x40_and_160x45() {
    for (w, h) in [(80u16, 24u16), (120, 40), (160, 45)] {
        for view in VIEWS {
            let mut harness = harness(w, h);
            open(&mut harness, view);
            let screen = harness.screen();
            insta::assert_snapshot!(format!("{}_at_{w}x{h}", snapshot_name(view)), screen);
        }
    }
}

#[test]
fn a_20x5_terminal_and_resizes_never_panic() {
    let mut h = harness(120, 40);
    for view in VIEWS {
        h.send(Action::Do(Command::OpenView(View::Events)));
        h.state.overlay = None;
        open(&mut h, view);
        for (w, ht) in [(20, 5), (1, 1), (0, 0), (5, 20), (200, 3), (20, 5)] {
            h.resize(w, ht);
            h.screen();
            for command in [
                Command::GoBottom,
                Command::PageBy(1),
                Command::ScrollBy(-3),
                Command::MoveColumn(5),
            ] {
                h.command(command);
                h.screen();
            }
        }
        h.resize(20, 5);
        insta::assert_snapshot!(
            format!("{}_squeezed_into_20x5", snapshot_name(view)),
            h.screen()
        );
        h.resize(120, 40);
    }
}

#[test]
fn flagged_rows_stand_out_in_the_events_table_and_on_the_timeline() {
    let mut h = harness(120, 40);
    // Go to the first event behind the first finding (the view is the frame, in order).
    let first = h.state.findings.list[0].rows[0] as i32;
    h.command(Command::ScrollBy(first));
    let screen = h.screen();
    let flagged = h
        .state
        .events
        .window
        .iter()
        .filter(|r| r.flag.is_some())
        .count();
    assert!(flagged >= 1, "{screen}");
    assert!(screen.lines().any(|l| l.starts_with('!')), "{screen}");
    let row = h
        .state
        .events
        .window
        .iter()
        .position(|r| r.flag == Some(Severity::High))
        .expect("high row");
    let buffer = h.draw().buffer().clone();
    let cell = &buffer[(2, 2 + row as u16)];
    assert_eq!(cell.fg, ratatui::style::Color::Red, "flagged rows are red");
    h.command(Command::OpenView(View::Timeline));
    let view = h.state.timeline.result.as_ref().expect("timeline");
    assert!(
        view.marks.iter().any(|m| !m.is_empty()),
        "the finding is marked on its lane"
    );
    assert!(h.screen().contains(" !"), "a lane with a finding is marked");
}

#[test]
fn the_timeline_shown_follows_each_detection_run() {
    let mut h = harness(120, 40);
    h.command(Command::OpenView(View::Timeline));
    let marked = |h: &Harness| {
        h.state
            .timeline
            .result
            .as_ref()
            .expect("timeline")
            .marks
            .iter()
            .any(|m| !m.is_empty())
    };
    assert!(marked(&h), "the findings are marked");
    let found = h.state.findings.list.to_vec();
    let frame_gen = h.state.frame_gen;
    let tz = jiff::tz::TimeZone::UTC;
    // A run that finds nothing: the timeline on screen loses its marks (it is computed again
    // with the new findings, not marked in place).
    h.send(Action::Computed(Done::FindingsFound {
        frame_gen,
        result: Ok(FindingsRun::new(Vec::new(), &tz)),
    }));
    h.settle();
    assert!(!marked(&h), "no findings, no marks");
    assert!(!h.screen().contains(" !"), "{}", h.screen());
    h.send(Action::Computed(Done::FindingsFound {
        frame_gen,
        result: Ok(FindingsRun::new(found, &tz)),
    }));
    h.settle();
    assert!(marked(&h), "marked again");
    assert!(h.screen().contains(" !"), "{}", h.screen());
}

// ---------------------------------------------------------------------------------------
// Hostile content
// ---------------------------------------------------------------------------------------

#[test]
fn escape_sequences_in_log_fields_are_shown_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("evil.ndjson");
    let record = serde_json::json!({
        "@timestamp": 1709546400000i64,
        "_document_id": "ZXZpbC1yZWNvcmQtMDAwMQ",
        "action": "repo.create\u{1b}[2J",
        "actor": "\u{1b}]0;pwned\u{7}evil",
        "actor_ip": "203.0.113.9",
        "created_at": 1709546400000i64,
        "org": "example-org",
        "repo": "example-org/x",
        "user_agent": "\u{1b}[31mred"
    });
    std::fs::write(&path, format!("{record}\n")).expect("write");
    let store = load(&[&path]);
    assert_eq!(store.frame().height(), 1, "the record loads");
    let mut h = Harness::new(store, settings(), 120, 40);
    h.command(Command::ChooseColumns);
    h.state.overlay = None;
    h.state.events.columns = vec![TIME, ACTOR, ACTION, trailscope::schema::USER_AGENT];
    h.send(Action::Resize(160, 40));
    h.resize(160, 40);
    for view in [
        View::Events,
        View::Detail,
        View::Pivot,
        View::Timeline,
        View::Identities,
    ] {
        if view == View::Detail {
            h.command(Command::OpenView(View::Events));
            h.command(Command::DrillDown);
        } else {
            h.command(Command::OpenView(view));
        }
        let buffer = h.draw().buffer().clone();
        for cell in buffer.content() {
            assert!(
                !cell.symbol().chars().any(|c| c.is_control()),
                "a control character reached the screen in {view:?}: {:?}",
                cell.symbol()
            );
        }
        let screen = h.screen();
        // In the record the escape is the JSON text `\u001b`, harmless; in cells, `\e`.
        let shown = if view == View::Detail {
            "\\u001b]0;pwned\\u0007evil"
        } else {
            "\\e]0;pwned\\u{7}evil"
        };
        assert!(screen.contains(shown), "{view:?}:\n{screen}");
        if view == View::Events {
            assert!(screen.contains("repo.create\\e[2J"), "{screen}");
            assert!(screen.contains("\\e[31mred"), "{screen}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// State: actions fed to update, no terminal
// ---------------------------------------------------------------------------------------

#[test]
fn typing_a_filter_updates_the_count_live_and_errors_point_at_their_column() {
    let mut h = harness(120, 40);
    let total = h.state.total();
    assert_eq!(h.state.events.matching, total);
    h.key(KeyCode::Char('/'));
    h.type_text("outcome:failure");
    let expected = count(h.state.store.frame(), "outcome:failure");
    assert!(expected > 0 && expected < total);
    assert_eq!(h.state.events.matching, expected, "applied while typing");
    assert!(status_line(&h.screen()).starts_with(&format!(
        "{} / {} events",
        thousands(expected as u64),
        thousands(total as u64)
    )));
    h.type_text(" (");
    let error = h
        .state
        .filter
        .error
        .clone()
        .expect("an open parenthesis is an error");
    assert_eq!(error.span.start, 16);
    assert_eq!(
        h.state.events.matching, expected,
        "the last valid filter stays in effect"
    );
    assert!(h.screen().contains("✗ column 17"));
    h.key(KeyCode::Enter);
    assert!(
        matches!(h.state.overlay, Some(Overlay::Filter(_))),
        "Enter keeps an invalid filter open"
    );
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Enter);
    assert!(h.state.overlay.is_none());
    assert_eq!(h.state.filter.history, ["outcome:failure"]);
    // History: up recalls, Esc restores what was in effect before editing.
    h.command(Command::ClearFilter);
    assert_eq!(h.state.events.matching, total);
    h.key(KeyCode::Char('/'));
    h.key(KeyCode::Up);
    assert_eq!(h.state.events.matching, expected);
    h.key(KeyCode::Esc);
    assert_eq!(h.state.filter.text, "");
    assert_eq!(h.state.events.matching, total);
}

#[test]
fn pivot_enter_drills_down_and_esc_returns() {
    let mut h = harness(120, 40);
    h.key(KeyCode::Char('2'));
    assert_eq!(h.state.view, View::Pivot);
    let pivot = h.state.pivot.result.clone().expect("pivot");
    assert_eq!(pivot.pivot.spec.rows, ACTOR);
    assert_eq!(pivot.pivot.spec.cols.as_deref(), Some(ACTION));
    // Second row, first action column.
    h.key(KeyCode::Char('j'));
    h.key(KeyCode::Char('l'));
    h.key(KeyCode::Enter);
    let cell = pivot.pivot.cell_filter(1, Some(0));
    assert_eq!(h.state.view, View::Events);
    assert_eq!(h.state.filter.text, cell);
    assert_eq!(h.state.events.matching as u64, pivot.pivot.cells[1][0]);
    assert_eq!(h.state.events.matching, count(h.state.store.frame(), &cell));
    h.key(KeyCode::Esc);
    assert_eq!(h.state.view, View::Pivot);
    assert_eq!(h.state.filter.text, "");
    assert_eq!(h.state.events.matching, h.state.total());
    // Picking another row field recomputes the pivot (actor, identity, then action).
    h.key(KeyCode::Char('r'));
    h.key(KeyCode::Char('j'));
    h.key(KeyCode::Char('j'));
    h.key(KeyCode::Enter);
    assert_eq!(
        h.state
            .pivot
            .result
            .as_ref()
            .expect("pivot")
            .pivot
            .spec
            .rows,
        ACTION
    );
}

#[test]
fn sorting_reorders_the_view_and_cycles_off() {
    let mut h = harness(120, 40);
    let first = h.state.events.window[0].cells[0].clone();
    h.command(Command::SortByColumn);
    assert_eq!(
        h.state.events.window[0].cells[0], first,
        "time ascending is the frame's order"
    );
    h.command(Command::SortByColumn);
    let newest = h.state.events.window[0].cells[0].clone();
    assert!(newest > first, "{newest} after {first}");
    let times: Vec<&String> = h.state.events.window.iter().map(|r| &r.cells[0]).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "descending: {times:?}"
    );
    h.command(Command::SortByColumn);
    assert!(h.state.events.sort.is_none());
    assert_eq!(h.state.events.window[0].cells[0], first);
    // Any column: actor (a categorical), both ways, in the order polars sorts its text.
    h.command(Command::MoveColumn(2));
    for descending in [false, true] {
        h.command(Command::SortByColumn);
        let frame = h.state.store.frame().clone();
        let expected: Vec<u32> = frame
            .lazy()
            .with_row_index("row", None)
            .sort_by_exprs(
                [col(ACTOR).cast(DataType::String)],
                SortMultipleOptions::default()
                    .with_order_descending(descending)
                    .with_nulls_last(true)
                    .with_maintain_order(true),
            )
            .select([col("row")])
            .collect()
            .unwrap()
            .column("row")
            .unwrap()
            .idx()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let rows: Vec<u32> = h
            .state
            .events
            .rows
            .as_ref()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(rows, expected, "descending: {descending}");
    }
}

#[test]
fn analyses_are_computed_ahead_of_time_but_not_while_typing() {
    let mut h = harness(120, 40);
    h.defer_prefetch = true;
    h.key(KeyCode::Char('/'));
    h.type_text("outcome:failure");
    assert_eq!(
        h.deferred_jobs(),
        0,
        "nothing is computed ahead while typing"
    );
    h.key(KeyCode::Enter);
    assert_eq!(h.deferred_jobs(), 3, "pivot, timeline and identities");
    let slots: Vec<_> = h.settle().into_iter().map(|(slot, _)| slot).collect();
    assert_eq!(slots.len(), 3, "{slots:?}");
    let version = h.state.events.content;
    for (key, view) in [
        ('2', View::Pivot),
        ('3', View::Timeline),
        ('4', View::Identities),
    ] {
        h.key(KeyCode::Char(key));
        assert_eq!(h.state.view, view);
        assert_eq!(h.deferred_jobs(), 0);
    }
    assert_eq!(h.state.pivot.shown.map(|s| s.0), Some(version));
    assert_eq!(h.state.timeline.shown.map(|s| s.0), Some(version));
    assert_eq!(h.state.identities.shown, Some(version));
    // A sort reorders the events but changes no analysis.
    h.key(KeyCode::Char('1'));
    h.key(KeyCode::Char('o'));
    assert_eq!(h.state.events.sort.map(|s| s.column), Some(TIME));
    assert_eq!(h.deferred_jobs(), 0);
    assert_eq!(h.state.events.content, version);
    let failures = count(h.state.store.frame(), "outcome:failure") as u64;
    assert_eq!(
        h.state.pivot.result.as_ref().map(|p| p.pivot.total),
        Some(failures)
    );
}

#[test]
fn scrolling_is_virtualized_and_clamped() {
    let mut h = harness(120, 40);
    let page = h.state.events.cursor.page;
    assert_eq!(
        h.state.events.window.len(),
        page,
        "only the visible rows are materialized"
    );
    h.command(Command::GoBottom);
    assert_eq!(h.state.events.cursor.selected, h.state.total() - 1);
    assert_eq!(
        h.state.events.window.last().map(|r| r.frame_row as usize),
        Some(h.state.total() - 1)
    );
    h.command(Command::ScrollBy(10));
    assert_eq!(h.state.events.cursor.selected, h.state.total() - 1);
    h.command(Command::PageBy(-1));
    assert_eq!(h.state.events.cursor.selected, h.state.total() - 1 - page);
    h.command(Command::GoTop);
    assert_eq!(
        (h.state.events.cursor.selected, h.state.events.cursor.offset),
        (0, 0)
    );
    // The record pane follows the selection.
    h.command(Command::ScrollBy(1));
    assert_eq!(h.state.detail.frame_row, Some(1));
    assert!(!h.state.detail.record.is_empty());
}

#[test]
fn identities_timeline_and_findings_filter_to_what_is_under_the_cursor() {
    let mut h = harness(120, 40);
    h.command(Command::OpenView(View::Identities));
    let top = h.state.identities.rows[0].clone();
    assert!(
        h.state
            .identities
            .rows
            .windows(2)
            .all(|w| w[0].identity.events >= w[1].identity.events),
        "most active first"
    );
    h.command(Command::DrillDown);
    assert_eq!(h.state.view, View::Events);
    assert_eq!(h.state.events.matching as u64, top.identity.events);
    h.command(Command::GoBack);
    assert_eq!(h.state.view, View::Identities);
    // t: the identity's own timeline, one lane.
    h.key(KeyCode::Char('t'));
    assert_eq!(h.state.view, View::Timeline);
    assert!(
        h.state.filter.text.contains(&top.identity.identity),
        "{}",
        h.state.filter.text
    );
    assert_eq!(h.state.events.matching as u64, top.identity.events);
    h.command(Command::GoBack);
    assert_eq!(h.state.view, View::Identities);
    // Sort by events ascending.
    h.command(Command::MoveColumn(2));
    h.command(Command::SortByColumn);
    assert!(
        h.state
            .identities
            .rows
            .windows(2)
            .all(|w| w[0].identity.events <= w[1].identity.events)
    );

    h.command(Command::OpenView(View::Timeline));
    let lane = h
        .state
        .timeline
        .result
        .as_ref()
        .expect("timeline")
        .timeline
        .lanes[0]
        .clone();
    assert_eq!(
        h.state.timeline.zoom, None,
        "chosen to fit until the user zooms"
    );
    let zoom = h.state.timeline.shown.map(|s| s.1).expect("zoom shown");
    // Enter: the lane's events in the bucket under the cursor (the first).
    h.command(Command::DrillDown);
    assert_eq!(h.state.events.matching as u64, lane.counts[0]);
    h.command(Command::GoBack);
    assert_eq!(h.state.view, View::Timeline);
    // Space marks the first bucket, the cursor goes to the last: Enter takes the whole lane.
    h.key(KeyCode::Char(' '));
    h.command(Command::MoveColumn(100_000));
    h.command(Command::DrillDown);
    assert_eq!(h.state.events.matching as u64, lane.total);
    h.command(Command::GoBack);
    h.command(Command::ZoomOut);
    assert_eq!(h.state.timeline.zoom, Some(zoom + 1));
    let bucket = h
        .state
        .timeline
        .result
        .as_ref()
        .expect("timeline")
        .timeline
        .bucket;
    assert_eq!(
        Some(bucket),
        h.state.timeline.zoom.map(|z| analysis::BUCKETS[z].0)
    );

    h.command(Command::OpenView(View::Findings));
    h.command(Command::DrillDown);
    assert_eq!(h.state.view, View::Events);
    assert_eq!(
        h.state.events.matching, 3,
        "the three events behind the first finding"
    );
}

#[test]
fn columns_can_be_chosen_and_help_lists_every_binding() {
    let mut h = harness(120, 40);
    h.key(KeyCode::Char('c'));
    // Cursor starts on `time`; move to provider and hide it.
    h.key(KeyCode::Char('j'));
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Enter);
    assert!(!h.state.events.columns.contains(&PROVIDER));
    assert_eq!(
        h.state.events.window[0].cells.len(),
        h.state.events.columns.len()
    );
    h.key(KeyCode::Char('?'));
    let screen = h.screen();
    for line in trailscope::tui::keymap::help_lines().iter().take(10) {
        assert!(
            screen.contains(line.description),
            "{} missing:\n{screen}",
            line.description
        );
    }
    h.key(KeyCode::Esc);
    assert!(h.state.overlay.is_none());
    h.key(KeyCode::Char('q'));
    assert!(h.state.quitting);
}

#[test]
fn empty_results_are_said_in_every_view() {
    let mut h = harness(120, 40);
    h.key(KeyCode::Char('/'));
    h.type_text("actor:nobody-at-all");
    h.key(KeyCode::Enter);
    assert_eq!(h.state.events.matching, 0);
    for (view, text) in [
        (View::Events, "no events match the filter"),
        (View::Pivot, "no events match the filter"),
        (View::Timeline, "no events match the filter"),
        (View::Identities, "no identities match the filter"),
    ] {
        h.command(Command::OpenView(view));
        for command in [
            Command::GoBottom,
            Command::DrillDown,
            Command::MoveColumn(1),
        ] {
            h.command(command);
        }
        assert_eq!(h.state.view, view, "Enter on nothing stays");
        let screen = h.screen();
        assert!(screen.contains(text), "{view:?}:\n{screen}");
        let total = thousands(h.state.total() as u64);
        assert!(status_line(&screen).starts_with(&format!("0 / {total} events")));
    }
}

#[test]
fn the_mouse_wheel_scrolls_and_a_click_selects() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut h = harness(120, 40);
    let mouse = |kind, column, row| {
        Action::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: crossterm::event::KeyModifiers::NONE,
        })
    };
    h.send(mouse(MouseEventKind::ScrollDown, 10, 5));
    assert_eq!(h.state.events.cursor.selected, 3);
    // Row 1 is the table header, so screen row 6 is the fifth row shown.
    h.send(mouse(MouseEventKind::Down(MouseButton::Left), 10, 6));
    assert_eq!(h.state.events.cursor.selected, 4);
    assert_eq!(
        h.state.detail.frame_row,
        Some(4),
        "the record follows the click"
    );
    // The wheel over the record pane scrolls the record.
    let pane = h.state.areas().detail.expect("record pane").y + 2;
    h.send(mouse(MouseEventKind::ScrollDown, 10, pane));
    assert_eq!(h.state.detail.scroll, 3);
    // A click on a tab opens it.
    h.send(mouse(MouseEventKind::Down(MouseButton::Left), 14, 0));
    assert_eq!(h.state.view, View::Pivot);
}

#[test]
fn times_are_shown_in_the_display_time_zone() {
    let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let mut h = Harness::new(sample(), Settings { tz, ..settings() }, 120, 40);
    let screen = h.screen();
    // The first event is at 00:00:12 UTC.
    assert!(screen.contains(" 2024-03-04 01:00:12 CET "), "{screen}");
    assert!(status_line(&screen).contains("2024-03-04 01:00:12 CET →"));
}

#[test]
fn no_color_uses_no_colours() {
    let mut h = Harness::new(
        sample(),
        Settings {
            color: false,
            ..settings()
        },
        120,
        40,
    );
    let findings = demo_findings(&h);
    set_findings(&mut h, findings);
    for view in [
        View::Events,
        View::Pivot,
        View::Timeline,
        View::Identities,
        View::Findings,
    ] {
        h.command(Command::OpenView(view));
        let buffer = h.draw().buffer().clone();
        for cell in buffer.content() {
            assert_eq!(cell.fg, ratatui::style::Color::Reset, "{view:?}");
            assert_eq!(cell.bg, ratatui::style::Color::Reset, "{view:?}");
        }
    }
}

#[test]
fn loading_in_the_background_shows_progress_and_answers_keys() {
    use trailscope::load::classify::Classifier;
    use trailscope::load::pipeline::LoadOptions;
    let mut store = FrameStore::new();
    let options = LoadOptions::new(Arc::new(Classifier::builtin().expect("config")));
    let ingest = store.start_load(
        trailscope::load::source::expand(&[sample_logs().display().to_string()]).inputs,
        options,
    );
    let mut h = Harness::new(store, settings(), 100, 30);
    assert!(h.screen().contains("loading"));
    let mut done = false;
    while !done {
        let msg = ingest.receiver.recv().expect("message");
        done = matches!(msg, trailscope::load::pipeline::IngestMsg::LoadFinished);
        h.send(Action::Loaded(trailscope::tui::action::IngestMsgBox(msg)));
        h.send(Action::Tick);
        h.command(Command::ScrollBy(1));
        h.screen();
    }
    ingest.wait_idle();
    assert_eq!(h.state.total(), sample().frame().height());
    assert_eq!(h.state.events.matching, h.state.total());
    assert!(status_line(&h.screen()).contains("loaded"));
}

#[test]
fn zooming_the_timeline_past_the_bucket_limit_shows_the_widened_bucket_and_says_so() {
    let mut h = harness(180, 40);
    h.command(Command::OpenView(View::Timeline));
    for _ in 0..analysis::BUCKETS.len() {
        h.command(Command::ZoomIn);
    }
    let timeline = h.state.timeline.result.as_ref().expect("timeline");
    let bucket = timeline.timeline.bucket;
    let (_, zoom) = h.state.timeline.shown.expect("shown");
    // Three weeks in one-second buckets would be 1.8 million: the bucket was widened, and the
    // zoom level is the one holding it, so zooming out goes on from what is on screen.
    assert!(bucket > analysis::BUCKETS[0].0, "{bucket}");
    assert!(analysis::BUCKETS[zoom].0 >= bucket, "{zoom} {bucket}");
    assert!(zoom == 0 || analysis::BUCKETS[zoom - 1].0 < bucket);
    assert!(timeline.timeline.starts.len() <= analysis::MAX_TIMELINE_BUCKETS);
    let screen = h.screen();
    let label = analysis::bucket_label(bucket);
    assert!(
        status_line(&screen).contains(&format!("finest zoom for this span: {label}")),
        "{screen}"
    );
    // Zooming in further stays there and says why.
    h.command(Command::ZoomIn);
    assert_eq!(h.state.timeline.shown.map(|s| s.1), Some(zoom));
    assert!(h.screen().contains("finest zoom for this span"));
    h.command(Command::ZoomOut);
    let wider = h
        .state
        .timeline
        .result
        .as_ref()
        .expect("timeline")
        .timeline
        .bucket;
    assert!(wider > bucket, "{wider} {bucket}");
}

#[test]
fn the_timeline_groups_lanes_by_identity_and_drills_into_one() {
    let store = load(&[&crate::util::fixture("identity")]);
    let mut h = Harness::new(store, settings(), 160, 40);
    h.command(Command::OpenView(View::Timeline));
    let lanes = |h: &Harness| {
        let t = h.state.timeline.result.as_ref().expect("timeline");
        t.labels
            .iter()
            .cloned()
            .zip(t.timeline.lanes.iter().map(|l| l.total))
            .collect::<Vec<_>>()
    };
    let by_actor = lanes(&h);
    assert!(by_actor.iter().all(|(_, n)| *n < 7), "{by_actor:?}");
    h.key(KeyCode::Char('i'));
    let by_identity = lanes(&h);
    assert_eq!(
        by_identity[0],
        ("dana.smith@corp.example".to_string(), 7),
        "{by_identity:?}"
    );
    let screen = h.screen();
    assert!(screen.contains("dana.smith@corp"), "{screen}");
    assert!(
        screen.contains("Enter events") && screen.contains("i: by actor"),
        "{screen}"
    );
    h.key(KeyCode::Char(' '));
    h.command(Command::MoveColumn(100_000));
    h.command(Command::DrillDown);
    assert_eq!(h.state.view, View::Events);
    assert_eq!(h.state.events.matching, 7);
    assert!(
        h.state.filter.text.contains("identity:"),
        "{}",
        h.state.filter.text
    );
    h.command(Command::GoBack);
    h.key(KeyCode::Char('i'));
    assert_eq!(lanes(&h), by_actor, "back to one lane per actor");
}
