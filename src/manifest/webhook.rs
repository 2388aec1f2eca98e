//! Webhook (DCO) assets: the seller calls the buyer's endpoint at render time for dynamic content.
//! The configuration is AdCP's `core/assets/webhook-asset.json`; the signing secret or API key is
//! the buyer's, given once, stored sealed and never shown or sent to a seller (AdCP defines no
//! field that carries it inside a creative, so it travels with none).
//!
//! Pure: parsing and checking the buyer's input, and the AdCP shapes. The URL is judged by the
//! SSRF guard's address rules without resolving or fetching it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::field::{FieldError, MAX_URL};
use crate::adcp::webhook_hmac;

/// `enums/http-method.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub enum HttpMethod {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    #[default]
    Post,
}

/// `enums/webhook-response-type.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResponseType {
    Html,
    Json,
    Xml,
    Javascript,
}

/// `enums/webhook-security-method.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityMethod {
    HmacSha256,
    ApiKey,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    pub method: SecurityMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_header: Option<String>,
}

/// The header the test call signs into when the buyer named none: AdCP's own webhook signature.
pub const DEFAULT_HMAC_HEADER: &str = "X-ADCP-Signature";
/// The header the test call puts the API key into when the buyer named none.
pub const DEFAULT_API_KEY_HEADER: &str = "X-API-Key";
pub const MIN_TIMEOUT_MS: u32 = 10;
pub const MAX_TIMEOUT_MS: u32 = 5000;
pub const DEFAULT_TIMEOUT_MS: u32 = 500;
const MAX_MACROS: usize = 100;
const MAX_MACRO_LEN: usize = 64;
const MAX_SECRET_LEN: usize = 1024;

/// The secret of a webhook asset: as the buyer just gave it (not yet stored), or sealed as stored.
/// Neither form serialises, so it cannot reach a response by accident.
#[derive(Clone, PartialEq, Eq)]
pub enum WebhookSecret {
    Plain(String),
    Sealed(String),
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// A webhook asset's configuration (everything but the manifest-level name, label and slot).
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub url: String,
    pub method: HttpMethod,
    pub timeout_ms: u32,
    pub supported_macros: Vec<String>,
    pub required_macros: Vec<String>,
    pub response_type: ResponseType,
    pub security: Security,
    pub secret: Option<WebhookSecret>,
}

/// The stored configuration (the secret is stored apart, sealed).
#[derive(Serialize, Deserialize)]
pub struct StoredConfig {
    pub method: HttpMethod,
    pub timeout_ms: u32,
    pub supported_macros: Vec<String>,
    pub required_macros: Vec<String>,
    pub response_type: ResponseType,
    pub security: Security,
}

impl Webhook {
    pub fn stored_config(&self) -> StoredConfig {
        StoredConfig {
            method: self.method,
            timeout_ms: self.timeout_ms,
            supported_macros: self.supported_macros.clone(),
            required_macros: self.required_macros.clone(),
            response_type: self.response_type,
            security: self.security.clone(),
        }
    }

    pub fn from_stored(url: String, c: StoredConfig, sealed: Option<String>) -> Webhook {
        Webhook {
            url,
            method: c.method,
            timeout_ms: c.timeout_ms,
            supported_macros: c.supported_macros,
            required_macros: c.required_macros,
            response_type: c.response_type,
            security: c.security,
            secret: sealed.map(WebhookSecret::Sealed),
        }
    }

    /// The AdCP `webhook-asset.json` object as sellers get it: no secret, nothing of ours.
    pub fn adcp(&self) -> Value {
        json!({
            "asset_type": "webhook",
            "url": self.url,
            "method": self.method,
            "timeout_ms": self.timeout_ms,
            "supported_macros": self.supported_macros,
            "required_macros": self.required_macros,
            "response_type": self.response_type,
            "security": self.security,
        })
    }

    /// The AdCP object as the buyer API shows it: `security.configured` says a secret is held,
    /// never what it is.
    pub fn view(&self) -> Value {
        let mut v = self.adcp();
        if self.security.method != SecurityMethod::None {
            v["security"]["configured"] = json!(self.secret.is_some());
        }
        v
    }

