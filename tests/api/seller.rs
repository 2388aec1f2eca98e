//! A test sales agent: an AdCP agent speaking MCP over Streamable HTTP on a local port. It records
//! every call and checks each request against the official AdCP request schema.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::schemas::violations;

#[derive(Clone, Default)]
pub struct SellerConfig {
    /// Formats answered to `list_creative_formats`.
    pub formats: Vec<Value>,
    /// Answer as an SSE stream instead of plain JSON.
    pub sse: bool,
    /// Hand out a session id at `initialize` and require it afterwards.
    pub sessions: bool,
    /// Require this bearer token.
    pub token: Option<String>,
    /// What `get_adcp_capabilities` says of the creative library (None: the tool is not offered).
    pub has_creative_library: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub tool: String,
    pub args: Value,
    pub authorization: Option<String>,
    pub session: Option<String>,
}

#[derive(Default)]
struct Recorded {
    calls: Vec<Call>,
    schema_errors: Vec<String>,
}

#[derive(Clone)]
struct SellerState {
    config: SellerConfig,
    recorded: Arc<Mutex<Recorded>>,
}

pub struct Seller {
    pub url: String,
    recorded: Arc<Mutex<Recorded>>,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Request schema of each AdCP task the seller answers.
fn request_schema(tool: &str) -> Option<&'static str> {
    match tool {
        "list_creative_formats" => Some("creative/list-creative-formats-request.json"),
        "get_adcp_capabilities" => Some("protocol/get-adcp-capabilities-request.json"),
        _ => None,
    }
}

impl Seller {
    pub async fn start(config: SellerConfig) -> Seller {
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let state = SellerState {
            config,
            recorded: recorded.clone(),
        };
        let app = Router::new().route("/mcp", post(handle)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Seller {
            url: format!("http://{addr}/mcp"),
            recorded,
            shutdown: Some(tx),
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.recorded.lock().unwrap().calls.clone()
    }

    /// Asserts every request the seller received fit its AdCP schema.
    pub fn assert_requests_valid(&self) {
        let errors = self.recorded.lock().unwrap().schema_errors.clone();
        assert!(
            errors.is_empty(),
            "requests the seller received break the AdCP schemas:\n{}",
            errors.join("\n")
        );
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Seller {
    fn drop(&mut self) {
        self.stop();
    }
}

fn reply(state: &SellerState, id: &Value, result: Value, session: Option<&str>) -> Response {
    let message = json!({"jsonrpc": "2.0", "id": id, "result": result});
    let mut res = if state.config.sse {
        let body = format!("event: message\ndata: {message}\n\n");
        ([("content-type", "text/event-stream")], body).into_response()
    } else {
        axum::Json(message).into_response()
    };
    if let Some(s) = session {
        res.headers_mut()
            .insert("mcp-session-id", s.parse().unwrap());
    }
    res
}

fn tool_result(payload: Value) -> Value {
    json!({"content": [{"type": "text", "text": payload.to_string()}], "structuredContent": payload})
}

async fn handle(
    State(state): State<SellerState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(token) = &state.config.token {
        if authorization.as_deref() != Some(&format!("Bearer {token}")) {
            return (StatusCode::UNAUTHORIZED, "bad token").into_response();
        }
    }
    let session = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let method = msg["method"].as_str().unwrap_or_default().to_owned();
    let id = msg.get("id").cloned();
    if method == "initialize" {
        let result = json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "test-seller", "version": "1"}
        });
        let sid = state.config.sessions.then_some("session-123");
        return reply(&state, &id.unwrap_or(Value::Null), result, sid);
    }
    if state.config.sessions && session.as_deref() != Some("session-123") {
        return (StatusCode::BAD_REQUEST, "missing session").into_response();
    }
    let Some(id) = id else {
        return StatusCode::ACCEPTED.into_response(); // a notification
    };
    if method == "tools/list" {
        let mut tools =
            vec![json!({"name": "list_creative_formats", "inputSchema": {"type": "object"}})];
        if state.config.has_creative_library.is_some() {
            tools.push(json!({"name": "get_adcp_capabilities", "inputSchema": {"type": "object"}}));
        }
        return reply(&state, &id, json!({"tools": tools}), None);
    }
    if method != "tools/call" {
        return axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}})).into_response();
    }
    let tool = msg["params"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let args = msg["params"]["arguments"].clone();
    {
        let mut rec = state.recorded.lock().unwrap();
        if let Some(schema) = request_schema(&tool) {
            for e in violations(schema, &args) {
                rec.schema_errors.push(format!("{tool}: {e}"));
            }
        }
        rec.calls.push(Call {
            tool: tool.clone(),
            args: args.clone(),
            authorization,
            session,
        });
    }
    let payload = match tool.as_str() {
        "list_creative_formats" => json!({"formats": state.config.formats}),
        "get_adcp_capabilities" if state.config.has_creative_library.is_some() => {
            let answer = json!({
                "status": "completed",
                "adcp": {"major_versions": [3], "idempotency": {"supported": true, "replay_ttl_seconds": 86400}},
                "supported_protocols": ["media_buy", "creative"],
                "creative": {"has_creative_library": state.config.has_creative_library},
            });
            let errors = violations("protocol/get-adcp-capabilities-response.json", &answer);
            assert!(
                errors.is_empty(),
                "the test seller's own answer breaks the schema: {errors:?}"
            );
            answer
        }
        other => {
            return reply(
                &state,
                &id,
                json!({"isError": true, "content": [{"type": "text", "text": format!("unknown tool {other}")}]}),
                None,
            )
        }
    };
    reply(&state, &id, tool_result(payload), None)
}
