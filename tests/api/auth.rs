//! Authentication: login, logout, session cookie, and JWT checks on every
//! REST route and on the WebSocket upgrade.

use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

use crate::helpers::*;

/// Asserts that `token` (or no credentials at all) is refused with 401 on
/// every REST route (with a JSON `{"error"}` body) and on the WebSocket
/// upgrade, both as a Bearer header and as `?token=`.
async fn assert_unauthorized_everywhere(app: &TestApp, token: Option<&str>, channel_id: &str) {
    let routes = [
        ("GET", "/chat/channels".to_string()),
        ("GET", "/chat/unread".to_string()),
        ("GET", format!("/chat/channels/{channel_id}/messages")),
        ("POST", format!("/chat/channels/{channel_id}/read")),
    ];
    for (method, path) in &routes {
        let resp = if *method == "GET" {
            app.get(path, token).await
        } else {
            app.post(path, token, None).await
        };
        assert_eq!(resp.status().as_u16(), 401, "{method} {path}");
        let body: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: 401 body is not JSON: {e}"));
        assert!(
            body["error"].is_string(),
            "{method} {path}: 401 body has no error string: {body}"
        );
    }
    match token {
        Some(t) => {
            let status = ws_refused_status(app.ws_request_bearer(t, channel_id)).await;
            assert_eq!(status, 401, "WS upgrade with Bearer header");
            let status = ws_refused_status(app.ws_request_query(t, channel_id)).await;
            assert_eq!(status, 401, "WS upgrade with ?token=");
        }
        None => {
            let status = ws_refused_status(app.ws_request(channel_id)).await;
            assert_eq!(status, 401, "WS upgrade without credentials");
        }
    }
}

/// Whether a `Set-Cookie` value deletes the cookie (Max-Age <= 0 or Expires in the past).
fn cookie_is_expired(set_cookie: &str) -> bool {
    set_cookie.split(';').skip(1).any(|attr| {
        let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "max-age" => v.trim().parse::<i64>().is_ok_and(|n| n <= 0),
            "expires" => {
                chrono::DateTime::parse_from_rfc2822(v.trim()).is_ok_and(|t| t < chrono::Utc::now())
            }
            _ => false,
        }
    })
}

/// Test fixture: an app, alice's id and the General channel id.
async fn app_with_alice() -> (TestApp, String, String) {
    let app = spawn_app().await;
    let (token, alice_id) = app.login(ALICE).await;
    let general = app.channel_id(&token, "General").await;
    (app, alice_id, general)
}

/// Login answers 200 with `{token, user: {id, email, display_name}}` and sets an HttpOnly, SameSite=Lax cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_token_and_user_and_sets_httponly_samesite_lax_cookie() {
    let app = spawn_app().await;
    let resp = app.post_login(ALICE, PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 200);
    let cookies = set_cookies(&resp);
    let session = cookies.first().expect("login sets a session cookie");
    let lower = session.to_ascii_lowercase();
    assert!(lower.contains("httponly"), "cookie not HttpOnly: {session}");
    assert!(
        lower.contains("samesite=lax"),
        "cookie not SameSite=Lax: {session}"
    );
    let body: Value = resp.json().await.unwrap();
    let token = body["token"].as_str().expect("token string");
    assert!(!token.is_empty());
    let user = &body["user"];
    uuid::Uuid::parse_str(user["id"].as_str().expect("user.id string")).expect("user.id is a UUID");
    assert_eq!(user["email"], ALICE);
    assert!(user["display_name"].is_string(), "display_name: {user}");
    // The returned token is a working bearer token.
    assert_eq!(
        app.get("/chat/channels", Some(token))
            .await
            .status()
            .as_u16(),
        200
    );
}

/// A wrong password and an unknown email both get 401 with the same body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failure_is_401_with_same_body_for_wrong_password_and_unknown_email() {
    let app = spawn_app().await;
    let wrong_password = app.post_login(ALICE, "not-the-password").await;
    assert_eq!(wrong_password.status().as_u16(), 401);
    assert!(
        set_cookies(&wrong_password).is_empty(),
        "failed login set a cookie"
    );
    let wrong_password: Value = wrong_password.json().await.unwrap();
    let unknown = app.post_login("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status().as_u16(), 401);
    let unknown: Value = unknown.json().await.unwrap();
    assert!(wrong_password["error"].is_string(), "{wrong_password}");
    assert_eq!(
        wrong_password, unknown,
        "bodies differ: hint of which part was wrong"
    );
}

/// A malformed login body is a 4xx (never a 500); an oversize one is 413 or 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_oversize_login_body_is_a_client_error_not_500() {
    let app = spawn_app().await;
    let cases: Vec<reqwest::RequestBuilder> = vec![
        app.api
            .post(app.url("/auth/login"))
            .header("content-type", "application/json")
            .body("{not json"),
        app.api
            .post(app.url("/auth/login"))
            .json(&json!({"email": ALICE})),
        app.api
            .post(app.url("/auth/login"))
            .json(&json!({"email": 42, "password": []})),
    ];
    for case in cases {
        let status = case.send().await.unwrap().status().as_u16();
        assert!((400..500).contains(&status), "got {status}");
    }
    let huge = "x".repeat(2 * 1024 * 1024);
    let status = app
        .api
        .post(app.url("/auth/login"))
        .json(&json!({"email": huge, "password": "password"}))
        .send()
        .await
        .map(|r| r.status().as_u16());
    // A server may also reset the connection while the body is still being sent.
    if let Ok(status) = status {
        assert!(
            status == 413 || status == 400,
            "oversize login body got {status}"
        );
    }
}

