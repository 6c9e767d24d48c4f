//! Files and images (PROTOCOL.md "Files and images"): uploads, messages
//! that carry them, downloads with their checks and headers, and the
//! removal of files with their messages, channels and as orphans. Runs on
//! SQLite and again on Postgres, with files on local disk.

use std::io::Cursor;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// One part of a hand-made multipart body: field name, file name (a file
/// part when given), bytes.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// The boundary of the bodies [`multipart`] makes.
const BOUNDARY: &str = "chat-test-boundary-7d1f";

/// A `multipart/form-data` body of `parts`, made by hand so that tests can
/// send what no browser would (two files, none, a path as the name).
fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, file_name, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file_name {
            Some(name) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{field}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A picture of `width` × `height` in `format`, with some content so
/// encoders do not make it trivially small.
fn picture(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encode a test picture");
    out.into_inner()
}

/// The CRC-32 of PNG chunks (ISO 3309), for a header made to lie.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A small PNG whose header claims `width` × `height` (a decompression
/// bomb: a few hundred bytes that would decode to gigabytes).
fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = picture(8, 8, image::ImageFormat::Png);
    // Signature (8), IHDR length (4), "IHDR" (4), then width and height.
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// The service key of the tests that use the admin API.
const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef0123456789";

/// A minimal PDF (its signature is what counts).
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

impl TestApp {
    /// Posts a multipart body to the channel's upload route.
    async fn upload_raw(&self, token: &str, channel: &str, body: Vec<u8>) -> reqwest::Response {
        self.api
            .post(self.url(&format!("/chat/channels/{channel}/uploads")))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .expect("upload request")
    }

    /// Uploads one file and returns the answer's `upload` (201 expected).
    async fn upload_ok(&self, token: &str, channel: &str, name: &str, bytes: &[u8]) -> Value {
        let resp = self
            .upload_raw(token, channel, multipart(&[("file", Some(name), bytes)]))
            .await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["upload"].clone()
    }

    /// Rows in the uploads table.
    async fn upload_rows(&self) -> i64 {
        self.db()
            .await
            .int_text_rows("SELECT count(*), '' FROM uploads")
            .await[0]
            .0
    }
}

/// Files under a folder of the data directory (the stored bytes, the
/// spool), recursively.
fn files_under(app: &TestApp, folder: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.data_dir.path().join(folder), &mut out);
    out
}

/// Sends `text` with `attachments` and returns the copy the sender gets.
async fn send_files(ws: &mut WsClient, text: &str, attachments: &[&str]) -> Value {
    let key = client_id();
    let mut frame = send_frame(text, &key);
    frame["attachments"] = json!(attachments);
    ws.send_json(&frame).await;
    ws.await_own(&key, WAIT).await
}

