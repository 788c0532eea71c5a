//! End to end: the real binary in a pseudo-terminal, its screen read with a vt100 parser.
//! Timeouts: `TRAILSCOPE_PTY_TIMEOUT` seconds (default 30) to wait for a screen;
//! `TRAILSCOPE_PTY_EXIT_TIMEOUT` seconds (default 2, what issue 13 promises) for the binary
//! to be gone after its terminal closed or a signal asked it to stop. `TRAILSCOPE_PTY_BIN`
//! runs another binary than the one cargo built (an older build, to compare).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use polars::prelude::*;
use trailscope::analysis::filter::{self, FilterContext};
use trailscope::analysis::{self, PivotSpec};
use trailscope::schema::{ACTION, ACTOR};
use trailscope::tui::views::thousands;

use super::{count, sample};

fn pty_timeout() -> Duration {
    let secs = std::env::var("TRAILSCOPE_PTY_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

fn exit_timeout() -> Duration {
    let secs = std::env::var("TRAILSCOPE_PTY_EXIT_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Taken (closed) to hang the terminal up.
    writer: Option<Box<dyn Write + Send>>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    /// The reader thread owns the master; set to have it let go after its next read.
    closing: Arc<AtomicBool>,
    /// Set to stop reading (after the read under way), as a terminal under Ctrl-S or a
    /// stalled connection does: the binary's writes then block once the buffer is full.
    paused: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    fn spawn(rows: u16, cols: u16) -> Pty {
        Pty::spawn_with(rows, cols, &[])
    }

    /// The binary with arguments.
    fn spawn_with(rows: u16, cols: u16, args: &[&str]) -> Pty {
        Pty::spawn_command(rows, cols, args, None)
    }

    /// The binary with arguments, its standard input read from `stdin` (a FIFO: the
    /// terminal is then only where keys come from and the screen goes).
    fn spawn_command(rows: u16, cols: u16, args: &[&str], stdin: Option<&str>) -> Pty {
        use portable_pty::{CommandBuilder, PtySize, native_pty_system};
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let binary = std::env::var("TRAILSCOPE_PTY_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_trailscope").to_string());
        let mut cmd = match stdin {
            None => {
                let mut cmd = CommandBuilder::new(binary);
                cmd.args(args);
                cmd
            }
            Some(path) => {
                // `exec`, so the child is the binary itself, its input redirected.
                let mut cmd = CommandBuilder::new("sh");
                cmd.args(["-c", r#"exec "$0" "$@" < "$TRAILSCOPE_PTY_STDIN""#, &binary]);
                cmd.args(args);
                cmd.env("TRAILSCOPE_PTY_STDIN", path);
                cmd
            }
        };
        cmd.cwd(env!("CARGO_MANIFEST_DIR"));
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_CONFIG_HOME", "/nonexistent-trailscope-test");
        // The filter history is written here, never in the real home.
        let state =
            std::env::temp_dir().join(format!("trailscope-pty-state-{}", std::process::id()));
        cmd.env("XDG_STATE_HOME", state);
        cmd.env_remove("TRAILSCOPE_CONFIG");
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            rows.try_into().expect("rows"),
            cols.try_into().expect("cols"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let closing = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let (p, r, c) = (Arc::clone(&parser), Arc::clone(&raw), Arc::clone(&closing));
        let stalled = Arc::clone(&paused);
        let reader = std::thread::spawn(move || {
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            loop {
                while stalled.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        p.lock().expect("parser").process(&buf[..n]);
                        r.lock().expect("raw").extend_from_slice(&buf[..n]);
                    }
                }
                if c.load(Ordering::SeqCst) {
                    // Dropping the reader and the master here closes the terminal.
                    break;
                }
            }
        });
        Pty {
            parser,
            raw,
            writer: Some(writer),
            child,
            closing,
            paused,
            reader: Some(reader),
        }
    }

    /// Closes the master side, as a closed window or a dropped SSH connection does; returns
    /// when it is closed. The reader thread holds the master while it waits for output, so
    /// it is told to stop and `nudge` (a key that redraws) makes the binary write once more.
    fn hang_up(&mut self, nudge: &[u8]) -> Instant {
        self.closing.store(true, Ordering::SeqCst);
        self.send(nudge);
        drop(self.writer.take());
        if let Some(reader) = self.reader.take() {
            let deadline = Instant::now() + pty_timeout();
            while !reader.is_finished() {
                assert!(Instant::now() < deadline, "the reader did not let go");
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = reader.join();
        }
        Instant::now()
    }

    /// Waits for the binary to end, at most `limit` after `since`; returns its status and
    /// how long after `since` it was seen gone.
    fn wait_exit(
        &mut self,
        since: Instant,
        limit: Duration,
    ) -> (portable_pty::ExitStatus, Duration) {
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, since.elapsed());
            }
            if since.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "the binary was still running {:?} after; screen:\n{}",
                    since.elapsed(),
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the binary wrote, once it has ended.
    fn output(&mut self) -> String {
        self.paused.store(false, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        String::from_utf8_lossy(&self.raw.lock().expect("raw")).into_owned()
    }

    /// Sends a signal from outside, as `kill` does.
    fn kill(&self, signal: &str) {
        let pid = self.child.process_id().expect("pid");
        let killed = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(killed.success(), "kill -{signal}");
    }

    fn screen(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + pty_timeout();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        let writer = self.writer.as_mut().expect("the terminal is open");
        writer.write_all(bytes).expect("write");
        writer.flush().expect("flush");
    }
}

static PTY_LOCK: OnceLock<Mutex<()>> = OnceLock::new();

#[test]
fn the_binary_opens_the_sample_filters_drills_down_and_restores_the_terminal() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let store = sample();
    let frame = store.frame().clone();
    let total = thousands(frame.height() as u64);
    let filter_text = "outcome:failure";
    let matching = thousands(count(&frame, filter_text) as u64);
    let filtered = {
        let expr = filter::compile_str(
            filter_text,
            &FilterContext::for_frame(&frame, jiff::tz::TimeZone::UTC),
        )
        .expect("filter");
        frame.clone().lazy().filter(expr).collect().expect("filter")
    };
    let pivot = analysis::pivot(
        &filtered,
        &PivotSpec {
            rows: ACTOR.into(),
            cols: Some(ACTION.into()),
            distinct: None,
            top: 300,
        },
    )
    .expect("pivot");
    let drilled_filter = format!("({filter_text}) {}", pivot.cell_filter(0, None));
    let drilled = thousands(count(&frame, &drilled_filter) as u64);

    let mut pty = Pty::spawn(40, 120);
    pty.wait_for("the sample to load", |s| {
        s.contains(&format!("{total} / {total} events")) && s.contains("loaded")
    });
    pty.send(b"/");
    pty.send(filter_text.as_bytes());
    pty.send(b"\r");
    pty.wait_for("the filtered count", |s| {
        s.contains(&format!("{matching} / {total} events"))
    });
    pty.send(b"2");
    pty.wait_for("the pivot", |s| {
        s.contains("rows: actor") && !s.contains("counting")
    });
    pty.send(b"\r");
    pty.wait_for("the drill-down count", |s| {
        s.contains(&format!("{drilled} / {total} events"))
    });
    pty.send(b"\x1b");
    pty.wait_for("Esc back to the pivot", |s| {
        s.contains("rows: actor") && s.contains(&format!("{matching} / {total} events"))
    });
    pty.send(b"q");

    let deadline = Instant::now() + pty_timeout();
    let status = loop {
        if let Some(status) = pty.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the binary did not quit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    if let Some(reader) = pty.reader.take() {
        let _ = reader.join();
    }
    let raw = pty.raw.lock().expect("raw").clone();
    let text = String::from_utf8_lossy(&raw);
    let entered = text
        .rfind("\x1b[?1049h")
        .expect("the alternate screen was entered");
    let left = text
        .rfind("\x1b[?1049l")
        .expect("the alternate screen was left");
    assert!(left > entered, "left after entering");
    let shown = text.rfind("\x1b[?25h").expect("the cursor was shown again");
    assert!(shown > entered);
    let parser = pty.parser.lock().expect("parser");
    assert!(
        !parser.screen().alternate_screen(),
        "back on the main screen"
    );
    assert!(!parser.screen().hide_cursor(), "cursor visible");
}

/// Asserts the binary left the terminal as it found it: the output ends by leaving the
/// alternate screen and showing the cursor, mouse reporting was turned off after it was
/// turned on, and the emulator is back on the main screen.
fn assert_restored(pty: &mut Pty, what: &str) {
    let text = pty.output();
    let last = |pattern: &str| text.rfind(pattern);
    let entered = last("\x1b[?1049h").expect("the alternate screen was entered");
    let left =
        last("\x1b[?1049l").unwrap_or_else(|| panic!("{what}: the alternate screen was not left"));
    assert!(left > entered, "{what}: left after entering");
    assert!(
        text.ends_with("\x1b[?1049l\x1b[?25h"),
        "{what}: the output ends by leaving the alternate screen and showing the cursor: {:?}",
        &text[text.len().saturating_sub(120)..]
    );
    let mouse_on = last("\x1b[?1000h").expect("mouse reporting was turned on");
    let mouse_off =
        last("\x1b[?1000l").unwrap_or_else(|| panic!("{what}: mouse reporting left on"));
    assert!(
        mouse_off > mouse_on,
        "{what}: mouse reporting turned off last"
    );
    let parser = pty.parser.lock().expect("parser");
    assert!(
        !parser.screen().alternate_screen(),
        "{what}: back on the main screen"
    );
    assert!(!parser.screen().hide_cursor(), "{what}: cursor visible");
}

#[test]
fn signals_from_outside_restore_the_terminal_and_end_the_binary() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    // SIGHUP too: a terminal hung up from outside.
    for signal in ["INT", "QUIT", "TERM", "HUP"] {
        let mut pty = Pty::spawn(24, 80);
        pty.wait_for("the sample to load", |s| s.contains("loaded"));
        pty.kill(signal);
        let (status, took) = pty.wait_exit(Instant::now(), exit_timeout());
        eprintln!("SIG{signal}: gone after {took:?}, {status:?}");
        assert!(
            status.success(),
            "SIG{signal} was handled, and the loop ended by itself: {status:?}"
        );
        assert_restored(&mut pty, &format!("SIG{signal}"));
    }
}

#[test]
fn a_second_sigterm_is_handled_too() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let mut pty = Pty::spawn(24, 80);
    pty.wait_for("the sample to load", |s| s.contains("loaded"));
    pty.kill("TERM");
    pty.kill("TERM");
    let (status, took) = pty.wait_exit(Instant::now(), exit_timeout());
    eprintln!("SIGTERM twice: gone after {took:?}, {status:?}");
    assert!(status.signal().is_none(), "{status:?}");
    assert_restored(&mut pty, "SIGTERM twice");

    // While loading, with a signal arriving before the first ended the loop.
    let mut pty = Pty::spawn(24, 80);
    pty.wait_for("the first screen", |s| s.contains("events"));
    pty.kill("TERM");
    std::thread::sleep(Duration::from_millis(30));
    pty.kill("TERM");
    let (status, _) = pty.wait_exit(Instant::now(), exit_timeout());
    assert!(status.signal().is_none(), "{status:?}");
    assert_restored(&mut pty, "SIGTERM twice while loading");
}

#[test]
fn sigterm_ends_the_binary_even_when_its_terminal_stopped_reading() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    // Once with one SIGTERM (the loop is stuck in a write, so the signal thread ends the
    // process after a grace period), once with two (the second ends it at once).
    for signals in [1, 2] {
        let mut pty = Pty::spawn(60, 200);
        pty.wait_for("the sample to load", |s| s.contains("loaded"));
        pty.paused.store(true, Ordering::SeqCst);
        // Whole-screen redraws fill the terminal's buffer (tens of KB) and the next write
        // blocks. Keys a frame apart, so that each is drawn.
        for round in 0..40 {
            pty.send(if round % 2 == 0 { b"5" } else { b"1" });
            std::thread::sleep(Duration::from_millis(25));
        }
        // Where the UI thread waits (a tty write, when the buffer is full), for the log.
        let pid = pty.child.process_id().expect("pid");
        let wait = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        eprintln!("the UI thread waits in {wait:?}");
        let sent = Instant::now();
        for _ in 0..signals {
            pty.kill("TERM");
        }
        let (status, took) = pty.wait_exit(sent, exit_timeout());
        eprintln!("{signals} SIGTERM, terminal not reading: gone after {took:?}, {status:?}");
        assert!(status.signal().is_none(), "handled, not fatal: {status:?}");
        pty.paused.store(false, Ordering::SeqCst);
    }
}

#[test]
fn the_binary_is_gone_within_2_s_of_its_terminal_closing() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    for state in ["loaded", "loading"] {
        let mut pty = Pty::spawn(24, 80);
        if state == "loaded" {
            pty.wait_for("the sample to load", |s| s.contains("loaded"));
        } else {
            pty.wait_for("the first screen", |s| s.contains("events"));
        }
        let closed = pty.hang_up(b"j");
        let (status, took) = pty.wait_exit(closed, exit_timeout());
        eprintln!("terminal closed while {state}: gone after {took:?}, {status:?}");
        // Exit 0: no panic on the way out (writing to a terminal that is gone fails).
        assert!(status.success(), "ended by itself, cleanly: {status:?}");
    }
}

