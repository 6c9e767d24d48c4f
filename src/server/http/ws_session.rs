//! `WsSession`: one WebSocket connection, from `presence.state` to close.
//!
//! One task per connection selects over the socket, the room's events, the
//! user's events, the typing deadline and shutdown. Messages are delivered
//! strictly by `seq`: anything at or below the last sent seq is skipped, and
//! a gap (a lagging receiver, or a message committed while joining) is
//! filled from storage first, so a connection never skips, repeats or
//! reorders a message.

use crate::protocol::{ChannelId, ClientId, Seq, UserId};
use crate::server::bus::BusEvent;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::FuturesOrdered;
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};

use crate::protocol::ws::FrameDecodeError;
use crate::protocol::{AppError, ClientFrame, ErrorCode, ServerFrame};
use crate::server::chat::SendError;
use crate::server::metrics::Metrics;
use crate::server::rooms::RoomEvent;
use crate::server::state::AppState;
use crate::server::store::{HistoryCursor, InsertOutcome};

use super::ws_socket::{ClientSocket, ReadLimits, Stop};
use super::ws_wire::Io;

/// How long to wait for the client's Close reply after we sent ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Messages read from storage per page while catching up or resuming.
const CATCH_UP_PAGE: u32 = 500;

/// Shortest gap between two `typing.start` announcements of a connection. A
/// start that comes sooner is deferred to the end of the gap, not dropped.
const TYPING_MIN_GAP: Duration = Duration::from_millis(500);

/// Close code: going away (server shutdown).
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: policy violation (repeated bad frames).
const CLOSE_POLICY: u16 = 1008;

/// State of one connection.
pub struct WsSession {
    state: AppState,
    user_id: UserId,
    channel_id: ChannelId,
    /// Highest message seq sent on this connection (or the channel head at
    /// join: older messages come from history or `resume`).
    last_seq: Seq,
    /// Bad frames in a row.
    bad_frames: u32,
    /// Whether this connection's user is typing, and until when.
    typing: Typing,
    /// When the client last sent anything (a pong included).
    last_heard: Instant,
    /// When this connection last announced a typing start (throttles
    /// typing floods).
    last_typing_start: Option<Instant>,
    /// Sends queued for storing, oldest first; each yields its clientId and
    /// outcome once its batch commits.
    pending: FuturesOrdered<PendingOutcome>,
    /// At most this many sends pending (`limits.ws_pending_sends`).
    max_pending: usize,
}

/// A pipelined send's clientId and outcome.
type PendingOutcome =
    Pin<Box<dyn Future<Output = (ClientId, Result<InsertOutcome, SendError>)> + Send + Sync>>;

impl WsSession {
    /// A session for an authenticated member; `head_seq` is the channel's
    /// newest seq read before the session joins its room. With `after_seq`
    /// (the URL's `?afterSeq=`), the messages after it are sent first, in
    /// order, before anything live.
    pub fn new(
        state: AppState,
        user_id: UserId,
        channel_id: ChannelId,
        head_seq: Seq,
        after_seq: Option<Seq>,
    ) -> Self {
        let start = after_seq.map_or(head_seq, |a| a.clamp(Seq::ZERO, head_seq));
        WsSession {
            max_pending: state.settings.limits.ws_pending_sends,
            state,
            user_id,
            channel_id,
            last_seq: start,
            bad_frames: 0,
            typing: Typing::Idle,
            last_heard: Instant::now(),
            last_typing_start: None,
            pending: FuturesOrdered::new(),
        }
    }

