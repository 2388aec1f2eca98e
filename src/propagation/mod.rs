//! Propagation of manifests to sales agents over AdCP: the durable job queue, which manifests each
//! seller gets, the AdCP calls, one job's run, and the worker loop.

pub mod calls;
pub mod job;
pub mod packages;
pub mod queue;
pub mod run;
pub mod selection;
pub mod transport;
pub mod worker;

use sqlx::{Any, Row, Transaction};

use crate::ids::{CampaignId, CreativeId, CustomerId, SalesAgentId};
use queue::NewJob;
use run::{Payload, Reason, KIND};

/// Queues a re-sync of `creative` to every seller of the campaign that has a media buy or a
/// propagation under way, in the transaction that changes the creative: both commit, or neither.
pub async fn enqueue_resync(
    tx: &mut Transaction<'_, Any>,
    customer: &CustomerId,
    campaign: &CampaignId,
    creative: &CreativeId,
    reason: Reason,
    max_attempts: u32,
) -> anyhow::Result<usize> {
    let sellers: Vec<String> = sqlx::query(
        "SELECT sales_agent_id FROM media_buys WHERE campaign_id = $1 \
         UNION SELECT sales_agent_id FROM jobs WHERE campaign_id = $1 AND kind = $2 \
           AND status IN ('pending', 'running') AND sales_agent_id IS NOT NULL",
    )
    .bind(campaign.as_str().to_owned())
    .bind(KIND)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.try_get("sales_agent_id"))
    .collect::<Result<_, _>>()?;
    for seller in &sellers {
        queue::enqueue(
            &mut **tx,
            NewJob {
                kind: KIND.into(),
                customer: customer.clone(),
                campaign: Some(campaign.clone()),
                sales_agent: Some(SalesAgentId::from_db(seller.clone())),
                payload: serde_json::json!(Payload::new(reason, Some(vec![creative.to_string()]))),
                max_attempts,
            },
        )
        .await?;
    }
    Ok(sellers.len())
}
