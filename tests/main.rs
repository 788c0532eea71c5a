//! The single integration-test binary (one polars link for all integration tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

mod access;
mod alerts;
mod audit_views;
mod bad_input;
mod cli;
mod conformance;
mod detect;
mod follow;
mod formats;
mod hostile_input;
mod hostile_output;
mod identities;
mod identity;
mod incidents;
mod integrity;
mod lake;
mod lake_engines;
mod lifecycle;
mod live_findings;
mod loader_properties;
mod loading;
mod panther;
mod permissions;
mod query;
mod report;
mod shapes;
mod sigma;
mod stratus;
mod tail_stdin;
mod tui;
mod views;
mod workflow_bugs;
