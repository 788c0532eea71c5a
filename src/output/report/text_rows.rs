//! Every matching event as CSV or JSON text, a chunk of rows at a time and column by column:
//! each column's cells of a chunk are encoded into one buffer, a dictionary column's values
//! once per id (guarded, redacted, escaped) and times once per second, then the rows are
//! written from those buffers. The bytes are those of converting every cell on its own
//! (categoricals cast to text, [`Cell`]s), which cost most of a report's CSV and JSON.

use std::io::Write;
use std::sync::Arc;

use polars::prelude::*;
use serde_json::{Map, Value};

use crate::output::table::{Cell, column_cells};
use crate::text;
use crate::{Error, Result};

use super::redact::Redactor;

/// Rows converted and written at a time.
pub const CHUNK_ROWS: usize = 16_384;

/// What the rows are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextFormat {
    /// CSV with a header row, cells guarded against formulas and control characters.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// The cells of one column of a chunk, encoded one after another.
#[derive(Default)]
struct Encoded {
    bytes: Vec<u8>,
    /// Where each cell ends in `bytes`.
    ends: Vec<usize>,
}

impl Encoded {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Ends the cell written into `bytes` since the last one.
    fn end(&mut self) {
        self.ends.push(self.bytes.len());
    }

    fn cell(&self, row: usize) -> &[u8] {
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        &self.bytes[start..self.ends[row]]
    }
}

/// How a column's values become text.
enum Kind {
    /// Categorical: each id's encoded text, filled as ids are met.
    Dictionary {
        mapping: Arc<CategoricalMapping>,
        encoded: Vec<Option<Box<[u8]>>>,
    },
    /// Free text.
    Text,
    /// Times (µs) as RFC 3339 UTC; the text of the last second met, without its `Z`.
    Time { second: Option<i64>, prefix: String },
    /// Booleans.
    Bool,
    /// Unsigned integers.
    UInt,
    /// Anything else, cell by cell as [`Cell`] shows it.
    Other,
}

/// One exported column of the frame and the encoding of its current chunk.
struct Source<'a> {
    name: &'a str,
    column: &'a Column,
    kind: Kind,
    cells: Encoded,
}

