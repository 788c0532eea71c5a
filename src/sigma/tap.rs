//! The Sigma rules evaluated while loading: given to the loader as its [`RecordTap`], the
//! rule set sees each record while the worker that parsed it still holds its bytes, so the
//! rules that test fields the frame does not hold cost no second read of the inputs (on a
//! gzipped month, inflating the inputs again cost more than the rules). The same two
//! prefilters decide which rules run on a record, and rsigma decides the match, exactly as
//! [`super::run`] does on records read again; the matches are kept by where the record was
//! read from, so a run over any frame of these events pairs each row with its own matches.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rsigma_eval::{EvaluationResult, evaluate_rule};

use super::hit::describe_match;
use super::prefilter::{self, Allowed, CandidateScan, CandidateScans, ColumnValues};
use super::projection::{keys_read, parse_keeping};
use super::record::RecordEvent;
use super::rules::RuleSet;
use crate::load::tap::{RecordTap, TappedRecord};
use crate::schema::{ACTION, Dictionaries, LOG_TYPE, PROVIDER};

/// How many unreadable records are described (the rest are counted).
const DESCRIBED_ERRORS: usize = 20;

/// One rule's match on a record, found while loading.
#[derive(Debug, Clone)]
pub struct TapMatch {
    /// The rule (index into [`RuleSet::rules`]).
    pub rule: usize,
    /// What matched, for the finding's reason.
    pub matched: String,
    /// rsigma's result, kept when the set has correlation rules (only they read it).
    pub result: Option<EvaluationResult>,
}

/// Matches by (input id, offset of the record); looked up once per candidate row.
pub type MatchesByPlace = HashMap<(u32, u64), Vec<TapMatch>, foldhash::fast::FixedState>;

/// The (provider, log type, action) ids of a record.
type ColumnIds = (Option<u32>, Option<u32>, Option<u32>);

/// A rule set evaluated on each record as it is loaded.
pub struct SigmaTap {
    set: Arc<RuleSet>,
    scans: CandidateScans,
    /// Per rule: the top-level keys it reads (`None`: any).
    keys: Vec<Option<Vec<String>>>,
    /// Per provider name: the rules of its log sources.
    by_provider: HashMap<&'static str, Vec<u16>>,
    /// Per (provider, log type, action): the rules such a record may match, with the scan
    /// for their literals (`None`: no rule).
    candidates: RwLock<HashMap<ColumnIds, Option<Arc<CandidateScan>>, foldhash::fast::FixedState>>,
    matches: Mutex<MatchesByPlace>,
    /// Inputs whose records the tap saw.
    sources: RwLock<HashSet<u32>>,
    /// Inputs it could not evaluate (CSV rows, whose columns the header names): their rows
    /// are read again after loading.
    skipped_sources: Mutex<HashSet<u32>>,
    records_read: AtomicUsize,
    evaluations: AtomicUsize,
    evaluated: Vec<AtomicUsize>,
    unreadable: AtomicUsize,
    errors: Mutex<Vec<String>>,
}

impl SigmaTap {
    /// A tap evaluating `set`'s detection rules.
    pub fn new(set: Arc<RuleSet>) -> crate::Result<SigmaTap> {
        // The literal texts do not depend on the column's values, only on its presence.
        let values: ColumnValues = HashMap::from([(ACTION, Vec::new())]);
        let allowed: Vec<Allowed> = set
            .rules
            .iter()
            .map(|r| prefilter::allowed(r, &values))
            .collect();
        let scans = CandidateScans::new(allowed);
        let mut by_provider: HashMap<&'static str, Vec<u16>> = HashMap::new();
        for (i, rule) in set.rules.iter().enumerate() {
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            by_provider
                .entry(rule.source.provider())
                .or_default()
                .push(i);
        }
        let evaluated = (0..set.rules.len()).map(|_| AtomicUsize::new(0)).collect();
        let keys = set.rules.iter().map(keys_read).collect();
        Ok(SigmaTap {
            set,
            scans,
            keys,
            by_provider,
            candidates: RwLock::default(),
            matches: Mutex::default(),
            sources: RwLock::default(),
            skipped_sources: Mutex::default(),
            records_read: AtomicUsize::new(0),
            evaluations: AtomicUsize::new(0),
            evaluated,
            unreadable: AtomicUsize::new(0),
            errors: Mutex::default(),
        })
    }

    /// The rules it evaluates.
    pub fn rules(&self) -> &RuleSet {
        &self.set
    }

    /// Whether the rows of input `source` were evaluated while loading.
    pub fn covers(&self, source: u32) -> bool {
        let seen = self.sources.read().is_ok_and(|s| s.contains(&source));
        let skipped = self
            .skipped_sources
            .lock()
            .map_or(true, |s| s.contains(&source));
        seen && !skipped
    }

    /// Calls `f` with the matches by (input, offset), holding the lock once for all the
    /// look-ups `f` makes.
    pub fn with_matches<T>(&self, f: impl FnOnce(&MatchesByPlace) -> T) -> T {
        match self.matches.lock() {
            Ok(map) => f(&map),
            Err(_) => f(&HashMap::default()),
        }
    }

