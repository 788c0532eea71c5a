//! The lake commands: `export --lake` writes loaded events into a Parquet lake, and
//! `query|pivot|timeline|detect|summary --lake` read one instead of inputs.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use trailscope::analysis::ProfileSpec;
use trailscope::lake::pages::LakePages;
use trailscope::lake::{aggregate, detect, query, scan::ScanStats, write};
use trailscope::text::{escape_control, format_time_utc, thousands};
use trailscope::views::{Overrides, Resolved};
use trailscope::{output, schema};

use crate::args::{Common, ResultFormat, SummaryFormat, ViewArgs};
use crate::commands::QueryRequest;
use crate::inputs::{Loaded, compile_view, load, prepare};
use crate::views;

/// `trailscope export --lake DIR`: loads the inputs and writes the events the filter and
/// range select into the lake; prints what it wrote on standard error.
pub(crate) fn export(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
    (view, filter): (&ViewArgs, Option<String>),
    root: &Path,
) -> anyhow::Result<ExitCode> {
    let loaded = load(paths, input_format, common)?;
    loaded.require_events()?;
    let overrides = Overrides {
        filter,
        ..Overrides::default()
    };
    let resolved = views::open_view(common, view, overrides, &loaded.tz)?;
    let scoped = !resolved.view.filter.trim().is_empty() || resolved.view.range.is_some();
    let rows = if scoped {
        let selection = loaded.selection(&resolved.view)?;
        Some(selection.rows.unwrap_or_default())
    } else {
        None
    };
    let summary = write::export(&loaded.store, rows.as_ref(), root)?;
    loaded.report_timings();
    write::write_summary(&mut io::stderr().lock(), &summary, root)?;
    Ok(ExitCode::SUCCESS)
}

/// The view a lake command runs: its filter checked as the other commands check it (with
/// a caret under a problem) before any file is read.
fn open_view(
    common: &Common,
    (view, overrides): (&ViewArgs, Overrides),
) -> anyhow::Result<Resolved> {
    let prepared = prepare(&[], None, common)?;
    let resolved = views::open_view(common, view, overrides, &prepared.tz)?;
    compile_view(&schema::empty_frame(), resolved.view.clone())?;
    Ok(resolved)
}

/// With `--timings`, the scan's work as one JSON object on standard error.
fn report_scan(common: &Common, started: Instant, stats: &ScanStats) {
    if common.timings {
        let _ = writeln!(
            io::stderr(),
            "{}",
            serde_json::json!({
                "lake_ms": started.elapsed().as_millis(),
                "partitions": stats.partitions,
                "partitions_read": stats.partitions_read,
                "files": stats.files,
                "files_read": stats.files_read,
                "row_groups": stats.row_groups,
                "row_groups_read": stats.row_groups_read,
                "row_groups_ruled_out_by_values": stats.row_groups_ruled_out_by_values,
                "rows_read": stats.rows_read,
            })
        );
    }
}

