//! The detection engine over real event shapes: fixtures with positive and negative events
//! for every single-event and window rule (`tests/fixtures/detect/`, ids `pos-<rule>-n` /
//! `neg-<rule>-n`), generated histories for the behavioural rules, the bundled sample's
//! incident through the CLI, the generated month's planted incidents and noise budget, the
//! same findings whatever the order of the rules. The real public samples (Stratus Red Team's
//! detonations) are in `tests/stratus.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_arguments)]

use crate::util::{MONTH_EVENTS, MONTH_SEED};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};
use trailscope::config::Config;
use trailscope::detectors::{self, Finding, Rule, Severity};
use trailscope::store::FrameStore;

use crate::util::{detect_dir, fixture, load, run, sample_logs, stderr, stdout};

fn by_rule<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

/// `pos-audit-log-tampering-3` -> ("pos", "audit-log-tampering").
fn expectation(id: &str) -> Option<(&str, &str)> {
    let (kind, rest) = id.split_once('-')?;
    if kind != "pos" && kind != "neg" {
        return None;
    }
    let (rule, n) = rest.rsplit_once('-')?;
    n.parse::<u32>().ok()?;
    Some((kind, rule))
}

#[test]
fn fixture_events_are_found_by_their_rule_and_only_positives() {
    let dir = fixture("detect");
    let store = load(&[dir.as_path()]);
    let findings = detectors::run(store.frame(), &Config::builtin().unwrap()).unwrap();
    let ids = store
        .frame()
        .column(trailscope::schema::EVENT_ID)
        .unwrap()
        .str()
        .unwrap()
        .clone();
    let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for id in ids.iter().flatten() {
        let Some((kind, rule)) = expectation(id) else {
            continue;
        };
        let hit = findings
            .iter()
            .any(|f| f.rule == rule && f.event_ids.iter().any(|e| e == id));
        let entry = seen.entry(rule).or_default();
        if kind == "pos" {
            entry.0 += 1;
            assert!(
                hit,
                "{id} not found by {rule}; findings of {rule}: {:#?}",
                by_rule(&findings, rule)
            );
        } else {
            entry.1 += 1;
            assert!(
                !hit,
                "{id} wrongly found by {rule}: {:#?}",
                by_rule(&findings, rule)
            );
        }
    }
    // Every single-event and window rule has positive and negative fixture events.
    let behavioural = [
        "off-hours-privileged-action",
        "dormant-identity-reactivated",
        "first-seen-source-for-privileged-action",
        "non-human-identity-anomaly",
        "rare-action-for-actor",
        "impossible-travel",
    ];
    for info in detectors::catalogue() {
        if behavioural.contains(&info.id) {
            continue;
        }
        let (pos, neg) = seen.get(info.id).copied().unwrap_or_default();
        assert!(
            pos > 0 && (neg > 0 || info.id == "signin-success-after-failures"),
            "{}: {pos} positive, {neg} negative fixture events",
            info.id
        );
    }
}

#[test]
fn findings_group_bursts_and_carry_every_event() {
    let findings = detect_dir(&fixture("detect"));
    let burst = by_rule(&findings, "mass-destruction");
    assert_eq!(burst.len(), 1, "{burst:#?}");
    assert_eq!(burst[0].count, 22);
    assert_eq!(burst[0].event_ids.len(), 22);
    assert_eq!(burst[0].rows.len(), 22);
    assert!(
        burst[0].reason.contains("destroyed 22 items"),
        "{}",
        burst[0].reason
    );
    let spray = by_rule(&findings, "password-spray");
    assert_eq!(spray.len(), 1);
    assert_eq!(spray[0].actor, "198.51.100.250");
    assert!(
        spray[0].reason.contains("11 different users"),
        "{}",
        spray[0].reason
    );
    let after = by_rule(&findings, "signin-success-after-failures");
    assert_eq!(
        after[0].severity,
        Severity::Critical,
        "same address as the spray"
    );
    let root = by_rule(&findings, "root-or-breakglass-use");
    assert!(
        root.iter()
            .any(|f| f.severity == Severity::Critical && f.reason.contains("without MFA")),
        "{root:#?}"
    );
    let ga = by_rule(&findings, "privileged-role-assigned");
    assert!(
        ga.iter()
            .any(|f| f.severity == Severity::Critical && f.reason.contains("Global Administrator")),
        "{ga:#?}"
    );
    for f in &findings {
        assert_eq!(f.count as usize, f.event_ids.len(), "{f:#?}");
        assert!(!f.reason.is_empty() && !f.mitre.is_empty(), "{f:#?}");
    }
}

// ---------------------------------------------------------------------------------------
// Behavioural rules over generated histories
// ---------------------------------------------------------------------------------------

