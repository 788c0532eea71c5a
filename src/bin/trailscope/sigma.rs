//! `trailscope sigma check|explain`, and the Sigma findings `detect --sigma` adds.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use trailscope::detectors::Finding;
use trailscope::sigma::{self, RuleSet, check};
use trailscope::text::escape_control;

use crate::args::Common;
use crate::inputs::{Loaded, load_with_rules};

/// The `sigma` subcommands.
#[derive(Subcommand)]
pub(crate) enum SigmaCommand {
    /// List how many rules under PATHS convert per log source, the ones that do not with the
    /// reason, and how each field is read; with --logs, also which fields no loaded record
    /// holds and which rules fire.
    Check {
        /// Rule files or directories.
        #[arg(required = true)]
        rules: Vec<PathBuf>,
        /// Inputs to run the rules over.
        #[arg(long, num_args = 1..)]
        logs: Vec<String>,
        /// List every field and how it is read.
        #[arg(long)]
        fields: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
        format: CheckFormat,
    },
    /// Say why a rule did or did not match a record.
    Explain {
        /// A rule file (its first rule), or with --rules a rule's id, title or file name.
        rule: String,
        /// A file holding the record (JSON, or one record per line with --line); `-` reads
        /// standard input.
        event: PathBuf,
        /// The record on this line (1-based) of a one-record-per-line file.
        #[arg(long)]
        line: Option<usize>,
        /// Where to look the rule up by id, title or file name.
        #[arg(long)]
        rules: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
        format: CheckFormat,
    },
}

/// Output of the `sigma` subcommands.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum CheckFormat {
    Table,
    Json,
}

