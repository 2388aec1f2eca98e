//! A demo sales agent: an AdCP agent speaking MCP over Streamable HTTP on a local port, for trying
//! the service (`creative-manifests demo-seller`) and for its tests. It records every call and, when
//! given a [`SchemaCheck`] (the tests inject one built on the official AdCP schemas; the service
//! itself carries no schema validator), checks each request against the AdCP request schema and each
//! of its own answers against the response schema.
//!
//! Besides formats and capabilities it takes creatives (`sync_creatives`) and media buys
//! (`create_media_buy`, `update_media_buy`), replays answers by idempotency key, can queue any of
//! those as AdCP tasks answered later through `get_task_status` (or the legacy `tasks/get`), and has
//! switches (see [`SellerConfig`]) to fail, delay or refuse calls, changeable while it runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{SecondsFormat, Utc};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::oneshot;

mod cli;
pub mod creative_agent;
mod preview;
mod review;
pub mod truth;
pub use cli::{run, DemoArgs};
pub use preview::Previews;

/// Checks `payload` against the AdCP schema at this path below `schemas/adcp-3.1.19/` and answers
/// the violations found. A function the caller injects, so the schema validator (`jsonschema`)
/// stays a test-only dependency.
pub type SchemaCheck = fn(&str, &Value) -> Vec<String>;

#[derive(Clone, Default)]
pub struct SellerConfig {
    /// Formats answered to `list_creative_formats`.
    pub formats: Vec<Value>,
    /// Answer as an SSE stream instead of plain JSON.
    pub sse: bool,
    /// With `sse`, keep each stream open after its answer, as servers that multiplex notifications
    /// on it do: a client must not wait for the end of the stream.
    pub sse_keep_open: bool,
    /// Hand out a session id at `initialize` and require it afterwards.
    pub sessions: bool,
    /// Require this bearer token.
    pub token: Option<String>,
    /// What `get_adcp_capabilities` says of the creative library (None: the tool is not offered).
    /// `Some(true)` also offers `sync_creatives`.
    pub has_creative_library: Option<bool>,
    /// Offer `sync_creatives` (and keep a library) whatever `has_creative_library` says.
    pub offers_sync: bool,
    /// Answer `UNSUPPORTED_FEATURE` to media buys whose packages carry inline `creatives`.
    pub rejects_inline: bool,
    /// `sync_creatives` fails creatives with these names (`CREATIVE_REJECTED`) and keeps none of them.
    pub reject_creative_names: Vec<String>,
    /// Tool -> answer its next N calls with HTTP 503 (`Retry-After: 0`, or `retry_after`),
    /// applying nothing.
    pub fail_times: HashMap<String, u32>,
    /// The `Retry-After` value of those 503s, as sent (seconds or an HTTP date).
    pub retry_after: Option<String>,
    /// Tool -> answer this late. The work is applied and recorded first, so a client that gives
    /// up waiting has lost an answer, not a change.
    pub delay: HashMap<String, Duration>,
    /// Tool -> answer the AdCP error branch `{"errors": <value>}` (an errors array), applying
    /// nothing.
    pub errors: HashMap<String, Value>,
    /// Tool -> answer this payload as it is, applying nothing: a seller whose answer breaks the AdCP
    /// schema.
    pub malformed: HashMap<String, Value>,
    /// Tool -> queue its calls as AdCP tasks: the call answers `submitted` with a task id, and the
    /// work is done (or refused) only when a later poll finds the task finished.
    pub queue_tasks: HashMap<String, QueueTask>,
    /// Offer task polling only under its legacy name, `tasks/get`.
    pub legacy_task_tool: bool,
    /// Trust requests and own answers without schema checks: for benchmarks, where checking
    /// 100-creative batches would cost more than answering them.
    pub skip_schema_checks: bool,
    /// Answer media-buy tasks as an AdCP 3.0 seller: the buy's status as the top-level `status`,
    /// without `media_buy_status` (such answers are not checked against the 3.1 schemas).
    pub adcp_3_0: bool,
    /// Offer `get_creative_delivery` and answer it with this payload.
    pub delivery: Option<Value>,
    /// Review, `list_creatives` and paginated delivery (see `truth.rs`).
    pub truth: truth::Truth,
    /// Offer `preview_creative` as a creative agent (`preview.rs`).
    pub previews: Option<Previews>,
}

