//! A lake read a page at a time (`trailscope --lake DIR --lake-page N`): the pages hold every
//! event the view selects exactly once, in time order, each about a page of them; the TUI
//! turns them with `}` and `{` and shows the page's events and number.

use std::collections::BTreeMap;

use crossterm::event::KeyCode;
use polars::prelude::*;
use trailscope::analysis::ViewSpec;
use trailscope::lake::pages::LakePages;
use trailscope::lake::{query, write};
use trailscope::schema::{EVENT_ID, TIME};
use trailscope::store::FrameStore;
use trailscope::tui::state::LakePaging;
use trailscope::tui::{Command as TuiCommand, Harness, Settings};

use crate::util::{load, sample_logs};

/// Each event id with how many times it is among `frame`'s events.
fn id_counts(frame: &DataFrame) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let ids = frame
        .column(EVENT_ID)
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    for id in ids.str().unwrap().iter() {
        *out.entry(id.unwrap_or_default().to_string()).or_insert(0) += 1;
    }
    out
}

/// The first and last event time of a frame.
fn span(frame: &DataFrame) -> (i64, i64) {
    let times = frame
        .column(TIME)
        .unwrap()
        .as_materialized_series()
        .to_physical_repr();
    let times = times.i64().unwrap();
    (times.min().unwrap(), times.max().unwrap())
}

fn view(filter: &str) -> ViewSpec {
    ViewSpec {
        filter: filter.into(),
        ..ViewSpec::default()
    }
}

#[test]
fn the_pages_of_a_lake_view_hold_each_of_its_events_once_in_time_order() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    // Small row groups, as a large lake's are small against a page.
    write::export_with(&store, None, dir.path(), 16).unwrap();
    for filter in ["", "provider:aws", "outcome:failure or provider:okta"] {
        let (whole, _) = query::load_store(dir.path(), &view(filter)).unwrap();
        let total = whole.frame().height();
        let size = (total / 6).max(1) as u64;
        let pages = LakePages::plan(dir.path(), &view(filter), size).unwrap();
        assert!(
            pages.len() >= 4,
            "{filter}: {total} events in {} pages",
            pages.len()
        );
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut previous_last: Option<i64> = None;
        let mut largest = 0;
        for index in 0..pages.len() {
            let (page, _) = pages.load(index).unwrap();
            let frame = page.frame();
            largest = largest.max(frame.height());
            for (id, n) in id_counts(frame) {
                *seen.entry(id).or_insert(0) += n;
            }
            if frame.height() > 0 {
                let (first, last) = span(frame);
                if let Some(before) = previous_last {
                    assert!(before < first, "{filter}: page {index} goes back in time");
                }
                previous_last = Some(last);
            }
        }
        assert_eq!(seen, id_counts(whole.frame()), "{filter}: every event once");
        // The footers' even spread is an estimate: a page holds about a page of events.
        assert!(
            largest as u64 <= 2 * size,
            "{filter}: a page of {largest} events for pages of {size}"
        );
    }
    // A view that fits is one page, the whole view.
    let pages = LakePages::plan(dir.path(), &view("provider:aws"), 10_000_000).unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages.pages()[0].window, None);
}

fn settings() -> Settings {
    Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: std::sync::Arc::new(trailscope::config::Config::builtin().unwrap()),
        color: true,
    }
}

/// The status line of a screen (its last line).
fn status(screen: &str) -> String {
    screen.lines().last().unwrap_or_default().to_string()
}

