//! Reports: a view of the loaded events handed on as evidence. [`write`] builds a
//! [`Report`] from the store (scope with input hashes, the view's definition and the command
//! lines that reproduce it, counts, a timeline, top values, the findings in scope, the
//! matching events capped) and writes it as HTML ([`html`]) or Markdown ([`markdown`]); the
//! row formats ([`rows`]: CSV, JSON, NDJSON, Parquet) carry every matching event instead,
//! streamed. With redaction ([`redact`]) every value of the chosen fields becomes a keyed
//! pseudonym wherever it appears.
//!
//! The same report twice from the same inputs is the same apart from its generation time:
//! findings, top values, streams and inputs are put in a fixed order.

pub mod html;
pub mod markdown;
pub mod multi;
pub mod outputs;
pub mod redact;
pub mod rows;
pub mod scope;
pub mod svg;
mod text_rows;

use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::IdxCa;
use sha2::{Digest, Sha256};

use crate::analysis::{
    self, Counts, SortKey, TimeRange, Timeline, TimelineSpec, ViewSpec, selected_frame,
    value_counts,
};
use crate::audit::access::AccessSpec;
use crate::config::Config;
use crate::detectors::{self, Finding, Severity};
use crate::output::table::{Cell, Grid};
use crate::schema::{ACTION, ACTOR, EVENT_ID, OUTCOME, RESOURCE, SESSION, SRC_IP};
use crate::store::FrameStore;
use crate::views::{FindingsSpec, ViewAnalysis};
use crate::{Error, Location, Result};

pub use multi::{MultiReport, MultiSpec, ViewSection, Written, view_file, write_multi};
pub use redact::{REDACTABLE, Redactor};
pub use rows::RowFormat;
pub use scope::Scope;

/// Events shown in an HTML or Markdown report when the spec does not say.
pub const DEFAULT_MAX_ROWS: usize = 1_000;
/// Values in each top-N table.
pub const TOP_VALUES: usize = 10;
/// Lanes of the report's timeline: the outcomes.
const TIMELINE_LANES: usize = 3;

/// What to report: a view of the events, and how the report is labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSpec {
    /// Title (empty: "trailscope report").
    pub title: String,
    /// Free text shown under the title.
    pub note: String,
    /// The saved view it was made from, if any (shown in the command line).
    pub view_name: Option<String>,
    /// The events: filter, time range, zone, columns, sort.
    pub view: ViewSpec,
    /// Findings below this severity are left out.
    pub min_severity: Severity,
    /// Only the findings of these rules (empty: every rule), as a findings view lists them.
    pub rules: Vec<String>,
    /// Fields to redact (`actor`, `ip`, ...; see [`REDACTABLE`]).
    pub redact: Vec<String>,
    /// The redaction key file (None: [`redact::default_key_path`]).
    pub redact_key: Option<PathBuf>,
    /// Who generated it (None: `$USER@host`).
    pub author: Option<String>,
    /// Events shown in HTML and Markdown.
    pub max_rows: usize,
    /// The inputs as the user named them, for the command line shown (empty: the inputs).
    pub paths: Vec<String>,
    /// The view's analysis: an access audit or access review is shown as its own section
    /// (and is the table of CSV, JSON and NDJSON reports); the others are not shown.
    pub analysis: ViewAnalysis,
}

impl Default for ReportSpec {
    fn default() -> Self {
        ReportSpec {
            title: String::new(),
            note: String::new(),
            view_name: None,
            view: ViewSpec::default(),
            min_severity: Severity::Info,
            rules: Vec::new(),
            redact: Vec::new(),
            redact_key: None,
            author: None,
            max_rows: DEFAULT_MAX_ROWS,
            paths: Vec::new(),
            analysis: ViewAnalysis::Events,
        }
    }
}

/// A report's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One self-contained HTML page.
    Html,
    /// Markdown, for tickets and wikis.
    Markdown,
    /// Every matching event in a row format.
    Rows(RowFormat),
}

