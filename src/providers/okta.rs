//! Okta System Log: the `LogEvent` objects of `/api/v1/logs` (JSON array pages, NDJSON
//! dumps, Cribl `_raw` and EventBridge `detail` envelopes once ingest has unwrapped them).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::fields::{
    Flag, List, Obj, Text, cut, details_from, first_segment, from_json, from_json_str,
    looks_read_only, probe_get, probe_has, probe_str,
};
use super::time::parse_time_text;
use super::{Probe, Provider, RecordError};
use crate::country::country_code;
use crate::schema::{ActorType, Event, Outcome};

/// Okta System Log events.
pub struct Okta;

/// Okta writes `"unknown"` (and sometimes `"null"`) for missing ids; treat them as absent.
fn known(text: Text<'_>) -> Option<Cow<'_, str>> {
    text.into_inner()
        .filter(|v| !v.eq_ignore_ascii_case("unknown") && !v.eq_ignore_ascii_case("null"))
}

fn known_ref<'t>(text: &'t Text<'_>) -> Option<&'t str> {
    text.get()
        .filter(|v| !v.eq_ignore_ascii_case("unknown") && !v.eq_ignore_ascii_case("null"))
}

// ---------------------------------------------------------------------------------------
// Record shape
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct LogEvent<'a> {
    #[serde(borrow, default)]
    uuid: Text<'a>,
    #[serde(borrow, default)]
    published: Text<'a>,
    #[serde(borrow, default, rename = "eventType")]
    event_type: Text<'a>,
    #[serde(borrow, default, rename = "displayMessage")]
    display_message: Text<'a>,
    #[serde(borrow, default)]
    actor: Obj<Principal<'a>>,
    #[serde(borrow, default)]
    client: Obj<Client<'a>>,
    #[serde(borrow, default)]
    outcome: Obj<OutcomeField<'a>>,
    #[serde(borrow, default)]
    target: List<Principal<'a>>,
    #[serde(borrow, default, rename = "authenticationContext")]
    authentication_context: Obj<AuthContext<'a>>,
    #[serde(borrow, default, rename = "securityContext")]
    security_context: Obj<SecurityContext<'a>>,
    #[serde(borrow, default, rename = "debugContext")]
    debug_context: Obj<DebugContext<'a>>,
    #[serde(borrow, default)]
    request: Obj<Request<'a>>,
    #[serde(borrow, default)]
    transaction: Obj<Transaction<'a>>,
    // Keys of other formats: their presence means the record is not an Okta LogEvent.
    #[serde(default, rename = "eventSource")]
    event_source: Option<IgnoredAny>,
    #[serde(default, rename = "eventName")]
    event_name: Option<IgnoredAny>,
    #[serde(default, rename = "protoPayload")]
    proto_payload: Option<IgnoredAny>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<IgnoredAny>,
    #[serde(default, rename = "auditID")]
    audit_id: Option<IgnoredAny>,
    #[serde(default)]
    action: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
struct Principal<'a> {
    #[serde(borrow, default)]
    id: Text<'a>,
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default, rename = "alternateId")]
    alternate_id: Text<'a>,
    #[serde(borrow, default, rename = "displayName")]
    display_name: Text<'a>,
    #[serde(borrow, default, rename = "detailEntry")]
    detail_entry: Obj<DetailEntry<'a>>,
}

impl<'a> Principal<'a> {
    /// The readable name: alternateId, else displayName, else id (roles: displayName first,
    /// their alternateId is an opaque code).
    fn name(&self) -> Option<&str> {
        if self.is("ROLE")
            && let Some(name) = known_ref(&self.display_name)
        {
            return Some(name);
        }
        known_ref(&self.alternate_id)
            .or_else(|| known_ref(&self.display_name))
            .or_else(|| known_ref(&self.id))
    }

    fn into_name(self) -> Option<Cow<'a, str>> {
        known(self.alternate_id)
            .or_else(|| known(self.display_name))
            .or_else(|| known(self.id))
    }

    fn is(&self, kind: &str) -> bool {
        self.kind
            .get()
            .is_some_and(|k| k.eq_ignore_ascii_case(kind))
    }
}

#[derive(Deserialize, Default)]
struct DetailEntry<'a> {
    #[serde(borrow, default)]
    publicclientapp: Text<'a>,
    #[serde(borrow, default, rename = "factorType")]
    factor_type: Text<'a>,
    #[serde(borrow, default, rename = "methodTypeUsed")]
    method_type_used: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Client<'a> {
    #[serde(borrow, default, rename = "ipAddress")]
    ip_address: Text<'a>,
    #[serde(borrow, default, rename = "userAgent")]
    user_agent: Obj<UserAgent<'a>>,
    #[serde(borrow, default, rename = "geographicalContext")]
    geo: Obj<Geo<'a>>,
}

