//! Renames: two names beside one identifier are one principal renamed only when they follow
//! one another; names used in turn make the identifier shared, evidence of nothing.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::Identities;
use crate::schema::TIME;
use crate::{Error, Result};

/// How long the old name of a rename may still be seen after the new one first is:
/// replication lag, and access tokens issued before the rename (60 to 90 minutes in Entra)
/// still carrying the old UPN. Names used in turn for longer are not a rename.
const RENAME_OVERLAP_US: i64 = 2 * 3_600_000_000;

impl Identities {
    /// Widens each observation's time span by the frame's rows (`frame_spans` of the
    /// observations in `frame_seen`, emptied), then judges again the identifiers whose
    /// claimants' spans changed.
    pub(super) fn note_spans(&mut self) {
        let mut changed: BTreeSet<usize> = BTreeSet::new();
        for seen in std::mem::take(&mut self.frame_seen) {
            let Some((first, last)) = self.frame_spans.get_mut(seen).and_then(Option::take) else {
                continue;
            };
            let Some(slot) = self.observed_spans.get_mut(seen) else {
                continue;
            };
            let widened = Some(widen(*slot, first, last));
            if *slot != widened {
                *slot = widened;
                if let Some((_, Some(id))) = self.observed_names.get(seen) {
                    changed.insert(*id);
                }
            }
        }
        for id in changed {
            self.judge_renames(id);
        }
    }

    /// Whether the names seen beside an identifier follow one another, as a rename's do (the
    /// old name stops when the new one starts, give or take [`RENAME_OVERLAP_US`]); names
    /// used in turn make the identifier shared, not one principal's.
    fn judge_renames(&mut self, id_node: usize) {
        let Some(claimants) = self.claims.get(&id_node).filter(|c| c.len() > 1) else {
            return;
        };
        let mut spans: BTreeMap<usize, (i64, i64)> = BTreeMap::new();
        for &seen in self.node_observations.get(&id_node).into_iter().flatten() {
            let (actor, id) = self.observed_names[seen];
            if id != Some(id_node) || !claimants.contains(&actor) {
                continue;
            }
            if let Some(Some((first, last))) = self.observed_spans.get(seen) {
                let span = spans.entry(actor).or_insert((*first, *last));
                *span = widen(Some(*span), *first, *last);
            }
        }
        if let Some((before, after)) = used_in_turn(&spans) {
            let reason = format!(
                "{} and {} are seen beside it in turn, not one after the other as in a rename",
                self.nodes[before].text, self.nodes[after].text
            );
            self.untrust(id_node, reason);
        }
    }
}

/// Two names (nodes) of which the second was first seen more than [`RENAME_OVERLAP_US`]
/// before the first was last seen, given each name's span: names used in turn.
fn used_in_turn(spans: &BTreeMap<usize, (i64, i64)>) -> Option<(usize, usize)> {
    let mut by_start: Vec<(i64, i64, usize)> =
        spans.iter().map(|(&n, &(f, l))| (f, l, n)).collect();
    by_start.sort_unstable();
    // The name seen latest so far, and until when.
    let mut latest: Option<(i64, usize)> = None;
    for (first, last, node) in by_start {
        if let Some((until, before)) = latest
            && first.saturating_add(RENAME_OVERLAP_US) < until
        {
            return Some((before, node));
        }
        if latest.is_none_or(|(until, _)| last > until) {
            latest = Some((last, node));
        }
    }
    None
}

/// A time span widened to hold `first..=last`.
pub(super) fn widen(span: Option<(i64, i64)>, first: i64, last: i64) -> (i64, i64) {
    match span {
        Some((a, b)) => (a.min(first), b.max(last)),
        None => (first, last),
    }
}

/// The `time` column as microseconds (null where a row has no time).
pub(super) fn physical_times(frame: &DataFrame) -> Result<Int64Chunked> {
    frame
        .column(TIME)
        .and_then(|time| {
            time.as_materialized_series()
                .to_physical_repr()
                .i64()
                .cloned()
        })
        .map_err(Error::polars("reading times for identities"))
}
