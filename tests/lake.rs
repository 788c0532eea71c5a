//! The Parquet lake: export writes the loaded events once, reading it back gives the same
//! events, answers equal those over the loaded inputs, pruning skips what a filter cannot
//! match, and DuckDB reads the lake as it is.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use trailscope::analysis::{
    self, Counted, PivotPart, PivotSpec, TimelineSpan, TimelineSpec, ViewSpec,
};
use trailscope::lake::layout::{self, RAW};
use trailscope::lake::prune::Pruning;
use trailscope::lake::scan::{self, ScanStats};
use trailscope::lake::{aggregate, query, write};
use trailscope::schema::{self, ACTION, ACTOR, EVENT_ID, PROVIDER, RAW_LINE, SOURCE, TIME};
use trailscope::store::FrameStore;
use trailscope::tui::{Command as TuiCommand, Harness, Settings};

use crate::util::{Row, load, rows, run, sample_logs, stderr, stdout};

/// Every finished file of a lake, relative to its root, with its size.
fn files(root: &Path) -> BTreeMap<PathBuf, u64> {
    scan::lake_files(root)
        .unwrap()
        .into_iter()
        .map(|f| {
            let size = fs::metadata(&f.path).unwrap().len();
            (f.path.strip_prefix(root).unwrap().to_path_buf(), size)
        })
        .collect()
}

/// Every event of a lake, with the frame's types and its `raw` column, by file.
fn read_back(root: &Path) -> DataFrame {
    let mut columns = schema::EVENT_COLUMNS.to_vec();
    columns.extend([SOURCE, RAW_LINE]);
    let mut out: Option<DataFrame> = None;
    for file in scan::lake_files(root).unwrap() {
        let mut stats = ScanStats::default();
        let mut part = scan::read_file(&file, &columns, &Pruning::none(), &mut stats)
            .unwrap()
            .unwrap();
        let raw = scan::read_columns(&file.path, &[RAW]).unwrap();
        part.with_column(raw.column(RAW).unwrap().clone()).unwrap();
        match &mut out {
            Some(all) => {
                all.vstack_mut_owned(part).unwrap();
            }
            None => out = Some(part),
        }
    }
    out.unwrap()
}

/// Rows as display strings without the identity (resolved again by every store), sorted.
fn comparable(frame: &DataFrame) -> Vec<Row> {
    let mut rows: Vec<Row> = rows(frame)
        .into_iter()
        .map(|mut r| {
            r.remove(schema::IDENTITY);
            r
        })
        .collect();
    rows.sort();
    rows
}

fn export(store: &FrameStore, root: &Path) -> write::ExportSummary {
    write::export(store, None, root).unwrap()
}

#[test]
fn export_then_read_back_gives_the_loaded_events_and_their_raw_records() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    let summary = export(&store, dir.path());
    let frame = store.frame();
    assert_eq!(summary.written, frame.height() as u64);
    assert_eq!(summary.skipped, 0);
    assert_eq!(summary.raw_missing, 0);
    assert!(dir.path().join(layout::LAYOUT_FILE).is_file());
    let back = read_back(dir.path());
    assert_eq!(comparable(&back), comparable(frame));
    // Every partition directory names its events' provider and UTC day.
    for file in scan::lake_files(dir.path()).unwrap() {
        let part = scan::read_columns(&file.path, &[TIME]).unwrap();
        let times = part
            .column(TIME)
            .unwrap()
            .as_materialized_series()
            .to_physical_repr();
        let times: Vec<Option<i64>> = times.i64().unwrap().iter().collect();
        assert!(
            times.is_sorted(),
            "{} is not in time order",
            file.path.display()
        );
        for t in times {
            assert_eq!(layout::day_of(t), file.day);
        }
    }
    // The raw record of each event is byte for byte what the loaded store reads back (an
    // S3 file holds many records on one line: records are compared per line, sorted).
    let expected = records_by_line(&store);
    let raws = back.column(RAW).unwrap().str().unwrap().clone();
    let mut got: BTreeMap<(String, String), Vec<Vec<u8>>> = BTreeMap::new();
    for row in 0..back.height() {
        let raw = raws.get(row).unwrap().as_bytes().to_vec();
        got.entry(line_of(&back, row)).or_default().push(raw);
    }
    got.values_mut().for_each(|r| r.sort());
    assert!(got == expected, "raw records differ");
}

