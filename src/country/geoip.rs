//! The bundled offline address-to-country table: the caller's country for addresses the
//! record gives no country for. Built by `tools/geoip_data.py` from
//! `@ip-location-db/geo-whois-asn-country` (see `data/geoip/SOURCES.md`), embedded
//! zstd-compressed (about 0.5 MB), decoded once on first use and searched by bisection.
//!
//! The table covers the whole address space with ranges that hold until the next one starts
//! (IPv4 by address, IPv6 by /64 prefix); space no registry names is a range without a
//! country. The decoded format is described in the script.

use std::sync::OnceLock;

use crate::net::Addr;

/// The compressed table as `tools/geoip_data.py` writes it.
const BUNDLED: &[u8] = include_bytes!("../../data/geoip/countries.bin.zst");

/// What the decoded table starts with.
const MAGIC: &[u8] = b"TSGEO1";

/// Address ranges and their countries, sorted by start, covering every address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryTable {
    version: String,
    /// Alpha-2 code per country index; index 0 (and a code no country has) is `None`.
    codes: Vec<Option<&'static str>>,
    v4_starts: Vec<u32>,
    v4_countries: Vec<u8>,
    v6_starts: Vec<u64>,
    v6_countries: Vec<u8>,
}

/// The bundled table, decoded on first use; `None` if it does not decode (then no country
/// is looked up, and the reason is logged once).
pub fn bundled() -> Option<&'static CountryTable> {
    static TABLE: OnceLock<Option<CountryTable>> = OnceLock::new();
    TABLE
        .get_or_init(|| match CountryTable::decode_compressed(BUNDLED) {
            Ok(table) => Some(table),
            Err(reason) => {
                log::warn!("the bundled country table is unreadable: {reason}");
                None
            }
        })
        .as_ref()
}

/// The country of a caller's address as written in a log, by the bundled table: `None` for
/// text that is no address, for addresses that are not public (private, loopback,
/// link-local, shared CGNAT space, documentation and other special-purpose blocks) and for
/// public addresses no registry places.
pub fn country_of_address(text: &str) -> Option<&'static str> {
    let addr = Addr::parse(text)?;
    if is_special_purpose(addr) {
        return None;
    }
    bundled()?.country(addr)
}

impl CountryTable {
    /// Decodes a zstd-compressed table.
    pub fn decode_compressed(compressed: &[u8]) -> Result<CountryTable, String> {
        let raw = zstd::decode_all(compressed).map_err(|e| format!("zstd: {e}"))?;
        CountryTable::decode(&raw)
    }

    /// Decodes a table (after decompression); every malformation is an error, never a panic.
    pub fn decode(raw: &[u8]) -> Result<CountryTable, String> {
        let mut input = Reader { raw, at: 0 };
        if input.take(MAGIC.len())? != MAGIC {
            return Err("not a trailscope country table".into());
        }
        let version_len = usize::from(input.byte()?);
        let version = String::from_utf8_lossy(input.take(version_len)?).into_owned();
        let count = usize::from(input.byte()?);
        let mut codes = vec![None];
        for _ in 0..count {
            let code = std::str::from_utf8(input.take(2)?).unwrap_or("");
            codes.push(super::country_code(code).filter(|c| *c == code));
        }
        let v4 = input.ranges(u64::from(u32::MAX), codes.len())?;
        let v6 = input.ranges(u64::MAX, codes.len())?;
        if input.at != raw.len() {
            return Err("bytes after the IPv6 ranges".into());
        }
        Ok(CountryTable {
            version,
            codes,
            // In range: `ranges` refuses starts above the limit it was given.
            v4_starts: v4.0.into_iter().map(|s| s as u32).collect(),
            v4_countries: v4.1,
            v6_starts: v6.0,
            v6_countries: v6.1,
        })
    }

    /// The version of the data the table was built from.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The country of an address (IPv6 by its /64), if the table places it.
    pub fn country(&self, addr: Addr) -> Option<&'static str> {
        let index = if addr.v4 {
            let ip = addr.bits as u32;
            let i = self
                .v4_starts
                .partition_point(|s| *s <= ip)
                .checked_sub(1)?;
            self.v4_countries.get(i)
        } else {
            let prefix = (addr.bits >> 64) as u64;
            let i = self
                .v6_starts
                .partition_point(|s| *s <= prefix)
                .checked_sub(1)?;
            self.v6_countries.get(i)
        }?;
        self.codes.get(usize::from(*index)).copied().flatten()
    }
}

