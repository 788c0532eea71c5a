//! The load pipeline: worker threads take inputs, frame them into chunks and parse chunks
//! in parallel (a worker that frames hands chunks to idle workers and parses them itself
//! when they are busy); a collector puts the results back in input order and sends
//! [`IngestMsg`]s on a bounded channel, so a slow consumer slows loading instead of
//! growing memory. This file holds the threads, channels, progress and cancellation; what
//! happens to one chunk is [`parse`](crate::load::parse)'s.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use polars::prelude::DataFrame;

use crate::load::classify::{Classifier, ClassifierCache};
use crate::load::enrich::CountryFill;
use crate::load::framing::{BufferPool, Chunk, Framed, Framer, Records};
use crate::load::non_event::NonEvent;
use crate::load::parse::{self, InputContext, ParsedChunk};
use crate::load::sniff::{self, Envelope};
use crate::load::source::{self, Input, InputKind, Origin};
use crate::providers::Provider;
use crate::schema::StagedRow;
use crate::{Location, Rejection};

/// Stack of each parsing thread. The parsers recurse per nesting level, and records deeper
/// than [`crate::json_scan::MAX_NESTING`] are refused before parsing. Records at that depth need
/// between 512 KiB and 1 MiB (measured: sonic-rs takes 4 to 8 KiB per level); a test parses
/// them with every provider on a quarter of this stack.
pub(crate) const PARSE_STACK: usize = 4 << 20;

/// The most parsing threads a load starts, whatever is asked: beyond the cores there is
/// nothing to gain, and every thread costs its stack.
pub const MAX_LOAD_THREADS: usize = 256;

/// How to load.
#[derive(Clone)]
pub struct LoadOptions {
    /// Parse every input with this provider instead of detecting it.
    pub forced: Option<&'static dyn Provider>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// The privileged-action classification.
    pub classifier: Arc<Classifier>,
    /// Set to stop loading early.
    pub cancel: Arc<AtomicBool>,
    /// Index given to the first input (loads appended to a store continue its numbering).
    pub first_input: usize,
    /// Identifiers the configuration pins to named identities (`[identities]`).
    pub identity_links: Arc<crate::identity::IdentityLinks>,
    /// Compute each file input's SHA-256 while reading it (a report states them).
    pub hash_inputs: bool,
    /// Fill `country` from the bundled address table where a record gives none
    /// (`[enrich] country_lookup`).
    pub country_lookup: bool,
    /// Sees every accepted record while its bytes are at hand (the Sigma rules).
    pub tap: Option<Arc<dyn crate::load::tap::RecordTap>>,
}

impl LoadOptions {
    /// Detection on, one worker per core, the given classification.
    pub fn new(classifier: Arc<Classifier>) -> Self {
        LoadOptions {
            forced: None,
            threads: 0,
            classifier,
            cancel: Arc::new(AtomicBool::new(false)),
            first_input: 0,
            identity_links: Arc::default(),
            hash_inputs: false,
            country_lookup: true,
            tap: None,
        }
    }
}

/// Events parsed from one chunk of an input.
pub struct Batch {
    /// Index of the input in the load.
    pub input: usize,
    /// The events, with the event schema.
    pub frame: DataFrame,
    /// One dedup fingerprint per row.
    pub fingerprints: Vec<u64>,
    /// The rows that are stages of a request logged in stages (empty for most formats).
    pub staged: Vec<StagedRow>,
    /// The original records of the rows an analysis reads again (row of `frame`, bytes; see
    /// [`crate::schema::EventBatch::take_kept`]).
    pub kept: Vec<(u32, Vec<u8>)>,
}

/// What was found out about an input once it was fully read.
#[derive(Debug, Clone)]
pub struct InputReport {
    /// Index of the input in the load.
    pub input: usize,
    /// The input's name.
    pub name: String,
    /// Its container shape (`ndjson`, `json`, `csv`, `unknown`, `empty`, `unreadable`), with
    /// the export shape recognized and separators recovered (`json: cloudtrail-lookup-events`,
    /// see [`crate::load::sniff::shape_label`]).
    pub shape: String,
    /// The detected (or forced) format name.
    pub format: Option<&'static str>,
    /// The envelope around records, if any.
    pub envelope: Option<&'static str>,
    /// How to read its records again; `None` if it could not be opened.
    pub origin: Option<Origin>,
}

