//! What the logs show was granted to each AWS principal and when: inline policies
//! (`Put*Policy`, `Delete*Policy`), managed policies attached and detached
//! (`Attach*Policy`, `Detach*Policy`; AWS managed documents from the embedded catalog,
//! customer-managed ones from `CreatePolicy`, `CreatePolicyVersion` with `setAsDefault` and
//! `SetDefaultPolicyVersion`), group policies through group membership
//! (`AddUserToGroup`, `RemoveUserFromGroup`), and the end of everything a deleted user, role
//! or group held. Read from the original records of those few events, in time order.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::catalog::Catalog;
use super::policy::Policy;

/// One grant event's record, as the caller read it.
#[derive(Debug, Clone)]
pub struct GrantEvent {
    /// UTC µs.
    pub time: i64,
    /// The event id.
    pub event_id: String,
    /// The account the event acted in.
    pub account: String,
    /// The event name.
    pub action: String,
    /// The original record.
    pub record: Value,
}

/// A policy's permissions held by a principal over a time window.
#[derive(Debug, Clone)]
pub struct Granted {
    /// `arn:aws:iam::<account>:user/<name>` or `...:role/<name>`.
    pub principal: String,
    /// How: `inline policy s3-read`, `managed policy ReadOnlyAccess`, `customer policy
    /// ops-read`, `group ops: managed policy ...`.
    pub via: String,
    /// What the policy allows.
    pub policy: Arc<Policy>,
    /// Granted at (µs).
    pub from: i64,
    /// Removed at (µs), None while held at the end of the logs.
    pub until: Option<i64>,
    /// The events that granted it (the policy's, and the group membership's).
    pub event_ids: Vec<String>,
    /// The event that removed it.
    pub removed_by: Option<String>,
}

/// Principals created in the logs (`CreateUser`, `CreateRole`), with when.
pub type Created = HashMap<String, i64>;

/// A grant window before its managed document is resolved: principal, what was opened,
/// from, until, the removing event.
type Window = (String, Open, i64, Option<i64>, Option<String>);

#[derive(Clone)]
struct Open {
    via: String,
    policy: PolicySource,
    from: i64,
    event_id: String,
}

#[derive(Clone)]
enum PolicySource {
    Document(Arc<Policy>),
    /// A managed policy by ARN: its document is resolved over time at the end.
    Managed(String),
}

#[derive(Default)]
struct State {
    /// (principal, key: inline name or policy ARN) -> what is open.
    open: HashMap<(String, String), Open>,
    /// Closed windows, before resolving managed documents.
    closed: Vec<(String, Open, i64, String)>,
    /// Customer policy ARN -> default document over time (from, policy).
    defaults: HashMap<String, Vec<(i64, Arc<Policy>)>>,
    /// Customer policy ARN -> version id -> document.
    versions: HashMap<String, HashMap<String, Arc<Policy>>>,
    /// (user, group principal) -> (from, event id).
    members: HashMap<(String, String), (i64, String)>,
    /// Closed memberships: (user, group, from, until, event id).
    memberships: Vec<(String, String, i64, Option<i64>, String)>,
    created: Created,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).map(str::trim)
}

fn principal(account: &str, kind: &str, name: &str) -> String {
    // A path (`/division/`) is not part of the name the request gives.
    let name = name.rsplit('/').next().unwrap_or(name);
    format!("arn:aws:iam::{account}:{kind}/{name}")
}

/// The principal an IAM request targets, from its `userName`, `roleName` or `groupName`.
fn target(params: &Value, account: &str, action: &str) -> Option<String> {
    let (kind, key) = if action.contains("User") && !action.contains("ToGroup") {
        ("user", "userName")
    } else if action.contains("Role") {
        ("role", "roleName")
    } else if action.contains("Group") {
        ("group", "groupName")
    } else {
        return None;
    };
    text(params, key)
        .filter(|n| !n.is_empty())
        .map(|n| principal(account, kind, n))
}

