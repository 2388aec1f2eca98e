//! The OpenAPI 3.1 description of the `/api/v2` surface, derived from the handlers' own
//! `#[utoipa::path]` attributes (each sits on the handler it describes), served at
//! `GET /openapi.json` without a key and printed by `creative-manifests openapi`.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::responses::{CreativeUpload, ErrorBody, ErrorDetail};
use crate::state::AppState;

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
