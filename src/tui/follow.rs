//! What follow mode (`trailscope -f`) keeps: whether the events table sticks to the newest
//! row or keeps the user's place (as `less +F` does), how fast events arrive, which findings
//! were seen and which were announced; and when the detectors run (at most every
//! [`DETECT_EVERY`], one run at a time, while loading too). `arrivals.rs` applies them.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::detectors::{Finding, Severity};
use crate::text::escape_control;

/// Over how long the arrival rate is measured.
pub const RATE_WINDOW: Duration = Duration::from_secs(5);
/// Arrivals closer together than this are counted together (bounds the samples kept).
const RATE_QUANTUM: Duration = Duration::from_millis(200);
/// The least time between the starts of two detection runs while events keep coming.
pub const DETECT_EVERY: Duration = Duration::from_secs(2);

/// How many events arrived recently: a rate over the last [`RATE_WINDOW`].
#[derive(Debug, Clone, Default)]
pub struct ArrivalRate {
    /// When counting began (the rate of the first seconds is over the time since).
    since: Option<Instant>,
    /// Events per [`RATE_QUANTUM`], oldest first, none older than the window.
    samples: VecDeque<(Instant, u64)>,
}

impl ArrivalRate {
    /// Starts counting (once).
    pub fn start(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// Counts `events` arrived at `now`.
    pub fn record(&mut self, now: Instant, events: u64) {
        self.start(now);
        match self.samples.back_mut() {
            Some((at, n)) if now.saturating_duration_since(*at) < RATE_QUANTUM => *n += events,
            _ => self.samples.push_back((now, events)),
        }
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > RATE_WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// Events per second over the last [`RATE_WINDOW`] (or since counting began, at least
    /// a second, so that the first arrivals do not read as a burst).
    pub fn per_second(&self, now: Instant) -> f64 {
        let Some(since) = self.since else {
            return 0.0;
        };
        let events: u64 = self
            .samples
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= RATE_WINDOW)
            .map(|(_, n)| n)
            .sum();
        let span = now
            .saturating_duration_since(since)
            .clamp(Duration::from_secs(1), RATE_WINDOW);
        events as f64 / span.as_secs_f64()
    }
}

/// A finding announced in the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    /// Its severity.
    pub severity: Severity,
    /// What the status bar says, escaped.
    pub text: String,
}

/// What follow mode keeps.
#[derive(Debug, Clone)]
pub struct FollowModel {
    /// Whether the inputs are followed (`-f`).
    pub active: bool,
    /// Whether the events table stays on the newest row as rows arrive (else the selection
    /// stays on its event).
    pub sticking: bool,
    /// Events arriving after the initial load.
    pub rate: ArrivalRate,
    /// The rate as of the last tick (events per second), for drawing.
    pub shown_rate: f64,
    /// The least severe finding announced.
    pub announce_at: Severity,
    /// The identities of every finding seen (a finding that grows keeps its identity).
    seen: HashSet<u64>,
    /// Whether the findings of the initial load are known, so that later ones are new.
    pub(super) seeded: bool,
    /// How many findings were announced.
    pub announced: u64,
    /// The latest announcement, until the findings view is opened.
    pub latest: Option<Announcement>,
}

impl FollowModel {
    /// Not following; findings at least `announce_at` would be announced.
    pub fn new(announce_at: Severity) -> FollowModel {
        FollowModel {
            active: false,
            sticking: false,
            rate: ArrivalRate::default(),
            shown_rate: 0.0,
            announce_at,
            seen: HashSet::new(),
            seeded: false,
            announced: 0,
            latest: None,
        }
    }

    /// Notes the findings of a detection run (with their [`Finding::identity`]): the ones
    /// never seen before are new, and when `announce` is set, the new ones at least
    /// [`FollowModel::announce_at`] are announced (the most severe named, the others
    /// counted). Returns how many were announced.
    pub fn note_findings(
        &mut self,
        findings: &[Finding],
        identities: &[u64],
        announce: bool,
    ) -> usize {
        let mut fresh: Vec<&Finding> = findings
            .iter()
            .zip(identities)
            .filter(|(_, id)| self.seen.insert(**id))
            .map(|(f, _)| f)
            .filter(|f| f.severity >= self.announce_at)
            .collect();
        if !announce || fresh.is_empty() {
            return 0;
        }
        fresh.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let top = fresh[0];
        let more = match fresh.len() - 1 {
            0 => String::new(),
            n => format!(" (+{n} more)"),
        };
        let actor = if top.actor.is_empty() {
            String::new()
        } else {
            format!(" · {}", escape_control(&top.actor))
        };
        self.announced += fresh.len() as u64;
        self.latest = Some(Announcement {
            severity: top.severity,
            text: format!(
                "⚑ new {} finding: {}{actor}{more}",
                top.severity.as_str(),
                escape_control(&top.title)
            ),
        });
        fresh.len()
    }
}

/// When the detectors run: on a change of the frame, one run at a time, at most every
/// [`DETECT_EVERY`] unless urgent.
#[derive(Debug, Clone, Default)]
pub struct DetectCadence {
    /// The frame changed since the last run started.
    pub wanted: bool,
    /// Run as soon as no run is under way (everything that existed was loaded).
    pub urgent: bool,
    /// When the last run started.
    pub last_start: Option<Instant>,
    /// The run under way was started after the initial load.
    pub run_after_load: bool,
    /// The run under way may announce new findings.
    pub run_announces: bool,
}

