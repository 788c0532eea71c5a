//! The access audit: one [`Grant`] row per grant or elevation in the logs (Entra PIM
//! activations and role assignments, Azure RBAC, AWS privileged role assumptions, Identity
//! Center assignments and policy attachments, GCP IAM bindings, Okta admin roles, Kubernetes
//! role bindings, GitHub owner/admin/maintainer changes) with its approval, its end and its
//! use; a [`Summary`] of what auditors look for first; and the access [`review`] of who holds
//! each privileged role at the end of the logs.
//!
//! The grant and end events come from [`crate::detectors::grants`]; [`pairing`] joins them
//! with Polars ([`crate::detectors::grants::next_by_key`]), [`usage`] counts each grantee's
//! privileged actions in and after the window with a Polars join, and [`summary`] counts the
//! flags.

pub mod actors;
mod identity_center;
pub mod pairing;
pub mod records;
pub mod review;
pub mod summary;
pub mod usage;

use polars::prelude::{DataFrame, IdxCa};
use serde::{Deserialize, Serialize, Serializer};

use crate::config::Config;
use crate::detectors::Context;
use crate::identity::Identities;
use crate::{Result, schema};

pub use records::ReadRecord;
pub use review::{Holding, review};
pub use summary::Summary;

/// What the access audit lists and how it judges: a plain-data spec (serde), for the CLI,
/// the TUI and saved views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessSpec {
    /// Only privileged grants (admin roles, owner bindings, admin policies), not plain
    /// group or team memberships.
    pub privileged_only: bool,
    /// How long a temporary grant lasts when neither the log nor `[detect.jit.roles]` says
    /// (hours; None: `[detect.jit] window_hours`).
    pub window_hours: Option<u32>,
    /// Minutes after the scheduled end before a grant still held is overdue (None:
    /// `[detect.jit] grace_minutes`).
    pub grace_minutes: Option<u32>,
    /// How long an AWS role session lasts when the log does not say (minutes; the STS
    /// default is one hour).
    pub session_minutes: u32,
    /// AWS roles (globs over the role name) whose assumption is an elevation.
    pub privileged_roles: Vec<String>,
    /// The access review recommends removal when a holding was not used for this many days.
    pub unused_days: u32,
}

impl Default for AccessSpec {
    fn default() -> Self {
        AccessSpec {
            privileged_only: false,
            window_hours: None,
            grace_minutes: None,
            session_minutes: 60,
            privileged_roles: [
                "*admin*",
                "*Admin*",
                "*poweruser*",
                "*PowerUser*",
                "*owner*",
                "*breakglass*",
                "*break-glass*",
                "OrganizationAccountAccessRole",
            ]
            .map(String::from)
            .to_vec(),
            unused_days: 90,
        }
    }
}

/// How a grant is meant to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifetime {
    /// Held until someone removes it.
    Standing,
    /// Temporary: removed (or expired with a logged event) at the end of its window.
    Temporary,
    /// Temporary and ended by the provider without an event (GCP PAM grants, AWS role
    /// sessions): it ends at its scheduled end.
    Expiring,
}

impl Lifetime {
    /// Its name, as JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifetime::Standing => "standing",
            Lifetime::Temporary => "temporary",
            Lifetime::Expiring => "expiring",
        }
    }
}

/// How a grant stands at the end of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Still held when the logs end.
    Held,
    /// Revoked, removed or expired by a logged event.
    Ended,
    /// Expired without an event, at its scheduled end.
    Expired,
}

impl Status {
    /// Its name, as JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Ended => "ended",
            Status::Expired => "expired",
        }
    }
}

