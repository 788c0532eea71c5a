//! Objects that sit beside audit records in an export but hold no events: CloudTrail digest
//! files, which every trail with log file validation writes into its bucket
//! (`AWSLogs/<account>/CloudTrail-Digest/...json.gz`). A synced bucket holds one per hour
//! and region; they are recognized and skipped, counted apart from records (they are not
//! records: "records seen" stays loaded + duplicates + rejected), and said once in the summary.

use sonic_rs::JsonValueTrait;

use crate::providers::Probe;

/// Keys every CloudTrail digest file has (AWS CloudTrail User Guide, "CloudTrail digest file
/// structure"); `logFiles` may be empty, so it is not required.
const DIGEST_KEYS: [&str; 4] = [
    "awsAccountId",
    "digestStartTime",
    "digestEndTime",
    "digestS3Object",
];

/// A kind of object that holds no events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NonEvent {
    /// A CloudTrail digest file: hashes and a signature over an hour of a trail's log files.
    CloudTrailDigest,
}

impl NonEvent {
    /// A short name for the summary's format column and JSON (`cloudtrail-digest`).
    pub fn name(self) -> &'static str {
        match self {
            NonEvent::CloudTrailDigest => "cloudtrail-digest",
        }
    }

    /// What a count of inputs holding these is, for a person: `skipped 12 CloudTrail digest
    /// files (integrity digests, no events)`.
    pub fn skipped_line(self, inputs: u64) -> String {
        let (file, what) = match self {
            NonEvent::CloudTrailDigest => ("CloudTrail digest file", "integrity digest"),
        };
        let s = if inputs == 1 { "" } else { "s" };
        format!("skipped {inputs} {file}{s} ({what}{s}, no events)")
    }

    /// The kind of a parsed object, if it is one of these.
    pub fn of_probe(probe: &Probe) -> Option<NonEvent> {
        DIGEST_KEYS
            .iter()
            .all(|key| probe.get(*key).is_some_and(|v| v.is_str()))
            .then_some(NonEvent::CloudTrailDigest)
    }

    /// The kind of a record's bytes, if it is one of these: parsed only when it names a
    /// digest key, as this runs on records about to be rejected.
    pub fn of_record(record: &[u8]) -> Option<NonEvent> {
        memchr::memmem::find(record, b"\"digestStartTime\"")?;
        if crate::json_scan::too_deep(record).is_some() {
            return None;
        }
        let probe: Probe = sonic_rs::from_slice(record).ok()?;
        NonEvent::of_probe(&probe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of a digest file as CloudTrail writes it (fields from AWS's documented
    /// example; hashes shortened).
    const DIGEST: &str = r#"{"awsAccountId":"111122223333","digestStartTime":"2024-03-04T00:00:00Z","digestEndTime":"2024-03-04T01:00:00Z","digestS3Bucket":"trail-bucket","digestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/04/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240304T010000Z.json.gz","digestPublicKeyFingerprint":"47aaa19f7eec22e9bd0b5e58cfade8cb","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":"2024-03-04T00:58:15Z","oldestEventTime":"2024-03-04T00:00:12Z","previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[{"s3Bucket":"trail-bucket","s3Object":"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/04/111122223333_CloudTrail_us-east-1_20240304T0000Z_882f0e1622f507f3.json.gz","hashValue":"9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6","hashAlgorithm":"SHA-256","newestEventTime":"2024-03-04T00:58:15Z","oldestEventTime":"2024-03-04T00:00:12Z"}]}"#;

    #[test]
    fn a_digest_file_is_recognized_and_an_event_is_not() {
        assert_eq!(
            NonEvent::of_record(DIGEST.as_bytes()),
            Some(NonEvent::CloudTrailDigest)
        );
        // A digest with no log files in its hour still is one.
        let empty = DIGEST.replace(
            &DIGEST[DIGEST.find(r#""logFiles""#).unwrap()..],
            r#""logFiles":[]}"#,
        );
        assert_eq!(
            NonEvent::of_record(empty.as_bytes()),
            Some(NonEvent::CloudTrailDigest)
        );
        // Keys alone do not make one: they must be the digest's text fields.
        for not in [
            r#"{"eventVersion":"1.08","eventName":"GetObject","digestStartTime":"x"}"#,
            r#"{"awsAccountId":"1","digestStartTime":"a","digestEndTime":"b"}"#,
            r#"{"awsAccountId":1,"digestStartTime":"a","digestEndTime":"b","digestS3Object":"c"}"#,
            r#"{"digestStartTime":"#,
        ] {
            assert_eq!(NonEvent::of_record(not.as_bytes()), None, "{not}");
        }
    }

    #[test]
    fn the_summary_line_counts_files() {
        assert_eq!(
            NonEvent::CloudTrailDigest.skipped_line(12),
            "skipped 12 CloudTrail digest files (integrity digests, no events)"
        );
        assert_eq!(
            NonEvent::CloudTrailDigest.skipped_line(1),
            "skipped 1 CloudTrail digest file (integrity digest, no events)"
        );
    }
}
