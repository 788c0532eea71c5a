//! The application state: the single owner of UI state (the store and every view's
//! view-model) and the screen regions derived from it. Only `update` (in `app.rs`) changes
//! it; the views read it.

use std::collections::HashMap;
use std::sync::Arc;

use ratatui::layout::Rect;

use crate::analysis::filter::FilterError;
use crate::config::Config;
use crate::detectors::{Finding, Severity};
use crate::load::pipeline::Progress;
use crate::schema;
use crate::store::FrameStore;

use super::follow::{DetectCadence, FollowModel};
use super::jobs::{Anchor, Sort};
use super::model::{EventRow, FindingRow, IdentityView, PivotView, TimelineView};
use super::pretty_json::PrettyRecord;
use crate::audit::identities::IdentityColumn;

/// The views of the TUI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// The events table (with the detail pane below it when there is room).
    Events,
    /// The selected event's original record, full screen.
    Detail,
    /// Counts by two fields.
    Pivot,
    /// One lane per actor over time.
    Timeline,
    /// The identity inventory.
    Identities,
    /// What the detection engine found.
    Findings,
    /// The access audit: grants and elevations with their end and use.
    Access,
    /// The findings grouped into incidents.
    Incidents,
}

impl View {
    /// The views reachable by Tab and number keys, in order.
    pub const TABS: [View; 7] = [
        View::Events,
        View::Pivot,
        View::Timeline,
        View::Identities,
        View::Findings,
        View::Access,
        View::Incidents,
    ];

    /// The name shown in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            View::Events => "Events",
            View::Detail => "Record",
            View::Pivot => "Pivot",
            View::Timeline => "Timeline",
            View::Identities => "Identities",
            View::Findings => "Findings",
            View::Access => "Access",
            View::Incidents => "Incidents",
        }
    }
}

/// The tab bar's labels on a terminal `width` columns wide: ` n Title ` each, or `n Title `
/// when that leaves no room for the help hint (80 columns hold seven tabs and `? help`).
pub fn tab_labels(width: u16) -> Vec<String> {
    let roomy: Vec<String> = View::TABS
        .iter()
        .enumerate()
        .map(|(i, v)| format!(" {} {} ", i + 1, v.title()))
        .collect();
    let used: usize = roomy.iter().map(String::len).sum();
    if used + 8 <= usize::from(width) {
        return roomy;
    }
    View::TABS
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{} {} ", i + 1, v.title()))
        .collect()
}

/// Width of the timeline's lane labels.
pub const LANE_LABEL_WIDTH: u16 = 26;
/// Width of the pivot's row labels.
pub const PIVOT_LABEL_WIDTH: u16 = 26;
/// Width of a pivot cell.
pub const PIVOT_CELL_WIDTH: u16 = 9;

/// The fields the pivot can use.
pub const PIVOT_FIELDS: [&str; 22] = [
    schema::ACTOR,
    schema::IDENTITY,
    schema::ACTION,
    schema::PROVIDER,
    schema::SERVICE,
    schema::ACTOR_TYPE,
    schema::OUTCOME,
    schema::SRC_IP,
    schema::COUNTRY,
    schema::CITY,
    schema::REGION,
    schema::ACCOUNT,
    schema::LOG_TYPE,
    schema::ERROR,
    schema::USER_AGENT,
    schema::MFA,
    schema::READ_ONLY,
    schema::PRIVILEGED,
    schema::RESOURCE,
    schema::SOURCE,
    schema::SESSION,
    schema::DETAILS,
];

/// The columns of the identities view, in the order of [`IDENTITY_SORTS`].
/// (The counts come first so they fit on 80 columns.)
pub const IDENTITY_COLUMNS: [&str; 9] = [
    "identity",
    "kind",
    "events",
    "priv",
    "fail",
    "mfa",
    "nets",
    "last seen",
    "flags",
];

/// What each column of the identities view sorts by.
pub const IDENTITY_SORTS: [IdentityColumn; 9] = [
    IdentityColumn::Identity,
    IdentityColumn::Kind,
    IdentityColumn::Events,
    IdentityColumn::Privileged,
    IdentityColumn::Failures,
    IdentityColumn::Mfa,
    IdentityColumn::Networks,
    IdentityColumn::LastSeen,
    IdentityColumn::Flags,
];

