//! Mapping table, over 900 lines by design (a provider is one file; this one is its serde
//! record shapes and the functions mapping their fields).
//!
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

use super::fields::{
    Flag, Text, azure_region, cell, details_from, from_json, from_json_str, header_has, id_segment,
    probe_has, probe_str, sub_cow, tenant_of, trim_cow,
};
use super::time::parse_time_text;
use super::{Probe, Provider, RecordError};
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
    #[serde(alias = "localized_value")]
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
    #[serde(alias = "client_ip_address")]
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
    /// Privileged Identity Management records: who made the request, when `caller` is
    /// empty (an object, its JSON text, or the name itself).
    CallerInfo: Doc<'a, CallerInfo<'a>>,
}

/// `properties.CallerInfo` of PIM records, read leniently: the names it may carry.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct CallerInfo<'a> {
    #[serde(alias = "UserPrincipalName", alias = "upn", alias = "Upn")]
    userPrincipalName: Text<'a>,
    #[serde(alias = "PrincipalName")]
    principalName: Text<'a>,
    #[serde(alias = "Email", alias = "mail", alias = "Mail")]
    email: Text<'a>,
    #[serde(alias = "DisplayName")]
    displayName: Text<'a>,
    #[serde(alias = "ObjectId", alias = "objectID", alias = "Id", alias = "id")]
    objectId: Text<'a>,
}

/// The caller a PIM record's `CallerInfo` names: a sign-in name, else an e-mail address,
/// else the object id, else the display name.
fn caller_info_name(doc: Doc<'_, CallerInfo<'_>>) -> Option<String> {
    let text;
    let info = match doc {
        Doc::Text(t) if !t.trim_start().starts_with('{') => {
            return Some(t.trim().to_string()).filter(|t| !t.is_empty() && t.len() <= 256);
        }
        Doc::Text(t) => {
            text = t;
            from_json_str::<CallerInfo>(&text)?
        }
        Doc::Parsed(info) => info,
        Doc::Missing => return None,
    };
    pick([
        info.userPrincipalName.0,
        info.principalName.0,
        info.email.0,
        info.objectId.0,
        info.displayName.0,
    ])
    .map(Cow::into_owned)
}

/// One Activity record in any JSON shape (the keys of the three shapes side by side; unknown
/// keys are skipped), or a CSV row mapped onto it.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Record<'a> {
    // Diagnostic-settings records.
    time: Text<'a>,
    #[serde(alias = "resource_id")]
    resourceId: Text<'a>,
    #[serde(alias = "operation_name")]
    operationName: Localized<'a>,
    category: Localized<'a>,
    resultType: Text<'a>,
    resultSignature: Text<'a>,
    callerIpAddress: Text<'a>,
    #[serde(alias = "correlation_id")]
    correlationId: Text<'a>,
    identity: Nested<Identity<'a>>,
    properties: Nested<Props<'a>>,
    level: Text<'a>,
    location: Text<'a>,
    #[serde(alias = "tenant_id")]
    tenantId: Text<'a>,
    // Activity Log REST API objects (camelCase, as the Go and JS SDKs also write them), and
    // the Python SDK's `as_dict()` (snake_case: the aliases).
    #[serde(alias = "event_timestamp")]
    eventTimestamp: Text<'a>,
    #[serde(alias = "submission_timestamp")]
    submissionTimestamp: Text<'a>,
    caller: Text<'a>,
    status: Localized<'a>,
    #[serde(alias = "sub_status")]
    subStatus: Localized<'a>,
    claims: Nested<Claims<'a>>,
    authorization: Nested<Authz<'a>>,
    #[serde(alias = "http_request")]
    httpRequest: Nested<HttpRequest<'a>>,
    #[serde(alias = "event_data_id")]
    eventDataId: Text<'a>,
    #[serde(alias = "resource_provider_name")]
    resourceProviderName: Localized<'a>,
    #[serde(alias = "subscription_id")]
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

