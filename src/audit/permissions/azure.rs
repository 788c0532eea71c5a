//! Azure RBAC granted versus used. Grants: successful Activity
//! `Microsoft.Authorization/roleAssignments/write` (and `/delete`) records, with the
//! principal, role definition and scope the provider reads from their request/response
//! bodies (the `details` column: `principal=`, `role=`, `scope=`); a delete with no write
//! before it closes an assignment older than the logs. Built-in roles expand by their GUID
//! to `actions` minus `notActions` ([`super::cloud_catalog`], iann0036/iam-dataset); other
//! definitions (custom roles) are "cannot tell".
//!
//! Use: an Activity record's `operationName` is the action itself; it uses an assignment
//! when one of the role's action patterns matches it (`*` wildcards, case-insensitive), no
//! `notActions` pattern does, and the resource is inside the assignment's scope (a prefix of
//! the resource id; management-group and root scopes hold everything, as the logs do not
//! show the hierarchy). `dataActions` are "cannot tell": Activity logs record control-plane
//! operations only; so are patterns of reads (`*/read`): the Activity log records writes,
//! deletes and actions, never reads.
//!
//! Rows are one per action pattern of the role, not one per operation: Owner and
//! Contributor grant `*`, every operation of every provider (tens of thousands), and a role
//! is written, reviewed and trimmed as its patterns; each row lists the operations that
//! used the pattern (`top_actions`) and how many distinct ones (`actions_used`), as IAM
//! Access Analyzer reports per policy statement.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::PermissionRow;
use super::cloud::{
    Frame, Ledger, Tally, Window, Windowed, category_ids, identities_of, select, successful,
};
use super::cloud_catalog::{Azure, AzureRole, azure_pattern_matches};
use crate::Result;
use crate::detectors::event::{i64s, strings};
use crate::schema::{
    ACCOUNT, ACTION, ACTOR, ACTOR_ID, DETAILS, EVENT_ID, RESOURCE, TIME, has_category_id,
};

const WRITE: &str = "microsoft.authorization/roleassignments/write";
const DELETE: &str = "microsoft.authorization/roleassignments/delete";
const ASSIGNMENT_PATH: &str = "/providers/microsoft.authorization/roleassignments/";

/// An assignment of a role definition to a principal at a scope, over a window.
#[derive(Debug, Clone)]
struct Assignment {
    /// Lowercase object id (hyphenated as written).
    principal: String,
    /// The role definition GUID (lowercase).
    role: String,
    /// Lowercase scope (`/subscriptions/<id>/resourcegroups/<rg>`).
    scope: String,
    /// The scope as written.
    scope_written: String,
    window: Window,
}

impl Windowed for Assignment {
    fn window_mut(&mut self) -> &mut Window {
        &mut self.window
    }
}

impl Assignment {
    fn covers(&self, resource: &str) -> bool {
        in_scope(&self.scope, resource)
    }
}

/// Whether a lowercase resource id is inside a lowercase assignment scope.
fn in_scope(scope: &str, resource: &str) -> bool {
    let scope = scope.trim_end_matches('/');
    if scope.is_empty() || scope.starts_with("/providers/microsoft.management/managementgroups/") {
        return true;
    }
    let resource = resource.trim_end_matches('/');
    resource == scope
        || resource
            .strip_prefix(scope)
            .is_some_and(|t| t.starts_with('/'))
}

/// A value of the `details` column (`key=value`, space-separated).
fn detail<'d>(details: &'d str, key: &str) -> Option<&'d str> {
    details
        .split(' ')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
}

/// Whether a role allows an operation: an action pattern matches and no notActions one.
fn allows(role: &AzureRole, operation: &str) -> bool {
    role.actions
        .iter()
        .any(|p| azure_pattern_matches(p, operation))
        && !role
            .not_actions
            .iter()
            .any(|p| azure_pattern_matches(p, operation))
}

