//! Running a command for an alert: `sh -c CMD` with the alert's JSON on standard input, a
//! timeout after which it is killed, its exit status and the start of its standard error
//! kept for the log.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How much of a command's standard error is kept (the rest is read and dropped).
pub const STDERR_KEPT: usize = 2048;

/// Runs `command` with `input` on its standard input; Ok when it exits with status 0 within
/// `timeout`, else why not (with the start of its standard error).
pub fn run(command: &str, input: &[u8], timeout: Duration) -> Result<(), String> {
    let shown = crate::text::truncate(&crate::text::escape_control(command), 60).into_owned();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("exec {shown}: cannot start sh: {e}"))?;
    // Feed stdin and drain stderr on their own threads, so that a command that does
    // neither in the order expected cannot make this wait on a full pipe.
    let stdin = child.stdin.take();
    let input = input.to_vec();
    // Neither thread is joined: a background process the command started may hold a pipe
    // open long after it exited.
    std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            // A command that exits without reading all of it is its own business.
            let _ = stdin.write_all(&input);
        }
    });
    let stderr = child.stderr.take();
    let (said_tx, said_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
        let _ = said_tx.send(kept);
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("timed out after {timeout:?}; killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => break Err(e.to_string()),
        }
    };
    let said = said_rx
        .recv_timeout(Duration::from_millis(500))
        .unwrap_or_default();
    let said = String::from_utf8_lossy(&said);
    let said = crate::text::escape_control(said.trim()).into_owned();
    match status {
        Ok(s) if s.success() => {
            if !said.is_empty() {
                log::info!("exec {shown}: {said}");
            }
            Ok(())
        }
        Ok(s) => Err(format!(
            "exec {shown}: {s}{}",
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        )),
        Err(why) => Err(format!("exec {shown}: {why}")),
    }
}