/// `trailscope query --lake DIR`.
pub(crate) fn query(
    root: &Path,
    common: &Common,
    view: (&ViewArgs, Overrides),
    request: &QueryRequest,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let resolved = open_view(common, view)?;
    let mut spec = resolved.view.clone();
    let (result, stats) = match &request.sql {
        Some(sql) => {
            let (mut result, stats) = query::sql(root, &spec, sql)?;
            if let Some(n) = request.limit {
                result = result.head(Some(n));
            }
            (result, stats)
        }
        None => {
            // Tables show the default columns, machine formats every column.
            if spec.columns.is_empty() && request.format != ResultFormat::Table {
                spec.columns = schema::EVENT_COLUMNS.map(String::from).to_vec();
            }
            query::select(root, &spec)?
        }
    };
    report_scan(common, started, &stats);
    let grid = output::Grid::from_frame(&result)?;
    let mut out = io::stdout().lock();
    grid.write(&mut out, request.format.into(), &spec.tz)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `trailscope pivot --lake DIR`.
pub(crate) fn pivot(
    root: &Path,
    common: &Common,
    view: (&ViewArgs, Overrides),
    format: ResultFormat,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let resolved = open_view(common, view)?;
    let spec = resolved.pivot()?;
    let (pivot, stats) = aggregate::pivot(root, &resolved.view, &spec)?;
    report_scan(common, started, &stats);
    crate::commands::print_pivot(&pivot, format, &resolved.view.tz)
}

/// `trailscope timeline --lake DIR`.
pub(crate) fn timeline(
    root: &Path,
    common: &Common,
    view: (&ViewArgs, Overrides),
    profile: bool,
    format: ResultFormat,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let resolved = open_view(common, view)?;
    let spec = resolved.timeline();
    let tz = &resolved.view.tz;
    let mut out = io::stdout().lock();
    if profile {
        let spec = ProfileSpec {
            actors: Vec::new(),
            top: spec.top,
            tz: tz.clone(),
        };
        let (profiles, stats) = query::run(root, &resolved.view, &spec)?;
        report_scan(common, started, &stats);
        match format {
            ResultFormat::Table => output::write_profiles(&mut out, &profiles, tz)?,
            _ => writeln!(out, "{}", output::profiles_json(&profiles, tz))?,
        }
    } else {
        let (timeline, stats) = aggregate::timeline(root, &resolved.view, &spec)?;
        report_scan(common, started, &stats);
        crate::commands::print_timeline(&mut out, &timeline, format, tz)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `trailscope summary --lake DIR`: what the lake holds per provider, from its footers.
pub(crate) fn summary(root: &Path, format: SummaryFormat) -> anyhow::Result<ExitCode> {
    let summary = trailscope::lake::summary::summarize(root)?;
    let mut out = io::stdout().lock();
    let time = |t: Option<i64>| t.map(format_time_utc).unwrap_or_else(|| "-".into());
    match format {
        SummaryFormat::Json => {
            let total = summary.total();
            let json = serde_json::json!({
                "lake": root.display().to_string(),
                "providers": summary.providers,
                "total": total,
            });
            writeln!(out, "{json}")?;
        }
        SummaryFormat::Table => {
            writeln!(out, "lake {}", escape_control(&root.display().to_string()))?;
            writeln!(
                out,
                "{:<12} {:>6} {:>7} {:>13} {:>14}  {:<27}  {:<27}",
                "PROVIDER", "DAYS", "FILES", "EVENTS", "BYTES", "FIRST", "LAST"
            )?;
            let total = summary.total();
            for p in summary.providers.iter().chain(std::iter::once(&total)) {
                writeln!(
                    out,
                    "{:<12} {:>6} {:>7} {:>13} {:>14}  {:<27}  {:<27}",
                    escape_control(&p.provider),
                    thousands(p.days as u64),
                    thousands(p.files as u64),
                    thousands(p.events),
                    thousands(p.bytes),
                    time(p.first),
                    time(p.last),
                )?;
            }
            if total.untimed > 0 {
                writeln!(
                    out,
                    "{} events have no time (partition date={})",
                    thousands(total.untimed),
                    trailscope::lake::layout::NULL_PARTITION
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The events of a lake the view selects, loaded as a store, for the commands that need
/// one (`detect --lake`, the TUI).
pub(crate) fn load_lake(
    root: &Path,
    common: &Common,
    view: (&ViewArgs, Overrides),
) -> anyhow::Result<(Loaded, Resolved)> {
    let started = Instant::now();
    let prepared = prepare(&[], None, common)?;
    let resolved = open_view(common, view)?;
    let (store, stats) = query::load_store(root, &resolved.view)?;
    report_scan(common, started, &stats);
    let loaded = Loaded {
        store,
        tz: prepared.tz,
        config: prepared.config,
        timings: common
            .timings
            .then(|| (started, started.elapsed().as_millis())),
        sigma: None,
    };
    Ok((loaded, resolved))
}

/// `trailscope --lake DIR`: the TUI over the events of a lake the filter selects, a page of
/// at most `--lake-page` events at a time (their original records read from the lake when
/// shown), with their number in the status bar.
pub(crate) fn tui(
    root: &Path,
    (filter, page): (Option<String>, Option<u64>),
    common: &Common,
) -> anyhow::Result<ExitCode> {
    let prepared = prepare(&[], None, common)?;
    let overrides = Overrides {
        filter: filter.clone(),
        ..Overrides::default()
    };
    let resolved = open_view(common, (&ViewArgs::default(), overrides))?;
    let size = page.unwrap_or(trailscope::lake::pages::DEFAULT_PAGE_EVENTS);
    let pages = std::sync::Arc::new(LakePages::plan(root, &resolved.view, size)?);
    let (store, stats) = pages.load(0)?;
    let paged = if pages.len() > 1 {
        format!("; {}, }} next page", pages.describe(0, &prepared.tz))
    } else {
        String::new()
    };
    let message = format!(
        "{} events from the lake {} ({} of {} partitions read{}){paged}",
        store.frame().height(),
        root.display(),
        stats.partitions_read,
        stats.partitions,
        filter.map(|f| format!(", filter {f}")).unwrap_or_default()
    );
    trailscope::tui::run(trailscope::tui::Launch {
        paths: Vec::new(),
        inputs: Vec::new(),
        problems: Vec::new(),
        options: prepared.options,
        config: prepared.config,
        tz: prepared.tz,
        follow: None,
        views: common.views.clone(),
        loaded: Some((store, message)),
        lake_pages: Some(pages),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Events past which `detect --lake` judges the lake by windows unless `--window` says.
const WINDOW_PAST_EVENTS: u64 = 5_000_000;

/// The history (µs) `detect --lake` judges each day with, or None to run the rules once
/// over everything: `--window`, else windows when the selection is large (from the
/// footers: the events of the partitions and row groups the filter can match).
pub(crate) fn detection_window(
    root: &Path,
    common: &Common,
    view: (&ViewArgs, Overrides),
    window: Option<String>,
) -> anyhow::Result<Option<i64>> {
    let history = |text: &str| {
        trailscope::time::parse_duration(text)
            .ok()
            .filter(|us| *us >= 0)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "invalid --window '{}' (a duration such as 7d or 36h, or all)",
                    escape_control(text)
                )
            })
    };
    match window.as_deref() {
        Some(w) if w.eq_ignore_ascii_case("all") => Ok(None),
        Some(w) => history(w).map(Some),
        None => {
            let resolved = open_view(common, view)?;
            let events = query::LakeView::open(root, &resolved.view)?.rows_to_read()?;
            if events <= WINDOW_PAST_EVENTS {
                return Ok(None);
            }
            let _ = writeln!(
                io::stderr(),
                "trailscope: the filter selects up to {} events of the lake: the rules judge them a week at a time, each with the {} before it (--window DURATION to choose the history, --window all for one run over everything)",
                thousands(events),
                shown_duration(detect::DEFAULT_HISTORY)
            );
            Ok(Some(detect::DEFAULT_HISTORY))
        }
    }
}

fn shown_duration(us: i64) -> String {
    trailscope::time::format_duration(us).unwrap_or_else(|| format!("{us} µs"))
}

/// `trailscope detect --lake DIR --window DURATION`: the built-in rules (and the Sigma
/// rules asked for) over the lake a week at a time, each week with `history` before it.
pub(crate) fn detect_by_windows(
    root: &Path,
    common: &Common,
    view: (&ViewArgs, Overrides),
    history: i64,
    (format, fail_on): (crate::args::DetectFormat, Option<crate::args::Level>),
    (sigma, sigma_only): (&[std::path::PathBuf], bool),
) -> anyhow::Result<ExitCode> {
    use trailscope::detectors;
    let started = Instant::now();
    let prepared = prepare(&[], None, common)?;
    let resolved = open_view(common, view)?;
    let config = prepared.config;
    let paths = trailscope::sigma::rule_paths(&config, sigma);
    let rules = if paths.is_empty() {
        None
    } else {
        Some(trailscope::sigma::RuleSet::load(&paths)?)
    };
    let gap = trailscope::sigma::group_gap(&config);
    let mut judge = |store: &trailscope::store::FrameStore| {
        let mut found = if sigma_only {
            Vec::new()
        } else {
            detectors::run(store.frame(), &config)?
        };
        if let Some(set) = &rules {
            found.extend(trailscope::sigma::run(store, store.frame(), set, gap)?.findings);
        }
        Ok(found)
    };
    let run = detect::by_windows(
        root,
        &resolved.view,
        (history, detect::DEFAULT_STEP),
        &mut judge,
    )?;
    report_scan(common, started, &run.stats);
    let _ = writeln!(
        io::stderr(),
        "trailscope: {} events judged a week at a time ({} windows, each week with the {} before it; the largest window held {} events)",
        thousands(run.events),
        run.windows,
        shown_duration(history),
        thousands(run.largest_window as u64)
    );
    let mut findings = run.findings;
    detectors::sort_findings(&mut findings);
    let shown = detectors::at_least(&findings, resolved.findings().min_severity);
    let tz = &resolved.view.tz;
    let mut out = io::stdout().lock();
    match format {
        crate::args::DetectFormat::Table => output::write_findings_table(&mut out, &shown, tz)?,
        crate::args::DetectFormat::Json => output::write_findings_json(&mut out, &shown)?,
        crate::args::DetectFormat::Jsonl => output::write_findings_jsonl(&mut out, &shown)?,
    }
    out.flush()?;
    let failed = fail_on.is_some_and(|l| findings.iter().any(|f| f.severity >= views::severity(l)));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
