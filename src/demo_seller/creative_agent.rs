//! A test creative agent: an AdCP agent over MCP offering `build_creative` (generation from seed
//! assets, and refinement by `refine_from_build_variant_id` + `message`) and `preview_creative`,
//! for the creative sessions' agent adapter and its tests. It draws with the service's own
//! compositor (so its drafts are deterministic and its placements exact), serves the pictures it
//! made at `/files/…`, and reports where it drew each seed asset in `creative_manifest.ext`.
//! With a [`SchemaCheck`], every request and every answer of its own is checked against AdCP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::{lock, SchemaCheck, SellerConfig};
use crate::adcp::types::FormatId;
use crate::sessions::adapter::{Request, Source, Target};
use crate::sessions::model::{Brief, Layout, Params, Provenance, Rights, Role, SourceAsset, Texts};
use crate::sessions::{builtin, refine, sources};

/// One build it remembers, to refine later.
#[derive(Clone)]
struct Build {
    params: Params,
    seed: Value,
    ext: Value,
}

#[derive(Default)]
struct Shared {
    check: Option<SchemaCheck>,
    base: String,
    builds: Mutex<HashMap<String, Build>>,
    files: Mutex<HashMap<String, Vec<u8>>>,
    calls: Mutex<Vec<(String, Value)>>,
    violations: Mutex<Vec<String>>,
    /// When set, builds are queued: answered `submitted`, then `working` for this many polls of
    /// `get_task_status`, then completed with the build's answer.
    queue_polls: Mutex<Option<usize>>,
    /// Queued builds: task id → (polls left, the answer once completed).
    tasks: Mutex<HashMap<String, (usize, Value)>>,
}

pub struct CreativeAgent {
    pub url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl CreativeAgent {
    pub fn serve(listener: tokio::net::TcpListener, check: Option<SchemaCheck>) -> CreativeAgent {
        let addr = listener.local_addr().expect("a bound listener");
        let shared = Arc::new(Shared {
            check,
            base: format!("http://{addr}"),
            ..Default::default()
        });
        let app = Router::new()
            .route("/mcp", post(handle))
            .route("/files/{name}", get(file))
            .with_state(shared.clone());
        CreativeAgent {
            url: format!("http://{addr}/mcp"),
            shared,
            shutdown: Some(super::serve_until_told(listener, app)),
        }
    }

    /// (tool, arguments) of every `tools/call` received.
    pub fn calls(&self) -> Vec<(String, Value)> {
        lock(&self.shared.calls).clone()
    }

    /// From now on, queue every build (a slow generative pipeline): it stays `working` for
    /// `polls` polls of its task, then completes.
    pub fn queue_builds(&self, polls: usize) {
        *lock(&self.shared.queue_polls) = Some(polls);
    }

    /// Schema violations of requests received and answers given.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }
}

impl Drop for CreativeAgent {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn file(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    match lock(&shared.files).get(&name) {
        Some(b) => ([("content-type", "image/png")], b.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn rpc(id: &Value, result: Value) -> Response {
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

fn tool_result(payload: Value, is_error: bool) -> Value {
    json!({"content": [{"type": "text", "text": payload.to_string()}], "structuredContent": payload, "isError": is_error})
}

fn refusal(code: &str, message: String, field: Option<&str>) -> Value {
    let mut e = json!({"code": code, "message": message});
    if let Some(f) = field {
        e["field"] = json!(f);
    }
    json!({"status": "failed", "errors": [e]})
}

async fn handle(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let method = msg["method"].as_str().unwrap_or_default();
    let Some(id) = msg.get("id").cloned() else {
        return StatusCode::ACCEPTED.into_response();
    };
    match method {
        "initialize" => rpc(
            &id,
            json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "test-creative-agent", "version": "1"}}),
        ),
        "tools/list" => {
            let tools: Vec<Value> = ["list_creative_formats", "build_creative", "preview_creative", "get_task_status"]
                .iter()
                .map(|n| json!({"name": n, "inputSchema": {"type": "object"}}))
                .collect();
            rpc(&id, json!({"tools": tools}))
        }
        "tools/call" => {
            let tool = msg["params"]["name"].as_str().unwrap_or_default().to_owned();
            let args = msg["params"]["arguments"].clone();
            lock(&shared.calls).push((tool.clone(), args.clone()));
            let (request_schema, response_schema) = match tool.as_str() {
                "build_creative" => ("media-buy/build-creative-request.json", "media-buy/build-creative-response.json"),
                "preview_creative" => ("creative/preview-creative-request.json", "creative/preview-creative-response.json"),
                "get_task_status" => ("protocol/get-task-status-request.json", "protocol/get-task-status-response.json"),
                _ => ("creative/list-creative-formats-request.json", ""),
            };
            if let Some(check) = shared.check {
                let v = check(request_schema, &args);
                lock(&shared.violations).extend(v.into_iter().map(|e| format!("{tool} request: {e}")));
            }
            let (payload, is_error) = match tool.as_str() {
                "build_creative" => match (build(&shared, &args).await, *lock(&shared.queue_polls)) {
                    ((answer, false), Some(polls)) => {
                        let task_id = format!("task_{}", uuid::Uuid::now_v7().simple());
                        lock(&shared.tasks).insert(task_id.clone(), (polls, answer));
                        (json!({"status": "submitted", "task_id": task_id, "message": "generative build queued"}), false)
                    }
                    (answered, _) => answered,
                },
                "get_task_status" => task_status(&shared, &args),
                "preview_creative" => (super::preview::answer(&SellerConfig::default(), &super::Previews::default(), &args), false),
                _ => (json!({"formats": []}), false),
            };
            if let (Some(check), false) = (shared.check, response_schema.is_empty()) {
                let v = check(response_schema, &payload);
                lock(&shared.violations).extend(v.into_iter().map(|e| format!("{tool} answer: {e}")));
            }
            rpc(&id, tool_result(payload, is_error))
        }
        _ => axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}})).into_response(),
    }
}

