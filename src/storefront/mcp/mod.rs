//! The storefront's MCP face: `POST /storefronts/{id}/mcp`, MCP Streamable HTTP (JSON-RPC 2.0),
//! sessionless. Hand-rolled rather than the `rmcp` SDK: the face is five methods, tools publish the
//! AdCP schemas from the repository as they are, and authentication depends on the tool named
//! inside the body (discovery is public, the rest needs a buyer key), which is simplest to decide
//! here in one place.

pub mod error;
pub mod jsonrpc;
pub mod library_tools;
pub mod schemas;
pub mod tools;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::ids::StorefrontId;
use crate::state::AppState;
use crate::storefront::{store, Storefront};
use error::AdcpError;
use jsonrpc::Message;
use tools::{Caller, Tool};

/// The largest MCP message accepted: a 100-creative sync with inline text assets fits well within;
/// media travel by URL.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/storefronts/{storefront_id}/mcp",
        // Sessionless: there is no server-to-client stream to open with GET.
        post(handle).get(|| async { ApiError::MethodNotAllowed }),
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

async fn handle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    // A public endpoint: each client address has its own bucket, checked before any work.
    let limited = state
        .rate_limits
        .check_client(req.headers(), crate::http::rate_limit::peer_of(&req))
        .err();
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    if let Some(retry_after_secs) = limited {
        return rate_limited(body, &headers, retry_after_secs).await;
    }
    let storefront = match StorefrontId::parse(&id) {
        Some(id) => store::get_public(&state.db, &id).await,
        None => Ok(None),
    };
    let storefront = match storefront {
        Ok(Some(s)) => s,
        Ok(None) => return ApiError::NotFound("storefront").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let sse = jsonrpc::wants_sse(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let answer = jsonrpc::error(
                &Value::Null,
                jsonrpc::INVALID_REQUEST,
                &format!("message larger than {MAX_BODY} bytes"),
            );
            return (StatusCode::PAYLOAD_TOO_LARGE, Json(answer)).into_response();
        }
    };
    let (id, method, params) = match jsonrpc::parse(&bytes) {
        Ok(Message::Notification) => return StatusCode::ACCEPTED.into_response(),
        Ok(Message::Request { id, method, params }) => (id, method, params),
        Err(bad) => {
            let answer = jsonrpc::error(&bad.id, bad.code, &bad.message);
            return (StatusCode::BAD_REQUEST, Json(answer)).into_response();
        }
    };
    let answer = match method.as_str() {
        "initialize" => jsonrpc::result(&id, initialize(&params)),
        "ping" => jsonrpc::result(&id, json!({})),
        "tools/list" => jsonrpc::result(&id, list_tools()),
        "tools/call" => match call_tool(&state, &storefront, &headers, &params).await {
            Ok(result) => jsonrpc::result(&id, result),
            Err(response) => return response,
        },
        _ => jsonrpc::error(&id, jsonrpc::METHOD_NOT_FOUND, "method not found"),
    };
    respond(answer, sse)
}

/// A refused request's answer. A `tools/call` gets the AdCP way, a tool result whose `adcp_error`
/// is `RATE_LIMITED` with `retry_after` (AdCP clients read errors there, and retry on `transient`);
/// anything else (initialize, tools/list, a body that is no JSON-RPC request) has no tool result to
/// carry it, so it gets HTTP 429 with `Retry-After` and the JSON error.
async fn rate_limited(body: Body, headers: &HeaderMap, retry_after_secs: u64) -> Response {
    let refusal = ApiError::RateLimited { retry_after_secs };
    let sse = jsonrpc::wants_sse(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return refusal.into_response();
    };
    match jsonrpc::parse(&bytes) {
        Ok(Message::Request { id, method, params }) if method == "tools/call" => {
            let empty = json!({});
            let args = params.get("arguments").unwrap_or(&empty);
            let err = AdcpError::from(refusal);
            respond(jsonrpc::result(&id, tool_error(&err, args)), sse)
        }
        _ => refusal.into_response(),
    }
}

fn respond(answer: Value, sse: bool) -> Response {
    if !sse {
        return Json(answer).into_response();
    }
    // One event carrying the answer, then the stream ends.
    let body = format!("event: message\ndata: {answer}\n\n");
    let mut res = body.into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    res
}

fn initialize(params: &Value) -> Value {
    json!({
        "protocolVersion": jsonrpc::negotiate(params["protocolVersion"].as_str()),
        "capabilities": {"tools": {"listChanged": false}},
        "serverInfo": {"name": "creative-manifests-storefront", "version": env!("CARGO_PKG_VERSION")},
    })
}

fn list_tools() -> Value {
    let tools: Vec<Value> = tools::TOOLS
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "description": t.description,
                "inputSchema": schemas::input_schema(t.input_schema),
            })
        })
        .collect();
    json!({ "tools": tools })
}

/// A `tools/call`: the tool's result, or the HTTP answer that replaces it (401 without a key).
async fn call_tool(
    state: &AppState,
    storefront: &Storefront,
    headers: &HeaderMap,
    params: &Value,
) -> Result<Value, Response> {
    let empty = json!({});
    let args = params.get("arguments").unwrap_or(&empty);
    let name = params["name"].as_str().unwrap_or_default();
    let Some(tool) = tools::find(name) else {
        let err = AdcpError::invalid_request(format!("unknown tool '{name}'")).with_field("name");
        return Ok(tool_error(&err, args));
    };
    let caller = authenticate(state, storefront, tool, headers).await?;
    if !args.is_object() {
        let err = AdcpError::validation("arguments", "arguments must be an object");
        return Ok(tool_error(&err, &empty));
    }
    Ok(
        match tools::call(state, storefront, &caller, tool, args).await {
            Ok(answer) => tool_success(tool, answer, args),
            Err(err) => tool_error(&err, args),
        },
    )
}

/// The caller of `tool`: public tools take anyone; the others a key of one of this storefront's
/// accounts, else HTTP 401 with `WWW-Authenticate: Bearer`.
async fn authenticate(
    state: &AppState,
    storefront: &Storefront,
    tool: &Tool,
    headers: &HeaderMap,
) -> Result<Caller, Response> {
    let account = match bearer(headers) {
        Some(key) => store::account_by_key(&state.db, &storefront.id, key)
            .await
            .map_err(|e| ApiError::from(e).into_response())?,
        None => None,
    };
    match account {
        Some(a) => Ok(Caller::Buyer(a)),
        None if tool.public => Ok(Caller::Anonymous),
        None => Err(ApiError::Unauthorized.into_response()),
    }
}

/// The request's `context`, echoed unchanged in every answer.
fn with_context(mut answer: Value, args: &Value) -> Value {
    if let (Some(ctx), Some(obj)) = (args.get("context"), answer.as_object_mut()) {
        obj.insert("context".into(), ctx.clone());
    }
    answer
}

fn tool_success(tool: &Tool, answer: Value, args: &Value) -> Value {
    let answer = with_context(answer, args);
    json!({
        "content": [{"type": "text", "text": format!("{} completed", tool.name)}],
        "structuredContent": answer,
    })
}

/// An AdCP failure as a tool result (never a JSON-RPC error): `adcp_error` for clients that
/// dispatch on the envelope, `errors[]` for those that read the payload.
pub fn tool_error(err: &AdcpError, args: &Value) -> Value {
    let e = err.to_value();
    let answer = with_context(
        json!({"status": "failed", "adcp_error": e, "errors": [e]}),
        args,
    );
    json!({
        "content": [{"type": "text", "text": format!("{}: {}", err.code, err.message)}],
        "structuredContent": answer,
        "isError": true,
    })
}
