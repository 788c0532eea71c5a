//! Events arriving in the TUI, after the initial load or during it: appended events are
//! committed at most once a second (less often when commits are slow), the selection keeps
//! its event or sticks to the newest row, the detectors re-run on their cadence, and new
//! findings are announced.

use std::time::{Duration, Instant};

use crate::detectors::Finding;
use crate::store::{CommitFailed, Committed};
use crate::text::escape_control;

use super::action::Effect;
use super::jobs::{Anchor, DetectJob, Job};
use super::state::{AppState, LoadPhase};

/// Commit appended events to the frame at most every this many ticks (one second).
const COMMIT_TICKS: u64 = 4;
/// Commits run on a worker but copy and sort what arrived (the newest hour again when
/// events arrive late), so they may take at most this share of the time: one taking 300 ms
/// is followed by the next no sooner than 3 s later.
const COMMIT_SHARE: u32 = 10;
/// The longest wait between commits, in ticks (8 s).
const MAX_COMMIT_TICKS: u64 = 32;

/// Ticks until the next commit after one that took `took`.
fn commit_interval(took: std::time::Duration) -> u64 {
    let share = (took * COMMIT_SHARE).as_millis() as u64;
    share
        .div_ceil(super::TICK.as_millis() as u64)
        .clamp(COMMIT_TICKS, MAX_COMMIT_TICKS)
}

impl AppState {
    /// Follows the inputs: the table starts at the newest row and sticks to it.
    pub fn follow_inputs(&mut self) {
        self.follow.active = true;
        self.follow.sticking = true;
    }

    /// Whether the events table sticks to its newest row.
    pub fn sticking(&self) -> bool {
        self.follow.active && self.follow.sticking
    }

    /// Time passed: commit what was appended (at most once a second or at the pace slow
    /// commits allow, and not while the view of the last commit is still being computed, so
    /// commits never pile up behind a slow view), update the rate, and start a detection run
    /// if one is due.
    pub(super) fn on_tick(&mut self, effects: &mut Vec<Effect>) {
        self.ticks += 1;
        let due = self.ticks >= self.committed_at + self.commit_every.max(COMMIT_TICKS)
            && !self.view_pending();
        if self.store.needs_commit() && (due || self.commit_now) {
            self.commit_arrivals(effects);
        }
        let now = Instant::now();
        if self.phase == LoadPhase::Following {
            self.follow.shown_rate = self.follow.rate.per_second(now);
        }
        self.run_detectors_if_due(now, effects);
    }

    /// Events arrived from the loader.
    pub(super) fn note_arrivals(&mut self, events: usize) {
        if self.phase == LoadPhase::Following {
            self.follow.rate.record(Instant::now(), events as u64);
        }
    }

    /// Everything that existed was read: commit it; once committed the load is finished
    /// (the status bar says so only when every event read is in the table), and the
    /// detectors run as soon as they are free; when following, arrivals are counted from then.
    pub(super) fn load_finished(&mut self, effects: &mut Vec<Effect>) {
        if self.store.needs_commit() || self.store.is_committing() {
            // Now, or as soon as a commit in progress is finished.
            self.commit_now = true;
            self.commit_arrivals(effects);
        } else {
            self.loaded();
            self.frame_changed(effects);
        }
    }

    /// The load's last commit is in place.
    fn loaded(&mut self) {
        self.phase = if self.follow.active {
            self.follow.rate.start(Instant::now());
            LoadPhase::Following
        } else {
            LoadPhase::Loaded
        };
        self.detection.urgent = true;
        self.set_pages();
    }

    /// Starts merging the appended events into the frame on a worker; the UI thread keeps
    /// its keys and draws the frame it has until [`AppState::committed`] puts the new one in.
    pub(super) fn commit_arrivals(&mut self, effects: &mut Vec<Effect>) {
        let Some(work) = self.store.begin_commit() else {
            return; // one is in progress: `commit_now` brings the next
        };
        self.commit_now = false;
        self.committed_at = self.ticks;
        effects.push(Effect::Run(Job::Commit(Box::new(work))));
    }