    /// The header the signature or key goes in.
    pub fn auth_header(&self) -> Option<&str> {
        match self.security.method {
            SecurityMethod::HmacSha256 => Some(
                self.security
                    .hmac_header
                    .as_deref()
                    .unwrap_or(DEFAULT_HMAC_HEADER),
            ),
            SecurityMethod::ApiKey => Some(
                self.security
                    .api_key_header
                    .as_deref()
                    .unwrap_or(DEFAULT_API_KEY_HEADER),
            ),
            SecurityMethod::None => None,
        }
    }
}

/// One `webhook_assets[]` entry of a create or update request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// On update: the webhook asset this entry replaces, keeping its id (and its secret unless a
    /// new one is given).
    #[serde(default)]
    pub asset_id: Option<String>,
    /// AdCP's discriminator, accepted when a client sends the AdCP shape as is.
    #[serde(default)]
    pub asset_type: Option<String>,
    pub url: String,
    #[serde(default)]
    pub method: Option<HttpMethod>,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub supported_macros: Vec<String>,
    #[serde(default)]
    pub required_macros: Vec<String>,
    pub response_type: ResponseType,
    pub security: Security,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub slot_asset_id: Option<String>,
}

/// AdCP's universal macros (`enums/universal-macro.json`), read once from the embedded schema.
pub fn universal_macros() -> &'static [String] {
    static LIST: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        let doc: Value = serde_json::from_str(include_str!(
            "../../schemas/adcp-3.1.19/enums/universal-macro.json"
        ))
        .unwrap_or(Value::Null);
        doc["enum"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// A macro is a universal one, or clearly custom: a plain name (`[A-Z][A-Z0-9_]*`, as the
/// universal ones are written) that is not a universal macro misspelt by case or wrapped in its
/// placeholder syntax (`{DEVICE_TYPE}`, `%%DEVICE_TYPE%%`, `device_type`): those would never be
/// substituted, and the buyer meant the universal one.
pub fn check_macro(name: &str, field: &str) -> Result<(), FieldError> {
    let universal = universal_macros();
    if universal.iter().any(|u| u == name) {
        return Ok(());
    }
    let bare = name.trim_matches(|c: char| matches!(c, '{' | '}' | '%' | '$' | '[' | ']' | ' '));
    if let Some(u) = universal.iter().find(|u| u.eq_ignore_ascii_case(bare)) {
        return Err(FieldError::new(
            field,
            format!("'{name}' is not a macro name; the universal macro is '{u}'"),
        ));
    }
    let plain = !name.is_empty()
        && name.len() <= MAX_MACRO_LEN
        && name.as_bytes()[0].is_ascii_uppercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !plain {
        return Err(FieldError::new(
            field,
            format!(
                "'{name}' is neither a universal macro nor a custom macro name \
                 ([A-Z][A-Z0-9_]*, at most {MAX_MACRO_LEN} characters, without braces)"
            ),
        ));
    }
    Ok(())
}

/// Why a webhook URL is refused, if it is: absolute HTTPS to a host name or a public literal
/// address (the SSRF guard's rule; names are resolved by the guard when called, not here). With
/// `allow_private` (OUTBOUND_ALLOW_PRIVATE, labs and tests) a private or loopback target is allowed,
/// and may be plain http: a lab endpoint rarely has a certificate. A public one stays https-only.
pub fn check_url(url: &str, field: &str, allow_private: bool) -> Result<(), FieldError> {
    if url.len() > MAX_URL {
        return Err(FieldError::new(
            field,
            format!("URL longer than {MAX_URL} characters"),
        ));
    }
    // `webhook-asset.json` types the URL `format: uri` (RFC 3986): a `{MACRO}` placeholder or a
    // space would make the asset invalid AdCP. Macros reach a webhook as `supported_macros`, which
    // the seller passes with the call, not by substitution into the URL.
    if let Some(c) = url.chars().find(|c| !is_uri_char(*c)) {
        return Err(FieldError::new(
            field,
            format!(
                "'{c}' is not allowed in a URI (RFC 3986); macros go in supported_macros, \
                 not in the URL"
            ),
        ));
    }
    // The one rule for endpoints buyers give the service to call; labs open inside targets.
    let policy = crate::outbound::public_url::Policy {
        allow_loopback: false,
        allow_private,
    };
    crate::outbound::public_url::check(url, policy)
        .map(|_| ())
        .map_err(|why| FieldError::new(field, why))
}

/// RFC 3986's characters: unreserved, reserved (gen-delims, sub-delims) and `%` of escapes.
fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

fn check_header(name: &str, field: &str) -> Result<(), FieldError> {
    let reserved = [
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "x-adcp-timestamp",
    ];
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
        || reserved.contains(&name.to_ascii_lowercase().as_str())
    {
        return Err(FieldError::new(
            field,
            format!("'{name}' cannot be used as the header name"),
        ));
    }
    Ok(())
}

/// The secret a security method needs, checked; `None` when the method takes none.
fn check_secret(
    method: SecurityMethod,
    secret: Option<String>,
    kept: Option<WebhookSecret>,
    field: &str,
) -> Result<Option<WebhookSecret>, FieldError> {
    let field = format!("{field}.secret");
    match (method, secret) {
        (SecurityMethod::None, Some(_)) => Err(FieldError::new(
            field,
            "security.method 'none' takes no secret",
        )),
        (SecurityMethod::None, None) => Ok(None),
        (_, None) => kept.map(Some).ok_or_else(|| {
            FieldError::new(
                field,
                "a secret is required for hmac_sha256 and api_key (given once, never shown again)",
            )
        }),
        (m, Some(s)) => {
            if s.len() > MAX_SECRET_LEN {
                return Err(FieldError::new(
                    field,
                    format!("at most {MAX_SECRET_LEN} bytes"),
                ));
            }
            if m == SecurityMethod::HmacSha256 {
                webhook_hmac::check_secret(&s)
                    .map_err(|e| FieldError::new(&field, e.to_string()))?;
            }
            // An API key goes into a header as it is: visible ASCII only.
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(FieldError::new(
                    field,
                    "a secret is visible ASCII characters, without spaces",
                ));
            }
            Ok(Some(WebhookSecret::Plain(s)))
        }
    }
}

