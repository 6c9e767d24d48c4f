//! The WebSocket opening handshake (RFC 6455 §4.2), server side: checks a
//! request's upgrade headers and answers `101 Switching Protocols`. Done
//! here rather than by axum's `WebSocketUpgrade` because the connection
//! must come out as bytes (see `ws_wire`), not as a finished socket.

use axum::response::{IntoResponse, Response};
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Why a request cannot be upgraded, answered before anything else runs.
#[derive(Debug, PartialEq, Eq)]
pub enum UpgradeRefused {
    /// Not `GET` over HTTP/1.1 with `Connection: upgrade` and
    /// `Upgrade: websocket`.
    NotAnUpgrade,
    /// `Sec-WebSocket-Version` is not 13.
    WrongVersion,
    /// No `Sec-WebSocket-Key`.
    NoKey,
}

impl IntoResponse for UpgradeRefused {
    fn into_response(self) -> Response {
        match self {
            UpgradeRefused::NotAnUpgrade => (
                StatusCode::UPGRADE_REQUIRED,
                [(http::header::UPGRADE, "websocket")],
                "this route takes a WebSocket upgrade",
            )
                .into_response(),
            UpgradeRefused::WrongVersion => (
                StatusCode::BAD_REQUEST,
                [(SEC_WEBSOCKET_VERSION, "13")],
                "Sec-WebSocket-Version must be 13",
            )
                .into_response(),
            UpgradeRefused::NoKey => {
                (StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key").into_response()
            }
        }
    }
}

/// Whether a comma-separated header holds `token` (case-insensitive).
fn header_has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Checks the handshake; returns the `Sec-WebSocket-Accept` value.
pub fn check(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
) -> Result<HeaderValue, UpgradeRefused> {
    if method != Method::GET
        || version != Version::HTTP_11
        || !header_has_token(headers, CONNECTION, "upgrade")
        || !header_has_token(headers, http::header::UPGRADE, "websocket")
    {
        return Err(UpgradeRefused::NotAnUpgrade);
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(UpgradeRefused::WrongVersion);
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .ok_or(UpgradeRefused::NoKey)?;
    HeaderValue::from_str(&derive_accept_key(key.as_bytes())).map_err(|_| UpgradeRefused::NoKey)
}

/// The `101 Switching Protocols` answer.
pub fn switching_protocols(accept: HeaderValue) -> Response {
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    const GOOD: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    /// The worked example of RFC 6455 §1.3.
    #[test]
    fn accepts_the_rfc_example() {
        let accept = check(&Method::GET, Version::HTTP_11, &handshake(GOOD)).unwrap();
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn refuses_what_is_not_a_websocket_handshake() {
        let h = handshake(GOOD);
        assert_eq!(
            check(&Method::POST, Version::HTTP_11, &h),
            Err(UpgradeRefused::NotAnUpgrade)
        );
        assert_eq!(
            check(&Method::GET, Version::HTTP_10, &h),
            Err(UpgradeRefused::NotAnUpgrade)
        );
        let no_upgrade = handshake(&GOOD[1..]);
        assert_eq!(
            check(&Method::GET, Version::HTTP_11, &no_upgrade),
            Err(UpgradeRefused::NotAnUpgrade)
        );
        let old = handshake(&[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert_eq!(
            check(&Method::GET, Version::HTTP_11, &old),
            Err(UpgradeRefused::WrongVersion)
        );
        let keyless = handshake(&GOOD[..3]);
        assert_eq!(
            check(&Method::GET, Version::HTTP_11, &keyless),
            Err(UpgradeRefused::NoKey)
        );
    }
}