fn assignments(events: &DataFrame) -> Result<(Vec<Assignment>, u64)> {
    let wanted = category_ids(ACTION, &|a| {
        a.eq_ignore_ascii_case(WRITE) || a.eq_ignore_ascii_case(DELETE)
    });
    if wanted.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let filter = successful("azure").and(has_category_id(ACTION, wanted));
    let df = select(events, filter, &[TIME, EVENT_ID, ACTION, DETAILS])?
        .sort(
            [TIME],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .map_err(crate::Error::polars("sorting the role assignments"))?;
    let (times, ids, actions, details) = (
        i64s(&df, TIME)?,
        strings(&df, EVENT_ID)?,
        strings(&df, ACTION)?,
        strings(&df, DETAILS)?,
    );
    let mut ledger = Ledger::new();
    let mut read = 0;
    for i in 0..df.height() {
        let (Some(Some(time)), Some(details)) = (times.get(i), details.get(i)) else {
            continue;
        };
        let (Some(principal), Some(role), Some(scope)) = (
            detail(details, "principal"),
            detail(details, "role"),
            detail(details, "scope"),
        ) else {
            continue;
        };
        read += 1;
        // Without a body scope the provider gives the assignment's own id: its scope is
        // what precedes the role assignment path.
        let lower = scope.to_ascii_lowercase();
        let cut = lower.find(ASSIGNMENT_PATH).unwrap_or(lower.len());
        let (scope_written, scope) = (scope[..cut].to_string(), lower[..cut].to_string());
        let event_id = ids.get(i).cloned().unwrap_or_default();
        let principal = principal.to_ascii_lowercase();
        let role = role.rsplit('/').next().unwrap_or(role).to_ascii_lowercase();
        let key = (principal.clone(), role.clone(), scope.clone());
        let delete = actions
            .get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(DELETE));
        let assignment = Assignment {
            principal,
            role,
            scope,
            scope_written,
            window: Window::default(),
        };
        if delete {
            ledger.revoke(key, assignment, *time, event_id);
        } else {
            ledger.grant(key, assignment, *time, event_id);
        }
    }
    let mut out = ledger.into_grants();
    out.sort_by(|a, b| {
        (&a.principal, &a.role, &a.scope, a.window.from).cmp(&(
            &b.principal,
            &b.role,
            &b.scope,
            b.window.from,
        ))
    });
    Ok((out, read))
}

/// A control-plane operation a principal performed, and where.
struct Call {
    time: i64,
    operation: String,
    /// Lowercase resource id (or scope, for role assignment operations).
    resource: String,
}

/// The calls of the principals, by lowercase object id, and the calls without an operation.
fn calls_of(
    events: &DataFrame,
    principals: &HashSet<String>,
) -> Result<(HashMap<String, Vec<Call>>, u64, u64)> {
    let known = |v: &str| principals.contains(&v.to_ascii_lowercase());
    let by_actor = has_category_id(ACTOR, category_ids(ACTOR, &known));
    let by_id = has_category_id(ACTOR_ID, category_ids(ACTOR_ID, &known));
    let df = select(
        events,
        successful("azure").and(by_actor.or(by_id)),
        &[TIME, ACTOR, ACTOR_ID, ACTION, RESOURCE, ACCOUNT, DETAILS],
    )?;
    let (times, actors, actor_ids, actions, resources, accounts, details) = (
        i64s(&df, TIME)?,
        strings(&df, ACTOR)?,
        strings(&df, ACTOR_ID)?,
        strings(&df, ACTION)?,
        strings(&df, RESOURCE)?,
        strings(&df, ACCOUNT)?,
        strings(&df, DETAILS)?,
    );
    let (mut out, mut mapped, mut cannot_tell) = (HashMap::new(), 0, 0);
    for i in 0..df.height() {
        let Some(Some(time)) = times.get(i) else {
            continue;
        };
        let operation = actions.get(i).map(String::as_str).unwrap_or("");
        if !operation.contains('/') {
            cannot_tell += 1;
            continue;
        }
        mapped += 1;
        let principal = [actor_ids.get(i), actors.get(i)]
            .into_iter()
            .flatten()
            .map(|p| p.to_ascii_lowercase())
            .find(|p| principals.contains(p))
            .unwrap_or_default();
        // Role assignment operations name the principal as their resource: their place is
        // the scope; a record without a resource id is placed at its subscription.
        let resource = resources
            .get(i)
            .filter(|r| r.starts_with('/'))
            .cloned()
            .or_else(|| {
                details
                    .get(i)
                    .and_then(|d| detail(d, "scope"))
                    .map(str::to_string)
            })
            .or_else(|| {
                accounts
                    .get(i)
                    .filter(|a| !a.is_empty())
                    .map(|a| format!("/subscriptions/{a}"))
            })
            .unwrap_or_default()
            .to_ascii_lowercase();
        out.entry(principal).or_insert_with(Vec::new).push(Call {
            time: *time,
            operation: operation.to_string(),
            resource,
        });
    }
    Ok((out, mapped, cannot_tell))
}

