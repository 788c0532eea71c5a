//! `tail --state FILE`: where each input was read to, and whatever else must survive a
//! restart (reported findings, alert history), written atomically so a crash leaves the old
//! state or the new one, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::load::pipeline::FilePosition;
use crate::{Error, Location, Result};

/// The largest state file read (a state of a million files is about 200 MB).
const MAX_STATE: u64 = 256 << 20;

/// What a restarted `tail` needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TailState {
    /// Format version.
    pub version: u32,
    /// Where each file was read to, one entry per file.
    pub positions: Vec<FilePosition>,
    /// State kept by later stages (reported findings, alerts), by name.
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl TailState {
    /// Reads a state file; a missing file is an empty state.
    pub fn read(path: &Path) -> Result<TailState> {
        let io = |source| Error::Io {
            location: Location::file(path.display().to_string()),
            source,
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TailState {
                    version: 1,
                    ..TailState::default()
                });
            }
            Err(e) => return Err(io(e)),
        };
        if !meta.is_file() || meta.len() > MAX_STATE {
            return Err(Error::Invalid(format!(
                "{}: not a state file (a regular file of at most {} MiB)",
                path.display(),
                MAX_STATE >> 20
            )));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::Invalid(format!(
                "{}: not a trailscope tail state ({e}); move it away to start afresh",
                path.display()
            ))
        })
    }

    /// Writes the state to `path` atomically (a temporary file in the same directory,
    /// renamed over it).
    pub fn write(&self, path: &Path) -> Result<()> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let io = |source| Error::Io {
            location: Location::file(path.display().to_string()),
            source,
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
        let json = serde_json::to_vec(self).map_err(|e| Error::Invalid(e.to_string()))?;
        tmp.write_all(&json).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Records how far a file was read, replacing what was known of the same file.
    pub fn set_position(&mut self, position: FilePosition) {
        let key = position.id.map(|id| (id.dev, id.inode));
        match self
            .positions
            .iter_mut()
            .find(|p| p.id.map(|id| (id.dev, id.inode)) == key && key.is_some())
        {
            Some(known) => *known = position,
            None if key.is_some() => self.positions.push(position),
            // Standard input cannot be resumed.
            None => {}
        }
    }

    /// Forgets files whose path no longer exists (rotated away and deleted); a file renamed
    /// away by rotation is kept while a file is at its old path again.
    pub fn prune(&mut self) {
        self.positions
            .retain(|p| p.id.is_none() || Path::new(&p.name).exists());
    }
}
