//! Outbound HTTP (sellers, later webhooks) through one client whose every connection passes the
//! SSRF guard: a URL naming, or resolving to, a private, loopback, link-local or otherwise
//! non-public address is refused unless private targets are explicitly allowed (tests, labs).

pub mod public_url;
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
/// request at the inside of the network. The configured proxy's own name is the one exception: the
/// operator chose it, and it usually lives inside.
struct GuardedResolver {
    allow_private: bool,
    proxy_host: Option<String>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private
            || self
                .proxy_host
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(name.as_str()));
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address; {ALLOW_HINT}").into();
                return Err(e);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Ends every refusal, so an operator pointing the service at a local seller (the demo seller, a lab)
/// learns the switch from the error itself.
const ALLOW_HINT: &str =
    "set OUTBOUND_ALLOW_PRIVATE=true to allow private and loopback targets (labs, the demo seller)";

#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
    /// Requests go through an explicitly configured proxy, which resolves target names itself.
    proxied: bool,
}

impl Outbound {
    /// `proxy`: the explicitly configured proxy, if any. Proxy variables of the environment are never
    /// used (reqwest honours them by default): the proxy would resolve and reach the target, out of
    /// the guard's sight, and receive the sellers' bearer tokens.
    pub fn new(
        allow_private: bool,
        timeout: Duration,
        proxy: Option<&str>,
    ) -> anyhow::Result<Outbound> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            // A redirect could lead anywhere; AdCP endpoints answer where they are asked.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("creative-manifests/", env!("CARGO_PKG_VERSION")));
        let mut proxy_host = None;
        if let Some(p) = proxy {
            let parsed = url::Url::parse(p)
                .map_err(|e| anyhow::anyhow!("OUTBOUND_PROXY is not a URL: {e}"))?;
            proxy_host = parsed.host_str().map(str::to_owned);
            builder = builder.proxy(reqwest::Proxy::all(p)?);
        }
        let client = builder
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private,
                proxy_host,
            }))
            .build()?;
        Ok(Outbound {
            client,
            allow_private,
            proxied: proxy.is_some(),
        })
    }

    /// Checks a target before a request: http(s) only, and a literal IP host must be allowed
    /// (literal IPs never reach the resolver). Through a proxy, a name is resolved here and every
    /// address it has must be allowed, since the proxy (not our resolver) picks one.
    pub async fn check(&self, raw: &str) -> Result<url::Url, OutboundError> {
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
        if self.allow_private {
            return Ok(url);
        }
        match (ip, url.host_str()) {
            (Some(ip), _) if !is_public(ip) => Err(OutboundError::Blocked(format!(
                "{ip} is not a public address; refusing to connect; {ALLOW_HINT}"
            ))),
            (None, Some(name)) if self.proxied => {
                let port = url.port_or_known_default().unwrap_or(443);
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                    .await
                    .map_err(|e| OutboundError::Blocked(format!("{name}: {e}")))?
                    .collect();
                match addrs.iter().find(|a| !is_public(a.ip())) {
                    Some(a) => Err(OutboundError::Blocked(format!(
                        "{name} resolves to {}, not a public address; refusing to connect; {ALLOW_HINT}",
                        a.ip()
                    ))),
                    None if addrs.is_empty() => Err(OutboundError::Blocked(format!(
                        "{name} resolves to no address"
                    ))),
                    None => Ok(url),
                }
            }
            _ => Ok(url),
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A GET of something a buyer pointed at (a VAST tag, a picture on a DAM or CDN), following
    /// redirects as those hosts use them, each hop through the guard again (the client itself
    /// follows none). The answer is the first that is not a redirect, whatever its status.
    pub async fn get_following(&self, raw: &str) -> Result<reqwest::Response, FetchError> {
        let mut target = self.check(raw).await.map_err(FetchError::Refused)?;
        let mut hops = 0;
        loop {
            let res = self
                .client
                .get(target.clone())
                .send()
                .await
                .map_err(FetchError::Send)?;
            if !res.status().is_redirection() {
                return Ok(res);
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects);
            }
            let status = res.status().as_u16();
            let location = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or(FetchError::NoLocation(status))?;
            let next = target.join(location).map_err(FetchError::BadLocation)?;
            target = self
                .check(next.as_str())
                .await
                .map_err(|e| FetchError::RefusedHop(next.to_string(), e))?;
        }
    }
}

/// How many redirects [`Outbound::get_following`] follows.
pub const MAX_REDIRECTS: usize = 5;

/// Why [`Outbound::get_following`] has no answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(OutboundError),
    #[error("redirects to {0}: {1}")]
    RefusedHop(String, OutboundError),
    #[error("could not be fetched: {0}")]
    Send(reqwest::Error),
    #[error("redirects more than {MAX_REDIRECTS} times")]
    TooManyRedirects,
    #[error("answered HTTP {0} without a Location")]
    NoLocation(u16),
    #[error("redirects to a bad URL: {0}")]
    BadLocation(url::ParseError),
}
