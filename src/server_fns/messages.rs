//! Changes to messages and what reads them, for the UI: the same
//! `server::chat` calls as the JSON routes of `http::message_routes`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::protocol::{
    AppError, ChangeRequest, ChannelId, MemberRead, Message, MessageEdit, MessageId, SendRequest,
    UserId,
};

/// Sends a message under the `message.send` frame's rules (the UI sends by
/// its socket; this is for a page without one) and returns it as stored.
/// JSON in: `{"channel_id", "message": {"text", "clientId", ...}}`.
#[server(prefix = "/api", endpoint = "send_message", input = Json)]
pub async fn send_message(
    /// The channel.
    channel_id: ChannelId,
    /// The message.
    message: SendRequest,
) -> Result<Message, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(
        state
            .chat
            .send_request(user.id, channel_id, message)
            .await
            .map(|(message, _)| message),
    )
}

/// Applies a change (edit, delete, reaction, pin) to a message and returns
/// the message's state after it. JSON in: a change is a tagged object.
#[server(prefix = "/api", endpoint = "change_message", input = Json)]
pub async fn change_message(
    /// The channel.
    channel_id: ChannelId,
    /// The message.
    message_id: MessageId,
    /// What to do.
    change: ChangeRequest,
) -> Result<Message, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(
        state
            .chat
            .change_message(user.id, channel_id, message_id, change)
            .await,
    )
}

/// The channel's pinned messages, newest pin first.
#[server(prefix = "/api", endpoint = "load_pins")]
pub async fn load_pins(
    /// The channel.
    channel_id: ChannelId,
) -> Result<Vec<Message>, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(state.chat.pins(user.id, channel_id).await)
}

/// Every member's read cursor ("seen by"); empty when read receipts are off.
#[server(prefix = "/api", endpoint = "load_reads")]
pub async fn load_reads(
    /// The channel.
    channel_id: ChannelId,
) -> Result<Vec<MemberRead>, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(state.chat.reads(user.id, channel_id).await)
}

/// A message's earlier texts (author only).
#[server(prefix = "/api", endpoint = "load_edits")]
pub async fn load_edits(
    /// The channel.
    channel_id: ChannelId,
    /// The message.
    message_id: MessageId,
) -> Result<Vec<MessageEdit>, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(state.chat.edits(user.id, channel_id, message_id).await)
}

/// Everyone who reacted to a message with an emoji, by time.
#[server(prefix = "/api", endpoint = "load_reactors")]
pub async fn load_reactors(
    /// The channel.
    channel_id: ChannelId,
    /// The message.
    message_id: MessageId,
    /// The emoji.
    emoji: String,
) -> Result<Vec<UserId>, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(
        state
            .chat
            .reactors(user.id, channel_id, message_id, &emoji)
            .await,
    )
}
