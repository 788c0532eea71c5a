//! Rust regexes (the filter's `field~regex`) rewritten in a syntax that RE2 (DuckDB), Java
//! (Spark) and Joni (Trino, Athena) read with the same meaning.
//!
//! The dialects disagree on much that a regex can say in few characters: `\d`, `\w`, `\s` and
//! `(?i)` are Unicode-aware in Rust but ASCII-only in Java; `.` and `$` treat `\r` and other
//! line terminators specially in Java; `\b` differs in all three. So the regex is parsed with
//! Rust's own parser and written back from its meaning: every class as explicit code point
//! ranges (`\d` becomes the Unicode digits, `(?i)k` becomes `[Kk\x{212A}]`), `^`/`$` as
//! `\A`/`\z`, groups as `(?:...)`. What has no common form (word boundaries, multi-line
//! anchors, byte classes) is refused with a message saying so.

use std::fmt::Write;

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::text::escape_control;
use crate::{Error, Result};

/// Regexes longer than this after rewriting are refused (engines cap their program size).
const MAX_PORTABLE_BYTES: usize = 64 << 10;

/// The regex `source` (Rust syntax) in the portable syntax, or why it cannot be written so.
pub fn portable(source: &str) -> Result<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(source)
        .map_err(|e| refuse(source, &e.to_string()))?;
    let mut out = String::new();
    write_hir(&hir, &mut out).map_err(|why| refuse(source, &why))?;
    if out.len() > MAX_PORTABLE_BYTES {
        return Err(refuse(
            source,
            &format!(
                "its portable form is {} bytes, more than engines accept (large Unicode classes such as \\w; use explicit ASCII classes like [A-Za-z0-9_])",
                out.len()
            ),
        ));
    }
    Ok(out)
}

fn refuse(source: &str, why: &str) -> Error {
    Error::Invalid(format!(
        "the regex '{}' cannot be translated to SQL faithfully: {}",
        escape_control(source),
        escape_control(why)
    ))
}

fn write_hir(hir: &Hir, out: &mut String) -> std::result::Result<(), String> {
    match hir.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0)
                .map_err(|_| "it matches bytes that are not UTF-8".to_string())?;
            for c in text.chars() {
                write_char(c, false, out);
            }
        }
        HirKind::Class(Class::Unicode(class)) => {
            let ranges = class.ranges();
            if ranges.is_empty() {
                out.push_str("[^\\x{0}-\\x{10FFFF}]");
                return Ok(());
            }
            out.push('[');
            for range in ranges {
                write_char(range.start(), true, out);
                if range.end() != range.start() {
                    out.push('-');
                    write_char(range.end(), true, out);
                }
            }
            out.push(']');
        }
        HirKind::Class(Class::Bytes(_)) => {
            return Err("byte classes ((?-u)) have no counterpart in SQL engines".to_string());
        }
        HirKind::Look(look) => match look {
            Look::Start => out.push_str("\\A"),
            Look::End => out.push_str("\\z"),
            Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF => {
                return Err(
                    "multi-line anchors ((?m)^, (?m)$) treat line ends differently in Java, RE2 and Rust"
                        .to_string(),
                );
            }
            _ => {
                return Err(
                    "word boundaries (\\b, \\B, \\<, \\>) differ between Rust, Java and RE2; use explicit classes"
                        .to_string(),
                );
            }
        },
        HirKind::Repetition(rep) => {
            out.push_str("(?:");
            write_hir(&rep.sub, out)?;
            out.push(')');
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (n, None) => {
                    let _ = write!(out, "{{{n},}}");
                }
                (n, Some(m)) if n == m => {
                    let _ = write!(out, "{{{n}}}");
                }
                (n, Some(m)) => {
                    let _ = write!(out, "{{{n},{m}}}");
                }
            }
            if !rep.greedy {
                out.push('?');
            }
        }
        HirKind::Capture(capture) => {
            out.push_str("(?:");
            write_hir(&capture.sub, out)?;
            out.push(')');
        }
        HirKind::Concat(items) => {
            for item in items {
                write_hir(item, out)?;
            }
        }
        HirKind::Alternation(items) => {
            out.push_str("(?:");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_hir(item, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

/// One character: letters, digits and a few plain marks as themselves, anything else as
/// `\x{HEX}`, which all three syntaxes read as that code point inside and outside classes.
fn write_char(c: char, in_class: bool, out: &mut String) {
    let plain = c.is_ascii_alphanumeric()
        || matches!(
            c,
            '_' | ' '
                | '/'
                | ':'
                | ','
                | '@'
                | '='
                | '\''
                | '"'
                | '<'
                | '>'
                | '!'
                | '%'
                | '~'
                | ';'
                | '#'
        )
        || (!in_class && c == '-');
    if plain {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn regexes_keep_their_rust_meaning() {
        assert_eq!(
            portable("^Attach.*Policy$").unwrap(),
            "\\AAttach(?:[\\x{0}-\\x{9}\\x{B}-\\x{10FFFF}])*Policy\\z"
        );
        assert_eq!(portable("(?i)k").unwrap(), "[Kk\\x{212A}]");
        assert_eq!(portable("a|bc?").unwrap(), "(?:a|b(?:c)?)");
        assert_eq!(portable("x{2,3}?").unwrap(), "(?:x){2,3}?");
    }

    #[test]
    fn what_engines_read_differently_is_refused() {
        for regex in ["\\bword\\b", "(?m)^x$", "(?-u:\\xFF)"] {
            let err = portable(regex).unwrap_err().to_string();
            assert!(err.contains("cannot be translated"), "{regex}: {err}");
        }
    }
}
