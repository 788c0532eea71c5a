//! IAM Identity Center assignments named as a person reads them: the permission set by its
//! name and the grantee by its user name or group display name, where the logs link them to
//! the ids the assignment carries (a permission-set ARN, an Identity Store id).
//!
//! What links an Identity Store id to a name in CloudTrail:
//! - Identity Store management (`sso-directory.amazonaws.com`, `identitystore.amazonaws.com`):
//!   `CreateUser` (the request's `userName`, the response's `userId`), `CreateGroup` (the
//!   group's `displayName` and `groupId`; AWS writes `HIDDEN_DUE_TO_SECURITY_REASONS` for the
//!   name since July 2025), and `DescribeUser` / `DescribeGroup` when their response is
//!   logged;
//! - Identity Center sign-ins (`signin.amazonaws.com` `CredentialChallenge`,
//!   `UserAuthentication`): `userIdentity.onBehalfOf.userId` with
//!   `additionalEventData.UserName`, written once per successful sign-in.
//!
//! An id no record names stays the id, and says so.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::actors::use_key;
use super::pairing::Paired;
use super::records::{ReadRecord, cloudtrail_body, record};
use crate::Result;
use crate::detectors::Context;
use crate::schema::OUTCOME;

/// Permission-set records read at most to name permission sets.
const MAX_PERMISSION_SET_RECORDS: usize = 2_000;
/// Identity Store and sign-in records read at most to name principals.
const MAX_PRINCIPAL_RECORDS: usize = 5_000;
/// What AWS writes in place of a name it does not log.
const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Names the logs give Identity Center objects by id.
#[derive(Debug, Default)]
struct Names {
    /// Permission-set names by ARN.
    permission_sets: HashMap<String, String>,
    /// User names and group display names by Identity Store id.
    principals: HashMap<String, String>,
}

/// The actions whose records can name a permission set.
fn names_permission_set(action: &str) -> bool {
    matches!(action, "CreatePermissionSet" | "DescribePermissionSet")
}

/// The actions whose records can link an Identity Store id to a name (their event source
/// is checked in the record).
fn names_principal(action: &str) -> bool {
    matches!(
        action,
        "CreateUser"
            | "DescribeUser"
            | "CreateGroup"
            | "DescribeGroup"
            | "CredentialChallenge"
            | "UserAuthentication"
    )
}

/// Names the Identity Center assignments of `paired` (see the module): the permission set
/// as the role, the target account as the scope, and the grantee; a grantee no record names
/// keeps its id, with a note saying so. Records are read with `read` (rows of `ctx`).
pub(crate) fn name_assignments(
    ctx: &Context<'_>,
    paired: &mut [Paired],
    read: ReadRecord<'_>,
) -> Result<()> {
    if !paired.iter().any(is_assignment) {
        return Ok(());
    }
    let (set_rows, principal_rows) = rows(ctx)?;
    let names = Names::read(paired, &set_rows, &principal_rows, read);
    for p in paired.iter_mut().filter(|p| is_assignment(p)) {
        let value = p
            .grant
            .record_rows
            .first()
            .and_then(|&row| record(read, row));
        let params = value
            .as_ref()
            .and_then(|v| cloudtrail_body(v).get("requestParameters"));
        let param = |key: &str| text(params.and_then(|p| p.get(key)));
        if let Some(account) = param("targetId") {
            p.grant.scope = account.to_string();
        }
        name_assignment(p, param("permissionSetArn"), &names);
    }
    Ok(())
}

/// Rows of the records that can name IAM Identity Center objects (successes, time order):
/// permission sets, and Identity Store users and groups (see the module).
fn rows(ctx: &Context<'_>) -> Result<(Vec<u32>, Vec<u32>)> {
    let predicate = ctx
        .actions(|c| {
            c.provider == "aws" && (names_permission_set(&c.action) || names_principal(&c.action))
        })
        .and(ctx.category(OUTCOME, |o| o == "success"));
    let (mut sets, mut principals) = (Vec::new(), Vec::new());
    for ev in ctx.select(predicate)? {
        if names_permission_set(&ev.action) {
            sets.push(ev.row);
        } else {
            principals.push(ev.row);
        }
    }
    Ok((sets, principals))
}

