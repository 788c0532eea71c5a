//! Permissions granted versus used, in cloudtracker's spirit: for each AWS principal (IAM
//! user, or role with the sessions that acted as it) and each permission its grants gave
//! in the logs ([`grants`]: inline, AWS managed and customer-managed policies, group
//! membership), whether it was used in the tracking period, is unused, was used after it
//! was removed, or cannot be told (actions CloudTrail does not log by default, calls the
//! public mapping cannot place, policies whose document is not known, grants inside the
//! grace periods). API calls are mapped to IAM actions with public, maintained data
//! ([`catalog`]); nothing is guessed.

mod azure;
pub mod catalog;
mod cloud;
pub mod cloud_catalog;
mod gcp;
pub mod grants;
mod judge;
mod kubernetes;
pub mod policy;
pub mod usage;

use polars::prelude::*;
use serde::{Deserialize, Serialize, Serializer};

use crate::analysis::Spec;
use crate::detectors::event::{i64s, strings};
use crate::schema::{
    ACCOUNT, ACTION, ACTOR, ACTOR_ID, DETAILS, Dictionaries, EVENT_ID, IDENTITY, LOG_TYPE, OUTCOME,
    PROVIDER, RESOURCE, SERVICE, TIME, has_category_id,
};
use crate::{Error, Result};

pub use catalog::Catalog;

/// One day in microseconds.
pub(crate) const DAY: i64 = 86_400_000_000;

/// What the analysis judges and how (a plain-data spec, for the CLI and saved views).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PermissionsSpec {
    /// Only this identity (or principal ARN, or user or role name), case-insensitive.
    pub identity: Option<String>,
    /// The tracking period: a permission not used in this many days before the end of the
    /// logs is unused (IAM Access Analyzer's default is 90).
    pub tracking_days: u32,
    /// Permissions granted within this many days of the end are too new to judge
    /// (Repokid's 14).
    pub grace_days: u32,
    /// Users and roles created within this many days of the end are too new to judge
    /// (Repokid's 90).
    pub new_identity_days: u32,
}

impl Default for PermissionsSpec {
    fn default() -> Self {
        PermissionsSpec {
            identity: None,
            tracking_days: 90,
            grace_days: 14,
            new_identity_days: 90,
        }
    }
}

/// How a permission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Used while granted, within the tracking period.
    Used,
    /// Granted and not used in the tracking period.
    Unused,
    /// Used after the grant was removed, with no other grant in the logs covering it.
    NoLongerGranted,
    /// The logs cannot tell (data events, unmapped calls, unknown policies, grace periods).
    CannotTell,
}

impl Status {
    /// The name shown and written.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Used => "used",
            Status::Unused => "unused",
            Status::NoLongerGranted => "no_longer_granted",
            Status::CannotTell => "cannot_tell",
        }
    }
}

/// One permission of one principal. Text as in the logs (not escaped); times µs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PermissionRow {
    /// The identity (the `identity` column of the principal's own calls; a role is its own
    /// identity, with the identities of its sessions in `sessions`).
    pub identity: String,
    /// The IAM principal: `arn:aws:iam::<account>:user/<name>` or `...:role/<name>`.
    pub principal: String,
    /// The provider (`aws`).
    pub provider: String,
    /// The permission: the statement's actions as written (`s3:Get*`, `NotAction iam:*`), or
    /// for a call no grant covers, the call (`s3:ListBuckets`).
    pub permission: String,
    /// How it was granted: `inline policy NAME`, `managed policy NAME`, `customer policy
    /// NAME`, `group G: ...`; empty for calls no grant in the logs covers.
    pub via: String,
    /// Used, unused, no longer granted, cannot tell.
    pub status: Status,
    /// Why, for a person.
    pub reason: String,
    /// The statement has a condition (treated as granting).
    pub conditional: bool,
    /// SAR actions the statement grants.
    pub actions_granted: u64,
    /// Of those, actions used while granted.
    pub actions_used: u64,
    /// The most used of them (at most five), with their counts.
    pub top_actions: Vec<(String, u64)>,
    /// Calls made under it while granted (or, for a call no grant covers, the calls).
    pub uses: u64,
    /// First such call.
    #[serde(serialize_with = "utc_opt")]
    pub first_use: Option<i64>,
    /// Last such call.
    #[serde(serialize_with = "utc_opt")]
    pub last_use: Option<i64>,
    /// When it was granted.
    #[serde(serialize_with = "utc_opt")]
    pub granted_at: Option<i64>,
    /// When it was removed (None: held at the end of the logs).
    #[serde(serialize_with = "utc_opt")]
    pub removed_at: Option<i64>,
    /// Calls after its removal that no other grant covers.
    pub used_after_removal: u64,
    /// The events that granted it.
    pub granted_by_events: Vec<String>,
    /// The event that removed it.
    pub removed_by_event: Option<String>,
    /// For a role: the identities of the sessions that acted as it.
    pub sessions: Vec<String>,
}

