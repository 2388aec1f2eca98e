//! The durable job queue propagation runs on, on both backends.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use creative_manifests::ids::CampaignId;
use creative_manifests::propagation::queue::{self, JobStatus, NewJob};
use creative_manifests::store::customers;

use crate::helpers::TestApp;

async fn job(app: &TestApp, campaign: &CampaignId, max_attempts: u32) -> queue::Job {
    let customer = customers::ensure_customer(&app.state.db, "default")
        .await
        .unwrap();
    queue::enqueue(
        &app.state.db.pool,
        NewJob {
            kind: "sync_creatives".into(),
            customer: customer.id,
            campaign: Some(campaign.clone()),
            sales_agent: None,
            payload: json!({"creative_ids": ["cr_1"]}),
            max_attempts,
        },
    )
    .await
    .unwrap()
}

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_job_is_claimed_once_retried_with_the_same_key_and_dies_after_its_last_attempt() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let db = &app.state.db;
    let campaign = CampaignId::new();
    let created = job(&app, &campaign, 3).await;

    let first = queue::claim(db, "w1", LEASE)
        .await
        .unwrap()
        .expect("due now");
    assert_eq!(
        (first.id.as_str(), first.attempts, first.status),
        (created.id.as_str(), 1, JobStatus::Running)
    );
    assert!(
        queue::claim(db, "w2", LEASE).await.unwrap().is_none(),
        "a leased job is not handed out twice"
    );

    assert_eq!(
        queue::fail(db, &first, "w1", "HTTP 503", true, Duration::from_secs(60))
            .await
            .unwrap(),
        JobStatus::Pending
    );
    assert!(
        queue::claim(db, "w1", LEASE).await.unwrap().is_none(),
        "not due before its backoff"
    );
    sqlx::query("UPDATE jobs SET next_attempt_at = '2000-01-01T00:00:00.000Z'")
        .execute(&db.pool)
        .await
        .unwrap();
    let second = queue::claim(db, "w2", LEASE)
        .await
        .unwrap()
        .expect("due again");
    assert_eq!(second.attempts, 2);
    assert_eq!(
        second.idempotency_key, created.idempotency_key,
        "the key is fixed at creation"
    );

    assert_eq!(
        queue::fail(db, &second, "w2", "invalid creative", false, Duration::ZERO)
            .await
            .unwrap(),
        JobStatus::Dead,
        "a validation error is not retried"
    );
    let jobs = queue::for_campaign(
        db,
        &customers::ensure_customer(db, "default").await.unwrap().id,
        &campaign,
    )
    .await
    .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Dead);
    assert_eq!(jobs[0].last_error.as_deref(), Some("invalid creative"));
    assert!(
        queue::claim(db, "w3", LEASE).await.unwrap().is_none(),
        "dead jobs stay dead"
    );
}

#[tokio::test]
async fn transient_failures_stop_at_max_attempts() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let db = &app.state.db;
    job(&app, &CampaignId::new(), 2).await;
    let a = queue::claim(db, "w", LEASE).await.unwrap().unwrap();
    assert_eq!(
        queue::fail(db, &a, "w", "timeout", true, Duration::ZERO)
            .await
            .unwrap(),
        JobStatus::Pending
    );
    let b = queue::claim(db, "w", LEASE).await.unwrap().unwrap();
    assert_eq!(
        queue::fail(db, &b, "w", "timeout", true, Duration::ZERO)
            .await
            .unwrap(),
        JobStatus::Dead
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_worker_cannot_finish_it() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let db = &app.state.db;
    job(&app, &CampaignId::new(), 5).await;
    let stale = queue::claim(db, "dead-worker", Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let taken = queue::claim(db, "w2", LEASE)
        .await
        .unwrap()
        .expect("lease expired");
    assert_eq!((taken.id.as_str(), taken.attempts), (stale.id.as_str(), 2));
    assert!(!queue::succeed(db, &stale, "dead-worker").await.unwrap());
    assert!(queue::succeed(db, &taken, "w2").await.unwrap());
    assert!(queue::claim(db, "w3", LEASE).await.unwrap().is_none());
}

#[tokio::test]
async fn concurrent_workers_never_take_the_same_job() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let campaign = CampaignId::new();
    for _ in 0..40 {
        job(&app, &campaign, 1).await;
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let db = app.state.db.clone();
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = queue::claim(&db, &format!("w{w}"), LEASE).await.unwrap() {
                got.push(j.id.clone());
                queue::succeed(&db, &j, &format!("w{w}")).await.unwrap();
            }
            got
        }));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for w in workers {
        for id in w.await.unwrap() {
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 40, "every job ran");
    assert!(seen.values().all(|n| *n == 1), "no job ran twice");
}
