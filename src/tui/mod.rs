//! The full-screen terminal UI. This file is its edge: the terminal guard (raw mode,
//! alternate screen, mouse; restored on drop, on panic and on SIGTERM/SIGHUP), the input
//! thread, the workers with their latest-wins job slots, and the loop that waits on input,
//! ingest, workers and a tick and redraws at most once per frame. It is the only TUI file
//! doing IO or spawning threads; state lives in [`app`], drawing in [`views`].
//!
//! [`Harness`] runs the same state, update and drawing without a terminal (effects are
//! carried out inline), for tests and benchmarks.

pub mod app;
mod input;
pub mod jobs;
pub mod keymap;
pub mod model;
pub mod record;
pub mod state;
pub mod views;

#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, never, select, tick, unbounded};
use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyModifiers,
};
use crossterm::execute;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};

use crate::config::Config;
use crate::ingest::LoadOptions;
use crate::source::Input;
use crate::store::FrameStore;
use crate::{Error, Location, Rejection, Result};

pub use app::{Action, Effect, update};
pub use keymap::{Command, View};
pub use state::{AppState, Settings};

use app::IngestMsgBox;
use jobs::{Done, Job, Slot};

/// How long the loop waits between redraws at most (about 60 per second).
const FRAME: Duration = Duration::from_millis(16);
/// How often [`Action::Tick`] is sent.
const TICK: Duration = Duration::from_millis(250);

/// What the TUI opens.
pub struct Launch {
    /// The inputs to load.
    pub inputs: Vec<Input>,
    /// Paths that could not be expanded (counted as rejected).
    pub problems: Vec<Rejection>,
    /// How to load.
    pub options: LoadOptions,
    /// The configuration.
    pub config: Config,
    /// Display time zone.
    pub tz: jiff::tz::TimeZone,
}

/// Whether colours are wanted: `NO_COLOR` unset or empty (<https://no-color.org>).
pub fn colors_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn terminal_error(source: io::Error) -> Error {
    Error::Io {
        location: Location::file("terminal"),
        source,
    }
}

/// Opens the TUI on the inputs, loading them in the background; returns when the user quits.
pub fn run(launch: Launch) -> Result<()> {
    let Launch {
        inputs,
        problems,
        options,
        config,
        tz,
    } = launch;
    let mut store = FrameStore::new();
    store.add_problems(problems);
    let ingest = store.start_load(inputs, options);
    let settings = Settings {
        tz,
        config: Arc::new(config),
        color: colors_wanted(),
    };
    let mut state = AppState::new(store, settings);

    install_panic_hook();
    let guard = TerminalGuard::enter().map_err(terminal_error)?;
    let result = run_loop(&mut state, ingest.receiver.clone());
    drop(guard);
    ingest.cancel();
    ingest.wait_idle();
    result
}

fn run_loop(state: &mut AppState, ingest_rx: Receiver<crate::ingest::IngestMsg>) -> Result<()> {
    let mut terminal =
        Terminal::new(CrosstermBackend::new(io::stdout())).map_err(terminal_error)?;
    let (input_tx, input_rx) = unbounded::<Action>();
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input(input_tx.clone(), Arc::clone(&stop));
    spawn_signals(input_tx);
    let workers = Workers::start();
    let ticker = tick(TICK);
    let mut ingest_rx = Some(ingest_rx);

    let (w, h) = terminal::size().map_err(terminal_error)?;
    let mut pending: Vec<Action> = Vec::new();
    let mut effects = update(state, Action::Resize(w, h));
    effects.extend(state.start());
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        for action in pending.drain(..) {
            dirty |= !matches!(action, Action::Tick) || state.phase == state::LoadPhase::Loading;
            effects.extend(update(state, action));
        }
        perform(state, &mut effects, &workers);
        if state.quitting {
            break;
        }
        let due = last_draw.map_or(Duration::ZERO, |t| FRAME.saturating_sub(t.elapsed()));
        if dirty && due.is_zero() {
            terminal
                .draw(|f| views::draw(f, state))
                .map_err(terminal_error)?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let timeout = if dirty {
            due.max(Duration::from_millis(1))
        } else {
            Duration::from_secs(3600)
        };
        let ingest = ingest_rx.clone().unwrap_or_else(never);
        select! {
            recv(input_rx) -> action => if let Ok(action) = action { pending.push(action) },
            recv(ingest) -> msg => match msg {
                Ok(msg) => pending.push(Action::Loaded(IngestMsgBox(msg))),
                Err(_) => ingest_rx = None,
            },
            recv(workers.done) -> done => if let Ok(done) = done { pending.push(Action::Computed(done)) },
            recv(ticker) -> _ => pending.push(Action::Tick),
            default(timeout) => {},
        }
        // Take everything queued, so a burst of keys or batches costs one redraw.
        pending.extend(input_rx.try_iter());
        pending.extend(workers.done.try_iter().map(Action::Computed));
        if let Some(rx) = &ingest_rx {
            pending.extend(
                rx.try_iter()
                    .take(64)
                    .map(|m| Action::Loaded(IngestMsgBox(m))),
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    workers.stop();
    let _ = input.join();
    Ok(())
}

/// Carries out effects: jobs go to the workers, records are read here.
fn perform(state: &mut AppState, effects: &mut Vec<Effect>, workers: &Workers) {
    while !effects.is_empty() {
        let batch = std::mem::take(effects);
        // Only the last record asked for matters (fast scrolling).
        let last_read = batch
            .iter()
            .rposition(|e| matches!(e, Effect::ReadRecord(_)));
        for (i, effect) in batch.into_iter().enumerate() {
            match effect {
                Effect::Run(job) | Effect::Prefetch(job) => workers.post(job),
                Effect::ReadRecord(row) if Some(i) == last_read => {
                    let result = read_record(&state.store, row);
                    effects.extend(update(state, Action::RecordRead { row, result }));
                }
                Effect::ReadRecord(_) => {}
                Effect::Quit => state.quitting = true,
            }
        }
    }
}

fn read_record(store: &FrameStore, row: u32) -> std::result::Result<Vec<u8>, String> {
    store
        .raw_record(store.frame(), row as usize)
        .map_err(|e| e.to_string())
}

fn spawn_input(tx: Sender<Action>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(50)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => break,
            }
            let action = match event::read() {
                Ok(Event::Key(key)) => Action::Key(key),
                Ok(Event::Mouse(mouse)) => Action::Mouse(mouse),
                Ok(Event::Resize(w, h)) => Action::Resize(w, h),
                Ok(_) => continue,
                Err(_) => break,
            };
            if tx.send(action).is_err() {
                break;
            }
        }
    })
}

