//! The frame store: the normalized events of everything loaded, in time order, with the
//! accounting that proves nothing was lost (seen = loaded + duplicates + rejected) and the
//! way back to each event's original record.

mod commit;
mod fingerprints;
mod shared_strings;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::ops::Range;
use std::sync::Arc;

use polars::prelude::*;

use crate::identity::{Identities, IdentityLinks};
use crate::kept_records::KeptRecords;
use crate::load::follow::{Follow, FollowOptions};
use crate::load::non_event::NonEvent;
use crate::load::pipeline::{Batch, Ingest, IngestMsg, InputReport, LoadOptions, Notice, Progress};
use crate::load::source::{self, Input, Origin};
use crate::schema::{self, ID_HASH, IdentityHasher, RAW_LEN, RAW_OFFSET, SOURCE};
use crate::{Error, Rejection, Result};

use commit::Pending;
pub use commit::{CommitFailed, CommitWork, Committed};
use fingerprints::Fingerprints;

/// How many rejection reasons are kept per input (all are counted).
pub const REJECTIONS_KEPT: usize = 5;
/// How many notices about followed inputs are kept (all are counted).
pub const NOTICES_KEPT: usize = 50;

/// What happened to one input.
#[derive(Debug, Clone, Default)]
pub struct InputStats {
    /// The input's name.
    pub name: String,
    /// Container shape (`ndjson`, `json`, `csv`, ...), with the export shape recognized
    /// (`json: cloudtrail-lookup-events`).
    pub shape: String,
    /// Detected format.
    pub format: Option<&'static str>,
    /// Envelope around records.
    pub envelope: Option<&'static str>,
    /// Events added to the frame.
    pub events: u64,
    /// Events already loaded from somewhere else (not added), and stages of a request whose
    /// more complete stage is the event (`stage_duplicates`).
    pub duplicates: u64,
    /// Of the duplicates: records of a request logged in stages (Kubernetes
    /// `RequestReceived` before its `ResponseComplete`) that another stage's record stands for.
    pub stage_duplicates: u64,
    /// Records that could not be loaded.
    pub rejected: u64,
    /// The first rejections, with their positions.
    pub rejections: Vec<Rejection>,
    /// Objects skipped because they hold no events (CloudTrail digests), by kind. They are
    /// not records: [`InputStats::seen`] leaves them out.
    pub skipped: BTreeMap<NonEvent, u64>,
    /// Whether the input was read to its end.
    pub finished: bool,
}

impl InputStats {
    /// Records seen: loaded + duplicates + rejected.
    pub fn seen(&self) -> u64 {
        self.events + self.duplicates + self.rejected
    }
}

/// What a commit changed in the frame, so that views and detections can update only what
/// they must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreChange {
    /// Counts the commits that changed the frame; equal generations mean equal frames.
    pub generation: u64,
    /// The rows added at the end when every row before them stayed where it was (the new
    /// events are no earlier than the old ones; empty when nothing changed); `None` when the
    /// frame was re-sorted, so any row may have moved.
    pub appended: Option<Range<usize>>,
}

/// All loaded events and how they got there.
pub struct FrameStore {
    frame: DataFrame,
    generation: u64,
    pending: Pending,
    seen: Fingerprints,
    inputs: Vec<InputStats>,
    origins: HashMap<String, Origin>,
    progress: Progress,
    finished: bool,
    notices: Vec<Notice>,
    notice_count: u64,
    /// Per request logged in stages, the stage kept as its event.
    stages: HashMap<u64, KeptStage, BuildHasherDefault<IdentityHasher>>,
    /// Rows (`id_hash`, `raw_offset`) a more complete stage replaced, dropped at the commit.
    superseded: HashSet<(u64, u64)>,
    /// The configured identity links the resolver was built with.
    identity_links: IdentityLinks,
    /// Who is behind each actor, resolved as events arrive.
    identities: Identities,
    /// The identity column of committed rows is out of date (the links changed).
    relabel: bool,
    /// Where the original records are when the inputs cannot give them back (a lake).
    records: Option<Arc<dyn RecordSource>>,
    /// A commit began ([`FrameStore::begin_commit`]) and has not finished.
    committing: bool,
    /// The next commit merges the chunks the load left (the load just finished).
    rechunk_next: bool,
    /// The few original records an analysis reads again, kept as they were loaded.
    kept: KeptRecords,
}

