//! What a file is and where its records end, for the follower: its kind (lines to follow,
//! a whole document to load once complete), whether a whole file is complete yet, where its
//! last complete line ends, and where logrotate put a renamed file or a copy of it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::load::framing::count_newlines;
use crate::load::pipeline::FileId;
use crate::load::sniff::{Shape, sniff_shape};
use crate::load::source::{Input, InputKind};

use super::watch::parent_of;

/// A gzip larger than this is not test-read before loading: it has settled, that is all.
const VERIFY_GZIP_MAX: u64 = 256 << 20;

/// How a file's content is read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// One JSON object per line: read line by line as it grows.
    Lines,
    /// Gzip, a JSON document or a CSV table: read whole once complete.
    Whole,
    /// Not recognizable yet (empty, or no complete first line).
    Unknown,
}

/// Classifies a file from its bytes at `start`.
pub(super) fn classify(file: &File, start: u64, size: u64) -> Kind {
    let mut head = vec![0u8; (size - start.min(size)).min(64 << 10) as usize];
    let n = read_exact_at(file, &mut head, start).unwrap_or(0);
    head.truncate(n);
    if start == 0 && head.starts_with(&[0x1f, 0x8b]) {
        return Kind::Whole;
    }
    let body = head.strip_prefix(&[0xef, 0xbb, 0xbf][..]).unwrap_or(&head);
    if body.trim_ascii().is_empty() {
        return Kind::Unknown;
    }
    let at_eof = start + n as u64 >= size;
    if memchr::memchr(b'\n', body.trim_ascii_start()).is_none() && !at_eof {
        return Kind::Unknown;
    }
    match sniff_shape(body, false) {
        Shape::Lines => Kind::Lines,
        Shape::Json | Shape::Csv => Kind::Whole,
        Shape::Empty | Shape::Unknown(_) if memchr::memchr(b'\n', body).is_some() => Kind::Whole,
        _ => Kind::Unknown,
    }
}

pub(super) enum Completeness {
    /// Whole: load it.
    Complete,
    /// Still being written: try again later.
    Incomplete,
}

/// Whether a whole file is complete: a gzip whose every member decompresses to its
/// trailer, a JSON document that ends where a document ends.
pub(super) fn complete(file: &File, len: u64) -> Completeness {
    let mut magic = [0u8; 2];
    if read_exact_at(file, &mut magic, 0).unwrap_or(0) == 2 && magic == [0x1f, 0x8b] {
        if len > VERIFY_GZIP_MAX {
            return Completeness::Complete;
        }
        let Ok(clone) = file.try_clone() else {
            return Completeness::Complete;
        };
        let mut decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(clone));
        return match std::io::copy(
            &mut decoder.by_ref().take(VERIFY_GZIP_MAX * 200),
            &mut std::io::sink(),
        ) {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Completeness::Incomplete,
            // Complete, or broken for good: the load says why.
            _ => Completeness::Complete,
        };
    }
    let mut tail = vec![0u8; len.min(4096) as usize];
    let from = len - tail.len() as u64;
    let n = read_exact_at(file, &mut tail, from).unwrap_or(0);
    match tail[..n].trim_ascii_end().last() {
        Some(b'}' | b']') => Completeness::Complete,
        // A table ends with a line break.
        Some(_) if tail[..n].ends_with(b"\n") => Completeness::Complete,
        _ => Completeness::Incomplete,
    }
}

/// Reads up to `buf.len()` bytes at `offset`, fewer only at the end of the file.
pub(super) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The input reading `start..end` of `path` (line `line` at `start`).
pub(super) fn part_input(input: &Input, path: &Path, start: u64, end: u64, line: u64) -> Input {
    Input {
        name: input.name.clone(),
        kind: InputKind::FilePart {
            path: path.to_path_buf(),
            start,
            end,
            line,
        },
    }
}

/// Offset just after the last line break in `start..size`; `None` when there is none.
pub(super) fn last_line_end(file: &File, start: u64, size: u64) -> Option<u64> {
    let mut end = size;
    let mut buf = vec![0u8; 1 << 16];
    while end > start {
        let from = end.saturating_sub(buf.len() as u64).max(start);
        let n = read_exact_at(file, &mut buf[..(end - from) as usize], from).ok()?;
        if let Some(p) = memchr::memrchr(b'\n', &buf[..n]) {
            return Some(from + p as u64 + 1);
        }
        end = from;
    }
    None
}

/// Line breaks in `start..end` of a file.
pub(super) fn count_lines(file: &File, start: u64, end: u64) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 4 << 20];
    let mut at = start;
    let mut lines = 0;
    while at < end {
        let want = ((end - at) as usize).min(buf.len());
        let n = read_exact_at(file, &mut buf[..want], at)?;
        if n == 0 {
            break;
        }
        lines += count_newlines(&buf[..n]);
        at += n as u64;
    }
    Ok(lines)
}

/// The file with identity `id` next to `path` (where logrotate renames it), if any.
pub(super) fn find_by_identity(path: &Path, id: &FileId) -> Option<PathBuf> {
    let entries = std::fs::read_dir(parent_of(path)).ok()?;
    entries.flatten().map(|e| e.path()).find(|candidate| {
        File::open(candidate)
            .and_then(|f| {
                let meta = f.metadata()?;
                id.matches(&f, &meta)
            })
            .unwrap_or(false)
    })
}

/// logrotate's copy of `path` (copytruncate): a file next to it that starts with the same
/// bytes and holds at least `offset` bytes.
pub(super) fn find_copy(path: &Path, id: &FileId, offset: u64) -> Option<PathBuf> {
    if usize::try_from(id.head_len).ok()? < FileId::HEAD.min(offset as usize) {
        return None;
    }
    let dir = parent_of(path);
    let stem = path.file_name()?.to_string_lossy().into_owned();
    let entries = std::fs::read_dir(&dir).ok()?;
    for entry in entries.flatten() {
        let candidate = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if candidate == path || !name.starts_with(&stem) {
            continue;
        }
        let Ok(file) = File::open(&candidate) else {
            continue;
        };
        let Ok(meta) = file.metadata() else {
            continue;
        };
        if meta.len() >= offset && id.same_head(&file).unwrap_or(false) {
            return Some(candidate);
        }
    }
    None
}
