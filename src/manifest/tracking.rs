//! The service's own trackers: `GET {base}/t/imp?...` answers a 1x1 GIF, `GET {base}/t/clk?...` redirects (302) to
//! `rurl`, only when its signature verifies. Pure: builds and reads tracker URLs, signs and checks redirects.
//!
//! Tracker URLs carry AdCP universal macros as literal `{MACRO}` text: sellers substitute them textually at serve
//! time, so the braces must stay unencoded. The click tracker's own destination (`rurl`) is fully percent-encoded
//! instead, so nothing a seller substitutes or appends can change it, and it is signed so nobody can point it
//! elsewhere (no open redirect).

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

/// AdCP universal macros (`enums/universal-macro.json` of the AdCP schemas), without braces, in the schema's order.
#[rustfmt::skip]
pub const UNIVERSAL_MACROS: &[&str] = &[
    "MEDIA_BUY_ID", "PACKAGE_ID", "CREATIVE_ID", "CACHEBUSTER", "TIMESTAMP", "CLICK_URL", "GDPR", "GDPR_CONSENT",
    "US_PRIVACY", "GPP_STRING", "GPP_SID", "IP_ADDRESS", "LIMIT_AD_TRACKING", "DEVICE_TYPE", "OS", "OS_VERSION",
    "DEVICE_MAKE", "DEVICE_MODEL", "USER_AGENT", "APP_BUNDLE", "APP_NAME", "COUNTRY", "REGION", "CITY", "ZIP", "DMA",
    "LAT", "LONG", "DEVICE_ID", "DEVICE_ID_TYPE", "DOMAIN", "PAGE_URL", "REFERRER", "KEYWORDS", "PLACEMENT_ID",
    "FOLD_POSITION", "AD_WIDTH", "AD_HEIGHT", "VIDEO_ID", "VIDEO_TITLE", "VIDEO_DURATION", "VIDEO_CATEGORY",
    "CONTENT_GENRE", "CONTENT_RATING", "PLAYER_WIDTH", "PLAYER_HEIGHT", "POD_POSITION", "POD_SIZE", "AD_BREAK_ID",
    "STATION_ID", "COLLECTION_NAME", "INSTALLMENT_ID", "AUDIO_DURATION", "TMPX", "IMPRESSION_ID", "AXEM",
    "CATALOG_ID", "SKU", "GTIN", "OFFERING_ID", "JOB_ID", "HOTEL_ID", "FLIGHT_ID", "VEHICLE_ID", "LISTING_ID",
    "STORE_ID", "PROGRAM_ID", "DESTINATION_ID", "CREATIVE_VARIANT_ID", "APP_ITEM_ID", "ITEM_NAME", "ITEM_DESCRIPTION",
    "ITEM_TAGLINE", "ITEM_PRICE", "ITEM_PRICE_CURRENCY",
];

/// The macro-filled query parameters of both trackers, `(parameter, macro)`, in URL order: delivery ids, cache
/// busting and dedup, context for reporting, and the privacy signals needed to process the hit lawfully.
pub const TRACKER_PARAMS: &[(&str, &str)] = &[
    ("mb", "MEDIA_BUY_ID"),
    ("cb", "CACHEBUSTER"),
    ("pkg", "PACKAGE_ID"),
    ("imp", "IMPRESSION_ID"),
    ("ts", "TIMESTAMP"),
    ("dom", "DOMAIN"),
    ("app", "APP_BUNDLE"),
    ("dev", "DEVICE_TYPE"),
    ("ctry", "COUNTRY"),
    ("gdpr", "GDPR"),
    ("gdpr_consent", "GDPR_CONSENT"),
    ("us_privacy", "US_PRIVACY"),
    ("gpp", "GPP_STRING"),
    ("gpp_sid", "GPP_SID"),
];

/// Everything but RFC 3986 unreserved characters is encoded, so a value can never end its parameter early.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Hex characters of a signature: 128 bits of HMAC-SHA256 are plenty against forgery and keep URLs short.
const SIG_HEX_LEN: usize = 32;