/// A picture is measured and thumbnailed; a message of files only (no
/// text) carries it live and in history; a member downloads the file and
/// its thumbnail, inline, with the ETag, 304 and ranges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_is_sent_shown_and_downloaded() {
    let app = spawn_app().await;
    let Pair {
        alice,
        bob,
        channel,
        mut a,
        mut b,
        ..
    } = app.alice_and_bob_in("Product").await;
    let png = picture(800, 600, image::ImageFormat::Png);
    let up = app.upload_ok(&alice, &channel, "holiday.png", &png).await;
    assert_eq!(up["kind"], "image");
    assert_eq!(up["mime_type"], "image/png");
    assert_eq!(
        (up["width"].as_u64(), up["height"].as_u64()),
        (Some(800), Some(600))
    );
    assert_eq!(up["size"].as_u64(), Some(png.len() as u64));
    assert_eq!(up["name"], "holiday.png");
    assert_eq!(up["channel_id"], channel.as_str());
    let id = up["id"].as_str().unwrap().to_string();
    assert_eq!(up["url"], format!("/chat/files/{id}"));
    assert_eq!(up["thumb_url"], format!("/chat/files/{id}/thumb"));

    // Not yet sent: only its uploader may fetch it.
    assert_eq!(
        app.get(&format!("/chat/files/{id}"), Some(&bob))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/chat/files/{id}"), Some(&alice))
            .await
            .status(),
        200
    );

    let sent = send_files(&mut a, "", &[&id]).await;
    assert_eq!(sent["text"], "");
    assert_eq!(sent["attachments"][0]["id"], id.as_str());
    assert_eq!(sent["attachments"][0]["mimeType"], "image/png");
    assert_eq!(
        sent["attachments"][0]["thumbUrl"],
        format!("/chat/files/{id}/thumb")
    );
    let seen = b
        .next_frame_matching("message.new", WAIT, |f| f["type"] == "message.new")
        .await;
    assert_eq!(seen["attachments"][0]["width"], 800);
    let page = app.history(&bob, &channel, &[]).await;
    let last = page["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["attachments"][0]["mime_type"], "image/png");
    assert_eq!(last["attachments"][0]["height"], 600);

    let resp = app.get(&format!("/chat/files/{id}"), Some(&bob)).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    assert_eq!(h["accept-ranges"], "bytes");
    let etag = h["etag"].to_str().unwrap().to_string();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), png.as_slice());

    let again = app
        .api
        .get(app.url(&format!("/chat/files/{id}")))
        .bearer_auth(&bob)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let part = app
        .api
        .get(app.url(&format!("/chat/files/{id}")))
        .bearer_auth(&bob)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{}", png.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &png[10..20]);
    let past = app
        .api
        .get(app.url(&format!("/chat/files/{id}")))
        .bearer_auth(&bob)
        .header("range", format!("bytes={}-", png.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);

    let thumb = app
        .get(&format!("/chat/files/{id}/thumb"), Some(&bob))
        .await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["x-content-type-options"], "nosniff");
    let bytes = thumb.bytes().await.unwrap();
    let small = image::load_from_memory(&bytes).expect("the thumbnail decodes");
    assert_eq!((small.width(), small.height()), (400, 300));
}

/// A PDF and a text file are files: a card's data, downloaded as an
/// attachment under their cleaned names, never inline; a path in the
/// name is cut to its last segment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_files_download_as_attachments() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let channel = app.channel_id(&alice, "Product").await;
    let pdf = app
        .upload_ok(&alice, &channel, "../../secret/plan v2 (é).pdf", PDF)
        .await;
    assert_eq!(pdf["kind"], "file");
    assert_eq!(pdf["mime_type"], "application/pdf");
    assert_eq!(pdf["name"], "plan v2 (é).pdf");
    assert!(pdf["thumb_url"].is_null() && pdf["width"].is_null());
    let id = pdf["id"].as_str().unwrap();
    let resp = app.get(&format!("/chat/files/{id}"), Some(&alice)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let cd = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.starts_with("attachment; filename=\"plan v2 (_).pdf\""),
        "{cd}"
    );
    assert!(
        cd.contains("filename*=UTF-8''plan%20v2%20%28%C3%A9%29.pdf"),
        "{cd}"
    );
    assert_eq!(
        app.get(&format!("/chat/files/{id}/thumb"), Some(&alice))
            .await
            .status(),
        404
    );

    let text = app
        .upload_ok(&alice, &channel, "notes.txt", "héllo\nworld\n".as_bytes())
        .await;
    assert_eq!(text["mime_type"], "text/plain");
    let id = text["id"].as_str().unwrap();
    let resp = app.get(&format!("/chat/files/{id}"), Some(&alice)).await;
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
}

