//! A WebSocket echo server built on the chat's own WebSocket stack: the
//! handshake checks of `ws_upgrade`, tungstenite reading with the chat's
//! limits, and the chat's frame writer (`ws_wire`, through `ClientSocket`).
//! The chat's endpoint is not an echo server (it greets with
//! `presence.state` and answers frames with events), so the Autobahn echo
//! cases run against this instead; `scripts/autobahn.sh` compares their
//! verdicts with `tests/autobahn/echo-expected.txt`.
//!
//!     cargo run --features ssr --example ws_echo -- 127.0.0.1:9001

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::Message;

use chat::server::http::ws_socket::{ClientSocket, ReadLimits};
use chat::server::http::ws_upgrade;
use chat::server::metrics::Metrics;

/// Autobahn's largest messages are 16 MiB.
const MAX_MESSAGE: usize = 20 * 1024 * 1024;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("ws_echo listening on {}", listener.local_addr()?);
    axum::serve(listener, Router::new().fallback(echo)).await
}

/// Upgrades any path and echoes every text and binary message.
async fn echo(mut req: Request) -> Response {
    let accept = match ws_upgrade::check(req.method(), req.version(), req.headers()) {
        Ok(accept) => accept,
        Err(refused) => return refused.into_response(),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let limits = ReadLimits {
            read_buffer: 4096,
            hard_max: MAX_MESSAGE,
        };
        let (mut socket, mut incoming) = ClientSocket::new(
            TokioIo::new(upgraded),
            limits,
            16 * 1024,
            Duration::from_secs(10),
            Arc::new(Metrics::new()),
        )
        .await;
        loop {
            tokio::select! {
                message = incoming.next() => {
                    let sent = match message {
                        Some(Ok(Message::Text(text))) => socket.send_json(text).await,
                        Some(Ok(Message::Binary(bytes))) => socket.send_binary(bytes).await,
                        // Pings, pongs and the closing handshake are
                        // tungstenite's (its replies go out through the
                        // writer).
                        Some(Ok(_)) => Ok(()),
                        Some(Err(_)) | None => break,
                    };
                    if sent.is_err() {
                        break;
                    }
                }
                flushed = socket.flush_when_queued() => {
                    if flushed.is_err() {
                        break;
                    }
                }
            }
        }
        socket.finish(Duration::from_secs(2)).await;
    });
    ws_upgrade::switching_protocols(accept)
}
