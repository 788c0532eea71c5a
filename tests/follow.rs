//! Following growing inputs with `trailscope tail`: every event exactly once, in order per
//! file, through partial lines, rotation by rename and by copy and truncation, new plain
//! and gzipped files in subdirectories, a slow gzip writer, polling, and a restart with
//! `--state`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One Kubernetes audit event, identified by `writer-n`.
fn k8s_line(writer: &str, n: usize) -> String {
    let secs = 1_709_510_400 + n as i64;
    let t = jiff::Timestamp::from_second(secs).unwrap();
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{writer}-{n}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods","verb":"get","user":{{"username":"alice@example.com","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.9"],"objectRef":{{"resource":"pods","namespace":"shop","name":"p{n}","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{t}","stageTimestamp":"{t}"}}"#
    ) + "\n"
}

/// A CloudTrail delivery file of events `from..to` of `writer`, gzipped.
fn cloudtrail_gz(writer: &str, range: std::ops::Range<usize>) -> Vec<u8> {
    let records: Vec<String> = range
        .map(|n| {
            let t = jiff::Timestamp::from_second(1_709_510_400 + n as i64).unwrap();
            format!(
                r#"{{"eventVersion":"1.09","eventTime":"{t}","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","userName":"bob"}},"eventID":"{writer}-{n}","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
            )
        })
        .collect();
    let body = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// A running `trailscope tail`, its standard output collected line by line.
struct Tail {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Tail {
    fn start(args: &[&str]) -> Tail {
        let mut child = crate::util::trailscope()
            .arg("tail")
            .args(["--format", "ndjson", "--reorder-window", "0s"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start trailscope tail");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Tail {
            child,
            lines,
            stderr,
        }
    }

    fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Waits until `n` events were printed (or fails after `limit`, saying what it saw).
    fn wait_for(&self, n: usize, limit: Duration) {
        let start = Instant::now();
        while self.count() < n {
            assert!(
                start.elapsed() < limit,
                "printed {} of {n} events in {limit:?}; stderr: {:?}",
                self.count(),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the loader said it is following (the initial load is done).
    fn wait_following(&self) {
        let start = Instant::now();
        while !self
            .stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("following"))
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never started following"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it as systemd would (SIGTERM) and returns the event ids it printed.
    fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "tail ended with {status}");
        // The reader threads see the end of the pipes.
        std::thread::sleep(Duration::from_millis(100));
        self.ids()
    }

    fn ids(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| {
                let v: serde_json::Value =
                    serde_json::from_str(l).expect("one JSON object per line");
                // Findings (with --findings) have no event id.
                v["event_id"].as_str().map(str::to_string)
            })
            .collect()
    }
}

/// Appends text to a file in irregular pieces, cutting lines in the middle and pausing, so
/// the follower meets partial lines.
fn append_irregular(path: &Path, text: &str, seed: &mut u64) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let piece = 1 + (*seed >> 33) as usize % 20_000;
        let end = (at + piece).min(bytes.len());
        file.write_all(&bytes[at..end]).unwrap();
        file.flush().unwrap();
        at = end;
        if (*seed >> 20).is_multiple_of(7) {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
}

/// Asserts every expected id was printed exactly once, in order per writer.
fn assert_exactly_once_in_order(printed: &[String], expected: &HashMap<String, usize>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for id in printed {
        *seen.entry(id).or_default() += 1;
        let (writer, n) = id.rsplit_once('-').unwrap();
        let n: usize = n.parse().unwrap();
        if let Some(prev) = last.insert(writer, n) {
            assert!(n > prev, "{writer}: event {n} printed after {prev}");
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).take(5).collect();
    assert!(twice.is_empty(), "printed more than once: {twice:?}");
    for (writer, count) in expected {
        for n in 0..*count {
            assert!(
                seen.contains_key(format!("{writer}-{n}").as_str()),
                "{writer}-{n} never printed"
            );
        }
    }
    let total: usize = expected.values().sum();
    assert_eq!(printed.len(), total);
}

fn lines_text(writer: &str, range: std::ops::Range<usize>) -> String {
    range.map(|n| k8s_line(writer, n)).collect()
}

/// The writers of the big test: one log that is rotated and truncated, a second plain log,
/// new files in a subdirectory and a slow gzip. Returns the events written per writer.
fn write_stream(dir: &Path, tail: &Tail, total: usize) -> HashMap<String, usize> {
    let log = dir.join("audit.log");
    let mut seed = 7u64;
    let per_phase = total / 10;
    let wait = Duration::from_secs(60);
    // `a` events written so far; everything written so far must come out.
    let mut a = 0;
    let write_a = |count: usize, a: &mut usize, seed: &mut u64| {
        append_irregular(&log, &lines_text("a", *a..*a + count), seed);
        *a += count;
    };
    write_a(per_phase, &mut a, &mut seed);
    tail.wait_for(a, wait);
    // Two rotations by rename (logrotate's default): lines written to the old file just
    // before it is renamed, then the new file.
    for r in 1..=2 {
        write_a(100, &mut a, &mut seed);
        fs::rename(&log, dir.join(format!("audit.log.{r}"))).unwrap();
        write_a(per_phase, &mut a, &mut seed);
        tail.wait_for(a, wait);
    }
    // Two rotations by copy and truncation (copytruncate), with lines written just before
    // the copy, which the follower may not have read yet.
    for r in 3..=4 {
        write_a(100, &mut a, &mut seed);
        fs::copy(&log, dir.join(format!("audit.log.{r}"))).unwrap();
        File::options()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
        write_a(per_phase, &mut a, &mut seed);
        tail.wait_for(a, wait);
    }
    // A plain truncation once everything was read.
    File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    write_a(per_phase, &mut a, &mut seed);
    tail.wait_for(a, wait);
    // New files in a watched subdirectory: a plain line file and gzipped deliveries, one of
    // them written slowly (no trailer for a while).
    let sub = dir.join("exports/2024/03");
    fs::create_dir_all(&sub).unwrap();
    let b = per_phase;
    append_irregular(&sub.join("b.jsonl"), &lines_text("b", 0..b), &mut seed);
    let mut c = 0;
    for i in 0..3 {
        fs::write(
            sub.join(format!("c{i}.json.gz")),
            cloudtrail_gz("c", c..c + 1000),
        )
        .unwrap();
        c += 1000;
    }
    let d = 2000;
    let slow = cloudtrail_gz("d", 0..d);
    {
        let mut f = File::create(sub.join("d.json.gz")).unwrap();
        for piece in slow.chunks(slow.len() / 4 + 1) {
            f.write_all(piece).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(700));
        }
    }
    // The rest on the main log.
    let rest = total - a - b - c - d;
    write_a(rest, &mut a, &mut seed);
    HashMap::from([
        ("a".to_string(), a),
        ("b".to_string(), b),
        ("c".to_string(), c),
        ("d".to_string(), d),
    ])
}

/// Follows a directory through every kind of change; `mode` is how the start line must say
/// changes are noticed (so a `--poll` that did not reach the follower fails the test).
fn tail_stream(extra: &[&str], mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    // Something before the start: printed with `-n all`.
    fs::write(root.join("audit.log"), lines_text("a", 0..0)).unwrap();
    let mut args = vec!["-n", "all"];
    args.extend_from_slice(extra);
    let path = root.display().to_string();
    args.push(&path);
    let tail = Tail::start(&args);
    tail.wait_following();
    let expected = write_stream(&root, &tail, 100_000);
    let total: usize = expected.values().sum();
    tail.wait_for(total, Duration::from_secs(120));
    // Nothing more comes.
    std::thread::sleep(Duration::from_millis(1500));
    let notices = tail.stderr.lock().unwrap().join("\n");
    let printed = tail.stop();
    assert_exactly_once_in_order(&printed, &expected);
    assert!(
        notices.contains(&format!("; following {mode}")),
        "{notices}"
    );
    // The user is told what happened to the log.
    // A rename seen before the new file exists reads as "moved away", then the new file.
    let rotations = notices.matches("audit.log: rotated").count()
        + notices.matches("audit.log: deleted or moved away").count();
    assert_eq!(rotations, 2, "{notices}");
    assert!(
        notices.matches("audit.log: truncated").count() >= 3,
        "{notices}"
    );
}

#[test]
fn tailing_a_directory_prints_every_event_once_through_rotation_truncation_and_new_files() {
    tail_stream(&[], "on change events");
}

#[test]
fn polling_prints_every_event_once_too() {
    tail_stream(&["--poll", "100ms"], "polling every 100 ms");
}

#[test]
fn a_restart_with_state_continues_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let state = root.join("state.json");
    let logs = root.join("logs");
    fs::create_dir(&logs).unwrap();
    let log = logs.join("audit.log");
    let mut seed = 3u64;
    append_irregular(&log, &lines_text("a", 0..1000), &mut seed);
    let args = |extra: &'static str| -> Vec<String> {
        vec![
            "--state".into(),
            state.display().to_string(),
            "-n".into(),
            extra.into(),
            logs.display().to_string(),
        ]
    };
    let first_args = args("all");
    let first = Tail::start(&first_args.iter().map(String::as_str).collect::<Vec<_>>());
    first.wait_for(1000, Duration::from_secs(30));
    append_irregular(&log, &lines_text("a", 1000..3000), &mut seed);
    first.wait_for(3000, Duration::from_secs(30));
    let mut printed = first.stop();
    // While it is down: more lines, a rotation by rename, lines in the new file, a new gzip.
    append_irregular(&log, &lines_text("a", 3000..4000), &mut seed);
    fs::rename(&log, logs.join("audit.log.1")).unwrap();
    append_irregular(&log, &lines_text("a", 4000..5000), &mut seed);
    fs::write(logs.join("c.json.gz"), cloudtrail_gz("c", 0..500)).unwrap();
    // Restarted with the default backlog: the state says what is new.
    let second_args = args("10");
    let second = Tail::start(&second_args.iter().map(String::as_str).collect::<Vec<_>>());
    second.wait_for(2500, Duration::from_secs(30));
    append_irregular(&log, &lines_text("a", 5000..6000), &mut seed);
    second.wait_for(3500, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(1500));
    printed.extend(second.stop());
    let expected = HashMap::from([("a".to_string(), 6000), ("c".to_string(), 500)]);
    assert_exactly_once_in_order(&printed, &expected);
}

#[test]
fn a_file_rotated_while_tail_was_down_is_read_from_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let log = dir.path().join("audit.log");
    let mut seed = 5u64;
    append_irregular(&log, &lines_text("a", 0..500), &mut seed);
    let args = [
        "--state",
        state.to_str().unwrap(),
        "-n",
        "all",
        log.to_str().unwrap(),
    ];
    let first = Tail::start(&args);
    first.wait_for(500, Duration::from_secs(30));
    let mut printed = first.stop();
    // Only the file is followed, not its directory: the renamed file is found by identity.
    append_irregular(&log, &lines_text("a", 500..700), &mut seed);
    fs::rename(&log, dir.path().join("audit.log-20240304")).unwrap();
    append_irregular(&log, &lines_text("a", 700..800), &mut seed);
    let second = Tail::start(&args);
    second.wait_for(300, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(1000));
    printed.extend(second.stop());
    assert_exactly_once_in_order(&printed, &HashMap::from([("a".to_string(), 800)]));
}

