//! Turning stored uploads into what sellers serve, once a manifest's trackers are known: HTML with
//! its local references pointing at CDN URLs and its clickTag set to the click tracker, VAST with the
//! service's Impression and ClickTracking. Runs on every create and update, so the served copies
//! always match the current clickthrough; the originals are never changed.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::prepare::{bundle_urls, PreparedFile};
use crate::error::{ApiError, ApiResult};
use crate::ids::CreativeId;
use crate::manifest::asset_type::AssetType;
use crate::manifest::html::click_tag::rewrite_click_tags;
use crate::manifest::html::{rewrite_html, RewriteOptions, UrlMap};
use crate::manifest::model::{AssetContent, Manifest};
use crate::manifest::{template, vast};
use crate::state::AppState;
use crate::tracking::click_tracker;

/// Warnings processing writes start with these, so a new run replaces them.
const UNRESOLVED: &str = "unresolved reference: ";
const NO_CLICK: &str = "no clickTag";

/// An object processing made, to be staged with the request's files.
pub struct Output {
    pub key: String,
    pub source: Source,
}

pub enum Source {
    Bytes(Vec<u8>),
    /// A file on local disk (a bundle's extracted file), kept alive by the request.
    File(PathBuf, u64),
}

impl Output {
    pub fn size(&self) -> u64 {
        match &self.source {
            Source::Bytes(b) => b.len() as u64,
            Source::File(_, n) => *n,
        }
    }
}

/// The bytes of an uploaded file: from this request's spool when new, else from the store.
async fn original(
    state: &AppState,
    files: &[PreparedFile],
    asset_id: &str,
    key: &str,
) -> ApiResult<Vec<u8>> {
    if let Some(f) = files.iter().find(|f| f.asset.asset_id.as_str() == asset_id) {
        if let Some(entry) = &f.bundle_entry {
            return tokio::fs::read(entry)
                .await
                .map_err(|e| ApiError::Internal(e.into()));
        }
        return tokio::fs::read(f.spool.file.path())
            .await
            .map_err(|e| ApiError::Internal(e.into()));
    }
    stored(state, key).await
}

/// An object's bytes, read back from the store.
async fn stored(state: &AppState, key: &str) -> ApiResult<Vec<u8>> {
    let path = object_store::path::Path::parse(key).map_err(|e| ApiError::Internal(e.into()))?;
    let bytes = state.objects.store().get(&path).await?.bytes().await?;
    Ok(bytes.to_vec())
}

/// Served copies of a bundle's scripts that set its clickTag to the click tracker.
#[derive(Default)]
struct ServedScripts {
    outputs: Vec<Output>,
    /// The clickTag variables the scripts declare, as spelled.
    click_tags: Vec<String>,
}

/// Reads the scripts of bundle `b` (stored under `prefix`) that mention a clickTag and, when there
/// is a click tracker, makes a served copy of each whose clickTag it sets; `urls` then points the
/// script's path at its copy. The original stays where it was.
async fn served_scripts(
    state: &AppState,
    files: &[PreparedFile],
    asset_id: &str,
    prefix: &str,
    b: &Value,
    click: Option<&str>,
    urls: &mut UrlMap,
) -> ApiResult<ServedScripts> {
    let mut served = ServedScripts::default();
    let scripts = b["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            f["content_type"]
                .as_str()
                .is_some_and(|t| t.contains("javascript"))
        })
        .filter_map(|f| f["path"].as_str());
    let fresh = files.iter().find(|f| f.asset.asset_id.as_str() == asset_id);
    for path in scripts {
        let key = format!("{prefix}/{path}");
        let local = fresh.and_then(|f| f.bundle_files.iter().find(|(k, _, _)| *k == key));
        let bytes = match local {
            Some((_, local, _)) => tokio::fs::read(local)
                .await
                .map_err(|e| ApiError::Internal(e.into()))?,
            None => stored(state, &key).await?,
        };
        let Ok(js) = String::from_utf8(bytes) else {
            continue;
        };
        let (out, names, changed) = rewrite_click_tags(&js, click);
        for name in names {
            if !served.click_tags.contains(&name) {
                served.click_tags.push(name);
            }
        }
        if !changed {
            continue;
        }
        // Beside the original, so whatever the script loads relative to itself still resolves.
        let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
        let stem = file.strip_suffix(".js").unwrap_or(file);
        let dir = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let served_key = format!(
            "{prefix}/{dir}{stem}.served.{}.js",
            &hex::encode(Sha256::digest(out.as_bytes()))[..12]
        );
        urls.insert(path.to_owned(), state.objects.public_url(&served_key));
        served.outputs.push(Output {
            key: served_key,
            source: Source::Bytes(out.into_bytes()),
        });
    }
    Ok(served)
}

