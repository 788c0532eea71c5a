//! Time parsing for providers: RFC 3339 / ISO 8601 as providers write them, the US
//! date-times of Sentinel portal exports, and epoch numbers of any unit. Every result is UTC
//! microseconds since the Unix epoch; the calendar (month lengths, leap years, days since the
//! epoch) is jiff's.

use jiff::civil::Date;

/// Days in a 400-year Gregorian cycle: the calendar repeats after it.
const DAYS_PER_CYCLE: i64 = 146_097;

/// Parses RFC 3339 / ISO 8601 date-times as providers write them: `Z`, `+hh:mm`, `+hhmm` or
/// `+hh` offsets, 0 to 9 (or more) fractional digits after `.` or `,` (kept to the
/// microsecond), `T`, `t` or space separator, a leap second `:60` (the next second), and a
/// missing offset meaning UTC.
///
/// Hand-written field scanner, kept on purpose: jiff's parser (`jiff::Timestamp::from_str`)
/// reads differently what providers write (it clamps `:60` to `:59`, refuses a missing
/// offset and more than nine fractional digits, and accepts offsets with seconds and
/// `[zone]` suffixes that this refuses), so switching would change loaded times. It is also
/// on the load hot path (once per record), where it measured 44-68 ns a call against 53-98
/// ns for jiff's parser (release build, shared 2-core machine; a CloudTrail record takes
/// about 4,000 ns to parse). The calendar behind it is jiff's.
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
    let secs = utc_seconds(year, month, day, hour, minute, second)?;
    Some((secs - offset_secs) * 1_000_000 + micros)
}

/// Parses the US date-times of Sentinel portal exports and of Azure's .NET-formatted times:
/// `4/28/2021, 2:08:45.221 PM`, `1/9/2007 10:41:00 AM +01:00`, `01/09/2007 09:41:00`
/// (always month/day/year, as Azure writes it; 12- or 24-hour clock, optional fraction,
/// optional UTC offset `+hh:mm`, `+hhmm` or `+hh`, UTC without one).
pub fn parse_us_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let (s, offset_secs) = match s.rsplit_once(' ') {
        Some((before, last)) if last.starts_with(['+', '-']) => {
            (before.trim_end(), utc_offset(last)?)
        }
        _ => (s, 0),
    };
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
    let secs = utc_seconds(year, month, day, hour, minute, second)? - offset_secs;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

/// Seconds east of UTC of an offset written `+hh:mm`, `+hhmm` or `+hh` (`-` west).
fn utc_offset(text: &str) -> Option<i64> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = match (digits.len(), digits.split_once(':')) {
        (5, Some((h, m))) => (h, m),
        (4, None) => digits.split_at(2),
        (2, None) => (digits, "00"),
        _ => return None,
    };
    let all_digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3600 + minutes * 60))
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

/// Seconds since the epoch of a UTC date and time of day; `None` unless the date exists and
/// the time is within 00:00:00..=23:59:60 (a leap second counts as the next second).
fn utc_seconds(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
) -> Option<i64> {
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day)?;
    days.checked_mul(86_400)?
        .checked_add(hour * 3600 + minute * 60 + second)
}

