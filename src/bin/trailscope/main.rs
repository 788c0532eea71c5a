//! The `trailscope` binary: command line parsing, the headless commands, and exit codes
//! (0 success, 1 nothing found where a command says so, 2 error). The only file that uses
//! anyhow or exits the process.

mod access;
mod args;
mod commands;
mod identities;
mod incidents;
mod inputs;
mod lake;
mod lake_sql;
mod permissions;
mod report;
mod sigma;
mod views;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;

use trailscope::analysis::{self, SortKey};
use trailscope::load::follow::FollowOptions;
use trailscope::synth;
use trailscope::text::{escape_control, escape_control_keep_newlines};
use trailscope::views::Overrides;

use args::{Cli, Command, Common, SummaryFormat, SynthKind};
use commands::{QueryRequest, detect, pivot, query_events, summary, tail, timeline};
use inputs::{default_paths, load, prepare};

fn main() -> ExitCode {
    let cli = parse_cli();
    polars::error::set_warning_function(write_polars_warning);
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let _ = write_error(&mut io::stderr().lock(), &err);
            ExitCode::from(2)
        }
    }
}

/// Parses the command line; exits on `--help`, `--version` and usage errors as clap does
/// (status 2), with the arguments clap echoes in its message escaped.
fn parse_cli() -> Cli {
    let err = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(err) => err,
    };
    let args: Vec<OsString> = std::env::args_os().collect();
    let clean = |arg: &OsString| arg.to_str().is_some_and(|a| escape_control(a) == a);
    if !err.use_stderr() || args.iter().all(clean) {
        err.exit();
    }
    // Parsing the escaped arguments fails the same way and names them escaped, and keeps
    // clap's colours; should it not fail, print the first error as plain escaped text.
    let escaped = args
        .iter()
        .map(|a| escape_control(&a.to_string_lossy()).into_owned());
    match Cli::try_parse_from(escaped) {
        Err(again) if again.use_stderr() => again.exit(),
        _ => {
            let text = err.render().to_string();
            let _ = write!(io::stderr(), "{}", escape_control_keep_newlines(&text));
            std::process::exit(2);
        }
    }
}

/// Polars prints its own warnings on standard error; they pass through the same escaping
/// as everything else written there (their line breaks are Polars' layout, kept).
fn write_polars_warning(message: &str, warning: polars::error::PolarsWarning) {
    let _ = writeln!(
        io::stderr(),
        "{warning:?}: {}",
        escape_control_keep_newlines(message)
    );
}

/// Writes an error for a person: `trailscope: what failed: why` on one line, every part of
/// the chain escaped, because error text carries log values, file names, user arguments and
/// third-party messages (Polars echoes values and aliases) and none of it may drive the
/// terminal. An invalid filter adds the filter and a caret under the problem.
fn write_error(out: &mut dyn Write, err: &anyhow::Error) -> io::Result<()> {
    writeln!(out, "trailscope: {}", one_line(err))?;
    if let Some(problem) = err.chain().find_map(|c| c.downcast_ref::<FilterProblem>()) {
        writeln!(out, "  {}", problem.shown)?;
        writeln!(out, "  {}", problem.caret)?;
    }
    Ok(())
}

/// The error and its causes on one line, each escaped (a newline in a message would let it
/// pass for another line of output).
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = err
        .chain()
        .map(|c| escape_control(&c.to_string()).into_owned())
        .collect();
    parts.dedup();
    parts.join(": ")
}

/// An invalid filter as the command line reports it: the message on the error line, then
/// the filter and a caret under the problem, both already escaped.
#[derive(Debug)]
pub(crate) struct FilterProblem {
    /// 1-based character column of the problem in the filter as typed.
    pub(crate) column: usize,
    /// What is wrong.
    pub(crate) message: String,
    /// The filter, escaped.
    pub(crate) shown: String,
    /// Spaces and carets placing `^` under the problem in `shown`.
    pub(crate) caret: String,
}

impl fmt::Display for FilterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter at column {}: {}",
            self.column, self.message
        )
    }
}