/// The session cookie alone authenticates every REST route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_authenticates_rest_routes() {
    let app = spawn_app().await;
    let (token, _) = app.login(ALICE).await;
    let general = app.channel_id(&token, "General").await;
    let cookie = app.login_cookie(ALICE).await;
    for path in [
        "/chat/channels".to_string(),
        "/chat/unread".to_string(),
        format!("/chat/channels/{general}/messages"),
    ] {
        let resp = app
            .api
            .get(app.url(&path))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "GET {path} with cookie");
    }
    let resp = app
        .api
        .post(app.url(&format!("/chat/channels/{general}/read")))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "POST read with cookie");
}

/// Logout clears the session cookie: the browser's next request is 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_clears_the_session_cookie() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = browser
        .post(app.url("/auth/login"))
        .json(&json!({"email": ALICE, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let name = cookie_pair(&set_cookies(&login)[0])
        .split('=')
        .next()
        .unwrap()
        .to_string();
    let before = browser.get(app.url("/chat/channels")).send().await.unwrap();
    assert_eq!(before.status().as_u16(), 200, "cookie auth before logout");

    let logout = browser.post(app.url("/auth/logout")).send().await.unwrap();
    let status = logout.status().as_u16();
    assert!((200..400).contains(&status), "logout status {status}");
    let cleared = set_cookies(&logout)
        .into_iter()
        .find(|c| cookie_pair(c).split('=').next() == Some(name.as_str()))
        .unwrap_or_else(|| panic!("logout does not set cookie {name}"));
    assert!(
        cookie_is_expired(&cleared),
        "logout cookie does not expire: {cleared}"
    );

    let after = browser.get(app.url("/chat/channels")).send().await.unwrap();
    assert_eq!(
        after.status().as_u16(),
        401,
        "cookie still works after logout"
    );
}

/// A request without any credentials is 401 on REST and on the WS upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_are_401_on_rest_and_ws_upgrade() {
    let (app, _, general) = app_with_alice().await;
    assert_unauthorized_everywhere(&app, None, &general).await;
}

/// An expired token is 401 on REST and on the WS upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_401_on_rest_and_ws_upgrade() {
    let (app, alice, general) = app_with_alice().await;
    let token = mint_token(&alice, -600, None);
    assert_unauthorized_everywhere(&app, Some(&token), &general).await;
}

/// An `alg: none` (unsigned) token is 401 on REST and on the WS upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_token_is_401_on_rest_and_ws_upgrade() {
    let (app, alice, general) = app_with_alice().await;
    let token = alg_none_token(&alice);
    assert_unauthorized_everywhere(&app, Some(&token), &general).await;
}

/// A token with another HMAC alg (HS384/HS512, same secret) is 401: only HS256 is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_hs256_token_is_401_on_rest_and_ws_upgrade() {
    let (app, alice, general) = app_with_alice().await;
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let claims = json!({"sub": alice, "exp": now_secs() + 3600});
        let token = sign(alg, &claims, JWT_SECRET);
        assert_unauthorized_everywhere(&app, Some(&token), &general).await;
    }
}

/// A token whose signature was altered is 401 on REST and on the WS upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_signature_is_401_on_rest_and_ws_upgrade() {
    let (app, alice, general) = app_with_alice().await;
    let token = mint_token(&alice, 3600, None);
    let (rest, sig) = token.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = sig.chars().collect();
    sig[5] = if sig[5] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{rest}.{}", sig.into_iter().collect::<String>());
    assert_unauthorized_everywhere(&app, Some(&tampered), &general).await;
}

/// A token whose claims were altered (bob's sub under alice's signature) is 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_payload_is_401_on_rest_and_ws_upgrade() {
    let (app, alice, general) = app_with_alice().await;
    let (_, bob) = app.login(BOB).await;
    let token = mint_token(&alice, 3600, None);
    let parts: Vec<&str> = token.split('.').collect();
    let claims = json!({"sub": bob, "exp": now_secs() + 3600});
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64url(claims.to_string().as_bytes()),
        parts[2]
    );
    assert_unauthorized_everywhere(&app, Some(&forged), &general).await;
}

/// A token signed with a different secret is 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_signed_with_another_secret_is_401_on_rest_and_ws_upgrade() {
    let (app, alice, general) = app_with_alice().await;
    let claims = json!({"sub": alice, "exp": now_secs() + 3600});
    let token = sign(
        Algorithm::HS256,
        &claims,
        "some-other-secret-0123456789abcdef",
    );
    assert_unauthorized_everywhere(&app, Some(&token), &general).await;
}