impl ReportFormat {
    /// Every format's name, as `--format` takes them.
    pub const NAMES: [&'static str; 6] = ["html", "md", "csv", "json", "ndjson", "parquet"];

    /// The format a name (or file extension) stands for.
    pub fn parse(name: &str) -> Option<ReportFormat> {
        Some(match name.to_ascii_lowercase().as_str() {
            "html" | "htm" => ReportFormat::Html,
            "md" | "markdown" => ReportFormat::Markdown,
            "csv" => ReportFormat::Rows(RowFormat::Csv),
            "json" => ReportFormat::Rows(RowFormat::Json),
            "ndjson" | "jsonl" => ReportFormat::Rows(RowFormat::Ndjson),
            "parquet" | "pq" => ReportFormat::Rows(RowFormat::Parquet),
            _ => return None,
        })
    }

    /// The format a file's extension picks.
    pub fn from_path(path: &Path) -> Option<ReportFormat> {
        ReportFormat::parse(path.extension()?.to_str()?)
    }

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Markdown => "md",
            ReportFormat::Rows(RowFormat::Csv) => "csv",
            ReportFormat::Rows(RowFormat::Json) => "json",
            ReportFormat::Rows(RowFormat::Ndjson) => "ndjson",
            ReportFormat::Rows(RowFormat::Parquet) => "parquet",
        }
    }
}

/// What writing a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportStats {
    /// Events the view matched.
    pub matching: usize,
    /// Events written (capped in HTML and Markdown).
    pub written: usize,
    /// Findings in scope.
    pub findings: usize,
}

/// A report, built and (when asked) redacted: what HTML and Markdown render.
#[derive(Debug, Clone)]
pub struct Report {
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
    /// The view, as text.
    pub view: ViewText,
    /// `trailscope report ...` that makes this report again.
    pub report_command: String,
    /// `trailscope query ...` that prints the same events.
    pub query_command: String,
    /// Events loaded.
    pub loaded: usize,
    /// Events matched.
    pub matching: usize,
    /// First and last matching event (µs UTC).
    pub range: (Option<i64>, Option<i64>),
    /// Matching events over time, one lane per outcome.
    pub timeline: Timeline,
    /// Top values of actor, action, source address and resource.
    pub top: Vec<(&'static str, Counts)>,
    /// Findings in scope, most severe first (at most `max_rows`).
    pub findings: Vec<Finding>,
    /// How many findings are in scope.
    pub finding_count: usize,
    /// Findings in scope per severity, most severe first.
    pub severities: Vec<(Severity, usize)>,
    /// The access audit or review the view asks for, as its own section.
    pub audit: Option<AuditSection>,
    /// The first matching events, with the view's columns and the event id.
    pub events: Grid,
    /// The cap on events shown.
    pub max_rows: usize,
    /// The scope.
    pub scope: Scope,
    /// The display zone.
    pub tz: jiff::tz::TimeZone,
}

/// A view's definition as a reader reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewText {
    /// The saved view's name.
    pub name: Option<String>,
    /// Filter text (empty: every event).
    pub filter: String,
    /// Time range, as flags would give it.
    pub range: String,
    /// Display zone.
    pub tz: String,
    /// Columns shown.
    pub columns: Vec<String>,
    /// Sort.
    pub sort: String,
    /// Minimum severity of findings.
    pub min_severity: &'static str,
    /// The flags given on the command line for every view of a report of several (empty:
    /// a report of one view).
    pub shared: String,
}

/// What a page starts with: the title, note, and who made it when, with what.
#[derive(Debug, Clone, Copy)]
pub struct Masthead<'a> {
    /// Title.
    pub title: &'a str,
    /// Note.
    pub note: &'a str,
    /// Generation time.
    pub generated_at: &'a str,
    /// `user@host`.
    pub generated_by: &'a str,
    /// trailscope's version.
    pub version: &'a str,
    /// SHA-256 of the configuration.
    pub config_hash: &'a str,
    /// Redacted columns.
    pub redacted: &'a [&'static str],
    /// Display zone's name.
    pub tz: &'a str,
}

/// Builds the report of `spec` over `store`'s events and writes it to `path` in `format`
/// (atomically: a temporary file next to it, renamed when complete). The one entry point of
/// `trailscope report` and the TUI's export.
pub fn write(
    store: &FrameStore,
    config: &Config,
    spec: &ReportSpec,
    format: ReportFormat,
    path: &Path,
) -> Result<ReportStats> {
    write_with_findings(store, config, spec, format, path, None)
}

