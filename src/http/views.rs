//! JSON shapes of what the API answers: manifests, and each resource's view. Handlers build these
//! typed values; none writes a `json!` shape of its own.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::adcp::types::{FormatId, FormatRef, FrequencyCap};
use crate::formats::templates::Template;
use crate::ids::{AccountId, AssetId, CampaignId, CreativeId, SalesAgentId, StorefrontId};
use crate::manifest::asset_type::AssetType;
use crate::manifest::coverage::{Coverage, Requirement, Violation};
use crate::manifest::model::{
    AgentPreview, Asset, AssetContent, AssetSource, Manifest, PreviewError, SyncStatus, UrlType,
};
use crate::propagation::job::SellerReport;
use crate::store::campaigns::{Campaign, FormatKindRequirement, Product};
use crate::store::formats::FetchStatus;
use crate::store::media_buys::MediaBuy;
use crate::store::sales_agents::{Capabilities, SalesAgent};
use crate::store::Objects;
use crate::storefront::{Account, ReviewMode, Storefront};

pub use super::job_view::{job, JobView};

#[derive(Serialize, ToSchema)]
pub struct ManifestView<'a> {
    /// Delivery totals (last 7 days, flight to date), on a single manifest's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<super::doc_shapes::Performance>, nullable = false)]
    pub performance: Option<Value>,
    creative_id: &'a CreativeId,
    campaign_id: &'a CampaignId,
    name: &'a str,
    #[schema(required = true)]
    message: Option<&'a str>,
    #[schema(required = true)]
    template_id: Option<&'a str>,
    /// Documented as optional `format_id` / `format_kind` (src/http/openapi.rs `FormatRefFields`).
    #[serde(flatten)]
    #[schema(ignore)]
    format: &'a Option<FormatRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    format_option_ref: Option<&'a Value>,
    target_format_ids: &'a [FormatId],
    brand_domain: &'a str,
    assets: Vec<AssetView<'a>>,
    /// The webhook assets in AdCP's `core/assets/webhook-asset.json` shape (plus our ids).
    #[schema(value_type = Vec<Object>)]
    webhook_assets: Vec<Value>,
    #[schema(required = true)]
    primary_asset_id: Option<&'a AssetId>,
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    html_processing: Option<&'a Value>,
    #[schema(value_type = Option<Object>, required = true)]
    auto_detected_template: Option<&'a Value>,
    #[schema(required = true)]
    preview_url: Option<String>,
    /// The service's own preview page and the formats' agents' renders (`POST .../preview`).
    previews: Previews<'a>,
    preview_errors: &'a [PreviewError],
    /// The manifest's trackers; none without a clickthrough or a VAST to count.
    #[schema(value_type = Option<super::doc_shapes::Tracking>, required = true)]
    tracking: Option<&'a Value>,
    sync_status: &'a SyncStatus,
    #[serde(rename = "frequencyCaps")]
    frequency_caps: &'a [FrequencyCap],
    created_at: &'a str,
    updated_at: &'a str,
}

#[derive(Serialize, ToSchema)]
pub struct AssetView<'a> {
    asset_id: &'a AssetId,
    name: &'a str,
    asset_type: AssetType,
    asset_source: AssetSource,
    #[schema(required = true)]
    original_filename: Option<&'a str>,
    #[schema(required = true)]
    content_type: Option<&'a str>,
    #[schema(required = true)]
    file_size: Option<u64>,
    #[schema(required = true)]
    sha256: Option<&'a str>,
    #[schema(required = true)]
    public_url: Option<String>,
    /// What sellers serve, when processing made a copy (rewritten HTML, VAST with trackers).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    processed_url: Option<String>,
    #[schema(required = true)]
    width: Option<u32>,
    #[schema(required = true)]
    height: Option<u32>,
    #[schema(required = true)]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    url_type: Option<UrlType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    text: Option<&'a str>,
    /// AdCP `webhook-asset.json`, without the secret (`security.configured` says one is held).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    webhook: Option<Value>,
    #[schema(required = true)]
    label: Option<&'a str>,
    #[schema(required = true)]
    slot_asset_id: Option<&'a str>,
    warnings: &'a [String],
    created_at: &'a str,
    /// Processing reports: `html_processing`, `bundle`, `vast`.
    /// Documented as optional `html_processing`, `bundle`, `vast` (src/http/openapi.rs).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    details: Option<&'a Value>,
}

