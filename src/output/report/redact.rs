//! Redaction for reports that leave the team: values of the chosen fields become stable
//! pseudonyms (`actor-1f3a9c02b7`), HMAC-SHA256 of the value under a secret key, so the same
//! value gets the same pseudonym within a report and across reports made with the same key,
//! while a reader who guesses a value cannot recompute its pseudonym. Every redacted value
//! is also replaced wherever it is embedded in other text (resources, details, errors,
//! finding reasons, the filter and the command line), by one Aho-Corasick pass.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, MatchKind};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::schema::{ACCOUNT, ACTOR, CITY, COUNTRY, SESSION, SRC_IP, USER_AGENT};
use crate::{Error, Location, Result};

/// The fields `--redact` takes, with the column each names (a field is its column's name,
/// but for `ip`).
pub const REDACTABLE: [(&str, &str); 7] = [
    (ACTOR, ACTOR),
    ("ip", SRC_IP),
    (USER_AGENT, USER_AGENT),
    (ACCOUNT, ACCOUNT),
    (COUNTRY, COUNTRY),
    (CITY, CITY),
    (SESSION, SESSION),
];

/// Bytes of a redaction key.
const KEY_BYTES: usize = 32;
/// Values shorter than this are replaced only where they are a whole cell, not inside other
/// text (replacing every `-` or `us` inside sentences would destroy them and hide nothing).
const MIN_EMBEDDED_CHARS: usize = 3;
/// Hex digits of a pseudonym (40 bits: collisions are unlikely below a million values).
const PSEUDONYM_HEX: usize = 10;

/// Parses `--redact actor,ip,...` into columns, in [`REDACTABLE`] order.
pub fn parse_fields(names: &[String]) -> Result<Vec<&'static str>> {
    let mut columns = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let found = REDACTABLE
            .iter()
            .find(|(field, column)| name.eq_ignore_ascii_case(field) || name == *column)
            .map(|(_, column)| *column)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown field to redact '{}'; fields: {}",
                    crate::text::escape_control(name),
                    REDACTABLE.map(|(f, _)| f).join(", ")
                ))
            })?;
        if !columns.contains(&found) {
            columns.push(found);
        }
    }
    columns.sort_by_key(|c| REDACTABLE.iter().position(|(_, col)| col == c));
    Ok(columns)
}

/// The field name of a redacted column (`src_ip` -> `ip`).
pub fn field_name(column: &str) -> &str {
    REDACTABLE
        .iter()
        .find(|(_, c)| *c == column)
        .map_or(column, |(f, _)| f)
}

/// The default key file: `$XDG_CONFIG_HOME/trailscope/redact.key` (else under `~/.config`).
pub fn default_key_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("trailscope").join("redact.key"))
}

