//! Login, logout and "who am I" for the UI.

use leptos::prelude::*;

use crate::protocol::{AppError, User};

/// Logs in with e-mail and password: sets the session cookie and sends the
/// browser to `/chat` (works as a plain form post without JavaScript).
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::server::auth::session::set_cookie;
    use crate::server::http::login::cookie_is_secure;
    use crate::server::http::server_fn::{server_fn_state, with_status};

    let state = with_status(server_fn_state())?;
    let parts = use_context::<http::request::Parts>().ok_or_else(AppError::internal)?;
    let ttl = state.settings.token_ttl;
    let (token, _user) = with_status(state.chat.login(&state.jwt, ttl, &email, &password).await)?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.insert_header(
        http::header::SET_COOKIE,
        set_cookie(&token, ttl, cookie_is_secure(&state, &parts.headers)),
    );
    leptos_axum::redirect("/chat");
    Ok(())
}

/// Clears the session cookie and sends the browser to `/login`.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::auth::session::clear_cookie;
    use crate::server::http::login::cookie_is_secure;
    use crate::server::http::server_fn::server_fn_state;

    let state = server_fn_state()?;
    let parts = use_context::<http::request::Parts>().ok_or_else(AppError::internal)?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.insert_header(
        http::header::SET_COOKIE,
        clear_cookie(cookie_is_secure(&state, &parts.headers)),
    );
    leptos_axum::redirect("/login");
    Ok(())
}

/// The logged-in user (401 when not logged in).
#[server(prefix = "/api", endpoint = "me")]
pub async fn me() -> Result<User, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, user) = with_status(server_fn_user())?;
    with_status(
        state
            .chat
            .user(user.id)
            .await
            .and_then(|u| u.ok_or_else(|| AppError::Unauthorized("unknown user".into()))),
    )
}