const MON: i64 = 1_717_372_800; // 2024-06-03T00:00:00Z, a Monday
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn iso(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A CloudTrail record by IAM user `user`.
fn ct(
    id: &str,
    secs: i64,
    user: &str,
    name: &str,
    source: &str,
    ip: &str,
    ua: &str,
    params: Value,
) -> Value {
    json!({"eventVersion": "1.09", "userIdentity": {"type": "IAMUser", "principalId": "AIDA", "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333", "userName": user},
        "eventTime": iso(secs), "eventSource": format!("{source}.amazonaws.com"), "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": ua,
        "requestParameters": params, "responseElements": null, "eventID": id, "readOnly": name.starts_with("List") || name.starts_with("Describe") || name.starts_with("Get"),
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333"})
}

const CLI: &str = "aws-cli/2.15.10 Python/3.11.6 Darwin/23.3.0";

/// Ten weekdays of a Chicago admin's reads (09:00-17:00 local = 14:00-22:00 UTC), with a
/// routine privileged action each day.
fn chicago_history(user: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for week in 0..2 {
        for day in 0..5 {
            let base = MON + (week * 7 + day) * DAY;
            for h in 0..8 {
                let t = base + (14 + h) * HOUR + 600;
                out.push(ct(
                    &format!("h-{user}-{week}-{day}-{h}"),
                    t,
                    user,
                    "ListUsers",
                    "iam",
                    "198.51.100.10",
                    CLI,
                    Value::Null,
                ));
            }
            out.push(ct(&format!("h-{user}-{week}-{day}-p"), base + 16 * HOUR, user, "AttachRolePolicy", "iam", "198.51.100.10", CLI, json!({"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})));
        }
    }
    out
}

fn write_array(dir: &Path, name: &str, records: &[Value]) {
    std::fs::write(
        dir.join(name),
        serde_json::to_vec(&json!({"Records": records})).unwrap(),
    )
    .unwrap();
}

fn contains(findings: &[Finding], rule: &str, event: &str) -> bool {
    findings
        .iter()
        .any(|f| f.rule == rule && f.event_ids.iter().any(|e| e == event))
}

#[test]
fn off_hours_is_judged_against_the_actors_own_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = chicago_history("mallory");
    // Sunday 2024-06-16 23:40 in Chicago = Monday 04:40 UTC.
    let sunday = MON + 14 * DAY + 4 * HOUR + 40 * 60;
    records.push(ct(
        "pos-offhours",
        sunday,
        "mallory",
        "AttachUserPolicy",
        "iam",
        "198.51.100.10",
        CLI,
        json!({"userName": "mallory", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}),
    ));
    // Tuesday 11:00 Chicago, inside her hours.
    records.push(ct(
        "neg-offhours",
        MON + 15 * DAY + 16 * HOUR,
        "mallory",
        "AttachRolePolicy",
        "iam",
        "198.51.100.10",
        CLI,
        json!({"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
    ));
    // A newcomer with one day of history, at 03:00 UTC: the configured hours apply (low).
    records.push(ct(
        "h-new-1",
        MON + 15 * DAY + 2 * HOUR,
        "newbie",
        "ListUsers",
        "iam",
        "198.51.100.11",
        CLI,
        Value::Null,
    ));
    records.push(ct(
        "pos-offhours-fallback",
        MON + 15 * DAY + 3 * HOUR,
        "newbie",
        "CreateUser",
        "iam",
        "198.51.100.11",
        CLI,
        json!({"userName": "x"}),
    ));
    write_array(dir.path(), "trail.json", &records);
    let config = Config::overlay(
        "[detect.actors.mallory]\ntz = \"America/Chicago\"\n",
        Path::new("user.toml"),
    )
    .unwrap();
    let store = load(&[dir.path()]);
    let findings = detectors::run(store.frame(), &config).unwrap();
    let off = by_rule(&findings, "off-hours-privileged-action");
    let f = off
        .iter()
        .find(|f| f.event_ids.contains(&"pos-offhours".to_string()))
        .unwrap_or_else(|| panic!("{off:#?}"));
    assert!(f.severity >= Severity::Medium, "{f:#?}");
    assert!(
        f.reason.contains("Sunday 23:40 America/Chicago"),
        "{}",
        f.reason
    );
    assert!(f.reason.contains("Mon-Fri"), "{}", f.reason);
    assert!(
        !contains(&findings, "off-hours-privileged-action", "neg-offhours"),
        "{off:#?}"
    );
    let fallback = off
        .iter()
        .find(|f| f.event_ids.contains(&"pos-offhours-fallback".to_string()))
        .unwrap_or_else(|| panic!("{off:#?}"));
    assert_eq!(fallback.severity, Severity::Low, "{fallback:#?}");
    assert!(
        fallback.reason.contains("configured working hours"),
        "{}",
        fallback.reason
    );
}

#[test]
fn a_short_history_of_every_day_is_no_off_hours_work() {
    // Twelve days (Sunday to Thursday of the next week but one), IAM changes every day at
    // 10-12 UTC. The first and last weeks are partial: no weekday could have been seen in
    // two other weeks, and every day was flagged as an unusual weekday.
    let dir = tempfile::tempdir().unwrap();
    let sunday = MON - DAY;
    let mut records = Vec::new();
    for day in 0..12 {
        for hour in 10..13 {
            let mut r = ct(
                &format!("d{day}-{hour}"),
                sunday + day * DAY + hour * HOUR,
                "dana",
                "PutRolePolicy",
                "iam",
                "198.51.100.10",
                CLI,
                json!({"roleName": "app", "policyName": "p"}),
            );
            r["readOnly"] = json!(false);
            records.push(r);
        }
    }
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let off = by_rule(&findings, "off-hours-privileged-action");
    assert!(off.is_empty(), "{off:#?}");
}

#[test]
fn off_hours_infers_the_zone_without_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = chicago_history("kim");
    records.push(ct(
        "pos-offhours-inferred",
        MON + 14 * DAY + 4 * HOUR + 40 * 60,
        "kim",
        "AttachUserPolicy",
        "iam",
        "198.51.100.10",
        CLI,
        json!({"userName": "kim", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}),
    ));
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let off = by_rule(&findings, "off-hours-privileged-action");
    let f = off
        .iter()
        .find(|f| f.event_ids.contains(&"pos-offhours-inferred".to_string()))
        .unwrap_or_else(|| panic!("{off:#?}"));
    assert!(f.reason.contains("(inferred)"), "{}", f.reason);
}

#[test]
fn the_zone_of_a_person_is_inferred_from_where_they_sign_in() {
    // Three weeks of a New Yorker working 09:00-17:00 EDT (13:00-21:00 UTC), signing in from
    // the United States: a whole-hour offset centred on 13:00 would say UTC-03.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for day in (0..19).filter(|d| d % 7 < 5) {
        for (i, hour) in [13, 15, 17, 20].iter().enumerate() {
            let mut e = okta(
                &format!("ny-{day}-{i}"),
                MON + day * DAY + hour * HOUR + 600,
                "nora@example.com",
                "192.0.2.40",
                "New York",
                "United States",
            );
            if i == 3 {
                e["eventType"] = json!("user.account.privilege.grant");
            }
            lines.push(e);
        }
    }
    // A privilege granted at 23:30 New York time.
    let mut late = okta(
        "pos-zone-late",
        MON + 17 * DAY + 3 * HOUR + 1800,
        "nora@example.com",
        "192.0.2.40",
        "New York",
        "United States",
    );
    late["eventType"] = json!("user.account.privilege.grant");
    lines.push(late);
    write_lines(dir.path(), "okta.ndjson", &lines);
    let findings = detect_dir(dir.path());
    let f = by_rule(&findings, "off-hours-privileged-action")
        .into_iter()
        .find(|f| f.event_ids.contains(&"pos-zone-late".to_string()))
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(
        f.reason
            .contains("23:30 America/New_York (inferred, sign-ins in US)"),
        "{}",
        f.reason
    );
    // Her working day reads in her own hours, daylight saving included.
    assert!(f.reason.contains("09:10-16:10"), "{}", f.reason);
}

#[test]
fn dormant_identities_are_found_when_they_return() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    for day in 0..30 {
        records.push(ct(
            &format!("h-daily-{day}"),
            MON + day * DAY + 15 * HOUR,
            "daily",
            "ListBuckets",
            "s3",
            "198.51.100.12",
            CLI,
            Value::Null,
        ));
    }
    for day in 0..3 {
        records.push(ct(
            &format!("h-sleepy-{day}"),
            MON + day * DAY + 15 * HOUR,
            "sleepy",
            "ListBuckets",
            "s3",
            "198.51.100.13",
            CLI,
            Value::Null,
        ));
    }
    records.push(ct(
        "pos-dormant-1",
        MON + 25 * DAY + 2 * HOUR,
        "sleepy",
        "CreateAccessKey",
        "iam",
        "198.51.100.13",
        CLI,
        Value::Null,
    ));
    records.push(ct(
        "pos-dormant-2",
        MON + 25 * DAY + 3 * HOUR,
        "sleepy",
        "GetObject",
        "s3",
        "198.51.100.13",
        CLI,
        json!({"bucketName": "finance", "key": "q4.csv"}),
    ));
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let dormant = by_rule(&findings, "dormant-identity-reactivated");
    assert_eq!(dormant.len(), 1, "{dormant:#?}");
    assert_eq!(dormant[0].event_ids, vec!["pos-dormant-1", "pos-dormant-2"]);
    assert_eq!(
        dormant[0].severity,
        Severity::Critical,
        "credentials on return"
    );
    assert!(
        dormant[0].reason.contains("no activity for 22 days"),
        "{}",
        dormant[0].reason
    );
}

#[test]
fn anonymous_requests_are_no_identity_that_goes_dormant() {
    // Unauthenticated requests to a cluster two months apart, beside an engineer's steady
    // work: "system:anonymous" is nobody's identity, so no dormancy is judged for it (the
    // anonymous-access rule judges what it was allowed to do).
    let dir = tempfile::tempdir().unwrap();
    let k8s = |id: &str, secs: i64, user: &str, verb: &str| {
        json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": id, "stage": "ResponseComplete",
            "requestURI": "/version", "verb": verb, "user": {"username": user, "groups": ["system:unauthenticated"]},
            "sourceIPs": ["203.0.113.7"], "responseStatus": {"code": 403},
            "requestReceivedTimestamp": iso(secs), "stageTimestamp": iso(secs)})
    };
    let mut lines = vec![k8s("anon-1", MON, "system:anonymous", "get")];
    for day in 0..60 {
        lines.push(k8s(
            &format!("work-{day}"),
            MON + day * DAY + 15 * HOUR,
            "ana@example.com",
            "list",
        ));
    }
    lines.push(k8s("anon-2", MON + 60 * DAY, "system:anonymous", "get"));
    write_lines(dir.path(), "audit.log", &lines);
    let findings = detect_dir(dir.path());
    let dormant = by_rule(&findings, "dormant-identity-reactivated");
    assert!(
        !dormant.iter().any(|f| f.actor == "system:anonymous"),
        "{dormant:#?}"
    );
}

#[test]
fn a_trail_updated_to_log_less_says_what_it_no_longer_does() {
    // UpdateTrail leaves the trail logging: turning validation off is critical but is no
    // "logging stopped"; a harmless update is a change, not a weakening. Three people on
    // three days, so each is a finding of its own (one actor's hour is one finding).
    let dir = tempfile::tempdir().unwrap();
    let call = |id: &str, who: &str, day: i64, name: &str, params: Value| {
        let at = MON + day * DAY + 15 * HOUR;
        ct(
            id,
            at,
            who,
            name,
            "cloudtrail",
            "198.51.100.20",
            CLI,
            params,
        )
    };
    let records = vec![
        call(
            "weakened",
            "ops",
            0,
            "UpdateTrail",
            json!({"name": "org-trail", "enableLogFileValidation": false, "isMultiRegionTrail": false}),
        ),
        call(
            "changed",
            "dev",
            2,
            "UpdateTrail",
            json!({"name": "org-trail", "snsTopicName": "trail-news"}),
        ),
        call(
            "stopped",
            "eve",
            4,
            "StopLogging",
            json!({"name": "org-trail"}),
        ),
    ];
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let of = |event: &str| {
        by_rule(&findings, "audit-log-tampering")
            .into_iter()
            .find(|f| f.event_ids.iter().any(|e| e == event))
            .unwrap_or_else(|| panic!("no finding for {event}: {findings:#?}"))
    };
    let weakened = of("weakened");
    assert_eq!(weakened.severity, Severity::Critical);
    assert!(
        weakened.reason.contains(
            "audit logging weakened: log file validation turned off, other regions no longer logged"
        ) && !weakened.reason.contains("stopped"),
        "{}",
        weakened.reason
    );
    let changed = of("changed");
    assert_eq!(changed.severity, Severity::High, "{}", changed.reason);
    assert!(
        changed.reason.contains("audit logging settings changed"),
        "{}",
        changed.reason
    );
    assert!(
        of("stopped")
            .reason
            .contains("audit logging stopped or deleted")
    );
}

#[test]
fn a_password_reset_for_another_user_is_worded_as_one_and_a_missing_address_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let records = vec![ct(
        "reset",
        MON + 15 * HOUR,
        "ops",
        "UpdateLoginProfile",
        "iam",
        "",
        CLI,
        json!({"userName": "bob"}),
    )];
    write_array(dir.path(), "reset.json", &records);
    let findings = detect_dir(dir.path());
    let found = by_rule(&findings, "credential-created-for-other-identity");
    assert_eq!(found.len(), 1, "{findings:#?}");
    assert_eq!(
        found[0].reason,
        "ops reset the console password for another user, bob (UpdateLoginProfile), from an unknown address"
    );
}

#[test]
fn dormant_identities_returning_twice_are_each_found() {
    // A span of 28 days makes the pause 14 days. "sleepy" returns twice; its second pause
    // starts inside the first return's 24 hours, so one event is both in the first finding
    // and the last one before the second pause. "nap" returns between its events.
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    let mut push = |id: &str, at: i64, actor: &str, action: &str, service: &str| {
        records.push(ct(
            id,
            at,
            actor,
            action,
            service,
            "198.51.100.13",
            CLI,
            Value::Null,
        ));
    };
    for day in 0..=28 {
        push(
            &format!("daily-{day}"),
            MON + day * DAY + 12 * HOUR,
            "daily",
            "ListBuckets",
            "s3",
        );
    }
    push("sleepy-0", MON + 15 * HOUR, "sleepy", "ListBuckets", "s3");
    push("nap-0", MON + 15 * HOUR, "nap", "ListBuckets", "s3");
    push(
        "sleepy-back-1a",
        MON + 14 * DAY + 16 * HOUR,
        "sleepy",
        "ListBuckets",
        "s3",
    );
    push(
        "nap-back",
        MON + 14 * DAY + 16 * HOUR,
        "nap",
        "DescribeInstances",
        "ec2",
    );
    push(
        "sleepy-back-1b",
        MON + 14 * DAY + 17 * HOUR,
        "sleepy",
        "GetObject",
        "s3",
    );
    push(
        "sleepy-back-2",
        MON + 28 * DAY + 18 * HOUR,
        "sleepy",
        "ListUsers",
        "iam",
    );
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let dormant = by_rule(&findings, "dormant-identity-reactivated");
    let of = |user: &str| -> Vec<&Finding> {
        let actor = format!("arn:aws:iam::111122223333:user/{user}");
        dormant
            .iter()
            .copied()
            .filter(|f| f.actor == actor)
            .collect()
    };
    let (sleepy, nap) = (of("sleepy"), of("nap"));
    assert_eq!(dormant.len(), 3, "{dormant:#?}");
    assert_eq!(nap.len(), 1, "{dormant:#?}");
    assert_eq!(nap[0].event_ids, vec!["nap-back"]);
    assert_eq!(sleepy.len(), 2, "{dormant:#?}");
    assert_eq!(
        sleepy[0].event_ids,
        vec!["sleepy-back-1a", "sleepy-back-1b"]
    );
    assert_eq!(sleepy[1].event_ids, vec!["sleepy-back-2"]);
    // Each reason names the last event before its own pause.
    assert!(
        sleepy[0].reason.contains(", ListBuckets)"),
        "{}",
        sleepy[0].reason
    );
    assert!(
        sleepy[1].reason.contains(", GetObject)"),
        "{}",
        sleepy[1].reason
    );
    assert!(
        sleepy[1]
            .reason
            .contains("with 1 event(s) in 24 h (ListUsers)"),
        "{}",
        sleepy[1].reason
    );
}

#[test]
fn first_seen_sources_and_rare_actions_need_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = chicago_history("li");
    let later = MON + 15 * DAY + 16 * HOUR;
    records.push(ct(
        "pos-first-seen",
        later,
        "li",
        "PutUserPolicy",
        "iam",
        "203.0.113.45",
        "python-requests/2.31.0",
        json!({"userName": "li", "policyName": "p"}),
    ));
    records.push(ct(
        "neg-first-seen",
        later + HOUR * 2,
        "li",
        "AttachRolePolicy",
        "iam",
        "198.51.100.10",
        CLI,
        json!({"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
    ));
    records.push(ct(
        "pos-rare",
        later + HOUR * 3,
        "li",
        "DeleteRole",
        "iam",
        "198.51.100.10",
        CLI,
        json!({"roleName": "old"}),
    ));
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let first = by_rule(&findings, "first-seen-source-for-privileged-action");
    let f = first
        .iter()
        .find(|f| f.event_ids.contains(&"pos-first-seen".to_string()))
        .unwrap_or_else(|| panic!("{first:#?}"));
    assert_eq!(f.severity, Severity::Medium, "two new dimensions: {f:#?}");
    assert!(
        f.reason.contains("203.0.113.0/24") && f.reason.contains("python-requests/2"),
        "{}",
        f.reason
    );
    assert!(!contains(
        &findings,
        "first-seen-source-for-privileged-action",
        "neg-first-seen"
    ));
    assert!(
        contains(&findings, "rare-action-for-actor", "pos-rare"),
        "{:#?}",
        by_rule(&findings, "rare-action-for-actor")
    );
    assert!(
        !contains(&findings, "rare-action-for-actor", "neg-first-seen"),
        "done every day before"
    );
    assert!(
        !findings.iter().any(|f| f.rule == "rare-action-for-actor"
            && f.event_ids.iter().any(|e| e.starts_with("h-"))),
        "nothing is rare while learning"
    );
}

#[test]
fn rare_actions_are_one_finding_per_actor_and_day_listing_the_actions() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = chicago_history("noor");
    // Tuesday of week 3: four new kinds of write, hours apart; Wednesday: one more.
    let tuesday = MON + 15 * DAY;
    let new_work = [
        ("new-1", 15, "CreateRole", json!({"roleName": "etl"})),
        (
            "new-2",
            15,
            "PutRolePolicy",
            json!({"roleName": "etl", "policyName": "read"}),
        ),
        ("new-3", 18, "TagRole", json!({"roleName": "etl"})),
        (
            "new-4",
            21,
            "DeleteRolePolicy",
            json!({"roleName": "etl-2", "policyName": "old"}),
        ),
        ("next-day", 40, "DeleteRole", json!({"roleName": "old"})),
    ];
    for (id, hour, name, params) in new_work {
        let (at, ip) = (tuesday + hour * HOUR, "198.51.100.10");
        records.push(ct(id, at, "noor", name, "iam", ip, CLI, params));
    }
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let rare = by_rule(&findings, "rare-action-for-actor");
    assert_eq!(rare.len(), 2, "one per day: {rare:#?}");
    let day = rare
        .iter()
        .find(|f| f.event_ids.contains(&"new-1".to_string()))
        .unwrap_or_else(|| panic!("{rare:#?}"));
    assert_eq!(
        day.event_ids,
        ["new-1", "new-2", "new-3", "new-4"],
        "{day:#?}"
    );
    assert_eq!(day.count, 4);
    assert_eq!(day.actor, "arn:aws:iam::111122223333:user/noor");
    assert_eq!(day.mitre, ["T1078.004"]);
    // The reason names the actor, the first action with its history, then every action of
    // the day and how long the day's novelties spanned.
    assert!(day.reason.starts_with("noor "), "{}", day.reason);
    assert!(
        day.reason
            .contains("for the first time in 15 days of history"),
        "{}",
        day.reason
    );
    assert!(
        day.reason.contains(
            "(4 events in 360 min: CreateRole, PutRolePolicy, TagRole, DeleteRolePolicy)"
        ),
        "{}",
        day.reason
    );
    let next = rare
        .iter()
        .find(|f| f.event_ids == ["next-day"])
        .unwrap_or_else(|| panic!("{rare:#?}"));
    assert!(next.reason.contains("DeleteRole"), "{}", next.reason);
}

/// A call by one session of the `etl` role, as boto3 names its sessions.
fn etl_session_call(id: &str, secs: i64, session: u32, name: &str, source: &str) -> Value {
    let session = format!("botocore-session-{session}");
    json!({"eventVersion": "1.09", "userIdentity": {"type": "AssumedRole", "principalId": format!("AROAETL:{session}"),
        "arn": format!("arn:aws:sts::111122223333:assumed-role/etl/{session}"), "accountId": "111122223333",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/etl", "userName": "etl"}}},
        "eventTime": iso(secs), "eventSource": format!("{source}.amazonaws.com"), "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "10.20.0.5", "userAgent": "Boto3/1.34.0 md/Botocore#1.34.0", "requestParameters": {"bucketName": "exports"},
        "responseElements": null, "eventID": id, "readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"})
}

#[test]
fn rare_actions_are_judged_for_the_role_behind_a_services_sessions() {
    let dir = tempfile::tempdir().unwrap();
    // Six days of a pipeline: a new session every two hours, each writing and logging.
    let mut records = Vec::new();
    for slot in 0..(6 * 12) {
        let t = MON + slot * 2 * HOUR;
        let session = 1_000 + slot as u32;
        records.push(etl_session_call(
            &format!("h-put-{slot}"),
            t,
            session,
            "PutObject",
            "s3",
        ));
        records.push(etl_session_call(
            &format!("h-log-{slot}"),
            t + 60,
            session,
            "CreateLogStream",
            "logs",
        ));
    }
    // Day eight: new sessions doing what the role always did, and two sessions doing what it
    // never did.
    let day8 = MON + 7 * DAY + 10 * HOUR;
    records.push(etl_session_call(
        "neg-routine",
        day8,
        5_000,
        "PutObject",
        "s3",
    ));
    records.push(etl_session_call(
        "neg-routine-2",
        day8 + 60,
        5_001,
        "CreateLogStream",
        "logs",
    ));
    records.push(etl_session_call(
        "pos-new-1",
        day8 + HOUR,
        5_002,
        "DeleteBucketPolicy",
        "s3",
    ));
    records.push(etl_session_call(
        "pos-new-2",
        day8 + 2 * HOUR,
        5_003,
        "PutBucketAcl",
        "s3",
    ));
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let rare = by_rule(&findings, "rare-action-for-actor");
    // Judged per session name, every session's first call was new: 74 findings.
    assert_eq!(
        rare.len(),
        1,
        "one finding for the role's new day: {rare:#?}"
    );
    let f = rare[0];
    assert_eq!(f.event_ids, ["pos-new-1", "pos-new-2"], "{f:#?}");
    assert!(
        f.reason.starts_with("etl ran ")
            && f.reason.contains("for the first time in 7 days of history")
            && f.reason.contains("DeleteBucketPolicy, PutBucketAcl"),
        "named after the role, with the role's history: {}",
        f.reason
    );
}

#[test]
fn identities_new_to_sensitive_actions_are_raised() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = chicago_history("kim");
    records.extend(chicago_history("lee"));
    // lee opens a shell on an instance in her history: routine for her later.
    records.push(ct(
        "h-lee-session",
        MON + DAY + 16 * HOUR,
        "lee",
        "StartSession",
        "ssm",
        "198.51.100.10",
        CLI,
        json!({"target": "i-0123456789abcdef0"}),
    ));
    let t = MON + 15 * DAY + 16 * HOUR;
    records.push(ct(
        "pos-new-session",
        t,
        "kim",
        "StartSession",
        "ssm",
        "198.51.100.10",
        CLI,
        json!({"target": "i-0123456789abcdef0"}),
    ));
    records.push(ct(
        "neg-new-session",
        t,
        "lee",
        "StartSession",
        "ssm",
        "198.51.100.10",
        CLI,
        json!({"target": "i-0123456789abcdef0"}),
    ));
    records.push(ct(
        "pos-new-bedrock",
        t + 600,
        "kim",
        "InvokeModel",
        "bedrock",
        "198.51.100.10",
        CLI,
        json!({"modelId": "anthropic.claude-3-haiku"}),
    ));
    for i in 0..10 {
        records.push(ct(
            &format!("pos-new-secrets-{i}"),
            t + 1200 + i * 20,
            "kim",
            "GetSecretValue",
            "secretsmanager",
            "198.51.100.10",
            CLI,
            json!({"secretId": format!("prod/db-{i}")}),
        ));
    }
    write_array(dir.path(), "trail.json", &records);
    let findings = detect_dir(dir.path());
    let session = by_rule(&findings, "remote-command-on-instances");
    let f = session
        .iter()
        .find(|f| f.event_ids.contains(&"pos-new-session".to_string()))
        .unwrap_or_else(|| panic!("{session:#?}"));
    assert_eq!(f.severity, Severity::Medium, "{f:#?}");
    assert!(f.reason.contains("never did this before"), "{}", f.reason);
    assert!(
        !contains(&findings, "remote-command-on-instances", "neg-new-session"),
        "{session:#?}"
    );
    let bedrock = by_rule(&findings, "bedrock-model-invoked");
    assert!(
        bedrock.iter().any(|f| f.severity == Severity::Medium
            && f.event_ids.contains(&"pos-new-bedrock".to_string())),
        "{bedrock:#?}"
    );
    let secrets = by_rule(&findings, "cloud-secrets-bulk-read");
    assert_eq!(secrets.len(), 1, "{secrets:#?}");
    assert_eq!(
        secrets[0].severity,
        Severity::High,
        "a first reader: {secrets:#?}"
    );
    assert_eq!(secrets[0].count, 10);
    assert!(
        secrets[0].reason.contains("10 distinct secrets"),
        "{}",
        secrets[0].reason
    );
}

fn gcp(id: &str, secs: i64, principal: &str, method: &str, ip: &str, ua: &str) -> Value {
    json!({"protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "status": {}, "authenticationInfo": {"principalEmail": principal},
        "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": ua}, "serviceName": "storage.googleapis.com", "methodName": method,
        "resourceName": "projects/_/buckets/exports/objects/x"}, "insertId": id, "resource": {"type": "gcs_bucket", "labels": {"project_id": "acme"}},
        "timestamp": iso(secs), "severity": "INFO", "logName": "projects/acme/logs/cloudaudit.googleapis.com%2Fdata_access"})
}

