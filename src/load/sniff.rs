//! Format detection, all of it: how records sit in an input (its container [`Shape`]),
//! which envelope (Cribl, EventBridge, CloudWatch Logs, AKS diagnostics) wraps a record, and
//! which provider a record or a table export belongs to. Shapes are sniffed from an input's
//! first bytes; providers from the first records of an input and from records the input's
//! format refuses; every other record goes straight to the detected parser.

use std::borrow::Cow;

use serde::Deserialize;
use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use crate::json_scan;
use crate::load::boundary::{BoundaryScanner, WRAPPER_KEYS};
use crate::load::non_event::NonEvent;
use crate::providers::fields::{Num, Text};
use crate::providers::time::{epoch_to_micros, parse_rfc3339, parse_time_text};
use crate::providers::{self, Probe, Provider};

/// How many records at the start of an input are tried before it counts as unrecognized.
const DETECT_RECORDS: usize = 16;

/// How records sit in an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One JSON object per line.
    Lines,
    /// JSON values found by scanning: arrays, wrappers, concatenated or pretty values.
    Json,
    /// A CSV export with a header row.
    Csv,
    /// Not JSON, not CSV.
    Unknown(String),
    /// No content at all.
    Empty,
}

impl Shape {
    /// A short name for summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Shape::Lines => "ndjson",
            Shape::Json => "json",
            Shape::Csv => "csv",
            Shape::Unknown(_) => "unknown",
            Shape::Empty => "empty",
        }
    }
}

/// Decides the shape of an input from its first bytes (BOM already removed).
pub fn sniff_shape(head: &[u8], at_eof: bool) -> Shape {
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return if at_eof {
            Shape::Empty
        } else {
            Shape::Unknown("only whitespace".into())
        };
    };
    if !matches!(head[start], b'[' | b'{') {
        let first_line = head[start..].split(|b| *b == b'\n').next().unwrap_or(&[]);
        let rest = strip_line_prefix(first_line);
        if rest.len() < first_line.len() && head_is_ndjson(rest, 0, true) {
            // `TIMESTAMP {...}` lines (`aws logs tail --format short`, `kubectl logs
            // --timestamps`): one record per line after the prefix.
            return Shape::Lines;
        }
    }
    match head[start] {
        b'[' => Shape::Json,
        b'{' => {
            // One object per line, none a wrapper: cheap line framing. Anything else
            // (pretty-printed, concatenated over several lines, wrappers): scan.
            if head_is_ndjson(head, start, at_eof) {
                Shape::Lines
            } else {
                Shape::Json
            }
        }
        _ => {
            let first_line = head[start..].split(|b| *b == b'\n').next().unwrap_or(&[]);
            let text = std::str::from_utf8(first_line);
            let printable = first_line
                .iter()
                .all(|b| *b >= 0x20 || matches!(b, b'\t' | b'\r'));
            if text.is_ok()
                && printable
                && (first_line.contains(&b',') || first_line.contains(&b'\t'))
            {
                Shape::Csv
            } else {
                let shown: String =
                    String::from_utf8_lossy(&head[start..head.len().min(start + 16)])
                        .chars()
                        .map(|c| if c.is_control() { '.' } else { c })
                        .collect();
                Shape::Unknown(format!("not JSON or CSV (starts with {shown:?})"))
            }
        }
    }
}

/// A line without the timestamp (and stream name) that log tailers put before each record:
/// `2024-03-04T00:03:14.123Z {...}` (`aws logs tail --format short`, `kubectl logs
/// --timestamps`) or `2024-03-04T00:03:14+00:00 STREAM {...}` (`aws logs tail`'s default).
/// Lines without such a prefix are returned as they are.
pub fn strip_line_prefix(line: &[u8]) -> &[u8] {
    if line.first().is_none_or(|b| !b.is_ascii_digit()) {
        return line;
    }
    fn token(s: &[u8]) -> (usize, &[u8]) {
        let end = s.iter().position(|b| *b == b' ').unwrap_or(s.len());
        (end, s[end..].trim_ascii_start())
    }
    let (end, rest) = token(line);
    let stamp = std::str::from_utf8(&line[..end]).unwrap_or("");
    if end > 40 || parse_rfc3339(stamp).is_none() {
        return line;
    }
    if rest.first() == Some(&b'{') {
        return rest;
    }
    let (end, after_stream) = token(rest);
    let printable = rest[..end]
        .iter()
        .all(|b| b.is_ascii_graphic() && *b != b'{');
    if end <= 512 && printable && after_stream.first() == Some(&b'{') {
        return after_stream;
    }
    line
}

