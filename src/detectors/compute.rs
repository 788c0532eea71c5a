//! Rule table: execution on and access to EC2 instances, run by [`super::single`]: commands
//! and shells through SSM and EC2 Instance Connect (and the serial console), instance
//! passwords and user data read in bulk, user data (the boot script) replaced, unusual
//! instance types launched. Each is an action admins also take; the rules look for the
//! spread (many instances at once) or the actor being new to it, as the catalogue asks.

use std::collections::HashSet;

use polars::prelude::*;

use super::context::Context;
use super::event::Ev;
use super::finding::{Hit, Severity, hhmm_utc};
use super::single::{SingleRule, aws};
use super::spread::{
    by_actor, days_before, failure_note, judged, new_to_it, resource_targets, runs, widest,
};
use super::window::list;
use super::{HOUR, MINUTE, RuleInfo};
use crate::Result;
use crate::schema::{ACTOR, OUTCOME, TIME};

use Severity::{High, Info, Medium};

/// Distinct instances one actor reaches in [`SPREAD_MINUTES`] that make a remote-command
/// spread (Stratus detonates on three).
const REMOTE_INSTANCES: u64 = 3;
/// Distinct instances whose passwords or user data one actor reads in [`SPREAD_MINUTES`].
const HARVEST_INSTANCES: u64 = 5;
/// The window of the spreads.
const SPREAD_MINUTES: i64 = 10;

/// Time in whole minutes between the first and last hit of a run (at least 1).
fn span_minutes(run: &[Hit]) -> i64 {
    ((run[run.len() - 1].ev.time - run[0].ev.time) / MINUTE).max(1)
}

fn distinct_actions(run: &[Hit]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for h in run {
        if !out.contains(&h.ev.action.as_str()) {
            out.push(&h.ev.action);
        }
    }
    out
}

/// Remote commands and shells: a run reaching [`REMOTE_INSTANCES`] instances, or an actor
/// with a history new to remote access, is medium; both are high. Serial-console access
/// turned on for the account is medium, high with keys pushed in the same run.
fn remote_access(ctx: &Context<'_>, hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let mut out = Vec::new();
    for (_, all) in by_actor(hits) {
        let new = new_to_it(ctx, &all);
        for run in runs(&all) {
            let slice = &all[run];
            let (n, instances) = widest(slice, SPREAD_MINUTES * MINUTE, resource_targets);
            let routine = days_before(&all, slice[0].ev.time) >= 2;
            let serial = slice
                .iter()
                .any(|h| h.ev.action == "EnableSerialConsoleAccess");
            let keys = slice.iter().any(|h| h.ev.action.contains("SSHPublicKey"));
            let many = n >= REMOTE_INSTANCES;
            let anomalies = usize::from(many && !routine) + usize::from(new);
            let severity = match (anomalies, serial) {
                (_, true) if keys || anomalies > 0 => High,
                (_, true) => Medium,
                (2, _) => High,
                (1, _) => Medium,
                _ => continue,
            };
            let first = &slice[0].ev;
            let mut why = Vec::new();
            if many {
                why.push(format!(
                    "{n} instances within {SPREAD_MINUTES} min{}",
                    if routine {
                        " (it does so on other days too)"
                    } else {
                        ""
                    }
                ));
            }
            if new {
                why.push("an identity that never did this before in the data".to_string());
            }
            if serial {
                why.push("serial-console access turned on for the account".to_string());
            }
            let reason = format!(
                "{} ran {} on {} at {} from {} ({} min): {}",
                first.who(),
                distinct_actions(slice).join(", "),
                if instances.is_empty() {
                    "the account".to_string()
                } else {
                    list(&instances, 4)
                },
                hhmm_utc(first.time),
                first.src_ip,
                span_minutes(slice),
                why.join("; ")
            );
            out.extend(judged(slice, severity, &reason));
        }
    }
    Ok(out)
}

