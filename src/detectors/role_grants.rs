//! Rule table: privileged roles granted, run by [`super::single`]: IAM policies and role
//! bindings in AWS and GCP, Entra directory roles (by Microsoft's privileged labels) and PIM
//! steps, Azure RBAC, Kubernetes cluster-admin bindings, Okta admin roles and GitHub owners;
//! members from outside the organisation raise the severity.

use super::RuleInfo;
use super::finding::{Severity, hhmm_utc};
use super::single::{SingleRule, gcp_leaf, lower};

use Severity::{Critical, High, Info, Low, Medium};

/// The privileged-role rule.
pub(super) static RULES: [SingleRule; 1] = [SingleRule {
    info: RuleInfo {
        id: "privileged-role-assigned",
        title: "Privileged role granted",
        mitre: &["T1098.003"],
        severity: High,
        summary: "Entra directory roles (Global Administrator and other privileged roles), Azure Owner/User Access Administrator and elevate access, GCP owner/editor/admin bindings, Okta admin privileges, GitHub admins and maintainers",
    },
    select: |c| match c.provider.as_str() {
        "entra" => {
            let a = lower(&c.action);
            (a.starts_with("add member to role")
                || a.starts_with("add eligible member to role")
                || a.starts_with("add scoped member to role")
                || a.starts_with("user has elevated their access")
                || a == "assigns the caller to user access admin")
                && !a.contains("requested")
        }
        "azure" => {
            let a = c.action.to_ascii_uppercase();
            a == "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"
                || a == "MICROSOFT.AUTHORIZATION/ELEVATEACCESS/ACTION"
        }
        "gcp" => {
            gcp_leaf(&c.action).eq_ignore_ascii_case("SetIamPolicy")
                || c.action == "storage.setIamPermissions"
                || gcp_leaf(&c.action) == "InsertProjectOwnershipInvite"
        }
        "okta" => matches!(
            c.action.as_str(),
            "user.account.privilege.grant"
                | "group.privilege.grant"
                | "iam.resourceset.bindings.add"
        ),
        "github" => matches!(
            c.action.as_str(),
            "business.add_admin"
                | "business.invite_admin"
                | "org.add_member"
                | "org.update_member"
                | "team.promote_maintainer"
                | "team.add_repository"
                | "repo.add_member"
                | "organization_moderators.add_user"
        ),
        _ => false,
    },
    judge: |e, ctx| {
        let who = e.who();
        let grantee = e.target();
        match e.provider.as_str() {
            "entra" => {
                let a = lower(&e.action);
                if a.contains("elevated") || a.contains("user access admin") {
                    return Some((
                        Critical,
                        format!(
                            "{who} elevated their access to User Access Administrator over all Azure subscriptions"
                        ),
                    ));
                }
                let role = e.detail("role").unwrap_or("a directory role");
                // A PIM activation (its request, approval and completion, and the
                // directory write MS-PIM makes for it) uses an eligibility granted before:
                // that grant was the decision, judged when made; whether the activation
                // ended on time is the temporary-access rule's to judge.
                if a.contains("(pim activation)") || is_first_party_pim(&e.actor) {
                    let sev = if entra_role_severity(role) == Critical {
                        Low
                    } else {
                        Info
                    };
                    return Some((
                        sev,
                        format!(
                            "{who}: {role} for {grantee} through PIM ({}) at {}",
                            e.action,
                            hhmm_utc(e.time)
                        ),
                    ));
                }
                let sev = entra_role_severity(role);
                let pim = if a.contains("outside of pim") {
                    "; outside PIM"
                } else {
                    ""
                };
                Some((
                    sev,
                    format!(
                        "{who} added {grantee} to {role} ({}) at {}{pim}",
                        e.action,
                        hhmm_utc(e.time)
                    ),
                ))
            }
            "azure" => {
                if e.action
                    .to_ascii_uppercase()
                    .ends_with("ELEVATEACCESS/ACTION")
                {
                    return Some((
                        Critical,
                        format!(
                            "{who} elevated their access to User Access Administrator at root scope"
                        ),
                    ));
                }
                let role = e
                    .detail("role_name")
                    .or(e.detail("role"))
                    .unwrap_or("a role");
                let r = lower(role);
                let sev = if [
                    "owner",
                    "user access administrator",
                    "role based access control administrator",
                    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
                    "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
                ]
                .iter()
                .any(|x| r.contains(x))
                {
                    High
                } else if [
                    "contributor",
                    "b24988ac-6180-42a0-ab88-20f7382dd24c",
                    // Full control of the data: blobs, and keys and secrets of vaults.
                    "storage blob data owner",
                    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
                    "key vault administrator",
                    "00482a5a-887f-4fb3-b363-3b7fe8e74483",
                ]
                .iter()
                .any(|x| r.contains(x))
                {
                    Medium
                } else {
                    // Reader and the other built-in roles grant no control (D06 names
                    // Owner, User Access Administrator, RBAC Administrator, Contributor;
                    // Panther adds the data owners).
                    return None;
                };
                let to = e.detail("principal").unwrap_or("a principal");
                Some((
                    sev,
                    format!("{who} assigned {role} to {to} on {}", e.resource),
                ))
            }
            "gcp" => {
                let bindings = e.detail("bindings").unwrap_or("");
                let added: Vec<&str> = bindings
                    .split(';')
                    .filter(|b| b.trim_start().starts_with("ADD "))
                    .collect();
                let risky: Vec<&str> = added
                    .iter()
                    .copied()
                    .filter(|b| {
                        let role = b.split_whitespace().nth(1).unwrap_or("");
                        role == "roles/owner"
                            || role == "roles/editor"
                            || role.ends_with("Admin")
                            || role.ends_with(".admin")
                            || matches!(
                                role,
                                "roles/iam.serviceAccountTokenCreator"
                                    | "roles/iam.serviceAccountUser"
                                    | "roles/iam.workloadIdentityUser"
                            )
                    })
                    .collect();
                if gcp_leaf(&e.action) == "InsertProjectOwnershipInvite" {
                    let member = e.detail("member").unwrap_or("");
                    if !external_member(member, &e.actor, &ctx.config.org_domains) {
                        return None;
                    }
                    return Some((
                        High,
                        format!(
                            "{who} invited {} to own {}",
                            e.detail("member").unwrap_or("someone"),
                            e.resource
                        ),
                    ));
                }
                if risky.is_empty() {
                    return None;
                }
                let external = risky.iter().any(|b| {
                    let member = b.split_whitespace().nth(2).unwrap_or("");
                    member.contains("allUsers")
                        || member.contains("allAuthenticatedUsers")
                        || (!ctx.config.org_domains.is_empty()
                            && !member.ends_with(".gserviceaccount.com")
                            && !ctx
                                .config
                                .org_domains
                                .iter()
                                .any(|d| member.ends_with(&format!("@{d}"))))
                });
                let org =
                    e.resource.starts_with("organizations/") || e.resource.starts_with("folders/");
                let sev = if external || org { Critical } else { High };
                Some((
                    sev,
                    format!(
                        "{who} granted {} on {}{}",
                        risky
                            .iter()
                            .map(|b| b.trim().trim_start_matches("ADD "))
                            .collect::<Vec<_>>()
                            .join(", "),
                        e.resource,
                        if external {
                            " (member outside the organisation)"
                        } else {
                            ""
                        }
                    ),
                ))
            }
            "okta" => {
                let granted = e.detail("privilegeGranted").unwrap_or("");
                if e.action == "iam.resourceset.bindings.add" {
                    return Some((High, format!("{who} bound a custom admin role ({grantee})")));
                }
                if !granted.to_ascii_lowercase().contains("admin") && !granted.is_empty() {
                    return None;
                }
                let sev = if granted.to_ascii_lowercase().contains("super") {
                    Critical
                } else {
                    High
                };
                let what = if granted.is_empty() {
                    "administrator privileges".to_string()
                } else {
                    granted.to_string()
                };
                Some((sev, format!("{who} granted {what} to {grantee} in Okta")))
            }
            "github" => {
                let admin = e
                    .detail("permission")
                    .is_some_and(|p| p.eq_ignore_ascii_case("admin"));
                let sev = match e.action.as_str() {
                    "business.add_admin" | "business.invite_admin" | "team.promote_maintainer" => {
                        High
                    }
                    "organization_moderators.add_user" => Medium,
                    _ if admin => High,
                    _ => return None,
                };
                Some((
                    sev,
                    format!(
                        "{who} {} {grantee}{}",
                        e.action,
                        if admin { " with admin permission" } else { "" }
                    ),
                ))
            }
            _ => None,
        }
    },
    failures: false,
    rows: None,
    refine: None,
}];