#[test]
fn the_tui_turns_a_lakes_pages_with_braces() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    write::export_with(&store, None, dir.path(), 16).unwrap();
    let size = (store.frame().height() / 5) as u64;
    let pages = std::sync::Arc::new(LakePages::plan(dir.path(), &view(""), size).unwrap());
    let count = pages.len();
    let heights: Vec<usize> = (0..count)
        .map(|i| pages.load(i).unwrap().0.frame().height())
        .collect();
    let (first, _) = pages.load(0).unwrap();
    let first: FrameStore = first;
    let mut h = Harness::new(first, settings(), 160, 45);
    h.state.lake = Some(LakePaging {
        pages: std::sync::Arc::clone(&pages),
        current: 0,
        reading: None,
        since: 0,
    });
    let screen = h.screen();
    assert!(
        status(&screen).contains(&format!("lake page 1/{count}")),
        "{screen}"
    );
    h.command(TuiCommand::TurnLakePage(-1));
    assert!(h.screen().contains("the lake's first page"));
    h.command(TuiCommand::TurnLakePage(1));
    let screen = h.screen();
    assert_eq!(h.state.total(), heights[1]);
    assert!(
        status(&screen).contains(&format!("lake page 2/{count}"))
            && status(&screen).contains(&format!(
                "{} events",
                trailscope::tui::views::thousands(heights[1] as u64)
            )),
        "{screen}"
    );
    // The filter stays as it was across pages, and the rules judged the page shown.
    h.type_text("/provider:aws");
    h.key(KeyCode::Enter);
    h.command(TuiCommand::TurnLakePage(1));
    let page = &h.state.store;
    let aws = query::load_store(dir.path(), &view("provider:aws"))
        .unwrap()
        .0;
    assert_eq!(h.state.filter.text, "provider:aws");
    assert!(h.state.events.matching <= page.frame().height());
    assert!(h.state.events.matching <= aws.frame().height());
    if let Some(findings_gen) = h.state.findings.frame_gen {
        assert!(findings_gen >= h.state.lake.as_ref().unwrap().since);
    }
    // To the end and back to the start.
    for _ in 0..count + 2 {
        h.command(TuiCommand::TurnLakePage(1));
    }
    assert!(status(&h.screen()).contains(&format!("lake page {count}/{count}")));
    assert_eq!(h.state.total(), heights[count - 1]);
    h.command(TuiCommand::TurnLakePage(-(count as i32)));
    assert_eq!(h.state.total(), heights[0]);
    assert!(status(&h.screen()).contains(&format!("lake page 1/{count}")));
}

/// The record of the selected row, read now (as the worker would).
fn record_now(h: &Harness) -> trailscope::tui::pretty_json::PrettyRecord {
    use trailscope::tui::jobs::{Done, Job, RecordJob, run};
    let row = h.state.detail.frame_row.expect("a row is selected");
    let job = RecordJob::locate(&h.state.store, row, h.state.rows_moved_at);
    match run(Job::Record(job)) {
        Done::RecordRead { result, .. } => result.expect("the record is readable"),
        _ => unreachable!("a record job reads a record"),
    }
}

#[test]
fn a_record_read_for_the_page_before_is_not_shown_on_the_next() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    write::export_with(&store, None, dir.path(), 16).unwrap();
    let size = (store.frame().height() / 5) as u64;
    let pages = std::sync::Arc::new(LakePages::plan(dir.path(), &view(""), size).unwrap());
    let mut h = Harness::new(pages.load(0).unwrap().0, settings(), 160, 45);
    h.state.lake = Some(LakePaging {
        pages: std::sync::Arc::clone(&pages),
        current: 0,
        reading: None,
        since: 0,
    });
    h.key(KeyCode::Enter);
    assert!(!h.state.detail.record.is_empty(), "{}", h.screen());
    // A read of the first page's selected record still on its way when the page turns ...
    let row = h.state.detail.frame_row.unwrap();
    let first = record_now(&h);
    let stale = trailscope::tui::jobs::run(trailscope::tui::jobs::Job::Record(
        trailscope::tui::jobs::RecordJob::locate(&h.state.store, row, h.state.rows_moved_at),
    ));
    h.command(TuiCommand::TurnLakePage(1));
    assert!(status(&h.screen()).contains("lake page 2/"));
    assert_eq!(h.state.detail.frame_row, Some(row), "the same row number");
    let second = record_now(&h);
    assert_ne!(
        first, second,
        "row {row} holds another event on the next page"
    );
    assert_eq!(h.state.detail.record, second);
    // ... arrives after it: the second page's event keeps its own record.
    h.send(trailscope::tui::Action::Computed(stale));
    assert_eq!(h.state.detail.record, second);
}
