//! Follow mode through `update`, with no terminal: events arriving after the initial load
//! (fed to the TUI as the follower sends them) show up at the bottom while the table sticks
//! to it, leave the user's place alone when they scrolled up, and a new finding is announced
//! once and flagged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::KeyCode;
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::{IngestMsg, LoadOptions, Notice};
use trailscope::load::source;
use trailscope::schema::{ACTOR, EVENT_ID};
use trailscope::store::FrameStore;
use trailscope::tui::action::IngestMsgBox;
use trailscope::tui::follow::DETECT_EVERY;
use trailscope::tui::{Action, Harness};

use super::{settings, status_line, text_of};

/// One Kubernetes audit event at `minute` past 2024-03-04T10:00Z.
pub(super) fn k8s_event(
    id: &str,
    minute: u32,
    user: &str,
    verb: &str,
    subresource: &str,
) -> String {
    let subresource = if subresource.is_empty() {
        String::new()
    } else {
        format!(r#","subresource":"{subresource}""#)
    };
    format!(
        concat!(
            r#"{{"apiVersion":"audit.k8s.io/v1","auditID":"{id}","kind":"Event","level":"Metadata","#,
            r#""objectRef":{{"apiVersion":"v1","name":"web-1","namespace":"shop","resource":"pods"{sub}}},"#,
            r#""requestReceivedTimestamp":"2024-03-04T{h:02}:{m:02}:00Z","requestURI":"/api/v1/namespaces/shop/pods","#,
            r#""responseStatus":{{"code":200}},"sourceIPs":["10.0.0.9"],"stage":"ResponseComplete","#,
            r#""stageTimestamp":"2024-03-04T{h:02}:{m:02}:00.1Z","user":{{"username":"{user}"}},"#,
            r#""userAgent":"kubectl/v1.29.2","verb":"{verb}"}}"#,
            "\n"
        ),
        id = id,
        sub = subresource,
        h = 10 + minute / 60,
        m = minute % 60,
        user = user,
        verb = verb,
    )
}

/// `n` ordinary events from `first` minutes on, their ids `{prefix}-{i}`.
pub(super) fn ordinary(prefix: &str, first: u32, n: u32) -> String {
    (0..n)
        .map(|i| {
            k8s_event(
                &format!("{prefix}-{i}"),
                first + i,
                &format!("{prefix}-user-{i}"),
                "get",
                "",
            )
        })
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// Reads a file as the follower would send it: its batches (and, for the initial load,
/// `LoadFinished`) go to the TUI as they arrive.
fn feed(h: &mut Harness, path: &Path, initial: bool) {
    let options = LoadOptions::new(Arc::new(Classifier::builtin().expect("config")));
    let inputs = source::expand(&[path.display().to_string()]).inputs;
    let ingest = h.state.store.start_load(inputs, options);
    loop {
        let msg = ingest.receiver.recv().expect("message");
        let finished = matches!(msg, IngestMsg::LoadFinished);
        if finished && !initial {
            break;
        }
        h.send(Action::Loaded(IngestMsgBox(msg)));
        if finished {
            break;
        }
    }
    ingest.wait_idle();
}

/// A second passes: four ticks, after which appended events are committed.
fn a_second_passes(h: &mut Harness) {
    for _ in 0..4 {
        h.send(Action::Tick);
    }
}

/// The detectors last started long enough ago to run again (the cadence's clock, moved
/// instead of sleeping).
fn detection_is_due(h: &mut Harness) {
    if let Some(t) = h.state.detection.last_start.as_mut() {
        *t -= DETECT_EVERY;
    }
}

/// A following TUI over `initial`, loaded.
fn following(dir: &Path, initial: &str, width: u16, height: u16) -> Harness {
    let mut h = Harness::new(FrameStore::new(), settings(), width, height);
    h.state.follow_inputs();
    let path = write(dir, "initial.log", initial);
    feed(&mut h, &path, true);
    h
}

/// The event id of the selected row.
fn selected_id(h: &Harness) -> String {
    let row = h.state.selected_row().expect("a selected row") as usize;
    text_of(h.state.store.frame(), EVENT_ID, row)
}

/// The screen line of the selected row within the table.
fn selected_line(h: &Harness) -> usize {
    h.state.events.cursor.selected - h.state.events.cursor.offset
}

#[test]
fn following_sticks_to_the_newest_event_as_events_arrive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = following(dir.path(), &ordinary("old", 0, 40), 120, 30);
    let screen = h.screen();
    assert!(status_line(&screen).contains("following"), "{screen}");
    assert_eq!(h.state.events.matching, 40);
    assert_eq!(selected_id(&h), "old-39", "starts at the newest event");

    for round in 0..3u32 {
        let name = format!("new-{round}");
        let path = write(
            dir.path(),
            &format!("{name}.log"),
            &ordinary(&name, 100 + round * 10, 5),
        );
        feed(&mut h, &path, false);
        a_second_passes(&mut h);
        let screen = h.screen();
        assert_eq!(h.state.events.matching, 40 + 5 * (round as usize + 1));
        assert_eq!(selected_id(&h), format!("{name}-4"), "{screen}");
        assert!(screen.contains(&format!("{name}-user-4")), "{screen}");
        assert!(status_line(&screen).contains("following"), "{screen}");
        assert!(status_line(&screen).contains("events/s"), "{screen}");
    }
    // The rate counts what arrived after the initial load.
    assert!(h.state.follow.shown_rate > 0.0);
}

#[test]
fn scrolled_up_the_selection_stays_on_its_event_as_events_arrive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = following(dir.path(), &ordinary("old", 100, 40), 120, 30);
    for _ in 0..5 {
        h.key(KeyCode::Char('k'));
    }
    let kept = selected_id(&h);
    assert_eq!(kept, "old-34");
    let line = selected_line(&h);
    assert!(status_line(&h.screen()).contains("paused"));

    // Later events: appended after every row.
    let path = write(dir.path(), "later.log", &ordinary("later", 200, 6));
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    assert_eq!(h.state.events.matching, 46);
    assert_eq!(selected_id(&h), kept);
    assert_eq!(selected_line(&h), line, "on the same screen line");
    let screen = h.screen();
    assert!(status_line(&screen).contains("paused"), "{screen}");
    assert!(
        !screen.contains("later-user-5"),
        "the newest are below: {screen}"
    );

    // Earlier events: the frame is re-sorted by time and every row moves down.
    let path = write(dir.path(), "earlier.log", &ordinary("earlier", 0, 7));
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    assert_eq!(h.state.events.matching, 53);
    assert_eq!(selected_id(&h), kept, "the same event, at a new row");
    assert_eq!(h.state.events.cursor.selected, 34 + 7);
    assert_eq!(selected_line(&h), line);

    // F: to the newest event, and sticking to it.
    h.key(KeyCode::Char('F'));
    assert_eq!(selected_id(&h), "later-5");
    assert!(status_line(&h.screen()).contains("following"));
    let path = write(dir.path(), "newest.log", &ordinary("newest", 300, 2));
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    assert_eq!(selected_id(&h), "newest-1");

    // F again: stays put while events arrive.
    h.key(KeyCode::Char('F'));
    assert!(status_line(&h.screen()).contains("paused"));
    let path = write(dir.path(), "more.log", &ordinary("more", 400, 3));
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    assert_eq!(selected_id(&h), "newest-1");

    // Going to the last row sticks again, as in `less +F`.
    h.key(KeyCode::Char('G'));
    assert!(status_line(&h.screen()).contains("following"));
    let path = write(dir.path(), "last.log", &ordinary("last", 500, 1));
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    assert_eq!(selected_id(&h), "last-0");
}

