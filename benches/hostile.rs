//! Hostile inputs of about 100 MB each: how long loading takes and how much memory it
//! needs. The reliability promise is at most a minute and at most ten times the input's size
//! in memory for any input up to 100 MB; this group checks it on the attacks of issue 13.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Size of each generated input.
const SIZE: usize = 100 << 20;

fn ct(id: &str, params: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}},"eventTime":"2024-03-04T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"PutUserPolicy","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.10","userAgent":"aws-cli/2.15.10","eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333","requestParameters":{params}}}"#
    )
}

fn fill_lines(path: &Path, mut line: impl FnMut(usize) -> String) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let (mut written, mut i) = (0usize, 0usize);
    while written < SIZE {
        let l = line(i);
        out.write_all(l.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
        written += l.len() + 1;
        i += 1;
    }
    out.flush().unwrap();
}

fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Writes the inputs once; returns (label, path).
fn inputs(base: &Path) -> Vec<(&'static str, PathBuf)> {
    let dir = base.join("hostile-100mb");
    let marker = dir.join(".complete-v1");
    let list = vec![
        ("records nested 10,000 deep", dir.join("deep.ndjson")),
        (
            "valid records, 20,000 empty arrays each",
            dir.join("wide.ndjson"),
        ),
        ("one 100 MB line", dir.join("line.ndjson")),
        ("one value of 100 MB of '['", dir.join("brackets.json")),
        ("Entra CSV, rows of 20,000 columns", dir.join("wide.csv")),
        ("gzip bomb (100 MB -> 100 GB)", dir.join("bomb.json.gz")),
        ("50,000 files of one record", dir.join("many")),
    ];
    if marker.exists() {
        return list;
    }
    eprintln!("writing hostile inputs into {} ...", dir.display());
    std::fs::create_dir_all(&dir).unwrap();
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    fill_lines(&list[0].1, |i| ct(&format!("d{i}"), &deep));
    let wide = format!("[{}]", vec!["[]"; 20_000].join(","));
    fill_lines(&list[1].1, |i| ct(&format!("w{i}"), &wide));
    std::fs::write(&list[2].1, format!("{{\"a\":\"{}\"}}\n", "x".repeat(SIZE))).unwrap();
    std::fs::write(&list[3].1, vec![b'['; SIZE]).unwrap();
    let header: String = (0..20_000).map(|c| format!(",Extra{c}")).collect();
    let cells = ",x".repeat(20_000);
    let mut csv = format!(
        "TenantId,TimeGenerated [UTC],OperationName,Category,Result,CorrelationId,Id,InitiatedBy,LoggedByService,ActivityDisplayName{header}\n"
    );
    while csv.len() < SIZE {
        csv.push_str(&format!(
            "t1,\"5/18/2024, 9:02:03.456 AM\",Reset password (by admin),UserManagement,success,c1,i{},,Core Directory,Reset password{cells}\n",
            csv.len()
        ));
    }
    std::fs::write(&list[4].1, csv).unwrap();
    // One member of 1 GiB of `[` compresses to about 1 MB: a hundred of them.
    let member = gzip_bytes(&vec![b'['; 1 << 30]);
    let mut bomb = std::io::BufWriter::new(std::fs::File::create(&list[5].1).unwrap());
    let mut written = 0;
    while written < SIZE {
        bomb.write_all(&member).unwrap();
        written += member.len();
    }
    bomb.flush().unwrap();
    std::fs::create_dir_all(&list[6].1).unwrap();
    for i in 0..50_000 {
        let path = list[6].1.join(format!("f{i:05}.ndjson"));
        std::fs::write(path, ct(&format!("m{i}"), "null") + "\n").unwrap();
    }
    std::fs::write(marker, "").unwrap();
    list
}

fn bytes_of(path: &Path) -> u64 {
    if path.is_dir() {
        walkdir::WalkDir::new(path)
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    } else {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }
}

/// Loads each hostile input in a child process: seconds, peak memory, events.
pub fn bench(base: &Path) {
    let list = inputs(base);
    println!("hostile: each input loaded once in a child process (budget: 60 s, 10x its size)");
    println!(
        "{:<42} {:>8} {:>9} {:>9} {:>8} {:>8}",
        "input", "MB", "seconds", "peak MB", "x size", "events"
    );
    for (label, path) in list {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .arg("--child-load")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let seconds: f64 = fields[0].parse().unwrap();
        let events: u64 = fields[1].parse().unwrap();
        let peak: f64 = fields[2].parse().unwrap();
        let mb = bytes_of(&path) as f64 / 1e6;
        println!(
            "{label:<42} {mb:>8.0} {seconds:>9.2} {peak:>9.0} {:>8.1} {events:>8}",
            peak / mb
        );
    }
}

/// Reading one record back from a gzip input of 1 GB decompressed: the first read from its
/// far end (inflating up to there, keeping restart points), then reads anywhere.
pub fn bench_gzip_seek(base: &Path) {
    use trailscope::load::gzip_seek::GzipSeeker;
    let path = base.join("hostile-100mb").join("seek-1gb.ndjson.gz");
    let line = ct("seek", "null") + "\n";
    let total = (1u64 << 30) / line.len() as u64 * line.len() as u64;
    if !path.exists() {
        let mut enc = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
            flate2::Compression::fast(),
        );
        for _ in 0..total / line.len() as u64 {
            enc.write_all(line.as_bytes()).unwrap();
        }
        enc.finish().unwrap().flush().unwrap();
    }
    let time = |seeker: &mut GzipSeeker, offset: u64| {
        let started = std::time::Instant::now();
        let got = seeker.read_at(offset, line.len()).unwrap();
        assert_eq!(got, line.as_bytes());
        started.elapsed().as_secs_f64() * 1000.0
    };
    let mut seeker = GzipSeeker::new(std::fs::File::open(&path).unwrap());
    let last = total - line.len() as u64;
    let first = time(&mut seeker, last);
    let again = time(&mut seeker, last);
    let mut others: Vec<f64> = (1..=20)
        .map(|i| {
            time(
                &mut seeker,
                (total / 21 * i) / line.len() as u64 * line.len() as u64,
            )
        })
        .collect();
    others.sort_by(f64::total_cmp);
    println!(
        "gzip random access, 1 GB decompressed: first read at the end {first:.0} ms (inflates the whole input, keeping {} restart points), same record again {again:.1} ms, 20 records anywhere: median {:.1} ms, max {:.1} ms",
        seeker.restart_points(),
        others[others.len() / 2],
        others[others.len() - 1]
    );
}
