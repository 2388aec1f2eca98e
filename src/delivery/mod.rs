//! Delivery flowing back from sellers: a durable job (`fetch_delivery`, one per campaign and seller)
//! asks the seller's `get_creative_delivery` for its media buy, one flight day at a time (AdCP's
//! answer has no daily breakdown, so a day is asked as its own period), follows the answer's
//! page-style pagination to the end and stores the day whole. Queued hourly while a flight is live
//! (`DELIVERY_FETCH_SECS`) and on demand (`POST /campaigns/:id/delivery/refresh`). The report over
//! what is stored is `report.rs`.

pub mod report;
pub mod rollup;
pub mod rows;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::NaiveDate;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::adcp::mcp::{McpClient, McpError};
use crate::ids::{CampaignId, CustomerId, SalesAgentId};
use crate::jobs::queue::{Job, NewJob};
use crate::jobs::{JobKind, Outcome};
use crate::outbound::Outbound;
use crate::propagation::calls::CallError;
use crate::propagation::reconcile::account;
use crate::store::{campaigns, delivery as store, media_buys, sales_agents, Db};
use report::SellerRow;

/// Creatives per page asked of a seller (AdCP pagination `maximum`).
const PAGE: usize = 100;
/// A seller that keeps saying `has_more` is cut off here.
const MAX_PAGES: usize = 1000;
/// Days before today that are asked again on every run: sellers restate recent delivery.
const RESTATED_DAYS: i64 = 2;

#[derive(Clone)]
pub struct Fetcher {
    pub db: Db,
    pub outbound: Outbound,
    pub interval: Duration,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Payload {}

pub struct FetchDelivery(pub Fetcher);

impl JobKind for FetchDelivery {
    const NAME: &'static str = "fetch_delivery";
    type Payload = Payload;

    fn run<'a>(&'a self, job: &'a Job, _: &'a str, _: Payload) -> BoxFuture<'a, Outcome> {
        async move {
            match self.0.run(job).await {
                Ok(days) => {
                    tracing::info!(job = %job.id, days, "delivery fetched");
                    Outcome::Done
                }
                Err(e) if e.is_transient() => Outcome::Retry {
                    error: e.to_string(),
                    retry_after: e.retry_after(),
                },
                Err(e) => Outcome::failed(e.to_string()),
            }
        }
        .boxed()
    }
}

/// A flight bound as a UTC day: RFC 3339 or a plain date; `asap` and anything else is `None`.
fn day_of(raw: &str) -> Option<NaiveDate> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc).date_naive())
        .ok()
        .or_else(|| {
            raw.get(..10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        })
}

/// The days to ask a seller about: each flight day up to today not fetched yet, and the last
/// [`RESTATED_DAYS`] days and today again.
pub fn days_to_fetch(
    start: NaiveDate,
    end: NaiveDate,
    today: NaiveDate,
    fetched: &BTreeSet<String>,
) -> Vec<NaiveDate> {
    let last = end.min(today);
    let mut out = Vec::new();
    let mut d = start;
    while d <= last {
        let recent = (today - d).num_days() <= RESTATED_DAYS;
        if recent || !fetched.contains(&d.to_string()) {
            out.push(d);
        }
        d = match d.succ_opt() {
            Some(n) => n,
            None => break,
        };
    }
    out
}

/// A figure of the answer: absent is `None`; present, it must be a number from 0 to
/// [`rollup::MAX_FIGURE`] (AdCP's minimum is 0; the bound keeps the roll-up's integers in range).
fn num(v: &Value, key: &str) -> Result<Option<f64>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_f64()
            .filter(|n| (0.0..=rollup::MAX_FIGURE).contains(n))
            .map(Some)
            .ok_or_else(|| format!("`{key}` is not a number from 0 to {}", rollup::MAX_FIGURE)),
    }
}

/// A page's rows, its reporting period (start, end), and where the next page starts, if any.
pub type Page = (Vec<SellerRow>, (String, String), Option<usize>);

