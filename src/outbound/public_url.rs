//! Which endpoints a buyer may give the service to call (storefront review webhooks, webhook (DCO)
//! assets): public HTTPS only, judged from the URL alone without resolving it. Checked when the
//! URL is submitted and again before every call, where the connection also goes through the SSRF
//! guard (the name resolved once and the connection pinned to the checked addresses, no
//! redirects, bodies capped).

use std::net::IpAddr;

/// Allowances for tests and labs, both off by default: `allow_loopback` admits a loopback address
/// literal (the suite's webhook receiver); `allow_private` (`OUTBOUND_ALLOW_PRIVATE`) admits any
/// inside address or name. Either admits `http://` for what it admits, never for a public host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub allow_loopback: bool,
    pub allow_private: bool,
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
    let url = url::Url::parse(raw).map_err(|_| "the URL is not a URL".to_owned())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry credentials".into());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        // `url` already turned IPv4 forms (decimal, hex, octal) into addresses; what is left is
        // a name.
        Some(url::Host::Domain(_)) => None,
        None => return Err("the URL has no host".into()),
    };
    let refusal = match (ip, url.host_str()) {
        (Some(ip), _) if !super::is_public(ip) => {
            Some(format!("the address {ip} is not a public address"))
        }
        (None, Some(d)) if internal_name(d) => {
            Some(format!("the host '{d}' is not a public DNS name"))
        }
        _ => None,
    };
    let allowed_inside = refusal.is_some()
        && (policy.allow_private
            || (policy.allow_loopback && ip.is_some_and(|ip| ip.is_loopback())));
    if allowed_inside {
        return match url.scheme() {
            "http" | "https" => Ok(url),
            _ => Err("the URL must be https".into()),
        };
    }
    // A name is judged before the scheme (an inside name is refused whatever its scheme); an
    // address after it.
    if let (Some(why), None) = (&refusal, ip) {
        return Err(why.clone());
    }
    if url.scheme() != "https" {
        return Err("the URL must be https".into());
    }
    match refusal {
        Some(why) => Err(why),
        None => Ok(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form the issue names, refused with the default policy.
    const BLOCKED: &[&str] = &[
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
            ..Policy::default()
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

    #[test]
    fn the_lab_allowance_opens_inside_targets_never_public_http() {
        let p = Policy {
            allow_private: true,
            ..Policy::default()
        };
        assert!(check("http://127.0.0.1:9000/r", p).is_ok());
        assert!(check("https://10.0.0.5/r", p).is_ok());
        assert!(check("http://dco.internal/r", p).is_ok());
        assert!(check("http://hooks.buyer.com/x", p).is_err());
        assert!(check("https://user:pw@10.0.0.5/x", p).is_err());
    }
}
