//! Access changes read from the events: who was granted or lost which role, policy, group,
//! binding or team, in every provider, with the key that pairs a grant with its end.
//! Shared by [`super::jit`] (temporary grants never revoked or used past their window) and
//! [`super::creep`] (privileges piling up).
//!
//! Polars selects the grant and revoke events (one `is_in` over the action keys, successes
//! only); only those rows are read here, to name the grantee and the entitlement. Pairing is a
//! Polars join on the key ([`next_by_key`]), not a nested loop.

use std::collections::HashMap;

use polars::prelude::*;

use super::context::{Combo, Context, glob_regex};
use super::event::{Ev, short_actor, u64s};
use crate::schema::OUTCOME;
use crate::{Error, Result};

/// How a temporary grant ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporary {
    /// Entra PIM activation: ends by expiry or deactivation, logged as a removal.
    Pim,
    /// Entra PIM time-bound assignment: ends at its schedule end, logged as a removal.
    Timebound,
    /// A grant of an entitlement configured as temporary (`[detect.jit] managed`): someone has
    /// to revoke it.
    Managed,
    /// GCP Privileged Access Manager: the provider ends it without logging an event.
    Expiring,
}

/// One access change: a grant or the end of one.
#[derive(Debug, Clone)]
pub struct Change {
    /// The event.
    pub ev: Ev,
    /// A grant (else an end: revoke, removal, expiry, deactivation).
    pub grant: bool,
    /// Pairs a grant with its end (provider, grantee, entitlement; lowercase).
    pub key: String,
    /// Who holds the access, as written in the event.
    pub grantee: String,
    /// The grantee as an actor name would read (lowercase, prefixes and ARNs removed).
    pub who: String,
    /// The role, policy, group, binding or team.
    pub what: String,
    /// Whether and how the grant is temporary (for `jit-grant-not-revoked-or-overused`).
    pub temporary: Option<Temporary>,
    /// Whether it is a privileged grant (for `permission-creep`).
    pub privileged: bool,
    /// The grantee is a non-human identity by its kind (role, service account, principal).
    pub non_human: bool,
}

/// Whether an action of a provider grants or ends access.
pub fn is_change(c: &Combo) -> bool {
    let a = c.action.as_str();
    match c.provider.as_str() {
        "entra" => entra_kind(a).is_some(),
        "azure" => {
            let u = a.to_ascii_uppercase();
            u == "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"
                || u == "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE"
        }
        "aws" => aws_kind(a).is_some(),
        "gcp" => {
            let leaf = a.rsplit('.').next().unwrap_or(a);
            leaf.eq_ignore_ascii_case("SetIamPolicy")
                || (a.contains("PrivilegedAccessManager")
                    && matches!(leaf, "CreateGrant" | "RevokeGrant"))
        }
        "okta" => matches!(
            a,
            "user.account.privilege.grant"
                | "user.account.privilege.revoke"
                | "group.privilege.grant"
                | "group.privilege.revoke"
                | "group.user_membership.add"
                | "group.user_membership.remove"
        ),
        "kubernetes" => k8s_kind(a).is_some(),
        "github" => matches!(
            a,
            "team.add_member"
                | "team.remove_member"
                | "team.promote_maintainer"
                | "team.demote_maintainer"
                | "org.update_member"
                | "repo.add_member"
                | "repo.remove_member"
                | "business.add_admin"
                | "business.remove_admin"
        ),
        _ => false,
    }
}

/// Entra: (grant, temporary kind from the name) of a role activity; requests, approvals and
/// failures are not changes.
fn entra_kind(action: &str) -> Option<(bool, Option<Temporary>)> {
    let a = action.to_ascii_lowercase();
    if [
        "requested",
        "request approved",
        "request denied",
        "canceled",
        "cancelled",
    ]
    .iter()
    .any(|w| a.contains(w))
    {
        return None;
    }
    let grant = [
        "add member to role",
        "add eligible member to role",
        "add scoped member to role",
    ]
    .iter()
    .any(|p| a.starts_with(p));
    let end = [
        "remove member from role",
        "remove eligible member from role",
        "remove scoped member from role",
    ]
    .iter()
    .any(|p| a.starts_with(p));
    if !grant && !end {
        return None;
    }
    let temporary = if a.contains("(pim activation)") {
        Some(Temporary::Pim)
    } else if a.contains("(timebound)") {
        Some(Temporary::Timebound)
    } else {
        None
    };
    Some((grant, temporary))
}

