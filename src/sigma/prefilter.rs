//! Which rows a Sigma rule may match, decided without reading a record: the rule's log
//! source picks rows by provider and log type, and its tests on fields that a normalized
//! column holds unchanged ([`Source::exact_column`]) are run once per distinct value of that
//! column (a few hundred), never per row. Only the rows left are read and given to rsigma, so
//! a rule about `StopLogging` reads the few `StopLogging` records of a million.
//!
//! The result is a necessary condition: a row it excludes cannot match. Negations, keyword
//! searches, existence tests, field references and fields no column holds add no
//! restriction.

use std::collections::{BTreeMap, HashMap};

use rsigma_eval::event::{EventValue, JsonEvent};
use rsigma_eval::matcher::{CompiledMatcher, GroupMode};
use rsigma_eval::{CompiledDetection, CompiledDetectionItem};
use rsigma_parser::{ConditionExpr, Quantifier, SelectorPattern};
use serde_json::Value;

use super::fields::Source;
use super::rules::LoadedRule;

/// The distinct values of the categorical columns, by physical id.
pub type ColumnValues = HashMap<&'static str, Vec<(u32, String)>>;

/// A rule's necessary condition: which values of the exact columns its rows may have, and
/// which literal texts its records must contain.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Allowed {
    /// Per column, whether each physical id may match (rows whose value is null always may);
    /// `None`: no restriction.
    pub columns: Option<BTreeMap<&'static str, Vec<bool>>>,
    /// Clauses that must all hold; a clause holds when the record's text contains one of its
    /// literals (ASCII case ignored). Empty: no restriction.
    pub literals: Vec<Vec<String>>,
}

impl Allowed {
    /// No restriction.
    pub fn all() -> Allowed {
        Allowed::default()
    }

    fn and(mut self, other: Allowed) -> Allowed {
        self.columns = match (self.columns, other.columns) {
            (None, x) | (x, None) => x,
            (Some(mut a), Some(b)) => {
                for (column, ids) in b {
                    match a.get_mut(column) {
                        Some(mine) => zip_in_place(mine, &ids, |x, y| x && y),
                        None => {
                            a.insert(column, ids);
                        }
                    }
                }
                Some(a)
            }
        };
        self.literals.extend(other.literals);
        self
    }

    /// (a ∧ b) ∨ (c ∧ d) implies (a ∨ c) ∧ ...: the shortest clause of each side, joined.
    fn or(self, other: Allowed) -> Allowed {
        let columns = match (self.columns, other.columns) {
            (Some(mut a), Some(b))
                if a.len() == 1 && b.len() == 1 && a.keys().next() == b.keys().next() =>
            {
                if let (Some(mine), Some(theirs)) = (a.values_mut().next(), b.values().next()) {
                    zip_in_place(mine, theirs, |x, y| x || y);
                }
                Some(a)
            }
            _ => None,
        };
        let shortest = |c: Vec<Vec<String>>| c.into_iter().min_by_key(Vec::len);
        let literals = match (shortest(self.literals), shortest(other.literals)) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                a.sort();
                a.dedup();
                vec![a]
            }
            _ => Vec::new(),
        };
        Allowed { columns, literals }
    }

    /// Whether a row with these physical ids (by column; `None`: null) may match.
    pub fn admits(&self, id_of: impl Fn(&str) -> Option<u32>) -> bool {
        match &self.columns {
            None => true,
            Some(columns) => columns.iter().all(|(column, ids)| match id_of(column) {
                None => true,
                Some(id) => ids.get(id as usize).copied().unwrap_or(true),
            }),
        }
    }

    /// The columns it restricts.
    pub fn restricted_columns(&self) -> Vec<&'static str> {
        self.columns
            .as_ref()
            .map(|c| c.keys().copied().collect())
            .unwrap_or_default()
    }
}

