//! Test harness: `spawn_app` runs the real `Application` on port 0 with a
//! fresh data directory, and typed helpers speak the wire contract.

#![allow(dead_code)]

use std::collections::HashSet;
use std::time::Duration;

use chat::server::config::Settings;
use chat::server::startup::Application;
use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// HS256 secret configured in every test app.
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789";
/// The only origin allowed for cookie-authenticated WebSocket handshakes.
pub const ALLOWED_ORIGIN: &str = "http://allowed.test";
/// Issuer configured by the tests that check `iss`.
pub const ISSUER: &str = "https://issuer.test";
/// Password of every demo user.
pub const PASSWORD: &str = "password";
pub const ALICE: &str = "alice@example.com";
pub const BOB: &str = "bob@example.com";
pub const CAROL: &str = "carol@example.com";
/// Typing expiry configured in every test app (the default is 5 s).
pub const TYPING_TIMEOUT: Duration = Duration::from_millis(1500);
/// Upper bound on any single await: a bug fails the test instead of hanging it.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long to watch for a frame that must not come.
pub const QUIET: Duration = Duration::from_millis(700);

/// A running server plus what a test needs to talk to it.
pub struct TestApp {
    /// The port the server bound (port 0 was asked for).
    pub port: u16,
    /// `http://127.0.0.1:{port}`.
    pub address: String,
    /// `ws://127.0.0.1:{port}`.
    pub ws_address: String,
    /// The data directory; kept alive so the SQLite file outlives the test body.
    pub data_dir: TempDir,
    /// A plain HTTP client: no cookie store, no redirects followed.
    pub api: reqwest::Client,
    /// Completing this ends `run_until_stopped` (dropping it does too).
    shutdown: Option<oneshot::Sender<()>>,
    /// The server task.
    server: Option<JoinHandle<()>>,
}

/// Alice and bob in one channel (see [`TestApp::alice_and_bob_in`]).
pub struct Pair {
    /// Alice's token.
    pub alice: String,
    /// Alice's user id.
    pub alice_id: String,
    /// Bob's token.
    pub bob: String,
    /// Bob's user id.
    pub bob_id: String,
    /// The channel id.
    pub channel: String,
    /// Alice's joined socket.
    pub a: WsClient,
    /// Bob's joined socket.
    pub b: WsClient,
}

/// Starts an app with the test defaults (demo data, test secret, no issuer).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts an app after `configure` has adjusted the test defaults.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("create temp dir");
    spawn_app_in(data_dir, configure).await
}

