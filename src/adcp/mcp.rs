//! A small MCP client over Streamable HTTP: JSON-RPC 2.0 `initialize`, then `tools/call`. Answers may
//! be plain JSON or an SSE stream; a session id is honoured when the server gives one (many AdCP
//! sellers are stateless and give none).

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{json, Value};

use crate::outbound::{push_capped, read_capped, BodyError, Outbound, OutboundError};
use crate::store::sales_agents::Secret;

const PROTOCOL_VERSION: &str = "2025-06-18";
const SESSION_HEADER: &str = "mcp-session-id";
/// A seller's answer larger than this is refused rather than buffered.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("refused by the outbound guard: {0}")]
    Blocked(String),
    #[error("could not reach the agent: {0}")]
    Transport(String),
    #[error("the agent did not answer in time")]
    Timeout,
    #[error("the agent answered HTTP {status}: {body}")]
    Http {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    #[error("JSON-RPC error {code}: {message}")]
    Rpc { code: i64, message: String },
    #[error("the tool reported an error: {0}")]
    Tool(Value),
    #[error("the agent's answer is not valid: {0}")]
    BadResponse(String),
}

impl McpError {
    /// Whether trying again later may succeed (network trouble, 5xx, 429), as opposed to a request
    /// the agent will refuse every time.
    pub fn is_transient(&self) -> bool {
        match self {
            McpError::Transport(_) | McpError::Timeout => true,
            McpError::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            McpError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<OutboundError> for McpError {
    fn from(e: OutboundError) -> Self {
        McpError::Blocked(e.to_string())
    }
}

fn transport(e: reqwest::Error) -> McpError {
    if e.is_timeout() {
        McpError::Timeout
    } else {
        // Include the source chain (e.g. the guard's "resolves to no public address").
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        McpError::Transport(msg)
    }
}

pub struct McpClient {
    outbound: Outbound,
    endpoint: url::Url,
    token: Option<Secret>,
    session: Option<String>,
    next_id: i64,
}

impl McpClient {
    /// Opens a session with the agent at `endpoint` (initialize + initialized).
    pub async fn connect(
        outbound: &Outbound,
        endpoint: &str,
        token: Option<&Secret>,
    ) -> Result<McpClient, McpError> {
        let endpoint = outbound.check(endpoint).await?;
        let mut client = McpClient {
            outbound: outbound.clone(),
            endpoint,
            token: token.cloned(),
            session: None,
            next_id: 1,
        };
        client
            .request(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "creative-manifests", "version": env!("CARGO_PKG_VERSION")}
                }),
            )
            .await?;
        client
            .notify("notifications/initialized", json!({}))
            .await?;
        Ok(client)
    }

