//! The record view (tabs, search, wrap, horizontal scroll, its keys) and the TUI bugs of
//! issue 19 (column chooser, pivot fields, unknown keys, filter history, word keys in the
//! filter line, `--tz` time widths in findings).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;
use trailscope::schema::{ACTOR, DETAILS, RESOURCE, SESSION, SOURCE};
use trailscope::tui::record::RecordTab;
use trailscope::tui::state::{Overlay, PIVOT_FIELDS};
use trailscope::tui::{Action, Command, Harness, Settings, View};

use super::{harness, sample, settings, status_line, text_of};

/// The record view of the first event the first demo finding cites.
fn record_of_finding(width: u16, height: u16) -> Harness {
    let mut h = harness(width, height);
    let row = h.state.findings.list[0].rows[0] as i32;
    h.command(Command::ScrollBy(row));
    h.key(KeyCode::Enter);
    assert_eq!(h.state.view, View::Detail);
    h
}

fn press(h: &mut Harness, code: KeyCode, modifiers: KeyModifiers) {
    h.send(Action::Key(KeyEvent::new(code, modifiers)));
}

/// The record view's bottom border (the search line).
fn bottom_border(screen: &str) -> String {
    screen
        .lines()
        .rev()
        .find(|l| l.starts_with('└'))
        .unwrap_or_default()
        .to_string()
}

/// Snapshots beside the others, in `tests/snapshots`.
macro_rules! snapshot {
    ($name:expr, $screen:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots"}, {
            insta::assert_snapshot!($name, $screen);
        })
    };
}

#[test]
fn record_view_tabs_and_search_at_80x24_and_160x45() {
    for (w, ht) in [(80u16, 24u16), (160, 45)] {
        let mut h = record_of_finding(w, ht);
        snapshot!(
            format!("record_view_shows_the_original_record_with_its_tabs_at_{w}x{ht}"),
            h.screen()
        );
        h.key(KeyCode::Tab);
        assert_eq!(h.state.record.tab, RecordTab::Fields);
        snapshot!(
            format!("record_view_fields_tab_lists_every_normalized_column_at_{w}x{ht}"),
            h.screen()
        );
        h.key(KeyCode::Tab);
        assert_eq!(h.state.record.tab, RecordTab::Findings);
        snapshot!(
            format!("record_view_findings_tab_lists_the_findings_citing_the_event_at_{w}x{ht}"),
            h.screen()
        );
        h.key(KeyCode::Tab);
        assert_eq!(h.state.record.tab, RecordTab::Original);
        h.key(KeyCode::Char('/'));
        h.type_text("sync");
        h.key(KeyCode::Enter);
        h.key(KeyCode::Char('n'));
        snapshot!(
            format!("record_view_search_highlights_matches_and_counts_them_at_{w}x{ht}"),
            h.screen()
        );
    }
}

