//! `trailscope incidents`: the findings grouped into incidents (README, "Incidents").

use std::io::{self, Write};
use std::process::ExitCode;

use trailscope::views::{Resolved, row_mask};
use trailscope::{detectors, incidents, output};

use crate::args::DetectFormat;
use crate::inputs::Loaded;

/// Runs the rules, groups every finding into incidents (a filter does not cut a story in
/// two), and prints the incidents at or above the view's severity with a finding that has an
/// event its filter and range select.
pub(crate) fn incidents(
    loaded: &Loaded,
    resolved: &Resolved,
    format: DetectFormat,
) -> anyhow::Result<ExitCode> {
    loaded.require_events()?;
    let frame = loaded.store.frame();
    let mut findings = detectors::run(frame, &loaded.config)?;
    trailscope::sigma::add_configured(&loaded.store, frame, &loaded.config, &mut findings)?;
    let settings = incidents::Settings::from_config(&loaded.config);
    let all = incidents::group(frame, &findings, &settings)?;
    let wanted = resolved.findings();
    let scoped = !resolved.view.filter.is_empty() || resolved.view.range.is_some();
    let mask = if scoped {
        loaded
            .selection(&resolved.view)?
            .rows
            .map(|rows| row_mask(&rows, frame.height()))
    } else {
        None
    };
    loaded.report_timings();
    let shown: Vec<incidents::Incident> = all
        .into_iter()
        .filter(|i| i.severity >= wanted.min_severity)
        .filter(|i| mask.as_ref().is_none_or(|m| i.in_mask(m)))
        .collect();
    let mut out = io::stdout().lock();
    match format {
        DetectFormat::Table => output::write_incidents_table(&mut out, &shown, &resolved.view.tz)?,
        DetectFormat::Json => output::write_incidents_json(&mut out, &shown)?,
        DetectFormat::Jsonl => output::write_incidents_jsonl(&mut out, &shown)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
