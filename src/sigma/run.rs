//! Running Sigma rules over loaded events: the prefilter leaves each rule its candidate rows,
//! each candidate's original record is read once (from its input, out of its envelope) and
//! every rule it is a candidate for is evaluated on it by rsigma; matches become findings in
//! the same contract as the built-in rules'.

use std::collections::HashMap;

use polars::prelude::*;
use rsigma_eval::evaluate_rule;

use super::correlate;
pub use super::hit::{Hit, Matched, describe_match};
use super::prefilter::{self, Allowed, CandidateScan, CandidateScans, ColumnValues};
use super::reader::RecordReader;
use super::record::RecordEvent;
use super::rules::RuleSet;
use super::tap::SigmaTap;
use crate::detectors::Finding;
use crate::detectors::event::{i64s, strings, u64s};
use crate::schema::{ACTION, ACTOR, Dictionaries, EVENT_ID, LOG_TYPE, PROVIDER, TIME};
use crate::store::FrameStore;
use crate::{Error, Result};

/// How many unreadable records are described (the rest are counted).
const DESCRIBED_ERRORS: usize = 20;

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct SigmaRun {
    /// Findings, one per rule, actor and burst of matches.
    pub findings: Vec<Finding>,
    /// Every match.
    pub hits: Vec<Hit>,
    /// Rows read and evaluated (each read once, whatever the number of rules).
    pub records_read: usize,
    /// (rule, row) pairs evaluated.
    pub evaluations: usize,
    /// Per rule: rows the column prefilter left it.
    pub candidates: Vec<usize>,
    /// Per rule: records it was evaluated on (what the literal prefilter left).
    pub evaluated: Vec<usize>,
    /// Records that could not be read again or parsed, with the first reasons.
    pub unreadable: usize,
    /// The first reasons records could not be read.
    pub errors: Vec<String>,
}

/// The frame's columns the run reads for every row.
struct Rows {
    provider: Vec<Option<u32>>,
    log_type: Vec<Option<u32>>,
    action: Vec<Option<u32>>,
}

fn ids(frame: &DataFrame, name: &str) -> Result<Vec<Option<u32>>> {
    Ok(u64s(frame, name)?
        .into_iter()
        .map(|v| v.and_then(|v| u32::try_from(v).ok()))
        .collect())
}

/// Runs `set`'s detection rules (and correlations) over `frame` (the store's frame or one
/// derived from it, keeping the record locator columns), grouping a rule's matches by actor
/// within `group_gap` microseconds.
pub fn run(
    store: &FrameStore,
    frame: &DataFrame,
    set: &RuleSet,
    group_gap: i64,
) -> Result<SigmaRun> {
    run_with(store, frame, set, None, group_gap)
}

/// [`run`] for a store loaded with `tap` as its load tap: the rows of the inputs it
/// evaluated take their matches from it; only other rows' records are read again.
pub fn run_tapped(
    store: &FrameStore,
    frame: &DataFrame,
    tap: &SigmaTap,
    group_gap: i64,
) -> Result<SigmaRun> {
    run_with(store, frame, tap.rules(), Some(tap), group_gap)
}