pub fn asset<'a>(a: &'a Asset, objects: &Objects) -> AssetView<'a> {
    let file = a.file();
    let (url, url_type) = match &a.content {
        AssetContent::Url { url, url_type } => (Some(url.as_str()), Some(*url_type)),
        _ => (None, None),
    };
    AssetView {
        asset_id: &a.asset_id,
        name: &a.name,
        asset_type: a.asset_type,
        asset_source: a.source(),
        original_filename: file.map(|f| f.original_filename.as_str()),
        content_type: file.map(|f| f.content_type.as_str()),
        file_size: file.map(|f| f.file_size),
        sha256: file.map(|f| f.sha256.as_str()),
        public_url: file.map(|f| objects.public_url(&f.object_key)),
        processed_url: file
            .and_then(|f| f.processing.processed_key.as_deref())
            .map(|k| objects.public_url(k)),
        width: file.and_then(|f| f.width),
        height: file.and_then(|f| f.height),
        duration_ms: file.and_then(|f| f.duration_ms),
        url,
        url_type,
        text: match &a.content {
            AssetContent::Text(t) => Some(t),
            _ => None,
        },
        webhook: a.webhook().map(|w| w.view()),
        label: a.label.as_deref(),
        slot_asset_id: a.slot_asset_id.as_deref(),
        warnings: &a.warnings,
        created_at: &a.created_at,
        details: file.and_then(|f| f.processing.details.as_ref()),
    }
}

/// A webhook asset as AdCP shapes it, with the manifest's own names for it beside.
fn webhook_asset(a: &Asset) -> Option<Value> {
    let mut v = a.webhook()?.view();
    v["asset_id"] = serde_json::json!(a.asset_id);
    v["name"] = serde_json::json!(a.name);
    v["label"] = serde_json::json!(a.label);
    v["slot_asset_id"] = serde_json::json!(a.slot_asset_id);
    v["created_at"] = serde_json::json!(a.created_at);
    Some(v)
}

pub fn manifest<'a>(m: &'a Manifest, objects: &Objects) -> ManifestView<'a> {
    ManifestView {
        performance: None,
        creative_id: &m.creative_id,
        campaign_id: &m.campaign_id,
        name: &m.name,
        message: m.message.as_deref(),
        template_id: m.template_id.as_deref(),
        format: &m.format,
        format_option_ref: m.format_option_ref.as_ref(),
        target_format_ids: &m.target_format_ids,
        brand_domain: &m.brand_domain,
        assets: m.assets.iter().map(|a| asset(a, objects)).collect(),
        webhook_assets: m.assets.iter().filter_map(webhook_asset).collect(),
        primary_asset_id: m.primary_asset_id.as_ref(),
        warnings: &m.warnings,
        html_processing: m
            .assets
            .iter()
            .filter_map(|a| {
                a.file()?
                    .processing
                    .details
                    .as_ref()?
                    .get("html_processing")
            })
            .next(),
        auto_detected_template: m.auto_detected_template.as_ref(),
        preview_url: m.preview_key.as_deref().map(|k| objects.public_url(k)),
        previews: Previews {
            agents: &m.agent_previews,
            local: LocalPreview {
                url: m.preview_key.as_deref().map(|k| objects.public_url(k)),
            },
        },
        preview_errors: &m.preview_errors,
        tracking: m.tracking.as_ref(),
        sync_status: &m.sync_status,
        frequency_caps: &m.frequency_caps,
        created_at: &m.created_at,
        updated_at: &m.updated_at,
    }
}

// ---- Resource views. ----
//
// These answers were built with `json!` before they were typed, and a `serde_json::Value` writes
// object keys in byte order; so each view declares its fields in that order, and domain values
// inside them go through [`Sorted`]. Not one byte of any answer changed (tests/api/views.rs pins it).

/// `T` with its object keys in byte order at every depth, as the API has always written domain
/// values (capabilities, products, reports) inside these views.
pub struct Sorted<T>(pub T);

impl<T: Serialize> Serialize for Sorted<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::to_value(&self.0)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// A whole list: `{items, total}`.
#[derive(Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub total: usize,
}

impl<T> List<T> {
    pub fn of(items: Vec<T>) -> Self {
        let total = items.len();
        List { items, total }
    }
}

/// One page of a list: `{items, skip, take, total}`, `campaign_id` when the list is a campaign's.
#[derive(Serialize, ToSchema)]
pub struct Page<'a, I> {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub campaign_id: Option<&'a CampaignId>,
    pub items: I,
    pub skip: i64,
    pub take: i64,
    pub total: i64,
}

/// `{"status": …}` (health, readiness).
#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
/// A seller's webhook was taken: `woken` says whether its job was waiting for it.
pub struct WebhookProcessed {
    pub status: &'static str,
    /// The creatives whose review status the event changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub updated: Option<Vec<String>>,
    pub woken: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SalesAgentView<'a> {
    #[schema(required = true)]
    account_id: Option<&'a str>,
    #[schema(required = true)]
    auth: Option<AuthView<'a>>,
    #[schema(value_type = Capabilities)]
    capabilities: Sorted<&'a Capabilities>,
    created_at: &'a str,
    endpoint_url: &'a str,
    #[schema(value_type = FetchStatus)]
    formats: Sorted<&'a FetchStatus>,
    name: &'a str,
    sales_agent_id: &'a SalesAgentId,
    updated_at: &'a str,
}

