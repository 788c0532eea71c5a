//! The identity inventory: one row per identity of the selected events with what it is
//! (kind and why), what it did ([`activity`]), its lifecycle in the logs ([`lifecycle`]),
//! the credentials seen ([`credentials`]), the roles and memberships granted and held at the
//! end ([`holdings`]) and what an auditor should look at ([`flags`]).
//!
//! Every aggregate is a Polars group-by over the selected events (one pass each, never a loop
//! per identity); only the few rows of lifecycle, credential and grant events are read one
//! by one.

pub mod actions;
pub mod activity;
pub mod columns;
pub mod credentials;
pub mod flags;
pub mod holdings;
pub mod lifecycle;
mod names;

use std::collections::BTreeMap;

use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::analysis::Spec;
use crate::schema::{
    ACCOUNT, ACTION, ACTOR, ACTOR_TYPE, CITY, COUNTRY, DETAILS, ERROR, EVENT_ID, IDENTITY,
    LOG_TYPE, MFA, OUTCOME, PRIVILEGED, PROVIDER, READ_ONLY, RESOURCE, SERVICE, SESSION, SRC_IP,
    TIME, USER_AGENT,
};

pub use actions::LifecycleKind;
pub use columns::IdentityColumn;
pub use credentials::Credential;
pub use flags::{Flag, FlagKind};
pub use holdings::Holding;
pub use lifecycle::{LifecycleEvent, Owner};

/// One day in microseconds.
pub(crate) const DAY: i64 = 86_400_000_000;

/// What the inventory reports and the thresholds of its flags (a saved view's
/// `[identities]` table; `trailscope identities` and the TUI use the defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitiesSpec {
    /// No activity for this many days before the end of the data: dormant; a gap this long
    /// followed by activity: reactivated.
    pub dormant_days: u32,
    /// A credential older than this many days with no newer one for its owner is overdue
    /// for rotation.
    pub rotation_days: u32,
    /// The tracking period of the unused-access flags: a privileged role held with no
    /// privileged action in this many days is a least-privilege candidate.
    pub unused_days: u32,
    /// Identities first seen within this many days of the end are too new for unused-access
    /// flags (Repokid's 90).
    pub new_identity_days: u32,
    /// Grants made within this many days of the end are too new for unused-access flags
    /// (Repokid's 14).
    pub new_grant_days: u32,
    /// Owners of non-human identities the logs cannot show (identity -> owner).
    pub owners: BTreeMap<String, String>,
    /// Break-glass accounts, as globs (`*` any run; the `[detect] breakglass_actors`).
    pub breakglass: Vec<String>,
    /// Also flag permissions granted and unused (`trailscope permissions`): it reads the
    /// grants' policy documents from the original records, seconds over a month of
    /// compressed inputs, so it is asked for (`identities --permissions`).
    pub permissions: bool,
}

impl Default for IdentitiesSpec {
    fn default() -> Self {
        IdentitiesSpec {
            dormant_days: 30,
            rotation_days: 90,
            unused_days: 90,
            new_identity_days: 90,
            new_grant_days: 14,
            owners: BTreeMap::new(),
            breakglass: Vec::new(),
            permissions: false,
        }
    }
}

/// What kind of identity it is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A person.
    Human,
    /// A workload: service account, role, service principal, app, token.
    Service,
    /// A root account or a configured break-glass account.
    Root,
    /// The platform itself: cloud services, Kubernetes nodes and controllers.
    System,
    /// Unauthenticated callers.
    Anonymous,
    /// The records do not say.
    #[default]
    Unknown,
}

impl Kind {
    /// The name shown and written (`human`, `service`, `root`, `system`, `anonymous`,
    /// `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Human => "human",
            Kind::Service => "service",
            Kind::Root => "root",
            Kind::System => "system",
            Kind::Anonymous => "anonymous",
            Kind::Unknown => "unknown",
        }
    }

    /// Not a person: workloads and the platform.
    pub fn is_non_human(self) -> bool {
        matches!(self, Kind::Service | Kind::System)
    }
}

/// An actor string joined into an identity, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedActor {
    /// The actor as the logs write it.
    pub actor: String,
    /// The provider it was seen in.
    pub provider: String,
    /// The evidence that joins it to the identity.
    pub why: String,
}

