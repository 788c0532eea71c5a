//! Mapping table, over 900 lines by design (a provider is one file; this one is its serde
//! record shapes and the functions mapping their fields).
//!
//! Microsoft Entra ID: audit logs (directoryAudits), sign-in logs (interactive, non-interactive,
//! service principal, managed identity), Microsoft Graph activity logs and Identity Protection
//! risk events. Shapes: diagnostic-settings records (`category` + `properties`), bare Microsoft
//! Graph objects, Log Analytics / Sentinel rows as JSON (PascalCase columns, nested objects as
//! JSON strings) and Sentinel portal CSV exports of the same tables.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::mem::take;

use serde::Deserialize;
use serde::de::value::{
    BorrowedStrDeserializer, Error as ValueError, MapAccessDeserializer, MapDeserializer,
    SeqAccessDeserializer,
};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::fields::{
    Flag, Text, azure_region, cut, details_from, from_json, from_json_str, probe_has, probe_str,
    sub_cow, tenant_of, trim_cow,
};
use super::time::parse_time_text;
use super::{Probe, Provider, RecordError};
use crate::country::country_code;
use crate::schema::{ActorType, Event, Outcome};

/// Microsoft Entra ID audit, sign-in, Graph activity and risk logs.
pub struct Entra;

type S<'a> = Option<Cow<'a, str>>;

const MAX_DETAILS: usize = 300;
const MAX_VALUE: usize = 120;

// ---------------------------------------------------------------------------------------
// A nested value that may come as an object/array (typed), as a string holding JSON (Log
// Analytics rows, CSV cells) or as anything else (ignored): a surprise costs that field only.
// ---------------------------------------------------------------------------------------

#[derive(Default)]
enum Dyn<'a, T, const SEQ: bool> {
    #[default]
    Absent,
    Value(T),
    Json(Cow<'a, str>),
}

/// An object (an array in its place is skipped).
type Obj<'a, T> = Dyn<'a, T, false>;
/// An array of objects (an object in its place is skipped, so are non-object elements).
type Objs<'a, T> = Dyn<'a, Vec<Obj<'a, T>>, true>;
/// An array of scalars.
type Strs<'a> = Dyn<'a, Vec<Text<'a>>, true>;