/// One `get_creative_delivery` page, checked against what `creative/get-creative-delivery-response.json`
/// requires: its rows (per creative, in its currency), its reporting period, and the offset of the
/// next page if the seller says there is one.
pub fn read_page(answer: &Value, agent: &str, day: &str) -> Result<Page, String> {
    if answer.get("creatives").is_none() {
        if let Some(errors) = answer.get("errors").and_then(Value::as_array) {
            return Err(crate::propagation::calls::summary(errors));
        }
    }
    for key in ["reporting_period", "currency", "creatives"] {
        if answer.get(key).is_none() {
            return Err(format!("the answer has no `{key}`, which AdCP requires"));
        }
    }
    let currency = answer["currency"]
        .as_str()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .ok_or("`currency` is not an ISO 4217 code")?;
    let period = &answer["reporting_period"];
    let (Some(ps), Some(pe)) = (
        period.get("start").and_then(Value::as_str),
        period.get("end").and_then(Value::as_str),
    ) else {
        return Err("reporting_period needs start and end".into());
    };
    let items = answer["creatives"]
        .as_array()
        .ok_or("`creatives` is not an array")?;
    let mut rows = Vec::with_capacity(items.len());
    for c in items {
        let id = c
            .get("creative_id")
            .and_then(Value::as_str)
            .ok_or("a creative has no creative_id")?;
        if c.get("variants").is_none() {
            return Err("a creative has no `variants`, which AdCP requires".into());
        }
        let t = c.get("totals").cloned().unwrap_or(Value::Null);
        let q = t.get("quartile_data").cloned().unwrap_or(Value::Null);
        rows.push(SellerRow {
            sales_agent_id: agent.to_owned(),
            creative_id: id.to_owned(),
            day: day.to_owned(),
            currency: currency.to_owned(),
            impressions: num(&t, "impressions")?.unwrap_or(0.0),
            clicks: num(&t, "clicks")?.unwrap_or(0.0),
            spend: num(&t, "spend")?.unwrap_or(0.0),
            completed_views: num(&t, "completed_views")?,
            quartiles: [
                num(&q, "q1_views")?,
                num(&q, "q2_views")?,
                num(&q, "q3_views")?,
                num(&q, "q4_views")?,
            ],
        });
    }
    let next = match answer.get("pagination") {
        Some(p) if p.get("has_more").and_then(Value::as_bool) == Some(true) => {
            let offset = p.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
            if items.is_empty() {
                return Err("has_more on an empty page".into());
            }
            Some(offset + items.len())
        }
        _ => None,
    };
    Ok((rows, (ps.to_owned(), pe.to_owned()), next))
}

impl Fetcher {
    /// Fetches the days due for `job`'s seller and campaign; how many days were stored.
    async fn run(&self, job: &Job) -> Result<usize, CallError> {
        let (Some(campaign_id), Some(agent_id)) = (&job.campaign_id, &job.sales_agent_id) else {
            return Err(CallError::Invalid("job names no campaign or seller".into()));
        };
        let storage = |e: anyhow::Error| McpError::Transport(format!("storage: {e:#}"));
        let customer = CustomerId::from_db(job.customer_id.clone());
        let campaign_ref = CampaignId::from_db(campaign_id.clone());
        let agent_ref = SalesAgentId::from_db(agent_id.clone());
        let Some(campaign) = campaigns::get(&self.db, &customer, &campaign_ref)
            .await
            .map_err(storage)?
        else {
            return Ok(0);
        };
        let Some(agent) = sales_agents::get(&self.db, &customer, &agent_ref)
            .await
            .map_err(|e| storage(e.into()))?
        else {
            return Ok(0);
        };
        let Some(buy) = media_buys::get(&self.db, &campaign_ref, &agent_ref)
            .await
            .map_err(storage)?
        else {
            return Ok(0);
        };
        let start = campaign
            .start_time
            .as_deref()
            .and_then(day_of)
            .or_else(|| day_of(&buy.created_at));
        let end = campaign.end_time.as_deref().and_then(day_of);
        let (Some(start), Some(end)) = (start, end) else {
            return Ok(0);
        };
        let today = chrono::Utc::now().date_naive();
        let fetched = store::fetched_days(&self.db, campaign_id, agent_id)
            .await
            .map_err(|e| storage(e.into()))?;
        let days = days_to_fetch(start, end, today, &fetched);
        if days.is_empty() {
            return Ok(0);
        }
        let mut client = McpClient::connect(
            &self.outbound,
            &agent.endpoint_url,
            agent.auth_token.as_ref(),
        )
        .await?;
        let acct = account(agent.account_id.as_deref(), &campaign.brand_domain);
        for day in &days {
            let day = day.to_string();
            let mut rows = Vec::new();
            let mut period = (String::new(), String::new());
            let mut offset: Option<usize> = None;
            for page in 0.. {
                if page == MAX_PAGES {
                    return Err(CallError::Invalid(format!("more than {MAX_PAGES} pages")));
                }
                let mut pagination = json!({"max_results": PAGE});
                // The request's pagination is cursor-based and the answer's page-based (AdCP
                // 3.1.19 defines them so): the next page's cursor is the offset it starts at.
                if let Some(o) = offset {
                    pagination["cursor"] = json!(o.to_string());
                }
                let request = json!({"account": acct, "media_buy_ids": [buy.media_buy_id],
                    "start_date": day, "end_date": day, "pagination": pagination});
                let answer = client.call_tool("get_creative_delivery", request).await?;
                let (page_rows, p, next) =
                    read_page(&answer, agent_id, &day).map_err(CallError::Invalid)?;
                rows.extend(page_rows);
                period = p;
                match next {
                    Some(n) if offset.is_none_or(|o| n > o) => offset = Some(n),
                    _ => break,
                }
            }
            store::replace_day(
                &self.db,
                campaign_id,
                agent_id,
                &buy.media_buy_id,
                &day,
                (&period.0, &period.1),
                &rows,
            )
            .await
            .map_err(|e| storage(e.into()))?;
        }
        Ok(days.len())
    }
}

