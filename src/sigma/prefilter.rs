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
use rsigma_eval::{CompiledDetection, CompiledDetectionItem};
use rsigma_parser::{ConditionExpr, Detection, Modifier, Quantifier, SelectorPattern};
use serde_json::Value;

use super::fields::Source;
use super::rules::LoadedRule;

/// The distinct values of the categorical columns, by physical id.
pub type ColumnValues = HashMap<&'static str, Vec<(u32, String)>>;

/// Which values of which exact columns a rule's rows may have.
#[derive(Debug, Clone, PartialEq)]
pub enum Allowed {
    /// No restriction.
    All,
    /// Per column, whether each physical id may match (rows whose value is null always may).
    Ids(BTreeMap<&'static str, Vec<bool>>),
}

impl Allowed {
    fn and(self, other: Allowed) -> Allowed {
        match (self, other) {
            (Allowed::All, x) | (x, Allowed::All) => x,
            (Allowed::Ids(mut a), Allowed::Ids(b)) => {
                for (column, ids) in b {
                    match a.get_mut(column) {
                        Some(mine) => zip_in_place(mine, &ids, |x, y| x && y),
                        None => {
                            a.insert(column, ids);
                        }
                    }
                }
                Allowed::Ids(a)
            }
        }
    }

    fn or(self, other: Allowed) -> Allowed {
        match (self, other) {
            (Allowed::Ids(mut a), Allowed::Ids(b))
                if a.len() == 1 && b.len() == 1 && a.keys().next() == b.keys().next() =>
            {
                if let (Some(mine), Some(theirs)) = (a.values_mut().next(), b.values().next()) {
                    zip_in_place(mine, theirs, |x, y| x || y);
                }
                Allowed::Ids(a)
            }
            _ => Allowed::All,
        }
    }

    /// Whether a row with these physical ids (by column; `None`: null) may match.
    pub fn admits(&self, id_of: impl Fn(&str) -> Option<u32>) -> bool {
        match self {
            Allowed::All => true,
            Allowed::Ids(columns) => columns.iter().all(|(column, ids)| match id_of(column) {
                None => true,
                Some(id) => ids.get(id as usize).copied().unwrap_or(true),
            }),
        }
    }

    /// The columns it restricts.
    pub fn columns(&self) -> Vec<&'static str> {
        match self {
            Allowed::All => Vec::new(),
            Allowed::Ids(c) => c.keys().copied().collect(),
        }
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
    if uses_field_references(&rule.parsed.detection.named) {
        return Allowed::All;
    }
    let context = Context {
        source: rule.source,
        values,
        detections: &rule.compiled.detections,
    };
    rule.compiled
        .conditions
        .iter()
        .map(|c| context.condition(c))
        .reduce(Allowed::or)
        .unwrap_or(Allowed::All)
}

struct Context<'a> {
    source: Source,
    values: &'a ColumnValues,
    detections: &'a HashMap<String, CompiledDetection>,
}

impl Context<'_> {
    fn condition(&self, expr: &ConditionExpr) -> Allowed {
        match expr {
            ConditionExpr::And(parts) => parts
                .iter()
                .map(|p| self.condition(p))
                .fold(Allowed::All, Allowed::and),
            ConditionExpr::Or(parts) => parts
                .iter()
                .map(|p| self.condition(p))
                .reduce(Allowed::or)
                .unwrap_or(Allowed::All),
            ConditionExpr::Not(_) => Allowed::All,
            ConditionExpr::Identifier(name) => self
                .detections
                .get(name)
                .map_or(Allowed::All, |d| self.detection(d)),
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
                    named.fold(Allowed::All, Allowed::and)
                } else {
                    named.reduce(Allowed::or).unwrap_or(Allowed::All)
                }
            }
        }
    }

    fn detection(&self, detection: &CompiledDetection) -> Allowed {
        match detection {
            CompiledDetection::AllOf(items) => items
                .iter()
                .map(|i| self.item(i))
                .fold(Allowed::All, Allowed::and),
            CompiledDetection::AnyOf(list) => list
                .iter()
                .map(|d| self.detection(d))
                .reduce(Allowed::or)
                .unwrap_or(Allowed::All),
            CompiledDetection::And(list) => list
                .iter()
                .map(|d| self.detection(d))
                .fold(Allowed::All, Allowed::and),
            _ => Allowed::All,
        }
    }

    fn item(&self, item: &CompiledDetectionItem) -> Allowed {
        if item.exists.is_some() {
            return Allowed::All;
        }
        let Some(field) = item.field.as_deref() else {
            return Allowed::All;
        };
        let Some(exact) = self.source.exact_column(field) else {
            return Allowed::All;
        };
        let column = exact.column;
        let Some(values) = self.values.get(column) else {
            return Allowed::All;
        };
        let nothing = Value::Null;
        let empty = JsonEvent::borrow(&nothing);
        if item.matcher.matches(&EventValue::Null, &empty) {
            // The test holds for a missing field, whatever the column says.
            return Allowed::All;
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
        Allowed::Ids(BTreeMap::from([(column, ids)]))
    }
}

fn uses_field_references(named: &HashMap<String, Detection>) -> bool {
    fn walk(d: &Detection) -> bool {
        match d {
            Detection::AllOf(items) => items
                .iter()
                .any(|i| i.field.modifiers.contains(&Modifier::FieldRef)),
            Detection::AnyOf(list) | Detection::And(list) => list.iter().any(walk),
            Detection::Keywords(_) => false,
            Detection::ArrayMatch { body, .. } => walk(body),
            Detection::Conditional { named, .. } => named.values().any(walk),
        }
    }
    named.values().any(walk)
}
