//! The lifecycle rules (`jit-grant-not-revoked-or-overused`, `nhi-secret-hygiene`,
//! `permission-creep`) on the real event shapes of `tests/fixtures/detect/lifecycle-*` and
//! on generated Entra PIM histories: what a responder reads (rule, actor, events, reason).

use std::path::Path;

use serde_json::{Value, json};
use trailscope::config::Config;
use trailscope::detectors::{self, Finding, Severity};

use crate::util::{fixture, load};

const JIT: &str = "jit-grant-not-revoked-or-overused";
const SECRETS: &str = "nhi-secret-hygiene";
const CREEP: &str = "permission-creep";

fn fixture_findings(config: &str) -> Vec<Finding> {
    let store = load(&[fixture("detect").as_path()]);
    let config = Config::overlay(config, Path::new("user.toml")).unwrap();
    detectors::run(store.frame(), &config).unwrap()
}

/// The finding of `rule` holding event `id`.
fn holding<'a>(findings: &'a [Finding], rule: &str, id: &str) -> Option<&'a Finding> {
    findings
        .iter()
        .find(|f| f.rule == rule && f.event_ids.iter().any(|e| e == id))
}

fn must<'a>(findings: &'a [Finding], rule: &str, id: &str) -> &'a Finding {
    holding(findings, rule, id).unwrap_or_else(|| {
        panic!(
            "no {rule} finding holds {id}: {:#?}",
            findings
                .iter()
                .filter(|f| f.rule == rule)
                .collect::<Vec<_>>()
        )
    })
}

fn says(f: &Finding, parts: &[&str]) {
    for p in parts {
        assert!(f.reason.contains(p), "{p:?} not in {:?}", f.reason);
    }
}

