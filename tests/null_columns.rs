//! Columns null in every row of a batch (CloudTrail has no `correlation_id`, no `city`, no
//! `actor_id`), and categoricals with one value in every row (`provider`, `source`), are
//! held as one value for all rows instead of a value per row (issue 21's memory target):
//! what a user sees through queries, lake exports and reports is the same as before, alone
//! and mixed with providers that fill those columns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use trailscope::schema::{ACTOR_ID, CITY, CORRELATION_ID, EVENT_ID, PROVIDER};

use crate::util::{Row, load, rows, run, stdout};

fn real(rel: &str) -> PathBuf {
    Path::new(&std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap()).join(rel)
}

/// event id -> correlation id of the rows of `provider`.
fn correlations(rows: &[Row], provider: &str) -> BTreeMap<String, String> {
    rows.iter()
        .filter(|r| r[PROVIDER] == provider)
        .map(|r| (r[EVENT_ID].clone(), r[CORRELATION_ID].clone()))
        .collect()
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn real_cloudtrail_holds_its_empty_columns_as_one_null_value_and_mixes_with_entra() {
    let trail = real("cloudtrail/stratus-red-team");
    let store = load(&[&trail]);
    let frame = store.frame();
    assert_eq!(frame.height(), 310);
    for name in [CORRELATION_ID, CITY, ACTOR_ID] {
        let column = frame.column(name).unwrap();
        assert!(
            matches!(column, Column::Scalar(_)),
            "{name} is held per row"
        );
        assert_eq!(column.null_count(), 310, "{name}");
    }
    assert!(matches!(frame.column(EVENT_ID).unwrap(), Column::Series(_)));
    // One value in every row (all of it is AWS): held once too, read in every row.
    let providers = frame.column(PROVIDER).unwrap();
    assert!(matches!(providers, Column::Scalar(_)));
    assert!(rows(frame).iter().all(|r| r[PROVIDER] == "aws"));

    // Beside Entra sign-ins, which carry correlation ids, every row keeps its own value.
    let entra = real("entra-signin/sentinel-training-lab");
    let entra_alone = correlations(&rows(load(&[&entra]).frame()), "entra");
    assert_eq!(entra_alone.len(), 60);
    assert!(entra_alone.values().all(|c| !c.is_empty()));
    let mixed = load(&[&trail, &entra]);
    let mixed_rows = rows(mixed.frame());
    assert_eq!(correlations(&mixed_rows, "entra"), entra_alone);
    let aws = correlations(&mixed_rows, "aws");
    assert_eq!(aws.len(), 310);
    assert!(aws.values().all(String::is_empty));
    // Events still in time order, mixed (the Entra sample's records without a time last).
    let times: Vec<&str> = mixed_rows.iter().map(|r| r["time"].as_str()).collect();
    let timed = times.iter().take_while(|t| !t.is_empty()).count();
    assert!(times[..timed].windows(2).all(|w| w[0] <= w[1]));
    assert!(times[timed..].iter().all(|t| t.is_empty()));
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn queries_lake_exports_and_reports_see_the_null_columns_as_before() {
    let trail = real("cloudtrail/stratus-red-team");
    let trail = trail.to_str().unwrap();
    let count = "select count(*) as n, count(correlation_id) as c, count(city) as y from events \
                 where correlation_id is null";
    let out = run(&["query", "--sql", count, "--format", "csv", trail]);
    assert_eq!(stdout(&out).trim(), "n,c,y\n310,0,0", "{out:?}");

    // Filtering, sorting and picking the column: every row, an empty correlation id.
    let out = run(&[
        "query",
        "--filter",
        "action:*Policy*",
        "--columns",
        "event_id,correlation_id,city",
        "--sort",
        "correlation_id",
        "--format",
        "csv",
        trail,
    ]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "event_id,correlation_id,city");
    assert!(lines.len() > 1, "{text}");
    assert!(lines[1..].iter().all(|l| l.ends_with(",,")), "{text}");

    // A lake written from them and read back.
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.to_str().unwrap();
    let out = run(&["export", "--lake", lake, trail]);
    assert!(out.status.success(), "{out:?}");
    let out = run(&["query", "--lake", lake, "--sql", count, "--format", "csv"]);
    assert_eq!(stdout(&out).trim(), "n,c,y\n310,0,0", "{out:?}");

    // A CSV report: the column is there, empty in every row.
    let report = dir.path().join("events.csv");
    let out = run(&[
        "report",
        "--out",
        report.to_str().unwrap(),
        "--columns",
        "correlation_id",
        trail,
    ]);
    assert!(out.status.success(), "{out:?}");
    let mut reader = csv::Reader::from_path(&report).unwrap();
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == CORRELATION_ID)
        .unwrap();
    let values: Vec<String> = reader
        .records()
        .map(|r| r.unwrap().get(at).unwrap_or("?").to_string())
        .collect();
    assert_eq!(values.len(), 310);
    assert!(values.iter().all(String::is_empty), "{values:?}");
}
