//! Azure Activity log (provider `azure`), in the four shapes it is exported in:
//! diagnostic-settings records (Event Hub / storage: `time`, `operationName` string,
//! `identity.claims`), Activity Log REST API / `az monitor activity-log list` objects
//! (`eventTimestamp`, `operationName.value`, `status.value`), Log Analytics `AzureActivity`
//! rows as JSON (`Type`, `TimeGenerated`, `OperationNameValue`, `Properties_d`), and Sentinel
//! portal CSV exports of that table (legacy 20-column and `$table` 47-column layouts).
//!
//! All shapes fill one lenient [`Record`] whose fields are named after the JSON keys; CSV rows
//! are mapped onto it cell by cell, so the normalization in [`Record::into_event`] is shared.
#![allow(non_snake_case)] // record fields carry the exact (camel/Pascal case) JSON key names

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{
    Flag, Probe, Provider, RecordError, Text, cell, details_from, from_json, from_json_str,
    header_has, parse_time_text, probe_has, probe_str,
};
use crate::schema::{ActorType, Event, Outcome};

/// The Azure Activity log parser.
pub struct AzureActivity;

/// Activity log categories (current names plus the legacy Write/Delete/Action ones).
const CATEGORIES: [&str; 11] = [
    "administrative",
    "servicehealth",
    "resourcehealth",
    "alert",
    "autoscale",
    "security",
    "policy",
    "recommendation",
    "action",
    "write",
    "delete",
];

fn known_category(cat: &str) -> Option<&'static str> {
    CATEGORIES
        .iter()
        .copied()
        .find(|c| c.eq_ignore_ascii_case(cat.trim()))
}

/// Categories of other Azure diagnostic logs (Entra `AuditLogs`/`SignInLogs`, AKS `kube-audit`).
fn foreign_category(cat: &str) -> bool {
    let lower = cat.trim().to_ascii_lowercase();
    lower.ends_with("logs") || lower.starts_with("kube-") || lower.contains("riskevents")
}

// ---------------------------------------------------------------------------------------
// Lenient wrappers for nested values
// ---------------------------------------------------------------------------------------

/// Visitor methods turning scalars and null into the visitor's empty value.
macro_rules! empty_for_scalars {
    ($de:lifetime, $empty:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_some<D: Deserializer<$de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    };
}

