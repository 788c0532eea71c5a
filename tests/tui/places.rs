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
    let selected = screen.lines().find(|l| l.contains('▶')).expect("a selected row");
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
