//! Typed request extractors of the JSON and WebSocket routes: each turns a
//! path segment, query string or body into a typed value, and each
//! rejection is the documented `{"error": ...}` body (400 for malformed
//! input) rather than axum's plain-text default. Handlers then only call
//! the rule book.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::protocol::{AppError, ChannelId, MessageId, Rev, Seq, UserId};
use crate::server::chat::history::HistoryQuery;
use crate::server::chat::search::SearchRequest;
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Reads the raw path segments (axum's own rejection becomes ours).
async fn path_segments<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<Vec<String>, ApiError> {
    let Path(segments) = Path::<Vec<String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| AppError::BadRequest(format!("bad path: {e}")))?;
    Ok(segments)
}

/// The first path segment (a route with one id in its path).
async fn first_segment<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ApiError> {
    Ok(path_segments(parts, state)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default())
}

/// Parses one id segment, naming it in the 400 answer.
fn parse_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, AppError> {
    raw.parse::<T>()
        .map_err(|_| AppError::BadRequest(format!("{what} must be a UUID")))
}

/// `{channelId}` of the `/chat/channels/{channelId}/...` and
/// `/chat/ws/{channelId}` routes (400 when it is not a UUID).
#[derive(Debug, Clone, Copy)]
pub struct ChannelPath(pub ChannelId);

impl ChannelPath {
    /// Parses the segment as the chat routes always have.
    pub fn parse(raw: &str) -> Result<ChannelId, AppError> {
        raw.parse::<ChannelId>()
            .map_err(|_| AppError::BadRequest(format!("channel id {raw:?} is not a UUID")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ChannelPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = first_segment(parts, state).await?;
        Ok(ChannelPath(ChannelPath::parse(&raw)?))
    }
}

/// `{id}` of `/admin/tablos/{id}`: the host app's word for a channel.
#[derive(Debug, Clone, Copy)]
pub struct TabloPath(pub ChannelId);

impl<S: Send + Sync> FromRequestParts<S> for TabloPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = first_segment(parts, state).await?;
        Ok(TabloPath(parse_id(&raw, "tablo id")?))
    }
}

/// `{id}` of `/admin/users/{id}`.
#[derive(Debug, Clone, Copy)]
pub struct UserPath(pub UserId);

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = first_segment(parts, state).await?;
        Ok(UserPath(parse_id(&raw, "user id")?))
    }
}

/// `{id}/members/{userId}` of the admin access routes.
#[derive(Debug, Clone, Copy)]
pub struct AccessPath {
    /// The tablo (channel).
    pub channel: ChannelId,
    /// The member.
    pub user: UserId,
}

impl<S: Send + Sync> FromRequestParts<S> for AccessPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = path_segments(parts, state).await?;
        let [tablo, user] = segments.as_slice() else {
            return Err(AppError::BadRequest("expected a tablo id and a user id".into()).into());
        };
        Ok(AccessPath {
            channel: parse_id(tablo, "tablo id")?,
            user: parse_id(user, "user id")?,
        })
    }
}

/// `{channelId}/.../{messageId}` of the message routes (and `{id}` /
/// `{messageId}` of the admin ones).
#[derive(Debug, Clone, Copy)]
pub struct MessagePath {
    /// The channel (tablo).
    pub channel: ChannelId,
    /// The message.
    pub message: MessageId,
}

impl<S: Send + Sync> FromRequestParts<S> for MessagePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = path_segments(parts, state).await?;
        let [channel, message, ..] = segments.as_slice() else {
            return Err(
                AppError::BadRequest("expected a channel id and a message id".into()).into(),
            );
        };
        Ok(MessagePath {
            channel: ChannelPath::parse(channel)?,
            message: parse_id(message, "message id")?,
        })
    }
}