    /// The names of the tools the agent advertises.
    pub async fn list_tools(&mut self) -> Result<Vec<String>, McpError> {
        let result = self.request("tools/list", json!({})).await?;
        Ok(result
            .get("tools")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Calls an AdCP task; returns its structured result.
    /// Calls AdCP tool `name`, telling the seller which AdCP release the arguments speak
    /// ([`versioned`]).
    /// Every call is counted here, the one door to every agent (sellers, format agents), by tool
    /// and outcome with its latency: `name` is always one of our own tool names, a bounded label.
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Result<Value, McpError> {
        let start = std::time::Instant::now();
        let answer = self.call_tool_uncounted(name, arguments).await;
        crate::metrics::seller_call(name, outcome_label(&answer), start.elapsed());
        answer
    }

    async fn call_tool_uncounted(
        &mut self,
        name: &str,
        arguments: Value,
    ) -> Result<Value, McpError> {
        let arguments = versioned(arguments);
        let result = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        tool_payload(result)
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert(
            "mcp-protocol-version",
            HeaderValue::from_static(PROTOCOL_VERSION),
        );
        if let Some(t) = &self.token {
            if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", t.expose())) {
                v.set_sensitive(true);
                h.insert(AUTHORIZATION, v);
            }
        }
        if let Some(s) = self
            .session
            .as_ref()
            .and_then(|s| HeaderValue::from_str(s).ok())
        {
            h.insert(SESSION_HEADER, s);
        }
        h
    }

    async fn post(&mut self, body: &Value) -> Result<reqwest::Response, McpError> {
        let res = self
            .outbound
            .client()
            .post(self.endpoint.clone())
            .headers(self.headers())
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        if let Some(s) = res
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            self.session = Some(s.to_owned());
        }
        let status = res.status();
        if !status.is_success() {
            let retry_after = res
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, chrono::Utc::now()));
            let body = read_limited(res).await.unwrap_or_default();
            let body: String = String::from_utf8_lossy(&body).chars().take(500).collect();
            return Err(McpError::Http {
                status: status.as_u16(),
                retry_after,
                body,
            });
        }
        Ok(res)
    }

    async fn notify(&mut self, method: &str, params: Value) -> Result<(), McpError> {
        self.post(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await
            .map(|_| ())
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value, McpError> {
        let id = self.next_id;
        self.next_id += 1;
        let res = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        let is_sse = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let message = if is_sse {
            read_sse(res, id).await?
        } else {
            let body = read_limited(res).await?;
            serde_json::from_slice(&body)
                .map_err(|e| McpError::BadResponse(format!("not JSON: {e}")))?
        };
        rpc_result(message)
    }
}

/// Reads an SSE answer until the response with `id` arrives (a server may keep the stream open
/// after it, for notifications), or the stream ends.
async fn read_sse(res: reqwest::Response, id: i64) -> Result<Value, McpError> {
    let mut buf = Vec::new();
    // Events before this offset were complete and held no response with `id`.
    let mut scanned = 0;
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        push_capped(&mut buf, &chunk.map_err(transport)?, MAX_RESPONSE_BYTES)
            .map_err(body_error)?;
        // Complete events end at a blank line.
        let rest = &buf[scanned..];
        let end = [&b"\n\n"[..], b"\n\r\n"]
            .iter()
            .filter_map(|sep| memchr::memmem::rfind(rest, sep).map(|i| i + sep.len()))
            .max();
        if let Some(end) = end {
            if let Ok(message) = sse_response(&rest[..end], id) {
                return Ok(message);
            }
            scanned += end;
        }
    }
    sse_response(&buf[scanned..], id)
}

/// A `Retry-After` value (RFC 9110): delay seconds, or an HTTP date (a date already past is now).
pub(crate) fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        at.signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

async fn read_limited(res: reqwest::Response) -> Result<Vec<u8>, McpError> {
    read_capped(res, MAX_RESPONSE_BYTES)
        .await
        .map_err(body_error)
}

fn body_error(e: BodyError) -> McpError {
    match e {
        BodyError::Read(e) => transport(e),
        too_large => McpError::BadResponse(format!("answer {too_large}")),
    }
}

/// Finds the JSON-RPC response with `id` among the events of an SSE body.
fn sse_response(body: &[u8], id: i64) -> Result<Value, McpError> {
    let text = String::from_utf8_lossy(body);
    let mut data = String::new();
    let mut events = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !data.is_empty() {
                events.push(std::mem::take(&mut data));
            }
        } else if let Some(d) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .find(|m| m.get("id").and_then(Value::as_i64) == Some(id))
        .ok_or_else(|| McpError::BadResponse("no response in the event stream".into()))
}

fn rpc_result(message: Value) -> Result<Value, McpError> {
    if let Some(err) = message.get("error") {
        return Err(McpError::Rpc {
            code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(500)
                .collect(),
        });
    }
    message
        .get("result")
        .cloned()
        .ok_or_else(|| McpError::BadResponse("JSON-RPC message has no result".into()))
}

/// `arguments` with AdCP's version envelope (`adcp_version`, `adcp_major_version`), on every
/// request: a seller then validates against the release we speak, or says it cannot.
fn versioned(mut arguments: Value) -> Value {
    if let Some(args) = arguments.as_object_mut() {
        args.entry("adcp_version")
            .or_insert_with(|| json!(super::ADCP_VERSION));
        args.entry("adcp_major_version")
            .or_insert_with(|| json!(super::ADCP_MAJOR_VERSION));
    }
    arguments
}