/// Literals of which at least one is in the text of every value `matcher` accepts, if such
/// a set is known. Only texts a JSON or CSV export writes unchanged are used: ASCII without
/// quotes, backslashes, control characters or brackets, cut at `:` and `,` (an object
/// compared as its JSON text may space those differently) to the longest piece; integers
/// of three digits or more as their digits (exporters write integers plainly); no other
/// numbers.
pub fn literals(matcher: &CompiledMatcher) -> Option<Vec<String>> {
    use CompiledMatcher::*;
    match matcher {
        Exact { value, .. }
        | Contains { value, .. }
        | StartsWith { value, .. }
        | EndsWith { value, .. } => usable(value).map(|v| vec![v]),
        AhoCorasickSet { needles, .. } => needles.iter().map(|n| usable(n)).collect(),
        NumericEq(n) if n.fract() == 0.0 && n.abs() >= 100.0 && n.abs() < 1e15 => {
            Some(vec![format!("{}", n.abs() as i64)])
        }
        Regex(re) => regex_literals(re.as_str()),
        RegexSetMatch { set, mode } => {
            let each = set.patterns().iter().map(|p| regex_literals(p));
            match mode {
                GroupMode::Any => each
                    .collect::<Option<Vec<Vec<String>>>>()
                    .map(|v| v.concat()),
                GroupMode::All => each.flatten().min_by_key(Vec::len),
            }
        }
        AnyOf(list) => union(list.iter()),
        CaseInsensitiveGroup {
            children,
            mode: GroupMode::Any,
        } => union(children.iter()),
        AllOf(list)
        | CaseInsensitiveGroup {
            children: list,
            mode: GroupMode::All,
        } => list.iter().filter_map(literals).min_by_key(Vec::len),
        _ => None,
    }
}

fn union<'a>(list: impl Iterator<Item = &'a CompiledMatcher>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for m in list {
        out.extend(literals(m)?);
    }
    (!out.is_empty()).then_some(out)
}

/// The longest piece of `text` usable as a literal, lowercased.
fn usable(text: &str) -> Option<String> {
    if text.parse::<f64>().is_ok() && !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text
        .bytes()
        .any(|b| !b.is_ascii() || b.is_ascii_control() || b"\"\\{}[]".contains(&b))
    {
        return None;
    }
    let piece = text
        .split([':', ','])
        .max_by_key(|p| p.len())
        .filter(|p| !p.is_empty())?;
    if piece.bytes().all(|b| b.is_ascii_digit()) && piece.len() < 3 {
        return None;
    }
    Some(piece.to_ascii_lowercase())
}

/// Literals one of which every match of the regular expression contains.
fn regex_literals(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    required(&hir)
}

