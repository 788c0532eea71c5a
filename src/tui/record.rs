//! The record view's state: its tab (the original record, the event's normalized fields,
//! the findings citing it), the search within it (`/`, `n`, `N`), line wrapping and the
//! horizontal scroll. Its lines are escaped when they are built, so drawing only lays them
//! out. How it changes is in [`super::record_update`].

use crate::schema::EVENT_COLUMNS;

use super::pretty_json::Token;

/// Columns the horizontal scroll moves per ←/→.
pub const HSCROLL_STEP: usize = 8;

/// Matches kept of one search (a record of 256 KiB of `a` searched for `a` stays bounded).
pub const MAX_MATCHES: usize = 10_000;

/// What the record view shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RecordTab {
    /// The original record, pretty-printed.
    #[default]
    Original,
    /// Every normalized column of the event, times in the display zone.
    Fields,
    /// The findings that cite the event.
    Findings,
}

impl RecordTab {
    /// The tabs, in the order Tab cycles them.
    pub const ALL: [RecordTab; 3] = [RecordTab::Original, RecordTab::Fields, RecordTab::Findings];

    /// The tab's name in the title line.
    pub fn title(self) -> &'static str {
        match self {
            RecordTab::Original => "record",
            RecordTab::Fields => "fields",
            RecordTab::Findings => "findings",
        }
    }

    /// The tab `n` steps on (negative: back), wrapping around.
    pub fn cycle(self, n: i32) -> RecordTab {
        let at = RecordTab::ALL.iter().position(|t| *t == self).unwrap_or(0) as i64;
        let len = RecordTab::ALL.len() as i64;
        RecordTab::ALL[(at + i64::from(n)).rem_euclid(len) as usize]
    }
}

/// One place a search matched: a line and its characters `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchMatch {
    /// The line.
    pub line: usize,
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// A search within the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordSearch {
    /// What is searched for (case-insensitive).
    pub query: String,
    /// Where it was found in the current tab, in order (at most [`MAX_MATCHES`]).
    pub matches: Vec<SearchMatch>,
    /// The match `n` and `N` are at.
    pub current: usize,
    /// The search is being typed (the prompt is open); the cursor in characters.
    pub typing: Option<usize>,
}

/// One normalized field of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLine {
    /// The column (a [`crate::schema`] constant).
    pub field: &'static str,
    /// The value as a filter takes it (times RFC 3339 UTC); `None` when missing.
    pub value: Option<String>,
    /// The value as shown: escaped, times in the display zone.
    pub shown: String,
}

/// The record view's state (the record itself is [`super::state::DetailModel`]).
#[derive(Debug, Clone, Default)]
pub struct RecordView {
    /// The tab shown.
    pub tab: RecordTab,
    /// Long lines wrap (else they are cut and ←/→ scroll).
    pub wrap: bool,
    /// Columns scrolled to the right (without wrap).
    pub hscroll: usize,
    /// The selected field on the fields tab.
    pub field_cursor: usize,
    /// The frame row the fields and findings are of.
    pub row: Option<u32>,
    /// The event's normalized fields.
    pub fields: Vec<FieldLine>,
    /// The findings citing the event, as escaped lines.
    pub findings: Vec<Vec<(String, Token)>>,
    /// The search, when there is one.
    pub search: Option<RecordSearch>,
    /// First line shown on the fields and findings tabs (the original's is the detail's).
    pub scroll: usize,
}

impl RecordView {
    /// The field under the cursor and its value (for narrowing, excluding and copying).
    pub fn value_under_cursor(&self) -> Option<(String, Option<String>)> {
        if self.tab != RecordTab::Fields {
            return None;
        }
        self.fields
            .get(self.field_cursor)
            .map(|f| (f.field.to_string(), f.value.clone()))
    }
}

/// Width of the field names on the fields tab.
pub fn field_width() -> usize {
    EVENT_COLUMNS.iter().map(|c| c.len()).max().unwrap_or(0)
}

/// Every non-overlapping place `needle` (lowercase) occurs in `text`, ignoring case, as
/// character ranges.
pub fn find_all(text: &str, needle: &str) -> Vec<(usize, usize)> {
    let needle: Vec<char> = needle.chars().collect();
    if needle.is_empty() {
        return Vec::new();
    }
    // Characters lowercased one to one, so positions stay those of `text`.
    let hay: Vec<char> = text
        .chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if hay[i..i + needle.len()] == needle[..] {
            out.push((i, i + needle.len()));
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}
