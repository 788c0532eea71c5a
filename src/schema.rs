//! The normalized event contract: column names and types, the borrowed [`Event`] every
//! provider produces, and the [`EventBatch`] column builders that turn events into a
//! Polars [`DataFrame`].
//!
//! Column names exist only here; every other module refers to them through these constants.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, OnceLock};

use polars::prelude::*;

/// Event time, UTC, microseconds.
pub const TIME: &str = "time";
/// Provider family (`aws`, `entra`, `azure`, `gcp`, `kubernetes`, `okta`, `github`).
pub const PROVIDER: &str = "provider";
/// Log within the provider (`management`, `audit`, `signin`, `activity`, `data_access`, ...).
pub const LOG_TYPE: &str = "log_type";
/// The provider's own id for the event (eventID, id, insertId, auditID, uuid, ...).
pub const EVENT_ID: &str = "event_id";
/// Stable, readable principal that acted.
pub const ACTOR: &str = "actor";
/// The person or workload behind the actor, resolved across providers from what the logs
/// prove and the `[identities]` configuration (see [`crate::identity`]); the actor itself
/// when nothing links it to another.
pub const IDENTITY: &str = "identity";
/// Another identifier of the actor that the same record proves (the Entra object id beside
/// the UPN, the Okta user id beside the login, the SAML name id beside a GitHub login, the
/// assumed-role session behind an EKS user mapped from an IAM role).
pub const ACTOR_ID: &str = "actor_id";
/// human, service, root, system, anonymous or unknown.
pub const ACTOR_TYPE: &str = "actor_type";
/// What was done (eventName, methodName, verb + resource, eventType, ...).
pub const ACTION: &str = "action";
/// The service or API the action belongs to.
pub const SERVICE: &str = "service";
/// The target of the action, best effort.
pub const RESOURCE: &str = "resource";
/// Source address as written by the provider (not always a valid IP).
pub const SRC_IP: &str = "src_ip";
/// Client user agent.
pub const USER_AGENT: &str = "user_agent";
/// The cloud region acted on (`us-east-1`, `westeurope`, `europe-west1-b`).
pub const REGION: &str = "region";
/// The caller's country, as an ISO 3166-1 alpha-2 code (`DE`), where the record says it.
pub const COUNTRY: &str = "country";
/// The caller's city, where the record says it.
pub const CITY: &str = "city";
/// success, failure or unknown.
pub const OUTCOME: &str = "outcome";
/// Error code or failure reason.
pub const ERROR: &str = "error";
/// Whether MFA was used (null: unknown).
pub const MFA: &str = "mfa";
/// The credential or sign-in session that ties a person's or workload's events together
/// (access key, sign-in session id, Okta session, token).
pub const SESSION: &str = "session";
/// The provider's request or operation correlation id (Entra and Azure `correlationId`, Okta
/// `transaction.id`, GCP `operation.id`): the events of one operation share it.
pub const CORRELATION_ID: &str = "correlation_id";
/// Whether the action only reads (null: unknown).
pub const READ_ONLY: &str = "read_only";
/// Whether the action is privileged according to the classification.
pub const PRIVILEGED: &str = "privileged";
/// Account, subscription, project, tenant or organisation the event belongs to.
pub const ACCOUNT: &str = "account";
/// Key request parameters, compact (policy attached, role granted, object touched, ...).
pub const DETAILS: &str = "details";
/// The input the record was read from.
pub const SOURCE: &str = "source";
/// Byte offset of the original record in its (decompressed) input.
pub const RAW_OFFSET: &str = "raw_offset";
/// Length in bytes of the original record.
pub const RAW_LEN: &str = "raw_len";
/// Line of the original record in its input (1-based; 0 when not known: a line past
/// `u32::MAX` is not numbered, its `raw_offset` still locates the record).
pub const RAW_LINE: &str = "raw_line";

/// Hash (xxh3) of `event_id`, null without one: lets detections find ids shared by several
/// rows with an integer group-by instead of hashing a million strings again.
pub const ID_HASH: &str = "id_hash";

