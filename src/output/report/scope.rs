//! What a report stands on: each input with its size and SHA-256 (computed while loading
//! read the file when the load was asked to, else read again, streaming; either way what
//! `sha256sum` prints, so an auditor can check the evidence), the events seen, loaded, duplicated
//! and rejected per input and in total, the time range loaded, and the coverage of each log
//! stream with its gaps.
//!
//! **Gaps.** A report names the silences the `log-integrity-gap` rule finds: a stream
//! (provider + account + log type) silent for at least `gap_minutes` and far longer than its
//! own 99th-percentile gap, in hours when its quietest other days still log events. Nights,
//! weekends and the lulls of a small tenant have a floor of zero and are never gaps, and a
//! stream with fewer than `gap_history_days` full days is listed as not judged rather than
//! guessed about (see `[detect.integrity]` in the configuration).

use std::io::Read;
use std::path::Path;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::detectors::Finding;
use crate::schema::{ACCOUNT, LOG_TYPE, PROVIDER, TIME};
use crate::store::{FrameStore, InputStats};
use crate::{Error, Result};

/// The rule whose silences are a report's gaps.
pub const GAP_RULE: &str = "log-integrity-gap";
/// Streams listed in a report's coverage (the rest are counted).
pub const STREAMS_SHOWN: usize = 50;
const DAY_US: i64 = 86_400_000_000;
/// Result columns of the stream count (the event columns never start with `__`).
const FIRST: &str = "__first";
const LAST: &str = "__last";
const COUNT: &str = "__n";

/// One input of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct InputScope {
    /// The input as loaded (`-` for standard input).
    pub name: String,
    /// Its size in bytes now, when it is a file.
    pub size: Option<u64>,
    /// SHA-256 of its bytes (hex), when it is a file.
    pub sha256: Option<String>,
    /// Whether the file changed (size or modification time) after it was loaded, so its
    /// SHA-256 is of the file now rather than of the bytes loaded.
    pub changed_since_load: bool,
    /// Detected format.
    pub format: String,
    /// Records seen, loaded, duplicated, rejected.
    pub seen: u64,
    /// Events loaded.
    pub loaded: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Records rejected.
    pub rejected: u64,
}

/// One log stream's coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// `provider/account/log_type`.
    pub label: String,
    /// Its first and last event (µs UTC).
    pub first: i64,
    /// Its last event.
    pub last: i64,
    /// Its events.
    pub events: u64,
    /// Whether it spans enough full days for gaps to be judged.
    pub judged: bool,
}

/// What the report stands on.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Every input, in load order.
    pub inputs: Vec<InputScope>,
    /// Totals: seen, loaded, duplicates, rejected.
    pub totals: (u64, u64, u64, u64),
    /// Earliest and latest loaded event.
    pub range: (Option<i64>, Option<i64>),
    /// Log streams, by label (at most [`STREAMS_SHOWN`]).
    pub streams: Vec<Stream>,
    /// How many streams there are in all.
    pub stream_count: usize,
    /// Full days of history a stream needs for its gaps to be judged.
    pub history_days: u32,
    /// The gaps found: the silences of [`GAP_RULE`], as its reasons word them, time order.
    pub gaps: Vec<(Option<i64>, String)>,
}

/// Size and SHA-256 of every input, in input order, each file read again (see
/// [`hash_input`]).
pub fn hash_inputs(inputs: &[InputStats]) -> Vec<InputHash> {
    inputs
        .iter()
        .map(|input| {
            let (size, sha256) = hash_input(&input.name);
            InputHash {
                size,
                sha256,
                changed_since_load: false,
            }
        })
        .collect()
}

/// An input's size and SHA-256 as a report states them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputHash {
    /// Size in bytes, when a file.
    pub size: Option<u64>,
    /// SHA-256 (hex), when a file.
    pub sha256: Option<String>,
    /// Whether the file changed after it was loaded (and was hashed again).
    pub changed_since_load: bool,
}

/// Size and SHA-256 of every input of `store`, in input order: the digest the load computed
/// while reading a file ([`crate::load::source::LoadDigest`]) when the file still has the
/// size and modification time it had then; otherwise the file read again now (and, when the
/// load had hashed it, marked as changed since).
pub fn input_hashes(store: &FrameStore) -> Vec<InputHash> {
    store
        .inputs()
        .iter()
        .map(|input| {
            let origin = store.origin(&input.name);
            if let Some((origin, digest)) = origin.and_then(|o| o.digest().map(|d| (o, d))) {
                let now = std::fs::metadata(&origin.path).ok();
                let unchanged = now.is_some_and(|m| {
                    m.len() == digest.size && m.modified().ok() == digest.modified
                });
                if unchanged {
                    return InputHash {
                        size: Some(digest.size),
                        sha256: Some(hex(&digest.sha256)),
                        changed_since_load: false,
                    };
                }
                let (size, sha256) = hash_input(&input.name);
                return InputHash {
                    size,
                    sha256,
                    changed_since_load: true,
                };
            }
            let (size, sha256) = hash_input(&input.name);
            InputHash {
                size,
                sha256,
                changed_since_load: false,
            }
        })
        .collect()
}

