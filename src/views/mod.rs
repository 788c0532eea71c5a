//! Saved views: a name, a title and a note over an analysis (the events a [`ViewSpec`]
//! selects, or a pivot, a timeline or the findings of those events), kept as TOML so that
//! an analyst can reopen tomorrow what they found today, from the CLI or the TUI.
//!
//! Views come in layers, each closer one winning by name: the [built-ins](builtin),
//! `$XDG_CONFIG_HOME/trailscope/views.toml`, `./.trailscope/views.toml` (a case folder
//! shared in git), then `--views FILE`. [`file`] reads and writes one file, keeping the
//! user's comments and layout. [`ViewLibrary`] is what the CLI and the TUI call.

pub mod builtin;
pub mod file;
mod resolve;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::analysis::{PivotSpec, TimelineSpec, ViewSpec};
use crate::audit::access::AccessSpec;
use crate::audit::identities::IdentitiesSpec;
use crate::detectors::{Finding, Severity};
use crate::{Error, Location, Result};

pub use resolve::{Overrides, Resolved};

/// The file name of a views file in each place views are looked for.
pub const FILE_NAME: &str = "views.toml";
/// The case folder of the working directory (`./.trailscope/views.toml`).
pub const PROJECT_DIR: &str = ".trailscope";

/// Where a view was read from: built in, or a file (and the line of its table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// One of the views shipped with trailscope.
    BuiltIn,
    /// A views file.
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line of the view's table (None: not saved yet).
        line: Option<u64>,
    },
}

impl Origin {
    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::BuiltIn => None,
            Origin::File { path, .. } => Some(path),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::File { path, line } => {
                let location = Location {
                    path: path.display().to_string(),
                    line: *line,
                    byte_offset: None,
                };
                write!(f, "{location}")
            }
        }
    }
}

/// What a view shows of the events it selects.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewAnalysis {
    /// The events themselves (the TUI's events tab, `trailscope query`).
    Events,
    /// Counts by one or two columns.
    Pivot(PivotSpec),
    /// Counts over time; its zone is the view's.
    Timeline(TimelineSpec),
    /// The findings whose events the view selects.
    Findings(FindingsSpec),
    /// The identity inventory of the selected events.
    Identities(IdentitiesSpec),
    /// The access audit of the grants in the selected events.
    Access(AccessSpec),
    /// The access review: who holds each privileged role at the end of the selection.
    Review(AccessSpec),
}

impl ViewAnalysis {
    /// A word for lists: `events`, `pivot`, `timeline` or `findings`.
    pub fn kind(&self) -> &'static str {
        match self {
            ViewAnalysis::Events => "events",
            ViewAnalysis::Pivot(_) => "pivot",
            ViewAnalysis::Timeline(_) => "timeline",
            ViewAnalysis::Findings(_) => "findings",
            ViewAnalysis::Identities(_) => "identities",
            ViewAnalysis::Access(_) => "access",
            ViewAnalysis::Review(_) => "review",
        }
    }

    /// What it shows, for a person: `events`, `pivot actor x action`, `timeline by actor`,
    /// `findings >= medium`.
    pub fn describe(&self) -> String {
        match self {
            ViewAnalysis::Events => "events".into(),
            ViewAnalysis::Pivot(p) => match &p.cols {
                Some(cols) => format!("pivot {} x {}", p.rows, cols),
                None => format!("pivot by {}", p.rows),
            },
            ViewAnalysis::Timeline(t) => format!("timeline by {}", t.by),
            ViewAnalysis::Findings(f) => {
                let mut text = format!("findings >= {}", f.min_severity.as_str());
                match f.rules.len() {
                    0 => {}
                    1 => text.push_str(&format!(" of {}", f.rules[0])),
                    n => text.push_str(&format!(" of {n} rules")),
                }
                text
            }
            ViewAnalysis::Identities(i) => {
                format!("identity inventory (dormant > {} days)", i.dormant_days)
            }
            ViewAnalysis::Access(a) if a.privileged_only => "access audit (privileged)".into(),
            ViewAnalysis::Access(_) => "access audit".into(),
            ViewAnalysis::Review(a) => format!("access review (unused > {} days)", a.unused_days),
        }
    }
}