/// One identity of the inventory, as stored (not escaped).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IdentityRow {
    /// The identity.
    pub identity: String,
    /// Its kind.
    pub kind: Kind,
    /// Why it was classed so.
    pub kind_why: String,
    /// Providers it acted in, sorted.
    pub providers: Vec<String>,
    /// Every actor string of it, per provider.
    pub actors: Vec<LinkedActor>,
    /// Accounts, subscriptions, projects, tenants or organisations it acted in, sorted.
    pub accounts: Vec<String>,
    /// Its earliest event (µs).
    pub first_seen: Option<i64>,
    /// Its latest event (µs).
    pub last_seen: Option<i64>,
    /// Distinct UTC days with an event.
    pub active_days: u64,
    /// Longest run of days without an event between two of its events.
    pub longest_gap_days: u64,
    /// When the activity after that gap began (µs).
    pub gap_end: Option<i64>,
    /// Events.
    pub events: u64,
    /// Privileged actions (any outcome).
    pub privileged: u64,
    /// The latest privileged action: when, and what.
    pub last_privileged: Option<(i64, String)>,
    /// Privileged actions whose record shows no MFA.
    pub privileged_without_mfa: u64,
    /// Failed actions.
    pub failures: u64,
    /// Successful interactive sign-ins whose record tells whether MFA was used.
    pub signins: u64,
    /// Of those, with MFA.
    pub mfa_signins: u64,
    /// Distinct source networks (/24 for IPv4, /48 for IPv6).
    pub networks: u64,
    /// Distinct caller countries, sorted.
    pub countries: Vec<String>,
    /// Distinct user agents.
    pub user_agents: u64,
    /// The most used user agent.
    pub top_user_agent: String,
    /// Lifecycle events of it in the logs, in time order.
    pub lifecycle: Vec<LifecycleEvent>,
    /// The owner of a non-human identity.
    pub owner: Option<Owner>,
    /// Credentials seen in the logs.
    pub credentials: Vec<Credential>,
    /// Roles, policies and memberships granted and removed, and whether held at the end.
    pub holdings: Vec<Holding>,
    /// What an auditor should look at, with reasons.
    pub flags: Vec<Flag>,
}

impl IdentityRow {
    /// MFA coverage as shown: `n/a` without interactive sign-ins, else `with/of (pct%)`.
    pub fn mfa_text(&self) -> String {
        match self.mfa_coverage() {
            None => "n/a".to_string(),
            Some(share) => format!(
                "{}/{} ({:.0}%)",
                self.mfa_signins,
                self.signins,
                share * 100.0
            ),
        }
    }

    /// Share of interactive sign-ins with MFA (None: none whose record tells).
    pub fn mfa_coverage(&self) -> Option<f64> {
        (self.signins > 0).then(|| self.mfa_signins as f64 / self.signins as f64)
    }

    /// The roles, policies and memberships held at the end of the logs.
    pub fn held(&self) -> impl Iterator<Item = &Holding> {
        self.holdings.iter().filter(|h| h.held_at_end)
    }

    /// The flag names, comma-separated.
    pub fn flag_names(&self) -> String {
        let names: Vec<&str> = self.flags.iter().map(|f| f.kind.as_str()).collect();
        names.join(",")
    }
}

/// The inventory: its rows, most active first, and the end of the data the flags count from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inventory {
    /// One row per identity.
    pub rows: Vec<IdentityRow>,
    /// The latest event time of the selected events (µs).
    pub end: Option<i64>,
}

impl Spec for IdentitiesSpec {
    type Output = Inventory;

    fn columns(&self) -> Vec<&str> {
        // Lifecycle, credential and grant events are read whole (as detection events).
        vec![
            TIME, PROVIDER, LOG_TYPE, EVENT_ID, IDENTITY, ACTOR, ACTOR_TYPE, ACTION, SERVICE,
            RESOURCE, SRC_IP, USER_AGENT, COUNTRY, CITY, OUTCOME, ERROR, MFA, SESSION, READ_ONLY,
            PRIVILEGED, ACCOUNT, DETAILS,
        ]
    }

