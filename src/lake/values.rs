//! Which values each row group of a lake file holds, for the columns an investigator looks
//! up by value (an actor, an address, an event id, a session, a resource): one split-block
//! Bloom filter per row group and column (the filter of the Parquet format, about 12 bits a
//! distinct value, under 1 % false positives), kept in a small file beside the data file,
//! `_<name>.values`, which every engine ignores (a leading `_`). Files are sorted by time, so
//! a row group's min/max statistics of `actor` span nearly every actor and skip nothing;
//! these filters skip the groups that cannot hold the value. A file without a readable
//! index, or whose index does not describe its row groups, is read whole.
//!
//! Values are keyed as the filter language compares them, ignoring case. Only an ASCII
//! value is looked up (a non-ASCII one is compared with Unicode case folding, which this
//! index does not model); a stored value is folded to the ASCII text it can equal. Besides
//! ASCII letters only the Kelvin sign and the long s fold to ASCII letters (checked against
//! the regex engine and `to_lowercase` over every character in the tests), so a value with
//! any other non-ASCII character can equal no ASCII value and is left out.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::Result;
use crate::net::Addr;
use crate::schema::{ACCOUNT, ACTOR, ACTOR_ID, EVENT_ID, IDENTITY, RESOURCE, SESSION, SRC_IP};

use super::io_error;

/// The indexed text columns with their tags in the index file (never reused).
const TEXT_COLUMNS: [(&str, u8); 8] = [
    (ACTOR, 1),
    (ACTOR_ID, 2),
    (IDENTITY, 3),
    (ACCOUNT, 4),
    (SRC_IP, 5),
    (EVENT_ID, 7),
    (SESSION, 8),
    (RESOURCE, 9),
];
/// The tag of `src_ip` read as an address (what `ip:` compares).
const ADDRESS: u8 = 6;

/// The first bytes of an index file, then its version.
const MAGIC: &[u8] = b"trailscope-values";
const VERSION: u8 = 1;
/// Bits of filter per distinct value (the Parquet format's SBBF: under 1 % false positives).
const BITS_PER_VALUE: usize = 12;
/// The most 32-byte blocks one filter has (2 MB; a row group of 65,536 distinct values
/// needs 3,072).
const MAX_BLOCKS: usize = 1 << 16;
/// An index file larger than this is not read (the file is read whole instead).
const MAX_INDEX_BYTES: u64 = 256 << 20;
/// The SBBF's salts (Parquet's `BloomFilter` specification).
const SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

/// One value looked up in one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    tag: u8,
    hash: u64,
}

impl Probe {
    /// The probe for a literal filter value of `column`; None when the index cannot answer
    /// (the column is not indexed, or the value is not ASCII).
    pub fn text(column: &str, value: &str) -> Option<Probe> {
        let tag = TEXT_COLUMNS.iter().find(|(c, _)| *c == column)?.1;
        if !value.is_ascii() {
            return None;
        }
        Some(Probe {
            tag,
            hash: xxh3_64(value.to_ascii_lowercase().as_bytes()),
        })
    }

    /// The probe for `src_ip` holding `addr` (as `ip:` compares addresses).
    pub fn address(addr: Addr) -> Probe {
        Probe {
            tag: ADDRESS,
            hash: address_hash(addr),
        }
    }
}

fn address_hash(addr: Addr) -> u64 {
    let mut bytes = [0u8; 17];
    bytes[0] = u8::from(addr.v4);
    bytes[1..].copy_from_slice(&addr.bits.to_le_bytes());
    xxh3_64(&bytes)
}

/// `value` folded to the ASCII text it can equal ignoring case, into `buf`; false when it
/// can equal no ASCII text.
fn fold_stored(value: &str, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    if value.is_ascii() {
        buf.extend(value.bytes().map(|b| b.to_ascii_lowercase()));
        return true;
    }
    for c in value.chars() {
        let folded = match c {
            c if c.is_ascii() => c.to_ascii_lowercase(),
            '\u{212A}' => 'k',
            '\u{17F}' => 's',
            _ => return false,
        };
        buf.push(folded as u8);
    }
    true
}

/// A split-block Bloom filter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bloom {
    blocks: Vec<[u32; 8]>,
}

impl Bloom {
    fn of(hashes: &HashSet<u64>) -> Bloom {
        let blocks = (hashes.len() * BITS_PER_VALUE)
            .div_ceil(256)
            .clamp(1, MAX_BLOCKS);
        let mut bloom = Bloom {
            blocks: vec![[0; 8]; blocks],
        };
        for &hash in hashes {
            let i = bloom.block(hash);
            let mask = mask(hash);
            for (word, bit) in bloom.blocks[i].iter_mut().zip(mask) {
                *word |= bit;
            }
        }
        bloom
    }

    fn block(&self, hash: u64) -> usize {
        (((hash >> 32) * self.blocks.len() as u64) >> 32) as usize
    }

    fn may_contain(&self, hash: u64) -> bool {
        let block = &self.blocks[self.block(hash)];
        block
            .iter()
            .zip(mask(hash))
            .all(|(word, bit)| word & bit != 0)
    }
}

