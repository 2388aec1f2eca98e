//! `/cdn/*key`: serves stored objects when the service is its own CDN (the default). Keys are
//! content-addressed, so responses are immutable and cache forever.
//!
//! HTML is served sandboxed without `allow-same-origin`: creative script runs in an opaque origin and
//! never reaches the API's cookies, storage or same-origin endpoints. A user's click may still open
//! the landing page (popups that escape the sandbox, top navigation on user activation), and the
//! opaque origin may read public objects because `/cdn` answers CORS for any origin, without
//! credentials.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RANGE,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What served documents may do. Not `allow-same-origin` (script would then share the API's origin)
/// and not `allow-top-navigation` without user activation (no redirecting the publisher's page on
/// load). Clicks (`window.open(clickTag)`, `Enabler.exit`, `target=_top` links) go through.
pub const SANDBOX: &str = "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox \
     allow-top-navigation-by-user-activation";

pub fn router() -> Router<AppState> {
    Router::new()
        // OPTIONS is routed so the CORS layer sees preflights (the API's 405 fallback would answer
        // them first); a plain OPTIONS gets an empty 204.
        .route(
            "/cdn/{*key}",
            get(serve).options(|| async { StatusCode::NO_CONTENT }),
        )
        .layer(cors())
}

/// Objects under `/cdn` are public: any origin (a sandboxed page's is `null`) may read them, so CSS
/// masks, web fonts, `fetch`/XHR of bundle files and `crossorigin` images load. No credentials are
/// ever allowed, so `*` cannot leak anything a cookie would unlock. Preflights (a `Range` header
/// makes one) are answered here and cached for a day.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([RANGE, IF_NONE_MATCH, IF_MODIFIED_SINCE])
        .expose_headers([ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, ETAG])
        .max_age(std::time::Duration::from_secs(86_400))
}

async fn serve(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let path = ObjectPath::parse(&key).map_err(|_| ApiError::NotFound("object"))?;
    let meta = match state.objects.store().head(&path).await {
        Ok(m) => m,
        Err(object_store::Error::NotFound { .. }) => return Err(ApiError::NotFound("object")),
        Err(e) => return Err(e.into()),
    };
    let etag = match &meta.e_tag {
        Some(t) if t.starts_with('"') || t.starts_with("W/") => t.clone(),
        Some(t) => format!("\"{t}\""),
        None => format!("\"{}-{}\"", meta.size, meta.last_modified.timestamp()),
    };
    let content_type = mime_guess::from_path(&key)
        .first_or_octet_stream()
        .essence_str()
        .to_owned();

    let mut out = HeaderMap::new();
    let header = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    out.insert(ETAG, header(&etag));
    out.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    out.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(CONTENT_TYPE, header(&content_type));
    // Every object is sandboxed, not only HTML and SVG: a bundle may carry any document type a
    // browser runs script in (XHTML, XML, ...), and on media the header does nothing.
    out.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));

    out.insert(LAST_MODIFIED, header(&http_date(&meta.last_modified)));
    if not_modified(&headers, &etag, &meta.last_modified) {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }

    let size = meta.size;
    // One satisfiable range: 206. Unsatisfiable: 416. Malformed or several: the whole object (RFC 9110
    // lets a server ignore Range).
    let range = match headers.get(RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(raw) => match http_range_header::parse_range_header(raw) {
            Err(_) => None,
            Ok(parsed) => match parsed.validate(size) {
                Ok(ranges) if ranges.len() == 1 => Some(ranges[0].clone()),
                Ok(_) => None,
                Err(_) => {
                    out.insert(CONTENT_RANGE, header(&format!("bytes */{size}")));
                    return Ok((StatusCode::RANGE_NOT_SATISFIABLE, out).into_response());
                }
            },
        },
    };
    let (status, options, length) = match &range {
        Some(r) => {
            out.insert(
                CONTENT_RANGE,
                header(&format!("bytes {}-{}/{size}", r.start(), r.end())),
            );
            let options = GetOptions {
                range: Some(GetRange::Bounded(*r.start()..r.end() + 1)),
                ..Default::default()
            };
            (
                StatusCode::PARTIAL_CONTENT,
                options,
                r.end() - r.start() + 1,
            )
        }
        None => (StatusCode::OK, GetOptions::default(), size),
    };
    if let Some(file) = state.objects.local_file(&key) {
        return serve_file(file, &content_type, range.as_ref(), out).await;
    }
    out.insert(CONTENT_LENGTH, header(&length.to_string()));
    let result = match state.objects.store().get_opts(&path, options).await {
        Ok(r) => r,
        Err(object_store::Error::NotFound { .. }) => return Err(ApiError::NotFound("object")),
        Err(e) => return Err(e.into()),
    };
    Ok((status, out, Body::from_stream(result.into_stream())).into_response())
}

