//! The site's static files as browsers get them (`server::http::site_files`):
//! versioned names in the pages, precompressed encodings by
//! `Accept-Encoding`, strong ETags and 304s, year-long caching for versioned
//! names only; and compression of pages and JSON. Served from a site
//! directory made here (the embedded form is checked on the release binary
//! by scripts/embedded-smoke.sh, with the same code).

use std::path::Path;

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use tempfile::TempDir;

use crate::helpers::*;

const WASM: &[u8] = b"\0asm\x01\0\0\0 pretend module bytes, long enough to matter ................";
const WASM_BR: &[u8] = b"brotli bytes of the module";
const WASM_GZ: &[u8] = b"gzip bytes of the module";
const JS: &[u8] = b"export default function init() {}\nexport function hydrate() {}\n";

/// A site directory with the bundle; the Wasm has precompressed siblings,
/// the JS has none.
fn site() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("chat.wasm"), WASM).unwrap();
    std::fs::write(pkg.join("chat.wasm.br"), WASM_BR).unwrap();
    std::fs::write(pkg.join("chat.wasm.gz"), WASM_GZ).unwrap();
    std::fs::write(pkg.join("chat.js"), JS).unwrap();
    std::fs::write(pkg.join("chat.css"), b"body { margin: 0 }\n").unwrap();
    std::fs::write(dir.path().join("favicon.svg"), b"<svg/>").unwrap();
    dir
}

async fn app_with_site(site: &Path) -> TestApp {
    let root = site.to_str().unwrap().to_owned();
    spawn_app_with(move |s| {
        s.site_root = root;
        generous_rate_limits(s);
    })
    .await
}

