//! GitHub audit log: organisation / enterprise exports and streams (old format with only
//! `created_at`, new format with `@timestamp` and `_document_id`) and user-level exports
//! (the "Security log"). One JSON object per event; framing (arrays, NDJSON) is done by
//! ingest. Failures are encoded in the action name; there is no outcome field.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::fields::{
    Flag, Obj, Text, details_from, first_segment, from_json, probe_has, probe_str,
};
use super::time::{epoch_to_micros, parse_time_text};
use super::{Probe, Provider, RecordError};
use crate::country::country_code;
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
    /// The actor's numeric account id: it stays when the login is renamed.
    #[serde(borrow, default)]
    actor_id: Text<'a>,
    /// The actor's SAML NameID in an enterprise with SAML single sign-on.
    #[serde(borrow, default)]
    external_identity_nameid: Text<'a>,
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
    /// The account an event is about, by id (the actor's own for self-service events).
    #[serde(borrow, default)]
    user_id: FirstText<'a>,
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
    /// The actor's address, where enterprise streams put it (Event Hub, Splunk) instead of
    /// `actor_ip`.
    #[serde(borrow, default)]
    ip: Text<'a>,
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

/// Site administrators' actions on an account (`user.block`, `user.promote`, `user.suspend`,
/// `user.rename`...): the `user.` category, which also holds the account's own events
/// (`user.login`), told apart by the account named being another than the actor.
fn is_user_action(action: &str) -> bool {
    action.split('.').next() == Some("user")
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
    // `deploy_key` is what git events write for an access by a repository's deploy key (no
    // actor id, `user_id` 0); no account can have that login (logins have no `_`).
    let machine = [
        "github-actions",
        "dependabot",
        "dependabot-preview",
        "github-merge-queue",
        "deploy_key",
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
    UserId,
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
        // An account named only by its id (`user.block` of an enterprise stream): another
        // than the actor's, and not the `0` that anonymous events carry.
        let user_by_id =
            e.user_id.0.take().filter(|id| {
                e.user.0.is_none() && id != "0" && e.actor_id.get() != Some(id.as_ref())
            });
        // The SAML identity links the login to the IdP's account; when the event is about
        // another user (`user`), the name id may be theirs, so it is kept only for the actor.
        let about_actor = e.user.0.is_none() || e.user.0 == actor;
        let actor_id = (e.external_identity_nameid.take())
            .filter(|_| about_actor)
            .or_else(|| e.actor_id.take().filter(|_| actor.is_some()));
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
        } else if user_by_id.is_some() && (is_user_action(&action) || is_membership(&action)) {
            ResourceFrom::UserId
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
            ResourceFrom::UserId => user_by_id.clone(),
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
        // A two-factor challenge proves MFA when it succeeded and its absence when it failed.
        let mfa = verb(&action)
            .starts_with("two_factor_challenge")
            .then_some(outcome == Outcome::Success);
        let location = e.actor_location.0.take().unwrap_or_default();
        let country = location
            .country_code
            .get()
            .and_then(country_code)
            .or_else(|| location.country_name.get().and_then(country_code));

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
            actor_id,
            actor,
            actor_type,
            service: first_segment(&action),
            resource,
            src_ip: e.actor_ip.take().or(location.ip.0),
            user_agent: e.user_agent.take(),
            region: None,
            country,
            city: None,
            outcome,
            error,
            mfa,
            session: e.hashed_token.take().or_else(|| e.token_id.take()),
            correlation_id: None,
            read_only: read_only(&action, e.operation_type.get()),
            account: e.org.0.take().or_else(|| e.business.0.take()),
            details,
            action: Some(action),
            completeness: None,
        })
    }
}

#[cfg(test)]
mod tests;
