//! Export shapes responders receive (issue 20): `aws cloudtrail lookup-events` pages and
//! lines, CloudTrail Lake query results, SIEM re-exports without format markers,
//! Elasticsearch/OpenSearch dumps, Splunk exports, Azure SDK objects, AKS records with an
//! object log, arrays with missing commas and PIM records: each loads with its normalized
//! values, and the summary names the shape each file had.

use trailscope::store::{FrameStore, InputStats};

use crate::util::{Row, assert_fields, fixture, load, rows, run, stdout};

/// One fixture loaded on its own: its rows and its summary line.
fn load_one(rel: &str) -> (FrameStore, Vec<Row>, InputStats) {
    let store = load(&[&fixture(rel)]);
    let rows = rows(store.frame());
    let input = store.inputs()[0].clone();
    (store, rows, input)
}

/// The row with this event id.
#[track_caller]
fn by_id<'a>(rows: &'a [Row], id: &str) -> &'a Row {
    rows.iter()
        .find(|r| r["event_id"] == id)
        .unwrap_or_else(|| panic!("no event {id} in {rows:#?}"))
}

/// Events, duplicates and rejections account for every record seen.
#[track_caller]
fn assert_counts(input: &InputStats, events: u64, rejected: u64) {
    assert_eq!(
        (input.events, input.rejected, input.duplicates),
        (events, rejected, 0),
        "{}: {:?}",
        input.name,
        input.rejections
    );
    assert_eq!(input.seen(), events + rejected);
}

#[test]
fn lookup_events_pages_load_the_record_inside_each_event() {
    let (store, rows, input) = load_one("cloudtrail/lookup-events-pages.json");
    // Two pages, as `--output json` prints them with pagination, one after the other.
    assert_counts(&input, 5, 0);
    assert_eq!(input.shape, "json: cloudtrail-lookup-events");
    assert_eq!(input.format, Some("cloudtrail"));
    assert_fields(
        by_id(&rows, "7c1e2b10-0003-4f0e-9a51-6b1f0e000003"),
        &[
            ("time", "2025-03-10T08:05:09Z"),
            ("provider", "aws"),
            ("log_type", "management"),
            ("actor", "arn:aws:iam::111122223333:root"),
            ("action", "ConsoleLogin"),
            ("src_ip", "198.51.100.77"),
            ("outcome", "failure"),
        ],
    );
    // The second page writes EventTime as ISO text, and a value with non-ASCII letters.
    assert_fields(
        by_id(&rows, "7c1e2b10-0004-4f0e-9a51-6b1f0e000004"),
        &[
            ("time", "2025-03-10T08:09:51Z"),
            ("action", "DeleteTrail"),
            ("resource", "org-trail été"),
            ("actor", "arn:aws:iam::111122223333:user/alice"),
        ],
    );
    assert_fields(
        by_id(&rows, "7c1e2b10-0001-4f0e-9a51-6b1f0e000001"),
        &[("resource", "backup-svc"), ("src_ip", "203.0.113.10")],
    );
    // The record read back (record view, Sigma, access audit) is the CloudTrail record, not
    // the Event History wrapper around it.
    let raw = store.raw_record(store.frame(), 0).unwrap();
    let record: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(record["eventVersion"], "1.09", "{record}");
    assert!(record.get("CloudTrailEvent").is_none());
}

#[test]
fn lookup_events_lines_load_and_a_cut_record_is_rejected_with_its_line() {
    let (_store, rows, input) = load_one("cloudtrail/lookup-events.ndjson");
    assert_counts(&input, 3, 1);
    assert_eq!(input.shape, "ndjson: cloudtrail-lookup-events");
    assert_fields(
        by_id(&rows, "7c1e2b10-0002-4f0e-9a51-6b1f0e000002"),
        &[
            // EventTime is epoch seconds here; the record's own eventTime is read.
            ("time", "2025-03-10T08:02:40Z"),
            ("action", "CreateAccessKey"),
            ("actor", "arn:aws:iam::111122223333:user/alice"),
            ("outcome", "success"),
            ("resource", "backup-svc"),
            ("provider", "aws"),
        ],
    );
    let rejection = input.rejections[0].to_string();
    assert!(
        rejection.contains("lookup-events.ndjson:4") && rejection.contains("invalid JSON"),
        "{rejection}"
    );
}