/// The input and line of a row (`source`, `raw_line`).
fn line_of(frame: &DataFrame, row: usize) -> (String, String) {
    let text = |c: &str| {
        frame
            .column(c)
            .unwrap()
            .get(row)
            .unwrap()
            .str_value()
            .to_string()
    };
    (text(SOURCE), text(RAW_LINE))
}

/// Each event's original record, by its source line (an S3 file holds many on one line).
fn records_by_line(store: &FrameStore) -> BTreeMap<(String, String), Vec<Vec<u8>>> {
    let frame = store.frame();
    let mut out: BTreeMap<(String, String), Vec<Vec<u8>>> = BTreeMap::new();
    for row in 0..frame.height() {
        let raw = store.raw_record(frame, row).unwrap();
        out.entry(line_of(frame, row)).or_default().push(raw);
    }
    out.values_mut().for_each(|r| r.sort());
    out
}

#[test]
fn events_opened_from_a_lake_show_their_original_records() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    export(&store, dir.path());
    let loaded = records_by_line(&store);
    // Unfiltered, filtered (rows picked inside files) and time-bounded (row groups pruned):
    // every event's record is the loaded one, byte for byte.
    for filter in [
        "",
        "provider:aws outcome:failure",
        "last:30d",
        "provider:okta",
    ] {
        let view = ViewSpec {
            filter: filter.into(),
            ..ViewSpec::default()
        };
        let (lake, _) = query::load_store(dir.path(), &view).unwrap();
        assert!(lake.frame().height() > 0, "{filter}: no events");
        let got = records_by_line(&lake);
        for (line, records) in &got {
            let known = loaded.get(line).map(Vec::as_slice).unwrap_or_default();
            for record in records {
                assert!(
                    known.contains(record),
                    "{filter}: {line:?} has no record {}",
                    String::from_utf8_lossy(record)
                );
            }
        }
        if filter.is_empty() {
            assert!(got == loaded, "every record, unfiltered");
        }
    }
    // In the TUI: the record view of an event from the lake shows its record.
    let view = ViewSpec {
        filter: "provider:aws".into(),
        ..ViewSpec::default()
    };
    let (lake, _) = query::load_store(dir.path(), &view).unwrap();
    let settings = Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: std::sync::Arc::new(trailscope::config::Config::builtin().unwrap()),
        color: true,
    };
    let mut h = Harness::new(lake, settings, 160, 45);
    h.command(TuiCommand::DrillDown);
    let row = h.state.detail.frame_row.expect("a row is selected") as usize;
    let frame = h.state.store.frame().clone();
    let event_id = frame
        .column(EVENT_ID)
        .unwrap()
        .get(row)
        .unwrap()
        .str_value()
        .to_string();
    let screen = h.screen();
    assert!(
        screen.contains("\"eventVersion\"") && screen.contains(&event_id),
        "the record view shows the CloudTrail record {event_id}:\n{screen}"
    );
    assert!(!screen.contains("no longer readable"), "{screen}");
}

