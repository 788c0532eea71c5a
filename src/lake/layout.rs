//! The lake's layout: where files go and which columns they hold, with which types.
//!
//! This is a contract with other engines (the DDL trailscope prints, the SQL it emits), so
//! it changes only with a new [`LAYOUT_VERSION`]:
//!
//! ```text
//! DIR/provider=<provider>/date=<YYYY-MM-DD>/part-<hex>.parquet
//! ```
//!
//! - `provider` and `date` (the UTC day of `time`) are hive partitions: they live in the path,
//!   not in the files, as Spark, Trino and Athena expect. An event without a time goes to
//!   `date=__HIVE_DEFAULT_PARTITION__`, the partition Hive and Spark read as null.
//! - A file holds the [`FILE_COLUMNS`] in that order, zstd-compressed, sorted by time.
//! - Files being written are named with a leading `.`, which every engine ignores; a file
//!   becomes part of the lake when it is renamed to its final name.

use std::path::{Path, PathBuf};

use crate::schema::{
    ACCOUNT, ACTION, ACTOR, ACTOR_ID, ACTOR_TYPE, CITY, CORRELATION_ID, COUNTRY, DETAILS, ERROR,
    EVENT_ID, IDENTITY, LOG_TYPE, MFA, OUTCOME, PRIVILEGED, PROVIDER, RAW_LINE, READ_ONLY, REGION,
    RESOURCE, SERVICE, SESSION, SOURCE, SRC_IP, TIME, USER_AGENT,
};

/// The version of this layout, written in the lake's [`LAYOUT_FILE`].
pub const LAYOUT_VERSION: u32 = 1;

/// The partition column holding the UTC day of `time`, `YYYY-MM-DD`.
pub const DATE: &str = "date";

/// The column holding the original record, as the input had it (UTF-8 text).
pub const RAW: &str = "raw";

/// The hive partition columns, outermost first.
pub const PARTITION_COLUMNS: [&str; 2] = [PROVIDER, DATE];

/// The value of a partition whose column is null (Hive's and Spark's convention).
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The type a lake column has in Parquet (and in the SQL of other engines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LakeType {
    /// Parquet TIMESTAMP(MICROS, adjusted to UTC).
    Timestamp,
    /// UTF-8 string (dictionary-encoded where values repeat).
    Text,
    /// Boolean, nullable.
    Boolean,
    /// Signed 64-bit integer (no unsigned types: Spark and Athena read them poorly).
    Integer,
}

/// The columns of every lake file, in order, with their types. The partition columns are
/// not among them.
pub const FILE_COLUMNS: [(&str, LakeType); 27] = [
    (TIME, LakeType::Timestamp),
    (LOG_TYPE, LakeType::Text),
    (EVENT_ID, LakeType::Text),
    (ACTOR, LakeType::Text),
    (IDENTITY, LakeType::Text),
    (ACTOR_TYPE, LakeType::Text),
    (ACTOR_ID, LakeType::Text),
    (ACTION, LakeType::Text),
    (SERVICE, LakeType::Text),
    (RESOURCE, LakeType::Text),
    (SRC_IP, LakeType::Text),
    (USER_AGENT, LakeType::Text),
    (REGION, LakeType::Text),
    (COUNTRY, LakeType::Text),
    (CITY, LakeType::Text),
    (OUTCOME, LakeType::Text),
    (ERROR, LakeType::Text),
    (MFA, LakeType::Boolean),
    (SESSION, LakeType::Text),
    (CORRELATION_ID, LakeType::Text),
    (READ_ONLY, LakeType::Boolean),
    (PRIVILEGED, LakeType::Boolean),
    (ACCOUNT, LakeType::Text),
    (DETAILS, LakeType::Text),
    (SOURCE, LakeType::Text),
    (RAW_LINE, LakeType::Integer),
    (RAW, LakeType::Text),
];

/// The file at the lake's root naming the layout version (`layout = 1`); engines skip names
/// starting with `_`.
pub const LAYOUT_FILE: &str = "_trailscope_lake.toml";

/// The type of a lake column (file or partition column), `None` for other names.
pub fn column_type(name: &str) -> Option<LakeType> {
    if PARTITION_COLUMNS.contains(&name) {
        return Some(LakeType::Text);
    }
    FILE_COLUMNS
        .iter()
        .find(|(column, _)| *column == name)
        .map(|(_, t)| *t)
}

/// The `date` partition value of a time (UTC microseconds), or [`NULL_PARTITION`].
pub fn day_of(time_us: Option<i64>) -> String {
    let Some(us) = time_us else {
        return NULL_PARTITION.to_string();
    };
    match jiff::Timestamp::from_microsecond(us) {
        Ok(ts) => ts.strftime("%Y-%m-%d").to_string(),
        Err(_) => NULL_PARTITION.to_string(),
    }
}

/// The directory of one partition under the lake's root.
pub fn partition_dir(root: &Path, provider: &str, day: &str) -> PathBuf {
    root.join(format!("{PROVIDER}={provider}"))
        .join(format!("{DATE}={day}"))
}

/// The provider and day a partition directory names, if `dir` is one (relative to the
/// root or not).
pub fn partition_of(dir: &Path) -> Option<(String, String)> {
    let day = dir.file_name()?.to_str()?.strip_prefix("date=")?;
    let provider = dir
        .parent()?
        .file_name()?
        .to_str()?
        .strip_prefix("provider=")?;
    Some((provider.to_string(), day.to_string()))
}

/// Whether a file name is a finished lake file (not one being written, not metadata).
pub fn is_lake_file(name: &str) -> bool {
    name.ends_with(".parquet") && !name.starts_with('.') && !name.starts_with('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_round_trip_through_their_directory() {
        let dir = partition_dir(
            Path::new("/lake"),
            "aws",
            &day_of(Some(1_710_892_800_000_000)),
        );
        assert_eq!(dir, Path::new("/lake/provider=aws/date=2024-03-20"));
        assert_eq!(
            partition_of(&dir),
            Some(("aws".to_string(), "2024-03-20".to_string()))
        );
        assert_eq!(day_of(None), NULL_PARTITION);
    }

    #[test]
    fn only_finished_parquet_files_belong_to_the_lake() {
        assert!(is_lake_file("part-00ab.parquet"));
        assert!(!is_lake_file(".part-00ab.parquet"));
        assert!(!is_lake_file("_SUCCESS"));
        assert!(!is_lake_file("part-00ab.parquet.tmp"));
    }

    #[test]
    fn every_column_has_one_type_and_partitions_are_not_in_files() {
        for partition in PARTITION_COLUMNS {
            assert!(!FILE_COLUMNS.iter().any(|(c, _)| *c == partition));
        }
        assert_eq!(column_type(TIME), Some(LakeType::Timestamp));
        assert_eq!(column_type(PROVIDER), Some(LakeType::Text));
        assert_eq!(column_type("nope"), None);
    }
}
