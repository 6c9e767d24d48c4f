//! Authentication: login, logout, session cookie, and JWT checks on every
//! REST route and on the WebSocket upgrade.

use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

use crate::helpers::*;

/// Asserts that `token` (or no credentials at all) is refused with 401 on
/// every REST route (with a JSON `{"error"}` body) and on the WebSocket
/// upgrade, both as a Bearer header and as `?token=`.
async fn assert_unauthorized_everywhere(
    app: &TestApp,
    case: &str,
    token: Option<&str>,
    channel_id: &str,
) {
    let routes = [
        ("GET", "/chat/channels".to_string()),
        ("GET", "/chat/unread".to_string()),
        ("GET", format!("/chat/channels/{channel_id}/messages")),
        ("GET", format!("/chat/channels/{channel_id}/members")),
        ("POST", format!("/chat/channels/{channel_id}/read")),
    ];
    for (method, path) in &routes {
        let resp = if *method == "GET" {
            app.get(path, token).await
        } else {
            app.post(path, token, None).await
        };
        assert_eq!(resp.status().as_u16(), 401, "{case}: {method} {path}");
        let body: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{case}: {method} {path}: 401 body is not JSON: {e}"));
        assert!(
            body["error"].is_string(),
            "{case}: {method} {path}: 401 body has no error string: {body}"
        );
    }
    match token {
        Some(t) => {
            let status = ws_refused_status(app.ws_request_bearer(t, channel_id)).await;
            assert_eq!(status, 401, "{case}: WS upgrade with Bearer header");
            let status = ws_refused_status(app.ws_request_query(t, channel_id)).await;
            assert_eq!(status, 401, "{case}: WS upgrade with ?token=");
        }
        None => {
            let status = ws_refused_status(app.ws_request(channel_id)).await;
            assert_eq!(status, 401, "{case}: WS upgrade without credentials");
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
/// A token made by hand: `header` and `claims` as JSON, signed with
/// HMAC-SHA256 under `secret` whatever the header claims (a token that
/// says RS256 but carries an HMAC made with a key the attacker knows is the
/// HS/RS confusion attack).
fn hand_made_token(header: Value, claims: &Value, secret: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        Algorithm::HS256,
    )
    .expect("HMAC signing");
    format!("{signing_input}.{signature}")
}

/// `base` with `extra`'s fields added or replaced (`null` removes one).
fn with_fields(base: &Value, extra: Value) -> Value {
    let mut out = base.clone();
    for (k, v) in extra.as_object().expect("extra is an object") {
        if v.is_null() {
            out.as_object_mut().unwrap().remove(k);
        } else {
            out[k] = v.clone();
        }
    }
    out
}

/// Every kind of bad credential is refused with 401 on every REST route and
/// on the WebSocket upgrade (header and `?token=`). The same claims, signed
/// properly, are accepted: each case fails for its one defect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_token_is_401_on_rest_and_ws_upgrade() {
    let (app, alice, general) = app_with_alice().await;
    let (_, bob) = app.login(BOB).await;
    let now = now_secs();
    let claims = json!({"sub": alice, "exp": now + 3600, "iat": now});
    let hs256 = |c: &Value| sign(Algorithm::HS256, c, JWT_SECRET);
    let good = hs256(&claims);
    assert_eq!(
        app.get("/chat/channels", Some(&good))
            .await
            .status()
            .as_u16(),
        200,
        "the control token was refused"
    );
    let (signed_part, signature) = good.rsplit_once('.').unwrap();
    let mut flipped: Vec<char> = signature.chars().collect();
    flipped[5] = if flipped[5] == 'A' { 'B' } else { 'A' };
    let header_part = good.split('.').next().unwrap();
    let bobs_claims = with_fields(&claims, json!({"sub": bob}));

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no credentials", None),
        ("alg none, no signature", Some(alg_none_token(&alice))),
        (
            "HS384 with the right secret",
            Some(sign(Algorithm::HS384, &claims, JWT_SECRET)),
        ),
        (
            "HS512 with the right secret",
            Some(sign(Algorithm::HS512, &claims, JWT_SECRET)),
        ),
        (
            "header says RS256, HMAC signature (HS/RS confusion)",
            Some(hand_made_token(
                json!({"alg": "RS256", "typ": "JWT"}),
                &claims,
                JWT_SECRET,
            )),
        ),
        (
            "header says ES256, HMAC signature",
            Some(hand_made_token(
                json!({"alg": "ES256", "typ": "JWT"}),
                &claims,
                JWT_SECRET,
            )),
        ),
        (
            "signed with another secret",
            Some(sign(
                Algorithm::HS256,
                &claims,
                "some-other-secret-0123456789abcdef",
            )),
        ),
        (
            "signature altered",
            Some(format!(
                "{signed_part}.{}",
                flipped.into_iter().collect::<String>()
            )),
        ),
        (
            "claims swapped under the original signature",
            Some(format!(
                "{header_part}.{}.{signature}",
                b64url(bobs_claims.to_string().as_bytes())
            )),
        ),
        (
            "expired ten minutes ago",
            Some(hs256(&with_fields(&claims, json!({"exp": now - 600})))),
        ),
        (
            "not valid for another ten minutes (nbf)",
            Some(hs256(&with_fields(&claims, json!({"nbf": now + 600})))),
        ),
        (
            "no exp",
            Some(hs256(&with_fields(&claims, json!({"exp": null})))),
        ),
        (
            "exp not a number",
            Some(hs256(&with_fields(&claims, json!({"exp": "tomorrow"})))),
        ),
        (
            "no sub",
            Some(hs256(&with_fields(&claims, json!({"sub": null})))),
        ),
        (
            "sub not a UUID",
            Some(hs256(&with_fields(&claims, json!({"sub": "alice"})))),
        ),
        (
            "sub a number",
            Some(hs256(&with_fields(&claims, json!({"sub": 42})))),
        ),
        ("not a JWT", Some("not-a-jwt".into())),
        ("three empty-ish parts", Some("a.b.c".into())),
        ("header only", Some("eyJhbGciOiJIUzI1NiJ9..".into())),
        ("not base64", Some("%%%".into())),
    ];
    for (case, token) in &cases {
        assert_unauthorized_everywhere(&app, case, token.as_deref(), &general).await;
    }
}

/// With an issuer configured, a token from another issuer or without one is
/// 401; the same claims with the right `iss` are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_another_or_no_issuer_are_401_when_an_issuer_is_configured() {
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

    let cases = [
        (
            "another issuer",
            mint_token(&alice, 3600, Some("https://evil.test")),
        ),
        ("no issuer", mint_token(&alice, 3600, None)),
    ];
    for (case, token) in &cases {
        assert_unauthorized_everywhere(&app, case, Some(token), &general).await;
    }
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
