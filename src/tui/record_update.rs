//! How the record view changes (the part of `update` that is the record view's): reading the
//! event's fields and citing findings, searching, stepping through matches, scrolling,
//! switching tabs; and the lines of each tab, for drawing.

use polars::prelude::*;

use crate::schema::{EVENT_COLUMNS, TIME};
use crate::text::{escape_control, format_time, format_time_utc};

use super::pretty_json::Token;
use super::record::{
    FieldLine, HSCROLL_STEP, MAX_MATCHES, RecordSearch, RecordTab, SearchMatch, field_width,
    find_all,
};
use super::state::AppState;

/// The lines of the current tab: how many.
pub fn line_count(state: &AppState) -> usize {
    match state.record.tab {
        RecordTab::Original => state.detail.record.len(),
        RecordTab::Fields => state.record.fields.len(),
        RecordTab::Findings => state.record.findings.len(),
    }
}

/// Line `i` of the current tab as coloured pieces (already escaped).
pub fn line(state: &AppState, i: usize) -> Vec<(String, Token)> {
    match state.record.tab {
        RecordTab::Original => state
            .detail
            .record
            .line(i)
            .into_iter()
            .map(|(t, k)| (t.to_string(), k))
            .collect(),
        RecordTab::Fields => state
            .record
            .fields
            .get(i)
            .map(|f| {
                vec![
                    (format!("{:<w$}  ", f.field, w = field_width()), Token::Key),
                    (f.shown.clone(), Token::Str),
                ]
            })
            .unwrap_or_default(),
        RecordTab::Findings => state.record.findings.get(i).cloned().unwrap_or_default(),
    }
}

/// The first line shown of the current tab.
pub fn scroll_of(state: &AppState) -> usize {
    match state.record.tab {
        RecordTab::Original => state.detail.scroll,
        _ => state.record.scroll,
    }
}

impl AppState {
    /// Reads the normalized fields and the citing findings of the selected event when the
    /// record view shows another event than it did (or `force`).
    pub(super) fn sync_record(&mut self, force: bool) {
        let row = self.detail.frame_row;
        if row == self.record.row && !force {
            return;
        }
        if row != self.record.row {
            // Every event has the same fields: the field cursor stays on its field.
            self.record.hscroll = 0;
            if self.record.tab == RecordTab::Findings {
                self.record.scroll = 0;
            }
        }
        self.record.row = row;
        self.record.fields = match row {
            Some(row) => fields_of(self.store.frame(), row as usize, &self.settings.tz),
            None => Vec::new(),
        };
        self.record.findings = match row {
            Some(row) => self.citing_lines(row),
            None => Vec::new(),
        };
        self.research();
    }

    /// The findings citing frame row `row`, as lines: severity, rule and title; time, actor
    /// and count; MITRE ids; the reason (wrapped when drawn).
    fn citing_lines(&self, row: u32) -> Vec<Vec<(String, Token)>> {
        let findings = &self.findings;
        let mut lines = Vec::new();
        // Rows of a run over an older frame may hold other events.
        if findings.frame_gen.is_none() {
            let text = if findings.running {
                "the detectors are running…"
            } else {
                "no findings yet"
            };
            lines.push(vec![(text.to_string(), Token::Plain)]);
            return lines;
        }
        for (finding, shown) in findings.list.iter().zip(&findings.rows) {
            if !finding.rows.contains(&row) {
                continue;
            }
            if !lines.is_empty() {
                lines.push(Vec::new());
            }
            lines.push(vec![
                (shown.severity.as_str().to_uppercase(), Token::Literal),
                ("  ".to_string(), Token::Plain),
                (shown.rule.clone(), Token::Key),
                ("  ".to_string(), Token::Plain),
                (escape_control(&finding.title).into_owned(), Token::Plain),
            ]);
            lines.push(vec![(
                format!(
                    "{} · {} · {} event{}",
                    shown.time,
                    shown.actor,
                    shown.count,
                    if shown.count == 1 { "" } else { "s" }
                ),
                Token::Plain,
            )]);
            if !shown.mitre.is_empty() {
                lines.push(vec![(format!("MITRE {}", shown.mitre), Token::Num)]);
            }
            lines.push(vec![(shown.reason.clone(), Token::Str)]);
        }
        if lines.is_empty() {
            lines.push(vec![(
                "no finding cites this event".to_string(),
                Token::Plain,
            )]);
        }
        lines
    }

