//! One followed file that grows line by line: which file it is (device, inode and the hash
//! of its first bytes), how far it was read, and reading the complete lines added since.
//! The file stays open, so a file renamed away or deleted is still read to its end.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::framing::{CHUNK_TARGET, Chunk, MAX_RECORD, Records, count_newlines};
use crate::load::parse::InputContext;
use crate::load::pipeline::{FileId, FilePosition};
use crate::load::source::Origin;
use crate::{Location, Rejection};

use super::files::read_exact_at;

/// How long an unterminated last line must stay unchanged before it is read as a record
/// (a writer that ended without a final newline); a writer mid-line is never read half.
pub const PARTIAL_LINE_WAIT: Duration = Duration::from_secs(2);

impl FileId {
    /// The identity of an open file.
    pub fn of(file: &File, meta: &Metadata) -> io::Result<FileId> {
        let (head_hash, head_len) = head_hash(file, FileId::HEAD as u64)?;
        Ok(FileId {
            dev: meta.dev(),
            inode: meta.ino(),
            head_hash,
            head_len,
        })
    }

    /// Whether `file` (with `meta`) is this file: same device and inode, and the same first
    /// bytes as far as this identity covers them.
    pub fn matches(&self, file: &File, meta: &Metadata) -> io::Result<bool> {
        if meta.dev() != self.dev || meta.ino() != self.inode {
            return Ok(false);
        }
        self.same_head(file)
    }

    /// Whether `file` starts with the bytes this identity hashed (any device and inode: a
    /// copy of the file).
    pub fn same_head(&self, file: &File) -> io::Result<bool> {
        let (hash, len) = head_hash(file, u64::from(self.head_len))?;
        Ok(len == self.head_len && hash == self.head_hash)
    }
}

/// xxh3 of a file's first `max` bytes (fewer when it is shorter), and how many were hashed.
fn head_hash(file: &File, max: u64) -> io::Result<(u64, u32)> {
    let mut buf = vec![0u8; max as usize];
    let n = read_exact_at(file, &mut buf, 0)?;
    Ok((xxhash_rust::xxh3::xxh3_64(&buf[..n]), n as u32))
}

/// What became of a followed file's path since it was last looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathState {
    /// Still this file (it may have grown).
    Same,
    /// The same file, cut shorter or rewritten from its start (copytruncate).
    Truncated,
    /// Another file is at the path now (rotated: renamed away and recreated).
    Replaced,
    /// Nothing is at the path (deleted or renamed away).
    Missing,
}

/// A file followed line by line.
pub struct Tracked {
    /// Index of the input its events belong to.
    pub input: usize,
    /// The input's name (the `source` column).
    pub name: String,
    /// Where the file is expected; `None` once it was renamed away or deleted (it is then
    /// read to its end and dropped).
    pub path: Option<PathBuf>,
    file: File,
    /// Which file it is.
    pub id: FileId,
    /// Bytes read so far.
    pub offset: u64,
    /// Line at `offset`.
    pub line: u64,
    /// The input's format, once its first lines were seen.
    pub context: Option<Arc<InputContext>>,
    /// When the file last grew (or was opened).
    pub grew: Instant,
    /// An unterminated last line: the file size when it was first seen, and when.
    partial: Option<(u64, Instant)>,
    /// Inside a line longer than [`MAX_RECORD`], skipping to its end.
    skipping: bool,
}

impl Tracked {
    /// Opens `path` to follow it from `offset` (line `line`).
    pub fn open(
        input: usize,
        name: String,
        path: &Path,
        offset: u64,
        line: u64,
    ) -> io::Result<Tracked> {
        Tracked::of_file(input, name, path, File::open(path)?, offset, line)
    }

    /// Follows an open file (opened at `path`) from `offset` (line `line`): the file it was
    /// when opened, whatever happens to its path meanwhile.
    pub fn of_file(
        input: usize,
        name: String,
        path: &Path,
        file: File,
        offset: u64,
        line: u64,
    ) -> io::Result<Tracked> {
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        let id = FileId::of(&file, &meta)?;
        Ok(Tracked {
            input,
            name,
            path: Some(path.to_path_buf()),
            file,
            id,
            offset,
            line,
            context: None,
            grew: Instant::now(),
            partial: None,
            skipping: false,
        })
    }

