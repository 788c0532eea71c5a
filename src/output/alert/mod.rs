//! Alerts from live findings (`trailscope tail --alert`): each finding that is news goes to
//! webhooks ([`webhook`]: Slack, Teams or any HTTP endpoint) and commands ([`exec`]), as JSON
//! ([`message`]), after the hygiene that keeps the stream bearable ([`hygiene`]: a minimum
//! severity, silences, one alert per rule and actor per re-alert interval). Each target has its
//! own bounded queue and delivery thread, so the reading loop that offers findings never waits;
//! what was dropped, and why, is counted ([`AlertCounts`]).

pub mod exec;
pub mod hygiene;
pub mod message;
mod sender;
pub mod target;
pub mod webhook;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};

use crate::config;
use crate::detectors::{LiveFinding, Severity};
use crate::{Error, Result};

pub use hygiene::{AlertLedger, Silence, alert_key};
pub use message::{alert_json, digest_json, summary_line};
pub use target::{AlertTarget, Destination, redact_url};
pub use webhook::Retry;

use sender::{Counters, Worker};

/// How alerts are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOptions {
    /// Findings below this severity are not alerted.
    pub min_severity: Severity,
    /// One alert per rule, actor and provider in this time (unless its severity rose).
    pub realert: Duration,
    /// Gather findings for this long into one message (zero: one message per finding), for
    /// targets that do not set their own.
    pub aggregate: Duration,
    /// Findings waiting per target.
    pub queue: usize,
    /// Retries of a webhook message.
    pub retry: Retry,
    /// Timeout of one webhook request.
    pub timeout: Duration,
    /// Timeout of one command.
    pub exec_timeout: Duration,
}

impl AlertOptions {
    /// The options of an `[alert]` section.
    pub fn from_config(a: &config::Alert) -> Result<AlertOptions> {
        Ok(AlertOptions {
            min_severity: parse_severity(&a.min_severity)?,
            realert: Duration::from_secs(u64::from(a.realert_minutes) * 60),
            aggregate: Duration::from_secs(u64::from(a.aggregate_seconds)),
            queue: a.queue.max(1),
            retry: Retry {
                attempts: a.attempts.max(1),
                base: Duration::from_millis(a.retry_ms),
                longest: LONGEST_RETRY_WAIT,
            },
            timeout: Duration::from_secs(u64::from(a.timeout_seconds.max(1))),
            exec_timeout: Duration::from_secs(u64::from(a.exec_timeout_seconds.max(1))),
        })
    }
}

impl Default for AlertOptions {
    fn default() -> Self {
        let a = config::Alert::default();
        AlertOptions {
            min_severity: Severity::parse(&a.min_severity).unwrap_or(Severity::Medium),
            realert: Duration::from_secs(u64::from(a.realert_minutes) * 60),
            aggregate: Duration::from_secs(u64::from(a.aggregate_seconds)),
            queue: a.queue,
            retry: Retry {
                attempts: a.attempts,
                base: Duration::from_millis(a.retry_ms),
                longest: LONGEST_RETRY_WAIT,
            },
            timeout: Duration::from_secs(u64::from(a.timeout_seconds)),
            exec_timeout: Duration::from_secs(u64::from(a.exec_timeout_seconds)),
        }
    }
}

/// The longest wait between two attempts, whatever an endpoint's `Retry-After` asks.
pub const LONGEST_RETRY_WAIT: Duration = Duration::from_secs(300);

fn parse_severity(name: &str) -> Result<Severity> {
    Severity::parse(name).ok_or_else(|| {
        Error::Invalid(format!(
            "unknown severity '{name}' (info, low, medium, high, critical)"
        ))
    })
}

/// The current time, µs since the epoch.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

/// Everything an [`Alerter`] is started with: the configuration's `[alert]` section, then
/// what the command line adds.
#[derive(Debug, Clone)]
pub struct AlertPlan {
    /// The targets.
    pub targets: Vec<AlertTarget>,
    /// The silences.
    pub silences: Vec<Silence>,
    /// The options.
    pub options: AlertOptions,
}

impl AlertPlan {
    /// The `[alert]` section: its targets, silences and options.
    pub fn from_config(a: &config::Alert) -> Result<AlertPlan> {
        Ok(AlertPlan {
            targets: a
                .targets
                .iter()
                .map(|t| AlertTarget::parse(t))
                .collect::<Result<_>>()?,
            silences: a
                .silence
                .iter()
                .map(Silence::from_rule)
                .collect::<Result<_>>()?,
            options: AlertOptions::from_config(a)?,
        })
    }

    /// Adds a target written as `--alert` takes it.
    pub fn add_target(&mut self, spec: &str) -> Result<()> {
        self.targets.push(AlertTarget::parse(spec)?);
        Ok(())
    }

    /// Adds a silence written as `--silence` takes it (`for=2h` counts from now).
    pub fn add_silence(&mut self, spec: &str) -> Result<()> {
        self.silences.push(Silence::parse(spec, now())?);
        Ok(())
    }

    /// Sets the global minimum severity (`--alert-min-severity`).
    pub fn set_min_severity(&mut self, name: &str) -> Result<()> {
        self.options.min_severity = parse_severity(name)?;
        Ok(())
    }

    /// Starts the delivery threads, with what was alerted before (from `--state`, or
    /// [`AlertLedger::new`]).
    pub fn start(self, ledger: AlertLedger) -> Alerter {
        Alerter::start(self, ledger)
    }
}