#[test]
fn a_filtered_table_follows_the_newest_matching_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = following(dir.path(), &ordinary("old", 0, 20), 120, 30);
    h.key(KeyCode::Char('/'));
    h.type_text("actor:*-user-1*");
    h.key(KeyCode::Enter);
    let matching = h.state.events.matching;
    assert!(matching > 1);
    assert_eq!(
        text_of(
            h.state.store.frame(),
            ACTOR,
            h.state.selected_row().expect("row") as usize
        ),
        "old-user-19",
        "Enter keeps following: the newest match"
    );
    let path = write(dir.path(), "new.log", &ordinary("new", 100, 12));
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    assert_eq!(selected_id(&h), "new-11");
}

#[test]
fn a_new_finding_is_announced_once_and_its_rows_are_flagged() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A service account opening a shell in a pod: a high finding, already there at the start.
    let mut initial = ordinary("old", 0, 20);
    initial.push_str(&k8s_event(
        "old-exec",
        30,
        "system:serviceaccount:a:ci",
        "create",
        "exec",
    ));
    let mut h = following(dir.path(), &initial, 160, 30);
    let screen = h.screen();
    assert!(
        h.state
            .findings
            .list
            .iter()
            .any(|f| f.rule == "k8s-exec-into-pod"),
        "the loaded finding: {:?}",
        h.state.findings.list
    );
    assert!(
        !status_line(&screen).contains("new high finding"),
        "{screen}"
    );

    // A new one arrives.
    let mut news = ordinary("calm", 40, 3);
    news.push_str(&k8s_event(
        "new-exec",
        50,
        "system:serviceaccount:a:ev",
        "create",
        "exec",
    ));
    let path = write(dir.path(), "news.log", &news);
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    detection_is_due(&mut h);
    h.send(Action::Tick);
    let screen = h.screen();
    let status = status_line(&screen);
    assert!(
        status.contains(
            "⚑ new high finding: Shell or attach into a pod · system:serviceaccount:a:ev"
        ),
        "{screen}"
    );
    // Its row is flagged like the loaded findings' rows (the table sticks to the newest row).
    let row = screen
        .lines()
        .find(|l| l.contains("sa:a/ev") && l.contains("create"))
        .unwrap_or_else(|| panic!("the new event's row: {screen}"));
    assert!(row.starts_with('!'), "{row}");

    // Seen in the findings view, the announcement goes; the next runs find the same
    // findings and announce nothing again.
    h.key(KeyCode::Char('5'));
    h.key(KeyCode::Char('1'));
    let path = write(dir.path(), "calm.log", &ordinary("calmer", 60, 3));
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    detection_is_due(&mut h);
    h.send(Action::Tick);
    assert!(!h.state.findings.running);
    let screen = h.screen();
    assert!(
        !status_line(&screen).contains("new high finding"),
        "{screen}"
    );
    assert_eq!(h.state.follow.announced, 1);
}

