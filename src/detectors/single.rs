//! Single-event rules: actions that are dangerous whatever the context (log tampering,
//! root use, admin grants, credentials for someone else, MFA removal, consent, cluster-admin
//! bindings, exec and secret reads, public exposure, vendor risk flags).
//!
//! Each rule names the (provider, service, action) it looks at; the engine turns that into
//! one Polars `is_in` over the frame, and the rule's judge words the few selected events.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::{
    Combo, Ctx, DAY, Ev, Finding, Hit, Rule, RuleInfo, Severity, group_hits, hhmm_utc, minutes,
};
use crate::Result;
use crate::schema::{ACTION, ACTOR, ACTOR_TYPE, DETAILS, MFA, OUTCOME};

use Severity::{Critical, High, Low, Medium};

type Judge = fn(&Ev, &Scope<'_, '_>) -> Option<(Severity, String)>;

/// What a judge sees besides the event: the context, and facts about the rule's other
/// selected events (first occurrence per actor and key, active days per actor).
pub struct Scope<'c, 'a> {
    ctx: &'c Ctx<'a>,
    firsts: HashMap<(String, String), u32>,
    days: HashMap<String, usize>,
}

impl<'a> std::ops::Deref for Scope<'_, 'a> {
    type Target = Ctx<'a>;
    fn deref(&self) -> &Ctx<'a> {
        self.ctx
    }
}

impl Scope<'_, '_> {
    /// The row of the actor's first selected event with this key (`roleArn` detail, or "").
    fn first_of(&self, actor: &str, key: &str) -> Option<u32> {
        self.firsts
            .get(&(actor.to_string(), key.to_string()))
            .copied()
    }

    /// Distinct days on which the actor has selected events.
    fn secret_reader_days(&self, actor: &str) -> usize {
        self.days.get(actor).copied().unwrap_or(0)
    }
}

fn scope_key(e: &Ev) -> String {
    e.detail("roleArn").unwrap_or("").to_string()
}

