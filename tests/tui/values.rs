//! Acting on the value under the cursor: `,` narrows the filter to it, `!` excludes it, `y`
//! copies it (OSC 52), in the events table, the pivot and the timeline; Esc undoes a narrowing.

use super::*;
use trailscope::analysis::filter::drill::and_term;
use trailscope::tui::values::osc52;

/// The events view with the column cursor on `column`.
fn on_column(h: &mut Harness, column: &str) {
    let at = h
        .state
        .events
        .columns
        .iter()
        .position(|c| *c == column)
        .expect("column shown");
    for _ in 0..at {
        h.key(KeyCode::Right);
    }
}

fn selected_value(h: &Harness, column: &str) -> String {
    let row = h.state.selected_row().expect("a row") as usize;
    text_of(h.state.store.frame(), column, row)
}

#[test]
fn comma_narrows_the_events_to_the_value_under_the_cursor_and_esc_undoes_it() {
    let mut h = harness(160, 45);
    for _ in 0..5 {
        h.key(KeyCode::Down);
    }
    on_column(&mut h, ACTOR);
    let actor = selected_value(&h, ACTOR);
    let total = h.state.store.frame().height();
    h.key(KeyCode::Char(','));
    let expected = count(h.state.store.frame(), &format!("actor:\"{actor}\""));
    assert!(expected > 0 && expected < total);
    let screen = h.screen();
    assert_eq!(h.state.events.matching, expected, "{screen}");
    assert!(screen.contains("narrowed to actor:"), "{screen}");
    assert!(
        screen.contains(&format!("{} /", thousands(expected as u64)))
            || screen.contains(&format!("{}/", thousands(expected as u64))),
        "{screen}"
    );
    // Every row shown now has that actor.
    let frame = h.state.store.frame();
    for row in &h.state.events.window {
        assert_eq!(text_of(frame, ACTOR, row.frame_row as usize), actor);
    }
    h.key(KeyCode::Esc);
    assert_eq!(h.state.filter.text, "");
    assert_eq!(h.state.events.matching, total);
}

#[test]
fn bang_excludes_the_value_and_narrowing_twice_adds_nothing() {
    let mut h = harness(160, 45);
    on_column(&mut h, PROVIDER);
    let provider = selected_value(&h, PROVIDER);
    let total = h.state.store.frame().height();
    h.key(KeyCode::Char('!'));
    let with = count(h.state.store.frame(), &format!("provider:{provider}"));
    assert_eq!(h.state.filter.text, format!("-provider:{provider}"));
    assert_eq!(h.state.events.matching, total - with);
    // Now the row under the cursor has another provider: narrowing to it keeps both terms.
    let other = selected_value(&h, PROVIDER);
    assert_ne!(other, provider);
    h.key(KeyCode::Char(','));
    assert_eq!(
        h.state.filter.text,
        format!("-provider:{provider} provider:{other}")
    );
    h.key(KeyCode::Char(','));
    assert!(h.screen().contains("already has provider:"));
}

#[test]
fn y_copies_the_raw_value_and_says_so() {
    let mut h = harness(80, 24);
    on_column(&mut h, ACTOR);
    let actor = selected_value(&h, ACTOR);
    h.key(KeyCode::Char('y'));
    assert_eq!(h.copied(), [actor]);
    let screen = h.screen();
    assert!(screen.contains("copied actor"), "{screen}");
}

#[test]
fn in_the_pivot_comma_narrows_to_the_row_or_the_column_under_the_cursor() {
    let mut h = harness(160, 45);
    h.command(Command::OpenView(View::Pivot));
    let (row_key, col_key) = {
        let pivot = &h.state.pivot.result.as_ref().expect("pivot").pivot;
        (
            pivot.row_keys[0].label().to_string(),
            pivot.col_keys[0].label().to_string(),
        )
    };
    h.key(KeyCode::Char(','));
    assert_eq!(h.state.view, View::Pivot, "narrowing stays in the view");
    assert_eq!(
        h.state.filter.text,
        analysis::key_filter(ACTOR, &analysis::Key::Value(row_key))
    );
    h.key(KeyCode::Esc);
    h.key(KeyCode::Right);
    h.key(KeyCode::Char('!'));
    assert_eq!(
        h.state.filter.text,
        format!(
            "-{}",
            analysis::key_filter(ACTION, &analysis::Key::Value(col_key))
        )
    );
}

#[test]
fn narrowing_an_or_filter_narrows_all_of_it() {
    assert_eq!(and_term("a or b", "actor:x"), "(a or b) actor:x");
    assert_eq!(and_term("a b", "actor:x"), "a b actor:x");
    assert_eq!(and_term("actor:x", "actor:x"), "actor:x");
    assert_eq!(and_term("a actor:x", "actor:x"), "a actor:x");
    assert_eq!(and_term("", "actor:x"), "actor:x");
    // A filter with an error is kept whole.
    assert_eq!(and_term("a and (", "actor:x"), "(a and () actor:x");
}

#[test]
fn a_copy_carries_log_content_base64_encoded_never_as_control_characters() {
    let hostile = "evil\x1b]0;pwned\x07\x1b[2J";
    let seq = osc52(hostile).expect("small");
    assert!(seq.starts_with("\x1b]52;c;") && seq.ends_with('\x07'));
    let body = &seq["\x1b]52;c;".len()..seq.len() - 1];
    assert!(
        body.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    );
    assert!(osc52(&"x".repeat(trailscope::tui::values::COPY_LIMIT + 1)).is_none());
}