impl PermissionRow {
    /// A row of `principal` (acting as `identity`) on `provider` that nothing is known of
    /// yet: cannot tell, no use, no grant.
    pub fn blank(identity: String, principal: String, provider: &str) -> PermissionRow {
        PermissionRow {
            identity,
            principal,
            provider: provider.into(),
            permission: String::new(),
            via: String::new(),
            status: Status::CannotTell,
            reason: String::new(),
            conditional: false,
            actions_granted: 0,
            actions_used: 0,
            top_actions: Vec::new(),
            uses: 0,
            first_use: None,
            last_use: None,
            granted_at: None,
            removed_at: None,
            used_after_removal: 0,
            granted_by_events: Vec::new(),
            removed_by_event: None,
            sessions: Vec::new(),
        }
    }
}

/// Event counts behind the result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Successful AWS calls mapped to an IAM action, and GCP and Azure calls of principals
    /// with grants in the logs placed on permissions (GCP) or operations (Azure).
    pub mapped_events: u64,
    /// Successful AWS calls that cannot be mapped (unknown event source, or no such action
    /// in the SAR), and GCP and Azure calls of principals with grants in the logs that
    /// neither the record nor the public mapping places.
    pub cannot_tell_events: u64,
    /// Successful AWS calls that need no IAM permission.
    pub unpermissioned_events: u64,
    /// Successful AWS calls with no IAM user or role behind them (root, AWS services,
    /// federated users).
    pub unattributed_events: u64,
    /// Grant events read (policy puts, attachments, memberships, ...).
    pub grant_events: u64,
}

/// What a GCP or Azure provider counted beside its rows.
#[derive(Debug, Clone, Copy, Default)]
struct CloudCounts {
    /// Grant records read.
    grant_events: u64,
    /// Calls placed on a permission or operation.
    mapped: u64,
    /// Calls that could not be placed.
    cannot_tell: u64,
}

/// The result: rows by identity, then status, then permission.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Permissions {
    /// One row per principal and permission.
    pub rows: Vec<PermissionRow>,
    /// Event counts.
    pub summary: Summary,
    /// The data the mapping used, with versions.
    pub mapping: String,
    /// The start of the tracking period (µs).
    #[serde(serialize_with = "utc_opt")]
    pub tracking_from: Option<i64>,
    /// The end of the logs (µs).
    #[serde(serialize_with = "utc_opt")]
    pub end: Option<i64>,
}

impl Permissions {
    /// The permissions still held and unused (outside the grace periods) by an identity, or
    /// by a role its sessions acted as.
    pub fn unused_for(&self, identity: &str) -> Vec<&PermissionRow> {
        self.rows
            .iter()
            .filter(|r| {
                r.status == Status::Unused
                    && r.removed_at.is_none()
                    && (r.identity.eq_ignore_ascii_case(identity)
                        || r.sessions.iter().any(|s| s.eq_ignore_ascii_case(identity)))
            })
            .collect()
    }
}

fn utc_opt<S: Serializer>(t: &Option<i64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::text::format_time_utc(*t)),
        None => s.serialize_none(),
    }
}

/// The analysis with the reader of original records (grant events carry their policy
/// documents there): what [`crate::analysis::run`] runs. `read` gives the bytes of a row of
/// the frame the analysis sees.
pub struct PermissionsAudit<'r> {
    /// What to judge and how.
    pub spec: PermissionsSpec,
    /// Reads the original record of a row of the analysed frame.
    pub read: ReadRecords<'r>,
}