/// Waits for the binary to quit after `q` (within the 2 s a lost terminal is allowed, the
/// follower stopped or left behind) and checks it left the terminal as it found it.
fn quit_and_check(pty: &mut Pty, what: &str) {
    pty.send(b"q");
    let (status, took) = pty.wait_exit(Instant::now(), exit_timeout());
    eprintln!("{what}: gone {took:?} after q");
    assert!(status.success(), "{what}: exit status {status:?}");
    assert_restored(pty, what);
}

#[test]
fn follow_mode_opens_following_and_f_pauses_and_resumes() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.log");
    std::fs::write(&path, super::follow::ordinary("old", 0, 30)).expect("write");
    let path = path.display().to_string();
    let mut pty = Pty::spawn_with(30, 120, &["-f", &path]);
    let screen = pty.wait_for("the initial load, following", |s| {
        s.contains("30 / 30 events") && s.contains("following")
    });
    // Following starts at the newest event.
    assert!(screen.contains("old-user-29"), "{screen}");
    pty.send(b"F");
    pty.wait_for("F to pause", |s| s.contains("paused"));
    pty.send(b"g");
    pty.wait_for("the first event", |s| s.contains("old-user-0 "));
    pty.send(b"F");
    pty.wait_for("F to follow again", |s| {
        s.contains("following") && s.contains("old-user-29")
    });
    quit_and_check(&mut pty, "follow mode");
}

