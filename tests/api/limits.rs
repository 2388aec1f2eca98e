//! Limits on what a request may make the service hold: body sizes, archive layouts, object keys,
//! crash leftovers, tracker rows, a full disk (issue 9, "Memory and disk").

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

/// A JSON document a little over 1 MiB: valid, so only its size can refuse it.
fn big_json() -> Vec<u8> {
    let filler = "x".repeat(1024 * 1024 + 16);
    serde_json::to_vec(&json!({ "name": filler })).unwrap()
}

async fn assert_413_json(res: reqwest::Response, route: &str) {
    assert_eq!(
        res.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "{route}"
    );
    let body = error_of(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE", "{route}");
    assert_eq!(body["details"]["limit_bytes"], 1024 * 1024, "{route}");
}

#[tokio::test]
async fn every_json_body_over_one_mib_is_a_json_413_whether_its_length_is_declared_or_streamed() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let creative = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "x", "assets": [{"filename": "a.png"}]}),
        )
        .await["creative_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let storefront = format!("{}/api/v2/storefront", app.base);
    // Real ids: a malformed one is a 404 before the body is looked at (tests/api/extractors.rs).
    let sf = app.create_storefront("auto").await;
    let (sa_x, sf_x) = (
        sf["sales_agent_id"].as_str().unwrap(),
        sf["storefront_id"].as_str().unwrap(),
    );
    let routes: Vec<(Method, String)> = vec![
        (Method::POST, app.api("/campaigns")),
        (Method::PATCH, app.api(&format!("/campaigns/{campaign}"))),
        (Method::POST, app.api("/sales-agents")),
        (Method::PATCH, app.api(&format!("/sales-agents/{sa_x}"))),
        (Method::POST, format!("{storefront}/storefronts")),
        (Method::PATCH, format!("{storefront}/storefronts/{sf_x}")),
        (
            Method::POST,
            format!("{storefront}/storefronts/{sf_x}/accounts"),
        ),
        (
            Method::POST,
            app.api(&format!("/campaigns/{campaign}/creatives/validate")),
        ),
        (
            Method::POST,
            app.api(&format!("/campaigns/{campaign}/creatives/create")),
        ),
        (
            Method::PUT,
            app.api(&format!("/campaigns/{campaign}/creatives/{creative}")),
        ),
        (Method::POST, format!("{}/adcp/webhooks/job_x", app.base)),
    ];
    for (method, url) in routes {
        let route = format!("{method} {url}");
        // Content-Length declared.
        let res = app
            .client
            .request(method.clone(), &url)
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body(big_json())
            .send()
            .await
            .unwrap();
        assert_413_json(res, &route).await;
        // Chunked: only the count of streamed bytes can tell.
        let chunks = big_json()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>();
        let res = app
            .client
            .request(method.clone(), &url)
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .send()
            .await
            .unwrap();
        assert_413_json(res, &route).await;
    }
    // Nothing was made on the way.
    let list: Value = app.get("/campaigns").await.json().await.unwrap();
    assert_eq!(list["total"], 1, "{list}");
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A ZIP64 archive of stored entries, written by hand: its end record says 0xFFFF/0xFFFFFFFF and the real count,
/// size and offset sit in the ZIP64 end record, as large archives (and those made to look large) have them.
fn zip64_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u64;
        let crc = crc32(data);
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&45u16.to_le_bytes()); // version needed
        out.extend_from_slice(&[0; 4]); // flags, method (stored)
        out.extend_from_slice(&[0; 4]); // time, date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&45u16.to_le_bytes()); // made by
        central.extend_from_slice(&45u16.to_le_bytes()); // needed
        central.extend_from_slice(&[0; 8]); // flags, method, time, date
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&12u16.to_le_bytes()); // extra: the ZIP64 offset
        central.extend_from_slice(&[0; 6]); // comment len, disk, internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&u32::MAX.to_le_bytes()); // offset: see the extra field
        central.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&1u16.to_le_bytes());
        central.extend_from_slice(&8u16.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
    }
    let dir_at = out.len() as u64;
    out.extend_from_slice(&central);
    let record_at = out.len() as u64;
    let count = files.len() as u64;
    out.extend_from_slice(b"PK\x06\x06");
    out.extend_from_slice(&44u64.to_le_bytes());
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&45u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]); // disks
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u64).to_le_bytes());
    out.extend_from_slice(&dir_at.to_le_bytes());
    out.extend_from_slice(b"PK\x06\x07");
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&record_at.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&u16::MAX.to_le_bytes());
    out.extend_from_slice(&u16::MAX.to_le_bytes());
    out.extend_from_slice(&u32::MAX.to_le_bytes());
    out.extend_from_slice(&u32::MAX.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

const PAGE: &[u8] = b"<!doctype html><html><head><meta name=\"ad.size\" content=\"width=300,height=250\"></head><body>ad</body></html>";

async fn upload_bundle(app: &TestApp, campaign: &str, zip: Vec<u8>) -> reqwest::Response {
    app.upload(
        campaign,
        &json!({"name": "B", "url_asset": {"url": "https://acme.com/"}, "assets": [{"filename": "b.zip"}]}),
        &[("b.zip", zip)],
    )
    .await
}

#[tokio::test]
async fn zip64_bundles_get_the_count_and_duplicate_checks_before_any_inflation() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;

    let res = upload_bundle(
        &app,
        &campaign,
        zip64_of(&[("index.html", PAGE), ("index.html", b"<p>other</p>")]),
    )
    .await;
    let err = error_of(res, StatusCode::BAD_REQUEST).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("more than one entry at path \"index.html\""),
        "{err}"
    );

    let names: Vec<String> = (0..1001).map(|n| format!("f{n}.txt")).collect();
    let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let res = upload_bundle(&app, &campaign, zip64_of(&many)).await;
    let err = error_of(res, StatusCode::BAD_REQUEST).await;
    assert!(
        err["message"].as_str().unwrap().contains("1001 entries"),
        "{err}"
    );
    app.assert_nothing_stored().await;

    // The same layout, well formed, is a bundle like any other.
    let res = upload_bundle(
        &app,
        &campaign,
        zip64_of(&[("index.html", PAGE), ("a.txt", b"hello")]),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
}