#[test]
fn cloudtrail_lake_results_read_whole_event_columns_and_field_columns() {
    let (_store, rows, input) = load_one("cloudtrail/lake-query-results.json");
    // Page one selects eventJson; page two selects columns; its last row is an aggregate.
    assert_counts(&input, 5, 1);
    assert_eq!(input.shape, "json: cloudtrail-lake-results");
    assert_fields(
        by_id(&rows, "9d0f3a22-0001-4c4e-8b7a-2a9c10000001"),
        &[
            ("time", "2025-04-02T14:20:31Z"),
            ("provider", "aws"),
            ("log_type", "management"),
            ("actor", "arn:aws:iam::111122223333:user/carol"),
            ("action", "PutBucketPolicy"),
            ("src_ip", "203.0.113.55"),
            ("outcome", "success"),
            ("resource", "finance-reports"),
        ],
    );
    // Columns put back together; the identity comes from Lake's `{key=value}` struct text.
    assert_fields(
        by_id(&rows, "9d0f3a22-0004-4c4e-8b7a-2a9c10000004"),
        &[
            ("time", "2025-04-02T14:30:05Z"),
            ("actor", "arn:aws:iam::111122223333:user/eve"),
            ("action", "AuthorizeSecurityGroupIngress"),
            ("src_ip", "198.51.100.23"),
            ("outcome", "success"),
        ],
    );
    // The identity from a bare `arn` column; the error code makes it a failure.
    assert_fields(
        by_id(&rows, "9d0f3a22-0005-4c4e-8b7a-2a9c10000005"),
        &[
            ("actor", "arn:aws:iam::111122223333:user/eve"),
            ("action", "DeleteBucket"),
            ("outcome", "failure"),
        ],
    );
    let rejection = input.rejections[0].to_string();
    assert!(
        rejection.contains("lake-query-results.json:")
            && rejection.contains("no whole-event column")
            && rejection.contains("eventName_count"),
        "{rejection}"
    );
}

#[test]
fn siem_reexports_without_format_markers_are_recognized() {
    let (_s, rows, input) = load_one("cloudtrail/siem-no-eventversion.ndjson");
    assert_counts(&input, 3, 0);
    assert_eq!(input.format, Some("cloudtrail"));
    assert_fields(
        by_id(&rows, "7c1e2b10-0001-4f0e-9a51-6b1f0e000001"),
        &[
            ("time", "2025-03-10T08:01:15Z"),
            ("provider", "aws"),
            ("actor", "arn:aws:iam::111122223333:user/alice"),
            ("action", "CreateUser"),
            ("src_ip", "203.0.113.10"),
            ("outcome", "success"),
            ("resource", "backup-svc"),
            ("log_type", "management"),
        ],
    );

    let (_s, rows, input) = load_one("k8s-audit/siem-no-kind.ndjson");
    assert_counts(&input, 3, 0);
    assert_eq!(input.format, Some("k8s-audit"));
    assert_fields(
        by_id(&rows, "5b7c1d2e-0002-4a1b-8c3d-4e5f60000002"),
        &[
            ("time", "2025-05-06T11:03:10.000001Z"),
            ("provider", "kubernetes"),
            ("log_type", "audit"),
            ("actor", "system:serviceaccount:prod:web"),
            ("action", "list secrets"),
            ("src_ip", "10.0.4.17"),
            ("outcome", "failure"),
            ("resource", "kube-system"),
        ],
    );

    let (_s, rows, input) = load_one("gcp-audit/siem-no-type.ndjson");
    assert_counts(&input, 3, 0);
    assert_eq!(input.format, Some("gcp-audit"));
    assert_fields(
        by_id(&rows, "1x9k2a3b4e"),
        &[
            ("time", "2025-02-11T16:45:59Z"),
            ("provider", "gcp"),
            ("log_type", "audit"),
            ("actor", "ci-runner@acme-prod-4711.iam.gserviceaccount.com"),
            ("action", "storage.buckets.delete"),
            ("src_ip", "35.190.0.12"),
            ("outcome", "failure"),
            ("resource", "projects/_/buckets/acme-backups"),
        ],
    );
}