/// AWS: (grant, what kind of entitlement) of an IAM or Identity Center action.
fn aws_kind(action: &str) -> Option<(bool, &'static str)> {
    Some(match action {
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => (true, "policy"),
        "DetachUserPolicy" | "DetachRolePolicy" | "DetachGroupPolicy" => (false, "policy"),
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" => (true, "inline"),
        "DeleteUserPolicy" | "DeleteRolePolicy" | "DeleteGroupPolicy" => (false, "inline"),
        "AddUserToGroup" => (true, "group"),
        "RemoveUserFromGroup" => (false, "group"),
        "CreateAccountAssignment" => (true, "assignment"),
        "DeleteAccountAssignment" => (false, "assignment"),
        _ => return None,
    })
}

/// Kubernetes: (grant, kind) of a (cluster)rolebinding create or delete, in the audit
/// (`create rolebindings`) and GKE (`io.k8s...rolebindings.create`) spellings.
fn k8s_kind(action: &str) -> Option<(bool, &'static str)> {
    let kind = if action.contains("clusterrolebindings") {
        "clusterrolebinding"
    } else if action.contains("rolebindings") {
        "rolebinding"
    } else {
        return None;
    };
    if action.starts_with("create ") || action.ends_with(".create") {
        Some((true, kind))
    } else if action.starts_with("delete ") || action.ends_with(".delete") {
        Some((false, kind))
    } else {
        None
    }
}

/// The access changes of the data (successful grant and end events), in time order.
pub fn changes(ctx: &Context<'_>) -> Result<Vec<Change>> {
    let success = ctx.category(OUTCOME, |o| o == "success");
    let managed = ctx
        .config
        .jit
        .managed
        .iter()
        .map(|g| glob_regex(g))
        .collect::<Result<Vec<_>>>()?;
    let is_managed = |name: &str| managed.iter().any(|r| r.is_match(name));
    let mut out = Vec::new();
    for ev in ctx.select_actions(is_change, &[success])? {
        read(ev, &is_managed, &mut out);
    }
    Ok(out)
}

/// The grantee name as an actor would carry it: lowercase, without member prefixes.
fn who_of(name: &str) -> String {
    let n = name.trim();
    let n = n
        .strip_prefix("user:")
        .or_else(|| n.strip_prefix("serviceAccount:"))
        .or_else(|| n.strip_prefix("group:"))
        .or_else(|| n.strip_prefix("User:"))
        .or_else(|| n.strip_prefix("Group:"))
        .unwrap_or(n);
    if let Some(sa) = n.strip_prefix("ServiceAccount:") {
        // ServiceAccount:ns/name is the actor system:serviceaccount:ns:name.
        return format!("system:serviceaccount:{}", sa.replacen('/', ":", 1)).to_lowercase();
    }
    short_actor(n).to_lowercase()
}

/// The name of an actor as grants name their grantee (`who`): an IAM user's or assumed
/// role's name for AWS ARNs, else the actor lowercased.
pub fn who_of_actor(actor: &str) -> String {
    if let Some(rest) = actor
        .split_once(":assumed-role/")
        .map(|(_, r)| r.split('/').next().unwrap_or(r))
    {
        return rest.to_lowercase();
    }
    short_actor(actor).to_lowercase()
}

