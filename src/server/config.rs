//! Runtime settings, each declared once in the two `settings!` tables
//! below: its field and type, its default, its key in the settings file and
//! its environment variable, and how a value is read. figment layers them:
//! the defaults, then the settings file (`Leptos.toml`'s `[chat]` table, or
//! the file named by `CHAT_CONFIG` or `--config`), then environment
//! variables; the command line's flags come last (src/server/cli.rs). A bad
//! value stops start-up with a message that names the setting as the
//! operator wrote it (the variable, or the file and key).
//!
//! Secrets are [`SecretString`]s, so no `Debug` print or log can show them
//! and using one takes an explicit `expose_secret()`: `JWT_SECRET`,
//! `CHAT_ADMIN_KEY`, and `DATABASE_URL`, whose Postgres form carries a
//! password (`postgres://chat:<password>@db/chat`).

use std::fmt::Display;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::server::http::embedded::EmbeddedSite;
use crate::server::store::sqlite::SqliteSync;

/// Declares a struct of settings. Per setting: its docs, field, type and
/// default; `file "key"` (the settings file and the environment may set
/// it) or `env_only "key"` (only the environment: secrets, and Leptos' own
/// variables); its environment variable; its reader (how a file's value or
/// a variable's text becomes the field); and, optionally, `empty_unsets`
/// (an empty variable counts as unset). After the settings come plain
/// fields that are not settings. Writes the struct (its field docs name the
/// key, the variable and the default), its defaults, its table of
/// [`Declared`] settings, and the code that reads it from figment's layers.
macro_rules! settings {
    (@names file, $prefix:literal, $key:literal, $env:literal) => {
        concat!("Settings file: `", $prefix, $key, "`; environment: `", $env, "`.")
    };
    (@names env_only, $prefix:literal, $key:literal, $env:literal) => {
        concat!("Environment only: `", $env, "`.")
    };
    (@in_file file) => { true };
    (@in_file env_only) => { false };
    (@empty) => { false };
    (@empty empty_unsets) => { true };
    (
        $(#[$meta:meta])*
        pub struct $name:ident, keys under $prefix:literal {
            $(
                $(#[doc = $doc:literal])*
                $field:ident: $ty:ty = $default:expr;
                    $where:ident $key:literal, env $env:literal, read $read:ty $(, $empty:ident)?;
            )*
        }
        $(
            $(#[doc = $xdoc:literal])*
            $xfield:ident: $xty:ty = $xdefault:expr;
        )*
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[doc = $doc])*
                #[doc = ""]
                #[doc = settings!(@names $where, $prefix, $key, $env)]
                #[doc = concat!("Default: `", stringify!($default), "`.")]
                pub $field: $ty,
            )*
            $(
                $(#[doc = $xdoc])*
                pub $xfield: $xty,
            )*
        }

        impl $name {
            /// Every setting of this struct, in declaration order.
            pub const DECLARED: &'static [Declared] = &[$(
                Declared {
                    field: stringify!($field),
                    key: concat!($prefix, $key),
                    env: $env,
                    in_file: settings!(@in_file $where),
                    empty_unsets: settings!(@empty $($empty)?),
                },
            )*];

            /// The declared defaults.
            fn declared_defaults() -> Self {
                $name {
                    $($field: $default,)*
                    $($xfield: $xdefault,)*
                }
            }

            /// Sets every field that `layers` holds a value for.
            fn read_layers(&mut self, layers: &Figment) -> Result<(), ConfigError> {
                $(
                    if let Some(value) = read::<$read, $ty>(layers, concat!($prefix, $key))? {
                        self.$field = value;
                    }
                )*
                Ok(())
            }
        }
    };
}