#[test]
fn elasticsearch_responses_and_elasticdump_lines_load_their_sources() {
    let (_s, rows, input) = load_one("cloudtrail/elasticsearch-search.json");
    // Two search responses, one after the other: 3 hits and 1 hit.
    assert_counts(&input, 4, 0);
    assert_eq!(input.shape, "json: elasticsearch-hits");
    assert_fields(
        by_id(&rows, "7c1e2b10-0005-4f0e-9a51-6b1f0e000005"),
        &[
            ("time", "2025-03-10T08:11:02Z"),
            ("provider", "aws"),
            ("log_type", "management"),
            ("actor", "arn:aws:iam::111122223333:user/bob"),
            ("action", "ListBuckets"),
            ("src_ip", "192.0.2.44"),
            ("outcome", "success"),
            ("resource", ""),
        ],
    );

    let (store, rows, input) = load_one("k8s-audit/elasticdump.ndjson");
    assert_counts(&input, 3, 0);
    assert_eq!(input.shape, "ndjson: elasticsearch-hits");
    assert_fields(
        by_id(&rows, "5b7c1d2e-0001-4a1b-8c3d-4e5f60000001"),
        &[
            ("time", "2025-05-06T11:02:03.123456Z"),
            ("provider", "kubernetes"),
            ("log_type", "audit"),
            ("actor", "alice@example.com"),
            ("action", "create pods/exec"),
            ("src_ip", "203.0.113.30"),
            ("outcome", "success"),
            ("resource", "prod/web-7d9f"),
        ],
    );
    let raw = store.raw_record(store.frame(), 0).unwrap();
    let record: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        record["kind"], "Event",
        "the _source, not the hit: {record}"
    );
}

#[test]
fn splunk_exports_and_rest_results_load_the_raw_record() {
    let (_s, rows, input) = load_one("gcp-audit/splunk-export.json");
    assert_counts(&input, 3, 0);
    assert_eq!(input.shape, "ndjson: splunk-results");
    assert_fields(
        by_id(&rows, "1x9k2a3b4d"),
        &[
            ("time", "2025-02-11T16:41:02.1Z"),
            ("provider", "gcp"),
            ("log_type", "activity"),
            ("actor", "mallory@acme.example"),
            ("action", "google.iam.admin.v1.CreateServiceAccountKey"),
            ("src_ip", "203.0.113.200"),
            ("outcome", "success"),
            ("resource", "deploy@acme-prod-4711.iam.gserviceaccount.com"),
        ],
    );

    let (_s, rows, input) = load_one("cloudtrail/splunk-rest-results.json");
    assert_counts(&input, 3, 0);
    assert_eq!(input.shape, "json: splunk-results");
    assert_fields(
        by_id(&rows, "7c1e2b10-0003-4f0e-9a51-6b1f0e000003"),
        &[
            ("provider", "aws"),
            ("actor", "arn:aws:iam::111122223333:root"),
            ("action", "ConsoleLogin"),
            ("outcome", "failure"),
            ("src_ip", "198.51.100.77"),
        ],
    );
}

#[test]
fn azure_python_sdk_objects_load_like_rest_objects() {
    let (_s, rows, input) = load_one("azure-activity/python-sdk-as-dict.json");
    assert_counts(&input, 3, 0);
    assert_eq!(input.shape, "json: azure-sdk");
    assert_fields(
        by_id(&rows, "a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a02"),
        &[
            // `str(datetime)`: a space between date and time, microseconds, an offset.
            ("time", "2025-01-20T09:15:02.5Z"),
            ("provider", "azure"),
            ("log_type", "administrative"),
            ("actor", "alice@contoso.example"),
            ("action", "MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE"),
            ("src_ip", "203.0.113.61"),
            ("outcome", "failure"),
            (
                "resource",
                "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/vm-web-01",
            ),
            ("correlation_id", "c0a8e1f2-0002-4e5f-8a9b-0c1d2e3f4a02"),
            ("service", "MICROSOFT.COMPUTE"),
        ],
    );
    // No claims: the caller (an application's object id) is still the actor.
    assert_fields(
        by_id(&rows, "a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a03"),
        &[
            ("actor", "7d3a9f10-5b2c-4e8d-9f01-a2b3c4d5e6f7"),
            ("src_ip", "20.50.2.10"),
        ],
    );
}

