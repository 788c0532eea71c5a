//! How far one actor's judged events spread, for the single-event rules whose danger is in
//! the number of targets (secrets, instances) or in the actor being new to the action: the
//! actor's hits split into runs, the most distinct targets a run reaches within a window, and
//! the days the actor did the same before.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use super::context::Context;
use super::event::Ev;
use super::finding::{Hit, Severity};
use super::{DAY, MINUTE};

/// A quiet gap that ends a run of one actor's hits.
pub(super) const QUIET: i64 = 30 * MINUTE;

/// What one event reaches: named targets, and targets it reaches without naming them (a
/// filtered batch read), counted as that many distinct ones.
pub(super) struct Reach<'e> {
    /// Named targets.
    pub names: Vec<&'e str>,
    /// Unnamed targets.
    pub unnamed: u64,
}

/// The targets of an event named in its `resource` (comma separated, as the parsers join
/// lists).
pub(super) fn resource_targets(e: &Ev) -> Reach<'_> {
    Reach {
        names: e
            .resource
            .split(',')
            .filter(|t| !t.is_empty() && *t != "...")
            .collect(),
        unnamed: 0,
    }
}

/// One actor's hits, in time order.
pub(super) fn by_actor(hits: Vec<Hit>) -> BTreeMap<String, Vec<Hit>> {
    let mut out: BTreeMap<String, Vec<Hit>> = BTreeMap::new();
    for h in hits {
        out.entry(h.ev.actor.clone()).or_default().push(h);
    }
    for list in out.values_mut() {
        list.sort_by_key(|h| (h.ev.time, h.ev.row));
    }
    out
}

/// Splits hits (one actor, time order) into runs with no gap longer than [`QUIET`].
pub(super) fn runs(hits: &[Hit]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=hits.len() {
        if i == hits.len() || hits[i].ev.time - hits[i - 1].ev.time > QUIET {
            if start < i {
                out.push(start..i);
            }
            start = i;
        }
    }
    out
}

/// The most distinct targets the hits reach within `width` of each other, and the targets
/// of the whole slice (for the reason).
pub(super) fn widest<'h>(
    hits: &'h [Hit],
    width: i64,
    reach: impl Fn(&'h Ev) -> Reach<'h>,
) -> (u64, Vec<&'h str>) {
    let reached: Vec<Reach<'h>> = hits.iter().map(|h| reach(&h.ev)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut unnamed = 0;
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..hits.len() {
        for n in &reached[hi].names {
            *counts.entry(n).or_default() += 1;
        }
        unnamed += reached[hi].unnamed;
        while hits[hi].ev.time - hits[lo].ev.time > width {
            for n in &reached[lo].names {
                if let Some(c) = counts.get_mut(n) {
                    *c -= 1;
                    if *c == 0 {
                        counts.remove(n);
                    }
                }
            }
            unnamed -= reached[lo].unnamed;
            lo += 1;
        }
        best = best.max(counts.len() as u64 + unnamed);
    }
    let mut all = Vec::new();
    let mut seen = HashSet::new();
    for n in reached.iter().flat_map(|r| r.names.iter()) {
        if seen.insert(*n) {
            all.push(*n);
        }
    }
    (best, all)
}

/// Distinct days (UTC) before `time`'s day on which the actor has hits.
pub(super) fn days_before(hits: &[Hit], time: i64) -> usize {
    let day = time.div_euclid(DAY);
    hits.iter()
        .map(|h| h.ev.time.div_euclid(DAY))
        .filter(|d| *d < day)
        .collect::<HashSet<_>>()
        .len()
}

/// Whether the actor is new to what its hits do: it has a learned history in the data
/// (`learn_days` and `learn_events`) that ends before its first hit.
pub(super) fn new_to_it(ctx: &Context<'_>, hits: &[Hit]) -> bool {
    let first = hits.iter().map(|h| h.ev.time).min();
    match (ctx.learn_end(&hits[0].ev.actor), first) {
        (Some(end), Some(first)) => first >= end,
        _ => false,
    }
}

/// The hits of a run, all judged `severity` for `reason`.
pub(super) fn judged(run: &[Hit], severity: Severity, reason: &str) -> Vec<Hit> {
    run.iter()
        .map(|h| Hit {
            ev: h.ev.clone(),
            severity,
            reason: reason.to_string(),
        })
        .collect()
}

/// ` (<error>)` for a failed event, for reasons that name attempts.
pub(super) fn failure_note(e: &Ev) -> String {
    if e.ok() {
        String::new()
    } else {
        format!(" ({})", e.error)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn hit(minute: i64, resource: &str) -> Hit {
        Hit {
            ev: Ev {
                actor: "a".into(),
                time: minute * MINUTE,
                resource: resource.into(),
                ..Ev::default()
            },
            severity: Severity::Info,
            reason: String::new(),
        }
    }

    #[test]
    fn distinct_targets_are_counted_in_the_window() {
        let hits: Vec<Hit> = [(0, "s1"), (1, "s2"), (2, "s1"), (3, "s3,s4"), (20, "s5")]
            .iter()
            .map(|(m, r)| hit(*m, r))
            .collect();
        let (n, all) = widest(&hits, 10 * MINUTE, resource_targets);
        assert_eq!(n, 4);
        assert_eq!(all, vec!["s1", "s2", "s3", "s4", "s5"]);
        assert_eq!(widest(&hits, 30 * MINUTE, resource_targets).0, 5);
        assert_eq!(runs(&hits).len(), 1);
        let apart = vec![hit(0, "x"), hit(45, "y")];
        assert_eq!(runs(&apart), vec![0..1, 1..2]);
        assert_eq!(days_before(&hits, 2 * DAY), 1);
    }
}