/// Whether the head looks like one JSON object per line: the first line is a complete
/// object (not a wrapper), and at least two thirds of the first lines that open an object
/// close it on the same line. NDJSON with a few broken lines stays NDJSON (each line then
/// stands alone); pretty-printed or concatenated multi-line values do not.
fn head_is_ndjson(head: &[u8], start: usize, at_eof: bool) -> bool {
    let mut scanner = BoundaryScanner::default();
    let mut lines: Vec<&[u8]> = head[start..].split(|b| *b == b'\n').collect();
    if !at_eof && lines.len() > 1 {
        lines.pop(); // may be cut by the end of the head
    }
    // An object left open on its line and continued by a member line (`"key": ...`) is a
    // pretty-printed value among one-line ones: concatenated values, not NDJSON.
    let trimmed: Vec<&[u8]> = lines
        .iter()
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .collect();
    let continued = trimmed.windows(2).take(64).any(|pair| {
        pair[0].first() == Some(&b'{')
            && pair[1].first() == Some(&b'"')
            && BoundaryScanner::default().scan_value(pair[0], 0).is_err()
    });
    if continued {
        return false;
    }
    let mut opening = 0usize;
    let mut complete = 0usize;
    for (i, line) in lines
        .iter()
        .map(|l| l.trim_ascii())
        .filter(|l| l.first() == Some(&b'{'))
        .take(32)
        .enumerate()
    {
        opening += 1;
        // The wrapper test first: it stops at the wrapper key, where scanning the whole
        // value would read a whole S3 delivery file just to sniff it.
        let whole = !looks_like_wrapper(line)
            && scanner
                .scan_value(line, 0)
                .is_ok_and(|end| end == line.len());
        if i == 0 && !whole {
            return false;
        }
        complete += usize::from(whole);
    }
    opening > 0 && complete * 3 >= opening * 2
}

/// Whether a top-level object holds its records in a wrapper array, or is a search
/// response (`{"hits":{"hits":[...]}}`; the scanner checks the inner array).
fn looks_like_wrapper(object: &[u8]) -> bool {
    let mut found = false;
    let mut scanner = BoundaryScanner::default();
    let _ = scanner.visit_top_object_keys(object, 0, &mut |key, value_start| {
        let value = object.get(value_start);
        found = (WRAPPER_KEYS.contains(&key) && value == Some(&b'['))
            || (key == b"hits" && value == Some(&b'{'));
        found
    });
    found
}

/// What an input was recognized as.
#[derive(Clone, Copy)]
pub struct InputFormat {
    /// Its parser, if any provider recognized it.
    pub provider: Option<&'static dyn Provider>,
    /// The envelope around its records.
    pub envelope: Envelope,
    /// The provider's variant of its record shape, when it names one (`azure-sdk`).
    pub dialect: Option<&'static str>,
}

/// Recognizes an input from its first JSON records: the provider and envelope of the first
/// of them that a provider recognizes. A forced provider is kept; only the envelope of the
/// first record is detected.
pub fn detect_records<'r>(
    records: impl Iterator<Item = &'r [u8]>,
    forced: Option<&'static dyn Provider>,
) -> InputFormat {
    let mut found = InputFormat {
        provider: forced,
        envelope: Envelope::None,
        dialect: None,
    };
    for record in records.take(DETECT_RECORDS) {
        if forced.is_some() {
            found.envelope = detect_envelope(record);
            break;
        }
        if let Ok(detection) = detect_json(record) {
            found = InputFormat {
                provider: Some(detection.provider),
                envelope: detection.envelope,
                dialect: detection.dialect,
            };
            break;
        }
    }
    found
}

