//! The closed set of job kinds, and the one place they are listed (`services::job_kinds`). A stored kind
//! no entry knows is an error the worker surfaces (the job dies saying so), never a default.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{Job, JobKind, Outcome};

/// A kind with its payload type erased, so kinds of different payloads share one table.
trait Runner: Send + Sync {
    fn run<'a>(&'a self, job: &'a Job, worker: &'a str) -> BoxFuture<'a, Outcome>;
}

struct Erased<K>(K);

impl<K: JobKind> Runner for Erased<K> {
    fn run<'a>(&'a self, job: &'a Job, worker: &'a str) -> BoxFuture<'a, Outcome> {
        match serde_json::from_value::<K::Payload>(job.payload.clone()) {
            Ok(payload) => self.0.run(job, worker, payload),
            Err(e) => {
                let error = format!("job payload of kind '{}': {e}", K::NAME);
                async move { Outcome::Failed { error } }.boxed()
            }
        }
    }
}

/// Job kinds by name.
#[derive(Clone, Default)]
pub struct Kinds {
    by_name: BTreeMap<&'static str, Arc<dyn Runner>>,
}

impl Kinds {
    pub fn new() -> Kinds {
        Kinds::default()
    }

    /// Adds `kind`. Two kinds of one name are a programming error, caught at start-up.
    #[must_use]
    pub fn with<K: JobKind>(mut self, kind: K) -> Kinds {
        let previous = self.by_name.insert(K::NAME, Arc::new(Erased(kind)));
        assert!(
            previous.is_none(),
            "job kind '{}' registered twice",
            K::NAME
        );
        self
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_name.keys().copied()
    }

    /// Runs `job` by its kind; a kind not registered fails it for good, saying so.
    pub async fn run(&self, job: &Job, worker: &str) -> Outcome {
        match self.by_name.get(job.kind.as_str()) {
            Some(runner) => runner.run(job, worker).await,
            None => Outcome::failed(format!(
                "unknown job kind '{}' (known: {})",
                job.kind,
                self.names().collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;
    use crate::jobs::JobStatus;

    /// Adding a kind, as a newcomer would: a name, a payload type, a run; then one `.with(...)`.
    struct Greet(Arc<Mutex<Vec<String>>>);

    #[derive(Serialize, Deserialize)]
    struct Hello {
        to: String,
    }

    impl JobKind for Greet {
        const NAME: &'static str = "greet";
        type Payload = Hello;

        fn run<'a>(&'a self, _: &'a Job, _: &'a str, payload: Hello) -> BoxFuture<'a, Outcome> {
            async move {
                self.0.lock().unwrap().push(payload.to);
                Outcome::Done
            }
            .boxed()
        }
    }

    fn job(kind: &str, payload: serde_json::Value) -> Job {
        Job {
            id: "job_1".into(),
            kind: kind.into(),
            customer_id: "cus_1".into(),
            campaign_id: None,
            sales_agent_id: None,
            payload,
            idempotency_key: "k".into(),
            status: JobStatus::Running,
            attempts: 1,
            max_attempts: 3,
            next_attempt_at: String::new(),
            lease_owner: Some("w".into()),
            lease_expires_at: None,
            last_error: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[tokio::test]
    async fn a_registered_kind_runs_with_its_payload_decoded() {
        let greeted = Arc::new(Mutex::new(Vec::new()));
        let kinds = Kinds::new().with(Greet(greeted.clone()));
        let outcome = kinds.run(&job("greet", json!({"to": "ada"})), "w").await;
        assert_eq!(outcome, Outcome::Done);
        assert_eq!(*greeted.lock().unwrap(), vec!["ada".to_owned()]);
    }

    #[tokio::test]
    async fn an_unknown_kind_or_a_payload_of_the_wrong_shape_fails_the_job_for_good() {
        let kinds = Kinds::new().with(Greet(Arc::default()));
        let Outcome::Failed { error } = kinds.run(&job("gret", json!({})), "w").await else {
            panic!("an unknown kind must fail");
        };
        assert!(
            error.contains("unknown job kind 'gret'") && error.contains("greet"),
            "{error}"
        );
        let Outcome::Failed { error } = kinds.run(&job("greet", json!({"to": 1})), "w").await
        else {
            panic!("a bad payload must fail");
        };
        assert!(error.contains("job payload of kind 'greet'"), "{error}");
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn one_name_cannot_be_registered_twice() {
        let _ = Kinds::new()
            .with(Greet(Arc::default()))
            .with(Greet(Arc::default()));
    }
}
