//! The OpenAPI 3.1 description of the `/api/v2` surface, derived from the handlers' own
//! `#[utoipa::path]` attributes (each sits on the handler it describes), served at
//! `GET /openapi.json` without a key and printed by `creative-manifests openapi`.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use crate::app::AppState;

/// The body of every error (src/error.rs `ApiError`).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code clients match on (VALIDATION_ERROR, NOT_FOUND, ...).
    code: String,
    message: String,
    /// The request field at fault, when there is one (`assets[2].asset_type`, `files`).
    #[schema(nullable = false)]
    field: Option<String>,
    /// Extra structure some errors carry (the choices of an AMBIGUOUS).
    #[schema(value_type = Option<Object>, nullable = false)]
    details: Option<serde_json::Value>,
}

/// A creative upload (create, replace, dry-run validate) as `multipart/form-data`.
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used: the body is read part by part (src/ingest/spool.rs)
pub struct CreativeUpload {
    /// The manifest's metadata as JSON text (name, assets, format ids, ...).
    metadata: Option<String>,
    /// The creative's files (also accepted as `files[]` or `file`).
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Option<Vec<Vec<u8>>>,
}

/// Every status an `ApiError` can answer with; each is the same `ErrorBody`.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum ApiErrors {
    /// Invalid input (VALIDATION_ERROR, INVALID_MULTIPART, TOO_MANY_FILES).
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// Missing or invalid API key.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The resource's state forbids the request (CONFLICT, INVALID_STATE, AMBIGUOUS).
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// Body or file over its limit.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Wrong Content-Type or an unsupported file type.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// A sales agent failed (AGENT_ERROR).
    #[response(status = 502)]
    BadGateway(ErrorBody),
    #[response(status = 503)]
    Unavailable(ErrorBody),
    /// The disk or object store is full: the request may succeed later.
    #[response(status = 507)]
    InsufficientStorage(ErrorBody),
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "creative-manifests", description = "Campaign-scoped creative manifests speaking AdCP: the buyer and storefront-owner API."),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, ErrorDetail, CreativeUpload)),
    paths(
        super::campaigns::create, super::campaigns::list, super::campaigns::show,
        super::campaigns::update, super::campaigns::remove,
        super::coverage::catalogue, super::coverage::templates, super::coverage::validate,
        super::creatives::create, super::creatives::list, super::creatives::show,
        super::creatives::update, super::creatives::preview, super::creatives::remove,
        super::formats::list, super::formats::show,
        super::propagation::execute, super::propagation::preview, super::propagation::show, super::propagation::refresh,
        super::delivery::show, super::delivery::refresh,
        super::sales_agents::create, super::sales_agents::list, super::sales_agents::show,
        super::sales_agents::update, super::sales_agents::remove, super::sales_agents::refresh_formats,
        super::tracking::delivery,
        super::webhook_test::test,
        super::storefronts::create, super::storefronts::list, super::storefronts::show,
        super::storefronts::patch, super::storefronts::remove,
        super::storefronts::create_account, super::storefronts::list_accounts,
        super::storefronts::show_account, super::storefronts::remove_account,
        super::creative_reviews::list, super::creative_reviews::show,
        super::creative_reviews::decide, super::creative_reviews::revoke,
    )
)]
struct ApiDoc;

/// The document as pretty JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/openapi.json",
        get(|| async { ([(CONTENT_TYPE, "application/json")], document()).into_response() }),
    )
}
