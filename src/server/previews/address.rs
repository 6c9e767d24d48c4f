//! Which addresses a link preview may fetch from (PROTOCOL.md "Link
//! previews"): a server that fetches what people post must never be made
//! to reach its own network (SSRF). The checks are on URLs (scheme,
//! credentials, port) and on the IP addresses a connection would use,
//! after every DNS resolution and on every redirect hop; an IP written in
//! the URL is checked the same way.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a URL or an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not `http:` or `https:`.
    #[error("only http and https links are fetched")]
    Scheme,
    /// A user name or password in the URL.
    #[error("links with credentials are not fetched")]
    Credentials,
    /// A port other than 80 and 443.
    #[error("only ports 80 and 443 are fetched")]
    Port,
    /// No host, or one that does not parse.
    #[error("the link has no usable host")]
    Host,
    /// An address of the server's own or a private network.
    #[error("{0} is not a public address")]
    Address(IpAddr),
}

/// Whether an address is on the public internet: not loopback, private
/// (RFC 1918), link-local, CGNAT (100.64/10), multicast, broadcast,
/// unspecified, documentation, benchmarking or otherwise reserved; for
/// IPv6 also not unique-local (fc00::/7), site-local or an IPv4 address of
/// those kinds mapped (::ffff:a.b.c.d) or translated (64:ff9b::/96) into
/// IPv6.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        // 0.0.0.0/8 "this network"
        || a == 0
        // 100.64.0.0/10 shared address space (CGNAT)
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24 protocol assignments
        || (a == 192 && b == 0 && c == 0)
        // 198.18.0.0/15 benchmarking
        || (a == 198 && (b == 18 || b == 19))
        // 240.0.0.0/4 reserved
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // 64:ff9b::/96, IPv4 translated by NAT64: judge the IPv4 inside.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // fc00::/7 unique local
        || (s[0] & 0xfe00) == 0xfc00
        // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfe80
        // fec0::/10 site-local (deprecated, still routed nowhere public)
        || (s[0] & 0xffc0) == 0xfec0
        // 2001:db8::/32 documentation
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // ::/96 IPv4-compatible (deprecated) and other reserved low space
        || s[..6] == [0, 0, 0, 0, 0, 0]
        // 100::/64 discard-only
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]))
}

/// Checks a URL a preview would fetch before any connection: `http` or
/// `https`, no credentials, port 80 or 443, a host; an IP written as the
/// host must be public (a name is checked when it resolves).
///
/// # Errors
/// What is refused, for the log.
pub fn check_url(url: &url::Url) -> Result<(), Refused> {
    match url.scheme() {
        "http" | "https" => {}
        _ => return Err(Refused::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::Credentials);
    }
    match url.port_or_known_default() {
        Some(80 | 443) => {}
        _ => return Err(Refused::Port),
    }
    match url.host() {
        None => Err(Refused::Host),
        Some(url::Host::Ipv4(ip)) => public_or_refused(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => public_or_refused(IpAddr::V6(ip)),
        Some(url::Host::Domain("")) => Err(Refused::Host),
        Some(url::Host::Domain(_)) => Ok(()),
    }
}

/// `Ok` for a public address, else why not.
///
/// # Errors
/// [`Refused::Address`] for an address that is not public.
pub fn public_or_refused(ip: IpAddr) -> Result<(), Refused> {
    if is_public(ip) {
        Ok(())
    } else {
        Err(Refused::Address(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "198.18.0.1",
            "192.0.0.8",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "::127.0.0.1",
            "100::1",
        ] {
            assert!(!is_public(ip(refused)), "{refused} counted as public");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(public)), "{public} counted as not public");
        }
    }

    #[test]
    fn urls_are_checked_before_any_connection() {
        let check = |s: &str| check_url(&url::Url::parse(s).unwrap());
        assert_eq!(check("https://example.com/a?b#c"), Ok(()));
        assert_eq!(check("http://example.com:80/"), Ok(()));
        assert_eq!(check("ftp://example.com/"), Err(Refused::Scheme));
        assert_eq!(check("file:///etc/passwd"), Err(Refused::Scheme));
        assert_eq!(
            check("https://user:pw@example.com/"),
            Err(Refused::Credentials)
        );
        assert_eq!(
            check("https://user@example.com/"),
            Err(Refused::Credentials)
        );
        assert_eq!(check("https://example.com:8443/"), Err(Refused::Port));
        assert_eq!(check("http://example.com:22/"), Err(Refused::Port));
        assert!(matches!(
            check("http://127.0.0.1/"),
            Err(Refused::Address(_))
        ));
        assert!(matches!(check("http://[::1]/"), Err(Refused::Address(_))));
        assert!(matches!(
            check("http://[::ffff:192.168.0.1]/"),
            Err(Refused::Address(_))
        ));
        // Other spellings of an IP are parsed as one by the URL parser.
        assert!(matches!(
            check("http://2130706433/"),
            Err(Refused::Address(_))
        ));
        assert!(matches!(check("http://0x7f.1/"), Err(Refused::Address(_))));
        assert!(matches!(
            check("http://169.254.169.254/latest/meta-data"),
            Err(Refused::Address(_))
        ));
        assert_eq!(check("http://8.8.8.8/"), Ok(()));
    }
}
