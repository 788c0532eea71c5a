//! Bad input never panics: each bad record is skipped, counted, and reported with its file
//! and position, and loaded + duplicates + rejected = records seen.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::util::{load, rows};

/// A valid CloudTrail record with a given id and time.
fn ct(id: &str, time: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}},"eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.10","userAgent":"aws-cli/2.15.10","eventID":"{id}","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// (events, duplicates, rejected, reasons) of the only input.
fn outcome(store: &trailscope::store::FrameStore) -> (u64, u64, u64, Vec<String>) {
    let input = &store.inputs()[0];
    let reasons = input.rejections.iter().map(|r| r.to_string()).collect();
    (input.events, input.duplicates, input.rejected, reasons)
}

#[test]
fn malformed_json_lines_are_rejected_with_their_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n{{\"eventVersion\": \"1.09\", \"eventTime\": \n{}\nnot json at all\n",
        ct("e1", "2024-03-04T10:00:00Z"),
        ct("e2", "2024-03-04T10:01:00Z")
    );
    let path = write(dir.path(), "trail.ndjson", text.as_bytes());
    let store = load(&[&path]);
    let (events, dups, rejected, reasons) = outcome(&store);
    assert_eq!((events, dups, rejected), (2, 0, 2));
    assert!(reasons[0].contains("trail.ndjson:2 (byte "), "{reasons:?}");
    assert!(reasons[0].contains("invalid JSON"), "{reasons:?}");
    assert!(reasons[1].contains("trail.ndjson:4 (byte "), "{reasons:?}");
}

#[test]
fn a_truncated_json_array_keeps_the_complete_records() {
    let dir = tempfile::tempdir().unwrap();
    let full = format!(
        "[\n{},\n{},\n{}\n]\n",
        ct("a", "2024-03-04T10:00:00Z"),
        ct("b", "2024-03-04T10:00:01Z"),
        ct("c", "2024-03-04T10:00:02Z")
    );
    let cut = &full.as_bytes()[..full.len() - 60];
    let path = write(dir.path(), "cut.json", cut);
    let (events, _, rejected, reasons) = outcome(&load(&[&path]));
    assert_eq!((events, rejected), (2, 1));
    assert!(
        reasons[0].contains("cut.json:4 (byte") && reasons[0].contains("truncated JSON"),
        "{reasons:?}"
    );
}

#[test]
fn a_truncated_gzip_keeps_what_was_readable_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..400)
        .map(|i| ct(&format!("id{i}"), "2024-03-04T10:00:00Z") + "\n")
        .collect();
    let gz = gzip(text.as_bytes());
    let path = write(dir.path(), "trail.json.gz", &gz[..gz.len() / 2]);
    let (events, _, rejected, reasons) = outcome(&load(&[&path]));
    assert!(events > 50 && events < 400, "{events}");
    assert!(rejected >= 1);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("trail.json.gz") && r.contains("ends early")),
        "{reasons:?}"
    );
}

#[test]
fn a_corrupt_gzip_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..200)
        .map(|i| ct(&format!("id{i}"), "2024-03-04T10:00:00Z") + "\n")
        .collect();
    let mut gz = gzip(text.as_bytes());
    let middle = gz.len() / 2;
    for b in &mut gz[middle..middle + 40] {
        *b ^= 0x5a;
    }
    let path = write(dir.path(), "corrupt.gz", &gz);
    let other = write(
        dir.path(),
        "ok.ndjson",
        (ct("fine", "2024-03-04T11:00:00Z") + "\n").as_bytes(),
    );
    let store = load(&[&path, &other]);
    let corrupt = &store.inputs()[0];
    assert!(corrupt.rejected >= 1, "{corrupt:?}");
    assert!(
        corrupt
            .rejections
            .iter()
            .any(|r| r.location.path.ends_with("corrupt.gz"))
    );
    assert_eq!(store.inputs()[1].events, 1, "the next input still loads");
}