/// Checks one entry; `kept` is the secret of the asset it replaces, if any.
pub fn check(
    input: WebhookInput,
    field: &str,
    kept: Option<WebhookSecret>,
    allow_private: bool,
) -> Result<Webhook, FieldError> {
    if input.asset_type.as_deref().is_some_and(|t| t != "webhook") {
        return Err(FieldError::new(
            format!("{field}.asset_type"),
            "a webhook asset's asset_type is 'webhook'",
        ));
    }
    check_url(&input.url, &format!("{field}.url"), allow_private)?;
    let timeout_ms = match input.timeout_ms {
        None => DEFAULT_TIMEOUT_MS,
        Some(t) if (i64::from(MIN_TIMEOUT_MS)..=i64::from(MAX_TIMEOUT_MS)).contains(&t) => t as u32,
        Some(t) => {
            return Err(FieldError::new(
                format!("{field}.timeout_ms"),
                format!("{t} is outside {MIN_TIMEOUT_MS}..={MAX_TIMEOUT_MS} ms"),
            ))
        }
    };
    for (list, name) in [
        (&input.supported_macros, "supported_macros"),
        (&input.required_macros, "required_macros"),
    ] {
        if list.len() > MAX_MACROS {
            return Err(FieldError::new(
                format!("{field}.{name}"),
                format!("at most {MAX_MACROS} macros"),
            ));
        }
        for (i, m) in list.iter().enumerate() {
            check_macro(m, &format!("{field}.{name}[{i}]"))?;
        }
    }
    if let Some(h) = &input.security.hmac_header {
        check_header(h, &format!("{field}.security.hmac_header"))?;
    }
    if let Some(h) = &input.security.api_key_header {
        check_header(h, &format!("{field}.security.api_key_header"))?;
    }
    let secret = check_secret(input.security.method, input.secret, kept, field)?;
    let dedup = |v: Vec<String>| {
        let mut out: Vec<String> = Vec::with_capacity(v.len());
        for m in v {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    };
    Ok(Webhook {
        url: input.url,
        method: input.method.unwrap_or_default(),
        timeout_ms,
        supported_macros: dedup(input.supported_macros),
        required_macros: dedup(input.required_macros),
        response_type: input.response_type,
        security: input.security,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> WebhookInput {
        serde_json::from_value(v).unwrap()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn urls_must_be_public_https() {
        assert!(check_url("https://dco.example.com/render", "u", false).is_ok());
        // Labs: an inside target, even over http; never a public one over http.
        assert!(check_url("http://127.0.0.1:9000/r", "u", true).is_ok());
        assert!(check_url("http://dco.example.com/r", "u", true).is_err());
        for bad in [
            "http://dco.example.com/render",
            "https://127.0.0.1/x",
            "https://10.0.0.5/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest",
            "https://localhost/x",
            "https://intranet/x",
            "https://metadata.google.internal/computeMetadata/v1",
            "https://dco.corp.internal/x",
            "https://printer.local/x",
            "https://user:pw@dco.example.com/x",
            "https://dco.example.com/r?c={CACHEBUSTER}",
            "https://dco.example.com/a b",
            "ftp://dco.example.com/x",
        ] {
            let e = check_url(bad, "u", false).unwrap_err();
            assert_eq!(e.field, "u", "{bad}");
        }
    }

    #[test]
    fn macros_are_universal_or_clearly_custom() {
        assert!(check_macro("DEVICE_TYPE", "m").is_ok());
        assert!(check_macro("WEATHER_ZONE", "m").is_ok());
        for bad in [
            "{DEVICE_TYPE}",
            "device_type",
            "%%COUNTRY%%",
            "weather zone",
            "",
            "1X",
        ] {
            assert!(check_macro(bad, "m").is_err(), "{bad}");
        }
        assert!(check_macro("{DEVICE_TYPE}", "m")
            .unwrap_err()
            .message
            .contains("'DEVICE_TYPE'"));
    }

    #[test]
    fn timeout_range_and_default() {
        let base = json!({"url": "https://dco.example.com/r", "response_type": "html",
                          "security": {"method": "none"}});
        assert_eq!(
            check(input(base.clone()), "w", None, false)
                .unwrap()
                .timeout_ms,
            500
        );
        for (t, ok) in [
            (10, true),
            (5000, true),
            (9, false),
            (5001, false),
            (-1, false),
        ] {
            let mut v = base.clone();
            v["timeout_ms"] = json!(t);
            let r = check(input(v), "w", None, false);
            assert_eq!(r.is_ok(), ok, "{t}");
            if let Err(e) = r {
                assert_eq!(e.field, "w.timeout_ms");
            }
        }
    }

    #[test]
    fn secrets_follow_the_security_method() {
        let with = |method: &str, secret: Option<&str>| {
            let mut v = json!({"url": "https://dco.example.com/r", "response_type": "json",
                               "security": {"method": method}});
            if let Some(s) = secret {
                v["secret"] = json!(s);
            }
            check(input(v), "w", None, false)
        };
        assert!(with("hmac_sha256", Some(SECRET)).is_ok());
        assert_eq!(
            with("hmac_sha256", Some("short")).unwrap_err().field,
            "w.secret"
        );
        assert_eq!(with("hmac_sha256", None).unwrap_err().field, "w.secret");
        assert!(with("api_key", Some("key-123")).is_ok());
        assert_eq!(
            with("api_key", Some("has space")).unwrap_err().field,
            "w.secret"
        );
        assert_eq!(with("none", Some(SECRET)).unwrap_err().field, "w.secret");
        assert!(with("none", None).unwrap().secret.is_none());
    }

    #[test]
    fn the_view_never_holds_the_secret() {
        let w = check(
            input(json!({"url": "https://dco.example.com/r", "response_type": "json",
                         "security": {"method": "hmac_sha256", "hmac_header": "X-Sig"}, "secret": SECRET})),
            "w",
            None,
            false,
        )
        .unwrap();
        let text = format!("{} {} {:?}", w.view(), w.adcp(), w);
        assert!(!text.contains(SECRET), "{text}");
        assert_eq!(w.view()["security"]["configured"], true);
        assert!(w.adcp()["security"].get("configured").is_none());
        assert_eq!(w.auth_header(), Some("X-Sig"));
    }
}
