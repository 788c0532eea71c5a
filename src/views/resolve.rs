//! Opening a view: its settings with what the command line gave on top. Every command that
//! takes `--view` (query, pivot, timeline, detect, report) resolves it here, so a flag
//! overrides a view's setting the same way everywhere.

use crate::analysis::{
    DEFAULT_PIVOT_TOP, DEFAULT_TIMELINE_LANES, PivotSpec, SortKey, TimeRange, TimelineSpec,
    ViewSpec,
};
use crate::detectors::Severity;
use crate::schema::ACTOR;
use crate::{Error, Result};

use super::{FindingsSpec, SavedView, ViewAnalysis};
use crate::audit::access::AccessSpec;

/// Settings given on the command line; each one set replaces the view's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--filter` (replaces the view's filter).
    pub filter: Option<String>,
    /// `--last`, `--after`/`--before`.
    pub range: Option<TimeRange>,
    /// `--tz`, when given explicitly.
    pub tz: Option<jiff::tz::TimeZone>,
    /// `--columns`.
    pub columns: Option<Vec<String>>,
    /// `--sort`.
    pub sort: Option<SortKey>,
    /// `--limit`.
    pub limit: Option<usize>,
    /// Pivot `--rows`.
    pub pivot_rows: Option<String>,
    /// Pivot `--cols`.
    pub pivot_cols: Option<String>,
    /// Pivot `--distinct`.
    pub pivot_distinct: Option<String>,
    /// Pivot `--top`.
    pub pivot_top: Option<usize>,
    /// Timeline `--by`.
    pub timeline_by: Option<String>,
    /// Timeline `--bucket`, in microseconds.
    pub bucket: Option<i64>,
    /// Timeline `--top`.
    pub timeline_top: Option<usize>,
    /// Detect `--min-severity`.
    pub min_severity: Option<Severity>,
}

/// A view ready to run: what to select, and what to show of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The view's name (empty without `--view`).
    pub name: String,
    /// Its title.
    pub title: String,
    /// Its note.
    pub note: String,
    /// Filter, range, zone, columns, sort, limit.
    pub view: ViewSpec,
    /// What it shows; a timeline's zone is `view.tz`.
    pub analysis: ViewAnalysis,
}

impl Overrides {
    /// Opens `view` (None: a view of every event) in `display_tz` (the zone of the
    /// configuration and `--tz`; a zone saved with the view wins over the configuration's,
    /// `tz` here over both), with these settings on top.
    pub fn resolve(&self, view: Option<&SavedView>, display_tz: &jiff::tz::TimeZone) -> Resolved {
        let base = view.cloned().unwrap_or_else(|| SavedView::new(""));
        let tz = self
            .tz
            .clone()
            .or(base.tz.clone())
            .unwrap_or_else(|| display_tz.clone());
        let mut spec = base.view;
        spec.tz = tz.clone();
        if let Some(filter) = &self.filter {
            spec.filter = filter.trim().to_string();
        }
        if let Some(range) = &self.range {
            spec.range = Some(range.clone());
        }
        if let Some(columns) = &self.columns {
            spec.columns = columns.clone();
        }
        if let Some(sort) = &self.sort {
            spec.sort = Some(sort.clone());
        }
        if let Some(limit) = self.limit {
            spec.limit = Some(limit);
        }
        let pivot_asked = self.pivot_rows.is_some()
            || self.pivot_cols.is_some()
            || self.pivot_distinct.is_some()
            || self.pivot_top.is_some();
        let timeline_asked =
            self.timeline_by.is_some() || self.bucket.is_some() || self.timeline_top.is_some();
        let analysis = match base.analysis {
            ViewAnalysis::Pivot(mut p) => {
                self.apply_pivot(&mut p);
                ViewAnalysis::Pivot(p)
            }
            ViewAnalysis::Timeline(mut t) => {
                self.apply_timeline(&mut t, &tz);
                ViewAnalysis::Timeline(t)
            }
            ViewAnalysis::Findings(mut f) => {
                if let Some(min) = self.min_severity {
                    f.min_severity = min;
                }
                ViewAnalysis::Findings(f)
            }
            audit @ (ViewAnalysis::Identities(_)
            | ViewAnalysis::Access(_)
            | ViewAnalysis::Review(_)) => audit,
            ViewAnalysis::Events if pivot_asked => {
                let mut p = PivotSpec {
                    rows: String::new(),
                    cols: None,
                    distinct: None,
                    top: DEFAULT_PIVOT_TOP,
                };
                self.apply_pivot(&mut p);
                ViewAnalysis::Pivot(p)
            }
            ViewAnalysis::Events if timeline_asked => {
                let mut t = default_timeline(&tz);
                self.apply_timeline(&mut t, &tz);
                ViewAnalysis::Timeline(t)
            }
            ViewAnalysis::Events => match self.min_severity {
                Some(min_severity) => ViewAnalysis::Findings(FindingsSpec {
                    min_severity,
                    rules: Vec::new(),
                }),
                None => ViewAnalysis::Events,
            },
        };
        Resolved {
            name: base.name,
            title: base.title,
            note: base.note,
            view: spec,
            analysis,
        }
    }