/// Appends to a file while `trailscope -f` follows it: the new events appear at the bottom
/// without a key, and the status bar says following; scrolled up, the screen stays put.
#[test]
fn follow_mode_shows_lines_appended_to_a_growing_file() {
    use std::io::Write as _;
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.log");
    std::fs::write(&path, super::follow::ordinary("old", 0, 20)).expect("write");
    let name = path.display().to_string();
    let mut pty = Pty::spawn_with(30, 120, &["-f", &name]);
    pty.wait_for("the initial load, following", |s| {
        s.contains("20 / 20 events") && s.contains("following")
    });
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open for appending");
    for round in 0..3u32 {
        let prefix = format!("grown{round}");
        let lines = super::follow::ordinary(&prefix, 100 + 10 * round, 5);
        // A line written in two parts waits for its newline.
        let (head, tail) = lines.split_at(lines.len() - 40);
        file.write_all(head.as_bytes()).expect("append");
        file.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(150));
        file.write_all(tail.as_bytes()).expect("append");
        file.flush().expect("flush");
        let total = 20 + 5 * (round + 1);
        let screen = pty.wait_for("the appended events", |s| {
            s.contains(&format!("{total} / {total} events"))
                && s.contains(&format!("{prefix}-user-4"))
        });
        assert!(screen.contains("following"), "{screen}");
        assert!(
            !screen.contains("rejected"),
            "no line was read half: {screen}"
        );
    }
    // Scrolled up, arrivals leave the screen alone.
    pty.send(b"g");
    pty.wait_for("paused at the first event", |s| {
        s.contains("paused") && s.contains("old-user-0 ")
    });
    file.write_all(super::follow::ordinary("late", 200, 2).as_bytes())
        .expect("append");
    file.flush().expect("flush");
    let screen = pty.wait_for("the count to grow", |s| s.contains("37 / 37 events"));
    assert!(screen.contains("old-user-0 "), "{screen}");
    assert!(!screen.contains("late-user-1"), "{screen}");
    quit_and_check(&mut pty, "following a growing file");
}

