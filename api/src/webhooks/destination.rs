//! Where a webhook may be sent, checked at registration and again at every attempt, so that an
//! endpoint cannot turn the server against the network it runs in (SSRF): `https` only; no
//! credentials in the URL; never a private, loopback, link-local (cloud metadata), shared,
//! multicast or reserved address, whether written in the URL or returned by DNS. The host is
//! resolved at delivery time by [`GuardedResolver`], and the connection goes to the addresses
//! it checked (no second lookup an attacker's DNS could answer differently). Redirects are not
//! followed, no proxy is used, every attempt has a timeout.
//!
//! Loopback (and plain `http` to loopback) is allowed only when
//! `TUMAINI_WEBHOOK_ALLOW_LOOPBACK` says so: development and tests, never production.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::WebhookSettings;

/// The longest URL accepted.
pub const MAX_URL: usize = 2048;

/// Why a destination is refused. The message names the field (`url`), never its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a URL, or too long.
    #[error("`url` must be an absolute https URL of at most 2048 characters")]
    Malformed,
    /// Not `https` (plain `http` only to loopback where allowed).
    #[error("`url` must use https")]
    NotHttps,
    /// A user name or password in the URL.
    #[error("`url` must not carry credentials")]
    Credentials,
    /// An address (written or resolved) in a forbidden range.
    #[error(
        "`url` must name a public address: private, loopback, link-local, metadata and reserved addresses are refused, and so is a host that does not resolve"
    )]
    ForbiddenAddress,
    /// The host does not resolve. Answered as a forbidden address: told apart, the two would
    /// let whoever registers endpoints probe which internal names exist.
    #[error(
        "`url` must name a public address: private, loopback, link-local, metadata and reserved addresses are refused, and so is a host that does not resolve"
    )]
    Unresolvable,
}

/// Checks a URL's form and, where it is written as an address, the address.
pub fn check_url(text: &str, allow_loopback: bool) -> Result<Url, Refused> {
    if text.len() > MAX_URL {
        return Err(Refused::Malformed);
    }
    let url = Url::parse(text).map_err(|_| Refused::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::Credentials);
    }
    let host = url.host_str().ok_or(Refused::Malformed)?;
    let address = written_address(host);
    let loopback_name = address.is_none() && is_loopback_name(host);
    if let Some(ip) = address
        && !address_allowed(ip, allow_loopback)
    {
        return Err(Refused::ForbiddenAddress);
    }
    if loopback_name && !allow_loopback {
        return Err(Refused::ForbiddenAddress);
    }
    let loopback = loopback_name || address.is_some_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_loopback && loopback => Ok(url),
        _ => Err(Refused::NotHttps),
    }
}

/// The address a URL's host is written as (`[...]` for IPv6), if it is one; the URL parser
/// has already normalised other spellings of IPv4 (`0x7f.1`) to dotted decimal.
fn written_address(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Resolves the URL's host (a name; an address was checked by [`check_url`]) and checks every
/// address it resolves to.
pub async fn check_resolves(url: &Url, allow_loopback: bool) -> Result<(), Refused> {
    let Some(host) = url.host_str() else {
        return Err(Refused::Malformed);
    };
    if written_address(host).is_some() {
        return Ok(());
    }
    resolve_checked(host, allow_loopback).await.map(drop)
}

async fn resolve_checked(name: &str, allow_loopback: bool) -> Result<Vec<SocketAddr>, Refused> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((name, 0))
        .await
        .map_err(|_| Refused::Unresolvable)?
        .collect();
    if found.is_empty() {
        return Err(Refused::Unresolvable);
    }
    // One forbidden address refuses the name: otherwise a name that resolves to a public and a
    // private address would reach the private one on some attempts.
    if found
        .iter()
        .any(|a| !address_allowed(a.ip(), allow_loopback))
    {
        return Err(Refused::ForbiddenAddress);
    }
    Ok(found)
}

/// Whether an address may receive webhooks: public unicast only (loopback too when allowed).
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_allowed(v4, allow_loopback),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_allowed(v4, allow_loopback),
            None => v6_allowed(v6, allow_loopback),
        },
    }
}

fn v4_allowed(ip: Ipv4Addr, allow_loopback: bool) -> bool {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        return allow_loopback;
    }
    !(ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16: cloud metadata lives here
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn v6_allowed(ip: Ipv6Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 is a metadata address)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: may embed a private IPv4 address
        || s[0] == 0x2002 // 6to4: may embed a private IPv4 address
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || s[..6].iter().all(|&x| x == 0)) // IPv4-compatible and other ::/96
}

/// The DNS resolver of the delivery client: resolves, then refuses a name any of whose
/// addresses is forbidden; the client connects only to the addresses returned.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    allow_loopback: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let found = resolve_checked(name.as_str(), allow_loopback)
                .await
                .map_err(|refused| -> Box<dyn std::error::Error + Send + Sync> {
                    Box::new(refused)
                })?;
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client deliveries go through: the guarded resolver, no proxy, no redirects,
/// timeouts, `https` only unless loopback is allowed.
pub fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver {
            allow_loopback: settings.allow_loopback,
        }))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(5)))
        .timeout(settings.timeout)
        .https_only(!settings.allow_loopback)
        .user_agent("Tumaini-Webhooks/1")
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_destinations_pass() {
        assert!(check_url("https://hooks.example.org/tumaini", false).is_ok());
        assert!(check_url("https://203.0.114.7/x", false).is_ok());
        for (url, why) in [
            ("http://hooks.example.org/", Refused::NotHttps),
            ("ftp://hooks.example.org/", Refused::NotHttps),
            ("https://user:pw@hooks.example.org/", Refused::Credentials),
            ("https://10.1.2.3/", Refused::ForbiddenAddress),
            ("https://172.16.0.1/", Refused::ForbiddenAddress),
            ("https://192.168.1.1/", Refused::ForbiddenAddress),
            (
                "https://169.254.169.254/latest/meta-data/",
                Refused::ForbiddenAddress,
            ),
            ("https://100.100.100.200/", Refused::ForbiddenAddress),
            ("https://127.0.0.1/", Refused::ForbiddenAddress),
            ("https://0.0.0.0/", Refused::ForbiddenAddress),
            ("https://[::1]/", Refused::ForbiddenAddress),
            ("https://[fd00:ec2::254]/", Refused::ForbiddenAddress),
            ("https://[fe80::1]/", Refused::ForbiddenAddress),
            ("https://[::ffff:10.0.0.1]/", Refused::ForbiddenAddress),
            ("https://[64:ff9b::a00:1]/", Refused::ForbiddenAddress),
            ("https://localhost/", Refused::ForbiddenAddress),
            ("https://api.localhost/", Refused::ForbiddenAddress),
            ("not a url", Refused::Malformed),
        ] {
            assert_eq!(check_url(url, false).err(), Some(why), "{url}");
        }
    }

    #[test]
    fn loopback_only_when_allowed_and_never_private() {
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(check_url("http://localhost:8080/hook", true).is_ok());
        assert_eq!(
            check_url("http://hooks.example.org/", true).err(),
            Some(Refused::NotHttps)
        );
        assert_eq!(
            check_url("http://10.0.0.1/", true).err(),
            Some(Refused::ForbiddenAddress)
        );
    }

    #[test]
    fn the_message_names_the_field_not_the_value() {
        let err = check_url("https://10.9.8.7/secret-path", false).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`url`") && !text.contains("10.9.8.7"),
            "{text}"
        );
    }
}
