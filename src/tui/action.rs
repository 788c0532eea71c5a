//! What flows through the TUI's loop: [`Action`]s are requests (keys, mouse, commands) and
//! news (loaded batches, finished jobs, signals) that `update` applies to the state;
//! [`Effect`]s are what `update` asks the loop to carry out (jobs for the workers, quitting).

use crossterm::event::{KeyEvent, MouseEvent};

use crate::load::pipeline::IngestMsg;

use super::jobs::{Done, Job};
use super::keymap::Command;

/// What `update` is asked to do: input from the terminal, news from the loader and the
/// workers, and commands.
#[derive(Debug)]
pub enum Action {
    /// A key was pressed (resolved through the keymap, or typed into the filter bar).
    Key(KeyEvent),
    /// The mouse was used.
    Mouse(MouseEvent),
    /// The terminal has this many columns and rows.
    Resize(u16, u16),
    /// Time passed (about four times a second).
    Tick,
    /// A command, as a key would run it.
    Do(Command),
    /// News from the loader.
    Loaded(IngestMsgBox),
    /// A worker finished a job.
    Computed(Done),
    /// The process was asked to stop (SIGINT, SIGQUIT or SIGTERM from outside, SIGHUP).
    Terminate,
    /// The terminal went away (its input ended or failed): stop without drawing again.
    TerminalLost,
}

/// An ingest message inside an [`Action`] (`IngestMsg` has no `Debug`).
pub struct IngestMsgBox(pub IngestMsg);

impl std::fmt::Debug for IngestMsgBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match &self.0 {
            IngestMsg::BatchLoaded(_) => "BatchLoaded",
            IngestMsg::RecordRejected { .. } => "RecordRejected",
            IngestMsg::RecordSkipped { .. } => "RecordSkipped",
            IngestMsg::InputFinished(_) => "InputFinished",
            IngestMsg::ProgressMade(_) => "ProgressMade",
            IngestMsg::LoadFinished => "LoadFinished",
            IngestMsg::InputAdded { .. } => "InputAdded",
            IngestMsg::InputNotice(_) => "InputNotice",
            IngestMsg::Position(_) => "Position",
            IngestMsg::InputOrigin { .. } => "InputOrigin",
        };
        f.write_str(name)
    }
}

/// What `tui/mod.rs` carries out for `update`.
#[allow(clippy::large_enum_variant)]
pub enum Effect {
    /// Run a job on a worker (a newer job of the same slot replaces a queued one).
    Run(Job),
    /// The same, for a result not on screen yet (computed ahead of time).
    Prefetch(Job),
    /// Leave the TUI.
    Quit,
    /// Put this text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Free a replaced view-model off the UI thread: tens of thousands of findings take
    /// tens of milliseconds to free, which a key would wait for.
    Discard(Box<dyn std::any::Any + Send>),
}

impl Effect {
    /// [`Effect::Discard`] of a value.
    pub fn discard(value: impl std::any::Any + Send) -> Effect {
        Effect::Discard(Box::new(value))
    }
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Run(job) => write!(f, "Run({:?})", job.slot()),
            Effect::Prefetch(job) => write!(f, "Prefetch({:?})", job.slot()),
            Effect::Quit => f.write_str("Quit"),
            Effect::Copy(text) => write!(f, "Copy({} bytes)", text.len()),
            Effect::Discard(_) => f.write_str("Discard"),
        }
    }
}