/// The columns of the findings view.
pub const FINDING_COLUMNS: [&str; 6] = [
    "severity",
    schema::TIME,
    "rule",
    schema::ACTOR,
    "events",
    "why",
];

/// Buckets the timeline shows at once on `width` columns.
pub fn timeline_columns(width: u16) -> usize {
    width.saturating_sub(LANE_LABEL_WIDTH + 1).max(1) as usize
}

/// Pivot data columns shown at once on `width` columns (after the label and the row total).
pub fn pivot_columns(width: u16) -> usize {
    (width.saturating_sub(PIVOT_LABEL_WIDTH + PIVOT_CELL_WIDTH) / PIVOT_CELL_WIDTH).max(1) as usize
}

/// Settings the TUI starts with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Display time zone.
    pub tz: jiff::tz::TimeZone,
    /// The configuration (detector settings).
    pub config: Arc<Config>,
    /// Whether to use colours (`NO_COLOR` unset).
    pub color: bool,
}

/// A modal on top of the views (at most one).
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// The filter bar is being edited.
    Filter(FilterEdit),
    /// The help screen.
    Help {
        /// First line shown.
        scroll: usize,
    },
    /// Choosing the events table's columns: Space toggles (shown at once), Enter keeps the
    /// choice, Esc puts `original` back.
    Columns {
        /// The highlighted column of [`schema::EVENT_COLUMNS`].
        cursor: usize,
        /// The columns when the chooser opened.
        original: Vec<&'static str>,
    },
    /// Picking a pivot field.
    PickField {
        /// Rows (true) or columns.
        rows: bool,
        /// The highlighted field of [`PIVOT_FIELDS`].
        cursor: usize,
    },
    /// A line of text asked for in the filter bar's place (a view's name, a note, a `:`
    /// command, a confirmation).
    Prompt(Prompt),
    /// The saved views.
    Views {
        /// The highlighted view of [`crate::views::ViewLibrary::list`].
        cursor: usize,
    },
}

/// What a prompt asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asking {
    /// The name to save the current state under.
    SaveName,
    /// Whether to replace the existing view `name` (y/n), before asking the note.
    ConfirmOverwrite {
        /// The view.
        name: String,
    },
    /// The note of the view about to be saved as `name`.
    SaveNote {
        /// The view.
        name: String,
    },
    /// The new name of the view `old`.
    Rename {
        /// The view.
        old: String,
    },
    /// Whether to delete the view `name` (y/n).
    ConfirmDelete {
        /// The view.
        name: String,
    },
    /// A `:` command (`save NAME`, `view NAME`, `export FILE`).
    Command,
    /// The file to export the current view to as a report.
    ExportPath,
    /// The time range (`t`).
    TimeRange,
}

/// A line being typed in the filter bar's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What it asks for.
    pub asking: Asking,
    /// The text typed.
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
}

impl Prompt {
    /// A prompt with `text` typed and the cursor after it.
    pub fn new(asking: Asking, text: impl Into<String>) -> Prompt {
        let text = text.into();
        Prompt {
            cursor: text.chars().count(),
            asking,
            text,
        }
    }

    /// The question, before the text.
    pub fn label(&self) -> String {
        let name = |n: &str| crate::text::escape_control(n).into_owned();
        match &self.asking {
            Asking::SaveName => "save view as: ".into(),
            Asking::ConfirmOverwrite { name: n } => {
                format!("a view named '{}' exists: replace it? (y/n) ", name(n))
            }
            Asking::SaveNote { name: n } => format!("note for '{}': ", name(n)),
            Asking::Rename { old } => format!("rename '{}' to: ", name(old)),
            Asking::ConfirmDelete { name: n } => format!("delete view '{}'? (y/n) ", name(n)),
            Asking::Command => ":".into(),
            Asking::TimeRange => "time range (1h, 24h, 7d, FROM..TO; empty: all): ".into(),
            Asking::ExportPath => {
                "export report to (.html .md .csv .json .ndjson .parquet): ".into()
            }
        }
    }
}

/// The saved view opened or saved last, and whether the state has changed since.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveView {
    /// The view as opened or saved.
    pub saved: crate::views::SavedView,
    /// The state no longer shows what `saved` describes.
    pub changed: bool,
}