/// Signs click redirects with HMAC-SHA256.
pub struct Signer {
    key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { key: <redacted> }")
    }
}

impl Signer {
    pub fn new(key: [u8; 32]) -> Self {
        Signer { key }
    }

    /// Signature of a version 2 click link: lower-case hex, [`SIG_HEX_LEN`] characters, of the HMAC
    /// of (creative id, campaign id, rurl), so the campaign a click is counted for cannot be changed.
    pub fn sign_click(&self, creative_id: &str, campaign_id: &str, rurl: &str) -> String {
        let tag = self
            .click_mac(creative_id, campaign_id, rurl)
            .finalize()
            .into_bytes();
        hex::encode(&tag[..SIG_HEX_LEN / 2])
    }

    /// Whether `sig` is [`Signer::sign_click`] of these values; compares in constant time.
    pub fn verify_click(
        &self,
        creative_id: &str,
        campaign_id: &str,
        rurl: &str,
        sig: &str,
    ) -> bool {
        match hex::decode(sig) {
            Ok(tag) if tag.len() == SIG_HEX_LEN / 2 => self
                .click_mac(creative_id, campaign_id, rurl)
                .verify_truncated_left(&tag)
                .is_ok(),
            _ => false,
        }
    }

    fn click_mac(&self, creative_id: &str, campaign_id: &str, rurl: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed();
        // Its own label (a v1 signature never verifies as v2, nor the reverse) and each id's length, so
        // no bytes can move between the three.
        mac.update(b"creative-manifests/click/v2\0");
        for id in [creative_id, campaign_id] {
            mac.update(&(id.len() as u64).to_be_bytes());
            mac.update(id.as_bytes());
        }
        mac.update(rurl.as_bytes());
        mac
    }

    /// Version 1 click signature (links served before campaigns were signed): lower-case hex,
    /// [`SIG_HEX_LEN`] characters, of the HMAC of (creative id, rurl). Only checked now, never issued.
    pub fn sign(&self, creative_id: &str, rurl: &str) -> String {
        let tag = self.mac(creative_id, rurl).finalize().into_bytes();
        hex::encode(&tag[..SIG_HEX_LEN / 2])
    }

    /// Whether `sig` is [`Signer::sign`] of these values; compares in constant time.
    pub fn verify(&self, creative_id: &str, rurl: &str, sig: &str) -> bool {
        match hex::decode(sig) {
            Ok(tag) if tag.len() == SIG_HEX_LEN / 2 => self
                .mac(creative_id, rurl)
                .verify_truncated_left(&tag)
                .is_ok(),
            _ => false,
        }
    }

    /// HMAC-SHA256 keyed with `key`. RFC 2104 pads a key shorter than the hash's block with zeros, so padding it
    /// here gives the same HMAC without the constructor that returns a `Result`.
    fn keyed(&self) -> Hmac<Sha256> {
        let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
        block[..self.key.len()].copy_from_slice(&self.key);
        <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block)
    }

    /// A key for another purpose (`label`), derived from this one: HMAC-SHA256 of the label.
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        let mut mac = self.keyed();
        mac.update(b"creative-manifests/derived-key/v1\0");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The token that authenticates a seller's webhook about job `job_id` (AdCP
    /// `push_notification_config.token`, echoed in each webhook): [`SIG_HEX_LEN`] hex characters.
    pub fn webhook_token(&self, job_id: &str) -> String {
        let tag = self.webhook_mac(job_id).finalize().into_bytes();
        hex::encode(&tag[..SIG_HEX_LEN / 2])
    }

    /// Whether `token` is [`Signer::webhook_token`] of `job_id`; compares in constant time.
    pub fn verify_webhook_token(&self, job_id: &str, token: &str) -> bool {
        match hex::decode(token) {
            Ok(tag) if tag.len() == SIG_HEX_LEN / 2 => {
                self.webhook_mac(job_id).verify_truncated_left(&tag).is_ok()
            }
            _ => false,
        }
    }

    fn webhook_mac(&self, job_id: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed();
        // Its own purpose label: a webhook token is never a click signature, nor the reverse.
        mac.update(b"creative-manifests/seller-webhook/v1\0");
        mac.update(job_id.as_bytes());
        mac
    }

    fn mac(&self, creative_id: &str, rurl: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed();
        // A purpose label (so these tags mean nothing elsewhere) and the id's length (so no (id, rurl) pair can
        // pose as another by moving bytes between the two).
        mac.update(b"creative-manifests/click/v1\0");
        mac.update(&(creative_id.len() as u64).to_be_bytes());
        mac.update(creative_id.as_bytes());
        mac.update(rurl.as_bytes());
        mac
    }
}

