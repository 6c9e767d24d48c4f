//! `Server-Timing` on the JSON API's responses: how long the server spent on
//! the request, from routing to a ready response (`app;dur=<ms>`). It lets
//! the load generator (and a browser's network panel) tell server time from
//! network and client time, which a round trip cannot.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tokio::time::Instant;

/// Adds `Server-Timing: app;dur=<milliseconds>` to the response.
pub async fn server_timing(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut res = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={ms:.3}")) {
        res.headers_mut().insert("server-timing", value);
    }
    res
}
