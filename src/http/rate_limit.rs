//! Rate limits: a token bucket (GCRA, `governor`) per API key on the API, and per client address on
//! the public endpoints (trackers, the storefront MCP). The client address is the TCP peer unless a
//! trusted proxy header is configured; a header nobody configured is never believed, or any client
//! could pick a fresh address per request and escape its bucket.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::error::ApiError;

/// Every this many checks, buckets that have refilled completely are forgotten, so a flood of
/// distinct addresses cannot grow the table for ever.
const PRUNE_EVERY: u64 = 4096;

struct Bucket<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> Bucket<K> {
    fn new(per_sec: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_sec)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Some(Bucket {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            checks: AtomicU64::new(0),
        })
    }

    /// Ok, or the whole seconds (at least 1) until a request of `key` would be let through.
    fn check(&self, key: &K) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Whole seconds for `Retry-After`, rounded up: a client coming back sooner is refused again.
            (wait.as_secs_f64().ceil() as u64).max(1)
        })
    }
}

/// Which limit refused a request, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    ApiKey,
    Public,
}

impl Scope {
    fn label(self) -> &'static str {
        match self {
            Scope::ApiKey => "api_key",
            Scope::Public => "public",
        }
    }
}

/// The service's limits, built once from the settings; a rate of 0 leaves that limit off.
pub struct RateLimits {
    per_key: Option<Bucket<String>>,
    per_client: Option<Bucket<IpAddr>>,
    proxy_header: Option<HeaderName>,
}

impl RateLimits {
    pub fn from_config(c: &Config) -> anyhow::Result<RateLimits> {
        let proxy_header = c
            .trusted_proxy_header
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| {
                HeaderName::try_from(h.to_ascii_lowercase())
                    .map_err(|_| anyhow::anyhow!("TRUSTED_PROXY_HEADER '{h}' is not a header name"))
            })
            .transpose()?;
        Ok(RateLimits {
            per_key: Bucket::new(c.rate_limit_key_per_sec, c.rate_limit_key_burst),
            per_client: Bucket::new(c.rate_limit_public_per_sec, c.rate_limit_public_burst),
            proxy_header,
        })
    }

    /// A request authenticated by `key` may go on, or the API's 429.
    pub fn check_key(&self, key: &str) -> Result<(), ApiError> {
        match &self.per_key {
            Some(b) => b
                .check(&key.to_owned())
                .map_err(|s| refused(Scope::ApiKey, s)),
            None => Ok(()),
        }
    }

    /// A public request from this client may go on, or the seconds to wait.
    pub fn check_client(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<(), u64> {
        let Some(bucket) = &self.per_client else {
            return Ok(());
        };
        let forwarded = self
            .proxy_header
            .as_ref()
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok());
        match client_address(peer, self.proxy_header.is_some(), forwarded) {
            Some(ip) => bucket.check(&ip).inspect_err(|_| {
                crate::metrics::rate_limited(Scope::Public.label());
            }),
            // No peer (a request built in-process) and no header: nothing to tell clients apart by.
            None => Ok(()),
        }
    }
}

fn refused(scope: Scope, retry_after_secs: u64) -> ApiError {
    crate::metrics::rate_limited(scope.label());
    ApiError::RateLimited { retry_after_secs }
}

/// The address a public request is counted against. Behind a trusted proxy, the last entry of its
/// header (the one that proxy appended: earlier entries are whatever the client sent); a request
/// that reached us without the header did not come through the proxy and is counted by its peer.
pub fn client_address(
    peer: Option<IpAddr>,
    behind_proxy: bool,
    header: Option<&str>,
) -> Option<IpAddr> {
    if behind_proxy {
        if let Some(ip) = header
            .and_then(|h| h.rsplit(',').next())
            .map(str::trim)
            .and_then(|last| last.parse::<IpAddr>().ok())
        {
            return Some(ip);
        }
    }
    peer
}

/// The peer address of a request served by the listener.
pub fn peer_of(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Middleware on public routes: the per-client bucket, else 429 with `Retry-After`.
pub async fn per_client(
    State(limits): State<std::sync::Arc<RateLimits>>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    limits
        .check_client(req.headers(), peer_of(&req))
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    #[test]
    fn the_header_counts_only_behind_a_configured_proxy() {
        let spoofed = Some("203.0.113.9");
        assert_eq!(client_address(PEER, false, spoofed), PEER);
        assert_eq!(
            client_address(PEER, true, spoofed),
            Some("203.0.113.9".parse().unwrap())
        );
    }

    #[test]
    fn behind_a_proxy_the_last_hop_is_the_client() {
        // The client wrote the first entry; the proxy appended the address it saw.
        let h = Some("1.2.3.4, 198.51.100.7");
        assert_eq!(
            client_address(PEER, true, h),
            Some("198.51.100.7".parse().unwrap())
        );
        // No header or garbage: the request did not come through the proxy; its peer counts.
        assert_eq!(client_address(PEER, true, None), PEER);
        assert_eq!(client_address(PEER, true, Some("nonsense")), PEER);
    }

    #[test]
    fn a_bucket_lets_the_burst_through_then_says_when_to_come_back() {
        let b: Bucket<u8> = Bucket::new(1, 3).unwrap();
        for _ in 0..3 {
            assert_eq!(b.check(&1), Ok(()));
        }
        assert_eq!(b.check(&1), Err(1));
        // Another key has its own bucket.
        assert_eq!(b.check(&2), Ok(()));
        assert!(Bucket::<u8>::new(0, 10).is_none(), "rate 0 is off");
    }
}
