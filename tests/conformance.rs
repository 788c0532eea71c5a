//! Conformance with real public exports: every file in `$TRAILSCOPE_REAL_SAMPLES` (CI sets
//! it to `../shared/sample-data`) loads to the event count its `SOURCES.md` gives.

use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::util::{load, run, stdout};

/// Files that hold one record a correct loader must refuse, with the reason it gives.
const EXPECTED_REJECTIONS: [(&str, &str); 3] = [
    (
        "cloudtrail/cloud-custodian-cwe/event-cloud-trail-bedrock-create-customization-jobs.json",
        "eventTime",
    ),
    (
        "gcp-audit/cloud-custodian/network-finding.json",
        "not a known audit record",
    ),
    (
        "k8s-audit/falco-trace-files/fal_01_003.json",
        "not a known audit record",
    ),
];

/// The real samples' directory; the tests below are ignored unless the variable is set, and
/// fail (not skip) when it names no sample directory.
fn samples() -> PathBuf {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_default();
    assert!(
        dir.join("SOURCES.md").is_file(),
        "TRAILSCOPE_REAL_SAMPLES={} holds no SOURCES.md",
        dir.display()
    );
    dir
}

/// Appendix A of SOURCES.md: file -> event count.
fn expected_counts(dir: &std::path::Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap();
    let appendix = text
        .split("## Appendix A")
        .nth(1)
        .expect("Appendix A in SOURCES.md");
    let mut counts = BTreeMap::new();
    for line in appendix.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 6 || !cells[1].starts_with('`') {
            continue;
        }
        let file = cells[1].trim_matches('`').to_string();
        if let Ok(events) = cells[3].parse::<u64>() {
            counts.insert(file, events);
        }
    }
    counts
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn every_real_sample_file_loads_to_its_documented_count() {
    let dir = samples();
    let expected = expected_counts(&dir);
    assert!(
        expected.len() >= 180,
        "SOURCES.md lists {} files",
        expected.len()
    );
    let mut failures = Vec::new();
    for (file, count) in &expected {
        let path = dir.join(file);
        let store = load(&[&path]);
        let input = &store.inputs()[0];
        let rejection = EXPECTED_REJECTIONS.iter().find(|(f, _)| f == file);
        let want_rejected = u64::from(rejection.is_some());
        if input.seen() != *count || input.rejected != want_rejected {
            failures.push(format!(
                "{file}: expected {count} records ({want_rejected} rejected), got {} events + {} duplicates + {} rejected {:?}",
                input.events,
                input.duplicates,
                input.rejected,
                input.rejections.iter().map(|r| r.reason.clone()).collect::<Vec<_>>()
            ));
        }
        if let Some((_, reason)) = rejection
            && !input.rejections.iter().any(|r| r.reason.contains(reason))
        {
            failures.push(format!(
                "{file}: rejection should mention {reason:?}: {:?}",
                input.rejections
            ));
        }
        if input.events > 0 && input.format.is_none() {
            failures.push(format!("{file}: events loaded but no format reported"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} files off:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn summary_json_reports_the_documented_counts() {
    let dir = samples();
    for (file, events, format) in [
        (
            "cloudtrail/trailscraper/111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json.gz",
            2,
            "cloudtrail",
        ),
        (
            "entra-signin/sentinel-training-lab/sign-in_adelete.csv",
            56,
            "entra",
        ),
        (
            "okta/sekoia-unlicensed/okta-systemlog.jsonstream",
            10,
            "okta",
        ),
        ("k8s-audit/sysdig-aks/event.json", 22, "k8s-audit"),
        (
            "github-audit/sentinel-asim/Github_sample_logs.json",
            63,
            "github-audit",
        ),
    ] {
        let output = run(&[
            "summary",
            "--format",
            "json",
            &dir.join(file).display().to_string(),
        ]);
        assert!(output.status.success(), "{file}: {output:?}");
        let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
        assert_eq!(json["files"][0]["events"], events, "{file}");
        assert_eq!(json["files"][0]["format"], format, "{file}");
        assert_eq!(json["total"]["events"], events, "{file}");
    }
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn a_kubernetes_request_logged_in_two_stages_is_one_event() {
    // SOURCES.md: 757 lines, 437 requests, 320 of them logged at RequestReceived too.
    let file = samples().join("k8s-audit/audit2rbac/demo-2017-original-v1beta1.log");
    let file = file.display().to_string();
    let output = run(&["summary", "--format", "json", &file]);
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let total = &json["total"];
    assert_eq!(
        (
            &total["events"],
            &total["duplicates"],
            &total["stage_duplicates"]
        ),
        (&json!(437), &json!(320), &json!(320))
    );
    assert_eq!(total["seen"], 757);
    // Every request kept is its completed stage, with the outcome it had.
    let output = run(&["query", &file, "--format", "ndjson"]);
    let rows: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 437);
    assert!(
        rows.iter().all(|r| r["details"]
            .as_str()
            .unwrap_or("")
            .contains("stage=ResponseComplete")),
        "a RequestReceived stage was kept"
    );
    assert!(rows.iter().all(|r| r["outcome"] != "unknown"));
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn the_whole_sample_directory_loads_with_duplicates_across_wrappers() {
    let dir = samples();
    let store = crate::util::load_names(&[dir.display().to_string()]);
    let (events, duplicates, rejected) = store.totals();
    // SOURCES.md: the trailscraper .json.gz repeats its .json (2 records), the Okta
    // Cribl file and its NDJSON hold the same 100 events, and 320 Kubernetes requests of
    // the 2017 audit2rbac log are logged at two stages.
    assert!(duplicates >= 422, "duplicates {duplicates}");
    assert_eq!(rejected, 4, "three bad records and SOURCES.md itself");
    assert!(events > 1900, "{events}");
}