/// The scope of everything `store` loaded; `findings` are the rules' findings over its
/// whole frame (their silences are the gaps), `hashes` its inputs' [`input_hashes`].
pub fn scope(
    store: &FrameStore,
    config: &Config,
    findings: &[Finding],
    hashes: Vec<InputHash>,
) -> Result<Scope> {
    let inputs = store
        .inputs()
        .iter()
        .zip(
            hashes
                .into_iter()
                .chain(std::iter::repeat(InputHash::default())),
        )
        .map(|(input, hash)| InputScope {
            name: input.name.clone(),
            size: hash.size,
            sha256: hash.sha256,
            changed_since_load: hash.changed_since_load,
            format: match (input.format, input.envelope) {
                (Some(f), Some(e)) => format!("{f} ({e})"),
                (Some(f), None) => f.to_string(),
                (None, _) => input.shape.to_string(),
            },
            seen: input.seen(),
            loaded: input.events,
            duplicates: input.duplicates,
            rejected: input.rejected,
        })
        .collect();
    let (events, duplicates, rejected) = store.totals();
    let frame = store.frame();
    let times = frame.column(TIME).map_err(Error::polars("reading times"))?;
    let physical = times.as_materialized_series().to_physical_repr();
    let ca = physical.i64().map_err(Error::polars("reading times"))?;
    let history_days = config.detect.integrity.gap_history_days;
    let mut streams = streams(frame, history_days)?;
    let stream_count = streams.len();
    streams.truncate(STREAMS_SHOWN);
    let mut gaps: Vec<(Option<i64>, String)> = findings
        .iter()
        .filter(|f| f.rule == GAP_RULE && is_silence(&f.reason))
        .map(|f| (f.time, f.reason.clone()))
        .collect();
    gaps.sort();
    Ok(Scope {
        inputs,
        totals: (events + duplicates + rejected, events, duplicates, rejected),
        range: (ca.min(), ca.max()),
        streams,
        stream_count,
        history_days,
        gaps,
    })
}

/// Whether a reason of the gap rule words a silence (its other checks are altered copies
/// and clocks, which are findings but not gaps in coverage).
fn is_silence(reason: &str) -> bool {
    reason.contains(" was silent for ") || reason.contains(" has no events after ")
}

/// Size and SHA-256 of a file input, streamed in 1 MiB reads; none for standard input or a
/// file that can no longer be read.
pub fn hash_input(name: &str) -> (Option<u64>, Option<String>) {
    if name == "-" {
        return (None, None);
    }
    let path = Path::new(name);
    let Ok(mut file) = std::fs::File::open(path) else {
        return (None, None);
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (None, None),
        }
    }
    (Some(size), Some(hex(&hasher.finalize())))
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Each (provider, account, log type) stream with its first and last event and count,
/// sorted by label.
fn streams(frame: &DataFrame, history_days: u32) -> Result<Vec<Stream>> {
    let err = Error::polars("counting log streams");
    let grouped = frame
        .clone()
        .lazy()
        .filter(col(TIME).is_not_null())
        .group_by([col(PROVIDER), col(ACCOUNT), col(LOG_TYPE)])
        .agg([
            col(TIME).to_physical().min().alias(FIRST),
            col(TIME).to_physical().max().alias(LAST),
            len().cast(DataType::UInt64).alias(COUNT),
        ])
        .with_columns([
            col(PROVIDER).cast(DataType::String),
            col(ACCOUNT).cast(DataType::String),
            col(LOG_TYPE).cast(DataType::String),
        ])
        .collect()
        .map_err(err)?;
    let text = |name: &str| -> Result<Vec<Option<String>>> {
        Ok(grouped
            .column(name)
            .and_then(|c| c.str().cloned())
            .map_err(Error::polars("counting log streams"))?
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    };
    let number = |name: &str| -> Result<Vec<i64>> {
        Ok(grouped
            .column(name)
            .and_then(|c| c.cast(&DataType::Int64))
            .and_then(|c| c.i64().cloned())
            .map_err(Error::polars("counting log streams"))?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let (providers, accounts, logs) = (text(PROVIDER)?, text(ACCOUNT)?, text(LOG_TYPE)?);
    let (firsts, lasts, counts) = (number(FIRST)?, number(LAST)?, number(COUNT)?);
    let mut out: Vec<Stream> = (0..grouped.height())
        .map(|i| {
            let parts: Vec<&str> = [&providers[i], &accounts[i], &logs[i]]
                .into_iter()
                .filter_map(|p| p.as_deref())
                .filter(|p| !p.is_empty())
                .collect();
            let (first, last) = (firsts[i], lasts[i]);
            // The rule's own test: full UTC days inside the stream's span.
            let days = (last.div_euclid(DAY_US) - (first + DAY_US - 1).div_euclid(DAY_US)).max(0);
            Stream {
                label: parts.join("/"),
                first,
                last,
                events: counts[i].max(0) as u64,
                judged: days >= i64::from(history_days),
            }
        })
        .collect();
    out.sort_by(|a, b| a.label.cmp(&b.label).then(a.first.cmp(&b.first)));
    Ok(out)
}
