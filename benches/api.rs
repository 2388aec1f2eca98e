//! HTTP benchmarks against the release server running as a child process (so its peak RSS is its
//! own): uploads (1 x 50 MB, 20 x 5 MB distinct and identical, 20 x 50 MB distinct) with MB/s, the
//! ratio to a same-run ceiling on the same bytes, and server peak RSS; and manifest-list latency in
//! a campaign of 10,000 manifests.
//!
//! Run: `cargo bench --bench api` (BENCH_LIST_SIZE changes the 10,000).

#[path = "common/stats.rs"]
mod stats;
use stats::{ms, percentile};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

const KEY: &str = "bench-key-0123456789";
const MB: usize = 1024 * 1024;

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start() -> Server {
    start_on(None).await
}

/// The server on the local store, or on `object_store` (an `s3://` URL; the `AWS_*` variables of
/// this process reach the child).
async fn start_on(object_store: Option<&str>) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_creative-manifests"));
    if let Some(url) = object_store {
        command.env("OBJECT_STORE_URL", url);
    }
    let child = command
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", dir.path())
        .env("DEV_API_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        base,
        _dir: dir,
    }
}

/// Peak resident set of the server process so far, in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn campaign(client: &reqwest::Client, base: &str) -> String {
    let res: Value = client
        .post(format!("{base}/api/v2/buyer/campaigns"))
        .bearer_auth(KEY)
        .json(&json!({"name": "bench", "brand_domain": "bench.example"}))
        .send()
        .await
        .expect("create campaign")
        .json()
        .await
        .expect("json");
    res["campaign_id"].as_str().expect("campaign_id").to_owned()
}

/// A text file of `size` bytes on disk, its lines numbered and tagged with `seed`, so every file
/// of a distinct set has its own bytes (objects are keyed by content: identical files would store
/// once and measure deduplication, not storage). The client streams it; nothing big is held in memory.
fn text_file(dir: &std::path::Path, name: &str, size: usize, seed: usize) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut left = size;
    let mut n = 0usize;
    while left > 0 {
        let line = format!(
            "{seed:04} {n:09} The quick brown fox jumps over the lazy dog. abcdefghijklmnopqrstuvwxyz\n"
        );
        let take = left.min(line.len());
        f.write_all(&line.as_bytes()[..take]).expect("write");
        left -= take;
        n += 1;
    }
    path
}

/// The ceiling for storing `files`: one pass that reads each file, hashes it (SHA-256) and writes it
/// once to a file in `dest` (the disk the server stores on), as a single-core loop with the server's
/// buffer size. Returns the time it took; the files it wrote are removed after.
fn ceiling(files: &[std::path::PathBuf], dest: &std::path::Path) -> Duration {
    use sha2::Digest;
    use std::io::{Read, Write};
    let started = Instant::now();
    let mut written = Vec::new();
    for (i, src) in files.iter().enumerate() {
        let mut input = std::fs::File::open(src).expect("open");
        let path = dest.join(format!("ceiling-{i}"));
        let mut out = std::fs::File::create(&path).expect("create");
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = input.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).expect("write");
        }
        std::hint::black_box(hasher.finalize());
        written.push(path);
    }
    let took = started.elapsed();
    for p in written {
        let _ = std::fs::remove_file(p);
    }
    took
}

async fn upload(
    client: &reqwest::Client,
    base: &str,
    campaign: &str,
    files: &[std::path::PathBuf],
) -> (Duration, Value) {
    let entries: Vec<Value> = files
        .iter()
        .map(|p| json!({"filename": p.file_name().unwrap().to_string_lossy()}))
        .collect();
    let mut form = Form::new().text(
        "metadata",
        json!({"name": "bench", "assets": entries}).to_string(),
    );
    for p in files {
        let file = tokio::fs::File::open(p).await.expect("open");
        let len = file.metadata().await.expect("meta").len();
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        let part = Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
            .file_name(p.file_name().unwrap().to_string_lossy().into_owned());
        form = form.part("files", part);
    }
    let started = Instant::now();
    let res = client
        .post(format!(
            "{base}/api/v2/buyer/campaigns/{campaign}/creatives/create"
        ))
        .bearer_auth(KEY)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    let took = started.elapsed();
    assert_eq!(status, 201, "{body}");
    (took, serde_json::from_str(&body).expect("json"))
}

async fn bench_uploads() {
    let server = start().await;
    let client = reqwest::Client::new();
    let campaign = campaign(&client, &server.base).await;
    let files = tempfile::tempdir().expect("dir");
    // The ceiling writes beside the server's data, on the same disk.
    let beside = tempfile::tempdir_in(server._dir.path()).expect("dir");
    let pid = server.child.id();
    let idle = peak_rss_mib(pid);
    println!("server idle peak RSS: {idle:.1} MiB");

    let one = vec![text_file(files.path(), "big.txt", 50 * MB, 0)];
    let twenty: Vec<_> = (0..20)
        .map(|i| text_file(files.path(), &format!("f{i}.txt"), 5 * MB, 100 + i))
        .collect();
    // Deduplicated: 20 identical files, which the store keeps as one object (content-keyed).
    let same: Vec<_> = (0..20)
        .map(|i| text_file(files.path(), &format!("s{i}.txt"), 5 * MB, 1))
        .collect();
    // The worst case the limits allow: 20 distinct files of 50 MB in one request.
    let full: Vec<_> = (0..20)
        .map(|i| text_file(files.path(), &format!("g{i}.txt"), 50 * MB, 200 + i))
        .collect();
    for (label, set, total) in [
        ("1 x 50 MB", &one, 50.0),
        ("20 x 5 MB distinct", &twenty, 100.0),
        (
            "20 x 5 MB identical (deduplicated: one object)",
            &same,
            100.0,
        ),
        ("20 x 50 MB distinct", &full, 1000.0),
    ] {
        let (mut times, mut ceilings) = (Vec::new(), Vec::new());
        // Interleaved, so both see the same machine (page cache, neighbours) at the same moment.
        for _ in 0..3 {
            ceilings.push(ceiling(set, beside.path()));
            times.push(upload(&client, &server.base, &campaign, set).await.0);
        }
        times.sort();
        ceilings.sort();
        let (median, ceiling) = (times[1], ceilings[1]);
        println!(
            "upload {label}: median {:.0} ms, {:.0} MB/s; ceiling (SHA-256 + one write, same disk) {:.0} MB/s; \
             ratio {:.2}; server peak RSS {:.1} MiB",
            median.as_secs_f64() * 1000.0,
            total / median.as_secs_f64(),
            total / ceiling.as_secs_f64(),
            ceiling.as_secs_f64() / median.as_secs_f64(),
            peak_rss_mib(pid)
        );
    }
}

