//! Every matching event, streamed: CSV, JSON, NDJSON or Parquet, written a chunk of rows at
//! a time so that a report of millions of events holds one chunk in memory, never a string
//! of everything. Times are RFC 3339 UTC in CSV and JSON; categorical columns are plain
//! strings in Parquet, which DuckDB, pandas, Spark and Polars all read.

use std::io::Write;

use polars::prelude::*;
use polars_io::parquet::write::{ParquetCompression, ParquetWriter};
use serde_json::{Map, Value};

use crate::output::table::{Cell, column_cells};
use crate::schema::{self, RAW_LINE, SOURCE};
use crate::text;
use crate::{Error, Result};

use super::redact::Redactor;

/// Rows converted and written at a time.
pub const CHUNK_ROWS: usize = 16_384;

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
    let io = |source| Error::Io {
        location: crate::Location::file("report"),
        source,
    };
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
        RowFormat::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            let csv_err = |e: csv::Error| Error::Invalid(format!("writing CSV: {e}"));
            csv.write_record(&columns).map_err(csv_err)?;
            for_each_chunk(frame, rows, &columns, redactor, |chunk| {
                let fields: Vec<CsvColumn> = chunk
                    .columns()
                    .iter()
                    .map(CsvColumn::of)
                    .collect::<Result<_>>()?;
                for row in 0..chunk.height() {
                    for field in &fields {
                        csv.write_field(field.text(row).as_bytes())
                            .map_err(csv_err)?;
                    }
                    csv.write_record(None::<&[u8]>).map_err(csv_err)?;
                    written += 1;
                }
                Ok(())
            })?;
            csv.flush().map_err(io)?;
        }
        RowFormat::Json | RowFormat::Ndjson => {
            let json = format == RowFormat::Json;
            if json {
                out.write_all(b"[").map_err(io)?;
            }
            for_each_chunk(frame, rows, &columns, redactor, |chunk| {
                for row in chunk_cells(&chunk)? {
                    let object: Map<String, Value> = columns
                        .iter()
                        .zip(&row)
                        .map(|(h, c)| (h.to_string(), c.json()))
                        .collect();
                    if json {
                        out.write_all(if written == 0 { b"\n" } else { b",\n" })
                            .map_err(io)?;
                    }
                    serde_json::to_writer(&mut *out, &object)
                        .map_err(|e| Error::Invalid(format!("writing JSON: {e}")))?;
                    if !json {
                        out.write_all(b"\n").map_err(io)?;
                    }
                    written += 1;
                }
                Ok(())
            })?;
            if json {
                out.write_all(b"\n]\n").map_err(io)?;
            }
        }
    }
    Ok(written)
}

/// A chunk as rows of cells.
pub fn chunk_cells(chunk: &DataFrame) -> Result<Vec<Vec<Cell>>> {
    let columns: Vec<Vec<Cell>> = chunk
        .columns()
        .iter()
        .map(column_cells)
        .collect::<Result<_>>()?;
    let mut rows: Vec<Vec<Cell>> = (0..chunk.height())
        .map(|_| Vec::with_capacity(columns.len()))
        .collect();
    for column in columns {
        for (row, cell) in rows.iter_mut().zip(column) {
            row.push(cell);
        }
    }
    Ok(rows)
}

/// One column of a chunk as CSV reads it, its values borrowed (a hundred thousand rows of
/// twenty columns converted cell by cell cost most of a CSV report).
enum CsvColumn<'a> {
    /// Text, guarded against formulas and control characters.
    Text(&'a StringChunked),
    /// Times (µs), as RFC 3339 UTC.
    Time(Int64Chunked),
    /// Anything else, as its cells show it.
    Cells(Vec<Cell>),
}

impl<'a> CsvColumn<'a> {
    fn of(column: &'a Column) -> Result<CsvColumn<'a>> {
        Ok(match column.dtype() {
            DataType::String => {
                CsvColumn::Text(column.str().map_err(Error::polars("writing CSV"))?)
            }
            DataType::Datetime(TimeUnit::Microseconds, _) => CsvColumn::Time(
                column
                    .as_materialized_series()
                    .to_physical_repr()
                    .i64()
                    .map_err(Error::polars("writing CSV"))?
                    .clone(),
            ),
            _ => CsvColumn::Cells(column_cells(column)?),
        })
    }

    fn text(&self, row: usize) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        match self {
            CsvColumn::Text(values) => values
                .get(row)
                .map_or(Cow::Borrowed(""), text::guard_csv_cell),
            CsvColumn::Time(values) => values.get(row).map_or(Cow::Borrowed(""), |us| {
                Cow::Owned(text::format_time_utc(us))
            }),
            CsvColumn::Cells(cells) => match cells.get(row) {
                None | Some(Cell::Null) => Cow::Borrowed(""),
                Some(Cell::Time(us)) => Cow::Owned(text::format_time_utc(*us)),
                Some(other) => Cow::Owned(
                    text::guard_csv_cell(&other.display(&jiff::tz::TimeZone::UTC)).into_owned(),
                ),
            },
        }
    }
}