/// The first provider that recognizes a table export by its headers.
pub fn detect_table(headers: &csv::StringRecord) -> Option<&'static dyn Provider> {
    providers::registry()
        .iter()
        .copied()
        .find(|p| p.sniff_table(headers))
}

/// The first provider that recognizes a bare JSON record.
fn provider_of(probe: &Probe) -> Option<&'static dyn Provider> {
    providers::registry()
        .iter()
        .copied()
        .find(|p| p.sniff_json(probe))
}

/// A wrapper around the audit record, added by the pipeline that shipped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// The record is bare.
    None,
    /// Cribl sample or stream: `{"_raw": "<record as JSON text>", "_time": <epoch s>}`.
    Cribl,
    /// EventBridge: `{"detail-type": ..., "time": ..., "detail": {<record>}}`.
    EventBridge,
    /// CloudWatch Logs subscription log event: `{"id", "timestamp", "message": "<record>"}`.
    CloudWatch,
    /// Azure diagnostic record carrying a Kubernetes audit event in `properties.log` (as
    /// JSON text, or as an object when a re-export parsed it).
    AksDiagnostic,
    /// `aws cloudtrail lookup-events` (Event History) event: `{"EventId", "EventName",
    /// "EventTime", ..., "CloudTrailEvent": "<the full record as JSON text>"}`.
    LookupEvent,
    /// A row of CloudTrail Lake `get-query-results`: `[{"eventJson": "<record>"}, ...]`, or
    /// columns that are CloudTrail fields.
    LakeRow,
    /// An Elasticsearch/OpenSearch hit: `{"_index", "_id", "_source": {<record>}}`.
    SearchHit,
    /// A Splunk search result: `{"preview": false, "result": {"_raw": "<record>"}}` (export
    /// endpoint) or `{"_raw": "<record>", "_time": ..., "_cd": ...}` (REST `results`).
    Splunk,
}

impl Envelope {
    /// A short name for summaries.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Envelope::None => None,
            Envelope::Cribl => Some("cribl"),
            Envelope::EventBridge => Some("eventbridge"),
            Envelope::CloudWatch => Some("cloudwatch"),
            Envelope::AksDiagnostic => Some("aks-diagnostic"),
            Envelope::LookupEvent => Some("cloudtrail-lookup-events"),
            Envelope::LakeRow => Some("cloudtrail-lake-results"),
            Envelope::SearchHit => Some("elasticsearch-hits"),
            Envelope::Splunk => Some("splunk-results"),
        }
    }

    /// Whether this is the shape of an export tool's output (CLI, query results, SIEM dump)
    /// rather than a shipping pipeline's wrapper: the summary names it as the input's shape,
    /// and the record view shows the record inside.
    pub fn is_export(self) -> bool {
        matches!(
            self,
            Envelope::LookupEvent | Envelope::LakeRow | Envelope::SearchHit | Envelope::Splunk
        )
    }
}

/// What the load says about records recovered from an array whose separators were missing.
pub fn missing_separators_notice(missing: u64) -> String {
    let s = if missing == 1 { "" } else { "s" };
    format!(
        "{missing} record{s} followed the previous one without a separating comma \
         (concatenated records): recovered, check the export"
    )
}

/// How an input's records sat in it, for the summary: the container (`ndjson`, `json`,
/// `csv`), then the export shape or record dialect recognized (`json: cloudtrail-lookup-events`,
/// `ndjson: azure-sdk`), and array separators that were missing and recovered.
pub fn shape_label(
    shape: &Shape,
    envelope: Envelope,
    dialect: Option<&str>,
    missing_separators: u64,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    if envelope.is_export() {
        parts.extend(envelope.name().map(str::to_string));
    }
    parts.extend(dialect.map(str::to_string));
    if missing_separators > 0 {
        let s = if missing_separators == 1 { "" } else { "s" };
        parts.push(format!(
            "concatenated ({missing_separators} separator{s} missing, recovered)"
        ));
    }
    if parts.is_empty() {
        shape.name().to_string()
    } else {
        format!("{}: {}", shape.name(), parts.join(", "))
    }
}

