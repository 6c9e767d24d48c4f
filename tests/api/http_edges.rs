//! CORS, the cookie's `Secure` flag behind https, and the generated
//! development secret.

use crate::helpers::*;

/// A CORS preflight from an allowed origin is answered with that origin
/// and credentials; a foreign origin gets no CORS headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_configured_origins() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.api
            .request(reqwest::Method::OPTIONS, app.url("/chat/channels"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight(ALLOWED_ORIGIN).await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        ALLOWED_ORIGIN,
        "{:?}",
        ok.headers()
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let foreign = preflight("http://evil.test").await.unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        foreign.headers()
    );
}

/// Behind a TLS-terminating proxy (`X-Forwarded-Proto: https`) the session
/// cookie is `Secure`; over plain http it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_secure_behind_https() {
    let app = spawn_app().await;
    let login = |proto: Option<&'static str>| {
        let mut req = app
            .api
            .post(app.url("/auth/login"))
            .json(&serde_json::json!({"email": ALICE, "password": PASSWORD}));
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        req.send()
    };
    let https = login(Some("https")).await.unwrap();
    let cookie = set_cookies(&https).join(";");
    assert!(cookie.contains("Secure"), "{cookie}");
    let plain = login(None).await.unwrap();
    let cookie = set_cookies(&plain).join(";");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

/// With no secret configured the server generates one into the data
/// directory, and tokens stay valid across a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_dev_secret_is_kept_in_the_data_directory() {
    let app = spawn_app_with(|s| s.jwt_secret = None).await;
    let (token, _) = app.login(ALICE).await;
    let secret_file = app.data_dir.path().join("jwt_secret");
    let secret = std::fs::read_to_string(&secret_file).expect("secret file written");
    assert!(secret.trim().len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "secret readable by others: {mode:o}");
    }
    let dir = app.stop().await;
    let app = spawn_app_in(dir, |s| s.jwt_secret = None).await;
    assert_eq!(app.get("/chat/channels", Some(&token)).await.status(), 200);
    // A token signed with the test secret is not valid here.
    let foreign = mint_token(&uuid::Uuid::new_v4().to_string(), 3600, None);
    assert_eq!(
        app.get("/chat/channels", Some(&foreign)).await.status(),
        401
    );
}

/// Password guessing is rate limited per e-mail: after the burst, login
/// answers 429 with `Retry-After`, even for the right password; another
/// account is not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_rate_limited_per_email() {
    let app = spawn_app_with(|s| {
        s.limits.login_burst = 3;
        s.limits.login_per_minute = 1;
    })
    .await;
    for _ in 0..3 {
        let resp = app.post_login(ALICE, "guess").await;
        assert_eq!(resp.status(), 401);
    }
    let limited = app.post_login(ALICE, PASSWORD).await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    // E-mails are compared case-insensitively.
    assert_eq!(
        app.post_login("ALICE@example.com", PASSWORD).await.status(),
        429
    );
    assert_eq!(app.post_login(BOB, PASSWORD).await.status(), 200);
}
