//! The events table's columns on screen: widths measured on the rows shown, laid out on the
//! terminal's width, resized by the user (`<`, `>`, `_`), and the horizontal scroll that keeps
//! the column under the cursor visible.

use super::columns::{self, Want};
use super::state::AppState;
use crate::schema;

/// Columns the flag marker (`!`) takes before the first column.
pub(super) const MARKER: u16 = 1;
/// What `<` and `>` change a width by.
const RESIZE_STEP: u16 = 4;
/// The narrowest a resized column gets.
const RESIZE_MIN: u16 = 3;

impl AppState {
    /// Room for the columns.
    fn table_width(&self) -> u16 {
        self.size.0.saturating_sub(MARKER)
    }

    /// Grows each column's fitted width to the widest text it shows now (and its header).
    pub(super) fn measure_columns(&mut self) {
        let full = self.full_values;
        let events = &mut self.events;
        for (i, &column) in events.columns.iter().enumerate() {
            // The header, with room for the sort arrow.
            let mut widest = columns::text_width(column) + 1;
            for row in &events.window {
                if let Some(cell) = row.cells.get(i) {
                    widest = widest.max(columns::text_width(&columns::shown(column, cell, full)));
                }
            }
            let fitted = events.fitted.entry(column).or_insert(0);
            *fitted = (*fitted).max(widest);
        }
    }

    /// What a column wants: its resized width, else its content's, capped.
    fn want(&self, column: &'static str) -> Want {
        if let Some(&width) = self.events.resized.get(column) {
            return Want {
                natural: width,
                min: width,
                stiff: true,
            };
        }
        let content = self
            .events
            .fitted
            .get(column)
            .copied()
            .unwrap_or_else(|| columns::text_width(column) + 1);
        let natural = content.min(columns::max_width(column));
        Want {
            natural,
            min: columns::min_width(column).min(natural),
            stiff: column == schema::TIME,
        }
    }

    /// Widths of the columns from `offset` on. The columns that fit keeping two thirds of
    /// their width share the screen, and so do the columns up to the outcome and the source
    /// address if they fit at their minimum (a narrow terminal still answers "did it work,
    /// and from where"); the rest keep what they want, off screen until scrolled to.
    fn layout_from(&self, offset: usize) -> Vec<u16> {
        let shown = &self.events.columns[offset.min(self.events.columns.len())..];
        let wants: Vec<Want> = shown.iter().map(|c| self.want(c)).collect();
        let available = self.table_width();
        let comfortable = |w: &Want| w.min.max(w.natural.saturating_mul(2).div_ceil(3));
        let by_min = fitting(&wants, available, |w| w.min);
        let by_comfort = fitting(&wants, available, comfortable);
        let keys = shown
            .iter()
            .rposition(|c| matches!(*c, schema::OUTCOME | schema::SRC_IP))
            .map_or(0, |i| i + 1);
        let fit = by_comfort.max(by_min.min(keys)).max(1).min(wants.len());
        let mut widths = columns::lay_out(&wants[..fit], available);
        // A time cut at all loses its year at once (`MM-DD HH:MM:SS`): the columns it frees
        // go to the first column that was shrunk.
        if let Some(t) = shown[..fit].iter().position(|c| *c == schema::TIME)
            && widths[t] < wants[t].natural
            && widths[t] > wants[t].min
        {
            let freed = widths[t] - wants[t].min;
            widths[t] = wants[t].min;
            if let Some(i) = (0..fit).find(|&i| i != t && widths[i] < wants[i].natural) {
                widths[i] = (widths[i] + freed).min(wants[i].natural);
            }
        }
        widths.extend(wants[fit..].iter().map(|w| w.natural));
        widths
    }

    /// Scrolls the columns so the one under the cursor is on screen, and lays them out.
    pub(super) fn keep_column_visible(&mut self) {
        let count = self.events.columns.len();
        self.events.col_cursor = self.events.col_cursor.min(count.saturating_sub(1));
        self.events.col_offset = self.events.col_offset.min(self.events.col_cursor);
        let available = u32::from(self.table_width());
        loop {
            let widths = self.layout_from(self.events.col_offset);
            let upto = self.events.col_cursor - self.events.col_offset;
            let used: u32 = widths
                .iter()
                .take(upto + 1)
                .map(|w| u32::from(*w) + 1)
                .sum();
            if used <= available + 1 || self.events.col_offset >= self.events.col_cursor {
                self.events.widths = widths;
                return;
            }
            self.events.col_offset += 1;
        }
    }

    /// `<` and `>`: the column under the cursor narrower or wider.
    pub(super) fn resize_column(&mut self, delta: i32) {
        let Some(&column) = self.events.columns.get(self.events.col_cursor) else {
            return;
        };
        let current = self
            .events
            .widths
            .get(self.events.col_cursor - self.events.col_offset)
            .copied()
            .unwrap_or_else(|| self.want(column).natural);
        let step = i32::from(RESIZE_STEP) * delta.signum();
        let width = (i32::from(current) + step).clamp(i32::from(RESIZE_MIN), 500) as u16;
        self.events.resized.insert(column, width);
        self.message = Some(format!("{column}: {width} columns (_ fits it again)"));
        self.keep_column_visible();
    }

    /// `_`: the column under the cursor as wide as its widest value shown, or back to fitted.
    pub(super) fn toggle_full_width(&mut self) {
        let Some(&column) = self.events.columns.get(self.events.col_cursor) else {
            return;
        };
        if self.events.resized.remove(column).is_some() {
            self.message = Some(format!("{column}: fitted to the screen"));
        } else {
            let widest = self.events.fitted.get(column).copied().unwrap_or(10);
            self.events.resized.insert(column, widest.max(RESIZE_MIN));
            self.message = Some(format!("{column}: as wide as its values ({widest})"));
        }
        self.keep_column_visible();
    }
}

/// How many of the columns fit side by side on `available` columns at the width `width` gives.
fn fitting(wants: &[Want], available: u16, width: impl Fn(&Want) -> u16) -> usize {
    let mut used = 0u32;
    for (n, w) in wants.iter().enumerate() {
        used += u32::from(width(w)) + u32::from(n > 0);
        if used > u32::from(available) {
            return n;
        }
    }
    wants.len()
}
