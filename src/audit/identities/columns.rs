//! The inventory's table columns: their names (for `--sort` and the TUI's headers) and how
//! two identities compare by each.

use std::cmp::Ordering;

use super::IdentityRow;
use crate::{Error, Result};

/// A column of the inventory table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityColumn {
    /// The identity.
    Identity,
    /// Human, service, root, ...
    Kind,
    /// Providers.
    Providers,
    /// Events.
    Events,
    /// Distinct active days.
    ActiveDays,
    /// Privileged actions.
    Privileged,
    /// Failed actions.
    Failures,
    /// MFA coverage of interactive sign-ins.
    Mfa,
    /// Distinct source networks.
    Networks,
    /// Earliest event.
    FirstSeen,
    /// Latest event.
    LastSeen,
    /// Flags.
    Flags,
}

impl IdentityColumn {
    /// Every column, in the order the table shows them.
    pub const ALL: [IdentityColumn; 12] = [
        IdentityColumn::Identity,
        IdentityColumn::Kind,
        IdentityColumn::Providers,
        IdentityColumn::Events,
        IdentityColumn::ActiveDays,
        IdentityColumn::Privileged,
        IdentityColumn::Failures,
        IdentityColumn::Mfa,
        IdentityColumn::Networks,
        IdentityColumn::FirstSeen,
        IdentityColumn::LastSeen,
        IdentityColumn::Flags,
    ];

    /// The column's name (a table header, a `--sort` value).
    pub fn name(self) -> &'static str {
        match self {
            IdentityColumn::Identity => "identity",
            IdentityColumn::Kind => "kind",
            IdentityColumn::Providers => "providers",
            IdentityColumn::Events => "events",
            IdentityColumn::ActiveDays => "active_days",
            IdentityColumn::Privileged => "privileged",
            IdentityColumn::Failures => "failures",
            IdentityColumn::Mfa => "mfa",
            IdentityColumn::Networks => "networks",
            IdentityColumn::FirstSeen => "first_seen",
            IdentityColumn::LastSeen => "last_seen",
            IdentityColumn::Flags => "flags",
        }
    }

    /// Numbers are right-aligned.
    pub fn numeric(self) -> bool {
        matches!(
            self,
            IdentityColumn::Events
                | IdentityColumn::ActiveDays
                | IdentityColumn::Privileged
                | IdentityColumn::Failures
                | IdentityColumn::Networks
        )
    }

    /// Parses `COLUMN`, `COLUMN:asc` or `COLUMN:desc` (numbers and times sort largest first
    /// without a direction).
    pub fn parse_sort(text: &str) -> Result<(IdentityColumn, bool)> {
        let (name, order) = match text.rsplit_once(':') {
            Some((n, o)) => (n, Some(o)),
            None => (text, None),
        };
        let column = IdentityColumn::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = IdentityColumn::ALL.iter().map(|c| c.name()).collect();
                Error::Invalid(format!(
                    "unknown identities column '{}' (columns: {})",
                    crate::text::escape_control(name),
                    names.join(", ")
                ))
            })?;
        let descending = match order.map(str::to_ascii_lowercase).as_deref() {
            None => !matches!(
                column,
                IdentityColumn::Identity | IdentityColumn::Kind | IdentityColumn::Providers
            ),
            Some("asc") => false,
            Some("desc") => true,
            Some(_) => {
                return Err(Error::Invalid(format!(
                    "invalid sort '{}': use COLUMN, COLUMN:asc or COLUMN:desc",
                    crate::text::escape_control(text)
                )));
            }
        };
        Ok((column, descending))
    }

    /// Orders two identities by this column (ties by name, ascending whatever the direction).
    pub fn compare(self, a: &IdentityRow, b: &IdentityRow, descending: bool) -> Ordering {
        let order = match self {
            IdentityColumn::Identity => a.identity.cmp(&b.identity),
            IdentityColumn::Kind => a.kind.as_str().cmp(b.kind.as_str()),
            IdentityColumn::Providers => a.providers.cmp(&b.providers),
            IdentityColumn::Events => a.events.cmp(&b.events),
            IdentityColumn::ActiveDays => a.active_days.cmp(&b.active_days),
            IdentityColumn::Privileged => a.privileged.cmp(&b.privileged),
            IdentityColumn::Failures => a.failures.cmp(&b.failures),
            IdentityColumn::Mfa => a
                .mfa_coverage()
                .partial_cmp(&b.mfa_coverage())
                .unwrap_or(Ordering::Equal),
            IdentityColumn::Networks => a.networks.cmp(&b.networks),
            IdentityColumn::FirstSeen => a.first_seen.cmp(&b.first_seen),
            IdentityColumn::LastSeen => a.last_seen.cmp(&b.last_seen),
            IdentityColumn::Flags => a.flags.len().cmp(&b.flags.len()),
        };
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| a.identity.cmp(&b.identity))
    }
}
