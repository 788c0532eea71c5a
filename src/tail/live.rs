//! Findings while tailing: the rules re-run in the background over the growing frame,
//! each finding reported once (and again only when it grows), printed with `--findings`
//! and handed to the alert targets.

use std::io::Write;
use std::time::Duration;

use crate::config::Config;
use crate::detectors::{
    LiveDetector, LiveFinding, LiveFindings, Rule, settle_time, single_event_rules,
};
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
    /// Findings waiting until the data has moved past the time in which late events could
    /// still cancel them, with the events the frame held when they were found (a run over
    /// fewer cannot cancel them).
    held: Vec<(usize, LiveFinding)>,
    /// The rules run on arrival.
    arrival_rules: Vec<Box<dyn Rule>>,
    /// How long (event time, µs) every finding waits at least: the reorder window.
    reorder: i64,
    config: Config,
    /// The newest event time in the frame (the data clock), µs.
    clock: Option<i64>,
}

impl LiveAlerts {
    /// Starts the rules (and the alert targets of `plan`), continuing from saved state.
    pub fn start(
        config: &Config,
        plan: Option<AlertPlan>,
        (findings, alerts): (Option<serde_json::Value>, Option<serde_json::Value>),
        resumed: bool,
        reorder: Duration,
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
            held: Vec::new(),
            arrival_rules: single_event_rules(),
            reorder: i64::try_from(reorder.as_micros()).unwrap_or(i64::MAX),
            config: config.clone(),
            clock: None,
        })
    }

    /// Hands the rules the newest frame, whose newest event is at `clock`.
    pub fn submit(&mut self, frame: polars::prelude::DataFrame, clock: Option<i64>) {
        self.clock = self.clock.max(clock);
        self.detector.submit(frame);
    }

    /// Runs the single-event rules over events just appended (`loaded`: the events in the
    /// store with them), so that their findings need not wait for a run over everything.
    pub fn arrivals(
        &mut self,
        batch: &polars::prelude::DataFrame,
        loaded: usize,
        err: &mut dyn Write,
    ) {
        if self.first_is_history || batch.height() == 0 {
            return;
        }
        match self
            .detector
            .check_arrivals(batch, &self.config, &self.arrival_rules)
        {
            Ok(news) => self.held.extend(news.into_iter().map(|f| (loaded, f))),
            Err(e) => {
                let _ = writeln!(
                    err,
                    "trailscope: detection failed: {}",
                    escape_control(&e.to_string())
                );
            }
        }
    }

    /// The held findings whose time to be cancelled has passed on the data clock (all with
    /// `all`); the rest stay held.
    fn due(&mut self, all: bool) -> Vec<LiveFinding> {
        let clock = self.clock.unwrap_or(i64::MIN);
        let (due, held): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.held)
                .into_iter()
                .partition(|(_, f)| {
                    let settle = settle_time(&f.finding.rule, &self.config).max(self.reorder);
                    all || f
                        .finding
                        .time
                        .is_none_or(|t| t.saturating_add(settle) <= clock)
                });
        self.held = held;
        due.into_iter().map(|(_, f)| f).collect()
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
            // A held finding that this run no longer finds was cancelled by events that
            // arrived late; a newer version of it replaces the held one.
            let current: std::collections::HashSet<u64> =
                run.all.iter().map(|f| f.identity()).collect();
            let changed: std::collections::HashSet<u64> =
                run.changes.iter().map(|c| c.finding.identity()).collect();
            let covered = run.events;
            self.held.retain(|(seen, h)| {
                let id = h.finding.identity();
                *seen > covered || current.contains(&id) && !changed.contains(&id)
            });
            self.held
                .extend(run.changes.into_iter().map(|f| (covered, f)));
        }
        let due = self.due(false);
        self.report(&due, output, format, out)
    }

    /// Prints and alerts findings whose wait is over.
    fn report(
        &mut self,
        due: &[LiveFinding],
        output: FindingsOutput,
        format: StreamFormat,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        if due.is_empty() {
            return Ok(());
        }
        self.reported += due.len() as u64;
        if output != FindingsOutput::Off {
            for change in due {
                writeln!(out, "{}", finding_line(change, format))?;
            }
            out.flush()?;
        }
        if let Some(alerter) = &mut self.alerter {
            alerter.offer(due);
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
        // Nothing more is coming: what is held is as settled as it gets.
        let rest = self.due(true);
        self.report(&rest, output, format, out)?;
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