#[test]
fn exporting_again_adds_nothing_and_more_adds_only_what_is_new() {
    let store = load(&[&sample_logs()]);
    let total = store.frame().height() as u64;
    let dir = tempfile::tempdir().unwrap();
    // First only AWS, then everything, then everything again.
    let view = ViewSpec {
        filter: "provider:aws".into(),
        ..ViewSpec::default()
    };
    let aws = analysis::select_rows(store.frame(), &view.compile(store.frame()).unwrap())
        .unwrap()
        .rows
        .unwrap();
    let first = write::export(&store, Some(&aws), dir.path()).unwrap();
    assert_eq!(first.written, aws.len() as u64);
    let before = files(dir.path());
    assert!(before.keys().all(|p| p.starts_with("provider=aws")));
    let second = export(&store, dir.path());
    assert_eq!(second.skipped, aws.len() as u64);
    assert_eq!(second.written, total - aws.len() as u64);
    let after = files(dir.path());
    // What was there is untouched, and no AWS partition got a file.
    for (path, size) in &before {
        assert_eq!(after.get(path), Some(size));
    }
    let added: Vec<&PathBuf> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert_eq!(added.len(), second.files);
    assert!(added.iter().all(|p| !p.starts_with("provider=aws")));
    let third = export(&store, dir.path());
    assert_eq!((third.written, third.skipped, third.files), (0, total, 0));
    assert_eq!(files(dir.path()), after);
    assert_eq!(read_back(dir.path()).height() as u64, total);
}

#[test]
fn a_file_left_by_an_interrupted_export_is_not_read() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    export(&store, dir.path());
    // A partial file: the first half of a finished one, under the name being written.
    let finished = scan::lake_files(dir.path()).unwrap().remove(0);
    let bytes = fs::read(&finished.path).unwrap();
    let partial = finished
        .path
        .with_file_name(".part-0123456789abcdef.parquet");
    fs::write(&partial, &bytes[..bytes.len() / 2]).unwrap();
    // A whole copy under a dot-name is not part of the lake either.
    fs::write(
        finished
            .path
            .with_file_name(".part-fedcba9876543210.parquet"),
        &bytes,
    )
    .unwrap();
    let (events, stats) = query::select(dir.path(), &ViewSpec::default()).unwrap();
    assert_eq!(events.height(), store.frame().height());
    assert_eq!(stats.files, files(dir.path()).len());
    // Exporting into it again still finds every event present.
    assert_eq!(export(&store, dir.path()).written, 0);
}

/// The event ids (sorted) of a frame.
fn ids(frame: &DataFrame) -> Vec<String> {
    let mut ids: Vec<String> = frame
        .column(EVENT_ID)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect();
    ids.sort();
    ids
}

/// Asserts that query, pivot and timeline over the lake equal the same over the store.
fn assert_same_answers(store: &FrameStore, root: &Path, filters: &[&str]) {
    let frame = store.frame();
    for filter in filters {
        let view = ViewSpec {
            filter: filter.to_string(),
            columns: vec![EVENT_ID.into(), TIME.into(), ACTOR.into()],
            ..ViewSpec::default()
        };
        let compiled = view.compile(frame).unwrap();
        let want = analysis::select(frame, &compiled).unwrap();
        let (got, _) = query::select(root, &view).unwrap();
        assert_eq!(got.height(), want.height(), "count of [{filter}]");
        assert_eq!(ids(&got), ids(&want), "ids of [{filter}]");
        let rows = analysis::select_rows(frame, &compiled).unwrap().rows;
        for pivot in pivots() {
            let want = analysis::run(frame, rows.as_ref(), &pivot).unwrap();
            let (got, stats) = aggregate::pivot(root, &view, &pivot).unwrap();
            assert_eq!(
                trailscope::output::pivot_json(&got),
                trailscope::output::pivot_json(&want),
                "pivot {pivot:?} of [{filter}]"
            );
            // Each file's matching events became a partial result.
            assert!(stats.parts <= stats.files_read, "{stats:?}");
        }
        for timeline in timelines() {
            let want = analysis::run(frame, rows.as_ref(), &timeline).unwrap();
            let (got, _) = aggregate::timeline(root, &view, &timeline).unwrap();
            let json = |t| trailscope::output::timeline_json(t, &timeline.tz);
            assert_eq!(
                json(&got),
                json(&want),
                "timeline {timeline:?} of [{filter}]"
            );
        }
    }
}

