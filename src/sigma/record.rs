//! One original record as rsigma sees it: fields found through the log source's mapping
//! ([`super::fields`]), keys matched exactly and then ignoring ASCII case, arrays searched
//! member by member, and objects a rule names as a whole compared as their JSON text.

use std::borrow::Cow;

use rsigma_eval::event::{Event, EventValue};
use serde_json::Value;

use super::fields::{Lookup, LookupOwned, Source};

/// How deep a record is walked for keyword searches (records passed the loader's nesting
/// limit already; this bounds the recursion anyway).
const MAX_DEPTH: usize = 64;

/// The prefix of a row reference in correlation state ([`RecordEvent::for_row`]).
pub const ROW_REF: &str = "trailscope-row:";

/// A record of one log source, for rule evaluation.
pub struct RecordEvent<'a> {
    value: &'a Value,
    source: Source,
    row: Option<u32>,
}

impl<'a> RecordEvent<'a> {
    /// Wraps a parsed record of `source`.
    pub fn new(value: &'a Value, source: Source) -> Self {
        RecordEvent {
            value,
            source,
            row: None,
        }
    }

    /// The same record, standing for frame row `row` in correlation state: rsigma keeps only
    /// a reference to each event (`to_json`'s `id`), which names the row.
    pub fn for_row(value: &'a Value, source: Source, row: u32) -> Self {
        RecordEvent {
            value,
            source,
            row: Some(row),
        }
    }

    /// Where `field` was found in this record (the lookup that gave its value), if anywhere.
    pub fn found_at(&self, field: &str) -> Option<LookupOwned> {
        self.source
            .lookups(field)
            .into_iter()
            .find(|l| self.read(l).is_some())
    }

    // What a computed field reads here, `Lookup::paths_read` lists: a record evaluated
    // while loading holds only the keys its rules read.
    fn read(&self, lookup: &LookupOwned) -> Option<EventValue<'a>> {
        match lookup {
            LookupOwned::Path(path) => resolve(self.value, path),
            LookupOwned::Virtual(Lookup::Path(path)) => resolve(self.value, path),
            LookupOwned::Virtual(Lookup::CloudTrailStatus) => {
                let failed = ["errorCode", "errorMessage"]
                    .iter()
                    .any(|k| self.value.get(k).is_some_and(|v| !v.is_null()));
                Some(EventValue::Str(Cow::Borrowed(if failed {
                    "failure"
                } else {
                    "success"
                })))
            }
            LookupOwned::Virtual(Lookup::SigninStatus) => self.signin_status(),
            LookupOwned::Virtual(Lookup::AzureResourceProvider) => {
                if let Some(v) = resolve(self.value, "resourceProviderName.value")
                    .or_else(|| resolve(self.value, "resourceProviderName"))
                {
                    return Some(v);
                }
                let operation = resolve(self.value, "operationName.value")
                    .or_else(|| resolve(self.value, "operationName"))?;
                let EventValue::Str(text) = operation else {
                    return None;
                };
                let provider = text.split('/').next().unwrap_or("").to_string();
                Some(EventValue::Str(Cow::Owned(provider)))
            }
        }
    }

    fn signin_status(&self) -> Option<EventValue<'a>> {
        let code = [
            "resultType",
            "properties.status.errorCode",
            "status.errorCode",
        ]
        .iter()
        .find_map(|p| resolve(self.value, p))?;
        let success = match &code {
            EventValue::Str(s) => s.trim() == "0",
            EventValue::Int(i) => *i == 0,
            EventValue::Float(f) => *f == 0.0,
            _ => false,
        };
        let mut values = vec![EventValue::Str(Cow::Borrowed(if success {
            "Success"
        } else {
            "Failure"
        }))];
        for path in [
            "properties.status.additionalDetails",
            "status.additionalDetails",
            "properties.status.failureReason",
            "status.failureReason",
            "resultDescription",
        ] {
            if let Some(v) = resolve(self.value, path) {
                values.push(v);
            }
        }
        Some(EventValue::Array(values))
    }
}

impl Event for RecordEvent<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        for lookup in self.source.mapped(path) {
            let found = match lookup {
                Lookup::Path(p) => resolve(self.value, p),
                other => self.read(&LookupOwned::Virtual(*other)),
            };
            if found.is_some() {
                return found;
            }
        }
        resolve(self.value, path).or_else(|| {
            self.source
                .fallback(path)
                .and_then(|p| resolve(self.value, &p))
        })
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let mut found = false;
        walk_strings(self.value, 0, &mut |s| found = found || pred(s));
        found
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        walk_strings(self.value, 0, &mut |s| out.push(Cow::Owned(s.to_string())));
        out
    }

    fn to_json(&self) -> Value {
        match self.row {
            Some(row) => serde_json::json!({ "id": format!("{ROW_REF}{row}") }),
            None => self.value.clone(),
        }
    }
}

