//! Navigation keeps the user's place: Esc after a drill-down or a narrowing puts back the
//! filter, the view, and that view's cursor, scroll, zoom and pan.

use super::*;

#[test]
fn esc_after_drilling_from_the_pivot_returns_to_the_same_cell() {
    let mut h = harness(160, 45);
    h.command(Command::OpenView(View::Pivot));
    for _ in 0..4 {
        h.key(KeyCode::Down);
    }
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    let before = (h.state.pivot.cursor, h.state.pivot.col);
    h.key(KeyCode::Enter);
    assert_eq!(h.state.view, View::Events);
    assert!(!h.state.filter.text.is_empty());
    h.key(KeyCode::Esc);
    assert_eq!(h.state.view, View::Pivot);
    assert_eq!(h.state.filter.text, "");
    assert_eq!((h.state.pivot.cursor, h.state.pivot.col), before);
    // What the user sees: the fifth row is selected again.
    let screen = h.screen();
    let selected = screen
        .lines()
        .find(|l| l.contains('▶'))
        .expect("a selected row");
    let label = &h.state.pivot.result.as_ref().expect("pivot").pivot.row_keys[4];
    let shown = trailscope::text::shorten_identity(label.label()).into_owned();
    assert!(selected.contains(&shown[..shown.len().min(10)]), "{screen}");
}

#[test]
fn esc_after_drilling_from_the_timeline_returns_to_the_same_lane_and_bucket() {
    let mut h = harness(160, 45);
    h.command(Command::OpenView(View::Timeline));
    h.command(Command::ZoomIn);
    for _ in 0..3 {
        h.key(KeyCode::Down);
    }
    for _ in 0..9 {
        h.key(KeyCode::Right);
    }
    let before = (
        h.state.timeline.cursor,
        h.state.timeline.bucket,
        h.state.timeline.start,
        h.state.timeline.zoom,
    );
    h.key(KeyCode::Enter);
    assert_eq!(h.state.view, View::Events);
    h.key(KeyCode::Esc);
    assert_eq!(h.state.view, View::Timeline);
    let after = (
        h.state.timeline.cursor,
        h.state.timeline.bucket,
        h.state.timeline.start,
        h.state.timeline.zoom,
    );
    assert_eq!(after, before);
}

#[test]
fn esc_after_narrowing_the_events_selects_the_same_event_on_the_same_line() {
    let mut h = harness(160, 45);
    for _ in 0..40 {
        h.key(KeyCode::Down);
    }
    let row = h.state.selected_row();
    let line = h.state.events.cursor.selected - h.state.events.cursor.offset;
    h.key(KeyCode::Right);
    let total = h.state.events.matching;
    h.key(KeyCode::Char(','));
    assert!(h.state.events.matching < total);
    // Narrowed to a value of the selected event: it stays selected, on its line (or as
    // near as the events before it allow).
    assert_eq!(h.state.selected_row(), row);
    let cursor = h.state.events.cursor;
    assert_eq!(cursor.selected - cursor.offset, line.min(cursor.selected));
    h.key(KeyCode::Esc);
    assert_eq!(h.state.selected_row(), row);
    assert_eq!(h.state.events.cursor.selected, 40);
    assert_eq!(
        h.state.events.cursor.selected - h.state.events.cursor.offset,
        line
    );
    assert_eq!(h.state.events.col_cursor, 1);
}

#[test]
fn back_twice_unwinds_two_drill_downs_in_order() {
    let mut h = harness(160, 45);
    h.command(Command::OpenView(View::Pivot));
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    let first = h.state.filter.text.clone();
    for _ in 0..3 {
        h.key(KeyCode::Down);
    }
    h.key(KeyCode::Right);
    h.key(KeyCode::Char(','));
    assert_ne!(h.state.filter.text, first);
    h.key(KeyCode::Esc);
    assert_eq!(h.state.filter.text, first);
    assert_eq!(h.state.events.cursor.selected, 3);
    h.key(KeyCode::Esc);
    assert_eq!(h.state.filter.text, "");
    assert_eq!(h.state.view, View::Pivot);
    assert_eq!(h.state.pivot.cursor.selected, 1);
}

#[test]
fn t_jumps_to_the_last_hour_and_esc_goes_back_to_every_time() {
    let mut h = harness(80, 24);
    let total = h.state.events.matching;
    h.key(KeyCode::Char('t'));
    h.type_text("1h");
    h.key(KeyCode::Enter);
    let expected = count(h.state.store.frame(), "last:1h");
    assert!(expected > 0 && expected < total);
    assert_eq!(h.state.events.matching, expected);
    let screen = h.screen();
    assert!(screen.contains("⏱ 1h │ /"), "{screen}");
    h.key(KeyCode::Esc);
    assert_eq!(h.state.range, None);
    assert_eq!(h.state.events.matching, total);
    // A range typed as FROM..TO, read in the display zone.
    h.key(KeyCode::Char('t'));
    h.type_text("2024-03-20 00:00..2024-03-20 06:00");
    h.key(KeyCode::Enter);
    let expected = count(
        h.state.store.frame(),
        "after:\"2024-03-20 00:00\" before:\"2024-03-20 06:00\"",
    );
    assert_eq!(h.state.events.matching, expected);
    // Nonsense is refused with a reason, and the range stays.
    h.key(KeyCode::Char('t'));
    h.type_text(" and yesterday");
    h.key(KeyCode::Enter);
    assert!(h.screen().contains("time range:"));
    assert_eq!(h.state.events.matching, expected);
}

#[test]
fn at_80_columns_a_long_filters_error_moves_to_the_status_line_whole() {
    let mut h = harness(80, 24);
    h.key(KeyCode::Char('/'));
    h.type_text("actor:alice action:*Policy* -outcome:success provider:aws and (");
    let screen = h.screen();
    let status = status_line(&screen);
    assert!(
        status.contains("✗ column 63: unbalanced parenthesis: '(' is never closed"),
        "{screen}"
    );
}