/// How a queued task goes: unfinished for `polls` polls, then completed; or `rejected` with the
/// `reject` message; or, with `fail_transient`, `failed` with a transient error (and forgotten by
/// the idempotency cache, so a retry under the same key is tried afresh).
#[derive(Clone, Default)]
pub struct QueueTask {
    pub polls: u32,
    pub reject: Option<String>,
    pub fail_transient: bool,
}

impl SellerConfig {
    fn keeps_library(&self) -> bool {
        self.has_creative_library == Some(true) || self.offers_sync
    }
}

#[derive(Debug, Clone)]
pub struct Call {
    pub tool: String,
    pub args: Value,
    pub authorization: Option<String>,
    pub session: Option<String>,
    /// The answer came from the idempotency cache: nothing was applied again.
    pub replayed: bool,
    /// The HTTP status the call was failed with (None: answered normally).
    pub http_status: Option<u16>,
}

#[derive(Default)]
struct Recorded {
    calls: Vec<Call>,
    schema_errors: Vec<String>,
}

/// What the seller holds: its creative library, its media buys and its idempotency cache.
#[derive(Default)]
struct Ledger {
    library: BTreeMap<String, Value>,
    media_buys: Vec<MediaBuy>,
    packages_made: usize,
    /// `idempotency_key` -> the first successful call under it and its answer.
    answers: HashMap<String, Replay>,
    /// Queued tasks by task id.
    tasks: HashMap<String, SellerTask>,
    /// Review decisions (see `truth.rs`).
    reviews: truth::Reviews,
}

struct SellerTask {
    tool: String,
    args: Value,
    plan: QueueTask,
    created_at: String,
    /// The finished task's answer to polls, once it finished.
    outcome: Option<Value>,
}

struct Replay {
    tool: String,
    args: Value,
    answer: Value,
}

#[derive(Clone)]
struct MediaBuy {
    id: String,
    revision: u64,
    packages: Vec<Package>,
}

#[derive(Clone)]
struct Package {
    id: String,
    /// The package request as the buyer sent it (create or `new_packages`).
    request: Value,
    /// `creative_assignments` objects, as last sent.
    assignments: Vec<Value>,
    /// Inline creative-asset objects, as last sent.
    creatives: Vec<Value>,
}

#[derive(Default)]
struct Shared {
    /// None: requests and answers are trusted unchecked.
    check: Option<SchemaCheck>,
    /// Every HTTP request received, MCP handshakes and notifications included.
    requests: std::sync::atomic::AtomicUsize,
    config: Mutex<SellerConfig>,
    recorded: Mutex<Recorded>,
    /// Woken at each recorded call, for whoever waits for one ([`Seller::wait_for_calls`]).
    called: tokio::sync::Notify,
    ledger: Mutex<Ledger>,
}

impl Shared {
    fn violations(&self, schema: &str, payload: &Value) -> Vec<String> {
        self.check
            .map_or_else(Vec::new, |check| check(schema, payload))
    }
}

/// Ignores poisoning: a panic in one answer (the seller's own bug, already reported) must not hide
/// the recorded calls from the test that wants to explain it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Seller {
    pub url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Request schema of each AdCP task the seller answers.
fn request_schema(tool: &str) -> Option<&'static str> {
    match tool {
        "list_creative_formats" => Some("creative/list-creative-formats-request.json"),
        "get_adcp_capabilities" => Some("protocol/get-adcp-capabilities-request.json"),
        "sync_creatives" => Some("creative/sync-creatives-request.json"),
        "create_media_buy" => Some("media-buy/create-media-buy-request.json"),
        "update_media_buy" => Some("media-buy/update-media-buy-request.json"),
        "get_task_status" => Some("protocol/get-task-status-request.json"),
        "tasks/get" => Some("core/tasks-get-request.json"),
        "get_creative_delivery" => Some("creative/get-creative-delivery-request.json"),
        "list_creatives" => Some("creative/list-creatives-request.json"),
        "preview_creative" => Some("creative/preview-creative-request.json"),
        _ => None,
    }
}

