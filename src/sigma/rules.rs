//! Reading Sigma rule files: every YAML file under the given paths is parsed and compiled by
//! rsigma; what cannot be run (a parse or compile error, a log source trailscope does not
//! load, an oversized file) is kept with its reason, so nothing is dropped silently.

use std::path::{Path, PathBuf};

use rsigma_eval::CompiledRule;
use rsigma_parser::{CorrelationRule, Level, SigmaRule};

use super::fields::Source;
use crate::detectors::Severity;
use crate::{Error, Result};

/// Rule files larger than this are refused (the public rules are a few kilobytes; a YAML
/// file this large is a mistake or an attack on the parser).
const MAX_RULE_FILE: u64 = 1 << 20;

/// A detection rule ready to run.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    /// The file it came from.
    pub path: PathBuf,
    /// Its `id` (else its title).
    pub id: String,
    /// Its key in findings (`sigma:<key>`): the file's name, numbered after the first rule of
    /// a file.
    pub key: String,
    /// Its `name`, which correlation rules may use to refer to it.
    pub name: Option<String>,
    /// Its title.
    pub title: String,
    /// Its severity, from `level`.
    pub severity: Severity,
    /// ATT&CK technique ids from its tags (`attack.t1078.004` -> `T1078.004`).
    pub mitre: Vec<String>,
    /// The log source it reads.
    pub source: Source,
    /// Every field its detection names.
    pub fields: Vec<String>,
    /// As parsed.
    pub parsed: SigmaRule,
    /// As compiled by rsigma.
    pub compiled: CompiledRule,
}

/// A correlation rule ready to run.
#[derive(Debug, Clone)]
pub struct LoadedCorrelation {
    /// The file it came from.
    pub path: PathBuf,
    /// Its `id` (else its title).
    pub id: String,
    /// Its key in findings, as [`LoadedRule::key`].
    pub key: String,
    /// Its title.
    pub title: String,
    /// Its severity, from `level`.
    pub severity: Severity,
    /// ATT&CK technique ids from its tags.
    pub mitre: Vec<String>,
    /// As parsed.
    pub parsed: CorrelationRule,
}

/// A rule (or a whole file) that cannot run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconverted {
    /// The file.
    pub path: PathBuf,
    /// The rule's title, when the file was read far enough to know it.
    pub title: Option<String>,
    /// Why it cannot run.
    pub reason: String,
}

/// The rules read from a set of paths.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Detection rules that run.
    pub rules: Vec<LoadedRule>,
    /// Correlation rules that run.
    pub correlations: Vec<LoadedCorrelation>,
    /// What could not be converted, with reasons.
    pub unconverted: Vec<Unconverted>,
    /// Rule files read.
    pub files: usize,
}

