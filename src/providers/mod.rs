//! Provider parsers: one file per log format family, each a pure function from a record's
//! bytes to a normalized [`Event`]. This module holds the [`Provider`] trait, the registry in
//! detection order, and the field helpers every parser shares (lenient JSON values, time
//! parsing, identity shapes).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::Deserializer;

use crate::json_scan::ScanError;
pub use crate::json_scan::Text;
use crate::schema::Event;

pub mod azure_activity;
pub mod cloudtrail;
pub mod entra;
pub mod gcp;
pub mod github;
pub mod kubernetes;
pub mod okta;

/// Why a record could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The record is valid but belongs to another format; detection should try again.
    NotThisFormat,
    /// The record is broken or lacks what an event needs; the reason says what.
    Invalid(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotThisFormat => f.write_str("record is not of this format"),
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl From<ScanError> for RecordError {
    fn from(e: ScanError) -> Self {
        RecordError::Invalid(e.to_string())
    }
}

impl RecordError {
    /// An invalid-record error from a JSON parse error.
    pub fn json(err: sonic_rs::Error) -> Self {
        Self::Invalid(format!("invalid JSON: {}", first_line(&err.to_string())))
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// A parsed record used to recognize formats: only the first record of an input (and
/// records the input's format refused) are parsed this way.
pub type Probe = sonic_rs::Value;

/// One log format family.
pub trait Provider: Send + Sync {
    /// The format name users pass to `--input-format` and see in summaries.
    fn format(&self) -> &'static str;
    /// Whether a JSON record (already unwrapped from any envelope) is of this format.
    fn sniff_json(&self, probe: &Probe) -> bool;
    /// Parses one JSON record into an event.
    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError>;
    /// Whether `parse_json` itself refuses records nested deeper than
    /// [`crate::json_scan::MAX_NESTING`], so the load pipeline may skip its own check (a second
    /// pass over every record).
    fn bounds_nesting(&self) -> bool {
        false
    }
    /// Whether a table export (CSV) with these column headers is of this format.
    fn sniff_table(&self, _headers: &csv::StringRecord) -> bool {
        false
    }
    /// Parses one row of a table export.
    fn parse_table<'a>(
        &self,
        _headers: &'a csv::StringRecord,
        _row: &'a csv::StringRecord,
    ) -> Result<Event<'a>, RecordError> {
        Err(RecordError::NotThisFormat)
    }
}

/// Every provider, in detection order (most specific first).
pub fn registry() -> &'static [&'static dyn Provider] {
    static REGISTRY: [&dyn Provider; 7] = [
        &kubernetes::Kubernetes,
        &gcp::Gcp,
        &cloudtrail::CloudTrail,
        &okta::Okta,
        &entra::Entra,
        &azure_activity::AzureActivity,
        &github::GitHub,
    ];
    &REGISTRY
}

/// The provider with this format name.
pub fn by_format(name: &str) -> Option<&'static dyn Provider> {
    registry()
        .iter()
        .copied()
        .find(|p| p.format().eq_ignore_ascii_case(name))
}

/// The format names understood, for help and error messages.
pub fn format_names() -> Vec<&'static str> {
    registry().iter().map(|p| p.format()).collect()
}

/// The first provider that recognizes a JSON record.
pub fn detect_json(probe: &Probe) -> Option<&'static dyn Provider> {
    registry().iter().copied().find(|p| p.sniff_json(probe))
}

/// The first provider that recognizes a table export by its headers.
pub fn detect_table(headers: &csv::StringRecord) -> Option<&'static dyn Provider> {
    registry().iter().copied().find(|p| p.sniff_table(headers))
}

// ---------------------------------------------------------------------------------------
// Lenient JSON values: real exports put numbers where strings were, arrays where a scalar
// was, null anywhere. These types accept whatever comes and keep what is usable, so that a
// surprising type costs one field, not the record.
// ---------------------------------------------------------------------------------------

/// A number that may arrive as a JSON number or a numeric string; anything else is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Num(pub Option<f64>);

impl Num {
    /// The value as an integer, if it is one.
    pub fn as_i64(self) -> Option<i64> {
        self.0
            .filter(|v| v.fract() == 0.0 && v.is_finite())
            .map(|v| v as i64)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Text::deserialize(deserializer)?;
        Ok(Num(text.get().and_then(|s| s.trim().parse::<f64>().ok())))
    }
}

/// A boolean that may arrive as `true`, `"true"`, `"True"`, `1`; anything else is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Text::deserialize(deserializer)?;
        Ok(Flag(text.get().and_then(
            |s| match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
        )))
    }
}

/// Any JSON value, kept as its raw text (borrowed from the record), for fields parsed on
/// demand or nested JSON documents.
pub type RawJson<'a> = sonic_rs::LazyValue<'a>;

