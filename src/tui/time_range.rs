//! The time-range jump (`t`): the last hour, day or week of the newest event, or a range typed
//! as `FROM..TO` in the display zone, on top of the filter; Esc goes back to the range before.

use crate::analysis::TimeRange;
use crate::analysis::filter::{FilterContext, compile_str};
use crate::text::escape_control;

use super::action::Effect;
use super::state::{AppState, Asking, Overlay, Prompt};

impl AppState {
    /// Asks for the range, offering the one in effect.
    pub(super) fn ask_time_range(&mut self) {
        let current = self.range.as_ref().map(range_text).unwrap_or_default();
        self.overlay = Some(Overlay::Prompt(Prompt::new(Asking::TimeRange, current)));
    }

    /// Applies a typed range: a duration (`1h`, `24h`, `7d`, `1h30m`) back from the newest
    /// event, `FROM..TO` (either end may be left out), or nothing / `all` for every time.
    pub(super) fn set_time_range(&mut self, text: &str, effects: &mut Vec<Effect>) {
        let range = match parse_range(text) {
            Ok(range) => range,
            Err(e) => {
                self.message = Some(format!("time range: {}", escape_control(&e)));
                return;
            }
        };
        if let Some(range) = &range {
            let terms = range_terms(range);
            let ctx = FilterContext::for_frame(self.store.frame(), self.settings.tz.clone());
            if let Err(e) = compile_str(&terms, &ctx) {
                self.message = Some(format!("time range: {}", escape_control(&e.message)));
                return;
            }
        }
        if range == self.range {
            return;
        }
        self.push_back();
        self.range = range;
        self.message = Some(match &self.range {
            Some(r) => format!(
                "time range: {} (t changes it, Esc goes back)",
                escape_control(&range_text(r))
            ),
            None => "time range cleared".into(),
        });
        self.request_view(effects);
    }
}

/// The range as typed in the prompt and shown in the filter bar.
pub fn range_text(range: &TimeRange) -> String {
    match range {
        TimeRange::Last(d) => d.clone(),
        TimeRange::Between { after, before } => format!(
            "{}..{}",
            after.as_deref().unwrap_or(""),
            before.as_deref().unwrap_or("")
        ),
    }
}

/// The filter terms of a range (checked by compiling them).
fn range_terms(range: &TimeRange) -> String {
    let quoted = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    match range {
        TimeRange::Last(d) => format!("last:{}", quoted(d)),
        TimeRange::Between { after, before } => [
            after.as_deref().map(|a| format!("after:{}", quoted(a))),
            before.as_deref().map(|b| format!("before:{}", quoted(b))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" "),
    }
}

/// Reads a typed range (see [`AppState::set_time_range`]).
fn parse_range(text: &str) -> Result<Option<TimeRange>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    if let Some((from, to)) = text.split_once("..") {
        let end = |s: &str| {
            let s = s.trim().trim_matches('"');
            (!s.is_empty()).then(|| s.to_string())
        };
        let (after, before) = (end(from), end(to));
        if after.is_none() && before.is_none() {
            return Ok(None);
        }
        return Ok(Some(TimeRange::Between { after, before }));
    }
    if text.starts_with(|c: char| c.is_ascii_digit())
        && text.ends_with(|c: char| c.is_ascii_alphabetic())
        && !text.contains(['-', ':', ' '])
    {
        return Ok(Some(TimeRange::Last(text.to_string())));
    }
    Err(format!(
        "'{text}' is neither a duration (1h, 24h, 7d) nor FROM..TO (2024-03-20 00:00..2024-03-20 06:00)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_ranges_and_nothing_are_read() {
        assert_eq!(parse_range("24h"), Ok(Some(TimeRange::Last("24h".into()))));
        assert_eq!(
            parse_range("2024-03-20 00:00..2024-03-20 06:00"),
            Ok(Some(TimeRange::Between {
                after: Some("2024-03-20 00:00".into()),
                before: Some("2024-03-20 06:00".into()),
            }))
        );
        assert_eq!(
            parse_range("2024-03-20.."),
            Ok(Some(TimeRange::Between {
                after: Some("2024-03-20".into()),
                before: None,
            }))
        );
        assert_eq!(parse_range(" all "), Ok(None));
        assert_eq!(parse_range(""), Ok(None));
        assert!(parse_range("yesterday").is_err());
    }
}
