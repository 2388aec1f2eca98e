//! What each `/api/v2` operation can answer besides its 2xx, as the OpenAPI document lists it: the
//! error body, and one `IntoResponses` set per kind of operation, which a handler's
//! `#[utoipa::path]` names. `openapi.rs` assembles the document from the handlers.

use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

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
