//! `log-integrity-gap` (silent streams, altered copies, clocks) and the sub-rules added to
//! existing rules: tampering escalated by nearby privileged actions, Okta sessions without
//! MFA, Kubernetes secret-read bursts and sensitive role grants. Generated histories in the
//! providers' real shapes, plus the `tests/fixtures/detect/k8s-integrity.log` fixture.

use std::path::Path;

use serde_json::{Value, json};
use trailscope::config::Config;
use trailscope::detectors::{self, Finding, Severity};

use crate::util::{fixture, load};

/// 2024-03-04T00:00:00Z, a Monday.
const MON: i64 = 1_709_510_400;
const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn iso(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn detect(dir: &Path) -> Vec<Finding> {
    let store = load(&[dir]);
    detectors::run(store.frame(), &Config::builtin().unwrap()).unwrap()
}

fn of<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

fn k8s(id: &str, secs: i64, user: &str, verb: &str, resource: &str, name: &str) -> Value {
    json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": id, "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/shop/{resource}/{name}"), "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]}, "sourceIPs": ["10.0.0.2"],
        "userAgent": "kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819",
        "objectRef": {"resource": resource, "namespace": "shop", "name": name, "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": iso(secs), "stageTimestamp": iso(secs)})
}

fn ct(id: &str, secs: i64, user: &str, name: &str, source: &str, params: Value) -> Value {
    json!({"eventVersion": "1.09", "userIdentity": {"type": "IAMUser", "principalId": "AIDA", "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333", "userName": user},
        "eventTime": iso(secs), "eventSource": format!("{source}.amazonaws.com"), "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.10",
        "userAgent": "aws-cli/2.15.10 Python/3.11.6 Linux/6.5", "requestParameters": params, "responseElements": null, "eventID": id,
        "readOnly": name.starts_with("Get") || name.starts_with("List"), "eventType": "AwsApiCall", "recipientAccountId": "111122223333"})
}

fn okta(id: &str, secs: i64, user: &str, kind: &str, session: &str) -> Value {
    json!({"actor": {"id": "00u1", "type": "User", "alternateId": user, "displayName": user},
        "client": {"ipAddress": "192.0.2.10", "geographicalContext": {"city": "Berlin", "country": "Germany"}},
        "authenticationContext": {"externalSessionId": session},
        "eventType": kind, "outcome": {"result": "SUCCESS"}, "published": iso(secs), "uuid": id, "version": "0"})
}

fn write_lines(dir: &Path, name: &str, records: &[Value]) {
    let text: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(dir.join(name), text.join("\n") + "\n").unwrap();
}

fn write_trail(dir: &Path, name: &str, records: &[Value]) {
    std::fs::write(
        dir.join(name),
        serde_json::to_vec(&json!({"Records": records})).unwrap(),
    )
    .unwrap();
}

/// A controller updating replicasets every five minutes from `from` to `to`, except `holes`.
fn controller(prefix: &str, from: i64, to: i64, holes: &[(i64, i64)]) -> Vec<Value> {
    (0..)
        .map(|i| from + i * 5 * MIN)
        .take_while(|t| *t < to)
        .filter(|t| !holes.iter().any(|(a, b)| t >= a && t < b))
        .map(|t| {
            k8s(
                &format!("{prefix}-{t}"),
                t,
                "system:serviceaccount:kube-system:replicaset-controller",
                "update",
                "replicasets",
                "web",
            )
        })
        .collect()
}