/// The `/pkg/...` paths a page names.
fn pkg_paths(html: &str) -> Vec<String> {
    let mut paths: Vec<String> = html
        .match_indices("/pkg/")
        .map(|(i, _)| {
            html[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
                .collect()
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The page's versioned path of `pkg/chat.<ext>`.
fn versioned(html: &str, ext: &str) -> String {
    pkg_paths(html)
        .into_iter()
        .find(|p| p.starts_with("/pkg/chat.") && p.ends_with(&format!(".{ext}")))
        .unwrap_or_else(|| panic!("the page names no chat.*.{ext}: {html}"))
}

/// Pages name each file by a versioned path that serves it, cached for a
/// year; the plain name still serves it, revalidated every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_name_versioned_files_cached_for_a_year() {
    let site = site();
    let app = app_with_site(site.path()).await;
    let html = app.get("/login", None).await.text().await.unwrap();
    let wasm = versioned(&html, "wasm");
    let js = versioned(&html, "js");
    versioned(&html, "css");
    assert!(
        wasm.len() == "/pkg/chat.0123456789abcdef.wasm".len(),
        "versioned name: {wasm}"
    );
    assert!(
        html.contains(&format!("module_or_path: \"{wasm}\"")),
        "{html}"
    );

    let res = app.get(&wasm, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/wasm");
    assert_eq!(
        res.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(res.headers().get(ETAG).is_some());
    assert_eq!(res.bytes().await.unwrap(), WASM);

    let res = app.get(&js, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), JS);

    let res = app.get("/pkg/chat.wasm", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-cache");
    assert_eq!(res.bytes().await.unwrap(), WASM);
}

/// A versioned name whose hash is not the current content's answers 404
/// (that version is gone), and a rewritten file gets a new name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_gets_a_new_name_and_the_old_name_is_gone() {
    let site = site();
    let app = app_with_site(site.path()).await;
    let html = app.get("/login", None).await.text().await.unwrap();
    let old = versioned(&html, "js");

    std::fs::write(
        site.path().join("pkg/chat.js"),
        b"export const changed = 1;\n",
    )
    .unwrap();
    let html = app.get("/login", None).await.text().await.unwrap();
    let new = versioned(&html, "js");
    assert_ne!(old, new);
    assert_eq!(app.get(&old, None).await.status(), 404);
    let res = app.get(&new, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.bytes().await.unwrap(),
        &b"export const changed = 1;\n"[..]
    );
    assert_eq!(
        app.get("/pkg/chat.ffffffffffffffff.wasm", None)
            .await
            .status(),
        404
    );
}

/// GET with an `Accept-Encoding` and, for a revisit, an `If-None-Match`.
async fn get_accepting(
    app: &TestApp,
    path: &str,
    accept_encoding: &str,
    if_none_match: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .api
        .get(app.url(path))
        .header(ACCEPT_ENCODING, accept_encoding);
    if let Some(etag) = if_none_match {
        req = req.header(IF_NONE_MATCH, etag);
    }
    req.send().await.unwrap()
}

/// The best precompressed encoding the request accepts: brotli, then gzip,
/// else the file itself; every answer varies by `Accept-Encoding`, and each
/// encoding has its own ETag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precompressed_files_go_to_browsers_that_accept_them() {
    let site = site();
    let app = app_with_site(site.path()).await;
    let html = app.get("/login", None).await.text().await.unwrap();
    let wasm = versioned(&html, "wasm");

    let mut etags = Vec::new();
    for (accept, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), WASM_BR),
        ("gzip", Some("gzip"), WASM_GZ),
        ("br;q=0, gzip", Some("gzip"), WASM_GZ),
        ("identity", None, WASM),
    ] {
        let res = get_accepting(&app, &wasm, accept, None).await;
        assert_eq!(res.status(), 200, "{accept}");
        assert_eq!(
            res.headers()
                .get(CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert_eq!(res.headers()[VARY], "accept-encoding");
        assert_eq!(res.headers()[CONTENT_TYPE], "application/wasm");
        etags.push(res.headers()[ETAG].to_str().unwrap().to_owned());
        assert_eq!(res.bytes().await.unwrap(), body, "{accept}");
    }
    assert_ne!(etags[0], etags[1]);
    assert_ne!(etags[1], etags[3]);
    assert_eq!(etags[1], etags[2]);

    // No sibling: the file as it is, never compressed per request.
    let js = versioned(&html, "js");
    let res = get_accepting(&app, &js, "br, gzip", None).await;
    assert!(res.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(res.bytes().await.unwrap(), JS);

    // The siblings are representations, not files of their own.
    let res = app.get("/pkg/chat.wasm.br", None).await;
    assert_eq!(res.status(), 404);
    assert_ne!(res.bytes().await.unwrap(), WASM_BR);
}

/// A precompressed sibling older than its file (left from another build)
/// is not sent: it would be other bytes than the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sibling_older_than_its_file_is_not_sent() {
    let site = site();
    let app = app_with_site(site.path()).await;
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(site.path().join("pkg/chat.wasm"), b"\0asm rebuilt").unwrap();
    let res = get_accepting(&app, "/pkg/chat.wasm", "br, gzip", None).await;
    assert!(res.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(res.bytes().await.unwrap(), &b"\0asm rebuilt"[..]);
}

/// A revisit with the ETag it was given gets 304 and no body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revisit_with_the_etag_gets_304() {
    let site = site();
    let app = app_with_site(site.path()).await;
    let html = app.get("/login", None).await.text().await.unwrap();
    for path in [versioned(&html, "wasm"), "/pkg/chat.wasm".to_owned()] {
        let first = get_accepting(&app, &path, "br", None).await;
        let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
        let again = get_accepting(&app, &path, "br", Some(&etag)).await;
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()[ETAG].to_str().unwrap(), etag);
        assert!(again.bytes().await.unwrap().is_empty());
        // Another encoding is another representation: a full answer.
        let other = get_accepting(&app, &path, "gzip", Some(&etag)).await;
        assert_eq!(other.status(), 200, "{path}");
        assert_eq!(other.bytes().await.unwrap(), WASM_GZ);
    }
}

/// Pages and JSON are compressed for clients that accept it, tiny bodies
/// are not, and a WebSocket upgrade asked for with `Accept-Encoding` still
/// works (its 101 carries no `Content-Encoding`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_json_are_compressed_but_not_upgrades_or_tiny_bodies() {
    let site = site();
    let app = app_with_site(site.path()).await;
    let res = get_accepting(&app, "/login", "br", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CONTENT_ENCODING], "br");
    let res = get_accepting(&app, "/login", "gzip", None).await;
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");
    let res = app.get("/login", None).await;
    assert!(res.headers().get(CONTENT_ENCODING).is_none());

    let (alice, _) = app.login(ALICE).await;
    let channel = app.channel_id(&alice, "General").await;
    let mut ws = app.ws_join(&alice, &channel).await;
    ws.send_many(
        30,
        "a message long enough to make the page bigger than a kilobyte",
    )
    .await;
    let res = app
        .api
        .get(app.url(&format!("/chat/channels/{channel}/messages")))
        .bearer_auth(&alice)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");

    let res = get_accepting(&app, "/healthz", "gzip", None).await;
    assert!(
        res.headers().get(CONTENT_ENCODING).is_none(),
        "tiny body compressed"
    );

    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("{}/chat/ws/{channel}?token={alice}", app.ws_address),
    )
    .unwrap();
    req.headers_mut()
        .insert("accept-encoding", "gzip, br".parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(req)
        .await
        .expect("the upgrade works with Accept-Encoding");
    assert!(response.headers().get("content-encoding").is_none());
    let first = futures_util::StreamExt::next(&mut socket).await;
    assert!(matches!(first, Some(Ok(_))), "{first:?}");
}
