//! A forward-only JSON scanner for the load hot path: a parser walks a record's objects with
//! it, reads the handful of keys it needs as borrowed text and skips everything else, without
//! building a tree or going through serde's visitor machinery (which costs about three times
//! as much per CloudTrail record, see `cargo bench --bench main -- parse`).
//!
//! It checks what it reads: strings are terminated and their escapes valid, brackets balance,
//! literals and numbers are well formed, and nothing but whitespace follows the record. The
//! record is validated as UTF-8 once, up front, so every slice it hands out is a `&str`.
//! Skipped values are checked for balance, not for every JSON rule (a `{]` pair inside a
//! skipped object goes unnoticed): the record's own fields are what must be right.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Where and why a record is not valid JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset in the record.
    pub offset: usize,
    /// What was expected or found.
    pub what: &'static str,
}

/// [`ScanError::what`] of a record that is not UTF-8.
pub const NOT_UTF8: &str = "record is not valid UTF-8";

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.what == NOT_UTF8 {
            write!(f, "{NOT_UTF8} (at byte {} of the record)", self.offset)
        } else {
            write!(
                f,
                "invalid JSON at byte {} of the record: {}",
                self.offset, self.what
            )
        }
    }
}

/// A scalar read as text: strings borrow, numbers and booleans are formatted, null, arrays
/// and objects give `None`. Empty strings give `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    /// The text, if any.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Takes the text out.
    pub fn take(&mut self) -> Option<Cow<'a, str>> {
        self.0.take()
    }

    /// Consumes into the text.
    pub fn into_inner(self) -> Option<Cow<'a, str>> {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text((!v.is_empty()).then_some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text((!v.is_empty()).then(|| Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text((!v.is_empty()).then_some(Cow::Owned(v))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// A cursor over one JSON record.
pub struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Objects and arrays the cursor is inside (walked with `object`/`array`).
    depth: usize,
}

type Scan<T> = Result<T, ScanError>;

impl<'a> Scanner<'a> {
    /// A scanner at the start of a record; fails when the record is not UTF-8.
    pub fn new(record: &'a [u8]) -> Scan<Self> {
        let text = std::str::from_utf8(record).map_err(|e| ScanError {
            offset: e.valid_up_to(),
            what: NOT_UTF8,
        })?;
        Ok(Scanner {
            text,
            bytes: record,
            pos: 0,
            depth: 0,
        })
    }

    fn error<T>(&self, what: &'static str) -> Scan<T> {
        Err(self.fail(what))
    }