impl<T, const SEQ: bool> Dyn<'_, T, SEQ> {
    fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    fn into_value(self) -> Option<T> {
        match self {
            Self::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Applies `direct` to a typed value, or `embedded` to JSON text.
    fn resolve<R>(
        self,
        direct: impl FnOnce(T) -> R,
        embedded: impl FnOnce(&str) -> Option<R>,
    ) -> Option<R> {
        match self {
            Self::Value(v) => Some(direct(v)),
            Self::Json(s) => embedded(&s),
            Self::Absent => None,
        }
    }
}

impl<'a, T> Objs<'a, T> {
    fn items(&self) -> impl Iterator<Item = &T> {
        let list: &[Obj<'a, T>] = match self {
            Self::Value(v) => v,
            _ => &[],
        };
        list.iter().filter_map(|o| match o {
            Dyn::Value(t) => Some(t),
            _ => None,
        })
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de>, const SEQ: bool> Deserialize<'de> for Dyn<'a, T, SEQ> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a, T, const SEQ: bool>(PhantomData<(&'a (), T)>);
        macro_rules! absent {
            ($($visit:ident: $ty:ty),*) => {$(
                fn $visit<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> { Ok(Dyn::Absent) }
            )*};
        }
        impl<'de: 'a, 'a, T: Deserialize<'de>, const SEQ: bool> Visitor<'de> for V<'a, T, SEQ> {
            type Value = Dyn<'a, T, SEQ>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                if SEQ {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    return Ok(Dyn::Absent);
                }
                T::deserialize(MapAccessDeserializer::new(map)).map(Dyn::Value)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                if !SEQ {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(Dyn::Absent);
                }
                T::deserialize(SeqAccessDeserializer::new(seq)).map(Dyn::Value)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(if v.is_empty() {
                    Dyn::Absent
                } else {
                    Dyn::Json(Cow::Borrowed(v))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(if v.is_empty() {
                    Dyn::Absent
                } else {
                    Dyn::Json(Cow::Owned(v.to_owned()))
                })
            }
            absent!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Dyn::Absent)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Dyn::Absent)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// Record shapes. One struct covers the diagnostic envelope, its `properties` (the same struct),
// bare Graph objects, and Log Analytics rows and CSV exports (through the PascalCase aliases).
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Rec<'a> {
    time: Text<'a>,
    #[serde(alias = "TimeGenerated")]
    time_generated: Text<'a>,
    #[serde(alias = "Category")]
    category: Text<'a>,
    #[serde(rename = "Type")]
    table: Text<'a>,
    #[serde(alias = "OperationName")]
    operation_name: Text<'a>,
    #[serde(alias = "Identity")]
    identity: Text<'a>,
    caller_ip_address: Text<'a>,
    #[serde(alias = "CorrelationId")]
    correlation_id: Text<'a>,
    tenant_id: Text<'a>,
    #[serde(rename = "AADTenantId")]
    aad_tenant_id: Text<'a>,
    #[serde(alias = "ResourceTenantId")]
    resource_tenant_id: Text<'a>,
    /// The envelope's resource (`/tenants/<id>/providers/Microsoft.aadiam`): the tenant of
    /// records without `tenantId`.
    #[serde(alias = "ResourceId")]
    resource_id: Text<'a>,
    #[serde(alias = "ResultType")]
    result_type: Text<'a>,
    #[serde(alias = "ResultDescription")]
    result_description: Text<'a>,
    #[serde(alias = "Location")]
    location: Obj<'a, Geo<'a>>,
    #[serde(rename = "LocationDetails")]
    location_details: Obj<'a, Geo<'a>>,
    properties: Obj<'a, Box<Rec<'a>>>,
    // directoryAudit
    #[serde(alias = "Id")]
    id: Text<'a>,
    #[serde(alias = "ActivityDateTime")]
    activity_date_time: Text<'a>,
    #[serde(alias = "ActivityDisplayName")]
    activity_display_name: Text<'a>,
    #[serde(alias = "LoggedByService")]
    logged_by_service: Text<'a>,
    #[serde(alias = "AADOperationType")]
    operation_type: Text<'a>,
    #[serde(alias = "Result")]
    result: Text<'a>,
    #[serde(alias = "ResultReason")]
    result_reason: Text<'a>,
    #[serde(alias = "InitiatedBy")]
    initiated_by: Obj<'a, Initiator<'a>>,
    #[serde(alias = "TargetResources")]
    target_resources: Objs<'a, Target<'a>>,
    #[serde(
        alias = "AdditionalDetails",
        alias = "additionalInfo",
        alias = "AdditionalInfo"
    )]
    additional_details: Objs<'a, Kv<'a>>,
    #[serde(rename = "InitiatingUserOrApp")]
    initiating_user_or_app: Text<'a>,
    #[serde(rename = "InitiatingIpAddress")]
    initiating_ip_address: Text<'a>,
    #[serde(alias = "UserAgent")]
    user_agent: Text<'a>,
    // signIn (and the user fields of risk events)
    #[serde(alias = "CreatedDateTime")]
    created_date_time: Text<'a>,
    #[serde(alias = "UserPrincipalName")]
    user_principal_name: Text<'a>,
    #[serde(alias = "UserId")]
    user_id: Text<'a>,
    #[serde(alias = "AppDisplayName")]
    app_display_name: Text<'a>,
    #[serde(alias = "AppId")]
    app_id: Text<'a>,
    #[serde(alias = "ResourceDisplayName")]
    resource_display_name: Text<'a>,
    #[serde(alias = "ServicePrincipalName", alias = "servicePrincipalDisplayName")]
    service_principal_name: Text<'a>,
    #[serde(alias = "ServicePrincipalId")]
    service_principal_id: Text<'a>,
    #[serde(alias = "IPAddress", alias = "IpAddress")]
    ip_address: Text<'a>,
    #[serde(alias = "Status")]
    status: Obj<'a, Status<'a>>,
    #[serde(alias = "MfaDetail")]
    mfa_detail: Obj<'a, MfaDetail<'a>>,
    #[serde(alias = "AuthenticationDetails")]
    authentication_details: Objs<'a, AuthStep<'a>>,
    #[serde(alias = "AuthenticationRequirement")]
    authentication_requirement: Text<'a>,
    #[serde(alias = "ConditionalAccessStatus")]
    conditional_access_status: Text<'a>,
    #[serde(alias = "ClientAppUsed")]
    client_app_used: Text<'a>,
    is_interactive: Flag,
    #[serde(alias = "SessionId", alias = "C_Sid")]
    session_id: Text<'a>,
    #[serde(
        alias = "RiskLevelDuringSignIn",
        alias = "riskLevel",
        alias = "RiskLevel"
    )]
    risk_level_during_sign_in: Text<'a>,
    /// Risk of the user or service principal over time, also on sign-ins whose own risk
    /// level is `none`.
    #[serde(alias = "RiskLevelAggregated")]
    risk_level_aggregated: Text<'a>,
    #[serde(alias = "RiskState")]
    risk_state: Text<'a>,
    #[serde(rename = "riskEventTypes_v2", alias = "RiskEventTypes_V2")]
    risk_event_types: Strs<'a>,
    #[serde(alias = "ClientCredentialType")]
    client_credential_type: Text<'a>,
    sign_in_event_types: Strs<'a>,
    // Graph activity
    #[serde(alias = "RequestMethod")]
    request_method: Text<'a>,
    #[serde(alias = "RequestUri")]
    request_uri: Text<'a>,
    #[serde(alias = "ResponseStatusCode")]
    response_status_code: Text<'a>,
    #[serde(alias = "RequestId")]
    request_id: Text<'a>,
    #[serde(rename = "C_Idtyp")]
    c_idtyp: Text<'a>,
    #[serde(alias = "Scopes")]
    scopes: Text<'a>,
    // Identity Protection
    #[serde(alias = "RiskEventType")]
    risk_event_type: Text<'a>,
    #[serde(alias = "RiskDetail")]
    risk_detail: Text<'a>,
    #[serde(alias = "DetectedDateTime")]
    detected_date_time: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Initiator<'a> {
    user: Obj<'a, Principal<'a>>,
    app: Obj<'a, Principal<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Principal<'a> {
    user_principal_name: Text<'a>,
    display_name: Text<'a>,
    id: Text<'a>,
    ip_address: Text<'a>,
    app_id: Text<'a>,
    service_principal_id: Text<'a>,
    service_principal_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Target<'a> {
    id: Text<'a>,
    display_name: Text<'a>,
    user_principal_name: Text<'a>,
    #[serde(rename = "type")]
    kind: Text<'a>,
    #[serde(rename = "Type")]
    kind_pascal: Text<'a>,
    modified_properties: Objs<'a, ModProp<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct ModProp<'a> {
    display_name: Text<'a>,
    old_value: Text<'a>,
    new_value: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Kv<'a> {
    #[serde(alias = "Key")]
    key: Text<'a>,
    #[serde(alias = "Value")]
    value: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Status<'a> {
    error_code: Text<'a>,
    failure_reason: Text<'a>,
    additional_details: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct MfaDetail<'a> {
    auth_method: Text<'a>,
}

/// One step of `authenticationDetails`: how a factor was satisfied.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct AuthStep<'a> {
    authentication_step_result_detail: Text<'a>,
}

/// Whether Entra's words say MFA was satisfied: performed now ("MFA completed in Azure AD",
/// "MFA successfully completed") or carried by the token ("MFA requirement satisfied by claim
/// in the token", the usual wording of non-interactive sign-ins).
fn says_mfa_satisfied(text: &str) -> bool {
    text.contains("MFA requirement satisfied")
        || text.contains("MFA completed")
        || text.contains("MFA successfully completed")
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Geo<'a> {
    city: Text<'a>,
    country_or_region: Text<'a>,
}

