//! One target's delivery thread: a bounded queue the caller never waits on, optional
//! gathering of a window's findings into one message, and the delivery itself (webhook with
//! retries, or a command).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use crate::detectors::{LiveFinding, Severity};

use super::AlertOptions;
use super::exec;
use super::message::{alert_json, digest_json};
use super::target::{AlertTarget, Destination};
use super::webhook::Webhook;

/// Findings gathered into one aggregated message at most; more in the same window are
/// dropped and counted as a full queue.
const GATHERED_MAX: usize = 10_000;

/// What the alerter counts, shared with the delivery threads.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub queue_full: AtomicU64,
    pub below_severity: AtomicU64,
    pub silenced: AtomicU64,
    pub realert: AtomicU64,
    /// Findings queued or being delivered, over all targets.
    pub pending: AtomicUsize,
    /// Why the last delivery failed.
    pub last_failure: Mutex<Option<String>>,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A target's queue and thread.
pub(super) struct Worker {
    /// The target, for logs.
    pub target: AlertTarget,
    jobs: Option<Sender<LiveFinding>>,
    handle: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Worker {
    /// Starts the thread; `stop` disconnecting interrupts waits between retries.
    pub fn start(
        target: AlertTarget,
        options: &AlertOptions,
        counters: Arc<Counters>,
        stop: Receiver<()>,
        done: Sender<()>,
    ) -> Worker {
        let (tx, rx) = bounded(options.queue.max(1));
        let delivery = Delivery {
            destination: match &target.destination {
                Destination::Webhook(url) => Route::Webhook(Webhook::new(url, options.timeout)),
                Destination::Exec(command) => Route::Exec(command.clone()),
            },
            aggregate: target.aggregate.unwrap_or(options.aggregate),
            options: options.clone(),
            counters: Arc::clone(&counters),
            stop,
        };
        let handle = std::thread::Builder::new()
            .name("alert".into())
            .spawn(move || {
                delivery.run(&rx);
                drop(done);
            })
            .ok();
        Worker {
            target,
            jobs: Some(tx),
            handle,
            counters,
        }
    }

    /// Queues a finding for this target unless it is below the target's minimum or the
    /// queue is full (both counted); never waits.
    pub fn offer(&self, f: &LiveFinding) {
        if self
            .target
            .min_severity
            .is_some_and(|m| f.finding.severity < m)
        {
            Counters::add(&self.counters.below_severity, 1);
            return;
        }
        let Some(jobs) = &self.jobs else { return };
        self.counters.pending.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = jobs.try_send(f.clone()) {
            self.counters.pending.fetch_sub(1, Ordering::SeqCst);
            match e {
                TrySendError::Full(_) => Counters::add(&self.counters.queue_full, 1),
                TrySendError::Disconnected(_) => Counters::add(&self.counters.failed, 1),
            }
        }
    }

    /// Closes the queue: the thread delivers what is queued and ends.
    pub fn close(&mut self) {
        self.jobs = None;
    }

    /// Waits for the thread if it ended (else leaves it behind).
    pub fn join_if_finished(&mut self) {
        if self.handle.as_ref().is_some_and(|h| h.is_finished())
            && let Some(handle) = self.handle.take()
        {
            let _ = handle.join();
        }
    }
}

enum Route {
    Webhook(Webhook),
    Exec(String),
}

struct Delivery {
    destination: Route,
    aggregate: Duration,
    options: AlertOptions,
    counters: Arc<Counters>,
    stop: Receiver<()>,
}

impl Delivery {
    fn run(&self, jobs: &Receiver<LiveFinding>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = vec![first];
            if !self.aggregate.is_zero() {
                let deadline = Instant::now() + self.aggregate;
                loop {
                    match jobs.recv_deadline(deadline) {
                        Ok(f) if batch.len() < GATHERED_MAX => batch.push(f),
                        Ok(_) => {
                            Counters::add(&self.counters.queue_full, 1);
                            self.counters.pending.fetch_sub(1, Ordering::SeqCst);
                        }
                        // The window ended, or the queue closed: send what was gathered.
                        Err(_) => break,
                    }
                }
            }
            self.deliver(&batch);
            self.counters
                .pending
                .fetch_sub(batch.len(), Ordering::SeqCst);
        }
    }

    fn stopped(&self) -> bool {
        matches!(
            self.stop.try_recv(),
            Err(crossbeam_channel::TryRecvError::Disconnected)
        )
    }

    fn deliver(&self, batch: &[LiveFinding]) {
        let body = match batch {
            [one] if self.aggregate.is_zero() => alert_json(one),
            _ => digest_json(batch),
        };
        let result = if self.stopped() {
            Err("stopped before it was sent".to_string())
        } else {
            match &self.destination {
                Route::Webhook(hook) => {
                    let wait = |d: Duration| {
                        matches!(self.stop.recv_timeout(d), Err(RecvTimeoutError::Timeout))
                    };
                    hook.post(&body.to_string(), self.options.retry, &wait)
                        .map(drop)
                }
                Route::Exec(command) => {
                    let mut input = body.to_string();
                    input.push('\n');
                    exec::run(command, input.as_bytes(), self.options.exec_timeout)
                }
            }
        };
        match result {
            Ok(()) => Counters::add(&self.counters.delivered, batch.len()),
            Err(why) => {
                Counters::add(&self.counters.failed, batch.len());
                let worst = batch
                    .iter()
                    .map(|f| f.finding.severity)
                    .max()
                    .unwrap_or(Severity::Info);
                log::warn!(
                    "alert not delivered ({} finding(s), worst {}): {why}",
                    batch.len(),
                    worst.as_str()
                );
                if let Ok(mut last) = self.counters.last_failure.lock() {
                    *last = Some(why);
                }
            }
        }
    }
}
