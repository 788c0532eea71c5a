//! IP addresses and networks as the whole crate reads them: one parser for the addresses in
//! logs, the `ip:` terms of a filter and the trusted networks of the detection config, so
//! they cannot disagree. An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is the IPv4
//! address it carries, as it is on the wire.

use std::net::IpAddr;

/// An address as 128 bits (IPv4 in the low 32) and whether it is IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Addr {
    /// The address bits; an IPv4 address uses the low 32.
    pub bits: u128,
    /// Whether it is IPv4 (an IPv4-mapped IPv6 address is).
    pub v4: bool,
}

impl Addr {
    /// Parses an address as written in a log or a filter (surrounding spaces allowed). The
    /// unspecified address (`0.0.0.0`, `::`) is no one's address: providers write it when
    /// they have none, so it is not one here.
    pub fn parse(text: &str) -> Option<Addr> {
        let addr = Addr::from(text.trim().parse::<IpAddr>().ok()?);
        (addr.bits != 0).then_some(addr)
    }
}

/// Whether a source-address value says the provider had no address: empty, `-`, a null
/// word, or the unspecified address (`0.0.0.0`, `::`). Such values are loaded as null.
/// Named placeholders (`private`, `gce-internal-ip`, `AWS Internal`, a service's host name)
/// say something about the caller and stay as written; they are never addresses either
/// ([`Addr::parse`] reads none).
pub fn no_address(text: &str) -> bool {
    let text = text.trim();
    if text.is_empty() || text == "-" {
        return true;
    }
    if ["null", "<null>", "none", "n/a", "unknown"]
        .iter()
        .any(|word| text.eq_ignore_ascii_case(word))
    {
        return true;
    }
    // Only zeros, dots, colons (and the `ffff` of an IPv4-mapped form) can spell it: most
    // addresses are rejected at their first byte, without parsing.
    text.bytes()
        .all(|b| matches!(b, b'0' | b'.' | b':' | b'f' | b'F'))
        && text
            .parse::<IpAddr>()
            .is_ok_and(|ip| Addr::from(ip).bits == 0)
}

impl From<IpAddr> for Addr {
    fn from(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Addr {
                bits: u128::from(u32::from(a)),
                v4: true,
            },
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Addr {
                    bits: u128::from(u32::from(v4)),
                    v4: true,
                },
                None => Addr {
                    bits: u128::from(a),
                    v4: false,
                },
            },
        }
    }
}

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address. A block written in
/// IPv4-mapped form (`::ffff:10.0.0.0/104`) is the IPv4 block it maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: u128,
    mask: u128,
    v4: bool,
}

impl Cidr {
    /// Parses a CIDR block or a single address; the prefix is one to three digits.
    pub fn parse(text: &str) -> Option<Cidr> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let prefix: Option<u32> = match prefix {
            None => None,
            Some(p) if (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse().ok()?)
            }
            Some(_) => return None,
        };
        let (bits, v4, width, prefix) = match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (u128::from(u32::from(a)), true, 32, prefix.unwrap_or(32)),
            IpAddr::V6(a) => match (a.to_ipv4_mapped(), prefix) {
                (Some(m), Some(p)) if p >= 96 => (u128::from(u32::from(m)), true, 32, p - 96),
                (Some(m), None) => (u128::from(u32::from(m)), true, 32, 32),
                _ => (u128::from(a), false, 128, prefix.unwrap_or(128)),
            },
        };
        if prefix > width {
            return None;
        }
        let full = if v4 { u128::from(u32::MAX) } else { u128::MAX };
        let mask = u128::MAX
            .checked_shl(width - prefix)
            .map_or(0, |m| m & full);
        Some(Cidr {
            net: bits & mask,
            mask,
            v4,
        })
    }

    /// Whether the block is IPv4 (written so, or IPv4-mapped).
    pub fn is_v4(&self) -> bool {
        self.v4
    }

    /// The first and last IPv4 address of an IPv4 block as numbers (meaningless for IPv6).
    pub fn v4_range(&self) -> (u32, u32) {
        let net = (self.net & u128::from(u32::MAX)) as u32;
        let mask = (self.mask & u128::from(u32::MAX)) as u32;
        (net, net | !mask)
    }

    /// Whether a parsed address is inside the block.
    pub fn contains(&self, addr: Addr) -> bool {
        addr.v4 == self.v4 && addr.bits & self.mask == self.net
    }

    /// The one address of a block that holds only one (`/32`, `/128`, or no prefix).
    pub fn single(&self) -> Option<Addr> {
        let full = if self.v4 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        (self.mask == full).then_some(Addr {
            bits: self.net,
            v4: self.v4,
        })
    }

    /// Whether an address as written (in a log) is inside the block; text that is no
    /// address is not.
    pub fn contains_text(&self, addr: &str) -> bool {
        Addr::parse(addr).is_some_and(|a| self.contains(a))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_no_address() {
        for none in [
            "",
            " ",
            "-",
            "0.0.0.0",
            "::",
            "::0",
            "::ffff:0.0.0.0",
            "<null>",
            "Unknown",
        ] {
            assert!(no_address(none), "{none:?}");
            assert_eq!(Addr::parse(none), None, "{none:?}");
        }
        // Named placeholders stay (they say where the caller was), but are no address.
        for named in [
            "private",
            "gce-internal-ip",
            "AWS Internal",
            "ec2.amazonaws.com",
        ] {
            assert!(!no_address(named), "{named}");
            assert_eq!(Addr::parse(named), None, "{named}");
        }
        for address in ["10.0.0.1", "0.0.0.1", "::1", "ff02::1", "2001:db8::"] {
            assert!(!no_address(address), "{address}");
            assert!(Addr::parse(address).is_some(), "{address}");
        }
        // The whole internet as a filter's block still parses: it is a block, not an address.
        assert!(Cidr::parse("0.0.0.0/0").is_some());
    }

    #[test]
    fn blocks_contain_their_addresses() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains_text("10.1.2.3") && !net.contains_text("11.0.0.1"));
        assert!(
            !net.contains_text("x"),
            "text that is no address is outside"
        );
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains_text("2001:db8::1") && !v6.contains_text("2001:db9::1"));
        assert!(!v6.contains_text("10.1.2.3"), "families never mix");
        let one = Cidr::parse(" 203.0.113.7 ").unwrap();
        assert!(one.contains_text("203.0.113.7") && !one.contains_text("203.0.113.8"));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains_text("198.51.100.1") && !all.contains_text("::1"));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_ipv4() {
        assert_eq!(
            Addr::parse("::ffff:10.1.2.3"),
            Addr::parse("10.1.2.3"),
            "a mapped address is the IPv4 address it carries"
        );
        assert!(
            Cidr::parse("10.0.0.0/8")
                .unwrap()
                .contains_text("::ffff:10.1.2.3")
        );
        let mapped = Cidr::parse("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(mapped, Cidr::parse("10.0.0.0/8").unwrap());
        assert!(mapped.contains_text("10.9.9.9"));
    }

    #[test]
    fn malformed_blocks_are_refused() {
        for bad in [
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/0008",
            "10.0.0.0/8/8",
            "10.0.0",
            "host.example",
            "",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }
}