#[test]
fn binary_junk_empty_files_and_unknown_json_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(
        dir.path(),
        "junk.bin",
        &[0u8, 159, 146, 150, 1, 2, 3, 255, 254, 0, 7],
    );
    let empty = write(dir.path(), "empty.json", b"");
    let unknown = write(
        dir.path(),
        "finding.json",
        br#"{"notificationConfigName":"x","finding":{"state":"ACTIVE"}}"#,
    );
    let store = load(&[&junk, &empty, &unknown]);
    let inputs = store.inputs();
    assert_eq!((inputs[0].events, inputs[0].rejected), (0, 1));
    assert!(
        inputs[0].rejections[0]
            .reason
            .contains("unrecognized content"),
        "{:?}",
        inputs[0].rejections
    );
    assert_eq!(
        (
            inputs[1].events,
            inputs[1].rejected,
            inputs[1].shape.as_str()
        ),
        (0, 0, "empty")
    );
    assert_eq!(inputs[2].rejected, 1);
    assert!(
        inputs[2].rejections[0]
            .reason
            .contains("not a known audit record (keys: notificationConfigName, finding)")
    );
}

#[test]
fn non_utf8_bytes_reject_only_their_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = (ct("good", "2024-03-04T10:00:00Z") + "\n").into_bytes();
    let mut bad = ct("bad", "2024-03-04T10:00:01Z").into_bytes();
    let at = bad.iter().position(|b| *b == b'a').unwrap();
    bad[at] = 0xff;
    bytes.extend(bad);
    bytes.push(b'\n');
    let path = write(dir.path(), "latin1.ndjson", &bytes);
    let (events, _, rejected, reasons) = outcome(&load(&[&path]));
    assert_eq!((events, rejected), (1, 1));
    assert!(reasons[0].contains("latin1.ndjson:2"), "{reasons:?}");
}

#[test]
fn missing_paths_are_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let link = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("gone"), &link).unwrap();
    let store = load(&[&missing, &link]);
    assert_eq!(store.inputs().len(), 2);
    for input in store.inputs() {
        assert_eq!(input.rejected, 1);
        assert!(
            input.rejections[0].reason.contains("no such file"),
            "{input:?}"
        );
    }
}

#[test]
fn wrong_types_cost_a_field_and_missing_essentials_cost_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let odd = r#"{"eventVersion":1.09,"userIdentity":"alice","eventTime":"2024-03-04T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":["us-east-1"],"sourceIPAddress":12345,"eventID":"odd-1","readOnly":"true"}"#;
    let no_time = r#"{"eventVersion":"1.09","eventSource":"iam.amazonaws.com","eventName":"ListUsers","eventID":"no-time"}"#;
    let path = write(
        dir.path(),
        "odd.ndjson",
        format!("{odd}\n{no_time}\n").as_bytes(),
    );
    let store = load(&[&path]);
    let (events, _, rejected, reasons) = outcome(&store);
    assert_eq!((events, rejected), (1, 1), "{reasons:?}");
    assert!(
        reasons[0].contains("odd.ndjson:2") && reasons[0].contains("eventTime"),
        "{reasons:?}"
    );
    let row = &rows(store.frame())[0];
    assert_eq!(row["event_id"], "odd-1");
    assert_eq!(
        row["src_ip"], "12345",
        "a number where a string was is kept as text"
    );
    assert_eq!(row["region"], "", "an array where a string was is dropped");
}

#[test]
fn mixed_formats_in_one_directory_are_detected_per_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a-cloudtrail.json",
        format!("{{\"Records\":[{}]}}", ct("x", "2024-03-04T10:00:00Z")).as_bytes(),
    );
    write(
        dir.path(),
        "b-okta.json",
        br#"[{"uuid":"u-1","published":"2024-03-04T10:00:00.000Z","eventType":"user.session.start","actor":{"id":"00u1","type":"User","alternateId":"alice@example.com"},"outcome":{"result":"SUCCESS"},"client":{"ipAddress":"198.51.100.7"}}]"#,
    );
    write(
        dir.path(),
        "c-notes.txt",
        b"meeting notes\nnothing to see\n",
    );
    let store = crate::util::load_names(&[dir.path().display().to_string()]);
    let formats: Vec<_> = store
        .inputs()
        .iter()
        .map(|i| (i.format, i.events, i.rejected))
        .collect();
    assert_eq!(
        formats,
        vec![
            (Some("cloudtrail"), 1, 0),
            (Some("okta"), 1, 0),
            (None, 0, 1)
        ]
    );
}