    /// Records parsed, (rule, record) evaluations, per rule the records it was evaluated on,
    /// records that could not be parsed and the first reasons.
    pub fn counts(&self) -> TapCounts {
        TapCounts {
            records_read: self.records_read.load(Ordering::Relaxed),
            evaluations: self.evaluations.load(Ordering::Relaxed),
            evaluated: self
                .evaluated
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .collect(),
            unreadable: self.unreadable.load(Ordering::Relaxed),
            errors: self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
        }
    }

    fn note_source(&self, source: u32, table_row: bool) {
        if table_row {
            if let Ok(mut skipped) = self.skipped_sources.lock() {
                skipped.insert(source);
            }
            return;
        }
        if self.sources.read().is_ok_and(|s| s.contains(&source)) {
            return;
        }
        if let Ok(mut sources) = self.sources.write() {
            sources.insert(source);
        }
    }

    /// The rules a record with these column ids may match (as [`super::run`] decides them
    /// per row), computed once per distinct ids.
    fn candidates_for(&self, ids: ColumnIds) -> Option<Arc<CandidateScan>> {
        if let Some(found) = self
            .candidates
            .read()
            .ok()
            .and_then(|c| c.get(&ids).cloned())
        {
            return found;
        }
        let dictionaries = Dictionaries::shared();
        let (provider, log_type, action) = ids;
        let provider = provider.and_then(|p| dictionaries.category_name(PROVIDER, p));
        let log_type = log_type.and_then(|t| dictionaries.category_name(LOG_TYPE, t));
        let action = action.and_then(|a| dictionaries.category_name(ACTION, a));
        let rules: Vec<u16> = provider
            .and_then(|p| self.by_provider.get(p))
            .map(|list| {
                list.iter()
                    .copied()
                    .filter(|i| {
                        let rule = &self.set.rules[*i as usize];
                        log_type.is_none_or(|t| rule.source.covers_log_type(t))
                            && action.is_none_or(|a| prefilter::admits_value(rule, ACTION, a))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let scan = (!rules.is_empty()).then(|| self.scans.for_rules_or_all(&rules));
        if let Ok(mut candidates) = self.candidates.write() {
            candidates.insert(ids, scan.clone());
        }
        scan
    }

    /// The top-level keys rules `rules` read (`None`: any).
    fn keys_read(&self, rules: &[usize]) -> Option<Vec<&str>> {
        let mut keys = Vec::new();
        for r in rules {
            keys.extend(self.keys.get(*r)?.as_ref()?.iter().map(String::as_str));
        }
        Some(keys)
    }

    fn unreadable(&self, record: &TappedRecord<'_>, reason: String) {
        self.unreadable.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut errors) = self.errors.lock()
            && errors.len() < DESCRIBED_ERRORS
        {
            let name = Dictionaries::shared()
                .source_name(record.source)
                .unwrap_or("")
                .to_string();
            errors.push(format!("{name} at byte {}: {reason}", record.offset));
        }
    }
}

/// What a tap did while loading.
#[derive(Debug, Clone, Default)]
pub struct TapCounts {
    /// Records parsed and evaluated.
    pub records_read: usize,
    /// (rule, record) evaluations.
    pub evaluations: usize,
    /// Per rule: records it was evaluated on.
    pub evaluated: Vec<usize>,
    /// Records that could not be parsed.
    pub unreadable: usize,
    /// The first reasons.
    pub errors: Vec<String>,
}

impl RecordTap for SigmaTap {
    fn record(&self, record: &TappedRecord<'_>) {
        self.note_source(record.source, record.table_row);
        if record.table_row {
            return;
        }
        let Some(scan) = self.candidates_for((record.provider, record.log_type, record.action))
        else {
            return;
        };
        let kept = scan.admitted(record.raw);
        if kept.is_empty() {
            return;
        }
        // The loader took the record out of its envelope already; only the members the
        // rules read are built.
        let keys = self.keys_read(&kept);
        let value = match parse_keeping(record.bare, keys.as_deref()) {
            Ok(value) => value,
            Err(reason) => return self.unreadable(record, reason),
        };
        self.records_read.fetch_add(1, Ordering::Relaxed);
        let mut found = Vec::new();
        for r in kept {
            let rule = &self.set.rules[r];
            self.evaluations.fetch_add(1, Ordering::Relaxed);
            if let Some(n) = self.evaluated.get(r) {
                n.fetch_add(1, Ordering::Relaxed);
            }
            let event = RecordEvent::new(&value, rule.source);
            if let Some(result) = evaluate_rule(&rule.compiled, &event) {
                found.push(TapMatch {
                    rule: r,
                    matched: describe_match(&result),
                    result: (!self.set.correlations.is_empty()).then_some(result),
                });
            }
        }
        if !found.is_empty()
            && let Ok(mut matches) = self.matches.lock()
        {
            matches.insert((record.source, record.offset), found);
        }
    }
}