    /// Runs the connection to its end.
    ///
    /// The steps that read storage or handle a client frame, a send's
    /// outcome or a room event (catch-up, resume, the membership check) are
    /// boxed where they are awaited: an idle connection's task then holds
    /// the loop's own state, not the largest of those futures. The task
    /// measured 2,904 bytes before the last two were boxed, 2,576 after.
    pub async fn run(mut self, io: Io) {
        let limits = &self.state.settings.limits;
        let (mut socket, mut incoming) = ClientSocket::new(
            io,
            ReadLimits {
                read_buffer: limits.ws_read_buffer,
                hard_max: limits.ws_hard_max_bytes,
            },
            limits.ws_write_buffer,
            limits.ws_send_timeout,
            self.state.chat.metrics.clone(),
        )
        .await;
        let _counted = ConnectionCounted::new(self.state.chat.metrics.clone());
        // The head was read (with membership) before subscribing: a message
        // committed in between shows up as a gap and is read from storage.
        let chat = self.state.chat.clone();
        let (guard, mut room_events, roster) = chat.rooms.join(self.channel_id, self.user_id);
        let mut user_events = chat.users.subscribe(self.user_id, self.channel_id);
        let shutdown = self.state.shutdown.clone();
        let ping_every = self.state.settings.limits.ws_ping_interval;
        let mut pings = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        let greeted = match socket
            .send_frame(&ServerFrame::PresenceState { user_ids: roster })
            .await
        {
            // A message committed between reading the head and subscribing
            // is in storage but not in this connection's ring: send it now,
            // not at the next message. Nothing to read when the room has
            // published nothing newer than the head: one committed but not
            // yet published comes through the ring. (A room that has
            // published nothing at all may have missed commits made while
            // it did not exist, so it reads.)
            Ok(()) if caught_up(guard.room.published_head(), self.last_seq) => Ok(()),
            Ok(()) => Box::pin(self.catch_up(&mut socket, None)).await,
            Err(stop) => Err(stop),
        };
        let stop = if let Err(stop) = greeted {
            stop
        } else {
            loop {
                let typing_deadline = self.typing.deadline();
                let step = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => Err(Stop::Close(CLOSE_GOING_AWAY, "server shutting down")),
                    Some((client_id, outcome)) = self.pending.next(), if !self.pending.is_empty() => {
                        Box::pin(self.on_send_outcome(&mut socket, client_id, outcome)).await
                    }
                    // At the pending-send cap the client's frames wait unread.
                    frame = incoming.next(), if self.pending.len() < self.max_pending => match frame {
                        None | Some(Err(_)) => Err(Stop::Gone),
                        Some(Ok(frame)) => {
                            self.last_heard = Instant::now();
                            Box::pin(self.on_frame(&mut socket, frame)).await
                        }
                    },
                    event = room_events.recv() => match event {
                        Ok(event) => Box::pin(self.on_room_event(&mut socket, &event)).await,
                        Err(RecvError::Lagged(missed)) => {
                            // Messages come back from storage; presence
                            // events in the lost window are replaced by the
                            // current roster.
                            tracing::debug!(missed, "room receiver lagged; catching up from storage");
                            match Box::pin(self.catch_up(&mut socket, None)).await {
                                Ok(()) => {
                                    let roster = guard.room.online_users();
                                    socket.send_frame(&ServerFrame::PresenceState { user_ids: roster }).await
                                }
                                Err(stop) => Err(stop),
                            }
                        }
                        Err(RecvError::Closed) => Err(Stop::Gone),
                    },
                    event = user_events.recv() => match event {
                        Ok(e) if e.is_activity && e.channel_id == self.channel_id => Ok(()),
                        Ok(e) => socket.send_json(e.json.clone()).await,
                        Err(RecvError::Lagged(_)) => Ok(()),
                        Err(RecvError::Closed) => Ok(()),
                    },
                    _ = sleep_until_opt(typing_deadline), if typing_deadline.is_some() => {
                        self.on_typing_deadline();
                        Ok(())
                    }
                    // Nothing else is ready: write what the steps above queued.
                    flushed = socket.flush_when_queued() => flushed,
                    _ = pings.tick() => {
                        if self.last_heard.elapsed() > ping_every * 2 {
                            tracing::debug!("client silent for two ping intervals; dropping it");
                            Err(Stop::Close(CLOSE_GOING_AWAY, "no response to ping"))
                        } else if let Err(stop) = Box::pin(self.still_member(&mut socket)).await {
                            Err(stop)
                        } else {
                            socket.ping().await
                        }
                    }
                };
                if let Err(stop) = step {
                    break stop;
                }
            }
        };