    /// A commit finished: its frame goes in place, the selection keeping its event when the
    /// table keeps its place (by its row when the rows before stayed put, by its record when
    /// the frame was re-sorted).
    pub(super) fn committed(
        &mut self,
        result: Result<Committed, Box<CommitFailed>>,
        took: Duration,
        effects: &mut Vec<Effect>,
    ) {
        self.commit_every = commit_interval(took);
        self.last_commit = Some(took);
        match result {
            Ok(committed) => {
                let keep = self.follow.active && !self.follow.sticking;
                let selected = if keep { self.selected_row() } else { None };
                let record = selected.and_then(|row| Anchor::record(self.store.frame(), row));
                let change = self.store.finish_commit(committed);
                let moved = change.appended.is_none();
                self.events.anchor = match selected {
                    Some(row) if !moved => Some(Anchor::Row(row)),
                    Some(_) => record,
                    None => None,
                };
                if moved {
                    // Findings of earlier frames name rows that no longer hold their events.
                    self.rows_moved_at = self.frame_gen + 1;
                }
                let last = self.phase == LoadPhase::Loading
                    && self.store.is_finished()
                    && !self.store.needs_commit();
                if last {
                    self.commit_now = false;
                    self.loaded();
                }
                self.frame_changed(effects);
            }
            Err(failed) => {
                let e = self.store.commit_failed(*failed);
                self.message = Some(escape_control(&e.to_string()).into_owned());
            }
        }
        if self.commit_now {
            self.commit_arrivals(effects);
        }
    }

    /// Starts a detection run over the frame if one is due.
    pub(super) fn run_detectors_if_due(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        if !self.detection.due(now, self.findings.running) {
            return;
        }
        let d = &mut self.detection;
        d.wanted = false;
        d.urgent = false;
        d.last_start = Some(now);
        d.run_after_load = self.phase == LoadPhase::Following;
        d.run_announces = self.follow.seeded;
        self.findings.running = true;
        effects.push(Effect::Run(Job::Detect(DetectJob {
            frame_gen: self.frame_gen,
            frame: self.store.frame().clone(),
            config: std::sync::Arc::clone(&self.settings.config),
            tz: self.settings.tz.clone(),
            store: (!self.settings.config.detect.sigma.is_empty())
                .then(|| Box::new(self.store.snapshot())),
        })));
    }

    /// Notes a run's findings for announcing: the runs until the first one started after the
    /// initial load only learn what exists.
    pub(super) fn announce_findings(&mut self, findings: &[Finding], identities: &[u64]) {
        if !self.follow.active {
            return;
        }
        self.follow
            .note_findings(findings, identities, self.detection.run_announces);
        if self.detection.run_after_load {
            self.follow.seeded = true;
        }
    }

    /// Whether the findings' rows still hold their events (no re-sort since their run).
    pub(super) fn findings_rows_valid(&self, frame_gen: Option<u64>) -> bool {
        frame_gen.is_some_and(|g| g >= self.rows_moved_at)
    }

    /// A new view of the events arrived: when following, the selection goes to the newest
    /// row, or stays on its event (on the same screen line) when the user scrolled away.
    pub(super) fn place_cursor(&mut self, anchored: Option<usize>) {
        // Back from a drill-down: the event selected before, on the same line.
        if let Some(line) = self.events.restore_line.take() {
            if let Some(at) = anchored {
                let cursor = &mut self.events.cursor;
                cursor.selected = at;
                cursor.offset = at.saturating_sub(line);
            }
            return;
        }
        if !self.follow.active {
            return;
        }
        let cursor = &mut self.events.cursor;
        if self.follow.sticking {
            cursor.selected = self.events.matching.saturating_sub(1);
        } else if let Some(at) = anchored {
            let line = cursor.selected.saturating_sub(cursor.offset);
            cursor.selected = at;
            cursor.offset = at.saturating_sub(line);
        }
    }

    /// The events cursor moved: at the newest row it sticks there, elsewhere it stays put.
    pub(super) fn events_scrolled(&mut self) {
        if self.follow.active {
            self.follow.sticking = self.events.cursor.selected + 1 >= self.events.matching;
        }
    }

    /// `F`: jump to the newest row and stick to it, or stop sticking.
    pub(super) fn toggle_follow(&mut self, effects: &mut Vec<Effect>) {
        if !self.follow.active {
            self.message = Some("not following the inputs (start trailscope with -f)".into());
            return;
        }
        self.follow.sticking = !self.follow.sticking;
        if self.follow.sticking {
            self.events.cursor.selected = self.events.matching.saturating_sub(1);
            self.refresh_window();
            self.sync_detail(effects);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn slow_commits_come_less_often() {
        assert_eq!(commit_interval(Duration::from_millis(5)), COMMIT_TICKS);
        assert_eq!(commit_interval(Duration::from_millis(100)), COMMIT_TICKS);
        // 300 ms: the next one 3 s later (twelve ticks).
        assert_eq!(commit_interval(Duration::from_millis(300)), 12);
        assert_eq!(commit_interval(Duration::from_secs(10)), MAX_COMMIT_TICKS);
    }
}
