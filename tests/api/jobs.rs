//! The durable job queue propagation runs on, on both backends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use creative_manifests::ids::{CampaignId, SalesAgentId};
use creative_manifests::jobs::queue::{self, JobStatus, NewJob};
use creative_manifests::jobs::{JobKind, Outcome};
use creative_manifests::store::customers;

use crate::helpers::TestApp;

async fn job(app: &TestApp, campaign: &CampaignId, max_attempts: u32) -> queue::Job {
    lane_job(app, campaign, None, max_attempts).await
}

/// A job of one campaign and seller: the lane its jobs run in one at a time.
async fn lane_job(
    app: &TestApp,
    campaign: &CampaignId,
    seller: Option<&SalesAgentId>,
    max_attempts: u32,
) -> queue::Job {
    let customer = customers::ensure_customer(&app.state.db, "default")
        .await
        .unwrap();
    queue::enqueue(
        &app.state.db.pool,
        NewJob {
            kind: "sync_creatives".into(),
            customer: customer.id,
            campaign: Some(campaign.clone()),
            sales_agent: seller.cloned(),
            payload: json!({"creative_ids": ["cr_1"]}),
            max_attempts,
            dedup_key: None,
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
        Some(JobStatus::Pending)
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
        Some(JobStatus::Dead),
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
        Some(JobStatus::Pending)
    );
    let b = queue::claim(db, "w", LEASE).await.unwrap().unwrap();
    assert_eq!(
        queue::fail(db, &b, "w", "timeout", true, Duration::ZERO)
            .await
            .unwrap(),
        Some(JobStatus::Dead)
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
    assert_eq!(
        queue::fail(db, &stale, "dead-worker", "late", false, Duration::ZERO)
            .await
            .unwrap(),
        None,
        "a failure it no longer holds is not recorded (nor reported as recorded)"
    );
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

#[tokio::test]
async fn a_lane_runs_one_job_at_a_time_even_when_a_newer_one_started_first() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let db = &app.state.db;
    let (campaign, seller) = (CampaignId::new(), SalesAgentId::new());
    // Two executes: the second one's job got in and started before the first one's row existed.
    let newer = lane_job(&app, &campaign, Some(&seller), 3).await;
    let running = queue::claim_id(db, &newer.id, "api-2", LEASE)
        .await
        .unwrap()
        .expect("alone in its lane");
    let older = lane_job(&app, &campaign, Some(&seller), 3).await;
    sqlx::query("UPDATE jobs SET id = 'job_00000000000000000000000000000000' WHERE id = $1")
        .bind(&older.id)
        .execute(&db.pool)
        .await
        .unwrap();
    let older_id = "job_00000000000000000000000000000000";

    assert!(
        queue::claim_id(db, older_id, "api-1", LEASE)
            .await
            .unwrap()
            .is_none(),
        "an older job does not start beside a running one of its lane"
    );
    assert!(queue::claim(db, "w", LEASE).await.unwrap().is_none());
    let twice = sqlx::query("UPDATE jobs SET status = 'running' WHERE id = $1")
        .bind(older_id)
        .execute(&db.pool)
        .await;
    assert!(
        twice.is_err(),
        "the database itself refuses a second running job in a lane"
    );

    // Another campaign's lane, and jobs with no seller, are not held up.
    let elsewhere = lane_job(&app, &CampaignId::new(), Some(&seller), 3).await;
    let claimed = queue::claim(db, "w", LEASE)
        .await
        .unwrap()
        .expect("other lane");
    assert_eq!(claimed.id, elsewhere.id);

    assert!(queue::succeed(db, &running, "api-2").await.unwrap());
    let next = queue::claim(db, "w", LEASE)
        .await
        .unwrap()
        .expect("the lane is free");
    assert_eq!(next.id, older_id);
}

#[tokio::test]
async fn racing_executes_in_one_lane_start_one_job() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let (campaign, seller) = (CampaignId::new(), SalesAgentId::new());
    // Each racer adds its job and at once asks to start it, as an execute request does.
    let mut racers = Vec::new();
    for n in 0..16 {
        let (app_db, campaign, seller) = (app.state.db.clone(), campaign.clone(), seller.clone());
        let customer = customers::ensure_customer(&app_db, "default")
            .await
            .unwrap();
        racers.push(tokio::spawn(async move {
            let j = queue::enqueue_held(
                &app_db,
                NewJob {
                    kind: "propagate".into(),
                    customer: customer.id,
                    campaign: Some(campaign),
                    sales_agent: Some(seller),
                    payload: json!({}),
                    max_attempts: 1,
                    dedup_key: None,
                },
                LEASE,
            )
            .await
            .unwrap();
            queue::claim_id(&app_db, &j.id, &format!("api-{n}"), LEASE)
                .await
                .unwrap()
        }));
    }
    let mut started = 0;
    for r in racers {
        started += usize::from(r.await.unwrap().is_some());
    }
    assert_eq!(started, 1, "one job of the lane runs, the others wait");
    let running: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'running'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(running, 1);
}

#[test]
fn a_separate_worker_is_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_creative-manifests"))
        .arg("worker")
        .env("DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("OBJECT_STORE_URL")
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("separate workers need PostgreSQL"),
        "{stderr}"
    );
}

