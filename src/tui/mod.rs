//! The full-screen terminal UI. This file is its edge: the terminal guard (raw mode,
//! alternate screen, mouse; restored on drop, on panic, on SIGINT/SIGQUIT/SIGTERM/SIGHUP and
//! when the terminal goes away), the input and signal threads, the workers with their
//! latest-wins job slots, and the loop that waits on input, ingest, workers and a tick and
//! redraws at most once per frame. It is the only TUI file doing IO or spawning threads;
//! state lives in [`app`], drawing in [`views`].
//!
//! The TUI never outlives its terminal: a terminal that stops being one (a closed window, a
//! dropped SSH session, `tmux kill-session`), a failed draw, an input error or a signal ends
//! the loop, and nothing after it waits on a thread that may never return. If the loop
//! itself is stuck, the signal thread restores the terminal and exits the process.
//!
//! [`Harness`] runs the same state, update and drawing without a terminal (effects are
//! carried out inline), for tests and benchmarks.

pub mod access;
pub mod action;
pub mod app;
mod arrivals;
pub mod columns;
mod drill;
mod events_columns;
mod export;
pub mod follow;
pub mod history;
mod input;
mod investigate;
pub mod jobs;
pub mod keymap;
mod lake_pages;
mod line;
pub mod model;
pub mod places;
pub mod pretty_json;
pub mod record;
mod record_update;
mod saved;
pub mod state;
pub mod time_range;
mod timeline_cursor;
pub mod values;
pub mod views;
mod workers;

#[cfg(test)]
mod tests;

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, never, select, tick, unbounded};
use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyModifiers,
};
use crossterm::execute;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};

use crate::config::Config;
use crate::load::follow::{Follow, FollowOptions};
use crate::load::pipeline::{Ingest, IngestMsg, LoadOptions};
use crate::load::source::Input;
use crate::store::FrameStore;
use crate::{Error, Location, Rejection, Result};

pub use action::{Action, Effect};
pub use app::update;
pub use keymap::Command;
pub use state::View;
pub use state::{AppState, Settings};

use action::IngestMsgBox;
use jobs::{Done, Job, Slot};
use workers::Workers;

/// How long the loop waits between redraws at most (about 60 per second).
const FRAME: Duration = Duration::from_millis(16);
/// How often [`Action::Tick`] is sent, and how often the loop checks that its terminal is
/// still there.
const TICK: Duration = Duration::from_millis(250);
/// How long the input thread waits for a key before looking at its stop flag and the
/// terminal again.
const INPUT_POLL: Duration = Duration::from_millis(50);
/// How long leaving waits for the input thread to stop reading (two of its polls), so that
/// it does not swallow what is typed at the shell afterwards. A thread stuck in a read of a
/// dead terminal is left behind: the process ends without it.
const INPUT_JOIN: Duration = Duration::from_millis(2 * INPUT_POLL.as_millis() as u64);
/// How long leaving waits for the loader threads (one blocked reading a pipe is left behind).
const LOADER_JOIN: Duration = Duration::from_millis(500);
/// How long after a signal the loop has to end by itself before the signal thread restores
/// the terminal and exits the process (the loop may be stuck in a long query or a write).
/// Together with the rest of leaving, well under the 2 s a lost terminal is allowed.
const SIGNAL_GRACE: Duration = Duration::from_millis(800);
/// How long that forced exit waits for a draw in progress, and then for the restore, before
/// ending the process anyway.
const FORCED_RESTORE_WAIT: Duration = Duration::from_millis(200);

/// What the TUI opens.
pub struct Launch {
    /// The paths the user named (followed for new files and growth with `follow`).
    pub paths: Vec<String>,
    /// The inputs to load, found from `paths`.
    pub inputs: Vec<Input>,
    /// Paths that could not be expanded (counted as rejected).
    pub problems: Vec<Rejection>,
    /// How to load.
    pub options: LoadOptions,
    /// The configuration.
    pub config: Config,
    /// Display time zone.
    pub tz: jiff::tz::TimeZone,
    /// Follow the inputs after loading them (`-f`).
    pub follow: Option<FollowOptions>,
    /// `--views FILE`: the views file read last and saved to.
    pub views: Option<std::path::PathBuf>,
    /// Events already loaded (a lake's, `trailscope --lake`), shown with `message` in the
    /// status bar; the inputs load on top of them.
    pub loaded: Option<(FrameStore, String)>,
    /// The pages of the lake view whose first page `loaded` holds, turned with `{` and `}`.
    pub lake_pages: Option<Arc<crate::lake::pages::LakePages>>,
}