/// Load progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes read so far (compressed bytes for gzip).
    pub bytes_read: u64,
    /// Total input bytes, when known.
    pub bytes_total: u64,
    /// Events parsed so far (before de-duplication).
    pub events: u64,
}

/// News from the load, in input order.
pub enum IngestMsg {
    /// Events parsed from a chunk.
    BatchLoaded(Batch),
    /// A record that could not be loaded.
    RecordRejected {
        /// Index of the input.
        input: usize,
        /// Where and why.
        rejection: Rejection,
    },
    /// An object that holds no events (a CloudTrail digest) was skipped: not a record, so
    /// neither loaded nor rejected.
    RecordSkipped {
        /// Index of the input.
        input: usize,
        /// What it was.
        what: NonEvent,
    },
    /// An input was fully read.
    InputFinished(InputReport),
    /// How far loading is.
    ProgressMade(Progress),
    /// Every input was read (or loading was cancelled). In follow mode: everything that
    /// existed at the start was read; news of what arrives later follows.
    LoadFinished,
    /// Follow mode: a new input is being read (a file that appeared, a file recreated after
    /// rotation); its events and rejections come under this index.
    InputAdded {
        /// Index of the input.
        input: usize,
        /// Its name (the path as found).
        name: String,
    },
    /// Follow mode: something happened to an input that a person should know (rotated,
    /// truncated, deleted, unreadable, a gzip still being written). Never fatal.
    InputNotice(Notice),
    /// Follow mode: how far an input has been read; every event before this point was sent
    /// before this message.
    Position(FilePosition),
    /// Follow mode: where the records of the input named `name` can be read again from now
    /// on (`None`: nowhere, its bytes were truncated away).
    InputOrigin {
        /// The input's name (the `source` column).
        name: String,
        /// How to read its records.
        origin: Option<Origin>,
    },
}

/// Something that happened to a followed input, for the status bar and standard error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The input's name.
    pub name: String,
    /// What happened, for a person (`rotated: reading the new file from its start`).
    pub what: String,
}

/// Which file an input is, across renames: the device and inode, and a hash of its first
/// bytes so that a reused inode is not mistaken for the old file (Filebeat's registry and
/// Fluent Bit's database identify files the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub inode: u64,
    /// xxh3 of the first [`FileId::HEAD`] bytes (fewer while the file is shorter).
    pub head_hash: u64,
    /// How many bytes `head_hash` covers.
    pub head_len: u32,
}

impl FileId {
    /// Bytes of a file's start that identify it.
    pub const HEAD: usize = 1024;
}

/// How far one followed input has been read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilePosition {
    /// Index of the input.
    pub input: usize,
    /// The path it was read from.
    pub name: String,
    /// Which file it is; `None` for standard input.
    pub id: Option<FileId>,
    /// Bytes read and sent (in the file; for gzip, the whole file once loaded).
    pub offset: u64,
    /// Line at `offset` (1-based).
    pub line: u64,
    /// Whether the input is complete (a whole file loaded at once, such as a gzip export).
    pub complete: bool,
}

/// A running load.
pub struct Ingest {
    /// The messages, in input order.
    pub receiver: Receiver<IngestMsg>,
    handles: Vec<JoinHandle<()>>,
    cancel: Arc<AtomicBool>,
}

