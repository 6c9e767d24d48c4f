//! The server killed with SIGKILL while files upload, several times, and
//! started again on the same data directory (PROTOCOL.md "Files and
//! images"). Uploaders stream files slowly, by hand-written HTTP requests,
//! so kills land in the middle of bodies; between kills the uploads that
//! were answered 201 are sent in messages.
//!
//! Afterwards:
//! - every upload answered 201 downloads whole: its bytes' SHA-256 and
//!   size are what was sent;
//! - every file a stored message carries downloads whole;
//! - every stored upload row either has its bytes in full (size and
//!   SHA-256 as recorded) or none at all (a kill between the row and the
//!   bytes: its id never reached anyone, and the orphan sweep removes it);
//!   no half file is ever in storage under an upload's key.
//!
//! Randomised; the seed is printed and `CHAT_CRASH_SEED` replays it.

#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/server_process.rs"]
mod server_process;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use crate::helpers::*;
use crate::server_process::{crash_seed, free_port, ServerProcess};

/// Kills of the server during the run.
const KILLS: usize = 4;
/// Uploaders streaming at once.
const UPLOADERS: usize = 3;
/// One file's size: several chunks, well under the limit.
const FILE_BYTES: usize = 600 * 1024;
/// One write of a body.
const CHUNK: usize = 32 * 1024;
/// The pause between writes, so a body takes about half a second.
const CHUNK_PAUSE: Duration = Duration::from_millis(25);

/// An upload the server answered 201: its id, SHA-256 and size.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    sha256: String,
    size: usize,
}

