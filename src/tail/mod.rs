//! `trailscope tail`: the headless follow for pipes, runbooks and services. Loads what
//! exists, prints the last events of it (or, resumed from `--state`, everything since the
//! last run), then prints every new event that matches the filter as it arrives, through
//! the reorder window, and keeps `--state` so a restart repeats and misses nothing.

pub mod lake;
pub mod live;
pub mod reorder;
pub mod state;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use polars::prelude::{ChunkAgg, DataFrame};

use crate::analysis::{self, CompiledView, ViewSpec};
use crate::load::follow::{FollowOptions, STDIN_ENDED};
use crate::load::pipeline::{FilePosition, IngestMsg, LoadOptions};
use crate::load::source::Input;
use crate::output::stream::{self, StreamFormat, StreamLine};
use crate::schema;
use crate::store::FrameStore;
use crate::text::escape_control;
use crate::{Error, Rejection, Result};

use crate::config::Config;
use crate::output::alert::AlertPlan;
use live::{FindingsOutput, LiveAlerts, STATE_ALERTS, STATE_FINDINGS};
use reorder::Reorder;
use state::TailState;

/// What `tail` was asked to do.
pub struct TailOptions {
    /// The paths as given (directories are watched for new files).
    pub paths: Vec<String>,
    /// The inputs found in them now.
    pub inputs: Vec<Input>,
    /// Paths that could not be used.
    pub problems: Vec<Rejection>,
    /// How to parse.
    pub load: LoadOptions,
    /// Poll at this interval instead of waiting for change events.
    pub poll: Option<Duration>,
    /// Filter in the filter language (blank: every event).
    pub filter: String,
    /// How events are printed.
    pub format: StreamFormat,
    /// How many of the events that existed at the start are printed (`None`: all).
    pub backlog: Option<usize>,
    /// Where positions are kept across restarts.
    pub state: Option<PathBuf>,
    /// How long events are held to be printed in time order.
    pub reorder: Duration,
    /// Display zone of the text format.
    pub tz: jiff::tz::TimeZone,
    /// Set to stop (signals).
    pub stop: Arc<AtomicBool>,
    /// Whether findings are printed.
    pub findings: FindingsOutput,
    /// Where findings are alerted (`None`: nowhere).
    pub alerts: Option<AlertPlan>,
    /// The configuration (detection settings).
    pub config: Config,
    /// Append what is followed to this Parquet lake, every so often (`tail --lake`).
    pub lake: Option<(PathBuf, Duration)>,
}

/// What a `tail` run did, for its closing line and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TailReport {
    /// Events printed.
    pub printed: u64,
    /// Events printed after a newer one had been (later than the reorder window).
    pub late: u64,
    /// Events loaded, duplicates and rejected records, over every input.
    pub totals: (u64, u64, u64),
    /// Findings reported (printed or alerted) as they fired.
    pub findings: u64,
    /// What the alert targets did, for a person (`None` without targets).
    pub alerts: Option<String>,
    /// What was appended to the lake (`None` without `--lake`).
    pub lake: Option<crate::lake::write::ExportSummary>,
}

/// How often the store is committed while following (views and detections read commits).
const COMMIT_EVERY: Duration = Duration::from_millis(500);
/// How often `--state` is written while positions move.
const STATE_EVERY: Duration = Duration::from_secs(1);
/// The longest the loop sleeps (how fast it notices a stop).
const MAX_SLEEP: Duration = Duration::from_millis(100);

