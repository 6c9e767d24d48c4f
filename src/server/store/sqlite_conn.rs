//! What both SQLite writers share (the chat file's and the search index
//! file's): how their one connection is kept, how a failed write
//! transaction ends, and how a list reaches a statement.

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

/// A batch or list as the JSON array its statement takes (`json_each`).
pub(super) fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Transaction(format!("batch encoding: {e}")))
}
