//! The `metadata` part of create and update requests: parsing with exact field paths, validation,
//! and the pure construction of the resulting manifest.

use serde::Deserialize;
use serde_json::Value;

use super::asset_type::AssetType;
use super::filename::display_name;
use super::media::classify::{type_mismatch_warning, TYPE_MISMATCH_PREFIX};
use super::model::{Asset, AssetContent, Manifest, UrlType};
use super::tracking::safe_redirect;
use super::webhook::WebhookInput;
use super::webhook_assets;
use crate::adcp::types::{FormatId, FormatKind, FormatRef, FrequencyCap};
use crate::ids::AssetId;
use crate::store::db::now;

use super::field::{check_label, check_name};
pub use super::field::{FieldError, MAX_LIST, MAX_MESSAGE, MAX_NAME, MAX_TEXT, MAX_URL};

/// Parses JSON into `T`, reporting the path of the first bad field (`root` when the document
/// itself is at fault, e.g. not JSON at all).
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str, root: &str) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let at_root = path == "." || path == "?" || path.is_empty();
        // serde reports a missing field at its parent; name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (at_root, missing) {
            (true, Some(name)) => name.to_owned(),
            (false, Some(name)) => format!("{path}.{name}"),
            (true, None) => root.to_owned(),
            (false, None) => path,
        };
        FieldError::new(field, message)
    })
}