/// Reads the redaction key from `path`; when it does not exist, creates it with 32 random
/// bytes from `/dev/urandom`, readable by its owner only.
pub fn load_or_create_key(path: &Path) -> Result<Vec<u8>> {
    let io_err = |source| Error::Io {
        location: Location::file(path.display().to_string()),
        source,
    };
    match std::fs::read(path) {
        Ok(key) if key.len() >= 16 => return Ok(key),
        Ok(_) => {
            return Err(Error::Invalid(format!(
                "{}: a redaction key needs at least 16 bytes",
                crate::text::escape_control(&path.display().to_string())
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    let mut key = vec![0u8; KEY_BYTES];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|source| Error::Io {
            location: Location::file("/dev/urandom"),
            source,
        })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(&key).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
            Ok(key)
        }
        // Another report created it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read(path).map_err(io_err)
        }
        Err(e) => Err(io_err(e)),
    }
}

/// Pseudonyms for the values of some columns, and the scrubber for text that embeds them.
pub struct Redactor {
    columns: Vec<&'static str>,
    key: Vec<u8>,
    /// Every known value of a redacted column (long enough to look for), and its pseudonym.
    embedded: Vec<(String, String)>,
    automaton: Option<AhoCorasick>,
}

impl Redactor {
    /// A redactor of `columns` under `key`, which also replaces `known` values (column,
    /// value) wherever they are embedded in other text.
    pub fn new(
        columns: Vec<&'static str>,
        key: Vec<u8>,
        known: impl IntoIterator<Item = (&'static str, String)>,
    ) -> Result<Redactor> {
        let mut redactor = Redactor {
            columns,
            key,
            embedded: Vec::new(),
            automaton: None,
        };
        // Sorted and unique, so the automaton (and thus the output) is the same every time;
        // a value of several columns takes the pseudonym of the first in REDACTABLE order.
        let mut values: BTreeMap<String, &'static str> = BTreeMap::new();
        for (column, value) in known {
            if redactor.columns.contains(&column) && value.chars().count() >= MIN_EMBEDDED_CHARS {
                let rank = |c: &str| REDACTABLE.iter().position(|(_, col)| *col == c);
                let entry = values.entry(value).or_insert(column);
                if rank(column) < rank(entry) {
                    *entry = column;
                }
            }
        }
        redactor.embedded = values
            .into_iter()
            .map(|(value, column)| {
                let pseudonym = redactor.pseudonym(column, &value);
                (value, pseudonym)
            })
            .collect();
        if !redactor.embedded.is_empty() {
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(redactor.embedded.iter().map(|(v, _)| v.as_str()))
                .map_err(|e| Error::Invalid(format!("building the redaction automaton: {e}")))?;
            redactor.automaton = Some(automaton);
        }
        Ok(redactor)
    }

    /// The redacted columns.
    pub fn columns(&self) -> &[&'static str] {
        &self.columns
    }

    /// Whether `column` is redacted.
    pub fn redacts(&self, column: &str) -> bool {
        self.columns.contains(&column)
    }

    /// The pseudonym of a value of `column`: the field name and the first hex digits of
    /// HMAC-SHA256(key, column NUL value).
    pub fn pseudonym(&self, column: &str, value: &str) -> String {
        let mut out = format!("{}-", field_name(column));
        // A key of any length is accepted by HMAC; the fallback only satisfies the type.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return out + "redacted";
        };
        mac.update(column.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        for byte in mac.finalize().into_bytes().iter().take(PSEUDONYM_HEX / 2) {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    /// A cell of `column`: its pseudonym when the column is redacted, else the text with
    /// every embedded redacted value replaced.
    pub fn cell(&self, column: &str, value: &str) -> String {
        if self.redacts(column) {
            self.pseudonym(column, value)
        } else {
            self.scrub(value)
        }
    }

    /// `text` with every redacted value in it replaced by its pseudonym.
    pub fn scrub(&self, text: &str) -> String {
        match &self.automaton {
            Some(automaton) => {
                let replacements: Vec<&str> =
                    self.embedded.iter().map(|(_, p)| p.as_str()).collect();
                automaton.replace_all(text, &replacements)
            }
            None => text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(
            vec![ACTOR, SRC_IP],
            b"0123456789abcdef0123456789abcdef".to_vec(),
            [
                (ACTOR, "alice@example.com".to_string()),
                (SRC_IP, "203.0.113.9".to_string()),
                (ACTOR, "x".to_string()),
            ],
        )
        .unwrap()
    }

    #[test]
    fn pseudonyms_are_stable_and_keyed() {
        let r = redactor();
        let p = r.pseudonym(ACTOR, "alice@example.com");
        assert_eq!(p, r.pseudonym(ACTOR, "alice@example.com"));
        assert!(p.starts_with("actor-") && p.len() == "actor-".len() + PSEUDONYM_HEX);
        assert_ne!(p, r.pseudonym(ACTOR, "bob@example.com"));
        let other = Redactor::new(vec![ACTOR], b"another key of enough bytes!".to_vec(), [])
            .unwrap()
            .pseudonym(ACTOR, "alice@example.com");
        assert_ne!(p, other, "a different key gives different pseudonyms");
    }

    #[test]
    fn embedded_values_are_replaced_and_short_ones_kept() {
        let r = redactor();
        let text = r.scrub("role assumed by alice@example.com from 203.0.113.9 (x)");
        assert!(!text.contains("alice@example.com") && !text.contains("203.0.113.9"));
        assert!(text.contains(&r.pseudonym(ACTOR, "alice@example.com")));
        assert!(text.ends_with("(x)"));
        assert_eq!(r.cell(ACTOR, "x"), r.pseudonym(ACTOR, "x"));
    }

    #[test]
    fn field_names_parse() {
        let cols = parse_fields(&[USER_AGENT.into(), "ip".into(), ACTOR.into()]).unwrap();
        assert_eq!(cols, vec![ACTOR, SRC_IP, USER_AGENT]);
        assert!(parse_fields(&["password".into()]).is_err());
    }
}
