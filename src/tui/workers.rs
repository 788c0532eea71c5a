//! The TUI's job workers: one thread per slot, each slot holding at most one queued job
//! (latest wins), below the UI thread's priority; results come back over a channel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::jobs::{self, Done, Job, Slot};

#[derive(Default)]
struct JobSlot {
    queued: Mutex<(Option<Job>, bool)>,
    ready: Condvar,
    busy: AtomicBool,
}

impl JobSlot {
    pub(super) fn post(&self, job: Job) {
        if let Ok(mut queued) = self.queued.lock() {
            // A job still queued is stale now: it is dropped, never run.
            queued.0 = Some(job);
            self.ready.notify_one();
        }
    }

    pub(super) fn take(&self) -> Option<Job> {
        let mut queued = self.queued.lock().ok()?;
        loop {
            if queued.1 {
                return None;
            }
            if let Some(job) = queued.0.take() {
                self.busy.store(true, Ordering::SeqCst);
                return Some(job);
            }
            queued = self.ready.wait(queued).ok()?;
        }
    }

    pub(super) fn stop(&self) {
        if let Ok(mut queued) = self.queued.lock() {
            queued.1 = true;
            self.ready.notify_all();
        }
    }

    pub(super) fn idle(&self) -> bool {
        !self.busy.load(Ordering::SeqCst)
            && self.queued.lock().map(|q| q.0.is_none()).unwrap_or(true)
    }
}

pub(super) struct Workers {
    slots: Vec<(Slot, Arc<JobSlot>)>,
    handles: Vec<JoinHandle<()>>,
    pub(super) done: Receiver<Done>,
    /// To the thread that frees what the UI thread replaced.
    disposal: Sender<Box<dyn std::any::Any + Send>>,
}

/// The priority of the job workers (0..=99, the UI thread's is about 50): on Linux a
/// niceness of 10, so that under load a key's work gets the processor first.
const WORKER_PRIORITY: u8 = 22;

/// Lowers the calling thread's priority to [`WORKER_PRIORITY`] (threads it starts, such as
/// a detection run's, inherit it). Where that is not allowed, nothing changes.
fn yield_to_the_ui() {
    if let Ok(value) = thread_priority::ThreadPriorityValue::try_from(WORKER_PRIORITY) {
        let _ = thread_priority::set_current_thread_priority(
            thread_priority::ThreadPriority::Crossplatform(value),
        );
    }
}

impl Workers {
    pub(super) fn start() -> Workers {
        let (tx, done) = unbounded::<Done>();
        let mut slots = Vec::new();
        let mut handles = Vec::new();
        for slot in [
            Slot::View,
            Slot::Pivot,
            Slot::Timeline,
            Slot::Identities,
            Slot::Access,
            Slot::Detect,
            Slot::Record,
            Slot::Export,
            Slot::Commit,
            Slot::LakePage,
        ] {
            let queue = Arc::new(JobSlot::default());
            let worker = Arc::clone(&queue);
            let tx = tx.clone();
            handles.push(std::thread::spawn(move || {
                yield_to_the_ui();
                while let Some(job) = worker.take() {
                    let done = jobs::run(job);
                    // Sent before the slot reads idle, so that idle means its result is
                    // waiting to be applied.
                    let sent = tx.send(done);
                    worker.busy.store(false, Ordering::SeqCst);
                    if sent.is_err() {
                        break;
                    }
                }
            }));
            slots.push((slot, queue));
        }
        let (disposal, discarded) = unbounded::<Box<dyn std::any::Any + Send>>();
        handles.push(std::thread::spawn(move || {
            for value in discarded {
                drop(value);
            }
        }));
        Workers {
            slots,
            handles,
            done,
            disposal,
        }
    }

    /// Frees `value` on the disposal thread (at once, should that thread be gone).
    pub(super) fn discard(&self, value: Box<dyn std::any::Any + Send>) {
        let _ = self.disposal.send(value);
    }

    pub(super) fn post(&self, job: Job) {
        let slot = job.slot();
        if let Some((_, queue)) = self.slots.iter().find(|(s, _)| *s == slot) {
            queue.post(job);
        }
    }

    /// Waits until every worker is idle with nothing queued (for tests and benchmarks).
    pub(super) fn wait_idle(&self) {
        while !self.slots.iter().all(|(_, q)| q.idle()) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub(super) fn stop(self) {
        for (_, queue) in &self.slots {
            queue.stop();
        }
        // A worker in the middle of a long query is not waited for.
        drop(self.handles);
    }
}