/// [`write`] with the findings of the rules over the store's whole frame when the caller
/// already has them (the TUI keeps them), so they are not computed again: detection is most
/// of an HTML report's time and memory over a million events.
pub fn write_with_findings(
    store: &FrameStore,
    config: &Config,
    spec: &ReportSpec,
    format: ReportFormat,
    path: &Path,
    findings: Option<&[Finding]>,
) -> Result<ReportStats> {
    write_file(path, |out| {
        write_to(out, store, config, spec, format, path, findings)
    })
}

/// Writes `path` atomically with `body`: a temporary file next to it, synced, made readable
/// like any file written, and renamed over `path` only when `body` succeeded.
fn write_file<T>(
    path: &Path,
    body: impl FnOnce(&mut (dyn Write + Send)) -> Result<T>,
) -> Result<T> {
    let io = |source| Error::Io {
        location: Location::file(path.display().to_string()),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, temp);
    let value = body(&mut out)?;
    let temp = out.into_inner().map_err(|e| io(e.into_error()))?;
    temp.as_file().sync_all().map_err(io)?;
    // A report is made to be shared: readable by others like any file written, not private
    // like the temporary file it was written as.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(value)
}

/// [`write_with_findings`] to any writer; `path` is the report's name in the command line
/// it shows.
pub fn write_to(
    out: &mut (dyn Write + Send),
    store: &FrameStore,
    config: &Config,
    spec: &ReportSpec,
    format: ReportFormat,
    path: &Path,
    findings: Option<&[Finding]>,
) -> Result<ReportStats> {
    let prepared = prepare(store, config, spec)?;
    let redactor = redactor(
        store,
        &spec.redact,
        spec.redact_key.as_deref(),
        &[(prepared.selection.rows.as_ref(), prepared.audit.as_ref())],
    )?;
    match format {
        ReportFormat::Rows(rows_format) => write_rows_report(
            out,
            store,
            spec,
            prepared,
            rows_format,
            redactor.as_ref(),
            path,
        ),
        ReportFormat::Html | ReportFormat::Markdown => {
            let evidence = Evidence::gather(store, config, findings)?;
            let report = document(
                store,
                spec,
                prepared,
                (format, path),
                &evidence,
                redactor.as_ref(),
            )?;
            let stats = ReportStats {
                matching: report.matching,
                written: report.events.rows.len(),
                findings: report.finding_count,
            };
            let io = |source| Error::Io {
                location: Location::file(path.display().to_string()),
                source,
            };
            if format == ReportFormat::Html {
                html::write(out, &report).map_err(io)?;
            } else {
                markdown::write(out, &report).map_err(io)?;
            }
            out.flush().map_err(io)?;
            Ok(stats)
        }
    }
}

/// A view's events selected and the audit it asks for, before anything is written.
struct Prepared {
    selection: analysis::Selection,
    audit: Option<AuditSection>,
}

/// Selects the view's events and runs the audit it asks for (first: the people it names are
/// values redaction must know).
fn prepare(store: &FrameStore, config: &Config, spec: &ReportSpec) -> Result<Prepared> {
    let frame = store.frame();
    let view = spec
        .view
        .compile(frame)
        .map_err(|e| Error::Invalid(format!("invalid filter: {}", e.message)))?;
    let selection = analysis::select_rows(frame, &view)?;
    let audit = audit_section(store, config, spec, selection.rows.as_ref())?;
    Ok(Prepared { selection, audit })
}