/// A record taken out of its envelope.
#[derive(Debug)]
pub struct Unwrapped<'a> {
    /// The bare record's JSON.
    pub record: Cow<'a, [u8]>,
    /// The event time the envelope states, used when the record has none.
    pub time: Option<i64>,
}

/// What a record was recognized as.
#[derive(Clone, Copy)]
pub struct Detection {
    /// The envelope around it.
    pub envelope: Envelope,
    /// Its parser.
    pub provider: &'static dyn Provider,
    /// The provider's variant of its record shape, when it names one.
    pub dialect: Option<&'static str>,
}

/// Why a JSON record was not recognized as an audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undetected {
    /// An object that holds no events (a CloudTrail digest): skipped, not rejected.
    NonEvent(NonEvent),
    /// Not an audit record: why, for the rejection.
    Refused(String),
}

impl From<String> for Undetected {
    fn from(reason: String) -> Self {
        Undetected::Refused(reason)
    }
}

impl std::fmt::Display for Undetected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undetected::NonEvent(kind) => write!(f, "{} (no events)", kind.name()),
            Undetected::Refused(reason) => f.write_str(reason),
        }
    }
}

/// Recognizes a JSON record: its envelope and provider, or why it is not an audit record.
pub fn detect_json(record: &[u8]) -> Result<Detection, Undetected> {
    if let Some(at) = json_scan::too_deep(record) {
        return Err(json_scan::nesting_error(at).into());
    }
    let probe: Probe = sonic_rs::from_slice(record).map_err(|e| {
        format!(
            "invalid JSON: {}",
            e.to_string().lines().next().unwrap_or("")
        )
    })?;
    let envelope = sniff_envelope(&probe);
    if !probe.is_object() && envelope == Envelope::None {
        return Err(Undetected::Refused("not a JSON object".into()));
    }
    let inner_probe;
    let target = if envelope == Envelope::None {
        &probe
    } else {
        let inner = unwrap(envelope, record)?;
        inner_probe = sonic_rs::from_slice::<Probe>(&inner.record).map_err(|e| {
            format!(
                "invalid JSON inside the {} envelope: {e}",
                envelope.name().unwrap_or("")
            )
        })?;
        &inner_probe
    };
    // Lake holds CloudTrail only; rows put together from columns may lack its markers.
    let provider = if envelope == Envelope::LakeRow {
        providers::by_format(providers::cloudtrail::CloudTrail.format())
    } else {
        provider_of(target)
    };
    match provider {
        Some(provider) => Ok(Detection {
            envelope,
            provider,
            dialect: provider.dialect(target),
        }),
        None => Err(match NonEvent::of_probe(target) {
            Some(kind) => Undetected::NonEvent(kind),
            None => Undetected::Refused(format!(
                "not a known audit record ({})",
                describe_keys(target)
            )),
        }),
    }
}

/// Forces a provider, still recognizing an envelope.
pub fn detect_envelope(record: &[u8]) -> Envelope {
    if json_scan::too_deep(record).is_some() {
        return Envelope::None;
    }
    sonic_rs::from_slice::<Probe>(record)
        .map(|p| sniff_envelope(&p))
        .unwrap_or(Envelope::None)
}

fn describe_keys(probe: &Probe) -> String {
    let Some(object) = probe.as_object() else {
        return "not an object".into();
    };
    let keys: Vec<String> = object.iter().take(6).map(|(k, _)| k.to_string()).collect();
    if keys.is_empty() {
        "empty object".into()
    } else {
        let more = if object.len() > keys.len() {
            ", ..."
        } else {
            ""
        };
        format!("keys: {}{more}", keys.join(", "))
    }
}