    /// What is at the path now.
    pub fn path_state(&self) -> PathState {
        let Some(path) = &self.path else {
            return PathState::Missing;
        };
        let Ok(meta) = std::fs::metadata(path) else {
            return PathState::Missing;
        };
        if meta.dev() != self.id.dev || meta.ino() != self.id.inode {
            return PathState::Replaced;
        }
        if meta.len() < self.offset {
            return PathState::Truncated;
        }
        // Cut and written again past where we were before we looked: its first bytes changed.
        match self.id.same_head(&self.file) {
            Ok(false) => PathState::Truncated,
            _ => PathState::Same,
        }
    }

    /// The file's size now.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Reads the complete lines added since the last read: chunks to parse and lines that
    /// cannot be (longer than [`MAX_RECORD`]). With `flush`, or once an unterminated last line
    /// has stayed unchanged for [`PARTIAL_LINE_WAIT`] and looks like a whole JSON object, that
    /// line is read too.
    pub fn read_new(&mut self, flush: bool) -> io::Result<(Vec<Chunk>, Vec<Rejection>)> {
        let mut chunks = Vec::new();
        let mut rejections = Vec::new();
        loop {
            let size = self.size()?;
            if self.offset >= size {
                self.partial = None;
                break;
            }
            self.grow_identity(size)?;
            if self.skipping {
                if !self.skip_line(size)? {
                    break;
                }
                continue;
            }
            let avail = size - self.offset;
            let mut data = vec![0u8; avail.min(CHUNK_TARGET as u64) as usize];
            let mut n = read_exact_at(&self.file, &mut data, self.offset)?;
            data.truncate(n);
            let mut cut = memchr::memrchr(b'\n', &data).map(|p| p + 1);
            if cut.is_none() && avail > n as u64 {
                // One line longer than a chunk: read up to the longest record allowed.
                data.resize(avail.min(MAX_RECORD as u64 + 1) as usize, 0);
                n = read_exact_at(&self.file, &mut data, self.offset)?;
                data.truncate(n);
                cut = memchr::memrchr(b'\n', &data).map(|p| p + 1);
            }
            let cut = match cut {
                Some(cut) => cut,
                None if n > MAX_RECORD => {
                    rejections.push(Rejection {
                        location: Location::at(self.name.clone(), self.line, self.offset),
                        reason: format!("line longer than {} MiB", MAX_RECORD >> 20),
                    });
                    self.skipping = true;
                    continue;
                }
                None if flush || self.partial_is_final(size, &data) => n,
                None => break,
            };
            data.truncate(cut);
            let line = self.line;
            self.line += count_newlines(&data);
            chunks.push(Chunk {
                data,
                offset: self.offset,
                line,
                records: Records::Lines,
            });
            self.offset += cut as u64;
            self.grew = Instant::now();
            self.partial = None;
        }
        Ok((chunks, rejections))
    }

    /// Whether an unterminated last line has waited long enough, unchanged, to be a record.
    fn partial_is_final(&mut self, size: u64, data: &[u8]) -> bool {
        match self.partial {
            Some((seen, since)) if seen == size => {
                since.elapsed() >= PARTIAL_LINE_WAIT && data.trim_ascii_end().ends_with(b"}")
            }
            _ => {
                self.partial = Some((size, Instant::now()));
                false
            }
        }
    }

    /// Skips to the end of an over-long line; false when its end is not written yet.
    fn skip_line(&mut self, size: u64) -> io::Result<bool> {
        let mut buf = vec![0u8; CHUNK_TARGET];
        while self.offset < size {
            let n = read_exact_at(&self.file, &mut buf, self.offset)?;
            if n == 0 {
                break;
            }
            if let Some(p) = memchr::memchr(b'\n', &buf[..n]) {
                self.offset += p as u64 + 1;
                self.line += 1;
                self.skipping = false;
                return Ok(true);
            }
            self.offset += n as u64;
        }
        Ok(false)
    }

    /// While the file is shorter than [`FileId::HEAD`], its identity covers what there is.
    fn grow_identity(&mut self, size: u64) -> io::Result<()> {
        if (self.id.head_len as usize) < FileId::HEAD && size > u64::from(self.id.head_len) {
            let meta = self.file.metadata()?;
            self.id = FileId::of(&self.file, &meta)?;
        }
        Ok(())
    }

    /// How its records can be read again, whatever happens to its path.
    pub fn origin(&self) -> Option<Origin> {
        let file = self.file.try_clone().ok()?;
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(&self.name));
        Some(Origin::held(path, file))
    }

    /// Where the file was read to, for `tail --state`.
    pub fn position(&self) -> FilePosition {
        FilePosition {
            input: self.input,
            name: self.name.clone(),
            id: Some(self.id),
            offset: self.offset,
            line: self.line,
            complete: false,
        }
    }
}
