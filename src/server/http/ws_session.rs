//! `WsSession`: the WebSocket edge of one connection, from `presence.state`
//! to close. It owns the socket, selects over the client's frames, the
//! room's and the user's events, the typing timer, pings and shutdown, and
//! hands each to the rule book's [`Session`], which decides everything and
//! writes frames back through [`FrameSink`]. Slow consumers are handled by
//! the socket's bounded write buffer and send timeout (`ws_socket`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};

use super::ws_socket::{ClientSocket, ReadLimits, Stop};
use super::ws_wire::Io;
use crate::protocol::{ChannelId, Rev, Seq, ServerFrame, UserId};
use crate::server::chat::session::{End, FrameSink, Session, CLOSE_GOING_AWAY};
use crate::server::metrics::Metrics;
use crate::server::state::AppState;

/// How long to wait for the client's Close reply after we sent ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

impl From<Stop> for End {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Gone => End::Gone,
            Stop::Close(code, reason) => End::Close(code, reason),
        }
    }
}

impl FrameSink for ClientSocket {
    async fn frame(&mut self, frame: &ServerFrame) -> Result<(), End> {
        Ok(self.send_frame(frame).await?)
    }

    async fn error(&mut self, frame: ServerFrame) -> Result<(), End> {
        Ok(self.send_error(frame).await?)
    }

    async fn shared(&mut self, json: Utf8Bytes) -> Result<(), End> {
        Ok(self.send_json(json).await?)
    }
}

/// One accepted connection of a member.
pub struct WsSession {
    state: AppState,
    session: Session,
    /// The channel's newest seq and rev read before joining its room.
    heads: (Seq, Rev),
}

impl WsSession {
    /// A connection for an authenticated member; `head_seq` is the
    /// channel's newest seq read before the session joins its room; with
    /// `after_seq` (the URL's `?afterSeq=`) the messages after it come
    /// first.
    pub fn new(
        state: AppState,
        user_id: UserId,
        channel_id: ChannelId,
        heads: (Seq, Rev),
        after: (Option<Seq>, Option<Rev>),
    ) -> Self {
        let session = Session::open(
            state.chat.clone(),
            user_id,
            channel_id,
            heads,
            after,
            state.shutdown.clone(),
        );
        WsSession {
            state,
            session,
            heads,
        }
    }