/// Every refused upload answers its code and keeps nothing: no row, no
/// stored bytes, no spooled part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_uploads_keep_nothing() {
    let app = spawn_app_with(|s| {
        s.limits.upload_max_bytes = 64 * 1024;
        s.limits.image_max_pixels = 1_000_000;
    })
    .await;
    let (alice, _) = app.login(ALICE).await;
    let (carol, _) = app.login(CAROL).await;
    let product = app.channel_id(&alice, "Product").await;
    let big = vec![b'a'; 200 * 1024];
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0";
    let bomb = bomb_png(100_000, 100_000);
    let cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
        (
            "over the size limit",
            multipart(&[("file", Some("big.txt"), &big)]),
            413,
            Some("FILE_TOO_LARGE"),
        ),
        (
            "an SVG",
            multipart(&[("file", Some("x.svg"), svg)]),
            415,
            Some("UNSUPPORTED_FILE_TYPE"),
        ),
        (
            "HTML",
            multipart(&[("file", Some("x.html"), html)]),
            415,
            Some("UNSUPPORTED_FILE_TYPE"),
        ),
        (
            "a program",
            multipart(&[("file", Some("x.png"), elf)]),
            415,
            Some("UNSUPPORTED_FILE_TYPE"),
        ),
        (
            "a decompression bomb",
            multipart(&[("file", Some("bomb.png"), &bomb)]),
            422,
            Some("IMAGE_TOO_LARGE"),
        ),
        (
            "no file part",
            multipart(&[("note", None, b"hello")]),
            400,
            Some("PARSE_ERROR"),
        ),
        (
            "two file parts",
            multipart(&[("a", Some("a.txt"), b"one"), ("b", Some("b.txt"), b"two")]),
            400,
            Some("PARSE_ERROR"),
        ),
        ("an empty body", Vec::new(), 400, Some("PARSE_ERROR")),
    ];
    for (what, body, status, code) in cases {
        let resp = app.upload_raw(&alice, &product, body).await;
        assert_eq!(resp.status().as_u16(), status, "{what}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"].as_str(), code, "{what}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}"
        );
    }
    // Not multipart at all.
    let resp = app
        .api
        .post(app.url(&format!("/chat/channels/{product}/uploads")))
        .bearer_auth(&alice)
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Carol is no member of Product; an unknown channel; no token.
    let one = multipart(&[("file", Some("a.txt"), b"hi")]);
    assert_eq!(
        app.upload_raw(&carol, &product, one.clone()).await.status(),
        403
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        app.upload_raw(&alice, &unknown, one.clone()).await.status(),
        404
    );
    let anonymous = app
        .api
        .post(app.url(&format!("/chat/channels/{product}/uploads")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(one)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    assert_eq!(app.upload_rows().await, 0);
    assert!(
        files_under(&app, "files").is_empty(),
        "{:?}",
        files_under(&app, "files")
    );
    assert!(files_under(&app, "uploads-tmp").is_empty());
}

/// A picture that does not decode (cut in half) is kept as a plain file
/// without a thumbnail, never a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_picture_is_kept_as_a_file() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let channel = app.channel_id(&alice, "Product").await;
    for (name, format) in [
        ("cut.png", image::ImageFormat::Png),
        ("cut.jpg", image::ImageFormat::Jpeg),
    ] {
        let whole = picture(300, 200, format);
        let cut = &whole[..whole.len() / 2];
        let up = app.upload_ok(&alice, &channel, name, cut).await;
        assert_eq!(up["kind"], "file", "{name}");
        assert!(up["thumb_url"].is_null(), "{name}");
        let id = up["id"].as_str().unwrap();
        let resp = app.get(&format!("/chat/files/{id}"), Some(&alice)).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
    }
}

