//! Indexes, in the background, the messages Postgres' search does not know
//! yet: those stored before the search migration, and (during a rolling
//! upgrade) those stored by a server of an earlier release. New messages are
//! indexed in their own transaction and never wait for this. (SQLite's index
//! file takes every message it does not hold by itself, `search_flush`; its
//! store has no backlog.)

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::server::store::Store;

/// Messages indexed per transaction: small, so sends queue behind a step
/// for a moment only.
pub const STEP: u32 = 500;

/// Pause between steps while work is left, so the writer serves sends in
/// between.
const BETWEEN_STEPS: Duration = Duration::from_millis(20);

/// How often to look again once nothing is left (or after a failure).
const IDLE: Duration = Duration::from_secs(60);

/// Runs until `shutdown`: steps through the backlog, then looks again every
/// [`IDLE`].
pub async fn run(store: Arc<dyn Store>, shutdown: CancellationToken) {
    let mut total = 0usize;
    loop {
        let pause = match store.index_backlog(STEP).await {
            Ok(0) => {
                if total > 0 {
                    tracing::info!(messages = total, "search index caught up");
                    total = 0;
                }
                IDLE
            }
            Ok(n) => {
                total += n;
                if total % (STEP as usize * 20) < n {
                    tracing::info!(messages = total, "indexing older messages for search");
                }
                BETWEEN_STEPS
            }
            Err(e) => {
                tracing::warn!(error = %e, "indexing older messages for search failed; retrying later");
                IDLE
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