/// Response schema each answer of the seller's own making must fit. Formats are left out: tests
/// feed deliberately odd ones.
fn response_schema(tool: &str) -> Option<&'static str> {
    match tool {
        "get_adcp_capabilities" => Some("protocol/get-adcp-capabilities-response.json"),
        "sync_creatives" => Some("creative/sync-creatives-response.json"),
        "create_media_buy" => Some("media-buy/create-media-buy-response.json"),
        "update_media_buy" => Some("media-buy/update-media-buy-response.json"),
        "get_task_status" => Some("protocol/get-task-status-response.json"),
        "tasks/get" => Some("core/tasks-get-response.json"),
        "get_creative_delivery" => Some("creative/get-creative-delivery-response.json"),
        "list_creatives" => Some("creative/list-creatives-response.json"),
        "preview_creative" => Some("creative/preview-creative-response.json"),
        _ => None,
    }
}

impl Seller {
    /// Starts a seller on a free loopback port, trusting requests unchecked.
    pub async fn start(config: SellerConfig) -> Seller {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        Seller::serve(listener, config, None)
    }

    /// Serves on `listener`; with `check`, every request and own answer is checked against the
    /// AdCP schemas.
    pub fn serve(
        listener: tokio::net::TcpListener,
        config: SellerConfig,
        check: Option<SchemaCheck>,
    ) -> Seller {
        let shared = Arc::new(Shared {
            check,
            config: Mutex::new(config),
            ..Default::default()
        });
        let app = Router::new()
            .route("/mcp", post(handle))
            .with_state(shared.clone());
        let addr = listener.local_addr().expect("a bound listener");
        Seller {
            url: format!("http://{addr}/mcp"),
            shared,
            shutdown: Some(serve_until_told(listener, app)),
        }
    }

    /// Changes the switches of the running seller; the next call sees the change.
    pub fn configure(&self, change: impl FnOnce(&mut SellerConfig)) {
        change(&mut lock(&self.shared.config));
    }

