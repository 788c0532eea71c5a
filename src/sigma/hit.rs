//! One match of a Sigma detection rule.

/// One match of a detection rule.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The rule (index into [`RuleSet::rules`]).
    pub rule: usize,
    /// The frame row.
    pub row: u32,
    /// What matched, for the finding's reason (`eventName=StopLogging`).
    pub matched: String,
}
