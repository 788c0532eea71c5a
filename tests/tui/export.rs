//! Exporting from the TUI (`e`, `:export FILE`): the report holds exactly what the view
//! selects, in the format the file's extension names, written while the UI keeps working.

use crossterm::event::KeyCode;

use super::{count, harness};

/// Presses `e`, replaces the offered file name with `path` and presses Enter.
fn export(h: &mut trailscope::tui::Harness, path: &str) {
    h.key(KeyCode::Char('e'));
    let screen = h.screen();
    assert!(screen.contains("export report to"), "{screen}");
    assert!(screen.contains("trailscope-report.html"), "{screen}");
    for _ in 0.."trailscope-report.html".len() {
        h.key(KeyCode::Backspace);
    }
    h.type_text(path);
    h.key(KeyCode::Enter);
}

#[test]
fn e_exports_the_filtered_view_as_csv_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(160, 45);
    h.key(KeyCode::Char('/'));
    h.type_text("outcome:failure");
    h.key(KeyCode::Enter);
    let matching = h.state.events.matching;
    assert_eq!(matching, count(h.state.store.frame(), "outcome:failure"));
    assert!(matching > 0);

    let csv = dir.path().join("failures.csv");
    export(&mut h, csv.to_str().unwrap());
    let screen = h.screen();
    assert!(
        screen.contains(&format!("{matching} of {matching} matching events")),
        "{screen}"
    );
    let rows = csv::Reader::from_path(&csv).unwrap().records().count();
    assert_eq!(rows, matching);

    let html = dir.path().join("failures.html");
    h.key(KeyCode::Char(':'));
    h.type_text(&format!("export {}", html.display()));
    h.key(KeyCode::Enter);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("outcome:failure"),
        "the view's filter is in the report"
    );
    assert!(page.contains("<svg"), "with its timeline");

    // A name that says no format is refused, and nothing is written.
    let odd = dir.path().join("failures.txt");
    export(&mut h, odd.to_str().unwrap());
    assert!(h.screen().contains("cannot tell the format"));
    assert!(!odd.exists());
}