/// The normalized columns shown to users, in display order.
pub const EVENT_COLUMNS: [&str; 25] = [
    TIME,
    PROVIDER,
    LOG_TYPE,
    EVENT_ID,
    ACTOR,
    IDENTITY,
    ACTOR_TYPE,
    ACTOR_ID,
    ACTION,
    SERVICE,
    RESOURCE,
    SRC_IP,
    USER_AGENT,
    REGION,
    COUNTRY,
    CITY,
    OUTCOME,
    ERROR,
    MFA,
    SESSION,
    CORRELATION_ID,
    READ_ONLY,
    PRIVILEGED,
    ACCOUNT,
    DETAILS,
];

/// Columns stored as categoricals because they repeat a lot.
pub const CATEGORICAL_COLUMNS: [&str; 16] = [
    PROVIDER, LOG_TYPE, ACTOR, IDENTITY, ACTOR_TYPE, ACTOR_ID, ACTION, SERVICE, SRC_IP, USER_AGENT,
    REGION, COUNTRY, CITY, OUTCOME, ERROR, ACCOUNT,
];

/// Columns holding free text that rarely repeats.
pub const STRING_COLUMNS: [&str; 5] = [EVENT_ID, RESOURCE, SESSION, CORRELATION_ID, DETAILS];

/// Columns holding a nullable boolean.
pub const BOOL_COLUMNS: [&str; 3] = [MFA, READ_ONLY, PRIVILEGED];

/// The columns an events table shows when none are chosen (`trailscope query`, the TUI's
/// events view): who did what, when, from where, and whether it was allowed.
pub const DEFAULT_COLUMNS: [&str; 8] = [
    TIME, PROVIDER, ACTOR, ACTION, OUTCOME, SRC_IP, RESOURCE, ERROR,
];

/// Whether a column is stored as a categorical (the [`CATEGORICAL_COLUMNS`] and [`SOURCE`]):
/// its physical values are dictionary ids, so it groups and sorts by id, not by text.
pub fn is_categorical(column: &str) -> bool {
    CATEGORICAL_COLUMNS.contains(&column) || column == SOURCE
}

/// The kind of identity behind an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ActorType {
    /// A person.
    Human,
    /// A non-human identity: service account, machine role, app, bot, token.
    Service,
    /// The all-powerful account (AWS root, break-glass).
    Root,
    /// The platform itself (AWS services, Okta system, Kubernetes control plane).
    System,
    /// Nobody authenticated.
    Anonymous,
    /// Not known.
    #[default]
    Unknown,
}

impl ActorType {
    /// The value stored in the `actor_type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Service => "service",
            Self::Root => "root",
            Self::System => "system",
            Self::Anonymous => "anonymous",
            Self::Unknown => "unknown",
        }
    }

    /// Whether this is a non-human identity (service, system).
    pub fn is_non_human(self) -> bool {
        matches!(self, Self::Service | Self::System)
    }
}

/// Whether the action was allowed and succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Outcome {
    /// Allowed and succeeded.
    Success,
    /// Denied or failed.
    Failure,
    /// Not recorded.
    #[default]
    Unknown,
}

impl Outcome {
    /// The value stored in the `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Unknown => "unknown",
        }
    }
}

