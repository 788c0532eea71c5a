//! The Parquet lake: the normalized events as hive-partitioned Parquet files that trailscope,
//! DuckDB, Spark, Trino and Athena read alike. [`layout`] is the contract between them.

pub mod layout;
pub mod sql;
