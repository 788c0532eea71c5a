//! Kubernetes API server audit events (`audit.k8s.io` `Event`, v1 and v1beta1, and the
//! unversioned events of Falco traces). One record per stage of a request: the stage goes
//! first in `details` so the `RequestReceived` and `ResponseComplete` lines of one auditID
//! stay distinct rows.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{
    Flag, Num, Probe, Provider, RawJson, RecordError, Text, details_from, from_json, parse_rfc3339,
    probe_has, probe_str,
};
use crate::schema::{ActorType, Event, Outcome};

/// Kubernetes audit log parser (format `k8s-audit`).
pub struct Kubernetes;

const MAX_ITEMS: usize = 6;
const MAX_VALUE: usize = 120;
const MAX_DETAILS: usize = 300;

impl Provider for Kubernetes {
    fn format(&self) -> &'static str {
        "k8s-audit"
    }

    fn sniff_json(&self, probe: &Probe) -> bool {
        let api = probe_str(probe, &["apiVersion"]);
        if api.is_some_and(|a| !is_audit_api(a)) {
            return false;
        }
        let kind = probe_str(probe, &["kind"]);
        if probe_has(probe, &["kind"]) && kind != Some("Event") {
            return false;
        }
        (kind == Some("Event") && api.is_some())
            || ["auditID", "verb", "stage"]
                .iter()
                .all(|k| probe_str(probe, &[k]).is_some_and(|v| !v.is_empty()))
    }

    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError> {
        let mut r: AuditEvent<'a> = from_json(record)?;
        if r.kind.get().is_some_and(|k| k != "Event")
            || r.api_version.get().is_some_and(|a| !is_audit_api(a))
        {
            return Err(RecordError::NotThisFormat);
        }
        let marked = r.kind.get().is_some() && r.api_version.get().is_some();
        if !marked
            && r.audit_id.get().is_none()
            && r.verb.get().is_none()
            && r.stage.get().is_none()
        {
            return Err(RecordError::NotThisFormat);
        }
        let verb = r
            .verb
            .take()
            .ok_or_else(|| RecordError::Invalid("Kubernetes audit event has no verb".to_owned()))?;
        let time = [
            &r.request_received_timestamp,
            &r.timestamp,
            &r.stage_timestamp,
            &r.metadata.0.creation_timestamp,
        ]
        .iter()
        .find_map(|t| t.get().and_then(parse_rfc3339));
        let user = &mut r.user.0;
        let actor = user.username.take();
        if time.is_none() && actor.is_none() {
            return Err(RecordError::Invalid(
                "Kubernetes audit event has no timestamp (requestReceivedTimestamp, timestamp, \
                 stageTimestamp) and no user.username"
                    .to_owned(),
            ));
        }
        let actor_type = actor.as_deref().map_or(ActorType::Unknown, actor_type);
        let session = user.extra.0.credential_id.0.take();

        let obj = &mut r.object_ref.0;
        let path = r
            .request_uri
            .get()
            .map(|u| u.split('?').next().unwrap_or(u));
        let res = obj.resource.get();
        let action = match (res, obj.subresource.get()) {
            (Some(res), Some(sub)) => format!("{verb} {res}/{sub}"),
            (Some(res), None) => format!("{verb} {res}"),
            (None, _) => match path {
                Some(p) => format!("{verb} {p}"),
                None => verb.to_string(),
            },
        };
        let service = res.map(|_| obj.api_group.take().unwrap_or(Cow::Borrowed("core")));

        // What the request object tells (only read for the resources where it matters).
        let mut extra = Extra::default();
        let sub = obj.subresource.get();
        if let (Some(res), None | Some("ephemeralcontainers")) = (res, sub) {
            if let Some(raw) = r.request_object.as_ref().map(|v| v.as_raw_str())
                && matches!(verb.as_ref(), "create" | "update" | "patch")
            {
                request_details(res, raw, &mut extra);
            }
            if obj.name.get().is_none() && verb == "create" && extra.name.is_none() {
                extra.name = r
                    .response_object
                    .as_ref()
                    .and_then(|v| sonic_rs::from_str::<RequestObject>(v.as_raw_str()).ok())
                    .and_then(|n| n.metadata.0.name.get().map(str::to_owned));
            }
        }
        if matches!(res, Some("configmaps" | "secrets")) {
            let named = obj
                .name
                .get()
                .map(str::to_owned)
                .or_else(|| extra.name.clone());
            extra.pairs.insert(0, ("name", named));
        }
        let name: Option<Cow<'a, str>> = obj
            .name
            .take()
            .or_else(|| extra.name.take().map(Cow::Owned))
            .or_else(|| {
                res.zip(path)
                    .and_then(|(res, p)| name_from_path(p, res))
                    .map(Cow::Owned)
            });
        let resource = match (obj.namespace.take(), name) {
            (_, Some(n)) if res == Some("namespaces") => Some(n),
            (Some(ns), Some(n)) => Some(Cow::Owned(format!("{ns}/{n}"))),
            (None, Some(n)) => Some(n),
            (Some(ns), None) => Some(ns),
            (None, None) => path.map(|p| Cow::Owned(p.to_owned())),
        };

        let status = &r.response_status.0;
        let decision = r.annotations.0.decision.get();
        let forbid = decision.is_some_and(|d| d.eq_ignore_ascii_case("forbid"));
        let (outcome, error) = match status.code.as_i64() {
            Some(code) if code >= 400 => (
                Outcome::Failure,
                Some(match status.reason.get() {
                    Some(reason) => format!("{code} {reason}"),
                    None => code.to_string(),
                }),
            ),
            _ if forbid => (Outcome::Failure, Some("Forbidden".to_owned())),
            Some(_) => (Outcome::Success, None),
            None => match status.status.get() {
                Some("Failure") => (Outcome::Failure, status.reason.get().map(str::to_owned)),
                Some("Success") => (Outcome::Success, None),
                _ => (Outcome::Unknown, None),
            },
        };
        let read_only = match verb.as_ref() {
            "get" | "list" | "watch" => Some(true),
            "create" | "update" | "patch" | "delete" | "deletecollection" => Some(false),
            _ => None,
        };

        // Exec / attach / port-forward: container and command from the query string.
        if matches!(sub, Some("exec" | "attach" | "portforward"))
            && let Some((_, query)) = r.request_uri.get().and_then(|u| u.split_once('?'))
        {
            query_details(query, &mut extra);
        }
        let imp = &r.impersonated_user.0;
        let as_groups = join_limited(imp.groups.strs().filter(|g| *g != "system:authenticated"));
        let mut pairs: Vec<(&str, Option<&str>)> = vec![
            ("stage", r.stage.get()),
            ("as", imp.username.get()),
            ("as_groups", as_groups.as_deref()),
            ("decision", decision),
        ];
        pairs.extend(extra.pairs.iter().map(|(k, v)| (*k, v.as_deref())));

        Ok(Event {
            time,
            provider: "kubernetes",
            log_type: Cow::Borrowed("audit"),
            event_id: r.audit_id.take(),
            actor,
            actor_type,
            action: Some(Cow::Owned(action)),
            service,
            resource,
            src_ip: r.source_ips.0.take(),
            user_agent: r.user_agent.take(),
            location: None,
            outcome,
            error: error.map(Cow::Owned),
            mfa: None,
            session,
            read_only,
            account: None,
            details: details_from(&pairs).map(|d| match d.chars().nth(MAX_DETAILS) {
                Some(_) => Cow::Owned(d.chars().take(MAX_DETAILS).chain(['…']).collect()),
                None => d,
            }),
        })
    }
}

