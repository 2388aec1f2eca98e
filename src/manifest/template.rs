//! Template detection (pure): which creative template a set of uploaded files fits, from the third-party
//! tag its HTML carries, else from the kinds of its assets.

use crate::manifest::asset_type::AssetType;

/// A template a creative was recognised as.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DetectedTemplate {
    pub template_id: String,
    pub template_name: String,
    /// `vendor_tag` (a known ad server's tag in the HTML) or `asset_types`.
    pub method: String,
}

/// A third-party ad tag, known by markers (lower-case) of its script hosts or globals.
struct VendorTag {
    id: &'static str,
    name: &'static str,
    markers: &'static [&'static str],
}

/// Checked in order after the Campaign Manager `<ins>` tag. Markers are hosts and globals specific
/// enough not to occur in ordinary creatives (`adform.net`, not `adform`, which `adFormat` contains).
const VENDOR_TAGS: &[VendorTag] = &[
    VendorTag {
        id: "gam_tag",
        name: "Google Ad Manager tag",
        markers: &["securepubads.g.doubleclick.net", "googletag."],
    },
    VendorTag {
        id: "adform_tag",
        name: "Adform tag",
        markers: &["adform.net", "adform.com", "adformdhtml"],
    },
    VendorTag {
        id: "flashtalking_tag",
        name: "Flashtalking tag",
        markers: &["flashtalking.com", "flashtalking.net", "ftfeed"],
    },
    VendorTag {
        id: "innovid_tag",
        name: "Innovid tag",
        markers: &["innovid.com", "innovid.net"],
    },
    VendorTag {
        id: "celtra_tag",
        name: "Celtra tag",
        markers: &["celtra.com", "celtra.net", "celtra-"],
    },
    VendorTag {
        id: "sizmek_tag",
        name: "Amazon Ad Server (Sizmek) tag",
        markers: &["serving-sys.com"],
    },
];

const DCM_INS_TAG: (&str, &str) = ("dcm_ins_tag", "Google Campaign Manager 360 tag");

/// Detects the template of a creative. `kinds` are the asset types of its uploaded files, most important
/// (primary) first; `html` the bytes of its primary HTML document, if any; `has_vast_url` whether a VAST
/// URL asset exists.
///
/// A known third-party tag in the HTML decides first (method `vendor_tag`). Then the assets (method
/// `asset_types`): VAST (file or URL) makes a VAST video, any HTML an HTML5 display creative, and
/// otherwise the most important video, audio or image/logo asset decides. None when nothing fits
/// (only texts, fonts, documents...).
pub fn detect_template(
    kinds: &[AssetType],
    html: Option<&[u8]>,
    has_vast_url: bool,
) -> Option<DetectedTemplate> {
    if let Some((id, name)) = html.and_then(vendor_tag) {
        return Some(detected(id, name, "vendor_tag"));
    }
    let (id, name) = by_asset_types(kinds, has_vast_url)?;
    Some(detected(id, name, "asset_types"))
}

fn detected(id: &str, name: &str, method: &str) -> DetectedTemplate {
    DetectedTemplate {
        template_id: id.to_owned(),
        // The name the templates listing (`GET /templates`) gives it, so the two never disagree.
        template_name: crate::formats::templates::TEMPLATES
            .iter()
            .find(|t| t.template_id == id)
            .map_or(name, |t| t.name)
            .to_owned(),
        method: method.to_owned(),
    }
}

fn vendor_tag(html: &[u8]) -> Option<(&'static str, &'static str)> {
    // One lower-cased copy, then the standard library's substring search.
    let text = String::from_utf8_lossy(html).to_ascii_lowercase();
    if has_dcm_ins_tag(&text) {
        return Some(DCM_INS_TAG);
    }
    VENDOR_TAGS
        .iter()
        .find(|tag| tag.markers.iter().any(|m| text.contains(m)))
        .map(|tag| (tag.id, tag.name))
}