    /// Finds the search's query again in the current tab (after typing, a tab change or
    /// another event).
    pub(super) fn research(&mut self) {
        let Some(query) = self.record.search.as_ref().map(|s| s.query.to_lowercase()) else {
            return;
        };
        let mut matches = Vec::new();
        if !query.is_empty() {
            'lines: for i in 0..line_count(self) {
                let text: String = line(self, i).into_iter().map(|(t, _)| t).collect();
                for (start, end) in find_all(&text, &query) {
                    matches.push(SearchMatch {
                        line: i,
                        start,
                        end,
                    });
                    if matches.len() >= MAX_MATCHES {
                        break 'lines;
                    }
                }
            }
        }
        if let Some(search) = &mut self.record.search {
            search.matches = matches;
            search.current = 0;
        }
        self.show_current_match();
    }

    /// Moves to the next (`n` > 0) or previous match, wrapping around.
    pub(super) fn step_match(&mut self, n: i32) {
        let Some(search) = &mut self.record.search else {
            return;
        };
        let len = search.matches.len() as i64;
        if len == 0 {
            return;
        }
        search.current = (search.current as i64 + i64::from(n)).rem_euclid(len) as usize;
        self.show_current_match();
    }

    /// Scrolls so the current match is on screen (and selects its field on the fields tab).
    fn show_current_match(&mut self) {
        let Some(m) = self
            .record
            .search
            .as_ref()
            .and_then(|s| s.matches.get(s.current))
            .copied()
        else {
            return;
        };
        let page = self.detail.page.max(1);
        if self.record.tab == RecordTab::Fields {
            self.record.field_cursor = m.line;
        }
        let scroll = match self.record.tab {
            RecordTab::Original => &mut self.detail.scroll,
            _ => &mut self.record.scroll,
        };
        if m.line < *scroll || m.line >= *scroll + page {
            *scroll = m.line.saturating_sub(page / 3);
        }
        if !self.record.wrap {
            // Keep the match in view horizontally, with some context before it.
            let width = usize::from(self.areas().main.width.saturating_sub(2)).max(1);
            if m.end <= width {
                self.record.hscroll = 0;
            } else if m.start < self.record.hscroll || m.end > self.record.hscroll + width {
                self.record.hscroll = m.start.saturating_sub(width / 3);
            }
        }
    }

    /// Moves down (or up) the current tab: the field cursor on the fields tab, else the
    /// first line shown.
    pub(super) fn scroll_record(&mut self, delta: i64) {
        let page = self.detail.page.max(1);
        let lines = line_count(self);
        match self.record.tab {
            RecordTab::Original => {
                let max = lines.saturating_sub(page);
                self.detail.scroll =
                    (self.detail.scroll as i64 + delta).clamp(0, max as i64) as usize;
            }
            RecordTab::Fields => {
                let max = lines.saturating_sub(1) as i64;
                let cursor = (self.record.field_cursor as i64 + delta).clamp(0, max.max(0));
                self.record.field_cursor = cursor as usize;
                let scroll = &mut self.record.scroll;
                if self.record.field_cursor < *scroll {
                    *scroll = self.record.field_cursor;
                } else if self.record.field_cursor >= *scroll + page {
                    *scroll = self.record.field_cursor + 1 - page;
                }
            }
            RecordTab::Findings => {
                let max = lines.saturating_sub(page);
                self.record.scroll =
                    (self.record.scroll as i64 + delta).clamp(0, max as i64) as usize;
            }
        }
    }

    /// Switches the record view's tab by `n` steps.
    pub(super) fn cycle_record_tab(&mut self, n: i32) {
        self.record.tab = self.record.tab.cycle(n);
        self.record.scroll = 0;
        self.record.hscroll = 0;
        if self.record.tab == RecordTab::Findings {
            // Findings may have arrived since the event was opened.
            self.sync_record(true);
        } else {
            self.research();
        }
    }

    /// Scrolls long lines sideways (without wrap).
    pub(super) fn pan_record(&mut self, n: i32) {
        if self.record.wrap {
            return;
        }
        let step = (HSCROLL_STEP as i64) * i64::from(n);
        self.record.hscroll = (self.record.hscroll as i64 + step).max(0) as usize;
    }

    /// Wraps long lines, or stops wrapping them.
    pub(super) fn toggle_record_wrap(&mut self) {
        self.record.wrap = !self.record.wrap;
        self.record.hscroll = 0;
    }

    /// Whether the search prompt is open.
    pub(super) fn record_search_open(&self) -> bool {
        self.record
            .search
            .as_ref()
            .is_some_and(|s| s.typing.is_some())
    }

    /// Opens the search prompt (keeping the last query to edit).
    pub(super) fn start_record_search(&mut self) {
        let search = self.record.search.get_or_insert_with(RecordSearch::default);
        search.typing = Some(search.query.chars().count());
    }
}

/// The normalized fields of frame row `row`: every event column, escaped, times in `tz`.
fn fields_of(frame: &DataFrame, row: usize, tz: &jiff::tz::TimeZone) -> Vec<FieldLine> {
    EVENT_COLUMNS
        .iter()
        .map(|&field| {
            let value = frame.column(field).ok().and_then(|c| c.get(row).ok());
            let (value, shown) = match value {
                None | Some(AnyValue::Null) => (None, String::new()),
                Some(AnyValue::Datetime(us, _, _) | AnyValue::DatetimeOwned(us, _, _))
                    if field == TIME =>
                {
                    (Some(format_time_utc(us)), format_time(us, tz))
                }
                Some(v) => {
                    let text = v.str_value().into_owned();
                    let shown = escape_control(&text).into_owned();
                    (Some(text), shown)
                }
            };
            FieldLine {
                field,
                value,
                shown,
            }
        })
        .collect()
}
