//! When to look again: change events from notify for the watched directories (recursively)
//! and the directories of watched files, or a fixed polling interval for file systems that
//! send no events (network mounts, some containers). Either way the follower also looks at
//! its files once a second, so a missed event costs a second, not an event.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, select, unbounded};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// What woke the follower.
#[derive(Debug, Default)]
pub struct Wake {
    /// Something was created, renamed or removed (or the event queue overflowed): look for
    /// new files.
    pub rescan: bool,
    /// The follower was asked to stop.
    pub stop: bool,
}

/// The source of wake-ups.
pub struct Watch {
    events: Receiver<notify::Result<notify::Event>>,
    stop: Receiver<()>,
    /// Kept alive for its events.
    _watcher: Option<RecommendedWatcher>,
    poll: Option<Duration>,
    last_poll: Instant,
}

/// How long the follower sleeps at most between looks at its files.
const TICK: Duration = Duration::from_secs(1);
/// After an event, more events within this time are taken in the same look.
const COALESCE: Duration = Duration::from_millis(5);

impl Watch {
    /// Watches `dirs` recursively and the directories of `files`, or polls every `poll`.
    /// Returns the watch and what could not be watched (then polled once a second).
    pub fn new(
        dirs: &[PathBuf],
        files: &[PathBuf],
        poll: Option<Duration>,
        stop: Receiver<()>,
    ) -> (Watch, Vec<String>) {
        let (tx, events) = unbounded();
        let mut problems = Vec::new();
        let watcher = if poll.is_some() {
            None
        } else {
            match notify::recommended_watcher(move |e| {
                let _ = tx.send(e);
            }) {
                Ok(mut w) => {
                    for dir in dirs {
                        if let Err(e) = w.watch(dir, RecursiveMode::Recursive) {
                            problems
                                .push(format!("{}: cannot watch for changes: {e}", dir.display()));
                        }
                    }
                    let mut parents: Vec<PathBuf> = files.iter().map(|f| parent_of(f)).collect();
                    parents.sort();
                    parents.dedup();
                    for dir in parents {
                        if let Err(e) = w.watch(&dir, RecursiveMode::NonRecursive) {
                            problems
                                .push(format!("{}: cannot watch for changes: {e}", dir.display()));
                        }
                    }
                    Some(w)
                }
                Err(e) => {
                    problems.push(format!(
                        "change events unavailable ({e}); polling every second"
                    ));
                    None
                }
            }
        };
        let watch = Watch {
            events,
            stop,
            _watcher: watcher,
            poll,
            last_poll: Instant::now(),
        };
        (watch, problems)
    }

    /// Waits for a change, the next tick, or a stop.
    pub fn wait(&mut self) -> Wake {
        let mut wake = Wake::default();
        if let Some(interval) = self.poll {
            let left = interval.saturating_sub(self.last_poll.elapsed());
            match self.stop.recv_timeout(left) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => wake.stop = true,
            }
            self.last_poll = Instant::now();
            wake.rescan = true;
            return wake;
        }
        select! {
            recv(self.events) -> event => match event {
                Ok(event) => self.take(event, &mut wake),
                Err(_) => wake.stop = true,
            },
            recv(self.stop) -> _ => wake.stop = true,
            default(TICK) => {}
        }
        let until = Instant::now() + COALESCE;
        while let Ok(event) = self.events.recv_deadline(until) {
            self.take(event, &mut wake);
        }
        wake
    }

    fn take(&self, event: notify::Result<notify::Event>, wake: &mut Wake) {
        let Ok(event) = event else {
            wake.rescan = true;
            return;
        };
        let structural = matches!(
            event.kind,
            EventKind::Create(_)
                | EventKind::Remove(_)
                | EventKind::Other
                | EventKind::Any
                | EventKind::Modify(notify::event::ModifyKind::Name(_))
        );
        wake.rescan |= structural || event.need_rescan();
    }
}

/// The directory holding `file` (`.` for a bare file name).
pub fn parent_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polling looks again on its own (nothing on disk changes, so no change event could
    /// have woken it), and asks for the directories to be read again each time: a new file
    /// on a file system without change events is found at the next poll.
    #[test]
    fn polling_wakes_to_rescan_without_any_change_event() {
        let dir = tempfile::tempdir().unwrap();
        let (_stop_tx, stop) = unbounded();
        let (mut watch, problems) = Watch::new(
            &[dir.path().to_path_buf()],
            &[],
            Some(Duration::from_millis(20)),
            stop,
        );
        assert!(problems.is_empty(), "{problems:?}");
        for _ in 0..3 {
            let wake = watch.wait();
            assert!(wake.rescan && !wake.stop);
        }
    }

    /// Without polling, a quiet directory wakes the follower only at its tick, and asks for
    /// no rescan: finding new files is the change events' job, which is why `--poll` exists.
    #[test]
    fn change_events_wake_for_new_files_and_ticks_do_not_rescan() {
        let dir = tempfile::tempdir().unwrap();
        let (_stop_tx, stop) = unbounded();
        let (mut watch, problems) = Watch::new(&[dir.path().to_path_buf()], &[], None, stop);
        assert!(problems.is_empty(), "{problems:?}");
        let quiet = watch.wait();
        assert!(!quiet.rescan && !quiet.stop);
        std::fs::write(dir.path().join("new.json"), "{}\n").unwrap();
        let woken = (0..5).map(|_| watch.wait()).any(|w| w.rescan);
        assert!(woken, "a new file raised no change event");
    }

    /// A stop ends a poll's wait at once.
    #[test]
    fn a_stop_ends_a_polling_wait() {
        let (stop_tx, stop) = unbounded();
        let (mut watch, _) = Watch::new(&[], &[], Some(Duration::from_secs(3600)), stop);
        stop_tx.send(()).unwrap();
        assert!(watch.wait().stop);
    }
}
