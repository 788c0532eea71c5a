//! The filter lexer: characters to tokens with character spans; quoting and escapes.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Value {
    /// The characters as written, without the quotes.
    pub(super) raw: String,
    pub(super) quoted: bool,
    pub(super) span: Range<usize>,
}

impl Value {
    /// The value with quoting undone (`\"` and `\\` inside quotes).
    pub(super) fn text(&self) -> String {
        if self.quoted {
            unescape(&self.raw)
        } else {
            self.raw.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    In,
    /// `name:value` or `name~value`.
    Field {
        name: String,
        name_span: Range<usize>,
        op: char,
        value: Value,
    },
    /// A bare word or a quoted phrase.
    Word(Value),
    /// `@path` after `in`.
    File(Value),
    /// `(a, b)` after `in`.
    Items(Vec<Value>),
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) span: Range<usize>,
}

pub(super) struct Lexer<'a> {
    pub(super) chars: &'a [char],
    pub(super) pos: usize,
}

pub(super) fn keyword(word: &str) -> Option<Tok> {
    match word.to_ascii_lowercase().as_str() {
        "or" => Some(Tok::Or),
        "and" => Some(Tok::And),
        "not" => Some(Tok::Not),
        "in" => Some(Tok::In),
        _ => None,
    }
}

pub(super) fn lex(chars: &[char]) -> Result<Vec<Token>, FilterError> {
    let mut lx = Lexer { chars, pos: 0 };
    let mut out = Vec::new();
    loop {
        lx.skip_ws();
        let start = lx.pos;
        let Some(c) = lx.peek() else { break };
        let tok = match c {
            '(' => {
                lx.pos += 1;
                Tok::LParen
            }
            ')' => {
                lx.pos += 1;
                Tok::RParen
            }
            '"' => Tok::Word(lx.quoted(false)?),
            '|' if lx.peek_at(1) == Some('|') => {
                lx.pos += 2;
                Tok::Or
            }
            '&' if lx.peek_at(1) == Some('&') => {
                lx.pos += 2;
                Tok::And
            }
            '!' | '-' => {
                lx.pos += 1;
                Tok::Not
            }
            _ => lx.word_or_field()?,
        };
        let is_in = tok == Tok::In;
        out.push(Token {
            tok,
            span: start..lx.pos,
        });
        if is_in && let Some(list) = lx.list()? {
            out.push(list);
        }
    }
    Ok(out)
}