/// A row-format report of a prepared view: every matching event, or the audit's table.
fn write_rows_report(
    out: &mut (dyn Write + Send),
    store: &FrameStore,
    spec: &ReportSpec,
    prepared: Prepared,
    rows_format: RowFormat,
    redactor: Option<&Redactor>,
    path: &Path,
) -> Result<ReportStats> {
    let Prepared { selection, audit } = prepared;
    if !has_audit(spec) {
        let written = rows::write_rows(
            out,
            rows_format,
            store.frame(),
            selection.rows.as_ref(),
            redactor,
        )?;
        return Ok(ReportStats {
            matching: selection.matching,
            written,
            findings: 0,
        });
    }
    let Some(mut section) = audit else {
        return Err(Error::Invalid("no audit to write".into()));
    };
    if let Some(r) = redactor {
        section.redact(r);
    }
    let format = match rows_format {
        RowFormat::Csv => crate::output::OutputFormat::Csv,
        RowFormat::Json => crate::output::OutputFormat::Json,
        RowFormat::Ndjson => crate::output::OutputFormat::Ndjson,
        RowFormat::Parquet => {
            return Err(Error::Invalid(format!(
                "a Parquet report holds events; write the {} as csv, json, ndjson, html or md",
                section.title.to_lowercase()
            )));
        }
    };
    section
        .grid
        .write(out, format, &spec.view.tz)
        .map_err(|source| Error::Io {
            location: Location::file(path.display().to_string()),
            source,
        })?;
    Ok(ReportStats {
        matching: selection.matching,
        written: section.grid.rows.len(),
        findings: 0,
    })
}

/// The report of a prepared view, with the shared evidence, redacted when asked.
fn document(
    store: &FrameStore,
    spec: &ReportSpec,
    prepared: Prepared,
    (format, path): (ReportFormat, &Path),
    evidence: &Evidence<'_>,
    redactor: Option<&Redactor>,
) -> Result<Report> {
    let mut report = build(store, spec, &prepared.selection, (format, path), evidence)?;
    report.audit = prepared.audit;
    if let Some(r) = redactor {
        report.redact(r);
    }
    Ok(report)
}

/// What every view of a report stands on: the rules' findings over the whole frame and the
/// scope (inputs with their hashes, coverage, gaps).
struct Evidence<'a> {
    findings: std::borrow::Cow<'a, [Finding]>,
    scope: Scope,
    config_hash: String,
}

impl<'a> Evidence<'a> {
    /// The findings (`known`, else the rules run now) and the scope.
    fn gather(
        store: &FrameStore,
        config: &Config,
        known: Option<&'a [Finding]>,
    ) -> Result<Evidence<'a>> {
        // Inputs the load did not hash (or that changed since) are read again for their
        // SHA-256 while the rules run: one reads files while the other computes.
        let (hashes, computed) = std::thread::scope(|s| {
            let hashing = s.spawn(|| scope::input_hashes(store));
            let computed = known.is_none().then(|| findings_of(store, config));
            (hashing.join(), computed)
        });
        let hashes = hashes.map_err(|_| Error::Invalid("hashing the inputs failed".into()))?;
        let findings = match (known, computed.transpose()?) {
            (Some(known), _) => std::borrow::Cow::Borrowed(known),
            (None, Some(computed)) => std::borrow::Cow::Owned(computed),
            (None, None) => std::borrow::Cow::Owned(Vec::new()),
        };
        let scope = scope::scope(store, config, &findings, hashes)?;
        Ok(Evidence {
            findings,
            scope,
            config_hash: config_hash(config),
        })
    }
}

/// The findings a report of `store` holds in scope: the rules, and the configured Sigma
/// rules, over the whole frame.
pub fn findings_of(store: &FrameStore, config: &Config) -> Result<Vec<Finding>> {
    let mut all = detectors::run(store.frame(), config)?;
    crate::sigma::add_configured(store, store.frame(), config, &mut all)?;
    Ok(all)
}

/// An access audit or review shown in a report: a title, a summary and the table.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditSection {
    /// `identities`, `access` or `review` (the HTML section's id).
    pub id: &'static str,
    /// `Identity inventory`, `Access audit` or `Access review`.
    pub title: String,
    /// What auditors look for first, as one sentence (the audit's summary line).
    pub summary: Option<String>,
    /// The table, in the columns `trailscope access` writes.
    pub grid: Grid,
}

/// Columns of the audit grids that name a person or workload.
const PEOPLE_COLUMNS: [&str; 8] = [
    "identity",
    "grantee",
    "granted_by",
    "approver",
    "ended_by",
    "principal",
    "created_by",
    "owner",
];

