//! Fetching a sales agent's formats with AdCP `list_creative_formats`, and keeping them fresh. An
//! agent that cannot be reached keeps its last known formats; the failure is recorded beside them.

use std::time::Duration;

use serde_json::{json, Value};

use super::spec;
use crate::adcp::mcp::{McpClient, McpError};
use crate::adcp::types::FormatId;
use crate::outbound::Outbound;
use crate::store::db::now;
use crate::store::sales_agents::{self, LibrarySupport, SalesAgent};
use crate::store::{formats as stored, Db};

/// At most this many pages are followed; a seller with more is cut off (and says so in the log).
const MAX_PAGES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Agent(#[from] McpError),
    #[error("storing formats: {0}")]
    Store(#[from] sqlx::Error),
}

/// Fetches and stores the agent's formats; returns how many were kept. Formats that do not parse
/// (no valid `format_id`) are skipped.
pub async fn refresh(
    db: &Db,
    outbound: &Outbound,
    agent: &SalesAgent,
) -> Result<usize, FetchError> {
    let at = now();
    let fetched = async {
        let mut client =
            McpClient::connect(outbound, &agent.endpoint_url, agent.auth_token.as_ref()).await?;
        let probe = probe(&mut client, agent).await;
        // Recorded before the formats are asked for: what the agent said of itself stands even
        // if its format listing then fails.
        sales_agents::record_capabilities(
            db,
            &agent.id,
            probe.has_creative_library,
            &probe.tools,
            &at,
        )
        .await?;
        Ok::<_, FetchError>(fetch(&mut client, agent).await?)
    }
    .await;
    match fetched {
        Ok(formats) => {
            stored::replace(db, &agent.id, &formats, &at).await?;
            Ok(formats.len())
        }
        Err(e) => {
            stored::record_failure(db, &agent.id, &e.to_string(), &at).await?;
            Err(e)
        }
    }
}

/// What an agent says about itself.
#[derive(Debug, Default)]
struct Probe {
    tools: Vec<String>,
    has_creative_library: Option<bool>,
}

/// Asks for the advertised tools and, when the buyer did not say, whether the agent keeps a
/// creative library (`get_adcp_capabilities`). An agent that cannot tell leaves things unknown.
async fn probe(client: &mut McpClient, agent: &SalesAgent) -> Probe {
    let tools = client.list_tools().await.unwrap_or_default();
    let ask = agent.capabilities.has_creative_library == LibrarySupport::Unknown
        && (tools.is_empty() || tools.iter().any(|t| t == "get_adcp_capabilities"));
    let has_creative_library = if ask {
        match client.call_tool("get_adcp_capabilities", json!({})).await {
            Ok(caps) => caps
                .pointer("/creative/has_creative_library")
                .and_then(Value::as_bool),
            Err(e) => {
                tracing::info!(agent = %agent.id, error = %e, "get_adcp_capabilities failed; library support stays unknown");
                None
            }
        }
    } else {
        None
    };
    Probe {
        tools,
        has_creative_library,
    }
}

/// Every page of the agent's `list_creative_formats`.
async fn fetch(
    client: &mut McpClient,
    agent: &SalesAgent,
) -> Result<Vec<(FormatId, Value)>, McpError> {
    let mut out: Vec<(FormatId, Value)> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let args = match &cursor {
            Some(c) => json!({"pagination": {"cursor": c}}),
            None => json!({}),
        };
        let page = client.call_tool("list_creative_formats", args).await?;
        let formats = page
            .get("formats")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                McpError::BadResponse("list_creative_formats answer has no formats array".into())
            })?;
        for f in formats {
            match spec::parse(f) {
                Ok(s) if !out.iter().any(|(id, _)| *id == s.format_id) => {
                    out.push((s.format_id, f.clone()))
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(agent = %agent.id, error = %e, "skipping a format the agent published")
                }
            }
        }
        let pagination = page.get("pagination");
        let more = pagination
            .and_then(|p| p.get("has_more"))
            .and_then(Value::as_bool)
            == Some(true);
        cursor = pagination
            .and_then(|p| p.get("cursor"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if !more || cursor.is_none() {
            return Ok(out);
        }
    }
    tracing::warn!(agent = %agent.id, "list_creative_formats has more than {MAX_PAGES} pages; keeping the first");
    Ok(out)
}

/// Refreshes, every minute, the agents whose formats were last tried more than `every` ago.
pub fn spawn_refresher(db: Db, outbound: Outbound, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let Ok(age) = chrono::Duration::from_std(every) else {
                return;
            };
            let stamp = |t: chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            };
            let now = chrono::Utc::now();
            let (before, new_since) = (stamp(now - age), stamp(now - chrono::Duration::minutes(1)));
            let due = match stored::due_for_refresh(&db, &before, &new_since).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "could not list agents due for a format refresh");
                    continue;
                }
            };
            for (customer, id) in due {
                if let Ok(Some(agent)) = sales_agents::get(&db, &customer, &id).await {
                    if let Err(e) = refresh(&db, &outbound, &agent).await {
                        tracing::info!(agent = %id, error = %e, "format refresh failed; keeping the last known formats");
                    }
                }
            }
        }
    })
}
