//! Turning the pages of a lake's events (`trailscope --lake`): the next page is read on a
//! worker while the current one stays shown, then replaces it; the filter, columns and
//! view stay as they were.

use std::time::Instant;

use crate::text::escape_control;

use super::action::Effect;
use super::jobs::{Job, LakePageJob, PageEvents};
use super::state::{AppState, Cursor, DetailModel};

impl AppState {
    /// Asks for the page `delta` pages from the one shown (or being read).
    pub(super) fn turn_lake_page(&mut self, delta: i32, effects: &mut Vec<Effect>) {
        let Some(lake) = &mut self.lake else {
            self.message = Some("pages are for a lake's events (trailscope --lake DIR)".into());
            return;
        };
        let from = lake.reading.unwrap_or(lake.current) as i64;
        let last = lake.pages.len().saturating_sub(1) as i64;
        let to = (from + i64::from(delta)).clamp(0, last) as usize;
        if to as i64 == from {
            self.message = Some(if delta > 0 {
                "this is the lake's last page".into()
            } else {
                "this is the lake's first page".into()
            });
            return;
        }
        lake.reading = Some(to);
        self.message = Some(format!(
            "reading {}",
            lake.pages.describe(to, &self.settings.tz)
        ));
        effects.push(Effect::Run(Job::LakePage(LakePageJob {
            pages: std::sync::Arc::clone(&lake.pages),
            index: to,
        })));
    }

    /// A page was read: its events replace the shown page's (if it is still the one
    /// wanted), and everything computed over them starts again.
    pub(super) fn lake_page_read(
        &mut self,
        index: usize,
        result: Result<PageEvents, String>,
        effects: &mut Vec<Effect>,
    ) {
        let Some(lake) = &mut self.lake else {
            return;
        };
        if lake.reading != Some(index) {
            return;
        }
        lake.reading = None;
        let store = match result {
            Ok(PageEvents(store)) => *store,
            Err(e) => {
                self.message = Some(format!("reading the page failed: {}", escape_control(&e)));
                return;
            }
        };
        lake.current = index;
        // Rows of the frames before name other events from now on.
        lake.since = self.frame_gen + 1;
        self.rows_moved_at = self.frame_gen + 1;
        self.message = Some(lake.pages.describe(index, &self.settings.tz));
        effects.push(Effect::discard(std::mem::replace(&mut self.store, store)));
        self.events.anchor = None;
        self.events.cursor = Cursor {
            page: self.events.cursor.page,
            ..Cursor::default()
        };
        self.detail = DetailModel::default();
        let findings = &mut self.findings;
        effects.push(Effect::discard((
            std::mem::take(&mut findings.rows),
            std::mem::take(&mut findings.flags),
            std::mem::take(&mut findings.list),
            std::mem::take(&mut self.incidents.list),
        )));
        findings.frame_gen = None;
        self.refilter_findings();
        self.frame_changed(effects);
        self.run_detectors_if_due(Instant::now(), effects);
    }

    /// Whether a detection run over frame generation `frame_gen` judged the page shown.
    pub(super) fn of_this_page(&self, frame_gen: u64) -> bool {
        self.lake.as_ref().is_none_or(|l| frame_gen >= l.since)
    }
}