/// Which findings a findings view lists: those at or above a severity, of some rules (all
/// when empty), with at least one event the view's filter selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingsSpec {
    /// The least severity listed.
    pub min_severity: Severity,
    /// Rule ids (empty: every rule).
    pub rules: Vec<String>,
}

impl Default for FindingsSpec {
    fn default() -> Self {
        FindingsSpec {
            min_severity: Severity::Info,
            rules: Vec::new(),
        }
    }
}

impl FindingsSpec {
    /// Whether a finding of `rule` at `severity` is listed.
    pub fn admits(&self, rule: &str, severity: Severity) -> bool {
        severity >= self.min_severity
            && (self.rules.is_empty() || self.rules.iter().any(|r| r == rule))
    }

    /// The findings in scope of a view: of its rules (any severity) and, when `selected`
    /// holds the frame rows its filter and range select (None: every row), with at least
    /// one of those events. `frame_height` bounds the row mask. Filter by
    /// [`FindingsSpec::min_severity`] afterwards (`detectors::at_least`).
    pub fn in_scope(
        &self,
        findings: Vec<Finding>,
        selected: Option<&polars::prelude::IdxCa>,
        frame_height: usize,
    ) -> Vec<Finding> {
        let keep = self.scope_test(selected, frame_height);
        findings.into_iter().filter(|f| keep(f)).collect()
    }

    /// [`FindingsSpec::in_scope`] over borrowed findings: a report copies only those it
    /// shows.
    pub fn in_scope_of<'f>(
        &self,
        findings: &'f [Finding],
        selected: Option<&polars::prelude::IdxCa>,
        frame_height: usize,
    ) -> Vec<&'f Finding> {
        let keep = self.scope_test(selected, frame_height);
        findings.iter().filter(|f| keep(f)).collect()
    }

    fn scope_test(
        &self,
        selected: Option<&polars::prelude::IdxCa>,
        frame_height: usize,
    ) -> impl Fn(&Finding) -> bool + '_ {
        let mask = selected.map(|rows| row_mask(rows, frame_height));
        move |f| {
            (self.rules.is_empty() || self.rules.contains(&f.rule))
                && mask.as_ref().is_none_or(|mask| {
                    f.rows
                        .iter()
                        .any(|r| mask.get(*r as usize).copied().unwrap_or(false))
                })
        }
    }
}

/// The frame rows `rows` names, as a mask of `height` rows (what a finding's rows are
/// looked up in).
pub fn row_mask(rows: &polars::prelude::IdxCa, height: usize) -> Vec<bool> {
    let mut mask = vec![false; height];
    for row in rows.downcast_iter().flat_map(|a| a.values().iter()) {
        if let Some(slot) = mask.get_mut(*row as usize) {
            *slot = true;
        }
    }
    mask
}

/// A named, saved analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedView {
    /// The name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// A title for lists and reports.
    pub title: String,
    /// Free text: why it exists, what to look for.
    pub note: String,
    /// The zone it was saved with (None: the user's display zone when it is opened).
    pub tz: Option<jiff::tz::TimeZone>,
    /// Filter, range, columns, sort and limit. Its `tz` is `tz` or UTC; use
    /// [`SavedView::resolve`] for the zone it is opened in.
    pub view: ViewSpec,
    /// What it shows.
    pub analysis: ViewAnalysis,
    /// Where it came from.
    pub origin: Origin,
}

impl SavedView {
    /// A view of every event, to fill in.
    pub fn new(name: impl Into<String>) -> SavedView {
        SavedView {
            name: name.into(),
            title: String::new(),
            note: String::new(),
            tz: None,
            view: ViewSpec::default(),
            analysis: ViewAnalysis::Events,
            origin: Origin::File {
                path: PathBuf::new(),
                line: None,
            },
        }
    }
}

