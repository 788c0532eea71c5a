//! The Parquet lake: the normalized events as hive-partitioned Parquet files that trailscope,
//! DuckDB, Spark, Trino and Athena read alike. [`layout`] is the contract between them;
//! [`write`] exports events into a lake, [`scan`] and [`prune`] read the files a filter can
//! match (with [`values`], the row groups that can hold a looked-up value), [`query`] runs the analyses over them and [`aggregate`] the pivots and timelines
//! over whole lakes in bounded memory, and [`detect`] runs the rules over a lake a day at a
//! time; [`pages`] cuts a view into pages the TUI reads one at a time.

pub mod aggregate;
pub mod detect;
pub mod key;
pub mod layout;
pub mod pages;
pub mod prune;
pub mod query;
pub mod records;
pub mod replicate;
pub mod scan;
pub mod sql;
pub mod summary;
pub mod values;
pub mod write;

use std::path::Path;

use crate::{Error, Location};

/// Wraps an IO error with the lake path it happened on.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        location: Location::file(path.display().to_string()),
        source,
    }
}
