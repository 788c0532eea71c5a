//! Loading behaviour across inputs: overlap, time order, appended loads, the way back to
//! the original record, and the bundled sample.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;

use crate::util::{load, load_names, rows, sample_logs};

fn ct(id: &str, time: &str, name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}},"eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.10","eventID":"{id}","eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
    )
}

#[test]
fn overlapping_exports_load_each_event_once_and_count_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let a = ct("a", "2024-03-04T10:00:00Z", "ListUsers");
    let b = ct("b", "2024-03-04T10:05:00Z", "CreateUser");
    let c = ct("c", "2024-03-04T10:10:00Z", "ListRoles");
    // The same hour delivered as an S3 object and exported again as NDJSON, gzipped.
    fs::write(
        dir.path().join("1-s3.json"),
        format!("{{\"Records\":[{a},{b}]}}"),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("{b}\n{c}\n{a}\n").as_bytes()).unwrap();
    fs::write(dir.path().join("2-export.ndjson.gz"), gz.finish().unwrap()).unwrap();
    let store = load_names(&[dir.path().display().to_string()]);
    let stats: Vec<_> = store
        .inputs()
        .iter()
        .map(|i| (i.events, i.duplicates))
        .collect();
    assert_eq!(stats, vec![(2, 0), (1, 2)]);
    let ids: Vec<String> = rows(store.frame())
        .iter()
        .map(|r| r["event_id"].clone())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[test]
fn same_id_with_different_content_is_not_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.ndjson");
    let text = format!(
        "{}\n{}\n",
        ct("same", "2024-03-04T10:00:00Z", "ListUsers"),
        ct("same", "2024-03-04T10:00:00Z", "DeleteUser")
    );
    fs::write(&path, text).unwrap();
    let store = load(&[&path]);
    assert_eq!(
        (store.inputs()[0].events, store.inputs()[0].duplicates),
        (2, 0)
    );
}

#[test]
fn events_from_many_files_merge_into_one_time_order() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("late.ndjson"),
        ct("late", "2024-03-05T00:00:00Z", "ListUsers") + "\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("mixed.json"),
        format!(
            "[{},{}]",
            ct("mid", "2024-03-04T12:00:00Z", "ListUsers"),
            ct("early", "2024-03-01T00:00:00Z", "ListUsers")
        ),
    )
    .unwrap();
    let store = load_names(&[dir.path().display().to_string()]);
    let ids: Vec<String> = rows(store.frame())
        .iter()
        .map(|r| r["event_id"].clone())
        .collect();
    assert_eq!(ids, ["early", "mid", "late"]);
}

#[test]
fn a_store_accepts_appended_loads_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.ndjson");
    let second = dir.path().join("second.ndjson");
    fs::write(
        &first,
        format!(
            "{}\n{}\n",
            ct("1", "2024-03-04T10:00:00Z", "A"),
            ct("3", "2024-03-04T12:00:00Z", "C")
        ),
    )
    .unwrap();
    fs::write(
        &second,
        format!(
            "{}\n{}\n",
            ct("2", "2024-03-04T11:00:00Z", "B"),
            ct("3", "2024-03-04T12:00:00Z", "C")
        ),
    )
    .unwrap();
    let mut store = load(&[&first]);
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    store
        .load_more(
            source::expand(&[second.display().to_string()]).inputs,
            options,
        )
        .unwrap();
    let ids: Vec<String> = rows(store.frame())
        .iter()
        .map(|r| r["event_id"].clone())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_eq!(store.inputs()[1].duplicates, 1);
    assert_eq!(store.totals(), (3, 1, 0));
}

fn raw_of(store: &trailscope::store::FrameStore, id: &str) -> String {
    let all = rows(store.frame());
    let row = all.iter().position(|r| r["event_id"] == id).unwrap();
    String::from_utf8(store.raw_record(store.frame(), row).unwrap()).unwrap()
}

#[test]
fn the_original_record_is_reachable_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let pretty = format!(
        "[\n  {},\n  {}\n]\n",
        ct("p1", "2024-03-04T10:00:00Z", "A"),
        ct("p2", "2024-03-04T10:00:01Z", "B")
    );
    let plain = dir.path().join("pretty.json");
    fs::write(&plain, &pretty).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        format!(
            "{}\r\n{}\r\n",
            ct("g1", "2024-03-04T11:00:00Z", "A"),
            ct("g2", "2024-03-04T11:00:01Z", "B")
        )
        .as_bytes(),
    )
    .unwrap();
    let packed = dir.path().join("lines.ndjson.gz");
    fs::write(&packed, gz.finish().unwrap()).unwrap();
    let store = load(&[&plain, &packed]);
    assert_eq!(raw_of(&store, "p2"), ct("p2", "2024-03-04T10:00:01Z", "B"));
    assert_eq!(raw_of(&store, "g2"), ct("g2", "2024-03-04T11:00:01Z", "B"));
}

#[test]
fn line_numbers_point_at_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.ndjson");
    fs::write(
        &path,
        format!(
            "\n{}\n\n{}\n",
            ct("l2", "2024-03-04T10:00:00Z", "A"),
            ct("l4", "2024-03-04T10:00:01Z", "B")
        ),
    )
    .unwrap();
    let store = load(&[&path]);
    let lines: Vec<String> = rows(store.frame())
        .iter()
        .map(|r| r["raw_line"].clone())
        .collect();
    assert_eq!(lines, ["2", "4"]);
}

/// The generator kept in the repository reproduces the bundled sample byte for byte.
#[test]
fn bundled_sample_is_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    trailscope::synth::write(trailscope::synth::Kind::Sample, dir.path(), 0, 7).unwrap();
    let mut generated = list(dir.path());
    let mut bundled = list(&sample_logs());
    generated.sort();
    bundled.sort();
    assert_eq!(
        generated.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        bundled.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in generated.iter().zip(&bundled) {
        assert!(
            a == b,
            "{name} differs from the generator's output: run `trailscope synth sample --out sample-logs`"
        );
    }
}

fn list(root: &Path) -> Vec<(String, Vec<u8>)> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type().is_file() && !e.file_name().to_string_lossy().starts_with("README")
        })
        .map(|e| {
            (
                e.path().strip_prefix(root).unwrap().display().to_string(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A snapshot (what the TUI hands to a report on another thread) holds the same events,
/// counts and way back to every original record as the store it was taken from.
#[test]
fn a_snapshot_has_the_stores_events_counts_and_records() {
    let dir = sample_logs();
    let store = load(&[dir.as_path()]);
    let snapshot = store.snapshot();
    assert!(snapshot.frame().equals_missing(store.frame()));
    assert_eq!(snapshot.totals(), store.totals());
    assert_eq!(snapshot.inputs().len(), store.inputs().len());
    let frame = snapshot.frame();
    for row in [0, frame.height() / 2, frame.height() - 1] {
        assert_eq!(
            snapshot.raw_record(frame, row).unwrap(),
            store.raw_record(store.frame(), row).unwrap()
        );
    }
}
