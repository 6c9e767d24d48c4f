//! Plumbing for server functions: the app state and caller from the
//! request, and HTTP statuses that match the error (a wrong password is a
//! 401, not a 500), as on the JSON routes.

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
