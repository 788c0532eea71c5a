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

use super::{
    Flag, Num, Probe, Provider, RecordError, Text, details_from, from_json, looks_read_only,
    parse_rfc3339, probe_get, probe_str,
};
use crate::schema::{ActorType, Event, Outcome};

/// Suffix of the `protoPayload.@type` of audit entries.
const AUDIT_LOG_TYPE: &str = "google.cloud.audit.AuditLog";
/// Marker of audit log names (`.../logs/cloudaudit.googleapis.com%2Factivity`).
const AUDIT_LOG_NAME: &str = "cloudaudit.googleapis.com";
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
        .map(|c| sub_cow_opt(&c, strip_googleapis).unwrap_or(c));
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
    let (actor, delegated_by) = match auth.principal_email.0.or(subject) {
        Some(actor) => (Some(actor), delegate),
        None => (delegate, None),
    };

    let authz = p.authorization_info.0;
    let denied = authz.iter().find(|a| a.granted.0 == Some(false));
    let status = p.status.take();
    let (outcome, error) = outcome(&status, denied.is_some(), &ws, verb);
    let mfa = login_mfa(&ws, verb);

    // Target: the key's service account for key creation, the affected user of Workspace
    // account warnings, else `resourceName`.
    let request = p.request.take();
    let response = p.response.first().unwrap_or_default();
    let mut resource = p.resource_name.0;
    if verb == "CreateServiceAccountKey" || verb == "UploadServiceAccountKey" {
        let names = [&request.name.0, &response.name.0, &resource];
        let target = names
            .into_iter()
            .flatten()
            .find_map(|c| sub_cow_opt(c, service_account_of));
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
        ("login_type", ws.value("login_type")),
        ("challenge", challenge.as_deref()),
        ("suspicious", suspicious),
        ("forward_to", forward_to),
    ];
    let details = details_from(&pairs).map(|s| Cow::Owned(shorten(&s, MAX_DETAILS)));

    // Session: the service-account key used, else a long-running operation spanning entries.
    let op = entry.operation.take();
    let one_entry_op = op.first.0 == Some(true) && op.last.0 == Some(true);
    let op_id = op.id.0.filter(|_| !one_entry_op);
    let session = auth.service_account_key_name.0.or(op_id);
    let labels = entry.resource.take().labels.take();
    let locations = p.resource_location.take().current_locations.0;
    let first_location = locations.into_iter().find_map(Text::into_inner);
    let location = labels.location.0.or(labels.zone.0).or(labels.region.0);
    let project = sub_cow_opt(&log_name, account_of_log_name);
    let caller = p.request_metadata.take();
    Ok(Event {
        time,
        provider: "gcp",
        log_type: Cow::Borrowed(log_type),
        event_id: entry.insert_id.0,
        actor_type: actor_type(actor.as_deref()),
        actor,
        read_only: read_only(log_type, method.as_deref().unwrap_or_default()),
        action: method,
        service,
        resource,
        src_ip: caller.caller_ip.0,
        user_agent: caller.caller_supplied_user_agent.0,
        location: location.or(first_location),
        outcome,
        error,
        mfa,
        session,
        account: labels.project_id.0.or(project),
        details,
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
    const SENSITIVE: [&str; 6] = [
        "iam.serviceAccountKeys.create",
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

/// The service account of `projects/-/serviceAccounts/<sa>[/keys/<id>]`.
fn service_account_of(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("serviceAccounts/")?;
    let sa = rest.split('/').next()?;
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
    sub_cow_opt(&subject, strip).unwrap_or(subject)
}

/// The last dot-separated segment of a method name (`google.iam.admin.v1.CreateRole` →
/// `CreateRole`).
fn last_segment(method: &str) -> &str {
    method.rsplit('.').next().unwrap_or(method)
}

/// Applies a borrowing projection to a `Cow`, staying borrowed when it was.
fn sub_cow_opt<'a>(
    c: &Cow<'a, str>,
    f: for<'x> fn(&'x str) -> Option<&'x str>,
) -> Option<Cow<'a, str>> {
    match c {
        Cow::Borrowed(s) => f(s).map(Cow::Borrowed),
        Cow::Owned(s) => f(s).map(|v| Cow::Owned(v.to_owned())),
    }
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
mod tests {
    use super::*;

    /// Every non-empty normalized field of an event, `|`-separated, for one-line assertions.
    fn view(ev: &Event<'_>) -> String {
        let (a, r) = (ev.actor_type.as_str(), ev.outcome.as_str());
        let mut out = vec![format!("{}/{}/{a}/{r}", ev.provider, ev.log_type)];
        let a = [
            ("id", &ev.event_id),
            ("actor", &ev.actor),
            ("action", &ev.action),
        ];
        let b = [
            ("service", &ev.service),
            ("resource", &ev.resource),
            ("ip", &ev.src_ip),
        ];
        let c = [
            ("ua", &ev.user_agent),
            ("loc", &ev.location),
            ("error", &ev.error),
        ];
        let d = [
            ("session", &ev.session),
            ("account", &ev.account),
            ("details", &ev.details),
        ];
        for (k, v) in a.iter().chain(&b).chain(&c).chain(&d) {
            out.extend(v.as_deref().map(|v| format!("{k}={v}")));
        }
        out.extend(ev.mfa.map(|m| format!("mfa={m}")));
        out.extend(ev.read_only.map(|r| format!("read_only={r}")));
        out.join(" | ")
    }

    /// Parses a record and compares its time (RFC 3339, or "" for none) and its view.
    fn check(record: &str, time: &str, want: &str) {
        let ev = match Gcp.parse_json(record.as_bytes()) {
            Ok(ev) => ev,
            Err(e) => panic!("{e}: {record}"),
        };
        assert_eq!(ev.time, parse_rfc3339(time), "time of {record}");
        assert_eq!(view(&ev), want, "view of {record}");
    }

    fn view_of(record: &str) -> String {
        let ev = Gcp.parse_json(record.as_bytes());
        ev.map(|e| view(&e)).unwrap_or_default()
    }

    fn details(record: &str) -> String {
        let details = Gcp.parse_json(record.as_bytes()).map(|e| e.details);
        details
            .ok()
            .flatten()
            .map(Cow::into_owned)
            .unwrap_or_default()
    }

    /// A minimal audit entry of project `p` (no `@type`) around a protoPayload body.
    fn minimal(log: &str, proto: &str) -> String {
        let name = format!("projects/p/logs/cloudaudit.googleapis.com%2F{log}");
        let head = format!(r#""insertId":"m1","logName":"{name}","timestamp":"{T}""#);
        format!(r#"{{{head},"protoPayload":{{{proto}}}}}"#)
    }

    const T: &str = "2024-03-26T05:33:15.806118Z";

    const SET_IAM: &str = r#"{"insertId":"1x9k2zqe4a8c","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"alice@example.com"},"authorizationInfo":[{"granted":true,"permission":"resourcemanager.projects.setIamPolicy","resource":"projects/acme-prod"}],"methodName":"SetIamPolicy","requestMetadata":{"callerIp":"203.0.113.10","callerSuppliedUserAgent":"google-cloud-sdk gcloud/468.0.0"},"resourceName":"projects/acme-prod","serviceData":{"@type":"type.googleapis.com/google.iam.v1.logging.AuditData","policyDelta":{"bindingDeltas":[{"action":"ADD","member":"user:mallory@example.net","role":"roles/owner"},{"action":"REMOVE","member":"group:ops@example.com","role":"roles/viewer"}]}},"serviceName":"cloudresourcemanager.googleapis.com","status":{}},"receiveTimestamp":"2024-03-26T05:33:16.402913544Z","resource":{"labels":{"project_id":"acme-prod"},"type":"project"},"severity":"NOTICE","timestamp":"2024-03-26T05:33:15.806118Z"}"#;
    const SET_IAM_WANT: &str = "gcp/activity/human/success | id=1x9k2zqe4a8c | actor=alice@example.com | action=SetIamPolicy | service=cloudresourcemanager | resource=projects/acme-prod | ip=203.0.113.10 | ua=google-cloud-sdk gcloud/468.0.0 | account=acme-prod | details=bindings=ADD roles/owner user:mallory@example.net;REMOVE roles/viewer group:ops@example.com | read_only=false";
    const SA_KEY: &str = r#"{"insertId":"k3y","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-03-26T05:33:15.806118Z","resource":{"labels":{"project_id":"acme-prod","email_id":"backup@acme-prod.iam.gserviceaccount.com"},"type":"service_account"},"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"iam.googleapis.com","methodName":"google.iam.admin.v1.CreateServiceAccountKey","resourceName":"projects/-/serviceAccounts/104857600000000000001","authenticationInfo":{"principalEmail":"deploy-bot@acme-prod.iam.gserviceaccount.com","serviceAccountKeyName":"//iam.googleapis.com/projects/acme-prod/serviceAccounts/deploy-bot@acme-prod.iam.gserviceaccount.com/keys/9f3c","serviceAccountDelegationInfo":[{"firstPartyPrincipal":{"principalEmail":"bob@example.com"}}]},"authorizationInfo":[{"permission":"iam.serviceAccountKeys.create","granted":true}],"request":{"name":"projects/-/serviceAccounts/backup@acme-prod.iam.gserviceaccount.com","private_key_type":2},"response":{"name":"projects/acme-prod/serviceAccounts/backup@acme-prod.iam.gserviceaccount.com/keys/4a1fd2","key_algorithm":2}}}"#;
    const SA_KEY_WANT: &str = "gcp/activity/service/success | id=k3y | actor=deploy-bot@acme-prod.iam.gserviceaccount.com | action=google.iam.admin.v1.CreateServiceAccountKey | service=iam | resource=backup@acme-prod.iam.gserviceaccount.com | session=//iam.googleapis.com/projects/acme-prod/serviceAccounts/deploy-bot@acme-prod.iam.gserviceaccount.com/keys/9f3c | account=acme-prod | details=serviceAccountKey=4a1fd2 permission=iam.serviceAccountKeys.create delegation=bob@example.com | read_only=false";
    const DENIED: &str = r#"{"insertId":"d1","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-03-26T05:33:15.806118Z","resource":{"labels":{"project_id":"acme-prod","zone":"europe-west1-b"}},"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"compute.googleapis.com","methodName":"v1.compute.instances.setMetadata","resourceName":"projects/acme-prod/zones/europe-west1-b/instances/web-1","authenticationInfo":{"principalEmail":"carol@example.com"},"authorizationInfo":[{"permission":"compute.instances.setMetadata","granted":false}],"status":{"code":7,"message":"Permission 'compute.instances.setMetadata' denied"}}}"#;
    const DENIED_WANT: &str = "gcp/activity/human/failure | id=d1 | actor=carol@example.com | action=v1.compute.instances.setMetadata | service=compute | resource=projects/acme-prod/zones/europe-west1-b/instances/web-1 | loc=europe-west1-b | error=7 PERMISSION_DENIED: Permission 'compute.instances.setMetadata' denied | account=acme-prod | details=permission=compute.instances.setMetadata | read_only=false";
    const NOT_GRANTED: &str = r#"{"insertId":"d2","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"compute.googleapis.com","methodName":"beta.compute.instances.aggregatedList","resourceName":"projects/acme-prod/global/instances","authenticationInfo":{"principalEmail":"carol@example.com"},"authorizationInfo":[{"permission":"compute.instances.list","granted":false}],"resourceLocation":{"currentLocations":["global"]},"numResponseItems":"3"}}"#;
    const NOT_GRANTED_WANT: &str = "gcp/data_access/human/failure | id=d2 | actor=carol@example.com | action=beta.compute.instances.aggregatedList | service=compute | resource=projects/acme-prod/global/instances | loc=global | error=7 PERMISSION_DENIED | account=acme-prod | details=permission=compute.instances.list | read_only=true";

    #[test]
    fn admin_activity_and_data_access_entries() {
        check(SET_IAM, T, SET_IAM_WANT);
        check(SA_KEY, T, SA_KEY_WANT);
        check(DENIED, T, DENIED_WANT);
        check(NOT_GRANTED, T, NOT_GRANTED_WANT);
        let actor = Gcp.parse_json(SET_IAM.as_bytes()).map(|e| e.actor);
        assert!(
            matches!(actor, Ok(Some(Cow::Borrowed(_)))),
            "strings stay borrowed"
        );
    }

    const GKE_EXEC: &str = r#"{"insertId":"5d25-96","labels":{"authorization.k8s.io/decision":"allow"},"logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","operation":{"first":true,"id":"5d25-96","last":true,"producer":"k8s.io"},"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"system:serviceaccount:ci:deployer"},"methodName":"io.k8s.core.v1.pods.exec.create","requestMetadata":{"callerIp":"::1","callerSuppliedUserAgent":"kubectl/v1.29.2"},"resourceName":"core/v1/namespaces/payments/pods/api-7d9f/exec","serviceName":"k8s.io","status":{}},"resource":{"labels":{"cluster_name":"prod","location":"europe-west1-b","project_id":"acme-prod"},"type":"k8s_cluster"},"timestamp":"2024-03-26T05:33:15.806118Z"}"#;
    const GKE_EXEC_WANT: &str = "gcp/activity/service/success | id=5d25-96 | actor=system:serviceaccount:ci:deployer | action=io.k8s.core.v1.pods.exec.create | service=k8s.io | resource=core/v1/namespaces/payments/pods/api-7d9f/exec | ip=::1 | ua=kubectl/v1.29.2 | loc=europe-west1-b | account=acme-prod | details=namespace=payments object=pods/api-7d9f/exec | read_only=false";
    const GKE_BINDING: &str = r#"{"insertId":"b1","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":"io.k8s.authorization.rbac.v1.clusterrolebindings.create","resourceName":"rbac.authorization.k8s.io/v1/clusterrolebindings/tmp-admin","authenticationInfo":{"principalEmail":"dev@example.com"},"request":{"@type":"rbac.authorization.k8s.io/v1.ClusterRoleBinding","roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"mallory@example.net"},{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}]}}}"#;
    const GKE_BINDING_WANT: &str = "gcp/activity/human/success | id=b1 | actor=dev@example.com | action=io.k8s.authorization.rbac.v1.clusterrolebindings.create | service=k8s.io | resource=rbac.authorization.k8s.io/v1/clusterrolebindings/tmp-admin | account=acme-prod | details=object=clusterrolebindings/tmp-admin roleRef=cluster-admin subjects=User:mallory@example.net,ServiceAccount:ci/deployer | read_only=false";
    const GKE_ANON: &str = r#"{"insertId":"a1","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":"io.k8s.get","resourceName":"readyz","authenticationInfo":{"principalEmail":"system:anonymous"},"requestMetadata":{"callerIp":"127.0.0.1","callerSuppliedUserAgent":"kube-probe/1.29"},"status":{}}}"#;
    const GKE_ANON_WANT: &str = "gcp/data_access/anonymous/success | id=a1 | actor=system:anonymous | action=io.k8s.get | service=k8s.io | resource=readyz | ip=127.0.0.1 | ua=kube-probe/1.29 | account=acme-prod | read_only=true";

    #[test]
    fn gke_entries_name_the_kubernetes_object() {
        check(GKE_EXEC, T, GKE_EXEC_WANT);
        check(GKE_BINDING, T, GKE_BINDING_WANT);
        check(GKE_ANON, T, GKE_ANON_WANT);
    }

    const LOGIN_OK: &str = r#"{"insertId":"w1","logName":"organizations/123/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"alice@example.com"},"requestMetadata":{"callerIp":"203.0.113.7"},"serviceName":"login.googleapis.com","methodName":"google.login.LoginService.loginSuccess","resourceName":"organizations/123","metadata":{"event":[{"eventName":"login_success","eventType":"login","parameter":[{"name":"login_type","value":"google_password"},{"name":"login_challenge_method","multiStrValue":["password"]}]}]}}}"#;
    const LOGIN_OK_WANT: &str = "gcp/data_access/human/success | id=w1 | actor=alice@example.com | action=google.login.LoginService.loginSuccess | service=login | resource=organizations/123 | ip=203.0.113.7 | account=organizations/123 | details=login_type=google_password challenge=password | mfa=false";
    const LOGIN_FAIL: &str = r#"{"insertId":"w2","logName":"organizations/123/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"bob@example.com"},"serviceName":"login.googleapis.com","methodName":"google.login.LoginService.loginFailure","resourceName":"organizations/123","metadata":{"event":[{"eventName":"login_failure","parameter":[{"name":"login_challenge_method","multiStrValue":["password","security_key"]},{"name":"login_failure_type","value":"login_failure_invalid_second_factor"},{"name":"is_suspicious","boolValue":true}]}]}}}"#;
    const LOGIN_FAIL_WANT: &str = "gcp/data_access/human/failure | id=w2 | actor=bob@example.com | action=google.login.LoginService.loginFailure | service=login | resource=organizations/123 | error=login_failure_invalid_second_factor | account=organizations/123 | details=challenge=password,security_key suspicious=true | mfa=true";
    const CHALLENGE: &str = r#"{"insertId":"w3","logName":"organizations/123/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"authenticationInfo":{"principalEmail":"bob@example.com"},"serviceName":"login.googleapis.com","methodName":"google.login.LoginService.loginChallenge","metadata":{"event":[{"parameter":[{"name":"login_challenge_status","value":"incorrect_answer_entered"},{"name":"is_second_factor","boolValue":true}]}]}}}"#;
    const CHALLENGE_WANT: &str = "gcp/data_access/human/failure | id=w3 | actor=bob@example.com | action=google.login.LoginService.loginChallenge | service=login | error=incorrect_answer_entered | account=organizations/123 | mfa=true";
    const WARNING: &str = r#"{"insertId":"w4","logName":"organizations/123/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15Z","protoPayload":{"authenticationInfo":{},"serviceName":"login.googleapis.com","methodName":"google.login.LoginService.suspiciousLogin","resourceName":"organizations/123","metadata":{"event":[{"eventName":"suspicious_login","status":{"success":true},"parameter":[{"name":"affected_email_address","value":"bob@example.com"}]}]}}}"#;
    const WARNING_WANT: &str = "gcp/data_access/unknown/success | id=w4 | action=google.login.LoginService.suspiciousLogin | service=login | resource=bob@example.com | account=organizations/123";

    #[test]
    fn workspace_sign_ins_carry_outcome_and_mfa() {
        check(LOGIN_OK, T, LOGIN_OK_WANT);
        check(LOGIN_FAIL, T, LOGIN_FAIL_WANT);
        check(CHALLENGE, T, CHALLENGE_WANT);
        check(WARNING, "2024-03-26T05:33:15Z", WARNING_WANT);
    }

    const NO_TIME: &str = r#"{"insertId":"n1","logName":"projects/project","receiveTimestamp":"2021-04-29T08:19:21.606980385Z","protoPayload":{"methodName":"io.k8s.get","serviceName":"k8s.io","authenticationInfo":{"principalSubject":"user:system:kube-scheduler"}}}"#;
    const NO_TIME_WANT: &str = "gcp/audit/system/success | id=n1 | actor=system:kube-scheduler | action=io.k8s.get | service=k8s.io | account=project | read_only=true";
    const ODD_TYPES: &str = r#"{"insertId":42,"logName":"projects/p/logs/cloudaudit.googleapis.com%2Fsystem_event","timestamp":"2024-03-26T05:33:15.806118Z","resource":"oops","operation":{"id":"operation-17","first":true},"protoPayload":{"methodName":"compute.instances.preempted","serviceName":"compute.googleapis.com","authenticationInfo":[{"principalEmail":"system@google.com"}],"authorizationInfo":"denied","status":"bad","requestMetadata":null,"resourceLocation":{"currentLocations":"us-east1-b"},"serviceData":{"policyDelta":{"bindingDeltas":[7,{"action":"ADD"}]}},"metadata":{"event":"x"}}}"#;
    const ODD_TYPES_WANT: &str = "gcp/system_event/system/success | id=42 | actor=system@google.com | action=compute.instances.preempted | service=compute | loc=us-east1-b | session=operation-17 | account=p | details=bindings=ADD ? ? | read_only=false";
    const DELEGATED: &str = r#"{"insertId":"m1","logName":"projects/p/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"methodName":"storage.objects.get","serviceName":"storage.googleapis.com","authenticationInfo":{"serviceAccountDelegationInfo":[{"firstPartyPrincipal":{"principalEmail":"carol@example.com"}}]},"status":{"code":"5","message":"NOT_FOUND"}}}"#;
    const DELEGATED_WANT: &str = "gcp/data_access/human/failure | id=m1 | actor=carol@example.com | action=storage.objects.get | service=storage | error=5 NOT_FOUND | account=p | read_only=true";
    const SUBJECT: &str = r#""methodName":"x.Get","authenticationInfo":{"principalSubject":"serviceAccount:etl@p.iam.gserviceaccount.com"}"#;
    const LONG_OP: &str = r#""methodName":"v1.compute.instances.insert"},"operation":{"id":"operation-9","last":true"#;

    #[test]
    fn awkward_entries() {
        // No `timestamp`: the receive time stands in; a log name without the audit suffix.
        check(NO_TIME, "2021-04-29T08:19:21.606980Z", NO_TIME_WANT);
        let no_time_at_all = NO_TIME.replace("receiveTimestamp", "received");
        check(&no_time_at_all, "", NO_TIME_WANT);
        check(ODD_TYPES, T, ODD_TYPES_WANT);
        check(DELEGATED, T, DELEGATED_WANT);
        let by_subject = view_of(&minimal("data_access", SUBJECT));
        assert!(by_subject.contains("service/success | id=m1 | actor=etl@p.iam"));
        assert!(view_of(&minimal("activity", LONG_OP)).contains("session=operation-9"));
    }

    const LOGGING: &str = r#""serviceName":"logging.googleapis.com""#;
    const SINK: &str = r#","request":{"sink":{"name":"siem-export","destination":"storage.googleapis.com/acme-logs"}}"#;
    const EXCLUSION: &str =
        r#","request":{"exclusion":{"name":"quiet","filter":"resource.type=gce_instance"}}"#;

    #[test]
    fn logging_configuration_changes_name_the_sink() {
        let call = |method: &str, resource: &str, request: &str| {
            let method = format!(r#""methodName":"google.logging.v2.ConfigServiceV2.{method}""#);
            let name = format!(r#""resourceName":"projects/p/{resource}""#);
            details(&minimal(
                "activity",
                &format!("{LOGGING},{method},{name}{request}"),
            ))
        };
        let (sink, bucket) = ("sinks/siem-export", "locations/global/buckets/_Default");
        assert_eq!(call("DeleteSink", sink, ""), "sink=siem-export");
        let want = "sink=siem-export destination=storage.googleapis.com/acme-logs";
        assert_eq!(call("UpdateSink", sink, SINK), want);
        let want = "exclusion=quiet filter=resource.type=gce_instance";
        assert_eq!(call("CreateExclusion", "exclusions/quiet", EXCLUSION), want);
        assert_eq!(call("UpdateBucket", bucket, ""), "bucket=_Default");
        assert_eq!(call("ListSinks", "sinks", ""), "");
    }

    const ACTOR_TYPES: &str = "service-123@gcp-sa-cloudbuild.iam.gserviceaccount.com system
        123@cloudservices.gserviceaccount.com system
        service-123@container-engine-robot.iam.gserviceaccount.com system
        system:node:gke-prod-pool-1 system
        123-compute@developer.gserviceaccount.com service
        principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/subject/x service
        principal://iam.googleapis.com/locations/global/workforcePools/p/subject/x human
        system:unauthenticated anonymous
        client unknown";
    const LOG_NAMES: &str = "projects/p/logs/cloudaudit.googleapis.com%2fdata_access data_access p
        folders/42/logs/cloudaudit.googleapis.com/system_event system_event folders/42
        organizations/7/logs/cloudaudit.googleapis.com%2Fpolicy policy organizations/7
        projects/p/logs/cloudaudit.googleapis.com%2Faccess_transparency access_transparency p
        projects/p/logs/syslog audit p";
    const READ_ONLY: &str = "data_access io.k8s.core.v1.secrets.list Some(true)
        data_access google.monitoring.v3.MetricService.CreateTimeSeries Some(false)
        data_access jobservice.jobcompleted None
        policy storage.objects.delete Some(false)";
    const DELTA: &str =
        r#"{"action":"ADD","role":"roles/editor","member":"user:someone-long@example.com"},"#;

    #[test]
    fn classification_tables() {
        for line in ACTOR_TYPES.lines().map(str::trim) {
            let (who, kind) = line.rsplit_once(' ').unwrap_or_default();
            assert_eq!(actor_type(Some(who)).as_str(), kind, "{line}");
        }
        for line in LOG_NAMES.lines().map(str::trim) {
            let (name, want) = line.split_once(' ').unwrap_or_default();
            let account = account_of_log_name(name).unwrap_or("-");
            assert_eq!(format!("{} {account}", log_type(name)), want, "{name}");
        }
        for line in READ_ONLY.lines().map(str::trim) {
            let (log, rest) = line.split_once(' ').unwrap_or_default();
            let (method, want) = rest.split_once(' ').unwrap_or_default();
            assert_eq!(format!("{:?}", read_only(log, method)), want, "{line}");
        }
        assert_eq!(
            (status_error(99, None).as_str(), account_of_log_name("")),
            ("99", None)
        );
        let deltas = format!(
            r#"{{"policyDelta":{{"bindingDeltas":[{}{{}}]}}}}"#,
            DELTA.repeat(9)
        );
        let proto = format!(r#""methodName":"SetIamPolicy","serviceData":{deltas}"#);
        let text = details(&minimal("activity", &proto));
        assert!(
            text.ends_with(";+6 more") && text.len() <= MAX_DETAILS,
            "{text}"
        );
        assert_eq!(shorten("é".repeat(200).as_str(), 10), "ééé...");
    }

    const SCC: &str = r#"{"notificationConfigName":"organizations/1/notificationConfigs/n","finding":{"category":"FLOW_LOGS_DISABLED","eventTime":"2021-03-16T20:21:34.229Z"},"resource":{"name":"//compute.googleapis.com/projects/p"}}"#;
    const APP: &str = r#"{"logName":"projects/p/logs/appengine.googleapis.com%2Frequest_log","protoPayload":{"@type":"type.googleapis.com/google.appengine.logging.v1.RequestLog","resource":"/"}}"#;
    const AXT: &str = r#"{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Faccess_transparency","jsonPayload":{"@type":"type.googleapis.com/google.cloud.audit.TransparencyLog"}}"#;
    const TRAIL: &str = r#"{"eventVersion":"1.08","eventTime":"2024-03-26T05:33:15Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}"#;
    const K8S: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","user":{"username":"system:anonymous"}}"#;
    const OKTA: &str = r#"{"uuid":"1","published":"2024-03-26T05:33:15Z","eventType":"user.session.start","actor":{"alternateId":"a@example.com"}}"#;
    const KIND: &str = r#"{"kind": 0}"#;
    const NOT_AUDIT: [&str; 8] = [SCC, APP, AXT, TRAIL, K8S, OKTA, KIND, "0"];
    const TEXT_PAYLOAD: &str =
        r#"{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":"x"}"#;
    const BROKEN: &str = r#""x"} not an object
        {"status":{}}} no protoPayload.methodName
        { invalid JSON"#;

    #[test]
    fn other_json_is_refused() {
        for other in NOT_AUDIT {
            let refused = Gcp.parse_json(other.as_bytes());
            assert_eq!(refused.err(), Some(RecordError::NotThisFormat), "{other}");
        }
        for line in BROKEN.lines().map(str::trim) {
            let (body, reason) = line.split_once(' ').unwrap_or_default();
            let json = TEXT_PAYLOAD.replace(r#""x"}"#, body);
            let err = Gcp.parse_json(json.as_bytes()).err();
            let why = match err {
                Some(RecordError::Invalid(why)) => why,
                other => format!("{other:?}"),
            };
            assert!(why.contains(reason), "{json}: {why}");
        }
    }

    #[test]
    fn sniffing_is_precise() {
        let sniff =
            |json: &str| sonic_rs::from_str::<Probe>(json).is_ok_and(|p| Gcp.sniff_json(&p));
        assert!(sniff(SET_IAM) && sniff(GKE_ANON) && sniff(&minimal("data_access", "")));
        for other in NOT_AUDIT.iter().chain([&TEXT_PAYLOAD]) {
            assert!(!sniff(other), "{other}");
        }
    }
}
