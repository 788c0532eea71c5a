//! Detection engine: rules over the normalized frame that turn events into explained
//! [`Finding`]s. Knows nothing of output: the CLI (`report`) and the TUI present findings.
//!
//! Rules select their events with Polars expressions (dictionary-level tests on the
//! categorical columns, `str().contains` on `details`) and learn baselines with group-bys
//! over the whole frame; only the few rows a rule selected are looked at one by one, to
//! word the reason. Families: [`single`], [`identity`] and [`kubernetes`] (dangerous
//! whatever the context), [`window`]
//! (bursts: failures, spraying, destruction, denials), [`baseline`] (each actor's own
//! history: working hours, dormancy, first-seen sources, rare actions, travel, services),
//! [`integrity`] (log sources gone silent, altered copies, clocks),
//! [`lifecycle`] (temporary grants and service credentials that should have ended) and
//! [`creep`] (privileges piling up) pair grants with their ends ([`grants`]).

pub mod baseline;
pub mod creep;
pub mod grants;
pub mod identity;
pub mod integrity;
pub mod kubernetes;
pub mod lifecycle;
pub mod single;
pub mod travel;
pub mod window;

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use crate::Result;
use crate::config::{Config, Detect};
use crate::load::classify::Classifier;
use crate::net::Cidr;
use crate::schema::{
    ACCOUNT, ACTION, ACTOR, ACTOR_TYPE, DETAILS, Dictionaries, ERROR, EVENT_ID, LOCATION, LOG_TYPE,
    MFA, OUTCOME, PRIVILEGED, PROVIDER, READ_ONLY, RESOURCE, SERVICE, SRC_IP, TIME, USER_AGENT,
};
use crate::{Error, config};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Context worth knowing.
    Info,
    /// Unusual, rarely harmful.
    Low,
    /// Worth a look.
    Medium,
    /// Likely harmful.
    High,
    /// Act now.
    Critical,
}

impl Severity {
    /// The lowercase name (`info` ... `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(name: &str) -> Option<Severity> {
        match name.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// One step more severe (critical stays critical).
    pub fn up(self) -> Severity {
        match self {
            Severity::Info => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            _ => Severity::Critical,
        }
    }

    /// One step less severe (info stays info).
    pub fn down(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// One explained detection: the events behind it and why they matter.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Rule id (`audit-log-tampering`).
    pub rule: String,
    /// Short title for lists.
    pub title: String,
    /// How much it matters.
    pub severity: Severity,
    /// Time of the first event behind it (µs since the epoch, UTC).
    pub time: Option<i64>,
    /// The principal it is about.
    pub actor: String,
    /// The provider of the events.
    pub provider: String,
    /// The provider's own ids of every event behind it.
    pub event_ids: Vec<String>,
    /// Row indices of those events in the frame the rules ran on.
    pub rows: Vec<u32>,
    /// How many events are behind it.
    pub count: u64,
    /// Why, with the evidence, for a person.
    pub reason: String,
    /// MITRE ATT&CK technique ids (`T1562.008`).
    pub mitre: Vec<String>,
}

/// What a rule is: its id, title, technique and family, for the catalogue and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id (`audit-log-tampering`), the key of `[detect.rules.<id>]`.
    pub id: &'static str,
    /// Title of its findings.
    pub title: &'static str,
    /// MITRE ATT&CK techniques.
    pub mitre: &'static [&'static str],
    /// Default severity (before escalation).
    pub severity: Severity,
    /// What it looks for, in one line.
    pub summary: &'static str,
}

/// A detection rule.
pub trait Rule {
    /// What the rule is.
    fn info(&self) -> &'static RuleInfo;
    /// Runs the rule over the context's frame.
    fn run(&self, ctx: &mut Ctx<'_>) -> Result<Vec<Finding>>;
}

/// Every built-in rule, in the order they run (single-event rules first: behavioural rules
/// escalate when a row was already judged dangerous).
pub fn rules() -> Vec<Box<dyn Rule>> {
    let mut all = single::rules();
    all.extend(window::rules());
    all.extend(baseline::rules());
    all.extend(lifecycle::rules());
    all.extend(creep::rules());
    all.extend(integrity::rules());
    all
}

/// The catalogue of built-in rules.
pub fn catalogue() -> Vec<&'static RuleInfo> {
    rules().iter().map(|r| r.info()).collect()
}

