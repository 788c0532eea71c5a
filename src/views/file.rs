//! One views file: reading it into [`SavedView`]s (every problem as `file:line: reason`,
//! a bad entry losing no other), and changing it (save, remove, rename) through `toml_edit`
//! so that the user's comments, order and layout survive, written atomically (a temporary
//! file in the same directory, synced, then renamed over the old one).
//!
//! ```toml
//! [view.failed-signins]
//! title = "Failed sign-ins and lockouts"
//! note = "Weekly review"
//! filter = 'outcome:failure action:*sign*'
//! range = { last = "7d" }     # or { between = { after = "2024-03-01", before = "2024-03-08" } }
//! tz = "Europe/Berlin"        # absent: the display zone of whoever opens it
//! columns = ["time", "actor", "action", "src_ip"]
//! sort = { column = "time", descending = true }
//! pivot = { rows = "actor", cols = "action" }  # or timeline = {...} or findings = {...}
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeOwned, IgnoredAny};
use toml::Spanned;

use crate::analysis::{
    DEFAULT_PIVOT_TOP, DEFAULT_TIMELINE_LANES, PivotSpec, SortKey, TimeRange, TimelineSpec,
    ViewSpec, check_column,
};
use crate::audit::access::AccessSpec;
use crate::audit::identities::IdentitiesSpec;
use crate::detectors::Severity;
use crate::schema;
use crate::{Error, Location, Result};

use super::{FindingsSpec, Origin, SavedView, ViewAnalysis, check_name};

/// The largest views file read (a views file is a few kilobytes).
const MAX_FILE: u64 = 4 << 20;
/// The table holding the views.
const VIEW_TABLE: &str = "view";
/// The keys of a view's table, in the order they are written.
const KEYS: [&str; 14] = [
    "title",
    "note",
    "filter",
    "range",
    "tz",
    "columns",
    "sort",
    "limit",
    "pivot",
    "timeline",
    "findings",
    "identities",
    "access",
    "review",
];

/// What reading a file found.
#[derive(Debug, Default)]
pub struct FileRead {
    /// The views that could be read (None: the file does not exist or cannot be read).
    pub views: Option<Vec<SavedView>>,
    /// What was wrong, each with file and line.
    pub problems: Vec<Error>,
}

