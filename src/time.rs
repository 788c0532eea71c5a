//! Time as the crate counts it: UTC microseconds since the epoch, the units to count them
//! in, and the one reader and writer of durations (`90s`, `15m`, `1h30m`, `2d`, `1w`) that
//! every place taking a duration uses (the filter's `last:`, `--bucket`, saved specs).

/// Microseconds in a second.
pub const SECOND: i64 = 1_000_000;
/// Microseconds in a minute.
pub const MINUTE: i64 = 60 * SECOND;
/// Microseconds in an hour.
pub const HOUR: i64 = 60 * MINUTE;
/// Microseconds in a day (24 hours; no calendar).
pub const DAY: i64 = 24 * HOUR;
/// Microseconds in a week.
pub const WEEK: i64 = 7 * DAY;
/// Microseconds in a 365-day year.
pub const YEAR: i64 = 365 * DAY;

/// Weekday names, Monday first, as tables and profiles show them.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Weekday names in full, Monday first.
pub const WEEKDAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A weekday from text starting with its first three letters (`mon`, `Monday`), Monday
/// being 0.
pub fn parse_weekday(text: &str) -> Option<u32> {
    let t = text.trim().to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .position(|d| t.starts_with(&d.to_ascii_lowercase()))
        .map(|i| i as u32)
}

/// Why a duration could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Not a duration: no number, no unit, or an unknown unit.
    Invalid,
    /// Longer than microseconds in an `i64` reach (about 292,000 years).
    TooLong,
}

/// The units a duration is written in, largest first, with their names.
const UNITS: [(i64, &str); 5] = [
    (WEEK, "w"),
    (DAY, "d"),
    (HOUR, "h"),
    (MINUTE, "m"),
    (SECOND, "s"),
];

/// Parses a duration into microseconds: one or more `NUMBER UNIT` parts that add up, units
/// `ms`, `s` (`sec`), `m` (`min`), `h`, `d` (24 hours) and `w`, in any case, spaces allowed
/// between and inside parts: `90s`, `5m`, `1h30m`, `2d 12h`. Zero is a duration; callers
/// that need a positive one say so.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Invalid);
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(DurationError::Invalid);
        }
        let (number, after) = rest.split_at(digits);
        // More digits than an i64 holds is no number this parser reads, not a long duration.
        let n: i64 = number.parse().map_err(|_| DurationError::Invalid)?;
        let after = after.trim_start();
        let letters = after.len()
            - after
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, after) = after.split_at(letters);
        let unit = match unit.to_ascii_lowercase().as_str() {
            "ms" => SECOND / 1000,
            "s" | "sec" => SECOND,
            "m" | "min" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            "w" => WEEK,
            _ => return Err(DurationError::Invalid),
        };
        let part = n.checked_mul(unit).ok_or(DurationError::TooLong)?;
        total = total.checked_add(part).ok_or(DurationError::TooLong)?;
        rest = after.trim_start();
    }
    Ok(total)
}

/// Writes a duration the way [`parse_duration`] reads it, largest units first (`1h30m`,
/// `1w`, `0s`); `None` when it is not a whole number of seconds, which no written duration is.
pub fn format_duration(micros: i64) -> Option<String> {
    if micros < 0 || micros % SECOND != 0 {
        return None;
    }
    if micros == 0 {
        return Some("0s".to_string());
    }
    let mut rest = micros;
    let mut out = String::new();
    for (unit, name) in UNITS {
        if rest >= unit {
            out.push_str(&format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_single_or_compound() {
        assert_eq!(parse_duration("90s"), Ok(90 * SECOND));
        assert_eq!(parse_duration("5m"), Ok(5 * MINUTE));
        assert_eq!(parse_duration("5 min"), Ok(5 * MINUTE));
        assert_eq!(parse_duration("30sec"), Ok(30 * SECOND));
        assert_eq!(parse_duration("1h30m"), Ok(HOUR + 30 * MINUTE));
        assert_eq!(parse_duration(" 2D 12H "), Ok(2 * DAY + 12 * HOUR));
        assert_eq!(parse_duration("1w"), Ok(WEEK));
        assert_eq!(parse_duration("0m"), Ok(0));
    }

    #[test]
    fn malformed_durations_are_refused() {
        for bad in [
            "", "h", "5", "5x", "1h30", "-5m", "+5m", "5mins", "1.5h", "h1",
        ] {
            assert_eq!(parse_duration(bad), Err(DurationError::Invalid), "{bad}");
        }
        assert_eq!(
            parse_duration("99999999999999999999s"),
            Err(DurationError::Invalid)
        );
        assert_eq!(
            parse_duration("99999999999999w"),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            parse_duration("9223372036854s9223372036854s"),
            Err(DurationError::TooLong)
        );
    }

    #[test]
    fn formatted_durations_read_back() {
        for us in [
            0,
            SECOND,
            90 * SECOND,
            HOUR + 30 * MINUTE,
            WEEK,
            30 * DAY,
            3 * YEAR,
        ] {
            let text = format_duration(us).unwrap();
            assert_eq!(parse_duration(&text), Ok(us), "{text}");
        }
        assert_eq!(
            format_duration(HOUR + 30 * MINUTE).as_deref(),
            Some("1h30m")
        );
        assert_eq!(format_duration(1), None);
    }
}
