//! tail: latency of `trailscope tail` while a writer appends Kubernetes audit lines at a
//! sustained rate into a directory that already holds a large CloudTrail history, with the
//! findings live and a webhook target: from a line written to it printed, and from a
//! gzipped CloudTrail delivery holding a `StopLogging` renamed into the directory to its
//! webhook alert. Also the resident memory of the tail process as the frame grows.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One Kubernetes audit event with id `bench-N`.
fn k8s_line(n: usize) -> String {
    // Newer than the history: appended, as a live stream is.
    let t = jiff::Timestamp::now();
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"bench-{n}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods","verb":"get","user":{{"username":"system:serviceaccount:shop:app-{}","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.9"],"objectRef":{{"resource":"pods","namespace":"shop","name":"p{n}","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{t}","stageTimestamp":"{t}"}}"#,
        n % 50
    ) + "\n"
}

/// A gzipped CloudTrail delivery with one `StopLogging` by `user`.
fn stop_logging_gz(user: &str) -> Vec<u8> {
    let t = jiff::Timestamp::now();
    let body = format!(
        r#"{{"Records":[{{"eventVersion":"1.09","eventTime":"{t}","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/{user}","accountId":"111122223333","userName":"{user}"}},"requestParameters":{{"name":"main"}},"eventID":"{user}","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}]}}"#
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// A webhook endpoint that records when each alert's actor arrived.
fn endpoint() -> (String, Arc<Mutex<HashMap<String, Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(HashMap::new()));
    let log = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end().to_ascii_lowercase();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let at = Instant::now();
            let text = String::from_utf8_lossy(&body);
            if let Some(i) = text.find("user/drop-") {
                let actor: String = text[i + 5..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                log.lock().unwrap().entry(actor).or_insert(at);
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    (url, got)
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .map(|v| v.parse::<f64>().unwrap_or(0.0))
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs the benchmark with `history` (a directory of existing events) copied in by link,
/// `rate` events per second for `seconds`.
pub fn bench(history: &Path, rate: usize, seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("watched");
    std::fs::create_dir_all(watched.join("exports")).unwrap();
    for entry in std::fs::read_dir(history).unwrap().flatten() {
        if entry.path().is_file() && !entry.file_name().to_string_lossy().starts_with('.') {
            std::fs::hard_link(entry.path(), watched.join(entry.file_name()))
                .or_else(|_| std::fs::copy(entry.path(), watched.join(entry.file_name())).map(drop))
                .unwrap();
        }
    }
    let (url, alerts) = endpoint();
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailscope"));
    command.args([
        "tail",
        "--format",
        "ndjson",
        "--reorder-window",
        "0s",
        "-n",
        "0",
    ]);
    // TAIL_BENCH_EVENTS_ONLY=1: without detections, to see what they cost.
    let findings = std::env::var_os("TAIL_BENCH_EVENTS_ONLY").is_none();
    if findings {
        command
            .arg("--findings")
            .arg("--alert")
            .arg(format!("webhook={url}"));
    }
    let mut child = command
        .arg(&watched)
        .env_remove("TRAILSCOPE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent-trailscope-bench")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let printed: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let sink = Arc::clone(&printed);
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let at = Instant::now();
            if let Some(i) = line.find("\"event_id\":\"bench-") {
                let n: usize = line[i + 18..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap_or(usize::MAX);
                sink.lock().unwrap().insert(n, at);
            }
        }
    });
    let err = child.stderr.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if line.contains("following") {
                let _ = ready_tx.send(());
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(600))
        .expect("tail started following");
    let load_s = started.elapsed().as_secs_f64();
    // Let the first run of the rules over the history finish before measuring.
    std::thread::sleep(Duration::from_secs(5));
    let rss_start = rss_mb(pid);
    let log = watched.join("stream.log");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let batch = rate / 100;
    let mut written: Vec<Instant> = Vec::new();
    let mut drops: Vec<(String, Instant)> = Vec::new();
    let begin = Instant::now();
    let mut n = 0;
    let mut tick = 0u64;
    // (seconds into the stream, events written, resident MB), every 5 s.
    let mut samples: Vec<(u64, usize, f64)> = Vec::new();
    while begin.elapsed() < Duration::from_secs(seconds) {
        if tick.is_multiple_of(500) {
            samples.push((tick / 100, n, rss_mb(pid)));
        }
        let text: String = (n..n + batch).map(k8s_line).collect();
        file.write_all(text.as_bytes()).unwrap();
        let at = Instant::now();
        written.extend(std::iter::repeat_n(at, batch));
        n += batch;
        tick += 1;
        if tick.is_multiple_of(300) {
            // An export lands: written elsewhere, renamed in (as sync tools do).
            let actor = format!("drop-{}", drops.len());
            let tmp = dir.path().join("partial.gz");
            std::fs::write(&tmp, stop_logging_gz(&actor)).unwrap();
            std::fs::rename(
                &tmp,
                watched.join("exports").join(format!("{actor}.json.gz")),
            )
            .unwrap();
            drops.push((actor, Instant::now()));
        }
        let next = begin + Duration::from_millis(10 * tick);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let wait = Instant::now();
    while printed.lock().unwrap().len() < n && wait.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    let rss_end = rss_mb(pid);
    // Idle: nothing arrives; memory should not move.
    std::thread::sleep(Duration::from_secs(10));
    let rss_idle = rss_mb(pid);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    let printed = printed.lock().unwrap();
    let mut latencies: Vec<f64> = printed
        .iter()
        .filter_map(|(i, at)| {
            written
                .get(*i)
                .map(|w| at.duration_since(*w).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let alerts = alerts.lock().unwrap();
    let mut alert_s: Vec<f64> = drops
        .iter()
        .filter_map(|(actor, at)| {
            alerts
                .get(actor)
                .map(|a| a.duration_since(*at).as_secs_f64())
        })
        .collect();
    alert_s.sort_by(f64::total_cmp);
    println!(
        "tail: {rate} events/s for {seconds} s into a directory holding {}{}",
        history.display(),
        if findings {
            ", findings live, a webhook target"
        } else {
            ", events only (TAIL_BENCH_EVENTS_ONLY)"
        }
    );
    println!("  initial load to following: {load_s:.1} s");
    println!(
        "  line written -> printed: {} of {n} events, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  gzip export landed -> webhook alert: {} of {} alerts, p50 {:.2} s, max {:.2} s",
        alert_s.len(),
        drops.len(),
        percentile(&alert_s, 0.5),
        alert_s.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  resident memory: {rss_start:.0} MB when following, {rss_end:.0} MB after {n} more events, {rss_idle:.0} MB after 10 s idle"
    );
    let shown: Vec<String> = samples
        .iter()
        .map(|(s, e, mb)| format!("{s}s/{}k:{mb:.0}MB", e / 1000))
        .collect();
    println!(
        "  during the stream (seconds/events written:resident): {}",
        shown.join(" ")
    );
    // The slope over the second half of the stream, past the load's freed buffers.
    if let (Some(a), Some(b)) = (samples.get(samples.len() / 2), samples.last())
        && b.1 > a.1
    {
        println!(
            "  growth over the second half: {:.2} KB per event",
            (b.2 - a.2) * 1024.0 / (b.1 - a.1) as f64
        );
    }
}