// ---------------------------------------------------------------------------------------
// Which log a record belongs to
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Audit,
    SignIn,
    NonInteractive,
    ServicePrincipal,
    ManagedIdentity,
    Graph,
    Risk,
}

/// Diagnostic-settings categories; Log Analytics tables are the same names, some with `AAD`.
const NAMES: [(&str, Kind); 12] = [
    ("AuditLogs", Kind::Audit),
    ("SignInLogs", Kind::SignIn),
    ("ADFSSignInLogs", Kind::SignIn),
    ("NonInteractiveUserSignInLogs", Kind::NonInteractive),
    ("ServicePrincipalSignInLogs", Kind::ServicePrincipal),
    (
        "MicrosoftServicePrincipalSignInLogs",
        Kind::ServicePrincipal,
    ),
    ("ManagedIdentitySignInLogs", Kind::ManagedIdentity),
    ("MicrosoftGraphActivityLogs", Kind::Graph),
    ("UserRiskEvents", Kind::Risk),
    ("RiskyUsers", Kind::Risk),
    ("ServicePrincipalRiskEvents", Kind::Risk),
    ("RiskyServicePrincipals", Kind::Risk),
];

fn kind_of_name(name: &str) -> Option<Kind> {
    let name = name.trim();
    let bare = name
        .get(3..)
        .filter(|_| name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("AAD")));
    let same =
        |n: &str| n.eq_ignore_ascii_case(name) || bare.is_some_and(|b| n.eq_ignore_ascii_case(b));
    NAMES.iter().find(|(n, _)| same(n)).map(|&(_, k)| k)
}

impl Kind {
    fn log_type(self) -> &'static str {
        match self {
            Self::Audit => "audit",
            Self::SignIn => "signin",
            Self::NonInteractive => "signin_noninteractive",
            Self::ServicePrincipal => "signin_service_principal",
            Self::ManagedIdentity => "signin_managed_identity",
            Self::Graph => "graph_activity",
            Self::Risk => "risk",
        }
    }

    fn is_signin(self) -> bool {
        matches!(
            self,
            Self::SignIn | Self::NonInteractive | Self::ServicePrincipal | Self::ManagedIdentity
        )
    }
}

/// The kind of a record without `properties`: a Log Analytics row or a bare Graph object.
fn row_kind(p: &Rec<'_>) -> Option<Kind> {
    // `Type` names the table, unless a hunting query reused the column (`Type = targetType`).
    if let Some(kind) = p.table.get().and_then(kind_of_name) {
        let refined = p
            .category
            .get()
            .and_then(kind_of_name)
            .filter(|c| c.is_signin());
        return Some(refined.filter(|_| kind.is_signin()).unwrap_or(kind));
    }
    // A row projected without `Type` still names its table in `Category`
    // (`ServicePrincipalSignInLogs`); with a sign-in time it is that table's sign-in.
    if p.created_date_time.0.is_some()
        && let Some(kind) = p
            .category
            .get()
            .and_then(kind_of_name)
            .filter(|k| k.is_signin())
    {
        return Some(kind);
    }
    let event_type = |name: &str| match &p.sign_in_event_types {
        Dyn::Value(v) => v
            .iter()
            .any(|t| t.get().is_some_and(|x| x.eq_ignore_ascii_case(name))),
        _ => false,
    };
    if p.risk_event_type.0.is_some()
        && (p.activity_date_time.0.is_some() || p.detected_date_time.0.is_some())
    {
        Some(Kind::Risk)
    } else if (p.activity_display_name.0.is_some() || p.operation_name.0.is_some())
        && (!p.initiated_by.is_absent()
            || !p.target_resources.is_absent()
            || p.logged_by_service.0.is_some())
    {
        Some(Kind::Audit)
    } else if p.created_date_time.0.is_none() {
        None
    } else if event_type("servicePrincipal") {
        Some(Kind::ServicePrincipal)
    } else if event_type("managedIdentity") {
        Some(Kind::ManagedIdentity)
    } else if event_type("nonInteractiveUser") || p.is_interactive.0 == Some(false) {
        Some(Kind::NonInteractive)
    } else {
        let who = [
            &p.user_principal_name,
            &p.app_display_name,
            &p.service_principal_name,
            &p.user_id,
        ];
        who.iter().any(|t| t.0.is_some()).then_some(Kind::SignIn)
    }
}

// ---------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------

