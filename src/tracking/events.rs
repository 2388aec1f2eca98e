//! Recording tracker hits without slowing the answer: handlers hand events to a bounded queue; one
//! task writes them in batches. Under overload events are dropped (and counted), never the redirect.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sqlx::Row;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::store::db::{from_json, now, to_json, Backend, Db};

const QUEUE: usize = 10_000;

/// Parameters recorded per hit, and their lengths (characters): macros a format substitutes are
/// short ids and numbers; what is beyond is dropped or cut, so a hit's row stays small.
const MAX_PARAMS: usize = 20;
const MAX_PARAM_NAME: usize = 64;
const MAX_PARAM_VALUE: usize = 256;

/// The parameters worth recording: at most [`MAX_PARAMS`] (by name order), names over
/// [`MAX_PARAM_NAME`] dropped, values cut to [`MAX_PARAM_VALUE`].
fn capped(macros: BTreeMap<String, String>) -> BTreeMap<String, String> {
    macros
        .into_iter()
        .filter(|(name, _)| name.chars().count() <= MAX_PARAM_NAME)
        .take(MAX_PARAMS)
        .map(|(name, value)| {
            let value = match value.char_indices().nth(MAX_PARAM_VALUE) {
                Some((cut, _)) => value[..cut].to_owned(),
                None => value,
            };
            (name, value)
        })
        .collect()
}
const BATCH: usize = 2_000;

/// What a tracker records: `Event::kind` as the OpenAPI document names its values.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a description, never constructed
pub enum EventKind {
    Impression,
    Click,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub creative_id: String,
    #[schema(required = true)]
    pub campaign_id: Option<String>,
    #[schema(value_type = EventKind)]
    pub kind: &'static str,
    pub macros: BTreeMap<String, String>,
    pub at: String,
    /// Events with the same key are recorded once (see `manifest::tracking::click_dedup_key`).
    #[serde(skip)]
    #[schema(required = true)]
    pub dedup_key: Option<String>,
}

#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Event>,
    dropped: Arc<AtomicU64>,
    /// Set once at shutdown: the writer takes no more events and writes what it holds.
    stop: Arc<watch::Sender<bool>>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl EventSink {
    /// Starts the writer; it runs until [`EventSink::flush`] or until every sink is dropped.
    pub fn start(db: Db) -> EventSink {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (stop, stopped) = watch::channel(false);
        let writer = tokio::spawn(write_loop(db, rx, stopped));
        EventSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(stop),
            writer: Arc::new(Mutex::new(Some(writer))),
        }
    }

    /// At shutdown, once no request is in flight: every event queued is written before this
    /// returns, so a hit answered 200 is in the database. Events recorded afterwards are dropped
    /// (and counted).
    pub async fn flush(&self) {
        self.stop.send_replace(true);
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = writer {
            if let Err(e) = w.await {
                tracing::error!(error = %e, "the tracking event writer failed");
            }
        }
    }

    pub fn record(
        &self,
        creative_id: String,
        campaign_id: Option<String>,
        kind: &'static str,
        macros: BTreeMap<String, String>,
        dedup_key: Option<String>,
    ) {
        let event = Event {
            creative_id,
            campaign_id,
            kind,
            macros: capped(macros),
            at: now(),
            dedup_key,
        };
        if self.tx.try_send(event).is_err() {
            crate::metrics::tracker_events("dropped", 1);
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "tracking event queue full; events dropped");
            }
        }
    }
}

async fn write_loop(db: Db, mut rx: mpsc::Receiver<Event>, mut stop: watch::Receiver<bool>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let n = tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => n,
            // Closed, the channel still yields what it holds, then 0: everything queued is written.
            _ = stop.wait_for(|s| *s), if !rx.is_closed() => {
                rx.close();
                continue;
            }
        };
        if n == 0 {
            break;
        }
        match write(&db, &batch).await {
            Ok(()) => crate::metrics::tracker_events("recorded", batch.len() as u64),
            Err(e) => {
                crate::metrics::tracker_events("dropped", batch.len() as u64);
                tracing::warn!(error = %e, events = batch.len(), "could not record tracking events");
            }
        }
        batch.clear();
    }
}

/// Rows per INSERT: seven binds a row keeps a statement far below either backend's bind limit,
/// and a hundred rows a statement is where the round trip stops mattering.
const ROWS_PER_INSERT: usize = 250;

/// Writes a batch of events and adds them to the roll-ups, in one transaction. The rows go in
/// a hundred per statement (a round trip per event was the writer's cost under load, and a
/// writer that falls behind drops events).
pub async fn write(db: &Db, events: &[Event]) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    let mut rollup = Rollup::default();
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let ids: Vec<String> = chunk
            .iter()
            .map(|_| uuid::Uuid::now_v7().simple().to_string())
            .collect();
        let sql = insert_sql(db.backend, chunk.len());
        let mut insert = sqlx::query_scalar::<_, String>(&sql);
        for (e, id) in chunk.iter().zip(&ids) {
            insert = insert
                .bind(id.clone())
                .bind(e.creative_id.clone())
                .bind(e.campaign_id.clone())
                .bind(e.kind)
                .bind(to_json(&e.macros))
                .bind(e.at.clone())
                .bind(e.dedup_key.clone());
        }
        let written: std::collections::HashSet<String> =
            insert.fetch_all(&mut *tx).await?.into_iter().collect();
        // A replayed click (same dedup key) wrote nothing and counts nothing.
        for (e, id) in chunk.iter().zip(&ids) {
            if written.contains(id) {
                rollup.add(e);
            }
        }
    }
    rollup.apply(&mut tx).await?;
    tx.commit().await
}

