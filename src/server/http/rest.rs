//! The seed's JSON routes (PROTOCOL.md "REST"). Each handler authenticates,
//! parses, calls one `Chat` function and shapes the JSON; no rules here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::extract::{ChannelPath, HistoryParams, ReadBody};
use crate::protocol::{AppError, HistoryPageWithCompat};
use crate::server::auth::CurrentUser;
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Result of a JSON handler.
pub type ApiResult = Result<Json<Value>, ApiError>;

/// `GET /chat/channels`
pub async fn list_channels_route(State(state): State<AppState>, user: CurrentUser) -> ApiResult {
    let channels = state.chat.channels(user.id).await?;
    Ok(Json(json!({ "channels": channels })))
}

/// `GET /chat/channels/{channelId}/messages`
pub async fn history_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
    HistoryParams(query): HistoryParams,
) -> ApiResult {
    let page = state.chat.history(user.id, channel_id, query).await?;
    Ok(Json(
        serde_json::to_value(HistoryPageWithCompat::from(&page))
            .map_err(|_| AppError::internal())?,
    ))
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
pub async fn unread_route(State(state): State<AppState>, user: CurrentUser) -> ApiResult {
    let unread = state.chat.unread(user.id).await?;
    Ok(Json(json!({ "unread": unread })))
}

/// `GET /chat/channels/{channelId}/members` (an addition to the seed's
/// paths: names for the user ids in frames).
pub async fn members_route(
    State(state): State<AppState>,
    user: CurrentUser,
    ChannelPath(channel_id): ChannelPath,
) -> ApiResult {
    let members = state.chat.members(user.id, channel_id).await?;
    Ok(Json(json!({ "members": members })))
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
