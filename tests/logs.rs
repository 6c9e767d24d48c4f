//! Tokens never reach the logs. A test binary of its own: it installs a
//! global `tracing` subscriber that captures everything the server logs.

#[path = "api/helpers.rs"]
mod helpers;

use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::helpers::*;

/// Captures everything a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// No token (valid, invalid, Bearer or `?token=`) ever appears in the server's logs, at any level.
// The only test in this binary, so a global subscriber sees every event
// of the server, whichever thread it runs on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_appear_in_logs() {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let app = spawn_app().await;
    let (token, alice) = app.login(ALICE).await;
    let general = app.channel_id(&token, "General").await;
    let query_token = mint_token(&alice, 3600, None);
    let mut ws = app.ws_connect_query(&query_token, &general).await;
    ws.send_ok("logged?").await;
    drop(ws);
    // An authenticated REST call: its log lines carry the user id.
    assert_eq!(
        app.get("/chat/channels", Some(&token))
            .await
            .status()
            .as_u16(),
        200
    );
    let bad_token = sign(
        Algorithm::HS256,
        &json!({"sub": alice, "exp": now_secs() + 3600}),
        "wrong-secret-0123456789abcdef0123456789",
    );
    assert_eq!(
        app.get("/chat/channels", Some(&bad_token))
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        ws_refused_status(app.ws_request_query(&bad_token, &general)).await,
        401
    );
    let expired = mint_token(&alice, -600, None);
    assert_eq!(
        ws_refused_status(app.ws_request_query(&expired, &general)).await,
        401
    );
    let mut app = app;
    app.signal_shutdown();
    app.join_server().await;

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(
        !text.is_empty(),
        "nothing was logged: the capture did not work"
    );
    // Request lines carry the request id and, once authenticated, the user id.
    assert!(
        text.contains("request_id="),
        "no request ids in the logs:\n{text}"
    );
    assert!(
        text.contains(&format!("user_id={alice}")),
        "no user id in the logs:\n{text}"
    );
    for (what, t) in [
        ("login token", &token),
        ("query token", &query_token),
        ("bad token", &bad_token),
        ("expired token", &expired),
    ] {
        // The signature alone is enough to identify a leaked token.
        let signature = t.rsplit('.').next().unwrap();
        assert!(!text.contains(signature), "{what} appears in the logs");
    }
}