impl AuditSection {
    /// Every person or workload the table names.
    fn people(&self) -> impl Iterator<Item = String> + '_ {
        let columns: Vec<usize> = (self.grid.headers.iter().enumerate())
            .filter(|(_, h)| PEOPLE_COLUMNS.contains(&h.as_str()))
            .map(|(i, _)| i)
            .collect();
        self.grid.rows.iter().flat_map(move |row| {
            columns
                .iter()
                .filter_map(|&i| match row.get(i) {
                    Some(Cell::Text(t)) if !t.is_empty() => Some(t.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
    }

    /// Scrubs every redacted value out of the table and the summary.
    fn redact(&mut self, r: &Redactor) {
        self.summary = self.summary.as_deref().map(|s| r.scrub(s));
        for row in &mut self.grid.rows {
            for cell in row.iter_mut() {
                if let Cell::Text(text) = cell {
                    *text = r.scrub(text);
                }
            }
        }
    }
}

/// Whether the view's analysis is an audit table (inventory, access audit or review).
fn has_audit(spec: &ReportSpec) -> bool {
    matches!(
        spec.analysis,
        ViewAnalysis::Identities(_) | ViewAnalysis::Access(_) | ViewAnalysis::Review(_)
    )
}

/// The identity inventory, access audit or review over the selected rows, when the view
/// asks for one.
fn audit_section(
    store: &FrameStore,
    config: &Config,
    spec: &ReportSpec,
    rows: Option<&IdxCa>,
) -> Result<Option<AuditSection>> {
    let (access_spec, review): (&AccessSpec, bool) = match &spec.analysis {
        ViewAnalysis::Access(a) => (a, false),
        ViewAnalysis::Review(a) => (a, true),
        ViewAnalysis::Identities(i) => {
            let inventory = crate::audit::identities::inventory_store(store, config, rows, i)?;
            let flagged = inventory
                .rows
                .iter()
                .filter(|r| !r.flags.is_empty())
                .count();
            let human = inventory
                .rows
                .iter()
                .filter(|r| r.kind == crate::audit::identities::Kind::Human)
                .count();
            return Ok(Some(AuditSection {
                id: "identities",
                title: "Identity inventory".into(),
                summary: Some(format!(
                    "{} identities ({} human), {} flagged (dormant, orphaned, unrotated or never-used credentials, unused privilege, privileged actions without MFA).",
                    crate::text::thousands(inventory.rows.len() as u64),
                    crate::text::thousands(human as u64),
                    crate::text::thousands(flagged as u64)
                )),
                grid: crate::output::audit::inventory_grid(&inventory),
            }));
        }
        _ => return Ok(None),
    };
    let access = crate::audit::access::audit_store(store, config, rows, access_spec)?;
    Ok(Some(if review {
        let holdings = crate::audit::access::review(&access.grants, access_spec, access.span.1);
        AuditSection {
            id: "review",
            title: "Access review".into(),
            summary: Some(format!(
                "{} privileged role holdings at the end of the logs; decision and reviewer_note are left for the reviewer.",
                crate::text::thousands(holdings.len() as u64)
            )),
            grid: crate::output::audit::review_grid(&holdings),
        }
    } else {
        AuditSection {
            id: "access",
            title: "Access audit".into(),
            summary: Some(access.summary.line()),
            grid: crate::output::audit::access_grid(&access),
        }
    }))
}

/// The redactor `redact` asks for: its fields, its key (`key_file`, else the default), and
/// every value they may take in the views' rows and audits (one redactor for a whole
/// report, so a value has one pseudonym and is scrubbed wherever it appears).
fn redactor(
    store: &FrameStore,
    redact: &[String],
    key_file: Option<&Path>,
    views: &[(Option<&IdxCa>, Option<&AuditSection>)],
) -> Result<Option<Redactor>> {
    let columns = redact::parse_fields(redact)?;
    if columns.is_empty() {
        return Ok(None);
    }
    let key_path = match key_file {
        Some(p) => p.to_path_buf(),
        None => redact::default_key_path().ok_or_else(|| {
            Error::Invalid(
                "no redaction key: give --redact-key-file, or set XDG_CONFIG_HOME or HOME".into(),
            )
        })?,
    };
    let key = redact::load_or_create_key(&key_path)?;
    let dictionaries = crate::schema::Dictionaries::shared();
    let mut known: Vec<(&'static str, String)> = Vec::new();
    for column in &columns {
        if *column == SESSION {
            for (rows, _) in views {
                let sessions = selected_frame(store.frame(), *rows, &[SESSION])?;
                let values = sessions
                    .column(SESSION)
                    .and_then(|c| c.unique())
                    .map_err(Error::polars("collecting sessions to redact"))?;
                let values = values.str().map_err(Error::polars("collecting sessions"))?;
                known.extend(values.iter().flatten().map(|v| (SESSION, v.to_string())));
            }
        } else {
            known.extend(
                dictionaries
                    .category_values(column)
                    .into_iter()
                    .map(|(_, v)| (*column, v)),
            );
        }
    }
    // Identities and the people an audit names (grantees, approvers, targets that never
    // acted) are actors too: redacting actors redacts them everywhere.
    if columns.contains(&ACTOR) {
        for column in [crate::schema::IDENTITY, crate::schema::ACTOR_ID] {
            known.extend(
                dictionaries
                    .category_values(column)
                    .into_iter()
                    .map(|(_, v)| (ACTOR, v)),
            );
        }
        for section in views.iter().filter_map(|(_, audit)| *audit) {
            known.extend(section.people().map(|v| (ACTOR, v)));
        }
    }
    Redactor::new(columns, key, known).map(Some)
}

/// Builds the report (not yet redacted).
fn build(
    store: &FrameStore,
    spec: &ReportSpec,
    selection: &analysis::Selection,
    (format, path): (ReportFormat, &Path),
    evidence: &Evidence<'_>,
) -> Result<Report> {
    let frame = store.frame();
    let rows = selection.rows.as_ref();
    let tz = spec.view.tz.clone();
    let timeline = analysis::run(
        frame,
        rows,
        &TimelineSpec {
            by: OUTCOME.to_string(),
            bucket: None,
            tz: tz.clone(),
            top: TIMELINE_LANES,
        },
    )?;
    let mut top = Vec::new();
    for column in [ACTOR, ACTION, SRC_IP, RESOURCE] {
        let values = selected_frame(frame, rows, &[column])?;
        top.push((column, value_counts(&values, column, TOP_VALUES)?));
    }
    let all: &[Finding] = &evidence.findings;
    let scope = evidence.scope.clone();
    let wanted = FindingsSpec {
        min_severity: spec.min_severity,
        rules: spec.rules.clone(),
    };
    let mut findings: Vec<&Finding> = wanted
        .in_scope_of(all, rows, frame.height())
        .into_iter()
        .filter(|f| f.severity >= spec.min_severity)
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.time.cmp(&b.time))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.actor.cmp(&b.actor))
            .then_with(|| a.event_ids.cmp(&b.event_ids))
    });
    let finding_count = findings.len();
    let mut severities: Vec<(Severity, usize)> = Vec::new();
    for f in &findings {
        match severities.last_mut() {
            Some((s, n)) if *s == f.severity => *n += 1,
            _ => severities.push((f.severity, 1)),
        }
    }
    findings.truncate(spec.max_rows);
    let findings: Vec<Finding> = findings.into_iter().cloned().collect();
    let mut columns: Vec<&str> = spec.view.shown_columns();
    if !columns.contains(&EVENT_ID) {
        columns.push(EVENT_ID);
    }
    let shown = selection.matching.min(spec.max_rows);
    let head = match rows {
        Some(r) => selected_frame(frame, Some(&r.slice(0, shown)), &columns)?,
        None => selected_frame(frame, None, &columns)?.slice(0, shown),
    };
    let events = Grid::from_frame(&rows::plain(head, None)?)?;
    let (report_command, query_command) = commands(store, spec, format, path);
    Ok(Report {
        title: if spec.title.trim().is_empty() {
            "trailscope report".to_string()
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
        view: ViewText {
            name: spec.view_name.clone(),
            filter: spec.view.filter.clone(),
            range: range_text(spec.view.range.as_ref()),
            tz: tz.iana_name().unwrap_or("UTC").to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            sort: spec.view.sort.as_ref().map_or_else(
                || "time order".to_string(),
                |k| {
                    format!(
                        "{}{}",
                        k.column,
                        if k.descending { " descending" } else { "" }
                    )
                },
            ),
            min_severity: spec.min_severity.as_str(),
            shared: String::new(),
        },
        report_command,
        query_command,
        loaded: frame.height(),
        matching: selection.matching,
        range: (selection.first, selection.last),
        timeline,
        top,
        findings,
        finding_count,
        severities,
        audit: None,
        events,
        max_rows: spec.max_rows,
        scope,
        tz,
    })
}

impl Report {
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
            tz: &self.view.tz,
        }
    }

