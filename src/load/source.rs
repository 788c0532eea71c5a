//! Inputs: paths, directories, globs and `-` become [`Input`]s; each input is opened with
//! gzip recognized by its magic bytes (not its name); standard input is spooled so records
//! can be shown again later.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::load::gzip_seek::GzipSeeker;
use crate::{Location, Rejection};

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// A file on disk.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// Part of a plain (not compressed) file: the bytes `start..end`, `start` being the
    /// beginning of line `line` (follow mode reads complete lines and resumes where it was).
    FilePart {
        /// The file.
        path: PathBuf,
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
        /// 1-based line at `start`.
        line: u64,
    },
}

/// One input to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The name shown to users: the path as found, or `-`.
    pub name: String,
    /// Where to read it.
    pub kind: InputKind,
}

/// Inputs found for the paths given, and the paths that could not be used.
#[derive(Debug, Default)]
pub struct Expansion {
    /// Inputs in a stable order: arguments in order, directory entries sorted.
    pub inputs: Vec<Input>,
    /// Paths that could not be read (missing, unreadable directory, bad glob).
    pub problems: Vec<Rejection>,
}

/// Expands user paths: files as they are, directories recursively (hidden entries skipped),
/// shell-style globs when the literal path does not exist, and `-` for standard input.
pub fn expand(paths: &[String]) -> Expansion {
    let mut out = Expansion::default();
    for raw in paths {
        if raw == "-" {
            out.inputs.push(Input {
                name: "-".into(),
                kind: InputKind::Stdin,
            });
            continue;
        }
        let path = Path::new(raw);
        if path.exists() {
            add_path(path, &mut out);
        } else if raw.contains(['*', '?', '[']) {
            match glob::glob(raw) {
                Ok(matches) => {
                    let mut found: Vec<PathBuf> = matches.filter_map(|m| m.ok()).collect();
                    found.sort();
                    if found.is_empty() {
                        out.problems
                            .push(problem(raw, "no file matches this pattern"));
                    }
                    for p in found {
                        add_path(&p, &mut out);
                    }
                }
                Err(e) => out
                    .problems
                    .push(problem(raw, &format!("invalid pattern: {e}"))),
            }
        } else {
            out.problems.push(problem(raw, "no such file or directory"));
        }
    }
    out
}

fn problem(path: &str, reason: &str) -> Rejection {
    Rejection {
        location: Location::file(path),
        reason: reason.to_string(),
    }
}

fn add_path(path: &Path, out: &mut Expansion) {
    if !path.is_dir() {
        out.inputs.push(file_input(path));
        return;
    }
    let walker = walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => out.inputs.push(file_input(e.path())),
            Ok(_) => {}
            Err(e) => {
                let at = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                out.problems
                    .push(problem(&at, &format!("cannot read directory entry: {e}")));
            }
        }
    }
}

fn file_input(path: &Path) -> Input {
    Input {
        name: path.display().to_string(),
        kind: InputKind::File(path.to_path_buf()),
    }
}

/// How the original bytes of an input can be read again later (detail pane, reports).
#[derive(Clone)]
pub struct Origin {
    /// The file holding the bytes (for standard input, the name `-`).
    pub path: PathBuf,
    /// Whether the file is gzip-compressed (offsets are in the decompressed stream).
    pub gzip: bool,
    /// Standard input's spool: an unnamed temporary file, so nothing is left behind
    /// whichever way the process ends.
    spool: Option<Arc<File>>,
    /// Restart points into a gzip input, shared by every clone of the origin.
    seeker: Option<Arc<Mutex<GzipSeeker>>>,
    /// The SHA-256 of the file's bytes as they were read, once read to the end (when the
    /// load was asked to hash: [`open_hashing`]).
    digest: Option<Arc<DigestSlot>>,
}

/// Where the hashing thread leaves an input's digest: `None` while it runs, then
/// `Some(None)` for an input not read to its end, `Some(Some(digest))` otherwise.
#[derive(Default)]
struct DigestSlot {
    state: Mutex<Option<Option<LoadDigest>>>,
    done: std::sync::Condvar,
}

impl DigestSlot {
    fn finish(&self, digest: Option<LoadDigest>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = Some(digest);
        self.done.notify_all();
    }

    /// Waits for the hashing thread (it ends once the reader is dropped and the queued
    /// reads are hashed).
    fn wait(&self) -> Option<LoadDigest> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(result) = &*state {
                return result.clone();
            }
            state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The SHA-256 of a file input's bytes (compressed, as `sha256sum` reads them) computed
/// while loading read them, and the file's size and modification time when it was opened,
/// so a report can tell whether the file is still what was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadDigest {
    /// Bytes hashed: the whole file.
    pub size: u64,
    /// The file's modification time when it was opened.
    pub modified: Option<SystemTime>,
    /// SHA-256 of its bytes.
    pub sha256: [u8; 32],
}