/// Original records kept somewhere other than the inputs (a lake's `raw` column), read by
/// the locator each row holds in `raw_offset`.
pub trait RecordSource: std::fmt::Debug + Send + Sync {
    /// The record a row's locator names.
    fn read(&self, locator: u64) -> Result<Vec<u8>>;
}

/// The stage of a request that stands for it in the frame.
#[derive(Debug, Clone, Copy)]
struct KeptStage {
    completeness: u8,
    input: usize,
    id_hash: u64,
    raw_offset: u64,
}

impl Default for FrameStore {
    fn default() -> Self {
        FrameStore::new()
    }
}

impl FrameStore {
    /// An empty store.
    pub fn new() -> Self {
        FrameStore {
            frame: schema::empty_frame(),
            generation: 0,
            pending: Pending::default(),
            seen: Fingerprints::default(),
            inputs: Vec::new(),
            origins: HashMap::new(),
            progress: Progress::default(),
            finished: false,
            notices: Vec::new(),
            notice_count: 0,
            stages: HashMap::default(),
            superseded: HashSet::new(),
            identity_links: IdentityLinks::new(),
            identities: Identities::default(),
            relabel: false,
            records: None,
            committing: false,
            rechunk_next: false,
            kept: KeptRecords::default(),
        }
    }

    /// Loads inputs to the end on the calling thread (headless commands).
    pub fn load(inputs: Vec<Input>, options: LoadOptions) -> Result<FrameStore> {
        let mut store = FrameStore::new();
        store.load_more(inputs, options)?;
        Ok(store)
    }

    /// Loads more inputs into this store to the end, on the calling thread; events already
    /// loaded are counted as duplicates.
    pub fn load_more(&mut self, inputs: Vec<Input>, options: LoadOptions) -> Result<()> {
        let ingest = self.start_load(inputs, options);
        for msg in ingest.receiver.iter() {
            let done = matches!(msg, IngestMsg::LoadFinished);
            self.apply(msg)?;
            if done {
                break;
            }
        }
        ingest.wait_idle();
        self.commit().map(drop)
    }

    /// Starts loading inputs in the background; apply the messages with [`FrameStore::apply`].
    pub fn start_load(&mut self, inputs: Vec<Input>, mut options: LoadOptions) -> Ingest {
        self.set_identity_links(&options.identity_links);
        options.first_input = self.register(&inputs);
        Ingest::start(inputs, options)
    }

    /// Starts loading inputs and then following `paths` in the background (inputs that
    /// appear later get the next indices); apply the messages with [`FrameStore::apply`].
    pub fn start_follow(
        &mut self,
        paths: Vec<String>,
        inputs: Vec<Input>,
        mut options: LoadOptions,
        follow: FollowOptions,
    ) -> Follow {
        self.set_identity_links(&options.identity_links);
        options.first_input = self.register(&inputs);
        Follow::start(paths, inputs, options, follow)
    }

    /// Resolves identities with these configured links from now on; when they differ from
    /// the links in use, every row's identity is resolved again at the next commit.
    pub fn set_identity_links(&mut self, links: &IdentityLinks) {
        if *links != self.identity_links {
            self.identity_links = links.clone();
            self.identities = Identities::new(links);
            self.relabel = true;
        }
    }

    /// Who is behind each actor: identities, their links and the evidence.
    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// Adds inputs about to be loaded; returns the index of the first.
    fn register(&mut self, inputs: &[Input]) -> usize {
        let first = self.inputs.len();
        for input in inputs {
            self.inputs.push(InputStats {
                name: input.name.clone(),
                shape: "pending".into(),
                ..Default::default()
            });
        }
        self.finished = false;
        first
    }

    /// Counts problems found before loading (missing paths, bad globs) as rejected inputs.
    pub fn add_problems(&mut self, problems: Vec<Rejection>) {
        for rejection in problems {
            self.inputs.push(InputStats {
                name: rejection.location.path.clone(),
                shape: "unreadable".into(),
                rejected: 1,
                rejections: vec![rejection],
                finished: true,
                ..Default::default()
            });
        }
    }

