//! trailscope: load, query and investigate cloud audit logs.
//!
//! Data flows one way, and the module tree reads in that order: [`schema`], [`text`],
//! [`time`], [`net`], [`config`] and [`json_scan`] are the base; [`providers`] parse one
//! format family each; [`load`] finds records in inputs (files, directories, gzip, stdin),
//! recognizes their format and runs the parallel pipeline; [`store`] holds the Polars frame;
//! [`analysis`] answers filters, pivots, timelines and SQL over it, each described by a
//! serializable spec; [`detectors`] turn it into findings and [`incidents`] group those into
//! stories; [`audit`] follows grants
//! and elevations from approval to revocation and their use; [`output`]
//! (tables and machine formats) and [`tui`] (the terminal UI) show the results; [`tail`] is
//! the headless follow mode (new events and findings as they arrive, alerts).
#![forbid(unsafe_code)]

use std::fmt;
use std::path::PathBuf;

/// The allocator of every trailscope binary: jemalloc, built (`.cargo/config.toml`) to give
/// freed pages back to the system at once (`dirty_decay_ms:0`). Loading builds and frees
/// many small buffers on its workers; glibc kept them after a load (450 MB at a million
/// events), jemalloc with immediate decay keeps what is live.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod analysis;
pub mod audit;
pub mod config;
pub mod country;
pub mod detectors;
pub mod identity;
pub mod incidents;
pub mod json_scan;
pub mod kept_records;
pub mod lake;
pub mod load;
pub mod net;
pub mod output;
pub mod providers;
pub mod schema;
pub mod sigma;
pub mod store;
pub mod synth;
pub mod tail;
pub mod text;
pub mod time;
pub mod tui;
pub mod views;

/// A position in an input: the file (or `-`), and the line and/or byte offset when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The input as the user named it (`-` for standard input).
    pub path: String,
    /// 1-based line number.
    pub line: Option<u64>,
    /// Byte offset in the (decompressed) input.
    pub byte_offset: Option<u64>,
}

impl Location {
    /// A location naming only the input.
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            line: None,
            byte_offset: None,
        }
    }

    /// A location at a line and byte offset of an input.
    pub fn at(path: impl Into<String>, line: u64, byte_offset: u64) -> Self {
        Location {
            path: path.into(),
            line: Some(line),
            byte_offset: Some(byte_offset),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", text::escape_control(&self.path))?;
        match (self.line, self.byte_offset) {
            (Some(line), Some(offset)) => write!(f, ":{line} (byte {offset})"),
            (Some(line), None) => write!(f, ":{line}"),
            (None, Some(offset)) => write!(f, ": byte {offset}"),
            (None, None) => Ok(()),
        }
    }
}

/// A record that could not be loaded: counted and reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Where the record is.
    pub location: Location,
    /// Why it was rejected, for a person.
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.location,
            text::escape_control(&self.reason)
        )
    }
}

/// Errors of the library: each names what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input could not be opened or read.
    #[error("{location}: {source}")]
    Io {
        /// Which input.
        location: Location,
        /// The OS error.
        source: std::io::Error,
    },
    /// A path matched nothing.
    #[error("{0}: no such file, directory or matching glob")]
    NotFound(PathBuf),
    /// No input held any event.
    #[error(
        "no events loaded from {inputs} input(s) ({rejected} record(s) rejected); formats understood: {formats}"
    )]
    NothingLoaded {
        /// Inputs tried.
        inputs: usize,
        /// Records rejected.
        rejected: u64,
        /// The format names understood.
        formats: String,
    },
    /// A configuration file is invalid.
    #[error("{location}: {message}")]
    Config {
        /// File and line.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A Polars operation failed.
    #[error("{operation}: {source}")]
    Polars {
        /// What was being done.
        operation: &'static str,
        /// The Polars error.
        source: polars::error::PolarsError,
    },
    /// A user-supplied value is invalid (time zone, format name, ...).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Wraps a Polars error with the operation that failed.
    pub fn polars(operation: &'static str) -> impl FnOnce(polars::error::PolarsError) -> Error {
        move |source| Error::Polars { operation, source }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