/// `/cdn` latency for 5 KB, 5 MB and 50 MB objects (whole body read by the client), beside the
/// ceiling of a plain read of the same bytes from a file in the same run; on the local store, and on
/// S3 too when `TEST_OBJECT_STORE_URL` is set (with the `AWS_*` variables, as for the tests).
async fn bench_cdn() {
    let mut stores = vec![("local files", None)];
    if let Ok(base) = std::env::var("TEST_OBJECT_STORE_URL") {
        let url = format!(
            "{}/bench-{}",
            base.trim_end_matches('/'),
            std::process::id()
        );
        stores.push(("S3", Some(url)));
    }
    let files = tempfile::tempdir().expect("dir");
    let sizes = [
        ("5 KB", 5 * 1024, 400),
        ("5 MB", 5 * MB, 100),
        ("50 MB", 50 * MB, 30),
    ];
    let sources: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, (_, size, _))| text_file(files.path(), &format!("cdn{i}.txt"), *size, 300 + i))
        .collect();
    for (store, url) in &stores {
        let server = start_on(url.as_deref()).await;
        let client = reqwest::Client::new();
        let campaign = campaign(&client, &server.base).await;
        for ((label, _, rounds), source) in sizes.iter().zip(&sources) {
            let (_, manifest) = upload(
                &client,
                &server.base,
                &campaign,
                std::slice::from_ref(source),
            )
            .await;
            let public = manifest["assets"][0]["public_url"]
                .as_str()
                .expect("public_url")
                .to_owned();
            let (mut served, mut plain) = (Vec::new(), Vec::new());
            for _ in 0..*rounds {
                let t = Instant::now();
                std::hint::black_box(std::fs::read(source).expect("read"));
                plain.push(t.elapsed());
                let t = Instant::now();
                let res = client.get(&public).send().await.expect("get");
                assert_eq!(res.status(), 200);
                std::hint::black_box(res.bytes().await.expect("body"));
                served.push(t.elapsed());
            }
            served.sort();
            plain.sort();
            println!(
                "cdn {store} {label}: p50 {:.2} ms, p99 {:.2} ms; plain file read p50 {:.2} ms, p99 {:.2} ms",
                ms(percentile(&served, 0.5)),
                ms(percentile(&served, 0.99)),
                ms(percentile(&plain, 0.5)),
                ms(percentile(&plain, 0.99)),
            );
        }
    }
}

async fn bench_list() {
    let n: usize = std::env::var("BENCH_LIST_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let server = start().await;
    let client = reqwest::Client::new();
    let campaign = campaign(&client, &server.base).await;
    let url = format!(
        "{}/api/v2/buyer/campaigns/{campaign}/creatives/create",
        server.base
    );
    let started = Instant::now();
    let mut pending = futures::stream::FuturesUnordered::new();
    use futures::StreamExt;
    for i in 0..n {
        let body = json!({"name": format!("Creative {i:05}"), "url_asset": {"url": format!("https://bench.example/{i}")}, "text_assets": [{"text": "Buy now"}]});
        let req = client.post(&url).bearer_auth(KEY).json(&body).send();
        pending.push(req);
        if pending.len() >= 8 {
            let res = pending.next().await.expect("some").expect("create");
            assert_eq!(res.status(), 201);
        }
    }
    while let Some(res) = pending.next().await {
        assert_eq!(res.expect("create").status(), 201);
    }
    println!(
        "seeded {n} manifests in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    for (label, query) in [
        ("first page (take=50)", "take=50".to_owned()),
        (
            "deep page (take=50, skip=9000)",
            format!("take=50&skip={}", n.saturating_sub(1000)),
        ),
        ("take=250", "take=250".to_owned()),
        ("search", "take=50&search=creative%200999".to_owned()),
    ] {
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let res = client
                .get(format!(
                    "{}/api/v2/buyer/campaigns/{campaign}/creativeManifest?{query}",
                    server.base
                ))
                .bearer_auth(KEY)
                .send()
                .await
                .expect("list");
            assert_eq!(res.status(), 200);
            let _: Value = res.json().await.expect("json");
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "list {label} over {n}: p50 {:.2} ms, p99 {:.2} ms",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0
        );
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; a filter argument picks one group.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wants = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if wants("upload") {
        bench_uploads().await;
    }
    if wants("cdn") {
        bench_cdn().await;
    }
    if wants("list") {
        bench_list().await;
    }
}
