//! Keystrokes of three investigations (issue 19's "about half the keystrokes"): each task is
//! replayed here with the keys of this version, counted, and checked against what the user
//! sees at its end; the keys the previous version needed (6c5c599: typed filters, no value
//! keys, no bucket cursor, no record tabs, no incidents) are written beside them. The README's
//! TUI section reports the counts this test prints (`-- --nocapture`).

use std::path::PathBuf;

use crossterm::event::KeyCode;
use trailscope::schema::{ACTION, ACTOR, SRC_IP};
use trailscope::tui::{Harness, View};

use super::incidents::{detected, detected_over};
use super::{count, text_of};
use crate::util::load;

/// The harness with a key counter.
struct Keys {
    h: Harness,
    pressed: usize,
}

impl Keys {
    fn key(&mut self, code: KeyCode) {
        self.h.key(code);
        self.pressed += 1;
    }

    fn keys(&mut self, code: KeyCode, n: usize) {
        for _ in 0..n {
            self.key(code);
        }
    }

    fn text(&mut self, text: &str) {
        self.h.type_text(text);
        self.pressed += text.chars().count();
    }

    /// Keys since the last call.
    fn take(&mut self) -> usize {
        std::mem::take(&mut self.pressed)
    }
}

/// Keys of typing a filter from scratch in the old filter bar: `/`, Ctrl-U, the text, Enter.
fn typed_filter(text: &str) -> usize {
    3 + text.chars().count()
}

/// Moves the findings cursor to the first finding of `rule` (counted).
fn to_finding(k: &mut Keys, rule: &str) -> usize {
    let at =
        k.h.state
            .findings
            .shown
            .iter()
            .position(|&i| k.h.state.findings.list[i].rule == rule)
            .unwrap_or_else(|| panic!("no {rule} finding"));
    k.keys(KeyCode::Down, at);
    at
}

fn column_of(h: &Harness, column: &str) -> usize {
    h.state
        .events
        .columns
        .iter()
        .position(|c| *c == column)
        .expect("column shown")
}

/// Moves the events column cursor to `column` (counted).
fn to_column(k: &mut Keys, column: &str) {
    let from = k.h.state.events.col_cursor;
    let to = column_of(&k.h, column);
    if to >= from {
        k.keys(KeyCode::Right, to - from);
    } else {
        k.keys(KeyCode::Left, from - to);
    }
}

fn selected(h: &Harness, column: &str) -> String {
    text_of(
        h.state.store.frame(),
        column,
        h.state.selected_row().expect("a selected row") as usize,
    )
}

