//! What the normalized columns do not carry yet, read from the original records of the few
//! grant and approval events: the justification (`resultReason`), the ticket
//! (`TicketSystem`/`TicketNumber`) and the scheduled end (`ExpirationTime`, `EndTime`) of
//! Entra PIM activations and assignments, from their `additionalDetails`. The caller reads
//! the bytes (it holds the store); only Entra grants without those fields are read.

use serde_json::Value;

use super::{Access, Grant, Lifetime, Summary};
use crate::providers::time::parse_time_text;

/// Records larger than this are not parsed (an Entra audit record is a few kilobytes).
const MAX_RECORD: usize = 1 << 20;

/// What an original record says about its grant.
#[derive(Debug, Default, PartialEq, Eq)]
struct Said {
    justification: Option<String>,
    ticket: Option<String>,
    end: Option<i64>,
}

/// Fills the justification, ticket and scheduled end of Entra grants from their original
/// records (`read` gives the bytes of a row of the frame audited), then judges overdue
/// again and recounts the summary. `grace` is the overdue grace (µs).
pub fn read_records(access: &mut Access, grace: i64, read: &mut dyn FnMut(u32) -> Option<Vec<u8>>) {
    let last = access.span.1;
    for g in &mut access.grants {
        if g.provider != "entra" || g.record_rows.is_empty() {
            continue;
        }
        let mut said = Said::default();
        for &row in &g.record_rows {
            let Some(bytes) = read(row).filter(|b| b.len() <= MAX_RECORD) else {
                continue;
            };
            let Ok(record) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            let this = said_by(&record);
            said.justification = said.justification.or(this.justification);
            said.ticket = said.ticket.or(this.ticket);
            said.end = said.end.or(this.end);
        }
        apply(g, said, grace, last);
    }
    access.summary = Summary::of(&access.grants);
}

fn apply(g: &mut Grant, said: Said, grace: i64, last: i64) {
    if g.justification.is_none() {
        g.justification = said.justification;
    }
    if g.ticket.is_none() {
        g.ticket = said.ticket;
    }
    if let Some(end) = said.end.filter(|e| *e >= g.granted_at) {
        g.scheduled_end = Some(end);
        if g.lifetime == Lifetime::Temporary {
            g.overdue = g.ended_at.unwrap_or(last) > end + grace;
        }
    }
}

/// The justification, ticket and end in an Entra audit record, in the Graph
/// (`resultReason`, `additionalDetails`), diagnostic-settings (`properties.*`) and Log
/// Analytics (`ResultReason`, `AdditionalDetails` as JSON text) shapes.
fn said_by(record: &Value) -> Said {
    let body = record.get("properties").unwrap_or(record);
    let field = |names: &[&str]| names.iter().find_map(|n| body.get(*n));
    let justification = field(&["resultReason", "ResultReason"])
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let details = match field(&["additionalDetails", "AdditionalDetails"]) {
        Some(Value::String(text)) => serde_json::from_str::<Value>(text).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let detail = |key: &str| {
        details.as_array().into_iter().flatten().find_map(|d| {
            let k = d.get("key").or(d.get("Key"))?.as_str()?;
            let v = d.get("value").or(d.get("Value"))?.as_str()?.trim();
            (k.eq_ignore_ascii_case(key) && !v.is_empty()).then(|| v.to_string())
        })
    };
    let ticket = match (detail("TicketSystem"), detail("TicketNumber")) {
        (Some(system), Some(number)) => Some(format!("{system} {number}")),
        (None, Some(number)) => Some(number),
        _ => None,
    };
    let end = ["ExpirationTime", "EndTime", "EndDateTime"]
        .iter()
        .find_map(|k| detail(k))
        .and_then(|v| parse_time_text(&v));
    Said {
        justification,
        ticket,
        end,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pim_records_give_their_justification_ticket_and_end_in_every_shape() {
        let graph: Value = serde_json::from_str(
            r#"{"resultReason":"Patch the mail flow rule INC-42","additionalDetails":[
                {"key":"TicketSystem","value":"ServiceNow"},{"key":"TicketNumber","value":"INC0042"},
                {"key":"StartTime","value":"2024-06-10T08:05:00Z"},
                {"key":"ExpirationTime","value":"2024-06-10T10:05:00Z"}]}"#,
        )
        .unwrap();
        let said = said_by(&graph);
        assert_eq!(
            said.justification.as_deref(),
            Some("Patch the mail flow rule INC-42")
        );
        assert_eq!(said.ticket.as_deref(), Some("ServiceNow INC0042"));
        assert_eq!(said.end, parse_time_text("2024-06-10T10:05:00Z"));
        let analytics: Value = serde_json::from_str(
            r#"{"ResultReason":"","AdditionalDetails":"[{\"key\":\"TicketNumber\",\"value\":\"7\"}]"}"#,
        )
        .unwrap();
        let said = said_by(&analytics);
        assert_eq!(
            said.justification, None,
            "an empty reason is no justification"
        );
        assert_eq!(said.ticket.as_deref(), Some("7"));
        let diagnostic: Value =
            serde_json::from_str(r#"{"properties":{"resultReason":"on call"}}"#).unwrap();
        assert_eq!(
            said_by(&diagnostic).justification.as_deref(),
            Some("on call")
        );
    }
}
