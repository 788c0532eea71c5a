//! What differs between the engines that read the lake: identifier quoting, string and time
//! literals, and the names of the functions the translated filters use.

use std::fmt::Write;

use crate::text::escape_control;
use crate::{Error, Result};

/// An engine that queries the lake with SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// DuckDB (RE2 regexes, `read_parquet` with hive partitioning).
    DuckDb,
    /// Apache Spark SQL (Java regexes, backslash escapes in string literals).
    Spark,
    /// Trino with the Hive connector (Joni regexes, Java syntax).
    Trino,
    /// Amazon Athena (engine version 3, Trino's SQL; Hive DDL).
    Athena,
}

impl Engine {
    /// The engines' names as `--engine` and `--emit-sql` take them.
    pub const NAMES: [&'static str; 4] = ["duckdb", "spark", "trino", "athena"];

    /// The engine named `name` (one of [`Engine::NAMES`], any case).
    pub fn parse(name: &str) -> Result<Engine> {
        match name.to_ascii_lowercase().as_str() {
            "duckdb" => Ok(Engine::DuckDb),
            "spark" => Ok(Engine::Spark),
            "trino" => Ok(Engine::Trino),
            "athena" => Ok(Engine::Athena),
            _ => Err(Error::Invalid(format!(
                "unknown SQL engine '{}' (engines: {})",
                escape_control(name),
                Engine::NAMES.join(", ")
            ))),
        }
    }

    /// An identifier, quoted (`date` and `time` are reserved words in some engines).
    pub fn ident(self, name: &str) -> String {
        match self {
            Engine::Spark => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// A possibly qualified table name (`db.events`), each part quoted.
    pub fn table(self, name: &str) -> String {
        name.split('.')
            .map(|part| self.ident(part))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A string literal holding exactly `value`. Control and bidi characters (from logs or
    /// list files) are written as escapes, so the printed SQL cannot drive a terminal.
    pub fn string(self, value: &str) -> String {
        let mut out = String::with_capacity(value.len() + 2);
        let mut buf = [0u8; 4];
        match self {
            // Spark reads backslash escapes in literals (spark.sql.parser.escapedStringLiterals
            // is off by default).
            Engine::Spark => {
                out.push('\'');
                for c in value.chars() {
                    match c {
                        '\'' => out.push_str("\\'"),
                        '\\' => out.push_str("\\\\"),
                        c if is_unprintable(c, &mut buf) => {
                            let _ = write!(out, "\\u{:04X}", u32::from(c));
                        }
                        c => out.push(c),
                    }
                }
                out.push('\'');
            }
            // Standard literals take no escapes: unprintable characters are concatenated.
            _ => {
                let mut open = false;
                let mut parts = 0;
                for c in value.chars() {
                    if is_unprintable(c, &mut buf) {
                        if open {
                            out.push('\'');
                            open = false;
                        }
                        if parts > 0 {
                            out.push_str(" || ");
                        }
                        let _ = write!(out, "chr({})", u32::from(c));
                        parts += 1;
                        continue;
                    }
                    if !open {
                        if parts > 0 {
                            out.push_str(" || ");
                        }
                        out.push('\'');
                        open = true;
                        parts += 1;
                    }
                    if c == '\'' {
                        out.push_str("''");
                    } else {
                        out.push(c);
                    }
                }
                if open {
                    out.push('\'');
                } else if parts == 0 {
                    out.push_str("''");
                }
                if parts > 1 {
                    out = format!("({out})");
                }
            }
        }
        out
    }

    /// A literal of the instant `us` (UTC microseconds) comparable with the lake's `time`.
    pub fn timestamp(self, us: i64) -> Result<String> {
        let ts = jiff::Timestamp::from_microsecond(us)
            .map_err(|e| Error::Invalid(format!("time out of range: {e}")))?;
        let text = ts.strftime("%Y-%m-%d %H:%M:%S%.6f").to_string();
        Ok(match self {
            // The lake's times are instants (Parquet timestamps adjusted to UTC).
            Engine::DuckDb => format!("TIMESTAMPTZ '{text}+00'"),
            Engine::Spark => format!("TIMESTAMP '{text}Z'"),
            // Trino's Hive connector and Athena read the lake's times as UTC wall-clock
            // `timestamp` values.
            Engine::Trino | Engine::Athena => format!("TIMESTAMP '{text}'"),
        })
    }

    /// An interval of `us` microseconds, to subtract from a timestamp.
    pub fn interval(self, us: i64) -> String {
        let seconds = if us % 1_000_000 == 0 {
            (us / 1_000_000).to_string()
        } else {
            format!("{}.{:06}", us / 1_000_000, (us % 1_000_000).abs())
        };
        format!("INTERVAL '{seconds}' SECOND")
    }

    /// Whether `regex` (in the portable syntax of [`super::regex`]) is found in `value`.
    pub fn regex_match(self, value: &str, regex: &str) -> String {
        let regex = self.string(regex);
        match self {
            Engine::DuckDb => format!("regexp_matches({value}, {regex})"),
            Engine::Spark => format!("{value} RLIKE {regex}"),
            Engine::Trino | Engine::Athena => format!("regexp_like({value}, {regex})"),
        }
    }

    /// The first capture group of `regex` in `value` ('' when it does not match).
    pub fn regex_group(self, value: &str, regex: &str, group: u32) -> String {
        format!("regexp_extract({value}, {}, {group})", self.string(regex))
    }

    /// The string type's name in casts.
    pub fn string_type(self) -> &'static str {
        match self {
            Engine::Spark => "STRING",
            _ => "VARCHAR",
        }
    }

    /// A cast that gives null instead of failing.
    pub fn try_cast(self, value: &str, to: &str) -> String {
        match self {
            Engine::DuckDb => format!("TRY_CAST({value} AS {to})"),
            _ => format!("try_cast({value} AS {to})"),
        }
    }
}

/// Whether a character is written as an escape (what [`escape_control`] escapes).
fn is_unprintable(c: char, buf: &mut [u8; 4]) -> bool {
    let one: &str = c.encode_utf8(buf);
    escape_control(one) != one
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn literals_hold_quotes_backslashes_and_control_characters() {
        assert_eq!(Engine::DuckDb.string("it's"), "'it''s'");
        assert_eq!(Engine::Trino.string(""), "''");
        assert_eq!(Engine::DuckDb.string("a\nb"), "('a' || chr(10) || 'b')");
        assert_eq!(Engine::DuckDb.string("\u{1b}"), "chr(27)");
        assert_eq!(Engine::Spark.string("C:\\x'y\n"), "'C:\\\\x\\'y\\u000A'");
        assert_eq!(Engine::Spark.ident("a`b"), "`a``b`");
        assert_eq!(Engine::Athena.table("db.events"), "\"db\".\"events\"");
    }

    #[test]
    fn times_are_utc_instants() {
        assert_eq!(
            Engine::DuckDb.timestamp(1_709_251_200_000_000).unwrap(),
            "TIMESTAMPTZ '2024-03-01 00:00:00.000000+00'"
        );
        assert_eq!(Engine::Spark.interval(90_000_000), "INTERVAL '90' SECOND");
    }
}
