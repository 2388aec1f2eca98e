//! Wire types shared by the buyer API and the AdCP faces: format references and frequency caps.
//! Each mirrors its schema in `adcp-schemas/core/` and checks what the schema requires.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `core/format-id.json`: a structured reference to a format declared by an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormatId {
    pub agent_url: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub duration_ms: Option<u64>,
}

impl FormatId {
    /// Checks the schema's rules and puts `agent_url` in normal form (lower-case scheme and host, no
    /// trailing slash) so that two references to the same format compare equal.
    pub fn normalized(mut self) -> Result<FormatId, String> {
        self.agent_url = normalize_agent_url(&self.agent_url)?;
        if self.id.is_empty()
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!("format id '{}' must match [a-zA-Z0-9_-]+", self.id));
        }
        match (self.width, self.height) {
            (Some(0), _) | (_, Some(0)) => return Err("width and height must be at least 1".into()),
            (Some(_), None) | (None, Some(_)) => {
                return Err("width and height must be given together".into())
            }
            _ => {}
        }
        if self.duration_ms == Some(0) {
            return Err("duration_ms must be at least 1".into());
        }
        Ok(self)
    }
}

/// AdCP URL canonical form for agent URLs: absolute http(s), scheme and host lower-case, no default
/// port, no trailing slash, no query or fragment.
pub fn normalize_agent_url(raw: &str) -> Result<String, String> {
    let url =
        url::Url::parse(raw.trim()).map_err(|e| format!("'{raw}' is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("'{raw}' must be an absolute http(s) URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("'{raw}' must not have a query or fragment"));
    }
    // `Url` already lower-cases scheme and host and drops default ports.
    let s = url.as_str().trim_end_matches('/').to_owned();
    Ok(s)
}

/// `core/canonical-format-kind.json` (producer side: closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormatKind {
    Image,
    Html5,
    DisplayTag,
    ImageCarousel,
    VideoHosted,
    VideoVast,
    AudioHosted,
    AudioDaast,
    SponsoredPlacement,
    NativeInFeed,
    ResponsiveCreative,
    AgentPlacement,
    Custom,
}

/// A manifest targets a named format or a canonical kind, never both (the schema's root `oneOf`).
/// Flattened into its parent it serialises as `"format_id": {...}` or `"format_kind": "..."`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FormatRef {
    #[serde(rename = "format_id")]
    Id(FormatId),
    #[serde(rename = "format_kind")]
    Kind(FormatKind),
}

/// A canonical-kind requirement (AdCP 3.1), with optional routing ref and parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatKindRequirement {
    pub format_kind: FormatKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub format_option_ref: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub params: Option<Map<String, Value>>,
}

/// `core/duration.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Duration {
    pub interval: u32,
    pub unit: DurationUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Campaign,
}

/// `enums/reach-unit.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReachUnit {
    Individuals,
    Households,
    Devices,
    Accounts,
    Cookies,
    Custom,
}

/// `core/frequency-cap.json`. Unknown properties are kept (the schema allows them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FrequencyCap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub suppress: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub suppress_minutes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub max_impressions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub per: Option<ReachUnit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub window: Option<Duration>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Map<String, Value>,
}

impl FrequencyCap {
    pub fn check(&self) -> Result<(), String> {
        if self.suppress.is_none()
            && self.suppress_minutes.is_none()
            && self.max_impressions.is_none()
        {
            return Err("one of suppress, suppress_minutes or max_impressions is required".into());
        }
        if self.suppress_minutes.is_some_and(|m| m.is_nan() || m < 0.0) {
            return Err("suppress_minutes must be 0 or more".into());
        }
        if self.max_impressions == Some(0) {
            return Err("max_impressions must be at least 1".into());
        }
        let capped = self.max_impressions.is_some();
        if capped != self.per.is_some() || capped != self.window.is_some() {
            return Err("max_impressions, per and window go together".into());
        }
        for d in [&self.suppress, &self.window].into_iter().flatten() {
            if d.interval == 0 {
                return Err("a duration's interval must be at least 1".into());
            }
            if d.unit == DurationUnit::Campaign && d.interval != 1 {
                return Err("a duration in unit 'campaign' must have interval 1".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(url: &str) -> FormatId {
        FormatId {
            agent_url: url.into(),
            id: "display_300x250".into(),
            width: None,
            height: None,
            duration_ms: None,
        }
    }

    #[test]
    fn agent_urls_compare_in_normal_form() {
        let a = fid("HTTPS://Creative.AdContextProtocol.org/")
            .normalized()
            .unwrap();
        let b = fid("https://creative.adcontextprotocol.org")
            .normalized()
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.agent_url, "https://creative.adcontextprotocol.org");
    }

    #[test]
    fn format_ids_follow_the_schema() {
        assert!(fid("ftp://x.org").normalized().is_err());
        assert!(fid("not a url").normalized().is_err());
        let mut f = fid("https://x.org");
        f.width = Some(300);
        assert!(f.clone().normalized().is_err());
        f.height = Some(250);
        assert!(f.clone().normalized().is_ok());
        f.id = "bad id!".into();
        assert!(f.normalized().is_err());
    }

    #[test]
    fn frequency_caps_need_their_companions() {
        let cap: FrequencyCap =
            serde_json::from_value(serde_json::json!({"max_impressions": 3})).unwrap();
        assert!(cap.check().is_err());
        let cap: FrequencyCap = serde_json::from_value(serde_json::json!(
            {"max_impressions": 3, "per": "devices", "window": {"interval": 1, "unit": "days"}}
        ))
        .unwrap();
        assert!(cap.check().is_ok());
        let cap: FrequencyCap = serde_json::from_value(
            serde_json::json!({"suppress": {"interval": 2, "unit": "campaign"}}),
        )
        .unwrap();
        assert!(cap.check().is_err());
    }
}