#[test]
fn aks_records_with_an_object_log_load_the_kubernetes_event() {
    let (_s, rows, input) = load_one("k8s-audit/aks-diagnostic-object-log.json");
    // Two records carry the log as an object, one still as JSON text.
    assert_counts(&input, 3, 0);
    assert_eq!(input.envelope, Some("aks-diagnostic"));
    assert_fields(
        by_id(&rows, "5b7c1d2e-0003-4a1b-8c3d-4e5f60000003"),
        &[
            ("time", "2025-05-06T11:04:55.5Z"),
            ("provider", "kubernetes"),
            ("log_type", "audit"),
            ("actor", "alice@example.com"),
            ("action", "create clusterrolebindings"),
            ("src_ip", "203.0.113.30"),
            ("outcome", "success"),
        ],
    );
    assert_fields(
        by_id(&rows, "5b7c1d2e-0001-4a1b-8c3d-4e5f60000001"),
        &[
            ("action", "create pods/exec"),
            ("resource", "prod/web-7d9f"),
        ],
    );
}

#[test]
fn arrays_with_missing_commas_are_recovered_and_said_so() {
    let (store, rows, input) = load_one("cloudtrail/missing-commas.json");
    assert_counts(&input, 4, 0);
    assert_eq!(
        input.shape,
        "json: concatenated (2 separators missing, recovered)"
    );
    assert_fields(
        by_id(&rows, "7c1e2b10-0004-4f0e-9a51-6b1f0e000004"),
        &[("action", "DeleteTrail"), ("time", "2025-03-10T08:09:51Z")],
    );
    // A warning for the input, where the status bar and standard error show notices.
    let (notices, count) = store.notices();
    assert_eq!(count, 1);
    assert!(notices[0].name.ends_with("missing-commas.json"));
    assert!(
        notices[0].what.starts_with("2 records followed"),
        "{notices:?}"
    );

    let (_s, rows, input) = load_one("azure-activity/missing-commas.json");
    assert_counts(&input, 2, 0);
    assert_eq!(
        input.shape,
        "json: concatenated (1 separator missing, recovered)"
    );
    assert_eq!(rows.len(), 2);
}

#[test]
fn well_formed_arrays_warn_of_nothing() {
    let (store, _rows, input) = load_one("cloudtrail/s3-delivery.json");
    assert_eq!(input.shape, "json");
    assert_eq!(store.notices().1, 0);
}

#[test]
fn pim_records_take_the_actor_from_caller_info() {
    let (_s, rows, input) = load_one("azure-activity/pim-callerinfo.json");
    assert_counts(&input, 3, 0);
    // CallerInfo as an object, as JSON text, and with only an object id.
    let actors: Vec<&str> = rows.iter().map(|r| r["actor"].as_str()).collect();
    assert_eq!(
        actors,
        [
            "bob@contoso.example",
            "carol@contoso.example",
            "7c8d9e0f-1111-2222-3333-444455556666"
        ]
    );
    assert_fields(
        by_id(&rows, "b2c3d4e5-0001-4f6a-9b0c-1d2e3f4a5b01"),
        &[
            ("time", "2025-01-21T07:30:11.123456Z"),
            ("provider", "azure"),
            ("log_type", "administrative"),
            (
                "action",
                "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTSCHEDULEREQUESTS/WRITE",
            ),
            ("src_ip", "203.0.113.62"),
            ("outcome", "success"),
            ("actor_type", "human"),
        ],
    );
}