#[test]
fn silent_streams_are_judged_against_their_own_floor() {
    let dir = tempfile::tempdir().unwrap();
    // An always-on Kubernetes stream, silent on Friday 03:00-08:00.
    let hole = (MON + 4 * DAY + 3 * HOUR, MON + 4 * DAY + 8 * HOUR);
    let events = controller("c", MON, MON + 9 * DAY, &[hole]);
    write_lines(dir.path(), "audit.log", &events);
    // A person's CloudTrail: weekdays 09:00-17:00 only (nights and the weekend are silent).
    let mut people = Vec::new();
    for day in 0..5 {
        for h in 9..17 {
            for k in 0..6 {
                let t = MON + day * DAY + h * HOUR + k * 10 * MIN;
                people.push(ct(
                    &format!("p-{t}"),
                    t,
                    "kim",
                    "ListUsers",
                    "iam",
                    Value::Null,
                ));
            }
        }
    }
    write_trail(dir.path(), "trail.json", &people);
    // A sparse Okta stream: four sign-ins a day.
    let sparse: Vec<Value> = (0..7 * 4)
        .map(|i| {
            let t = MON + i * 6 * HOUR + 7 * MIN;
            okta(
                &format!("o-{i}"),
                t,
                "ann@example.com",
                "user.authentication.sso",
                "s",
            )
        })
        .collect();
    write_lines(dir.path(), "okta.ndjson", &sparse);

    let findings = detect(dir.path());
    let gaps = of(&findings, "log-integrity-gap");
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    let f = gaps[0];
    assert_eq!(f.actor, "kubernetes/audit");
    assert_eq!(f.severity, Severity::Medium);
    let before = format!("c-{}", hole.0 - 5 * MIN);
    let after = format!("c-{}", hole.1);
    assert_eq!(f.event_ids, vec![before, after]);
    assert!(
        f.reason.contains(
            "was silent for 5 h 5 min, from 2024-03-08 02:55 UTC to 2024-03-08 08:00 UTC"
        ),
        "{}",
        f.reason
    );
    assert!(
        f.reason.contains("under 10 min (99th percentile)"),
        "{}",
        f.reason
    );
}

#[test]
fn a_silence_after_tampering_is_high_and_a_stop_is_low() {
    let dir = tempfile::tempdir().unwrap();
    // A CloudTrail stream busy around the clock, silent for eight hours after StopLogging.
    let stop = MON + 3 * DAY + 12 * HOUR;
    let mut trail = Vec::new();
    let mut t = MON;
    while t < MON + 10 * DAY {
        if !(stop..stop + 8 * HOUR).contains(&t) {
            trail.push(ct(
                &format!("ci-{t}"),
                t,
                "ci-bot",
                "GetObject",
                "s3",
                Value::Null,
            ));
        }
        t += 5 * MIN;
    }
    trail.push(ct(
        "stop-1",
        stop + 30,
        "mallory",
        "StopLogging",
        "cloudtrail",
        json!({"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"}),
    ));
    write_trail(dir.path(), "trail.json", &trail);
    // A Kubernetes stream that stops on the second Tuesday and never comes back.
    let stops = MON + 8 * DAY + 6 * HOUR;
    write_lines(dir.path(), "audit.log", &controller("c", MON, stops, &[]));

    let findings = detect(dir.path());
    let gaps = of(&findings, "log-integrity-gap");
    let aws = gaps
        .iter()
        .find(|f| f.actor == "aws/111122223333/management")
        .unwrap_or_else(|| panic!("{gaps:#?}"));
    assert_eq!(aws.severity, Severity::High);
    assert_eq!(aws.event_ids[0], "stop-1");
    assert!(
        aws.reason.contains("StopLogging by mallory")
            && aws.reason.contains("changed audit logging"),
        "{}",
        aws.reason
    );
    let k8s = gaps
        .iter()
        .find(|f| f.actor == "kubernetes/audit")
        .unwrap_or_else(|| panic!("{gaps:#?}"));
    assert_eq!(k8s.severity, Severity::Low);
    assert!(
        k8s.reason.contains(
            "has no events after 2024-03-12 05:55 UTC while the logs loaded with it go on"
        ),
        "{}",
        k8s.reason
    );
}

#[test]
fn altered_copies_name_what_differs_and_stages_are_not_copies() {
    let findings = detect(&fixture("detect"));
    let gaps = of(&findings, "log-integrity-gap");
    let altered = gaps
        .iter()
        .find(|f| f.event_ids.iter().any(|e| e == "pos-log-integrity-gap-1"))
        .unwrap_or_else(|| panic!("{gaps:#?}"));
    assert_eq!(altered.severity, Severity::High);
    assert_eq!(altered.count, 2);
    assert!(
        altered
            .reason
            .contains("appears 2 times with different content")
            && altered
                .reason
                .contains("actor mallory@example.com vs dev@example.com")
            && altered
                .reason
                .contains("source address 203.0.113.9 vs 198.51.100.7"),
        "{}",
        altered.reason
    );
    for id in ["neg-log-integrity-gap-1", "neg-log-integrity-gap-2"] {
        assert!(
            !gaps.iter().any(|f| f.event_ids.iter().any(|e| e == id)),
            "{id}: {gaps:#?}"
        );
    }
}