/// One normalized event, borrowing from the record it was parsed from.
///
/// Providers fill what their format carries and leave the rest `None`; `privileged`
/// is decided by the privileged-action classification when the event is pushed into a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event<'a> {
    /// UTC microseconds since the Unix epoch; `None` when the record has no usable time.
    pub time: Option<i64>,
    /// Provider family, one of the `provider` values.
    pub provider: &'static str,
    /// Log within the provider.
    pub log_type: Cow<'a, str>,
    /// The provider's own id.
    pub event_id: Option<Cow<'a, str>>,
    /// Who acted.
    pub actor: Option<Cow<'a, str>>,
    /// What kind of identity acted.
    pub actor_type: ActorType,
    /// Another identifier of the actor the record proves (see [`ACTOR_ID`]).
    pub actor_id: Option<Cow<'a, str>>,
    /// What was done.
    pub action: Option<Cow<'a, str>>,
    /// Service or API.
    pub service: Option<Cow<'a, str>>,
    /// Target of the action.
    pub resource: Option<Cow<'a, str>>,
    /// Source address as written.
    pub src_ip: Option<Cow<'a, str>>,
    /// Client user agent.
    pub user_agent: Option<Cow<'a, str>>,
    /// The cloud region acted on.
    pub region: Option<Cow<'a, str>>,
    /// The caller's country: an ISO 3166-1 alpha-2 code (see [`crate::country`]).
    pub country: Option<&'static str>,
    /// The caller's city.
    pub city: Option<Cow<'a, str>>,
    /// Success or failure.
    pub outcome: Outcome,
    /// Error code or failure reason.
    pub error: Option<Cow<'a, str>>,
    /// MFA used (`None`: unknown).
    pub mfa: Option<bool>,
    /// The credential or sign-in session.
    pub session: Option<Cow<'a, str>>,
    /// The request or operation correlation id.
    pub correlation_id: Option<Cow<'a, str>>,
    /// Read-only action (`None`: unknown).
    pub read_only: Option<bool>,
    /// Account, subscription, project, tenant or organisation.
    pub account: Option<Cow<'a, str>>,
    /// Key request parameters.
    pub details: Option<Cow<'a, str>>,
    /// For a request logged once per stage (Kubernetes `RequestReceived`, then
    /// `ResponseComplete`): how complete this stage's record is. Of the records sharing an
    /// `event_id`, the store keeps the most complete one as the event.
    pub completeness: Option<u8>,
}

/// A row of a batch that is one stage of a request logged in stages: the store keeps, per
/// request, the most complete stage (see [`Event::completeness`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StagedRow {
    /// The row in its batch.
    pub row: u32,
    /// Hash of the provider and the request's id.
    pub request: u64,
    /// How complete the stage is; higher wins.
    pub completeness: u8,
}

/// Where the original bytes of a record are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawSpan {
    /// Byte offset in the (decompressed) input.
    pub offset: u64,
    /// Length in bytes.
    pub len: u32,
    /// 1-based line of the record's first byte.
    pub line: u64,
}

/// The Polars types of the categorical columns, shared by every batch so that batches
/// concatenate without remapping.
pub struct Dictionaries {
    dtypes: Vec<DataType>,
    mappings: Vec<Arc<CategoricalMapping>>,
    source_dtype: DataType,
    source_mapping: Arc<CategoricalMapping>,
}

