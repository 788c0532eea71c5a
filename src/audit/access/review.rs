//! The access review: per privileged role and scope, who holds it at the end of the logs,
//! since when, granted by whom, and when they last used it, with a recommendation from that
//! use, as Entra's access reviews recommend (deny what was not used in the tracking period).

use serde::Serialize;

use super::{AccessSpec, Grant, Status};
use crate::time::DAY;

/// One holding at the end of the logs: a row of the access review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    /// Who holds it (the identity).
    pub principal: String,
    /// `User`, `Group` or `ServicePrincipal`.
    pub principal_type: String,
    /// The role.
    pub role: String,
    /// Where it applies.
    pub scope: String,
    /// The provider.
    pub provider: String,
    /// Held since (the earliest grant still held).
    pub since: i64,
    /// Who granted it.
    pub granted_by: String,
    /// The grantee's last privileged action while holding it.
    pub last_used: Option<i64>,
    /// The justification of the grant, when logged.
    pub justification: Option<String>,
    /// `Approve: ...` or `Deny: ...`, from use.
    pub recommendation: String,
    /// The grant's event ids.
    pub event_ids: Vec<String>,
}

/// The privileged holdings at the end of the logs (`end`, µs), ordered by role, scope and
/// principal; one row per principal, role and scope (the earliest grant still held).
pub fn review(grants: &[Grant], spec: &AccessSpec, end: i64) -> Vec<Holding> {
    let mut held: Vec<&Grant> = grants
        .iter()
        .filter(|g| g.privileged && g.status == Status::Held)
        .collect();
    held.sort_by(|a, b| {
        (&a.provider, &a.role, &a.scope, &a.grantee, a.granted_at).cmp(&(
            &b.provider,
            &b.role,
            &b.scope,
            &b.grantee,
            b.granted_at,
        ))
    });
    let mut out: Vec<Holding> = Vec::new();
    for g in held {
        if let Some(h) = out.last_mut().filter(|h| {
            h.provider == g.provider
                && h.role == g.role
                && h.scope == g.scope
                && h.principal == g.grantee
        }) {
            // The same holding granted again: the last use of either counts.
            h.last_used = h.last_used.max(g.last_used);
            h.event_ids.extend(g.event_ids.iter().cloned());
            h.recommendation = recommendation(h.since, h.last_used, spec, end);
            continue;
        }
        out.push(Holding {
            principal: g.grantee.clone(),
            principal_type: g.grantee_type.to_string(),
            role: g.role.clone(),
            scope: g.scope.clone(),
            provider: g.provider.clone(),
            since: g.granted_at,
            granted_by: g.granted_by.clone(),
            last_used: g.last_used,
            justification: g.justification.clone(),
            recommendation: recommendation(g.granted_at, g.last_used, spec, end),
            event_ids: g.event_ids.clone(),
        });
    }
    out
}

/// Approve what was used in the last `unused_days`; deny the rest, saying for how long it
/// was not used.
fn recommendation(since: i64, last_used: Option<i64>, spec: &AccessSpec, end: i64) -> String {
    let period = i64::from(spec.unused_days) * DAY;
    let days = |us: i64| match us.max(0) / DAY {
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    };
    match last_used {
        Some(t) if end - t <= period => {
            format!("Approve: used {} before the end of the logs", days(end - t))
        }
        Some(t) => format!(
            "Deny: not used in {} days (last used {} before the end of the logs)",
            spec.unused_days,
            days(end - t)
        ),
        None if end - since >= period => format!("Deny: not used in {} days", spec.unused_days),
        None => format!(
            "Deny: not used in the {} since it was granted",
            days(end - since)
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn recommendations_follow_use_in_the_tracking_period() {
        let spec = AccessSpec::default();
        let end = 200 * DAY;
        assert_eq!(
            recommendation(0, Some(end - 3 * DAY), &spec, end),
            "Approve: used 3 days before the end of the logs"
        );
        assert_eq!(
            recommendation(0, Some(end - 120 * DAY), &spec, end),
            "Deny: not used in 90 days (last used 120 days before the end of the logs)"
        );
        assert_eq!(
            recommendation(0, None, &spec, end),
            "Deny: not used in 90 days"
        );
        assert_eq!(
            recommendation(end - DAY, None, &spec, end),
            "Deny: not used in the 1 day since it was granted"
        );
    }
}