/// A queued build's state (`protocol/get-task-status-response.json`): `working` while polls are
/// left, then `completed` with the build's answer.
fn task_status(shared: &Shared, args: &Value) -> (Value, bool) {
    let task_id = args["task_id"].as_str().unwrap_or_default();
    let mut tasks = lock(&shared.tasks);
    let Some((left, answer)) = tasks.get_mut(task_id) else {
        return (
            refusal(
                "REFERENCE_NOT_FOUND",
                format!("no task {task_id}"),
                Some("task_id"),
            ),
            true,
        );
    };
    let at = crate::store::db::now();
    let mut status = json!({"task_id": task_id, "task_type": "build_creative", "protocol": "creative",
        "created_at": at, "updated_at": at});
    if *left > 0 {
        *left -= 1;
        status["status"] = json!("working");
    } else {
        status["status"] = json!("completed");
        status["result"] = answer.clone();
    }
    (status, false)
}

/// A picture a build names, fetched and decoded: its bytes and image, or the tool's refusal.
async fn picture(url: &str) -> Result<(Vec<u8>, image::DynamicImage), (Value, bool)> {
    let bytes = match reqwest::get(url).await {
        Ok(r) => r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
        Err(_) => vec![],
    };
    match image::load_from_memory(&bytes) {
        Ok(img) => Ok((bytes, img)),
        Err(_) => Err((
            refusal("INVALID_REQUEST", format!("cannot read {url}"), None),
            true,
        )),
    }
}

