//! Reading a lake: its files by partition, each read with only the columns asked for and
//! only the row groups whose time statistics (and value index) a [`Pruning`] keeps, converted back to the
//! frame's types so that the same analyses run over them.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;
use polars_parquet::parquet::metadata::{FileMetadata, RowGroupMetadata};
use polars_parquet::parquet::statistics::Statistics;

use crate::schema::{self, Dictionaries, ID_HASH, PROVIDER, RAW_LEN, RAW_OFFSET, TIME};
use crate::{Error, Result};

use super::io_error;
use super::layout::{FILE_COLUMNS, LAYOUT_FILE, LAYOUT_VERSION, is_lake_file, partition_of};
use super::prune::Pruning;
use super::values::FileValues;

/// One finished file of the lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeFile {
    /// The `provider` partition.
    pub provider: String,
    /// The `date` partition (`YYYY-MM-DD` or the null partition).
    pub day: String,
    /// The file.
    pub path: PathBuf,
}

/// What a scan opened and skipped, for tests and `--timings`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Partitions in the lake.
    pub partitions: usize,
    /// Partitions whose files were read.
    pub partitions_read: usize,
    /// Files in the lake.
    pub files: usize,
    /// Files read (some of their row groups).
    pub files_read: usize,
    /// Row groups in the files of the partitions read.
    pub row_groups: usize,
    /// Row groups read.
    pub row_groups_read: usize,
    /// Row groups whose time range could match but whose value index says they hold none
    /// of the values looked up (not read).
    pub row_groups_ruled_out_by_values: usize,
    /// Events read (before filtering).
    pub rows_read: u64,
    /// Partial results merged: a pivot or timeline over a lake reduces each file's matching
    /// events to one (per pass over the files: a timeline makes two or three).
    pub parts: usize,
    /// The file columns read from some file, in the order first read.
    pub columns_read: Vec<String>,
}

impl ScanStats {
    /// Notes that `columns` were read (those that are file columns).
    pub fn note_columns(&mut self, columns: &[&str]) {
        for c in columns {
            let in_file = FILE_COLUMNS.iter().any(|(f, _)| f == c);
            if in_file && !self.columns_read.iter().any(|r| r == c) {
                self.columns_read.push(c.to_string());
            }
        }
    }
}

/// Fails unless `root` holds a lake of this layout version.
pub fn check_layout(root: &Path) -> Result<()> {
    let marker = root.join(LAYOUT_FILE);
    let text = fs::read_to_string(&marker).map_err(io_error(&marker))?;
    let version = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("layout").and_then(|v| v.as_integer()));
    if version == Some(i64::from(LAYOUT_VERSION)) {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{}: not a trailscope lake of layout {LAYOUT_VERSION}",
        crate::text::escape_control(&marker.display().to_string())
    )))
}

/// The finished files of the lake at `root`, by day (the null partition last), provider and
/// name; files being written (dot-names) and anything else are left out.
pub fn lake_files(root: &Path) -> Result<Vec<LakeFile>> {
    check_layout(root)?;
    let mut files = Vec::new();
    for provider in read_dir_sorted(root)? {
        if !provider.is_dir() {
            continue;
        }
        for day in read_dir_sorted(&provider)? {
            let Some((provider, day_text)) = partition_of(&day) else {
                continue;
            };
            if !day.is_dir() {
                continue;
            }
            for path in read_dir_sorted(&day)? {
                let lake_file = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_lake_file);
                if lake_file && path.is_file() {
                    files.push(LakeFile {
                        provider: provider.clone(),
                        day: day_text.clone(),
                        path,
                    });
                }
            }
        }
    }
    // `__HIVE_DEFAULT_PARTITION__` sorts before digits: events without a time go last, as
    // in a loaded frame.
    files.sort_by(|a, b| {
        let null = |f: &LakeFile| f.day == super::layout::NULL_PARTITION;
        (null(a), &a.day, &a.provider, &a.path).cmp(&(null(b), &b.day, &b.provider, &b.path))
    });
    Ok(files)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        out.push(entry.map_err(io_error(dir))?.path());
    }
    out.sort();
    Ok(out)
}

