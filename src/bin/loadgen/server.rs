//! The server under test: the real `chat` binary as a child process
//! ([`crate::process`], shared with the tests), on a free loopback port,
//! with a fresh SQLite directory or a fresh Postgres database that is
//! removed when the run ends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chat::server::auth::jwt::JwtKeys;
use uuid::Uuid;

use crate::process::{free_port, Launch, ServerProcess};
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
    pub async fn start(self, bin: &Path, env: &[(&str, String)]) -> Result<Server> {
        let secret = format!("loadgen-{}", Uuid::new_v4().simple());
        let admin_key = format!("loadgen-admin-{}", Uuid::new_v4().simple());
        let mut launch = Launch::new(bin, &self.dir, free_port()?).env([
            ("DATABASE_URL", self.database_url.as_str()),
            ("JWT_SECRET", secret.as_str()),
            ("CHAT_ADMIN_KEY", admin_key.as_str()),
            ("CHAT_DEMO_DATA", "false"),
        ]);
        launch = launch.env(env.iter().map(|(k, v)| (*k, v)));
        launch.log = Some(self.dir.join("server.log"));
        let process = ServerProcess::launch(launch).await?;
        Ok(Server {
            process,
            prepared: Some(self),
            admin_key,
            jwt: JwtKeys::new(secret.as_bytes(), None),
        })
    }
}

/// A running server with its data and keys; stopped (SIGTERM, then
/// SIGKILL) and its data removed when dropped. Dereferences to the
/// [`ServerProcess`] (port, URLs, memory, log).
pub struct Server {
    process: ServerProcess,
    prepared: Option<Prepared>,
    /// The service key for `/admin/*`.
    pub admin_key: String,
    /// Mints tokens the server accepts.
    pub jwt: JwtKeys,
}

impl std::ops::Deref for Server {
    type Target = ServerProcess;

    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl Server {
    /// A token for `user` (the host app's kind: `sub`, `exp`, `email`).
    pub fn token(&self, user: Uuid) -> String {
        self.jwt.issue(
            user.into(),
            &format!("{}@load.invalid", user.simple()),
            Duration::from_secs(6 * 3600),
        )
    }

    /// Bytes of write-ahead log the Postgres cluster has written so far
    /// (its WAL position); `None` on SQLite, or when the cluster does not
    /// answer. The whole cluster's, so a phase's difference is the
    /// server's only when nothing else writes to it, as in a benchmark run.
    pub async fn postgres_wal_bytes(&self) -> Option<u64> {
        use sqlx::Connection;
        let (admin_url, _) = self.prepared.as_ref()?.postgres.as_ref()?;
        let mut conn = sqlx::PgConnection::connect(admin_url).await.ok()?;
        let bytes: i64 =
            sqlx::query_scalar("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
                .fetch_one(&mut conn)
                .await
                .ok()?;
        let _ = conn.close().await;
        u64::try_from(bytes).ok()
    }

    /// Stops the server and removes its data.
    pub async fn stop(mut self) {
        self.process.terminate();
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
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.terminate();
        if let Some(p) = self.prepared.take() {
            let _ = std::fs::remove_dir_all(&p.dir);
        }
    }
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
