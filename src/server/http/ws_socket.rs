//! `ClientSocket`: a client's WebSocket with the server's sending rule.
//! Every frame must be taken within the slow-consumer cap
//! (`limits.ws_send_timeout`): a client that stops reading fills the
//! kernel's buffers, its next frame waits, and at the cap the connection
//! ends. Nothing is queued per connection beyond the socket (rooms keep one
//! shared ring of events; a connection that falls behind it reads from
//! storage), so a stalled client costs bounded memory and slows nobody.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};

use crate::protocol::{ErrorCode, ServerFrame};
use crate::server::metrics::Metrics;
use crate::server::rooms::room::frame_json;

/// Why a connection's loop stopped.
pub enum Stop {
    /// The peer closed, the socket failed, or the peer stopped reading.
    Gone,
    /// We close with this code and reason.
    Close(u16, &'static str),
}

/// A connected client's socket.
pub struct ClientSocket {
    ws: WebSocket,
    send_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl ClientSocket {
    /// Wraps an upgraded socket.
    pub fn new(ws: WebSocket, send_timeout: Duration, metrics: Arc<Metrics>) -> Self {
        ClientSocket {
            ws,
            send_timeout,
            metrics,
        }
    }

    /// The next frame from the client.
    pub async fn recv(&mut self) -> Option<Result<WsMessage, axum::Error>> {
        self.ws.recv().await
    }

    /// Sends one frame, or gives up on the client at the cap.
    async fn send(&mut self, message: WsMessage) -> Result<(), Stop> {
        match tokio::time::timeout(self.send_timeout, self.ws.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Stop::Gone),
            Err(_) => {
                self.metrics.slow_consumers_closed.inc();
                tracing::info!(
                    cap_ms = self.send_timeout.as_millis() as u64,
                    "client took no frame within the slow-consumer cap; closing"
                );
                Err(Stop::Gone)
            }
        }
    }

    /// Sends serialised JSON (room events are serialised once for all).
    pub async fn send_json(&mut self, json: Utf8Bytes) -> Result<(), Stop> {
        self.send(WsMessage::Text(json)).await
    }

    /// Serialises and sends a frame.
    pub async fn send_frame(&mut self, frame: &ServerFrame) -> Result<(), Stop> {
        self.send_json(frame_json(frame)).await
    }

    /// Sends an error frame and counts it (by code; rate-limit refusals
    /// also in `rate_limited`).
    pub async fn send_error(&mut self, frame: ServerFrame) -> Result<(), Stop> {
        if let ServerFrame::Error { code, .. } = &frame {
            self.metrics.error(*code);
            if *code == ErrorCode::RateLimited {
                self.metrics.rate_limited.inc();
            }
        }
        self.send_frame(&frame).await
    }

    /// A keep-alive ping.
    pub async fn ping(&mut self) -> Result<(), Stop> {
        self.send(WsMessage::Ping(Default::default())).await
    }

    /// Sends our Close frame.
    pub async fn close(&mut self, code: u16, reason: &'static str) -> Result<(), axum::Error> {
        self.ws
            .send(WsMessage::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            })))
            .await
    }
}
