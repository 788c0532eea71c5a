//! CloudTrail Lake query results (`aws cloudtrail get-query-results`): each row of
//! `QueryResultRows` is a list of one-key objects, `[{"eventTime":"..."},{"eventName":"..."}]`.
//! A row that selected the whole event (`eventJson`) gives that record; a row of CloudTrail
//! columns is put back together as a CloudTrail record of the columns it has.

use serde_json::{Map, Value};

/// Top-level CloudTrail record fields, as CloudTrail spells them (columns match any case).
const FIELDS: [&str; 27] = [
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
    "sessionCredentialFromConsole",
    "sharedEventID",
    "vpcEndpointId",
    "apiVersion",
    "userIdentity",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "resources",
    "tlsDetails",
    "serviceEventDetails",
];

/// `userIdentity` members a query may select on their own (`userIdentity.arn` comes back as
/// `arn`).
const IDENTITY_FIELDS: [&str; 7] = [
    "arn",
    "principalId",
    "accountId",
    "userName",
    "accessKeyId",
    "invokedBy",
    "type",
];

/// Columns that hold the whole event as JSON text.
const WHOLE_EVENT_COLUMNS: [&str; 2] = ["eventjson", "event"];

/// The CloudTrail record a result row holds, as JSON bytes; why not, naming its columns.
pub fn row_record(row: &[u8]) -> Result<Vec<u8>, String> {
    let cells: Vec<Map<String, Value>> = serde_json::from_slice(row)
        .map_err(|e| format!("not a CloudTrail Lake result row: {e}"))?;
    let columns: Vec<(&String, &Value)> = cells.iter().flat_map(|cell| cell.iter()).collect();
    // A column holding the whole event: by its name, or by holding a CloudTrail record.
    let whole = columns.iter().find_map(|(name, value)| {
        let text = value.as_str()?.trim_start();
        let named = WHOLE_EVENT_COLUMNS
            .iter()
            .any(|w| name.eq_ignore_ascii_case(w));
        let record_like = text.starts_with('{')
            && (text.contains("\"eventSource\"") || text.contains("\"eventVersion\""));
        (text.starts_with('{') && (named || record_like)).then(|| text.as_bytes().to_vec())
    });
    if let Some(record) = whole {
        return Ok(record);
    }
    let mut record = Map::new();
    let mut identity = Map::new();
    for (name, value) in &columns {
        let bare = name.strip_prefix("userIdentity.").unwrap_or(name);
        if let Some(field) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(name)) {
            record.insert((*field).to_string(), structured(value));
        } else if let Some(field) = IDENTITY_FIELDS
            .iter()
            .find(|f| f.eq_ignore_ascii_case(bare))
        {
            identity.insert((*field).to_string(), (*value).clone());
        }
    }
    if !record.contains_key("eventTime") && !record.contains_key("eventName") {
        let names: Vec<&str> = columns.iter().take(6).map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "CloudTrail Lake result row has no whole-event column (eventJson) and no \
             eventTime or eventName column (columns: {})",
            names.join(", ")
        ));
    }
    if !identity.is_empty() && !record.contains_key("userIdentity") {
        record.insert("userIdentity".into(), Value::Object(identity));
    }
    serde_json::to_vec(&Value::Object(record)).map_err(|e| e.to_string())
}

/// A column's value: JSON text of an object or array is read as that value (Lake returns
/// nested fields as text); Lake's own `{key=value, ...}` text of a struct is read one level
/// deep; anything else stays as it is.
fn structured(value: &Value) -> Value {
    let Some(text) = value.as_str() else {
        return value.clone();
    };
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(parsed) = serde_json::from_str::<Value>(trimmed) {
            return parsed;
        }
        if let Some(inner) = trimmed
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .filter(|t| !t.contains(['{', '[']))
        {
            let pairs: Map<String, Value> = inner
                .split(", ")
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), Value::String(v.trim().to_string())))
                .collect();
            if !pairs.is_empty() {
                return Value::Object(pairs);
            }
        }
    }
    value.clone()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn whole_event_columns_and_field_columns_become_records() {
        let whole = br#"[{"eventJson":"{\"eventVersion\":\"1.08\",\"eventName\":\"X\"}"}]"#;
        assert_eq!(
            row_record(whole).unwrap(),
            br#"{"eventVersion":"1.08","eventName":"X"}"#
        );
        let fields = br#"[{"eventtime":"2024-01-01 10:00:00.000"},{"eventName":"GetObject"},{"arn":"arn:aws:iam::1:user/a"},{"userIdentity.accountId":"1"}]"#;
        let record: Value = serde_json::from_slice(&row_record(fields).unwrap()).unwrap();
        assert_eq!(record["eventTime"], "2024-01-01 10:00:00.000");
        assert_eq!(record["userIdentity"]["arn"], "arn:aws:iam::1:user/a");
        assert_eq!(record["userIdentity"]["accountId"], "1");
        let struct_text =
            br#"[{"eventName":"X"},{"userIdentity":"{type=IAMUser, arn=arn:aws:iam::1:user/b}"}]"#;
        let record: Value = serde_json::from_slice(&row_record(struct_text).unwrap()).unwrap();
        assert_eq!(record["userIdentity"]["arn"], "arn:aws:iam::1:user/b");
        let err = row_record(br#"[{"count":"3"},{"region":"x"}]"#).unwrap_err();
        assert!(err.contains("columns: count, region"), "{err}");
    }
}