fn read(ev: Ev, is_managed: &dyn Fn(&str) -> bool, out: &mut Vec<Change>) {
    let provider = ev.provider.clone();
    let mut push =
        |ev: &Ev, grant: bool, key: String, grantee: &str, what: String, extra: Extra| {
            if grantee.is_empty() {
                return;
            }
            let temporary = extra.temporary.or_else(|| {
                (is_managed(&what) || is_managed(extra.name.unwrap_or("")))
                    .then_some(Temporary::Managed)
            });
            out.push(Change {
                ev: ev.clone(),
                grant,
                key: key.to_lowercase(),
                grantee: grantee.to_string(),
                who: who_of(grantee),
                what,
                temporary,
                privileged: extra.privileged,
                non_human: extra.non_human,
            });
        };
    match provider.as_str() {
        "entra" => {
            let Some((grant, temporary)) = entra_kind(&ev.action) else {
                return;
            };
            let role = ev.detail("role").unwrap_or("a directory role").to_string();
            let eligible = ev.action.to_ascii_lowercase().contains("eligible");
            let what = if eligible {
                format!("{role} (eligible)")
            } else {
                role
            };
            let key = format!("entra|{}|{what}", ev.resource);
            let grantee = ev.resource.clone();
            let non_human = !grantee.contains('@');
            let extra = Extra {
                temporary,
                privileged: !eligible,
                non_human,
                name: None,
            };
            push(&ev, grant, key, &grantee, what, extra);
        }
        "azure" => {
            let grant = ev.action.to_ascii_uppercase().ends_with("/WRITE");
            let role = ev
                .detail("role_name")
                .or(ev.detail("role"))
                .unwrap_or("a role")
                .to_string();
            let grantee = ev.detail("principal").unwrap_or(&ev.resource).to_string();
            let key = format!("azure|{}", ev.resource);
            let what = format!("{role} on {}", scope_of(&ev.resource));
            let extra = Extra {
                privileged: true,
                ..Extra::default()
            };
            push(&ev, grant, key, &grantee, what, extra);
        }
        "aws" => {
            let Some((grant, kind)) = aws_kind(&ev.action) else {
                return;
            };
            if kind == "assignment" {
                let (key, what) = identity_center_assignment(&ev);
                let extra = Extra {
                    privileged: true,
                    ..Extra::default()
                };
                let grantee = ev.resource.clone();
                push(&ev, grant, key, &grantee, what, extra);
                return;
            }
            let (grantee, holder) = match (
                ev.detail("userName"),
                ev.detail("roleName"),
                ev.detail("groupName"),
            ) {
                (Some(u), _, _) => (u, "user"),
                (None, Some(r), _) => (r, "role"),
                (None, None, Some(g)) => (g, "group"),
                _ => (ev.resource.as_str(), "principal"),
            };
            let grantee = grantee.to_string();
            let what = match kind {
                "policy" => ev
                    .detail("policyArn")
                    .map(|a| a.rsplit('/').next().unwrap_or(a).to_string()),
                "inline" => ev
                    .detail("policyName")
                    .map(|p| format!("inline policy {p}")),
                "group" => ev.detail("groupName").map(|g| format!("group {g}")),
                _ => return,
            };
            let Some(what) = what else {
                return;
            };
            // A group's own policies are held by the group; AddUserToGroup by the user.
            let (grantee, holder) = if kind == "group" {
                (
                    ev.detail("userName").unwrap_or(&grantee).to_string(),
                    "user",
                )
            } else {
                (grantee, holder)
            };
            let key = format!("aws|{holder}:{grantee}|{what}");
            let extra = Extra {
                privileged: true,
                non_human: holder == "role",
                name: None,
                temporary: None,
            };
            push(&ev, grant, key, &grantee, what, extra);
        }
        "gcp" => {
            let leaf = ev.action.rsplit('.').next().unwrap_or("").to_string();
            if leaf == "CreateGrant" || leaf == "RevokeGrant" {
                let entitlement = ev
                    .resource
                    .split("/grants/")
                    .next()
                    .unwrap_or(&ev.resource)
                    .to_string();
                let name = entitlement.rsplit('/').next().unwrap_or("").to_string();
                let key = format!("gcp-pam|{entitlement}");
                let grantee = ev.actor.clone();
                let extra = Extra {
                    temporary: Some(Temporary::Expiring),
                    privileged: false,
                    non_human: ev.non_human(),
                    name: None,
                };
                push(
                    &ev,
                    leaf == "CreateGrant",
                    key,
                    &grantee,
                    format!("PAM entitlement {name}"),
                    extra,
                );
                return;
            }
            let bindings = ev.detail("bindings").unwrap_or("").to_string();
            for b in bindings.split(';') {
                let mut parts = b.split_whitespace();
                let (Some(op), Some(role), Some(member)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let grant = op.eq_ignore_ascii_case("ADD");
                if !grant && !op.eq_ignore_ascii_case("REMOVE") {
                    continue;
                }
                let key = format!("gcp|{member}|{role}|{}", ev.resource);
                let what = format!("{role} on {}", ev.resource);
                let extra = Extra {
                    privileged: true,
                    non_human: member.starts_with("serviceAccount:"),
                    name: Some(role),
                    temporary: None,
                };
                push(&ev, grant, key, member, what, extra);
            }
        }
        "okta" => {
            let a = ev.action.clone();
            let grant = a.ends_with(".grant") || a.ends_with(".add");
            let grantee = ev.resource.clone();
            let (what, privileged) = if a.starts_with("group.user_membership.") {
                let group = ev
                    .detail("targets")
                    .and_then(|t| t.split(',').find_map(|p| p.strip_prefix("UserGroup:")))
                    .unwrap_or("a group")
                    .to_string();
                let admin = group.to_ascii_lowercase().contains("admin");
                (format!("group {group}"), admin)
            } else if a.starts_with("group.privilege.") {
                ("group admin privileges".to_string(), true)
            } else {
                ("admin privileges".to_string(), true)
            };
            let key = format!("okta|{grantee}|{what}");
            // The end does not name the privilege; the grant's own text is shown.
            let shown = match ev.detail("privilegeGranted") {
                Some(p) if grant => p.to_string(),
                _ => what,
            };
            let extra = Extra {
                privileged,
                ..Extra::default()
            };
            push(&ev, grant, key, &grantee, shown, extra);
        }
        "kubernetes" => {
            let Some((grant, kind)) = k8s_kind(&ev.action) else {
                return;
            };
            let name = binding_name(&ev.resource);
            let key = format!("k8s|{kind}|{name}");
            let subjects = ev.detail("subjects").unwrap_or("").to_string();
            let first = subjects.split(',').next().unwrap_or("").to_string();
            // The delete does not name the subjects: the grantee is the binding until paired.
            let grantee = if first.is_empty() {
                format!("{kind} {name}")
            } else {
                first.strip_prefix("User:").unwrap_or(&first).to_string()
            };
            let role = ev.detail("roleRef").unwrap_or("").to_string();
            let what = if role.is_empty() {
                format!("{kind} {name}")
            } else {
                format!("{role} through {kind} {name}")
            };
            let extra = Extra {
                privileged: true,
                non_human: first.starts_with("ServiceAccount:"),
                name: Some(&name),
                temporary: None,
            };
            push(&ev, grant, key, &grantee, what, extra);
        }
        "github" => {
            let a = ev.action.as_str();
            let user = ev.resource.clone();
            let (grant, what, privileged) = match a {
                "team.add_member" | "team.remove_member" => {
                    let team = ev.detail("team").unwrap_or("a team").to_string();
                    let t = team.to_ascii_lowercase();
                    let admin = ["admin", "owner", "maintainer"]
                        .iter()
                        .any(|w| t.contains(w));
                    (a == "team.add_member", format!("team {team}"), admin)
                }
                "team.promote_maintainer" | "team.demote_maintainer" => {
                    let team = ev.detail("team").unwrap_or("a team").to_string();
                    (
                        a == "team.promote_maintainer",
                        format!("maintainer of {team}"),
                        true,
                    )
                }
                "org.update_member" => {
                    let Some(permission) = ev.detail("permission") else {
                        return;
                    };
                    (
                        permission.eq_ignore_ascii_case("admin"),
                        "organization owner".to_string(),
                        true,
                    )
                }
                "repo.add_member" | "repo.remove_member" => {
                    let repo = ev.detail("repo").unwrap_or("a repository").to_string();
                    let admin = ev
                        .detail("permission")
                        .is_some_and(|p| p.eq_ignore_ascii_case("admin"));
                    (a == "repo.add_member", format!("repository {repo}"), admin)
                }
                "business.add_admin" | "business.remove_admin" => (
                    a == "business.add_admin",
                    "enterprise owner".to_string(),
                    true,
                ),
                _ => return,
            };
            let key = format!("github|{user}|{what}");
            let extra = Extra {
                privileged,
                ..Extra::default()
            };
            push(&ev, grant, key, &user, what, extra);
        }
        _ => {}
    }
}

/// The pairing key and the entitlement of an IAM Identity Center `CreateAccountAssignment` / `DeleteAccountAssignment`: one assignment is
/// one (principal, permission set, account), so removing one permission set, or the same
/// set in another account, does not end the others. Records loaded without the permission
/// set and account in `details` pair by principal only, as before.
fn identity_center_assignment(ev: &Ev) -> (String, String) {
    let principal_type = ev.detail("principalType").unwrap_or("");
    let set = ev.detail("permissionSetArn").unwrap_or("");
    let account = ev.detail("targetId").unwrap_or("");
    let key = format!(
        "aws|{}:{}|{set}|{account}",
        principal_type.to_ascii_lowercase(),
        ev.resource
    );
    let what = match set.rsplit('/').next() {
        Some(id) if !id.is_empty() => format!("permission set {id}"),
        _ => "an account assignment".to_string(),
    };
    (key, what)
}

#[derive(Default)]
struct Extra<'n> {
    temporary: Option<Temporary>,
    privileged: bool,
    non_human: bool,
    /// Another name to test against the managed globs (a binding or role name).
    name: Option<&'n str>,
}