    /// HTTP requests received so far.
    pub fn http_requests(&self) -> usize {
        self.shared
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.shared.recorded).calls.clone()
    }

    /// Returns once `tool` has been called `n` times (answered or not yet): a test waits for the
    /// call it means, not for a while.
    pub async fn wait_for_calls(&self, tool: &str, n: usize) {
        loop {
            // Registered before the count is read, so a call in between still wakes it.
            let called = self.shared.called.notified();
            if self.calls_of(tool).len() >= n {
                return;
            }
            called.await;
        }
    }

    pub fn calls_of(&self, tool: &str) -> Vec<Call> {
        let recorded = lock(&self.shared.recorded);
        recorded
            .calls
            .iter()
            .filter(|c| c.tool == tool)
            .cloned()
            .collect()
    }

    /// Every media buy as the seller holds it now: `{media_buy_id, revision, packages: [{package_id,
    /// product_id, creative_assignments: [creative_id..], creatives: [creative..]}]}`.
    pub fn media_buys(&self) -> Vec<Value> {
        let ledger = lock(&self.shared.ledger);
        ledger
            .media_buys
            .iter()
            .map(|buy| {
                let packages: Vec<Value> = buy
                    .packages
                    .iter()
                    .map(|p| {
                        let assigned: Vec<&Value> =
                            p.assignments.iter().map(|a| &a["creative_id"]).collect();
                        json!({
                            "package_id": p.id,
                            "product_id": p.request["product_id"],
                            "creative_assignments": assigned,
                            "creatives": p.creatives,
                        })
                    })
                    .collect();
                json!({"media_buy_id": buy.id, "revision": buy.revision, "packages": packages})
            })
            .collect()
    }

    /// The creative library: creative_id -> the creative as last synced.
    pub fn library(&self) -> BTreeMap<String, Value> {
        lock(&self.shared.ledger).library.clone()
    }

    /// Finishes queued task `task_id` now (its work done, or refused as planned) and reports it to
    /// the buyer's webhook, as registered in the task's `push_notification_config`, with a payload
    /// checked against `core/mcp-webhook-payload.json`. Answers the buyer's HTTP status and body.
    pub async fn finish_task(&self, task_id: &str) -> (u16, Value) {
        let (answer, push) = {
            let config = lock(&self.shared.config).clone();
            let mut ledger = lock(&self.shared.ledger);
            let task = ledger
                .tasks
                .get_mut(task_id)
                .expect("a task this seller queued");
            task.plan.polls = 0;
            let push = task.args["push_notification_config"].clone();
            (ledger.poll_task(&config, task_id).expect("queued"), push)
        };
        let mut payload = json!({
            "idempotency_key": uuid::Uuid::now_v7().to_string(),
            "operation_id": push["operation_id"],
            "task_id": task_id,
            "task_type": answer["task_type"],
            "protocol": answer["protocol"],
            "status": answer["status"],
            "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "token": push["token"],
        });
        if let Some(result) = answer.get("result") {
            payload["result"] = result.clone();
        }
        self.push(&push, &payload).await
    }

    /// Queued tasks not decided yet, oldest first.
    pub fn unfinished_tasks(&self) -> Vec<String> {
        let ledger = lock(&self.shared.ledger);
        let mut open: Vec<(&String, &SellerTask)> = ledger
            .tasks
            .iter()
            .filter(|(_, t)| t.outcome.is_none())
            .collect();
        open.sort_by(|a, b| a.1.created_at.cmp(&b.1.created_at).then(a.0.cmp(b.0)));
        open.into_iter().map(|(id, _)| id.clone()).collect()
    }

    /// POSTs `payload` to `url` as a seller's webhook, checked against the AdCP schema first.
    pub async fn send_webhook(&self, url: &str, payload: &Value) -> (u16, Value) {
        let errors = self
            .shared
            .violations("core/mcp-webhook-payload.json", payload);
        assert!(errors.is_empty(), "the test seller's webhook: {errors:?}");
        // Status 0: the buyer could not be reached (the demo seller logs it and goes on).
        let res = match reqwest::Client::new().post(url).json(payload).send().await {
            Ok(res) => res,
            Err(e) => return (0, json!({"error": e.to_string()})),
        };
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Asserts every request the seller received fit its AdCP schema.
    pub fn assert_requests_valid(&self) {
        let errors = lock(&self.shared.recorded).schema_errors.clone();
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

fn reply(config: &SellerConfig, id: &Value, result: Value, session: Option<&str>) -> Response {
    let message = json!({"jsonrpc": "2.0", "id": id, "result": result});
    let mut res = if config.sse && config.sse_keep_open {
        let event = format!("event: message\ndata: {message}\n\n");
        let body = futures::stream::once(async move { Ok::<_, std::io::Error>(event) })
            .chain(futures::stream::pending());
        (
            [("content-type", "text/event-stream")],
            axum::body::Body::from_stream(body),
        )
            .into_response()
    } else if config.sse {
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

fn error(code: &str, message: impl Into<String>) -> Value {
    json!({"code": code, "message": message.into()})
}

/// The AdCP error branch. The envelope `status` is required on every task response.
fn failed(errors: Value) -> Value {
    json!({"status": "failed", "errors": errors})
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let config = lock(&shared.config).clone();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(token) = &config.token {
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
        let sid = config.sessions.then_some("session-123");
        return reply(&config, &id.unwrap_or(Value::Null), result, sid);
    }
    if config.sessions && session.as_deref() != Some("session-123") {
        return (StatusCode::BAD_REQUEST, "missing session").into_response();
    }
    let Some(id) = id else {
        return StatusCode::ACCEPTED.into_response(); // a notification
    };
    if method == "tools/list" {
        let mut names = vec!["list_creative_formats"];
        if config.has_creative_library.is_some() {
            names.push("get_adcp_capabilities");
        }
        if config.keeps_library() {
            names.push("sync_creatives");
        }
        names.extend(["create_media_buy", "update_media_buy", "tasks/get"]);
        if config.delivery.is_some() {
            names.push("get_creative_delivery");
        }
        if config.previews.is_some() {
            names.push("preview_creative");
        }
        if !config.legacy_task_tool {
            names.push("get_task_status");
        }
        names.extend(truth::tools(&config));
        let tools: Vec<Value> = names
            .into_iter()
            .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
            .collect();
        return reply(&config, &id, json!({"tools": tools}), None);
    }
    if method != "tools/call" {
        return axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}})).into_response();
    }
    let tool = msg["params"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let args = msg["params"]["arguments"].clone();
    let schema_errors = match request_schema(&tool) {
        Some(s) if !config.skip_schema_checks => shared.violations(s, &args),
        _ => Vec::new(),
    };

    // Take one of the failures owed for this tool, if any; the snapshot above cannot count down.
    let unavailable = lock(&shared.config)
        .fail_times
        .get_mut(&tool)
        .filter(|n| **n > 0)
        .map(|n| *n -= 1)
        .is_some();
    let (payload, replayed) = if unavailable {
        (None, false)
    } else {
        match answer(&shared, &config, &tool, &args, &schema_errors) {
            Some((payload, replayed)) => (Some(payload), replayed),
            None => (None, false),
        }
    };
    {
        let mut rec = lock(&shared.recorded);
        rec.schema_errors
            .extend(schema_errors.iter().map(|e| format!("{tool}: {e}")));
        rec.calls.push(Call {
            tool: tool.clone(),
            args,
            authorization,
            session,
            replayed,
            http_status: unavailable.then_some(503),
        });
    }
    shared.called.notify_waiters();
    let checked =
        !config.skip_schema_checks && !config.malformed.contains_key(&tool) && !config.adcp_3_0;
    if let (Some(payload), Some(schema), true) = (&payload, response_schema(&tool), checked) {
        let errors = shared.violations(schema, payload);
        assert!(
            errors.is_empty(),
            "the test seller's own {tool} answer breaks {schema}: {errors:?}\n{payload}"
        );
    }
    if let Some(delay) = config.delay.get(&tool) {
        tokio::time::sleep(*delay).await;
    }
    if unavailable {
        let retry_after = config.retry_after.clone().unwrap_or_else(|| "0".into());
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", retry_after)],
            "try again",
        )
            .into_response();
    }
    let result = match payload {
        Some(payload) => tool_result(payload),
        None => {
            json!({"isError": true, "content": [{"type": "text", "text": format!("unknown tool {tool}")}]})
        }
    };
    reply(&config, &id, result, None)
}