/// One grant or elevation, with its approval, its end and its use. Text as in the logs (not
/// escaped); times in UTC microseconds (RFC 3339 in JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    /// Who received the access: the identity (the grantee as an actor would name it when
    /// no identity is known for it).
    pub grantee: String,
    /// The grantee as the grant event writes it.
    pub grantee_as_written: String,
    /// What the grantee is, in the words of Entra's access reviews: `User`, `Group` or
    /// `ServicePrincipal` (roles, service accounts and other workloads).
    pub grantee_type: &'static str,
    /// The role, policy, group, team or binding granted.
    pub role: String,
    /// Where it applies: subscription, project, account, namespace, organization, directory.
    pub scope: String,
    /// The provider, as in the `provider` column.
    pub provider: String,
    /// The action that granted it.
    pub action: String,
    /// Standing, temporary or expiring.
    pub lifetime: Lifetime,
    /// A privileged grant (admin roles, owner bindings, policies), not a plain membership.
    pub privileged: bool,
    /// Who made the grant (the actor of the grant event).
    pub granted_by: String,
    /// Who approved it, when an approval event precedes it (PIM request approval).
    pub approver: Option<String>,
    /// The justification the grant or its request gives, when the log has one.
    pub justification: Option<String>,
    /// The ticket the grant or its request names, when the log has one.
    pub ticket: Option<String>,
    /// When it was granted.
    #[serde(serialize_with = "utc")]
    pub granted_at: i64,
    /// When it was meant to end (temporary grants: from the log, else the configured window).
    #[serde(serialize_with = "utc_opt")]
    pub scheduled_end: Option<i64>,
    /// When it ended (revocation, removal or expiry; for expiring grants their scheduled end
    /// once past); null while still held.
    #[serde(serialize_with = "utc_opt")]
    pub ended_at: Option<i64>,
    /// The action that ended it, when one is logged.
    pub ended_by: Option<String>,
    /// Held, ended or expired at the end of the logs.
    pub status: Status,
    /// How long it was held (until its end, or the end of the logs while held), seconds.
    pub duration_seconds: i64,
    /// Still held (or removed late) past its scheduled end and the grace.
    pub overdue: bool,
    /// Whether the grantee performed privileged actions while holding it.
    pub used: bool,
    /// The grantee's privileged actions while holding it.
    pub privileged_actions_in_window: u64,
    /// The most frequent of them, with their counts (at most five).
    pub top_actions: Vec<ActionCount>,
    /// The grantee's last privileged action while holding it.
    #[serde(serialize_with = "utc_opt")]
    pub last_used: Option<i64>,
    /// The actor names whose privileged actions count as the grantee's (how the use was
    /// matched).
    pub acted_as: Vec<String>,
    /// Privileged actions after a temporary grant's window (within one more window length).
    pub used_after_window: u64,
    /// Privileged actions in the window outside the role's configured purpose
    /// (`[detect.jit.roles]` actions).
    pub used_outside_purpose: u64,
    /// No privileged action while held.
    pub never_used: bool,
    /// The grantee approved the grant, or granted a standing role to themselves.
    pub self_approved: bool,
    /// Event ids: the grant's (and any duplicate record of it), its end's and its approval's.
    pub event_ids: Vec<String>,
    /// Rows (of the frame audited) of the grant's records and its approval's, whose original
    /// records the audit reads when it can ([`AccessAudit::records`]).
    #[serde(skip)]
    pub record_rows: Vec<u32>,
}

/// An action and how often it was performed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionCount {
    /// The action.
    pub action: String,
    /// How often.
    pub count: u64,
}

impl Grant {
    /// The grantee's privileged actions as one line: `count (top actions)`.
    pub fn use_text(&self) -> String {
        if self.privileged_actions_in_window == 0 {
            return "never used".to_string();
        }
        let top: Vec<String> = self
            .top_actions
            .iter()
            .map(|a| format!("{} {}", a.action, a.count))
            .collect();
        format!("{} ({})", self.privileged_actions_in_window, top.join(", "))
    }
}

/// The audit's result: the grants in time order, their summary, and the span of the logs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Access {
    /// Every grant or elevation, in time order.
    pub grants: Vec<Grant>,
    /// The flags counted.
    pub summary: Summary,
    /// First and last event of the logs audited (µs).
    #[serde(skip)]
    pub span: (i64, i64),
}

