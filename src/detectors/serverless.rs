//! Rule table: code and models run by managed services, run by [`super::single`]: Lambda
//! functions whose code is overwritten or that get a layer (an extension runs inside every
//! invocation), and Bedrock models invoked by an identity new to them or right after it
//! enabled model access (LLMjacking). Deployments by the identity that always deploys a
//! function are routine.

use std::collections::BTreeMap;

use super::context::Context;
use super::finding::{Hit, Severity, hhmm_utc};
use super::single::{SingleRule, aws};
use super::spread::{by_actor, judged, new_to_it, runs};
use super::{DAY, HOUR, RuleInfo};
use crate::Result;

use Severity::{High, Info, Low, Medium};

/// The function a Lambda call names (`arn:...:function:<name>[:qualifier]` or the name).
fn function_name(resource: &str) -> &str {
    match resource.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => resource,
    }
}

/// The accounts of layers that are not the function's own account.
fn foreign_layers<'e>(layers: &'e str, account: &str) -> Vec<&'e str> {
    layers
        .split(',')
        .filter(|arn| {
            arn.split(':')
                .nth(4)
                .is_some_and(|a| !a.is_empty() && a != account)
        })
        .collect()
}

/// Lambda changes: a layer from another account is high whoever adds it; otherwise a
/// change to a function the identity already changed on an earlier day, or by automation,
/// is routine; a first change is medium by a person, low by a service identity.
fn function_changes(ctx: &Context<'_>, hits: Vec<Hit>) -> Result<Vec<Hit>> {
    // Per principal (a role, whatever its session names) and function, in time order.
    let mut per: BTreeMap<(&str, &str), Vec<&Hit>> = BTreeMap::new();
    for h in &hits {
        per.entry((principal(&h.ev.actor), function_name(&h.ev.resource)))
            .or_default()
            .push(h);
    }
    let mut out = Vec::new();
    for ((_, function), mut changes) in per {
        changes.sort_by_key(|h| (h.ev.time, h.ev.row));
        let first_day = changes[0].ev.time.div_euclid(DAY);
        for h in changes {
            let e = &h.ev;
            if h.severity >= High {
                out.push(h.clone());
                continue;
            }
            if e.time.div_euclid(DAY) > first_day || ctx.is_automation(&e.actor) {
                continue;
            }
            let severity = if e.non_human() { Low } else { Medium };
            let what = match e.detail("layers") {
                Some(layers) if e.action.starts_with("UpdateFunctionConfiguration") => {
                    format!("set the layers of {function} to {layers}")
                }
                _ => format!("replaced the code of {function}"),
            };
            out.push(Hit {
                ev: e.clone(),
                severity,
                reason: format!(
                    "{} {what} at {} from {}; it never changed this function before in the data",
                    e.who(),
                    hhmm_utc(e.time),
                    e.src_ip
                ),
            });
        }
    }
    Ok(out)
}

/// The principal behind an actor: an assumed role without its session name.
fn principal(actor: &str) -> &str {
    match actor.rsplit_once('/') {
        Some((role, _)) if actor.contains(":assumed-role/") => role,
        _ => actor,
    }
}

/// Whether a Bedrock call enables access to a model (rather than using one).
fn enables_model_access(action: &str) -> bool {
    matches!(
        action,
        "PutUseCaseForModelAccess"
            | "CreateFoundationModelAgreement"
            | "PutFoundationModelEntitlement"
    )
}