/// `{channelId}/messages/{messageId}/reactions/{emoji}`: the emoji is
/// percent-decoded by the router and checked by the rule book.
#[derive(Debug, Clone)]
pub struct ReactionPath {
    /// The channel.
    pub channel: ChannelId,
    /// The message.
    pub message: MessageId,
    /// The emoji as sent.
    pub emoji: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ReactionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let segments = path_segments(parts, state).await?;
        let [channel, message, emoji] = segments.as_slice() else {
            return Err(AppError::BadRequest(
                "expected a channel id, a message id and an emoji".into(),
            )
            .into());
        };
        Ok(ReactionPath {
            channel: ChannelPath::parse(channel)?,
            message: parse_id(message, "message id")?,
            emoji: emoji.clone(),
        })
    }
}

/// The query string as a map (malformed encoding is a 400 in our shape).
pub async fn query_map(parts: &mut Parts) -> Result<HashMap<String, String>, ApiError> {
    let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, &())
        .await
        .map_err(|e| AppError::BadRequest(format!("bad query string: {e}")))?;
    Ok(params)
}

/// `?limit=&before=|before_seq=|after_seq=` of the history route, checked
/// against the configured largest page.
#[derive(Debug, Clone, Copy)]
pub struct HistoryParams(pub HistoryQuery);

impl FromRequestParts<AppState> for HistoryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = query_map(parts).await?;
        Ok(HistoryParams(HistoryQuery::parse(
            &params,
            state.settings.limits.history_max_limit,
        )?))
    }
}

/// `?q=&channel_id=&limit=&cursor=` of the search route.
#[derive(Debug, Clone)]
pub struct SearchParams(pub SearchRequest);

impl<S: Send + Sync> FromRequestParts<S> for SearchParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let params = query_map(parts).await?;
        Ok(SearchParams(SearchRequest::from_params(&params)?))
    }
}

/// `?afterSeq=n&afterRev=r` of the WebSocket route (and `?token=` beside
/// it, which authentication reads).
#[derive(Debug, Clone)]
pub struct WsParams {
    /// Replay the stored messages after this seq first.
    pub after_seq: Option<Seq>,
    /// Then the changes after this rev to the older messages.
    pub after_rev: Option<Rev>,
    /// A token in the query (clients that cannot set headers).
    pub token: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for WsParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut params = query_map(parts).await?;
        let after_seq = match params.get("afterSeq").map(|v| v.parse::<i64>()) {
            None => None,
            Some(Ok(n)) if n >= 0 => Some(Seq::new(n)),
            Some(_) => {
                return Err(
                    AppError::BadRequest("afterSeq must be a non-negative integer".into()).into(),
                )
            }
        };
        let after_rev = match params.get("afterRev").map(|v| v.parse::<i64>()) {
            None => None,
            Some(Ok(n)) if n >= 0 => Some(Rev::new(n)),
            Some(_) => {
                return Err(
                    AppError::BadRequest("afterRev must be a non-negative integer".into()).into(),
                )
            }
        };
        Ok(WsParams {
            after_seq,
            after_rev,
            token: params.remove("token"),
        })
    }
}

/// Body of `POST /chat/channels/{channelId}/read`: empty, or `{"seq": n}`.
#[derive(Debug, Clone, Copy)]
pub struct ReadBody {
    /// Read up to here; `None`: the newest message.
    pub seq: Option<Seq>,
}

impl<S: Send + Sync> FromRequest<S> for ReadBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        #[derive(Deserialize)]
        struct Body {
            seq: Option<i64>,
        }
        // A body over the limit keeps axum's 413.
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(ReadBody { seq: None });
        }
        let parsed = serde_json::from_slice::<Body>(&body).map_err(|e| {
            ApiError(AppError::BadRequest(format!(
                "body must be {{\"seq\": n}}: {e}"
            )))
            .into_response()
        })?;
        Ok(ReadBody {
            seq: parsed.seq.map(Seq::new),
        })
    }
}

/// A JSON body of the admin API and the message-change routes
/// (`{"error": "bad body: ..."}` on a mismatch, whatever the
/// `Content-Type`: the host app's scripts send bare bodies).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| ApiError(AppError::BadRequest(format!("bad body: {e}"))).into_response())
    }
}
