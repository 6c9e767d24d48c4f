//! What both SQLite writers share (the chat file's and the search index
//! file's): how their one connection is kept, how a failed write
//! transaction ends, how a lost race for a file's write lock is told
//! apart, and how a list reaches a statement.

use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::Sqlite;

use super::{StoreError, StoreResult};

/// A writer's pool: one connection, opened at once and kept for good.
/// Connections are local and never go stale: no ping before each use (a
/// round trip to the connection's thread every query).
pub(super) fn one_writer() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
}

/// Ends a failed write transaction: rolls back what may be left of it and
/// closes the connection, so nothing a failed statement or rollback left
/// behind reaches the next transaction; the pool opens a new connection
/// for it.
pub(super) async fn discard(mut conn: PoolConnection<Sqlite>) {
    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the failed writer connection failed");
    }
}

/// Whether `e` is SQLite's `SQLITE_BUSY` (any of its extended codes): a
/// deferred transaction that read first found that another connection
/// wrote the file since, so it may not write now (no busy timeout helps:
/// its snapshot is old); the transaction can only be begun again.
pub(super) fn is_busy(e: &StoreError) -> bool {
    const SQLITE_BUSY: i64 = 5;
    let StoreError::Database(sqlx::Error::Database(e)) = e else {
        return false;
    };
    e.code()
        .and_then(|code| code.parse::<i64>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

/// A batch or list as the JSON array its statement takes (`json_each`).
pub(super) fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Transaction(format!("batch encoding: {e}")))
}
