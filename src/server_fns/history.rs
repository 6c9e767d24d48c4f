//! History pages and read cursors for the UI.

use crate::protocol::{ChannelId, Seq};
use leptos::prelude::*;

use crate::protocol::{AppError, HistoryPage};

/// A page of history: the newest page, the page before `before_seq`, the
/// page after `after_seq`, or the page around `around_seq` (at most one
/// cursor).
#[server(prefix = "/api", endpoint = "load_history")]
pub async fn load_history(
    /// The channel.
    channel_id: ChannelId,
    /// The page before this seq; `None`: the newest page.
    before_seq: Option<Seq>,
    /// The page after this seq.
    after_seq: Option<Seq>,
    /// The page around this seq (a jump to a quoted message).
    around_seq: Option<Seq>,
) -> Result<HistoryPage, AppError> {
    use crate::server::chat::history::{HistoryQuery, DEFAULT_LIMIT};
    use crate::server::store::HistoryCursor;

    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    let cursor = with_status(HistoryCursor::from_seqs(before_seq, after_seq, around_seq))?;
    let query = HistoryQuery {
        cursor,
        limit: DEFAULT_LIMIT,
    };
    with_status(state.chat.history(user.id, channel_id, query).await)
}

/// Marks a channel read up to `seq` (default newest); returns the cursor.
#[server(prefix = "/api", endpoint = "mark_read")]
pub async fn mark_read(
    /// The channel.
    channel_id: ChannelId,
    /// Read up to this seq; `None`: the newest.
    seq: Option<Seq>,
) -> Result<Seq, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(state.chat.mark_read(user.id, channel_id, seq).await)
}