#[test]
fn clock_anomalies_are_low() {
    let dir = tempfile::tempdir().unwrap();
    // Thirty events in an hour, and one stamped five days later.
    let mut file: Vec<Value> = (0..30)
        .map(|i| {
            k8s(
                &format!("k-{i}"),
                MON + i * 2 * MIN,
                "dev@example.com",
                "get",
                "pods",
                "web",
            )
        })
        .collect();
    file.push(k8s(
        "late-1",
        MON + 5 * DAY,
        "dev@example.com",
        "get",
        "pods",
        "web",
    ));
    write_lines(dir.path(), "audit.log", &file);
    // One event a day for thirty days: no jump, no finding.
    let daily: Vec<Value> = (0..30)
        .map(|i| {
            okta(
                &format!("d-{i}"),
                MON + i * DAY,
                "ann@example.com",
                "user.authentication.sso",
                "s",
            )
        })
        .collect();
    write_lines(dir.path(), "okta.ndjson", &daily);
    // An event in 2099.
    write_lines(
        dir.path(),
        "future.ndjson",
        &[okta(
            "future-1",
            4_102_444_799,
            "ann@example.com",
            "user.authentication.sso",
            "s",
        )],
    );

    let findings = detect(dir.path());
    let gaps = of(&findings, "log-integrity-gap");
    let late = gaps
        .iter()
        .find(|f| f.event_ids == vec!["late-1".to_string()])
        .unwrap_or_else(|| panic!("{gaps:#?}"));
    assert_eq!(late.severity, Severity::Low);
    assert!(
        late.reason
            .contains("after the rest of their file, which ends 2024-03-04 00:58 UTC"),
        "{}",
        late.reason
    );
    let future = gaps
        .iter()
        .find(|f| f.event_ids == vec!["future-1".to_string()])
        .unwrap_or_else(|| panic!("{gaps:#?}"));
    assert!(
        future
            .reason
            .contains("stamped in the future, from 2099-12-31 23:59 UTC"),
        "{}",
        future.reason
    );
    assert!(
        !gaps
            .iter()
            .any(|f| f.event_ids.iter().any(|e| e.starts_with("d-"))),
        "{gaps:#?}"
    );
}

#[test]
fn tampering_escalates_when_the_actor_acted_privileged_within_an_hour() {
    let dir = tempfile::tempdir().unwrap();
    let t = MON + 10 * HOUR;
    let policy =
        json!({"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"});
    let flow = json!({"DeleteFlowLogsRequest": {"FlowLogId": {"item": "fl-1"}}});
    let records = vec![
        ct(
            "attach-1",
            t,
            "ops",
            "AttachRolePolicy",
            "iam",
            policy.clone(),
        ),
        ct(
            "flow-1",
            t + 30 * MIN,
            "ops",
            "DeleteFlowLogs",
            "ec2",
            flow.clone(),
        ),
        // bob's privileged action is three hours before his tampering: no escalation.
        ct(
            "attach-2",
            t - 3 * HOUR,
            "bob",
            "AttachRolePolicy",
            "iam",
            policy,
        ),
        ct("flow-2", t, "bob", "DeleteFlowLogs", "ec2", flow),
    ];
    write_trail(dir.path(), "trail.json", &records);
    let findings = detect(dir.path());
    let tamper = of(&findings, "audit-log-tampering");
    let ops = tamper
        .iter()
        .find(|f| f.event_ids == vec!["flow-1".to_string()])
        .unwrap();
    assert_eq!(ops.severity, Severity::Critical);
    assert!(
        ops.reason.contains("escalated: within 60 minutes the same actor made 1 privileged action(s): AttachRolePolicy at 10:00 UTC"),
        "{}",
        ops.reason
    );
    let bob = tamper
        .iter()
        .find(|f| f.event_ids == vec!["flow-2".to_string()])
        .unwrap();
    assert_eq!(bob.severity, Severity::High);
    assert!(!bob.reason.contains("escalated"), "{}", bob.reason);
}