impl DetectCadence {
    /// Whether a run should start at `now` (`running`: one is under way).
    pub fn due(&self, now: Instant, running: bool) -> bool {
        self.wanted
            && !running
            && (self.urgent
                || self
                    .last_start
                    .is_none_or(|t| now.saturating_duration_since(t) >= DETECT_EVERY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, severity: Severity, count: u64) -> Finding {
        Finding {
            rule: rule.into(),
            title: format!("{rule} title"),
            severity,
            time: Some(1_700_000_000_000_000),
            actor: "mallory\u{1b}[31m".into(),
            provider: "aws".into(),
            count,
            event_ids: vec![format!("{rule}-first"), "later".into()],
            rows: vec![0, 1],
            reason: "why".into(),
            mitre: Vec::new(),
        }
    }

    /// Notes a run's findings with their identities, as the detection job computes them.
    fn note(follow: &mut FollowModel, findings: &[Finding], announce: bool) -> usize {
        let ids: Vec<u64> = findings.iter().map(Finding::identity).collect();
        follow.note_findings(findings, &ids, announce)
    }

    #[test]
    fn the_rate_counts_the_last_seconds_only() {
        let t0 = Instant::now();
        let mut rate = ArrivalRate::default();
        assert_eq!(rate.per_second(t0), 0.0);
        rate.start(t0);
        // 1,000 events every 100 ms for 10 s: 10,000 per second.
        for i in 1..=100 {
            rate.record(t0 + Duration::from_millis(100 * i), 1_000);
        }
        let at = t0 + Duration::from_secs(10);
        let per_second = rate.per_second(at);
        assert!((9_500.0..=10_500.0).contains(&per_second), "{per_second}");
        // Nothing for 3 s: the window still holds the last 2 s of arrivals.
        let later = rate.per_second(at + Duration::from_secs(3));
        assert!((3_500.0..=4_500.0).contains(&later), "{later}");
        // Nothing for longer than the window: zero.
        assert_eq!(
            rate.per_second(at + RATE_WINDOW + Duration::from_secs(1)),
            0.0
        );
        // Samples are merged, so memory does not grow with arrivals.
        assert!(rate.samples.len() <= 30, "{}", rate.samples.len());
    }

    #[test]
    fn the_first_arrivals_are_averaged_over_at_least_a_second() {
        let t0 = Instant::now();
        let mut rate = ArrivalRate::default();
        rate.start(t0);
        rate.record(t0 + Duration::from_millis(10), 50);
        assert_eq!(rate.per_second(t0 + Duration::from_millis(20)), 50.0);
        rate.record(t0 + Duration::from_millis(1900), 50);
        assert_eq!(rate.per_second(t0 + Duration::from_secs(2)), 50.0);
    }

    #[test]
    fn a_finding_is_announced_once_and_a_growing_one_is_not_announced_again() {
        let mut follow = FollowModel::new(Severity::High);
        let burst = finding("burst", Severity::High, 5);
        let quiet = finding("quiet", Severity::Medium, 1);
        // The initial load: learned, not announced.
        assert_eq!(note(&mut follow, &[burst.clone(), quiet.clone()], false), 0);
        assert!(follow.latest.is_none());
        // The burst grows (same first event): not new.
        let grown = Finding {
            count: 50,
            ..burst.clone()
        };
        assert_eq!(note(&mut follow, &[grown, quiet.clone()], true), 0);
        // A new high one and a new medium one: the high one is announced, escaped.
        let root = finding("root-login", Severity::Critical, 1);
        let medium = finding("odd-hours", Severity::Medium, 1);
        assert_eq!(
            note(&mut follow, &[burst.clone(), root.clone(), medium], true),
            1
        );
        let latest = follow.latest.clone().expect("announced");
        assert_eq!(latest.severity, Severity::Critical);
        assert_eq!(
            latest.text,
            "⚑ new critical finding: root-login title · mallory\\e[31m"
        );
        // Seen again in the next run: nothing new.
        assert_eq!(note(&mut follow, &[burst, root], true), 0);
        assert_eq!(follow.announced, 1);
    }

    #[test]
    fn several_new_findings_name_the_most_severe_and_count_the_rest() {
        let mut follow = FollowModel::new(Severity::Medium);
        let list = [
            finding("a", Severity::Medium, 1),
            finding("b", Severity::Critical, 1),
            finding("c", Severity::High, 1),
            finding("d", Severity::Low, 1),
        ];
        assert_eq!(note(&mut follow, &list, true), 3);
        let text = follow.latest.expect("announced").text;
        assert!(
            text.starts_with("⚑ new critical finding: b title"),
            "{text}"
        );
        assert!(text.ends_with("(+2 more)"), "{text}");
    }

    #[test]
    fn detection_runs_one_at_a_time_and_at_most_every_two_seconds_unless_urgent() {
        let t0 = Instant::now();
        let mut cadence = DetectCadence {
            wanted: true,
            ..DetectCadence::default()
        };
        assert!(cadence.due(t0, false), "the first run starts at once");
        assert!(!cadence.due(t0, true), "not while one is under way");
        cadence.last_start = Some(t0);
        assert!(!cadence.due(t0 + Duration::from_millis(1_500), false));
        assert!(cadence.due(t0 + DETECT_EVERY, false));
        cadence.urgent = true;
        assert!(cadence.due(t0 + Duration::from_millis(100), false));
        assert!(!cadence.due(t0 + Duration::from_millis(100), true));
        cadence.wanted = false;
        assert!(
            !cadence.due(t0 + Duration::from_secs(60), false),
            "nothing changed"
        );
    }
}