    fn fail(&self, what: &'static str) -> ScanError {
        ScanError {
            offset: self.pos,
            what,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-blank byte, not consumed.
    fn peek(&mut self) -> Scan<u8> {
        self.skip_ws();
        match self.bytes.get(self.pos) {
            Some(&b) => Ok(b),
            None => self.error("unexpected end of record"),
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Scan<()> {
        if self.peek()? != byte {
            return self.error(what);
        }
        self.pos += 1;
        Ok(())
    }

    /// Succeeds when only whitespace is left.
    pub fn finish(&mut self) -> Scan<()> {
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return self.error("trailing characters after the record");
        }
        Ok(())
    }

    /// Whether the next value is `null`.
    pub fn at_null(&mut self) -> Scan<bool> {
        Ok(self.peek()? == b'n')
    }

    /// Whether the next value is an object.
    pub fn at_object(&mut self) -> Scan<bool> {
        Ok(self.peek()? == b'{')
    }

    /// Walks the members of the object at the cursor, calling `member` with each key (as
    /// written, escapes not decoded); `member` must consume the value (read or skip it). A
    /// value that is not an object is skipped and gives `false`.
    pub fn object<E: From<ScanError>>(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a str) -> Result<(), E>,
    ) -> Result<bool, E> {
        if !self.at_object()? {
            self.skip()?;
            return Ok(false);
        }
        self.enter()?;
        self.pos += 1;
        if self.peek()? == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(true);
        }
        loop {
            if self.peek()? != b'"' {
                return Err(self.fail("expected a key").into());
            }
            let (start, end, _) = self.string_span()?;
            let key = self.slice(start, end)?;
            self.expect(b':', "expected ':' after a key")?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(true);
                }
                _ => return Err(self.fail("expected ',' or '}' in an object").into()),
            }
        }
    }

    /// Walks the elements of the array at the cursor, calling `element` for each (it must
    /// consume the element). A value that is not an array is handed to `element` alone, as
    /// lists in real exports sometimes arrive as a lone value; `null` gives no element.
    pub fn array<E: From<ScanError>>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.peek()? {
            b'[' => {}
            b'n' => return Ok(self.skip()?),
            _ => return element(self),
        }
        self.enter()?;
        self.pos += 1;
        if self.peek()? == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.fail("expected ',' or ']' in an array").into()),
            }
        }
    }

    /// Reads a scalar as text, like [`Text`]'s serde form: strings (empty gives `None`),
    /// numbers and booleans as written; null, arrays and objects give `None`.
    pub fn text(&mut self) -> Scan<Text<'a>> {
        match self.peek()? {
            b'"' => {
                let (start, end, escaped) = self.string_span()?;
                if start == end {
                    return Ok(Text(None));
                }
                if !escaped {
                    return Ok(Text(Some(Cow::Borrowed(self.slice(start, end)?))));
                }
                let quoted = self.slice(start - 1, end + 1)?;
                match sonic_rs::from_str::<String>(quoted) {
                    Ok(s) if s.is_empty() => Ok(Text(None)),
                    Ok(s) => Ok(Text(Some(Cow::Owned(s)))),
                    Err(_) => Err(ScanError {
                        offset: start,
                        what: "invalid escape in a string",
                    }),
                }
            }
            b'{' | b'[' | b'n' => {
                self.skip()?;
                Ok(Text(None))
            }
            _ => {
                let start = self.pos;
                self.scalar()?;
                Ok(Text(Some(Cow::Borrowed(self.slice(start, self.pos)?))))
            }
        }
    }

    /// Reads a boolean written as `true`, `"true"`, `"Yes"`, `1`... (see `parse`); anything
    /// else gives `None`.
    pub fn boolean(&mut self, parse: impl Fn(&str) -> Option<bool>) -> Scan<Option<bool>> {
        Ok(match self.peek()? {
            b't' | b'f' | b'"' | b'0'..=b'9' => {
                let text = self.text()?;
                match text.get() {
                    Some("true" | "1") => Some(true),
                    Some("false" | "0") => Some(false),
                    Some(other) => parse(other),
                    None => None,
                }
            }
            _ => {
                self.skip()?;
                None
            }
        })
    }

    /// Skips the value at the cursor and returns its text as written.
    pub fn raw(&mut self) -> Scan<&'a str> {
        self.skip_ws();
        let start = self.pos;
        self.skip()?;
        self.slice(start, self.pos)
    }

    /// Skips the value at the cursor.
    pub fn skip(&mut self) -> Scan<()> {
        match self.peek()? {
            b'"' => self.string_span().map(|_| ()),
            b'{' | b'[' => self.skip_nested(),
            _ => self.scalar(),
        }
    }

    /// Skips an object or array: strings are stepped over whole, brackets counted.
    /// Steps into an object or array, refusing records nested beyond [`MAX_NESTING`]: the
    /// values this scanner hands out whole ([`Scanner::raw`]) go to recursive parsers.
    fn enter(&mut self) -> Scan<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return self.error(TOO_DEEP);
        }
        Ok(())
    }

    fn skip_nested(&mut self) -> Scan<()> {
        let mut depth = self.depth;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return self.error("unterminated object or array");
            };
            match b {
                b'"' => {
                    self.string_span()?;
                    continue;
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return self.error(TOO_DEEP);
                    }
                }
                b'}' | b']' => {
                    depth -= 1;
                    if depth == self.depth {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// A number or literal at the cursor.
    fn scalar(&mut self) -> Scan<()> {
        let start = self.pos;
        while let Some(&b) = self.bytes.get(self.pos) {
            if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t' | b':') {
                break;
            }
            self.pos += 1;
        }
        let token = &self.bytes[start..self.pos];
        let valid = match token.first() {
            Some(b'-' | b'0'..=b'9') => token
                .iter()
                .all(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')),
            _ => matches!(token, b"true" | b"false" | b"null"),
        };
        if !valid {
            self.pos = start;
            return self.error("expected a JSON value");
        }
        Ok(())
    }

    /// Steps over the string whose opening quote is at the cursor: (content start, content
    /// end, whether it holds escapes). The cursor ends after the closing quote.
    fn string_span(&mut self) -> Scan<(usize, usize, bool)> {
        let start = self.pos + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            let rest = self.bytes.get(at..).unwrap_or_default();
            match quote_or_backslash(rest) {
                Some(n) if rest[n] == b'"' => {
                    self.pos = at + n + 1;
                    return Ok((start, at + n, escaped));
                }
                Some(n) => {
                    escaped = true;
                    at += n + 2;
                }
                None => {
                    self.pos = start - 1;
                    return self.error("unterminated string");
                }
            }
        }
    }

    fn slice(&self, start: usize, end: usize) -> Scan<&'a str> {
        match self.text.get(start..end) {
            Some(s) => Ok(s),
            None => Err(ScanError {
                offset: start,
                what: "string cut inside a character",
            }),
        }
    }
}

