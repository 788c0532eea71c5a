//! What is derived for the rules rather than read from the events: the actors' baselines,
//! learned once before any rule runs, and what the rules of earlier stages found (the rows they
//! judged, the behavioural anomalies they marked). The engine fills it between stages; rules
//! only read it, so no rule sees what another rule of its own stage found, and the order of the
//! rules in the catalogue never changes a result.

use std::collections::HashMap;
use std::sync::Arc;

use super::Found;
use super::finding::Severity;
use super::history::Baselines;
use crate::{Error, Result};

/// A behavioural anomaly a rule marks on a row, for the rules of later stages to combine.
/// Ordered as they are listed in reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anomaly {
    /// A privileged action outside the actor's working pattern.
    OffHours,
    /// An event of a dormant identity's return.
    Dormant,
    /// A privileged action from a source new for the actor.
    FirstSeenSource,
}

impl Anomaly {
    /// How reasons name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Anomaly::OffHours => "off-hours",
            Anomaly::Dormant => "dormant",
            Anomaly::FirstSeenSource => "first-seen source",
        }
    }
}

/// What the rules of a stage read besides the [`super::Context`]: the baselines and what the earlier
/// stages found.
#[derive(Debug, Default, Clone)]
pub struct Derived {
    /// The actors' baselines, when an enabled rule reads them.
    baselines: Option<Arc<Baselines>>,
    /// Rows the earlier stages' findings cover, with the highest severity given to each.
    flagged: HashMap<u32, Severity>,
    /// Rows the earlier stages marked as behavioural anomalies, in [`Anomaly`] order.
    anomalies: HashMap<u32, Vec<Anomaly>>,
}

impl Derived {
    /// Sets the baselines, learned beside the first stage's rules.
    pub(super) fn set_baselines(&mut self, baselines: Arc<Baselines>) {
        self.baselines = Some(baselines);
    }

    /// The baselines alone, without what any stage found: what a rule that reads no other
    /// rule's results sees ([`super::Rule::reads_findings`]).
    pub(super) fn baselines_only(&self) -> Derived {
        Derived {
            baselines: self.baselines.clone(),
            ..Derived::default()
        }
    }

    /// Takes in what one rule of the stage that just ran found.
    pub(super) fn absorb(&mut self, found: &Found) {
        for f in &found.findings {
            for row in &f.rows {
                let slot = self.flagged.entry(*row).or_insert(f.severity);
                *slot = (*slot).max(f.severity);
            }
        }
        for (row, anomaly) in &found.anomalies {
            let kinds = self.anomalies.entry(*row).or_default();
            if let Err(at) = kinds.binary_search(anomaly) {
                kinds.insert(at, *anomaly);
            }
        }
    }

    /// The actors' baselines; an error when no rule asked for them
    /// ([`super::Rule::reads_baselines`]).
    pub fn baselines(&self) -> Result<&Baselines> {
        self.baselines.as_deref().ok_or_else(|| {
            Error::Invalid("a detection rule read the baselines without asking for them".into())
        })
    }

    /// Whether an earlier stage judged a row high or critical (the critical tier).
    pub fn is_critical_tier(&self, row: u32) -> bool {
        self.flagged.get(&row).is_some_and(|s| *s >= Severity::High)
    }

    /// Every row an earlier stage judged high or critical.
    pub fn critical_rows(&self) -> Vec<u32> {
        self.flagged
            .iter()
            .filter(|(_, s)| **s >= Severity::High)
            .map(|(r, _)| *r)
            .collect()
    }

    /// The behavioural anomalies earlier stages marked on a row.
    pub fn anomalies_of(&self, row: u32) -> &[Anomaly] {
        self.anomalies.get(&row).map(Vec::as_slice).unwrap_or(&[])
    }
}