settings! {
    /// Everything the server needs to start. Tests build one with
    /// [`Settings::defaults_for`] and change fields directly.
    #[derive(Debug, Clone)]
    pub struct Settings, keys under "" {
        /// Where to listen; port 0 picks a free port.
        listen_addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 3000));
            file "site_addr", env "LEPTOS_SITE_ADDR", read Parsed;
        /// Directory for the SQLite file and the generated dev secret;
        /// created at start-up.
        data_dir: PathBuf = PathBuf::from("data");
            file "data_dir", env "CHAT_DATA_DIR", read Text;
        /// The database; `None` means `sqlite://<data_dir>/chat.db`. A
        /// secret: a Postgres URL carries the password. An empty variable
        /// leaves it unset.
        database_url: Option<SecretString> = None;
            file "database_url", env "DATABASE_URL", read Maybe<Secret>, empty_unsets;
        /// The HS256 secret; `None` means a generated secret kept in
        /// `<data_dir>/jwt_secret`. An empty variable leaves it unset.
        jwt_secret: Option<SecretString> = None;
            env_only "jwt_secret", env "JWT_SECRET", read Maybe<Secret>, empty_unsets;
        /// The host app's service key for `/admin/*`; `None` disables the
        /// admin API. An empty variable leaves it unset.
        admin_key: Option<SecretString> = None;
            env_only "admin_key", env "CHAT_ADMIN_KEY", read Maybe<Secret>, empty_unsets;
        /// The host app's URL for webhook events (PROTOCOL.md
        /// "Notifications"); `None` turns them off.
        webhook_url: Option<String> = None;
            file "webhook_url", env "CHAT_WEBHOOK_URL", read NonEmpty;
        /// The key that signs webhook events (needed with `webhook_url`).
        /// An empty variable leaves it unset.
        webhook_secret: Option<SecretString> = None;
            env_only "webhook_secret", env "CHAT_WEBHOOK_SECRET", read Maybe<Secret>, empty_unsets;
        /// Required `iss` claim; also the issuer of our own tokens. Empty
        /// means none.
        jwt_issuer: Option<String> = None;
            file "jwt_issuer", env "JWT_ISSUER", read NonEmpty;
        /// Lifetime of tokens from `POST /auth/login` (in seconds).
        token_ttl: Duration = Duration::from_secs(7 * 24 * 3600);
            file "token_ttl_secs", env "CHAT_TOKEN_TTL_SECS", read Secs;
        /// Origins allowed for CORS and cookie-authenticated WebSocket
        /// handshakes (the variable: comma separated). The server's own
        /// origin is always allowed.
        allowed_origins: Vec<String> = Vec::new();
            file "allowed_origins", env "ALLOWED_ORIGINS", read CommaList;
        /// Seed the demo users and channels once.
        demo_data: bool = false;
            file "demo_data", env "CHAT_DEMO_DATA", read Flag;
        /// Keep the search index (PROTOCOL.md "Search"); off stores new
        /// messages without their words and refuses searches, for a host
        /// that does not want the index's cost in writes and disk.
        search: bool = true;
            file "search", env "CHAT_SEARCH", read Flag;
        /// SQLite only: `full` (the default) syncs every commit to disk
        /// before a message is acknowledged; `normal` syncs at checkpoints
        /// (a power cut can lose the last commits, a process crash
        /// cannot). See [`SqliteSync`].
        sqlite_sync: SqliteSync = SqliteSync::Full;
            file "sqlite_sync", env "CHAT_SQLITE_SYNC", read Parsed;
        /// Where uploaded files go (PROTOCOL.md "Files and images"): a
        /// `file://` directory, or `s3://bucket[/prefix]` with the usual
        /// `AWS_*` variables (`AWS_ENDPOINT_URL` for a store other than
        /// Amazon's). `None` means `file://<data_dir>/files`.
        files_url: Option<String> = None;
            file "files_url", env "CHAT_FILES_URL", read NonEmpty;
        /// Fetch link previews for messages with links (off by default:
        /// the server then makes requests to addresses people post).
        link_previews: bool = false;
            file "link_previews", env "CHAT_LINK_PREVIEWS", read Flag;
        /// For tests only: host names that link previews resolve to
        /// 127.0.0.1 and fetch on any port, so a test serves its pages from
        /// a loopback server while every other loopback, private or
        /// non-80/443 address stays refused. Empty in production.
        preview_test_hosts: Vec<String> = Vec::new();
            file "preview_test_hosts", env "CHAT_PREVIEW_TEST_HOSTS", read CommaList;
        /// Force the cookie's `Secure` flag; `None` sets it when the request
        /// came over https (`X-Forwarded-Proto`).
        cookie_secure: Option<bool> = None;
            file "cookie_secure", env "CHAT_COOKIE_SECURE", read Maybe<Flag>;
        /// Directory with the built site, `pkg/` and assets.
        site_root: String = "target/site".into();
            env_only "site_root", env "LEPTOS_SITE_ROOT", read Text;
        /// Sub-directory of `site_root` with the Wasm/JS/CSS.
        site_pkg_dir: String = "pkg".into();
            env_only "site_pkg_dir", env "LEPTOS_SITE_PKG_DIR", read Text;
        /// File stem of the Wasm/JS/CSS bundle; by default the package name,
        /// which is also cargo-leptos' default name for the files it writes
        /// (Cargo.toml sets no other).
        output_name: String = env!("CARGO_PKG_NAME").into();
            env_only "output_name", env "LEPTOS_OUTPUT_NAME", read Text;
        /// Port of cargo-leptos' live-reload socket.
        reload_port: u32 = 3001;
            env_only "reload_port", env "LEPTOS_RELOAD_PORT", read Parsed;
        /// Production mode (`LEPTOS_ENV=PROD` or `PRODUCTION`, any case): no
        /// live-reload script.
        production: bool = false;
            env_only "production", env "LEPTOS_ENV", read LeptosEnv;
    }
    /// Limits on input and resources.
    limits: Limits = Limits::default();
    /// The site compiled into the binary (`--features embed-site`), served
    /// instead of `site_root`.
    embedded_site: Option<EmbeddedSite> = None;
    /// The `AWS_*` variables an `s3://` `files_url` is configured by;
    /// `None` reads the process environment (as deployed). Tests give
    /// their own, since they must not change the process's.
    files_env: Option<Vec<(String, String)>> = None;
}

