//! Why a Sigma rule did or did not match a record: rsigma's trace of every condition and
//! field test, with where trailscope's field mapping found each field in the record.

use std::fmt::Write as _;

use rsigma_eval::explain::{ConditionTrace, DetectionTrace, ItemTrace, RuleExplanation};
use serde_json::Value;

use super::record::RecordEvent;
use super::rules::LoadedRule;
use crate::text::escape_control;

/// The explanation of `rule` on `record`.
pub fn explain(rule: &LoadedRule, record: &Value) -> RuleExplanation {
    rsigma_eval::explain::explain_rule(&rule.compiled, &RecordEvent::new(record, rule.source))
}

/// The explanation as text: the verdict, then the condition tree with one line per test
/// (✓ held, ✗ did not), each field with the record path it was read from.
pub fn render(rule: &LoadedRule, record: &Value, explanation: &RuleExplanation) -> String {
    let event = RecordEvent::new(record, rule.source);
    let mut out = String::new();
    let verdict = if explanation.matched {
        "MATCHES"
    } else {
        "does not match"
    };
    let _ = writeln!(
        out,
        "{} {verdict} this record ({} rule, {})",
        escape_control(&rule.title),
        rule.source.name(),
        escape_control(&rule.path.display().to_string())
    );
    for (condition, trace) in rule
        .parsed
        .detection
        .condition_strings
        .iter()
        .zip(&explanation.conditions)
    {
        let _ = writeln!(out, "condition: {}", escape_control(condition));
        condition_lines(trace, 1, &event, &mut out);
    }
    out
}

fn mark(matched: bool) -> &'static str {
    if matched { "✓" } else { "✗" }
}

fn condition_lines(trace: &ConditionTrace, depth: usize, event: &RecordEvent, out: &mut String) {
    let pad = "  ".repeat(depth);
    match trace {
        ConditionTrace::Selection {
            name,
            matched,
            detection,
        } => {
            let _ = writeln!(out, "{pad}{} {name}", mark(*matched));
            detection_lines(detection, depth + 1, event, out);
        }
        ConditionTrace::And { matched, children } | ConditionTrace::Or { matched, children } => {
            let word = if matches!(trace, ConditionTrace::And { .. }) {
                "and"
            } else {
                "or"
            };
            let _ = writeln!(out, "{pad}{} {word}", mark(*matched));
            for child in children {
                condition_lines(child, depth + 1, event, out);
            }
        }
        ConditionTrace::Not { matched, child } => {
            let _ = writeln!(out, "{pad}{} not", mark(*matched));
            condition_lines(child, depth + 1, event, out);
        }
        ConditionTrace::Quantified {
            quantifier,
            matched,
            need,
            got,
            branches,
        } => {
            let _ = writeln!(
                out,
                "{pad}{} {quantifier} of ({got} matched, {need} needed)",
                mark(*matched)
            );
            for branch in branches {
                let _ = writeln!(out, "{pad}  {} {}", mark(branch.matched), branch.name);
                detection_lines(&branch.detection, depth + 2, event, out);
            }
        }
    }
}

fn detection_lines(trace: &DetectionTrace, depth: usize, event: &RecordEvent, out: &mut String) {
    let pad = "  ".repeat(depth);
    match trace {
        DetectionTrace::AllOf { items, .. } => {
            for item in items {
                item_line(item, depth, event, out);
            }
        }
        DetectionTrace::AnyOf { matched, branches } | DetectionTrace::And { matched, branches } => {
            let word = if matches!(trace, DetectionTrace::AnyOf { .. }) {
                "any of"
            } else {
                "all of"
            };
            let _ = writeln!(out, "{pad}{} {word}", mark(*matched));
            for branch in branches {
                detection_lines(branch, depth + 1, event, out);
            }
        }
        DetectionTrace::Keywords { item, .. } => item_line(item, depth, event, out),
        DetectionTrace::ArrayMatch {
            field,
            quantifier,
            matched,
            member_count,
            matched_count,
            ..
        } => {
            let _ = writeln!(
                out,
                "{pad}{} {field}[{quantifier}]: {matched_count} of {member_count} members",
                mark(*matched)
            );
        }
        DetectionTrace::Conditional { condition, .. } => {
            condition_lines(condition, depth, event, out);
        }
        DetectionTrace::Other { kind, matched } => {
            let _ = writeln!(out, "{pad}{} {kind}", mark(*matched));
        }
    }
}

fn item_line(item: &ItemTrace, depth: usize, event: &RecordEvent, out: &mut String) {
    let pad = "  ".repeat(depth);
    let field = item.field.as_deref().unwrap_or("(any field: keyword)");
    let pattern = item
        .pattern
        .as_deref()
        .map(|p| format!(" {}", escape_control(p)))
        .unwrap_or_default();
    let actual = match &item.actual {
        Some(Value::String(s)) => format!("{:?}", crate::text::middle_ellipsis(s, 120)),
        Some(other) => crate::text::middle_ellipsis(&other.to_string(), 120).into_owned(),
        None => "absent".into(),
    };
    let place = item
        .field
        .as_deref()
        .and_then(|f| event.found_at(f))
        .filter(|at| Some(at.to_string().as_str()) != item.field.as_deref())
        .map(|at| format!(" (read at {at})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{pad}{} {}: {:?}{pattern} vs {}{place}: {:?}",
        mark(item.matched),
        escape_control(field),
        item.matcher,
        escape_control(&actual),
        item.reason
    );
}
