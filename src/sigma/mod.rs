//! Sigma rules over the loaded events: the team's own detection rules, in the common language
//! of detection, run beside the built-in ones and reported as findings in the same contract.
//!
//! rsigma (MIT) parses and evaluates the rules, so the specification's semantics (modifiers,
//! conditions, case rules, type-tolerant matching, correlations, explanations) are its, not a
//! reimplementation. What trailscope adds is where the fields are and which records to read:
//! * [`rules`]: reading rule files; what cannot run is kept with its reason;
//! * [`fields`]: the log sources and the field mapping per source;
//! * [`record`]: one original record as rsigma sees it, through that mapping;
//! * [`prefilter`]: the rows a rule may match, decided on the normalized columns;
//! * [`reader`]: reading loaded events' original records again;
//! * [`run`]: reading the candidates' records once and evaluating the rules on them;
//! * [`tap`]: the same evaluation while loading, where the records' bytes are at hand;
//! * [`correlate`]: correlation rules over the matches, in time order;
//! * [`explain`]: why a rule did or did not match a record;
//! * [`check`]: what converts, how fields are read, what fires.

pub mod check;
pub mod correlate;
pub mod explain;
pub mod fields;
pub mod hit;
pub mod prefilter;
pub mod projection;
pub mod reader;
pub mod record;
pub mod rules;
pub mod run;
pub mod tap;

pub use fields::Source;
pub use rules::{LoadedCorrelation, LoadedRule, RuleSet, Unconverted};
pub use run::{SigmaRun, run, run_tapped};
pub use tap::SigmaTap;

/// The rule paths to run: `[detect] sigma` from the configuration, then those given on the
/// command line, each once.
pub fn rule_paths(
    config: &crate::config::Config,
    given: &[std::path::PathBuf],
) -> Vec<std::path::PathBuf> {
    let mut out: Vec<std::path::PathBuf> = Vec::new();
    for path in config
        .detect
        .sigma
        .iter()
        .map(std::path::PathBuf::from)
        .chain(given.iter().cloned())
    {
        if !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

/// Adds the findings of the Sigma rules `[detect] sigma` names (none: nothing to do) to
/// `findings`, in report order: what every view of findings (the TUI, reports, incidents)
/// shows beside the built-in rules'.
pub fn add_configured(
    store: &crate::store::FrameStore,
    frame: &polars::prelude::DataFrame,
    config: &crate::config::Config,
    findings: &mut Vec<crate::detectors::Finding>,
) -> crate::Result<()> {
    let paths = rule_paths(config, &[]);
    if paths.is_empty() {
        return Ok(());
    }
    let found = run_rules(store, frame, config, &paths)?.1.findings;
    if !found.is_empty() {
        findings.extend(found);
        crate::detectors::sort_findings(findings);
    }
    Ok(())
}

/// Reads the rules under `paths` and runs them over `frame`, matches grouped as the
/// configuration's `group_minutes` groups the built-in rules'.
pub fn run_rules(
    store: &crate::store::FrameStore,
    frame: &polars::prelude::DataFrame,
    config: &crate::config::Config,
    paths: &[std::path::PathBuf],
) -> crate::Result<(RuleSet, SigmaRun)> {
    let set = RuleSet::load(paths)?;
    let found = run(store, frame, &set, group_gap(config))?;
    Ok((set, found))
}

/// Matches of one rule and actor closer than this (µs) form one finding.
pub fn group_gap(config: &crate::config::Config) -> i64 {
    i64::from(config.detect.group_minutes) * crate::time::MINUTE
}
