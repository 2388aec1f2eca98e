//! The demo seller as a seller that reviews and delivers (issue 12): `sync_creatives` can answer
//! `pending_review`; the seller decides later ([`Seller::decide`]) and may say so in a signed
//! `creative.status_changed` webhook; `list_creatives` reports each creative's status (with the
//! reviewer's note); `get_creative_delivery` answers per day from a table of rows, in pages.

use std::collections::BTreeMap;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{lock, Seller, SellerConfig};
use crate::adcp::webhook_hmac;

/// The switches of this behaviour (all off by default: the seller behaves as before).
#[derive(Clone, Default)]
pub struct Truth {
    /// `sync_creatives` answers `pending_review` (a person reviews each creative) instead of
    /// `approved`; a changed creative goes back to review.
    pub review: bool,
    /// Offer `list_creatives`.
    pub list_creatives: bool,
    /// Offer `get_creative_delivery`, answered from these rows (see [`DeliveryRow`]) in pages of
    /// `delivery_page` creatives.
    pub delivery_rows: Option<Vec<DeliveryRow>>,
    pub delivery_page: usize,
    pub currency: String,
}

/// One creative's delivery on one day, as the seller measured it.
#[derive(Clone, Debug)]
pub struct DeliveryRow {
    pub media_buy_id: String,
    pub creative_id: String,
    /// YYYY-MM-DD.
    pub day: String,
    pub impressions: u64,
    pub clicks: u64,
    pub spend: f64,
    pub completed_views: Option<u64>,
}

/// What the seller decided per creative: status, note, when.
#[derive(Default)]
pub struct Reviews {
    by_creative: BTreeMap<String, (String, Option<String>, String)>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The tools this behaviour adds to `tools/list`.
pub fn tools(config: &SellerConfig) -> Vec<&'static str> {
    let mut t = Vec::new();
    if config.truth.list_creatives {
        t.push("list_creatives");
    }
    if config.truth.delivery_rows.is_some() && config.delivery.is_none() {
        t.push("get_creative_delivery");
    }
    t
}

pub fn offers(config: &SellerConfig, tool: &str) -> bool {
    tools(config).contains(&tool)
}

/// A `sync_creatives` answer item, with the review status when this seller reviews (an archived
/// creative stays archived).
pub fn reviewed(config: &SellerConfig, reviews: &mut Reviews, mut item: Value) -> Value {
    if config.truth.review && item["status"] != "archived" {
        let id = item["creative_id"].as_str().unwrap_or_default().to_owned();
        let action = item["action"].as_str().unwrap_or_default().to_owned();
        item["status"] = json!(sync_status(config, reviews, &id, &action));
    }
    item
}

/// The status a `sync_creatives` of `id` answers (`action` as the library decided it).
pub fn sync_status(
    config: &SellerConfig,
    reviews: &mut Reviews,
    id: &str,
    action: &str,
) -> &'static str {
    if !config.truth.review {
        return "approved";
    }
    let decided = reviews.by_creative.get(id).map(|r| r.0.clone());
    match (action, decided.as_deref()) {
        ("unchanged", Some("approved")) => "approved",
        ("unchanged", Some("rejected")) => "rejected",
        _ => {
            reviews
                .by_creative
                .insert(id.to_owned(), ("pending_review".into(), None, now()));
            "pending_review"
        }
    }
}

/// Answers a tool of this behaviour.
pub fn answer(
    config: &SellerConfig,
    reviews: &Reviews,
    library: &BTreeMap<String, Value>,
    tool: &str,
    args: &Value,
) -> Value {
    match tool {
        "list_creatives" => list_creatives(reviews, library, args),
        _ => delivery(config, args),
    }
}