/// A CloudTrail record of `name` by `user`, one line.
fn cloudtrail_line(id: &str, name: &str, user: &str, second: i64) -> String {
    let t = jiff::Timestamp::from_second(1_709_510_400 + second).unwrap();
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"{t}","eventSource":"cloudtrail.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/{user}","accountId":"111122223333","userName":"{user}"}},"requestParameters":{{"name":"main-trail"}},"eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
    ) + "\n"
}

#[test]
fn a_finding_fires_once_as_its_event_arrives_and_is_alerted_to_a_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 11u64;
    let log = dir.path().join("audit.log");
    append_irregular(&log, &lines_text("a", 0..200), &mut seed);
    // The endpoint fails twice before it accepts.
    let endpoint = crate::alerts::Endpoint::start(&[(500, None), (500, None)]);
    let target = format!("webhook={}", endpoint.url);
    let path = dir.path().display().to_string();
    let tail = Tail::start(&["--findings", "-n", "0", "--alert", &target, &path]);
    tail.wait_following();
    let trail = dir.path().join("cloudtrail.jsonl");
    append_irregular(
        &trail,
        &cloudtrail_line("t-0", "StopLogging", "mallory", 300),
        &mut seed,
    );
    let start = Instant::now();
    while endpoint.accepted().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no alert arrived"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // More events arrive; the finding is not reported again.
    append_irregular(&log, &lines_text("a", 200..400), &mut seed);
    append_irregular(
        &trail,
        &cloudtrail_line("t-1", "DescribeTrails", "mallory", 400),
        &mut seed,
    );
    tail.wait_for(202, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(2500));
    let lines = tail.lines.lock().unwrap().clone();
    let findings: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("rule").is_some())
        .collect();
    // Each finding once: the tampering itself, and (low) the same act outside working hours.
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["audit-log-tampering", "off-hours-privileged-action"],
        "{findings:?}"
    );
    assert!(
        findings[0]["actor"]
            .as_str()
            .unwrap()
            .ends_with("user/mallory")
    );
    assert_eq!(findings[0]["change"], "new");
    let accepted = endpoint.accepted();
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert_eq!(accepted[0]["rule"], "audit-log-tampering");
    assert!(accepted[0]["text"].as_str().unwrap().contains("mallory"));
    // The events are printed too: 202 events and the two findings; the low finding was
    // below the alert threshold (medium).
    assert_eq!(lines.len(), 204);
    drop(tail.stop());
}

