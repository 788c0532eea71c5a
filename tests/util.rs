//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use polars::prelude::*;
use trailscope::config::Config;
use trailscope::detectors::{self, Finding};
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::schema;
use trailscope::store::FrameStore;

/// A file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The bundled sample directory.
pub fn sample_logs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs")
}

/// Loads paths with the built-in configuration, as the CLI does.
pub fn load(paths: &[&Path]) -> FrameStore {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    load_names(&names)
}

/// Loads path strings (globs, `-`) with the built-in configuration.
pub fn load_names(names: &[String]) -> FrameStore {
    let expansion = source::expand(names);
    let options = LoadOptions::new(Arc::new(Classifier::builtin().expect("built-in config")));
    let mut store = FrameStore::load(expansion.inputs, options).expect("load");
    store.add_problems(expansion.problems);
    store
}

/// One event as display strings: time as RFC 3339 UTC, booleans as true/false, null as "".
pub type Row = BTreeMap<String, String>;

/// Every event of a frame as rows of display strings, in frame order.
pub fn rows(frame: &DataFrame) -> Vec<Row> {
    let mut out = vec![Row::new(); frame.height()];
    for name in schema::EVENT_COLUMNS
        .iter()
        .chain([schema::SOURCE, schema::RAW_LINE].iter())
    {
        let column = frame.column(name).expect("column");
        for (i, row) in out.iter_mut().enumerate() {
            let value = column.get(i).expect("value");
            let text = match value {
                AnyValue::Null => String::new(),
                AnyValue::Datetime(us, _, _) | AnyValue::DatetimeOwned(us, _, _) => {
                    trailscope::text::format_time_utc(us)
                }
                AnyValue::Boolean(b) => b.to_string(),
                other => other.str_value().to_string(),
            };
            row.insert(name.to_string(), text);
        }
    }
    out
}

/// Asserts the listed fields of a row.
#[track_caller]
pub fn assert_fields(row: &Row, expected: &[(&str, &str)]) {
    for (field, value) in expected {
        assert_eq!(
            row.get(*field).map(String::as_str),
            Some(*value),
            "field `{field}` of {row:#?}"
        );
    }
}

/// The rows of a frame whose field equals a value.
pub fn rows_where<'a>(rows: &'a [Row], field: &str, value: &str) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| r.get(field).map(String::as_str) == Some(value))
        .collect()
}

/// The trailscope binary with the built-in configuration (no user configuration is read).
pub fn trailscope() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailscope"));
    command
        .env_remove("TRAILSCOPE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent-trailscope-test");
    command
}

/// Runs the trailscope binary.
pub fn run(args: &[&str]) -> Output {
    trailscope().args(args).output().expect("run trailscope")
}

/// Standard output of a run, as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error of a run, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every finding of the built-in rules over a file or directory.
pub fn detect_dir(path: &Path) -> Vec<Finding> {
    let store = load(&[path]);
    detectors::run(store.frame(), &Config::builtin().expect("built-in config")).expect("detect")
}

/// The generated month the tests run on: its size and seed.
pub const MONTH_EVENTS: u64 = 100_000;
/// See [`MONTH_EVENTS`].
pub const MONTH_SEED: u64 = 11;

/// The size and seed of the generated month the month tests run on: [`MONTH_EVENTS`] and
/// [`MONTH_SEED`] unless `TRAILSCOPE_MONTH_EVENTS` / `TRAILSCOPE_MONTH_SEED` ask for another month.
pub fn month_setting() -> (usize, u64) {
    let setting = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    (
        setting("TRAILSCOPE_MONTH_EVENTS", MONTH_EVENTS) as usize,
        setting("TRAILSCOPE_MONTH_SEED", MONTH_SEED),
    )
}

/// The planted incidents of a generated month that no finding reports (the rule, the actor,
/// one of the planted events, and the sub-rule's words in the reason), as `rule / actor (what)`.
pub fn missed_incidents(
    truth: &trailscope::synth::MonthTruth,
    findings: &[trailscope::detectors::Finding],
) -> Vec<String> {
    let mut missed = Vec::new();
    for p in &truth.incidents {
        let found = findings.iter().any(|f| {
            f.rule == p.rule
                && f.actor == p.actor
                && f.event_ids.iter().any(|e| p.event_ids.contains(e))
                && f.reason.contains(p.evidence)
        });
        if !found {
            missed.push(format!("{} / {} ({})", p.rule, p.actor, p.what));
        }
    }
    missed
}
