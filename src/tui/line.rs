//! One line of text being typed (the filter bar, the prompts): the editing keys of a shell.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Edits a line of text as shells do (characters, Backspace, Delete, arrows, Home/End,
/// Ctrl-A/E/U); returns whether the text changed.
pub(super) fn edit_line(text: &mut String, cursor: &mut usize, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let len = text.chars().count();
    let byte = |text: &str, at: usize| text.char_indices().nth(at).map_or(text.len(), |(i, _)| i);
    match key.code {
        KeyCode::Char('u') if ctrl => {
            text.clear();
            *cursor = 0;
            return true;
        }
        KeyCode::Char('a') if ctrl => *cursor = 0,
        KeyCode::Char('e') if ctrl => *cursor = len,
        KeyCode::Char(c) if !ctrl => {
            let at = byte(text, *cursor);
            text.insert(at, c);
            *cursor += 1;
            return true;
        }
        KeyCode::Backspace if *cursor > 0 => {
            let at = byte(text, *cursor - 1);
            text.remove(at);
            *cursor -= 1;
            return true;
        }
        KeyCode::Delete if *cursor < len => {
            let at = byte(text, *cursor);
            text.remove(at);
            return true;
        }
        KeyCode::Left => *cursor = cursor.saturating_sub(1),
        KeyCode::Right => *cursor = (*cursor + 1).min(len),
        KeyCode::Home => *cursor = 0,
        KeyCode::End => *cursor = len,
        _ => {}
    }
    false
}
