//! The index of events already loaded: a set of their 64-bit fingerprints, as compact as a
//! hash set of them can be. Every slot is one fingerprint (no control byte, no power-of-two
//! size): a slot is found by scaling the fingerprint, mixed, to the table's size (any
//! fingerprints, hashes or row numbers, spread evenly), collisions take the next free slot. The table
//! is kept between 64 % and 80 % full and grows by a quarter (doubling while small), so
//! at 10,000,000 events it holds 10 to 12.5 bytes per event where a `HashSet<u64>` held 15
//! (2^24 buckets of 9 bytes).

/// A set of fingerprints (see the module's documentation).
#[derive(Debug, Clone, Default)]
pub struct Fingerprints {
    /// The table; 0 is an empty slot.
    slots: Vec<u64>,
    /// Fingerprints in `slots`.
    len: usize,
    /// Whether the fingerprint 0 (which cannot go in a slot) is in the set.
    has_zero: bool,
}

/// Fullness at which the table grows: 4/5.
const MAX_LOAD: (usize, usize) = (4, 5);
/// Below this many slots the table doubles; from there on it grows by a quarter.
const DOUBLE_BELOW: usize = 1 << 16;
/// The first table's slots.
const FIRST_SLOTS: usize = 64;

impl Fingerprints {
    /// Adds a fingerprint; whether it was new.
    pub fn insert(&mut self, fingerprint: u64) -> bool {
        if fingerprint == 0 {
            return !std::mem::replace(&mut self.has_zero, true);
        }
        if (self.len + 1) * MAX_LOAD.1 > self.slots.len() * MAX_LOAD.0 {
            self.grow();
        }
        let slot = self.find(fingerprint);
        if self.slots[slot] == fingerprint {
            return false;
        }
        self.slots[slot] = fingerprint;
        self.len += 1;
        true
    }

    /// Whether the fingerprint is in the set.
    #[cfg(test)]
    fn contains(&self, fingerprint: u64) -> bool {
        if fingerprint == 0 {
            return self.has_zero;
        }
        !self.slots.is_empty() && self.slots[self.find(fingerprint)] == fingerprint
    }

    /// How many fingerprints the set holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len + usize::from(self.has_zero)
    }

    /// The bytes the table holds.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u64>()
    }

    /// The slot holding `fingerprint`, or the free slot where it would go. The table is
    /// never full, so the search ends.
    fn find(&self, fingerprint: u64) -> usize {
        let size = self.slots.len();
        let mut slot = home(fingerprint, size);
        loop {
            let held = self.slots[slot];
            if held == fingerprint || held == 0 {
                return slot;
            }
            slot += 1;
            if slot == size {
                slot = 0;
            }
        }
    }

    /// A larger table with the same fingerprints. Reading the old one in slot order writes
    /// the new one nearly in order too (a slot is the fingerprint scaled to the size).
    fn grow(&mut self) {
        let size = self.slots.len();
        let new_size = if size < DOUBLE_BELOW {
            (size * 2).max(FIRST_SLOTS)
        } else {
            size + size / 4
        };
        let old = std::mem::replace(&mut self.slots, vec![0; new_size]);
        for fingerprint in old.into_iter().filter(|&f| f != 0) {
            let slot = self.find(fingerprint);
            self.slots[slot] = fingerprint;
        }
    }
}

/// The slot a fingerprint starts looking from: its place in `size` slots, by the high bits
/// of the fingerprint mixed (a lake's rows are numbered 0, 1, 2, ...: unmixed, their high bits
/// are all 0, every one would start at slot 0 and each insert would walk all the others).
fn home(fingerprint: u64, size: usize) -> usize {
    ((u128::from(mix(fingerprint)) * size as u128) >> 64) as usize
}

/// SplitMix64's finalizer: every input bit moves every output bit.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the sequence (repeats, 0, values crowding one end of the table), the set
        /// answers what a `HashSet` answers, insert by insert.
        #[test]
        fn answers_as_a_hash_set_does(values in prop::collection::vec(
            prop_oneof![any::<u64>(), 0..64u64, Just(0u64), (u64::MAX - 64)..=u64::MAX],
            0..3_000,
        )) {
            let mut set = Fingerprints::default();
            let mut expected = HashSet::new();
            for &value in &values {
                prop_assert_eq!(set.contains(value), expected.contains(&value));
                prop_assert_eq!(set.insert(value), expected.insert(value));
                prop_assert_eq!(set.len(), expected.len());
            }
            for &value in &values {
                prop_assert!(set.contains(value));
                prop_assert!(!set.contains(value.wrapping_add(1)) || expected.contains(&value.wrapping_add(1)));
            }
        }
    }

    /// Slots a search for `fingerprint` looks at.
    fn probes(set: &Fingerprints, fingerprint: u64) -> usize {
        let size = set.slots.len();
        let mut slot = home(fingerprint, size);
        let mut probes = 1;
        while set.slots[slot] != fingerprint && set.slots[slot] != 0 {
            slot = (slot + 1) % size;
            probes += 1;
        }
        probes
    }

    #[test]
    fn row_numbers_spread_over_the_table_as_hashes_do() {
        // A lake's events are fingerprinted by their row numbers: 0, 1, 2, ...
        let mut set = Fingerprints::default();
        for row in 1..=200_000u64 {
            assert!(set.insert(row));
        }
        let total: usize = (1..=200_000u64).map(|row| probes(&set, row)).sum();
        let mean = total as f64 / 200_000.0;
        assert!(mean < 4.0, "{mean} slots looked at per fingerprint");
    }

    #[test]
    fn a_million_fingerprints_take_at_most_twelve_and_a_half_bytes_each() {
        let mut set = Fingerprints::default();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000_000 {
            // splitmix64: uniform fingerprints, as the loader's hashes are.
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            assert!(set.insert(z ^ (z >> 31)));
        }
        assert_eq!(set.len(), 1_000_000);
        assert!(set.heap_bytes() <= 12_500_000, "{}", set.heap_bytes());
        assert!(set.heap_bytes() >= 10_000_000, "{}", set.heap_bytes());
    }
}