    /// The sentence before the findings: how many, from which severity, how many shown.
    pub fn findings_summary(&self) -> String {
        let shown = if self.findings.len() < self.finding_count {
            format!(
                ", the first {} shown",
                crate::text::thousands(self.findings.len() as u64)
            )
        } else {
            String::new()
        };
        format!(
            "{} finding(s) at or above {} with at least one event among the matching events{shown}.",
            crate::text::thousands(self.finding_count as u64),
            self.view.min_severity
        )
    }

    /// Replaces every value of the redacted fields, wherever it appears, by its pseudonym.
    pub fn redact(&mut self, r: &Redactor) {
        self.redacted = r.columns().to_vec();
        if let Some(section) = &mut self.audit {
            section.redact(r);
        }
        self.title = r.scrub(&self.title);
        self.note = r.scrub(&self.note);
        self.view.filter = r.scrub(&self.view.filter);
        self.view.name = self.view.name.as_deref().map(|n| r.scrub(n));
        self.report_command = r.scrub(&self.report_command);
        self.query_command = r.scrub(&self.query_command);
        for lane in &mut self.timeline.lanes {
            if let analysis::Key::Value(v) = &lane.key {
                lane.key = analysis::Key::Value(r.cell(OUTCOME, v));
            }
        }
        for (column, counts) in &mut self.top {
            for (value, _) in counts.iter_mut() {
                *value = r.cell(column, value);
            }
        }
        for f in &mut self.findings {
            f.actor = r.cell(ACTOR, &f.actor);
            f.reason = r.scrub(&f.reason);
            f.title = r.scrub(&f.title);
            for id in &mut f.event_ids {
                *id = r.scrub(id);
            }
        }
        let headers = self.events.headers.clone();
        for row in &mut self.events.rows {
            for (cell, column) in row.iter_mut().zip(&headers) {
                if let Cell::Text(text) = cell {
                    *text = r.cell(column, text);
                }
            }
        }
        redact_scope(&mut self.scope, r);
    }
}

