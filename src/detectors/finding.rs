//! What rules produce: a [`Finding`] (the events behind it, its severity and the reason, for a
//! person), built from one or more judged events ([`Hit`]s) grouped per actor and run of time,
//! and the wording helpers reasons share (times, durations).

use super::event::Ev;
use super::{DAY, HOUR, MINUTE, RuleInfo};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Context worth knowing.
    Info,
    /// Unusual, rarely harmful.
    Low,
    /// Worth a look.
    Medium,
    /// Likely harmful.
    High,
    /// Act now.
    Critical,
}

impl Severity {
    /// The lowercase name (`info` ... `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(name: &str) -> Option<Severity> {
        match name.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// One step more severe (critical stays critical).
    pub fn up(self) -> Severity {
        match self {
            Severity::Info => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            _ => Severity::Critical,
        }
    }

    /// One step less severe (info stays info).
    pub fn down(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// One explained detection: the events behind it and why they matter.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Rule id (`audit-log-tampering`).
    pub rule: String,
    /// Short title for lists.
    pub title: String,
    /// How much it matters.
    pub severity: Severity,
    /// Time of the first event behind it (µs since the epoch, UTC).
    pub time: Option<i64>,
    /// The principal it is about.
    pub actor: String,
    /// The provider of the events.
    pub provider: String,
    /// The provider's own ids of every event behind it.
    pub event_ids: Vec<String>,
    /// Row indices of those events in the frame the rules ran on.
    pub rows: Vec<u32>,
    /// How many events are behind it.
    pub count: u64,
    /// Why, with the evidence, for a person.
    pub reason: String,
    /// MITRE ATT&CK technique ids (`T1562.008`).
    pub mitre: Vec<String>,
}

impl Finding {
    /// Which finding this is across runs of the rules over a growing frame: the rule, the
    /// provider, the actor and the first event behind it (its id and time). A burst that grows
    /// keeps its identity; counts, severity and reason may change.
    pub fn identity(&self) -> u64 {
        let first = self.event_ids.first().map(String::as_str).unwrap_or("");
        let key = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.rule,
            self.provider,
            self.actor,
            first,
            self.time.unwrap_or(i64::MIN)
        );
        xxhash_rust::xxh3::xxh3_64(key.as_bytes())
    }
}

/// The order findings are reported in: by time, the most severe first, then by rule and actor.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.time, b.severity, &a.rule, &a.actor).cmp(&(b.time, a.severity, &b.rule, &b.actor))
    });
}

/// One event a rule judged, with its severity and reason.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The event.
    pub ev: Ev,
    /// How much it matters.
    pub severity: Severity,
    /// Why, for a person.
    pub reason: String,
}

/// A finding over `events` (at least one).
pub fn finding(info: &RuleInfo, severity: Severity, events: &[&Ev], reason: String) -> Finding {
    let first = events.first();
    Finding {
        rule: info.id.to_string(),
        title: info.title.to_string(),
        severity,
        time: first.map(|e| e.time),
        actor: first.map(|e| e.actor.clone()).unwrap_or_default(),
        provider: first.map(|e| e.provider.clone()).unwrap_or_default(),
        event_ids: events.iter().map(|e| e.event_id.clone()).collect(),
        rows: events.iter().map(|e| e.row).collect(),
        count: events.len() as u64,
        reason,
        mitre: info.mitre.iter().map(|m| m.to_string()).collect(),
    }
}

/// Groups hits of one rule into findings: one per provider, actor and run of hits no more than
/// `gap` apart. The finding takes the highest severity, the reason of its most severe hit,
/// and says what else it covers.
pub fn group_hits(info: &RuleInfo, hits: Vec<Hit>, gap: i64) -> Vec<Finding> {
    group(info, hits, true, |a, b| b.ev.time - a.ev.time <= gap)
}

/// [`group_hits`] across providers (one actor's sign-ins in Entra and Okta, say).
pub fn group_hits_across(info: &RuleInfo, hits: Vec<Hit>, gap: i64) -> Vec<Finding> {
    group(info, hits, false, |a, b| b.ev.time - a.ev.time <= gap)
}