fn required(hir: &regex_syntax::hir::Hir) -> Option<Vec<String>> {
    use regex_syntax::hir::HirKind;
    let score = |v: &Vec<String>| v.iter().map(String::len).min().unwrap_or(0);
    let better = |candidate: Option<Vec<String>>, best: &mut Option<Vec<String>>| {
        if let Some(c) = candidate
            && best.as_ref().is_none_or(|b| score(&c) > score(b))
        {
            *best = Some(c);
        }
    };
    match hir.kind() {
        HirKind::Literal(lit) => usable(std::str::from_utf8(&lit.0).ok()?).map(|l| vec![l]),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Concat(parts) => {
            // Runs of literal parts are one literal; otherwise any part's requirement.
            let mut best: Option<Vec<String>> = None;
            let mut run = String::new();
            for part in parts {
                match (part.kind(), part.kind()) {
                    (HirKind::Literal(lit), _) => match std::str::from_utf8(&lit.0) {
                        Ok(text) => run.push_str(text),
                        Err(_) => run.clear(),
                    },
                    _ => {
                        better(usable(&run).map(|l| vec![l]), &mut best);
                        run.clear();
                        better(required(part), &mut best);
                    }
                }
            }
            better(usable(&run).map(|l| vec![l]), &mut best);
            best
        }
        HirKind::Alternation(branches) => {
            let mut out = Vec::new();
            for branch in branches {
                out.extend(required(branch)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Whether a matcher compares with another field of the event (not decidable from one
/// column's values).
pub(super) fn refers_to_fields(matcher: &CompiledMatcher) -> bool {
    use CompiledMatcher::*;
    match matcher {
        FieldRef { .. } | Expand { .. } => true,
        Not(inner) | TimestampPart { inner, .. } => refers_to_fields(inner),
        AnyOf(list) | AllOf(list) | CaseInsensitiveGroup { children: list, .. } => {
            list.iter().any(refers_to_fields)
        }
        _ => false,
    }
}

fn zip_in_place(a: &mut Vec<bool>, b: &[bool], f: impl Fn(bool, bool) -> bool) {
    if a.len() < b.len() {
        a.resize(b.len(), true);
    }
    for (i, x) in a.iter_mut().enumerate() {
        *x = f(*x, b.get(i).copied().unwrap_or(true));
    }
}

/// The necessary condition of a rule over the exact columns' values.
pub fn allowed(rule: &LoadedRule, values: &ColumnValues) -> Allowed {
    condition_of(rule, values, true)
}

/// Whether a row whose exact column `column` holds `value` (and whose other columns may
/// hold anything) may match `rule`: [`allowed`] for one value, without the literal texts,
/// for the loader, which meets values one at a time.
pub fn admits_value(rule: &LoadedRule, column: &'static str, value: &str) -> bool {
    let values: ColumnValues = HashMap::from([(column, vec![(0, value.to_string())])]);
    condition_of(rule, &values, false).admits(|c| (c == column).then_some(0))
}

fn condition_of(rule: &LoadedRule, values: &ColumnValues, literals: bool) -> Allowed {
    let context = Context {
        source: rule.source,
        values,
        detections: &rule.compiled.detections,
        literals,
    };
    rule.compiled
        .conditions
        .iter()
        .map(|c| context.condition(c))
        .reduce(Allowed::or)
        .unwrap_or_else(Allowed::all)
}

struct Context<'a> {
    source: Source,
    values: &'a ColumnValues,
    detections: &'a HashMap<String, CompiledDetection>,
    /// Whether to find the literal texts too (they do not depend on the values).
    literals: bool,
}

impl Context<'_> {
    fn condition(&self, expr: &ConditionExpr) -> Allowed {
        match expr {
            ConditionExpr::And(parts) => parts
                .iter()
                .map(|p| self.condition(p))
                .fold(Allowed::all(), Allowed::and),
            ConditionExpr::Or(parts) => parts
                .iter()
                .map(|p| self.condition(p))
                .reduce(Allowed::or)
                .unwrap_or_else(Allowed::all),
            ConditionExpr::Not(_) => Allowed::all(),
            ConditionExpr::Identifier(name) => self
                .detections
                .get(name)
                .map_or_else(Allowed::all, |d| self.detection(d)),
            ConditionExpr::Selector {
                quantifier,
                pattern,
            } => {
                let pattern = match pattern {
                    SelectorPattern::Them => "*",
                    SelectorPattern::Pattern(p) => p.as_str(),
                };
                let all = matches!(quantifier, Quantifier::All);
                let named = self
                    .detections
                    .iter()
                    // `all of them` may leave out `_`-names; requiring fewer is still sound.
                    .filter(|(name, _)| !(all && name.starts_with('_')))
                    .filter(|(name, _)| rsigma_parser::detection_name_matches(pattern, name))
                    .map(|(_, d)| self.detection(d));
                if all {
                    named.fold(Allowed::all(), Allowed::and)
                } else {
                    named.reduce(Allowed::or).unwrap_or_else(Allowed::all)
                }
            }
        }
    }

    fn detection(&self, detection: &CompiledDetection) -> Allowed {
        match detection {
            CompiledDetection::AllOf(items) => items
                .iter()
                .map(|i| self.item(i))
                .fold(Allowed::all(), Allowed::and),
            CompiledDetection::AnyOf(list) => list
                .iter()
                .map(|d| self.detection(d))
                .reduce(Allowed::or)
                .unwrap_or_else(Allowed::all),
            CompiledDetection::And(list) => list
                .iter()
                .map(|d| self.detection(d))
                .fold(Allowed::all(), Allowed::and),
            CompiledDetection::Keywords(matcher) if self.literals => Allowed {
                columns: None,
                literals: literals(matcher).into_iter().collect(),
            },
            _ => Allowed::all(),
        }
    }

    fn item(&self, item: &CompiledDetectionItem) -> Allowed {
        if item.exists.is_some() {
            return Allowed::all();
        }
        let Some(field) = item.field.as_deref() else {
            return Allowed::all();
        };
        if refers_to_fields(&item.matcher) {
            return Allowed::all();
        }
        let from_text = || {
            if !self.literals {
                return Allowed::all();
            }
            // A computed field's own words are not in the record's text; its other values are.
            let computed: Vec<&str> = self
                .source
                .mapped(field)
                .iter()
                .flat_map(|l| l.computed_texts())
                .copied()
                .collect();
            let found = literals(&item.matcher).filter(|list| {
                list.iter()
                    .all(|l| !computed.iter().any(|c| c.contains(l.as_str())))
            });
            Allowed {
                columns: None,
                literals: found.into_iter().collect(),
            }
        };
        let Some(exact) = self.source.exact_column(field) else {
            return from_text();
        };
        let column = exact.column;
        let Some(values) = self.values.get(column) else {
            return Allowed::all();
        };
        let nothing = Value::Null;
        let empty = JsonEvent::borrow(&nothing);
        if item.matcher.matches(&EventValue::Null, &empty) {
            // The test holds for a missing field, whatever the column says.
            return Allowed::all();
        }
        let size = values
            .iter()
            .map(|(id, _)| *id as usize + 1)
            .max()
            .unwrap_or(0);
        let mut ids = vec![false; size];
        for (id, name) in values {
            let value = exact.field_value(name);
            ids[*id as usize] = item.matcher.matches(&EventValue::Str(value.into()), &empty);
        }
        // No literal: the column decides this test for every row that has a value, so a
        // literal would only repeat it (and a long list of actions would cost every
        // candidate record an automaton pass); a row without one is simply evaluated.
        Allowed {
            columns: Some(BTreeMap::from([(column, ids)])),
            literals: Vec::new(),
        }
    }
}

thread_local! {
    /// A record's text folded to ASCII lower case (one buffer per thread).
    static FOLDED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Which literals a record holds, as [`LiteralSearch`] found them (one buffer per thread).
    static SEEN: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether a record's text holds an escape that could hide a literal (`\\u`, `\\/`).
fn escaped(text: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', text).any(|at| matches!(text.get(at + 1), Some(b'u' | b'/')))
}

/// The shortest text a gate implied by a long clause may be: shorter texts are in most
/// records.
const SHARED_TEXT: usize = 4;

/// At most [`GATE_LITERALS`] texts, one of which every literal of `clause` contains: each the
/// text found in the most literals not yet covered (the longest of those). A clause of
/// literals that share nothing long enough implies none.
fn shared_texts(clause: &[String]) -> Option<Vec<String>> {
    let mut left: Vec<&str> = clause.iter().map(String::as_str).collect();
    let mut texts = Vec::new();
    while !left.is_empty() {
        if texts.len() == GATE_LITERALS {
            return None;
        }
        // Every piece of a literal left, by (literals holding it, length).
        let best = left
            .iter()
            .flat_map(|literal| {
                (0..literal.len()).flat_map(move |start| {
                    (start + SHARED_TEXT..=literal.len())
                        .filter_map(move |end| literal.get(start..end))
                })
            })
            .map(|piece| {
                (
                    left.iter().filter(|l| l.contains(piece)).count(),
                    piece.len(),
                    piece,
                )
            })
            .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| b.2.cmp(a.2)))?;
        let piece = best.2.to_string();
        left.retain(|l| !l.contains(piece.as_str()));
        texts.push(piece);
    }
    Some(texts)
}

/// `text` folded to ASCII lower case into `out`.
fn fold(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(text);
    // In place, a loop the compiler vectorizes (a mapped iterator it did not).
    out.make_ascii_lowercase();
}

/// The literal index of the few rules a record is a candidate for: searching for a few
/// literals skips most of a record with SIMD, where one automaton of every rule's literals
/// steps through it byte by byte.
pub struct CandidateScan {
    /// The rules, in the order the index numbers them.
    rules: Vec<usize>,
    index: LiteralIndex,
}

impl CandidateScan {
    /// The rules.
    pub fn rules(&self) -> &[usize] {
        &self.rules
    }

    /// The rules whose literal clauses all hold on `text` (those with none always do).
    pub fn admitted(&self, text: &[u8]) -> Vec<usize> {
        let index = &self.index;
        let restricted = (0..self.rules.len()).any(|r| index.restricts(r));
        // A text holding an escape counts as containing every literal.
        if !restricted || escaped(text) {
            return self.rules.clone();
        }
        FOLDED.with(|folded| {
            let mut folded = folded.borrow_mut();
            fold(text, &mut folded);
            SEEN.with(|found| {
                let mut found = found.borrow_mut();
                let mut search = LiteralSearch::new(index, &folded, &mut found);
                (0..self.rules.len())
                    .filter(|i| search.admits(*i))
                    .map(|i| self.rules[i])
                    .collect()
            })
        })
    }
}

/// Which clauses one folded text holds: a clause of a few literals by SIMD substring
/// searches (each literal searched for once, when first asked), a longer one by its own
/// automaton, which stops at its first literal.
struct LiteralSearch<'a> {
    index: &'a LiteralIndex,
    text: &'a [u8],
    /// Per literal: 0 not yet searched, 1 absent, 2 present.
    found: &'a mut Vec<u8>,
}

impl<'a> LiteralSearch<'a> {
    fn new(index: &'a LiteralIndex, text: &'a [u8], found: &'a mut Vec<u8>) -> Self {
        found.clear();
        found.resize(index.literals, 0);
        LiteralSearch { index, text, found }
    }

    /// Whether literal `id` is in the text, searched alone.
    fn contains(&mut self, id: usize) -> bool {
        if self.found[id] == 0 {
            let present = self.index.finders[id].find(self.text).is_some();
            self.found[id] = if present { 2 } else { 1 };
        }
        self.found[id] == 2
    }

    /// Whether every clause of rule `rule` holds; its gate (a short clause) first.
    fn admits(&mut self, rule: usize) -> bool {
        let Some(clauses) = self.index.clauses.get(rule) else {
            return true;
        };
        let gate = self.index.gates.get(rule).copied().flatten();
        // The gate, then the other short clauses, then the long ones (an automaton each).
        let short = |c: &usize| clauses[*c].len() <= GATE_LITERALS;
        let mut order = gate
            .into_iter()
            .chain((0..clauses.len()).filter(|c| Some(*c) != gate && short(c)))
            .chain((0..clauses.len()).filter(|c| Some(*c) != gate && !short(c)));
        order.all(|c| {
            let clause = &clauses[c];
            match self.index.automata.get(rule).and_then(|a| a.get(c)) {
                Some(Some(automaton)) => automaton.is_match(self.text),
                _ => clause.iter().any(|id| self.contains(*id)),
            }
        })
    }
}

/// [`CandidateScan`]s built once per distinct set of rules.
pub struct CandidateScans {
    allowed: Vec<Allowed>,
    built: std::sync::RwLock<HashMap<Vec<u16>, std::sync::Arc<CandidateScan>>>,
}

impl CandidateScans {
    /// Scans over the rules whose necessary conditions are `allowed` (in rule order).
    pub fn new(allowed: Vec<Allowed>) -> CandidateScans {
        CandidateScans {
            allowed,
            built: Default::default(),
        }
    }

    /// The scan for the rules `rules` (indexes into the rule order); one whose automaton
    /// cannot be built narrows nothing: every rule is admitted.
    pub fn for_rules_or_all(&self, rules: &[u16]) -> std::sync::Arc<CandidateScan> {
        self.for_rules(rules).unwrap_or_else(|_| {
            std::sync::Arc::new(CandidateScan {
                rules: rules.iter().map(|r| *r as usize).collect(),
                index: LiteralIndex::default(),
            })
        })
    }

    /// The scan for the rules `rules` (indexes into the rule order).
    pub fn for_rules(&self, rules: &[u16]) -> crate::Result<std::sync::Arc<CandidateScan>> {
        if let Some(found) = self.built.read().ok().and_then(|b| b.get(rules).cloned()) {
            return Ok(found);
        }
        let subset: Vec<Allowed> = rules
            .iter()
            .map(|r| self.allowed.get(*r as usize).cloned().unwrap_or_default())
            .collect();
        let scan = std::sync::Arc::new(CandidateScan {
            rules: rules.iter().map(|r| *r as usize).collect(),
            index: LiteralIndex::new(&subset)?,
        });
        if let Ok(mut built) = self.built.write() {
            built.insert(rules.to_vec(), std::sync::Arc::clone(&scan));
        }
        Ok(scan)
    }
}

/// Every rule's literal clauses, searched in a record's text folded to lower case.
#[derive(Default)]
pub struct LiteralIndex {
    /// Per rule, per clause: for a clause of more than [`GATE_LITERALS`] literals, an
    /// automaton of its literals alone (few enough for its SIMD prefilter).
    automata: Vec<Vec<Option<aho_corasick::AhoCorasick>>>,
    literals: usize,
    /// Per rule: its clauses, as literal ids.
    clauses: Vec<Vec<Vec<usize>>>,
    /// Per rule: the clause checked first, one of at most [`GATE_LITERALS`] literals (the
    /// one whose shortest literal is longest): most records lack it, and a few SIMD
    /// searches say so.
    gates: Vec<Option<usize>>,
    /// Per literal: a substring search for it, folded to lower case.
    finders: Vec<memchr::memmem::Finder<'static>>,
}

/// The most literals a gate clause may have.
const GATE_LITERALS: usize = 4;

impl LiteralIndex {
    /// The index of the rules' necessary conditions, in rule order.
    pub fn new(allowed: &[Allowed]) -> crate::Result<LiteralIndex> {
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut texts: Vec<String> = Vec::new();
        let mut clauses = Vec::with_capacity(allowed.len());
        for a in allowed {
            let mut rule = Vec::new();
            // A long clause implies a short one: the text its literals share (a rule's long
            // lists are mostly one prefix, `microsoft.keyvault/vaults/...`), which a few SIMD
            // searches rule out before the long clause's automaton runs.
            let shared = a
                .literals
                .iter()
                .filter(|clause| clause.len() > GATE_LITERALS)
                .filter_map(|clause| shared_texts(clause));
            let literals: Vec<Vec<String>> = a.literals.iter().cloned().chain(shared).collect();
            for clause in &literals {
                let mut members: Vec<usize> = clause
                    .iter()
                    .map(|literal| {
                        *ids.entry(literal.clone()).or_insert_with(|| {
                            texts.push(literal.clone());
                            texts.len() - 1
                        })
                    })
                    .collect();
                members.sort_unstable();
                members.dedup();
                rule.push(members);
            }
            clauses.push(rule);
        }
        let gates = clauses
            .iter()
            .map(|rule: &Vec<Vec<usize>>| {
                let shortest = |clause: &Vec<usize>| {
                    clause.iter().map(|id| texts[*id].len()).min().unwrap_or(0)
                };
                rule.iter()
                    .enumerate()
                    .filter(|(_, clause)| !clause.is_empty() && clause.len() <= GATE_LITERALS)
                    .max_by_key(|(_, clause)| (shortest(clause), std::cmp::Reverse(clause.len())))
                    .map(|(c, _)| c)
            })
            .collect();
        let finders = texts
            .iter()
            .map(|text| {
                let text = text.to_ascii_lowercase();
                memchr::memmem::Finder::new(text.as_bytes()).into_owned()
            })
            .collect();
        // The texts are searched folded to lower case rather than with an automaton that
        // ignores case, which would turn off its SIMD prefilters (memmem, Teddy): what makes
        // a search for a few literals fast.
        let automata = clauses
            .iter()
            .map(|rule| {
                rule.iter()
                    .map(|clause| {
                        if clause.len() <= GATE_LITERALS {
                            return Ok(None);
                        }
                        let lower = clause.iter().map(|id| texts[*id].to_ascii_lowercase());
                        aho_corasick::AhoCorasick::new(lower)
                            .map(Some)
                            .map_err(|e| crate::Error::Invalid(format!("Sigma literals: {e}")))
                    })
                    .collect::<crate::Result<Vec<_>>>()
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(LiteralIndex {
            automata,
            literals: texts.len(),
            clauses,
            gates,
            finders,
        })
    }

    /// Whether rule `rule` has literal clauses.
    pub fn restricts(&self, rule: usize) -> bool {
        self.clauses.get(rule).is_some_and(|c| !c.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(clauses: &[&[&str]]) -> Allowed {
        Allowed {
            columns: None,
            literals: clauses
                .iter()
                .map(|c| c.iter().map(|l| l.to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn a_long_clause_is_gated_by_the_texts_its_literals_share() {
        let texts = |list: &[&str]| list.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        let shared = |list: &[&str]| shared_texts(&texts(list));
        assert_eq!(
            shared(&[
                "microsoft.keyvault/vaults/keys/write",
                "microsoft.keyvault/vaults/keys/delete",
                "microsoft.keyvault/vaults/secrets/write",
            ]),
            Some(texts(&["microsoft.keyvault/vaults/"]))
        );
        // Two families (encoded and plain paths): one text each.
        assert_eq!(
            shared(&[
                "%2fbin%2fash",
                "%2fbin%2fbash",
                "%2fusr%2fbin%2fcurl",
                "/bin/sh",
                "/bin/zsh",
                "/usr/bin/wget",
            ]),
            Some(texts(&["%2fbin%2f", "/bin/"]))
        );
        // Nothing shared, or too little to rule records out: no gate.
        assert_eq!(shared(&["imap", "pop3", "smtp", "mapi", "exchange"]), None);
        assert_eq!(
            shared(&["a.x", "b.create", "c.delete", "d.update", "e.patch"]),
            None
        );
    }

    #[test]
    fn a_record_is_admitted_for_the_rules_whose_every_clause_it_holds() {
        let many: Vec<String> = (0..9).map(|i| format!("Action{i}Name")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let scans = CandidateScans::new(vec![
            // One short clause: decided by substring searches.
            needs(&[&["401", "403"]]),
            // Two clauses: the gate (longest shortest literal) and another.
            needs(&[&["AssumedRole"], &["Role"]]),
            // A long clause: its automaton.
            needs(&[&["iam"], &many]),
            // No literal at all: always admitted.
            Allowed::all(),
        ]);
        let scan = scans.for_rules(&[0, 1, 2, 3]).unwrap();
        let admitted = |text: &str| scan.admitted(text.as_bytes());
        assert_eq!(admitted(r#"{"code":200,"t":"Role"}"#), vec![3]);
        assert_eq!(admitted(r#"{"code":403}"#), vec![0, 3]);
        // ASCII case is ignored, and a literal may overlap another.
        assert_eq!(admitted(r#"{"type":"ASSUMEDROLE"}"#), vec![1, 3]);
        assert_eq!(admitted(r#"{"src":"IAM","e":"action7name"}"#), vec![2, 3]);
        assert_eq!(admitted(r#"{"src":"iam","e":"Action9Name"}"#), vec![3]);
        // An escape could hide any literal: every rule is evaluated.
        assert_eq!(admitted(r#"{"e":"\u0041"}"#), vec![0, 1, 2, 3]);
        // A long clause's shared text gates it: without "action", its automaton never runs.
        assert_eq!(admitted(r#"{"src":"iam","e":"Acti0nName"}"#), vec![3]);
        // The same subset is built once.
        assert!(std::sync::Arc::ptr_eq(
            &scan,
            &scans.for_rules(&[0, 1, 2, 3]).unwrap()
        ));
    }
}
