//! JSON request bodies, read under one small cap. A larger body is refused as it streams (at once
//! when its `Content-Length` says so), so no route can be made to buffer more than the cap, and the
//! refusal is our JSON `413 PAYLOAD_TOO_LARGE`, not the framework's text. [`ApiJson`] parses such a
//! body into a typed input, so a handler's signature says what it reads and a bad body is our JSON
//! `400 VALIDATION_ERROR` naming the field at fault.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::HeaderMap;
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The most any JSON body may hold: as much as an upload's `metadata` part.
pub const MAX_JSON_BYTES: usize = crate::ingest::spool::MAX_METADATA_BYTES;

/// A JSON body's bytes, at most [`MAX_JSON_BYTES`]. Handlers take [`ApiJson`]; the bytes are for
/// the few that must look at a body before choosing its type (the validate dry run).
pub struct JsonBytes(pub Bytes);

/// A JSON body read under [`MAX_JSON_BYTES`] and parsed into `T`. Rejections are [`ApiError`]s: `413
/// PAYLOAD_TOO_LARGE` for a large body, `400 VALIDATION_ERROR` with `field` naming the path at fault
/// (`products[1].budget`, or the missing field itself) for one that does not parse.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = JsonBytes::from_request(req, state).await?;
        json_body(&bytes).map(ApiJson)
    }
}

/// Parses a JSON request body, naming the field at fault on error. It takes only a body read under
/// the JSON cap, so no caller can buffer an unbounded body by mistake.
pub fn json_body<T: DeserializeOwned>(body: &JsonBytes) -> Result<T, ApiError> {
    let text =
        std::str::from_utf8(&body.0).map_err(|_| ApiError::field("body", "body is not UTF-8"))?;
    Ok(crate::manifest::metadata::parse_json(text, "body")?)
}

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
        let chunk = chunk.map_err(|e| {
            if crate::error::is_body_timeout(&e) {
                ApiError::RequestTimeout("the body stalled")
            } else {
                ApiError::validation(format!("reading the body: {e}"))
            }
        })?;
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