impl Dictionaries {
    /// The process-wide dictionaries (categoricals are keyed by name in Polars' registry).
    pub fn shared() -> &'static Dictionaries {
        static SHARED: OnceLock<Dictionaries> = OnceLock::new();
        SHARED.get_or_init(|| {
            let make = |name: &str| {
                let cats = Categories::new(
                    format!("trailscope.{name}").into(),
                    PlSmallStr::EMPTY,
                    CategoricalPhysical::U32,
                );
                let mapping = cats.mapping();
                (DataType::from_categories(cats), mapping)
            };
            let (dtypes, mappings) = CATEGORICAL_COLUMNS.iter().map(|c| make(c)).unzip();
            let (source_dtype, source_mapping) = make(SOURCE);
            Dictionaries {
                dtypes,
                mappings,
                source_dtype,
                source_mapping,
            }
        })
    }

    /// The dtype of a categorical column.
    pub fn dtype(&self, column: &str) -> Option<&DataType> {
        if column == SOURCE {
            return Some(&self.source_dtype);
        }
        CATEGORICAL_COLUMNS
            .iter()
            .position(|c| *c == column)
            .map(|i| &self.dtypes[i])
    }

    /// Every value a categorical column has ever held, with its physical id (values are
    /// never removed, so this is a superset of the values in any frame).
    pub fn category_values(&self, column: &str) -> Vec<(u32, String)> {
        let mapping = if column == SOURCE {
            &self.source_mapping
        } else {
            match CATEGORICAL_COLUMNS.iter().position(|c| *c == column) {
                Some(i) => &self.mappings[i],
                None => return Vec::new(),
            }
        };
        (0..mapping.num_cats_upper_bound())
            .filter_map(|id| {
                let id = id as u32;
                mapping.cat_to_str(id).map(|s| (id, s.to_string()))
            })
            .collect()
    }

    /// The dictionary of a categorical column of the events (not `source`).
    pub fn mapping(&self, column: &str) -> Option<&Arc<CategoricalMapping>> {
        let i = CATEGORICAL_COLUMNS.iter().position(|c| *c == column)?;
        self.mappings.get(i)
    }

    /// The value of a categorical column's dictionary id.
    pub fn category_name(&self, column: &str, id: u32) -> Option<&str> {
        self.mapping(column)?.cat_to_str(id)
    }

    /// The input path of a `source` column id.
    pub fn source_name(&self, id: u32) -> Option<&str> {
        self.source_mapping.cat_to_str(id)
    }

    /// The id the `source` column uses for an input path.
    pub fn source_id(&self, path: &str) -> u32 {
        self.source_mapping.insert_cat(path).unwrap_or(0)
    }
}

/// Event times that load, in UTC microseconds since the Unix epoch: from 1970-01-01 up to
/// 2100-01-01. Audit logs do not predate 1970, and a time outside this range is a broken or
/// forged record; keeping them out keeps every bucketed analysis proportional to real spans.
pub const TIME_RANGE: std::ops::Range<i64> = 0..4_102_444_800_000_000;

/// [`TIME_RANGE`] for people.
pub const TIME_RANGE_TEXT: &str = "1970-01-01T00:00:00Z .. 2100-01-01T00:00:00Z";

/// The values of the `provider` column, one per provider family (the names `privileged`
/// tables of the configuration use).
pub const PROVIDERS: [&str; 7] = [
    "aws",
    "entra",
    "azure",
    "gcp",
    "kubernetes",
    "okta",
    "github",
];

/// Rows whose categorical `column` holds one of these dictionary ids (no ids: no rows).
pub fn has_category_id(column: &str, ids: Vec<u32>) -> Expr {
    match ids.as_slice() {
        [] => lit(false),
        [id] => col(column).to_physical().eq_missing(lit(*id)),
        _ => col(column)
            .to_physical()
            .is_in(lit(Series::new(column.into(), ids)).implode(false), true),
    }
}

/// The polars time type of the `time` column.
pub fn time_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// The schema every event frame has, in column order.
pub fn frame_schema() -> Schema {
    let dicts = Dictionaries::shared();
    let mut schema = Schema::default();
    for name in EVENT_COLUMNS
        .iter()
        .chain([SOURCE, RAW_OFFSET, RAW_LEN, RAW_LINE, ID_HASH].iter())
    {
        let dtype = match *name {
            TIME => time_dtype(),
            RAW_OFFSET | ID_HASH => DataType::UInt64,
            RAW_LEN | RAW_LINE => DataType::UInt32,
            n if BOOL_COLUMNS.contains(&n) => DataType::Boolean,
            n if STRING_COLUMNS.contains(&n) => DataType::String,
            n => dicts.dtype(n).cloned().unwrap_or(DataType::String),
        };
        schema.with_column((*name).into(), dtype);
    }
    schema
}

/// An empty frame with the event schema.
pub fn empty_frame() -> DataFrame {
    DataFrame::empty_with_schema(&frame_schema())
}

