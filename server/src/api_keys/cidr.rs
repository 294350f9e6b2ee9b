//! Allowed source networks of a key (`10.0.0.0/8`, `2001:db8::/32`, or one address).

use std::net::IpAddr;

/// A network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a string is not a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a network (CIDR like 10.0.0.0/8 or 2001:db8::/32, or an address)")]
pub struct CidrError(pub String);

impl Cidr {
    /// Parses `a.b.c.d/n`, `v6/n` or a bare address (a /32 or /128). Host bits must be
    /// zero, so a typo like `10.1.2.3/8` is caught.
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let bad = || CidrError(text.chars().take(64).collect());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => {
                let addr: IpAddr = addr.parse().map_err(|_| bad())?;
                if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                (addr, prefix.parse::<u8>().map_err(|_| bad())?)
            }
            None => {
                let addr: IpAddr = text.parse().map_err(|_| bad())?;
                (addr, if addr.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        let cidr = Self {
            network: addr,
            prefix,
        };
        if !cidr.contains(addr) || bits(addr) & !mask(prefix, max) != 0 {
            return Err(bad());
        }
        Ok(cidr)
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if ip.is_ipv4() != self.network.is_ipv4() {
            return false;
        }
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let m = mask(self.prefix, max);
        bits(ip) & m == bits(self.network) & m
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The address as a 128-bit number (IPv4 in the low 32 bits).
fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The network mask of `prefix` bits in an address of `max` bits.
fn mask(prefix: u8, max: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let all: u128 = if max == 128 {
        u128::MAX
    } else {
        (1u128 << max) - 1
    };
    all & !((1u128 << (max - prefix)) - 1)
}

/// Whether `source` is allowed by `cidrs` (empty: anywhere). A key with networks is
/// refused when the source is unknown; an unparsable stored network allows nothing.
pub fn source_allowed(cidrs: &[String], source: Option<IpAddr>) -> bool {
    if cidrs.is_empty() {
        return true;
    }
    let Some(ip) = source else {
        return false;
    };
    cidrs
        .iter()
        .any(|c| Cidr::parse(c).is_ok_and(|c| c.contains(ip)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.255.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.1.1")));
        assert!(!net.contains(ip("::1")));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert_eq!(net.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn malformed_networks_are_refused() {
        for bad in [
            "",
            "10.0.0.0/33",
            "10.1.2.3/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x/8",
            "::/129",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sources_are_checked_only_when_networks_are_set() {
        let nets = vec!["192.168.0.0/16".to_owned()];
        assert!(source_allowed(&[], None));
        assert!(source_allowed(&nets, Some(ip("192.168.3.4"))));
        assert!(!source_allowed(&nets, Some(ip("10.0.0.1"))));
        assert!(!source_allowed(&nets, None));
    }
}
