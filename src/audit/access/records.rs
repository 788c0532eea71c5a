//! What the normalized columns do not carry yet, read from the original records of the few
//! grant and approval events, before their use is counted (so use is counted in the right
//! window):
//! - Entra PIM activations and assignments: the justification (`resultReason`), the ticket
//!   (`TicketSystem`/`TicketNumber`) and the scheduled end (`ExpirationTime`, `EndTime`)
//!   from `additionalDetails`;
//! - GCP IAM bindings with a condition that expires (`request.time < timestamp("...")` in
//!   `condition.expression`, in `serviceData.policyDelta.bindingDeltas[]` or
//!   `request.policy.bindings[]`): the binding's scheduled end; it ends then without an event;
//! - AWS role sessions (`AssumeRole*`): the session's end, from `durationSeconds` or the
//!   credentials' `expiration`.
//!
//! IAM Identity Center assignments are named in [`super::identity_center`]. The caller reads
//! the bytes (it holds the store).

use serde_json::Value;

use super::pairing::Paired;
use super::{Lifetime, Status};
use crate::providers::time::{parse_time_text, parse_us_datetime};

/// Records larger than this are not parsed (a grant's record is a few kilobytes).
const MAX_RECORD: usize = 1 << 20;

/// Reads the original record of a row of the frame audited.
pub type ReadRecord<'a> = &'a dyn Fn(u32) -> Option<Vec<u8>>;

/// What an original record says about its grant.
#[derive(Debug, Default, PartialEq, Eq)]
struct Said {
    justification: Option<String>,
    ticket: Option<String>,
    end: Option<i64>,
}

/// The original record of a row, parsed (None when unreadable or larger than [`MAX_RECORD`]).
pub(super) fn record(read: ReadRecord<'_>, row: u32) -> Option<Value> {
    let bytes = read(row).filter(|b| b.len() <= MAX_RECORD)?;
    serde_json::from_slice(&bytes).ok()
}

/// Fills in, from the grants' original records, what the columns do not carry (see the
/// module), and judges end, status and overdue again. `last` is the end of the logs, `grace`
/// the overdue grace (µs).
pub(crate) fn read_paired(paired: &mut [Paired], last: i64, grace: i64, read: ReadRecord<'_>) {
    for p in paired.iter_mut() {
        let g = &mut p.grant;
        match (g.provider.as_str(), g.action.as_str()) {
            ("entra", _) => {
                let mut said = Said::default();
                for &row in &g.record_rows {
                    let Some(value) = record(read, row) else {
                        continue;
                    };
                    let this = said_by(&value);
                    said.justification = said.justification.or(this.justification);
                    said.ticket = said.ticket.or(this.ticket);
                    said.end = said.end.or(this.end);
                }
                if g.justification.is_none() {
                    g.justification = said.justification;
                }
                if g.ticket.is_none() {
                    g.ticket = said.ticket;
                }
                if let Some(end) = said.end.filter(|e| *e >= g.granted_at) {
                    g.scheduled_end = Some(end);
                    p.length = Some(end - g.granted_at);
                }
            }
            ("gcp", _) => {
                let member = g.grantee_as_written.clone();
                let end = g
                    .record_rows
                    .first()
                    .and_then(|&row| record(read, row))
                    .and_then(|v| binding_expiry(&v, &member, &g.role))
                    .filter(|e| *e >= g.granted_at);
                if let Some(end) = end {
                    g.scheduled_end = Some(end);
                    p.length = Some(end - g.granted_at);
                    if g.lifetime == Lifetime::Standing {
                        g.lifetime = Lifetime::Expiring;
                    }
                    if g.status == Status::Held && end <= last {
                        g.status = Status::Expired;
                        g.ended_at = Some(end);
                    }
                }
            }
            ("aws", action) if action.starts_with("AssumeRole") => {
                let Some(value) = g.record_rows.first().and_then(|&row| record(read, row)) else {
                    continue;
                };
                let Some(end) = session_end(cloudtrail_body(&value), g.granted_at) else {
                    continue;
                };
                g.scheduled_end = Some(end);
                p.length = Some(end - g.granted_at);
                (g.status, g.ended_at) = if end <= last {
                    (Status::Expired, Some(end))
                } else {
                    (Status::Held, None)
                };
            }
            _ => continue,
        }
        if let (Lifetime::Temporary, Some(end)) = (g.lifetime, g.scheduled_end) {
            g.overdue = g.ended_at.unwrap_or(last) > end + grace;
        }
        g.duration_seconds = (g.ended_at.unwrap_or(last) - g.granted_at).max(0) / 1_000_000;
    }
}

