//! The JSON routes of threads (PROTOCOL.md "Threads"): a thread's pages,
//! the thread read cursor and the threads view. Each handler
//! authenticates, parses, calls one `Chat` function and shapes the JSON,
//! like the seed's routes in `rest.rs`.

use axum::extract::FromRequestParts;
use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;
use serde_json::json;

use super::extract::{query_map, HistoryParams, MessagePath, ReadBody};
use super::rest::ApiResult;
use crate::protocol::{RepliesPage, ThreadList, Timestamp};
use crate::server::auth::CurrentUser;
use crate::server::chat::threads::threads_params;
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// `GET /chat/channels/{c}/messages/{m}/replies` with the history route's
/// `limit` and one of `before_seq`, `after_seq`, `around_seq`.
pub async fn replies_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: MessagePath,
    HistoryParams(query): HistoryParams,
) -> ApiResult<RepliesPage> {
    let page = state
        .chat
        .replies(user.id, path.channel, path.message, query)
        .await?;
    Ok(Json(page))
}

/// `POST /chat/channels/{c}/messages/{m}/thread/read` with an optional
/// `{"seq": n}`.
pub async fn thread_read_route(
    State(state): State<AppState>,
    user: CurrentUser,
    path: MessagePath,
    ReadBody { seq }: ReadBody,
) -> ApiResult {
    state
        .chat
        .mark_thread_read(user.id, path.channel, path.message, seq)
        .await?;
    Ok(Json(json!({ "ok": true })))
}

/// `?limit=&before=` of the threads view.
#[derive(Debug, Clone, Copy)]
pub struct ThreadsParams {
    /// Threads whose last reply is older than this.
    pub before: Option<Timestamp>,
    /// At most this many (default and largest: 50).
    pub limit: Option<u32>,
}

impl<S: Send + Sync> FromRequestParts<S> for ThreadsParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let (before, limit) = threads_params(&query_map(parts).await?)?;
        Ok(ThreadsParams { before, limit })
    }
}

/// `GET /chat/threads`: the caller's threads, newest last reply first.
pub async fn threads_route(
    State(state): State<AppState>,
    user: CurrentUser,
    params: ThreadsParams,
) -> ApiResult<ThreadList> {
    Ok(Json(
        state
            .chat
            .threads(user.id, params.before, params.limit)
            .await?,
    ))
}
