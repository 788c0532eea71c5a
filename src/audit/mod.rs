//! Audits over the events and the detectors' pairing of grants: the identity inventory
//! ([`identities`]). Comes after `detectors` in the data path; `detectors` never uses it.

pub mod identities;