/// Runs a `sigma` subcommand.
pub(crate) fn run(
    command: SigmaCommand,
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<std::process::ExitCode> {
    match command {
        SigmaCommand::Check {
            rules,
            logs,
            fields,
            format,
        } => check_command(&rules, &logs, fields, format, input_format, common),
        SigmaCommand::Explain {
            rule,
            event,
            line,
            rules,
            format,
        } => explain_command(&rule, &event, line, &rules, format),
    }
}

fn check_command(
    rules: &[PathBuf],
    logs: &[String],
    all_fields: bool,
    format: CheckFormat,
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<std::process::ExitCode> {
    let set = std::sync::Arc::new(RuleSet::load(rules)?);
    let mut report = check::check(&set);
    if !logs.is_empty() {
        // The rules run on each record while it is loaded, as `detect --sigma` runs them.
        let (loaded, tap) = load_with_rules(logs, input_format, common, set.clone())?;
        let frame = loaded.store.frame();
        let gap = sigma::group_gap(&loaded.config);
        let run = sigma::run_tapped(&loaded.store, frame, &tap, gap)?;
        report = check::with_logs(report, &loaded.store, frame, &run, &set)?;
    }
    let mut out = io::stdout().lock();
    match format {
        CheckFormat::Json => writeln!(out, "{}", check_json(&report))?,
        CheckFormat::Table => write_check(&mut out, &report, all_fields, !logs.is_empty())?,
    }
    out.flush()?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn write_check(
    out: &mut impl Write,
    report: &check::CheckReport,
    all_fields: bool,
    with_logs: bool,
) -> io::Result<()> {
    let total = report.total();
    let converted = report.converted() + report.correlations;
    let share = if total == 0 {
        0.0
    } else {
        100.0 * converted as f64 / total as f64
    };
    writeln!(
        out,
        "{converted} of {total} Sigma rules convert ({share:.1} %), from {} files; {} correlation rules",
        report.files, report.correlations
    )?;
    writeln!(out)?;
    writeln!(out, "{:<26} {:>9}", "log source", "converted")?;
    for source in &report.sources {
        writeln!(out, "{:<26} {:>9}", source.source.name(), source.converted)?;
    }
    if !report.unconverted.is_empty() {
        writeln!(out)?;
        writeln!(out, "Not converted ({}):", report.unconverted.len())?;
        for u in &report.unconverted {
            let title = u
                .title
                .as_deref()
                .map(|t| format!(" \"{}\"", escape_control(t)))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}{title}: {}",
                escape_control(&u.path.display().to_string()),
                escape_control(&u.reason)
            )?;
        }
    }
    let shown: Vec<&check::FieldUse> = report
        .fields
        .iter()
        .filter(|f| {
            all_fields
                || f.present
                    .is_some_and(|(holding, seen)| holding == 0 && seen > 0)
        })
        .collect();
    if !shown.is_empty() {
        writeln!(out)?;
        let heading = if all_fields {
            "Fields (how each is read, first found wins):"
        } else {
            "Fields no loaded record of their source holds (their tests cannot hold on these logs):"
        };
        writeln!(out, "{heading}")?;
        for f in shown {
            let present = match f.present {
                Some((holding, seen)) => format!(", in {holding} of {seen} records"),
                None => String::new(),
            };
            writeln!(
                out,
                "  {} {} ({} rules{present}): {}",
                f.source.name(),
                escape_control(&f.field),
                f.rules,
                escape_control(&f.read_as.join(" | "))
            )?;
        }
    }
    if with_logs {
        writeln!(out)?;
        writeln!(
            out,
            "Rules that fired on the logs ({}):",
            report.fired.len()
        )?;
        for (rule, events) in &report.fired {
            writeln!(out, "  {:<70} {events:>7} events", escape_control(rule))?;
        }
    }
    Ok(())
}

fn check_json(report: &check::CheckReport) -> Value {
    json!({
        "files": report.files,
        "rules": report.total(),
        "converted": report.converted(),
        "correlations": report.correlations,
        "sources": report.sources.iter().map(|s| json!({
            "source": s.source.name(), "converted": s.converted,
        })).collect::<Vec<_>>(),
        "unconverted": report.unconverted.iter().map(|u| json!({
            "path": u.path.display().to_string(), "title": u.title, "reason": u.reason,
        })).collect::<Vec<_>>(),
        "fields": report.fields.iter().map(|f| json!({
            "source": f.source.name(), "field": f.field, "read_as": f.read_as,
            "mapped": f.mapped, "rules": f.rules,
            "present": f.present.map(|(holding, seen)| json!({"records": holding, "of": seen})),
        })).collect::<Vec<_>>(),
        "fired": report.fired,
    })
}

fn explain_command(
    reference: &str,
    event: &PathBuf,
    line: Option<usize>,
    rules: &[PathBuf],
    format: CheckFormat,
) -> anyhow::Result<std::process::ExitCode> {
    let set = if rules.is_empty() {
        RuleSet::load(&[PathBuf::from(reference)])?
    } else {
        RuleSet::load(rules)?
    };
    let rule = if rules.is_empty() {
        set.rules.first()
    } else {
        set.find(reference)
            .or_else(|| set.rules.iter().find(|r| r.key == reference))
    };
    let Some(rule) = rule else {
        if let Some(u) = set.unconverted.first() {
            bail!("{}: {}", u.path.display(), u.reason);
        }
        bail!("no Sigma rule {reference}");
    };
    let record = read_record(event, line)?;
    let explanation = sigma::explain::explain(rule, &record);
    let mut out = io::stdout().lock();
    match format {
        CheckFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&explanation)?)?,
        CheckFormat::Table => write!(
            out,
            "{}",
            sigma::explain::render(rule, &record, &explanation)
        )?,
    }
    out.flush()?;
    Ok(if explanation.matched {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}

/// The record in a file (or on one of its lines), out of its envelope.
fn read_record(path: &PathBuf, line: Option<usize>) -> anyhow::Result<Value> {
    let mut bytes = Vec::new();
    let name = path.display().to_string();
    if name == "-" {
        io::stdin().lock().take(16 << 20).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("{name}: cannot open"))?
            .take(64 << 20)
            .read_to_end(&mut bytes)
            .with_context(|| format!("{name}: cannot read"))?;
    }
    let text: &[u8] = match line {
        Some(n) => bytes
            .split(|b| *b == b'\n')
            .nth(n.saturating_sub(1))
            .with_context(|| format!("{name}: has no line {n}"))?,
        None => &bytes,
    };
    let place = line.map(|n| format!(":{n}")).unwrap_or_default();
    sigma::reader::bare_record(text).map_err(|e| anyhow::anyhow!("{name}{place}: {e}"))
}

/// The Sigma findings for `detect`: the rules `[detect] sigma` and `--sigma` name, run over
/// the loaded events; says on stderr how many rules did not convert and how many records
/// could not be read again.
pub(crate) fn findings(loaded: &Loaded, given: &[PathBuf]) -> anyhow::Result<Vec<Finding>> {
    let paths = sigma::rule_paths(&loaded.config, given);
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let frame = loaded.store.frame();
    let gap = sigma::group_gap(&loaded.config);
    let read;
    let (set, run) = match &loaded.sigma {
        Some(tap) => (
            tap.rules(),
            sigma::run_tapped(&loaded.store, frame, tap, gap)?,
        ),
        None => {
            let (set, run) = sigma::run_rules(&loaded.store, frame, &loaded.config, &paths)?;
            read = set;
            (&read, run)
        }
    };
    let mut err = io::stderr().lock();
    if !set.unconverted.is_empty() {
        let _ = writeln!(
            err,
            "trailscope: {} of {} Sigma rules did not convert and were not run (`trailscope sigma check {}` lists them with reasons)",
            set.unconverted.len(),
            set.unconverted.len() + set.rules.len() + set.correlations.len(),
            paths
                .iter()
                .map(|p| escape_control(&p.display().to_string()).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if run.unreadable > 0 {
        let _ = writeln!(
            err,
            "trailscope: {} records could not be read again for the Sigma rules; first: {}",
            run.unreadable,
            escape_control(run.errors.first().map(String::as_str).unwrap_or(""))
        );
    }
    Ok(run.findings)
}