    /// Runs the connection to its end.
    ///
    /// The steps that read storage or handle a client frame, a send's
    /// outcome or a room event are boxed where they are awaited: an idle
    /// connection's task then holds the loop's own state, not the largest
    /// of those futures.
    pub async fn run(self, io: Io) {
        let WsSession {
            state,
            mut session,
            heads,
        } = self;
        let limits = &state.settings.limits;
        let (mut socket, mut incoming) = ClientSocket::new(
            io,
            ReadLimits {
                read_buffer: limits.ws_read_buffer,
                hard_max: limits.ws_hard_max_bytes,
            },
            limits.ws_write_buffer,
            limits.ws_send_timeout,
            state.chat.metrics.clone(),
        )
        .await;
        let _counted = ConnectionCounted::new(state.chat.metrics.clone());
        // The head was read (with membership) before subscribing: a message
        // committed in between shows up as a gap and is read from storage.
        let chat = state.chat.clone();
        let (user_id, channel_id) = (session.user_id(), session.channel_id());
        let (guard, room_events, roster) = chat.rooms.join(channel_id, user_id);
        let user_events = chat.users.subscribe(user_id, channel_id);
        let shutdown = state.shutdown.clone();
        let ping_every = limits.ws_ping_interval;
        let mut pings = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();

        // The oldest heads a connection of the room is known to hold: the
        // follower's sweep of a room that has published nothing yet
        // delivers what came after them (a missed or not yet heard
        // wake-up), instead of taking the stored heads as published.
        guard.room.note_joined_at(heads.0, heads.1);
        let published = (guard.room.published_head(), guard.room.published_rev());
        let greeted = Box::pin(session.greet(roster, published, &mut socket)).await;
        let end = if let Err(end) = greeted {
            end
        } else {
            // The waits on shutdown and on the two event rings are made
            // once and kept across the loop's passes (each is made again
            // only once it has fired): a wait made anew on every pass
            // joined and left a lock-guarded list of waiters each time,
            // twice per delivered frame, the shutdown one shared by every
            // connection of the server.
            let shutting_down = shutdown.cancelled();
            tokio::pin!(shutting_down);
            let mut room_next = Box::pin(next_event(room_events));
            let mut user_next = Box::pin(next_event(user_events));
            loop {
                let typing_deadline = session.typing_deadline();
                let step = tokio::select! {
                    biased;
                    _ = &mut shutting_down => Err(End::Close(CLOSE_GOING_AWAY, "server shutting down")),
                    Some(done) = session.next_send_done(), if session.has_pending() => {
                        Box::pin(session.on_send_done(done, &mut socket)).await
                    }
                    frame = incoming.next(), if session.accepts_frames() => match frame {
                        None | Some(Err(_)) => Err(End::Gone),
                        Some(Ok(frame)) => {
                            last_heard = Instant::now();
                            match frame {
                                WsMessage::Text(text) => Box::pin(session.on_text(text.as_str(), &mut socket)).await,
                                WsMessage::Binary(_) => Box::pin(session.on_binary(&mut socket)).await,
                                // tungstenite answers pings itself and queues
                                // the reply to a Close; we read on until the
                                // stream ends.
                                WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) | WsMessage::Frame(_) => Ok(()),
                            }
                        }
                    },
                    (event, receiver) = &mut room_next => {
                        room_next.set(next_event(receiver));
                        match event {
                            Ok(event) => Box::pin(session.on_room_event(&event, &mut socket)).await,
                            Err(RecvError::Lagged(missed)) => {
                                tracing::debug!(missed, "room receiver lagged; catching up from storage");
                                Box::pin(session.on_room_lagged(|| guard.room.online_users(), &mut socket)).await
                            }
                            Err(RecvError::Closed) => Err(End::Gone),
                        }
                    },
                    (event, receiver) = &mut user_next => {
                        user_next.set(next_event(receiver));
                        match event {
                            Ok(event) => session.on_user_event(&event, &mut socket).await,
                            Err(RecvError::Lagged(_) | RecvError::Closed) => Ok(()),
                        }
                    },
                    _ = sleep_until_opt(typing_deadline), if typing_deadline.is_some() => {
                        session.on_typing_deadline();
                        Ok(())
                    }
                    // Nothing else is ready: write what the steps above queued.
                    flushed = socket.flush_when_queued() => flushed.map_err(End::from),
                    _ = pings.tick() => {
                        if last_heard.elapsed() > ping_every * 2 {
                            tracing::debug!("client silent for two ping intervals; dropping it");
                            Err(End::Close(CLOSE_GOING_AWAY, "no response to ping"))
                        } else {
                            match Box::pin(session.recheck_membership(&mut socket)).await {
                                Ok(()) => socket.ping().await.map_err(End::from),
                                Err(end) => Err(end),
                            }
                        }
                    }
                };
                if let Err(end) = step {
                    break end;
                }
            }
        };

        session.leave();
        match end {
            End::Close(code, reason) => {
                if socket.close(code, reason).await.is_ok() {
                    // Read until the peer answers our Close (or give up).
                    let _ = tokio::time::timeout(CLOSE_GRACE, async {
                        while let Some(Ok(_)) = incoming.next().await {}
                    })
                    .await;
                }
            }
            // The answer to the client's Close, if it sent one.
            End::Gone => socket.finish(CLOSE_GRACE).await,
        }
        chat.users.release(user_id, channel_id);
        drop(guard);
    }
}

/// The next event of a ring, with the receiver back for the wait after it
/// (the wait owns its receiver, so it can live across the loop's passes).
async fn next_event<T: Clone>(
    mut receiver: broadcast::Receiver<T>,
) -> (Result<T, RecvError>, broadcast::Receiver<T>) {
    let event = receiver.recv().await;
    (event, receiver)
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Counts an open connection in `/metrics` for as long as it lives.
struct ConnectionCounted(Arc<Metrics>);

impl ConnectionCounted {
    fn new(metrics: Arc<Metrics>) -> Self {
        metrics.connections.inc();
        ConnectionCounted(metrics)
    }
}

impl Drop for ConnectionCounted {
    fn drop(&mut self) {
        self.0.connections.dec();
    }
}
