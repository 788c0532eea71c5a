//! The query layer over the bundled sample: pivots, timelines and profiles checked against
//! counts computed independently (plain iteration over the loaded rows), and the `query`,
//! `pivot` and `timeline` commands as scripts meet them.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use polars::prelude::*;
use trailscope::analysis::filter::quote_value;
use trailscope::analysis::{self, Key, PivotSpec, SortKey, TimelineSpec, ViewSpec};
use trailscope::schema::EVENT_COLUMNS;
use trailscope::store::FrameStore;
use trailscope::time::parse_duration;

use crate::util::{Row, load, rows, run, sample_logs, stderr, stdout};

fn sample() -> &'static (FrameStore, Vec<Row>) {
    static SAMPLE: OnceLock<(FrameStore, Vec<Row>)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let store = load(&[&sample_logs()]);
        let rows = rows(store.frame());
        (store, rows)
    })
}

/// The events of `frame` a view selects, every event column.
fn selected(frame: &DataFrame, spec: ViewSpec) -> DataFrame {
    let view = ViewSpec {
        columns: EVENT_COLUMNS.map(String::from).to_vec(),
        ..spec
    };
    analysis::select(frame, &view.compile(frame).unwrap()).unwrap()
}

/// A column of a result as display strings (null as ""), as [`rows`] shows them.
fn texts(frame: &DataFrame, column: &str) -> Vec<String> {
    let values = frame.column(column).unwrap();
    (0..frame.height())
        .map(|i| match values.get(i).unwrap() {
            AnyValue::Null => String::new(),
            v => v.str_value().to_string(),
        })
        .collect()
}

fn filtered(frame: &DataFrame, filter: &str) -> DataFrame {
    let view = ViewSpec {
        filter: filter.to_string(),
        ..ViewSpec::default()
    };
    selected(frame, view)
}

fn label(row: &Row, column: &str) -> String {
    match row.get(column).map(String::as_str) {
        None | Some("") => analysis::NONE.to_string(),
        Some(v) => v.to_string(),
    }
}

#[test]
fn pivot_actor_by_action_matches_plain_counting_and_every_cell_drills_down() {
    let (store, all) = sample();
    let frame = filtered(store.frame(), "provider:aws");
    let aws: Vec<&Row> = all.iter().filter(|r| r["provider"] == "aws").collect();
    assert_eq!(frame.height(), aws.len());
    let spec = PivotSpec {
        rows: "actor".into(),
        cols: Some("action".into()),
        distinct: None,
        top: 5,
    };
    let pivot = analysis::pivot(&frame, &spec).unwrap();
    assert_eq!(
        pivot.total as usize,
        aws.len(),
        "grand total = filtered count"
    );
    assert_eq!(pivot.row_totals.iter().sum::<u64>(), pivot.total);
    assert_eq!(pivot.col_totals.iter().sum::<u64>(), pivot.total);
    assert_eq!(
        pivot.row_keys.last(),
        Some(&Key::Other),
        "more than 5 actors"
    );
    // Independent counts per (actor, action).
    let mut expected: HashMap<(String, String), u64> = HashMap::new();
    for r in &aws {
        *expected
            .entry((label(r, "actor"), label(r, "action")))
            .or_default() += 1;
    }
    let by_actor = |actor: &str| -> u64 {
        expected
            .iter()
            .filter(|((a, _), _)| a == actor)
            .map(|(_, n)| n)
            .sum()
    };
    for (i, key) in pivot.row_keys.iter().enumerate() {
        if let Key::Value(actor) = key {
            assert_eq!(pivot.row_totals[i], by_actor(actor), "row total of {actor}");
        }
    }
    // Rows are largest first.
    let named: Vec<u64> = pivot.row_totals[..pivot.row_totals.len() - 1].to_vec();
    assert!(named.windows(2).all(|w| w[0] >= w[1]), "{named:?}");
    // Every cell's filter selects exactly the cell's events, "(other)" included.
    for r in 0..pivot.row_keys.len() {
        for c in 0..pivot.col_keys.len() {
            let f = pivot.cell_filter(r, Some(c));
            let n = filtered(&frame, &f).height() as u64;
            assert_eq!(n, pivot.cells[r][c], "cell ({r},{c}) filter `{f}`");
        }
        let f = pivot.cell_filter(r, None);
        assert_eq!(
            filtered(&frame, &f).height() as u64,
            pivot.row_totals[r],
            "row filter `{f}`"
        );
    }
}