/// Pivots across the spec: a cross table, one column, distinct counts, a top of 1.
fn pivots() -> Vec<PivotSpec> {
    let spec = |rows: &str, cols: Option<&str>, distinct: Option<&str>, top| PivotSpec {
        rows: rows.into(),
        cols: cols.map(Into::into),
        distinct: distinct.map(Into::into),
        top,
    };
    vec![
        spec(ACTION, Some(PROVIDER), None, 15),
        spec(ACTOR, None, None, 3),
        spec(ACTOR, Some(ACTION), Some(schema::SRC_IP), 4),
        spec(PROVIDER, None, Some(ACTION), 1),
    ]
}

/// Timelines across the spec: automatic and set buckets, a zone with daylight saving, one
/// lane, and a bucket widened for the lanes.
fn timelines() -> Vec<TimelineSpec> {
    let spec = |by: &str, bucket, tz: &str, top| TimelineSpec {
        by: by.into(),
        bucket,
        tz: jiff::tz::TimeZone::get(tz).unwrap(),
        top,
    };
    vec![
        spec(ACTOR, None, "UTC", 5),
        spec(PROVIDER, Some(3_600_000_000), "America/New_York", 1),
        spec(ACTION, Some(1_000_000), "Europe/Berlin", 200),
    ]
}

/// Filters across the language: fields, wildcards, regex, CIDR, lists, booleans, time
/// bounds (absolute and relative) and boolean logic, pruning and not.
const FILTERS: [&str; 12] = [
    "",
    "provider:aws",
    "provider in (gcp, azure) -read_only",
    "actor:*admin* or outcome:failure",
    r#"action~"^(Attach|Put|Create).*""#,
    "ip:10.0.0.0/8",
    "after:2024-03-10 before:2024-03-12",
    "last:36h",
    "time:2024-03-15 provider:aws",
    "-provider:aws last:3d",
    "privileged and not provider:kubernetes",
    "mfa:false after:2024-03-20",
];

#[test]
fn answers_over_the_lake_equal_answers_over_the_loaded_sample() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    export(&store, dir.path());
    assert_same_answers(&store, dir.path(), &FILTERS);
}

#[test]
fn answers_over_the_lake_equal_answers_over_a_loaded_month() {
    let data = tempfile::tempdir().unwrap();
    let (events, seed) = crate::util::month_setting();
    let truth = trailscope::synth::write_month(data.path(), events, seed).unwrap();
    let store = load(&[data.path()]);
    let dir = tempfile::tempdir().unwrap();
    export(&store, dir.path());
    // The month's own dates, and an actor of a planted incident.
    let frame = store.frame();
    let times = frame
        .column(TIME)
        .unwrap()
        .as_materialized_series()
        .to_physical_repr();
    let (first, last) = (
        times.i64().unwrap().min().unwrap(),
        times.i64().unwrap().max().unwrap(),
    );
    let day = |us: i64| layout::day_of(Some(us));
    let mid = day((first + last) / 2);
    let actor = analysis::filter::quote_value(&truth.incidents[0].actor);
    let filters = [
        String::new(),
        format!("time:{mid}"),
        format!("actor:{actor}"),
        format!(
            "after:{} before:{mid} provider:aws",
            day(first + 86_400_000_000)
        ),
        "last:2d outcome:failure".to_string(),
        "provider:okta or action~\"(?i)delete\"".to_string(),
    ];
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    assert_same_answers(&store, dir.path(), &filters);
}

