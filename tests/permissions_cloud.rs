//! GCP and Azure permissions granted versus used (`trailscope permissions`), on fixtures in
//! the real export shapes: Cloud Audit Log entries as a Pub/Sub sink writes them
//! (`tests/fixtures/permissions-gcp/`) and Azure Activity diagnostic-settings records
//! (`tests/fixtures/permissions-azure/`).
//!
//! GCP: dana holds roles/storage.admin on projects/acme-prod and creates a bucket there and
//! one in acme-dev; erin's roles/pubsub.editor is removed and she creates a topic after;
//! frank holds a custom role created in the logs and one never defined; a group holds
//! roles/viewer; dana calls a method nothing maps; the input holds one Pub/Sub Data Access
//! entry (so Pub/Sub reads are judged) and none of Cloud Storage. Azure: gina holds Contributor and Storage
//! Blob Data Contributor on rg-app and writes VMs in rg-app and rg-other; hank's Virtual
//! Machine Contributor on the subscription is deleted and he starts a VM after.

use std::path::Path;

use serde_json::Value;
use trailscope::audit::permissions::{self, PermissionsSpec, Status};

use crate::permissions::{inventory, json_in, row};
use crate::util::{fixture, load, run};

const AZ_SUB: &str = "9f2c4e1a-5b7d-4c3e-8a19-6d0b2e4f7a81";

fn json(dir: &str, args: &[&str]) -> Value {
    json_in(dir, args)
}

fn reason(r: &Value) -> &str {
    r["reason"].as_str().unwrap()
}

const STORAGE_ADMIN: &str = "roles/storage.admin (Storage Admin) on projects/acme-prod";