impl Origin {
    /// The origin of a plain file's bytes.
    pub fn file(path: PathBuf) -> Origin {
        Origin {
            path,
            gzip: false,
            spool: None,
            seeker: None,
            digest: None,
        }
    }

    /// The SHA-256 of the whole file as the load read it, when it was asked for and the
    /// file was read to its end (waiting for the hashing thread to finish its last reads).
    pub fn digest(&self) -> Option<LoadDigest> {
        self.digest.as_deref().and_then(DigestSlot::wait)
    }

    /// The origin of a plain file read through a descriptor held open, so its bytes stay
    /// readable after it is renamed away or deleted (a followed log after rotation).
    pub fn held(path: PathBuf, file: File) -> Origin {
        Origin {
            path,
            gzip: false,
            spool: Some(Arc::new(file)),
            seeker: None,
            digest: None,
        }
    }

    /// The origin of bytes copied to a spool file as they were read (standard input).
    pub fn spooled(spool: File) -> Origin {
        Origin {
            path: PathBuf::from("-"),
            gzip: false,
            spool: Some(Arc::new(spool)),
            seeker: None,
            digest: None,
        }
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Origin")
            .field("path", &self.path)
            .field("gzip", &self.gzip)
            .field("spooled", &self.spool.is_some())
            .finish()
    }
}

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
            && self.gzip == other.gzip
            && self.spool.is_some() == other.spool.is_some()
    }
}

/// An opened input: a reader of its decompressed bytes, and how to find them again.
pub struct Opened {
    /// The decompressed bytes.
    pub reader: Box<dyn Read + Send>,
    /// Offset and 1-based line of the reader's first byte in the input.
    pub start: (u64, u64),
    /// Where the bytes can be read again.
    pub origin: Origin,
}

/// Opens an input for reading, decompressing gzip (recognized by its magic bytes).
/// Standard input is copied to an unnamed temporary file as it is read, so records can be
/// shown later.
pub fn open(input: &Input) -> io::Result<Opened> {
    open_hashing(input, false)
}

/// [`open`], and with `hash` a file input's SHA-256 computed as its bytes are read (beside
/// the reading thread: the bytes are read once for loading and hashing), kept in the origin
/// ([`Origin::digest`]) once the file was read to its end.
pub fn open_hashing(input: &Input, hash: bool) -> io::Result<Opened> {
    match &input.kind {
        InputKind::File(path) => {
            let mut file = File::open(path)?;
            let metadata = file.metadata()?;
            if metadata.is_dir() {
                return Err(io::Error::other("is a directory"));
            }
            let mut magic = [0u8; 2];
            let n = read_full(&mut file, &mut magic)?;
            file.seek(SeekFrom::Start(0))?;
            let gzip = n == 2 && magic == [0x1f, 0x8b];
            let digest = hash.then(|| Arc::new(DigestSlot::default()));
            let file: Box<dyn Read + Send> = match &digest {
                Some(digest) => Box::new(Hashing::new(
                    file,
                    metadata.modified().ok(),
                    Arc::clone(digest),
                )),
                None => Box::new(file),
            };
            let reader: Box<dyn Read + Send> = if gzip {
                gunzip(BufReader::with_capacity(1 << 20, file))
            } else {
                file
            };
            let seeker = if gzip {
                Some(Arc::new(Mutex::new(GzipSeeker::new(File::open(path)?))))
            } else {
                None
            };
            Ok(Opened {
                reader,
                start: (0, 1),
                origin: Origin {
                    path: path.clone(),
                    gzip,
                    spool: None,
                    seeker,
                    digest,
                },
            })
        }
        InputKind::FilePart {
            path,
            start,
            end,
            line,
        } => {
            let mut file = File::open(path)?;
            if file.metadata()?.is_dir() {
                return Err(io::Error::other("is a directory"));
            }
            file.seek(SeekFrom::Start(*start))?;
            Ok(Opened {
                reader: Box::new(file.take(end.saturating_sub(*start))),
                start: (*start, *line),
                origin: Origin::file(path.clone()),
            })
        }
        InputKind::Stdin => {
            let spool = tempfile::tempfile()?;
            let reread = spool.try_clone()?;
            let mut stdin = io::stdin().lock();
            let mut magic = [0u8; 2];
            let n = read_full(&mut stdin, &mut magic)?;
            drop(stdin);
            let head = magic[..n].to_vec();
            let gzip = n == 2 && magic == [0x1f, 0x8b];
            let raw = io::Cursor::new(head).chain(io::stdin());
            let tee = Tee { inner: raw, spool };
            let reader: Box<dyn Read + Send> = if gzip { gunzip(tee) } else { Box::new(tee) };
            let seeker = if gzip {
                Some(Arc::new(Mutex::new(GzipSeeker::new(reread.try_clone()?))))
            } else {
                None
            };
            Ok(Opened {
                reader,
                start: (0, 1),
                origin: Origin {
                    path: PathBuf::from("-"),
                    gzip,
                    spool: Some(Arc::new(reread)),
                    seeker,
                    digest: None,
                },
            })
        }
    }
}

