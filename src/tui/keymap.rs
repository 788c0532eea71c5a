//! The keymap as data: one row per binding (where it applies, the key, the command, what it
//! does). Keys are resolved through it, and the help screen and the status-bar hints are
//! generated from it.

use super::state::View;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere (unless a more specific binding of the same key exists).
    Global,
    /// Only in one view.
    In(View),
}

impl Scope {
    /// The heading of this scope in the help screen.
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::In(view) => view.title(),
        }
    }
}

/// What a user can ask for. Keys resolve to commands through [`KEYMAP`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Move the cursor by rows (negative: up).
    ScrollBy(i32),
    /// Move by a page (negative: up).
    PageBy(i32),
    /// Go to the first row.
    GoTop,
    /// Go to the last row.
    GoBottom,
    /// Move the column cursor, or pan the timeline (negative: left).
    MoveColumn(i32),
    /// Switch to a view.
    OpenView(View),
    /// Next (or previous, negative) tab.
    CycleView(i32),
    /// Go back: close the overlay, leave the detail, undo a drill-down.
    GoBack,
    /// Quit.
    Quit,
    /// Open the filter bar.
    OpenFilter,
    /// Remove the filter.
    ClearFilter,
    /// Show the next (positive) or previous page of a lake's events.
    TurnLakePage(i32),
    /// Enter: open the record, drill down into a cell, filter to an actor, show a finding's events.
    DrillDown,
    /// The identities view's `t`: the selected identity's own timeline.
    OwnTimeline,
    /// Sort by the column under the cursor (ascending, descending, off).
    SortByColumn,
    /// Choose the columns of the events table.
    ChooseColumns,
    /// Pick the pivot's row field.
    PickRowField,
    /// Pick the pivot's column field.
    PickColumnField,
    /// Smaller timeline buckets.
    ZoomIn,
    /// Larger timeline buckets.
    ZoomOut,
    /// Timeline lanes by identity or by actor.
    ToggleLanes,
    /// Show or hide the detail pane under the events table.
    ToggleDetailPane,
    /// Show the help screen.
    ShowHelp,
    /// Follow mode: stick the events table to the newest event, or stop sticking.
    ToggleFollow,
    /// Save the current state (filter, range, columns, sort, the tab's analysis) as a view.
    SaveView,
    /// Open the list of saved views (open, rename, delete).
    ShowViews,
    /// Type a command (`:save NAME`, `:view NAME`, `:export FILE`).
    OpenCommandLine,
    /// Export the current view as a report (the format from the file's extension).
    Export,
    /// The record view's `/`: search within the record.
    SearchRecord,
    /// The record view's `n` / `N`: the next (or previous, negative) match.
    StepMatch(i32),
    /// The record view's `w`: wrap long lines or cut them (and scroll with ←/→).
    ToggleWrap,
    /// The record view's Tab / Shift-Tab: the next (or previous) tab of the record.
    CycleRecordTab(i32),
    /// Show or hide the detail pane of a finding or incident.
    ToggleFindingDetail,
    /// Move the detail pane's entity cursor (negative: up).
    SelectEntity(i32),
    /// Narrow the filter to the detail pane's selected entity.
    FilterToEntity,
    /// Narrow the filter to the value under the cursor (exclude it: `true`).
    FilterValue {
        /// Exclude the value instead.
        exclude: bool,
    },
    /// Replace the filter with the value under the cursor: everything with this value.
    OnlyValue,
    /// Copy the value under the cursor to the clipboard (OSC 52).
    CopyValue,
    /// The events table's column under the cursor narrower (negative) or wider.
    ResizeColumn(i32),
    /// The column under the cursor as wide as its values, or fitted again.
    FullWidth,
    /// Principals shown whole (with the account) or shortened.
    ToggleFullNames,
    /// Jump to a time range (the last hour, day, week, or FROM..TO).
    AskTimeRange,
    /// The timeline: mark the bucket under the cursor as one end of a range (again: unmark).
    MarkBucket,
    /// The timeline: narrow to the marked range of buckets (or the bucket under the cursor).
    ZoomToSelection,
    /// The timeline: the bucket cursor to the next (or previous) bucket with events on the lane.
    NextActiveBucket(i32),
    /// The timeline: the bucket cursor to the lane's busiest bucket.
    BusiestBucket,
}