impl Lexer<'_> {
    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A double-quoted value; the cursor is on the opening quote.
    pub(super) fn quoted(&mut self, in_list: bool) -> Result<Value, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => return Err(FilterError::new("unclosed quote", start..self.chars.len())),
                Some('"') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    raw.push('\\');
                    self.pos += 1;
                    if let Some(c) = self.peek() {
                        raw.push(c);
                        self.pos += 1;
                    }
                }
                Some(c) => {
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
        match self.peek() {
            None | Some(')') => {}
            Some(c) if c.is_whitespace() || (in_list && c == ',') => {}
            Some(_) => {
                return Err(FilterError::new(
                    "expected a space or ')' after the closing quote",
                    self.pos..self.pos + 1,
                ));
            }
        }
        Ok(Value {
            raw,
            quoted: true,
            span: start..self.pos,
        })
    }

    /// A bare value: up to whitespace or an unmatched `)` (in a list: up to `,` or `)`).
    /// A backslash keeps the next character in the value.
    pub(super) fn unquoted(&mut self, in_list: bool) -> Value {
        let start = self.pos;
        let mut depth = 0usize;
        let mut raw = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            match c {
                ')' if depth == 0 || in_list => break,
                ',' if in_list => break,
                '(' if !in_list => depth += 1,
                ')' => depth -= 1,
                '\\' => {
                    if let Some(next) = self.peek_at(1).filter(|n| !n.is_whitespace()) {
                        raw.push('\\');
                        raw.push(next);
                        self.pos += 2;
                        continue;
                    }
                }
                _ => {}
            }
            raw.push(c);
            self.pos += 1;
        }
        Value {
            raw,
            quoted: false,
            span: start..self.pos,
        }
    }

    /// `name:value`, `name~value`, a keyword or a bare word.
    pub(super) fn word_or_field(&mut self) -> Result<Tok, FilterError> {
        let start = self.pos;
        let mut end = start;
        while self
            .chars
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            end += 1;
        }
        let ident: String = self
            .chars
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .collect();
        if ident.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            match self.chars.get(end) {
                Some(&op @ (':' | '~')) => {
                    self.pos = end + 1;
                    let value = if self.peek() == Some('"') {
                        self.quoted(false)?
                    } else {
                        self.unquoted(false)
                    };
                    return Ok(Tok::Field {
                        name: ident,
                        name_span: start..end,
                        op,
                        value,
                    });
                }
                Some('(') => {
                    if let Some(k) = keyword(&ident) {
                        self.pos = end;
                        return Ok(k);
                    }
                }
                _ => self.foreign_operator(&ident, start, end)?,
            }
        }
        let value = self.unquoted(false);
        Ok(keyword(&value.raw).unwrap_or(Tok::Word(value)))
    }

    /// Rejects operators of other query languages after a field name (`actor=x`, `actor!=x`,
    /// `time>x`), which would otherwise be searched as text and silently match nothing.
    pub(super) fn foreign_operator(
        &self,
        ident: &str,
        start: usize,
        end: usize,
    ) -> Result<(), FilterError> {
        let Some((field, kind)) = lookup(ident) else {
            return Ok(());
        };
        let next = |n: usize| self.chars.get(end + n).copied();
        let (len, hint) = match (next(0), next(1)) {
            (Some('!'), Some(':' | '=')) => (2, format!("use -{ident}:VALUE to exclude a value")),
            (Some('!'), Some('~')) => (2, format!("use -{ident}~REGEX to exclude a regex")),
            (Some('='), Some('=')) => (2, format!("use {ident}:VALUE")),
            (Some('='), _) => (1, format!("use {ident}:VALUE")),
            (Some(op @ ('<' | '>')), eq) => {
                let len = if eq == Some('=') { 2 } else { 1 };
                let hint = match (kind, op) {
                    (Kind::Time | Kind::After | Kind::Before, '>') => "use after:TIME".to_string(),
                    (Kind::Time | Kind::After | Kind::Before, _) => "use before:TIME".to_string(),
                    _ => format!("'{field}' cannot be compared with '{op}'"),
                };
                (len, hint)
            }
            _ => return Ok(()),
        };
        let op: String = self
            .chars
            .get(end..end + len)
            .unwrap_or_default()
            .iter()
            .collect();
        Err(FilterError::new(
            format!("unexpected '{op}' after '{ident}' ({hint})"),
            start..end + len,
        ))
    }

    /// The list after `in`: `@path` or `(values)`.
    pub(super) fn list(&mut self) -> Result<Option<Token>, FilterError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                let value = if self.peek() == Some('"') {
                    self.quoted(false)?
                } else {
                    self.unquoted(false)
                };
                Ok(Some(Token {
                    tok: Tok::File(value),
                    span: start..self.pos,
                }))
            }
            Some('(') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    while self.peek().is_some_and(|c| c.is_whitespace() || c == ',') {
                        self.pos += 1;
                    }
                    match self.peek() {
                        None => {
                            return Err(FilterError::new(
                                "unclosed list: expected ')'",
                                start..self.chars.len(),
                            ));
                        }
                        Some(')') => {
                            self.pos += 1;
                            break;
                        }
                        Some('"') => items.push(self.quoted(true)?),
                        Some(_) => items.push(self.unquoted(true)),
                    }
                }
                Ok(Some(Token {
                    tok: Tok::Items(items),
                    span: start..self.pos,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// Undoes the escapes of a quoted value: `\"` and `\\`; other backslashes stay.
pub(super) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next @ ('"' | '\\')) = chars.peek()
        {
            out.push(next);
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}
