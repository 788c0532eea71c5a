//! The `trailscope` binary: command line parsing, the headless commands, and exit codes
//! (0 success, 1 nothing found where a command says so, 2 error). The only file that uses
//! anyhow or exits the process.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use polars::prelude::DataFrame;

use trailscope::analysis::{
    self, CompiledView, PivotSpec, ProfileSpec, Selection, SortKey, TimelineSpec, ViewSpec,
};
use trailscope::config::Config;
use trailscope::load::classify::Classifier;
use trailscope::load::follow::FollowOptions;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::store::FrameStore;
use trailscope::text::{escape_control, escape_control_keep_newlines};
use trailscope::{Error, output, providers, schema, synth};

#[derive(Parser)]
#[command(
    name = "trailscope",
    version,
    about = "Investigate cloud audit logs in the terminal."
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log files, directories, globs, .gz files, or - for standard input (default: the bundled sample-logs/).
    paths: Vec<String>,
    /// Parse every input as this format instead of detecting it. (`--format` is always the
    /// output format of a command, so it is no alias of this.)
    #[arg(long = "input-format", value_name = "NAME", global = true)]
    input_format: Option<String>,
    /// Follow the inputs in the TUI: after loading them, keep reading lines appended to
    /// files, new files in directories, rotated files and standard input.
    #[arg(short = 'f', long)]
    follow: bool,
    /// With --follow: look for changes every INTERVAL (e.g. 500ms, 2s) instead of waiting for
    /// change events (network file systems, some containers).
    #[arg(long, value_name = "INTERVAL", requires = "follow", value_parser = parse_poll)]
    poll: Option<std::time::Duration>,
    #[command(flatten)]
    common: Common,
}

/// Reads `--poll`: a positive duration in the units of filters and configuration.
fn parse_poll(text: &str) -> Result<std::time::Duration, String> {
    match trailscope::time::parse_duration(text) {
        Ok(micros) if micros > 0 => Ok(std::time::Duration::from_micros(micros as u64)),
        Ok(_) => Err("the interval must be longer than zero".into()),
        Err(_) => Err("expected a duration such as 500ms, 2s or 1m".into()),
    }
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Configuration file (default: $TRAILSCOPE_CONFIG or ~/.config/trailscope/config.toml).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Display time zone (IANA name, e.g. Europe/Berlin); default from the configuration, else UTC.
    #[arg(long, value_name = "ZONE", global = true)]
    tz: Option<String>,
    /// Parser threads, at most 256 (default: one per core).
    #[arg(
        long,
        value_name = "N",
        global = true,
        default_value_t = 0,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=MAX_THREADS)
    )]
    threads: usize,
    /// Print the load and query phases in milliseconds on standard error, as one JSON object.
    #[arg(long, global = true)]
    timings: bool,
}

/// The most parser threads `--threads` accepts: far more than any machine has cores, and few
/// enough that spawning them cannot exhaust the process's thread or memory limits.
const MAX_THREADS: u64 = 256;

