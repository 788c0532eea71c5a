//! The timeline: one lane per actor (or identity) over time buckets, findings marked, a time
//! axis with labels, and the bucket cursor (with a marked range).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use crate::analysis::bucket_label;
use crate::schema::{ACTOR, IDENTITY};
use crate::text::thousands;

use super::super::model::TimelineView;
use super::super::state::{AppState, LANE_LABEL_WIDTH, timeline_columns};
use super::{Theme, draw_message_below_header, empty_text, put, value_label};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The least room between two axis labels.
const LABEL_GAP: usize = 2;

pub(super) fn draw_timeline(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let timeline = &state.timeline;
    let buf = frame.buffer_mut();
    let Some(view) = &timeline.result else {
        put(
            buf,
            area,
            area.x,
            area.y,
            area.width,
            "counting…",
            theme.muted(),
        );
        return;
    };
    let visible = timeline_columns(area.width);
    let buckets = view.timeline.starts.len();
    let start = timeline.start.min(buckets);
    let end = (start + visible).min(buckets);
    put(
        buf,
        area,
        area.x,
        area.y,
        area.width,
        &info_line(state, view),
        theme.muted(),
    );
    if view.labels.is_empty() {
        draw_message_below_header(frame, area, &empty_text(state, "events"), theme);
        return;
    }
    let label_w = LANE_LABEL_WIDTH.min(area.width);
    let axis_y = area.y.saturating_add(1);
    put(
        buf,
        area,
        area.x,
        axis_y,
        label_w,
        timeline.lane_column(),
        theme.header(),
    );
    // The column of the n-th bucket shown (saturating: `put` drops what is off the area).
    let bucket_x = |n: usize| {
        area.x
            .saturating_add(label_w)
            .saturating_add(1)
            .saturating_add(u16::try_from(n).unwrap_or(u16::MAX))
    };
    let selection = state.timeline_range();
    let in_selection = |i: usize| selection.is_some_and(|(a, b)| (a..=b).contains(&i));
    // Axis: the selection underlined, then labels at ticks (`┬` and the time after it).
    for (n, i) in (start..end).enumerate() {
        if in_selection(i) {
            put(buf, area, bucket_x(n), axis_y, 1, "▔", theme.header());
        }
    }
    for (i, text) in axis_labels(view, start, end) {
        let n = i - start;
        let room = (end - i).min(u16::MAX as usize) as u16;
        put(buf, area, bucket_x(n), axis_y, 1, "┬", theme.muted());
        put(
            buf,
            area,
            bucket_x(n).saturating_add(1),
            axis_y,
            room.saturating_sub(1),
            &text,
            theme.muted(),
        );
    }
    for (n, lane_index) in (timeline.cursor.offset..view.labels.len()).enumerate() {
        let y = area.y.saturating_add(2).saturating_add(n as u16);
        if n >= usize::from(u16::MAX) || y >= area.bottom() {
            break;
        }
        let Some(lane) = view.timeline.lanes.get(lane_index) else {
            break;
        };
        let selected = lane_index == timeline.cursor.selected;
        let marks = view.marks.get(lane_index);
        let flagged = marks.is_some_and(|m| !m.is_empty());
        let prefix = match (selected, flagged) {
            (true, true) => "▶!",
            (true, false) => "▶ ",
            (false, true) => " !",
            (false, false) => "  ",
        };
        let style = if selected {
            theme.header().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        put(
            buf,
            area,
            area.x,
            y,
            label_w,
            &format!(
                "{prefix}{}",
                value_label(
                    state,
                    timeline.lane_column(),
                    &view.labels[lane_index],
                    label_w.saturating_sub(2)
                )
            ),
            style,
        );
        let lane_max = lane.counts.iter().copied().max().unwrap_or(0).max(1);
        for (n, i) in (start..end).enumerate() {
            let x = bucket_x(n);
            let count = lane.counts.get(i).copied().unwrap_or(0);
            // The cursor: the selected lane's bucket in reverse video (a dot when empty).
            let at_cursor = selected && in_selection(i);
            let cursor_style = |s: Style| {
                if at_cursor {
                    s.add_modifier(Modifier::REVERSED)
                } else {
                    s
                }
            };
            if let Some(severity) = marks.and_then(|m| m.get(&i)) {
                put(
                    buf,
                    area,
                    x,
                    y,
                    1,
                    "!",
                    theme.severity(*severity).add_modifier(Modifier::REVERSED),
                );
            } else if count > 0 {
                let level = ((count * 8).div_ceil(lane_max)).clamp(1, 8) as usize;
                put(
                    buf,
                    area,
                    x,
                    y,
                    1,
                    &BARS[level - 1].to_string(),
                    cursor_style(theme.bar()),
                );
            } else if at_cursor {
                put(buf, area, x, y, 1, "·", cursor_style(theme.muted()));
            }
        }
    }
}

/// The first line: the bucket size, the selection's time and its count on the selected lane,
/// and the keys.
fn info_line(state: &AppState, view: &TimelineView) -> String {
    let timeline = &state.timeline;
    let Some((first, last)) = state.timeline_range() else {
        return format!("bucket {}", bucket_label(view.timeline.bucket));
    };
    let from = view.bucket_labels.get(first).cloned().unwrap_or_default();
    let to = view
        .timeline
        .starts
        .get(last)
        .map(|s| crate::analysis::format_local(s + view.timeline.bucket, view.timeline.bucket))
        .unwrap_or_default();
    let lane = view.timeline.lanes.get(timeline.cursor.selected);
    let count: u64 = lane.map_or(0, |l| {
        l.counts
            .get(first..=last)
            .map_or(0, |c| c.iter().copied().sum())
    });
    let name = view
        .labels
        .get(timeline.cursor.selected)
        .map(|l| value_label(state, timeline.lane_column(), l, 24))
        .unwrap_or_default();
    format!(
        "bucket {}  ▸ {} → {} · {}: {} event{}   ←/→ bucket  Space mark  Enter events  z zoom  +/- zoom  i: by {}",
        bucket_label(view.timeline.bucket),
        from,
        short_end(&from, &to),
        name,
        thousands(count),
        if count == 1 { "" } else { "s" },
        if timeline.by_identity {
            ACTOR
        } else {
            IDENTITY
        },
    )
}

/// The end of a range without the date when it is the start's.
fn short_end<'a>(from: &str, to: &'a str) -> &'a str {
    match (from.split_once(' '), to.split_once(' ')) {
        (Some((day_a, _)), Some((day_b, time))) if day_a == day_b => time,
        _ => to,
    }
}

/// Axis labels for buckets `start..end`: a label every few buckets, at round times when the
/// bucket allows, as short as it can be (the date only when it changes).
fn axis_labels(view: &TimelineView, start: usize, end: usize) -> Vec<(usize, String)> {
    let bucket = view.timeline.bucket;
    let full = |i: usize| view.bucket_labels.get(i).cloned().unwrap_or_default();
    // `2024-03-20 00:40` -> `03-20 00:40`: the year is in the status bar.
    let widest = full(start).len().saturating_sub(5).max(5);
    let step = (widest + LABEL_GAP).max(4);
    let mut labels = Vec::new();
    let mut last_day = String::new();
    let mut i = start;
    while i < end {
        let label = full(i);
        let (day, time) = label.split_once(' ').unwrap_or((label.as_str(), ""));
        let day = day.get(5..).unwrap_or(day);
        let text = if time.is_empty() {
            day.to_string()
        } else if day != last_day || bucket >= crate::time::HOUR {
            format!("{day} {time}")
        } else {
            time.to_string()
        };
        last_day = day.to_string();
        labels.push((i, text));
        i += step;
    }
    labels
}
