//! Slow clients cannot hold the service: headers sent a byte at a time, a body that stalls, and a
//! body that trickles just fast enough are each cut off at a configured limit. Each test sets a
//! small limit and waits for the cut; the outer guard only turns a hang (the bug) into a failure.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// Far longer than any limit set here: reaching it means the service never cut the client off.
const HANG: Duration = Duration::from_secs(60);

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connect")
}

/// Everything the service writes until it closes the connection.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(HANG, stream.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the service kept a slow client's connection open"
    );
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::spawn_with(|c| c.header_read_timeout_secs = 1).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    // No more bytes: the last header line and the blank line never come.
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn a_body_that_stalls_is_a_json_408_and_changes_nothing() {
    let app = TestApp::spawn_with(|c| c.body_idle_timeout_secs = 1).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v2/buyer/campaigns HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": \"Stalled\"",
        app.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The other 80 bytes never come; the connection stays open.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(HANG, stream.read(&mut buf))
        .await
        .expect("the service waited for ever on a stalled body")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"REQUEST_TIMEOUT""#), "{answer}");
    assert_eq!(app.count_rows("campaigns").await, 0);
}

#[tokio::test]
async fn a_body_that_trickles_under_the_idle_limit_is_cut_at_the_request_limit() {
    let app = TestApp::spawn_with(|c| {
        c.body_idle_timeout_secs = 30;
        c.request_timeout_secs = 1;
    })
    .await;
    let stream = connect(&app).await;
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /api/v2/buyer/campaigns HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n[",
        app.key
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    // One byte every 50 ms: never idle for long, never done.
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(HANG, reader.read(&mut buf))
        .await
        .expect("the service read a trickling body for ever")
        .unwrap();
    trickle.abort();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"REQUEST_TIMEOUT""#), "{answer}");
    assert_eq!(app.count_rows("campaigns").await, 0);
}