/// `<ins class="dcmads" ...>`: Campaign Manager's asynchronous tag, in any attribute order or quoting.
fn has_dcm_ins_tag(lower_html: &str) -> bool {
    lower_html.match_indices("<ins").any(|(at, _)| {
        let tag = &lower_html[at..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        tag.contains("dcmads")
    })
}

fn by_asset_types(kinds: &[AssetType], has_vast_url: bool) -> Option<(&'static str, &'static str)> {
    if has_vast_url || kinds.contains(&AssetType::Vast) {
        return Some(("video_vast", "VAST video"));
    }
    if kinds.contains(&AssetType::Html) {
        return Some(("display_html", "HTML5 display"));
    }
    kinds.iter().find_map(|kind| match kind {
        AssetType::Video => Some(("video_standard", "Standard video")),
        AssetType::Audio => Some(("audio_standard", "Standard audio")),
        AssetType::Image | AssetType::Logo => Some(("display_image", "Image display")),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_detection_can_name_is_listed() {
        let by_assets = [Vast, Html, Video, Audio, Image]
            .map(|k| by_asset_types(&[k], false).expect("a template").0);
        let ids = VENDOR_TAGS
            .iter()
            .map(|v| v.id)
            .chain([DCM_INS_TAG.0])
            .chain(by_assets);
        for id in ids {
            assert!(
                crate::formats::templates::TEMPLATES
                    .iter()
                    .any(|t| t.template_id == id),
                "{id} is detected but not listed"
            );
        }
        let image = detect_template(&[Image], None, false).unwrap();
        assert_eq!(image.template_name, "Display image", "named as listed");
    }
    use AssetType::*;

    fn id(kinds: &[AssetType], html: Option<&str>, has_vast_url: bool) -> Option<(String, String)> {
        detect_template(kinds, html.map(str::as_bytes), has_vast_url)
            .map(|t| (t.template_id, t.method))
    }

    fn vendor(template_id: &str) -> Option<(String, String)> {
        Some((template_id.into(), "vendor_tag".into()))
    }

    fn by_types(template_id: &str) -> Option<(String, String)> {
        Some((template_id.into(), "asset_types".into()))
    }

    #[test]
    fn campaign_manager_ins_tags_are_recognised() {
        let tag = r#"<INS class='dcmads' style='display:inline-block;width:300px;height:250px'
            data-dcm-placement='N1234.5678/B1234.5678' data-dcm-rendering-mode='iframe'>
            <script src='https://www.googletagservices.com/dcm/dcmads.js'></script></ins>"#;
        assert_eq!(id(&[Html], Some(tag), false), vendor("dcm_ins_tag"));
        let other_order = r#"<ins data-dcm-placement="N1" class="x dcmads">"#;
        assert_eq!(id(&[Html], Some(other_order), false), vendor("dcm_ins_tag"));
        let full = detect_template(&[Html], Some(tag.as_bytes()), false);
        assert_eq!(
            full.map(|t| t.template_name),
            Some("Google Campaign Manager 360 tag".to_owned())
        );
    }

    #[test]
    fn other_vendor_tags_are_recognised_by_their_hosts() {
        let cases = [
            (
                r#"<script async src="https://securepubads.g.doubleclick.net/tag/js/gpt.js"></script>"#,
                "gam_tag",
            ),
            (
                "<script>googletag.cmd.push(function(){})</script>",
                "gam_tag",
            ),
            (
                r#"<script src="https://track.adform.net/adfscript/?bn=123"></script>"#,
                "adform_tag",
            ),
            (
                r#"<script src="https://servedby.flashtalking.com/imp/1;2;201;js;x/?"></script>"#,
                "flashtalking_tag",
            ),
            (
                r#"<script src="https://s-static.innovid.com/mobileapps/sdk.js"></script>"#,
                "innovid_tag",
            ),
            (
                r#"<div class="celtra-ad-v3"><script src="https://ads.celtra.com/x/web.js"></script></div>"#,
                "celtra_tag",
            ),
            (
                r#"<script src="https://bs.serving-sys.com/Serving/adServer.bs"></script>"#,
                "sizmek_tag",
            ),
        ];
        for (html, expected) in cases {
            assert_eq!(id(&[Html], Some(html), false), vendor(expected), "{html}");
        }
    }

    #[test]
    fn lookalike_words_are_not_vendor_tags() {
        let html = "<script>var adFormat = 'banner'; var insight = 1;</script><ins>note</ins><p>dcmads</p>";
        assert_eq!(id(&[Html], Some(html), false), by_types("display_html"));
    }

    #[test]
    fn vendor_tags_win_over_asset_types() {
        let html = "<script src=\"https://ads.celtra.com/x.js\"></script>";
        assert_eq!(id(&[Vast, Html], Some(html), true), vendor("celtra_tag"));
    }

    #[test]
    fn vast_wins_among_asset_types() {
        assert_eq!(id(&[Video, Vast], None, false), by_types("video_vast"));
        assert_eq!(id(&[Image], None, true), by_types("video_vast"));
        assert_eq!(id(&[], None, true), by_types("video_vast"));
    }

    #[test]
    fn html_makes_a_display_html_creative() {
        assert_eq!(
            id(&[Image, Html, Css, Javascript], Some("<p>hi</p>"), false),
            by_types("display_html")
        );
        assert_eq!(id(&[Html], None, false), by_types("display_html"));
    }

    #[test]
    fn the_most_important_media_asset_decides() {
        assert_eq!(id(&[Video, Image], None, false), by_types("video_standard"));
        assert_eq!(id(&[Audio, Image], None, false), by_types("audio_standard"));
        assert_eq!(id(&[Image, Video], None, false), by_types("display_image"));
        assert_eq!(id(&[Text, Logo], None, false), by_types("display_image"));
        assert_eq!(id(&[Font, Audio], None, false), by_types("audio_standard"));
    }

    #[test]
    fn nothing_fits_without_media() {
        assert_eq!(id(&[Text], None, false), None);
        assert_eq!(
            id(&[Text, Font, Document, Css, Javascript, Url], None, false),
            None
        );
        assert_eq!(id(&[], None, false), None);
    }

    #[test]
    fn garbage_html_does_not_panic() {
        let bytes = b"<ins\xff\xfe class=\"dcmads\xe9<ins";
        assert!(detect_template(&[Html], Some(bytes), false).is_some());
        assert!(detect_template(&[Html], Some(b"<ins"), false).is_some());
    }
}
