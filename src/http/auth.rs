//! Bearer API keys. A key belongs to one customer; every buyer route runs as that customer.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::customers::{self, Customer};

pub async fn require_key(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // A web UI session (src/ui/) has already been checked, with its CSRF token, by the UI layer,
    // which calls these same routes in-process. Only code in this process can set an extension.
    if let Some(session) = req.extensions().get::<SessionActor>().cloned() {
        tracing::Span::current().record("customer", tracing::field::display(&session.customer.id));
        req.extensions_mut().insert(session.customer);
        return Ok(next.run(req).await);
    }
    let key = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    let customer = customers::find_by_key(&state.db, key)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    // After the key is known good: made-up keys must not each get a bucket.
    state.rate_limits.check_key(key)?;
    // The request's log line names the customer (by id: names are the buyer's own text).
    tracing::Span::current().record("customer", tracing::field::display(&customer.id));
    req.extensions_mut().insert(customer);
    Ok(next.run(req).await)
}

/// A request made for a signed-in web UI session: its customer, and the label of the key it
/// signed in with (who decided a review, as with the key itself).
#[derive(Clone)]
pub struct SessionActor {
    pub customer: Customer,
    pub key_label: String,
}

/// The customer whose key authenticated this request.
pub struct CurrentCustomer(pub Customer);

impl<S: Send + Sync> FromRequestParts<S> for CurrentCustomer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Customer>()
            .cloned()
            .map(CurrentCustomer)
            .ok_or(ApiError::Unauthorized)
    }
}
