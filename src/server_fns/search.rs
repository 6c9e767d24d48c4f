//! Search for the UI: the same `server::chat` call as `GET /chat/search`.

use leptos::prelude::*;

use crate::protocol::{AppError, ChannelId, SearchPage};

/// Messages of my channels (or of one) that hold every word of `q`,
/// newest first, a page at a time.
#[server(prefix = "/api", endpoint = "search_messages")]
pub async fn search_messages(
    /// The words to find.
    q: String,
    /// Only this channel.
    channel_id: Option<ChannelId>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
) -> Result<SearchPage, AppError> {
    use crate::server::chat::search::SearchRequest;
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(
        state
            .chat
            .search(
                user.id,
                SearchRequest {
                    q,
                    channel_id,
                    limit: None,
                    cursor,
                },
            )
            .await,
    )
}