    /// Applies one message from ingest.
    pub fn apply(&mut self, msg: IngestMsg) -> Result<()> {
        match msg {
            IngestMsg::BatchLoaded(batch) => {
                self.append(batch)?;
            }
            IngestMsg::RecordRejected { input, rejection } => {
                let stats = self.input_mut(input);
                stats.rejected += 1;
                if stats.rejections.len() < REJECTIONS_KEPT {
                    stats.rejections.push(rejection);
                }
            }
            IngestMsg::RecordSkipped { input, what } => {
                *self.input_mut(input).skipped.entry(what).or_default() += 1;
            }
            IngestMsg::InputFinished(report) => self.finish_input(report),
            IngestMsg::ProgressMade(progress) => self.progress = progress,
            IngestMsg::LoadFinished => {
                self.mark_finished();
                self.commit()?;
            }
            IngestMsg::InputAdded { input, name } => {
                let stats = self.input_mut(input);
                stats.name = name;
                stats.shape = "following".into();
            }
            IngestMsg::InputNotice(notice) => {
                self.notice_count += 1;
                if self.notices.len() == NOTICES_KEPT {
                    self.notices.remove(0);
                }
                self.notices.push(notice);
            }
            IngestMsg::Position(_) => {}
            IngestMsg::InputOrigin { name, origin } => match origin {
                Some(origin) => {
                    self.origins.insert(name, origin);
                }
                None => {
                    self.origins.remove(&name);
                }
            },
        }
        Ok(())
    }

    /// The latest notices about followed inputs (at most [`NOTICES_KEPT`]), oldest first, and
    /// how many there were in all.
    pub fn notices(&self) -> (&[Notice], u64) {
        (&self.notices, self.notice_count)
    }

    fn input_mut(&mut self, input: usize) -> &mut InputStats {
        if self.inputs.len() <= input {
            self.inputs.resize_with(input + 1, InputStats::default);
        }
        &mut self.inputs[input]
    }

    fn finish_input(&mut self, report: InputReport) {
        if let Some(origin) = &report.origin {
            self.origins.insert(report.name.clone(), origin.clone());
        }
        let stats = self.input_mut(report.input);
        stats.name = report.name;
        stats.shape = report.shape;
        stats.format = report.format;
        stats.envelope = report.envelope;
        stats.finished = true;
    }

    /// Adds a batch, dropping events already loaded; returns how many rows were added. The
    /// rows wait for the next [`FrameStore::commit`], which says where they went.
    pub fn append(&mut self, batch: Batch) -> Result<usize> {
        self.append_new(batch).map(|added| added.height())
    }

    /// Adds a batch like [`FrameStore::append`] and returns the events it added (the batch
    /// without the events already loaded), for a consumer that shows new events as they come.
    pub fn append_new(&mut self, batch: Batch) -> Result<DataFrame> {
        let mut keep = Vec::with_capacity(batch.fingerprints.len());
        let mut duplicates = 0u64;
        for fp in &batch.fingerprints {
            let new = self.seen.insert(*fp);
            duplicates += u64::from(!new);
            keep.push(new);
        }
        let stage_duplicates = self.keep_most_complete_stages(&batch, &mut keep)?;
        duplicates += stage_duplicates;
        self.kept.keep(&batch.frame, &keep, batch.kept, |bytes| {
            let unwrapped = match crate::load::sniff::shown_record(&bytes) {
                std::borrow::Cow::Owned(record) => Some(record),
                std::borrow::Cow::Borrowed(_) => None,
            };
            unwrapped.unwrap_or(bytes)
        });
        let added = batch.fingerprints.len() - duplicates as usize;
        let stats = self.input_mut(batch.input);
        stats.events += added as u64;
        stats.duplicates += duplicates;
        stats.stage_duplicates += stage_duplicates;
        let mut frame = if duplicates == 0 {
            batch.frame
        } else {
            let mask = BooleanChunked::from_slice(PlSmallStr::EMPTY, &keep);
            batch
                .frame
                .filter(&mask)
                .map_err(Error::polars("dropping duplicate events"))?
        };
        debug_assert_eq!(frame.height(), added);
        if frame.height() > 0 {
            let identity = self.identities.label(&frame)?;
            frame
                .with_column(identity)
                .map_err(Error::polars("resolving identities"))?;
            self.pending.push(frame.clone())?;
        }
        Ok(frame)
    }

