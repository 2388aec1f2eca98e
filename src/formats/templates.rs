//! The creative templates a buyer can pick (or the service detects): what each is and which asset
//! types it is made of.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Template {
    pub template_id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub asset_types: &'static [&'static str],
    pub format_kind: &'static str,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        template_id: "display_image",
        name: "Display image",
        description: "A static or animated image with a clickthrough.",
        asset_types: &["IMAGE", "URL"],
        format_kind: "image",
    },
    Template {
        template_id: "display_html",
        name: "Display HTML5",
        description: "An HTML5 page or ZIP bundle with a clickTag.",
        asset_types: &["HTML", "CSS", "JAVASCRIPT", "IMAGE", "URL"],
        format_kind: "html5",
    },
    Template {
        template_id: "video_standard",
        name: "Hosted video",
        description: "A video file served by the seller's player.",
        asset_types: &["VIDEO", "URL"],
        format_kind: "video_hosted",
    },
    Template {
        template_id: "video_vast",
        name: "VAST video",
        description: "A VAST document or tag URL from the buyer's ad server.",
        asset_types: &["VAST", "URL"],
        format_kind: "video_vast",
    },
    Template {
        template_id: "audio_standard",
        name: "Audio spot",
        description: "An audio file for streaming audio and podcasts.",
        asset_types: &["AUDIO", "URL"],
        format_kind: "audio_hosted",
    },
    Template {
        template_id: "native_standard",
        name: "Native in-feed",
        description: "An image, a headline and a clickthrough.",
        asset_types: &["IMAGE", "TEXT", "URL"],
        format_kind: "native_in_feed",
    },
    Template {
        template_id: "dcm_ins_tag",
        name: "Google Campaign Manager 360 tag",
        description: "A third-party <ins class=\"dcmads\"> tag.",
        asset_types: &["HTML"],
        format_kind: "display_tag",
    },
    Template {
        template_id: "gam_tag",
        name: "Google Ad Manager tag",
        description: "A GPT (googletag) third-party tag.",
        asset_types: &["HTML"],
        format_kind: "display_tag",
    },
    Template {
        template_id: "adform_tag",
        name: "Adform tag",
        description: "An Adform third-party tag.",
        asset_types: &["HTML"],
        format_kind: "display_tag",
    },
    Template {
        template_id: "flashtalking_tag",
        name: "Flashtalking tag",
        description: "A Flashtalking third-party tag.",
        asset_types: &["HTML"],
        format_kind: "display_tag",
    },
    Template {
        template_id: "innovid_tag",
        name: "Innovid tag",
        description: "An Innovid third-party tag.",
        asset_types: &["HTML"],
        format_kind: "display_tag",
    },
    Template {
        template_id: "celtra_tag",
        name: "Celtra tag",
        description: "A Celtra third-party tag.",
        asset_types: &["HTML"],
        format_kind: "display_tag",
    },
    Template {
        template_id: "sizmek_tag",
        name: "Amazon Ad Server (Sizmek) tag",
        description: "An Amazon Ad Server (formerly Sizmek) third-party tag.",
        asset_types: &["HTML"],
        format_kind: "display_tag",
    },
];