impl Provider for Entra {
    fn format(&self) -> &'static str {
        "entra"
    }

    fn sniff_json(&self, probe: &Probe) -> bool {
        let has = |key: &str| probe_has(probe, &[key]);
        if let Some(category) = probe_str(probe, &["category"])
            && kind_of_name(category).is_some()
            && has("properties")
        {
            let resource = probe_str(probe, &["resourceId"])
                .unwrap_or("")
                .to_ascii_lowercase();
            const SHAPED: [&str; 6] = [
                "activityDisplayName",
                "initiatedBy",
                "createdDateTime",
                "requestUri",
                "riskEventType",
                "riskLevel",
            ];
            return resource.contains("microsoft.aadiam")
                || SHAPED.iter().any(|k| probe_has(probe, &["properties", k]));
        }
        if let Some(table) = probe_str(probe, &["Type"]) {
            return kind_of_name(table).is_some();
        }
        // Log Analytics sign-in rows projected without `Type`: `Category` names the table.
        if probe_str(probe, &["Category"])
            .and_then(kind_of_name)
            .is_some_and(Kind::is_signin)
            && has("CreatedDateTime")
        {
            return true;
        }
        let audit = has("activityDateTime")
            && has("activityDisplayName")
            && (has("initiatedBy") || has("targetResources") || has("loggedByService"));
        let signin = has("createdDateTime")
            && (has("status") || has("ipAddress") || has("clientAppUsed"))
            && (has("userPrincipalName") || has("appDisplayName") || has("servicePrincipalName"));
        let risk = has("riskEventType") && (has("detectedDateTime") || has("activityDateTime"));
        audit || signin || risk
    }

    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError> {
        normalize(from_json::<Rec<'a>>(record)?, None)
    }

    fn sniff_table(&self, headers: &csv::StringRecord) -> bool {
        let has = |name: &str| headers.iter().any(|h| base_name(h) == name);
        if has("Caller") || has("OperationNameValue") || has("CategoryValue") {
            return false; // Azure Activity exports share some column names
        }
        let signin = has("UserPrincipalName")
            && (has("ResultType") || has("Status"))
            && (has("IPAddress") || has("AppDisplayName"));
        let audit = has("OperationName")
            && (has("InitiatedBy")
                || has("InitiatingUserOrApp")
                || has("TargetResources")
                || has("ActivityDisplayName"));
        signin || audit
    }

    fn parse_table<'a>(
        &self,
        headers: &'a csv::StringRecord,
        row: &'a csv::StringRecord,
    ) -> Result<Event<'a>, RecordError> {
        // The columns are the Log Analytics names, which `Rec` knows as aliases; of the
        // `X_dynamic` / `X_string` pairs the first non-empty one wins.
        // A set, not a list: a row of 100,000 columns must cost linear time.
        let mut seen: HashSet<&str> = HashSet::with_capacity(headers.len());
        let cells = headers
            .iter()
            .map(base_name)
            .zip(row.iter().map(str::trim))
            .filter(|&(h, v)| !v.is_empty() && seen.insert(h));
        let pairs = cells.map(|(h, v)| {
            (
                BorrowedStrDeserializer::new(h),
                BorrowedStrDeserializer::new(v),
            )
        });
        let rec = Rec::deserialize(MapDeserializer::<_, ValueError>::new(pairs))
            .map_err(|e| RecordError::Invalid(format!("Entra CSV row: {e}")))?;
        let fallback = if !rec.initiated_by.is_absent() || rec.initiating_user_or_app.0.is_some() {
            Some(Kind::Audit)
        } else if rec.user_principal_name.0.is_some() || rec.app_display_name.0.is_some() {
            Some(Kind::SignIn)
        } else {
            None
        };
        normalize(rec, fallback)
    }
}

/// A CSV header without BOM, ` [UTC]` suffix or the `_dynamic` / `_string` pair suffix.
fn base_name(header: &str) -> &str {
    let h = header.trim_start_matches('\u{feff}').trim();
    let h = h.split_once(" [").map_or(h, |(name, _)| name);
    h.strip_suffix("_dynamic")
        .or_else(|| h.strip_suffix("_string"))
        .unwrap_or(h)
}

// ---------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------

fn normalize<'a>(mut rec: Rec<'a>, fallback: Option<Kind>) -> Result<Event<'a>, RecordError> {
    let (mut p, kind) = match take(&mut rec.properties) {
        Dyn::Value(inner) => {
            let kind = rec.category.get().and_then(kind_of_name);
            (*inner, kind.ok_or(RecordError::NotThisFormat)?)
        }
        _ => {
            // A row of another Log Analytics table (`Type`: `AzureActivity`) is not ours.
            let fallback = fallback.filter(|_| rec.table.0.is_none());
            let kind = row_kind(&rec).or(fallback);
            (take(&mut rec), kind.ok_or(RecordError::NotThisFormat)?)
        }
    };
    // Envelope fields of a diagnostic record fill what its `properties` lack.
    macro_rules! fill {
        ($($f:ident),*) => { $( if p.$f.0.is_none() { p.$f = take(&mut rec.$f); } )* };
    }
    fill!(
        time,
        time_generated,
        operation_name,
        identity,
        caller_ip_address,
        correlation_id
    );
    fill!(result_type, result_description);
    if rec.tenant_id.0.is_some() {
        p.tenant_id = take(&mut rec.tenant_id);
    }
    if p.location.is_absent() {
        p.location = take(&mut rec.location);
    }
    let tenant = p.aad_tenant_id.take().or(p.tenant_id.take());
    let mut e = Event {
        provider: "entra",
        log_type: Cow::Borrowed(kind.log_type()),
        account: (tenant.or(p.resource_tenant_id.take())).or_else(|| {
            let id = rec.resource_id.0.as_ref().or(p.resource_id.0.as_ref())?;
            sub_cow(id, tenant_of).map(|t| Cow::Owned(t.to_ascii_lowercase()))
        }),
        ..Event::default()
    };
    let missing = match kind {
        Kind::Audit => audit(&mut e, p),
        Kind::Graph => graph(&mut e, p),
        Kind::Risk => risk(&mut e, p),
        _ => signin(&mut e, p, kind),
    };
    if e.time.is_none() && e.actor.is_none() {
        return Err(RecordError::Invalid(format!(
            "Entra {} record has {missing}",
            kind.log_type()
        )));
    }
    Ok(e)
}

#[derive(Default)]
struct Who<'a> {
    name: S<'a>,
    /// The object id beside the name (the `actor_id`), when the name is not the id.
    id: S<'a>,
    kind: ActorType,
    ip: S<'a>,
}

fn who(i: Initiator<'_>) -> Who<'_> {
    let user = i.user.into_value().unwrap_or_default();
    let ip = user.ip_address.0;
    let user_id = user.id.0;
    if let Some(n) = user
        .user_principal_name
        .0
        .or(user.display_name.0)
        .or(user_id.clone())
    {
        return Who {
            id: user_id.filter(|id| *id != n),
            name: Some(n),
            kind: ActorType::Human,
            ip,
        };
    }
    let app = i.app.into_value().unwrap_or_default();
    let app_object = app.service_principal_id.0.clone();
    let name = app.display_name.0.or(app.service_principal_name.0);
    let name = name.or(app.app_id.0).or(app.service_principal_id.0);
    let kind = if name.is_some() {
        ActorType::Service
    } else {
        ActorType::Unknown
    };
    let id = app_object.filter(|id| Some(id) != name.as_ref());
    Who { name, id, kind, ip }
}

impl Who<'_> {
    fn owned<'b>(self) -> Who<'b> {
        Who {
            name: own(self.name),
            id: own(self.id),
            kind: self.kind,
            ip: own(self.ip),
        }
    }
}

