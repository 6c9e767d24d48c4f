//! Plumbing for server functions: the app state and caller from the
//! request, and HTTP statuses that match the error (a wrong password is a
//! 401, arguments that do not decode a 400, never a 500), as on the JSON
//! routes.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::request::Parts;
use http::StatusCode;
use leptos::prelude::use_context;

use crate::protocol::AppError;
use crate::server::auth::{authenticate, CurrentUser};
use crate::server::state::AppState;

/// The app state and the authenticated caller (cookie or bearer token).
///
/// # Errors
/// `Unauthorized` when the request carries no valid credentials.
pub fn server_fn_user() -> Result<(AppState, CurrentUser), AppError> {
    let state = server_fn_state()?;
    let parts = use_context::<Parts>().ok_or_else(AppError::internal)?;
    let user = authenticate(&state.jwt, &parts.headers, None)?;
    Ok((state, user))
}

/// The app state (provided to every server function by the router).
pub fn server_fn_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(AppError::internal)
}

/// Sets the response status from the error, then passes the result on.
pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(
                StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
    }
    result
}

/// Largest server-function error body read back by [`error_status`].
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Gives a failed server-function call the status of the error in its
/// body. Errors raised before the function runs (arguments that do not
/// decode, a missing argument) leave the framework's 500; the body holds
/// the [`AppError`] (a `BadRequest` then), whose status is the right one.
pub async fn error_status(req: Request, next: Next) -> Response {
    let is_server_fn = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.status_code()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