fn drain<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A nested object that may also arrive as a JSON document inside a string (Log Analytics
/// `Properties`, `Claims`, `HTTPRequest`). Any other type gives `None`.
struct Nested<T>(Option<T>);

impl<T> Default for Nested<T> {
    fn default() -> Self {
        Self(None)
    }
}

/// Parses a JSON document held in a transient (unescaped) string. serde_json's reader never
/// lends strings out, so every `Text` inside comes back owned and `T` may carry any lifetime.
fn parse_owned<'de, T: Deserialize<'de>>(text: &str) -> Option<T> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    T::deserialize(&mut serde_json::Deserializer::from_reader(text.as_bytes())).ok()
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nested<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Nested<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or a JSON string")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Nested(Some(t)))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                let doc = v.trim_start().starts_with('{');
                Ok(Nested(if doc { from_json_str(v) } else { None }))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Nested(parse_owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain(seq).map(|()| Nested(None))
            }
            empty_for_scalars!('de, Nested(None));
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// A request/response body or status message: kept as text when it is a (JSON) string and
/// parsed only for the few operations that need it; parsed at once when it is an object.
#[derive(Default)]
enum Doc<'a, T> {
    #[default]
    Missing,
    Text(Cow<'a, str>),
    Parsed(T),
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for Doc<'a, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for V<'a, T> {
            type Value = Doc<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or a string")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Doc::Parsed)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(if v.trim().is_empty() {
                    Doc::Missing
                } else {
                    Doc::Text(Cow::Borrowed(v))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let text = Cow::Owned(v.to_owned());
                Ok(if v.trim().is_empty() {
                    Doc::Missing
                } else {
                    Doc::Text(text)
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain(seq).map(|()| Doc::Missing)
            }
            empty_for_scalars!('de, Doc::Missing);
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// A value written either as a plain string or as `{"value": .., "localizedValue": ..}`.
#[derive(Default)]
struct Localized<'a> {
    value: Option<Cow<'a, str>>,
    localized: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct LocalizedObj<'a> {
    value: Text<'a>,
    localizedValue: Text<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Localized<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Localized<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a {value, localizedValue} object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let o = LocalizedObj::deserialize(MapAccessDeserializer::new(map))?;
                let localized = o.localizedValue.into_inner();
                Ok(Localized {
                    value: o.value.into_inner(),
                    localized,
                })
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                let value = (!v.is_empty()).then_some(Cow::Borrowed(v));
                Ok(Localized {
                    value,
                    localized: None,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let value = (!v.is_empty()).then(|| Cow::Owned(v.to_owned()));
                Ok(Localized {
                    value,
                    localized: None,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain(seq).map(|()| Localized::default())
            }
            empty_for_scalars!('de, Localized::default());
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// Record shapes (field names are the JSON keys)
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Claims<'a> {
    #[serde(rename = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")]
    upn_uri: Text<'a>,
    upn: Text<'a>,
    #[serde(rename = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")]
    name_uri: Text<'a>,
    unique_name: Text<'a>,
    name: Text<'a>,
    appid: Text<'a>,
    azp: Text<'a>,
    ipaddr: Text<'a>,
    #[serde(rename = "http://schemas.microsoft.com/claims/authnmethodsreferences")]
    amr: Text<'a>,
    #[serde(rename = "http://schemas.microsoft.com/identity/claims/objectidentifier")]
    oid: Text<'a>,
    idtyp: Text<'a>,
    puid: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Evidence<'a> {
    principalId: Text<'a>,
    principalType: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Authz<'a> {
    action: Text<'a>,
    scope: Text<'a>,
    evidence: Nested<Evidence<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Identity<'a> {
    authorization: Nested<Authz<'a>>,
    claims: Nested<Claims<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct HttpRequest<'a> {
    clientIpAddress: Text<'a>,
}

/// Diagnostic settings `logs[]`: the categories whose `enabled` is false.
#[derive(Default)]
struct DisabledLogs(Vec<String>);

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct LogSetting<'a> {
    category: Text<'a>,
    categoryGroup: Text<'a>,
    enabled: Flag,
}

impl<'de> Deserialize<'de> for DisabledLogs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DisabledLogs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of log settings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Nested<LogSetting>>()? {
                    let Some(s) = item.0.filter(|s| s.enabled.0 == Some(false)) else {
                        continue;
                    };
                    out.extend(
                        s.category
                            .get()
                            .or(s.categoryGroup.get())
                            .map(str::to_owned),
                    );
                }
                Ok(DisabledLogs(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(DisabledLogs::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(DisabledLogs::default())
            }
            empty_for_scalars!('de, DisabledLogs::default());
        }
        deserializer.deserialize_any(V)
    }
}

/// `properties` of a request/response body: role assignments (PascalCase in requests,
/// camelCase in responses), diagnostic settings and storage account settings.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct BodyProps<'a> {
    PrincipalId: Text<'a>,
    principalId: Text<'a>,
    PrincipalType: Text<'a>,
    principalType: Text<'a>,
    RoleDefinitionId: Text<'a>,
    roleDefinitionId: Text<'a>,
    Scope: Text<'a>,
    scope: Text<'a>,
    logs: DisabledLogs,
    allowBlobPublicAccess: Flag,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Body<'a> {
    Properties: Nested<BodyProps<'a>>,
    properties: Nested<BodyProps<'a>>,
}

/// What the bodies say, owned (string bodies are parsed from local text on demand).
#[derive(Default)]
struct BodyInfo {
    principal: Option<String>,
    principal_type: Option<String>,
    role: Option<String>,
    scope: Option<String>,
    disabled_logs: Vec<String>,
    blob_public: Option<bool>,
}

impl BodyInfo {
    fn read(&mut self, doc: Doc<'_, Body<'_>>) {
        let text;
        let body = match doc {
            Doc::Text(t) => {
                text = t;
                from_json_str::<Body>(&text)
            }
            Doc::Parsed(body) => Some(body),
            Doc::Missing => None,
        };
        let Some(body) = body else { return };
        for p in [body.Properties.0, body.properties.0].into_iter().flatten() {
            let own = |a: Text, b: Text| a.into_inner().or(b.into_inner()).map(Cow::into_owned);
            let slot = |s: &mut Option<String>, v: Option<String>| *s = s.take().or(v);
            slot(&mut self.principal, own(p.PrincipalId, p.principalId));
            slot(
                &mut self.principal_type,
                own(p.PrincipalType, p.principalType),
            );
            slot(&mut self.role, own(p.RoleDefinitionId, p.roleDefinitionId));
            slot(&mut self.scope, own(p.Scope, p.scope));
            self.disabled_logs.extend(p.logs.0);
            self.blob_public = self.blob_public.or(p.allowBlobPublicAccess.0);
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct StatusMessage<'a> {
    error: Nested<ErrorCode<'a>>,
    code: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct ErrorCode<'a> {
    code: Text<'a>,
}

/// The error code of a `statusMessage` (`{"error":{"code":"AuthorizationFailed",..}}`), or
/// the message itself when it is short plain text.
fn status_code_of(doc: Doc<'_, StatusMessage<'_>>) -> Option<String> {
    let text;
    let msg = match doc {
        Doc::Text(t) if !t.trim_start().starts_with('{') => {
            return (t.len() <= 120).then(|| t.into_owned());
        }
        Doc::Text(t) => {
            text = t;
            from_json_str::<StatusMessage>(&text)?
        }
        Doc::Parsed(msg) => msg,
        Doc::Missing => return None,
    };
    let nested = msg.error.0.and_then(|e| e.code.into_inner());
    nested.or(msg.code.into_inner()).map(Cow::into_owned)
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Props<'a> {
    statusCode: Text<'a>,
    statusMessage: Doc<'a, StatusMessage<'a>>,
    requestbody: Doc<'a, Body<'a>>,
    requestBody: Doc<'a, Body<'a>>,
    responseBody: Doc<'a, Body<'a>>,
    eventDataId: Text<'a>,
    caller: Text<'a>,
    subscriptionId: Text<'a>,
    resourceLocation: Text<'a>,
    message: Text<'a>,
    entity: Text<'a>,
    eventCategory: Text<'a>,
    resourceProviderValue: Text<'a>,
    activityStatusValue: Text<'a>,
    activitySubstatusValue: Text<'a>,
    eventSubmissionTimestamp: Text<'a>,
    httpRequest: Nested<HttpRequest<'a>>,
}

/// One Activity record in any JSON shape (the keys of the three shapes side by side; unknown
/// keys are skipped), or a CSV row mapped onto it.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Record<'a> {
    // Diagnostic-settings records.
    time: Text<'a>,
    resourceId: Text<'a>,
    operationName: Localized<'a>,
    category: Localized<'a>,
    resultType: Text<'a>,
    resultSignature: Text<'a>,
    callerIpAddress: Text<'a>,
    correlationId: Text<'a>,
    identity: Nested<Identity<'a>>,
    properties: Nested<Props<'a>>,
    level: Text<'a>,
    location: Text<'a>,
    tenantId: Text<'a>,
    // Activity Log REST API objects.
    eventTimestamp: Text<'a>,
    submissionTimestamp: Text<'a>,
    caller: Text<'a>,
    status: Localized<'a>,
    subStatus: Localized<'a>,
    claims: Nested<Claims<'a>>,
    authorization: Nested<Authz<'a>>,
    httpRequest: Nested<HttpRequest<'a>>,
    eventDataId: Text<'a>,
    resourceProviderName: Localized<'a>,
    subscriptionId: Text<'a>,
    // Log Analytics `AzureActivity` rows (JSON, or CSV cells).
    Type: Text<'a>,
    TimeGenerated: Text<'a>,
    EventSubmissionTimestamp: Text<'a>,
    OperationNameValue: Text<'a>,
    OperationName: Localized<'a>,
    Caller: Text<'a>,
    CallerIpAddress: Text<'a>,
    ActivityStatusValue: Text<'a>,
    ActivityStatus: Localized<'a>,
    ActivitySubstatusValue: Text<'a>,
    ActivitySubstatus: Localized<'a>,
    ResultType: Text<'a>,
    ResultSignature: Text<'a>,
    CategoryValue: Text<'a>,
    Category: Localized<'a>,
    ResourceProviderValue: Text<'a>,
    ResourceProvider: Localized<'a>,
    ResourceId: Text<'a>,
    _ResourceId: Text<'a>,
    Properties_d: Nested<Props<'a>>,
    Properties: Nested<Props<'a>>,
    Authorization_d: Nested<Authz<'a>>,
    Authorization: Nested<Authz<'a>>,
    Claims_d: Nested<Claims<'a>>,
    Claims: Nested<Claims<'a>>,
    HTTPRequest: Nested<HttpRequest<'a>>,
    EventDataId: Text<'a>,
    CorrelationId: Text<'a>,
    SubscriptionId: Text<'a>,
    TenantId: Text<'a>,
    Level: Text<'a>,
    Location: Text<'a>,
}

// ---------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------

/// The first non-empty candidate, trimmed.
fn pick<'a, const N: usize>(candidates: [Option<Cow<'a, str>>; N]) -> Option<Cow<'a, str>> {
    candidates
        .into_iter()
        .flatten()
        .map(trim_cow)
        .find(|c| !c.is_empty())
}

fn trim_cow(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    }
}

/// A sub-slice of a `Cow`, borrowed when the `Cow` is.
fn sub_cow<'a>(
    c: &Cow<'a, str>,
    f: impl for<'x> Fn(&'x str) -> Option<&'x str>,
) -> Option<Cow<'a, str>> {
    match c {
        Cow::Borrowed(s) => f(s).map(Cow::Borrowed),
        Cow::Owned(s) => f(s).map(|x| Cow::Owned(x.to_owned())),
    }
}

/// The subscription id in a resource id (`/subscriptions/<id>/...`, any case).
fn subscription_of(id: &str) -> Option<&str> {
    const KEY: &[u8] = b"/subscriptions/";
    let pos = id
        .as_bytes()
        .windows(KEY.len())
        .position(|w| w.eq_ignore_ascii_case(KEY))?;
    let sub = id.get(pos + KEY.len()..)?.split('/').next()?.trim();
    (!sub.is_empty()).then_some(sub)
}

/// Subscription GUIDs taken from upper-cased resource ids (diagnostic records) are
/// lower-cased, so one subscription gives one `account` value across shapes.
fn lower_guid(c: Cow<'_, str>) -> Cow<'_, str> {
    let upper = c.bytes().any(|b| b.is_ascii_uppercase());
    if upper && is_guid(&c) {
        Cow::Owned(c.to_ascii_lowercase())
    } else {
        c
    }
}

/// The resource provider namespace an operation belongs to (`Microsoft.Authorization`).
fn namespace_of(op: &str) -> Option<&str> {
    let ns = op.split('/').next()?.trim();
    (ns.contains('.') && !ns.contains(' ')).then_some(ns)
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    let dash = |i: usize| matches!(i, 8 | 13 | 18 | 23);
    let dashed = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if dash(i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    dashed || (b.len() == 32 && b.iter().all(u8::is_ascii_hexdigit))
}

fn classify(actor: &str, principal_type: Option<&str>, user_claims: bool) -> ActorType {
    let lower = actor.to_ascii_lowercase();
    if lower.contains('@') {
        return ActorType::Human;
    }
    if lower.starts_with("microsoft.") && lower.contains('/') {
        return ActorType::System; // the platform, e.g. "Microsoft.Insights/alertRules"
    }
    match principal_type.map(str::to_ascii_lowercase).as_deref() {
        Some("user") => ActorType::Human,
        Some("serviceprincipal" | "managedidentity" | "application" | "msi") => ActorType::Service,
        _ if user_claims => ActorType::Human,
        _ if is_guid(actor) => ActorType::Service,
        _ => ActorType::Unknown,
    }
}

/// Quotes a details value that contains spaces, so `key=value` pairs stay splittable.
fn quoted(v: &str) -> Cow<'_, str> {
    if v.contains(char::is_whitespace) {
        Cow::Owned(format!("\"{}\"", v.replace('"', "'")))
    } else {
        Cow::Borrowed(v)
    }
}

/// Names of the built-in roles detections care about, by role definition GUID.
fn builtin_role(role_definition: &str) -> Option<&'static str> {
    let id = role_definition.rsplit('/').next()?.to_ascii_lowercase();
    Some(match id.as_str() {
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635" => "Owner",
        "b24988ac-6180-42a0-ab88-20f7382dd24c" => "Contributor",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9" => "User Access Administrator",
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168" => "Role Based Access Control Administrator",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7" => "Reader",
        _ => return None,
    })
}

fn log_type(category: Option<&str>) -> Cow<'static, str> {
    match category {
        None => Cow::Borrowed("activity"),
        Some(c) => {
            known_category(c).map_or_else(|| Cow::Owned(c.to_ascii_lowercase()), Cow::Borrowed)
        }
    }
}