/// Scrubs redacted values out of the scope's input names, stream labels and gaps.
fn redact_scope(scope: &mut Scope, r: &Redactor) {
    for input in &mut scope.inputs {
        input.name = r.scrub(&input.name);
    }
    for stream in &mut scope.streams {
        stream.label = r.scrub(&stream.label);
    }
    for (_, gap) in &mut scope.gaps {
        *gap = r.scrub(gap);
    }
}

/// `$USER@host` (`$LOGNAME`, then `unknown`; the kernel's host name, then `localhost`).
pub fn default_author() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            std::fs::read_to_string(p)
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// SHA-256 of the effective configuration in its canonical (debug) form: every map in it
/// is ordered, so equal settings hash equal however the files were written.
pub fn config_hash(config: &Config) -> String {
    scope::hex(&Sha256::digest(format!("{config:?}").as_bytes()))
}

/// A time range as `--after X --before Y` / `--last D` would give it.
fn range_text(range: Option<&TimeRange>) -> String {
    match range {
        None => "all loaded events".to_string(),
        Some(TimeRange::Last(d)) => format!("the last {d} before the newest event"),
        Some(TimeRange::Between { after, before }) => match (after, before) {
            (Some(a), Some(b)) => format!("from {a} to before {b}"),
            (Some(a), None) => format!("from {a}"),
            (None, Some(b)) => format!("before {b}"),
            (None, None) => "all loaded events".to_string(),
        },
    }
}

