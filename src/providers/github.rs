//! GitHub audit log: organisation / enterprise exports and streams (old format with only
//! `created_at`, new format with `@timestamp` and `_document_id`) and user-level exports
//! (the "Security log"). One JSON object per event; framing (arrays, NDJSON) is done by
//! ingest. Failures are encoded in the action name; there is no outcome field.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::okta::{Obj, first_segment};
use super::{
    Flag, Probe, Provider, RecordError, Text, details_from, epoch_to_micros, from_json,
    parse_time_text, probe_has, probe_str,
};
use crate::schema::{ActorType, Event, Outcome};

/// GitHub audit log events.
pub struct GitHub;

/// A scalar read as text like [`Text`], except that an array gives its first non-empty
/// scalar (GitHub writes `"org": "acme"`, `"org": ["acme"]` and `"org": []`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FirstText<'a>(pub Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor;
        impl<'de> Visitor<'de> for FirstVisitor {
            type Value = FirstText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut first = None;
                while let Some(Text(item)) = seq.next_element::<Text<'de>>()? {
                    if first.is_none() {
                        first = item;
                    }
                }
                Ok(FirstText(first))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(FirstText(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(FirstText(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(FirstText(None))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(FirstText((!v.is_empty()).then_some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(FirstText((!v.is_empty()).then(|| Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(FirstText((!v.is_empty()).then_some(Cow::Owned(v))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(FirstText(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(FirstText(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(FirstText(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(FirstText(Some(Cow::Borrowed(if v {
                    "true"
                } else {
                    "false"
                }))))
            }
        }
        deserializer.deserialize_any(FirstVisitor)
    }
}

/// A time written as an epoch number (any unit) or as text (epoch digits or RFC 3339).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct EpochTime(Option<i64>);

impl<'de> Deserialize<'de> for EpochTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl<'de> Visitor<'de> for TimeVisitor {
            type Value = EpochTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an epoch number or a date-time")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(EpochTime(epoch_to_micros(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(EpochTime(epoch_to_micros(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(EpochTime(epoch_to_micros(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(EpochTime(parse_time_text(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(EpochTime(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(EpochTime(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(EpochTime(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EpochTime(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(EpochTime(None))
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

#[derive(Deserialize)]
struct AuditEntry<'a> {
    #[serde(borrow, default)]
    action: Text<'a>,
    #[serde(default, rename = "@timestamp")]
    at_timestamp: EpochTime,
    #[serde(default)]
    created_at: EpochTime,
    #[serde(borrow, default, rename = "_document_id")]
    document_id: Text<'a>,
    #[serde(borrow, default)]
    actor: FirstText<'a>,
    #[serde(borrow, default)]
    user: FirstText<'a>,
    #[serde(default)]
    actor_is_bot: Flag,
    #[serde(borrow, default)]
    actor_ip: Text<'a>,
    #[serde(borrow, default)]
    user_agent: Text<'a>,
    #[serde(borrow, default)]
    actor_location: Obj<ActorLocation<'a>>,
    #[serde(borrow, default)]
    org: FirstText<'a>,
    #[serde(borrow, default)]
    business: FirstText<'a>,
    #[serde(borrow, default)]
    repo: FirstText<'a>,
    #[serde(borrow, default)]
    repository: FirstText<'a>,
    #[serde(borrow, default)]
    team: FirstText<'a>,
    #[serde(borrow, default)]
    blocked_user: FirstText<'a>,
    #[serde(borrow, default)]
    integration: FirstText<'a>,
    #[serde(borrow, default)]
    data: Obj<Data<'a>>,
    #[serde(borrow, default)]
    permission: Text<'a>,
    #[serde(borrow, default)]
    old_permission: Text<'a>,
    #[serde(borrow, default)]
    visibility: Text<'a>,
    #[serde(borrow, default)]
    previous_visibility: Text<'a>,
    #[serde(borrow, default)]
    operation_type: Text<'a>,
    #[serde(borrow, default)]
    transport_protocol_name: Text<'a>,
    #[serde(borrow, default)]
    hashed_token: Text<'a>,
    #[serde(borrow, default)]
    token_id: Text<'a>,
    #[serde(borrow, default)]
    programmatic_access_type: Text<'a>,
    #[serde(borrow, default)]
    user_programmatic_access_name: Text<'a>,
    #[serde(borrow, default)]
    repositories_added_names: FirstText<'a>,
    #[serde(borrow, default)]
    repositories_removed_names: FirstText<'a>,
    // Keys of other formats: their presence means the record is not a GitHub audit event.
    #[serde(default, rename = "eventType")]
    event_type: Option<IgnoredAny>,
    #[serde(default, rename = "eventName")]
    event_name: Option<IgnoredAny>,
    #[serde(default, rename = "protoPayload")]
    proto_payload: Option<IgnoredAny>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<IgnoredAny>,
    #[serde(default, rename = "auditID")]
    audit_id: Option<IgnoredAny>,
    #[serde(default)]
    published: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
struct ActorLocation<'a> {
    #[serde(borrow, default)]
    country_code: Text<'a>,
    #[serde(borrow, default)]
    country_name: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Data<'a> {
    #[serde(borrow, default)]
    team: FirstText<'a>,
    #[serde(borrow, default)]
    old_user: Text<'a>,
    #[serde(borrow, default)]
    permission: Text<'a>,
    #[serde(borrow, default)]
    old_permission: Text<'a>,
}

/// Keys no other supported format puts at the top level next to `action`.
const FOREIGN_KEYS: [&str; 14] = [
    "eventType",
    "eventName",
    "eventSource",
    "eventTime",
    "userIdentity",
    "protoPayload",
    "logName",
    "operationName",
    "verb",
    "auditID",
    "published",
    "activityDateTime",
    "createdDateTime",
    "resourceId",
];

/// The part of an action after its last dot (`failed_login` of `user.failed_login`).
fn verb(action: &str) -> &str {
    action.rsplit('.').next().unwrap_or(action)
}

/// The failure an action name encodes, if any: `user.failed_login`,
/// `*.two_factor_challenge_failure`, `protected_branch.rejected_ref_update`, `*_denied`.
fn failure_kind(action: &str) -> Option<&str> {
    let v = verb(action);
    let failed = v.split('_').any(|word| {
        ["failed", "failure", "rejected", "denied"]
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
    });
    failed.then_some(v)
}

/// Membership and role changes, whose resource is the affected `user`.
fn is_membership(action: &str) -> bool {
    let v = verb(action);
    [
        "member",
        "admin",
        "invite",
        "collaborator",
        "maintainer",
        "owner",
        "moderator",
    ]
    .iter()
    .any(|w| v.contains(w))
}

/// Credentials minted for a user (tokens, OAuth grants, keys): the resource is the `user`
/// that holds them, not the organisation.
fn is_credential(action: &str) -> bool {
    let service = action.split('.').next().unwrap_or(action);
    matches!(
        service,
        "personal_access_token"
            | "oauth_access"
            | "oauth_authorization"
            | "public_key"
            | "ssh_certificate"
    )
}

fn actor_type(
    actor: Option<&str>,
    is_bot: Option<bool>,
    token: Option<&str>,
    action: &str,
) -> ActorType {
    let Some(name) = actor else {
        // Anonymous clones and fetches of public repositories carry no actor.
        return if action.starts_with("git.") {
            ActorType::Anonymous
        } else {
            ActorType::Unknown
        };
    };
    let app_token = token.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.contains("github app") || t.contains("server-to-server") || t.contains("integration")
    });
    let bytes = name.as_bytes();
    let bot_suffix = bytes.len() >= 5 && bytes[bytes.len() - 5..].eq_ignore_ascii_case(b"[bot]");
    let machine = [
        "github-actions",
        "dependabot",
        "dependabot-preview",
        "github-merge-queue",
    ]
    .iter()
    .any(|m| name.eq_ignore_ascii_case(m));
    if bot_suffix || machine || is_bot == Some(true) || app_token {
        ActorType::Service
    } else if name.eq_ignore_ascii_case("github") {
        ActorType::System
    } else {
        ActorType::Human
    }
}

fn read_only(action: &str, operation_type: Option<&str>) -> Option<bool> {
    match action {
        "git.clone" | "git.fetch" => return Some(true),
        "git.push" => return Some(false),
        _ => {}
    }
    let v = verb(action);
    if v == "view" || v.starts_with("view_") || v.contains("download") || v.contains("export") {
        return Some(true);
    }
    let op = operation_type?;
    if op.eq_ignore_ascii_case("access") {
        Some(true)
    } else if ["create", "modify", "remove", "restore", "transfer"]
        .iter()
        .any(|w| op.eq_ignore_ascii_case(w))
    {
        Some(false)
    } else {
        None
    }
}

/// Where the resource came from, so `details` does not repeat it.
#[derive(PartialEq)]
enum ResourceFrom {
    BlockedUser,
    User,
    Repo,
    Repository,
    Team,
    DataTeam,
    Integration,
    ReposAdded,
    ReposRemoved,
    Org,
    Business,
    Nothing,
}

impl Provider for GitHub {
    fn format(&self) -> &'static str {
        "github-audit"
    }

    fn sniff_json(&self, probe: &Probe) -> bool {
        let action = probe_str(probe, &["action"]).unwrap_or("");
        action.contains('.')
            && !action.contains(char::is_whitespace)
            && (probe_has(probe, &["created_at"]) || probe_has(probe, &["@timestamp"]))
            && ["actor", "user", "org", "_document_id", "repo"]
                .iter()
                .any(|k| probe_has(probe, &[k]))
            && !FOREIGN_KEYS.iter().any(|k| probe_has(probe, &[k]))
    }

    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError> {
        let mut e: AuditEntry<'a> = from_json(record)?;
        let foreign = e.event_type.is_some()
            || e.event_name.is_some()
            || e.proto_payload.is_some()
            || e.operation_name.is_some()
            || e.audit_id.is_some()
            || e.published.is_some();
        let github_like = e.action.get().is_some()
            || e.document_id.get().is_some()
            || e.created_at.0.is_some()
            || e.at_timestamp.0.is_some();
        if foreign || !github_like {
            return Err(RecordError::NotThisFormat);
        }
        let Some(action) = e.action.take() else {
            return Err(RecordError::Invalid(
                "GitHub audit event has no action".into(),
            ));
        };
        let Some(time) = e.at_timestamp.0.or(e.created_at.0) else {
            return Err(RecordError::Invalid(
                "GitHub audit event has no usable @timestamp or created_at".into(),
            ));
        };

        let actor = e.actor.0.take().or_else(|| e.user.0.clone());
        let actor_type = actor_type(
            actor.as_deref(),
            e.actor_is_bot.0,
            e.programmatic_access_type.get(),
            &action,
        );

        let data = e.data.0.take().unwrap_or_default();
        let from = if e.blocked_user.0.is_some() {
            ResourceFrom::BlockedUser
        } else if e.user.0.is_some() && is_membership(&action) {
            ResourceFrom::User
        } else if e.repo.0.is_some() {
            ResourceFrom::Repo
        } else if e.repository.0.is_some() {
            ResourceFrom::Repository
        } else if e.team.0.is_some() {
            ResourceFrom::Team
        } else if data.team.0.is_some() {
            ResourceFrom::DataTeam
        } else if e.integration.0.is_some() {
            ResourceFrom::Integration
        } else if e.repositories_added_names.0.is_some() {
            ResourceFrom::ReposAdded
        } else if e.repositories_removed_names.0.is_some() {
            ResourceFrom::ReposRemoved
        } else if e.user.0.is_some() && (e.user.0 != actor || is_credential(&action)) {
            ResourceFrom::User
        } else if e.org.0.is_some() {
            ResourceFrom::Org
        } else if e.user.0.is_some() {
            ResourceFrom::User
        } else if e.business.0.is_some() {
            ResourceFrom::Business
        } else {
            ResourceFrom::Nothing
        };
        let resource = match from {
            ResourceFrom::BlockedUser => e.blocked_user.0.clone(),
            ResourceFrom::User => e.user.0.clone(),
            ResourceFrom::Repo => e.repo.0.clone(),
            ResourceFrom::Repository => e.repository.0.clone(),
            ResourceFrom::Team => e.team.0.clone(),
            ResourceFrom::DataTeam => data.team.0.clone(),
            ResourceFrom::Integration => e.integration.0.clone(),
            ResourceFrom::ReposAdded => e.repositories_added_names.0.clone(),
            ResourceFrom::ReposRemoved => e.repositories_removed_names.0.clone(),
            ResourceFrom::Org => e.org.0.clone(),
            ResourceFrom::Business => e.business.0.clone(),
            ResourceFrom::Nothing => None,
        };

        let error = failure_kind(&action).map(|kind| Cow::Owned(kind.to_owned()));
        let outcome = if error.is_some() {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        let mfa = verb(&action)
            .starts_with("two_factor_challenge")
            .then_some(true);
        let location = e
            .actor_location
            .0
            .take()
            .and_then(|l| l.country_code.into_inner().or(l.country_name.into_inner()));

        fn unless(skip: bool, value: Option<&str>) -> Option<&str> {
            if skip { None } else { value }
        }
        let other_user = e.user.0.as_deref().filter(|u| Some(*u) != actor.as_deref());
        let team = e.team.0.as_deref().or(data.team.0.as_deref());
        let repo = e.repo.0.as_deref().or(e.repository.0.as_deref());
        let details = details_from(&[
            ("permission", e.permission.get().or(data.permission.get())),
            (
                "old_permission",
                e.old_permission.get().or(data.old_permission.get()),
            ),
            (
                "team",
                unless(
                    matches!(from, ResourceFrom::Team | ResourceFrom::DataTeam),
                    team,
                ),
            ),
            (
                "repo",
                unless(
                    matches!(from, ResourceFrom::Repo | ResourceFrom::Repository),
                    repo,
                ),
            ),
            ("visibility", e.visibility.get()),
            ("previous_visibility", e.previous_visibility.get()),
            (
                "integration",
                unless(
                    from == ResourceFrom::Integration,
                    e.integration.0.as_deref(),
                ),
            ),
            (
                "repos_added",
                unless(
                    from == ResourceFrom::ReposAdded,
                    e.repositories_added_names.0.as_deref(),
                ),
            ),
            (
                "repos_removed",
                unless(
                    from == ResourceFrom::ReposRemoved,
                    e.repositories_removed_names.0.as_deref(),
                ),
            ),
            ("old_user", data.old_user.get()),
            ("user", unless(from == ResourceFrom::User, other_user)),
            ("token_type", e.programmatic_access_type.get()),
            ("token_name", e.user_programmatic_access_name.get()),
            ("transport", e.transport_protocol_name.get()),
            ("operation_type", e.operation_type.get()),
        ]);

        Ok(Event {
            time: Some(time),
            provider: "github",
            log_type: Cow::Borrowed("audit"),
            event_id: e.document_id.take(),
            actor,
            actor_type,
            service: first_segment(&action),
            resource,
            src_ip: e.actor_ip.take(),
            user_agent: e.user_agent.take(),
            location,
            outcome,
            error,
            mfa,
            session: e.hashed_token.take().or_else(|| e.token_id.take()),
            read_only: read_only(&action, e.operation_type.get()),
            account: e.org.0.take().or_else(|| e.business.0.take()),
            details,
            action: Some(action),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::providers::parse_rfc3339;

    fn parse(record: &str) -> Event<'_> {
        GitHub.parse_json(record.as_bytes()).unwrap()
    }

    fn probe(record: &str) -> Probe {
        sonic_rs::from_str(record).unwrap()
    }

    const UPDATE_MEMBER: &str = r#"{"@timestamp":1711431195806,"_document_id":"Zx9aQ1bC2dE3fG4hI5jK6w","action":"org.update_member",
      "actor":"alice-admin","actor_id":1001,"actor_ip":"203.0.113.20","actor_location":{"country_code":"DE"},"business":"example-corp",
      "business_id":77,"created_at":1711431195806,"hashed_token":"dGVzdHRva2VuaGFzaA==","old_permission":"read","operation_type":"modify",
      "org":"example-org","org_id":4242,"permission":"admin","programmatic_access_type":"Personal access token","token_id":9001,
      "user":"bob-dev","user_agent":"curl/8.5.0","user_id":1002}"#;

    #[test]
    fn new_format_role_change_targets_the_user() {
        let e = parse(UPDATE_MEMBER);
        assert_eq!(e.time, parse_rfc3339("2024-03-26T05:33:15.806Z"));
        assert_eq!(e.provider, "github");
        assert_eq!(e.log_type, "audit");
        assert_eq!(e.event_id.as_deref(), Some("Zx9aQ1bC2dE3fG4hI5jK6w"));
        assert_eq!(e.actor.as_deref(), Some("alice-admin"));
        assert_eq!(
            e.actor_type,
            ActorType::Human,
            "a PAT stays with its human owner"
        );
        assert_eq!(e.action.as_deref(), Some("org.update_member"));
        assert_eq!(e.service.as_deref(), Some("org"));
        assert_eq!(e.resource.as_deref(), Some("bob-dev"));
        assert_eq!(e.src_ip.as_deref(), Some("203.0.113.20"));
        assert_eq!(e.user_agent.as_deref(), Some("curl/8.5.0"));
        assert_eq!(e.location.as_deref(), Some("DE"));
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(e.error, None);
        assert_eq!(e.mfa, None);
        assert_eq!(e.session.as_deref(), Some("dGVzdHRva2VuaGFzaA=="));
        assert_eq!(e.read_only, Some(false));
        assert_eq!(e.account.as_deref(), Some("example-org"));
        assert_eq!(
            e.details.as_deref(),
            Some(
                "permission=admin old_permission=read token_type=Personal access token \
                 operation_type=modify"
            )
        );
    }

    #[test]
    fn old_format_uses_created_at_and_data_team() {
        let rec = r#"{"actor":"carol","data":{"team":"example-org/admins"},"org":"example-org","created_at":1611618266125,
          "action":"team.add_member","actor_location":{"country_code":"US"},"user":"dave"}"#;
        let e = parse(rec);
        assert_eq!(e.time, Some(1_611_618_266_125_000));
        assert_eq!(e.event_id, None);
        assert_eq!(e.resource.as_deref(), Some("dave"));
        assert_eq!(e.service.as_deref(), Some("team"));
        assert_eq!(e.read_only, None);
        assert_eq!(e.details.as_deref(), Some("team=example-org/admins"));
        let create = r#"{"actor":"carol","data":{"team":"example-org/admins"},"org":"example-org","created_at":1611618266125,"action":"team.create"}"#;
        let e = parse(create);
        assert_eq!(e.resource.as_deref(), Some("example-org/admins"));
        assert_eq!(e.details, None);
    }

    #[test]
    fn user_export_without_actor_uses_user_and_array_orgs() {
        let rec = r#"{"@timestamp":1707480167952,"_document_id":"fp1","action":"user.forgot_password","created_at":1707480167952,
          "email":"erin@example.com","operation_type":"authentication","user":"erin","user_id":5}"#;
        let e = parse(rec);
        assert_eq!(e.actor.as_deref(), Some("erin"));
        assert_eq!(e.actor_type, ActorType::Human);
        assert_eq!(e.resource.as_deref(), Some("erin"));
        assert_eq!(e.account, None);
        assert_eq!(e.read_only, None);
        assert_eq!(e.details.as_deref(), Some("operation_type=authentication"));
        let empty = r#"{"@timestamp":1710243918530,"action":"oauth_authorization.create","actor":"erin","org":[],"org_id":[],"user":"erin"}"#;
        assert_eq!(parse(empty).account, None);
        let pat = r#"{"@timestamp":1711292499390,"action":"personal_access_token.create","actor":"erin","org":["example-org"],"user":"erin","user_programmatic_access_name":"ci"}"#;
        let e = parse(pat);
        assert_eq!(e.resource.as_deref(), Some("erin"), "the token holder");
        assert_eq!(e.account.as_deref(), Some("example-org"));
        assert_eq!(e.details.as_deref(), Some("token_name=ci"));
        let listed = r#"{"@timestamp":1710243918530,"action":"user.failed_login","actor":"erin","org":["example-org","other"],"org_id":[1,2],"business":"example-corp","user":"erin"}"#;
        let e = parse(listed);
        assert_eq!(e.account.as_deref(), Some("example-org"));
        assert_eq!(e.resource.as_deref(), Some("example-org"));
    }

    #[test]
    fn failures_are_read_from_the_action_name() {
        for (action, kind) in [
            ("user.failed_login", "failed_login"),
            (
                "user.two_factor_challenge_failure",
                "two_factor_challenge_failure",
            ),
            (
                "protected_branch.rejected_ref_update",
                "rejected_ref_update",
            ),
            ("personal_access_token.request_denied", "request_denied"),
        ] {
            let rec =
                format!(r#"{{"created_at":1711431177229,"action":"{action}","actor":"frank"}}"#);
            let e = GitHub.parse_json(rec.as_bytes()).unwrap();
            assert_eq!(e.outcome, Outcome::Failure, "{action}");
            assert_eq!(e.error.as_deref(), Some(kind), "{action}");
        }
        for action in [
            "user.login",
            "repo.destroy",
            "org.update_default_repository_permission",
        ] {
            let rec =
                format!(r#"{{"created_at":1711431177229,"action":"{action}","actor":"frank"}}"#);
            assert_eq!(
                GitHub.parse_json(rec.as_bytes()).unwrap().outcome,
                Outcome::Success,
                "{action}"
            );
        }
        let mfa = r#"{"created_at":1711431177229,"action":"user.two_factor_challenge_success","actor":"frank"}"#;
        assert_eq!(parse(mfa).mfa, Some(true));
    }

    #[test]
    fn git_access_actor_types_and_read_only() {
        let anon = r#"{"@timestamp":1692989148721,"action":"git.clone","business":"example-corp","org":"example-org",
          "repo":"example-org/site","repository":"example-org/site","repository_public":true,"transport_protocol_name":"http","user_id":0}"#;
        let e = parse(anon);
        assert_eq!(e.actor, None);
        assert_eq!(e.actor_type, ActorType::Anonymous);
        assert_eq!(e.read_only, Some(true));
        assert_eq!(e.resource.as_deref(), Some("example-org/site"));
        assert_eq!(e.details.as_deref(), Some("transport=http"));
        let bot = r#"{"@timestamp":1655872622832,"action":"git.clone","actor":"github-actions[bot]","repo":"example-org/site","user":""}"#;
        assert_eq!(parse(bot).actor_type, ActorType::Service);
        let dependabot =
            r#"{"created_at":1655872622832,"action":"pull_request.create","actor":"dependabot"}"#;
        assert_eq!(parse(dependabot).actor_type, ActorType::Service);
        let flagged = r#"{"created_at":1655872622832,"action":"repo.create","actor":"ci-runner","actor_is_bot":true}"#;
        assert_eq!(parse(flagged).actor_type, ActorType::Service);
        let app = r#"{"created_at":1655872622832,"action":"repo.create","actor":"deploy-app","programmatic_access_type":"GitHub App server-to-server token"}"#;
        assert_eq!(parse(app).actor_type, ActorType::Service);
        let platform = r#"{"created_at":1655872622832,"action":"secret_scanning_alert.create","actor":"github","repo":"example-org/site"}"#;
        assert_eq!(parse(platform).actor_type, ActorType::System);
        let push = r#"{"created_at":1655872622832,"action":"git.push","actor":"gina","repo":"example-org/site"}"#;
        assert_eq!(parse(push).read_only, Some(false));
    }

    #[test]
    fn special_resources() {
        let block = r#"{"@timestamp":1685465626150,"action":"org.block_user","actor":"alice-admin","blocked_user":"spammer","org":"example-org"}"#;
        assert_eq!(parse(block).resource.as_deref(), Some("spammer"));
        let install = r#"{"@timestamp":1692981844013,"action":"integration_installation.repositories_added","actor":"alice-admin",
          "integration":"Example CI","repositories_added_names":["example-org/api","example-org/web"],"org":"example-org"}"#;
        let e = parse(install);
        assert_eq!(e.resource.as_deref(), Some("Example CI"));
        assert_eq!(e.details.as_deref(), Some("repos_added=example-org/api"));
        let add = r#"{"created_at":1619733030434,"action":"repo.add_member","actor":"alice-admin","repo":"example-org/api","user":"hank","permission":"admin"}"#;
        let e = parse(add);
        assert_eq!(e.resource.as_deref(), Some("hank"));
        assert_eq!(
            e.details.as_deref(),
            Some("permission=admin repo=example-org/api")
        );
    }

    #[test]
    fn times_may_be_strings() {
        let text =
            r#"{"created_at":"2024-03-26T05:33:15.806Z","action":"repo.create","actor":"ivy"}"#;
        assert_eq!(parse(text).time, parse_rfc3339("2024-03-26T05:33:15.806Z"));
        let digits = r#"{"@timestamp":"1711431195806","action":"repo.create","actor":"ivy"}"#;
        assert_eq!(
            parse(digits).time,
            parse_rfc3339("2024-03-26T05:33:15.806Z")
        );
    }

    #[test]
    fn rejections() {
        let no_time = r#"{"action":"repo.create","actor":"ivy","_document_id":"x"}"#;
        assert_eq!(
            GitHub.parse_json(no_time.as_bytes()),
            Err(RecordError::Invalid(
                "GitHub audit event has no usable @timestamp or created_at".into()
            ))
        );
        let bad_time = r#"{"action":"repo.create","actor":"ivy","created_at":"soon"}"#;
        assert!(matches!(
            GitHub.parse_json(bad_time.as_bytes()),
            Err(RecordError::Invalid(_))
        ));
        let no_action = r#"{"created_at":1711431195806,"actor":"ivy"}"#;
        assert_eq!(
            GitHub.parse_json(no_action.as_bytes()),
            Err(RecordError::Invalid(
                "GitHub audit event has no action".into()
            ))
        );
        for other in [
            r#"{"uuid":"u","published":"2025-03-04T12:00:00.000Z","eventType":"user.session.start","actor":{"type":"User"}}"#,
            r#"{"eventTime":"2025-03-04T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventType":"AwsApiCall"}"#,
            r#"{"kind": 0}"#,
        ] {
            assert_eq!(
                GitHub.parse_json(other.as_bytes()),
                Err(RecordError::NotThisFormat),
                "{other}"
            );
        }
        assert!(matches!(
            GitHub.parse_json(b"[1,"),
            Err(RecordError::Invalid(_))
        ));
    }

    #[test]
    fn first_text_takes_the_first_array_element() {
        #[derive(Deserialize)]
        struct R<'a> {
            #[serde(borrow, default)]
            a: FirstText<'a>,
            #[serde(borrow, default)]
            b: FirstText<'a>,
            #[serde(borrow, default)]
            c: FirstText<'a>,
            #[serde(borrow, default)]
            d: FirstText<'a>,
        }
        let r: R = from_json(br#"{"a":"acme","b":["x","y"],"c":[],"d":{"k":1}}"#).unwrap();
        assert_eq!(r.a.0.as_deref(), Some("acme"));
        assert_eq!(r.b.0.as_deref(), Some("x"));
        assert_eq!(r.c.0, None);
        assert_eq!(r.d.0, None);
    }

    #[test]
    fn sniff_accepts_github_only() {
        assert!(GitHub.sniff_json(&probe(UPDATE_MEMBER)));
        assert!(GitHub.sniff_json(&probe(
            r#"{"actor":"carol","org":"example-org","created_at":1611618266125,"action":"team.create"}"#
        )));
        for other in [
            r#"{"uuid":"u","published":"2025-03-04T12:00:00.000Z","eventType":"user.session.start","actor":{"type":"User"}}"#,
            r#"{"eventTime":"2025-03-04T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{}}"#,
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"get","user":{"username":"x"}}"#,
            r#"{"name":"organizations/1/sources/2/findings/3","finding":{"category":"OPEN_FIREWALL"},"resource":{"name":"x"}}"#,
            r#"{"kind": 0}"#,
            r#"{"action":"login","actor":"x","created_at":1}"#,
            r#"{"action":"repo.create","actor":"x"}"#,
        ] {
            assert!(!GitHub.sniff_json(&probe(other)), "{other}");
        }
    }
}