/// A send's attachments must be the sender's uploads of this channel, not
/// taken, at most 10: else `INVALID_ATTACHMENT` with its `clientId`, and
/// nothing is stored. A retry of a stored send gets the original.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_checked_and_never_shared() {
    let app = spawn_app_with(generous_rate_limits).await;
    let Pair {
        alice,
        bob,
        channel,
        mut a,
        mut b,
        ..
    } = app.alice_and_bob_in("Product").await;
    let general = app.channel_id(&alice, "General").await;
    let mine = app.upload_ok(&alice, &channel, "a.txt", b"alpha").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bobs = app.upload_ok(&bob, &channel, "b.txt", b"bravo").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let elsewhere = app.upload_ok(&alice, &general, "c.txt", b"charlie").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let head = app.head_seq(&alice, "Product").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let eleven: Vec<String> = (0..11).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let refused: Vec<(&str, Vec<&str>)> = vec![
        ("another's upload", vec![bobs.as_str()]),
        ("another channel's upload", vec![elsewhere.as_str()]),
        ("an unknown upload", vec![unknown.as_str()]),
        ("one named twice", vec![mine.as_str(), mine.as_str()]),
        ("eleven", eleven.iter().map(String::as_str).collect()),
    ];
    for (what, ids) in refused {
        let key = client_id();
        let mut frame = send_frame("with files", &key);
        frame["attachments"] = json!(ids);
        a.send_json(&frame).await;
        let err = a.next_frame_of_type("error", WAIT).await;
        assert_eq!(err["code"], "INVALID_ATTACHMENT", "{what}: {err}");
        assert_eq!(err["clientId"], key.as_str(), "{what}");
    }
    assert_eq!(app.head_seq(&alice, "Product").await, head);

    // Stored once; the same clientId again is the same message.
    let key = client_id();
    let mut frame = send_frame("with a file", &key);
    frame["attachments"] = json!([mine]);
    a.send_json(&frame).await;
    let first = a.await_own(&key, WAIT).await;
    a.send_json(&frame).await;
    let again = a.await_own(&key, WAIT).await;
    assert_eq!(first["id"], again["id"]);
    assert_eq!(app.head_seq(&alice, "Product").await, head + 1);
    // Taken: another message may not carry it, nor may bob's.
    let key = client_id();
    let mut frame = send_frame("stealing", &key);
    frame["attachments"] = json!([mine]);
    a.send_json(&frame).await;
    let err = a.next_frame_of_type("error", WAIT).await;
    assert_eq!(err["code"], "INVALID_ATTACHMENT");
    b.send_json(&frame).await;
    let err = b.next_frame_of_type("error", WAIT).await;
    assert_eq!(err["code"], "INVALID_ATTACHMENT");
    // Empty text without files is still refused.
    let key = client_id();
    a.send_json(&send_frame("  ", &key)).await;
    let err = a.next_frame_of_type("error", WAIT).await;
    assert_eq!(err["code"], "EMPTY_MESSAGE");
}

/// Access is checked on every download: a member whose access is revoked
/// gets 403 with the link they had; another channel's member too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_member_cannot_download_with_a_saved_link() {
    let app = spawn_app_with(|s| s.admin_key = Some(ADMIN_KEY.into())).await;
    let Pair {
        alice,
        bob,
        bob_id,
        channel,
        mut a,
        ..
    } = app.alice_and_bob_in("Product").await;
    let (carol, _) = app.login(CAROL).await;
    let png = picture(64, 64, image::ImageFormat::Png);
    let id = app.upload_ok(&alice, &channel, "p.png", &png).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    send_files(&mut a, "look", &[&id]).await;
    let link = format!("/chat/files/{id}");
    assert_eq!(app.get(&link, Some(&bob)).await.status(), 200);
    assert_eq!(app.get(&link, Some(&carol)).await.status(), 403);
    assert_eq!(app.get(&link, None).await.status(), 401);
    let revoked = app
        .api
        .delete(app.url(&format!("/admin/tablos/{channel}/members/{bob_id}")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let resp = app.get(&link, Some(&bob)).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        app.get(&format!("{link}/thumb"), Some(&bob)).await.status(),
        403
    );
    assert_eq!(
        app.get("/chat/files/not-a-uuid", Some(&alice))
            .await
            .status(),
        400
    );
}

