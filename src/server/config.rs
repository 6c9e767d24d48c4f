//! Runtime settings: defaults that run with nothing set, then the settings
//! file (`Leptos.toml`, or `CHAT_CONFIG`), then environment variables. A bad
//! value stops start-up with a message that names the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Everything the server needs to start. Tests build one with
/// [`Settings::defaults_for`] and change fields directly.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen (`LEPTOS_SITE_ADDR`); port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// Directory for the SQLite file and the generated dev secret
    /// (`CHAT_DATA_DIR`); created at start-up.
    pub data_dir: PathBuf,
    /// `DATABASE_URL`; `None` means `sqlite://<data_dir>/chat.db`.
    pub database_url: Option<String>,
    /// HS256 secret (`JWT_SECRET`); `None` means a generated secret kept in
    /// `<data_dir>/jwt_secret`.
    pub jwt_secret: Option<String>,
    /// The host app's service key for `/admin/*` (`CHAT_ADMIN_KEY`); `None`
    /// disables the admin API.
    pub admin_key: Option<String>,
    /// Required `iss` claim (`JWT_ISSUER`); also the issuer of our own tokens.
    pub jwt_issuer: Option<String>,
    /// Lifetime of tokens from `POST /auth/login` (`CHAT_TOKEN_TTL_SECS`).
    pub token_ttl: Duration,
    /// Origins allowed for CORS and cookie-authenticated WebSocket handshakes
    /// (`ALLOWED_ORIGINS`, comma separated). The server's own origin is
    /// always allowed.
    pub allowed_origins: Vec<String>,
    /// Seed the demo users and channels once (`CHAT_DEMO_DATA`).
    pub demo_data: bool,
    /// Force the cookie's `Secure` flag (`CHAT_COOKIE_SECURE`); `None` sets
    /// it when the request came over https (`X-Forwarded-Proto`).
    pub cookie_secure: Option<bool>,
    /// Directory with the built site, `pkg/` and assets (`LEPTOS_SITE_ROOT`).
    pub site_root: String,
    /// Sub-directory of `site_root` with the Wasm/JS/CSS (`LEPTOS_SITE_PKG_DIR`).
    pub site_pkg_dir: String,
    /// File stem of the Wasm/JS/CSS bundle (`LEPTOS_OUTPUT_NAME`); by
    /// default the package name, which is also cargo-leptos' default name
    /// for the files it writes (Cargo.toml sets no other).
    pub output_name: String,
    /// Port of cargo-leptos' live-reload socket (`LEPTOS_RELOAD_PORT`).
    pub reload_port: u32,
    /// Production mode (`LEPTOS_ENV=PROD`): no live-reload script.
    pub production: bool,
    /// Limits on input and resources.
    pub limits: Limits,
    /// The site compiled into the binary (`--features embed-site`), served
    /// instead of `site_root`.
    pub embedded_site: Option<crate::server::http::embedded::EmbeddedSite>,
}