fn audit<'a>(e: &mut Event<'a>, mut p: Rec<'a>) -> &'static str {
    e.time = first_time(&[&p.activity_date_time, &p.time_generated, &p.time]);
    let action = p
        .activity_display_name
        .take()
        .or(p.operation_name.take())
        .map(trim_cow);
    let act = action.as_deref().unwrap_or("");
    let initiator = take(&mut p.initiated_by);
    let who = initiator
        .resolve(who, |s| from_json_str(s).map(|i| who(i).owned()))
        .unwrap_or_default();
    e.actor_id = who.id;
    (e.actor, e.actor_type) = match (who.name, p.initiating_user_or_app.take()) {
        (Some(n), _) => (Some(n), who.kind),
        (None, Some(n)) if n.contains('@') => (Some(n), ActorType::Human),
        (None, Some(n)) => (Some(n), ActorType::Service),
        (None, None) => (p.identity.take(), ActorType::Unknown),
    };
    let ip = clean(who.ip).or(clean(p.caller_ip_address.take()));
    e.src_ip = ip.or(clean(p.initiating_ip_address.take()));
    e.user_agent = p
        .user_agent
        .take()
        .or_else(|| user_agent(take(&mut p.additional_details)));
    let result = p.result.get().unwrap_or("");
    e.outcome = match () {
        () if result.eq_ignore_ascii_case("success") => Outcome::Success,
        () if result.eq_ignore_ascii_case("failure") || result.eq_ignore_ascii_case("timeout") => {
            Outcome::Failure
        }
        () => Outcome::Unknown,
    };
    if e.outcome == Outcome::Failure {
        let reason = p.result_reason.get().or(p.result_description.get());
        e.error = reason.map(|r| Cow::Owned(short(r).to_owned()));
    }
    e.read_only = p
        .operation_type
        .get()
        .and_then(|t| match t.to_ascii_lowercase().as_str() {
            "read" | "get" => Some(true),
            "add" | "update" | "delete" | "assign" | "unassign" | "create" | "remove" => {
                Some(false)
            }
            _ => None,
        });
    let targets = take(&mut p.target_resources)
        .resolve(
            |v| targets(v, act),
            |s| from_json_str(s).map(|v| targets(v, act).owned()),
        )
        .unwrap_or_default();
    let mut pairs = vec![("category", p.category.get())];
    pairs.extend(targets.pairs.iter().map(|(k, v)| (*k, Some(v.as_str()))));
    e.details = capped(&pairs);
    e.resource = targets.resource;
    e.service = p.logged_by_service.take().or(p.category.take());
    e.correlation_id = p.correlation_id.take();
    e.event_id = p.id.take().or_else(|| e.correlation_id.clone());
    e.action = action;
    "no activityDateTime/time and no initiatedBy"
}

fn signin<'a>(e: &mut Event<'a>, mut p: Rec<'a>, kind: Kind) -> &'static str {
    e.time = first_time(&[&p.created_date_time, &p.time_generated, &p.time]);
    let machine = matches!(kind, Kind::ServicePrincipal | Kind::ManagedIdentity);
    let (app, app_id) = (p.app_display_name.take(), p.app_id.take());
    // A sign-in names the user (or service principal) both ways: object id and UPN.
    let object_id = match machine {
        true => p.service_principal_id.take(),
        false => p.user_id.take(),
    };
    (e.actor, e.actor_type) = match (
        p.user_principal_name.take(),
        p.service_principal_name.take(),
    ) {
        (Some(upn), _) if machine => (Some(upn), ActorType::Service),
        (Some(upn), _) => (Some(upn), ActorType::Human),
        (None, Some(sp)) => (Some(sp), ActorType::Service),
        (None, None) if machine => {
            let id = object_id.clone().or_else(|| app_id.clone());
            (app.clone().or(id), ActorType::Service)
        }
        (None, None) => match object_id.clone() {
            Some(id) => (Some(id), ActorType::Human),
            None => (p.identity.take(), ActorType::Unknown),
        },
    };
    e.actor_id = object_id.filter(|id| Some(id) != e.actor.as_ref());
    e.action = Some(Cow::Borrowed(match kind {
        Kind::NonInteractive => "Sign-in (non-interactive)",
        Kind::ServicePrincipal => "Sign-in (service principal)",
        Kind::ManagedIdentity => "Sign-in (managed identity)",
        _ => "Sign-in",
    }));
    e.service = app.or_else(|| app_id.clone());
    e.resource = p.resource_display_name.take();
    e.src_ip = clean(p.ip_address.take()).or(clean(p.caller_ip_address.take()));
    e.user_agent = p.user_agent.take();
    let place = place(take(&mut p.location_details));
    (e.country, e.city) = if place.0.is_some() || place.1.is_some() {
        place
    } else {
        self::place(take(&mut p.location))
    };
    let status = take(&mut p.status).resolve(
        |s| (s.error_code.0, s.failure_reason.0, s.additional_details.0),
        |j| {
            from_json_str::<Status>(j).map(|s| {
                (
                    own(s.error_code.0),
                    own(s.failure_reason.0),
                    own(s.additional_details.0),
                )
            })
        },
    );
    let (code, reason, extra) = status.unwrap_or_default();
    let reason = reason.or(p.result_description.take());
    match code.or(p.result_type.take()).as_deref().map(str::trim) {
        Some(c) if c == "0" || c.eq_ignore_ascii_case("success") => e.outcome = Outcome::Success,
        Some(c) => {
            e.outcome = Outcome::Failure;
            let error = reason
                .as_deref()
                .map_or_else(|| c.to_owned(), |r| format!("{c} {}", short(r)));
            e.error = Some(Cow::Owned(error));
        }
        None => {}
    }
    let method = take(&mut p.mfa_detail).resolve(
        |m| m.auth_method.0.is_some(),
        |j| from_json_str::<MfaDetail>(j).map(|m| m.auth_method.0.is_some()),
    );
    let step_says_mfa = take(&mut p.authentication_details).resolve(
        |steps| {
            steps.iter().any(|s| match s {
                Dyn::Value(s) => s
                    .authentication_step_result_detail
                    .get()
                    .is_some_and(says_mfa_satisfied),
                _ => false,
            })
        },
        // Embedded JSON (Log Analytics rows, CSV cells): the words are enough.
        |j| Some(says_mfa_satisfied(j)),
    );
    let requirement = p.authentication_requirement.get().unwrap_or("");
    let extra = extra.as_deref().unwrap_or("");
    // A claim in the token satisfies MFA whatever the requirement says: non-interactive
    // sign-ins report `singleFactorAuthentication` while riding on an MFA session.
    e.mfa = if requirement.eq_ignore_ascii_case("multiFactorAuthentication")
        || method == Some(true)
        || says_mfa_satisfied(extra)
        || step_says_mfa == Some(true)
    {
        Some(true)
    } else if requirement.eq_ignore_ascii_case("singleFactorAuthentication") {
        Some(false)
    } else {
        None
    };
    e.correlation_id = p.correlation_id.take();
    e.event_id = p.id.take().or_else(|| e.correlation_id.clone());
    e.session = p.session_id.take();
    let risk_events = strs(take(&mut p.risk_event_types));
    e.details = capped(&[
        ("appId", app_id.as_deref()),
        ("clientApp", p.client_app_used.get()),
        ("conditionalAccess", p.conditional_access_status.get()),
        (
            "riskLevel",
            p.risk_level_during_sign_in.get().filter(|v| !is_none(v)),
        ),
        (
            "riskLevelAggregated",
            p.risk_level_aggregated.get().filter(|v| !is_none(v)),
        ),
        ("riskState", p.risk_state.get().filter(|v| !is_none(v))),
        ("riskEvents", risk_events.as_deref()),
        (
            "credential",
            p.client_credential_type.get().filter(|v| !is_none(v)),
        ),
    ]);
    "no createdDateTime/time and no user or service principal"
}

