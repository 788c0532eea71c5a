//! Rule table: cloud secret stores (AWS Secrets Manager, SSM Parameter Store SecureStrings,
//! GCP Secret Manager) read in bulk by one identity, run by [`super::single`]. One read is an
//! application doing its job; many distinct secrets in minutes is harvesting.

use super::RuleInfo;
use super::context::Context;
use super::event::Ev;
use super::finding::{Hit, Severity, hhmm_utc};
use super::single::{SingleRule, aws, gcp_leaf};
use super::spread::{Reach, by_actor, judged, new_to_it, runs, widest};
use super::window::list;
use super::{DAY, MINUTE, minutes};
use crate::Result;

use Severity::{High, Info, Medium};

/// Whether an event reads secret values (SSM parameters only when decrypted).
fn reads_values(e: &Ev) -> bool {
    e.service != "ssm" || e.detail("withDecryption") == Some("true")
}

/// The secrets one read reaches: its named secrets, a batch's listed count, and a whole
/// threshold's worth for a filtered batch (it returns every secret the filter matches).
fn secrets_of<'e>(e: &'e Ev, need: u64) -> Reach<'e> {
    let count = e.detail("count").and_then(|c| c.parse::<u64>().ok());
    let names: Vec<&str> = e
        .resource
        .split(',')
        .filter(|t| !t.is_empty() && *t != "...")
        .collect();
    let unnamed = match (e.action.as_str(), count) {
        ("BatchGetSecretValue", None) => need,
        (_, Some(n)) => n.saturating_sub(names.len() as u64),
        _ => 0,
    };
    Reach { names, unnamed }
}

/// Keeps the runs of one actor's reads that reach `secret_names` distinct secrets within
/// `secret_minutes`: medium, high when the actor, with a history in the data, never read
/// secrets before; not a finding for an identity that read in bulk on an earlier day too.
fn bulk_reads(ctx: &Context<'_>, hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let th = &ctx.config.thresholds;
    let need = u64::from(th.secret_names.max(2));
    let width = minutes(th.secret_minutes.max(1));
    let mut out = Vec::new();
    for (_, reads) in by_actor(hits) {
        let new = new_to_it(ctx, &reads);
        let mut bulk_days: Vec<i64> = Vec::new();
        for run in runs(&reads) {
            let slice = &reads[run.clone()];
            let (n, names) = widest(slice, width, |e| secrets_of(e, need));
            if n < need {
                continue;
            }
            let first = &slice[0].ev;
            let day = first.time.div_euclid(DAY);
            // An identity that reads in bulk on other days too: an application starting.
            let routine = bulk_days.iter().any(|d| *d < day);
            bulk_days.push(day);
            if routine {
                continue;
            }
            let severity = if new { High } else { Medium };
            let span = (slice[slice.len() - 1].ev.time - first.time) / MINUTE;
            let reason = format!(
                "{} read {n} {}secrets within {} min at {} from {} ({}: {}){}",
                first.who(),
                if n > names.len() as u64 {
                    ""
                } else {
                    "distinct "
                },
                span.max(1),
                hhmm_utc(first.time),
                first.src_ip,
                first.service,
                if names.is_empty() {
                    "by filter".to_string()
                } else {
                    list(&names, 4)
                },
                if new {
                    "; it never read secrets before in the data"
                } else {
                    ""
                }
            );
            out.extend(judged(slice, severity, &reason));
        }
    }
    Ok(out)
}

/// The secret-store rules.
pub(super) static RULES: [SingleRule; 1] = [SingleRule {
    info: RuleInfo {
        id: "cloud-secrets-bulk-read",
        title: "Secrets read in bulk from a cloud secret store",
        mitre: &["T1555.006", "T1552"],
        severity: Medium,
        summary: "one identity reading `secret_names` distinct secrets within `secret_minutes` from Secrets Manager (GetSecretValue, BatchGetSecretValue), SSM Parameter Store with decryption or GCP Secret Manager; high when it never read secrets before; routine for an identity that read in bulk on an earlier day",
    },
    select: |c| {
        aws(
            c,
            "secretsmanager",
            &["GetSecretValue", "BatchGetSecretValue"],
        ) || aws(
            c,
            "ssm",
            &["GetParameter", "GetParameters", "GetParametersByPath"],
        ) || (c.provider == "gcp" && gcp_leaf(&c.action) == "AccessSecretVersion")
    },
    judge: |e, _| reads_values(e).then(|| (Info, String::new())),
    failures: false,
    rows: None,
    refine: Some(bulk_reads),
}];