/// Impression tracker: `{base}/t/imp?cr={creative_id}&cmp={campaign_id}&mb={MEDIA_BUY_ID}&cb={CACHEBUSTER}&...`
/// (the parameters of [`TRACKER_PARAMS`], macros left for the seller).
pub fn impression_url(base: &str, creative_id: &str, campaign_id: &str) -> String {
    format!(
        "{}/t/imp?{}",
        base.trim_end_matches('/'),
        query(creative_id, campaign_id)
    )
}

/// Version of the click links [`click_url`] makes, in their `v` parameter. Links without one are version 1,
/// whose signature does not cover the campaign.
pub const CLICK_LINK_VERSION: &str = "2";

/// Click tracker wrapping `clickthrough`: `{base}/t/clk?cr=..&cmp=..&<macros>&v=2&sig=..&rurl=<clickthrough>`. The
/// clickthrough is kept exactly, percent-encoded (its own `{MACROS}` included, so sellers leave them alone), and
/// last, so parameters a seller appends cannot run into it.
pub fn click_url(
    base: &str,
    creative_id: &str,
    campaign_id: &str,
    clickthrough: &str,
    signer: &Signer,
) -> String {
    let mut query = query(creative_id, campaign_id);
    for name in carried_macros(clickthrough) {
        query.push_str(&format!("&{}={{{name}}}", param_for(&name)));
    }
    format!(
        "{}/t/clk?{query}&v={CLICK_LINK_VERSION}&sig={}&rurl={}",
        base.trim_end_matches('/'),
        signer.sign_click(creative_id, campaign_id, clickthrough),
        encode(clickthrough)
    )
}

/// Parameter prefix of the click tracker for a clickthrough's own macros that [`TRACKER_PARAMS`] does not carry:
/// `m_OS={OS}`. Wrapped in `rurl` the seller cannot see them, so the tracker asks for them and the redirect fills
/// them in.
const CARRIED_PREFIX: &str = "m_";

/// The tracker parameter that carries macro `name`: its [`TRACKER_PARAMS`] one, else `m_NAME`.
fn param_for(name: &str) -> std::borrow::Cow<'static, str> {
    match TRACKER_PARAMS.iter().find(|(_, carried)| *carried == name) {
        Some((param, _)) => (*param).into(),
        None => format!("{CARRIED_PREFIX}{name}").into(),
    }
}

/// The universal macros of `clickthrough`, without braces, that the click tracker must ask the seller for.
fn carried_macros(clickthrough: &str) -> Vec<String> {
    macros_in(clickthrough)
        .into_iter()
        .map(|m| m[1..m.len() - 1].to_owned())
        .filter(|name| {
            UNIVERSAL_MACROS.contains(&name.as_str())
                && name != "CREATIVE_ID"
                && !TRACKER_PARAMS.iter().any(|(_, carried)| carried == name)
        })
        .collect()
}

fn query(creative_id: &str, campaign_id: &str) -> String {
    let mut query = format!("cr={}&cmp={}", encode(creative_id), encode(campaign_id));
    for (param, name) in TRACKER_PARAMS {
        query.push_str(&format!("&{param}={{{name}}}"));
    }
    query
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, VALUE).to_string()
}

/// Macro names with their braces (`{CACHEBUSTER}`) that appear in `url`, each once, in order of appearance. Any
/// `{NAME}` of capitals, digits and `_` counts, universal or not; compare with [`UNIVERSAL_MACROS`] to tell.
pub fn macros_in(url: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('}') else { break };
        let name = &rest[..close];
        if is_macro_name(name) {
            let name = format!("{{{name}}}");
            if !found.contains(&name) {
                found.push(name);
            }
            rest = &rest[close + 1..];
        }
    }
    found
}

