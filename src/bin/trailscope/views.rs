//! `trailscope views` (list, show, save, rm, rename) and [`open_view`], which every command
//! taking `--view` calls: the library's views with the command line's flags on top.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use trailscope::analysis::{self, PivotSpec, SortKey, TimeRange, TimelineSpec};
use trailscope::detectors::Severity;
use trailscope::text::escape_control;
use trailscope::views::{
    self, FindingsSpec, Overrides, Resolved, SavedView, ViewAnalysis, ViewLibrary,
};

use crate::args::{Common, Level, RangeArgs, ViewArgs};

/// What `trailscope views` can do.
#[derive(Subcommand)]
pub(crate) enum ViewsCommand {
    /// List the views in effect: name, what it shows, where it comes from, title.
    List,
    /// Print a view as TOML.
    Show {
        /// The view.
        name: String,
    },
    /// Save a view (replacing one of the same name in the file saved to): in --views FILE,
    /// else ./.trailscope/views.toml when ./.trailscope/ exists, else
    /// $XDG_CONFIG_HOME/trailscope/views.toml. `--tz` saves the zone too.
    Save(Box<SaveArgs>),
    /// Delete a view from its file (built-ins cannot be deleted, only overridden).
    Rm {
        /// The view.
        name: String,
    },
    /// Rename a view in its file.
    Rename {
        /// The view.
        old: String,
        /// Its new name.
        new: String,
    },
}

/// What `trailscope views save` was given.
#[derive(clap::Args)]
pub(crate) struct SaveArgs {
    /// The view's name (letters, digits, `-`, `_`, `.`).
    name: String,
    /// Filter expression.
    #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
    filter: Option<String>,
    /// A title for lists and reports.
    #[arg(long)]
    title: Option<String>,
    /// Free text: why the view exists, what to look for.
    #[arg(long)]
    note: Option<String>,
    /// Columns shown, comma-separated.
    #[arg(long, value_name = "C1,C2", value_delimiter = ',')]
    columns: Vec<String>,
    /// Sort, `COLUMN` or `COLUMN:desc`.
    #[arg(long, value_name = "COL[:desc]")]
    sort: Option<String>,
    /// Show at most N events.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[command(flatten)]
    range: RangeArgs,
    /// Show a pivot with these rows.
    #[arg(long, value_name = "COL", conflicts_with_all = ["timeline_by", "bucket", "findings"])]
    pivot_rows: Option<String>,
    /// ... and these columns.
    #[arg(long, value_name = "COL", requires = "pivot_rows")]
    pivot_cols: Option<String>,
    /// Show a timeline with one lane per value of this column.
    #[arg(long, value_name = "COL", conflicts_with = "findings")]
    timeline_by: Option<String>,
    /// ... in buckets of this size (`15m`, `1h`).
    #[arg(long, value_name = "SIZE", conflicts_with = "findings")]
    bucket: Option<String>,
    /// Show the findings at or above this severity whose events the filter selects.
    #[arg(long, value_name = "MIN", value_enum)]
    findings: Option<Level>,
}

/// The severity a `--min-severity`/`--findings` level names.
pub(crate) fn severity(level: Level) -> Severity {
    match level {
        Level::Info => Severity::Info,
        Level::Low => Severity::Low,
        Level::Medium => Severity::Medium,
        Level::High => Severity::High,
        Level::Critical => Severity::Critical,
    }
}

/// The time range of `--last` or `--after`/`--before`.
pub(crate) fn range(args: &RangeArgs) -> Option<TimeRange> {
    match (&args.last, &args.after, &args.before) {
        (Some(last), _, _) => Some(TimeRange::Last(last.clone())),
        (None, None, None) => None,
        (None, after, before) => Some(TimeRange::Between {
            after: after.clone(),
            before: before.clone(),
        }),
    }
}

/// Loads the views, printing what is wrong in the files on standard error (a broken file
/// loses no other view), and fails only for the problems of the view asked for.
fn library(common: &Common) -> ViewLibrary {
    let (library, problems) = ViewLibrary::load(common.views.as_deref());
    let mut err = io::stderr().lock();
    for problem in problems {
        let _ = writeln!(
            err,
            "trailscope: warning: {}",
            escape_control(&problem.to_string())
        );
    }
    library
}

/// The view a command opens: `--view NAME` from the library (or every event without it),
/// with the flags in `overrides` and the range flags on top, in the display zone `tz`
/// (`--tz`, when given, overrides the view's zone too).
pub(crate) fn open_view(
    common: &Common,
    args: &ViewArgs,
    mut overrides: Overrides,
    tz: &jiff::tz::TimeZone,
) -> anyhow::Result<Resolved> {
    overrides.range = range(&args.range);
    if common.tz.is_some() {
        overrides.tz = Some(tz.clone());
    }
    let Some(name) = &args.view else {
        return Ok(overrides.resolve(None, tz));
    };
    let library = library(common);
    let view = library.require(name)?;
    Ok(overrides.resolve(Some(view), tz))
}

/// The display zone of the configuration and `--tz`, without loading any input.
fn display_zone(common: &Common) -> anyhow::Result<Option<jiff::tz::TimeZone>> {
    let Some(name) = &common.tz else {
        return Ok(None);
    };
    Ok(Some(jiff::tz::TimeZone::get(name).map_err(|_| {
        trailscope::Error::Invalid(format!(
            "unknown time zone '{}' (use an IANA name such as Europe/Berlin)",
            escape_control(name)
        ))
    })?))
}

