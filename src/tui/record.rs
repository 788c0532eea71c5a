//! The detail pane's record: the original bytes re-indented as JSON and cut into coloured
//! tokens, keeping the record's own key order. Not a validator: anything that is not JSON
//! (a CSV row) is shown as plain lines. Every token is escaped.

use crate::text::escape_control;

/// What a piece of a record is, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// An object key.
    Key,
    /// A string value.
    Str,
    /// A number.
    Num,
    /// `true`, `false`, `null`.
    Literal,
    /// Braces, brackets, commas, colons.
    Punct,
    /// Anything else.
    Plain,
}

/// One line of the record: its pieces.
pub type RecordLine = Vec<(String, Token)>;

const INDENT: &str = "  ";

/// Pretty-prints a record into lines of tokens.
pub fn pretty(raw: &[u8]) -> Vec<RecordLine> {
    let text = String::from_utf8_lossy(raw);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return trimmed
            .lines()
            .map(|l| vec![(escape_control(l).into_owned(), Token::Plain)])
            .collect();
    }
    let mut printer = Printer::default();
    let chars: Vec<char> = trimmed.chars().collect();
    let mut i = 0;
    // Whether the next string is a key: inside an object, after `{` or `,`.
    let mut stack: Vec<char> = Vec::new();
    let mut expect_key = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' | '[' => {
                // An empty container stays on one line.
                let close = if c == '{' { '}' } else { ']' };
                let mut j = i + 1;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if chars.get(j) == Some(&close) {
                    printer.push(format!("{c}{close}"), Token::Punct);
                    i = j + 1;
                    expect_key = false;
                    continue;
                }
                printer.push(c.to_string(), Token::Punct);
                stack.push(c);
                expect_key = c == '{';
                printer.newline(stack.len());
            }
            '}' | ']' => {
                stack.pop();
                printer.newline(stack.len());
                printer.push(c.to_string(), Token::Punct);
                expect_key = false;
            }
            ',' => {
                printer.push(",".into(), Token::Punct);
                printer.newline(stack.len());
                expect_key = stack.last() == Some(&'{');
            }
            ':' => {
                printer.push(": ".into(), Token::Punct);
                expect_key = false;
            }
            '"' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let end = (i + 1).min(chars.len());
                let s: String = chars[start..end].iter().collect();
                let kind = if expect_key { Token::Key } else { Token::Str };
                printer.push(escape_control(&s).into_owned(), kind);
            }
            c if c.is_whitespace() => {}
            _ => {
                let start = i;
                while i + 1 < chars.len()
                    && !matches!(chars[i + 1], ',' | '}' | ']' | ':' | '"')
                    && !chars[i + 1].is_whitespace()
                {
                    i += 1;
                }
                let s: String = chars[start..=i].iter().collect();
                let kind = match s.as_str() {
                    "true" | "false" | "null" => Token::Literal,
                    s if s.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => Token::Num,
                    _ => Token::Plain,
                };
                printer.push(escape_control(&s).into_owned(), kind);
            }
        }
        i += 1;
    }
    printer.finish()
}

#[derive(Default)]
struct Printer {
    lines: Vec<RecordLine>,
    current: RecordLine,
}

impl Printer {
    fn push(&mut self, text: String, token: Token) {
        self.current.push((text, token));
    }

    fn newline(&mut self, depth: usize) {
        let line = std::mem::take(&mut self.current);
        self.lines.push(line);
        if depth > 0 {
            self.current.push((INDENT.repeat(depth), Token::Plain));
        }
    }

    fn finish(mut self) -> Vec<RecordLine> {
        if !self.current.is_empty() {
            self.lines.push(self.current);
        }
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[RecordLine]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.iter().map(|(s, _)| s.as_str()).collect())
            .collect()
    }

    #[test]
    fn json_is_indented_in_its_own_key_order() {
        let lines = pretty(br#"{"z":1,"a":{"b":[true,null,"x"]},"e":[],"s":"a,b"}"#);
        assert_eq!(
            plain(&lines),
            [
                "{",
                "  \"z\": 1,",
                "  \"a\": {",
                "    \"b\": [",
                "      true,",
                "      null,",
                "      \"x\"",
                "    ]",
                "  },",
                "  \"e\": [],",
                "  \"s\": \"a,b\"",
                "}",
            ]
        );
        assert_eq!(lines[1][1], ("\"z\"".to_string(), Token::Key));
        assert_eq!(lines[1][3], ("1".to_string(), Token::Num));
        assert_eq!(lines[4][1], ("true".to_string(), Token::Literal));
        assert_eq!(lines[6][1], ("\"x\"".to_string(), Token::Str));
    }

    #[test]
    fn control_characters_inside_strings_are_escaped() {
        let lines = pretty(b"{\"a\":\"\x1b]0;pwned\x07\"}");
        let all: String = plain(&lines).concat();
        assert!(!all.chars().any(|c| c.is_control()), "{all:?}");
        assert!(all.contains("\\e]0;pwned\\u{7}"));
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        let lines = pretty(br#"{"a":"say \"hi\", ok"}"#);
        assert_eq!(plain(&lines)[1], r#"  "a": "say \"hi\", ok""#);
    }

    #[test]
    fn non_json_is_shown_as_lines() {
        let lines = pretty(b"a,b,c\r\n");
        assert_eq!(plain(&lines), ["a,b,c"]);
    }
}
