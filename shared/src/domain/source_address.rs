use std::net::{IpAddr, Ipv6Addr};

/// Where a request came from, as the log-in throttle counts it: an IPv4 address, or the /64
/// network of an IPv6 address.
///
/// IPv6 is counted per /64 because that is what one subscriber line or one cloud host is
/// given: counting single addresses would let one attacker rotate through 2^64 of them. An
/// IPv4-mapped IPv6 address counts as its IPv4 address. Not a secret, but personal data: it
/// goes into counter keys only, never into a log line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceAddress(String);

impl SourceAddress {
    /// The source of a request from `ip`.
    pub fn of(ip: IpAddr) -> Self {
        let text = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let [a, b, c, d, ..] = v6.segments();
                    format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
                }
            },
        };
        Self(text)
    }

    /// API Gateway's `sourceIp`; anything that is not an IP address (only possible for an
    /// event not made by API Gateway) is one shared "unknown" source, so it is throttled
    /// rather than let through.
    pub fn parse_or_unknown(raw: Option<&str>) -> Self {
        raw.and_then(|raw| raw.trim().parse::<IpAddr>().ok())
            .map_or_else(|| Self("unknown".into()), Self::of)
    }

    /// The normalised form used in keys, e.g. `203.0.113.10` or `2001:db8:1:2::/64`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SourceAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(raw: &str) -> String {
        SourceAddress::parse_or_unknown(Some(raw)).to_string()
    }

    #[test]
    fn an_ipv4_address_is_its_own_source() {
        assert_eq!(source("203.0.113.10"), "203.0.113.10");
        assert_ne!(source("203.0.113.10"), source("203.0.113.11"));
    }

    #[test]
    fn ipv6_addresses_of_one_64_network_are_one_source() {
        assert_eq!(source("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(source("2001:DB8:1:2::1"), source("2001:db8:1:2:ffff::9"));
        assert_ne!(source("2001:db8:1:2::1"), source("2001:db8:1:3::1"));
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_is_the_ipv4_source() {
        assert_eq!(source("::ffff:203.0.113.10"), "203.0.113.10");
    }

    #[test]
    fn a_missing_or_malformed_source_is_the_shared_unknown_source() {
        assert_eq!(SourceAddress::parse_or_unknown(None).to_string(), "unknown");
        assert_eq!(source("not an address"), "unknown");
        assert_eq!(source("203.0.113.10#x"), "unknown");
    }
}