/// Parses a JSON record with serde, mapping the error to a rejection reason.
pub fn from_json<'a, T: Deserialize<'a>>(record: &'a [u8]) -> Result<T, RecordError> {
    if let Some(at) = crate::json_scan::too_deep(record) {
        return Err(RecordError::Invalid(crate::json_scan::nesting_error(at)));
    }
    sonic_rs::from_slice(record).map_err(RecordError::json)
}

/// Parses JSON text held in a string field (for example an `InitiatedBy` cell).
/// Text nested deeper than [`crate::json_scan::MAX_NESTING`] gives `None`.
pub fn from_json_str<'a, T: Deserialize<'a>>(text: &'a str) -> Option<T> {
    if crate::json_scan::too_deep(text.as_bytes()).is_some() {
        return None;
    }
    sonic_rs::from_str(text).ok()
}

// ---------------------------------------------------------------------------------------
// Probe helpers
// ---------------------------------------------------------------------------------------

/// Looks up a path of object keys in a probe.
pub fn probe_get<'p>(probe: &'p Probe, path: &[&str]) -> Option<&'p Probe> {
    use sonic_rs::JsonValueTrait;
    let mut current = probe;
    for key in path {
        current = current.get(*key)?;
    }
    Some(current)
}

/// Whether a probe has a (non-null) value at a path.
pub fn probe_has(probe: &Probe, path: &[&str]) -> bool {
    use sonic_rs::JsonValueTrait;
    probe_get(probe, path).is_some_and(|v| !v.is_null())
}

/// The string at a path of a probe.
pub fn probe_str<'p>(probe: &'p Probe, path: &[&str]) -> Option<&'p str> {
    use sonic_rs::JsonValueTrait;
    probe_get(probe, path).and_then(|v| v.as_str())
}

/// Whether a table export has a column (exact name, or the name followed by ` [UTC]` etc.).
pub fn header_has(headers: &csv::StringRecord, name: &str) -> bool {
    headers.iter().any(|h| column_matches(h, name))
}

/// Whether a CSV header names this column; Sentinel exports add ` [UTC]` to time columns.
pub fn column_matches(header: &str, name: &str) -> bool {
    let header = header.trim_start_matches('\u{feff}').trim();
    header == name
        || header
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(" ["))
}

/// The value of a named column in a table row, trimmed; empty cells give `None`.
pub fn cell<'a>(
    headers: &csv::StringRecord,
    row: &'a csv::StringRecord,
    name: &str,
) -> Option<&'a str> {
    let index = headers.iter().position(|h| column_matches(h, name))?;
    row.get(index).map(str::trim).filter(|v| !v.is_empty())
}

// ---------------------------------------------------------------------------------------
// Time parsing. All results are UTC microseconds since the Unix epoch.
// ---------------------------------------------------------------------------------------

/// Parses RFC 3339 / ISO 8601 date-times as providers write them: `Z` or `+hh:mm` offsets,
/// 0 to 9 fractional digits, `T` or space separator; a missing offset means UTC.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let mut v: i64 = 0;
        for &c in b.get(range)? {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    if b[16] != b':' {
        return None;
    }
    let second = num(17..19)?;
    let mut i = 19;
    let mut micros: i64 = 0;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let offset_secs = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (oh, om) = match rest.len() {
                5 if rest[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                2 => (num(i + 1..i + 3)?, 0),
                _ => return None,
            };
            let secs = oh * 3600 + om * 60;
            if sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1_000_000 + micros)
}

/// Parses the US date-times of Sentinel portal exports: `4/28/2021, 2:08:45.221 PM`
/// (month/day/year, 12-hour clock, optional fraction), taken as UTC.
pub fn parse_us_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_once(',').or_else(|| s.split_once(' '))?;
    let mut parts = date.trim().split('/');
    let month: i64 = parts.next()?.trim().parse().ok()?;
    let day: i64 = parts.next()?.trim().parse().ok()?;
    let year: i64 = parts.next()?.trim().parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let rest = rest.trim();
    let (clock, meridiem) = match rest.rsplit_once(' ') {
        Some((clock, m)) if m.eq_ignore_ascii_case("AM") || m.eq_ignore_ascii_case("PM") => {
            (clock.trim(), Some(m.eq_ignore_ascii_case("PM")))
        }
        _ => (rest, None),
    };
    let mut hms = clock.split(':');
    let mut hour: i64 = hms.next()?.trim().parse().ok()?;
    let minute: i64 = hms.next()?.trim().parse().ok()?;
    let sec_text = hms.next().unwrap_or("0");
    let (sec_whole, frac) = sec_text.split_once('.').unwrap_or((sec_text, ""));
    let second: i64 = sec_whole.trim().parse().ok()?;
    let mut micros: i64 = 0;
    for (i, c) in frac.bytes().take(6).enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        micros += i64::from(c - b'0') * 10_i64.pow(5 - i as u32);
    }
    if let Some(pm) = meridiem {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = match (hour, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000 + micros)
}

