//! Follow mode: after the initial load, keep reading inputs as they grow. Lines appended to
//! files, new files in watched directories (gzip and JSON exports loaded once complete),
//! rotation by rename and by truncation, and standard input; change events come from
//! notify, or from polling when asked. News goes out as [`IngestMsg`]s on one channel, the
//! same messages as a load, so the store and its consumers do not care whether events were
//! loaded or tailed.
//!
//! Which file is which is decided by device, inode and the hash of the first bytes (as
//! Filebeat's registry and Fluent Bit's database do), never by name: a file renamed away by
//! logrotate is read to its end through the descriptor held open, and the file recreated at
//! its path is a new input read from its start.

mod files;
mod stdin;
mod tracked;
mod watch;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::load::classify::ClassifierCache;
use crate::load::enrich::CountryFill;
use crate::load::parse::{self, InputContext};
use crate::load::pipeline::{
    FileId, FilePosition, Ingest, IngestMsg, LoadOptions, Notice, PARSE_STACK, chunk_messages,
};
use crate::load::source::{Input, InputKind};

use files::{
    Completeness, Kind, classify, complete, count_lines, find_by_identity, find_copy,
    last_line_end, part_input,
};
pub use stdin::STDIN_ENDED;
pub use tracked::PARTIAL_LINE_WAIT;
use tracked::{PathState, Tracked};
use watch::Watch;

/// How to follow.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Poll for changes at this interval instead of waiting for change events.
    pub poll: Option<Duration>,
    /// Where each file was read to by an earlier run (`tail --state`): reading continues
    /// there, and complete files are not read again.
    pub resume: Vec<FilePosition>,
    /// How long a new whole file (a gzip or JSON export) must keep its size before it is
    /// loaded.
    pub settle: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll: None,
            resume: Vec::new(),
            settle: Duration::from_millis(300),
        }
    }
}