settings! {
    /// Every limit of the protocol and of the server, each configurable.
    #[derive(Debug, Clone)]
    pub struct Limits, keys under "limits." {
        /// Longest message text in characters after trimming.
        max_text_chars: usize = crate::protocol::text::DEFAULT_MAX_TEXT_CHARS;
            file "max_text_chars", env "CHAT_MAX_TEXT_CHARS", read Parsed;
        /// Largest accepted WebSocket text frame in bytes; bigger frames get
        /// `MESSAGE_TOO_LONG` and the connection stays open.
        max_frame_bytes: usize = 64 * 1024;
            file "max_frame_bytes", env "CHAT_MAX_FRAME_BYTES", read Parsed;
        /// Hard cap on one WebSocket message; beyond it the socket layer
        /// closes the connection (1009).
        ws_hard_max_bytes: usize = 1024 * 1024;
            file "ws_hard_max_bytes", env "CHAT_WS_HARD_MAX_BYTES", read Parsed;
        /// Sends a user may make in a burst, per channel.
        rate_burst: u32 = 20;
            file "rate_burst", env "CHAT_RATE_BURST", read Parsed;
        /// Sustained sends per second per user per channel.
        rate_per_second: u32 = 5;
            file "rate_per_second", env "CHAT_RATE_PER_SECOND", read Parsed;
        /// Changes to messages (edits, deletes, reactions, pins) a user may
        /// make in a burst, across channels.
        change_burst: u32 = 30;
            file "change_burst", env "CHAT_CHANGE_BURST", read Parsed;
        /// Sustained changes per second per user.
        change_per_second: u32 = 5;
            file "change_per_second", env "CHAT_CHANGE_PER_SECOND", read Parsed;
        /// Distinct emoji on one message.
        max_reactions_per_message: usize = 20;
            file "max_reactions_per_message", env "CHAT_MAX_REACTIONS_PER_MESSAGE", read Parsed;
        /// Pinned messages in one channel.
        max_pins_per_channel: usize = 50;
            file "max_pins_per_channel", env "CHAT_MAX_PINS_PER_CHANNEL", read Parsed;
        /// Login attempts per e-mail in a burst.
        login_burst: u32 = 10;
            file "login_burst", env "CHAT_LOGIN_BURST", read Parsed;
        /// Sustained login attempts per e-mail per minute.
        login_per_minute: u32 = 10;
            file "login_per_minute", env "CHAT_LOGIN_PER_MINUTE", read Parsed;
        /// Typing expires this long after the last `typing.start` (in
        /// milliseconds).
        typing_timeout: Duration = Duration::from_secs(5);
            file "typing_timeout_ms", env "CHAT_TYPING_TIMEOUT_MS", read Millis;
        /// Largest history page.
        history_max_limit: u32 = 100;
            file "history_max_limit", env "CHAT_HISTORY_MAX_LIMIT", read Parsed;
        /// Largest page of search results.
        search_max_limit: u32 = 50;
            file "search_max_limit", env "CHAT_SEARCH_MAX_LIMIT", read Parsed;
        /// How often new messages and changes reach the search index in
        /// the background (SQLite: the index file's writer takes them;
        /// Postgres: the GIN pending list is merged), rather than inside a
        /// send (BENCHMARKS.md "Search"). Longer means fewer, larger
        /// index writes; searches still find everything (SQLite catches
        /// up first, Postgres reads the pending list).
        search_flush_interval: Duration = Duration::from_millis(500);
            file "search_flush_ms", env "CHAT_SEARCH_FLUSH_MS", read Millis;
        /// One webhook attempt's time-out (in milliseconds).
        webhook_timeout: Duration = Duration::from_secs(5);
            file "webhook_timeout_ms", env "CHAT_WEBHOOK_TIMEOUT_MS", read Millis;
        /// Attempts per webhook event, the first included.
        webhook_max_attempts: u32 = 5;
            file "webhook_max_attempts", env "CHAT_WEBHOOK_MAX_ATTEMPTS", read Parsed;
        /// The wait before a webhook event's second attempt (in
        /// milliseconds); each later wait doubles it.
        webhook_retry: Duration = Duration::from_secs(1);
            file "webhook_retry_ms", env "CHAT_WEBHOOK_RETRY_MS", read Millis;
        /// Webhook events waiting for delivery at most; more are dropped.
        webhook_queue: usize = 10_000;
            file "webhook_queue", env "CHAT_WEBHOOK_QUEUE", read Parsed;
        /// How long a member stays offline with unread messages before the
        /// `unread.reminder` event (in seconds).
        webhook_reminder_after: Duration = Duration::from_secs(300);
            file "webhook_reminder_after_s", env "CHAT_WEBHOOK_REMINDER_AFTER_S", read Secs;
        /// Largest uploaded file in bytes; a bigger upload is refused
        /// (413) while it streams, nothing kept.
        upload_max_bytes: u64 = 25 * 1024 * 1024;
            file "upload_max_bytes", env "CHAT_UPLOAD_MAX_BYTES", read Parsed;
        /// Bytes one user may upload in 24 hours.
        upload_daily_bytes: u64 = 1024 * 1024 * 1024;
            file "upload_daily_bytes", env "CHAT_UPLOAD_DAILY_BYTES", read Parsed;
        /// The file types an upload may be, by the type its bytes show:
        /// MIME types and `type/*`, comma separated, or `default` (images,
        /// PDF, archives, office documents, audio, video and plain text).
        /// Active types (SVG, HTML, XML, scripts) are never allowed.
        upload_types: String = "default".into();
            file "upload_types", env "CHAT_UPLOAD_TYPES", read Text;
        /// Files one message may carry.
        max_attachments: usize = 10;
            file "max_attachments", env "CHAT_MAX_ATTACHMENTS", read Parsed;
        /// An image thumbnail's long side in pixels.
        thumb_max_px: u32 = 400;
            file "thumb_max_px", env "CHAT_THUMB_MAX_PX", read Parsed;
        /// The most pixels an uploaded image may have; a bigger one (a
        /// decompression bomb among them) is refused (422).
        image_max_pixels: u64 = 40_000_000;
            file "image_max_pixels", env "CHAT_IMAGE_MAX_PIXELS", read Parsed;
        /// How long an upload no message took is kept (in seconds).
        upload_orphan_after: Duration = Duration::from_secs(24 * 3600);
            file "upload_orphan_secs", env "CHAT_UPLOAD_ORPHAN_SECS", read Secs;
        /// How often each server deletes the bytes of removed and orphaned
        /// uploads (in seconds).
        files_sweep_interval: Duration = Duration::from_secs(60);
            file "files_sweep_secs", env "CHAT_FILES_SWEEP_SECS", read Secs;
        /// How long a presigned download URL of object storage is valid
        /// (in seconds).
        files_url_ttl: Duration = Duration::from_secs(300);
            file "files_url_ttl_secs", env "CHAT_FILES_URL_TTL_SECS", read Secs;
        /// How long one link preview's fetch may take, redirects, page and
        /// picture included (in milliseconds).
        preview_timeout: Duration = Duration::from_secs(5);
            file "preview_timeout_ms", env "CHAT_PREVIEW_TIMEOUT_MS", read Millis;
        /// Bytes of a linked page read for its preview (the rest is not
        /// read: what a preview needs is at the top).
        preview_max_bytes: usize = 512 * 1024;
            file "preview_max_bytes", env "CHAT_PREVIEW_MAX_BYTES", read Parsed;
        /// Largest preview picture in bytes; a bigger one is left out.
        preview_image_max_bytes: usize = 5 * 1024 * 1024;
            file "preview_image_max_bytes", env "CHAT_PREVIEW_IMAGE_MAX_BYTES", read Parsed;
        /// Links of one message that get a preview (the first ones).
        max_previews: usize = 3;
            file "max_previews", env "CHAT_MAX_PREVIEWS", read Parsed;
        /// How long a fetched link's preview (or its failure) is reused
        /// before the page is fetched again (in seconds).
        preview_cache: Duration = Duration::from_secs(24 * 3600);
            file "preview_cache_secs", env "CHAT_PREVIEW_CACHE_SECS", read Secs;
        /// Link previews fetched at once by one server; more wait.
        preview_fetches: usize = 4;
            file "preview_fetches", env "CHAT_PREVIEW_FETCHES", read Parsed;
        /// Members one message may mention; more are dropped.
        max_mentions: usize = 25;
            file "max_mentions", env "CHAT_MAX_MENTIONS", read Parsed;
        /// Per-connection WebSocket read buffer in bytes; small keeps idle
        /// sockets cheap.
        ws_read_buffer: usize = 1024;
            file "ws_read_buffer", env "CHAT_WS_READ_BUFFER", read Parsed;
        /// Bytes of queued frames a connection collects before writing them
        /// without waiting for its flush; bounds the write buffer a burst
        /// leaves behind.
        ws_write_buffer: usize = 16 * 1024;
            file "ws_write_buffer", env "CHAT_WS_WRITE_BUFFER", read Parsed;
        /// How long a room collects presence changes before sending them
        /// together (in milliseconds; 0 sends each at once).
        presence_batch: Duration = Duration::from_millis(200);
            file "presence_batch_ms", env "CHAT_PRESENCE_BATCH_MS", read Millis;
        /// Events buffered per room before a slow connection lags and
        /// catches up from storage.
        room_buffer: usize = 256;
            file "room_buffer", env "CHAT_ROOM_BUFFER", read Parsed;
        /// Database connections: the pool size on Postgres, the read pool
        /// beside the one writer on SQLite.
        db_connections: usize = 16;
            file "db_connections", env "CHAT_DB_CONNECTIONS", read Parsed;
        /// How often each server compares its rooms with the stored heads
        /// when several servers share Postgres (in milliseconds): the most a
        /// missed wake-up can delay a message.
        cluster_sweep: Duration = Duration::from_millis(2000);
            file "cluster_sweep_ms", env "CHAT_CLUSTER_SWEEP_MS", read Millis;
        /// Bad frames in a row after which a connection is closed with 1008.
        max_bad_frames: u32 = 50;
            file "max_bad_frames", env "CHAT_MAX_BAD_FRAMES", read Parsed;
        /// The server pings each WebSocket this often (in milliseconds), and
        /// drops a connection that has sent nothing (not even a pong) for
        /// two intervals, so a vanished client does not stay "online".
        ws_ping_interval: Duration = Duration::from_secs(30);
            file "ws_ping_interval_ms", env "CHAT_WS_PING_INTERVAL_MS", read Millis;
        /// Largest JSON body of a REST request in bytes.
        max_body_bytes: usize = 64 * 1024;
            file "max_body_bytes", env "CHAT_MAX_BODY_BYTES", read Parsed;
        /// Messages stored in one group-commit transaction.
        write_batch: usize = 256;
            file "write_batch", env "CHAT_WRITE_BATCH", read Parsed;
        /// The slow-consumer cap: a connection whose socket takes no frame
        /// for this long (in milliseconds; the client stopped reading and
        /// the kernel's buffers are full) is closed. The server never queues
        /// frames per connection beyond that socket, so its memory is
        /// bounded.
        ws_send_timeout: Duration = Duration::from_secs(10);
            file "ws_send_timeout_ms", env "CHAT_WS_SEND_TIMEOUT_MS", read Millis;
        /// Sends of one connection stored concurrently; further frames wait
        /// unread until one is committed.
        ws_pending_sends: usize = 32;
            file "ws_pending_sends", env "CHAT_WS_PENDING_SENDS", read Parsed;
        /// Kernel send buffer of each accepted TCP connection in bytes (0
        /// leaves Linux's autotuning, up to 4 MiB a socket). Small bounds
        /// the kernel memory a client that stops reading can pin and lets
        /// the slow-consumer cap act within seconds.
        tcp_send_buffer: usize = 64 * 1024;
            file "tcp_send_buffer", env "CHAT_TCP_SEND_BUFFER", read Parsed;
        /// The most a connection may take to send a request's headers (in
        /// milliseconds), counted from when the server starts waiting for
        /// them: a new connection that sends nothing, a handshake trickled
        /// byte by byte, or a keep-alive connection left idle is closed
        /// after it.
        http_header_timeout: Duration = Duration::from_secs(10);
            file "http_header_timeout_ms", env "CHAT_HTTP_HEADER_TIMEOUT_MS", read Millis;
        /// The most TCP connections open at once, HTTP and WebSocket alike;
        /// beyond it a new connection gets a 503 and is closed. 0: the
        /// process's open-file limit less 256, so the server never runs out
        /// of descriptors for its database and logs.
        max_connections: usize = 0;
            file "max_connections", env "CHAT_MAX_CONNECTIONS", read Parsed;
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::declared_defaults()
    }
}

