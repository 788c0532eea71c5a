//! The access audit and review (`trailscope access`, `--review`) on grants in the real
//! export shapes of Entra (PIM activation with request, approval, duplicate directory
//! record, expiry), CloudTrail (policy attachment and detachment, role assumptions), Okta
//! and GitHub (`tests/fixtures/access/`): what an auditor reads for each grant, the
//! summary, the review holdings, the JSON contract, CSV neutralization and the evidence.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};
use trailscope::audit::access::{self, Access, AccessSpec, Grant, Lifetime, Status};
use trailscope::config::Config;

use crate::util::{fixture, load, run, stdout};

fn audit_fixtures() -> Access {
    let store = load(&[fixture("access").as_path()]);
    let config = Config::builtin().unwrap();
    access::audit(
        store.frame(),
        &config,
        &AccessSpec::default(),
        Some(store.identities()),
    )
    .unwrap()
}

fn grant<'a>(access: &'a Access, grantee: &str, role: &str) -> &'a Grant {
    let found: Vec<&Grant> = access
        .grants
        .iter()
        .filter(|g| g.grantee == grantee && g.role == role)
        .collect();
    assert_eq!(found.len(), 1, "{grantee} / {role}: {:#?}", access.grants);
    found[0]
}

fn utc(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_microsecond()
}

#[test]
fn a_pim_activation_is_one_grant_with_its_approval_expiry_and_use() {
    let access = audit_fixtures();
    let ann = grant(&access, "ann@contoso.example", "Exchange Administrator");
    assert_eq!(ann.provider, "entra");
    assert_eq!(ann.lifetime, Lifetime::Temporary);
    assert_eq!(ann.granted_by, "ann@contoso.example");
    assert_eq!(ann.approver.as_deref(), Some("boss@contoso.example"));
    assert_eq!(ann.granted_at, utc("2024-06-10T08:05:00Z"));
    // The built-in 8 h window of a PIM activation.
    assert_eq!(ann.scheduled_end, Some(utc("2024-06-10T16:05:00Z")));
    assert_eq!(ann.ended_at, Some(utc("2024-06-10T16:05:00Z")));
    assert_eq!(
        ann.ended_by.as_deref(),
        Some("Remove member from role (PIM activation expired)")
    );
    assert_eq!(ann.status, Status::Ended);
    assert!(!ann.overdue && !ann.self_approved);
    // Three privileged actions while held (the activation itself is not use) ...
    assert!(ann.used && !ann.never_used);
    assert_eq!(ann.privileged_actions_in_window, 3);
    let top: Vec<(&str, u64)> = ann
        .top_actions
        .iter()
        .map(|a| (a.action.as_str(), a.count))
        .collect();
    assert_eq!(top, [("Add user", 2), ("Delete user", 1)]);
    assert_eq!(ann.last_used, Some(utc("2024-06-10T11:00:00Z")));
    // ... and one after the window ended.
    assert_eq!(ann.used_after_window, 1);
    assert_eq!(ann.duration_seconds, 8 * 3600);
    for id in ["ann-grant", "ann-grant-dir", "ann-end", "ann-approve"] {
        assert!(
            ann.event_ids.iter().any(|e| e == id),
            "{id} in {:?}",
            ann.event_ids
        );
    }
}

#[test]
fn a_self_approved_activation_never_revoked_is_overdue_and_unused() {
    let access = audit_fixtures();
    let bob = grant(&access, "bob@contoso.example", "Security Administrator");
    assert_eq!(bob.approver.as_deref(), Some("bob@contoso.example"));
    assert!(bob.self_approved);
    assert_eq!(bob.status, Status::Held);
    assert_eq!(bob.ended_at, None);
    assert!(bob.overdue);
    assert!(bob.never_used && !bob.used);
    assert_eq!(bob.justification, None);
}

#[test]
fn a_standing_role_given_to_oneself_is_self_approved_and_never_overdue() {
    let access = audit_fixtures();
    let carl = grant(&access, "carl@contoso.example", "Global Administrator");
    assert_eq!(carl.lifetime, Lifetime::Standing);
    assert_eq!(carl.scheduled_end, None);
    assert!(carl.self_approved && !carl.overdue);
    assert_eq!(carl.approver, None);
}

