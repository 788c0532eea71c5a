#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;

/// Encodes a table as `tools/geoip_data.py` does (before compression).
fn encode(codes: &[&str], v4: &[(u32, u8)], v6: &[(u64, u8)]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(4);
    out.extend_from_slice(b"test");
    out.push(codes.len() as u8);
    for code in codes {
        out.extend_from_slice(code.as_bytes());
    }
    let mut family = |starts: Vec<u64>, countries: Vec<u8>| {
        out.extend_from_slice(&(starts.len() as u32).to_le_bytes());
        let mut previous = 0;
        for start in starts {
            let mut delta = start - previous;
            previous = start;
            loop {
                let byte = (delta & 0x7f) as u8;
                delta >>= 7;
                if delta == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        out.extend_from_slice(&countries);
    };
    family(
        v4.iter().map(|r| u64::from(r.0)).collect(),
        v4.iter().map(|r| r.1).collect(),
    );
    family(
        v6.iter().map(|r| r.0).collect(),
        v6.iter().map(|r| r.1).collect(),
    );
    out
}

fn v4(text: &str) -> Addr {
    // From the std parser: `Addr::parse` reads `0.0.0.0` as no address, the table has a
    // range for it all the same.
    let addr = Addr::from(text.parse::<std::net::IpAddr>().unwrap());
    assert!(addr.v4);
    addr
}

/// 1.0.0.0-1.0.0.255 DE, a gap, 2.0.0.0-2.255.255.255 FR, 3.0.0.0.. JP to the very end;
/// 2001:db9::/32 US, then nothing, then the last /64 of the space GB.
fn small_table() -> CountryTable {
    let raw = encode(
        &["DE", "FR", "JP", "US", "GB", "ZZ"],
        &[
            (0, 0),
            (0x0100_0000, 1),
            (0x0100_0100, 0),
            (0x0200_0000, 2),
            (0x0300_0000, 3),
        ],
        &[
            (0, 0),
            (0x2001_0db9_0000_0000, 4),
            (0x2001_0dba_0000_0000, 0),
            (u64::MAX, 5),
        ],
    );
    CountryTable::decode(&raw).unwrap()
}

#[test]
fn ranges_hold_from_their_start_to_the_next_start() {
    let table = small_table();
    assert_eq!(table.version(), "test");
    assert_eq!(table.country(v4("0.0.0.0")), None, "the first range, empty");
    assert_eq!(table.country(v4("0.255.255.255")), None);
    assert_eq!(
        table.country(v4("1.0.0.0")),
        Some("DE"),
        "a range's first address"
    );
    assert_eq!(
        table.country(v4("1.0.0.255")),
        Some("DE"),
        "its last address"
    );
    assert_eq!(table.country(v4("1.0.1.0")), None, "a gap has no country");
    assert_eq!(table.country(v4("1.255.255.255")), None);
    assert_eq!(table.country(v4("2.0.0.0")), Some("FR"));
    assert_eq!(table.country(v4("2.255.255.255")), Some("FR"));
    assert_eq!(table.country(v4("3.0.0.0")), Some("JP"));
    assert_eq!(
        table.country(v4("255.255.255.255")),
        Some("JP"),
        "the last range holds to the end of the space"
    );
}

#[test]
fn ipv6_is_looked_up_by_its_64_prefix() {
    let table = small_table();
    let addr = |text: &str| Addr::parse(text).unwrap();
    assert_eq!(table.country(addr("2001:db9::")), Some("US"));
    assert_eq!(
        table.country(addr("2001:db9:ffff:ffff:ffff::1")),
        Some("US")
    );
    assert_eq!(table.country(addr("2001:dba::1")), None, "after the range");
    assert_eq!(table.country(addr("2001:db8:ffff::1")), None, "before it");
    assert_eq!(
        table.country(addr("ffff:ffff:ffff:ffff::1")),
        Some("GB"),
        "the last /64 of the space"
    );
    assert_eq!(
        table.country(addr("::ffff:2.1.2.3")),
        Some("FR"),
        "an IPv4-mapped address is its IPv4 address"
    );
}

#[test]
fn codes_that_name_no_country_give_none() {
    // "ZZ" is in the small table's code list but is no ISO 3166 country.
    let table = small_table();
    assert_eq!(
        table.country(Addr::parse("ffff:ffff:ffff:ffff::").unwrap()),
        Some("GB")
    );
    let raw = encode(&["ZZ"], &[(0, 1)], &[(0, 1)]);
    let table = CountryTable::decode(&raw).unwrap();
    assert_eq!(table.country(v4("8.8.8.8")), None);
}

#[test]
fn damaged_tables_are_refused_without_panicking() {
    let good = encode(&["DE"], &[(0, 0), (0x0100_0000, 1)], &[(0, 1)]);
    assert!(CountryTable::decode(&good).is_ok());
    for cut in 0..good.len() {
        assert!(CountryTable::decode(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(CountryTable::decode(&trailing).is_err());
    for (name, bad) in [
        ("magic", {
            let mut b = good.clone();
            b[0] = b'X';
            b
        }),
        ("not from 0", encode(&["DE"], &[(5, 1)], &[(0, 1)])),
        (
            "not increasing",
            encode(&["DE"], &[(0, 0), (0, 1)], &[(0, 1)]),
        ),
        ("index", encode(&["DE"], &[(0, 2)], &[(0, 1)])),
        ("beyond IPv4", {
            let mut b = encode(&["DE"], &[(0, 0)], &[(0, 1)]);
            // Replace the IPv4 table with one whose second start is 2^32.
            let at = MAGIC.len() + 1 + 4 + 1 + 2;
            b.truncate(at);
            b.extend_from_slice(&2u32.to_le_bytes());
            b.extend_from_slice(&[0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 1]);
            b.extend_from_slice(&1u32.to_le_bytes());
            b.extend_from_slice(&[0, 1]);
            b
        }),
    ] {
        assert!(CountryTable::decode(&bad).is_err(), "{name}");
    }
    assert!(CountryTable::decode_compressed(b"not zstd").is_err());
}

#[test]
fn the_bundled_table_decodes_and_names_its_version_in_sources() {
    let table = bundled().expect("the bundled table decodes");
    let sources = include_str!("../../data/geoip/SOURCES.md");
    assert!(
        sources.contains(&format!("`{}`", table.version())),
        "data/geoip/SOURCES.md names version {}",
        table.version()
    );
    assert!(table.v4_starts.len() > 100_000 && table.v6_starts.len() > 100_000);
}

#[test]
fn public_addresses_get_their_registry_country() {
    // The first and last IPv4 blocks the registries assign, and well-known networks.
    for (ip, country) in [
        ("1.0.0.0", "AU"),
        ("1.0.0.255", "AU"),
        ("1.0.1.0", "CN"),
        ("223.255.255.255", "AU"),
        ("8.8.8.8", "US"),
        ("193.0.6.139", "NL"),
        ("81.2.69.142", "GB"),
        (" 8.8.8.8 ", "US"),
        ("::ffff:8.8.8.8", "US"),
        ("2001:4860:4860::8888", "US"),
        ("2a00:1450:4001::1", "IE"),
    ] {
        assert_eq!(country_of_address(ip), Some(country), "{ip}");
    }
    // Nested registry blocks: the more specific one wins inside it.
    assert_eq!(country_of_address("3.2.35.39"), Some("DE"));
    assert_eq!(country_of_address("3.2.35.40"), Some("TR"));
}

#[test]
fn addresses_that_are_not_public_or_not_addresses_get_no_country() {
    for text in [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.255",
        "192.0.2.10",
        "198.51.100.7",
        "203.0.113.9",
        "198.18.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "255.255.255.255",
        "::ffff:10.1.2.3",
        "::1",
        "::",
        "fe80::1",
        "fd12:3456::1",
        "2001:db8::1",
        "ff02::1",
        "2002:808:808::1",
        "64:ff9b::808:808",
        "ec2.amazonaws.com",
        "AWS Internal",
        "",
        "1.2.3",
        "1.2.3.4.5",
        "999.1.1.1",
        "fe80::1%eth0",
        "8.8.8.8/32",
        "[2001:4860::1]:443",
    ] {
        assert_eq!(country_of_address(text), None, "{text:?}");
    }
    assert!(
        !is_special_purpose(v4("172.32.0.1")),
        "just outside 172.16/12"
    );
    assert!(
        !is_special_purpose(v4("100.128.0.1")),
        "just outside 100.64/10"
    );
}

proptest! {
    #[test]
    fn lookup_never_panics_on_any_ipv4(ip in any::<u32>()) {
        let addr = Addr { bits: u128::from(ip), v4: true };
        let country = bundled().unwrap().country(addr);
        prop_assert!(country.is_none_or(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn lookup_never_panics_on_any_ipv6(ip in any::<u128>()) {
        let country = bundled().unwrap().country(Addr { bits: ip, v4: false });
        prop_assert!(country.is_none_or(|c| c.len() == 2));
    }

    #[test]
    fn lookup_never_panics_on_any_text(text in ".{0,60}") {
        let _ = country_of_address(&text);
    }

    #[test]
    fn decoding_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut raw = MAGIC.to_vec();
        raw.extend_from_slice(&bytes);
        let _ = CountryTable::decode(&raw);
        let _ = CountryTable::decode(&bytes);
    }
}