/// Every limit of the protocol and of the server, each configurable.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest message text in characters after trimming (`CHAT_MAX_TEXT_CHARS`).
    pub max_text_chars: usize,
    /// Largest accepted WebSocket text frame in bytes (`CHAT_MAX_FRAME_BYTES`);
    /// bigger frames get `MESSAGE_TOO_LONG` and the connection stays open.
    pub max_frame_bytes: usize,
    /// Hard cap on one WebSocket message (`CHAT_WS_HARD_MAX_BYTES`); beyond it
    /// the socket layer closes the connection (1009).
    pub ws_hard_max_bytes: usize,
    /// Sends a user may make in a burst, per channel (`CHAT_RATE_BURST`).
    pub rate_burst: u32,
    /// Sustained sends per second per user per channel (`CHAT_RATE_PER_SECOND`).
    pub rate_per_second: u32,
    /// Login attempts per e-mail in a burst (`CHAT_LOGIN_BURST`).
    pub login_burst: u32,
    /// Sustained login attempts per e-mail per minute (`CHAT_LOGIN_PER_MINUTE`).
    pub login_per_minute: u32,
    /// Typing expires this long after the last `typing.start` (`CHAT_TYPING_TIMEOUT_MS`).
    pub typing_timeout: Duration,
    /// Largest history page (`CHAT_HISTORY_MAX_LIMIT`).
    pub history_max_limit: u32,
    /// Per-connection WebSocket read buffer in bytes (`CHAT_WS_READ_BUFFER`);
    /// small keeps idle sockets cheap.
    pub ws_read_buffer: usize,
    /// Bytes of queued frames a connection collects before writing them
    /// without waiting for its flush (`CHAT_WS_WRITE_BUFFER`); bounds the
    /// write buffer a burst leaves behind.
    pub ws_write_buffer: usize,
    /// How long a room collects presence changes before sending them
    /// together (`CHAT_PRESENCE_BATCH_MS`; 0 sends each at once).
    pub presence_batch: Duration,
    /// Events buffered per room before a slow connection lags and catches up
    /// from storage (`CHAT_ROOM_BUFFER`).
    pub room_buffer: usize,
    /// Database connections (`CHAT_DB_CONNECTIONS`): the pool size on
    /// Postgres, the read pool beside the one writer on SQLite.
    pub db_connections: usize,
    /// How often each server compares its rooms with the stored heads when
    /// several servers share Postgres (`CHAT_CLUSTER_SWEEP_MS`): the most a
    /// missed wake-up can delay a message.
    pub cluster_sweep: Duration,
    /// Bad frames in a row after which a connection is closed with 1008
    /// (`CHAT_MAX_BAD_FRAMES`).
    pub max_bad_frames: u32,
    /// The server pings each WebSocket this often, and drops a connection
    /// that has sent nothing (not even a pong) for two intervals, so a
    /// vanished client does not stay "online" (`CHAT_WS_PING_INTERVAL_MS`).
    pub ws_ping_interval: Duration,
    /// Largest JSON body of a REST request in bytes (`CHAT_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Messages stored in one group-commit transaction (`CHAT_WRITE_BATCH`).
    pub write_batch: usize,
    /// The slow-consumer cap: a connection whose socket takes no frame for
    /// this long (the client stopped reading and the kernel's buffers are
    /// full) is closed (`CHAT_WS_SEND_TIMEOUT_MS`). The server never queues
    /// frames per connection beyond that socket, so its memory is bounded.
    pub ws_send_timeout: Duration,
    /// Kernel send buffer of each accepted TCP connection in bytes
    /// (`CHAT_TCP_SEND_BUFFER`; 0 leaves Linux's autotuning, up to 4 MiB a
    /// socket). Small bounds the kernel memory a client that stops reading
    /// can pin and lets the slow-consumer cap act within seconds.
    pub tcp_send_buffer: usize,
    /// Sends of one connection stored concurrently (`CHAT_WS_PENDING_SENDS`);
    /// further frames wait unread until one is committed.
    pub ws_pending_sends: usize,
    /// The most a connection may take to send a request's headers, counted
    /// from when the server starts waiting for them: a new connection that
    /// sends nothing, a handshake trickled byte by byte, or a keep-alive
    /// connection left idle is closed after it
    /// (`CHAT_HTTP_HEADER_TIMEOUT_MS`).
    pub http_header_timeout: Duration,
    /// The most TCP connections open at once, HTTP and WebSocket alike
    /// (`CHAT_MAX_CONNECTIONS`); beyond it a new connection gets a 503 and
    /// is closed. 0: the process's open-file limit less 256, so the server
    /// never runs out of descriptors for its database and logs.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_chars: crate::protocol::text::DEFAULT_MAX_TEXT_CHARS,
            max_frame_bytes: 64 * 1024,
            ws_hard_max_bytes: 1024 * 1024,
            rate_burst: 20,
            rate_per_second: 5,
            login_burst: 10,
            login_per_minute: 10,
            typing_timeout: Duration::from_secs(5),
            history_max_limit: 100,
            ws_read_buffer: 1024,
            ws_write_buffer: 16 * 1024,
            presence_batch: Duration::from_millis(200),
            room_buffer: 256,
            db_connections: 16,
            cluster_sweep: Duration::from_millis(2000),
            max_bad_frames: 50,
            ws_ping_interval: Duration::from_secs(30),
            max_body_bytes: 64 * 1024,
            write_batch: 256,
            ws_send_timeout: Duration::from_secs(10),
            ws_pending_sends: 32,
            tcp_send_buffer: 64 * 1024,
            http_header_timeout: Duration::from_secs(10),
            max_connections: 0,
        }
    }
}

/// A setting that could not be used, named so the operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("configuration error in {setting}: {problem}")]
pub struct ConfigError {
    /// The setting (file key or environment variable).
    pub setting: String,
    /// What is wrong with it.
    pub problem: String,
}

fn config_error(setting: impl Into<String>, problem: impl ToString) -> ConfigError {
    ConfigError {
        setting: setting.into(),
        problem: problem.to_string(),
    }
}