fn run_with(
    store: &FrameStore,
    frame: &DataFrame,
    set: &RuleSet,
    tap: Option<&SigmaTap>,
    group_gap: i64,
) -> Result<SigmaRun> {
    let dictionaries = Dictionaries::shared();
    let rows = Rows {
        provider: ids(frame, PROVIDER)?,
        log_type: ids(frame, LOG_TYPE)?,
        action: ids(frame, ACTION)?,
    };
    let values: ColumnValues = HashMap::from([(ACTION, dictionaries.category_values(ACTION))]);
    let allowed: Vec<Allowed> = set
        .rules
        .iter()
        .map(|r| prefilter::allowed(r, &values))
        .collect();
    let Candidates {
        rows: candidates,
        lists,
    } = candidate_rows(set, &allowed, &rows, dictionaries);
    let mut run = SigmaRun {
        candidates: vec![0; set.rules.len()],
        evaluated: vec![0; set.rules.len()],
        ..SigmaRun::default()
    };
    let mut per_list = vec![0usize; lists.len()];
    for (_, list) in &candidates {
        per_list[*list as usize] += 1;
    }
    for (rules, n) in lists.iter().zip(per_list) {
        for r in rules {
            run.candidates[*r as usize] += n;
        }
    }
    let reader = RecordReader::new(store, frame)?;
    let scans = CandidateScans::new(allowed);
    let scans: Vec<_> = lists.iter().map(|l| scans.for_rules_or_all(l)).collect();
    let mut matched = Vec::new();
    let candidates = match tap {
        Some(tap) => take_tapped(tap, &reader, candidates, &lists, &mut run, &mut matched),
        None => candidates,
    };
    let mut candidates = candidates;
    candidates.sort_unstable_by_key(|(row, _)| reader.place_key(*row));
    // Two halves, split between inputs, evaluated on two threads.
    let mut split = candidates.len() / 2;
    while split > 0
        && split < candidates.len()
        && reader.place_key(candidates[split].0).0 == reader.place_key(candidates[split - 1].0).0
    {
        split += 1;
    }
    let (first, second) = candidates.split_at(split.min(candidates.len()));
    let context = Evaluation {
        reader: &reader,
        scans: &scans,
        set,
        keep_results: !set.correlations.is_empty(),
    };
    let (a, b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| context.part(second));
        let mine = context.part(first);
        (mine, other.join())
    });
    let b = b.map_err(|_| Error::Invalid("a Sigma evaluation thread failed".into()))?;
    for part in [a, b] {
        run.unreadable += part.unreadable;
        run.records_read += part.records_read;
        run.evaluations += part.evaluations;
        for (r, n) in part.evaluated {
            run.evaluated[r] += n;
        }
        for e in part.errors {
            if run.errors.len() < DESCRIBED_ERRORS {
                run.errors.push(e);
            }
        }
        matched.extend(part.matched);
    }
    matched.sort_by_key(|(h, _)| (h.row, h.rule));
    let hidden = correlate::hidden_rules(set);
    run.hits = matched
        .iter()
        .filter(|(h, _)| !hidden.contains(&h.rule))
        .map(|(h, _)| h.clone())
        .collect();
    run.findings = findings(set, frame, &run.hits, group_gap)?;
    let (correlated, problems) = correlate::correlate(set, &reader, frame, &matched)?;
    run.findings.extend(correlated);
    run.errors.extend(problems);
    crate::detectors::sort_findings(&mut run.findings);
    Ok(run)
}

/// Takes the matches of the candidates whose input `tap` evaluated while loading (and its
/// counts); returns the candidates left to read again.
fn take_tapped(
    tap: &SigmaTap,
    reader: &RecordReader<'_>,
    candidates: Vec<(u32, u32)>,
    lists: &[Vec<u16>],
    run: &mut SigmaRun,
    matched: &mut Vec<Matched>,
) -> Vec<(u32, u32)> {
    let counts = tap.counts();
    run.records_read += counts.records_read;
    run.evaluations += counts.evaluations;
    run.unreadable += counts.unreadable;
    for (total, n) in run.evaluated.iter_mut().zip(&counts.evaluated) {
        *total += n;
    }
    run.errors.extend(counts.errors);
    let mut covered: HashMap<u32, bool> = HashMap::new();
    tap.with_matches(|found_at| {
        let mut left = Vec::new();
        for (row, list) in candidates {
            let (source, offset, _) = reader.place_key(row);
            let (Some(source), Some(offset)) = (source, offset) else {
                left.push((row, list));
                continue;
            };
            if !*covered.entry(source).or_insert_with(|| tap.covers(source)) {
                left.push((row, list));
                continue;
            }
            let rules = &lists[list as usize];
            for found in found_at
                .get(&(source, offset))
                .map_or(&[][..], Vec::as_slice)
            {
                // The row's candidates are decided as the tap decided them; the check keeps
                // a match from a rule the row could not match out all the same.
                if rules.iter().any(|r| *r as usize == found.rule) {
                    let hit = Hit {
                        rule: found.rule,
                        row,
                        matched: found.matched.clone(),
                    };
                    matched.push((hit, found.result.clone()));
                }
            }
        }
        left
    })
}

