//! The session cookie of the built-in login: it holds a JWT signed with the
//! same secret, so cookie and bearer token share one verification path.

use http::header::{HeaderMap, HeaderValue};
use std::time::Duration;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "chat_session";

/// Whether the request reached us over https (directly or via a proxy that
/// sets `X-Forwarded-Proto`).
pub fn request_is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("https")
        })
        .unwrap_or(false)
}

/// `Set-Cookie` value that stores `token` (HttpOnly, SameSite=Lax, Secure
/// when `secure`).
pub fn set_cookie(token: &str, ttl: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        ttl.as_secs()
    );
    HeaderValue::from_str(&value).expect("a JWT is a valid header value")
}

/// `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .expect("static cookie is a valid header value")
}

/// The session cookie's value, if the request has one.
pub fn read_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}