        self.set_typing(false);
        match stop {
            Stop::Close(code, reason) => {
                if socket.close(code, reason).await.is_ok() {
                    // Read until the peer answers our Close (or give up).
                    let _ = tokio::time::timeout(CLOSE_GRACE, async {
                        while let Some(Ok(_)) = incoming.next().await {}
                    })
                    .await;
                }
            }
            // The answer to the client's Close, if it sent one.
            Stop::Gone => socket.finish(CLOSE_GRACE).await,
        }
        drop(user_events);
        chat.users.release(self.user_id, self.channel_id);
        drop(guard);
    }

    /// Handles one frame from the client.
    async fn on_frame(&mut self, socket: &mut ClientSocket, frame: WsMessage) -> Result<(), Stop> {
        match frame {
            WsMessage::Text(text) => self.on_text(socket, text).await,
            WsMessage::Binary(_) => {
                self.bad_frame(
                    socket,
                    ErrorCode::ParseError,
                    "binary frames are not supported; send JSON text".into(),
                )
                .await
            }
            // tungstenite answers pings itself and queues the reply to a
            // Close (sent by the writer); we keep reading until the stream
            // ends. Raw frames are never returned by a read.
            WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) | WsMessage::Frame(_) => {
                Ok(())
            }
        }
    }

    async fn on_text(&mut self, socket: &mut ClientSocket, text: Utf8Bytes) -> Result<(), Stop> {
        let max = self.state.settings.limits.max_frame_bytes;
        if text.len() > max {
            let msg = format!("frame is {} bytes; the limit is {max}", text.len());
            return self.bad_frame(socket, ErrorCode::MessageTooLong, msg).await;
        }
        let frame = match ClientFrame::decode(text.as_str()) {
            Ok(frame) => frame,
            Err(FrameDecodeError::Parse(msg)) => {
                return self.bad_frame(socket, ErrorCode::ParseError, msg).await
            }
            Err(FrameDecodeError::UnknownType(kind)) => {
                let msg = format!("unknown frame type {kind:?}");
                return self.bad_frame(socket, ErrorCode::UnknownType, msg).await;
            }
        };
        self.bad_frames = 0;
        match frame {
            ClientFrame::MessageSend { text, client_id } => {
                self.set_typing(false);
                let chat = self.state.chat.clone();
                match chat
                    .submit(self.user_id, self.channel_id, &text, client_id.clone())
                    .await
                {
                    // Queued in order; the outcome is handled when its
                    // batch commits, while this connection reads on.
                    Ok(pending) => {
                        self.pending.push_back(Box::pin(async move {
                            (client_id, pending.outcome().await)
                        }));
                        Ok(())
                    }
                    Err(e) => socket.send_error(send_error_frame(&e, client_id)).await,
                }
            }
            ClientFrame::TypingStart => {
                self.typing_started();
                Ok(())
            }
            ClientFrame::TypingStop => {
                self.set_typing(false);
                Ok(())
            }
            ClientFrame::PresencePing => Ok(()),
            ClientFrame::Resume { after_seq } => {
                let chat = self.state.chat.clone();
                if let Err(retry_after_ms) = chat.limiter.check(&(self.user_id, self.channel_id)) {
                    let frame = ServerFrame::Error {
                        code: ErrorCode::RateLimited,
                        message: format!("too many requests; retry in {retry_after_ms} ms"),
                        retry_after_ms: Some(retry_after_ms),
                        client_id: None,
                    };
                    return socket.send_error(frame).await;
                }
                Box::pin(self.still_member(socket)).await?;
                self.state.chat.metrics.resumes.inc();
                Box::pin(self.resume(socket, after_seq.max(Seq::ZERO))).await
            }
            ClientFrame::Read { seq } => {
                let chat = self.state.chat.clone();
                match chat.mark_read(self.user_id, self.channel_id, seq).await {
                    Ok(_) => Ok(()),
                    Err(AppError::Forbidden(m)) | Err(AppError::NotFound(m)) => {
                        socket
                            .send_error(ServerFrame::error(ErrorCode::Forbidden, m))
                            .await
                    }
                    Err(AppError::BadRequest(m)) => {
                        socket
                            .send_error(ServerFrame::error(ErrorCode::ParseError, m))
                            .await
                    }
                    Err(_) => {
                        let frame = ServerFrame::error(
                            ErrorCode::PersistFailed,
                            "the read cursor was not stored; retry",
                        );
                        socket.send_error(frame).await
                    }
                }
            }
        }
    }

    /// A pipelined send was committed (or failed).
    async fn on_send_outcome(
        &mut self,
        socket: &mut ClientSocket,
        client_id: ClientId,
        outcome: Result<InsertOutcome, SendError>,
    ) -> Result<(), Stop> {
        match outcome {
            // The room delivers a new message to this connection too, in order.
            Ok(InsertOutcome::Stored(_)) => Ok(()),
            Ok(InsertOutcome::Duplicate(original)) if original.seq > self.last_seq => {
                // Not yet sent here (its room copy may still be queued):
                // send it in order, once.
                Box::pin(self.catch_up(socket, Some(original.seq))).await
            }
            // Already sent here or before this connection: the original
            // again, as the answer to this send (the contract's idempotency
            // rule; the client knows it by seq and clientId).
            Ok(InsertOutcome::Duplicate(original)) => {
                socket
                    .send_frame(&ServerFrame::message_new(&original))
                    .await
            }
            Err(e) => socket.send_error(send_error_frame(&e, client_id)).await,
        }
    }

    /// Answers a bad frame with an error and closes after too many in a row.
    async fn bad_frame(
        &mut self,
        socket: &mut ClientSocket,
        code: ErrorCode,
        message: String,
    ) -> Result<(), Stop> {
        self.bad_frames += 1;
        socket.send_error(ServerFrame::error(code, message)).await?;
        if self.bad_frames >= self.state.settings.limits.max_bad_frames {
            return Err(Stop::Close(CLOSE_POLICY, "too many bad frames"));
        }
        Ok(())
    }

    async fn on_room_event(
        &mut self,
        socket: &mut ClientSocket,
        event: &RoomEvent,
    ) -> Result<(), Stop> {
        match event {
            RoomEvent::Message { seq, json } => {
                let seq = *seq;
                if seq <= self.last_seq {
                    return Ok(());
                }
                if seq > self.last_seq.next() {
                    Box::pin(self.catch_up(socket, Some(seq.prev()))).await?;
                }
                socket.send_json(json.clone()).await?;
                self.last_seq = seq;
                Ok(())
            }
            RoomEvent::Revoked { user_id } => {
                if user_id.is_none_or(|u| u == self.user_id) {
                    return Err(self
                        .refuse(socket, "your access to this channel was revoked".into())
                        .await);
                }
                Ok(())
            }
            RoomEvent::Typing { user_id, json } => {
                if *user_id == self.user_id {
                    Ok(())
                } else {
                    socket.send_json(json.clone()).await
                }
            }
            RoomEvent::Presence { updates } => {
                for (user_id, json) in updates {
                    if *user_id != self.user_id {
                        socket.send_json(json.clone()).await?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Sends stored messages after `last_seq` (up to `until`, or the head).
    async fn catch_up(
        &mut self,
        socket: &mut ClientSocket,
        until: Option<Seq>,
    ) -> Result<(), Stop> {
        let after = self.last_seq;
        self.last_seq = self.send_stored(socket, after, until).await?;
        Ok(())
    }

    /// Sends the stored messages with `after < seq <= until` (no `until`:
    /// up to the newest) in order; returns the last seq sent, or `after`.
    async fn send_stored(
        &self,
        socket: &mut ClientSocket,
        after: Seq,
        until: Option<Seq>,
    ) -> Result<Seq, Stop> {
        let mut last = after;
        loop {
            self.check_shutdown()?;
            let page = self
                .state
                .chat
                .store
                .history(
                    self.channel_id,
                    HistoryCursor::AfterSeq(last),
                    CATCH_UP_PAGE,
                )
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "reading stored messages failed");
                    Stop::Close(1011, "storage unavailable")
                })?;
            for m in &page.messages {
                if until.is_some_and(|u| m.seq > u) {
                    return Ok(last);
                }
                socket.send_frame(&ServerFrame::message_new(m)).await?;
                last = m.seq;
            }
            if !page.has_more || page.messages.is_empty() {
                return Ok(last);
            }
        }
    }

    /// `resume`: every message after `after_seq`, then `resume.done`.
    async fn resume(&mut self, socket: &mut ClientSocket, after_seq: Seq) -> Result<(), Stop> {
        let head = self
            .state
            .chat
            .store
            .head_seq(self.channel_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "resume head read failed");
                Stop::Close(1011, "storage unavailable")
            })?;
        // A client seq past the head (a stale or foreign cursor) must not
        // hold back live messages: resume from the head at most.
        let cursor = after_seq.min(head);
        let last = self.send_stored(socket, cursor, None).await?;
        self.last_seq = self.last_seq.max(last);
        socket
            .send_frame(&ServerFrame::ResumeDone {
                head_seq: self.last_seq,
            })
            .await
    }

    /// Ends a long replay early when the server is shutting down.
    fn check_shutdown(&self) -> Result<(), Stop> {
        if self.state.shutdown.is_cancelled() {
            Err(Stop::Close(CLOSE_GOING_AWAY, "server shutting down"))
        } else {
            Ok(())
        }
    }

    /// Whether the user still has access; if not, tells them and closes
    /// (1008), so a revoked member stops receiving the channel.
    async fn still_member(&self, socket: &mut ClientSocket) -> Result<(), Stop> {
        match self
            .state
            .chat
            .require_member(self.channel_id, self.user_id)
            .await
        {
            Ok(_) => Ok(()),
            Err(AppError::Forbidden(m)) | Err(AppError::NotFound(m)) => {
                Err(self.refuse(socket, m).await)
            }
            // A storage hiccup is not a revocation.
            Err(_) => Ok(()),
        }
    }

    /// The user lost access: `FORBIDDEN`, then close with 1008.
    async fn refuse(&self, socket: &mut ClientSocket, message: String) -> Stop {
        let frame = ServerFrame::error(ErrorCode::Forbidden, message);
        let _ = socket.send_error(frame).await;
        Stop::Close(CLOSE_POLICY, "no longer a member")
    }

    /// A `typing.start`: typing until the timeout from now. At most one
    /// start per [`TYPING_MIN_GAP`] reaches the room, so alternating
    /// start/stop cannot flood it; a start that comes sooner is deferred to
    /// the end of the gap (and a stop before then cancels it). Dropping it
    /// instead would hide a whole burst of typing: clients send one start
    /// per burst, and the next burst often begins right after a send.
    fn typing_started(&mut self) {
        let now = Instant::now();
        let timeout = self.state.settings.limits.typing_timeout;
        match self.typing {
            Typing::Active { .. } => {
                self.typing = Typing::Active {
                    until: now + timeout,
                }
            }
            // Already waiting for the gap to pass.
            Typing::Deferred { .. } => {}
            Typing::Idle => match self.last_typing_start {
                Some(at) if now.duration_since(at) < TYPING_MIN_GAP => {
                    self.typing = Typing::Deferred {
                        at: at + TYPING_MIN_GAP,
                    };
                }
                _ => self.start_typing(now),
            },
        }
    }

    /// The typing timer fired: a deferred start takes effect, or typing
    /// expires.
    fn on_typing_deadline(&mut self) {
        match self.typing {
            Typing::Deferred { .. } => self.start_typing(Instant::now()),
            Typing::Active { .. } => self.set_typing(false),
            Typing::Idle => {}
        }
    }

    /// Announces typing now, until the timeout.
    fn start_typing(&mut self, now: Instant) {
        self.last_typing_start = Some(now);
        let until = now + self.state.settings.limits.typing_timeout;
        self.set_typing(true);
        self.typing = Typing::Active { until };
    }

    /// Starts or stops typing and tells the room when it changes. Stopping
    /// also cancels a deferred start.
    fn set_typing(&mut self, typing: bool) {
        let was = matches!(self.typing, Typing::Active { .. });
        if !typing {
            self.typing = Typing::Idle;
        }
        if was != typing {
            if let Some(room) = self.state.chat.rooms.get(self.channel_id) {
                room.publish(RoomEvent::typing(self.user_id, typing));
            }
            self.state.chat.bus.publish(BusEvent::Typing {
                c: self.channel_id,
                u: self.user_id,
                t: typing,
            });
        }
    }
}