fn short_policy(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl State {
    fn open(&mut self, principal: String, key: String, open: Open) {
        if let Some(previous) = self.open.insert((principal.clone(), key), open.clone()) {
            // Replaced (a new inline document under the same name): the old one ends now.
            self.closed
                .push((principal, previous, open.from, open.event_id.clone()));
        }
    }

    fn close(&mut self, principal: &str, key: &str, at: i64, by: &str) {
        if let Some(open) = self.open.remove(&(principal.to_string(), key.to_string())) {
            self.closed
                .push((principal.to_string(), open, at, by.to_string()));
        }
    }

    fn close_all(&mut self, principal: &str, at: i64, by: &str) {
        let keys: Vec<(String, String)> = self
            .open
            .keys()
            .filter(|(p, _)| p == principal)
            .cloned()
            .collect();
        for (p, k) in keys {
            self.close(&p, &k, at, by);
        }
        let groups: Vec<(String, String)> = self
            .members
            .keys()
            .filter(|(u, g)| u == principal || g == principal)
            .cloned()
            .collect();
        for key in groups {
            if let Some((from, id)) = self.members.remove(&key) {
                self.memberships.push((key.0, key.1, from, Some(at), id));
            }
        }
    }

    fn apply(&mut self, ev: &GrantEvent) {
        let params = ev.record.get("requestParameters").unwrap_or(&Value::Null);
        let response = ev.record.get("responseElements").unwrap_or(&Value::Null);
        let (t, id, account) = (ev.time, ev.event_id.as_str(), ev.account.as_str());
        let action = ev.action.as_str();
        match action {
            "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" => {
                let (Some(p), Some(name)) =
                    (target(params, account, action), text(params, "policyName"))
                else {
                    return;
                };
                let policy = match params.get("policyDocument") {
                    Some(doc) => Policy::read(doc),
                    None => Policy::parse_text(""),
                };
                self.open(
                    p,
                    format!("inline:{name}"),
                    Open {
                        via: format!("inline policy {name}"),
                        policy: PolicySource::Document(Arc::new(policy)),
                        from: t,
                        event_id: id.to_string(),
                    },
                );
            }
            "DeleteUserPolicy" | "DeleteRolePolicy" | "DeleteGroupPolicy" => {
                if let (Some(p), Some(name)) =
                    (target(params, account, action), text(params, "policyName"))
                {
                    self.close(&p, &format!("inline:{name}"), t, id);
                }
            }
            "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => {
                let (Some(p), Some(arn)) =
                    (target(params, account, action), text(params, "policyArn"))
                else {
                    return;
                };
                let kind = if arn.starts_with("arn:aws:iam::aws:policy/") {
                    "managed policy"
                } else {
                    "customer policy"
                };
                let key = format!("arn:{arn}");
                if self.open.contains_key(&(p.clone(), key.clone())) {
                    return;
                }
                self.open(
                    p,
                    key,
                    Open {
                        via: format!("{kind} {}", short_policy(arn)),
                        policy: PolicySource::Managed(arn.to_string()),
                        from: t,
                        event_id: id.to_string(),
                    },
                );
            }
            "DetachUserPolicy" | "DetachRolePolicy" | "DetachGroupPolicy" => {
                if let (Some(p), Some(arn)) =
                    (target(params, account, action), text(params, "policyArn"))
                {
                    self.close(&p, &format!("arn:{arn}"), t, id);
                }
            }
            "CreatePolicy" => {
                let arn = response
                    .get("policy")
                    .and_then(|p| text(p, "arn"))
                    .map(str::to_string)
                    .or_else(|| {
                        let name = text(params, "policyName")?;
                        let path = text(params, "path").unwrap_or("/");
                        Some(format!("arn:aws:iam::{account}:policy{path}{name}"))
                    });
                let Some(arn) = arn else { return };
                let policy = Arc::new(
                    params
                        .get("policyDocument")
                        .map_or_else(|| Policy::parse_text(""), Policy::read),
                );
                self.versions
                    .entry(arn.clone())
                    .or_default()
                    .insert("v1".into(), policy.clone());
                self.defaults.entry(arn).or_default().push((t, policy));
            }
            "CreatePolicyVersion" => {
                let Some(arn) = text(params, "policyArn") else {
                    return;
                };
                let policy = Arc::new(
                    params
                        .get("policyDocument")
                        .map_or_else(|| Policy::parse_text(""), Policy::read),
                );
                if let Some(version) = response
                    .get("policyVersion")
                    .and_then(|v| text(v, "versionId"))
                {
                    self.versions
                        .entry(arn.to_string())
                        .or_default()
                        .insert(version.to_string(), policy.clone());
                }
                let default = match params.get("setAsDefault") {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                };
                if default {
                    self.defaults
                        .entry(arn.to_string())
                        .or_default()
                        .push((t, policy));
                }
            }
            "SetDefaultPolicyVersion" => {
                let (Some(arn), Some(version)) =
                    (text(params, "policyArn"), text(params, "versionId"))
                else {
                    return;
                };
                let policy = self
                    .versions
                    .get(arn)
                    .and_then(|v| v.get(version))
                    .cloned()
                    .unwrap_or_else(|| {
                        Arc::new(Policy {
                            cannot_tell: Some(format!(
                                "default version {version} is not in the logs"
                            )),
                            ..Policy::default()
                        })
                    });
                self.defaults
                    .entry(arn.to_string())
                    .or_default()
                    .push((t, policy));
            }
            "AddUserToGroup" | "RemoveUserFromGroup" => {
                let (Some(user), Some(group)) =
                    (text(params, "userName"), text(params, "groupName"))
                else {
                    return;
                };
                let key = (
                    principal(account, "user", user),
                    principal(account, "group", group),
                );
                if action == "AddUserToGroup" {
                    self.members.entry(key).or_insert((t, id.to_string()));
                } else if let Some((from, gid)) = self.members.remove(&key) {
                    self.memberships.push((key.0, key.1, from, Some(t), gid));
                }
            }
            "DeleteUser" | "DeleteRole" | "DeleteGroup" => {
                if let Some(p) = target(params, account, action) {
                    self.close_all(&p, t, id);
                }
            }
            "CreateRole" => {
                if let Some(p) = target(params, account, action) {
                    self.created.entry(p).or_insert(t);
                }
            }
            _ => {}
        }
    }
}