/// An Okta System Log event, one line.
fn okta_line(id: &str, event_type: &str, user: &str, session: &str, second: i64) -> String {
    let t = jiff::Timestamp::from_second(1_709_510_400 + second).unwrap();
    format!(
        r#"{{"uuid":"{id}","published":"{t}","eventType":"{event_type}","displayMessage":"x","severity":"INFO","actor":{{"id":"00u-{user}","type":"User","alternateId":"{user}@example.com","displayName":"{user}"}},"client":{{"ipAddress":"198.51.100.7","userAgent":{{"rawUserAgent":"Mozilla/5.0"}}}},"outcome":{{"result":"SUCCESS"}},"authenticationContext":{{"externalSessionId":"{session}"}},"target":[]}}"#
    ) + "\n"
}

#[test]
fn a_finding_that_late_events_cancel_is_held_until_the_data_has_moved_past_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("okta.log");
    // History: both users sign in with MFA, so MFA is their norm.
    let mut history = String::new();
    for day in 0..5 {
        for user in ["ann", "ben"] {
            let at = day * 86_400;
            let session = format!("{user}-s{day}");
            history += &okta_line(
                &format!("{user}-start-{day}"),
                "user.session.start",
                user,
                &session,
                at,
            );
            history += &okta_line(
                &format!("{user}-mfa-{day}"),
                "user.authentication.auth_via_mfa",
                user,
                &session,
                at + 5,
            );
        }
    }
    fs::write(&log, history).unwrap();
    let path = log.display().to_string();
    let tail = Tail::start(&["--findings-only", &path]);
    tail.wait_following();
    // Day 6: both start a session without MFA; ann's MFA step arrives late, after a minute
    // of other events, but within the 10 minutes the rule allows it.
    let day6 = 6 * 86_400;
    let mut seed = 1u64;
    append_irregular(
        &log,
        &okta_line("ann-start-6", "user.session.start", "ann", "ann-s6", day6),
        &mut seed,
    );
    append_irregular(
        &log,
        &okta_line(
            "ben-start-6",
            "user.session.start",
            "ben",
            "ben-s6",
            day6 + 1,
        ),
        &mut seed,
    );
    append_irregular(
        &log,
        &okta_line("x-1", "user.session.end", "cy", "cy-1", day6 + 60),
        &mut seed,
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        tail.count(),
        0,
        "reported before the window passed: {:?}",
        tail.lines.lock().unwrap()
    );
    append_irregular(
        &log,
        &okta_line(
            "ann-mfa-6",
            "user.authentication.auth_via_mfa",
            "ann",
            "ann-s6",
            day6 + 120,
        ),
        &mut seed,
    );
    std::thread::sleep(Duration::from_secs(2));
    // The data moves past the window: ben's finding stands, ann's was cancelled.
    append_irregular(
        &log,
        &okta_line("x-2", "user.session.end", "cy", "cy-2", day6 + 1200),
        &mut seed,
    );
    tail.wait_for(1, Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(2));
    let lines = tail.lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let finding: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(finding["rule"], "console-signin-without-mfa");
    assert_eq!(finding["actor"], "ben@example.com");
    drop(tail.stop());
}