/// The payload answering `tool` and whether it was replayed; None for a tool this seller does not
/// offer.
fn answer(
    shared: &Shared,
    config: &SellerConfig,
    tool: &str,
    args: &Value,
    schema_errors: &[String],
) -> Option<(Value, bool)> {
    let offered = match tool {
        "list_creative_formats" | "create_media_buy" | "update_media_buy" | "tasks/get" => true,
        "get_task_status" => !config.legacy_task_tool,
        "get_adcp_capabilities" => config.has_creative_library.is_some(),
        "sync_creatives" => config.keeps_library(),
        "get_creative_delivery" => config.delivery.is_some() || truth::offers(config, tool),
        t if truth::offers(config, t) => true,
        "preview_creative" => config.previews.is_some(),
        _ => false,
    };
    if !offered {
        return None;
    }
    if let Some(errors) = config.errors.get(tool) {
        return Some((failed(errors.clone()), false));
    }
    if let Some(payload) = config.malformed.get(tool) {
        return Some((payload.clone(), false));
    }
    match tool {
        "list_creative_formats" => return Some((json!({"formats": config.formats}), false)),
        "get_creative_delivery" if config.delivery.is_some() => {
            return config.delivery.clone().map(|d| (d, false))
        }
        "preview_creative" => {
            let p = config.previews.as_ref()?;
            return Some((preview::answer(config, p, args), false));
        }
        t if truth::offers(config, t) => {
            let ledger = lock(&shared.ledger);
            return Some((
                truth::answer(config, &ledger.reviews, &ledger.library, t, args),
                false,
            ));
        }
        "get_adcp_capabilities" => {
            let answer = json!({
                "status": "completed",
                "adcp": {"major_versions": [3], "idempotency": {"supported": true, "replay_ttl_seconds": 86400}},
                "supported_protocols": ["media_buy", "creative"],
                "creative": {"has_creative_library": config.has_creative_library},
            });
            return Some((answer, false));
        }
        _ => {}
    }
    // A real seller refuses what it cannot read; the violations are also recorded for the test.
    if let Some(first) = schema_errors.first() {
        let message = format!("the request breaks the AdCP schema: {first}");
        return Some((failed(json!([error("VALIDATION_ERROR", message)])), false));
    }
    if tool == "get_task_status" || tool == "tasks/get" {
        let task_id = args["task_id"].as_str().unwrap_or_default();
        return lock(&shared.ledger)
            .poll_task(config, task_id)
            .map(|v| (v, false));
    }
    // What is left are the tools that change state; the schema requires the key on each.
    let key = args["idempotency_key"].as_str().unwrap_or_default();
    let mut ledger = lock(&shared.ledger);
    if let Some(seen) = ledger.answers.get(key) {
        if seen.tool == tool && seen.args == *args {
            let mut replay = seen.answer.clone();
            replay["replayed"] = json!(true);
            return Some((replay, true));
        }
        let message = format!("idempotency_key {key} was used for a different request");
        return Some((
            failed(json!([error("IDEMPOTENCY_CONFLICT", message)])),
            false,
        ));
    }
    if let Some(plan) = config.queue_tasks.get(tool) {
        let task_id = format!("task_{}", ledger.tasks.len() + 1);
        let task = SellerTask {
            tool: tool.to_owned(),
            args: args.clone(),
            plan: plan.clone(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            outcome: None,
        };
        ledger.tasks.insert(task_id.clone(), task);
        let payload = json!({"status": "submitted", "task_id": task_id,
            "message": "queued for review by the seller's trafficking team"});
        let replay = Replay {
            tool: tool.to_owned(),
            args: args.clone(),
            answer: payload.clone(),
        };
        ledger.answers.insert(key.to_owned(), replay);
        return Some((payload, false));
    }
    let payload = match ledger.apply(config, tool, args) {
        Ok(mut payload) => {
            // A 3.0 answer's top-level `status` is the media buy's, set by `apply`.
            if !config.adcp_3_0 {
                payload["status"] = json!("completed");
            }
            // Only successes are kept: a retry after an error must be tried afresh.
            let replay = Replay {
                tool: tool.to_owned(),
                args: args.clone(),
                answer: payload.clone(),
            };
            ledger.answers.insert(key.to_owned(), replay);
            payload
        }
        Err(e) => failed(json!([e])),
    };
    Some((payload, false))
}

/// `args[key]` as an array, empty when absent.
fn items<'a>(args: &'a Value, key: &str) -> &'a [Value] {
    args[key].as_array().map_or(&[], Vec::as_slice)
}