/// The first `"` or `\\` in `bytes`: where a string ends or has an escape. (`memchr` beat
/// a byte loop and an eight-bytes-at-a-time word scan on CloudTrail records, short strings
/// included.)
pub fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'"', b'\\', bytes)
}

/// The deepest nesting of arrays and objects a record may have. The JSON parsers behind
/// detection and the providers recurse once per level, so a record of thousands of `[` would
/// overflow a thread's stack; real audit records nest a few dozen levels at most (the deepest
/// of the 186 real sample files: 17), and serde_json's own default limit is the same 128.
pub const MAX_NESTING: usize = 128;

/// How many `{` and `[` a text holds. `b | 0x20` maps `[` (0x5b) onto `{` (0x7b) and nothing
/// else there, and byte-wide sums over runs of 255 keep the compiler's vector lanes narrow
/// (counting into `usize` lanes cost 430 ns per CloudTrail record; see the parse benchmark).
fn count_openers(json: &[u8]) -> usize {
    json.chunks(255)
        .map(|run| {
            run.iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b | 0x20 == b'{'))) as usize
        })
        .sum()
}

/// [`nesting_error`]'s words, for the scanner's static errors (a test keeps them equal).
const TOO_DEEP: &str = "record nested deeper than 128 levels";

/// Why a record was refused for its nesting, for a rejection reason.
pub fn nesting_error(offset: usize) -> String {
    format!("record nested deeper than {MAX_NESTING} levels (at byte {offset} of the record)")
}