/// A cursor over the decoded bytes.
struct Reader<'a> {
    raw: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.raw.len());
        let end = end.ok_or_else(|| format!("cut short at byte {}", self.at))?;
        let bytes = &self.raw[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn leb128(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f)
                .checked_shl(shift)
                .filter(|v| v >> shift == u64::from(byte & 0x7f))
                .ok_or("a range start overflows")?;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a range start overflows".into())
    }

    /// One family's ranges: strictly increasing starts from 0, at most `max`, and country
    /// indices below `countries`.
    fn ranges(&mut self, max: u64, countries: usize) -> Result<(Vec<u64>, Vec<u8>), String> {
        let count = self.take(4)?;
        let count = u32::from_le_bytes([count[0], count[1], count[2], count[3]]) as usize;
        // Each range takes at least two bytes, which bounds what a bad count allocates.
        if count == 0 || count > self.raw.len() {
            return Err(format!("bad range count {count}"));
        }
        let mut starts = Vec::with_capacity(count);
        let mut start = 0u64;
        for i in 0..count {
            let delta = self.leb128()?;
            if i > 0 && delta == 0 {
                return Err("range starts are not increasing".into());
            }
            start = start
                .checked_add(delta)
                .filter(|s| *s <= max)
                .ok_or("a range start is beyond the address space")?;
            starts.push(start);
        }
        if starts.first() != Some(&0) {
            return Err("the first range does not start at 0".into());
        }
        let indices = self.take(count)?.to_vec();
        if indices.iter().any(|i| usize::from(*i) >= countries) {
            return Err("a country index is out of range".into());
        }
        Ok((starts, indices))
    }
}

/// Blocks whose addresses no registry places in a country (RFC 6890 special-purpose
/// registries, plus multicast): private, loopback, link-local, shared CGNAT space,
/// documentation, benchmarking, reserved, and IPv6 blocks that embed or translate other
/// addresses. Documentation blocks stand for public addresses elsewhere in trailscope; here
/// they get no country, as no place owns them.
pub fn is_special_purpose(addr: Addr) -> bool {
    if addr.v4 {
        let ip = addr.bits as u32;
        const V4: [(u32, u32); 15] = [
            (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
            (0x0a00_0000, 8),  // 10.0.0.0/8 private
            (0x6440_0000, 10), // 100.64.0.0/10 shared (CGNAT)
            (0x7f00_0000, 8),  // 127.0.0.0/8 loopback
            (0xa9fe_0000, 16), // 169.254.0.0/16 link-local
            (0xac10_0000, 12), // 172.16.0.0/12 private
            (0xc000_0000, 24), // 192.0.0.0/24 protocol assignments
            (0xc000_0200, 24), // 192.0.2.0/24 documentation
            (0xc058_6300, 24), // 192.88.99.0/24 6to4 relay anycast
            (0xc0a8_0000, 16), // 192.168.0.0/16 private
            (0xc612_0000, 15), // 198.18.0.0/15 benchmarking
            (0xc633_6400, 24), // 198.51.100.0/24 documentation
            (0xcb00_7100, 24), // 203.0.113.0/24 documentation
            (0xe000_0000, 4),  // 224.0.0.0/4 multicast
            (0xf000_0000, 4),  // 240.0.0.0/4 reserved, broadcast
        ];
        V4.iter()
            .any(|(net, prefix)| ip >> (32 - prefix) == net >> (32 - prefix))
    } else {
        let ip = addr.bits;
        const V6: [(u128, u32); 10] = [
            (0, 96),                      // ::/96 unspecified, loopback, IPv4-compatible
            (0x0064_ff9b << 96, 96),      // 64:ff9b::/96 NAT64
            (0x0064_ff9b_0001 << 80, 48), // 64:ff9b:1::/48 local NAT64
            (0x0100 << 112, 64),          // 100::/64 discard
            (0x2001 << 112, 23),          // 2001::/23 protocol assignments, Teredo
            (0x2001_0db8 << 96, 32),      // 2001:db8::/32 documentation
            (0x2002 << 112, 16),          // 2002::/16 6to4
            (0xfc00 << 112, 7),           // fc00::/7 unique local
            (0xfe80 << 112, 10),          // fe80::/10 link-local
            (0xff00 << 112, 8),           // ff00::/8 multicast
        ];
        V6.iter()
            .any(|(net, prefix)| ip >> (128 - prefix) == net >> (128 - prefix))
    }
}

#[cfg(test)]
#[path = "geoip_tests.rs"]
mod tests;