impl Package {
    fn has_creatives(&self) -> bool {
        !self.assignments.is_empty() || !self.creatives.is_empty()
    }

    /// The package as AdCP's `core/package.json` shows it to the buyer.
    fn answer(&self) -> Value {
        let mut p = json!({"package_id": self.id});
        for key in ["product_id", "budget", "pricing_option_id", "format_ids"] {
            if let Some(v) = self.request.get(key) {
                p[key] = v.clone();
            }
        }
        // Always shown, so a list an update emptied reads as empty, not as unknown.
        p["creative_assignments"] = json!(self.assignments);
        p
    }
}

impl MediaBuy {
    fn status(&self) -> &'static str {
        if !self.packages.is_empty() && self.packages.iter().all(Package::has_creatives) {
            "active"
        } else {
            "pending_creatives"
        }
    }
}

/// Each step of a mutating tool checks everything before it changes anything, so an error answer
/// leaves the seller as it was.
impl Ledger {
    fn apply(&mut self, config: &SellerConfig, tool: &str, args: &Value) -> Result<Value, Value> {
        let mut answer = match tool {
            "sync_creatives" => Ok(self.sync_creatives(config, args)),
            "create_media_buy" => self.create_media_buy(config, args),
            _ => self.update_media_buy(config, args),
        }?;
        if config.adcp_3_0 {
            if let Some(status) = answer
                .as_object_mut()
                .and_then(|a| a.remove("media_buy_status"))
            {
                answer["status"] = status;
            }
        }
        Ok(answer)
    }