/// An HTTP-date (IMF-fixdate, RFC 9110 5.6.7).
fn http_date(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Whether a conditional GET is answered 304 (RFC 9110 13.2.2): `If-None-Match` when sent (a weak
/// or strong match, or `*`), else `If-Modified-Since` not before the object's last change (to the
/// second, the resolution of an HTTP-date). A date that does not parse is ignored.
fn not_modified(
    headers: &HeaderMap,
    etag: &str,
    last_modified: &chrono::DateTime<chrono::Utc>,
) -> bool {
    if let Some(v) = headers.get(IF_NONE_MATCH) {
        let bare = etag.trim_start_matches("W/");
        return v.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == bare)
        });
    }
    headers
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .is_some_and(|since| last_modified.timestamp() <= since.timestamp())
}

/// How much of a local file one read takes: large enough that a 50 MB object goes out in a few
/// dozen reads rather than hundreds of 64 KiB ones (tower-http's default), small enough that a
/// thousand concurrent downloads hold a bounded amount of memory.
const READ_CHUNK: usize = 1024 * 1024;

/// Serves a local object with tower-http's `ServeFile` (sized reads off a blocking-pool file, the
/// range logic), then sets this module's headers over its. Conditional requests were answered in
/// `serve`, the same way on every store.
/// `range` is the one range `serve` already validated: several ranges or a malformed header were
/// dropped there (the whole object is served, where `ServeFile` would answer 416).
async fn serve_file(
    file: std::path::PathBuf,
    content_type: &str,
    range: Option<&std::ops::RangeInclusive<u64>>,
    ours: HeaderMap,
) -> ApiResult<Response> {
    use tower::ServiceExt;
    let mut req = axum::http::Request::new(Body::empty());
    if let Some(r) = range {
        let value = HeaderValue::from_str(&format!("bytes={}-{}", r.start(), r.end()))
            .map_err(|e| ApiError::Internal(e.into()))?;
        req.headers_mut().insert(RANGE, value);
    }
    let mime: mime_guess::Mime = content_type
        .parse()
        .unwrap_or(mime_guess::mime::APPLICATION_OCTET_STREAM);
    let served = tower_http::services::ServeFile::new_with_mime(file, &mime)
        .with_buf_chunk_size(READ_CHUNK)
        .oneshot(req)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if served.status() == StatusCode::NOT_FOUND {
        // Deleted between the stat and the open.
        return Err(ApiError::NotFound("object"));
    }
    let (mut parts, body) = served.into_parts();
    for (name, value) in &ours {
        parts.headers.insert(name, value.clone());
    }
    Ok(Response::from_parts(parts, Body::new(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn conditional_requests_follow_rfc_9110() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.600Z")
            .unwrap()
            .to_utc();
        assert_eq!(http_date(&at), "Fri, 02 Jan 2026 03:04:05 GMT");
        let etag = "\"abc\"";
        assert!(not_modified(
            &with(IF_NONE_MATCH, "\"x\", \"abc\""),
            etag,
            &at
        ));
        assert!(not_modified(&with(IF_NONE_MATCH, "W/\"abc\""), etag, &at));
        assert!(not_modified(&with(IF_NONE_MATCH, "*"), etag, &at));
        assert!(!not_modified(&with(IF_NONE_MATCH, "\"x\""), etag, &at));
        assert!(not_modified(
            &with(IF_MODIFIED_SINCE, "Fri, 02 Jan 2026 03:04:05 GMT"),
            etag,
            &at
        ));
        assert!(not_modified(
            &with(IF_MODIFIED_SINCE, "Sat, 03 Jan 2026 00:00:00 GMT"),
            etag,
            &at
        ));
        assert!(!not_modified(
            &with(IF_MODIFIED_SINCE, "Fri, 02 Jan 2026 03:04:04 GMT"),
            etag,
            &at
        ));
        assert!(!not_modified(
            &with(IF_MODIFIED_SINCE, "yesterday"),
            etag,
            &at
        ));
        // If-None-Match wins over a date that alone would match.
        let mut both = with(IF_NONE_MATCH, "\"x\"");
        both.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_static("Sat, 03 Jan 2026 00:00:00 GMT"),
        );
        assert!(!not_modified(&both, etag, &at));
        assert!(!not_modified(&HeaderMap::new(), etag, &at));
    }
}