#[test]
fn service_identities_have_their_own_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let sa = "etl@acme.iam.gserviceaccount.com";
    let mut lines = Vec::new();
    for slot in 0..(6 * 24) {
        lines.push(gcp(
            &format!("h-etl-{slot}"),
            MON + slot * HOUR,
            sa,
            "storage.objects.create",
            "10.20.0.5",
            "gcloud-golang/0.1",
        ));
    }
    let t = MON + 7 * DAY;
    lines.push(gcp(
        "pos-nhi-1",
        t,
        sa,
        "storage.objects.delete",
        "203.0.113.99",
        "curl/8.5.0",
    ));
    lines.push(gcp(
        "neg-nhi-1",
        t + HOUR,
        sa,
        "storage.objects.create",
        "10.20.0.5",
        "gcloud-golang/0.1",
    ));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("gcp.ndjson"), text).unwrap();
    // A machine role signing in to the console.
    let console = json!({"eventVersion": "1.08", "userIdentity": {"type": "AssumedRole", "principalId": "AROA:i-0123456789abcdef0", "arn": "arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0", "accountId": "111122223333"},
        "eventTime": iso(t), "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "sourceIPAddress": "203.0.113.98", "userAgent": "Mozilla/5.0", "eventID": "pos-nhi-console",
        "responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"MFAUsed": "No"}, "eventType": "AwsConsoleSignIn", "recipientAccountId": "111122223333"});
    write_array(dir.path(), "trail.json", &[console]);
    let findings = detect_dir(dir.path());
    let nhi = by_rule(&findings, "non-human-identity-anomaly");
    let f = nhi
        .iter()
        .find(|f| f.event_ids.contains(&"pos-nhi-1".to_string()))
        .unwrap_or_else(|| panic!("{nhi:#?}"));
    assert_eq!(
        f.severity,
        Severity::High,
        "a write from a new network: {f:#?}"
    );
    assert!(f.reason.contains("10.0.0.0/8 (private)"), "{}", f.reason);
    assert!(!contains(
        &findings,
        "non-human-identity-anomaly",
        "neg-nhi-1"
    ));
    assert!(
        contains(&findings, "non-human-identity-anomaly", "pos-nhi-console"),
        "{nhi:#?}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f.rule == "off-hours-privileged-action"),
        "services work around the clock"
    );
}

fn okta(id: &str, secs: i64, user: &str, ip: &str, city: &str, country: &str) -> Value {
    json!({"actor": {"id": "00u1", "type": "User", "alternateId": user, "displayName": user}, "client": {"ipAddress": ip, "geographicalContext": {"city": city, "country": country}},
        "eventType": "user.session.start", "outcome": {"result": "SUCCESS"}, "published": iso(secs), "uuid": id, "version": "0"})
}

/// An Okta event of `user` from `ip`.
fn okta_event(id: &str, secs: i64, user: &str, ip: &str, kind: &str, result: &str) -> Value {
    json!({"actor": {"id": "00u1", "type": "User", "alternateId": user, "displayName": user}, "client": {"ipAddress": ip},
        "eventType": kind, "outcome": {"result": result, "reason": if result == "FAILURE" { json!("INVALID_CREDENTIALS") } else { Value::Null }},
        "published": iso(secs), "uuid": id, "version": "0"})
}

fn write_lines(dir: &Path, name: &str, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn paced_sprays_and_push_fatigue_are_found_and_their_look_alikes_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let t = MON + 9 * HOUR;
    let mut lines = Vec::new();
    // Colleagues signing in from the office's shared address all week...
    for day in 0..5 {
        for (i, user) in ["ann", "ben", "cat", "dan", "eve", "fay"]
            .iter()
            .enumerate()
        {
            let at = MON + day * DAY + 8 * HOUR + i as i64 * 60;
            lines.push(okta_event(
                &format!("ok-{day}-{i}"),
                at,
                &format!("{user}@acme.example"),
                "198.51.100.1",
                "user.session.start",
                "SUCCESS",
            ));
        }
    }
    // ... where five of them mistype once on Thursday morning: no spray.
    for (i, user) in ["ann", "ben", "cat", "dan", "eve"].iter().enumerate() {
        let at = MON + 3 * DAY + 9 * HOUR + i as i64 * 300;
        lines.push(okta_event(
            &format!("neg-typo-{i}"),
            at,
            &format!("{user}@acme.example"),
            "198.51.100.1",
            "user.session.start",
            "FAILURE",
        ));
    }
    // A paced spray: six users, one attempt every four minutes, from a new address, then
    // a success there.
    for (i, user) in ["ann", "ben", "cat", "dan", "eve", "fay"]
        .iter()
        .enumerate()
    {
        let at = t + 2 * DAY + i as i64 * 240;
        lines.push(okta_event(
            &format!("pos-spray-{i}"),
            at,
            &format!("{user}@acme.example"),
            "203.0.113.5",
            "user.session.start",
            "FAILURE",
        ));
    }
    lines.push(okta_event(
        "pos-spray-ok",
        t + 2 * DAY + 1800,
        "fay@acme.example",
        "203.0.113.5",
        "user.session.start",
        "SUCCESS",
    ));
    // Push fatigue: four denied pushes in ten minutes, then an approval from a new address.
    for i in 0..4 {
        lines.push(okta_event(
            &format!("pos-push-{i}"),
            t + 3 * DAY + i * 150,
            "ben@acme.example",
            "203.0.113.9",
            "user.mfa.okta_verify.deny_push",
            "SUCCESS",
        ));
    }
    lines.push(okta_event(
        "pos-push-ok",
        t + 3 * DAY + 700,
        "ben@acme.example",
        "203.0.113.9",
        "user.authentication.auth_via_mfa",
        "SUCCESS",
    ));
    // A user who fumbles twice and then approves: no fatigue.
    for i in 0..2 {
        lines.push(okta_event(
            &format!("neg-push-{i}"),
            t + 4 * DAY + i * 60,
            "cat@acme.example",
            "198.51.100.1",
            "user.authentication.auth_via_mfa",
            "FAILURE",
        ));
    }
    lines.push(okta_event(
        "neg-push-ok",
        t + 4 * DAY + 200,
        "cat@acme.example",
        "198.51.100.1",
        "user.authentication.auth_via_mfa",
        "SUCCESS",
    ));
    write_lines(dir.path(), "okta.ndjson", &lines);
    let findings = detect_dir(dir.path());
    let sprays = by_rule(&findings, "password-spray");
    assert_eq!(sprays.len(), 1, "{sprays:#?}");
    assert_eq!(
        (sprays[0].actor.as_str(), sprays[0].severity),
        ("203.0.113.5", Severity::High)
    );
    assert!(sprays[0].event_ids.contains(&"pos-spray-ok".to_string()));
    assert!(contains(
        &findings,
        "signin-success-after-failures",
        "pos-spray-ok"
    ));
    let fatigue = by_rule(&findings, "mfa-fatigue");
    assert_eq!(fatigue.len(), 1, "{fatigue:#?}");
    assert_eq!(
        fatigue[0].severity,
        Severity::Critical,
        "approved from a new address"
    );
    assert_eq!(fatigue[0].count, 5);
    assert!(
        !findings
            .iter()
            .any(|f| f.severity >= Severity::Medium
                && f.event_ids.iter().any(|e| e.starts_with("neg-"))),
        "{findings:#?}"
    );
}

#[test]
fn impossible_travel_needs_distance_and_speed() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        okta(
            "pos-travel-1",
            MON + 9 * HOUR,
            "greta@example.com",
            "192.0.2.10",
            "Berlin",
            "Germany",
        ),
        okta(
            "pos-travel-2",
            MON + 9 * HOUR + 2400,
            "greta@example.com",
            "203.0.113.120",
            "Dallas",
            "United States",
        ),
        okta(
            "neg-travel-1",
            MON + 9 * HOUR,
            "hans@example.com",
            "192.0.2.11",
            "Berlin",
            "Germany",
        ),
        okta(
            "neg-travel-2",
            MON + 11 * HOUR,
            "hans@example.com",
            "192.0.2.99",
            "Munich",
            "Germany",
        ),
        okta(
            "neg-travel-3",
            MON + 12 * HOUR,
            "ines@example.com",
            "192.0.2.12",
            "Berlin",
            "Germany",
        ),
        okta(
            "neg-travel-4",
            MON + 3 * DAY,
            "ines@example.com",
            "203.0.113.121",
            "New York",
            "United States",
        ),
        // A session stolen and used from Russia, then the victim back at her desk: one
        // excursion, one finding naming both legs' sign-ins.
        okta(
            "pos-trip-1",
            MON + 2 * DAY + 9 * HOUR,
            "jana@example.com",
            "192.0.2.13",
            "Berlin",
            "Germany",
        ),
        okta(
            "pos-trip-2",
            MON + 2 * DAY + 9 * HOUR + 1200,
            "jana@example.com",
            "203.0.113.140",
            "Moscow",
            "Russia",
        ),
        okta(
            "pos-trip-3",
            MON + 2 * DAY + 9 * HOUR + 2400,
            "jana@example.com",
            "192.0.2.13",
            "Berlin",
            "Germany",
        ),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("okta.ndjson"), text).unwrap();
    let findings = detect_dir(dir.path());
    let travel = by_rule(&findings, "impossible-travel");
    assert_eq!(travel.len(), 2, "{travel:#?}");
    assert_eq!(travel[0].event_ids, vec!["pos-travel-1", "pos-travel-2"]);
    assert!(travel[0].reason.contains("km/h"), "{}", travel[0].reason);
    assert_eq!(
        travel[1].event_ids,
        vec!["pos-trip-1", "pos-trip-2", "pos-trip-3"]
    );
    assert!(
        travel[1]
            .reason
            .contains("from DE and 20 min later from RU")
            && travel[1].reason.contains("and 20 min later back from DE"),
        "{}",
        travel[1].reason
    );
}

