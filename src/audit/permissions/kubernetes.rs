//! Kubernetes RBAC granted versus used: Roles and ClusterRoles whose rules the logs show
//! (`create`/`update`/`patch` with the object in `requestObject`, `delete`), bound to users
//! and service accounts by RoleBindings and ClusterRoleBindings created and deleted in the
//! logs, against the verbs and resources each subject performed (in the binding's namespace
//! for a RoleBinding). Roles the logs never define (the built-in `cluster-admin`, `admin`,
//! `edit`, `view`, or roles older than the logs) and Group subjects are "cannot tell".

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use serde_json::Value;

use super::{DAY, PermissionRow, PermissionsSpec, Status};
use crate::detectors::event::{i64s, strings, u64s};
use crate::schema::{
    ACTION, ACTOR, Dictionaries, EVENT_ID, IDENTITY, OUTCOME, PROVIDER, RESOURCE, SERVICE, TIME,
    has_category_id,
};
use crate::text::format_time_utc;
use crate::{Error, Result};

const ROW: &str = "__row";
const RBAC: [&str; 4] = [
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
];

/// One rule of a role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rule {
    groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
    /// Limited to named objects (treated as granting, marked conditional).
    named: bool,
}

impl Rule {
    fn text(&self) -> String {
        let groups: Vec<&str> = self
            .groups
            .iter()
            .map(|g| if g.is_empty() { "core" } else { g.as_str() })
            .collect();
        format!(
            "{} {} ({})",
            self.verbs.join(","),
            self.resources.join(","),
            groups.join(",")
        )
    }

    /// Whether it allows `verb` on `resource` (with its subresource) of API group `group`
    /// (`core` for the core group).
    fn allows(&self, group: &str, verb: &str, resource: &str) -> bool {
        let group = if group == "core" { "" } else { group };
        let any = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || r == resource
                || r.strip_suffix("/*")
                    .is_some_and(|base| resource.split('/').next() == Some(base))
        });
        any(&self.groups, group) && any(&self.verbs, verb) && resource_ok
    }
}

