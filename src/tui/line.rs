//! One line of text being typed (the filter bar, the prompts): the editing keys of a shell.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Edits a line of text as shells do (characters, Backspace, Delete, arrows, Home/End,
/// Ctrl-A/E/U, Ctrl-W deleting the word before the cursor, Alt-B/Alt-F moving a word left
/// and right); returns whether the text changed.
pub(super) fn edit_line(text: &mut String, cursor: &mut usize, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let len = text.chars().count();
    *cursor = (*cursor).min(len);
    let byte = |text: &str, at: usize| text.char_indices().nth(at).map_or(text.len(), |(i, _)| i);
    match key.code {
        KeyCode::Char('u') if ctrl => {
            text.clear();
            *cursor = 0;
            return true;
        }
        KeyCode::Char('w') if ctrl => {
            let start = word_start(text, *cursor);
            if start == *cursor {
                return false;
            }
            let (from, to) = (byte(text, start), byte(text, *cursor));
            text.replace_range(from..to, "");
            *cursor = start;
            return true;
        }
        KeyCode::Char('b') if alt => *cursor = word_start(text, *cursor),
        KeyCode::Char('f') if alt => *cursor = word_end(text, *cursor),
        KeyCode::Char('a') if ctrl => *cursor = 0,
        KeyCode::Char('e') if ctrl => *cursor = len,
        KeyCode::Char(c) if !ctrl && !alt => {
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

/// Where the word before `cursor` starts (characters): spaces before the cursor are skipped,
/// then the word, as a shell's Ctrl-W and Alt-B do.
fn word_start(text: &str, cursor: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut at = cursor.min(chars.len());
    while at > 0 && chars[at - 1].is_whitespace() {
        at -= 1;
    }
    while at > 0 && !chars[at - 1].is_whitespace() {
        at -= 1;
    }
    at
}

/// Where the word at or after `cursor` ends (characters), as a shell's Alt-F does.
fn word_end(text: &str, cursor: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut at = cursor.min(chars.len());
    while at < chars.len() && chars[at].is_whitespace() {
        at += 1;
    }
    while at < chars.len() && !chars[at].is_whitespace() {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(text: &str, cursor: usize, code: KeyCode, modifiers: KeyModifiers) -> (String, usize) {
        let (mut text, mut cursor) = (text.to_string(), cursor);
        edit_line(&mut text, &mut cursor, KeyEvent::new(code, modifiers));
        (text, cursor)
    }

    #[test]
    fn ctrl_w_deletes_the_word_before_the_cursor() {
        let ctrl = KeyModifiers::CONTROL;
        let w = KeyCode::Char('w');
        assert_eq!(
            press("actor:bob action:Get*", 21, w, ctrl),
            ("actor:bob ".into(), 10)
        );
        // Spaces before the cursor go with the word, as in a shell.
        assert_eq!(press("actor:bob  ", 11, w, ctrl), ("".into(), 0));
        // In the middle of the line, only the word before the cursor.
        assert_eq!(press("ab cd ef", 5, w, ctrl), ("ab  ef".into(), 3));
        assert_eq!(press("", 0, w, ctrl), ("".into(), 0));
        assert_eq!(press("é ü", 3, w, ctrl), ("é ".into(), 2));
    }

    #[test]
    fn alt_b_and_alt_f_move_by_words() {
        let alt = KeyModifiers::ALT;
        let text = "actor:bob  action:Get* last:1h";
        assert_eq!(press(text, 30, KeyCode::Char('b'), alt).1, 23);
        assert_eq!(press(text, 23, KeyCode::Char('b'), alt).1, 11);
        assert_eq!(press(text, 0, KeyCode::Char('f'), alt).1, 9);
        assert_eq!(press(text, 9, KeyCode::Char('f'), alt).1, 22);
        assert_eq!(press(text, 30, KeyCode::Char('f'), alt).1, 30);
        // Moving changes no text, and Alt-letters are not typed.
        assert_eq!(press(text, 0, KeyCode::Char('f'), alt).0, text);
    }
}
