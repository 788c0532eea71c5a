//! Google Cloud audit logs: Cloud Logging `LogEntry` records whose `protoPayload` is a
//! `google.cloud.audit.AuditLog` (Admin Activity, Data Access, System Event, Policy Denied),
//! including GKE (`k8s.io`) entries and Google Workspace sign-in events delivered through
//! Cloud Audit Logs (`login.googleapis.com`).
//!
//! Nested objects and arrays are read through [`Obj`] / [`Many`], which give up on a field of
//! the wrong type instead of failing the record. Large request/response bodies (GKE objects
//! with `managedFields`) are skipped by serde, never buffered.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use sonic_rs::JsonValueTrait;

use super::fields::{
    Flag, Num, Text, details_from, from_json, looks_read_only, probe_get, probe_has, probe_str,
    sub_cow,
};
use super::time::parse_rfc3339;
use super::{Probe, Provider, RecordError};
use crate::schema::{ActorType, Event, Outcome};

/// Suffix of the `protoPayload.@type` of audit entries.
const AUDIT_LOG_TYPE: &str = "google.cloud.audit.AuditLog";
/// Marker of audit log names (`.../logs/cloudaudit.googleapis.com%2Factivity`).
const AUDIT_LOG_NAME: &str = "cloudaudit.googleapis.com";
/// Most items of a list kept in `details`.
const MAX_LIST: usize = 6;
/// Longest `details` text kept.
const MAX_DETAILS: usize = 300;

/// Google Cloud audit logs (`--input-format gcp-audit`).
pub struct Gcp;

impl Provider for Gcp {
    fn format(&self) -> &'static str {
        "gcp-audit"
    }

    fn sniff_json(&self, probe: &Probe) -> bool {
        if !probe_get(probe, &["protoPayload"]).is_some_and(|p| p.is_object()) {
            return false;
        }
        probe_str(probe, &["protoPayload", "@type"]).is_some_and(|t| t.ends_with(AUDIT_LOG_TYPE))
            || probe_str(probe, &["logName"]).is_some_and(|l| l.contains(AUDIT_LOG_NAME))
            // SIEM re-exports without `@type` or `logName`: an audit payload's own fields.
            || (probe_str(probe, &["protoPayload", "methodName"]).is_some()
                && probe_str(probe, &["protoPayload", "serviceName"]).is_some()
                && (probe_has(probe, &["protoPayload", "authenticationInfo"])
                    || probe_has(probe, &["protoPayload", "authorizationInfo"])))
    }

    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError> {
        match from_json::<Obj<Entry<'a>>>(record)?.0 {
            Some(entry) => parse_entry(entry),
            None => Err(RecordError::NotThisFormat),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lenient containers
// ---------------------------------------------------------------------------------------

/// An object read leniently: an array gives its first object, any other value `None`.
#[derive(Default)]
struct Obj<T>(Option<T>);

/// An array of objects read leniently: non-object elements are dropped, a lone object is a
/// one-element array, any other value is empty.
#[derive(Default)]
struct Many<T>(Vec<T>);

impl<T: Default> Obj<T> {
    fn take(self) -> T {
        self.0.unwrap_or_default()
    }
}

impl<T> Many<T> {
    fn first(self) -> Option<T> {
        self.0.into_iter().next()
    }
}

impl<T> Extend<T> for Obj<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        if self.0.is_none() {
            self.0 = items.into_iter().next();
        }
    }
}

impl<T> Extend<T> for Many<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        self.0.extend(items);
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(PhantomData))
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(PhantomData))
    }
}

/// Collects the values of type `T` found in a JSON value into `C` (an [`Obj`] or a
/// [`Many`]): an object (or, for [`Text`], a string) gives one value, an array those of its
/// elements, anything else none.
struct Lenient<T, C>(PhantomData<(T, C)>);

