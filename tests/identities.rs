//! The identity inventory (`trailscope identities`): the values a user sees per identity on
//! a CloudTrail export written as S3 delivers it (kind and why, counts, first and last seen,
//! MFA coverage, lifecycle, credentials, holdings, each flag with and without its
//! condition), the JSON contract, CSV formula neutralization and terminal escaping, `--view`
//! and `--sort`, and sane rows on the bundled sample and the real public exports.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use trailscope::analysis;
use trailscope::audit::identities::{
    FlagKind, IdentitiesSpec, IdentityRow, Inventory, Kind, LifecycleKind,
};
use trailscope::text::format_time_utc;

use crate::util::{fixture, load, run, sample_logs, stderr, stdout};

const LIFECYCLE: &str = "identities/cloudtrail-lifecycle.json";
const ADMIN: &str = "arn:aws:iam::111122223333:user/admin";
const CAROL: &str = "arn:aws:iam::111122223333:user/carol";
const DAVE: &str = "arn:aws:iam::111122223333:user/dave";
const ETL: &str = "arn:aws:sts::111122223333:assumed-role/etl-role/nightly";

fn inventory_with(spec: &IdentitiesSpec) -> Inventory {
    let store = load(&[&fixture(LIFECYCLE)]);
    analysis::run(store.frame(), None, spec).expect("inventory")
}

fn by_name(inventory: &Inventory) -> BTreeMap<String, IdentityRow> {
    inventory
        .rows
        .iter()
        .map(|r| (r.identity.clone(), r.clone()))
        .collect()
}

fn flags(row: &IdentityRow) -> Vec<FlagKind> {
    row.flags.iter().map(|f| f.kind).collect()
}

fn reason(row: &IdentityRow, kind: FlagKind) -> String {
    row.flags
        .iter()
        .find(|f| f.kind == kind)
        .map(|f| f.reason.clone())
        .unwrap_or_else(|| panic!("{} has no {kind:?} flag: {:?}", row.identity, row.flags))
}

fn utc(t: Option<i64>) -> String {
    t.map(format_time_utc).unwrap_or_default()
}

#[test]
fn activity_kind_mfa_and_networks_per_identity() {
    let inventory = inventory_with(&IdentitiesSpec::default());
    let rows = by_name(&inventory);
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        vec![ADMIN, CAROL, DAVE, ETL]
    );
    // Most active first.
    assert_eq!(inventory.rows[0].identity, ETL);
    let carol = &rows[CAROL];
    assert_eq!(carol.kind, Kind::Human);
    assert_eq!(carol.kind_why, "its records type it human (5 of 5 events)");
    assert_eq!(carol.providers, vec!["aws"]);
    assert_eq!(carol.accounts, vec!["111122223333"]);
    assert_eq!(carol.events, 5);
    assert_eq!(carol.active_days, 2);
    assert_eq!(utc(carol.first_seen), "2024-01-02T08:00:00Z");
    assert_eq!(utc(carol.last_seen), "2024-01-03T10:00:00Z");
    assert_eq!(carol.privileged, 1);
    assert_eq!(
        carol.last_privileged.as_ref().map(|(_, a)| a.as_str()),
        Some("CreateRole")
    );
    // Two console sign-ins, one with MFA.
    assert_eq!((carol.signins, carol.mfa_signins), (2, 1));
    assert_eq!(carol.mfa_text(), "1/2 (50%)");
    // 198.51.100.7 and .8 are one /24, 203.0.113.9 another.
    assert_eq!(carol.networks, 2);
    let etl = &rows[ETL];
    assert_eq!(etl.kind, Kind::Service);
    assert_eq!(etl.events, 119);
    assert_eq!(etl.active_days, 118);
    assert_eq!(etl.mfa_text(), "n/a");
    assert_eq!(rows[DAVE].privileged, 0);
}

