//! The command line (clap): `chat` or `chat serve` runs the server;
//! `chat check-config` validates and prints the settings in effect;
//! `chat admin ...` calls a running server's admin API, the same routes the
//! host app uses. Flags are the last layer of configuration: defaults, then
//! the settings file, then environment variables, then flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::server::config::{ConfigError, Settings};

/// `chat`: a self-hosted team chat in one binary.
#[derive(Debug, Parser)]
#[command(name = "chat", version, about)]
pub struct Cli {
    /// Settings file (default: `CHAT_CONFIG`, else `Leptos.toml` if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeFlags),
    /// Check the configuration, print the settings in effect (secrets
    /// hidden) and exit; exit code 2 names a bad setting.
    CheckConfig(ServeFlags),
    /// Call a running server's admin API (key from `CHAT_ADMIN_KEY`).
    Admin(AdminArgs),
}

/// Settings that flags can override.
#[derive(Debug, Default, Args)]
pub struct ServeFlags {
    /// Listen address (`LEPTOS_SITE_ADDR`), e.g. 0.0.0.0:3000.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Data directory (`CHAT_DATA_DIR`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`DATABASE_URL`): sqlite:... or postgres://...
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Create the demo users and channels once (`CHAT_DEMO_DATA`).
    #[arg(long)]
    pub demo_data: bool,
}

impl ServeFlags {
    /// Loads the layered settings and applies these flags last.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the bad setting.
    pub fn settings(&self, config: Option<PathBuf>) -> Result<Settings, ConfigError> {
        let mut s = Settings::load_from(config)?;
        if let Some(addr) = &self.addr {
            s.listen_addr = addr.parse().map_err(|e| ConfigError {
                setting: "--addr".into(),
                problem: format!("{addr:?}: {e}"),
            })?;
        }
        if let Some(dir) = &self.data_dir {
            s.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            s.database_url = Some(url.as_str().into());
        }
        if self.demo_data {
            s.demo_data = true;
        }
        s.validate()?;
        Ok(s)
    }
}

/// `chat admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server to call.
    #[arg(long, env = "CHAT_SERVER_URL", default_value = "http://127.0.0.1:3000")]
    pub server: String,
    /// What to do.
    #[command(subcommand)]
    pub action: AdminAction,
}

/// The admin actions, one per admin route.
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create or rename a tablo (channel).
    PutTablo {
        /// Tablo id.
        id: Uuid,
        /// Name.
        #[arg(long)]
        name: String,
        /// Badge colour (#rrggbb).
        #[arg(long)]
        color: Option<String>,
    },
    /// Delete a tablo with its messages (closes its sockets).
    DeleteTablo {
        /// Tablo id.
        id: Uuid,
    },
    /// Create or update a user.
    PutUser {
        /// User id.
        id: Uuid,
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Grant a user access to a tablo.
    Grant {
        /// Tablo id.
        tablo: Uuid,
        /// User id.
        user: Uuid,
    },
    /// Revoke a user's access (closes their sockets on it at once).
    Revoke {
        /// Tablo id.
        tablo: Uuid,
        /// User id.
        user: Uuid,
    },
}

impl AdminAction {
    /// The HTTP method, path and body of the matching admin route.
    pub fn request(&self) -> (reqwest::Method, String, Option<Value>) {
        use reqwest::Method;
        match self {
            AdminAction::PutTablo { id, name, color } => (
                Method::PUT,
                format!("/admin/tablos/{id}"),
                Some(json!({ "name": name, "color": color })),
            ),
            AdminAction::DeleteTablo { id } => {
                (Method::DELETE, format!("/admin/tablos/{id}"), None)
            }
            AdminAction::PutUser { id, email, name } => (
                Method::PUT,
                format!("/admin/users/{id}"),
                Some(json!({ "email": email, "display_name": name })),
            ),
            AdminAction::Grant { tablo, user } => (
                Method::PUT,
                format!("/admin/tablos/{tablo}/members/{user}"),
                None,
            ),
            AdminAction::Revoke { tablo, user } => (
                Method::DELETE,
                format!("/admin/tablos/{tablo}/members/{user}"),
                None,
            ),
        }
    }
}

impl AdminArgs {
    /// Calls the server; returns a line for the user, or why it failed.
    ///
    /// # Errors
    /// The server's error message, or why it could not be reached.
    pub async fn run(&self) -> Result<String, String> {
        let key = std::env::var("CHAT_ADMIN_KEY")
            .ok()
            .filter(|k| !k.is_empty())
            .ok_or("CHAT_ADMIN_KEY is not set")?;
        let (method, path, body) = self.action.request();
        let url = format!("{}{path}", self.server.trim_end_matches('/'));
        let client = reqwest::Client::new();
        let mut req = client.request(method, &url).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| format!("{url}: {e}"))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if status.is_success() {
            Ok(format!("ok ({status})"))
        } else {
            Err(format!("{url}: {status}: {text}"))
        }
    }
}

/// The settings in effect, for `check-config`: no secret, and no password
/// inside the database URL.
pub fn describe(s: &Settings) -> String {
    let database = s.effective_database_url();
    let database = database.expose_secret();
    let database = match (database.find("://"), database.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &database[..scheme], &database[at + 1..])
        }
        _ => database.to_string(),
    };
    format!(
        "listen_addr = {}\ndata_dir = {}\ndatabase = {database}\ndemo_data = {}\n\
         jwt_secret = {}\njwt_issuer = {}\nadmin_api = {}\nallowed_origins = {:?}\n\
         limits = {:#?}\n",
        s.listen_addr,
        s.data_dir.display(),
        s.demo_data,
        if s.jwt_secret.is_some() {
            "set"
        } else {
            "generated in the data directory"
        },
        s.jwt_issuer.as_deref().unwrap_or("(any)"),
        if s.admin_key.is_some() {
            "enabled"
        } else {
            "disabled"
        },
        s.allowed_origins,
        s.limits,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_hides_secrets() {
        let mut s = Settings::defaults_for(PathBuf::from("/tmp/x"));
        s.database_url = Some("postgres://chat:hunter2@db:5432/chat".into());
        s.jwt_secret = Some("super-secret-value".into());
        s.admin_key = Some("another-secret-value-0123456789abcdef".into());
        let text = describe(&s);
        assert!(text.contains("postgres://***@db:5432/chat"), "{text}");
        for secret in ["hunter2", "super-secret-value", "another-secret"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn admin_actions_map_to_the_admin_routes() {
        let t = Uuid::nil();
        let (m, path, body) = AdminAction::Revoke { tablo: t, user: t }.request();
        assert_eq!(
            (m, path.as_str(), body),
            (
                reqwest::Method::DELETE,
                format!("/admin/tablos/{t}/members/{t}").as_str(),
                None
            )
        );
    }
}
