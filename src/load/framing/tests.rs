//! Framing tests: every container shape, and damaged input.
use super::*;

fn frame_all(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    let mut framer = Framer::new("t", Box::new(io::Cursor::new(bytes.to_vec())));
    let (mut records, mut rejected) = (Vec::new(), Vec::new());
    while let Some(item) = framer.next_chunk() {
        match item {
            Framed::Chunk(chunk) => match &chunk.records {
                Records::Lines => {
                    for line in chunk.data.split(|b| *b == b'\n') {
                        let line = String::from_utf8_lossy(line).trim().to_string();
                        if !line.is_empty() {
                            records.push(line);
                        }
                    }
                }
                Records::Spans(spans) => {
                    for s in spans {
                        records.push(
                            String::from_utf8_lossy(&chunk.data[s.start..s.start + s.len]).into(),
                        );
                    }
                }
                Records::Csv(_) => records.push(String::from_utf8_lossy(&chunk.data).into()),
            },
            Framed::Rejected(r) => rejected.push(r.to_string()),
        }
    }
    (records, rejected)
}

#[test]
fn ndjson_lines_are_framed_with_or_without_a_final_newline() {
    let (records, rejected) = frame_all(b"{\"a\":1}\r\n{\"b\":2}\n\n{\"c\":3}");
    assert_eq!(records, vec!["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
    assert!(rejected.is_empty());
}

#[test]
fn wrapper_objects_yield_their_elements() {
    let input = br#"{"Records":[{"eventID":"1","x":"},{"},{"eventID":"2"}]}"#;
    let (records, rejected) = frame_all(input);
    assert_eq!(
        records,
        vec![r#"{"eventID":"1","x":"},{"}"#, r#"{"eventID":"2"}"#]
    );
    assert!(rejected.is_empty());
}

#[test]
fn wrapper_key_may_follow_other_keys() {
    let input = br#"{"messageType":"DATA_MESSAGE","owner":"1","logEvents":[{"id":"a"},{"id":"b"}],"tail":[1]}"#;
    let (records, _) = frame_all(input);
    assert_eq!(records, vec![r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
}

#[test]
fn arrays_and_concatenated_pretty_values_are_framed() {
    let input =
        b"[\n  {\"a\": [1, {\"b\": \"]\"}]},\n  {\"c\": \"\\\"\"}\n]\n{\n \"d\": 1\n}{\"e\":2}";
    let (records, rejected) = frame_all(input);
    assert_eq!(records.len(), 4, "{records:?}");
    assert_eq!(records[1], "{\"c\": \"\\\"\"}");
    assert!(rejected.is_empty());
}

#[test]
fn truncated_values_are_rejected_with_their_line() {
    let input = b"[\n{\"a\":1},\n{\"b\": \"unfinished";
    let (records, rejected) = frame_all(input);
    assert_eq!(records, vec!["{\"a\":1}"]);
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].starts_with("t:3 (byte 11): truncated JSON"),
        "{rejected:?}"
    );
}

#[test]
fn garbage_between_values_is_reported_and_skipped() {
    let input = b"{\"a\":1}\nnot json at all\n{\"b\":2}\n{\"c\":3}\n";
    let (records, rejected) = frame_all(input);
    assert_eq!(
        records,
        vec!["{\"a\":1}", "not json at all", "{\"b\":2}", "{\"c\":3}"]
    );
    assert_eq!(
        rejected.len(),
        0,
        "line framing leaves bad lines to the parser"
    );
    let pretty = b"{\n\"a\":1\n}\nxx\n{\"b\":2}";
    let (records, rejected) = frame_all(pretty);
    assert_eq!(records.len(), 2);
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].contains("t:4"), "{rejected:?}");
}

#[test]
fn values_larger_than_a_read_are_reassembled() {
    let big = "x".repeat(CHUNK_TARGET + 10);
    let input = format!("[{{\"a\":\"{big}\"}},{{\"b\":1}}]");
    let (records, rejected) = frame_all(input.as_bytes());
    assert_eq!(records.len(), 2);
    assert!(rejected.is_empty());
}

#[test]
fn csv_records_with_quoted_newlines_stay_whole() {
    let input = b"A,B\r\n1,\"{\r\n \"\"x\"\": 1\r\n}\"\r\n2,3\r\n";
    let mut framer = Framer::new("t", Box::new(io::Cursor::new(input.to_vec())));
    let mut rows = 0;
    while let Some(item) = framer.next_chunk() {
        if let Framed::Chunk(chunk) = item {
            let Records::Csv(header) = &chunk.records else {
                panic!("not csv")
            };
            assert_eq!(header.get(0), Some("A"));
            assert_eq!(chunk.line, 2);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(&chunk.data[..]);
            rows += reader.records().count();
        }
    }
    assert_eq!(rows, 2);
}

/// Records of inputs spanning several chunks, framed with buffers recycled the way ingest
/// does: each record once, and its offset and line point at it in the input.
#[test]
fn records_across_recycled_chunk_buffers_keep_their_place() {
    let record = |i: usize| format!(r#"{{"id":{i},"pad":"{}"}}"#, "p".repeat(i % 700));
    let count = 3 * CHUNK_TARGET / 400;
    let lines: String = (0..count).map(|i| record(i) + "\n").collect();
    let wrapped = format!(
        "{{\"Records\":[\n{}\n]}}",
        (0..count).map(record).collect::<Vec<_>>().join(",\n")
    );
    let pool = Arc::new(BufferPool::default());
    for input in [lines, wrapped] {
        let bytes = input.as_bytes();
        let newlines: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'\n').collect();
        let mut framer = Framer::with_pool(
            "t",
            Box::new(io::Cursor::new(bytes.to_vec())),
            Arc::clone(&pool),
        );
        let mut seen = Vec::new();
        let mut chunks = 0;
        while let Some(item) = framer.next_chunk() {
            let Framed::Chunk(chunk) = item else {
                panic!("rejected: {item:?}");
            };
            chunks += 1;
            let spans: Vec<Span> = match &chunk.records {
                Records::Spans(spans) => spans.clone(),
                _ => {
                    let mut at = 0;
                    let mut out = Vec::new();
                    for (line, l) in (chunk.line..).zip(chunk.data.split(|b| *b == b'\n')) {
                        if !l.is_empty() {
                            out.push(Span {
                                start: at,
                                len: l.len(),
                                line,
                            });
                        }
                        at += l.len() + 1;
                    }
                    out
                }
            };
            for s in spans {
                let at = chunk.offset as usize + s.start;
                let text = &chunk.data[s.start..s.start + s.len];
                assert_eq!(
                    &bytes[at..at + s.len],
                    text,
                    "offset of record {}",
                    seen.len()
                );
                let line = 1 + newlines.partition_point(|&n| n < at) as u64;
                assert_eq!(s.line, line, "line of record {}", seen.len());
                seen.push(String::from_utf8_lossy(text).into_owned());
            }
            pool.give(chunk.data);
        }
        assert!(chunks >= 3, "{chunks} chunks");
        assert_eq!(seen, (0..count).map(record).collect::<Vec<_>>());
    }
}

/// Frames `bytes`, returning the records and how many array separators were missing.
fn frame_counting(bytes: &[u8]) -> (Vec<String>, u64) {
    let mut framer = Framer::new("t", Box::new(io::Cursor::new(bytes.to_vec())));
    let mut records = Vec::new();
    while let Some(item) = framer.next_chunk() {
        if let Framed::Chunk(chunk) = item {
            for (_, record, _) in chunk.json_records() {
                records.push(String::from_utf8_lossy(record).into_owned());
            }
        }
    }
    (records, framer.missing_separators())
}

#[test]
fn search_responses_yield_their_hits_and_other_hits_keys_stay_records() {
    let response = br#"{"took":3,"hits":{"total":{"value":2},"max_score":1,"hits":[{"_id":"a","_source":{"x":1}},{"_id":"b","_source":{"x":2}}]}}"#;
    let (records, _) = frame_counting(response);
    assert_eq!(
        records,
        [
            r#"{"_id":"a","_source":{"x":1}}"#,
            r#"{"_id":"b","_source":{"x":2}}"#
        ]
    );
    // A record that merely has a `hits` object is a record.
    let record = br#"{"eventName":"x","hits":{"count":3,"last":"y"}}"#;
    assert_eq!(frame_counting(record).0, [String::from_utf8_lossy(record)]);
}

#[test]
fn lake_result_rows_are_records() {
    let results = br#"{"QueryStatus":"FINISHED","QueryResultRows":[[{"eventJson":"{}"}],[{"eventName":"X"},{"eventTime":"t"}]]}"#;
    let (records, missing) = frame_counting(results);
    assert_eq!(
        records,
        [
            r#"[{"eventJson":"{}"}]"#,
            r#"[{"eventName":"X"},{"eventTime":"t"}]"#
        ]
    );
    assert_eq!(missing, 0);
}

#[test]
fn missing_separators_in_arrays_are_counted_and_concatenated_values_are_not() {
    let (records, missing) = frame_counting(b"[{\"a\":1}{\"b\":2},{\"c\":3}\n{\"d\":4}]");
    assert_eq!(records.len(), 4);
    assert_eq!(missing, 2);
    let (records, missing) = frame_counting(b"{\"Records\":[{\"a\":1}{\"b\":2}]}");
    assert_eq!((records.len(), missing), (2, 1));
    // Values one after the other at the top level need no separator.
    let (records, missing) = frame_counting(b"{\"a\":1}{\"b\":2}\n[{\"c\":3}][{\"d\":4}]");
    assert_eq!((records.len(), missing), (4, 0));
}

#[test]
fn a_cloud_logging_entries_page_yields_its_entries() {
    // `entries.list` of the Cloud Logging API: the LogEntry objects, then the page token.
    let input = br#"{"entries":[{"insertId":"a","protoPayload":{"methodName":"m"}},{"insertId":"b"}],"nextPageToken":"EAA4"}"#;
    let (records, rejected) = frame_all(input);
    assert_eq!(
        records,
        vec![
            r#"{"insertId":"a","protoPayload":{"methodName":"m"}}"#,
            r#"{"insertId":"b"}"#
        ]
    );
    assert!(rejected.is_empty());
}