/// The filter bar while editing.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterEdit {
    /// The text.
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
    /// The filter before editing (restored by Esc).
    pub original: String,
    /// Position in the history while browsing it with up/down.
    pub history_pos: Option<usize>,
}

/// The filter in effect.
#[derive(Debug, Clone, Default)]
pub struct FilterState {
    /// Its text (the view shows the last valid one while this has an error).
    pub text: String,
    /// Why the text is invalid.
    pub error: Option<FilterError>,
    /// Filters applied before, oldest first.
    pub history: Vec<String>,
    /// Where the history is saved across runs (none in tests unless they set one).
    pub history_file: Option<std::path::PathBuf>,
}

/// Where Esc goes back to after a drill-down.
#[derive(Debug, Clone, PartialEq)]
pub struct Back {
    /// The view drilled from.
    pub view: View,
    /// The filter before.
    pub filter: String,
    /// Every view's place before.
    pub places: Places,
    /// The time range before.
    pub range: Option<crate::analysis::TimeRange>,
}

/// Every view's place (saved on the back stack; see `places.rs`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Places {
    /// The selected event (found again by its record) and its line on screen.
    pub event: Option<(Anchor, usize)>,
    /// The events table's column cursor and first column.
    pub event_columns: (usize, usize),
    /// The pivot's row cursor, column cursor and first column.
    pub pivot: (Cursor, usize, usize),
    /// The timeline's lane cursor, first bucket, zoom, bucket cursor and mark.
    pub timeline: (Cursor, usize, Option<usize>, usize, Option<usize>),
    /// The identities view's cursor.
    pub identities: Cursor,
    /// The findings view's cursor.
    pub findings: Cursor,
    /// The access view's cursor.
    pub access: Cursor,
    /// The incidents view's cursor.
    pub incidents: Cursor,
}

/// Load state for the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadPhase {
    /// Inputs are being read.
    Loading,
    /// Everything was read.
    Loaded,
    /// Following inputs for new events.
    Following,
}

/// A scrollable list position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Selected item.
    pub selected: usize,
    /// First item shown.
    pub offset: usize,
    /// Items per page.
    pub page: usize,
}

impl Cursor {
    /// Moves by `delta` within `len` items and keeps the selection on screen.
    pub fn move_by(&mut self, delta: i64, len: usize) {
        let target = (self.selected as i64 + delta).clamp(0, len.saturating_sub(1) as i64);
        self.selected = target.max(0) as usize;
        self.clamp(len);
    }

    /// Keeps selection and offset valid for `len` items.
    pub fn clamp(&mut self, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        let page = self.page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        self.offset = self.offset.min(len.saturating_sub(page));
        if self.selected < self.offset {
            self.offset = self.selected;
        }
    }
}

/// The events view.
#[derive(Debug, Clone)]
pub struct EventsModel {
    /// Shown columns.
    pub columns: Vec<&'static str>,
    /// Column under the cursor.
    pub col_cursor: usize,
    /// First column shown.
    pub col_offset: usize,
    /// The sort.
    pub sort: Option<Sort>,
    /// The rows of the view (None: the frame in order).
    pub rows: Option<polars::prelude::IdxCa>,
    /// Matching events.
    pub matching: usize,
    /// Time range of the matching events.
    pub first: Option<i64>,
    /// Time range of the matching events.
    pub last: Option<i64>,
    /// Selection.
    pub cursor: Cursor,
    /// The visible rows.
    pub window: Vec<EventRow>,
    /// The view version shown.
    pub version: u64,
    /// The latest view version asked for.
    pub requested: u64,
    /// Bumped when the matching events change (filter or frame), not on a sort: the
    /// analyses are keyed by it.
    pub content: u64,
    /// Frame generation and filter of `content`.
    pub content_key: Option<(u64, String)>,
    /// Whether the record pane is shown under the table.
    pub show_detail: bool,
    /// The event to keep selected in the next view (events arrived while scrolled up).
    pub anchor: Option<Anchor>,
    /// The widest shown text of each column seen since the filter changed (uncapped), so
    /// widths fit the content without jumping back and forth while scrolling.
    pub fitted: HashMap<&'static str, u16>,
    /// The selected event's line on screen to put back when its anchor is found (Esc).
    pub restore_line: Option<usize>,
    /// Widths the user set (`<`, `>`, `_`).
    pub resized: HashMap<&'static str, u16>,
    /// The laid-out widths of the columns from `col_offset` on.
    pub widths: Vec<u16>,
}

