//! Objects that hold no events among audit logs: a synced CloudTrail bucket's digest files are
//! skipped and said once, never counted as records or rejected.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use trailscope::load::non_event::NonEvent;

use crate::util::{load, run, sample_logs, stdout};

/// A digest file as CloudTrail writes it into `CloudTrail-Digest/` (the fields of AWS's
/// documented example, hashes shortened), gzip-compressed like the bucket holds it.
fn digest_gz(hour: u32, first: bool) -> Vec<u8> {
    let previous = if first {
        r#""previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null"#.to_string()
    } else {
        format!(
            r#""previousDigestS3Bucket":"trail-bucket","previousDigestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/04/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240304T{:02}0000Z.json.gz","previousDigestHashValue":"531914fcfa0dbacf0c9dd1475a1fdcb5","previousDigestHashAlgorithm":"SHA-256","previousDigestSignature":"10e0872f32fa1d299d0cc98e94d4c88a""#,
            hour - 1
        )
    };
    let text = format!(
        r#"{{"awsAccountId":"111122223333","digestStartTime":"2024-03-04T{h0:02}:00:00Z","digestEndTime":"2024-03-04T{hour:02}:00:00Z","digestS3Bucket":"trail-bucket","digestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/04/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240304T{hour:02}0000Z.json.gz","digestPublicKeyFingerprint":"47aaa19f7eec22e9bd0b5e58cfade8cb","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":"2024-03-04T{h0:02}:58:15Z","oldestEventTime":"2024-03-04T{h0:02}:00:12Z",{previous},"logFiles":[{{"s3Bucket":"trail-bucket","s3Object":"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/04/111122223333_CloudTrail_us-east-1_20240304T0000Z_882f0e1622f507f3.json.gz","hashValue":"9bb6196fc6b84d6f075a56548feca262","hashAlgorithm":"SHA-256","newestEventTime":"2024-03-04T{h0:02}:58:15Z","oldestEventTime":"2024-03-04T{h0:02}:00:12Z"}}]}}"#,
        h0 = hour - 1
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// A synced bucket's layout: the CloudTrail files given, and two digests beside them.
fn synced_bucket(cloudtrail_files: &[PathBuf]) -> tempfile::TempDir {
    let bucket = tempfile::tempdir().unwrap();
    let logs = bucket
        .path()
        .join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/04");
    let digests = bucket
        .path()
        .join("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/04");
    fs::create_dir_all(&logs).unwrap();
    fs::create_dir_all(&digests).unwrap();
    for file in cloudtrail_files {
        fs::copy(file, logs.join(file.file_name().unwrap())).unwrap();
    }
    for hour in [1, 2] {
        let name = format!(
            "111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240304T{hour:02}0000Z.json.gz"
        );
        fs::write(digests.join(name), digest_gz(hour, hour == 1)).unwrap();
    }
    bucket
}

/// Loads the CloudTrail files alone and inside a synced bucket: the same events, no
/// rejection, the digests skipped and said once, and a successful exit.
fn digests_are_skipped_beside(cloudtrail_files: &[PathBuf]) {
    assert!(!cloudtrail_files.is_empty());
    let bucket = synced_bucket(cloudtrail_files);
    let logs = bucket.path().join("AWSLogs/111122223333/CloudTrail");
    let alone = load(&[&logs]);
    let (events, duplicates, rejected) = alone.totals();
    assert!(events > 0);

    let store = load(&[bucket.path()]);
    assert_eq!(store.totals(), (events, duplicates, rejected));
    assert_eq!(
        store.skipped_inputs(),
        BTreeMap::from([(NonEvent::CloudTrailDigest, 2)])
    );
    let digest_inputs: Vec<_> = store
        .inputs()
        .iter()
        .filter(|i| i.name.contains("CloudTrail-Digest"))
        .collect();
    assert_eq!(digest_inputs.len(), 2);
    for input in digest_inputs {
        assert_eq!((input.seen(), input.rejected), (0, 0), "{input:?}");
        assert_eq!(input.skipped.get(&NonEvent::CloudTrailDigest), Some(&1));
    }

    let path = bucket.path().to_str().unwrap();
    let summary = run(&["summary", path]);
    assert!(summary.status.success(), "{summary:?}");
    let text = stdout(&summary);
    let seen = events + duplicates + rejected;
    assert!(
        text.contains(&format!(
            "records seen: {seen} = {events} loaded + {duplicates} duplicates + {rejected} rejected"
        )),
        "{text}"
    );
    let line = "skipped 2 CloudTrail digest files (integrity digests, no events)";
    assert_eq!(text.matches(line).count(), 1, "{text}");
    assert!(!text.contains("not a known audit record"), "{text}");
    assert!(text.contains("cloudtrail-digest"), "{text}");

    let json = run(&["summary", "--format", "json", path]);
    assert!(json.status.success());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["total"]["events"], events);
    assert_eq!(json["total"]["rejected"], rejected);
    assert_eq!(json["total"]["skipped_inputs"]["cloudtrail-digest"], 2);

    let query = run(&["query", "--format", "csv", path]);
    assert!(query.status.success(), "{query:?}");
    let rows = csv::Reader::from_reader(&query.stdout[..])
        .records()
        .count();
    assert_eq!(rows as u64, events);
}

#[test]
fn cloudtrail_digests_in_a_synced_bucket_are_skipped_not_rejected() {
    let files: Vec<PathBuf> = fs::read_dir(sample_logs().join("aws"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .take(3)
        .collect();
    digests_are_skipped_beside(&files);
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn cloudtrail_digests_beside_real_s3_delivery_files_are_skipped() {
    let dir = PathBuf::from(std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap())
        .join("cloudtrail/trailscraper");
    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    digests_are_skipped_beside(&files);
}

#[test]
fn a_digest_under_a_forced_format_is_skipped_too() {
    let dir = tempfile::tempdir().unwrap();
    let digest = dir.path().join("digest.json.gz");
    fs::write(&digest, digest_gz(1, true)).unwrap();
    let out = run(&[
        "summary",
        "--input-format",
        "cloudtrail",
        Path::new(&digest).to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("skipped 1 CloudTrail digest file (integrity digest, no events)"),
        "{text}"
    );
    assert!(text.contains("0 rejected"), "{text}");
}