/// Applies a follow's messages to its store until it holds `n` events (or fails after 30 s).
fn follow_until(
    store: &mut trailscope::store::FrameStore,
    follow: &trailscope::load::follow::Follow,
    n: u64,
) {
    let start = Instant::now();
    while store.totals().0 < n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} of {n} events; notices {:?}; inputs {:?}",
            store.totals().0,
            store.notices(),
            store.inputs()
        );
        if let Ok(msg) = follow.receiver.recv_timeout(Duration::from_millis(50)) {
            store.apply(msg).unwrap();
        }
    }
    store.commit().unwrap();
}

#[test]
fn every_record_is_shown_as_written_after_rotation_and_truncation() {
    use std::sync::Arc;
    use trailscope::load::classify::Classifier;
    use trailscope::load::follow::FollowOptions;
    use trailscope::load::pipeline::LoadOptions;
    use trailscope::load::source;

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut seed = 9u64;
    append_irregular(&log, &lines_text("a", 0..100), &mut seed);
    let paths = vec![dir.path().display().to_string()];
    let expansion = source::expand(&paths);
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    let mut store = trailscope::store::FrameStore::new();
    let follow = store.start_follow(paths, expansion.inputs, options, FollowOptions::default());
    follow_until(&mut store, &follow, 100);
    // Renamed away and recreated, then copied and truncated, then truncated with no copy.
    append_irregular(&log, &lines_text("a", 100..200), &mut seed);
    fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append_irregular(&log, &lines_text("a", 200..300), &mut seed);
    follow_until(&mut store, &follow, 300);
    fs::copy(&log, dir.path().join("audit.log.2")).unwrap();
    File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append_irregular(&log, &lines_text("a", 300..400), &mut seed);
    follow_until(&mut store, &follow, 400);
    let frame = store.frame().clone();
    let ids = frame
        .column("event_id")
        .unwrap()
        .as_materialized_series()
        .clone();
    let sources = frame
        .column("source")
        .unwrap()
        .as_materialized_series()
        .clone();
    let mut by_source: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for row in 0..frame.height() {
        let source = sources.str_value(row).unwrap().to_string();
        by_source
            .entry(source)
            .or_default()
            .push(ids.str_value(row).unwrap().to_string());
    }
    let by_source: Vec<String> = by_source
        .iter()
        .map(|(s, ids)| format!("{s}: {} rows {}..{}", ids.len(), ids[0], ids[ids.len() - 1]))
        .collect();
    let mut checked = 0;
    for row in 0..frame.height() {
        let id = ids.str_value(row).unwrap().to_string();
        let n: usize = id.rsplit_once('-').unwrap().1.parse().unwrap();
        let raw = store.raw_record(&frame, row).unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            k8s_line("a", n).trim_end(),
            "row {row} ({id}) of {}; notices: {:?}; inputs: {by_source:?}",
            sources.str_value(row).unwrap(),
            store.notices().0
        );
        checked += 1;
    }
    assert_eq!(checked, 400);
    follow.stop();
}

