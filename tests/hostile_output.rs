//! Issue 13, the headless half: log values and arguments that try to drive the terminal,
//! time spans that would make a bucketed analysis allocate without bound, closed pipes, and
//! command-line values that clap used to refuse or misread.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::util::{run, sample_logs, stderr, stdout};

/// A log value that would set the terminal's (and tmux's) window title, ring the bell, start
/// a C1 control sequence, back over a character, return the carriage and start a new line.
const HOSTILE: &str = "evil\u{1b}]0;PWNED\u{7}\u{9b}31m\u{8}\r\nX";

/// How [`HOSTILE`] shows once escaped; its presence proves the value reached the output.
const HOSTILE_SHOWN: &str = "\\e]0;PWNED";

/// One CloudTrail record as a line of NDJSON.
fn cloudtrail(id: &str, time: &str, actor: &str, action: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": format!("arn:aws:iam::111122223333:user/{actor}"),
            "accountId": "111122223333",
            "userName": actor,
        },
        "eventTime": time,
        "eventSource": "iam.amazonaws.com",
        "eventName": action,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "eventID": id,
        "eventType": "AwsApiCall",
        "readOnly": false,
    })
    .to_string()
}

/// Writes `lines` as one NDJSON file in a new temporary directory.
fn write_log(name: &str, lines: &[String]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (dir, path)
}

/// Events whose actor and action are [`HOSTILE`], beside ordinary ones.
fn hostile_log() -> (tempfile::TempDir, PathBuf) {
    let mut lines = Vec::new();
    for i in 0..3 {
        lines.push(cloudtrail(
            &format!("hostile-{i}"),
            &format!("2024-03-04T10:0{i}:00Z"),
            HOSTILE,
            HOSTILE,
        ));
        lines.push(cloudtrail(
            &format!("plain-{i}"),
            &format!("2024-03-04T11:0{i}:00Z"),
            "alice",
            "CreateUser",
        ));
    }
    write_log("hostile.ndjson", &lines)
}

