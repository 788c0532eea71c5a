//! The detail pane of a finding or an incident: the full reason (wrapped), severity, rule,
//! ATT&CK techniques with names and tactics, the entities (`[`/`]` pick one, `f` narrows the
//! filter to it), what to check next, and the evidence events. Beside the list from
//! [`PANE_BESIDE_FROM`] columns, instead of it below that.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::super::investigate::{pane_entities, pane_incident};
use super::super::state::AppState;
use super::{Theme, put};
use crate::detectors::{Finding, attack, playbook};
use crate::incidents::Incident;
use crate::text::{char_width, escape_control, format_time};

/// From this width the pane sits beside the list; narrower, it replaces the list.
pub const PANE_BESIDE_FROM: u16 = 120;

/// The list's area and the pane's, when the pane is open.
pub(super) fn split_for_pane(area: Rect, open: bool) -> (Option<Rect>, Option<Rect>) {
    if !open {
        return (Some(area), None);
    }
    if area.width < PANE_BESIDE_FROM {
        return (None, Some(area));
    }
    let pane = area.width * 2 / 5;
    let list = Rect::new(area.x, area.y, area.width - pane - 1, area.height);
    let pane = Rect::new(area.right() - pane, area.y, pane, area.height);
    (Some(list), Some(pane))
}

/// A line of the pane: text (escaped) and its style.
type Line = (String, Style);

/// Splits `text` into lines of at most `width` columns at spaces (a word longer than the
/// width is cut where it must be).
fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let width = width.max(indent.len() + 8);
    let mut out = Vec::new();
    let mut line = indent.to_string();
    let mut used = indent.len();
    for word in text.split_whitespace() {
        let w: usize = word.chars().map(char_width).sum();
        if used > indent.len() && used + 1 + w > width {
            out.push(std::mem::replace(&mut line, indent.to_string()));
            used = indent.len();
        }
        if used > indent.len() {
            line.push(' ');
            used += 1;
        }
        let mut rest = word;
        while used + rest.chars().map(char_width).sum::<usize>() > width && used < width {
            let fit = width - used;
            let cut: String = rest.chars().take(fit).collect();
            rest = &rest[cut.len()..];
            line.push_str(&cut);
            out.push(std::mem::replace(&mut line, indent.to_string()));
            used = indent.len();
        }
        line.push_str(rest);
        used += rest.chars().map(char_width).sum::<usize>();
    }
    if used > indent.len() || out.is_empty() {
        out.push(line);
    }
    out
}

struct Pane {
    lines: Vec<Line>,
    /// Lines the user scrolled.
    scroll: usize,
    /// The line of the selected entity: the pane scrolls to keep it in view.
    selected_line: Option<usize>,
    width: usize,
    theme: Theme,
}

impl Pane {
    fn heading(&mut self, text: &str) {
        self.lines.push((String::new(), Style::new()));
        self.lines.push((text.to_string(), self.theme.header()));
    }

    fn text(&mut self, text: &str, style: Style) {
        for l in wrap(&escape_control(text), self.width, "  ") {
            self.lines.push((l, style));
        }
    }

    fn techniques(&mut self, mitre: &[String]) {
        for id in mitre {
            let line = match attack::technique(id) {
                Some(t) => format!("{id} {} ({})", t.name, t.tactic.name()),
                None => id.clone(),
            };
            self.text(&line, Style::new());
        }
    }

    fn entities(&mut self, state: &AppState, selected: usize, incident: Option<&Incident>) {
        let entities = pane_entities(state);
        if entities.is_empty() {
            return;
        }
        let of = incident.map(|i| i.id.as_str()).unwrap_or("");
        self.heading(&format!("Entities of {of}   [ ] pick, f or , filter"));
        for (i, e) in entities.iter().enumerate() {
            let mark = if i == selected { "▶ " } else { "  " };
            let line = format!(
                "{mark}{:<10} {} ({})",
                e.kind.as_str(),
                escape_control(&e.value),
                e.count
            );
            let style = if i == selected {
                // The first entity is where the pane opens: it scrolls once one is picked.
                if selected > 0 {
                    self.selected_line = Some(self.lines.len());
                }
                self.theme.selected()
            } else {
                Style::new()
            };
            self.lines.push((line, style));
        }
    }

    fn next_steps(&mut self, rule: &str) {
        if let Some(steps) = playbook::next_steps(rule) {
            self.heading("What to check next");
            self.text(steps, Style::new());
        }
    }

