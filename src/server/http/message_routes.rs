//! The JSON routes of changes to messages (PROTOCOL.md "Changes to
//! messages"): edit, delete, edit history, reactions, pins and read
//! cursors. Each handler authenticates, parses, calls one `Chat` function
//! and shapes the JSON, like the seed's routes in `rest.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::extract::{ChannelPath, JsonBody, MessagePath, ReactionPath};
use super::json_body::{named, Named};
use super::rest::ApiResult;
use crate::protocol::dto::{MemberRead, MessageEdit};
use crate::protocol::{ChangeRequest, Message, Rev, SendRequest, UserId};
use crate::server::auth::CurrentUser;
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Body of `PATCH /chat/channels/{c}/messages/{m}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    text: String,
    #[serde(rename = "ifRev", default)]
    if_rev: Option<Rev>,
    #[serde(default)]
    mentions: Option<Vec<UserId>>,
}

/// `POST /chat/channels/{c}/messages` with the `message.send` frame's
/// fields: 201 with the stored message, 200 with the one stored before
/// under the same `clientId`.
pub async fn send_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
    JsonBody(request): JsonBody<SendRequest>,
) -> Result<(StatusCode, Json<Named<Message>>), ApiError> {
    let (message, stored_now) = state
        .chat
        .send_request(user.id, channel_id, request)
        .await?;
    let status = if stored_now {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, named("message", message)))
}

/// Applies a member's change and answers the message's state after it.
async fn change(
    state: &AppState,
    user: &CurrentUser,
    path: MessagePath,
    request: ChangeRequest,
) -> ApiResult<Named<Message>> {
    let message = state
        .chat
        .change_message(user.id, path.channel, path.message, request)
        .await?;
    Ok(named("message", message))
}

/// `PATCH /chat/channels/{c}/messages/{m}` with `{"text", "ifRev"?,
/// "mentions"?}`.
pub async fn edit_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: MessagePath,
    JsonBody(body): JsonBody<EditBody>,
) -> ApiResult<Named<Message>> {
    let request = ChangeRequest::Edit {
        text: body.text,
        if_rev: body.if_rev,
        mentions: body.mentions,
    };
    change(&state, &user, path, request).await
}

/// `DELETE /chat/channels/{c}/messages/{m}`: the tombstone.
pub async fn delete_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: MessagePath,
) -> ApiResult<Named<Message>> {
    change(&state, &user, path, ChangeRequest::Delete).await
}

/// `GET /chat/channels/{c}/messages/{m}/edits`: earlier texts, for the
/// author.
pub async fn edits_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: MessagePath,
) -> ApiResult<Named<Vec<MessageEdit>>> {
    let edits = state
        .chat
        .edits(user.id, path.channel, path.message)
        .await?;
    Ok(named("edits", edits))
}

/// `PUT /chat/channels/{c}/messages/{m}/reactions/{emoji}`.
pub async fn add_reaction_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: ReactionPath,
) -> ApiResult<Named<Message>> {
    let (path, emoji) = split(path);
    change(&state, &user, path, ChangeRequest::ReactionAdd { emoji }).await
}

/// `DELETE /chat/channels/{c}/messages/{m}/reactions/{emoji}`.
pub async fn remove_reaction_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: ReactionPath,
) -> ApiResult<Named<Message>> {
    let (path, emoji) = split(path);
    change(&state, &user, path, ChangeRequest::ReactionRemove { emoji }).await
}

/// `GET /chat/channels/{c}/messages/{m}/reactions/{emoji}`: everyone who
/// reacted with it, by time.
pub async fn reactors_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: ReactionPath,
) -> ApiResult<Named<Vec<UserId>>> {
    let user_ids = state
        .chat
        .reactors(user.id, path.channel, path.message, &path.emoji)
        .await?;
    Ok(named("user_ids", user_ids))
}

/// `PUT /chat/channels/{c}/pins/{m}`.
pub async fn pin_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: MessagePath,
) -> ApiResult<Named<Message>> {
    change(&state, &user, path, ChangeRequest::Pin).await
}

/// `DELETE /chat/channels/{c}/pins/{m}`.
pub async fn unpin_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: MessagePath,
) -> ApiResult<Named<Message>> {
    change(&state, &user, path, ChangeRequest::Unpin).await
}

/// `GET /chat/channels/{c}/pins`: newest pin first.
pub async fn pins_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
) -> ApiResult<Named<Vec<Message>>> {
    let pins = state.chat.pins(user.id, channel_id).await?;
    Ok(named("pins", pins))
}

/// `GET /chat/channels/{c}/reads`: every member's read cursor.
pub async fn reads_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
) -> ApiResult<Named<Vec<MemberRead>>> {
    let reads = state.chat.reads(user.id, channel_id).await?;
    Ok(named("reads", reads))
}

fn split(path: ReactionPath) -> (MessagePath, String) {
    (
        MessagePath {
            channel: path.channel,
            message: path.message,
        },
        path.emoji,
    )
}