/// What the evaluation of some candidates needs.
struct Evaluation<'a> {
    reader: &'a RecordReader<'a>,
    /// Per list of candidate rules: the scan for their literals.
    scans: &'a [std::sync::Arc<CandidateScan>],
    set: &'a RuleSet,
    /// Whether to keep rsigma's results (only correlations read them).
    keep_results: bool,
}

/// What the evaluation of some candidates found.
#[derive(Default)]
struct Part {
    matched: Vec<Matched>,
    unreadable: usize,
    errors: Vec<String>,
    records_read: usize,
    evaluations: usize,
    evaluated: HashMap<usize, usize>,
}

impl Evaluation<'_> {
    /// Reads the candidates' records (in input order), keeps the rules whose literals they
    /// contain, and evaluates those.
    fn part(&self, candidates: &[(u32, u32)]) -> Part {
        let mut part = Part::default();
        self.reader.each_raw(
            candidates,
            |(row, _)| *row,
            |(row, list), raw| {
                let raw = match raw {
                    Ok(raw) => raw,
                    Err(reason) => {
                        part.unreadable += 1;
                        if part.errors.len() < DESCRIBED_ERRORS {
                            part.errors.push(reason);
                        }
                        return;
                    }
                };
                let kept = self.scans[*list as usize].admitted(raw);
                if kept.is_empty() {
                    return;
                }
                let value = match self.reader.parse(*row, raw) {
                    Ok(v) => v,
                    Err(reason) => {
                        part.unreadable += 1;
                        if part.errors.len() < DESCRIBED_ERRORS {
                            part.errors.push(reason);
                        }
                        return;
                    }
                };
                part.records_read += 1;
                for r in &kept {
                    let rule = &self.set.rules[*r];
                    part.evaluations += 1;
                    *part.evaluated.entry(*r).or_default() += 1;
                    let event = RecordEvent::new(&value, rule.source);
                    if let Some(result) = evaluate_rule(&rule.compiled, &event) {
                        let hit = Hit {
                            rule: *r,
                            row: *row,
                            matched: describe_match(&result),
                        };
                        part.matched
                            .push((hit, self.keep_results.then_some(result)));
                    }
                }
            },
        );
        part
    }
}

/// Per action id: the rules (with the log types each covers) whose conditions admit it.
type ActionTable<'a> = Vec<Vec<(u16, &'a Vec<bool>)>>;

/// The candidate rows, each with the list of rules it may match.
struct Candidates {
    /// (row, index into `lists`), in row order.
    rows: Vec<(u32, u32)>,
    /// The distinct lists of rules (a few dozen: one per provider, log type and action).
    lists: Vec<Vec<u16>>,
}

