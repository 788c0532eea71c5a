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
use super::event::{Ev, ROW, events, i64s_or, ids};
use super::principal::{ActorFacts, Principals};
pub(crate) use super::principal::{NO_ID as NO_ACTOR, PRINCIPAL};
use crate::config::{Config, Detect};
use crate::load::classify::Classifier;
use crate::net::Cidr;
use crate::schema::{
    ACTION, ACTOR, ACTOR_TYPE, Dictionaries, IDENTITY, OUTCOME, PRIVILEGED, PROVIDER, SERVICE, TIME,
};
use crate::{Error, Result};

/// The column added to the frame holding each row's action: its index in
/// [`Context::combos`].
pub(crate) const KEY: &str = "__action";

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
    /// Per entry of `combos`, the positions of its rows in `frame`.
    action_rows: ActionRows,
    /// Per actor: first and last time, events, actor type.
    pub stats: HashMap<String, ActorStat>,
    /// Actors with successful privileged actions in the data.
    pub privileged_actors: HashSet<String>,
    /// Whose habits each actor's events are ([`Principals`]); the frame's [`PRINCIPAL`]
    /// column numbers them per row.
    pub principals: Principals,
    /// Per frame position, the integers the rules' own passes over every row read.
    pub per_row: PerRow,
    /// Per categorical column, the name of each dictionary id (indexed by id: rules look
    /// names up millions of times).
    names: Vec<(&'static str, Vec<Option<String>>)>,
    automation: Vec<regex::Regex>,
    breakglass: Vec<regex::Regex>,
    trusted: Vec<Cidr>,
}

/// Per frame position of [`Context::frame`], the integers that passes over every row read
/// (a plain loop over these costs less than a Polars expression and its masks).
#[derive(Debug, Default)]
pub struct PerRow {
    /// The row in the frame the rules were given ([`ROW`]).
    pub row: Vec<u32>,
    /// Event time (µs; every row of the rules' frame has one).
    pub time: Vec<i64>,
    /// Actor dictionary id ([`NO_ACTOR`] for none).
    pub actor: Vec<u32>,
    /// Principal number ([`NO_ACTOR`] for none).
    pub principal: Vec<u32>,
    /// The action's index in [`Context::combos`].
    pub action: Vec<u32>,
    /// Whether the event succeeded (outcome `success`).
    pub success: Vec<bool>,
    /// Whether the event is privileged (null: not).
    pub privileged: Vec<bool>,
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
    /// The combined physical key: the provider's dictionary id << 48, the service's << 24,
    /// the action's.
    pub key: u64,
    /// Provider name.
    pub provider: String,
    /// Service name ("" when none).
    pub service: String,
    /// Action name ("" when none).
    pub action: String,
}

/// The rows of each distinct action, by its index in [`Context::combos`]: a rule selecting
/// a few actions reads their rows without testing every row of the frame.
#[derive(Debug, Default)]
struct ActionRows {
    /// Where each action's rows start in `positions` (one more entry than actions).
    starts: Vec<usize>,
    /// Frame positions, grouped by action, in frame order within each.
    positions: Vec<IdxSize>,
}

