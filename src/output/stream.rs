//! Events printed one line each as they arrive (`trailscope tail`): fixed-width text columns,
//! so lines printed minutes apart still line up, or one JSON object per line.

use polars::prelude::DataFrame;

use crate::output::table::{Cell, Grid};
use crate::schema::{self, TIME};
use crate::text;

/// How `tail` prints events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// Fixed-width text columns.
    Table,
    /// One JSON object per event, every column (the `query --format ndjson` contract).
    Ndjson,
}

/// Widths of the text columns, in [`schema::DEFAULT_COLUMNS`] order (the last is not cut).
const WIDTHS: [usize; 8] = [25, 12, 32, 40, 8, 39, 48, 0];

/// An event ready to print: its time (for ordering) and its line without the newline.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamLine {
    /// The event's time, µs since the epoch (UTC).
    pub time: Option<i64>,
    /// The printed line.
    pub text: String,
}

/// The header line of the text format.
pub fn header(format: StreamFormat) -> Option<String> {
    (format == StreamFormat::Table).then(|| {
        let cells: Vec<String> = schema::DEFAULT_COLUMNS
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        fixed(&cells)
    })
}

/// The lines of the events of `frame` (which holds [`schema::DEFAULT_COLUMNS`] for the text
/// format, the columns to print for NDJSON), in its order; log values escaped.
pub fn lines(
    frame: &DataFrame,
    format: StreamFormat,
    tz: &jiff::tz::TimeZone,
) -> crate::Result<Vec<StreamLine>> {
    let grid = Grid::from_frame(frame)?;
    let time_at = grid.headers.iter().position(|h| h == TIME);
    Ok(grid
        .rows
        .iter()
        .map(|row| {
            let time = time_at.and_then(|i| match row.get(i) {
                Some(Cell::Time(t)) => Some(*t),
                _ => None,
            });
            let text = match format {
                // JSON escapes control characters itself.
                StreamFormat::Ndjson => grid.object(row).to_string(),
                StreamFormat::Table => {
                    let cells: Vec<String> = row.iter().map(|c| c.display(tz)).collect();
                    fixed(&cells)
                }
            };
            StreamLine { time, text }
        })
        .collect())
}

/// Cells padded or cut to their column widths, control characters escaped.
fn fixed(cells: &[String]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let shown = text::escape_control(cell);
        let width = WIDTHS.get(i).copied().unwrap_or(0);
        if width == 0 {
            line.push_str(&shown);
            continue;
        }
        let count = shown.chars().count();
        if count > width {
            line.extend(shown.chars().take(width - 1));
            line.push('…');
        } else {
            line.push_str(&shown);
            line.extend(std::iter::repeat_n(' ', width - count));
        }
        line.push(' ');
    }
    line.trim_end().to_string()
}
