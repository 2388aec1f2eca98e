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

// The error statuses an operation can answer, each with the same `ErrorBody`, in groups that
// follow from what a handler reads: every /api/v2 route sits behind the key, the time limits and
// the key's rate limit; an id in the path can be unknown (404); a query or a JSON body can be
// invalid (400), a body too large (413); an upload also has its content type and file types
// checked (415) and is written to disk (507). A handler lists the groups it can really answer.

/// On every /api/v2 operation.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum Always {
    /// Missing or invalid API key (UNAUTHORIZED).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The request was not sent or answered within the service's time limits (REQUEST_TIMEOUT).
    #[response(status = 408)]
    Timeout(ErrorBody),
    /// The API key is over its rate limit (RATE_LIMITED), when one is configured.
    #[response(
        status = 429,
        headers(("Retry-After" = u64, description = "whole seconds until a request would be let through"))
    )]
    RateLimited(ErrorBody),
}

/// An operation with query parameters.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum BadQuery {
    /// A parameter is invalid or repeated (VALIDATION_ERROR, with `field`).
    #[response(status = 400)]
    BadRequest(ErrorBody),
}

/// An operation whose resource must be complete before it can be carried out.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum Incomplete {
    /// Something the operation needs is missing (VALIDATION_ERROR, `field` names it).
    #[response(status = 400)]
    BadRequest(ErrorBody),
}

/// An operation with a JSON request body (read under a 1 MiB cap).
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum JsonBody {
    /// The body does not parse or a field is invalid (VALIDATION_ERROR, with `field`).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The body is over 1 MiB (PAYLOAD_TOO_LARGE).
    #[response(status = 413)]
    TooLarge(ErrorBody),
}

/// An operation on a resource named in its path.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum NotFound {
    /// No such resource for this key, or not an id we issued (NOT_FOUND).
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// An operation the resource's state can forbid.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum Conflict {
    /// The resource's state forbids the request (CONFLICT, INVALID_STATE), or the id names several
    /// (AMBIGUOUS, with the choices in `details`).
    #[response(status = 409)]
    Conflict(ErrorBody),
}

/// A creative upload (multipart, or JSON for a dry run), spooled to disk and stored.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum Upload {
    /// Invalid metadata or multipart body (VALIDATION_ERROR, INVALID_MULTIPART, TOO_MANY_FILES).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// A file or the metadata over its limit (FILE_TOO_LARGE, PAYLOAD_TOO_LARGE).
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Not multipart/form-data, or a file of a type the service does not take
    /// (UNSUPPORTED_CONTENT_TYPE, UNSUPPORTED_MEDIA_TYPE).
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// The disk or object store is full: the request may succeed later (INSUFFICIENT_STORAGE).
    #[response(status = 507)]
    InsufficientStorage(ErrorBody),
}

/// An operation that writes a file of its own (a re-rendered preview page).
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum Storage {
    /// The disk or object store is full: the request may succeed later (INSUFFICIENT_STORAGE).
    #[response(status = 507)]
    InsufficientStorage(ErrorBody),
}

/// A creative session's finalize, refused by a hard check.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum Blocked {
    /// Readiness, asset fidelity, rights or format checks fail (FINALIZE_BLOCKED, with
    /// `details.reasons`).
    #[response(status = 422)]
    Unprocessable(ErrorBody),
}

/// An operation whose answer is a sales agent's.
#[derive(IntoResponses)]
#[allow(dead_code)] // a description, never constructed
pub enum AgentFailed {
    /// The sales agent (or a session's creative agent) failed or could not be reached (AGENT_ERROR).
    #[response(status = 502)]
    BadGateway(ErrorBody),
}

/// Properties serde flattens in from a value utoipa cannot describe in place: the manifest's
/// `FormatRef` (an optional `format_id` or `format_kind`, never both) and an asset's processing
/// reports. Each is optional, so a schema that omits it would still pass; these make it named.
struct FlattenedFields;

impl Modify for FlattenedFields {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Schema};
        use utoipa::openapi::{Ref, RefOr};
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        let mut add = |schema: &str, fields: &[(&str, RefOr<Schema>)]| {
            if let Some(RefOr::T(Schema::Object(obj))) = components.schemas.get_mut(schema) {
                for (name, field) in fields {
                    obj.properties.insert((*name).to_owned(), field.clone());
                }
            }
        };
        let format_ref = [
            ("format_id", RefOr::Ref(Ref::from_schema_name("FormatId"))),
            (
                "format_kind",
                RefOr::Ref(Ref::from_schema_name("FormatKind")),
            ),
        ];
        add("ManifestView", &format_ref);
        add("Summary", &format_ref);
        let report = |what: &str| {
            RefOr::T(Schema::Object(
                ObjectBuilder::new().description(Some(what)).build(),
            ))
        };
        add(
            "AssetView",
            &[
                (
                    "html_processing",
                    report("What HTML processing found and rewrote."),
                ),
                (
                    "bundle",
                    report("The HTML5 bundle's files and entry point."),
                ),
                (
                    "vast",
                    report("The VAST document's version, media files and trackers."),
                ),
            ],
        );
    }
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
    modifiers(&BearerAuth, &FlattenedFields),
    components(schemas(ErrorBody, ErrorDetail, CreativeUpload)),
    paths(
        super::campaigns::create, super::campaigns::list, super::campaigns::show,
        super::campaigns::update, super::campaigns::remove,
        super::coverage::catalogue, super::coverage::templates, super::coverage::validate,
        super::creatives::create, super::creatives::list, super::creatives::show,
        super::creatives::update, super::creatives::preview, super::creatives::remove,
        super::creative_sessions::create, super::creative_sessions::list, super::creative_sessions::show,
        super::creative_sessions::refine, super::creative_sessions::approve,
        super::creative_sessions::finalize, super::creative_sessions::remove,
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
