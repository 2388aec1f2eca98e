//! The storefront's AdCP tools: their names, request schemas and who may call them, and the
//! dispatch from a `tools/call` to the tool's code.

use serde_json::{json, Value};

use super::error::{parse_args, AdcpError, ToolResult};
use super::library_tools::REPLAY_TTL_SECONDS;
use crate::state::AppState;
use crate::storefront::{formats, Account, Storefront};

pub struct Tool {
    pub name: &'static str,
    pub description: &'static str,
    /// Its AdCP 3.1.19 request schema, below `schemas/adcp-3.1.19/` (embedded by build.rs).
    pub input_schema: &'static str,
    /// Callable without a buyer key (discovery).
    pub public: bool,
}

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "get_adcp_capabilities",
        description: "AdCP versions, protocols and features this storefront supports.",
        input_schema: "protocol/get-adcp-capabilities-request.json",
        public: true,
    },
    Tool {
        name: "list_creative_formats",
        description: "Creative formats this storefront accepts (its sales agent's formats), with filters and pagination.",
        input_schema: "creative/list-creative-formats-request.json",
        public: true,
    },
    Tool {
        name: "sync_creatives",
        description: "Create or update creatives in the account's library (upsert by creative_id), with dry_run, validation_mode, delete_missing and idempotency.",
        input_schema: "creative/sync-creatives-request.json",
        public: false,
    },
    Tool {
        name: "list_creatives",
        description: "The account's creative library, with filters, sort, cursor pagination, field projection and summaries.",
        input_schema: "creative/list-creatives-request.json",
        public: false,
    },
    Tool {
        name: "get_creative_delivery",
        description: "Delivery of the account's creatives over a date range (what the storefront knows; empty when it has no delivery data).",
        input_schema: "creative/get-creative-delivery-request.json",
        public: false,
    },
];

pub fn find(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().find(|t| t.name == name)
}

/// Who is calling: nobody yet (public tools only), or a buyer account of this storefront.
pub enum Caller {
    Anonymous,
    Buyer(Account),
}

/// Runs `tool` with `args` (an object: AdCP requests are open, unknown fields are ignored).
pub async fn call(
    state: &AppState,
    storefront: &Storefront,
    caller: &Caller,
    tool: &Tool,
    args: &Value,
) -> ToolResult {
    let buyer = match caller {
        Caller::Buyer(a) => Some(a),
        Caller::Anonymous => None,
    };
    match (tool.name, buyer) {
        ("get_adcp_capabilities", _) => Ok(capabilities()),
        ("list_creative_formats", _) => list_creative_formats(state, storefront, args).await,
        ("sync_creatives", Some(a)) => {
            super::library_tools::sync_creatives(state, storefront, a, args).await
        }
        ("list_creatives", Some(a)) => super::library_tools::list_creatives(state, a, args).await,
        ("get_creative_delivery", Some(a)) => {
            super::library_tools::get_creative_delivery(state, storefront, a, args).await
        }
        // The transport answers 401 before a keyed tool runs without a buyer.
        (other, _) => Err(AdcpError::invalid_request(format!(
            "unknown tool '{other}'"
        ))),
    }
}

fn capabilities() -> Value {
    json!({
        "status": "completed",
        "adcp": {
            "major_versions": [3],
            "idempotency": {"supported": true, "replay_ttl_seconds": REPLAY_TTL_SECONDS}
        },
        "supported_protocols": ["creative"],
        "creative": {
            "has_creative_library": true,
            "supports_generation": false,
            "supports_transformation": false,
            "supports_compliance": false
        }
    })
}

async fn list_creative_formats(
    state: &AppState,
    storefront: &Storefront,
    args: &Value,
) -> ToolResult {
    let q: formats::FormatQuery = parse_args(args)?;
    let all = crate::store::formats::for_agent(&state.db, &storefront.sales_agent_id)
        .await
        .map_err(crate::error::ApiError::Internal)?;
    let page = formats::select(&all, &q)?;
    let mut pagination = json!({"has_more": page.has_more, "total_count": page.total});
    if let Some(c) = page.next_cursor {
        pagination["cursor"] = json!(c);
    }
    Ok(json!({
        "status": "completed",
        "formats": page.formats,
        "pagination": pagination,
    }))
}