/// Groups hits judged per principal ([`super::principal`]), each paired with its principal's
/// number, into one finding per provider, principal and UTC day, whichever of the
/// principal's actor names (a role's sessions) each hit carries: for rules whose hits are
/// each unremarkable alone (an action new for the principal), where a day of novelties is
/// what a person reviews.
pub fn group_principal_hits_by_day(info: &RuleInfo, mut hits: Vec<(u32, Hit)>) -> Vec<Finding> {
    hits.sort_by(|(p, a), (q, b)| {
        (&a.ev.provider, p, a.ev.time, &a.ev.actor).cmp(&(
            &b.ev.provider,
            q,
            b.ev.time,
            &b.ev.actor,
        ))
    });
    let (owners, hits): (Vec<u32>, Vec<Hit>) = hits.into_iter().unzip();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=hits.len() {
        let split = i == hits.len()
            || owners[i] != owners[i - 1]
            || hits[i].ev.provider != hits[i - 1].ev.provider
            || hits[i].ev.time.div_euclid(DAY) != hits[i - 1].ev.time.div_euclid(DAY);
        if split {
            out.push(merge(info, &hits[start..i]));
            start = i;
        }
    }
    out
}

/// Sorts hits by (provider,) actor and time and merges each run the same actor's
/// consecutive hits stay `together` in.
fn group(
    info: &RuleInfo,
    mut hits: Vec<Hit>,
    by_provider: bool,
    together: impl Fn(&Hit, &Hit) -> bool,
) -> Vec<Finding> {
    hits.sort_by(|a, b| {
        if !by_provider {
            return (&a.ev.actor, a.ev.time).cmp(&(&b.ev.actor, b.ev.time));
        }
        (&a.ev.provider, &a.ev.actor, a.ev.time).cmp(&(&b.ev.provider, &b.ev.actor, b.ev.time))
    });
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=hits.len() {
        let split = i == hits.len()
            || hits[i].ev.actor != hits[i - 1].ev.actor
            || (by_provider && hits[i].ev.provider != hits[i - 1].ev.provider)
            || !together(&hits[i - 1], &hits[i]);
        if split {
            out.push(merge(info, &hits[start..i]));
            start = i;
        }
    }
    out
}

fn merge(info: &RuleInfo, hits: &[Hit]) -> Finding {
    let top = hits
        .iter()
        .enumerate()
        .max_by_key(|(i, h)| (h.severity, std::cmp::Reverse(*i)))
        .map(|(_, h)| h);
    let severity = top.map_or(info.severity, |h| h.severity);
    let mut reason = top.map(|h| h.reason.clone()).unwrap_or_default();
    if hits.len() > 1 {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for h in hits {
            match counts.iter_mut().find(|(a, _)| *a == h.ev.action) {
                Some((_, n)) => *n += 1,
                None => counts.push((h.ev.action.clone(), 1)),
            }
        }
        let list: Vec<String> = counts
            .iter()
            .map(|(a, n)| {
                if *n > 1 {
                    format!("{a} ×{n}")
                } else {
                    a.clone()
                }
            })
            .collect();
        let minutes = (hits[hits.len() - 1].ev.time - hits[0].ev.time) / MINUTE;
        reason.push_str(&format!(
            " ({} events in {} min: {})",
            hits.len(),
            minutes,
            list.join(", ")
        ));
    }
    let events: Vec<&Ev> = hits.iter().map(|h| &h.ev).collect();
    finding(info, severity, &events, reason)
}

/// `HH:MM` UTC of a time.
pub fn hhmm_utc(us: i64) -> String {
    let t = us.rem_euclid(DAY) / MINUTE;
    format!("{:02}:{:02} UTC", t / 60, t % 60)
}

/// `YYYY-MM-DD HH:MM UTC` of a time.
pub fn when_utc(us: i64) -> String {
    let text = crate::text::format_time_utc(us);
    let mut out: String = text.chars().take(16).collect();
    out = out.replace('T', " ");
    out.push_str(" UTC");
    out
}

/// A duration for a reason: `20 min`, `3 h`, `2.5 h`, `3.1 days`.
pub(crate) fn hours_text(us: i64) -> String {
    let h = us as f64 / HOUR as f64;
    if us < HOUR {
        format!("{} min", (us / MINUTE).max(1))
    } else if h >= 48.0 {
        format!("{:.1} days", h / 24.0)
    } else if (h - h.round()).abs() < 0.05 {
        format!("{} h", h.round() as i64)
    } else {
        format!("{h:.1} h")
    }
}

/// The finding, about `actor` (the grantee or owner rather than whoever acted).
pub(crate) fn with_actor(mut f: Finding, actor: &str) -> Finding {
    f.actor = actor.to_string();
    f
}

/// Findings at or above a severity.
pub fn at_least(findings: &[Finding], min: Severity) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.severity >= min)
        .cloned()
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn severities_step() {
        assert_eq!(Severity::Medium.up(), Severity::High);
        assert_eq!(Severity::Critical.up(), Severity::Critical);
        assert_eq!(Severity::Info.down(), Severity::Info);
        assert!(Severity::High > Severity::Medium);
    }
}
