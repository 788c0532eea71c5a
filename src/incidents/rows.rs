//! The events behind findings, read once from the frame: the columns incidents link and
//! list findings by, for every row any finding cites.

use std::collections::HashMap;

use polars::prelude::*;

use crate::detectors::Finding;
use crate::detectors::event::{i64s, strings};
use crate::schema::{ACTION, ACTOR, EVENT_ID, IDENTITY, PROVIDER, RESOURCE, SESSION, SRC_IP, TIME};
use crate::{Error, Result};

/// The cited rows' columns, as text, looked up by frame row.
#[derive(Debug, Default)]
pub(super) struct CitedRows {
    index: HashMap<u32, usize>,
    pub(super) time: Vec<Option<i64>>,
    pub(super) provider: Vec<String>,
    pub(super) event_id: Vec<String>,
    pub(super) actor: Vec<String>,
    pub(super) identity: Vec<String>,
    pub(super) action: Vec<String>,
    pub(super) src_ip: Vec<String>,
    pub(super) session: Vec<String>,
    pub(super) resource: Vec<String>,
}

impl CitedRows {
    /// Reads every row the findings cite (rows past the frame's end are skipped).
    pub(super) fn read(frame: &DataFrame, findings: &[Finding]) -> Result<CitedRows> {
        let height = frame.height();
        let mut rows: Vec<u32> = findings
            .iter()
            .flat_map(|f| f.rows.iter().copied())
            .filter(|r| (*r as usize) < height)
            .collect();
        rows.sort_unstable();
        rows.dedup();
        if rows.is_empty() {
            return Ok(CitedRows::default());
        }
        let idx = IdxCa::from_vec(
            PlSmallStr::EMPTY,
            rows.iter().map(|r| *r as IdxSize).collect(),
        );
        let taken = frame
            .select([
                TIME, PROVIDER, EVENT_ID, ACTOR, IDENTITY, ACTION, SRC_IP, SESSION, RESOURCE,
            ])
            .and_then(|f| f.take(&idx))
            .map_err(Error::polars("reading the events behind findings"))?;
        Ok(CitedRows {
            index: rows.iter().enumerate().map(|(i, r)| (*r, i)).collect(),
            time: i64s(&taken, TIME)?,
            provider: strings(&taken, PROVIDER)?,
            event_id: strings(&taken, EVENT_ID)?,
            actor: strings(&taken, ACTOR)?,
            identity: strings(&taken, IDENTITY)?,
            action: strings(&taken, ACTION)?,
            src_ip: strings(&taken, SRC_IP)?,
            session: strings(&taken, SESSION)?,
            resource: strings(&taken, RESOURCE)?,
        })
    }

    /// Where a frame row's values are, if it was read.
    pub(super) fn at(&self, row: u32) -> Option<usize> {
        self.index.get(&row).copied()
    }

    /// The identity of the row at `i` (its actor when nothing resolved one).
    pub(super) fn who(&self, i: usize) -> &str {
        match self.identity.get(i).map(String::as_str) {
            Some(id) if !id.is_empty() => id,
            _ => self.actor.get(i).map_or("", String::as_str),
        }
    }
}
