//! The parse stage: one chunk of an input's records through its provider's parser into an
//! [`EventBatch`] and [`Rejection`]s. Each record is unwrapped from its envelope, parsed by
//! the input's provider (or recognized on its own when that provider refuses it), checked
//! (nesting depth, time range, a time or an actor) and classified.

use crate::load::classify::{Classifier, ClassifierCache};
use crate::load::enrich::CountryFill;
use crate::load::framing::{Chunk, Records};
use crate::load::non_event::NonEvent;
use crate::load::sniff::{self, Envelope, Undetected};
use crate::load::tap::{RecordTap, TappedRecord};
use crate::providers::{Provider, RecordError};
use crate::schema::{Event, EventBatch, RawSpan};
use crate::{Location, Rejection};
use std::sync::Arc;

/// Per-input facts every chunk of the input needs.
pub struct InputContext {
    /// The input's name, for rejection locations and the `source` column.
    pub name: String,
    /// The input's provider, detected or forced.
    pub format: Option<&'static dyn Provider>,
    /// Whether the provider was forced (`--input-format`): records are never re-detected.
    pub forced: bool,
    /// The envelope around the input's records.
    pub envelope: Envelope,
    /// The provider's variant of the record shape, when it names one (`azure-sdk`).
    pub dialect: Option<&'static str>,
    /// Sees each accepted record (none unless the load options give one).
    pub tap: Option<Arc<dyn RecordTap>>,
}

impl InputContext {
    /// Recognizes an input's format from the first records of its first chunk.
    pub fn detect(name: &str, chunk: &Chunk, forced: Option<&'static dyn Provider>) -> Self {
        let format = match &chunk.records {
            Records::Csv(header) => sniff::InputFormat {
                provider: forced.or_else(|| sniff::detect_table(header)),
                envelope: Envelope::None,
                dialect: None,
            },
            _ => sniff::detect_records(chunk.json_records().map(|(_, record, _)| record), forced),
        };
        InputContext {
            name: name.to_string(),
            format: format.provider,
            forced: forced.is_some(),
            envelope: format.envelope,
            dialect: format.dialect,
            tap: None,
        }
    }
}

/// What a chunk's records became.
pub struct ParsedChunk {
    /// The events, in record order.
    pub events: EventBatch,
    /// The records that could not be loaded, in record order.
    pub rejections: Vec<Rejection>,
    /// Objects that hold no events (CloudTrail digests), skipped: neither events nor
    /// rejections.
    pub skipped: Vec<NonEvent>,
}

/// Parses every record of a chunk into events and rejections, and fills in the countries
/// the records do not give.
pub fn parse_chunk(
    chunk: &Chunk,
    context: &InputContext,
    classifier: &Classifier,
    cache: &mut ClassifierCache,
    countries: &mut CountryFill,
) -> ParsedChunk {
    let estimate = match &chunk.records {
        Records::Spans(s) => s.len(),
        _ => chunk.data.len() / 800 + 1,
    };
    let mut events = EventBatch::with_capacity(&context.name, estimate);
    let mut rejections = Vec::new();
    let mut skipped = Vec::new();
    let mut sink = RecordSink {
        batch: &mut events,
        classifier,
        cache,
        rejections: &mut rejections,
        skipped: &mut skipped,
        context,
        table_rows: matches!(chunk.records, Records::Csv(_)),
    };
    match &chunk.records {
        Records::Csv(header) => parse_csv(chunk, header, &mut sink),
        _ => {
            for (at, record, line) in chunk.json_records() {
                let span = RawSpan {
                    offset: chunk.offset + at as u64,
                    len: record.len() as u32,
                    line,
                };
                sink.json_record(record, span);
            }
        }
    }
    countries.apply(&mut events);
    ParsedChunk {
        events,
        rejections,
        skipped,
    }
}

fn parse_csv(chunk: &Chunk, header: &csv::StringRecord, sink: &mut RecordSink<'_>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&chunk.data[..]);
    let mut row = csv::StringRecord::new();
    loop {
        let position = reader.position().clone();
        let span = RawSpan {
            offset: chunk.offset + position.byte(),
            len: 0,
            line: chunk.line + position.line().saturating_sub(1),
        };
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let end = reader.position().byte();
                let len = (end - position.byte()) as u32;
                let raw_start = position.byte() as usize;
                let raw = chunk.data.get(raw_start..end as usize).unwrap_or(&[]);
                let span = RawSpan {
                    len: trim_ascii_end_len(raw, len),
                    ..span
                };
                if row.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                sink.table_row(header, &row, raw, span);
            }
            Err(e) => {
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "CSV row is not valid UTF-8".to_string(),
                    _ => format!("invalid CSV row: {e}"),
                };
                sink.reject(span, reason);
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    break;
                }
            }
        }
    }
}

fn trim_ascii_end_len(raw: &[u8], len: u32) -> u32 {
    let trimmed = raw.trim_ascii_end().len() as u32;
    trimmed.min(len)
}

