//! Rendering pages: the templates, compiled in, filled from the session and the API's answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Environment;
use serde_json::{json, Value};

use super::session::Session;

pub use super::error::{ApiFailure, UiError, UiResult};

/// The page templates, compiled into the binary (the service stands alone).
pub fn environment() -> Arc<Environment<'static>> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        // The sources are part of the binary: a syntax error is a build defect, caught by the
        // unit test below and every page test.
        if let Err(e) = env.add_template(name, source) {
            panic!("template {name}: {e}");
        }
    }
    env.add_filter("json_pretty", |v: minijinja::Value| -> String {
        serde_json::to_value(&v)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_default()
    });
    env.add_filter("bytes", |n: Option<f64>| -> String {
        match n {
            None => "–".into(),
            Some(n) if n >= 1_048_576.0 => format!("{:.1} MB", n / 1_048_576.0),
            Some(n) if n >= 1024.0 => format!("{:.1} kB", n / 1024.0),
            Some(n) => format!("{n} B"),
        }
    });
    env.add_filter("fmtid", |v: minijinja::Value| -> String {
        let v = serde_json::to_value(&v).unwrap_or(Value::Null);
        format_label(&v)
    });
    Arc::new(env)
}

/// Pure: a format reference as a person reads it (`display_300x250`, or a kind and its size).
pub fn format_label(v: &Value) -> String {
    if let Some(id) = v.get("id").and_then(Value::as_str) {
        return id.to_owned();
    }
    if let Some(kind) = v.get("format_kind").and_then(Value::as_str) {
        let params = v
            .get("params")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        return if params.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind} ({params})")
        };
    }
    v.to_string()
}

const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../templates/ui/layout.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../templates/ui/sign_in.html"),
    ),
    (
        "campaigns.html",
        include_str!("../../templates/ui/campaigns.html"),
    ),
    (
        "campaign_form.html",
        include_str!("../../templates/ui/campaign_form.html"),
    ),
    (
        "campaign.html",
        include_str!("../../templates/ui/campaign.html"),
    ),
    (
        "campaign_live.html",
        include_str!("../../templates/ui/campaign_live.html"),
    ),
    (
        "manifest.html",
        include_str!("../../templates/ui/manifest.html"),
    ),
    (
        "propagation.html",
        include_str!("../../templates/ui/propagation.html"),
    ),
    (
        "propagation_live.html",
        include_str!("../../templates/ui/propagation_live.html"),
    ),
    (
        "delivery.html",
        include_str!("../../templates/ui/delivery.html"),
    ),
    (
        "reviews.html",
        include_str!("../../templates/ui/reviews.html"),
    ),
    (
        "review.html",
        include_str!("../../templates/ui/review.html"),
    ),
    (
        "review_render.html",
        include_str!("../../templates/ui/review_render.html"),
    ),
    (
        "storefronts.html",
        include_str!("../../templates/ui/storefronts.html"),
    ),
    (
        "storefront.html",
        include_str!("../../templates/ui/storefront.html"),
    ),
    (
        "sales_agents.html",
        include_str!("../../templates/ui/sales_agents.html"),
    ),
    (
        "sales_agent.html",
        include_str!("../../templates/ui/sales_agent.html"),
    ),
    (
        "sales_agent_fields.html",
        include_str!("../../templates/ui/sales_agent_fields.html"),
    ),
];

/// Renders `name` with `ctx` plus what every page shows: who is signed in, the CSRF token for its
/// forms, the nav entry that is current, and a notice or error carried by a redirect.
pub fn render(
    env: &Environment<'static>,
    name: &str,
    session: Option<&Session>,
    nav: &str,
    flash: &HashMap<String, String>,
    mut ctx: Value,
) -> UiResult {
    if let Some(obj) = ctx.as_object_mut() {
        obj.insert("nav".into(), json!(nav));
        obj.insert("notice".into(), json!(flash.get("notice")));
        obj.insert("error".into(), json!(flash.get("error")));
        if let Some(s) = session {
            obj.insert(
                "session".into(),
                json!({"customer": s.actor.customer.name, "csrf": s.csrf}),
            );
        }
    }
    let html = env.get_template(name)?.render(&ctx)?;
    Ok(Html(html).into_response())
}

/// Pure: where a form goes after it worked or failed, with the words to show there.
pub fn back_to(path: &str, outcome: Result<&str, &str>) -> Response {
    let (k, v) = match outcome {
        Ok(n) => ("notice", n),
        Err(e) => ("error", e),
    };
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(k, v)
        .finish();
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}{q}")).into_response()
}

/// Pure: where a form goes after its API call: on success where `done` says (with its notice);
/// on the API's refusal back to `back`, with the refusal in words.
pub fn after(
    outcome: Result<Value, ApiFailure>,
    back: &str,
    done: impl FnOnce(Value) -> Response,
) -> Response {
    match outcome {
        Ok(v) => done(v),
        Err(e) => back_to(back, Err(&e.in_words())),
    }
}

/// Security headers of every UI answer: scripts and styles only from this origin (no inline
/// script), uploaded creatives only in frames (which are sandboxed), no framing of the UI itself,
/// nothing cached (pages carry the customer's data), no referrer leaking ids.
pub async fn headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; \
             media-src 'self' https: http:; frame-src 'self' https: http:; frame-ancestors 'none'; \
             form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn every_template_compiles() {
        let env = environment();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn formats_read_as_words() {
        assert_eq!(
            format_label(&json!({"agent_url": "https://a", "id": "display_300x250"})),
            "display_300x250"
        );
        assert_eq!(
            format_label(&json!({"format_kind": "video_hosted"})),
            "video_hosted"
        );
        assert_eq!(
            format_label(&json!({"format_kind": "display", "params": {"width": 300}})),
            "display (width 300)"
        );
    }

    #[test]
    fn refusals_read_as_words() {
        let f = ApiFailure {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "FILE_TOO_LARGE".into(),
            message: "file 'a.png' is larger than the limit of 10 bytes".into(),
            field: None,
        };
        assert!(f.in_words().starts_with("This file is too large."));
    }
}
