//! `trailscope report`: load, build the report's spec from the flags, write it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use trailscope::Error;
use trailscope::analysis::SortKey;
use trailscope::output::report::outputs::{self, is_document};
use trailscope::output::report::{self, MultiSpec, ReportFormat, ReportSpec};
use trailscope::text::escape_control;
use trailscope::views::Overrides;

use crate::args::{Common, ReportArgs, ViewArgs};
use crate::inputs::{Loaded, compile_view, default_paths, load_hashing};
use crate::views;

pub(crate) fn report(
    args: ReportArgs,
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<ExitCode> {
    let outs = outputs(&args)?;
    for column in &args.columns {
        trailscope::analysis::check_column(column)?;
    }
    // Fail on a bad field before loading a million events.
    report::redact::parse_fields(&args.redact)?;
    // HTML and Markdown state each input's SHA-256: hashed as the load reads the bytes.
    let hash = outs.iter().any(|(_, format)| is_document(*format));
    let loaded = load_hashing(&args.paths, input_format, common, hash)?;
    loaded.require_events()?;
    if args.view_names.len() > 1 {
        return report_views(args, &outs, &loaded, common);
    }
    let overrides = Overrides {
        filter: args.filter.clone(),
        columns: (!args.columns.is_empty()).then(|| args.columns.clone()),
        sort: args.sort.as_deref().map(SortKey::parse).transpose()?,
        min_severity: args.min_severity.map(views::severity),
        ..Overrides::default()
    };
    let view_args = ViewArgs {
        view: args.view_names.first().cloned(),
        range: args.range.clone(),
    };
    let resolved = views::open_view(common, &view_args, overrides, &loaded.tz)?;
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
    let (store, config) = (&loaded.store, &loaded.config);
    let results = outputs::write_each(&outs, store, config, |(path, format), known| {
        report::write_with_findings(store, config, &spec, *format, path, known)
    });
    loaded.report_timings();
    let mut err = io::stderr().lock();
    let mut failed = None;
    for ((path, format), result) in outs.iter().zip(results) {
        let stats = match result {
            Ok(stats) => stats,
            Err(e) => {
                failed.get_or_insert(e);
                continue;
            }
        };
        let findings = match format {
            ReportFormat::Rows(_) => String::new(),
            _ => format!(", {} findings in scope", stats.findings),
        };
        let _ = writeln!(
            err,
            "trailscope: wrote {} ({} of {} matching events{findings})",
            escape_control(&path.display().to_string()),
            stats.written,
            stats.matching,
        );
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Each `--out` with its format: `--format` for a single file, else the file's extension.
fn outputs(args: &ReportArgs) -> anyhow::Result<Vec<(PathBuf, ReportFormat)>> {
    if args.format.is_some() && args.out.len() > 1 {
        return Err(Error::Invalid(
            "--format names the format of a single --out; with several, each file's extension names its format".into(),
        )
        .into());
    }
    let mut outs: Vec<(PathBuf, ReportFormat)> = Vec::with_capacity(args.out.len());
    for path in &args.out {
        let format = match &args.format {
            Some(name) => ReportFormat::parse(name).ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown report format '{}'; formats: {}",
                    escape_control(name),
                    ReportFormat::NAMES.join(", ")
                ))
            })?,
            None => ReportFormat::from_path(path).ok_or_else(|| {
                Error::Invalid(format!(
                    "cannot tell the format from '{}'; name it .html, .md, .csv, .json, .ndjson or .parquet, or give --format",
                    escape_control(&path.display().to_string())
                ))
            })?,
        };
        if outs.iter().any(|(seen, _)| seen == path) {
            return Err(Error::Invalid(format!(
                "--out {} is given twice",
                escape_control(&path.display().to_string())
            ))
            .into());
        }
        outs.push((path.clone(), format));
    }
    Ok(outs)
}