// ---------------------------------------------------------------------------------------
// Configuration, CLI, the bundled sample
// ---------------------------------------------------------------------------------------

#[test]
fn rules_can_be_disabled_or_given_a_severity() {
    let store = load(&[fixture("detect").as_path()]);
    let config = Config::overlay(
        "[detect.rules.audit-log-tampering]\nenabled = false\n[detect.rules.password-spray]\nseverity = \"low\"\n",
        Path::new("user.toml"),
    )
    .unwrap();
    let findings = detectors::run(store.frame(), &config).unwrap();
    assert!(by_rule(&findings, "audit-log-tampering").is_empty());
    assert!(
        by_rule(&findings, "password-spray")
            .iter()
            .all(|f| f.severity == Severity::Low)
    );
    let unknown = Config::overlay(
        "[detect.rules.no-such-rule]\nenabled = false\n",
        Path::new("user.toml"),
    )
    .unwrap();
    let err = detectors::run(store.frame(), &unknown).unwrap_err();
    assert!(
        err.to_string().contains("unknown rule 'no-such-rule'"),
        "{err}"
    );
    let err = Config::overlay(
        "[detect]\nbusiness_hours = \"nine to five\"\n",
        Path::new("bad.toml"),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("bad.toml:2"), "{err}");
    let err = Config::overlay(
        "[detect.actors.bob]\ntz = \"Mars/Olympus\"\n",
        Path::new("bad.toml"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown time zone"), "{err}");
}

#[test]
fn detect_finds_the_bundled_incident_and_fails_on_high() {
    let sample = sample_logs().display().to_string();
    let output = run(&[
        "detect",
        &sample,
        "--format",
        "jsonl",
        "--min-severity",
        "medium",
        "--fail-on",
        "high",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        for key in [
            "rule",
            "title",
            "severity",
            "time",
            "actor",
            "provider",
            "event_ids",
            "count",
            "reason",
            "mitre",
        ] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
        assert!(Severity::parse(line["severity"].as_str().unwrap()).unwrap() >= Severity::Medium);
        assert!(
            line["time"].as_str().unwrap().starts_with("2024-03-20"),
            "only the incident is medium+: {line}"
        );
    }
    let rules: BTreeSet<&str> = lines.iter().map(|l| l["rule"].as_str().unwrap()).collect();
    for rule in [
        "audit-log-tampering",
        "privileged-role-assigned",
        "aws-admin-policy-attached",
        "credential-created-for-other-identity",
        "off-hours-privileged-action",
        "resource-made-public",
        "password-spray",
        "mfa-fatigue",
    ] {
        assert!(rules.contains(rule), "{rule} not in {rules:?}");
    }
    // The README's story starts here: 8 users sprayed from one address, then dana's six
    // denied pushes and the approval from the attacker's address.
    let of = |rule: &str| lines.iter().find(|l| l["rule"] == rule).unwrap();
    let spray = of("password-spray");
    assert_eq!(spray["actor"], "203.0.113.66");
    assert!(
        spray["reason"]
            .as_str()
            .unwrap()
            .contains("8 different users"),
        "{spray}"
    );
    let fatigue = of("mfa-fatigue");
    assert_eq!(
        (
            &fatigue["actor"],
            &fatigue["severity"],
            fatigue["count"].as_u64()
        ),
        (
            &json!("dana@northwind.example"),
            &json!("critical"),
            Some(7)
        )
    );
    assert!(
        fatigue["reason"]
            .as_str()
            .unwrap()
            .contains("denied or failed 6 MFA prompts"),
        "{fatigue}"
    );
    let quiet = run(&[
        "detect",
        &sample,
        "--format",
        "json",
        "--min-severity",
        "critical",
    ]);
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr(&quiet));
    let all: Value = serde_json::from_str(&stdout(&quiet)).unwrap();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "critical")
    );
    let table = run(&["detect", &sample, "--tz", "Europe/Berlin"]);
    assert!(stdout(&table).contains("finding(s):"), "{}", stdout(&table));
}

