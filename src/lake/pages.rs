//! A lake view cut into pages of a bounded number of events, for the TUI: only one page is
//! read into memory at a time. Pages are time windows (each page's events are those of the
//! view with `start <= time < end`, the windows covering all time between them), planned
//! from the footers alone: each row group the view can match counts as its events spread
//! evenly over its time statistics. Events without a time make a last page of their own.

use std::path::{Path, PathBuf};

use crate::analysis::ViewSpec;
use crate::store::FrameStore;
use crate::text::{format_time, thousands};
use crate::{Error, Result};

use super::query::{self, LakeView, Window};
use super::scan::ScanStats;

/// Events per page unless told otherwise (`--lake-page`).
pub const DEFAULT_PAGE_EVENTS: u64 = 1_000_000;

/// One page of a [`LakePages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The part of the view's events it holds (None: all of them, the only page).
    pub window: Option<Window>,
    /// Events the view's row groups hold in its window, from the footers (their events
    /// counted as spread evenly over their time range): about what a page without a filter
    /// shows, and more than one with a filter shows.
    pub estimate: u64,
}

/// A lake view and its pages.
#[derive(Debug, Clone)]
pub struct LakePages {
    root: PathBuf,
    /// The view opened once (files listed, footers read): every page narrows a copy, so
    /// turning a page reads that page's row groups and nothing else, and the pages and
    /// their contents come from the same listing.
    lake: LakeView,
    /// Whether the view has a filter or time range (page sizes are then upper bounds).
    filtered: bool,
    pages: Vec<Page>,
}

impl LakePages {
    /// Plans the pages of `view` over the lake at `root`, each of about `size` events the
    /// view's row groups hold (a filter matches at most these); one page when they all fit.
    pub fn plan(root: &Path, view: &ViewSpec, size: u64) -> Result<LakePages> {
        if size == 0 {
            return Err(Error::Invalid(
                "a lake page holds at least one event".into(),
            ));
        }
        let lake = LakeView::open(root, view)?;
        let groups = lake.candidate_groups()?;
        let total: u64 = groups.iter().map(|g| g.events).sum();
        let timed: Vec<(i64, i64, u64)> = (groups.iter())
            .filter_map(|g| g.times.map(|(lo, hi)| (lo, hi, g.events)))
            .collect();
        let untimed: u64 = (groups.iter()).filter(|g| !g.dated).map(|g| g.events).sum();
        // A row group of a dated partition without time statistics cannot be placed in a
        // window: rather than lose its events, the view stays one page.
        let unplaceable = (groups.iter()).any(|g| g.dated && g.times.is_none());
        let pages = if total <= size || unplaceable {
            vec![Page {
                window: None,
                estimate: total,
            }]
        } else {
            let mut pages: Vec<Page> = cut(&timed, size)
                .into_iter()
                .map(|(start, end, estimate)| Page {
                    window: Some(Window::Times(start, end)),
                    estimate,
                })
                .collect();
            if untimed > 0 {
                pages.push(Page {
                    window: Some(Window::Untimed),
                    estimate: untimed,
                });
            }
            pages
        };
        Ok(LakePages {
            root: root.to_path_buf(),
            lake,
            filtered: !view.filter.trim().is_empty() || view.range.is_some(),
            pages,
        })
    }

    /// The pages, in time order (events without a time last).
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }

    /// How many pages there are.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether there is no page (never: an empty view is one empty page).
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The lake.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The events of page `index` the view matches, as a store (their original records read
    /// from the lake when shown), and what was read.
    pub fn load(&self, index: usize) -> Result<(FrameStore, ScanStats)> {
        let page = self.pages.get(index).ok_or_else(|| {
            Error::Invalid(format!(
                "no page {} of the lake's {} pages",
                index + 1,
                self.pages.len()
            ))
        })?;
        let mut lake = self.lake.clone();
        if let Some(window) = page.window {
            lake.set_window(window)?;
        }
        query::store_of(&mut lake)
    }

    /// What page `index` holds, for a status line: `page 2/14: 2024-03-20 06:00:00 →
    /// 2024-03-21 00:00:00` (times in `tz`).
    pub fn describe(&self, index: usize, tz: &jiff::tz::TimeZone) -> String {
        let Some(page) = self.pages.get(index) else {
            return String::new();
        };
        let count = format!("page {}/{}", index + 1, self.pages.len());
        match page.window {
            None => count,
            Some(Window::Untimed) => format!("{count}: events without a time"),
            Some(Window::Times(start, end)) => {
                let at = |t: i64, open: &str| match t {
                    i64::MIN | i64::MAX => open.to_string(),
                    t => format_time(t, tz),
                };
                format!(
                    "{count}: {} → {} (about {} events{})",
                    at(start, "start"),
                    at(end, "end"),
                    thousands(page.estimate),
                    if self.filtered {
                        " before the filter"
                    } else {
                        ""
                    }
                )
            }
        }
    }
}