#[test]
fn lifecycle_owner_credentials_and_holdings() {
    let inventory = inventory_with(&IdentitiesSpec::default());
    let end = inventory.end.expect("an end");
    assert_eq!(utc(Some(end)), "2024-04-30T11:00:00Z");
    let rows = by_name(&inventory);
    let carol = &rows[CAROL];
    let events: Vec<(LifecycleKind, String, String)> = carol
        .lifecycle
        .iter()
        .map(|e| (e.kind, utc(Some(e.time)), e.by.clone()))
        .collect();
    assert_eq!(
        events,
        vec![
            (
                LifecycleKind::Created,
                "2024-01-01T09:00:00Z".to_string(),
                ADMIN.to_string()
            ),
            (
                LifecycleKind::Deleted,
                "2024-04-20T09:00:00Z".to_string(),
                ADMIN.to_string()
            ),
        ]
    );
    // The key went with the user, and so did her administrator policy.
    let key = &carol.credentials[0];
    assert_eq!(key.id.as_deref(), Some("AKIACAROLKEY0000001"));
    assert_eq!(key.kind, "access key");
    assert_eq!(key.created_by.as_deref(), Some(ADMIN));
    assert_eq!(utc(key.last_used), "2024-01-03T10:00:00Z");
    assert_eq!(key.networks, 2);
    assert_eq!(utc(key.deleted), "2024-04-20T09:00:00Z");
    assert_eq!(carol.held().count(), 0);
    assert_eq!(carol.holdings[0].what, "AdministratorAccess");
    // The role carol created is owned by her, and orphaned by her deletion.
    let owner = rows[ETL].owner.as_ref().expect("owner");
    assert_eq!((owner.name.as_str(), owner.source), (CAROL, "creator"));
    let dave = &rows[DAVE];
    let held: Vec<&str> = dave.held().map(|h| h.what.as_str()).collect();
    assert_eq!(held, vec!["AdministratorAccess"]);
    assert_eq!(dave.holdings[0].granted_by.as_deref(), Some(ADMIN));
    let key = &dave.credentials[0];
    assert_eq!(key.age_days(end), Some(120));
    assert!(key.rotated.is_none() && key.active());
    // People have no owner.
    assert!(dave.owner.is_none());
}

#[test]
fn each_flag_with_and_without_its_condition() {
    let rows = by_name(&inventory_with(&IdentitiesSpec::default()));
    let (admin, carol, dave, etl) = (&rows[ADMIN], &rows[CAROL], &rows[DAVE], &rows[ETL]);
    // Dormant: carol's last event is 118 days before the end; dave read a week before it.
    assert!(reason(carol, FlagKind::Dormant).contains("no activity for 118 days"));
    assert!(!flags(dave).contains(&FlagKind::Dormant));
    // Reactivated: admin was silent from day 0 to day 110.
    assert!(reason(admin, FlagKind::Reactivated).contains("after 109 days"));
    assert!(!flags(dave).contains(&FlagKind::Reactivated));
    // Orphaned: the role's creator was deleted; people are never orphaned.
    assert!(reason(etl, FlagKind::Orphaned).contains("was deleted on 2024-04-20"));
    assert!(!flags(dave).contains(&FlagKind::Orphaned));
    // Never used: admin's spare key; dave's key is used every week.
    assert!(reason(admin, FlagKind::NeverUsedCredential).contains("AKIAADMINSPARE00001"));
    assert!(!flags(dave).contains(&FlagKind::NeverUsedCredential));
    // Unrotated: dave's key is 120 days old; carol's was deleted with her.
    assert!(reason(dave, FlagKind::UnrotatedCredential).contains("120 days old"));
    assert!(!flags(carol).contains(&FlagKind::UnrotatedCredential));
    // Unused privilege: dave holds AdministratorAccess and never used it; the role's grant
    // is 5 days old (grace period).
    assert!(reason(dave, FlagKind::UnusedPrivilege).contains("AdministratorAccess"));
    assert!(!flags(etl).contains(&FlagKind::UnusedPrivilege));
    // Privileged without MFA: the role's CreatePolicy with mfaAuthenticated false.
    assert_eq!(etl.privileged_without_mfa, 1);
    assert!(flags(etl).contains(&FlagKind::PrivilegedWithoutMfa));
    assert!(!flags(dave).contains(&FlagKind::PrivilegedWithoutMfa));
    // The thresholds are the spec's.
    let spec = IdentitiesSpec {
        dormant_days: 200,
        new_grant_days: 0,
        ..IdentitiesSpec::default()
    };
    let rows = by_name(&inventory_with(&spec));
    assert!(!flags(&rows[CAROL]).contains(&FlagKind::Dormant));
    assert!(reason(&rows[ETL], FlagKind::UnusedPrivilege).contains("PowerUserAccess"));
}