/// One `assets[]` / `new_assets[]` entry: describes the uploaded file of the same filename.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub filename: String,
    #[serde(default)]
    pub asset_type: Option<AssetType>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub slot_asset_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlInput {
    pub url: String,
    #[serde(default)]
    pub url_type: Option<UrlType>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub slot_asset_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextInput {
    pub text: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub slot_asset_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reclassify {
    pub asset_id: String,
    pub asset_type: AssetType,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMetadata {
    pub name: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub format_id: Option<FormatId>,
    #[serde(default)]
    pub format_kind: Option<FormatKind>,
    #[serde(default)]
    pub format_option_ref: Option<Value>,
    #[serde(default)]
    pub url_asset: Option<UrlInput>,
    #[serde(default)]
    pub url_assets: Vec<UrlInput>,
    #[serde(default)]
    pub text_assets: Vec<TextInput>,
    #[serde(default)]
    pub webhook_assets: Vec<WebhookInput>,
    #[serde(default)]
    pub assets: Vec<FileEntry>,
    #[serde(default, rename = "frequencyCaps", alias = "frequency_caps")]
    pub frequency_caps: Vec<FrequencyCap>,
    #[serde(default)]
    pub target_format_ids: Option<Vec<FormatId>>,
}

/// Every field optional: omitted means "keep"; list fields, when given, replace.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMetadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub format_id: Option<FormatId>,
    #[serde(default)]
    pub format_kind: Option<FormatKind>,
    #[serde(default)]
    pub format_option_ref: Option<Value>,
    #[serde(default)]
    pub url_asset: Option<UrlInput>,
    #[serde(default)]
    pub url_assets: Option<Vec<UrlInput>>,
    #[serde(default)]
    pub text_assets: Option<Vec<TextInput>>,
    #[serde(default)]
    pub webhook_assets: Option<Vec<WebhookInput>>,
    #[serde(default, rename = "frequencyCaps", alias = "frequency_caps")]
    pub frequency_caps: Option<Vec<FrequencyCap>>,
    #[serde(default)]
    pub target_format_ids: Option<Vec<FormatId>>,
    #[serde(default)]
    pub delete_asset_ids: Vec<String>,
    #[serde(default)]
    pub new_assets: Vec<FileEntry>,
    #[serde(default)]
    pub reclassify_assets: Vec<Reclassify>,
    #[serde(default)]
    pub primary_asset_id: Option<String>,
}

impl UpdateMetadata {
    /// The file entries this request uploads.
    pub fn file_entries(&self) -> &[FileEntry] {
        &self.new_assets
    }
}

impl CreateMetadata {
    pub fn file_entries(&self) -> &[FileEntry] {
        &self.assets
    }
}

/// Checks the file entries (unique filenames, file-able types) before any file is read.
pub fn check_file_entries(entries: &[FileEntry], field: &str) -> Result<(), FieldError> {
    if entries.len() > MAX_LIST {
        return Err(FieldError::new(
            field,
            format!("at most {MAX_LIST} entries"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        let name = display_name(&e.filename);
        if name.is_empty() {
            return Err(FieldError::new(
                format!("{field}[{i}].filename"),
                "filename is empty",
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(FieldError::new(
                format!("{field}[{i}].filename"),
                format!("filename '{name}' appears twice"),
            ));
        }
        if e.asset_type == Some(AssetType::Url) {
            return Err(FieldError::new(
                format!("{field}[{i}].asset_type"),
                "a file cannot be a URL asset; use url_assets",
            ));
        }
        if e.asset_type == Some(AssetType::Webhook) {
            return Err(FieldError::new(
                format!("{field}[{i}].asset_type"),
                "a file cannot be a webhook asset; use webhook_assets",
            ));
        }
        check_label(&e.label, &format!("{field}[{i}].label"))?;
        check_label(&e.slot_asset_id, &format!("{field}[{i}].slot_asset_id"))?;
    }
    Ok(())
}

fn check_message(m: Option<String>) -> Result<Option<String>, FieldError> {
    match m {
        Some(m) if m.chars().count() > MAX_MESSAGE => Err(FieldError::new(
            "message",
            format!("at most {MAX_MESSAGE} characters"),
        )),
        Some(m) if m.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn check_template(t: Option<String>) -> Result<Option<String>, FieldError> {
    match t {
        Some(t) if t.is_empty() => Ok(None),
        Some(t)
            if t.len() > 64
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Err(FieldError::new(
                "template_id",
                "template_id must match [a-zA-Z0-9_-]{1,64}",
            ))
        }
        other => Ok(other),
    }
}

fn check_format(
    format_id: Option<FormatId>,
    format_kind: Option<FormatKind>,
) -> Result<Option<FormatRef>, FieldError> {
    match (format_id, format_kind) {
        (Some(_), Some(_)) => Err(FieldError::new(
            "format_kind",
            "format_id and format_kind are mutually exclusive: give one",
        )),
        (Some(id), None) => id
            .normalized()
            .map(|id| Some(FormatRef::Id(id)))
            .map_err(|m| FieldError::new("format_id", m)),
        (None, Some(kind)) => Ok(Some(FormatRef::Kind(kind))),
        (None, None) => Ok(None),
    }
}

/// `core/format-option-ref.json`: `{scope: "publisher", publisher_domain, format_option_id}` or
/// `{scope: "product", format_option_id}`.
fn check_format_option_ref(v: &Value) -> Result<(), FieldError> {
    let field = "format_option_ref";
    let obj = v
        .as_object()
        .ok_or_else(|| FieldError::new(field, "must be an object"))?;
    let has_str = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    match obj.get("scope").and_then(Value::as_str) {
        Some("publisher") if has_str("publisher_domain") && has_str("format_option_id") => Ok(()),
        Some("product") if has_str("format_option_id") && !obj.contains_key("publisher_domain") => {
            Ok(())
        }
        _ => Err(FieldError::new(
            field,
            "expected {scope: \"publisher\", publisher_domain, format_option_id} or {scope: \"product\", format_option_id}",
        )),
    }
}

fn check_format_ids(ids: Option<Vec<FormatId>>) -> Result<Option<Vec<FormatId>>, FieldError> {
    let Some(ids) = ids else { return Ok(None) };
    if ids.len() > MAX_LIST {
        return Err(FieldError::new(
            "target_format_ids",
            format!("at most {MAX_LIST} entries"),
        ));
    }
    let mut out: Vec<FormatId> = Vec::with_capacity(ids.len());
    for (i, id) in ids.into_iter().enumerate() {
        let id = id
            .normalized()
            .map_err(|m| FieldError::new(format!("target_format_ids[{i}]"), m))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(Some(out))
}

fn check_caps(caps: Vec<FrequencyCap>) -> Result<Vec<FrequencyCap>, FieldError> {
    if caps.len() > MAX_LIST {
        return Err(FieldError::new(
            "frequencyCaps",
            format!("at most {MAX_LIST} entries"),
        ));
    }
    for (i, c) in caps.iter().enumerate() {
        c.check()
            .map_err(|m| FieldError::new(format!("frequencyCaps[{i}]"), m))?;
    }
    Ok(caps)
}

/// A user URL is stored as given (macros such as `{CACHEBUSTER}` intact) once it parses as an
/// absolute http(s) URL. It is never fetched here.
pub fn check_url(url: &str, field: &str) -> Result<(), FieldError> {
    if url.len() > MAX_URL {
        return Err(FieldError::new(
            field,
            format!("URL longer than {MAX_URL} characters"),
        ));
    }
    let parsed =
        url::Url::parse(url).map_err(|e| FieldError::new(field, format!("invalid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(FieldError::new(field, "URL must be absolute http or https"));
    }
    Ok(())
}

fn url_asset(
    input: UrlInput,
    field: &str,
    default_type: Option<UrlType>,
) -> Result<Asset, FieldError> {
    check_url(&input.url, &format!("{field}.url"))?;
    let url_type = input
        .url_type
        .or(default_type)
        .ok_or_else(|| FieldError::new(format!("{field}.url_type"), "url_type is required"))?;
    if url_type == UrlType::Clickthrough {
        check_clickthrough(&input.url, &format!("{field}.url"))?;
    }
    check_label(&input.label, &format!("{field}.label"))?;
    check_label(&input.slot_asset_id, &format!("{field}.slot_asset_id"))?;
    let name = match input.name {
        Some(n) => check_name(&n, &format!("{field}.name"))?,
        None => input.label.clone().unwrap_or_else(|| {
            serde_json::to_value(url_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_lowercase))
                .unwrap_or_default()
        }),
    };
    Ok(Asset {
        asset_id: AssetId::new(),
        name,
        asset_type: AssetType::Url,
        content: AssetContent::Url {
            url: input.url,
            url_type,
        },
        label: input.label,
        slot_asset_id: input.slot_asset_id,
        warnings: vec![],
        created_at: now(),
    })
}

fn url_assets(single: Option<UrlInput>, list: Vec<UrlInput>) -> Result<Vec<Asset>, FieldError> {
    if list.len() > MAX_LIST {
        return Err(FieldError::new(
            "url_assets",
            format!("at most {MAX_LIST} entries"),
        ));
    }
    let mut out = Vec::new();
    if let Some(u) = single {
        out.push(url_asset(u, "url_asset", Some(UrlType::Clickthrough))?);
    }
    for (i, u) in list.into_iter().enumerate() {
        out.push(url_asset(u, &format!("url_assets[{i}]"), None)?);
    }
    Ok(out)
}

fn text_assets(list: Vec<TextInput>) -> Result<Vec<Asset>, FieldError> {
    if list.len() > MAX_LIST {
        return Err(FieldError::new(
            "text_assets",
            format!("at most {MAX_LIST} entries"),
        ));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let field = format!("text_assets[{i}]");
            if t.text.trim().is_empty() {
                return Err(FieldError::new(format!("{field}.text"), "text is empty"));
            }
            if t.text.chars().count() > MAX_TEXT {
                return Err(FieldError::new(
                    format!("{field}.text"),
                    format!("at most {MAX_TEXT} characters"),
                ));
            }
            check_label(&t.label, &format!("{field}.label"))?;
            check_label(&t.slot_asset_id, &format!("{field}.slot_asset_id"))?;
            let name = match t.name {
                Some(n) => check_name(&n, &format!("{field}.name"))?,
                None => t.label.clone().unwrap_or_else(|| "text".into()),
            };
            Ok(Asset {
                asset_id: AssetId::new(),
                name,
                asset_type: AssetType::Text,
                content: AssetContent::Text(t.text),
                label: t.label,
                slot_asset_id: t.slot_asset_id,
                warnings: vec![],
                created_at: now(),
            })
        })
        .collect()
}

/// A clickthrough must be a URL the click tracker will redirect to: the tracker's own test
/// ([`safe_redirect`]), so what is accepted here is exactly what `/t/clk` follows. A leading space,
/// a tab inside or `https:\\x` parse leniently elsewhere but would never redirect.
fn check_clickthrough(url: &str, field: &str) -> Result<(), FieldError> {
    if safe_redirect(url) {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        "a clickthrough must be an absolute http(s) URL with a host, without spaces around it, \
         control characters (tabs, line breaks) or backslashes for slashes: the click tracker \
         could never redirect to it",
    ))
}

/// Rules that hold for every manifest, however it was made.
pub fn check_manifest(m: &Manifest) -> Result<(), FieldError> {
    for a in m.clickthroughs() {
        if let AssetContent::Url { url, .. } = &a.content {
            check_clickthrough(url, "url_assets")?;
        }
    }
    if m.clickthroughs().count() > 1 {
        return Err(FieldError::new(
            "url_assets",
            "a manifest has at most one CLICKTHROUGH URL",
        ));
    }
    if m.format_option_ref.is_some() && !matches!(m.format, Some(FormatRef::Kind(_))) {
        return Err(FieldError::new(
            "format_option_ref",
            "format_option_ref goes with format_kind",
        ));
    }
    if let Some(p) = &m.primary_asset_id {
        if !m.assets.iter().any(|a| &a.asset_id == p) {
            return Err(FieldError::new(
                "primary_asset_id",
                "not an asset of this manifest",
            ));
        }
    }
    Ok(())
}

/// The fields of a new manifest; the caller supplies ids, campaign data and the uploaded files.
pub struct NewManifestFields {
    pub name: String,
    pub message: Option<String>,
    pub template_id: Option<String>,
    pub format: Option<FormatRef>,
    pub format_option_ref: Option<Value>,
    pub other_assets: Vec<Asset>,
    pub frequency_caps: Vec<FrequencyCap>,
    pub target_format_ids: Option<Vec<FormatId>>,
}

impl CreateMetadata {
    /// `allow_private`: the operator's OUTBOUND_ALLOW_PRIVATE (labs), which lets a webhook point
    /// inside the network as the outbound guard then lets the call through.
    pub fn validate(self, allow_private: bool) -> Result<NewManifestFields, FieldError> {
        if let Some(r) = &self.format_option_ref {
            check_format_option_ref(r)?;
        }
        let mut other_assets = url_assets(self.url_asset, self.url_assets)?;
        other_assets.extend(text_assets(self.text_assets)?);
        other_assets.extend(webhook_assets::assets(
            self.webhook_assets,
            &[],
            allow_private,
        )?);
        Ok(NewManifestFields {
            name: check_name(&self.name, "name")?,
            message: check_message(self.message)?,
            template_id: check_template(self.template_id)?,
            format: check_format(self.format_id, self.format_kind)?,
            format_option_ref: self.format_option_ref,
            other_assets,
            frequency_caps: check_caps(self.frequency_caps)?,
            target_format_ids: check_format_ids(self.target_format_ids)?,
        })
    }
}

/// Applies an update to `current`, with `new_files` the assets made from this request's uploads.
/// Returns the new manifest; the caller persists it and removes objects no longer used.
pub fn apply_update(
    current: &Manifest,
    upd: UpdateMetadata,
    new_files: Vec<Asset>,
    allow_private: bool,
) -> Result<Manifest, FieldError> {
    let mut m = current.clone();
    if let Some(n) = upd.name {
        m.name = check_name(&n, "name")?;
    }
    if upd.message.is_some() {
        m.message = check_message(upd.message)?;
    }
    if upd.template_id.is_some() {
        m.template_id = check_template(upd.template_id)?;
    }
    if let Some(f) = check_format(upd.format_id, upd.format_kind)? {
        m.format = Some(f);
        m.format_option_ref = None;
    }
    if let Some(r) = upd.format_option_ref {
        check_format_option_ref(&r)?;
        m.format_option_ref = Some(r);
    }
    if let Some(caps) = upd.frequency_caps {
        m.frequency_caps = check_caps(caps)?;
    }
    if let Some(ids) = check_format_ids(upd.target_format_ids)? {
        m.target_format_ids = ids;
        m.targets_chosen = true;
    }

    for (i, id) in upd.delete_asset_ids.iter().enumerate() {
        let before = m.assets.len();
        m.assets.retain(|a| a.asset_id.as_str() != id);
        if m.assets.len() == before {
            return Err(FieldError::new(
                format!("delete_asset_ids[{i}]"),
                format!("asset '{id}' is not on this manifest"),
            ));
        }
    }
    if let Some(list) = upd.url_assets {
        m.assets
            .retain(|a| a.source() != super::model::AssetSource::Url);
        m.assets.extend(url_assets(None, list)?);
    }
    if let Some(single) = upd.url_asset {
        m.assets
            .retain(|a| a.url_type() != Some(UrlType::Clickthrough));
        m.assets.extend(url_assets(Some(single), vec![])?);
    }
    if let Some(list) = upd.text_assets {
        m.assets
            .retain(|a| a.source() != super::model::AssetSource::Text);
        m.assets.extend(text_assets(list)?);
    }
    if let Some(list) = upd.webhook_assets {
        let made = webhook_assets::assets(list, &current.assets, allow_private)?;
        m.assets
            .retain(|a| a.source() != super::model::AssetSource::Webhook);
        m.assets.extend(made);
    }
    m.assets.extend(new_files);

    for (i, r) in upd.reclassify_assets.iter().enumerate() {
        let field = format!("reclassify_assets[{i}]");
        let asset = m
            .assets
            .iter_mut()
            .find(|a| a.asset_id.as_str() == r.asset_id)
            .ok_or_else(|| {
                FieldError::new(
                    format!("{field}.asset_id"),
                    format!("asset '{}' is not on this manifest", r.asset_id),
                )
            })?;
        let Some(file) = asset.file() else {
            return Err(FieldError::new(
                format!("{field}.asset_id"),
                "only uploaded files can be reclassified",
            ));
        };
        if matches!(r.asset_type, AssetType::Url | AssetType::Webhook) {
            return Err(FieldError::new(
                format!("{field}.asset_type"),
                format!("a file cannot be a {} asset", r.asset_type),
            ));
        }
        let content_type = file.content_type.clone();
        asset.asset_type = r.asset_type;
        asset
            .warnings
            .retain(|w| !w.starts_with(TYPE_MISMATCH_PREFIX));
        if let Some(w) = type_mismatch_warning(r.asset_type, &content_type) {
            asset.warnings.push(w);
        }
    }

    if let Some(p) = upd.primary_asset_id {
        m.primary_asset_id = Some(
            m.assets
                .iter()
                .find(|a| a.asset_id.as_str() == p)
                .map(|a| a.asset_id.clone())
                .ok_or_else(|| {
                    FieldError::new("primary_asset_id", "not an asset of this manifest")
                })?,
        );
    } else if m
        .primary_asset_id
        .as_ref()
        .is_some_and(|p| !m.assets.iter().any(|a| &a.asset_id == p))
    {
        // The primary asset was deleted: fall back to the first file.
        m.primary_asset_id = first_file(&m.assets);
    }
    if m.primary_asset_id.is_none() {
        m.primary_asset_id = first_file(&m.assets);
    }
    m.updated_at = now();
    check_manifest(&m)?;
    Ok(m)
}

pub fn first_file(assets: &[Asset]) -> Option<AssetId> {
    assets
        .iter()
        .find(|a| a.file().is_some())
        .map(|a| a.asset_id.clone())
}