/// `command | trailscope -f -`: events come from the pipe, keys from the terminal.
#[test]
fn follow_mode_reads_a_pipe_and_keys_from_the_terminal() {
    use std::io::Write as _;
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("stream");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let fifo_name = fifo.display().to_string();
    let mut pty = Pty::spawn_command(30, 120, &["-f", "-"], Some(&fifo_name));
    // Opening blocks until the shell opened the other end for the binary.
    let mut pipe = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the FIFO");
    pipe.write_all(super::follow::ordinary("piped", 0, 12).as_bytes())
        .expect("write");
    pipe.flush().expect("flush");
    pty.wait_for("the piped events, following", |s| {
        s.contains("12 / 12 events") && s.contains("following") && s.contains("piped-user-11")
    });
    pty.send(b"F");
    pty.wait_for("F to pause", |s| s.contains("paused"));
    pipe.write_all(super::follow::ordinary("later", 100, 3).as_bytes())
        .expect("write");
    pipe.flush().expect("flush");
    let screen = pty.wait_for("the later events", |s| s.contains("15 / 15 events"));
    assert!(!screen.contains("later-user-2"), "paused: {screen}");
    pty.send(b"F");
    pty.wait_for("following again", |s| {
        s.contains("following") && s.contains("later-user-2")
    });
    // Quitting with the pipe still open: the binary does not wait for its end.
    quit_and_check(&mut pty, "following a pipe");
    drop(pipe);
}