impl Ingest {
    /// Starts loading `inputs` in the background.
    pub fn start(inputs: Vec<Input>, options: LoadOptions) -> Ingest {
        let threads = if options.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            options.threads
        }
        .min(MAX_LOAD_THREADS);
        let bytes_total = inputs
            .iter()
            .map(|i| match &i.kind {
                InputKind::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
                InputKind::FilePart { start, end, .. } => end.saturating_sub(*start),
                InputKind::Stdin => 0,
            })
            .sum();
        let (out_tx, out_rx) = bounded::<IngestMsg>(4);
        let (result_tx, result_rx) = bounded::<Ordered>(threads * 8);
        let (job_tx, job_rx) = bounded::<Job>(threads * 2);
        let shared = Arc::new(Shared {
            inputs: Mutex::new(
                inputs
                    .into_iter()
                    .enumerate()
                    .map(|(i, input)| (options.first_input + i, input))
                    .collect(),
            ),
            framers: AtomicUsize::new(0),
            bytes_read: AtomicU64::new(0),
            pool: Arc::default(),
            options: options.clone(),
        });
        let mut handles = Vec::new();
        for _ in 0..threads {
            let worker = Worker {
                shared: Arc::clone(&shared),
                jobs: job_rx.clone(),
                job_tx: job_tx.clone(),
                results: result_tx.clone(),
                cache: ClassifierCache::default(),
                countries: CountryFill::new(options.country_lookup),
            };
            let spawned = std::thread::Builder::new()
                .name("trailscope-load".into())
                .stack_size(PARSE_STACK)
                .spawn(move || worker.run());
            match spawned {
                Ok(handle) => handles.push(handle),
                // Fewer workers load more slowly; none at all is caught below.
                Err(e) => log::warn!("could not start a load worker: {e}"),
            }
        }
        drop((job_tx, job_rx, result_tx));
        let collector_shared = Arc::clone(&shared);
        handles.push(std::thread::spawn(move || {
            collect(result_rx, out_tx, collector_shared, bytes_total)
        }));
        Ingest {
            receiver: out_rx,
            handles,
            cancel: options.cancel,
        }
    }

    /// Asks the workers to stop; messages already sent stay readable.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Waits until every background thread has ended (after `LoadFinished` was received or
    /// the receiver dropped).
    pub fn wait_idle(self) {
        drop(self.receiver);
        for handle in self.handles {
            let _ = handle.join();
        }
    }
}

struct Shared {
    inputs: Mutex<VecDeque<(usize, Input)>>,
    framers: AtomicUsize,
    bytes_read: AtomicU64,
    /// Chunk buffers, back from parsing, for framing to refill.
    pool: Arc<BufferPool>,
    options: LoadOptions,
}

/// A chunk to parse, with what is known of its input.
struct Job {
    input: usize,
    seq: u64,
    context: Arc<InputContext>,
    chunk: Chunk,
}

/// A result tagged with its place in the input order.
struct Ordered {
    input: usize,
    seq: u64,
    msgs: Vec<IngestMsg>,
    /// Set on an input's last message: the input is complete.
    finishes_input: bool,
}

struct Worker {
    shared: Arc<Shared>,
    jobs: Receiver<Job>,
    job_tx: Sender<Job>,
    results: Sender<Ordered>,
    cache: ClassifierCache,
    countries: CountryFill,
}

impl Worker {
    fn run(mut self) {
        loop {
            if self.shared.options.cancel.load(Ordering::Relaxed) {
                return;
            }
            if let Ok(job) = self.jobs.try_recv() {
                if !self.process(job) {
                    return;
                }
                continue;
            }
            let next = self
                .shared
                .inputs
                .lock()
                .ok()
                .and_then(|mut q| q.pop_front());
            if let Some((index, input)) = next {
                self.shared.framers.fetch_add(1, Ordering::SeqCst);
                let alive = self.frame_input(index, &input);
                self.shared.framers.fetch_sub(1, Ordering::SeqCst);
                if !alive {
                    return;
                }
                continue;
            }
            if self.shared.framers.load(Ordering::SeqCst) == 0 && self.jobs.is_empty() {
                return;
            }
            if let Ok(job) = self.jobs.recv_timeout(Duration::from_millis(5))
                && !self.process(job)
            {
                return;
            }
        }
    }

    /// Sends one rejected record of an input, in order; false when the consumer is gone.
    fn send_rejection(&self, input: usize, seq: u64, rejection: Rejection) -> bool {
        let msgs = vec![IngestMsg::RecordRejected { input, rejection }];
        self.results
            .send(Ordered {
                input,
                seq,
                msgs,
                finishes_input: false,
            })
            .is_ok()
    }

    /// Parses a job and sends its results; false when the consumer is gone.
    fn process(&mut self, job: Job) -> bool {
        let parsed = parse::parse_chunk(
            &job.chunk,
            &job.context,
            &self.shared.options.classifier,
            &mut self.cache,
            &mut self.countries,
        );
        let msgs = messages(&job, parsed);
        self.shared.pool.give(job.chunk.data);
        self.results
            .send(Ordered {
                input: job.input,
                seq: job.seq,
                msgs,
                finishes_input: false,
            })
            .is_ok()
    }

