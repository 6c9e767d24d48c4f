//! `POST /auth/login` and `POST /auth/logout`: the built-in accounts' JSON
//! routes. The token is returned and also set as the session cookie.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderMap};
use serde::Deserialize;
use serde_json::json;

use crate::protocol::AppError;
use crate::server::auth::session::{clear_cookie, request_is_https, set_cookie};
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize)]
pub struct LoginBody {
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Whether the cookie gets `Secure` for this request.
pub fn cookie_is_secure(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .settings
        .cookie_secure
        .unwrap_or_else(|| request_is_https(headers))
}

/// `POST /auth/login`
pub async fn login_route(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let creds: LoginBody = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(_) => {
            return ApiError(AppError::BadRequest(
                "body must be {\"email\": string, \"password\": string}".into(),
            ))
            .into_response()
        }
    };
    let ttl = state.settings.token_ttl;
    match state
        .chat
        .login(&state.jwt, ttl, &creds.email, &creds.password)
        .await
    {
        Ok((token, user)) => {
            let cookie = set_cookie(&token, ttl, cookie_is_secure(&state, &headers));
            let mut response = Json(json!({ "token": token, "user": user })).into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// `POST /auth/logout`: clears the session cookie (tokens are stateless and
/// expire by themselves).
pub async fn logout_route(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = Json(json!({ "ok": true })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        clear_cookie(cookie_is_secure(&state, &headers)),
    );
    response
}