/// A keystroke as bindings name it: code and modifiers (Shift is ignored for characters,
/// which carry their case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keystroke {
    /// The key.
    pub code: KeyCode,
    /// Ctrl and Alt.
    pub ctrl: bool,
}

impl Keystroke {
    const fn ch(c: char) -> Keystroke {
        Keystroke {
            code: KeyCode::Char(c),
            ctrl: false,
        }
    }

    const fn code(code: KeyCode) -> Keystroke {
        Keystroke { code, ctrl: false }
    }

    const fn ctrl(c: char) -> Keystroke {
        Keystroke {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }

    /// The key of a terminal key event.
    pub fn from_event(event: &KeyEvent) -> Keystroke {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let code = match event.code {
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            code => code,
        };
        Keystroke { code, ctrl }
    }

    /// How the key is written in the help screen.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Backspace => "Bksp".into(),
            other => format!("{other:?}"),
        };
        if self.ctrl { format!("C-{base}") } else { base }
    }
}

/// One binding.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Where it applies.
    pub scope: Scope,
    /// The key.
    pub key: Keystroke,
    /// What it does.
    pub command: Command,
    /// What it does, for a person (empty: an alternative key of the row above in help).
    pub description: &'static str,
}

const fn bind(
    scope: Scope,
    key: Keystroke,
    command: Command,
    description: &'static str,
) -> Binding {
    Binding {
        scope,
        key,
        command,
        description,
    }
}

use Command as C;
use Scope::{Global as G, In};

