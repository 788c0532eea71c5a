//! The Incidents view and the detail pane of findings and incidents, on the bundled sample
//! with the real rules (snapshots at 80x24 and 160x45); findings and incidents scoped by the
//! filter with a visible count; drilling from them never ends in an unexplained empty view.

use crossterm::event::KeyCode;
use trailscope::detectors;
use trailscope::incidents::{self, Settings as GroupSettings};
use trailscope::tui::jobs::{Done, FindingsRun};
use trailscope::tui::{Action, Command, Harness, View};

use super::{sample, settings, status_line};

/// The sample with the rules' findings and their incidents, as the worker delivers them.
pub(super) fn detected_over(
    store: trailscope::store::FrameStore,
    width: u16,
    height: u16,
) -> Harness {
    let mut h = Harness::new(store, settings(), width, height);
    deliver_findings(&mut h);
    h
}

/// The bundled sample with its findings and incidents.
pub(super) fn detected(width: u16, height: u16) -> Harness {
    detected_over(sample(), width, height)
}

/// Runs the rules and the grouping over the harness's frame, as the worker does.
fn deliver_findings(h: &mut Harness) {
    let frame = h.state.store.frame().clone();
    let config = trailscope::config::Config::builtin().unwrap();
    let findings = detectors::run(&frame, &config).unwrap();
    let grouped =
        incidents::group(&frame, &findings, &GroupSettings::from_config(&config)).unwrap();
    let mut run = FindingsRun::new(findings, &jiff::tz::TimeZone::UTC);
    run.incidents = grouped;
    let frame_gen = h.state.frame_gen;
    h.send(Action::Computed(Done::FindingsFound {
        frame_gen,
        result: Ok(run),
    }));
}

/// Snapshots beside the other views' (`tests/snapshots/`).
fn snapshot(name: &str, screen: &str) {
    insta::with_settings!({snapshot_path => "../snapshots"}, {
        insta::assert_snapshot!(name, screen);
    });
}

fn set_filter(h: &mut Harness, text: &str) {
    h.key(KeyCode::Char('x'));
    h.key(KeyCode::Char('/'));
    h.type_text(text);
    h.key(KeyCode::Enter);
}

#[test]
fn incidents_view_and_detail_panes_render_at_80x24_and_160x45() {
    for (w, ht) in [(80u16, 24u16), (160, 45)] {
        let mut h = detected(w, ht);
        h.key(KeyCode::Char('7'));
        assert_eq!(h.state.view, View::Incidents);
        let list = h.screen();
        assert!(list.contains("1 incident from 32 findings"), "{list}");
        // The id column needs room; narrower, the title keeps it (the pane shows the id).
        assert_eq!(list.contains("INC-"), w >= 100, "{list}");
        snapshot(
            &format!("incidents_view_lists_the_sample_intrusion_as_one_incident_at_{w}x{ht}"),
            &list,
        );
        h.key(KeyCode::Char('d'));
        let pane = h.screen();
        assert!(pane.contains("Kill chain"), "{pane}");
        assert!(pane.contains("password-spray"), "{pane}");
        if w >= 160 {
            // Beside the list: both show.
            assert!(pane.contains("1 incident from 32 findings"), "{pane}");
        }
        snapshot(
            &format!("incident_detail_pane_shows_the_kill_chain_and_entities_at_{w}x{ht}"),
            &pane,
        );
        // `]` walks the entities, and the pane scrolls to keep the selected one in view.
        for _ in 0..3 {
            h.key(KeyCode::Char(']'));
        }
        let walked = h.screen();
        assert!(
            walked.contains("▶ identity   alice@northwind.example (1)"),
            "{walked}"
        );
        snapshot(
            &format!("incident_detail_pane_scrolls_to_the_selected_entity_at_{w}x{ht}"),
            &walked,
        );

        h.key(KeyCode::Char('5'));
        h.key(KeyCode::Char('d'));
        // The audit-log-tampering finding: the reason in full, MITRE names, next steps.
        let at = h
            .state
            .findings
            .shown
            .iter()
            .position(|&i| h.state.findings.list[i].rule == "audit-log-tampering")
            .unwrap();
        h.command(Command::ScrollBy(at as i32));
        let pane = h.screen();
        assert!(
            pane.contains("Impair Defenses: Disable or Modify Cloud Logs"),
            "{pane}"
        );
        assert!(pane.contains("What to check next"), "{pane}");
        snapshot(
            &format!("finding_detail_pane_shows_reason_mitre_and_next_steps_at_{w}x{ht}"),
            &pane,
        );
    }
}

