//! The command line: every command, flag and value clap parses.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use trailscope::output;

#[derive(Parser)]
#[command(
    name = "trailscope",
    version,
    about = "Investigate cloud audit logs in the terminal."
)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    /// Log files, directories, globs, .gz files, or - for standard input (default: the bundled sample-logs/).
    pub(crate) paths: Vec<String>,
    /// Parse every input as this format instead of detecting it. (`--format` is always the
    /// output format of a command, so it is no alias of this.)
    #[arg(long = "input-format", value_name = "NAME", global = true)]
    pub(crate) input_format: Option<String>,
    /// Follow the inputs in the TUI: after loading them, keep reading lines appended to
    /// files, new files in directories, rotated files and standard input.
    #[arg(short = 'f', long)]
    pub(crate) follow: bool,
    /// With --follow: look for changes every INTERVAL (e.g. 500ms, 2s) instead of waiting for
    /// change events (network file systems, some containers).
    #[arg(long, value_name = "INTERVAL", requires = "follow", value_parser = parse_poll)]
    pub(crate) poll: Option<std::time::Duration>,
    /// Open the events of this Parquet lake (`trailscope export --lake`) in the TUI: those
    /// --lake-filter selects (their original records are read from the lake when shown).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["paths", "follow"])]
    pub(crate) lake: Option<PathBuf>,
    /// With --lake: only the events matching this filter expression are loaded.
    #[arg(
        long,
        value_name = "EXPR",
        requires = "lake",
        allow_hyphen_values = true
    )]
    pub(crate) lake_filter: Option<String>,
    /// With --lake: events per page (default 1000000). A larger selection is read a page at
    /// a time, in time order; `}` and `{` turn the pages.
    #[arg(long, value_name = "N", requires = "lake")]
    pub(crate) lake_page: Option<u64>,
    #[command(flatten)]
    pub(crate) common: Common,
}

/// Reads `--poll`: a positive duration in the units of filters and configuration.
pub(crate) fn parse_poll(text: &str) -> Result<std::time::Duration, String> {
    match trailscope::time::parse_duration(text) {
        Ok(micros) if micros > 0 => Ok(std::time::Duration::from_micros(micros as u64)),
        Ok(_) => Err("the interval must be longer than zero".into()),
        Err(_) => Err("expected a duration such as 500ms, 2s or 1m".into()),
    }
}

#[derive(clap::Args, Clone)]
pub(crate) struct Common {
    /// Configuration file (default: $TRAILSCOPE_CONFIG or ~/.config/trailscope/config.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) config: Option<PathBuf>,
    /// Display time zone (IANA name, e.g. Europe/Berlin); default from the configuration, else UTC.
    #[arg(long, value_name = "ZONE", global = true)]
    pub(crate) tz: Option<String>,
    /// Parser threads, at most 256 (default: one per core).
    #[arg(
        long,
        value_name = "N",
        global = true,
        default_value_t = 0,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=MAX_THREADS)
    )]
    pub(crate) threads: usize,
    /// Print the load and query phases in milliseconds on standard error, as one JSON object.
    #[arg(long, global = true)]
    pub(crate) timings: bool,
    /// Views file read last (its views win by name) and written by `views save|rm|rename`.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) views: Option<PathBuf>,
}

/// `--view NAME` and the time range, for the commands that open a saved view.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct ViewArgs {
    /// Open a saved view (`trailscope views list`); flags given here override its settings.
    #[arg(long, value_name = "NAME")]
    pub(crate) view: Option<String>,
    #[command(flatten)]
    pub(crate) range: RangeArgs,
}

/// A time range on top of the filter.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct RangeArgs {
    /// Only events within this long of the newest one (`24h`, `7d`, `1h30m`).
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["after", "before"])]
    pub(crate) last: Option<String>,
    /// Only events at or after this time (`2024-03-01`, `"2024-03-01 12:00"`, RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub(crate) after: Option<String>,
    /// Only events before this time.
    #[arg(long, value_name = "TIME")]
    pub(crate) before: Option<String>,
}