/// Runs `trailscope views ...`.
pub(crate) fn run(command: ViewsCommand, common: &Common) -> anyhow::Result<ExitCode> {
    let mut library = library(common);
    let mut out = io::stdout().lock();
    match command {
        ViewsCommand::List => {
            let views = library.list();
            let name_w = views
                .iter()
                .map(|v| v.name.chars().count())
                .max()
                .unwrap_or(4);
            let shows: Vec<String> = views.iter().map(|v| v.analysis.describe()).collect();
            let shows_w = shows.iter().map(|s| s.chars().count()).max().unwrap_or(5);
            let origins: Vec<String> = views
                .iter()
                .map(|v| {
                    let origin = v.origin.to_string();
                    if v.origin != views::Origin::BuiltIn && library.is_builtin(&v.name) {
                        format!("{origin} (overrides built-in)")
                    } else {
                        origin
                    }
                })
                .collect();
            let origin_w = origins.iter().map(|s| s.chars().count()).max().unwrap_or(6);
            writeln!(
                out,
                "{:name_w$}  {:shows_w$}  {:origin_w$}  TITLE",
                "NAME", "SHOWS", "ORIGIN"
            )?;
            for ((view, shows), origin) in views.iter().zip(&shows).zip(&origins) {
                writeln!(
                    out,
                    "{:name_w$}  {:shows_w$}  {:origin_w$}  {}",
                    escape_control(&view.name),
                    escape_control(shows),
                    escape_control(origin),
                    escape_control(&view.title)
                )?;
            }
        }
        ViewsCommand::Show { name } => {
            let view = library.require(&name)?;
            writeln!(out, "# {}", escape_control(&view.origin.to_string()))?;
            write!(out, "{}", escape_control_keep(&views::file::show(view)?))?;
        }
        ViewsCommand::Save(args) => {
            let view = saved_view(*args, display_zone(common)?)?;
            let path = library.save(&view)?;
            let _ = writeln!(
                io::stderr(),
                "trailscope: saved view '{}' in {}",
                escape_control(&view.name),
                escape_control(&path.display().to_string())
            );
        }
        ViewsCommand::Rm { name } => {
            let path = library.remove(&name)?;
            let back = library
                .get(&name)
                .map(|v| format!(" ({} shows again)", v.origin))
                .unwrap_or_default();
            let _ = writeln!(
                io::stderr(),
                "trailscope: removed view '{}' from {}{}",
                escape_control(&name),
                escape_control(&path.display().to_string()),
                escape_control(&back)
            );
        }
        ViewsCommand::Rename { old, new } => {
            let path = library.rename(&old, &new)?;
            let _ = writeln!(
                io::stderr(),
                "trailscope: renamed view '{}' to '{}' in {}",
                escape_control(&old),
                escape_control(&new),
                escape_control(&path.display().to_string())
            );
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Control characters escaped, line breaks kept (the TOML's own).
fn escape_control_keep(text: &str) -> String {
    trailscope::text::escape_control_keep_newlines(text).into_owned()
}

/// The view `views save` describes, checked as a views file would check it.
fn saved_view(args: SaveArgs, tz: Option<jiff::tz::TimeZone>) -> anyhow::Result<SavedView> {
    views::check_name(&args.name)?;
    let mut view = SavedView::new(args.name);
    view.title = args.title.unwrap_or_default();
    view.note = args.note.unwrap_or_default();
    view.view.filter = args.filter.unwrap_or_default().trim().to_string();
    if !view.view.filter.is_empty() {
        analysis::filter::parse(&view.view.filter).map_err(|e| {
            trailscope::Error::Invalid(format!(
                "invalid filter at column {}: {}",
                e.span.start + 1,
                e.message
            ))
        })?;
    }
    view.view.range = range(&args.range);
    for column in &args.columns {
        analysis::check_column(column)?;
    }
    view.view.columns = args.columns;
    view.view.sort = args.sort.as_deref().map(SortKey::parse).transpose()?;
    view.view.limit = args.limit;
    if let Some(tz) = &tz {
        view.view.tz = tz.clone();
    }
    view.tz = tz;
    view.analysis = if let Some(rows) = args.pivot_rows {
        analysis::check_column(&rows)?;
        if let Some(cols) = &args.pivot_cols {
            analysis::check_column(cols)?;
        }
        ViewAnalysis::Pivot(PivotSpec {
            rows,
            cols: args.pivot_cols,
            distinct: None,
            top: analysis::DEFAULT_PIVOT_TOP,
        })
    } else if args.timeline_by.is_some() || args.bucket.is_some() {
        let by = args
            .timeline_by
            .unwrap_or_else(|| trailscope::schema::ACTOR.to_string());
        analysis::check_column(&by)?;
        ViewAnalysis::Timeline(TimelineSpec {
            by,
            bucket: args
                .bucket
                .as_deref()
                .map(analysis::parse_bucket)
                .transpose()?,
            tz: view.view.tz.clone(),
            top: analysis::DEFAULT_TIMELINE_LANES,
        })
    } else if let Some(level) = args.findings {
        ViewAnalysis::Findings(FindingsSpec {
            min_severity: severity(level),
            rules: Vec::new(),
        })
    } else {
        ViewAnalysis::Events
    };
    // The range is checked as a file's would be.
    let text = views::file::show(&view)?;
    let read = views::file::read_text(
        &text,
        &PathBuf::from("(command line)"),
        views::Origin::BuiltIn,
    );
    if let Some(problem) = read.problems.into_iter().next() {
        return Err(problem.into());
    }
    Ok(view)
}
