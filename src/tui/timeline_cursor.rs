//! The timeline's bucket cursor: moving it (the view pans to keep it on screen), marking a
//! range of buckets, and turning the bucket or range into filter terms (Enter narrows to it
//! on one lane, `z` on every lane).

use crate::text::format_time;

use super::action::Effect;
use super::state::AppState;

impl AppState {
    /// Moves the bucket cursor by `delta` buckets (0: just keeps it valid and on screen).
    pub(super) fn move_bucket(&mut self, delta: i64) {
        let buckets = self
            .timeline
            .result
            .as_ref()
            .map_or(0, |t| t.timeline.starts.len());
        let visible = self.timeline_columns();
        let timeline = &mut self.timeline;
        let last = buckets.saturating_sub(1) as i64;
        timeline.bucket = (timeline.bucket as i64 + delta).clamp(0, last.max(0)) as usize;
        if timeline.bucket < timeline.start {
            timeline.start = timeline.bucket;
        } else if timeline.bucket >= timeline.start + visible {
            timeline.start = timeline.bucket + 1 - visible;
        }
        timeline.start = timeline.start.min(buckets.saturating_sub(visible));
    }

    /// The selected lane's counts per bucket.
    fn lane_counts(&self) -> Option<&[u64]> {
        let view = self.timeline.result.as_ref()?;
        let lane = view.timeline.lanes.get(self.timeline.cursor.selected)?;
        Some(&lane.counts)
    }

    /// `]` / `[`: the bucket cursor to the next (or previous) bucket with events on the lane.
    pub(super) fn next_active_bucket(&mut self, step: i32) {
        let Some(counts) = self.lane_counts() else {
            return;
        };
        let from = self.timeline.bucket;
        let found = if step > 0 {
            (from + 1..counts.len()).find(|&i| counts[i] > 0)
        } else {
            (0..from).rev().find(|&i| counts[i] > 0)
        };
        match found {
            Some(i) => self.move_bucket(i as i64 - from as i64),
            None => self.message = Some("no more events on this lane that way".into()),
        }
    }

    /// `*`: the bucket cursor to the lane's busiest bucket (the first of equals).
    pub(super) fn busiest_bucket(&mut self) {
        let Some(counts) = self.lane_counts() else {
            return;
        };
        let Some((i, _)) = counts
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
        else {
            return;
        };
        let from = self.timeline.bucket;
        self.move_bucket(i as i64 - from as i64);
    }

    /// Space: marks the bucket under the cursor as one end of a range, or clears the mark.
    pub(super) fn mark_bucket(&mut self) {
        self.timeline.mark = match self.timeline.mark {
            Some(_) => None,
            None => Some(self.timeline.bucket),
        };
        self.message = Some(match self.timeline.mark {
            Some(_) => "marked: move with ←/→ to select a range; Enter or z narrows to it".into(),
            None => "mark cleared".into(),
        });
    }

    /// The selected buckets: from the mark to the cursor, or the cursor's bucket.
    pub fn timeline_range(&self) -> Option<(usize, usize)> {
        let view = self.timeline.result.as_ref()?;
        let buckets = view.timeline.starts.len();
        if buckets == 0 {
            return None;
        }
        let cursor = self.timeline.bucket.min(buckets - 1);
        let mark = self.timeline.mark.unwrap_or(cursor).min(buckets - 1);
        Some((mark.min(cursor), mark.max(cursor)))
    }

    /// The filter terms selecting the selected buckets' time (`after:… before:…`, in the
    /// display zone, as the filter reads them).
    pub fn timeline_selection(&self) -> Option<String> {
        let view = self.timeline.result.as_ref()?;
        let (first, last) = self.timeline_range()?;
        let start = *view.timeline.starts.get(first)?;
        let end = view.timeline.starts.get(last)? + view.timeline.bucket;
        // Bucket starts are local wall-clock times counted as if UTC: formatting them in
        // UTC gives the local time the filter reads in the display zone.
        let utc = jiff::tz::TimeZone::UTC;
        Some(format!(
            "after:\"{}\" before:\"{}\"",
            format_time(start, &utc),
            format_time(end, &utc)
        ))
    }

    /// `z`: every lane's events in the selected buckets; the timeline zooms to fit them.
    pub(super) fn zoom_to_selection(&mut self, effects: &mut Vec<Effect>) {
        let Some(range) = self.timeline_selection() else {
            return;
        };
        let text = crate::analysis::filter::drill::and_term(&self.filter.text, &range);
        self.push_back();
        self.timeline.zoom = None;
        self.timeline.mark = None;
        self.timeline.start = 0;
        self.timeline.bucket = 0;
        self.set_filter(text, effects);
        self.message = Some("zoomed to the selection (Esc goes back)".into());
    }
}