fn graph<'a>(e: &mut Event<'a>, mut p: Rec<'a>) -> &'static str {
    e.time = first_time(&[&p.time, &p.time_generated]);
    let method = p.request_method.get().map(str::to_ascii_uppercase);
    let path = p.request_uri.get().map(graph_path);
    e.action = match (&method, path) {
        (Some(m), Some(path)) => Some(Cow::Owned(format!("{m} {}", path_template(path)))),
        (Some(m), None) => Some(Cow::Owned(m.clone())),
        (None, path) => path.map(|p| Cow::Owned(path_template(p))),
    };
    e.resource = path.map(|p| Cow::Owned(p.to_owned()));
    e.service = Some(Cow::Borrowed("Microsoft Graph"));
    e.read_only = method.map(|m| matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS"));
    let app_only = p
        .c_idtyp
        .get()
        .is_some_and(|t| t.eq_ignore_ascii_case("app"));
    let app_id = p.app_id.take();
    (e.actor, e.actor_type) = match p.user_id.take() {
        Some(user) if !app_only => (Some(user), ActorType::Human),
        _ => (
            p.service_principal_id.take().or_else(|| app_id.clone()),
            ActorType::Service,
        ),
    };
    e.src_ip = clean(p.ip_address.take()).or(clean(p.caller_ip_address.take()));
    e.user_agent = p.user_agent.take();
    // Graph activity logs name the Azure region that served the request (`West Europe`,
    // `westeurope`): by its name, as Azure Activity's regions.
    e.region = match take(&mut p.location) {
        Dyn::Value(g) => g.country_or_region.0.or(g.city.0),
        Dyn::Json(s) => Some(azure_region(s)),
        Dyn::Absent => None,
    };
    let code = p.response_status_code.take();
    match code.as_deref().and_then(|c| c.trim().parse::<u16>().ok()) {
        Some(c) if c < 400 => e.outcome = Outcome::Success,
        Some(_) => (e.outcome, e.error) = (Outcome::Failure, code),
        None => {}
    }
    let correlation = p.correlation_id.take();
    e.event_id = p
        .request_id
        .take()
        .or(p.id.take())
        .or_else(|| correlation.clone());
    e.session = p.session_id.take();
    e.correlation_id = correlation;
    let scopes = p
        .scopes
        .get()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(","));
    e.details = capped(&[("appId", app_id.as_deref()), ("scopes", scopes.as_deref())]);
    "no time and no user or application id"
}

fn risk<'a>(e: &mut Event<'a>, mut p: Rec<'a>) -> &'static str {
    e.time = first_time(&[&p.activity_date_time, &p.detected_date_time, &p.time]);
    let user_id = p.user_id.take();
    e.actor_id = user_id
        .clone()
        .filter(|_| p.user_principal_name.get().is_some());
    (e.actor, e.actor_type) = match p.user_principal_name.take().or(user_id) {
        Some(user) => (Some(user), ActorType::Human),
        None => (
            p.service_principal_name.take().or(p.app_id.take()),
            ActorType::Service,
        ),
    };
    e.action = p.risk_event_type.take().or(p.operation_name.take());
    e.service = Some(Cow::Borrowed("Identity Protection"));
    e.src_ip = clean(p.ip_address.take()).or(clean(p.caller_ip_address.take()));
    e.user_agent = user_agent(take(&mut p.additional_details));
    (e.country, e.city) = place(take(&mut p.location));
    e.correlation_id = p.correlation_id.take();
    e.event_id = p.id.take().or_else(|| e.correlation_id.clone());
    e.details = capped(&[
        ("riskLevel", p.risk_level_during_sign_in.get()),
        ("riskState", p.risk_state.get()),
        ("riskDetail", p.risk_detail.get().filter(|v| !is_none(v))),
    ]);
    "no activityDateTime/time and no user"
}