/// The byte offset where `json` first nests deeper than [`MAX_NESTING`], if it does.
/// Iterative, linear, and almost free for ordinary records: depth can only pass the limit
/// when there are more opening brackets than that, and counting them vectorizes.
pub fn too_deep(json: &[u8]) -> Option<usize> {
    if count_openers(json) <= MAX_NESTING {
        return None;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        match b {
            b'"' => {
                // Skip the string: brackets inside it do not nest.
                i += 1;
                loop {
                    match quote_or_backslash(json.get(i..)?) {
                        Some(n) if json.get(i + n) == Some(&b'\\') => i += n + 2,
                        Some(n) => {
                            i += n;
                            break;
                        }
                        None => return None,
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_and_texts(json: &str) -> Scan<Vec<(String, Option<String>)>> {
        let mut s = Scanner::new(json.as_bytes()).map_err(|_| ScanError {
            offset: 0,
            what: "utf8",
        })?;
        let mut out = Vec::new();
        s.object(|s, key| {
            let text = s.text()?;
            out.push((key.to_string(), text.get().map(str::to_string)));
            Ok(())
        })?;
        s.finish()?;
        Ok(out)
    }

    #[test]
    fn reads_scalars_as_text_and_skips_structures() {
        let got = keys_and_texts(
            r#" {"a":"x","b":12,"c":-1.5e3,"d":true,"e":null,"f":{"g":[1,{"h":"}"}]},"i":[],"j":""} "#,
        )
        .unwrap();
        let want = [
            ("a", Some("x")),
            ("b", Some("12")),
            ("c", Some("-1.5e3")),
            ("d", Some("true")),
            ("e", None),
            ("f", None),
            ("i", None),
            ("j", None),
        ];
        let want: Vec<(String, Option<String>)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn decodes_escapes_only_when_present() {
        let got = keys_and_texts(r#"{"a":"q\"uote \u00e9 \\","b":"plain é"}"#).unwrap();
        assert_eq!(got[0].1.as_deref(), Some("q\"uote é \\"));
        assert_eq!(got[1].1.as_deref(), Some("plain é"));
        let mut s = Scanner::new(br#"{"a":"plain"}"#).unwrap();
        s.object(|s, _| {
            assert!(matches!(s.text()?.0, Some(Cow::Borrowed("plain"))));
            Ok::<(), ScanError>(())
        })
        .unwrap();
    }

    #[test]
    fn names_the_byte_of_broken_records() {
        let cases = [
            (r#"{"a":"x""#, "unexpected end of record"),
            (r#"{"a":"x"#, "unterminated string"),
            (r#"{"a" "x"}"#, "expected ':' after a key"),
            (r#"{"a":"x" "b":1}"#, "expected ',' or '}' in an object"),
            (r#"{"a":tru}"#, "expected a JSON value"),
            (r#"{"a":{"b":[1,2}"#, "unterminated object or array"),
            (r#"{"a":1} x"#, "trailing characters after the record"),
            (r#"{a:1}"#, "expected a key"),
            (r#"{"a":"\x"}"#, "invalid escape in a string"),
        ];
        for (json, what) in cases {
            let err = keys_and_texts(json).unwrap_err();
            assert_eq!(err.what, what, "{json}");
            assert!(err.offset <= json.len(), "{json}");
        }
        let err = keys_and_texts(r#"{"a":1,"b":nul}"#).unwrap_err();
        assert_eq!(err.offset, 11);
    }

    #[test]
    fn rejects_invalid_utf8_up_front() {
        let Err(err) = Scanner::new(b"{\"a\":\"\xff\"}") else {
            panic!("invalid UTF-8 accepted");
        };
        assert_eq!(
            err.to_string(),
            "record is not valid UTF-8 (at byte 6 of the record)"
        );
    }

    #[test]
    fn arrays_accept_lone_values_and_null() {
        let mut s = Scanner::new(br#"[["a","b"],"c",null]"#).unwrap();
        let mut lists = Vec::new();
        s.array(|s| {
            let mut items = Vec::new();
            s.array(|s| {
                items.push(s.text()?.get().map(str::to_string));
                Ok::<(), ScanError>(())
            })?;
            lists.push(items);
            Ok::<(), ScanError>(())
        })
        .unwrap();
        assert_eq!(
            lists,
            vec![
                vec![Some("a".to_string()), Some("b".to_string())],
                vec![Some("c".to_string())],
                vec![],
            ]
        );
    }

    #[test]
    fn finds_quotes_in_short_and_long_strings() {
        assert_eq!(quote_or_backslash(b"abc\"def"), Some(3));
        assert_eq!(quote_or_backslash(b"abc"), None);
        let long = format!("{}\\x\"", "a".repeat(100));
        assert_eq!(quote_or_backslash(long.as_bytes()), Some(100));
        for len in 0..80 {
            let plain = "é".repeat(len / 2) + &"a".repeat(len % 2);
            assert_eq!(quote_or_backslash(plain.as_bytes()), None, "{len}");
            for (i, c) in [(0, '"'), (len / 3, '\\'), (len, '"')] {
                let mut s = plain.clone().into_bytes();
                s.truncate(i);
                s.push(c as u8);
                s.extend_from_slice(b"x\"");
                assert_eq!(quote_or_backslash(&s), Some(i), "{len} {i}");
            }
        }
    }

    #[test]
    fn booleans_in_every_spelling() {
        let json = r#"{"a":true,"b":"false","c":1,"d":"Yes","e":null,"f":{}}"#;
        let mut s = Scanner::new(json.as_bytes()).unwrap();
        let mut got = Vec::new();
        s.object(|s, _| {
            got.push(s.boolean(|t| t.eq_ignore_ascii_case("yes").then_some(true))?);
            Ok::<(), ScanError>(())
        })
        .unwrap();
        assert_eq!(
            got,
            [Some(true), Some(false), Some(true), Some(true), None, None]
        );
    }

    #[test]
    fn the_scanner_refuses_what_the_nesting_check_refuses() {
        assert!(nesting_error(0).starts_with(TOO_DEEP));
        let walk = |json: &str| {
            let mut s = Scanner::new(json.as_bytes()).unwrap();
            s.object(|s, _| s.skip()).map(|_| ())
        };
        let inner = MAX_NESTING - 1;
        let ok = format!(r#"{{"a":{}}}"#, deep_arrays(inner));
        assert_eq!(walk(&ok), Ok(()));
        assert_eq!(too_deep(ok.as_bytes()), None);
        let over = format!(r#"{{"a":{}}}"#, deep_arrays(inner + 1));
        let err = walk(&over).unwrap_err();
        assert_eq!(err.what, TOO_DEEP);
        assert_eq!(Some(err.offset), too_deep(over.as_bytes()));
        // Objects walked member by member count too.
        let mut nested = String::new();
        for _ in 0..MAX_NESTING + 1 {
            nested.push_str(r#"{"a":"#);
        }
        let mut s = Scanner::new(nested.as_bytes()).unwrap();
        fn dive(s: &mut Scanner<'_>) -> Scan<()> {
            s.object(|s, _| dive(s)).map(|_| ())
        }
        assert_eq!(dive(&mut s).unwrap_err().what, TOO_DEEP);
    }

    fn deep_arrays(levels: usize) -> String {
        "[".repeat(levels) + &"]".repeat(levels)
    }

    #[test]
    fn nesting_is_measured_outside_strings_only() {
        let at_limit = "[".repeat(MAX_NESTING) + &"]".repeat(MAX_NESTING);
        assert_eq!(too_deep(at_limit.as_bytes()), None);
        let over = "[".repeat(MAX_NESTING + 1);
        assert_eq!(too_deep(over.as_bytes()), Some(MAX_NESTING));
        // Many brackets side by side are wide, not deep.
        let wide = "[{}]".repeat(10_000);
        assert_eq!(too_deep(format!("[{wide}]").as_bytes()), None);
        // Brackets in strings, escaped quotes included, do not count.
        let quoted = format!(r#"{{"a":"\"{}","b":1}}"#, "[".repeat(1000));
        assert_eq!(too_deep(quoted.as_bytes()), None);
        let deep_object = r#"{"a":"#.repeat(8000);
        assert_eq!(too_deep(deep_object.as_bytes()), Some(5 * MAX_NESTING));
        // An unterminated string ends the walk without panicking.
        let open = format!("{}\"\\", "[".repeat(200));
        assert_eq!(too_deep(open.as_bytes()), Some(MAX_NESTING));
        assert_eq!(too_deep(format!("\"{}", "[".repeat(200)).as_bytes()), None);
    }
}
