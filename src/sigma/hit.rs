//! One match of a Sigma detection rule.

use rsigma_eval::EvaluationResult;
use rsigma_eval::result::ResultBody;
use serde_json::Value;

/// One match of a detection rule.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The rule (index into [`RuleSet::rules`]).
    pub rule: usize,
    /// The frame row.
    pub row: u32,
    /// What matched, for the finding's reason (`eventName=StopLogging`).
    pub matched: String,
}

/// A match, with rsigma's result when correlation rules will read it.
pub type Matched = (Hit, Option<rsigma_eval::EvaluationResult>);

/// The fields and values that made a rule match, briefly, in field order (rsigma gives
/// them in the order of its detections map, which differs between loads of one rule).
pub fn describe_match(result: &EvaluationResult) -> String {
    let ResultBody::Detection(body) = &result.body else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    for field in &body.matched_fields {
        let value = match &field.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let part = format!(
            "{}={}",
            field.field,
            crate::text::middle_ellipsis(&value, 80)
        );
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        let mut selections = body.matched_selections.clone();
        selections.sort();
        selections.join(", ")
    } else {
        parts.sort();
        parts.join(", ")
    }
}
