//! `trailscope report`: load, build the report's spec from the flags, write it.

use std::io::{self, Write};
use std::process::ExitCode;

use trailscope::Error;
use trailscope::analysis::{SortKey, TimeRange, ViewSpec};
use trailscope::detectors::Severity;
use trailscope::output::report::{self, ReportFormat, ReportSpec};
use trailscope::text::escape_control;

use crate::args::{Common, Level, ReportArgs};
use crate::inputs::{compile_view, default_paths, load};

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
    let range = match (&args.last, &args.after, &args.before) {
        (Some(d), _, _) => Some(TimeRange::Last(d.clone())),
        (None, None, None) => None,
        (None, after, before) => Some(TimeRange::Between {
            after: after.clone(),
            before: before.clone(),
        }),
    };
    let view = ViewSpec {
        range,
        columns: args.columns.clone(),
        sort: args.sort.as_deref().map(SortKey::parse).transpose()?,
        ..loaded.view(args.filter.as_deref())
    };
    // Compiled here first for the error with a caret under the problem.
    compile_view(loaded.store.frame(), view.clone())?;
    let spec = ReportSpec {
        title: args.title.unwrap_or_default(),
        note: args.note.unwrap_or_default(),
        view_name: None,
        view,
        min_severity: severity(args.min_severity),
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

fn severity(level: Level) -> Severity {
    match level {
        Level::Info => Severity::Info,
        Level::Low => Severity::Low,
        Level::Medium => Severity::Medium,
        Level::High => Severity::High,
        Level::Critical => Severity::Critical,
    }
}