    /// Of the batch's stages of requests, keeps a row only when no more complete stage of its
    /// request is loaded; a row that betters an earlier stage marks that one for removal at
    /// the commit (moving its count from events to stage duplicates). Returns how many of
    /// the batch's rows were stage duplicates.
    fn keep_most_complete_stages(&mut self, batch: &Batch, keep: &mut [bool]) -> Result<u64> {
        if batch.staged.is_empty() {
            return Ok(0);
        }
        let locator = |name: &str| {
            batch
                .frame
                .column(name)
                .and_then(|c| c.u64().cloned())
                .map_err(Error::polars("reading the stage locator"))
        };
        let (ids, offsets) = (locator(ID_HASH)?, locator(RAW_OFFSET)?);
        let mut stage_duplicates = 0;
        // Rows of this batch kept so far, by request: bettered here, they are simply not kept.
        let mut in_batch: HashMap<u64, usize> = HashMap::new();
        for staged in &batch.staged {
            let row = staged.row as usize;
            if !keep.get(row).copied().unwrap_or(false) {
                continue; // an exact duplicate, already counted
            }
            let this = KeptStage {
                completeness: staged.completeness,
                input: batch.input,
                id_hash: ids.get(row).unwrap_or(0),
                raw_offset: offsets.get(row).unwrap_or(0),
            };
            match self.stages.get(&staged.request).copied() {
                Some(kept) if kept.completeness > this.completeness => {
                    keep[row] = false;
                    stage_duplicates += 1;
                    continue;
                }
                // The same stage twice with different content is no stage of the request
                // but an altered copy: both stay, for the integrity rule to compare.
                Some(kept) if kept.completeness == this.completeness => continue,
                Some(kept) => match in_batch.get(&staged.request) {
                    Some(&earlier) => {
                        keep[earlier] = false;
                        stage_duplicates += 1;
                    }
                    None => {
                        self.superseded.insert((kept.id_hash, kept.raw_offset));
                        let stats = self.input_mut(kept.input);
                        stats.events = stats.events.saturating_sub(1);
                        stats.duplicates += 1;
                        stats.stage_duplicates += 1;
                    }
                },
                None => {}
            }
            self.stages.insert(staged.request, this);
            in_batch.insert(staged.request, row);
        }
        Ok(stage_duplicates)
    }

    /// Merges appended batches into the frame, in time order (events without a time last),
    /// and says what changed.
    pub fn commit(&mut self) -> Result<StoreChange> {
        let Some(work) = self.begin_commit() else {
            return Ok(self.unchanged());
        };
        match work.run() {
            Ok(committed) => Ok(self.finish_commit(committed)),
            Err(failed) => Err(self.commit_failed(*failed)),
        }
    }

    /// Takes what the next commit merges (the committed frame's columns are shared, not
    /// copied), so that the merge can run on another thread while batches keep arriving;
    /// `None` when there is nothing to commit. Until [`FrameStore::finish_commit`] (or
    /// [`FrameStore::commit_failed`]) the frame stays as it was and no other commit begins.
    pub fn begin_commit(&mut self) -> Option<CommitWork> {
        if self.committing {
            return None;
        }
        let relabel = std::mem::take(&mut self.relabel) | self.identities.take_relabel();
        // Batches still pending when the load finished land in the frame now: in chunks
        // too, so they are made contiguous with it.
        let rechunk = std::mem::take(&mut self.rechunk_next)
            && (self.frame.max_n_chunks() > 1 || !self.pending.is_empty());
        if self.pending.is_empty() && !relabel && !rechunk {
            return None;
        }
        self.committing = true;
        Some(CommitWork {
            frame: self.frame.clone(),
            parts: self.pending.take().collect(),
            superseded: std::mem::take(&mut self.superseded),
            relabel: relabel.then(|| Box::new(self.identities.clone())),
            rechunk,
            generation: self.generation,
        })
    }

    /// Puts a commit's frame in place and says what changed.
    pub fn finish_commit(&mut self, committed: Committed) -> StoreChange {
        self.committing = false;
        self.frame = committed.frame;
        if committed.changed {
            self.generation = committed.from_generation + 1;
        }
        StoreChange {
            generation: self.generation,
            appended: committed.appended,
        }
    }

    /// A commit that could not be made: its batches wait for the next one, nothing is lost.
    pub fn commit_failed(&mut self, failed: CommitFailed) -> Error {
        self.committing = false;
        self.pending.restore(failed.parts);
        self.superseded.extend(failed.superseded);
        self.relabel |= failed.relabel;
        failed.error
    }

