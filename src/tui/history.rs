//! The filter history kept across runs: `$XDG_STATE_HOME/trailscope/filter-history` (else
//! `~/.local/state/trailscope/filter-history`), one filter a line, oldest first, the last
//! [`HISTORY_LIMIT`] kept, written atomically. Reading or writing it never stops the TUI.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Filters kept in the history file.
pub const HISTORY_LIMIT: usize = 500;

/// The largest history file read (500 long filters fit many times over).
const MAX_HISTORY_BYTES: u64 = 4 << 20;

/// Where the history lives, from the values of `XDG_STATE_HOME` and `HOME` (passed in so
/// tests never look at the real home); `None` without either.
pub fn history_path(xdg_state_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    // The XDG spec ignores a relative path.
    let base = xdg_state_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| PathBuf::from(h).join(".local").join("state")))?;
    Some(base.join("trailscope").join("filter-history"))
}

/// The history path of this process's environment.
pub fn default_history_path() -> Option<PathBuf> {
    history_path(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

/// The saved filters, oldest first (the last [`HISTORY_LIMIT`]); empty when the file is
/// missing or unreadable.
pub fn read_history(path: &Path) -> Vec<String> {
    let Ok(text) = crate::config::read_settings_file(path, MAX_HISTORY_BYTES) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let excess = lines.len().saturating_sub(HISTORY_LIMIT);
    lines.drain(..excess);
    lines
}

/// Writes the last [`HISTORY_LIMIT`] filters, one a line (line breaks inside a filter become
/// spaces, so each stays one entry).
pub fn write_history(path: &Path, history: &[String]) -> crate::Result<()> {
    let start = history.len().saturating_sub(HISTORY_LIMIT);
    let mut text = String::new();
    for filter in &history[start..] {
        text.push_str(&filter.replace(['\n', '\r'], " "));
        text.push('\n');
    }
    crate::views::file::write_atomic(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_follows_xdg_state_home_else_the_home_directory() {
        assert_eq!(
            history_path(Some("/state".into()), Some("/home/u".into())),
            Some(PathBuf::from("/state/trailscope/filter-history"))
        );
        assert_eq!(
            history_path(Some("relative".into()), Some("/home/u".into())),
            Some(PathBuf::from(
                "/home/u/.local/state/trailscope/filter-history"
            ))
        );
        assert_eq!(history_path(None, None), None);
    }

    #[test]
    fn history_round_trips_bounded_to_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("filter-history");
        let history: Vec<String> = (0..HISTORY_LIMIT + 20)
            .map(|i| format!("actor:u{i}"))
            .collect();
        write_history(&path, &history).unwrap();
        let back = read_history(&path);
        assert_eq!(back.len(), HISTORY_LIMIT);
        assert_eq!(back.first().map(String::as_str), Some("actor:u20"));
        assert_eq!(back.last(), history.last());
        write_history(&path, &["a\nb".to_string()]).unwrap();
        assert_eq!(read_history(&path), ["a b"]);
    }

    #[test]
    fn an_unwritable_place_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        // A path below a regular file cannot be created.
        assert!(write_history(&file.join("filter-history"), &["a".into()]).is_err());
        assert!(read_history(&file.join("missing")).is_empty());
    }
}