#[test]
fn pivot_of_distinct_source_ips_per_actor() {
    let (store, all) = sample();
    let spec = PivotSpec {
        rows: "actor".into(),
        cols: None,
        distinct: Some("src_ip".into()),
        top: 1000,
    };
    let pivot = analysis::pivot(store.frame(), &spec).unwrap();
    let mut ips: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for r in all {
        if !r["src_ip"].is_empty() {
            ips.entry(label(r, "actor"))
                .or_default()
                .insert(r["src_ip"].clone());
        }
    }
    for (i, key) in pivot.row_keys.iter().enumerate() {
        if let Key::Value(actor) = key {
            let expected = ips.get(actor).map_or(0, |s| s.len()) as u64;
            assert_eq!(pivot.row_totals[i], expected, "distinct IPs of {actor}");
        }
    }
}

/// Local hour buckets in a zone with a DST change inside the sample (US: 2024-03-10).
#[test]
fn timeline_buckets_follow_the_display_zone_across_dst() {
    let (store, all) = sample();
    let tz = jiff::tz::TimeZone::get("America/Chicago").unwrap();
    let frame = filtered(store.frame(), "provider:okta");
    let spec = TimelineSpec {
        by: "actor".into(),
        bucket: Some(parse_duration("1h").unwrap()),
        tz: tz.clone(),
        top: 3,
    };
    let timeline = analysis::timeline(&frame, &spec).unwrap();
    let okta: Vec<&Row> = all
        .iter()
        .filter(|r| r["provider"] == "okta" && !r["time"].is_empty())
        .collect();
    assert_eq!(timeline.totals.iter().sum::<u64>() as usize, okta.len());
    let lanes: u64 = timeline.lanes.iter().map(|l| l.total).sum();
    assert_eq!(
        lanes as usize,
        okta.len(),
        "lanes add up to the filtered count"
    );
    // Plain counting: each event's local wall-clock hour in Chicago.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for r in &okta {
        let ts: jiff::Timestamp = r["time"].parse().unwrap();
        let local = ts.to_zoned(tz.clone()).datetime();
        *expected
            .entry(local.strftime("%Y-%m-%d %H:00").to_string())
            .or_default() += 1;
    }
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for (i, n) in timeline.totals.iter().enumerate() {
        if *n > 0 {
            got.insert(timeline.label(i), *n);
        }
    }
    assert_eq!(got, expected);
    // 02:00 does not exist in Chicago on 2024-03-10.
    assert!(!got.contains_key("2024-03-10 02:00"));
}

#[test]
fn daily_timeline_by_provider_in_berlin() {
    let (store, all) = sample();
    let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let spec = TimelineSpec {
        by: "provider".into(),
        bucket: Some(parse_duration("1d").unwrap()),
        tz: tz.clone(),
        top: 10,
    };
    let timeline = analysis::timeline(store.frame(), &spec).unwrap();
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in all.iter().filter(|r| !r["time"].is_empty()) {
        let ts: jiff::Timestamp = r["time"].parse().unwrap();
        let day = ts.to_zoned(tz.clone()).strftime("%Y-%m-%d").to_string();
        *expected.entry((r["provider"].clone(), day)).or_default() += 1;
    }
    let mut got: BTreeMap<(String, String), u64> = BTreeMap::new();
    for lane in &timeline.lanes {
        for (i, n) in lane.counts.iter().enumerate() {
            if *n > 0 {
                got.insert((lane.key.label().to_string(), timeline.label(i)), *n);
            }
        }
    }
    assert_eq!(got, expected);
    assert_eq!(timeline.lanes.len(), 7, "one lane per provider");
}

#[test]
fn activity_profile_counts_an_actors_local_weekdays_and_hours() {
    let (store, all) = sample();
    let tz = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
    let (actor, _) = analysis::value_counts(store.frame(), "actor", 1).unwrap()[0].clone();
    let profile = analysis::profile(store.frame(), &actor, &tz).unwrap();
    let mut expected = [[0u64; 24]; 7];
    for r in all
        .iter()
        .filter(|r| r["actor"] == actor && !r["time"].is_empty())
    {
        let ts: jiff::Timestamp = r["time"].parse().unwrap();
        let z = ts.to_zoned(tz.clone());
        let weekday = z.weekday().to_monday_zero_offset() as usize;
        expected[weekday][z.hour() as usize] += 1;
    }
    assert_eq!(profile.counts, expected);
    assert_eq!(profile.total, expected.iter().flatten().sum::<u64>());
    let outside: u64 = (0..7)
        .flat_map(|w| (0..24).map(move |h| (w, h)))
        .filter(|&(w, h)| !profile.usual[w][h])
        .map(|(w, h)| profile.counts[w][h])
        .sum();
    assert_eq!(profile.outside, outside);
    assert!(
        profile.outside * 10 < profile.total,
        "the busiest actor mostly keeps its hours"
    );
}

