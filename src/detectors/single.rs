//! Single-event rules: actions that are dangerous whatever the context. This file holds
//! the engine of the family and the cloud-resource rules (log tampering, admin policies,
//! policy versions, role assumption, public exposure); identity rules are in
//! [`super::identity`], Kubernetes rules in [`super::kubernetes`].
//!
//! Each rule names the (provider, service, action) it looks at; the engine turns that into
//! one Polars `is_in` over the frame, and the rule's judge words the few selected events.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::{
    Combo, Ctx, DAY, Ev, Finding, HOUR, Hit, Rule, RuleInfo, Severity, group_hits, hhmm_utc,
    minutes,
};
use crate::Result;
use crate::schema::{ACTOR, DETAILS, OUTCOME, PRIVILEGED, TIME};

use Severity::{Critical, High, Low, Medium};

pub(super) type Judge = fn(&Ev, &Scope<'_, '_>) -> Option<(Severity, String)>;

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
    pub(super) fn first_of(&self, actor: &str, key: &str) -> Option<u32> {
        self.firsts
            .get(&(actor.to_string(), key.to_string()))
            .copied()
    }

    /// Distinct days on which the actor has selected events.
    pub(super) fn secret_reader_days(&self, actor: &str) -> usize {
        self.days.get(actor).copied().unwrap_or(0)
    }
}

fn scope_key(e: &Ev) -> String {
    e.detail("roleArn").unwrap_or("").to_string()
}

/// A single-event rule: which actions it reads and how it judges one event.
pub struct SingleRule {
    pub(super) info: RuleInfo,
    pub(super) select: fn(&Combo) -> bool,
    pub(super) judge: Judge,
    /// Judge failed events too.
    pub(super) failures: bool,
    /// A further row filter (Polars), for rules not keyed by action alone.
    pub(super) rows: Option<fn(&Ctx<'_>) -> Expr>,
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
        let mut hits: Vec<Hit> = selected
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
        drop(scope);
        if let Some(refine) = refinement(rule.info.id) {
            hits = refine(ctx, hits)?;
        }
        Ok(group_hits(
            &rule.info,
            hits,
            minutes(ctx.config.group_minutes),
        ))
    }
}

/// A rule's second pass over its hits: sub-rules that need more than one event (sessions,
/// windows, what the actor did around the event) escalate, add or replace hits.
type Refine = fn(&Ctx<'_>, Vec<Hit>) -> Result<Vec<Hit>>;

fn refinement(id: &str) -> Option<Refine> {
    match id {
        "audit-log-tampering" => Some(tampering_with_privileged_actions),
        "console-signin-without-mfa" => Some(super::identity::okta_sessions_without_mfa),
        "k8s-secret-access" => Some(super::kubernetes::secret_read_bursts),
        _ => None,
    }
}

/// The single-event rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    RULES
        .iter()
        .chain(super::identity::RULES.iter())
        .chain(super::kubernetes::RULES.iter())
        .map(|r| Box::new(Single(r)) as Box<dyn Rule>)
        .collect()
}

pub(super) fn is(c: &Combo, provider: &str, actions: &[&str]) -> bool {
    c.provider == provider && actions.iter().any(|a| c.action.eq_ignore_ascii_case(a))
}

pub(super) fn aws(c: &Combo, service: &str, actions: &[&str]) -> bool {
    is(c, "aws", actions) && c.service == service
}

/// The last dot segment of a GCP methodName.
pub(super) fn gcp_leaf(action: &str) -> &str {
    action.rsplit('.').next().unwrap_or(action)
}

pub(super) fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The actions `audit-log-tampering` looks at (for `log-integrity-gap`).
pub(super) fn tampering_action(c: &Combo) -> bool {
    (RULES[0].select)(c)
}

/// D01's escalation: the same actor did a privileged action within 60 minutes of the
/// tampering (catalogue: escalate one level).
fn tampering_with_privileged_actions(ctx: &Ctx<'_>, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let (Some(lo), Some(hi)) = (
        hits.iter().map(|h| h.ev.time).min(),
        hits.iter().map(|h| h.ev.time).max(),
    ) else {
        return Ok(hits);
    };
    let actors: HashSet<&str> = hits.iter().map(|h| h.ev.actor.as_str()).collect();
    let own: HashSet<u32> = hits.iter().map(|h| h.ev.row).collect();
    let time = || col(TIME).to_physical();
    let near = ctx.select(
        col(PRIVILEGED)
            .eq(lit(true))
            .fill_null(lit(false))
            .and(ctx.category(OUTCOME, |o| o == "success"))
            .and(ctx.category(ACTOR, |a| actors.contains(a)))
            .and(time().gt_eq(lit(lo - HOUR)))
            .and(time().lt_eq(lit(hi + HOUR))),
    )?;
    for h in &mut hits {
        let around: Vec<&Ev> = near
            .iter()
            .filter(|e| {
                e.actor == h.ev.actor && !own.contains(&e.row) && (e.time - h.ev.time).abs() <= HOUR
            })
            .collect();
        if around.is_empty() {
            continue;
        }
        let shown: Vec<String> = around
            .iter()
            .take(3)
            .map(|e| format!("{} at {}", e.action, hhmm_utc(e.time)))
            .collect();
        let more = match around.len() {
            n if n > 3 => format!(" and {} more", n - 3),
            _ => String::new(),
        };
        h.severity = h.severity.up();
        h.reason.push_str(&format!(
            "; escalated: within 60 minutes the same actor made {} privileged action(s): {}{more}",
            around.len(),
            shown.join(", ")
        ));
    }
    Ok(hits)
}

static RULES: [SingleRule; 5] = [
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
];

/// Rows whose `details` match a regex.
pub(super) fn details_match(pattern: &str) -> Expr {
    col(DETAILS)
        .str()
        .contains(lit(pattern.to_string()), true)
        .fill_null(lit(false))
}
