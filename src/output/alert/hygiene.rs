//! What keeps an alert stream bearable: silences (findings of a rule, actor, source network
//! or resource not alerted until they expire) and the ledger of what was alerted when, so that
//! one rule, actor and provider alerts at most once per re-alert interval unless it got worse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::SilenceRule;
use crate::detectors::context::glob_regex;
use crate::detectors::{LiveFinding, Severity};
use crate::net::Cidr;
use crate::time::{SECOND, parse_duration};
use crate::{Error, Result};

/// Findings that are not alerted: every field given must match; fields are globs, except
/// `src_ip`, a CIDR block that any of the finding's source addresses may fall in.
#[derive(Debug, Clone)]
pub struct Silence {
    rule: Option<regex::Regex>,
    actor: Option<regex::Regex>,
    src_ip: Option<Cidr>,
    resource: Option<regex::Regex>,
    /// When it expires (µs since the epoch); `None`: never.
    pub until: Option<i64>,
    /// What it was written as, for logs.
    pub text: String,
}

impl Silence {
    /// Parses `rule=GLOB,actor=GLOB,src_ip=CIDR,resource=GLOB` (at least one of them) with an
    /// optional expiry, `until=RFC3339` or `for=DURATION` from `now` (µs); `ip` and `src` are
    /// accepted for `src_ip`.
    pub fn parse(spec: &str, now: i64) -> Result<Silence> {
        let invalid = |why: String| Error::Invalid(format!("silence '{spec}': {why}"));
        let mut rule = SilenceRule::default();
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("'{part}' is not key=value")))?;
            if value.trim().is_empty() {
                return Err(invalid(format!("'{}' has no value", key.trim())));
            }
            let text = value.trim().to_string();
            match key.trim() {
                "rule" => rule.rule = Some(text),
                "actor" => rule.actor = Some(text),
                "src_ip" | "ip" | "src" => rule.src_ip = Some(text),
                "resource" => rule.resource = Some(text),
                "until" => rule.until = Some(text),
                "for" => {
                    let us = parse_duration(&text)
                        .ok()
                        .filter(|us| *us > 0)
                        .ok_or_else(|| invalid(format!("invalid duration '{text}' (2h, 30m)")))?;
                    let until = jiff::Timestamp::from_microsecond(now.saturating_add(us))
                        .map_err(|e| invalid(e.to_string()))?;
                    rule.until = Some(until.to_string());
                }
                other => {
                    return Err(invalid(format!(
                        "unknown key '{other}' (rule, actor, src_ip, resource, until, for)"
                    )));
                }
            }
        }
        Silence::from_rule(&rule).map_err(|e| invalid(e.to_string()))
    }

    /// A silence from the configuration's `[[alert.silence]]`.
    pub fn from_rule(rule: &SilenceRule) -> Result<Silence> {
        let glob = |g: &Option<String>| g.as_deref().map(glob_regex).transpose();
        let src_ip = match &rule.src_ip {
            Some(text) => Some(
                Cidr::parse(text)
                    .ok_or_else(|| Error::Invalid(format!("invalid CIDR '{text}'")))?,
            ),
            None => None,
        };
        let until = match &rule.until {
            Some(text) => Some(
                text.trim()
                    .parse::<jiff::Timestamp>()
                    .map_err(|e| Error::Invalid(format!("invalid time '{text}': {e}")))?
                    .as_microsecond(),
            ),
            None => None,
        };
        let silence = Silence {
            rule: glob(&rule.rule)?,
            actor: glob(&rule.actor)?,
            src_ip,
            resource: glob(&rule.resource)?,
            until,
            text: describe(rule),
        };
        if silence.rule.is_none()
            && silence.actor.is_none()
            && silence.src_ip.is_none()
            && silence.resource.is_none()
        {
            return Err(Error::Invalid(
                "a silence needs at least one of rule, actor, src_ip, resource".into(),
            ));
        }
        Ok(silence)
    }

    /// Whether it has expired at `now` (µs).
    pub fn expired(&self, now: i64) -> bool {
        self.until.is_some_and(|u| u <= now)
    }

    /// Whether it silences `f` at `now` (µs).
    pub fn matches(&self, f: &LiveFinding, now: i64) -> bool {
        let glob =
            |re: &Option<regex::Regex>, value: &str| re.as_ref().is_none_or(|r| r.is_match(value));
        !self.expired(now)
            && glob(&self.rule, &f.finding.rule)
            && glob(&self.actor, &f.finding.actor)
            && self
                .src_ip
                .is_none_or(|net| f.src_ips.iter().any(|ip| net.contains_text(ip)))
            && self
                .resource
                .as_ref()
                .is_none_or(|re| f.resources.iter().any(|r| re.is_match(r)))
    }
}

fn describe(rule: &SilenceRule) -> String {
    let fields = [
        ("rule", &rule.rule),
        ("actor", &rule.actor),
        ("src_ip", &rule.src_ip),
        ("resource", &rule.resource),
        ("until", &rule.until),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    parts.join(",")
}

/// The key an alert is deduplicated by: the rule and the finding's key entities.
pub fn alert_key(f: &LiveFinding) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        f.finding.rule, f.finding.provider, f.finding.actor
    )
}

/// When a key was last alerted, and how severe it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct LastAlert {
    /// Seconds since the epoch.
    at: i64,
    #[serde(with = "crate::detectors::live::severity_name")]
    severity: Severity,
}

/// What was alerted when, by [`alert_key`]; serializable so that a restarted
/// `tail --state` does not page again for what it already paged for. Keys older than the
/// re-alert interval are forgotten, which bounds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertLedger {
    last: BTreeMap<String, LastAlert>,
}

impl AlertLedger {
    /// Nothing alerted yet.
    pub fn new() -> AlertLedger {
        AlertLedger::default()
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    /// Whether `f` may be alerted at `now` (µs) with re-alert interval `interval` (µs): its
    /// key was not alerted within the interval, or its severity rose above what was. When it
    /// may, it counts as alerted now.
    pub fn admit(&mut self, f: &LiveFinding, now: i64, interval: i64) -> bool {
        let now_s = now.div_euclid(SECOND);
        let key = alert_key(f);
        if let Some(last) = self.last.get(&key)
            && now_s - last.at < interval / SECOND
            && f.finding.severity <= last.severity
        {
            return false;
        }
        self.last.insert(
            key,
            LastAlert {
                at: now_s,
                severity: f.finding.severity,
            },
        );
        true
    }

    /// Forgets keys alerted longer ago than the interval: they no longer hold anything back.
    pub fn forget_before(&mut self, now: i64, interval: i64) {
        let now_s = now.div_euclid(SECOND);
        self.last.retain(|_, l| now_s - l.at < interval / SECOND);
    }
}