fn is_macro_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// What an incoming `/t/imp` or `/t/clk` request carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackerHit {
    pub creative_id: Option<String>,
    pub campaign_id: Option<String>,
    /// Decoded destination of a click.
    pub rurl: Option<String>,
    pub sig: Option<String>,
    /// Click link version (`v`); absent on version 1 links.
    pub version: Option<String>,
    /// Every other parameter (by its name in the URL, e.g. `mb`; see [`TRACKER_PARAMS`]) whose macro the seller
    /// substituted; values still reading `{MACRO}` are dropped.
    pub macros: BTreeMap<String, String>,
}

/// Reads a tracker request's query string (with or without its `?`), as form encoding (`+` is a space; our own
/// values never contain a bare `+`). The first occurrence of a parameter counts. Never fails: what is missing or
/// malformed is absent.
pub fn parse_hit(query: &str) -> TrackerHit {
    let mut hit = TrackerHit::default();
    let query = query.strip_prefix('?').unwrap_or(query);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "cr" => &mut hit.creative_id,
            "cmp" => &mut hit.campaign_id,
            "rurl" => &mut hit.rurl,
            "sig" => &mut hit.sig,
            "v" => &mut hit.version,
            _ => {
                let unsubstituted = value
                    .strip_prefix('{')
                    .and_then(|v| v.strip_suffix('}'))
                    .is_some_and(is_macro_name);
                if !unsubstituted {
                    hit.macros
                        .entry(key.into_owned())
                        .or_insert_with(|| value.into_owned());
                }
                continue;
            }
        };
        slot.get_or_insert_with(|| value.into_owned());
    }
    hit
}

/// Whether a click may be sent to `rurl`: an absolute `http://` or `https://` URL with a host, without control
/// characters (CR/LF would split the `Location` header; tabs and newlines are dropped by URL parsers, which would
/// hide a `javascript:` scheme).
pub fn safe_redirect(rurl: &str) -> bool {
    if rurl.chars().any(char::is_control) || rurl.trim() != rurl {
        return false;
    }
    let lower = rurl.get(..8).unwrap_or(rurl).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return false;
    }
    url::Url::parse(rurl)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// What a click link's signature vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickLink {
    /// Version 2: creative, campaign and destination.
    Signed,
    /// Version 1 (served before campaigns were signed): creative and destination only; the `cmp` it
    /// carries is not to be believed.
    CampaignUnsigned,
    /// Not a link the service signed.
    Forged,
}

/// Checks a click hit's signature, by the version the link says it is. Dropping or adding `v` does not
/// help a forger: each version has its own MAC label, so a signature verifies under one version only.
pub fn check_click(hit: &TrackerHit, signer: &Signer) -> ClickLink {
    let (Some(creative_id), Some(rurl), Some(sig)) = (
        hit.creative_id.as_deref(),
        hit.rurl.as_deref(),
        hit.sig.as_deref(),
    ) else {
        return ClickLink::Forged;
    };
    match hit.version.as_deref() {
        None => {
            if signer.verify(creative_id, rurl, sig) {
                ClickLink::CampaignUnsigned
            } else {
                ClickLink::Forged
            }
        }
        Some(CLICK_LINK_VERSION) => {
            let campaign_id = hit.campaign_id.as_deref().unwrap_or_default();
            if signer.verify_click(creative_id, campaign_id, rurl, sig) {
                ClickLink::Signed
            } else {
                ClickLink::Forged
            }
        }
        Some(_) => ClickLink::Forged,
    }
}

/// Where a click whose signature checked ([`check_click`]) goes: its `rurl` with the macros the hit
/// carries filled in, when that is a [`safe_redirect`], serialised by the URL parser (ASCII only, fit
/// for a `Location` header).
pub fn redirect_location(hit: &TrackerHit) -> Option<String> {
    let rurl = hit.rurl.as_deref()?;
    if !safe_redirect(rurl) {
        return None;
    }
    let filled = fill_macros(rurl, hit);
    if !safe_redirect(&filled) {
        return None;
    }
    url::Url::parse(&filled).ok().map(String::from)
}