/// Garbage in place of a token is 401 on REST and on the WS upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_token_is_401_on_rest_and_ws_upgrade() {
    let (app, _, general) = app_with_alice().await;
    for garbage in ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "%%%"] {
        assert_unauthorized_everywhere(&app, Some(garbage), &general).await;
    }
}

/// A token whose `sub` is not a UUID is 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_with_non_uuid_sub_is_401_on_rest_and_ws_upgrade() {
    let (app, _, general) = app_with_alice().await;
    let token = mint_token("alice", 3600, None);
    assert_unauthorized_everywhere(&app, Some(&token), &general).await;
}

/// A token without `exp` is 401 (the contract makes `exp` part of every JWT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_without_exp_is_401_on_rest_and_ws_upgrade() {
    let (app, alice, general) = app_with_alice().await;
    let token = sign(Algorithm::HS256, &json!({"sub": alice}), JWT_SECRET);
    assert_unauthorized_everywhere(&app, Some(&token), &general).await;
}

/// A valid HS256 token minted outside the server works on REST and on the WS upgrade (header and query).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn externally_minted_hs256_token_is_accepted_on_rest_and_ws() {
    let (app, alice, general) = app_with_alice().await;
    let token = mint_token(&alice, 3600, None);
    assert_eq!(
        app.get("/chat/channels", Some(&token))
            .await
            .status()
            .as_u16(),
        200
    );
    let mut ws = app.ws_connect(&token, &general).await;
    assert_eq!(ws.next_json(WAIT).await["type"], "presence.state");
    let mut ws = app.ws_connect_query(&token, &general).await;
    assert_eq!(ws.next_json(WAIT).await["type"], "presence.state");
}

/// Without a configured issuer, `iss` is not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iss_is_ignored_when_no_issuer_is_configured() {
    let (app, alice, _) = app_with_alice().await;
    let token = mint_token(&alice, 3600, Some("https://anyone.test"));
    assert_eq!(
        app.get("/chat/channels", Some(&token))
            .await
            .status()
            .as_u16(),
        200
    );
}

/// With an issuer configured, a wrong `iss` is 401 on REST and WS, and the right one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_issuer_is_401_on_rest_and_ws_upgrade_when_issuer_configured() {
    let app = spawn_app_with(|s| s.jwt_issuer = Some(ISSUER.into())).await;
    let (login_token, alice) = app.login(ALICE).await;
    let general = app.channel_id(&login_token, "General").await;

    let good = mint_token(&alice, 3600, Some(ISSUER));
    assert_eq!(
        app.get("/chat/channels", Some(&good))
            .await
            .status()
            .as_u16(),
        200
    );
    let mut ws = app.ws_connect(&good, &general).await;
    assert_eq!(ws.next_json(WAIT).await["type"], "presence.state");

    let wrong = mint_token(&alice, 3600, Some("https://evil.test"));
    assert_unauthorized_everywhere(&app, Some(&wrong), &general).await;
}

/// With an issuer configured, a token without `iss` is 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_issuer_is_401_when_issuer_configured() {
    let app = spawn_app_with(|s| s.jwt_issuer = Some(ISSUER.into())).await;
    let (login_token, alice) = app.login(ALICE).await;
    let general = app.channel_id(&login_token, "General").await;
    let token = mint_token(&alice, 3600, None);
    assert_unauthorized_everywhere(&app, Some(&token), &general).await;
}

/// `?token=` authenticates the WS upgrade (the browser path of the seed client).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_token_authenticates_ws_upgrade() {
    let app = spawn_app().await;
    let (token, alice) = app.login(ALICE).await;
    let general = app.channel_id(&token, "General").await;
    let mut ws = app.ws_connect_query(&token, &general).await;
    let state = ws.next_json(WAIT).await;
    assert_eq!(state["type"], "presence.state");
    assert!(state["userIds"].as_array().unwrap().contains(&json!(alice)));
}

/// A cookie-authenticated WS upgrade with a disallowed Origin is refused with 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_ws_upgrade_with_disallowed_origin_is_403() {
    let app = spawn_app().await;
    let (token, _) = app.login(ALICE).await;
    let general = app.channel_id(&token, "General").await;
    let cookie = app.login_cookie(ALICE).await;
    let status = app
        .ws_connect_cookie(&cookie, Some("http://evil.test"), &general)
        .await
        .err()
        .expect("upgrade with a foreign Origin was accepted");
    assert_eq!(status, 403);
}

/// A cookie-authenticated WS upgrade from the allowed Origin succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_ws_upgrade_with_allowed_origin_succeeds() {
    let app = spawn_app().await;
    let (token, alice) = app.login(ALICE).await;
    let general = app.channel_id(&token, "General").await;
    let cookie = app.login_cookie(ALICE).await;
    let mut ws = app
        .ws_connect_cookie(&cookie, Some(ALLOWED_ORIGIN), &general)
        .await
        .unwrap_or_else(|s| panic!("cookie upgrade from allowed origin refused: {s}"));
    let state = ws.next_json(WAIT).await;
    assert_eq!(state["type"], "presence.state");
    assert!(state["userIds"].as_array().unwrap().contains(&json!(alice)));
}