#[test]
fn detection_reruns_on_a_cadence_one_run_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = following(dir.path(), &ordinary("old", 0, 10), 120, 30);
    let started = h.state.detection.last_start.expect("the detectors ran");
    // Events arrive and are committed: the detectors wait for their cadence.
    let path = write(dir.path(), "a.log", &ordinary("a", 100, 2));
    feed(&mut h, &path, false);
    a_second_passes(&mut h);
    assert_eq!(h.state.events.matching, 12);
    assert_eq!(h.state.detection.last_start, Some(started));
    assert!(h.state.detection.wanted);
    // Once due, one run over everything that arrived.
    detection_is_due(&mut h);
    h.send(Action::Tick);
    assert!(!h.state.detection.wanted);
    assert!(h.state.detection.last_start > Some(started - DETECT_EVERY));
    // Nothing new: no run.
    let last = h.state.detection.last_start;
    detection_is_due(&mut h);
    h.send(Action::Tick);
    assert_eq!(
        h.state.detection.last_start.map(|t| t + DETECT_EVERY),
        last,
        "not started again"
    );
}

#[test]
fn input_news_is_shown_in_the_status_bar() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = following(dir.path(), &ordinary("old", 0, 5), 120, 30);
    for what in ["rotated: reading the new file from its start", "deleted"] {
        h.send(Action::Loaded(IngestMsgBox(IngestMsg::InputNotice(
            Notice {
                name: "/var/log/audit\u{1b}[2J.log".into(),
                what: what.into(),
            },
        ))));
    }
    let screen = h.screen();
    let status = status_line(&screen);
    assert!(
        status.contains("⚠ /var/log/audit\\e[2J.log: deleted (2 notices)"),
        "{screen}"
    );
    // At 80 columns the news still fits (the time range gives way).
    h.resize(80, 24);
    let screen = h.screen();
    assert!(
        status_line(&screen).contains("⚠ /var/log/audit"),
        "{screen}"
    );
}

#[test]
fn f_outside_follow_mode_says_how_to_follow() {
    let mut h = Harness::new(super::sample(), settings(), 180, 30);
    let before = h.state.events.cursor.selected;
    h.key(KeyCode::Char('F'));
    assert_eq!(h.state.events.cursor.selected, before);
    let screen = h.screen();
    assert!(
        status_line(&screen).contains("start trailscope with -f"),
        "{screen}"
    );
}
