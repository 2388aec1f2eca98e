//! The standard formats every campaign can use, as full AdCP `Format`s declared by the AdCP reference
//! creative agent: display image and HTML at the IAB sizes, hosted and VAST video, audio, native.

use serde_json::{json, Value};

/// The agent that declares the standard formats.
pub const STANDARD_AGENT_URL: &str = "https://creative.adcontextprotocol.org";

/// IAB sizes offered as both image and HTML display formats.
const DISPLAY_SIZES: &[(u32, u32)] = &[
    (300, 250),
    (728, 90),
    (320, 50),
    (160, 600),
    (300, 600),
    (970, 250),
    (336, 280),
    (320, 100),
    (468, 60),
    (300, 50),
];

/// Macros every standard format substitutes.
const DISPLAY_MACROS: &[&str] = &[
    "MEDIA_BUY_ID",
    "PACKAGE_ID",
    "CREATIVE_ID",
    "CACHEBUSTER",
    "TIMESTAMP",
    "CLICK_URL",
    "GDPR",
    "GDPR_CONSENT",
    "US_PRIVACY",
    "GPP_STRING",
    "GPP_SID",
    "DEVICE_TYPE",
    "OS",
    "COUNTRY",
    "REGION",
    "DOMAIN",
    "PAGE_URL",
    "PLACEMENT_ID",
    "AD_WIDTH",
    "AD_HEIGHT",
    "IMPRESSION_ID",
];
const VIDEO_MACROS: &[&str] = &[
    "MEDIA_BUY_ID",
    "PACKAGE_ID",
    "CREATIVE_ID",
    "CACHEBUSTER",
    "TIMESTAMP",
    "CLICK_URL",
    "GDPR",
    "GDPR_CONSENT",
    "US_PRIVACY",
    "GPP_STRING",
    "GPP_SID",
    "DEVICE_TYPE",
    "OS",
    "COUNTRY",
    "DOMAIN",
    "APP_BUNDLE",
    "PLAYER_WIDTH",
    "PLAYER_HEIGHT",
    "VIDEO_ID",
    "POD_POSITION",
    "IMPRESSION_ID",
];
const AUDIO_MACROS: &[&str] = &[
    "MEDIA_BUY_ID",
    "PACKAGE_ID",
    "CREATIVE_ID",
    "CACHEBUSTER",
    "TIMESTAMP",
    "GDPR",
    "GDPR_CONSENT",
    "US_PRIVACY",
    "DEVICE_TYPE",
    "COUNTRY",
    "APP_BUNDLE",
    "STATION_ID",
    "AUDIO_DURATION",
];

fn format_id(id: &str) -> Value {
    json!({ "agent_url": STANDARD_AGENT_URL, "id": id })
}

fn clickthrough(required: bool) -> Value {
    json!({
        "item_type": "individual", "asset_id": "clickthrough_url", "asset_type": "url",
        "asset_role": "clickthrough", "required": required,
        "requirements": { "role": "clickthrough", "protocols": ["https", "http"] }
    })
}

fn display_image(w: u32, h: u32) -> Value {
    json!({
        "format_id": format_id(&format!("display_{w}x{h}")),
        "name": format!("Display image {w}x{h}"),
        "description": format!("A static or animated {w}x{h} image with a clickthrough URL."),
        "renders": [{ "role": "primary", "dimensions": { "width": w, "height": h } }],
        "assets": [
            {
                "item_type": "individual", "asset_id": "banner_image", "asset_type": "image",
                "asset_role": "hero_image", "required": true,
                "requirements": {
                    "min_width": w, "max_width": w, "min_height": h, "max_height": h,
                    "formats": ["jpg", "jpeg", "png", "gif", "webp", "svg"], "max_file_size_kb": 200
                }
            },
            clickthrough(false)
        ],
        "supported_macros": DISPLAY_MACROS,
    })
}

fn display_html(w: u32, h: u32) -> Value {
    json!({
        "format_id": format_id(&format!("display_{w}x{h}_html")),
        "name": format!("Display HTML5 {w}x{h}"),
        "description": format!("An HTML5 creative (single file or bundle) rendered at {w}x{h}."),
        "renders": [{ "role": "primary", "dimensions": { "width": w, "height": h } }],
        "assets": [
            {
                "item_type": "individual", "asset_id": "html_creative", "asset_type": "html",
                "required": true,
                "requirements": { "max_file_size_kb": 500, "sandbox": "iframe" }
            },
            clickthrough(false)
        ],
        "supported_macros": DISPLAY_MACROS,
    })
}

fn video_hosted(seconds: u64) -> Value {
    // Encoders rarely land on the exact frame: half a second either way is the same spot.
    let ms = seconds * 1000;
    json!({
        "format_id": format_id(&format!("video_standard_{seconds}s")),
        "name": format!("Video {seconds}s"),
        "description": format!("A hosted {seconds}-second video file (MP4 or WebM)."),
        "assets": [
            {
                "item_type": "individual", "asset_id": "video_file", "asset_type": "video",
                "asset_role": "main_video", "required": true,
                "requirements": {
                    "min_duration_ms": ms - 500, "max_duration_ms": ms + 500,
                    "containers": ["mp4", "webm", "mov"], "max_file_size_kb": 51200
                }
            },
            clickthrough(false)
        ],
        "supported_macros": VIDEO_MACROS,
    })
}

fn video_vast() -> Value {
    json!({
        "format_id": format_id("video_vast"),
        "name": "Video VAST tag",
        "description": "A VAST 2.0-4.2 document or tag URL served by the buyer's ad server.",
        "assets": [{
            "item_type": "individual", "asset_id": "vast_tag", "asset_type": "vast",
            "required": true, "requirements": {}
        }],
        "supported_macros": VIDEO_MACROS,
    })
}

fn audio(seconds: u64) -> Value {
    let ms = seconds * 1000;
    json!({
        "format_id": format_id(&format!("audio_standard_{seconds}s")),
        "name": format!("Audio {seconds}s"),
        "description": format!("A {seconds}-second audio spot (MP3, WAV or OGG)."),
        "assets": [{
            "item_type": "individual", "asset_id": "audio_file", "asset_type": "audio",
            "required": true,
            "requirements": {
                "min_duration_ms": ms - 500, "max_duration_ms": ms + 500,
                "formats": ["mp3", "wav", "ogg"], "max_file_size_kb": 10240
            }
        }],
        "supported_macros": AUDIO_MACROS,
    })
}

fn native() -> Value {
    json!({
        "format_id": format_id("native_standard"),
        "name": "Native in-feed",
        "description": "An image with a headline and a clickthrough, rendered in the publisher's feed style.",
        "assets": [
            {
                "item_type": "individual", "asset_id": "main_image", "asset_type": "image",
                "required": true, "requirements": { "min_width": 600, "aspect_ratio": "1.91:1" }
            },
            {
                "item_type": "individual", "asset_id": "headline", "asset_type": "text",
                "required": true, "requirements": { "max_length": 90 }
            },
            clickthrough(true)
        ],
        "supported_macros": DISPLAY_MACROS,
    })
}

/// Every standard format, in a stable order.
pub fn formats() -> Vec<Value> {
    let mut out: Vec<Value> = DISPLAY_SIZES
        .iter()
        .map(|&(w, h)| display_image(w, h))
        .collect();
    out.extend(DISPLAY_SIZES.iter().map(|&(w, h)| display_html(w, h)));
    out.extend([6, 15, 30, 60].map(video_hosted));
    out.push(video_vast());
    out.extend([15, 30, 60].map(audio));
    out.push(native());
    out
}
