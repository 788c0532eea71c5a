//! An identity's lifecycle as the logs show it: created when and by whom, disabled,
//! enabled, deleted, password and MFA resets; and the owner of a non-human identity (the
//! configured one, else its creator), gone when the owner was disabled or deleted.

use std::collections::BTreeMap;

use super::actions::lifecycle_kind;
use super::names::{Records, Resolver};

pub use super::actions::LifecycleKind;
use super::{IdentitiesSpec, IdentityRow};

/// One lifecycle event of an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleEvent {
    /// When (µs).
    pub time: i64,
    /// What happened.
    pub kind: LifecycleKind,
    /// Who did it (as an identity when the inventory knows it, else the actor).
    pub by: String,
    /// The provider's action.
    pub action: String,
    /// The provider.
    pub provider: String,
    /// The provider's event id.
    pub event_id: String,
}

/// Who owns a non-human identity, and whether that owner is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owner.
    pub name: String,
    /// `configured` or `creator`.
    pub source: &'static str,
    /// When and how the owner was disabled or deleted (the identity is orphaned).
    pub gone: Option<(i64, LifecycleKind)>,
}

/// The identity a lifecycle event targets, as written in the record.
fn target(ev: &crate::detectors::event::Ev) -> String {
    match ev.provider.as_str() {
        "aws" => ev
            .detail("userName")
            .or(ev.detail("roleName"))
            .unwrap_or(&ev.resource)
            .to_string(),
        "kubernetes" => match ev.resource.split_once('/') {
            // namespace/name is the actor system:serviceaccount:namespace:name.
            Some((ns, name)) if !ns.is_empty() && !name.contains('/') => {
                format!("system:serviceaccount:{ns}:{name}")
            }
            _ => ev.resource.clone(),
        },
        _ => ev.resource.clone(),
    }
}

/// The lifecycle events of the logs (successes), by identity: the inventory's name when it
/// knows the target, else the target as written.
pub(crate) fn lifecycle(
    records: &Records,
    resolver: &Resolver,
) -> BTreeMap<String, Vec<LifecycleEvent>> {
    let mut out: BTreeMap<String, Vec<LifecycleEvent>> = BTreeMap::new();
    for ev in &records.events {
        let Some(kind) = lifecycle_kind(&ev.provider, &ev.action) else {
            continue;
        };
        let target = target(ev);
        if !ev.ok() || target.is_empty() {
            continue;
        }
        let key = resolver
            .identity_of(&target)
            .map(str::to_string)
            .unwrap_or(target);
        let by = resolver
            .identity_of(&ev.actor)
            .map(str::to_string)
            .unwrap_or_else(|| ev.actor.clone());
        out.entry(key).or_default().push(LifecycleEvent {
            time: ev.time,
            kind,
            by,
            action: ev.action.clone(),
            provider: ev.provider.clone(),
            event_id: ev.event_id.clone(),
        });
    }
    for list in out.values_mut() {
        list.sort_by_key(|e| e.time);
    }
    out
}

/// Sets the owner of every non-human identity: the configured one, else the creator of its
/// first creation event; gone when the owner's last end (disable, delete) is not followed by
/// a re-enable.
pub(crate) fn assign_owners(
    rows: &mut [IdentityRow],
    spec: &IdentitiesSpec,
    lifecycles: &BTreeMap<String, Vec<LifecycleEvent>>,
    resolver: &Resolver,
) {
    let configured: BTreeMap<String, &String> = spec
        .owners
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect();
    for row in rows.iter_mut() {
        if !row.kind.is_non_human() {
            continue;
        }
        let owner = match configured.get(&row.identity.to_lowercase()) {
            Some(name) => Some(((*name).clone(), "configured")),
            None => row
                .lifecycle
                .iter()
                .find(|e| e.kind == LifecycleKind::Created)
                .map(|e| (e.by.clone(), "creator")),
        };
        let Some((name, source)) = owner else {
            continue;
        };
        let key = resolver
            .identity_of(&name)
            .map(str::to_string)
            .unwrap_or_else(|| name.clone());
        let gone = lifecycles.get(&key).and_then(|events| {
            let last = events
                .iter()
                .rev()
                .find(|e| e.kind.ends() || e.kind == LifecycleKind::Enabled)?;
            last.kind.ends().then_some((last.time, last.kind))
        });
        row.owner = Some(Owner { name, source, gone });
    }
}

/// A deleted identity keeps neither credentials nor entitlements: those still open end with
/// its deletion (AWS, Entra, Okta and GCP delete them with the identity).
pub(crate) fn end_with_deletion(row: &mut IdentityRow) {
    let Some(deleted) = row
        .lifecycle
        .iter()
        .rev()
        .find(|e| {
            e.kind.ends() || e.kind == LifecycleKind::Enabled || e.kind == LifecycleKind::Created
        })
        .filter(|e| e.kind == LifecycleKind::Deleted)
        .cloned()
    else {
        return;
    };
    for credential in &mut row.credentials {
        if credential.deleted.is_none() {
            credential.deleted = Some(deleted.time);
        }
    }
    for holding in &mut row.holdings {
        if holding.held_at_end {
            holding.held_at_end = false;
            holding.removed = Some(deleted.time);
            holding.removed_by = Some(deleted.by.clone());
        }
    }
}