/// The IAM events whose records the permissions analysis reads (`audit::permissions`).
pub const IAM_GRANT_ACTIONS: [&str; 21] = [
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "DeleteUserPolicy",
    "DeleteRolePolicy",
    "DeleteGroupPolicy",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "DetachUserPolicy",
    "DetachRolePolicy",
    "DetachGroupPolicy",
    "CreatePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "DeleteUser",
    "DeleteRole",
    "DeleteGroup",
    "CreateRole",
];

/// Whether the loader keeps the original record of an event of `provider` and `action`
/// beside the frame: the IAM grant events ([`IAM_GRANT_ACTIONS`]) and `CreateUser` (when a
/// user began), which the permissions analysis reads; reading them back from a compressed
/// input costs far more than keeping these few.
pub fn keeps_record(provider: &str, action: &str) -> bool {
    provider == "aws" && (IAM_GRANT_ACTIONS.contains(&action) || action == "CreateUser")
}

/// The dictionary ids of one row's input, provider, log type and action.
#[derive(Debug, Clone, Copy)]
pub struct RowIds {
    /// The `source` column's id.
    pub source: u32,
    /// The `provider` column's id.
    pub provider: Option<u32>,
    /// The `log_type` column's id.
    pub log_type: Option<u32>,
    /// The `action` column's id.
    pub action: Option<u32>,
}

/// Column builders for a batch of events from one input.
pub struct EventBatch {
    time: Vec<Option<i64>>,
    cats: Vec<Vec<Option<u32>>>,
    strings: Vec<StringChunkedBuilder>,
    mfa: Vec<Option<bool>>,
    read_only: Vec<Option<bool>>,
    privileged: Vec<bool>,
    source: u32,
    raw_offset: Vec<u64>,
    raw_len: Vec<u32>,
    raw_line: Vec<u32>,
    id_hash: Vec<Option<u64>>,
    fingerprints: Vec<u64>,
    staged: Vec<StagedRow>,
    kept: Vec<(u32, Vec<u8>)>,
}

impl EventBatch {
    /// An empty batch for events read from `source` (an input path or `-`).
    pub fn new(source: &str) -> Self {
        Self::with_capacity(source, 0)
    }

