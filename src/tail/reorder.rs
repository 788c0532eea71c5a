//! The reorder window: exports arrive out of order (CloudTrail delivers a file about every
//! five minutes, `gcloud logging tail` has its own buffer), so events are held for a short
//! time after they arrive and printed in time order; an event older than one already
//! printed is late, and counted.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::output::stream::StreamLine;

/// Events waiting for their turn.
#[derive(Debug)]
pub struct Reorder {
    window: Duration,
    held: VecDeque<Held>,
    /// Events pushed so far (the next event's sequence number).
    pushed: u64,
    /// Time of the newest event printed.
    last_time: Option<i64>,
    /// Events printed after a newer one had been.
    pub late: u64,
}

#[derive(Debug)]
struct Held {
    arrived: Instant,
    seq: u64,
    line: StreamLine,
}

impl Reorder {
    /// A window of `window` (zero: print on arrival).
    pub fn new(window: Duration) -> Reorder {
        Reorder {
            window,
            held: VecDeque::new(),
            pushed: 0,
            last_time: None,
            late: 0,
        }
    }

    /// Holds events that arrived at `now`, in their arrival order.
    pub fn push(&mut self, lines: Vec<StreamLine>, now: Instant) {
        for line in lines {
            self.held.push_back(Held {
                arrived: now,
                seq: self.pushed,
                line,
            });
            self.pushed += 1;
        }
    }

    /// Events pushed so far; everything pushed before a point has a smaller number.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// The sequence number of the oldest event still held (`pushed()` when none is).
    pub fn oldest_held(&self) -> u64 {
        self.held.front().map_or(self.pushed, |h| h.seq)
    }

    /// How long until the oldest held event is due; `None` when nothing is held.
    pub fn next_due(&self, now: Instant) -> Option<Duration> {
        self.held
            .front()
            .map(|h| (h.arrived + self.window).saturating_duration_since(now))
    }

    /// The events whose window has passed at `now` (all of them with `all`), in time order,
    /// events without a time in arrival order after those with one.
    pub fn release(&mut self, now: Instant, all: bool) -> Vec<StreamLine> {
        let due = self
            .held
            .iter()
            .take_while(|h| all || h.arrived + self.window <= now)
            .count();
        let mut out: Vec<Held> = self.held.drain(..due).collect();
        out.sort_by_key(|h| (h.line.time.is_none(), h.line.time, h.seq));
        out.into_iter()
            .map(|h| {
                if let Some(t) = h.line.time {
                    match self.last_time {
                        Some(last) if t < last => self.late += 1,
                        _ => self.last_time = Some(t),
                    }
                }
                h.line
            })
            .collect()
    }

    /// Records that events up to `time` were printed without the window (the backlog).
    pub fn printed_until(&mut self, time: Option<i64>) {
        if time > self.last_time {
            self.last_time = time;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: i64) -> StreamLine {
        StreamLine {
            time: Some(t),
            text: t.to_string(),
        }
    }

    fn texts(lines: &[StreamLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn events_within_the_window_come_out_in_time_order() {
        let start = Instant::now();
        let mut r = Reorder::new(Duration::from_secs(2));
        r.push(vec![line(30), line(10)], start);
        r.push(vec![line(20)], start + Duration::from_secs(1));
        assert!(
            r.release(start + Duration::from_millis(1500), false)
                .is_empty()
        );
        assert_eq!(
            texts(&r.release(start + Duration::from_secs(2), false)),
            ["10", "30"]
        );
        assert_eq!(
            texts(&r.release(start + Duration::from_secs(3), false)),
            ["20"]
        );
        assert_eq!(r.late, 1, "20 came after 30 was printed");
    }

    #[test]
    fn a_zero_window_prints_on_arrival_and_counts_nothing_in_order() {
        let now = Instant::now();
        let mut r = Reorder::new(Duration::ZERO);
        r.push(vec![line(1), line(2)], now);
        assert_eq!(texts(&r.release(now, false)), ["1", "2"]);
        assert_eq!(r.late, 0);
        assert_eq!(r.oldest_held(), 2);
    }
}
