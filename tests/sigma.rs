//! Sigma rules: the specification's semantics on our own rules and logs, correlations, the
//! CLI (`detect --sigma`, `sigma check`, `sigma explain`), hostile rule files, and on the
//! real samples the public SigmaHQ rules' conversion and the prefilter's soundness.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;
use trailscope::sigma::{self, RuleSet};
use trailscope::store::FrameStore;

use crate::util::{fixture, load, run, stderr, stdout};

/// A column as text, nulls as "".
fn text_column(frame: &DataFrame, name: &str) -> Vec<String> {
    let column = frame.column(name).unwrap().cast(&DataType::String).unwrap();
    column
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

fn event_ids(store: &FrameStore) -> Vec<String> {
    text_column(store.frame(), "event_id")
}

/// A configuration file in `dir` whose `[detect] sigma` names the fixture rules.
fn config_naming_rules(dir: &Path) -> PathBuf {
    let config = dir.join("config.toml");
    let rules = fixture("sigma/rules/modifiers.yml");
    std::fs::write(
        &config,
        format!("[detect]\nsigma = [{:?}]\n", rules.to_str().unwrap()),
    )
    .unwrap();
    config
}

/// Per rule title: the event ids it matched.
fn matches(rules: &Path, logs: &Path) -> BTreeMap<String, Vec<String>> {
    let set = RuleSet::load(&[rules.to_path_buf()]).unwrap();
    assert!(set.unconverted.is_empty(), "{:?}", set.unconverted);
    let store = load(&[logs]);
    let ids = event_ids(&store);
    let run = sigma::run(&store, store.frame(), &set, 0).unwrap();
    assert_eq!(run.unreadable, 0, "{:?}", run.errors);
    let mut out: BTreeMap<String, Vec<String>> = set
        .rules
        .iter()
        .map(|r| (r.title.clone(), Vec::new()))
        .collect();
    for hit in &run.hits {
        out.get_mut(&set.rules[hit.rule].title)
            .unwrap()
            .push(ids[hit.row as usize].clone());
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn evs(list: &[u32]) -> Vec<String> {
    list.iter().map(|n| format!("ev-{n:02}")).collect()
}

#[test]
fn rules_match_as_the_sigma_specification_says() {
    let found = matches(
        &fixture("sigma/rules/modifiers.yml"),
        &fixture("sigma/logs/cloudtrail.jsonl"),
    );
    let expected: Vec<(&str, Vec<String>)> = vec![
        ("exact values ignore case (ev-05 ev-12)", evs(&[5, 12])),
        ("cased keeps case (ev-05)", evs(&[5])),
        (
            "startswith endswith contains (ev-05 ev-09 ev-10 ev-11)",
            evs(&[5, 9, 10, 11]),
        ),
        (
            "regular expressions are case-sensitive (ev-05 ev-10)",
            evs(&[5, 10]),
        ),
        ("cidr (ev-09)", evs(&[9])),
        (
            "all values must hold (every event but ev-09)",
            evs(&[1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]),
        ),
        ("a string matches a number (ev-09)", evs(&[9])),
        (
            "one of with a negated filter (ev-06 ev-08 ev-10)",
            evs(&[6, 8, 10]),
        ),
        ("all of (ev-06 ev-07 ev-08)", evs(&[6, 7, 8])),
        ("field exists (ev-10)", evs(&[10])),
        ("keywords search every value (ev-09)", evs(&[9])),
        ("status is mapped for CloudTrail (ev-04)", evs(&[4])),
    ];
    assert_eq!(found.len(), expected.len());
    for (title, ids) in expected {
        assert_eq!(found[title], ids, "{title}");
    }
}

#[test]
fn correlations_fire_once_per_group_and_hide_the_rules_they_count() {
    let set = RuleSet::load(&[fixture("sigma/correlations")]).unwrap();
    assert_eq!((set.rules.len(), set.correlations.len()), (3, 3));
    let store = load(&[&fixture("sigma/logs/cloudtrail.jsonl")]);
    let run = sigma::run(&store, store.frame(), &set, 3_600_000_000).unwrap();
    let found: BTreeMap<String, (String, Vec<String>, String)> = run
        .findings
        .iter()
        .map(|f| {
            let mut ids = f.event_ids.clone();
            ids.sort();
            (
                f.title.clone(),
                (f.severity.as_str().to_string(), ids, f.reason.clone()),
            )
        })
        .collect();
    let titles: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(
        titles,
        vec![
            "Failed then successful sign-in from one address (ev-01 to ev-04)",
            "Keys created for three identities in ten minutes (ev-06 ev-07 ev-08)",
            "Three failed console sign-ins in five minutes (ev-01 ev-02 ev-03)",
        ],
        "the correlated rules' own matches are not findings (generate: false)"
    );
    let count = &found["Three failed console sign-ins in five minutes (ev-01 ev-02 ev-03)"];
    assert_eq!(count.0, "high");
    assert_eq!(count.1, evs(&[1, 2, 3]));
    assert!(count.2.contains("event_count over 5m"), "{}", count.2);
    assert!(
        count
            .2
            .contains("userIdentity.arn=arn:aws:iam::111122223333:user/alice")
    );
    let keys = &found["Keys created for three identities in ten minutes (ev-06 ev-07 ev-08)"];
    assert_eq!(keys.1, evs(&[6, 7, 8]));
    let temporal = &found["Failed then successful sign-in from one address (ev-01 to ev-04)"];
    assert_eq!(temporal.0, "critical");
    assert!(
        temporal.1.contains(&"ev-04".to_string()),
        "{:?}",
        temporal.1
    );
    assert!(
        temporal.2.contains("sourceIPAddress=203.0.113.5"),
        "{}",
        temporal.2
    );
}

#[test]
fn detect_reports_sigma_findings_beside_the_built_in_ones() {
    let rules = fixture("sigma/rules/modifiers.yml");
    let logs = fixture("sigma/logs/cloudtrail.jsonl");
    let output = run(&[
        "detect",
        "--sigma",
        rules.to_str().unwrap(),
        "--format",
        "json",
        logs.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let findings: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let findings = findings.as_array().unwrap();
    let sigma: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("sigma:"))
        .collect();
    let builtin = findings.len() - sigma.len();
    assert!(builtin > 0, "the built-in rules still run");
    let stop = sigma
        .iter()
        .find(|f| f["title"] == "exact values ignore case (ev-05 ev-12)")
        .expect("the StopLogging rule's finding");
    assert_eq!(stop["rule"], "sigma:modifiers");
    assert_eq!(stop["severity"], "high");
    assert_eq!(stop["mitre"], serde_json::json!(["T1562.008"]));
    assert!(
        stop["reason"]
            .as_str()
            .unwrap()
            .contains("eventName=StopLogging"),
        "{}",
        stop["reason"]
    );
    let only = run(&[
        "detect",
        "--sigma",
        rules.to_str().unwrap(),
        "--sigma-only",
        "--format",
        "jsonl",
        logs.to_str().unwrap(),
    ]);
    let lines = stdout(&only);
    assert!(lines.lines().count() > 0);
    assert!(
        lines.lines().all(|l| l.contains("\"rule\":\"sigma:")),
        "{lines}"
    );
}

#[test]
fn the_configuration_names_sigma_rules_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_naming_rules(dir.path());
    let output = run(&[
        "detect",
        "--config",
        config.to_str().unwrap(),
        "--format",
        "jsonl",
        fixture("sigma/logs/cloudtrail.jsonl").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("\"rule\":\"sigma:modifiers\""));
}

#[test]
fn sigma_check_counts_what_converts_and_lists_what_does_not_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("sigma/rules/modifiers.yml"),
        dir.path().join("modifiers.yml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("windows.yml"),
        "title: Whoami\nlogsource: {product: windows, category: process_creation}\n\
         detection: {selection: {Image|endswith: whoami.exe}, condition: selection}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.yml"), "title: [unclosed\n").unwrap();
    std::fs::write(
        dir.path().join("aggregation.yml"),
        "title: Many denials\nlogsource: {product: aws, service: cloudtrail}\n\
         detection: {selection: {errorCode: AccessDenied}, timeframe: 5m, condition: selection | count() > 10}\n",
    )
    .unwrap();
    let output = run(&["sigma", "check", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("12 of 15 Sigma rules convert (80.0 %), from 4 files"),
        "{text}"
    );
    assert!(text.contains("aws/cloudtrail"), "{text}");
    assert!(text.contains("Not converted (3):"), "{text}");
    assert!(text.contains("windows.yml \"Whoami\": log source (product windows, category process_creation) is not one trailscope loads"), "{text}");
    assert!(text.contains("broken.yml: not a Sigma rule"), "{text}");
    assert!(
        text.contains("aggregation.yml: not a Sigma rule: Condition parse error"),
        "{text}"
    );

    let logs = fixture("sigma/logs/cloudtrail.jsonl");
    let output = run(&[
        "sigma",
        "check",
        fixture("sigma/rules").to_str().unwrap(),
        "--logs",
        logs.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["converted"], 12);
    let fired = report["fired"].as_object().unwrap();
    assert_eq!(fired.len(), 12, "every rule fires: {fired:?}");
    assert_eq!(fired["sigma:modifiers#6"], 11, "{fired:?}");
    let total: u64 = fired.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total, 31, "{fired:?}");
    let field = report["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "status")
        .unwrap();
    assert_eq!(field["mapped"], true);
    assert_eq!(field["present"]["records"], 12);
}

#[test]
fn sigma_explain_says_why_a_rule_matched_or_did_not() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("stop.yml");
    std::fs::write(
        &rule,
        "title: Trail stopped\nlogsource: {product: aws, service: cloudtrail}\n\
         detection:\n  selection:\n    eventSource: cloudtrail.amazonaws.com\n    eventName: [StopLogging, DeleteTrail]\n  \
         filter:\n    errorCode|exists: true\n  condition: selection and not filter\n",
    )
    .unwrap();
    let logs = fixture("sigma/logs/cloudtrail.jsonl");
    let explain = |line: &str| {
        run(&[
            "sigma",
            "explain",
            rule.to_str().unwrap(),
            logs.to_str().unwrap(),
            "--line",
            line,
        ])
    };
    let yes = explain("5");
    assert_eq!(yes.status.code(), Some(0), "{}", stderr(&yes));
    let text = stdout(&yes);
    assert!(
        text.starts_with("Trail stopped MATCHES this record"),
        "{text}"
    );
    assert!(
        text.contains("condition: selection and not filter"),
        "{text}"
    );
    assert!(text.contains("✓ eventName"), "{text}");
    let no = explain("10");
    assert_eq!(no.status.code(), Some(1));
    let text = stdout(&no);
    assert!(
        text.starts_with("Trail stopped does not match this record"),
        "{text}"
    );
    assert!(text.contains("✗ not"), "{text}");
    assert!(text.contains("errorCode"), "{text}");
    let other = explain("9");
    let text = stdout(&other);
    assert!(text.contains("✗ eventName"), "{text}");
    assert!(text.contains("PutBucketPolicy"), "{text}");
}

#[test]
fn hostile_rule_files_are_refused_with_a_reason_and_never_hang() {
    let dir = tempfile::tempdir().unwrap();
    // Alias expansion: a billion-laughs document.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
        let prev = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
        bomb.push_str(&format!(
            "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    bomb.push_str("title: bomb\nlogsource: {product: aws, service: cloudtrail}\n");
    bomb.push_str("detection: {selection: {eventName: *i}, condition: selection}\n");
    std::fs::write(dir.path().join("bomb.yml"), bomb).unwrap();
    std::fs::write(dir.path().join("binary.yml"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    std::fs::write(dir.path().join("huge.yml"), "#".repeat(2 << 20)).unwrap();
    let set = RuleSet::load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(set.files, 3);
    let reasons: BTreeMap<String, String> = set
        .unconverted
        .iter()
        .map(|u| {
            (
                u.path.file_name().unwrap().to_string_lossy().into_owned(),
                u.reason.clone(),
            )
        })
        .collect();
    assert!(reasons["binary.yml"].contains("not UTF-8"), "{reasons:?}");
    assert!(
        reasons["huge.yml"].contains("larger than a rule file"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains_key("bomb.yml") || set.rules.len() == 1,
        "the bomb is refused or bounded: {reasons:?}"
    );
    let missing = RuleSet::load(&[dir.path().join("nope")]).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("no such Sigma rule file or directory")
    );
}

/// The public SigmaHQ rules: `$TRAILSCOPE_SIGMA_RULES`, else `sigma-rules/` beside the real
/// samples.
fn public_rules() -> PathBuf {
    let dir = std::env::var_os("TRAILSCOPE_SIGMA_RULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let samples = std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap_or_default();
            PathBuf::from(samples).join("../sigma-rules")
        });
    assert!(
        dir.join("README.md").is_file(),
        "no public Sigma rules at {}",
        dir.display()
    );
    dir
}

fn real_samples() -> PathBuf {
    PathBuf::from(std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap())
}

#[test]
#[cfg_attr(not(real_samples), ignore = "needs TRAILSCOPE_REAL_SAMPLES")]
fn at_least_ninety_percent_of_the_public_rules_convert() {
    let set = RuleSet::load(&[public_rules()]).unwrap();
    let total = set.rules.len() + set.correlations.len() + set.unconverted.len();
    assert_eq!(set.files, 248);
    assert!(total >= 248, "{total}");
    let converted = set.rules.len() + set.correlations.len();
    println!(
        "{converted} of {total} public rules convert; not: {:#?}",
        set.unconverted
    );
    assert!(converted * 10 >= total * 9, "{converted} of {total}");
    assert!(set.unconverted.iter().all(|u| !u.reason.is_empty()));
}

/// The columns the prefilter trusts hold the record's field unchanged on every real record.
#[test]
#[cfg_attr(not(real_samples), ignore = "needs TRAILSCOPE_REAL_SAMPLES")]
fn the_prefilters_columns_hold_their_fields_unchanged_on_the_real_samples() {
    use trailscope::sigma::fields::SOURCES;
    let store = load(&[&real_samples()]);
    let frame = store.frame();
    let reader = sigma::reader::RecordReader::new(&store, frame).unwrap();
    let text = |name: &str| text_column(frame, name);
    let (providers, log_types, actions) = (text("provider"), text("log_type"), text("action"));
    let fields = [
        "eventName",
        "action",
        "eventType",
        "verb",
        "protoPayload.methodName",
    ];
    let mut compared = BTreeMap::<&str, usize>::new();
    for source in SOURCES {
        for field in fields {
            let Some(exact) = source.exact_column(field) else {
                continue;
            };
            assert_eq!(exact.column, "action");
            for row in 0..providers.len() {
                if providers[row] != source.provider() || !source.covers_log_type(&log_types[row]) {
                    continue;
                }
                let record = reader.record(row as u32).unwrap();
                if let Some(rsigma_eval::event::EventValue::Str(value)) =
                    sigma::record::resolve(&record, field)
                {
                    assert_eq!(
                        value,
                        exact.field_value(&actions[row]),
                        "{} {field} row {row}",
                        source.name()
                    );
                    *compared.entry(source.name()).or_default() += 1;
                }
            }
        }
    }
    println!("{compared:?}");
    for source in [
        "aws/cloudtrail",
        "github/audit",
        "okta/okta",
        "kubernetes/audit",
        "gcp/gcp.audit",
    ] {
        assert!(
            compared.get(source).copied().unwrap_or(0) > 50,
            "{source}: {compared:?}"
        );
    }
}

/// Evaluating every public rule on every real record of its source finds exactly what the
/// prefiltered run finds: the prefilter never hides a match. Also names what fires.
#[test]
#[cfg_attr(not(real_samples), ignore = "needs TRAILSCOPE_REAL_SAMPLES")]
fn the_prefilter_never_hides_a_match_and_public_rules_fire_on_the_real_samples() {
    let set = RuleSet::load(&[public_rules()]).unwrap();
    let store = load(&[&real_samples()]);
    let frame = store.frame();
    let run = sigma::run(&store, frame, &set, 0).unwrap();
    assert_eq!(run.unreadable, 0, "{:?}", run.errors);
    let prefiltered: BTreeSet<(usize, u32)> = run.hits.iter().map(|h| (h.rule, h.row)).collect();
    let reader = sigma::reader::RecordReader::new(&store, frame).unwrap();
    let text = |name: &str| text_column(frame, name);
    let (providers, log_types) = (text("provider"), text("log_type"));
    let mut everything = BTreeSet::new();
    let mut evaluated = 0;
    for row in 0..frame.height() {
        let record = reader.record(row as u32).unwrap();
        for (index, rule) in set.rules.iter().enumerate() {
            if providers[row] != rule.source.provider()
                || !rule.source.covers_log_type(&log_types[row])
            {
                continue;
            }
            evaluated += 1;
            let event = sigma::record::RecordEvent::new(&record, rule.source);
            if rsigma_eval::evaluate_rule(&rule.compiled, &event).is_some() {
                everything.insert((index, row as u32));
            }
        }
    }
    assert_eq!(prefiltered, everything);
    println!(
        "{} (rule, record) evaluations without the prefilter, {} with it",
        evaluated, run.evaluations
    );
    assert!(
        run.evaluations * 2 < evaluated,
        "the prefilter leaves most pairs out"
    );
    let mut fired: BTreeMap<String, usize> = BTreeMap::new();
    for hit in &run.hits {
        *fired.entry(set.rules[hit.rule].key.clone()).or_default() += 1;
    }
    println!("{} rules fire: {fired:#?}", fired.len());
    assert!(fired.len() >= 40, "{} rules fire", fired.len());
    for rule in [
        "aws_cloudtrail_disable_logging",
        "aws_iam_backdoor_users_keys",
        "azure_ad_only_single_factor_auth_required",
        "azure_login_to_disabled_account",
        "azure_rare_operations",
        "github_new_org_member",
        "kubernetes_audit_exec_into_container",
        "okta_user_account_locked_out",
    ] {
        assert!(fired.contains_key(rule), "{rule} fires: {fired:?}");
    }
}

/// With `[detect] sigma` set, the TUI's Findings view lists the Sigma findings beside the
/// built-in ones, and Enter on one opens its events.
#[test]
fn the_tui_lists_sigma_findings_to_drill_into() {
    use crossterm::event::KeyCode;
    use trailscope::tui::{Command, Harness, Settings, View};
    let mut config = trailscope::config::Config::builtin().unwrap();
    config.detect.sigma = vec![fixture("sigma/rules/modifiers.yml").display().to_string()];
    let settings = Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: std::sync::Arc::new(config),
        color: false,
    };
    let store = load(&[&fixture("sigma/logs/cloudtrail.jsonl")]);
    let mut h = Harness::new(store, settings, 160, 45);
    h.settle();
    h.command(Command::OpenView(View::Findings));
    h.settle();
    let screen = h.screen();
    assert!(
        screen.contains("cidr (ev-09)"),
        "the Sigma finding is listed:\n{screen}"
    );
    assert!(screen.contains("sigma:modifiers"), "{screen}");
    // The built-in rules still run: StopLogging is audit-log tampering.
    assert!(screen.contains("audit-log-tampering"), "{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("cidr (ev-09)"))
        .unwrap();
    let first = lines
        .iter()
        .position(|l| {
            l.contains("sigma:")
                || l.contains("audit-log")
                || l.contains("critical")
                || l.contains("high")
        })
        .unwrap();
    for _ in first..at {
        h.key(KeyCode::Down);
    }
    h.key(KeyCode::Enter);
    h.settle();
    let events = h.screen();
    assert!(events.contains("PutBucketPolicy"), "{events}");
}

/// Sigma rules read the record inside every export shape: Event History's `CloudTrailEvent`
/// string, CloudTrail Lake rows, arrays with missing commas.
#[test]
fn sigma_rules_read_records_inside_export_shapes() {
    let set = RuleSet::load(&[fixture("sigma/rules/modifiers.yml")]).unwrap();
    let stop = set
        .rules
        .iter()
        .position(|r| {
            r.title
                .starts_with("regular expressions are case-sensitive")
        })
        .unwrap();
    for file in [
        "cloudtrail/lookup-events-pages.json",
        "cloudtrail/lake-query-results.json",
        "cloudtrail/missing-commas.json",
    ] {
        let store = load(&[&fixture(file)]);
        let run = sigma::run(&store, store.frame(), &set, 0).unwrap();
        assert_eq!(run.unreadable, 0, "{file}: {:?}", run.errors);
        let actions = text_column(store.frame(), "action");
        let expected = actions
            .iter()
            .filter(|a| ["StopLogging", "DeleteTrail"].contains(&a.as_str()))
            .count();
        let found = run.hits.iter().filter(|h| h.rule == stop).count();
        assert!(expected > 0, "{file} holds a StopLogging or DeleteTrail");
        assert_eq!(found, expected, "{file}");
    }
}

/// `[detect] sigma` puts the Sigma findings in incidents and in reports too.
#[test]
fn configured_sigma_findings_reach_incidents_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_naming_rules(dir.path());
    let logs = fixture("sigma/logs/cloudtrail.jsonl");
    let incidents = run(&[
        "incidents",
        "--config",
        config.to_str().unwrap(),
        "--format",
        "json",
        logs.to_str().unwrap(),
    ]);
    assert!(incidents.status.success(), "{}", stderr(&incidents));
    assert!(
        stdout(&incidents).contains("sigma:modifiers"),
        "{}",
        stdout(&incidents)
    );
    let out = dir.path().join("report.md");
    let report = run(&[
        "report",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        logs.to_str().unwrap(),
    ]);
    assert!(report.status.success(), "{}", stderr(&report));
    let text = std::fs::read_to_string(&out).unwrap();
    // Markdown escapes the title's punctuation.
    assert!(text.contains("cidr \\(ev\\-09\\)"), "{text}");
}

/// Loads `paths` with `set` evaluated on each record while loading.
fn load_tapped(paths: &[&Path], set: RuleSet) -> (FrameStore, std::sync::Arc<sigma::SigmaTap>) {
    use std::sync::Arc;
    use trailscope::load::classify::Classifier;
    use trailscope::load::pipeline::LoadOptions;
    use trailscope::load::source;
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let tap = Arc::new(sigma::SigmaTap::new(Arc::new(set)).unwrap());
    let mut options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    options.tap = Some(tap.clone());
    // Several threads, so records of one input are evaluated on more than one.
    options.threads = 3;
    let store = FrameStore::load(source::expand(&names).inputs, options).unwrap();
    (store, tap)
}

/// A run's findings as what a user sees of each: rule, severity, actor, time, events, reason.
fn shown(run: &sigma::SigmaRun) -> Vec<String> {
    run.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {:?} {:?} {}",
                f.rule,
                f.severity.as_str(),
                f.actor,
                f.time,
                f.event_ids,
                f.reason
            )
        })
        .collect()
}

/// The rules evaluated while loading find exactly what they find on the records read again
/// after loading: the same matches, findings and correlations, with no record read again.
/// Returns the matches and findings.
fn loading_and_reading_again_agree(rules: &Path, logs: &[&Path], gap: i64) -> (usize, usize) {
    let plain = load(logs);
    let read_again = sigma::run(
        &plain,
        plain.frame(),
        &RuleSet::load(&[rules.to_path_buf()]).unwrap(),
        gap,
    )
    .unwrap();
    let (tapped, tap) = load_tapped(logs, RuleSet::load(&[rules.to_path_buf()]).unwrap());
    assert_eq!(tapped.frame().height(), plain.frame().height());
    let while_loading = sigma::run_tapped(&tapped, tapped.frame(), &tap, gap).unwrap();
    let ids = |store: &FrameStore, run: &sigma::SigmaRun| -> BTreeSet<(usize, String, String)> {
        let ids = event_ids(store);
        run.hits
            .iter()
            .map(|h| (h.rule, ids[h.row as usize].clone(), h.matched.clone()))
            .collect()
    };
    assert_eq!(ids(&tapped, &while_loading), ids(&plain, &read_again));
    assert_eq!(shown(&while_loading), shown(&read_again));
    assert_eq!(while_loading.unreadable, read_again.unreadable);
    assert_eq!(while_loading.candidates, read_again.candidates);
    assert!(
        tap.counts().records_read >= read_again.records_read,
        "the tap parsed {} records, a run reading again {}",
        tap.counts().records_read,
        read_again.records_read
    );
    (read_again.hits.len(), read_again.findings.len())
}

#[test]
fn rules_evaluated_while_loading_find_what_they_find_on_records_read_again() {
    // Export shapes whose records sit in envelopes, rows or broken concatenations too.
    let matched = loading_and_reading_again_agree(
        &fixture("sigma/rules"),
        &[
            &fixture("sigma/logs"),
            &fixture("cloudtrail/lookup-events-pages.json"),
            &fixture("cloudtrail/lake-query-results.json"),
            &fixture("cloudtrail/missing-commas.json"),
        ],
        3_600_000_000,
    );
    assert!(matched.0 > 5, "{matched:?}");
    let correlated = loading_and_reading_again_agree(
        &fixture("sigma/correlations"),
        &[&fixture("sigma/logs/cloudtrail.jsonl")],
        3_600_000_000,
    );
    assert_eq!(
        correlated.1, 3,
        "the three correlations fire: {correlated:?}"
    );
}

#[test]
#[cfg_attr(not(real_samples), ignore = "needs TRAILSCOPE_REAL_SAMPLES")]
fn public_rules_evaluated_while_loading_the_real_samples_find_what_reading_again_finds() {
    let matched = loading_and_reading_again_agree(&public_rules(), &[&real_samples()], 0);
    assert!(matched.0 > 10, "{matched:?}");
}