#[test]
fn pivots_and_timelines_over_a_lake_merge_one_partial_result_per_file() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    export(&store, dir.path());
    let view = ViewSpec::default();
    let pivot_json = trailscope::output::pivot_json;
    for spec in pivots() {
        let (got, stats) = aggregate::pivot(dir.path(), &view, &spec).unwrap();
        assert!(stats.files_read > 5, "{stats:?}");
        assert_eq!(stats.parts, stats.files_read, "one part per file read");
        // The same pivot as with the matching events collected in one frame.
        let (whole, _) = query::run(dir.path(), &view, &spec).unwrap();
        assert_eq!(pivot_json(&got), pivot_json(&whole), "{spec:?}");
    }
    for spec in timelines() {
        let (got, stats) = aggregate::timeline(dir.path(), &view, &spec).unwrap();
        // A pass for the span, then one or two counts, each file a part in each.
        assert_eq!(stats.parts, stats.files_read, "{stats:?}");
        let (whole, _) = query::run(dir.path(), &view, &spec).unwrap();
        let json = |t| trailscope::output::timeline_json(t, &spec.tz);
        assert_eq!(json(&got), json(&whole), "{spec:?}");
    }
    // Parts of a loaded frame, merged in any grouping and order, give its pivot and
    // timeline: a distinct value or a lane split over parts is counted once.
    let frame = store.frame();
    let slices: Vec<DataFrame> = (0..frame.height())
        .step_by(7)
        .map(|offset| frame.slice(offset as i64, 7))
        .collect();
    assert!(slices.len() > 10);
    for spec in pivots() {
        let parts: Vec<PivotPart> = slices
            .iter()
            .map(|s| PivotPart::of(s, &spec).unwrap())
            .collect();
        let (first, second) = parts.split_at(parts.len() / 3);
        let merged = PivotPart::merge(
            vec![
                PivotPart::merge(second.to_vec(), &spec).unwrap(),
                PivotPart::merge(first.to_vec(), &spec).unwrap(),
            ],
            &spec,
        )
        .unwrap();
        let want = analysis::pivot(frame, &spec).unwrap();
        assert_eq!(
            pivot_json(&merged.pivot(&spec).unwrap()),
            pivot_json(&want),
            "{spec:?}"
        );
    }
    let mut timelines = timelines();
    // A lane per event: too many lanes for the 5-minute buckets a second bucket widens to.
    timelines.push(TimelineSpec {
        by: EVENT_ID.into(),
        bucket: Some(1_000_000),
        tz: jiff::tz::TimeZone::UTC,
        top: 5_000,
    });
    for spec in timelines {
        let mut span = TimelineSpan::default();
        for slice in slices.iter().rev() {
            span.add(TimelineSpan::of(slice).unwrap());
        }
        let mut counter = span.counter(&spec).unwrap();
        let mut counts = 0;
        let got = loop {
            counts += 1;
            for slice in &slices {
                counter.add(slice).unwrap();
            }
            match counter.finish().unwrap() {
                Counted::Done(timeline) => break timeline,
                Counted::Again(again) => counter = again,
            }
        };
        // Many lanes at a fine bucket take the second, coarser count.
        if spec.by == EVENT_ID {
            assert_eq!(counts, 2, "{spec:?}");
        }
        let json = |t| trailscope::output::timeline_json(t, &spec.tz);
        let want = analysis::timeline(frame, &spec).unwrap();
        assert_eq!(json(&got), json(&want), "{spec:?}");
    }
}