#[test]
fn record_keys_search_step_wrap_scroll_and_close() {
    let mut h = record_of_finding(80, 24);
    let filter_before = h.state.filter.text.clone();
    // `/` searches the record, not the global filter.
    h.key(KeyCode::Char('/'));
    assert!(h.state.overlay.is_none(), "no filter bar");
    h.type_text("a");
    let total = h.state.record.search.as_ref().unwrap().matches.len();
    assert!(total > 2, "{total} matches of 'a'");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.state.filter.text, filter_before,
        "the filter is untouched"
    );
    let border = bottom_border(&h.screen());
    assert!(border.contains(&format!("/a  1/{total}")), "{border}");
    // Matches are highlighted (reverse), the current one underlined too.
    let buffer = h.draw().buffer().clone();
    let (mut current, mut others) = (String::new(), 0);
    for y in 2..buffer.area.height.saturating_sub(3) {
        for x in 1..buffer.area.width.saturating_sub(1) {
            let cell = &buffer[(x, y)];
            if cell
                .modifier
                .contains(Modifier::REVERSED | Modifier::UNDERLINED)
            {
                current.push_str(cell.symbol());
            } else if cell.modifier.contains(Modifier::REVERSED) {
                others += 1;
            }
        }
    }
    assert_eq!(current.to_lowercase(), "a", "one current match");
    assert!(
        others > 0,
        "the other matches on screen are highlighted too"
    );
    // n and N step through the matches and wrap around.
    h.key(KeyCode::Char('n'));
    h.key(KeyCode::Char('n'));
    assert!(bottom_border(&h.screen()).contains(&format!("3/{total}")));
    h.key(KeyCode::Char('N'));
    h.key(KeyCode::Char('N'));
    h.key(KeyCode::Char('N'));
    let border = bottom_border(&h.screen());
    assert!(border.contains(&format!("{total}/{total}")), "{border}");
    // A search for what is not there says so.
    h.key(KeyCode::Char('/'));
    press(&mut h, KeyCode::Char('u'), KeyModifiers::CONTROL);
    h.type_text("zzqqxx");
    assert!(bottom_border(&h.screen()).contains("no match"));
    h.key(KeyCode::Esc);
    assert!(h.state.record.search.is_none(), "Esc drops the search");
    assert_eq!(h.state.view, View::Detail, "and keeps the record open");

    // Without wrap, → scrolls long lines sideways; with wrap, they continue below.
    h.command(Command::MoveColumn(1));
    assert_eq!(h.state.record.hscroll, 8);
    let scrolled = h.screen();
    h.command(Command::MoveColumn(-1));
    assert_ne!(scrolled, h.screen(), "the lines moved left");
    h.key(KeyCode::Char('w'));
    assert!(h.state.record.wrap);
    h.key(KeyCode::Char('w'));
    assert!(!h.state.record.wrap);

    // The fields tab has a cursor whose field and value the value keys act on.
    h.key(KeyCode::Tab);
    let frame_row = h.state.detail.frame_row.unwrap() as usize;
    let actor_at = h
        .state
        .record
        .fields
        .iter()
        .position(|f| f.field == ACTOR)
        .unwrap();
    h.command(Command::ScrollBy(actor_at as i32));
    let actor = text_of(h.state.store.frame(), ACTOR, frame_row);
    assert_eq!(
        h.state.record.value_under_cursor(),
        Some((ACTOR.to_string(), Some(actor)))
    );

    // q and Esc close the record; neither quits.
    h.key(KeyCode::Char('q'));
    assert_eq!(h.state.view, View::Events);
    assert!(
        !h.state.quitting,
        "q closes the record, not the application"
    );
    h.key(KeyCode::Enter);
    assert_eq!(h.state.view, View::Detail);
    h.key(KeyCode::Esc);
    assert_eq!(h.state.view, View::Events);
    assert!(!h.state.quitting);
}

#[test]
fn wrapped_records_show_the_end_of_long_lines() {
    let mut h = record_of_finding(40, 24);
    h.key(KeyCode::Tab);
    let cut = h.screen();
    h.key(KeyCode::Char('w'));
    let wrapped = h.screen();
    // The event id is longer than 40 columns less the field names: only wrap shows its end.
    let id = h
        .state
        .record
        .fields
        .iter()
        .find(|f| f.field == trailscope::schema::EVENT_ID)
        .and_then(|f| f.value.clone())
        .unwrap();
    let end: String = id
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(!cut.contains(&end) || id.len() < 20, "{cut}");
    assert!(wrapped.contains(&end), "{wrapped}");
}

// ---------------------------------------------------------------------------------------
// The TUI bugs of issue 19
// ---------------------------------------------------------------------------------------