/// A running follow: the initial load, then what arrives.
pub struct Follow {
    /// The messages, in the order they happened per input.
    pub receiver: Receiver<IngestMsg>,
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Follow {
    /// Loads `inputs` (found from `paths`) and then follows `paths` in the background;
    /// inputs get indices from `load.first_input` on, new ones the next free ones.
    pub fn start(
        paths: Vec<String>,
        inputs: Vec<Input>,
        load: LoadOptions,
        follow: FollowOptions,
    ) -> Follow {
        let (tx, rx) = bounded(64);
        let (stop_tx, stop_rx) = bounded(1);
        let spawned = std::thread::Builder::new()
            .name("trailscope-follow".into())
            .stack_size(PARSE_STACK)
            .spawn(move || {
                let follower = Follower::new(&paths, inputs.len(), tx, load, follow);
                follower.run(inputs, stop_rx);
            });
        Follow {
            receiver: rx,
            stop: Some(stop_tx),
            handle: spawned.ok(),
        }
    }

    /// Stops following and waits for the follower (a thread blocked reading standard input
    /// is left behind: it ends with the process).
    pub fn stop(mut self) {
        self.stop.take();
        if let Some(handle) = self.handle.take() {
            // The follower may be blocked sending to a full channel nobody reads any more.
            drop(std::mem::replace(&mut self.receiver, bounded(0).1));
            let _ = handle.join();
        }
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.stop.take();
    }
}

/// A whole file loaded at once (gzip, JSON, CSV), remembered so it is not loaded again.
struct Loaded {
    path: PathBuf,
    len: u64,
    head_hash: u64,
    /// Said once that it changed after loading.
    noticed: bool,
}

/// A file seen in a watched directory, not read yet.
struct Candidate {
    len: u64,
    changed: Instant,
    /// Said that it is still being written.
    noticed: bool,
}

/// How long a tracked file renamed away or deleted keeps being read after it last grew
/// (a writer may write a little more before it reopens its log).
const DRAIN_GRACE: Duration = Duration::from_secs(5);
/// A gzip that stays incomplete this long is reported once (and still retried).
const INCOMPLETE_NOTICE: Duration = Duration::from_secs(30);

struct Follower {
    tx: Sender<IngestMsg>,
    load: LoadOptions,
    options: FollowOptions,
    /// Directories followed recursively.
    dirs: Vec<PathBuf>,
    /// Files named on the command line, followed across rotation.
    files: Vec<PathBuf>,
    next_input: usize,
    tracked: Vec<Tracked>,
    loaded: HashMap<(u64, u64), Loaded>,
    candidates: BTreeMap<PathBuf, Candidate>,
    cache: ClassifierCache,
    countries: CountryFill,
    /// Paths already reported missing.
    missing: Vec<PathBuf>,
    /// Device and inode of the files the initial load reads.
    initial: HashSet<(u64, u64)>,
    /// Initial inputs planned so far.
    planned: usize,
    /// Input names given so far: a file read again from its start after rotation or
    /// truncation is a new input with a name of its own, so its records and the old ones
    /// are never confused (`audit.log`, then `audit.log (2)`).
    names: HashSet<String>,
}

/// How an initial file input is read.
enum Plan {
    /// Complete lines up to where the file is followed from (opened when planned, so a
    /// rotation during the initial load does not swap the file under it).
    Lines(Box<Tracked>),
    /// Loaded whole (gzip, JSON, CSV, unreadable: the load says why).
    Whole,
    /// Already read completely by an earlier run.
    Done,
}

impl Follower {
    fn new(
        paths: &[String],
        initial: usize,
        tx: Sender<IngestMsg>,
        load: LoadOptions,
        options: FollowOptions,
    ) -> Follower {
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        for raw in paths {
            let path = PathBuf::from(raw);
            if raw == "-" {
                // Read by its own thread (see `initial_load`).
            } else if path.is_dir() {
                dirs.push(path);
            } else if path.exists() || !raw.contains(['*', '?', '[']) {
                files.push(path);
            } else {
                // A glob: its directory is watched for new matches.
                let dir = raw
                    .rfind('/')
                    .map(|i| PathBuf::from(&raw[..i.max(1)]))
                    .unwrap_or_else(|| PathBuf::from("."));
                if dir.is_dir() {
                    dirs.push(dir);
                }
            }
        }
        Follower {
            countries: CountryFill::new(load.country_lookup),
            tx,
            next_input: load.first_input + initial,
            load,
            options,
            dirs,
            files,
            tracked: Vec::new(),
            loaded: HashMap::new(),
            candidates: BTreeMap::new(),
            cache: ClassifierCache::default(),
            missing: Vec::new(),
            initial: HashSet::new(),
            planned: 0,
            names: HashSet::new(),
        }
    }

    fn send(&self, msg: IngestMsg) -> bool {
        self.tx.send(msg).is_ok()
    }

    fn notice(&self, name: &str, what: impl Into<String>) -> bool {
        self.send(IngestMsg::InputNotice(Notice {
            name: name.to_string(),
            what: what.into(),
        }))
    }

    fn run(mut self, inputs: Vec<Input>, stop: Receiver<()>) {
        if !self.initial_load(inputs) {
            return;
        }
        let (mut watch, problems) = Watch::new(&self.dirs, &self.files, self.options.poll, stop);
        for problem in problems {
            if !self.notice("follow", problem) {
                return;
            }
        }
        if !self.scan() {
            return;
        }
        loop {
            let wake = watch.wait();
            if wake.stop {
                return;
            }
            let alive = self.check_tracked()
                && (!wake.rescan && self.candidates.is_empty() || self.scan())
                && self.check_candidates()
                && self.check_named_files();
            if !alive {
                return;
            }
        }
    }