// ---------------------------------------------------------------------------------------
// The generated month
// ---------------------------------------------------------------------------------------

#[test]
fn month_planted_incidents_are_found_and_benign_noise_stays_low() {
    let dir = tempfile::tempdir().unwrap();
    // Other sizes and seeds for the README's table: TRAILSCOPE_MONTH_EVENTS, _SEED.
    let (events, seed) = crate::util::month_setting();
    let truth = trailscope::synth::write_month(dir.path(), events, seed).unwrap();
    let store = load(&[dir.path()]);
    let events = store.frame().height();
    let started = std::time::Instant::now();
    let findings = detectors::run(store.frame(), &Config::builtin().unwrap()).unwrap();
    let elapsed = started.elapsed();
    let planted: BTreeSet<&str> = truth
        .incidents
        .iter()
        .flat_map(|p| p.event_ids.iter().map(String::as_str))
        .collect();
    let missed = crate::util::missed_incidents(&truth, &findings);
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .collect();
    let benign: Vec<&&Finding> = serious
        .iter()
        .filter(|f| !f.event_ids.iter().any(|e| planted.contains(e.as_str())))
        .collect();
    let recall = (truth.incidents.len() - missed.len()) as f64 / truth.incidents.len() as f64;
    let precision = (serious.len() - benign.len()) as f64 / serious.len().max(1) as f64;
    let per_100k = benign.len() as f64 * 100_000.0 / events as f64;
    eprintln!(
        "month: {events} events, {} planted incidents, recall {recall:.3}, medium+ findings {} ({} benign, {per_100k:.2} per 100k events), precision {precision:.3}, rules took {elapsed:?}",
        truth.incidents.len(),
        serious.len(),
        benign.len()
    );
    for f in &benign {
        eprintln!(
            "month: benign {} {} {}: {}",
            f.severity.as_str(),
            f.rule,
            f.actor,
            f.reason
        );
    }
    assert!(missed.is_empty(), "missed: {missed:#?}");
    assert!(per_100k <= 5.0, "benign medium+ findings: {benign:#?}");
}