#[test]
fn column_chooser_space_toggles_enter_keeps_esc_cancels() {
    let mut h = harness(120, 40);
    let before = h.state.events.columns.clone();
    h.key(KeyCode::Char('c'));
    // Go to a column not shown and toggle it on with Space.
    let Some(Overlay::Columns { cursor, .. }) = h.state.overlay.clone() else {
        panic!("the chooser is open");
    };
    let hidden = trailscope::schema::EVENT_COLUMNS
        .iter()
        .position(|c| !before.contains(c))
        .unwrap();
    for _ in cursor..hidden {
        h.key(KeyCode::Down);
    }
    for _ in hidden..cursor {
        h.key(KeyCode::Up);
    }
    h.key(KeyCode::Char(' '));
    let column = trailscope::schema::EVENT_COLUMNS[hidden];
    assert!(h.state.events.columns.contains(&column), "Space toggles");
    assert!(h.state.overlay.is_some(), "Space keeps the chooser open");
    // Esc puts the columns back.
    h.key(KeyCode::Esc);
    assert!(h.state.overlay.is_none());
    assert_eq!(h.state.events.columns, before, "Esc cancels");
    // Enter keeps the choice (and does not toggle).
    h.key(KeyCode::Char('c'));
    for _ in cursor..hidden {
        h.key(KeyCode::Down);
    }
    for _ in hidden..cursor {
        h.key(KeyCode::Up);
    }
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Enter);
    assert!(h.state.overlay.is_none(), "Enter confirms");
    assert!(
        h.state.events.columns.contains(&column),
        "and keeps the choice"
    );
    assert!(h.screen().contains(column), "the column is shown");
}

#[test]
fn the_pivot_picker_offers_resource_source_session_and_details_and_each_pivots() {
    for field in [RESOURCE, SOURCE, SESSION, DETAILS] {
        let at = PIVOT_FIELDS.iter().position(|f| *f == field);
        assert!(at.is_some(), "{field} is offered");
        let mut h = harness(120, 40);
        h.command(Command::OpenView(View::Pivot));
        h.key(KeyCode::Char('r'));
        let Some(Overlay::PickField { cursor, .. }) = h.state.overlay.clone() else {
            panic!("the picker is open");
        };
        let at = at.unwrap();
        for _ in cursor..at {
            h.key(KeyCode::Down);
        }
        for _ in at..cursor {
            h.key(KeyCode::Up);
        }
        h.key(KeyCode::Enter);
        assert_eq!(h.state.pivot.rows, field);
        let pivot = h.state.pivot.result.as_ref().expect("pivoted");
        assert_eq!(pivot.pivot.spec.rows, field);
        assert!(!pivot.row_labels.is_empty(), "{field} has rows");
        let screen = h.screen();
        assert!(screen.contains(field), "{field}:\n{screen}");
        // Enter on the first row narrows the events to it.
        h.key(KeyCode::Enter);
        assert_eq!(h.state.view, View::Events);
        assert!(
            h.state.filter.text.contains(field),
            "{}",
            h.state.filter.text
        );
        assert!(h.state.filter.error.is_none());
        assert!(h.state.events.matching > 0, "{field}: the row's events");
    }
}

#[test]
fn unknown_keys_say_where_help_is() {
    let mut h = harness(120, 40);
    h.key(KeyCode::Char('Z'));
    let status = status_line(&h.screen());
    assert!(status.contains("unknown key Z: ? for help"), "{status}");
    // The next key that does something clears it.
    h.key(KeyCode::Down);
    assert!(!h.screen().contains("unknown key"));
}

#[test]
fn filter_history_is_saved_and_read_back_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("state")
        .join("trailscope")
        .join("filter-history");
    let mut h = harness(120, 40);
    h.state.filter.history_file = Some(path.clone());
    for filter in ["actor:*admin*", "outcome:failure"] {
        h.key(KeyCode::Char('/'));
        press(&mut h, KeyCode::Char('u'), KeyModifiers::CONTROL);
        h.type_text(filter);
        h.key(KeyCode::Enter);
    }
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(saved, "actor:*admin*\noutcome:failure\n");
    // A new session reads it: Up in the filter bar brings back the last one.
    let mut next = Harness::new(sample(), settings(), 120, 40);
    next.state.filter.history = trailscope::tui::history::read_history(&path);
    next.key(KeyCode::Char('/'));
    next.key(KeyCode::Up);
    match &next.state.overlay {
        Some(Overlay::Filter(edit)) => assert_eq!(edit.text, "outcome:failure"),
        other => panic!("{other:?}"),
    }
    // An unwritable place is a message, never a failure.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    h.state.filter.history_file = Some(file.join("filter-history"));
    h.key(KeyCode::Char('/'));
    h.type_text(" action:Get*");
    h.key(KeyCode::Enter);
    assert!(status_line(&h.screen()).contains("filter history not saved"));
    assert!(
        h.state
            .filter
            .history
            .last()
            .unwrap()
            .ends_with("action:Get*")
    );
}