impl Spec for PermissionsAudit<'_> {
    type Output = Permissions;

    fn columns(&self) -> Vec<&str> {
        vec![
            TIME, PROVIDER, EVENT_ID, IDENTITY, ACTOR, ACTION, SERVICE, OUTCOME, ACCOUNT, RESOURCE,
            ACTOR_ID, LOG_TYPE, DETAILS,
        ]
    }

    fn compute(&self, events: &DataFrame) -> Result<Permissions> {
        audit(events, &self.spec, self.read)
    }
}

/// Reads the original records of rows of the analysed frame, all at once (so that the
/// reader can visit each input in order), giving one entry per row asked.
pub type ReadRecords<'r> = &'r dyn Fn(&[u32]) -> Vec<Option<Vec<u8>>>;

/// Records larger than this are not parsed (an IAM record is a few kilobytes).
const MAX_RECORD: usize = 1 << 20;
const ROW: &str = "__row";

/// Users created in the logs (`CreateUser`): principal and when.
type CreatedUsers = Vec<(String, i64)>;

/// The grant events of `events` (successful AWS IAM policy, attachment and membership
/// events), read from their original records, in time order.
fn grant_events(
    events: &DataFrame,
    read: ReadRecords<'_>,
) -> Result<(Vec<grants::GrantEvent>, CreatedUsers)> {
    let dict = Dictionaries::shared();
    let ids = |column: &str, accept: &dyn Fn(&str) -> bool| -> Vec<u32> {
        dict.category_values(column)
            .into_iter()
            .filter(|(_, v)| accept(v))
            .map(|(id, _)| id)
            .collect()
    };
    let wanted = ids(ACTION, &|a| crate::schema::keeps_record("aws", a));
    let filter = has_category_id(ACTION, wanted)
        .and(has_category_id(PROVIDER, ids(PROVIDER, &|p| p == "aws")))
        .and(has_category_id(OUTCOME, ids(OUTCOME, &|o| o == "success")));
    let df = events
        .clone()
        .lazy()
        .with_row_index(ROW, None)
        // In frame order, which is each input's order: a compressed input is then read
        // forward, never decompressed again from a restart point per record.
        .filter(filter)
        .select([
            col(ROW),
            col(TIME),
            col(EVENT_ID),
            col(ACCOUNT),
            col(ACTION),
        ])
        .collect()
        .map_err(Error::polars("selecting the grant events"))?;
    let rows = crate::detectors::event::u64s(&df, ROW)?;
    let times = i64s(&df, TIME)?;
    let event_ids = strings(&df, EVENT_ID)?;
    let accounts = strings(&df, ACCOUNT)?;
    let actions = strings(&df, ACTION)?;
    let mut out = Vec::new();
    let mut users = Vec::new();
    let asked: Vec<u32> = rows.iter().map(|r| r.unwrap_or(0) as u32).collect();
    let records = read(&asked);
    for i in 0..df.height() {
        let Some(Some(time)) = times.get(i) else {
            continue;
        };
        let account = accounts.get(i).cloned().unwrap_or_default();
        let action = actions.get(i).cloned().unwrap_or_default();
        let Some(bytes) = records
            .get(i)
            .and_then(Option::as_ref)
            .filter(|b| b.len() <= MAX_RECORD)
        else {
            continue;
        };
        let Ok(record) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            continue;
        };
        if action == "CreateUser" {
            if let Some(name) = record
                .get("requestParameters")
                .and_then(|p| p.get("userName"))
                .and_then(serde_json::Value::as_str)
            {
                users.push((format!("arn:aws:iam::{account}:user/{name}"), *time));
            }
            continue;
        }
        out.push(grants::GrantEvent {
            time: *time,
            event_id: event_ids.get(i).cloned().unwrap_or_default(),
            account,
            action,
            record,
        });
    }
    out.sort_by_key(|e| e.time);
    Ok((out, users))
}