impl std::error::Error for FilterProblem {}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let common = cli.common.clone();
    match cli.command {
        Some(Command::Summary {
            lake: Some(root),
            format,
            ..
        }) => lake::summary(&root, format),
        Some(Command::Summary { paths, format, .. }) => {
            summary(&paths, cli.input_format.as_deref(), &common, format)
        }
        Some(Command::Query {
            paths,
            lake,
            filter,
            sql,
            columns,
            sort,
            limit,
            format,
            view,
            emit,
        }) => {
            let overrides = Overrides {
                filter: filter.clone(),
                columns: (!columns.is_empty()).then_some(columns),
                sort: sort.as_deref().map(SortKey::parse).transpose()?,
                limit,
                ..Overrides::default()
            };
            if let Some(engine) = &emit.emit_sql {
                return lake_sql::emit_query(
                    &common,
                    &view,
                    overrides,
                    engine,
                    &emit,
                    sql.is_some(),
                );
            }
            let request = QueryRequest { sql, limit, format };
            if let Some(root) = lake {
                return lake::query(&root, &common, (&view, overrides), &request);
            }
            let loaded = load(&paths, cli.input_format.as_deref(), &common)?;
            let resolved = views::open_view(&common, &view, overrides, &loaded.tz)?;
            query_events(&loaded, &resolved, &request)
        }
        Some(Command::Pivot {
            paths,
            lake,
            rows,
            cols,
            distinct,
            filter,
            top,
            format,
            view,
            emit,
        }) => {
            let overrides = Overrides {
                filter,
                pivot_rows: rows,
                pivot_cols: cols,
                pivot_distinct: distinct,
                pivot_top: top,
                ..Overrides::default()
            };
            if let Some(engine) = &emit.emit_sql {
                return lake_sql::emit_pivot(&common, &view, overrides, engine, &emit);
            }
            if let Some(root) = lake {
                return lake::pivot(&root, &common, (&view, overrides), format);
            }
            let loaded = load(&paths, cli.input_format.as_deref(), &common)?;
            let resolved = views::open_view(&common, &view, overrides, &loaded.tz)?;
            pivot(&loaded, &resolved, format)
        }
        Some(Command::Timeline {
            paths,
            lake,
            by,
            bucket,
            filter,
            top,
            profile,
            format,
            view,
        }) => {
            let overrides = Overrides {
                filter,
                timeline_by: by,
                bucket: bucket.as_deref().map(analysis::parse_bucket).transpose()?,
                timeline_top: top,
                ..Overrides::default()
            };
            if let Some(root) = lake {
                return lake::timeline(&root, &common, (&view, overrides), profile, format);
            }
            let loaded = load(&paths, cli.input_format.as_deref(), &common)?;
            let resolved = views::open_view(&common, &view, overrides, &loaded.tz)?;
            timeline(&loaded, &resolved, profile, format)
        }
        Some(Command::Detect {
            paths,
            lake,
            window,
            min_severity,
            filter,
            format,
            fail_on,
            sigma,
            sigma_only,
            view,
        }) => {
            let overrides = Overrides {
                filter,
                min_severity: min_severity.map(views::severity),
                ..Overrides::default()
            };
            if let Some(root) = &lake
                && let Some(history) =
                    lake::detection_window(root, &common, (&view, overrides.clone()), window)?
            {
                return lake::detect_by_windows(
                    root,
                    &common,
                    (&view, overrides),
                    history,
                    (format, fail_on),
                    (&sigma, sigma_only),
                );
            }
            let (loaded, resolved) = match lake {
                Some(root) => lake::load_lake(&root, &common, (&view, overrides))?,
                None => {
                    let loaded = inputs::load_with_sigma(
                        &paths,
                        cli.input_format.as_deref(),
                        &common,
                        &sigma,
                    )?;
                    let resolved = views::open_view(&common, &view, overrides, &loaded.tz)?;
                    (loaded, resolved)
                }
            };
            detect(&loaded, &resolved, (format, fail_on), (&sigma, sigma_only))
        }
        Some(Command::Incidents {
            paths,
            min_severity,
            filter,
            format,
            view,
        }) => {
            let overrides = Overrides {
                filter,
                min_severity: min_severity.map(views::severity),
                ..Overrides::default()
            };
            let loaded = load(&paths, cli.input_format.as_deref(), &common)?;
            let resolved = views::open_view(&common, &view, overrides, &loaded.tz)?;
            incidents::incidents(&loaded, &resolved, format)
        }
        Some(Command::Access(args)) => access::access(*args, cli.input_format.as_deref(), &common),
        Some(Command::Permissions(args)) => {
            permissions::permissions(*args, cli.input_format.as_deref(), &common)
        }
        Some(Command::Identities {
            paths,
            filter,
            sort,
            format,
            permissions,
            view,
        }) => {
            let overrides = Overrides {
                filter,
                ..Overrides::default()
            };
            let loaded = load(&paths, cli.input_format.as_deref(), &common)?;
            let resolved = views::open_view(&common, &view, overrides, &loaded.tz)?;
            identities::identities(&loaded, &resolved, sort.as_deref(), format, permissions)
        }
        Some(Command::Lake { command }) => lake_sql::lake(command),
        Some(Command::Views { command }) => views::run(command, &common),
        Some(Command::Sigma { command }) => {
            sigma::run(command, cli.input_format.as_deref(), &common)
        }
        Some(Command::Report(args)) => report::report(args, cli.input_format.as_deref(), &common),
        Some(Command::Export {
            paths,
            lake,
            filter,
            view,
        }) => lake::export(
            &paths,
            cli.input_format.as_deref(),
            &common,
            (&view, filter),
            &lake,
        ),
        Some(Command::Tail(args)) => tail(args, cli.input_format.as_deref(), &common),
        Some(Command::Synth {
            kind,
            out,
            events,
            seed,
        }) => {
            let kind = match kind {
                SynthKind::Sample => synth::Kind::Sample,
                SynthKind::CloudtrailNdjson => synth::Kind::CloudtrailNdjson,
                SynthKind::CloudtrailS3 => synth::Kind::CloudtrailS3,
                SynthKind::EntraSignins => synth::Kind::EntraSignins,
                SynthKind::Kubernetes => synth::Kind::Kubernetes,
                SynthKind::Gcp => synth::Kind::Gcp,
                SynthKind::Month => synth::Kind::Month,
            };
            let written = synth::write(kind, &out, events, seed)
                .with_context(|| format!("writing {}", out.display()))?;
            let _ = writeln!(
                io::stderr(),
                "wrote {} events in {} files under {}",
                written.events,
                written.files,
                escape_control(&out.display().to_string())
            );
            Ok(ExitCode::SUCCESS)
        }
        // A bare invocation opens the TUI on a terminal and prints the summary otherwise
        // (scripts and pipes).
        None if io::stdout().is_terminal() => tui(&cli, &common),
        None if cli.lake.is_some() => {
            bail!(
                "--lake opens the TUI and needs a terminal; use `trailscope query --lake` in pipes"
            )
        }
        None if cli.follow => {
            bail!("--follow opens the TUI and needs a terminal; use `trailscope tail` in pipes")
        }
        None => summary(
            &cli.paths,
            cli.input_format.as_deref(),
            &common,
            SummaryFormat::Table,
        ),
    }
}

/// Opens the terminal UI; the inputs load in the background.
fn tui(cli: &Cli, common: &Common) -> anyhow::Result<ExitCode> {
    if let Some(root) = &cli.lake {
        return lake::tui(root, (cli.lake_filter.clone(), cli.lake_page), common);
    }
    let prepared = prepare(&cli.paths, cli.input_format.as_deref(), common)?;
    let follow = cli.follow.then(|| FollowOptions {
        poll: cli.poll,
        ..FollowOptions::default()
    });
    let paths = if cli.paths.is_empty() {
        default_paths()
    } else {
        cli.paths.clone()
    };
    trailscope::tui::run(trailscope::tui::Launch {
        lake_pages: None,
        paths,
        inputs: prepared.expansion.inputs,
        problems: prepared.expansion.problems,
        options: prepared.options,
        config: prepared.config,
        tz: prepared.tz,
        follow,
        views: common.views.clone(),
        loaded: None,
    })?;
    Ok(ExitCode::SUCCESS)
}
