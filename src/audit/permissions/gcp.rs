//! GCP IAM granted versus used. Grants: the binding deltas of Cloud Audit Log entries
//! (`serviceData.policyDelta.bindingDeltas[]` of `SetIamPolicy` on any resource, and
//! BigQuery's `metadata.datasetChange.bindingDeltas[]`), ADD opening and REMOVE closing a
//! binding of a role to a member on the entry's `resourceName`; a REMOVE with no ADD before
//! it closes a binding older than the logs. Roles: predefined roles expand to their
//! permissions with iann0036/iam-dataset ([`super::cloud_catalog`]); custom roles with the
//! permissions their `CreateRole`/`UpdateRole` entries gave (the last definition seen); any
//! other role is "cannot tell".
//!
//! Use: the permissions an entry's `authorizationInfo[]` says Google checked and granted
//! (Google's own record of which permission a call needed); entries without it are mapped
//! from `methodName` with the dataset's method map, and calls neither places are counted as
//! cannot-tell events, never guessed. A use counts for a binding only inside its scope: the
//! project for a project binding, the resource (or below it) for a resource binding;
//! organization and folder bindings count every project, as the logs do not show the
//! hierarchy.
//!
//! Data Access audit logs are off by default in GCP (except BigQuery), so permissions whose
//! use only they record (reads: a last segment starting with `get`, `list`, `search`,
//! `read` or `query`; and object-, row- and message-level data operations, see
//! [`data_access_only`]) are "cannot tell" when unused, unless the input holds Data Access
//! entries of that service (then they are judged like the rest).

use std::collections::{BTreeMap, HashMap, HashSet};

use polars::prelude::*;
use serde_json::Value;

use super::cloud::{
    Frame, Ledger, READ_CHUNK, Tally, Window, Windowed, category_ids, identities_of, record_at,
    select, successful,
};
use super::cloud_catalog::Gcp;
use super::{PermissionRow, ReadRecords};
use crate::Result;
use crate::detectors::event::{i64s, strings, u64s};
use crate::schema::{
    ACCOUNT, ACTION, ACTOR, EVENT_ID, LOG_TYPE, RESOURCE, SERVICE, TIME, has_category_id,
};

/// Roles with more permissions than this (the basic roles and the largest admin roles) show
/// their unused permissions one row per service, not one per permission: thousands of rows
/// would hide the few that were used.
const ITEMIZE_UP_TO: usize = 300;

/// Data operations whose use only Data Access logs record, beyond the read verbs.
const DATA_OPERATIONS: [&str; 14] = [
    "storage.objects.",
    "storage.multipartUploads.",
    "bigquery.tables.getData",
    "bigquery.tables.updateData",
    "pubsub.topics.publish",
    "pubsub.subscriptions.consume",
    "secretmanager.versions.access",
    "cloudkms.cryptoKeyVersions.use",
    "spanner.databases.read",
    "spanner.databases.write",
    "spanner.databases.select",
    "datastore.entities.",
    "bigtable.tables.readRows",
    "bigtable.tables.mutateRows",
];

/// Whether a permission's use is recorded only in Data Access audit logs (off by default).
pub fn data_access_only(permission: &str) -> bool {
    let verb = permission.rsplit('.').next().unwrap_or("");
    ["get", "list", "search", "read", "query"]
        .iter()
        .any(|v| verb.starts_with(v))
        || DATA_OPERATIONS.iter().any(|d| permission.starts_with(d))
}

/// A binding of a role to a member on a resource, over a window.
#[derive(Debug, Clone)]
struct Binding {
    /// The resource it is set on (`projects/p`, `organizations/1`, `projects/_/buckets/b`).
    scope: String,
    role: String,
    /// As written (`user:alice@example.com`).
    member: String,
    conditional: bool,
    window: Window,
}

impl Windowed for Binding {
    fn window_mut(&mut self) -> &mut Window {
        &mut self.window
    }
}

/// A permission checked for a call, where.
struct Call {
    time: i64,
    permission: String,
    project: String,
    resource: String,
}

/// Whether a call on `resource` of `project` is inside a binding set on `scope`.
fn in_scope(scope: &str, project: &str, resource: &str) -> bool {
    let scope = scope.trim_end_matches('/');
    if scope.starts_with("organizations/") || scope.starts_with("folders/") {
        return true;
    }
    let under = |r: &str| r == scope || r.strip_prefix(scope).is_some_and(|t| t.starts_with('/'));
    match scope.strip_prefix("projects/") {
        Some(p) if !p.contains('/') => p == project || under(resource),
        _ => under(resource),
    }
}

