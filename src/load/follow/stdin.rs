//! Standard input followed as it arrives (`aws logs tail --follow`, `gcloud logging tail`,
//! `kubectl logs -f`): a live framer hands over each complete record as soon as it is read,
//! on a thread of its own because a pipe can only be waited on by blocking.

use crossbeam_channel::Sender;

use crate::load::classify::ClassifierCache;
use crate::load::framing::{Framed, Framer};
use crate::load::parse::{self, InputContext};
use crate::load::pipeline::{
    IngestMsg, InputReport, LoadOptions, Notice, PARSE_STACK, chunk_messages,
};
use crate::load::source::{self, Input, InputKind};
use crate::{Location, Rejection};

/// The notice sent when standard input ends.
pub const STDIN_ENDED: &str = "standard input ended";

/// Starts reading standard input as input `index`; the thread ends at the end of input or
/// when nobody reads its messages.
pub fn spawn(index: usize, tx: Sender<IngestMsg>, load: LoadOptions) {
    let spawned = std::thread::Builder::new()
        .name("trailscope-stdin".into())
        .stack_size(PARSE_STACK)
        .spawn(move || read(index, &tx, &load));
    if let Err(e) = spawned {
        log::warn!("could not start reading standard input: {e}");
    }
}

fn read(index: usize, tx: &Sender<IngestMsg>, load: &LoadOptions) {
    let input = Input {
        name: "-".into(),
        kind: InputKind::Stdin,
    };
    let mut report = InputReport {
        input: index,
        name: "-".into(),
        shape: "unreadable".into(),
        format: None,
        envelope: None,
        origin: None,
    };
    let opened = match source::open(&input) {
        Ok(o) => o,
        Err(e) => {
            let rejection = Rejection {
                location: Location::file("-"),
                reason: format!("cannot read: {e}"),
            };
            let _ = tx.send(IngestMsg::RecordRejected {
                input: index,
                rejection,
            });
            let _ = tx.send(IngestMsg::InputFinished(report));
            return;
        }
    };
    report.origin = Some(opened.origin.clone());
    let mut framer = Framer::new("-", opened.reader).live();
    let mut context: Option<std::sync::Arc<InputContext>> = None;
    let mut cache = ClassifierCache::default();
    let mut countries = crate::load::enrich::CountryFill::new(load.country_lookup);
    while let Some(item) = framer.next_chunk() {
        let msgs = match item {
            Framed::Rejected(rejection) => vec![IngestMsg::RecordRejected {
                input: index,
                rejection,
            }],
            Framed::Chunk(chunk) => {
                let first = context.is_none();
                let context = std::sync::Arc::clone(context.get_or_insert_with(|| {
                    std::sync::Arc::new(InputContext::detect("-", &chunk, load.forced))
                }));
                let parsed = parse::parse_chunk(
                    &chunk,
                    &context,
                    &load.classifier,
                    &mut cache,
                    &mut countries,
                );
                let mut msgs = chunk_messages(index, &context, &chunk, parsed);
                if first {
                    // The store can show these records again from now on.
                    report.format = context.format.map(|p| p.format());
                    report.envelope = context.envelope.name();
                    report.shape = label(&framer, Some(&context));
                    msgs.push(IngestMsg::InputFinished(report.clone()));
                }
                msgs
            }
        };
        for msg in msgs {
            if tx.send(msg).is_err() {
                return;
            }
        }
    }
    report.shape = label(&framer, context.as_deref());
    let _ = tx.send(IngestMsg::InputFinished(report));
    let _ = tx.send(IngestMsg::InputNotice(Notice {
        name: "-".into(),
        what: STDIN_ENDED.into(),
    }));
}

/// The summary's shape of standard input so far.
fn label(framer: &Framer, context: Option<&InputContext>) -> String {
    match framer.shape() {
        Some(shape) => crate::load::sniff::shape_label(
            shape,
            context.map_or(crate::load::sniff::Envelope::None, |c| c.envelope),
            context.and_then(|c| c.dialect),
            framer.missing_separators(),
        ),
        None => "empty".into(),
    }
}
