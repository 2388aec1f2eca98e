//! The AdCP creative agent adapter: a registered agent (a sales agent record whose endpoint offers
//! `build_creative`) draws the drafts, refines them from the buyer's words
//! (`refine_from_build_variant_id` + `message`) and previews them (`preview_creative`), over the
//! service's MCP client. Every answer is checked against AdCP's schema before it is read; the
//! pictures it names are fetched through the SSRF guard.
//!
//! Locked assets: the request says which in `ext.creative_sessions.locked_assets`; an agent that
//! reports where it drew each asset (`creative_manifest.ext.placements[]`: `asset_id, x, y, width,
//! height`) gets the fidelity check; one that does not cannot have a locked asset verified, and the
//! fidelity check fails (blocking finalize) rather than pretend.

use std::sync::OnceLock;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::adapter::{Adapter, AdapterError, Draft, File, Refined, Request, Target};
use super::model::{Layout, Params, Placement, Texts, Variant};
use crate::adcp::mcp::McpClient;
use crate::error::{ApiError, ApiResult};
use crate::ids::SalesAgentId;
use crate::outbound::Outbound;
use crate::propagation::calls::{self, CallError, TaskState};
use crate::state::AppState;
use crate::store::customers::Customer;
use crate::store::sales_agents::{self, Secret};

pub const PREFIX: &str = "creative_agent:";
const BUILD: &str = "build_creative";
const PREVIEW: &str = "preview_creative";

pub struct Agent {
    sales_agent_id: String,
    endpoint: String,
    token: Option<Secret>,
    outbound: Outbound,
    max_bytes: usize,
}

pub async fn resolve(
    state: &AppState,
    customer: &Customer,
    agent: &str,
) -> ApiResult<Box<dyn Adapter>> {
    let unknown = || {
        ApiError::field(
            "adapter",
            format!("no creative agent '{agent}' among this account's agents"),
        )
    };
    let id = SalesAgentId::parse(agent).ok_or_else(unknown)?;
    let a = sales_agents::get(&state.db, &customer.id, &id)
        .await?
        .ok_or_else(unknown)?;
    Ok(Box::new(Agent {
        sales_agent_id: a.id.as_str().to_owned(),
        endpoint: a.endpoint_url,
        token: a.auth_token,
        outbound: state.outbound.clone(),
        max_bytes: state.limits.max_file_bytes as usize,
    }))
}

fn validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| {
        let schema = crate::storefront::mcp::schemas::bundle("media-buy/build-creative-response.json")?;
        jsonschema::validator_for(&schema)
            .map_err(|e| tracing::error!(error = %e, "the build_creative response schema does not compile"))
            .ok()
    })
    .as_ref()
}

fn upstream(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Upstream(e.to_string())
}

/// The slot key an asset is sent under: its role, numbered past the first.
fn slot(role: super::model::Role, n: usize) -> String {
    let base = serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if n == 0 {
        format!("{base}_image")
    } else {
        format!("{base}_image_{}", n + 1)
    }
}

/// The seed manifest: every source as an image asset, the texts as text assets.
fn seed(req: &Request, target: &Target) -> (Value, Value) {
    let mut assets = serde_json::Map::new();
    let mut slots = serde_json::Map::new();
    let mut masks = serde_json::Map::new();
    let mut locked = Vec::new();
    for s in req.sources {
        let n = req
            .sources
            .iter()
            .take_while(|o| o.asset.asset_id != s.asset.asset_id)
            .filter(|o| o.asset.role == s.asset.role)
            .count();
        let key = slot(s.asset.role, n);
        assets.insert(
            key.clone(),
            json!({"asset_type": "image", "url": s.asset.url, "width": s.asset.width, "height": s.asset.height}),
        );
        if let Some(m) = &s.asset.mask_file {
            masks.insert(key.clone(), json!(m.url));
        }
        slots.insert(key, json!(s.asset.asset_id));
        if s.asset.uniform_only() {
            locked.push(json!(s.asset.asset_id));
        }
    }
    for (key, text) in [
        ("headline", &req.texts.headline),
        ("body", &req.texts.body),
        ("cta", &req.texts.cta),
    ] {
        if let Some(t) = text {
            assets.insert(key.to_owned(), json!({"asset_type": "text", "content": t}));
        }
    }
    let manifest = json!({"format_id": target.format_id, "assets": assets});
    let ext = json!({"creative_sessions": {"asset_ids": slots, "locked_assets": locked, "masks": masks,
        "rule": "locked assets may only be scaled uniformly: no crop, recolour or distortion"}});
    (manifest, ext)
}