fn sniff_envelope(probe: &Probe) -> Envelope {
    if let Some(row) = probe.as_array() {
        return if is_lake_row(row) {
            Envelope::LakeRow
        } else {
            Envelope::None
        };
    }
    let has_str = |key: &str| probe.get(key).is_some_and(|v| v.is_str());
    let has = |key: &str| probe.get(key).is_some();
    if has_str("CloudTrailEvent") && (has("EventId") || has("EventName") || has("EventTime")) {
        return Envelope::LookupEvent;
    }
    if probe.get("_source").is_some_and(|v| v.is_object()) && (has("_index") || has("_id")) {
        return Envelope::SearchHit;
    }
    if probe
        .get("result")
        .and_then(|r| r.get("_raw"))
        .is_some_and(|v| v.is_str())
    {
        return Envelope::Splunk;
    }
    if has_str("_raw") {
        // Splunk's own fields, or its text time; Cribl writes an epoch number.
        let splunk = [
            "_cd",
            "_bkt",
            "_serial",
            "_indextime",
            "_si",
            "splunk_server",
        ]
        .iter()
        .any(|k| has(k))
            || has_str("_time");
        return if splunk {
            Envelope::Splunk
        } else {
            Envelope::Cribl
        };
    }
    if probe.get("detail-type").is_some() && probe.get("detail").is_some_and(|v| v.is_object()) {
        return Envelope::EventBridge;
    }
    if has_str("message") && probe.get("timestamp").is_some() && probe.get("id").is_some() {
        return Envelope::CloudWatch;
    }
    let category = probe.get("category").and_then(|v| v.as_str()).unwrap_or("");
    if category.starts_with("kube-audit")
        && probe
            .get("properties")
            .and_then(|p| p.get("log"))
            .is_some_and(|v| v.is_str() || v.is_object())
    {
        return Envelope::AksDiagnostic;
    }
    Envelope::None
}

#[derive(Deserialize)]
struct CriblRecord<'a> {
    #[serde(borrow, rename = "_raw")]
    raw: Cow<'a, str>,
    #[serde(default, rename = "_time")]
    time: Num,
}

#[derive(Deserialize)]
struct EventBridgeRecord<'a> {
    #[serde(borrow)]
    detail: sonic_rs::LazyValue<'a>,
    #[serde(borrow, default)]
    time: Text<'a>,
}

#[derive(Deserialize)]
struct CloudWatchEvent<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
}

#[derive(Deserialize)]
struct AksRecord<'a> {
    #[serde(borrow)]
    properties: AksProperties<'a>,
}

#[derive(Deserialize)]
struct AksProperties<'a> {
    #[serde(borrow)]
    log: sonic_rs::LazyValue<'a>,
}

#[derive(Deserialize)]
struct LookupEvent<'a> {
    #[serde(borrow, rename = "CloudTrailEvent")]
    record: Cow<'a, str>,
    /// Epoch seconds (a float) from the CLI's JSON, or ISO text.
    #[serde(borrow, default, rename = "EventTime")]
    time: Text<'a>,
}

#[derive(Deserialize)]
struct SearchHit<'a> {
    #[serde(borrow, rename = "_source")]
    source: sonic_rs::LazyValue<'a>,
}

#[derive(Deserialize)]
struct SplunkResult<'a> {
    #[serde(borrow, rename = "_raw")]
    raw: Cow<'a, str>,
    #[serde(borrow, default, rename = "_time")]
    time: Text<'a>,
}

#[derive(Deserialize)]
struct SplunkExport<'a> {
    #[serde(borrow)]
    result: SplunkResult<'a>,
}

