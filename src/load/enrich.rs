//! Enrichment of parsed batches with what the records do not say: the caller's `country`
//! from the bundled offline table ([`crate::country::geoip`]) where the record names none and
//! `src_ip` is a public address. A country the record gives is never replaced.

use std::collections::HashMap;

use crate::country::geoip;
use crate::schema::{COUNTRY, Dictionaries, EventBatch, SRC_IP};

/// The most addresses a worker remembers; beyond, it starts over (bounds memory on logs
/// from millions of addresses).
const ADDRESSES_KEPT: usize = 1 << 18;

/// Fills `country` from `src_ip` for one load worker, remembering each address's answer:
/// a batch has far fewer distinct addresses than rows, and they repeat across batches.
#[derive(Debug, Default)]
pub struct CountryFill {
    enabled: bool,
    /// `src_ip` dictionary id to `country` dictionary id (`None`: no country).
    by_address: HashMap<u32, Option<u32>, foldhash::fast::FixedState>,
}

impl CountryFill {
    /// A filler; when not `enabled` it leaves batches as they are (`[enrich] country_lookup`).
    pub fn new(enabled: bool) -> Self {
        CountryFill {
            enabled,
            by_address: HashMap::default(),
        }
    }

    /// Fills the batch's missing countries from its source addresses.
    pub fn apply(&mut self, batch: &mut EventBatch) {
        if !self.enabled || batch.is_empty() {
            return;
        }
        if self.by_address.len() > ADDRESSES_KEPT {
            self.by_address.clear();
        }
        let dicts = Dictionaries::shared();
        let by_address = &mut self.by_address;
        batch.fill_missing_category(COUNTRY, SRC_IP, |address| {
            *by_address.entry(address).or_insert_with(|| {
                let code = geoip::country_of_address(dicts.category_name(SRC_IP, address)?)?;
                dicts.mapping(COUNTRY)?.insert_cat(code).ok()
            })
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::schema::{Event, RawSpan};
    use polars::prelude::*;

    fn batch(rows: &[(Option<&str>, Option<&'static str>)]) -> EventBatch {
        let mut batch = EventBatch::new("test");
        for (i, (ip, country)) in rows.iter().enumerate() {
            let event = Event {
                time: Some(i as i64),
                provider: "aws",
                actor: Some("a".into()),
                src_ip: ip.map(Into::into),
                country: *country,
                ..Default::default()
            };
            let span = RawSpan {
                offset: i as u64,
                len: 1,
                line: i as u64 + 1,
            };
            batch.push(&event, b"x", span, false);
        }
        batch
    }

    fn countries(batch: EventBatch) -> Vec<Option<String>> {
        let frame = batch.into_frame().unwrap();
        let column = frame
            .column(COUNTRY)
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        column
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn missing_countries_of_public_addresses_are_filled_and_given_ones_kept() {
        let rows = [
            (Some("8.8.8.8"), None),
            (Some("8.8.8.8"), Some("DE")),
            (Some("10.0.0.1"), None),
            (Some("ec2.amazonaws.com"), None),
            (None, None),
            (Some("193.0.6.139"), None),
            (Some("8.8.8.8"), None),
        ];
        let mut filled = batch(&rows);
        let fingerprints = filled.fingerprints().to_vec();
        let mut fill = CountryFill::new(true);
        fill.apply(&mut filled);
        assert_eq!(
            filled.fingerprints(),
            fingerprints,
            "fingerprints do not change"
        );
        let expected = ["US", "DE", "", "", "", "NL", "US"];
        let got: Vec<String> = countries(filled)
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        assert_eq!(got, expected);
        assert_eq!(fill.by_address.len(), 4, "one lookup per distinct address");

        let mut untouched = batch(&rows);
        CountryFill::new(false).apply(&mut untouched);
        let got = countries(untouched);
        assert_eq!(
            got.iter().filter(|c| c.is_some()).count(),
            1,
            "turned off, only the record's own country is there: {got:?}"
        );
    }
}