#[test]
fn a_policy_attachment_is_paired_with_its_detachment_and_counts_use_only_while_held() {
    let access = audit_fixtures();
    // Named as the identity the resolver gives the IAM user the grant names.
    let eve = grant(
        &access,
        "arn:aws:iam::111122223333:user/eve",
        "AdministratorAccess",
    );
    assert_eq!(eve.grantee_as_written, "eve");
    assert_eq!(eve.scope, "111122223333");
    assert_eq!(eve.granted_by, "arn:aws:iam::111122223333:user/ops");
    assert_eq!(eve.ended_at, Some(utc("2024-06-10T15:00:00Z")));
    assert_eq!(eve.ended_by.as_deref(), Some("DetachUserPolicy"));
    // CreateUser, CreateAccessKey, CreateUser; not the CreateUser after the detachment.
    assert_eq!(eve.privileged_actions_in_window, 3);
    assert_eq!(eve.used_after_window, 0);
    assert!(eve.event_ids.contains(&"eve-grant".to_string()));
    assert!(eve.event_ids.contains(&"eve-end".to_string()));
}

#[test]
fn role_assumptions_into_privileged_roles_are_elevations_that_expire() {
    let access = audit_fixtures();
    let frank = grant(
        &access,
        "arn:aws:iam::111122223333:user/frank",
        "BreakGlassAdmin",
    );
    // The session's action, by the role's session actor, is the elevation's use.
    assert_eq!(
        frank.acted_as,
        ["arn:aws:sts::111122223333:assumed-role/BreakGlassAdmin/frank"]
    );
    assert_eq!(frank.lifetime, Lifetime::Expiring);
    assert_eq!(frank.status, Status::Expired);
    assert_eq!(frank.ended_at, Some(utc("2024-06-11T09:00:00Z")));
    assert_eq!(frank.privileged_actions_in_window, 1);
    assert!(
        access.grants.iter().all(|g| g.role != "ReadOnly"),
        "a read-only role is no elevation"
    );
}

#[test]
fn the_summary_counts_what_auditors_look_for_first() {
    let s = audit_fixtures().summary;
    assert_eq!(s.grants, 8);
    assert_eq!(s.never_revoked, 1, "bob");
    assert_eq!(s.overdue, 1);
    assert_eq!(s.self_approved, 2, "bob and carl");
    assert_eq!(s.used_after_window, 1, "ann");
    assert_eq!(s.without_approver, 6);
    assert_eq!(s.unused, 5);
    let line = s.line();
    assert!(
        line.contains("1 never revoked") && line.contains("2 self-approved"),
        "{line}"
    );
}

#[test]
fn the_review_lists_the_privileged_holdings_at_the_end_of_the_logs() {
    let access = audit_fixtures();
    let spec = AccessSpec::default();
    let holdings = access::review(&access.grants, &spec, access.span.1);
    let mut held: Vec<(&str, &str)> = holdings
        .iter()
        .map(|h| (h.principal.as_str(), h.role.as_str()))
        .collect();
    held.sort();
    // Ann's activation expired, Eve's policy was detached, Frank's session ended.
    assert_eq!(
        held,
        [
            ("=hyperlink(\"http://x\")", "IAMFullAccess"),
            ("bob", "organization owner"),
            ("bob@contoso.example", "Security Administrator"),
            ("carl@contoso.example", "Global Administrator"),
            ("temp@okta.example", "Super administrator"),
        ]
    );
    let carl = holdings
        .iter()
        .find(|h| h.principal == "carl@contoso.example")
        .unwrap();
    assert_eq!(carl.since, utc("2024-06-10T11:00:00Z"));
    assert_eq!(carl.granted_by, "carl@contoso.example");
    assert_eq!(carl.last_used, None);
    assert!(
        carl.recommendation.starts_with("Deny: not used"),
        "{}",
        carl.recommendation
    );
}

fn fixture_dir() -> String {
    fixture("access").display().to_string()
}

#[test]
fn access_json_keeps_the_contract() {
    let out = run(&["access", &fixture_dir(), "--format", "json"]);
    assert!(out.status.success());
    let rows: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 8);
    for row in rows {
        for key in [
            "grantee",
            "role",
            "scope",
            "provider",
            "granted_by",
            "approver",
            "justification",
            "granted_at",
            "scheduled_end",
            "ended_at",
            "used",
            "privileged_actions_in_window",
            "event_ids",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
        assert!(row["used"].is_boolean());
        assert!(row["event_ids"].is_array());
    }
    let bob = rows
        .iter()
        .find(|r| r["grantee"] == "bob@contoso.example")
        .unwrap();
    assert_eq!(bob["ended_at"], Value::Null, "null while still held");
    assert_eq!(bob["granted_at"], "2024-06-10T09:02:00Z");
    assert_eq!(bob["approver"], "bob@contoso.example");
    // The scheduled end of the activation's own record (2 h), not the default 8 h window.
    assert_eq!(bob["scheduled_end"], "2024-06-10T11:02:00Z");
    let ann = rows
        .iter()
        .find(|r| r["grantee"] == "ann@contoso.example")
        .unwrap();
    assert_eq!(ann["ended_at"], "2024-06-10T16:05:00Z");
    assert_eq!(ann["privileged_actions_in_window"], 3);
    // The PIM justification and ticket, read from the activation's original record.
    assert_eq!(ann["justification"], "Fix the mail flow rule (INC0042)");
    assert_eq!(ann["ticket"], "ServiceNow INC0042");
    assert_eq!(ann["top_actions"][0]["action"], "Add user");
    assert_eq!(ann["top_actions"][0]["count"], 2);
}