/// Checks a view name: letters, digits, `-`, `_` and `.`, at most 64 characters, so that it
/// is a bare TOML key and can be typed on a command line.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "invalid view name '{}': use letters, digits, '-', '_' and '.' (at most 64)",
            crate::text::escape_control(name)
        )))
    }
}

/// The files views are read from, farthest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// `$XDG_CONFIG_HOME/trailscope/views.toml` (`~/.config/...`); None without a home.
    pub user: Option<PathBuf>,
    /// `./.trailscope/views.toml`.
    pub project: PathBuf,
    /// `--views FILE`.
    pub explicit: Option<PathBuf>,
}

impl Locations {
    /// The places of this process: its environment and working directory, and `--views`.
    pub fn discover(explicit: Option<&Path>) -> Locations {
        let user = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|base| base.join("trailscope").join(FILE_NAME));
        Locations {
            user,
            project: Path::new(PROJECT_DIR).join(FILE_NAME),
            explicit: explicit.map(Path::to_path_buf),
        }
    }

    /// Where a new view is saved: `--views FILE`; else `./.trailscope/views.toml` when
    /// `./.trailscope/` exists (a case folder); else the user's file.
    pub fn save_target(&self) -> Result<PathBuf> {
        if let Some(explicit) = &self.explicit {
            return Ok(explicit.clone());
        }
        if self.project.parent().is_some_and(Path::is_dir) {
            return Ok(self.project.clone());
        }
        self.user.clone().ok_or_else(|| {
            Error::Invalid(
                "nowhere to save views: neither $XDG_CONFIG_HOME nor $HOME is set (use --views FILE)"
                    .into(),
            )
        })
    }

    fn files(&self) -> Vec<PathBuf> {
        self.user
            .iter()
            .chain(std::iter::once(&self.project))
            .chain(self.explicit.iter())
            .cloned()
            .collect()
    }
}

/// One layer of views: the built-ins or one file.
#[derive(Debug, Clone)]
struct Layer {
    /// The file (None: the built-ins).
    path: Option<PathBuf>,
    /// Its views, in file order.
    views: Vec<SavedView>,
}

/// Every view the user can open, layered: a closer file's view hides a farther one of the
/// same name.
#[derive(Debug, Clone)]
pub struct ViewLibrary {
    locations: Locations,
    layers: Vec<Layer>,
}

impl ViewLibrary {
    /// Loads the built-ins and the views files of this process (see [`Locations::discover`]).
    /// A broken file or entry is returned as a problem (`file:line: reason`) and loses no
    /// other view.
    pub fn load(explicit: Option<&Path>) -> (ViewLibrary, Vec<Error>) {
        ViewLibrary::load_from(Locations::discover(explicit))
    }

    /// Loads the built-ins and the views files at `locations`; missing files hold no views.
    pub fn load_from(locations: Locations) -> (ViewLibrary, Vec<Error>) {
        let mut problems = Vec::new();
        let mut layers = vec![Layer {
            path: None,
            views: builtin::views(),
        }];
        for path in locations.files() {
            if layers
                .iter()
                .any(|l| l.path.as_deref() == Some(path.as_path()))
            {
                continue;
            }
            let read = file::read(&path);
            problems.extend(read.problems);
            if let Some(views) = read.views {
                layers.push(Layer {
                    path: Some(path),
                    views,
                });
            }
        }
        (ViewLibrary { locations, layers }, problems)
    }

    /// The built-in views alone, saving to `./.trailscope/views.toml` (the TUI's until the
    /// files are read, and tests').
    pub fn builtin_only() -> ViewLibrary {
        ViewLibrary {
            locations: Locations {
                user: None,
                project: Path::new(PROJECT_DIR).join(FILE_NAME),
                explicit: None,
            },
            layers: vec![Layer {
                path: None,
                views: builtin::views(),
            }],
        }
    }

    /// The places this library reads and saves.
    pub fn locations(&self) -> &Locations {
        &self.locations
    }