#[derive(Subcommand)]
enum Command {
    /// Load inputs and report what was found: formats, events, duplicates, rejected records.
    Summary {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
        format: SummaryFormat,
    },
    /// Print the events matching a filter (or the result of a SQL query).
    Query {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Filter expression (see the README's filter language).
        // A filter may start with the language's negation (`-read_only`), SQL with a comment.
        #[arg(
            long,
            short = 'f',
            value_name = "EXPR",
            conflicts_with = "sql",
            allow_hyphen_values = true
        )]
        filter: Option<String>,
        /// Polars SQL over the table `events`, for what the filter language cannot express.
        #[arg(long, value_name = "SQL", allow_hyphen_values = true)]
        sql: Option<String>,
        /// Columns to print, comma-separated (default: a readable set for tables, all for the rest).
        #[arg(long, value_name = "C1,C2", value_delimiter = ',')]
        columns: Vec<String>,
        /// Sort by a column, `COLUMN` or `COLUMN:desc` (default: time order).
        #[arg(long, value_name = "COL[:desc]")]
        sort: Option<String>,
        /// Print at most N events.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
    },
    /// Count events by one column, or by two as a cross table.
    Pivot {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// The column whose values become rows.
        #[arg(long, value_name = "COL")]
        rows: String,
        /// The column whose values become columns.
        #[arg(long, value_name = "COL")]
        cols: Option<String>,
        /// Count distinct values of this column instead of events.
        #[arg(long, value_name = "COL")]
        distinct: Option<String>,
        /// Filter expression applied first.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Keep the N largest rows and columns; the rest are summed into "(other)".
        #[arg(long, value_name = "N", default_value_t = analysis::DEFAULT_PIVOT_TOP)]
        top: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
    },
    /// Count events per time bucket, one lane per actor (or any column).
    Timeline {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// One lane per value of this column.
        #[arg(long, value_name = "COL", default_value = schema::ACTOR)]
        by: String,
        /// Bucket size (`1m`, `15m`, `1h`, `1h30m`, `1d`, ...; default: from the time range).
        #[arg(long, value_name = "SIZE")]
        bucket: Option<String>,
        /// Filter expression applied first.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Lanes kept; the rest are summed into "(other)".
        #[arg(long, value_name = "N", default_value_t = analysis::DEFAULT_TIMELINE_LANES)]
        top: usize,
        /// Print each top actor's activity profile (weekday x hour of day) instead.
        #[arg(long)]
        profile: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
    },
    /// Run the detection rules and print the findings.
    Detect {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Only findings at or above this severity.
        #[arg(long, value_enum, default_value_t = Level::Info)]
        min_severity: Level,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DetectFormat::Table)]
        format: DetectFormat,
        /// Exit with status 1 when a finding at or above this severity exists.
        #[arg(long, value_enum)]
        fail_on: Option<Level>,
    },
    /// Follow inputs as they grow and print new events as they arrive (like `tail -f`):
    /// lines appended to files, new files in directories (gzip too), rotated and truncated
    /// files, and standard input (`-`).
    Tail(TailArgs),
    /// Write generated audit logs (the bundled sample and benchmark inputs).
    #[command(hide = true)]
    Synth {
        /// What to generate.
        #[arg(value_enum)]
        kind: SynthKind,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Events to generate (benchmark kinds).
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Random seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SynthKind {
    /// The bundled multi-provider sample.
    Sample,
    /// CloudTrail, one record per line, in one file.
    CloudtrailNdjson,
    /// CloudTrail S3 delivery files of 1,000 records.
    CloudtrailS3,
    /// A month of benign multi-provider activity with planted incidents (about --events).
    Month,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Level {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum DetectFormat {
    Table,
    Json,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ResultFormat {
    Table,
    Csv,
    Json,
    Ndjson,
}

impl From<ResultFormat> for output::OutputFormat {
    fn from(format: ResultFormat) -> Self {
        match format {
            ResultFormat::Table => output::OutputFormat::Table,
            ResultFormat::Csv => output::OutputFormat::Csv,
            ResultFormat::Json => output::OutputFormat::Json,
            ResultFormat::Ndjson => output::OutputFormat::Ndjson,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum TailFormat {
    Table,
    Ndjson,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SummaryFormat {
    Table,
    Json,
}

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
struct FilterProblem {
    /// 1-based character column of the problem in the filter as typed.
    column: usize,
    /// What is wrong.
    message: String,
    /// The filter, escaped.
    shown: String,
    /// Spaces and carets placing `^` under the problem in `shown`.
    caret: String,
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
        Some(Command::Summary { paths, format }) => {
            summary(&paths, cli.input_format.as_deref(), &common, format)
        }
        Some(Command::Query {
            paths,
            filter,
            sql,
            columns,
            sort,
            limit,
            format,
        }) => {
            let loaded = load(&paths, cli.input_format.as_deref(), &common)?;
            let request = QueryRequest {
                filter,
                sql,
                columns,
                sort,
                limit,
                format,
            };
            query_events(&loaded, &request)
        }
        Some(Command::Pivot {
            paths,
            rows,
            cols,
            distinct,
            filter,
            top,
            format,
        }) => {
            let loaded = load(&paths, cli.input_format.as_deref(), &common)?;
            let spec = PivotSpec {
                rows,
                cols,
                distinct,
                top,
            };
            pivot(&loaded, &spec, filter.as_deref(), format)
        }
        Some(Command::Timeline {
            paths,
            by,
            bucket,
            filter,
            top,
            profile,
            format,
        }) => {
            let loaded = load(&paths, cli.input_format.as_deref(), &common)?;
            let bucket = bucket.as_deref().map(analysis::parse_bucket).transpose()?;
            let spec = TimelineSpec {
                by,
                bucket,
                tz: loaded.tz.clone(),
                top,
            };
            timeline(&loaded, &spec, filter.as_deref(), profile, format)
        }
        Some(Command::Detect {
            paths,
            min_severity,
            format,
            fail_on,
        }) => detect(
            &paths,
            cli.input_format.as_deref(),
            &common,
            (min_severity, format, fail_on),
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
        paths,
        inputs: prepared.expansion.inputs,
        problems: prepared.expansion.problems,
        options: prepared.options,
        config: prepared.config,
        tz: prepared.tz,
        follow,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The bundled sample: `sample-logs/` in the working directory, else next to the sources.
fn default_paths() -> Vec<String> {
    let local = Path::new("sample-logs");
    let dir = if local.is_dir() {
        local.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs")
    };
    vec![dir.display().to_string()]
}

struct Loaded {
    store: FrameStore,
    tz: jiff::tz::TimeZone,
    /// The configuration the inputs were loaded with (detections read it too).
    config: Config,
    /// `--timings`: when loading started and how long it took.
    timings: Option<(Instant, u128)>,
}

impl Loaded {
    /// A view of the loaded events: `filter` (trimmed) in the display zone.
    fn view(&self, filter: Option<&str>) -> ViewSpec {
        ViewSpec {
            filter: filter.map(str::trim).unwrap_or_default().to_string(),
            tz: self.tz.clone(),
            ..ViewSpec::default()
        }
    }

    /// The events `filter` selects (all of them when none), for an analysis to run over.
    fn selection(&self, filter: Option<&str>) -> anyhow::Result<Selection> {
        let view = compile_view(self.store.frame(), self.view(filter))?;
        Ok(analysis::select_rows(self.store.frame(), &view)?)
    }

    /// Fails the way `summary` does when nothing at all could be loaded.
    fn require_events(&self) -> anyhow::Result<()> {
        let Some(err) = nothing_loaded(&self.store) else {
            return Ok(());
        };
        let first = self
            .store
            .inputs()
            .iter()
            .flat_map(|i| i.rejections.first())
            .next();
        match first {
            Some(r) => bail!("{err} (first problem: {r})"),
            None => bail!("{err}"),
        }
    }

    /// Prints `{"load_ms":..,"query_ms":..}` on standard error when `--timings` was given.
    fn report_timings(&self) {
        if let Some((started, load_ms)) = self.timings {
            let total = started.elapsed().as_millis();
            // Not eprintln!: a closed standard error must not panic the command.
            let _ = writeln!(
                io::stderr(),
                "{}",
                serde_json::json!({"load_ms": load_ms, "query_ms": total.saturating_sub(load_ms)})
            );
        }
    }
}

/// Compiles a view's filter, or fails with the filter, a caret under the problem, and what
/// was expected.
fn compile_view(frame: &DataFrame, spec: ViewSpec) -> anyhow::Result<CompiledView> {
    spec.compile(frame).map_err(|err| {
        let text = spec.filter.as_str();
        // The caret goes under the escaped filter, whose columns move where a control
        // character became an escape.
        let (start, end) = (err.span.start, err.span.end.max(err.span.start));
        let before: String = text.chars().take(start).collect();
        let inside: String = text.chars().skip(start).take(end - start).collect();
        let pad = escape_control(&before).chars().count();
        let width = escape_control(&inside).chars().count().max(1);
        anyhow::Error::new(FilterProblem {
            column: start + 1,
            message: err.message,
            shown: escape_control(text).into_owned(),
            caret: format!("{}{}", " ".repeat(pad), "^".repeat(width)),
        })
    })
}

/// What every command needs before reading: configuration, display zone, load options and
/// the expanded inputs.
struct Prepared {
    config: Config,
    tz: jiff::tz::TimeZone,
    options: LoadOptions,
    expansion: source::Expansion,
}

fn prepare(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<Prepared> {
    let config = Config::load(common.config.as_deref())?;
    let tz_name = common
        .tz
        .clone()
        .unwrap_or_else(|| config.display.timezone.clone());
    let tz = jiff::tz::TimeZone::get(&tz_name).map_err(|_| {
        Error::Invalid(format!(
            "unknown time zone '{tz_name}' (use an IANA name such as Europe/Berlin)"
        ))
    })?;
    let forced = match input_format {
        None => None,
        Some(name) => Some(providers::by_format(name).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown input format '{name}'; formats understood: {}",
                providers::format_names().join(", ")
            ))
        })?),
    };
    let mut options = LoadOptions::new(Arc::new(Classifier::from_config(&config)?));
    options.forced = forced;
    options.threads = common.threads;
    let paths = if paths.is_empty() {
        default_paths()
    } else {
        paths.to_vec()
    };
    let expansion = source::expand(&paths);
    Ok(Prepared {
        config,
        tz,
        options,
        expansion,
    })
}

fn load(paths: &[String], input_format: Option<&str>, common: &Common) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let prepared = prepare(paths, input_format, common)?;
    let mut store = FrameStore::load(prepared.expansion.inputs, prepared.options)?;
    store.add_problems(prepared.expansion.problems);
    let timings = common
        .timings
        .then(|| (started, started.elapsed().as_millis()));
    Ok(Loaded {
        store,
        tz: prepared.tz,
        config: prepared.config,
        timings,
    })
}

fn nothing_loaded(store: &FrameStore) -> Option<Error> {
    let (events, duplicates, rejected) = store.totals();
    (events + duplicates == 0).then(|| Error::NothingLoaded {
        inputs: store.inputs().len(),
        rejected,
        formats: providers::format_names().join(", "),
    })
}

fn summary(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
    format: SummaryFormat,
) -> anyhow::Result<ExitCode> {
    let loaded = load(paths, input_format, common)?;
    let summary = analysis::summarize(loaded.store.frame(), 10)?;
    let mut out = io::stdout().lock();
    match format {
        SummaryFormat::Table => {
            output::write_summary_table(&mut out, &loaded.store, &summary, &loaded.tz)?
        }
        SummaryFormat::Json => writeln!(out, "{}", output::summary_json(&loaded.store, &summary))?,
    }
    out.flush()?;
    // The summary is printed either way: it says what was rejected and why.
    loaded.require_events()?;
    Ok(ExitCode::SUCCESS)
}

/// What `trailscope query` was asked.
struct QueryRequest {
    filter: Option<String>,
    sql: Option<String>,
    columns: Vec<String>,
    sort: Option<String>,
    limit: Option<usize>,
    format: ResultFormat,
}

fn query_events(loaded: &Loaded, request: &QueryRequest) -> anyhow::Result<ExitCode> {
    loaded.require_events()?;
    let frame = loaded.store.frame();
    let sort = request.sort.as_deref().map(SortKey::parse).transpose()?;
    let result = match &request.sql {
        Some(sql) => {
            let mut result = analysis::sql(frame, sql)?;
            if let Some(n) = request.limit {
                result = result.head(Some(n));
            }
            result
        }
        None => {
            // Tables show the default columns, machine formats every column.
            let columns = if !request.columns.is_empty() {
                request.columns.clone()
            } else if request.format == ResultFormat::Table {
                Vec::new()
            } else {
                schema::EVENT_COLUMNS.map(String::from).to_vec()
            };
            let spec = ViewSpec {
                columns,
                sort,
                limit: request.limit,
                ..loaded.view(request.filter.as_deref())
            };
            analysis::select(frame, &compile_view(frame, spec)?)?
        }
    };
    let grid = output::Grid::from_frame(&result)?;
    loaded.report_timings();
    let mut out = io::stdout().lock();
    grid.write(&mut out, request.format.into(), &loaded.tz)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn pivot(
    loaded: &Loaded,
    spec: &PivotSpec,
    filter: Option<&str>,
    format: ResultFormat,
) -> anyhow::Result<ExitCode> {
    loaded.require_events()?;
    let selection = loaded.selection(filter)?;
    let pivot = analysis::run(loaded.store.frame(), selection.rows.as_ref(), spec)?;
    loaded.report_timings();
    let mut out = io::stdout().lock();
    match format {
        ResultFormat::Json => writeln!(out, "{}", output::pivot_json(&pivot))?,
        other => output::pivot_grid(&pivot).write(&mut out, other.into(), &loaded.tz)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn timeline(
    loaded: &Loaded,
    spec: &TimelineSpec,
    filter: Option<&str>,
    profile: bool,
    format: ResultFormat,
) -> anyhow::Result<ExitCode> {
    loaded.require_events()?;
    let selection = loaded.selection(filter)?;
    let (frame, rows) = (loaded.store.frame(), selection.rows.as_ref());
    let mut out = io::stdout().lock();
    if profile {
        let spec = ProfileSpec {
            actors: Vec::new(),
            top: spec.top,
            tz: loaded.tz.clone(),
        };
        let profiles = analysis::run(frame, rows, &spec)?;
        loaded.report_timings();
        match format {
            ResultFormat::Table => output::write_profiles(&mut out, &profiles, &loaded.tz)?,
            _ => writeln!(out, "{}", output::profiles_json(&profiles, &loaded.tz))?,
        }
    } else {
        let timeline = analysis::run(frame, rows, spec)?;
        loaded.report_timings();
        if let Some(note) = timeline.widening_note() {
            let _ = writeln!(io::stderr(), "trailscope: note: {note}");
        }
        match format {
            ResultFormat::Json => {
                writeln!(out, "{}", output::timeline_json(&timeline, &loaded.tz))?
            }
            other => output::timeline_grid(&timeline).write(&mut out, other.into(), &loaded.tz)?,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `trailscope detect`: load, run the rules, print findings; exit 1 with `--fail-on`.
fn detect(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
    (min, format, fail_on): (Level, DetectFormat, Option<Level>),
) -> anyhow::Result<ExitCode> {
    use trailscope::detectors::{self, Severity};
    let level = |l: Level| match l {
        Level::Info => Severity::Info,
        Level::Low => Severity::Low,
        Level::Medium => Severity::Medium,
        Level::High => Severity::High,
        Level::Critical => Severity::Critical,
    };
    let loaded = load(paths, input_format, common)?;
    loaded.require_events()?;
    let all = detectors::run(loaded.store.frame(), &loaded.config)?;
    loaded.report_timings();
    let shown = detectors::at_least(&all, level(min));
    let mut out = io::stdout().lock();
    match format {
        DetectFormat::Table => output::write_findings_table(&mut out, &shown, &loaded.tz)?,
        DetectFormat::Json => output::write_findings_json(&mut out, &shown)?,
        DetectFormat::Jsonl => output::write_findings_jsonl(&mut out, &shown)?,
    }
    out.flush()?;
    let failed = fail_on.is_some_and(|l| all.iter().any(|f| f.severity >= level(l)));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What `trailscope tail` was asked.
#[derive(clap::Args)]
struct TailArgs {
    /// Files, directories, globs, or - for standard input (default: the bundled sample-logs/).
    paths: Vec<String>,
    /// Print only events matching this filter expression.
    #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
    filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TailFormat::Table)]
    format: TailFormat,
    /// Events of what already exists to print first: a number, or `all` (resumed with
    /// --state: everything since the last run).
    #[arg(long, short = 'n', value_name = "N|all", default_value = "10")]
    lines: String,
    /// Remember where each input was in FILE, and continue from there when restarted.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Poll for changes at this interval (`1s`, `500ms`) instead of waiting for change
    /// events (network file systems, some containers).
    #[arg(long, value_name = "INTERVAL")]
    poll: Option<String>,
    /// Hold events this long to print them in time order (`0s` prints on arrival).
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    reorder_window: String,
    /// Print findings as they fire, among the events (`detect --format jsonl` objects
    /// with `"change": "new"|"updated"` in NDJSON, lines starting with `!` in tables).
    #[arg(long)]
    findings: bool,
    /// Print only findings, no events.
    #[arg(long, conflicts_with = "findings")]
    findings_only: bool,
    /// Send findings to a target: `webhook=URL` (Slack, Teams, any JSON endpoint) or
    /// `exec=CMD` (the finding as JSON on its standard input); add `,min=SEVERITY` or
    /// `,aggregate=60s`. Repeatable; also `[alert] targets` in the configuration.
    #[arg(long, value_name = "SPEC")]
    alert: Vec<String>,
    /// Alert only findings at or above this severity (default: the configuration's, medium).
    #[arg(long, value_name = "LEVEL")]
    alert_min_severity: Option<String>,
    /// Do not alert findings matching `rule=GLOB,actor=GLOB,src_ip=CIDR,resource=GLOB`
    /// until `until=RFC3339` or `for=2h`. Repeatable; also `[[alert.silence]]`.
    #[arg(long, value_name = "SPEC")]
    silence: Vec<String>,
}

/// `trailscope tail`: follows until interrupted (or standard input ends).
fn tail(
    request: TailArgs,
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<ExitCode> {
    use std::sync::atomic::AtomicBool;
    use trailscope::output::stream::StreamFormat;
    let duration = |text: &str, what: &str| {
        trailscope::time::parse_duration(text)
            .ok()
            .and_then(|us| u64::try_from(us).ok())
            .map(std::time::Duration::from_micros)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "invalid {what} '{}' (use a duration such as 500ms, 2s, 1m)",
                    escape_control(text)
                ))
            })
    };
    let backlog = match request.lines.as_str() {
        "all" => None,
        n => Some(n.parse::<usize>().map_err(|_| {
            Error::Invalid(format!(
                "invalid --lines '{}' (a number, or all)",
                escape_control(n)
            ))
        })?),
    };
    let poll = request
        .poll
        .as_deref()
        .map(|p| duration(p, "--poll"))
        .transpose()?;
    if poll.is_some_and(|p| p.is_zero()) {
        bail!("--poll must be longer than zero");
    }
    let reorder = duration(&request.reorder_window, "--reorder-window")?;
    let paths = if request.paths.is_empty() {
        default_paths()
    } else {
        request.paths
    };
    let prepared = prepare(&paths, input_format, common)?;
    let mut plan = trailscope::output::alert::AlertPlan::from_config(&prepared.config.alert)?;
    for spec in &request.alert {
        plan.add_target(spec)?;
    }
    for spec in &request.silence {
        plan.add_silence(spec)?;
    }
    if let Some(level) = &request.alert_min_severity {
        plan.set_min_severity(level)?;
    }
    let alerts = (!plan.targets.is_empty()).then_some(plan);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let options = trailscope::tail::TailOptions {
        paths,
        inputs: prepared.expansion.inputs,
        problems: prepared.expansion.problems,
        load: prepared.options,
        poll,
        filter: request.filter.unwrap_or_default(),
        format: match request.format {
            TailFormat::Table => StreamFormat::Table,
            TailFormat::Ndjson => StreamFormat::Ndjson,
        },
        backlog,
        state: request.state,
        reorder,
        tz: prepared.tz,
        stop,
        findings: if request.findings_only {
            trailscope::tail::live::FindingsOutput::Only
        } else if request.findings {
            trailscope::tail::live::FindingsOutput::WithEvents
        } else {
            trailscope::tail::live::FindingsOutput::Off
        },
        alerts,
        config: prepared.config,
    };
    let mut out = io::stdout().lock();
    let report = trailscope::tail::run(options, &mut out, &mut io::stderr())?;
    let _ = writeln!(
        io::stderr(),
        "trailscope: printed {} events ({} later than the reorder window), {} findings",
        report.printed,
        report.late,
        report.findings
    );
    if let Some(alerts) = report.alerts {
        let _ = writeln!(io::stderr(), "trailscope: {alerts}");
    }
    Ok(ExitCode::SUCCESS)
}