    /// Loads what exists: complete lines of line files (then followed), whole files, and
    /// nothing that an earlier run already read.
    fn initial_load(&mut self, inputs: Vec<Input>) -> bool {
        let first = self.load.first_input;
        let mut plans = Vec::with_capacity(inputs.len());
        let mut parts = Vec::with_capacity(inputs.len());
        for input in &inputs {
            self.names.insert(input.name.clone());
            let (plan, part) = self.plan(input);
            plans.push(plan);
            parts.push(part);
        }
        // Standard input is read by its own thread, as it arrives; the files around it load
        // in runs of consecutive indices.
        let mut run: Vec<Input> = Vec::new();
        let mut run_start = first;
        for (index, (input, part)) in (first..).zip(inputs.iter().zip(parts)) {
            if input.kind == InputKind::Stdin {
                if !self.load_run(std::mem::take(&mut run), run_start) {
                    return false;
                }
                stdin::spawn(index, self.tx.clone(), self.load.clone());
                run_start = index + 1;
            } else {
                run.push(part);
            }
        }
        if !self.load_run(run, run_start) || !self.resume_renamed() {
            return false;
        }
        if !self.send(IngestMsg::LoadFinished) {
            return false;
        }
        for (i, (input, plan)) in inputs.iter().zip(plans).enumerate() {
            let index = first + i;
            let position = match plan {
                Plan::Lines(t) => {
                    let position = t.position();
                    if !self.adopt(*t, false) {
                        return false;
                    }
                    position
                }
                Plan::Whole | Plan::Done => match &input.kind {
                    InputKind::File(path) => match self.remember_loaded(path) {
                        Some(position) => FilePosition {
                            input: index,
                            name: input.name.clone(),
                            ..position
                        },
                        None => continue,
                    },
                    _ => continue,
                },
            };
            if !self.send(IngestMsg::Position(position)) {
                return false;
            }
        }
        true
    }

    /// Loads a run of inputs with consecutive indices from `first` through the parallel
    /// pipeline, forwarding its messages (its own end is not news).
    fn load_run(&mut self, run: Vec<Input>, first: usize) -> bool {
        if run.is_empty() {
            return true;
        }
        let mut options = self.load.clone();
        options.first_input = first;
        let ingest = Ingest::start(run, options);
        for msg in ingest.receiver.iter() {
            if matches!(msg, IngestMsg::LoadFinished) {
                break;
            }
            if !self.send(msg) {
                ingest.cancel();
                return false;
            }
        }
        ingest.wait_idle();
        true
    }

    /// Decides how an initial input is read, and what the load reads of it.
    fn plan(&mut self, input: &Input) -> (Plan, Input) {
        let index = self.load.first_input + self.planned;
        self.planned += 1;
        let InputKind::File(path) = &input.kind else {
            return (Plan::Whole, input.clone());
        };
        let Ok(file) = File::open(path) else {
            return (Plan::Whole, input.clone());
        };
        let Ok(meta) = file.metadata() else {
            return (Plan::Whole, input.clone());
        };
        if meta.is_dir() {
            return (Plan::Whole, input.clone());
        }
        let size = meta.len();
        self.initial.insert((meta.dev(), meta.ino()));
        let resumed = self.resume_point(&file, &meta);
        let (start, line) = match &resumed {
            Some(position) if position.complete => {
                let part = part_input(input, path, size, size, 1);
                return (Plan::Done, part);
            }
            Some(position) => (position.offset.min(size), position.line),
            None => (0, 1),
        };
        match classify(&file, start, size) {
            // Empty or without a complete line yet: followed as lines, which is what files
            // that grow are.
            Kind::Lines | Kind::Unknown => {
                let end = last_line_end(&file, start, size).unwrap_or(start);
                let part = part_input(input, path, start, end, line);
                let after = line + count_lines(&file, start, end).unwrap_or(0);
                match Tracked::of_file(index, input.name.clone(), path, file, end, after) {
                    Ok(t) => (Plan::Lines(Box::new(t)), part),
                    Err(_) => (Plan::Whole, input.clone()),
                }
            }
            Kind::Whole => (Plan::Whole, input.clone()),
        }
    }

