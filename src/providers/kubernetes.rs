//! Kubernetes API server audit events (`audit.k8s.io` `Event`, v1 and v1beta1, and the
//! unversioned events of Falco traces). A request may be logged once per stage
//! (`RequestReceived`, then `ResponseComplete`): each stage is parsed, and says how complete
//! it is, so that the store keeps one event per request (the most complete stage) and counts
//! the others as stage duplicates.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::fields::{Flag, Num, RawJson, Text, details_from, from_json, probe_has, probe_str};
use super::time::parse_rfc3339;
use super::{Probe, Provider, RecordError};
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
        let text = |k: &str| probe_str(probe, &[k]).is_some_and(|v| !v.is_empty());
        (kind == Some("Event") && api.is_some())
            || ["auditID", "verb", "stage"].iter().all(|k| text(k))
            // SIEM re-exports that keep the request but drop `kind`, `apiVersion`, `stage`.
            || (text("auditID")
                && text("verb")
                && text("requestURI")
                && probe_has(probe, &["user"]))
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
        let extra = &mut user.extra.0;
        let actor_type = match actor.as_deref() {
            None => ActorType::Unknown,
            Some(name) => eks_iam_kind(
                name,
                extra.canonical_arn.0.as_deref().or(extra.arn.0.as_deref()),
                extra.session_name.0.as_deref(),
            )
            .unwrap_or_else(|| actor_type(name)),
        };
        let session = extra.credential_id.0.take();
        // EKS names the IAM principal behind the mapped user: the assumed-role session
        // (which says who assumed the role) before the role or user it was mapped from.
        let actor_id = (extra.arn.0.take())
            .filter(|a| a.starts_with("arn:aws"))
            .or_else(|| extra.canonical_arn.0.take())
            .filter(|a| a.starts_with("arn:aws") && Some(a) != actor.as_ref());

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
        let completeness = r.stage.get().and_then(stage_completeness);
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
            actor_id,
            action: Some(Cow::Owned(action)),
            service,
            resource,
            src_ip: r.source_ips.0.take(),
            user_agent: r.user_agent.take(),
            region: None,
            country: None,
            city: None,
            outcome,
            error: error.map(Cow::Owned),
            mfa: None,
            session,
            correlation_id: None,
            read_only,
            account: None,
            details: details_from(&pairs).map(|d| match d.chars().nth(MAX_DETAILS) {
                Some(_) => Cow::Owned(d.chars().take(MAX_DETAILS).chain(['…']).collect()),
                None => d,
            }),
            completeness,
        })
    }
}

/// How complete a stage's record of a request is: the response stages carry the outcome,
/// `RequestReceived` only the request.
fn stage_completeness(stage: &str) -> Option<u8> {
    match stage {
        "RequestReceived" => Some(0),
        "ResponseStarted" => Some(1),
        "ResponseComplete" | "Panic" => Some(2),
        _ => None,
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

/// The kind of an EKS user mapped from AWS IAM (the username or the authenticator's `arn` /
/// `canonicalArn` names an IAM principal), None for any other user. A role is a workload
/// (nodes, CI, controllers) unless the mapping proves a person behind it: an IAM Identity
/// Center permission set (`AWSReservedSSO_*`) or a session named by an e-mail (SAML and
/// Identity Center name sessions after the user). IAM users are people.
fn eks_iam_kind(username: &str, arn: Option<&str>, session: Option<&str>) -> Option<ActorType> {
    let principal = arn
        .filter(|a| a.starts_with("arn:aws"))
        .or_else(|| username.starts_with("arn:aws").then_some(username))?;
    let resource = principal.splitn(6, ':').nth(5).unwrap_or("");
    if resource.starts_with("user/") || resource == "root" {
        return Some(ActorType::Human);
    }
    // `assumed-role/NAME/SESSION` (the username template of access entries) or
    // `role/PATH/NAME`; Identity Center's roles live under `aws-reserved/sso.amazonaws.com/`.
    let from_arn = username
        .strip_prefix("arn:aws")
        .and_then(|_| username.rsplit('/').next());
    let session = session.or(from_arn).unwrap_or("");
    let person = resource.contains("AWSReservedSSO_") || session.contains('@');
    Some(if person {
        ActorType::Human
    } else {
        ActorType::Service
    })
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
            // Long lists are cut: what grants escalation goes first so it is never cut.
            let verbs = rules.iter().flat_map(|r| r.0.verbs.strs());
            let verbs = sensitive_first(verbs, |v| {
                matches!(v, "*" | "escalate" | "bind" | "impersonate")
            });
            pairs.push(("verbs", join_limited(verbs.into_iter())));
            let resources = rules.iter().flat_map(|r| r.0.resources.strs());
            let resources = sensitive_first(resources, |r| {
                r.contains('/')
                    || r.contains('*')
                    || r == "secrets"
                    || r.ends_with("webhookconfigurations")
            });
            pairs.push(("resources", join_limited(resources.into_iter())));
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
/// The distinct items, in order, except that past `MAX_ITEMS` the `sensitive` ones move to
/// the front (so [`join_limited`] keeps them).
fn sensitive_first<'s>(
    items: impl Iterator<Item = &'s str>,
    sensitive: impl Fn(&str) -> bool,
) -> Vec<&'s str> {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    if seen.len() > MAX_ITEMS {
        seen.sort_by_key(|i| !sensitive(i));
    }
    seen
}

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
    /// EKS (aws-iam-authenticator): the IAM principal behind the user.
    #[serde(rename = "canonicalArn")]
    canonical_arn: First<'a>,
    arn: First<'a>,
    #[serde(rename = "sessionName")]
    session_name: First<'a>,
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
mod tests;