fn is_audit_api(api: &str) -> bool {
    api.starts_with("audit.k8s.io/")
}

/// Classifies a Kubernetes username.
fn actor_type(username: &str) -> ActorType {
    if username.starts_with("system:serviceaccount:") || username.ends_with(".gserviceaccount.com")
    {
        ActorType::Service
    } else if username == "system:anonymous" {
        ActorType::Anonymous
    } else if username.starts_with("system:")
        || username.starts_with("eks:")
        || matches!(username, "aksService" | "masterclient" | "nodeclient")
    {
        ActorType::System
    } else {
        ActorType::Human
    }
}

/// Details drawn from the request object and query, plus a name found there.
#[derive(Default)]
struct Extra {
    pairs: Vec<(&'static str, Option<String>)>,
    name: Option<String>,
}

fn request_details(resource: &str, raw: &str, extra: &mut Extra) {
    let Ok(obj) = sonic_rs::from_str::<RequestObject>(raw) else {
        return;
    };
    extra.name = obj.metadata.0.name.get().map(str::to_owned);
    let pairs = &mut extra.pairs;
    match resource {
        "clusterrolebindings" | "rolebindings" => {
            let role = &obj.role_ref.0;
            let role_ref = match (role.kind.get(), role.name.get()) {
                (Some(k), Some(n)) => Some(format!("{k}/{n}")),
                (None, Some(n)) => Some(n.to_owned()),
                _ => None,
            };
            let subjects: Vec<String> = obj
                .subjects
                .0
                .iter()
                .map(|s| {
                    let s = &s.0;
                    let name = s.name.get().unwrap_or("?");
                    match (s.kind.get(), s.namespace.get()) {
                        (Some(k), Some(ns)) => format!("{k}:{ns}/{name}"),
                        (Some(k), None) => format!("{k}:{name}"),
                        (None, _) => name.to_owned(),
                    }
                })
                .collect();
            pairs.push(("roleRef", role_ref));
            pairs.push((
                "subjects",
                join_limited(subjects.iter().map(String::as_str)),
            ));
        }
        "clusterroles" | "roles" => {
            let rules = &obj.rules.0;
            let verbs = rules.iter().flat_map(|r| r.0.verbs.strs());
            pairs.push(("verbs", join_limited(verbs)));
            let resources = rules.iter().flat_map(|r| r.0.resources.strs());
            pairs.push(("resources", join_limited(resources)));
        }
        "pods"
        | "deployments"
        | "daemonsets"
        | "statefulsets"
        | "replicasets"
        | "replicationcontrollers"
        | "jobs"
        | "cronjobs" => {
            let mut flags = PodFlags::default();
            flags.collect(&obj.spec.0);
            let yes = |b: bool| b.then(|| "true".to_owned());
            pairs.push(("privileged", yes(flags.privileged)));
            pairs.push(("hostNetwork", yes(flags.host_network)));
            pairs.push(("hostPID", yes(flags.host_pid)));
            pairs.push(("hostIPC", yes(flags.host_ipc)));
            pairs.push(("hostPath", join_limited(flags.host_paths.into_iter())));
        }
        "configmaps" => {
            let data = &obj.data;
            pairs.push(("keys", join_limited(data.keys.iter().map(String::as_str))));
            pairs.push(("credentials", data.credentials.then(|| "true".to_owned())));
        }
        "secrets" => pairs.push(("type", obj.kind_type.get().map(str::to_owned))),
        "services" => pairs.push(("type", obj.spec.0.kind_type.get().map(str::to_owned))),
        _ => {}
    }
}

/// The object name in a resource path (`/apis/apps/v1/namespaces/ns/deployments/NAME/scale`),
/// for events whose `objectRef` lacks it.
fn name_from_path(path: &str, resource: &str) -> Option<String> {
    let mut segments = path.split('/');
    while let Some(segment) = segments.next() {
        if segment == "namespaces" && resource != "namespaces" {
            segments.next();
        } else if segment == resource {
            return segments.next().filter(|n| !n.is_empty()).map(url_decode);
        }
    }
    None
}

/// `container=` and `command=` of an exec/attach query string (URL-decoded).
fn query_details(query: &str, extra: &mut Extra) {
    let mut container = None;
    let mut command: Vec<String> = Vec::new();
    for part in query.split('&') {
        match part.split_once('=') {
            Some(("container", v)) if container.is_none() => container = Some(url_decode(v)),
            Some(("command", v)) => command.push(url_decode(v)),
            _ => {}
        }
    }
    extra.pairs.push(("container", container));
    let command = command.join(" ");
    extra
        .pairs
        .push(("command", (!command.is_empty()).then(|| clip(&command))));
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |i: usize| b.get(i).and_then(|c| (*c as char).to_digit(16));
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match (c, hex(i + 1), hex(i + 2)) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 2;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Cuts a value to `MAX_VALUE` characters; spaces become `_` so `key=value` pairs stay
/// readable.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_VALUE).collect();
    if s.chars().nth(MAX_VALUE).is_some() {
        out.push('…');
    }
    out.replace(' ', "_")
}

/// Joins up to `MAX_ITEMS` distinct values with `,` (then `+N`); `None` when there are none.
fn join_limited<'s>(items: impl Iterator<Item = &'s str>) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    let mut out = seen
        .iter()
        .take(MAX_ITEMS)
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    if seen.len() > MAX_ITEMS {
        out.push_str(&format!(",+{}", seen.len() - MAX_ITEMS));
    }
    (!out.is_empty()).then(|| clip(&out))
}