fn mask(hash: u64) -> [u32; 8] {
    let key = hash as u32;
    SALT.map(|salt| 1u32 << (key.wrapping_mul(salt) >> 27))
}

/// The filters of one row group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupValues {
    rows: u64,
    filters: Vec<(u8, Bloom)>,
}

impl GroupValues {
    /// The filters of a row group of lake rows (text columns as the lake stores them); a
    /// column the chunk lacks gets no filter (the group is then never skipped for it).
    pub fn of_chunk(chunk: &DataFrame) -> GroupValues {
        let mut group = GroupValues {
            rows: chunk.height() as u64,
            filters: Vec::new(),
        };
        let mut buf = Vec::new();
        for (column, tag) in TEXT_COLUMNS {
            let Some(values) = chunk.column(column).ok().and_then(|c| c.str().ok()) else {
                continue;
            };
            let mut hashes = HashSet::new();
            let mut addresses = HashSet::new();
            for value in values.iter().flatten() {
                if fold_stored(value, &mut buf) {
                    hashes.insert(xxh3_64(&buf));
                }
                if column == SRC_IP
                    && let Some(addr) = Addr::parse(value)
                {
                    addresses.insert(address_hash(addr));
                }
            }
            group.filters.push((tag, Bloom::of(&hashes)));
            if column == SRC_IP {
                group.filters.push((ADDRESS, Bloom::of(&addresses)));
            }
        }
        group
    }

    /// Whether the group may hold `probe`'s value; false only when it certainly does not.
    pub fn may_hold(&self, probe: &Probe) -> bool {
        match self.filters.iter().find(|(tag, _)| *tag == probe.tag) {
            Some((_, bloom)) => bloom.may_contain(probe.hash),
            None => true,
        }
    }
}

/// The filters of every row group of a lake file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileValues {
    /// One per row group.
    pub groups: Vec<GroupValues>,
}

/// Where the index of the lake file `data` is: `_<stem>.values` beside it.
pub fn index_path(data: &Path) -> PathBuf {
    let stem = data
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    data.with_file_name(format!("_{stem}.values"))
}

impl FileValues {
    /// Whether the index describes these row groups (their number and rows).
    pub fn describes(&self, rows: impl ExactSizeIterator<Item = u64>) -> bool {
        rows.len() == self.groups.len() && rows.zip(&self.groups).all(|(r, g)| r == g.rows)
    }

    /// Writes the index of the data file `data` (under a dot-name, then renamed, so an
    /// interrupted write leaves no partial index).
    pub fn write(&self, data: &Path) -> Result<()> {
        let path = index_path(data);
        let partial = path.with_file_name(format!(
            ".{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        ));
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(self.groups.len() as u32).to_le_bytes());
        for group in &self.groups {
            out.extend_from_slice(&group.rows.to_le_bytes());
            out.push(group.filters.len() as u8);
            for (tag, bloom) in &group.filters {
                out.push(*tag);
                out.extend_from_slice(&(bloom.blocks.len() as u32).to_le_bytes());
                for word in bloom.blocks.iter().flatten() {
                    out.extend_from_slice(&word.to_le_bytes());
                }
            }
        }
        let mut file = fs::File::create(&partial).map_err(io_error(&partial))?;
        file.write_all(&out).map_err(io_error(&partial))?;
        file.sync_all().map_err(io_error(&partial))?;
        fs::rename(&partial, &path).map_err(io_error(&path))
    }

    /// The index of the data file `data`; None when there is none or it cannot be read
    /// (a damaged index costs a whole read of the file, never a wrong answer).
    pub fn read(data: &Path) -> Option<FileValues> {
        let path = index_path(data);
        if fs::metadata(&path).ok()?.len() > MAX_INDEX_BYTES {
            return None;
        }
        let bytes = fs::read(&path).ok()?;
        let parsed = parse(&bytes);
        if parsed.is_none() {
            log::warn!(
                "{}: the lake file's value index cannot be read; the file is read whole",
                crate::text::escape_control(&path.display().to_string())
            );
        }
        parsed
    }
}

fn parse(bytes: &[u8]) -> Option<FileValues> {
    let mut at = bytes.strip_prefix(MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, rest) = at.split_at_checked(n)?;
        at = rest;
        Some(head)
    };
    if take(1)? != [VERSION] {
        return None;
    }
    let groups = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let mut out = FileValues::default();
    for _ in 0..groups {
        let rows = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let filters = take(1)?[0];
        let mut group = GroupValues {
            rows,
            filters: Vec::new(),
        };
        for _ in 0..filters {
            let tag = take(1)?[0];
            let blocks = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
            if blocks == 0 || blocks > MAX_BLOCKS {
                return None;
            }
            let words = take(blocks * 32)?;
            let mut bloom = Bloom {
                blocks: vec![[0; 8]; blocks],
            };
            for (word, raw) in bloom.blocks.iter_mut().flatten().zip(words.chunks_exact(4)) {
                *word = u32::from_le_bytes(raw.try_into().ok()?);
            }
            group.filters.push((tag, bloom));
        }
        out.groups.push(group);
    }
    at.is_empty().then_some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn chunk(actors: &[Option<&str>], ips: &[Option<&str>]) -> DataFrame {
        df!(ACTOR => actors, SRC_IP => ips).unwrap()
    }