/// One declared setting: how the settings file and the environment name
/// it. The tables are [`Settings::DECLARED`] and [`Limits::DECLARED`];
/// [`declared`] walks both. Error messages, the settings file's key check,
/// the environment layer and the documentation tests read them.
#[derive(Debug, Clone, Copy)]
pub struct Declared {
    /// The Rust field (in [`Settings`] or [`Limits`]).
    pub field: &'static str,
    /// Its key under the settings file's `[chat]` table (`limits.` keys are
    /// in `[chat.limits]`); also its path in figment's layers.
    pub key: &'static str,
    /// Its environment variable.
    pub env: &'static str,
    /// Whether the settings file may set it (secrets and Leptos' own
    /// variables are environment only).
    pub in_file: bool,
    /// Whether an empty environment variable counts as unset (keeping the
    /// file's value or the default) rather than as an empty value.
    pub empty_unsets: bool,
}

/// Every declared setting: [`Settings`]' own, then [`Limits`]'.
pub fn declared() -> impl Iterator<Item = &'static Declared> {
    Settings::DECLARED.iter().chain(Limits::DECLARED)
}

fn declared_key(key: &str) -> Option<&'static Declared> {
    declared().find(|d| d.key == key)
}

/// A setting that could not be used, named so the operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("configuration error in {setting}: {problem}")]
pub struct ConfigError {
    /// The setting: the environment variable, the settings file and key,
    /// or (for a value that parses but cannot work) the key and variable.
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

/// How a check names a setting: its file key and its variable
/// (`limits.rate_burst (CHAT_RATE_BURST)`), or only the variable of one
/// the file cannot set.
fn named(key: &str) -> String {
    match declared_key(key) {
        Some(d) if d.in_file => format!("{} ({})", d.key, d.env),
        Some(d) => d.env.to_string(),
        None => key.to_string(),
    }
}

impl Settings {
    /// Defaults with the given data directory: SQLite in it, a generated
    /// secret, no demo data, listening on 127.0.0.1:3000.
    pub fn defaults_for(data_dir: PathBuf) -> Self {
        Settings {
            data_dir,
            ..Settings::declared_defaults()
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
        let (explicit, source) = match config {
            Some(path) => (Some(path.display().to_string()), "--config"),
            None => (std::env::var("CHAT_CONFIG").ok(), "CHAT_CONFIG"),
        };
        let path = explicit.clone().unwrap_or_else(|| "Leptos.toml".into());
        let file = if Path::new(&path).exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| config_error(&path, e))?;
            Some(SettingsFile::parse(&path, &text)?)
        } else if explicit.is_some() {
            return Err(config_error(source, format!("{path} does not exist")));
        } else {
            None
        };
        Self::from_layers(file, Environment::from_process())
    }

    /// The defaults (data directory `data`), then `file`, then `env`,
    /// validated.
    fn from_layers(file: Option<SettingsFile>, env: Environment) -> Result<Self, ConfigError> {
        let layers = match file {
            Some(file) => Figment::from(file).merge(env),
            None => Figment::from(env),
        };
        let mut settings = Settings::defaults_for(PathBuf::from("data"));
        settings.read(&layers)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Applies a settings file's `[chat]` and `[chat.limits]` tables over
    /// these settings (other tables are ignored; an unknown key in these
    /// two is an error).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file and the bad key.
    pub fn apply_file(&mut self, path: &str, text: &str) -> Result<(), ConfigError> {
        self.read(&Figment::from(SettingsFile::parse(path, text)?))?;
        self.validate()
    }

    /// Applies environment variables over these settings (read through
    /// `get`, so tests can pass a map).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the bad variable.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        self.read(&Figment::from(Environment::from_fn(get)))?;
        self.validate()
    }

    fn read(&mut self, layers: &Figment) -> Result<(), ConfigError> {
        self.read_layers(layers)?;
        self.limits.read_layers(layers)
    }