    fn evidence(&mut self, state: &AppState, incident: &Incident, only: Option<&Finding>) {
        let rows: Vec<&crate::incidents::Evidence> = incident
            .evidence
            .iter()
            .filter(|e| only.is_none_or(|f| f.rows.contains(&e.row)))
            .collect();
        if rows.is_empty() {
            return;
        }
        self.heading(&format!("Evidence ({} events)", rows.len()));
        for e in rows {
            let time = e
                .time
                .map(|t| format_time(t, &state.settings.tz))
                .unwrap_or_default();
            let rules = if only.is_some() || e.rules.len() < 2 {
                String::new()
            } else {
                format!("  [{}]", e.rules.join(", "))
            };
            self.lines.push((
                format!(
                    "  {time}  {}  {}{rules}",
                    escape_control(&e.action),
                    escape_control(&e.actor)
                ),
                Style::new(),
            ));
        }
    }

    fn draw(self, frame: &mut Frame<'_>, area: Rect) {
        let buf = frame.buffer_mut();
        // Scrolled only as far as the selected entity (and two lines after it) needs.
        let height = usize::from(area.height);
        let last_page = self.lines.len().saturating_sub(height);
        let skip = self
            .selected_line
            .map_or(0, |l| (l + 3).saturating_sub(height))
            .max(self.scroll.min(last_page));
        for (n, (line, style)) in self.lines.iter().skip(skip).enumerate() {
            let y = area.y.saturating_add(n as u16);
            if n >= usize::from(u16::MAX) || y >= area.bottom() {
                break;
            }
            put(buf, area, area.x, y, area.width, line, *style);
        }
    }
}

fn pane(area: Rect, theme: Theme, scroll: usize) -> Pane {
    Pane {
        lines: Vec::new(),
        scroll,
        selected_line: None,
        width: area.width as usize,
        theme,
    }
}

/// The selected finding's pane.
pub(super) fn draw_finding_pane(frame: &mut Frame<'_>, state: &AppState, area: Rect, theme: Theme) {
    let mut p = pane(area, theme, state.findings.pane.scroll);
    let Some(f) = state.findings.selected() else {
        p.text("no finding selected", theme.muted());
        return p.draw(frame, area);
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    p.lines.push((
        format!("{} · {}", f.severity.as_str(), escape_control(&f.title)),
        theme.severity(f.severity).patch(bold),
    ));
    let time = f
        .time
        .map(|t| format_time(t, &state.settings.tz))
        .unwrap_or_default();
    p.text(
        &format!("{} · {} · {} · {} events", f.rule, time, f.actor, f.count),
        theme.muted(),
    );
    p.heading("Why");
    p.text(&f.reason, Style::new());
    if !f.mitre.is_empty() {
        p.heading("MITRE ATT&CK");
        p.techniques(&f.mitre);
    }
    let incident = pane_incident(state);
    if let Some(i) = incident {
        p.heading("Incident");
        p.text(
            &format!("{} ({} findings): {}", i.id, i.chain.len(), i.title),
            Style::new(),
        );
    }
    p.next_steps(&f.rule);
    p.entities(state, state.findings.pane.entity, incident);
    if let Some(i) = incident {
        p.evidence(state, i, Some(f));
    }
    p.draw(frame, area);
}

/// The selected incident's pane.
pub(super) fn draw_incident_pane(
    frame: &mut Frame<'_>,
    state: &AppState,
    area: Rect,
    theme: Theme,
) {
    let mut p = pane(area, theme, state.incidents.pane.scroll);
    let Some(i) = state.incidents.selected() else {
        p.text("no incident selected", theme.muted());
        return p.draw(frame, area);
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let raised = if i.raised {
        " (raised: 3+ tactics)"
    } else {
        ""
    };
    p.lines.push((
        format!("{} · {}{raised}", i.id, i.severity.as_str()),
        theme.severity(i.severity).patch(bold),
    ));
    p.text(&i.title, bold);
    let time = |t: Option<i64>| {
        t.map(|t| format_time(t, &state.settings.tz))
            .unwrap_or_default()
    };
    p.text(
        &format!(
            "{} .. {} · {} findings · {} events",
            time(i.first),
            time(i.last),
            i.chain.len(),
            i.evidence_total
        ),
        theme.muted(),
    );
    if !i.tactics.is_empty() {
        let names: Vec<&str> = i.tactics.iter().map(|t| t.name()).collect();
        p.text(&format!("Tactics: {}", names.join(" > ")), Style::new());
    }
    p.heading("Kill chain");
    for s in &i.chain {
        let f = &s.finding;
        let t = f
            .time
            .map(|t| format_time(t, &state.settings.tz))
            .unwrap_or_default();
        let line = format!(
            "  {} {:<8} {:<20} {}  {}",
            t.get(11..).unwrap_or(&t),
            f.severity.as_str(),
            s.tactic.map_or("-", |t| t.name()),
            f.rule,
            escape_control(&f.actor)
        );
        p.lines.push((line, theme.severity(f.severity)));
    }
    if let Some(top) = i.chain.iter().max_by_key(|s| s.finding.severity) {
        p.next_steps(&top.finding.rule);
    }
    p.entities(state, state.incidents.pane.entity, Some(i));
    p.evidence(state, i, None);
    p.draw(frame, area);
}