/// An error reading a lake file, naming the file (a damaged file must say which it is).
fn file_error<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl FnOnce(polars::error::PolarsError) -> Error + 'a {
    move |e| Error::Invalid(format!("{}: {what}: {e}", path.display()))
}

/// A file's footer.
pub fn file_metadata(path: &Path) -> Result<Arc<FileMetadata>> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = ParquetReader::new(file);
    reader
        .get_metadata()
        .cloned()
        .map_err(file_error(path, "reading the lake file's footer"))
}

/// The time range (UTC microseconds, both ends inclusive) of a row group from its
/// statistics; None when they are missing.
pub fn row_group_times(metadata: &FileMetadata, group: &RowGroupMetadata) -> Option<(i64, i64)> {
    let column = group.columns_under_root_iter(TIME)?.next()?;
    match column.statistics(&metadata.footer_buf)?.ok()? {
        Statistics::Int64(s) => Some((s.min_value?, s.max_value?)),
        _ => None,
    }
}

/// The newest event time in the lake (from the footers), the reference of `last:`.
pub fn newest_time(files: &[LakeFile]) -> Result<Option<i64>> {
    let mut newest = None;
    for file in files {
        let metadata = file_metadata(&file.path)?;
        for group in &metadata.row_groups {
            if let Some((_, max)) = row_group_times(&metadata, group) {
                newest = newest.max(Some(max));
            }
        }
    }
    Ok(newest)
}

/// Reads whole columns of a lake file, with the lake's types.
pub fn read_columns(path: &Path, columns: &[&str]) -> Result<DataFrame> {
    let file = File::open(path).map_err(io_error(path))?;
    ParquetReader::new(file)
        .with_columns(Some(columns.iter().map(|c| c.to_string()).collect()))
        .finish()
        .map_err(file_error(path, "reading the lake file"))
}

/// The footer of `file` cut to the row groups `pruning` keeps; None when it keeps none.
/// Counts what is to be read in `stats`.
pub fn kept_metadata(
    file: &LakeFile,
    pruning: &Pruning,
    stats: &mut ScanStats,
) -> Result<Option<Arc<FileMetadata>>> {
    Ok(kept_row_groups(file, pruning, stats)?.map(|(metadata, _)| metadata))
}

/// A footer cut to the kept row groups, and the file rows each kept group holds: the rows
/// a reader of the cut footer returns are, in order, the file's rows in these ranges.
pub type KeptRowGroups = (Arc<FileMetadata>, Vec<std::ops::Range<u64>>);

/// [`kept_metadata`], with the file rows of the kept row groups.
pub fn kept_row_groups(
    file: &LakeFile,
    pruning: &Pruning,
    stats: &mut ScanStats,
) -> Result<Option<KeptRowGroups>> {
    let metadata = file_metadata(&file.path)?;
    let groups = metadata.row_groups.len();
    let values = pruning
        .looks_up_values()
        .then(|| FileValues::read(&file.path))
        .flatten()
        .filter(|v| v.describes(metadata.row_groups.iter().map(|g| g.num_rows() as u64)));
    let mut kept: Vec<RowGroupMetadata> = Vec::new();
    let mut rows: Vec<std::ops::Range<u64>> = Vec::new();
    let mut start = 0u64;
    for (i, g) in metadata.row_groups.iter().enumerate() {
        let end = start + g.num_rows() as u64;
        let mut keep = match row_group_times(&metadata, g) {
            Some((min, max)) => pruning.keeps_times(min, max),
            // Without statistics (or times), only a time-free filter can match.
            None => !pruning.is_time_bounded(),
        };
        if keep
            && let Some(group) = values.as_ref().and_then(|v| v.groups.get(i))
            && !pruning.keeps_values(group)
        {
            keep = false;
            stats.row_groups_ruled_out_by_values += 1;
        }
        if keep {
            kept.push(g.clone());
            rows.push(start..end);
        }
        start = end;
    }
    stats.row_groups += groups;
    if kept.is_empty() {
        return Ok(None);
    }
    stats.files_read += 1;
    stats.row_groups_read += kept.len();
    stats.rows_read += kept.iter().map(|g| g.num_rows() as u64).sum::<u64>();
    if kept.len() == groups {
        return Ok(Some((metadata, rows)));
    }
    let mut pruned = (*metadata).clone();
    pruned.num_rows = kept.iter().map(|g| g.num_rows()).sum();
    pruned.max_row_group_height = kept.iter().map(|g| g.num_rows()).max().unwrap_or(0);
    pruned.row_groups = kept;
    Ok(Some((Arc::new(pruned), rows)))
}

