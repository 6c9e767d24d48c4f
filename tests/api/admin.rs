//! The host app's admin API (`/admin/*`, service key): channels, users and
//! access; revocation closes live sockets at once.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;

const KEY: &str = "test-admin-key-0123456789abcdef0123456789";

impl TestApp {
    /// An admin call with `key` (or none): returns status and JSON body.
    async fn admin(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = self.url(path);
        let mut req = match method {
            "PUT" => self.api.put(url),
            "DELETE" => self.api.delete(url),
            other => panic!("method {other}"),
        };
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("admin request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

async fn admin_app() -> TestApp {
    spawn_app_with(|s| s.admin_key = Some(KEY.into())).await
}

/// Without a configured key the admin API does not exist (404); with one, a missing or wrong key gets 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_needs_the_service_key() {
    let plain = spawn_app().await;
    let path = format!("/admin/tablos/{}", Uuid::new_v4());
    let body = Some(json!({"name": "X"}));
    assert_eq!(
        plain.admin("PUT", &path, Some(KEY), body.clone()).await.0,
        404
    );
    let app = admin_app().await;
    assert_eq!(app.admin("PUT", &path, None, body.clone()).await.0, 401);
    assert_eq!(
        app.admin("PUT", &path, Some("wrong"), body.clone()).await.0,
        401
    );
    let (alice, _) = app.login(ALICE).await;
    assert_eq!(
        app.admin("PUT", &path, Some(&alice), body.clone()).await.0,
        401,
        "a user token is not the key"
    );
    assert_eq!(app.admin("PUT", &path, Some(KEY), body).await.0, 200);
}

/// The host app creates a channel and a user, grants access, renames the channel; the user sees it all through the normal API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_app_creates_channels_users_and_access() {
    let app = admin_app().await;
    let tablo = Uuid::new_v4();
    let dave = Uuid::new_v4();
    let t = format!("/admin/tablos/{tablo}");
    assert_eq!(
        app.admin(
            "PUT",
            &t,
            Some(KEY),
            Some(json!({"name": "Launch", "color": "#0ea5e9"}))
        )
        .await
        .0,
        200
    );
    let u = format!("/admin/users/{dave}");
    assert_eq!(
        app.admin(
            "PUT",
            &u,
            Some(KEY),
            Some(json!({"email": "dave@example.com", "display_name": "Dave"}))
        )
        .await
        .0,
        200
    );
    let m = format!("/admin/tablos/{tablo}/members/{dave}");
    assert_eq!(app.admin("PUT", &m, Some(KEY), None).await.0, 200);

    // Dave arrives with a host-app token.
    let token = mint_token(&dave.to_string(), 3600, None);
    let list: Value = app
        .get("/chat/channels", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Launch"]);
    let mut ws = app.ws_join(&token, &tablo.to_string()).await;
    ws.send_ok("hello from dave").await;

    // Rename; the user's display name changes too.
    assert_eq!(
        app.admin("PUT", &t, Some(KEY), Some(json!({"name": "Launch 2"})))
            .await
            .0,
        200
    );
    assert_eq!(
        app.admin(
            "PUT",
            &u,
            Some(KEY),
            Some(json!({"email": "dave@example.com", "display_name": "David"}))
        )
        .await
        .0,
        200
    );
    let list: Value = app
        .get("/chat/channels", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["channels"][0]["name"], "Launch 2");
    let members: Value = app
        .get(&format!("/chat/channels/{tablo}/members"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members["members"][0]["display_name"], "David");
}

/// Revoking access closes the user's live socket on that channel at once (FORBIDDEN, then 1008), removes the channel from their list and unread counts, and leaves others connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_access_closes_live_sockets_at_once() {
    let app = admin_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (carol, carol_id) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut c = app.ws_join(&carol, &general).await;
    a.send_ok("unread for carol").await;
    c.next_frame_of_type("message.new", WAIT).await;

    let m = format!("/admin/tablos/{general}/members/{carol_id}");
    assert_eq!(app.admin("DELETE", &m, Some(KEY), None).await.0, 200);
    let err = c.next_frame_of_type("error", WAIT).await;
    assert_eq!(err["code"], "FORBIDDEN");
    let close = c.next_close(WAIT).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);

    let list: Value = app
        .get("/chat/channels", Some(&carol))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !list.to_string().contains(&general),
        "revoked channel still listed: {list}"
    );
    let unread: Value = app
        .get("/chat/unread", Some(&carol))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !unread.to_string().contains(&general),
        "revoked channel still counted: {unread}"
    );
    crate::rest::assert_forbidden_on_every_channel_route(&app, CAROL, &carol, &general).await;
    a.send_ok("alice is still here").await;

    // Granting again lets carol back in.
    assert_eq!(app.admin("PUT", &m, Some(KEY), None).await.0, 200);
    app.ws_join(&carol, &general).await;
}

