//! The seed's JSON routes (PROTOCOL.md "REST"). Each handler authenticates,
//! parses, calls one `Chat` function and shapes the JSON; no rules here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::extract::{ChannelPath, HistoryParams, ReadBody, SearchParams};
use super::json_body::{named, Named};
use crate::protocol::dto::Member;
use crate::protocol::{ChannelSummary, HistoryPageWithCompat, SearchPage, UnreadEntry};
use crate::server::auth::CurrentUser;
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Result of a JSON handler: its body, by default a `serde_json::Value`
/// (small answers); lists use a typed body ([`named`]).
pub type ApiResult<T = Value> = Result<Json<T>, ApiError>;

/// `GET /chat/channels`
pub async fn list_channels_route(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Named<Vec<ChannelSummary>>> {
    let channels = state.chat.channels(user.id).await?;
    Ok(named("channels", channels))
}

/// `GET /chat/channels/{channelId}/messages`
pub async fn history_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
    HistoryParams(query): HistoryParams,
) -> Result<Response, ApiError> {
    let page = state.chat.history(user.id, channel_id, query).await?;
    // Serialized here, while `page` is borrowed.
    Ok(Json(HistoryPageWithCompat::from(&page)).into_response())
}

/// `POST /chat/channels/{channelId}/read` with an optional `{"seq": n}`.
pub async fn mark_read_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
    ReadBody { seq }: ReadBody,
) -> ApiResult {
    state.chat.mark_read(user.id, channel_id, seq).await?;
    Ok(Json(json!({ "ok": true })))
}

/// `GET /chat/unread`
pub async fn unread_route(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Named<Vec<UnreadEntry>>> {
    let unread = state.chat.unread(user.id).await?;
    Ok(named("unread", unread))
}

/// `GET /chat/search?q=&channel_id=&limit=&cursor=`: messages of the
/// caller's channels by their words, newest first.
pub async fn search_route(
    State(state): State<AppState>,
    user: CurrentUser,
    SearchParams(request): SearchParams,
) -> ApiResult<SearchPage> {
    Ok(Json(state.chat.search(user.id, request).await?))
}

/// `GET /chat/channels/{channelId}/members` (an addition to the seed's
/// paths: names for the user ids in frames).
pub async fn members_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
) -> ApiResult<Named<Vec<Member>>> {
    let members = state.chat.members(user.id, channel_id).await?;
    Ok(named("members", members))
}

/// `GET /healthz`: the process is up.
pub async fn health_route() -> Json<Value> {
    Json(json!({ "ok": true }))
}

/// `GET /readyz`: the database answers (503 when it does not), so a load
/// balancer sends no traffic to a server that cannot store messages.
pub async fn ready_route(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.chat.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "ok": true }))),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "ok": false, "error": "database unreachable" })),
            )
        }
    }
}

/// `GET /metrics`: Prometheus text format (see `server::metrics`).
pub async fn metrics_route(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let metrics = &state.chat.metrics;
    metrics.rooms.set(state.chat.rooms.len() as i64);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
}
