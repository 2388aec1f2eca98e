//! What the operator sees: the service's log, read from the running binary.

use reqwest::StatusCode;

use crate::helpers::ServiceProcess;

const DEV_KEY: &str = "dev-key-logging-0123456789abcdef";

#[tokio::test]
async fn one_plain_line_per_request_with_route_and_customer_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let service = ServiceProcess::start(&data, &[("DEV_API_KEY", DEV_KEY)])
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let res = client
        .get(service.api("/campaigns?take=1&search=needle"))
        .bearer_auth(DEV_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .get(format!(
            "{}/t/clk?u=https%3A%2F%2Fprivate.example%2Fpath&sig=deadbeef",
            service.base
        ))
        .send()
        .await
        .unwrap();
    let clk_status = res.status().as_u16();
    // The response is sent before the line is written: wait for the line, not for a time.
    let mut log = String::new();
    for _ in 0..200 {
        log = service.log();
        if log.contains("route=\"/t/clk\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }

    // Start-up: where things are.
    for said in [
        "database connected",
        "database schema up to date",
        "object store",
        "service key",
        "propagation_worker",
    ] {
        assert!(log.contains(said), "no {said:?} in:\n{log}");
    }
    // One line per request: method, matched route (not the URI), status, latency, request id, customer.
    let line = log
        .lines()
        .find(|l| l.contains("route=\"/api/v2/buyer/campaigns\""))
        .unwrap_or_else(|| panic!("no request line in:\n{log}"));
    for field in [
        "method=GET",
        "status=200",
        "latency=",
        "request_id=",
        "customer=cus_",
    ] {
        assert!(line.contains(field), "no {field} in {line}");
    }
    assert!(log.contains(&format!("status={clk_status}")), "{log}");
    // Never the key, never a query string, never a colour code (the output is a file).
    // The dev key's banner goes to stderr on purpose (the operator pastes it); no log line has it.
    let log_lines: Vec<&str> = log.lines().filter(|l| l.starts_with("20")).collect();
    assert!(log_lines.len() >= 6, "{log}");
    assert!(
        log_lines.iter().all(|l| !l.contains(DEV_KEY)),
        "the API key was logged:\n{log}"
    );
    assert!(
        !log.contains("needle") && !log.contains("private.example") && !log.contains("deadbeef"),
        "a query string was logged:\n{log}"
    );
    assert!(!log.contains('\u{1b}'), "ANSI codes in a log file:\n{log}");
}

/// Signing in to the web UI posts the key once: no log line carries it, nor the session token.
#[tokio::test]
async fn signing_in_to_the_web_ui_logs_neither_the_key_nor_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let service = ServiceProcess::start(&dir.path().join("data"), &[("DEV_API_KEY", DEV_KEY)])
        .await
        .unwrap();
    let mut b = crate::ui::Browser::at(&service.base);
    let res = b.sign_in_with(DEV_KEY, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = crate::ui::cookie_pair(&crate::ui::set_cookie(&res, "cm_session").unwrap());
    let token = cookie["cm_session=".len()..].to_owned();
    b.cookie = Some(cookie);
    assert_eq!(b.get("/ui/campaigns").await.status(), StatusCode::OK);
    let mut log = String::new();
    for _ in 0..200 {
        log = service.log();
        if log.contains("route=\"/ui/campaigns\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("20")).collect();
    assert!(
        lines.iter().any(|l| l.contains("route=\"/ui/sign-in\"")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("route=\"/ui/campaigns\"") && l.contains("customer=cus_")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .all(|l| !l.contains(DEV_KEY) && !l.contains(&token)),
        "{log}"
    );
}