impl Settings {
    /// Defaults with the given data directory: SQLite in it, a generated
    /// secret, no demo data, listening on 127.0.0.1:3000.
    pub fn defaults_for(data_dir: PathBuf) -> Self {
        Settings {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir,
            database_url: None,
            jwt_secret: None,
            admin_key: None,
            jwt_issuer: None,
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            allowed_origins: Vec::new(),
            demo_data: false,
            cookie_secure: None,
            site_root: "target/site".into(),
            site_pkg_dir: "pkg".into(),
            output_name: env!("CARGO_PKG_NAME").into(),
            reload_port: 3001,
            production: false,
            limits: Limits::default(),
            embedded_site: None,
        }
    }

    /// Loads defaults, then the settings file, then the environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first bad setting.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(None)
    }

    /// Like [`Settings::load`], with the settings file given explicitly
    /// (`--config`); otherwise `CHAT_CONFIG`, else `Leptos.toml` if present.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first bad setting.
    pub fn load_from(config: Option<PathBuf>) -> Result<Self, ConfigError> {
        let mut settings = Settings::defaults_for(PathBuf::from("data"));
        let (explicit, source) = match config {
            Some(path) => (Some(path.display().to_string()), "--config"),
            None => (std::env::var("CHAT_CONFIG").ok(), "CHAT_CONFIG"),
        };
        let path = explicit.clone().unwrap_or_else(|| "Leptos.toml".into());
        if Path::new(&path).exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| config_error(&path, e))?;
            settings.apply_file(&path, &text)?;
        } else if explicit.is_some() {
            return Err(config_error(source, format!("{path} does not exist")));
        }
        settings.apply_env(|key| std::env::var(key).ok())?;
        Ok(settings)
    }

    /// Applies a settings file's `[chat]` and `[chat.limits]` tables.
    pub fn apply_file(&mut self, path: &str, text: &str) -> Result<(), ConfigError> {
        let file: SettingsFile =
            toml::from_str(text).map_err(|e| config_error(path, e.message()))?;
        let Some(c) = file.chat else { return Ok(()) };
        let key = |k: &str| format!("{path}: chat.{k}");
        if let Some(v) = c.site_addr {
            self.listen_addr = v.parse().map_err(|e| config_error(key("site_addr"), e))?;
        }
        set(&mut self.data_dir, c.data_dir.map(PathBuf::from));
        if c.database_url.is_some() {
            self.database_url = c.database_url;
        }
        if c.jwt_issuer.is_some() {
            self.jwt_issuer = c.jwt_issuer.filter(|s| !s.is_empty());
        }
        set(
            &mut self.token_ttl,
            c.token_ttl_secs.map(Duration::from_secs),
        );
        set(&mut self.allowed_origins, c.allowed_origins);
        set(&mut self.demo_data, c.demo_data);
        if c.cookie_secure.is_some() {
            self.cookie_secure = c.cookie_secure;
        }
        if let Some(l) = c.limits {
            let lim = &mut self.limits;
            set(&mut lim.max_text_chars, l.max_text_chars);
            set(&mut lim.max_frame_bytes, l.max_frame_bytes);
            set(&mut lim.ws_hard_max_bytes, l.ws_hard_max_bytes);
            set(&mut lim.rate_burst, l.rate_burst);
            set(&mut lim.rate_per_second, l.rate_per_second);
            set(&mut lim.login_burst, l.login_burst);
            set(&mut lim.login_per_minute, l.login_per_minute);
            set(
                &mut lim.typing_timeout,
                l.typing_timeout_ms.map(Duration::from_millis),
            );
            set(&mut lim.history_max_limit, l.history_max_limit);
            set(&mut lim.ws_read_buffer, l.ws_read_buffer);
            set(&mut lim.ws_write_buffer, l.ws_write_buffer);
            set(
                &mut lim.presence_batch,
                l.presence_batch_ms.map(Duration::from_millis),
            );
            set(&mut lim.room_buffer, l.room_buffer);
            set(&mut lim.db_connections, l.db_connections);
            set(
                &mut lim.cluster_sweep,
                l.cluster_sweep_ms.map(Duration::from_millis),
            );
            set(&mut lim.max_bad_frames, l.max_bad_frames);
            set(
                &mut lim.ws_ping_interval,
                l.ws_ping_interval_ms.map(Duration::from_millis),
            );
            set(&mut lim.max_body_bytes, l.max_body_bytes);
            set(&mut lim.write_batch, l.write_batch);
            set(
                &mut lim.ws_send_timeout,
                l.ws_send_timeout_ms.map(Duration::from_millis),
            );
            set(&mut lim.ws_pending_sends, l.ws_pending_sends);
            set(&mut lim.tcp_send_buffer, l.tcp_send_buffer);
            set(
                &mut lim.http_header_timeout,
                l.http_header_timeout_ms.map(Duration::from_millis),
            );
            set(&mut lim.max_connections, l.max_connections);
        }
        self.validate()
    }

    /// Applies environment variables (read through `get`, so tests can pass a map).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parsed<T: std::str::FromStr>(
            get: &impl Fn(&str) -> Option<String>,
            key: &str,
        ) -> Result<Option<T>, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            match get(key) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<T>()
                    .map(Some)
                    .map_err(|e| config_error(key, format!("{v:?}: {e}"))),
            }
        }
        set(&mut self.listen_addr, parsed(&get, "LEPTOS_SITE_ADDR")?);
        set(&mut self.data_dir, get("CHAT_DATA_DIR").map(PathBuf::from));
        if let Some(url) = get("DATABASE_URL").filter(|s| !s.is_empty()) {
            self.database_url = Some(url);
        }
        if let Some(secret) = get("JWT_SECRET").filter(|s| !s.is_empty()) {
            self.jwt_secret = Some(secret);
        }
        if let Some(key) = get("CHAT_ADMIN_KEY").filter(|s| !s.is_empty()) {
            self.admin_key = Some(key);
        }
        if let Some(iss) = get("JWT_ISSUER") {
            self.jwt_issuer = Some(iss).filter(|s| !s.is_empty());
        }
        set(
            &mut self.token_ttl,
            parsed::<u64>(&get, "CHAT_TOKEN_TTL_SECS")?.map(Duration::from_secs),
        );
        if let Some(origins) = get("ALLOWED_ORIGINS") {
            self.allowed_origins = origins
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        }
        set(&mut self.demo_data, parsed_bool(&get, "CHAT_DEMO_DATA")?);
        if let Some(v) = parsed_bool(&get, "CHAT_COOKIE_SECURE")? {
            self.cookie_secure = Some(v);
        }
        set(&mut self.site_root, get("LEPTOS_SITE_ROOT"));
        set(&mut self.site_pkg_dir, get("LEPTOS_SITE_PKG_DIR"));
        set(&mut self.output_name, get("LEPTOS_OUTPUT_NAME"));
        set(&mut self.reload_port, parsed(&get, "LEPTOS_RELOAD_PORT")?);
        if let Some(env) = get("LEPTOS_ENV") {
            self.production = matches!(env.to_ascii_uppercase().as_str(), "PROD" | "PRODUCTION");
        }
        let lim = &mut self.limits;
        set(
            &mut lim.max_text_chars,
            parsed(&get, "CHAT_MAX_TEXT_CHARS")?,
        );
        set(
            &mut lim.max_frame_bytes,
            parsed(&get, "CHAT_MAX_FRAME_BYTES")?,
        );
        set(
            &mut lim.ws_hard_max_bytes,
            parsed(&get, "CHAT_WS_HARD_MAX_BYTES")?,
        );
        set(&mut lim.rate_burst, parsed(&get, "CHAT_RATE_BURST")?);
        set(
            &mut lim.rate_per_second,
            parsed(&get, "CHAT_RATE_PER_SECOND")?,
        );
        set(&mut lim.login_burst, parsed(&get, "CHAT_LOGIN_BURST")?);
        set(
            &mut lim.login_per_minute,
            parsed(&get, "CHAT_LOGIN_PER_MINUTE")?,
        );
        set(
            &mut lim.typing_timeout,
            parsed::<u64>(&get, "CHAT_TYPING_TIMEOUT_MS")?.map(Duration::from_millis),
        );
        set(
            &mut lim.history_max_limit,
            parsed(&get, "CHAT_HISTORY_MAX_LIMIT")?,
        );
        set(
            &mut lim.ws_read_buffer,
            parsed(&get, "CHAT_WS_READ_BUFFER")?,
        );
        set(
            &mut lim.ws_write_buffer,
            parsed(&get, "CHAT_WS_WRITE_BUFFER")?,
        );
        set(
            &mut lim.presence_batch,
            parsed::<u64>(&get, "CHAT_PRESENCE_BATCH_MS")?.map(Duration::from_millis),
        );
        set(&mut lim.room_buffer, parsed(&get, "CHAT_ROOM_BUFFER")?);
        set(
            &mut lim.db_connections,
            parsed(&get, "CHAT_DB_CONNECTIONS")?,
        );
        set(
            &mut lim.cluster_sweep,
            parsed::<u64>(&get, "CHAT_CLUSTER_SWEEP_MS")?.map(Duration::from_millis),
        );
        set(
            &mut lim.max_bad_frames,
            parsed(&get, "CHAT_MAX_BAD_FRAMES")?,
        );
        set(
            &mut lim.ws_ping_interval,
            parsed::<u64>(&get, "CHAT_WS_PING_INTERVAL_MS")?.map(Duration::from_millis),
        );
        set(
            &mut lim.max_body_bytes,
            parsed(&get, "CHAT_MAX_BODY_BYTES")?,
        );
        set(&mut lim.write_batch, parsed(&get, "CHAT_WRITE_BATCH")?);
        set(
            &mut lim.ws_send_timeout,
            parsed::<u64>(&get, "CHAT_WS_SEND_TIMEOUT_MS")?.map(Duration::from_millis),
        );
        set(
            &mut lim.ws_pending_sends,
            parsed(&get, "CHAT_WS_PENDING_SENDS")?,
        );
        set(
            &mut lim.tcp_send_buffer,
            parsed(&get, "CHAT_TCP_SEND_BUFFER")?,
        );
        set(
            &mut lim.http_header_timeout,
            parsed::<u64>(&get, "CHAT_HTTP_HEADER_TIMEOUT_MS")?.map(Duration::from_millis),
        );
        set(
            &mut lim.max_connections,
            parsed(&get, "CHAT_MAX_CONNECTIONS")?,
        );
        self.validate()
    }

    /// Rejects values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let positive = [
            ("max_text_chars", l.max_text_chars),
            ("max_frame_bytes", l.max_frame_bytes),
            ("rate_burst", l.rate_burst as usize),
            ("rate_per_second", l.rate_per_second as usize),
            ("login_burst", l.login_burst as usize),
            ("login_per_minute", l.login_per_minute as usize),
            ("history_max_limit", l.history_max_limit as usize),
            ("room_buffer", l.room_buffer),
            ("db_connections", l.db_connections),
            ("write_batch", l.write_batch),
            ("max_body_bytes", l.max_body_bytes),
            ("ws_pending_sends", l.ws_pending_sends),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(config_error(format!("limits.{name}"), "must be at least 1"));
            }
        }
        if self.admin_key.as_ref().is_some_and(|k| k.len() < 32) {
            return Err(config_error(
                "CHAT_ADMIN_KEY",
                "must be at least 32 characters (a random secret)",
            ));
        }
        if l.ws_ping_interval < Duration::from_millis(100) {
            return Err(config_error(
                "limits.ws_ping_interval_ms",
                "must be at least 100 ms",
            ));
        }
        if l.http_header_timeout < Duration::from_millis(100) {
            return Err(config_error(
                "limits.http_header_timeout_ms",
                "must be at least 100 ms",
            ));
        }
        if l.ws_send_timeout < Duration::from_millis(100) {
            return Err(config_error(
                "limits.ws_send_timeout_ms",
                "must be at least 100 ms",
            ));
        }
        if l.ws_read_buffer < 256 {
            return Err(config_error(
                "limits.ws_read_buffer",
                "must be at least 256 bytes",
            ));
        }
        if l.ws_hard_max_bytes < l.max_frame_bytes {
            return Err(config_error(
                "limits.ws_hard_max_bytes",
                "must be at least limits.max_frame_bytes",
            ));
        }
        if let Some(secret) = &self.jwt_secret {
            if secret.len() < 16 {
                return Err(config_error("JWT_SECRET", "must be at least 16 bytes"));
            }
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn effective_database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("chat.db").display()))
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn parsed_bool(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
) -> Result<Option<bool>, ConfigError> {
    match get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) => match v.as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" | "" => Ok(Some(false)),
            _ => Err(config_error(key, format!("{v:?} is not a boolean"))),
        },
    }
}

