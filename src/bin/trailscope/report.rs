//! `trailscope report`: load, build the report's spec from the flags, write it.

use std::io::{self, Write};
use std::process::ExitCode;

use trailscope::Error;
use trailscope::analysis::SortKey;
use trailscope::output::report::{self, ReportFormat, ReportSpec};
use trailscope::text::escape_control;
use trailscope::views::Overrides;

use crate::args::{Common, ReportArgs};
use crate::inputs::{compile_view, default_paths, load};
use crate::views;

pub(crate) fn report(
    args: ReportArgs,
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<ExitCode> {
    let format = match &args.format {
        Some(name) => ReportFormat::parse(name).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown report format '{}'; formats: {}",
                escape_control(name),
                ReportFormat::NAMES.join(", ")
            ))
        })?,
        None => ReportFormat::from_path(&args.out).ok_or_else(|| {
            Error::Invalid(format!(
                "cannot tell the format from '{}'; name it .html, .md, .csv, .json, .ndjson or .parquet, or give --format",
                escape_control(&args.out.display().to_string())
            ))
        })?,
    };
    for column in &args.columns {
        trailscope::analysis::check_column(column)?;
    }
    // Fail on a bad field before loading a million events.
    report::redact::parse_fields(&args.redact)?;
    let loaded = load(&args.paths, input_format, common)?;
    loaded.require_events()?;
    let overrides = Overrides {
        filter: args.filter.clone(),
        columns: (!args.columns.is_empty()).then(|| args.columns.clone()),
        sort: args.sort.as_deref().map(SortKey::parse).transpose()?,
        min_severity: args.min_severity.map(views::severity),
        ..Overrides::default()
    };
    let resolved = views::open_view(common, &args.view, overrides, &loaded.tz)?;
    // Compiled here first for the error with a caret under the problem.
    compile_view(loaded.store.frame(), resolved.view.clone())?;
    let findings = resolved.findings();
    let or_view = |flag: Option<String>, saved: &str| flag.unwrap_or_else(|| saved.to_string());
    let analysis = resolved.analysis.clone();
    let spec = ReportSpec {
        analysis,
        title: or_view(args.title, &resolved.title),
        note: or_view(args.note, &resolved.note),
        view_name: (!resolved.name.is_empty()).then(|| resolved.name.clone()),
        view: resolved.view,
        min_severity: findings.min_severity,
        rules: findings.rules,
        redact: args.redact,
        redact_key: args.redact_key_file,
        author: args.author,
        max_rows: args.max_rows,
        paths: if args.paths.is_empty() {
            default_paths()
        } else {
            args.paths
        },
    };
    let stats = report::write(&loaded.store, &loaded.config, &spec, format, &args.out)?;
    loaded.report_timings();
    let findings = match format {
        ReportFormat::Rows(_) => String::new(),
        _ => format!(", {} findings in scope", stats.findings),
    };
    let _ = writeln!(
        io::stderr(),
        "trailscope: wrote {} ({} of {} matching events{findings})",
        escape_control(&args.out.display().to_string()),
        stats.written,
        stats.matching,
    );
    Ok(ExitCode::SUCCESS)
}
