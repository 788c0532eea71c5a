//! The Access view on the access fixtures (`tests/fixtures/access/`): the grants with their
//! end, flags and use in 80 columns under the summary line, the selected grant's scheduled
//! end, justification and ticket (a last line at 80 columns, columns at 160), grantees named
//! as `trailscope access` names them, and Enter drilling into a grant's events and the
//! grantee's privileged actions while holding it.

use trailscope::audit::access::{self, AccessSpec};
use trailscope::config::Config;
use trailscope::text::escape_control;
use trailscope::tui::{Command, Harness, View};

use super::settings;
use crate::util::{fixture, load};

fn access_harness(width: u16, height: u16) -> Harness {
    harness_of("access", width, height)
}

fn harness_of(dir: &str, width: u16, height: u16) -> Harness {
    let store = load(&[fixture(dir).as_path()]);
    let mut h = Harness::new(store, settings(), width, height);
    h.command(Command::OpenView(View::Access));
    h
}

#[test]
fn access_view_lists_grants_with_their_end_flags_and_use() {
    for (w, ht) in [(80u16, 24u16), (120, 40), (160, 45)] {
        let mut h = access_harness(w, ht);
        let screen = h.screen();
        assert!(screen.contains("8 grants"), "{screen}");
        assert!(screen.contains("1 never revoked"), "{screen}");
        insta::with_settings!({snapshot_path => "../snapshots"}, {
            insta::assert_snapshot!(
                format!("access_view_lists_grants_with_their_end_flags_and_use_at_{w}x{ht}"),
                screen
            );
        });
    }
    let mut h = access_harness(120, 40);
    for (w, ht) in [(20, 5), (1, 1), (0, 0), (5, 20), (200, 3)] {
        h.resize(w, ht);
        h.screen();
        h.command(Command::GoBottom);
        h.command(Command::PageBy(1));
        h.screen();
    }
    h.resize(20, 5);
    let screen = h.screen();
    insta::with_settings!({snapshot_path => "../snapshots"}, {
        insta::assert_snapshot!("access_view_squeezed_into_20x5", screen);
    });
}

#[test]
fn enter_on_a_grant_shows_its_events_and_the_grantees_privileged_actions_in_the_window() {
    let mut h = access_harness(120, 40);
    let rows = &h.state.access.result.as_ref().expect("audited").rows;
    let ann = rows
        .iter()
        .position(|r| r.grantee == "ann@contoso.example")
        .expect("ann's activation");
    assert!(rows[ann].ended_at.is_some());
    assert!(rows[ann].flags.contains('L'), "used after its window");
    h.command(Command::ScrollBy(ann as i32));
    h.command(Command::DrillDown);
    assert_eq!(h.state.view, View::Events);
    // The activation, its directory record, the approval and the expiry; and ann's three
    // privileged actions while she held the role (not the one after it ended).
    assert_eq!(h.state.events.matching, 7, "{}", h.state.filter.text);
    h.command(Command::GoBack);
    assert_eq!(h.state.view, View::Access);
}

#[test]
fn the_selected_grants_scheduled_end_justification_and_ticket_are_shown() {
    let mut h = access_harness(80, 24);
    let rows = &h.state.access.result.as_ref().expect("audited").rows;
    let ann = rows
        .iter()
        .position(|r| r.grantee == "ann@contoso.example")
        .expect("ann's activation");
    // Read from the PIM record's additionalDetails, as `trailscope access` reads them.
    assert_eq!(rows[ann].ticket.as_deref(), Some("ServiceNow INC0042"));
    assert_eq!(
        rows[ann].justification.as_deref(),
        Some("Fix the mail flow rule (INC0042)")
    );
    assert!(
        !rows[ann].flags.contains('J'),
        "a ticket is a justification"
    );
    h.command(Command::ScrollBy(ann as i32));
    let screen = h.screen();
    let last = screen.lines().nth(21).unwrap_or("");
    assert!(
        last.starts_with("scheduled end 06-10 16:05 · justification Fix the mail flow rule"),
        "{screen}"
    );
    insta::with_settings!({snapshot_path => "../snapshots"}, {
        insta::assert_snapshot!("access_view_shows_the_selected_grants_schedule_and_ticket_at_80x24", screen);
    });
    let mut h = access_harness(160, 45);
    let screen = h.screen();
    let header = screen.lines().nth(2).unwrap_or("");
    assert!(
        header.contains("scheduled") && header.contains("justification (ticket)"),
        "{screen}"
    );
    let ann_line = screen
        .lines()
        .find(|l| l.contains("ann@contoso.example"))
        .unwrap_or("");
    assert!(
        ann_line.contains("06-10 16:05") && ann_line.contains("Fix the mail flow rule"),
        "{screen}"
    );
    insta::with_settings!({snapshot_path => "../snapshots"}, {
        insta::assert_snapshot!("access_view_shows_schedules_and_tickets_as_columns_at_160x45", screen);
    });
}

#[test]
fn grantees_are_named_as_the_cli_names_them() {
    let store = load(&[fixture("access-fields").as_path()]);
    let config = Config::builtin().unwrap();
    let cli = access::audit_store(&store, &config, None, &AccessSpec::default()).unwrap();
    let expected: Vec<String> = cli
        .grants
        .iter()
        .map(|g| escape_control(&g.grantee).into_owned())
        .collect();
    // The grant names judy by her object id only; her sign-in proves the UPN.
    assert!(
        expected.iter().any(|g| g == "judy@contoso.example"),
        "{expected:?}"
    );
    let h = harness_of("access-fields", 160, 45);
    let shown: Vec<String> = h
        .state
        .access
        .result
        .as_ref()
        .expect("audited")
        .rows
        .iter()
        .map(|r| r.grantee.clone())
        .collect();
    assert_eq!(shown, expected);
}