#[test]
fn the_summary_names_each_files_shape() {
    let files = [
        "cloudtrail/lookup-events-pages.json",
        "cloudtrail/lake-query-results.json",
        "k8s-audit/elasticdump.ndjson",
        "gcp-audit/splunk-export.json",
        "azure-activity/python-sdk-as-dict.json",
        "cloudtrail/missing-commas.json",
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| fixture(f).display().to_string())
        .collect();
    let mut args = vec!["summary"];
    args.extend(paths.iter().map(String::as_str));
    let text = stdout(&run(&args));
    for (file, shape) in files.iter().zip([
        "json: cloudtrail-lookup-events",
        "json: cloudtrail-lake-results",
        "ndjson: elasticsearch-hits",
        "ndjson: splunk-results",
        "json: azure-sdk",
        "json: concatenated (2 separators missing, recovered)",
    ]) {
        let name = file.rsplit('/').next().unwrap();
        let line = text
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not in\n{text}"));
        assert!(line.contains(shape), "{line}");
    }
    assert!(
        text.contains("warnings:\n")
            && text.contains("missing-commas.json: 2 records followed the previous one"),
        "{text}"
    );
    // The JSON summary says it too.
    args.extend(["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&run(&args))).unwrap();
    let shapes: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["shape"].as_str().unwrap())
        .collect();
    assert!(
        shapes.contains(&"json: cloudtrail-lake-results"),
        "{shapes:?}"
    );
}

#[test]
fn the_record_view_shows_the_record_inside_an_event_history_event() {
    use crossterm::event::KeyCode;
    use trailscope::tui::{Harness, Settings, View};
    let settings = Settings {
        tz: jiff::tz::TimeZone::UTC,
        config: std::sync::Arc::new(trailscope::config::Config::builtin().unwrap()),
        color: false,
    };
    let store = load(&[&fixture("cloudtrail/lookup-events-pages.json")]);
    let mut h = Harness::new(store, settings, 80, 24);
    h.settle();
    h.key(KeyCode::Enter);
    h.settle();
    assert_eq!(h.state.view, View::Detail);
    let screen = h.screen();
    // The CloudTrail record, pretty-printed, not the lookup-events wrapper with its string.
    assert!(screen.contains("\"eventVersion\": \"1.09\""), "{screen}");
    assert!(!screen.contains("CloudTrailEvent"), "{screen}");
}

/// One role assignment each as the diagnostic settings write it (Event Hub, storage), as the
/// REST API and as a Log Analytics row do, in three regions' spellings of East US.
const AZURE_CASINGS: &str = r#"{"time":"2024-05-14T09:12:03Z","resourceId":"/SUBSCRIPTIONS/0B1F6471-1BF0-4DDA-AEC3-CB9272F09590/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/0D9C","operationName":"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE","category":"Administrative","resultType":"Success","correlationId":"c-1","location":"EASTUS","identity":{"claims":{"name":"dave@example.com"}}}
{"eventTimestamp":"2024-05-15T10:00:00Z","eventDataId":"e-2","resourceId":"/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/1e0d","operationName":{"value":"Microsoft.Authorization/roleAssignments/write","localizedValue":"Create role assignment"},"resourceProviderName":{"value":"Microsoft.Authorization"},"category":{"value":"Administrative"},"status":{"value":"Succeeded"},"caller":"erin@example.com","properties":{"resourceLocation":"East US"}}
{"Type":"AzureActivity","TimeGenerated":"2024-05-16T11:00:00Z","EventDataId":"e-3","OperationNameValue":"Microsoft.Authorization/roleAssignments/write","CategoryValue":"Administrative","ActivityStatusValue":"Success","Caller":"frank@example.com","SubscriptionId":"0b1f6471-1bf0-4dda-aec3-cb9272f09590","Properties_d":{"resourceLocation":"eastus"}}
"#;

#[test]
fn one_azure_operation_in_two_casings_pivots_to_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activity.ndjson");
    std::fs::write(&path, AZURE_CASINGS).unwrap();
    let path = path.to_str().unwrap();
    let store = load(&[std::path::Path::new(path)]);
    assert_eq!(store.totals(), (3, 0, 0));
    for (column, value) in [
        ("action", "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"),
        ("service", "MICROSOFT.AUTHORIZATION"),
        ("region", "eastus"),
    ] {
        let out = run(&["pivot", "--rows", column, "--format", "csv", path]);
        assert!(out.status.success(), "{out:?}");
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('(')).collect();
        assert_eq!(
            lines.len(),
            2,
            "{column}: one row under the header:\n{text}"
        );
        assert!(
            lines[1].starts_with(&format!("{value},3")),
            "{column}:\n{text}"
        );
    }
    // Every one is the privileged operation the classification names in its own casing.
    let out = run(&["query", "--filter", "privileged", "--format", "csv", path]);
    assert_eq!(stdout(&out).lines().count(), 4, "{}", stdout(&out));
}

#[test]
fn a_cloud_logging_entries_page_loads_its_entries() {
    // The body of the Cloud Logging API's `entries.list`: entries, then the next page's token.
    let (_s, rows, input) = load_one("gcp-audit/logging-entries-page.json");
    assert_counts(&input, 2, 0);
    assert_eq!(input.format, Some("gcp-audit"));
    assert_fields(
        by_id(&rows, "7q2w9ezk1m4"),
        &[
            ("time", "2025-05-14T09:12:03.118Z"),
            ("provider", "gcp"),
            ("log_type", "activity"),
            ("actor", "carol@example.com"),
            ("action", "v1.compute.instances.stop"),
            ("src_ip", "198.51.100.61"),
            ("outcome", "success"),
            ("account", "acme-prod-4821"),
        ],
    );
    assert_fields(
        by_id(&rows, "-3kd81fe2xq"),
        &[("log_type", "data_access"), ("outcome", "failure")],
    );
}