#[test]
fn following_ends_within_2_s_of_its_terminal_closing() {
    use std::io::Write as _;
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let dir = tempfile::tempdir().expect("tempdir");
    // A growing file, and a pipe whose writer stays open (its reader blocked in a read).
    let path = dir.path().join("audit.log");
    std::fs::write(&path, super::follow::ordinary("old", 0, 5)).expect("write");
    let fifo = dir.path().join("stream");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let (name, fifo_name) = (path.display().to_string(), fifo.display().to_string());
    for stdin in [None, Some(fifo_name.as_str())] {
        let args: &[&str] = match stdin {
            None => &["-f", &name],
            Some(_) => &["-f", &name, "-"],
        };
        let mut pty = Pty::spawn_command(24, 80, args, stdin);
        let pipe = stdin.map(|_| {
            let mut pipe = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("open the FIFO");
            pipe.write_all(super::follow::ordinary("piped", 0, 2).as_bytes())
                .expect("write");
            pipe.flush().expect("flush");
            pipe
        });
        let total = if pipe.is_some() { 7 } else { 5 };
        pty.wait_for("following", |s| {
            s.contains("following") && s.contains(&format!("{total}/{total} events"))
        });
        let closed = pty.hang_up(b"j");
        let (status, took) = pty.wait_exit(closed, exit_timeout());
        eprintln!("following (stdin {stdin:?}), terminal closed: gone after {took:?}");
        assert!(status.success(), "ended by itself, cleanly: {status:?}");
        drop(pipe);
    }
}

/// The events table's lines on a screen: between the tab bar and the record pane.
fn table_lines(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip(1)
        .take(12)
        .map(str::to_string)
        .collect()
}

