//! Alerts (issue 15): findings posted to a webhook served by the test (one that fails the
//! first tries), run through a command, and the hygiene that keeps them bearable: minimum
//! severity, re-alert interval, silences with expiry, aggregation, and the counts of what
//! was held back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use trailscope::config::Config;
use trailscope::detectors::{Change, Finding, LiveFinding, Severity};
use trailscope::output::alert::{
    AlertLedger, AlertOptions, AlertPlan, AlertTarget, Alerter, Retry, Silence,
};

// ---------------------------------------------------------------------------------------
// A webhook endpoint
// ---------------------------------------------------------------------------------------

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    at: Instant,
    path: String,
    content_type: String,
    body: Value,
    /// The status it answered.
    status: u16,
}

/// An HTTP/1.1 endpoint on 127.0.0.1 that answers the first requests with `replies`
/// (status, Retry-After seconds) and then 200, and records every request.
pub(crate) struct Endpoint {
    pub(crate) url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Endpoint {
    pub(crate) fn start(replies: &[(u16, Option<u64>)]) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/services/T000/B000/secret-token",
            listener.local_addr().unwrap()
        );
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let replies = replies.to_vec();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { return };
                let (status, retry_after) = replies.get(n).copied().unwrap_or((200, None));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut length = 0;
                let mut content_type = String::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').unwrap();
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap(),
                        "content-type" => content_type = value.trim().to_string(),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                log.lock().unwrap().push(Received {
                    at: Instant::now(),
                    path: request_line.split(' ').nth(1).unwrap_or("").to_string(),
                    content_type,
                    body: serde_json::from_slice(&body).unwrap(),
                    status,
                });
                let extra = retry_after
                    .map(|s| format!("Retry-After: {s}\r\n"))
                    .unwrap_or_default();
                let text = if status == 200 { "ok" } else { "try later" };
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{text}",
                    text.len()
                )
                .unwrap();
            }
        });
        Endpoint { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The bodies it accepted (answered 200).
    pub(crate) fn accepted(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|r| r.status == 200)
            .map(|r| r.body)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Findings and alerters
// ---------------------------------------------------------------------------------------

/// A live finding of `rule` about `actor`, from `ips`.
fn live(rule: &str, actor: &str, severity: Severity, ips: &[&str]) -> LiveFinding {
    LiveFinding {
        finding: Finding {
            rule: rule.into(),
            title: format!("Title of {rule}"),
            severity,
            time: Some(1_767_225_600_000_000), // 2026-01-01T00:00:00Z
            actor: actor.into(),
            provider: "aws".into(),
            event_ids: vec![format!("{rule}-{actor}-1"), format!("{rule}-{actor}-2")],
            rows: vec![0, 1],
            count: 2,
            reason: format!("{actor} did it twice"),
            mitre: vec!["T1485".into()],
        },
        change: Change::New,
        src_ips: ips.iter().map(|s| s.to_string()).collect(),
        resources: vec!["arn:aws:s3:::bucket".into()],
    }
}

/// Options for tests: retries 10 ms apart, the built-in rest.
fn quick() -> AlertOptions {
    AlertOptions {
        retry: Retry {
            attempts: 6,
            base: Duration::from_millis(10),
            longest: Duration::from_secs(5),
        },
        min_severity: Severity::Low,
        ..AlertOptions::default()
    }
}

fn alerter(targets: &[String], silences: &[&str], options: AlertOptions) -> Alerter {
    let mut plan = AlertPlan {
        targets: Vec::new(),
        silences: Vec::new(),
        options,
    };
    for t in targets {
        plan.add_target(t).unwrap();
    }
    for s in silences {
        plan.add_silence(s).unwrap();
    }
    plan.start(AlertLedger::new())
}

const NOW: i64 = 1_767_229_200_000_000; // 2026-01-01T01:00:00Z
const HOUR: i64 = 3_600_000_000;

// ---------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------

#[test]
fn webhook_gets_each_finding_once_through_an_endpoint_that_fails_at_first() {
    let endpoint = Endpoint::start(&[(500, None), (500, None)]);
    let mut alerts = alerter(&[format!("webhook={}", endpoint.url)], &[], quick());
    let findings = [
        live(
            "mass-destruction",
            "alice@example.com",
            Severity::High,
            &["198.51.100.7"],
        ),
        live(
            "audit-log-tampering",
            "bob@example.com",
            Severity::Critical,
            &[],
        ),
        live(
            "aws-admin-policy-attached",
            "carol@example.com",
            Severity::High,
            &[],
        ),
    ];
    alerts.offer_at(&findings, NOW);
    alerts.wait_idle();

    let received = endpoint.received();
    assert_eq!(received.len(), 5, "two failures, then three deliveries");
    assert!(
        received
            .iter()
            .all(|r| r.path == "/services/T000/B000/secret-token")
    );
    assert!(
        received
            .iter()
            .all(|r| r.content_type == "application/json")
    );
    // The body that failed is the one retried.
    assert_eq!(received[0].body, received[2].body);
    let accepted = endpoint.accepted();
    for f in &findings {
        let got: Vec<&Value> = accepted
            .iter()
            .filter(|b| b["actor"] == f.finding.actor.as_str())
            .collect();
        assert_eq!(
            got.len(),
            1,
            "{} delivered once: {accepted:#?}",
            f.finding.actor
        );
        let body = got[0];
        assert_eq!(body["rule"], f.finding.rule.as_str());
        assert_eq!(body["severity"], f.finding.severity.as_str());
        assert_eq!(body["title"], f.finding.title.as_str());
        assert_eq!(body["count"], 2);
        assert_eq!(body["change"], "new");
        assert_eq!(body["time"], "2026-01-01T00:00:00Z");
        assert_eq!(body["mitre"][0], "T1485");
        assert_eq!(body["event_ids"].as_array().unwrap().len(), 2);
        assert_eq!(body["resources"][0], "arn:aws:s3:::bucket");
        let text = body["text"].as_str().unwrap();
        assert!(
            text.contains(&f.finding.severity.as_str().to_ascii_uppercase()),
            "{text}"
        );
        assert!(text.contains(&f.finding.title), "{text}");
        assert!(text.contains(&f.finding.actor), "{text}");
        assert!(
            text.contains("2 events") && text.contains("2026-01-01 00:00 UTC"),
            "{text}"
        );
    }
    assert_eq!(accepted[0]["src_ips"][0], "198.51.100.7");
    let counts = alerts.counts();
    assert_eq!((counts.delivered, counts.failed), (3, 0), "{counts}");
}

#[test]
fn webhook_waits_as_long_as_retry_after_asks() {
    let endpoint = Endpoint::start(&[(429, Some(1))]);
    let mut alerts = alerter(&[format!("webhook={}", endpoint.url)], &[], quick());
    alerts.offer_at(
        &[live("mass-destruction", "alice", Severity::High, &[])],
        NOW,
    );
    alerts.wait_idle();
    let received = endpoint.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    // The backoff alone would have retried after 10 ms.
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
    assert_eq!(alerts.counts().delivered, 1);
}

#[test]
fn webhook_that_refuses_for_good_fails_at_once_and_keeps_its_secret() {
    let endpoint = Endpoint::start(&[(404, None), (500, None), (500, None), (500, None)]);
    let mut options = quick();
    options.retry.attempts = 3;
    let mut alerts = alerter(&[format!("webhook={}", endpoint.url)], &[], options);
    alerts.offer_at(
        &[live("mass-destruction", "alice", Severity::High, &[])],
        NOW,
    );
    alerts.wait_idle();
    assert_eq!(endpoint.received().len(), 1, "a 404 is not retried");
    alerts.offer_at(&[live("mass-destruction", "bob", Severity::High, &[])], NOW);
    alerts.wait_idle();
    assert_eq!(
        endpoint.received().len(),
        4,
        "three 500s spend the three attempts"
    );
    let counts = alerts.counts();
    assert_eq!((counts.delivered, counts.failed), (0, 2), "{counts}");
    let why = alerts.last_failure().unwrap();
    assert!(
        why.contains("HTTP 500") && why.contains("3 attempts"),
        "{why}"
    );
    assert!(!why.contains("secret-token"), "{why}");
    assert!(alerts.targets().iter().all(|t| !t.contains("secret-token")));
}

// ---------------------------------------------------------------------------------------
// Hygiene
// ---------------------------------------------------------------------------------------

#[test]
fn one_alert_per_rule_and_actor_per_interval_unless_it_got_worse() {
    let endpoint = Endpoint::start(&[]);
    let mut alerts = alerter(&[format!("webhook={}", endpoint.url)], &[], quick());
    let first = live("signin-failure-burst", "alice", Severity::Medium, &[]);
    alerts.offer_at(std::slice::from_ref(&first), NOW);
    // The same burst grew; another burst of the same actor: both within the hour.
    let mut grown = first.clone();
    grown.change = Change::Updated;
    grown.finding.count = 40;
    let mut another = first.clone();
    another.finding.event_ids = vec!["later-1".into()];
    alerts.offer_at(&[grown.clone(), another], NOW + HOUR / 2);
    // Another actor is another key.
    alerts.offer_at(
        &[live("signin-failure-burst", "bob", Severity::Medium, &[])],
        NOW + HOUR / 2,
    );
    // It got worse: alerted within the interval.
    let mut worse = grown.clone();
    worse.finding.severity = Severity::High;
    alerts.offer_at(std::slice::from_ref(&worse), NOW + HOUR / 2);
    // An hour after the last alert, the same again is alerted.
    alerts.offer_at(std::slice::from_ref(&worse), NOW + HOUR / 2 + HOUR);
    alerts.wait_idle();

    let accepted = endpoint.accepted();
    let summary: Vec<(String, String, String)> = accepted
        .iter()
        .map(|b| {
            (
                b["actor"].as_str().unwrap().to_string(),
                b["severity"].as_str().unwrap().to_string(),
                b["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = |a: &str, s: &str, c: &str| (a.to_string(), s.to_string(), c.to_string());
    assert_eq!(
        summary,
        [
            expect("alice", "medium", "new"),
            expect("bob", "medium", "new"),
            expect("alice", "high", "updated"),
            expect("alice", "high", "updated"),
        ]
    );
    assert_eq!(alerts.counts().realert, 2);

    // The ledger survives a restart: the same key is still held back.
    let saved = serde_json::to_string(alerts.ledger()).unwrap();
    let (_, counts) = alerts.close(Duration::from_secs(5));
    assert_eq!(counts.delivered, 4);
    let mut plan = AlertPlan {
        targets: Vec::new(),
        silences: Vec::new(),
        options: quick(),
    };
    plan.add_target(&format!("webhook={}", endpoint.url))
        .unwrap();
    let mut restarted = plan.start(serde_json::from_str(&saved).unwrap());
    restarted.offer_at(
        std::slice::from_ref(&worse),
        NOW + HOUR / 2 + HOUR + 60_000_000,
    );
    restarted.wait_idle();
    assert_eq!(restarted.counts().realert, 1);
    assert_eq!(endpoint.accepted().len(), 4);
}

#[test]
fn silences_match_actor_cidr_rule_and_resource_until_they_expire() {
    let endpoint = Endpoint::start(&[]);
    let mut alerts = alerter(
        &[format!("webhook={}", endpoint.url)],
        &[
            "actor=mallory*",
            "src_ip=203.0.113.0/24",
            "rule=k8s-*,resource=*kube-system*",
            "actor=dave,for=2h",
            "actor=erin,until=2025-12-31T00:00:00Z",
        ],
        quick(),
    );
    let mut k8s_other = live("k8s-secret-access", "frank", Severity::High, &[]);
    k8s_other.resources = vec!["secrets/default/db".into()];
    let mut k8s_system = live("k8s-secret-access", "grace", Severity::High, &[]);
    k8s_system.resources = vec!["secrets/kube-system/token".into()];
    let offered = [
        live(
            "mass-destruction",
            "mallory@example.com",
            Severity::High,
            &[],
        ),
        live(
            "mass-destruction",
            "bob",
            Severity::High,
            &["198.51.100.1", "203.0.113.9"],
        ),
        live(
            "mass-destruction",
            "carol",
            Severity::High,
            &["198.51.100.1"],
        ),
        k8s_other,
        k8s_system,
        live("mass-destruction", "dave", Severity::High, &[]),
        live("mass-destruction", "erin", Severity::High, &[]),
    ];
    alerts.offer_at(&offered, trailscope::output::alert::now());
    alerts.wait_idle();
    let mut actors: Vec<String> = endpoint
        .accepted()
        .iter()
        .map(|b| b["actor"].as_str().unwrap().to_string())
        .collect();
    actors.sort();
    assert_eq!(actors, ["carol", "erin", "frank"]);
    assert_eq!(alerts.counts().silenced, 4);

    // Three hours later dave's silence has expired.
    let later = trailscope::output::alert::now() + 3 * HOUR;
    alerts.offer_at(
        &[live("mass-destruction", "dave", Severity::High, &[])],
        later,
    );
    alerts.wait_idle();
    assert!(endpoint.accepted().iter().any(|b| b["actor"] == "dave"));
    assert_eq!(
        alerts.silences(later).count(),
        3,
        "the expired ones are no longer listed"
    );
}

#[test]
fn findings_below_the_minimum_severity_are_counted_not_sent() {
    let endpoint = Endpoint::start(&[]);
    let mut options = quick();
    options.min_severity = Severity::Medium;
    let mut alerts = alerter(
        &[
            format!("webhook={}", endpoint.url),
            format!("webhook={},min=critical", endpoint.url),
        ],
        &[],
        options,
    );
    alerts.offer_at(
        &[
            live("console-signin-without-mfa", "alice", Severity::Low, &[]),
            live("mass-destruction", "bob", Severity::High, &[]),
            live("audit-log-tampering", "carol", Severity::Critical, &[]),
        ],
        NOW,
    );
    alerts.wait_idle();
    let mut got: Vec<String> = endpoint
        .accepted()
        .iter()
        .map(|b| b["actor"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(
        got,
        ["bob", "carol", "carol"],
        "bob only to the first target"
    );
    let counts = alerts.counts();
    // alice below the global minimum, bob below the second target's.
    assert_eq!(
        (counts.below_severity, counts.delivered),
        (2, 3),
        "{counts}"
    );
}

#[test]
fn aggregation_sends_one_message_with_a_table_per_window() {
    let endpoint = Endpoint::start(&[]);
    let mut alerts = alerter(
        &[format!("webhook={},aggregate=1s", endpoint.url)],
        &[],
        quick(),
    );
    let actors = ["alice", "bob", "carol", "dave", "erin"];
    let findings: Vec<LiveFinding> = actors
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let sev = if i < 2 {
                Severity::High
            } else {
                Severity::Medium
            };
            live("mass-destruction", a, sev, &[])
        })
        .collect();
    alerts.offer_at(&findings[..3], NOW);
    alerts.offer_at(&findings[3..], NOW);
    alerts.wait_idle();
    let accepted = endpoint.accepted();
    assert_eq!(accepted.len(), 1, "{accepted:#?}");
    let message = &accepted[0];
    assert_eq!(message["count"], 5);
    let listed = message["findings"].as_array().unwrap();
    assert_eq!(listed.len(), 5);
    let text = message["text"].as_str().unwrap();
    assert!(
        text.starts_with("trailscope: 5 findings (2 high, 3 medium)"),
        "{text}"
    );
    assert!(
        text.contains("SEVERITY") && text.contains("RULE") && text.contains("ACTOR"),
        "{text}"
    );
    for a in actors {
        assert!(
            text.lines()
                .any(|l| l.contains(a) && l.contains("mass-destruction")),
            "{a} has a row: {text}"
        );
        assert!(listed.iter().any(|f| f["actor"] == a));
    }
    assert_eq!(alerts.counts().delivered, 5);
}

#[test]
fn chat_text_cannot_notify_a_channel() {
    let endpoint = Endpoint::start(&[]);
    let mut alerts = alerter(&[format!("webhook={}", endpoint.url)], &[], quick());
    alerts.offer_at(
        &[live(
            "mass-destruction",
            "<!channel> x\u{1b}[2J",
            Severity::High,
            &[],
        )],
        NOW,
    );
    alerts.wait_idle();
    let body = &endpoint.accepted()[0];
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("&lt;!channel&gt;"), "{text}");
    assert!(!text.contains('<') && !text.contains('\u{1b}'), "{text}");
    // The finding's own fields stay as logged (JSON escapes them).
    assert_eq!(body["actor"], "<!channel> x\u{1b}[2J");
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

#[test]
fn exec_gets_each_finding_as_json_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let script = dir.path().join("page.sh");
    std::fs::write(&script, format!("#!/bin/sh\ncat >> '{}'\n", out.display())).unwrap();
    let mut alerts = alerter(&[format!("exec=sh '{}'", script.display())], &[], quick());
    alerts.offer_at(
        &[
            live("mass-destruction", "alice", Severity::High, &[]),
            live("aws-admin-policy-attached", "bob", Severity::Critical, &[]),
        ],
        NOW,
    );
    alerts.wait_idle();
    let lines = read_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let bodies: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(bodies[0]["rule"], "mass-destruction");
    assert_eq!(bodies[0]["actor"], "alice");
    assert_eq!(bodies[1]["rule"], "aws-admin-policy-attached");
    assert_eq!(bodies[1]["severity"], "critical");
    assert_eq!(alerts.counts().delivered, 2);
}

#[test]
fn exec_failures_and_timeouts_are_counted_with_what_the_command_said() {
    let mut options = quick();
    options.exec_timeout = Duration::from_millis(300);
    let mut alerts = alerter(
        &["exec=cat > /dev/null; echo 'pager is down' >&2; exit 3".to_string()],
        &[],
        options.clone(),
    );
    alerts.offer_at(
        &[live("mass-destruction", "alice", Severity::High, &[])],
        NOW,
    );
    alerts.wait_idle();
    assert_eq!(alerts.counts().failed, 1);
    let why = alerts.last_failure().unwrap();
    assert!(why.contains("3") && why.contains("pager is down"), "{why}");

    let mut slow = alerter(&["exec=sleep 5".to_string()], &[], options);
    let started = Instant::now();
    slow.offer_at(
        &[live("mass-destruction", "alice", Severity::High, &[])],
        NOW,
    );
    slow.wait_idle();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "killed at its timeout"
    );
    assert!(slow.last_failure().unwrap().contains("timed out"));
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_waiting() {
    let mut options = quick();
    options.queue = 1;
    let mut alerts = alerter(
        &["exec=cat > /dev/null; sleep 0.5".to_string()],
        &[],
        options,
    );
    let findings: Vec<LiveFinding> = (0..6)
        .map(|i| {
            live(
                "mass-destruction",
                &format!("actor{i}"),
                Severity::High,
                &[],
            )
        })
        .collect();
    alerts.offer_at(&findings, NOW);
    let counts = alerts.counts();
    // One is being run or queued, one more fits; at most two are taken.
    assert!(counts.queue_full >= 4, "{counts}");
    alerts.wait_idle();
    let counts = alerts.counts();
    assert_eq!(counts.delivered + counts.queue_full, 6, "{counts}");
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Configuration and specs
// ---------------------------------------------------------------------------------------

#[test]
fn alert_section_configures_targets_silences_and_options() {
    let user = r#"
[alert]
targets = ["webhook=https://hooks.example.com/services/T/B/x,min=high"]
min_severity = "high"
realert_minutes = 10
aggregate_seconds = 30

[[alert.silence]]
actor = "deploy-bot@example.com"
until = "2030-01-01T00:00:00Z"

[[alert.silence]]
src_ip = "10.0.0.0/8"
"#;
    let config = Config::overlay(user, Path::new("user.toml")).unwrap();
    let plan = AlertPlan::from_config(&config.alert).unwrap();
    assert_eq!(plan.targets.len(), 1);
    assert_eq!(plan.targets[0].min_severity, Some(Severity::High));
    assert_eq!(plan.silences.len(), 2);
    assert_eq!(plan.options.min_severity, Severity::High);
    assert_eq!(plan.options.realert, Duration::from_secs(600));
    assert_eq!(plan.options.aggregate, Duration::from_secs(30));
    assert_eq!(plan.options.retry.attempts, 6, "built-in attempts kept");
    let bot = live("x", "deploy-bot@example.com", Severity::High, &[]);
    assert!(plan.silences[0].matches(&bot, NOW));
    let inside = live("x", "y", Severity::High, &["10.1.2.3"]);
    assert!(plan.silences[1].matches(&inside, NOW));

    let builtin = AlertPlan::from_config(&Config::builtin().unwrap().alert).unwrap();
    assert!(builtin.targets.is_empty() && builtin.silences.is_empty());
    assert_eq!(builtin.options, AlertOptions::default());

    for (bad, line, what) in [
        (
            "[alert]\nmin_severity = \"urgent\"\n",
            2,
            "invalid severity",
        ),
        (
            "[[alert.silence]]\nsrc_ip = \"10.0.0.0/99\"\n",
            2,
            "invalid CIDR",
        ),
        (
            "[[alert.silence]]\nactor = \"a\"\nuntil = \"tomorrow\"\n",
            3,
            "invalid time",
        ),
        (
            "[[alert.silence]]\ncomment = \"nothing to match\"\n",
            1,
            "at least one",
        ),
    ] {
        let err = Config::overlay(bad, Path::new("bad.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("bad.toml:{line}")) && err.contains(what),
            "{bad}: {err}"
        );
    }
}

#[test]
fn command_line_specs_are_checked() {
    assert!(AlertTarget::parse("webhook=https://x.example/y,min=high").is_ok());
    for bad in [
        "rule",
        "actor=",
        "src_ip=300.0.0.1",
        "for=soon,actor=a",
        "until=x,actor=a",
        "color=red",
    ] {
        assert!(Silence::parse(bad, NOW).is_err(), "{bad}");
    }
    let s = Silence::parse("actor=a,for=2h", NOW).unwrap();
    assert_eq!(s.until, Some(NOW + 2 * HOUR));
    let mut plan = AlertPlan::from_config(&Config::builtin().unwrap().alert).unwrap();
    assert!(plan.set_min_severity("urgent").is_err());
    plan.set_min_severity("critical").unwrap();
    assert_eq!(plan.options.min_severity, Severity::Critical);
}