/// Starts an app on an existing data directory (a restart, when the
/// directory comes from [`TestApp::stop`]).
pub async fn spawn_app_in(data_dir: TempDir, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::defaults_for(data_dir.path().to_path_buf());
    settings.database_url = postgres_database_for(data_dir.path()).await.map(Into::into);
    settings.listen_addr = "127.0.0.1:0".parse().unwrap();
    settings.jwt_secret = Some(JWT_SECRET.into());
    settings.jwt_issuer = None;
    settings.demo_data = true;
    settings.allowed_origins = vec![ALLOWED_ORIGIN.into()];
    settings.limits.typing_timeout = TYPING_TIMEOUT;
    configure(&mut settings);

    let app = timeout(Duration::from_secs(30), Application::build(settings))
        .await
        .expect("Application::build timed out")
        .expect("Application::build failed");
    let port = app.port();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run_until_stopped(async move {
                let _ = rx.await;
            })
            .await;
    });
    let api = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    TestApp {
        port,
        address: format!("http://127.0.0.1:{port}"),
        ws_address: format!("ws://127.0.0.1:{port}"),
        data_dir,
        api,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// Rate limits high enough that bulk-sending tests never hit them.
pub fn generous_rate_limits(settings: &mut Settings) {
    settings.limits.rate_burst = 100_000;
    settings.limits.rate_per_second = 100_000;
}

impl TestApp {
    // ----- lifecycle -------------------------------------------------------

    /// Completes the shutdown future passed to `run_until_stopped`.
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts the server down and hands back its data directory.
    pub async fn stop(mut self) -> TempDir {
        self.signal_shutdown();
        self.join_server().await;
        self.data_dir
    }

    /// Waits (bounded) for `run_until_stopped` to return.
    pub async fn join_server(&mut self) {
        if let Some(handle) = self.server.take() {
            timeout(Duration::from_secs(10), handle)
                .await
                .expect("server did not stop within 10 s of shutdown")
                .expect("server task panicked");
        }
    }

    // ----- HTTP ------------------------------------------------------------

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.api.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("GET failed")
    }

    /// POST with an optional bearer token and an optional JSON body.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self.api.post(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("POST failed")
    }

    pub async fn post_login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/auth/login",
            None,
            Some(&json!({"email": email, "password": password})),
        )
        .await
    }

    /// Logs in a demo user; returns `(token, user_id)`.
    pub async fn login(&self, email: &str) -> (String, String) {
        let resp = self.post_login(email, PASSWORD).await;
        assert_eq!(resp.status().as_u16(), 200, "login of {email} failed");
        let body: Value = resp.json().await.expect("login body is JSON");
        let token = body["token"].as_str().expect("login token").to_string();
        let id = body["user"]["id"]
            .as_str()
            .expect("login user.id")
            .to_string();
        (token, id)
    }

    /// Logs in and returns the session cookie as `name=value`.
    pub async fn login_cookie(&self, email: &str) -> String {
        let resp = self.post_login(email, PASSWORD).await;
        assert_eq!(resp.status().as_u16(), 200);
        let cookies = set_cookies(&resp);
        let first = cookies.first().expect("login sets a cookie");
        cookie_pair(first)
    }

    /// `GET /chat/channels`; asserts 200 and returns the `channels` array.
    pub async fn channels(&self, token: &str) -> Vec<Value> {
        let resp = self.get("/chat/channels", Some(token)).await;
        assert_eq!(resp.status().as_u16(), 200, "GET /chat/channels");
        let body: Value = resp.json().await.unwrap();
        body["channels"]
            .as_array()
            .expect("`channels` is an array")
            .clone()
    }

    /// The channel summary named `name` in the caller's list.
    pub async fn channel(&self, token: &str, name: &str) -> Value {
        self.channels(token)
            .await
            .into_iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("channel {name} not in the list"))
    }

    /// The id of the channel named `name`, as the caller sees it.
    pub async fn channel_id(&self, token: &str, name: &str) -> String {
        self.channel(token, name).await["id"]
            .as_str()
            .expect("channel id is a string")
            .to_string()
    }

    /// The channel's `head_seq` as seen in the caller's list.
    pub async fn head_seq(&self, token: &str, name: &str) -> i64 {
        self.channel(token, name).await["head_seq"]
            .as_i64()
            .expect("head_seq is an integer")
    }

    /// `GET /chat/channels/{id}/messages?{query}`; asserts 200; returns the body.
    pub async fn history(&self, token: &str, channel_id: &str, query: &[(&str, &str)]) -> Value {
        let resp = self
            .api
            .get(self.url(&format!("/chat/channels/{channel_id}/messages")))
            .bearer_auth(token)
            .query(query)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "history {query:?}");
        resp.json().await.unwrap()
    }

    /// Status of a history request (for the 4xx cases).
    pub async fn history_status(
        &self,
        token: &str,
        channel_id: &str,
        query: &[(&str, &str)],
    ) -> u16 {
        self.api
            .get(self.url(&format!("/chat/channels/{channel_id}/messages")))
            .bearer_auth(token)
            .query(query)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// `POST /chat/channels/{id}/read`, with `{"seq": n}` when given.
    pub async fn mark_read(
        &self,
        token: &str,
        channel_id: &str,
        seq: Option<i64>,
    ) -> reqwest::Response {
        let body = seq.map(|s| json!({ "seq": s }));
        self.post(
            &format!("/chat/channels/{channel_id}/read"),
            Some(token),
            body.as_ref(),
        )
        .await
    }

    /// Marks every channel of the caller read, so unread counts start at 0.
    pub async fn mark_all_read(&self, token: &str) {
        for c in self.channels(token).await {
            let id = c["id"].as_str().unwrap();
            let resp = self.mark_read(token, id, None).await;
            assert_eq!(resp.status().as_u16(), 200, "mark read");
        }
    }

    /// `GET /chat/unread`; asserts 200; returns the `unread` array.
    pub async fn unread(&self, token: &str) -> Vec<Value> {
        let resp = self.get("/chat/unread", Some(token)).await;
        assert_eq!(resp.status().as_u16(), 200, "GET /chat/unread");
        let body: Value = resp.json().await.unwrap();
        body["unread"].as_array().expect("`unread` array").clone()
    }

    // ----- WebSocket -------------------------------------------------------

    /// The upgrade request for `/chat/ws/{channel}` without credentials.
    pub fn ws_request(&self, channel_id: &str) -> Request {
        format!("{}/chat/ws/{channel_id}", self.ws_address)
            .into_client_request()
            .unwrap()
    }

    /// Upgrade request authenticated with `Authorization: Bearer`.
    pub fn ws_request_bearer(&self, token: &str, channel_id: &str) -> Request {
        let mut req = self.ws_request(channel_id);
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        req
    }

    /// Upgrade request authenticated with `?token=`.
    pub fn ws_request_query(&self, token: &str, channel_id: &str) -> Request {
        let encoded: String = token
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("{}/chat/ws/{channel_id}?token={encoded}", self.ws_address)
            .into_client_request()
            .unwrap()
    }

    /// Upgrade request authenticated by session cookie, with an optional Origin.
    pub fn ws_request_cookie(
        &self,
        cookie: &str,
        origin: Option<&str>,
        channel_id: &str,
    ) -> Request {
        let mut req = self.ws_request(channel_id);
        req.headers_mut()
            .insert("Cookie", HeaderValue::from_str(cookie).unwrap());
        if let Some(o) = origin {
            req.headers_mut()
                .insert("Origin", HeaderValue::from_str(o).unwrap());
        }
        req
    }

    /// Connects with a Bearer header; panics if the upgrade is refused.
    pub async fn ws_connect(&self, token: &str, channel_id: &str) -> WsClient {
        ws_open(self.ws_request_bearer(token, channel_id))
            .await
            .unwrap_or_else(|status| panic!("WS upgrade refused with {status}"))
    }

    /// Connects with `?token=`; panics if the upgrade is refused.
    pub async fn ws_connect_query(&self, token: &str, channel_id: &str) -> WsClient {
        ws_open(self.ws_request_query(token, channel_id))
            .await
            .unwrap_or_else(|status| panic!("WS upgrade (?token=) refused with {status}"))
    }

    /// Connects with a cookie and Origin; `Err(status)` if the upgrade is refused.
    pub async fn ws_connect_cookie(
        &self,
        cookie: &str,
        origin: Option<&str>,
        channel_id: &str,
    ) -> Result<WsClient, u16> {
        ws_open(self.ws_request_cookie(cookie, origin, channel_id)).await
    }

    /// Connects (Bearer) and waits for the first frame, `presence.state`, so
    /// the connection is known to be in the room. Returns the client and that frame.
    pub async fn ws_join_state(&self, token: &str, channel_id: &str) -> (WsClient, Value) {
        let mut ws = self.ws_connect(token, channel_id).await;
        let first = ws.next_json(WAIT).await;
        assert_eq!(first["type"], "presence.state", "first frame: {first}");
        (ws, first)
    }

    /// Connects (Bearer) and waits for `presence.state`.
    pub async fn ws_join(&self, token: &str, channel_id: &str) -> WsClient {
        self.ws_join_state(token, channel_id).await.0
    }

    /// The most common arrangement: alice and bob logged in and both joined
    /// to the channel named `name`.
    pub async fn alice_and_bob_in(&self, name: &str) -> Pair {
        let (alice, alice_id) = self.login(ALICE).await;
        let (bob, bob_id) = self.login(BOB).await;
        let channel = self.channel_id(&alice, name).await;
        let a = self.ws_join(&alice, &channel).await;
        let b = self.ws_join(&bob, &channel).await;
        Pair {
            alice,
            alice_id,
            bob,
            bob_id,
            channel,
            a,
            b,
        }
    }

    // ----- database --------------------------------------------------------

    /// A direct connection to `<data_dir>/chat.db`, for fault injection and checks.
    pub async fn db(&self) -> TestDb {
        match postgres_database_for(self.data_dir.path()).await {
            Some(url) => TestDb::Postgres(
                PgConnection::connect(&url)
                    .await
                    .expect("connect to the test database"),
            ),
            None => TestDb::Sqlite(
                SqliteConnectOptions::new()
                    .filename(self.data_dir.path().join("chat.db"))
                    .busy_timeout(Duration::from_secs(5))
                    .connect()
                    .await
                    .expect("open chat.db"),
            ),
        }
    }
}

