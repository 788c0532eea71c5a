//! The behavioural rules judge a person or a role, not each name it appears under: real
//! CloudTrail names a person differently in every account (`assumed-role/AWSReservedSSO_*/
//! <e-mail>`) and a workload differently in every process (`assumed-role/<role>/
//! botocore-session-<n>`). A person visiting a rarely used account is not dormant, a
//! role's new session keeps the role's working hours, and a person or role that really
//! went quiet is still found, under whichever name it comes back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::{Value, json};
use trailscope::detectors::{Finding, Severity};

use crate::util::detect_dir;

const MON: i64 = 1_717_372_800; // 2024-06-03T00:00:00Z, a Monday
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const SSO_ROLE: &str = "AWSReservedSSO_Admin_0123456789abcdef";

fn iso(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).unwrap().to_string()
}

/// A call by `session` of `role` in `account`.
fn call(id: &str, secs: i64, account: &str, role: &str, session: &str, name: &str) -> Value {
    let source = if name.contains("Bucket") || name.contains("Object") {
        "s3"
    } else {
        "iam"
    };
    json!({"eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": format!("AROAEXAMPLE:{session}"),
            "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"), "accountId": account,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                "arn": format!("arn:aws:iam::{account}:role/{role}"), "accountId": account, "userName": role},
                "attributes": {"creationDate": "2024-06-01T00:00:00Z", "mfaAuthenticated": "false"}}},
        "eventTime": iso(secs), "eventSource": format!("{source}.amazonaws.com"), "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.10",
        "userAgent": "aws-cli/2.15.10 Python/3.11.6 Darwin/23.3.0",
        "requestParameters": if source == "iam" { json!({"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}) } else { Value::Null },
        "responseElements": null, "eventID": id, "readOnly": name.starts_with("List") || name.starts_with("Get"),
        "eventType": "AwsApiCall", "recipientAccountId": account})
}

/// A person's call through Identity Center in `account`.
fn person(id: &str, secs: i64, account: &str, who: &str, name: &str) -> Value {
    call(id, secs, account, SSO_ROLE, who, name)
}

fn write(dir: &Path, records: &[Value]) {
    std::fs::write(
        dir.join("trail.json"),
        serde_json::to_vec(&json!({"Records": records})).unwrap(),
    )
    .unwrap();
}