#[test]
fn jit_grants_not_revoked_are_found_with_their_window_and_the_data_end() {
    let findings = fixture_findings("");
    let ann = must(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-1");
    assert_eq!(ann.actor, "ann@contoso.example");
    assert_eq!(ann.severity, Severity::Medium);
    assert_eq!(ann.mitre, ["T1548.005", "T1098.003"]);
    says(
        ann,
        &[
            "Exchange Administrator",
            "2024-06-10 08:00 UTC",
            "temporary for 8 h",
            "should have ended by 2024-06-10 16:15 UTC",
            "no removal or expiry is in the data",
        ],
    );
    // Removed, but two days late: both events, and how late.
    let dora = must(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-3");
    assert_eq!(
        dora.event_ids,
        [
            "pos-jit-grant-not-revoked-or-overused-3",
            "pos-jit-grant-not-revoked-or-overused-4"
        ]
    );
    says(
        dora,
        &["removed only at 2024-06-14 07:00 UTC", "39.8 h after"],
    );
    // Configured JIT-managed entitlements in AWS and GitHub.
    let ivan = must(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-5");
    assert_eq!(ivan.actor, "ivan");
    says(ivan, &["group jit-admins", "AddUserToGroup by ops"]);
    let kit = must(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-6");
    says(
        kit,
        &["team acme/jit-oncall", "team.add_member by octo-admin"],
    );
    // Expired on time, removed in time, not temporary, or still open when the data ends.
    for n in 1..=9 {
        let id = format!("neg-jit-grant-not-revoked-or-overused-{n}");
        assert!(holding(&findings, JIT, &id).is_none(), "{id} found");
    }
}

#[test]
fn jit_use_after_the_window_is_high_and_names_the_action() {
    let findings = fixture_findings("");
    let carl = must(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-2");
    assert_eq!(carl.actor, "carl@contoso.example");
    assert_eq!(carl.severity, Severity::High);
    assert_eq!(
        carl.event_ids,
        ["h-jit-carl-1", "pos-jit-grant-not-revoked-or-overused-2"]
    );
    says(
        carl,
        &[
            "after their temporary access ended at 2024-06-10 18:00 UTC",
            "Add member to role on mole@contoso.example at 2024-06-10 23:30 UTC",
            "User Administrator",
        ],
    );
}

#[test]
fn jit_windows_and_rules_follow_the_configuration() {
    // A 72-hour window covers dora's removal two days later; ann's grant stays a finding,
    // since the data runs 4.5 days past it.
    let findings = fixture_findings("[detect.jit]\nwindow_hours = 72\n");
    assert!(holding(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-3").is_none());
    assert!(holding(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-1").is_some());
    // Per-role window.
    let findings =
        fixture_findings("[detect.jit.roles.\"Application Administrator\"]\nhours = 50\n");
    assert!(holding(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-3").is_none());
    // Nothing managed: the AWS group and GitHub team grants are permanent.
    let findings = fixture_findings("[detect.jit]\nmanaged = []\n");
    assert!(holding(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-5").is_none());
    assert!(holding(&findings, JIT, "pos-jit-grant-not-revoked-or-overused-6").is_none());
    let off = fixture_findings(
        "[detect.rules.jit-grant-not-revoked-or-overused]\nenabled = false\n[detect.rules.permission-creep]\nenabled = false\n[detect.rules.nhi-secret-hygiene]\nenabled = false\n",
    );
    assert!(
        off.iter()
            .all(|f| ![JIT, SECRETS, CREEP].contains(&f.rule.as_str()))
    );
}

#[test]
fn secret_hygiene_sub_rules_word_their_evidence() {
    let findings = fixture_findings("");
    // (a) broken rotation, then a credential by someone new to the app.
    let broken = must(&findings, SECRETS, "pos-nhi-secret-hygiene-10");
    assert_eq!(broken.actor, "billing-export");
    assert_eq!(broken.severity, Severity::Medium);
    assert_eq!(broken.count, 7);
    assert!(
        broken
            .event_ids
            .contains(&"pos-nhi-secret-hygiene-1".to_string())
    );
    says(
        broken,
        &[
            "failed 6 sign-ins on an expired or invalid client secret (7000222)",
            "nina@contoso.example added a credential",
            "had not managed its credentials before",
        ],
    );
    // (b) a new key while the old one stays.
    let gus = must(&findings, SECRETS, "pos-nhi-secret-hygiene-40");
    assert_eq!(gus.actor, "gus");
    assert_eq!(gus.severity, Severity::Info);
    says(
        gus,
        &["no credential of gus was deleted or deactivated in the 7 days after"],
    );
    // (c) one long-term key from three networks.
    let key = must(&findings, SECRETS, "pos-nhi-secret-hygiene-20");
    assert_eq!(key.count, 3);
    assert_eq!(key.severity, Severity::Medium);
    says(
        key,
        &[
            "AKIAREPORTERKEY",
            "3 addresses in 3 networks within 20 min",
            "203.0.113.5",
        ],
    );
    // (d) a self-created key used at once from a new address.
    let eve = must(&findings, SECRETS, "pos-nhi-secret-hygiene-31");
    assert_eq!(eve.actor, "arn:aws:iam::111122223333:user/eve");
    says(
        eve,
        &[
            "AKIAEVENEWKEY",
            "20 min later from 203.0.113.200",
            "had not used before",
        ],
    );
    // Root keys are left to root-or-breakglass-use.
    assert!(holding(&findings, SECRETS, "pos-root-or-breakglass-use-2").is_none());
    for n in [10, 11, 12, 20, 21, 22, 30, 31, 40, 41] {
        let id = format!("neg-nhi-secret-hygiene-{n}");
        assert!(holding(&findings, SECRETS, &id).is_none(), "{id} found");
    }
}

#[test]
fn permission_creep_lists_the_grants_still_held() {
    let findings = fixture_findings("");
    let intern = must(&findings, CREEP, "pos-permission-creep-1");
    assert_eq!(intern.actor, "intern");
    assert_eq!(intern.severity, Severity::Low);
    assert_eq!(
        intern.event_ids,
        [
            "pos-permission-creep-1",
            "pos-permission-creep-2",
            "pos-permission-creep-3"
        ]
    );
    says(
        intern,
        &[
            "intern gathered 3 privileged grants",
            "(4 days) and none was removed",
            "AmazonEC2ReadOnlyAccess (AttachUserPolicy by ops, 2024-06-06 15:00 UTC)",
        ],
    );
    // A role (non-human) given an inline admin policy: medium from one grant.
    let ci = must(&findings, CREEP, "pos-aws-admin-policy-attached-2");
    assert_eq!((ci.actor.as_str(), ci.severity), ("ci", Severity::Medium));
    says(ci, &["non-human identity ci holds 1 critical-tier grant"]);
    // rita had one of her three policies removed.
    for n in 1..=4 {
        let id = format!("neg-permission-creep-{n}");
        assert!(holding(&findings, CREEP, &id).is_none(), "{id} found");
    }
}

// ---------------------------------------------------------------------------------------
// Generated Entra PIM histories
// ---------------------------------------------------------------------------------------

const MON: i64 = 1_717_372_800; // 2024-06-03T00:00:00Z

fn iso(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// An Entra directory audit in the `directoryAudits` shape, targets role then user.
fn audit(id: &str, secs: i64, op: &str, by: &str, user: &str, role: Option<&str>) -> Value {
    let mut targets = Vec::new();
    if let Some(role) = role {
        targets.push(
            json!({"id": "r-1", "displayName": role, "type": "Role", "modifiedProperties": []}),
        );
    }
    targets.push(json!({"id": "u-1", "displayName": user, "type": "User", "userPrincipalName": user, "modifiedProperties": []}));
    json!({"id": id, "category": "RoleManagement", "correlationId": format!("{id}-c"), "result": "success", "resultReason": "",
        "activityDisplayName": op, "activityDateTime": iso(secs), "loggedByService": if op.contains("PIM") { "PIM" } else { "Core Directory" },
        "operationType": "Assign", "initiatedBy": {"app": null, "user": {"id": "u-i", "userPrincipalName": by, "ipAddress": "192.0.2.60"}},
        "targetResources": targets, "additionalDetails": []})
}

fn run_audits(records: &[Value], config: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.path().join("audits.ndjson"), text).unwrap();
    let store = load(&[dir.path()]);
    let config = Config::overlay(config, Path::new("user.toml")).unwrap();
    detectors::run(store.frame(), &config).unwrap()
}

const ACTIVATE: &str = "Add member to role completed (PIM activation)";
const EXPIRE: &str = "Remove member from role (PIM activation expired)";

#[test]
fn jit_activations_too_often_are_low() {
    let mut records = Vec::new();
    // olga: 12 one-hour activations in 6 days (each expires on time); pia: 5.
    for (user, n) in [("olga@contoso.example", 12), ("pia@contoso.example", 5)] {
        for i in 0..n {
            let t = MON + i * 12 * 3600;
            let role = Some("Security Administrator");
            records.push(audit(
                &format!("a-{user}-{i}"),
                t,
                ACTIVATE,
                user,
                user,
                role,
            ));
            records.push(audit(
                &format!("e-{user}-{i}"),
                t + 3600,
                EXPIRE,
                "MS-PIM",
                user,
                role,
            ));
        }
    }
    records.push(audit(
        "last",
        MON + 10 * 86_400,
        "Update user",
        "x@contoso.example",
        "y@contoso.example",
        None,
    ));
    let findings = run_audits(&records, "");
    let jit: Vec<&Finding> = findings.iter().filter(|f| f.rule == JIT).collect();
    assert_eq!(jit.len(), 1, "{jit:#?}");
    let olga = jit[0];
    assert_eq!(olga.actor, "olga@contoso.example");
    assert_eq!(olga.severity, Severity::Low);
    assert_eq!(olga.count, 12);
    says(
        olga,
        &[
            "12 times",
            "more than 10 in 7 days",
            "Security Administrator",
        ],
    );
}

#[test]
fn jit_use_beyond_the_roles_purpose_is_found_inside_the_window() {
    let role = Some("Helpdesk Administrator");
    let records = vec![
        audit(
            "act-1",
            MON + 9 * 3600,
            ACTIVATE,
            "quinn@contoso.example",
            "quinn@contoso.example",
            role,
        ),
        // Inside the window: a Global Administrator grant to someone else (critical tier).
        audit(
            "beyond-1",
            MON + 10 * 3600,
            "Add member to role",
            "quinn@contoso.example",
            "rex@contoso.example",
            Some("Global Administrator"),
        ),
        audit(
            "exp-1",
            MON + 17 * 3600,
            EXPIRE,
            "MS-PIM",
            "quinn@contoso.example",
            role,
        ),
        audit(
            "last",
            MON + 3 * 86_400,
            "Update user",
            "x@contoso.example",
            "y@contoso.example",
            None,
        ),
    ];
    let scoped = "[detect.jit.roles.\"Helpdesk Administrator\"]\nactions = [\"Reset user password\", \"Update user\"]\n";
    let findings = run_audits(&records, scoped);
    let f = must(&findings, JIT, "beyond-1");
    assert_eq!(f.actor, "quinn@contoso.example");
    assert_eq!(f.severity, Severity::High, "against another identity");
    assert_eq!(f.event_ids, ["act-1", "beyond-1"]);
    says(
        f,
        &[
            "beyond its purpose (Reset user password, Update user)",
            "(against another identity)",
        ],
    );
    // Without a configured purpose the same action inside the window is not a JIT finding.
    let findings = run_audits(&records, "");
    assert!(holding(&findings, JIT, "beyond-1").is_none());
}
