//! The identity inventory: every actor of the selected events with what it did, as a table
//! ([`inventory_table`], its columns named by the constants below) and as typed rows
//! ([`Identity`]) for views.

use polars::prelude::*;

use crate::schema::{ACTOR, ACTOR_TYPE, OUTCOME, Outcome, PRIVILEGED, PROVIDER, SRC_IP, TIME};
use crate::{Error, Result};

use super::keys::micros;
use super::{InventorySpec, Spec};

/// Inventory column: the actor's earliest event time.
pub const FIRST_SEEN: &str = "first_seen";
/// Inventory column: the actor's latest event time.
pub const LAST_SEEN: &str = "last_seen";
/// Inventory column: the actor's events.
pub const EVENTS: &str = "events";
/// Inventory column: the actor's privileged actions.
pub const PRIVILEGED_ACTIONS: &str = "privileged_actions";
/// Inventory column: the actor's failed actions.
pub const FAILURES: &str = "failures";
/// Inventory column: distinct source addresses the actor acted from.
pub const DISTINCT_IPS: &str = "distinct_ips";

impl Spec for InventorySpec {
    type Output = Vec<Identity>;

    fn columns(&self) -> Vec<&str> {
        vec![
            ACTOR, ACTOR_TYPE, PROVIDER, TIME, PRIVILEGED, OUTCOME, SRC_IP,
        ]
    }

    fn compute(&self, events: &DataFrame) -> Result<Vec<Identity>> {
        inventory(events, self)
    }
}

/// One identity of the inventory, as stored (not escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The actor.
    pub actor: String,
    /// Its type (`human`, `service`, ...) on its first event; empty when unknown.
    pub actor_type: String,
    /// The provider of its first event.
    pub provider: String,
    /// Its earliest event time.
    pub first: Option<i64>,
    /// Its latest event time.
    pub last: Option<i64>,
    /// Its events.
    pub events: u64,
    /// Its privileged actions.
    pub privileged: u64,
    /// Its failed actions.
    pub failures: u64,
    /// Distinct source addresses.
    pub distinct_ips: u64,
}

impl Identity {
    /// Human or non-human, from the actor type.
    pub fn kind(&self) -> &'static str {
        match self.actor_type.as_str() {
            "human" => "human",
            "service" | "system" => "non-human",
            "root" => "root",
            "anonymous" => "anonymous",
            _ => "unknown",
        }
    }
}

/// A column of the inventory, to order identities by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InventoryColumn {
    /// The actor's name.
    Actor,
    /// Human, non-human, root, ...
    Kind,
    /// Events.
    Events,
    /// Privileged actions.
    Privileged,
    /// Failed actions.
    Failures,
    /// Distinct source addresses.
    Ips,
    /// Earliest event.
    FirstSeen,
    /// Latest event.
    LastSeen,
    /// Provider of the first event.
    Provider,
}

impl InventoryColumn {
    /// Every column, in the order the inventory shows them.
    pub const ALL: [InventoryColumn; 9] = [
        InventoryColumn::Actor,
        InventoryColumn::Kind,
        InventoryColumn::Events,
        InventoryColumn::Privileged,
        InventoryColumn::Failures,
        InventoryColumn::Ips,
        InventoryColumn::FirstSeen,
        InventoryColumn::LastSeen,
        InventoryColumn::Provider,
    ];
}

/// Orders two identities by a column (ties by name, ascending whatever the direction).
pub fn compare(
    a: &Identity,
    b: &Identity,
    column: InventoryColumn,
    descending: bool,
) -> std::cmp::Ordering {
    let order = match column {
        InventoryColumn::Actor => a.actor.cmp(&b.actor),
        InventoryColumn::Kind => a.kind().cmp(b.kind()),
        InventoryColumn::Events => a.events.cmp(&b.events),
        InventoryColumn::Privileged => a.privileged.cmp(&b.privileged),
        InventoryColumn::Failures => a.failures.cmp(&b.failures),
        InventoryColumn::Ips => a.distinct_ips.cmp(&b.distinct_ips),
        InventoryColumn::FirstSeen => a.first.cmp(&b.first),
        InventoryColumn::LastSeen => a.last.cmp(&b.last),
        InventoryColumn::Provider => a.provider.cmp(&b.provider),
    };
    let order = if descending { order.reverse() } else { order };
    order.then_with(|| a.actor.cmp(&b.actor))
}

/// Every identity in the selected events with what it did, most active first (ties by name).
pub fn inventory(frame: &DataFrame, _spec: &InventorySpec) -> Result<Vec<Identity>> {
    Ok(identities(&inventory_table(frame)?))
}

/// Every identity in a frame with what it did: the actor, its type and provider, then
/// [`FIRST_SEEN`], [`LAST_SEEN`], [`EVENTS`], [`PRIVILEGED_ACTIONS`], [`FAILURES`] and
/// [`DISTINCT_IPS`]; most active first, ties by name.
pub fn inventory_table(frame: &DataFrame) -> Result<DataFrame> {
    frame
        .clone()
        .lazy()
        .filter(col(ACTOR).is_not_null())
        .group_by([col(ACTOR)])
        .agg([
            col(ACTOR_TYPE).first().alias(ACTOR_TYPE),
            col(PROVIDER).first().alias(PROVIDER),
            col(TIME).min().alias(FIRST_SEEN),
            col(TIME).max().alias(LAST_SEEN),
            len().cast(DataType::UInt64).alias(EVENTS),
            col(PRIVILEGED)
                .sum()
                .cast(DataType::UInt64)
                .alias(PRIVILEGED_ACTIONS),
            col(OUTCOME)
                .cast(DataType::String)
                .eq(lit(Outcome::Failure.as_str()))
                .sum()
                .cast(DataType::UInt64)
                .alias(FAILURES),
            col(SRC_IP)
                .drop_nulls()
                .n_unique()
                .cast(DataType::UInt64)
                .alias(DISTINCT_IPS),
        ])
        // Ties by name: group-by order varies from run to run.
        .sort_by_exprs(
            [col(EVENTS), col(ACTOR).cast(DataType::String)],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false])
                .with_nulls_last(true),
        )
        .collect()
        .map_err(Error::polars("listing actors"))
}

/// The rows of an [`inventory_table`], typed.
pub fn identities(table: &DataFrame) -> Vec<Identity> {
    let column = |name: &str| table.column(name).ok();
    let (actor, kind, provider) = (column(ACTOR), column(ACTOR_TYPE), column(PROVIDER));
    let (first, last) = (column(FIRST_SEEN), column(LAST_SEEN));
    let (events, privileged) = (column(EVENTS), column(PRIVILEGED_ACTIONS));
    let (failures, ips) = (column(FAILURES), column(DISTINCT_IPS));
    let text = |c: &Option<&Column>, i: usize| -> String {
        c.and_then(|c| c.get(i).ok())
            .map(|v| match v {
                AnyValue::Null => String::new(),
                v => v.str_value().into_owned(),
            })
            .unwrap_or_default()
    };
    let number = |c: &Option<&Column>, i: usize| -> u64 {
        c.and_then(|c| c.get(i).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0)
    };
    let time = |c: &Option<&Column>, i: usize| c.and_then(|c| c.get(i).ok()).and_then(micros);
    (0..table.height())
        .map(|i| Identity {
            actor: text(&actor, i),
            actor_type: text(&kind, i),
            provider: text(&provider, i),
            first: time(&first, i),
            last: time(&last, i),
            events: number(&events, i),
            privileged: number(&privileged, i),
            failures: number(&failures, i),
            distinct_ips: number(&ips, i),
        })
        .collect()
}