    /// Frames one input, dispatching its chunks; false when the consumer is gone.
    fn frame_input(&mut self, index: usize, input: &Input) -> bool {
        let mut seq = 0u64;
        let mut report = InputReport {
            input: index,
            name: input.name.clone(),
            shape: "unreadable".into(),
            format: None,
            envelope: None,
            origin: None,
        };
        let opened = match source::open_hashing(input, self.shared.options.hash_inputs) {
            Ok(o) => o,
            Err(e) => {
                let rejection = Rejection {
                    location: Location::file(input.name.clone()),
                    reason: format!("cannot read: {e}"),
                };
                let msgs = vec![
                    IngestMsg::RecordRejected {
                        input: index,
                        rejection,
                    },
                    IngestMsg::InputFinished(report),
                ];
                return self
                    .results
                    .send(Ordered {
                        input: index,
                        seq,
                        msgs,
                        finishes_input: true,
                    })
                    .is_ok();
            }
        };
        report.origin = Some(opened.origin.clone());
        let counted = CountingReader {
            inner: opened.reader,
            shared: Arc::clone(&self.shared),
        };
        let pool = Arc::clone(&self.shared.pool);
        let mut framer = Framer::with_pool(&input.name, Box::new(counted), pool)
            .starting_at(opened.start.0, opened.start.1);
        let mut context: Option<Arc<InputContext>> = None;
        while let Some(item) = framer.next_chunk() {
            if self.shared.options.cancel.load(Ordering::Relaxed) {
                break;
            }
            match item {
                Framed::Rejected(rejection) => {
                    if !self.send_rejection(index, seq, rejection) {
                        return false;
                    }
                }
                Framed::Chunk(chunk) => {
                    let context = Arc::clone(context.get_or_insert_with(|| {
                        let mut detected =
                            InputContext::detect(&input.name, &chunk, self.shared.options.forced);
                        detected.tap = self.shared.options.tap.clone();
                        Arc::new(detected)
                    }));
                    if let (Records::Csv(header), None) = (&chunk.records, context.format) {
                        // A text file that merely has commas (notes, Markdown, other CSV):
                        // one rejection for the input, not one per line.
                        let columns: Vec<&str> = header.iter().take(5).collect();
                        let rejection = Rejection {
                            location: Location::at(input.name.clone(), 1, 0),
                            reason: format!(
                                "not an audit log export: CSV-like text whose columns match no known table (columns: {}, ...)",
                                columns.join(", ")
                            ),
                        };
                        if !self.send_rejection(index, seq, rejection) {
                            return false;
                        }
                        seq += 1;
                        break;
                    }
                    let job = Job {
                        input: index,
                        seq,
                        context,
                        chunk,
                    };
                    match self.job_tx.try_send(job) {
                        Ok(()) => {}
                        Err(TrySendError::Full(job)) => {
                            if !self.process(job) {
                                return false;
                            }
                        }
                        Err(TrySendError::Disconnected(_)) => return false,
                    }
                }
            }
            seq += 1;
        }
        let missing = framer.missing_separators();
        report.shape = match (framer.shape(), &context) {
            (Some(shape), Some(context)) => {
                sniff::shape_label(shape, context.envelope, context.dialect, missing)
            }
            (Some(shape), None) => sniff::shape_label(shape, Envelope::None, None, missing),
            (None, _) => "empty".into(),
        };
        if let Some(context) = &context {
            report.format = context.format.map(|p| p.format());
            report.envelope = context.envelope.name();
        }
        let mut msgs = Vec::with_capacity(2);
        if missing > 0 {
            // Said where a person looks (the status bar, standard error), not only counted.
            msgs.push(IngestMsg::InputNotice(Notice {
                name: input.name.clone(),
                what: sniff::missing_separators_notice(missing),
            }));
        }
        msgs.push(IngestMsg::InputFinished(report));
        self.results
            .send(Ordered {
                input: index,
                seq,
                msgs,
                finishes_input: true,
            })
            .is_ok()
    }
}

