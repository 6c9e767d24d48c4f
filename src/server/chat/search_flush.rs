//! Merges the search index's pending entries into it in the background,
//! every `search_flush_ms`, so that work does not land inside sends:
//! Postgres merges the GIN index's pending list (which a send would merge
//! when it fills it), SQLite indexes the messages stored since the last
//! time, many to a transaction. With search off the task ends at once.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::server::store::Store;

/// How long to wait after a failure before trying again (and logging
/// again), so a lasting failure (a database role that may not run the
/// merge) does not flood the log.
const AFTER_FAILURE: Duration = Duration::from_secs(60);

/// Runs until `shutdown`: one merge every `every`, where the store keeps
/// a pending list at all.
pub async fn run(store: Arc<dyn Store>, every: Duration, shutdown: CancellationToken) {
    if !store.keeps_pending_search_entries() {
        return;
    }
    loop {
        let pause = match store.flush_search_index().await {
            Ok(_) => every,
            Err(e) => {
                tracing::warn!(error = %e, "merging the search index's pending entries failed; retrying later");
                AFTER_FAILURE
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
