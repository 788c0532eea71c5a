//! What auditors look for first in an access audit, counted over the grants.

use serde::Serialize;

use super::{Grant, Lifetime, Status};

/// The flags of an access audit, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Grants listed.
    pub grants: usize,
    /// Of them privileged.
    pub privileged: usize,
    /// Temporary grants (PIM activations, PAM grants, role sessions, managed entitlements).
    pub temporary: usize,
    /// Grants still held at the end of the logs.
    pub still_held: usize,
    /// Temporary grants never revoked: still held past their scheduled end.
    pub never_revoked: usize,
    /// Temporary grants held past their scheduled end (revoked late or not at all).
    pub overdue: usize,
    /// Grants with no privileged action while held (over-privileged).
    pub unused: usize,
    /// Temporary grants used after their window.
    pub used_after_window: usize,
    /// Grants used outside the role's configured purpose.
    pub outside_purpose: usize,
    /// Grants with neither a justification nor a ticket in the logs.
    pub without_justification: usize,
    /// Grants with no approval event (PIM activations and standing grants alike).
    pub without_approver: usize,
    /// Grants the grantee approved, or standing grants made to oneself.
    pub self_approved: usize,
}

impl Summary {
    /// Counts the flags of `grants`.
    pub fn of(grants: &[Grant]) -> Summary {
        let count = |f: &dyn Fn(&Grant) -> bool| grants.iter().filter(|g| f(g)).count();
        Summary {
            grants: grants.len(),
            privileged: count(&|g| g.privileged),
            temporary: count(&|g| g.lifetime != Lifetime::Standing),
            still_held: count(&|g| g.status == Status::Held),
            never_revoked: count(&|g| g.overdue && g.status == Status::Held),
            overdue: count(&|g| g.overdue),
            unused: count(&|g| g.never_used),
            used_after_window: count(&|g| g.used_after_window > 0),
            outside_purpose: count(&|g| g.used_outside_purpose > 0),
            without_justification: count(&|g| g.justification.is_none() && g.ticket.is_none()),
            without_approver: count(&|g| g.approver.is_none()),
            self_approved: count(&|g| g.self_approved),
        }
    }

    /// One line for a person: the grants, then each flag that is not zero.
    pub fn line(&self) -> String {
        let mut parts = vec![format!(
            "{} grants ({} privileged, {} temporary, {} still held)",
            self.grants, self.privileged, self.temporary, self.still_held
        )];
        for (n, what) in [
            (self.never_revoked, "never revoked"),
            (self.overdue, "overdue"),
            (self.unused, "unused"),
            (self.used_after_window, "used after their window"),
            (self.outside_purpose, "used outside their purpose"),
            (self.without_justification, "without justification"),
            (self.without_approver, "without approver"),
            (self.self_approved, "self-approved"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        parts.join("; ")
    }
}