#[tokio::test]
async fn archives_nested_in_a_bundle_are_found_by_content_anywhere_in_their_first_bytes() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let mut bare_end = b"PK\x05\x06".to_vec();
    bare_end.extend_from_slice(&[0; 18]);
    let shifted = [
        b"\0".as_slice(),
        crate::processing::zip_of(&[("x.txt", b"x")]).as_slice(),
    ]
    .concat();
    for (what, inner) in [("bare end record", bare_end), ("leading byte", shifted)] {
        let zip = crate::processing::zip_of(&[("index.html", PAGE), ("data.bin", &inner)]);
        let res = upload_bundle(&app, &campaign, zip).await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("\"data.bin\" is a ZIP archive"),
            "{what}: {err}"
        );
    }
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn bundle_entries_that_no_store_can_hold_are_a_400_naming_the_entry() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let long = format!("{}.png", "n".repeat(300));
    let deep = format!("{}x.png", "d/".repeat(2000));
    for (name, says) in [
        ("img#1", "'#' is not allowed"),
        (long.as_str(), "longer than 255 bytes"),
        (deep.as_str(), "longer than 1,024 bytes"),
    ] {
        let zip = crate::processing::zip_of(&[("index.html", PAGE), (name, b"x")]);
        let res = upload_bundle(&app, &campaign, zip).await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
        let shown: String = name.chars().take(40).collect();
        assert!(message.contains(&shown), "names the entry: {message}");
    }
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn one_pending_record_that_cannot_be_deleted_never_stops_a_sweep() {
    use creative_manifests::store::{creatives, janitor};
    let app = TestApp::spawn().await;
    // Records left by older versions, under keys no store takes, come first in the sweep.
    let bad = vec!["creatives/cr_x/img#1".to_owned(), "creatives//x".to_owned()];
    creatives::add_pending(&app.state.db, &bad).await.unwrap();
    let orphan = "creatives/cr_0123456789abcdef0123456789abcdef/deadbeef.png".to_owned();
    app.state
        .objects
        .put_bytes(&orphan, b"half".to_vec())
        .await
        .unwrap();
    creatives::add_pending(&app.state.db, std::slice::from_ref(&orphan))
        .await
        .unwrap();

    // Records are stamped to the millisecond; the sweep takes those strictly older than now.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let removed = janitor::sweep(&app.state.db, &app.state.objects, std::time::Duration::ZERO)
        .await
        .expect("a sweep goes on past a bad record");
    assert!(removed >= 1);
    assert!(!app.state.objects.exists(&orphan).await.unwrap());
    assert_eq!(app.count_rows("pending_objects").await, 0);
}

/// The service binary run as a separate process on embedded storage, so it can be killed for real.
struct Process {
    child: std::process::Child,
    base: String,
}