impl ActionRows {
    /// Groups the rows by `action_of_row` (each row's action index, below `actions`).
    fn new(action_of_row: &[u32], actions: usize) -> ActionRows {
        let mut starts = vec![0usize; actions + 1];
        for a in action_of_row {
            starts[*a as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut positions = vec![0 as IdxSize; action_of_row.len()];
        for (row, a) in action_of_row.iter().enumerate() {
            let slot = &mut next[*a as usize];
            positions[*slot] = row as IdxSize;
            *slot += 1;
        }
        ActionRows { starts, positions }
    }

    /// The positions of the rows of these actions, in frame order.
    fn of(&self, actions: &[usize]) -> Vec<IdxSize> {
        let mut rows: Vec<IdxSize> = Vec::new();
        for a in actions {
            if let (Some(from), Some(to)) = (self.starts.get(*a), self.starts.get(a + 1)) {
                rows.extend_from_slice(&self.positions[*from..*to]);
            }
        }
        rows.sort_unstable();
        rows
    }
}

const NO_ID: u64 = (1 << 24) - 1;

impl<'a> Context<'a> {
    /// Prepares a frame for the rules: one pass over the dictionary ids of the actor and
    /// action columns (integers in plain vectors) gives the actions, the actor statistics
    /// and the rows of each action; the frame's own columns are shared, not copied.
    pub fn new(frame: &DataFrame, config: &'a Config) -> Result<Context<'a>> {
        let detect = &config.detect;
        let mut frame = frame
            .with_row_index(ROW.into(), None)
            .map_err(Error::polars("adding the row index"))?;
        if frame_has_null_times(&frame)? {
            let timed = frame
                .column(TIME)
                .map_err(Error::polars("reading times"))?
                .is_not_null();
            frame = frame
                .filter(&timed)
                .map_err(Error::polars("preparing the frame"))?;
        }
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
            action_rows: ActionRows::default(),
            per_row: PerRow::default(),
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
        ctx.index_actions()?;
        let actions = Column::new(KEY.into(), ctx.per_row.action.clone());
        ctx.frame
            .with_column(actions)
            .map_err(Error::polars("keying the actions"))?;
        ctx.actor_stats()?;
        let actors = (ctx.stats.iter())
            .map(|(name, s)| ActorFacts {
                name,
                id: s.id,
                identity: s.identity,
                non_human: s.non_human,
            })
            .collect();
        ctx.principals = Principals::new(actors, |id| ctx.name(IDENTITY, id));
        ctx.per_row.principal = ctx.principals.numbers(&ctx.per_row.actor);
        let column: UInt32Chunked = (ctx.per_row.principal.iter())
            .map(|p| (*p != NO_ACTOR).then_some(*p))
            .collect();
        ctx.frame
            .with_column(column.with_name(PRINCIPAL.into()).into_column())
            .map_err(Error::polars("numbering the principals"))?;
        Ok(ctx)
    }

    /// Fills [`Context::combos`], [`Context::action_rows`] and each row's action, reading
    /// one dictionary column at a time.
    fn index_actions(&mut self) -> Result<()> {
        // Each row's (provider, service, action) packed: the provider's dictionary id << 48,
        // the service's << 24, the action's (null ids as `NO_ID`).
        let mut keys = vec![0u64; self.frame.height()];
        for (column, shift) in [(PROVIDER, 48), (SERVICE, 24), (ACTION, 0)] {
            let values = ids(&self.frame, column, NO_ACTOR)?;
            for (key, id) in keys.iter_mut().zip(values) {
                let id = if id == NO_ACTOR { NO_ID } else { u64::from(id) };
                *key += id << shift;
            }
        }
        let mut number: HashMap<u64, u32, foldhash::fast::FixedState> = HashMap::default();
        let mut combo_of_row = Vec::with_capacity(keys.len());
        for key in &keys {
            let next = number.len() as u32;
            combo_of_row.push(*number.entry(*key).or_insert(next));
        }
        drop(keys);
        let mut combos = vec![0u64; number.len()];
        for (key, n) in &number {
            combos[*n as usize] = *key;
        }
        let name = |column: &'static str, id: u64| -> String {
            self.name(column, id as u32).unwrap_or_default().to_string()
        };
        self.combos = combos
            .into_iter()
            .map(|key| Combo {
                key,
                provider: name(PROVIDER, key >> 48),
                service: name(SERVICE, (key >> 24) & NO_ID),
                action: name(ACTION, key & NO_ID),
            })
            .collect();
        self.action_rows = ActionRows::new(&combo_of_row, self.combos.len());
        self.per_row.action = combo_of_row;
        Ok(())
    }

    /// Fills [`Context::stats`] and [`Context::privileged_actors`] in one pass over the
    /// rows (first identity and type of each actor in frame order).
    fn actor_stats(&mut self) -> Result<()> {
        // One column at a time: each is read, used and dropped (or kept as a per-row
        // vector) before the next.
        self.per_row.row = ids(&self.frame, ROW, 0)?;
        self.per_row.time = i64s_or(&self.frame, TIME, 0)?;
        self.per_row.actor = ids(&self.frame, ACTOR, NO_ACTOR)?;
        let success: HashSet<u32> = self
            .category_ids(OUTCOME, |o| o == "success")
            .into_iter()
            .collect();
        self.per_row.success = (ids(&self.frame, OUTCOME, NO_ACTOR)?.into_iter())
            .map(|o| o != NO_ACTOR && success.contains(&o))
            .collect();
        let privileged = (self.frame.column(PRIVILEGED))
            .map_err(Error::polars("reading a column"))?
            .bool()
            .map_err(Error::polars("reading a column"))?
            .iter()
            .map(|p| p == Some(true))
            .collect();
        self.per_row.privileged = privileged;
        let rows = &self.per_row;
        // Per actor dictionary id: (first, last, events, first row) of its rows.
        type Acc = (i64, i64, u64, usize);
        let mut acc: Vec<Option<Acc>> = Vec::new();
        let mut privileged_ids = HashSet::new();
        for (i, (&actor, &t)) in rows.actor.iter().zip(&rows.time).enumerate() {
            if actor == NO_ACTOR {
                continue;
            }
            let a = actor as usize;
            if acc.len() <= a {
                acc.resize(a + 1, None);
            }
            match &mut acc[a] {
                Some((first, last, n, _)) => {
                    *first = (*first).min(t);
                    *last = (*last).max(t);
                    *n += 1;
                }
                slot => *slot = Some((t, t, 1, i)),
            }
            if rows.privileged[i] && rows.success[i] {
                privileged_ids.insert(actor);
            }
        }
        // The identity and type of each actor's first row, read one column at a time.
        let first_of = |column: &'static str| -> Result<Vec<Option<u32>>> {
            let values = ids(&self.frame, column, NO_ACTOR)?;
            Ok((acc.iter())
                .map(|a| a.and_then(|(.., i)| values.get(i).copied()))
                .map(|v| v.filter(|v| *v != NO_ACTOR))
                .collect())
        };
        let (identities, kinds) = (first_of(IDENTITY)?, first_of(ACTOR_TYPE)?);
        let mut stats = HashMap::new();
        for (id, acc) in acc.into_iter().enumerate() {
            let (Some((first, last, events, _)), Some(name)) = (acc, self.name(ACTOR, id as u32))
            else {
                continue;
            };
            let kind = kinds[id]
                .and_then(|k| self.name(ACTOR_TYPE, k))
                .unwrap_or("");
            stats.insert(
                name.to_string(),
                ActorStat {
                    id: id as u32,
                    identity: identities[id],
                    first,
                    last,
                    events,
                    non_human: matches!(kind, "service" | "system"),
                    system: is_system_actor(name, kind),
                },
            );
        }
        self.privileged_actors = (privileged_ids.into_iter())
            .filter_map(|id| self.name(ACTOR, id).map(str::to_string))
            .collect();
        self.stats = stats;
        Ok(())
    }

    /// An actor's first event time.
    pub fn actor_first(&self, actor: &str) -> Option<i64> {
        self.stats.get(actor).map(|s| s.first)
    }

    /// The dictionary name of a physical id of a categorical column.
    pub fn name(&self, column: &'static str, id: u32) -> Option<&str> {
        let (_, by_id) = self.names.iter().find(|(c, _)| *c == column)?;
        by_id.get(id as usize)?.as_deref()
    }

    /// Rows whose (provider, service, action) passes `accept`.
    pub fn actions(&self, accept: impl Fn(&Combo) -> bool) -> Expr {
        let keys: Vec<u32> = (self.combos.iter().enumerate())
            .filter(|(_, c)| accept(c))
            .map(|(i, _)| i as u32)
            .collect();
        match keys.as_slice() {
            [] => lit(false),
            [k] => col(KEY).eq(lit(*k)),
            _ => col(KEY).is_in(lit(Series::new("keys".into(), keys)).implode(false), true),
        }
    }

    /// Rows whose categorical `column` holds a value passing `accept`.
    pub fn category(&self, column: &'static str, accept: impl Fn(&str) -> bool) -> Expr {
        crate::schema::has_category_id(column, self.category_ids(column, accept))
    }

    /// The dictionary ids of categorical `column` whose value passes `accept`.
    pub fn category_ids(&self, column: &'static str, accept: impl Fn(&str) -> bool) -> Vec<u32> {
        self.names
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, by_id)| {
                (by_id.iter().enumerate())
                    .filter(|(_, v)| v.as_deref().is_some_and(&accept))
                    .map(|(id, _)| id as u32)
                    .collect()
            })
            .unwrap_or_default()
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
        self.events(&df)
    }

    /// The events of these rows ([`ROW`] numbers, any order), in time order: read by
    /// position, without a pass over the frame.
    pub fn select_rows(&self, rows: &[u32]) -> Result<Vec<Ev>> {
        let mut positions: Vec<IdxSize> =
            rows.iter().filter_map(|r| self.position_of(*r)).collect();
        positions.sort_unstable();
        positions.dedup();
        self.select_positions(positions)
    }

    /// The events at these positions of [`Context::frame`] (ascending), in time order.
    pub(crate) fn select_positions(&self, positions: Vec<IdxSize>) -> Result<Vec<Ev>> {
        let df = self
            .frame
            .take(&IdxCa::from_vec(PlSmallStr::EMPTY, positions))
            .map_err(Error::polars("selecting events"))?;
        self.events(&df)
    }

    /// The position in [`Context::frame`] of a [`ROW`] number (rows without a time are
    /// not in it).
    pub fn position_of(&self, row: u32) -> Option<IdxSize> {
        let rows = &self.per_row.row;
        let at = match rows.get(row as usize) {
            // Without dropped rows, positions are the row numbers.
            Some(r) if *r == row => row as usize,
            _ => rows.binary_search(&row).ok()?,
        };
        Some(at as IdxSize)
    }

    /// The rows of `df` (a selection of [`Context::frame`]) as events, in time order.
    pub(crate) fn events(&self, df: &DataFrame) -> Result<Vec<Ev>> {
        events(df, |column, id| self.name(column, id))
    }

    /// The rows of the actions passing `accept` (all columns), then of those the rows
    /// passing each of `then` in turn: only the actions' rows are read, never a whole-frame
    /// mask, unless the actions cover most of the frame. Each filter reads only the columns
    /// it names; the rows passing all of them are then read whole, once (a rule over every
    /// action that keeps a few rows copies those rows, not the frame).
    pub fn action_frame(
        &self,
        accept: impl Fn(&Combo) -> bool,
        then: &[Expr],
    ) -> Result<DataFrame> {
        let accepted: Vec<usize> = (self.combos.iter().enumerate())
            .filter(|(_, c)| accept(c))
            .map(|(i, _)| i)
            .collect();
        let mut rows: Option<Vec<IdxSize>> =
            (accepted.len() != self.combos.len()).then(|| self.action_rows.of(&accepted));
        for then in then {
            // The filter's columns (and the row number, so a column-less filter sees the
            // rows' count) at the rows still selected.
            let mut names = then.clone().meta().root_names();
            names.push(ROW.into());
            names.sort_unstable();
            names.dedup();
            let mut narrow = self
                .frame
                .select(names)
                .map_err(Error::polars("selecting events"))?;
            if let Some(rows) = &rows {
                narrow = narrow
                    .take(&IdxCa::from_slice(PlSmallStr::EMPTY, rows))
                    .map_err(Error::polars("selecting events"))?;
            }
            let height = narrow.height();
            let mask = narrow
                .lazy()
                .select([then.clone().alias("__keep")])
                .collect()
                .map_err(Error::polars("selecting events"))?;
            let mask = mask
                .column("__keep")
                .map_err(Error::polars("selecting events"))?
                .bool()
                .map_err(Error::polars("selecting events"))?
                .clone();
            let keep = |i: usize| -> bool {
                // A filter that is one value (a literal) holds for every row.
                let at = if mask.len() == 1 { 0 } else { i };
                mask.get(at) == Some(true)
            };
            rows = Some(match rows {
                Some(rows) => (rows.into_iter().enumerate())
                    .filter(|(i, _)| keep(*i))
                    .map(|(_, r)| r)
                    .collect(),
                None => (0..height)
                    .filter(|i| keep(*i))
                    .map(|i| i as IdxSize)
                    .collect(),
            });
        }
        match rows {
            None => Ok(self.frame.clone()),
            Some(rows) => self
                .frame
                .take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))
                .map_err(Error::polars("selecting events")),
        }
    }

    /// [`Context::action_frame`] as events, in time order.
    pub fn select_actions(
        &self,
        accept: impl Fn(&Combo) -> bool,
        then: &[Expr],
    ) -> Result<Vec<Ev>> {
        self.events(&self.action_frame(accept, then)?)
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
        self.learned(stat.first, stat.events, stat.non_human)
    }

    /// Per principal number: its first event and when its learning ends, as
    /// [`Context::learn_end`] judges an actor, over all the principal's actor names together
    /// (a role's sessions, the person behind each account's SSO session).
    pub fn principal_histories(&self) -> Vec<PrincipalHistory> {
        let mut seen: Vec<(i64, u64)> = vec![(i64::MAX, 0); self.principals.count()];
        for stat in self.stats.values() {
            if let Some(p) = self.principals.of_id(stat.id)
                && let Some((first, events)) = seen.get_mut(p as usize)
            {
                *first = (*first).min(stat.first);
                *events += stat.events;
            }
        }
        (seen.into_iter().enumerate())
            .map(|(p, (first, events))| PrincipalHistory {
                first,
                learn_end: self.learned(first, events, self.principals.non_human(p as u32)),
            })
            .collect()
    }

    /// When the learning of a history starting at `first` with `events` events ends.
    fn learned(&self, first: i64, events: u64, non_human: bool) -> Option<i64> {
        let days = if non_human {
            self.config.nhi_learn_days
        } else {
            self.config.learn_days
        };
        (events >= u64::from(self.config.learn_events)).then(|| first + i64::from(days) * DAY)
    }
}

/// A principal's history as the rules that judge principals read it.
#[derive(Debug, Clone, Copy)]
pub struct PrincipalHistory {
    /// Its first event.
    pub first: i64,
    /// When its learning period ends (None: too few events to have learned anything).
    pub learn_end: Option<i64>,
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