/// Each candidate row with the rules it may match, in row order.
fn candidate_rows(
    set: &RuleSet,
    allowed: &[Allowed],
    rows: &Rows,
    dictionaries: &Dictionaries,
) -> Candidates {
    let id_of = |column: &str, name: &str| {
        dictionaries
            .category_values(column)
            .into_iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| id)
    };
    let log_types = dictionaries.category_values(LOG_TYPE);
    let log_type_size = log_types
        .iter()
        .map(|(id, _)| *id as usize + 1)
        .max()
        .unwrap_or(0);
    // Per provider id: the rules of its sources, each with the log types it covers.
    let mut by_provider: HashMap<u32, Vec<(u16, Vec<bool>)>> = HashMap::new();
    for (index, rule) in set.rules.iter().enumerate() {
        let Some(provider) = id_of(PROVIDER, rule.source.provider()) else {
            continue; // no event of its provider was ever loaded
        };
        let mut covered = vec![false; log_type_size];
        for (id, name) in &log_types {
            covered[*id as usize] = rule.source.covers_log_type(name);
        }
        let index = u16::try_from(index).unwrap_or(u16::MAX);
        by_provider
            .entry(provider)
            .or_default()
            .push((index, covered));
    }
    // Per provider, per action id: the rules whose column conditions admit it (the last
    // slot: rows without an action).
    let action_ids = dictionaries.category_values(ACTION);
    let action_slots = action_ids
        .iter()
        .map(|(id, _)| *id as usize + 1)
        .max()
        .unwrap_or(0)
        + 1;
    let mut tables: HashMap<u32, ActionTable<'_>> = HashMap::new();
    for (provider, rules) in &by_provider {
        let mut table = vec![Vec::new(); action_slots];
        for (slot, entry) in table.iter_mut().enumerate() {
            let action = (slot + 1 < action_slots).then_some(slot as u32);
            for (index, covered) in rules {
                if allowed[*index as usize]
                    .admits(|column| if column == ACTION { action } else { None })
                {
                    entry.push((*index, covered));
                }
            }
        }
        tables.insert(*provider, table);
    }
    let mut out = Candidates {
        rows: Vec::new(),
        lists: Vec::new(),
    };
    // Per (provider, action slot, log type): its list (`None`: no rule), decided once.
    let mut list_of: HashMap<(u32, usize, Option<u32>), Option<u32>, foldhash::fast::FixedState> =
        HashMap::default();
    let mut list_ids: HashMap<Vec<u16>, u32> = HashMap::new();
    for row in 0..rows.provider.len() {
        let Some((provider, table)) = rows.provider[row].and_then(|p| Some((p, tables.get(&p)?)))
        else {
            continue;
        };
        // No action, or one newer than the dictionary read: the slot admitting every rule.
        let slot = rows.action[row]
            .map(|a| a as usize)
            .filter(|a| *a + 1 < action_slots)
            .unwrap_or(action_slots - 1);
        let log_type = rows.log_type[row];
        let list = *list_of
            .entry((provider, slot, log_type))
            .or_insert_with(|| {
                let hits: Vec<u16> = table[slot]
                    .iter()
                    .filter(|(_, covered)| {
                        log_type.is_none_or(|t| covered.get(t as usize).copied().unwrap_or(false))
                    })
                    .map(|(index, _)| *index)
                    .collect();
                (!hits.is_empty()).then(|| {
                    *list_ids.entry(hits).or_insert_with_key(|hits| {
                        out.lists.push(hits.clone());
                        (out.lists.len() - 1) as u32
                    })
                })
            });
        if let Some(list) = list {
            out.rows.push((row as u32, list));
        }
    }
    out
}

/// A rule's matches as findings: one per actor and burst (matches less than `gap` apart).
fn findings(set: &RuleSet, frame: &DataFrame, hits: &[Hit], gap: i64) -> Result<Vec<Finding>> {
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<IdxSize> = hits.iter().map(|h| h.row as IdxSize).collect();
    let picked = frame
        .select([TIME, ACTOR, PROVIDER, EVENT_ID])
        .and_then(|f| f.take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows)))
        .map_err(Error::polars("reading the matched events"))?;
    let times = i64s(&picked, TIME)?;
    let actors = strings(&picked, ACTOR)?;
    let providers = strings(&picked, PROVIDER)?;
    let event_ids = strings(&picked, EVENT_ID)?;
    let mut order: Vec<usize> = (0..hits.len()).collect();
    order.sort_by(|a, b| {
        (hits[*a].rule, &actors[*a], times[*a]).cmp(&(hits[*b].rule, &actors[*b], times[*b]))
    });
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=order.len() {
        let split = i == order.len() || {
            let (a, b) = (order[i - 1], order[i]);
            hits[a].rule != hits[b].rule
                || actors[a] != actors[b]
                || times[b].unwrap_or(0) - times[a].unwrap_or(0) > gap
        };
        if !split {
            continue;
        }
        let group = &order[start..i];
        start = i;
        let first = group[0];
        let rule = &set.rules[hits[first].rule];
        let count = group.len();
        // What matched first (the list shows the reason's start), then the rule and its file.
        let more = if count > 1 {
            format!(", and {} more matching events", count - 1)
        } else {
            String::new()
        };
        let reason = format!(
            "{}{more} (Sigma rule \"{}\", {})",
            hits[first].matched,
            rule.title,
            rule.path.display()
        );
        out.push(Finding {
            rule: format!("sigma:{}", rule.key),
            title: rule.title.clone(),
            severity: rule.severity,
            time: times[first],
            actor: actors[first].clone(),
            provider: providers[first].clone(),
            event_ids: group.iter().map(|g| event_ids[*g].clone()).collect(),
            rows: group.iter().map(|g| hits[*g].row).collect(),
            count: count as u64,
            reason,
            mitre: rule.mitre.clone(),
        });
    }
    Ok(out)
}