/// Permissions granted versus used in `events` (a frame with [`PermissionsAudit`]'s
/// columns); `read` gives the original record of a row.
pub fn audit(
    events: &DataFrame,
    spec: &PermissionsSpec,
    read: ReadRecords<'_>,
) -> Result<Permissions> {
    let catalog = Catalog::get();
    let mapping = format!(
        "{}; gcp-azure-roles: {}",
        Catalog::versions_line(),
        cloud_catalog::versions_line()
    );
    if events.height() == 0 {
        return Ok(Permissions {
            mapping,
            ..Permissions::default()
        });
    }
    let span = {
        let t = i64s(events, TIME)?;
        let known = t.iter().flatten();
        (known.clone().min().copied(), known.max().copied())
    };
    let (Some(start), Some(end)) = span else {
        return Ok(Permissions {
            mapping,
            ..Permissions::default()
        });
    };
    let (grant_events, users) = grant_events(events, read)?;
    let (granted, mut created) = grants::granted(&grant_events, catalog);
    for (user, t) in users {
        created.entry(user).or_insert(t);
    }
    let used = usage::usage(events, catalog)?;
    let mut summary = Summary {
        mapped_events: used.mapped,
        cannot_tell_events: used.cannot_tell,
        unpermissioned_events: used.unpermissioned,
        unattributed_events: used.unattributed,
        grant_events: grant_events.len() as u64,
    };
    let judge = judge::Judge {
        catalog,
        spec,
        end,
        start,
        created: &created,
    };
    let mut rows = judge.rows(&granted, &used.uses);
    let (rbac, rbac_events) = kubernetes::rows(events, spec, end, read)?;
    rows.extend(rbac);
    let frame = cloud::Frame { spec, start, end };
    let (gcp_rows, gcp_counts) = gcp::rows(events, &frame, read)?;
    let (azure_rows, azure_counts) = azure::rows(events, &frame)?;
    rows.extend(gcp_rows.into_iter().chain(azure_rows));
    for counts in [gcp_counts, azure_counts] {
        summary.grant_events += counts.grant_events;
        summary.mapped_events += counts.mapped;
        summary.cannot_tell_events += counts.cannot_tell;
    }
    rows.sort_by(|a, b| {
        (&a.identity, a.status, &a.permission, &a.via).cmp(&(
            &b.identity,
            b.status,
            &b.permission,
            &b.via,
        ))
    });
    summary.grant_events += rbac_events;
    if let Some(wanted) = spec.identity.as_deref().map(str::trim) {
        rows.retain(|r| {
            r.identity.eq_ignore_ascii_case(wanted)
                || r.principal.eq_ignore_ascii_case(wanted)
                || r.principal
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                || r.sessions.iter().any(|s| s.eq_ignore_ascii_case(wanted))
        });
    }
    Ok(Permissions {
        rows,
        summary,
        mapping,
        tracking_from: Some(end - i64::from(spec.tracking_days) * DAY),
        end: Some(end),
    })
}

/// Where a record is: its input and offset.
type Place = (String, u64);

/// The analysis over a store's selected rows (`rows` None: every row), as the CLI, the
/// inventory and saved views run it: the grant events' documents come from the store's
/// original records.
pub fn audit_store(
    store: &crate::store::FrameStore,
    rows: Option<&IdxCa>,
    spec: &PermissionsSpec,
) -> Result<Permissions> {
    let frame = store.frame();
    // Rows of the analysed selection are rows of the frame through the selection; they are
    // read in (input, offset) order, as a compressed input can only be read forward cheaply.
    let read = |asked: &[u32]| -> Vec<Option<Vec<u8>>> {
        let mut order: Vec<(usize, Option<Place>, Option<usize>)> = asked
            .iter()
            .enumerate()
            .map(|(i, &row)| {
                let frame_row = match rows {
                    Some(rows) => rows.get(row as usize).map(|r| r as usize),
                    None => Some(row as usize),
                };
                let place = frame_row.and_then(|r| {
                    let source = frame.column(crate::schema::SOURCE).ok()?.get(r).ok()?;
                    let offset = frame.column(crate::schema::RAW_OFFSET).ok()?.get(r).ok()?;
                    Some((source.str_value().to_string(), offset.extract::<u64>()?))
                });
                (i, place, frame_row)
            })
            .collect();
        order.sort_by(|a, b| a.1.cmp(&b.1));
        let mut out = vec![None; asked.len()];
        let kept = store.kept_records();
        for (i, place, frame_row) in order {
            // The loader kept the grant events' records: only the others are read again.
            let record = match place.and_then(|(source, offset)| kept.get(&source, offset)) {
                Some(record) => Some(record.to_vec()),
                None => frame_row.and_then(|r| store.raw_record(frame, r).ok()),
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = record;
            }
        }
        out
    };
    let audit = PermissionsAudit {
        spec: spec.clone(),
        read: &read,
    };
    crate::analysis::run(frame, rows, &audit)
}