// ---------------------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------------------

fn sample_arg() -> String {
    sample_logs().display().to_string()
}

#[test]
fn query_json_returns_the_filtered_events_with_their_ids() {
    let (store, all) = sample();
    let out = run(&[
        "query",
        &sample_arg(),
        "--filter",
        "provider:entra outcome:failure",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let events = json.as_array().unwrap();
    let expected: Vec<&Row> = all
        .iter()
        .filter(|r| r["provider"] == "entra" && r["outcome"] == "failure")
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(events.len(), expected.len());
    for (got, want) in events.iter().zip(&expected) {
        assert_eq!(got["event_id"].as_str(), Some(want["event_id"].as_str()));
        assert_eq!(got["actor"].as_str(), Some(want["actor"].as_str()));
        assert_eq!(got["time"].as_str(), Some(want["time"].as_str()));
    }
    assert!(store.frame().height() > events.len());
}

#[test]
fn query_ndjson_sorted_and_limited_pipes_one_event_per_line() {
    let out = run(&[
        "query",
        &sample_arg(),
        "--filter",
        "provider:aws",
        "--sort",
        "time:desc",
        "--limit",
        "5",
        "--format",
        "ndjson",
        "--columns",
        "time,event_id,actor,action",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let times: Vec<&str> = lines.iter().map(|l| l["time"].as_str().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let (_, all) = sample();
    let newest = all
        .iter()
        .filter(|r| r["provider"] == "aws")
        .map(|r| r["time"].clone())
        .max()
        .unwrap();
    assert_eq!(times[0], newest);
    for l in &lines {
        assert_eq!(
            l.as_object().unwrap().len(),
            4,
            "only the asked columns: {l}"
        );
        assert!(!l["event_id"].as_str().unwrap().is_empty());
    }
}

#[test]
fn query_table_shows_times_in_the_display_zone() {
    let out = run(&[
        "query",
        &sample_arg(),
        "--filter",
        "provider:github",
        "--limit",
        "3",
        "--tz",
        "Asia/Kolkata",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("time"), "{header}");
    assert!(
        header.contains("actor") && header.contains("action"),
        "{header}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.contains(" IST") && r.contains("github")),
        "{text}"
    );
}

#[test]
fn query_sql_answers_what_the_filter_language_cannot() {
    let (_, all) = sample();
    let out = run(&[
        "query",
        &sample_arg(),
        "--sql",
        "SELECT provider, COUNT(*) AS n FROM events GROUP BY provider ORDER BY n DESC",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut expected: HashMap<String, u64> = HashMap::new();
    for r in all {
        *expected.entry(r["provider"].clone()).or_default() += 1;
    }
    let got: HashMap<String, u64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["provider"].as_str().unwrap().to_string(),
                o["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    let bad = run(&["query", &sample_arg(), "--sql", "SELEC nonsense"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("SQL"), "{}", stderr(&bad));
}

#[test]
fn query_sql_like_and_string_functions_work_on_categorical_columns() {
    let (_, all) = sample();
    let out = run(&[
        "query",
        &sample_arg(),
        "--sql",
        "SELECT action, actor FROM events WHERE action LIKE '%Login%' AND lower(provider) = 'aws'",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let got: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["action"].as_str().unwrap())
        .collect();
    let expected = all
        .iter()
        .filter(|r| r["provider"] == "aws" && r["action"].contains("Login"))
        .count();
    assert!(expected > 0, "the sample has AWS sign-ins");
    assert_eq!(got.len(), expected);
    assert!(got.iter().all(|a| a.contains("Login")), "{got:?}");
}

#[test]
fn an_invalid_filter_points_at_its_column_and_matches_nothing() {
    let out = run(&[
        "query",
        &sample_arg(),
        "--filter",
        "actor:alice and (outcome:failure",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).is_empty(),
        "no rows printed for an invalid filter"
    );
    let err = stderr(&out);
    assert!(err.contains("invalid filter at column"), "{err}");
    assert!(err.contains('^'), "a caret under the problem: {err}");
    let unknown = run(&["query", &sample_arg(), "--filter", "actr:alice"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("column 1"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn csv_output_neutralizes_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.ndjson");
    let record = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/=HYPERLINK(\"http://x\")","userName":"=HYPERLINK(\"http://x\")"},"eventTime":"2024-03-04T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"=cmd|' /C calc'!A0","eventID":"0f5e1b1e-0000-4000-8000-000000000001","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;
    std::fs::write(&path, format!("{record}\n")).unwrap();
    let out = run(&[
        "query",
        &path.display().to_string(),
        "--format",
        "csv",
        "--columns",
        "actor,user_agent",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert!(row[0].starts_with("arn:aws:iam"), "{text}");
    assert!(row[1].starts_with("'="), "formula neutralized: {text}");
}

#[test]
fn pivot_command_json_carries_drill_down_filters() {
    let out = run(&[
        "pivot",
        &sample_arg(),
        "--rows",
        "actor",
        "--cols",
        "outcome",
        "--filter",
        "provider:entra",
        "--top",
        "3",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let (_, all) = sample();
    let entra = all.iter().filter(|r| r["provider"] == "entra").count() as u64;
    assert_eq!(json["total"].as_u64(), Some(entra));
    let data = json["data"].as_array().unwrap();
    assert_eq!(data.len(), 4, "3 actors and (other)");
    assert_eq!(data[3]["key"], "(other)");
    let first = &data[0];
    let actor = first["key"].as_str().unwrap();
    assert_eq!(
        first["filter"].as_str().unwrap(),
        format!("actor:{}", quote_value(actor))
    );
    let expected = all
        .iter()
        .filter(|r| r["provider"] == "entra" && r["actor"] == actor)
        .count() as u64;
    assert_eq!(first["total"].as_u64(), Some(expected));
    let sum: u64 = data.iter().map(|d| d["total"].as_u64().unwrap()).sum();
    assert_eq!(sum, entra);
}

#[test]
fn pivot_table_has_totals() {
    let out = run(&["pivot", &sample_arg(), "--rows", "provider"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let total_line = text.lines().find(|l| l.starts_with("(total)")).unwrap();
    let (store, _) = sample();
    assert!(
        total_line.contains(&store.frame().height().to_string()),
        "{text}"
    );
    assert!(
        text.lines().next().unwrap().starts_with("provider"),
        "{text}"
    );
    let bad = run(&["pivot", &sample_arg(), "--rows", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown column 'nope'"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn timeline_command_csv_and_timings() {
    let out = run(&[
        "timeline",
        &sample_arg(),
        "--by",
        "provider",
        "--bucket",
        "1d",
        "--tz",
        "Europe/Berlin",
        "--format",
        "csv",
        "--timings",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "bucket (1d)");
    assert_eq!(headers.iter().next_back(), Some("total"));
    let mut total = 0u64;
    let mut days = 0;
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(record[0].len(), 10, "a local date: {:?}", &record[0]);
        total += record[record.len() - 1].parse::<u64>().unwrap();
        days += 1;
    }
    let (_, all) = sample();
    assert_eq!(
        total as usize,
        all.iter().filter(|r| !r["time"].is_empty()).count()
    );
    assert!(days >= 20, "three weeks of days: {days}");
    let timings: serde_json::Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert!(
        timings["load_ms"].as_u64().is_some() && timings["query_ms"].as_u64().is_some(),
        "{timings}"
    );
}

#[test]
fn timeline_profile_marks_activity_outside_an_actors_hours() {
    let out = run(&[
        "timeline",
        &sample_arg(),
        "--profile",
        "--top",
        "2",
        "--tz",
        "America/Chicago",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let profiles = json.as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    for p in profiles {
        let counts = p["counts"].as_array().unwrap();
        assert_eq!(counts.len(), 7);
        let sum: u64 = counts
            .iter()
            .flat_map(|d| d.as_array().unwrap())
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(Some(sum), p["total"].as_u64());
    }
    let table = run(&["timeline", &sample_arg(), "--profile", "--top", "1"]);
    let text = stdout(&table);
    assert!(text.contains("Mon") && text.contains("Sun"), "{text}");
}

#[test]
fn sorting_by_a_categorical_column_is_by_its_text() {
    let (store, all) = sample();
    for descending in [false, true] {
        let key = SortKey {
            column: "actor".into(),
            descending,
        };
        let view = ViewSpec {
            sort: Some(key),
            ..ViewSpec::default()
        };
        let sorted = selected(store.frame(), view);
        let got = texts(&sorted, "actor");
        let mut expected: Vec<String> = all.iter().map(|r| r["actor"].clone()).collect();
        // Nulls (shown as "") last either way.
        expected.sort_by(|a, b| match (a.is_empty(), b.is_empty()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if descending => b.cmp(a),
            _ => a.cmp(b),
        });
        assert_eq!(got, expected, "descending={descending}");
    }
    let view = ViewSpec {
        sort: Some(SortKey::parse("action:desc").unwrap()),
        limit: Some(3),
        ..ViewSpec::default()
    };
    let limited = selected(store.frame(), view);
    let max = all.iter().map(|r| r["action"].clone()).max().unwrap();
    assert_eq!(texts(&limited, "action")[0], max);
    assert_eq!(limited.height(), 3);
}

#[test]
fn the_top_n_is_the_same_every_time_even_with_ties() {
    let (store, _) = sample();
    for distinct in [None, Some("src_ip".to_string())] {
        let spec = PivotSpec {
            rows: "action".into(),
            cols: Some("provider".into()),
            distinct: distinct.clone(),
            top: 7,
        };
        let first = analysis::pivot(store.frame(), &spec).unwrap();
        for _ in 0..8 {
            assert_eq!(
                analysis::pivot(store.frame(), &spec).unwrap(),
                first,
                "distinct {distinct:?}"
            );
        }
    }
}

#[test]
fn pivot_ties_at_the_top_n_cut_off_go_to_the_first_label_whatever_order_values_were_loaded_in() {
    let dir = tempfile::tempdir().unwrap();
    // Equal counts; the later label is loaded first, so it has the smaller dictionary id.
    let line = |actor: &str, ip: &str, id: &str| {
        format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"{actor}"}},"eventTime":"2024-03-04T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"{ip}","eventID":"{id}","eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
        )
    };
    let text = [
        line("tie-zzz-pivot", "198.51.100.1", "1"),
        line("tie-zzz-pivot", "198.51.100.2", "2"),
        line("tie-aaa-pivot", "198.51.100.3", "3"),
        line("tie-aaa-pivot", "198.51.100.4", "4"),
    ]
    .join("\n");
    let path = dir.path().join("ties.ndjson");
    std::fs::write(&path, text).unwrap();
    let store = load(&[&path]);
    for distinct in [None, Some("src_ip".to_string())] {
        let spec = PivotSpec {
            rows: "actor".into(),
            cols: None,
            distinct: distinct.clone(),
            top: 1,
        };
        let pivot = analysis::pivot(store.frame(), &spec).unwrap();
        assert_eq!(
            pivot.row_keys.first().map(|k| k.label().to_string()),
            Some("tie-aaa-pivot".to_string()),
            "{distinct:?}: {:?}",
            pivot.row_keys
        );
    }
}

#[test]
fn a_pivot_in_the_tui_and_trailscope_pivot_agree() {
    use trailscope::tui::jobs::{self, Analysis, AnalysisJob, AnalysisOutput, Done, Job, ViewJob};
    let (store, _) = sample();
    let frame = store.frame();
    // The TUI: its view job selects the rows, its analysis job pivots them.
    let view = ViewSpec {
        filter: "provider:aws".into(),
        ..ViewSpec::default()
    };
    let done = jobs::run(Job::View(ViewJob {
        version: 1,
        frame_gen: 1,
        frame: frame.clone(),
        view: view.compile(frame).unwrap(),
        anchor: None,
    }));
    let Done::ViewComputed(Ok(selected), _) = done else {
        panic!("{done:?}");
    };
    let spec = PivotSpec {
        rows: "actor".into(),
        cols: Some("action".into()),
        distinct: None,
        top: 5,
    };
    let done = jobs::run(Job::Analysis(AnalysisJob {
        version: 1,
        frame: frame.clone(),
        rows: selected.rows,
        analysis: Analysis::Pivot(spec),
    }));
    let Done::AnalysisComputed {
        result: Ok(AnalysisOutput::Pivot(tui)),
        ..
    } = done
    else {
        panic!("{done:?}");
    };
    // The command line, in another process.
    let out = run(&[
        "pivot",
        &sample_arg(),
        "--rows",
        "actor",
        "--cols",
        "action",
        "--filter",
        "provider:aws",
        "--top",
        "5",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cli: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(cli, trailscope::output::pivot_json(&tui));
}

#[test]
fn a_views_time_range_selects_what_the_same_filter_terms_select() {
    use trailscope::analysis::TimeRange;
    let (store, _) = sample();
    let frame = store.frame();
    let ranged = |filter: &str, range: TimeRange| {
        let view = ViewSpec {
            filter: filter.to_string(),
            range: Some(range),
            ..ViewSpec::default()
        };
        selected(frame, view).height()
    };
    let last = ranged("provider:aws", TimeRange::Last("3d12h".into()));
    assert_eq!(last, filtered(frame, "provider:aws last:3d12h").height());
    assert!(last > 0 && last < filtered(frame, "provider:aws").height());
    let between = TimeRange::Between {
        after: Some("2024-03-05".into()),
        before: Some("2024-03-07 12:00".into()),
    };
    let n = ranged("", between);
    assert_eq!(
        n,
        filtered(frame, r#"after:2024-03-05 before:"2024-03-07 12:00""#).height()
    );
    assert!(n > 0 && n < frame.height());
    let open = TimeRange::Between {
        after: None,
        before: Some("2024-03-07".into()),
    };
    assert_eq!(
        ranged("", open),
        filtered(frame, "before:2024-03-07").height()
    );
    // A bad end is reported like the filter term it stands for.
    let bad = ViewSpec {
        range: Some(TimeRange::Last("3x".into())),
        ..ViewSpec::default()
    };
    let err = bad.compile(frame).unwrap_err();
    assert!(err.message.contains("invalid duration '3x'"), "{err}");
}

#[test]
fn specs_are_plain_data_that_round_trip_through_toml() {
    use trailscope::analysis::{DEFAULT_PIVOT_TOP, DEFAULT_TIMELINE_LANES, ProfileSpec, TimeRange};
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let view = ViewSpec {
        filter: "actor:alice -outcome:success".into(),
        range: Some(TimeRange::Between {
            after: Some("2024-03-05".into()),
            before: None,
        }),
        tz: berlin.clone(),
        columns: vec!["time".into(), "actor".into()],
        sort: Some(SortKey::parse("actor:desc").unwrap()),
        limit: Some(50),
    };
    let text = toml::to_string(&view).unwrap();
    assert!(text.contains("tz = \"Europe/Berlin\""), "{text}");
    assert_eq!(toml::from_str::<ViewSpec>(&text).unwrap(), view, "{text}");
    let last = ViewSpec {
        range: Some(TimeRange::Last("24h".into())),
        ..ViewSpec::default()
    };
    let text = toml::to_string(&last).unwrap();
    assert_eq!(toml::from_str::<ViewSpec>(&text).unwrap(), last, "{text}");
    assert_eq!(toml::from_str::<ViewSpec>("").unwrap(), ViewSpec::default());

    let pivot = PivotSpec {
        rows: "actor".into(),
        cols: Some("action".into()),
        distinct: Some("src_ip".into()),
        top: 7,
    };
    let text = toml::to_string(&pivot).unwrap();
    assert_eq!(toml::from_str::<PivotSpec>(&text).unwrap(), pivot, "{text}");
    let minimal: PivotSpec = toml::from_str("rows = \"actor\"").unwrap();
    assert_eq!((minimal.cols, minimal.top), (None, DEFAULT_PIVOT_TOP));

    let timeline = TimelineSpec {
        by: "provider".into(),
        bucket: Some(parse_duration("1h30m").unwrap()),
        tz: berlin.clone(),
        top: 3,
    };
    let text = toml::to_string(&timeline).unwrap();
    assert!(text.contains("bucket = \"1h30m\""), "{text}");
    assert_eq!(
        toml::from_str::<TimelineSpec>(&text).unwrap(),
        timeline,
        "{text}"
    );
    let automatic: TimelineSpec = toml::from_str("").unwrap();
    assert_eq!(
        (automatic.by.as_str(), automatic.bucket, automatic.top),
        ("actor", None, DEFAULT_TIMELINE_LANES)
    );
    assert!(toml::from_str::<TimelineSpec>("bucket = \"0m\"").is_err());
    assert!(toml::from_str::<TimelineSpec>("tz = \"Mars/Olympus\"").is_err());

    let profile = ProfileSpec {
        actors: vec!["alice".into()],
        top: 1,
        tz: berlin,
    };
    let text = toml::to_string(&profile).unwrap();
    assert_eq!(
        toml::from_str::<ProfileSpec>(&text).unwrap(),
        profile,
        "{text}"
    );
}