/// Adding a kind of job, as the coming kinds will: a name, a payload type and a run, registered
/// beside the service's own kinds. This one is registered in the tests only.
struct Echo {
    heard: Arc<Mutex<Vec<String>>>,
}

#[derive(Serialize, Deserialize)]
struct Say {
    word: String,
}

impl JobKind for Echo {
    const NAME: &'static str = "test_echo";
    type Payload = Say;

    fn run<'a>(&'a self, job: &'a queue::Job, _: &'a str, say: Say) -> BoxFuture<'a, Outcome> {
        async move {
            self.heard.lock().unwrap().push(say.word.clone());
            // "flaky" fails its first attempt, as a seller's 503 would.
            if say.word == "flaky" && job.attempts == 1 {
                return Outcome::Retry {
                    error: "HTTP 503".into(),
                    retry_after: None,
                };
            }
            Outcome::Done
        }
        .boxed()
    }
}

#[tokio::test]
async fn a_kind_registered_in_the_tests_runs_to_empty_retries_included() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let customer = customers::ensure_customer(&app.state.db, "default")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for word in ["hello", "flaky"] {
        let say = Say { word: word.into() };
        let new = NewJob::of::<Echo>(customer.id.clone(), &say, 3).unwrap();
        ids.push(queue::enqueue(&app.state.db.pool, new).await.unwrap().id);
    }
    let heard = Arc::new(Mutex::new(Vec::new()));
    let mut worker = creative_manifests::services::worker(&app.state);
    worker.kinds = worker.kinds.with(Echo {
        heard: heard.clone(),
    });

    app.run_jobs_with(worker).await;

    let mut heard = heard.lock().unwrap().clone();
    heard.sort();
    assert_eq!(
        heard,
        ["flaky", "flaky", "hello"],
        "one retry of the flaky one"
    );
    for (id, attempts) in ids.iter().zip([1, 2]) {
        let job = queue::get(&app.state.db, id).await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Succeeded);
        assert_eq!(job.attempts, attempts);
    }
}

#[tokio::test]
async fn a_job_of_a_kind_nobody_registered_dies_saying_so() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    app.expect_dead_jobs();
    let j = job(&app, &CampaignId::new(), 3).await;
    app.run_jobs().await;
    let j = queue::get(&app.state.db, &j.id).await.unwrap().unwrap();
    assert_eq!(j.status, JobStatus::Dead);
    assert_eq!(j.attempts, 1, "not retried");
    let error = j.last_error.unwrap();
    assert!(
        error.contains("unknown job kind 'sync_creatives'") && error.contains("propagate"),
        "{error}"
    );
}

#[tokio::test]
#[should_panic(expected = "jobs died that the test did not expect")]
async fn running_jobs_to_empty_fails_a_test_that_leaves_a_dead_job_unexpectedly() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    job(&app, &CampaignId::new(), 3).await;
    app.run_jobs().await;
}
