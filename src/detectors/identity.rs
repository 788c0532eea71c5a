//! Rule table: single-event identity rules, run by [`super::single`]. Root and break-glass
//! use, sign-ins without MFA (with Okta sessions, [`super::okta_sessions`]), credentials made
//! for someone else, MFA and sign-in policy weakened, consent to applications, vendor risk
//! flags, just-in-time controls bypassed. Privileged roles granted are [`super::role_grants`].

use polars::prelude::*;

use super::RuleInfo;
use super::event::Ev;
use super::finding::{Severity, hhmm_utc};
use super::okta_sessions;
use super::single::{SingleRule, aws, details_match, gcp_leaf, is, lower};
use crate::schema::{ACTION, ACTOR, ACTOR_TYPE, MFA};

use Severity::{Critical, High, Low, Medium};

/// The identity rules.
pub(super) static RULES: [SingleRule; 7] = [
    SingleRule {
        info: RuleInfo {
            id: "root-or-breakglass-use",
            title: "Root or break-glass account used",
            mitre: &["T1078.004"],
            severity: High,
            summary: "AWS root user activity (console sign-in, writes, access keys) and any sign-in or write by a configured break-glass account",
        },
        select: |_| true,
        judge: |e, ctx| {
            let root = e.actor_type == "root";
            let breakglass = ctx.is_breakglass(&e.actor);
            if !root && !breakglass {
                return None;
            }
            // A service acting for root is not root at the keyboard, but the console
            // (`invokedBy: signin.amazonaws.com`) is.
            let by_service = e
                .detail("invokedBy")
                .is_some_and(|s| s != "signin.amazonaws.com");
            if root
                && (e.detail("eventType") == Some("AwsServiceEvent")
                    || by_service
                    || e.action == "CreateServiceLinkedRole")
            {
                return None;
            }
            let from = if e.src_ip.is_empty() {
                String::new()
            } else {
                format!(" from {}", e.src_ip)
            };
            let what = if root { "root" } else { "break-glass account" };
            if e.action == "ConsoleLogin" {
                let no_mfa = e.detail("MFAUsed") != Some("Yes");
                let sev = if no_mfa { Critical } else { High };
                return Some((
                    sev,
                    format!(
                        "{what} {} signed in to the AWS console{from}{}",
                        e.who(),
                        if no_mfa { " without MFA" } else { "" }
                    ),
                ));
            }
            if e.action == "CreateAccessKey" && root {
                return Some((Critical, format!("root created an access key{from}")));
            }
            let signin = e.log_type.starts_with("signin") || e.action.contains("session.start");
            let sev = match e.read_only {
                _ if signin => High,
                Some(true) if root => Medium,
                Some(true) => return None,
                _ => High,
            };
            Some((
                sev,
                format!(
                    "{what} {} called {}{from} at {}",
                    e.who(),
                    e.action,
                    hhmm_utc(e.time)
                ),
            ))
        },
        failures: false,
        rows: Some(|ctx| {
            ctx.category(ACTOR_TYPE, |t| t == "root")
                .or(ctx.category(ACTOR, |a| ctx.is_breakglass(a)))
        }),
        refine: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "console-signin-without-mfa",
            title: "Console sign-in without MFA",
            mitre: &["T1078.004", "T1556.006"],
            severity: Medium,
            summary: "AWS ConsoleLogin success without MFA (not SSO/SAML/assumed roles); Entra interactive single-factor sign-in to admin apps, without conditional access, or by privileged users; Okta sessions without MFA where the user or the org otherwise uses it",
        },
        select: |c| {
            is(c, "aws", &["ConsoleLogin"]) || (c.provider == "entra" && c.action == "Sign-in")
        },
        judge: |e, ctx| {
            if e.provider == "aws" {
                // A sign-in whose record names no identity (an assumed-role session
                // without its ARN) is nobody's to judge.
                if e.actor.is_empty()
                    || e.detail("MFAUsed") == Some("Yes")
                    || e.detail("samlProvider").is_some()
                    || e.actor.contains(":assumed-role/")
                    || e.actor.contains("AWSReservedSSO_")
                    || e.actor_type == "root"
                {
                    return None;
                }
                let privileged = ctx.privileged_actors.contains(&e.actor);
                let sev = if privileged { High } else { Medium };
                return Some((
                    sev,
                    format!(
                        "{} signed in to the AWS console without MFA (MFAUsed=No) from {}{}",
                        e.who(),
                        e.source(),
                        if privileged {
                            "; this user performs privileged actions in the data"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            if e.log_type != "signin" || e.mfa != Some(false) {
                return None;
            }
            let admin_app = [
                "Azure Portal",
                "Microsoft Azure PowerShell",
                "Microsoft Azure CLI",
                "Microsoft Azure Management",
            ]
            .iter()
            .any(|a| e.service.eq_ignore_ascii_case(a));
            let no_ca = e.detail("conditionalAccess") == Some("notApplied");
            let privileged = ctx.privileged_actors.contains(&e.actor);
            if !(admin_app || no_ca || privileged) {
                return None;
            }
            let sev = if privileged { High } else { Medium };
            let why = [
                (admin_app, "an admin app"),
                (no_ca, "no conditional access applied"),
                (privileged, "a user with privileged actions in the data"),
            ]
            .iter()
            .filter(|(b, _)| *b)
            .map(|(_, w)| *w)
            .collect::<Vec<_>>()
            .join(", ");
            Some((
                sev,
                format!(
                    "{} signed in to {} with a single factor from {} ({why})",
                    e.who(),
                    e.service,
                    e.source()
                ),
            ))
        },
        failures: false,
        rows: Some(|_| col(MFA).eq(lit(false)).fill_null(lit(false))),
        refine: Some(okta_sessions::without_mfa),
    },
    SingleRule {
        info: RuleInfo {
            id: "credential-created-for-other-identity",
            title: "Credentials created for another identity",
            mitre: &["T1098.001"],
            severity: High,
            summary: "AWS access keys and login profiles made for another user; Entra service-principal / application credentials and Temporary Access Passes; GCP service-account, HMAC and API keys; Okta API tokens; GitHub tokens, deploy keys and secrets",
        },
        select: |c| {
            aws(
                c,
                "iam",
                &[
                    "CreateAccessKey",
                    "CreateLoginProfile",
                    "UpdateLoginProfile",
                ],
            ) || (c.provider == "entra" && {
                let a = lower(&c.action).replace('–', "-");
                a == "add service principal credentials"
                    || a.starts_with("update application - certificates and secrets")
                    || a == "create temporary access pass method for user"
            }) || c.provider == "gcp"
                || is(c, "okta", &["system.api_token.create"])
                || is(
                    c,
                    "github",
                    &[
                        "personal_access_token.access_granted",
                        "personal_access_token.create",
                        "public_key.create",
                        "org.create_actions_secret",
                        "repo.create_actions_secret",
                        "environment.create_actions_secret",
                        "integration_installation.create",
                    ],
                )
        },
        judge: |e, _| {
            let who = e.who();
            let target = e.target();
            match e.provider.as_str() {
                "aws" => {
                    if e.actor_type == "root" {
                        return None; // root-or-breakglass-use
                    }
                    // No userName: a key or password for oneself (rotation).
                    let user = e.detail("userName")?;
                    if user.eq_ignore_ascii_case(who) || e.actor.ends_with(&format!("/{user}")) {
                        return None;
                    }
                    if e.action.contains("LoginProfile")
                        && e.detail("passwordResetRequired") == Some("true")
                    {
                        return None;
                    }
                    let what = match e.action.as_str() {
                        "CreateAccessKey" => "created an access key",
                        "UpdateLoginProfile" => "reset the console password",
                        _ => "created a console password",
                    };
                    Some((
                        High,
                        format!(
                            "{who} {what} for another user, {user} ({}), from {}",
                            e.action,
                            e.source()
                        ),
                    ))
                }
                "entra" => {
                    let tap = e
                        .action
                        .to_ascii_lowercase()
                        .contains("temporary access pass");
                    let sev = if tap || !e.non_human() { High } else { Medium };
                    Some((
                        sev,
                        format!("{who} added credentials to {target} ({})", e.action),
                    ))
                }
                "gcp" => {
                    if target.eq_ignore_ascii_case(&e.actor)
                        || target.ends_with(&format!("/{}", e.actor))
                    {
                        return None;
                    }
                    let sev = if e.non_human() { Medium } else { High };
                    let who = if who.is_empty() { "a principal" } else { who };
                    // A key made inside another call (a Deployment Manager deployment) shows
                    // only as the permission it was granted.
                    let how = match e.detail("permission") {
                        Some(p) if !gcp_key_method(&e.action) => {
                            format!("{p} within {}", e.action)
                        }
                        _ => gcp_leaf(&e.action).to_string(),
                    };
                    Some((sev, format!("{who} created a key ({how}) for {target}")))
                }
                "okta" => Some((Medium, format!("{who} created an Okta API token {target}"))),
                "github" => {
                    let sev = if e.action == "integration_installation.create" {
                        Medium
                    } else {
                        Low
                    };
                    Some((sev, format!("{who} {} {target}", e.action)))
                }
                _ => None,
            }
        },
        failures: false,
        // GCP keys by method name, or by the permission granted when the key was made
        // inside another call (Deployment Manager); every other provider by action.
        rows: Some(|ctx| {
            ctx.actions(|c| c.provider != "gcp" || gcp_key_method(&c.action))
                .or(details_match(GCP_KEY_PERMISSION))
        }),
        refine: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "mfa-or-conditional-access-weakened",
            title: "MFA or sign-in policy weakened",
            mitre: &["T1556.006", "T1556.009"],
            severity: High,
            summary: "AWS MFA devices removed and password policy changes; Entra MFA disabled, security info deleted, conditional access weakened or deleted, security defaults, federation; Okta factors and policies; GitHub 2FA/SAML/IP allow-list disabled",
        },
        select: |c| {
            aws(
                c,
                "iam",
                &[
                    "DeactivateMFADevice",
                    "DeleteVirtualMFADevice",
                    "UpdateAccountPasswordPolicy",
                    "DeleteAccountPasswordPolicy",
                ],
            ) || (c.provider == "entra"
                && ENTRA_MFA.iter().any(|a| c.action.eq_ignore_ascii_case(a)))
                || (c.provider == "okta"
                    && (c.action.starts_with("system.mfa.factor.deactivate")
                        || matches!(
                            c.action.as_str(),
                            "user.mfa.factor.deactivate"
                                | "user.mfa.factor.suspend"
                                | "user.mfa.factor.reset_all"
                        )
                        || c.action.starts_with("policy.lifecycle.")
                            && !c.action.ends_with("create")
                            && !c.action.ends_with(".activate")
                        || c.action.starts_with("policy.rule.")
                            && !c.action.ends_with("create")
                            && !c.action.ends_with(".activate")
                        || matches!(
                            c.action.as_str(),
                            "zone.update"
                                | "zone.delete"
                                | "zone.deactivate"
                                | "system.idp.lifecycle.create"
                                | "system.idp.lifecycle.update"
                        )))
                || is(
                    c,
                    "github",
                    &[
                        "org.disable_two_factor_requirement",
                        "business.disable_two_factor_requirement",
                        "org.saml_disabled",
                        "business.disable_saml",
                        "org.update_saml_provider_settings",
                        "org.disable_oauth_app_restrictions",
                        "ip_allow_list.disable",
                    ],
                )
        },
        judge: |e, _| {
            let who = e.who();
            let target = e.target();
            let sev = match e.provider.as_str() {
                "aws" => match e.action.as_str() {
                    "DeactivateMFADevice" | "DeleteVirtualMFADevice" => {
                        if e.actor_type == "root" || target.ends_with(":root") {
                            Critical
                        } else {
                            High
                        }
                    }
                    _ => Medium,
                },
                "entra" => {
                    let a = e.action.to_ascii_lowercase();
                    if a == "update user" {
                        if e.detail("strongAuthState") != Some("none") {
                            return None;
                        }
                        High
                    } else if a == "update conditional access policy" {
                        // Graph writes `mfa`, the portal's records `MFA`.
                        let old = lower(e.detail("caGrantOld").unwrap_or(""));
                        let new = lower(e.detail("caGrant").unwrap_or(""));
                        let lost_mfa = old.contains("mfa") && !new.contains("mfa");
                        let off = e.detail("caState").is_some_and(|s| {
                            s.eq_ignore_ascii_case("disabled")
                                || s.starts_with("enabledForReporting")
                        });
                        if !lost_mfa && !off {
                            return None;
                        }
                        High
                    } else if a.contains("deleted security info") && self_service(e) {
                        // Someone replacing their own phone: routine re-enrolment.
                        Low
                    } else if a.contains("deleted security info")
                        || a.contains("named location")
                        || a == "authentication methods policy update"
                    {
                        Medium
                    } else {
                        High
                    }
                }
                "okta" => {
                    let a = e.action.as_str();
                    if a.starts_with("system.mfa.factor.deactivate") {
                        Critical
                    } else if a == "user.mfa.factor.deactivate" || a == "user.mfa.factor.suspend" {
                        // A person resetting their own factor re-enrols it (catalogue noise
                        // rule 2); someone else's factor removed is the signal.
                        if self_service(e)
                            || e.detail("reason")
                                .is_some_and(|r| r.starts_with("User reset"))
                        {
                            Low
                        } else {
                            High
                        }
                    } else if a.starts_with("system.idp") {
                        High
                    } else {
                        Medium
                    }
                }
                _ => High,
            };
            Some((
                sev,
                format!("{who} {} ({target}) at {}", e.action, hhmm_utc(e.time)),
            ))
        },
        failures: false,
        rows: None,
        refine: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "oauth-consent-high-privilege",
            title: "Consent or permission granted to an application",
            mitre: &["T1528"],
            severity: High,
            summary: "Entra admin consent or consent to mail/file/directory scopes, tenant-wide delegated grants, Microsoft Graph app roles, new application owners; Okta admin consent",
        },
        select: |c| {
            (c.provider == "entra"
                && [
                    "consent to application",
                    "add delegated permission grant",
                    "add app role assignment to service principal",
                    "add owner to application",
                    "add owner to service principal",
                ]
                .contains(&lower(&c.action).as_str()))
                || is(c, "okta", &["app.oauth2.admin.consent.grant"])
        },
        judge: |e, _| {
            let who = e.who();
            let app = if e.resource.is_empty() {
                "an application"
            } else {
                e.resource.as_str()
            };
            let a = lower(&e.action);
            if e.provider == "okta" {
                return Some((
                    Medium,
                    format!(
                        "{who} granted admin consent to {app} (scopes {})",
                        e.detail("scopes").unwrap_or("?")
                    ),
                ));
            }
            if a.starts_with("add owner") {
                return Some((
                    Medium,
                    format!("{who} became or made an owner of {app} ({})", e.action),
                ));
            }
            if a == "add app role assignment to service principal" {
                let api = e.detail("api").unwrap_or("");
                let role = e.detail("appRole").unwrap_or("?");
                let sev = if api.contains("Graph") || HIGH_SCOPES.iter().any(|s| role.contains(s)) {
                    High
                } else {
                    Medium
                };
                return Some((
                    sev,
                    format!(
                        "{who} granted application permission {role} of {} to {app}",
                        if api.is_empty() { "an API" } else { api }
                    ),
                ));
            }
            let scopes = e.detail("permissions").or(e.detail("scopes")).unwrap_or("");
            let admin = e
                .detail("adminConsent")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                || e.details.contains("AllPrincipals");
            let risky: Vec<&str> = scopes
                .split([',', ' '])
                .filter(|s| HIGH_SCOPES.iter().any(|h| h.eq_ignore_ascii_case(s)))
                .collect();
            let sev = if admin || !risky.is_empty() {
                High
            } else {
                Medium
            };
            let scope_text = if scopes.is_empty() {
                String::new()
            } else {
                format!(" (scopes {scopes})")
            };
            Some((
                sev,
                format!(
                    "{who} {}consented to {app}{scope_text}{}",
                    if admin {
                        "gave tenant-wide admin consent: "
                    } else {
                        ""
                    },
                    if risky.is_empty() {
                        String::new()
                    } else {
                        format!("; high-risk: {}", risky.join(", "))
                    }
                ),
            ))
        },
        failures: false,
        rows: None,
        refine: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "provider-risk-signal",
            title: "Provider risk signal",
            mitre: &["T1078.004"],
            severity: Medium,
            summary: "Entra sign-in risk levels and risk detections, Okta ThreatInsight, suspected threats, anonymizing proxies and user-reported suspicious activity",
        },
        select: |c| {
            (c.provider == "entra"
                && (c.action.starts_with("Sign-in") || lower(&c.action).contains("risk")))
                || (c.provider == "okta"
                    && (c.action == "security.threat.detected"
                        || c.action == "user.session.start"
                        || c.action == "policy.evaluate_sign_on"
                        || c.action == "user.session.access_admin_app"
                        || c.action == "user.account.report_suspicious_activity_by_enduser"
                        || c.action.starts_with("user.authentication")))
        },
        judge: |e, _| {
            let who = e.who();
            if e.provider == "entra" {
                // Risk an admin dismissed or confirmed safe is closed; risk the user
                // remediated (MFA, a secure password change) stays as context.
                let state = e.detail("riskState").unwrap_or("");
                let closed = ["dismissed", "confirmedSafe"]
                    .iter()
                    .any(|c| state.eq_ignore_ascii_case(c));
                if closed {
                    return None;
                }
                let remediated = state.eq_ignore_ascii_case("remediated");
                // The higher of the sign-in's own risk and the identity's aggregated risk
                // (catalogue D30: either level counts).
                let rank = |l: &str| {
                    ["low", "medium", "high"]
                        .iter()
                        .position(|r| l.eq_ignore_ascii_case(r))
                };
                let during = e.detail("riskLevel").unwrap_or("");
                let aggregated = e.detail("riskLevelAggregated").unwrap_or("");
                let (level, named) = if rank(aggregated) > rank(during) {
                    (aggregated, "aggregated risk level")
                } else {
                    (during, "risk level")
                };
                let events = e.detail("riskEvents").unwrap_or("");
                let always = [
                    "leakedCredentials",
                    "nationStateIP",
                    "attackerinTheMiddle",
                    "adminConfirmedUserCompromised",
                ];
                let sev = if level.eq_ignore_ascii_case("high")
                    || always.iter().any(|a| events.contains(a))
                {
                    High
                } else if level.eq_ignore_ascii_case("medium") || !events.is_empty() {
                    Medium
                } else if level.eq_ignore_ascii_case("low") {
                    Low
                } else {
                    return None;
                };
                let sev = if remediated { sev.min(Low) } else { sev };
                let what = [
                    (!level.is_empty()).then(|| format!("{named} {level}")),
                    (!events.is_empty()).then(|| format!("risk detections {events}")),
                    remediated.then(|| "remediated by the user".to_string()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
                return Some((
                    sev,
                    format!(
                        "Entra flagged {who}'s {} from {}: {what}",
                        if e.ok() { "sign-in" } else { "failed sign-in" },
                        e.source()
                    ),
                ));
            }
            if e.action == "security.threat.detected" {
                return Some((
                    High,
                    format!(
                        "Okta ThreatInsight detected a threat from {} ({who})",
                        e.source()
                    ),
                ));
            }
            if e.action == "user.account.report_suspicious_activity_by_enduser" {
                return Some((
                    High,
                    format!("{who} reported suspicious activity on their Okta account"),
                ));
            }
            if e.detail("proxy") == Some("true") && e.action == "user.session.start" {
                // A failed attempt through an anonymizer is an attack that did not get in yet.
                return Some(if e.ok() {
                    (
                        High,
                        format!(
                            "{who} signed in to Okta through an anonymizing proxy from {}",
                            e.source()
                        ),
                    )
                } else {
                    (
                        Medium,
                        format!(
                            "{who} tried to sign in to Okta through an anonymizing proxy from {}",
                            e.source()
                        ),
                    )
                });
            }
            if e.detail("threatSuspected") == Some("true") {
                return Some((
                    Medium,
                    format!(
                        "Okta suspected a threat in {who}'s {} from {}",
                        e.action,
                        e.source()
                    ),
                ));
            }
            // Okta's behaviours, as the parser names them (`NewGeoLocation,NewDevice`).
            let behaviors = e.detail("behaviors").unwrap_or("");
            let new = |b: &str| behaviors.split(',').any(|x| x == b);
            if new("NewGeoLocation") && (new("NewDevice") || new("Velocity")) {
                return Some((
                    Medium,
                    format!("Okta saw new behaviour for {who}: {behaviors}"),
                ));
            }
            // Two independent anomalies on the admin console (Panther, Sigma); one alone is
            // a person on a new laptop or network.
            let admin_console = e.action == "user.session.access_admin_app"
                || e.resource == "Okta Admin Console"
                || e.detail("targets")
                    .is_some_and(|t| t.contains("Okta Admin Console"));
            if admin_console && new("NewIP") && new("NewDevice") {
                return Some((
                    Medium,
                    format!(
                        "{who} reached the Okta Admin Console from a new IP ({}) and a new device, as Okta itself flagged ({behaviors})",
                        e.source()
                    ),
                ));
            }
            None
        },
        failures: true,
        rows: Some(|ctx| {
            ctx.category(ACTION, |a| {
                a == "security.threat.detected"
                    || a == "user.account.report_suspicious_activity_by_enduser"
            })
            .or(details_match(
                r"(^| )(riskLevel|riskLevelAggregated|riskEvents|threatSuspected|behaviors)=|(^| )proxy=true",
            ))
        }),
        refine: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "jit-control-bypass",
            title: "Just-in-time access control bypassed or weakened",
            mitre: &["T1548.005", "T1098.003"],
            severity: High,
            summary: "Entra roles assigned outside PIM, PIM role settings changed, PIM alerts disabled; GCP PAM entitlements changed",
        },
        select: |c| {
            (c.provider == "entra"
                && [
                    "add member to role outside of pim (permanent)",
                    "update role setting in pim",
                    "disable pim alert",
                    "deactivate pim alert",
                ]
                .contains(&lower(&c.action).as_str()))
                || (c.provider == "gcp"
                    && matches!(
                        gcp_leaf(&c.action),
                        "UpdateEntitlement" | "DeleteEntitlement"
                    ))
        },
        judge: |e, _| {
            let a = lower(&e.action);
            let sev = if a.contains("setting") || e.provider == "gcp" {
                Medium
            } else {
                High
            };
            Some((sev, format!("{} {} ({})", e.who(), e.action, e.target())))
        },
        failures: false,
        rows: None,
        refine: None,
    },
];

const ENTRA_MFA: [&str; 14] = [
    "Disable Strong Authentication",
    "Update user",
    "User deleted security info",
    "Admin deleted security info",
    "Update conditional access policy",
    "Delete conditional access policy",
    "Add named location",
    "Update named location",
    "Update security defaults",
    "Authentication Methods Policy Update",
    "Set federation settings on domain",
    "Set domain authentication",
    "Update User Risk and MFA Registration Policy",
    "Update authorization policy",
];

const HIGH_SCOPES: [&str; 13] = [
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
    "User.ReadWrite.All",
    "full_access_as_app",
    "Mail.ReadBasic.All",
    "MailboxSettings.ReadWrite",
];

/// Whether the actor changed their own account (self-service), not someone else's.
fn self_service(e: &Ev) -> bool {
    !e.actor.is_empty() && e.resource.eq_ignore_ascii_case(&e.actor)
}

/// The GCP methods that create keys: service-account keys, HMAC keys, API keys.
fn gcp_key_method(action: &str) -> bool {
    matches!(
        gcp_leaf(action),
        "CreateServiceAccountKey" | "UploadServiceAccountKey" | "CreateKey"
    ) || action == "storage.hmacKeys.create"
}

/// The key-creating permissions in a GCP record's `authorizationInfo` (the parser's
/// `permission` detail).
const GCP_KEY_PERMISSION: &str =
    r"(^| )permission=(iam\.serviceAccountKeys\.create|storage\.hmacKeys\.create)( |$)";
