//! `CurrentUser`: the one identity extractor used by the REST routes, the
//! WebSocket upgrade and the server functions.

use crate::protocol::UserId;
use axum::extract::FromRequestParts;
use http::request::Parts;
use http::HeaderMap;

use super::jwt::JwtKeys;
use super::session::read_cookie;
use crate::protocol::AppError;
use crate::server::state::AppState;

/// Where the credentials came from; cookie-authenticated WebSocket
/// handshakes must also pass the Origin check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthSource {
    /// `Authorization: Bearer`.
    Bearer,
    /// The session cookie.
    Cookie,
    /// `?token=` on the WebSocket URL.
    QueryToken,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user id (`sub`).
    pub id: UserId,
    /// The token's `email` claim, if any.
    pub email: Option<String>,
    /// How the caller authenticated.
    pub source: AuthSource,
}

/// Authenticates a request from its headers, and from `?token=` when
/// `query_token` is given (WebSocket route only). Bearer wins over cookie,
/// cookie over query token. Never logs the token.
///
/// # Errors
/// `AppError::Unauthorized` for missing or invalid credentials.
pub fn authenticate(
    keys: &JwtKeys,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<CurrentUser, AppError> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let (token, source) = if let Some(t) = bearer {
        (t, AuthSource::Bearer)
    } else if let Some(t) = read_cookie(headers) {
        (t, AuthSource::Cookie)
    } else if let Some(t) = query_token.filter(|t| !t.is_empty()) {
        (t, AuthSource::QueryToken)
    } else {
        return Err(AppError::Unauthorized("missing authorization".into()));
    };
    let claims = keys
        .verify(token)
        .ok_or_else(|| AppError::Unauthorized("invalid token".into()))?;
    Ok(CurrentUser {
        id: claims.sub,
        email: claims.email,
        source,
    })
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = crate::server::error::ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = authenticate(&state.jwt, &parts.headers, None)?;
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        state
            .chat
            .ensure_user(user.id, user.email.as_deref())
            .await?;
        Ok(user)
    }
}
