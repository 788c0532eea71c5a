//! The single integration-test binary (one polars link for all integration tests).

mod util;

mod bad_input;
mod cli;
mod conformance;
mod detect;
mod formats;
mod loading;