/// The command lines that make the report again and print its events.
fn commands(
    store: &FrameStore,
    spec: &ReportSpec,
    format: ReportFormat,
    path: &Path,
) -> (String, String) {
    let view = &spec.view;
    let mut shared: Vec<String> = Vec::new();
    if let Some(tz) = view.tz.iana_name().filter(|n| *n != "UTC") {
        shared.extend(["--tz".into(), tz.to_string()]);
    }
    if !view.columns.is_empty() {
        shared.extend(["--columns".into(), view.columns.join(",")]);
    }
    if let Some(SortKey { column, descending }) = &view.sort {
        let order = if *descending { ":desc" } else { "" };
        shared.extend(["--sort".into(), format!("{column}{order}")]);
    }
    let paths: Vec<String> = if spec.paths.is_empty() {
        store.inputs().iter().map(|i| i.name.clone()).collect()
    } else {
        spec.paths.clone()
    };
    let mut report = vec!["trailscope".to_string(), "report".to_string()];
    if let Some(name) = &spec.view_name {
        report.extend(["--view".into(), name.clone()]);
    }
    if !view.filter.is_empty() {
        report.extend(["--filter".into(), view.filter.clone()]);
    }
    match &view.range {
        Some(TimeRange::Last(d)) => report.extend(["--last".into(), d.clone()]),
        Some(TimeRange::Between { after, before }) => {
            if let Some(a) = after {
                report.extend(["--after".into(), a.clone()]);
            }
            if let Some(b) = before {
                report.extend(["--before".into(), b.clone()]);
            }
        }
        None => {}
    }
    report.extend(shared.iter().cloned());
    if spec.min_severity != Severity::Info {
        report.extend(["--min-severity".into(), spec.min_severity.as_str().into()]);
    }
    if spec.max_rows != DEFAULT_MAX_ROWS {
        report.extend(["--max-rows".into(), spec.max_rows.to_string()]);
    }
    if !spec.redact.is_empty() {
        report.extend(["--redact".into(), spec.redact.join(",")]);
    }
    report.extend(["--format".into(), format.name().into()]);
    report.extend(["--out".into(), path.display().to_string()]);
    report.extend(paths.iter().cloned());
    // `query` has no range flags: the range becomes filter terms.
    let mut filter = view.filter.clone();
    let term = |bound: &str, value: &str| {
        if value.contains(' ') {
            format!("{bound}:\"{value}\"")
        } else {
            format!("{bound}:{value}")
        }
    };
    let mut terms = Vec::new();
    match &view.range {
        Some(TimeRange::Last(d)) => terms.push(term("last", d)),
        Some(TimeRange::Between { after, before }) => {
            terms.extend(after.iter().map(|a| term("after", a)));
            terms.extend(before.iter().map(|b| term("before", b)));
        }
        None => {}
    }
    if !terms.is_empty() {
        filter = if filter.trim().is_empty() {
            terms.join(" ")
        } else {
            format!("({filter}) {}", terms.join(" "))
        };
    }
    let mut query = vec!["trailscope".to_string(), "query".to_string()];
    if !filter.is_empty() {
        query.extend(["--filter".into(), filter]);
    }
    query.extend(shared);
    query.extend(["--format".into(), "csv".into()]);
    query.extend(paths);
    (shell_line(&report), shell_line(&query))
}

/// Words as a POSIX shell reads them back: bare when safe, else in single quotes.
fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let safe = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./:,=@%+-".contains(c));
            if safe {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_read_back_as_the_words_they_were() {
        let words: Vec<String> = [
            "trailscope",
            "query",
            "--filter",
            "actor:'o'neil' ip:10.0.0.0/8",
            "",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            shell_line(&words),
            r#"trailscope query --filter 'actor:'\''o'\''neil'\'' ip:10.0.0.0/8' ''"#
        );
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(
            ReportFormat::from_path(Path::new("a/b.HTML")),
            Some(ReportFormat::Html)
        );
        assert_eq!(
            ReportFormat::from_path(Path::new("x.parquet")),
            Some(ReportFormat::Rows(RowFormat::Parquet))
        );
        assert_eq!(ReportFormat::from_path(Path::new("x.txt")), None);
        for name in ReportFormat::NAMES {
            assert_eq!(
                ReportFormat::parse(name).map(ReportFormat::name),
                Some(name)
            );
        }
    }
}