/// Follows the inputs and prints to `out` (events) and `err` (notices, rejections) until
/// `options.stop` is set, standard input ends when it is the only input, or `out` is closed.
pub fn run(options: TailOptions, out: &mut dyn Write, err: &mut dyn Write) -> Result<TailReport> {
    let mut state = match &options.state {
        Some(path) => TailState::read(path)?,
        None => TailState::default(),
    };
    state.version = 1;
    state.prune();
    let resumed = !state.positions.is_empty();
    let only_stdin = options.paths.iter().all(|p| p == "-");
    let mut store = FrameStore::new();
    store.add_problems(options.problems.clone());
    let follow_options = FollowOptions {
        poll: options.poll,
        resume: state.positions.clone(),
        ..FollowOptions::default()
    };
    let follow = store.start_follow(
        options.paths.clone(),
        options.inputs.clone(),
        options.load.clone(),
        follow_options,
    );
    let mut tail = Tail {
        view: None,
        reorder: Reorder::new(options.reorder),
        positions: Vec::new(),
        state,
        state_dirty: false,
        state_written: Instant::now(),
        printed: 0,
        loading: true,
        stdin_ended: false,
        live: None,
        resumed,
        covered_all: false,
        arrived: Vec::new(),
    };
    let spec = ViewSpec {
        filter: options.filter.trim().to_string(),
        tz: options.tz.clone(),
        columns: match options.format {
            StreamFormat::Table => schema::DEFAULT_COLUMNS.map(String::from).to_vec(),
            StreamFormat::Ndjson => schema::EVENT_COLUMNS.map(String::from).to_vec(),
        },
        ..ViewSpec::default()
    };
    // The filter is checked before anything is read.
    spec.clone().compile(store.frame()).map_err(|e| {
        Error::Invalid(format!(
            "invalid filter at column {}: {}",
            e.span.start + 1,
            e.message
        ))
    })?;
    if let Some(header) = stream::header(options.format) {
        writeln!(out, "{header}").map_err(out_error)?;
    }
    let mut last_commit = Instant::now();
    let mut lake = options
        .lake
        .clone()
        .map(|(root, every)| lake::LakeAppender::new(root, every));
    let result = loop {
        if options.stop.load(Ordering::Relaxed) || (only_stdin && tail.stdin_ended) {
            break Ok(());
        }
        let now = Instant::now();
        let wait = tail
            .reorder
            .next_due(now)
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP);
        let first = match follow.receiver.recv_timeout(wait) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        };
        // Everything already waiting is taken before printing: fewer, larger writes.
        let mut handled = Ok(());
        for msg in first
            .into_iter()
            .chain(follow.receiver.try_iter().take(256))
        {
            handled = tail.handle(msg, &mut store, &spec, &options, out, err);
            if handled.is_err() {
                break;
            }
        }
        if let Err(e) = handled {
            break Err(e);
        }
        if let Err(e) = tail.print_due(Instant::now(), false, out) {
            break Err(e);
        }
        // After printing: the events go out first, their findings right after.
        if let Err(e) = tail.run_arrivals(store.totals().0 as usize, err) {
            break Err(e);
        }
        if store.has_pending() && last_commit.elapsed() >= COMMIT_EVERY {
            let change = store.commit()?;
            if let Some(lake) = &mut lake {
                lake.committed(&change);
            }
            last_commit = Instant::now();
            if let Some(live) = &mut tail.live {
                live.submit(store.frame().clone(), newest_time(store.frame()));
            }
        }
        if let Some(live) = &mut tail.live
            && let Err(e) = live.poll(options.findings, options.format, out, err)
        {
            break Err(out_error(e));
        }
        if let Some(lake) = &mut lake
            && !tail.loading
        {
            lake.flush(&store, false)?;
        }
        tail.save_state(options.state.as_deref(), false)?;
    };
    follow.stop();
    if store.has_pending() {
        let change = store.commit()?;
        if let Some(lake) = &mut lake {
            lake.committed(&change);
        }
        if let Some(live) = &mut tail.live {
            live.submit(store.frame().clone(), newest_time(store.frame()));
        }
    }
    let ended = result.and_then(|()| tail.print_due(Instant::now(), true, out));
    let mut alerts = None;
    let mut findings = 0;
    if let Some(live) = tail.live.take() {
        findings = live.reported;
        let (found, ledger, line) = live
            .finish(options.findings, options.format, out, err)
            .map_err(out_error)?;
        tail.state.extra.insert(STATE_FINDINGS.into(), found);
        if let Some(ledger) = ledger {
            tail.state.extra.insert(STATE_ALERTS.into(), ledger);
        }
        alerts = line;
        tail.covered_all = true;
        tail.commit_positions();
        tail.state_dirty = true;
    }
    if let Some(lake) = &mut lake {
        lake.flush(&store, true)?;
    }
    tail.save_state(options.state.as_deref(), true)?;
    ended?;
    out.flush().map_err(out_error)?;
    Ok(TailReport {
        printed: tail.printed,
        late: tail.reorder.late,
        totals: store.totals(),
        findings,
        alerts,
        lake: lake.map(|l| l.summary),
    })
}

