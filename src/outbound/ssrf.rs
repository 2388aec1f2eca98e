//! Which addresses are on the public internet. IPv6 is judged by allow-list: only global unicast
//! (2000::/3) outside the special-purpose blocks, plus the forms that embed an IPv4 address (mapped,
//! NAT64, 6to4) when the embedded address is itself public. Everything else (IPv4-compatible,
//! site-local, Teredo, local-use NAT64, ...) can lead inside the network, or nowhere, and is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast: a tunnel to anywhere
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

/// The IPv4 address in the last 32 bits.
fn low_v4(s: [u16; 8]) -> Ipv4Addr {
    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): the gateway connects to the embedded IPv4.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return public_v4(low_v4(s));
    }
    // 6to4 (2002::/16, RFC 3056): the relay forwards to the IPv4 address in bits 16..48.
    if s[0] == 0x2002 {
        let embedded = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return public_v4(embedded);
    }
    // Only global unicast is public; this also rules out ::/96 (IPv4-compatible, loopback,
    // unspecified), 64:ff9b:1::/48 (local-use NAT64), 100::/64 (discard), fc00::/7 (unique local),
    // fe80::/10 (link local), fec0::/10 (site local) and ff00::/8 (multicast).
    (s[0] & 0xe000) == 0x2000
        && (s[0], s[1] & 0xfe00) != (0x2001, 0) // 2001::/23 IETF protocol assignments: Teredo, benchmarking, ORCHID
        && (s[0], s[1]) != (0x2001, 0x0db8) // documentation
        && (s[0] & 0xfff0) != 0x3ff0 // 3fff::/20 documentation (RFC 9637)
}

pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn inside_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "192.88.99.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "8.8.8.8",
            "2a00:1450:4007:80e::200e",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_inside_addresses_are_not_public() {
        for ip in [
            "::127.0.0.1",                          // IPv4-compatible
            "::8.8.8.8",         // IPv4-compatible, deprecated whatever it embeds
            "::ffff:0:7f00:1",   // IPv4-translated (SIIT)
            "fec0::1",           // site local
            "2002:7f00:1::1",    // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::1", // 6to4 of 169.254.169.254
            "2002:0a00:0001::",  // 6to4 of 10.0.0.1
            "2001::1",           // Teredo
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo with a client address
            "2001:2::1",         // benchmarking
            "2001:db8::1",       // documentation
            "3fff::1",           // documentation (RFC 9637)
            "64:ff9b::7f00:1",   // NAT64 of 127.0.0.1
            "64:ff9b::10.0.0.1", // NAT64 of 10.0.0.1
            "64:ff9b::a9fe:a9fe", // NAT64 of the metadata service
            "64:ff9b:1::0808:0808", // local-use NAT64, whatever it embeds
            "100::1",            // discard only
            "ff02::1",           // multicast
            "5f00::1",           // SRv6 SIDs, outside global unicast
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "64:ff9b::8.8.8.8",  // NAT64 of a public address
            "2002:0808:0808::1", // 6to4 of a public address
            "::ffff:8.8.8.8",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