fn of_rule<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn a_persons_and_a_roles_other_names_are_not_dormant_but_a_quiet_person_or_role_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    // Thirty days (a pause of 15 makes dormancy). Ana works every day in her team's
    // account, and in two others once early and once three weeks later: each of those
    // accounts' names of her pauses 19 and 23 days, she never does.
    for day in 0..30 {
        records.push(person(
            &format!("ana-{day}"),
            MON + day * DAY + 15 * HOUR,
            "111122223333",
            "ana@example.com",
            "ListRoles",
        ));
    }
    for (account, days) in [("222233334444", [1, 20]), ("333344445555", [2, 25])] {
        for day in days {
            records.push(person(
                &format!("ana-{account}-{day}"),
                MON + day * DAY + 16 * HOUR,
                account,
                "ana@example.com",
                "AttachRolePolicy",
            ));
        }
    }
    // The etl role's sessions come and go daily; session 7 is seen on day 3 and day 22.
    for day in 0..30 {
        records.push(call(
            &format!("etl-{day}"),
            MON + day * DAY + 2 * HOUR,
            "111122223333",
            "etl",
            &format!("botocore-session-{}", 100 + day),
            "ListBuckets",
        ));
    }
    for day in [3, 22] {
        records.push(call(
            &format!("etl-7-{day}"),
            MON + day * DAY + 3 * HOUR,
            "111122223333",
            "etl",
            "botocore-session-7",
            "ListBuckets",
        ));
    }
    // Bob works three days in one account, then nothing for 23 days, and comes back in
    // another account, where his name is new: dormant as a person.
    for day in 0..3 {
        records.push(person(
            &format!("bob-{day}"),
            MON + day * DAY + 15 * HOUR,
            "111122223333",
            "bob@example.com",
            "ListRoles",
        ));
    }
    records.push(person(
        "bob-back",
        MON + 25 * DAY + 15 * HOUR,
        "222233334444",
        "bob@example.com",
        "AttachRolePolicy",
    ));
    // The reporter role's one session works two days; a new session comes 22 days later.
    for day in 0..2 {
        records.push(call(
            &format!("reporter-{day}"),
            MON + day * DAY + 4 * HOUR,
            "111122223333",
            "reporter",
            "botocore-session-1",
            "ListBuckets",
        ));
    }
    records.push(call(
        "reporter-back",
        MON + 24 * DAY + 4 * HOUR,
        "111122223333",
        "reporter",
        "botocore-session-2",
        "GetObject",
    ));
    write(dir.path(), &records);
    let findings = detect_dir(dir.path());
    let dormant = of_rule(&findings, "dormant-identity-reactivated");
    let returned: Vec<&str> = dormant
        .iter()
        .flat_map(|f| f.event_ids.iter().map(String::as_str))
        .collect();
    assert!(
        !returned
            .iter()
            .any(|id| id.starts_with("ana") || id.starts_with("etl")),
        "{dormant:#?}"
    );
    assert_eq!(dormant.len(), 2, "{dormant:#?}");
    let bob = dormant
        .iter()
        .find(|f| f.event_ids == ["bob-back"])
        .unwrap_or_else(|| panic!("{dormant:#?}"));
    assert_eq!(
        bob.actor,
        format!("arn:aws:sts::222233334444:assumed-role/{SSO_ROLE}/bob@example.com")
    );
    assert!(bob.severity >= Severity::High, "privileged: {bob:#?}");
    assert!(
        bob.reason.starts_with(
            "bob@example.com (person, 2 names in the logs) had no activity for 23 days"
        ),
        "{}",
        bob.reason
    );
    assert_eq!(bob.mitre, ["T1078.004"]);
    let reporter = dormant
        .iter()
        .find(|f| f.event_ids == ["reporter-back"])
        .unwrap_or_else(|| panic!("{dormant:#?}"));
    assert!(
        reporter
            .reason
            .starts_with("reporter (non-human, 2 names in the logs) had no activity for 23 days"),
        "{}",
        reporter.reason
    );
}

#[test]
fn working_hours_are_a_persons_across_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    // Two weeks of Mon-Fri 14:00-22:00 UTC (a working day at UTC-6) in her team's account,
    // with a privileged action each afternoon.
    for week in 0..2 {
        for day in 0..5 {
            let base = MON + (week * 7 + day) * DAY;
            for h in 0..8 {
                records.push(person(
                    &format!("h-{week}-{day}-{h}"),
                    base + (14 + h) * HOUR + 600,
                    "111122223333",
                    "kim@example.com",
                    "ListRoles",
                ));
            }
            records.push(person(
                &format!("h-{week}-{day}-p"),
                base + 16 * HOUR,
                "111122223333",
                "kim@example.com",
                "AttachRolePolicy",
            ));
        }
    }
    // In an account she rarely uses: Tuesday 21:30 UTC is her afternoon (outside the
    // configured 08:00-19:00 UTC a name with no history of its own would be judged by);
    // Monday 04:40 UTC is her Sunday night (her zone inferred as UTC-05).
    let other = "444455556666";
    records.push(person(
        "usual-elsewhere",
        MON + 15 * DAY + 21 * HOUR + 1800,
        other,
        "kim@example.com",
        "AttachRolePolicy",
    ));
    records.push(person(
        "late-elsewhere",
        MON + 14 * DAY + 4 * HOUR + 2400,
        other,
        "kim@example.com",
        "AttachRolePolicy",
    ));
    write(dir.path(), &records);
    let findings = detect_dir(dir.path());
    let off = of_rule(&findings, "off-hours-privileged-action");
    assert!(
        !off.iter()
            .any(|f| f.event_ids.iter().any(|e| e == "usual-elsewhere")),
        "{off:#?}"
    );
    let late = off
        .iter()
        .find(|f| f.event_ids.iter().any(|e| e == "late-elsewhere"))
        .unwrap_or_else(|| panic!("{off:#?}"));
    assert!(late.severity >= Severity::Medium, "{late:#?}");
    assert!(
        late.reason.contains("kim@example.com acted only Mon-Fri"),
        "{}",
        late.reason
    );
    assert!(
        late.reason.contains("on Sunday 23:40 UTC-05 (inferred)"),
        "{}",
        late.reason
    );
}