/// The settings file: a `[chat]` table (other tables, such as cargo-leptos'
/// own, are ignored).
#[derive(Debug, Default, Deserialize)]
struct SettingsFile {
    chat: Option<ChatSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatSection {
    site_addr: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    jwt_issuer: Option<String>,
    token_ttl_secs: Option<u64>,
    allowed_origins: Option<Vec<String>>,
    demo_data: Option<bool>,
    cookie_secure: Option<bool>,
    limits: Option<LimitsSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_text_chars: Option<usize>,
    max_frame_bytes: Option<usize>,
    ws_hard_max_bytes: Option<usize>,
    rate_burst: Option<u32>,
    rate_per_second: Option<u32>,
    login_burst: Option<u32>,
    login_per_minute: Option<u32>,
    typing_timeout_ms: Option<u64>,
    history_max_limit: Option<u32>,
    ws_read_buffer: Option<usize>,
    ws_write_buffer: Option<usize>,
    presence_batch_ms: Option<u64>,
    room_buffer: Option<usize>,
    db_connections: Option<usize>,
    cluster_sweep_ms: Option<u64>,
    max_bad_frames: Option<u32>,
    ws_ping_interval_ms: Option<u64>,
    max_body_bytes: Option<usize>,
    write_batch: Option<usize>,
    ws_send_timeout_ms: Option<u64>,
    ws_pending_sends: Option<usize>,
    tcp_send_buffer: Option<usize>,
    http_header_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// The pages ask for `<package name>.wasm`; cargo-leptos writes
    /// `<output-name>.wasm`, which defaults to the package name. Setting
    /// another `output-name` in Cargo.toml would break every page.
    #[test]
    fn the_bundle_name_is_the_package_name_cargo_leptos_uses() {
        let manifest: toml::Table =
            toml::from_str(include_str!("../../Cargo.toml")).expect("Cargo.toml parses");
        let leptos = &manifest["package"]["metadata"]["leptos"];
        assert_eq!(
            leptos.get("output-name"),
            None,
            "Cargo.toml must not rename the bundle"
        );
        assert_eq!(
            manifest["package"]["name"].as_str(),
            Some(env!("CARGO_PKG_NAME"))
        );
        let defaults = Settings::defaults_for(PathBuf::from("data"));
        assert_eq!(defaults.output_name, env!("CARGO_PKG_NAME"));
        // .cargo/config.toml gives plain cargo builds the name cargo-leptos
        // passes, so the two kinds of build share compiled crates.
        assert_eq!(
            option_env!("LEPTOS_OUTPUT_NAME"),
            Some(env!("CARGO_PKG_NAME"))
        );
        // Both halves are built with the same `erase_components` setting.
        assert_eq!(
            leptos
                .get("disable-erase-components")
                .and_then(|v| v.as_bool()),
            Some(true)
        );
        assert_eq!(leptos.get("always-erase-components"), None);
        let cargo_config: toml::Table = toml::from_str(include_str!("../../.cargo/config.toml"))
            .expect(".cargo/config.toml parses");
        let flags = cargo_config["build"]["rustflags"]
            .as_array()
            .expect("build.rustflags");
        assert!(
            flags.windows(2).any(
                |w| w[0].as_str() == Some("--cfg") && w[1].as_str() == Some("erase_components")
            ),
            "build.rustflags lacks --cfg erase_components: {flags:?}"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut s = Settings::defaults_for("data".into());
        s.apply_file(
            "Leptos.toml",
            "[chat]\ndemo_data = true\n[chat.limits]\nrate_burst = 7\n",
        )
        .unwrap();
        assert!(s.demo_data);
        assert_eq!(s.limits.rate_burst, 7);
        s.apply_env(env(&[
            ("CHAT_RATE_BURST", "9"),
            ("CHAT_DEMO_DATA", "false"),
        ]))
        .unwrap();
        assert_eq!(s.limits.rate_burst, 9);
        assert!(!s.demo_data);
    }

    #[test]
    fn a_bad_value_names_the_setting() {
        let mut s = Settings::defaults_for("data".into());
        let err = s
            .apply_env(env(&[("CHAT_RATE_BURST", "lots")]))
            .unwrap_err();
        assert_eq!(err.setting, "CHAT_RATE_BURST");
        let err = s
            .apply_file("x.toml", "[chat]\nunknown_key = 1\n")
            .unwrap_err();
        assert!(err.to_string().contains("unknown_key"), "{err}");
        let err = s
            .apply_env(env(&[("CHAT_MAX_TEXT_CHARS", "0")]))
            .unwrap_err();
        assert!(err.setting.contains("max_text_chars"));
    }

    #[test]
    fn other_tables_in_the_file_are_ignored() {
        let mut s = Settings::defaults_for("data".into());
        s.apply_file("Leptos.toml", "[package]\nname = \"x\"\n")
            .unwrap();
    }
}