/// Reads the row groups of `metadata` (a footer of `path`, maybe cut), with those of
/// `columns` that files hold, with the lake's types.
pub fn read_lake_columns(
    path: &Path,
    metadata: Arc<FileMetadata>,
    columns: &[&str],
) -> Result<DataFrame> {
    let in_file: Vec<String> = columns
        .iter()
        .filter(|c| FILE_COLUMNS.iter().any(|(f, _)| f == *c))
        .map(|c| c.to_string())
        .collect();
    let handle = File::open(path).map_err(io_error(path))?;
    let mut reader = ParquetReader::new(handle);
    reader.set_metadata(metadata);
    reader
        .with_columns(Some(in_file))
        .finish()
        .map_err(file_error(path, "reading the lake file"))
}

/// Reads `file` with the columns `columns` (event columns, `raw`, or the frame's locator
/// columns), only the row groups `pruning` keeps, converted to the frame's types; None
/// when no row group is kept. Counts what it read in `stats`.
pub fn read_file(
    file: &LakeFile,
    columns: &[&str],
    pruning: &Pruning,
    stats: &mut ScanStats,
) -> Result<Option<DataFrame>> {
    let Some(metadata) = kept_metadata(file, pruning, stats)? else {
        return Ok(None);
    };
    let read = read_lake_columns(&file.path, metadata, columns)?;
    Ok(Some(to_frame_types(read, &file.provider, columns)?))
}

/// A lake chunk with the frame's column types: text back to the shared dictionaries'
/// categoricals, `raw_line` unsigned, the `provider` partition as a column, and the
/// locator columns the lake has no use for (`raw_offset`, `raw_len`) zero, `id_hash`
/// recomputed, when asked for.
pub fn to_frame_types(chunk: DataFrame, provider: &str, columns: &[&str]) -> Result<DataFrame> {
    let err = || Error::polars("converting lake events to the frame's types");
    let height = chunk.height();
    let schema = schema::frame_schema();
    let dicts = Dictionaries::shared();
    let mut out: Vec<Column> = Vec::with_capacity(columns.len());
    for name in columns {
        let column = match *name {
            PROVIDER => Column::new_scalar(
                PROVIDER.into(),
                Scalar::new(DataType::String, AnyValue::StringOwned(provider.into())),
                height,
            )
            .cast(dicts.dtype(PROVIDER).unwrap_or(&DataType::String))
            .map_err(err())?,
            RAW_OFFSET => Column::full_null(RAW_OFFSET.into(), height, &DataType::UInt64)
                .fill_null(FillNullStrategy::Zero)
                .map_err(err())?,
            RAW_LEN => Column::full_null(RAW_LEN.into(), height, &DataType::UInt32)
                .fill_null(FillNullStrategy::Zero)
                .map_err(err())?,
            ID_HASH => {
                let ids = chunk
                    .column(crate::schema::EVENT_ID)
                    .and_then(|c| c.str().cloned())
                    .map_err(err())?;
                let hashes: UInt64Chunked = ids
                    .iter()
                    .map(|v| v.map(|v| xxhash_rust::xxh3::xxh3_64(v.as_bytes())))
                    .collect();
                hashes.with_name(ID_HASH.into()).into_column()
            }
            name => {
                let column = chunk.column(name).map_err(err())?;
                match schema.get(name) {
                    Some(dtype) if dtype != column.dtype() => column.cast(dtype).map_err(err())?,
                    _ => column.clone(),
                }
            }
        };
        out.push(column);
    }
    DataFrame::new(height, out).map_err(err())
}
