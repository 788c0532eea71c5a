//! Rule table: single-event rules on cloud resources (log tampering, admin policies, policy
//! versions, role assumption, public exposure), run by [`super::single`]; with the
//! tampering rule's escalation on privileged actions around it.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::HOUR;
use super::RuleInfo;
use super::context::{Combo, Context};
use super::event::Ev;
use super::finding::{Hit, Severity, hhmm_utc};
use super::single::{SingleRule, aws, details_match, gcp_leaf, is};
use crate::Result;
use crate::schema::{ACTOR, OUTCOME, PRIVILEGED, TIME};

use Severity::{Critical, High, Low, Medium};

/// The actions `audit-log-tampering` looks at (for `log-integrity-gap`).
pub(super) fn tampering_action(c: &Combo) -> bool {
    (RULES[0].select)(c)
}

/// D01's escalation: the same actor did a privileged action within 60 minutes of the
/// tampering (catalogue: escalate one level).
fn tampering_with_privileged_actions(ctx: &Context<'_>, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
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
    // Each actor's privileged actions in time order, searched by time: scanning all of them
    // for every hit is quadratic (6,000 hits against 50,000 actions in a month).
    let mut by_actor: HashMap<&str, Vec<&Ev>> = HashMap::new();
    for e in &near {
        by_actor.entry(e.actor.as_str()).or_default().push(e);
    }
    for h in &mut hits {
        let theirs = by_actor
            .get(h.ev.actor.as_str())
            .map_or(&[][..], Vec::as_slice);
        let from = theirs.partition_point(|e| e.time < h.ev.time - HOUR);
        let to = theirs.partition_point(|e| e.time <= h.ev.time + HOUR);
        let around: Vec<&Ev> = theirs[from..to.max(from)]
            .iter()
            .copied()
            .filter(|e| !own.contains(&e.row))
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

/// Fewest days a trail's log files must be kept (Panther's `ShortLifecycle` minimum).
const TRAIL_MIN_RETENTION_DAYS: u32 = 7;

/// What an `UpdateTrail` turned off or moved: log file validation, other regions, global
/// services' events, delivery to another bucket.
fn trail_weakening(e: &Ev) -> Vec<&'static str> {
    [
        ("enableLogFileValidation", "log file validation turned off"),
        ("isMultiRegionTrail", "other regions no longer logged"),
        (
            "includeGlobalServiceEvents",
            "global services' events no longer logged",
        ),
    ]
    .into_iter()
    .filter(|(key, _)| e.detail(key) == Some("false"))
    .map(|(_, what)| what)
    .chain(
        e.detail("s3BucketName")
            .map(|_| "logs delivered to another bucket"),
    )
    .collect()
}

/// D29 (d), reported as D01: a lifecycle rule that deletes a trail bucket's log files within
/// days. High when a trail in the data writes to the bucket, medium when only its name says
/// `trail` (Panther's guess); any other bucket is not this rule's.
fn short_trail_lifecycle(e: &Ev, ctx: &Context<'_>) -> Option<(Severity, String)> {
    let days: u32 = e.detail("expirationDays")?.parse().ok()?;
    let bucket = e.resource.as_str();
    if days >= TRAIL_MIN_RETENTION_DAYS || bucket.is_empty() {
        return None;
    }
    // Bucket names are lower-case letters, digits, dots and hyphens: only the dot needs
    // escaping; anything else is not a bucket a trail could name.
    let plain = bucket
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    let known = plain
        && ctx
            .select_actions(
                |c| aws(c, "cloudtrail", &["CreateTrail", "UpdateTrail"]),
                &[details_match(&format!(
                    r"(^| )s3BucketName={}( |$)",
                    bucket.replace('.', r"\.")
                ))],
            )
            .is_ok_and(|trails| !trails.is_empty());
    let named = bucket.to_ascii_lowercase().contains("trail");
    if !known && !named {
        return None;
    }
    let whose = if known {
        "the bucket a trail in the data writes to"
    } else {
        "a bucket named as a trail's"
    };
    Some((
        if known { High } else { Medium },
        format!(
            "{} set a lifecycle rule on {bucket} ({whose}) at {} that deletes its objects after {days} day{}: audit logs would be gone before anyone reads them",
            e.who(),
            hhmm_utc(e.time),
            if days == 1 { "" } else { "s" }
        ),
    ))
}

/// The cloud-resource rules.
pub(super) static RULES: [SingleRule; 5] = [
    SingleRule {
        info: RuleInfo {
            id: "audit-log-tampering",
            title: "Audit logging stopped or weakened",
            mitre: &["T1562.008"],
            severity: High,
            summary: "CloudTrail StopLogging/DeleteTrail/UpdateTrail/PutEventSelectors, S3 lifecycle rules deleting a trail bucket's logs within 7 days, Config, GuardDuty, Security Hub, flow-log and Route 53 Resolver query-log disabling; GCP sink/exclusion/bucket changes; Azure diagnostic settings deleted; Okta log streams; GitHub audit-log streaming; Kubernetes events deleted",
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
                ) | (
                    "s3",
                    "PutBucketLifecycle" | "PutBucketLifecycleConfiguration"
                ) | ("securityhub", "DisableSecurityHub")
                    | ("ec2", "DeleteFlowLogs")
                    | (
                        "route53resolver",
                        "DeleteResolverQueryLogConfig" | "DisassociateResolverQueryLogConfig"
                    )
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
        judge: |e, scope| {
            if e.provider == "aws" && e.action.starts_with("PutBucketLifecycle") {
                return short_trail_lifecycle(e, scope);
            }
            let who = e.who();
            let at = hhmm_utc(e.time);
            let target = e.target();
            let sev = match (e.provider.as_str(), e.action.as_str()) {
                ("aws", "StopLogging" | "DeleteTrail") => Critical,
                ("aws", "UpdateTrail") => {
                    // The trail goes on logging: say what it no longer does.
                    let weakened = trail_weakening(e);
                    let (sev, what) = if weakened.is_empty() {
                        (High, "audit logging settings changed".to_string())
                    } else {
                        (
                            Critical,
                            format!("audit logging weakened: {}", weakened.join(", ")),
                        )
                    };
                    return Some((
                        sev,
                        format!("{who} {} ({target}) at {at}: {what}", e.action),
                    ));
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
        refine: Some(tampering_with_privileged_actions),
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
        refine: None,
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
        refine: None,
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
        // Only cross-account AssumeRole calls are judged; a role's calls are all cross-account
        // or none (its account is in its ARN), so the first per actor and role is the same.
        // Most AssumeRole calls are within an account: they are never read into events.
        rows: Some(|ctx| {
            ctx.actions(|c| c.action != "AssumeRole")
                .or(details_match("crossAccount=true"))
        }),
        refine: None,
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
            // Public access blocks are S3's; the same names from another service are not.
            let block = c.action.contains("PublicAccessBlock");
            let s3 = matches!(c.service.as_str(), "s3" | "s3-control");
            (c.provider == "aws"
                && (!block || s3)
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
                            | "CreateKey"
                            | "SetQueueAttributes"
                            | "CreateTopic"
                            | "PutResourcePolicy"
                            | "SetVaultAccessPolicy"
                            | "CreateElasticsearchDomain"
                            | "UpdateElasticsearchDomainConfig"
                            | "CreateDomain"
                            | "UpdateDomainConfig"
                    )))
                || (c.provider == "gcp" && c.action == "storage.setIamPermissions")
                || is(c, "github", &["repo.access"])
        },
        judge: |e, _| {
            let who = e.who();
            let target = e.target();
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
                    } else if let Some(added) = e
                        .detail("add")
                        .filter(|a| !a.is_empty() && !a.eq_ignore_ascii_case("none"))
                    {
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
                "github" => match e.detail("visibility") {
                    Some(v) if v.eq_ignore_ascii_case("public") => {
                        Some("made it public".to_string())
                    }
                    Some(_) => None,
                    // `repo.access` is a visibility change; without the new visibility in
                    // the record it may have been made public.
                    None if e.details.contains("public") => Some("made it public".to_string()),
                    None => {
                        Some("changed its visibility; the record does not say to what".to_string())
                    }
                },
                _ => None,
            }?;
            let sev = if exposed.starts_with("changed its visibility") {
                Medium
            } else {
                High
            };
            Some((sev, format!("{who} {} on {target}: {exposed}", e.action)))
        },
        failures: false,
        rows: None,
        refine: None,
    },
];