/// A single-event rule: which actions it reads and how it judges one event.
pub struct SingleRule {
    info: RuleInfo,
    select: fn(&Combo) -> bool,
    judge: Judge,
    /// Judge failed events too.
    failures: bool,
    /// A further row filter (Polars), for rules not keyed by action alone.
    rows: Option<fn(&Ctx<'_>) -> Expr>,
}

struct Single(&'static SingleRule);

impl Rule for Single {
    fn info(&self) -> &'static RuleInfo {
        &self.0.info
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> Result<Vec<Finding>> {
        let rule = self.0;
        let mut predicate = match rule.rows {
            Some(rows) => rows(ctx).and(ctx.actions(rule.select)),
            None => ctx.actions(rule.select),
        };
        if !rule.failures {
            predicate = predicate.and(ctx.category(OUTCOME, |o| o == "success"));
        }
        let selected = ctx.select(predicate)?;
        let mut firsts = HashMap::new();
        let mut days: HashMap<String, HashSet<i64>> = HashMap::new();
        for e in &selected {
            firsts
                .entry((e.actor.clone(), scope_key(e)))
                .or_insert(e.row);
            days.entry(e.actor.clone())
                .or_default()
                .insert(e.time.div_euclid(DAY));
        }
        let scope = Scope {
            ctx: &*ctx,
            firsts,
            days: days.into_iter().map(|(a, d)| (a, d.len())).collect(),
        };
        let hits: Vec<Hit> = selected
            .into_iter()
            .filter_map(|ev| {
                let (severity, reason) = (rule.judge)(&ev, &scope)?;
                Some(Hit {
                    ev,
                    severity,
                    reason,
                })
            })
            .collect();
        Ok(group_hits(
            &rule.info,
            hits,
            minutes(ctx.config.group_minutes),
        ))
    }
}

/// The single-event rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    RULES
        .iter()
        .map(|r| Box::new(Single(r)) as Box<dyn Rule>)
        .collect()
}

fn is(c: &Combo, provider: &str, actions: &[&str]) -> bool {
    c.provider == provider && actions.iter().any(|a| c.action.eq_ignore_ascii_case(a))
}

fn aws(c: &Combo, service: &str, actions: &[&str]) -> bool {
    is(c, "aws", actions) && c.service == service
}

/// The last dot segment of a GCP methodName.
fn gcp_leaf(action: &str) -> &str {
    action.rsplit('.').next().unwrap_or(action)
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

static RULES: [SingleRule; 17] = [
    SingleRule {
        info: RuleInfo {
            id: "audit-log-tampering",
            title: "Audit logging stopped or weakened",
            mitre: &["T1562.008"],
            severity: High,
            summary: "CloudTrail StopLogging/DeleteTrail/UpdateTrail/PutEventSelectors, Config, GuardDuty, Security Hub and flow-log disabling; GCP sink/exclusion/bucket changes; Azure diagnostic settings deleted; Okta log streams; GitHub audit-log streaming; Kubernetes events deleted",
        },
        select: |c| match c.provider.as_str() {
            "aws" => matches!(
                (c.service.as_str(), c.action.as_str()),
                (
                    "cloudtrail",
                    "StopLogging"
                        | "DeleteTrail"
                        | "UpdateTrail"
                        | "PutEventSelectors"
                        | "DeleteEventDataStore"
                        | "StopEventDataStoreIngestion"
                ) | (
                    "config",
                    "StopConfigurationRecorder"
                        | "DeleteConfigurationRecorder"
                        | "DeleteDeliveryChannel"
                ) | (
                    "guardduty",
                    "DeleteDetector"
                        | "UpdateDetector"
                        | "DisassociateFromMasterAccount"
                        | "DisassociateFromAdministratorAccount"
                        | "CreateIPSet"
                        | "UpdateIPSet"
                ) | ("securityhub", "DisableSecurityHub")
                    | ("ec2", "DeleteFlowLogs")
                    | ("logs", "DeleteLogGroup" | "DeleteLogStream")
            ),
            "gcp" => {
                c.action.contains("ConfigServiceV2")
                    && matches!(
                        gcp_leaf(&c.action),
                        "DeleteSink"
                            | "DeleteBucket"
                            | "UpdateSink"
                            | "CreateExclusion"
                            | "UpdateExclusion"
                            | "UpdateBucket"
                    )
            }
            "azure" => {
                c.action
                    .to_ascii_uppercase()
                    .starts_with("MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/")
                    || c.action
                        .to_ascii_lowercase()
                        .starts_with("microsoft.aadiam/diagnosticsettings/")
            }
            "okta" => c.action.starts_with("system.log_stream.lifecycle."),
            "github" => c.action.starts_with("audit_log_streaming."),
            "kubernetes" => c.action == "delete events" || c.action == "deletecollection events",
            _ => false,
        },
        judge: |e, _| {
            let who = e.who();
            let at = hhmm_utc(e.time);
            let target = if e.resource.is_empty() {
                "?"
            } else {
                &e.resource
            };
            let sev = match (e.provider.as_str(), e.action.as_str()) {
                ("aws", "StopLogging" | "DeleteTrail") => Critical,
                ("aws", "UpdateTrail") => {
                    let weakened = e.detail("enableLogFileValidation") == Some("false")
                        || e.detail("isMultiRegionTrail") == Some("false")
                        || e.detail("includeGlobalServiceEvents") == Some("false")
                        || e.detail("s3BucketName").is_some();
                    if weakened { Critical } else { High }
                }
                ("aws", "PutEventSelectors") => {
                    let off = e.detail("includeManagementEvents") == Some("false")
                        || e.detail("readWriteType")
                            .is_some_and(|v| !v.eq_ignore_ascii_case("All"));
                    if !off {
                        return None;
                    }
                    High
                }
                ("aws", "UpdateDetector") => {
                    if e.detail("enable") != Some("false") {
                        return None;
                    }
                    High
                }
                ("aws", "DeleteLogGroup" | "DeleteLogStream") => Medium,
                ("aws", _) => High,
                ("gcp", a) => match gcp_leaf(a) {
                    "DeleteSink" | "DeleteBucket" => Critical,
                    _ => High,
                },
                ("azure", a) => {
                    if a.to_ascii_uppercase().ends_with("/DELETE") {
                        Critical
                    } else if e.detail("logs_disabled").is_some() {
                        High
                    } else {
                        Low
                    }
                }
                ("okta", a) if a.ends_with(".update") => Medium,
                ("okta", _) => {
                    if e.non_human() {
                        Medium
                    } else {
                        High
                    }
                }
                ("github", a) if a.ends_with(".destroy") => High,
                ("github", _) => Medium,
                _ => Medium,
            };
            Some((
                sev,
                format!(
                    "{who} {} ({target}) at {at}: audit logging {}",
                    e.action,
                    if sev >= Critical {
                        "stopped or deleted, no further events from it are expected"
                    } else {
                        "weakened"
                    }
                ),
            ))
        },
        failures: false,
        rows: None,
    },
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
            if root
                && (e.detail("eventType") == Some("AwsServiceEvent")
                    || e.detail("invokedBy").is_some()
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
    },
    SingleRule {
        info: RuleInfo {
            id: "console-signin-without-mfa",
            title: "Console sign-in without MFA",
            mitre: &["T1078.004", "T1556.006"],
            severity: Medium,
            summary: "AWS ConsoleLogin success without MFA (not SSO/SAML/assumed roles); Entra interactive single-factor sign-in to admin apps, without conditional access, or by privileged users",
        },
        select: |c| {
            is(c, "aws", &["ConsoleLogin"]) || (c.provider == "entra" && c.action == "Sign-in")
        },
        judge: |e, ctx| {
            if e.provider == "aws" {
                if e.detail("MFAUsed") == Some("Yes")
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
                        e.src_ip,
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
                    e.src_ip
                ),
            ))
        },
        failures: false,
        rows: Some(|_| col(MFA).eq(lit(false)).fill_null(lit(false))),
    },
    SingleRule {
        info: RuleInfo {
            id: "aws-admin-policy-attached",
            title: "Admin policy attached",
            mitre: &["T1098.003"],
            severity: High,
            summary: "Attach{User,Role,Group}Policy of AdministratorAccess (and the configured admin policies), or an inline policy allowing * on *; critical when attached to oneself or by a non-human identity",
        },
        select: |c| {
            aws(
                c,
                "iam",
                &[
                    "AttachUserPolicy",
                    "AttachRolePolicy",
                    "AttachGroupPolicy",
                    "PutUserPolicy",
                    "PutRolePolicy",
                    "PutGroupPolicy",
                ],
            )
        },
        judge: |e, ctx| {
            let policy = if e.action.starts_with("Attach") {
                let arn = e.detail("policyArn")?;
                let name = arn.rsplit('/').next().unwrap_or(arn);
                if !ctx
                    .config
                    .admin_policies
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(name))
                {
                    return None;
                }
                name.to_string()
            } else {
                if e.detail("allowsAll") != Some("true") {
                    return None;
                }
                format!(
                    "inline policy {} allowing * on *",
                    e.detail("policyName").unwrap_or("?")
                )
            };
            let target = e
                .detail("userName")
                .or(e.detail("roleName"))
                .or(e.detail("groupName"))
                .unwrap_or(&e.resource);
            let myself = e.who().eq_ignore_ascii_case(target)
                || e.actor.contains(&format!("assumed-role/{target}/"));
            let sev = if myself || e.non_human() {
                Critical
            } else {
                High
            };
            Some((
                sev,
                format!(
                    "{} attached {policy} to {}{} at {} from {}",
                    e.who(),
                    target,
                    if myself { " (themselves)" } else { "" },
                    hhmm_utc(e.time),
                    e.src_ip
                ),
            ))
        },
        failures: false,
        rows: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "aws-policy-version-escalation",
            title: "Policy version or trust policy escalated",
            mitre: &["T1098", "T1548.005"],
            severity: High,
            summary: "CreatePolicyVersion with setAsDefault / SetDefaultPolicyVersion (high when it allows * on *), trust policies opened to other accounts or everyone, permission boundaries removed",
        },
        select: |c| {
            aws(
                c,
                "iam",
                &[
                    "CreatePolicyVersion",
                    "SetDefaultPolicyVersion",
                    "UpdateAssumeRolePolicy",
                    "PutUserPermissionsBoundary",
                    "PutRolePermissionsBoundary",
                    "DeleteUserPermissionsBoundary",
                    "DeleteRolePermissionsBoundary",
                ],
            )
        },
        judge: |e, _| {
            let policy = e.detail("policyArn").unwrap_or(&e.resource);
            match e.action.as_str() {
                "CreatePolicyVersion" | "SetDefaultPolicyVersion" => {
                    if e.action == "CreatePolicyVersion" && e.detail("setAsDefault") != Some("true")
                    {
                        return None;
                    }
                    let all = e.detail("allowsAll") == Some("true");
                    Some((
                        if all { High } else { Low },
                        format!(
                            "{} made a new version of {policy} the default{}",
                            e.who(),
                            if all {
                                " granting Action * on Resource *"
                            } else {
                                ""
                            }
                        ),
                    ))
                }
                "UpdateAssumeRolePolicy" => {
                    let public = e.detail("public") == Some("true");
                    let external = e.detail("externalPrincipals");
                    if !public && external.is_none() {
                        return None;
                    }
                    let who = if public {
                        "anyone (Principal *)".to_string()
                    } else {
                        format!("{} (another account)", external.unwrap_or("?"))
                    };
                    Some((
                        High,
                        format!("{} let {who} assume role {}", e.who(), e.resource),
                    ))
                }
                a if a.starts_with("Delete") => Some((
                    Medium,
                    format!(
                        "{} removed the permissions boundary of {}",
                        e.who(),
                        e.resource
                    ),
                )),
                _ => Some((
                    Low,
                    format!(
                        "{} changed the permissions boundary of {}",
                        e.who(),
                        e.resource
                    ),
                )),
            }
        },
        failures: false,
        rows: None,
    },
    SingleRule {
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
            let grantee = if e.resource.is_empty() {
                "?"
            } else {
                &e.resource
            };
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
                    } else if r.contains("contributor")
                        || r.contains("b24988ac-6180-42a0-ab88-20f7382dd24c")
                    {
                        Medium
                    } else {
                        Low
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
                    let org = e.resource.starts_with("organizations/")
                        || e.resource.starts_with("folders/");
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
                        return Some((
                            High,
                            format!("{who} bound a custom admin role ({grantee})"),
                        ));
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
                        "business.add_admin"
                        | "business.invite_admin"
                        | "team.promote_maintainer" => High,
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
    },
    SingleRule {
        info: RuleInfo {
            id: "k8s-privileged-rbac-binding",
            title: "Kubernetes privileged binding or system role changed",
            mitre: &["T1098.006"],
            severity: High,
            summary: "(Cluster)RoleBindings to cluster-admin, admin, system:masters or controller roles, bindings of anonymous groups, system: roles modified, roles granting * (EKS, AKS, GKE)",
        },
        select: |c| {
            (c.provider == "kubernetes"
                && ["create", "update", "patch", "delete"]
                    .iter()
                    .any(|v| c.action.starts_with(v))
                && [
                    "clusterrolebindings",
                    "rolebindings",
                    "clusterroles",
                    "roles",
                ]
                .iter()
                .any(|r| c.action.ends_with(&format!(" {r}"))))
                || (c.provider == "gcp" && c.action.starts_with("io.k8s.authorization.rbac.v1."))
        },
        judge: |e, _| {
            if k8s_system_principal(&e.actor) {
                return None;
            }
            let binding = e.action.contains("rolebindings");
            let verb = e
                .action
                .split([' ', '.'])
                .next_back()
                .filter(|_| e.provider == "gcp")
                .unwrap_or_else(|| e.action.split(' ').next().unwrap_or(""));
            if binding {
                if verb == "delete" {
                    return None;
                }
                let role = e.detail("roleRef").unwrap_or("");
                let role_name = role.rsplit('/').next().unwrap_or(role);
                let subjects = e.detail("subjects").unwrap_or("");
                let open = [
                    "system:anonymous",
                    "system:unauthenticated",
                    "system:authenticated",
                ]
                .iter()
                .any(|s| subjects.contains(s));
                let privileged = matches!(
                    role_name,
                    "cluster-admin"
                        | "admin"
                        | "system:kube-controller-manager"
                        | "system:kube-scheduler"
                ) || subjects.contains("system:masters");
                if !privileged && !open {
                    return None;
                }
                let sev = if open || role_name == "cluster-admin" {
                    Critical
                } else {
                    High
                };
                let subjects = if subjects.is_empty() { "?" } else { subjects };
                return Some((
                    sev,
                    format!(
                        "{} {verb}d binding {} of {role_name} to {subjects}",
                        e.who(),
                        e.resource
                    ),
                ));
            }
            let name = e.resource.rsplit('/').next().unwrap_or(&e.resource);
            if (name.starts_with("system:") || name.starts_with("eks:"))
                && name != "system:coredns"
                && verb != "create"
            {
                return Some((High, format!("{} {verb}d system role {name}", e.who())));
            }
            let verbs = e.detail("verbs").unwrap_or("");
            let resources = e.detail("resources").unwrap_or("");
            let wide = verbs
                .split(',')
                .any(|v| matches!(v, "*" | "escalate" | "bind" | "impersonate"))
                || resources.split(',').any(|r| {
                    matches!(
                        r,
                        "*" | "secrets" | "pods/exec" | "nodes/proxy" | "serviceaccounts/token"
                    )
                });
            if verb != "delete" && wide {
                return Some((
                    Medium,
                    format!(
                        "{} {verb}d role {name} granting verbs [{verbs}] on [{resources}]",
                        e.who()
                    ),
                ));
            }
            None
        },
        failures: false,
        rows: None,
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
            }) || (c.provider == "gcp"
                && (matches!(
                    gcp_leaf(&c.action),
                    "CreateServiceAccountKey" | "UploadServiceAccountKey" | "CreateKey"
                ) || c.action == "storage.hmacKeys.create"))
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
            let target = if e.resource.is_empty() {
                "?"
            } else {
                e.resource.as_str()
            };
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
                    let what = if e.action == "CreateAccessKey" {
                        "an access key"
                    } else {
                        "a console password"
                    };
                    Some((
                        High,
                        format!(
                            "{who} created {what} for another user, {user} ({}), from {}",
                            e.action, e.src_ip
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
                    Some((
                        sev,
                        format!("{who} created a key ({}) for {target}", gcp_leaf(&e.action)),
                    ))
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
        rows: None,
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
                        || c.action.starts_with("user.mfa.factor.")
                            && !c.action.ends_with(".activate")
                            && !c.action.ends_with(".enroll")
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
            let target = if e.resource.is_empty() {
                "?"
            } else {
                e.resource.as_str()
            };
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
                        let old = e.detail("caGrantOld").unwrap_or("");
                        let new = e.detail("caGrant").unwrap_or("");
                        let lost_mfa = old.contains("mfa") && !new.contains("mfa");
                        let off = e.detail("caState").is_some_and(|s| {
                            s.eq_ignore_ascii_case("disabled")
                                || s.starts_with("enabledForReporting")
                        });
                        if !lost_mfa && !off {
                            return None;
                        }
                        High
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
                        if e.detail("reason")
                            .is_some_and(|r| r.starts_with("User reset"))
                            || e.resource.eq_ignore_ascii_case(&e.actor)
                        {
                            Medium
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
    },
    SingleRule {
        info: RuleInfo {
            id: "k8s-exec-into-pod",
            title: "Shell or attach into a pod",
            mitre: &["T1609"],
            severity: Low,
            summary: "pods/exec, attach, portforward, ephemeral containers and nodes/proxy; medium for an actor's first exec or in kube-system, high for service accounts and nodes/proxy",
        },
        select: |c| {
            (c.provider == "kubernetes"
                && (c.action.ends_with(" pods/exec")
                    || c.action.ends_with(" pods/attach")
                    || c.action.ends_with(" pods/portforward")
                    || c.action.ends_with(" pods/ephemeralcontainers")
                    || c.action.ends_with(" nodes/proxy")))
                || (c.provider == "gcp"
                    && (c.action == "io.k8s.core.v1.pods.exec.create"
                        || c.action == "io.k8s.core.v1.pods.attach.create"))
        },
        judge: |e, ctx| {
            if k8s_system_principal(&e.actor) && !e.actor.starts_with("system:serviceaccount:") {
                return None;
            }
            let target = if e.resource.is_empty() {
                "?"
            } else {
                e.resource.as_str()
            };
            let command = e.detail("command").unwrap_or("");
            let learned = ctx.learn_end(&e.actor).is_some_and(|end| e.time >= end);
            let first = learned && ctx.first_of(&e.actor, "") == Some(e.row);
            let sev = if e.action.contains("nodes/proxy")
                || e.actor.starts_with("system:serviceaccount:")
            {
                High
            } else if first || target.starts_with("kube-system/") {
                Medium
            } else {
                Low
            };
            let cmd = if command.is_empty() {
                String::new()
            } else {
                format!(" running {command}")
            };
            Some((
                sev,
                format!(
                    "{} opened {} into {target}{cmd}{}",
                    e.who(),
                    e.action.split(' ').next_back().unwrap_or(&e.action),
                    if first {
                        "; the first time this actor did so in the data"
                    } else {
                        ""
                    }
                ),
            ))
        },
        failures: false,
        rows: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "k8s-secret-access",
            title: "Kubernetes secrets read",
            mitre: &["T1552.007"],
            severity: Medium,
            summary: "cluster-wide list of secrets (critical), secrets listed in kube-system/default (high), and secret reads by an identity that does not usually read secrets",
        },
        select: |c| {
            (c.provider == "kubernetes"
                && matches!(
                    c.action.as_str(),
                    "get secrets" | "list secrets" | "watch secrets"
                ))
                || (c.provider == "gcp"
                    && c.action.starts_with("io.k8s.core.v1.secrets.")
                    && !c.action.ends_with("create"))
        },
        judge: |e, ctx| {
            if k8s_system_principal(&e.actor)
                || e.actor.contains("kube-state-metrics")
                || e.actor.starts_with("system:serviceaccount:kube-system:")
            {
                return None;
            }
            let listing = e.action.starts_with("list")
                || e.action.ends_with(".list")
                || e.action.starts_with("watch");
            let namespace = e.resource.split('/').next().unwrap_or("");
            let cluster_wide = listing && (e.resource.is_empty() || e.resource.starts_with("/api"));
            if cluster_wide {
                return Some((
                    Critical,
                    format!("{} listed the secrets of every namespace", e.who()),
                ));
            }
            if listing && matches!(namespace, "kube-system" | "default") {
                return Some((
                    High,
                    format!("{} listed the secrets in {namespace}", e.who()),
                ));
            }
            let days = ctx.secret_reader_days(&e.actor);
            if days >= 3 {
                return None;
            }
            Some((
                Medium,
                format!(
                    "{} read secret {} ({}); this identity reads secrets on {days} day(s) in the data",
                    e.who(),
                    if e.resource.is_empty() {
                        "?"
                    } else {
                        &e.resource
                    },
                    e.action
                ),
            ))
        },
        failures: false,
        rows: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "k8s-anonymous-or-impersonated-privileged",
            title: "Anonymous or impersonated privileged Kubernetes request",
            mitre: &["T1078.001", "T1134"],
            severity: High,
            summary: "allowed requests by system:anonymous (not health checks), and requests impersonating admins, system:masters or kube-system service accounts",
        },
        select: |c| c.provider == "kubernetes",
        judge: |e, _| {
            if e.actor == "system:anonymous" {
                let probe = ["/healthz", "/readyz", "/livez", "/version"]
                    .iter()
                    .any(|p| e.resource.starts_with(p) || e.action.contains(p))
                    || ["kube-probe/", "GoogleHC/", "ELB-HealthChecker"]
                        .iter()
                        .any(|u| e.user_agent.starts_with(u));
                if probe {
                    return None;
                }
                let write = ["create pods", "update pods", "patch pods"]
                    .iter()
                    .any(|a| e.action.starts_with(a));
                return Some((
                    if write { Critical } else { High },
                    format!(
                        "an anonymous request was allowed: {} {} from {}",
                        e.action, e.resource, e.src_ip
                    ),
                ));
            }
            let who = e.detail("as")?;
            let groups = e.detail("as_groups").unwrap_or("");
            let privileged = matches!(
                who,
                "admin"
                    | "cluster-admin"
                    | "kubernetes-admin"
                    | "system:admin"
                    | "system:kube-controller-manager"
            ) || who.starts_with("system:node:")
                || who.starts_with("system:serviceaccount:kube-system:")
                || groups.contains("system:masters");
            if !privileged {
                return None;
            }
            Some((
                High,
                format!(
                    "{} impersonated {who}{} to {} {}",
                    e.who(),
                    if groups.is_empty() {
                        String::new()
                    } else {
                        format!(" (groups {groups})")
                    },
                    e.action,
                    e.resource
                ),
            ))
        },
        failures: false,
        rows: Some(|ctx| {
            ctx.category(ACTOR, |a| a == "system:anonymous")
                .or(details_match(r"(^| )as="))
        }),
    },
    SingleRule {
        info: RuleInfo {
            id: "unusual-role-assumption",
            title: "Cross-account or unusual role assumption",
            mitre: &["T1550.001", "T1078.004"],
            severity: Medium,
            summary: "AssumeRole into another account the actor never assumed before, GetFederationToken and AssumeRoot",
        },
        select: |c| {
            aws(
                c,
                "sts",
                &["AssumeRole", "GetFederationToken", "AssumeRoot"],
            )
        },
        judge: |e, ctx| match e.action.as_str() {
            "GetFederationToken" | "AssumeRoot" => Some((
                High,
                format!("{} called {} from {}", e.who(), e.action, e.src_ip),
            )),
            _ => {
                if e.detail("crossAccount") != Some("true")
                    || e.non_human() && e.actor_type == "system"
                {
                    return None;
                }
                let role = e.detail("roleArn").unwrap_or(&e.resource);
                if ctx.first_of(&e.actor, role) != Some(e.row) {
                    return None;
                }
                Some((
                    Medium,
                    format!(
                        "{} assumed {role} in another account for the first time in the data",
                        e.who()
                    ),
                ))
            }
        },
        failures: false,
        rows: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "resource-made-public",
            title: "Resource exposed publicly or to another account",
            mitre: &["T1537", "T1530"],
            severity: High,
            summary: "S3 bucket policies and ACLs for everyone, public access blocks removed, snapshots and images shared, Lambda permissions for *, GCS allUsers, GitHub repositories made public",
        },
        select: |c| {
            (c.provider == "aws"
                && (c.action.starts_with("AddPermission")
                    || matches!(
                        c.action.as_str(),
                        "PutBucketPolicy"
                            | "PutBucketAcl"
                            | "DeletePublicAccessBlock"
                            | "DeleteAccountPublicAccessBlock"
                            | "DeleteBucketPublicAccessBlock"
                            | "ModifySnapshotAttribute"
                            | "ModifyImageAttribute"
                            | "ModifyDBSnapshotAttribute"
                            | "ModifyDBClusterSnapshotAttribute"
                            | "CreateFunctionUrlConfig"
                            | "SetRepositoryPolicy"
                            | "PutKeyPolicy"
                            | "SetQueueAttributes"
                            | "PutResourcePolicy"
                    )))
                || (c.provider == "gcp" && c.action == "storage.setIamPermissions")
                || is(c, "github", &["repo.access"])
        },
        judge: |e, _| {
            let who = e.who();
            let target = if e.resource.is_empty() {
                "?"
            } else {
                e.resource.as_str()
            };
            let exposed = match e.provider.as_str() {
                "aws" => {
                    if e.action.contains("PublicAccessBlock") {
                        Some("removed its public access block".to_string())
                    } else if e.detail("public") == Some("true")
                        || e.detail("principal") == Some("*")
                        || e.details.contains("AllUsers")
                        || e.details.contains("AuthenticatedUsers")
                    {
                        Some("opened it to everyone".to_string())
                    } else if let Some(added) = e.detail("add") {
                        Some(if added.split(',').any(|a| a.eq_ignore_ascii_case("all")) {
                            "shared it with everyone".to_string()
                        } else {
                            format!("shared it with account(s) {added}")
                        })
                    } else if e.detail("externalPrincipals").is_some() {
                        Some(format!(
                            "granted access to {}",
                            e.detail("externalPrincipals").unwrap_or("?")
                        ))
                    } else {
                        None
                    }
                }
                "gcp" => (e.details.contains("allUsers")
                    || e.details.contains("allAuthenticatedUsers"))
                .then(|| "granted allUsers access".to_string()),
                "github" => (e.details.contains("public")
                    || e.detail("visibility") == Some("public"))
                .then(|| "made it public".to_string()),
                _ => None,
            }?;
            Some((High, format!("{who} {} on {target}: {exposed}", e.action)))
        },
        failures: false,
        rows: None,
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
            (c.provider == "entra" && (c.action == "Sign-in" || lower(&c.action).contains("risk")))
                || (c.provider == "okta"
                    && (c.action == "security.threat.detected"
                        || c.action == "user.session.start"
                        || c.action == "user.account.report_suspicious_activity_by_enduser"
                        || c.action.starts_with("user.authentication")))
        },
        judge: |e, _| {
            let who = e.who();
            if e.provider == "entra" {
                let level = e.detail("riskLevel").unwrap_or("");
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
                let what = [
                    (!level.is_empty()).then(|| format!("risk level {level}")),
                    (!events.is_empty()).then(|| format!("risk detections {events}")),
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
                        e.src_ip
                    ),
                ));
            }
            if e.action == "security.threat.detected" {
                return Some((
                    High,
                    format!(
                        "Okta ThreatInsight detected a threat from {} ({who})",
                        e.src_ip
                    ),
                ));
            }
            if e.action == "user.account.report_suspicious_activity_by_enduser" {
                return Some((
                    High,
                    format!("{who} reported suspicious activity on their Okta account"),
                ));
            }
            if e.ok() && e.detail("proxy") == Some("true") && e.action == "user.session.start" {
                return Some((
                    High,
                    format!(
                        "{who} signed in to Okta through an anonymizing proxy from {}",
                        e.src_ip
                    ),
                ));
            }
            if e.detail("threatSuspected") == Some("true") {
                return Some((
                    Medium,
                    format!(
                        "Okta suspected a threat in {who}'s {} from {}",
                        e.action, e.src_ip
                    ),
                ));
            }
            let behaviors = e.detail("behaviors").unwrap_or("");
            if behaviors.contains("New Geo-Location")
                && (behaviors.contains("New Device") || behaviors.contains("Velocity"))
            {
                return Some((
                    Medium,
                    format!("Okta saw new behaviour for {who}: {behaviors}"),
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
                r"(^| )(riskLevel|riskEvents|threatSuspected|behaviors)=|(^| )proxy=true",
            ))
        }),
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
            Some((
                sev,
                format!(
                    "{} {} ({})",
                    e.who(),
                    e.action,
                    if e.resource.is_empty() {
                        "?"
                    } else {
                        &e.resource
                    }
                ),
            ))
        },
        failures: false,
        rows: None,
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

/// Rows whose `details` match a regex.
fn details_match(pattern: &str) -> Expr {
    col(DETAILS)
        .str()
        .contains(lit(pattern.to_string()), true)
        .fill_null(lit(false))
}

/// Kubernetes control-plane principals (not service accounts).
fn k8s_system_principal(actor: &str) -> bool {
    (actor.starts_with("system:") && !actor.starts_with("system:serviceaccount:"))
        || actor.starts_with("eks:")
        || actor.starts_with("aks")
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

    #[test]
    fn system_principals_are_recognized() {
        assert!(k8s_system_principal("system:kube-controller-manager"));
        assert!(!k8s_system_principal("system:serviceaccount:ci:deployer"));
        assert!(!k8s_system_principal("alice@example.com"));
    }
}