    /// A `get_task_status` answer for a queued task, doing its work when it finishes; None for a
    /// task this seller never queued.
    fn poll_task(&mut self, config: &SellerConfig, task_id: &str) -> Option<Value> {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        let task = self.tasks.get_mut(task_id)?;
        let mut answer = json!({
            "task_id": task_id,
            "task_type": task.tool,
            "protocol": if task.tool == "sync_creatives" { "creative" } else { "media-buy" },
            "created_at": task.created_at,
            "updated_at": now,
        });
        if task.outcome.is_none() && task.plan.polls > 0 {
            task.plan.polls -= 1;
            answer["status"] = json!("submitted");
            answer["message"] = json!("awaiting IO signature");
            return Some(answer);
        }
        if let Some(done) = &task.outcome {
            return Some(done.clone());
        }
        let (tool, args, plan) = (task.tool.clone(), task.args.clone(), task.plan.clone());
        answer["completed_at"] = json!(now);
        if plan.fail_transient {
            answer["status"] = json!("failed");
            answer["result"] = failed(json!([{"code": "SERVICE_UNAVAILABLE",
                "message": "the trafficking system is down", "recovery": "transient"}]));
            self.answers.retain(|_, r| r.answer["task_id"] != task_id);
            return Some(answer);
        }
        match plan.reject {
            Some(message) => {
                answer["status"] = json!("rejected");
                answer["error"] = error("POLICY_VIOLATION", message);
            }
            None => match self.apply(config, &tool, &args) {
                Ok(mut result) => {
                    result["status"] = json!("completed");
                    answer["status"] = json!("completed");
                    answer["result"] = result;
                }
                Err(e) => {
                    answer["status"] = json!("failed");
                    answer["error"] = e;
                }
            },
        }
        if let Some(task) = self.tasks.get_mut(task_id) {
            task.outcome = Some(answer.clone());
        }
        Some(answer)
    }

    fn sync_creatives(&mut self, config: &SellerConfig, args: &Value) -> Value {
        let mut results = Vec::new();
        for creative in items(args, "creatives") {
            let id = creative["creative_id"].as_str().unwrap_or_default();
            let name = creative["name"].as_str().unwrap_or_default();
            if config.reject_creative_names.iter().any(|n| n == name) {
                let message = format!("creative {name:?} breaks this seller's ad policy");
                results.push(json!({
                    "creative_id": id,
                    "action": "failed",
                    "errors": [error("CREATIVE_REJECTED", message)],
                }));
                continue;
            }
            let action = match self.library.insert(id.to_owned(), creative.clone()) {
                None => "created",
                Some(old) if old == *creative => "unchanged",
                Some(_) => "updated",
            };
            let item = review::held_item(id, action, creative);
            results.push(truth::reviewed(config, &mut self.reviews, item));
        }
        json!({"creatives": results})
    }

    /// Why the seller refuses the creatives a package request or update carries, if it does.
    fn check_creatives(&self, config: &SellerConfig, package: &Value) -> Result<(), Value> {
        if config.rejects_inline && !items(package, "creatives").is_empty() {
            return Err(error(
                "UNSUPPORTED_FEATURE",
                "inline creatives are not accepted",
            ));
        }
        for assignment in items(package, "creative_assignments") {
            let id = assignment["creative_id"].as_str().unwrap_or_default();
            if !self.library.contains_key(id) {
                let message = format!("creative {id} is not in this seller's library");
                return Err(error("CREATIVE_NOT_FOUND", message));
            }
        }
        Ok(())
    }

