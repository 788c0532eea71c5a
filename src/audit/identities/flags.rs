//! What an auditor should look at for an identity, each with its reason: dormant and
//! reactivated, orphaned, never-used and unrotated credentials, privileged roles held but
//! not used (least-privilege candidates, with Repokid's grace periods), privileged actions
//! without MFA.

use serde::Serialize;

use super::{DAY, IdentitiesSpec, IdentityRow};
use crate::text::format_time_utc;

/// The kinds of flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// No activity for `dormant_days` before the end of the data.
    Dormant,
    /// A silence of at least `dormant_days`, then activity.
    Reactivated,
    /// A non-human identity whose owner was disabled or deleted.
    Orphaned,
    /// A credential created and never used (where the provider logs its use).
    NeverUsedCredential,
    /// A live credential older than `rotation_days` with no newer one.
    UnrotatedCredential,
    /// A privileged role held with no privileged action in `unused_days`.
    UnusedPrivilege,
    /// Privileged actions whose record shows no MFA.
    PrivilegedWithoutMfa,
    /// An AWS console password (login profile) not used for a console sign-in in
    /// `unused_days` (IAM Access Analyzer's unused console password).
    UnusedConsolePassword,
    /// Permissions granted in the logs and not used in `unused_days` (IAM Access Analyzer's
    /// unused permissions; from [`crate::audit::permissions`]).
    UnusedPermission,
}

impl FlagKind {
    /// The name shown and written.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::Dormant => "dormant",
            FlagKind::Reactivated => "reactivated",
            FlagKind::Orphaned => "orphaned",
            FlagKind::NeverUsedCredential => "never_used_credential",
            FlagKind::UnrotatedCredential => "unrotated_credential",
            FlagKind::UnusedPrivilege => "unused_privilege",
            FlagKind::PrivilegedWithoutMfa => "privileged_without_mfa",
            FlagKind::UnusedConsolePassword => "unused_console_password",
            FlagKind::UnusedPermission => "unused_permission",
        }
    }
}

/// One flag of an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// What it is.
    pub kind: FlagKind,
    /// Why, for a person.
    pub reason: String,
}

fn day(us: i64) -> String {
    format_time_utc(us).chars().take(10).collect()
}

/// The flags of one identity (`end`: the end of the data; `last_privileged`: its latest
/// successful privileged action).
pub(crate) fn flags(
    row: &IdentityRow,
    spec: &IdentitiesSpec,
    end: i64,
    last_privileged: Option<i64>,
) -> Vec<Flag> {
    let mut out = Vec::new();
    let mut flag = |kind, reason: String| out.push(Flag { kind, reason });
    let dormant = i64::from(spec.dormant_days) * DAY;
    if let Some(last) = row.last_seen {
        let idle = end - last;
        if spec.dormant_days > 0 && idle >= dormant {
            flag(
                FlagKind::Dormant,
                format!(
                    "no activity for {} days before the end of the data ({}); last seen {}",
                    idle / DAY,
                    day(end),
                    day(last)
                ),
            );
        }
    }
    if spec.dormant_days > 0
        && row.longest_gap_days >= u64::from(spec.dormant_days)
        && let Some(back) = row.gap_end
    {
        flag(
            FlagKind::Reactivated,
            format!(
                "active again on {} after {} days without activity",
                day(back),
                row.longest_gap_days
            ),
        );
    }
    if let Some(owner) = &row.owner
        && let Some((when, how)) = owner.gone
    {
        flag(
            FlagKind::Orphaned,
            format!(
                "its owner {} ({}) was {} on {}",
                owner.name,
                owner.source,
                how.as_str(),
                day(when)
            ),
        );
    }
    for c in &row.credentials {
        let name = match &c.id {
            Some(id) => format!("{} {id}", c.kind),
            None => c.kind.clone(),
        };
        if let Some(created) = c.created
            && c.use_logged
            && c.last_used.is_none()
        {
            let lived = c
                .deleted
                .map_or(String::new(), |d| format!(", deleted {}", day(d)));
            flag(
                FlagKind::NeverUsedCredential,
                format!("{name} created {} and never used{lived}", day(created)),
            );
        }
        let rotation = i64::from(spec.rotation_days);
        if let Some(age) = c.age_days(end)
            && c.active()
            && c.rotated.is_none()
            && spec.rotation_days > 0
            && age >= rotation
        {
            let since = match c.created {
                Some(t) => format!("created {}", day(t)),
                None => format!("first used {}", c.first_used.map(day).unwrap_or_default()),
            };
            flag(
                FlagKind::UnrotatedCredential,
                format!(
                    "{name} is {age} days old ({since}) and was not rotated (limit {rotation} days)"
                ),
            );
        }
    }
    unused_privilege(row, spec, end, last_privileged, &mut out);
    if row.privileged_without_mfa > 0 {
        out.push(Flag {
            kind: FlagKind::PrivilegedWithoutMfa,
            reason: format!(
                "{} privileged action{} whose record shows no MFA",
                row.privileged_without_mfa,
                if row.privileged_without_mfa == 1 {
                    ""
                } else {
                    "s"
                }
            ),
        });
    }
    out
}

