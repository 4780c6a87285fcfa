//! The client's address: the peer's, unless the peer is a trusted proxy (a load balancer), whose
//! `X-Forwarded-For` then names the client. A header from anyone else is ignored, so a client cannot
//! pick its own address to dodge per-address limits.

use std::net::IpAddr;

/// An address or a network (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address.parse::<IpAddr>().ok()?, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Self { address, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(u128::from(net), u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, bits: u8, prefix: u8) -> bool {
    let ignored = u32::from(bits - prefix);
    a.checked_shr(ignored).unwrap_or(0) == b.checked_shr(ignored).unwrap_or(0)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<Network>);

impl TrustedProxies {
    /// The client behind `peer`: the right-most `X-Forwarded-For` entry that is not a trusted proxy,
    /// when `peer` is one; else `peer` itself. `forwarded_for` is every line of the header, joined by
    /// commas in order (empty without one).
    pub fn client(&self, peer: IpAddr, forwarded_for: &str) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for.split(',').rev().filter(|hop| !hop.trim().is_empty());
        let mut client = peer;
        for hop in hops.map(|hop| hop.trim().parse::<IpAddr>()) {
            match hop {
                Ok(ip) if self.trusts(ip) => client = ip,
                Ok(ip) => return ip,
                Err(_) => break,
            }
        }
        client
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies =
            TrustedProxies(vec![Network::parse("10.0.0.0/8").unwrap(), Network::parse("::1").unwrap()]);
        let header = "203.0.113.9, 198.51.100.7, 10.1.2.3";

        assert_eq!(
            proxies.client(ip("10.0.0.1"), header),
            ip("198.51.100.7"),
            "the first untrusted hop from the right"
        );
        assert_eq!(
            proxies.client(ip("192.0.2.1"), header),
            ip("192.0.2.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(proxies.client(ip("::1"), ""), ip("::1"));
        assert_eq!(proxies.client(ip("10.0.0.1"), "garbage"), ip("10.0.0.1"));
        // A client's own line, then the one its balancer added: the balancer's names the client.
        assert_eq!(proxies.client(ip("10.0.0.1"), "6.6.6.6,203.0.113.5"), ip("203.0.113.5"));
        assert_eq!(TrustedProxies::default().client(ip("10.0.0.1"), header), ip("10.0.0.1"));
    }

    #[test]
    fn networks_parse_and_match_by_prefix() {
        let net = Network::parse("192.168.0.0/16").unwrap();
        assert!(
            net.contains(ip("192.168.40.2")) && !net.contains(ip("192.169.0.1")) && !net.contains(ip("::1"))
        );
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["192.168.0.0/33", "not an address", "10.0.0.0/x"] {
            assert_eq!(Network::parse(bad), None, "{bad}");
        }
    }
}