/// Where parsed records go.
struct RecordSink<'s> {
    batch: &'s mut EventBatch,
    classifier: &'s Classifier,
    cache: &'s mut ClassifierCache,
    rejections: &'s mut Vec<Rejection>,
    skipped: &'s mut Vec<NonEvent>,
    context: &'s InputContext,
    /// Whether the records are CSV rows.
    table_rows: bool,
}

impl RecordSink<'_> {
    fn reject(&mut self, span: RawSpan, reason: String) {
        self.rejections.push(Rejection {
            location: Location::at(self.context.name.clone(), span.line, span.offset),
            reason,
        });
    }

    /// Rejects a JSON record, unless it is an object that holds no events (a CloudTrail
    /// digest met where a format was forced or expected): that one is skipped.
    fn refuse(&mut self, raw: &[u8], span: RawSpan, reason: String) {
        match NonEvent::of_record(raw) {
            Some(kind) => self.skipped.push(kind),
            None => self.reject(span, reason),
        }
    }

    fn accept(
        &mut self,
        mut event: Event<'_>,
        envelope_time: Option<i64>,
        (raw, bare): (&[u8], &[u8]),
        span: RawSpan,
    ) {
        if event.time.is_none() {
            event.time = envelope_time;
        }
        if let Some(time) = event.time
            && !crate::schema::TIME_RANGE.contains(&time)
        {
            let reason = format!(
                "{} record's time {} is outside the supported range {}",
                event.provider,
                crate::text::format_time_utc(time),
                crate::schema::TIME_RANGE_TEXT
            );
            self.reject(span, reason);
            return;
        }
        if event.time.is_none() && event.actor.is_none() {
            let reason = format!(
                "{} record has neither a timestamp nor an actor",
                event.provider
            );
            self.reject(span, reason);
            return;
        }
        let privileged = self.cache.is_privileged(
            self.classifier,
            event.provider,
            event.service.as_deref(),
            event.action.as_deref(),
        );
        self.batch.push(&event, raw, span, privileged);
        if let Some(tap) = &self.context.tap {
            let ids = self.batch.last_ids();
            tap.record(&TappedRecord {
                source: ids.source,
                offset: span.offset,
                provider: ids.provider,
                log_type: ids.log_type,
                action: ids.action,
                raw,
                bare,
                table_row: self.table_rows,
            });
        }
    }

    /// Parses a record as `provider` inside `envelope`.
    fn try_parse(
        &mut self,
        provider: &'static dyn Provider,
        envelope: Envelope,
        raw: &[u8],
        span: RawSpan,
    ) -> Result<(), RecordError> {
        let inner = sniff::unwrap(envelope, raw).map_err(|_| RecordError::NotThisFormat)?;
        let event = provider.parse_json(&inner.record)?;
        self.accept(event, inner.time, (raw, &inner.record), span);
        Ok(())
    }

    fn json_record(&mut self, raw: &[u8], span: RawSpan) {
        let context = self.context;
        // The parsers below recurse per nesting level: a deep record never reaches them.
        let checked_by_parser = context.envelope == Envelope::None
            && context.format.is_some_and(|p| p.bounds_nesting());
        if !checked_by_parser && let Some(at) = crate::json_scan::too_deep(raw) {
            return self.reject(span, crate::json_scan::nesting_error(at));
        }
        if let Some(provider) = context.format {
            match self.try_parse(provider, context.envelope, raw, span) {
                Ok(()) => return,
                Err(RecordError::Invalid(reason)) => return self.refuse(raw, span, reason),
                Err(RecordError::NotThisFormat) if context.forced => {
                    // A forced format never falls back to another provider.
                    let envelope = sniff::detect_envelope(raw);
                    match self.try_parse(provider, envelope, raw, span) {
                        Ok(()) => {}
                        Err(RecordError::Invalid(reason)) => self.refuse(raw, span, reason),
                        Err(RecordError::NotThisFormat) => self.refuse(
                            raw,
                            span,
                            format!(
                                "not a record of the forced format {} (--input-format)",
                                provider.format()
                            ),
                        ),
                    }
                    return;
                }
                Err(RecordError::NotThisFormat) => {}
            }
        }
        // The input's format refused this record: recognize it on its own.
        match sniff::detect_json(raw) {
            Ok(detection) => {
                match self.try_parse(detection.provider, detection.envelope, raw, span) {
                    Ok(()) => {}
                    Err(e) => self.reject(span, e.to_string()),
                }
            }
            Err(Undetected::NonEvent(kind)) => self.skipped.push(kind),
            Err(Undetected::Refused(reason)) => self.reject(span, reason),
        }
    }

    fn table_row(
        &mut self,
        header: &csv::StringRecord,
        row: &csv::StringRecord,
        raw: &[u8],
        span: RawSpan,
    ) {
        let Some(provider) = self.context.format else {
            let columns: Vec<&str> = header.iter().take(5).collect();
            self.reject(
                span,
                format!(
                    "CSV export of an unknown table (columns: {}, ...)",
                    columns.join(", ")
                ),
            );
            return;
        };
        match provider.parse_table(header, row) {
            Ok(event) => self.accept(event, None, (raw, raw), span),
            Err(e) => self.reject(span, e.to_string()),
        }
    }
}