fn brief_message(req: &Request) -> String {
    let b = req.brief;
    let mut parts = Vec::new();
    for (k, v) in [
        ("message", &b.message),
        ("goal", &b.goal),
        ("audience", &b.audience),
        ("channel", &b.channel),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}: {v}"));
        }
    }
    if parts.is_empty() {
        "Draft display creatives from the seed assets.".to_owned()
    } else {
        parts.join("; ")
    }
}

/// How long a queued build is waited for: the session's request is waiting too.
const BUILD_WAIT: Duration = Duration::from_secs(60);

/// The task a build answer queued (build-creative-response's `submitted` branch), if it is one.
fn queued_task(answer: &Value) -> Option<&str> {
    (answer.get("status").and_then(Value::as_str) == Some("submitted"))
        .then(|| answer.get("task_id").and_then(Value::as_str))
        .flatten()
}

impl Agent {
    /// A build the agent queued (a slow generative pipeline) is polled with `get_task_status` (or
    /// its legacy name) until it completes, at most [`BUILD_WAIT`]; its result is the answer the
    /// build would have given.
    async fn finished(&self, client: &mut McpClient, answer: Value) -> Result<Value, AdapterError> {
        let Some(task_id) = queued_task(&answer).map(str::to_owned) else {
            return Ok(answer);
        };
        let deadline = tokio::time::Instant::now() + BUILD_WAIT;
        let mut pause = Duration::from_millis(100);
        loop {
            tokio::time::sleep(pause).await;
            match calls::task_status(client, &task_id, None).await {
                Ok(TaskState::Completed(result)) => return Ok(result),
                Ok(TaskState::Unfinished(t)) if tokio::time::Instant::now() >= deadline => {
                    return Err(upstream(format!(
                        "the creative agent's queued build (task {task_id}) is still {} after {} s",
                        t.status,
                        BUILD_WAIT.as_secs()
                    )))
                }
                Ok(TaskState::Unfinished(_)) => {}
                Err(CallError::Refused(errors)) => {
                    return Err(upstream(format!(
                        "the creative agent refused its queued build: {}",
                        calls::summary(&errors)
                    )))
                }
                Err(e) => return Err(upstream(format!("the creative agent's queued build: {e}"))),
            }
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn client(&self) -> Result<McpClient, AdapterError> {
        McpClient::connect(&self.outbound, &self.endpoint, self.token.as_ref())
            .await
            .map_err(upstream)
    }

    /// One build_creative call, checked and read into a draft for `target`.
    async fn build(
        &self,
        client: &mut McpClient,
        req: &Request<'_>,
        target: &Target,
        mut args: Value,
        base: Params,
    ) -> Result<Draft, AdapterError> {
        args["idempotency_key"] = json!(uuid::Uuid::now_v7().to_string());
        args["target_format_id"] = json!(target.format_id);
        // A refusal comes as an `isError` result carrying AdCP errors: read it like an answer.
        let answer = match client.call_tool(BUILD, args).await {
            Ok(a) => a,
            Err(crate::adcp::mcp::McpError::Tool(payload)) if payload.get("errors").is_some() => {
                payload
            }
            Err(e) => return Err(upstream(e)),
        };
        let answer = self.finished(client, answer).await?;
        if let Some(errors) = answer
            .get("errors")
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty())
        {
            let message = errors[0]["message"]
                .as_str()
                .unwrap_or("no message")
                .to_owned();
            // An agent's refusal of the words themselves is the buyer's to fix.
            return Err(if errors[0]["field"] == "message" {
                AdapterError::NotUnderstood(message)
            } else {
                AdapterError::Upstream(format!("the creative agent refused: {message}"))
            });
        }
        let v =
            validator().ok_or_else(|| upstream("the build_creative schema is not available"))?;
        if let Some(e) = v.iter_errors(&answer).next() {
            return Err(upstream(format!(
                "the creative agent's build_creative answer is not AdCP: {e} at {}",
                e.instance_path
            )));
        }
        let manifest = answer.get("creative_manifest").ok_or_else(|| {
            upstream("the creative agent answered several formats; one manifest was asked for")
        })?;
        let image = manifest["assets"]
            .as_object()
            .and_then(|a| {
                a.values()
                    .find(|x| x["asset_type"] == "image" && x["url"].is_string())
            })
            .ok_or_else(|| upstream("the built manifest has no image asset"))?;
        let url = image["url"].as_str().unwrap_or_default();
        let checked = self.outbound.check(url).await.map_err(upstream)?;
        let res = self
            .outbound
            .client()
            .get(checked)
            .send()
            .await
            .map_err(upstream)?;
        if !res.status().is_success() {
            return Err(upstream(format!(
                "fetching the agent's image {url} answered {}",
                res.status()
            )));
        }
        let bytes = crate::outbound::read_capped(res, self.max_bytes)
            .await
            .map_err(upstream)?;
        let (content_type, ext, _) = super::sources::sniff(&bytes)
            .ok_or_else(|| upstream("the agent's image is not a PNG or JPEG"))?;
        let (w, h) = image::load_from_memory(&bytes)
            .map_err(upstream)?
            .to_rgba8()
            .dimensions();
        let mut quality = Vec::new();
        if (w, h) != (target.width, target.height) {
            quality.push(format!(
                "the agent drew {w}x{h} for a {}x{} format",
                target.width, target.height
            ));
        }
        let placements: Vec<Placement> = manifest
            .pointer("/ext/placements")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|p| {
                        let id = p["asset_id"].as_str()?;
                        let src = req.sources.iter().find(|s| s.asset.asset_id == id)?;
                        let n = |k: &str| p[k].as_u64().map(|v| v as u32);
                        Some(Placement {
                            asset_id: id.to_owned(),
                            role: src.asset.role,
                            locked: src.asset.uniform_only(),
                            x: n("x")?,
                            y: n("y")?,
                            width: n("width")?,
                            height: n("height")?,
                            box_width: n("width")?,
                            box_height: n("height")?,
                            fit: "reported".to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if placements.is_empty() && req.sources.iter().any(|s| s.asset.locked_asset) {
            quality.push("the agent did not say where it drew the locked assets: their fidelity cannot be verified".to_owned());
        }
        let mut params = base;
        params.build_variant_id = answer["build_variant_id"].as_str().map(str::to_owned);
        // The agent's own preview of what it built, when it offers one.
        let preview = client
            .call_tool(
                PREVIEW,
                crate::previews::answer::request(
                    &json!({"assets": manifest["assets"]}),
                    &target.format_id,
                ),
            )
            .await
            .ok()
            .and_then(|a| {
                crate::previews::answer::read(
                    &a,
                    &self.endpoint,
                    &target.format_id,
                    &crate::store::db::now(),
                )
                .ok()
            });
        if let Some(url) = preview
            .as_ref()
            .and_then(|p| p.renders.first())
            .and_then(|r| r["preview_url"].as_str())
        {
            quality.push(format!("agent preview: {url}"));
        }
        let text = |k: &str| manifest["assets"][k]["content"].as_str().map(str::to_owned);
        Ok(Draft {
            format_id: target.format_id.clone(),
            params,
            texts: Texts {
                headline: text("headline").or_else(|| req.texts.headline.clone()),
                body: text("body").or_else(|| req.texts.body.clone()),
                cta: text("cta").or_else(|| req.texts.cta.clone()),
            },
            files: vec![File {
                kind: "image",
                name: format!("draft.{ext}"),
                content_type,
                bytes,
                width: w,
                height: h,
            }],
            placements,
            quality,
        })
    }
}

impl Adapter for Agent {
    fn name(&self) -> String {
        format!("{PREFIX}{}", self.sales_agent_id)
    }

    fn rendering_model(&self) -> &'static str {
        "agent"
    }

    fn capabilities(&self) -> Value {
        json!({
            "network": true,
            "agent": self.endpoint,
            "tools": [BUILD, PREVIEW],
            "refine": "free text, passed to the agent as build_creative's message",
            "locked_assets": "verified only where the agent reports placements (creative_manifest.ext.placements)",
            "queued_builds": "polled with get_task_status for up to 60 s",
            "mask": "sent beside its picture (ext.creative_sessions.masks, by slot); applying it is the agent's",
        })
    }

    fn draft<'a>(
        &'a self,
        req: &'a Request<'a>,
    ) -> BoxFuture<'a, Result<Vec<Draft>, AdapterError>> {
        async move {
            let mut client = self.client().await?;
            let mut out = Vec::new();
            for t in req.targets {
                let (manifest, ext) = seed(req, t);
                let args = json!({"message": brief_message(req), "creative_manifest": manifest, "ext": ext});
                out.push(self.build(&mut client, req, t, args, Params::new(Layout::FullBleed)).await?);
            }
            Ok(out)
        }
        .boxed()
    }

    fn refine<'a>(
        &'a self,
        req: &'a Request<'a>,
        parent: &'a Variant,
        feedback: &'a str,
    ) -> BoxFuture<'a, Result<Refined, AdapterError>> {
        async move {
            let from = parent
                .lineage
                .parameters
                .build_variant_id
                .clone()
                .ok_or_else(|| {
                    upstream(
                        "the agent gave this variant no build_variant_id: it cannot be refined",
                    )
                })?;
            let mut client = self.client().await?;
            let mut drafts = Vec::new();
            for t in req.targets {
                let (_, ext) = seed(req, t);
                let args =
                    json!({"message": feedback, "refine_from_build_variant_id": from, "ext": ext});
                drafts.push(
                    self.build(&mut client, req, t, args, parent.lineage.parameters.clone())
                        .await?,
                );
            }
            Ok(Refined {
                drafts,
                // The agent takes the words whole; what it could not do comes back as a refusal.
                understood: vec![feedback.to_owned()],
                not_understood: vec![],
            })
        }
        .boxed()
    }

    fn redraw<'a>(
        &'a self,
        req: &'a Request<'a>,
        parent: &'a Variant,
    ) -> BoxFuture<'a, Result<Vec<Draft>, AdapterError>> {
        async move {
            let mut client = self.client().await?;
            let mut out = Vec::new();
            for t in req.targets {
                let (manifest, ext) = seed(req, t);
                let args = match &parent.lineage.parameters.build_variant_id {
                    Some(from) => json!({"message": "the same creative, for this format", "refine_from_build_variant_id": from, "ext": ext}),
                    None => json!({"message": brief_message(req), "creative_manifest": manifest, "ext": ext}),
                };
                out.push(self.build(&mut client, req, t, args, parent.lineage.parameters.clone()).await?);
            }
            Ok(out)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_submitted_branch_with_a_task_is_a_queued_build() {
        assert_eq!(
            queued_task(&json!({"status": "submitted", "task_id": "t1"})),
            Some("t1")
        );
        for answer in [
            json!({"status": "submitted"}),
            json!({"status": "completed", "task_id": "t1"}),
            json!({"creative_manifest": {}}),
        ] {
            assert_eq!(queued_task(&answer), None, "{answer}");
        }
    }
}