/// The record inside a JSON text or object value: a string's content, else the raw value.
fn text_or_raw(value: sonic_rs::LazyValue<'_>) -> Cow<'_, [u8]> {
    if value.as_raw_str().starts_with('"') {
        match sonic_rs::from_str::<Cow<'_, str>>(value.as_raw_str()) {
            Ok(Cow::Owned(text)) => Cow::Owned(text.into_bytes()),
            // Borrowed from the value's text, which lives in the record: copy it out.
            Ok(Cow::Borrowed(text)) => Cow::Owned(text.as_bytes().to_vec()),
            Err(_) => cow_bytes(value.as_raw_cow()),
        }
    } else {
        cow_bytes(value.as_raw_cow())
    }
}

fn cow_bytes(s: Cow<'_, str>) -> Cow<'_, [u8]> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
        Cow::Owned(o) => Cow::Owned(o.into_bytes()),
    }
}

/// Takes a record out of its envelope. The envelope itself must have passed the nesting
/// check ([`json_scan::too_deep`]); the record inside a string is checked here.
pub fn unwrap(envelope: Envelope, record: &[u8]) -> Result<Unwrapped<'_>, String> {
    let unwrapped = unwrap_unchecked(envelope, record)?;
    if envelope != Envelope::None
        && let Some(at) = json_scan::too_deep(&unwrapped.record)
    {
        return Err(format!(
            "inside the {} envelope: {}",
            envelope.name().unwrap_or("known"),
            json_scan::nesting_error(at)
        ));
    }
    Ok(unwrapped)
}

fn unwrap_unchecked(envelope: Envelope, record: &[u8]) -> Result<Unwrapped<'_>, String> {
    let bad = |e: sonic_rs::Error| {
        format!(
            "not a {} envelope: {}",
            envelope.name().unwrap_or("known"),
            e.to_string().lines().next().unwrap_or("")
        )
    };
    match envelope {
        Envelope::None => Ok(Unwrapped {
            record: Cow::Borrowed(record),
            time: None,
        }),
        Envelope::Cribl => {
            let r: CriblRecord = sonic_rs::from_slice(record).map_err(bad)?;
            let time = r.time.0.and_then(epoch_to_micros);
            Ok(Unwrapped {
                record: cow_bytes(r.raw),
                time,
            })
        }
        Envelope::EventBridge => {
            let r: EventBridgeRecord = sonic_rs::from_slice(record).map_err(bad)?;
            let time = r.time.get().and_then(parse_rfc3339);
            Ok(Unwrapped {
                record: cow_bytes(r.detail.as_raw_cow()),
                time,
            })
        }
        Envelope::CloudWatch => {
            // The log event's timestamp is ingestion time, not event time: not used.
            let r: CloudWatchEvent = sonic_rs::from_slice(record).map_err(bad)?;
            Ok(Unwrapped {
                record: cow_bytes(r.message),
                time: None,
            })
        }
        Envelope::AksDiagnostic => {
            let r: AksRecord = sonic_rs::from_slice(record).map_err(bad)?;
            Ok(Unwrapped {
                record: text_or_raw(r.properties.log),
                time: None,
            })
        }
        Envelope::LookupEvent => {
            let r: LookupEvent = sonic_rs::from_slice(record).map_err(bad)?;
            Ok(Unwrapped {
                time: r.time.get().and_then(parse_time_text),
                record: cow_bytes(r.record),
            })
        }
        Envelope::SearchHit => {
            let r: SearchHit = sonic_rs::from_slice(record).map_err(bad)?;
            Ok(Unwrapped {
                record: cow_bytes(r.source.as_raw_cow()),
                time: None,
            })
        }
        Envelope::Splunk => {
            let r = match sonic_rs::from_slice::<SplunkExport>(record) {
                Ok(export) => export.result,
                Err(_) => sonic_rs::from_slice::<SplunkResult>(record).map_err(bad)?,
            };
            Ok(Unwrapped {
                time: r.time.get().and_then(parse_time_text),
                record: cow_bytes(r.raw),
            })
        }
        Envelope::LakeRow => Ok(Unwrapped {
            record: Cow::Owned(crate::load::lake::row_record(record)?),
            time: None,
        }),
    }
}