/// Converts an epoch number to microseconds, guessing the unit from its magnitude
/// (seconds, milliseconds, microseconds or nanoseconds), as exports mix them.
pub fn epoch_to_micros(value: f64) -> Option<i64> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    let micros = if value < 1e11 {
        value * 1e6
    } else if value < 1e14 {
        value * 1e3
    } else if value < 1e17 {
        value
    } else {
        value / 1e3
    };
    Some(micros.round() as i64)
}

/// Parses a time written either as RFC 3339 text, a US export date-time, or an epoch number.
pub fn parse_time_text(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if t.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return t.parse::<f64>().ok().and_then(epoch_to_micros);
    }
    parse_rfc3339(t).or_else(|| parse_us_datetime(t))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------
// Small shared shapes
// ---------------------------------------------------------------------------------------

/// Whether an action name reads rather than changes (Get/List/Describe/... prefixes), for
/// formats that do not say.
pub fn looks_read_only(action: &str) -> bool {
    const READ_PREFIXES: [&str; 12] = [
        "get", "list", "describe", "head", "lookup", "search", "query", "read", "watch", "view",
        "batchget", "check",
    ];
    let lower = action.trim().to_ascii_lowercase();
    let last = lower.rsplit(['.', '/', ':']).next().unwrap_or(&lower);
    READ_PREFIXES.iter().any(|p| last.starts_with(p))
}

/// Joins non-empty `key=value` pairs into the compact `details` text.
pub fn details_from(pairs: &[(&str, Option<&str>)]) -> Option<Cow<'static, str>> {
    let mut out = String::new();
    for (key, value) in pairs {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(v);
        }
    }
    (!out.is_empty()).then_some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_variants_parse_to_the_same_instant() {
        let base = parse_rfc3339("2019-10-18T09:45:48Z").unwrap();
        assert_eq!(base, 1_571_391_948_000_000);
        assert_eq!(
            parse_rfc3339("2019-10-18T09:45:48.0729893Z"),
            Some(base + 72_989)
        );
        assert_eq!(
            parse_rfc3339("2019-10-18T04:45:48.0729893-05:00"),
            Some(base + 72_989)
        );
        assert_eq!(parse_rfc3339("2019-10-18 09:45:48"), Some(base));
        assert_eq!(parse_rfc3339("2019-10-18T09:45:48+0000"), Some(base));
        assert_eq!(
            parse_rfc3339("2020-06-30T16:14:47.593398572Z").map(|t| t % 1_000_000),
            Some(593_398)
        );
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            "",
            "2019-13-18T09:45:48Z",
            "2019-02-30T00:00:00Z",
            "yesterday",
            "2019-10-18T09:45:48Q",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn us_export_times_use_the_12_hour_clock() {
        let pm = parse_us_datetime("4/28/2021, 2:08:45.221 PM").unwrap();
        assert_eq!(pm, parse_rfc3339("2021-04-28T14:08:45.221Z").unwrap());
        let midnight = parse_us_datetime("4/26/2021, 12:17:58.447 AM").unwrap();
        assert_eq!(midnight, parse_rfc3339("2021-04-26T00:17:58.447Z").unwrap());
        assert_eq!(parse_us_datetime("13/26/2021, 1:00:00 PM"), None);
    }

    #[test]
    fn epoch_units_are_inferred() {
        let us = parse_rfc3339("2024-03-26T05:33:15.806Z").unwrap();
        assert_eq!(epoch_to_micros(1_711_431_195_806.0), Some(us));
        assert_eq!(epoch_to_micros(1_711_431_195.806), Some(us));
        assert_eq!(parse_time_text("1711431195806"), Some(us));
    }

    #[test]
    fn lenient_text_accepts_any_type() {
        #[derive(Deserialize)]
        struct R<'a> {
            #[serde(borrow, default)]
            a: Text<'a>,
            #[serde(borrow, default)]
            b: Text<'a>,
            #[serde(borrow, default)]
            c: Text<'a>,
            #[serde(borrow, default)]
            d: Text<'a>,
        }
        let r: R = from_json(br#"{"a":"x\"y","b":12,"c":[1,2],"d":null}"#).unwrap();
        assert_eq!(r.a.get(), Some("x\"y"));
        assert_eq!(r.b.get(), Some("12"));
        assert_eq!(r.c.get(), None);
        assert_eq!(r.d.get(), None);
    }

    #[test]
    fn read_only_guess_uses_the_verb() {
        assert!(looks_read_only("DescribeInstances"));
        assert!(looks_read_only("google.iam.admin.v1.GetRole"));
        assert!(!looks_read_only("AttachUserPolicy"));
    }
}