#[test]
fn a_console_password_removed_or_deleted_with_its_user_is_not_flagged_unused() {
    let path = fixture_arg("identities/cloudtrail-console-passwords.json");
    let output = run(&["identities", &path, "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: Value = serde_json::from_str(&stdout(&output)).expect("a JSON array");
    let unused_password = |user: &str| -> Option<String> {
        let arn = format!("arn:aws:iam::111122223333:user/{user}");
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["identity"] == arn.as_str())
            .unwrap_or_else(|| panic!("no row for {user}: {rows:#}"));
        row["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["flag"] == "unused_console_password")
            .map(|f| f["reason"].as_str().unwrap().to_string())
    };
    // Every user got a password on 2024-01-10 and never signed in to the console.
    // hana kept hers: flagged.
    let hana = unused_password("hana").expect("hana's password is unused");
    assert!(hana.contains("set on 2024-01-10"), "{hana}");
    // frank's was changed (UpdateLoginProfile): still there, set on the change.
    let frank = unused_password("frank").expect("frank's password is unused");
    assert!(frank.contains("set on 2024-01-20"), "{frank}");
    // erin's was removed (DeleteLoginProfile), and gus was deleted: no password left.
    assert_eq!(unused_password("erin"), None);
    assert_eq!(unused_password("gus"), None);
}

#[test]
fn configured_owners_and_break_glass_accounts() {
    let spec = IdentitiesSpec {
        owners: [(ETL.to_string(), DAVE.to_string())].into(),
        breakglass: vec!["*user/admin".to_string()],
        ..IdentitiesSpec::default()
    };
    let rows = by_name(&inventory_with(&spec));
    let owner = rows[ETL].owner.as_ref().expect("owner");
    assert_eq!((owner.name.as_str(), owner.source), (DAVE, "configured"));
    // Dave is not gone: no orphan.
    assert!(!flags(&rows[ETL]).contains(&FlagKind::Orphaned));
    assert_eq!(rows[ADMIN].kind, Kind::Root);
    assert!(rows[ADMIN].kind_why.contains("break-glass"));
}

fn fixture_arg(rel: &str) -> String {
    fixture(rel).display().to_string()
}

#[test]
fn json_contract_fields() {
    let output = run(&["identities", &fixture_arg(LIFECYCLE), "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&output)).expect("a JSON array");
    assert_eq!(rows.len(), 4);
    let carol = rows.iter().find(|r| r["identity"] == CAROL).expect("carol");
    assert_eq!(carol["kind"], "human");
    assert_eq!(carol["providers"], serde_json::json!(["aws"]));
    assert_eq!(
        carol["actors"],
        serde_json::json!([{"actor": CAROL, "provider": "aws", "why": "the actor itself"}])
    );
    assert_eq!(carol["first_seen"], "2024-01-02T08:00:00Z");
    assert_eq!(carol["last_seen"], "2024-01-03T10:00:00Z");
    assert_eq!(carol["events"], 5);
    assert_eq!(carol["mfa"]["coverage"], 0.5);
    assert_eq!(carol["lifecycle"][0]["event"], "created");
    assert_eq!(carol["lifecycle"][0]["by"], ADMIN);
    assert_eq!(carol["credentials"][0]["id"], "AKIACAROLKEY0000001");
    assert_eq!(carol["flags"][0]["flag"], "dormant");
    let etl = rows.iter().find(|r| r["identity"] == ETL).expect("etl");
    assert_eq!(etl["owner"]["name"], CAROL);
    assert_eq!(etl["owner"]["gone"], "deleted");
    assert_eq!(etl["mfa"]["coverage"], Value::Null);
}

#[test]
fn hostile_actor_is_escaped_in_tables_and_neutralized_in_csv() {
    let path = fixture_arg("identities/cloudtrail-hostile.json");
    let table = run(&["identities", &path]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    assert!(!text.contains('\u{1b}'), "raw escape in {text:?}");
    assert!(text.contains("\\e[31mred"), "{text}");
    let csv = run(&["identities", &path, "--format", "csv"]);
    let text = stdout(&csv);
    assert!(!text.contains('\u{1b}'));
    let line = text.lines().nth(1).expect("a row");
    // The user agent cell starts with a quote mark, so no spreadsheet reads it as a formula.
    assert!(line.contains(",'=cmd|' /C calc'!A0,"), "{line}");
}

#[test]
fn view_filter_and_sort_select_and_order_identities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let views = dir.path().join("views.toml");
    std::fs::write(
        &views,
        format!("[view.daves-events]\nfilter = 'actor:\"{DAVE}\"'\n"),
    )
    .expect("write views");
    let path = fixture_arg(LIFECYCLE);
    let views = views.display().to_string();
    let output = run(&[
        "identities",
        &path,
        "--views",
        &views,
        "--view",
        "daves-events",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&output)).expect("json");
    let names: Vec<&str> = rows.iter().filter_map(|r| r["identity"].as_str()).collect();
    assert_eq!(names, vec![DAVE]);
    let output = run(&["identities", &path, "--sort", "identity", "--format", "csv"]);
    let first: Vec<String> = stdout(&output)
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .collect();
    assert_eq!(first, vec![ADMIN, CAROL, DAVE, ETL]);
    let bad = run(&["identities", &path, "--sort", "nonsense"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("unknown identities column"));
}

/// Rows that add up: every event with an actor belongs to exactly one identity, and each
/// row's numbers are consistent.
fn assert_sane(paths: &[PathBuf]) {
    let refs: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
    let store = load(&refs);
    let frame = store.frame();
    let inventory = analysis::run(frame, None, &IdentitiesSpec::default()).expect("inventory");
    let with_actor = frame.height()
        - frame
            .column(trailscope::schema::ACTOR)
            .expect("actor")
            .null_count();
    let total: u64 = inventory.rows.iter().map(|r| r.events).sum();
    assert_eq!(total as usize, with_actor);
    for row in &inventory.rows {
        // Events without a time count, but on no day.
        assert!(row.events > 0, "{row:?}");
        assert_eq!(row.active_days >= 1, row.first_seen.is_some(), "{row:?}");
        assert!(row.first_seen <= row.last_seen, "{row:?}");
        assert!(row.privileged <= row.events && row.failures <= row.events);
        assert!(row.mfa_signins <= row.signins);
        assert!(!row.providers.is_empty() && !row.actors.is_empty());
    }
}

#[test]
fn bundled_sample_rows_add_up() {
    assert_sane(&[sample_logs()]);
}

#[test]
fn bundled_sample_shows_who_created_the_backdoor_account_and_what_it_holds() {
    let store = load(&[&sample_logs()]);
    let inventory =
        analysis::run(store.frame(), None, &IdentitiesSpec::default()).expect("inventory");
    let rows = by_name(&inventory);
    let svc = &rows["svc-sync@northwind.example"];
    let created = &svc.lifecycle[0];
    assert_eq!(created.kind, LifecycleKind::Created);
    assert_eq!(
        (
            created.by.as_str(),
            created.provider.as_str(),
            created.action.as_str()
        ),
        ("dana@northwind.example", "entra", "Add user")
    );
    let held: Vec<(&str, Option<&str>)> = svc
        .held()
        .map(|h| (h.what.as_str(), h.granted_by.as_deref()))
        .collect();
    assert!(
        held.contains(&("Global Administrator", Some("dana@northwind.example"))),
        "{held:?}"
    );
    // One person across AWS (her Identity Center session), Entra, GCP, Kubernetes and Okta;
    // MFA on every sign-in but the AWS console one of the planted incident, whose
    // privileged actions without MFA are flagged.
    let dana = &rows["dana@northwind.example"];
    assert_eq!(
        dana.providers,
        vec!["aws", "entra", "gcp", "kubernetes", "okta"]
    );
    assert_eq!(dana.signins, dana.mfa_signins + 1);
    assert!(flags(dana).contains(&FlagKind::PrivilegedWithoutMfa));
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn real_samples_rows_add_up() {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_default();
    assert!(dir.join("SOURCES.md").is_file(), "no SOURCES.md in {dir:?}");
    assert_sane(&[dir]);
}

/// Source addresses that are no address: Entra's `0.0.0.0` loads as null, GCP's `private` and
/// `gce-internal-ip` stay as written, and none of them is a network, matches a CIDR or is new.
#[test]
fn placeholder_addresses_are_no_network() {
    let dir = fixture_arg("address-placeholders");
    let rows = json_of(&["identities", &dir, "--format", "json"]);
    let dana = rows
        .iter()
        .find(|r| r["identity"] == "dana@corp.example")
        .expect("dana");
    assert_eq!(
        dana["networks"], 1,
        "only 203.0.113.7 is an address: {dana}"
    );
    let output = run(&[
        "query",
        &dir,
        "--columns",
        "provider,src_ip",
        "--format",
        "csv",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut values: Vec<String> = stdout(&output).lines().skip(1).map(String::from).collect();
    values.sort();
    values.dedup();
    assert_eq!(
        values,
        [
            "entra,",
            "gcp,203.0.113.7",
            "gcp,gce-internal-ip",
            "gcp,private"
        ]
    );
    let output = run(&[
        "query",
        &dir,
        "--filter",
        "ip:0.0.0.0/0",
        "--columns",
        "src_ip",
        "--format",
        "csv",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).lines().skip(1).collect::<Vec<_>>(),
        ["203.0.113.7"]
    );

    // After ten days of privileged calls from one address, calls from the placeholders are
    // from no new network; a call from a new address is.
    let month = tempfile::tempdir().expect("tempdir");
    let call = |id: &str, time: String, ip: &str| {
        serde_json::json!({
            "insertId": id, "logName": "projects/corp-prod/logs/cloudaudit.googleapis.com%2Factivity",
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "authenticationInfo": {"principalEmail": "dana@corp.example"},
                "methodName": "SetIamPolicy", "serviceName": "cloudresourcemanager.googleapis.com",
                "resourceName": "projects/corp-prod",
                "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": "google-cloud-sdk gcloud/460.0.0"},
                "status": {}},
            "resource": {"type": "project", "labels": {"project_id": "corp-prod"}},
            "severity": "NOTICE", "timestamp": time})
        .to_string()
    };
    let mut lines = Vec::new();
    for day in 1..=10 {
        for hour in [10, 11, 12] {
            let id = format!("learn-{day}-{hour}");
            lines.push(call(
                &id,
                format!("2026-03-{day:02}T{hour}:00:00Z"),
                "203.0.113.7",
            ));
        }
    }
    let placeholders = ["private", "gce-internal-ip", "0.0.0.0"];
    for (i, ip) in placeholders.iter().enumerate() {
        lines.push(call(
            &format!("placeholder-{i}"),
            format!("2026-03-12T1{i}:00:00Z"),
            ip,
        ));
    }
    lines.push(call(
        "new-address",
        "2026-03-13T10:00:00Z".into(),
        "198.51.100.9",
    ));
    let file = month.path().join("gcp-activity.ndjson");
    std::fs::write(&file, lines.join("\n") + "\n").expect("write");
    let path = month.path().display().to_string();
    let findings = json_of(&[
        "detect",
        &path,
        "--format",
        "json",
        "--min-severity",
        "info",
    ]);
    let cited: Vec<&str> = findings
        .iter()
        .filter(|f| {
            f["rule"] == "first-seen-source-for-privileged-action"
                || f["rule"] == "impossible-travel"
        })
        .flat_map(|f| f["event_ids"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    assert!(
        cited.contains(&"new-address"),
        "the rule runs: {findings:#?}"
    );
    assert!(
        !cited.iter().any(|id| id.starts_with("placeholder-")),
        "{findings:#?}"
    );
}

/// The JSON array a command prints (it must succeed).
fn json_of(args: &[&str]) -> Vec<Value> {
    let output = run(args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("a JSON array")
}