    /// Rejects values that parse but cannot work.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting by key and variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let positive = [
            ("limits.max_text_chars", l.max_text_chars),
            ("limits.max_frame_bytes", l.max_frame_bytes),
            ("limits.rate_burst", l.rate_burst as usize),
            ("limits.rate_per_second", l.rate_per_second as usize),
            ("limits.change_burst", l.change_burst as usize),
            ("limits.change_per_second", l.change_per_second as usize),
            (
                "limits.max_reactions_per_message",
                l.max_reactions_per_message,
            ),
            ("limits.max_pins_per_channel", l.max_pins_per_channel),
            ("limits.login_burst", l.login_burst as usize),
            ("limits.login_per_minute", l.login_per_minute as usize),
            ("limits.history_max_limit", l.history_max_limit as usize),
            ("limits.search_max_limit", l.search_max_limit as usize),
            ("limits.max_mentions", l.max_mentions),
            ("limits.max_attachments", l.max_attachments),
            ("limits.preview_max_bytes", l.preview_max_bytes),
            ("limits.preview_image_max_bytes", l.preview_image_max_bytes),
            ("limits.preview_fetches", l.preview_fetches),
            ("limits.thumb_max_px", l.thumb_max_px as usize),
            ("limits.upload_max_bytes", l.upload_max_bytes as usize),
            ("limits.image_max_pixels", l.image_max_pixels as usize),
            (
                "limits.webhook_max_attempts",
                l.webhook_max_attempts as usize,
            ),
            ("limits.webhook_queue", l.webhook_queue),
            ("limits.room_buffer", l.room_buffer),
            ("limits.db_connections", l.db_connections),
            ("limits.write_batch", l.write_batch),
            ("limits.max_body_bytes", l.max_body_bytes),
            ("limits.ws_pending_sends", l.ws_pending_sends),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(config_error(named(key), "must be at least 1"));
            }
        }
        if let Some(url) = &self.webhook_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(config_error(
                    named("webhook_url"),
                    "must be an http or https URL",
                ));
            }
            if self
                .webhook_secret
                .as_ref()
                .is_none_or(|k| k.expose_secret().len() < 16)
            {
                return Err(config_error(
                    named("webhook_secret"),
                    "must be set, at least 16 characters, when webhook_url is",
                ));
            }
        }
        if self
            .admin_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().len() < 32)
        {
            return Err(config_error(
                named("admin_key"),
                "must be at least 32 characters (a random secret)",
            ));
        }
        let at_least_100_ms = [
            ("limits.ws_ping_interval_ms", l.ws_ping_interval),
            ("limits.http_header_timeout_ms", l.http_header_timeout),
            ("limits.ws_send_timeout_ms", l.ws_send_timeout),
        ];
        for (key, value) in at_least_100_ms {
            if value < Duration::from_millis(100) {
                return Err(config_error(named(key), "must be at least 100 ms"));
            }
        }
        if l.ws_read_buffer < 256 {
            return Err(config_error(
                named("limits.ws_read_buffer"),
                "must be at least 256 bytes",
            ));
        }
        if l.ws_hard_max_bytes < l.max_frame_bytes {
            return Err(config_error(
                named("limits.ws_hard_max_bytes"),
                "must be at least limits.max_frame_bytes",
            ));
        }
        if let Some(secret) = &self.jwt_secret {
            if secret.expose_secret().len() < 16 {
                return Err(config_error(
                    named("jwt_secret"),
                    "must be at least 16 bytes",
                ));
            }
        }
        Ok(())
    }

    /// The database URL in effect (a secret: it may carry a password).
    pub fn effective_database_url(&self) -> SecretString {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("chat.db").display()).into()
        })
    }
}

/// Reads the setting at `key` from `layers` with reader `R`, if a layer
/// sets it; a bad value is named as its layer names it.
fn read<R: Reader<T>, T>(layers: &Figment, key: &str) -> Result<Option<T>, ConfigError> {
    if !layers.contains(key) {
        return Ok(None);
    }
    layers
        .extract_inner::<Via<R, T>>(key)
        .map(|via| Some(via.value))
        .map_err(|e| {
            let setting = match layers.find_metadata(key) {
                Some(md) if md.name == ENV_LAYER => {
                    declared_key(key).map_or_else(|| key.to_string(), |d| d.env.to_string())
                }
                Some(md) => match md.source.as_ref().and_then(|s| s.file_path()) {
                    Some(path) => format!("{}: chat.{key}", path.display()),
                    None => format!("chat.{key}"),
                },
                None => key.to_string(),
            };
            config_error(setting, e.kind)
        })
}

/// The name of the environment layer in figment's metadata.
const ENV_LAYER: &str = "environment variable";

/// The environment layer: every declared variable that is set, as text
/// under its setting's key (an empty one left out where the declaration
/// says `empty_unsets`). Each value is then read by its setting's reader.
///
/// Not figment's own `Env` provider, which would change what existing
/// variables mean: it reads each value as TOML-like data (a secret in
/// quotes loses them, `[...]` becomes a list, a secret of digits becomes a
/// number, surrounding spaces go) and matches names in any case, where the
/// server has always taken a variable's text as it is, by its exact name.
struct Environment {
    vars: Vec<(&'static Declared, String)>,
}

impl Environment {
    /// The declared variables `get` knows.
    fn from_fn(get: impl Fn(&str) -> Option<String>) -> Self {
        let vars = declared()
            .filter_map(|d| {
                let value = get(d.env)?;
                (!(d.empty_unsets && value.is_empty())).then_some((d, value))
            })
            .collect();
        Environment { vars }
    }

