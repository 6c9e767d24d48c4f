//! The UI's server functions (`POST /api/<name>`, form-encoded): the same
//! rules as the JSON routes, membership included, with matching statuses.

use serde_json::Value;

use crate::helpers::*;

impl TestApp {
    /// Calls a server function with the session cookie (if any) and form
    /// arguments; returns the status and the JSON body.
    pub(crate) async fn server_fn(
        &self,
        name: &str,
        cookie: Option<&str>,
        args: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self.api.post(self.url(&format!("/api/{name}"))).form(args);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.expect("server fn call");
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }
}

/// Without a session every server function answers 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_functions_need_a_session() {
    let app = spawn_app().await;
    let (token, _) = app.login(ALICE).await;
    let general = app.channel_id(&token, "General").await;
    for (name, args) in [
        ("me", vec![]),
        ("client_settings", vec![]),
        ("list_channels", vec![]),
        ("channel_members", vec![("channel_id", general.as_str())]),
        ("load_history", vec![("channel_id", general.as_str())]),
        ("mark_read", vec![("channel_id", general.as_str())]),
    ] {
        let (status, _) = app.server_fn(name, None, &args).await;
        assert_eq!(status, 401, "{name} without a session");
    }
}

/// A non-member gets 403 from every channel server function, and the
/// channel list leaves the channel out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_functions_check_membership() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let product = app.channel_id(&alice, "Product").await;
    let carol = app.login_cookie(CAROL).await;
    for name in ["channel_members", "load_history", "mark_read"] {
        let (status, _) = app
            .server_fn(name, Some(&carol), &[("channel_id", product.as_str())])
            .await;
        assert_eq!(status, 403, "{name} for a non-member");
    }
    let (status, list) = app.server_fn("list_channels", Some(&carol), &[]).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Product"), "{names:?}");
}

/// Server functions return what the JSON routes return for the same data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_functions_agree_with_the_json_routes() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut ws = app.ws_join(&alice, &general).await;
    ws.send_many(3, "sf").await;
    let bob = app.login_cookie(BOB).await;

    let (status, page) = app
        .server_fn(
            "load_history",
            Some(&bob),
            &[("channel_id", general.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    let (bob_token, _) = app.login(BOB).await;
    let mut rest = app.history(&bob_token, &general, &[]).await;
    // The JSON route adds the seed client's camelCase copies of four fields
    // (PROTOCOL.md, "compatibility fields"); the server function does not.
    for m in rest["messages"].as_array_mut().unwrap() {
        let m = m.as_object_mut().unwrap();
        for (camel, snake) in [
            ("channelId", "channel_id"),
            ("userId", "user_id"),
            ("createdAt", "created_at"),
            ("clientId", "client_id"),
        ] {
            assert_eq!(m.remove(camel).as_ref(), m.get(snake), "{camel}");
        }
    }
    assert_eq!(page["messages"], rest["messages"]);
    assert_eq!(page["hasMore"], rest["hasMore"]);

    let (status, cursor) = app
        .server_fn("mark_read", Some(&bob), &[("channel_id", general.as_str())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(cursor, app.channel(&bob_token, "General").await["head_seq"]);
    assert_eq!(app.channel(&bob_token, "General").await["unread_count"], 0);

    let (status, me) = app.server_fn("me", Some(&bob), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], BOB);
}

/// A wrong password through the login server function is a 401, not a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_server_function_refuses_a_wrong_password_with_401() {
    let app = spawn_app().await;
    let (status, _) = app
        .server_fn("login", None, &[("email", ALICE), ("password", "nope")])
        .await;
    assert_eq!(status, 401);
}

/// The composer learns the configured text limit from `client_settings`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_settings_report_the_configured_text_limit() {
    let app = spawn_app_with(|s| s.limits.max_text_chars = 321).await;
    let alice = app.login_cookie(ALICE).await;
    let (status, body) = app.server_fn("client_settings", Some(&alice), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["max_text_chars"], 321, "{body}");
}