#[test]
fn gcp_a_storage_admin_who_created_a_bucket_used_that_permission_and_no_other() {
    let v = json("permissions-gcp", &[]);
    let dana = "dana@acme.example";
    let create = row(&v, dana, "storage.buckets.create", STORAGE_ADMIN);
    assert_eq!(create["provider"], "gcp");
    assert_eq!(create["principal"], "user:dana@acme.example");
    assert_eq!(create["status"], "used");
    // The bucket created in acme-dev is outside the binding on acme-prod.
    assert_eq!(create["uses"], 1);
    assert_eq!(create["last_use"], "2024-06-10T14:00:00Z");
    assert_eq!(create["granted_at"], "2024-03-01T09:00:00.123456Z");
    assert_eq!(
        create["granted_by_events"],
        serde_json::json!(["perm-gcp-001"])
    );
    let delete = row(&v, dana, "storage.buckets.delete", STORAGE_ADMIN);
    assert_eq!(delete["status"], "unused");
    assert!(
        reason(delete).starts_with("not used since 2024-04-01"),
        "{delete:#}"
    );
    // Object reads are logged only in Data Access logs, which the input does not hold.
    let get = row(&v, dana, "storage.objects.get", STORAGE_ADMIN);
    assert_eq!(get["status"], "cannot_tell");
    assert!(reason(get).contains("Data Access audit logs"), "{get:#}");
    // Every permission of the role has its row, and only the one used is used.
    let dana_rows: Vec<&Value> = v["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["identity"] == dana)
        .collect();
    assert!(dana_rows.len() > 50, "{}", dana_rows.len());
    let used: Vec<&Value> = dana_rows
        .iter()
        .copied()
        .filter(|r| r["status"] == "used")
        .collect();
    assert_eq!(used.len(), 1, "{used:#?}");
}

#[test]
fn gcp_a_binding_removed_then_used_is_no_longer_granted() {
    let v = json("permissions-gcp", &["--identity", "erin@acme.example"]);
    let via = "roles/pubsub.editor (Pub/Sub Editor) on projects/acme-prod";
    let create = row(&v, "erin@acme.example", "pubsub.topics.create", via);
    assert_eq!(create["status"], "no_longer_granted");
    assert_eq!(create["uses"], 1);
    assert_eq!(create["used_after_removal"], 1);
    assert_eq!(create["removed_at"], "2024-05-01T12:00:00Z");
    assert_eq!(create["removed_by_event"], "perm-gcp-005");
    assert!(
        reason(create).starts_with(
            "pubsub.topics.create used on 2024-06-01 after the grant was removed on 2024-05-01"
        ),
        "{create:#}"
    );
    let delete = row(&v, "erin@acme.example", "pubsub.topics.delete", via);
    assert_eq!(delete["status"], "unused");
    assert_eq!(
        reason(delete),
        "not used while granted (removed on 2024-05-01)"
    );
    // The input holds Pub/Sub Data Access entries (someone's GetTopic): reads are judged.
    let get = row(&v, "erin@acme.example", "pubsub.topics.get", via);
    assert_eq!(get["status"], "unused");
}

#[test]
fn gcp_a_method_no_mapping_places_is_counted_as_cannot_tell_not_claimed() {
    let store = load(&[fixture("permissions-gcp").as_path()]);
    let result = permissions::audit_store(&store, None, &PermissionsSpec::default()).unwrap();
    // dana's Frob call: no authorizationInfo and not in the method map.
    assert_eq!(result.summary.cannot_tell_events, 1, "{:?}", result.summary);
    // erin x2, dana x2 (from authorizationInfo), frank x1 (from the method map).
    assert_eq!(result.summary.mapped_events, 5, "{:?}", result.summary);
    // Three SetIamPolicy entries and one CreateRole.
    assert_eq!(result.summary.grant_events, 4, "{:?}", result.summary);
    assert!(
        result
            .rows
            .iter()
            .all(|r| !r.permission.to_lowercase().contains("frob")),
        "a row claims the unmapped call"
    );
    assert!(
        result
            .mapping
            .contains("gcp-azure-roles: iann0036/iam-dataset"),
        "{}",
        result.mapping
    );
}

#[test]
fn gcp_a_custom_role_created_in_the_logs_expands_to_its_permissions() {
    let v = json("permissions-gcp", &["--identity", "frank@acme.example"]);
    let via = "projects/acme-prod/roles/bucketAuditor (custom role) on projects/acme-prod";
    // Placed through the public method map (the entry has no authorizationInfo).
    let update = row(&v, "frank@acme.example", "storage.buckets.update", via);
    assert_eq!(update["status"], "used");
    assert_eq!(update["uses"], 1);
    let policy = row(
        &v,
        "frank@acme.example",
        "storage.buckets.getIamPolicy",
        via,
    );
    assert_eq!(policy["status"], "cannot_tell");
    // A custom role the logs never define.
    let unknown = row(
        &v,
        "frank@acme.example",
        "(whole role)",
        "projects/acme-prod/roles/neverDefined on projects/acme-prod",
    );
    assert_eq!(unknown["status"], "cannot_tell");
    assert!(
        reason(unknown).contains("definition is not in the logs"),
        "{unknown:#}"
    );
    // A group binding: who acts as the group is not in the logs.
    let all = json("permissions-gcp", &[]);
    let group = row(
        &all,
        "group:ops@acme.example",
        "(whole role)",
        "roles/viewer (Viewer) on projects/acme-prod",
    );
    assert_eq!(group["status"], "cannot_tell");
}

fn az_via(role: &str, guid: &str, scope: &str) -> String {
    format!("{role} ({guid}) at /subscriptions/{AZ_SUB}{scope}")
}

#[test]
fn azure_contributor_on_a_resource_group_is_used_by_writes_inside_it_only() {
    let v = json("permissions-azure", &[]);
    let via = az_via(
        "Contributor",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "/resourceGroups/rg-app",
    );
    let star = row(&v, "gina@contoso.example", "* except 11 notActions", &via);
    assert_eq!(star["provider"], "azure");
    // The principal is the object id of the assignment; the identity its UPN, linked by
    // the token claims of gina's own calls.
    assert_eq!(star["principal"], "6f1d2c3b-4a59-4e87-9b10-2c3d4e5f6a7b");
    assert_eq!(star["status"], "used");
    // Two VM writes in rg-app; the one in rg-other is not this assignment's.
    assert_eq!(star["uses"], 2);
    assert_eq!(
        star["top_actions"],
        serde_json::json!([["MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE", 2]])
    );
    assert_eq!(star["last_use"], "2024-06-10T15:00:00.25Z");
}

#[test]
fn azure_an_assignment_deleted_then_used_is_no_longer_granted() {
    let v = json("permissions-azure", &["--identity", "hank@contoso.example"]);
    let via = az_via(
        "Virtual Machine Contributor",
        "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
        "",
    );
    let vms = row(
        &v,
        "hank@contoso.example",
        "Microsoft.Compute/virtualMachines/*",
        &via,
    );
    assert_eq!(vms["status"], "no_longer_granted");
    // Started a VM while assigned (anywhere in the subscription), and again after.
    assert_eq!(vms["uses"], 1);
    assert_eq!(vms["used_after_removal"], 1);
    assert_eq!(vms["granted_at"], "2024-03-01T09:02:00.123456Z");
    assert_eq!(vms["removed_at"], "2024-05-01T12:00:00.123456Z");
    let disks = row(
        &v,
        "hank@contoso.example",
        "Microsoft.Compute/disks/write",
        &via,
    );
    assert_eq!(disks["status"], "unused");
    // Reads are not in the Activity log: their patterns cannot be judged.
    let reads = row(
        &v,
        "hank@contoso.example",
        "Microsoft.Compute/disks/read",
        &via,
    );
    assert_eq!(reads["status"], "cannot_tell");
}

#[test]
fn azure_data_actions_cannot_be_told_from_activity_logs() {
    let store = load(&[fixture("permissions-azure").as_path()]);
    let result = permissions::audit_store(&store, None, &PermissionsSpec::default()).unwrap();
    let blob: Vec<_> = result
        .rows
        .iter()
        .filter(|r| r.via.starts_with("Storage Blob Data Contributor"))
        .collect();
    let data = blob
        .iter()
        .find(|r| r.permission.starts_with("data: "))
        .unwrap();
    assert_eq!(data.status, Status::CannotTell);
    assert!(
        data.reason.contains("control-plane operations only"),
        "{data:#?}"
    );
    // Its control-plane patterns (container management) are judged: unused; but for the
    // container reads, which the Activity log does not record.
    for r in blob.iter().filter(|r| !r.permission.starts_with("data: ")) {
        let expected = if r.permission.ends_with("/read") {
            Status::CannotTell
        } else {
            Status::Unused
        };
        assert_eq!(r.status, expected, "{r:#?}");
    }
    assert_eq!(blob.len(), 5, "{blob:#?}");
    assert_eq!(result.summary.grant_events, 4, "{:?}", result.summary);
}

#[test]
fn the_inventory_flags_unused_gcp_and_azure_permissions() {
    let flags = |dir: &str, identity: &str| -> Vec<String> {
        let v = inventory(dir);
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["identity"] == identity)
            .unwrap_or_else(|| panic!("{identity}: {v:#}"))["flags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["flag"] == "unused_permission")
            .map(|f| f["reason"].as_str().unwrap().to_string())
            .collect()
    };
    let dana = flags("permissions-gcp", "dana@acme.example");
    assert_eq!(dana.len(), 1, "{dana:?}");
    assert!(dana[0].contains("storage."), "{dana:?}");
    let gina = flags("permissions-azure", "gina@contoso.example");
    assert_eq!(gina.len(), 1, "{gina:?}");
    assert!(gina[0].contains("Microsoft.Storage"), "{gina:?}");
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn the_real_gcp_and_azure_samples_give_sane_rows() {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap();
    let root = Path::new(&dir);
    let store = load(&[
        root.join("gcp-audit").as_path(),
        root.join("azure-activity").as_path(),
    ]);
    let result = permissions::audit_store(&store, None, &PermissionsSpec::default()).unwrap();
    eprintln!("{:?}; {} rows", result.summary, result.rows.len());
    for r in &result.rows {
        assert!(["gcp", "azure"].contains(&r.provider.as_str()), "{r:#?}");
        assert!(!r.identity.is_empty() && !r.permission.is_empty(), "{r:#?}");
        if r.status == Status::Used {
            assert!(r.uses > 0, "{r:#?}");
        }
    }
    let out = run(&["permissions", root.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
}