    /// The process's environment (a variable that is not UTF-8 counts as
    /// unset, as with `std::env::var`).
    fn from_process() -> Self {
        Self::from_fn(|name| std::env::var(name).ok())
    }
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_LAYER).interpolater(|_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            declared_key(&key).map_or(key, |d| d.env.to_string())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (declared, value) in &self.vars {
            insert(&mut dict, declared.key, Value::from(value.clone()));
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Puts `value` at the dotted `path` of `dict`, making tables on the way.
fn insert(dict: &mut Dict, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            dict.insert(path.to_string(), value);
        }
        Some((table, rest)) => {
            let entry = dict
                .entry(table.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// The settings file's layer: its `[chat]` table, every key in it (and in
/// `[chat.limits]`) a declared one the file may set. Other tables, such as
/// cargo-leptos' own, are ignored.
struct SettingsFile {
    path: PathBuf,
    chat: Dict,
}

impl SettingsFile {
    fn parse(path: &str, text: &str) -> Result<Self, ConfigError> {
        let mut data = Toml::string(text)
            .data()
            .map_err(|e| config_error(path, e.kind))?;
        let root = data.remove(&Profile::Default).unwrap_or_default();
        let chat = match root.get("chat") {
            None => Dict::new(),
            Some(Value::Dict(_, chat)) => chat.clone(),
            Some(_) => {
                return Err(config_error(
                    format!("{path}: chat"),
                    "must be a table ([chat])",
                ))
            }
        };
        check_keys(path, "", &chat)?;
        Ok(SettingsFile {
            path: PathBuf::from(path),
            chat,
        })
    }
}

/// Refuses a key of the file's `[chat]` table (or a table below it) that
/// is not a declared file key.
fn check_keys(path: &str, prefix: &str, table: &Dict) -> Result<(), ConfigError> {
    for (name, value) in table {
        let key = format!("{prefix}{name}");
        let setting = || format!("{path}: chat.{key}");
        if let Some(d) = declared_key(&key) {
            if !d.in_file {
                return Err(config_error(
                    setting(),
                    format!(
                        "not read from a file; set the environment variable {}",
                        d.env
                    ),
                ));
            }
            continue;
        }
        let below = format!("{key}.");
        if declared().any(|d| d.key.starts_with(&below)) {
            let Value::Dict(_, inner) = value else {
                return Err(config_error(
                    setting(),
                    format!("must be a table ([chat.{key}])"),
                ));
            };
            check_keys(path, &below, inner)?;
            continue;
        }
        let mut known: Vec<String> = Vec::new();
        for rest in declared()
            .filter(|d| d.in_file)
            .filter_map(|d| d.key.strip_prefix(prefix))
        {
            let shown = match rest.split_once('.') {
                Some((table, _)) => format!("[chat.{prefix}{table}]"),
                None => rest.to_string(),
            };
            if !known.contains(&shown) {
                known.push(shown);
            }
        }
        return Err(config_error(
            setting(),
            format!("unknown key; the keys here are {}", known.join(", ")),
        ));
    }
    Ok(())
}

impl Provider for SettingsFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("settings file", self.path.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.chat.clone()))
    }
}

/// How a setting's value becomes its field, the same for a file's value
/// and a variable's text. The readers are the `read` column of the
/// `settings!` tables.
trait Reader<T> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<T, D::Error>;
}

/// The value `R` reads, for figment's extraction.
struct Via<R, T> {
    value: T,
    reader: PhantomData<R>,
}

impl<'de, R: Reader<T>, T> Deserialize<'de> for Via<R, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Via {
            value: R::read(d)?,
            reader: PhantomData,
        })
    }
}

/// A single value: text (every variable, a file's strings), or a file's
/// number or boolean.
enum Scalar {
    Text(String),
    Bool(bool),
    Number(String),
}

impl Scalar {
    /// Its text (a number or boolean as written).
    fn text(&self) -> &str {
        match self {
            Scalar::Text(s) | Scalar::Number(s) => s,
            Scalar::Bool(true) => "true",
            Scalar::Bool(false) => "false",
        }
    }

    /// As an error message shows it: text in quotes.
    fn shown(&self) -> String {
        match self {
            Scalar::Text(s) => format!("{s:?}"),
            other => other.text().to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, a boolean or text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.to_string()))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

/// Text as it is (paths, names).
enum Text {}

impl<T: From<String>> Reader<T> for Text {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        String::deserialize(d).map(T::from)
    }
}

/// A number, an address or another `FromStr` value: a file's number, or
/// text (without surrounding spaces).
enum Parsed {}

impl<T: FromStr> Reader<T> for Parsed
where
    T::Err: Display,
{
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let value = Scalar::deserialize(d)?;
        value
            .text()
            .trim()
            .parse()
            .map_err(|e| de::Error::custom(format!("{}: {e}", value.shown())))
    }
}

/// A whole number of milliseconds (the `_ms` keys and `_MS` variables).
enum Millis {}

impl Reader<Duration> for Millis {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        <Parsed as Reader<u64>>::read(d).map(Duration::from_millis)
    }
}

/// A whole number of seconds (the `_secs` keys and `_SECS` variables).
enum Secs {}

impl Reader<Duration> for Secs {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        <Parsed as Reader<u64>>::read(d).map(Duration::from_secs)
    }
}

/// On or off: a file's boolean, or `1`, `true`, `yes`, `on` / `0`,
/// `false`, `no`, `off` or nothing (any case).
enum Flag {}

impl Reader<bool> for Flag {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        let value = Scalar::deserialize(d)?;
        if let Scalar::Bool(b) = value {
            return Ok(b);
        }
        let v = value.text().trim().to_ascii_lowercase();
        match v.as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            _ => Err(de::Error::custom(format!("{v:?} is not a boolean"))),
        }
    }
}

/// Set: `Some` of what `R` reads.
struct Maybe<R>(PhantomData<R>);

impl<R: Reader<T>, T> Reader<Option<T>> for Maybe<R> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        R::read(d).map(Some)
    }
}

/// Text, where empty means none.
enum NonEmpty {}

impl Reader<Option<String>> for NonEmpty {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        String::deserialize(d).map(|s| Some(s).filter(|s| !s.is_empty()))
    }
}

/// A secret, as it is.
enum Secret {}

impl Reader<SecretString> for Secret {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        String::deserialize(d).map(SecretString::from)
    }
}

/// A list (browser origins, host names): a file's list as written, or a
/// variable's comma separated text (each without spaces and a trailing
/// `/`, empty ones dropped).
enum CommaList {}

impl Reader<Vec<String>> for CommaList {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        struct OriginsVisitor;
        impl<'de> Visitor<'de> for OriginsVisitor {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list, or items separated by commas")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
                Ok(v.split(',')
                    .map(|s| s.trim().trim_end_matches('/').to_owned())
                    .filter(|s| !s.is_empty())
                    .collect())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
                let mut origins = Vec::new();
                while let Some(origin) = seq.next_element::<String>()? {
                    origins.push(origin);
                }
                Ok(origins)
            }
        }
        d.deserialize_any(OriginsVisitor)
    }
}

/// `LEPTOS_ENV`: production when `PROD` or `PRODUCTION` (any case).
enum LeptosEnv {}