/// That credentials are set, never what they are.
#[derive(Serialize, ToSchema)]
struct AuthView<'a> {
    configured: bool,
    scheme: &'a str,
}

pub fn sales_agent(a: &SalesAgent) -> SalesAgentView<'_> {
    SalesAgentView {
        account_id: a.account_id.as_deref(),
        auth: a.auth_token.as_ref().map(|_| AuthView {
            configured: true,
            scheme: a.auth_scheme.as_deref().unwrap_or("bearer"),
        }),
        capabilities: Sorted(&a.capabilities),
        created_at: &a.created_at,
        endpoint_url: &a.endpoint_url,
        formats: Sorted(&a.formats),
        name: &a.name,
        sales_agent_id: &a.id,
        updated_at: &a.updated_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct CampaignView<'a> {
    brand_domain: &'a str,
    campaign_id: &'a CampaignId,
    created_at: &'a str,
    /// The campaign's format coverage, on a single campaign's answers (not in lists).
    #[serde(rename = "creativeFormats", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Coverage>, nullable = false)]
    creative_formats: Option<Sorted<Coverage>>,
    #[schema(required = true)]
    end_time: Option<&'a str>,
    name: &'a str,
    #[schema(value_type = Vec<Product>)]
    products: Sorted<&'a [Product]>,
    /// Per seller, its review decisions over the campaign's creatives (on a single campaign's answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    pub sellers: Option<Vec<Value>>,
    #[schema(required = true)]
    start_time: Option<&'a str>,
    updated_at: &'a str,
}

pub fn campaign(c: &Campaign, coverage: Option<Coverage>) -> CampaignView<'_> {
    CampaignView {
        brand_domain: &c.brand_domain,
        campaign_id: &c.campaign_id,
        created_at: &c.created_at,
        creative_formats: coverage.map(Sorted),
        end_time: c.end_time.as_deref(),
        name: &c.name,
        products: Sorted(&c.products),
        sellers: None,
        start_time: c.start_time.as_deref(),
        updated_at: &c.updated_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct StorefrontView<'a> {
    created_at: &'a str,
    mcp_url: String,
    name: &'a str,
    review_mode: ReviewMode,
    sales_agent_id: &'a SalesAgentId,
    storefront_id: &'a StorefrontId,
    updated_at: &'a str,
}

/// `public_base`: where the outside reaches the service (the trackers' base).
pub fn storefront<'a>(public_base: &str, s: &'a Storefront) -> StorefrontView<'a> {
    StorefrontView {
        created_at: &s.created_at,
        mcp_url: crate::storefront::mcp_url(public_base, &s.id),
        name: &s.name,
        review_mode: s.review_mode,
        sales_agent_id: &s.sales_agent_id,
        storefront_id: &s.id,
        updated_at: &s.updated_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountView<'a> {
    account_id: &'a AccountId,
    /// Only in the answer that created the account: it is never stored and cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    api_key: Option<&'a str>,
    brand_domains: &'a [String],
    created_at: &'a str,
    name: &'a str,
    #[schema(required = true)]
    operator: Option<&'a str>,
    storefront_id: &'a StorefrontId,
    updated_at: &'a str,
}

pub fn account<'a>(a: &'a Account, api_key: Option<&'a str>) -> AccountView<'a> {
    AccountView {
        account_id: &a.id,
        api_key,
        brand_domains: &a.brand_domains,
        created_at: &a.created_at,
        name: &a.name,
        operator: a.operator.as_deref(),
        storefront_id: &a.storefront_id,
        updated_at: &a.updated_at,
    }
}

/// What `execute` did, seller by seller.
#[derive(Serialize, ToSchema)]
pub struct Executed<'a> {
    pub campaign_id: &'a CampaignId,
    #[schema(value_type = Vec<SellerReport>)]
    pub sellers: Sorted<&'a [SellerReport]>,
    pub summary: ExecuteSummary,
}

/// How many sellers ended `execute` in each state.
#[derive(Serialize, ToSchema)]
pub struct ExecuteSummary {
    pub failed: usize,
    pub in_progress: usize,
    pub retrying: usize,
    pub sellers: usize,
    pub skipped: usize,
    pub succeeded: usize,
    pub waiting: usize,
}

/// A campaign's propagation: its jobs and the media buys they made.
#[derive(Serialize, ToSchema)]
pub struct Propagation<'a> {
    pub campaign_id: &'a CampaignId,
    pub jobs: Vec<JobView<'a>>,
    #[schema(value_type = Vec<MediaBuy>)]
    pub media_buys: Sorted<&'a [MediaBuy]>,
}