fn spawn_signals(tx: Sender<Action>) {
    use signal_hook::consts::{SIGHUP, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send(Action::Terminate);
        }
    });
}

// ---------------------------------------------------------------------------------------
// Workers: one thread per slot, each slot holding at most one queued job (latest wins).
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct JobSlot {
    queued: Mutex<(Option<Job>, bool)>,
    ready: Condvar,
    busy: AtomicBool,
}

impl JobSlot {
    fn post(&self, job: Job) {
        if let Ok(mut queued) = self.queued.lock() {
            // A job still queued is stale now: it is dropped, never run.
            queued.0 = Some(job);
            self.ready.notify_one();
        }
    }

    fn take(&self) -> Option<Job> {
        let mut queued = self.queued.lock().ok()?;
        loop {
            if queued.1 {
                return None;
            }
            if let Some(job) = queued.0.take() {
                self.busy.store(true, Ordering::SeqCst);
                return Some(job);
            }
            queued = self.ready.wait(queued).ok()?;
        }
    }

    fn stop(&self) {
        if let Ok(mut queued) = self.queued.lock() {
            queued.1 = true;
            self.ready.notify_all();
        }
    }

    fn idle(&self) -> bool {
        !self.busy.load(Ordering::SeqCst)
            && self.queued.lock().map(|q| q.0.is_none()).unwrap_or(true)
    }
}

struct Workers {
    slots: Vec<(Slot, Arc<JobSlot>)>,
    handles: Vec<JoinHandle<()>>,
    done: Receiver<Done>,
}

impl Workers {
    fn start() -> Workers {
        let (tx, done) = unbounded::<Done>();
        let mut slots = Vec::new();
        let mut handles = Vec::new();
        for slot in [
            Slot::View,
            Slot::Pivot,
            Slot::Timeline,
            Slot::Actors,
            Slot::Detect,
        ] {
            let queue = Arc::new(JobSlot::default());
            let worker = Arc::clone(&queue);
            let tx = tx.clone();
            handles.push(std::thread::spawn(move || {
                while let Some(job) = worker.take() {
                    let done = jobs::run(job);
                    worker.busy.store(false, Ordering::SeqCst);
                    if tx.send(done).is_err() {
                        break;
                    }
                }
            }));
            slots.push((slot, queue));
        }
        Workers {
            slots,
            handles,
            done,
        }
    }

    fn post(&self, job: Job) {
        let slot = job.slot();
        if let Some((_, queue)) = self.slots.iter().find(|(s, _)| *s == slot) {
            queue.post(job);
        }
    }