/// `display_300x250` → 300x250.
fn size_of(format: &FormatId) -> Option<(u32, u32)> {
    let (w, h) = format
        .id
        .strip_prefix("display_")?
        .split('_')
        .next()?
        .split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

fn role_of(slot: &str) -> Role {
    match slot.split('_').next().unwrap_or_default() {
        "product" => Role::Product,
        "logo" => Role::Logo,
        "background" => Role::Background,
        "person" => Role::Person,
        _ => Role::Other,
    }
}

async fn build(shared: &Shared, args: &Value) -> (Value, bool) {
    let Ok(format) = serde_json::from_value::<FormatId>(args["target_format_id"].clone()) else {
        return (
            refusal(
                "INVALID_REQUEST",
                "target_format_id is required".into(),
                Some("target_format_id"),
            ),
            true,
        );
    };
    let Some((width, height)) = size_of(&format) else {
        return (
            refusal(
                "UNSUPPORTED_FEATURE",
                format!("cannot draw {}", format.id),
                Some("target_format_id"),
            ),
            true,
        );
    };
    let from = args["refine_from_build_variant_id"].as_str();
    let (params, seed, ext) = match from {
        Some(parent) => {
            let Some(b) = lock(&shared.builds).get(parent).cloned() else {
                return (
                    refusal(
                        "REFERENCE_NOT_FOUND",
                        format!("no build {parent}"),
                        Some("refine_from_build_variant_id"),
                    ),
                    true,
                );
            };
            let words = args["message"].as_str().unwrap_or_default();
            let parsed = refine::parse(words);
            let same = words == "the same creative, for this format";
            if parsed.understood.is_empty() && !same {
                return (
                    refusal(
                        "INVALID_REQUEST",
                        format!("not understood: \"{words}\""),
                        Some("message"),
                    ),
                    true,
                );
            }
            let texts = texts_of(&b.seed);
            (
                refine::apply(&b.params, &texts, &parsed.understood),
                b.seed,
                b.ext,
            )
        }
        None => (
            Params::new(Layout::Split),
            args["creative_manifest"].clone(),
            args["ext"].clone(),
        ),
    };
    // Seed pictures, fetched and described as the session's compositor wants them.
    let ids = &ext["creative_sessions"]["asset_ids"];
    let locked: Vec<&str> = ext["creative_sessions"]["locked_assets"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut assets = Vec::new();
    let mut blobs = Vec::new();
    for (slot, a) in seed["assets"].as_object().into_iter().flatten() {
        if a["asset_type"] != "image" {
            continue;
        }
        let Some(url) = a["url"].as_str() else {
            continue;
        };
        let (bytes, img) = match picture(url).await {
            Ok(p) => p,
            Err(refused) => return refused,
        };
        let mut img = img.to_rgba8();
        // A mask the session sent beside the picture (ext.creative_sessions.masks) cuts it out.
        if let Some(mask_url) = ext["creative_sessions"]["masks"][slot].as_str() {
            match picture(mask_url).await {
                Ok((_, mask)) => sources::apply_mask(&mut img, &mask),
                Err(refused) => return refused,
            }
        }
        let asset_id = ids[slot].as_str().unwrap_or(slot).to_owned();
        let is_locked = locked.contains(&asset_id.as_str());
        assets.push(SourceAsset {
            role: role_of(slot),
            locked_asset: is_locked,
            can_transform: !is_locked,
            preservation_notes: None,
            source: Provenance::Url,
            origin: url.to_owned(),
            rights: Rights::default(),
            render_crop: None,
            subject_bounds: None,
            mask: None,
            mask_file: None,
            checksum: sources::sha256(&bytes),
            content_type: "image/png".into(),
            width: img.width(),
            height: img.height(),
            object_key: String::new(),
            url: url.to_owned(),
            asset_id,
        });
        blobs.push((img, bytes));
    }
    let srcs: Vec<Source> = assets
        .iter()
        .zip(&blobs)
        .map(|(asset, (image, bytes))| Source {
            asset,
            image: image.clone(),
            scale: 1.0,
            bytes,
        })
        .collect();
    let texts = texts_of(&seed);
    let brief = Brief::default();
    let target = Target {
        format_id: format.clone(),
        width,
        height,
        html: false,
    };
    let req = Request {
        session_id: "agent",
        brief: &brief,
        texts: &texts,
        brand_domain: "",
        sources: &srcs,
        targets: std::slice::from_ref(&target),
    };
    let draft = match builtin::render(&req, &target, &params) {
        Ok(d) => d,
        Err(e) => return (refusal("SERVICE_UNAVAILABLE", e.to_string(), None), true),
    };
    let build_id = format!("bv_{}", uuid::Uuid::now_v7().simple());
    let name = format!("{build_id}.png");
    let png = draft
        .files
        .iter()
        .find(|f| f.kind == "image")
        .map(|f| f.bytes.clone())
        .unwrap_or_default();
    lock(&shared.files).insert(name.clone(), png);
    lock(&shared.builds).insert(
        build_id.clone(),
        Build {
            params,
            seed: seed.clone(),
            ext,
        },
    );
    let placements: Vec<Value> = draft
        .placements
        .iter()
        .map(|p| json!({"asset_id": p.asset_id, "x": p.x, "y": p.y, "width": p.width, "height": p.height}))
        .collect();
    let mut out_assets = serde_json::Map::new();
    out_assets.insert(
        "banner_image".into(),
        json!({"asset_type": "image", "url": format!("{}/files/{name}", shared.base), "width": width, "height": height, "format": "png"}),
    );
    if let Some(h) = &draft.texts.headline {
        out_assets.insert(
            "headline".into(),
            json!({"asset_type": "text", "content": h}),
        );
    }
    (
        json!({
            "creative_manifest": {"format_id": format, "assets": out_assets, "ext": {"placements": placements}},
            "build_variant_id": build_id,
            "status": "completed",
        }),
        false,
    )
}

fn texts_of(seed: &Value) -> Texts {
    let t = |k: &str| seed["assets"][k]["content"].as_str().map(str::to_owned);
    Texts {
        headline: t("headline"),
        body: t("body"),
        cta: t("cta"),
    }
}
