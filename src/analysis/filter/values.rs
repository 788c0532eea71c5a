//! Typed values in filters: times (in the display zone), durations, addresses and CIDRs.

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

pub(super) fn parse_duration(text: &str) -> Option<i64> {
    let s = text.trim().to_ascii_lowercase();
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut chars = s.chars().peekable();
    while chars.peek().is_some() {
        let mut n: i64 = 0;
        let mut digits = 0;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = n.checked_mul(10)?.checked_add(i64::from(d))?;
            digits += 1;
            chars.next();
        }
        if digits == 0 {
            return None;
        }
        let unit = match chars.next()? {
            's' => SECOND,
            'm' => MINUTE,
            'h' => HOUR,
            'd' => DAY,
            'w' => WEEK,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
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

/// An address block; IPv4-mapped IPv6 addresses count as IPv4.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cidr {
    pub(super) net: u128,
    pub(super) mask: u128,
    v4: bool,
}

pub(super) fn cidr_error(text: &str, span: Range<usize>) -> FilterError {
    FilterError::new(format!("invalid CIDR '{}'", escape_control(text)), span)
}

/// An address as (bits, is IPv4).
pub(super) fn parse_ip(s: &str) -> Option<(u128, bool)> {
    Some(match s.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => (u128::from(u32::from(a)), true),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), true),
            None => (u128::from(a), false),
        },
    })
}

pub(super) fn parse_cidr(text: &str) -> Option<Cidr> {
    let text = text.trim();
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let prefix: Option<u32> = match prefix {
        None => None,
        Some(p) if (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse().ok()?)
        }
        Some(_) => return None,
    };
    let (bits, v4, width, prefix) = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => (u128::from(u32::from(a)), true, 32, prefix.unwrap_or(32)),
        IpAddr::V6(a) => match (a.to_ipv4_mapped(), prefix) {
            (Some(m), Some(p)) if p >= 96 => (u128::from(u32::from(m)), true, 32, p - 96),
            (Some(m), None) => (u128::from(u32::from(m)), true, 32, 32),
            _ => (u128::from(a), false, 128, prefix.unwrap_or(128)),
        },
    };
    if prefix > width {
        return None;
    }
    let full = if v4 { u128::from(u32::MAX) } else { u128::MAX };
    let mask = u128::MAX
        .checked_shl(width - prefix)
        .map_or(0, |m| m & full);
    Some(Cidr {
        net: bits & mask,
        mask,
        v4,
    })
}

impl Cidr {
    pub(super) fn contains(&self, (bits, v4): (u128, bool)) -> bool {
        v4 == self.v4 && bits & self.mask == self.net
    }
}
