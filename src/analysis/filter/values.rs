//! Typed values in filters: times (in the display zone), and the errors of durations and
//! CIDRs (read by [`crate::time`] and [`crate::net`], as everywhere else).

use super::*;

pub(super) enum TimeSpec {
    Date(jiff::civil::Date),
    Civil(jiff::civil::DateTime, i64),
    Instant(jiff::Timestamp, i64),
    Today,
    Yesterday,
}

pub(super) fn time_error(text: &str) -> String {
    format!(
        "invalid time '{}' (use 2024-03-01, \"2024-03-01 12:00\", or last:24h)",
        escape_control(text)
    )
}

pub(super) fn duration_error(text: &str) -> String {
    format!(
        "invalid duration '{}' (use last:30m, last:24h or last:7d)",
        escape_control(text)
    )
}

pub(super) fn parse_time(text: &str) -> Option<TimeSpec> {
    let s = text.trim();
    match s.to_ascii_lowercase().as_str() {
        "today" => return Some(TimeSpec::Today),
        "yesterday" => return Some(TimeSpec::Yesterday),
        _ => {}
    }
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let Some(sep) = s.find(['T', 't', ' ']) else {
        return s.parse::<jiff::civil::Date>().ok().map(TimeSpec::Date);
    };
    let precision = time_precision(s.get(sep + 1..)?)?;
    if s.contains('[') {
        return s
            .parse::<jiff::Zoned>()
            .ok()
            .map(|z| TimeSpec::Instant(z.timestamp(), precision));
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(TimeSpec::Instant(ts, precision));
    }
    s.parse::<jiff::civil::DateTime>()
        .ok()
        .map(|dt| TimeSpec::Civil(dt, precision))
}

/// The length of the period a time of day names: an hour, minute, second or microsecond.
pub(super) fn time_precision(time: &str) -> Option<i64> {
    let clock = |c: char| c.is_ascii_digit() || c == ':';
    let digits = time
        .chars()
        .take_while(|c| clock(*c))
        .filter(char::is_ascii_digit)
        .count();
    if time.trim_start_matches(clock).starts_with(['.', ',']) {
        return Some(1);
    }
    match digits {
        2 => Some(HOUR),
        4 => Some(MINUTE),
        6 => Some(SECOND),
        _ => None,
    }
}

impl TimeSpec {
    /// The period `[start, end)` in UTC microseconds; `None` when it is relative to the newest
    /// event and there is none.
    pub(super) fn range(&self, ctx: &FilterContext) -> Result<Option<(i64, i64)>, String> {
        let tz = &ctx.tz;
        let day = |d: jiff::civil::Date| -> Result<(i64, i64), jiff::Error> {
            let start = d.to_zoned(tz.clone())?.timestamp().as_microsecond();
            let end = d
                .tomorrow()?
                .to_zoned(tz.clone())?
                .timestamp()
                .as_microsecond();
            Ok((start, end))
        };
        let out = match self {
            TimeSpec::Date(d) => day(*d),
            TimeSpec::Civil(dt, precision) => dt.to_zoned(tz.clone()).map(|z| {
                let start = z.timestamp().as_microsecond();
                (start, start.saturating_add(*precision))
            }),
            TimeSpec::Instant(ts, precision) => {
                let start = ts.as_microsecond();
                Ok((start, start.saturating_add(*precision)))
            }
            TimeSpec::Today | TimeSpec::Yesterday => {
                let Some(newest) = ctx.newest else {
                    return Ok(None);
                };
                jiff::Timestamp::from_microsecond(newest).and_then(|ts| {
                    let date = ts.to_zoned(tz.clone()).date();
                    match self {
                        TimeSpec::Yesterday => day(date.yesterday()?),
                        _ => day(date),
                    }
                })
            }
        };
        out.map(Some).map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------------------------------
// Addresses

pub(super) fn cidr_error(text: &str, span: Range<usize>) -> FilterError {
    FilterError::new(format!("invalid CIDR '{}'", escape_control(text)), span)
}
