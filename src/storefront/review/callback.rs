//! Which webhook URLs a buyer may register: public HTTPS only. Checked when the sync arrives (a
//! refusal fails its creatives and queues nothing) and again before every send, where the
//! connection also goes through the SSRF guard (`crate::outbound`: the name resolved once and the
//! connection pinned to the checked addresses, no redirects, bodies capped).

use std::net::IpAddr;

/// A test-only allowance: `http://` to a loopback address literal (the suite's webhook receiver).
/// Never on by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub allow_loopback: bool,
}

/// Names that only mean something inside a network: single labels, `localhost`, and the suffixes
/// reserved or customary for private use (RFC 6761, RFC 6762, RFC 8375, ICANN's `.internal`).
const INTERNAL_SUFFIXES: &[&str] = &[
    "localhost",
    "local",
    "internal",
    "localdomain",
    "home.arpa",
    "lan",
    "intranet",
    "corp",
    "home",
    "private",
];

/// Cloud metadata services, by name (their addresses are link-local or unique-local, refused as
/// such).
const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata",
    "instance-data",
    "metadata.azure.com",
];

fn internal_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    !host.contains('.')
        || METADATA_NAMES.contains(&host.as_str())
        || INTERNAL_SUFFIXES
            .iter()
            .any(|s| host == *s || host.ends_with(&format!(".{s}")))
}

/// Why a callback URL is refused, said to the buyer.
pub fn check(raw: &str, policy: Policy) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|_| "the callback URL is not a URL".to_owned())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the callback URL must not carry credentials".into());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            // `url` already turned IPv4 forms (decimal, hex, octal) into addresses; what is left
            // is a name.
            if internal_name(d) {
                return Err(format!("the callback host '{d}' is not a public DNS name"));
            }
            None
        }
        None => return Err("the callback URL has no host".into()),
    };
    let loopback_allowed = policy.allow_loopback && ip.is_some_and(|ip| ip.is_loopback());
    if loopback_allowed {
        return match url.scheme() {
            "http" | "https" => Ok(url),
            _ => Err("the callback URL must be https".into()),
        };
    }
    if url.scheme() != "https" {
        return Err("the callback URL must be https".into());
    }
    if let Some(ip) = ip {
        if !crate::outbound::is_public(ip) {
            return Err(format!("the callback address {ip} is not a public address"));
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form the issue names, refused with the default policy.
    pub const BLOCKED: &[&str] = &[
        "http://hooks.buyer.com/adcp",
        "ftp://hooks.buyer.com/adcp",
        "https://localhost/x",
        "https://LOCALHOST./x",
        "https://hooks.localhost/x",
        "https://10.0.0.1/x",
        "https://172.16.5.4/x",
        "https://192.168.1.1/x",
        "https://127.0.0.1/x",
        "https://127.1/x",
        "https://2130706433/x",
        "https://0x7f000001/x",
        "https://[::1]/x",
        "https://169.254.10.10/x",
        "https://[fe80::1]/x",
        "https://100.64.0.1/x",
        "https://224.0.0.1/x",
        "https://[ff02::1]/x",
        "https://240.0.0.1/x",
        "https://0.0.0.0/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00:ec2::254]/x",
        "https://metadata.google.internal/computeMetadata/v1",
        "https://intranet/x",
        "https://hooks.corp.internal/x",
        "https://printer.local/x",
        "https://user:pass@hooks.buyer.com/x",
    ];

    #[test]
    fn only_public_https_passes() {
        for ok in [
            "https://hooks.buyer.com/adcp",
            "https://hooks.buyer.com:9443/adcp?x=1",
            "https://93.184.216.34/x",
        ] {
            assert!(check(ok, Policy::default()).is_ok(), "{ok}");
        }
        for bad in BLOCKED {
            assert!(check(bad, Policy::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_test_allowance_opens_loopback_literals_only() {
        let p = Policy {
            allow_loopback: true,
        };
        assert!(check("http://127.0.0.1:4000/hook", p).is_ok());
        assert!(check("http://[::1]:4000/hook", p).is_ok());
        for still_bad in [
            "http://localhost:4000/hook",
            "https://10.0.0.1/x",
            "https://169.254.169.254/x",
            "http://hooks.buyer.com/x",
        ] {
            assert!(check(still_bad, p).is_err(), "{still_bad}");
        }
    }
}