    /// Files an earlier run was reading that were renamed away while it was down (rotated):
    /// found next to their old path by device and inode, and read from where it stopped.
    fn resume_renamed(&mut self) -> bool {
        let resume = std::mem::take(&mut self.options.resume);
        for position in &resume {
            let Some(id) = position.id else { continue };
            let known = (id.dev, id.inode);
            if position.complete
                || self.initial.contains(&known)
                || self.loaded.contains_key(&known)
                || self.tracked.iter().any(|t| (t.id.dev, t.id.inode) == known)
            {
                continue;
            }
            let Some(path) = find_by_identity(Path::new(&position.name), &id) else {
                continue;
            };
            let index = self.next_index();
            let name = self.generation_name(&path);
            let Ok(mut t) =
                Tracked::open(index, name.clone(), &path, position.offset, position.line)
            else {
                continue;
            };
            t.path = None;
            let what = format!("rotated while not followed; read from where it stopped as {name}");
            if !self.notice(&position.name, what) || !self.adopt(t, true) {
                return false;
            }
            let last = self.tracked.len() - 1;
            if !self.read_tracked(last, false) {
                return false;
            }
        }
        self.options.resume = resume;
        true
    }

    /// Where an earlier run left this file, if it knew it.
    fn resume_point(&self, file: &File, meta: &std::fs::Metadata) -> Option<FilePosition> {
        self.options
            .resume
            .iter()
            .find(|p| {
                p.id.is_some_and(|id| id.matches(file, meta).unwrap_or(false))
            })
            .cloned()
    }

    /// Remembers a whole file as loaded; its position for `--state`.
    fn remember_loaded(&mut self, path: &Path) -> Option<FilePosition> {
        let file = File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        let id = FileId::of(&file, &meta).ok()?;
        self.loaded.insert(
            (id.dev, id.inode),
            Loaded {
                path: path.to_path_buf(),
                len: meta.len(),
                head_hash: id.head_hash,
                noticed: false,
            },
        );
        Some(FilePosition {
            input: 0,
            name: path.display().to_string(),
            id: Some(id),
            offset: meta.len(),
            line: 0,
            complete: true,
        })
    }

    /// Reads what was added to every tracked file, and handles rotation and truncation.
    fn check_tracked(&mut self) -> bool {
        let mut i = 0;
        while i < self.tracked.len() {
            let state = self.tracked[i].path_state();
            let ok = match state {
                PathState::Same => self.read_tracked(i, false),
                PathState::Truncated => self.truncated(i),
                PathState::Replaced | PathState::Missing => self.detached(i, state),
            };
            if !ok {
                return false;
            }
            let t = &self.tracked[i];
            if t.path.is_none() && t.grew.elapsed() >= DRAIN_GRACE {
                // Read to its end and quiet: a last unterminated line is a record now.
                if !self.read_tracked(i, true) {
                    return false;
                }
                let done = self.tracked.remove(i);
                // It may turn up renamed in a watched directory: it was read.
                self.loaded.insert(
                    (done.id.dev, done.id.inode),
                    Loaded {
                        path: PathBuf::new(),
                        len: u64::MAX,
                        head_hash: done.id.head_hash,
                        noticed: true,
                    },
                );
                continue;
            }
            i += 1;
        }
        true
    }