#[test]
fn a_view_saved_with_s_opens_again_from_the_list_with_the_same_rows_and_is_deleted_there() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let store = sample();
    let frame = store.frame().clone();
    let total = thousands(frame.height() as u64);
    let filter_text = "outcome:failure";
    let matching = thousands(count(&frame, filter_text) as u64);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("views.toml");
    let views = file.display().to_string();
    let args = ["--views", views.as_str(), "sample-logs"];

    let mut pty = Pty::spawn_with(40, 120, &args);
    pty.wait_for("the sample to load", |s| {
        s.contains(&format!("{total} / {total} events")) && s.contains("loaded")
    });
    pty.send(b"/");
    pty.send(filter_text.as_bytes());
    pty.send(b"\r");
    let filtered = pty.wait_for("the filtered count", |s| {
        s.contains(&format!("{matching} / {total} events"))
    });
    pty.send(b"s");
    pty.wait_for("the name prompt", |s| s.contains("save view as:"));
    pty.send(b"failures\r");
    pty.wait_for("the note prompt", |s| s.contains("note for 'failures':"));
    pty.send(b"from the pty\r");
    pty.wait_for("the view saved", |s| {
        s.contains("saved view 'failures'") && s.contains("view failures")
    });
    quit_and_check(&mut pty, "after saving");
    let text = std::fs::read_to_string(&file).expect("the views file");
    assert!(text.contains("[view.failures]") && text.contains("note = \"from the pty\""));

    let mut pty = Pty::spawn_with(40, 120, &args);
    pty.wait_for("the sample to load again", |s| {
        s.contains(&format!("{total} / {total} events")) && s.contains("loaded")
    });
    pty.send(b"v");
    pty.wait_for("the views list", |s| s.contains("Views (Enter opens"));
    // The user's view comes after the built-ins: the last one.
    pty.send(b"G\r");
    let opened = pty.wait_for("the view opened", |s| {
        s.contains(&format!("{matching} / {total} events")) && s.contains("view failures")
    });
    assert!(opened.contains(&format!("/ {filter_text}")), "{opened}");
    assert_eq!(table_lines(&opened), table_lines(&filtered));

    pty.send(b"vG");
    pty.wait_for("the views list again", |s| s.contains("Views (Enter opens"));
    pty.send(b"d");
    pty.wait_for("the confirmation", |s| {
        s.contains("delete view 'failures'? (y/n)")
    });
    pty.send(b"y");
    pty.wait_for("the deletion", |s| s.contains("deleted view 'failures'"));
    pty.send(b"\x1b");
    pty.wait_for("the list closed", |s| !s.contains("Views (Enter opens"));
    quit_and_check(&mut pty, "after deleting");
    let text = std::fs::read_to_string(&file).expect("the views file");
    assert!(!text.contains("failures"), "{text}");
}

#[test]
fn in_the_binary_comma_narrows_to_the_cell_and_y_copies_it_through_osc_52() {
    use base64::Engine as _;
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let store = sample();
    let frame = store.frame().clone();
    let total = thousands(frame.height() as u64);
    let actor = frame
        .column(ACTOR)
        .and_then(|c| c.get(0))
        .map(|v| v.str_value().into_owned())
        .expect("first actor");
    let narrowed = thousands(count(&frame, &format!("actor:\"{actor}\"")) as u64);

    let encoded = base64::engine::general_purpose::STANDARD.encode(actor.as_bytes());
    for (rows, cols) in [(24u16, 80u16), (45, 160)] {
        // Counts read `n/total` on 80 columns and `n / total` from 110.
        let slash = if cols >= 110 { " / " } else { "/" };
        let mut pty = Pty::spawn(rows, cols);
        pty.wait_for("the sample to load", |s| {
            s.contains(&format!("{total}{slash}{total} events")) && s.contains("loaded")
        });
        // Two columns right (time, provider, actor), then `,` and `y`.
        pty.send(b"\x1b[C\x1b[C");
        pty.send(b",");
        pty.wait_for("the narrowed count", |s| {
            s.contains(&format!("{narrowed}{slash}{total} events"))
        });
        pty.send(b"y");
        pty.wait_for("the copy notice", |s| s.contains("copied actor"));
        pty.send(b"q");
        let text = pty.output();
        assert!(
            text.contains(&format!("\x1b]52;c;{encoded}\x07")),
            "{cols}x{rows}: no OSC 52 sequence with the actor {actor:?}"
        );
    }
}

