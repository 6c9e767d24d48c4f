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