/// Bedrock use: invoking a model within an hour after enabling access to it, or by an
/// identity with a history new to Bedrock, is medium (both: high); enabling alone is low;
/// routine invocations are not findings.
fn model_use(ctx: &Context<'_>, hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let mut out = Vec::new();
    for (_, all) in by_actor(hits) {
        let new = new_to_it(ctx, &all);
        for run in runs(&all) {
            let slice = &all[run];
            let enabled = slice
                .iter()
                .filter(|h| enables_model_access(&h.ev.action))
                .map(|h| h.ev.time)
                .min();
            let invoked: Vec<&Hit> = slice
                .iter()
                .filter(|h| !enables_model_access(&h.ev.action))
                .collect();
            let after_enabling = enabled.is_some_and(|t| {
                invoked
                    .iter()
                    .any(|h| h.ev.time >= t && h.ev.time - t <= HOUR)
            });
            let new_invoker = new && !invoked.is_empty();
            let severity = match (after_enabling, new_invoker) {
                (true, true) => High,
                (true, false) | (false, true) => Medium,
                _ if enabled.is_some() => Low,
                _ => continue,
            };
            let first = &slice[0].ev;
            let models: Vec<&str> = {
                let mut m: Vec<&str> = Vec::new();
                for h in slice {
                    if !h.ev.resource.is_empty() && !m.contains(&h.ev.resource.as_str()) {
                        m.push(&h.ev.resource);
                    }
                }
                m
            };
            let mut why = Vec::new();
            if enabled.is_some() {
                why.push("enabled access to the model (agreement, entitlement, use case)");
            }
            if after_enabling {
                why.push("then invoked it within the hour");
            }
            if new_invoker {
                why.push("an identity that never used Bedrock before in the data");
            }
            let reason = format!(
                "{} used Bedrock model(s) {} at {} from {} ({} invocation(s)): {}",
                first.who(),
                if models.is_empty() {
                    "?".to_string()
                } else {
                    models.join(", ")
                },
                hhmm_utc(first.time),
                first.src_ip,
                invoked.len(),
                why.join(", ")
            );
            out.extend(judged(slice, severity, &reason));
        }
    }
    Ok(out)
}

/// The Lambda and Bedrock rules.
pub(super) static RULES: [SingleRule; 2] = [
    SingleRule {
        info: RuleInfo {
            id: "lambda-function-modified",
            title: "Lambda code overwritten or layer added",
            mitre: &["T1525", "T1648"],
            severity: Medium,
            summary: "UpdateFunctionCode, and UpdateFunctionConfiguration setting layers: high for a layer from another account, medium for a person's first change to the function (low for a service identity); routine for the identity that changed it on an earlier day and for automation",
        },
        select: |c| {
            c.provider == "aws"
                && c.service == "lambda"
                && (c.action.starts_with("UpdateFunctionCode")
                    || c.action.starts_with("UpdateFunctionConfiguration"))
        },
        judge: |e, _| {
            let layers = e.detail("layers");
            if e.action.starts_with("UpdateFunctionConfiguration") && layers.is_none() {
                return None;
            }
            let foreign = layers
                .map(|l| foreign_layers(l, &e.account))
                .unwrap_or_default();
            if foreign.is_empty() {
                return Some((Info, String::new()));
            }
            Some((
                High,
                format!(
                    "{} added layer(s) from another account to {} at {} from {}: {}; their code runs inside every invocation",
                    e.who(),
                    function_name(&e.resource),
                    hhmm_utc(e.time),
                    e.src_ip,
                    foreign.join(", ")
                ),
            ))
        },
        failures: false,
        rows: None,
        refine: Some(function_changes),
    },
    SingleRule {
        info: RuleInfo {
            id: "bedrock-model-invoked",
            title: "Bedrock model used by an unusual identity",
            mitre: &["T1496.004"],
            severity: Medium,
            summary: "InvokeModel / Converse within an hour after the same identity enabled model access (agreement, entitlement, use case), or by an identity with a history new to Bedrock (high for both); enabling model access alone is low",
        },
        select: |c| {
            aws(
                c,
                "bedrock",
                &[
                    "InvokeModel",
                    "InvokeModelWithResponseStream",
                    "Converse",
                    "ConverseStream",
                    "PutUseCaseForModelAccess",
                    "CreateFoundationModelAgreement",
                    "PutFoundationModelEntitlement",
                ],
            )
        },
        judge: |e, _| (e.actor_type != "system").then(|| (Info, String::new())),
        failures: false,
        rows: None,
        refine: Some(model_use),
    },
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn functions_and_foreign_layers_are_named() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:111122223333:function:pay:3"),
            "pay"
        );
        assert_eq!(function_name("pay"), "pay");
        let layers = "arn:aws:lambda:us-east-1:111122223333:layer:own:1,arn:aws:lambda:us-east-1:999988887777:layer:ext:4";
        assert_eq!(
            foreign_layers(layers, "111122223333"),
            vec!["arn:aws:lambda:us-east-1:999988887777:layer:ext:4"]
        );
    }
}