/// A CloudTrail record itself, inside the wrappers the loader reads through (`detail` of
/// EventBridge, `eventJson` text of CloudTrail Lake results).
pub(super) fn cloudtrail_body(value: &Value) -> &Value {
    if value.get("eventName").is_some() {
        return value;
    }
    value
        .get("detail")
        .filter(|d| d.get("eventName").is_some())
        .unwrap_or(value)
}

/// The end of a role session: `requestParameters.durationSeconds` after the grant, else
/// `responseElements.credentials.expiration` (CloudTrail writes `Mar 26, 2024, 6:33:15 AM`
/// or RFC 3339).
fn session_end(body: &Value, granted_at: i64) -> Option<i64> {
    let duration = body
        .get("requestParameters")
        .and_then(|p| p.get("durationSeconds"))
        .and_then(|d| match d {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .filter(|d| (1..=7 * 24 * 3600).contains(d));
    if let Some(seconds) = duration {
        return Some(granted_at + seconds * 1_000_000);
    }
    let expiration = body
        .get("responseElements")
        .and_then(|r| r.get("credentials"))
        .and_then(|c| c.get("expiration"))
        .and_then(Value::as_str)?;
    parse_time_text(expiration)
        .or_else(|| parse_month_name_time(expiration))
        .filter(|e| *e > granted_at)
}

/// `Mar 26, 2024, 6:33:15 AM` (UTC), as CloudTrail writes credential expirations.
fn parse_month_name_time(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let mut parts = text.trim().splitn(3, ',');
    let (month_day, year, clock) = (parts.next()?, parts.next()?, parts.next()?);
    let (month, day) = month_day.trim().split_once(' ')?;
    let lower = month.get(..3)?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| *m == lower)? + 1;
    parse_us_datetime(&format!(
        "{month}/{}/{}, {}",
        day.trim(),
        year.trim(),
        clock.trim()
    ))
}

/// The expiry of the condition on `member`'s binding to `role` in a `SetIamPolicy` record:
/// the earliest `request.time < timestamp("...")` of the binding's condition.
fn binding_expiry(value: &Value, member: &str, role: &str) -> Option<i64> {
    let proto = value.get("protoPayload").unwrap_or(value);
    let deltas = proto
        .get("serviceData")
        .and_then(|s| s.get("policyDelta"))
        .and_then(|p| p.get("bindingDeltas"))
        .and_then(Value::as_array);
    let from_deltas = deltas.into_iter().flatten().find_map(|d| {
        let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("");
        (text("action").eq_ignore_ascii_case("ADD")
            && text("member") == member
            && text("role") == role)
            .then(|| condition_expiry(d.get("condition")?))
            .flatten()
    });
    from_deltas.or_else(|| {
        let bindings = proto
            .get("request")
            .and_then(|r| r.get("policy"))
            .and_then(|p| p.get("bindings"))
            .and_then(Value::as_array)?;
        bindings.iter().find_map(|b| {
            let holds = b.get("role").and_then(Value::as_str) == Some(role)
                && b.get("members")
                    .and_then(Value::as_array)
                    .is_some_and(|m| m.iter().any(|v| v.as_str() == Some(member)));
            holds
                .then(|| condition_expiry(b.get("condition")?))
                .flatten()
        })
    })
}

/// The earliest time a condition's expression allows `request.time` to be below.
fn condition_expiry(condition: &Value) -> Option<i64> {
    let expression = condition.get("expression")?.as_str()?;
    let mut earliest: Option<i64> = None;
    let mut rest = expression;
    while let Some(at) = rest.find("request.time") {
        rest = &rest[at + "request.time".len()..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix("<=").or_else(|| after.strip_prefix('<')) else {
            continue;
        };
        let Some(quoted) = after
            .trim_start()
            .strip_prefix("timestamp(")
            .map(str::trim_start)
            .and_then(|a| a.strip_prefix(['"', '\'']))
        else {
            continue;
        };
        let Some(end) = quoted.find(['"', '\'']) else {
            continue;
        };
        if let Some(t) = parse_time_text(&quoted[..end]) {
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        }
    }
    earliest
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

    #[test]
    fn binding_conditions_give_their_earliest_expiry() {
        let delta: Value = serde_json::from_str(
            r#"{"protoPayload":{"serviceData":{"policyDelta":{"bindingDeltas":[
                {"action":"ADD","role":"roles/owner","member":"user:kim@example.com",
                 "condition":{"title":"expires","expression":"request.time < timestamp(\"2025-06-01T00:00:00Z\")"}},
                {"action":"ADD","role":"roles/viewer","member":"user:kim@example.com"}]}}}}"#,
        )
        .unwrap();
        assert_eq!(
            binding_expiry(&delta, "user:kim@example.com", "roles/owner"),
            parse_time_text("2025-06-01T00:00:00Z")
        );
        assert_eq!(
            binding_expiry(&delta, "user:kim@example.com", "roles/viewer"),
            None,
            "an unconditional binding does not expire"
        );
        assert_eq!(
            binding_expiry(&delta, "user:lee@example.com", "roles/owner"),
            None
        );
        let policy: Value = serde_json::from_str(
            r#"{"protoPayload":{"request":{"policy":{"bindings":[
                {"role":"roles/editor","members":["group:ops@example.com"],
                 "condition":{"expression":"resource.name.startsWith('x') && request.time <= timestamp('2025-03-01T12:00:00Z') || request.time < timestamp(\"2025-02-01T00:00:00Z\")"}}]}}}}"#,
        )
        .unwrap();
        assert_eq!(
            binding_expiry(&policy, "group:ops@example.com", "roles/editor"),
            parse_time_text("2025-02-01T00:00:00Z"),
            "the earliest bound"
        );
        for bad in [
            r#"{"expression":"request.time < timestamp("#,
            r#"{"expression":"request.time > timestamp(\"2025-01-01T00:00:00Z\")"}"#,
            r#"{"expression":"request.time < timestamp(\"soon\")"}"#,
            r#"{"expression":7}"#,
        ] {
            let condition: Value = serde_json::from_str(bad).unwrap_or(Value::Null);
            assert_eq!(condition_expiry(&condition), None, "{bad}");
        }
    }

    #[test]
    fn role_sessions_end_after_their_duration_or_at_their_expiration() {
        let t0 = parse_time_text("2024-03-26T05:33:15Z").unwrap();
        let with_duration: Value = serde_json::from_str(
            r#"{"requestParameters":{"durationSeconds":900},"responseElements":{"credentials":{"expiration":"Mar 26, 2024, 7:33:15 AM"}}}"#,
        )
        .unwrap();
        assert_eq!(session_end(&with_duration, t0), Some(t0 + 900 * 1_000_000));
        let with_expiration: Value = serde_json::from_str(
            r#"{"requestParameters":{},"responseElements":{"credentials":{"expiration":"Mar 26, 2024, 7:33:15 AM"}}}"#,
        )
        .unwrap();
        assert_eq!(
            session_end(&with_expiration, t0),
            parse_time_text("2024-03-26T07:33:15Z")
        );
        assert_eq!(
            parse_month_name_time("Dec 1, 2024, 12:05:00 PM"),
            parse_time_text("2024-12-01T12:05:00Z")
        );
        assert_eq!(parse_month_name_time("Foo 1, 2024, 1:00:00 PM"), None);
        let none: Value =
            serde_json::from_str(r#"{"requestParameters":{"durationSeconds":-5}}"#).unwrap();
        assert_eq!(session_end(&none, t0), None);
    }
}