/// The subscription id in a resource id (`/subscriptions/<id>/...`, any case).
fn subscription_of(id: &str) -> Option<&str> {
    id_segment(id, "/subscriptions/")
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

/// An operation (`Namespace/type/verb`) or namespace (`Microsoft.Compute`) in one casing, the
/// upper case. Azure writes one operation as `MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE`
/// (diagnostic settings, Log Analytics `OperationNameValue`) and as
/// `Microsoft.Authorization/roleAssignments/write` (REST API, portal, `authorization.action`);
/// upper case is what most exports and the Sigma rules write, and the only casing that can
/// be computed from either. Text that is no operation (a display name) is left as written.
fn canonical_operation(op: Cow<'_, str>) -> Cow<'_, str> {
    let operation = op.contains(['/', '.']) && !op.contains(char::is_whitespace);
    if !operation || !op.bytes().any(|b| b.is_ascii_lowercase()) {
        return op;
    }
    Cow::Owned(op.to_ascii_uppercase())
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
/// The caller's object id (the token's `oid` claim) beside another name for it, as the
/// `actor_id` that links a UPN to the object id Entra's audit logs use. The authorization
/// evidence's principal is not used: it may be a group the caller is in.
fn object_id<'a>(actor: Option<&Cow<'a, str>>, oid: Option<Cow<'a, str>>) -> Option<Cow<'a, str>> {
    oid.filter(|oid| actor.is_some_and(|a| !a.eq_ignore_ascii_case(oid)))
}

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
        let action = pick(ops)
            .or_else(|| pick([authz.action.0]))
            .map(canonical_operation);
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

        let caller_info = caller_info_name(props.CallerInfo).map(Cow::Owned);
        let caller = pick([r.caller.0, r.Caller.0, props.caller.0, caller_info]);
        let src_ip = pick([
            r.callerIpAddress.0,
            r.CallerIpAddress.0,
            r.httpRequest.0.and_then(|h| h.clientIpAddress.0),
            r.HTTPRequest.0.and_then(|h| h.clientIpAddress.0),
            props.httpRequest.0.and_then(|h| h.clientIpAddress.0),
            claims.as_ref().and_then(|c| c.ipaddr.0.clone()),
        ]);
        let claims = claims.unwrap_or_default();
        // The token's authentication methods: `mfa` among them proves MFA, a list without it
        // (`pwd`) proves a single factor; tokens without the claim (services) cannot tell.
        let mfa = claims
            .amr
            .get()
            .filter(|m| !m.trim().is_empty())
            .map(|m| m.to_ascii_lowercase().contains("mfa"));
        let oid = claims.oid.0.clone();
        let (actor, actor_type) = actor_of(caller, claims, authz.evidence.0.unwrap_or_default());
        let actor_id = object_id(actor.as_ref(), oid);
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
        let service = service
            .or_else(|| action.as_ref().and_then(|a| sub_cow(a, namespace_of)))
            .map(canonical_operation);

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
        .or_else(|| pick([r.tenantId.0, r.TenantId.0]))
        .or_else(|| {
            // Tenant-level operations (`/tenants/<id>/providers/Microsoft.aadiam`).
            let ids = [&resource_id, &scope].into_iter().flatten();
            ids.filter_map(|id| sub_cow(id, tenant_of))
                .next()
                .map(lower_guid)
        });

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
            actor_id,
            read_only: action.as_deref().and_then(read_only_of),
            action,
            service,
            resource,
            src_ip,
            user_agent: None,
            region: pick([props.resourceLocation.0, r.location.0, r.Location.0]).map(azure_region),
            country: None,
            city: None,
            outcome,
            error,
            mfa,
            session: None,
            correlation_id: correlation,
            account,
            details,
            completeness: None,
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
        // The same object as the Python SDK's `as_dict()` writes it (snake_case).
        let sdk_extra =
            has(&["event_data_id"]) || has(&["submission_timestamp"]) || has(&["status", "value"]);
        if has(&["event_timestamp"]) && has(&["operation_name", "value"]) && sdk_extra {
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

    fn dialect(&self, probe: &Probe) -> Option<&'static str> {
        probe_has(probe, &["event_timestamp"]).then_some("azure-sdk")
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
mod tests;