/// Microsoft's own PIM service, which carries out activations and expiries in the directory.
pub(super) fn is_first_party_pim(actor: &str) -> bool {
    matches!(
        actor.to_ascii_lowercase().as_str(),
        "ms-pim" | "ms-pim-fairfax" | "ms-pim-mooncake" | "azure ad pim" | "microsoft azure ad pim"
    )
}

/// The severity of an Entra role grant, by the role's name (Microsoft's privileged labels).
fn entra_role_severity(role: &str) -> Severity {
    let r = role.to_ascii_lowercase();
    let critical = [
        "global administrator",
        "privileged role administrator",
        "privileged authentication administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ];
    let high = [
        "application administrator",
        "authentication administrator",
        "authentication extensibility administrator",
        "conditional access administrator",
        "security administrator",
        "security operator",
        "hybrid identity administrator",
        "user administrator",
        "helpdesk administrator",
        "password administrator",
        "intune administrator",
        "cloud device administrator",
        "domain name administrator",
        "external identity provider administrator",
        "directory writers",
        "lifecycle workflows administrator",
        "partner tier",
        "b2c ief keyset administrator",
        "attribute provisioning administrator",
        "application developer",
        "agent id administrator",
        "exchange administrator",
        "sharepoint administrator",
    ];
    if critical.iter().any(|c| r.contains(c)) {
        Critical
    } else if high.iter().any(|h| r.contains(h)) {
        High
    } else if r.contains("global reader") || r.contains("security reader") {
        Medium
    } else {
        Low
    }
}

/// Whether a GCP member (`user:someone@example.com`) is outside the organisation: outside
/// the configured domains, or without them, outside the domain of the actor inviting them.
fn external_member(member: &str, actor: &str, org_domains: &[String]) -> bool {
    let email = member.rsplit(':').next().unwrap_or(member);
    let Some((_, domain)) = email.rsplit_once('@') else {
        return false;
    };
    if domain.ends_with(".gserviceaccount.com") {
        return false;
    }
    if org_domains.is_empty() {
        let own = actor.rsplit_once('@').map(|(_, d)| d);
        return own.is_none_or(|d| !d.eq_ignore_ascii_case(domain));
    }
    !org_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn entra_roles_follow_microsofts_labels() {
        assert_eq!(entra_role_severity("Global Administrator"), Critical);
        assert_eq!(entra_role_severity("User Administrator"), High);
        assert_eq!(entra_role_severity("Reports Reader"), Low);
    }
}
