//! The search indexer: adds to the search index the messages whose words
//! are not in it yet. On SQLite that is every message, moments after it is
//! stored: a send's commit holds the message and its search key only, and
//! the indexer writes the words of many messages in one step (one index
//! segment per step, not one per commit; BENCHMARKS.md "Search"). On both
//! databases it is also the messages stored before the search migration,
//! and (on Postgres, during a rolling upgrade) those stored by a server of
//! an earlier release. Edits and deletes change the index in their own
//! transaction and never wait for this.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::server::store::Store;

/// Messages indexed per step (one write transaction).
pub const STEP: u32 = 2_000;

/// How often to look for new messages when nothing was left: the most a
/// stored message waits before search finds it, beyond one step.
pub const POLL: Duration = Duration::from_millis(50);

/// After a failure, the pause before trying again.
const AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Runs until `shutdown`: a step as long as work is left, else a look
/// every [`POLL`].
pub async fn run(store: Arc<dyn Store>, shutdown: CancellationToken) {
    let mut caught_up = true;
    loop {
        let pause = match store.index_backlog(STEP).await {
            Ok(0) => {
                if !caught_up {
                    tracing::debug!("search index caught up");
                    caught_up = true;
                }
                POLL
            }
            Ok(_) => {
                caught_up = false;
                Duration::ZERO
            }
            Err(e) => {
                tracing::warn!(error = %e, "indexing messages for search failed; retrying shortly");
                AFTER_FAILURE
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