/// The email of an individual member (`user:`, `serviceAccount:`); None for groups,
/// domains, `allUsers`, principal sets and deleted members.
fn individual(member: &str) -> Option<&str> {
    let (kind, email) = member.split_once(':')?;
    matches!(kind, "user" | "serviceAccount").then_some(email)
}

fn text<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn list_at(v: &Value, path: &[&str]) -> Option<Vec<String>> {
    let list = path.iter().try_fold(v, |v, k| v.get(k))?.as_array()?;
    Some(
        list.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    )
}

/// The permissions a role entry (`response`, or `request.role`) lists.
fn role_permissions(proto: &Value) -> Option<Vec<String>> {
    [&["response"][..], &["request", "role"]]
        .into_iter()
        .find_map(|at| {
            ["included_permissions", "includedPermissions"]
                .into_iter()
                .find_map(|k| list_at(proto, &[at, &[k]].concat()))
        })
}

/// What the grant entries say: bindings, and custom role definitions.
#[derive(Default)]
struct Grants {
    bindings: Vec<Binding>,
    custom_roles: HashMap<String, Vec<String>>,
    read: u64,
}

impl Grants {
    /// A role's title and permissions: a predefined role's from the dataset, a custom
    /// role's from the logs; None when neither knows it.
    fn role(&self, role: &str) -> Option<(&str, Vec<&str>)> {
        match Gcp::get().role(role) {
            Some(r) => Some((r.title, r.permissions.clone())),
            None => self
                .custom_roles
                .get(role)
                .map(|list| ("custom role", list.iter().map(String::as_str).collect())),
        }
    }
}

/// What every binding is judged against.
struct Judging<'a> {
    frame: &'a Frame<'a>,
    grants: &'a Grants,
    /// Services (permission prefixes) whose Data Access entries the input holds.
    data_access: &'a HashSet<String>,
}

fn is_grant_method(action: &str) -> bool {
    let lower = action.to_ascii_lowercase();
    lower.contains("setiampolicy")
        || lower.contains("setiampermissions")
        || lower.contains("dataset")
        || lower.ends_with("createrole")
        || lower.ends_with("updaterole")
}

fn grants(events: &DataFrame, read: ReadRecords<'_>) -> Result<Grants> {
    let wanted = category_ids(ACTION, &is_grant_method);
    if wanted.is_empty() {
        return Ok(Grants::default());
    }
    let filter = successful("gcp").and(has_category_id(ACTION, wanted));
    let df = select(events, filter, &[TIME, EVENT_ID, ACTION, RESOURCE])?;
    let (rows, times, ids, actions, resources) = (
        u64s(&df, super::cloud::ROW)?,
        i64s(&df, TIME)?,
        strings(&df, EVENT_ID)?,
        strings(&df, ACTION)?,
        strings(&df, RESOURCE)?,
    );
    let asked: Vec<u32> = rows.iter().map(|r| r.unwrap_or(0) as u32).collect();
    let records = read(&asked);
    // (time, frame order, delta, event, added) so that same-time deltas keep the log's order.
    let mut deltas: Vec<(i64, usize, Binding, String, bool)> = Vec::new();
    let mut out = Grants::default();
    let mut role_entries: Vec<(i64, String, Value)> = Vec::new();
    for i in 0..df.height() {
        let Some(Some(time)) = times.get(i) else {
            continue;
        };
        let Some(record) = record_at(&records, i) else {
            continue;
        };
        let proto = record.get("protoPayload").unwrap_or(&record);
        let scope = text(proto, &["resourceName"])
            .map(str::to_string)
            .or_else(|| resources.get(i).cloned())
            .unwrap_or_default();
        let event_id = ids.get(i).cloned().unwrap_or_default();
        let action = actions.get(i).map(String::as_str).unwrap_or("");
        let lower = action.to_ascii_lowercase();
        if lower.ends_with("createrole") || lower.ends_with("updaterole") {
            out.read += 1;
            role_entries.push((*time, scope, proto.clone()));
            continue;
        }
        let lists = [
            &["serviceData", "policyDelta", "bindingDeltas"][..],
            &["metadata", "datasetChange", "bindingDeltas"],
        ];
        let mut any = false;
        for path in lists {
            let Some(list) = path
                .iter()
                .try_fold(proto, |v, k| v.get(k))
                .and_then(Value::as_array)
            else {
                continue;
            };
            for d in list {
                let (Some(role), Some(member)) = (text(d, &["role"]), text(d, &["member"])) else {
                    continue;
                };
                let add = text(d, &["action"]).is_some_and(|a| a.eq_ignore_ascii_case("ADD"));
                any = true;
                deltas.push((
                    *time,
                    deltas.len(),
                    Binding {
                        scope: scope.clone(),
                        role: role.to_string(),
                        member: member.to_string(),
                        conditional: d.get("condition").is_some_and(|c| !c.is_null()),
                        window: Window::default(),
                    },
                    event_id.clone(),
                    add,
                ));
            }
        }
        out.read += u64::from(any);
    }
    role_entries.sort_by_key(|e| e.0);
    for (_, scope, proto) in role_entries {
        let name = text(&proto, &["response", "name"]).map_or(scope, str::to_string);
        let permissions = match role_permissions(&proto) {
            Some(list) => list,
            None => {
                // A delta only: applied to the definition seen before, if any.
                let Some(mut known) = out.custom_roles.get(&name).cloned() else {
                    continue;
                };
                let delta = |k: &str| list_at(&proto, &["serviceData", "permissionDelta", k]);
                known.extend(delta("addedPermissions").unwrap_or_default());
                let removed = delta("removedPermissions").unwrap_or_default();
                known.retain(|p| !removed.contains(p));
                known
            }
        };
        out.custom_roles.insert(name, permissions);
    }
    deltas.sort_by_key(|d| (d.0, d.1));
    let mut ledger = Ledger::new();
    for (time, _, binding, event, add) in deltas {
        let key = (
            binding.scope.clone(),
            binding.role.clone(),
            binding.member.clone(),
        );
        if add {
            ledger.grant(key, binding, time, event);
        } else {
            ledger.revoke(key, binding, time, event);
        }
    }
    out.bindings = ledger.into_grants();
    out.bindings.sort_by(|a, b| {
        (&a.member, &a.role, &a.scope, a.window.from).cmp(&(
            &b.member,
            &b.role,
            &b.scope,
            b.window.from,
        ))
    });
    Ok(out)
}