#[test]
fn findings_and_incidents_follow_the_filter_and_say_how_many_are_in_it() {
    let mut h = detected(160, 45);
    set_filter(&mut h, "provider:github");
    h.key(KeyCode::Char('5'));
    let screen = h.screen();
    assert!(screen.contains("32 findings, 3 in filter"), "{screen}");
    assert!(!screen.contains("mfa-fatigue"), "{screen}");
    h.key(KeyCode::Char('7'));
    let screen = h.screen();
    // The story has a finding in the filter: it is listed whole.
    assert!(
        screen.contains("1 incident from 32 findings, 1 in filter"),
        "{screen}"
    );
    set_filter(&mut h, "provider:nothing-here");
    let screen = h.screen();
    assert!(
        screen.contains("no incident has an event in the filter"),
        "{screen}"
    );
}

#[test]
fn narrowing_to_an_entity_outside_the_filter_replaces_it_and_esc_restores_it() {
    let mut h = detected(160, 45);
    set_filter(&mut h, "provider:github");
    h.key(KeyCode::Char('7'));
    h.key(KeyCode::Char('d'));
    // The first entity is the identity of most events: dana@northwind.example, whose events
    // are not GitHub's (there she is `dana`).
    let first = h.state.incidents.list[0].entities[0].clone();
    assert_eq!(first.value, "dana@northwind.example");
    h.key(KeyCode::Char('f'));
    assert_eq!(h.state.view, View::Events);
    assert!(h.state.filter.text.contains("dana@northwind.example"));
    assert!(!h.state.filter.text.contains("github"));
    let screen = h.screen();
    assert!(
        status_line(&screen).contains("outside the filter: the filter was replaced"),
        "{screen}"
    );
    assert!(h.state.events.matching > 0, "an empty view");
    h.key(KeyCode::Esc);
    assert_eq!(h.state.filter.text, "provider:github");
    assert_eq!(h.state.view, View::Incidents);

    // An entity inside the filter narrows it: dana's GitHub login.
    let github = h.state.incidents.list[0]
        .entities
        .iter()
        .position(|e| e.value == "dana")
        .unwrap();
    h.command(Command::SelectEntity(github as i32));
    // The selected entity is the value under the cursor: `y` copies it.
    h.key(KeyCode::Char('y'));
    assert_eq!(h.copied().last().map(String::as_str), Some("dana"));
    h.key(KeyCode::Char('f'));
    assert!(
        h.state.filter.text.contains("provider:github"),
        "{}",
        h.state.filter.text
    );
    assert!(h.state.events.matching > 0);

    // Enter on the incident shows its events (those in the filter).
    h.key(KeyCode::Esc);
    h.key(KeyCode::Enter);
    assert_eq!(h.state.view, View::Events);
    assert_eq!(h.state.events.matching, 2, "{}", h.state.filter.text);
}

#[test]
fn at_80_columns_the_pane_in_the_lists_place_scrolls_with_the_page_keys() {
    let mut h = detected(80, 24);
    h.key(KeyCode::Char('7'));
    h.key(KeyCode::Char('d'));
    let first = h.screen();
    assert!(first.contains("Kill chain"), "{first}");
    assert!(!first.contains("What to check next"), "{first}");
    h.key(KeyCode::PageDown);
    let scrolled = h.screen();
    assert!(!scrolled.contains("Kill chain"), "{scrolled}");
    let mut pages = 1;
    while !h.screen().contains("What to check next") {
        assert!(pages < 10, "never reached the next steps");
        h.key(KeyCode::PageDown);
        pages += 1;
    }
    h.key(KeyCode::PageUp);
    h.key(KeyCode::Char('g'));
    assert!(h.screen().contains("Kill chain"));
}