    /// Whether every worker is idle with nothing queued (for tests).
    #[allow(dead_code)]
    fn wait_idle(&self) {
        while !self.slots.iter().all(|(_, q)| q.idle()) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn stop(self) {
        for (_, queue) in &self.slots {
            queue.stop();
        }
        // A worker in the middle of a long query is not waited for.
        drop(self.handles);
    }
}

// ---------------------------------------------------------------------------------------
// Terminal safety
// ---------------------------------------------------------------------------------------

/// Whether the terminal is in TUI mode (raw, alternate screen, mouse).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal in TUI mode; restores it when dropped (unless panicking: the panic
/// hook restores first, then prints the panic).
pub struct TerminalGuard(());

impl TerminalGuard {
    /// Enables raw mode, the alternate screen and mouse capture.
    pub fn enter() -> io::Result<TerminalGuard> {
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(
            out,
            EnterAlternateScreen,
            EnableMouseCapture,
            crossterm::cursor::Hide,
            terminal::Clear(terminal::ClearType::All)
        ) {
            restore();
            return Err(e);
        }
        Ok(TerminalGuard(()))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            restore();
        }
    }
}

/// Leaves TUI mode if it is on; safe to call any number of times.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(
            out,
            DisableMouseCapture,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = terminal::disable_raw_mode();
        let _ = out.flush();
    }
}

fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

// ---------------------------------------------------------------------------------------
// Harness: the TUI without a terminal
// ---------------------------------------------------------------------------------------

/// The app driven without a terminal: actions are applied, their effects carried out
/// inline (jobs run on the calling thread), and screens drawn on a [`TestBackend`].
pub struct Harness {
    /// The state.
    pub state: AppState,
    /// Keep [`Effect::Prefetch`] jobs for [`Harness::settle`] instead of running them at once
    /// (as the workers would, after the keypress was drawn).
    pub defer_prefetch: bool,
    deferred: Vec<Job>,
    terminal: Terminal<TestBackend>,
}

impl Harness {
    /// A harness over a loaded store, at a terminal size.
    pub fn new(store: FrameStore, settings: Settings, width: u16, height: u16) -> Harness {
        let mut state = AppState::new(store, settings);
        let mut effects = update(&mut state, Action::Resize(width, height));
        effects.extend(state.start());
        let terminal = match Terminal::new(TestBackend::new(width, height)) {
            Ok(t) => t,
            Err(never) => match never {},
        };
        let mut harness = Harness {
            state,
            defer_prefetch: false,
            deferred: Vec::new(),
            terminal,
        };
        harness.carry_out(effects);
        harness
    }

    /// Applies an action and everything it leads to.
    pub fn send(&mut self, action: Action) {
        let effects = update(&mut self.state, action);
        self.carry_out(effects);
    }

    /// Runs a command.
    pub fn command(&mut self, command: Command) {
        self.send(Action::Do(command));
    }

    /// Presses a key.
    pub fn key(&mut self, code: KeyCode) {
        self.send(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Types characters.
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Resizes the terminal.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.terminal.backend_mut().resize(width, height);
        let _ = self
            .terminal
            .resize(ratatui::layout::Rect::new(0, 0, width, height));
        self.send(Action::Resize(width, height));
    }

    /// Draws the screen.
    pub fn draw(&mut self) -> &TestBackend {
        let state = &self.state;
        let _ = self.terminal.draw(|f| views::draw(f, state));
        self.terminal.backend()
    }

    /// The screen as text, one line per row (no styles).
    pub fn screen(&mut self) -> String {
        let backend = self.draw();
        let buffer = backend.buffer();
        let area = buffer.area;
        let mut out = String::new();
        for y in 0..area.height {
            let mut line = String::new();
            for x in 0..area.width {
                line.push_str(buffer[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prefetch jobs kept back.
    pub fn deferred_jobs(&self) -> usize {
        self.deferred.len()
    }

    /// Runs the prefetch jobs kept back; returns how long each took.
    pub fn settle(&mut self) -> Vec<(Slot, Duration)> {
        let mut times = Vec::new();
        for job in std::mem::take(&mut self.deferred) {
            let slot = job.slot();
            let started = Instant::now();
            let done = jobs::run(job);
            let effects = update(&mut self.state, Action::Computed(done));
            self.carry_out(effects);
            times.push((slot, started.elapsed()));
        }
        times
    }

    fn carry_out(&mut self, mut effects: Vec<Effect>) {
        while !effects.is_empty() {
            for effect in std::mem::take(&mut effects) {
                match effect {
                    Effect::Prefetch(job) if self.defer_prefetch => self.deferred.push(job),
                    Effect::Run(job) | Effect::Prefetch(job) => {
                        let done = jobs::run(job);
                        effects.extend(update(&mut self.state, Action::Computed(done)));
                    }
                    Effect::ReadRecord(row) => {
                        let result = read_record(&self.state.store, row);
                        effects.extend(update(&mut self.state, Action::RecordRead { row, result }));
                    }
                    Effect::Quit => self.state.quitting = true,
                }
            }
        }
    }
}