/// Instance passwords and user data: a run reaching [`HARVEST_INSTANCES`] instances is
/// medium (denied attempts too: the attempt is the signal), high when reads succeeded.
fn harvest(_: &Context<'_>, hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let mut out = Vec::new();
    for (_, all) in by_actor(hits) {
        for run in runs(&all) {
            let slice = &all[run];
            let (n, instances) = widest(slice, SPREAD_MINUTES * MINUTE, resource_targets);
            if n < HARVEST_INSTANCES {
                continue;
            }
            let ok = slice.iter().filter(|h| h.ev.ok()).count();
            let severity = if ok > 0 { High } else { Medium };
            let first = &slice[0].ev;
            let what = match distinct_actions(slice).as_slice() {
                ["GetPasswordData"] => "Windows administrator passwords",
                ["DescribeInstanceAttribute"] => "user data (boot scripts, often with secrets)",
                _ => "passwords and user data",
            };
            let reason = format!(
                "{} asked for the {what} of {n} instances within {SPREAD_MINUTES} min at {} from {} ({}): {} of {} calls {}",
                first.who(),
                hhmm_utc(first.time),
                first.src_ip,
                list(&instances, 4),
                if ok > 0 { ok } else { slice.len() },
                slice.len(),
                if ok > 0 { "succeeded" } else { "were denied" },
            );
            out.extend(judged(slice, severity, &reason));
        }
    }
    Ok(out)
}

/// User data replaced: high when the same actor stopped the instance before and started it
/// after within an hour (the new boot script runs at once); not a finding for automation
/// and for identities that changed user data on two earlier days.
fn user_data_swap(ctx: &Context<'_>, hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let (Some(lo), Some(hi)) = (
        hits.iter().map(|h| h.ev.time).min(),
        hits.iter().map(|h| h.ev.time).max(),
    ) else {
        return Ok(hits);
    };
    let actors: HashSet<&str> = hits.iter().map(|h| h.ev.actor.as_str()).collect();
    let time = || col(TIME).to_physical();
    let around = ctx.select_actions(
        |c| aws(c, "ec2", &["StopInstances", "StartInstances"]),
        &[ctx
            .category(OUTCOME, |o| o == "success")
            .and(ctx.category(ACTOR, |a| actors.contains(a)))
            .and(time().gt_eq(lit(lo - HOUR)))
            .and(time().lt_eq(lit(hi + HOUR)))],
    )?;
    let mut out = Vec::new();
    for (_, all) in by_actor(hits) {
        for h in &all {
            let e = &h.ev;
            let touches = |o: &&Ev, action: &str| {
                o.actor == e.actor
                    && o.action == action
                    && (o.time - e.time).abs() <= HOUR
                    && o.resource.split(',').any(|i| i == e.resource)
            };
            let stopped = around
                .iter()
                .any(|o| o.time <= e.time && touches(&o, "StopInstances"));
            let started = around
                .iter()
                .any(|o| o.time >= e.time && touches(&o, "StartInstances"));
            let routine = days_before(&all, e.time) >= 2 || ctx.is_automation(&e.actor);
            if routine {
                continue;
            }
            let severity = if stopped && started { High } else { Medium };
            out.push(Hit {
                ev: e.clone(),
                severity,
                reason: format!(
                    "{} replaced the user data (boot script) of {} at {} from {}{}",
                    e.who(),
                    e.resource,
                    hhmm_utc(e.time),
                    e.source(),
                    if stopped && started {
                        "; it stopped the instance before and started it after: the new script runs as root at boot"
                    } else {
                        ""
                    }
                ),
            });
        }
    }
    // Stops and starts belong to the finding: they are the swap.
    let swapped: Vec<&Hit> = out.iter().filter(|h| h.severity == High).collect();
    let mut extra = Vec::new();
    for o in &around {
        if let Some(h) = swapped.iter().find(|h| {
            h.ev.actor == o.actor
                && (o.time - h.ev.time).abs() <= HOUR
                && o.resource.split(',').any(|i| i == h.ev.resource)
        }) {
            extra.push(Hit {
                ev: o.clone(),
                severity: High,
                reason: h.reason.clone(),
            });
        }
    }
    out.extend(extra);
    Ok(out)
}

/// Instance types bought for their accelerators or size: what crypto-mining and model
/// training launch (GPU, Inferentia, Trainium, FPGA, video, HPC, high-memory, bare metal,
/// 24xlarge and up).
pub(super) fn unusual_instance_type(t: &str) -> bool {
    let (family, size) = t.split_once('.').unwrap_or((t, ""));
    let family = family.to_ascii_lowercase();
    let accelerated = ["p", "g", "inf", "trn", "dl", "f", "vt", "hpc", "x", "u-"]
        .iter()
        .any(|prefix| {
            family.starts_with(prefix)
                && family[prefix.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || *prefix == "u-")
        });
    let big = size == "metal"
        || size
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 24);
    accelerated || big
}

