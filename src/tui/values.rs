//! Acting on the value under the cursor: narrow the filter to it (`,`), exclude it (`!`), put
//! it in the filter's place (`=`), or copy it to the clipboard (`y`, OSC 52). Each view says
//! what its value under the cursor is ([`AppState::value_under_cursor`]); this file turns it
//! into filter text and clipboard bytes.

use base64::Engine as _;
use polars::prelude::{AnyValue, DataFrame};

use crate::analysis::filter::drill;
use crate::analysis::{self, Key};
use crate::schema;
use crate::text::format_time;

use super::action::Effect;
use super::state::{AppState, View};
use crate::text::escape_control;

/// The most a copy sends (terminals cap OSC 52 payloads; 74,994 bytes for xterm's default).
pub const COPY_LIMIT: usize = 64 * 1024;

/// A value on screen: the column it belongs to and the stored value (`None`: no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellValue {
    /// The column (a [`crate::schema`] name, as the filter language spells it).
    pub field: String,
    /// The value as stored (unescaped; times in the display zone), or `None` when missing.
    pub value: Option<String>,
}

impl CellValue {
    /// A value of `field`.
    pub fn new(field: &str, value: Option<String>) -> CellValue {
        CellValue {
            field: field.to_string(),
            value,
        }
    }

    /// The term selecting it (`exclude`: the term leaving it out).
    pub fn term(&self, exclude: bool) -> String {
        if exclude {
            return drill::excludes(&self.field, self.value.as_deref());
        }
        match &self.value {
            Some(v) => analysis::key_filter(&self.field, &Key::Value(v.clone())),
            None => analysis::key_filter(&self.field, &Key::Null),
        }
    }
}

/// `filter` narrowed to the value (or excluding it).
pub fn narrowed(filter: &str, value: &CellValue, exclude: bool) -> String {
    drill::and_term(filter, &value.term(exclude))
}

/// The OSC 52 sequence that puts `text` on the terminal's clipboard (`c`), or `None` when it
/// is larger than [`COPY_LIMIT`]. The text travels base64-encoded, so log content never
/// reaches the terminal as control characters.
pub fn osc52(text: &str) -> Option<String> {
    if text.len() > COPY_LIMIT {
        return None;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    Some(format!("\x1b]52;c;{encoded}\x07"))
}

/// The value of `column` at `row` of the frame, as the filter reads it back.
pub fn frame_value(
    frame: &DataFrame,
    column: &str,
    row: u32,
    tz: &jiff::tz::TimeZone,
) -> Option<CellValue> {
    let series = frame.column(column).ok()?;
    let value = match series.get(row as usize).ok()? {
        AnyValue::Null => None,
        AnyValue::Datetime(us, _, _) | AnyValue::DatetimeOwned(us, _, _) => {
            Some(format_time(us, tz))
        }
        AnyValue::Boolean(b) => Some(b.to_string()),
        v => Some(v.str_value().into_owned()),
    };
    Some(CellValue::new(column, value))
}

impl AppState {
    /// The value under the cursor of the current view, if it has one.
    pub fn value_under_cursor(&self) -> Option<CellValue> {
        match self.view {
            View::Events => {
                let column = *self.events.columns.get(self.events.col_cursor)?;
                let row = self.selected_row()?;
                frame_value(self.store.frame(), column, row, &self.settings.tz)
            }
            View::Detail => {
                // The fields tab's field under its cursor.
                let (field, _) = self.record.value_under_cursor()?;
                let row = self.detail.frame_row?;
                frame_value(self.store.frame(), &field, row, &self.settings.tz)
            }
            View::Pivot => {
                let view = self.pivot.result.as_ref()?;
                let pivot = &view.pivot;
                let (field, key) = match (self.pivot.col, &pivot.spec.cols) {
                    (0, _) | (_, None) => (
                        self.pivot.rows,
                        pivot.row_keys.get(self.pivot.cursor.selected)?,
                    ),
                    (c, Some(_)) => (self.pivot.cols, pivot.col_keys.get(c - 1)?),
                };
                key_value(field, key)
            }
            View::Timeline => {
                let view = self.timeline.result.as_ref()?;
                let lane = view.timeline.lanes.get(self.timeline.cursor.selected)?;
                key_value(self.timeline.lane_column(), &lane.key)
            }
            View::Identities => {
                let row = self.identities.rows.get(self.identities.cursor.selected)?;
                Some(CellValue::new(
                    schema::IDENTITY,
                    Some(row.identity.identity.clone()),
                ))
            }
            // With the detail pane open, the entity under its cursor.
            View::Findings | View::Incidents if let Some(entity) = self.pane_entity() => Some(
                CellValue::new(entity.kind.column(), Some(entity.value.clone())),
            ),
            View::Findings => {
                let finding = self.findings.selected()?;
                Some(CellValue::new(schema::ACTOR, Some(finding.actor.clone())))
            }
            View::Incidents => {
                let incident = self.incidents.selected()?;
                Some(CellValue::new(
                    schema::IDENTITY,
                    Some(incident.subject.clone()),
                ))
            }
            View::Access => None,
        }
    }
}

/// `,` and `!`: the filter narrowed to the value under the cursor, or excluding it; Esc goes
/// back to the filter before.
pub(super) fn filter_value(state: &mut AppState, exclude: bool, effects: &mut Vec<Effect>) {
    let Some(value) = state.value_under_cursor() else {
        state.message = Some("no value under the cursor here".into());
        return;
    };
    let text = narrowed(&state.filter.text, &value, exclude);
    if text == state.filter.text {
        state.message = Some(format!(
            "the filter already has {}",
            escape_control(&value.term(exclude))
        ));
        return;
    }
    state.push_back();
    // The event under the cursor has the value: it stays selected, on the same line.
    state.keep_selected_event();
    state.set_filter(text, effects);
    state.message = Some(format!(
        "filter {} {} (Esc undoes)",
        if exclude { "excludes" } else { "narrowed to" },
        escape_control(&value.term(false))
    ));
}

/// `=`: every event with the value under the cursor (the filter replaced; Esc restores it).
pub(super) fn only_value(state: &mut AppState, effects: &mut Vec<Effect>) {
    let Some(value) = state.value_under_cursor() else {
        state.message = Some("no value under the cursor here".into());
        return;
    };
    let text = value.term(false);
    if text == state.filter.text.trim() {
        return;
    }
    state.push_back();
    state.keep_selected_event();
    state.set_filter(text.clone(), effects);
    state.message = Some(format!(
        "filter replaced by {} (Esc restores it)",
        escape_control(&text)
    ));
}

/// `y`: the value under the cursor to the clipboard.
pub(super) fn copy_value(state: &mut AppState, effects: &mut Vec<Effect>) {
    let Some(value) = state.value_under_cursor() else {
        state.message = Some("no value under the cursor here".into());
        return;
    };
    let Some(text) = value.value else {
        state.message = Some(format!("{} has no value here", value.field));
        return;
    };
    if text.len() > COPY_LIMIT {
        state.message = Some(format!(
            "not copied: {} bytes is more than a terminal clipboard takes",
            text.len()
        ));
        return;
    }
    state.message = Some(format!(
        "copied {} ({} characters) to the clipboard",
        value.field,
        text.chars().count()
    ));
    effects.push(Effect::Copy(text));
}

/// A result key as a value (`None` for "(other)", which stands for many values).
fn key_value(field: &str, key: &Key) -> Option<CellValue> {
    match key {
        Key::Value(v) => Some(CellValue::new(field, Some(v.clone()))),
        Key::Null => Some(CellValue::new(field, None)),
        Key::Other => None,
    }
}