fn list_creatives(reviews: &Reviews, library: &BTreeMap<String, Value>, args: &Value) -> Value {
    let wanted: Option<Vec<&str>> = args
        .pointer("/filters/creative_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect());
    let creatives: Vec<Value> = library
        .iter()
        .filter(|(id, _)| wanted.as_ref().is_none_or(|w| w.contains(&id.as_str())))
        .map(|(id, c)| {
            let (status, note, at) =
                reviews
                    .by_creative
                    .get(id)
                    .cloned()
                    .unwrap_or(("approved".into(), None, now()));
            let mut item = json!({"creative_id": id, "name": c["name"].as_str().unwrap_or(id),
                "status": status, "created_date": at, "updated_date": at,
                "platform_id": super::review::platform_id(id)});
            // The schema wants the creative's format, by either path, as it was synced.
            for key in ["format_id", "format_kind", "format_option_ref"] {
                if let Some(v) = c.get(key) {
                    item[key] = v.clone();
                }
            }
            if let Some(n) = note {
                // Not in the response schema, whose items allow more properties (see reconcile.rs).
                item["rejection_reason"] = json!(n);
            }
            item
        })
        .collect();
    json!({"status": "completed",
        "query_summary": {"total_matching": creatives.len(), "returned": creatives.len()},
        "pagination": {"has_more": false, "total_count": creatives.len()},
        "creatives": creatives})
}

/// `get_creative_delivery` for the requested media buys and dates: per creative over the period,
/// one page of creatives per call (`pagination.cursor` is the offset, as this seller chooses).
fn delivery(config: &SellerConfig, args: &Value) -> Value {
    let rows = config.truth.delivery_rows.clone().unwrap_or_default();
    let buys: Vec<&str> = args["media_buy_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let start = args["start_date"].as_str().unwrap_or("0000-00-00");
    let end = args["end_date"].as_str().unwrap_or("9999-99-99");
    let mut by: BTreeMap<(String, String), Vec<DeliveryRow>> = BTreeMap::new();
    for r in rows.into_iter().filter(|r| {
        (buys.is_empty() || buys.contains(&r.media_buy_id.as_str()))
            && r.day.as_str() >= start
            && r.day.as_str() <= end
    }) {
        by.entry((r.creative_id.clone(), r.media_buy_id.clone()))
            .or_default()
            .push(r);
    }
    let page = config.truth.delivery_page.max(1);
    let offset: usize = args
        .pointer("/pagination/cursor")
        .and_then(Value::as_str)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let total = by.len();
    let creatives: Vec<Value> = by
        .into_iter()
        .skip(offset)
        .take(page)
        .map(|((creative, buy), rows)| {
            let imps: u64 = rows.iter().map(|r| r.impressions).sum();
            let clicks: u64 = rows.iter().map(|r| r.clicks).sum();
            let spend: f64 = rows.iter().map(|r| r.spend).sum();
            let mut totals = json!({"impressions": imps, "clicks": clicks, "spend": spend,
                "ctr": if imps > 0 { clicks as f64 / imps as f64 } else { 0.0 }});
            if rows.iter().any(|r| r.completed_views.is_some()) {
                totals["completed_views"] =
                    json!(rows.iter().filter_map(|r| r.completed_views).sum::<u64>());
            }
            json!({"creative_id": creative, "media_buy_id": buy, "totals": totals, "variants": []})
        })
        .collect();
    let has_more = offset + page < total;
    let mut answer = json!({"status": "completed", "currency": config.truth.currency,
        "reporting_period": {"start": format!("{start}T00:00:00Z"), "end": format!("{end}T23:59:59Z"), "timezone": "UTC"},
        "creatives": creatives,
        "pagination": {"limit": page, "offset": offset, "has_more": has_more, "total_count": total, "total": total}});
    if buys.len() == 1 {
        answer["media_buy_id"] = json!(buys[0]);
    }
    answer
}

impl Seller {
    /// Sends a task event to the registration `push`: signed with AdCP's legacy HMAC-SHA256 when
    /// the registration asked for it (as a seller must), else as it is (the echoed token only).
    pub async fn push(&self, push: &Value, payload: &Value) -> (u16, Value) {
        let url = push["url"].as_str().expect("a webhook url");
        let secret = push
            .pointer("/authentication/credentials")
            .and_then(Value::as_str)
            .filter(|_| push.pointer("/authentication/schemes/0") == Some(&json!("HMAC-SHA256")));
        match secret {
            Some(secret) => {
                let errors = self
                    .shared
                    .violations("core/mcp-webhook-payload.json", payload);
                assert!(errors.is_empty(), "the test seller's webhook: {errors:?}");
                let body = serde_json::to_vec(payload).unwrap_or_default();
                self.send_signed(url, secret, Utc::now().timestamp(), &body)
                    .await
            }
            None => self.send_webhook(url, payload).await,
        }
    }

    /// The seller's reviewer decides creative `id` (no webhook: see [`Seller::send_status_changed`]).
    pub fn decide(&self, id: &str, status: &str, note: Option<&str>) {
        let mut ledger = lock(&self.shared.ledger);
        ledger.reviews.by_creative.insert(
            id.to_owned(),
            (status.to_owned(), note.map(str::to_owned), now()),
        );
    }

    /// The status the seller holds for creative `id`.
    pub fn review_status(&self, id: &str) -> Option<String> {
        lock(&self.shared.ledger)
            .reviews
            .by_creative
            .get(id)
            .map(|r| r.0.clone())
    }

    /// POSTs `body` (bytes as given) to `url` signed with AdCP's legacy HMAC-SHA256 at `timestamp`.
    pub async fn send_signed(
        &self,
        url: &str,
        secret: &str,
        timestamp: i64,
        body: &[u8],
    ) -> (u16, Value) {
        let res = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header(webhook_hmac::TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                webhook_hmac::SIGNATURE_HEADER,
                webhook_hmac::sign(secret, timestamp, body),
            )
            .body(body.to_vec())
            .send()
            .await;
        match res {
            Ok(res) => {
                let status = res.status().as_u16();
                (status, res.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({"error": e.to_string()})),
        }
    }

    /// A `creative.status_changed` event for `id` (checked against its AdCP schema), as the seller
    /// would fire it to the registration `push` (a `push_notification_config` it received).
    pub fn status_changed_event(
        &self,
        id: &str,
        from: &str,
        to: &str,
        note: Option<&str>,
    ) -> Value {
        let mut event = json!({
            "idempotency_key": uuid::Uuid::now_v7().to_string(),
            "notification_id": format!("ntf_{}", uuid::Uuid::now_v7().simple()),
            "notification_type": "creative.status_changed",
            "fired_at": now(),
            "subscriber_id": "buyer",
            "account_id": "acc_demo",
            "creative_id": id,
            "transition": {"from": from, "to": to, "observed_at": now()},
            "reason_code": if to == "rejected" { "review_failure" } else { "review_passed" },
            "initiator": "seller",
        });
        if let Some(n) = note {
            event["reason_detail"] = json!(n);
        }
        let errors = self
            .shared
            .violations("creative/creative-status-changed-webhook.json", &event);
        assert!(
            errors.is_empty(),
            "the test seller's status event: {errors:?}\n{event}"
        );
        event
    }

    /// The seller decides `id` and fires the signed `creative.status_changed` event to the
    /// registration `push`; the buyer's HTTP status and body.
    pub async fn send_status_changed(
        &self,
        push: &Value,
        id: &str,
        from: &str,
        to: &str,
        note: Option<&str>,
    ) -> (u16, Value) {
        self.decide(id, to, note);
        let event = self.status_changed_event(id, from, to, note);
        let secret = push["authentication"]["credentials"]
            .as_str()
            .unwrap_or_default();
        let body = serde_json::to_vec(&event).unwrap_or_default();
        self.send_signed(
            push["url"].as_str().unwrap_or_default(),
            secret,
            Utc::now().timestamp(),
            &body,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(buy: &str, creative: &str, day: &str, imps: u64) -> DeliveryRow {
        DeliveryRow {
            media_buy_id: buy.into(),
            creative_id: creative.into(),
            day: day.into(),
            impressions: imps,
            clicks: 1,
            spend: 0.5,
            completed_views: None,
        }
    }

    #[test]
    fn delivery_pages_through_the_creatives_of_the_asked_days() {
        let mut config = SellerConfig::default();
        config.truth.delivery_rows = Some(vec![
            row("mb_1", "a", "2026-12-01", 10),
            row("mb_1", "b", "2026-12-01", 20),
            row("mb_1", "c", "2026-12-01", 30),
            row("mb_1", "a", "2026-12-02", 40),
        ]);
        config.truth.delivery_page = 2;
        config.truth.currency = "EUR".into();
        let args = json!({"media_buy_ids": ["mb_1"], "start_date": "2026-12-01", "end_date": "2026-12-01"});
        let first = delivery(&config, &args);
        assert_eq!(first["creatives"].as_array().unwrap().len(), 2);
        assert_eq!(first["pagination"]["has_more"], true);
        let mut next = args.clone();
        next["pagination"] = json!({"cursor": "2"});
        let second = delivery(&config, &next);
        assert_eq!(second["creatives"][0]["creative_id"], "c");
        assert_eq!(second["creatives"][0]["totals"]["impressions"], 30);
        assert_eq!(second["pagination"]["has_more"], false);
    }
}
