//! Link previews (PROTOCOL.md "Link previews"): a local "site" on loopback
//! serves pages, pictures and redirects; the chat server reaches it only
//! through the test host name `site.test` (`CHAT_PREVIEW_TEST_HOSTS`),
//! while every other loopback, private or special address, and any
//! redirect into one, is refused without being contacted. Nothing outside
//! loopback is ever contacted: refused addresses are refused before a
//! connection. Runs on SQLite and again on Postgres.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use crate::helpers::*;

/// The local site: its port and how often each path was asked for.
#[derive(Clone)]
struct Site {
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// `/page` answers 500 while set.
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Site {
    /// A URL of the site under the test host name.
    fn url(&self, path: &str) -> String {
        format!("http://site.test:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// A 600 × 315 PNG (a typical `og:image` shape, smaller).
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(600, 315, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Starts the site on 127.0.0.1 and a free port.
async fn start_site() -> Site {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let site = Site {
        port,
        hits: Arc::default(),
        down: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/{*path}", get(serve_site))
        .with_state(site.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    site
}

async fn serve_site(State(site): State<Site>, Path(path): Path<String>) -> Response {
    *site
        .hits
        .lock()
        .unwrap()
        .entry(format!("/{path}"))
        .or_default() += 1;
    let port = site.port;
    let html =
        |body: String| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let redirect = |to: String| (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
    let down = site.down.load(std::sync::atomic::Ordering::SeqCst);
    match path.as_str() {
        "page" if down => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "page" => html(
            "<!doctype html><html><head><title>Fallback title</title>\
             <meta property=\"og:title\" content=\"The plan &amp; the budget\">\
             <meta property=\"og:description\" content=\"Everything about Q3.\">\
             <meta property=\"og:site_name\" content=\"Example Docs\">\
             <meta property=\"og:image\" content=\"/picture.png\">\
             </head><body>hello</body></html>"
                .into(),
        ),
        "plain" => html("<html><head><title>A plain page</title></head></html>".into()),
        "second" => html(
            "<html><head><meta name=\"description\" content=\"The second page.\">\
             <title>Second</title></head></html>"
                .into(),
        ),
        "picture.png" => ([(header::CONTENT_TYPE, "image/png")], png()).into_response(),
        "notes.txt" => {
            ([(header::CONTENT_TYPE, "text/plain")], "<title>no</title>").into_response()
        }
        "to-loopback" => redirect(format!("http://127.0.0.1:{port}/secret")),
        "to-private" => redirect("http://10.0.0.1/secret".into()),
        "to-metadata" => redirect("http://169.254.169.254/latest/meta-data".into()),
        "to-localhost" => redirect(format!("http://localhost:{port}/secret")),
        "to-localhost-80" => redirect("http://localhost/secret".into()),
        "to-mapped" => redirect(format!("http://[::ffff:127.0.0.1]:{port}/secret")),
        "to-relative" => redirect("/plain".into()),
        "loop" => redirect("/loop".into()),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn app_with_previews() -> TestApp {
    spawn_app_with(|s| {
        generous_rate_limits(s);
        s.link_previews = true;
        s.preview_test_hosts = vec!["site.test".into()];
    })
    .await
}

/// The next `message.updated` of message `id` that carries previews (or
/// any update, with `with_previews` false).
async fn next_update(ws: &mut WsClient, id: &str, with_previews: bool) -> Value {
    ws.next_frame_matching("message.updated", WAIT, |v| {
        v["type"] == "message.updated"
            && v["id"] == id
            && (!with_previews || v.get("previews").is_some())
    })
    .await
}

/// Waits until the preview cache holds an entry for each of `urls` (a
/// fetch, or a refusal, has finished).
async fn cached(app: &TestApp, urls: &[String]) {
    let mut db = app.db().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    for url in urls {
        while db.count_where(("link_previews", "url"), url).await == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no cache entry for {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Message `id` as the history route has it.
async fn stored(app: &TestApp, token: &str, channel: &str, id: &str) -> Value {
    let page = app.history(token, channel, &[]).await;
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_link_gets_a_preview_with_the_servers_own_picture() {
    let site = start_site().await;
    let app = app_with_previews().await;
    let mut pair = app.alice_and_bob_in("General").await;
    let link = site.url("/page");
    let sent = pair.a.send_ok(&format!("the plan: {link} **today**")).await;
    let id = sent["id"].as_str().unwrap().to_string();

    let update = next_update(&mut pair.b, &id, true).await;
    assert!(update["rev"].as_i64().unwrap() > sent["rev"].as_i64().unwrap_or(0));
    let previews = update["previews"].as_array().unwrap();
    assert_eq!(previews.len(), 1, "{update}");
    let p = &previews[0];
    assert_eq!(p["url"], link.as_str());
    assert_eq!(p["title"], "The plan & the budget");
    assert_eq!(p["description"], "Everything about Q3.");
    assert_eq!(p["siteName"], "Example Docs");
    let image = &p["image"];
    let image_url = image["url"].as_str().unwrap().to_string();
    assert!(image_url.starts_with("/chat/previews/"), "{image_url}");
    assert!(image_url.ends_with("/image"));
    // The thumbnail of 600 × 315 at the default 400 px long side.
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(400), Some(210))
    );
    // The page was read once, its picture once; the sender's text kept.
    assert_eq!((site.hits("/page"), site.hits("/picture.png")), (1, 1));
    assert_eq!(update["text"], sent["text"]);
    // The sender's socket gets the same change.
    let own = next_update(&mut pair.a, &id, true).await;
    assert_eq!(own["previews"], update["previews"]);

    // History (JSON routes) in snake_case.
    let stored = stored(&app, &pair.bob, &pair.channel, &id).await;
    assert_eq!(stored["previews"][0]["site_name"], "Example Docs");
    assert_eq!(stored["previews"][0]["image"]["url"], image_url.as_str());

    // The picture: the server's copy, for signed-in users, with the file
    // answers' headers.
    let r = app.get(&image_url, Some(&pair.bob)).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    let kind = h["content-type"].to_str().unwrap().to_string();
    assert!(kind == "image/jpeg" || kind == "image/png", "{kind}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let etag = h["etag"].to_str().unwrap().to_string();
    let bytes = r.bytes().await.unwrap();
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (400, 210));
    let again = app
        .api
        .get(app.url(&image_url))
        .bearer_auth(&pair.bob)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(app.get(&image_url, None).await.status(), 401);
    let unknown = format!("/chat/previews/{}/image", uuid::Uuid::new_v4());
    assert_eq!(app.get(&unknown, Some(&pair.bob)).await.status(), 404);
    assert_eq!(
        app.get("/chat/previews/nope/image", Some(&pair.bob))
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn a_link_posted_again_is_read_from_the_cache() {
    let site = start_site().await;
    let app = app_with_previews().await;
    let mut pair = app.alice_and_bob_in("General").await;
    let link = site.url("/plain");
    for n in 0..3 {
        let sent = pair.a.send_ok(&format!("{n}: {link}")).await;
        let update = next_update(&mut pair.b, sent["id"].as_str().unwrap(), true).await;
        assert_eq!(update["previews"][0]["title"], "A plain page");
        assert!(update["previews"][0]
            .get("image")
            .is_none_or(Value::is_null));
    }
    assert_eq!(site.hits("/plain"), 1);
}

#[tokio::test]
async fn only_the_first_links_shown_as_links_are_previewed_each_once() {
    let site = start_site().await;
    let app = app_with_previews().await;
    let mut pair = app.alice_and_bob_in("General").await;
    let text = format!(
        "`{}` then {} and [again]({}) then {} {} {}",
        site.url("/notes.txt"),
        site.url("/plain"),
        site.url("/plain"),
        site.url("/second"),
        site.url("/to-relative"),
        site.url("/page"),
    );
    let sent = pair.a.send_ok(&text).await;
    let update = next_update(&mut pair.b, sent["id"].as_str().unwrap(), true).await;
    let titles: Vec<&str> = update["previews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap_or(""))
        .collect();
    // Code is no link; /plain once; three links at most (the redirect is
    // the third, followed to /plain); /page is the fourth.
    assert_eq!(titles, ["A plain page", "Second", "A plain page"]);
    assert_eq!(site.hits("/notes.txt"), 0);
    assert_eq!(site.hits("/page"), 0);
}

#[tokio::test]
async fn an_edit_fetches_again_and_a_delete_drops_the_previews() {
    let site = start_site().await;
    let app = app_with_previews().await;
    let mut pair = app.alice_and_bob_in("General").await;
    let sent = pair.a.send_ok(&format!("see {}", site.url("/plain"))).await;
    let id = sent["id"].as_str().unwrap().to_string();
    next_update(&mut pair.b, &id, true).await;

    pair.a
        .send_json(&json!({"type": "message.edit", "id": id, "text": format!("no, {}", site.url("/second"))}))
        .await;
    // The edit itself carries no previews (the old text's are gone)...
    let edited = next_update(&mut pair.b, &id, false).await;
    assert!(edited.get("previews").is_none(), "{edited}");
    // ... and the new text's come next.
    let update = next_update(&mut pair.b, &id, true).await;
    assert_eq!(update["previews"][0]["title"], "Second");
    assert_eq!(update["previews"][0]["description"], "The second page.");

    pair.a
        .send_json(&json!({"type": "message.delete", "id": id}))
        .await;
    let deleted = next_update(&mut pair.b, &id, false).await;
    assert_eq!(deleted["deleted"], true);
    assert!(deleted.get("previews").is_none(), "{deleted}");
    let stored = stored(&app, &pair.bob, &pair.channel, &id).await;
    assert!(stored.get("previews").is_none(), "{stored}");
}

#[tokio::test]
async fn private_addresses_and_redirects_into_them_are_refused_without_contact() {
    let site = start_site().await;
    let app = app_with_previews().await;
    let mut pair = app.alice_and_bob_in("General").await;
    let port = site.port;
    let refused: Vec<String> = vec![
        // Redirect chains into the server's own networks.
        site.url("/to-loopback"),
        site.url("/to-private"),
        site.url("/to-metadata"),
        site.url("/to-localhost"),
        site.url("/to-localhost-80"),
        site.url("/to-mapped"),
        site.url("/loop"),
        // Written directly.
        format!("http://127.0.0.1:{port}/secret"),
        "http://127.0.0.1/secret".into(),
        format!("http://[::1]:{port}/secret"),
        "http://[::ffff:127.0.0.1]/secret".into(),
        "http://localhost/secret".into(),
        "http://10.1.2.3/secret".into(),
        "http://192.168.0.1/secret".into(),
        "http://172.16.0.1/secret".into(),
        "http://100.64.0.1/secret".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        "http://[fd00::1]/secret".into(),
        "http://[fe80::1]/secret".into(),
        "http://224.0.0.1/secret".into(),
        "http://0.0.0.0/secret".into(),
        // Credentials, other ports, not HTML.
        format!("http://user:pw@site.test:{port}/page"),
        "http://example.invalid:8080/secret".into(),
        site.url("/notes.txt"),
        site.url("/missing"),
    ];
    let mut ids = Vec::new();
    for url in &refused {
        let sent = pair.a.send_ok(&format!("look {url}")).await;
        ids.push(sent["id"].as_str().unwrap().to_string());
    }
    cached(&app, &refused).await;
    // Then a good link: its preview comes, the refused ones' never did.
    let good = pair
        .a
        .send_ok(&format!("fine {}", site.url("/plain")))
        .await;
    let good_id = good["id"].as_str().unwrap().to_string();
    let v = pair
        .b
        .next_frame_matching("the good preview", WAIT, |v| {
            v["type"] == "message.updated" && v.get("previews").is_some()
        })
        .await;
    assert_eq!(
        v["id"],
        good_id.as_str(),
        "only the good link got a preview"
    );
    assert_eq!(site.hits("/secret"), 0, "a refused address was contacted");
    assert_eq!(site.hits("/page"), 0, "a link with credentials was fetched");
    assert!(site.hits("/loop") <= 6, "redirects are bounded");
    let page = app
        .history(&pair.bob, &pair.channel, &[("limit", "100")])
        .await;
    for m in page["messages"].as_array().unwrap() {
        if ids.contains(&m["id"].as_str().unwrap().to_string()) {
            assert!(m.get("previews").is_none(), "{m}");
        }
    }
}

#[tokio::test]
async fn previews_are_off_by_default() {
    let site = start_site().await;
    let app = spawn_app_with(|s| s.preview_test_hosts = vec!["site.test".into()]).await;
    let mut pair = app.alice_and_bob_in("General").await;
    pair.a.send_ok(&format!("see {}", site.url("/plain"))).await;
    pair.b
        .expect_no_frame_of_type("message.updated", Duration::from_millis(1500))
        .await;
    assert_eq!(site.hits("/plain"), 0);
}

#[tokio::test]
async fn a_page_that_fails_when_fetched_again_keeps_its_preview_and_picture() {
    let site = start_site().await;
    // Every post fetches again (nothing is cached for long).
    let app = spawn_app_with(|s| {
        generous_rate_limits(s);
        s.link_previews = true;
        s.preview_test_hosts = vec!["site.test".into()];
        s.limits.preview_cache = Duration::ZERO;
    })
    .await;
    let mut pair = app.alice_and_bob_in("General").await;
    let link = site.url("/page");
    let first = pair.a.send_ok(&format!("one {link}")).await;
    let first = next_update(&mut pair.b, first["id"].as_str().unwrap(), true).await;
    let picture = first["previews"][0]["image"]["url"]
        .as_str()
        .unwrap()
        .to_string();

    site.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let second = pair.a.send_ok(&format!("two {link}")).await;
    let second = next_update(&mut pair.b, second["id"].as_str().unwrap(), true).await;
    assert_eq!(site.hits("/page"), 2, "fetched again");
    // What was read before, with the same picture, which still serves.
    assert_eq!(second["previews"], first["previews"]);
    assert_eq!(app.get(&picture, Some(&pair.bob)).await.status(), 200);

    site.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let third = pair.a.send_ok(&format!("three {link}")).await;
    let third = next_update(&mut pair.b, third["id"].as_str().unwrap(), true).await;
    // Fetched and its picture stored again under the URL's one id.
    assert_eq!(site.hits("/picture.png"), 2);
    assert_eq!(third["previews"][0]["image"]["url"], picture.as_str());
    assert_eq!(app.get(&picture, Some(&pair.bob)).await.status(), 200);
}