    fn apply_pivot(&self, p: &mut PivotSpec) {
        if let Some(rows) = &self.pivot_rows {
            p.rows = rows.clone();
        }
        if let Some(cols) = &self.pivot_cols {
            p.cols = Some(cols.clone());
        }
        if let Some(distinct) = &self.pivot_distinct {
            p.distinct = Some(distinct.clone());
        }
        if let Some(top) = self.pivot_top {
            p.top = top;
        }
    }

    fn apply_timeline(&self, t: &mut TimelineSpec, tz: &jiff::tz::TimeZone) {
        t.tz = tz.clone();
        if let Some(by) = &self.timeline_by {
            t.by = by.clone();
        }
        if let Some(bucket) = self.bucket {
            t.bucket = Some(bucket);
        }
        if let Some(top) = self.timeline_top {
            t.top = top;
        }
    }
}

fn default_timeline(tz: &jiff::tz::TimeZone) -> TimelineSpec {
    TimelineSpec {
        by: ACTOR.to_string(),
        bucket: None,
        tz: tz.clone(),
        top: DEFAULT_TIMELINE_LANES,
    }
}

impl Resolved {
    /// The pivot to run: the view's, or an error saying to give `--rows`.
    pub fn pivot(&self) -> Result<PivotSpec> {
        match &self.analysis {
            ViewAnalysis::Pivot(p) if !p.rows.is_empty() => Ok(p.clone()),
            _ => Err(Error::Invalid(self.missing("pivot", "--rows COL"))),
        }
    }

    /// The timeline to run: the view's, else lanes by actor in the view's zone.
    pub fn timeline(&self) -> TimelineSpec {
        match &self.analysis {
            ViewAnalysis::Timeline(t) => t.clone(),
            _ => default_timeline(&self.view.tz),
        }
    }

    /// The access audit's spec and whether the view is the review: the view's, else None.
    pub fn access(&self) -> Option<(AccessSpec, bool)> {
        match &self.analysis {
            ViewAnalysis::Access(a) => Some((a.clone(), false)),
            ViewAnalysis::Review(a) => Some((a.clone(), true)),
            _ => None,
        }
    }

    /// The identity inventory's spec: the view's, else None.
    pub fn identities(&self) -> Option<crate::audit::identities::IdentitiesSpec> {
        match &self.analysis {
            ViewAnalysis::Identities(i) => Some(i.clone()),
            _ => None,
        }
    }

    /// Which findings to list: the view's, else every finding.
    pub fn findings(&self) -> FindingsSpec {
        match &self.analysis {
            ViewAnalysis::Findings(f) => f.clone(),
            _ => FindingsSpec::default(),
        }
    }

    fn missing(&self, what: &str, flag: &str) -> String {
        if self.name.is_empty() {
            format!("{flag} is required")
        } else {
            format!(
                "view '{}' has no {what} ({}): give {flag}",
                self.name,
                self.analysis.describe()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved() -> SavedView {
        let mut view = SavedView::new("weekly");
        view.view.filter = "outcome:failure".into();
        view.view.columns = vec!["actor".into()];
        view.tz = jiff::tz::TimeZone::get("Europe/Berlin").ok();
        view.analysis = ViewAnalysis::Timeline(TimelineSpec {
            by: "provider".into(),
            bucket: Some(3_600_000_000),
            tz: jiff::tz::TimeZone::UTC,
            top: 5,
        });
        view
    }

    #[test]
    fn flags_replace_only_what_they_name() {
        let utc = jiff::tz::TimeZone::UTC;
        let plain = Overrides::default().resolve(Some(&saved()), &utc);
        assert_eq!(plain.view.filter, "outcome:failure");
        assert_eq!(plain.view.tz.iana_name(), Some("Europe/Berlin"));
        let ViewAnalysis::Timeline(t) = &plain.analysis else {
            panic!("{plain:?}")
        };
        // The timeline follows the view's zone.
        assert_eq!(
            (t.by.as_str(), t.bucket, t.top, t.tz.iana_name()),
            ("provider", Some(3_600_000_000), 5, Some("Europe/Berlin"))
        );
        let overridden = Overrides {
            filter: Some(" actor:bob ".into()),
            bucket: Some(60_000_000),
            tz: Some(utc.clone()),
            ..Overrides::default()
        }
        .resolve(Some(&saved()), &utc);
        assert_eq!(overridden.view.filter, "actor:bob");
        assert_eq!(overridden.view.columns, ["actor"]);
        let t = overridden.timeline();
        assert_eq!((t.by.as_str(), t.bucket), ("provider", Some(60_000_000)));
        assert_eq!(t.tz.iana_name(), Some("UTC"));
        assert!(overridden.pivot().is_err());
    }

    #[test]
    fn without_a_view_the_flags_are_the_view() {
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let resolved = Overrides {
            pivot_rows: Some("actor".into()),
            ..Overrides::default()
        }
        .resolve(None, &berlin);
        assert_eq!(resolved.view.tz.iana_name(), Some("Europe/Berlin"));
        let pivot = resolved.pivot().unwrap();
        assert_eq!(
            (pivot.rows.as_str(), pivot.top),
            ("actor", DEFAULT_PIVOT_TOP)
        );
        let missing = Overrides::default().resolve(None, &berlin).pivot();
        assert!(missing.is_err_and(|e| e.to_string() == "--rows COL is required"));
    }
}