/// Unusual launches: dropped when the actor launched the same type successfully on an
/// earlier day (a team that trains models).
fn unusual_launches(_: &Context<'_>, hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let mut out = Vec::new();
    for (_, all) in by_actor(hits) {
        for h in &all {
            let kind = h.ev.detail("instanceType").unwrap_or("");
            let day = h.ev.time.div_euclid(super::DAY);
            let before = all.iter().any(|o| {
                o.ev.ok()
                    && o.ev.detail("instanceType") == Some(kind)
                    && o.ev.time.div_euclid(super::DAY) < day
            });
            if !before {
                out.push(h.clone());
            }
        }
    }
    Ok(out)
}

/// The EC2 and SSM rules.
pub(super) static RULES: [SingleRule; 4] = [
    SingleRule {
        info: RuleInfo {
            id: "remote-command-on-instances",
            title: "Commands or shells on instances",
            mitre: &["T1651", "T1021.008"],
            severity: Medium,
            summary: "SSM SendCommand / StartSession, EC2 Instance Connect and serial-console SSH keys: medium on 3 instances within 10 min or by an identity new to it (high for both), serial-console access turned on (high with keys pushed)",
        },
        select: |c| {
            aws(c, "ssm", &["SendCommand", "StartSession"])
                || aws(
                    c,
                    "ec2-instance-connect",
                    &["SendSSHPublicKey", "SendSerialConsoleSSHPublicKey"],
                )
                || aws(c, "ec2", &["EnableSerialConsoleAccess"])
        },
        // AWS services (State Manager, patching) act for the account: not judged.
        judge: |e, _| (e.actor_type != "system").then(|| (Info, String::new())),
        failures: false,
        rows: None,
        refine: Some(remote_access),
    },
    SingleRule {
        info: RuleInfo {
            id: "instance-data-harvest",
            title: "Instance passwords or user data read in bulk",
            mitre: &["T1552", "T1580"],
            severity: Medium,
            summary: "GetPasswordData or DescribeInstanceAttribute of userData on 5 instances within 10 min by one identity, denied attempts included (high when reads succeeded)",
        },
        select: |c| aws(c, "ec2", &["GetPasswordData", "DescribeInstanceAttribute"]),
        judge: |e, _| {
            (e.action == "GetPasswordData" || e.detail("attribute") == Some("userData"))
                .then(|| (Info, String::new()))
        },
        failures: true,
        rows: None,
        refine: Some(harvest),
    },
    SingleRule {
        info: RuleInfo {
            id: "instance-user-data-replaced",
            title: "Instance user data replaced",
            mitre: &["T1059.009", "T1037"],
            severity: Medium,
            summary: "ModifyInstanceAttribute of userData (the boot script): high when the same identity stopped the instance before and started it after within an hour; routine for automation and identities that did it on two earlier days",
        },
        select: |c| aws(c, "ec2", &["ModifyInstanceAttribute"]),
        judge: |e, _| e.detail("userData").map(|_| (Info, String::new())),
        failures: false,
        rows: None,
        refine: Some(user_data_swap),
    },
    SingleRule {
        info: RuleInfo {
            id: "unusual-instance-launch",
            title: "Unusual instance type launched",
            mitre: &["T1496", "T1578.002"],
            severity: Medium,
            summary: "RunInstances of GPU, accelerator, high-memory, bare-metal or 24xlarge+ types, denied attempts included, unless the identity launched that type on an earlier day",
        },
        select: |c| aws(c, "ec2", &["RunInstances"]),
        judge: |e, _| {
            let kind = e.detail("instanceType")?;
            if !unusual_instance_type(kind) {
                return None;
            }
            Some((
                Medium,
                format!(
                    "{} {} {kind} instances at {} from {}{}",
                    e.who(),
                    if e.ok() {
                        "launched"
                    } else {
                        "tried to launch"
                    },
                    hhmm_utc(e.time),
                    e.source(),
                    failure_note(e)
                ),
            ))
        },
        failures: true,
        rows: None,
        refine: Some(unusual_launches),
    },
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn unusual_types_are_accelerated_or_huge() {
        for t in [
            "p2.xlarge",
            "p4d.24xlarge",
            "g4dn.xlarge",
            "inf2.xlarge",
            "trn1.2xlarge",
            "x2iedn.xlarge",
            "u-6tb1.metal",
            "c5.metal",
            "m5.24xlarge",
        ] {
            assert!(unusual_instance_type(t), "{t}");
        }
        for t in [
            "t3.micro",
            "m5.large",
            "c6g.4xlarge",
            "r5.12xlarge",
            "t4g.nano",
        ] {
            assert!(!unusual_instance_type(t), "{t}");
        }
    }
}