/// Performs a WebSocket upgrade; `Err(status)` when the server answers with
/// a non-101 HTTP status.
pub async fn ws_open(req: Request) -> Result<WsClient, u16> {
    let label = req.uri().path().to_string();
    match timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .expect("WS handshake timed out")
    {
        Ok((stream, _resp)) => Ok(WsClient { stream, label }),
        Err(WsError::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("WS handshake failed without an HTTP status: {e}"),
    }
}

/// The status a refused upgrade got; panics if the upgrade succeeded.
pub async fn ws_refused_status(req: Request) -> u16 {
    match ws_open(req).await {
        Ok(_) => panic!("WS upgrade was accepted but must be refused"),
        Err(status) => status,
    }
}

/// All `Set-Cookie` header values of a response.
pub fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// `name=value` of a `Set-Cookie` header value.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_string()
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An HS256 token signed with the test secret.
pub fn mint_token(user_id: &str, exp_offset_secs: i64, iss: Option<&str>) -> String {
    let mut claims = json!({
        "sub": user_id,
        "exp": now_secs() + exp_offset_secs,
        "iat": now_secs(),
    });
    if let Some(iss) = iss {
        claims["iss"] = json!(iss);
    }
    sign(Algorithm::HS256, &claims, JWT_SECRET)
}

/// Any claims, signed with `alg` and `secret`.
pub fn sign(alg: Algorithm, claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode JWT")
}

/// Unpadded base64url, enough to hand-craft tokens.
pub fn b64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An unsigned token: header `{"alg":"none"}`, valid claims, empty signature.
pub fn alg_none_token(user_id: &str) -> String {
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = json!({"sub": user_id, "exp": now_secs() + 3600, "iat": now_secs()});
    let payload = b64url(claims.to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// A fresh client id.
pub fn client_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A `message.send` frame.
pub fn send_frame(text: &str, client_id: &str) -> Value {
    json!({"type": "message.send", "text": text, "clientId": client_id})
}

/// A connected WebSocket client.
pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// For failure messages: the path it connected to.
    pub label: String,
}

impl WsClient {
    /// Sends a frame, bounded by `WAIT`.
    pub async fn send_raw(&mut self, msg: Message) {
        timeout(WAIT, self.stream.send(msg))
            .await
            .expect("WS send timed out")
            .expect("WS send failed");
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.send_raw(Message::text(text.into())).await;
    }

    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(value.to_string()).await;
    }

    /// Sends `message.send`.
    pub async fn send_message(&mut self, text: &str, client_id: &str) {
        self.send_json(&send_frame(text, client_id)).await;
    }

    /// Sends `message.send` and waits for the own `message.new` (by clientId);
    /// panics on an `error` frame meanwhile.
    pub async fn send_ok(&mut self, text: &str) -> Value {
        let cid = client_id();
        self.send_message(text, &cid).await;
        self.await_own(&cid, WAIT).await
    }

    /// Waits for the `message.new` echo of `client_id`; panics on an `error` frame.
    pub async fn await_own(&mut self, client_id: &str, wait: Duration) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let v = self
                .try_next_json_until(deadline)
                .await
                .unwrap_or_else(|| panic!("{}: no message.new for {client_id}", self.label));
            if v["type"] == "error" {
                panic!(
                    "{}: expected message.new for {client_id}, got {v}",
                    self.label
                );
            }
            if v["type"] == "message.new" && v["clientId"] == client_id {
                return v;
            }
        }
    }

    /// Sends `n` messages without waiting, then collects their echoes.
    /// Returns the `message.new` frames in the order received.
    pub async fn send_many(&mut self, n: usize, prefix: &str) -> Vec<Value> {
        let mut pending = HashSet::new();
        for i in 0..n {
            let cid = client_id();
            pending.insert(cid.clone());
            self.send_message(&format!("{prefix} {i}"), &cid).await;
        }
        let deadline = Instant::now() + WAIT + Duration::from_millis(50 * n as u64);
        let mut got = Vec::new();
        while !pending.is_empty() {
            let v = self
                .try_next_json_until(deadline)
                .await
                .unwrap_or_else(|| panic!("{}: {} echoes missing", self.label, pending.len()));
            if v["type"] == "error" {
                panic!("{}: error while bulk sending: {v}", self.label);
            }
            if v["type"] == "message.new" {
                if let Some(cid) = v["clientId"].as_str() {
                    if pending.remove(cid) {
                        got.push(v);
                    }
                }
            }
        }
        got
    }

    /// The next text frame as JSON (pings skipped); `None` when the deadline
    /// passes; panics if the connection ends or sends a non-text frame.
    pub async fn try_next_json_until(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let next = match timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(n) => n,
            };
            match next {
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(t.as_str()).unwrap_or_else(|e| {
                        panic!("{}: server sent non-JSON text {t:?}: {e}", self.label)
                    }))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(other)) => panic!("{}: unexpected frame {other:?}", self.label),
                Some(Err(e)) => panic!("{}: connection error: {e}", self.label),
                None => panic!("{}: connection closed", self.label),
            }
        }
    }

    /// The next text frame as JSON; panics after `wait`.
    pub async fn next_json(&mut self, wait: Duration) -> Value {
        let label = self.label.clone();
        self.try_next_json_until(Instant::now() + wait)
            .await
            .unwrap_or_else(|| panic!("{label}: no frame within {wait:?}"))
    }

    /// The next frame with `type == ty`, skipping others; panics after `wait`.
    pub async fn next_frame_of_type(&mut self, ty: &str, wait: Duration) -> Value {
        self.next_frame_matching(ty, wait, |v| v["type"] == ty)
            .await
    }

    /// The next frame satisfying `pred`, skipping others; panics after `wait`.
    pub async fn next_frame_matching(
        &mut self,
        what: &str,
        wait: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + wait;
        let mut skipped = Vec::new();
        loop {
            match self.try_next_json_until(deadline).await {
                Some(v) if pred(&v) => return v,
                Some(v) => skipped.push(v),
                None => panic!(
                    "{}: no {what} frame within {wait:?}; skipped {skipped:?}",
                    self.label
                ),
            }
        }
    }

    /// Asserts that no frame of type `ty` arrives during `dur`.
    pub async fn expect_no_frame_of_type(&mut self, ty: &str, dur: Duration) {
        self.expect_no_frame_matching(ty, dur, |v| v["type"] == ty)
            .await;
    }

    /// Asserts that no frame satisfying `pred` arrives during `dur`.
    pub async fn expect_no_frame_matching(
        &mut self,
        what: &str,
        dur: Duration,
        pred: impl Fn(&Value) -> bool,
    ) {
        let deadline = Instant::now() + dur;
        while let Some(v) = self.try_next_json_until(deadline).await {
            assert!(!pred(&v), "{}: unexpected {what} frame: {v}", self.label);
        }
    }

    /// Reads until a Close frame; returns it. Panics on timeout, or if the
    /// stream ends (or errors) without one.
    pub async fn next_close(&mut self, wait: Duration) -> Option<CloseFrame> {
        let deadline = Instant::now() + wait;
        loop {
            match timeout_at(deadline, self.stream.next()).await {
                Err(_) => panic!("{}: no Close frame within {wait:?}", self.label),
                Ok(Some(Ok(Message::Close(frame)))) => return frame,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("{}: error before a Close frame: {e}", self.label),
                Ok(None) => panic!("{}: stream ended without a Close frame", self.label),
            }
        }
    }

    /// A clean close from our side (Close frame, then drain).
    pub async fn close(mut self) {
        let _ = timeout(WAIT, self.stream.close(None)).await;
        let _ = timeout(WAIT, async {
            while let Some(Ok(_)) = self.stream.next().await {}
        })
        .await;
    }

    /// A round trip through the connection's frame handling: frames sent
    /// before it have been processed once it returns. Uses `resume` from
    /// far beyond the head, whose only answer is `resume.done`.
    pub async fn barrier(&mut self) -> Value {
        self.send_json(&json!({"type": "resume", "afterSeq": 1_000_000_000i64}))
            .await;
        self.next_frame_of_type("resume.done", WAIT).await
    }
}