    fn compute(&self, events: &DataFrame) -> Result<Inventory> {
        identities(events, self)
    }
}

/// Every identity of the selected events with what it did, is, holds and should be looked
/// at for; most active first (ties by name).
pub fn identities(events: &DataFrame, spec: &IdentitiesSpec) -> Result<Inventory> {
    let mut rows = activity::activity(events, spec)?;
    let end = rows.iter().filter_map(|r| r.last_seen).max();
    let Some(end) = end else {
        return Ok(Inventory { rows, end: None });
    };
    let resolver = names::Resolver::new(&rows);
    let records = names::Records::read(events)?;
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        index.insert(row.identity.clone(), i);
    }
    let lifecycles = lifecycle::lifecycle(&records, &resolver);
    for row in &mut rows {
        if let Some(events) = lifecycles.get(&row.identity) {
            row.lifecycle = events.clone();
        }
    }
    lifecycle::assign_owners(&mut rows, spec, &lifecycles, &resolver);
    for (identity, list) in credentials::credentials(events, &records, &resolver, end)? {
        if let Some(&i) = index.get(&identity) {
            rows[i].credentials = list;
        }
    }
    for (identity, list) in holdings::holdings(&records, &resolver)? {
        if let Some(&i) = index.get(&identity) {
            rows[i].holdings = list;
        }
    }
    for row in &mut rows {
        lifecycle::end_with_deletion(row);
    }
    let last_privileged = activity::last_successful_privileged(events)?;
    let last_console = activity::last_console_logins(events)?;
    for row in &mut rows {
        row.flags = flags::flags(row, spec, end, last_privileged.get(&row.identity).copied());
        let login = last_console.get(&row.identity).copied();
        row.flags
            .extend(flags::unused_console_password(row, spec, end, login));
    }
    Ok(Inventory {
        rows,
        end: Some(end),
    })
}

/// Adds the `unused_permission` flag: permissions the grants gave and the identity did not
/// use in the tracking period (the grants' policy documents come from the original records).
fn flag_unused_permissions(
    store: &crate::store::FrameStore,
    rows: Option<&polars::prelude::IdxCa>,
    spec: &IdentitiesSpec,
    inventory: &mut Inventory,
) -> Result<()> {
    let permissions = crate::audit::permissions::audit_store(
        store,
        rows,
        &crate::audit::permissions::PermissionsSpec {
            tracking_days: spec.unused_days,
            grace_days: spec.new_grant_days,
            new_identity_days: spec.new_identity_days,
            ..Default::default()
        },
    )?;
    for row in &mut inventory.rows {
        let unused = permissions.unused_for(&row.identity);
        row.flags
            .extend(flags::unused_permission(&row.identity, &unused, spec));
    }
    Ok(())
}

/// The identity inventory of a store's selected rows (`rows` None: every row), as the CLI,
/// reports and saved views run it: break-glass accounts from the configuration when the
/// spec names none, and every linked actor with the resolver's evidence for the join.
pub fn inventory_store(
    store: &crate::store::FrameStore,
    config: &crate::config::Config,
    rows: Option<&polars::prelude::IdxCa>,
    spec: &IdentitiesSpec,
) -> Result<Inventory> {
    let mut spec = spec.clone();
    if spec.breakglass.is_empty() {
        spec.breakglass = config.detect.breakglass_actors.clone();
    }
    let mut inventory = crate::analysis::run(store.frame(), rows, &spec)?;
    if spec.permissions {
        flag_unused_permissions(store, rows, &spec, &mut inventory)?;
    }
    let identities = store.identities();
    for row in &mut inventory.rows {
        let links = identities.links(&row.identity);
        for actor in &mut row.actors {
            // The exact (actor, provider) link; another provider's link for the same string
            // only when the inventory has no reason of its own.
            let exact = links
                .iter()
                .find(|l| l.actor == actor.actor && l.provider == actor.provider);
            let link = exact.or_else(|| {
                links
                    .iter()
                    .find(|l| l.actor.eq_ignore_ascii_case(&actor.actor))
                    .filter(|_| actor.why.is_empty())
            });
            if let Some(link) = link {
                actor.why = link.why.clone();
            }
        }
    }
    Ok(inventory)
}
