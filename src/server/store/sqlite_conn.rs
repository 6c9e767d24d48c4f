//! How a failed SQLite write transaction ends, for both writers (the chat
//! file's and the search index file's).

use sqlx::pool::PoolConnection;
use sqlx::Sqlite;

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
