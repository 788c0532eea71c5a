//! The `trailscope` binary: command line parsing, the headless commands, and exit codes
//! (0 success, 1 nothing found where a command says so, 2 error). The only file that uses
//! anyhow or exits the process.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

use trailscope::classify::Classifier;
use trailscope::config::Config;
use trailscope::ingest::LoadOptions;
use trailscope::store::FrameStore;
use trailscope::{Error, providers, query, report, source, synth};

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
    /// Parse every input as this format instead of detecting it.
    #[arg(
        long = "input-format",
        alias = "format",
        value_name = "NAME",
        global = true
    )]
    input_format: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Configuration file (default: $TRAILSCOPE_CONFIG or ~/.config/trailscope/config.toml).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Display time zone (IANA name, e.g. Europe/Berlin); default from the configuration, else UTC.
    #[arg(long, value_name = "ZONE", global = true)]
    tz: Option<String>,
    /// Parser threads (default: one per core).
    #[arg(long, value_name = "N", global = true, default_value_t = 0)]
    threads: usize,
}

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
enum SummaryFormat {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(io::stderr(), "trailscope: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

fn one_line(err: &anyhow::Error) -> String {
    let mut parts = vec![err.to_string()];
    parts.extend(err.chain().skip(1).map(|c| c.to_string()));
    parts.dedup();
    parts.join(": ").replace('\n', " ")
}

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
            eprintln!(
                "wrote {} events in {} files under {}",
                written.events,
                written.files,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        // The TUI is not built yet: a bare invocation prints the summary.
        None => summary(
            &cli.paths,
            cli.input_format.as_deref(),
            &common,
            SummaryFormat::Table,
        ),
    }
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
}

fn load(paths: &[String], input_format: Option<&str>, common: &Common) -> anyhow::Result<Loaded> {
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
    let mut store = FrameStore::load(expansion.inputs, options)?;
    store.add_problems(expansion.problems);
    Ok(Loaded { store, tz })
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
    let summary = query::summarize(loaded.store.frame(), 10)?;
    let mut out = io::stdout().lock();
    match format {
        SummaryFormat::Table => {
            report::write_summary_table(&mut out, &loaded.store, &summary, &loaded.tz)?
        }
        SummaryFormat::Json => writeln!(out, "{}", report::summary_json(&loaded.store, &summary))?,
    }
    out.flush()?;
    if let Some(err) = nothing_loaded(&loaded.store) {
        let first = loaded
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
    if let Some(err) = nothing_loaded(&loaded.store) {
        bail!("{err}");
    }
    let config = Config::load(common.config.as_deref())?;
    let all = detectors::run(loaded.store.frame(), &config)?;
    let shown = detectors::at_least(&all, level(min));
    let mut out = io::stdout().lock();
    match format {
        DetectFormat::Table => report::write_findings_table(&mut out, &shown, &loaded.tz)?,
        DetectFormat::Json => report::write_findings_json(&mut out, &shown)?,
        DetectFormat::Jsonl => report::write_findings_jsonl(&mut out, &shown)?,
    }
    out.flush()?;
    let failed = fail_on.is_some_and(|l| all.iter().any(|f| f.severity >= level(l)));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