/// A tool result's payload: `structuredContent`, else the JSON in its first text content.
/// A bounded label for how a tool call ended.
fn outcome_label(answer: &Result<Value, McpError>) -> &'static str {
    match answer {
        Ok(_) => "ok",
        Err(McpError::Tool(_)) => "refused",
        Err(McpError::BadResponse(_)) => "invalid_answer",
        Err(McpError::Blocked(_)) => "blocked",
        Err(McpError::Timeout) => "timeout",
        Err(e) if e.is_transient() => "unreachable",
        Err(_) => "agent_error",
    }
}

fn tool_payload(result: Value) -> Result<Value, McpError> {
    let payload = match result.get("structuredContent") {
        Some(v) if v.is_object() => Some(v.clone()),
        _ => result
            .get("content")
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            })
            .and_then(|p| p.get("text").and_then(Value::as_str))
            .and_then(|t| serde_json::from_str(t).ok()),
    };
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        return Err(McpError::Tool(payload.unwrap_or(result)));
    }
    payload.ok_or_else(|| McpError::BadResponse("tool result carries no JSON".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_carries_the_adcp_version_envelope() {
        assert_eq!(
            versioned(json!({"creatives": []})),
            json!({"creatives": [], "adcp_version": "3.1", "adcp_major_version": 3})
        );
        // A pin already given is kept.
        assert_eq!(
            versioned(json!({"adcp_version": "3.0"}))["adcp_version"],
            "3.0"
        );
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Tue, 01 Dec 2026 12:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after("Mon, 30 Nov 2026 12:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date past is now"
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn sse_bodies_yield_the_matching_response() {
        let body = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n\
                     event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"ok\":true}}\n\n";
        let m = sse_response(body, 7).unwrap();
        assert_eq!(rpc_result(m).unwrap(), json!({"ok": true}));
        assert!(sse_response(body, 8).is_err());
    }

    #[test]
    fn outcomes_are_a_closed_set_of_labels() {
        let http = |status| McpError::Http {
            status,
            retry_after: None,
            body: String::new(),
        };
        for (answer, label) in [
            (Ok(json!({})), "ok"),
            (Err(McpError::Tool(json!({"errors": []}))), "refused"),
            (Err(McpError::BadResponse("x".into())), "invalid_answer"),
            (Err(McpError::Blocked("x".into())), "blocked"),
            (Err(McpError::Timeout), "timeout"),
            (Err(McpError::Transport("x".into())), "unreachable"),
            (Err(http(503)), "unreachable"),
            (Err(http(400)), "agent_error"),
            (
                Err(McpError::Rpc {
                    code: -32601,
                    message: "x".into(),
                }),
                "agent_error",
            ),
        ] {
            assert_eq!(outcome_label(&answer), label);
        }
    }

    #[test]
    fn tool_payloads_come_from_structured_or_text_content() {
        let r = json!({"structuredContent": {"formats": []}, "content": []});
        assert_eq!(tool_payload(r).unwrap(), json!({"formats": []}));
        let r = json!({"content": [{"type": "text", "text": "{\"formats\": [1]}"}]});
        assert_eq!(tool_payload(r).unwrap(), json!({"formats": [1]}));
        let r = json!({"isError": true, "content": [{"type": "text", "text": "{\"errors\": []}"}]});
        assert!(matches!(tool_payload(r), Err(McpError::Tool(_))));
        assert!(tool_payload(json!({"content": [{"type": "text", "text": "hi"}]})).is_err());
    }

    #[test]
    fn transient_errors_are_told_apart() {
        let http = |status| McpError::Http {
            status,
            retry_after: None,
            body: String::new(),
        };
        assert!(http(503).is_transient());
        assert!(http(429).is_transient());
        assert!(!http(400).is_transient());
        assert!(McpError::Timeout.is_transient());
        assert!(!McpError::Rpc {
            code: -32602,
            message: String::new()
        }
        .is_transient());
    }
}
