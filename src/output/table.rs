//! Results as text and machine formats: an aligned text [`Table`], and a [`Grid`] of typed
//! cells written as a table, CSV, JSON or NDJSON. A table escapes each header and cell
//! itself, so a new column cannot forget to; CSV cells are guarded against formulas.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::text::{self, escape_control};

/// A text table: a header row and rows of cells, aligned in columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, escaped for the terminal (a pivot's or timeline's
    /// headers are log values); `right` marks right-aligned (numeric) columns.
    pub fn new(headers: &[&str], right: &[bool]) -> Self {
        Table {
            headers: headers
                .iter()
                .map(|h| escape_control(h).into_owned())
                .collect(),
            right: right.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are escaped for the terminal.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| escape_control(&c).into_owned())
                .collect(),
        );
    }

    /// Writes the table; columns wider than `max_width` are cut with `…`.
    pub fn write(&self, out: &mut dyn Write, max_width: usize) -> io::Result<()> {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count()).min(max_width);
            }
        }
        let line = |cells: &[String]| -> String {
            let mut parts = Vec::with_capacity(columns);
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let cell = text::truncate(cell, *width);
                let pad = width.saturating_sub(cell.chars().count());
                let right = self.right.get(i).copied().unwrap_or(false);
                parts.push(if right {
                    format!("{}{cell}", " ".repeat(pad))
                } else if i + 1 == columns {
                    cell.to_string()
                } else {
                    format!("{cell}{}", " ".repeat(pad))
                });
            }
            parts.join("  ").trim_end().to_string()
        };
        writeln!(out, "{}", line(&self.headers))?;
        for row in &self.rows {
            writeln!(out, "{}", line(row))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Frames (query results, pivots, timelines) as table, CSV, JSON or NDJSON
// ---------------------------------------------------------------------------------------

/// How a headless command prints a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned text columns for a person.
    Table,
    /// RFC 4180 CSV, formulas neutralized.
    Csv,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// One value of a result, typed enough for JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// Text.
    Text(String),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An instant, UTC microseconds.
    Time(i64),
}

impl Cell {
    /// The cell for display: times in `tz`, nulls empty; not yet escaped.
    pub fn display(&self, tz: &jiff::tz::TimeZone) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(v) => v.to_string(),
            Cell::UInt(v) => v.to_string(),
            Cell::Float(v) => v.to_string(),
            Cell::Bool(v) => v.to_string(),
            Cell::Time(us) => text::format_time(*us, tz),
        }
    }

    /// The cell for CSV: times as RFC 3339 (what spreadsheets and importers read), in UTC
    /// with `Z`, or with the offset of `tz` when it is another zone; the rest as displayed.
    pub fn csv(&self, tz: &jiff::tz::TimeZone) -> String {
        match self {
            Cell::Time(us) => rfc3339(*us, tz),
            other => other.display(tz),
        }
    }

    /// The cell as JSON: times as RFC 3339 UTC.
    pub fn json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Int(v) => json!(v),
            Cell::UInt(v) => json!(v),
            Cell::Float(v) => json!(v),
            Cell::Bool(v) => json!(v),
            Cell::Time(us) => Value::String(text::format_time_utc(*us)),
        }
    }
}

/// An instant as RFC 3339: `2024-07-31T12:46:41.25Z` in UTC, else with the offset the zone
/// had then (`2024-07-31T14:46:41.25+02:00`).
pub fn rfc3339(micros: i64, tz: &jiff::tz::TimeZone) -> String {
    let Ok(ts) = jiff::Timestamp::from_microsecond(micros) else {
        return text::format_time_utc(micros);
    };
    if tz.iana_name() == Some("UTC") {
        return ts.to_string();
    }
    ts.display_with_offset(tz.to_offset(ts)).to_string()
}

