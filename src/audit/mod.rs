//! Audits over identities and their access, built on the detection engine's knowledge of
//! grants ([`crate::detectors::grants`]): [`identities`] is the identity inventory (one row
//! per identity: kind, activity, lifecycle, credentials, holdings, flags); [`access`] lists
//! every grant or elevation with its end, approval and use, and the access review of who
//! holds what at the end of the logs. Comes after `detectors` in the data path; `detectors`
//! never uses it.

pub mod access;
pub mod identities;
pub mod permissions;
