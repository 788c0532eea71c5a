//! Reports of several views (`report --view A --view B ...`): an incident ticket's "root
//! use" + "logging changes" + "credential creation", or a weekly pack of built-in views.
//!
//! HTML and Markdown hold one document: the masthead, a table of contents, one section per
//! view in the order given (each as a report of one view shows it: counts, definition and
//! the command line that makes it alone, timeline, top values, findings in scope, events),
//! and one scope shared by all. The rules run once and the inputs are hashed once for all
//! sections; one redactor serves the whole document, so a value has one pseudonym
//! everywhere in it.
//!
//! The row formats cannot hold several tables in one file cleanly, so they write one file
//! per view beside the path asked for (`report.csv` -> `report-<view>.csv`), each exactly the
//! file a report of that view alone would be (with the same redactor for all of them).

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::detectors::Finding;
use crate::store::FrameStore;
use crate::{Error, Location, Result};

use super::{
    Evidence, Masthead, Prepared, Report, ReportFormat, ReportSpec, ReportStats, Scope,
    default_author, document, html, markdown, prepare, redactor, shell_line, write_file,
    write_rows_report,
};

/// Several views in one report.
#[derive(Debug, Clone)]
pub struct MultiSpec {
    /// Title (empty: "trailscope report: N views").
    pub title: String,
    /// Free text shown under the title.
    pub note: String,
    /// The views, in the order their sections (or files) come; each one's `view_name`
    /// names its section and its file.
    pub views: Vec<ReportSpec>,
    /// The command-line words that applied to every view (`--filter X --last 7d`), shown
    /// in each section's definition and in the command line that makes the report again.
    pub shared: Vec<String>,
    /// Fields to redact, across the whole report.
    pub redact: Vec<String>,
    /// The redaction key file (None: the default).
    pub redact_key: Option<PathBuf>,
    /// Who generated it (None: `$USER@host`).
    pub author: Option<String>,
    /// The inputs as the user named them (empty: the inputs).
    pub paths: Vec<String>,
    /// The display zone of the masthead and the scope (each section shows its view's).
    pub tz: jiff::tz::TimeZone,
}

impl Default for MultiSpec {
    fn default() -> Self {
        MultiSpec {
            title: String::new(),
            note: String::new(),
            views: Vec::new(),
            shared: Vec::new(),
            redact: Vec::new(),
            redact_key: None,
            author: None,
            paths: Vec::new(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }
}

/// One view's section of a report of several.
#[derive(Debug, Clone)]
pub struct ViewSection {
    /// Its anchor (HTML id, `view-<name>`), unique in the page.
    pub anchor: String,
    /// The view's report, as a report of it alone would hold it.
    pub report: Report,
}

/// A report of several views, built and (when asked) redacted.
#[derive(Debug, Clone)]
pub struct MultiReport {
    /// Title.
    pub title: String,
    /// Note.
    pub note: String,
    /// Generation time (RFC 3339 UTC).
    pub generated_at: String,
    /// `user@host` or `--author`.
    pub generated_by: String,
    /// trailscope's version.
    pub version: &'static str,
    /// SHA-256 of the effective configuration.
    pub config_hash: String,
    /// Fields redacted (empty: none).
    pub redacted: Vec<&'static str>,
    /// `trailscope report --view A --view B ...` that makes this report again.
    pub report_command: String,
    /// The views, in order.
    pub views: Vec<ViewSection>,
    /// The scope, shared.
    pub scope: Scope,
    /// The display zone of the masthead and scope.
    pub tz: jiff::tz::TimeZone,
    /// The zone's name.
    pub tz_name: String,
}

impl MultiReport {
    /// What the page starts with.
    pub fn masthead(&self) -> Masthead<'_> {
        Masthead {
            title: &self.title,
            note: &self.note,
            generated_at: &self.generated_at,
            generated_by: &self.generated_by,
            version: self.version,
            config_hash: &self.config_hash,
            redacted: &self.redacted,
            tz: &self.tz_name,
        }
    }
}

/// A file a report wrote, and what went into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// The view it holds (None: every view, an HTML or Markdown report).
    pub view: Option<String>,
    /// What was written.
    pub stats: ReportStats,
}

/// `name` as a part of a file name or an HTML id: letters, digits, `-`, `_` and `.` kept,
/// anything else `-`, never empty or starting with a dot.
pub fn safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, 'v');
    }
    out
}

/// The file of one view beside `path`: `report.csv` -> `report-<view>.csv`.
pub fn view_file(path: &Path, view: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{}.{}", safe_name(view), ext.to_string_lossy()),
        None => format!("{stem}-{}", safe_name(view)),
    };
    path.with_file_name(name)
}

/// A view's name in a report of several (its saved name, else its position).
fn view_label(index: usize, spec: &ReportSpec) -> String {
    spec.view_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("view-{}", index + 1))
}