fn walk_strings(value: &Value, depth: usize, visit: &mut dyn FnMut(&str)) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) => visit(s),
        Value::Array(items) => items.iter().for_each(|v| walk_strings(v, depth + 1, visit)),
        Value::Object(map) => map.values().for_each(|v| walk_strings(v, depth + 1, visit)),
        _ => {}
    }
}

/// The value at a dotted path: a flat key holding the whole path first, then key by key
/// (exact, else ignoring ASCII case), following every member of the arrays on the way. Several
/// values found become an array, which rsigma matches when any member matches.
pub fn resolve<'a>(value: &'a Value, path: &str) -> Option<EventValue<'a>> {
    if let Some(v) = value.as_object().and_then(|o| o.get(path)) {
        return Some(leaf(v));
    }
    let segments: Vec<&str> = path.split('.').collect();
    let mut found = Vec::new();
    collect(value, &segments, &mut found);
    match found.len() {
        0 => None,
        1 => found.pop().map(leaf),
        _ => Some(EventValue::Array(found.into_iter().map(leaf).collect())),
    }
}

fn collect<'a>(value: &'a Value, segments: &[&str], out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(value);
        return;
    };
    match value {
        Value::Object(map) => {
            let child = map.get(*first).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(first))
                    .map(|(_, v)| v)
            });
            if let Some(child) = child {
                collect(child, rest, out);
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(10_000) {
                collect(item, segments, out);
            }
        }
        _ => {}
    }
}

/// A found value as rsigma matches it: objects as their JSON text (a rule naming an object
/// means its content), arrays member by member, scalars as they are.
fn leaf(value: &Value) -> EventValue<'_> {
    match value {
        Value::Object(_) => EventValue::Str(Cow::Owned(value.to_string())),
        Value::Array(items) => EventValue::Array(items.iter().map(leaf).collect()),
        Value::String(s) => EventValue::Str(Cow::Borrowed(s)),
        Value::Bool(b) => EventValue::Bool(*b),
        Value::Null => EventValue::Null,
        Value::Number(n) => match n.as_i64() {
            Some(i) => EventValue::Int(i),
            None => EventValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_found_through_the_mapping_case_and_properties() {
        let record = json!({
            "operationName": "Add member to role",
            "category": "AuditLogs",
            "properties": {"category": "RoleManagement", "activityDisplayName": "Add member to role",
                "targetResources": [{"modifiedProperties": [{"newValue": "\"Global Administrator\""}]}]}
        });
        let event = RecordEvent::new(&record, Source::EntraAudit);
        let text = |f: &str| match event.get_field(f) {
            Some(EventValue::Str(s)) => s.into_owned(),
            Some(EventValue::Array(a)) => format!("{a:?}"),
            other => format!("{other:?}"),
        };
        assert_eq!(text("properties.message"), "Add member to role");
        assert_eq!(
            text("Category"),
            "RoleManagement",
            "the audit category, not the export's"
        );
        assert!(
            text("TargetResources.ModifiedProperties.NewValue").contains("Global Administrator")
        );
        assert!(event.get_field("Nothing.Here").is_none());
    }

    #[test]
    fn cloudtrail_status_and_signin_status_are_computed() {
        let ok = json!({"eventName": "DeleteSAMLProvider"});
        let failed = json!({"eventName": "DeleteSAMLProvider", "errorCode": "AccessDenied"});
        let status = |v: &Value| match RecordEvent::new(v, Source::CloudTrail).get_field("status") {
            Some(EventValue::Str(s)) => s.into_owned(),
            other => format!("{other:?}"),
        };
        assert_eq!(status(&ok), "success");
        assert_eq!(status(&failed), "failure");
        let signin = json!({"resultType": "500121", "properties": {"status": {"errorCode": 500121,
            "additionalDetails": "MFA denied; user declined the authentication"}}});
        let event = RecordEvent::new(&signin, Source::EntraSignin);
        let Some(EventValue::Array(values)) = event.get_field("Status") else {
            panic!("no status")
        };
        assert_eq!(values[0], EventValue::Str(Cow::Borrowed("Failure")));
        assert!(
            values
                .iter()
                .any(|v| matches!(v, EventValue::Str(s) if s.contains("MFA denied")))
        );
    }
}