/// The scope of an Azure role assignment id (what comes before `/providers/Microsoft.Authorization`).
fn scope_of(resource: &str) -> &str {
    let lower = resource.to_ascii_lowercase();
    match lower.find("/providers/microsoft.authorization/roleassignments") {
        Some(0) => "/",
        Some(i) => &resource[..i],
        None => resource,
    }
}

/// `namespace/name` (or `name`) of a binding from the audit (`shop/viewers`) or GKE
/// (`rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/viewers`) resource.
fn binding_name(resource: &str) -> String {
    if !resource.contains("rbac.authorization.k8s.io/") {
        return resource.to_string();
    }
    let name = resource.rsplit('/').next().unwrap_or(resource);
    match resource.split_once("/namespaces/") {
        Some((_, rest)) => {
            let ns = rest.split('/').next().unwrap_or("");
            format!("{ns}/{name}")
        }
        None => name.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Pairing by key, as Polars joins
// ---------------------------------------------------------------------------------------

const K: &str = "__pair_key";
const T: &str = "__pair_time";
const I: &str = "__pair_id";
const T2: &str = "__pair_time_right";
const I2: &str = "__pair_id_right";

/// One side of a pairing: (key, time, id) rows.
pub type Side = Vec<(String, i64, u32)>;

fn side_frame(rows: &Side, time: &str, id: &str) -> Result<LazyFrame> {
    let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let times: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let ids: Vec<u32> = rows.iter().map(|r| r.2).collect();
    let df = DataFrame::new_infer_height(vec![
        Column::new(K.into(), keys),
        Column::new(time.into(), times),
        Column::new(id.into(), ids),
    ])
    .map_err(Error::polars("pairing by key"))?;
    Ok(df.lazy())
}

/// For each left row, the right row of the same key nearest in time: the first at or after
/// it (`after`, strictly after when `strict`), or the last at or before it. A Polars join
/// on the key, filtered by time and reduced per left row.
pub fn next_by_key(
    left: &Side,
    right: &Side,
    after: bool,
    strict: bool,
) -> Result<HashMap<u32, u32>> {
    if left.is_empty() || right.is_empty() {
        return Ok(HashMap::new());
    }
    let (l, r) = (side_frame(left, T, I)?, side_frame(right, T2, I2)?);
    let order = match (after, strict) {
        (true, true) => col(T2).gt(col(T)),
        (true, false) => col(T2).gt_eq(col(T)),
        (false, true) => col(T2).lt(col(T)),
        (false, false) => col(T2).lt_eq(col(T)),
    };
    let pick = col(I2).sort_by(
        [col(T2), col(I2)],
        SortMultipleOptions::default().with_order_descending(!after),
    );
    let df = l
        .join(r, [col(K)], [col(K)], JoinArgs::new(JoinType::Inner))
        .filter(order)
        .group_by([col(I)])
        .agg([pick.first().alias(I2)])
        .collect()
        .map_err(Error::polars("pairing by key"))?;
    let (ids, picks) = (u64s(&df, I)?, u64s(&df, I2)?);
    Ok(ids
        .into_iter()
        .zip(picks)
        .filter_map(|(a, b)| Some((a? as u32, b? as u32)))
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pairing_finds_the_nearest_row_of_the_same_key() {
        let left: Side = vec![
            ("a".into(), 10, 0),
            ("a".into(), 50, 1),
            ("b".into(), 10, 2),
        ];
        let right: Side = vec![
            ("a".into(), 40, 10),
            ("a".into(), 20, 11),
            ("a".into(), 60, 12),
            ("c".into(), 5, 13),
        ];
        let next = next_by_key(&left, &right, true, false).unwrap();
        assert_eq!(next.get(&0), Some(&11));
        assert_eq!(next.get(&1), Some(&12));
        assert_eq!(next.get(&2), None);
        let prev = next_by_key(&left, &right, false, false).unwrap();
        assert_eq!(prev.get(&0), None);
        assert_eq!(prev.get(&1), Some(&10));
    }

    #[test]
    fn grantees_read_like_actors() {
        assert_eq!(who_of("user:Ann@Example.com"), "ann@example.com");
        assert_eq!(
            who_of("ServiceAccount:ci/deployer"),
            "system:serviceaccount:ci:deployer"
        );
        assert_eq!(
            who_of_actor("arn:aws:sts::1:assumed-role/ops-jit/ann"),
            "ops-jit"
        );
        assert_eq!(who_of_actor("arn:aws:iam::1:user/Bob"), "bob");
        assert_eq!(
            binding_name("rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/viewers"),
            "shop/viewers"
        );
        assert_eq!(
            scope_of("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x"),
            "/subscriptions/s"
        );
    }
}
