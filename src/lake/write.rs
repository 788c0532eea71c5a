//! Writing events into a lake: one new file per partition and export, sorted by time, in
//! row groups of [`ROW_GROUP_ROWS`] events, each written under a dot-name and renamed when
//! complete; events a partition already holds (by [`super::key`]) are skipped.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::*;
use polars_io::parquet::write::{
    BatchedWriter, ParquetCompression, ParquetWriter, StatisticsOptions,
};

use crate::load::sniff::shown_record;
use crate::load::source;
use crate::schema::{self, EVENT_ID, PROVIDER, RAW_LEN, RAW_LINE, RAW_OFFSET, SOURCE, TIME};
use crate::store::FrameStore;
use crate::time::DAY;
use crate::{Error, Result};

use super::io_error;
use super::key::{event_keys, key_columns};
use super::layout::{
    FILE_COLUMNS, LAYOUT_FILE, LAYOUT_VERSION, LakeType, RAW, day_of, is_lake_file, partition_dir,
};
use super::scan::read_columns;
use super::values::{FileValues, GroupValues};

/// Events per row group. Files are sorted by time, so a row group covers a short stretch
/// of time and a time filter reads only the groups its range overlaps; 64 Ki events keep
/// the per-group overhead (footer entries, one page per column) below 1% of the reading
/// time while a one-hour filter over a day of 3 million events reads 2 of 46 groups.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Events written.
    pub written: u64,
    /// Events skipped because their partition already held them.
    pub skipped: u64,
    /// Partitions written into.
    pub partitions: usize,
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Events whose original record could not be read again (their `raw` is null).
    pub raw_missing: u64,
}

/// Writes the rows `rows` of the store's frame (all of them when None) into the lake at
/// `root`, creating it when needed.
pub fn export(store: &FrameStore, rows: Option<&IdxCa>, root: &Path) -> Result<ExportSummary> {
    export_with(store, rows, root, ROW_GROUP_ROWS)
}

/// [`export`] with row groups of `group_rows` events (tests make small ones).
pub fn export_with(
    store: &FrameStore,
    rows: Option<&IdxCa>,
    root: &Path,
    group_rows: usize,
) -> Result<ExportSummary> {
    prepare_root(root)?;
    let frame = match rows {
        Some(rows) => store
            .frame()
            .take(rows)
            .map_err(Error::polars("selecting events to export"))?,
        None => store.frame().clone(),
    };
    let mut summary = ExportSummary::default();
    for ((_, provider, day), rows) in partitions(&frame)? {
        let part = frame
            .take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))
            .map_err(Error::polars("splitting events by partition"))?
            .sort(
                [TIME],
                SortMultipleOptions::default()
                    .with_maintain_order(true)
                    .with_nulls_last(true),
            )
            .map_err(Error::polars("sorting events by time"))?;
        let dir = partition_dir(root, &provider, &day);
        let raw = |chunk: &DataFrame| raw_records(store, chunk);
        let written = write_partition(&dir, &part, &raw, group_rows)?;
        summary.written += written.written;
        summary.skipped += written.skipped;
        summary.raw_missing += written.raw_missing;
        if written.bytes > 0 {
            summary.partitions += 1;
            summary.files += 1;
            summary.bytes += written.bytes;
        }
    }
    Ok(summary)
}

/// Creates the lake's root with its [`LAYOUT_FILE`], or checks the layout of an existing one.
pub fn prepare_root(root: &Path) -> Result<()> {
    fs::create_dir_all(root).map_err(io_error(root))?;
    let marker = root.join(LAYOUT_FILE);
    if marker.exists() {
        return super::scan::check_layout(root);
    }
    let text = format!(
        "# A trailscope lake: hive partitions provider=<name>/date=<YYYY-MM-DD>, zstd Parquet.\nlayout = {LAYOUT_VERSION}\n"
    );
    fs::write(&marker, text).map_err(io_error(&marker))
}

