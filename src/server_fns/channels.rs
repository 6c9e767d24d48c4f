//! The channel list and members for the UI.

use crate::protocol::ChannelId;
use leptos::prelude::*;

use crate::protocol::dto::Member;
use crate::protocol::{AppError, ChannelSummary};

/// Channels of the logged-in user with previews and unread counts.
#[server(prefix = "/api", endpoint = "list_channels")]
pub async fn list_channels() -> Result<Vec<ChannelSummary>, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(state.chat.channels(user.id).await)
}

/// Members of a channel (names for user ids).
#[server(prefix = "/api", endpoint = "channel_members")]
pub async fn channel_members(
    /// The channel.
    channel_id: ChannelId,
) -> Result<Vec<Member>, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(state.chat.members(user.id, channel_id).await)
}
