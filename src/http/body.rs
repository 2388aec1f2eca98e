//! JSON request bodies, read under one small cap. A larger body is refused as it streams (at once
//! when its `Content-Length` says so), so no route can be made to buffer more than the cap, and the
//! refusal is our JSON `413 PAYLOAD_TOO_LARGE`, not the framework's text.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::HeaderMap;
use futures::StreamExt;

use crate::error::ApiError;

/// The most any JSON body may hold: as much as an upload's `metadata` part.
pub const MAX_JSON_BYTES: usize = crate::ingest::spool::MAX_METADATA_BYTES;

/// A JSON body's bytes, at most [`MAX_JSON_BYTES`]; parse them with `super::json_body`.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        read(&parts.headers, body).await
    }
}

/// What a declared length says before a byte is read.
fn declared_too_large(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// Reads `body` whole if it is at most [`MAX_JSON_BYTES`]; stops reading at the first byte past it.
pub async fn read(headers: &HeaderMap, body: Body) -> Result<JsonBytes, ApiError> {
    let too_large = ApiError::BodyTooLarge {
        limit: MAX_JSON_BYTES as u64,
    };
    if declared_too_large(headers, MAX_JSON_BYTES) {
        return Err(too_large);
    }
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::validation(format!("reading the body: {e}")))?;
        if buf.len() + chunk.len() > MAX_JSON_BYTES {
            return Err(too_large);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(JsonBytes(Bytes::from(buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_length(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, v.parse().unwrap());
        h
    }

    #[test]
    fn a_declared_length_over_the_cap_is_refused_before_reading() {
        assert!(declared_too_large(&with_length("11"), 10));
        assert!(!declared_too_large(&with_length("10"), 10));
        // Unreadable or absent: the streamed count decides.
        assert!(!declared_too_large(&with_length("lots"), 10));
        assert!(!declared_too_large(&HeaderMap::new(), 10));
    }
}