/// What a pod spec (or a workload's pod template) asks of the node.
#[derive(Default)]
struct PodFlags<'s> {
    privileged: bool,
    host_network: bool,
    host_pid: bool,
    host_ipc: bool,
    host_paths: Vec<&'s str>,
}

impl<'s> PodFlags<'s> {
    fn collect(&mut self, spec: &'s Spec<'_>) {
        let containers = spec.containers.0.iter().chain(&spec.init_containers.0);
        for c in containers.chain(&spec.ephemeral_containers.0) {
            self.privileged |= c.0.security_context.0.privileged.0 == Some(true);
        }
        self.host_network |= spec.host_network.0 == Some(true);
        self.host_pid |= spec.host_pid.0 == Some(true);
        self.host_ipc |= spec.host_ipc.0 == Some(true);
        self.host_paths.extend(
            spec.volumes
                .0
                .iter()
                .filter_map(|v| v.0.host_path.0.path.get()),
        );
        for template in [&spec.template.0, &spec.job_template.0] {
            if let Some(inner) = &template.spec {
                self.collect(&inner.0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Record shapes
// ---------------------------------------------------------------------------------------

// Every shape below: missing keys take their default, strings borrow from the record
// (`'de: 'a`), and keys are camelCase unless renamed.

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct AuditEvent<'a> {
    kind: Text<'a>,
    api_version: Text<'a>,
    #[serde(rename = "auditID")]
    audit_id: Text<'a>,
    stage: Text<'a>,
    #[serde(rename = "requestURI")]
    request_uri: Text<'a>,
    verb: Text<'a>,
    user: Obj<UserInfo<'a>>,
    impersonated_user: Obj<UserInfo<'a>>,
    #[serde(rename = "sourceIPs")]
    source_ips: First<'a>,
    user_agent: Text<'a>,
    object_ref: Obj<ObjectRef<'a>>,
    response_status: Obj<Status<'a>>,
    request_object: Option<RawJson<'a>>,
    response_object: Option<RawJson<'a>>,
    request_received_timestamp: Text<'a>,
    stage_timestamp: Text<'a>,
    timestamp: Text<'a>,
    metadata: Obj<Metadata<'a>>,
    annotations: Obj<Annotations<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct UserInfo<'a> {
    username: Text<'a>,
    groups: List<Text<'a>>,
    extra: Obj<UserExtra<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct UserExtra<'a> {
    #[serde(rename = "authentication.kubernetes.io/credential-id")]
    credential_id: First<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct ObjectRef<'a> {
    resource: Text<'a>,
    subresource: Text<'a>,
    namespace: Text<'a>,
    name: Text<'a>,
    api_group: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Status<'a> {
    code: Num,
    status: Text<'a>,
    reason: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Metadata<'a> {
    creation_timestamp: Text<'a>,
    name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Annotations<'a> {
    #[serde(rename = "authorization.k8s.io/decision")]
    decision: Text<'a>,
}

/// The parts of a request (or created response) object that go into `details`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct RequestObject<'a> {
    metadata: Obj<Metadata<'a>>,
    role_ref: Obj<RoleRef<'a>>,
    subjects: List<Obj<RoleRef<'a>>>,
    rules: List<Obj<Rule<'a>>>,
    spec: Obj<Spec<'a>>,
    data: DataSummary,
    #[serde(rename = "type")]
    kind_type: Text<'a>,
}

/// A `roleRef` or a `subjects[]` entry.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct RoleRef<'a> {
    kind: Text<'a>,
    name: Text<'a>,
    namespace: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Rule<'a> {
    verbs: List<Text<'a>>,
    resources: List<Text<'a>>,
}

/// A pod spec, a workload spec holding a pod template (`template.spec`,
/// `jobTemplate.spec.template.spec`), or a service spec (`type`).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Spec<'a> {
    containers: List<Obj<Container>>,
    init_containers: List<Obj<Container>>,
    ephemeral_containers: List<Obj<Container>>,
    host_network: Flag,
    #[serde(rename = "hostPID")]
    host_pid: Flag,
    #[serde(rename = "hostIPC")]
    host_ipc: Flag,
    volumes: List<Obj<Volume<'a>>>,
    template: Obj<Template<'a>>,
    job_template: Obj<Template<'a>>,
    #[serde(rename = "type")]
    kind_type: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Template<'a> {
    spec: Option<Box<Obj<Spec<'a>>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Container {
    security_context: Obj<SecurityContext>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SecurityContext {
    privileged: Flag,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Volume<'a> {
    host_path: Obj<HostPath<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct HostPath<'a> {
    path: Text<'a>,
}

// ---------------------------------------------------------------------------------------
// Lenient containers: a wrong JSON type costs the field, never the record.
// ---------------------------------------------------------------------------------------

/// Visitor methods turning numbers, booleans and null into `$value`.
macro_rules! scalars_give {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
    };
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A JSON object read as `T`; any other JSON value gives `T::default()`.
#[derive(Default)]
struct Obj<T>(T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            scalars_give!(Obj(T::default()));
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| Obj(T::default()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Obj(T::default()))
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// A JSON array read element by element as `T`; any other JSON value gives an empty list.
#[derive(Default)]
struct List<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            scalars_give!(List(Vec::new()));
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|()| List(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

impl List<Text<'_>> {
    fn strs(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(Text::get)
    }
}

/// The first text of an array (`sourceIPs`, `user.extra` values), or a plain string.
#[derive(Default)]
struct First<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for First<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = First<'a>;
            scalars_give!(First(None));
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<Text<'a>>()?.and_then(Text::into_inner);
                skip_seq(seq).map(|()| First(first))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|()| First(None))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(First((!v.is_empty()).then_some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(First((!v.is_empty()).then(|| Cow::Owned(v.to_owned()))))
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// A ConfigMap's `data`: its keys, and whether a key or value looks like a credential.
#[derive(Default)]
struct DataSummary {
    keys: Vec<String>,
    credentials: bool,
}

impl<'de> Deserialize<'de> for DataSummary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DataSummary;
            scalars_give!(DataSummary::default());
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = DataSummary::default();
                while let Some((k, v)) = map.next_entry::<Text<'_>, Text<'_>>()? {
                    let key = k.get().unwrap_or_default();
                    out.credentials |=
                        looks_like_credential(key) || v.get().is_some_and(looks_like_credential);
                    out.keys.push(key.to_owned());
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| DataSummary::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(DataSummary::default())
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Falco's "configmap with private credentials" markers.
fn looks_like_credential(text: &str) -> bool {
    const MARKERS: [&str; 6] = [
        "aws_access_key_id",
        "aws-access-key-id",
        "aws_s3_access_key_id",
        "aws-s3-access-key-id",
        "password",
        "passphrase",
    ];
    let lower = text.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Event<'_> {
        Kubernetes.parse_json(json.as_bytes()).unwrap()
    }

    fn sniff(json: &str) -> bool {
        Kubernetes.sniff_json(&sonic_rs::from_str::<Probe>(json).unwrap())
    }

    /// `actor (type) | action | service | resource | outcome | error | details`, `-` for none.
    fn row(e: &Event<'_>) -> String {
        let o = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or("-").to_owned();
        let (actor, kind) = (o(&e.actor), e.actor_type.as_str());
        let (action, service, resource) = (o(&e.action), o(&e.service), o(&e.resource));
        let (outcome, error, details) = (e.outcome.as_str(), o(&e.error), o(&e.details));
        format!(
            "{actor} ({kind}) | {action} | {service} | {resource} | {outcome} | {error} | {details}"
        )
    }

    const BINDING_V1: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",
        "auditID":"0d3b7a52-1111-4c1e-9e5e-5b1f0c2a9e01","stage":"ResponseComplete",
        "requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create",
        "verb":"create","user":{"username":"alice@example.com","groups":["devs","system:authenticated"],
        "extra":{"authentication.kubernetes.io/credential-id":["X509SHA256=abc123"]}},
        "sourceIPs":["203.0.113.10","10.0.0.1"],"userAgent":"kubectl/v1.30.1 (linux/amd64)",
        "objectRef":{"resource":"clusterrolebindings","name":"tmp-admin","apiGroup":"rbac.authorization.k8s.io"},
        "responseStatus":{"metadata":{},"code":201},
        "requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"tmp-admin"},
          "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
          "subjects":[{"kind":"User","name":"mallory@example.com"},{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}]},
        "responseObject":{"kind":"ClusterRoleBinding","metadata":{"name":"tmp-admin","uid":"x"}},
        "requestReceivedTimestamp":"2024-05-02T10:15:30.123456Z","stageTimestamp":"2024-05-02T10:15:30.130000Z",
        "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed"}}"#;

    #[test]
    fn v1_role_binding_names_role_and_subjects() {
        assert!(sniff(BINDING_V1));
        let e = parse(BINDING_V1);
        assert_eq!(e.time, parse_rfc3339("2024-05-02T10:15:30.123456Z"));
        assert_eq!((e.provider, e.log_type.as_ref()), ("kubernetes", "audit"));
        let id = "0d3b7a52-1111-4c1e-9e5e-5b1f0c2a9e01";
        assert_eq!(e.event_id.as_deref(), Some(id));
        assert!(matches!(e.actor, Some(Cow::Borrowed("alice@example.com"))));
        assert_eq!(e.src_ip.as_deref(), Some("203.0.113.10"));
        let ua = "kubectl/v1.30.1 (linux/amd64)";
        assert_eq!(e.user_agent.as_deref(), Some(ua));
        assert_eq!(e.session.as_deref(), Some("X509SHA256=abc123"));
        assert_eq!((e.mfa, e.read_only), (None, Some(false)));
        assert_eq!((e.account.as_deref(), e.location.as_deref()), (None, None));
        assert_eq!(
            row(&e),
            "alice@example.com (human) | create clusterrolebindings | rbac.authorization.k8s.io | tmp-admin | success | - | stage=ResponseComplete decision=allow roleRef=ClusterRole/cluster-admin subjects=User:mallory@example.com,ServiceAccount:ci/deployer"
        );
    }

    #[test]
    fn v1beta1_impersonation_and_forbidden() {
        let json = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2017-09-11T19:55:05Z"},
            "level":"Metadata","timestamp":"2017-09-11T19:55:05Z","auditID":"a1","stage":"ResponseComplete",
            "requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"system:admin"},
            "impersonatedUser":{"username":"bob","groups":["system:masters","system:authenticated"]},"sourceIPs":["::1"],
            "objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},
            "responseStatus":{"metadata":{},"status":"Failure","message":"pods is forbidden","reason":"Forbidden","code":403}}"#;
        let e = parse(json);
        assert_eq!(e.time, parse_rfc3339("2017-09-11T19:55:05Z"));
        assert_eq!(
            (e.src_ip.as_deref(), e.read_only),
            (Some("::1"), Some(true))
        );
        assert_eq!(
            row(&e),
            "system:admin (system) | list pods | core | default | failure | 403 Forbidden | stage=ResponseComplete as=bob as_groups=system:masters"
        );
    }