    /// An empty batch with room for `capacity` events.
    pub fn with_capacity(source: &str, capacity: usize) -> Self {
        let source = Dictionaries::shared().source_id(source);
        EventBatch {
            time: Vec::with_capacity(capacity),
            cats: (0..CATEGORICAL_COLUMNS.len())
                .map(|_| Vec::with_capacity(capacity))
                .collect(),
            strings: STRING_COLUMNS
                .iter()
                .map(|name| StringChunkedBuilder::new((*name).into(), capacity))
                .collect(),
            mfa: Vec::with_capacity(capacity),
            read_only: Vec::with_capacity(capacity),
            privileged: Vec::with_capacity(capacity),
            source,
            raw_offset: Vec::with_capacity(capacity),
            raw_len: Vec::with_capacity(capacity),
            raw_line: Vec::with_capacity(capacity),
            id_hash: Vec::with_capacity(capacity),
            fingerprints: Vec::with_capacity(capacity),
            staged: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Number of events in the batch.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether the batch holds no events.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// The dedup fingerprints of the events, in order.
    pub fn fingerprints(&self) -> &[u64] {
        &self.fingerprints
    }

    /// The rows that are stages of a request logged in stages.
    pub fn staged(&self) -> &[StagedRow] {
        &self.staged
    }

    /// The original records of the rows an analysis reads again (row, bytes): taken out of
    /// the batch, for the store to keep beside the frame.
    pub fn take_kept(&mut self) -> Vec<(u32, Vec<u8>)> {
        std::mem::take(&mut self.kept)
    }

    /// The dictionary ids of the last event appended (a load tap reads them).
    pub fn last_ids(&self) -> RowIds {
        let last = |column: &str| {
            CATEGORICAL_COLUMNS
                .iter()
                .position(|c| *c == column)
                .and_then(|i| self.cats[i].last().copied().flatten())
        };
        RowIds {
            source: self.source,
            provider: last(PROVIDER),
            log_type: last(LOG_TYPE),
            action: last(ACTION),
        }
    }

    /// Appends one event read from `raw` (the record's original bytes) at `span`.
    pub fn push(&mut self, event: &Event<'_>, raw: &[u8], span: RawSpan, privileged: bool) {
        let dicts = Dictionaries::shared();
        // The few records the permissions analysis reads (IAM grant events) are kept while
        // their bytes are at hand: reading them back from a compressed input costs far more.
        let action = event.action.as_deref().unwrap_or("");
        if keeps_record(event.provider, action) {
            self.kept.push((self.time.len() as u32, raw.to_vec()));
        }
        // The identity is resolved by the store, across events; batches leave it empty.
        let cat_values: [Option<&str>; 16] = [
            Some(event.provider),
            Some(&event.log_type),
            event.actor.as_deref(),
            None,
            Some(event.actor_type.as_str()),
            event.actor_id.as_deref(),
            event.action.as_deref(),
            event.service.as_deref(),
            // `0.0.0.0`, `-` and the like mean the provider had no address (see
            // `net::no_address`): null, like a record without one.
            event
                .src_ip
                .as_deref()
                .filter(|ip| !crate::net::no_address(ip)),
            event.user_agent.as_deref(),
            event.region.as_deref(),
            event.country,
            event.city.as_deref(),
            Some(event.outcome.as_str()),
            event.error.as_deref(),
            event.account.as_deref(),
        ];
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&event.time.unwrap_or(i64::MIN).to_le_bytes());
        CATEGORY_IDS.with(|cache| {
            let mut cache = cache.borrow_mut();
            for (i, value) in cat_values.iter().enumerate() {
                let id = value.map(|v| {
                    let hash = xxhash_rust::xxh3::xxh3_64(v.as_bytes());
                    hasher.update(&hash.to_le_bytes());
                    category_id(&mut cache, &dicts.mappings[i], i, hash, v)
                });
                if id.is_none() {
                    hasher.update(&[0xff]);
                }
                self.cats[i].push(id);
            }
        });
        let string_values = [
            event.event_id.as_deref(),
            event.resource.as_deref(),
            event.session.as_deref(),
            event.correlation_id.as_deref(),
            event.details.as_deref(),
        ];
        for (builder, value) in self.strings.iter_mut().zip(string_values) {
            match value {
                Some(v) => {
                    hasher.update(v.as_bytes());
                    builder.append_value(v);
                }
                None => builder.append_null(),
            }
            hasher.update(&[0xfe]);
        }
        if event.event_id.is_none() {
            // Without a provider id, only identical records are the same event.
            hasher.update(raw);
        }
        hasher.update(&[
            event.mfa.map_or(2, u8::from),
            event.read_only.map_or(2, u8::from),
        ]);
        self.fingerprints.push(hasher.digest());
        self.time.push(event.time);
        self.mfa.push(event.mfa);
        self.read_only.push(event.read_only);
        self.privileged.push(privileged);
        self.raw_offset.push(span.offset);
        self.raw_len.push(span.len);
        // Four bytes a row: a record on a line past u32::MAX (a file of more than four
        // billion lines) is located by its offset alone.
        self.raw_line.push(u32::try_from(span.line).unwrap_or(0));
        let id = event.event_id.as_deref();
        let id_hash = id.map(|v| xxhash_rust::xxh3::xxh3_64(v.as_bytes()));
        if let (Some(completeness), Some(hash)) = (event.completeness, id_hash) {
            self.staged.push(StagedRow {
                row: (self.id_hash.len()) as u32,
                request: xxhash_rust::xxh3::xxh3_64_with_seed(event.provider.as_bytes(), hash),
                completeness,
            });
        }
        self.id_hash.push(id_hash);
    }

    /// Fills the missing values of categorical column `target` from categorical column
    /// `from` of the same row: `fill` maps a dictionary id of `from` to a dictionary id of
    /// `target`, or `None` to leave the row missing. Runs after the rows' fingerprints were
    /// taken, so what is filled in never changes which events are duplicates.
    pub fn fill_missing_category(
        &mut self,
        target: &str,
        from: &str,
        mut fill: impl FnMut(u32) -> Option<u32>,
    ) {
        let position = |name: &str| CATEGORICAL_COLUMNS.iter().position(|c| *c == name);
        let (Some(target), Some(from)) = (position(target), position(from)) else {
            return;
        };
        if target == from {
            return;
        }
        let (low, high) = self.cats.split_at_mut(target.max(from));
        let (target, from) = if target < from {
            (&mut low[target], &high[0])
        } else {
            (&mut high[0], &low[from])
        };
        for (value, source) in target.iter_mut().zip(from.iter()) {
            if value.is_none()
                && let Some(source) = source
            {
                *value = fill(*source);
            }
        }
    }

    /// Converts the batch into a frame with the event schema.
    pub fn into_frame(self) -> PolarsResult<DataFrame> {
        let dicts = Dictionaries::shared();
        let height = self.time.len();
        let mut columns: Vec<Column> = Vec::with_capacity(EVENT_COLUMNS.len() + 5);
        let mut cats = self.cats.into_iter();
        let mut strings = self.strings.into_iter();
        let mut time = Some(self.time);
        let mut bools = [Some(self.mfa), Some(self.read_only)].into_iter();
        let mut privileged = Some(self.privileged);
        for name in EVENT_COLUMNS {
            let column = match name {
                TIME => Int64Chunked::from_iter_options(
                    name.into(),
                    time.take().unwrap_or_default().into_iter(),
                )
                .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                .into_column(),
                PRIVILEGED => {
                    BooleanChunked::from_slice(name.into(), &privileged.take().unwrap_or_default())
                        .into_column()
                }
                n if BOOL_COLUMNS.contains(&n) => BooleanChunked::from_iter_options(
                    n.into(),
                    bools.next().flatten().unwrap_or_default().into_iter(),
                )
                .into_column(),
                n if STRING_COLUMNS.contains(&n) => match strings.next() {
                    Some(builder) => builder.finish().into_column(),
                    None => StringChunked::full_null(n.into(), height).into_column(),
                },
                n => {
                    let ids = cats.next().unwrap_or_default();
                    let dtype = dicts.dtype(n).cloned().unwrap_or(DataType::String);
                    categorical_column(n, ids, dtype)
                }
            };
            columns.push(null_scalar_if_all_null(column));
        }
        columns.push(
            categorical_column(
                SOURCE,
                vec![Some(self.source); height.min(1)],
                dicts.source_dtype.clone(),
            )
            .new_from_index(0, height),
        );
        columns.push(UInt64Chunked::from_vec(RAW_OFFSET.into(), self.raw_offset).into_column());
        columns.push(UInt32Chunked::from_vec(RAW_LEN.into(), self.raw_len).into_column());
        columns.push(UInt32Chunked::from_vec(RAW_LINE.into(), self.raw_line).into_column());
        columns.push(null_scalar_if_all_null(
            UInt64Chunked::from_iter_options(ID_HASH.into(), self.id_hash.into_iter())
                .into_column(),
        ));
        DataFrame::new(height, columns)
    }
}

thread_local! {
    /// Category ids by (column, value hash), per parser thread: values repeat a lot, and
    /// this lookup reuses the hash the fingerprint needs anyway.
    static CATEGORY_IDS: std::cell::RefCell<HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>> =
        std::cell::RefCell::new(HashMap::default());
}

/// The category id of `value` in column `index`, through the per-thread cache (verified
/// against the dictionary, so a hash collision costs a lookup, never a wrong value).
fn category_id(
    cache: &mut HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    mapping: &CategoricalMapping,
    index: usize,
    hash: u64,
    value: &str,
) -> u32 {
    let key = hash ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    if let Some(&id) = cache.get(&key)
        && mapping.cat_to_str(id) == Some(value)
    {
        return id;
    }
    let id = mapping.insert_cat(value).unwrap_or(0);
    if cache.len() > 1 << 20 {
        cache.clear();
    }
    cache.insert(key, id);
    id
}

/// A hasher for keys that already are uniformly distributed hashes.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A column null in every row of a batch, held as one null value for all its rows: a string
/// column otherwise holds a 16-byte view per row and a categorical 4 bytes (CloudTrail has no
/// `correlation_id`, no `city`; batches leave `identity` to the store). The store keeps such
/// columns one value when it stacks batches whose columns are all null alike.
fn null_scalar_if_all_null(column: Column) -> Column {
    if !column.is_empty() && column.null_count() == column.len() {
        Column::full_null(column.name().clone(), column.len(), column.dtype())
    } else {
        column
    }
}

/// A categorical column from its dictionary ids; one value in every row of the batch (the
/// input's path; for one provider its name and often its log type) is held once for all rows.
fn categorical_column(name: &str, ids: Vec<Option<u32>>, dtype: DataType) -> Column {
    if let Some(first) = ids.first()
        && ids.iter().all(|id| id == first)
    {
        let one = UInt32Chunked::from_iter_options(name.into(), std::iter::once(*first));
        return Categorical32Chunked::from_cats_and_dtype(one, dtype)
            .into_column()
            .new_from_index(0, ids.len());
    }
    let physical = UInt32Chunked::from_iter_options(name.into(), ids.into_iter());
    Categorical32Chunked::from_cats_and_dtype(physical, dtype).into_column()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn raw_line_holds_four_bytes_and_a_line_past_u32_max_is_not_numbered() {
        let mut batch = EventBatch::new("big.ndjson");
        let event = Event {
            provider: "aws",
            time: Some(1_700_000_000_000_000),
            ..Event::default()
        };
        for (offset, line) in [(0, 7), (100, u64::from(u32::MAX)), (200, 1 << 33)] {
            let span = RawSpan {
                offset,
                len: 2,
                line,
            };
            batch.push(&event, b"{}", span, false);
        }
        let frame = batch.into_frame().unwrap();
        assert_eq!(frame.schema().as_ref(), &frame_schema());
        let lines: Vec<u32> = frame
            .column(RAW_LINE)
            .unwrap()
            .u32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(lines, [7, u32::MAX, 0]);
        // The offset still locates the record of the line that is not numbered.
        let offsets = frame.column(RAW_OFFSET).unwrap().u64().unwrap().get(2);
        assert_eq!(offsets, Some(200));
    }

    #[test]
    fn columns_null_in_every_row_of_a_batch_are_one_null_value() {
        let mut batch = EventBatch::new("trail.ndjson");
        for i in 0..3 {
            let id = format!("id-{i}");
            let event = Event {
                provider: "aws",
                time: Some(1_700_000_000_000_000 + i),
                event_id: Some(id.as_str().into()),
                ..Event::default()
            };
            let span = RawSpan {
                offset: i as u64,
                len: 2,
                line: i as u64 + 1,
            };
            batch.push(&event, b"{}", span, false);
        }
        let frame = batch.into_frame().unwrap();
        for name in [CORRELATION_ID, CITY, ACTOR_ID, SESSION] {
            let column = frame.column(name).unwrap();
            assert!(matches!(column, Column::Scalar(_)), "{name}");
            assert_eq!(column.null_count(), 3, "{name}");
        }
        // One value in every row: held once, read as that value in every row.
        for (name, value) in [(PROVIDER, "aws"), (SOURCE, "trail.ndjson")] {
            let column = frame.column(name).unwrap();
            assert!(matches!(column, Column::Scalar(_)), "{name}");
            for row in 0..3 {
                assert_eq!(column.get(row).unwrap().str_value(), value, "{name}");
            }
        }
        assert!(matches!(frame.column(EVENT_ID).unwrap(), Column::Series(_)));
        assert_eq!(frame.schema().as_ref(), &frame_schema());
    }
}
