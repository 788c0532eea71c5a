//! Every matching event, streamed: CSV, JSON, NDJSON or Parquet, written a chunk of rows at
//! a time so that a report of millions of events holds one chunk in memory, never a string
//! of everything. Times are RFC 3339 UTC in CSV and JSON; categorical columns are plain
//! strings in Parquet, which DuckDB, pandas, Spark and Polars all read.

use std::io::Write;

use polars::prelude::*;
use polars_io::parquet::write::{ParquetCompression, ParquetWriter};

use crate::schema::{self, RAW_LINE, SOURCE};
use crate::{Error, Result};

use super::redact::Redactor;
use super::text_rows::{self, TextFormat};

pub use super::text_rows::CHUNK_ROWS;

/// The columns the row formats carry: the normalized event columns, then the input and
/// line each event was read from.
pub fn export_columns() -> Vec<&'static str> {
    let mut columns = schema::EVENT_COLUMNS.to_vec();
    columns.extend([SOURCE, RAW_LINE]);
    columns
}

/// A row format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet.
    Parquet,
}

/// Rows `rows` of `frame` (all of them, in frame order, when None) with `columns`, in
/// chunks: categoricals as strings, redacted when a redactor is given. Calls `each` per
/// chunk, in order.
pub fn for_each_chunk(
    frame: &DataFrame,
    rows: Option<&IdxCa>,
    columns: &[&str],
    redactor: Option<&Redactor>,
    mut each: impl FnMut(DataFrame) -> Result<()>,
) -> Result<()> {
    let total = rows.map_or(frame.height(), |r| r.len());
    let mut start = 0;
    loop {
        let len = CHUNK_ROWS.min(total - start);
        let chunk = columns_of(frame, columns)?;
        let chunk = match rows {
            Some(rows) => chunk
                .take(&rows.slice(start as i64, len))
                .map_err(Error::polars("selecting events for a report"))?,
            None => chunk.slice(start as i64, len),
        };
        each(plain(chunk, redactor)?)?;
        start += len;
        if start >= total {
            return Ok(());
        }
    }
}

/// `frame` cut to `columns` (the export columns include `raw_line`, which the analyses'
/// column check does not offer).
fn columns_of(frame: &DataFrame, columns: &[&str]) -> Result<DataFrame> {
    frame
        .select(columns.iter().copied())
        .map_err(Error::polars("selecting columns for a report"))
}

/// A chunk with categoricals cast to strings, and redacted.
pub fn plain(chunk: DataFrame, redactor: Option<&Redactor>) -> Result<DataFrame> {
    let height = chunk.height();
    let mut out = Vec::with_capacity(chunk.width());
    for column in chunk.columns() {
        let column = match column.dtype() {
            DataType::Categorical(..) | DataType::Enum(..) => column
                .cast(&DataType::String)
                .map_err(Error::polars("converting events for a report"))?,
            _ => column.clone(),
        };
        let column = match (redactor, column.dtype()) {
            (Some(r), DataType::String) => {
                let name = column.name().clone();
                let values = column.str().map_err(Error::polars("redacting events"))?;
                let redacted: StringChunked = values
                    .iter()
                    .map(|v| v.map(|s| r.cell(name.as_str(), s)))
                    .collect();
                redacted.with_name(name).into_column()
            }
            _ => column,
        };
        out.push(column);
    }
    let mut frame =
        DataFrame::new(height, out).map_err(Error::polars("converting events for a report"))?;
    // Writers go by record batches, which need every column cut at the same rows.
    frame.rechunk_mut_par();
    Ok(frame)
}

/// Writes the rows in a format; returns how many were written.
pub fn write_rows(
    out: &mut (dyn Write + Send),
    format: RowFormat,
    frame: &DataFrame,
    rows: Option<&IdxCa>,
    redactor: Option<&Redactor>,
) -> Result<usize> {
    let columns = export_columns();
    let mut written = 0usize;
    match format {
        RowFormat::Parquet => {
            let schema = plain(columns_of(frame, &columns)?.slice(0, 0), None)?
                .schema()
                .as_ref()
                .clone();
            let mut writer = ParquetWriter::new(out)
                .with_compression(ParquetCompression::Zstd(None))
                .batched(&schema)
                .map_err(Error::polars("starting a Parquet file"))?;
            for_each_chunk(frame, rows, &columns, redactor, |chunk| {
                written += chunk.height();
                if chunk.height() == 0 {
                    return Ok(());
                }
                writer
                    .write_batch(&chunk)
                    .map_err(Error::polars("writing Parquet rows"))
            })?;
            writer
                .finish()
                .map_err(Error::polars("finishing a Parquet file"))?;
        }
        RowFormat::Csv | RowFormat::Json | RowFormat::Ndjson => {
            let format = match format {
                RowFormat::Csv => TextFormat::Csv,
                RowFormat::Json => TextFormat::Json,
                _ => TextFormat::Ndjson,
            };
            written = text_rows::write(out, format, frame, rows, &columns, redactor)?;
        }
    }
    Ok(written)
}
