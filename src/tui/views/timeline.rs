//! The timeline: one lane per actor (or identity) over time buckets, findings marked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use crate::schema::{ACTOR, IDENTITY};

use super::super::state::{AppState, LANE_LABEL_WIDTH, timeline_columns};
use super::{Theme, draw_message_below_header, empty_text, put};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

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
    let label = |i: usize| view.bucket_labels.get(i).cloned().unwrap_or_default();
    let info = format!(
        "bucket {}   {} → {}   +/- zoom  ←/→ pan  Enter: events of the {}  i: by {}",
        query_bucket_label(view.timeline.bucket),
        label(start),
        label(end.saturating_sub(1)),
        timeline.lane_column(),
        if timeline.by_identity {
            ACTOR
        } else {
            IDENTITY
        },
    );
    put(buf, area, area.x, area.y, area.width, &info, theme.muted());
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
    // Axis: a tick every 10 buckets.
    for n in (0..end - start).step_by(10) {
        put(buf, area, bucket_x(n), axis_y, 1, "┬", theme.muted());
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
            &format!("{prefix}{}", view.labels[lane_index]),
            style,
        );
        let lane_max = lane.counts.iter().copied().max().unwrap_or(0).max(1);
        for (n, i) in (start..end).enumerate() {
            let x = bucket_x(n);
            let count = lane.counts.get(i).copied().unwrap_or(0);
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
                    theme.bar(),
                );
            }
        }
    }
}

fn query_bucket_label(bucket: i64) -> String {
    crate::analysis::bucket_label(bucket)
}