/// `seq` of a frame or REST message.
pub fn seq(v: &Value) -> i64 {
    v["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer seq in {v}"))
}

/// The seqs of a history page.
pub fn page_seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages array in {page}"))
        .iter()
        .map(seq)
        .collect()
}

/// Asserts that a string is an RFC 3339 timestamp.
pub fn assert_rfc3339(v: &Value, what: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{what} = {s:?} is not RFC 3339: {e}"));
}

/// The admin URL of a throwaway Postgres cluster (`CHAT_TEST_POSTGRES`,
/// set by `scripts/test.sh` for the suite's second run). When set, every
/// test app runs on a database of its own in that cluster instead of
/// SQLite.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("CHAT_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The Postgres database of the app whose data directory is `data_dir`
/// (created on first use, so a restarted app finds its data again), or
/// `None` on SQLite.
pub async fn postgres_database_for(data_dir: &std::path::Path) -> Option<String> {
    let admin = postgres_admin_url()?;
    let dir = data_dir.file_name()?.to_string_lossy().to_string();
    let name: String = format!("t_{dir}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    // Temp dir names are random; lower-casing could only collide within one
    // run by chance, and then the test would see another test's rows: keep
    // a hash of the exact name too.
    let hash = dir
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let name = format!("{name}_{hash:x}");
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to the Postgres test cluster (CHAT_TEST_POSTGRES)");
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .expect("look up the test database")
        .is_some();
    if !exists {
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create the test database");
    }
    let base = &admin[..admin.rfind('/').expect("admin URL with a database")];
    Some(format!("{base}/{name}"))
}

/// A value to bind in [`TestDb`] statements, stored as each backend stores
/// it (times: INTEGER microseconds on SQLite, timestamptz on Postgres).
pub enum Bind {
    /// Text.
    Text(String),
    /// A boolean (0/1 on SQLite).
    Bool(bool),
    /// A point in time.
    Time(chrono::DateTime<chrono::Utc>),
}

/// A direct connection to the app's database, for arranging states the API
/// cannot produce (revoked access, soft-deleted rows, storage faults) and
/// for checking what was stored. Statements use `?1` placeholders; on
/// Postgres they become `$1`.
pub enum TestDb {
    /// The embedded default.
    Sqlite(SqliteConnection),
    /// The Postgres run.
    Postgres(PgConnection),
}

impl TestDb {
    fn pg_sql(sql: &str) -> String {
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
                out.push('$');
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Runs a statement; returns the rows it changed.
    pub async fn execute(&mut self, sql: &str, binds: Vec<Bind>) -> u64 {
        match self {
            TestDb::Sqlite(conn) => {
                let mut q = sqlx::query(sql);
                for b in binds {
                    q = match b {
                        Bind::Text(t) => q.bind(t),
                        Bind::Bool(v) => q.bind(v),
                        Bind::Time(t) => q.bind(t.timestamp_micros()),
                    };
                }
                q.execute(&mut *conn).await.expect(sql).rows_affected()
            }
            TestDb::Postgres(conn) => {
                let sql = Self::pg_sql(sql);
                let mut q = sqlx::query(&sql);
                for b in binds {
                    q = match b {
                        Bind::Text(t) => q.bind(t),
                        Bind::Bool(v) => q.bind(v),
                        Bind::Time(t) => q.bind(t),
                    };
                }
                q.execute(&mut *conn).await.expect(&sql).rows_affected()
            }
        }
    }

    /// Rows of two columns, an integer and a text, e.g. `(seq, text)`.
    pub async fn int_text_rows(&mut self, sql: &str) -> Vec<(i64, String)> {
        match self {
            TestDb::Sqlite(conn) => sqlx::query(sql)
                .fetch_all(&mut *conn)
                .await
                .expect(sql)
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
            TestDb::Postgres(conn) => sqlx::query(&Self::pg_sql(sql))
                .fetch_all(&mut *conn)
                .await
                .expect(sql)
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }

    /// Counts rows with `column = value`.
    pub async fn count_where(&mut self, table_and_column: (&str, &str), value: &str) -> i64 {
        let (table, column) = table_and_column;
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?1");
        match self {
            TestDb::Sqlite(conn) => {
                sqlx::query_scalar(&sql)
                    .bind(value)
                    .fetch_one(&mut *conn)
                    .await
            }
            TestDb::Postgres(conn) => {
                sqlx::query_scalar(&Self::pg_sql(&sql))
                    .bind(value)
                    .fetch_one(&mut *conn)
                    .await
            }
        }
        .expect("count rows")
    }

    /// From now on, storing a message whose text is `text` fails inside the
    /// database (a trigger), like a disk or constraint failure would.
    pub async fn fail_inserts_of(&mut self, text: &str) {
        let text = text.replace('\'', "''");
        match self {
            TestDb::Sqlite(conn) => {
                sqlx::query(&format!(
                    "CREATE TRIGGER fail_insert BEFORE INSERT ON messages \
                     WHEN NEW.text = '{text}' BEGIN SELECT RAISE(ABORT, 'injected'); END;"
                ))
                .execute(&mut *conn)
                .await
                .expect("create trigger");
            }
            TestDb::Postgres(conn) => {
                sqlx::raw_sql(&format!(
                    "CREATE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN \
                       IF NEW.text = '{text}' THEN RAISE EXCEPTION 'injected'; END IF; \
                       RETURN NEW; END $$ LANGUAGE plpgsql; \
                     CREATE TRIGGER fail_insert BEFORE INSERT ON messages \
                       FOR EACH ROW EXECUTE FUNCTION fail_insert();"
                ))
                .execute(&mut *conn)
                .await
                .expect("create trigger");
            }
        }
    }

    /// Undoes [`TestDb::fail_inserts_of`].
    pub async fn stop_failing_inserts(&mut self) {
        let sql = match self {
            TestDb::Sqlite(_) => "DROP TRIGGER fail_insert",
            TestDb::Postgres(_) => {
                "DROP TRIGGER fail_insert ON messages; DROP FUNCTION fail_insert();"
            }
        };
        match self {
            TestDb::Sqlite(conn) => sqlx::raw_sql(sql).execute(&mut *conn).await.map(|_| ()),
            TestDb::Postgres(conn) => sqlx::raw_sql(sql).execute(&mut *conn).await.map(|_| ()),
        }
        .expect("drop trigger");
    }
}

/// The randomised tests' generator: fastrand's, seeded, so a failure
/// prints its seed and the same seed replays it (`Rng::with_seed`).
pub use fastrand::Rng;

/// One of `items`, chosen by `rng`.
pub fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

/// The full state of a message, the same whether it comes from a frame
/// (camelCase) or the history route (snake_case): everything but the
/// frame's type and the names.
pub fn full_state(v: &Value) -> Value {
    let field = |camel: &str, snake: &str| {
        v.get(camel)
            .or_else(|| v.get(snake))
            .cloned()
            .unwrap_or_else(|| panic!("no {camel} / {snake} in {v}"))
    };
    let reactions: Vec<Value> = v["reactions"]
        .as_array()
        .unwrap_or_else(|| panic!("no reactions in {v}"))
        .iter()
        .map(|r| {
            json!({
                "emoji": r["emoji"],
                "count": r["count"],
                "userIds": r.get("userIds").or_else(|| r.get("user_ids")).cloned(),
            })
        })
        .collect();
    let reply = field("replyTo", "reply_to");
    let reply = if reply.is_null() {
        reply
    } else {
        json!({
            "id": reply["id"],
            "seq": reply["seq"],
            "userId": reply.get("userId").or_else(|| reply.get("user_id")).cloned(),
            "preview": reply["preview"],
            "deleted": reply["deleted"],
        })
    };
    json!({
        "id": v["id"],
        "seq": v["seq"],
        "userId": field("userId", "user_id"),
        "clientId": field("clientId", "client_id"),
        "createdAt": field("createdAt", "created_at"),
        "text": v["text"],
        "deleted": v["deleted"],
        "rev": v["rev"],
        "editedAt": field("editedAt", "edited_at"),
        "reactions": reactions,
        "pinned": v["pinned"],
        "replyTo": reply,
    })
}