    /// Whether a commit has work: appended batches, identities to label again, or the
    /// loaded frame to make contiguous once the load finished.
    pub fn needs_commit(&self) -> bool {
        !self.pending.is_empty()
            || self.relabel
            || self.identities.wants_relabel()
            || (self.rechunk_next && self.frame.max_n_chunks() > 1)
    }

    /// Whether a commit began and has not finished.
    pub fn is_committing(&self) -> bool {
        self.committing
    }

    /// The load finished: the next commit also merges the small chunks the last batches
    /// left, while nothing arrives yet (queries want few contiguous chunks, and the first
    /// commit of a followed stream would otherwise merge them: 90 ms at a million); the large
    /// chunks made while loading, and what earlier commits showed (the TUI), are not copied
    /// again, so that the load's peak holds no column twice.
    pub fn mark_finished(&mut self) {
        self.finished = true;
        self.rechunk_next = true;
    }

    fn unchanged(&self) -> StoreChange {
        let height = self.frame.height();
        StoreChange {
            generation: self.generation,
            appended: Some(height..height),
        }
    }

    /// A read-only copy of what is committed, for work on another thread (the TUI's report
    /// export): the frame (its columns shared, not copied), the inputs with their counts and
    /// where each was read from. It holds none of the duplicate-detection state, so it is
    /// cheap, and appending to it would not know the events already seen.
    pub fn snapshot(&self) -> FrameStore {
        FrameStore {
            frame: self.frame.clone(),
            generation: self.generation,
            inputs: self.inputs.clone(),
            origins: self.origins.clone(),
            progress: self.progress,
            finished: self.finished,
            notices: self.notices.clone(),
            notice_count: self.notice_count,
            identity_links: self.identity_links.clone(),
            identities: self.identities.clone(),
            records: self.records.clone(),
            kept: self.kept.clone(),
            ..FrameStore::new()
        }
    }

