//! The provider actions the inventory reads one by one: what a lifecycle event does to the
//! identity it targets ([`lifecycle_kind`]) and which events create, change or end a
//! credential (the detectors' table).

use serde::Serialize;

use crate::detectors::credentials::credential_change;

/// What happened to an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleKind {
    /// Created (a user, role, service account, service principal, org membership).
    Created,
    /// Enabled, activated or unsuspended.
    Enabled,
    /// Disabled, deactivated or suspended.
    Disabled,
    /// Deleted or removed.
    Deleted,
    /// Its password was set or reset.
    PasswordReset,
    /// Its password was removed (AWS `DeleteLoginProfile`): it can no longer sign in to the
    /// console.
    PasswordRemoved,
    /// An MFA factor was registered.
    MfaEnrolled,
    /// Its MFA factors were reset, deactivated or removed.
    MfaReset,
}

impl LifecycleKind {
    /// The name shown and written.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleKind::Created => "created",
            LifecycleKind::Enabled => "enabled",
            LifecycleKind::Disabled => "disabled",
            LifecycleKind::Deleted => "deleted",
            LifecycleKind::PasswordReset => "password_reset",
            LifecycleKind::PasswordRemoved => "password_removed",
            LifecycleKind::MfaEnrolled => "mfa_enrolled",
            LifecycleKind::MfaReset => "mfa_reset",
        }
    }

    /// The identity can no longer act (disabled or deleted).
    pub fn ends(self) -> bool {
        matches!(self, LifecycleKind::Disabled | LifecycleKind::Deleted)
    }
}

/// What a provider's action does to the identity it targets.
pub fn lifecycle_kind(provider: &str, action: &str) -> Option<LifecycleKind> {
    use LifecycleKind::*;
    Some(match provider {
        "aws" => match action {
            "CreateUser" | "CreateRole" => Created,
            "DeleteUser" | "DeleteRole" => Deleted,
            "CreateLoginProfile" | "UpdateLoginProfile" => PasswordReset,
            "DeleteLoginProfile" => PasswordRemoved,
            "EnableMFADevice" => MfaEnrolled,
            "DeactivateMFADevice" | "DeleteVirtualMFADevice" => MfaReset,
            _ => return None,
        },
        "entra" => match action {
            "Add user" | "Add service principal" | "Add application" => Created,
            "Delete user"
            | "Hard Delete user"
            | "Remove service principal"
            | "Delete application" => Deleted,
            "Disable account" => Disabled,
            "Enable account" | "Restore user" => Enabled,
            "Reset user password" | "Reset password (by admin)" | "Change user password" => {
                PasswordReset
            }
            "User registered security info" | "User registered all required security info" => {
                MfaEnrolled
            }
            "Disable Strong Authentication"
            | "Admin deleted security info"
            | "User deleted security info"
            | "Reset Strong Authentication" => MfaReset,
            _ => return None,
        },
        "okta" => match action {
            "user.lifecycle.create" => Created,
            "user.lifecycle.activate"
            | "user.lifecycle.reactivate"
            | "user.lifecycle.unsuspend" => Enabled,
            "user.lifecycle.deactivate" | "user.lifecycle.suspend" => Disabled,
            "user.lifecycle.delete.initiated" | "user.lifecycle.delete.completed" => Deleted,
            "user.account.reset_password" | "user.account.update_password" => PasswordReset,
            "user.mfa.factor.activate" | "system.mfa.factor.activate" => MfaEnrolled,
            "user.mfa.factor.reset_all" | "user.mfa.factor.deactivate" => MfaReset,
            _ => return None,
        },
        "gcp" => match action.rsplit('.').next().unwrap_or(action) {
            "CreateServiceAccount" => Created,
            "DeleteServiceAccount" => Deleted,
            "DisableServiceAccount" => Disabled,
            "EnableServiceAccount" | "UndeleteServiceAccount" => Enabled,
            _ => return None,
        },
        "github" => match action {
            "org.add_member" | "business.add_member" | "user.create" => Created,
            "org.remove_member" | "business.remove_member" | "user.destroy" => Deleted,
            "user.suspend" => Disabled,
            "user.unsuspend" => Enabled,
            _ => return None,
        },
        "kubernetes" => match action {
            "create serviceaccounts" => Created,
            "delete serviceaccounts" => Deleted,
            _ => return None,
        },
        _ => return None,
    })
}

/// Whether a provider's action is a lifecycle event.
pub fn is_lifecycle(provider: &str, action: &str) -> bool {
    lifecycle_kind(provider, action).is_some()
}

/// Whether a provider's action creates, changes or ends a credential.
pub fn is_credential_event(provider: &str, action: &str) -> bool {
    credential_change(provider, action).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_events_of_every_provider() {
        use LifecycleKind::*;
        for (provider, action, kind) in [
            ("aws", "CreateUser", Some(Created)),
            ("aws", "UpdateLoginProfile", Some(PasswordReset)),
            ("aws", "DeleteLoginProfile", Some(PasswordRemoved)),
            ("aws", "DeactivateMFADevice", Some(MfaReset)),
            ("entra", "Disable account", Some(Disabled)),
            ("entra", "Reset user password", Some(PasswordReset)),
            ("okta", "user.lifecycle.suspend", Some(Disabled)),
            ("okta", "user.mfa.factor.reset_all", Some(MfaReset)),
            (
                "gcp",
                "google.iam.admin.v1.CreateServiceAccount",
                Some(Created),
            ),
            // A key of a service account is a credential, not the account.
            ("gcp", "google.iam.admin.v1.CreateServiceAccountKey", None),
            ("github", "org.remove_member", Some(Deleted)),
            ("kubernetes", "create serviceaccounts", Some(Created)),
            ("aws", "ListUsers", None),
        ] {
            assert_eq!(
                lifecycle_kind(provider, action),
                kind,
                "{provider} {action}"
            );
        }
        assert!(is_credential_event(
            "gcp",
            "google.iam.admin.v1.CreateServiceAccountKey"
        ));
        assert!(is_credential_event(
            "github",
            "personal_access_token.create"
        ));
        assert!(!is_credential_event("aws", "ListAccessKeys"));
    }
}