    /// The file was cut (copytruncate): the lines between where we were and the cut are in
    /// the copy logrotate made, if it is next to it; then the file is read from its start, as
    /// a new input (the old one's records are read again from the copy, or not at all).
    fn truncated(&mut self, i: usize) -> bool {
        let (old_name, path, id, offset, line) = {
            let t = &self.tracked[i];
            (t.name.clone(), t.path.clone(), t.id, t.offset, t.line)
        };
        let Some(path) = path else {
            return true;
        };
        let shown = path.display().to_string();
        let copy = find_copy(&path, &id, offset);
        let what = match &copy {
            Some(copy) => format!(
                "truncated (copytruncate); the lines before the cut are read from {}",
                copy.display()
            ),
            None => "truncated; reading again from its start".to_string(),
        };
        if !self.notice(&shown, what) {
            return false;
        }
        let mut old_origin = None;
        if let Some(copy) = copy {
            let index = self.next_index();
            let copy_name = self.generation_name(&copy);
            if let Ok(mut t) = Tracked::open(index, copy_name, &copy, offset, line) {
                t.path = None;
                old_origin = t.origin();
                // The copy's lines come before the file's new ones.
                if !self.adopt(t, true) {
                    return false;
                }
                let last = self.tracked.len() - 1;
                if !self.read_tracked(last, true) {
                    return false;
                }
            }
        }
        // The records read before the cut are in the copy, if anywhere.
        let origin = IngestMsg::InputOrigin {
            name: old_name,
            origin: old_origin,
        };
        if !self.send(origin) {
            return false;
        }
        let index = self.next_index();
        let name = self.generation_name(&path);
        match Tracked::open(index, name.clone(), &path, 0, 1) {
            Ok(t) => {
                let Some(origin) = t.origin() else {
                    return self.notice(&shown, "unreadable after truncation");
                };
                let added = IngestMsg::InputAdded {
                    input: index,
                    name: name.clone(),
                };
                let origin = IngestMsg::InputOrigin {
                    name,
                    origin: Some(origin),
                };
                if !self.send(added) || !self.send(origin) {
                    return false;
                }
                self.tracked[i] = t;
                self.read_tracked(i, false)
            }
            Err(e) => {
                self.tracked.remove(i);
                self.notice(&shown, format!("unreadable after truncation: {e}"))
            }
        }
    }

    /// The path no longer holds the tracked file: it is read to its end through the open
    /// descriptor, and a file recreated at the path is a new input.
    fn detached(&mut self, i: usize, state: PathState) -> bool {
        if !self.read_tracked(i, false) {
            return false;
        }
        let Some(path) = self.tracked[i].path.take() else {
            return true;
        };
        let name = path.display().to_string();
        let what = match state {
            PathState::Replaced => {
                "rotated: the old file is read to its end, the new one from its start"
            }
            _ => "deleted or moved away: read to its end; waiting for it to come back",
        };
        if !self.notice(&name, what) {
            return false;
        }
        if state == PathState::Replaced {
            return self.start_tracking(&path, 0, 1);
        }
        self.missing.push(path);
        true
    }

    /// Follows a new line file from `offset`, as a new input.
    fn start_tracking(&mut self, path: &Path, offset: u64, line: u64) -> bool {
        let index = self.next_index();
        let name = self.generation_name(path);
        match Tracked::open(index, name, path, offset, line) {
            Ok(t) => {
                if !self.adopt(t, true) {
                    return false;
                }
                let last = self.tracked.len() - 1;
                self.read_tracked(last, false)
            }
            Err(e) => self.notice(&path.display().to_string(), format!("cannot follow: {e}")),
        }
    }

    /// Starts reading a tracked file: says where its records can be read again (and, for a
    /// new input, that it exists).
    fn adopt(&mut self, t: Tracked, added: bool) -> bool {
        if added
            && !self.send(IngestMsg::InputAdded {
                input: t.input,
                name: t.name.clone(),
            })
        {
            return false;
        }
        let origin = IngestMsg::InputOrigin {
            name: t.name.clone(),
            origin: t.origin(),
        };
        if !self.send(origin) {
            return false;
        }
        self.tracked.push(t);
        true
    }

    /// A name for a new input read from `path`: the path, or, when an earlier input had it
    /// (the file before a rotation or a truncation), the path and a generation number.
    fn generation_name(&mut self, path: &Path) -> String {
        let base = path.display().to_string();
        let mut name = base.clone();
        let mut generation = 1;
        while self.names.contains(&name) {
            generation += 1;
            name = format!("{base} ({generation})");
        }
        self.names.insert(name.clone());
        name
    }

    fn next_index(&mut self) -> usize {
        self.next_input += 1;
        self.next_input - 1
    }