/// The calls of the members, by lowercase email; the count of calls mapped and not; the
/// services (and permission prefixes) with Data Access entries in the input.
struct Usage {
    calls: HashMap<String, Vec<Call>>,
    mapped: u64,
    cannot_tell: u64,
    data_access: HashSet<String>,
}

fn usage(events: &DataFrame, read: ReadRecords<'_>, members: &HashSet<String>) -> Result<Usage> {
    let mut out = Usage {
        calls: HashMap::new(),
        mapped: 0,
        cannot_tell: 0,
        data_access: HashSet::new(),
    };
    // Services whose Data Access entries the input holds, from the columns alone.
    let logged = select(
        events,
        successful("gcp").and(has_category_id(
            LOG_TYPE,
            category_ids(LOG_TYPE, &|t| t == "data_access"),
        )),
        &[SERVICE],
    )?;
    // The `service` column holds `storage` (the provider drops `.googleapis.com`).
    for service in strings(&logged, SERVICE)? {
        let prefix = service.strip_suffix(".googleapis.com").unwrap_or(&service);
        if !prefix.is_empty() {
            out.data_access.insert(prefix.to_string());
        }
    }
    let actor_ids = category_ids(ACTOR, &|a| members.contains(&a.to_ascii_lowercase()));
    if actor_ids.is_empty() {
        return Ok(out);
    }
    let filter = successful("gcp").and(has_category_id(ACTOR, actor_ids));
    let df = select(
        events,
        filter,
        &[TIME, ACTOR, ACTION, ACCOUNT, RESOURCE, LOG_TYPE],
    )?;
    let (rows, times, actors, actions, projects, resources, log_types) = (
        u64s(&df, super::cloud::ROW)?,
        i64s(&df, TIME)?,
        strings(&df, ACTOR)?,
        strings(&df, ACTION)?,
        strings(&df, ACCOUNT)?,
        strings(&df, RESOURCE)?,
        strings(&df, LOG_TYPE)?,
    );
    let catalog = Gcp::get();
    for start in (0..df.height()).step_by(READ_CHUNK) {
        let stop = (start + READ_CHUNK).min(df.height());
        let asked: Vec<u32> = rows[start..stop]
            .iter()
            .map(|r| r.unwrap_or(0) as u32)
            .collect();
        let records = read(&asked);
        for i in start..stop {
            let Some(Some(time)) = times.get(i) else {
                continue;
            };
            let project = projects.get(i).cloned().unwrap_or_default();
            let resource = resources.get(i).cloned().unwrap_or_default();
            let record = record_at(&records, i - start);
            let mut checked = authorized(record.as_ref(), &resource);
            if checked.is_empty() {
                let method = actions.get(i).map(String::as_str).unwrap_or("");
                checked = catalog
                    .method_permissions(method)
                    .unwrap_or_default()
                    .iter()
                    .map(|p| (p.to_string(), resource.clone()))
                    .collect();
            }
            if checked.is_empty() {
                out.cannot_tell += 1;
                continue;
            }
            out.mapped += 1;
            let data_access = log_types.get(i).is_some_and(|t| t == "data_access");
            let actor = actors
                .get(i)
                .map(|a| a.to_ascii_lowercase())
                .unwrap_or_default();
            let calls = out.calls.entry(actor).or_default();
            for (permission, resource) in checked {
                if data_access && let Some((prefix, _)) = permission.split_once('.') {
                    out.data_access.insert(prefix.to_string());
                }
                calls.push(Call {
                    time: *time,
                    permission,
                    project: project.clone(),
                    resource,
                });
            }
        }
    }
    Ok(out)
}

