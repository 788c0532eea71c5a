//! Work done on each record while the loader holds its bytes: a [`RecordTap`] given in the
//! load options sees every accepted record with its categorical ids, on the worker thread
//! that parsed it. Analyses that would otherwise read the records again after loading (the
//! Sigma rules, which test fields the frame does not hold) do their reading here, where the
//! bytes cost nothing to reach; re-reading a gzipped input costs more than the work itself.

/// Sees each record the loader accepts (on any worker thread, in no particular order).
pub trait RecordTap: Send + Sync {
    /// One accepted record; what the tap keeps is its own (keyed by source and offset, as
    /// the frame's `source` and `raw_offset` columns locate the row).
    fn record(&self, record: &TappedRecord<'_>);
}

/// An accepted record as a tap sees it.
#[derive(Debug, Clone, Copy)]
pub struct TappedRecord<'a> {
    /// The input, as the `source` column's physical id.
    pub source: u32,
    /// Where the record starts in the input (its `raw_offset`).
    pub offset: u64,
    /// The `provider` column's physical id.
    pub provider: Option<u32>,
    /// The `log_type` column's physical id.
    pub log_type: Option<u32>,
    /// The `action` column's physical id.
    pub action: Option<u32>,
    /// The record's bytes as read (envelope included).
    pub raw: &'a [u8],
    /// The record out of its envelope, as the provider parsed it (`raw` when it has none).
    pub bare: &'a [u8],
    /// Whether the record is a CSV row (its columns are named by the input's header).
    pub table_row: bool,
}