    /// Parses and sends the complete lines added to tracked file `i`, then its position.
    fn read_tracked(&mut self, i: usize, flush: bool) -> bool {
        let read = self.tracked[i].read_new(flush);
        let (chunks, rejections) = match read {
            Ok(r) => r,
            Err(e) => {
                let name = self.tracked[i].name.clone();
                return self.notice(&name, format!("read error: {e}"));
            }
        };
        if chunks.is_empty() && rejections.is_empty() {
            return true;
        }
        let input = self.tracked[i].input;
        for rejection in rejections {
            if !self.send(IngestMsg::RecordRejected { input, rejection }) {
                return false;
            }
        }
        for chunk in chunks {
            let t = &mut self.tracked[i];
            let forced = self.load.forced;
            let context =
                Arc::clone(t.context.get_or_insert_with(|| {
                    Arc::new(InputContext::detect(&t.name, &chunk, forced))
                }));
            let parsed = parse::parse_chunk(
                &chunk,
                &context,
                &self.load.classifier,
                &mut self.cache,
                &mut self.countries,
            );
            for msg in chunk_messages(input, &context, &chunk, parsed) {
                if !self.send(msg) {
                    return false;
                }
            }
        }
        let position = self.tracked[i].position();
        self.send(IngestMsg::Position(position))
    }

