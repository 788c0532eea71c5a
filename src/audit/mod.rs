//! Audits over identities and their access, built on the detection engine's knowledge of
//! grants ([`crate::detectors::grants`]): [`access`] lists every grant or elevation with its
//! end, approval and use, and the access review of who holds what at the end of the logs.

pub mod access;