#[test]
fn seen_always_equals_loaded_plus_duplicates_plus_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n{}\ngarbage\n{}\n",
        ct("1", "2024-03-04T10:00:00Z"),
        ct("1", "2024-03-04T10:00:00Z"),
        ct("2", "2024-03-04T10:00:01Z")
    );
    let path = write(dir.path(), "mix.ndjson", text.as_bytes());
    let store = load(&[&path]);
    let input = &store.inputs()[0];
    assert_eq!((input.events, input.duplicates, input.rejected), (2, 1, 1));
    assert_eq!(input.seen(), 4);
    assert_eq!(store.frame().height(), 2);
}

#[test]
fn a_pretty_printed_value_among_one_line_values_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&ct("e3", "2024-03-04T10:02:00Z")).unwrap(),
    )
    .unwrap();
    let text = format!(
        "{}\n{}\n{pretty}\n{}\n",
        ct("e1", "2024-03-04T10:00:00Z"),
        ct("e2", "2024-03-04T10:01:00Z"),
        ct("e4", "2024-03-04T10:03:00Z")
    );
    let path = write(dir.path(), "stream.json", text.as_bytes());
    let store = load(&[&path]);
    let (events, dups, rejected, reasons) = outcome(&store);
    assert_eq!((events, dups, rejected), (4, 0, 0), "{reasons:?}");
    let ids: Vec<String> = rows(store.frame())
        .iter()
        .map(|r| r["event_id"].clone())
        .collect();
    assert_eq!(ids, ["e1", "e2", "e3", "e4"]);
}

#[test]
fn a_text_file_with_commas_is_one_rejection_not_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "trail.ndjson",
        format!("{}\n", ct("e1", "2024-03-04T10:00:00Z")).as_bytes(),
    );
    write(
        dir.path(),
        "NOTES.md",
        b"# Notes, for the team\n\nWe exported these on Monday, then again on Tuesday.\nMore, lines, here\n",
    );
    let store = crate::util::load_names(&[dir.path().display().to_string()]);
    let (events, duplicates, rejected) = store.totals();
    assert_eq!((events, duplicates, rejected), (1, 0, 1));
    let notes = store
        .inputs()
        .iter()
        .find(|i| i.name.ends_with("NOTES.md"))
        .unwrap();
    assert_eq!(notes.rejected, 1);
    let reason = notes.rejections[0].to_string();
    assert!(reason.contains("NOTES.md:1"), "{reason}");
    assert!(reason.contains("not an audit log export"), "{reason}");
}

#[test]
fn broken_cloudtrail_records_name_the_byte_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let good = ct("good", "2024-03-04T10:00:00Z");
    // Each broken copy of the record, with the byte of the record where the damage is.
    let missing_comma = good.replacen(r#""type":"IAMUser","#, r#""type":"IAMUser" "#, 1);
    let comma_at = missing_comma.find(r#" "arn""#).unwrap() + 1;
    // An unread value cut short: the record ends inside it.
    let unclosed = format!(
        r#"{},"tlsDetails":{{"versions":[1,2}}"#,
        &good[..good.len() - 1]
    );
    let bad_escape = good.replacen("ListUsers", r"List\qUsers", 1);
    let trailing = format!("{good} }}");
    let lines = [
        good.clone(),
        missing_comma,
        unclosed,
        bad_escape,
        trailing,
        ct("good2", "2024-03-04T10:01:00Z"),
    ];
    let path = write(
        dir.path(),
        "trail.ndjson",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let (events, dups, rejected, reasons) = outcome(&load(&[&path]));
    assert_eq!((events, dups, rejected), (2, 0, 4), "{reasons:?}");
    let expected = [
        (
            2,
            format!(
                "invalid JSON at byte {comma_at} of the record: expected ',' or '}}' in an object"
            ),
        ),
        (3, "unterminated object or array".to_string()),
        (4, "invalid escape in a string".to_string()),
        (5, "trailing characters after the record".to_string()),
    ];
    for ((line, what), reason) in expected.iter().zip(&reasons) {
        assert!(
            reason.contains(&format!("trail.ndjson:{line} (byte ")),
            "{reason}"
        );
        assert!(reason.contains(what.as_str()), "{reason} lacks {what}");
    }
}