impl RuleSet {
    /// Reads every `.yml`/`.yaml` file under `paths` (files or directories, recursively, in
    /// name order). A path that does not exist is an error; a bad rule is an [`Unconverted`].
    pub fn load(paths: &[PathBuf]) -> Result<RuleSet> {
        let mut set = RuleSet::default();
        for path in paths {
            if !path.exists() {
                return Err(Error::Invalid(format!(
                    "{}: no such Sigma rule file or directory",
                    path.display()
                )));
            }
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .follow_links(true)
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| {
                    p.extension().is_some_and(|x| {
                        x.eq_ignore_ascii_case("yml") || x.eq_ignore_ascii_case("yaml")
                    })
                })
                .collect();
            files.sort();
            for file in files {
                set.files += 1;
                set.read_file(&file);
            }
        }
        Ok(set)
    }

    /// Parses rules from YAML text as if read from `path` (tests, `sigma explain` on text).
    pub fn add_text(&mut self, path: &Path, text: &str) {
        let collection = match rsigma_parser::parse_sigma_yaml(text) {
            Ok(c) => c,
            Err(e) => return self.refuse(path, None, format!("not a Sigma rule: {e}")),
        };
        for error in &collection.errors {
            self.refuse(path, None, format!("not a Sigma rule: {error}"));
        }
        for rule in collection.rules {
            self.add_rule(path, rule);
        }
        for correlation in collection.correlations {
            let key = self.next_key(path);
            self.correlations.push(LoadedCorrelation {
                path: path.to_path_buf(),
                key,
                id: correlation
                    .id
                    .clone()
                    .unwrap_or_else(|| correlation.title.clone()),
                title: correlation.title.clone(),
                severity: severity(correlation.level.as_ref()),
                mitre: techniques(&correlation.tags),
                parsed: correlation,
            });
        }
        if !collection.filters.is_empty() {
            self.refuse(
                path,
                None,
                "Sigma filter documents are not supported (write the exclusion into the rule)"
                    .into(),
            );
        }
    }

    fn read_file(&mut self, path: &Path) {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size > MAX_RULE_FILE {
            return self.refuse(
                path,
                None,
                format!("file of {size} bytes is larger than a rule file may be (1 MiB)"),
            );
        }
        match std::fs::read(path) {
            Err(e) => self.refuse(path, None, format!("cannot read: {e}")),
            Ok(bytes) => match String::from_utf8(bytes) {
                Err(_) => self.refuse(path, None, "not UTF-8 text".into()),
                Ok(text) => self.add_text(path, &text),
            },
        }
    }

    fn add_rule(&mut self, path: &Path, rule: SigmaRule) {
        let title = Some(rule.title.clone());
        let Some(source) = Source::of(&rule.logsource) else {
            let ls = &rule.logsource;
            let named = [
                ls.product.as_deref().map(|p| format!("product {p}")),
                ls.service.as_deref().map(|s| format!("service {s}")),
                ls.category.as_deref().map(|c| format!("category {c}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            return self.refuse(
                path,
                title,
                format!("log source ({named}) is not one trailscope loads"),
            );
        };
        if let Some(timeframe) = &rule.detection.timeframe {
            // The deprecated aggregation form (`condition: ... | count() > 5` with `timeframe`)
            // is not a plain detection; correlations replace it.
            return self.refuse(
                path,
                title,
                format!(
                    "the deprecated timeframe ({timeframe}) aggregation: rewrite it as a correlation rule"
                ),
            );
        }
        let compiled = match rsigma_eval::compile_rule(&rule) {
            Ok(c) => c,
            Err(e) => return self.refuse(path, title, format!("cannot compile: {e}")),
        };
        let mut fields = Vec::new();
        for detection in rule.detection.named.values() {
            detection_fields(detection, &mut fields);
        }
        fields.sort();
        fields.dedup();
        let key = self.next_key(path);
        self.rules.push(LoadedRule {
            path: path.to_path_buf(),
            key,
            id: rule.id.clone().unwrap_or_else(|| rule.title.clone()),
            name: rule.name.clone(),
            title: rule.title.clone(),
            severity: severity(rule.level.as_ref()),
            mitre: techniques(&rule.tags),
            source,
            fields,
            parsed: rule,
            compiled,
        });
    }

    /// The file's name, numbered (`name#2`) when the name is taken already.
    fn next_key(&self, path: &Path) -> String {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let taken = |k: &str| {
            self.rules.iter().any(|r| r.key == k) || self.correlations.iter().any(|c| c.key == k)
        };
        if !taken(&stem) {
            return stem;
        }
        (2..)
            .map(|n| format!("{stem}#{n}"))
            .find(|k| !taken(k))
            .unwrap_or(stem)
    }

    fn refuse(&mut self, path: &Path, title: Option<String>, reason: String) {
        self.unconverted.push(Unconverted {
            path: path.to_path_buf(),
            title,
            reason,
        });
    }

    /// The rule a reference (`id`, `name` or title, as correlations and `sigma explain` use)
    /// names.
    pub fn find(&self, reference: &str) -> Option<&LoadedRule> {
        self.rules.iter().find(|r| {
            r.id == reference
                || r.name.as_deref() == Some(reference)
                || r.title.eq_ignore_ascii_case(reference)
        })
    }
}

fn detection_fields(detection: &rsigma_parser::Detection, out: &mut Vec<String>) {
    use rsigma_parser::Detection;
    match detection {
        Detection::AllOf(items) => {
            out.extend(items.iter().filter_map(|i| i.field.name.clone()));
        }
        Detection::AnyOf(list) => list.iter().for_each(|d| detection_fields(d, out)),
        Detection::Keywords(_) => {}
        Detection::ArrayMatch { field, body, .. } => {
            out.push(field.clone());
            detection_fields(body, out);
        }
        Detection::And(list) => list.iter().for_each(|d| detection_fields(d, out)),
        Detection::Conditional { named, .. } => {
            named.values().for_each(|d| detection_fields(d, out))
        }
    }
}

/// A Sigma level as a severity (none: medium, the specification's default).
fn severity(level: Option<&Level>) -> Severity {
    match level {
        Some(Level::Informational) => Severity::Info,
        Some(Level::Low) => Severity::Low,
        Some(Level::High) => Severity::High,
        Some(Level::Critical) => Severity::Critical,
        Some(Level::Medium) | None => Severity::Medium,
    }
}

/// ATT&CK technique ids from Sigma tags (`attack.t1562.008` -> `T1562.008`).
fn techniques(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| t.strip_prefix("attack."))
        .filter(|t| {
            let b = t.as_bytes();
            b.len() >= 5
                && b[0].eq_ignore_ascii_case(&b't')
                && b[1..5].iter().all(u8::is_ascii_digit)
        })
        .map(|t| t.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_load_with_their_source_level_and_techniques_and_bad_ones_are_kept_with_reasons() {
        let mut set = RuleSet::default();
        set.add_text(
            Path::new("a.yml"),
            "title: Stop logging\nid: r1\nlogsource: {product: aws, service: cloudtrail}\n\
             detection: {selection: {eventName: StopLogging}, condition: selection}\n\
             level: high\ntags: [attack.defense-evasion, attack.t1562.008]\n",
        );
        set.add_text(
            Path::new("b.yml"),
            "title: Windows thing\nlogsource: {product: windows, category: process_creation}\n\
             detection: {selection: {Image: x}, condition: selection}\n",
        );
        set.add_text(Path::new("c.yml"), "title: [unclosed\n");
        assert_eq!(set.rules.len(), 1);
        let rule = &set.rules[0];
        assert_eq!((rule.id.as_str(), rule.severity), ("r1", Severity::High));
        assert_eq!(rule.mitre, vec!["T1562.008"]);
        assert_eq!(rule.source, Source::CloudTrail);
        assert_eq!(rule.fields, vec!["eventName"]);
        assert_eq!(set.unconverted.len(), 2, "{:?}", set.unconverted);
        assert!(set.unconverted[0].reason.contains("product windows"));
        assert!(set.unconverted[1].reason.contains("not a Sigma rule"));
    }
}