fn outcome_of(status: Option<&str>) -> Outcome {
    match status.map(str::to_ascii_lowercase).as_deref() {
        Some("succeeded" | "success") => Outcome::Success,
        Some("failed" | "failure") => Outcome::Failure,
        _ => Outcome::Unknown,
    }
}

fn read_only_of(action: &str) -> Option<bool> {
    let lower = action.to_ascii_lowercase();
    match lower.rsplit('/').next() {
        Some("read") => Some(true),
        Some("write" | "delete" | "action") => Some(false),
        _ => None,
    }
}

/// Who acted: the caller, then token claims (UPN, name, appid), then the evidence principal.
fn actor_of<'a>(
    caller: Option<Cow<'a, str>>,
    claims: Claims<'a>,
    evidence: Evidence<'a>,
) -> (Option<Cow<'a, str>>, ActorType) {
    let user_claims = [&claims.upn_uri, &claims.upn, &claims.amr, &claims.puid]
        .iter()
        .any(|c| c.get().is_some());
    let principal_type = evidence.principalType.get();
    if let Some(c) = caller {
        let kind = classify(&c, principal_type, user_claims);
        return (Some(c), kind);
    }
    let names = [
        claims.name_uri.into_inner(),
        claims.unique_name.into_inner(),
        claims.name.into_inner(),
    ];
    let named = pick(names).filter(|n| n.contains('@'));
    if let Some(u) = pick([claims.upn_uri.into_inner(), claims.upn.into_inner()]).or(named) {
        let kind = classify(&u, principal_type, true);
        return (Some(u), kind);
    }
    if let Some(app) = pick([claims.appid.into_inner(), claims.azp.into_inner()]) {
        let app_only = claims
            .idtyp
            .get()
            .is_none_or(|t| t.eq_ignore_ascii_case("app"));
        return (
            Some(app),
            if app_only {
                ActorType::Service
            } else {
                ActorType::Unknown
            },
        );
    }
    match pick([evidence.principalId.into_inner(), claims.oid.into_inner()]) {
        Some(p) => {
            let kind = classify(&p, principal_type, user_claims);
            (Some(p), kind)
        }
        None => (None, ActorType::Unknown),
    }
}

impl<'a> Record<'a> {
    fn into_event(self) -> Result<Event<'a>, RecordError> {
        let r = self;
        if r.Type
            .get()
            .is_some_and(|t| !t.trim().eq_ignore_ascii_case("AzureActivity"))
        {
            return Err(RecordError::NotThisFormat);
        }
        let props = r
            .properties
            .0
            .or(r.Properties_d.0)
            .or(r.Properties.0)
            .unwrap_or_default();
        let identity = r.identity.0.unwrap_or_default();
        let claims = identity
            .claims
            .0
            .or(r.claims.0)
            .or(r.Claims_d.0)
            .or(r.Claims.0);
        let authz = identity.authorization.0.or(r.authorization.0);
        let authz = authz
            .or(r.Authorization_d.0)
            .or(r.Authorization.0)
            .unwrap_or_default();

