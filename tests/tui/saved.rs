//! Saved views in the TUI, through `update` and the drawn screen: `s` saves the state
//! (name, then note), a view opened from the list (`v`) shows the same tab, filter and rows,
//! `:save`/`:view` do the same from the command line, and the list renames and deletes.

use std::path::Path;

use crossterm::event::KeyCode;
use trailscope::detectors::Severity;
use trailscope::tui::{Harness, View};
use trailscope::views::{Locations, ViewAnalysis, ViewLibrary};

use super::{count, harness};

/// A library reading and saving only `file`.
fn library(file: &Path) -> ViewLibrary {
    let (library, problems) = ViewLibrary::load_from(Locations {
        user: None,
        project: file.with_file_name("no-project.toml"),
        explicit: Some(file.to_path_buf()),
    });
    assert!(problems.is_empty(), "{problems:?}");
    library
}

fn open(file: &Path) -> Harness {
    let mut h = harness(120, 40);
    h.state.library = library(file);
    h
}

fn filter(h: &mut Harness, text: &str) {
    h.key(KeyCode::Char('/'));
    // The bar opens on the current filter: replace it.
    h.send(trailscope::tui::Action::Key(
        crossterm::event::KeyEvent::new(
            KeyCode::Char('u'),
            crossterm::event::KeyModifiers::CONTROL,
        ),
    ));
    h.type_text(text);
    h.key(KeyCode::Enter);
}

/// The rows of the events table as drawn (the lines between the tabs and the record pane).
fn table(h: &mut Harness) -> Vec<String> {
    let screen = h.screen();
    screen
        .lines()
        .skip(1)
        .take(15)
        .map(str::to_string)
        .collect()
}

/// Presses `v`, moves to `name` and presses `key` on it.
fn in_list(h: &mut Harness, name: &str, key: KeyCode) {
    h.key(KeyCode::Char('v'));
    let names: Vec<String> = h
        .state
        .library
        .list()
        .iter()
        .map(|v| v.name.clone())
        .collect();
    let at = names.iter().position(|n| n == name).expect("listed");
    for _ in 0..at {
        h.key(KeyCode::Down);
    }
    h.key(key);
}

#[test]
fn s_saves_the_state_and_the_list_opens_it_again_with_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("views.toml");
    let mut h = open(&file);
    filter(&mut h, "outcome:failure");
    h.key(KeyCode::Char('o')); // order by the first column (time), ascending
    h.key(KeyCode::Char('o')); // descending
    let rows = table(&mut h);
    let matching = h.state.events.matching;
    assert_eq!(matching, count(h.state.store.frame(), "outcome:failure"));

    h.key(KeyCode::Char('s'));
    assert!(h.screen().contains("save view as:"));
    h.type_text("failures");
    h.key(KeyCode::Enter);
    assert!(h.screen().contains("note for 'failures':"));
    h.type_text("for the ticket");
    h.key(KeyCode::Enter);
    let screen = h.screen();
    assert!(screen.contains("saved view 'failures'"), "{screen}");
    assert!(screen.contains("view failures"), "{screen}");
    assert!(!screen.contains("(changed)"), "{screen}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("[view.failures]"), "{text}");
    assert!(text.contains("note = \"for the ticket\""), "{text}");
    assert!(text.contains("filter = \"outcome:failure\""), "{text}");
    assert!(
        text.contains("sort = { column = \"time\", descending = true }"),
        "{text}"
    );

    // Changing the state marks the view changed.
    filter(&mut h, "outcome:success");
    assert!(h.screen().contains("view failures (changed)"));

    // Tomorrow: a new session opens it from the list.
    let mut h = open(&file);
    assert_ne!(h.state.events.matching, matching);
    in_list(&mut h, "failures", KeyCode::Enter);
    assert_eq!(h.state.view, View::Events);
    assert_eq!(h.state.filter.text, "outcome:failure");
    assert_eq!(h.state.events.matching, matching);
    assert_eq!(table(&mut h), rows);
    let screen = h.screen();
    assert!(
        screen.contains("view failures") && !screen.contains("(changed)"),
        "{screen}"
    );
}

#[test]
fn the_tab_and_its_analysis_are_saved_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("views.toml");
    let mut h = open(&file);
    filter(&mut h, "privileged");
    h.key(KeyCode::Char('2'));
    // Rows: the fourth pivot field (provider).
    h.key(KeyCode::Char('r'));
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    assert_eq!(h.state.pivot.rows, "provider");
    let pivot = h.screen();
    h.key(KeyCode::Char(':'));
    h.type_text("save by-provider");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter); // no note
    let saved = h.state.library.get("by-provider").unwrap().clone();
    let ViewAnalysis::Pivot(spec) = &saved.analysis else {
        panic!("{saved:?}");
    };
    assert_eq!(
        (spec.rows.as_str(), spec.cols.as_deref()),
        ("provider", Some("action"))
    );

    let mut h = open(&file);
    h.key(KeyCode::Char(':'));
    h.type_text("view by-provider");
    h.key(KeyCode::Enter);
    assert_eq!(h.state.view, View::Pivot);
    assert_eq!(h.state.filter.text, "privileged");
    assert_eq!(
        (h.state.pivot.rows, h.state.pivot.cols),
        ("provider", "action")
    );
    let reopened = h.screen();
    // The same pivot (the status bar now names the view).
    let body = |s: &str| s.lines().skip(1).take(20).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&reopened), body(&pivot));

    // A findings view opens the findings tab with its severity.
    let mut h = open(&file);
    h.state.findings.spec.min_severity = Severity::High;
    h.key(KeyCode::Char('5'));
    h.key(KeyCode::Char(':'));
    h.type_text("save high");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("findings = { min_severity = \"high\" }"),
        "{text}"
    );
    let mut h = open(&file);
    let all = h.state.findings.shown.len();
    in_list(&mut h, "high", KeyCode::Enter);
    assert_eq!(h.state.view, View::Findings);
    let shown = &h.state.findings.shown;
    assert!(shown.len() < all, "{} of {all}", shown.len());
    assert!(
        shown
            .iter()
            .all(|&i| h.state.findings.list[i].severity >= Severity::High)
    );
}