/// The default keymap.
pub const KEYMAP: &[Binding] = &[
    bind(
        G,
        Keystroke::code(KeyCode::Down),
        C::ScrollBy(1),
        "down one row",
    ),
    bind(G, Keystroke::ch('j'), C::ScrollBy(1), ""),
    bind(
        G,
        Keystroke::code(KeyCode::Up),
        C::ScrollBy(-1),
        "up one row",
    ),
    bind(G, Keystroke::ch('k'), C::ScrollBy(-1), ""),
    bind(
        G,
        Keystroke::code(KeyCode::PageDown),
        C::PageBy(1),
        "down one page",
    ),
    bind(G, Keystroke::ctrl('f'), C::PageBy(1), ""),
    bind(
        G,
        Keystroke::code(KeyCode::PageUp),
        C::PageBy(-1),
        "up one page",
    ),
    bind(G, Keystroke::ctrl('b'), C::PageBy(-1), ""),
    bind(G, Keystroke::ch('g'), C::GoTop, "first row"),
    bind(G, Keystroke::code(KeyCode::Home), C::GoTop, ""),
    bind(G, Keystroke::ch('G'), C::GoBottom, "last row"),
    bind(G, Keystroke::code(KeyCode::End), C::GoBottom, ""),
    bind(
        G,
        Keystroke::code(KeyCode::Right),
        C::MoveColumn(1),
        "next column",
    ),
    bind(G, Keystroke::ch('l'), C::MoveColumn(1), ""),
    bind(
        G,
        Keystroke::code(KeyCode::Left),
        C::MoveColumn(-1),
        "previous column",
    ),
    bind(G, Keystroke::ch('h'), C::MoveColumn(-1), ""),
    bind(
        G,
        Keystroke::code(KeyCode::Tab),
        C::CycleView(1),
        "next view",
    ),
    bind(
        G,
        Keystroke::code(KeyCode::BackTab),
        C::CycleView(-1),
        "previous view",
    ),
    bind(G, Keystroke::ch('1'), C::OpenView(View::Events), "events"),
    bind(G, Keystroke::ch('2'), C::OpenView(View::Pivot), "pivot"),
    bind(
        G,
        Keystroke::ch('3'),
        C::OpenView(View::Timeline),
        "timeline",
    ),
    bind(
        G,
        Keystroke::ch('4'),
        C::OpenView(View::Identities),
        "identities",
    ),
    bind(
        G,
        Keystroke::ch('5'),
        C::OpenView(View::Findings),
        "findings",
    ),
    bind(
        G,
        Keystroke::ch('6'),
        C::OpenView(View::Access),
        "access audit",
    ),
    bind(
        G,
        Keystroke::ch('7'),
        C::OpenView(View::Incidents),
        "incidents",
    ),
    bind(G, Keystroke::ch('/'), C::OpenFilter, "edit the filter"),
    bind(G, Keystroke::ch('x'), C::ClearFilter, "clear the filter"),
    bind(
        G,
        Keystroke::ch('}'),
        C::TurnLakePage(1),
        "next page of a lake's events",
    ),
    bind(
        G,
        Keystroke::ch('{'),
        C::TurnLakePage(-1),
        "previous page of a lake's events",
    ),
    bind(
        G,
        Keystroke::ch('s'),
        C::SaveView,
        "save as a view (name, note)",
    ),
    bind(
        G,
        Keystroke::ch('v'),
        C::ShowViews,
        "saved views: Enter opens, r renames, d deletes",
    ),
    bind(
        G,
        Keystroke::ch(':'),
        C::OpenCommandLine,
        "command: save, view NAME, export FILE",
    ),
    bind(
        G,
        Keystroke::ch('e'),
        C::Export,
        "export a report (its format from the name)",
    ),
    bind(
        G,
        Keystroke::ch('F'),
        C::ToggleFollow,
        "follow: stick to the newest event (on/off)",
    ),
    bind(
        G,
        Keystroke::code(KeyCode::Enter),
        C::DrillDown,
        "open / drill down",
    ),
    bind(G, Keystroke::code(KeyCode::Esc), C::GoBack, "back"),
    bind(
        G,
        Keystroke::ch(','),
        C::FilterValue { exclude: false },
        "narrow to the value under the cursor",
    ),
    bind(
        G,
        Keystroke::ch('!'),
        C::FilterValue { exclude: true },
        "exclude the value under the cursor",
    ),
    bind(
        G,
        Keystroke::ch('='),
        C::OnlyValue,
        "everything with the value under the cursor",
    ),
    bind(
        G,
        Keystroke::ch('y'),
        C::CopyValue,
        "copy the value under the cursor (OSC 52)",
    ),
    bind(
        G,
        Keystroke::ch('a'),
        C::ToggleFullNames,
        "principals whole (ARNs with the account) or short",
    ),
    bind(
        G,
        Keystroke::ch('t'),
        C::AskTimeRange,
        "time range: 1h, 24h, 7d or FROM..TO",
    ),
    bind(G, Keystroke::ch('?'), C::ShowHelp, "help"),
    bind(G, Keystroke::ch('q'), C::Quit, "quit"),
    bind(G, Keystroke::ctrl('c'), C::Quit, ""),
    bind(
        In(View::Events),
        Keystroke::ch('o'),
        C::SortByColumn,
        "order by this column (asc, desc, off)",
    ),
    bind(
        In(View::Events),
        Keystroke::ch('c'),
        C::ChooseColumns,
        "choose columns",
    ),
    bind(
        In(View::Events),
        Keystroke::ch('<'),
        C::ResizeColumn(-1),
        "this column narrower",
    ),
    bind(
        In(View::Events),
        Keystroke::ch('>'),
        C::ResizeColumn(1),
        "this column wider",
    ),
    bind(
        In(View::Events),
        Keystroke::ch('_'),
        C::FullWidth,
        "this column as wide as its values, or fitted",
    ),
    bind(
        In(View::Events),
        Keystroke::ch('d'),
        C::ToggleDetailPane,
        "show/hide the record pane",
    ),
    bind(
        In(View::Events),
        Keystroke::code(KeyCode::Enter),
        C::DrillDown,
        "open the record",
    ),
    bind(
        In(View::Pivot),
        Keystroke::ch('r'),
        C::PickRowField,
        "pick the row field",
    ),
    bind(
        In(View::Pivot),
        Keystroke::ch('c'),
        C::PickColumnField,
        "pick the column field",
    ),
    bind(
        In(View::Pivot),
        Keystroke::code(KeyCode::Enter),
        C::DrillDown,
        "events of this cell",
    ),
    bind(
        In(View::Timeline),
        Keystroke::ch('+'),
        C::ZoomIn,
        "zoom in (smaller buckets)",
    ),
    bind(In(View::Timeline), Keystroke::ch('='), C::ZoomIn, ""),
    bind(
        In(View::Timeline),
        Keystroke::ch('-'),
        C::ZoomOut,
        "zoom out (larger buckets)",
    ),
    bind(
        In(View::Timeline),
        Keystroke::code(KeyCode::Enter),
        C::DrillDown,
        "events of this lane in the bucket (or marked range)",
    ),
    bind(
        In(View::Timeline),
        Keystroke::ch(' '),
        C::MarkBucket,
        "mark this bucket: ←/→ then select a range",
    ),
    bind(
        In(View::Timeline),
        Keystroke::ch('z'),
        C::ZoomToSelection,
        "zoom to the bucket or marked range (all lanes)",
    ),
    bind(
        In(View::Timeline),
        Keystroke::ch(']'),
        C::NextActiveBucket(1),
        "next bucket with events on the lane",
    ),
    bind(
        In(View::Timeline),
        Keystroke::ch('['),
        C::NextActiveBucket(-1),
        "previous bucket with events on the lane",
    ),
    bind(
        In(View::Timeline),
        Keystroke::ch('*'),
        C::BusiestBucket,
        "the lane's busiest bucket",
    ),
    bind(
        In(View::Timeline),
        Keystroke::ch('i'),
        C::ToggleLanes,
        "lanes by identity / by actor",
    ),
    bind(
        In(View::Identities),
        Keystroke::ch('o'),
        C::SortByColumn,
        "order by this column",
    ),
    bind(
        In(View::Identities),
        Keystroke::code(KeyCode::Enter),
        C::DrillDown,
        "events of this identity",
    ),
    bind(
        In(View::Identities),
        Keystroke::ch('t'),
        C::OwnTimeline,
        "timeline of this identity",
    ),
    bind(
        In(View::Findings),
        Keystroke::code(KeyCode::Enter),
        C::DrillDown,
        "events behind this finding",
    ),
    bind(
        In(View::Findings),
        Keystroke::ch('d'),
        C::ToggleFindingDetail,
        "detail pane",
    ),
    bind(
        In(View::Findings),
        Keystroke::ch(']'),
        C::SelectEntity(1),
        "next entity",
    ),
    bind(
        In(View::Findings),
        Keystroke::ch('['),
        C::SelectEntity(-1),
        "previous entity",
    ),
    bind(
        In(View::Findings),
        Keystroke::ch('f'),
        C::FilterToEntity,
        "filter to the entity",
    ),
    bind(
        In(View::Access),
        Keystroke::code(KeyCode::Enter),
        C::DrillDown,
        "events of the grant and its use",
    ),
    bind(
        In(View::Detail),
        Keystroke::ch('/'),
        C::SearchRecord,
        "search in the record",
    ),
    bind(
        In(View::Detail),
        Keystroke::ch('n'),
        C::StepMatch(1),
        "next match",
    ),
    bind(
        In(View::Detail),
        Keystroke::ch('N'),
        C::StepMatch(-1),
        "previous match",
    ),
    bind(
        In(View::Detail),
        Keystroke::code(KeyCode::Tab),
        C::CycleRecordTab(1),
        "next tab: record, fields, findings",
    ),
    bind(
        In(View::Detail),
        Keystroke::code(KeyCode::BackTab),
        C::CycleRecordTab(-1),
        "previous tab",
    ),
    bind(
        In(View::Detail),
        Keystroke::ch('w'),
        C::ToggleWrap,
        "wrap long lines (else ←/→ scroll)",
    ),
    bind(
        In(View::Detail),
        Keystroke::ch('q'),
        C::GoBack,
        "close the record",
    ),
    bind(
        In(View::Incidents),
        Keystroke::code(KeyCode::Enter),
        C::DrillDown,
        "events behind this incident",
    ),
    bind(
        In(View::Incidents),
        Keystroke::ch('d'),
        C::ToggleFindingDetail,
        "detail pane",
    ),
    bind(
        In(View::Incidents),
        Keystroke::ch(']'),
        C::SelectEntity(1),
        "next entity",
    ),
    bind(
        In(View::Incidents),
        Keystroke::ch('['),
        C::SelectEntity(-1),
        "previous entity",
    ),
    bind(
        In(View::Incidents),
        Keystroke::ch('f'),
        C::FilterToEntity,
        "filter to the entity",
    ),
];