/// Writes the report of several views: one HTML or Markdown file at `path`, or one file
/// per view beside it in a row format (see [`view_file`]). Every file is written
/// atomically; `findings` are the rules' findings over the whole frame when known.
pub fn write_multi(
    store: &FrameStore,
    config: &Config,
    spec: &MultiSpec,
    format: ReportFormat,
    path: &Path,
    findings: Option<&[Finding]>,
) -> Result<Vec<Written>> {
    if spec.views.is_empty() {
        return Err(Error::Invalid("a report needs at least one view".into()));
    }
    let labels: Vec<String> = (spec.views.iter().enumerate())
        .map(|(i, v)| view_label(i, v))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for label in &labels {
        if !seen.insert(safe_name(label)) {
            return Err(Error::Invalid(format!(
                "the view '{}' is given twice (or two views' names make the same file name)",
                crate::text::escape_control(label)
            )));
        }
    }
    let prepared: Vec<Prepared> = (spec.views.iter())
        .map(|v| prepare(store, config, v))
        .collect::<Result<_>>()?;
    let pairs: Vec<_> = (prepared.iter())
        .map(|p| (p.selection.rows.as_ref(), p.audit.as_ref()))
        .collect();
    let redactor = redactor(store, &spec.redact, spec.redact_key.as_deref(), &pairs)?;
    let redactor = redactor.as_ref();
    match format {
        ReportFormat::Rows(rows_format) => {
            let mut written = Vec::new();
            for ((view, prepared), label) in spec.views.iter().zip(prepared).zip(&labels) {
                let file = view_file(path, label);
                let stats = write_file(&file, |out| {
                    write_rows_report(out, store, view, prepared, rows_format, redactor, &file)
                })?;
                written.push(Written {
                    path: file,
                    view: Some(label.clone()),
                    stats,
                });
            }
            Ok(written)
        }
        ReportFormat::Html | ReportFormat::Markdown => {
            let evidence = Evidence::gather(store, config, findings)?;
            let shared = shell_line(&spec.shared);
            let mut views = Vec::new();
            for ((view, prepared), label) in spec.views.iter().zip(prepared).zip(&labels) {
                let mut report =
                    document(store, view, prepared, (format, path), &evidence, redactor)?;
                report.view.shared = redactor.map_or_else(|| shared.clone(), |r| r.scrub(&shared));
                views.push(ViewSection {
                    anchor: format!("view-{}", safe_name(label)),
                    report,
                });
            }
            let mut report = MultiReport {
                title: if spec.title.trim().is_empty() {
                    format!("trailscope report: {} views", views.len())
                } else {
                    spec.title.clone()
                },
                note: spec.note.clone(),
                generated_at: jiff::Timestamp::now()
                    .round(jiff::Unit::Second)
                    .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string()),
                generated_by: spec.author.clone().unwrap_or_else(default_author),
                version: env!("CARGO_PKG_VERSION"),
                config_hash: evidence.config_hash.clone(),
                redacted: Vec::new(),
                report_command: command(store, spec, &labels, format, path),
                views,
                scope: evidence.scope.clone(),
                tz_name: spec.tz.iana_name().unwrap_or("UTC").to_string(),
                tz: spec.tz.clone(),
            };
            if let Some(r) = redactor {
                report.redacted = r.columns().to_vec();
                report.title = r.scrub(&report.title);
                report.note = r.scrub(&report.note);
                report.report_command = r.scrub(&report.report_command);
                super::redact_scope(&mut report.scope, r);
            }
            let stats = ReportStats {
                matching: report.views.iter().map(|v| v.report.matching).sum(),
                written: report
                    .views
                    .iter()
                    .map(|v| v.report.events.rows.len())
                    .sum(),
                findings: report.views.iter().map(|v| v.report.finding_count).sum(),
            };
            write_file(path, |out| {
                let io = |source| Error::Io {
                    location: Location::file(path.display().to_string()),
                    source,
                };
                if format == ReportFormat::Html {
                    html::write_multi(out, &report).map_err(io)?;
                } else {
                    markdown::write_multi(out, &report).map_err(io)?;
                }
                out.flush().map_err(io)
            })?;
            Ok(vec![Written {
                path: path.to_path_buf(),
                view: None,
                stats,
            }])
        }
    }
}

/// `trailscope report --view A --view B <shared> ... --out PATH INPUTS`.
fn command(
    store: &FrameStore,
    spec: &MultiSpec,
    labels: &[String],
    format: ReportFormat,
    path: &Path,
) -> String {
    let mut words = vec!["trailscope".to_string(), "report".to_string()];
    for label in labels {
        words.extend(["--view".into(), label.clone()]);
    }
    words.extend(spec.shared.iter().cloned());
    if !spec.redact.is_empty() {
        words.extend(["--redact".into(), spec.redact.join(",")]);
    }
    words.extend(["--format".into(), format.name().into()]);
    words.extend(["--out".into(), path.display().to_string()]);
    if spec.paths.is_empty() {
        words.extend(store.inputs().iter().map(|i| i.name.clone()));
    } else {
        words.extend(spec.paths.iter().cloned());
    }
    shell_line(&words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_files_sit_beside_the_path_with_safe_names() {
        assert_eq!(
            view_file(Path::new("out/report.csv"), "root-and-break-glass"),
            PathBuf::from("out/report-root-and-break-glass.csv")
        );
        assert_eq!(
            view_file(Path::new("r.parquet"), "../etc/x y"),
            PathBuf::from("r-v..-etc-x-y.parquet")
        );
        assert_eq!(safe_name(".hidden"), "v.hidden");
        assert_eq!(safe_name(""), "v");
    }
}