/// Deleting a channel closes every socket on it and the channel is gone (404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_channel_closes_everyones_sockets() {
    let app = admin_app().await;
    let (alice, _) = app.login(ALICE).await;
    let random = app.channel_id(&alice, "Random").await;
    let mut a = app.ws_join(&alice, &random).await;
    a.send_ok("soon gone").await;
    assert_eq!(
        app.admin(
            "DELETE",
            &format!("/admin/tablos/{random}"),
            Some(KEY),
            None
        )
        .await
        .0,
        200
    );
    let close = a.next_close(WAIT).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(
        app.get(&format!("/chat/channels/{random}/messages"), Some(&alice))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.admin(
            "DELETE",
            &format!("/admin/tablos/{random}"),
            Some(KEY),
            None
        )
        .await
        .0,
        404
    );
}

/// Bad admin input gets 400 (or 404 for unknown rows) and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_admin_input_is_refused() {
    let app = admin_app().await;
    let id = Uuid::new_v4();
    let t = format!("/admin/tablos/{id}");
    for (path, body) in [
        ("/admin/tablos/not-a-uuid".to_string(), json!({"name": "X"})),
        (t.clone(), json!({"name": ""})),
        (
            t.clone(),
            json!({"name": "X", "color": "red;background:url(x)"}),
        ),
        (t.clone(), json!({"name": "X", "extra": 1})),
        (t.clone(), json!({"title": "X"})),
        (
            format!("/admin/users/{id}"),
            json!({"email": "no-at-sign", "display_name": "X"}),
        ),
        (
            format!("/admin/users/{id}"),
            json!({"email": "x@example.com", "display_name": " "}),
        ),
    ] {
        let (status, body_out) = app.admin("PUT", &path, Some(KEY), Some(body.clone())).await;
        assert_eq!(status, 400, "{path} {body}: {body_out}");
    }
    // Another user's e-mail.
    let (status, _) = app
        .admin(
            "PUT",
            &format!("/admin/users/{id}"),
            Some(KEY),
            Some(json!({"email": "alice@example.com", "display_name": "Fake"})),
        )
        .await;
    assert_eq!(status, 400);
    // Unknown channel or user for access.
    let (alice, alice_id) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    assert_eq!(
        app.admin(
            "PUT",
            &format!("/admin/tablos/{id}/members/{alice_id}"),
            Some(KEY),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.admin(
            "PUT",
            &format!("/admin/tablos/{general}/members/{id}"),
            Some(KEY),
            None
        )
        .await
        .0,
        404
    );
    // Nothing was created.
    let list: Value = app
        .get("/chat/channels", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["channels"].as_array().unwrap().len(), 4);
}

/// A user first seen through a host-app token gets a row named after the token's e-mail, so the host app can grant access right away and others see a name; the host app's name wins once it sends one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_first_seen_through_a_token_gets_a_row() {
    let app = admin_app().await;
    let dana = Uuid::new_v4();
    let token = sign(
        jsonwebtoken::Algorithm::HS256,
        &json!({"sub": dana, "exp": now_secs() + 3600, "email": "dana@example.com"}),
        JWT_SECRET,
    );
    let list: Value = app
        .get("/chat/channels", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["channels"], json!([]));

    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let m = format!("/admin/tablos/{general}/members/{dana}");
    assert_eq!(
        app.admin("PUT", &m, Some(KEY), None).await.0,
        200,
        "the row exists"
    );
    let names = |v: Value| -> Vec<String> {
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["display_name"].as_str().unwrap().to_string())
            .collect()
    };
    let members: Value = app
        .get(&format!("/chat/channels/{general}/members"), Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert!(names(members).contains(&"dana".to_string()));
    let u = format!("/admin/users/{dana}");
    assert_eq!(
        app.admin(
            "PUT",
            &u,
            Some(KEY),
            Some(json!({"email": "dana@example.com", "display_name": "Dana Scully"}))
        )
        .await
        .0,
        200
    );
    let mut ws = app.ws_join(&token, &general).await;
    ws.send_ok("dana speaks").await;
    let members: Value = app
        .get(&format!("/chat/channels/{general}/members"), Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert!(names(members).contains(&"Dana Scully".to_string()));
}

/// After a revocation the user gets no more previews of the channel (`channel.activity`) on their other connections, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_user_gets_no_more_previews() {
    let app = admin_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (carol, carol_id) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let random = app.channel_id(&carol, "Random").await;
    let mut carol_elsewhere = app.ws_join(&carol, &random).await;
    let mut a = app.ws_join(&alice, &general).await;
    a.send_ok("seen by carol as a preview").await;
    let preview = carol_elsewhere
        .next_frame_of_type("channel.activity", WAIT)
        .await;
    assert_eq!(preview["channelId"], general.as_str());

    let m = format!("/admin/tablos/{general}/members/{carol_id}");
    assert_eq!(app.admin("DELETE", &m, Some(KEY), None).await.0, 200);
    a.send_ok("carol must not see this").await;
    carol_elsewhere
        .expect_no_frame_of_type("channel.activity", QUIET)
        .await;
}