#[derive(Deserialize, Default)]
struct UserAgent<'a> {
    #[serde(borrow, default, rename = "rawUserAgent")]
    raw: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Geo<'a> {
    #[serde(borrow, default)]
    city: Text<'a>,
    #[serde(borrow, default)]
    country: Text<'a>,
}

#[derive(Deserialize, Default)]
struct OutcomeField<'a> {
    #[serde(borrow, default)]
    result: Text<'a>,
    #[serde(borrow, default)]
    reason: Text<'a>,
}

#[derive(Deserialize, Default)]
struct AuthContext<'a> {
    #[serde(borrow, default, rename = "authenticationProvider")]
    provider: Text<'a>,
    #[serde(borrow, default, rename = "credentialType")]
    credential_type: Text<'a>,
    #[serde(borrow, default, rename = "externalSessionId")]
    external_session_id: Text<'a>,
    #[serde(borrow, default, rename = "rootSessionId")]
    root_session_id: Text<'a>,
}

#[derive(Deserialize, Default)]
struct SecurityContext<'a> {
    #[serde(default, rename = "isProxy")]
    is_proxy: Flag,
    #[serde(borrow, default, rename = "asNumber")]
    as_number: Text<'a>,
}

#[derive(Deserialize, Default)]
struct DebugContext<'a> {
    #[serde(borrow, default, rename = "debugData")]
    debug_data: Obj<DebugData<'a>>,
}

#[derive(Deserialize, Default)]
struct DebugData<'a> {
    #[serde(borrow, default, rename = "privilegeGranted")]
    privilege_granted: Text<'a>,
    #[serde(borrow, default, rename = "threatSuspected")]
    threat_suspected: Text<'a>,
    #[serde(default)]
    behaviors: Behaviors,
    /// Newer orgs log the behaviours only here, as JSON text (or an object once re-exported).
    #[serde(default, rename = "logOnlySecurityData")]
    log_only_security_data: LogOnlySecurityData,
    #[serde(borrow, default)]
    risk: Text<'a>,
}

/// Okta's behaviours as `Name=VALUE` text, whichever shape they come in: the System Log's
/// `{New IP=POSITIVE, ...}` string, a list of `Name=VALUE` strings, or an object.
#[derive(Default)]
struct Behaviors(Option<String>);

/// Longest behaviours text kept (Okta has seven behaviours).
const BEHAVIORS_MAX: usize = 400;