/// Where the events come from: a load that ends, or a follow that goes on until stopped.
enum Feed {
    Load(Ingest),
    Follow(Follow),
}

impl Feed {
    fn receiver(&self) -> Receiver<IngestMsg> {
        match self {
            Feed::Load(ingest) => ingest.receiver.clone(),
            Feed::Follow(follow) => follow.receiver.clone(),
        }
    }

    /// Stops reading and waits a little for the threads to notice; a thread blocked in a
    /// read (a FIFO, standard input that never ends) is left behind rather than waited for,
    /// so the TUI never outlives its terminal.
    fn stop(self) {
        let (done_tx, done_rx) = bounded::<()>(1);
        match self {
            Feed::Load(ingest) => {
                ingest.cancel();
                std::thread::spawn(move || {
                    ingest.wait_idle();
                    let _ = done_tx.send(());
                });
            }
            Feed::Follow(follow) => {
                std::thread::spawn(move || {
                    follow.stop();
                    let _ = done_tx.send(());
                });
            }
        }
        let _ = done_rx.recv_timeout(LOADER_JOIN);
    }
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

/// Whether the terminal we draw on is still there. A hung-up terminal (its window closed,
/// its SSH session dropped) fails every terminal request, so it stops being a terminal.
fn terminal_alive() -> bool {
    io::stdout().is_terminal()
}

/// Opens the TUI on the inputs, loading them in the background; returns when the user quits,
/// a signal asks it to, or its terminal goes away.
pub fn run(launch: Launch) -> Result<()> {
    let Launch {
        paths,
        inputs,
        problems,
        options,
        config,
        tz,
        follow,
        views,
        loaded,
        lake_pages,
    } = launch;
    let (mut store, loaded_message) = match loaded {
        Some((store, message)) => (store, Some(message)),
        None => (FrameStore::new(), None),
    };
    store.add_problems(problems);
    let following = follow.is_some();
    let feed = match follow {
        Some(follow) => Feed::Follow(store.start_follow(paths, inputs, options, follow)),
        None => Feed::Load(store.start_load(inputs, options)),
    };
    let settings = Settings {
        tz,
        config: Arc::new(config),
        color: colors_wanted(),
    };
    let mut state = AppState::new(store, settings);
    state.filter.history_file = history::default_history_path();
    if let Some(path) = &state.filter.history_file {
        state.filter.history = history::read_history(path);
    }
    // Read once here (a few kilobytes); a broken file is named in the status bar and loses
    // no other view.
    let (library, problems) = crate::views::ViewLibrary::load(views.as_deref());
    state.library = library;
    if let Some(problem) = problems.first() {
        let more = if problems.len() > 1 {
            format!(" (+{} more)", problems.len() - 1)
        } else {
            String::new()
        };
        state.message = Some(format!(
            "{}{more}",
            crate::text::escape_control(&problem.to_string())
        ));
    }
    if following {
        state.follow_inputs();
    }
    state.lake = lake_pages
        .filter(|pages| pages.len() > 1)
        .map(|pages| state::LakePaging {
            pages,
            current: 0,
            reading: None,
            since: 0,
        });
    if let Some(message) = loaded_message {
        state.message = Some(crate::text::escape_control(&message).into_owned());
    }

    install_panic_hook();
    let (input_tx, input_rx) = unbounded::<Action>();
    // Before the terminal changes, so that no signal finds it changed and unattended.
    spawn_signals(input_tx.clone()).map_err(terminal_error)?;
    let guard = TerminalGuard::enter().map_err(terminal_error)?;
    let result = run_loop(&mut state, feed.receiver(), input_tx, input_rx);
    drop(guard);
    LOOP_ENDED.store(true, Ordering::SeqCst);
    feed.stop();
    result
}

fn run_loop(
    state: &mut AppState,
    ingest_rx: Receiver<IngestMsg>,
    input_tx: Sender<Action>,
    input_rx: Receiver<Action>,
) -> Result<()> {
    let muted = Arc::new(AtomicBool::new(false));
    let screen = Screen {
        out: io::stdout(),
        muted: Arc::clone(&muted),
    };
    let mut terminal = Terminal::new(CrosstermBackend::new(screen)).map_err(terminal_error)?;
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input(input_tx, Arc::clone(&stop));
    let workers = Workers::start();
    let result = drive(state, &mut terminal, ingest_rx, &input_rx, &workers);
    // ratatui shows the cursor when its terminal is dropped, and when that write fails (the
    // terminal is gone) prints why with `eprintln!`, which panics on a stderr that is gone
    // too. `restore` shows the cursor anyway.
    muted.store(true, Ordering::SeqCst);
    drop(terminal);
    stop.store(true, Ordering::Relaxed);
    workers.stop();
    join_within(input, INPUT_JOIN);
    result
}

/// Standard output as the backend's writer, with a switch to drop everything written.
struct Screen {
    out: io::Stdout,
    /// Set once the loop is over: what the backend writes then is dropped.
    muted: Arc<AtomicBool>,
}

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.muted.load(Ordering::SeqCst) {
            Ok(buf.len())
        } else {
            self.out.write(buf)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.muted.load(Ordering::SeqCst) {
            Ok(())
        } else {
            self.out.flush()
        }
    }
}