/// Whether an array is a CloudTrail Lake result row: objects of one key each.
fn is_lake_row(row: &sonic_rs::Array) -> bool {
    !row.is_empty()
        && row
            .iter()
            .all(|cell| cell.as_object().is_some_and(|o| o.len() == 1))
}

/// The record to show for a record's bytes: the record inside an export tool's wrapper
/// (`lookup-events`, Lake rows, search hits, Splunk results), else the bytes as they are.
pub fn shown_record(bytes: &[u8]) -> Cow<'_, [u8]> {
    // Most records wear no export wrapper: a search for its keys spares them a parse (the
    // access audit and rules read records back by the thousand).
    let array = bytes.trim_ascii_start().first() == Some(&b'[');
    let marked = [&b"\"CloudTrailEvent\""[..], b"\"_source\"", b"\"_raw\""]
        .iter()
        .any(|key| memchr::memmem::find(bytes, key).is_some());
    if !array && !marked {
        return Cow::Borrowed(bytes);
    }
    let envelope = detect_envelope(bytes);
    if !envelope.is_export() {
        return Cow::Borrowed(bytes);
    }
    match unwrap(envelope, bytes) {
        Ok(inner) => inner.record,
        Err(_) => Cow::Borrowed(bytes),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn tailer_prefixes_are_taken_off_lines_and_nothing_else() {
        let record = br#"{"a":1}"#;
        let cases: [(&[u8], &[u8]); 6] = [
            (br#"2024-03-04T00:03:14.123Z {"a":1}"#, record),
            (br#"2024-03-04T00:03:14+00:00 my-stream/1 {"a":1}"#, record),
            (br#"{"a":1}"#, record),
            // Not a time: left as it is.
            (br#"12345 {"a":1}"#, br#"12345 {"a":1}"#),
            (
                b"2024-03-04T00:03:14Z,alice,login",
                b"2024-03-04T00:03:14Z,alice,login",
            ),
            (
                b"2024-03-04T00:03:14Z only text",
                b"2024-03-04T00:03:14Z only text",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                strip_line_prefix(line),
                want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(
            sniff_shape(b"2024-03-04T00:03:14Z {\"a\":1}\n", true),
            Shape::Lines
        );
    }

    use super::*;

    #[test]
    fn envelopes_are_recognized_and_unwrapped() {
        let cribl = br#"{"_raw":"{\"uuid\":\"u1\",\"published\":\"2025-07-21T14:48:24.597Z\"}","_time":1753109304.597}"#;
        let probe: Probe = sonic_rs::from_slice(cribl).unwrap();
        assert_eq!(sniff_envelope(&probe), Envelope::Cribl);
        let inner = unwrap(Envelope::Cribl, cribl).unwrap();
        assert_eq!(
            &*inner.record,
            br#"{"uuid":"u1","published":"2025-07-21T14:48:24.597Z"}"#
        );
        assert_eq!(inner.time, parse_rfc3339("2025-07-21T14:48:24.597Z"));

        let eb = br#"{"version":"0","detail-type":"AWS API Call via CloudTrail","time":"2021-01-01T00:00:00Z","detail":{"eventName":"X"}}"#;
        let probe: Probe = sonic_rs::from_slice(eb).unwrap();
        assert_eq!(sniff_envelope(&probe), Envelope::EventBridge);
        assert_eq!(
            &*unwrap(Envelope::EventBridge, eb).unwrap().record,
            br#"{"eventName":"X"}"#
        );
    }

    #[test]
    fn non_audit_json_is_explained() {
        let err = detect_json(br#"{"notificationConfigName":"n","finding":{}}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("not a known audit record (keys: notificationConfigName, finding)"),
            "{err}"
        );
        assert!(detect_json(b"[1,2]").is_err());
        assert!(
            detect_json(b"{oops")
                .err()
                .unwrap()
                .to_string()
                .starts_with("invalid JSON")
        );
    }

    #[test]
    fn shapes_are_sniffed_from_content() {
        assert_eq!(sniff_shape(b"{\"a\":1}\n{\"a\":2}\n", true), Shape::Lines);
        assert_eq!(
            sniff_shape(b"{\"Records\":[{\"a\":1}]}\n", true),
            Shape::Json
        );
        assert_eq!(sniff_shape(b"{\n \"a\": 1\n}", true), Shape::Json);
        assert_eq!(
            sniff_shape(b"{\"a\":1}\n{\n \"b\": 2\n}\n", true),
            Shape::Json,
            "pretty after a single line"
        );
        assert_eq!(
            sniff_shape(b"{\"a\":1}{\"b\":2}\n", true),
            Shape::Json,
            "two values on a line"
        );
        assert_eq!(sniff_shape(b"  [", false), Shape::Json);
        assert_eq!(sniff_shape(b"Time,Caller,Op\r\n1,2,3", true), Shape::Csv);
        assert_eq!(sniff_shape(b"", true), Shape::Empty);
        assert!(matches!(
            sniff_shape(b"\x00\x01\x02binary", true),
            Shape::Unknown(_)
        ));
    }

    #[test]
    fn export_wrappers_are_recognized_and_unwrapped() {
        let lookup = br#"{"EventId":"e1","EventName":"X","EventTime":1741593675.0,"CloudTrailEvent":"{\"eventName\":\"X\"}"}"#;
        assert_eq!(detect_envelope(lookup), Envelope::LookupEvent);
        let inner = unwrap(Envelope::LookupEvent, lookup).unwrap();
        assert_eq!(&*inner.record, br#"{"eventName":"X"}"#);
        assert_eq!(inner.time, parse_rfc3339("2025-03-10T08:01:15Z"));

        let hit = br#"{"_index":"i","_id":"1","_source":{"eventName":"Y"}}"#;
        assert_eq!(detect_envelope(hit), Envelope::SearchHit);
        assert_eq!(&*shown_record(hit), br#"{"eventName":"Y"}"#);

        // Splunk's text `_time` or its own fields tell it from Cribl's `_raw`.
        let splunk = br#"{"_raw":"{}","_time":"2025-03-10T08:01:15.000+00:00","_cd":"1:2"}"#;
        assert_eq!(detect_envelope(splunk), Envelope::Splunk);
        let export = br#"{"preview":false,"result":{"_raw":"{\"a\":1}"}}"#;
        assert_eq!(detect_envelope(export), Envelope::Splunk);
        assert_eq!(
            &*unwrap(Envelope::Splunk, export).unwrap().record,
            br#"{"a":1}"#
        );
        let cribl = br#"{"_raw":"{}","_time":1753109304.597}"#;
        assert_eq!(detect_envelope(cribl), Envelope::Cribl);

        assert_eq!(
            detect_envelope(br#"[{"eventJson":"{}"}]"#),
            Envelope::LakeRow
        );
        assert_eq!(detect_envelope(br#"[{"a":1,"b":2}]"#), Envelope::None);

        let aks = br#"{"category":"kube-audit","properties":{"log":{"kind":"Event"}}}"#;
        assert_eq!(detect_envelope(aks), Envelope::AksDiagnostic);
        assert_eq!(
            &*unwrap(Envelope::AksDiagnostic, aks).unwrap().record,
            br#"{"kind":"Event"}"#
        );

        // Pipeline wrappers are shown as they are.
        assert_eq!(&*shown_record(cribl), &cribl[..]);
    }

    #[test]
    fn shape_labels_name_export_shapes_and_recovered_separators() {
        assert_eq!(
            shape_label(&Shape::Lines, Envelope::None, None, 0),
            "ndjson"
        );
        assert_eq!(
            shape_label(&Shape::Lines, Envelope::Cribl, None, 0),
            "ndjson"
        );
        assert_eq!(
            shape_label(&Shape::Json, Envelope::LookupEvent, None, 0),
            "json: cloudtrail-lookup-events"
        );
        assert_eq!(
            shape_label(&Shape::Json, Envelope::None, Some("azure-sdk"), 3),
            "json: azure-sdk, concatenated (3 separators missing, recovered)"
        );
    }
}