#[test]
fn ctrl_w_and_alt_b_f_edit_the_filter_line_by_words() {
    let mut h = harness(120, 40);
    h.key(KeyCode::Char('/'));
    h.type_text("actor:*admin* action:Get*");
    press(&mut h, KeyCode::Char('w'), KeyModifiers::CONTROL);
    let text = |h: &Harness| match &h.state.overlay {
        Some(Overlay::Filter(edit)) => (edit.text.clone(), edit.cursor),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(&h), ("actor:*admin* ".to_string(), 14));
    assert_eq!(
        h.state.filter.text, "actor:*admin* ",
        "the filter follows the line"
    );
    press(&mut h, KeyCode::Char('b'), KeyModifiers::ALT);
    assert_eq!(text(&h).1, 0);
    press(&mut h, KeyCode::Char('f'), KeyModifiers::ALT);
    assert_eq!(text(&h), ("actor:*admin* ".to_string(), 13));
}

#[test]
fn findings_times_in_a_display_zone_are_not_cut() {
    let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let mut h = Harness::new(sample(), Settings { tz, ..settings() }, 160, 45);
    let findings = super::demo_findings(&h);
    let tz = h.state.settings.tz.clone();
    h.send(Action::Computed(
        trailscope::tui::jobs::Done::FindingsFound {
            frame_gen: h.state.frame_gen,
            result: Ok(trailscope::tui::jobs::FindingsRun::new(findings, &tz)),
        },
    ));
    h.command(Command::OpenView(View::Findings));
    let screen = h.screen();
    let time = h.state.findings.rows[0].time.clone();
    assert!(time.ends_with("EST") || time.ends_with("EDT"), "{time}");
    assert!(screen.contains(&time), "{time} whole in\n{screen}");
}

#[test]
fn on_the_fields_tab_the_value_keys_act_on_the_field_under_the_cursor() {
    let mut h = record_of_finding(120, 40);
    let row = h.state.detail.frame_row.unwrap() as usize;
    // On the original record there is no value under a cursor.
    h.key(KeyCode::Char(','));
    assert!(h.state.filter.text.is_empty());
    h.key(KeyCode::Tab);
    let at = |h: &Harness, field: &str| {
        h.state
            .record
            .fields
            .iter()
            .position(|f| f.field == field)
            .unwrap() as i32
    };
    h.command(Command::ScrollBy(at(&h, ACTOR)));
    let actor = text_of(h.state.store.frame(), ACTOR, row);
    h.key(KeyCode::Char('y'));
    assert_eq!(h.copied(), std::slice::from_ref(&actor));
    h.key(KeyCode::Char(','));
    assert!(
        h.state.filter.text.starts_with("actor:"),
        "{}",
        h.state.filter.text
    );
    assert!(h.state.filter.text.contains(&actor) || h.state.filter.text.contains('"'));
    assert!(h.state.events.matching > 0);
    // `!` excludes the provider: the event itself no longer matches.
    h.command(Command::ScrollBy(
        at(&h, trailscope::schema::PROVIDER) - at(&h, ACTOR),
    ));
    h.key(KeyCode::Char('!'));
    assert!(
        h.state.filter.text.contains("-provider:"),
        "{}",
        h.state.filter.text
    );
}