#[test]
fn pruning_skips_partitions_and_row_groups_a_filter_cannot_match() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    // Small row groups, so that a day's file has several.
    write::export_with(&store, None, dir.path(), 8).unwrap();
    let view = |filter: &str| ViewSpec {
        filter: filter.into(),
        columns: vec![EVENT_ID.into()],
        ..ViewSpec::default()
    };
    let (all, everything) = query::select(dir.path(), &view("")).unwrap();
    assert_eq!(all.height(), store.frame().height());
    assert_eq!(everything.partitions_read, everything.partitions);
    assert_eq!(everything.row_groups_read, everything.row_groups);
    // A provider term reads only that provider's partitions.
    let (_, aws) = query::select(dir.path(), &view("provider:aws")).unwrap();
    let aws_partitions = scan::lake_files(dir.path())
        .unwrap()
        .iter()
        .filter(|f| f.provider == "aws")
        .count();
    assert_eq!(aws.partitions_read, aws_partitions);
    assert!(aws.partitions_read < aws.partitions);
    // An hour of one day reads that day's partitions, and of their row groups only those
    // whose times overlap the hour.
    let hour = "after:\"2024-03-15 10:00\" before:\"2024-03-15 11:00\"";
    let (events, stats) = query::select(dir.path(), &view(hour)).unwrap();
    let days = scan::lake_files(dir.path())
        .unwrap()
        .iter()
        .filter(|f| f.day == "2024-03-15")
        .count();
    assert_eq!(stats.partitions_read, days);
    assert!(stats.row_groups_read < stats.row_groups / 3, "{stats:?}");
    assert!(stats.rows_read < 8 * stats.row_groups_read as u64 + 1);
    let want =
        analysis::select(store.frame(), &view(hour).compile(store.frame()).unwrap()).unwrap();
    assert!(want.height() > 0);
    assert_eq!(ids(&events), ids(&want));
    // Terms under an `or` prune nothing.
    let (_, either) = query::select(dir.path(), &view("provider:aws or actor:alice")).unwrap();
    assert_eq!(either.partitions_read, either.partitions);
}