/// The cells of one column of a frame, converted once (not per row and value lookup).
pub fn column_cells(column: &polars::prelude::Column) -> crate::Result<Vec<Cell>> {
    use polars::prelude::*;
    let err = crate::Error::polars("reading a result column");
    let series = column.as_materialized_series();
    let cells = match series.dtype() {
        DataType::Datetime(unit, _) => {
            let scale = match unit {
                TimeUnit::Nanoseconds => -1_000,
                TimeUnit::Microseconds => 1,
                TimeUnit::Milliseconds => 1_000,
            };
            let physical = series.to_physical_repr();
            let ca = physical.i64().map_err(err)?;
            ca.iter()
                .map(|v| match v {
                    Some(v) if scale < 0 => Cell::Time(v / -scale),
                    Some(v) => Cell::Time(v * scale),
                    None => Cell::Null,
                })
                .collect()
        }
        DataType::Boolean => series
            .bool()
            .map_err(err)?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Bool))
            .collect(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => series
            .cast(&DataType::UInt64)
            .map_err(crate::Error::polars("reading a result column"))?
            .u64()
            .map_err(crate::Error::polars("reading a result column"))?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::UInt))
            .collect(),
        dt if dt.is_integer() => series
            .cast(&DataType::Int64)
            .map_err(crate::Error::polars("reading a result column"))?
            .i64()
            .map_err(crate::Error::polars("reading a result column"))?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Int))
            .collect(),
        dt if dt.is_float() => series
            .cast(&DataType::Float64)
            .map_err(crate::Error::polars("reading a result column"))?
            .f64()
            .map_err(crate::Error::polars("reading a result column"))?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Float))
            .collect(),
        DataType::String => series
            .str()
            .map_err(err)?
            .iter()
            .map(|v| v.map_or(Cell::Null, |s| Cell::Text(s.to_string())))
            .collect(),
        DataType::Categorical(..) | DataType::Enum(..) => series
            .cast(&DataType::String)
            .map_err(crate::Error::polars("reading a result column"))?
            .str()
            .map_err(crate::Error::polars("reading a result column"))?
            .iter()
            .map(|v| v.map_or(Cell::Null, |s| Cell::Text(s.to_string())))
            .collect(),
        _ => (0..series.len())
            .map(|i| match series.get(i) {
                Ok(AnyValue::Null) | Err(_) => Cell::Null,
                Ok(v) => Cell::Text(v.str_value().into_owned()),
            })
            .collect(),
    };
    Ok(cells)
}

/// A result as named columns of cells: what every writer below prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    /// Column names.
    pub headers: Vec<String>,
    /// Rows of cells, one per header.
    pub rows: Vec<Vec<Cell>>,
}

impl Grid {
    /// Converts a frame.
    pub fn from_frame(frame: &polars::prelude::DataFrame) -> crate::Result<Grid> {
        let columns: Vec<Vec<Cell>> = frame
            .columns()
            .iter()
            .map(column_cells)
            .collect::<crate::Result<_>>()?;
        let rows = (0..frame.height())
            .map(|i| {
                columns
                    .iter()
                    .map(|c| c.get(i).cloned().unwrap_or(Cell::Null))
                    .collect()
            })
            .collect();
        Ok(Grid {
            headers: frame
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect(),
            rows,
        })
    }

    /// Writes the grid in a format; times shown in `tz` (table), RFC 3339 in `tz` (CSV, see
    /// [`rfc3339`]) or RFC 3339 UTC (JSON).
    pub fn write(
        &self,
        out: &mut dyn Write,
        format: OutputFormat,
        tz: &jiff::tz::TimeZone,
    ) -> io::Result<()> {
        match format {
            OutputFormat::Table => {
                let right: Vec<bool> = (0..self.headers.len())
                    .map(|i| {
                        self.rows.iter().all(|r| {
                            matches!(
                                r.get(i),
                                Some(Cell::Int(_) | Cell::UInt(_) | Cell::Float(_) | Cell::Null)
                            )
                        }) && !self.rows.is_empty()
                    })
                    .collect();
                let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
                let mut table = Table::new(&headers, &right);
                for row in &self.rows {
                    table.row(row.iter().map(|c| c.display(tz)).collect());
                }
                table.write(out, 80)
            }
            OutputFormat::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer
                    .write_record(
                        self.headers
                            .iter()
                            .map(|h| text::guard_csv_cell(h).into_owned()),
                    )
                    .map_err(csv_io_error)?;
                for row in &self.rows {
                    writer
                        .write_record(row.iter().map(|c| {
                            let shown = c.csv(tz);
                            text::guard_csv_cell(&shown).into_owned()
                        }))
                        .map_err(csv_io_error)?;
                }
                writer.flush()
            }
            OutputFormat::Json => {
                let rows: Vec<Value> = self.rows.iter().map(|r| self.object(r)).collect();
                writeln!(out, "{}", Value::Array(rows))
            }
            OutputFormat::Ndjson => {
                for row in &self.rows {
                    writeln!(out, "{}", self.object(row))?;
                }
                Ok(())
            }
        }
    }

    /// One row as a JSON object keyed by the headers (what NDJSON prints per line).
    pub fn object(&self, row: &[Cell]) -> Value {
        let map: Map<String, Value> = self
            .headers
            .iter()
            .zip(row)
            .map(|(h, c)| (h.clone(), c.json()))
            .collect();
        Value::Object(map)
    }
}

/// A CSV writer's error as an I/O error of the same kind, so a closed pipe stays a
/// `BrokenPipe` that the binary treats as success (not an opaque error exiting 2).
fn csv_io_error(err: csv::Error) -> io::Error {
    let kind = match err.kind() {
        csv::ErrorKind::Io(io) => io.kind(),
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err)
}