// ---------------------------------------------------------------------------------------
// Audit targets: who or what was acted on, and the modified properties detections need
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct Targets<'a> {
    resource: S<'a>,
    pairs: Vec<(&'static str, String)>,
}

impl Targets<'_> {
    fn owned<'b>(self) -> Targets<'b> {
        Targets {
            resource: own(self.resource),
            pairs: self.pairs,
        }
    }
}

/// Grants whose first target is the API; the grantee is in the modified properties.
const GRANTS: [&str; 4] = [
    "Add app role assignment",
    "Add delegated permission grant",
    "Remove app role assignment",
    "Remove delegated permission grant",
];

/// Modified properties copied to `details`: key, property, whether the value is a word list.
const PROPS: [(&str, &str, bool); 5] = [
    ("app", "Application.DisplayName", false),
    ("appRole", "AppRole.Value", false),
    ("scope", "DelegatedPermissionGrant.Scope", true),
    ("consentType", "DelegatedPermissionGrant.ConsentType", false),
    ("adminConsent", "ConsentContext.IsAdminConsent", false),
];

fn targets<'x>(list: Vec<Obj<'x, Target<'x>>>, action: &str) -> Targets<'x> {
    let mut list: Vec<Target<'x>> = list.into_iter().filter_map(Dyn::into_value).collect();
    let is = |t: &Target, kind: &str| {
        let own = t.kind.get().or(t.kind_pascal.get());
        own.is_some_and(|k| k.eq_ignore_ascii_case(kind))
    };
    let props: Vec<&ModProp> = list
        .iter()
        .flat_map(|t| t.modified_properties.items())
        .collect();
    let find = |name: &str| {
        let named = |m: &&&ModProp| {
            m.display_name
                .get()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        };
        props.iter().find(named).copied()
    };
    // The new value, or the old one for removals.
    let nv = |name: &str| {
        let m = find(name)?;
        unquoted(&m.new_value).or_else(|| unquoted(&m.old_value))
    };
    let words = |v: &str| {
        cut(
            &v.split([' ', ','])
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(","),
            MAX_VALUE,
        )
        .to_owned()
    };
    let mut pairs = Vec::new();
    let of_type = |kind: &str| {
        let target = list.iter().find(|t| is(t, kind))?;
        target.display_name.get()
    };
    let role = nv("Role.DisplayName").or(of_type("Role"));
    let role = role.or_else(|| nv("Role.TemplateId"));
    pairs.extend(role.map(|r| ("role", r.to_owned())));
    let group = nv("Group.DisplayName").or(of_type("Group"));
    pairs.extend(group.map(|g| ("group", g.to_owned())));
    let grant = GRANTS.iter().any(|g| action.starts_with(g));
    if grant {
        pairs.extend(
            list.first()
                .and_then(|t| t.display_name.get())
                .map(|a| ("api", a.to_owned())),
        );
    }
    for (key, name, is_list) in PROPS {
        pairs.extend(nv(name).map(|v| (key, if is_list { words(v) } else { v.to_owned() })));
    }
    pairs.extend(
        nv("ConsentAction.Permissions")
            .and_then(consent_scopes)
            .map(|v| ("permissions", words(&v))),
    );
    let key_type = nv("KeyDescription").and_then(|v| v.rsplit_once("KeyType="));
    pairs.extend(
        key_type
            .and_then(|(_, k)| k.split([',', ']']).next())
            .map(|k| ("keyType", k.to_owned())),
    );
    if let Some(m) = find("StrongAuthenticationRequirement") {
        let state = |t: &Text| {
            t.get()
                .and_then(|v| json_scalar(v, "State").map(str::to_owned))
        };
        let state = state(&m.new_value).or(state(&m.old_value).map(|_| "none".to_owned()));
        pairs.extend(state.map(|s| ("strongAuthState", s)));
    }
    if let Some(m) = find("ConditionalAccessPolicy") {
        let controls = |t: &Text| {
            t.get()
                .and_then(|v| json_scalar(v, "builtInControls"))
                .map(|g| g.replace(['"', ' '], ""))
        };
        let (new, old) = (controls(&m.new_value), controls(&m.old_value));
        pairs.extend(
            m.new_value
                .get()
                .and_then(|v| json_scalar(v, "state"))
                .map(|s| ("caState", s.to_owned())),
        );
        pairs.extend(
            old.filter(|o| Some(o) != new.as_ref())
                .map(|o| ("caGrantOld", o)),
        );
        pairs.extend(new.map(|n| ("caGrant", n)));
    }
    pairs.extend(nv("Included Updated Properties").map(|v| ("props", words(v))));
    const GRANTEES: [&str; 5] = [
        "ServicePrincipal.DisplayName",
        "User.UPN",
        "Group.DisplayName",
        "ServicePrincipal.ObjectID",
        "User.ObjectID",
    ];
    let grantee = if grant {
        GRANTEES
            .iter()
            .find_map(|n| nv(n))
            .map(|g| Cow::Owned(g.to_owned()))
    } else {
        None
    };
    // The identity acted on (a member or owner added) comes first, then any non-role target.
    let identity = list
        .iter()
        .position(|t| is(t, "User") || is(t, "ServicePrincipal"));
    let resource = grantee.or_else(|| {
        let i = identity.or_else(|| list.iter().position(|t| !is(t, "Role")));
        let i = i.unwrap_or(0);
        let target = (i < list.len()).then(|| list.swap_remove(i))?;
        target
            .user_principal_name
            .0
            .or(target.display_name.0)
            .or(target.id.0)
    });
    Targets { resource, pairs }
}

