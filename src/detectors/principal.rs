//! Who an actor's habits belong to: the person or workload whose history the working-hours
//! and dormancy rules judge, rather than the per-account, per-session name an event carries.
//!
//! Real CloudTrail names one person differently in each account
//! (`arn:aws:sts::<account>:assumed-role/AWSReservedSSO_<set>/<e-mail>`) and one workload
//! differently in each process (`assumed-role/<role>/botocore-session-<n>`). Judged per name,
//! a person who visits a rarely used account every three weeks looks dormant, and every new
//! session of a service has no working pattern. The principal is:
//! - the resolved identity (the `identity` column: the person behind SSO sessions and
//!   linked accounts) when it differs from the actor;
//! - else, for a non-human assumed-role session, its role (`…:assumed-role/<role>`): a
//!   service's sessions come and go, the role is what persists;
//! - else the actor itself.

use std::collections::HashMap;

/// The per-row principal number column added to the rules' frame.
pub(crate) const PRINCIPAL: &str = "__principal";

/// Number of no principal (an actor missing from the frame, a null actor), and the actor
/// id of a null actor.
pub(crate) const NO_ID: u32 = u32::MAX;

/// What numbering an actor's principal needs to know of it.
pub(super) struct ActorFacts<'a> {
    /// The actor's name.
    pub name: &'a str,
    /// Its dictionary id.
    pub id: u32,
    /// Its resolved identity's dictionary id.
    pub identity: Option<u32>,
    /// Whether it is a service or system identity.
    pub non_human: bool,
}

/// The principals of a frame's actors, numbered.
#[derive(Debug, Default)]
pub struct Principals {
    /// Per actor dictionary id: its principal's number ([`NO_ID`] when not in the frame).
    by_actor_id: Vec<u32>,
    /// Per actor name: its principal's number.
    by_actor: HashMap<String, u32>,
    /// Per principal number: its name.
    names: Vec<String>,
    /// Per principal number: how many actor names it covers.
    actors: Vec<u32>,
    /// Per principal number: whether its actors are service or system identities.
    non_human: Vec<bool>,
}

impl Principals {
    /// Numbers the principals of `actors`; `identity_name` names an identity id.
    pub(super) fn new<'n>(
        mut actors: Vec<ActorFacts<'_>>,
        identity_name: impl Fn(u32) -> Option<&'n str>,
    ) -> Principals {
        let mut p = Principals::default();
        let mut numbers: HashMap<String, u32> = HashMap::new();
        // In actor-id order, so numbering never depends on a map's order.
        actors.sort_unstable_by_key(|a| a.id);
        for stat in actors {
            let actor = stat.name;
            let identity = stat.identity.and_then(&identity_name);
            let name = principal_name(actor, identity, stat.non_human);
            let next = p.names.len() as u32;
            let number = *numbers.entry(name.to_string()).or_insert_with(|| {
                p.names.push(name.to_string());
                p.actors.push(0);
                p.non_human.push(stat.non_human);
                next
            });
            p.actors[number as usize] += 1;
            let id = stat.id as usize;
            if p.by_actor_id.len() <= id {
                p.by_actor_id.resize(id + 1, NO_ID);
            }
            p.by_actor_id[id] = number;
            p.by_actor.insert(actor.to_string(), number);
        }
        p
    }

    /// The principal number of each row's actor dictionary id ([`NO_ID`] where there is
    /// no actor or it was not numbered).
    pub(super) fn numbers(&self, actors: &[u32]) -> Vec<u32> {
        actors
            .iter()
            .map(|a| self.by_actor_id.get(*a as usize).copied().unwrap_or(NO_ID))
            .collect()
    }

    /// The principal number of an actor dictionary id.
    pub fn of_id(&self, actor_id: u32) -> Option<u32> {
        (self.by_actor_id.get(actor_id as usize).copied()).filter(|n| *n != NO_ID)
    }

    /// How many principals there are (numbered from 0).
    pub fn count(&self) -> usize {
        self.names.len()
    }

    /// The principal number of an actor name.
    pub fn of(&self, actor: &str) -> Option<u32> {
        self.by_actor.get(actor).copied()
    }

    /// The principal name of an actor name (the actor itself when unknown).
    pub fn name_of<'a>(&'a self, actor: &'a str) -> &'a str {
        self.of(actor).and_then(|n| self.name(n)).unwrap_or(actor)
    }

    /// A principal's name.
    pub fn name(&self, number: u32) -> Option<&str> {
        self.names.get(number as usize).map(String::as_str)
    }

    /// How many actor names a principal covers.
    pub fn actor_count(&self, number: u32) -> u32 {
        self.actors.get(number as usize).copied().unwrap_or(0)
    }

    /// Whether a principal is a service or system identity (as its first actor is).
    pub fn non_human(&self, number: u32) -> bool {
        self.non_human
            .get(number as usize)
            .copied()
            .unwrap_or(false)
    }
}

/// The principal an actor's habits belong to (see the module's documentation).
pub fn principal_name<'a>(actor: &'a str, identity: Option<&'a str>, non_human: bool) -> &'a str {
    if let Some(identity) = identity.filter(|i| !i.is_empty() && *i != actor) {
        return identity;
    }
    if non_human && let Some(role) = assumed_role_of_session(actor) {
        return role;
    }
    actor
}

/// `arn:aws:sts::<account>:assumed-role/<role>` of an assumed-role session ARN
/// `…:assumed-role/<role>/<session>`.
fn assumed_role_of_session(actor: &str) -> Option<&str> {
    let at = actor.find(":assumed-role/")?;
    let path = &actor[at + ":assumed-role/".len()..];
    let (role, session) = path.split_once('/')?;
    if role.is_empty() || session.is_empty() {
        return None;
    }
    Some(&actor[..at + ":assumed-role/".len() + role.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_of_a_service_role_share_the_role_and_people_their_identity() {
        let session = "arn:aws:sts::111122223333:assumed-role/etl/botocore-session-1709000001";
        assert_eq!(
            principal_name(session, Some(session), true),
            "arn:aws:sts::111122223333:assumed-role/etl"
        );
        // A person's session named after them stays theirs when nothing resolved it.
        let person = "arn:aws:sts::111122223333:assumed-role/admins/dana";
        assert_eq!(principal_name(person, Some(person), false), person);
        let sso =
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/ana@example.com";
        assert_eq!(
            principal_name(sso, Some("ana@example.com"), false),
            "ana@example.com"
        );
        assert_eq!(principal_name("svc-bot", None, true), "svc-bot");
        assert_eq!(
            principal_name("arn:aws:iam::111122223333:user/ci", None, true),
            "arn:aws:iam::111122223333:user/ci"
        );
    }
}
