//! `trailscope tail -` fed by each provider's own live tooling, in the shape that tooling
//! prints (the README's examples): every record is printed while the pipe is still open,
//! and overlapping pages of polling loops are printed once.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::util::sample_logs;

/// The records of a sample file: a JSON array, a `{"Records"|"value": [...]}` page, or lines.
fn sample_records(rel: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(sample_logs().join(rel)).unwrap();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Object(page)) => page
            .get("Records")
            .or_else(|| page.get("value"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap(),
        _ => text
            .lines()
            // The samples hold a few broken lines on purpose.
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    }
}

/// Writes `pieces` to `trailscope tail -` one after another; after each, waits until the
/// events printed reach the count given with it (so each piece is printed while the pipe is
/// still open). Returns every event printed.
fn pipe(pieces: &[(String, usize)]) -> Vec<Value> {
    let mut child = crate::util::trailscope()
        .args(["tail", "--format", "ndjson", "--reorder-window", "0s", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str::<Value>(&line).unwrap());
        }
    });
    let mut events = Vec::new();
    for (text, expected) in pieces {
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
        while events.len() < *expected {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(event) => events.push(event),
                Err(_) => panic!(
                    "{} of {expected} events printed while the pipe was open",
                    events.len()
                ),
            }
        }
    }
    drop(stdin);
    events.extend(rx.iter());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    events
}

fn ids(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect()
}

fn compact(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| r.to_string()).collect()
}

#[test]
fn aws_logs_tail_short_format() {
    // `aws logs tail GROUP --follow --format short`: `TIMESTAMP MESSAGE` per line, the
    // message being the CloudTrail record CloudTrail sent to CloudWatch Logs.
    let records = sample_records(
        "aws-redownload/111122223333_CloudTrail_us-east-1_20240319T0000Z_7607776fa98fad02.json",
    );
    let lines: Vec<String> = compact(&records[..4])
        .into_iter()
        .map(|r| format!("2024-03-19T00:00:01.123000+00:00 {r}\n"))
        .collect();
    let events = pipe(&[(lines[..2].concat(), 2), (lines[2..].concat(), 4)]);
    assert_eq!(
        ids(&events),
        records[..4]
            .iter()
            .map(|r| r["eventID"].as_str().unwrap())
            .collect::<Vec<_>>()
    );
    assert!(events.iter().all(|e| e["provider"] == "aws"));
}

#[test]
fn aws_logs_tail_default_format_with_stream_names() {
    // The default (detailed) format puts the log stream's name between time and message.
    let records = sample_records(
        "aws-redownload/111122223333_CloudTrail_us-east-1_20240319T0000Z_7607776fa98fad02.json",
    );
    let lines: Vec<String> = compact(&records[..2])
        .into_iter()
        .map(|r| {
            format!("2024-03-19T00:00:01.123000+00:00 111122223333_CloudTrail_us-east-1 {r}\n")
        })
        .collect();
    let events = pipe(&[(lines[0].clone(), 1), (lines[1].clone(), 2)]);
    assert_eq!(events.len(), 2);
}

#[test]
fn gcloud_logging_tail_json() {
    // `gcloud logging tail 'logName:"cloudaudit.googleapis.com"' --format=json`: each entry
    // pretty-printed as it arrives.
    let records = sample_records("gcp/gcloud-logging-read.json");
    let pretty: Vec<String> = records[..3]
        .iter()
        .map(|r| serde_json::to_string_pretty(r).unwrap() + "\n")
        .collect();
    let events = pipe(&[(pretty[0].clone(), 1), (pretty[1..].concat(), 3)]);
    assert!(events.iter().all(|e| e["provider"] == "gcp"), "{events:?}");
}

#[test]
fn kubectl_logs_follow_with_timestamps() {
    // `kubectl logs -f deploy/audit-webhook-sink --timestamps`: the sink prints each audit
    // event on a line; kubectl puts the time before it.
    let records = sample_records("kubernetes/kube-apiserver-audit.log");
    let lines: Vec<String> = compact(&records[..3])
        .into_iter()
        .map(|r| format!("2024-03-04T00:03:14.002345678Z {r}\n"))
        .collect();
    let events = pipe(&[(lines[0].clone(), 1), (lines[1..].concat(), 3)]);
    assert!(events.iter().all(|e| e["provider"] == "kubernetes"));
}

#[test]
fn graph_polling_pages_for_entra_audit_logs() {
    // `while :; do az rest --url "https://graph.microsoft.com/v1.0/auditLogs/directoryAudits?$filter=activityDateTime ge $SINCE"; sleep 60; done`:
    // one `{"value": [...]}` page per poll, overlapping the last; overlaps print once.
    let records = sample_records("azure/entra-directory-audits.json");
    let page = |r: &[Value]| {
        serde_json::to_string_pretty(&serde_json::json!({"value": r})).unwrap() + "\n"
    };
    let events = pipe(&[(page(&records[..2]), 2), (page(&records[1..4]), 4)]);
    assert_eq!(events.len(), 4, "the record in both pages is printed once");
    assert!(
        events.iter().all(|e| e["provider"] == "entra"),
        "{events:?}"
    );
}

#[test]
fn okta_system_log_polling() {
    // `while :; do curl -s -H "Authorization: SSWS $TOKEN" "$OKTA/api/v1/logs?since=$SINCE"; sleep 30; done`:
    // a JSON array per poll.
    let records = sample_records("okta/system-log.json");
    let array = |r: &[Value]| serde_json::to_string(r).unwrap() + "\n";
    let events = pipe(&[(array(&records[..2]), 2), (array(&records[2..5]), 5)]);
    assert!(events.iter().all(|e| e["provider"] == "okta"));
}

#[test]
fn github_audit_log_polling() {
    // `while :; do gh api "/orgs/ORG/audit-log?phrase=created:>=$SINCE&per_page=100"; sleep 60; done`:
    // a JSON array per poll.
    let records = sample_records("github/org-audit-log.ndjson");
    let array = |r: &[Value]| serde_json::to_string(r).unwrap() + "\n";
    let events = pipe(&[(array(&records[..3]), 3), (array(&records[2..6]), 6)]);
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|e| e["provider"] == "github"));
}

#[test]
fn azure_activity_records_from_a_consumer() {
    // Diagnostic records as Azure writes them to Event Hubs or storage, one per line, from
    // any consumer (`az storage blob download ... -f /dev/stdout`, a Function, Vector).
    let records = sample_records("azure/azure-activity.ndjson");
    let lines: Vec<String> = compact(&records[..3])
        .into_iter()
        .map(|r| r + "\n")
        .collect();
    let events = pipe(&[(lines[0].clone(), 1), (lines[1..].concat(), 3)]);
    assert!(
        events.iter().all(|e| e["provider"] == "azure"),
        "{events:?}"
    );
}