/// Runs every enabled rule over a frame; findings sorted by time.
pub fn run(frame: &DataFrame, config: &Config) -> Result<Vec<Finding>> {
    run_timed(frame, config).map(|(findings, _)| findings)
}

/// How long each phase of a run took: `prepare`, `baselines`, then each rule id.
pub type Timings = Vec<(&'static str, std::time::Duration)>;

/// [`run`], also returning the time each phase took.
pub fn run_timed(frame: &DataFrame, config: &Config) -> Result<(Vec<Finding>, Timings)> {
    let mut timings = Vec::new();
    let started = std::time::Instant::now();
    let all = rules();
    let known: HashSet<&str> = all.iter().map(|r| r.info().id).collect();
    if let Some(id) = config
        .detect
        .rules
        .keys()
        .find(|k| !known.contains(k.as_str()))
    {
        return Err(Error::Invalid(format!(
            "unknown rule '{id}' in [detect.rules]; rules: {}",
            all.iter()
                .map(|r| r.info().id)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut ctx = Ctx::new(frame, config)?;
    timings.push(("prepare", started.elapsed()));
    let mut findings = Vec::new();
    for rule in &all {
        let info = rule.info();
        let settings = config.detect.rules.get(info.id);
        if settings.is_some_and(|s| !s.enabled) {
            continue;
        }
        if ctx.baselines.get().is_none() && baseline::uses_baselines(info.id) {
            let started = std::time::Instant::now();
            ctx.baselines()?;
            timings.push(("baselines", started.elapsed()));
        }
        let started = std::time::Instant::now();
        let mut found = rule.run(&mut ctx)?;
        timings.push((info.id, started.elapsed()));
        let fixed = settings
            .and_then(|s| s.severity.as_deref())
            .and_then(Severity::parse);
        for f in &mut found {
            if let Some(sev) = fixed {
                f.severity = sev;
            }
            for row in &f.rows {
                let slot = ctx.flagged.entry(*row).or_insert(f.severity);
                *slot = (*slot).max(f.severity);
            }
        }
        findings.extend(found);
    }
    findings.sort_by(|a, b| {
        (a.time, b.severity, &a.rule, &a.actor).cmp(&(b.time, a.severity, &b.rule, &b.actor))
    });
    Ok((findings, timings))
}

/// Findings at or above a severity.
pub fn at_least(findings: &[Finding], min: Severity) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.severity >= min)
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------------
// The context rules share
// ---------------------------------------------------------------------------------------

/// The row-index column added to the frame the rules see.
pub(crate) const ROW: &str = "__row";
/// The combined (provider, service, action) key column added to it ([`combo_key`]).
pub(crate) const KEY: &str = "__key";
/// Time units in microseconds, for the rules (`super::DAY`).
pub(crate) use crate::time::{DAY, HOUR, MINUTE};

/// What every rule may read: the frame (with [`ROW`]), the configuration, the dictionary
/// names, the data span, and what earlier rules flagged.
pub struct Ctx<'a> {
    /// The frame with a row index, rows with a time only.
    pub frame: DataFrame,
    /// The `[detect]` configuration.
    pub config: &'a Detect,
    /// The privileged-action classification (for the critical tier).
    pub classifier: Classifier,
    /// The destructive-action classification.
    pub destructive: Classifier,
    /// First and last event time.
    pub span: (i64, i64),
    /// Distinct (provider, service, action) of the frame, with their names.
    pub combos: Vec<Combo>,
    /// Per actor: first and last time, events, actor type.
    pub stats: HashMap<String, ActorStat>,
    /// Baselines of the behavioural rules, computed on first use.
    pub(crate) baselines: std::cell::OnceCell<baseline::Baselines>,
    /// Actors with successful privileged actions in the data.
    pub privileged_actors: HashSet<String>,
    /// Rows already flagged, with the highest severity given to them.
    pub flagged: HashMap<u32, Severity>,
    /// Rows flagged by behavioural rules, by kind (`offhours`, `first-seen`, `dormant`).
    pub anomalies: HashMap<u32, Vec<&'static str>>,
    names: HashMap<&'static str, HashMap<u32, String>>,
    automation: Vec<regex::Regex>,
    breakglass: Vec<regex::Regex>,
    trusted: Vec<Cidr>,
}

/// What the data says about one actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActorStat {
    /// First event (µs).
    pub first: i64,
    /// Last event (µs).
    pub last: i64,
    /// Events.
    pub events: u64,
    /// Service or system identity.
    pub non_human: bool,
}

/// One distinct (provider, service, action) of the frame.
#[derive(Debug, Clone)]
pub struct Combo {
    /// The combined physical key ([`combo_key`]).
    pub key: u64,
    /// Provider name.
    pub provider: String,
    /// Service name ("" when none).
    pub service: String,
    /// Action name ("" when none).
    pub action: String,
}

const NO_ID: u64 = (1 << 24) - 1;

/// The expression of the combined (provider, service, action) physical key.
pub(crate) fn combo_key() -> Expr {
    let id = |c: &str| {
        col(c)
            .to_physical()
            .cast(DataType::UInt64)
            .fill_null(lit(NO_ID))
    };
    id(PROVIDER) * lit(1u64 << 48) + id(SERVICE) * lit(1u64 << 24) + id(ACTION)
}

impl<'a> Ctx<'a> {
    /// Prepares a frame for the rules.
    pub fn new(frame: &DataFrame, config: &'a Config) -> Result<Ctx<'a>> {
        let detect = &config.detect;
        let frame = frame
            .with_row_index(ROW.into(), None)
            .map_err(Error::polars("adding the row index"))?;
        let null_times = frame_has_null_times(&frame)?;
        let mut lazy = frame.lazy().with_column(combo_key().alias(KEY));
        if null_times {
            lazy = lazy.filter(col(TIME).is_not_null());
        }
        let frame = lazy
            .collect()
            .map_err(Error::polars("preparing the frame"))?;
        let mut names = HashMap::new();
        for column in crate::schema::CATEGORICAL_COLUMNS {
            let map: HashMap<u32, String> = Dictionaries::shared()
                .category_values(column)
                .into_iter()
                .collect();
            names.insert(column, map);
        }
        let span = time_span(&frame)?;
        let destructive = Classifier::from_config(&Config {
            privileged: detect.destructive.clone(),
            ..Config::default()
        })?;
        let globs = |list: &[String]| -> Result<Vec<regex::Regex>> {
            list.iter().map(|g| glob_regex(g)).collect()
        };
        let mut ctx = Ctx {
            frame,
            config: detect,
            classifier: Classifier::from_config(config)?,
            destructive,
            span,
            combos: Vec::new(),
            privileged_actors: HashSet::new(),
            stats: HashMap::new(),
            baselines: std::cell::OnceCell::new(),
            flagged: HashMap::new(),
            anomalies: HashMap::new(),
            names,
            automation: globs(&detect.automation_actors)?,
            breakglass: globs(&detect.breakglass_actors)?,
            trusted: detect
                .trusted_cidrs
                .iter()
                .filter_map(|c| Cidr::parse(c))
                .collect(),
        };
        ctx.combos = ctx.distinct_combos()?;
        let success = ctx.category(OUTCOME, |o| o == "success");
        let actors = ctx
            .frame
            .clone()
            .lazy()
            .filter(
                col(PRIVILEGED)
                    .eq(lit(true))
                    .fill_null(lit(false))
                    .and(success),
            )
            .group_by([col(ACTOR).to_physical().alias(ACTOR)])
            .agg([len().alias("n")])
            .collect()
            .map_err(Error::polars("privileged actors"))?;
        ctx.privileged_actors = u64s(&actors, ACTOR)?
            .into_iter()
            .flatten()
            .filter_map(|id| ctx.name(ACTOR, id as u32).map(str::to_string))
            .collect();
        ctx.stats = ctx.actor_stats()?;
        Ok(ctx)
    }

    fn actor_stats(&self) -> Result<HashMap<String, ActorStat>> {
        let df = self
            .frame
            .clone()
            .lazy()
            .group_by([col(ACTOR).to_physical().alias(ACTOR)])
            .agg([
                col(TIME).min().alias("first"),
                col(TIME).max().alias("last"),
                len().alias("n"),
                col(ACTOR_TYPE)
                    .first()
                    .cast(DataType::String)
                    .alias(ACTOR_TYPE),
            ])
            .collect()
            .map_err(Error::polars("actor statistics"))?;
        let ids = u64s(&df, ACTOR)?;
        let (first, last, n) = (i64s(&df, "first")?, i64s(&df, "last")?, u64s(&df, "n")?);
        let kinds = strings(&df, ACTOR_TYPE)?;
        let mut out = HashMap::new();
        for i in 0..df.height() {
            let Some(name) = ids[i].and_then(|id| self.name(ACTOR, id as u32)) else {
                continue;
            };
            out.insert(
                name.to_string(),
                ActorStat {
                    first: first[i].unwrap_or(0),
                    last: last[i].unwrap_or(0),
                    events: n[i].unwrap_or(0),
                    non_human: matches!(kinds[i].as_str(), "service" | "system"),
                },
            );
        }
        Ok(out)
    }

    /// An actor's first event time.
    pub fn actor_first(&self, actor: &str) -> Option<i64> {
        self.stats.get(actor).map(|s| s.first)
    }

    fn distinct_combos(&self) -> Result<Vec<Combo>> {
        let grouped = self
            .frame
            .clone()
            .lazy()
            .group_by([col(KEY).alias("key")])
            .agg([len().alias("n")])
            .collect()
            .map_err(Error::polars("distinct actions"))?;
        let keys = u64s(&grouped, "key")?;
        let name = |column: &'static str, id: u64| -> String {
            self.name(column, id as u32).unwrap_or_default().to_string()
        };
        Ok(keys
            .into_iter()
            .flatten()
            .map(|key| Combo {
                key,
                provider: name(PROVIDER, key >> 48),
                service: name(SERVICE, (key >> 24) & NO_ID),
                action: name(ACTION, key & NO_ID),
            })
            .collect())
    }

    /// The dictionary name of a physical id of a categorical column.
    pub fn name(&self, column: &'static str, id: u32) -> Option<&str> {
        self.names.get(column)?.get(&id).map(String::as_str)
    }

    /// Rows whose (provider, service, action) passes `accept`.
    pub fn actions(&self, accept: impl Fn(&Combo) -> bool) -> Expr {
        let keys: Vec<u64> = self
            .combos
            .iter()
            .filter(|c| accept(c))
            .map(|c| c.key)
            .collect();
        match keys.as_slice() {
            [] => lit(false),
            [k] => col(KEY).eq(lit(*k)),
            _ => col(KEY).is_in(lit(Series::new("keys".into(), keys)).implode(false), true),
        }
    }

    /// Rows whose categorical `column` holds a value passing `accept`.
    pub fn category(&self, column: &'static str, accept: impl Fn(&str) -> bool) -> Expr {
        let ids: Vec<u32> = self
            .names
            .get(column)
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| accept(v))
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default();
        match ids.as_slice() {
            [] => lit(false),
            [id] => col(column).to_physical().eq_missing(lit(*id)),
            _ => col(column)
                .to_physical()
                .is_in(lit(Series::new(column.into(), ids)).implode(false), true),
        }
    }

    /// The selected rows as events, in time order.
    pub fn select(&self, predicate: Expr) -> Result<Vec<Ev>> {
        let df = self
            .frame
            .clone()
            .lazy()
            .filter(predicate)
            .collect()
            .map_err(Error::polars("selecting events"))?;
        events(&df)
    }

    /// Whether an actor is configured as automation.
    pub fn is_automation(&self, actor: &str) -> bool {
        self.automation.iter().any(|r| r.is_match(actor))
    }

    /// Whether an actor is a configured break-glass account.
    pub fn is_breakglass(&self, actor: &str) -> bool {
        self.breakglass.iter().any(|r| r.is_match(actor))
    }

    /// Whether a source address is in a trusted network.
    pub fn is_trusted(&self, ip: &str) -> bool {
        self.trusted.iter().any(|n| n.contains_text(ip))
    }

    /// Whether an event's action is in the critical tier: a row single-event rules judged
    /// high or critical.
    pub fn is_critical_tier(&self, row: u32) -> bool {
        self.flagged.get(&row).is_some_and(|s| *s >= Severity::High)
    }

    /// Marks rows with a behavioural anomaly, for later rules to combine.
    pub fn mark(&mut self, rows: &[u32], kind: &'static str) {
        for row in rows {
            let kinds = self.anomalies.entry(*row).or_default();
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }

    /// The behavioural anomalies already found on a row.
    pub fn anomalies_of(&self, row: u32) -> &[&'static str] {
        self.anomalies.get(&row).map(Vec::as_slice).unwrap_or(&[])
    }
}

fn frame_has_null_times(frame: &DataFrame) -> Result<bool> {
    Ok(frame
        .column(TIME)
        .map_err(Error::polars("reading times"))?
        .null_count()
        > 0)
}

fn time_span(frame: &DataFrame) -> Result<(i64, i64)> {
    let times = frame
        .column(TIME)
        .map_err(Error::polars("reading times"))?
        .as_materialized_series()
        .to_physical_repr();
    let ca = times.i64().map_err(Error::polars("reading times"))?;
    Ok((ca.min().unwrap_or(0), ca.max().unwrap_or(0)))
}

/// A glob (`*` any run) as a case-insensitive regex.
pub(crate) fn glob_regex(glob: &str) -> Result<regex::Regex> {
    let body: Vec<String> = glob.split('*').map(regex::escape).collect();
    regex::Regex::new(&format!("(?i)^{}$", body.join(".*")))
        .map_err(|e| Error::Invalid(format!("pattern '{glob}': {e}")))
}

// ---------------------------------------------------------------------------------------
// Selected events
// ---------------------------------------------------------------------------------------

/// One selected event, with the columns rules read as owned text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ev {
    /// Row in the frame the rules ran on.
    pub row: u32,
    /// UTC µs.
    pub time: i64,
    /// Provider.
    pub provider: String,
    /// Log type.
    pub log_type: String,
    /// Provider's event id.
    pub event_id: String,
    /// Actor.
    pub actor: String,
    /// Actor type.
    pub actor_type: String,
    /// Action.
    pub action: String,
    /// Service.
    pub service: String,
    /// Target.
    pub resource: String,
    /// Source address.
    pub src_ip: String,
    /// User agent.
    pub user_agent: String,
    /// Location.
    pub location: String,
    /// Outcome.
    pub outcome: String,
    /// Error.
    pub error: String,
    /// MFA used.
    pub mfa: Option<bool>,
    /// Read-only.
    pub read_only: Option<bool>,
    /// Privileged.
    pub privileged: bool,
    /// Account.
    pub account: String,
    /// Details (`key=value ...`).
    pub details: String,
}

impl Ev {
    /// A value of `details`.
    pub fn detail(&self, key: &str) -> Option<&str> {
        detail(&self.details, key)
    }

    /// Whether the event succeeded.
    pub fn ok(&self) -> bool {
        self.outcome == "success"
    }

    /// Whether the actor is a non-human identity.
    pub fn non_human(&self) -> bool {
        matches!(self.actor_type.as_str(), "service" | "system")
    }

    /// A short name of the actor (the last path segment of an ARN).
    pub fn who(&self) -> &str {
        short_actor(&self.actor)
    }
}

/// A short, readable name for an actor: the last segment of an ARN.
pub fn short_actor(actor: &str) -> &str {
    if actor.starts_with("arn:") {
        actor.rsplit('/').next().unwrap_or(actor)
    } else {
        actor
    }
}

/// The value of `key` in a `key=value ...` details text (values may hold spaces, and may
/// be quoted).
pub fn detail<'d>(details: &'d str, key: &str) -> Option<&'d str> {
    let mut search = 0;
    while let Some(found) = details[search..].find(key) {
        let at = search + found;
        let after = at + key.len();
        let starts = at == 0 || details.as_bytes().get(at - 1) == Some(&b' ');
        if starts && details.as_bytes().get(after) == Some(&b'=') {
            let rest = &details[after + 1..];
            let end = next_key(rest).unwrap_or(rest.len());
            let value = rest[..end].trim();
            return Some(value.trim_matches('"'));
        }
        search = after;
    }
    None
}

