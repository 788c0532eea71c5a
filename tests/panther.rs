//! The mirrored rules scored against Panther's labelled test events
//! (`tests/fixtures/panther/`, extracted by `benches/panther/extract.py` from
//! panther-labs/panther-analysis, Apache-2.0). Each event is loaded alone through the real
//! loader, as a provider export, and the trailscope rules that mirror its Panther rule
//! (`mapping.toml`) run over it: a finding of one of them is an alert. Per Panther rule and
//! overall, true and false positives and negatives give precision and recall, printed as a
//! table (`cargo test --release panther -- --nocapture`); the README's detection quality
//! section quotes it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use trailscope::config::Config;
use trailscope::detectors::{self, Rule};

use crate::util::{fixture, load};

/// The targets of issue 16: precision and recall over the scored events.
const TARGET: f64 = 0.9;

#[derive(Deserialize)]
struct Mapping {
    rule: Vec<MappedRule>,
}

#[derive(Deserialize)]
struct MappedRule {
    panther: String,
    path: String,
    trailscope: Vec<String>,
    scope: String,
    #[serde(default)]
    differs: Vec<Difference>,
}

/// A test where trailscope deliberately answers the opposite of Panther.
#[derive(Deserialize)]
struct Difference {
    test: String,
    reason: String,
}

#[derive(Deserialize)]
struct Extracted {
    panther: String,
    tests: Vec<TestEvent>,
}

#[derive(Deserialize)]
struct TestEvent {
    name: String,
    expected: bool,
    log_type: String,
    export: Value,
}

/// True and false positives and negatives.
#[derive(Default, Clone, Copy)]
struct Score {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
}

impl Score {
    fn add(&mut self, expected: bool, fired: bool) {
        match (expected, fired) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    fn merge(&mut self, other: Score) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.tn += other.tn;
    }

    /// Precision; 1 when nothing fired (no false alarm was raised).
    fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Recall; 1 when there was nothing to find.
    fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    fn row(&self, name: &str) -> String {
        format!(
            "{name:<62} {:>3} {:>3} {:>3} {:>3}  {:>5.2} {:>5.2}",
            self.tp,
            self.fp,
            self.fn_,
            self.tn,
            self.precision(),
            self.recall()
        )
    }
}

fn ratio(num: u32, den: u32) -> f64 {
    if den == 0 {
        1.0
    } else {
        f64::from(num) / f64::from(den)
    }
}

/// The provider a Panther test event is for, as the README groups them.
fn provider(panther: &str, log_type: &str) -> &'static str {
    if panther.starts_with("Kubernetes.") || panther.starts_with("GCP.K8s.") {
        return "kubernetes";
    }
    match log_type {
        "AWS.CloudTrail" => "aws",
        "Azure.Audit" => "entra",
        "Azure.MonitorActivity" => "azure-activity",
        "GCP.AuditLog" => "gcp",
        "Okta.SystemLog" => "okta",
        "GitHub.Audit" => "github",
        "Amazon.EKS.Audit" => "kubernetes",
        other => panic!("unmapped Panther log type {other}"),
    }
}

/// Loads one event alone and runs the given rules; the rows loaded and the rules that fired.
fn judge(export: &Value, rules: &[Box<dyn Rule>]) -> (usize, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, serde_json::to_vec(export).unwrap()).unwrap();
    let store = load(&[path.as_path()]);
    let findings = detectors::run_rules(store.frame(), &Config::builtin().unwrap(), rules).unwrap();
    (
        store.frame().height(),
        findings.into_iter().map(|f| f.rule).collect(),
    )
}

#[test]
fn mirrored_rules_meet_the_target_on_panthers_labelled_events() {
    let mapping: Mapping =
        toml::from_str(&std::fs::read_to_string(fixture("panther/mapping.toml")).unwrap()).unwrap();
    let mut per_rule: Vec<(String, Score)> = Vec::new();
    let mut per_provider: BTreeMap<&str, Score> = BTreeMap::new();
    let mut overall = Score::default();
    let mut misses = Vec::new();
    let mut differences = Vec::new();
    let mut unloaded = Vec::new();
    for mapped in mapping.rule.iter().filter(|r| r.scope == "scored") {
        let stem = mapped
            .path
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".yml");
        let text = std::fs::read_to_string(fixture(&format!("panther/{stem}.json")))
            .unwrap_or_else(|e| panic!("{stem}.json: {e}; run benches/panther/extract.py"));
        let extracted: Extracted = serde_json::from_str(&text).unwrap();
        assert_eq!(extracted.panther, mapped.panther);
        assert!(
            !extracted.tests.is_empty(),
            "{}: no test events",
            mapped.panther
        );
        let rules: Vec<Box<dyn Rule>> = detectors::rules()
            .into_iter()
            .filter(|r| mapped.trailscope.iter().any(|id| id == r.info().id))
            .collect();
        assert_eq!(
            rules.len(),
            mapped.trailscope.len(),
            "{}: unknown trailscope rule in {:?}",
            mapped.panther,
            mapped.trailscope
        );
        let mut score = Score::default();
        for test in &extracted.tests {
            let (rows, fired) = judge(&test.export, &rules);
            if rows == 0 {
                unloaded.push((test.expected, format!("{} / {}", mapped.panther, test.name)));
            }
            let alerted = !fired.is_empty();
            if let Some(d) = mapped.differs.iter().find(|d| d.test == test.name) {
                // A documented difference must still be one, or its note is wrong.
                assert_ne!(
                    alerted, test.expected,
                    "{} / {}: no longer differs from Panther; drop the note ({})",
                    mapped.panther, test.name, d.reason
                );
                differences.push(format!("{} / {}: {}", mapped.panther, test.name, d.reason));
                continue;
            }
            score.add(test.expected, alerted);
            per_provider
                .entry(provider(&mapped.panther, &test.log_type))
                .or_default()
                .add(test.expected, alerted);
            if alerted != test.expected {
                misses.push(format!(
                    "{} {} / {} (expected {}, fired {:?})",
                    if test.expected { "FN" } else { "FP" },
                    mapped.panther,
                    test.name,
                    test.expected,
                    fired
                ));
            }
        }
        overall.merge(score);
        per_rule.push((mapped.panther.clone(), score));
    }
    let header = format!(
        "{:<62} {:>3} {:>3} {:>3} {:>3}  {:>5} {:>5}",
        "panther rule", "TP", "FP", "FN", "TN", "prec", "rec"
    );
    println!("{header}");
    for (name, score) in &per_rule {
        println!("{}", score.row(name));
    }
    println!();
    for (name, score) in &per_provider {
        println!("{}", score.row(name));
    }
    println!("{}", overall.row("overall"));
    for line in misses.iter().chain(&differences) {
        println!("  {line}");
    }
    for (_, name) in &unloaded {
        println!("  not loaded (a trimmed test event, not an export): {name}");
    }
    // A negative the loader refuses is still not an alert; a positive must be read.
    let lost: Vec<&String> = unloaded
        .iter()
        .filter(|(p, _)| *p)
        .map(|(_, n)| n)
        .collect();
    assert!(
        lost.is_empty(),
        "positive events the loader read no row from: {lost:#?}"
    );
    assert!(
        overall.precision() >= TARGET && overall.recall() >= TARGET,
        "precision {:.2}, recall {:.2} below {TARGET}; misses: {misses:#?}",
        overall.precision(),
        overall.recall()
    );
}