    /// The view of this name from the closest layer that has one.
    pub fn get(&self, name: &str) -> Option<&SavedView> {
        self.layers
            .iter()
            .rev()
            .find_map(|l| l.views.iter().find(|v| v.name == name))
    }

    /// The view of this name, or an error naming the files looked in and the views known.
    pub fn require(&self, name: &str) -> Result<&SavedView> {
        self.get(name).ok_or_else(|| {
            let files: Vec<String> = self
                .locations
                .files()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            let names: Vec<&str> = self.list().iter().map(|v| v.name.as_str()).collect();
            Error::Invalid(format!(
                "no view named '{}' (looked in the built-ins, {}); views: {}",
                crate::text::escape_control(name),
                files.join(", "),
                names.join(", ")
            ))
        })
    }

    /// Every view in effect (the closest of each name), built-ins first, then by name.
    pub fn list(&self) -> Vec<&SavedView> {
        let mut names: Vec<&str> = Vec::new();
        for layer in &self.layers {
            for view in &layer.views {
                if !names.contains(&view.name.as_str()) {
                    names.push(&view.name);
                }
            }
        }
        let mut views: Vec<&SavedView> = names.iter().filter_map(|n| self.get(n)).collect();
        views.sort_by(|a, b| {
            let builtin = |v: &SavedView| v.origin != Origin::BuiltIn;
            (builtin(a), &a.name).cmp(&(builtin(b), &b.name))
        });
        views
    }

    /// Whether a built-in view of this name exists (hidden or not by a file's).
    pub fn is_builtin(&self, name: &str) -> bool {
        self.layers
            .first()
            .is_some_and(|l| l.views.iter().any(|v| v.name == name))
    }

    /// Saves a view (replacing one of the same name in the target file, keeping its place
    /// and comments) in [`Locations::save_target`]; returns the file.
    pub fn save(&mut self, view: &SavedView) -> Result<PathBuf> {
        check_name(&view.name)?;
        let path = self.locations.save_target()?;
        file::save(&path, view)?;
        self.reload(&path);
        Ok(path)
    }

    /// Deletes the view in effect under this name from its file; returns the file. A built-in
    /// cannot be deleted; a file's view that overrides one can (the built-in shows again).
    pub fn remove(&mut self, name: &str) -> Result<PathBuf> {
        let view = self.require(name)?;
        let Some(path) = view.origin.path().map(Path::to_path_buf) else {
            return Err(Error::Invalid(format!(
                "'{name}' is a built-in view: it can be overridden (save a view of that name) but not deleted"
            )));
        };
        file::remove(&path, name)?;
        self.reload(&path);
        Ok(path)
    }

    /// Renames the view in effect under `old` in its file; returns the file. Refuses a
    /// built-in (save a copy instead) and a name already used in the same file.
    pub fn rename(&mut self, old: &str, new: &str) -> Result<PathBuf> {
        check_name(new)?;
        let view = self.require(old)?;
        let Some(path) = view.origin.path().map(Path::to_path_buf) else {
            return Err(Error::Invalid(format!(
                "'{old}' is a built-in view and cannot be renamed; save a copy under the new name"
            )));
        };
        file::rename(&path, old, new)?;
        self.reload(&path);
        Ok(path)
    }

    /// Reads one file again after it changed.
    fn reload(&mut self, path: &Path) {
        let views = file::read(path).views.unwrap_or_default();
        match self
            .layers
            .iter_mut()
            .find(|l| l.path.as_deref() == Some(path))
        {
            Some(layer) => layer.views = views,
            None => {
                // A new file: place it by its rank among the locations.
                let rank = |p: &Path| self.locations.files().iter().position(|f| f == p);
                let at = self
                    .layers
                    .iter()
                    .position(|l| l.path.as_deref().and_then(rank) > rank(path))
                    .unwrap_or(self.layers.len());
                self.layers.insert(
                    at,
                    Layer {
                        path: Some(path.to_path_buf()),
                        views,
                    },
                );
            }
        }
    }
}