/// Waits up to `limit` for a thread to end; one still running is left to the process exit.
fn join_within(handle: JoinHandle<()>, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !handle.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if handle.is_finished() {
        let _ = handle.join();
    }
}

/// The loop: applies what arrives, carries out effects, redraws; returns when quitting or
/// when the terminal is gone.
fn drive(
    state: &mut AppState,
    terminal: &mut Terminal<CrosstermBackend<Screen>>,
    ingest_rx: Receiver<IngestMsg>,
    input_rx: &Receiver<Action>,
    workers: &Workers,
) -> Result<()> {
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
            if matches!(action, Action::TerminalLost) {
                return Ok(());
            }
            // Ticks redraw while loading and following (the gauge, the arrival rate).
            dirty |= !matches!(action, Action::Tick) || state.phase != state::LoadPhase::Loaded;
            effects.extend(update(state, action));
        }
        let copies = perform(state, &mut effects, workers);
        if !copies.is_empty() {
            copy_to_clipboard(terminal, &copies)?;
        }
        if state.quitting {
            return Ok(());
        }
        let due = last_draw.map_or(Duration::ZERO, |t| FRAME.saturating_sub(t.elapsed()));
        if dirty && due.is_zero() {
            // Under the terminal lock, so a forced exit never restores in the middle of a
            // frame; and not at all once the terminal was restored (a panic elsewhere).
            let lock = lock_terminal();
            if !ACTIVE.load(Ordering::SeqCst) {
                return Ok(());
            }
            let drawn = terminal.draw(|f| views::draw(f, state));
            drop(lock);
            if let Err(e) = drawn {
                // A write to a terminal that went away fails: that ends the session, it is
                // not an error to report (there is nowhere left to report it).
                return if terminal_alive() {
                    Err(terminal_error(e))
                } else {
                    Ok(())
                };
            }
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let timeout = if dirty {
            due.max(Duration::from_millis(1))
        } else {
            TICK
        };
        let ingest = ingest_rx.clone().unwrap_or_else(never);
        select! {
            recv(input_rx) -> action => if let Ok(action) = action { pending.push(action) },
            recv(ingest) -> msg => match msg {
                Ok(msg) => pending.push(Action::Loaded(IngestMsgBox(msg))),
                Err(_) => ingest_rx = None,
            },
            recv(workers.done) -> done => if let Ok(done) = done { pending.push(Action::Computed(done)) },
            recv(ticker) -> _ => {
                // A hung-up terminal may send no signal and no input error (the input
                // thread can be stuck in a read of it), so look.
                if !terminal_alive() {
                    return Ok(());
                }
                pending.push(Action::Tick);
            },
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
}

/// Writes OSC 52 sequences for the copies (the last one wins, as on any clipboard).
fn copy_to_clipboard(
    terminal: &mut Terminal<CrosstermBackend<Screen>>,
    copies: &[String],
) -> Result<()> {
    let Some(sequence) = copies.last().and_then(|text| values::osc52(text)) else {
        return Ok(());
    };
    let _lock = lock_terminal();
    if !ACTIVE.load(Ordering::SeqCst) {
        return Ok(());
    }
    let backend = terminal.backend_mut();
    backend
        .write_all(sequence.as_bytes())
        .and_then(|()| backend.flush())
        .map_err(terminal_error)
}

/// Carries out effects: jobs go to the workers (reading a record included); returns the texts
/// to copy to the clipboard, which only the loop holding the terminal can write.
fn perform(state: &mut AppState, effects: &mut Vec<Effect>, workers: &Workers) -> Vec<String> {
    let mut copies = Vec::new();
    for effect in effects.drain(..) {
        match effect {
            Effect::Run(job) | Effect::Prefetch(job) => workers.post(job),
            Effect::Quit => state.quitting = true,
            Effect::Discard(value) => workers.discard(value),
            Effect::Copy(text) => copies.push(text),
        }
    }
    copies
}

fn spawn_input(tx: Sender<Action>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            // crossterm retries a read of a hung-up terminal forever (it reads 0 bytes and
            // tries again), so look before every wait; a hang-up during one is seen by the
            // loop's own check, and this thread is then left behind.
            if !terminal_alive() {
                let _ = tx.send(Action::TerminalLost);
                break;
            }
            let action = match event::poll(INPUT_POLL) {
                Ok(false) => continue,
                Ok(true) => match event::read() {
                    Ok(Event::Key(key)) => Action::Key(key),
                    Ok(Event::Mouse(mouse)) => Action::Mouse(mouse),
                    Ok(Event::Resize(w, h)) => Action::Resize(w, h),
                    Ok(_) => continue,
                    Err(_) => Action::TerminalLost,
                },
                Err(_) => Action::TerminalLost,
            };
            let lost = matches!(action, Action::TerminalLost);
            if tx.send(action).is_err() || lost {
                break;
            }
        }
    })
}

