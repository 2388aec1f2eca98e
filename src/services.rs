//! The long-lived services the state hands out, with their settings from the configuration: the
//! job worker and its kinds, propagation, reconciliation, delivery fetching. The API (execute's
//! first attempt) and the worker processes take them from here, so both run with the same settings.

use crate::jobs::Kinds;
use crate::state::AppState;

/// A job worker over `state`'s queue, running every registered kind.
pub fn worker(state: &AppState) -> crate::jobs::Worker {
    let c = &state.config;
    crate::jobs::Worker {
        db: state.db.clone(),
        kinds: job_kinds(state),
        lease: std::time::Duration::from_secs(c.job_lease_secs.max(1)),
        retry_base: std::time::Duration::from_millis(c.job_retry_base_ms),
        retry_cap: std::time::Duration::from_secs(c.job_retry_cap_secs),
    }
}

/// The propagation settings of `state`, for the API's first attempts and for workers.
pub fn propagator(state: &AppState) -> crate::propagation::run::Propagator {
    let c = &state.config;
    crate::propagation::run::Propagator {
        db: state.db.clone(),
        objects: state.objects.clone(),
        outbound: state.outbound.clone(),
        lease: std::time::Duration::from_secs(c.job_lease_secs.max(1)),
        max_attempts: c.job_max_attempts.max(1),
        retry_base: std::time::Duration::from_millis(c.job_retry_base_ms),
        retry_cap: std::time::Duration::from_secs(c.job_retry_cap_secs),
        task_poll: std::time::Duration::from_millis(c.seller_task_poll_ms.max(1)),
        task_timeout: std::time::Duration::from_secs(c.seller_task_timeout_secs),
        webhooks: crate::propagation::run::Webhooks {
            base: state.tracker_base.clone(),
            signer: state.signer.clone(),
        },
    }
}

/// The reconciliation settings of `state` (`list_creatives` after webhooks, on demand, on schedule).
pub fn reconciler(state: &AppState) -> crate::propagation::reconcile::Reconciler {
    let c = &state.config;
    crate::propagation::reconcile::Reconciler {
        db: state.db.clone(),
        outbound: state.outbound.clone(),
        interval: std::time::Duration::from_secs(c.review_reconcile_secs.max(1)),
        max_attempts: c.job_max_attempts.max(1),
    }
}

/// The delivery settings of `state` (`get_creative_delivery`, hourly while a flight is live).
pub fn fetcher(state: &AppState) -> crate::delivery::Fetcher {
    let c = &state.config;
    crate::delivery::Fetcher {
        db: state.db.clone(),
        outbound: state.outbound.clone(),
        interval: std::time::Duration::from_secs(c.delivery_fetch_secs.max(1)),
        max_attempts: c.job_max_attempts.max(1),
    }
}

/// Every kind this service runs. A new kind is one more `.with(...)` here.
pub fn job_kinds(state: &AppState) -> Kinds {
    Kinds::new()
        .with(crate::propagation::Propagate(propagator(state)))
        .with(crate::propagation::reconcile::Reconcile(reconciler(state)))
        .with(crate::delivery::FetchDelivery(fetcher(state)))
        .with(crate::storefront::review::forward::Forward {
            db: state.db.clone(),
            outbound: state.outbound.clone(),
            lease: std::time::Duration::from_secs(state.config.job_lease_secs.max(1)),
            task_poll: std::time::Duration::from_millis(state.config.seller_task_poll_ms.max(1)),
            task_timeout: std::time::Duration::from_secs(state.config.seller_task_timeout_secs),
        })
        .with(crate::storefront::review::webhook::SendWebhook {
            db: state.db.clone(),
            outbound: crate::storefront::review::webhook_outbound(state),
            policy: crate::storefront::review::callback_policy(&state.config),
        })
}