/// The command a key runs in a view: a binding of the view wins over a global one.
pub fn resolve(view: View, key: Keystroke) -> Option<Command> {
    let specific = KEYMAP
        .iter()
        .find(|b| b.scope == Scope::In(view) && b.key == key);
    specific
        .or_else(|| {
            KEYMAP
                .iter()
                .find(|b| b.scope == Scope::Global && b.key == key)
        })
        .map(|b| b.command)
}

/// One line of the help screen: the keys (alternatives joined) and what they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpLine {
    /// Scope heading, set on the first line of each scope.
    pub heading: Option<&'static str>,
    /// `↓ j`.
    pub keys: String,
    /// What they do.
    pub description: &'static str,
}

/// The help screen, generated from the keymap: rows without a description are alternative
/// keys of the row above.
pub fn help_lines() -> Vec<HelpLine> {
    let mut lines: Vec<HelpLine> = Vec::new();
    let mut last_scope = None;
    for binding in KEYMAP {
        if binding.description.is_empty() {
            if let Some(line) = lines.last_mut() {
                line.keys.push(' ');
                line.keys.push_str(&binding.key.label());
            }
            continue;
        }
        let heading = (last_scope != Some(binding.scope)).then(|| binding.scope.title());
        last_scope = Some(binding.scope);
        lines.push(HelpLine {
            heading,
            keys: binding.key.label(),
            description: binding.description,
        });
    }
    lines
}