/// Row numbers of `frame` per partition, keyed (day number, provider, day text) so that
/// partitions come in time order, events without a time last.
pub(super) fn partitions(
    frame: &DataFrame,
) -> Result<BTreeMap<(i64, String, String), Vec<IdxSize>>> {
    let providers = frame
        .column(PROVIDER)
        .and_then(|c| c.cast(&DataType::String))
        .map_err(Error::polars("reading providers"))?;
    let providers = providers
        .str()
        .map_err(Error::polars("reading providers"))?;
    let times = frame
        .column(TIME)
        .map_err(Error::polars("reading times"))?
        .as_materialized_series()
        .to_physical_repr();
    let times = times.i64().map_err(Error::polars("reading times"))?;
    let mut out: BTreeMap<(i64, String, String), Vec<IdxSize>> = BTreeMap::new();
    let mut last: Option<((i64, String, String), Vec<IdxSize>)> = None;
    for (row, (provider, time)) in providers.iter().zip(times.iter()).enumerate() {
        let day = time.map_or(i64::MAX, |t| t.div_euclid(DAY));
        let provider = provider.unwrap_or_default();
        // Rows come in time order, so runs of one partition are long: group runs first.
        match &mut last {
            Some(((d, p, _), rows)) if *d == day && p == provider => rows.push(row as IdxSize),
            _ => {
                if let Some((key, rows)) = last.take() {
                    out.entry(key).or_default().extend(rows);
                }
                let text = day_of(time.map(|_| day * DAY));
                last = Some(((day, provider.to_string(), text), vec![row as IdxSize]));
            }
        }
    }
    if let Some((key, rows)) = last {
        out.entry(key).or_default().extend(rows);
    }
    Ok(out)
}

/// What writing one partition did.
#[derive(Debug, Default)]
pub struct PartitionWritten {
    /// Events written.
    pub written: u64,
    /// Events the partition already held.
    pub skipped: u64,
    /// Bytes of the new file (0: no file was written).
    pub bytes: u64,
    /// Events whose `raw` is null because the record could not be read.
    pub raw_missing: u64,
}

/// Writes `events` (frame-schema rows of one partition, in time order) as one new file in
/// `dir` in row groups of `group_rows`, skipping events the partition already holds; `raw`
/// gives the original record of a row of a chunk of `events`.
pub fn write_partition(
    dir: &Path,
    events: &DataFrame,
    raw: &dyn Fn(&DataFrame) -> Vec<Option<Vec<u8>>>,
    group_rows: usize,
) -> Result<PartitionWritten> {
    let mut present = existing_keys(dir)?;
    let mut out = PartitionWritten::default();
    let mut file: Option<PartFile> = None;
    let mut offset = 0;
    while offset < events.height() {
        let chunk = events.slice(offset as i64, group_rows.max(1));
        offset += chunk.height();
        let (mut lake, missing) = lake_chunk(&chunk, raw)?;
        out.raw_missing += missing;
        let keys = event_keys(&lake)?;
        let keep: Vec<bool> = keys.iter().map(|k| present.insert(*k)).collect();
        let kept = keep.iter().filter(|k| **k).count();
        out.skipped += (keep.len() - kept) as u64;
        if kept == 0 {
            continue;
        }
        if kept < keep.len() {
            lake = lake
                .filter(&BooleanChunked::from_slice(PlSmallStr::EMPTY, &keep))
                .map_err(Error::polars("skipping events already in the lake"))?;
        }
        lake.rechunk_mut_par();
        if file.is_none() {
            file = Some(PartFile::create(dir, &lake)?);
        }
        if let Some(f) = &mut file {
            f.write(&lake)?;
        }
        out.written += kept as u64;
    }
    if let Some(f) = file {
        out.bytes = f.finish()?;
    }
    Ok(out)
}

