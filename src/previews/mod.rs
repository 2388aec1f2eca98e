//! Previews rendered by the formats' own AdCP agents, beside the service's own preview page: for
//! the manifest's format and each target format, when that format's agent (the standard creative
//! agent, or a seller's agent whose formats the registry holds) advertises `preview_creative`, it
//! is asked with the creative propagation would send. An agent that is down, slow or answers
//! badly costs its previews and leaves a `preview_errors[]` entry; it never fails the request.

pub mod answer;

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::adcp::creative;
use crate::adcp::mcp::{McpClient, McpError};
use crate::adcp::types::{FormatId, FormatRef};
use crate::formats::spec::FormatSpec;
use crate::formats::{Registry, Source};
use crate::manifest::model::{AgentPreview, Manifest, PreviewError};
use crate::state::AppState;
use crate::store::customers::Customer;
use crate::store::db::now;
use crate::store::sales_agents::{self, Secret};
use answer::Failure;

const TOOL: &str = "preview_creative";
/// Agents asked at once.
const CONCURRENCY: usize = 4;
/// An agent's error text kept on the entry, at most.
const MAX_MESSAGE: usize = 500;

/// The agent a format's previews come from.
struct Target {
    endpoint: String,
    token: Option<Secret>,
    /// A seller's tools are known from its probe; the standard agent is asked first.
    ask_tools: bool,
}

/// The formats to preview: the manifest's own, then each target format, once each.
fn formats_of(m: &Manifest) -> Vec<FormatId> {
    let mut out: Vec<FormatId> = Vec::new();
    let own = match &m.format {
        Some(FormatRef::Id(id)) => Some(id),
        _ => None,
    };
    for id in own.into_iter().chain(&m.target_format_ids) {
        if !out
            .iter()
            .any(|f| f.agent_url == id.agent_url && f.id == id.id)
        {
            out.push(id.clone());
        }
    }
    out
}

/// The standard agent's MCP endpoint, from its `agent_url`.
fn standard_endpoint(agent_url: &str) -> String {
    format!("{}/mcp", agent_url.trim_end_matches('/'))
}

fn failure_of(e: McpError) -> Failure {
    let cut = |s: String| s.chars().take(MAX_MESSAGE).collect::<String>();
    match e {
        McpError::Blocked(m) | McpError::Transport(m) => Failure::Unavailable(cut(m)),
        McpError::Timeout => Failure::Timeout,
        e @ (McpError::Http { .. } | McpError::Rpc { .. } | McpError::Tool(_)) => {
            Failure::Refused(cut(e.to_string()))
        }
        McpError::BadResponse(m) => Failure::Invalid(cut(m)),
    }
}

/// Asks every format's agent; returns the previews and the errors, in format order.
pub async fn from_agents(
    state: &AppState,
    customer: &Customer,
    m: &Manifest,
) -> anyhow::Result<(Vec<AgentPreview>, Vec<PreviewError>)> {
    let registry = Registry::for_customer(&state.db, &customer.id).await?;
    let sellers = sales_agents::list(&state.db, &customer.id).await?;
    let mut asks: Vec<(FormatId, FormatSpec, Target)> = Vec::new();
    for id in formats_of(m) {
        let Some(entry) = registry.find(&id) else {
            continue; // a format nobody published: no agent to ask
        };
        let target = match &entry.source {
            Source::Standard if state.config.standard_agent_previews => Target {
                endpoint: standard_endpoint(&entry.spec.format_id.agent_url),
                token: None,
                ask_tools: true,
            },
            Source::Standard => continue,
            Source::Agent { sales_agent_id, .. } => {
                match sellers.iter().find(|a| &a.id == sales_agent_id) {
                    Some(a) if a.capabilities.advertised_tools.iter().any(|t| t == TOOL) => {
                        Target {
                            endpoint: a.endpoint_url.clone(),
                            token: a.auth_token.clone(),
                            ask_tools: false,
                        }
                    }
                    _ => continue, // it does not offer previews
                }
            }
        };
        asks.push((id, entry.spec.clone(), target));
    }
    let wait = Duration::from_millis(state.config.agent_preview_timeout_ms);
    let calls: Vec<_> = asks
        .into_iter()
        .map(|(id, spec, target)| ask(state, m, id, spec, target, wait))
        .collect();
    let answers: Vec<Option<Result<AgentPreview, PreviewError>>> = futures::stream::iter(calls)
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let (mut previews, mut errors) = (Vec::new(), Vec::new());
    for a in answers.into_iter().flatten() {
        match a {
            Ok(p) => previews.push(p),
            Err(e) => {
                tracing::info!(agent = %e.agent_url, format = %e.format_id.id, code = %e.code, "no agent preview");
                errors.push(e);
            }
        }
    }
    Ok((previews, errors))
}

/// One format's preview; `None` when its agent turns out not to offer previews.
async fn ask(
    state: &AppState,
    m: &Manifest,
    id: FormatId,
    spec: FormatSpec,
    target: Target,
    wait: Duration,
) -> Option<Result<AgentPreview, PreviewError>> {
    let built = creative::build(m, &state.objects, &FormatRef::Id(id.clone()), Some(&spec));
    let args = answer::request(&built.creative, &id);
    let at = now();
    let call = async {
        let mut client =
            McpClient::connect(&state.outbound, &target.endpoint, target.token.as_ref()).await?;
        if target.ask_tools && !client.list_tools().await?.iter().any(|t| t == TOOL) {
            return Ok(None);
        }
        client.call_tool(TOOL, args).await.map(Some)
    };
    let answer: Result<Value, Failure> = match tokio::time::timeout(wait, call).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(e)) => Err(failure_of(e)),
        Ok(Ok(None)) => return None,
        Ok(Ok(Some(v))) => Ok(v),
    };
    Some(
        answer
            .and_then(|v| answer::read(&v, &target.endpoint, &id, &at))
            .map_err(|f| f.into_error(&target.endpoint, &id, &at)),
    )
}