fn problem(path: &Path, line: Option<u64>, message: impl Into<String>) -> Error {
    Error::Config {
        location: Location {
            path: path.display().to_string(),
            line,
            byte_offset: None,
        },
        message: message.into(),
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> u64 {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// Reads a views file. A missing file holds no views and is no problem. A file that is not
/// valid TOML is read again table by table, so a typo in one view loses only that view.
pub fn read(path: &Path) -> FileRead {
    let text = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileRead::default(),
        _ => match crate::config::read_settings_file(path, MAX_FILE) {
            Ok(text) => text,
            Err(e) => {
                return FileRead {
                    views: None,
                    problems: vec![problem(path, None, e.to_string())],
                };
            }
        },
    };
    read_text(
        &text,
        path,
        Origin::File {
            path: path.to_path_buf(),
            line: None,
        },
    )
}

/// Reads views from TOML text (`origin` is given to every view, with its line when a file).
pub fn read_text(text: &str, path: &Path, origin: Origin) -> FileRead {
    let mut views = Vec::new();
    let mut problems = Vec::new();
    match parse_section(text, 0, path, &origin, &mut views, &mut problems) {
        Ok(()) => {}
        Err(whole) => {
            // Not valid TOML as a whole: each table on its own, so one broken view hides no
            // other. Keys before the first table go with it.
            problems.push(whole);
            for range in sections(text) {
                let section = &text[range.clone()];
                let mut found = Vec::new();
                let mut ignored = Vec::new();
                let before = line_of(text, range.start) - 1;
                if parse_section(section, before, path, &origin, &mut found, &mut ignored).is_ok() {
                    views.extend(found);
                    problems.extend(ignored);
                }
            }
        }
    }
    FileRead {
        views: Some(views),
        problems,
    }
}

/// The byte ranges of the text's tables: from one header line (`[...]`) to the next.
fn sections(text: &str) -> Vec<Range<usize>> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > 0 && line.trim_start().starts_with('[') {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts.push(text.len());
    starts.windows(2).map(|w| w[0]..w[1]).collect()
}

type Fields = BTreeMap<String, Spanned<toml::Value>>;

#[derive(serde::Deserialize)]
struct RawFile {
    #[serde(default)]
    view: BTreeMap<String, Spanned<Fields>>,
}

/// Parses one piece of TOML that starts after `lines_before` lines of the file; Err when it
/// is not TOML.
fn parse_section(
    text: &str,
    lines_before: u64,
    path: &Path,
    origin: &Origin,
    views: &mut Vec<SavedView>,
    problems: &mut Vec<Error>,
) -> Result<()> {
    let line = |offset: usize| Some(line_of(text, offset) + lines_before);
    let syntax = |e: toml::de::Error| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        problem(path, line(at), e.message().trim_end().to_string())
    };
    let top: BTreeMap<String, Spanned<IgnoredAny>> = toml::from_str(text).map_err(syntax)?;
    for (key, value) in &top {
        if key != VIEW_TABLE {
            problems.push(problem(
                path,
                line(value.span().start),
                format!(
                    "unknown table '{}': views are written as [view.NAME]",
                    crate::text::escape_control(key)
                ),
            ));
        }
    }
    let raw: RawFile = toml::from_str(text).map_err(syntax)?;
    for (name, fields) in raw.view {
        let at = line(fields.span().start);
        let origin = match origin {
            Origin::BuiltIn => Origin::BuiltIn,
            Origin::File { path, .. } => Origin::File {
                path: path.clone(),
                line: at,
            },
        };
        match entry(&name, fields.into_inner(), origin) {
            Ok(view) => views.push(view),
            Err((offset, message)) => problems.push(problem(
                path,
                offset.map(&line).unwrap_or(at),
                format!("view '{}': {message}", crate::text::escape_control(&name)),
            )),
        }
    }
    Ok(())
}

/// A view from its table; Err holds the byte offset of the bad key (None: the table) and why.
fn entry(
    name: &str,
    mut fields: Fields,
    origin: Origin,
) -> std::result::Result<SavedView, (Option<usize>, String)> {
    check_name(name).map_err(|e| (None, e.to_string()))?;
    if let Some((key, value)) = fields.iter().find(|(k, _)| !KEYS.contains(&k.as_str())) {
        return Err((
            Some(value.span().start),
            format!(
                "unknown key '{}' (keys: {})",
                crate::text::escape_control(key),
                KEYS.join(", ")
            ),
        ));
    }
    let mut take = |key: &str| fields.remove(key);
    let title: Option<String> = field(take("title"))?;
    let note: Option<String> = field(take("note"))?;
    let filter_value = take("filter");
    let filter_at = filter_value.as_ref().map(|v| v.span().start);
    let filter: String = field(filter_value)?.unwrap_or_default();
    if !filter.trim().is_empty() {
        crate::analysis::filter::parse(&filter).map_err(|e| {
            (
                filter_at,
                format!(
                    "invalid filter at column {}: {}",
                    e.span.start + 1,
                    e.message
                ),
            )
        })?;
    }
    let range_value = take("range");
    let range_at = range_value.as_ref().map(|v| v.span().start);
    let range: Option<TimeRange> = field(range_value)?;
    if let Some(range) = &range {
        let spec = ViewSpec {
            range: Some(range.clone()),
            ..ViewSpec::default()
        };
        spec.compile(&schema::empty_frame())
            .map_err(|e| (range_at, format!("invalid range: {}", e.message)))?;
    }
    let tz_value = take("tz");
    let tz_at = tz_value.as_ref().map(|v| v.span().start);
    let tz = match field::<String>(tz_value)? {
        None => None,
        Some(name) => Some(jiff::tz::TimeZone::get(&name).map_err(|_| {
            (
                tz_at,
                format!(
                    "unknown time zone '{}' (use an IANA name such as Europe/Berlin)",
                    crate::text::escape_control(&name)
                ),
            )
        })?),
    };
    let columns_value = take("columns");
    let columns_at = columns_value.as_ref().map(|v| v.span().start);
    let columns: Vec<String> = field(columns_value)?.unwrap_or_default();
    for column in &columns {
        check_column(column).map_err(|e| (columns_at, e.to_string()))?;
    }
    let sort_value = take("sort");
    let sort_at = sort_value.as_ref().map(|v| v.span().start);
    let sort = match sort_value.map(Spanned::into_inner) {
        None => None,
        Some(toml::Value::String(text)) => {
            Some(SortKey::parse(&text).map_err(|e| (sort_at, e.to_string()))?)
        }
        Some(value) => {
            let key: SortKey = value
                .try_into()
                .map_err(|e: toml::de::Error| (sort_at, format!("sort: {}", e.message())))?;
            check_column(&key.column).map_err(|e| (sort_at, e.to_string()))?;
            Some(key)
        }
    };
    let limit: Option<usize> = field(take("limit"))?;
    let mut analyses = Vec::new();
    if let Some(value) = take("pivot") {
        let at = Some(value.span().start);
        let spec: PivotSpec = field(Some(value))?.ok_or((at, String::new()))?;
        for column in [Some(&spec.rows), spec.cols.as_ref(), spec.distinct.as_ref()]
            .into_iter()
            .flatten()
        {
            check_column(column).map_err(|e| (at, format!("pivot: {e}")))?;
        }
        analyses.push((at, ViewAnalysis::Pivot(spec)));
    }
    if let Some(value) = take("timeline") {
        let at = Some(value.span().start);
        if value.get_ref().get("tz").is_some() {
            return Err((
                at,
                "timeline: no 'tz' here: a timeline uses the view's tz".into(),
            ));
        }
        let mut spec: TimelineSpec = field(Some(value))?.ok_or((at, String::new()))?;
        check_column(&spec.by).map_err(|e| (at, format!("timeline: {e}")))?;
        spec.tz = tz.clone().unwrap_or(jiff::tz::TimeZone::UTC);
        analyses.push((at, ViewAnalysis::Timeline(spec)));
    }
    if let Some(value) = take("findings") {
        let at = Some(value.span().start);
        let raw: RawFindings = field(Some(value))?.ok_or((at, String::new()))?;
        let min_severity = match raw.min_severity.as_deref() {
            None => Severity::Info,
            Some(text) => Severity::parse(text).ok_or_else(|| {
                (
                    at,
                    format!(
                        "findings: unknown severity '{}' (info, low, medium, high, critical)",
                        crate::text::escape_control(text)
                    ),
                )
            })?,
        };
        analyses.push((
            at,
            ViewAnalysis::Findings(FindingsSpec {
                min_severity,
                rules: raw.rules,
            }),
        ));
    }
    if let Some(value) = take("identities") {
        let at = Some(value.span().start);
        let spec: IdentitiesSpec = field(Some(value))?.ok_or((at, String::new()))?;
        analyses.push((at, ViewAnalysis::Identities(spec)));
    }
    for (key, make) in [
        (
            "access",
            ViewAnalysis::Access as fn(AccessSpec) -> ViewAnalysis,
        ),
        ("review", ViewAnalysis::Review),
    ] {
        if let Some(value) = take(key) {
            let at = Some(value.span().start);
            let spec: AccessSpec = field(Some(value))?.ok_or((at, String::new()))?;
            analyses.push((at, make(spec)));
        }
    }
    if analyses.len() > 1 {
        return Err((
            analyses.get(1).and_then(|a| a.0),
            "a view shows at most one of pivot, timeline, findings, identities, access and review"
                .into(),
        ));
    }
    let analysis = analyses.pop().map(|a| a.1).unwrap_or(ViewAnalysis::Events);
    Ok(SavedView {
        name: name.to_string(),
        title: title.unwrap_or_default(),
        note: note.unwrap_or_default(),
        view: ViewSpec {
            filter,
            range,
            tz: tz.clone().unwrap_or(jiff::tz::TimeZone::UTC),
            columns,
            sort,
            limit,
        },
        tz,
        analysis,
        origin,
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFindings {
    #[serde(default)]
    min_severity: Option<String>,
    #[serde(default)]
    rules: Vec<String>,
}

/// A key's value as `T`; Err holds where it is and why it does not fit.
fn field<T: DeserializeOwned>(
    value: Option<Spanned<toml::Value>>,
) -> std::result::Result<Option<T>, (Option<usize>, String)> {
    let Some(value) = value else { return Ok(None) };
    let at = value.span().start;
    value
        .into_inner()
        .try_into()
        .map(Some)
        .map_err(|e: toml::de::Error| (Some(at), e.message().trim_end().to_string()))
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// The TOML document of a file, or an empty one when it does not exist; refuses a file that
/// does not parse, so a user's broken file is never overwritten.
fn document(path: &Path) -> Result<toml_edit::DocumentMut> {
    let text = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        _ => crate::config::read_settings_file(path, MAX_FILE).map_err(|source| Error::Io {
            location: Location::file(path.display().to_string()),
            source,
        })?,
    };
    text.parse::<toml_edit::DocumentMut>().map_err(|e| {
        let line = e.span().map(|s| line_of(&text, s.start));
        problem(
            path,
            line,
            format!(
                "{} (not changed: fix the file first)",
                e.message().trim_end()
            ),
        )
    })
}

/// The `[view]` table of a document, created implicit (only `[view.NAME]` headers show).
fn view_table<'a>(
    doc: &'a mut toml_edit::DocumentMut,
    path: &Path,
) -> Result<&'a mut toml_edit::Table> {
    let item = doc.entry(VIEW_TABLE).or_insert_with(|| {
        let mut table = toml_edit::Table::new();
        table.set_implicit(true);
        toml_edit::Item::Table(table)
    });
    item.as_table_mut()
        .ok_or_else(|| problem(path, None, "'view' is not a table".to_string()))
}

/// Saves `view` in the file at `path` (created with its directories when missing): its
/// table is updated in place when the name exists, keeping the comments around it.
pub fn save(path: &Path, view: &SavedView) -> Result<()> {
    let mut doc = document(path)?;
    let fresh = entry_table(view)?;
    let views = view_table(&mut doc, path)?;
    match views
        .get_mut(&view.name)
        .and_then(toml_edit::Item::as_table_mut)
    {
        Some(table) => {
            let stale: Vec<String> = table
                .iter()
                .map(|(k, _)| k.to_string())
                .filter(|k| !fresh.contains_key(k))
                .collect();
            for key in stale {
                table.remove(&key);
            }
            for (key, item) in fresh.iter() {
                match table.get_mut(key) {
                    // The new value in the old one's place, with the old one's comments.
                    Some(old) => {
                        let decor = old.as_value().map(|v| v.decor().clone());
                        *old = item.clone();
                        if let (Some(decor), Some(value)) = (decor, old.as_value_mut()) {
                            *value.decor_mut() = decor;
                        }
                    }
                    None => {
                        table.insert(key, item.clone());
                    }
                }
            }
        }
        None => {
            views.insert(&view.name, toml_edit::Item::Table(fresh));
        }
    }
    write_atomic(path, &doc.to_string())
}

/// Removes the view `name` from the file.
pub fn remove(path: &Path, name: &str) -> Result<()> {
    let mut doc = document(path)?;
    let views = view_table(&mut doc, path)?;
    if views.remove(name).is_none() {
        return Err(problem(path, None, format!("no view named '{name}' here")));
    }
    write_atomic(path, &doc.to_string())
}

/// Renames the view `old` of the file to `new`, keeping its place and comments.
pub fn rename(path: &Path, old: &str, new: &str) -> Result<()> {
    let mut doc = document(path)?;
    let views = view_table(&mut doc, path)?;
    if views.contains_key(new) {
        return Err(problem(
            path,
            None,
            format!("a view named '{new}' exists already here; remove it first"),
        ));
    }
    let Some((key, item)) = views.remove_entry(old) else {
        return Err(problem(path, None, format!("no view named '{old}' here")));
    };
    let mut key = key;
    let decor = key.leaf_decor().clone();
    key = toml_edit::Key::new(new);
    *key.leaf_decor_mut() = decor;
    views.insert_formatted(&key, item);
    write_atomic(path, &doc.to_string())
}

/// The table of a view as written: only what is set, in [`KEYS`] order.
pub fn entry_table(view: &SavedView) -> Result<toml_edit::Table> {
    let mut table = toml_edit::Table::new();
    let mut put = |key: &str, value: toml_edit::Value| {
        table.insert(key, toml_edit::Item::Value(value));
    };
    if !view.title.is_empty() {
        put("title", view.title.as_str().into());
    }
    if !view.note.is_empty() {
        put("note", view.note.as_str().into());
    }
    let spec = &view.view;
    if !spec.filter.is_empty() {
        put("filter", spec.filter.as_str().into());
    }
    if let Some(range) = &spec.range {
        put("range", to_edit(range)?);
    }
    if let Some(tz) = &view.tz {
        let name = tz.iana_name().ok_or_else(|| {
            Error::Invalid("a time zone without an IANA name cannot be saved".into())
        })?;
        put("tz", name.into());
    }
    if !spec.columns.is_empty() {
        put(
            "columns",
            toml_edit::Value::Array(spec.columns.iter().map(String::as_str).collect()),
        );
    }
    if let Some(sort) = &spec.sort {
        let mut t = toml_edit::InlineTable::new();
        t.insert("column", sort.column.as_str().into());
        t.insert("descending", sort.descending.into());
        put("sort", toml_edit::Value::InlineTable(t));
    }
    if let Some(limit) = spec.limit {
        put("limit", (limit.min(i64::MAX as usize) as i64).into());
    }
    match &view.analysis {
        ViewAnalysis::Events => {}
        ViewAnalysis::Pivot(pivot) => {
            let mut t = toml_edit::InlineTable::new();
            t.insert("rows", pivot.rows.as_str().into());
            if let Some(cols) = &pivot.cols {
                t.insert("cols", cols.as_str().into());
            }
            if let Some(distinct) = &pivot.distinct {
                t.insert("distinct", distinct.as_str().into());
            }
            if pivot.top != DEFAULT_PIVOT_TOP {
                t.insert("top", (pivot.top.min(i64::MAX as usize) as i64).into());
            }
            put("pivot", toml_edit::Value::InlineTable(t))
        }
        ViewAnalysis::Timeline(timeline) => {
            // The view's zone is the timeline's: no tz here.
            let mut t = toml_edit::InlineTable::new();
            t.insert("by", timeline.by.as_str().into());
            if let Some(bucket) = timeline.bucket {
                let text = crate::time::format_duration(bucket).ok_or_else(|| {
                    Error::Invalid("a bucket that is no whole number of seconds".into())
                })?;
                t.insert("bucket", text.into());
            }
            if timeline.top != DEFAULT_TIMELINE_LANES {
                t.insert("top", (timeline.top.min(i64::MAX as usize) as i64).into());
            }
            put("timeline", toml_edit::Value::InlineTable(t))
        }
        ViewAnalysis::Findings(findings) => {
            let mut t = toml_edit::InlineTable::new();
            t.insert("min_severity", findings.min_severity.as_str().into());
            if !findings.rules.is_empty() {
                t.insert(
                    "rules",
                    toml_edit::Value::Array(findings.rules.iter().map(String::as_str).collect()),
                );
            }
            put("findings", toml_edit::Value::InlineTable(t))
        }
        ViewAnalysis::Identities(spec) => put("identities", to_edit(spec)?),
        ViewAnalysis::Access(spec) => put("access", to_edit(spec)?),
        ViewAnalysis::Review(spec) => put("review", to_edit(spec)?),
    }
    Ok(table)
}

/// A spec's serde form as an inline TOML value.
fn to_edit<T: serde::Serialize>(value: &T) -> Result<toml_edit::Value> {
    let value = toml::Value::try_from(value)
        .map_err(|e| Error::Invalid(format!("cannot write a view: {e}")))?;
    Ok(convert(value))
}

fn convert(value: toml::Value) -> toml_edit::Value {
    match value {
        toml::Value::String(s) => s.into(),
        toml::Value::Integer(i) => i.into(),
        toml::Value::Float(f) => f.into(),
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(items) => {
            toml_edit::Value::Array(items.into_iter().map(convert).collect())
        }
        toml::Value::Table(table) => {
            let mut inline = toml_edit::InlineTable::new();
            for (k, v) in table {
                inline.insert(&k, convert(v));
            }
            toml_edit::Value::InlineTable(inline)
        }
    }
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, synced to
/// disk, then renamed over `path` (and the directory synced), so a crash leaves the old file
/// or the new one, never a mix.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let io = |source| Error::Io {
        location: Location::file(path.display().to_string()),
        source,
    };
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".views-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io)?;
    temp.write_all(text.as_bytes()).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(path).map_err(|e| io(e.error))?;
    // The rename itself is durable once the directory is synced (not possible everywhere).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// One view as the TOML a views file holds (`views show`).
pub fn show(view: &SavedView) -> Result<String> {
    let mut views = toml_edit::Table::new();
    views.set_implicit(true);
    views.insert(&view.name, toml_edit::Item::Table(entry_table(view)?));
    let mut doc = toml_edit::DocumentMut::new();
    doc.insert(VIEW_TABLE, toml_edit::Item::Table(views));
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        read_text(text, Path::new("v.toml"), Origin::BuiltIn)
            .problems
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn each_problem_names_the_line_of_its_key() {
        let text = "[view.a]\nfilter = 'x'\ncolour = 1\n\n[view.b]\ncolumns = ['time', 'who']\n\n\
                    [view.c]\npivot = { rows = 'actor' }\ntimeline = { by = 'actor' }\n\n\
                    [view.d]\nfindings = { min_severity = 'severe' }\n\n[view.e]\nfilter = 'actor:alice and (outcome:failure'\n\n\
                    [view.f]\nrange = { last = 'soon' }\n\n[views.g]\n";
        let found = problems(text);
        let expect = [
            "v.toml:3: view 'a': unknown key 'colour'",
            "v.toml:6: view 'b': unknown column 'who'",
            "v.toml:10: view 'c': a view shows at most one of pivot, timeline, findings,",
            "v.toml:13: view 'd': findings: unknown severity 'severe'",
            "v.toml:16: view 'e': invalid filter at column",
            "v.toml:19: view 'f': invalid range",
            "v.toml:21: unknown table 'views'",
        ];
        assert_eq!(found.len(), expect.len(), "{found:#?}");
        for want in expect {
            assert!(
                found.iter().any(|p| p.starts_with(want)),
                "{want}: {found:#?}"
            );
        }
    }

    #[test]
    fn a_view_written_reads_back_the_same() {
        let mut view = SavedView::new("round-trip");
        view.title = "T".into();
        view.note = "a \"quoted\" note\nover two lines".into();
        view.tz = jiff::tz::TimeZone::get("America/New_York").ok();
        view.view = ViewSpec {
            filter: "actor:'o''brien' or action~\"^Delete\"".into(),
            range: Some(TimeRange::Between {
                after: Some("2024-03-01".into()),
                before: None,
            }),
            tz: view.tz.clone().unwrap(),
            columns: vec!["time".into(), "actor".into()],
            sort: Some(SortKey {
                column: "actor".into(),
                descending: true,
            }),
            limit: Some(5),
        };
        view.analysis = ViewAnalysis::Timeline(TimelineSpec {
            by: "provider".into(),
            bucket: Some(900_000_000),
            tz: view.view.tz.clone(),
            top: 3,
        });
        view.origin = Origin::BuiltIn;
        let text = show(&view).unwrap();
        let read = read_text(&text, Path::new("v.toml"), Origin::BuiltIn);
        assert!(read.problems.is_empty(), "{:?}\n{text}", read.problems);
        assert_eq!(read.views.unwrap(), [view], "{text}");
    }

    #[test]
    fn atomic_writes_leave_only_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/views.toml");
        write_atomic(&path, "a = 1\n").unwrap();
        write_atomic(&path, "a = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 2\n");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["views.toml"]);
    }
}
