//! `ClientSocket`: a client's WebSocket with the server's sending rule.
//! Every frame must be taken within the slow-consumer cap
//! (`limits.ws_send_timeout`): a client that stops reading fills the
//! kernel's buffers, its next frame waits, and at the cap the connection
//! ends. Nothing is queued per connection beyond the socket (rooms keep one
//! shared ring of events; a connection that falls behind it reads from
//! storage), so a stalled client costs bounded memory and slows nobody.
//!
//! Frames are queued into the socket's write buffer and written together
//! when the connection's task has nothing else ready (`flush`): a burst of
//! room events costs one `send(2)`, not one per frame.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};

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

/// The frames a client sends us (the socket's reading half).
pub type Incoming = SplitStream<WebSocket>;

/// A connected client's socket (its writing half).
pub struct ClientSocket {
    ws: SplitSink<WebSocket, WsMessage>,
    /// Frames queued since the last flush.
    unflushed: bool,
    send_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl ClientSocket {
    /// Splits an upgraded socket into our writing half and the client's
    /// frames.
    pub fn new(ws: WebSocket, send_timeout: Duration, metrics: Arc<Metrics>) -> (Self, Incoming) {
        let (sink, incoming) = ws.split();
        let socket = ClientSocket {
            ws: sink,
            unflushed: false,
            send_timeout,
            metrics,
        };
        (socket, incoming)
    }

    /// Queues one frame (written at the next flush, or at once when the
    /// write buffer is full), or gives up on the client at the cap.
    async fn send(&mut self, message: WsMessage) -> Result<(), Stop> {
        let queued = tokio::time::timeout(self.send_timeout, self.ws.feed(message)).await;
        self.unflushed = true;
        self.settle(queued)
    }

    /// Whether frames wait in the write buffer.
    pub fn needs_flush(&self) -> bool {
        self.unflushed
    }

    /// Writes every queued frame, or gives up on the client at the cap.
    pub async fn flush(&mut self) -> Result<(), Stop> {
        let written = tokio::time::timeout(self.send_timeout, self.ws.flush()).await;
        if matches!(written, Ok(Ok(()))) {
            self.unflushed = false;
        }
        self.settle(written)
    }

    /// The outcome of a write that had the cap to finish.
    fn settle(
        &self,
        outcome: Result<Result<(), axum::Error>, tokio::time::error::Elapsed>,
    ) -> Result<(), Stop> {
        match outcome {
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

    /// Sends our Close frame (after anything still queued).
    pub async fn close(&mut self, code: u16, reason: &'static str) -> Result<(), axum::Error> {
        self.unflushed = false;
        self.ws
            .send(WsMessage::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            })))
            .await
    }
}