    /// Inline creatives also land in the library when the seller keeps one.
    fn keep_inline(&mut self, config: &SellerConfig, creatives: &[Value]) {
        if config.keeps_library() {
            for c in creatives {
                if let Some(id) = c["creative_id"].as_str() {
                    self.library.insert(id.to_owned(), c.clone());
                }
            }
        }
    }

    fn new_package(&mut self, config: &SellerConfig, request: &Value) -> Package {
        self.packages_made += 1;
        let creatives = items(request, "creatives").to_vec();
        self.keep_inline(config, &creatives);
        Package {
            id: format!("pkg_{}", self.packages_made),
            request: request.clone(),
            assignments: items(request, "creative_assignments").to_vec(),
            creatives,
        }
    }

    fn create_media_buy(&mut self, config: &SellerConfig, args: &Value) -> Result<Value, Value> {
        let requests = items(args, "packages");
        for request in requests {
            self.check_creatives(config, request)?;
        }
        let packages = requests
            .iter()
            .map(|r| self.new_package(config, r))
            .collect();
        let buy = MediaBuy {
            id: format!("mb_{}", self.media_buys.len() + 1),
            revision: 1,
            packages,
        };
        let answer = json!({
            "media_buy_id": buy.id,
            "confirmed_at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "revision": buy.revision,
            "media_buy_status": buy.status(),
            "packages": buy.packages.iter().map(Package::answer).collect::<Vec<_>>(),
        });
        self.media_buys.push(buy);
        Ok(answer)
    }

    fn update_media_buy(&mut self, config: &SellerConfig, args: &Value) -> Result<Value, Value> {
        let id = args["media_buy_id"].as_str().unwrap_or_default();
        let Some(index) = self.media_buys.iter().position(|b| b.id == id) else {
            return Err(error("MEDIA_BUY_NOT_FOUND", format!("no media buy {id}")));
        };
        let updates = items(args, "packages");
        let new_packages = items(args, "new_packages");
        let buy = &self.media_buys[index];
        for update in updates {
            let package_id = update["package_id"].as_str().unwrap_or_default();
            if !buy.packages.iter().any(|p| p.id == package_id) {
                let message = format!("media buy {id} has no package {package_id}");
                return Err(error("PACKAGE_NOT_FOUND", message));
            }
            self.check_creatives(config, update)?;
        }
        for request in new_packages {
            self.check_creatives(config, request)?;
        }

        let mut buy = self.media_buys[index].clone();
        let status_before = buy.status();
        let mut affected: Vec<String> = Vec::new();
        for update in updates {
            let package_id = update["package_id"].as_str().unwrap_or_default();
            let Some(package) = buy.packages.iter_mut().find(|p| p.id == package_id) else {
                continue; // checked above
            };
            // Both lists are replaced whole, as AdCP's update semantics say, not merged.
            if let Some(assignments) = update.get("creative_assignments").and_then(Value::as_array)
            {
                package.assignments = assignments.clone();
            }
            if let Some(creatives) = update.get("creatives").and_then(Value::as_array) {
                package.creatives = creatives.clone();
                self.keep_inline(config, creatives);
            }
            if !affected.iter().any(|a| a == package_id) {
                affected.push(package_id.to_owned());
            }
        }
        for request in new_packages {
            let package = self.new_package(config, request);
            affected.push(package.id.clone());
            buy.packages.push(package);
        }
        buy.revision += 1;

        let affected_packages: Vec<Value> = affected
            .iter()
            .filter_map(|a| buy.packages.iter().find(|p| p.id == *a))
            .map(Package::answer)
            .collect();
        let mut answer = json!({
            "media_buy_id": buy.id,
            "revision": buy.revision,
            "affected_packages": affected_packages,
        });
        if buy.status() != status_before {
            answer["media_buy_status"] = json!(buy.status());
        }
        self.media_buys[index] = buy;
        Ok(answer)
    }
}

/// Serves `app` on `listener` in the background until the returned sender is used or dropped
/// (the test seller and the test creative agent stop this way).
fn serve_until_told(listener: tokio::net::TcpListener, app: Router) -> oneshot::Sender<()> {
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    tx
}
