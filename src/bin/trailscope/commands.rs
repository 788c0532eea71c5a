//! The headless commands: summary, query, pivot, timeline, detect and tail.

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};

use trailscope::analysis::{self, ProfileSpec};
use trailscope::text::escape_control;
use trailscope::views::Resolved;
use trailscope::{Error, output, schema};

use crate::args::{Common, DetectFormat, Level, ResultFormat, SummaryFormat, TailArgs, TailFormat};
use crate::inputs::{Loaded, compile_view, default_paths, load, prepare};
use crate::views::severity;

pub(crate) fn summary(
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
    loaded.report_timings();
    // The summary is printed either way: it says what was rejected and why.
    loaded.require_events()?;
    Ok(ExitCode::SUCCESS)
}

/// What `trailscope query` was asked besides the view.
pub(crate) struct QueryRequest {
    pub(crate) sql: Option<String>,
    pub(crate) limit: Option<usize>,
    pub(crate) format: ResultFormat,
}

pub(crate) fn query_events(
    loaded: &Loaded,
    resolved: &Resolved,
    request: &QueryRequest,
) -> anyhow::Result<ExitCode> {
    loaded.require_events()?;
    let frame = loaded.store.frame();
    let tz = &resolved.view.tz;
    let result = match &request.sql {
        Some(sql) => {
            let scoped = !resolved.view.filter.trim().is_empty() || resolved.view.range.is_some();
            let mut result = if scoped {
                // The table holds the events the filter and range select.
                match loaded.selection(&resolved.view)?.rows {
                    Some(rows) => analysis::sql(&frame.take(&rows)?, sql)?,
                    None => analysis::sql(frame, sql)?,
                }
            } else {
                analysis::sql(frame, sql)?
            };
            if let Some(n) = request.limit {
                result = result.head(Some(n));
            }
            result
        }
        None => {
            // Tables show the default columns, machine formats every column.
            let mut spec = resolved.view.clone();
            if spec.columns.is_empty() && request.format != ResultFormat::Table {
                spec.columns = schema::EVENT_COLUMNS.map(String::from).to_vec();
            }
            analysis::select(frame, &compile_view(frame, spec)?)?
        }
    };
    let grid = output::Grid::from_frame(&result)?;
    loaded.report_timings();
    let mut out = io::stdout().lock();
    grid.write(&mut out, request.format.into(), tz)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn pivot(
    loaded: &Loaded,
    resolved: &Resolved,
    format: ResultFormat,
) -> anyhow::Result<ExitCode> {
    let spec = resolved.pivot()?;
    loaded.require_events()?;
    let selection = loaded.selection(&resolved.view)?;
    let pivot = analysis::run(loaded.store.frame(), selection.rows.as_ref(), &spec)?;
    loaded.report_timings();
    print_pivot(&pivot, format, &resolved.view.tz)
}

/// Prints a pivot on standard output in the command's format.
pub(crate) fn print_pivot(
    pivot: &analysis::Pivot,
    format: ResultFormat,
    tz: &jiff::tz::TimeZone,
) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    match format {
        ResultFormat::Json => writeln!(out, "{}", output::pivot_json(pivot))?,
        other => output::pivot_grid(pivot).write(&mut out, other.into(), tz)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn timeline(
    loaded: &Loaded,
    resolved: &Resolved,
    profile: bool,
    format: ResultFormat,
) -> anyhow::Result<ExitCode> {
    loaded.require_events()?;
    let spec = resolved.timeline();
    let tz = &resolved.view.tz;
    let selection = loaded.selection(&resolved.view)?;
    let (frame, rows) = (loaded.store.frame(), selection.rows.as_ref());
    let mut out = io::stdout().lock();
    if profile {
        let spec = ProfileSpec {
            actors: Vec::new(),
            top: spec.top,
            tz: tz.clone(),
        };
        let profiles = analysis::run(frame, rows, &spec)?;
        loaded.report_timings();
        match format {
            ResultFormat::Table => output::write_profiles(&mut out, &profiles, tz)?,
            _ => writeln!(out, "{}", output::profiles_json(&profiles, tz))?,
        }
    } else {
        let timeline = analysis::run(frame, rows, &spec)?;
        loaded.report_timings();
        print_timeline(&mut out, &timeline, format, tz)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a timeline (its widening note on standard error) in the command's format.
pub(crate) fn print_timeline(
    out: &mut impl Write,
    timeline: &analysis::Timeline,
    format: ResultFormat,
    tz: &jiff::tz::TimeZone,
) -> anyhow::Result<()> {
    if let Some(note) = timeline.widening_note() {
        let _ = writeln!(io::stderr(), "trailscope: note: {note}");
    }
    match format {
        ResultFormat::Json => writeln!(out, "{}", output::timeline_json(timeline, tz))?,
        other => output::timeline_grid(timeline).write(out, other.into(), tz)?,
    }
    Ok(())
}

/// `trailscope detect`: run the rules, print the findings the view lists (at or above its
/// severity, of its rules, with an event its filter and range select); exit 1 with
/// `--fail-on` when a finding in scope reaches that severity.
pub(crate) fn detect(
    loaded: &Loaded,
    resolved: &Resolved,
    (format, fail_on): (DetectFormat, Option<Level>),
    (sigma, sigma_only): (&[std::path::PathBuf], bool),
) -> anyhow::Result<ExitCode> {
    use trailscope::detectors;
    loaded.require_events()?;
    let mut all = if sigma_only {
        Vec::new()
    } else {
        detectors::run(loaded.store.frame(), &loaded.config)?
    };
    let from_sigma = crate::sigma::findings(loaded, sigma)?;
    if !from_sigma.is_empty() {
        all.extend(from_sigma);
        detectors::sort_findings(&mut all);
    }
    let wanted = resolved.findings();
    let scoped = !resolved.view.filter.is_empty() || resolved.view.range.is_some();
    let selection = if scoped {
        loaded.selection(&resolved.view)?.rows
    } else {
        None
    };
    let scope = wanted.in_scope(all, selection.as_ref(), loaded.store.frame().height());
    loaded.report_timings();
    let shown = detectors::at_least(&scope, wanted.min_severity);
    let tz = &resolved.view.tz;
    let mut out = io::stdout().lock();
    match format {
        DetectFormat::Table => output::write_findings_table(&mut out, &shown, tz)?,
        DetectFormat::Json => output::write_findings_json(&mut out, &shown)?,
        DetectFormat::Jsonl => output::write_findings_jsonl(&mut out, &shown)?,
    }
    out.flush()?;
    let failed = fail_on.is_some_and(|l| scope.iter().any(|f| f.severity >= severity(l)));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `trailscope tail`: follows until interrupted (or standard input ends).
pub(crate) fn tail(
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
    let lake_root = request.lake.clone();
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
        lake: match request.lake {
            Some(root) => Some((root, duration(&request.lake_every, "--lake-every")?)),
            None => None,
        },
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
    if let (Some(lake), Some(root)) = (&report.lake, &lake_root) {
        let _ = writeln!(
            io::stderr(),
            "trailscope: lake {}: {} events appended ({} already there), {} files, {} bytes",
            escape_control(&root.display().to_string()),
            lake.written,
            lake.skipped,
            lake.files,
            lake.bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}