/// A delivery fetch for `agent`'s media buy in `campaign`, in the campaign and seller's lane.
pub fn new_job(
    customer: CustomerId,
    campaign: CampaignId,
    agent: SalesAgentId,
    max_attempts: u32,
) -> anyhow::Result<NewJob> {
    Ok(NewJob::of::<FetchDelivery>(customer, &Payload {}, max_attempts)?.in_lane(campaign, agent))
}

/// Queues a fetch for each media buy of `campaign` (all campaigns whose flight is live at `now`
/// when `None`) that has none queued yet; the number queued.
pub async fn enqueue_fetches(
    db: &Db,
    campaign: Option<&str>,
    max_attempts: u32,
) -> anyhow::Result<Vec<Job>> {
    use sqlx::Row;
    let now = crate::store::db::now();
    let rows = sqlx::query(
        "SELECT b.customer_id, b.campaign_id, b.sales_agent_id FROM media_buys b \
         JOIN campaigns c ON c.id = b.campaign_id \
         WHERE ($1 = '' AND (c.start_time IS NULL OR c.start_time = 'asap' OR c.start_time <= $2) \
                AND c.end_time IS NOT NULL AND c.end_time >= $3) OR b.campaign_id = $1 \
         ORDER BY b.campaign_id, b.sales_agent_id",
    )
    .bind(campaign.unwrap_or(""))
    .bind(&now)
    // A flight that ended yesterday still gets its last day's restatement.
    .bind(
        (chrono::Utc::now() - chrono::Duration::days(RESTATED_DAYS + 1))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
    .fetch_all(&db.pool)
    .await?;
    let mut queued = Vec::new();
    for r in rows {
        let (customer, campaign, agent): (String, String, String) = (
            r.try_get("customer_id")?,
            r.try_get("campaign_id")?,
            r.try_get("sales_agent_id")?,
        );
        let waiting: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = $1 AND campaign_id = $2 AND sales_agent_id = $3 \
             AND status IN ('pending', 'running')",
        )
        .bind(FetchDelivery::NAME)
        .bind(&campaign)
        .bind(&agent)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
        if waiting > 0 {
            continue;
        }
        let job = new_job(
            CustomerId::from_db(customer),
            CampaignId::from_db(campaign),
            SalesAgentId::from_db(agent),
            max_attempts,
        )?;
        queued.push(crate::jobs::queue::enqueue(&db.pool, job).await?);
    }
    Ok(queued)
}

/// Queues the live flights' fetches every `interval` until aborted.
pub fn spawn_scheduler(f: Fetcher) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(f.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = enqueue_fetches(&f.db, None, f.max_attempts).await {
                tracing::warn!(error = %e, "scheduling delivery fetches failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn days_fetched_long_ago_are_not_asked_again_recent_ones_are() {
        let fetched: BTreeSet<String> = ["2026-12-01", "2026-12-02", "2026-12-05"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let days = days_to_fetch(d("2026-12-01"), d("2026-12-31"), d("2026-12-06"), &fetched);
        let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            days,
            ["2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"]
        );
        assert!(
            days_to_fetch(d("2026-12-10"), d("2026-12-31"), d("2026-12-06"), &fetched).is_empty()
        );
        assert_eq!(day_of("2026-12-01T23:30:00-02:00"), Some(d("2026-12-02")));
        assert_eq!(day_of("asap"), None);
    }

    #[test]
    fn pages_are_checked_and_say_where_the_next_starts() {
        let page = json!({"currency": "EUR", "reporting_period": {"start": "a", "end": "b"},
            "creatives": [{"creative_id": "c1", "variants": [], "totals": {"impressions": 10, "clicks": 1, "spend": 0.5,
                "quartile_data": {"q1_views": 4}}}],
            "pagination": {"limit": 1, "offset": 3, "has_more": true}});
        let (rows, _, next) = read_page(&page, "sa", "2026-12-01").unwrap();
        assert_eq!(
            (rows[0].impressions, rows[0].quartiles[0], next),
            (10.0, Some(4.0), Some(4))
        );
        let mut bad = page.clone();
        bad["creatives"][0]["totals"]["impressions"] = json!(-1);
        assert!(read_page(&bad, "sa", "d").is_err());
        bad["creatives"][0]["totals"]["impressions"] = json!(1e300);
        assert!(read_page(&bad, "sa", "d").is_err());
        let mut bad = page.clone();
        bad["currency"] = json!("euro");
        assert!(read_page(&bad, "sa", "d").is_err());
        let mut bad = page.clone();
        bad["creatives"][0]
            .as_object_mut()
            .unwrap()
            .remove("variants");
        assert!(read_page(&bad, "sa", "d").is_err());
    }
}