    /// Looks through the watched directories for files not read yet.
    fn scan(&mut self) -> bool {
        let mut found = Vec::new();
        for dir in &self.dirs {
            if !dir.is_dir() {
                if !self.missing.contains(dir) {
                    self.missing.push(dir.clone());
                    let name = dir.display().to_string();
                    if !self.notice(&name, "directory deleted; waiting for it to come back") {
                        return false;
                    }
                }
                continue;
            }
            let walker = walkdir::WalkDir::new(dir)
                .follow_links(true)
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                });
            for entry in walker.flatten() {
                if entry.file_type().is_file() {
                    found.push(entry.into_path());
                }
            }
        }
        self.missing
            .retain(|p| !(p.is_dir() && self.dirs.contains(p)));
        for path in found {
            if self.candidates.contains_key(&path) || self.is_known(&path) {
                continue;
            }
            self.candidates.insert(
                path,
                Candidate {
                    len: u64::MAX,
                    changed: Instant::now(),
                    noticed: false,
                },
            );
        }
        true
    }

    /// Whether `path` is a file already read or being read (by identity, not name).
    fn is_known(&mut self, path: &Path) -> bool {
        let Ok(meta) = std::fs::metadata(path) else {
            return true;
        };
        let key = (meta.dev(), meta.ino());
        if self.tracked.iter().any(|t| (t.id.dev, t.id.inode) == key) {
            return true;
        }
        let Some(loaded) = self.loaded.get_mut(&key) else {
            return false;
        };
        if loaded.path.as_path() == path && loaded.len == meta.len() || loaded.noticed {
            return true;
        }
        // The inode may have been reused by a new file: compare the first bytes.
        let same = File::open(path)
            .ok()
            .and_then(|f| FileId::of(&f, &meta).ok())
            .is_some_and(|id| id.head_hash == loaded.head_hash);
        if same && !loaded.noticed {
            loaded.noticed = true;
            let name = path.display().to_string();
            let _ = self.notice(&name, "changed after it was loaded; not read again");
        }
        same
    }

    /// Reads new files once they can be: line files at once, whole files once complete.
    fn check_candidates(&mut self) -> bool {
        let paths: Vec<PathBuf> = self.candidates.keys().cloned().collect();
        for path in paths {
            let Ok(meta) = std::fs::metadata(&path) else {
                self.candidates.remove(&path);
                continue;
            };
            // Followed since it was found: a rotation's new file that the scan saw before the
            // followed file's check noticed the rotation. Following it twice read its lines
            // under two inputs, and the second one's were read before the first one noticed a
            // truncation (whose records then read back from the cut file).
            let key = (meta.dev(), meta.ino());
            if self.tracked.iter().any(|t| (t.id.dev, t.id.inode) == key) {
                self.candidates.remove(&path);
                continue;
            }
            let Some(c) = self.candidates.get_mut(&path) else {
                continue;
            };
            if meta.len() != c.len {
                c.len = meta.len();
                c.changed = Instant::now();
            }
            let settled = c.changed.elapsed() >= self.options.settle;
            if meta.len() == 0 {
                continue;
            }
            let Ok(file) = File::open(&path) else {
                continue;
            };
            let ready = match classify(&file, 0, meta.len()) {
                Kind::Lines => Ready::Lines(self.copy_offset(&file)),
                Kind::Whole if settled => match complete(&file, meta.len()) {
                    Completeness::Complete => Ready::Whole,
                    Completeness::Incomplete => Ready::NotYet,
                },
                Kind::Unknown if settled => Ready::Whole,
                _ => Ready::NotYet,
            };
            match ready {
                Ready::NotYet => {
                    let c = self.candidates.get_mut(&path);
                    if let Some(c) = c
                        && settled
                        && !c.noticed
                        && c.changed.elapsed() >= INCOMPLETE_NOTICE
                    {
                        c.noticed = true;
                        let name = path.display().to_string();
                        if !self.notice(&name, "still incomplete (being written?); will retry") {
                            return false;
                        }
                    }
                }
                Ready::Lines((offset, line)) => {
                    self.candidates.remove(&path);
                    if !self.start_tracking(&path, offset, line) {
                        return false;
                    }
                }
                Ready::Whole => {
                    self.candidates.remove(&path);
                    if !self.load_whole(&path) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// A new line file that begins like a followed file is logrotate's copy of it
    /// (copytruncate): read from where the followed file was, not again from the start.
    fn copy_offset(&self, file: &File) -> (u64, u64) {
        for t in &self.tracked {
            if usize::try_from(t.id.head_len).is_ok_and(|n| n == FileId::HEAD)
                && t.id.same_head(file).unwrap_or(false)
            {
                return (t.offset, t.line);
            }
        }
        (0, 1)
    }

    /// Loads a complete new file as a new input.
    fn load_whole(&mut self, path: &Path) -> bool {
        let index = self.next_index();
        let name = self.generation_name(path);
        if !self.send(IngestMsg::InputAdded {
            input: index,
            name: name.clone(),
        }) {
            return false;
        }
        let input = Input {
            name,
            kind: InputKind::File(path.to_path_buf()),
        };
        if !self.load_run(vec![input], index) {
            return false;
        }
        match self.remember_loaded(path) {
            Some(position) => self.send(IngestMsg::Position(FilePosition {
                input: index,
                ..position
            })),
            None => true,
        }
    }

    /// Files named on the command line that went away and came back are followed again.
    fn check_named_files(&mut self) -> bool {
        let mut back = Vec::new();
        self.missing.retain(|p| {
            let here = p.is_file();
            if here {
                back.push(p.clone());
            }
            !here
        });
        for path in back {
            if self.dirs.iter().any(|d| path.starts_with(d)) {
                continue; // a directory scan finds it
            }
            let name = path.display().to_string();
            if !self.notice(&name, "came back: reading it from its start")
                || !self.start_tracking(&path, 0, 1)
            {
                return false;
            }
        }
        for path in self.files.clone() {
            let followed = self
                .tracked
                .iter()
                .any(|t| t.path.as_deref() == Some(&path));
            if followed || self.missing.contains(&path) || !path.is_file() || self.is_known(&path) {
                continue;
            }
            // Named, but not a line file when we started (empty, or not there yet).
            self.candidates.entry(path).or_insert(Candidate {
                len: u64::MAX,
                changed: Instant::now(),
                noticed: false,
            });
        }
        true
    }
}

/// What a new file is ready for.
enum Ready {
    NotYet,
    /// Follow line by line from (offset, line).
    Lines((u64, u64)),
    Whole,
}