/// Deleting a message removes its files (404 at once, the bytes after
/// the sweep); so does the host app deleting the channel; and an upload
/// no message takes goes after the orphan lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_with_their_message_their_channel_and_as_orphans() {
    let app = spawn_app_with(|s| {
        s.limits.files_sweep_interval = Duration::from_millis(200);
        s.limits.upload_orphan_after = Duration::from_secs(2);
        s.admin_key = Some(ADMIN_KEY.into());
    })
    .await;
    let Pair {
        alice,
        channel,
        mut a,
        ..
    } = app.alice_and_bob_in("Product").await;
    let png = picture(64, 48, image::ImageFormat::Png);
    let id = app.upload_ok(&alice, &channel, "p.png", &png).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sent = send_files(&mut a, "soon gone", &[&id]).await;
    assert_eq!(
        files_under(&app, "files").len() + files_under(&app, "thumbs").len(),
        2
    );
    a.send_json(&json!({"type": "message.delete", "id": sent["id"]}))
        .await;
    let tomb = a.next_frame_of_type("message.updated", WAIT).await;
    assert_eq!(tomb["deleted"], true);
    assert!(tomb
        .get("attachments")
        .is_none_or(|v| v.as_array().is_some_and(Vec::is_empty)));
    assert_eq!(
        app.get(&format!("/chat/files/{id}"), Some(&alice))
            .await
            .status(),
        404
    );
    wait_until(|| async { app.upload_rows().await == 0 }).await;
    assert!(files_under(&app, "files").is_empty() && files_under(&app, "thumbs").is_empty());

    // An orphan: never sent.
    app.upload_ok(&alice, &channel, "never.txt", b"orphan")
        .await;
    assert_eq!(app.upload_rows().await, 1);
    wait_until(|| async { app.upload_rows().await == 0 }).await;
    assert!(files_under(&app, "files").is_empty());

    // The host app deletes the channel with a file in it.
    let id = app
        .upload_ok(&alice, &channel, "q.txt", b"in a channel")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    send_files(&mut a, "kept until the channel goes", &[&id]).await;
    let resp = app
        .api
        .delete(app.url(&format!("/admin/tablos/{channel}")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    wait_until(|| async { app.upload_rows().await == 0 }).await;
    assert!(files_under(&app, "files").is_empty());
}

/// A user's uploads of the last day are limited in bytes: past it, 429
/// and nothing kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_upload_allowance_is_kept() {
    let app = spawn_app_with(|s| s.limits.upload_daily_bytes = 10_000).await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let channel = app.channel_id(&alice, "Product").await;
    app.upload_ok(&alice, &channel, "a.txt", &[b'a'; 6_000])
        .await;
    let resp = app
        .upload_raw(
            &alice,
            &channel,
            multipart(&[("file", Some("b.txt"), &[b'b'; 6_000])]),
        )
        .await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(app.upload_rows().await, 1);
    // Bob's allowance is his own.
    app.upload_ok(&bob, &channel, "c.txt", &[b'c'; 6_000]).await;
}

/// Polls `check` until it holds (bounded by [`WAIT`] twice over).
async fn wait_until<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The S3-protocol server the test command starts on loopback (moto's
/// server mode), when `CHAT_TEST_S3` names it.
fn s3_endpoint() -> Option<String> {
    std::env::var("CHAT_TEST_S3").ok().filter(|v| !v.is_empty())
}

/// A new, empty bucket on the S3-protocol server.
async fn new_bucket(endpoint: &str) -> String {
    let bucket = format!("chat-test-{}", uuid::Uuid::new_v4().simple());
    let resp = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("create a bucket");
    assert!(
        resp.status().is_success(),
        "creating {bucket}: {}",
        resp.status()
    );
    bucket
}

/// The keys in a bucket (its listing, read without credentials: the test
/// server allows it).
async fn bucket_keys(endpoint: &str, bucket: &str) -> Vec<String> {
    let xml = reqwest::get(format!("{endpoint}/{bucket}?list-type=2"))
        .await
        .expect("list a bucket")
        .text()
        .await
        .unwrap();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split("</Key>").next().map(str::to_owned))
        .collect()
}