/// `Scope:` values of a `ConsentAction.Permissions` text (`[] => [[Id: .., Scope: a b, ..]]`).
fn consent_scopes(v: &str) -> Option<String> {
    let granted = v.rsplit_once("=>").map_or(v, |(_, new)| new);
    let parts = granted.split("Scope:").skip(1);
    let scopes: Vec<&str> = parts
        .flat_map(|p| p.split(',').next().unwrap_or("").split_whitespace())
        .collect();
    (!scopes.is_empty()).then(|| scopes.join(","))
}

/// The raw value of `"key": value` in JSON text (strings unquoted, arrays without brackets).
fn json_scalar<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let at = text.find(&format!("\"{key}\""))?;
    let rest = text
        .get(at + key.len() + 2..)?
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    if let Some(r) = rest.strip_prefix('"') {
        r.split('"').next()
    } else if let Some(r) = rest.strip_prefix('[') {
        r.split(']').next()
    } else {
        rest.split([',', '}', ']']).next().map(str::trim)
    }
}

fn unquoted<'t>(t: &'t Text<'_>) -> Option<&'t str> {
    t.get().map(unquote).filter(|v| !v.is_empty())
}

/// A modified-property value without its JSON quoting: `"x"` or `["x"]` gives `x`.
fn unquote(s: &str) -> &str {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s)
        .trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
        .trim()
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

fn own<'b>(s: S<'_>) -> S<'b> {
    s.map(|c| Cow::Owned(c.into_owned()))
}

/// Parses the times seen in Entra exports, including a one-digit hour (`2023-10-26T5:32:08Z`).
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    parse_time_text(s).or_else(|| match (s.get(10..11), s.get(12..13)) {
        (Some("T"), Some(":")) => parse_time_text(&format!("{}0{}", s.get(..11)?, s.get(11..)?)),
        _ => None,
    })
}

fn first_time(texts: &[&Text<'_>]) -> Option<i64> {
    texts.iter().find_map(|t| t.get().and_then(parse_time))
}

/// Drops the placeholders Entra writes for a missing address.
fn clean(s: S<'_>) -> S<'_> {
    s.filter(|v| !matches!(v.trim(), "" | "<null>" | "null"))
}

fn is_none(v: &str) -> bool {
    v.eq_ignore_ascii_case("none") || v.eq_ignore_ascii_case("hidden")
}

/// The first sentence of a reason, at most 100 bytes.
fn short(s: &str) -> &str {
    let s = s.trim();
    cut(s.find(". ").and_then(|i| s.get(..=i)).unwrap_or(s), 100)
}

fn capped(pairs: &[(&str, Option<&str>)]) -> S<'static> {
    details_from(pairs).map(|d| {
        if d.len() > MAX_DETAILS {
            Cow::Owned(cut(&d, MAX_DETAILS).to_owned())
        } else {
            d
        }
    })
}

/// The caller's country (ISO code) and city from a location object (`{"city": "Lyon",
/// "countryOrRegion": "FR"}`, also as embedded JSON), or a plain text naming a country.
fn place<'a>(d: Obj<'a, Geo<'a>>) -> (Option<&'static str>, S<'a>) {
    fn parts(g: Geo<'_>) -> (Option<&'static str>, S<'_>) {
        let country = g.country_or_region.get().and_then(country_code);
        (country, g.city.0.filter(|c| !c.trim().is_empty()))
    }
    match d {
        Dyn::Value(g) => parts(g),
        Dyn::Json(s) if s.trim_start().starts_with('{') => from_json_str::<Geo>(&s)
            .map(|g| {
                let (country, city) = parts(g);
                (country, own(city))
            })
            .unwrap_or((None, None)),
        Dyn::Json(s) => (country_code(&s), None),
        Dyn::Absent => (None, None),
    }
}

/// The `User-Agent` / `userAgent` entry of a key/value list.
fn user_agent<'a>(list: Objs<'a, Kv<'a>>) -> S<'a> {
    fn find<'b>(v: Vec<Obj<'b, Kv<'b>>>) -> S<'b> {
        v.into_iter()
            .filter_map(Dyn::into_value)
            .find_map(|mut kv| {
                let key = kv.key.get().unwrap_or("");
                let ua =
                    key.eq_ignore_ascii_case("User-Agent") || key.eq_ignore_ascii_case("userAgent");
                ua.then(|| kv.value.take()).flatten()
            })
    }
    list.resolve(find, |s| from_json_str(s).map(|v| own(find(v))))
        .flatten()
}

/// A list of strings joined by commas (JSON text that is not a list is kept as it is).
fn strs(d: Strs<'_>) -> Option<String> {
    let join = |v: Vec<Text>| {
        let items: Vec<&str> = v.iter().filter_map(Text::get).collect();
        (!items.is_empty()).then(|| items.join(","))
    };
    d.resolve(join, |s| {
        Some(from_json_str(s).map_or_else(|| Some(s.trim().to_owned()), join))
    })
    .flatten()
}

/// The path of a request URI, without scheme, host or query.
fn graph_path(uri: &str) -> &str {
    let path = match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/"),
        None => uri,
    };
    path.split(['?', '#']).next().unwrap_or(path)
}

/// A request path with its ids replaced by `{id}`: `/v1.0/users/{id}/messages`.
fn path_template(path: &str) -> String {
    let is_id = |seg: &str| {
        let guid = seg.len() == 36 && seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        let number = seg.bytes().all(|b| b.is_ascii_digit());
        let opaque =
            seg.len() >= 24 && seg.bytes().any(|b| b.is_ascii_digit()) && !seg.contains('.');
        guid || number || opaque || seg.contains('@')
    };
    let mut out = String::with_capacity(path.len());
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        match seg.split_once('(') {
            Some((head, _)) if !head.is_empty() => out.push_str(&format!("{head}({{id}})")),
            _ if is_id(seg) => out.push_str("{id}"),
            _ => out.push_str(seg),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests;
