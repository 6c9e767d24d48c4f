//! Threads for the UI: a thread's pages, the thread read cursor and the
//! threads view (the JSON routes' `Chat` functions).

use crate::protocol::{ChannelId, MessageId, Seq};
use leptos::prelude::*;

use crate::protocol::{AppError, RepliesPage, ThreadList};

/// A page of a thread: its newest replies, those before `before_seq`,
/// after `after_seq`, or around `around_seq` (at most one cursor), with
/// the parent.
#[server(prefix = "/api", endpoint = "load_replies")]
pub async fn load_replies(
    /// The channel.
    channel_id: ChannelId,
    /// The thread's parent.
    parent_id: MessageId,
    /// The page before this seq; `None`: the newest page.
    before_seq: Option<Seq>,
    /// The page after this seq.
    after_seq: Option<Seq>,
    /// The page around this seq.
    around_seq: Option<Seq>,
) -> Result<RepliesPage, AppError> {
    use crate::server::chat::history::{HistoryQuery, DEFAULT_LIMIT};
    use crate::server::http::server_fn::{server_fn_user, with_status};
    use crate::server::store::HistoryCursor;

    let (state, user) = with_status(server_fn_user())?;
    let cursor = with_status(HistoryCursor::from_seqs(before_seq, after_seq, around_seq))?;
    let query = HistoryQuery {
        cursor,
        limit: DEFAULT_LIMIT,
    };
    with_status(
        state
            .chat
            .replies(user.id, channel_id, parent_id, query)
            .await,
    )
}

/// Moves the caller's read cursor of a thread to `seq` (default: its
/// newest reply).
#[server(prefix = "/api", endpoint = "mark_thread_read")]
pub async fn mark_thread_read(
    /// The channel.
    channel_id: ChannelId,
    /// The thread's parent.
    parent_id: MessageId,
    /// Read up to this reply seq; `None`: the newest.
    seq: Option<Seq>,
) -> Result<(), AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(
        state
            .chat
            .mark_thread_read(user.id, channel_id, parent_id, seq)
            .await,
    )
}

/// The caller's threads (the threads view), newest last reply first.
#[server(prefix = "/api", endpoint = "list_threads")]
pub async fn list_threads() -> Result<ThreadList, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(state.chat.threads(user.id, None, None).await)
}
