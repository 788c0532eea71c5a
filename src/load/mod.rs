//! The way in: inputs are found and opened ([`source`], gzip included, with random access
//! back into it through [`gzip_seek`]), recognized ([`sniff`]: container shapes, envelopes and
//! providers, with CloudTrail Lake result rows read by [`lake`], and objects that hold no
//! events, CloudTrail digests, by [`non_event`]), cut into records
//! ([`framing`], with the JSON [`boundary`] scanner), parsed
//! ([`parse`]), classified ([`classify`]) and enriched ([`enrich`]: the caller's country) by
//! the parallel [`pipeline`], which hands batches to the store.

pub mod boundary;
pub mod classify;
pub mod enrich;
pub mod follow;
pub mod framing;
pub mod gzip_seek;
pub mod lake;
pub mod non_event;
pub mod parse;
pub mod pipeline;
pub mod sniff;
pub mod source;
pub mod tap;
