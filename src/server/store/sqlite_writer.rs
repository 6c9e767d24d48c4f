//! The chat file's one writer connection, held behind a lock rather than
//! kept in a pool of one.
//!
//! Why not sqlx's pool: each time a connection goes back to a pool, sqlx
//! pings it first (for SQLite a hand-over to the connection's thread and
//! back) from a task it spawns. Every batch of messages takes the writer,
//! so that ping was one of its three hand-overs per commit. A lock gives
//! the same one-at-a-time access with nothing done on release.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::ConnectOptions;
use tokio::sync::{Mutex, MutexGuard};

use super::StoreResult;

/// How long a write waits for the writer before it fails as unavailable
/// (what sqlx's pool waited by default).
const WAIT_FOR_WRITER: Duration = Duration::from_secs(30);

/// The one connection that writes the chat's file. Waiting writes take it
/// in arrival order (the lock is fair).
#[derive(Debug)]
pub(super) struct OneWriter {
    /// How to open it again after a failure threw it away.
    options: SqliteConnectOptions,
    /// `None` only between a discard and the next write.
    conn: Mutex<Option<SqliteConnection>>,
}

/// The writer, taken by one write until dropped.
pub(super) struct WriterGuard<'a> {
    slot: MutexGuard<'a, Option<SqliteConnection>>,
    /// Set while a transaction begun on it has not been committed or
    /// discarded: a guard dropped so (its future cancelled) closes the
    /// connection, which rolls the transaction back, rather than hand the
    /// next write a connection still inside it.
    in_transaction: bool,
}

impl OneWriter {
    /// Opens the connection now, so a file that cannot be opened fails the
    /// start-up.
    pub(super) async fn open(options: SqliteConnectOptions) -> StoreResult<Self> {
        let conn = options.connect().await?;
        Ok(OneWriter {
            options,
            conn: Mutex::new(Some(conn)),
        })
    }

    /// Takes the writer, opening a new connection if the last one was
    /// discarded.
    ///
    /// # Errors
    /// Unavailable (`PoolTimedOut`) after [`WAIT_FOR_WRITER`], or the error
    /// of opening the connection.
    pub(super) async fn lock(&self) -> StoreResult<WriterGuard<'_>> {
        let mut slot = tokio::time::timeout(WAIT_FOR_WRITER, self.conn.lock())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        if slot.is_none() {
            *slot = Some(self.options.connect().await?);
        }
        Ok(WriterGuard {
            slot,
            in_transaction: false,
        })
    }
}

impl WriterGuard<'_> {
    /// Records that a transaction is open on the connection (see
    /// [`WriterGuard::in_transaction`]); [`WriterGuard::ended_transaction`]
    /// clears it.
    pub(super) fn began_transaction(&mut self) {
        self.in_transaction = true;
    }

    /// Records that the transaction was committed.
    pub(super) fn ended_transaction(&mut self) {
        self.in_transaction = false;
    }

    /// Ends a failed write transaction: rolls back what may be left of it
    /// and closes the connection, so nothing a failed statement or
    /// rollback left behind reaches the next write, which opens a new one.
    pub(super) async fn discard(mut self) {
        self.in_transaction = false;
        if let Some(mut conn) = self.slot.take() {
            let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
            if let Err(e) = sqlx::Connection::close(conn).await {
                tracing::warn!(error = %e, "closing the failed writer connection failed");
            }
        }
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        if self.in_transaction {
            // Dropping the connection ends its thread, whose closing of the
            // file rolls the open transaction back.
            drop(self.slot.take());
            tracing::warn!("a write transaction was abandoned; its connection is closed");
        }
    }
}

impl Deref for WriterGuard<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.slot
            .as_ref()
            .expect("a guard holds a connection until discarded")
    }
}

impl DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.slot
            .as_mut()
            .expect("a guard holds a connection until discarded")
    }
}
