//! The report's timeline: an inline SVG bar chart for HTML (stacked by outcome, failures
//! on top in red) and a text sparkline for Markdown, both from an [`analysis::Timeline`].

use std::fmt::Write;

use crate::analysis::{self, Key, Timeline};
use crate::text::escape_html;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// The chart as an `<svg>` element with a title and axis labels (all text escaped); `prefix`
/// goes before its title's id, unique when a page holds several charts.
pub fn chart(timeline: &Timeline, prefix: &str) -> String {
    let mut out = String::new();
    let n = timeline.totals.len();
    let max = timeline.totals.iter().copied().max().unwrap_or(0);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{prefix}timeline-title"><title id="{prefix}timeline-title">Matching events per {}</title>"#,
        escape_html(&analysis::bucket_label(timeline.bucket))
    );
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let _ = write!(
        out,
        r#"<line x1="{LEFT}" y1="{y}" x2="{x2}" y2="{y}" class="axis"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y}" class="axis"/>"#,
        y = TOP + plot_h,
        x2 = LEFT + plot_w
    );
    let _ = write!(
        out,
        r#"<text x="{x}" y="{y}" class="label" text-anchor="end">{max}</text><text x="{x}" y="{y0}" class="label" text-anchor="end">0</text>"#,
        x = LEFT - 4.0,
        y = TOP + 10.0,
        y0 = TOP + plot_h
    );
    if n > 0 && max > 0 {
        let bar = plot_w / n as f64;
        let gap = if bar > 4.0 { 1.0 } else { 0.0 };
        // Lanes bottom-up: success, unknown and other, failures last (on top).
        let mut lanes: Vec<&analysis::Lane> = timeline.lanes.iter().collect();
        lanes.sort_by_key(|l| match &l.key {
            Key::Value(v) if v == "failure" => 2,
            Key::Value(v) if v == "success" => 0,
            _ => 1,
        });
        for i in 0..n {
            let x = LEFT + i as f64 * bar;
            let mut y = TOP + plot_h;
            for lane in &lanes {
                let count = lane.counts.get(i).copied().unwrap_or(0);
                if count == 0 {
                    continue;
                }
                let h = count as f64 / max as f64 * plot_h;
                y -= h;
                let class = match &lane.key {
                    Key::Value(v) if v == "failure" => "failure",
                    Key::Value(v) if v == "success" => "success",
                    _ => "unknown",
                };
                let _ = write!(
                    out,
                    r#"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" class="{class}"><title>{} {}: {count}</title></rect>"#,
                    escape_html(&timeline.label(i)),
                    escape_html(lane.key.label()),
                    w = (bar - gap).max(0.5),
                );
            }
        }
        let _ = write!(
            out,
            r#"<text x="{LEFT}" y="{y}" class="label">{}</text><text x="{x}" y="{y}" class="label" text-anchor="end">{}</text>"#,
            escape_html(&timeline.label(0)),
            escape_html(&timeline.label(n - 1)),
            y = HEIGHT - 8.0,
            x = LEFT + plot_w
        );
    }
    out.push_str("</svg>");
    out
}

/// The totals as a sparkline of block characters, one per bucket (at most `width`,
/// neighbouring buckets summed).
pub fn sparkline(timeline: &Timeline, width: usize) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let totals = &timeline.totals;
    if totals.is_empty() || width == 0 {
        return String::new();
    }
    let per = totals.len().div_ceil(width);
    let sums: Vec<u64> = totals.chunks(per).map(|c| c.iter().sum()).collect();
    let max = sums.iter().copied().max().unwrap_or(0).max(1);
    sums.iter()
        .map(|&s| {
            if s == 0 {
                ' '
            } else {
                let i = ((s as f64 / max as f64) * 7.0).round() as usize;
                BLOCKS[i.min(7)]
            }
        })
        .collect()
}
