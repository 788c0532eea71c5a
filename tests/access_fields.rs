//! The grant fields read from the grants' original records (`tests/fixtures/access-fields/`):
//! a GCP IAM binding whose condition expires (`request.time < timestamp(...)`) is a grant
//! that ends then without an event, and its use is counted only until then; an IAM Identity
//! Center assignment names its permission set (from the logs' `CreatePermissionSet`), its
//! target account and its grantee (where a record links the Identity Store id to a name),
//! and is ended only by the removal of the same permission set in the same account; an AWS
//! role session ends after its `durationSeconds` or at its
//! credentials' `expiration`. Asserted through `trailscope access --format json`.

use serde_json::Value;

use crate::util::{fixture, run, stdout};

fn grants() -> Vec<Value> {
    let dir = fixture("access-fields").display().to_string();
    let output = run(&["access", &dir, "--format", "json"]);
    assert!(output.status.success(), "{}", crate::util::stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("a JSON array")
}

fn grant<'a>(grants: &'a [Value], grantee_as_written: &str, role: &str) -> &'a Value {
    let found: Vec<&Value> = grants
        .iter()
        .filter(|g| g["grantee_as_written"] == grantee_as_written && g["role"] == role)
        .collect();
    assert_eq!(found.len(), 1, "{grantee_as_written} / {role}: {grants:#?}");
    found[0]
}

#[test]
fn a_gcp_binding_with_an_expiring_condition_ends_at_its_expiry() {
    let grants = grants();
    let kim = grant(&grants, "user:kim@acme.example", "roles/owner");
    assert_eq!(kim["scope"], "projects/acme-prod");
    assert_eq!(kim["lifetime"], "expiring");
    assert_eq!(kim["scheduled_end"], "2025-05-12T12:00:00Z");
    assert_eq!(kim["ended_at"], "2025-05-12T12:00:00Z");
    assert_eq!(kim["status"], "expired");
    assert_eq!(kim["duration_seconds"], 3 * 3600);
    // Her key created at 10:30 is use; the one at 15:00 came after the expiry.
    assert_eq!(kim["privileged_actions_in_window"], 1, "{kim:#}");
    assert_eq!(kim["used_after_window"], 1, "{kim:#}");
    // The same call's unconditional binding is standing, still held.
    let lee = grant(&grants, "user:lee@acme.example", "roles/owner");
    assert_eq!(lee["lifetime"], "standing");
    assert_eq!(lee["scheduled_end"], Value::Null);
    assert_eq!(lee["ended_at"], Value::Null);
}

#[test]
fn an_identity_center_assignment_names_its_permission_set_and_account() {
    let grants = grants();
    let id = "906755c1e2-4f1a0b3c-7d2e-4c5b-9a8f-1e2d3c4b5a60";
    let found = grant(&grants, id, "permission set ProdAdministrator");
    assert_eq!(found["scope"], "444455556666");
    assert_eq!(found["grantee_type"], "User");
    // No record of the logs names this Identity Store id: it is shown, and said so.
    assert_eq!(
        found["grantee"],
        format!("{id} (Identity Store user id; no record in the logs names it)")
    );
}

/// The assignments of `cloudtrail-identity-center-assignments.json` (real record shapes):
/// ann holds ProdAdministrator and ReadOnly in 444455556666 and ProdAdministrator in
/// 777788889999; ProdAdministrator is then removed from her in 444455556666 only.
const ANN: &str = "c4d8e2a0-b0c1-70d2-3e4f-5a6b7c8d9e01";

fn assignment<'a>(grants: &'a [Value], principal: &str, set: &str, account: &str) -> &'a Value {
    let found: Vec<&Value> = grants
        .iter()
        .filter(|g| {
            g["grantee_as_written"] == principal
                && g["role"] == format!("permission set {set}").as_str()
                && g["scope"] == account
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{principal} / {set} / {account}: {grants:#?}"
    );
    found[0]
}

#[test]
fn removing_one_permission_set_ends_only_that_assignment() {
    let grants = grants();
    let removed = assignment(&grants, ANN, "ProdAdministrator", "444455556666");
    assert_eq!(removed["status"], "ended");
    assert_eq!(removed["ended_at"], "2025-05-13T12:00:00Z");
    assert_eq!(removed["ended_by"], "DeleteAccountAssignment");
    // The other permission set in that account, and the same set in another account, are
    // still held.
    for (set, account) in [
        ("ReadOnly", "444455556666"),
        ("ProdAdministrator", "777788889999"),
    ] {
        let kept = assignment(&grants, ANN, set, account);
        assert_eq!(kept["status"], "held", "{set} in {account}: {kept:#}");
        assert_eq!(kept["ended_at"], Value::Null);
    }
}

#[test]
fn identity_center_grantees_are_named_where_a_record_links_id_and_name() {
    let grants = grants();
    for (principal, name, kind, linked_by) in [
        (
            ANN,
            "ann@acme.example",
            "User",
            "identitystore CreateUser: the request's userName, the response's userId",
        ),
        (
            "34887428-4081-7042-c3c6-928d413009e7",
            "platform-readers",
            "Group",
            "sso-directory CreateGroup: the group's displayName and groupId",
        ),
        (
            "544894e8-80c1-707f-60e3-3ba6510dfac1",
            "bo@acme.example",
            "User",
            "an Identity Center sign-in: onBehalfOf.userId with additionalEventData.UserName",
        ),
    ] {
        let g = assignment(&grants, principal, "ReadOnly", "444455556666");
        assert_eq!(g["grantee"], name, "{linked_by}");
        assert_eq!(g["grantee_type"], kind, "{linked_by}");
    }
}

#[test]
fn role_sessions_end_after_their_duration_or_at_their_expiration() {
    let grants = grants();
    let hana = grant(
        &grants,
        "arn:aws:iam::111122223333:user/hana",
        "BreakGlassAdmin",
    );
    assert_eq!(hana["scheduled_end"], "2025-05-12T09:15:00Z");
    assert_eq!(hana["ended_at"], "2025-05-12T09:15:00Z");
    assert_eq!(hana["status"], "expired");
    // The session's CreateUser at 09:10 is in the window; its DeleteUser at 13:00 is not.
    assert_eq!(hana["privileged_actions_in_window"], 1, "{hana:#}");
    let ivan = grant(
        &grants,
        "arn:aws:iam::111122223333:user/ivan",
        "PlatformAdmin",
    );
    // No durationSeconds: the credentials' expiration (`May 12, 2025, 12:00:00 PM`).
    assert_eq!(ivan["scheduled_end"], "2025-05-12T12:00:00Z");
    assert_eq!(ivan["status"], "expired");
}