/// The signals that end the TUI: from outside (`kill`, a service manager) and the hang-up of
/// its terminal. In raw mode Ctrl-C and Ctrl-\ arrive as keys, not as these.
const ENDING_SIGNALS: [i32; 4] = [
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGQUIT,
    signal_hook::consts::SIGTERM,
];

/// Set once the loop has ended and the terminal is restored: a forced exit is then not
/// needed (the process is already on its way out).
static LOOP_ENDED: AtomicBool = AtomicBool::new(false);

/// Turns every ending signal into [`Action::Terminate`], for as long as the process lives.
/// The first one also arms a deadline: a loop that has not ended [`SIGNAL_GRACE`] later is
/// stuck, and the terminal is restored and the process ended from here. A second one does
/// that at once (the user insists).
fn spawn_signals(tx: Sender<Action>) -> io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(ENDING_SIGNALS)?;
    std::thread::spawn(move || {
        let mut armed = false;
        for signal in signals.forever() {
            let _ = tx.send(Action::Terminate);
            if armed {
                force_exit(signal);
                continue;
            }
            armed = true;
            std::thread::spawn(move || {
                std::thread::sleep(SIGNAL_GRACE);
                force_exit(signal);
            });
        }
    });
    Ok(())
}

/// Restores the terminal and ends the process as killed by `signal` would (exit status
/// 128 + signal), unless the loop already ended by itself.
///
/// Waits for a frame being drawn and for a restore under way (the exit would cut them
/// short), but not for ever: on a terminal that stopped reading (Ctrl-S, a stalled SSH
/// connection) every write blocks, the loop's included, and the restore's too. So the
/// restore runs on its own thread and the process ends at the deadline whatever it did.
fn force_exit(signal: i32) {
    if LOOP_ENDED.load(Ordering::SeqCst) {
        return;
    }
    let frame = lock_before(&TERMINAL, Instant::now() + FORCED_RESTORE_WAIT);
    let (restored_tx, restored_rx) = bounded::<()>(1);
    std::thread::spawn(move || {
        restore();
        let _ = restored_tx.send(());
    });
    let _ = restored_rx.recv_timeout(FORCED_RESTORE_WAIT);
    drop(frame);
    std::process::exit(128 + signal);
}