/// The bytes of one file: a PDF's signature (an allowed type), then
/// pseudo-random bytes from `seed`.
fn file_bytes(seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.extend((0..FILE_BYTES).map(|_| rng.u8(..)));
    bytes
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Uploads `bytes` by a hand-written request, a chunk at a time; the
/// upload's id when the server answered 201, `None` when the connection
/// broke (the server was killed) or anything else came back.
async fn upload_slowly(port: u16, token: &str, channel: &str, bytes: &[u8]) -> Option<String> {
    let boundary = "crash-upload-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() + bytes.len() + tail.len();
    let request = format!(
        "POST /chat/channels/{channel}/uploads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n{head}"
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream.write_all(request.as_bytes()).await.ok()?;
    for chunk in bytes.chunks(CHUNK) {
        stream.write_all(chunk).await.ok()?;
        sleep(CHUNK_PAUSE).await;
    }
    stream.write_all(tail.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    let answer = String::from_utf8_lossy(&answer);
    if !answer.starts_with("HTTP/1.1 201") {
        return None;
    }
    let body = answer.split("\r\n\r\n").nth(1)?;
    let json: Value = serde_json::from_str(body.trim()).ok()?;
    json["upload"]["id"].as_str().map(str::to_owned)
}

/// Downloads a file whole; its bytes, or the status it got.
async fn download(server: &ServerProcess, token: &str, id: &str) -> Result<Vec<u8>, u16> {
    let resp = reqwest::Client::new()
        .get(server.url(&format!("/chat/files/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|_| 0u16)?;
    if resp.status() != 200 {
        return Err(resp.status().as_u16());
    }
    resp.bytes().await.map(|b| b.to_vec()).map_err(|_| 0)
}

/// Sends each upload in a message of its own; waits for each echo.
async fn send_in_messages(server: &ServerProcess, token: &str, channel: &str, uploads: &[Stored]) {
    if uploads.is_empty() {
        return;
    }
    let (mut ws, _) = server.join(token, channel).await;
    for upload in uploads {
        let key = client_id();
        let mut frame = send_frame("", &key);
        frame["attachments"] = json!([upload.id]);
        ws.send_json(&frame).await;
        let echo = ws.await_own(&key, WAIT).await;
        assert_eq!(echo["attachments"][0]["id"], upload.id.as_str());
    }
    ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_uploads_leaves_no_half_file_and_no_message_without_its_file() {
    let seed = crash_seed();
    eprintln!("upload crash test: seed {seed} (CHAT_CRASH_SEED={seed} replays it)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = ServerProcess::start(port, data.path(), None, &[]).await;
    let (token, _) = server.login(ALICE).await;
    let channel = server.channel_id(&token, "Product").await;

    let mut stored: Vec<Stored> = Vec::new();
    let mut sent = 0;
    for kill in 0..KILLS {
        let answered = Arc::new(Mutex::new(Vec::new()));
        let mut uploaders = Vec::new();
        for u in 0..UPLOADERS {
            let (token, channel, answered) = (token.clone(), channel.clone(), answered.clone());
            let file_seed = rng.u64(..);
            uploaders.push(tokio::spawn(async move {
                for n in 0u64.. {
                    let bytes = file_bytes(file_seed ^ (n << 8) ^ u as u64);
                    match upload_slowly(port, &token, &channel, &bytes).await {
                        Some(id) => answered.lock().push(Stored {
                            id,
                            sha256: hex_sha256(&bytes),
                            size: bytes.len(),
                        }),
                        // The server is gone.
                        None => return,
                    }
                }
            }));
        }
        // Somewhere in the middle of someone's body.
        sleep(Duration::from_millis(rng.u64(400..1600))).await;
        server.kill();
        for u in uploaders {
            let _ = timeout(Duration::from_secs(15), u).await;
        }
        server = ServerProcess::start(port, data.path(), None, &[]).await;
        let new: Vec<Stored> = answered.lock().clone();
        eprintln!(
            "kill {}: {} uploads answered before it",
            kill + 1,
            new.len()
        );
        // Half of them go in messages; the rest stay unsent.
        let (to_send, kept): (Vec<Stored>, Vec<Stored>) = new
            .into_iter()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0)
            .map_pair();
        send_in_messages(&server, &token, &channel, &to_send).await;
        sent += to_send.len();
        stored.extend(to_send);
        stored.extend(kept);
    }
    assert!(!stored.is_empty(), "no upload finished between kills");
    assert!(sent > 0);

    // Every upload answered 201 downloads whole.
    for s in &stored {
        let bytes = download(&server, &token, &s.id)
            .await
            .unwrap_or_else(|status| panic!("upload {} answers {status}", s.id));
        assert_eq!(bytes.len(), s.size, "upload {}", s.id);
        assert_eq!(hex_sha256(&bytes), s.sha256, "upload {}", s.id);
    }
    // Every file a stored message carries downloads whole.
    let page = server
        .get_json(
            &format!("/chat/channels/{channel}/messages?limit=100"),
            &token,
        )
        .await;
    let carried: Vec<Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["attachments"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(carried.len(), sent);
    for a in &carried {
        let bytes = download(&server, &token, a["id"].as_str().unwrap())
            .await
            .unwrap_or_else(|status| panic!("an attachment answers {status}: {a}"));
        assert_eq!(hex_sha256(&bytes), a["sha256"].as_str().unwrap());
    }
    server.kill();

    // Every row's bytes are whole, or absent (a kill between the row and
    // the bytes); none is half there.
    let mut db = SqliteConnectOptions::new()
        .filename(data.path().join("chat.db"))
        .connect()
        .await
        .unwrap();
    let rows = sqlx::query("SELECT storage_key, size, sha256, message_id IS NOT NULL FROM uploads")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let files = data.path().join("files");
    let (mut whole, mut absent) = (0, 0);
    for row in rows {
        let key: String = row.get(0);
        let size: i64 = row.get(1);
        let sha: String = row.get(2);
        let in_message: bool = row.get(3);
        match std::fs::read(files.join(&key)) {
            Ok(bytes) => {
                assert_eq!(bytes.len() as i64, size, "{key}");
                assert_eq!(hex_sha256(&bytes), sha, "{key}");
                whole += 1;
            }
            Err(_) => {
                assert!(
                    !in_message,
                    "a message carries {key}, whose bytes are missing"
                );
                absent += 1;
            }
        }
    }
    eprintln!("rows: {whole} with their bytes whole, {absent} without bytes (killed before them)");
}

/// Splits enumerated pairs into their two halves, dropping the index.
trait MapPair<T> {
    fn map_pair(self) -> (Vec<T>, Vec<T>);
}

impl<T> MapPair<T> for (Vec<(usize, T)>, Vec<(usize, T)>) {
    fn map_pair(self) -> (Vec<T>, Vec<T>) {
        (
            self.0.into_iter().map(|(_, t)| t).collect(),
            self.1.into_iter().map(|(_, t)| t).collect(),
        )
    }
}