#[test]
fn the_record_view_searches_switches_tabs_and_q_closes_it_and_the_history_is_saved() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    for (rows, cols) in [(24u16, 80u16), (45, 160)] {
        let mut pty = Pty::spawn(rows, cols);
        // As a person does: Enter once the first event is on screen (the table's rows are
        // read on a worker after the load; Enter on an empty table opens nothing).
        pty.wait_for("the sample to load", |s| {
            s.contains("loaded") && s.contains("00:00:12")
        });
        pty.send(b"\r");
        pty.wait_for("the record view", |s| {
            s.contains("[record]") && s.contains(" fields ") && s.contains(" findings ")
        });
        // `/` searches the record: the count of matches shows on its bottom line.
        // Every JSON record has quotes.
        pty.send(b"/\"\r");
        pty.wait_for("the match count", |s| s.contains("/\"  1/"));
        pty.send(b"\t");
        pty.wait_for("the fields tab", |s| {
            s.contains("log_type") && s.contains("actor_type")
        });
        // `q` closes the record and does not quit.
        pty.send(b"q");
        pty.wait_for("the events table", |s| {
            !s.contains("[record]") && s.contains("events")
        });
        assert!(
            pty.child.try_wait().expect("wait").is_none(),
            "q did not quit"
        );
        // A filter applied is kept in the history under XDG_STATE_HOME.
        let unique = format!("action:*Get* -actor:nobody{cols}");
        pty.send(b"/");
        pty.send(unique.as_bytes());
        pty.send(b"\r");
        pty.send(b"q");
        let (status, _) = pty.wait_exit(Instant::now(), pty_timeout());
        assert!(status.success(), "{status:?}");
        let state =
            std::env::temp_dir().join(format!("trailscope-pty-state-{}", std::process::id()));
        let history =
            std::fs::read_to_string(state.join("trailscope").join("filter-history")).unwrap();
        assert!(history.lines().any(|l| l == unique), "{history}");
    }
}

/// `trailscope --lake DIR --lake-filter EXPR` opens the lake's matching events (without
/// their original records) and says in the status bar how many it loaded from where.
#[test]
fn the_binary_opens_a_lake_with_the_events_its_filter_selects() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let store = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    trailscope::lake::write::export(&store, None, dir.path()).expect("export");
    let aws = count(store.frame(), "provider:aws");
    let lake = dir.path().display().to_string();
    let mut pty = Pty::spawn_with(45, 160, &["--lake", &lake, "--lake-filter", "provider:aws"]);
    let screen = pty.wait_for("the lake's events", |s| {
        s.contains(&format!("{aws} events from the lake"))
    });
    assert!(
        screen.contains(&format!("{} events", thousands(aws as u64))),
        "{screen}"
    );
    // Every row shown is an AWS event.
    let rows = table_lines(&screen);
    assert!(!rows.is_empty(), "{screen}");
    for provider in ["gcp", "entra", "okta", "github", "kubernetes"] {
        assert!(
            !rows.iter().any(|r| r.contains(&format!(" {provider} "))),
            "{provider} in\n{screen}"
        );
    }
    quit_and_check(&mut pty, "lake");
}

#[test]
fn the_binary_reads_a_large_lake_a_page_at_a_time() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let store = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    trailscope::lake::write::export_with(&store, None, dir.path(), 16).expect("export");
    let total = store.frame().height();
    let size = (total / 4).to_string();
    let lake = dir.path().display().to_string();
    let mut pty = Pty::spawn_with(45, 160, &["--lake", &lake, "--lake-page", &size]);
    let screen = pty.wait_for("the lake's first page", |s| s.contains("lake page 1/"));
    let shown = |screen: &str| -> usize {
        // "N / M events" in the status line: M is the page's events.
        let status = screen
            .lines()
            .rev()
            .find(|l| l.contains(" events"))
            .unwrap_or("");
        let before = status.split(" events").next().unwrap_or("");
        let number = before.rsplit(['/', ' ']).next().unwrap_or("");
        number.replace(',', "").parse().unwrap_or(usize::MAX)
    };
    let first = shown(&screen);
    assert!(first > 0 && first < total, "a page, not the lake: {screen}");
    pty.send(b"}");
    let screen = pty.wait_for("the second page", |s| s.contains("lake page 2/"));
    assert!(shown(&screen) < total, "{screen}");
    pty.send(b"{");
    let screen = pty.wait_for("the first page again", |s| s.contains("lake page 1/"));
    assert_eq!(shown(&screen), first, "{screen}");
    quit_and_check(&mut pty, "lake pages");
}