/// The values of `column` with how many events hold each, fewest first.
fn value_counts(frame: &DataFrame, column: &str) -> Vec<(String, usize)> {
    let values = frame
        .column(column)
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in values.str().unwrap().iter().flatten() {
        *counts.entry(v.to_string()).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by_key(|(v, n)| (*n, v.clone()));
    counts
}

#[test]
fn value_lookups_read_only_the_row_groups_that_can_hold_the_value() {
    let store = load(&[&sample_logs()]);
    let frame = store.frame();
    let dir = tempfile::tempdir().unwrap();
    // Small row groups, so that each holds few values.
    write::export_with(&store, None, dir.path(), 8).unwrap();
    let view = |filter: &str| ViewSpec {
        filter: filter.into(),
        columns: vec![EVENT_ID.into()],
        ..ViewSpec::default()
    };
    let quote = analysis::filter::quote_value;
    let ascii = |counts: Vec<(String, usize)>| -> Vec<String> {
        counts
            .into_iter()
            .filter(|(v, _)| v.is_ascii() && !v.contains('*'))
            .map(|(v, _)| v)
            .collect()
    };
    let actors = ascii(value_counts(frame, ACTOR));
    let ips = ascii(value_counts(frame, schema::SRC_IP));
    let event_ids = ascii(value_counts(frame, EVENT_ID));
    let (rare, other) = (&actors[0], &actors[1]);
    let ip = ips
        .iter()
        .find(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok())
        .unwrap();
    let list = dir.path().join("actors.txt");
    fs::write(&list, format!("# suspects\n{rare}\n{other}\n")).unwrap();
    let lookups = [
        format!("actor:{}", quote(rare)),
        format!("actor:{}", quote(&rare.to_uppercase())),
        format!("event_id:{}", quote(&event_ids[event_ids.len() / 2])),
        format!("ip:{ip}"),
        format!("ip:::ffff:{ip}"),
        format!("src_ip:{}", quote(ip)),
        format!("actor in ({}, {})", quote(rare), quote(other)),
        format!("actor in @{}", list.display()),
        format!("actor:{} or ip:{ip}", quote(rare)),
        format!("actor:{} provider:aws", quote(other)),
        "actor:no-such-actor-anywhere".to_string(),
        "event_id in (no-such-id, nor-this-one)".to_string(),
    ];
    for filter in &lookups {
        let want = analysis::select(frame, &view(filter).compile(frame).unwrap()).unwrap();
        let (got, stats) = query::select(dir.path(), &view(filter)).unwrap();
        assert_eq!(ids(&got), ids(&want), "ids of [{filter}]");
        // Of the row groups the time and partitions leave, the index rules most out.
        assert!(
            stats.row_groups_ruled_out_by_values > 0,
            "[{filter}] {stats:?}"
        );
        assert!(
            stats.row_groups_read * 4 < stats.row_groups,
            "[{filter}] {stats:?}"
        );
    }
    // The same answers, reading more, from a lake whose indexes are gone or damaged.
    for (damaged, file) in scan::lake_files(dir.path())
        .unwrap()
        .into_iter()
        .enumerate()
    {
        let index = trailscope::lake::values::index_path(&file.path);
        assert!(index.exists(), "{} has no index", file.path.display());
        if damaged % 2 == 0 {
            fs::remove_file(&index).unwrap();
        } else {
            fs::write(&index, b"trailscope-values\x01garbage").unwrap();
        }
    }
    for filter in &lookups {
        let want = analysis::select(frame, &view(filter).compile(frame).unwrap()).unwrap();
        let (got, stats) = query::select(dir.path(), &view(filter)).unwrap();
        assert_eq!(ids(&got), ids(&want), "ids of [{filter}] without indexes");
        assert_eq!(
            stats.row_groups_ruled_out_by_values, 0,
            "[{filter}] {stats:?}"
        );
    }
    // Terms the index cannot answer read what the time and partitions leave.
    for filter in ["actor:*admin*", "-actor:alice", "actor~alice"] {
        let (_, stats) = query::select(dir.path(), &view(filter)).unwrap();
        assert_eq!(stats.row_groups_read, stats.row_groups, "[{filter}]");
    }
}

#[test]
fn the_cli_exports_and_queries_a_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    let sample = sample_logs();
    let sample_arg = sample.to_str().unwrap();
    let out = run(&["export", "--lake", lake_arg, sample_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    let loaded = load(&[&sample]).frame().height();
    assert!(
        stderr(&out).starts_with(&format!("wrote {loaded} events (0 skipped")),
        "{}",
        stderr(&out)
    );
    let again = run(&["export", "--lake", lake_arg, sample_arg]);
    assert!(
        stderr(&again).starts_with(&format!("wrote 0 events ({loaded} skipped")),
        "{}",
        stderr(&again)
    );
    for args in [
        vec![
            "query",
            "-f",
            "provider:aws outcome:failure",
            "--format",
            "csv",
        ],
        vec![
            "pivot",
            "--rows",
            "actor",
            "-f",
            "after:2024-03-18",
            "--format",
            "json",
        ],
        vec!["timeline", "-f", "provider:gcp", "--format", "csv"],
        // SQL over the events the filter selects.
        vec![
            "query",
            "--sql",
            "SELECT action, COUNT(*) AS n FROM events GROUP BY action ORDER BY n DESC, action",
            "-f",
            "provider:aws",
            "--format",
            "json",
        ],
    ] {
        let mut from_lake = args.clone();
        from_lake.extend(["--lake", lake_arg]);
        let mut from_logs = args.clone();
        from_logs.push(sample_arg);
        let (a, b) = (run(&from_lake), run(&from_logs));
        assert!(a.status.success(), "{}", stderr(&a));
        assert!(!stdout(&b).trim().is_empty(), "{args:?}");
        assert_eq!(stdout(&a), stdout(&b), "{args:?}");
    }
    // An invalid filter fails as it does over inputs, with a caret.
    let bad = run(&["query", "--lake", lake_arg, "-f", "(actor:a"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains('^'), "{}", stderr(&bad));
    // The summary of the lake gives each provider's events and time span, as loaded.
    let summary = run(&["summary", "--lake", lake_arg, "--format", "json"]);
    assert!(summary.status.success(), "{}", stderr(&summary));
    let json: serde_json::Value = serde_json::from_str(&stdout(&summary)).unwrap();
    let store = load(&[&sample]);
    let frame = store.frame();
    let providers = json["providers"].as_array().unwrap();
    let mut names: Vec<String> = Vec::new();
    for p in providers {
        let name = p["provider"].as_str().unwrap();
        names.push(name.to_string());
        let providers = frame
            .column(PROVIDER)
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        let times = frame.column(TIME).unwrap().cast(&DataType::Int64).unwrap();
        let mine: Vec<Option<i64>> = providers
            .str()
            .unwrap()
            .iter()
            .zip(times.i64().unwrap().iter())
            .filter(|(p, _)| *p == Some(name))
            .map(|(_, t)| t)
            .collect();
        let get = |c: &str| match c {
            "n" => Some(mine.len() as i64),
            "first" => mine.iter().flatten().min().copied(),
            _ => mine.iter().flatten().max().copied(),
        };
        assert_eq!(p["events"].as_i64(), get("n"), "{name}");
        assert_eq!(p["first"].as_i64(), get("first"), "{name}");
        assert_eq!(p["last"].as_i64(), get("last"), "{name}");
        assert!(p["bytes"].as_u64().unwrap() > 0, "{name}");
    }
    assert!(
        names.contains(&"aws".to_string()) && names.len() >= 5,
        "{names:?}"
    );
    assert_eq!(json["total"]["events"].as_i64(), Some(loaded as i64));
    let table = stdout(&run(&["summary", "--lake", lake_arg]));
    let all = table.lines().find(|l| l.starts_with("all ")).unwrap();
    assert!(
        all.contains(&trailscope::text::thousands(loaded as u64)),
        "{table}"
    );
}

#[test]
fn duckdb_reads_the_lake_with_hive_partitions() {
    let has_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_duckdb,
        "python3 with the duckdb module is needed (.ci/run installs it: pip install duckdb)"
    );
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    export(&store, dir.path());
    let script = format!(
        "import duckdb\n\
         q = \"SELECT provider, count(*), count(DISTINCT event_id), count(raw), \
         sum(CAST(strftime(time AT TIME ZONE 'UTC', '%Y-%m-%d') = CAST(date AS VARCHAR) AS INT)) \
         FROM read_parquet('{0}/**/*.parquet', hive_partitioning=true) GROUP BY provider ORDER BY provider\"\n\
         for r in duckdb.sql(q).fetchall(): print(*r)",
        dir.path().display()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frame = store.frame();
    let mut expected = String::new();
    let by_provider = frame
        .clone()
        .lazy()
        .group_by([col(PROVIDER).cast(DataType::String)])
        .agg([
            len().alias("n"),
            col(EVENT_ID).n_unique().alias("ids"),
            col(EVENT_ID).null_count().alias("no_id"),
        ])
        .sort([PROVIDER], SortMultipleOptions::default())
        .collect()
        .unwrap();
    for row in 0..by_provider.height() {
        let get = |c: &str| {
            by_provider
                .column(c)
                .unwrap()
                .get(row)
                .unwrap()
                .str_value()
                .to_string()
        };
        let n: u64 = get("n").parse().unwrap();
        let ids: u64 = get("ids").parse().unwrap();
        let no_id: u64 = get("no_id").parse().unwrap();
        // DuckDB's count(DISTINCT) leaves nulls out, Polars' n_unique counts null once.
        let distinct = ids - u64::from(no_id > 0);
        expected.push_str(&format!("{} {n} {distinct} {n} {n}\n", get(PROVIDER)));
    }
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}

#[test]
fn a_damaged_lake_file_is_named_in_the_error_and_nothing_panics() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    let sample = sample_logs();
    let out = run(&["export", "--lake", lake_arg, sample.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&lake)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    // One file cut short (no footer), one overwritten with text.
    let cut = files[0].clone();
    let bytes = fs::read(&cut).unwrap();
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    for args in [
        vec!["query", "--lake", lake_arg],
        vec!["pivot", "--lake", lake_arg, "--rows", "provider"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&cut.display().to_string()),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    let garbage = files[files.len() - 1].clone();
    fs::write(&garbage, "not parquet").unwrap();
    fs::write(&cut, &bytes).unwrap();
    let out = run(&["query", "--lake", lake_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&garbage.display().to_string()),
        "{}",
        stderr(&out)
    );
}