#[test]
fn standard_input_is_followed_line_by_line_and_ends_with_it() {
    let mut child = crate::util::trailscope()
        .args(["tail", "--format", "ndjson", "--reorder-window", "0s", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    // A line is printed while the pipe is still open: nothing waits for a full chunk.
    stdin.write_all(k8s_line("s", 0).as_bytes()).unwrap();
    stdin.flush().unwrap();
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains(r#""event_id":"s-0""#), "{first}");
    // Half a line waits for its end.
    let second = k8s_line("s", 1);
    let (a, b) = second.split_at(100);
    stdin.write_all(a.as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(b.as_bytes()).unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(rest.contains(r#""event_id":"s-1""#), "{rest}");
    assert_eq!(rest.lines().count(), 1);
    assert!(child.wait().unwrap().success());
}

/// The event ids a lake holds, through `trailscope query --lake` (none before it exists).
fn lake_ids(lake: &Path) -> Vec<String> {
    if !lake.join("_trailscope_lake.toml").exists() {
        return Vec::new();
    }
    let out = crate::util::trailscope()
        .args(["query", "--lake"])
        .arg(lake)
        .args(["--columns", "event_id", "--format", "ndjson"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event_id"].as_str().unwrap_or("").to_string()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn tail_appends_what_it_follows_to_a_lake_as_it_goes_and_never_twice() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let lake = dir.path().join("lake");
    let log = logs.join("audit.log");
    let mut seed = 5u64;
    append_irregular(&log, &lines_text("a", 0..1000), &mut seed);
    let lake_arg = lake.display().to_string();
    let logs_arg = logs.display().to_string();
    let args = [
        "-n",
        "all",
        "--lake",
        &lake_arg,
        "--lake-every",
        "1s",
        &logs_arg,
    ];
    let first = Tail::start(&args);
    first.wait_for(1000, Duration::from_secs(30));
    append_irregular(&log, &lines_text("a", 1000..2000), &mut seed);
    first.wait_for(2000, Duration::from_secs(30));
    // While it runs, the periodic append has put the first events in the lake.
    let start = Instant::now();
    while lake_ids(&lake).len() < 2000 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the lake holds {} of 2000 events while tail runs",
            lake_ids(&lake).len()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let printed = first.stop();
    assert_eq!(printed.len(), 2000);
    // Read again from the start: nothing is added twice.
    let second = Tail::start(&args);
    second.wait_for(2000, Duration::from_secs(30));
    append_irregular(&log, &lines_text("a", 2000..2500), &mut seed);
    second.wait_for(2500, Duration::from_secs(30));
    let stderr = Arc::clone(&second.stderr);
    second.stop();
    let ids = lake_ids(&lake);
    let mut expected: Vec<String> = printed;
    expected.extend(lines_text("a", 2000..2500).lines().map(|l| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["auditID"]
            .as_str()
            .unwrap()
            .to_string()
    }));
    expected.sort();
    assert_eq!(
        ids, expected,
        "the lake holds every followed event exactly once"
    );
    let said = stderr.lock().unwrap().join("\n");
    assert!(
        said.contains("500 events appended (2000 already there)"),
        "{said}"
    );
}
