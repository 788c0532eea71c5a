//! The command line as scripts and users meet it.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::{run, sample_logs, stderr, stdout};

#[test]
fn summary_json_has_the_documented_shape() {
    let output = run(&[
        "summary",
        "--format",
        "json",
        &sample_logs().display().to_string(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let files = json["files"].as_array().unwrap();
    assert!(files.len() >= 8);
    for file in files {
        for key in ["path", "format", "events", "rejected", "duplicates"] {
            assert!(file.get(key).is_some(), "files[].{key} missing: {file}");
        }
        // Every input that loaded events says when they start and end.
        if file["events"].as_u64().unwrap_or(0) > 0 {
            assert!(
                file["first"].is_string() && file["last"].is_string(),
                "time range of {file}"
            );
        }
    }
    let total = &json["total"];
    for key in [
        "events",
        "rejected",
        "duplicates",
        "first",
        "last",
        "actors",
        "providers",
    ] {
        assert!(total.get(key).is_some(), "total.{key} missing");
    }
    let providers = total["providers"].as_object().unwrap();
    for p in [
        "aws",
        "entra",
        "azure",
        "gcp",
        "kubernetes",
        "okta",
        "github",
    ] {
        assert!(
            providers.get(p).and_then(|v| v.as_u64()).unwrap_or(0) > 0,
            "provider {p} missing: {providers:?}"
        );
    }
    let sum: u64 = providers.values().filter_map(|v| v.as_u64()).sum();
    assert_eq!(sum, total["events"].as_u64().unwrap());
    // The bundled sample holds one re-downloaded day and one line cut by log rotation.
    assert!(total["duplicates"].as_u64().unwrap() > 0);
    assert_eq!(total["rejected"], 1);
    assert_eq!(
        total["events"].as_u64().unwrap() + total["duplicates"].as_u64().unwrap() + 1,
        total["seen"].as_u64().unwrap()
    );
}

#[test]
fn summary_table_names_each_input_and_the_rejected_line() {
    let output = run(&["summary", &sample_logs().display().to_string()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("cloudtrail"), "{text}");
    assert!(text.contains("kube-apiserver-audit.log"), "{text}");
    assert!(text.contains("TOTAL"), "{text}");
    assert!(text.contains("records seen:"), "{text}");
    // The Okta export's row shows its own time range (the sample starts 2024-03-04).
    let okta = text
        .lines()
        .find(|l| l.contains("okta/system-log.json"))
        .unwrap();
    assert!(
        okta.matches("2024-03-").count() == 2,
        "first and last of the input: {okta}"
    );
    let rejected = text
        .lines()
        .find(|l| l.contains("kube-apiserver-audit.log:"))
        .unwrap_or_default();
    assert!(
        rejected.contains("truncated") || rejected.contains("invalid JSON"),
        "{text}"
    );
}

#[test]
fn nothing_loadable_exits_2_with_one_line_naming_the_formats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "just some text\n").unwrap();
    let output = run(&["summary", &path.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no events loaded"), "{err}");
    assert!(
        err.contains("cloudtrail") && err.contains("okta") && err.contains("k8s-audit"),
        "{err}"
    );
    assert!(err.contains("notes.txt"), "{err}");
}

#[test]
fn unknown_input_format_is_an_error() {
    let output = run(&[
        "summary",
        "--input-format",
        "splunk",
        &sample_logs().display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unknown input format 'splunk'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn standard_input_is_read_with_dash() {
    let record = r#"{"eventVersion":"1.09","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2024-03-04T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","eventID":"stdin-1","eventType":"AwsConsoleSignIn","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}"#;
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["summary", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{record}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["files"][0]["path"], "-");
    assert_eq!(json["files"][0]["events"], 1);
    assert_eq!(json["total"]["providers"]["aws"], 1);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["summary", &sample_logs().display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn globs_are_expanded_when_the_shell_did_not() {
    let pattern = format!("{}/*/*.ndjson", sample_logs().display());
    let output = run(&["summary", "--format", "json", &pattern]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(json["files"].as_array().unwrap().len() >= 3);
}
