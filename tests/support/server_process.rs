//! The real `chat` binary as a child process, for the tests that kill it
//! (SIGKILL: no goodbye, no graceful shutdown) and start it again on the
//! same port and data directory. Included with `#[path]` by those test
//! binaries, next to `api/helpers.rs`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::*;

/// A free loopback port (bound and released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `chat` process; killed when dropped.
pub struct ServerProcess {
    child: Option<Child>,
    /// The port it listens on (the same after a restart).
    pub port: u16,
    data_dir: PathBuf,
    database_url: Option<String>,
    env: Vec<(String, String)>,
}

impl ServerProcess {
    /// Starts the binary with demo data on `port`, storing in `data_dir`
    /// (SQLite) or in `database_url` when given; `env` adds settings. Waits
    /// until `/readyz` answers 200.
    pub async fn start(
        port: u16,
        data_dir: &Path,
        database_url: Option<&str>,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let mut server = ServerProcess {
            child: None,
            port,
            data_dir: data_dir.to_path_buf(),
            database_url: database_url.map(str::to_owned),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.restart().await;
        server
    }

    /// Starts the process again (after [`ServerProcess::kill`]) with the
    /// same settings, and waits until it is ready.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat"));
        cmd.current_dir(&self.data_dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CHAT_DATA_DIR", &self.data_dir)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", self.port))
            .env("LEPTOS_SITE_ROOT", &self.data_dir)
            .env("LEPTOS_ENV", "PROD")
            .env("JWT_SECRET", JWT_SECRET)
            .env("CHAT_DEMO_DATA", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(url) = &self.database_url {
            cmd.env("DATABASE_URL", url);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start the chat binary"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = reqwest::get(self.url("/readyz")).await {
                if res.status() == 200 {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, and waits until the process is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the server");
            child.wait().expect("reap the server");
        }
    }

    /// SIGTERM (a graceful shutdown), and waits until the process is gone.
    #[allow(unsafe_code)]
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) with our own child's pid and a signal number.
            let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            assert_eq!(sent, 0, "SIGTERM the server");
            child.wait().expect("reap the server");
        }
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
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
        ws_request_to(self.port, token, channel, None)
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

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
