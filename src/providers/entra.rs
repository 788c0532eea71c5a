//! Microsoft Entra ID: audit logs (directoryAudits), sign-in logs (interactive, non-interactive,
//! service principal, managed identity), Microsoft Graph activity logs and Identity Protection
//! risk events. Shapes: diagnostic-settings records (`category` + `properties`), bare Microsoft
//! Graph objects, Log Analytics / Sentinel rows as JSON (PascalCase columns, nested objects as
//! JSON strings) and Sentinel portal CSV exports of the same tables.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::mem::take;

use serde::Deserialize;
use serde::de::value::{
    BorrowedStrDeserializer, Error as ValueError, MapAccessDeserializer, MapDeserializer,
    SeqAccessDeserializer,
};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{
    Flag, Probe, Provider, RecordError, Text, details_from, from_json, from_json_str,
    parse_time_text, probe_has, probe_str,
};
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
        let mut seen: Vec<&str> = Vec::with_capacity(headers.len());
        let cells = headers
            .iter()
            .map(base_name)
            .zip(row.iter().map(str::trim))
            .filter(|&(h, v)| {
                let fresh = !v.is_empty() && !seen.contains(&h);
                if fresh {
                    seen.push(h);
                }
                fresh
            });
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
        account: tenant.or(p.resource_tenant_id.take()),
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
    kind: ActorType,
    ip: S<'a>,
}

