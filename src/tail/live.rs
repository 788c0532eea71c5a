//! Findings while tailing: the rules re-run in the background over the growing frame,
//! each finding reported once (and again only when it grows), printed with `--findings`
//! and handed to the alert targets.

use std::io::Write;
use std::time::Duration;

use crate::config::Config;
use crate::detectors::{LiveDetector, LiveFinding, LiveFindings};
use crate::output::alert::{AlertLedger, AlertPlan, Alerter};
use crate::output::finding_json;
use crate::output::stream::StreamFormat;
use crate::text::escape_control;
use crate::{Error, Result};

/// Whether findings are printed, and instead of events or with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsOutput {
    /// Only events.
    Off,
    /// Findings among the events.
    WithEvents,
    /// Only findings.
    Only,
}

/// The least time between the starts of two runs of the rules.
const CADENCE: Duration = Duration::from_millis(500);
/// How long queued alerts are given to go out when `tail` ends.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Names of the entries kept in the `--state` file.
pub const STATE_FINDINGS: &str = "findings";
/// See [`STATE_FINDINGS`].
pub const STATE_ALERTS: &str = "alerts";

/// The running detection and alerting of a `tail`.
pub struct LiveAlerts {
    detector: LiveDetector,
    alerter: Option<Alerter>,
    /// The first run covers what existed at the start: what it finds is history, not news
    /// (unless resumed, when everything loaded is new since the last run).
    first_is_history: bool,
    /// Events in the frame of the newest finished run.
    pub covered: usize,
    /// Findings printed or alerted so far.
    pub reported: u64,
}

impl LiveAlerts {
    /// Starts the rules (and the alert targets of `plan`), continuing from saved state.
    pub fn start(
        config: &Config,
        plan: Option<AlertPlan>,
        findings: Option<serde_json::Value>,
        alerts: Option<serde_json::Value>,
        resumed: bool,
    ) -> Result<LiveAlerts> {
        let bad = |what: &str, e: serde_json::Error| {
            Error::Invalid(format!("the --state file's {what} cannot be read: {e}"))
        };
        let reported: LiveFindings = match findings {
            Some(v) => serde_json::from_value(v).map_err(|e| bad("findings", e))?,
            None => LiveFindings::new(),
        };
        let ledger: AlertLedger = match alerts {
            Some(v) => serde_json::from_value(v).map_err(|e| bad("alert history", e))?,
            None => AlertLedger::new(),
        };
        Ok(LiveAlerts {
            detector: LiveDetector::start(config.clone(), reported, CADENCE),
            alerter: plan.map(|p| p.start(ledger)),
            first_is_history: !resumed,
            covered: 0,
            reported: 0,
        })
    }

    /// Hands the rules the newest frame.
    pub fn submit(&self, frame: polars::prelude::DataFrame) {
        self.detector.submit(frame);
    }

    /// Takes the finished runs: prints (if asked) and alerts their news.
    pub fn poll(
        &mut self,
        output: FindingsOutput,
        format: StreamFormat,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> std::io::Result<()> {
        while let Ok(result) = self.detector.results().try_recv() {
            let run = match result {
                Ok(run) => run,
                Err(e) => {
                    let _ = writeln!(err, "trailscope: detection failed: {}", escape_control(&e));
                    continue;
                }
            };
            self.covered = run.events;
            if std::mem::take(&mut self.first_is_history) {
                let _ = writeln!(
                    err,
                    "trailscope: {} findings in what was loaded (see trailscope detect); reporting new ones",
                    run.all.len()
                );
                continue;
            }
            if run.changes.is_empty() {
                continue;
            }
            self.reported += run.changes.len() as u64;
            if output != FindingsOutput::Off {
                for change in &run.changes {
                    writeln!(out, "{}", finding_line(change, format))?;
                }
                out.flush()?;
            }
            if let Some(alerter) = &mut self.alerter {
                alerter.offer(&run.changes);
            }
        }
        Ok(())
    }

    /// What to keep in `--state`: (findings reported, alert history).
    pub fn state(&self) -> (serde_json::Value, Option<serde_json::Value>) {
        let findings = serde_json::to_value(self.detector.reported()).unwrap_or_default();
        let alerts = self
            .alerter
            .as_ref()
            .and_then(|a| serde_json::to_value(a.ledger()).ok());
        (findings, alerts)
    }

    /// Waits for the run in progress, reports it, and stops; alerts still queued get a
    /// few seconds. Returns the state to keep and a line about the alerts.
    pub fn finish(
        mut self,
        output: FindingsOutput,
        format: StreamFormat,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> std::io::Result<(serde_json::Value, Option<serde_json::Value>, Option<String>)> {
        self.detector.wait_idle();
        self.poll(output, format, out, err)?;
        let findings = serde_json::to_value(self.detector.stop()).unwrap_or_default();
        let (alerts, line) = match self.alerter.take() {
            Some(alerter) => {
                let (ledger, counts) = alerter.close(CLOSE_GRACE);
                (serde_json::to_value(ledger).ok(), Some(counts.to_string()))
            }
            None => (None, None),
        };
        Ok((findings, alerts, line))
    }

    /// The alert counts, for a status line.
    pub fn alert_counts(&self) -> Option<String> {
        self.alerter.as_ref().map(|a| a.counts().to_string())
    }
}

/// A finding as `tail` prints it: the `detect --format jsonl` object with `change`, or a
/// text line starting with `!`.
fn finding_line(change: &LiveFinding, format: StreamFormat) -> String {
    let f = &change.finding;
    match format {
        StreamFormat::Ndjson => {
            let mut value = finding_json(f);
            if let serde_json::Value::Object(map) = &mut value {
                map.insert("change".into(), change.change.as_str().into());
            }
            value.to_string()
        }
        StreamFormat::Table => escape_control(&format!(
            "! {} {} ({}) {}: {} event(s): {}",
            f.severity.as_str().to_ascii_uppercase(),
            f.rule,
            change.change.as_str(),
            if f.actor.is_empty() { "-" } else { &f.actor },
            f.count,
            f.reason
        ))
        .into_owned(),
    }
}