/// The selected event's record.
#[derive(Debug, Clone, Default)]
pub struct DetailModel {
    /// The frame row shown (or being read).
    pub frame_row: Option<u32>,
    /// The row order it was read in (`rows_moved_at` then): a row number of another order
    /// (a page turned, rows re-sorted) names another event.
    pub rows_epoch: u64,
    /// The record, pretty-printed (empty while it is read).
    pub record: PrettyRecord,
    /// First line shown.
    pub scroll: usize,
    /// Lines per page.
    pub page: usize,
    /// Why the record could not be read.
    pub error: Option<String>,
    /// Where the record is (`input:line`), escaped.
    pub origin: Option<String>,
}

/// The pivot view.
#[derive(Debug, Clone)]
pub struct PivotModel {
    /// Row field.
    pub rows: &'static str,
    /// Column field.
    pub cols: &'static str,
    /// The result shown.
    pub result: Option<PivotView>,
    /// View version and fields of the result.
    pub shown: Option<(u64, &'static str, &'static str)>,
    /// View version and fields last asked for.
    pub requested: Option<(u64, &'static str, &'static str)>,
    /// Row selection.
    pub cursor: Cursor,
    /// Column under the cursor (0: the row total).
    pub col: usize,
    /// First data column shown.
    pub col_offset: usize,
}

/// The timeline view.
#[derive(Debug, Clone)]
pub struct TimelineModel {
    /// Index into [`crate::analysis::BUCKETS`] chosen by the user (None: chosen to fit the width).
    pub zoom: Option<usize>,
    /// The result shown.
    pub result: Option<TimelineView>,
    /// View version and zoom of the result.
    pub shown: Option<(u64, usize)>,
    /// View version and zoom last asked for.
    pub requested: Option<(u64, usize)>,
    /// Lane selection.
    pub cursor: Cursor,
    /// First bucket shown.
    pub start: usize,
    /// Local time at the left edge to keep when zooming.
    pub anchor: Option<i64>,
    /// Why zooming in stops at the zoom shown: the span needs a bucket at least this wide
    /// to stay within the bucket limit.
    pub finest: Option<String>,
    /// One lane per identity (the person or workload behind the actors) instead of per actor.
    pub by_identity: bool,
    /// The bucket under the cursor (an index of the result's buckets).
    pub bucket: usize,
    /// The other end of a selected range of buckets (Space marks it).
    pub mark: Option<usize>,
    /// Local time of the bucket under the cursor to keep when zooming.
    pub cursor_at: Option<i64>,
}

impl TimelineModel {
    /// The column with one lane per value: `identity` or `actor`.
    pub fn lane_column(&self) -> &'static str {
        if self.by_identity {
            schema::IDENTITY
        } else {
            schema::ACTOR
        }
    }
}

/// The identities view.
#[derive(Debug, Clone, Default)]
pub struct IdentitiesModel {
    /// The inventory's thresholds (a saved view's, else the defaults).
    pub spec: crate::audit::identities::IdentitiesSpec,
    /// Rows in display order.
    pub rows: Vec<IdentityView>,
    /// View version of the rows.
    pub shown: Option<u64>,
    /// View version last asked for.
    pub requested: Option<u64>,
    /// Sort column of [`IDENTITY_COLUMNS`] and direction (largest first).
    pub sort: (usize, bool),
    /// Column under the cursor.
    pub col_cursor: usize,
    /// Selection.
    pub cursor: Cursor,
}

/// The access view: the audit's grants, drawn from escaped rows.
#[derive(Debug, Clone, Default)]
pub struct AccessModel {
    /// How the audit judges (a saved view's, else the defaults).
    pub spec: crate::audit::access::AccessSpec,
    /// The audit of the filtered events.
    pub result: Option<super::access::AccessView>,
    /// View version of the result.
    pub shown: Option<u64>,
    /// View version last asked for.
    pub requested: Option<u64>,
    /// Selection.
    pub cursor: Cursor,
}

/// The detail pane of the findings and incidents views: whether it shows, and the entity
/// under its cursor (`f` narrows the filter to it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetailPane {
    /// Shown (beside the list when there is room, instead of it when not).
    pub open: bool,
    /// The selected entity.
    pub entity: usize,
    /// Lines scrolled by ↑/↓ and PgUp/PgDn when the pane takes the whole view.
    pub scroll: usize,
}

