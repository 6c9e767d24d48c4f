//! Keeps the search index caught up in the background, every
//! `search_flush_ms`, so that work does not land inside sends: SQLite's
//! index file takes the messages, edits and deletes stored since the last
//! time; Postgres' indexer takes each channel's new messages into the words
//! table and merges the GIN pending list. Many messages go to a
//! transaction either way. With search off the task ends at once.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::server::store::Store;

/// How long to wait after a failure before trying again (and logging
/// again), so a lasting failure (a database role that may not run the
/// merge) does not flood the log.
const AFTER_FAILURE: Duration = Duration::from_secs(60);

/// Runs until `shutdown`: one catch-up every `every`, where the store
/// keeps a search index at all.
pub async fn run(store: Arc<dyn Store>, every: Duration, shutdown: CancellationToken) {
    if !store.keeps_pending_search_entries() {
        return;
    }
    loop {
        let pause = match store.flush_search_index().await {
            Ok(_) => every,
            Err(e) => {
                tracing::warn!(error = %e, "catching the search index up failed; retrying later");
                AFTER_FAILURE
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