/// Events of `groups` (each `(min, max, events)`, times inclusive, its events spread evenly
/// over them) before `t`.
fn before(groups: &[(i64, i64, u64)], t: i64) -> f64 {
    groups
        .iter()
        .map(|&(lo, hi, n)| {
            let span = (hi as f64 - lo as f64) + 1.0;
            let part = ((t as f64 - lo as f64) / span).clamp(0.0, 1.0);
            n as f64 * part
        })
        .sum()
}

/// Time windows `[start, end)` of about `size` events each that together cover all time
/// (the first starts at `i64::MIN`, the last ends at `i64::MAX`), with each window's
/// estimated events. [`before`] is linear between the groups' ends, so a window's end is
/// found exactly by interpolating between the two ends around it.
fn cut(groups: &[(i64, i64, u64)], size: u64) -> Vec<(i64, i64, u64)> {
    let mut ends: Vec<i64> = groups
        .iter()
        .flat_map(|&(lo, hi, _)| [lo, hi.saturating_add(1)])
        .collect();
    ends.sort_unstable();
    ends.dedup();
    let mut windows = Vec::new();
    let mut start = i64::MIN;
    let mut done = 0.0;
    let total = before(groups, i64::MAX);
    loop {
        let target = done + size as f64;
        // The first end at which the count reaches the target.
        let i = ends.partition_point(|&t| before(groups, t) < target);
        let Some(&upper) = ends.get(i) else {
            windows.push((start, i64::MAX, (total - done).round().max(0.0) as u64));
            break;
        };
        let lower = if i > 0 { ends[i - 1].max(start) } else { start };
        let (f_lo, f_hi) = (before(groups, lower), before(groups, upper));
        let mut end = if f_hi > f_lo && lower > i64::MIN {
            lower + ((target - f_lo) / (f_hi - f_lo) * (upper - lower) as f64) as i64
        } else {
            upper
        };
        // Whole seconds read better, when that still moves forward.
        let second = end - end.rem_euclid(1_000_000);
        if second > start && second > lower {
            end = second;
        }
        let end = end.clamp(start.saturating_add(1), upper);
        let reached = before(groups, end);
        windows.push((start, end, (reached - done).round().max(0.0) as u64));
        if end >= *ends.last().unwrap_or(&end) {
            // Nothing is left after the last group's end: the last window is open.
            if let Some(last) = windows.last_mut() {
                last.1 = i64::MAX;
            }
            break;
        }
        start = end;
        done = reached;
    }
    // A window that holds nothing (before the first event, or short of a dense instant)
    // joins the next one.
    let mut merged: Vec<(i64, i64, u64)> = Vec::with_capacity(windows.len());
    let mut from = None;
    for (start, end, n) in windows {
        let start = from.take().unwrap_or(start);
        if n == 0 && end != i64::MAX {
            from = Some(start);
        } else {
            merged.push((start, end, n));
        }
    }
    merged
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_all_time_and_hold_about_a_page_each() {
        // Three overlapping providers' row groups over a day, 30,000 events each.
        let hour = 3_600_000_000i64;
        let mut groups = Vec::new();
        for provider in 0..3 {
            for h in 0..24 {
                let lo = h * hour + provider * 1000;
                groups.push((lo, lo + hour - 1, 30_000));
            }
        }
        let windows = cut(&groups, 250_000);
        assert_eq!(windows.first().map(|w| w.0), Some(i64::MIN));
        assert_eq!(windows.last().map(|w| w.1), Some(i64::MAX));
        for pair in windows.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "windows meet: {windows:?}");
        }
        let total: u64 = windows.iter().map(|w| w.2).sum();
        assert!(total.abs_diff(3 * 24 * 30_000) <= windows.len() as u64);
        for w in &windows[..windows.len() - 1] {
            assert!(w.2.abs_diff(250_000) <= 30_000, "{w:?}");
        }
        assert_eq!(windows.len(), (3 * 24 * 30_000usize).div_ceil(250_000));
    }

    #[test]
    fn one_dense_instant_still_moves_forward() {
        // Every event at the same microsecond: one window, never an endless loop.
        let groups = vec![(5, 5, 1_000_000); 4];
        let windows = cut(&groups, 1000);
        assert_eq!(windows.len(), 1, "{windows:?}");
        assert_eq!(windows[0].0, i64::MIN);
        assert_eq!(windows.last().map(|w| w.1), Some(i64::MAX));
    }
}