/// The running state of a `tail`.
struct Tail {
    /// The compiled filter, once the initial load committed.
    view: Option<CompiledView>,
    reorder: Reorder,
    /// Positions waiting for the events before them to be printed and looked at by the
    /// rules: the number of events pushed before them, the events loaded before them.
    positions: Vec<(u64, u64, FilePosition)>,
    state: TailState,
    state_dirty: bool,
    state_written: Instant,
    printed: u64,
    /// Before `LoadFinished`: the backlog is printed all at once after it.
    loading: bool,
    stdin_ended: bool,
    /// Detection and alerts, when asked for.
    live: Option<LiveAlerts>,
    /// Continuing from `--state`.
    resumed: bool,
    /// Set when detection has seen every event (at the end).
    covered_all: bool,
    /// Events appended since the single-event rules last ran.
    arrived: Vec<DataFrame>,
}

impl Tail {
    fn handle(
        &mut self,
        msg: IngestMsg,
        store: &mut FrameStore,
        spec: &ViewSpec,
        options: &TailOptions,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<()> {
        match msg {
            IngestMsg::BatchLoaded(batch) => {
                let added = store.append_new(batch)?;
                if self.live.is_some() && added.height() > 0 {
                    self.arrived.push(added.clone());
                }
                let events_shown = options.findings != FindingsOutput::Only;
                if !self.loading && added.height() > 0 && events_shown {
                    let lines = self.lines(&added, options)?;
                    self.reorder.push(lines, Instant::now());
                }
            }
            IngestMsg::LoadFinished => {
                store.apply(IngestMsg::LoadFinished)?;
                let view = spec
                    .clone()
                    .compile(store.frame())
                    .map_err(|e| Error::Invalid(e.message))?;
                self.view = Some(view);
                let backlog = if self.resumed { None } else { options.backlog };
                if options.findings != FindingsOutput::Only {
                    self.print_backlog(store.frame(), backlog, options, out)?;
                }
                self.loading = false;
                if options.findings != FindingsOutput::Off || options.alerts.is_some() {
                    let mut live = LiveAlerts::start(
                        &options.config,
                        options.alerts.clone(),
                        (
                            self.state.extra.get(STATE_FINDINGS).cloned(),
                            self.state.extra.get(STATE_ALERTS).cloned(),
                        ),
                        self.resumed,
                        options.reorder,
                    )?;
                    live.submit(store.frame().clone(), newest_time(store.frame()));
                    self.live = Some(live);
                }
                let (events, _, rejected) = store.totals();
                // Says how changes are noticed, so a user on a network mount sees that
                // `--poll` took effect.
                let how = match options.poll {
                    Some(every) => format!("polling every {} ms", every.as_millis()),
                    None => "on change events".to_string(),
                };
                let _ = writeln!(
                    err,
                    "trailscope: loaded {events} events from {} inputs ({rejected} rejected); following {how}",
                    store.inputs().len()
                );
            }
            IngestMsg::Position(position) => {
                let loaded = store.totals().0;
                self.positions
                    .push((self.reorder.pushed(), loaded, position));
            }
            IngestMsg::RecordRejected { input, rejection } => {
                if !self.loading {
                    let _ = writeln!(
                        err,
                        "trailscope: {}: {}",
                        rejection.location,
                        escape_control(&rejection.reason)
                    );
                }
                store.apply(IngestMsg::RecordRejected { input, rejection })?;
            }
            IngestMsg::InputNotice(notice) => {
                let _ = writeln!(
                    err,
                    "trailscope: {}: {}",
                    escape_control(&notice.name),
                    escape_control(&notice.what)
                );
                self.stdin_ended |= notice.name == "-" && notice.what == STDIN_ENDED;
                store.apply(IngestMsg::InputNotice(notice))?;
            }
            other => store.apply(other)?,
        }
        Ok(())
    }

    /// Runs the single-event rules over the events appended since they last ran, as one
    /// frame (`loaded`: the events in the store now).
    fn run_arrivals(&mut self, loaded: usize, err: &mut dyn Write) -> Result<()> {
        let mut parts = std::mem::take(&mut self.arrived).into_iter();
        let (Some(live), Some(mut batch)) = (&mut self.live, parts.next()) else {
            return Ok(());
        };
        for part in parts {
            batch
                .vstack_mut_owned(part)
                .map_err(Error::polars("gathering new events"))?;
        }
        live.arrivals(&batch, loaded, err);
        Ok(())
    }

    /// The lines of the events of `frame` that the filter selects.
    fn lines(&self, frame: &DataFrame, options: &TailOptions) -> Result<Vec<StreamLine>> {
        let Some(view) = &self.view else {
            return Ok(Vec::new());
        };
        let selected = analysis::select(frame, view)?;
        stream::lines(&selected, options.format, &options.tz)
    }

    /// Prints the last `backlog` matching events of what was loaded (all with `None`).
    fn print_backlog(
        &mut self,
        frame: &DataFrame,
        backlog: Option<usize>,
        options: &TailOptions,
        out: &mut dyn Write,
    ) -> Result<()> {
        let mut lines = self.lines(frame, options)?;
        if let Some(n) = backlog {
            let skip = lines.len().saturating_sub(n);
            lines.drain(..skip);
        }
        let newest = lines.iter().filter_map(|l| l.time).max();
        self.reorder.printed_until(newest);
        self.write(lines, out)
    }

    /// Prints the events whose reorder window has passed (all with `all`).
    fn print_due(&mut self, now: Instant, all: bool, out: &mut dyn Write) -> Result<()> {
        let lines = self.reorder.release(now, all);
        if !lines.is_empty() {
            self.write(lines, out)?;
            out.flush().map_err(out_error)?;
        }
        self.commit_positions();
        Ok(())
    }

    /// Positions whose events were all printed and looked at by the rules are final: a
    /// restart continues after them.
    fn commit_positions(&mut self) {
        let oldest = self.reorder.oldest_held();
        let covered = match &self.live {
            Some(live) if !self.covered_all => live.covered as u64,
            _ => u64::MAX,
        };
        let done = self
            .positions
            .iter()
            .take_while(|(seq, loaded, _)| *seq <= oldest && *loaded <= covered)
            .count();
        for (_, _, position) in self.positions.drain(..done) {
            self.state.set_position(position);
            self.state_dirty = true;
        }
    }

    fn write(&mut self, lines: Vec<StreamLine>, out: &mut dyn Write) -> Result<()> {
        for line in lines {
            writeln!(out, "{}", line.text).map_err(out_error)?;
            self.printed += 1;
        }
        Ok(())
    }

    /// Writes `--state` when positions moved, at most every [`STATE_EVERY`] unless `now`.
    fn save_state(&mut self, path: Option<&std::path::Path>, now: bool) -> Result<()> {
        let Some(path) = path else {
            return Ok(());
        };
        if self.state_dirty && (now || self.state_written.elapsed() >= STATE_EVERY) {
            if let Some(live) = &self.live {
                let (findings, alerts) = live.state();
                self.state.extra.insert(STATE_FINDINGS.into(), findings);
                if let Some(alerts) = alerts {
                    self.state.extra.insert(STATE_ALERTS.into(), alerts);
                }
            }
            self.state.write(path)?;
            self.state_dirty = false;
            self.state_written = Instant::now();
        }
        Ok(())
    }
}

/// The newest event time of a frame (the data clock of held findings).
fn newest_time(frame: &DataFrame) -> Option<i64> {
    frame
        .column(schema::TIME)
        .ok()?
        .as_materialized_series()
        .to_physical_repr()
        .i64()
        .ok()?
        .max()
}

/// Writing events failed: the reader went away (a closed pipe ends `tail` quietly).
fn out_error(source: std::io::Error) -> Error {
    Error::Io {
        location: crate::Location::file("standard output"),
        source,
    }
}
