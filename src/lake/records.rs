//! The original records of events loaded from a lake: each row's `raw_offset` holds a
//! locator (the file among the view's files, and the row in that file), and the record is
//! read back from the file's `raw` column, one row group's pages at most.

use std::path::PathBuf;
use std::sync::Arc;

use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;

use crate::store::RecordSource;
use crate::{Error, Result};

use super::io_error;
use super::layout::RAW;
use super::scan::file_metadata;

/// Bits of a locator that hold the row in its file (the rest hold the file).
const ROW_BITS: u32 = 40;

/// The locator of `row` of the view's file number `file`.
pub fn locator(file: usize, row: u64) -> u64 {
    ((file as u64) << ROW_BITS) | (row & ((1 << ROW_BITS) - 1))
}

/// The file number and row a locator names.
pub fn located(locator: u64) -> (usize, u64) {
    (
        (locator >> ROW_BITS) as usize,
        locator & ((1 << ROW_BITS) - 1),
    )
}

/// The lake files a store's rows were read from, in the order their locators number them.
#[derive(Debug)]
pub struct LakeRecords {
    files: Vec<PathBuf>,
}

impl LakeRecords {
    /// Records of rows located in `files`.
    pub fn new(files: Vec<PathBuf>) -> Arc<LakeRecords> {
        Arc::new(LakeRecords { files })
    }
}

impl RecordSource for LakeRecords {
    fn read(&self, at: u64) -> Result<Vec<u8>> {
        let (file, row) = located(at);
        let path = self
            .files
            .get(file)
            .ok_or_else(|| Error::Invalid(format!("no lake file {file} for this event")))?;
        let metadata = file_metadata(path)?;
        let mut start = 0u64;
        let group = metadata.row_groups.iter().find(|g| {
            let end = start + g.num_rows() as u64;
            let here = row < end;
            if !here {
                start = end;
            }
            here
        });
        let Some(group) = group else {
            return Err(Error::Invalid(format!(
                "{}: the lake file has no row {row} (rewritten since it was read?)",
                path.display()
            )));
        };
        // Only the row group holding the row, and in it only the record's row.
        let mut one = (*metadata).clone();
        one.num_rows = group.num_rows();
        one.max_row_group_height = group.num_rows();
        one.row_groups = vec![group.clone()];
        let handle = std::fs::File::open(path).map_err(io_error(path))?;
        let mut reader = ParquetReader::new(handle)
            .with_columns(Some(vec![RAW.to_string()]))
            .with_slice(Some(((row - start) as usize, 1)));
        reader.set_metadata(Arc::new(one));
        let frame = reader.finish().map_err(|e| {
            Error::Invalid(format!(
                "{}: cannot read the record at row {row}: {e}",
                path.display()
            ))
        })?;
        let raw = frame
            .column(RAW)
            .ok()
            .and_then(|c| c.str().ok().and_then(|s| s.get(0).map(str::to_owned)));
        raw.map(String::into_bytes).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: the event at row {row} has no original record",
                path.display()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_round_trip() {
        for (file, row) in [(0, 0), (1, 65_535), (12_345, (1 << 40) - 1)] {
            assert_eq!(located(locator(file, row)), (file, row));
        }
    }
}