impl Process {
    async fn start(data_dir: &std::path::Path, port: u16) -> Process {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_creative-manifests"))
            .env("DATA_DIR", data_dir)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("DEV_API_KEY", crate::helpers::KEY)
            .env_remove("DATABASE_URL")
            .env_remove("OBJECT_STORE_URL")
            .env_remove("CDN_BASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the service binary");
        let p = Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(res) = client.get(format!("{}/healthz", p.base)).send().await {
                if res.status().is_success() {
                    return p;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the service did not start");
    }

    /// SIGKILL: no shutdown code runs.
    fn kill_hard(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn a_process_killed_mid_upload_leaves_nothing_once_restarted() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut first = Process::start(data.path(), port).await;
    let client = reqwest::Client::new();
    let api = |p: &Process, path: &str| format!("{}/api/v2/buyer{path}", p.base);
    let campaign: Value = client
        .post(api(&first, "/campaigns"))
        .bearer_auth(crate::helpers::KEY)
        .json(&json!({"name": "c", "brand_domain": "acme.com", "products": []}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let campaign = campaign["campaign_id"].as_str().unwrap().to_owned();

    // A body that streams 4 MB of a file, then waits: the process is killed while it spools.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
    let form = reqwest::multipart::Form::new()
        .text(
            "metadata",
            json!({"name": "v", "assets": [{"filename": "v.mp4"}]}).to_string(),
        )
        .part(
            "files",
            reqwest::multipart::Part::stream(body).file_name("v.mp4"),
        );
    let url = api(&first, &format!("/campaigns/{campaign}/creatives/create"));
    let upload = tokio::spawn(async move {
        let _ = reqwest::Client::new()
            .post(url)
            .bearer_auth(crate::helpers::KEY)
            .multipart(form)
            .send()
            .await;
    });
    for _ in 0..4 {
        tx.send(Ok(vec![7u8; 1024 * 1024])).await.unwrap();
    }
    let spool = data.path().join("spool");
    let mut spooled = 0;
    for _ in 0..400 {
        spooled = files_under(&spool)
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .sum::<u64>();
        if spooled > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(spooled > 0, "the body is being spooled");
    first.kill_hard();
    drop(tx);
    let _ = upload.await;
    assert!(
        !files_under(&spool).is_empty(),
        "a killed process leaves its spool"
    );

    // What a kill during an object write leaves in the local store: a partial `name#N` file.
    let partial_dir = data
        .path()
        .join("objects/creatives/cr_0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(&partial_dir).unwrap();
    let partial = partial_dir.join("deadbeef.mp4#1");
    std::fs::write(&partial, b"half an object").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&partial)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    // A partial write still under way (recent) is not touched.
    let recent = partial_dir.join("cafe.mp4#2");
    std::fs::write(&recent, b"in progress").unwrap();

    let _second = Process::start(data.path(), port).await;
    assert_eq!(
        files_under(&spool),
        Vec::<std::path::PathBuf>::new(),
        "start-up clears the spool"
    );
    // The janitor's first sweep runs as the process starts.
    let mut gone = false;
    for _ in 0..400 {
        if !partial.exists() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(gone, "the janitor removes the partial object");
    assert!(recent.exists());
}

fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn the_pixel_records_only_known_creatives_with_capped_parameters_and_always_answers() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "x", "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let creative = m["creative_id"].as_str().unwrap();
    let params: String = (0..60)
        .map(|n| format!("&p{n:02}={}", "v".repeat(500)))
        .collect();

    // Well formed, but no such creative: the pixel, and no row.
    let res = app
        .client
        .get(format!(
            "{}/t/imp?cr=cr_0123456789abcdef0123456789abcdef{params}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(&res.bytes().await.unwrap()[..6], b"GIF89a");

    let res = app
        .client
        .get(format!("{}/t/imp?cr={creative}{params}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let d = crate::tracking::delivery(&app, &campaign, creative, (1, 0)).await;
    let macros = d["recent"][0]["macros"].as_object().unwrap();
    assert!(macros.len() <= 20, "{}", macros.len());
    assert!(macros
        .values()
        .all(|v| v.as_str().unwrap().chars().count() <= 256));
    assert_eq!(app.count_rows("tracking_events").await, 1);
}

#[tokio::test]
async fn readiness_fails_when_the_spool_cannot_be_written() {
    let app = TestApp::spawn().await;
    let ready = || async {
        app.client
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(ready().await.status(), StatusCode::OK);
    let spool = app.config.spool_dir();
    std::fs::remove_dir_all(&spool).unwrap();
    std::fs::write(&spool, b"not a directory").unwrap();
    let err = error_of(ready().await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(err["message"].as_str().unwrap().contains("spool"), "{err}");
    std::fs::remove_file(&spool).unwrap();
    std::fs::create_dir(&spool).unwrap();
    assert_eq!(ready().await.status(), StatusCode::OK);
    assert!(
        !app.stored_objects().await.contains("readyz-probe"),
        "the probe leaves nothing"
    );
}

/// A small tmpfs, unmounted when dropped; `None` where mounting is not allowed (not root).
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: files the stopped service still holds do not keep the mount.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.0.path())
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_is_a_507_and_not_ready_until_space_returns() {
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    };
    let data = disk.0.path().join("data");
    let app = TestApp::spawn_with(|c| c.data_dir = data.clone()).await;
    let campaign = app.create_campaign().await;
    // Fill what is left.
    let filler = disk.0.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![1u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let meta = json!({"name": "x", "assets": [{"filename": "a.png"}]});
    let png = crate::helpers::fixture("image_300x250.png");
    let res = app
        .upload(&campaign, &meta, &[("a.png", png.clone())])
        .await;
    let err = error_of(res, StatusCode::INSUFFICIENT_STORAGE).await;
    assert_eq!(err["code"], "INSUFFICIENT_STORAGE");
    let res = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    error_of(res, StatusCode::SERVICE_UNAVAILABLE).await;

    std::fs::remove_file(&filler).unwrap();
    let res = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.upload(&campaign, &meta, &[("a.png", png)]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut app = app;
    app.stop().await;
}