    /// The events, committed (call [`FrameStore::commit`] after appending).
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }

    /// Bytes the index of events already loaded (their fingerprints) holds.
    pub fn duplicate_index_bytes(&self) -> usize {
        self.seen.heap_bytes()
    }

    /// Whether batches were appended since the last commit.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Per-input accounting, in input order.
    pub fn inputs(&self) -> &[InputStats] {
        &self.inputs
    }

    /// The latest progress report.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Whether the load finished.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// How many inputs held objects without events (CloudTrail digests), per kind; the
    /// summary says it once ("skipped 12 CloudTrail digest files").
    pub fn skipped_inputs(&self) -> BTreeMap<NonEvent, u64> {
        let mut inputs = BTreeMap::new();
        for kind in self.inputs.iter().flat_map(|i| i.skipped.keys()) {
            *inputs.entry(*kind).or_default() += 1;
        }
        inputs
    }

    /// Totals over all inputs: (events, duplicates, rejected).
    pub fn totals(&self) -> (u64, u64, u64) {
        self.inputs.iter().fold((0, 0, 0), |(e, d, r), s| {
            (e + s.events, d + s.duplicates, r + s.rejected)
        })
    }

    /// The original bytes of the event at `row` of `frame` (a frame derived from this
    /// store's frame, keeping the `source`, `raw_offset` and `raw_len` columns): the record
    /// itself, taken out of an export tool's wrapper (`lookup-events`, search hits, ...).
    pub fn raw_record(&self, frame: &DataFrame, row: usize) -> Result<Vec<u8>> {
        let get = |name: &str| {
            frame
                .column(name)
                .map_err(Error::polars("reading the record locator"))
        };
        if let Some(records) = &self.records {
            let locator = get(RAW_OFFSET)?
                .get(row)
                .ok()
                .and_then(|v| v.extract::<u64>())
                .unwrap_or(0);
            return records
                .read(locator)
                .map(|bytes| crate::load::sniff::shown_record(&bytes).into_owned());
        }
        let source = get(SOURCE)?
            .get(row)
            .map_err(Error::polars("reading the record locator"))?
            .str_value()
            .to_string();
        let offset = get(RAW_OFFSET)?
            .get(row)
            .ok()
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0);
        let len = get(RAW_LEN)?
            .get(row)
            .ok()
            .and_then(|v| v.extract::<u32>())
            .unwrap_or(0);
        let origin = self
            .origins
            .get(&source)
            .ok_or_else(|| Error::Invalid(format!("{source}: the input is no longer readable")))?;
        let raw = source::read_raw(origin, offset, len);
        raw.map(|bytes| crate::load::sniff::shown_record(&bytes).into_owned())
            .map_err(|e| Error::Io {
                location: crate::Location {
                    path: source,
                    line: None,
                    byte_offset: Some(offset),
                },
                source: e,
            })
    }

    /// From now on, original records are read from `records` by each row's locator
    /// (`raw_offset`), not from the inputs.
    pub fn set_record_source(&mut self, records: Arc<dyn RecordSource>) {
        self.records = Some(records);
    }

    /// Where original records are read when not from the inputs (a lake).
    pub fn record_source(&self) -> Option<&Arc<dyn RecordSource>> {
        self.records.as_ref()
    }

    /// The original records kept at load time, by the `source` and `raw_offset` of their
    /// rows (what [`FrameStore::raw_record`] would read from the inputs).
    pub fn kept_records(&self) -> &KeptRecords {
        &self.kept
    }

    /// How to read an input's bytes again, by its name (the `source` column).
    pub fn origin(&self, name: &str) -> Option<&Origin> {
        self.origins.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::commit::{MAX_CHUNKS, MERGE_FANOUT};
    use super::*;
    use crate::schema::TIME;
    use crate::schema::{Event, EventBatch, RawSpan};

    fn one_event_frame(i: i64) -> DataFrame {
        let mut batch = EventBatch::with_capacity("test", 1);
        let event = Event {
            provider: "aws",
            time: Some(1_700_000_000_000_000 - i),
            ..Event::default()
        };
        let span = RawSpan {
            offset: i as u64,
            len: 1,
            line: i as u64,
        };
        batch.push(&event, b"{}", span, false);
        batch.into_frame().unwrap()
    }

    /// What a full stable sort by time (timeless rows last) makes of `frame`.
    fn stably_sorted_by_time(frame: DataFrame) -> DataFrame {
        frame
            .sort(
                [TIME],
                SortMultipleOptions::default()
                    .with_nulls_last(true)
                    .with_maintain_order(true),
            )
            .unwrap()
    }

    #[test]
    fn late_events_are_sorted_in_as_a_full_stable_sort_would() {
        let mut store = FrameStore::new();
        // 1,000 events in time order (one_event_frame(i) is earlier for larger i).
        for i in (0..1_000).rev() {
            store.pending.push(one_event_frame(i * 10)).unwrap();
        }
        store.commit().unwrap();
        let mut expected = store.frame().clone();
        // Late arrivals: a few near the end, one far back, two tied with old events.
        for i in [15, 42, 5_000, 990, 20, 9_990] {
            store.pending.push(one_event_frame(i)).unwrap();
            expected.vstack_mut_owned(one_event_frame(i)).unwrap();
        }
        let change = store.commit().unwrap();
        assert_eq!(change.appended, None);
        let expected = stably_sorted_by_time(expected);
        assert!(store.frame().equals_missing(&expected));
        assert_eq!(store.frame().height(), 1_006);
    }

    #[test]
    fn the_last_commit_of_a_load_orders_every_column_in_one_chunk() {
        let mut store = FrameStore::new();
        let mut expected = schema::empty_frame();
        // Batches out of time order, some merged while pending, some still waiting.
        for i in 0..(MERGE_FANOUT as i64 + 7) {
            let batch = one_event_frame((i * 37) % 101);
            expected.vstack_mut_owned(batch.clone()).unwrap();
            store.pending.push(batch).unwrap();
        }
        store.mark_finished();
        let change = store.commit().unwrap();
        assert_eq!(change.appended, None, "rows were reordered");
        let expected = stably_sorted_by_time(expected);
        // Every column went through the same order: each row's locator still matches
        // its time (one_event_frame(i) has time base - i and offset i).
        assert!(store.frame().equals_missing(&expected));
        assert_eq!(store.frame().max_n_chunks(), 1);
        assert!(!store.needs_commit());
    }

    #[test]
    fn commits_of_small_appends_keep_few_chunks_and_copy_little() {
        let mut store = FrameStore::new();
        let mut copied = 0usize;
        for i in 0..2_000i64 {
            // Newer events each time, as a followed stream appends them.
            store.pending.push(one_event_frame(-i)).unwrap();
            let before = store.frame().max_n_chunks();
            let change = store.commit().unwrap();
            assert_eq!(change.appended, Some(i as usize..i as usize + 1));
            let after = store.frame().max_n_chunks();
            if after < before + 1 {
                // Merged: the newest chunk holds what was copied.
                let series = store
                    .frame()
                    .column(TIME)
                    .unwrap()
                    .as_materialized_series()
                    .clone();
                copied += series.chunk_lengths().next_back().unwrap();
            }
            assert!(after <= MAX_CHUNKS + 1, "{after} chunks after {i} commits");
        }
        let times = store
            .frame()
            .column(TIME)
            .unwrap()
            .as_materialized_series()
            .to_physical_repr();
        let times: Vec<i64> = times.i64().unwrap().into_no_null_iter().collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(times.len(), 2_000);
        // Merging the whole frame every few commits would copy about 2,000 * 2,000 / 16
        // events; merging the newest like a binary counter, about 2,000 * log2(2,000).
        assert!(copied < 2_000 * 12, "{copied}");
    }

    #[test]
    fn a_failed_commit_leaves_the_frame_and_gives_its_batches_back() {
        let mut store = FrameStore::new();
        store.pending.push(one_event_frame(1)).unwrap();
        store.commit().unwrap();
        let before = store.frame().clone();
        // A batch that cannot be stacked (another schema) makes the merge fail.
        store.pending.push(one_event_frame(2)).unwrap();
        let odd = DataFrame::new(1, vec![Column::new("odd".into(), [1i32])]).unwrap();
        store.pending.push(odd).unwrap();
        let work = store.begin_commit().expect("work");
        assert!(store.begin_commit().is_none(), "one commit at a time");
        let failed = work.run().expect_err("the odd batch fails the merge");
        let error = store.commit_failed(*failed);
        assert!(error.to_string().contains("appending events"), "{error}");
        assert!(!store.is_committing());
        assert!(
            store.frame().equals_missing(&before),
            "the frame is unchanged"
        );
        assert_eq!(store.pending.stack.len(), 2, "both batches wait again");
        assert!(store.needs_commit());
    }

    #[test]
    fn pending_batches_stay_few_and_commit_in_time_order() {
        let mut pending = Pending::default();
        for i in 0..10_000 {
            pending.push(one_event_frame(i)).unwrap();
            // At most MERGE_FANOUT - 1 frames wait per level: 10,000 needs three levels.
            assert!(
                pending.stack.len() < 3 * MERGE_FANOUT,
                "{}",
                pending.stack.len()
            );
        }
        let mut store = FrameStore::new();
        store.pending = pending;
        let change = store.commit().unwrap();
        // Later events came first: the frame was sorted.
        assert_eq!(change.appended, None);
        let frame = store.frame();
        assert_eq!(frame.height(), 10_000);
        let times = frame
            .column(TIME)
            .unwrap()
            .as_materialized_series()
            .to_physical_repr();
        let times: Vec<i64> = times.i64().unwrap().into_no_null_iter().collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(times[0], 1_700_000_000_000_000 - 9_999);
        assert!(frame.max_n_chunks() <= 8);
    }

    #[test]
    fn commits_say_whether_rows_were_only_appended() {
        let mut store = FrameStore::new();
        let batch = |input: usize, times: &[i64]| {
            let mut events = EventBatch::with_capacity("test", times.len());
            for (i, &t) in times.iter().enumerate() {
                let event = Event {
                    provider: "aws",
                    time: Some(1_700_000_000_000_000 + t),
                    ..Event::default()
                };
                let span = RawSpan {
                    offset: (input * 100 + i) as u64,
                    len: 1,
                    line: i as u64,
                };
                events.push(&event, b"{}", span, false);
            }
            let fingerprints = events.fingerprints().to_vec();
            Batch {
                input,
                frame: events.into_frame().unwrap(),
                fingerprints,
                staged: Vec::new(),
                kept: Vec::new(),
            }
        };
        let nothing = store.commit().unwrap();
        assert_eq!(
            nothing,
            StoreChange {
                generation: 0,
                appended: Some(0..0)
            }
        );

        store.append(batch(0, &[1, 2, 3])).unwrap();
        let first = store.commit().unwrap();
        assert_eq!(
            first,
            StoreChange {
                generation: 1,
                appended: Some(0..3)
            }
        );

        // Events later than the last one: appended at the end.
        store.append(batch(1, &[4, 5])).unwrap();
        let later = store.commit().unwrap();
        assert_eq!(
            later,
            StoreChange {
                generation: 2,
                appended: Some(3..5)
            }
        );

        // Nothing pending: same generation, nothing appended.
        let idle = store.commit().unwrap();
        assert_eq!(
            idle,
            StoreChange {
                generation: 2,
                appended: Some(5..5)
            }
        );

        // An earlier event: the frame is re-sorted.
        store.append(batch(2, &[0])).unwrap();
        let resorted = store.commit().unwrap();
        assert_eq!(
            resorted,
            StoreChange {
                generation: 3,
                appended: None
            }
        );
        assert_eq!(store.frame().height(), 6);

        // Only duplicates: nothing to commit.
        store.append(batch(2, &[0])).unwrap();
        let duplicates = store.commit().unwrap();
        assert_eq!(
            duplicates,
            StoreChange {
                generation: 3,
                appended: Some(6..6)
            }
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod stage_tests {
    use super::*;
    use crate::schema::{Event, EventBatch, OUTCOME, Outcome, RawSpan};

    /// A batch of Kubernetes stage records: (audit id, stage completeness, outcome, offset).
    fn stages(input: usize, rows: &[(&str, u8, Outcome, u64)]) -> Batch {
        let mut batch = EventBatch::with_capacity("k8s.log", rows.len());
        for (id, completeness, outcome, offset) in rows {
            let event = Event {
                provider: "kubernetes",
                time: Some(1_700_000_000_000_000 + *offset as i64),
                event_id: Some((*id).into()),
                outcome: *outcome,
                details: Some(format!("stage={completeness}").into()),
                completeness: Some(*completeness),
                ..Event::default()
            };
            let span = RawSpan {
                offset: *offset,
                len: 1,
                line: *offset,
            };
            batch.push(&event, b"{}", span, false);
        }
        Batch {
            input,
            fingerprints: batch.fingerprints().to_vec(),
            staged: batch.staged().to_vec(),
            kept: Vec::new(),
            frame: batch.into_frame().unwrap(),
        }
    }

    fn outcomes(store: &FrameStore) -> Vec<String> {
        let column = store
            .frame()
            .column(OUTCOME)
            .unwrap()
            .cast(&DataType::String);
        let column = column.unwrap();
        column
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn a_request_logged_in_two_stages_is_one_event_whatever_the_batches() {
        let mut store = FrameStore::new();
        // Same batch: RequestReceived then ResponseComplete.
        let added = store
            .append_new(stages(
                0,
                &[
                    ("a", 0, Outcome::Unknown, 0),
                    ("a", 2, Outcome::Success, 10),
                    ("b", 0, Outcome::Unknown, 20),
                ],
            ))
            .unwrap();
        assert_eq!(added.height(), 2, "a's RequestReceived is not added");
        assert_eq!(store.commit().unwrap().appended, Some(0..2));
        // A later batch completes b, whose RequestReceived is already committed: it leaves
        // the frame and the commit says rows moved.
        store
            .append(stages(0, &[("b", 2, Outcome::Failure, 30)]))
            .unwrap();
        assert_eq!(store.commit().unwrap().appended, None);
        assert_eq!(outcomes(&store), ["success", "failure"]);
        // A stage arriving after its more complete one is a duplicate; so is a repeat.
        store
            .append(stages(
                0,
                &[
                    ("a", 0, Outcome::Unknown, 40),
                    ("b", 2, Outcome::Failure, 30),
                ],
            ))
            .unwrap();
        store.commit().unwrap();
        assert_eq!(store.frame().height(), 2);
        let stats = &store.inputs()[0];
        assert_eq!(
            (stats.events, stats.duplicates, stats.stage_duplicates),
            (2, 4, 3)
        );
        assert_eq!(stats.seen(), 6, "every record seen is counted once");
        // The completed stage again with other content is an altered copy, not a stage: kept.
        store
            .append(stages(0, &[("a", 2, Outcome::Failure, 50)]))
            .unwrap();
        store.commit().unwrap();
        assert_eq!(store.frame().height(), 3);
    }
}
