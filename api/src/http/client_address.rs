//! Who the client is, as far as the network says: the address rate limits key on and the audit
//! trail hashes.
//!
//! Behind a reverse proxy every request arrives from the proxy, so without more every user
//! would share one sign-in bucket (30 junk requests a minute would stop everyone signing in).
//! The proxy's header names the client, but anyone can send such headers: only the one header
//! the proxy writes is read (`TUMAINI_FORWARDED_HEADER`: `X-Forwarded-For`, or RFC 7239
//! `Forwarded`; the other is ignored, whatever a client put in it), only when the request comes
//! from a configured trusted proxy (`TUMAINI_TRUSTED_PROXIES`), and from the right, past every
//! trusted hop, so that a value the client itself put in front cannot choose its bucket.
//!
//! Over IPv6 one subscriber holds a whole /64 and can use a new address for every request:
//! rate limits key an IPv6 client by its /64.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;

/// An address block: an address and how many leading bits are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    address: IpAddr,
    prefix: u8,
}

/// The text is not an address or an address block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an IP address or a block such as 10.0.0.0/8 or fd00::/8")]
pub struct InvalidNetwork;

impl FromStr for IpNetwork {
    type Err = InvalidNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match s.trim().split_once('/') {
            Some((address, prefix)) => (
                address.parse::<IpAddr>().map_err(|_| InvalidNetwork)?,
                Some(prefix.parse::<u8>().map_err(|_| InvalidNetwork)?),
            ),
            None => (
                s.trim().parse::<IpAddr>().map_err(|_| InvalidNetwork)?,
                None,
            ),
        };
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(width);
        if prefix > width {
            return Err(InvalidNetwork);
        }
        Ok(Self { address, prefix })
    }
}

impl IpNetwork {
    /// Whether the block holds `address` (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.address, canonical(address)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as the IPv4 address it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// What rate limits key a client by: its IPv4 address, or the /64 its IPv6 address is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of a client address.
    pub fn of(address: IpAddr) -> Self {
        match canonical(address) {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                Self(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
            v4 => Self(v4),
        }
    }

    /// The address (or /64) as text, for the keyed hash in the audit trail.
    pub fn to_text(self) -> String {
        match self.0 {
            IpAddr::V6(v6) => format!("{v6}/64"),
            v4 => v4.to_string(),
        }
    }
}

/// The header a trusted proxy names the client in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1` (what nginx's `$proxy_add_x_forwarded_for` and most
    /// load balancers append to).
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = InvalidNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err(InvalidNetwork),
        }
    }
}

/// Where the client's address is read from behind proxies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// The proxies whose header is believed.
    pub trusted: Vec<IpNetwork>,
    /// The header they write.
    pub header: ForwardedHeader,
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the first address
/// from the right of the forwarding chain that is not itself a trusted proxy.
pub fn client_address(req: &HttpRequest, proxies: &ProxySettings) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| canonical(a.ip()))?;
    Some(resolve(peer, req.headers(), proxies))
}

fn resolve(peer: IpAddr, headers: &HeaderMap, proxies: &ProxySettings) -> IpAddr {
    let is_trusted = |ip: IpAddr| proxies.trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let chain = forwarded_chain(headers, proxies.header);
    // From the right: the nearest hop first. The first one no trusted proxy vouches for is the
    // client; if every hop is trusted, the farthest one is.
    let mut client = peer;
    for hop in chain.iter().rev() {
        let Some(hop) = hop else {
            // An unreadable hop (`unknown`, an obfuscated name): nothing further left is
            // vouched for, so the hop nearest it stands as the client.
            break;
        };
        client = canonical(*hop);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// The forwarding chain of the one header the proxy writes, farthest first. An element that is
/// not an address is `None`.
fn forwarded_chain(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    if header == ForwardedHeader::Forwarded {
        return headers
            .get_all("forwarded")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| forwarded_node(value))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|part| part.trim().parse::<IpAddr>().ok())
        .collect()
}

/// A `for=` node of RFC 7239: `192.0.2.1`, `"192.0.2.1:4711"`, `"[2001:db8::1]:4711"`.
fn forwarded_node(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    let (host, _port) = value.rsplit_once(':')?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_hold_their_addresses() {
        let net: IpNetwork = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.1.2")));
        assert!(net.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped");
        assert!(!net.contains(ip("11.0.0.1")));
        let v6: IpNetwork = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("2001:db8::1")));
        let one: IpNetwork = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("192.0.2.1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "fd00::/129",
            "proxy.example",
            "10.0.0.0/x",
        ] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2:aaaa::1")),
            ClientKey::of(ip("2001:db8:1:2:bbbb:cccc:dddd:eeee"))
        );
        assert_ne!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:3::1"))
        );
        assert_ne!(
            ClientKey::of(ip("192.0.2.1")),
            ClientKey::of(ip("192.0.2.2"))
        );
        assert_eq!(
            ClientKey::of(ip("::ffff:192.0.2.1")),
            ClientKey::of(ip("192.0.2.1"))
        );
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2::9")).to_text(),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn forwarding_headers_are_believed_only_from_a_trusted_proxy() {
        let trusted = ProxySettings {
            trusted: vec!["10.0.0.0/8".parse().unwrap()],
            header: ForwardedHeader::XForwardedFor,
        };
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            resolve(ip("198.51.100.1"), &spoofed, &trusted),
            ip("198.51.100.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &spoofed, &trusted),
            ip("203.0.113.7")
        );
        // The client put a value in front; the proxy appended the real address.
        let prepended = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7")]);
        assert_eq!(
            resolve(ip("10.0.0.2"), &prepended, &trusted),
            ip("203.0.113.7")
        );
        // Two trusted hops.
        let two = headers(&[("x-forwarded-for", "203.0.113.7, 10.0.0.9")]);
        assert_eq!(resolve(ip("10.0.0.2"), &two, &trusted), ip("203.0.113.7"));
        let none = headers(&[]);
        assert_eq!(resolve(ip("10.0.0.2"), &none, &trusted), ip("10.0.0.2"));
        // The header the proxy does not write is not read, whatever a client put in it.
        let both = headers(&[
            ("forwarded", "for=198.51.100.77"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(resolve(ip("10.0.0.2"), &both, &trusted), ip("203.0.113.7"));
        let rfc_proxy = ProxySettings {
            header: ForwardedHeader::Forwarded,
            ..trusted.clone()
        };
        let rfc = headers(&[
            (
                "forwarded",
                "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https",
            ),
            ("x-forwarded-for", "198.51.100.77"),
        ]);
        assert_eq!(resolve(ip("10.0.0.2"), &rfc, &rfc_proxy), ip("2001:db8::7"));
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(
            resolve(ip("10.0.0.2"), &unknown, &rfc_proxy),
            ip("10.0.0.2")
        );
        assert_eq!(
            "X-Forwarded-For".parse(),
            Ok(ForwardedHeader::XForwardedFor)
        );
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
    }
}