/// Fails when `bytes` hold a character that can drive a terminal: any C0 control but the
/// line feed that ends a line, DEL, a C1 control, or ESC in particular.
#[track_caller]
fn assert_terminal_safe(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    let raw: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        raw.is_empty(),
        "{what} holds raw control characters {raw:?}:\n{}",
        text.escape_debug()
    );
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn summary_prints_hostile_top_actions_escaped() {
    let (_dir, log) = hostile_log();
    let out = run(&["summary", &arg(&log)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_terminal_safe(&out.stdout, "summary stdout");
    assert_terminal_safe(&out.stderr, "summary stderr");
    let top = stdout(&out)
        .lines()
        .find(|l| l.starts_with("top actions:"))
        .unwrap_or_default()
        .to_string();
    assert!(top.contains(HOSTILE_SHOWN), "top actions: {top}");
}

#[test]
fn pivot_column_headers_from_log_values_are_escaped() {
    let (_dir, log) = hostile_log();
    let out = run(&[
        "pivot",
        &arg(&log),
        "--rows",
        "provider",
        "--cols",
        "action",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_terminal_safe(&out.stdout, "pivot stdout");
    assert_terminal_safe(&out.stderr, "pivot stderr");
    let header = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert!(header.contains(HOSTILE_SHOWN), "header: {header}");
}

#[test]
fn timeline_lane_headers_from_log_values_are_escaped() {
    let (_dir, log) = hostile_log();
    for by in ["actor", "action"] {
        let out = run(&["timeline", &arg(&log), "--by", by]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_terminal_safe(&out.stdout, "timeline stdout");
        assert_terminal_safe(&out.stderr, "timeline stderr");
        let header = stdout(&out).lines().next().unwrap_or_default().to_string();
        assert!(header.contains(HOSTILE_SHOWN), "--by {by} header: {header}");
    }
}

#[test]
fn query_headers_named_by_sql_aliases_are_escaped() {
    let (_dir, log) = hostile_log();
    let sql = format!("SELECT action AS \"{HOSTILE}\" FROM events");
    let out = run(&["query", &arg(&log), "--sql", &sql]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_terminal_safe(&out.stdout, "query stdout");
    assert!(stdout(&out).contains(HOSTILE_SHOWN), "{}", stdout(&out));
}

#[test]
fn sql_errors_echoing_aliases_and_values_are_escaped() {
    let (_dir, log) = hostile_log();
    for sql in [
        // Polars names the column it could not find.
        format!("SELECT \"{HOSTILE}\" FROM events"),
        // ... and the values it could not convert.
        "SELECT CAST(CAST(action AS VARCHAR) AS INT) AS n FROM events".to_string(),
    ] {
        let out = run(&["query", &arg(&log), "--sql", &sql]);
        assert_eq!(out.status.code(), Some(2), "{sql}: {}", stderr(&out));
        assert_terminal_safe(&out.stderr, &format!("stderr of {sql:?}"));
        let err = stderr(&out);
        let line = err.lines().last().unwrap_or_default();
        assert!(line.starts_with("trailscope: SQL"), "{err}");
        assert!(line.contains("PWNED"), "{sql}: {err}");
    }
}

#[test]
fn hostile_arguments_are_escaped_in_errors() {
    let sample = arg(&sample_logs());
    let zone = "\u{1b}[31mX";
    let out = run(&["summary", &sample, "--tz", zone]);
    assert_eq!(out.status.code(), Some(2));
    assert_terminal_safe(&out.stderr, "--tz error");
    assert!(stderr(&out).contains("\\e[31mX"), "{}", stderr(&out));

    // An invalid filter is shown escaped, and the caret stays under the problem.
    let filter = "actor:\"\u{1b}]0;PWNED\u{7}\" and (";
    let out = run(&["query", &sample, "--filter", filter]);
    assert_eq!(out.status.code(), Some(2));
    assert_terminal_safe(&out.stderr, "filter error");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "message, filter, caret: {err}");
    assert!(lines[1].contains(HOSTILE_SHOWN), "{err}");
    assert_eq!(lines[2].find('^'), lines[1].rfind('('), "{err}");

    // clap echoes what it refuses.
    let out = run(&["summary", &sample, "--no-such-flag\u{1b}]0;PWNED\u{7}"]);
    assert_eq!(out.status.code(), Some(2));
    assert_terminal_safe(&out.stderr, "usage error");
    assert!(stderr(&out).contains(HOSTILE_SHOWN), "{}", stderr(&out));

    // An input path is echoed when it cannot be read.
    let out = run(&["summary", "/nonexistent/\u{1b}]0;PWNED\u{7}.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_terminal_safe(&out.stdout, "missing path stdout");
    assert_terminal_safe(&out.stderr, "missing path stderr");
}

/// Runs a timeline as JSON and returns it with standard error.
fn timeline_json(args: &[&str]) -> (serde_json::Value, String) {
    let mut all = vec!["timeline"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = run(&all);
    assert!(out.status.success(), "{}", stderr(&out));
    let json = serde_json::from_str(&stdout(&out)).unwrap();
    (json, stderr(&out))
}

#[test]
fn a_timeline_over_decades_in_minutes_widens_its_bucket() {
    let (_dir, log) = write_log(
        "decades.ndjson",
        &[
            cloudtrail("old", "1970-01-02T00:00:00Z", "alice", "GetUser"),
            cloudtrail("new", "2024-03-04T10:00:00Z", "alice", "GetUser"),
        ],
    );
    let (json, err) = timeline_json(&[&arg(&log), "--bucket", "1m"]);
    let starts = json["starts"].as_array().unwrap().len();
    assert!(
        (2..=trailscope::analysis::MAX_TIMELINE_BUCKETS).contains(&starts),
        "{starts} buckets"
    );
    assert_eq!(json["widened"]["requested"], "1m", "{json}");
    assert_eq!(
        json["widened"]["limit"],
        trailscope::analysis::MAX_TIMELINE_BUCKETS
    );
    let lane = &json["lanes"][0]["counts"];
    assert_eq!(lane.as_array().unwrap().len(), starts);
    assert_eq!(json["totals"].as_array().unwrap().len(), starts);
    assert!(
        err.contains("bucket 1m would make") && err.contains("1970-01-02"),
        "a note names the span and the bucket: {err}"
    );
    assert!(err.contains(&format!(
        "so the bucket is {}",
        json["bucket"].as_str().unwrap()
    )));

    // The table says the same in as many lines (a header and one per bucket).
    let out = run(&["timeline", &arg(&log), "--bucket", "1m"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), starts + 1);
    assert!(stderr(&out).contains("would make"), "{}", stderr(&out));
}

#[test]
fn a_timeline_of_the_sample_in_seconds_widens_its_bucket() {
    let sample = arg(&sample_logs());
    let (json, err) = timeline_json(&[&sample, "--bucket", "1s"]);
    let starts = json["starts"].as_array().unwrap().len();
    assert!(
        starts <= trailscope::analysis::MAX_TIMELINE_BUCKETS,
        "{starts}"
    );
    assert_eq!(json["widened"]["requested"], "1s", "{json}");
    assert!(err.contains("bucket 1s would make"), "{err}");
    // A bucket that fits is kept, without a note.
    let (json, err) = timeline_json(&[&sample, "--bucket", "1h"]);
    assert_eq!(json["bucket"], "1h");
    assert!(json.get("widened").is_none(), "{json}");
    assert!(err.is_empty(), "{err}");
}

/// Spawns the binary with its output on a pipe the test closes after reading `keep` bytes
/// (0: before the binary writes anything); returns how the process ended.
fn with_closed_pipe(args: &[&str], keep: usize) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .env_remove("TRAILSCOPE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent-trailscope-test")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut kept = vec![0u8; keep];
    stdout.read_exact(&mut kept).unwrap();
    drop(stdout);
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_exits_0_for_every_command_and_format() {
    let sample = arg(&sample_logs());
    let s = sample.as_str();
    let commands: Vec<Vec<&str>> = vec![
        vec!["summary", s, "--format", "table"],
        vec!["summary", s, "--format", "json"],
        vec!["pivot", s, "--rows", "actor", "--cols", "action"],
        vec!["timeline", s, "--bucket", "1h"],
        vec!["detect", s, "--format", "table"],
        vec!["detect", s, "--format", "json"],
        vec!["detect", s, "--format", "jsonl"],
    ];
    let mut runs: Vec<(Vec<&str>, usize)> = commands.into_iter().map(|c| (c, 0)).collect();
    for format in ["table", "csv", "json", "ndjson"] {
        // `| head -2`: the query's output is megabytes, so the pipe closes mid-stream.
        runs.push((vec!["query", s, "--format", format], 200));
        runs.push((vec!["pivot", s, "--rows", "actor", "--format", format], 0));
        runs.push((vec!["timeline", s, "--bucket", "1h", "--format", format], 0));
    }
    for (args, keep) in runs {
        let out = with_closed_pipe(&args, keep);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} after {keep} bytes: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("Broken pipe"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_filter_may_start_with_the_negation() {
    let sample = arg(&sample_logs());
    let spaced = run(&[
        "query",
        &sample,
        "--filter",
        "-read_only outcome:failure",
        "--format",
        "ndjson",
    ]);
    assert!(spaced.status.success(), "{}", stderr(&spaced));
    let joined = run(&[
        "query",
        &sample,
        "--filter=-read_only outcome:failure",
        "--format",
        "ndjson",
    ]);
    assert!(joined.status.success(), "{}", stderr(&joined));
    assert!(!stdout(&spaced).is_empty());
    assert_eq!(stdout(&spaced), stdout(&joined));
    for command in ["pivot", "timeline"] {
        let mut args = vec![command, &sample, "-f", "-read_only"];
        if command == "pivot" {
            args.extend_from_slice(&["--rows", "actor"]);
        }
        let out = run(&args);
        assert!(out.status.success(), "{command}: {}", stderr(&out));
    }
    // SQL may start with a comment.
    let out = run(&[
        "query",
        &sample,
        "--sql",
        "-- how many\nSELECT count(*) AS n FROM events",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn format_is_never_the_input_format() {
    let sample = arg(&sample_logs());
    // At the top level `--format` used to mean `--input-format`.
    let out = run(&["--format", "json", &sample]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(!err.contains("unknown input format"), "{err}");
    assert!(err.contains("--format"), "{err}");
    // A mistyped command: the paths swallow it, and `--format` is refused as such.
    let out = run(&["summry", &sample, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !stderr(&out).contains("unknown input format"),
        "{}",
        stderr(&out)
    );
    // `--input-format` still names the input's format, and a wrong one lists the valid ones.
    let out = run(&["--input-format", "json", &sample]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown input format 'json'"), "{err}");
    assert!(err.contains("cloudtrail") && err.contains("okta"), "{err}");
}

#[test]
fn thread_counts_are_bounded() {
    let sample = arg(&sample_logs());
    let out = run(&["summary", &sample, "--threads", "100000"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("--threads") && err.contains("256"), "{err}");
    let out = run(&["summary", &sample, "--threads", "256", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A frame of events at these instants (UTC microseconds), all with the same resource.
fn frame_at(times: &[i64]) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    let time = Int64Chunked::from_slice("time".into(), times)
        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
        .into_column();
    let resource =
        StringChunked::from_iter_values("resource".into(), times.iter().map(|_| "r")).into_column();
    DataFrame::new(times.len(), vec![time, resource]).unwrap()
}

const MINUTE: i64 = 60_000_000;
/// 0000-01-01T00:00:00Z.
const YEAR_0: i64 = -62_167_219_200_000_000;
/// 2024-03-04T10:00:00Z.
const MARCH_2024: i64 = 1_709_546_400_000_000;

fn spec(bucket: Option<i64>, tz: &str) -> trailscope::analysis::TimelineSpec {
    trailscope::analysis::TimelineSpec {
        by: "resource".into(),
        bucket,
        tz: jiff::tz::TimeZone::get(tz).unwrap(),
        top: 10,
    }
}

#[test]
fn timelines_stay_within_the_bucket_limit_at_any_span() {
    use trailscope::analysis::{self, MAX_TIMELINE_BUCKETS};
    // Year 0 beside 2024 once made the timeline allocate 1.2 TB; the ends of i64 are the
    // worst any loader could let through.
    let spans = [
        vec![YEAR_0, MARCH_2024],
        vec![0, MARCH_2024],
        vec![i64::MIN + 1, i64::MAX - 1],
        vec![-MINUTE, MINUTE],
    ];
    for times in &spans {
        for bucket in [Some(1_000_000), Some(MINUTE), None] {
            for tz in ["UTC", "Europe/Berlin", "Pacific/Kiritimati"] {
                let frame = frame_at(times);
                let timeline = match analysis::timeline(&frame, &spec(bucket, tz)) {
                    Ok(t) => t,
                    // Refusing is allowed at the ends of i64, allocating is not.
                    Err(err) if times[0] == i64::MIN + 1 => {
                        assert!(err.to_string().contains("buckets"), "{err}");
                        continue;
                    }
                    Err(err) => panic!("{times:?} {bucket:?} {tz}: {err}"),
                };
                let n = timeline.starts.len();
                assert!(n <= MAX_TIMELINE_BUCKETS, "{times:?} {bucket:?} {tz}: {n}");
                assert_eq!(timeline.totals.iter().sum::<u64>(), times.len() as u64);
                assert!(timeline.lanes.iter().all(|l| l.counts.len() == n));
                match bucket {
                    Some(b) if b != timeline.bucket => {
                        assert!(timeline.bucket > b);
                        let note = timeline.widening_note().unwrap();
                        assert!(note.contains("would make"), "{note}");
                    }
                    _ => assert!(timeline.widened.is_none()),
                }
            }
        }
    }
}

#[test]
fn many_lanes_share_the_count_budget() {
    use polars::prelude::*;
    use trailscope::analysis::{self, MAX_TIMELINE_CELLS};
    // 2,000 resources over a day, each once a minute or so.
    let times: Vec<i64> = (0..2_000)
        .map(|i| MARCH_2024 + i * 43 * 1_000_000)
        .collect();
    let time = Int64Chunked::from_slice("time".into(), &times)
        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
        .into_column();
    let resource = StringChunked::from_iter_values(
        "resource".into(),
        (0..times.len()).map(|i| format!("r{i}")),
    )
    .into_column();
    let frame = DataFrame::new(times.len(), vec![time, resource]).unwrap();
    let mut wide = spec(Some(MINUTE), "UTC");
    wide.top = 5_000;
    let timeline = analysis::timeline(&frame, &wide).unwrap();
    let cells = timeline.starts.len() * (timeline.lanes.len() + 1);
    assert!(cells <= MAX_TIMELINE_CELLS, "{cells} counts");
    assert!(timeline.bucket > MINUTE && timeline.widened.is_some());
}

#[test]
fn bucket_sizes_widen_to_the_smallest_that_fits() {
    use trailscope::analysis::{auto_bucket, bucket_count, bucket_label, widen_bucket};
    use trailscope::time::parse_duration;
    let day = 24 * 60 * MINUTE;
    // A bucket that fits is kept as asked for.
    assert_eq!(widen_bucket(0, day, MINUTE, 10_000), MINUTE);
    // A day in seconds (86,400) widens to 10 s (8,640).
    assert_eq!(widen_bucket(0, day - 1, 1_000_000, 10_000), 10_000_000);
    // Decades in minutes widen past the named sizes to whole years at most.
    let b = widen_bucket(0, MARCH_2024, MINUTE, 10_000);
    assert!(
        bucket_count(0, MARCH_2024, b) <= 10_000,
        "{}",
        bucket_label(b)
    );
    assert_eq!(bucket_label(b), "7d");
    // The whole of i64 fits, in whole years.
    let b = widen_bucket(i64::MIN, i64::MAX, MINUTE, 10_000);
    assert!(bucket_count(i64::MIN, i64::MAX, b) <= 10_000);
    assert!(bucket_label(b).ends_with('d'), "{}", bucket_label(b));
    // Automatic buckets: unchanged for ordinary spans, whole years past 365 days.
    assert_eq!(auto_bucket(0, day, 60), 30 * MINUTE);
    let b = auto_bucket(i64::MIN, i64::MAX, 60);
    assert!(
        bucket_count(i64::MIN, i64::MAX, b) <= 61,
        "{}",
        bucket_label(b)
    );
    // A duration past what microseconds hold is refused, not wrapped around.
    assert!(parse_duration("99999999999999w").is_err());
    assert_eq!(parse_duration("2d").unwrap(), 2 * day);
}