fn who(i: Initiator<'_>) -> Who<'_> {
    let user = i.user.into_value().unwrap_or_default();
    let ip = user.ip_address.0;
    if let Some(n) = user
        .user_principal_name
        .0
        .or(user.display_name.0)
        .or(user.id.0)
    {
        return Who {
            name: Some(n),
            kind: ActorType::Human,
            ip,
        };
    }
    let app = i.app.into_value().unwrap_or_default();
    let name = app.display_name.0.or(app.service_principal_name.0);
    let name = name.or(app.app_id.0).or(app.service_principal_id.0);
    let kind = if name.is_some() {
        ActorType::Service
    } else {
        ActorType::Unknown
    };
    Who { name, kind, ip }
}

impl Who<'_> {
    fn owned<'b>(self) -> Who<'b> {
        Who {
            name: own(self.name),
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
        .map(trim);
    let act = action.as_deref().unwrap_or("");
    let initiator = take(&mut p.initiated_by);
    let who = initiator
        .resolve(who, |s| from_json_str(s).map(|i| who(i).owned()))
        .unwrap_or_default();
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
    e.session = p.correlation_id.take();
    e.event_id = p.id.take().or_else(|| e.session.clone());
    e.action = action;
    "no activityDateTime/time and no initiatedBy"
}

fn signin<'a>(e: &mut Event<'a>, mut p: Rec<'a>, kind: Kind) -> &'static str {
    e.time = first_time(&[&p.created_date_time, &p.time_generated, &p.time]);
    let machine = matches!(kind, Kind::ServicePrincipal | Kind::ManagedIdentity);
    let (app, app_id) = (p.app_display_name.take(), p.app_id.take());
    (e.actor, e.actor_type) = match (
        p.user_principal_name.take(),
        p.service_principal_name.take(),
    ) {
        (Some(upn), _) if machine => (Some(upn), ActorType::Service),
        (Some(upn), _) => (Some(upn), ActorType::Human),
        (None, Some(sp)) => (Some(sp), ActorType::Service),
        (None, None) if machine => {
            let id = p.service_principal_id.take().or_else(|| app_id.clone());
            (app.clone().or(id), ActorType::Service)
        }
        (None, None) => match p.user_id.take() {
            Some(id) => (Some(id), ActorType::Human),
            None => (p.identity.take(), ActorType::Unknown),
        },
    };
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
    e.location =
        location(take(&mut p.location_details)).or_else(|| location(take(&mut p.location)));
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
    let requirement = p.authentication_requirement.get().unwrap_or("");
    let extra = extra.as_deref().unwrap_or("");
    e.mfa = if requirement.eq_ignore_ascii_case("multiFactorAuthentication") || method == Some(true)
    {
        Some(true)
    } else if requirement.eq_ignore_ascii_case("singleFactorAuthentication") {
        Some(false)
    } else {
        (extra.contains("MFA requirement satisfied") || extra.contains("MFA completed"))
            .then_some(true)
    };
    let correlation = p.correlation_id.take();
    e.event_id = p.id.take().or_else(|| correlation.clone());
    e.session = p.session_id.take().or(correlation);
    let risk_events = strs(take(&mut p.risk_event_types));
    e.details = capped(&[
        ("appId", app_id.as_deref()),
        ("clientApp", p.client_app_used.get()),
        ("conditionalAccess", p.conditional_access_status.get()),
        (
            "riskLevel",
            p.risk_level_during_sign_in.get().filter(|v| !is_none(v)),
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
    e.location = location(take(&mut p.location));
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
    e.session = p.session_id.take().or(correlation);
    let scopes = p
        .scopes
        .get()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(","));
    e.details = capped(&[("appId", app_id.as_deref()), ("scopes", scopes.as_deref())]);
    "no time and no user or application id"
}

fn risk<'a>(e: &mut Event<'a>, mut p: Rec<'a>) -> &'static str {
    e.time = first_time(&[&p.activity_date_time, &p.detected_date_time, &p.time]);
    (e.actor, e.actor_type) = match p.user_principal_name.take().or(p.user_id.take()) {
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
    e.location = location(take(&mut p.location));
    e.session = p.correlation_id.take();
    e.event_id = p.id.take().or_else(|| e.session.clone());
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

fn trim(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    }
}

/// The first sentence of a reason, at most 100 bytes.
fn short(s: &str) -> &str {
    let s = s.trim();
    cut(s.find(". ").and_then(|i| s.get(..=i)).unwrap_or(s), 100)
}

fn cut(s: &str, max: usize) -> &str {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    s.get(..i).unwrap_or(s)
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

/// `City, CC` from a location object, or a plain location text (`FR`, `North Europe`).
fn location<'a>(d: Obj<'a, Geo<'a>>) -> S<'a> {
    fn text(g: Geo<'_>) -> S<'_> {
        match (g.city.0, g.country_or_region.0) {
            (Some(city), Some(cc)) => Some(Cow::Owned(format!("{city}, {cc}"))),
            (city, cc) => cc.or(city),
        }
    }
    match d {
        Dyn::Value(g) => text(g),
        Dyn::Json(s) if s.trim_start().starts_with('{') => {
            from_json_str(&s).and_then(|g| own(text(g)))
        }
        Dyn::Json(s) => Some(s),
        Dyn::Absent => None,
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
mod tests {
    use super::*;
    use crate::providers::parse_rfc3339;

    fn parse(json: &str) -> Event<'_> {
        match Entra.parse_json(json.as_bytes()) {
            Ok(e) => e,
            Err(err) => panic!("{err}: {json}"),
        }
    }

    fn at(s: &str) -> Option<i64> {
        parse_rfc3339(s)
    }

    fn probe(json: &str) -> bool {
        match sonic_rs::from_str::<Probe>(json) {
            Ok(p) => Entra.sniff_json(&p),
            Err(err) => panic!("{err}"),
        }
    }

    fn csv_rows(text: &'static str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let headers = rdr.headers().cloned().unwrap_or_default();
        (headers, rdr.records().flatten().collect())
    }

    const ROLE: &str = r#"{"time":"2024-05-14T08:12:46.0000000Z","resourceId":"/tenants/t-1/providers/Microsoft.aadiam","operationName":"Add member to role","category":"AuditLogs","tenantId":"t-1","callerIpAddress":"203.0.113.10","correlationId":"c-1","properties":{"id":"Directory_c-1_X","category":"RoleManagement","correlationId":"c-1","result":"success","activityDisplayName":"Add member to role","activityDateTime":"2024-05-14T08:12:45.1234567+00:00","loggedByService":"Core Directory","operationType":"Assign","initiatedBy":{"user":{"userPrincipalName":"alice@example.com","ipAddress":"203.0.113.9","roles":"admin"}},"targetResources":[{"type":"Role","displayName":"Global Administrator"},{"id":"u-2","type":"User","userPrincipalName":"mallory@example.com","modifiedProperties":[{"displayName":"Role.DisplayName","oldValue":null,"newValue":"\"Global Administrator\""}]}]}}"#;

    #[test]
    fn diagnostic_audit_record_names_the_role_and_who_received_it() {
        let e = parse(ROLE);
        assert_eq!(e.time, at("2024-05-14T08:12:45.123456Z"));
        assert_eq!((e.provider, e.log_type.as_ref()), ("entra", "audit"));
        assert_eq!(e.event_id.as_deref(), Some("Directory_c-1_X"));
        assert_eq!(e.actor.as_deref(), Some("alice@example.com"));
        assert_eq!(e.actor_type, ActorType::Human);
        assert_eq!(e.action.as_deref(), Some("Add member to role"));
        assert_eq!(e.service.as_deref(), Some("Core Directory"));
        assert_eq!(e.resource.as_deref(), Some("mallory@example.com"));
        assert_eq!(e.src_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!((e.outcome, e.error, e.mfa), (Outcome::Success, None, None));
        assert_eq!(e.read_only, Some(false));
        assert_eq!(
            (e.session.as_deref(), e.account.as_deref()),
            (Some("c-1"), Some("t-1"))
        );
        assert_eq!(
            e.details.as_deref(),
            Some("category=RoleManagement role=Global Administrator")
        );
    }

    #[test]
    fn app_initiated_failure_keeps_the_reason_and_drops_null_addresses() {
        let e = parse(
            r#"{"time":"2019-06-24T09:18:23.58602Z","category":"AuditLogs","callerIpAddress":"<null>","resultDescription":"Spn.Exception","properties":{"result":"failure","resultReason":"","activityDisplayName":"Add service principal credentials ","initiatedBy":{"app":{"displayName":"deploy-pipeline","servicePrincipalId":"sp-1"}},"targetResources":[{"displayName":"billing-sync","Type":"ServicePrincipal","modifiedProperties":[{"displayName":"KeyDescription","newValue":"[\"[KeyIdentifier=k,KeyType=Password,KeyUsage=Verify,DisplayName=ci]\"]"}]}],"additionalDetails":[{"key":"User-Agent","value":"curl/8.5"}]}}"#,
        );
        assert_eq!(
            (e.actor.as_deref(), e.actor_type),
            (Some("deploy-pipeline"), ActorType::Service)
        );
        assert_eq!(e.time, at("2019-06-24T09:18:23.58602Z"));
        assert_eq!(
            e.action.as_deref(),
            Some("Add service principal credentials")
        );
        assert_eq!(
            (e.outcome, e.error.as_deref()),
            (Outcome::Failure, Some("Spn.Exception"))
        );
        assert_eq!(
            (e.src_ip, e.user_agent.as_deref()),
            (None, Some("curl/8.5"))
        );
        assert_eq!(e.resource.as_deref(), Some("billing-sync"));
        assert_eq!(e.details.as_deref(), Some("keyType=Password"));
    }

    #[test]
    fn graph_consent_lists_the_granted_scopes() {
        let e = parse(
            r#"{"id":"Directory_9","category":"ApplicationManagement","correlationId":"c-9","result":"success","activityDisplayName":"Consent to application","activityDateTime":"2024-05-16T14:22:09Z","loggedByService":"Core Directory","initiatedBy":{"app":null,"user":{"userPrincipalName":"dave@example.com","ipAddress":"2001:db8::7"}},"targetResources":[{"displayName":"MailReaderApp","type":"ServicePrincipal","modifiedProperties":[{"displayName":"ConsentContext.IsAdminConsent","newValue":"\"True\""},{"displayName":"ConsentAction.Permissions","newValue":"\"[] => [[Id: x, ConsentType: AllPrincipals, Scope:  Mail.Read offline_access, CreatedDateTime: ]]; \""}]}]}"#,
        );
        assert_eq!(e.log_type, "audit");
        assert_eq!(
            (e.actor.as_deref(), e.src_ip.as_deref()),
            (Some("dave@example.com"), Some("2001:db8::7"))
        );
        assert_eq!(e.resource.as_deref(), Some("MailReaderApp"));
        let details =
            "category=ApplicationManagement adminConsent=True permissions=Mail.Read,offline_access";
        assert_eq!(e.details.as_deref(), Some(details));
        assert_eq!((e.account, e.read_only), (None, None));
    }

    #[test]
    fn grants_name_the_grantee_and_policy_changes_their_controls() {
        let grant = parse(
            r#"{"activityDisplayName":"Add app role assignment to service principal","activityDateTime":"2024-05-16T14:25:00Z","initiatedBy":{"user":{"userPrincipalName":"dave@example.com"}},"targetResources":[{"displayName":"Microsoft Graph","type":"ServicePrincipal","modifiedProperties":[{"displayName":"AppRole.Value","newValue":"\"RoleManagement.ReadWrite.Directory\""},{"displayName":"ServicePrincipal.DisplayName","newValue":"\"backup-bot\""}]}]}"#,
        );
        assert_eq!(grant.resource.as_deref(), Some("backup-bot"));
        let details = "api=Microsoft Graph appRole=RoleManagement.ReadWrite.Directory";
        assert_eq!(grant.details.as_deref(), Some(details));
        let policy = parse(
            r#"{"activityDisplayName":"Update conditional access policy","activityDateTime":"2024-05-16T14:30:12Z","initiatedBy":{"user":{"userPrincipalName":"dave@example.com"}},"targetResources":[{"displayName":"Require MFA","type":"Policy","modifiedProperties":[{"displayName":"ConditionalAccessPolicy","oldValue":"{\"state\":\"enabled\",\"grantControls\":{\"builtInControls\":[\"mfa\"]}}","newValue":"{\"state\": \"disabled\",\"grantControls\":{\"builtInControls\":[\"block\"]}}"}]},{"displayName":"x","type":"User","modifiedProperties":[{"displayName":"StrongAuthenticationRequirement","oldValue":"[{\"State\":1}]","newValue":"[]"}]}]}"#,
        );
        let details = "strongAuthState=none caState=disabled caGrantOld=mfa caGrant=block";
        assert_eq!(policy.details.as_deref(), Some(details));
    }

    #[test]
    fn log_analytics_row_decodes_its_json_strings() {
        let e = parse(
            "{\"TenantId\":\"ws-1\",\"TimeGenerated\":\"2021-08-02T13:29:25.983Z\",\"OperationName\":\"Update application \u{2013} Certificates and secrets management \",\"Category\":\"ApplicationManagement\",\"CorrelationId\":\"c-3\",\"AdditionalDetails\":\"[{\\\"key\\\":\\\"User-Agent\\\",\\\"value\\\":\\\"WindowsPowerShell/5.1\\\"}]\",\"Id\":\"Directory_3\",\"InitiatedBy\":\"{\\\"user\\\":{\\\"userPrincipalName\\\":\\\"erin@example.com\\\",\\\"ipAddress\\\":null}}\",\"Result\":\"success\",\"TargetResources\":\"[{\\\"displayName\\\":\\\"PayrollConnector\\\",\\\"type\\\":\\\"Application\\\"}]\",\"AADTenantId\":\"t-3\",\"AADOperationType\":\"Update\",\"Type\":\"Application\"}\r\n",
        );
        assert_eq!(e.time, at("2021-08-02T13:29:25.983Z"));
        assert_eq!(
            (e.actor.as_deref(), e.actor_type),
            (Some("erin@example.com"), ActorType::Human)
        );
        assert_eq!(
            e.action.as_deref(),
            Some("Update application \u{2013} Certificates and secrets management")
        );
        assert_eq!(e.resource.as_deref(), Some("PayrollConnector"));
        assert_eq!(e.user_agent.as_deref(), Some("WindowsPowerShell/5.1"));
        assert_eq!(
            (e.account.as_deref(), e.event_id.as_deref()),
            (Some("t-3"), Some("Directory_3"))
        );
        assert_eq!(e.service.as_deref(), Some("ApplicationManagement"));
    }

    #[test]
    fn diagnostic_signin_uses_the_signin_time_and_short_error() {
        let e = parse(
            r#"{"time":"2024-05-14T08:17:30Z","category":"SignInLogs","tenantId":"t-1","resultType":"50126","callerIpAddress":"198.51.100.23","correlationId":"c-4","location":"RO","properties":{"id":"s-4","createdDateTime":"2024-05-14T03:15:00.5-05:00","userPrincipalName":"bob@example.com","appDisplayName":"OfficeHome","appId":"app-4","ipAddress":"198.51.100.23","status":{"errorCode":50126,"failureReason":"Error validating credentials. Check the password."},"clientAppUsed":"Browser","conditionalAccessStatus":"notApplied","authenticationRequirement":"singleFactorAuthentication","riskLevelDuringSignIn":"none","riskEventTypes_v2":["passwordSpray"],"resourceDisplayName":"Office 365 Exchange Online","userAgent":"python-requests/2.31","location":{"city":"","countryOrRegion":"RO"}}}"#,
        );
        assert_eq!(e.time, at("2024-05-14T08:15:00.5Z"));
        assert_eq!(
            (e.log_type.as_ref(), e.event_id.as_deref()),
            ("signin", Some("s-4"))
        );
        assert_eq!(
            (e.actor.as_deref(), e.actor_type),
            (Some("bob@example.com"), ActorType::Human)
        );
        assert_eq!(e.action.as_deref(), Some("Sign-in"));
        assert_eq!(e.service.as_deref(), Some("OfficeHome"));
        assert_eq!(e.resource.as_deref(), Some("Office 365 Exchange Online"));
        assert_eq!(
            (e.src_ip.as_deref(), e.location.as_deref()),
            (Some("198.51.100.23"), Some("RO"))
        );
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(
            e.error.as_deref(),
            Some("50126 Error validating credentials.")
        );
        assert_eq!((e.mfa, e.read_only), (Some(false), None));
        assert_eq!(
            (e.session.as_deref(), e.account.as_deref()),
            (Some("c-4"), Some("t-1"))
        );
        let details =
            "appId=app-4 clientApp=Browser conditionalAccess=notApplied riskEvents=passwordSpray";
        assert_eq!(e.details.as_deref(), Some(details));
    }

    #[test]
    fn signin_categories_give_log_type_and_actor_type() {
        let record = |category: &str, props: &str| {
            format!(
                r#"{{"time":"2024-05-14T08:00:00Z","category":"{category}","properties":{{"createdDateTime":"2024-05-14T07:59:00Z","status":{{"errorCode":0}},{props}}}}}"#
            )
        };
        let cases = [
            (
                "NonInteractiveUserSignInLogs",
                r#""userPrincipalName":"a@example.com","sessionId":"s""#,
                "signin_noninteractive",
                "a@example.com",
                ActorType::Human,
            ),
            (
                "ServicePrincipalSignInLogs",
                r#""servicePrincipalName":"billing-sync","appId":"x""#,
                "signin_service_principal",
                "billing-sync",
                ActorType::Service,
            ),
            (
                "MicrosoftServicePrincipalSignInLogs",
                r#""appDisplayName":"Office 365""#,
                "signin_service_principal",
                "Office 365",
                ActorType::Service,
            ),
            (
                "ManagedIdentitySignInLogs",
                r#""servicePrincipalId":"mi-1""#,
                "signin_managed_identity",
                "mi-1",
                ActorType::Service,
            ),
        ];
        for (category, props, log_type, actor, actor_type) in cases {
            let json = record(category, props);
            let e = parse(&json);
            assert_eq!(
                (e.log_type.as_ref(), e.actor.as_deref(), e.actor_type),
                (log_type, Some(actor), actor_type)
            );
            assert_eq!(
                (e.outcome, e.time),
                (Outcome::Success, at("2024-05-14T07:59:00Z"))
            );
        }
    }

    #[test]
    fn graph_signin_success_with_a_reason_is_still_success() {
        let e = parse(
            r#"{"id":"g-1","createdDateTime":"2025-08-15T15:20:26Z","userPrincipalName":"carol@example.com","appDisplayName":"Graph Explorer","ipAddress":"2600:100f:a100:735::1","clientAppUsed":"Browser","status":{"errorCode":0,"failureReason":"Other.","additionalDetails":"MFA requirement satisfied by claim in the token"},"location":{"city":"Hillsboro","countryOrRegion":"US"},"riskEventTypes_v2":"not-a-list"}"#,
        );
        assert_eq!((e.outcome, e.error), (Outcome::Success, None));
        assert_eq!(
            (e.mfa, e.location.as_deref()),
            (Some(true), Some("Hillsboro, US"))
        );
        assert_eq!(e.src_ip.as_deref(), Some("2600:100f:a100:735::1"));
        let sp = parse(
            r#"{"createdDateTime":"2024-05-20T06:50:00Z","signInEventTypes":["servicePrincipal"],"servicePrincipalName":"exporter","status":{"errorCode":7000215}}"#,
        );
        assert_eq!(
            (sp.log_type.as_ref(), sp.actor_type),
            ("signin_service_principal", ActorType::Service)
        );
        assert_eq!(sp.error.as_deref(), Some("7000215"));
    }

    #[test]
    fn log_analytics_signin_row_reads_status_and_location_strings() {
        let e = parse(
            r#"{"TenantId":"ws","TimeGenerated":"2024-05-21T11:20:01Z","CreatedDateTime":"2024-05-21T11:20:00.5Z","Category":"NonInteractiveUserSignInLogs","ResultType":"50074","ResultDescription":"Strong Authentication is required.","CorrelationId":"c-5","Location":"BR","AppDisplayName":"Microsoft Teams","IPAddress":"198.51.100.150","LocationDetails":"{\"city\":\"Sao Paulo\",\"countryOrRegion\":\"BR\"}","Status":"{\"errorCode\":50074}","MfaDetail":"{\"authMethod\":\"Phone call\"}","UserPrincipalName":"dave@example.com","AADTenantId":"t-5","Type":"SigninLogs"}"#,
        );
        assert_eq!(e.log_type, "signin_noninteractive");
        assert_eq!(e.time, at("2024-05-21T11:20:00.5Z"));
        assert_eq!(
            e.error.as_deref(),
            Some("50074 Strong Authentication is required.")
        );
        assert_eq!(
            (e.location.as_deref(), e.mfa),
            (Some("Sao Paulo, BR"), Some(true))
        );
        assert_eq!(
            (e.account.as_deref(), e.session.as_deref()),
            (Some("t-5"), Some("c-5"))
        );
    }

    #[test]
    fn graph_activity_is_templated_and_risk_events_pass_through() {
        let e = parse(
            r#"{"time":"2025-02-18T10:25:12.2779144Z","category":"MicrosoftGraphActivityLogs","callerIpAddress":"1.2.3.4","correlationId":"c-6","location":"North Europe","tenantId":"t-6","properties":{"requestId":"r-6","requestMethod":"get","responseStatusCode":403,"appId":"app-6","userId":"u-6","C_Idtyp":"user","C_Sid":"sid-6","scopes":"User.Read Mail.Read","ipAddress":"1.2.3.4","userAgent":"python-requests/2.32","requestUri":"https://graph.microsoft.com/v1.0/users/bob@example.com/messages/AAMkAGI2TG93AAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAYbvAQAAA=?$top=5"}}"#,
        );
        assert_eq!(
            (e.log_type.as_ref(), e.event_id.as_deref()),
            ("graph_activity", Some("r-6"))
        );
        assert_eq!(
            e.action.as_deref(),
            Some("GET /v1.0/users/{id}/messages/{id}")
        );
        assert_eq!(
            e.resource.as_deref(),
            Some(
                "/v1.0/users/bob@example.com/messages/AAMkAGI2TG93AAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAYbvAQAAA="
            )
        );
        assert_eq!(
            (e.actor.as_deref(), e.actor_type),
            (Some("u-6"), ActorType::Human)
        );
        assert_eq!(
            (e.outcome, e.error.as_deref(), e.read_only),
            (Outcome::Failure, Some("403"), Some(true))
        );
        assert_eq!(
            (e.session.as_deref(), e.location.as_deref()),
            (Some("sid-6"), Some("North Europe"))
        );
        assert_eq!(
            e.details.as_deref(),
            Some("appId=app-6 scopes=User.Read,Mail.Read")
        );
        let risk = parse(
            r#"{"time":"3/24/2022 2:42:35 PM","category":"UserRiskEvents","callerIpAddress":"5.6.7.8","properties":{"id":"k-7","riskEventType":"unfamiliarFeatures","riskState":"atRisk","riskLevel":"low","ipAddress":"5.6.7.8","activityDateTime":"2023-10-26T5:32:08.107Z","userPrincipalName":"bob@example.com","additionalInfo":"[{\"Key\":\"userAgent\",\"Value\":\"Mozilla/5.0\"}]"}}"#,
        );
        assert_eq!(
            (risk.log_type.as_ref(), risk.action.as_deref()),
            ("risk", Some("unfamiliarFeatures"))
        );
        assert_eq!(risk.time, at("2023-10-26T05:32:08.107Z"));
        assert_eq!(
            (risk.user_agent.as_deref(), risk.outcome),
            (Some("Mozilla/5.0"), Outcome::Unknown)
        );
        assert_eq!(
            risk.details.as_deref(),
            Some("riskLevel=low riskState=atRisk")
        );
    }

    #[test]
    fn sentinel_signin_csv_export_with_dynamic_pairs() {
        let (h, rows) = csv_rows(
            "\u{feff}TenantId,CreatedDateTime [UTC],Category,ResultType,CorrelationId,AppDisplayName,IPAddress,LocationDetails_dynamic,LocationDetails_string,Status_dynamic,Status_string,UserPrincipalName,AADTenantId,Type\r\n\
             ws,\"4/28/2021, 2:08:45.221 PM\",SignInLogs,50058,c-8,Teams,175.45.176.99,\"{\r\n  \"\"city\"\": \"\"Azor\"\",\r\n  \"\"countryOrRegion\"\": \"\"IL\"\"\r\n}\",,,\"{\"\"errorCode\"\":50058,\"\"failureReason\"\":\"\"Silent sign-in failed.\"\"}\",adelev@example.com,t-8,SigninLogs\r\n",
        );
        assert!(Entra.sniff_table(&h));
        let Some(row) = rows.first() else {
            panic!("no row")
        };
        let e = match Entra.parse_table(&h, row) {
            Ok(e) => e,
            Err(err) => panic!("{err}"),
        };
        assert_eq!(e.time, at("2021-04-28T14:08:45.221Z"));
        assert_eq!(
            (e.log_type.as_ref(), e.actor.as_deref()),
            ("signin", Some("adelev@example.com"))
        );
        assert_eq!(
            (e.location.as_deref(), e.account.as_deref()),
            (Some("Azor, IL"), Some("t-8"))
        );
        assert_eq!(e.error.as_deref(), Some("50058 Silent sign-in failed."));
    }

    #[test]
    fn sentinel_audit_csv_without_time_column() {
        let (h, rows) = csv_rows(
            "OperationName,InitiatingUserOrApp,InitiatingIpAddress,UserAgent,CorrelationId,Category,AdditionalDetails,Id,InitiatedBy,LoggedByService,Result,TargetResources,AADOperationType,Type\n\
             Update application \u{2013} Certificates and secrets management ,Victim@example.com,,Edg/92.0,c-9,ApplicationManagement,[],Directory_9,\"{\"\"user\"\":{\"\"userPrincipalName\"\":\"\"victim@example.com\"\",\"\"ipAddress\"\":\"\"45.153.160.2\"\"}}\",Core Directory,success,\"[{\"\"displayName\"\":\"\"purview-spn\"\",\"\"type\"\":\"\"Application\"\"}]\",Update,AuditLogs\n",
        );
        assert!(Entra.sniff_table(&h));
        let Some(Ok(e)) = rows.first().map(|r| Entra.parse_table(&h, r)) else {
            panic!("row refused")
        };
        assert_eq!((e.time, e.log_type.as_ref()), (None, "audit"));
        assert_eq!(
            (e.actor.as_deref(), e.src_ip.as_deref()),
            (Some("victim@example.com"), Some("45.153.160.2"))
        );
        assert_eq!(
            (e.resource.as_deref(), e.user_agent.as_deref()),
            (Some("purview-spn"), Some("Edg/92.0"))
        );
    }

    #[test]
    fn sniffing_accepts_entra_shapes_only() {
        assert!(probe(ROLE));
        assert!(probe(
            r#"{"Type":"SigninLogs","UserPrincipalName":"a@example.com"}"#
        ));
        assert!(probe(
            r#"{"activityDateTime":"2024-01-01T00:00:00Z","activityDisplayName":"Update user","initiatedBy":{}}"#
        ));
        assert!(probe(
            r#"{"createdDateTime":"2024-01-01T00:00:00Z","userPrincipalName":"a@example.com","status":{"errorCode":0}}"#
        ));
        assert!(probe(
            r#"{"category":"SignInLogs","properties":{"createdDateTime":"2024-01-01T00:00:00Z"}}"#
        ));
        let others = [
            r#"{"kind": 0}"#,
            r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}"#,
            r#"{"name":"organizations/1/sources/2/findings/3","category":"PERSISTENCE","createTime":"2024-01-01T00:00:00Z"}"#,
            r#"{"time":"2024-01-01T00:00:00Z","category":"Administrative","operationName":"MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE","properties":{"statusCode":"Created"}}"#,
            r#"{"category":"AuditLogs","properties":{"log":"{}"}}"#,
            r#"{"Type":"AzureActivity","OperationNameValue":"X","TimeGenerated":"2024-01-01T00:00:00Z"}"#,
            r#"{"published":"2024-01-01T00:00:00Z","eventType":"user.session.start","actor":{"alternateId":"a@example.com"}}"#,
        ];
        for other in others {
            assert!(!probe(other), "{other}");
        }
        let (azure, _) = csv_rows("OperationName,Caller,CallerIpAddress,InitiatedBy,Type\n");
        assert!(!Entra.sniff_table(&azure));
    }

    #[test]
    fn rejections_are_specific_and_wrong_types_cost_one_field() {
        let reject = |json: &str| Entra.parse_json(json.as_bytes()).err();
        assert_eq!(reject(r#"{"kind": 0}"#), Some(RecordError::NotThisFormat));
        assert_eq!(
            reject(r#"{"Type":"AzureActivity","OperationName":"X"}"#),
            Some(RecordError::NotThisFormat)
        );
        assert_eq!(
            reject(r#"{"category":"Administrative","properties":{"activityDisplayName":"x"}}"#),
            Some(RecordError::NotThisFormat)
        );
        let missing = "Entra audit record has no activityDateTime/time and no initiatedBy";
        assert_eq!(
            reject(
                r#"{"category":"AuditLogs","properties":{"activityDisplayName":"Update user","initiatedBy":{}}}"#
            ),
            Some(RecordError::Invalid(missing.into()))
        );
        assert!(matches!(
            reject(r#"{"category":"AuditLogs","properties":{"#),
            Some(RecordError::Invalid(_))
        ));
        let e = parse(
            r#"{"time":"2024-01-01T00:00:00Z","category":"AuditLogs","properties":{"activityDisplayName":"Update user","initiatedBy":42,"targetResources":"not json","additionalDetails":{"a":1},"result":["x"]}}"#,
        );
        assert_eq!(
            (e.actor, e.resource, e.outcome),
            (None, None, Outcome::Unknown)
        );
        let e = parse(
            r#"{"createdDateTime":"2024-01-01T00:00:00Z","userPrincipalName":"a@example.com","status":[1],"location":7,"mfaDetail":"{broken"}"#,
        );
        assert_eq!(
            (e.outcome, e.location, e.mfa),
            (Outcome::Unknown, None, None)
        );
    }

    #[test]
    fn request_paths_become_templates() {
        assert_eq!(
            path_template(graph_path("https://graph.microsoft.com/")),
            "/"
        );
        let uri = "https://graph.microsoft.com/beta/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')/appRoleAssignedTo?$x=1";
        assert_eq!(
            path_template(graph_path(uri)),
            "/beta/servicePrincipals({id})/appRoleAssignedTo"
        );
        assert_eq!(
            path_template("/v1.0/groups/12345/members/$ref"),
            "/v1.0/groups/{id}/members/$ref"
        );
        assert_eq!(
            path_template("/v1.0/me/microsoft.graph.delta()"),
            "/v1.0/me/microsoft.graph.delta({id})"
        );
    }
}
