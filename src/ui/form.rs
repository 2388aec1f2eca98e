//! Form bodies (`application/x-www-form-urlencoded`, repeated names kept) and the CSRF check every
//! form goes through.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};

use super::csrf;
use super::page::UiError;
use super::session::Session;
use super::UiState;

/// A form posted by a signed-in browser, its CSRF token checked: what every UI action takes, so
/// the session, the body and the check are read in one place.
pub struct Posted {
    pub session: Session,
    pub fields: Fields,
}

impl FromRequest<UiState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = Fields::parse(&body)
            .checked(&session)
            .map_err(IntoResponse::into_response)?;
        Ok(Posted { session, fields })
    }
}

/// A submitted form: every name/value pair in order.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &Bytes) -> Fields {
        Fields(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `name` (multi-selects, repeated rows).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Refuses the form unless it carries the session's CSRF token.
    pub fn checked(self, session: &Session) -> Result<Fields, UiError> {
        if csrf::matches(&session.csrf, self.get(csrf::FIELD)) {
            Ok(self)
        } else {
            Err(UiError::CsrfRefused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_and_blanks() {
        let f = Fields::parse(&Bytes::from_static(b"a=1&b=+&a=2&c=x%20y&a="));
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.get("b"), None);
        assert_eq!(f.all("a"), vec!["1", "2"]);
        assert_eq!(f.get("c"), Some("x y"));
    }
}