/// Where a click hit may be redirected: [`redirect_location`] of a link [`check_click`] does not find
/// forged.
pub fn redirect_target(hit: &TrackerHit, signer: &Signer) -> Option<String> {
    if check_click(hit, signer) == ClickLink::Forged {
        return None;
    }
    redirect_location(hit)
}

/// How long a replayed click is not counted again.
pub const CLICK_DEDUP_SECS: u64 = 60;

/// The key under which a click is counted once: the same link (its whole query, macros as the
/// seller filled them) from the same client in the same [`CLICK_DEDUP_SECS`] window. `client` is what
/// identifies the browser (address, forwarded-for, user agent). Another cachebuster or impression id
/// is another click.
pub fn click_dedup_key(query: &str, client: &str, unix_secs: u64) -> String {
    use sha2::Digest;
    let mut h = Sha256::new();
    h.update(b"creative-manifests/click-dedup/v1\0");
    for part in [query.as_bytes(), client.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update((unix_secs / CLICK_DEDUP_SECS).to_be_bytes());
    hex::encode(&h.finalize()[..16])
}

/// `rurl` with the macros the click carried values for (`{CREATIVE_ID}`, `{CAMPAIGN_ID}`, those of
/// [`TRACKER_PARAMS`] and the ones carried as `m_NAME`) replaced by those values, percent-encoded. Only after the
/// authority: what the seller (or anyone editing the unsigned parameters) substitutes can never change the host.
/// Macros without a value stay as they are.
fn fill_macros(rurl: &str, hit: &TrackerHit) -> String {
    let after_scheme = rurl.find("://").map_or(0, |i| i + 3);
    let split = rurl[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(rurl.len(), |i| after_scheme + i);
    let (origin, rest) = rurl.split_at(split);
    if !rest.contains('{') {
        return rurl.to_owned();
    }
    let value_of = |name: &str| -> Option<&str> {
        match name {
            "CREATIVE_ID" => hit.creative_id.as_deref(),
            "CAMPAIGN_ID" => hit.campaign_id.as_deref(),
            _ => hit.macros.get(param_for(name).as_ref()).map(String::as_str),
        }
    };
    let mut out = String::with_capacity(rurl.len() + 32);
    out.push_str(origin);
    let mut rest = rest;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .filter(|&close| is_macro_name(&after[..close]))
            .and_then(|close| value_of(&after[..close]).map(|v| (close, v)));
        match value {
            Some((close, v)) => {
                out.push_str(&encode(v));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://t.example/";

    fn signer() -> Signer {
        Signer::new(*b"0123456789abcdef0123456789abcdef")
    }

    fn query_of(url: &str) -> &str {
        url.split_once('?').map_or("", |(_, q)| q)
    }

    #[test]
    fn universal_macros_match_the_adcp_schema() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/adcp-3.1.19/enums/universal-macro.json"
        );
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(UNIVERSAL_MACROS, listed.as_slice());
        for (_, name) in TRACKER_PARAMS {
            assert!(UNIVERSAL_MACROS.contains(name), "{name}");
        }
    }

    #[test]
    fn impression_url_fills_ids_and_leaves_macros_for_the_seller() {
        let url = impression_url(BASE, "cr_1", "cmp 2&x");
        assert!(url.starts_with(
            "https://t.example/t/imp?cr=cr_1&cmp=cmp%202%26x&mb={MEDIA_BUY_ID}&cb={CACHEBUSTER}&"
        ));
        let expected: Vec<String> = TRACKER_PARAMS
            .iter()
            .map(|(_, m)| format!("{{{m}}}"))
            .collect();
        assert_eq!(macros_in(&url), expected);
        let hit = parse_hit(query_of(&url));
        assert_eq!(
            (hit.creative_id.as_deref(), hit.campaign_id.as_deref()),
            (Some("cr_1"), Some("cmp 2&x"))
        );
        assert!(
            hit.macros.is_empty(),
            "nothing substituted yet: {:?}",
            hit.macros
        );
    }

    #[test]
    fn click_url_round_trips_any_clickthrough() {
        let clickthroughs = [
            "https://acme.example/fall",
            "https://acme.example/fall?utm_source=x&utm_medium=y#section-2",
            "https://acme.example/p?a=b=c&d=%20e&f=+g",
            "https://acme.example/ünïcode/页面?q=café&€=1",
            "https://acme.example/land?cb={CACHEBUSTER}&mb={MEDIA_BUY_ID}",
            "https://acme.example/a%2Fb?rurl=https%3A%2F%2Fother.example&sig=00",
            "http://acme.example:8080/path;params?x=1&&y=&=z",
        ];
        for clickthrough in clickthroughs {
            let url = click_url(BASE, "cr_1", "cmp_2", clickthrough, &signer());
            assert!(url.starts_with("https://t.example/t/clk?cr=cr_1&cmp=cmp_2&mb={MEDIA_BUY_ID}&"));
            let (before, encoded) = url.rsplit_once("&rurl=").unwrap();
            assert!(
                before.contains("&sig=") && !encoded.contains(['&', '=', '{', '#', '?', '+', ' '])
            );
            let hit = parse_hit(query_of(&url));
            assert_eq!(hit.rurl.as_deref(), Some(clickthrough));
            assert!(signer().verify_click(
                "cr_1",
                "cmp_2",
                clickthrough,
                hit.sig.as_deref().unwrap()
            ));
            assert_eq!(
                macros_in(&url).len(),
                TRACKER_PARAMS.len(),
                "the clickthrough's own macros are encoded"
            );
        }
    }

    #[test]
    fn signatures_bind_creative_and_destination() {
        let sig = signer().sign("cr_1", "https://acme.example/");
        assert_eq!(sig.len(), SIG_HEX_LEN);
        assert!(sig
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(signer().verify("cr_1", "https://acme.example/", &sig));
        assert!(!signer().verify("cr_1", "https://evil.example/", &sig));
        assert!(!signer().verify("cr_2", "https://acme.example/", &sig));
        assert!(
            !signer().verify("cr_1h", "ttps://acme.example/", &sig),
            "bytes cannot move between the two"
        );
        assert!(!Signer::new([7; 32]).verify("cr_1", "https://acme.example/", &sig));
        for bad in [
            "",
            "zz",
            &sig[..30],
            &format!("{sig}00"),
            &sig.replace(&sig[..2], "xx"),
        ] {
            assert!(
                !signer().verify("cr_1", "https://acme.example/", bad),
                "{bad}"
            );
        }
        assert!(signer().verify("cr_1", "https://acme.example/", &sig.to_ascii_uppercase()));
    }

    #[test]
    fn webhook_tokens_bind_the_job_and_are_no_click_signature() {
        let token = signer().webhook_token("job_1");
        assert_eq!(token.len(), SIG_HEX_LEN);
        assert!(signer().verify_webhook_token("job_1", &token));
        assert!(!signer().verify_webhook_token("job_2", &token));
        assert!(!Signer::new([7; 32]).verify_webhook_token("job_1", &token));
        assert!(!signer().verify_webhook_token("job_1", &token[..30]));
        assert!(!signer().verify_webhook_token("job_1", ""));
        assert_ne!(token, signer().sign("job_1", ""), "purposes are kept apart");
        assert!(!signer().verify("job_1", "", &token));
    }

    #[test]
    fn padded_key_is_the_standard_hmac() {
        let key = *b"0123456789abcdef0123456789abcdef";
        let mut standard = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        let mut ours = Signer::new(key).keyed();
        standard.update(b"x");
        ours.update(b"x");
        assert_eq!(
            ours.finalize().into_bytes(),
            standard.finalize().into_bytes()
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", signer());
        assert_eq!(shown, "Signer { key: <redacted> }");
    }

    #[test]
    fn macros_are_found_once_each_in_order() {
        let url = "https://x.example/?a={MEDIA_BUY_ID}&b={CACHEBUSTER}&c={MEDIA_BUY_ID}&d={lower}&e={}&f=${AUCTION_PRICE}&g={{X_1}";
        assert_eq!(
            macros_in(url),
            [
                "{MEDIA_BUY_ID}",
                "{CACHEBUSTER}",
                "{AUCTION_PRICE}",
                "{X_1}"
            ]
        );
        assert!(macros_in("https://x.example/{unclosed").is_empty());
        assert!(macros_in("").is_empty());
    }

    #[test]
    fn hits_keep_substituted_values_only() {
        let hit = parse_hit("?cr=cr_1&cmp=cmp_2&mb=mb_9&cb={CACHEBUSTER}&dom=%7BDOMAIN%7D&gdpr=1&gdpr_consent=&ua=Mozilla+5.0&extra=x&mb=second");
        assert_eq!(hit.creative_id.as_deref(), Some("cr_1"));
        assert_eq!(hit.rurl, None);
        let macros: Vec<(&str, &str)> = hit
            .macros
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            macros,
            [
                ("extra", "x"),
                ("gdpr", "1"),
                ("gdpr_consent", ""),
                ("mb", "mb_9"),
                ("ua", "Mozilla 5.0")
            ]
        );
    }

    #[test]
    fn garbage_queries_never_panic() {
        for query in [
            "",
            "?",
            "&&&",
            "=",
            "==&=",
            "%",
            "%zz=%",
            "cr=%ff%fe",
            "rurl",
            "a=b=c",
            "\u{0}=\u{1}",
            "{=}",
            "é=%C3",
        ] {
            let hit = parse_hit(query);
            let _ = redirect_target(&hit, &signer());
        }
        assert_eq!(parse_hit("cr=%ff").creative_id.as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn only_http_urls_are_safe_redirects() {
        for ok in [
            "https://acme.example/",
            "http://acme.example:8080/a?b#c",
            "HTTPS://ACME.example/x",
            "https://acme.example/ü",
        ] {
            assert!(safe_redirect(ok), "{ok}");
        }
        let bad = [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,x",
            "//acme.example/",
            "/relative",
            "https://acme.example/\r\nSet-Cookie: x=1",
            "https://acme.example/\n",
            "https:///",
            "ftp://acme.example/",
            "",
        ];
        for bad in bad {
            assert!(!safe_redirect(bad), "{bad:?}");
        }
    }

    #[test]
    fn clickthrough_macros_are_asked_for_and_filled_after_the_host_only() {
        let clickthrough =
            "https://acme.example/l/{DEVICE_TYPE}?cb={CACHEBUSTER}&cr={CREATIVE_ID}&c={CAMPAIGN_ID}&os={OS}&z={ZIP}&k={NOPE}#{OS}";
        let url = click_url(BASE, "cr_1", "cmp_2", clickthrough, &signer());
        let (asks, _) = url.split_once("&v=2&sig=").unwrap();
        assert!(asks.ends_with("&m_OS={OS}&m_ZIP={ZIP}"), "{asks}");
        assert!(!asks.contains("m_NOPE") && !asks.contains("m_CACHEBUSTER"));
        // The seller fills some of them; ZIP it leaves alone.
        let served = url
            .replace("{CACHEBUSTER}", "99")
            .replace("{DEVICE_TYPE}", "mobile")
            .replace("{OS}", "iOS%2017%2F%26x");
        let hit = parse_hit(query_of(&served));
        assert_eq!(
            redirect_target(&hit, &signer()).as_deref(),
            Some("https://acme.example/l/mobile?cb=99&cr=cr_1&c=cmp_2&os=iOS%2017%2F%26x&z={ZIP}&k={NOPE}#iOS%2017%2F%26x")
        );
        // Nothing unsigned reaches the host, even where the clickthrough put a macro there.
        for host in ["https://{DOMAIN}/x", "https://acme.example{OS}/x"] {
            let url = click_url(BASE, "cr_1", "c", host, &signer());
            let hit = parse_hit(query_of(
                &url.replace("{DOMAIN}", "evil.example")
                    .replace("{OS}", ".evil.example"),
            ));
            let target = redirect_target(&hit, &signer());
            assert!(
                !target.as_deref().unwrap_or_default().contains("evil"),
                "{host}: {target:?}"
            );
        }
    }

    #[test]
    fn redirects_only_signed_safe_destinations() {
        let url = click_url(
            BASE,
            "cr_1",
            "cmp_2",
            "https://acme.example/ü?x=1 2",
            &signer(),
        );
        let hit = parse_hit(query_of(&url));
        assert_eq!(
            redirect_target(&hit, &signer()).as_deref(),
            Some("https://acme.example/%C3%BC?x=1%202")
        );
        let tampered = TrackerHit {
            rurl: Some("https://evil.example/".into()),
            ..hit.clone()
        };
        assert_eq!(redirect_target(&tampered, &signer()), None);
        let other_creative = TrackerHit {
            creative_id: Some("cr_2".into()),
            ..hit.clone()
        };
        assert_eq!(redirect_target(&other_creative, &signer()), None);
        let unsigned = TrackerHit { sig: None, ..hit };
        assert_eq!(redirect_target(&unsigned, &signer()), None);
        let script = parse_hit(query_of(&click_url(
            BASE,
            "cr_1",
            "c",
            "javascript:alert(1)",
            &signer(),
        )));
        assert_eq!(
            redirect_target(&script, &signer()),
            None,
            "signed is not enough"
        );
    }

    #[test]
    fn version_2_links_sign_the_campaign_and_version_1_links_still_redirect() {
        let url = click_url(BASE, "cr_1", "cmp_2", "https://acme.example/", &signer());
        let hit = parse_hit(query_of(&url));
        assert_eq!(hit.version.as_deref(), Some("2"));
        assert_eq!(check_click(&hit, &signer()), ClickLink::Signed);
        let other_campaign = TrackerHit {
            campaign_id: Some("cmp_forged".into()),
            ..hit.clone()
        };
        assert_eq!(check_click(&other_campaign, &signer()), ClickLink::Forged);
        assert_eq!(redirect_target(&other_campaign, &signer()), None);
        for version in [None, Some("1"), Some("3"), Some("")] {
            let downgraded = TrackerHit {
                version: version.map(str::to_owned),
                ..hit.clone()
            };
            assert_eq!(
                check_click(&downgraded, &signer()),
                ClickLink::Forged,
                "{version:?}"
            );
        }
        // A link served before campaigns were signed.
        let v1 = format!(
            "{BASE}t/clk?cr=cr_1&cmp=anything&sig={}&rurl={}",
            signer().sign("cr_1", "https://acme.example/"),
            encode("https://acme.example/")
        );
        let hit = parse_hit(query_of(&v1));
        assert_eq!(check_click(&hit, &signer()), ClickLink::CampaignUnsigned);
        assert_eq!(
            redirect_target(&hit, &signer()).as_deref(),
            Some("https://acme.example/")
        );
        let as_v2 = TrackerHit {
            version: Some("2".into()),
            ..hit
        };
        assert_eq!(check_click(&as_v2, &signer()), ClickLink::Forged);
    }

    #[test]
    fn replays_share_a_dedup_key_within_the_window_only() {
        let key = click_dedup_key("cr=1&cb=7&sig=ab", "1.2.3.4|ua", 120);
        assert_eq!(key.len(), 32);
        assert_eq!(key, click_dedup_key("cr=1&cb=7&sig=ab", "1.2.3.4|ua", 179));
        assert_ne!(key, click_dedup_key("cr=1&cb=7&sig=ab", "1.2.3.4|ua", 180));
        assert_ne!(key, click_dedup_key("cr=1&cb=8&sig=ab", "1.2.3.4|ua", 120));
        assert_ne!(key, click_dedup_key("cr=1&cb=7&sig=ab", "1.2.3.5|ua", 120));
        assert_ne!(
            click_dedup_key("ab", "c", 0),
            click_dedup_key("a", "bc", 0),
            "bytes cannot move between query and client"
        );
    }
}
