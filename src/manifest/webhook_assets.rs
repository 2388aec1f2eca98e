//! A manifest's `webhook_assets` list made into its webhook assets: each entry checked by
//! [`super::webhook::check`], an entry naming an existing webhook asset keeping its id and secret.

use super::asset_type::AssetType;
use super::field::{check_label, check_name, FieldError, MAX_LIST};
use super::model::{Asset, AssetContent};
use super::webhook::{check, WebhookInput};
use crate::ids::AssetId;
use crate::store::db::now;

/// The webhook assets a `webhook_assets` list describes. `current` are the manifest's assets
/// before the request: an entry naming one of its webhook assets by `asset_id` replaces it,
/// keeping its id and, unless a new one is given, its secret.
pub fn assets(
    list: Vec<WebhookInput>,
    current: &[Asset],
    allow_private: bool,
) -> Result<Vec<Asset>, FieldError> {
    if list.len() > MAX_LIST {
        return Err(FieldError::new(
            "webhook_assets",
            format!("at most {MAX_LIST} entries"),
        ));
    }
    let mut out: Vec<Asset> = Vec::with_capacity(list.len());
    for (i, mut input) in list.into_iter().enumerate() {
        let field = format!("webhook_assets[{i}]");
        let replaced = match input.asset_id.take() {
            None => None,
            Some(id) => {
                let found = current
                    .iter()
                    .find(|a| a.asset_id.as_str() == id && a.webhook().is_some())
                    .ok_or_else(|| {
                        FieldError::new(
                            format!("{field}.asset_id"),
                            format!("'{id}' is not a webhook asset of this manifest"),
                        )
                    })?;
                if out.iter().any(|a| a.asset_id == found.asset_id) {
                    return Err(FieldError::new(
                        format!("{field}.asset_id"),
                        format!("'{id}' appears twice"),
                    ));
                }
                Some(found)
            }
        };
        check_label(&input.label, &format!("{field}.label"))?;
        check_label(&input.slot_asset_id, &format!("{field}.slot_asset_id"))?;
        let name = match input.name.take() {
            Some(n) => check_name(&n, &format!("{field}.name"))?,
            None => input.label.clone().unwrap_or_else(|| "webhook".into()),
        };
        let (label, slot) = (input.label.clone(), input.slot_asset_id.clone());
        let kept = replaced
            .and_then(|a| a.webhook())
            .and_then(|w| w.secret.clone());
        let webhook = check(input, &field, kept, allow_private)?;
        out.push(Asset {
            asset_id: replaced.map_or_else(AssetId::new, |a| a.asset_id.clone()),
            name,
            asset_type: AssetType::Webhook,
            content: AssetContent::Webhook(webhook),
            label,
            slot_asset_id: slot,
            warnings: vec![],
            created_at: replaced.map_or_else(now, |a| a.created_at.clone()),
        });
    }
    Ok(out)
}
