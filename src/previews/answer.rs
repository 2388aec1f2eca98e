//! The pure half of agent previews: the `preview_creative` request for one format, and what an
//! agent's answer is worth (checked against AdCP's `creative/preview-creative-response.json`).

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::adcp::types::FormatId;
use crate::manifest::model::{AgentPreview, PreviewError};

/// Why an agent gave no preview; the code goes on the `preview_errors[]` entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Not reachable, or refused by the outbound guard.
    Unavailable(String),
    /// No answer within the time the service waits.
    Timeout,
    /// The agent refused (AdCP `errors`, a tool error, an HTTP error status).
    Refused(String),
    /// An answer that is not AdCP's preview_creative answer.
    Invalid(String),
}

impl Failure {
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Unavailable(_) => "AGENT_UNAVAILABLE",
            Failure::Timeout => "AGENT_TIMEOUT",
            Failure::Refused(_) => "AGENT_ERROR",
            Failure::Invalid(_) => "INVALID_RESPONSE",
        }
    }

    pub fn into_error(self, agent_url: &str, format_id: &FormatId, at: &str) -> PreviewError {
        let message = match &self {
            Failure::Unavailable(m) => format!("the agent could not be reached: {m}"),
            Failure::Timeout => "the agent did not answer in time".to_owned(),
            Failure::Refused(m) => format!("the agent refused the preview: {m}"),
            Failure::Invalid(m) => {
                format!("the agent's answer is not an AdCP preview_creative answer: {m}")
            }
        };
        PreviewError {
            agent_url: agent_url.to_owned(),
            format_id: format_id.clone(),
            code: self.code().to_owned(),
            message,
            at: at.to_owned(),
        }
    }
}

/// `preview_creative` arguments for one format: AdCP's single mode with the creative as
/// propagation builds it (`creative`: `{creative_id, name, format_id, assets}`), reduced to the
/// manifest fields `core/creative-manifest.json` has.
pub fn request(creative: &Value, format_id: &FormatId) -> Value {
    json!({
        "request_type": "single",
        "format_id": format_id,
        "creative_manifest": {
            "format_id": format_id,
            "assets": creative["assets"],
        },
        "output_format": "url",
    })
}

fn validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| {
        let schema =
            crate::storefront::mcp::schemas::bundle("creative/preview-creative-response.json")?;
        jsonschema::validator_for(&schema)
            .map_err(|e| tracing::error!(error = %e, "the preview_creative response schema does not compile"))
            .ok()
    })
    .as_ref()
}

/// Reads an agent's answer: schema-checked, then every render of every preview variant kept.
pub fn read(
    answer: &Value,
    agent_url: &str,
    format_id: &FormatId,
    fetched_at: &str,
) -> Result<AgentPreview, Failure> {
    if answer.get("status").and_then(Value::as_str) == Some("failed")
        || answer
            .get("errors")
            .is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()))
    {
        let first = answer
            .pointer("/errors/0/message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(Failure::Refused(first.to_owned()));
    }
    let validator =
        validator().ok_or_else(|| Failure::Invalid("the schema is not available".into()))?;
    if let Some(e) = validator.iter_errors(answer).next() {
        return Err(Failure::Invalid(format!("{e} at {}", e.instance_path)));
    }
    if answer.get("response_type").and_then(Value::as_str) != Some("single") {
        return Err(Failure::Invalid(
            "a single request got another kind of answer".into(),
        ));
    }
    let renders: Vec<Value> = answer["previews"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|v| v["renders"].as_array())
                .flatten()
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // The schema asks for a URI; only a web page may end up in a frame (never `javascript:`).
    if let Some(bad) = renders
        .iter()
        .filter_map(|r| r.get("preview_url").and_then(Value::as_str))
        .find(|u| url::Url::parse(u).map_or(true, |u| !matches!(u.scheme(), "https" | "http")))
    {
        return Err(Failure::Invalid(format!(
            "preview_url {bad} is not an http(s) URL"
        )));
    }
    Ok(AgentPreview {
        agent_url: agent_url.to_owned(),
        format_id: format_id.clone(),
        renders,
        fetched_at: fetched_at.to_owned(),
        expires_at: answer
            .get("expires_at")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid() -> FormatId {
        serde_json::from_value(
            json!({"agent_url": "https://agent.example", "id": "display_300x250"}),
        )
        .unwrap()
    }

    #[test]
    fn a_schema_valid_answer_keeps_every_render() {
        let answer = json!({"status": "completed", "response_type": "single", "expires_at": "2027-01-01T00:00:00Z",
            "previews": [{"preview_id": "p1", "input": {"name": "Default"}, "renders": [
                {"render_id": "r1", "output_format": "url", "preview_url": "https://agent.example/p/1", "role": "primary",
                 "dimensions": {"width": 300, "height": 250}},
                {"render_id": "r2", "output_format": "html", "preview_html": "<b>hi</b>", "role": "companion"}]}]});
        let p = read(&answer, "https://agent.example", &fid(), "t").unwrap();
        assert_eq!(p.renders.len(), 2);
        assert_eq!(p.expires_at.as_deref(), Some("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn off_schema_answers_and_refusals_are_failures() {
        let bad = json!({"response_type": "single", "previews": [{"preview_id": "p1", "input": {"name": "x"},
            "renders": [{"render_id": "r1", "output_format": "url", "role": "primary"}]}]});
        assert!(matches!(
            read(&bad, "a", &fid(), "t"),
            Err(Failure::Invalid(_))
        ));
        assert!(matches!(
            read(&json!({"previews": "no"}), "a", &fid(), "t"),
            Err(Failure::Invalid(_))
        ));
        let refused = json!({"status": "failed", "errors": [{"code": "FORMAT_NOT_SUPPORTED", "message": "nope"}]});
        assert_eq!(
            read(&refused, "a", &fid(), "t"),
            Err(Failure::Refused("nope".into()))
        );
    }

    #[test]
    fn the_request_fits_the_schema_shape() {
        let creative = json!({"creative_id": "cr_1", "name": "n", "format_id": fid(),
                              "assets": {"banner_image": {"asset_type": "image"}}});
        let r = request(&creative, &fid());
        assert_eq!(r["request_type"], "single");
        assert_eq!(
            r["creative_manifest"]["assets"]["banner_image"]["asset_type"],
            "image"
        );
        assert!(r["creative_manifest"].get("creative_id").is_none());
    }
}
