//! The smaller bugs of issue 19, each with the test that would have caught it: CSV times,
//! activity profiles, enumerated filter values, free text in details, `--tz` in tables,
//! `summary --timings`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{run, sample_logs, stderr, stdout};

/// A CloudTrail record: `kind` is the identity type (`IAMUser`, `AssumedRole`), `params` the
/// request parameters.
fn ct(id: &str, time: &str, kind: &str, who: &str, name: &str, params: &str) -> String {
    let arn = match kind {
        "AssumedRole" => format!("arn:aws:sts::111122223333:assumed-role/{who}/i-0abc"),
        _ => format!("arn:aws:iam::111122223333:user/{who}"),
    };
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"{kind}","arn":"{arn}","accountId":"111122223333","userName":"{who}"}},"eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.10","eventID":"{id}","eventType":"AwsApiCall","recipientAccountId":"111122223333","requestParameters":{params}}}"#
    )
}

/// Writes records as one NDJSON file; returns its path (the directory lives as long as the
/// returned guard).
fn ndjson(records: &[String]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    std::fs::write(&path, records.join("\n") + "\n").unwrap();
    (dir, path)
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

fn two_events() -> (tempfile::TempDir, PathBuf) {
    ndjson(&[
        ct(
            "e1",
            "2024-03-04T10:00:00Z",
            "IAMUser",
            "alice",
            "ListUsers",
            r#"{"tagKey":"zq9marker"}"#,
        ),
        ct(
            "e2",
            "2024-07-04T23:30:00.5Z",
            "AssumedRole",
            "deployer",
            "ListRoles",
            "null",
        ),
    ])
}

/// The values of one CSV column.
fn csv_column(text: &str, name: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let i = headers.iter().position(|h| h == name).unwrap();
    reader
        .records()
        .map(|r| r.unwrap().get(i).unwrap().to_string())
        .collect()
}

#[test]
fn csv_times_are_rfc3339_in_utc_or_with_the_display_zones_offset() {
    let (_dir, path) = two_events();
    let utc = run(&["query", &arg(&path), "--format", "csv"]);
    assert!(utc.status.success(), "{}", stderr(&utc));
    assert_eq!(
        csv_column(&stdout(&utc), "time"),
        ["2024-03-04T10:00:00Z", "2024-07-04T23:30:00.5Z"]
    );
    // Winter and summer offsets of the zone, each as it was at that instant.
    let berlin = run(&[
        "query",
        &arg(&path),
        "--format",
        "csv",
        "--tz",
        "Europe/Berlin",
    ]);
    assert_eq!(
        csv_column(&stdout(&berlin), "time"),
        ["2024-03-04T11:00:00+01:00", "2024-07-05T01:30:00.5+02:00"]
    );
    // Every value reads back as the same instant.
    for t in csv_column(&stdout(&berlin), "time") {
        t.parse::<jiff::Timestamp>().unwrap();
    }
    // The identities inventory's CSV too.
    let identities = run(&["identities", &arg(&path), "--format", "csv"]);
    assert!(identities.status.success(), "{}", stderr(&identities));
    let last_seen = csv_column(&stdout(&identities), "last_seen");
    assert!(
        last_seen.contains(&"2024-03-04T10:00:00Z".to_string()),
        "{last_seen:?}"
    );
}

/// Records of one actor at these UTC instants (seconds since the epoch).
fn at_times(who: &str, times: impl IntoIterator<Item = i64>, first_id: usize) -> Vec<String> {
    times
        .into_iter()
        .enumerate()
        .map(|(i, secs)| {
            let time = jiff::Timestamp::from_second(secs).unwrap().to_string();
            ct(
                &format!("{who}-{}", first_id + i),
                &time,
                "IAMUser",
                who,
                "GetUser",
                "null",
            )
        })
        .collect()
}

#[test]
fn profile_marks_a_burst_off_hours_and_not_an_hourly_job() {
    // Monday 2024-03-04 00:00 UTC.
    let monday = 1_709_510_400;
    let (hour, day) = (3_600, 86_400);
    // A job running at 5 past every hour for two weeks.
    let job = at_times("job", (0..14 * 24).map(|h| monday + h * hour + 300), 0);
    // A person working 9-17 on weekdays, and one night's burst of 40 events at 03:00.
    let mut person = Vec::new();
    for d in (0..14).filter(|d| d % 7 < 5) {
        for h in 9..17 {
            person.extend([monday + d * day + h * hour + 600]);
        }
    }
    let burst_night = monday + 9 * day + 3 * hour;
    person.extend((0..40).map(|i| burst_night + i * 30));
    let mut records = job;
    records.extend(at_times("dana", person, 0));
    let (_dir, path) = ndjson(&records);
    let out = run(&[
        "timeline",
        &arg(&path),
        "--profile",
        "--top",
        "2",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let profiles: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let of = |actor: &str| {
        profiles
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["actor"].as_str().unwrap().ends_with(actor))
            .cloned()
            .unwrap()
    };
    // The hourly job: every hour of every day is its habit, 23:00 included.
    let job = of("/job");
    assert_eq!(job["outside_usual"], 0, "{job}");
    for w in 0..7 {
        assert_eq!(job["usual"][w][23], true);
    }
    // The person: the burst (Wednesday of the second week, 03:00) is outside, the working
    // hours are not.
    let dana = of("/dana");
    assert_eq!(dana["outside_usual"], 40, "{dana}");
    assert_eq!(dana["counts"][2][3], 40);
    assert_eq!(dana["usual"][2][3], false);
    assert_eq!(dana["usual"][2][9], true);
    assert_eq!(dana["usual"][0][16], true);
    // The table marks exactly the burst.
    let table = run(&["timeline", &arg(&path), "--profile", "--top", "2"]);
    let text = stdout(&table);
    assert_eq!(text.matches('!').count(), 1, "{text}");
    assert!(text.contains("40!"), "{text}");
}

#[test]
fn actor_type_values_are_checked_and_non_human_means_service_or_system() {
    let (_dir, path) = two_events();
    let non_human = run(&[
        "query",
        &arg(&path),
        "--filter",
        "actor_type:non-human",
        "--format",
        "csv",
    ]);
    assert!(non_human.status.success(), "{}", stderr(&non_human));
    assert_eq!(csv_column(&stdout(&non_human), "event_id"), ["e2"]);
    let service = run(&[
        "query",
        &arg(&path),
        "--filter",
        "type:service",
        "--format",
        "csv",
    ]);
    assert_eq!(csv_column(&stdout(&service), "event_id"), ["e2"]);
    // A value the column never holds is an error naming the values, not an empty result.
    let wrong = run(&["query", &arg(&path), "--filter", "actor_type:robot"]);
    assert_eq!(wrong.status.code(), Some(2));
    let message = stderr(&wrong);
    assert!(
        message.contains("actor_type is never 'robot'")
            && message.contains("human, service, root, system, anonymous, unknown, non-human"),
        "{message}"
    );
    let outcome = run(&["query", &arg(&path), "--filter", "outcome:denied"]);
    assert_eq!(outcome.status.code(), Some(2));
    assert!(stderr(&outcome).contains("success, failure, unknown"));
    // Wildcards stay patterns.
    let wild = run(&["query", &arg(&path), "--filter", "actor_type:serv*"]);
    assert!(wild.status.success(), "{}", stderr(&wild));
}

#[test]
fn every_identity_kind_shown_is_a_filter_value() {
    use trailscope::analysis::filter;
    use trailscope::audit::identities::Kind;
    for kind in [
        Kind::Human,
        Kind::Service,
        Kind::Root,
        Kind::System,
        Kind::Anonymous,
        Kind::Unknown,
    ] {
        let text = format!("actor_type:{}", kind.as_str());
        assert!(filter::parse(&text).is_ok(), "{text}");
    }
}

#[test]
fn free_text_searches_details() {
    let sample = sample_logs().display().to_string();
    let ids = |filter: &str| {
        let out = run(&["query", &sample, "--filter", filter, "--format", "csv"]);
        assert!(out.status.success(), "{}", stderr(&out));
        csv_column(&stdout(&out), "event_id")
    };
    // Entra audit records name their category only in details...
    let in_details = ids("details:*category=usermanagement*");
    assert!(!in_details.is_empty());
    let elsewhere = "actor:*category=usermanagement* or identity:*category=usermanagement* \
        or action:*category=usermanagement* or resource:*category=usermanagement* \
        or error:*category=usermanagement*";
    assert!(ids(elsewhere).is_empty());
    // ...and free text finds exactly those events, in any case.
    assert_eq!(ids("category=UserManagement"), in_details);
    assert_eq!(ids("\"CATEGORY=usermanagement\""), in_details);
}

#[test]
fn tables_with_a_display_zone_show_whole_times() {
    let sample = sample_logs().display().to_string();
    let out = run(&["detect", &sample, "--tz", "America/New_York"]);
    let text = stdout(&out);
    let times: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split("  ").find(|c| c.starts_with("20")))
        .collect();
    assert!(!times.is_empty(), "{text}");
    for t in times {
        assert!(
            t.ends_with(" EST") || t.ends_with(" EDT"),
            "{t:?} in\n{text}"
        );
    }
}

#[test]
fn summary_timings_are_printed() {
    let sample = sample_logs().display().to_string();
    let out = run(&["summary", &sample, "--timings"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stderr(&out)
        .lines()
        .find(|l| l.contains("load_ms"))
        .map(String::from)
        .unwrap_or_default();
    let timings: Value = serde_json::from_str(&line).unwrap();
    assert!(
        timings["load_ms"].is_u64() && timings["query_ms"].is_u64(),
        "{line}"
    );
}

#[test]
fn identities_list_every_provider_an_identity_is_active_in() {
    let sample = sample_logs().display().to_string();
    let identity = "dana@northwind.example";
    // The providers of the identity's events, as the events say.
    let events = run(&[
        "query",
        &sample,
        "--filter",
        &format!("identity:{identity}"),
        "--format",
        "csv",
    ]);
    let mut providers = csv_column(&stdout(&events), "provider");
    providers.sort();
    providers.dedup();
    assert!(providers.len() > 1, "{providers:?}");
    let out = run(&["identities", &sample, "--format", "json"]);
    let inventory: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rows = inventory.as_array().unwrap();
    let row = rows.iter().find(|r| r["identity"] == identity).unwrap();
    let listed: Vec<String> = row["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, providers);
    let table = stdout(&run(&["identities", &sample]));
    let line = table.lines().find(|l| l.starts_with(identity)).unwrap();
    assert!(line.contains(&providers.join(",")), "{line}");
}
