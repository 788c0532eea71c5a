//! What every rule reads and none can change: the frame the rules run on (with a row index
//! and a combined action key), the `[detect]` configuration, the action classifications, the
//! data span, per-actor statistics, and the dictionary names behind the categorical columns.
//! Built once before the rules run; rules get it by shared reference.
//!
//! Rules select their events with the expressions built here (dictionary-level tests on the
//! categorical columns, one `is_in` over action keys), so only the rows a rule selected are
//! read one by one, as [`Ev`]s.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::DAY;
use super::event::{Ev, ROW, events, i64s, strings, u64s};
pub(crate) use super::principal::PRINCIPAL;
use super::principal::{ActorFacts, Principals};
use crate::config::{Config, Detect};
use crate::load::classify::Classifier;
use crate::net::Cidr;
use crate::schema::{
    ACTION, ACTOR, ACTOR_TYPE, Dictionaries, IDENTITY, OUTCOME, PRIVILEGED, PROVIDER, SERVICE, TIME,
};
use crate::{Error, Result};

/// The combined (provider, service, action) key column added to the frame ([`combo_key`]).
pub(crate) const KEY: &str = "__key";

/// What every rule may read: the frame (with [`ROW`] and [`KEY`]), the configuration, the
/// dictionary names, the data span and per-actor facts.
pub struct Context<'a> {
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
    /// Actors with successful privileged actions in the data.
    pub privileged_actors: HashSet<String>,
    /// Whose habits each actor's events are ([`Principals`]); the frame's [`PRINCIPAL`]
    /// column numbers them per row.
    pub principals: Principals,
    /// Per categorical column, the name of each dictionary id (indexed by id: rules look
    /// names up millions of times).
    names: Vec<(&'static str, Vec<Option<String>>)>,
    automation: Vec<regex::Regex>,
    breakglass: Vec<regex::Regex>,
    trusted: Vec<Cidr>,
}

/// What the data says about one actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActorStat {
    /// The actor's dictionary id.
    pub id: u32,
    /// Its resolved identity's dictionary id.
    pub identity: Option<u32>,
    /// First event (µs).
    pub first: i64,
    /// Last event (µs).
    pub last: i64,
    /// Events.
    pub events: u64,
    /// Service or system identity.
    pub non_human: bool,
    /// The platform itself: AWS services, Kubernetes nodes, controllers and control plane
    /// (`system:*` but service accounts outside kube-system). Never medium on an anomaly
    /// alone.
    pub system: bool,
}

/// Whether an actor is the platform itself ([`ActorStat::system`]), by its type or its
/// Kubernetes name (Panther's `is_system_principal`).
pub fn is_system_actor(name: &str, kind: &str) -> bool {
    kind == "system"
        || name.strip_prefix("system:").is_some_and(|rest| {
            rest.strip_prefix("serviceaccount:")
                .is_none_or(|sa| sa.starts_with("kube-system:"))
        })
        || name.starts_with("eks:")
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

impl<'a> Context<'a> {
    /// Prepares a frame for the rules.
    pub fn new(frame: &DataFrame, config: &'a Config) -> Result<Context<'a>> {
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
        let mut names = Vec::new();
        for column in crate::schema::CATEGORICAL_COLUMNS {
            let mut by_id: Vec<Option<String>> = Vec::new();
            for (id, name) in Dictionaries::shared().category_values(column) {
                let id = id as usize;
                if by_id.len() <= id {
                    by_id.resize(id + 1, None);
                }
                by_id[id] = Some(name);
            }
            names.push((column, by_id));
        }
        let span = time_span(&frame)?;
        let destructive = Classifier::from_config(&Config {
            privileged: detect.destructive.clone(),
            ..Config::default()
        })?;
        let globs = |list: &[String]| -> Result<Vec<regex::Regex>> {
            list.iter().map(|g| glob_regex(g)).collect()
        };
        let mut ctx = Context {
            frame,
            config: detect,
            classifier: Classifier::from_config(config)?,
            destructive,
            span,
            combos: Vec::new(),
            privileged_actors: HashSet::new(),
            principals: Principals::default(),
            stats: HashMap::new(),
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
        let actors = (ctx.stats.iter())
            .map(|(name, s)| ActorFacts {
                name,
                id: s.id,
                identity: s.identity,
                non_human: s.non_human,
            })
            .collect();
        ctx.principals = Principals::new(actors, |id| ctx.name(IDENTITY, id));
        let column = ctx.principals.column(&ctx.frame)?;
        ctx.frame
            .with_column(column)
            .map_err(Error::polars("numbering the principals"))?;
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
                col(IDENTITY).to_physical().first().alias(IDENTITY),
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
        let identities = u64s(&df, IDENTITY)?;
        let mut out = HashMap::new();
        for i in 0..df.height() {
            let Some(name) = ids[i].and_then(|id| self.name(ACTOR, id as u32)) else {
                continue;
            };
            out.insert(
                name.to_string(),
                ActorStat {
                    id: ids[i].unwrap_or(0) as u32,
                    identity: identities[i].map(|id| id as u32),
                    first: first[i].unwrap_or(0),
                    last: last[i].unwrap_or(0),
                    events: n[i].unwrap_or(0),
                    non_human: matches!(kinds[i].as_str(), "service" | "system"),
                    system: is_system_actor(name, &kinds[i]),
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
        let (_, by_id) = self.names.iter().find(|(c, _)| *c == column)?;
        by_id.get(id as usize)?.as_deref()
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
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, by_id)| {
                (by_id.iter().enumerate())
                    .filter(|(_, v)| v.as_deref().is_some_and(&accept))
                    .map(|(id, _)| id as u32)
                    .collect()
            })
            .unwrap_or_default();
        crate::schema::has_category_id(column, ids)
    }

    /// The selected rows as events, in time order.
    pub fn select(&self, predicate: Expr) -> Result<Vec<Ev>> {
        self.select_then(predicate, None)
    }

    /// [`Context::select`], then `then` over the selected rows only: for a test dearer
    /// than the selection (a text search in `details`) or one that drops most of what it
    /// selected before the events are read into [`Ev`]s.
    pub fn select_then(&self, predicate: Expr, then: Option<Expr>) -> Result<Vec<Ev>> {
        let mut df = self
            .frame
            .clone()
            .lazy()
            .filter(predicate)
            .collect()
            .map_err(Error::polars("selecting events"))?;
        if let Some(then) = then {
            df = df
                .lazy()
                .filter(then)
                .collect()
                .map_err(Error::polars("selecting events"))?;
        }
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

    /// When an actor's learning period ends: `learn_days` (`nhi_learn_days` for non-human
    /// identities) after its first event, if it has at least `learn_events` events.
    pub fn learn_end(&self, actor: &str) -> Option<i64> {
        let stat = self.stats.get(actor)?;
        let days = if stat.non_human {
            self.config.nhi_learn_days
        } else {
            self.config.learn_days
        };
        (stat.events >= u64::from(self.config.learn_events))
            .then(|| stat.first + i64::from(days) * DAY)
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

/// Sign-in actions of every provider.
pub(crate) fn is_signin(c: &Combo) -> bool {
    match c.provider.as_str() {
        "aws" => c.action == "ConsoleLogin",
        "entra" => c.action == "Sign-in",
        "okta" => c.action == "user.session.start" || c.action.starts_with("user.authentication."),
        "gcp" => c.action.starts_with("google.login.LoginService.login"),
        "github" => c.action == "user.failed_login" || c.action == "user.login",
        _ => false,
    }
}