/// The Azure rows of `events`, the role assignment records read, and the calls placed.
pub(super) fn rows(
    events: &DataFrame,
    frame: &Frame<'_>,
) -> Result<(Vec<PermissionRow>, super::CloudCounts)> {
    let (assignments, read) = assignments(events)?;
    let mut counts = super::CloudCounts {
        grant_events: read,
        ..Default::default()
    };
    if assignments.is_empty() {
        return Ok((Vec::new(), counts));
    }
    let principals: HashSet<String> = assignments.iter().map(|a| a.principal.clone()).collect();
    let (calls, mapped, cannot_tell) = calls_of(events, &principals)?;
    counts.mapped = mapped;
    counts.cannot_tell = cannot_tell;
    let identities = identities_of(events, "azure")?;
    let catalog = Azure::get();
    let mut out = Vec::new();
    for assignment in &assignments {
        let identity = identities
            .get(&assignment.principal)
            .cloned()
            .unwrap_or_else(|| assignment.principal.clone());
        let role = catalog.role(&assignment.role);
        let via = match role {
            Some(r) => format!(
                "{} ({}) at {}",
                r.name, assignment.role, assignment.scope_written
            ),
            None => format!("role {} at {}", assignment.role, assignment.scope_written),
        };
        let base = PermissionRow {
            permission: "(whole role)".into(),
            via,
            ..assignment.window.stamp(PermissionRow::blank(
                identity,
                assignment.principal.clone(),
                "azure",
            ))
        };
        let Some(role) = role else {
            out.push(PermissionRow {
                reason: format!(
                    "role definition {} is not a built-in role (a custom role: its actions are \
                     not in the logs)",
                    assignment.role
                ),
                ..base
            });
            continue;
        };
        let mine = calls
            .get(&assignment.principal)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let others: Vec<(&Assignment, &AzureRole)> = assignments
            .iter()
            .filter(|o| o.principal == assignment.principal && !std::ptr::eq(*o, assignment))
            .filter_map(|o| Some((o, catalog.role(&o.role)?)))
            .collect();
        for pattern in &role.actions {
            let mut tally = Tally::default();
            for call in mine {
                if !azure_pattern_matches(pattern, &call.operation)
                    || !allows(role, &call.operation)
                    || !assignment.covers(&call.resource)
                {
                    continue;
                }
                if assignment.window.holds_at(call.time) {
                    tally.used(&call.operation, call.time);
                } else if assignment.window.removed_before(call.time)
                    && !others.iter().any(|(o, r)| {
                        o.window.holds_at(call.time)
                            && o.covers(&call.resource)
                            && allows(r, &call.operation)
                    })
                {
                    tally.used_after(&call.operation, call.time);
                }
            }
            let mut row = PermissionRow {
                permission: match role.not_actions.len() {
                    0 => (*pattern).to_string(),
                    1..=3 => format!("{pattern} except {}", role.not_actions.join(", ")),
                    n => format!("{pattern} except {n} notActions"),
                },
                ..base.clone()
            };
            // The Activity log records writes, deletes and actions, never reads (GET).
            let reads = pattern.to_ascii_lowercase().ends_with("/read");
            tally.judge(
                &mut row,
                frame,
                reads.then_some("read operations: the Activity log does not record reads"),
            );
            out.push(row);
        }
        if !role.data_actions.is_empty() {
            let mut row = PermissionRow {
                permission: format!("data: {}", role.data_actions.join(", ")),
                actions_granted: role.data_actions.len() as u64,
                ..base.clone()
            };
            Tally::default().judge(
                &mut row,
                frame,
                Some("data-plane actions: Activity logs record control-plane operations only"),
            );
            out.push(row);
        }
    }
    Ok((out, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_resource_id_prefixes() {
        let rg = "/subscriptions/s/resourcegroups/rg1";
        assert!(in_scope(
            rg,
            "/subscriptions/s/resourcegroups/rg1/providers/x/y"
        ));
        assert!(!in_scope(
            rg,
            "/subscriptions/s/resourcegroups/rg10/providers/x/y"
        ));
        assert!(!in_scope(rg, "/subscriptions/s"));
        assert!(in_scope("/", "/subscriptions/s"));
    }

    #[test]
    fn details_give_principal_role_and_scope() {
        let d = "status=Succeeded principal=abc role=b24988ac scope=/subscriptions/s";
        assert_eq!(detail(d, "principal"), Some("abc"));
        assert_eq!(detail(d, "role"), Some("b24988ac"));
        assert_eq!(detail(d, "scope"), Some("/subscriptions/s"));
        assert_eq!(detail("principal_type=User", "principal"), None);
    }
}