impl<'de> Deserialize<'de> for Behaviors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Behaviors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Okta behaviours")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Behaviors, E> {
                Ok(Behaviors(Some(cut(v, BEHAVIORS_MAX).to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Behaviors, A::Error> {
                let mut out = String::new();
                while let Some(item) = seq.next_element::<Text>()? {
                    push_behavior(&mut out, item.get(), None);
                }
                Ok(Behaviors(Some(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Behaviors, A::Error> {
                let mut out = String::new();
                while let Some((name, value)) = map.next_entry::<Text, Text>()? {
                    push_behavior(&mut out, name.get(), value.get());
                }
                Ok(Behaviors(Some(out)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Behaviors, E> {
                Ok(Behaviors(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Behaviors, E> {
                Ok(Behaviors(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Behaviors, E> {
                Ok(Behaviors(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Behaviors, E> {
                Ok(Behaviors(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Behaviors, E> {
                Ok(Behaviors(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Behaviors, E> {
                Ok(Behaviors(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Appends `name=value` (or a `name=value` item) to a behaviours text, within its bound.
fn push_behavior(out: &mut String, item: Option<&str>, value: Option<&str>) {
    let Some(item) = item else {
        return;
    };
    if out.len() + item.len() + value.map_or(0, str::len) + 3 > BEHAVIORS_MAX {
        return;
    }
    if !out.is_empty() {
        out.push_str(", ");
    }
    out.push_str(item);
    if let Some(value) = value {
        out.push('=');
        out.push_str(value);
    }
}

/// `debugData.logOnlySecurityData`: its behaviours and risk level, from JSON text or an
/// object.
#[derive(Default)]
struct LogOnlySecurityData(Behaviors, Option<String>);

#[derive(Deserialize, Default)]
struct SecurityData {
    #[serde(default)]
    behaviors: Behaviors,
    #[serde(default)]
    risk: Obj<SecurityRisk>,
}

/// `logOnlySecurityData.risk`: `{"reasons": "...", "level": "HIGH"}`.
#[derive(Deserialize, Default)]
struct SecurityRisk {
    #[serde(default)]
    level: Option<String>,
}

impl From<Option<SecurityData>> for LogOnlySecurityData {
    fn from(data: Option<SecurityData>) -> LogOnlySecurityData {
        match data {
            Some(d) => LogOnlySecurityData(d.behaviors, d.risk.0.and_then(|r| r.level)),
            None => LogOnlySecurityData::default(),
        }
    }
}

impl<'de> Deserialize<'de> for LogOnlySecurityData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LogOnlySecurityData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Okta security data")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LogOnlySecurityData, E> {
                let data = from_json_str::<Obj<SecurityData>>(v).and_then(|d| d.0);
                Ok(data.into())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let data: Obj<SecurityData> = Obj::deserialize(MapAccessDeserializer::new(map))?;
                Ok(data.0.into())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LogOnlySecurityData::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LogOnlySecurityData::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LogOnlySecurityData::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LogOnlySecurityData::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LogOnlySecurityData::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LogOnlySecurityData::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LogOnlySecurityData::default())
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
struct Request<'a> {
    #[serde(borrow, default, rename = "ipChain")]
    ip_chain: List<IpHop<'a>>,
}

#[derive(Deserialize, Default)]
struct IpHop<'a> {
    #[serde(borrow, default)]
    ip: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Transaction<'a> {
    #[serde(borrow, default)]
    id: Text<'a>,
    #[serde(borrow, default)]
    detail: Obj<TransactionDetail<'a>>,
}

#[derive(Deserialize, Default)]
struct TransactionDetail<'a> {
    #[serde(borrow, default, rename = "requestApiTokenId")]
    request_api_token_id: Text<'a>,
}

// ---------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------

/// `actor.type` to the kind of identity.
fn actor_type(kind: Option<&str>) -> ActorType {
    let Some(kind) = kind else {
        return ActorType::Unknown;
    };
    let kind = kind.trim();
    let is = |names: &[&str]| names.iter().any(|n| kind.eq_ignore_ascii_case(n));
    if is(&["User"]) {
        ActorType::Human
    } else if is(&["SystemPrincipal"]) {
        ActorType::System
    } else if is(&[
        "PublicClientApp",
        "AppInstance",
        "Client",
        "OAuth2 client",
        "OAuth2Client",
        "App",
        "ServiceAccount",
        "ApiToken",
    ]) {
        ActorType::Service
    } else {
        ActorType::Unknown
    }
}

/// Event types whose receiving principal (a User target) is the resource, not target[0].
fn targets_principal(event_type: &str) -> bool {
    event_type.contains("privilege.")
        || event_type.contains("user_membership.")
        || event_type.starts_with("user.session.impersonation")
}

/// Sign-ins, whose targets are the authenticator used and the app signed in to (Identity
/// Engine writes `AuthenticatorEnrollment` first): the app is what was accessed.
fn signs_in_to_app(event_type: &str) -> bool {
    event_type == "user.session.start" || event_type.starts_with("user.authentication.")
}

/// The resource: the receiving principal for grants, the client app for admin consent,
/// the app signed in to for sign-ins, else target[0].
fn resource<'a>(event_type: &str, targets: &mut Vec<Principal<'a>>) -> Option<Cow<'a, str>> {
    if event_type.starts_with("app.oauth2.") && event_type.contains("consent") {
        let app = targets.iter_mut().find_map(|t| {
            t.detail_entry
                .0
                .as_mut()
                .and_then(|d| d.publicclientapp.take())
        });
        if app.is_some() {
            return app;
        }
    }
    let index = if targets_principal(event_type) {
        targets
            .iter()
            .position(|t| t.is("User"))
            .or_else(|| targets.iter().position(|t| t.is("UserGroup")))
            .unwrap_or(0)
    } else if signs_in_to_app(event_type) {
        targets
            .iter()
            .position(|t| t.is("AppInstance"))
            .unwrap_or(0)
    } else {
        0
    };
    if index < targets.len() {
        targets.swap_remove(index).into_name()
    } else {
        None
    }
}

/// `type:name` of up to three targets, for `details`.
fn targets_summary(targets: &[Principal<'_>], consent: bool) -> Option<String> {
    let mut out = String::new();
    let shown: Vec<&Principal<'_>> = targets.iter().filter(|t| !t.is("ROLE_ASSIGNED")).collect();
    for t in shown.iter().take(3) {
        if !out.is_empty() {
            out.push(',');
        }
        if !consent {
            out.push_str(cut(t.kind.get().unwrap_or("?"), 30));
            out.push(':');
        }
        out.push_str(cut(t.name().unwrap_or("?"), 60));
    }
    if shown.len() > 3 {
        out.push_str(&format!(",+{}", shown.len() - 3));
    }
    (!out.is_empty()).then_some(out)
}

/// The behaviours Okta marked POSITIVE (`{New IP=POSITIVE, ...}` or JSON), names without
/// spaces: `NewIP,NewDevice`.
fn positive_behaviors(text: &str) -> Option<String> {
    let mut out = String::new();
    for part in text.split(',') {
        let Some((name, value)) = part.split_once('=').or_else(|| part.split_once(':')) else {
            continue;
        };
        let value = value.trim_matches(|c: char| c.is_whitespace() || "{}\"".contains(c));
        if !value.eq_ignore_ascii_case("POSITIVE") {
            continue;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.extend(name.chars().filter(|c| c.is_ascii_alphanumeric()));
    }
    (!out.is_empty()).then_some(out)
}

/// The `level=` of a debugData risk (`{reasons=..., level=MEDIUM}`).
fn risk_level(text: &str) -> Option<&str> {
    let start = text.find("level")? + "level".len();
    let rest = text[start..].trim_start_matches(|c: char| "\"=: ".contains(c));
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

impl Provider for Okta {
    fn format(&self) -> &'static str {
        "okta"
    }

    fn sniff_json(&self, probe: &Probe) -> bool {
        use sonic_rs::JsonValueTrait;
        let event_type = probe_str(probe, &["eventType"]).unwrap_or("");
        let published = probe_str(probe, &["published"]).and_then(parse_time_text);
        let has_actor = probe_get(probe, &["actor"]).is_some_and(|a| a.is_object());
        event_type.contains('.')
            && !event_type.starts_with("com.okta.event_hook")
            && published.is_some()
            && (probe_str(probe, &["uuid"]).is_some() || has_actor)
            && !probe_has(probe, &["eventSource"])
            && !probe_has(probe, &["protoPayload"])
            && !probe_has(probe, &["action"])
    }

    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError> {
        let mut ev: LogEvent<'a> = from_json(record)?;
        let foreign = ev.event_source.is_some()
            || ev.event_name.is_some()
            || ev.proto_payload.is_some()
            || ev.operation_name.is_some()
            || ev.audit_id.is_some()
            || ev.action.is_some();
        let okta_like = ev.published.get().is_some()
            || ev.uuid.get().is_some()
            || ev.event_type.get().is_some_and(|t| t.contains('.'));
        if foreign || !okta_like {
            return Err(RecordError::NotThisFormat);
        }
        let Some(event_type) = ev.event_type.take() else {
            return Err(RecordError::Invalid("Okta event has no eventType".into()));
        };
        let time = match ev.published.get() {
            None => {
                return Err(RecordError::Invalid(
                    "Okta event has no published time".into(),
                ));
            }
            Some(p) => parse_time_text(p).ok_or_else(|| {
                RecordError::Invalid(format!(
                    "Okta event has an unreadable published time {:?}",
                    cut(p, 40)
                ))
            })?,
        };

        let actor_obj = ev.actor.0.take().unwrap_or_default();
        let actor_type = actor_type(actor_obj.kind.get());
        // The user id beside the login: other records (targets, admin roles) use it.
        let actor_id = known(actor_obj.id.clone());
        let actor = actor_obj.into_name();
        let actor_id = actor_id.filter(|id| Some(id) != actor.as_ref());

        let mut client = ev.client.0.take().unwrap_or_default();
        // `"null"` stands for a missing address too; the chain's first hop then names it.
        let src_ip = known(std::mem::take(&mut client.ip_address)).or_else(|| {
            let hops = &mut ev.request.0.as_mut()?.ip_chain.0;
            hops.first_mut()
                .and_then(|h| known(std::mem::take(&mut h.ip)))
        });
        let user_agent = client.user_agent.0.take().and_then(|u| u.raw.into_inner());
        // Okta writes GeoIP country names (`United States`); the column holds ISO codes.
        let (country, city) = match client.geo.0.take() {
            Some(g) => (known_ref(&g.country).and_then(country_code), known(g.city)),
            None => (None, None),
        };

        let outcome_field = ev.outcome.0.take().unwrap_or_default();
        let result = outcome_field.result.get();
        let result_is = |names: &[&str]| {
            result.is_some_and(|r| names.iter().any(|n| r.eq_ignore_ascii_case(n)))
        };
        let outcome = if result_is(&["SUCCESS", "ALLOW"]) {
            Outcome::Success
        } else if result_is(&["FAILURE", "DENY"]) {
            Outcome::Failure
        } else {
            Outcome::Unknown
        };
        let error = if outcome == Outcome::Failure {
            outcome_field
                .reason
                .0
                .clone()
                .or_else(|| outcome_field.result.0.clone())
        } else {
            None
        };

        let auth = ev.authentication_context.0.take().unwrap_or_default();
        let credential = auth.credential_type.get();
        // A factor step proves MFA when it succeeded and its absence when it failed; an
        // attempt to bypass MFA is its absence; every other event cannot tell.
        let factor_step = event_type.eq_ignore_ascii_case("user.authentication.auth_via_mfa")
            || auth
                .provider
                .get()
                .is_some_and(|p| p.eq_ignore_ascii_case("FACTOR_PROVIDER"))
            || credential
                .is_some_and(|c| c.eq_ignore_ascii_case("OTP") || c.eq_ignore_ascii_case("SMS"));
        let mfa = if event_type.eq_ignore_ascii_case("user.mfa.attempt_bypass") {
            Some(false)
        } else if factor_step {
            match outcome {
                Outcome::Success => Some(true),
                Outcome::Failure => Some(false),
                Outcome::Unknown => None,
            }
        } else {
            None
        };
        let transaction = ev.transaction.0.take().unwrap_or_default();
        let correlation_id = known(transaction.id);
        let api_token = transaction
            .detail
            .0
            .and_then(|d| known(d.request_api_token_id));
        let session = known(auth.external_session_id)
            .or_else(|| known(auth.root_session_id))
            .or(api_token);

        let service = first_segment(&event_type).or(Some(Cow::Borrowed("okta")));
        let consent = event_type.starts_with("app.oauth2.") && event_type.contains("consent");
        let summary = targets_summary(&ev.target.0, consent);
        let factor = ev.target.0.iter().find_map(|t| {
            let d = t.detail_entry.0.as_ref()?;
            d.factor_type
                .get()
                .or(d.method_type_used.get())
                .map(|f| cut(f, 40).to_owned())
        });
        let resource = resource(&event_type, &mut ev.target.0);

        let debug = ev
            .debug_context
            .0
            .take()
            .and_then(|d| d.debug_data.0)
            .unwrap_or_default();
        let security = ev.security_context.0.take().unwrap_or_default();
        // Okta's own `behaviors` first; `logOnlySecurityData` when that is absent.
        let behaviors = (debug.behaviors.0.as_deref())
            .filter(|b| !b.is_empty())
            .or(debug.log_only_security_data.0.0.as_deref())
            .and_then(positive_behaviors);
        let risk = (debug.risk.get().and_then(risk_level))
            .or(debug.log_only_security_data.1.as_deref())
            .filter(|level| level.bytes().all(|b| b.is_ascii_alphabetic()) && !level.is_empty());
        let non_success = result.filter(|_| outcome != Outcome::Success);
        let reason = (outcome != Outcome::Failure)
            .then(|| outcome_field.reason.get().map(|r| cut(r, 80)))
            .flatten();
        let threat = debug
            .threat_suspected
            .get()
            .filter(|t| t.eq_ignore_ascii_case("true"));
        let proxy = (security.is_proxy.0 == Some(true)).then_some("true");
        let message = ev.display_message.get().map(|m| cut(m, 80));
        let details = details_from(&[
            (
                "privilegeGranted",
                debug.privilege_granted.get().map(|p| cut(p, 80)),
            ),
            (
                if consent { "scopes" } else { "targets" },
                summary.as_deref(),
            ),
            ("result", non_success),
            ("reason", reason),
            ("threatSuspected", threat),
            ("behaviors", behaviors.as_deref()),
            ("risk", risk),
            ("proxy", proxy),
            ("asn", security.as_number.get()),
            ("credential", credential),
            ("factor", factor.as_deref()),
            ("msg", message),
        ]);

        Ok(Event {
            time: Some(time),
            provider: "okta",
            log_type: Cow::Borrowed("system_log"),
            event_id: ev.uuid.take(),
            actor,
            actor_type,
            actor_id,
            read_only: looks_read_only(&event_type).then_some(true),
            action: Some(event_type),
            service,
            resource,
            src_ip,
            user_agent,
            region: None,
            country,
            city,
            outcome,
            error,
            mfa,
            session,
            correlation_id,
            account: None,
            details,
            completeness: None,
        })
    }
}

#[cfg(test)]
mod tests;