/// The most a gzip input may expand. Audit logs compress 3 to 35 times (the bundled and real
/// samples, even at `gzip -9`), a decompression bomb about 1,000 times; past this ratio, and past the first
/// [`GZIP_RATIO_FREE`] bytes, the rest of the input is refused. A 100 MB bomb then costs
/// seconds instead of the minutes of inflating 100 GB.
pub const MAX_GZIP_RATIO: u64 = 200;
/// Decompressed bytes allowed before the ratio is checked.
pub const GZIP_RATIO_FREE: u64 = 256 << 20;

/// Decompresses gzip members one after another, refusing to go on past [`MAX_GZIP_RATIO`].
fn gunzip<R: Read + Send + 'static>(compressed: R) -> Box<dyn Read + Send> {
    let read = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: compressed,
        read: Arc::clone(&read),
    };
    Box::new(RatioGuard {
        inner: MultiGzDecoder::new(counted),
        compressed: read,
        produced: 0,
    })
}

/// Counts the compressed bytes read.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Ends decompression that expands beyond [`MAX_GZIP_RATIO`].
struct RatioGuard<R> {
    inner: R,
    compressed: Arc<AtomicU64>,
    produced: u64,
}

impl<R: Read> Read for RatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        let compressed = self.compressed.load(Ordering::Relaxed);
        if self.produced > GZIP_RATIO_FREE && self.produced > MAX_GZIP_RATIO * compressed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "gzip data expands more than {MAX_GZIP_RATIO} times its size ({compressed} bytes to over {} MB; a decompression bomb?): the rest of the input is skipped",
                    self.produced / 1_000_000
                ),
            ));
        }
        Ok(n)
    }
}

/// Hashes what it reads beside the reading thread: each read's bytes go to a hashing
/// thread (at most [`HASH_QUEUE`] reads ahead, so memory stays bounded and a slow hash slows
/// the reader rather than piling up), which keeps the digest once the end of the file was
/// read. On two cores the reading thread is the load's bottleneck; hashing on it would add
/// the whole hashing time to the load.
struct Hashing<R> {
    inner: R,
    /// None once the end was sent (or the hashing thread is gone).
    chunks: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
}

/// Reads queued for the hashing thread.
const HASH_QUEUE: usize = 16;

impl<R> Hashing<R> {
    /// Starts the hashing thread of a file opened with `modified` as its modification time.
    fn new(inner: R, modified: Option<SystemTime>, slot: Arc<DigestSlot>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(HASH_QUEUE);
        let thread_slot = Arc::clone(&slot);
        let started = std::thread::Builder::new()
            .name("trailscope-hash".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                // An empty chunk is the end of the file; a closed channel without it is an
                // input not read to its end, which keeps no digest.
                while let Ok(chunk) = rx.recv() {
                    if chunk.is_empty() {
                        thread_slot.finish(Some(LoadDigest {
                            size,
                            modified,
                            sha256: hasher.finalize().into(),
                        }));
                        return;
                    }
                    hasher.update(&chunk);
                    size += chunk.len() as u64;
                }
                thread_slot.finish(None);
            });
        if started.is_err() {
            slot.finish(None);
        }
        Hashing {
            inner,
            chunks: started.ok().map(|_| tx),
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if buf.is_empty() {
            return Ok(n);
        }
        if let Some(chunks) = &self.chunks {
            let sent = chunks.send(buf[..n].to_vec());
            if sent.is_err() || n == 0 {
                self.chunks = None;
            }
        }
        Ok(n)
    }
}

/// Copies what it reads to a spool file.
struct Tee<R> {
    inner: R,
    spool: File,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.spool.write_all(&buf[..n])?;
        Ok(n)
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads `len` bytes at `offset` of an origin's (decompressed) bytes.
pub fn read_raw(origin: &Origin, offset: u64, len: u32) -> io::Result<Vec<u8>> {
    if let Some(seeker) = &origin.seeker {
        let mut seeker = seeker
            .lock()
            .map_err(|_| io::Error::other("a previous read of this input failed midway"))?;
        return seeker.read_at(offset, len as usize);
    }
    let mut out = vec![0u8; len as usize];
    match &origin.spool {
        Some(spool) => spool.read_exact_at(&mut out, offset)?,
        None => File::open(&origin.path)?.read_exact_at(&mut out, offset)?,
    }
    Ok(out)
}