/// Where the next ` key=` starts in a details value.
fn next_key(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    while let Some(space) = rest[i..].find(' ') {
        let start = i + space + 1;
        let mut j = start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        if j > start && bytes.get(j) == Some(&b'=') {
            return Some(start - 1);
        }
        i = start;
    }
    None
}

pub(crate) fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let column = df
        .column(name)
        .map_err(Error::polars("reading a column"))?
        .cast(&DataType::String)
        .map_err(Error::polars("reading a column"))?;
    let ca = column.str().map_err(Error::polars("reading a column"))?;
    Ok(ca
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

fn bools(df: &DataFrame, name: &str) -> Result<Vec<Option<bool>>> {
    let column = df.column(name).map_err(Error::polars("reading a column"))?;
    let ca = column.bool().map_err(Error::polars("reading a column"))?;
    Ok(ca.iter().collect())
}

/// A column as optional `i64`s (times as µs).
pub(crate) fn i64s(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let series = df
        .column(name)
        .map_err(Error::polars("reading a column"))?
        .as_materialized_series()
        .to_physical_repr()
        .cast(&DataType::Int64)
        .map_err(Error::polars("reading a column"))?;
    let ca = series.i64().map_err(Error::polars("reading a column"))?;
    Ok(ca.iter().collect())
}

/// A column as optional `u64`s (physical ids, counts).
pub(crate) fn u64s(df: &DataFrame, name: &str) -> Result<Vec<Option<u64>>> {
    let series = df
        .column(name)
        .map_err(Error::polars("reading a column"))?
        .as_materialized_series()
        .to_physical_repr()
        .cast(&DataType::UInt64)
        .map_err(Error::polars("reading a column"))?;
    let ca = series.u64().map_err(Error::polars("reading a column"))?;
    Ok(ca.iter().collect())
}

fn events(df: &DataFrame) -> Result<Vec<Ev>> {
    let rows = u64s(df, ROW)?;
    let times = i64s(df, TIME)?;
    let text = |name| strings(df, name);
    let (provider, log_type, event_id, actor, actor_type) = (
        text(PROVIDER)?,
        text(LOG_TYPE)?,
        text(EVENT_ID)?,
        text(ACTOR)?,
        text(ACTOR_TYPE)?,
    );
    let (action, service, resource, src_ip, user_agent) = (
        text(ACTION)?,
        text(SERVICE)?,
        text(RESOURCE)?,
        text(SRC_IP)?,
        text(USER_AGENT)?,
    );
    let (location, outcome, error, account, details) = (
        text(LOCATION)?,
        text(OUTCOME)?,
        text(ERROR)?,
        text(ACCOUNT)?,
        text(DETAILS)?,
    );
    let (mfa, read_only, privileged) = (
        bools(df, MFA)?,
        bools(df, READ_ONLY)?,
        bools(df, PRIVILEGED)?,
    );
    let mut out: Vec<Ev> = (0..df.height())
        .map(|i| Ev {
            row: rows[i].unwrap_or(0) as u32,
            time: times[i].unwrap_or(0),
            provider: provider[i].clone(),
            log_type: log_type[i].clone(),
            event_id: event_id[i].clone(),
            actor: actor[i].clone(),
            actor_type: actor_type[i].clone(),
            action: action[i].clone(),
            service: service[i].clone(),
            resource: resource[i].clone(),
            src_ip: src_ip[i].clone(),
            user_agent: user_agent[i].clone(),
            location: location[i].clone(),
            outcome: outcome[i].clone(),
            error: error[i].clone(),
            mfa: mfa[i],
            read_only: read_only[i],
            privileged: privileged[i].unwrap_or(false),
            account: account[i].clone(),
            details: details[i].clone(),
        })
        .collect();
    out.sort_by_key(|e| (e.time, e.row));
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Building findings
// ---------------------------------------------------------------------------------------

/// One event a rule judged, with its severity and reason.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The event.
    pub ev: Ev,
    /// How much it matters.
    pub severity: Severity,
    /// Why, for a person.
    pub reason: String,
}

/// A finding over `events` (at least one).
pub fn finding(info: &RuleInfo, severity: Severity, events: &[&Ev], reason: String) -> Finding {
    let first = events.first();
    Finding {
        rule: info.id.to_string(),
        title: info.title.to_string(),
        severity,
        time: first.map(|e| e.time),
        actor: first.map(|e| e.actor.clone()).unwrap_or_default(),
        provider: first.map(|e| e.provider.clone()).unwrap_or_default(),
        event_ids: events.iter().map(|e| e.event_id.clone()).collect(),
        rows: events.iter().map(|e| e.row).collect(),
        count: events.len() as u64,
        reason,
        mitre: info.mitre.iter().map(|m| m.to_string()).collect(),
    }
}

/// Groups hits of one rule into findings: one per provider, actor and run of hits no more than
/// `gap` apart. The finding takes the highest severity, the reason of its most severe hit,
/// and says what else it covers.
pub fn group_hits(info: &RuleInfo, hits: Vec<Hit>, gap: i64) -> Vec<Finding> {
    group(info, hits, gap, true)
}

/// [`group_hits`] across providers (one actor's sign-ins in Entra and Okta, say).
pub fn group_hits_across(info: &RuleInfo, hits: Vec<Hit>, gap: i64) -> Vec<Finding> {
    group(info, hits, gap, false)
}

fn group(info: &RuleInfo, mut hits: Vec<Hit>, gap: i64, by_provider: bool) -> Vec<Finding> {
    hits.sort_by(|a, b| {
        if !by_provider {
            return (&a.ev.actor, a.ev.time).cmp(&(&b.ev.actor, b.ev.time));
        }
        (&a.ev.provider, &a.ev.actor, a.ev.time).cmp(&(&b.ev.provider, &b.ev.actor, b.ev.time))
    });
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=hits.len() {
        let split = i == hits.len()
            || hits[i].ev.actor != hits[i - 1].ev.actor
            || (by_provider && hits[i].ev.provider != hits[i - 1].ev.provider)
            || hits[i].ev.time - hits[i - 1].ev.time > gap;
        if split {
            out.push(merge(info, &hits[start..i]));
            start = i;
        }
    }
    out
}

fn merge(info: &RuleInfo, hits: &[Hit]) -> Finding {
    let top = hits
        .iter()
        .enumerate()
        .max_by_key(|(i, h)| (h.severity, std::cmp::Reverse(*i)))
        .map(|(_, h)| h);
    let severity = top.map_or(info.severity, |h| h.severity);
    let mut reason = top.map(|h| h.reason.clone()).unwrap_or_default();
    if hits.len() > 1 {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for h in hits {
            match counts.iter_mut().find(|(a, _)| *a == h.ev.action) {
                Some((_, n)) => *n += 1,
                None => counts.push((h.ev.action.clone(), 1)),
            }
        }
        let list: Vec<String> = counts
            .iter()
            .map(|(a, n)| {
                if *n > 1 {
                    format!("{a} ×{n}")
                } else {
                    a.clone()
                }
            })
            .collect();
        let minutes = (hits[hits.len() - 1].ev.time - hits[0].ev.time) / MINUTE;
        reason.push_str(&format!(
            " ({} events in {} min: {})",
            hits.len(),
            minutes,
            list.join(", ")
        ));
    }
    let events: Vec<&Ev> = hits.iter().map(|h| &h.ev).collect();
    finding(info, severity, &events, reason)
}

/// `HH:MM` UTC of a time.
pub fn hhmm_utc(us: i64) -> String {
    let t = us.rem_euclid(DAY) / MINUTE;
    format!("{:02}:{:02} UTC", t / 60, t % 60)
}

/// `YYYY-MM-DD HH:MM UTC` of a time.
pub fn when_utc(us: i64) -> String {
    let text = crate::text::format_time_utc(us);
    let mut out: String = text.chars().take(16).collect();
    out = out.replace('T', " ");
    out.push_str(" UTC");
    out
}

/// Minutes from a configured count.
pub(crate) fn minutes(n: u32) -> i64 {
    i64::from(n) * MINUTE
}

/// The zone named in the configuration, or UTC.
pub(crate) fn zone(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Working hours from the configuration (`config::parse_hours`), default 08:00-19:00.
pub(crate) fn hours_of(text: &str) -> (u32, u32) {
    config::parse_hours(text).unwrap_or((8 * 60, 19 * 60))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn details_values_are_found_with_spaces_and_quotes() {
        let d = "category=RoleManagement role=Global Administrator op_name=\"Create role\" x=1";
        assert_eq!(detail(d, "role"), Some("Global Administrator"));
        assert_eq!(detail(d, "category"), Some("RoleManagement"));
        assert_eq!(detail(d, "op_name"), Some("Create role"));
        assert_eq!(detail(d, "x"), Some("1"));
        assert_eq!(detail(d, "name"), None);
        assert_eq!(
            detail(
                "userName=a policyArn=arn:aws:iam::aws:policy/Admin",
                "policyArn"
            ),
            Some("arn:aws:iam::aws:policy/Admin")
        );
    }

    #[test]
    fn severities_step() {
        assert_eq!(Severity::Medium.up(), Severity::High);
        assert_eq!(Severity::Critical.up(), Severity::Critical);
        assert_eq!(Severity::Info.down(), Severity::Info);
        assert!(Severity::High > Severity::Medium);
    }

    #[test]
    fn rule_ids_are_unique_and_documented() {
        let all = catalogue();
        let ids: HashSet<&str> = all.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), all.len());
        assert!(
            all.iter()
                .all(|r| !r.summary.is_empty() && !r.title.is_empty())
        );
    }
}