/// Counts bytes read from an input, for the progress gauge.
struct CountingReader {
    inner: Box<dyn Read + Send>,
    shared: Arc<Shared>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.shared
            .bytes_read
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The messages of a parsed chunk: its events as one batch, then its rejections.
fn messages(job: &Job, parsed: ParsedChunk) -> Vec<IngestMsg> {
    chunk_messages(job.input, &job.context, &job.chunk, parsed)
}

/// The messages of a chunk of input `input` once parsed: its events as one batch, then its
/// rejections and skipped objects.
pub(crate) fn chunk_messages(
    input: usize,
    context: &InputContext,
    chunk: &Chunk,
    parsed: ParsedChunk,
) -> Vec<IngestMsg> {
    let ParsedChunk {
        mut events,
        mut rejections,
        skipped,
    } = parsed;
    let mut msgs = Vec::with_capacity(rejections.len() + skipped.len() + 1);
    if !events.is_empty() {
        let fingerprints = events.fingerprints().to_vec();
        let staged = events.staged().to_vec();
        let kept = events.take_kept();
        match events.into_frame() {
            Ok(frame) => msgs.push(IngestMsg::BatchLoaded(Batch {
                input,
                frame,
                fingerprints,
                staged,
                kept,
            })),
            Err(e) => rejections.push(Rejection {
                location: Location::at(context.name.clone(), chunk.line, chunk.offset),
                reason: format!("internal error building columns: {e}"),
            }),
        }
    }
    msgs.extend(
        rejections
            .into_iter()
            .map(|rejection| IngestMsg::RecordRejected { input, rejection }),
    );
    msgs.extend(
        skipped
            .into_iter()
            .map(|what| IngestMsg::RecordSkipped { input, what }),
    );
    msgs
}

/// Puts results back in input order and forwards them, with progress.
fn collect(
    results: Receiver<Ordered>,
    out: Sender<IngestMsg>,
    shared: Arc<Shared>,
    bytes_total: u64,
) {
    let mut pending: BTreeMap<(usize, u64), Ordered> = BTreeMap::new();
    let (mut next_input, mut next_seq) = (shared.options.first_input, 0u64);
    let mut events = 0u64;
    let mut last_progress = Instant::now();
    let progress = |events: u64| {
        IngestMsg::ProgressMade(Progress {
            bytes_read: shared.bytes_read.load(Ordering::Relaxed),
            bytes_total,
            events,
        })
    };
    for result in results.iter() {
        pending.insert((result.input, result.seq), result);
        while let Some(ready) = pending.remove(&(next_input, next_seq)) {
            if ready.finishes_input {
                next_input += 1;
                next_seq = 0;
            } else {
                next_seq += 1;
            }
            for msg in ready.msgs {
                if let IngestMsg::BatchLoaded(b) = &msg {
                    events += b.fingerprints.len() as u64;
                }
                if out.send(msg).is_err() {
                    shared.options.cancel.store(true, Ordering::Relaxed);
                    return;
                }
            }
            if last_progress.elapsed() >= Duration::from_millis(100) {
                last_progress = Instant::now();
                if out.send(progress(events)).is_err() {
                    return;
                }
            }
        }
    }
    let _ = out.send(progress(events));
    let _ = out.send(IngestMsg::LoadFinished);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_scan::MAX_NESTING;

    /// Records as deep as the loader lets through, in the shapes every parser reads.
    fn deepest_records() -> Vec<Vec<u8>> {
        let depth = MAX_NESTING - 1;
        let objects = r#"{"a":"#.repeat(depth) + "1" + &"}".repeat(depth);
        let arrays = "[".repeat(depth) + &"]".repeat(depth);
        let mut records = vec![format!(r#"{{"x":{objects}}}"#).into_bytes()];
        for key in [
            "requestParameters",
            "protoPayload",
            "requestObject",
            "properties",
            "debugContext",
            "data",
            "initiatedBy",
        ] {
            records.push(
                format!(
                    r#"{{"eventVersion":"1.09","eventTime":"2024-03-04T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","{key}":{arrays},"kind":"Event","apiVersion":"audit.k8s.io/v1","published":"2024-03-04T10:00:00Z","eventType":"user.session.start","@timestamp":1717948800000,"action":"repo.create","operationName":"x","category":"Administrative","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","activityDateTime":"2024-03-04T10:00:00Z"}}"#
                )
                .into_bytes(),
            );
        }
        records
    }

    #[test]
    fn the_deepest_records_allowed_parse_on_a_quarter_of_the_parse_stack() {
        // Every provider and detection on records at the nesting limit, on a stack 4 times
        // smaller than the loader's: the loader's stack has a wide margin.
        let worker = std::thread::Builder::new()
            .stack_size(PARSE_STACK / 4)
            .spawn(|| {
                for record in deepest_records() {
                    assert!(crate::json_scan::too_deep(&record).is_none());
                    let _ = crate::load::sniff::detect_json(&record);
                    let _ = crate::load::sniff::detect_envelope(&record);
                    for provider in crate::providers::registry() {
                        let _ = provider.parse_json(&record);
                    }
                }
            })
            .unwrap();
        worker.join().unwrap();
    }
}
