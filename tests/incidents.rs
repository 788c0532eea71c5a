//! Incidents: the bundled sample's intrusion is one incident with its whole chain and an
//! unrelated finding of another person in the same hours is not in it
//! (`tests/fixtures/incidents/`); grouping stays bounded on the generated month and the real
//! samples (no incident longer than the window, every finding in exactly one incident).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use trailscope::config::Config;
use trailscope::detectors::{self, Finding};
use trailscope::incidents::{self, Incident, Settings};
use trailscope::store::FrameStore;

use crate::util::{fixture, load, run, sample_logs, stderr, stdout};

fn unrelated() -> String {
    fixture("incidents/unrelated-cloudtrail.json")
        .display()
        .to_string()
}

fn incidents_json(extra: &[&str]) -> Vec<Value> {
    let sample = sample_logs().display().to_string();
    let unrelated = unrelated();
    let mut args = vec!["incidents", &sample, &unrelated, "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str::<Value>(&stdout(&out))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn texts<'a>(incident: &'a Value, field: &str) -> BTreeSet<&'a str> {
    incident["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f[field].as_str())
        .collect()
}

#[test]
fn the_sample_intrusion_is_one_incident_with_its_whole_chain() {
    let all = incidents_json(&[]);
    let with = |rule: &str, actor: &str| -> Vec<&Value> {
        all.iter()
            .filter(|i| {
                i["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["rule"] == rule && f["actor"].as_str().unwrap().contains(actor))
            })
            .collect()
    };
    let spray = with("password-spray", "203.0.113.66");
    assert_eq!(spray.len(), 1);
    let intrusion = spray[0];
    // The whole story: spray, takeover, roles granted, logging stopped (Azure and AWS),
    // credentials created, AWS through Identity Center, Kubernetes, GitHub.
    let rules = texts(intrusion, "rule");
    for rule in [
        "password-spray",
        "signin-success-after-failures",
        "mfa-fatigue",
        "privileged-role-assigned",
        "audit-log-tampering",
        "credential-created-for-other-identity",
        "aws-admin-policy-attached",
        "k8s-secret-access",
        "k8s-exec-into-pod",
        "resource-made-public",
    ] {
        assert!(rules.contains(rule), "{rule} missing from {rules:?}");
    }
    let providers = texts(intrusion, "provider");
    for p in [
        "entra",
        "okta",
        "azure",
        "aws",
        "gcp",
        "kubernetes",
        "github",
    ] {
        assert!(providers.contains(p), "{p} missing from {providers:?}");
    }
    let actors = texts(intrusion, "actor");
    for a in [
        "203.0.113.66",
        "dana@northwind.example",
        "svc-sync@northwind.example",
        "dana",
    ] {
        assert!(actors.contains(a), "{a} missing from {actors:?}");
    }
    assert!(
        actors
            .iter()
            .any(|a| a.contains("assumed-role/AWSReservedSSO")),
        "the Identity Center session is missing: {actors:?}"
    );
    // Every finding of the sample is this one story.
    let sample_only = run(&["detect", "--format", "json"]);
    let sample_findings: Vec<Value> = serde_json::from_str(&stdout(&sample_only)).unwrap();
    assert_eq!(
        intrusion["findings"].as_array().unwrap().len(),
        sample_findings.len()
    );
    assert_eq!(intrusion["severity"], "critical");
    assert!(intrusion["tactics"].as_array().unwrap().len() >= 3);
    assert_eq!(intrusion["first"], "2024-03-20T00:20:00Z");
    assert_eq!(intrusion["subject"], "dana@northwind.example");
    // Each event once, with every rule that cited it.
    let evidence = intrusion["evidence"].as_array().unwrap();
    let ids: Vec<&str> = evidence
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "an event is listed twice");
    assert_eq!(intrusion["evidence_total"], ids.len());
    let grant = evidence
        .iter()
        .find(|e| e["action"] == "Add member to role")
        .unwrap();
    let grant_rules: BTreeSet<&str> = grant["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        grant_rules.contains("privileged-role-assigned")
            && grant_rules.contains("off-hours-privileged-action"),
        "{grant_rules:?}"
    );
    // Entities name the attacker's address and the identities, with counts.
    let entities = intrusion["entities"].as_array().unwrap();
    let address = entities
        .iter()
        .find(|e| e["kind"] == "address" && e["value"] == "203.0.113.66")
        .unwrap();
    assert!(address["count"].as_u64().unwrap() >= 30);
    assert!(
        entities
            .iter()
            .any(|e| e["kind"] == "credential" && e["value"] == "legacy-admin")
    );
    // Each finding says what to check next and names its techniques.
    for f in intrusion["findings"].as_array().unwrap() {
        assert!(
            f["next_steps"].as_str().is_some_and(|s| !s.is_empty()),
            "{f}"
        );
        assert!(f["mitre"][0]["name"].is_string(), "{f}");
    }

    // Another person's logging stopped in the same hours, from elsewhere: its own incident.
    let oscar = with("audit-log-tampering", "user/oscar");
    assert_eq!(oscar.len(), 1);
    assert_ne!(oscar[0]["id"], intrusion["id"]);
    let theirs = texts(oscar[0], "actor");
    assert_eq!(
        theirs,
        BTreeSet::from(["arn:aws:iam::111122223333:user/oscar"])
    );
    assert_eq!(all.len(), 2, "{all:#?}");
}

#[test]
fn incident_ids_are_stable_and_the_table_tells_the_story() {
    let first: Vec<Value> = incidents_json(&[])
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    let again: Vec<Value> = incidents_json(&[])
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(first, again);
    let sample = sample_logs().display().to_string();
    let out = run(&["incidents", &sample, &unrelated()]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("critical  dana@northwind.example: Successful sign-in after a failure burst or spray, and 31 more findings across 7 tactics"),
        "{text}"
    );
    assert!(text.contains("Credential Access > "), "{text}");
    assert!(text.contains("address: 203.0.113.66"), "{text}");
    assert!(text.contains("next: "), "{text}");
    assert!(
        text.contains("2 incident(s) from 34 finding(s): 2 critical"),
        "{text}"
    );
}

#[test]
fn a_filter_and_a_severity_keep_the_incidents_they_touch() {
    let only_oscar = incidents_json(&["--filter", "src_ip:198.51.100.77"]);
    assert_eq!(only_oscar.len(), 1);
    assert!(only_oscar[0]["title"].as_str().unwrap().contains("oscar"));
    // A filter on one late step keeps the whole story, not a piece of it.
    let github = incidents_json(&["--filter", "provider:github"]);
    assert_eq!(github.len(), 1);
    assert!(github[0]["findings"].as_array().unwrap().len() > 20);
    let jsonl = run(&[
        "incidents",
        &sample_logs().display().to_string(),
        "--format",
        "jsonl",
        "--min-severity",
        "critical",
    ]);
    assert_eq!(stdout(&jsonl).lines().count(), 1);
}

/// Every finding in exactly one incident, none longer than the window.
fn assert_bounded(findings: &[Finding], incidents: &[Incident], window: i64, what: &str) {
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for i in incidents {
        for s in &i.chain {
            *seen.entry(s.finding.identity()).or_default() += 1;
        }
        let times: Vec<i64> = i.chain.iter().filter_map(|s| s.finding.time).collect();
        if let (Some(a), Some(b)) = (times.iter().min(), times.iter().max()) {
            assert!(b - a <= window, "{what}: {} spans {} µs", i.id, b - a);
        }
    }
    let total: usize = incidents.iter().map(|i| i.chain.len()).sum();
    assert_eq!(
        total,
        findings.len(),
        "{what}: a finding is missing or twice"
    );
    let expected: BTreeSet<u64> = findings.iter().map(Finding::identity).collect();
    let got: BTreeSet<u64> = seen.keys().copied().collect();
    assert_eq!(
        got, expected,
        "{what}: incidents hold other findings than the rules found"
    );
}

fn grouped(store: &FrameStore) -> (Vec<Finding>, Vec<Incident>, Settings) {
    let config = Config::builtin().unwrap();
    let findings = detectors::run(store.frame(), &config).unwrap();
    let settings = Settings::from_config(&config);
    let incidents = incidents::group(store.frame(), &findings, &settings).unwrap();
    (findings, incidents, settings)
}

#[test]
fn the_month_is_many_bounded_incidents_not_one() {
    let dir = tempfile::tempdir().unwrap();
    // Another month with TRAILSCOPE_MONTH_SEED / TRAILSCOPE_MONTH_EVENTS (as the detect tests).
    let (events, seed) = crate::util::month_setting();
    let truth = trailscope::synth::write_month(dir.path(), events, seed).unwrap();
    let store = load(&[dir.path()]);
    let (findings, incidents, settings) = grouped(&store);
    assert_bounded(&findings, &incidents, settings.window, "month");
    let largest = incidents.iter().map(|i| i.chain.len()).max().unwrap_or(0);
    eprintln!(
        "month: {} findings, {} incidents, largest {largest}, {} planted",
        findings.len(),
        incidents.len(),
        truth.incidents.len()
    );
    assert!(incidents.len() * 3 >= findings.len(), "over-grouped");
    // Two planted stories of different actors days apart never share an incident.
    for i in &incidents {
        let days: BTreeSet<i64> = i
            .chain
            .iter()
            .filter_map(|s| s.finding.time)
            .map(|t| t / trailscope::time::DAY)
            .collect();
        assert!(days.len() <= 2, "{} spans days {days:?}", i.id);
    }
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn the_real_samples_group_into_bounded_incidents() {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap();
    let store = load(&[std::path::Path::new(&dir)]);
    let (findings, incidents, settings) = grouped(&store);
    assert_bounded(&findings, &incidents, settings.window, "real samples");
    // Named placeholders of the address column are not listed as addresses (the GCP
    // samples' `gce-internal-ip`, CloudTrail's `AWS Internal`); real ones are.
    let addresses: Vec<&str> = (incidents.iter())
        .flat_map(|i| &i.entities)
        .filter(|e| e.kind == trailscope::incidents::EntityKind::Address)
        .map(|e| e.value.as_str())
        .collect();
    assert!(
        addresses
            .iter()
            .all(|a| trailscope::net::Addr::parse(a).is_some()),
        "{addresses:?}"
    );
    assert!(addresses.contains(&"1.2.3.4"), "{addresses:?}");
    eprintln!(
        "real samples: {} findings, {} incidents, largest {}",
        findings.len(),
        incidents.len(),
        incidents.iter().map(|i| i.chain.len()).max().unwrap_or(0)
    );
}
