//! End to end: the real binary in a pseudo-terminal, its screen read with a vt100 parser.
//! Timeouts: `TRAILSCOPE_PTY_TIMEOUT` seconds (default 30).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use polars::prelude::*;
use trailscope::filter::{self, FilterContext};
use trailscope::query::{self, PivotSpec};
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

struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    fn spawn(rows: u16, cols: u16) -> Pty {
        use portable_pty::{CommandBuilder, PtySize, native_pty_system};
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_trailscope"));
        cmd.cwd(env!("CARGO_MANIFEST_DIR"));
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_CONFIG_HOME", "/nonexistent-trailscope-test");
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
        let (p, r) = (Arc::clone(&parser), Arc::clone(&raw));
        let reader = std::thread::spawn(move || {
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        p.lock().expect("parser").process(&buf[..n]);
                        r.lock().expect("raw").extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        Pty {
            parser,
            raw,
            writer,
            child,
            reader: Some(reader),
        }
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
        self.writer.write_all(bytes).expect("write");
        self.writer.flush().expect("flush");
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
    let pivot = query::pivot(
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

#[test]
fn sigterm_restores_the_terminal() {
    let _one_at_a_time = PTY_LOCK.get_or_init(|| Mutex::new(())).lock();
    let mut pty = Pty::spawn(24, 80);
    pty.wait_for("the sample to load", |s| s.contains("loaded"));
    let pid = pty.child.process_id().expect("pid");
    let killed = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + pty_timeout();
    while pty.child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "SIGTERM did not stop the binary");
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(reader) = pty.reader.take() {
        let _ = reader.join();
    }
    let parser = pty.parser.lock().expect("parser");
    assert!(
        !parser.screen().alternate_screen(),
        "back on the main screen"
    );
    assert!(!parser.screen().hide_cursor(), "cursor visible");
}