#[test]
fn okta_sessions_without_mfa_where_mfa_is_the_norm() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    for day in 0..5 {
        let t = MON + day * DAY + 9 * HOUR;
        // alice: every session verified with MFA in the same session.
        log.push(okta(
            &format!("a-{day}"),
            t,
            "alice@example.com",
            "user.session.start",
            &format!("sa{day}"),
        ));
        log.push(okta(
            &format!("am-{day}"),
            t + 5,
            "alice@example.com",
            "user.authentication.auth_via_mfa",
            &format!("sa{day}"),
        ));
        // bob never uses MFA: not his norm, no finding.
        log.push(okta(
            &format!("b-{day}"),
            t + HOUR,
            "bob@example.com",
            "user.session.start",
            &format!("sb{day}"),
        ));
    }
    let t = MON + 5 * DAY + 9 * HOUR;
    log.push(okta(
        "a-nomfa",
        t,
        "alice@example.com",
        "user.session.start",
        "sa-x",
    ));
    // carol's MFA comes three minutes later under another session id: still MFA.
    log.push(okta(
        "c-1",
        t,
        "carol@example.com",
        "user.session.start",
        "sc1",
    ));
    log.push(okta(
        "cm-1",
        t + 3 * MIN,
        "carol@example.com",
        "user.authentication.auth_via_mfa",
        "unknown",
    ));
    write_lines(dir.path(), "okta.ndjson", &log);

    let findings = detect(dir.path());
    let mfa = of(&findings, "console-signin-without-mfa");
    assert_eq!(mfa.len(), 1, "{mfa:#?}");
    let f = mfa[0];
    assert_eq!(f.actor, "alice@example.com");
    assert_eq!(f.event_ids, vec!["a-nomfa".to_string()]);
    assert_eq!(f.severity, Severity::Low);
    assert!(
        f.reason.contains(
            "started an Okta session at 09:00 UTC from 192.0.2.10 (Berlin, Germany) without MFA"
        ) && f
            .reason
            .contains("5 of their 5 other Okta sessions in the data used MFA"),
        "{}",
        f.reason
    );
}

#[test]
fn secret_read_bursts_need_distinct_names() {
    let dir = tempfile::tempdir().unwrap();
    let t = MON + 14 * HOUR;
    let mut log = Vec::new();
    for i in 0..12 {
        log.push(k8s(
            &format!("m-{i}"),
            t + i * 20,
            "mallory@example.com",
            "get",
            "secrets",
            &format!("db-{i}"),
        ));
        log.push(k8s(
            &format!("ci-{i}"),
            t + i * 20,
            "system:serviceaccount:ci:deployer",
            "get",
            "secrets",
            "registry",
        ));
    }
    // Nine distinct secrets: under the threshold.
    for i in 0..9 {
        log.push(k8s(
            &format!("e-{i}"),
            t + i * 20,
            "erin@example.com",
            "get",
            "secrets",
            &format!("app-{i}"),
        ));
    }
    write_lines(dir.path(), "audit.log", &log);
    let findings = detect(dir.path());
    let secrets = of(&findings, "k8s-secret-access");
    let burst = secrets
        .iter()
        .find(|f| f.actor == "mallory@example.com")
        .unwrap();
    assert_eq!(burst.severity, Severity::High);
    assert_eq!(burst.count, 12);
    assert!(
        burst.reason.contains("read 10 distinct secrets in 3 min (shop/db-0, shop/db-1, shop/db-2, shop/db-3 and 6 more)")
            || burst.reason.contains("read 12 distinct secrets in 3 min"),
        "{}",
        burst.reason
    );
    for actor in ["system:serviceaccount:ci:deployer", "erin@example.com"] {
        assert!(
            secrets
                .iter()
                .filter(|f| f.actor == actor)
                .all(|f| !f.reason.contains("distinct secrets") && f.severity < Severity::High),
            "{actor}: {secrets:#?}"
        );
    }
}

#[test]
fn roles_granting_exec_or_node_proxy_are_named_even_in_long_rule_lists() {
    let findings = detect(&fixture("detect"));
    let rbac = of(&findings, "k8s-privileged-rbac-binding");
    let reason = |id: &str| {
        rbac.iter()
            .find(|f| f.event_ids.iter().any(|e| e == id))
            .map(|f| (f.severity, f.reason.clone()))
            .unwrap_or_else(|| panic!("{id}: {rbac:#?}"))
    };
    let (sev, long) = reason("pos-k8s-privileged-rbac-binding-20");
    assert_eq!(sev, Severity::Medium);
    assert!(
        long.contains("created role ops-helper granting pods/exec"),
        "{long}"
    );
    let (_, wild) = reason("pos-k8s-privileged-rbac-binding-21");
    assert!(wild.contains("granting nodes/*"), "{wild}");
}
