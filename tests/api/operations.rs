//! Operations endpoints: `/healthz` (process up), `/readyz` (database
//! reachable) and `/metrics` (Prometheus text).

use serde_json::{json, Value};

use crate::helpers::*;

/// The value of the sample `name` (with labels, as written) in a Prometheus exposition.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// `/healthz` and `/readyz` answer 200 with `{"ok": true}` while the database is reachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer_ok() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), 200, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body, json!({"ok": true}), "{path}");
    }
}

/// API responses carry the server's own time as `Server-Timing: app;dur=<ms>`
/// (what the load generator reports as server time); pages do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_responses_carry_server_timing() {
    let app = spawn_app().await;
    for path in ["/readyz", "/chat/unread"] {
        let res = app.get(path, None).await;
        let timing = res
            .headers()
            .get("server-timing")
            .unwrap_or_else(|| panic!("{path}: no Server-Timing"))
            .to_str()
            .unwrap()
            .to_owned();
        let ms: f64 = timing
            .strip_prefix("app;dur=")
            .and_then(|ms| ms.parse().ok())
            .unwrap_or_else(|| panic!("{path}: {timing}"));
        assert!(ms >= 0.0, "{timing}");
    }
    let page = app.get("/login", None).await;
    assert!(page.headers().get("server-timing").is_none());
}

/// `/readyz` answers 503 once the database is gone, while `/healthz` still answers 200 (Postgres pass: the test drops its own database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_is_gone() {
    let Some(admin) = postgres_admin_url() else {
        eprintln!("skipped: the SQLite file cannot be taken away from a running server");
        return;
    };
    let app = spawn_app().await;
    let url = postgres_database_for(app.data_dir.path()).await.unwrap();
    let name = url.rsplit('/').next().unwrap().to_string();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .expect("drop the app's database");
    assert_eq!(app.get("/readyz", None).await.status(), 503);
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

/// `/metrics` counts connections, rooms, stored messages, store latency, resumes, rate-limit refusals and error frames by code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happens() {
    let app = spawn_app_with(|s| s.limits.rate_burst = 3).await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut ws = app.ws_join(&alice, &general).await;
    ws.send_ok("counted").await;
    ws.send_json(&json!({"type": "resume", "afterSeq": 0}))
        .await;
    ws.next_frame_of_type("resume.done", WAIT).await;
    ws.send_json(&json!({"type": "bogus"})).await;
    ws.next_frame_of_type("error", WAIT).await;
    // Burst of 3: resume and one send took two; the next two sends hit the limit once at least.
    for _ in 0..3 {
        ws.send_message("fast", &client_id()).await;
    }
    ws.next_frame_matching("a rate-limit error", WAIT, |v| v["code"] == "RATE_LIMITED")
        .await;

    // The refused send can be answered before the accepted one is stored, so
    // wait (bounded) until the second store is counted.
    let deadline = std::time::Instant::now() + WAIT;
    let text = loop {
        let res = app.get("/metrics", None).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = res.text().await.unwrap();
        let stored = sample(&text, "chat_messages_stored_total").unwrap_or(0.0);
        if stored >= 2.0 || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let at_least = |name: &str, n: f64| {
        let v = sample(&text, name).unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        assert!(v >= n, "{name} = {v}, expected >= {n}");
    };
    assert_eq!(sample(&text, "chat_connections"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "chat_rooms"), Some(1.0), "{text}");
    at_least("chat_messages_stored_total", 2.0);
    at_least("chat_store_write_seconds_count", 2.0);
    assert_eq!(sample(&text, "chat_resumes_total"), Some(1.0), "{text}");
    at_least("chat_rate_limited_total", 1.0);
    assert_eq!(
        sample(&text, "chat_errors_total{code=\"UNKNOWN_TYPE\"}"),
        Some(1.0),
        "{text}"
    );
    at_least("chat_errors_total{code=\"RATE_LIMITED\"}", 1.0);

    drop(ws);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(sample(&text, "chat_connections"), Some(0.0), "{text}");
}