/// The most parser threads `--threads` accepts: far more than any machine has cores, and few
/// enough that spawning them cannot exhaust the process's thread or memory limits.
pub(crate) const MAX_THREADS: u64 = 256;

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Load inputs and report what was found: formats, events, duplicates, rejected records.
    Summary {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Summarise this Parquet lake (`trailscope export --lake`) instead of inputs: per
        /// provider its days, files, events, bytes and time span, from the file footers.
        #[arg(long, value_name = "DIR", conflicts_with = "paths")]
        lake: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
        format: SummaryFormat,
    },
    /// Print the events matching a filter (or the result of a SQL query).
    Query {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Read the events from this Parquet lake (`trailscope export --lake`) instead of
        /// inputs: only the partitions, row groups and columns the filter needs.
        #[arg(long, value_name = "DIR", conflicts_with = "paths")]
        lake: Option<PathBuf>,
        /// Filter expression (see the README's filter language).
        // A filter may start with the language's negation (`-read_only`), SQL with a comment.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Polars SQL over the table `events`, for what the filter language cannot express
        /// (with a filter or range: the events they select).
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
        #[command(flatten)]
        view: ViewArgs,
        #[command(flatten)]
        emit: crate::lake_sql::EmitSqlArgs,
    },
    /// Count events by one column, or by two as a cross table.
    Pivot {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Read the events from this Parquet lake (`trailscope export --lake`) instead of
        /// inputs: only the partitions, row groups and columns the filter needs.
        #[arg(long, value_name = "DIR", conflicts_with = "paths")]
        lake: Option<PathBuf>,
        /// The column whose values become rows (required unless --view gives a pivot).
        #[arg(long, value_name = "COL")]
        rows: Option<String>,
        /// The column whose values become columns.
        #[arg(long, value_name = "COL")]
        cols: Option<String>,
        /// Count distinct values of this column instead of events.
        #[arg(long, value_name = "COL")]
        distinct: Option<String>,
        /// Filter expression applied first.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Keep the N largest rows and columns; the rest are summed into "(other)" [default: 20].
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
        #[command(flatten)]
        view: ViewArgs,
        #[command(flatten)]
        emit: crate::lake_sql::EmitSqlArgs,
    },
    /// Count events per time bucket, one lane per actor (or any column).
    Timeline {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Read the events from this Parquet lake (`trailscope export --lake`) instead of
        /// inputs: only the partitions, row groups and columns the filter needs.
        #[arg(long, value_name = "DIR", conflicts_with = "paths")]
        lake: Option<PathBuf>,
        /// One lane per value of this column [default: actor].
        #[arg(long, value_name = "COL")]
        by: Option<String>,
        /// Bucket size (`1m`, `15m`, `1h`, `1h30m`, `1d`, ...; default: from the time range).
        #[arg(long, value_name = "SIZE")]
        bucket: Option<String>,
        /// Filter expression applied first.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Lanes kept; the rest are summed into "(other)" [default: 10].
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        /// Print each top actor's activity profile (weekday x hour of day) instead.
        #[arg(long)]
        profile: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
        format: ResultFormat,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Run the detection rules and print the findings.
    Detect {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Read the events from this Parquet lake (`trailscope export --lake`) instead of
        /// inputs: only the partitions, row groups and columns the filter needs.
        #[arg(long, value_name = "DIR", conflicts_with = "paths")]
        lake: Option<PathBuf>,
        /// With --lake: judge the lake a week at a time, each week with this much history
        /// before it (`30d`), in memory that follows a window rather than the lake; `all`
        /// runs the rules once over every selected event. Default: `all`, or `30d` when the
        /// selection holds more than 5,000,000 events.
        #[arg(long, value_name = "DURATION|all", requires = "lake")]
        window: Option<String>,
        /// Only findings at or above this severity [default: info].
        #[arg(long, value_enum)]
        min_severity: Option<Level>,
        /// Only findings with at least one event matching this filter.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DetectFormat::Table)]
        format: DetectFormat,
        /// Exit with status 1 when a finding at or above this severity exists.
        #[arg(long, value_enum)]
        fail_on: Option<Level>,
        /// Also run the Sigma rules in this file or directory (repeatable; `[detect] sigma`
        /// in the configuration adds more).
        #[arg(long, value_name = "PATH")]
        sigma: Vec<PathBuf>,
        /// Only the Sigma rules' findings, not the built-in rules'.
        #[arg(long, requires = "sigma")]
        sigma_only: bool,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Group the findings into incidents (one story each: kill chain, entities, evidence) and
    /// print them.
    Incidents {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Only incidents at or above this severity [default: info].
        #[arg(long, value_enum)]
        min_severity: Option<Level>,
        /// Only incidents with a finding that has an event matching this filter.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DetectFormat::Table)]
        format: DetectFormat,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// The access audit: every grant or elevation with its approval, end and use; with
    /// --review, who holds each privileged role at the end of the logs, for an access review.
    Access(Box<crate::access::AccessArgs>),
    /// Permissions granted versus used per identity: each permission the logs show granted
    /// (policies, group membership, role sessions) as used, unused, no longer granted or
    /// cannot tell, with AWS calls mapped to IAM actions by public data.
    Permissions(Box<crate::permissions::PermissionsArgs>),
    /// The identity inventory: one row per identity with its kind, activity, MFA coverage,
    /// lifecycle, credentials, holdings and flags (dormant, orphaned, unrotated, ...).
    Identities {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// Only the events matching this filter expression.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Sort by a column, `COLUMN` or `COLUMN:asc|desc` (identity, kind, providers,
        /// events, active_days, privileged, failures, mfa, networks, first_seen, last_seen,
        /// flags; default: most events first).
        #[arg(long, value_name = "COL[:desc]")]
        sort: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = IdentitiesFormat::Table)]
        format: IdentitiesFormat,
        /// Also flag permissions granted and not used (`unused_permission`, as `trailscope
        /// permissions` finds them; reads the grants' policy documents from the inputs).
        #[arg(long)]
        permissions: bool,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Sigma rules: `check` what converts (and fires on logs), `explain` a match.
    Sigma {
        #[command(subcommand)]
        command: crate::sigma::SigmaCommand,
    },
    /// Saved views: list, show, save, rm, rename.
    Views {
        #[command(subcommand)]
        command: crate::views::ViewsCommand,
    },
    /// Write a report of the events a filter selects: a self-contained HTML page or
    /// Markdown (scope with input hashes, the view, counts, timeline, top values, findings,
    /// events), or every matching event as CSV, JSON, NDJSON or Parquet.
    Report(ReportArgs),
    /// Write the loaded (filtered) events into a Parquet lake: hive partitions by provider
    /// and UTC day, zstd, sorted by time, with the original records; events the lake already
    /// holds are skipped, so exporting again adds only what is new.
    Export {
        /// Inputs (default: the bundled sample-logs/).
        paths: Vec<String>,
        /// The lake's directory (created when missing).
        #[arg(long, value_name = "DIR")]
        lake: PathBuf,
        /// Only the events matching this filter expression.
        #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Follow inputs as they grow and print new events as they arrive (like `tail -f`):
    /// lines appended to files, new files in directories (gzip too), rotated and truncated
    /// files, and standard input (`-`).
    Tail(TailArgs),
    /// The Parquet lake in other engines: table definitions for DuckDB, Spark, Trino, Athena.
    Lake {
        #[command(subcommand)]
        command: crate::lake_sql::LakeCommand,
    },
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
pub(crate) enum SynthKind {
    /// The bundled multi-provider sample.
    Sample,
    /// CloudTrail, one record per line, in one file.
    CloudtrailNdjson,
    /// CloudTrail S3 delivery files of 1,000 records.
    CloudtrailS3,
    /// Entra ID sign-ins as hourly diagnostic `{"records":[...]}` files.
    EntraSignins,
    /// Kubernetes audit events, one per line, in one file.
    Kubernetes,
    /// Cloud Audit Logs entries in hourly one-per-line sink files.
    Gcp,
    /// A month of benign multi-provider activity with planted incidents (about --events).
    Month,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum DetectFormat {
    Table,
    Json,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum ResultFormat {
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
pub(crate) enum IdentitiesFormat {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum TailFormat {
    Table,
    Ndjson,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum SummaryFormat {
    Table,
    Json,
}

/// What `trailscope tail` was asked.
#[derive(clap::Args)]
pub(crate) struct TailArgs {
    /// Files, directories, globs, or - for standard input (default: the bundled sample-logs/).
    pub(crate) paths: Vec<String>,
    /// Print only events matching this filter expression.
    #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
    pub(crate) filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TailFormat::Table)]
    pub(crate) format: TailFormat,
    /// Events of what already exists to print first: a number, or `all` (resumed with
    /// --state: everything since the last run).
    #[arg(long, short = 'n', value_name = "N|all", default_value = "10")]
    pub(crate) lines: String,
    /// Remember where each input was in FILE, and continue from there when restarted.
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// Poll for changes at this interval (`1s`, `500ms`) instead of waiting for change
    /// events (network file systems, some containers).
    #[arg(long, value_name = "INTERVAL")]
    pub(crate) poll: Option<String>,
    /// Hold events this long to print them in time order (`0s` prints on arrival).
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub(crate) reorder_window: String,
    /// Print findings as they fire, among the events (`detect --format jsonl` objects
    /// with `"change": "new"|"updated"` in NDJSON, lines starting with `!` in tables).
    #[arg(long)]
    pub(crate) findings: bool,
    /// Print only findings, no events.
    #[arg(long, conflicts_with = "findings")]
    pub(crate) findings_only: bool,
    /// Send findings to a target: `webhook=URL` (Slack, Teams, any JSON endpoint) or
    /// `exec=CMD` (the finding as JSON on its standard input); add `,min=SEVERITY` or
    /// `,aggregate=60s`. Repeatable; also `[alert] targets` in the configuration.
    #[arg(long, value_name = "SPEC")]
    pub(crate) alert: Vec<String>,
    /// Alert only findings at or above this severity (default: the configuration's, medium).
    #[arg(long, value_name = "LEVEL")]
    pub(crate) alert_min_severity: Option<String>,
    /// Do not alert findings matching `rule=GLOB,actor=GLOB,src_ip=CIDR,resource=GLOB`
    /// until `until=RFC3339` or `for=2h`. Repeatable; also `[[alert.silence]]`.
    #[arg(long, value_name = "SPEC")]
    pub(crate) silence: Vec<String>,
    /// Also append every event followed to this Parquet lake (`trailscope export --lake`'s
    /// layout): every --lake-every and at the end; events it holds are skipped.
    #[arg(long, value_name = "DIR")]
    pub(crate) lake: Option<PathBuf>,
    /// How often the lake is appended to (each time, one file per partition touched).
    #[arg(long, value_name = "DURATION", default_value = "5m", requires = "lake")]
    pub(crate) lake_every: String,
}

/// What `trailscope report` was asked.
#[derive(clap::Args)]
pub(crate) struct ReportArgs {
    /// Inputs (default: the bundled sample-logs/).
    pub(crate) paths: Vec<String>,
    /// The report file; its extension picks the format unless --format is given. Repeat it
    /// for several formats from one load (`-o case.html -o case.csv`): the rules run once,
    /// and row files are written while they run.
    #[arg(long, short = 'o', value_name = "FILE", required = true)]
    pub(crate) out: Vec<PathBuf>,
    /// Output format: html, md, csv, json, ndjson or parquet (default: from --out's extension;
    /// only with a single --out).
    #[arg(long, value_name = "FORMAT")]
    pub(crate) format: Option<String>,
    /// Filter expression (see the README's filter language).
    #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
    pub(crate) filter: Option<String>,
    /// Title of the report.
    #[arg(long, value_name = "TEXT")]
    pub(crate) title: Option<String>,
    /// A note shown under the title (what the report is for, the ticket, the question).
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: Option<String>,
    /// Columns of the events table, comma-separated (the event id is always added).
    #[arg(long, value_name = "C1,C2", value_delimiter = ',')]
    pub(crate) columns: Vec<String>,
    /// Sort by a column, `COLUMN` or `COLUMN:desc` (default: time order).
    #[arg(long, value_name = "COL[:desc]")]
    pub(crate) sort: Option<String>,
    /// A saved view to report (its title, note, filter, range, columns, sort and findings).
    /// Repeat it for one report of several views: one section each in HTML and Markdown,
    /// one file each (`OUT-<view>.csv`) in the row formats; --filter then narrows every
    /// view, and the other flags apply to every view.
    #[arg(long = "view", value_name = "NAME")]
    pub(crate) view_names: Vec<String>,
    /// The time range.
    #[command(flatten)]
    pub(crate) range: RangeArgs,
    /// Findings below this severity are left out (default: the view's, else all).
    #[arg(long, value_enum)]
    pub(crate) min_severity: Option<Level>,
    /// Replace these fields by keyed pseudonyms everywhere they appear: actor, ip,
    /// user_agent, account, country, city, session (comma-separated).
    #[arg(long, value_name = "FIELDS", value_delimiter = ',')]
    pub(crate) redact: Vec<String>,
    /// The secret key of the pseudonyms (default: $XDG_CONFIG_HOME/trailscope/redact.key,
    /// created on first use).
    #[arg(long, value_name = "FILE")]
    pub(crate) redact_key_file: Option<PathBuf>,
    /// Who made the report (default: $USER@host).
    #[arg(long, value_name = "WHO")]
    pub(crate) author: Option<String>,
    /// Events shown in HTML and Markdown (the row formats carry all of them).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) max_rows: usize,
}