impl Names {
    /// Reads the names from the records of `permission_set_rows` and `principal_rows` (time
    /// order), for the assignments of `paired`: principal records are read newest first, and
    /// only until every principal assigned is named.
    fn read(
        paired: &[Paired],
        permission_set_rows: &[u32],
        principal_rows: &[u32],
        read: ReadRecord<'_>,
    ) -> Names {
        let mut names = Names::default();
        for &row in permission_set_rows.iter().take(MAX_PERMISSION_SET_RECORDS) {
            if let Some((arn, name)) = record(read, row).and_then(|v| permission_set(&v)) {
                names.permission_sets.insert(arn, name);
            }
        }
        let mut wanted: HashSet<&str> = paired
            .iter()
            .filter(|p| is_assignment(p))
            .map(|p| p.grant.grantee_as_written.as_str())
            .collect();
        for &row in principal_rows.iter().rev().take(MAX_PRINCIPAL_RECORDS) {
            if wanted.is_empty() {
                break;
            }
            let Some((id, name)) = record(read, row).and_then(|v| principal(&v)) else {
                continue;
            };
            if wanted.remove(id.as_str()) {
                names.principals.insert(id, name);
            }
        }
        names
    }
}

fn is_assignment(p: &Paired) -> bool {
    p.grant.provider == "aws" && p.grant.action == "CreateAccountAssignment"
}

/// Names an assignment's permission set (`permission_set_arn`: from its record) and its
/// grantee.
fn name_assignment(p: &mut Paired, permission_set_arn: Option<&str>, names: &Names) {
    let g = &mut p.grant;
    if let Some(arn) = permission_set_arn {
        let name = names
            .permission_sets
            .get(arn)
            .map_or_else(|| arn.rsplit('/').next().unwrap_or(arn), String::as_str);
        g.role = format!("permission set {name}");
    }
    let id = g.grantee_as_written.as_str();
    match names.principals.get(id) {
        Some(name) => {
            g.grantee = name.clone();
            // Their sessions act under this name (the role session name is the user name).
            p.use_key = use_key("aws", name);
        }
        None if !id.is_empty() => {
            let kind = if g.grantee_type == "Group" {
                "group"
            } else {
                "user"
            };
            g.grantee = format!("{id} (Identity Store {kind} id; no record in the logs names it)");
        }
        None => {}
    }
}

/// (ARN, name) of a `CreatePermissionSet` or `DescribePermissionSet` record.
fn permission_set(value: &Value) -> Option<(String, String)> {
    let body = cloudtrail_body(value);
    let set = body
        .get("responseElements")
        .and_then(|r| r.get("permissionSet"));
    let arn = text(set.and_then(|s| s.get("permissionSetArn")))?;
    let name = text(set.and_then(|s| s.get("name")))
        .or_else(|| text(body.get("requestParameters").and_then(|p| p.get("name"))))?;
    Some((arn.to_string(), name.to_string()))
}

