//! The UI's errors, in one place: an API refusal becomes a page saying what went wrong in words, a
//! missing session a trip to the sign-in page.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// What an API call refused, as the JSON API said it.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl ApiFailure {
    /// Pure: the refusal in words a person understands (the API's message is kept after it).
    pub fn in_words(&self) -> String {
        let lead = match self.code.as_str() {
            "FILE_TOO_LARGE" | "PAYLOAD_TOO_LARGE" => "This file is too large.",
            "UNSUPPORTED_MEDIA_TYPE" => "This type of file is not accepted.",
            "VALIDATION_ERROR" => "Something in the form needs fixing.",
            "NOT_FOUND" => "This page does not exist, or is not yours.",
            "CONFLICT" | "INVALID_STATE" => "That cannot be done now.",
            "AGENT_ERROR" => "The sales agent could not be reached or refused.",
            "TOO_MANY_REQUESTS" | "RATE_LIMITED" => "Too many requests: wait a moment.",
            _ => "The request failed.",
        };
        match &self.field {
            Some(f) => format!("{lead} {} (field {f})", self.message),
            None => format!("{lead} {}", self.message),
        }
    }
}

/// Why a UI request did not render its page.
#[derive(Debug)]
pub enum UiError {
    /// No live session: sign in first.
    SignIn,
    /// A form or call without the session's CSRF token.
    CsrfRefused,
    /// The API refused the action.
    Api(ApiFailure),
    Internal(anyhow::Error),
}

impl From<ApiFailure> for UiError {
    fn from(f: ApiFailure) -> Self {
        UiError::Api(f)
    }
}

impl From<minijinja::Error> for UiError {
    fn from(e: minijinja::Error) -> Self {
        UiError::Internal(anyhow::Error::new(e))
    }
}

impl From<anyhow::Error> for UiError {
    fn from(e: anyhow::Error) -> Self {
        UiError::Internal(e)
    }
}

pub type UiResult<T = Response> = Result<T, UiError>;

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            UiError::SignIn => return Redirect::to("/ui/sign-in").into_response(),
            UiError::CsrfRefused => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form was not sent from this session's page. Reload the page and try again."
                    .to_owned(),
            ),
            UiError::Api(f) => (f.status, "Could not do that", f.in_words()),
            UiError::Internal(e) => {
                tracing::error!(error = %e, "web UI error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "An internal error occurred; it has been logged.".to_owned(),
                )
            }
        };
        let body = ERROR_PAGE
            .replace("{title}", &escape(title))
            .replace("{message}", &escape(&message));
        (status, Html(body)).into_response()
    }
}

/// The error page needs no template (it must render even when templates cannot).
const ERROR_PAGE: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<link rel="stylesheet" href="/ui/static/style.css"></head><body><main id="main">
<h1>{title}</h1><p role="alert">{message}</p><p><a href="javascript:history.back()">Back</a> · <a href="/ui/campaigns">Campaigns</a></p>
</main></body></html>"#;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