/// A report of several views (`--view A --view B ...`): each view opened with the flags on
/// top (`--filter` narrows each view's own filter; the others replace its settings), one
/// document or one file per view.
fn report_views(
    args: ReportArgs,
    outs: &[(PathBuf, ReportFormat)],
    loaded: &Loaded,
    common: &Common,
) -> anyhow::Result<ExitCode> {
    let extra = args
        .filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty());
    let mut specs = Vec::new();
    for name in &args.view_names {
        let overrides = Overrides {
            columns: (!args.columns.is_empty()).then(|| args.columns.clone()),
            sort: args.sort.as_deref().map(SortKey::parse).transpose()?,
            min_severity: args.min_severity.map(views::severity),
            ..Overrides::default()
        };
        let view_args = ViewArgs {
            view: Some(name.clone()),
            range: args.range.clone(),
        };
        let mut resolved = views::open_view(common, &view_args, overrides, &loaded.tz)?;
        if let Some(extra) = extra {
            resolved.view.filter = if resolved.view.filter.trim().is_empty() {
                extra.to_string()
            } else {
                format!("({}) ({extra})", resolved.view.filter)
            };
        }
        compile_view(loaded.store.frame(), resolved.view.clone())?;
        let findings = resolved.findings();
        specs.push(ReportSpec {
            analysis: resolved.analysis.clone(),
            title: if resolved.title.trim().is_empty() {
                resolved.name.clone()
            } else {
                resolved.title.clone()
            },
            note: resolved.note.clone(),
            view_name: Some(resolved.name.clone()),
            view: resolved.view,
            min_severity: findings.min_severity,
            rules: findings.rules,
            redact: args.redact.clone(),
            redact_key: args.redact_key_file.clone(),
            author: args.author.clone(),
            max_rows: args.max_rows,
            paths: args.paths.clone(),
        });
    }
    let spec = MultiSpec {
        title: args.title.clone().unwrap_or_default(),
        note: args.note.clone().unwrap_or_default(),
        views: specs,
        shared: shared_flags(&args, common),
        redact: args.redact.clone(),
        redact_key: args.redact_key_file.clone(),
        author: args.author.clone(),
        paths: if args.paths.is_empty() {
            default_paths()
        } else {
            args.paths.clone()
        },
        tz: loaded.tz.clone(),
    };
    let results = outputs::write_each(
        outs,
        &loaded.store,
        &loaded.config,
        |(path, format), known| {
            report::write_multi(&loaded.store, &loaded.config, &spec, *format, path, known)
        },
    );
    loaded.report_timings();
    let mut err = io::stderr().lock();
    for ((_, format), written) in outs.iter().zip(results) {
        for w in &written? {
            let findings = match format {
                ReportFormat::Rows(_) => String::new(),
                _ => format!(", {} findings in scope", w.stats.findings),
            };
            let what = match &w.view {
                Some(view) => format!("view {}: ", escape_control(view)),
                None => format!("{} views: ", spec.views.len()),
            };
            let _ = writeln!(
                err,
                "trailscope: wrote {} ({what}{} of {} matching events{findings})",
                escape_control(&w.path.display().to_string()),
                w.stats.written,
                w.stats.matching,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The flags of the command line that apply to every view, as words.
fn shared_flags(args: &ReportArgs, common: &Common) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut flag = |name: &str, value: &str| words.extend([name.to_string(), value.to_string()]);
    if let Some(filter) = args.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        flag("--filter", filter);
    }
    if let Some(last) = &args.range.last {
        flag("--last", last);
    }
    if let Some(after) = &args.range.after {
        flag("--after", after);
    }
    if let Some(before) = &args.range.before {
        flag("--before", before);
    }
    if let Some(tz) = &common.tz {
        flag("--tz", tz);
    }
    if !args.columns.is_empty() {
        flag("--columns", &args.columns.join(","));
    }
    if let Some(sort) = &args.sort {
        flag("--sort", sort);
    }
    if let Some(level) = args.min_severity {
        flag("--min-severity", views::severity(level).as_str());
    }
    if args.max_rows != report::DEFAULT_MAX_ROWS {
        flag("--max-rows", &args.max_rows.to_string());
    }
    words
}
