//! The identity of an event in the lake: the fields the loader's duplicate detection
//! fingerprints (time, every normalized field but the resolved identity, the booleans, and the
//! record itself when the event has no id), hashed from a lake file's columns. Appending
//! skips events whose key a partition already holds.

use polars::prelude::*;

use crate::schema::{
    ACCOUNT, ACTION, ACTOR, ACTOR_ID, ACTOR_TYPE, CITY, CORRELATION_ID, COUNTRY, DETAILS, ERROR,
    EVENT_ID, LOG_TYPE, MFA, OUTCOME, READ_ONLY, REGION, RESOURCE, SERVICE, SESSION, SRC_IP, TIME,
    USER_AGENT,
};
use crate::{Error, Result};

use super::layout::RAW;

/// The text columns an event's key covers, in hashing order.
const KEY_TEXT: [&str; 19] = [
    LOG_TYPE,
    EVENT_ID,
    ACTOR,
    ACTOR_TYPE,
    ACTOR_ID,
    ACTION,
    SERVICE,
    RESOURCE,
    SRC_IP,
    USER_AGENT,
    REGION,
    COUNTRY,
    CITY,
    OUTCOME,
    ERROR,
    SESSION,
    CORRELATION_ID,
    ACCOUNT,
    DETAILS,
];

/// The boolean columns an event's key covers.
const KEY_BOOLS: [&str; 2] = [MFA, READ_ONLY];

/// The lake columns [`event_keys`] reads (the partition's provider is fixed by its directory).
pub fn key_columns() -> Vec<&'static str> {
    let mut columns = vec![TIME];
    columns.extend(KEY_TEXT);
    columns.extend(KEY_BOOLS);
    columns.push(RAW);
    columns
}

/// One key per row of `frame`, a frame with the lake's column types holding
/// [`key_columns`] (`raw` is read only for rows without an event id).
pub fn event_keys(frame: &DataFrame) -> Result<Vec<u64>> {
    let err = Error::polars("computing event keys");
    let height = frame.height();
    let times = frame
        .column(TIME)
        .map_err(Error::polars("computing event keys"))?
        .as_materialized_series()
        .to_physical_repr();
    let times = times.i64().map_err(Error::polars("computing event keys"))?;
    let mut keys: Vec<u64> = times
        .iter()
        .map(|t| xxhash_rust::xxh3::xxh3_64(&t.unwrap_or(i64::MIN).to_le_bytes()))
        .collect();
    for name in KEY_TEXT {
        let column = frame
            .column(name)
            .and_then(|c| c.str().cloned())
            .map_err(Error::polars("computing event keys"))?;
        for (key, value) in keys.iter_mut().zip(column.iter()) {
            // Chaining each field's hash into the seed of the next keeps fields apart.
            *key = match value {
                Some(v) => xxhash_rust::xxh3::xxh3_64_with_seed(v.as_bytes(), *key),
                None => xxhash_rust::xxh3::xxh3_64_with_seed(&[0xff], *key),
            };
        }
    }
    for name in KEY_BOOLS {
        let column = frame
            .column(name)
            .and_then(|c| c.bool().cloned())
            .map_err(Error::polars("computing event keys"))?;
        for (key, value) in keys.iter_mut().zip(column.iter()) {
            *key = xxhash_rust::xxh3::xxh3_64_with_seed(&[value.map_or(2, u8::from)], *key);
        }
    }
    // Without a provider id, only identical records are the same event.
    let ids = frame
        .column(EVENT_ID)
        .and_then(|c| c.str().cloned())
        .map_err(err)?;
    if ids.null_count() > 0 {
        let raw = frame
            .column(RAW)
            .and_then(|c| c.str().cloned())
            .map_err(Error::polars("computing event keys"))?;
        for ((key, id), raw) in keys.iter_mut().zip(ids.iter()).zip(raw.iter()) {
            if id.is_none() {
                let bytes = raw.unwrap_or_default().as_bytes();
                *key = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, *key);
            }
        }
    }
    debug_assert_eq!(keys.len(), height);
    Ok(keys)
}