/// A lake file being written: under its dot-name until [`PartFile::finish`] renames it.
pub(super) struct PartFile {
    writer: BatchedWriter<BufWriter<File>>,
    partial: PathBuf,
    done: PathBuf,
    /// The values of each row group written, written beside the file when it is done.
    values: FileValues,
}

impl PartFile {
    /// Starts a file in `dir` for rows with the schema of `first`.
    pub(super) fn create(dir: &Path, first: &DataFrame) -> Result<PartFile> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let name = file_name();
        let partial = dir.join(format!(".{name}"));
        let done = dir.join(name);
        let handle = File::create(&partial).map_err(io_error(&partial))?;
        let writer = ParquetWriter::new(BufWriter::new(handle))
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::default())
            .batched(first.schema())
            .map_err(Error::polars("starting a lake file"))?;
        Ok(PartFile {
            writer,
            partial,
            done,
            values: FileValues::default(),
        })
    }

    /// Writes `rows` as one row group.
    pub(super) fn write(&mut self, rows: &DataFrame) -> Result<()> {
        // The writer makes a row group of each chunk; the index has one entry per group.
        let mut contiguous;
        let rows = if rows.first_col_n_chunks() > 1 {
            contiguous = rows.clone();
            contiguous.rechunk_mut();
            &contiguous
        } else {
            rows
        };
        self.values.groups.push(GroupValues::of_chunk(rows));
        self.writer
            .write_batch(rows)
            .map_err(Error::polars("writing a lake file"))
    }

    /// Completes the file and gives it its final name; returns its size.
    pub(super) fn finish(self) -> Result<u64> {
        let bytes = self
            .writer
            .finish()
            .map_err(Error::polars("finishing a lake file"))?;
        drop(self.writer);
        // The index first: a file renamed into the lake always has its index (a crash
        // between the two leaves an index without a file, which nothing reads).
        self.values.write(&self.done)?;
        fs::rename(&self.partial, &self.done).map_err(io_error(&self.done))?;
        Ok(bytes)
    }
}

/// A name no other export (of this or another process) picks: `part-<16 hex>.parquet`.
fn file_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut seed = Vec::with_capacity(32);
    seed.extend_from_slice(&nanos.to_le_bytes());
    seed.extend_from_slice(&std::process::id().to_le_bytes());
    seed.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    format!("part-{:016x}.parquet", xxhash_rust::xxh3::xxh3_64(&seed))
}

/// The keys of the events the finished files of a partition hold.
fn existing_keys(dir: &Path) -> Result<HashSet<u64>> {
    let mut keys = HashSet::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(keys);
    };
    let mut columns = key_columns();
    columns.retain(|c| *c != RAW);
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_lake_file) {
            continue;
        }
        let path = entry.path();
        let mut frame = read_columns(&path, &columns)?;
        let no_id = frame
            .column(EVENT_ID)
            .map_err(Error::polars("reading event ids"))?
            .null_count();
        if no_id > 0 {
            frame = read_columns(&path, &key_columns())?;
        } else {
            let nulls = Column::full_null(RAW.into(), frame.height(), &DataType::String);
            frame
                .with_column(nulls)
                .map_err(Error::polars("reading event keys"))?;
        }
        keys.extend(event_keys(&frame)?);
    }
    Ok(keys)
}