/// The incidents view: the findings grouped on the worker with each detection run.
#[derive(Debug, Clone, Default)]
pub struct IncidentsModel {
    /// The incidents, in the order of their first finding.
    pub list: Vec<crate::incidents::Incident>,
    /// Indexes into `list` of the incidents listed (with a finding in the filter).
    pub shown: Vec<usize>,
    /// Selection (among `shown`).
    pub cursor: Cursor,
    /// The detail pane.
    pub pane: DetailPane,
}

impl IncidentsModel {
    /// Lists the incidents with a finding that has an event among `selected`'s rows (all
    /// without a filter).
    pub fn refilter(&mut self, selected: Option<&[bool]>) {
        self.shown = self
            .list
            .iter()
            .enumerate()
            .filter(|(_, i)| selected.is_none_or(|mask| i.in_mask(mask)))
            .map(|(n, _)| n)
            .collect();
        self.cursor.clamp(self.shown.len());
    }

    /// The incident under the cursor.
    pub fn selected(&self) -> Option<&crate::incidents::Incident> {
        self.shown
            .get(self.cursor.selected)
            .and_then(|&i| self.list.get(i))
    }
}

/// The findings view.
#[derive(Debug, Clone, Default)]
pub struct FindingsModel {
    /// The detail pane.
    pub pane: DetailPane,
    /// The findings, by time (shared with the timeline's jobs).
    pub list: Arc<Vec<Finding>>,
    /// Escaped, for drawing.
    pub rows: Vec<FindingRow>,
    /// Frame row -> most severe finding, valid for `frame_gen`.
    pub flags: HashMap<u32, Severity>,
    /// The frame generation the rules ran on.
    pub frame_gen: Option<u64>,
    /// Why the last run failed.
    pub error: Option<String>,
    /// Whether a run is under way.
    pub running: bool,
    /// Which findings are listed (a findings view's severity and rules; default: all).
    pub spec: crate::views::FindingsSpec,
    /// A findings view is open: only findings with an event the filter selects are listed
    /// (as `trailscope detect --view` lists them).
    pub scoped: bool,
    /// Indexes into `list` of the findings listed, in order.
    pub shown: Vec<usize>,
    /// Selection (among `shown`).
    pub cursor: Cursor,
}

impl FindingsModel {
    /// Lists the findings `spec` admits (and, when `selected` is given, that have an event
    /// among the frame rows it marks).
    pub fn refilter(&mut self, selected: Option<&[bool]>) {
        let spec = &self.spec;
        let in_scope = |f: &Finding| {
            selected.is_none_or(|mask| {
                f.rows
                    .iter()
                    .any(|r| mask.get(*r as usize).copied().unwrap_or(false))
            })
        };
        self.shown = self
            .list
            .iter()
            .enumerate()
            .filter(|(_, f)| spec.admits(&f.rule, f.severity) && in_scope(f))
            .map(|(i, _)| i)
            .collect();
        self.cursor.clamp(self.shown.len());
    }

    /// The finding under the cursor.
    pub fn selected(&self) -> Option<&Finding> {
        self.shown
            .get(self.cursor.selected)
            .and_then(|&i| self.list.get(i))
    }
}