/// An AWS login profile created (or reset) in the logs, older than the tracking period, still
/// there at the end of the logs, with no console sign-in in the tracking period
/// (`last_login`: the identity's latest successful `ConsoleLogin`).
pub(crate) fn unused_console_password(
    row: &IdentityRow,
    spec: &IdentitiesSpec,
    end: i64,
    last_login: Option<i64>,
) -> Option<Flag> {
    let tracking = i64::from(spec.unused_days) * DAY;
    if spec.unused_days == 0 || last_login.is_some_and(|t| end - t < tracking) {
        return None;
    }
    let set = console_password_set(row)?;
    // The password must have existed through the whole tracking period.
    if end - set < tracking {
        return None;
    }
    let last = match last_login {
        Some(t) => format!("its last console sign-in was on {}", day(t)),
        None => "no console sign-in in the logs".to_string(),
    };
    Some(Flag {
        kind: FlagKind::UnusedConsolePassword,
        reason: format!(
            "console password set on {} but {last} (tracking period {} days)",
            day(set),
            spec.unused_days
        ),
    })
}

/// When the AWS console password the identity holds at the end of the logs was last set
/// (`CreateLoginProfile`, `UpdateLoginProfile`); None when it has none: never set in the
/// logs, removed (`DeleteLoginProfile`), or the user deleted (`DeleteUser`) or created again
/// since (a new user has no password until one is set).
fn console_password_set(row: &IdentityRow) -> Option<i64> {
    let mut set = None;
    // The lifecycle is in time order.
    for e in row.lifecycle.iter().filter(|e| e.provider == "aws") {
        match e.action.as_str() {
            "CreateLoginProfile" | "UpdateLoginProfile" => set = Some(e.time),
            "DeleteLoginProfile" | "DeleteUser" | "CreateUser" => set = None,
            _ => {}
        }
    }
    set
}

/// Permissions still held and not used in the tracking period, outside the grace periods
/// (the analysis applied them), named with the policy that grants them.
pub(crate) fn unused_permission(
    identity: &str,
    unused: &[&crate::audit::permissions::PermissionRow],
    spec: &IdentitiesSpec,
) -> Option<Flag> {
    if unused.is_empty() || spec.unused_days == 0 {
        return None;
    }
    let shown: Vec<String> = unused
        .iter()
        .take(3)
        .map(|r| {
            let permission: String = r.permission.chars().take(60).collect();
            let more = if permission.len() < r.permission.len() {
                "…"
            } else {
                ""
            };
            let role = if r.identity.eq_ignore_ascii_case(identity) {
                String::new()
            } else {
                format!(" of role {}", r.principal)
            };
            format!("{permission}{more} ({}{role})", r.via)
        })
        .collect();
    let rest = unused.len().saturating_sub(shown.len());
    let rest = if rest > 0 {
        format!(" and {rest} more")
    } else {
        String::new()
    };
    Some(Flag {
        kind: FlagKind::UnusedPermission,
        reason: format!(
            "{} granted permission{} not used in {} days: {}{rest}",
            unused.len(),
            if unused.len() == 1 { "" } else { "s" },
            spec.unused_days,
            shown.join("; ")
        ),
    })
}