// ---------------------------------------------------------------------------------------
// Rule order
// ---------------------------------------------------------------------------------------

/// The built-in rules in other orders than the catalogue's: reversed, and shuffled (every
/// other rule from the last back, then the rest in order).
fn reorderings() -> Vec<(&'static str, Vec<Box<dyn Rule>>)> {
    let mut reversed = detectors::rules();
    reversed.reverse();
    let (mut shuffled, rest): (Vec<_>, Vec<_>) = detectors::rules()
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 1);
    shuffled.reverse();
    shuffled.extend(rest);
    let shuffled = shuffled.into_iter().map(|(_, r)| r).collect();
    vec![("reversed", reversed), ("shuffled", shuffled)]
}

/// Runs the rules in catalogue order and in the [`reorderings`], and checks they agree.
/// `run` runs the rules of a stage on every core, `run_rules` one by one on this thread: in
/// any order of the rules the findings are the same.
fn assert_rule_order_free(store: &FrameStore, data: &str) {
    let config = Config::builtin().unwrap();
    let expected = detectors::run(store.frame(), &config).unwrap();
    assert!(!expected.is_empty(), "{data}: no findings");
    for (order, rules) in reorderings() {
        let found = detectors::run_rules(store.frame(), &config, &rules).unwrap();
        assert_eq!(found.len(), expected.len(), "{data}, rules {order}");
        for (f, e) in found.iter().zip(&expected) {
            assert!(f == e, "{data}, rules {order}: {f:#?}\ninstead of {e:#?}");
        }
    }
}

