//! Login, logout and "who am I" for the UI.

use leptos::prelude::*;

use crate::protocol::{AppError, User};

/// Where a login may send the browser afterwards: a page of this app under
/// `/chat`, never another site (`//evil.example`, `https://...`).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if (path == "/chat" || path.starts_with("/chat/"))
                && !path.contains("//")
                && !path.contains('\\')
                && path.chars().all(|c| c.is_ascii_graphic()) =>
        {
            path
        }
        _ => "/chat",
    }
}

/// Logs in with e-mail and password: sets the session cookie and sends the
/// browser to `next` (a `/chat` page; `/chat` by default). Works as a plain
/// form post without JavaScript.
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(
    /// The account's e-mail.
    email: String,
    /// Its password.
    password: String,
    /// Where to go after logging in (a `/chat` path).
    #[server(default)]
    next: Option<String>,
) -> Result<(), AppError> {
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
    leptos_axum::redirect(safe_next(next.as_deref()));
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

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn login_only_returns_to_chat_pages() {
        assert_eq!(safe_next(None), "/chat");
        assert_eq!(
            safe_next(Some("/chat/6e0e7a10-0000-4000-8000-000000000001")),
            "/chat/6e0e7a10-0000-4000-8000-000000000001"
        );
        for bad in [
            "//evil.example",
            "https://evil.example/chat",
            "/chatroom",
            "/chat//evil",
            "/chat/\\evil",
            "/chat/a b",
            "/login",
        ] {
            assert_eq!(safe_next(Some(bad)), "/chat", "{bad}");
        }
    }
}
