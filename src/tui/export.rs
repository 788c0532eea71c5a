//! Exporting the current view as a report (`e`, `:export FILE`): the state becomes the same
//! [`ReportSpec`] `trailscope report --view` builds, and the report is written on a worker
//! from a snapshot of the store, so the UI keeps answering keys while it is written.

use std::path::PathBuf;
use std::sync::Arc;

use crate::output::report::{ReportFormat, ReportSpec};
use crate::text::escape_control;

use super::action::Effect;
use super::jobs::{ExportJob, Job};
use super::state::{AppState, Asking, Overlay, Prompt};

impl AppState {
    /// Asks where to write the report, offering a name from the active view.
    pub(super) fn ask_export_path(&mut self) {
        let name = self
            .active
            .as_ref()
            .map_or("trailscope-report", |a| a.saved.name.as_str());
        self.overlay = Some(Overlay::Prompt(Prompt::new(
            Asking::ExportPath,
            format!("{name}.html"),
        )));
    }

    /// Writes the current view to `path` as a report, in the format its extension names.
    pub(super) fn export_to(&mut self, path: &str, effects: &mut Vec<Effect>) {
        let path = PathBuf::from(path.trim());
        let Some(format) = ReportFormat::from_path(&path) else {
            self.message = Some(format!(
                "cannot tell the format of '{}': name it .html, .md, .csv, .json, .ndjson or .parquet",
                escape_control(&path.display().to_string())
            ));
            return;
        };
        let name = self.active.as_ref().map(|a| a.saved.name.clone());
        let saved = self.capture(name.as_deref().unwrap_or(""));
        let spec = ReportSpec {
            title: saved.title,
            note: saved.note,
            view_name: name,
            view: saved.view,
            analysis: saved.analysis,
            min_severity: self.findings.spec.min_severity,
            rules: self.findings.spec.rules.clone(),
            ..ReportSpec::default()
        };
        // The findings the TUI holds are the report's when they are of this very frame.
        let findings = (self.findings.frame_gen == Some(self.frame_gen))
            .then(|| Vec::clone(&self.findings.list));
        self.message = Some(format!(
            "writing {}...",
            escape_control(&path.display().to_string())
        ));
        effects.push(Effect::Run(Job::Export(Box::new(ExportJob {
            store: self.store.snapshot(),
            config: Arc::clone(&self.settings.config),
            spec,
            format,
            path,
            findings,
        }))));
    }
}