    #[test]
    fn a_group_holds_its_values_ignoring_case_and_not_others() {
        let values: Vec<String> = (0..5000).map(|i| format!("user-{i}@Example.com")).collect();
        let actors: Vec<Option<&str>> = values.iter().map(|v| Some(v.as_str())).collect();
        let ips = vec![Some("203.0.113.7"); actors.len()];
        let group = GroupValues::of_chunk(&chunk(&actors, &ips));
        for v in &values {
            assert!(group.may_hold(&Probe::text(ACTOR, v).unwrap()));
            assert!(group.may_hold(&Probe::text(ACTOR, &v.to_uppercase()).unwrap()));
        }
        // Values that are not there: under 1 % false positives.
        let absent = (0..20_000)
            .filter(|i| group.may_hold(&Probe::text(ACTOR, &format!("other-{i}")).unwrap()))
            .count();
        assert!(absent < 200, "{absent} false positives in 20,000");
        // Addresses compare as addresses: the IPv4-mapped form is the same address.
        let mapped = crate::net::Cidr::parse("::ffff:203.0.113.7").unwrap();
        assert!(group.may_hold(&Probe::address(mapped.single().unwrap())));
        let other = crate::net::Cidr::parse("203.0.113.8").unwrap();
        assert!(!group.may_hold(&Probe::address(other.single().unwrap())));
        // A column without a filter never rules a group out.
        assert!(group.may_hold(&Probe::text(EVENT_ID, "anything").unwrap()));
        // Non-ASCII values cannot be looked up.
        assert_eq!(Probe::text(ACTOR, "josé"), None);
    }

    #[test]
    fn values_with_the_kelvin_sign_or_long_s_are_found_by_their_ascii_twin() {
        let group = GroupValues::of_chunk(&chunk(
            &[Some("\u{212A}im"), Some("\u{17F}am"), Some("zoë")],
            &[None, None, None],
        ));
        assert!(group.may_hold(&Probe::text(ACTOR, "kim").unwrap()));
        assert!(group.may_hold(&Probe::text(ACTOR, "SAM").unwrap()));
    }

    /// The folding above is complete: no other character equals an ASCII letter, neither
    /// for the regex engine (`field:value` on categoricals) nor for `to_lowercase` (lists).
    #[test]
    fn only_the_kelvin_sign_and_long_s_fold_to_ascii_letters() {
        let regex = regex::Regex::new("(?i)^[a-z]$").unwrap();
        let mut folding = Vec::new();
        for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
            let text = c.to_string();
            if regex.is_match(&text) || c.to_lowercase().all(|l| l.is_ascii_alphabetic()) {
                folding.push(c);
            }
        }
        assert_eq!(folding, vec!['\u{17F}', '\u{212A}']);
    }

    #[test]
    fn an_index_reads_back_and_a_damaged_one_is_no_index() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("part-00.parquet");
        let index = FileValues {
            groups: vec![
                GroupValues::of_chunk(&chunk(&[Some("alice")], &[Some("10.0.0.1")])),
                GroupValues::of_chunk(&chunk(&[Some("bob"), None], &[None, Some("x")])),
            ],
        };
        index.write(&data).unwrap();
        assert_eq!(index_path(&data), dir.path().join("_part-00.values"));
        let read = FileValues::read(&data).unwrap();
        assert_eq!(read, index);
        assert!(read.describes([1u64, 2].into_iter()));
        assert!(!read.describes([1u64, 1].into_iter()));
        assert!(!read.describes([1u64].into_iter()));
        let bytes = fs::read(index_path(&data)).unwrap();
        for cut in [0, 10, MAGIC.len() + 3, bytes.len() - 1] {
            fs::write(index_path(&data), &bytes[..cut]).unwrap();
            assert_eq!(FileValues::read(&data), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        fs::write(index_path(&data), &longer).unwrap();
        assert_eq!(FileValues::read(&data), None);
    }

    proptest::proptest! {
        /// Any stored value is found by any ASCII spelling of it that differs in case, and
        /// an index file of any bytes reads as an index or as none, never a panic.
        #[test]
        fn values_are_found_whatever_their_case_and_any_bytes_parse_or_not(
            values in proptest::collection::vec("[ -~]{0,24}", 1..40),
            flips in proptest::collection::vec(proptest::bool::ANY, 24),
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            let column: Vec<Option<&str>> = values.iter().map(|v| Some(v.as_str())).collect();
            let group = GroupValues::of_chunk(&chunk(&column, &vec![None; column.len()]));
            for v in &values {
                let spelled: String = v
                    .chars()
                    .zip(flips.iter().cycle())
                    .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                    .collect();
                proptest::prop_assert!(group.may_hold(&Probe::text(ACTOR, &spelled).unwrap()));
            }
            let mut framed = MAGIC.to_vec();
            framed.push(VERSION);
            framed.extend(&bytes);
            let _ = parse(&bytes);
            let _ = parse(&framed);
        }
    }
}