impl Reader<bool> for LeptosEnv {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        let v = String::deserialize(d)?;
        Ok(matches!(
            v.to_ascii_uppercase().as_str(),
            "PROD" | "PRODUCTION"
        ))
    }
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

    /// Defaults with `file` (named `x.toml`) and then `env` layered on top,
    /// as `chat` loads them.
    fn layered(file: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let file = SettingsFile::parse("x.toml", file)?;
        Settings::from_layers(Some(file), Environment::from_fn(env(vars)))
    }

    /// Default < file < environment, setting by setting: what a layer does
    /// not set comes from the one below.
    #[test]
    fn layers_stack_defaults_then_the_file_then_the_environment() {
        let file = "[chat]\ndata_dir = \"/from-file\"\ndemo_data = true\n\
                    [chat.limits]\nrate_burst = 7\nws_ping_interval_ms = 1500\n";
        let s = layered(file, &[("CHAT_RATE_BURST", "9")]).unwrap();
        assert_eq!(s.limits.rate_burst, 9, "the environment wins");
        assert_eq!(s.data_dir, PathBuf::from("/from-file"), "the file wins");
        assert!(s.demo_data);
        assert_eq!(s.limits.ws_ping_interval, Duration::from_millis(1500));
        assert_eq!(s.limits.rate_per_second, 5, "nobody set it: default");
        assert_eq!(s.listen_addr, SocketAddr::from(([127, 0, 0, 1], 3000)));

        let s = layered(file, &[]).unwrap();
        assert_eq!(s.limits.rate_burst, 7);
        let s = layered("", &[]).unwrap();
        assert_eq!(s.limits.rate_burst, 20);
        assert_eq!(s.data_dir, PathBuf::from("data"));
    }

    /// Durations keep the units of their names: `_SECS`/`_secs` seconds,
    /// `_MS`/`_ms` milliseconds.
    #[test]
    fn durations_are_read_in_the_unit_their_name_says() {
        let s = layered(
            "[chat]\ntoken_ttl_secs = 90\n[chat.limits]\ntyping_timeout_ms = 2500\n",
            &[
                ("CHAT_WS_SEND_TIMEOUT_MS", " 750 "),
                ("CHAT_PRESENCE_BATCH_MS", "0"),
            ],
        )
        .unwrap();
        assert_eq!(s.token_ttl, Duration::from_secs(90));
        assert_eq!(s.limits.typing_timeout, Duration::from_millis(2500));
        assert_eq!(s.limits.ws_send_timeout, Duration::from_millis(750));
        assert_eq!(s.limits.presence_batch, Duration::ZERO);
        let s = layered("", &[("CHAT_TOKEN_TTL_SECS", "60")]).unwrap();
        assert_eq!(s.token_ttl, Duration::from_secs(60));
    }

    /// A value that does not parse is named as the operator wrote it: the
    /// variable, or the file and key; with the value and what is wrong.
    #[test]
    fn a_bad_value_names_its_variable_or_file_key() {
        let err = layered("", &[("CHAT_TYPING_TIMEOUT_MS", "soon")]).unwrap_err();
        assert_eq!(err.setting, "CHAT_TYPING_TIMEOUT_MS");
        assert!(err.problem.contains("\"soon\""), "{err}");
        let err = layered("[chat.limits]\nrate_burst = -3\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat.limits.rate_burst");
        assert!(err.problem.contains("-3"), "{err}");
        let err = layered("[chat]\nsite_addr = \"nowhere\"\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat.site_addr");
        let err = layered("[chat]\ndemo_data = \"maybe\"\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat.demo_data");
        let err = layered("", &[("CHAT_SQLITE_SYNC", "off")]).unwrap_err();
        assert_eq!(err.setting, "CHAT_SQLITE_SYNC");
        assert!(err.problem.contains("not full or normal"), "{err}");
        let ok = layered("[chat]\nsqlite_sync = \"normal\"\n", &[]).unwrap();
        assert_eq!(ok.sqlite_sync, SqliteSync::Normal);
        let err = layered("", &[("CHAT_COOKIE_SECURE", "maybe")]).unwrap_err();
        assert_eq!(err.setting, "CHAT_COOKIE_SECURE");
        assert!(err.problem.contains("not a boolean"), "{err}");
        // The environment's value is the one in effect, so it is the one named.
        let err = layered(
            "[chat.limits]\nmax_bad_frames = 3\n",
            &[("CHAT_MAX_BAD_FRAMES", "x")],
        )
        .unwrap_err();
        assert_eq!(err.setting, "CHAT_MAX_BAD_FRAMES");
        let err = layered("[chat]\ndata_dir = 5\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat.data_dir");
        // Not TOML at all.
        let err = layered("[chat\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml");
    }

    /// A value that parses but cannot work names the key and the variable,
    /// whichever layer set it; a secret's check names its variable.
    #[test]
    fn every_check_names_the_key_and_the_variable() {
        let cases: [(&str, &str, &str); 9] = [
            (
                "CHAT_RATE_BURST",
                "0",
                "limits.rate_burst (CHAT_RATE_BURST)",
            ),
            (
                "CHAT_WS_PENDING_SENDS",
                "0",
                "limits.ws_pending_sends (CHAT_WS_PENDING_SENDS)",
            ),
            (
                "CHAT_WS_PING_INTERVAL_MS",
                "99",
                "limits.ws_ping_interval_ms (CHAT_WS_PING_INTERVAL_MS)",
            ),
            (
                "CHAT_HTTP_HEADER_TIMEOUT_MS",
                "5",
                "limits.http_header_timeout_ms (CHAT_HTTP_HEADER_TIMEOUT_MS)",
            ),
            (
                "CHAT_WS_SEND_TIMEOUT_MS",
                "0",
                "limits.ws_send_timeout_ms (CHAT_WS_SEND_TIMEOUT_MS)",
            ),
            (
                "CHAT_WS_READ_BUFFER",
                "255",
                "limits.ws_read_buffer (CHAT_WS_READ_BUFFER)",
            ),
            (
                "CHAT_WS_HARD_MAX_BYTES",
                "1",
                "limits.ws_hard_max_bytes (CHAT_WS_HARD_MAX_BYTES)",
            ),
            ("CHAT_ADMIN_KEY", "short", "CHAT_ADMIN_KEY"),
            ("JWT_SECRET", "short", "JWT_SECRET"),
        ];
        for (var, value, named) in cases {
            let err = layered("", &[(var, value)]).unwrap_err();
            assert_eq!(err.setting, named, "{var}={value}: {err}");
        }
        let err = layered("[chat.limits]\nroom_buffer = 0\n", &[]).unwrap_err();
        assert_eq!(err.setting, "limits.room_buffer (CHAT_ROOM_BUFFER)");
    }

    /// The file's `[chat]` and `[chat.limits]` tables take declared keys
    /// only; a secret or one of Leptos' variables in the file is refused
    /// with the variable to use instead. Unknown environment variables are
    /// not the server's business and are ignored.
    #[test]
    fn unknown_keys_in_the_file_are_refused_naming_them() {
        let err = layered("[chat.limits]\nrate_brust = 3\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat.limits.rate_brust");
        assert!(err.problem.contains("unknown key"), "{err}");
        assert!(err.problem.contains("rate_burst"), "{err}");
        let err = layered("[chat]\nnope = 1\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat.nope");
        assert!(err.problem.contains("site_addr, "), "{err}");
        assert!(err.problem.contains("[chat.limits]"), "{err}");
        let err = layered("[chat]\njwt_secret = \"0123456789abcdef0\"\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat.jwt_secret");
        assert!(err.problem.contains("JWT_SECRET"), "{err}");
        let err = layered("[chat]\nlimits = 5\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat.limits");
        let err = layered("chat = 5\n", &[]).unwrap_err();
        assert_eq!(err.setting, "x.toml: chat");
        layered(
            "[chat]\n[other]\nanything = 1\n",
            &[("CHAT_NO_SUCH_SETTING", "1")],
        )
        .unwrap();
    }

    /// Each variable keeps the meaning it had: empty `DATABASE_URL`,
    /// `JWT_SECRET` and `CHAT_ADMIN_KEY` are unset; an empty `JWT_ISSUER`
    /// is none and an empty flag is off; origins are split and tidied;
    /// secrets and paths are taken as they are (quotes, brackets, digits,
    /// spaces); names are exact.
    #[test]
    fn variables_keep_their_meaning() {
        let s = layered(
            "[chat]\ndatabase_url = \"postgres://db/chat\"\njwt_issuer = \"https://iss\"\n",
            &[
                ("DATABASE_URL", ""),
                ("JWT_SECRET", ""),
                ("CHAT_ADMIN_KEY", ""),
                ("JWT_ISSUER", ""),
                ("CHAT_DEMO_DATA", ""),
                ("CHAT_COOKIE_SECURE", "On"),
                ("ALLOWED_ORIGINS", " https://a.example/ ,,https://b.example"),
                ("LEPTOS_ENV", "production"),
                ("LEPTOS_SITE_ROOT", " site "),
            ],
        )
        .unwrap();
        let url = s
            .database_url
            .as_ref()
            .map(|u| u.expose_secret().to_string());
        assert_eq!(url.as_deref(), Some("postgres://db/chat"));
        assert!(s.jwt_secret.is_none() && s.admin_key.is_none());
        assert_eq!(s.jwt_issuer, None);
        assert!(!s.demo_data);
        assert_eq!(s.cookie_secure, Some(true));
        assert_eq!(
            s.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        assert!(s.production);
        assert_eq!(s.site_root, " site ");

        for secret in [
            "\"quoted-secret-0123\"",
            "[0123456789abcdef]",
            "12345678901234567",
        ] {
            let s = layered("", &[("JWT_SECRET", secret)]).unwrap();
            assert_eq!(s.jwt_secret.unwrap().expose_secret(), secret);
        }
        let s = layered("", &[("chat_rate_burst", "3"), ("LEPTOS_ENV", "DEV")]).unwrap();
        assert_eq!(s.limits.rate_burst, 20, "variable names are exact");
        assert!(!s.production);
        let s = layered("[chat]\nallowed_origins = [\"https://x.example\"]\n", &[]).unwrap();
        assert_eq!(s.allowed_origins, ["https://x.example"]);
    }

    /// `Debug` (which logs and panics use) never shows a secret: not the
    /// JWT secret, not the admin key, not the database password.
    #[test]
    fn debug_output_hides_every_secret() {
        let s = layered(
            "",
            &[
                ("JWT_SECRET", "jwt-secret-value-0123456789"),
                ("CHAT_ADMIN_KEY", "admin-key-value-0123456789abcdefghij"),
                (
                    "DATABASE_URL",
                    "postgres://chat:db-password-value@db:5432/chat",
                ),
            ],
        )
        .unwrap();
        assert!(s.jwt_secret.is_some() && s.admin_key.is_some());
        for shown in [
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{:?}", s.clone()),
        ] {
            for secret in ["jwt-secret-value", "admin-key-value", "db-password-value"] {
                assert!(!shown.contains(secret), "{secret} shown: {shown}");
            }
            assert!(shown.contains("REDACTED"), "{shown}");
        }
        let url = format!("{:?}", s.effective_database_url());
        assert!(!url.contains("db-password-value"), "{url}");
    }

    /// Every field is declared once, under one key and one variable.
    #[test]
    fn each_setting_is_declared_once() {
        let all: Vec<&Declared> = declared().collect();
        for (i, d) in all.iter().enumerate() {
            for other in &all[i + 1..] {
                assert_ne!(d.key, other.key);
                assert_ne!(d.env, other.env);
            }
            assert!(
                d.key.starts_with("limits.") == Limits::DECLARED.iter().any(|l| l.key == d.key),
                "{d:?}"
            );
        }
    }

    /// README's configuration table lists real settings: each variable is
    /// declared, under the key the table gives (or as environment only,
    /// for "—"), and a default the table states plainly is the declared
    /// one. Every declared variable is documented in README.
    #[test]
    fn the_readme_table_matches_the_declaration() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("\n## ")
            .find(|s| s.starts_with("Configuration\n"))
            .expect("README has a Configuration section");
        let defaults = format!("{:?}", Settings::defaults_for("data".into()));
        let mut rows = 0;
        for line in section
            .lines()
            .filter(|l| l.starts_with("| `") || l.starts_with("| —"))
        {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (key, var, default) = (cells[1], cells[2], cells[3]);
            let var = var.split('`').nth(1).unwrap_or_else(|| panic!("{line}"));
            let d = declared()
                .find(|d| d.env == var)
                .unwrap_or_else(|| panic!("README's {var} is not declared"));
            if key == "—" {
                assert!(!d.in_file, "{var} is read from the file too: {line}");
            } else {
                assert_eq!(key.trim_matches('`'), d.key, "{line}");
                assert!(d.in_file, "{line}");
            }
            // `127.0.0.1:3000`, `false`, 604800, "0 (automatic)"; not
            // "none" or "sqlite://<data_dir>/chat.db".
            let stated = default.split_whitespace().next().unwrap_or_default();
            let plain = stated.trim_matches('`');
            if (stated.starts_with('`') || plain.parse::<u64>().is_ok()) && !plain.contains('<') {
                let mut s = Settings::defaults_for("data".into());
                s.apply_env(env(&[(var, plain)])).unwrap();
                assert_eq!(
                    format!("{s:?}"),
                    defaults,
                    "README's default of {var}: {line}"
                );
            }
            rows += 1;
        }
        assert!(rows >= 30, "the table has {rows} rows");
        for d in declared() {
            assert!(
                section.contains(d.env),
                "{} is not documented in README's Configuration",
                d.env
            );
        }
    }

    /// `Leptos.toml` lists every key of the file with its default value.
    #[test]
    fn leptos_toml_lists_every_key_with_its_default() {
        let text = include_str!("../../Leptos.toml");
        let mut s = Settings::defaults_for("data".into());
        s.apply_file("Leptos.toml", text).unwrap();
        assert_eq!(
            format!("{s:?}"),
            format!("{:?}", Settings::defaults_for("data".into()))
        );
        for d in declared().filter(|d| d.in_file) {
            let name = d.key.rsplit('.').next().unwrap();
            assert!(
                text.lines().any(|l| l
                    .trim_start_matches("# ")
                    .starts_with(&format!("{name} = "))),
                "Leptos.toml lacks {}",
                d.key
            );
        }
    }
}