/// One task: its name, the keys before (None: the old version could not answer it), after.
type Task = (&'static str, Option<usize>, usize);

fn report(investigation: &str, tasks: &[Task]) -> (usize, usize) {
    let mut before = 0;
    let mut after = 0;
    println!("{investigation}");
    for (name, old, new) in tasks {
        match old {
            Some(old) => println!("  {name}: {old} -> {new} keys"),
            None => println!("  {name}: (not possible) -> {new} keys"),
        }
        // Tasks the old version could not do count only for this one's total.
        before += old.unwrap_or(0);
        after += if old.is_some() { *new } else { 0 };
    }
    println!("  comparable tasks: {before} -> {after} keys");
    (before, after)
}

#[test]
fn the_bundled_samples_intrusion_takes_half_the_keys() {
    let mut k = Keys {
        h: detected(160, 45),
        pressed: 0,
    };
    // Shared by both versions: the findings, the spray, its events.
    k.key(KeyCode::Char('5'));
    to_finding(&mut k, "password-spray");
    k.key(KeyCode::Enter);
    k.take();
    let mut tasks: Vec<Task> = Vec::new();

    // 1. Everything from the spray's source address.
    to_column(&mut k, SRC_IP);
    let ip = selected(&k.h, SRC_IP);
    k.key(KeyCode::Char('='));
    let all_from_ip = count(k.h.state.store.frame(), &format!("src_ip:{ip}"));
    assert_eq!(k.h.state.events.matching, all_from_ip);
    tasks.push((
        "every event from the spray's address",
        Some(typed_filter(&format!("ip:{ip}"))),
        k.take(),
    ));

    // 2. Leave out its failures, then back to all of its events, on the same event.
    let row = k.h.state.selected_row();
    let at = k.h.state.events.cursor.selected;
    to_column(&mut k, trailscope::schema::OUTCOME);
    assert_eq!(selected(&k.h, trailscope::schema::OUTCOME), "failure");
    k.key(KeyCode::Char('!'));
    assert_eq!(
        k.h.state.events.matching,
        count(
            k.h.state.store.frame(),
            &format!("src_ip:{ip} -outcome:failure")
        )
    );
    k.key(KeyCode::Esc);
    assert_eq!(k.h.state.events.matching, all_from_ip);
    assert_eq!(k.h.state.selected_row(), row);
    let suffix = " -outcome:failure";
    // Before: `/`, End, the term, Enter; then `/`, Backspace over it, Enter, and the cursor
    // is back on the first row: Down to the event it was on.
    let old = 3 + suffix.len() + 2 + suffix.len() + at;
    tasks.push((
        "without its failures, then back on the same event",
        Some(old),
        k.take(),
    ));

    // 3. The intrusion as one story: its chain, entities and what to check next.
    k.key(KeyCode::Char('7'));
    k.key(KeyCode::Char('d'));
    let pane = k.h.screen();
    assert!(
        pane.contains("Kill chain") && pane.contains("password-spray"),
        "{pane}"
    );
    assert!(pane.contains("Privilege Escalation"), "{pane}");
    tasks.push(("the intrusion's chain as one incident", None, k.take()));

    let (before, after) = report("bundled sample", &tasks);
    assert!(after * 2 <= before, "{before} -> {after}");
}

fn real_samples() -> PathBuf {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_default();
    assert!(dir.join("SOURCES.md").is_file(), "no real samples");
    dir
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn the_stratus_detonations_take_half_the_keys() {
    let dir = real_samples().join("cloudtrail/stratus-red-team");
    let mut k = Keys {
        h: detected_over(load(&[&dir]), 160, 45),
        pressed: 0,
    };
    let mut tasks: Vec<Task> = Vec::new();

    // 1. Who stopped CloudTrail logging, and everything that principal did.
    k.key(KeyCode::Char('/'));
    k.text("action:StopLogging");
    k.key(KeyCode::Enter);
    let shared = k.take();
    to_column(&mut k, ACTOR);
    let actor = selected(&k.h, ACTOR);
    k.key(KeyCode::Char('='));
    assert_eq!(
        k.h.state.events.matching,
        count(
            k.h.state.store.frame(),
            &trailscope::analysis::key_filter(
                ACTOR,
                &trailscope::analysis::Key::Value(actor.clone())
            )
        )
    );
    assert_eq!(
        selected(&k.h, ACTION),
        "StopLogging",
        "the event stays selected"
    );
    let quoted = trailscope::analysis::filter::quote_value(&actor);
    tasks.push((
        "who stopped logging, and everything they did",
        Some(shared + typed_filter(&format!("actor:{quoted}"))),
        shared + k.take(),
    ));

    // 2. That event's record, and the findings citing it.
    k.key(KeyCode::Enter);
    assert_eq!(k.h.state.view, View::Detail);
    k.key(KeyCode::Tab);
    k.key(KeyCode::Tab);
    let screen = k.h.screen();
    assert!(screen.contains("audit-log-tampering"), "{screen}");
    tasks.push(("the record and the findings citing it", None, k.take()));

    // 3. Everything from the same source address.
    k.key(KeyCode::Esc);
    assert_eq!(k.h.state.view, View::Events);
    to_column(&mut k, SRC_IP);
    let ip = selected(&k.h, SRC_IP);
    k.key(KeyCode::Char('='));
    assert_eq!(
        k.h.state.events.matching,
        count(k.h.state.store.frame(), &format!("src_ip:{ip}"))
    );
    // Before: after the actor filter the cursor is on the first row; finding the
    // StopLogging event among the actor's events took Down presses (counted as its line).
    let line = k.h.state.events.cursor.selected;
    tasks.push((
        "everything from its source address",
        Some(line + typed_filter(&format!("ip:{ip}"))),
        k.take(),
    ));
    let (before, after) = report("Stratus Red Team detonations", &tasks);
    assert!(after * 2 <= before, "{before} -> {after}");
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn kubernetes_and_sign_ins_take_half_the_keys() {
    let dir = real_samples();
    let store = load(&[&dir.join("k8s-audit"), &dir.join("entra-signin")]);
    let mut k = Keys {
        h: detected_over(store, 160, 45),
        pressed: 0,
    };
    let mut tasks: Vec<Task> = Vec::new();

    // Shared: the failures, pivoted by actor; the busiest actor's failures.
    k.key(KeyCode::Char('/'));
    k.text("outcome:failure");
    k.key(KeyCode::Enter);
    k.key(KeyCode::Char('2'));
    k.key(KeyCode::Enter);
    let actor_filter = k.h.state.filter.text.clone();
    k.key(KeyCode::Char('3'));
    let shared = k.take();

    // 1. The failures in that actor's busiest time bucket.
    let (busiest, bucket, start) = {
        let view = k.h.state.timeline.result.as_ref().expect("timeline");
        let lane = &view.timeline.lanes[0];
        let (b, _) = lane
            .counts
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
            .expect("a bucket");
        (lane.counts[b], b, view.timeline.starts[b])
    };
    k.key(KeyCode::Char('*'));
    assert_eq!(k.h.state.timeline.bucket, bucket);
    k.key(KeyCode::Enter);
    assert_eq!(k.h.state.events.matching as u64, busiest);
    let width = {
        let view = k.h.state.timeline.result.as_ref().expect("timeline");
        view.timeline.bucket
    };
    let utc = jiff::tz::TimeZone::UTC;
    let range = format!(
        " after:\"{}\" before:\"{}\"",
        trailscope::text::format_time(start, &utc),
        trailscope::text::format_time(start + width, &utc)
    );
    // Before: Enter on the lane gave the actor's whole history; then `/`, End, the range, Enter.
    tasks.push((
        "the failures of the busiest actor's busiest bucket",
        Some(shared + 1 + 3 + range.chars().count()),
        shared + k.take(),
    ));

    // 2. Back to the timeline on the same bucket, and the next actor's failures.
    k.key(KeyCode::Esc);
    assert_eq!(k.h.state.view, View::Timeline);
    assert_eq!(k.h.state.timeline.bucket, bucket);
    assert_eq!(k.h.state.filter.text, actor_filter);
    k.key(KeyCode::Esc);
    assert_eq!(k.h.state.view, View::Pivot);
    assert_eq!(k.h.state.filter.text, "outcome:failure");
    k.key(KeyCode::Down);
    k.key(KeyCode::Enter);
    // Before: the range typed was not on the back stack, so Esc went to the timeline (and
    // the bucket was gone with the range), Esc to the pivot: the same four keys.
    tasks.push(("back, and the next actor's failures", Some(4), k.take()));
    let (before, after) = report("Kubernetes and sign-in logs", &tasks);
    assert!(after * 2 <= before, "{before} -> {after}");
}
