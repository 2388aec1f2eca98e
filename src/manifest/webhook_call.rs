//! The webhook test call's pure parts: sample macro values, the request a test sends, and whether
//! an answer's content type is the `response_type` the asset declares.

use serde_json::{json, Value};

use super::webhook::{HttpMethod, ResponseType, Webhook};

/// Sample values for the test call: what a seller could substitute at render time.
pub fn sample_value(mac: &str) -> String {
    match mac {
        "MEDIA_BUY_ID" => "mb_test".into(),
        "PACKAGE_ID" => "pkg_test".into(),
        "CREATIVE_ID" => "cr_test".into(),
        "CACHEBUSTER" => "12345678".into(),
        "TIMESTAMP" => "1700000000".into(),
        "DEVICE_TYPE" => "mobile".into(),
        "OS" => "iOS".into(),
        "COUNTRY" => "US".into(),
        "REGION" => "CA".into(),
        "CITY" => "San Francisco".into(),
        "ZIP" => "94103".into(),
        "DOMAIN" => "publisher.example".into(),
        "PAGE_URL" => "https://publisher.example/article".into(),
        "AD_WIDTH" => "300".into(),
        "AD_HEIGHT" => "250".into(),
        "GDPR" => "0".into(),
        "LIMIT_AD_TRACKING" => "0".into(),
        "IP_ADDRESS" => "192.0.2.1".into(),
        "USER_AGENT" => "Mozilla/5.0 (test)".into(),
        other => format!("sample_{}", other.to_ascii_lowercase()),
    }
}

/// The macros a test call fills: every supported and required one, each once.
pub fn sample_macros(w: &Webhook) -> serde_json::Map<String, Value> {
    w.supported_macros
        .iter()
        .chain(&w.required_macros)
        .map(|m| (m.clone(), Value::String(sample_value(m))))
        .collect()
}

/// What a test call sends: a POST carries the macros as a JSON body, a GET as query parameters
/// (and an empty body). AdCP leaves the request's shape to the two parties; this is the plainest.
pub struct TestRequest {
    pub body: Vec<u8>,
    pub query: Vec<(String, String)>,
}

pub fn test_request(w: &Webhook, creative_id: &str) -> TestRequest {
    let macros = sample_macros(w);
    match w.method {
        HttpMethod::Post => TestRequest {
            body: serde_json::to_vec(&json!({
                "test": true,
                "creative_id": creative_id,
                "macros": macros,
            }))
            .unwrap_or_default(),
            query: vec![],
        },
        HttpMethod::Get => TestRequest {
            body: vec![],
            query: macros
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                .collect(),
        },
    }
}

/// Whether an answer's content type is what `response_type` promises.
pub fn matches_response_type(expected: ResponseType, content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match expected {
        ResponseType::Html => essence == "text/html",
        ResponseType::Json => essence == "application/json" || essence.ends_with("+json"),
        ResponseType::Xml => {
            essence == "application/xml" || essence == "text/xml" || essence.ends_with("+xml")
        }
        ResponseType::Javascript => matches!(
            essence.as_str(),
            "application/javascript" | "text/javascript" | "application/ecmascript"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_response_types() {
        assert!(matches_response_type(
            ResponseType::Html,
            Some("text/html; charset=utf-8")
        ));
        assert!(matches_response_type(
            ResponseType::Json,
            Some("application/ld+json")
        ));
        assert!(matches_response_type(ResponseType::Xml, Some("text/xml")));
        assert!(matches_response_type(
            ResponseType::Javascript,
            Some("text/javascript")
        ));
        assert!(!matches_response_type(
            ResponseType::Json,
            Some("text/html")
        ));
        assert!(!matches_response_type(ResponseType::Html, None));
    }
}