#[test]
fn rule_order_does_not_change_the_findings_on_the_sample() {
    let store = load(&[sample_logs().as_path()]);
    assert_rule_order_free(&store, "sample-logs");
}

#[test]
fn rule_order_does_not_change_the_findings_on_the_month() {
    let dir = tempfile::tempdir().unwrap();
    trailscope::synth::write_month(dir.path(), MONTH_EVENTS as usize, MONTH_SEED).unwrap();
    assert_rule_order_free(&load(&[dir.path()]), "generated month");
}

/// Rules read their events by position in the frame they judge, which leaves out events
/// without a time: events without one placed first (every position moves) change no
/// finding of the others, on the fixtures of every rule and on the bundled sample.
#[test]
fn events_without_a_time_change_no_finding() {
    use polars::prelude::{Column, IntoColumn};
    let config = Config::builtin().unwrap();
    for dir in [fixture("detect"), sample_logs()] {
        let store = load(&[dir.as_path()]);
        let frame = store.frame();
        let expected = detectors::run(frame, &config).unwrap();
        assert!(!expected.is_empty(), "{}: no findings", dir.display());
        let time = trailscope::schema::TIME;
        let mut untimed = frame.head(Some(40));
        let dtype = frame.column(time).unwrap().dtype().clone();
        untimed
            .with_column(Column::full_null(time.into(), untimed.height(), &dtype).into_column())
            .unwrap();
        let mixed = untimed.vstack(frame).unwrap();
        let found = detectors::run(&mixed, &config).unwrap();
        let seen = |f: &Finding| {
            (
                f.rule.clone(),
                f.severity,
                f.reason.clone(),
                f.event_ids.clone(),
            )
        };
        let expected: Vec<_> = expected.iter().map(seen).collect();
        let found: Vec<_> = found.iter().map(seen).collect();
        assert_eq!(found, expected, "{}", dir.display());
    }
}

#[test]
fn readme_documents_every_rule() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for info in detectors::catalogue() {
        assert!(
            readme.contains(&format!("| `{}` |", info.id)),
            "{} missing from the README rules table",
            info.id
        );
    }
}
