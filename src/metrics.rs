//! Prometheus metrics: the families the service exports, each recorded through one function here so
//! names and labels are written once. Every label takes values from a closed set (route templates,
//! enums, our own tool names): ids, URLs and seller names never become labels, or a scrape would grow
//! without bound.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets (seconds): from a cached tracker hit to a slow seller or a large upload.
const SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. One per process: tests that start several apps
/// in one process share it, so exact counts are asserted against a spawned binary.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&SECONDS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder set first (a library user's own): ours still renders what it records.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only its own");
        }
        handle
    })
}

/// The text exposition of every family.
pub fn render() -> String {
    let h = handle();
    h.run_upkeep();
    h.render()
}

/// One HTTP request answered: `route` is the matched route template (`/cdn/{*key}`), never the path.
pub fn request(method: &str, route: &str, status: u16, took: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    counter!("http_requests_total", &labels).increment(1);
    histogram!("http_request_duration_seconds", &labels).record(took.as_secs_f64());
}

/// One uploaded file accepted for processing, by the type detected from its bytes.
pub fn upload_file(detected: &str, bytes: u64) {
    let detected = detected.to_ascii_lowercase();
    counter!("upload_files_total", "type" => detected.clone()).increment(1);
    counter!("upload_bytes_total", "type" => detected).increment(bytes);
}

/// The kinds of processing timed.
#[derive(Debug, Clone, Copy)]
pub enum Processing {
    Html,
    Bundle,
    Vast,
    Probe,
}

impl Processing {
    fn label(self) -> &'static str {
        match self {
            Processing::Html => "html",
            Processing::Bundle => "bundle",
            Processing::Vast => "vast",
            Processing::Probe => "probe",
        }
    }
}

/// Times one processing step from now until the returned guard is dropped.
pub fn processing(kind: Processing) -> Timer {
    Timer {
        start: Instant::now(),
        kind,
    }
}

pub struct Timer {
    start: Instant,
    kind: Processing,
}

impl Drop for Timer {
    fn drop(&mut self) {
        histogram!("processing_duration_seconds", "kind" => self.kind.label())
            .record(self.start.elapsed().as_secs_f64());
    }
}

/// One job run ended: its kind (the registry's names), how it was recorded, and its attempt number.
pub fn job_run(kind: &str, status: &str, attempt: i64, queued_for: Duration) {
    counter!("job_runs_total", "kind" => kind.to_owned(), "status" => status.to_owned())
        .increment(1);
    histogram!("job_attempt", "kind" => kind.to_owned()).record(attempt as f64);
    histogram!("job_queue_age_seconds", "kind" => kind.to_owned()).record(queued_for.as_secs_f64());
}

/// Jobs in the queue now, by kind and status (read from the database at each scrape, so every
/// process's jobs are counted whatever process is scraped).
pub fn jobs_in_queue(kind: &str, status: &str, count: i64) {
    gauge!("jobs", "kind" => kind.to_owned(), "status" => status.to_owned()).set(count as f64);
}

/// How long the oldest due job of `kind` has waited to be claimed (seconds), at the scrape.
pub fn job_oldest_due(kind: &str, secs: f64) {
    gauge!("jobs_oldest_due_age_seconds", "kind" => kind.to_owned()).set(secs);
}

/// One AdCP tool call to an agent (a seller's, or a format's agent for previews), counted where
/// every call goes out (`adcp::mcp::McpClient::call_tool`): the tool (ours to name), how it ended,
/// its latency. Not by seller: seller ids are a label without bound. The transport is MCP over HTTP
/// for every seller today; it is a label so A2A can join without a rename.
pub fn seller_call(tool: &str, outcome: &'static str, took: Duration) {
    let labels = [
        ("transport", "mcp".to_owned()),
        ("tool", tool.to_owned()),
        ("outcome", outcome.to_owned()),
    ];
    counter!("seller_calls_total", &labels).increment(1);
    histogram!("seller_call_duration_seconds", &labels).record(took.as_secs_f64());
}

/// Tracker events handed to the writer and written, or dropped (queue full, shut down, write failed).
pub fn tracker_events(outcome: &'static str, n: u64) {
    counter!("tracker_events_total", "outcome" => outcome).increment(n);
}

/// A webhook this service sent (to a buyer) or received (from a seller), by outcome.
pub fn webhook(direction: &'static str, outcome: &'static str) {
    counter!("webhooks_total", "direction" => direction, "outcome" => outcome).increment(1);
}

/// A request refused by a rate limit, by which limit.
pub fn rate_limited(scope: &'static str) {
    counter!("rate_limited_total", "scope" => scope).increment(1);
}