/// With files in an S3-compatible store: an upload lands in the bucket
/// under the server's key, a download is a redirect (after the membership
/// check) to a presigned URL that serves the bytes with their type, and
/// a deleted message's file and thumbnail leave the bucket. Needs
/// `CHAT_TEST_S3` (the test command starts moto's server); without it the
/// test fails in CI and, in a developer's partial run, says so and checks
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_uploads_download_by_presigned_url_and_leave_with_their_message() {
    let Some(endpoint) = s3_endpoint() else {
        // The test command always starts one; only a developer's partial
        // run may go without.
        assert!(
            std::env::var_os("CI").is_none(),
            "CHAT_TEST_S3 must name an S3-protocol server in CI (scripts/s3.sh)"
        );
        eprintln!("CHAT_TEST_S3 is not set: the S3 test checks nothing");
        return;
    };
    let bucket = new_bucket(&endpoint).await;
    let env = vec![
        ("AWS_ENDPOINT_URL".to_string(), endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".to_string(), "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "test".to_string()),
        ("AWS_REGION".to_string(), "us-east-1".to_string()),
    ];
    let url = format!("s3://{bucket}/chat");
    let app = spawn_app_with(move |s| {
        s.files_url = Some(url);
        s.files_env = Some(env);
        s.limits.files_sweep_interval = Duration::from_millis(200);
    })
    .await;
    let Pair {
        alice,
        bob,
        channel,
        mut a,
        ..
    } = app.alice_and_bob_in("Product").await;
    let (carol, _) = app.login(CAROL).await;
    let png = picture(640, 480, image::ImageFormat::Png);
    let up = app.upload_ok(&alice, &channel, "bucket.png", &png).await;
    let id = up["id"].as_str().unwrap().to_string();
    let keys = bucket_keys(&endpoint, &bucket).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("chat/") && k.contains(&id)),
        "{keys:?}"
    );
    // Nothing spooled is left behind on local disk.
    assert!(files_under(&app, "uploads-tmp").is_empty());
    let sent = send_files(&mut a, "in the bucket", &[&id]).await;

    for (path, ty, bytes) in [
        (format!("/chat/files/{id}"), "image/png", Some(png.clone())),
        (format!("/chat/files/{id}/thumb"), "image/jpeg", None),
    ] {
        let resp = app.get(&path, Some(&bob)).await;
        assert_eq!(resp.status(), 302, "{path}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(&endpoint), "{location}");
        assert!(location.contains("X-Amz-Signature="), "{location}");
        let object = reqwest::get(&location).await.unwrap();
        assert_eq!(object.status(), 200, "{location}");
        assert_eq!(object.headers()["content-type"], ty);
        let body = object.bytes().await.unwrap();
        match bytes {
            Some(bytes) => assert_eq!(body.as_ref(), bytes.as_slice()),
            None => assert!(image::load_from_memory(&body).is_ok()),
        }
    }
    // The check comes before the redirect.
    assert_eq!(
        app.get(&format!("/chat/files/{id}"), Some(&carol))
            .await
            .status(),
        403
    );

    a.send_json(&json!({"type": "message.delete", "id": sent["id"]}))
        .await;
    a.next_frame_of_type("message.updated", WAIT).await;
    assert_eq!(
        app.get(&format!("/chat/files/{id}"), Some(&bob))
            .await
            .status(),
        404
    );
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    while !bucket_keys(&endpoint, &bucket).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bucket still holds the files"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.upload_rows().await, 0);
}

/// Files go by the send route and the server function too: the same
/// checks as the frame's (a taken upload is refused), and the message
/// reaches the channel's sockets with its attachments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_sent_by_the_route_and_the_server_function() {
    let app = spawn_app().await;
    let Pair {
        alice,
        channel,
        mut b,
        ..
    } = app.alice_and_bob_in("Product").await;
    let path = format!("/chat/channels/{channel}/messages");
    let pdf = app
        .upload_ok(
            &alice,
            &channel,
            "plan.pdf",
            b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n",
        )
        .await;
    let png = picture(120, 90, image::ImageFormat::Png);
    let pic = app.upload_ok(&alice, &channel, "pic.png", &png).await;

    let r = app
        .post(
            &path,
            Some(&alice),
            Some(&json!({"text": "", "clientId": "f-1", "attachments": [pdf["id"]]})),
        )
        .await;
    assert_eq!(r.status(), 201);
    let sent: Value = r.json().await.unwrap();
    assert_eq!(sent["message"]["attachments"][0]["name"], "plan.pdf");
    let live = b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(live["attachments"][0]["mimeType"], "application/pdf");
    // Taken now: another message may not carry it.
    let r = app
        .post(
            &path,
            Some(&alice),
            Some(&json!({"text": "again", "clientId": "f-2", "attachments": [pdf["id"]]})),
        )
        .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "INVALID_ATTACHMENT");

    let cookie = app.login_cookie(ALICE).await;
    let res = app
        .api
        .post(app.url("/api/send_message"))
        .header("cookie", &cookie)
        .json(&json!({"channel_id": channel, "message": {"text": "a picture", "clientId": "f-3", "attachments": [pic["id"]]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["attachments"][0]["kind"], "image");
    assert_eq!(m["attachments"][0]["width"], 120);
}