/// Writes rows `rows` of `frame` (all of them, in frame order, when None) with `columns`
/// in `format`, redacted when a redactor is given; returns how many were written.
pub(super) fn write(
    out: &mut (dyn Write + Send),
    format: TextFormat,
    frame: &DataFrame,
    rows: Option<&IdxCa>,
    columns: &[&str],
    redactor: Option<&Redactor>,
) -> Result<usize> {
    let mut sources = columns
        .iter()
        .map(|name| {
            let column = frame
                .column(name)
                .map_err(Error::polars("selecting columns for a report"))?;
            let kind = match column.dtype() {
                DataType::Categorical(_, mapping) | DataType::Enum(_, mapping) => {
                    Kind::Dictionary {
                        mapping: mapping.clone(),
                        encoded: Vec::new(),
                    }
                }
                DataType::String => Kind::Text,
                DataType::Datetime(TimeUnit::Microseconds, _) => Kind::Time {
                    second: None,
                    prefix: String::new(),
                },
                DataType::Boolean => Kind::Bool,
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                    Kind::UInt
                }
                _ => Kind::Other,
            };
            Ok(Source {
                name,
                column,
                kind,
                cells: Encoded::default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let io = |source| Error::Io {
        location: crate::Location::file("report"),
        source,
    };
    let mut rows_out = RowWriter::new(out, format, columns)?;
    let total = rows.map_or(frame.height(), |r| r.len());
    let mut start = 0;
    while start < total {
        let len = CHUNK_ROWS.min(total - start);
        let chunk_rows = rows.map(|r| r.slice(start as i64, len));
        for source in &mut sources {
            let part = match &chunk_rows {
                Some(rows) => source
                    .column
                    .take(rows)
                    .map_err(Error::polars("selecting events for a report"))?,
                None => source.column.slice(start as i64, len),
            };
            source.encode(&part, format == TextFormat::Csv, redactor)?;
        }
        for row in 0..len {
            rows_out.row(&sources, row)?;
        }
        start += len;
    }
    rows_out.finish().map_err(io)?;
    Ok(total)
}

/// Writes rows of encoded cells as CSV records or JSON objects.
struct RowWriter<'o> {
    format: TextFormat,
    out: &'o mut (dyn Write + Send),
    /// Each column's index in the sources with what comes before its cell: the separator,
    /// and in JSON its `"name":`, in the order the cells are written (an object's members in
    /// the order serde_json's map writes them).
    order: Vec<(usize, Vec<u8>)>,
    written: usize,
    line: Vec<u8>,
}

fn json_error(e: serde_json::Error) -> Error {
    Error::Invalid(format!("writing JSON: {e}"))
}

fn io_error(source: std::io::Error) -> Error {
    Error::Io {
        location: crate::Location::file("report"),
        source,
    }
}

impl<'o> RowWriter<'o> {
    fn new(
        out: &'o mut (dyn Write + Send),
        format: TextFormat,
        columns: &[&str],
    ) -> Result<RowWriter<'o>> {
        let mut order = Vec::new();
        if format == TextFormat::Csv {
            let mut header = Vec::new();
            for (i, name) in columns.iter().enumerate() {
                order.push((i, if i == 0 { Vec::new() } else { b",".to_vec() }));
                header.extend_from_slice(&order[i].1);
                push_csv_field(&mut header, name.as_bytes());
            }
            header.push(b'\n');
            out.write_all(&header).map_err(io_error)?;
        } else {
            let members: Map<String, Value> = (columns.iter().enumerate())
                .map(|(i, c)| (c.to_string(), Value::from(i)))
                .collect();
            for (name, index) in &members {
                let mut key = if order.is_empty() {
                    Vec::new()
                } else {
                    b",".to_vec()
                };
                serde_json::to_writer(&mut key, name).map_err(json_error)?;
                key.push(b':');
                order.push((index.as_u64().unwrap_or(0) as usize, key));
            }
            if format == TextFormat::Json {
                out.write_all(b"[").map_err(io_error)?;
            }
        }
        Ok(RowWriter {
            format,
            out,
            order,
            written: 0,
            line: Vec::new(),
        })
    }

    fn row(&mut self, sources: &[Source<'_>], row: usize) -> Result<()> {
        let line = &mut self.line;
        line.clear();
        match self.format {
            TextFormat::Json if self.written == 0 => line.extend_from_slice(b"\n{"),
            TextFormat::Json => line.extend_from_slice(b",\n{"),
            TextFormat::Ndjson => line.push(b'{'),
            TextFormat::Csv => {}
        }
        for (column, before) in &self.order {
            line.extend_from_slice(before);
            line.extend_from_slice(sources[*column].cells.cell(row));
        }
        match self.format {
            TextFormat::Json => line.push(b'}'),
            TextFormat::Ndjson => line.extend_from_slice(b"}\n"),
            TextFormat::Csv => line.push(b'\n'),
        }
        self.out.write_all(line).map_err(io_error)?;
        self.written += 1;
        Ok(())
    }

    fn finish(self) -> std::io::Result<()> {
        if self.format == TextFormat::Json {
            self.out.write_all(b"\n]\n")?;
        }
        Ok(())
    }
}

/// Appends a CSV field as the csv crate's writer writes it by default: quoted, its quotes
/// doubled, when it holds a comma, a quote or a line break.
fn push_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    let special = |b: u8| (b == b',') | (b == b'"') | (b == b'\r') | (b == b'\n');
    // 64 bytes at a time without an early exit per byte: vector compares.
    if !(field.chunks(64)).any(|c| c.iter().fold(false, |any, b| any | special(*b))) {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for b in field {
        if *b == b'"' {
            out.push(b'"');
        }
        out.push(*b);
    }
    out.push(b'"');
}

impl Source<'_> {
    /// Encodes `part` (this column's values of a chunk) into [`Source::cells`]: CSV cells
    /// (`csv`) or JSON values.
    fn encode(&mut self, part: &Column, csv: bool, redactor: Option<&Redactor>) -> Result<()> {
        let err = || Error::polars("converting events for a report");
        let name = self.name;
        let cells = &mut self.cells;
        cells.clear();
        let null: &[u8] = if csv { b"" } else { b"null" };
        match &mut self.kind {
            Kind::Dictionary { mapping, encoded } => {
                let physical = part.as_materialized_series().to_physical_repr();
                let ids = physical.cast(&DataType::UInt32).map_err(err())?;
                for id in ids.u32().map_err(err())?.iter() {
                    match id {
                        None => cells.bytes.extend_from_slice(null),
                        Some(id) => {
                            let at = id as usize;
                            if encoded.len() <= at {
                                encoded.resize(at + 1, None);
                            }
                            let text = encoded[at].get_or_insert_with(|| {
                                let mut bytes = Vec::new();
                                let value = mapping.cat_to_str(id).unwrap_or("");
                                encode_text(&mut bytes, name, value, csv, redactor);
                                bytes.into_boxed_slice()
                            });
                            cells.bytes.extend_from_slice(text);
                        }
                    }
                    cells.end();
                }
            }
            Kind::Text => {
                for value in part.str().map_err(err())?.iter() {
                    match value {
                        None => cells.bytes.extend_from_slice(null),
                        Some(v) => encode_text(&mut cells.bytes, name, v, csv, redactor),
                    }
                    cells.end();
                }
            }
            Kind::Time { second, prefix } => {
                let physical = part.as_materialized_series().to_physical_repr();
                for us in physical.i64().map_err(err())?.iter() {
                    match us {
                        None => cells.bytes.extend_from_slice(null),
                        Some(us) => {
                            if !csv {
                                cells.bytes.push(b'"');
                            }
                            push_time_utc(&mut cells.bytes, us, second, prefix);
                            if !csv {
                                cells.bytes.push(b'"');
                            }
                        }
                    }
                    cells.end();
                }
            }
            Kind::Bool => {
                for value in part.bool().map_err(err())?.iter() {
                    let text: &[u8] = match value {
                        None => null,
                        Some(true) => b"true",
                        Some(false) => b"false",
                    };
                    cells.bytes.extend_from_slice(text);
                    cells.end();
                }
            }
            Kind::UInt => {
                let values = part.cast(&DataType::UInt64).map_err(err())?;
                for value in values.u64().map_err(err())?.iter() {
                    match value {
                        None => cells.bytes.extend_from_slice(null),
                        Some(v) => {
                            let _ = write!(cells.bytes, "{v}");
                        }
                    }
                    cells.end();
                }
            }
            Kind::Other => {
                for cell in column_cells(part)? {
                    if csv {
                        let text = match cell {
                            Cell::Null => String::new(),
                            Cell::Time(us) => text::format_time_utc(us),
                            other => text::guard_csv_cell(&other.display(&jiff::tz::TimeZone::UTC))
                                .into_owned(),
                        };
                        push_csv_field(&mut cells.bytes, text.as_bytes());
                    } else {
                        serde_json::to_writer(&mut cells.bytes, &cell.json())
                            .map_err(json_error)?;
                    }
                    cells.end();
                }
            }
        }
        Ok(())
    }
}

/// A text value of column `name`, redacted when asked, as a guarded CSV cell (`csv`) or a
/// JSON string.
fn encode_text(out: &mut Vec<u8>, name: &str, value: &str, csv: bool, redactor: Option<&Redactor>) {
    let redacted = match redactor {
        Some(r) => std::borrow::Cow::Owned(r.cell(name, value)),
        None => std::borrow::Cow::Borrowed(value),
    };
    if csv {
        push_csv_field(out, text::guard_csv_cell(&redacted).as_bytes());
    } else {
        // Writing a string to a Vec fails only on I/O, which a Vec has none of.
        let _ = serde_json::to_writer(&mut *out, redacted.as_ref());
    }
}

/// Appends [`text::format_time_utc`] of `us`, formatting each second once: `second` and
/// `prefix` hold the last second met and its text without the `Z`.
fn push_time_utc(out: &mut Vec<u8>, us: i64, second: &mut Option<i64>, prefix: &mut String) {
    let (sec, micros) = (us.div_euclid(1_000_000), us.rem_euclid(1_000_000));
    if *second != Some(sec) {
        let Ok(ts) = jiff::Timestamp::from_second(sec) else {
            out.extend_from_slice(text::format_time_utc(us).as_bytes());
            return;
        };
        *prefix = ts.to_string();
        prefix.pop();
        *second = Some(sec);
    }
    out.extend_from_slice(prefix.as_bytes());
    if micros != 0 {
        let digits = format!("{micros:06}");
        out.push(b'.');
        out.extend_from_slice(digits.trim_end_matches('0').as_bytes());
    }
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_formatted_one_by_one() {
        let mut second = None;
        let mut prefix = String::new();
        let values = [
            0,
            1,
            250_000,
            1_722_430_001_250_000,
            1_722_430_001_250_001,
            1_722_430_001_000_000,
            1_722_430_002_999_990,
            -1,
            -500_000,
            -62_135_596_800_000_000,
            253_402_300_799_999_999,
            i64::MAX,
            i64::MIN,
        ];
        for us in values {
            let mut out = Vec::new();
            push_time_utc(&mut out, us, &mut second, &mut prefix);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                text::format_time_utc(us),
                "{us}"
            );
        }
    }

    #[test]
    fn csv_fields_read_as_the_csv_crate_writes_them() {
        let fields: [&[u8]; 9] = [
            b"",
            b"plain",
            b"a,b",
            b"say \"hi\"",
            b"two\nlines",
            b"cr\rhere",
            b"'=cmd|' /C calc'!A0",
            "long text without anything special, but a comma at the end of 70 bytes".as_bytes(),
            "caf\u{e9} \u{1f600} \"".as_bytes(),
        ];
        let mut expected = csv::Writer::from_writer(Vec::new());
        expected.write_record(fields).unwrap();
        let mut ours = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                ours.push(b',');
            }
            push_csv_field(&mut ours, field);
        }
        ours.push(b'\n');
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(expected.into_inner().unwrap()).unwrap()
        );
    }
}