/// `INSERT` of `rows` events, answering the ids of the rows written: a row whose dedup key is
/// already there is skipped and not answered. PostgreSQL reads numbered placeholders only; SQLite
/// gets anonymous ones, because binding a numbered one looks its name up by walking the statement's
/// list of names (`sqlite3_bind_parameter_name`), quadratic in the placeholders: with 700 numbered
/// ones it was the writer's largest cost.
fn insert_sql(backend: Backend, rows: usize) -> String {
    const COLUMNS: usize = 7;
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=COLUMNS)
                .map(|c| match backend {
                    Backend::Postgres => format!("${}", r * COLUMNS + c),
                    Backend::Sqlite => "?".to_owned(),
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO tracking_events (id, creative_id, campaign_id, kind, macros, at, dedup_key) \
         VALUES {} ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
        values.join(", ")
    )
}

/// A batch's events counted per campaign, media buy, creative and UTC day: added to the
/// roll-ups (`tracking_daily` and what reports read, see `store::delivery::add_tracked`) once per
/// key per batch, in the batch's transaction, so the roll-ups never disagree with the events.
#[derive(Default)]
pub struct Rollup(BTreeMap<(String, String, String, String), (i64, i64)>);

impl Rollup {
    pub fn add(&mut self, e: &Event) {
        let entry = self
            .0
            .entry((
                e.campaign_id.clone().unwrap_or_default(),
                media_buy_of(&e.macros),
                e.creative_id.clone(),
                e.at.chars().take(10).collect(),
            ))
            .or_default();
        match e.kind {
            "click" => entry.1 += 1,
            _ => entry.0 += 1,
        }
    }

    /// Adds the counts to the roll-ups in `tx`.
    pub async fn apply(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> sqlx::Result<()> {
        crate::store::delivery::add_tracked(tx, &self.0).await
    }
}

/// The media buy a hit names (`mb`, the seller's `{MEDIA_BUY_ID}`); '' when absent or left
/// unfilled (the macro itself, braces and all).
pub fn media_buy_of(macros: &BTreeMap<String, String>) -> String {
    macros
        .get("mb")
        .filter(|v| !v.is_empty() && !v.contains('{') && !v.contains('%'))
        .cloned()
        .unwrap_or_default()
}

/// Counts and the latest events of one creative.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub impressions: i64,
    pub clicks: i64,
    pub recent: Vec<Event>,
}

pub async fn delivery(db: &Db, creative_id: &str) -> anyhow::Result<Delivery> {
    let count = |kind: &'static str| {
        sqlx::query(
            "SELECT COUNT(*) AS n FROM tracking_events WHERE creative_id = $1 AND kind = $2",
        )
        .bind(creative_id.to_owned())
        .bind(kind)
        .fetch_one(&db.pool)
    };
    let impressions: i64 = count("impression").await?.try_get("n")?;
    let clicks: i64 = count("click").await?.try_get("n")?;
    let recent = sqlx::query(
        "SELECT campaign_id, kind, macros, at FROM tracking_events WHERE creative_id = $1 ORDER BY at DESC, id DESC LIMIT 50",
    )
    .bind(creative_id.to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        let kind: String = r.try_get("kind")?;
        Ok(Event {
            creative_id: creative_id.to_owned(),
            campaign_id: r.try_get("campaign_id")?,
            kind: if kind == "click" { "click" } else { "impression" },
            macros: from_json(&r.try_get::<String, _>("macros")?)?,
            at: r.try_get("at")?,
            dedup_key: None,
        })
    })
    .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Delivery {
        impressions,
        clicks,
        recent,
    })
}

#[cfg(test)]
mod cap_tests {
    use super::*;

    #[test]
    fn the_insert_numbers_seven_placeholders_a_row() {
        let sql = insert_sql(Backend::Postgres, 2);
        assert!(
            sql.contains("VALUES ($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14) ON CONFLICT"),
            "{sql}"
        );
        assert!(sql.ends_with("RETURNING id"), "{sql}");
        let sql = insert_sql(Backend::Sqlite, 2);
        assert!(
            sql.contains("VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?) ON CONFLICT"),
            "{sql}"
        );
    }

    #[test]
    fn recorded_parameters_are_capped_in_count_and_length() {
        let mut many: BTreeMap<String, String> =
            (0..100).map(|n| (format!("p{n:03}"), "v".into())).collect();
        many.insert("x".repeat(65), "dropped".into());
        many.insert("long".into(), "é".repeat(1000));
        let kept = capped(many);
        assert_eq!(kept.len(), MAX_PARAMS);
        assert!(kept.keys().all(|k| k.len() <= MAX_PARAM_NAME));
        assert!(kept.values().all(|v| v.chars().count() <= MAX_PARAM_VALUE));
        let short: BTreeMap<String, String> = [("CACHEBUSTER".to_owned(), "123".to_owned())].into();
        assert_eq!(capped(short.clone()), short);
    }
}
