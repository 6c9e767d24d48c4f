//! The server under test: the real `chat` binary as a child process, on a
//! free loopback port, with a fresh SQLite directory or a fresh Postgres
//! database that is removed when the run ends. Its memory is read from
//! `/proc`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chat::server::auth::jwt::JwtKeys;
use uuid::Uuid;

use crate::Result;

/// Where the server keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the run's temporary directory (the default).
    Sqlite,
    /// A new database on this Postgres cluster (`postgres://...`, any
    /// database name: it is only used to create and drop the run's own).
    Postgres {
        /// URL of an existing database with rights to create databases.
        admin_url: String,
    },
}

impl Backend {
    /// A short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres { .. } => "Postgres",
        }
    }
}

/// A data directory (and database) made for one server, before it starts,
/// so scenarios can seed it directly.
pub struct Prepared {
    dir: PathBuf,
    /// The database the server will use.
    pub database_url: String,
    /// Set for Postgres: the cluster and the database to drop afterwards.
    postgres: Option<(String, String)>,
}

impl Prepared {
    /// A fresh directory and database.
    pub async fn new(backend: &Backend) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("chat-loadgen-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let (database_url, postgres) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.join("chat.db").display()), None),
            Backend::Postgres { admin_url } => {
                let name = format!("loadgen_{}", Uuid::new_v4().simple());
                admin_sql(admin_url, &format!("CREATE DATABASE {name}")).await?;
                (
                    with_database(admin_url, &name),
                    Some((admin_url.clone(), name)),
                )
            }
        };
        Ok(Prepared {
            dir,
            database_url,
            postgres,
        })
    }

    /// Starts `bin` on this data with `env` added (limits for the scenario).
    pub async fn start(self, bin: &Path, env: &[(&str, String)]) -> Result<ServerProcess> {
        let port = free_port()?;
        let secret = format!("loadgen-{}", Uuid::new_v4().simple());
        let admin_key = format!("loadgen-admin-{}", Uuid::new_v4().simple());
        let log = std::fs::File::create(self.dir.join("server.log"))?;
        let mut cmd = Command::new(bin);
        cmd.current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("CHAT_DATA_DIR", &self.dir)
            .env("DATABASE_URL", &self.database_url)
            .env("JWT_SECRET", &secret)
            .env("CHAT_ADMIN_KEY", &admin_key)
            .env("CHAT_DEMO_DATA", "false")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut server = ServerProcess {
            child,
            prepared: Some(self),
            port,
            admin_key,
            jwt: JwtKeys::new(secret.as_bytes(), None),
        };
        server.wait_ready().await?;
        Ok(server)
    }
}

/// A running server; stopped (SIGTERM, then SIGKILL) and its data removed
/// when dropped.
pub struct ServerProcess {
    child: Child,
    prepared: Option<Prepared>,
    /// Its loopback port.
    pub port: u16,
    /// The service key for `/admin/*`.
    pub admin_key: String,
    /// Mints tokens the server accepts.
    pub jwt: JwtKeys,
}

impl ServerProcess {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A token for `user` (the host app's kind: `sub`, `exp`, `email`).
    pub fn token(&self, user: Uuid) -> String {
        self.jwt.issue(
            user.into(),
            &format!("{}@load.invalid", user.simple()),
            Duration::from_secs(6 * 3600),
        )
    }

    /// Resident memory of the server process, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmRSS:") * 1024
    }

    /// Open file descriptors of the server process (sockets, database
    /// files, the runtime's own).
    pub fn open_fds(&self) -> u64 {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|dir| dir.count() as u64)
            .unwrap_or(0)
    }

    /// A gauge from the server's `/metrics` (`chat_<name>`).
    pub async fn metric(&self, name: &str) -> Result<f64> {
        let text = reqwest::get(format!("{}/metrics", self.base_url()))
            .await?
            .text()
            .await?;
        let prefix = format!("chat_{name} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("no chat_{name} in /metrics").into())
    }

    /// Threads of the server process (tokio workers and blocking threads).
    pub fn threads(&self) -> u64 {
        proc_status_kib(self.child.id(), "Threads:")
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let Some(p) = &self.prepared else {
            return String::new();
        };
        let text = std::fs::read_to_string(p.dir.join("server.log")).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let url = format!("{}/readyz", self.base_url());
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Err(
                    format!("server exited at start ({status}):\n{}", self.log_tail()).into(),
                );
            }
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("server not ready after 60 s:\n{}", self.log_tail()).into())
    }

    /// Stops the server and removes its data.
    pub async fn stop(mut self) {
        self.terminate();
        if let Some(p) = self.prepared.take() {
            if let Some((admin_url, name)) = &p.postgres {
                let _ = admin_sql(
                    admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await;
            }
            let _ = std::fs::remove_dir_all(&p.dir);
        }
    }

    #[allow(unsafe_code)]
    fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.terminate();
        if let Some(p) = self.prepared.take() {
            let _ = std::fs::remove_dir_all(&p.dir);
        }
    }
}

/// A field of `/proc/<pid>/status` (kB values and counts).
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let scheme_end = main.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match main[scheme_end..].find('/') {
        Some(i) => &main[..scheme_end + i],
        None => main,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn admin_sql(admin_url: &str, sql: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(sql).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5/postgres", "x"),
            "postgres://u@127.0.0.1:5/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5/db?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
    }
}