/// The template catalogue alone.
#[derive(Serialize, ToSchema)]
pub struct Catalogue {
    #[schema(value_type = Vec<Template>)]
    pub templates: Sorted<&'static [Template]>,
}

/// The templates with what a campaign needs and has.
#[derive(Serialize, ToSchema)]
pub struct CampaignTemplates<'a> {
    #[schema(value_type = Vec<FormatId>)]
    pub campaign_format_ids: Sorted<Vec<FormatId>>,
    pub campaign_products: Vec<ProductCoverage<'a>>,
    #[schema(value_type = Vec<Template>)]
    pub templates: Sorted<&'static [Template]>,
}

/// One product of a campaign: the formats it asks for, and which of them manifests cover.
#[derive(Serialize, ToSchema)]
pub struct ProductCoverage<'a> {
    #[schema(value_type = Vec<Requirement>)]
    pub covered: Sorted<Vec<Requirement>>,
    #[schema(value_type = Vec<FormatId>)]
    pub format_ids: Sorted<&'a [FormatId]>,
    #[schema(value_type = Vec<FormatKindRequirement>)]
    pub format_kinds: Sorted<&'a [FormatKindRequirement]>,
    #[schema(value_type = Vec<Requirement>)]
    pub missing: Sorted<Vec<Requirement>>,
    pub product_id: &'a str,
    pub sales_agent_id: &'a SalesAgentId,
}

/// A dry run's verdict per target format.
#[derive(Serialize, ToSchema)]
pub struct Validated {
    #[schema(required = true)]
    pub creative_id: Option<CreativeId>,
    #[schema(value_type = Vec<TargetResult>)]
    pub results: Sorted<Vec<TargetResult>>,
}

/// One target format of a dry run and what stands between the manifest and it.
#[derive(Serialize, ToSchema)]
pub struct TargetResult {
    pub target: Requirement,
    #[schema(value_type = super::doc_shapes::ValidationStatus)]
    pub status: &'static str,
    pub violations: Vec<Violation>,
}

/// The formats a customer can target, and the agents they come from.
#[derive(Serialize, ToSchema)]
pub struct Formats<'a> {
    pub agents: Vec<FormatAgent<'a>>,
    /// AdCP `Format`s as their agents published them.
    #[schema(value_type = Vec<Object>)]
    pub formats: Vec<&'a Value>,
    pub total: usize,
}

/// Where formats come from: the standard creative agent, or one of the customer's sales agents.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum FormatAgent<'a> {
    Standard {
        agent_url: &'a str,
        #[schema(value_type = super::doc_shapes::FormatSource)]
        source: &'static str,
    },
    SalesAgent {
        endpoint_url: &'a str,
        #[schema(value_type = FetchStatus)]
        formats: Sorted<&'a FetchStatus>,
        name: &'a str,
        sales_agent_id: &'a SalesAgentId,
        #[schema(value_type = super::doc_shapes::FormatSource)]
        source: &'static str,
    },
}

/// A re-rendered preview page.
#[derive(Serialize, ToSchema)]
pub struct Preview<'a> {
    pub creative_id: CreativeId,
    pub preview_errors: &'a [PreviewError],
    #[schema(required = true)]
    pub preview_url: Option<String>,
    pub previews: Previews<'a>,
}

/// `previews {agents, local}`: what the formats' agents rendered, beside the service's own page.
#[derive(Serialize, ToSchema)]
pub struct Previews<'a> {
    pub agents: &'a [AgentPreview],
    pub local: LocalPreview,
}

#[derive(Serialize, ToSchema)]
pub struct LocalPreview {
    #[schema(required = true)]
    pub url: Option<String>,
}

/// The answer of a webhook asset's test call (`http/webhook_test.rs`), keys in order.
#[derive(Serialize, ToSchema)]
pub struct WebhookTest {
    pub asset_id: String,
    #[schema(required = true)]
    pub body_bytes: Option<usize>,
    #[schema(required = true)]
    pub content_type: Option<String>,
    /// Only when something went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
    pub latency_ms: u64,
    pub matches_response_type: bool,
    pub method: crate::manifest::webhook::HttpMethod,
    pub ok: bool,
    #[schema(value_type = super::webhook_test::Outcome)]
    pub outcome: &'static str,
    pub response_type: crate::manifest::webhook::ResponseType,
    pub security: WebhookTestSecurity,
    #[schema(required = true)]
    pub status: Option<u16>,
    pub timeout_ms: u32,
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookTestSecurity {
    #[schema(required = true)]
    pub header: Option<String>,
    pub method: crate::manifest::webhook::SecurityMethod,
}
