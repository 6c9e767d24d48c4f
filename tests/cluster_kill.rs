//! Two real server processes on one PostgreSQL database; one is killed with
//! SIGKILL (no goodbye, no graceful shutdown). The other keeps serving,
//! forgets the dead server's users after its missed heartbeats, and the
//! dead server's clients resume on it with nothing lost. Runs in the test
//! command's Postgres pass (`CHAT_TEST_POSTGRES`).

#[path = "api/helpers.rs"]
mod helpers;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::*;

/// One `chat` process.
struct Server {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Server {
    async fn start(database_url: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_chat"))
            .current_dir(data.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("CHAT_DATA_DIR", data.path())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", data.path())
            .env("LEPTOS_ENV", "PROD")
            .env("JWT_SECRET", JWT_SECRET)
            .env("CHAT_DEMO_DATA", "true")
            // Heartbeats every 200 ms: a dead server is forgotten after 1 s.
            .env("CHAT_CLUSTER_SWEEP_MS", "200")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the chat binary");
        let server = Server {
            child,
            port,
            _data: data,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = reqwest::get(server.url("/readyz")).await {
                if res.status() == 200 {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn login(&self, email: &str) -> (String, String) {
        let res = reqwest::Client::new()
            .post(self.url("/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        (
            body["token"].as_str().unwrap().to_string(),
            body["user"]["id"].as_str().unwrap().to_string(),
        )
    }

    async fn join(&self, token: &str, channel: &str) -> (WsClient, Value) {
        let mut req = format!("ws://127.0.0.1:{}/chat/ws/{channel}", self.port)
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        let mut ws = ws_open(req).await.expect("upgrade");
        let state = ws.next_json(WAIT).await;
        assert_eq!(state["type"], "presence.state");
        (ws, state)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server killed with SIGKILL: the survivor keeps delivering, takes the dead server's users offline, and their clients resume on it without loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing() {
    if postgres_admin_url().is_none() {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    }
    let db_dir = tempfile::tempdir().unwrap();
    let database_url = postgres_database_for(db_dir.path()).await.unwrap();
    let mut a = Server::start(&database_url).await;
    let b = Server::start(&database_url).await;
    let (alice, alice_id) = a.login(ALICE).await;
    let (bob, _) = b.login(BOB).await;
    let channels: Value = reqwest::Client::new()
        .get(a.url("/chat/channels"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let general = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "General")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let (mut alice_on_a, _) = a.join(&alice, &general).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut bob_on_b = loop {
        let (ws, state) = b.join(&bob, &general).await;
        if state["userIds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == alice_id.as_str())
        {
            break ws;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice never appeared on b"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let before = bob_on_b.send_ok("before the kill").await;
    let seen = alice_on_a.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(seen["seq"], before["seq"]);

    a.child.kill().expect("SIGKILL server a");
    a.child.wait().unwrap();
    let offline = bob_on_b
        .next_frame_matching("alice offline", Duration::from_secs(10), |v| {
            v["type"] == "presence.update" && v["userId"] == alice_id.as_str()
        })
        .await;
    assert_eq!(offline["status"], "offline");

    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(seq(&bob_on_b.send_ok(&format!("after the kill {i}")).await));
    }
    let (mut alice_on_b, _) = b.join(&alice, &general).await;
    alice_on_b
        .send_json(&json!({"type": "resume", "afterSeq": seq(&seen)}))
        .await;
    let mut got = Vec::new();
    loop {
        let v = alice_on_b
            .next_frame_matching("replay", WAIT, |v| {
                v["type"] == "message.new" || v["type"] == "resume.done"
            })
            .await;
        if v["type"] == "resume.done" {
            break;
        }
        got.push(seq(&v));
    }
    assert_eq!(got, sent, "what alice missed while her server was dead");
}