/// What the alerter did with the findings offered to it. Findings dropped before the targets
/// (below the global minimum, silenced, re-alert) count once; the others count once per
/// target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertCounts {
    /// Findings delivered (a message of five findings counts five).
    pub delivered: u64,
    /// Findings whose delivery failed after its retries (logged).
    pub failed: u64,
    /// Findings dropped because a target's queue was full.
    pub queue_full: u64,
    /// Findings below the global or a target's minimum severity.
    pub below_severity: u64,
    /// Findings a silence matched.
    pub silenced: u64,
    /// Findings held back because their rule and actor were alerted within the interval.
    pub realert: u64,
}

impl AlertCounts {
    /// Findings not delivered, for whatever reason.
    pub fn suppressed(&self) -> u64 {
        self.failed + self.queue_full + self.below_severity + self.silenced + self.realert
    }
}

impl fmt::Display for AlertCounts {
    /// `alerts: 12 delivered, 1 failed; suppressed: 3 re-alert, 2 silenced, 40 below severity, 0 queue full`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "alerts: {} delivered, {} failed; suppressed: {} re-alert, {} silenced, {} below severity, {} queue full",
            self.delivered,
            self.failed,
            self.realert,
            self.silenced,
            self.below_severity,
            self.queue_full
        )
    }
}

/// Sends live findings to the targets, never blocking the caller.
pub struct Alerter {
    workers: Vec<Worker>,
    silences: Vec<Silence>,
    ledger: AlertLedger,
    options: AlertOptions,
    counters: Arc<Counters>,
    /// Dropped to interrupt the delivery threads' waits.
    stop: Option<Sender<()>>,
    done: crossbeam_channel::Receiver<()>,
}

impl Alerter {
    /// Starts one delivery thread per target.
    pub fn start(plan: AlertPlan, ledger: AlertLedger) -> Alerter {
        let counters = Arc::new(Counters::default());
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let (done_tx, done_rx) = bounded::<()>(0);
        let workers = plan
            .targets
            .into_iter()
            .map(|t| {
                Worker::start(
                    t,
                    &plan.options,
                    Arc::clone(&counters),
                    stop_rx.clone(),
                    done_tx.clone(),
                )
            })
            .collect();
        Alerter {
            workers,
            silences: plan.silences,
            ledger,
            options: plan.options,
            counters,
            stop: Some(stop_tx),
            done: done_rx,
        }
    }

    /// Offers findings (a run's news, [`crate::detectors::LiveRun::changes`]) now.
    pub fn offer(&mut self, findings: &[LiveFinding]) {
        self.offer_at(findings, now());
    }

    /// Offers findings at time `now` (µs since the epoch): those at or above the minimum
    /// severity, not silenced and not alerted within the re-alert interval are queued for
    /// each target; returns at once.
    pub fn offer_at(&mut self, findings: &[LiveFinding], now: i64) {
        let interval = i64::try_from(self.options.realert.as_micros()).unwrap_or(i64::MAX);
        self.ledger.forget_before(now, interval);
        let c = &self.counters;
        for f in findings {
            if f.finding.severity < self.options.min_severity {
                Counters::add(&c.below_severity, 1);
            } else if self.silences.iter().any(|s| s.matches(f, now)) {
                Counters::add(&c.silenced, 1);
            } else if !self.ledger.admit(f, now, interval) {
                Counters::add(&c.realert, 1);
            } else {
                for w in &self.workers {
                    w.offer(f);
                }
            }
        }
    }

    /// Adds a silence while running.
    pub fn add_silence(&mut self, silence: Silence) {
        self.silences.push(silence);
    }

    /// The silences in force at `now` (µs), for a status line.
    pub fn silences(&self, now: i64) -> impl Iterator<Item = &Silence> {
        self.silences.iter().filter(move |s| !s.expired(now))
    }

    /// The targets, as logs show them (webhook URLs without their secret).
    pub fn targets(&self) -> Vec<String> {
        self.workers.iter().map(|w| w.target.to_string()).collect()
    }

    /// What was done with the findings offered so far.
    pub fn counts(&self) -> AlertCounts {
        let c = &self.counters;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        AlertCounts {
            delivered: get(&c.delivered),
            failed: get(&c.failed),
            queue_full: get(&c.queue_full),
            below_severity: get(&c.below_severity),
            silenced: get(&c.silenced),
            realert: get(&c.realert),
        }
    }

    /// Why the last delivery failed, if one did.
    pub fn last_failure(&self) -> Option<String> {
        self.counters
            .last_failure
            .lock()
            .ok()
            .and_then(|l| l.clone())
    }

    /// What was alerted when, to save with `--state`.
    pub fn ledger(&self) -> &AlertLedger {
        &self.ledger
    }

    /// Waits until every queued finding was delivered or given up (tests).
    pub fn wait_idle(&self) {
        while self.counters.pending.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops taking findings, lets the queued ones go out for at most `grace` (a window
    /// being gathered is sent at once), then interrupts retries; returns the ledger to save
    /// and the final counts.
    pub fn close(mut self, grace: Duration) -> (AlertLedger, AlertCounts) {
        for w in &mut self.workers {
            w.close();
        }
        let deadline = Instant::now() + grace;
        // Each thread holds a clone of `done`'s sender: all gone means all ended.
        while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
            self.done.recv_deadline(deadline)
        {}
        self.stop = None;
        // Threads still delivering after the grace stop at their next wait; give them a
        // moment to count what they dropped.
        let _ = self.done.recv_timeout(Duration::from_millis(200));
        for w in &mut self.workers {
            w.join_if_finished();
        }
        let counts = self.counts();
        (std::mem::take(&mut self.ledger), counts)
    }
}