/// The IAM permissions an entry's `authorizationInfo[]` says were checked and granted, with
/// the resource each was checked on (Kubernetes RBAC checks of GKE are not IAM permissions).
fn authorized(record: Option<&Value>, resource: &str) -> Vec<(String, String)> {
    let Some(record) = record else {
        return Vec::new();
    };
    let proto = record.get("protoPayload").unwrap_or(record);
    let Some(list) = proto.get("authorizationInfo").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for a in list {
        let Some(permission) = text(a, &["permission"]) else {
            continue;
        };
        if a.get("granted").and_then(Value::as_bool) != Some(true)
            || permission.starts_with("io.k8s")
            || !permission.contains('.')
        {
            continue;
        }
        let on = text(a, &["resource"]).unwrap_or(resource).to_string();
        if !out.iter().any(|(p, r)| p == permission && *r == on) {
            out.push((permission.to_string(), on));
        }
    }
    out
}

/// The GCP rows of `events`, the grant entries read, and the calls mapped and not.
pub(super) fn rows(
    events: &DataFrame,
    frame: &Frame<'_>,
    read: ReadRecords<'_>,
) -> Result<(Vec<PermissionRow>, super::CloudCounts)> {
    let grants = grants(events, read)?;
    let mut counts = super::CloudCounts {
        grant_events: grants.read,
        ..Default::default()
    };
    if grants.bindings.is_empty() {
        return Ok((Vec::new(), counts));
    }
    let members: HashSet<String> = grants
        .bindings
        .iter()
        .filter_map(|b| individual(&b.member))
        .map(str::to_ascii_lowercase)
        .collect();
    let used = usage(events, read, &members)?;
    counts.mapped = used.mapped;
    counts.cannot_tell = used.cannot_tell;
    let identities = identities_of(events, "gcp")?;
    let judging = Judging {
        frame,
        grants: &grants,
        data_access: &used.data_access,
    };
    let mut out = Vec::new();
    for binding in &grants.bindings {
        let email = individual(&binding.member);
        let identity = email
            .and_then(|e| identities.get(&e.to_ascii_lowercase()).cloned())
            .unwrap_or_else(|| email.unwrap_or(&binding.member).to_string());
        let (title, permissions) = grants.role(&binding.role).unwrap_or_default();
        let via = if title.is_empty() {
            format!("{} on {}", binding.role, binding.scope)
        } else {
            format!("{} ({title}) on {}", binding.role, binding.scope)
        };
        let base = PermissionRow {
            permission: "(whole role)".into(),
            via,
            conditional: binding.conditional,
            ..binding.window.stamp(PermissionRow::blank(
                identity,
                binding.member.clone(),
                "gcp",
            ))
        };
        if email.is_none() {
            out.push(PermissionRow {
                reason: format!(
                    "granted to {}: who acts as it is not in the logs",
                    binding.member
                ),
                ..base
            });
            continue;
        }
        if permissions.is_empty() {
            let reason = if binding.role.starts_with("roles/") {
                format!(
                    "{} is not a predefined role in {}",
                    binding.role,
                    super::cloud_catalog::versions_line()
                )
            } else {
                format!(
                    "cannot tell what {} grants: the custom role's definition is not in the logs",
                    binding.role
                )
            };
            out.push(PermissionRow { reason, ..base });
            continue;
        }
        let calls = email
            .and_then(|e| used.calls.get(&e.to_ascii_lowercase()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let others: Vec<&Binding> = grants
            .bindings
            .iter()
            .filter(|o| o.member == binding.member && !std::ptr::eq(*o, binding))
            .collect();
        out.extend(judging.binding_rows(binding, &permissions, calls, &others, &base));
    }
    Ok((out, counts))
}

impl Judging<'_> {
    /// The rows of one binding of an individual member: one per permission, or for a role too
    /// large to itemize, one per permission used and one per service for the rest. `others`
    /// are the member's other bindings (a call after the removal they cover is theirs).
    fn binding_rows(
        &self,
        binding: &Binding,
        permissions: &[&str],
        calls: &[Call],
        others: &[&Binding],
        base: &PermissionRow,
    ) -> Vec<PermissionRow> {
        let (frame, data_access) = (self.frame, self.data_access);
        let wanted: HashSet<&str> = permissions.iter().copied().collect();
        let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
        for call in calls {
            let Some(&permission) = wanted.get(call.permission.as_str()) else {
                continue;
            };
            if !in_scope(&binding.scope, &call.project, &call.resource) {
                continue;
            }
            if binding.window.holds_at(call.time) {
                tallies
                    .entry(permission)
                    .or_default()
                    .used(permission, call.time);
            } else if binding.window.removed_before(call.time) {
                let covered = others.iter().any(|o| {
                    o.window.holds_at(call.time)
                        && in_scope(&o.scope, &call.project, &call.resource)
                        && self
                            .grants
                            .role(&o.role)
                            .is_some_and(|(_, list)| list.contains(&permission))
                });
                if !covered {
                    tallies
                        .entry(permission)
                        .or_default()
                        .used_after(permission, call.time);
                }
            }
        }
        let blind = |permission: &str| -> Option<String> {
            let prefix = permission.split('.').next().unwrap_or("");
            (data_access_only(permission) && !data_access.contains(prefix)).then(|| {
                format!(
                    "its use is logged only in Data Access audit logs, which the input does not \
                 hold for {prefix} (they are off by default)"
                )
            })
        };
        let mut out = Vec::new();
        let itemize = permissions.len() <= ITEMIZE_UP_TO;
        // Per service: (permissions not itemized, of which the logs cannot show the use).
        let mut rest: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for &permission in permissions {
            let tally = tallies.remove(permission).unwrap_or_default();
            if !itemize && tally.is_empty() {
                let group = rest
                    .entry(permission.split('.').next().unwrap_or(permission))
                    .or_default();
                group.0 += 1;
                group.1 += u64::from(blind(permission).is_some());
                continue;
            }
            let mut row = PermissionRow {
                permission: permission.to_string(),
                actions_granted: 1,
                ..base.clone()
            };
            tally.judge(&mut row, frame, blind(permission).as_deref());
            out.push(row);
        }
        for (service, (n, unseen)) in rest {
            let mut row = PermissionRow {
                permission: format!("{service}.* ({n} permissions)"),
                actions_granted: n,
                ..base.clone()
            };
            let blind = (unseen == n).then(|| {
                format!(
                    "their use is logged only in Data Access audit logs, which the input does not \
                 hold for {service} (they are off by default)"
                )
            });
            Tally::default().judge(&mut row, frame, blind.as_deref());
            if row.status == super::Status::Unused && unseen > 0 {
                row.reason.push_str(&format!(
                    "; {unseen} of them are logged only in Data Access audit logs"
                ));
            }
            out.push(row);
        }
        if !itemize {
            // Used rows first, so that a role of thousands reads as what it was used for.
            out.sort_by_key(|r| r.uses == 0);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_hold_their_projects_and_resources() {
        assert!(in_scope("projects/p", "p", "projects/_/buckets/b"));
        assert!(!in_scope(
            "projects/p",
            "q",
            "projects/q/zones/z/instances/i"
        ));
        assert!(in_scope("projects/p", "", "projects/p/topics/t"));
        assert!(in_scope("organizations/1", "q", "projects/q"));
        assert!(in_scope(
            "projects/_/buckets/b",
            "p",
            "projects/_/buckets/b/objects/o"
        ));
        assert!(!in_scope(
            "projects/_/buckets/b",
            "p",
            "projects/_/buckets/bb"
        ));
    }

    #[test]
    fn reads_and_data_operations_are_data_access_only() {
        assert!(data_access_only("storage.objects.create"));
        assert!(data_access_only("compute.instances.get"));
        assert!(data_access_only("resourcemanager.projects.getIamPolicy"));
        assert!(!data_access_only("storage.buckets.create"));
        assert!(!data_access_only("compute.instances.setMetadata"));
    }
}
