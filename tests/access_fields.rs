//! The grant fields read from the grants' original records (`tests/fixtures/access-fields/`):
//! a GCP IAM binding whose condition expires (`request.time < timestamp(...)`) is a grant
//! that ends then without an event, and its use is counted only until then; an IAM Identity
//! Center assignment names its permission set (from the logs' `CreatePermissionSet`) and
//! target account; an AWS role session ends after its `durationSeconds` or at its
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
    let found: Vec<&Value> = grants
        .iter()
        .filter(|g| g["action"] == "CreateAccountAssignment")
        .collect();
    assert_eq!(found.len(), 1, "{grants:#?}");
    assert_eq!(found[0]["role"], "permission set ProdAdministrator");
    assert_eq!(found[0]["scope"], "444455556666");
    assert_eq!(
        found[0]["grantee_as_written"],
        "906755c1e2-4f1a0b3c-7d2e-4c5b-9a8f-1e2d3c4b5a60"
    );
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
