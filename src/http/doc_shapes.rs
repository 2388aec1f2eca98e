//! Schemas of the answers still built as `json!` values (reviews, delivery, propagation refresh,
//! one format): their shapes, written once for the OpenAPI document. They are never constructed;
//! tests/api/openapi.rs checks real answers against them, so a drift fails a test.

#![allow(dead_code)] // descriptions only

use utoipa::ToSchema;

use crate::adcp::types::FormatId;
use crate::delivery::report::Row;
use crate::ids::CampaignId;

/// A review's state, as `status` shows it.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
    Revoked,
}

/// How the decision travels back to the buyer's agent.
#[derive(ToSchema)]
pub struct Forwarding {
    #[schema(required = true)]
    status: Option<String>,
    attempts: i64,
    #[schema(required = true)]
    last_error: Option<String>,
    /// The seller's own id for the creative.
    #[schema(required = true)]
    platform_id: Option<String>,
    #[schema(required = true)]
    agent_status: Option<String>,
}

/// One creative submitted to a storefront for review (src/http/creative_reviews.rs `view`).
#[derive(ToSchema)]
pub struct CreativeReview {
    creative_id: String,
    review_id: String,
    name: String,
    storefront_id: String,
    account_id: String,
    status: ReviewStatus,
    /// The buyer's revision number of the submission.
    submission: i64,
    submitted_at: String,
    #[schema(required = true)]
    decided_at: Option<String>,
    #[schema(required = true)]
    decided_by: Option<String>,
    #[schema(required = true)]
    note: Option<String>,
    forwarding: Forwarding,
    /// The AdCP creative as the buyer synced it (on a single review's answers).
    #[schema(rename = "submittedPayload", value_type = Option<Object>, nullable = false)]
    submitted_payload: Option<()>,
    /// Decisions and submissions in order (on a single review's answers).
    #[schema(nullable = false)]
    history: Option<Vec<ReviewEvent>>,
    /// Status webhooks to the buyer (on a single review's answers).
    #[schema(nullable = false)]
    webhooks: Option<Vec<ReviewWebhook>>,
}

#[derive(ToSchema)]
pub struct ReviewEvent {
    event: String,
    at: String,
    #[schema(required = true)]
    by: Option<String>,
    #[schema(required = true)]
    note: Option<String>,
}

#[derive(ToSchema)]
pub struct ReviewWebhook {
    event: String,
    status: String,
    attempts: i64,
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(required = true)]
    delivered_at: Option<String>,
    idempotency_key: String,
    created_at: String,
}

/// A page of the review queue.
#[derive(ToSchema)]
pub struct ReviewPage {
    items: Vec<CreativeReview>,
    skip: i64,
    take: i64,
    total: i64,
}

/// The campaign's delivery report (src/http/delivery.rs `show`).
#[derive(ToSchema)]
pub struct DeliveryReport {
    campaign_id: CampaignId,
    /// First day, YYYY-MM-DD.
    start: String,
    /// Last day, YYYY-MM-DD.
    end: String,
    /// `creative`, `seller` or `day`: the `group_by` asked for.
    group_by: String,
    rows: Vec<Row>,
    /// One row per currency.
    totals: Vec<Row>,
    /// Per sales agent id, when its numbers were last fetched.
    as_of: std::collections::HashMap<String, String>,
}

/// Jobs queued to fetch the sellers' delivery.
#[derive(ToSchema)]
pub struct DeliveryRefresh {
    campaign_id: CampaignId,
    /// The ids of the queued jobs.
    jobs: Vec<String>,
}

/// Jobs queued to ask sellers for the creatives' status.
#[derive(ToSchema)]
pub struct PropagationRefresh {
    campaign_id: CampaignId,
    jobs: Vec<super::job_view::JobView<'static>>,
}

/// An AdCP `core/format.json` as its agent published it: `format_id` and `name` are required, the
/// rest is the agent's.
#[derive(ToSchema)]
pub struct Format {
    format_id: FormatId,
    name: String,
}

/// A dry run's verdict on one target format.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ValidationStatus {
    ValidatedPass,
    ValidatedFail,
}

/// Where a format comes from.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum FormatSource {
    /// The standard creative agent.
    Standard,
    /// One of the customer's sales agents.
    SalesAgent,
}

/// A manifest's trackers (src/tracking/mod.rs): the impression pixel, the click redirect when the
/// manifest has a clickthrough, and the macros the seller may fill in.
#[derive(ToSchema)]
pub struct Tracking {
    impression_tracker_url: String,
    #[schema(required = true)]
    click_tracker_url: Option<String>,
    supported_macros: Vec<String>,
}

/// A manifest's delivery totals (src/http/delivery.rs `performance`).
#[derive(ToSchema)]
pub struct Performance {
    last_7_days: PerformanceSpan,
    flight_to_date: PerformanceSpan,
}

#[derive(ToSchema)]
pub struct PerformanceSpan {
    /// First day, YYYY-MM-DD.
    start: String,
    /// Last day, YYYY-MM-DD.
    end: String,
    /// One row per currency.
    totals: Vec<Row>,
}

/// What `execute` would send to whom (`GET .../execute/preview`, src/http/propagation.rs
/// `preview`): nothing is sent.
#[derive(ToSchema)]
pub struct ExecutePreview {
    campaign_id: CampaignId,
    /// Whether the campaign has what executing needs (flight, budgets, pricing options).
    executable: bool,
    /// What stands in the way when it has not, naming the field.
    #[schema(required = true)]
    blocker: Option<PreviewBlocker>,
    sellers: Vec<PreviewSeller>,
}

#[derive(ToSchema)]
pub struct PreviewBlocker {
    message: String,
    field: Option<String>,
}

/// One seller: how the creatives would travel, and each of its products' creatives.
#[derive(ToSchema)]
pub struct PreviewSeller {
    sales_agent_id: String,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    endpoint_url: Option<String>,
    plan: PreviewPlan,
    /// How many of the campaign's manifests this seller would get.
    creatives: i64,
    packages: Vec<PreviewPackage>,
}

/// `library` (sync_creatives, then a media buy; `fallback_inline` when the seller also takes
/// creatives inline), `inline`, or null with the `problem`.
#[derive(ToSchema)]
pub struct PreviewPlan {
    #[schema(required = true)]
    transport: Option<String>,
    fallback_inline: Option<bool>,
    problem: Option<String>,
}

#[derive(ToSchema)]
pub struct PreviewPackage {
    product_id: String,
    creatives: Vec<PreviewCreative>,
}

#[derive(ToSchema)]
pub struct PreviewCreative {
    creative_id: String,
    name: String,
    /// The format the creative would go as: a named format or a kind.
    #[schema(rename = "as")]
    as_format: PreviewFormat,
}

#[derive(ToSchema)]
pub struct PreviewFormat {
    format_id: Option<FormatId>,
    format_kind: Option<String>,
}