fn list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn rules_of(object: &Value) -> Vec<Rule> {
    object
        .get("rules")
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| Rule {
                    groups: list(r.get("apiGroups")),
                    resources: list(r.get("resources")),
                    verbs: list(r.get("verbs")),
                    named: !list(r.get("resourceNames")).is_empty(),
                })
                .filter(|r| !r.verbs.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A binding held over a window.
struct Binding {
    /// `RoleBinding ns/name` or `ClusterRoleBinding name`.
    name: String,
    /// The namespace a RoleBinding grants in; None for a ClusterRoleBinding.
    namespace: Option<String>,
    /// `Role ns/name` or `ClusterRole name`: key into the roles.
    role: (String, String),
    subjects: Vec<String>,
    from: i64,
    until: Option<i64>,
    event_id: String,
    removed_by: Option<String>,
}

struct Call {
    group: String,
    verb: String,
    resource: String,
    /// The namespace of the object acted on (empty: cluster-scoped or unknown).
    namespace: String,
    time: i64,
}

fn day(us: i64) -> String {
    format_time_utc(us).chars().take(10).collect()
}

/// The RBAC rows of `events`, and how many RBAC events were read.
pub(super) fn rows(
    events: &DataFrame,
    spec: &PermissionsSpec,
    end: i64,
    read: super::ReadRecords<'_>,
) -> Result<(Vec<PermissionRow>, u64)> {
    let dict = Dictionaries::shared();
    let ids = |column: &str, accept: &dyn Fn(&str) -> bool| -> Vec<u32> {
        dict.category_values(column)
            .into_iter()
            .filter(|(_, v)| accept(v))
            .map(|(id, _)| id)
            .collect()
    };
    let k8s = has_category_id(PROVIDER, ids(PROVIDER, &|p| p == "kubernetes"))
        .and(has_category_id(OUTCOME, ids(OUTCOME, &|o| o == "success")));
    let rbac_actions = ids(ACTION, &|a| {
        a.split_once(' ').is_some_and(|(verb, res)| {
            matches!(verb, "create" | "update" | "patch" | "delete") && RBAC.contains(&res)
        })
    });
    if rbac_actions.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let df = events
        .clone()
        .lazy()
        .with_row_index(ROW, None)
        .filter(k8s.clone().and(has_category_id(ACTION, rbac_actions)))
        .sort(
            [TIME],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .select([col(ROW), col(TIME), col(EVENT_ID), col(ACTION)])
        .collect()
        .map_err(Error::polars("selecting the RBAC events"))?;
    let (rows_ix, times, event_ids, actions) = (
        u64s(&df, ROW)?,
        i64s(&df, TIME)?,
        strings(&df, EVENT_ID)?,
        strings(&df, ACTION)?,
    );
    let mut roles: HashMap<(String, String), Vec<Rule>> = HashMap::new();
    let mut open: HashMap<String, Binding> = HashMap::new();
    let mut bindings: Vec<Binding> = Vec::new();
    let mut read_events = 0;
    let asked: Vec<u32> = rows_ix.iter().map(|r| r.unwrap_or(0) as u32).collect();
    let records = read(&asked);
    for i in 0..df.height() {
        let Some(Some(time)) = times.get(i) else {
            continue;
        };
        let Some(record) = records
            .get(i)
            .and_then(Option::as_ref)
            .filter(|b| b.len() <= 1 << 20)
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        else {
            continue;
        };
        read_events += 1;
        let action = actions.get(i).map(String::as_str).unwrap_or("");
        let (verb, res) = action.split_once(' ').unwrap_or(("", ""));
        let obj_ref = record.get("objectRef").unwrap_or(&Value::Null);
        let object = record.get("requestObject").unwrap_or(&Value::Null);
        let meta = object.get("metadata").unwrap_or(&Value::Null);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let name = text(obj_ref, "name")
            .or_else(|| text(meta, "name"))
            .unwrap_or_default();
        let namespace = text(obj_ref, "namespace")
            .or_else(|| text(meta, "namespace"))
            .unwrap_or_default();
        let event_id = event_ids.get(i).cloned().unwrap_or_default();
        match (verb, res) {
            ("delete", "roles" | "clusterroles") => {
                roles.remove(&(namespace, name));
            }
            (_, "roles" | "clusterroles") => {
                let ns = if res == "roles" {
                    namespace
                } else {
                    String::new()
                };
                if object.get("rules").is_some() {
                    roles.insert((ns, name), rules_of(object));
                }
            }
            ("delete", _) => {
                let key = format!("{namespace}/{name}");
                if let Some(mut b) = open.remove(&key) {
                    b.until = Some(*time);
                    b.removed_by = Some(event_id);
                    bindings.push(b);
                }
            }
            (_, _) => {
                let Some(role_ref) = object.get("roleRef") else {
                    continue;
                };
                let role_kind = text(role_ref, "kind").unwrap_or_default();
                let role_name = text(role_ref, "name").unwrap_or_default();
                let role_ns = if role_kind == "Role" {
                    namespace.clone()
                } else {
                    String::new()
                };
                let subjects = object
                    .get("subjects")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|s| {
                                let kind = text(s, "kind")?;
                                let n = text(s, "name")?;
                                Some(match kind.as_str() {
                                    "ServiceAccount" => format!(
                                        "system:serviceaccount:{}:{n}",
                                        text(s, "namespace").unwrap_or_else(|| namespace.clone())
                                    ),
                                    "Group" => format!("group:{n}"),
                                    _ => n,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let key = format!("{namespace}/{name}");
                let binding = Binding {
                    name: if res == "rolebindings" {
                        format!("RoleBinding {namespace}/{name}")
                    } else {
                        format!("ClusterRoleBinding {name}")
                    },
                    namespace: (res == "rolebindings").then(|| namespace.clone()),
                    role: (role_ns, role_name),
                    subjects,
                    from: *time,
                    until: None,
                    event_id,
                    removed_by: None,
                };
                // An update replaces the binding.
                if let Some(mut previous) = open.insert(key, binding) {
                    previous.until = Some(*time);
                    bindings.push(previous);
                }
            }
        }
    }
    bindings.extend(open.into_values());
    if bindings.is_empty() {
        return Ok((Vec::new(), read_events));
    }
    // The calls of every user and service account a binding names.
    let subjects: Vec<String> = bindings.iter().flat_map(|b| b.subjects.clone()).collect();
    let actor_ids = ids(ACTOR, &|a| subjects.iter().any(|s| s == a));
    let calls_df = events
        .clone()
        .lazy()
        .filter(k8s.and(has_category_id(ACTOR, actor_ids)))
        .select([
            col(ACTOR),
            col(IDENTITY),
            col(SERVICE),
            col(ACTION),
            col(RESOURCE),
            col(TIME),
        ])
        .collect()
        .map_err(Error::polars("selecting the subjects' calls"))?;
    let (c_actors, c_ids, c_services, c_actions, c_resources, c_times) = (
        strings(&calls_df, ACTOR)?,
        strings(&calls_df, IDENTITY)?,
        strings(&calls_df, SERVICE)?,
        strings(&calls_df, ACTION)?,
        strings(&calls_df, RESOURCE)?,
        i64s(&calls_df, TIME)?,
    );
    let mut calls: HashMap<&str, Vec<Call>> = HashMap::new();
    let mut identity_of: HashMap<&str, &str> = HashMap::new();
    for i in 0..calls_df.height() {
        let (Some(actor), Some(action), Some(Some(time))) =
            (c_actors.get(i), c_actions.get(i), c_times.get(i))
        else {
            continue;
        };
        let Some((verb, resource)) = action.split_once(' ') else {
            continue;
        };
        if let Some(id) = c_ids.get(i).filter(|s| !s.is_empty()) {
            identity_of.insert(actor, id);
        }
        let target = c_resources.get(i).map(String::as_str).unwrap_or("");
        calls.entry(actor).or_default().push(Call {
            group: c_services.get(i).cloned().unwrap_or_default(),
            verb: verb.to_string(),
            resource: resource.to_string(),
            namespace: target.split('/').next().unwrap_or("").to_string(),
            time: *time,
        });
    }
    let tracking_from = end - i64::from(spec.tracking_days) * DAY;
    let grace = i64::from(spec.grace_days) * DAY;
    let mut out = Vec::new();
    for b in &bindings {
        let rules = roles.get(&b.role);
        let role_name = if b.role.0.is_empty() {
            format!("ClusterRole {}", b.role.1)
        } else {
            format!("Role {}/{}", b.role.0, b.role.1)
        };
        for subject in &b.subjects {
            let identity = identity_of
                .get(subject.as_str())
                .map_or(subject.clone(), |s| s.to_string());
            let base = PermissionRow {
                permission: "(whole role)".into(),
                via: format!("{role_name} via {}", b.name),
                granted_at: Some(b.from),
                removed_at: b.until,
                granted_by_events: vec![b.event_id.clone()],
                removed_by_event: b.removed_by.clone(),
                ..PermissionRow::blank(identity, subject.clone(), "kubernetes")
            };
            if subject.starts_with("group:") {
                out.push(PermissionRow {
                    reason: "bound to a group: its members are not in the logs".into(),
                    ..base
                });
                continue;
            }
            let Some(rules) = rules else {
                out.push(PermissionRow {
                    reason: format!(
                        "cannot tell what {role_name} grants: its rules are not in the logs \
                         (a built-in role, or defined before them)"
                    ),
                    ..base
                });
                continue;
            };
            let mine = calls.get(subject.as_str());
            for rule in rules {
                let mut row = PermissionRow {
                    permission: rule.text(),
                    conditional: rule.named,
                    ..base.clone()
                };
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                let mut after: Vec<(String, i64)> = Vec::new();
                for c in mine.into_iter().flatten() {
                    let in_scope = b.namespace.as_ref().is_none_or(|ns| &c.namespace == ns);
                    if !in_scope || !rule.allows(&c.group, &c.verb, &c.resource) {
                        continue;
                    }
                    let what = format!("{} {}", c.verb, c.resource);
                    if c.time >= b.from && b.until.is_none_or(|u| c.time < u) {
                        *counts.entry(what).or_default() += 1;
                        row.uses += 1;
                        row.first_use = Some(row.first_use.map_or(c.time, |f| f.min(c.time)));
                        row.last_use = Some(row.last_use.map_or(c.time, |l| l.max(c.time)));
                    } else if b.until.is_some_and(|u| c.time >= u) {
                        after.push((what, c.time));
                    }
                }
                row.actions_used = counts.len() as u64;
                let mut top: Vec<(String, u64)> = counts.into_iter().collect();
                top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                top.truncate(5);
                row.top_actions = top;
                after.sort_by_key(|a| a.1);
                row.used_after_removal = after.len() as u64;
                let (status, reason) = match (after.first(), row.last_use, b.until) {
                    (Some((what, t)), _, Some(u)) => (
                        Status::NoLongerGranted,
                        format!(
                            "{what} performed on {} after {} was deleted on {}",
                            day(*t),
                            b.name,
                            day(u)
                        ),
                    ),
                    (_, Some(last), until) if last >= tracking_from || until.is_some() => {
                        (Status::Used, format!("last used on {}", day(last)))
                    }
                    (_, Some(last), _) => (
                        Status::Unused,
                        format!("last used on {}, before the tracking period", day(last)),
                    ),
                    (_, None, Some(u)) => (
                        Status::Unused,
                        format!("not used while bound (until {})", day(u)),
                    ),
                    (_, None, None) if end - b.from < grace => (
                        Status::CannotTell,
                        format!(
                            "bound on {}: within the {}-day grace for new permissions",
                            day(b.from),
                            spec.grace_days
                        ),
                    ),
                    (_, None, None) => (
                        Status::Unused,
                        format!("not used since {}", day(b.from.max(tracking_from))),
                    ),
                };
                row.status = status;
                row.reason = reason;
                out.push(row);
            }
        }
    }
    Ok((out, read_events))
}
