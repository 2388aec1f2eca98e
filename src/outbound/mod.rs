//! Outbound HTTP (sellers, later webhooks) through one client whose every connection passes the
//! SSRF guard: a URL naming, or resolving to, a private, loopback, link-local or otherwise
//! non-public address is refused unless private targets are explicitly allowed (tests, labs).

mod ssrf;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub use ssrf::is_public;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("{0}")]
    Blocked(String),
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
}

/// Why reading an answer's body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("larger than {} MiB", .0 / (1024 * 1024))]
    TooLarge(usize),
    #[error(transparent)]
    Read(#[from] reqwest::Error),
}

/// The body of `res`, read no further than `max` bytes, whatever length it declares (or does not).
pub async fn read_capped(res: reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    if res.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge(max));
    }
    let mut out = Vec::new();
    let mut stream = res.bytes_stream();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        push_capped(&mut out, &chunk?, max)?;
    }
    Ok(out)
}

/// Appends `chunk` to a body being read, refusing one over `max` bytes.
pub fn push_capped(buf: &mut Vec<u8>, chunk: &[u8], max: usize) -> Result<(), BodyError> {
    if buf.len() + chunk.len() > max {
        return Err(BodyError::TooLarge(max));
    }
    buf.extend_from_slice(chunk);
    Ok(())
}

/// Resolves names and keeps only addresses the policy allows, so a DNS answer cannot point a
/// request at the inside of the network.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address").into();
                return Err(e);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    pub fn new(allow_private: bool, timeout: Duration) -> anyhow::Result<Outbound> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            // A redirect could lead anywhere; AdCP endpoints answer where they are asked.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("creative-manifests/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Outbound {
            client,
            allow_private,
        })
    }

    /// Checks a target before a request: http(s) only, and a literal IP host must be allowed
    /// (literal IPs never reach the resolver).
    pub fn check(&self, raw: &str) -> Result<url::Url, OutboundError> {
        let url = url::Url::parse(raw).map_err(|e| OutboundError::InvalidUrl(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::InvalidUrl(format!(
                "{raw}: only http and https"
            )));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(OutboundError::InvalidUrl(format!("{raw}: no host"))),
        };
        if let Some(ip) = ip {
            if !self.allow_private && !is_public(ip) {
                return Err(OutboundError::Blocked(format!(
                    "{ip} is not a public address; refusing to connect"
                )));
            }
        }
        Ok(url)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}