/// The manifest's uploads by the name a page uses for them, each at its served copy (a stylesheet
/// rewritten to CDN URLs) or else the original.
fn served_names(state: &AppState, m: &Manifest) -> UrlMap {
    m.assets
        .iter()
        .filter_map(|a| a.file())
        .map(|f| {
            let key = f
                .processing
                .processed_key
                .as_deref()
                .unwrap_or(&f.object_key);
            (f.original_filename.clone(), state.objects.public_url(key))
        })
        .collect()
}

/// What the served copies are made from besides each file itself: the trackers and the CDN URLs
/// of the manifest's files.
fn fingerprint(click: Option<&str>, impression: Option<&str>, by_name: &UrlMap) -> String {
    let mut h = Sha256::new();
    for part in [click.unwrap_or(""), impression.unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let mut names: Vec<(&String, &String)> = by_name.iter().collect();
    names.sort();
    for (name, url) in names {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(url.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

fn processed_key(creative: &CreativeId, bytes: &[u8], ext: &str) -> String {
    format!(
        "creatives/{creative}/processed/{}.{ext}",
        hex::encode(Sha256::digest(bytes))
    )
}

/// Fetches a VAST tag URL the buyer added (through the SSRF guard) and checks it is VAST a player
/// can use. Macros (`{CACHEBUSTER}`) are filled with neutral values for the check.
async fn check_vast_url(state: &AppState, url: &str) -> ApiResult<vast::VastInfo> {
    let mut filled = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(start) = rest.find('{') {
        match rest[start..].find('}') {
            Some(end) => {
                filled.push_str(&rest[..start]);
                filled.push('0');
                rest = &rest[start + end + 1..];
            }
            None => break,
        }
    }
    filled.push_str(rest);
    let bad = |why: String| ApiError::field("url_assets", format!("VAST tag {url}: {why}"));
    // Ad servers redirect tags (to a CDN, a regional edge); each hop passes the SSRF guard again.
    let res = state
        .outbound
        .get_following(&filled)
        .await
        .map_err(|e| bad(e.to_string()))?;
    if !res.status().is_success() {
        return Err(bad(format!("answered HTTP {}", res.status().as_u16())));
    }
    let body = crate::outbound::read_capped(res, vast::MAX_BYTES)
        .await
        .map_err(|e| match e {
            crate::outbound::BodyError::Read(e) => bad(format!("could not be read: {e}")),
            too_large => bad(format!("is {too_large}")),
        })?;
    vast::parse(&body).map_err(|e| bad(format!("is not valid VAST: {e}")))
}

/// Processes every HTML and VAST asset of `m`; returns the objects to stage. `known` are the asset
/// ids the manifest had before this request (their URLs were checked then).
pub async fn process(
    state: &AppState,
    m: &mut Manifest,
    files: &[PreparedFile],
    known: &[crate::ids::AssetId],
) -> ApiResult<Vec<Output>> {
    for a in &m.assets {
        if let AssetContent::Url {
            url,
            url_type: crate::manifest::model::UrlType::Vast,
        } = &a.content
        {
            if !known.contains(&a.asset_id) {
                check_vast_url(state, url).await?;
            }
        }
    }
    let mut outputs = Vec::new();
    // Other uploads of the manifest, by the name an HTML document would use for them.
    let by_name: UrlMap = m
        .assets
        .iter()
        .filter_map(|a| a.file())
        .map(|f| {
            (
                f.original_filename.clone(),
                state.objects.public_url(&f.object_key),
            )
        })
        .collect();
    let click = click_tracker(m).map(str::to_owned);
    let impression = m
        .tracking
        .as_ref()
        .and_then(|t| t.get("impression_tracker_url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let has_clickthrough = m.clickthroughs().next().is_some();
    let creative = m.creative_id.clone();
    let inputs = fingerprint(click.as_deref(), impression.as_deref(), &by_name);
    // Originals read here, by asset id, so template detection does not read them again.
    let mut read: HashMap<String, Vec<u8>> = HashMap::new();

    // Stylesheets first: a page links to the served copy of its stylesheet, whose own references
    // are rewritten too, so the stylesheet's served URL must be known before the page is.
    let mut order: Vec<usize> = (0..m.assets.len()).collect();
    order.sort_by_key(|&i| {
        m.assets[i]
            .file()
            .is_none_or(|f| f.content_type != "text/css")
    });
    let mut page_names: Option<UrlMap> = None;

    for i in order {
        let asset = &m.assets[i];
        let Some(file) = asset.file() else { continue };
        let (asset_id, key, ctype) = (
            asset.asset_id.to_string(),
            file.object_key.clone(),
            file.content_type.clone(),
        );
        let bundle = file
            .processing
            .details
            .as_ref()
            .and_then(|d| d.get("bundle"))
            .cloned();
        // A served copy made from the same file and the same inputs is still right: an update
        // that renames the manifest does not read and rewrite every page again.
        let fresh = files.iter().any(|f| f.asset.asset_id == asset.asset_id);
        let unchanged = file
            .processing
            .details
            .as_ref()
            .and_then(|d| d.get("inputs"))
            .and_then(Value::as_str)
            == Some(inputs.as_str());
        if !fresh && unchanged {
            continue;
        }

        if ctype == "text/html" || bundle.is_some() {
            let (doc_path, source_key, prefix) = match &bundle {
                Some(b) => {
                    let prefix = b["prefix"].as_str().unwrap_or_default().to_owned();
                    let entry = b["entry_point"].as_str().unwrap_or_default().to_owned();
                    (entry.clone(), format!("{prefix}/{entry}"), Some(prefix))
                }
                None => (file.original_filename.clone(), key.clone(), None),
            };
            let html = original(state, files, &asset_id, &source_key).await?;
            // In a bundle every file sits at its own path under the prefix.
            let mut bundle_urls: Option<UrlMap> = prefix.as_ref().map(|p| {
                let listed = bundle.as_ref().and_then(|b| b["files"].as_array());
                let paths = listed
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["path"].as_str());
                bundle_urls(&state.objects, p, paths)
            });
            // A bundle's scripts may declare its clickTag: each that does is served as a copy
            // carrying the click tracker, and the page links to that copy.
            let scripts = match (&prefix, &bundle, &mut bundle_urls) {
                (Some(p), Some(b), Some(urls)) => {
                    served_scripts(state, files, &asset_id, p, b, click.as_deref(), urls).await?
                }
                _ => ServedScripts::default(),
            };
            let opts = RewriteOptions {
                document_path: &doc_path,
                click_tracker_url: click.as_deref(),
            };
            let page_names = page_names.get_or_insert_with(|| served_names(state, m));
            let resolver = bundle_urls.as_ref().unwrap_or(page_names);
            let timer = crate::metrics::processing(crate::metrics::Processing::Html);
            let rewritten = rewrite_html(&html, &opts, resolver);
            drop(timer);
            let (out, report) = rewritten.map_err(|e| {
                ApiError::field("files", format!("{}: {e}", file.original_filename))
            })?;
            let served_key = match &prefix {
                // Served beside the entry point, so references scripts build at run time still resolve.
                Some(p) => {
                    let dir = doc_path
                        .rsplit_once('/')
                        .map(|(d, _)| format!("{d}/"))
                        .unwrap_or_default();
                    format!(
                        "{p}/{dir}index.served.{}.html",
                        &hex::encode(Sha256::digest(&out))[..12]
                    )
                }
                None => processed_key(&creative, &out, "html"),
            };
            let served_url = state.objects.public_url(&served_key);
            let asset = &mut m.assets[i];
            asset
                .warnings
                .retain(|w| !w.starts_with(UNRESOLVED) && !w.starts_with(NO_CLICK));
            asset.warnings.extend(
                report
                    .unresolved_refs()
                    .iter()
                    .map(|r| format!("{UNRESOLVED}{r}")),
            );
            // The bundle's stylesheets were rewritten when it was unpacked.
            let css_unresolved = bundle
                .as_ref()
                .and_then(|b| b["stylesheet_unresolved_refs"].as_array())
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            asset
                .warnings
                .extend(css_unresolved.map(|r| format!("{UNRESOLVED}{r}")));
            if !report.has_click_tag && scripts.click_tags.is_empty() && !has_clickthrough {
                asset.warnings.push(format!("{NO_CLICK} in the HTML and no clickthrough on the manifest: clicks cannot be tracked"));
            }
            if let AssetContent::Upload(f) = &mut asset.content {
                if let (None, Some((w, h))) = (f.width, report.ad_size) {
                    f.width = Some(w);
                    f.height = Some(h);
                }
                let mut details = f.processing.details.take().unwrap_or_else(|| json!({}));
                let mut inserted = report.inserted_macros.clone();
                for name in &scripts.click_tags {
                    if !inserted.contains(name) {
                        inserted.push(name.clone());
                    }
                }
                details["html_processing"] = json!({
                    "rewritten_refs": report.rewritten_refs(),
                    "unresolved_refs": report.unresolved_refs(),
                    "inserted_macros": inserted,
                    "processed_html_url": served_url,
                });
                // The served script copies replace the last ones among the objects the asset owns.
                let previous: Vec<String> = details["served_scripts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect();
                f.processing.extra_keys.retain(|k| !previous.contains(k));
                f.processing
                    .extra_keys
                    .extend(scripts.outputs.iter().map(|o| o.key.clone()));
                details["served_scripts"] =
                    json!(scripts.outputs.iter().map(|o| &o.key).collect::<Vec<_>>());
                details["inputs"] = json!(inputs);
                f.processing.details = Some(details);
                f.processing.processed_key = Some(served_key.clone());
            }
            outputs.push(Output {
                key: served_key,
                source: Source::Bytes(out),
            });
            outputs.extend(scripts.outputs);
            // A bundle's entry page too: a vendor's tag inside it names the template.
            read.insert(asset_id, html);
        } else if ctype == "text/css" {
            // A stylesheet uploaded beside the page: its url()/@import references to the manifest's
            // other uploads become CDN URLs in the served copy.
            let css = original(state, files, &asset_id, &key).await?;
            let Ok(text) = String::from_utf8(css) else {
                continue;
            };
            let (out, report) =
                crate::manifest::html::css::rewrite_css(&text, &file.original_filename, &by_name);
            let asset = &mut m.assets[i];
            asset.warnings.retain(|w| !w.starts_with(UNRESOLVED));
            asset.warnings.extend(
                report
                    .unresolved_refs()
                    .iter()
                    .map(|r| format!("{UNRESOLVED}{r}")),
            );
            let AssetContent::Upload(f) = &mut asset.content else {
                continue;
            };
            if out == text {
                f.processing.processed_key = None;
                f.processing.details = Some(json!({ "inputs": inputs }));
                continue;
            }
            let k = processed_key(&creative, out.as_bytes(), "css");
            f.processing.details = Some(json!({"css_processing": {
                "rewritten_refs": report.rewritten_refs(),
                "unresolved_refs": report.unresolved_refs(),
                "processed_url": state.objects.public_url(&k),
            }, "inputs": inputs}));
            f.processing.processed_key = Some(k.clone());
            outputs.push(Output {
                key: k,
                source: Source::Bytes(out.into_bytes()),
            });
        } else if asset.asset_type == AssetType::Vast && ctype.ends_with("xml") {
            let xml = original(state, files, &asset_id, &key).await?;
            let _timer = crate::metrics::processing(crate::metrics::Processing::Vast);
            let info = vast::parse(&xml).map_err(|e| {
                ApiError::field("files", format!("{}: {e}", file.original_filename))
            })?;
            let asset = &mut m.assets[i];
            let AssetContent::Upload(f) = &mut asset.content else {
                continue;
            };
            let mut details = json!({ "vast": info, "inputs": inputs });
            f.processing.processed_key = None;
            if let Some(imp) = &impression {
                // ClickTracking is a ping, not a redirect: the impression pixel with ev=click counts it.
                let click_ping = format!("{imp}&ev=click");
                let out = vast::inject_tracking(&xml, imp, &click_ping).map_err(|e| {
                    ApiError::field("files", format!("{}: {e}", f.original_filename))
                })?;
                let k = processed_key(&creative, &out, "xml");
                details["processed_url"] = json!(state.objects.public_url(&k));
                f.processing.processed_key = Some(k.clone());
                outputs.push(Output {
                    key: k,
                    source: Source::Bytes(out),
                });
            }
            if f.duration_ms.is_none() {
                f.duration_ms = info.duration_ms;
            }
            f.processing.details = Some(details);
        }
    }
    detect_template(m, &read);
    let (key, page) = super::preview::render(m, &state.objects).map_err(ApiError::Internal)?;
    m.preview_key = Some(key.clone());
    outputs.push(Output {
        key,
        source: Source::Bytes(page),
    });
    Ok(outputs)
}

/// Sets `template_id` from the assets when the buyer gave none, and says how it was found.
/// `read` holds the pages processing just read. A page it does not hold was unchanged and not
/// read: its vendor tag, if it had one, is still the detected template.
fn detect_template(m: &mut Manifest, read: &HashMap<String, Vec<u8>>) {
    if m.template_id.is_some() && m.auto_detected_template.is_none() {
        return; // the buyer's choice
    }
    let kinds: Vec<AssetType> = m
        .assets
        .iter()
        .filter(|a| a.file().is_some())
        .map(|a| a.asset_type)
        .collect();
    let html_asset = m
        .assets
        .iter()
        .find(|a| a.asset_type == AssetType::Html && a.file().is_some())
        .map(|a| a.asset_id.to_string());
    let vendor_before = m
        .auto_detected_template
        .as_ref()
        .is_some_and(|t| t["method"] == "vendor_tag");
    let html = match html_asset {
        // A page, or a bundle's entry page, read by this processing.
        Some(id) => match read.get(&id) {
            Some(bytes) => Some(bytes.as_slice()),
            None if vendor_before => return,
            None => None,
        },
        None => None,
    };
    let has_vast_url = m
        .assets
        .iter()
        .any(|a| a.url_type() == Some(crate::manifest::model::UrlType::Vast));
    match template::detect_template(&kinds, html, has_vast_url) {
        Some(t) => {
            m.template_id = Some(t.template_id.clone());
            m.auto_detected_template = Some(json!(t));
        }
        None => {
            if m.auto_detected_template.take().is_some() {
                m.template_id = None;
            }
        }
    }
}
