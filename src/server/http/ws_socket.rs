//! `ClientSocket`: a client's WebSocket with the server's sending rule.
//! Every frame must be taken within the slow-consumer cap
//! (`limits.ws_send_timeout`): a client that stops reading fills the
//! kernel's buffers, its next frame waits, and at the cap the connection
//! ends. Nothing is queued per connection beyond the socket (rooms keep one
//! shared ring of events; a connection that falls behind it reads from
//! storage), so a stalled client costs bounded memory and slows nobody.
//!
//! Frames are queued (each a header and the event's shared bytes, see
//! `ws_wire`) and written together when the connection's task has nothing
//! else ready (`flush`): a burst of room events costs one `send(2)`, not
//! one per frame.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::WebSocketStream;

use super::ws_wire::{self, FrameWriter, Io, OpCode, ReadSide};
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

/// The frames a client sends us (tungstenite reading the socket).
pub type Incoming = WebSocketStream<ReadSide>;

/// How the client's frames are read.
pub struct ReadLimits {
    /// tungstenite's read buffer.
    pub read_buffer: usize,
    /// The largest frame or message accepted at all.
    pub hard_max: usize,
}

/// A connected client's socket (its writing half).
pub struct ClientSocket {
    writer: FrameWriter,
    /// Queued bytes that make a send write at once instead of at the next
    /// flush.
    write_buffer: usize,
    send_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl ClientSocket {
    /// Splits an upgraded connection into our writing half and the
    /// client's frames.
    pub async fn new(
        io: Io,
        limits: ReadLimits,
        write_buffer: usize,
        send_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> (Self, Incoming) {
        let (read_side, writer) = ws_wire::split(io);
        let config = WebSocketConfig::default()
            .read_buffer_size(limits.read_buffer)
            // Replies (Pong, Close) go straight to `ws_wire`'s buffer.
            .write_buffer_size(0)
            .max_message_size(Some(limits.hard_max))
            .max_frame_size(Some(limits.hard_max));
        let incoming =
            WebSocketStream::from_raw_socket(read_side, Role::Server, Some(config)).await;
        let socket = ClientSocket {
            writer,
            write_buffer,
            send_timeout,
            metrics,
        };
        (socket, incoming)
    }

    /// Queues one frame (written at the next flush, or at once when the
    /// queue holds more than the write buffer), or gives up on the client
    /// at the cap.
    async fn send(&mut self, opcode: OpCode, body: Bytes) -> Result<(), Stop> {
        self.writer.queue(opcode, body);
        if self.writer.queued_bytes() <= self.write_buffer {
            return Ok(());
        }
        self.flush().await
    }

    /// Waits until frames (or tungstenite's replies) wait to be written,
    /// then writes them. For the connection's `select!`: it is polled on
    /// every pass, so a reply tungstenite queued while the same pass read
    /// a Ping is written in that pass (the reading half also wakes the
    /// task, in case the pass had already passed this branch).
    pub async fn flush_when_queued(&mut self) -> Result<(), Stop> {
        // By `&mut` (which is `Send`): the socket is not `Sync`.
        let writer = &mut self.writer;
        std::future::poll_fn(move |_| {
            if writer.has_queued() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        self.flush().await
    }

    /// Writes every queued frame, or gives up on the client at the cap.
    pub async fn flush(&mut self) -> Result<(), Stop> {
        let written = tokio::time::timeout(self.send_timeout, self.writer.write_queued()).await;
        match written {
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
        self.send(OpCode::Text, Bytes::from(json)).await
    }

    /// Sends a binary frame. The chat sends only text; the conformance echo
    /// server (`examples/ws_echo.rs`) answers binary with binary.
    pub async fn send_binary(&mut self, body: Bytes) -> Result<(), Stop> {
        self.send(OpCode::Binary, body).await
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
        self.send(OpCode::Ping, Bytes::new()).await
    }

    /// Sends our Close frame (after anything still queued).
    pub async fn close(&mut self, code: u16, reason: &'static str) -> Result<(), Stop> {
        let mut body = Vec::with_capacity(2 + reason.len());
        body.extend_from_slice(&code.to_be_bytes());
        body.extend_from_slice(reason.as_bytes());
        self.writer.queue(OpCode::Close, Bytes::from(body));
        self.flush().await
    }

    /// After the client closed or failed: drops the frames it will never
    /// read and sends tungstenite's answer to its Close, if one waits,
    /// within `grace`.
    pub async fn finish(&mut self, grace: Duration) {
        self.writer.discard_queued();
        if self.writer.has_queued() {
            let _ = tokio::time::timeout(grace, self.writer.write_queued()).await;
        }
    }
}
