//! The built-in views: the investigations run every week, written once over the normalized
//! columns so each works across providers. They are TOML (`builtin.toml`), read by the same
//! reader as the user's files; a file's view of the same name overrides one.

use std::path::Path;

use super::file::read_text;
use super::{Origin, SavedView};

/// The built-in views as TOML.
pub const TEXT: &str = include_str!("builtin.toml");

/// The built-in views (tests check that every one of them reads without a problem).
pub fn views() -> Vec<SavedView> {
    read_text(TEXT, Path::new("(built-in views)"), Origin::BuiltIn)
        .views
        .unwrap_or_default()
}
