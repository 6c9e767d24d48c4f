//! `GET /chat/ws/{channelId}[?afterSeq=n]`: authentication, membership and
//! Origin checks before the upgrade (401/403/404, 400 for a bad `afterSeq`,
//! no upgrade), then a [`WsSession`] for the connection.
//!
//! [`WsSession`]: super::ws_session::WsSession

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use hyper_util::rt::TokioIo;
use tracing::Instrument;

use super::extract::{ChannelPath, WsParams};
use super::ws_session::WsSession;
use super::ws_upgrade;
use crate::protocol::AppError;
use crate::server::auth::{authenticate, AuthSource};
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Whether a browser `Origin` may open a cookie-authenticated socket: the
/// configured origins, or the server's own origin (same `Host`).
pub fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(http::header::ORIGIN) else {
        // Browsers always send Origin on WebSocket handshakes; a client
        // without one is not a browser and not a CSRF vector.
        return true;
    };
    // Present but unreadable is not allowed.
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if state.settings.allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok());
    match (host, origin.split_once("://")) {
        (Some(host), Some((scheme, rest))) => {
            (scheme == "http" || scheme == "https") && rest.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

/// The upgrade route.
pub async fn ws_route(
    State(state): State<AppState>,
    channel: Result<ChannelPath, ApiError>,
    params: Result<WsParams, ApiError>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    // Authentication answers first (401 before any 400), as it always has.
    let token = params.as_ref().ok().and_then(|p| p.token.as_deref());
    let user = match authenticate(&state.jwt, headers, token) {
        Ok(user) => user,
        Err(e) => return ApiError(e).into_response(),
    };
    let channel_id = match channel {
        Ok(ChannelPath(id)) => id,
        Err(e) => return e.into_response(),
    };
    // `?afterSeq=n`: start with the stored messages after n, in order,
    // before anything live (a reconnect without the race of a `resume`
    // frame against live messages).
    let after = match params {
        Ok(params) => (params.after_seq, params.after_rev),
        Err(e) => return e.into_response(),
    };
    // One query: membership and the channel's head, where the session
    // starts. A member has a user row, so none is created here.
    let heads = match state.chat.require_member_heads(channel_id, user.id).await {
        Ok(heads) => heads,
        Err(e) => return ApiError(e).into_response(),
    };
    state.chat.note_user_exists(user.id);
    if user.source == AuthSource::Cookie && !origin_allowed(&state, headers) {
        return ApiError(AppError::Forbidden("origin not allowed".into())).into_response();
    }
    let accept = match ws_upgrade::check(request.method(), request.version(), headers) {
        Ok(accept) => accept,
        Err(refused) => return refused.into_response(),
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let tasks = state.tasks.clone();
    let span = tracing::info_span!("ws", user_id = %user.id, channel_id = %channel_id);
    // Two tasks: one waits for hyper to hand over the connection, then
    // starts the session as a task of its own and ends. An idle
    // connection then holds only the session's task, not also the
    // captured state of the wait, which the one task kept for the
    // connection's whole life (its slot is as large as its largest
    // state): 5.8 KiB per connection, against 2.7 KiB (docs/BENCHMARKS.md,
    // issue 20).
    let session_tasks = tasks.clone();
    tokio::spawn(
        tasks.track_future(
            async move {
                match on_upgrade.await {
                    Ok(upgraded) => {
                        let session = WsSession::new(state, user.id, channel_id, heads, after)
                            .run(TokioIo::new(upgraded))
                            .in_current_span();
                        tokio::spawn(session_tasks.track_future(session));
                    }
                    Err(e) => tracing::debug!(error = %e, "upgrade did not complete"),
                }
            }
            .instrument(span),
        ),
    );
    ws_upgrade::switching_protocols(accept)
}