/// Everything the TUI knows: the events and every view's state. The single owner of UI state.
pub struct AppState {
    /// The events (appended to on this thread only).
    pub store: FrameStore,
    /// Settings.
    pub settings: Settings,
    /// The view shown.
    pub view: View,
    /// A modal, if open.
    pub overlay: Option<Overlay>,
    /// Drill-downs to go back from.
    pub back: Vec<Back>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// Bumped whenever the frame changes.
    pub frame_gen: u64,
    /// The first frame generation whose rows are where they are now (the last re-sort).
    pub rows_moved_at: u64,
    /// The tick of the last commit.
    pub committed_at: u64,
    /// Ticks between commits when commits are slow (at least one second's).
    pub commit_every: u64,
    /// Commit at the next chance, not at the next due tick (the load just finished).
    pub commit_now: bool,
    /// How long the worker took for the last commit.
    pub last_commit: Option<std::time::Duration>,
    /// Load state.
    pub phase: LoadPhase,
    /// Latest load progress.
    pub progress: Progress,
    /// Ticks seen.
    pub ticks: u64,
    /// The filter.
    pub filter: FilterState,
    /// Events view.
    pub events: EventsModel,
    /// Detail pane.
    pub detail: DetailModel,
    /// The record view: tab, search, wrap, fields and findings of the event.
    pub record: super::record::RecordView,
    /// Pivot view.
    pub pivot: PivotModel,
    /// Timeline view.
    pub timeline: TimelineModel,
    /// Identities view.
    pub identities: IdentitiesModel,
    /// Findings view.
    pub findings: FindingsModel,
    /// Access view.
    pub access: AccessModel,
    /// Incidents view.
    pub incidents: IncidentsModel,
    /// When the detectors run.
    pub detection: DetectCadence,
    /// Follow mode.
    pub follow: FollowModel,
    /// A message for the status bar (an error).
    pub message: Option<String>,
    /// A time range on top of the filter (from a saved view).
    pub range: Option<crate::analysis::TimeRange>,
    /// The zone the user started with (`--tz`, configuration); a view with its own zone
    /// shows in that one while open.
    pub display_tz: jiff::tz::TimeZone,
    /// The saved views (read at startup; changed by saving, renaming, deleting).
    pub library: crate::views::ViewLibrary,
    /// The view opened or saved last.
    pub active: Option<ActiveView>,
    /// Set once quitting.
    pub quitting: bool,
    /// The places Esc is putting back, until the events of the filter arrive.
    pub restoring: Option<Places>,
    /// Principals shown whole (`arn:aws:iam::111122223333:user/dana`) instead of shortened
    /// (`user/dana`).
    pub full_values: bool,
    /// The pages of a lake's events (`trailscope --lake`), one shown at a time.
    pub lake: Option<LakePaging>,
}

/// Which page of a lake's events is shown, and which is being read.
#[derive(Debug, Clone)]
pub struct LakePaging {
    /// The lake view's pages.
    pub pages: Arc<crate::lake::pages::LakePages>,
    /// The page shown.
    pub current: usize,
    /// The page being read.
    pub reading: Option<usize>,
    /// The first frame generation of the page shown: results of runs over an earlier
    /// page are of other events.
    pub since: u64,
}

/// The screen regions, shared by `update` (page sizes, clicks) and the views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Tab bar.
    pub tabs: Rect,
    /// Load progress gauge (while loading).
    pub gauge: Option<Rect>,
    /// The view.
    pub main: Rect,
    /// The events table (in the events view).
    pub table: Rect,
    /// The record pane (in the events view, when shown and there is room).
    pub detail: Option<Rect>,
    /// The filter bar.
    pub filter: Rect,
    /// The status bar.
    pub status: Rect,
}

impl AppState {
    /// A state over a store (already loaded, or about to be fed by a load).
    pub fn new(store: FrameStore, settings: Settings) -> AppState {
        let announce_at =
            Severity::parse(&settings.config.display.announce_severity).unwrap_or(Severity::High);
        let settings_tz = settings.tz.clone();
        let phase = if store.is_finished() {
            LoadPhase::Loaded
        } else {
            LoadPhase::Loading
        };
        AppState {
            store,
            settings,
            view: View::Events,
            overlay: None,
            back: Vec::new(),
            size: (80, 24),
            frame_gen: 0,
            rows_moved_at: 0,
            committed_at: 0,
            commit_every: 0,
            commit_now: false,
            last_commit: None,
            phase,
            progress: Progress::default(),
            ticks: 0,
            filter: FilterState::default(),
            events: EventsModel {
                columns: schema::DEFAULT_COLUMNS.to_vec(),
                col_cursor: 0,
                col_offset: 0,
                sort: None,
                rows: None,
                matching: 0,
                first: None,
                last: None,
                cursor: Cursor::default(),
                window: Vec::new(),
                version: 0,
                requested: 0,
                content: 0,
                content_key: None,
                show_detail: true,
                anchor: None,
                restore_line: None,
                fitted: HashMap::new(),
                resized: HashMap::new(),
                widths: Vec::new(),
            },
            detail: DetailModel::default(),
            record: Default::default(),
            pivot: PivotModel {
                rows: schema::ACTOR,
                cols: schema::ACTION,
                result: None,
                shown: None,
                requested: None,
                cursor: Cursor::default(),
                col: 0,
                col_offset: 0,
            },
            timeline: TimelineModel {
                zoom: None,
                finest: None,
                result: None,
                shown: None,
                requested: None,
                cursor: Cursor::default(),
                start: 0,
                anchor: None,
                by_identity: false,
                bucket: 0,
                mark: None,
                cursor_at: None,
            },
            identities: IdentitiesModel {
                sort: (2, true),
                ..IdentitiesModel::default()
            },
            findings: FindingsModel::default(),
            access: AccessModel::default(),
            incidents: IncidentsModel::default(),
            detection: DetectCadence::default(),
            follow: FollowModel::new(announce_at),
            message: None,
            range: None,
            display_tz: settings_tz,
            library: crate::views::ViewLibrary::builtin_only(),
            active: None,
            quitting: false,
            full_values: false,
            restoring: None,
            lake: None,
        }
    }