/// A privileged entitlement held at the end with no privileged action in the tracking
/// period, unless the identity or the grant is too new to judge.
fn unused_privilege(
    row: &IdentityRow,
    spec: &IdentitiesSpec,
    end: i64,
    last_privileged: Option<i64>,
    out: &mut Vec<Flag>,
) {
    let tracking = i64::from(spec.unused_days) * DAY;
    if spec.unused_days == 0 || last_privileged.is_some_and(|t| end - t < tracking) {
        return;
    }
    let new_identity = i64::from(spec.new_identity_days) * DAY;
    if row.first_seen.is_some_and(|f| end - f < new_identity) {
        return;
    }
    let new_grant = i64::from(spec.new_grant_days) * DAY;
    let held: Vec<&str> = row
        .held()
        .filter(|h| h.privileged && h.granted.is_some_and(|g| end - g >= new_grant))
        .map(|h| h.what.as_str())
        .collect();
    if held.is_empty() {
        return;
    }
    let last = match last_privileged {
        Some(t) => format!("its last privileged action was on {}", day(t)),
        None => "it performed no privileged action in the logs".to_string(),
    };
    out.push(Flag {
        kind: FlagKind::UnusedPrivilege,
        reason: format!(
            "holds {} but {last} (tracking period {} days): a least-privilege candidate",
            held.join(", "),
            spec.unused_days
        ),
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::{Credential, Holding};
    use super::*;

    const T0: i64 = 1_700_000_000_000_000;

    fn row() -> IdentityRow {
        IdentityRow {
            identity: "ann".into(),
            first_seen: Some(T0),
            last_seen: Some(T0 + 200 * DAY),
            ..IdentityRow::default()
        }
    }

    fn kinds(flags: &[Flag]) -> Vec<FlagKind> {
        flags.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn dormant_only_after_the_configured_silence() {
        let spec = IdentitiesSpec::default();
        let end = T0 + 229 * DAY;
        assert!(!kinds(&flags(&row(), &spec, end, None)).contains(&FlagKind::Dormant));
        let end = T0 + 230 * DAY;
        let f = flags(&row(), &spec, end, None);
        assert_eq!(kinds(&f), vec![FlagKind::Dormant]);
        assert!(
            f[0].reason.contains("no activity for 30 days"),
            "{}",
            f[0].reason
        );
    }

    #[test]
    fn reactivated_after_a_long_gap() {
        let spec = IdentitiesSpec::default();
        let mut r = row();
        r.longest_gap_days = 29;
        r.gap_end = Some(T0 + 100 * DAY);
        assert!(flags(&r, &spec, T0 + 200 * DAY, None).is_empty());
        r.longest_gap_days = 30;
        let f = flags(&r, &spec, T0 + 200 * DAY, None);
        assert_eq!(kinds(&f), vec![FlagKind::Reactivated]);
        assert!(f[0].reason.contains("after 30 days"));
    }

    #[test]
    fn credentials_never_used_and_unrotated() {
        let spec = IdentitiesSpec::default();
        let mut r = row();
        r.credentials = vec![Credential {
            kind: "access key".into(),
            id: Some("AKIAOLD".into()),
            created: Some(T0),
            use_logged: true,
            ..Credential::default()
        }];
        let end = T0 + 200 * DAY;
        let f = flags(&r, &spec, end, None);
        assert_eq!(
            kinds(&f),
            vec![FlagKind::NeverUsedCredential, FlagKind::UnrotatedCredential]
        );
        assert!(f[1].reason.contains("200 days old"), "{}", f[1].reason);
        r.credentials[0].last_used = Some(T0 + DAY);
        r.credentials[0].rotated = Some(T0 + 80 * DAY);
        assert!(flags(&r, &spec, end, None).is_empty());
    }

    #[test]
    fn unused_privilege_respects_tracking_and_grace() {
        let spec = IdentitiesSpec::default();
        let mut r = row();
        r.holdings = vec![Holding {
            what: "AdministratorAccess".into(),
            privileged: true,
            granted: Some(T0 + 10 * DAY),
            held_at_end: true,
            ..Holding::default()
        }];
        let end = T0 + 200 * DAY;
        let f = flags(&r, &spec, end, Some(T0 + 20 * DAY));
        assert_eq!(kinds(&f), vec![FlagKind::UnusedPrivilege]);
        assert!(f[0].reason.contains("AdministratorAccess"));
        // Used within the tracking period.
        assert!(flags(&r, &spec, end, Some(end - 10 * DAY)).is_empty());
        // A grant in the grace period.
        r.holdings[0].granted = Some(end - 3 * DAY);
        assert!(flags(&r, &spec, end, None).is_empty());
        // A new identity.
        r.holdings[0].granted = Some(T0 + 10 * DAY);
        r.first_seen = Some(end - 30 * DAY);
        assert!(flags(&r, &spec, end, None).is_empty());
    }

    #[test]
    fn unused_console_password_only_when_old_and_not_signed_in() {
        use super::super::{LifecycleEvent, LifecycleKind};
        let spec = IdentitiesSpec::default();
        let end = T0 + 200 * DAY;
        let mut r = row();
        assert!(
            unused_console_password(&r, &spec, end, None).is_none(),
            "no password"
        );
        r.lifecycle = vec![LifecycleEvent {
            time: T0,
            kind: LifecycleKind::PasswordReset,
            by: "admin".into(),
            action: "CreateLoginProfile".into(),
            provider: "aws".into(),
            event_id: "e1".into(),
        }];
        let f = unused_console_password(&r, &spec, end, None).unwrap();
        assert_eq!(f.kind, FlagKind::UnusedConsolePassword);
        assert!(f.reason.contains("no console sign-in"), "{}", f.reason);
        // A sign-in within the tracking period.
        assert!(unused_console_password(&r, &spec, end, Some(end - 5 * DAY)).is_none());
        // A sign-in before it.
        let f = unused_console_password(&r, &spec, end, Some(T0 + DAY)).unwrap();
        assert!(
            f.reason.contains("last console sign-in was on"),
            "{}",
            f.reason
        );
        // A password set within the tracking period has not been unused for all of it.
        r.lifecycle[0].time = end - 30 * DAY;
        assert!(unused_console_password(&r, &spec, end, None).is_none());
    }

    #[test]
    fn a_console_password_removed_or_deleted_with_its_user_is_not_unused() {
        use super::super::{LifecycleEvent, LifecycleKind};
        let spec = IdentitiesSpec::default();
        let end = T0 + 200 * DAY;
        let event = |day: i64, action: &str, kind: LifecycleKind| LifecycleEvent {
            time: T0 + day * DAY,
            kind,
            by: "admin".into(),
            action: action.into(),
            provider: "aws".into(),
            event_id: format!("{action}-{day}"),
        };
        let created = event(0, "CreateLoginProfile", LifecycleKind::PasswordReset);
        let flagged = |events: Vec<LifecycleEvent>| {
            let mut r = row();
            r.lifecycle = events;
            unused_console_password(&r, &spec, end, None).map(|f| f.reason)
        };
        // Created then removed: no password left.
        let removed = event(5, "DeleteLoginProfile", LifecycleKind::PasswordRemoved);
        assert_eq!(flagged(vec![created.clone(), removed.clone()]), None);
        // Updated: still there, set on the update.
        let updated = event(10, "UpdateLoginProfile", LifecycleKind::PasswordReset);
        let reason = flagged(vec![created.clone(), updated.clone()]).unwrap();
        assert!(reason.contains("set on 2023-11-24"), "{reason}");
        // Removed, then set again: flagged from the new one.
        let again = event(20, "CreateLoginProfile", LifecycleKind::PasswordReset);
        let reason = flagged(vec![created.clone(), removed, again]).unwrap();
        assert!(reason.contains("set on 2023-12-04"), "{reason}");
        // The user deleted: no password; created again under the same name: none yet.
        let deleted = event(30, "DeleteUser", LifecycleKind::Deleted);
        assert_eq!(flagged(vec![created.clone(), deleted.clone()]), None);
        let recreated = event(40, "CreateUser", LifecycleKind::Created);
        assert_eq!(flagged(vec![created, deleted, recreated]), None);
    }
}