/// (Identity Store id, name) a record links, when it does (see the module).
fn principal(value: &Value) -> Option<(String, String)> {
    let body = cloudtrail_body(value);
    let failed = ["errorCode", "errorMessage"]
        .iter()
        .any(|k| body.get(*k).is_some_and(|e| !e.is_null()))
        // Sign-in events say how they ended here: `{"CredentialChallenge":"Failure"}`.
        || body
            .get("serviceEventDetails")
            .and_then(Value::as_object)
            .is_some_and(|d| d.values().any(|v| v.as_str() == Some("Failure")));
    if failed {
        return None;
    }
    let field = |object: &str, key: &str| body.get(object).and_then(|o| o.get(key));
    let (id, name) = match text(body.get("eventSource"))? {
        "sso-directory.amazonaws.com" | "identitystore.amazonaws.com" => {
            let response = body.get("responseElements");
            // In the response's user or group object, else in the response itself (the
            // Identity Store API's `CreateUser` returns `userId` alone).
            let in_response = |object: &str, keys: [&str; 2]| {
                let nested = response.and_then(|r| r.get(object));
                [nested, response]
                    .into_iter()
                    .flatten()
                    .find_map(|o| keys.iter().find_map(|k| text(o.get(*k))))
            };
            match text(body.get("eventName"))? {
                "CreateUser" | "DescribeUser" => (
                    in_response("user", ["userId", "UserId"]),
                    text(field("requestParameters", "userName"))
                        .or_else(|| in_response("user", ["userName", "UserName"])),
                ),
                "CreateGroup" | "DescribeGroup" => (
                    in_response("group", ["groupId", "GroupId"]),
                    text(field("requestParameters", "displayName"))
                        .or_else(|| in_response("group", ["displayName", "DisplayName"])),
                ),
                _ => return None,
            }
        }
        "signin.amazonaws.com" => (
            text(field("userIdentity", "onBehalfOf").and_then(|o| o.get("userId"))),
            text(field("additionalEventData", "UserName")),
        ),
        _ => return None,
    };
    let (id, name) = (id?, name?);
    (name != HIDDEN).then(|| (id.to_string(), name.to_string()))
}

/// A non-empty trimmed string value.
fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn identity_store_and_sign_in_records_link_ids_to_names() {
        let create_group = parse(
            r#"{"eventSource":"sso-directory.amazonaws.com","eventName":"CreateGroup",
            "requestParameters":{"identityStoreId":"d-906791299c","displayName":"admin-test-group"},
            "responseElements":{"group":{"groupId":"34887428-4081-7042-c3c6-928d413009e7",
            "displayName":"admin-test-group","groupAttributes":{}}}}"#,
        );
        assert_eq!(
            principal(&create_group),
            Some((
                "34887428-4081-7042-c3c6-928d413009e7".into(),
                "admin-test-group".into()
            ))
        );
        let create_user = parse(
            r#"{"eventSource":"identitystore.amazonaws.com","eventName":"CreateUser",
            "requestParameters":{"identityStoreId":"d-1","userName":"ann@example.com"},
            "responseElements":{"userId":"906755c1e2-4f1a","identityStoreId":"d-1"}}"#,
        );
        assert_eq!(
            principal(&create_user),
            Some(("906755c1e2-4f1a".into(), "ann@example.com".into()))
        );
        let sign_in = parse(
            r#"{"eventSource":"signin.amazonaws.com","eventName":"CredentialChallenge",
            "userIdentity":{"type":"IdentityCenterUser","accountId":"111122223333",
            "onBehalfOf":{"userId":"544894e8-80c1","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1"}},
            "additionalEventData":{"CredentialType":"PASSWORD","UserName":"anyuser"}}"#,
        );
        assert_eq!(
            principal(&sign_in),
            Some(("544894e8-80c1".into(), "anyuser".into()))
        );
        // A hidden name, a failed call and another service's CreateUser link nothing.
        let hidden = parse(
            r#"{"eventSource":"sso-directory.amazonaws.com","eventName":"CreateGroup",
            "responseElements":{"group":{"groupId":"g-1","displayName":"HIDDEN_DUE_TO_SECURITY_REASONS"}}}"#,
        );
        assert_eq!(principal(&hidden), None);
        let failed = parse(
            r#"{"eventSource":"signin.amazonaws.com","eventName":"CredentialChallenge","errorCode":"Failed",
            "userIdentity":{"onBehalfOf":{"userId":"u-1"}},"additionalEventData":{"UserName":"x"}}"#,
        );
        assert_eq!(principal(&failed), None);
        let iam = parse(
            r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateUser",
            "requestParameters":{"userName":"bob"},"responseElements":{"user":{"userId":"AIDA1","userName":"bob"}}}"#,
        );
        assert_eq!(principal(&iam), None);
    }
}