/// The short hints of a view for the status bar: `key description` of its own bindings.
pub fn hints(view: View) -> Vec<(String, &'static str)> {
    KEYMAP
        .iter()
        .filter(|b| b.scope == Scope::In(view) && !b.description.is_empty())
        .map(|b| (b.key.label(), b.description))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_bindings_win_over_global_ones() {
        assert_eq!(
            resolve(View::Events, Keystroke::ch('c')),
            Some(Command::ChooseColumns)
        );
        assert_eq!(
            resolve(View::Pivot, Keystroke::ch('c')),
            Some(Command::PickColumnField)
        );
        assert_eq!(resolve(View::Timeline, Keystroke::ch('c')), None);
        assert_eq!(
            resolve(View::Pivot, Keystroke::ch('j')),
            Some(Command::ScrollBy(1))
        );
    }

    #[test]
    fn help_joins_alternative_keys_and_lists_every_scope() {
        let lines = help_lines();
        let down = lines
            .iter()
            .find(|l| l.description == "down one row")
            .map(|l| l.keys.clone());
        assert_eq!(down.as_deref(), Some("↓ j"));
        let headings: Vec<_> = lines.iter().filter_map(|l| l.heading).collect();
        assert_eq!(
            headings,
            [
                "Everywhere",
                "Events",
                "Pivot",
                "Timeline",
                "Identities",
                "Findings",
                "Access",
                "Record",
                "Incidents"
            ]
        );
    }

    #[test]
    fn saving_and_opening_views_are_keys_of_every_view() {
        for view in View::TABS {
            assert_eq!(resolve(view, Keystroke::ch('s')), Some(Command::SaveView));
            assert_eq!(resolve(view, Keystroke::ch('v')), Some(Command::ShowViews));
            assert_eq!(
                resolve(view, Keystroke::ch(':')),
                Some(Command::OpenCommandLine)
            );
        }
        assert_eq!(
            resolve(View::Events, Keystroke::ch('o')),
            Some(Command::SortByColumn)
        );
    }

    #[test]
    fn ctrl_keys_are_case_insensitive() {
        let event = KeyEvent::new(KeyCode::Char('C'), KeyModifiers::CONTROL);
        assert_eq!(
            resolve(View::Events, Keystroke::from_event(&event)),
            Some(Command::Quit)
        );
    }
}