/// Days from 1970-01-01 to a proleptic Gregorian date, `None` if the date does not exist.
/// jiff's dates span the years -9999..=9999; exports can write any year (an out-of-range one
/// is then refused by the loader with its value), so the year is first moved into jiff's
/// span by whole 400-year cycles, over which the calendar repeats.
fn days_since_epoch(year: i64, month: i64, day: i64) -> Option<i64> {
    const EPOCH: Date = Date::constant(1970, 1, 1);
    let cycles = year.div_euclid(400) - 5;
    let in_span = year.rem_euclid(400) + 2000;
    let date = Date::new(
        i16::try_from(in_span).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    let days = date.duration_since(EPOCH).as_secs() / 86_400;
    cycles.checked_mul(DAYS_PER_CYCLE)?.checked_add(days)
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
    fn rfc3339_reads_every_offset_fraction_and_separator_providers_write() {
        let base = parse_rfc3339("2019-10-18T09:45:48Z").unwrap();
        for (text, want) in [
            ("2019-10-18t09:45:48z", base),
            ("2019-10-18T11:45:48+02", base),
            ("2019-10-18T11:45:48+0200", base),
            ("2019-10-18T04:15:48-0530", base),
            ("2019-10-18T09:45:48,5Z", base + 500_000),
            ("  2019-10-18T09:45:48Z  ", base),
            ("2019-10-18T09:45:48.1234567891234Z", base + 123_456),
        ] {
            assert_eq!(parse_rfc3339(text), Some(want), "{text}");
        }
        // Digits past the microsecond are dropped, not rounded.
        for digits in 1..=9u32 {
            let text = format!("2019-10-18T09:45:48.{}Z", "9".repeat(digits as usize));
            let kept = digits.min(6);
            let want = base + (10_i64.pow(kept) - 1) * 10_i64.pow(6 - kept);
            assert_eq!(parse_rfc3339(&text), Some(want), "{text}");
        }
    }

    #[test]
    fn a_leap_second_is_the_next_second() {
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z"),
            parse_rfc3339("2017-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60.5Z"),
            parse_rfc3339("2017-01-01T00:00:00.5Z")
        );
        assert_eq!(parse_rfc3339("2016-12-31T23:59:61Z"), None);
    }

    #[test]
    fn calendar_limits_hold_in_every_year() {
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_some());
        assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_some());
        assert_eq!(parse_rfc3339("1900-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-04-31T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-04-30T24:00:00Z"), None);
        assert_eq!(parse_rfc3339("2023-04-30T23:60:00Z"), None);
        assert_eq!(
            parse_rfc3339("0000-01-01T00:00:00Z"),
            Some(-62_167_219_200_000_000)
        );
        assert_eq!(
            parse_rfc3339("9999-12-31T23:59:59Z"),
            Some(253_402_300_799_000_000)
        );
        // Years outside jiff's span keep the same calendar.
        let in_span = parse_us_datetime("2/29/2000, 1:00:00 AM").unwrap();
        let far = parse_us_datetime("2/29/12000, 1:00:00 AM").unwrap();
        assert_eq!(far - in_span, 25 * DAYS_PER_CYCLE * 86_400_000_000);
        assert_eq!(parse_us_datetime("2/29/11900, 1:00:00 AM"), None);
        assert_eq!(
            parse_us_datetime("1/1/9223372036854775807, 1:00:00 AM"),
            None
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
            "2019-10-18T09:45:48.Z",
            "2019-10-18T09:45:48+05:30:00",
            "2019-10-18T09:45:48Z[UTC]",
            "2019-10-18T09:45:48+5",
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
        assert_eq!(
            parse_us_datetime("4/28/2021 14:08"),
            parse_rfc3339("2021-04-28T14:08:00Z")
        );
        assert_eq!(parse_us_datetime("4/28/2021, 13:08:00 PM"), None);
    }

    #[test]
    fn every_time_format_azure_and_entra_write_reads_as_one_instant() {
        // The formats Elastic's Azure integration tests for Activity, audit and sign-in
        // records (`*time-formats-corner-cases.log`): one instant, 2007-01-09 09:41 UTC,
        // month first as Azure writes it.
        let want = parse_rfc3339("2007-01-09T09:41:00Z").unwrap();
        for (text, extra_micros) in [
            ("01/09/2007 09:41:00", 0),
            ("1/9/2007 09:41:00", 0),
            ("01/09/2007 09:41:00 AM", 0),
            ("1/9/2007 9:41:00 AM", 0),
            ("1/9/2007 10:41:00 AM +01:00", 0),
            ("2007-01-09T09:41:00", 0),
            ("2007-01-09T09:41:00.22Z", 220_000),
            ("2007-01-09T09:41:00.6816663Z", 681_666),
            ("2007-01-09T09:41:00.535404056Z", 535_404),
            ("2007-01-09T09:41:00.992099+00:00", 992_099),
            ("2007-01-09T11:41:00+02:00", 0),
        ] {
            assert_eq!(parse_time_text(text), Some(want + extra_micros), "{text}");
        }
        // Offsets in every spelling, west of UTC and on a 24-hour clock too.
        for text in [
            "1/9/2007 4:11:00 AM -05:30",
            "1/9/2007 04:11:00 -0530",
            "1/9/2007, 4:41:00 AM -05",
            "1/9/2007 9:41:00 AM +00:00",
        ] {
            assert_eq!(parse_time_text(text), Some(want), "{text}");
        }
        // The afternoon, past midnight UTC.
        assert_eq!(
            parse_time_text("1/9/2007 11:30:00 PM -02:00"),
            parse_rfc3339("2007-01-10T01:30:00Z")
        );
        // Unreadable offsets and dates stay unreadable.
        for bad in [
            "1/9/2007 10:41:00 AM +1:00",
            "1/9/2007 10:41:00 AM +01:60",
            "1/9/2007 10:41:00 AM +",
            "13/9/2007 10:41:00 AM",
            "1/9/2007 10:41:00 AM +01:00 +01:00",
        ] {
            assert_eq!(parse_time_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn epoch_units_are_inferred() {
        let us = parse_rfc3339("2024-03-26T05:33:15.806Z").unwrap();
        assert_eq!(epoch_to_micros(1_711_431_195_806.0), Some(us));
        assert_eq!(epoch_to_micros(1_711_431_195.806), Some(us));
        assert_eq!(parse_time_text("1711431195806"), Some(us));
        assert_eq!(
            parse_time_text("4/28/2021, 2:08:45.221 PM"),
            parse_rfc3339("2021-04-28T14:08:45.221Z")
        );
    }
}