/// The lake columns of a chunk of frame-schema rows: categoricals as text, unsigned
/// integers as Int64, and `raw` from `raw` (null where it cannot be read; counted).
pub fn lake_chunk(
    chunk: &DataFrame,
    raw: &dyn Fn(&DataFrame) -> Vec<Option<Vec<u8>>>,
) -> Result<(DataFrame, u64)> {
    let err = || Error::polars("converting events for the lake");
    let mut columns = Vec::with_capacity(FILE_COLUMNS.len());
    let mut missing = 0;
    for (name, kind) in FILE_COLUMNS {
        let column = if name == RAW {
            let records = raw(chunk);
            let mut builder = StringChunkedBuilder::new(RAW.into(), chunk.height());
            for record in records {
                match record {
                    Some(bytes) => builder.append_value(String::from_utf8_lossy(&bytes)),
                    None => {
                        missing += 1;
                        builder.append_null();
                    }
                }
            }
            builder.finish().into_column()
        } else {
            let column = chunk.column(name).map_err(err())?;
            let dtype = match kind {
                LakeType::Timestamp => schema::time_dtype(),
                LakeType::Text => DataType::String,
                LakeType::Boolean => DataType::Boolean,
                LakeType::Integer => DataType::Int64,
            };
            if name == RAW_LINE || column.dtype() != &dtype {
                column.cast(&dtype).map_err(err())?
            } else {
                column.clone()
            }
        };
        columns.push(column);
    }
    let frame = DataFrame::new(chunk.height(), columns).map_err(err())?;
    Ok((frame, missing))
}

/// The most bytes of an input read at once for the records of a chunk.
const MAX_SPAN: u64 = 64 << 20;

/// The original records of a chunk of the store's frame (None where one cannot be read).
/// Records are read per input in offset order, a stretch of an input at a time: a gzip
/// input is then inflated once, not from its nearest restart point for every record.
pub fn raw_records(store: &FrameStore, chunk: &DataFrame) -> Vec<Option<Vec<u8>>> {
    let mut out = vec![None; chunk.height()];
    let locate = || -> PolarsResult<Vec<(String, u64, u32, usize)>> {
        let sources = chunk.column(SOURCE)?.cast(&DataType::String)?;
        let offsets = chunk.column(RAW_OFFSET)?.u64()?.clone();
        let lens = chunk.column(RAW_LEN)?.u32()?.clone();
        let sources = sources.str()?;
        Ok(sources
            .iter()
            .zip(offsets.iter())
            .zip(lens.iter())
            .enumerate()
            .map(|(row, ((s, o), l))| {
                (
                    s.unwrap_or_default().to_string(),
                    o.unwrap_or(0),
                    l.unwrap_or(0),
                    row,
                )
            })
            .collect())
    };
    let Ok(mut rows) = locate() else {
        return out;
    };
    rows.sort();
    let mut start = 0;
    while start < rows.len() {
        // A run: records of one input within MAX_SPAN bytes of the run's first.
        let (source, first, _, _) = &rows[start];
        let mut end = start;
        let mut span_end = *first;
        while let Some((s, offset, len, _)) = rows.get(end) {
            let record_end = offset + u64::from(*len);
            if s != source || record_end - first > MAX_SPAN {
                break;
            }
            span_end = span_end.max(record_end);
            end += 1;
        }
        let end = end.max(start + 1);
        let span = store
            .origin(source)
            .and_then(|origin| source::read_raw(origin, *first, (span_end - first) as u32).ok());
        for (_, offset, len, row) in &rows[start..end] {
            let from = (offset - first) as usize;
            let record = match &span {
                Some(bytes) => bytes.get(from..from + *len as usize).map(<[u8]>::to_vec),
                // Too long for one read (or unreadable): one record at a time.
                None => store.raw_record(chunk, *row).ok(),
            };
            out[*row] = record.map(|r| shown_record(&r).into_owned());
        }
        start = end;
    }
    out
}

/// Prints what an export did, for a person.
pub fn write_summary(
    out: &mut dyn Write,
    summary: &ExportSummary,
    root: &Path,
) -> std::io::Result<()> {
    writeln!(
        out,
        "wrote {} events ({} skipped as already in the lake) into {} partitions, {} files, {} bytes under {}",
        summary.written,
        summary.skipped,
        summary.partitions,
        summary.files,
        summary.bytes,
        crate::text::escape_control(&root.display().to_string())
    )?;
    if summary.raw_missing > 0 {
        writeln!(
            out,
            "{} events' original records could not be read again; their raw column is empty",
            summary.raw_missing
        )?;
    }
    Ok(())
}
