//! Every bad request gets a clear JSON error and leaves nothing behind.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{error_of, fixture, TestApp};

fn png() -> (&'static str, Vec<u8>) {
    ("a.png", fixture("image_300x250.png"))
}

#[tokio::test]
async fn a_file_over_the_limit_is_413_naming_the_file() {
    let app = TestApp::spawn_with(|c| c.max_file_bytes = 64 * 1024).await;
    let campaign = app.create_campaign().await;
    let big = vec![b'a'; 200 * 1024];
    let res = app
        .upload(
            &campaign,
            &json!({"name": "Big", "assets": [{"filename": "a.png"}, {"filename": "big.txt"}]}),
            &[png(), ("big.txt", big)],
        )
        .await;
    let err = error_of(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(err["code"], "FILE_TOO_LARGE");
    assert!(
        err["message"].as_str().unwrap().contains("big.txt"),
        "{err}"
    );
    assert_eq!(err["details"]["filename"], "big.txt");
    app.assert_nothing_stored().await;
}

/// The server answers 413 as soon as the limit passes, without waiting for the rest of the body.
#[tokio::test]
async fn an_oversized_upload_is_cut_off_before_the_body_ends() {
    let app = TestApp::spawn_with(|c| c.max_file_bytes = 256 * 1024).await;
    let campaign = app.create_campaign().await;
    let boundary = "XBOUNDARYX";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"huge.txt\"\r\n\r\n",
        json!({"name": "Huge", "assets": [{"filename": "huge.txt"}]})
    );
    let declared_len = 4 * 1024 * 1024; // promised, never sent in full
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /api/v2/buyer/campaigns/{campaign}/creatives/create HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {declared_len}\r\n\r\n{head}",
        app.key
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'a'; 512 * 1024]).await.unwrap();
    let mut response = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut response))
        .await
        .expect("the server answers while the body is still incomplete")
        .unwrap();
    let text = String::from_utf8_lossy(&response[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("FILE_TOO_LARGE"), "{text}");
    drop(stream);
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn more_than_twenty_files_is_refused() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let files: Vec<(String, Vec<u8>)> = (0..21)
        .map(|i| (format!("n{i}.txt"), format!("note {i}").into_bytes()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let entries: Vec<Value> = files.iter().map(|(n, _)| json!({"filename": n})).collect();
    let err = error_of(
        app.upload(
            &campaign,
            &json!({"name": "Many", "assets": entries}),
            &refs,
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["code"], "TOO_MANY_FILES");
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn unsupported_files_are_415_naming_the_file() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for name in ["program.exe", "random.bin"] {
        let res = app
            .upload(
                &campaign,
                &json!({"name": "Bad", "assets": [{"filename": "a.png"}, {"filename": name}]}),
                &[png(), (name, fixture(name))],
            )
            .await;
        let err = error_of(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        assert_eq!(err["code"], "UNSUPPORTED_MEDIA_TYPE");
        assert_eq!(err["details"]["filename"], name);
        assert!(err["message"].as_str().unwrap().contains(name));
    }
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn metadata_problems_name_the_field() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"assets": [{"filename": "a.png"}]}), "metadata"),
        (
            json!({"name": "", "assets": [{"filename": "a.png"}]}),
            "name",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png", "asset_type": "PICTURE"}]}),
            "assets[0].asset_type",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "colour": "red"}),
            "colour",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "format_kind": "image", "format_id": {"agent_url": "https://a.org", "id": "d"}}),
            "format_kind",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "format_id": {"agent_url": "nope", "id": "d"}}),
            "format_id",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "url_assets": [{"url": "https://a.com", "url_type": "CLICKTHROUGH"}, {"url": "https://b.com", "url_type": "CLICKTHROUGH"}]}),
            "url_assets",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "url_asset": {"url": "https://a.com"}, "url_assets": [{"url": "https://b.com", "url_type": "CLICKTHROUGH"}]}),
            "url_assets",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "url_assets": [{"url": "https://a.com"}]}),
            "url_assets[0].url_type",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "url_assets": [{"url": "javascript:alert(1)", "url_type": "CLICKTHROUGH"}]}),
            "url_assets[0].url",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "frequencyCaps": [{"max_impressions": 3}]}),
            "frequencyCaps[0]",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}, {"filename": "b.png"}]}),
            "assets[1].filename",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}, {"filename": "a.png"}]}),
            "assets[1].filename",
        ),
        (
            json!({"name": "x", "assets": [{"filename": "a.png"}], "format_option_ref": {"scope": "product", "format_option_id": "o"}}),
            "format_option_ref",
        ),
    ];
    for (meta, field) in cases {
        let res = if meta.get("name").is_none() && field == "metadata" {
            // Missing metadata part altogether.
            let form = reqwest::multipart::Form::new().part(
                "files",
                reqwest::multipart::Part::bytes(png().1).file_name("a.png"),
            );
            app.upload_form(&campaign, form).await
        } else {
            app.upload(&campaign, &meta, &[png()]).await
        };
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], field, "{meta} -> {err}");
    }
    let res = app
        .upload_form(
            &campaign,
            reqwest::multipart::Form::new().text("metadata", "{not json"),
        )
        .await;
    assert_eq!(
        error_of(res, StatusCode::BAD_REQUEST).await["field"],
        "metadata"
    );
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn a_file_without_an_entry_is_refused() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let res = app
        .upload(&campaign, &json!({"name": "x", "assets": []}), &[png()])
        .await;
    let err = error_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "files");
    assert!(err["message"].as_str().unwrap().contains("a.png"));
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn a_truncated_multipart_body_is_400_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let body = format!(
        "--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}\r\n--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\nPARTIAL",
        json!({"name": "x", "assets": [{"filename": "a.png"}]})
    );
    let res = app
        .client
        .post(app.api(&format!("/campaigns/{campaign}/creatives/create")))
        .bearer_auth(&app.key)
        .header("content-type", "multipart/form-data; boundary=B")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res, StatusCode::BAD_REQUEST).await["code"],
        "INVALID_MULTIPART"
    );
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn empty_files_unknown_parts_and_wrong_content_types_are_refused() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let res = app
        .upload(
            &campaign,
            &json!({"name": "x", "assets": [{"filename": "e.png"}]}),
            &[("e.png", vec![])],
        )
        .await;
    assert!(error_of(res, StatusCode::BAD_REQUEST).await["message"]
        .as_str()
        .unwrap()
        .contains("empty"));
    let form = TestApp::multipart(&json!({"name": "x"}), &[]).text("extra", "1");
    assert_eq!(
        error_of(
            app.upload_form(&campaign, form).await,
            StatusCode::BAD_REQUEST
        )
        .await["field"],
        "extra"
    );
    let res = app
        .client
        .post(app.api(&format!("/campaigns/{campaign}/creatives/create")))
        .bearer_auth(&app.key)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await["code"],
        "UNSUPPORTED_CONTENT_TYPE"
    );
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn unknown_campaigns_and_creatives_are_404() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let res = app
        .upload(
            "cmp_0123456789abcdef0123456789abcdef",
            &json!({"name": "x", "assets": [{"filename": "a.png"}]}),
            &[png()],
        )
        .await;
    error_of(res, StatusCode::NOT_FOUND).await;
    for id in ["cr_0123456789abcdef0123456789abcdef", "whatever"] {
        error_of(
            app.get(&format!("/campaigns/{campaign}/creatives/{id}"))
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
        error_of(
            app.update(&campaign, id, &json!({"name": "y"}), &[]).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        error_of(
            app.delete(&format!("/campaigns/{campaign}/creatives/{id}"))
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    app.assert_nothing_stored().await;
}