/// A Kubernetes audit event by `user` in `namespace` (`resource` `pods`, `pods/log`, or
/// `pods/exec`).
fn k8s(id: &str, secs: i64, user: &str, verb: &str, resource: &str, namespace: &str) -> Value {
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": id,
        "stage": "ResponseComplete", "verb": verb,
        "requestURI": format!("/api/v1/namespaces/{namespace}/{resource}/web-7d9f/{subresource}"),
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["198.51.100.21"], "userAgent": "kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819",
        "objectRef": {"resource": resource, "subresource": subresource, "namespace": namespace,
            "name": "web-7d9f", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": if subresource == "exec" { 101 } else { 200 }},
        "requestReceivedTimestamp": iso(secs), "stageTimestamp": iso(secs),
        "annotations": {"authorization.k8s.io/decision": "allow"}})
}

/// A person's first exec (after learning) into the namespace they work in every day is
/// routine (low); a first exec into a namespace they never worked in stays medium, and so
/// does one by a person whose only history there is the same day's.
#[test]
fn a_first_exec_into_ones_own_namespace_is_routine() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    // Two developers list and read the pods of `shop` every working day for two weeks.
    for day in 0..12 {
        for (who, n) in [("kim@corp.example", 0), ("lee@corp.example", 1)] {
            for hour in [9, 11, 14] {
                let id = format!("work-{n}-{day}-{hour}");
                let t = MON + day * DAY + hour * HOUR;
                records.push(k8s(&id, t, who, "get", "pods/log", "shop"));
            }
        }
    }
    let day12 = MON + 12 * DAY + 10 * HOUR;
    records.push(k8s(
        "exec-own",
        day12,
        "kim@corp.example",
        "create",
        "pods/exec",
        "shop",
    ));
    records.push(k8s(
        "exec-other",
        day12,
        "lee@corp.example",
        "create",
        "pods/exec",
        "payments",
    ));
    // Someone who looked around `billing` only minutes before reaching into it.
    for (i, who) in ["mo@corp.example"; 24].iter().enumerate() {
        let t = MON + (i as i64) * DAY / 2 + 9 * HOUR;
        records.push(k8s(&format!("mo-{i}"), t, who, "get", "pods", "web"));
    }
    let late = MON + 13 * DAY + 2 * HOUR;
    records.push(k8s(
        "mo-look",
        late,
        "mo@corp.example",
        "list",
        "pods",
        "billing",
    ));
    records.push(k8s(
        "exec-new",
        late + 60,
        "mo@corp.example",
        "create",
        "pods/exec",
        "billing",
    ));
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(dir.path().join("audit.log"), lines.join("\n") + "\n").unwrap();
    let findings = detect_dir(dir.path());
    let exec = |id: &str| {
        of_rule(&findings, "k8s-exec-into-pod")
            .into_iter()
            .find(|f| f.event_ids.iter().any(|e| e == id))
            .unwrap_or_else(|| panic!("no finding for {id}: {findings:#?}"))
    };
    let own = exec("exec-own");
    assert_eq!(own.severity, Severity::Low, "{own:#?}");
    assert!(
        own.reason
            .contains("into shop, where it worked on 12 earlier days"),
        "{}",
        own.reason
    );
    for id in ["exec-other", "exec-new"] {
        let f = exec(id);
        assert_eq!(f.severity, Severity::Medium, "{f:#?}");
        assert!(
            f.reason.contains("the first time this actor did so"),
            "{}",
            f.reason
        );
    }
}