#[test]
fn access_csv_neutralizes_formulas_and_the_export_carries_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.csv");
    let out = run(&[
        "access",
        &fixture_dir(),
        "--format",
        "csv",
        "--out",
        path.to_str().unwrap(),
        "--author",
        "auditor@example",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.starts_with("grantee,grantee_type,role,scope,provider,"),
        "{text}"
    );
    assert!(text.contains("'=hyperlink("), "{text}");
    assert!(!text.contains(",=hyperlink"), "{text}");
    // The evidence is a sidecar: the CSV stays a plain table.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("access.csv.manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["tool"], "trailscope");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["made_by"], "auditor@example");
    assert!(manifest["made_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        manifest["export"]["sha256"],
        hex(&Sha256::digest(&bytes)),
        "the export's own hash"
    );
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 4);
    for input in inputs {
        let name = input["name"].as_str().unwrap();
        let sha = hex(&Sha256::digest(std::fs::read(Path::new(name)).unwrap()));
        assert_eq!(input["sha256"], sha, "{name}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_review_csv_has_the_columns_of_entra_review_history_left_for_the_reviewer() {
    let out = run(&["access", &fixture_dir(), "--review", "--format", "csv"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &headers[..11],
        [
            "principal",
            "type",
            "resource",
            "scope",
            "provider",
            "decision",
            "justification",
            "reviewer",
            "applied_by",
            "applied_date",
            "recommendation"
        ]
    );
    assert_eq!(headers.last().map(String::as_str), Some("reviewer_note"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    let carl = rows
        .iter()
        .find(|r| &r[0] == "carl@contoso.example")
        .unwrap();
    assert_eq!(&carl[1], "User");
    assert_eq!(&carl[2], "Global Administrator");
    assert_eq!(&carl[5], "", "decision is the reviewer's");
    assert!(carl[10].starts_with("Deny: not used"));
    assert_eq!(&carl[11], "2024-06-10T11:00:00Z", "since, in UTC");
}

#[test]
fn access_markdown_is_escaped_and_names_its_inputs_with_their_hashes() {
    let out = run(&[
        "access",
        &fixture_dir(),
        "--format",
        "md",
        "--author",
        "a@b",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with("# Access audit"), "{text}");
    let sha = hex(&Sha256::digest(
        std::fs::read(fixture("access/access-okta.ndjson")).unwrap(),
    ));
    assert!(text.contains(&sha), "{text}");
    assert!(text.contains("\\=hyperlink\\(\\\"http\\:"), "{text}");
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn the_real_samples_give_sane_rows_for_every_entra_role_grant() {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap();
    let store = load(&[Path::new(&dir)]);
    let config = Config::builtin().unwrap();
    let access = access::audit(
        store.frame(),
        &config,
        &AccessSpec::default(),
        Some(store.identities()),
    )
    .unwrap();
    // Every successful Entra role grant of the samples (PIM activations included) is a row.
    let rows = crate::util::rows(store.frame());
    let entra_grants: Vec<&String> = rows
        .iter()
        .filter(|r| r["provider"] == "entra" && r["outcome"] == "success")
        .filter(|r| {
            r["action"].starts_with("Add member to role") && !r["action"].contains("request")
        })
        .map(|r| &r["event_id"])
        .collect();
    for id in entra_grants {
        assert!(
            access.grants.iter().any(|g| g.event_ids.contains(id)),
            "{id} has no row"
        );
    }
    for g in &access.grants {
        assert!(!g.grantee.is_empty() && !g.role.is_empty(), "{g:#?}");
        assert!(g.ended_at.is_none_or(|e| e >= g.granted_at), "{g:#?}");
        assert!(g.duration_seconds >= 0);
        assert_eq!(g.used, g.privileged_actions_in_window > 0);
        // Every row stands on records (some real exports carry no event id).
        assert!(!g.record_rows.is_empty(), "{g:#?}");
    }
    assert!(!access.grants.is_empty(), "the samples hold grants");
}