#[test]
fn saving_over_another_view_asks_first_and_the_list_renames_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("views.toml");
    let mut h = open(&file);
    for (name, text) in [("first", "actor:alice"), ("second", "actor:bob")] {
        filter(&mut h, text);
        h.key(KeyCode::Char(':'));
        h.type_text(&format!("save {name}"));
        h.key(KeyCode::Enter);
        h.key(KeyCode::Enter);
    }
    // `second` is active: saving it as `first` asks; `n` keeps `first` as it was.
    h.key(KeyCode::Char('s'));
    h.send(trailscope::tui::Action::Key(
        crossterm::event::KeyEvent::new(
            KeyCode::Char('u'),
            crossterm::event::KeyModifiers::CONTROL,
        ),
    ));
    h.type_text("first");
    h.key(KeyCode::Enter);
    assert!(
        h.screen()
            .contains("a view named 'first' exists: replace it? (y/n)")
    );
    h.key(KeyCode::Char('n'));
    assert_eq!(
        h.state.library.get("first").unwrap().view.filter,
        "actor:alice"
    );

    // A built-in cannot be deleted.
    in_list(&mut h, "deletions", KeyCode::Char('d'));
    assert!(h.screen().contains("'deletions' is built in"));
    h.key(KeyCode::Esc);

    in_list(&mut h, "first", KeyCode::Char('r'));
    h.send(trailscope::tui::Action::Key(
        crossterm::event::KeyEvent::new(
            KeyCode::Char('u'),
            crossterm::event::KeyModifiers::CONTROL,
        ),
    ));
    h.type_text("renamed");
    h.key(KeyCode::Enter);
    assert!(h.screen().contains("renamed view 'first' to 'renamed'"));
    h.key(KeyCode::Esc);
    in_list(&mut h, "renamed", KeyCode::Char('d'));
    assert!(h.screen().contains("delete view 'renamed'? (y/n)"));
    h.key(KeyCode::Char('y'));
    assert!(h.screen().contains("deleted view 'renamed'"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("renamed") && !text.contains("first"),
        "{text}"
    );
    assert!(text.contains("[view.second]"), "{text}");
}

#[test]
fn the_views_list_shows_each_view_with_what_it_shows_and_where_it_comes_from() {
    // Beside the other TUI snapshots.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    let mut h = harness(120, 40);
    h.key(KeyCode::Char('v'));
    insta::assert_snapshot!(
        "main__tui__views_list_marks_the_built_in_views_at_120x40",
        h.screen()
    );
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('s'));
    h.resize(80, 24);
    insta::assert_snapshot!(
        "main__tui__save_asks_the_name_in_the_filter_bar_at_80x24",
        h.screen()
    );
}

#[test]
fn a_findings_view_lists_the_findings_with_an_event_its_filter_selects() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("views.toml");
    let h = harness(120, 40);
    // The two demo findings share their second event; only the first has the first event.
    let first = h.state.findings.list[0].event_ids[0].clone();
    let second = h.state.findings.list[1].event_ids[0].clone();
    std::fs::write(
        &file,
        format!(
            "[view.first-only]\nfilter = 'event_id:\"{first}\"'\nfindings = {{ min_severity = \"info\" }}\n\n\
             [view.both]\nfilter = 'event_id:\"{second}\"'\nfindings = {{ min_severity = \"info\" }}\n\n\
             [view.both-medium]\nfilter = 'event_id:\"{second}\"'\nfindings = {{ min_severity = \"medium\", rules = [\"demo-single\"] }}\n"
        ),
    )
    .unwrap();
    let rules = |h: &Harness| -> Vec<String> {
        h.state
            .findings
            .shown
            .iter()
            .map(|&i| h.state.findings.list[i].rule.clone())
            .collect()
    };
    let mut h = open(&file);
    assert_eq!(rules(&h), ["demo-burst", "demo-single"]);
    in_list(&mut h, "first-only", KeyCode::Enter);
    assert_eq!(h.state.view, View::Findings);
    assert_eq!(rules(&h), ["demo-burst"]);
    assert!(h.screen().contains("2 findings, 1 in filter"));
    in_list(&mut h, "both", KeyCode::Enter);
    assert_eq!(rules(&h), ["demo-burst", "demo-single"]);
    in_list(&mut h, "both-medium", KeyCode::Enter);
    assert_eq!(rules(&h), ["demo-single"]);
    // Any filter scopes the list, not only a findings view's (issue 19); without a filter
    // every finding is listed again.
    in_list(&mut h, "deletions", KeyCode::Enter);
    h.key(KeyCode::Char('x'));
    assert_eq!(rules(&h), ["demo-burst", "demo-single"]);
}