/// The access audit with the configuration it reads (`[detect.jit]` windows and role
/// purposes, the privileged-action classification) and the identity resolver that names
/// grantees: what [`crate::analysis::run`] runs.
pub struct AccessAudit<'c> {
    /// What to list and how to judge.
    pub spec: AccessSpec,
    /// The configuration.
    pub config: &'c Config,
    /// The store's identities ([`crate::store::FrameStore::identities`]); without them a
    /// grantee is named by the identity the frame shows for actors of its name.
    pub identities: Option<&'c Identities>,
    /// Reads the original record of a row of the frame audited, for what the columns do not
    /// carry yet (see [`records`]); without it those fields stay as the columns give them.
    pub records: Option<ReadRecord<'c>>,
}

impl crate::analysis::Spec for AccessAudit<'_> {
    type Output = Access;

    fn columns(&self) -> Vec<&str> {
        schema::EVENT_COLUMNS.to_vec()
    }

    fn compute(&self, events: &DataFrame) -> Result<Access> {
        audit_reading(
            events,
            self.config,
            &self.spec,
            self.identities,
            self.records,
        )
    }
}

/// Audits the access in `events` (a frame with the event columns), naming grantees with
/// `identities` when given.
pub fn audit(
    events: &DataFrame,
    config: &Config,
    spec: &AccessSpec,
    identities: Option<&Identities>,
) -> Result<Access> {
    audit_reading(events, config, spec, identities, None)
}

/// [`audit`], reading what the columns do not carry from the grants' original records
/// with `records` (rows of `events`) when given.
pub fn audit_reading(
    events: &DataFrame,
    config: &Config,
    spec: &AccessSpec,
    identities: Option<&Identities>,
    records: Option<ReadRecord<'_>>,
) -> Result<Access> {
    if events.height() == 0 {
        return Ok(Access::default());
    }
    let ctx = Context::new(events, config)?;
    let actors = actors::Actors::of(&ctx)?;
    let mut paired = pairing::grants(&ctx, spec, &actors, identities)?;
    if let Some(read) = records {
        let grace = i64::from(
            spec.grace_minutes
                .unwrap_or(config.detect.jit.grace_minutes),
        ) * crate::time::MINUTE;
        records::read_paired(&mut paired, ctx.span.1, grace, read);
        identity_center::name_assignments(&ctx, &mut paired, read)?;
    }
    let mut grants = usage::count(&ctx, spec, &actors, paired)?;
    if spec.privileged_only {
        grants.retain(|g| g.privileged);
    }
    let summary = Summary::of(&grants);
    Ok(Access {
        grants,
        summary,
        span: ctx.span,
    })
}

fn utc<S: Serializer>(t: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::text::format_time_utc(*t))
}

fn utc_opt<S: Serializer>(t: &Option<i64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => utc(t, s),
        None => s.serialize_none(),
    }
}

/// The access audit of a store's selected rows (`rows` None: every row), as the CLI, the
/// reports, saved views and the TUI run it: grantees named by the store's identities, and
/// what the columns do not carry yet (PIM justification, ticket and scheduled end, GCP
/// binding condition expiry, Identity Center permission sets, AWS session ends) read from
/// the grants' original records.
pub fn audit_store(
    store: &crate::store::FrameStore,
    config: &Config,
    rows: Option<&IdxCa>,
    spec: &AccessSpec,
) -> Result<Access> {
    let frame = store.frame();
    // Rows of the audited selection are rows of the frame through the selection.
    let read = |row: u32| {
        let frame_row = match rows {
            Some(rows) => rows.get(row as usize)?,
            None => row,
        };
        store.raw_record(frame, frame_row as usize).ok()
    };
    let audit = AccessAudit {
        spec: spec.clone(),
        config,
        identities: Some(store.identities()),
        records: Some(&read),
    };
    crate::analysis::run(frame, rows, &audit)
}