        let category = pick([
            r.category.value,
            r.CategoryValue.0,
            r.Category.value,
            props.eventCategory.0,
        ]);
        if category
            .as_deref()
            .is_some_and(|c| known_category(c).is_none() && foreign_category(c))
        {
            return Err(RecordError::NotThisFormat);
        }

        // Action: the operation value as written; display names go to details.
        let la_op = r.OperationName.value;
        let la_op_is_value = la_op
            .as_deref()
            .is_some_and(|op| op.contains('/') && !op.contains(' '));
        let (la_value, la_display) = if la_op_is_value {
            (la_op, None)
        } else {
            (None, la_op)
        };
        let ops = [
            r.operationName.value,
            r.OperationNameValue.0,
            la_value,
            props.message.0,
        ];
        let action = pick(ops).or_else(|| pick([authz.action.0]));
        let display = pick([
            r.operationName.localized,
            la_display,
            r.OperationName.localized,
        ])
        .filter(|d| !action.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(d)));

        // Time: the event time; the submission (ingestion) time only as a last resort.
        let primary_time = pick([r.time.0, r.eventTimestamp.0, r.TimeGenerated.0]);
        let submissions = [
            r.submissionTimestamp.0,
            r.EventSubmissionTimestamp.0,
            props.eventSubmissionTimestamp.0,
        ];
        let submission_time = pick(submissions);
        let time = primary_time.as_deref().and_then(parse_time_text);
        let time = time.or_else(|| submission_time.as_deref().and_then(parse_time_text));
        if action.is_none() && primary_time.is_none() && submission_time.is_none() {
            return Err(RecordError::NotThisFormat);
        }

        let caller = pick([r.caller.0, r.Caller.0, props.caller.0]);
        let src_ip = pick([
            r.callerIpAddress.0,
            r.CallerIpAddress.0,
            r.httpRequest.0.and_then(|h| h.clientIpAddress.0),
            r.HTTPRequest.0.and_then(|h| h.clientIpAddress.0),
            props.httpRequest.0.and_then(|h| h.clientIpAddress.0),
            claims.as_ref().and_then(|c| c.ipaddr.0.clone()),
        ]);
        let claims = claims.unwrap_or_default();
        let mfa = claims
            .amr
            .get()
            .is_some_and(|m| m.to_ascii_lowercase().contains("mfa"))
            .then_some(true);
        let (actor, actor_type) = actor_of(caller, claims, authz.evidence.0.unwrap_or_default());
        if time.is_none() && actor.is_none() {
            return Err(RecordError::Invalid(match primary_time.or(submission_time) {
                Some(t) => format!("Azure Activity record has an unreadable time '{t}' and no caller"),
                None => "Azure Activity record has no time (time/eventTimestamp/TimeGenerated) and no caller".into(),
            }));
        }

        let status = pick([
            r.status.value,
            r.resultType.0,
            r.ActivityStatusValue.0,
            r.ActivityStatus.value,
            r.ResultType.0,
            props.activityStatusValue.0,
        ]);
        let outcome = outcome_of(status.as_deref());
        let mut error = None;
        if outcome == Outcome::Failure {
            let code = status_code_of(props.statusMessage);
            let reason = pick([
                r.subStatus.value,
                r.ActivitySubstatusValue.0,
                r.ActivitySubstatus.value,
                props.activitySubstatusValue.0,
                r.resultSignature.0,
                r.ResultSignature.0,
                props.statusCode.0,
            ]);
            error = match (code, reason) {
                (Some(c), Some(r)) if r.to_ascii_lowercase().contains(&c.to_ascii_lowercase()) => {
                    Some(r)
                }
                (Some(c), Some(r)) => Some(Cow::Owned(format!("{c}: {r}"))),
                (c, r) => c.map(Cow::Owned).or(r),
            };
        }

        let resource_id = pick([
            r.resourceId.0,
            r.ResourceId.0,
            r._ResourceId.0,
            props.entity.0,
        ]);
        let scope = authz.scope.0;

        // Request/response bodies, parsed only for the operations detections look into.
        let lower_action = action
            .as_deref()
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let role_op = lower_action.starts_with("microsoft.authorization/roleassignments/");
        let diag_op = lower_action.contains("/diagnosticsettings/");
        let storage_op = lower_action.starts_with("microsoft.storage/storageaccounts/write");
        let mut body = BodyInfo::default();
        if role_op || diag_op || storage_op {
            body.read(props.requestbody);
            body.read(props.requestBody);
            body.read(props.responseBody);
        }
        if !role_op {
            (body.principal, body.principal_type) = (None, None);
        }
        let resource = match &body.principal {
            Some(p) => Some(Cow::Owned(p.clone())), // role assignments: who received the role
            None => resource_id.clone().or_else(|| scope.clone()),
        };

        // A display name such as "Azure Web Sites" is no namespace: derive from the operation.
        let la_provider = r
            .ResourceProvider
            .value
            .filter(|p| namespace_of(p) == Some(p.trim()));
        let providers = [
            r.resourceProviderName.value,
            r.ResourceProviderValue.0,
            la_provider,
        ];
        let service = pick(providers).or(props.resourceProviderValue.0);
        let service = service.or_else(|| action.as_ref().and_then(|a| sub_cow(a, namespace_of)));

        let from_ids = [&resource_id, &scope].into_iter().flatten();
        let account = pick([
            r.subscriptionId.0,
            r.SubscriptionId.0,
            props.subscriptionId.0,
        ])
        .or_else(|| {
            from_ids
                .filter_map(|id| sub_cow(id, subscription_of))
                .next()
                .map(lower_guid)
        })
        .or_else(|| pick([r.tenantId.0, r.TenantId.0]));

        let correlation = pick([r.correlationId.0, r.CorrelationId.0]);
        let event_id =
            pick([r.eventDataId.0, r.EventDataId.0, props.eventDataId.0]).or_else(|| {
                // No id in the record (diagnostic-settings shape): compose a deterministic one.
                let parts = [
                    correlation.as_deref()?,
                    action.as_deref()?,
                    status.as_deref().unwrap_or("-"),
                ];
                let time = primary_time.as_deref().unwrap_or("-");
                Some(Cow::Owned(format!(
                    "{}|{}|{}|{time}",
                    parts[0], parts[1], parts[2]
                )))
            });

        // Details.
        let level = pick([r.level.0, r.Level.0]);
        let same = |a: &str, b: &str| {
            a.trim_end_matches('/')
                .eq_ignore_ascii_case(b.trim_end_matches('/'))
        };
        let scope_detail = body.scope.as_deref().or(scope.as_deref());
        let scope_detail =
            scope_detail.filter(|s| !resource.as_deref().is_some_and(|res| same(res, s)));
        let setting = resource_id
            .as_deref()
            .and_then(|id| id.rsplit('/').next())
            .filter(|_| diag_op);
        let disabled = (!body.disabled_logs.is_empty()).then(|| body.disabled_logs.join(","));
        let role_name = body.role.as_deref().and_then(builtin_role).map(quoted);
        let details = details_from(&[
            ("status", status.as_deref().map(quoted).as_deref()),
            ("level", level.as_deref()),
            ("op_name", display.as_deref().map(quoted).as_deref()),
            ("principal", body.principal.as_deref()),
            ("principal_type", body.principal_type.as_deref()),
            (
                "role",
                body.role.as_deref().and_then(|r| r.rsplit('/').next()),
            ),
            ("role_name", role_name.as_deref()),
            ("scope", scope_detail),
            ("setting", setting),
            ("logs_disabled", disabled.as_deref()),
            (
                "allow_blob_public_access",
                body.blob_public.map(|b| if b { "true" } else { "false" }),
            ),
        ]);

        Ok(Event {
            time,
            provider: "azure",
            log_type: log_type(category.as_deref()),
            event_id,
            actor,
            actor_type,
            read_only: action.as_deref().and_then(read_only_of),
            action,
            service,
            resource,
            src_ip,
            user_agent: None,
            location: pick([props.resourceLocation.0, r.location.0, r.Location.0]),
            outcome,
            error,
            mfa,
            session: correlation,
            account,
            details,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------

impl Provider for AzureActivity {
    fn format(&self) -> &'static str {
        "azure-activity"
    }

    fn sniff_json(&self, probe: &Probe) -> bool {
        if let Some(t) = probe_str(probe, &["Type"]).or_else(|| probe_str(probe, &["$table"])) {
            return t.trim().eq_ignore_ascii_case("AzureActivity");
        }
        let has = |path: &[&str]| probe_has(probe, path);
        // Log Analytics row without its Type column.
        if has(&["OperationNameValue"])
            && (has(&["ActivityStatusValue"]) || has(&["CategoryValue"]))
        {
            return true;
        }
        // Activity Log REST API object.
        let rest_extra =
            has(&["eventDataId"]) || has(&["submissionTimestamp"]) || has(&["status", "value"]);
        if has(&["eventTimestamp"]) && has(&["operationName", "value"]) && rest_extra {
            return true;
        }
        // Diagnostic-settings record with an Activity category (not AuditLogs, kube-audit...).
        let text =
            |key: &str| probe_str(probe, &[key]).or_else(|| probe_str(probe, &[key, "value"]));
        has(&["time"])
            && text("operationName").is_some()
            && text("category").is_some_and(|c| known_category(c).is_some())
            && (has(&["resourceId"]) || has(&["correlationId"]))
    }

    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError> {
        from_json::<Record>(record)?.into_event()
    }

    fn sniff_table(&self, headers: &csv::StringRecord) -> bool {
        (header_has(headers, "ActivityStatusValue") || header_has(headers, "ActivityStatus"))
            && (header_has(headers, "OperationNameValue") || header_has(headers, "OperationName"))
    }

    fn parse_table<'a>(
        &self,
        headers: &'a csv::StringRecord,
        row: &'a csv::StringRecord,
    ) -> Result<Event<'a>, RecordError> {
        let c = |name: &str| cell(headers, row, name);
        let t = |name: &str| Text(c(name).map(Cow::Borrowed));
        let l = |name: &str| Localized {
            value: c(name).map(Cow::Borrowed),
            localized: None,
        };
        fn json<'a, T: Deserialize<'a>>(v: Option<&'a str>) -> Nested<T> {
            Nested(v.filter(|s| s.starts_with('{')).and_then(from_json_str))
        }
        if c("$table")
            .or_else(|| c("Type"))
            .is_some_and(|t| !t.eq_ignore_ascii_case("AzureActivity"))
        {
            return Err(RecordError::NotThisFormat);
        }
        let record = Record {
            TimeGenerated: t("TimeGenerated"),
            EventSubmissionTimestamp: t("EventSubmissionTimestamp"),
            OperationNameValue: t("OperationNameValue"),
            OperationName: l("OperationName"),
            Caller: t("Caller"),
            CallerIpAddress: t("CallerIpAddress"),
            ActivityStatusValue: t("ActivityStatusValue"),
            ActivityStatus: l("ActivityStatus"),
            ActivitySubstatusValue: t("ActivitySubstatusValue"),
            ActivitySubstatus: l("ActivitySubstatus"),
            ResultType: t("ResultType"),
            ResultSignature: t("ResultSignature"),
            CategoryValue: t("CategoryValue"),
            Category: l("Category"),
            ResourceProviderValue: t("ResourceProviderValue"),
            ResourceProvider: l("ResourceProvider"),
            ResourceId: t("ResourceId"),
            _ResourceId: t("_ResourceId"),
            Properties_d: json(c("Properties_d")),
            Properties: json(c("Properties")),
            Authorization_d: json(c("Authorization_d")),
            Authorization: json(c("Authorization")),
            Claims_d: json(c("Claims_d")),
            Claims: json(c("Claims")),
            HTTPRequest: json(c("HTTPRequest")),
            EventDataId: t("EventDataId"),
            CorrelationId: t("CorrelationId"),
            SubscriptionId: t("SubscriptionId"),
            TenantId: t("TenantId"),
            Level: t("Level"),
            Location: t("Location"),
            ..Record::default()
        };
        record.into_event()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::providers::parse_rfc3339;

    /// Every normalized column but time, in one line, for compact field-by-field checks.
    fn summary(e: &Event<'_>) -> String {
        let o = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or("-").to_owned();
        let b = |v: Option<bool>| v.map_or("-".to_owned(), |b| b.to_string());
        let (t, oc) = (e.actor_type.as_str(), e.outcome.as_str());
        format!(
            "{} {} id={} actor={} {t} action={} svc={} res={} ip={} ua={} loc={} {oc} err={} mfa={} session={} ro={} acct={} | {}",
            e.provider,
            e.log_type,
            o(&e.event_id),
            o(&e.actor),
            o(&e.action),
            o(&e.service),
            o(&e.resource),
            o(&e.src_ip),
            o(&e.user_agent),
            o(&e.location),
            o(&e.error),
            b(e.mfa),
            o(&e.session),
            b(e.read_only),
            o(&e.account),
            o(&e.details)
        )
    }
    fn parse(json: &str) -> (Option<i64>, String) {
        let e = AzureActivity.parse_json(json.as_bytes()).unwrap();
        (e.time, summary(&e))
    }
    fn row(headers: &[&str], cells: &[&str]) -> Result<(Option<i64>, String), RecordError> {
        let h = csv::StringRecord::from(headers.to_vec());
        let r = csv::StringRecord::from(cells.to_vec());
        assert!(AzureActivity.sniff_table(&h));
        AzureActivity
            .parse_table(&h, &r)
            .map(|e| (e.time, summary(&e)))
    }
    fn sniff(json: &str) -> bool {
        AzureActivity.sniff_json(&sonic_rs::from_str(json).unwrap())
    }
    fn t(s: &str) -> Option<i64> {
        parse_rfc3339(s)
    }

    #[test]
    fn diagnostic_role_assignment_by_service_principal() {
        let rec = r#"{"time":"2024-05-14T09:12:03.1234567Z","resourceId":"/SUBSCRIPTIONS/4F1C2A9E-7D3B-4C8A-9E61-2B5D8F0A1C37/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/6A1E","operationName":"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE","category":"Administrative","resultType":"Success","callerIpAddress":"203.0.113.10","correlationId":"0b7e","level":"Information","location":"global",
            "identity":{"authorization":{"scope":"/subscriptions/4f1c2a9e-7d3b-4c8a-9e61-2b5d8f0a1c37","action":"Microsoft.Authorization/roleAssignments/write","evidence":{"principalId":"c0ffee00-1111-4222-8333-444455556666","principalType":"ServicePrincipal"}},"claims":{"appid":"a1b2c3d4-0000-4000-8000-00000000a001","idtyp":"app"}},
            "properties":{"statusCode":"Created","requestbody":"{\"Id\":\"6a1e\",\"Properties\":{\"PrincipalId\":\"9e8d\",\"PrincipalType\":\"User\",\"RoleDefinitionId\":\"/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635\",\"Scope\":\"/subscriptions/4f1c2a9e-7d3b-4c8a-9e61-2b5d8f0a1c37\"}}"}}"#;
        assert!(sniff(rec));
        assert_eq!(parse(rec), (t("2024-05-14T09:12:03.1234567Z"), "azure administrative id=0b7e|MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE|Success|2024-05-14T09:12:03.1234567Z actor=a1b2c3d4-0000-4000-8000-00000000a001 service action=MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE svc=MICROSOFT.AUTHORIZATION res=9e8d ip=203.0.113.10 ua=- loc=global success err=- mfa=- session=0b7e ro=false acct=4f1c2a9e-7d3b-4c8a-9e61-2b5d8f0a1c37 | status=Success level=Information principal=9e8d principal_type=User role=8e3af657-a8ff-443c-a75c-2fe8c4bcb635 role_name=Owner scope=/subscriptions/4f1c2a9e-7d3b-4c8a-9e61-2b5d8f0a1c37".to_owned()));
    }

    #[test]
    fn diagnostic_settings_delete_by_human_with_mfa() {
        let rec = r#"{"time":"2024-05-14T09:20:41Z","resourceId":"/subscriptions/s1/providers/microsoft.insights/diagnosticSettings/send-to-siem","operationName":"MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE","category":"Administrative","resultType":"Success","correlationId":"5c4b",
            "identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"alice@example.com","http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd,mfa","ipaddr":"198.51.100.23","appid":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}}}"#;
        assert_eq!(
            parse(rec).1,
            "azure administrative id=5c4b|MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE|Success|2024-05-14T09:20:41Z actor=alice@example.com human action=MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE svc=MICROSOFT.INSIGHTS res=/subscriptions/s1/providers/microsoft.insights/diagnosticSettings/send-to-siem ip=198.51.100.23 ua=- loc=- success err=- mfa=true session=5c4b ro=false acct=s1 | status=Success setting=send-to-siem"
        );
    }

    #[test]
    fn failure_takes_the_error_code_from_the_status_message() {
        let rec = r#"{"time":"2024-05-14T09:25:00.5Z","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION","category":"Administrative","resultType":"Failure","resultSignature":"Failed.Forbidden","resourceId":"/x","identity":{"claims":{"upn":"bob@example.com"}},
            "properties":{"statusCode":"Forbidden","statusMessage":"{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"no\"}}"}}"#;
        // No correlationId: no composed event id either.
        assert_eq!(
            parse(rec).1,
            "azure administrative id=- actor=bob@example.com human action=MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION svc=MICROSOFT.COMPUTE res=/x ip=- ua=- loc=- failure err=AuthorizationFailed: Failed.Forbidden mfa=- session=- ro=false acct=- | status=Failure"
        );
    }

    #[test]
    fn health_record_without_identity_and_object_bodies() {
        // Elastic's edited variant: bodies as objects, no caller or identity at all.
        let rec = r#"{"category":"ResourceHealth","correlationId":"1c86","level":"Information","operationName":"Microsoft.Resourcehealth/healthevent/Updated/action","properties":{"responseBody":{"skuTest":{"myName":"Standard_LRS"}},"requestBody":{"testData":{"myTest":123}}},"resourceId":"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.domainRegistration","resultType":"Updated","time":"2025-10-17T11:50:07.22Z"}"#;
        assert!(sniff(rec));
        assert_eq!(parse(rec), (t("2025-10-17T11:50:07.22Z"), "azure resourcehealth id=1c86|Microsoft.Resourcehealth/healthevent/Updated/action|Updated|2025-10-17T11:50:07.22Z actor=- unknown action=Microsoft.Resourcehealth/healthevent/Updated/action svc=Microsoft.Resourcehealth res=/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.domainRegistration ip=- ua=- loc=- unknown err=- mfa=- session=1c86 ro=false acct=00000000-0000-0000-0000-000000000000 | status=Updated level=Information".to_owned()));
    }

    #[test]
    fn rest_api_role_assignment_from_the_response_body() {
        let rec = r#"{"authorization":{"action":"Microsoft.Authorization/roleAssignments/write","scope":"/subscriptions/s1/resourceGroups/rg-prod"},"caller":"dave@example.com",
            "claims":{"http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd,mfa","ipaddr":"203.0.113.88"},"correlationId":"aa11","eventDataId":"f0e1","category":{"value":"Administrative","localizedValue":"Administrative"},
            "eventTimestamp":"2024-07-01T08:15:30.4567891Z","submissionTimestamp":"2024-07-01T08:17:02Z","httpRequest":{"clientIpAddress":"203.0.113.89"},"level":"Informational",
            "operationName":{"value":"Microsoft.Authorization/roleAssignments/write","localizedValue":"Create role assignment"},"resourceProviderName":{"value":"Microsoft.Authorization"},
            "resourceId":"/subscriptions/s1/resourceGroups/rg-prod/providers/Microsoft.Authorization/roleAssignments/0d9c","status":{"value":"Succeeded"},"subStatus":{"value":"Created"},"subscriptionId":"s1",
            "properties":{"responseBody":"{\"properties\":{\"roleDefinitionId\":\"/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c\",\"principalId\":\"5b6c\",\"principalType\":\"ServicePrincipal\",\"scope\":\"/subscriptions/s1/resourceGroups/rg-prod\"}}"}}"#;
        assert!(sniff(rec));
        assert_eq!(parse(rec), (t("2024-07-01T08:15:30.4567891Z"), "azure administrative id=f0e1 actor=dave@example.com human action=Microsoft.Authorization/roleAssignments/write svc=Microsoft.Authorization res=5b6c ip=203.0.113.89 ua=- loc=- success err=- mfa=true session=aa11 ro=false acct=s1 | status=Succeeded level=Informational op_name=\"Create role assignment\" principal=5b6c principal_type=ServicePrincipal role=b24988ac-6180-42a0-ab88-20f7382dd24c role_name=Contributor scope=/subscriptions/s1/resourceGroups/rg-prod".to_owned()));
    }

    #[test]
    fn rest_api_platform_caller_and_pending_status() {
        let rec = r#"{"caller":"Microsoft.Insights/alertRules","claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/spn":"Microsoft.Insights/alertRules"},"correlationId":"/subscriptions/s2/x","eventDataId":"dddd","category":{"value":"Alert"},"level":"Informational","operationName":{"value":"Microsoft.Insights/AlertRules/Resolved/Action"},"status":{"value":"Resolved"},"subStatus":{"value":null},"eventTimestamp":"2017-07-21T09:24:13.522192Z","resourceId":"/subscriptions/s2/resourceGroups/rg/providers/Microsoft.ClassicCompute/domainNames/d","subscriptionId":"s2"}"#;
        assert_eq!(
            parse(rec).1,
            "azure alert id=dddd actor=Microsoft.Insights/alertRules system action=Microsoft.Insights/AlertRules/Resolved/Action svc=Microsoft.Insights res=/subscriptions/s2/resourceGroups/rg/providers/Microsoft.ClassicCompute/domainNames/d ip=- ua=- loc=- unknown err=- mfa=- session=/subscriptions/s2/x ro=false acct=s2 | status=Resolved level=Informational"
        );
    }

    #[test]
    fn diagnostic_record_with_localized_operation_object() {
        let rec = r#"{"time":"2024-12-24T15:45:00Z","resourceId":"/providers/Microsoft.Authorization","operationName":{"value":"Microsoft.Authorization/elevateAccess/action","localizedValue":"Assigns the caller to User Access Administrator role"},"category":"Administrative","resultType":"Success","status":{"value":"Succeeded"},"tenantId":"t-1","identity":{"claims":{"name":"eve@example.com"}}}"#;
        // No subscription anywhere: the tenant is the account.
        assert_eq!(
            parse(rec).1,
            "azure administrative id=- actor=eve@example.com human action=Microsoft.Authorization/elevateAccess/action svc=Microsoft.Authorization res=/providers/Microsoft.Authorization ip=- ua=- loc=- success err=- mfa=- session=- ro=false acct=t-1 | status=Succeeded op_name=\"Assigns the caller to User Access Administrator role\""
        );
    }

    #[test]
    fn log_analytics_row_with_json_string_columns() {
        let rec = r#"{"Type":"AzureActivity","TimeGenerated":"2024-08-10T03:05:00Z","OperationNameValue":"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION","OperationName":"List Storage Account Keys","Caller":"7a8b9c0d-1e2f-43a5-b6c7-d8e9f0a1b2c3","CallerIpAddress":"","CategoryValue":"Administrative","ActivityStatusValue":"Failure","ActivitySubstatusValue":"Forbidden","CorrelationId":"ee55","EventDataId":"4d5e","SubscriptionId":"s3","_ResourceId":"/subscriptions/s3/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st1","ResourceProviderValue":"MICROSOFT.STORAGE",
            "HTTPRequest":"{\"clientIpAddress\":\"192.0.2.5\"}","Claims":"{\"appid\":\"a1\",\"idtyp\":\"app\"}","Properties":"{\"statusCode\":\"Forbidden\",\"statusMessage\":\"{\\\"error\\\":{\\\"code\\\":\\\"AuthorizationFailed\\\"}}\"}","Properties_d":null}"#;
        assert!(sniff(rec));
        assert_eq!(parse(rec), (t("2024-08-10T03:05:00Z"), "azure administrative id=4d5e actor=7a8b9c0d-1e2f-43a5-b6c7-d8e9f0a1b2c3 service action=MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION svc=MICROSOFT.STORAGE res=/subscriptions/s3/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st1 ip=192.0.2.5 ua=- loc=- failure err=AuthorizationFailed: Forbidden mfa=- session=ee55 ro=false acct=s3 | status=Failure op_name=\"List Storage Account Keys\"".to_owned()));
    }

    #[test]
    fn settings_bodies_give_disabled_logs_and_public_access() {
        let diag = r#"{"time":"2024-06-02T14:00:05Z","resourceId":"/subscriptions/s/providers/microsoft.insights/diagnosticSettings/kv-audit","operationName":"MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE","category":"Administrative","resultType":"Success","caller":"carol@example.com",
            "properties":{"requestbody":{"properties":{"logs":[{"category":"AuditEvent","enabled":false},{"categoryGroup":"allLogs","enabled":"false"},{"category":"Other","enabled":true},3],"metrics":7}}}}"#;
        assert!(
            parse(diag)
                .1
                .ends_with("| status=Success setting=kv-audit logs_disabled=AuditEvent,allLogs")
        );
        let storage = r#"{"time":"2024-06-02T14:03:44Z","operationName":"MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE","category":"Administrative","resultType":"Start","resourceId":"/subscriptions/s/x","identity":{"authorization":{"evidence":{"principalId":"0f1e","principalType":"ServicePrincipal"}}},"properties":{"requestbody":"{\"properties\":{\"allowBlobPublicAccess\":true}}"}}"#;
        let got = parse(storage).1;
        assert!(
            got.contains(" actor=0f1e service ")
                && got.ends_with("| status=Start allow_blob_public_access=true"),
            "{got}"
        );
    }

    #[test]
    fn wrong_types_cost_only_the_field() {
        let rec = r#"{"time":"2024-01-01T00:00:00Z","operationName":["x"],"category":"Policy","resultType":5,"caller":"frank@example.com","claims":12,"identity":"frank","properties":[1,2],"httpRequest":"not json","status":true,"resourceId":{"a":1}}"#;
        assert_eq!(
            parse(rec).1,
            "azure policy id=- actor=frank@example.com human action=- svc=- res=- ip=- ua=- loc=- unknown err=- mfa=- session=- ro=- acct=- | status=5"
        );
    }

    #[test]
    fn submission_time_is_a_last_resort() {
        let rec = r#"{"Type":"AzureActivity","EventSubmissionTimestamp":"2024-08-09T22:41:30.5Z","OperationNameValue":"Microsoft.Web/sites/read","Caller":"x@example.com"}"#;
        let (time, got) = parse(rec);
        assert_eq!(time, t("2024-08-09T22:41:30.5Z"));
        assert!(
            got.starts_with("azure activity ") && got.contains(" ro=true "),
            "{got}"
        );
    }

    #[test]
    fn rejections() {
        let p = AzureActivity;
        assert_eq!(
            p.parse_json(br#"{"kind": 0}"#),
            Err(RecordError::NotThisFormat)
        );
        let entra =
            br#"{"time":"2024-01-01T00:00:00Z","category":"AuditLogs","operationName":"Add user"}"#;
        assert_eq!(p.parse_json(entra), Err(RecordError::NotThisFormat));
        let table = br#"{"Type":"SigninLogs","TimeGenerated":"2024-01-01T00:00:00Z","OperationName":"Sign-in activity"}"#;
        assert_eq!(p.parse_json(table), Err(RecordError::NotThisFormat));
        let no_time =
            br#"{"operationName":"MICROSOFT.COMPUTE/DISKS/DELETE","category":"Administrative"}"#;
        assert!(
            matches!(p.parse_json(no_time), Err(RecordError::Invalid(r)) if r.contains("no time"))
        );
        let bad_time = br#"{"time":"yesterday","operationName":"MICROSOFT.COMPUTE/DISKS/DELETE"}"#;
        assert!(
            matches!(p.parse_json(bad_time), Err(RecordError::Invalid(r)) if r.contains("'yesterday'"))
        );
        assert!(matches!(
            p.parse_json(br#"{"time":"2024-01-01T00:0"#),
            Err(RecordError::Invalid(_))
        ));
    }

    #[test]
    fn sniff_rejects_other_formats() {
        for other in [
            r#"{"kind": 0}"#,
            r#"{"time":"2024-01-01T00:00:00Z","resourceId":"/tenants/t/providers/Microsoft.aadiam","operationName":"Add user","category":"AuditLogs","correlationId":"c","properties":{"activityDisplayName":"Add user"}}"#,
            r#"{"time":"2024-01-01T00:00:00Z","resourceId":"/SUBSCRIPTIONS/S/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","category":"kube-audit","properties":{"log":"{}"}}"#,
            r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{"type":"Root"}}"#,
            r#"{"name":"organizations/1/sources/2/findings/3","category":"OPEN_FIREWALL","eventTime":"2024-01-01T00:00:00Z","state":"ACTIVE"}"#,
            r#"{"Type":"AuditLogs","TimeGenerated":"2024-01-01T00:00:00Z","OperationName":"Add user"}"#,
        ] {
            assert!(!sniff(other), "{other}");
        }
        let signin = csv::StringRecord::from(vec![
            "TimeGenerated [UTC]",
            "OperationName",
            "UserPrincipalName",
            "ResultType",
        ]);
        assert!(!AzureActivity.sniff_table(&signin));
    }

    #[test]
    fn legacy_csv_export_uses_the_operation_behind_the_display_name() {
        let headers = [
            "OperationName",
            "Level",
            "ActivityStatus",
            "ActivitySubstatus",
            "SubscriptionId",
            "CorrelationId",
            "Caller",
            "CallerIpAddress",
            "Category",
            "HTTPRequest",
            "Properties",
            "EventSubmissionTimestamp [UTC]",
            "Authorization",
            "ResourceId",
            "ResourceProvider",
            "EventDataId",
            "TimeGenerated [UTC]",
        ];
        let cells = [
            "Delete resource group",
            "Informational",
            "Failed",
            "Conflict (HTTP Status Code: 409)",
            "s4",
            "1b2c",
            "6d7e8f90-a1b2-4c3d-9e4f-5a6b7c8d9e0f",
            "",
            "Administrative",
            "{\r\n  \"clientIpAddress\": \"192.0.2.200\",\r\n  \"method\": \"DELETE\"\r\n}",
            "{\r\n  \"statusCode\": \"Conflict\",\r\n  \"statusMessage\": \"{\\\"error\\\":{\\\"code\\\":\\\"ScopeLocked\\\"}}\",\r\n  \"message\": \"Microsoft.Resources/subscriptions/resourceGroups/delete\"\r\n}",
            "3/14/2024, 12:02:10.000 AM",
            "{\r\n  \"action\": \"Microsoft.Resources/subscriptions/resourceGroups/delete\"\r\n}",
            "/subscriptions/s4/resourceGroups/rg-old",
            "Microsoft Resources",
            "6a7b",
            "3/14/2024, 12:01:58.250 AM",
        ];
        assert_eq!(row(&headers, &cells), Ok((t("2024-03-14T00:01:58.250Z"), "azure administrative id=6a7b actor=6d7e8f90-a1b2-4c3d-9e4f-5a6b7c8d9e0f service action=Microsoft.Resources/subscriptions/resourceGroups/delete svc=Microsoft.Resources res=/subscriptions/s4/resourceGroups/rg-old ip=192.0.2.200 ua=- loc=- failure err=ScopeLocked: Conflict (HTTP Status Code: 409) mfa=- session=1b2c ro=false acct=s4 | status=Failed level=Informational op_name=\"Delete resource group\"".to_owned())));
    }

    #[test]
    fn table_export_with_value_columns() {
        let headers = [
            "$table",
            "CallerIpAddress",
            "CategoryValue",
            "CorrelationId",
            "Claims_d",
            "Level",
            "OperationNameValue",
            "Properties_d",
            "Caller",
            "EventDataId",
            "TimeGenerated [UTC]",
            "SubscriptionId",
            "OperationName",
            "ActivityStatusValue",
            "ActivityStatus",
            "Category",
            "ResourceId",
            "ResourceProviderValue",
            "_ResourceId",
        ];
        let mut cells = [
            "AzureActivity",
            "203.0.113.150",
            "Administrative",
            "3d4e",
            r#"{"http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd,mfa"}"#,
            "",
            "MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE",
            r#"{"eventCategory":"Administrative","resourceLocation":"westeurope"}"#,
            "grace@example.com",
            "8c9d",
            "9/3/2024, 11:58:01.004 PM",
            "s5",
            "",
            "Start",
            "",
            "",
            "",
            "MICROSOFT.COMPUTE",
            "/subscriptions/s5/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1",
        ];
        assert_eq!(row(&headers, &cells), Ok((t("2024-09-03T23:58:01.004Z"), "azure administrative id=8c9d actor=grace@example.com human action=MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE svc=MICROSOFT.COMPUTE res=/subscriptions/s5/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1 ip=203.0.113.150 ua=- loc=westeurope unknown err=- mfa=true session=3d4e ro=false acct=s5 | status=Start".to_owned())));
        cells[0] = "SigninLogs";
        assert_eq!(row(&headers, &cells), Err(RecordError::NotThisFormat));
    }
}
