//! Roles, policies, group and team memberships and bindings granted to and removed from each
//! identity in the logs (the detectors' [`grants::changes`](crate::detectors::grants::changes),
//! keyed so a grant meets its end), and what is held at the end of the logs.

use std::collections::BTreeMap;

use super::names::{Records, Resolver};
use crate::Result;

/// One entitlement an identity was granted or lost in the logs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holding {
    /// The role, policy, group, binding or team (and scope).
    pub what: String,
    /// The provider.
    pub provider: String,
    /// A privileged entitlement (admin roles, policies, owner and maintainer rights).
    pub privileged: bool,
    /// Temporary by design (PIM activation, time-bound, managed or expiring grant).
    pub temporary: bool,
    /// When it was granted (µs); None when only its end is in the logs.
    pub granted: Option<i64>,
    /// Who granted it.
    pub granted_by: Option<String>,
    /// When it ended (revoked, removed, expired, deactivated).
    pub removed: Option<i64>,
    /// Who ended it.
    pub removed_by: Option<String>,
    /// Granted in the logs and not ended by their end.
    pub held_at_end: bool,
}

/// The holdings of every grantee the inventory knows (else named as the grant names them),
/// each in the order granted.
pub(crate) fn holdings(
    records: &Records,
    resolver: &Resolver,
) -> Result<BTreeMap<String, Vec<Holding>>> {
    // (grantee, key) -> the index of its open holding.
    let mut open: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut out: BTreeMap<String, Vec<Holding>> = BTreeMap::new();
    let by = |actor: &str| {
        resolver
            .identity_of(actor)
            .map(str::to_string)
            .unwrap_or_else(|| actor.to_string())
    };
    for change in &records.changes {
        let grantee = resolver
            .identity_of(&change.grantee)
            .or_else(|| resolver.identity_of(&change.who))
            .map(str::to_string)
            .unwrap_or_else(|| change.who.clone());
        let list = out.entry(grantee.clone()).or_default();
        let slot = (grantee, change.key.clone());
        if change.grant {
            if open.contains_key(&slot) {
                // Granted again while held: the first grant stands.
                continue;
            }
            open.insert(slot, list.len());
            list.push(Holding {
                what: change.what.clone(),
                provider: change.ev.provider.clone(),
                privileged: change.privileged,
                temporary: change.temporary.is_some(),
                granted: Some(change.ev.time),
                granted_by: Some(by(&change.ev.actor)),
                held_at_end: true,
                ..Holding::default()
            });
        } else {
            let removed = Some(change.ev.time);
            let removed_by = Some(by(&change.ev.actor));
            match open.remove(&slot).and_then(|i| list.get_mut(i)) {
                Some(h) => {
                    h.removed = removed;
                    h.removed_by = removed_by;
                    h.held_at_end = false;
                }
                None => list.push(Holding {
                    what: change.what.clone(),
                    provider: change.ev.provider.clone(),
                    privileged: change.privileged,
                    temporary: change.temporary.is_some(),
                    removed,
                    removed_by,
                    ..Holding::default()
                }),
            }
        }
    }
    Ok(out)
}