    /// Events in the store.
    pub fn total(&self) -> usize {
        self.store.frame().height()
    }

    /// Rejected records.
    pub fn rejected(&self) -> u64 {
        self.store.totals().2
    }

    /// The screen regions for the size `update` last heard of (page sizes, clicks).
    pub fn areas(&self) -> Areas {
        let (w, h) = self.size;
        self.areas_in(Rect::new(0, 0, w, h))
    }

    /// The screen regions within `screen`. Drawing passes the frame's own area: the terminal
    /// may have been resized since the last [`crate::tui::Action::Resize`] was applied, and
    /// every region must lie inside the buffer being drawn.
    pub fn areas_in(&self, screen: Rect) -> Areas {
        let (x, w, h) = (screen.x, screen.width, screen.height);
        let tabs = Rect::new(x, screen.y, w, h.min(1));
        // Rows from the top of the screen.
        let mut bottom = h;
        let row = |dy: u16, height: u16| Rect::new(x, screen.y.saturating_add(dy), w, height);
        let status = if bottom > 1 {
            bottom -= 1;
            row(bottom, 1)
        } else {
            row(bottom, 0)
        };
        let filter = if bottom > 2 {
            bottom -= 1;
            row(bottom, 1)
        } else {
            row(bottom, 0)
        };
        let gauge = if self.phase == LoadPhase::Loading && bottom > 7 {
            bottom -= 1;
            Some(row(bottom, 1))
        } else {
            None
        };
        let top = tabs.height;
        let main = row(top, bottom.saturating_sub(top));
        let (table, detail) =
            if self.view == View::Events && self.events.show_detail && main.height >= 14 {
                let table_h = main.height * 11 / 20;
                (
                    Rect::new(main.x, main.y, main.width, table_h),
                    Some(Rect::new(
                        main.x,
                        main.y + table_h,
                        main.width,
                        main.height - table_h,
                    )),
                )
            } else {
                (main, None)
            };
        Areas {
            tabs,
            gauge,
            main,
            table,
            detail,
            filter,
            status,
        }
    }

    /// Buckets the timeline shows at once.
    pub fn timeline_columns(&self) -> usize {
        timeline_columns(self.size.0)
    }

    /// Pivot data columns shown at once (after the label and the row total).
    pub fn pivot_columns(&self) -> usize {
        pivot_columns(self.size.0)
    }

    /// Whether a view job is outstanding.
    pub fn view_pending(&self) -> bool {
        self.events.requested != self.events.version
    }

    /// Lists the findings the findings spec admits; with a findings view open, only those
    /// with an event the filter selects (a mask of the frame's rows, built once per change).
    pub fn refilter_findings(&mut self) {
        // The active filter scopes findings and incidents (`31 findings, 12 in filter`).
        let mask = match &self.events.rows {
            Some(rows) => Some(crate::views::row_mask(rows, self.store.frame().height())),
            None => None,
        };
        self.findings.refilter(mask.as_deref());
        self.incidents.refilter(mask.as_deref());
    }

    /// Whether a filter or time range narrows the events.
    pub fn filter_active(&self) -> bool {
        !self.filter.text.trim().is_empty() || self.range.is_some()
    }

    /// The frame row under the events cursor.
    pub fn selected_row(&self) -> Option<u32> {
        let i = self
            .events
            .cursor
            .selected
            .checked_sub(self.events.cursor.offset)?;
        self.events.window.get(i).map(|r| r.frame_row)
    }
}