impl<'de, T: Deserialize<'de> + Default, C: Default + Extend<T>> Visitor<'de> for Lenient<T, C> {
    type Value = C;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<C, A::Error> {
        let mut out = C::default();
        out.extend([T::deserialize(de::value::MapAccessDeserializer::new(map))?]);
        Ok(out)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<C, A::Error> {
        let mut out = C::default();
        while let Some(item) = seq.next_element::<Obj<T>>()? {
            out.extend(item.0);
        }
        Ok(out)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<C, E> {
        let mut out = C::default();
        out.extend(T::deserialize(de::value::BorrowedStrDeserializer::<
            de::value::Error,
        >::new(v)));
        Ok(out)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<C, E> {
        let mut out = C::default();
        out.extend(T::deserialize(
            de::value::StrDeserializer::<de::value::Error>::new(v),
        ));
        Ok(out)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<C, E> {
        Ok(C::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<C, E> {
        Ok(C::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<C, E> {
        Ok(C::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<C, E> {
        Ok(C::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<C, E> {
        Ok(C::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<C, E> {
        Ok(C::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<C, D::Error> {
        d.deserialize_any(self)
    }
}

// ---------------------------------------------------------------------------------------
// Record shape (only the fields used; serde skips the rest)
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Entry<'a> {
    insert_id: Text<'a>,
    log_name: Text<'a>,
    timestamp: Text<'a>,
    receive_timestamp: Text<'a>,
    resource: Obj<MonitoredResource<'a>>,
    operation: Obj<Operation<'a>>,
    proto_payload: Option<Obj<AuditLog<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct MonitoredResource<'a> {
    labels: Obj<Labels<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Labels<'a> {
    project_id: Text<'a>,
    location: Text<'a>,
    zone: Text<'a>,
    region: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Operation<'a> {
    id: Text<'a>,
    first: Flag,
    last: Flag,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct AuditLog<'a> {
    #[serde(rename = "@type")]
    type_url: Text<'a>,
    service_name: Text<'a>,
    method_name: Text<'a>,
    resource_name: Text<'a>,
    authentication_info: Obj<AuthInfo<'a>>,
    authorization_info: Many<Authz<'a>>,
    request_metadata: Obj<Caller<'a>>,
    status: Obj<Status<'a>>,
    resource_location: Obj<Nested<'a>>,
    request: Obj<Request<'a>>,
    response: Many<Named<'a>>,
    service_data: Obj<Nested<'a>>,
    metadata: Obj<WorkspaceMetadata<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct AuthInfo<'a> {
    principal_email: Text<'a>,
    principal_subject: Text<'a>,
    /// GKE names an unauthenticated caller here in some exports (`system:anonymous`).
    authority_selector: Text<'a>,
    service_account_key_name: Text<'a>,
    service_account_delegation_info: Many<Delegation<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Delegation<'a> {
    first_party_principal: Many<Named<'a>>,
    principal_subject: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Authz<'a> {
    permission: Text<'a>,
    granted: Flag,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Caller<'a> {
    caller_ip: Text<'a>,
    caller_supplied_user_agent: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Status<'a> {
    code: Num,
    message: Text<'a>,
}

/// `resourceLocation`, `serviceData` and its `policyDelta`: the nested lists used.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Nested<'a> {
    current_locations: Many<Text<'a>>,
    policy_delta: Many<Nested<'a>>,
    binding_deltas: Many<Named<'a>>,
}

/// The request fields detections need (key target, sink, exclusion, RBAC binding, invitee);
/// the rarely present objects are `Many` so that they take no room when absent.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Request<'a> {
    name: Text<'a>,
    member: Text<'a>,
    sink: Many<Named<'a>>,
    exclusion: Many<Named<'a>>,
    role_ref: Many<Named<'a>>,
    subjects: Many<Named<'a>>,
    /// A GKE (Cluster)Role's rules.
    rules: Many<RoleRule<'a>>,
}

/// One rule of a Kubernetes (Cluster)Role.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct RoleRule<'a> {
    verbs: Many<Text<'a>>,
    resources: Many<Text<'a>>,
}

/// The small named objects: `response`, `firstPartyPrincipal`, `bindingDeltas[]`, and the
/// request's sink, exclusion, RBAC `roleRef` and `subjects[]`; each fills a few keys.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Named<'a> {
    name: Text<'a>,
    kind: Text<'a>,
    namespace: Text<'a>,
    destination: Text<'a>,
    filter: Text<'a>,
    action: Text<'a>,
    role: Text<'a>,
    member: Text<'a>,
    principal_email: Text<'a>,
}

/// Google Workspace activity (`metadata.event[].parameter[]`) of `login.googleapis.com`.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct WorkspaceMetadata<'a> {
    event: Many<WorkspaceEvent<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct WorkspaceEvent<'a> {
    event_name: Text<'a>,
    status: Obj<WorkspaceStatus>,
    parameter: Many<WorkspaceParam<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WorkspaceStatus {
    success: Flag,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct WorkspaceParam<'a> {
    name: Text<'a>,
    value: Text<'a>,
    multi_str_value: Many<Text<'a>>,
    bool_value: Flag,
}

impl<'a> WorkspaceMetadata<'a> {
    fn param(&self, name: &str) -> Option<&WorkspaceParam<'a>> {
        let mut params = self.event.0.iter().flat_map(|e| e.parameter.0.iter());
        params.find(|p| p.name.get() == Some(name))
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.param(name).and_then(|p| p.value.get())
    }

    fn flag(&self, name: &str) -> bool {
        self.param(name).and_then(|p| p.bool_value.0) == Some(true)
    }
}

// ---------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------

fn parse_entry(entry: Entry<'_>) -> Result<Event<'_>, RecordError> {
    let invalid = |reason: &str| Err(RecordError::Invalid(reason.to_owned()));
    let p = match entry.proto_payload {
        None => return Err(RecordError::NotThisFormat),
        Some(Obj(None)) => {
            return invalid("GCP audit entry has a protoPayload that is not an object");
        }
        Some(Obj(Some(p))) => p,
    };
    let log_name = entry.log_name.0.unwrap_or_default();
    let type_url = p.type_url.get().unwrap_or(AUDIT_LOG_TYPE);
    if !type_url.ends_with(AUDIT_LOG_TYPE) && !log_name.contains(AUDIT_LOG_NAME) {
        return Err(RecordError::NotThisFormat);
    }
    if p.method_name.0.is_none() && p.service_name.0.is_none() {
        return invalid("GCP audit entry has no protoPayload.methodName or serviceName");
    }

    let log_type = log_type(&log_name);
    let method = p.method_name.0;
    let m = method.as_deref().unwrap_or_default();
    let verb = last_segment(m);
    let service = p
        .service_name
        .0
        .map(|c| sub_cow(&c, strip_googleapis).unwrap_or(c));
    let svc = service.as_deref().unwrap_or_default();
    let is_login = svc == "login" || m.contains(".LoginService.");
    let ws = p.metadata.0.filter(|_| is_login).unwrap_or_default();
    // The event time; `receiveTimestamp` (ingestion) only when `timestamp` is missing.
    let time = (entry.timestamp.get().and_then(parse_rfc3339))
        .or_else(|| entry.receive_timestamp.get().and_then(parse_rfc3339));

    let auth = p.authentication_info.take();
    let delegate = auth
        .service_account_delegation_info
        .0
        .into_iter()
        .find_map(|d| {
            let first_party = d
                .first_party_principal
                .first()
                .and_then(|f| f.principal_email.0);
            first_party.or(d.principal_subject.0.map(strip_subject_kind))
        });
    let subject = auth.principal_subject.0.map(strip_subject_kind);
    // GKE logs an anonymous caller as `principalEmail: system:anonymous`; some exports name it
    // only as the authority selector, read when no principal is named (as Panther does).
    let selector = auth.authority_selector.0.filter(|_| svc == "k8s.io");
    let (actor, delegated_by) = match auth.principal_email.0.or(subject) {
        Some(actor) => (Some(actor), delegate),
        None => (delegate.or(selector), None),
    };

    let authz = p.authorization_info.0;
    let denied = authz.iter().find(|a| a.granted.0 == Some(false));
    let status = p.status.take();
    let (outcome, error) = outcome(&status, denied.is_some(), &ws, verb);
    let mfa = login_mfa(&ws, verb);

    // Target: the key's service account for key creation, the service account whose
    // credentials a token call mints (its `resourceName` is often the numeric id, the
    // request names its e-mail), the affected user of Workspace account warnings, else
    // `resourceName`.
    let request = p.request.take();
    let response = p.response.first().unwrap_or_default();
    let mut resource = p.resource_name.0;
    const MINTING: [&str; 6] = [
        "CreateServiceAccountKey",
        "UploadServiceAccountKey",
        "GenerateAccessToken",
        "GenerateIdToken",
        "SignBlob",
        "SignJwt",
    ];
    if MINTING.contains(&verb) {
        let names = [&request.name.0, &response.name.0, &resource];
        let target = names
            .into_iter()
            .flatten()
            .find_map(|c| sub_cow(c, service_account_of));
        resource = target.or(resource);
    }
    let affected = ws.param("affected_email_address");
    resource = affected.and_then(|p| p.value.0.clone()).or(resource);

    // Details.
    let delta = p.service_data.take().policy_delta.first();
    let bindings = delta.map(|d| {
        let text = |b: &Named<'_>| format!("{} {} {}", q(&b.action), q(&b.role), q(&b.member));
        list_text(&d.binding_deltas.0, ";", text)
    });
    let leaf = resource.as_deref().and_then(|r| r.rsplit('/').next());
    let logging_write = svc == "logging" && !looks_read_only(verb);
    let logging = |kind: &str| logging_write && verb.contains(kind);
    let (is_sink, is_exclusion, is_bucket) =
        (logging("Sink"), logging("Exclusion"), logging("Bucket"));
    let sink = request.sink.first().unwrap_or_default();
    let exclusion = request.exclusion.first().unwrap_or_default();
    let filter = exclusion.filter.get().map(|f| shorten(f, 80));
    let key_names = [response.name.get(), resource.as_deref()]
        .into_iter()
        .flatten();
    let key = key_names.filter_map(|n| n.split_once("/keys/")).next();
    let key = key
        .map(|(_, id)| id)
        .filter(|_| verb.contains("ServiceAccountKey"));
    let failed_first = authz.first().filter(|_| outcome == Outcome::Failure);
    let sensitive = authz
        .iter()
        .find(|a| is_sensitive_permission(a.permission.get()));
    let permission = denied
        .or(failed_first)
        .or(sensitive)
        .and_then(|a| a.permission.get());
    let is_k8s = svc == "k8s.io";
    let k8s = resource.as_deref().and_then(|r| k8s_object(is_k8s, r));
    let role_ref = request.role_ref.first().filter(|_| is_k8s);
    let subjects = role_ref.as_ref().map(|_| {
        let text = |s: &Named<'_>| match s.namespace.get() {
            Some(ns) => format!("{}:{ns}/{}", q(&s.kind), q(&s.name)),
            None => format!("{}:{}", q(&s.kind), q(&s.name)),
        };
        list_text(&request.subjects.0, ",", text)
    });
    // A role's grants, as the Kubernetes parser gives them, so one rule judges both.
    let is_role = is_k8s && (verb == "create" || verb == "update" || verb == "patch");
    let rules = request.rules.0.iter().filter(|_| is_role);
    let verbs = distinct_list(rules.clone().flat_map(|r| r.verbs.0.iter()));
    let resources = distinct_list(rules.flat_map(|r| r.resources.0.iter()));
    let challenge = ws
        .param("login_challenge_method")
        .map(|p| joined(&p.multi_str_value.0));
    let suspicious = ws.flag("is_suspicious").then_some("true");
    let forward_to = ws.value("email_forwarding_destination_address");
    let exclusion_name = exclusion.name.get().or(leaf).filter(|_| is_exclusion);
    let pairs = [
        ("bindings", bindings.as_deref()),
        ("sink", sink.name.get().or(leaf).filter(|_| is_sink)),
        ("destination", sink.destination.get()),
        ("exclusion", exclusion_name),
        ("filter", filter.as_deref()),
        ("bucket", leaf.filter(|_| is_bucket)),
        ("serviceAccountKey", key),
        ("permission", permission),
        ("delegation", delegated_by.as_deref()),
        ("member", request.member.get()),
        ("namespace", k8s.map(|(ns, _)| ns)),
        ("object", k8s.map(|(_, object)| object)),
        ("roleRef", role_ref.as_ref().and_then(|r| r.name.get())),
        ("subjects", subjects.as_deref()),
        ("verbs", verbs.as_deref()),
        ("resources", resources.as_deref()),
        ("login_type", ws.value("login_type")),
        ("challenge", challenge.as_deref()),
        ("suspicious", suspicious),
        ("forward_to", forward_to),
    ];
    let details = details_from(&pairs).map(|s| Cow::Owned(shorten(&s, MAX_DETAILS)));

    // Session: the service-account key used; the correlation: a long-running operation
    // spanning entries.
    let op = entry.operation.take();
    let one_entry_op = op.first.0 == Some(true) && op.last.0 == Some(true);
    let correlation_id = op.id.0.filter(|_| !one_entry_op);
    let session = auth.service_account_key_name.0;
    let labels = entry.resource.take().labels.take();
    let locations = p.resource_location.take().current_locations.0;
    let first_location = locations.into_iter().find_map(Text::into_inner);
    let location = labels.location.0.or(labels.zone.0).or(labels.region.0);
    let project = sub_cow(&log_name, account_of_log_name);
    let caller = p.request_metadata.take();
    Ok(Event {
        time,
        provider: "gcp",
        log_type: Cow::Borrowed(log_type),
        event_id: entry.insert_id.0,
        actor_type: actor_type(actor.as_deref()),
        actor_id: None,
        actor,
        read_only: read_only(log_type, method.as_deref().unwrap_or_default()),
        action: method,
        service,
        resource,
        src_ip: caller.caller_ip.0,
        user_agent: caller.caller_supplied_user_agent.0,
        region: location.or(first_location),
        country: None,
        city: None,
        outcome,
        error,
        mfa,
        session,
        correlation_id,
        account: labels.project_id.0.or(project),
        details,
        completeness: None,
    })
}

/// Failure when `status.code` is set and not 0, when an `authorizationInfo[]` permission was
/// not granted, or when a Workspace sign-in failed.
fn outcome<'a>(
    status: &Status<'_>,
    denied: bool,
    ws: &WorkspaceMetadata<'_>,
    verb: &str,
) -> (Outcome, Option<Cow<'a, str>>) {
    if let Some(code) = status.code.as_i64().filter(|&c| c != 0) {
        return (
            Outcome::Failure,
            Some(Cow::Owned(status_error(code, status.message.get()))),
        );
    }
    if denied {
        return (Outcome::Failure, Some(Cow::Borrowed("7 PERMISSION_DENIED")));
    }
    let failed = ws
        .event
        .0
        .iter()
        .find(|e| e.status.0.as_ref().and_then(|s| s.success.0) == Some(false));
    let reason = if verb.eq_ignore_ascii_case("loginFailure") {
        Some(ws.value("login_failure_type").unwrap_or("login_failure"))
    } else if let Some(event) = failed {
        Some(event.event_name.get().unwrap_or(verb))
    } else {
        ws.value("login_challenge_status")
            .filter(|s| !s.eq_ignore_ascii_case("passed"))
    };
    match reason {
        Some(reason) => (Outcome::Failure, Some(Cow::Owned(reason.to_owned()))),
        None => (Outcome::Success, None),
    }
}

/// The log within Cloud Audit Logs, from the `logName` suffix.
fn log_type(log_name: &str) -> &'static str {
    let Some((_, rest)) = log_name.split_once(AUDIT_LOG_NAME) else {
        return "audit";
    };
    let encoded = rest.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("%2F"));
    let suffix = rest
        .strip_prefix('/')
        .or_else(|| rest.get(3..).filter(|_| encoded));
    match suffix {
        Some("activity") => "activity",
        Some("data_access") => "data_access",
        Some("system_event") => "system_event",
        Some("policy") => "policy",
        Some("access_transparency") => "access_transparency",
        _ => "audit",
    }
}

/// Whether the call only reads: Admin Activity and System Event entries are changes by
/// definition; otherwise the verb of the method decides, when it is clear.
fn read_only(log_type: &str, method: &str) -> Option<bool> {
    const READ_EXTRA: [&str; 3] = ["aggregatedlist", "access", "testiampermissions"];
    const WRITE: [&str; 40] = [
        "create", "insert", "delete", "update", "patch", "set", "add", "remove", "put", "upload",
        "undelete", "enable", "disable", "import", "stop", "start", "reset", "move", "restore",
        "attach", "detach", "deploy", "cancel", "write", "destroy", "publish", "approve", "revoke",
        "assign", "rotate", "grant", "modify", "replace", "resize", "rollback", "suspend",
        "resume", "apply", "invite", "bind",
    ];
    if matches!(log_type, "activity" | "system_event") {
        return Some(false);
    }
    if method.is_empty() {
        return None;
    }
    let verb = last_segment(method).to_ascii_lowercase();
    if looks_read_only(method) || READ_EXTRA.iter().any(|p| verb.starts_with(p)) {
        Some(true)
    } else if WRITE.iter().any(|p| verb.starts_with(p)) {
        Some(false)
    } else {
        None
    }
}

/// Classifies a principal: service accounts, GKE identities, Google service agents, people.
fn actor_type(actor: Option<&str>) -> ActorType {
    let Some(actor) = actor else {
        return ActorType::Unknown;
    };
    if actor == "system:anonymous" || actor == "system:unauthenticated" {
        return ActorType::Anonymous;
    }
    if actor.starts_with("system:serviceaccount:") {
        return ActorType::Service;
    }
    if actor.starts_with("system:") || actor.eq_ignore_ascii_case("system@google.com") {
        return ActorType::System;
    }
    if let Some((local, domain)) = actor.rsplit_once('@') {
        let domain = domain.to_ascii_lowercase();
        if domain.ends_with("gserviceaccount.com") {
            let agent = domain == "cloudservices.gserviceaccount.com"
                || domain.starts_with("gcp-sa-")
                || domain.contains("-robot")
                || domain.ends_with("system.gserviceaccount.com")
                || domain.ends_with("system.iam.gserviceaccount.com")
                || local
                    .strip_prefix("service-")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
            return if agent {
                ActorType::System
            } else {
                ActorType::Service
            };
        }
        return ActorType::Human;
    }
    if actor.contains("/workloadIdentityPools/") {
        ActorType::Service
    } else if actor.contains("/workforcePools/") {
        ActorType::Human
    } else {
        ActorType::Unknown
    }
}

/// Distinct texts joined with `,`, at most [`MAX_LIST`] (then `+N`), the wildcards and
/// subresources first so that a cut never hides what a role grants; `None` when empty.
fn distinct_list<'t, 'a: 't>(texts: impl Iterator<Item = &'t Text<'a>>) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for t in texts.filter_map(Text::get) {
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    if seen.len() > MAX_LIST {
        let grants = |t: &str| {
            t.contains('*')
                || t.contains('/')
                || matches!(t, "escalate" | "bind" | "impersonate" | "secrets")
        };
        seen.sort_by_key(|t| !grants(t));
    }
    let mut out = seen
        .iter()
        .take(MAX_LIST)
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    if seen.len() > MAX_LIST {
        out.push_str(&format!(",+{}", seen.len() - MAX_LIST));
    }
    (!out.is_empty()).then_some(out)
}

/// `status.code` as `"<code> <NAME>"`, with the message appended when it says more.
fn status_error(code: i64, message: Option<&str>) -> String {
    const NAMES: &str = "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND \
        ALREADY_EXISTS PERMISSION_DENIED RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED \
        OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED";
    let name = usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.split(' ').nth(i));
    let mut out = match name {
        Some(name) => format!("{code} {name}"),
        None => code.to_string(),
    };
    if let Some(msg) = message
        .map(str::trim)
        .filter(|m| !m.is_empty() && Some(*m) != name)
    {
        out.push_str(": ");
        out.push_str(&shorten(msg, 120));
    }
    out
}

/// MFA from a Workspace sign-in: a second factor, or a challenge beyond the password.
fn login_mfa(ws: &WorkspaceMetadata<'_>, verb: &str) -> Option<bool> {
    if !verb.starts_with("login") {
        return None;
    }
    if ws.flag("is_second_factor") {
        return Some(true);
    }
    let param = ws.param("login_challenge_method")?;
    let listed = param.multi_str_value.0.iter().filter_map(|m| m.get());
    let mut methods = listed.chain(param.value.get());
    let mut seen = false;
    let strong = methods.any(|m| {
        seen = true;
        !matches!(m, "password" | "none" | "")
    });
    (strong || seen).then_some(strong)
}

/// Up to four items joined by `sep`, noting how many were left out.
fn list_text<T>(items: &[T], sep: &str, f: impl Fn(&T) -> String) -> String {
    let mut out: Vec<String> = items.iter().take(4).map(f).collect();
    if items.len() > 4 {
        out.push(format!("+{} more", items.len() - 4));
    }
    out.join(sep)
}

/// A text field, `?` when missing.
fn q<'t>(t: &'t Text<'_>) -> &'t str {
    t.get().unwrap_or("?")
}

/// The permissions worth surfacing even when granted (impersonation, key minting).
fn is_sensitive_permission(permission: Option<&str>) -> bool {
    const SENSITIVE: [&str; 7] = [
        "iam.serviceAccountKeys.create",
        "storage.hmacKeys.create",
        "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.signBlob",
        "iam.serviceAccounts.signJwt",
        "iam.serviceAccounts.implicitDelegation",
        "iam.serviceAccounts.getOpenIdToken",
    ];
    permission.is_some_and(|p| SENSITIVE.contains(&p))
}

/// GKE resource names: `core/v1/namespaces/<ns>/<resource>/<name>[/<sub>]` gives
/// `(ns, "<resource>/<name>[/<sub>]")`; cluster-scoped `core/v1/nodes/<name>` gives `("", ..)`.
fn k8s_object(is_k8s: bool, resource: &str) -> Option<(&str, &str)> {
    if !is_k8s {
        return None;
    }
    let mut it = resource.splitn(3, '/');
    let (_group, _version, rest) = (it.next()?, it.next()?, it.next()?);
    if let Some(namespaced) = rest.strip_prefix("namespaces/")
        && let Some((ns, object)) = namespaced.split_once('/')
    {
        return Some((ns, object));
    }
    Some(("", rest))
}

/// The service account of `projects/-/serviceAccounts/<sa>[/keys/<id>]` (all of `<sa>`, even
/// when it holds a slash).
fn service_account_of(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("serviceAccounts/")?;
    let sa = rest.split("/keys/").next()?.trim_end_matches('/');
    (!sa.is_empty()).then_some(sa)
}

/// The project (`projects/<id>/logs/...` → `<id>`) or the organization/folder/billing
/// account (`organizations/123`) a log name belongs to.
fn account_of_log_name(log_name: &str) -> Option<&str> {
    let mut parts = log_name.splitn(3, '/');
    let (kind, id) = (parts.next()?, parts.next()?);
    if id.is_empty() {
        return None;
    }
    match kind {
        "projects" => Some(id),
        "organizations" | "folders" | "billingAccounts" => {
            log_name.get(..kind.len() + 1 + id.len())
        }
        _ => None,
    }
}

fn strip_googleapis(s: &str) -> Option<&str> {
    s.strip_suffix(".googleapis.com")
}

/// Comma-separated non-empty texts.
fn joined(texts: &[Text<'_>]) -> String {
    texts
        .iter()
        .filter_map(|t| t.get())
        .collect::<Vec<_>>()
        .join(",")
}

/// `user:x@y` / `serviceAccount:x@y` → `x@y`; `principal://...` is kept.
fn strip_subject_kind(subject: Cow<'_, str>) -> Cow<'_, str> {
    fn strip(s: &str) -> Option<&str> {
        s.strip_prefix("user:")
            .or_else(|| s.strip_prefix("serviceAccount:"))
    }
    sub_cow(&subject, strip).unwrap_or(subject)
}

/// The last dot-separated segment of a method name (`google.iam.admin.v1.CreateRole` →
/// `CreateRole`).
fn last_segment(method: &str) -> &str {
    method.rsplit('.').next().unwrap_or(method)
}

/// Cuts text to at most `max` bytes on a char boundary, marking the cut.
fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", s.get(..end).unwrap_or_default())
}

#[cfg(test)]
mod tests;