/// Every grant window of the events (in time order), with group policies carried to the
/// members, and the principals created in the logs (`created_users`: `CreateUser` events
/// read by the caller from the columns).
pub fn granted(events: &[GrantEvent], catalog: &Catalog) -> (Vec<Granted>, Created) {
    let mut state = State::default();
    for ev in events {
        state.apply(ev);
    }
    let mut windows: Vec<Window> = state
        .closed
        .drain(..)
        .map(|(p, o, until, by)| (p, o.clone(), o.from, Some(until), Some(by)))
        .collect();
    for ((p, _), o) in state.open.drain() {
        windows.push((p, o.clone(), o.from, None, None));
    }
    let mut managed_cache: HashMap<String, Arc<Policy>> = HashMap::new();
    let mut out = Vec::new();
    for (principal, open, from, until, removed_by) in windows {
        match &open.policy {
            PolicySource::Document(policy) => out.push(Granted {
                principal,
                via: open.via.clone(),
                policy: policy.clone(),
                from,
                until,
                event_ids: vec![open.event_id.clone()],
                removed_by,
            }),
            PolicySource::Managed(arn) => {
                if let Some(timeline) = state.defaults.get(arn) {
                    // A customer policy: one window per default version in force.
                    for (i, (since, policy)) in timeline.iter().enumerate() {
                        let next = timeline.get(i + 1).map(|(t, _)| *t);
                        let start = from.max(*since);
                        let end = match (until, next) {
                            (Some(u), Some(n)) => Some(u.min(n)),
                            (u, n) => u.or(n),
                        };
                        if end.is_some_and(|e| e <= start) {
                            continue;
                        }
                        let by = if end == until {
                            removed_by.clone()
                        } else {
                            None
                        };
                        out.push(Granted {
                            principal: principal.clone(),
                            via: open.via.clone(),
                            policy: policy.clone(),
                            from: start,
                            until: end,
                            event_ids: vec![open.event_id.clone()],
                            removed_by: by,
                        });
                    }
                    continue;
                }
                let policy = managed_cache
                    .entry(arn.clone())
                    .or_insert_with(|| {
                        Arc::new(match catalog.managed_policy(arn) {
                            Some(doc) if arn.starts_with("arn:aws:iam::aws:policy/") => {
                                Policy::read(doc)
                            }
                            _ if arn.starts_with("arn:aws:iam::aws:policy/") => Policy {
                                cannot_tell: Some(
                                    "an AWS managed policy whose document is not embedded".into(),
                                ),
                                ..Policy::default()
                            },
                            _ => Policy {
                                cannot_tell: Some(
                                    "a customer policy whose document is not in the logs".into(),
                                ),
                                ..Policy::default()
                            },
                        })
                    })
                    .clone();
                out.push(Granted {
                    principal,
                    via: open.via.clone(),
                    policy,
                    from,
                    until,
                    event_ids: vec![open.event_id.clone()],
                    removed_by,
                });
            }
        }
    }
    // Group policies reach each member over the overlap of membership and grant.
    let mut memberships = state.memberships;
    for ((user, group), (from, id)) in state.members {
        memberships.push((user, group, from, None, id));
    }
    let group_grants: Vec<Granted> = out
        .iter()
        .filter(|g| g.principal.contains(":group/"))
        .cloned()
        .collect();
    for (user, group, m_from, m_until, m_id) in &memberships {
        for g in group_grants.iter().filter(|g| &g.principal == group) {
            let start = g.from.max(*m_from);
            let end = match (g.until, *m_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if end.is_some_and(|e| e <= start) {
                continue;
            }
            let group_name = short_policy(group);
            let mut event_ids = g.event_ids.clone();
            event_ids.push(m_id.clone());
            out.push(Granted {
                principal: user.clone(),
                via: format!("group {group_name}: {}", g.via),
                policy: g.policy.clone(),
                from: start,
                until: end,
                event_ids,
                removed_by: if end == g.until {
                    g.removed_by.clone()
                } else {
                    None
                },
            });
        }
    }
    out.retain(|g| !g.principal.contains(":group/"));
    out.sort_by(|a, b| {
        (a.principal.as_str(), a.from, a.via.as_str()).cmp(&(
            b.principal.as_str(),
            b.from,
            b.via.as_str(),
        ))
    });
    (out, state.created)
}