/// A connection's typing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typing {
    /// Not typing.
    Idle,
    /// A `typing.start` came too soon after the last one; it takes effect
    /// at `at` unless a stop (or a send) comes first.
    Deferred { at: Instant },
    /// Typing, announced to the room, until `until` without a new start.
    Active { until: Instant },
}

impl Typing {
    /// When the typing timer fires next, if it is set.
    fn deadline(self) -> Option<Instant> {
        match self {
            Typing::Idle => None,
            Typing::Deferred { at } => Some(at),
            Typing::Active { until } => Some(until),
        }
    }
}

fn send_error_frame(e: &SendError, client_id: ClientId) -> ServerFrame {
    ServerFrame::Error {
        client_id: Some(client_id),
        code: e.code(),
        message: e.message(),
        retry_after_ms: match e {
            SendError::RateLimited { retry_after_ms } => Some(*retry_after_ms),
            _ => None,
        },
    }
}

/// Whether a joining connection that read `head` before subscribing has
/// every message its room's ring will not bring, given the room's
/// `published` head (0: the room has published nothing yet).
fn caught_up(published: Seq, head: Seq) -> bool {
    published > Seq::ZERO && published <= head
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Counts an open connection in `/metrics` for as long as it lives.
struct ConnectionCounted(std::sync::Arc<Metrics>);

impl ConnectionCounted {
    fn new(metrics: std::sync::Arc<Metrics>) -> Self {
        metrics.connections.inc();
        ConnectionCounted(metrics)
    }
}

impl Drop for ConnectionCounted {
    fn drop(&mut self) {
        self.0.connections.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::caught_up;
    use crate::protocol::Seq;

    /// A joining connection reads storage unless its room provably has
    /// published nothing past the head it read.
    #[test]
    fn a_join_reads_storage_unless_the_room_proves_it_need_not() {
        // The room has published nothing: commits may have gone unpublished.
        assert!(!caught_up(Seq::new(0), Seq::new(0)));
        assert!(!caught_up(Seq::new(0), Seq::new(7)));
        // Published up to the head: the ring brings anything newer.
        assert!(caught_up(Seq::new(7), Seq::new(7)));
        assert!(caught_up(Seq::new(5), Seq::new(7)));
        // Published past the head before the connection subscribed.
        assert!(!caught_up(Seq::new(8), Seq::new(7)));
    }
}