    #[test]
    fn two_stages_of_one_request_stay_distinct() {
        let received = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","timestamp":"2017-09-11T19:57:33Z",
            "auditID":"efa6","stage":"RequestReceived","verb":"delete","user":{"username":"system:admin"},
            "objectRef":{"resource":"roles","namespace":"default","name":"r1","apiGroup":"rbac.authorization.k8s.io"}}"#;
        let complete = received
            .replace("RequestReceived", "ResponseComplete")
            .replace(
                r#""verb""#,
                r#""responseStatus":{"status":"Failure","reason":"NotFound","code":404},"verb""#,
            );
        let (a, b) = (parse(received), parse(&complete));
        assert_eq!((&a.event_id, a.time), (&b.event_id, b.time));
        assert_eq!(
            row(&a),
            "system:admin (system) | delete roles | rbac.authorization.k8s.io | default/r1 | unknown | - | stage=RequestReceived"
        );
        assert_eq!(
            row(&b),
            "system:admin (system) | delete roles | rbac.authorization.k8s.io | default/r1 | failure | 404 NotFound | stage=ResponseComplete"
        );
    }

    #[test]
    fn pod_specs_and_workload_templates() {
        // Falco trace shape: no apiVersion, the name only in the response object.
        let pod = r#"{"annotations":{"authorization.k8s.io/decision":"allow"},"auditID":"p1","kind":"Event",
            "objectRef":{"apiVersion":"v1","namespace":"default","resource":"pods"},
            "requestObject":{"kind":"Pod","metadata":{"generateName":"web-"},"spec":{"hostNetwork":true,"hostPID":"true",
              "containers":[{"name":"a"},{"name":"b","securityContext":{"privileged":true}}],
              "volumes":[{"hostPath":{"path":"/etc"}},{"secret":{"secretName":"x"}},{"hostPath":{"path":"/"}},{"hostPath":{"path":"/etc"}}]}},
            "requestURI":"/api/v1/namespaces/default/pods","responseObject":{"metadata":{"name":"web-x7k2p"}},
            "responseStatus":{"code":201},"sourceIPs":["::1"],"stage":"ResponseComplete",
            "stageTimestamp":"2018-10-25T14:09:12.581541Z","timestamp":"2018-10-25T14:09:12Z",
            "user":{"username":"system:serviceaccount:kube-system:replicaset-controller"},"verb":"create"}"#;
        assert!(sniff(pod));
        let e = parse(pod);
        assert_eq!(e.time, parse_rfc3339("2018-10-25T14:09:12Z"));
        assert_eq!(
            row(&e),
            "system:serviceaccount:kube-system:replicaset-controller (service) | create pods | core | default/web-x7k2p | success | - | stage=ResponseComplete decision=allow privileged=true hostNetwork=true hostPID=true hostPath=/etc,/"
        );
        let deployment = r#"{"auditID":"d1","stage":"ResponseComplete","verb":"create","user":{"username":"bob"},
            "requestReceivedTimestamp":"2024-01-01T00:00:00Z","objectRef":{"resource":"deployments","namespace":"prod","apiGroup":"apps"},
            "requestObject":{"metadata":{"name":"api"},"spec":{"template":{"spec":{"hostIPC":true,
              "initContainers":[{"securityContext":{"privileged":true}}]}}}}}"#;
        assert_eq!(
            row(&parse(deployment)),
            "bob (human) | create deployments | apps | prod/api | unknown | - | stage=ResponseComplete privileged=true hostIPC=true"
        );
        let cronjob = r#"{"auditID":"c1","stage":"ResponseComplete","verb":"patch","user":{"username":"bob"},"timestamp":"2024-01-01T00:00:00Z",
            "objectRef":{"resource":"cronjobs","namespace":"prod","name":"nightly","apiGroup":"batch"},
            "requestObject":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"volumes":[{"hostPath":{"path":"/var/run/docker.sock"}}]}}}}}}}"#;
        let details = Some("stage=ResponseComplete hostPath=/var/run/docker.sock");
        assert_eq!(parse(cronjob).details.as_deref(), details);
    }

    #[test]
    fn exec_keeps_container_and_decoded_command() {
        let json = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"e1","stage":"ResponseStarted",
            "requestURI":"/api/v1/namespaces/payments/pods/api-7f9c/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow&container=app&container=app&tty=true",
            "verb":"get","user":{"username":"carol@example.com"},"sourceIPs":["198.51.100.7"],
            "objectRef":{"resource":"pods","namespace":"payments","name":"api-7f9c","apiVersion":"v1","subresource":"exec"},
            "responseStatus":{"code":101},"requestReceivedTimestamp":"2024-06-01T08:00:00.5Z",
            "annotations":{"authorization.k8s.io/decision":"allow"}}"#;
        let e = parse(json);
        assert_eq!(e.time, parse_rfc3339("2024-06-01T08:00:00.500Z"));
        assert_eq!(e.read_only, Some(true));
        assert_eq!(
            row(&e),
            "carol@example.com (human) | get pods/exec | core | payments/api-7f9c | success | - | stage=ResponseStarted decision=allow container=app command=sh_-c_cat_/etc/shadow"
        );
    }

    #[test]
    fn resource_falls_back_to_the_request_path() {
        let healthz = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"h1","stage":"ResponseComplete",
            "requestURI":"/healthz?verbose=1","verb":"get","user":{"username":"system:anonymous"},
            "responseStatus":{"code":200},"requestReceivedTimestamp":"2024-06-01T08:00:00Z"}"#;
        assert_eq!(
            row(&parse(healthz)),
            "system:anonymous (anonymous) | get /healthz | - | /healthz | success | - | stage=ResponseComplete"
        );
        let base = r#"{"auditID":"s1","stage":"ResponseComplete","user":{"username":"dave"},"timestamp":"2022-11-23T13:10:04Z","#;
        for (rest, action, resource) in [
            (
                r#""verb":"patch","requestURI":"/apis/apps/v1/namespaces/test/deployments/web/scale",
                "objectRef":{"resource":"deployments","namespace":"test","subresource":"scale"},"requestObject":{"spec":{"replicas":3}}}"#,
                "patch deployments/scale",
                "test/web",
            ),
            (
                r#""verb":"list","requestURI":"/api/v1/secrets?limit=500","objectRef":{"resource":"secrets"}}"#,
                "list secrets",
                "/api/v1/secrets",
            ),
            (
                r#""verb":"delete","requestURI":"/api/v1/namespaces/foo","objectRef":{"resource":"namespaces","namespace":"foo","name":"foo"}}"#,
                "delete namespaces",
                "foo",
            ),
            (
                r#""verb":"get","requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Aaggregate-to-edit",
                "objectRef":{"resource":"clusterroles","apiGroup":"rbac.authorization.k8s.io"}}"#,
                "get clusterroles",
                "system:aggregate-to-edit",
            ),
        ] {
            let json = format!("{base}{rest}");
            let e = parse(&json);
            let got = (e.action.as_deref(), e.resource.as_deref());
            assert_eq!(got, (Some(action), Some(resource)), "{rest}");
        }
    }

    #[test]
    fn roles_configmaps_secrets_and_services() {
        let base = r#"{"auditID":"r1","stage":"ResponseComplete","user":{"username":"erin"},"timestamp":"2024-01-01T00:00:00Z","#;
        for (rest, details) in [
            (
                r#""verb":"create","objectRef":{"resource":"clusterroles","name":"ops"},"requestObject":{"rules":[
                {"verbs":["get","list"],"resources":["pods","pods/exec"]},{"verbs":["*"],"resources":["secrets","pods"]}]}}"#,
                "verbs=get,list,* resources=pods,pods/exec,secrets",
            ),
            (
                r#""verb":"update","objectRef":{"resource":"configmaps","namespace":"default","name":"app-cfg"},
                "requestObject":{"data":{"app.ini":"aws_access_key_id = AKIAEXAMPLE\n","color":"blue"}}}"#,
                "name=app-cfg keys=app.ini,color credentials=true",
            ),
            (
                r#""verb":"create","objectRef":{"resource":"configmaps","namespace":"default"},
                "requestObject":{"metadata":{"name":"plain"},"data":{"color":"blue"}}}"#,
                "name=plain keys=color",
            ),
            (
                r#""verb":"get","objectRef":{"resource":"secrets","namespace":"kube-system","name":"db-pass"}}"#,
                "name=db-pass",
            ),
            (
                r#""verb":"create","objectRef":{"resource":"secrets","namespace":"ci","name":"t"},
                "requestObject":{"type":"kubernetes.io/service-account-token","data":{"token":"c2VjcmV0"}}}"#,
                "name=t type=kubernetes.io/service-account-token",
            ),
            (
                r#""verb":"create","objectRef":{"resource":"services","namespace":"default","name":"web"},
                "requestObject":{"spec":{"type":"NodePort","ports":[{"port":80}]}}}"#,
                "type=NodePort",
            ),
        ] {
            let json = format!("{base}{rest}");
            let expected = format!("stage=ResponseComplete {details}");
            assert_eq!(parse(&json).details.as_deref(), Some(expected.as_str()));
        }
    }

    #[test]
    fn forbid_decision_is_a_failure() {
        let json = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"f1","stage":"ResponseComplete","verb":"create",
            "user":{"username":"system:serviceaccount:ci:builder"},"objectRef":{"resource":"pods","namespace":"ci","subresource":"exec","name":"p"},
            "requestReceivedTimestamp":"2024-01-01T00:00:00Z","annotations":{"authorization.k8s.io/decision":"forbid"}}"#;
        assert_eq!(
            row(&parse(json)),
            "system:serviceaccount:ci:builder (service) | create pods/exec | core | ci/p | failure | Forbidden | stage=ResponseComplete decision=forbid"
        );
    }

    #[test]
    fn actor_types() {
        for (user, kind) in [
            (
                "system:serviceaccount:kube-system:default",
                ActorType::Service,
            ),
            ("ci@proj.iam.gserviceaccount.com", ActorType::Service),
            ("system:anonymous", ActorType::Anonymous),
            ("system:node:ip-10-0-1-5", ActorType::System),
            ("system:kube-scheduler", ActorType::System),
            ("system:apiserver", ActorType::System),
            ("eks:node-manager", ActorType::System),
            ("aksService", ActorType::System),
            ("kubernetes-admin", ActorType::Human),
            ("minikube-user", ActorType::Human),
        ] {
            assert_eq!(actor_type(user), kind, "{user}");
        }
    }

    #[test]
    fn wrong_types_cost_the_field_only() {
        let json = r#"{"kind":"Event","auditID":"w1","stage":"ResponseComplete","verb":"delete","user":"mallory",
            "impersonatedUser":null,"sourceIPs":"203.0.113.9","objectRef":[1,2],"responseStatus":{"code":"403"},
            "requestObject":"not an object","annotations":7,"requestReceivedTimestamp":"2024-01-01T00:00:00Z",
            "requestURI":"/api/v1/namespaces/x/pods/y"}"#;
        let e = parse(json);
        assert_eq!(e.src_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(
            row(&e),
            "- (unknown) | delete /api/v1/namespaces/x/pods/y | - | /api/v1/namespaces/x/pods/y | failure | 403 | stage=ResponseComplete"
        );
        let spec = r#"{"auditID":"w2","stage":"ResponseComplete","verb":"create","user":{"username":"x","extra":[]},
            "timestamp":"2024-01-01T00:00:00Z","objectRef":{"resource":"pods","namespace":"a","name":"b"},
            "requestObject":{"spec":{"containers":"oops","volumes":{"a":1},"hostNetwork":"yes","template":null}}}"#;
        let details = Some("stage=ResponseComplete hostNetwork=true");
        assert_eq!(parse(spec).details.as_deref(), details);
    }

    #[test]
    fn rejects_what_is_not_an_audit_event() {
        for json in [
            r#"{"kind": 0}"#,
            r#"{"kind":"Event","apiVersion":"v1","metadata":{"name":"x"},"reason":"Killing","involvedObject":{"kind":"Pod"}}"#,
            r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}"#,
            r#"{"eventVersion":"1.08","eventTime":"2024-07-31T12:46:41Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}"#,
            r#"{"uuid":"u1","published":"2025-07-21T14:48:24.597Z","eventType":"user.session.start","actor":{"alternateId":"a@b.c"}}"#,
            r#"{"protoPayload":{"serviceName":"k8s.io","methodName":"io.k8s.core.v1.pods.exec.create"},"timestamp":"2024-01-01T00:00:00Z"}"#,
            r#"{"records":[{"category":"kube-audit","properties":{"log":"{}"}}]}"#,
            r#"{"category":"kube-audit","time":"2020-05-05T16:16:37Z","properties":{"log":"{\"auditID\":\"a\"}"}}"#,
            r#"{"action":"repo.create","actor":"octocat","created_at":1711431195806}"#,
        ] {
            assert!(!sniff(json), "{json}");
            let got = Kubernetes.parse_json(json.as_bytes());
            assert_eq!(got, Err(RecordError::NotThisFormat), "{json}");
        }
        for (json, why) in [
            (
                r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"n1","stage":"ResponseComplete"}"#,
                "no verb",
            ),
            (
                r#"{"auditID":"n2","stage":"ResponseComplete","verb":"get","stageTimestamp":"garbage"}"#,
                "no timestamp",
            ),
            (r#"{"auditID":"n3","verb":"#, "invalid JSON"),
        ] {
            match Kubernetes.parse_json(json.as_bytes()) {
                Err(RecordError::Invalid(reason)) => assert!(reason.contains(why), "{reason}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn sniffs_each_real_shape() {
        assert!(sniff(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","auditID":"a"}"#
        ));
        // SEKOIA shape: neither kind nor apiVersion; Falco shape: kind, no apiVersion.
        assert!(sniff(
            r#"{"level":"Request","auditID":"a","stage":"ResponseComplete","verb":"get"}"#
        ));
        assert!(sniff(
            r#"{"kind":"Event","auditID":"a","stage":"ResponseStarted","verb":"create"}"#
        ));
        assert!(!sniff(r#"{"kind":"Event","auditID":"a"}"#));
        assert!(!sniff(
            r#"{"auditID":"a","stage":"x","verb":"get","apiVersion":"v1"}"#
        ));
    }
}
