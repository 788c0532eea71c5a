//! The Access view on the access fixtures (`tests/fixtures/access/`): the grants with their
//! end, flags and use in 80 columns under the summary line, and Enter drilling into a grant's
//! events and the grantee's privileged actions while holding it.

use trailscope::tui::{Command, Harness, View};

use super::settings;
use crate::util::{fixture, load};

fn access_harness(width: u16, height: u16) -> Harness {
    let store = load(&[fixture("access").as_path()]);
    let mut h = Harness::new(store, settings(), width, height);
    h.command(Command::OpenView(View::Access));
    h
}

#[test]
fn access_view_lists_grants_with_their_end_flags_and_use() {
    for (w, ht) in [(80u16, 24u16), (120, 40)] {
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