/// Takes a lock if it comes free before `deadline`.
fn lock_before(lock: &'static Mutex<()>, deadline: Instant) -> Option<MutexGuard<'static, ()>> {
    loop {
        match lock.try_lock() {
            Ok(guard) => return Some(guard),
            Err(TryLockError::Poisoned(guard)) => return Some(guard.into_inner()),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(TryLockError::WouldBlock) => return None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Terminal safety
// ---------------------------------------------------------------------------------------

/// Whether the terminal is in TUI mode (raw, alternate screen, mouse).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Held while a frame is written, so that a restore from another thread (a forced exit)
/// never lands in the middle of one. [`restore`] does not take it: the panic hook restores
/// on the panicking thread, which may hold it.
static TERMINAL: Mutex<()> = Mutex::new(());

/// Held while the terminal is restored, so that a restore under way on one thread is finished
/// before another thread (a forced exit) reports it done and ends the process.
static RESTORING: Mutex<()> = Mutex::new(());

fn lock_terminal() -> MutexGuard<'static, ()> {
    TERMINAL.lock().unwrap_or_else(PoisonError::into_inner)
}

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

/// Leaves TUI mode if it is on; safe to call any number of times, from any thread, and on a
/// terminal that is gone (every write may fail; each is tried).
pub fn restore() {
    let _restoring = RESTORING.lock().unwrap_or_else(PoisonError::into_inner);
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
/// inline (jobs run on the calling thread) or, after [`Harness::with_workers`], on the
/// TUI's own workers, and screens drawn on a [`TestBackend`].
pub struct Harness {
    /// The state.
    pub state: AppState,
    /// Keep [`Effect::Prefetch`] jobs for [`Harness::settle`] instead of running them at once
    /// (as the workers would, after the keypress was drawn).
    pub defer_prefetch: bool,
    deferred: Vec<Job>,
    copied: Vec<String>,
    terminal: Terminal<TestBackend>,
    workers: Option<Workers>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(workers) = self.workers.take() {
            workers.stop();
        }
    }
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
            copied: Vec::new(),
            terminal,
            workers: None,
        };
        harness.carry_out(effects);
        harness
    }

    /// From now on, jobs run on worker threads as in the TUI (one latest-wins slot each),
    /// and their results are applied by [`Harness::pump`], as the TUI's loop does.
    pub fn with_workers(mut self) -> Harness {
        self.workers = Some(Workers::start());
        self
    }

    /// Applies the results of finished jobs (with [`Harness::with_workers`]), waiting up to
    /// `wait` for the first; returns how many were applied.
    pub fn pump(&mut self, wait: Duration) -> usize {
        let Some(workers) = &self.workers else {
            return 0;
        };
        let first = match workers.done.recv_timeout(wait) {
            Ok(done) => done,
            Err(_) => return 0,
        };
        let mut done: Vec<Done> = vec![first];
        done.extend(workers.done.try_iter());
        let n = done.len();
        for done in done {
            self.send(Action::Computed(done));
        }
        n
    }

    /// Waits until the workers are idle with nothing queued and applies their results.
    pub fn wait_idle(&mut self) {
        while let Some(workers) = &self.workers {
            workers.wait_idle();
            if self.pump(Duration::ZERO) == 0 {
                break;
            }
        }
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
        self.resize_screen(width, height);
        self.send(Action::Resize(width, height));
    }

    /// Resizes the screen only, as a real terminal does before its resize event reaches
    /// `update` (the next frame is drawn at the new size with the state of the old one).
    pub fn resize_screen(&mut self, width: u16, height: u16) {
        self.terminal.backend_mut().resize(width, height);
        let _ = self
            .terminal
            .resize(ratatui::layout::Rect::new(0, 0, width, height));
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

    /// What `y` copied to the clipboard so far, oldest first.
    pub fn copied(&self) -> &[String] {
        &self.copied
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
        if let Some(workers) = &self.workers {
            let copies = perform(&mut self.state, &mut effects, workers);
            self.copied.extend(copies);
            return;
        }
        while !effects.is_empty() {
            for effect in std::mem::take(&mut effects) {
                match effect {
                    Effect::Prefetch(job) if self.defer_prefetch => self.deferred.push(job),
                    Effect::Run(job) | Effect::Prefetch(job) => {
                        let done = jobs::run(job);
                        effects.extend(update(&mut self.state, Action::Computed(done)));
                    }
                    Effect::Quit => self.state.quitting = true,
                    Effect::Discard(value) => drop(value),
                    Effect::Copy(text) => self.copied.push(text),
                }
            }
        }
    }
}
