//! The real `chat` binary as a child process, for the tests that kill it
//! (SIGKILL: no goodbye, no graceful shutdown) and start it again on the
//! same port and data directory. Included with `#[path]` by those test
//! binaries, next to `api/helpers.rs`. The process itself is the load
//! generator's [`ServerProcess`] (`src/bin/loadgen/process.rs`, one copy
//! for both); this file adds the tests' settings and requests.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::*;

#[path = "../../src/bin/loadgen/process.rs"]
mod process;

use process::Launch;
pub use process::ServerProcess;

/// The seed of a randomised crash test: `CHAT_CRASH_SEED` when set (to
/// replay a run), else one from the clock.
pub fn crash_seed() -> u64 {
    std::env::var("CHAT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        })
}

/// A free loopback port (bound and released at once).
pub fn free_port() -> u16 {
    process::free_port().expect("a free loopback port")
}

/// The tests' own ways to start and use the shared [`ServerProcess`].
impl ServerProcess {
    /// Starts the binary with demo data on `port`, storing in `data_dir`
    /// (SQLite) or in `database_url` when given; `env` adds settings. Waits
    /// until `/readyz` answers 200. Its log is discarded (a test may fill
    /// the data directory's disk); killed (SIGKILL) when dropped.
    pub async fn start(
        port: u16,
        data_dir: &Path,
        database_url: Option<&str>,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        Self::start_logged(port, data_dir, database_url, env, None).await
    }

    /// As [`ServerProcess::start`], with the server's log written to `log`
    /// when given, so a failing test can show its end
    /// ([`ServerProcess::log_tail`]).
    pub async fn start_logged(
        port: u16,
        data_dir: &Path,
        database_url: Option<&str>,
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> ServerProcess {
        let mut launch = Launch::new(env!("CARGO_BIN_EXE_chat"), data_dir, port).env([
            ("LEPTOS_SITE_ROOT", data_dir.to_str().expect("a UTF-8 path")),
            ("LEPTOS_ENV", "PROD"),
            ("JWT_SECRET", JWT_SECRET),
            ("CHAT_DEMO_DATA", "true"),
        ]);
        if let Some(url) = database_url {
            launch = launch.env([("DATABASE_URL", url)]);
        }
        launch = launch.env(env.iter().copied());
        launch.log = log.map(Path::to_path_buf);
        launch.ready_within = Duration::from_secs(30);
        // A graceful shutdown is waited for as long as it takes, as before.
        launch.stop_grace = None;
        ServerProcess::launch(launch)
            .await
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Logs a demo user in; `(token, user_id)`.
    pub async fn login(&self, email: &str) -> (String, String) {
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

    /// `GET path` as `token`'s user, as JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The id of the caller's channel called `name`.
    pub async fn channel_id(&self, token: &str, name: &str) -> String {
        let channels = self.get_json("/chat/channels", token).await;
        channels["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no channel {name}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The upgrade request for `channel`, authenticated with `token`.
    pub fn ws_request(&self, token: &str, channel: &str) -> Request {
        ws_request_to(self.port(), token, channel, None)
    }

    /// Connects and reads `presence.state`; returns the socket and that frame.
    pub async fn join(&self, token: &str, channel: &str) -> (WsClient, Value) {
        let mut ws = ws_open(self.ws_request(token, channel))
            .await
            .expect("upgrade");
        let state = ws.next_json(WAIT).await;
        assert_eq!(state["type"], "presence.state");
        (ws, state)
    }
}

/// The upgrade request for `channel` on the server at `port`,
/// authenticated with `token`, starting after `after_seq` when given (for
/// clients that outlive a server process).
pub fn ws_request_to(port: u16, token: &str, channel: &str, after_seq: Option<i64>) -> Request {
    let query = after_seq.map_or(String::new(), |n| format!("?afterSeq={n}"));
    let mut req = format!("ws://127.0.0.1:{port}/chat/ws/{channel}{query}")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    req
}
