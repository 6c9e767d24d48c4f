//! `Session`: the rules of one live connection to one channel, whatever
//! carries it. The WebSocket handler (`server::http::ws_session`) only
//! reads frames, selects over the event sources and writes what a session
//! yields into a [`FrameSink`]; every decision is made here:
//!
//! - delivery strictly by `seq`: anything at or below the last sent seq is
//!   skipped, and a gap (a lagging receiver, or a message committed while
//!   joining) is filled from storage first, so a connection never skips,
//!   repeats or reorders a message ([`SeqCursor`]);
//! - `message.send` through the rule book's send path, pipelined (at most
//!   `ws_pending_sends` in flight, answered in order);
//! - typing throttle and expiry ([`TypingState`]);
//! - `resume` and the URL's `afterSeq` catch-up from storage;
//! - `read`, and the membership re-check on every ping interval;
//! - the mapping of errors to `error` frames (one `From<AppError>` for
//!   [`ServerFrame`], one for send errors), and the bad-frame limit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::FuturesOrdered;
use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use super::send::{reply_thread, SendError, SendExtras};
use super::Chat;
use crate::protocol::ws::FrameDecodeError;
use crate::protocol::{
    AppError, ChangeRequest, ChannelId, ClientFrame, ClientId, ErrorCode, MessageId, Rev, Seq,
    ServerFrame, UserId,
};
use crate::server::bus::BusEvent;
use crate::server::rooms::users::UserEvent;
use crate::server::rooms::RoomEvent;
use crate::server::store::{HistoryCursor, InsertOutcome};

/// Messages read from storage per page while catching up or resuming.
const CATCH_UP_PAGE: u32 = 500;

/// Shortest gap between two `typing.start` announcements of a connection. A
/// start that comes sooner is deferred to the end of the gap, not dropped.
pub const TYPING_MIN_GAP: Duration = Duration::from_millis(500);

/// Close code: going away (server shutdown).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: policy violation (repeated bad frames, revoked access).
pub const CLOSE_POLICY: u16 = 1008;
/// Close code: the server cannot go on (storage unreadable mid-replay).
pub const CLOSE_INTERNAL: u16 = 1011;

/// Why a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The peer went away, or the transport failed.
    Gone,
    /// Close with this code and reason.
    Close(u16, &'static str),
}

/// Where a session's frames go: the WebSocket in production, a list in the
/// rule book's tests.
pub trait FrameSink: Send {
    /// Sends a frame made for this connection.
    fn frame(&mut self, frame: &ServerFrame) -> impl Future<Output = Result<(), End>> + Send;
    /// Sends an `error` frame (counted by code).
    fn error(&mut self, frame: ServerFrame) -> impl Future<Output = Result<(), End>> + Send;
    /// Sends a frame encoded once and shared by every receiver of a room.
    fn shared(&mut self, json: Utf8Bytes) -> impl Future<Output = Result<(), End>> + Send;
}

/// How each failed call becomes an `error` frame: one mapping for every
/// frame type (the codes of PROTOCOL.md).
impl From<AppError> for ServerFrame {
    fn from(e: AppError) -> Self {
        let (code, retry_after_ms) = match &e {
            AppError::Forbidden(_) | AppError::NotFound(_) | AppError::Unauthorized(_) => {
                (ErrorCode::Forbidden, None)
            }
            AppError::BadRequest(_) => (ErrorCode::ParseError, None),
            AppError::EmptyMessage(_) => (ErrorCode::EmptyMessage, None),
            AppError::PayloadTooLarge(_) => (ErrorCode::MessageTooLong, None),
            AppError::Conflict(_) => (ErrorCode::Conflict, None),
            AppError::LimitReached(_) => (ErrorCode::LimitReached, None),
            AppError::InvalidReaction(_) => (ErrorCode::InvalidReaction, None),
            AppError::InvalidQuery(_) => (ErrorCode::InvalidQuery, None),
            AppError::InvalidAttachment(_) => (ErrorCode::InvalidAttachment, None),
            AppError::FileTooLarge(_) => (ErrorCode::FileTooLarge, None),
            AppError::UnsupportedFileType(_) => (ErrorCode::UnsupportedFileType, None),
            AppError::ImageTooLarge(_) => (ErrorCode::ImageTooLarge, None),
            AppError::RateLimited { retry_after_ms } => {
                (ErrorCode::RateLimited, Some(*retry_after_ms))
            }
            AppError::Internal(_) | AppError::Unavailable(_) | AppError::Transport(_) => {
                (ErrorCode::PersistFailed, None)
            }
        };
        let message = match &e {
            AppError::RateLimited { retry_after_ms } => {
                format!("too many requests; retry in {retry_after_ms} ms")
            }
            AppError::Internal(_) | AppError::Unavailable(_) | AppError::Transport(_) => {
                "the change was not stored; retry".into()
            }
            other => other.to_string(),
        };
        ServerFrame::Error {
            code,
            message,
            retry_after_ms,
            client_id: None,
        }
    }
}

impl SendError {
    /// The `error` frame answering the send with `client_id`.
    pub fn frame(&self, client_id: ClientId) -> ServerFrame {
        ServerFrame::Error {
            client_id: Some(client_id),
            code: self.code(),
            message: self.message(),
            retry_after_ms: match self {
                SendError::RateLimited { retry_after_ms } => Some(*retry_after_ms),
                _ => None,
            },
        }
    }
}

/// A pipelined send's clientId and outcome.
pub type SendDone = (ClientId, Result<InsertOutcome, SendError>);

type PendingOutcome = Pin<Box<dyn Future<Output = SendDone> + Send + Sync>>;

/// The seq bookkeeping of one connection: what was sent, and what a live
/// message needs before it can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqCursor {
    /// Highest message seq sent on this connection (or the channel head at
    /// join: older messages come from history or `resume`).
    pub last: Seq,
}

/// What to do with a live message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStep {
    /// Sent already (or older than the start): drop it.
    Skip,
    /// The next one: send it.
    Send,
    /// Messages are missing before it: read `(last, until]` from storage,
    /// then send it.
    FillThenSend {
        /// The seq before the live one.
        until: Seq,
    },
}

impl SeqCursor {
    /// Where a joining connection starts: the head read with membership, or
    /// the URL's `afterSeq` (clamped to `[0, head]`) to replay from.
    pub fn at_join(head: Seq, after_seq: Option<Seq>) -> Self {
        SeqCursor {
            last: after_seq.map_or(head, |a| a.clamp(Seq::ZERO, head)),
        }
    }

    /// The step for a live message with `seq`.
    pub fn live(&self, seq: Seq) -> LiveStep {
        if seq <= self.last {
            LiveStep::Skip
        } else if seq > self.last.next() {
            LiveStep::FillThenSend { until: seq.prev() }
        } else {
            LiveStep::Send
        }
    }

    /// Whether a joining connection that read `self.last` as the head has
    /// every message its room's ring will not bring, given the room's
    /// `published` head (0: the room has published nothing yet, so commits
    /// may have gone unpublished and storage must be read).
    pub fn caught_up_at_join(&self, published: Seq) -> bool {
        published > Seq::ZERO && published <= self.last
    }

    /// Where a `resume` replays from: the client's seq, but never past the
    /// head (a stale or foreign cursor must not hold back live messages).
    pub fn resume_from(after_seq: Seq, head: Seq) -> Seq {
        after_seq.max(Seq::ZERO).min(head)
    }
}

/// A connection's typing state: throttled starts and expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypingState {
    phase: Typing,
    /// When this connection last announced a typing start.
    last_start: Option<Instant>,
    /// How long typing lasts without a new start.
    timeout: Duration,
}

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

impl TypingState {
    /// Not typing; typing lasts `timeout` after each start.
    pub fn new(timeout: Duration) -> Self {
        TypingState {
            phase: Typing::Idle,
            last_start: None,
            timeout,
        }
    }

    /// Whether typing is announced now.
    pub fn is_active(&self) -> bool {
        matches!(self.phase, Typing::Active { .. })
    }

    /// When the timer fires next, if it is set.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Typing::Idle => None,
            Typing::Deferred { at } => Some(at),
            Typing::Active { until } => Some(until),
        }
    }

    /// A `typing.start` at `now`; returns `true` when typing must be
    /// announced. At most one start per [`TYPING_MIN_GAP`] is announced,
    /// so alternating start/stop cannot flood a room; a start that comes
    /// sooner is deferred to the end of the gap (and a stop before then
    /// cancels it). Dropping it instead would hide a whole burst of
    /// typing: clients send one start per burst, and the next burst often
    /// begins right after a send.
    pub fn start(&mut self, now: Instant) -> bool {
        match self.phase {
            Typing::Active { .. } => {
                self.phase = Typing::Active {
                    until: now + self.timeout,
                };
                false
            }
            // Already waiting for the gap to pass.
            Typing::Deferred { .. } => false,
            Typing::Idle => match self.last_start {
                Some(at) if now.duration_since(at) < TYPING_MIN_GAP => {
                    self.phase = Typing::Deferred {
                        at: at + TYPING_MIN_GAP,
                    };
                    false
                }
                _ => self.activate(now),
            },
        }
    }

    /// A stop (or a send, or the end of the connection); returns `true`
    /// when "stopped" must be announced. Also cancels a deferred start.
    pub fn stop(&mut self) -> bool {
        let was = self.is_active();
        self.phase = Typing::Idle;
        was
    }

    /// The timer fired at `now`: a deferred start takes effect (`Some(true)`)
    /// or typing expires (`Some(false)`).
    pub fn on_deadline(&mut self, now: Instant) -> Option<bool> {
        match self.phase {
            Typing::Deferred { .. } => self.activate(now).then_some(true),
            Typing::Active { .. } => self.stop().then_some(false),
            Typing::Idle => None,
        }
    }

    fn activate(&mut self, now: Instant) -> bool {
        self.last_start = Some(now);
        self.phase = Typing::Active {
            until: now + self.timeout,
        };
        true
    }
}

/// Checks a text frame's size and decodes it; the `error` frame for a bad
/// one.
pub fn decode_frame(text: &str, max_bytes: usize) -> Result<ClientFrame, ServerFrame> {
    if text.len() > max_bytes {
        return Err(ServerFrame::error(
            ErrorCode::MessageTooLong,
            format!("frame is {} bytes; the limit is {max_bytes}", text.len()),
        ));
    }
    ClientFrame::decode(text).map_err(|e| match e {
        FrameDecodeError::Parse(msg) => ServerFrame::error(ErrorCode::ParseError, msg),
        FrameDecodeError::UnknownType(kind) => ServerFrame::error(
            ErrorCode::UnknownType,
            format!("unknown frame type {kind:?}"),
        ),
    })
}

/// The rules of one connection. Created once the user is known to be a
/// member (the upgrade checked it with the channel's head).
pub struct Session {
    chat: Arc<Chat>,
    user_id: UserId,
    channel_id: ChannelId,
    cursor: SeqCursor,
    /// Every change with a rev up to this one, to a message this connection
    /// was sent, has been sent (the channel's head rev at join, or the
    /// URL's `afterRev` until the replay).
    rev: Rev,
    /// The URL's `afterRev`: changes after it are replayed at greeting.
    replay_changes: bool,
    /// Bad frames in a row.
    bad_frames: u32,
    typing: TypingState,
    /// Where the typing is: the channel (`None`) or a thread's parent.
    typing_in: Option<MessageId>,
    /// Sends queued for storing, oldest first; each yields its clientId and
    /// outcome once its batch commits.
    pending: FuturesOrdered<PendingOutcome>,
    /// Long replays stop early at shutdown.
    shutdown: CancellationToken,
}

impl Session {
    /// A session for a member; `head` and `head_rev` are the channel's
    /// newest seq and rev read before joining its room. With `after_seq`
    /// (the URL's `?afterSeq=`), the messages after it are sent first, in
    /// order, before anything live; with `after_rev` (`?afterRev=`), then
    /// the current state of the older messages changed after it.
    pub fn open(
        chat: Arc<Chat>,
        user_id: UserId,
        channel_id: ChannelId,
        (head, head_rev): (Seq, Rev),
        (after_seq, after_rev): (Option<Seq>, Option<Rev>),
        shutdown: CancellationToken,
    ) -> Self {
        let typing = TypingState::new(chat.limits.typing_timeout);
        Session {
            chat,
            user_id,
            channel_id,
            cursor: SeqCursor::at_join(head, after_seq),
            rev: after_rev.map_or(head_rev, |r| r.clamp(Rev::ZERO, head_rev)),
            replay_changes: after_rev.is_some(),
            bad_frames: 0,
            typing,
            typing_in: None,
            pending: FuturesOrdered::new(),
            shutdown,
        }
    }

    /// The user.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The channel.
    pub fn channel_id(&self) -> ChannelId {
        self.channel_id
    }

    /// The highest seq sent so far.
    pub fn last_seq(&self) -> Seq {
        self.cursor.last
    }

    /// The first frames: who is online, then any message committed between
    /// reading the head and subscribing (in storage but not in this
    /// connection's ring), and the `afterSeq` replay; then, the same way,
    /// any change committed in between and the `afterRev` replay.
    pub async fn greet(
        &mut self,
        roster: Vec<UserId>,
        (published, published_rev): (Seq, Rev),
        sink: &mut impl FrameSink,
    ) -> Result<(), End> {
        sink.frame(&ServerFrame::PresenceState { user_ids: roster })
            .await?;
        if !self.cursor.caught_up_at_join(published) {
            Box::pin(self.catch_up(sink, None)).await?;
        }
        let changes_caught_up =
            published_rev > Rev::ZERO && published_rev <= self.rev && !self.replay_changes;
        if !changes_caught_up {
            Box::pin(self.send_changes(sink)).await?;
        }
        self.replay_changes = false;
        Ok(())
    }

    /// The highest rev this connection holds every change up to.
    pub fn last_rev(&self) -> Rev {
        self.rev
    }

    /// Whether the client's next frame may be read (at the pending-send cap
    /// the client's frames wait unread: backpressure).
    pub fn accepts_frames(&self) -> bool {
        self.pending.len() < self.chat.limits.ws_pending_sends
    }

    /// Whether a send waits for its commit.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The next committed (or failed) send, oldest first (cancel-safe;
    /// `None` when nothing is pending).
    pub async fn next_send_done(&mut self) -> Option<SendDone> {
        self.pending.next().await
    }

    /// When the typing timer fires next.
    pub fn typing_deadline(&self) -> Option<Instant> {
        self.typing.deadline()
    }

    /// The typing timer fired.
    pub fn on_typing_deadline(&mut self) {
        if let Some(typing) = self.typing.on_deadline(Instant::now()) {
            self.announce_typing(typing);
        }
    }

    /// A binary frame: the chat speaks JSON text only.
    pub async fn on_binary(&mut self, sink: &mut impl FrameSink) -> Result<(), End> {
        let frame = ServerFrame::error(
            ErrorCode::ParseError,
            "binary frames are not supported; send JSON text",
        );
        self.bad_frame(sink, frame).await
    }

    /// A text frame from the client.
    pub async fn on_text(&mut self, text: &str, sink: &mut impl FrameSink) -> Result<(), End> {
        let frame = match decode_frame(text, self.chat.limits.max_frame_bytes) {
            Ok(frame) => frame,
            Err(error) => return self.bad_frame(sink, error).await,
        };
        self.bad_frames = 0;
        match frame {
            ClientFrame::MessageSend {
                text,
                client_id,
                reply_to,
                parent_id,
                show_in_channel,
                mentions,
                attachments,
            } => {
                self.stop_typing();
                let thread = match reply_thread(parent_id, show_in_channel) {
                    Ok(thread) => thread,
                    Err(refused) => return sink.error(refused.frame(client_id)).await,
                };
                let chat = self.chat.clone();
                match chat
                    .submit(
                        self.user_id,
                        self.channel_id,
                        &text,
                        client_id.clone(),
                        SendExtras {
                            reply_to,
                            thread,
                            mentions,
                            attachments,
                        },
                    )
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
                    Err(e) => sink.error(e.frame(client_id)).await,
                }
            }
            ClientFrame::TypingStart { parent_id } => {
                if parent_id != self.typing_in {
                    // Typing moved between the channel and a thread: it
                    // stops where it was.
                    self.stop_typing();
                    self.typing_in = parent_id;
                }
                if self.typing.start(Instant::now()) {
                    self.announce_typing(true);
                }
                Ok(())
            }
            ClientFrame::TypingStop { parent_id } => {
                if parent_id == self.typing_in {
                    self.stop_typing();
                }
                Ok(())
            }
            ClientFrame::ThreadRead { parent_id, seq } => {
                match self
                    .chat
                    .mark_thread_read(self.user_id, self.channel_id, parent_id, seq)
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(e) => sink.error(e.into()).await,
                }
            }
            ClientFrame::PresencePing => Ok(()),
            ClientFrame::MessageEdit {
                id,
                text,
                if_rev,
                mentions,
                client_id,
            } => {
                let request = ChangeRequest::Edit {
                    text,
                    if_rev,
                    mentions,
                };
                self.change(sink, id, request, client_id).await
            }
            ClientFrame::MessageDelete { id, client_id } => {
                self.change(sink, id, ChangeRequest::Delete, client_id)
                    .await
            }
            ClientFrame::ReactionAdd {
                id,
                emoji,
                client_id,
            } => {
                let request = ChangeRequest::ReactionAdd { emoji };
                self.change(sink, id, request, client_id).await
            }
            ClientFrame::ReactionRemove {
                id,
                emoji,
                client_id,
            } => {
                let request = ChangeRequest::ReactionRemove { emoji };
                self.change(sink, id, request, client_id).await
            }
            ClientFrame::MessagePin { id, client_id } => {
                self.change(sink, id, ChangeRequest::Pin, client_id).await
            }
            ClientFrame::MessageUnpin { id, client_id } => {
                self.change(sink, id, ChangeRequest::Unpin, client_id).await
            }
            ClientFrame::Resume {
                after_seq,
                after_rev,
            } => {
                if let Err(retry_after_ms) =
                    self.chat.limiter.check(&(self.user_id, self.channel_id))
                {
                    return sink
                        .error(AppError::RateLimited { retry_after_ms }.into())
                        .await;
                }
                Box::pin(self.recheck_membership(sink)).await?;
                self.chat.metrics.resumes.inc();
                Box::pin(self.resume(sink, after_seq, after_rev)).await
            }
            ClientFrame::Read { seq } => {
                match self
                    .chat
                    .mark_read(self.user_id, self.channel_id, seq)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) => sink.error(e.into()).await,
                }
            }
        }
    }

    /// A change frame: applied through the rule book (the room then brings
    /// `message.updated` to every connection, this one included); a
    /// refusal answers with an `error` carrying the frame's `clientId`.
    async fn change(
        &mut self,
        sink: &mut impl FrameSink,
        id: MessageId,
        request: ChangeRequest,
        client_id: Option<ClientId>,
    ) -> Result<(), End> {
        let chat = self.chat.clone();
        match chat
            .change_message(self.user_id, self.channel_id, id, request)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => sink.error(change_error(e, client_id)).await,
        }
    }

    /// A pipelined send was committed (or failed).
    pub async fn on_send_done(
        &mut self,
        (client_id, outcome): SendDone,
        sink: &mut impl FrameSink,
    ) -> Result<(), End> {
        match outcome {
            // The room delivers a new message to this connection too, in order.
            Ok(InsertOutcome::Stored(..)) => Ok(()),
            Ok(InsertOutcome::Duplicate(original)) if original.seq > self.cursor.last => {
                // Not yet sent here (its room copy may still be queued):
                // send it in order, once.
                Box::pin(self.catch_up(sink, Some(original.seq))).await
            }
            // Already sent here or before this connection: the original
            // again, as the answer to this send (the contract's idempotency
            // rule; the client knows it by seq and clientId).
            Ok(InsertOutcome::Duplicate(original)) => {
                sink.frame(&ServerFrame::message_new(&original)).await
            }
            Err(e) => sink.error(e.frame(client_id)).await,
        }
    }

    /// An event of the channel's room.
    pub async fn on_room_event(
        &mut self,
        event: &RoomEvent,
        sink: &mut impl FrameSink,
    ) -> Result<(), End> {
        match event {
            RoomEvent::Message { seq, json } => match self.cursor.live(*seq) {
                LiveStep::Skip => Ok(()),
                step => {
                    if let LiveStep::FillThenSend { until } = step {
                        Box::pin(self.catch_up(sink, Some(until))).await?;
                    }
                    sink.shared(json.clone()).await?;
                    self.cursor.last = *seq;
                    Ok(())
                }
            },
            RoomEvent::Update {
                seq,
                rev,
                from_rev,
                json,
            } => {
                if *rev <= self.rev {
                    return Ok(());
                }
                if *seq > self.cursor.last {
                    // The message itself has not been sent here yet: send
                    // it from storage first (in its current state).
                    Box::pin(self.catch_up(sink, Some(*seq))).await?;
                }
                if *from_rev > self.rev.next() {
                    // Changes are missing before the ones this update
                    // accounts for: storage first.
                    Box::pin(self.send_changes(sink)).await?;
                }
                if *rev > self.rev {
                    sink.shared(json.clone()).await?;
                    self.rev = *rev;
                }
                Ok(())
            }
            RoomEvent::Broadcast { json } => sink.shared(json.clone()).await,
            RoomEvent::Revoked { user_id } => {
                if user_id.is_none_or(|u| u == self.user_id) {
                    let e = AppError::Forbidden("your access to this channel was revoked".into());
                    return Err(refuse(sink, e).await);
                }
                Ok(())
            }
            RoomEvent::Typing { user_id, json } => {
                if *user_id == self.user_id {
                    Ok(())
                } else {
                    sink.shared(json.clone()).await
                }
            }
            RoomEvent::Presence { updates } => {
                for (user_id, json) in updates {
                    if *user_id != self.user_id {
                        sink.shared(json.clone()).await?;
                    }
                }
                Ok(())
            }
        }
    }

    /// The room's receiver fell behind and lost events: messages come back
    /// from storage; presence events in the lost window are replaced by the
    /// current `roster`.
    pub async fn on_room_lagged(
        &mut self,
        roster: impl FnOnce() -> Vec<UserId>,
        sink: &mut impl FrameSink,
    ) -> Result<(), End> {
        Box::pin(self.catch_up(sink, None)).await?;
        Box::pin(self.send_changes(sink)).await?;
        sink.frame(&ServerFrame::PresenceState { user_ids: roster() })
            .await
    }

    /// An event that follows the user across channels: activity in another
    /// channel and read cursors (activity about this channel is skipped:
    /// its messages come here anyway).
    pub async fn on_user_event(
        &self,
        event: &UserEvent,
        sink: &mut impl FrameSink,
    ) -> Result<(), End> {
        if event.is_activity && event.channel_id == self.channel_id {
            Ok(())
        } else {
            sink.shared(event.json.clone()).await
        }
    }

    /// Whether the user still has access; if not, tells them and ends the
    /// session (1008), so a revoked member stops receiving the channel. A
    /// storage hiccup is not a revocation.
    pub async fn recheck_membership(&self, sink: &mut impl FrameSink) -> Result<(), End> {
        match self
            .chat
            .require_member(self.channel_id, self.user_id)
            .await
        {
            Ok(_) => Ok(()),
            Err(e @ (AppError::Forbidden(_) | AppError::NotFound(_))) => Err(refuse(sink, e).await),
            Err(_) => Ok(()),
        }
    }

    /// The connection is over: typing stops.
    pub fn leave(&mut self) {
        self.stop_typing();
    }

    /// Answers a bad frame and ends the session after too many in a row.
    async fn bad_frame(
        &mut self,
        sink: &mut impl FrameSink,
        error: ServerFrame,
    ) -> Result<(), End> {
        self.bad_frames += 1;
        sink.error(error).await?;
        if self.bad_frames >= self.chat.limits.max_bad_frames {
            return Err(End::Close(CLOSE_POLICY, "too many bad frames"));
        }
        Ok(())
    }

    /// Sends stored messages after the last sent (up to `until`, or the head).
    async fn catch_up(&mut self, sink: &mut impl FrameSink, until: Option<Seq>) -> Result<(), End> {
        let after = self.cursor.last;
        self.cursor.last = self.send_stored(sink, after, until).await?;
        Ok(())
    }

    /// Sends the current state of every message changed after the rev
    /// cursor, by rev (a message not yet sent here is first sent from
    /// storage), and moves the cursor to the last rev sent.
    async fn send_changes(&mut self, sink: &mut impl FrameSink) -> Result<(), End> {
        loop {
            if self.shutdown.is_cancelled() {
                return Err(End::Close(CLOSE_GOING_AWAY, "server shutting down"));
            }
            let page = self
                .chat
                .store
                .changed_after(self.channel_id, self.rev, CATCH_UP_PAGE)
                .await
                .map_err(|e| storage_failed("reading changed messages failed", e))?;
            for m in &page {
                if m.seq > self.cursor.last {
                    Box::pin(self.catch_up(sink, Some(m.seq))).await?;
                }
                sink.frame(&ServerFrame::message_updated(m)).await?;
                self.rev = self.rev.max(m.rev);
            }
            if page.len() < CATCH_UP_PAGE as usize {
                return Ok(());
            }
        }
    }

    /// `resume`: every message after `after_seq`; with `after_rev`, then
    /// every older message changed after it; then `resume.done`.
    async fn resume(
        &mut self,
        sink: &mut impl FrameSink,
        after_seq: Seq,
        after_rev: Option<Rev>,
    ) -> Result<(), End> {
        let head = self
            .chat
            .store
            .head_seq(self.channel_id)
            .await
            .map_err(|e| storage_failed("resume head read failed", e))?;
        let from = SeqCursor::resume_from(after_seq, head);
        let last = self.send_stored(sink, from, None).await?;
        self.cursor.last = self.cursor.last.max(last);
        if let Some(after_rev) = after_rev {
            // Replay from the client's rev (never past the stored head: a
            // stale or foreign cursor must not hold back live changes),
            // then keep the higher cursor.
            let head_rev = self
                .chat
                .store
                .head_rev(self.channel_id)
                .await
                .map_err(|e| storage_failed("resume head read failed", e))?;
            let live = self.rev;
            self.rev = after_rev.clamp(Rev::ZERO, head_rev);
            Box::pin(self.send_changes(sink)).await?;
            self.rev = self.rev.max(live);
        }
        sink.frame(&ServerFrame::ResumeDone {
            head_seq: self.cursor.last,
            head_rev: self.rev,
        })
        .await
    }

    /// Sends the stored messages with `after < seq <= until` (no `until`:
    /// up to the newest) in order; returns the last seq sent, or `after`.
    async fn send_stored(
        &self,
        sink: &mut impl FrameSink,
        after: Seq,
        until: Option<Seq>,
    ) -> Result<Seq, End> {
        let mut last = after;
        loop {
            if self.shutdown.is_cancelled() {
                return Err(End::Close(CLOSE_GOING_AWAY, "server shutting down"));
            }
            let page = self
                .chat
                .store
                .history(
                    self.channel_id,
                    HistoryCursor::AfterSeq(last),
                    CATCH_UP_PAGE,
                )
                .await
                .map_err(|e| storage_failed("reading stored messages failed", e))?;
            for m in &page.messages {
                if until.is_some_and(|u| m.seq > u) {
                    return Ok(last);
                }
                sink.frame(&ServerFrame::message_new(m)).await?;
                last = m.seq;
            }
            if !page.has_more || page.messages.is_empty() {
                return Ok(last);
            }
        }
    }

    fn stop_typing(&mut self) {
        if self.typing.stop() {
            self.announce_typing(false);
        }
    }

    /// Tells this server's room and the other servers.
    fn announce_typing(&self, typing: bool) {
        if let Some(room) = self.chat.rooms.get(self.channel_id) {
            room.publish(RoomEvent::typing_in(self.user_id, self.typing_in, typing));
        }
        self.chat.bus.publish(BusEvent::Typing {
            c: self.channel_id,
            u: self.user_id,
            t: typing,
            p: self.typing_in,
        });
    }
}

/// The `error` frame answering a change frame: the protocol's code for the
/// refusal (`NOT_FOUND`, `CONFLICT`, ...) and the frame's `clientId`.
fn change_error(e: AppError, client_id: Option<ClientId>) -> ServerFrame {
    let code = e.code().unwrap_or(ErrorCode::PersistFailed);
    let retry_after_ms = match &e {
        AppError::RateLimited { retry_after_ms } => Some(*retry_after_ms),
        _ => None,
    };
    let message = match &e {
        AppError::Internal(_) | AppError::Unavailable(_) => {
            "the change was not stored; retry".to_string()
        }
        other => other.to_string(),
    };
    ServerFrame::Error {
        code,
        message,
        retry_after_ms,
        client_id,
    }
}

/// A read the session cannot do without (a replay, a head): logged, and
/// the connection closes with 1011 (the client reconnects and resumes).
fn storage_failed(what: &str, e: crate::server::store::StoreError) -> End {
    tracing::error!(error = %e, "{what}");
    End::Close(CLOSE_INTERNAL, "storage unavailable")
}

/// The user lost access: `FORBIDDEN`, then close with 1008.
async fn refuse(sink: &mut impl FrameSink, e: AppError) -> End {
    let _ = sink.error(e.into()).await;
    End::Close(CLOSE_POLICY, "no longer a member")
}

#[cfg(test)]
mod tests {
    //! Every rule of a live connection, without a socket: the pure parts
    //! directly, the rest through a `Session` on a real server state (a
    //! temporary SQLite database) writing into a list.

    use super::*;
    use crate::server::config::Settings;
    use crate::server::demo::{DEMO_CHANNELS, DEMO_USERS};
    use crate::server::startup::Application;
    use serde_json::Value;

    /// Collects what a session sends, decoded.
    #[derive(Default)]
    struct Frames(Vec<Value>);

    impl FrameSink for Frames {
        async fn frame(&mut self, frame: &ServerFrame) -> Result<(), End> {
            self.0.push(serde_json::to_value(frame).unwrap());
            Ok(())
        }
        async fn error(&mut self, frame: ServerFrame) -> Result<(), End> {
            self.0.push(serde_json::to_value(&frame).unwrap());
            Ok(())
        }
        async fn shared(&mut self, json: Utf8Bytes) -> Result<(), End> {
            self.0.push(serde_json::from_str(json.as_str()).unwrap());
            Ok(())
        }
    }

    impl Frames {
        fn types(&self) -> Vec<String> {
            self.0
                .iter()
                .map(|f| f["type"].as_str().unwrap_or("?").to_string())
                .collect()
        }
        fn seqs(&self) -> Vec<i64> {
            self.0
                .iter()
                .filter(|f| f["type"] == "message.new")
                .map(|f| f["seq"].as_i64().unwrap())
                .collect()
        }
        fn codes(&self) -> Vec<String> {
            self.0
                .iter()
                .filter(|f| f["type"] == "error")
                .map(|f| f["code"].as_str().unwrap().to_string())
                .collect()
        }
    }

    fn t0() -> Instant {
        Instant::now()
    }

    // ----- pure rules -----

    #[test]
    fn live_messages_are_skipped_sent_or_preceded_by_a_fill() {
        let c = SeqCursor { last: Seq::new(5) };
        assert_eq!(c.live(Seq::new(4)), LiveStep::Skip);
        assert_eq!(c.live(Seq::new(5)), LiveStep::Skip, "a repeat");
        assert_eq!(c.live(Seq::new(6)), LiveStep::Send);
        assert_eq!(
            c.live(Seq::new(9)),
            LiveStep::FillThenSend { until: Seq::new(8) }
        );
    }

    #[test]
    fn a_join_starts_at_the_head_or_the_clamped_after_seq() {
        let head = Seq::new(7);
        assert_eq!(SeqCursor::at_join(head, None).last, head);
        assert_eq!(
            SeqCursor::at_join(head, Some(Seq::new(3))).last,
            Seq::new(3)
        );
        assert_eq!(SeqCursor::at_join(head, Some(Seq::new(99))).last, head);
        assert_eq!(SeqCursor::at_join(head, Some(Seq::new(-4))).last, Seq::ZERO);
    }

    /// A joining connection reads storage unless its room provably has
    /// published nothing past the head it read.
    #[test]
    fn a_join_reads_storage_unless_the_room_proves_it_need_not() {
        let at = |head: i64| SeqCursor {
            last: Seq::new(head),
        };
        // The room has published nothing: commits may have gone unpublished.
        assert!(!at(0).caught_up_at_join(Seq::new(0)));
        assert!(!at(7).caught_up_at_join(Seq::new(0)));
        // Published up to the head: the ring brings anything newer.
        assert!(at(7).caught_up_at_join(Seq::new(7)));
        assert!(at(7).caught_up_at_join(Seq::new(5)));
        // Published past the head before the connection subscribed.
        assert!(!at(7).caught_up_at_join(Seq::new(8)));
    }

    #[test]
    fn a_resume_never_starts_past_the_head_or_below_zero() {
        let head = Seq::new(10);
        assert_eq!(SeqCursor::resume_from(Seq::new(4), head), Seq::new(4));
        assert_eq!(SeqCursor::resume_from(Seq::new(40), head), head);
        assert_eq!(SeqCursor::resume_from(Seq::new(-1), head), Seq::ZERO);
    }

    #[test]
    fn typing_starts_at_once_extends_and_expires() {
        let mut t = TypingState::new(Duration::from_secs(5));
        let now = t0();
        assert!(t.start(now), "the first start is announced");
        assert!(!t.start(now + Duration::from_secs(2)), "extends silently");
        assert_eq!(t.deadline(), Some(now + Duration::from_secs(7)));
        assert_eq!(t.on_deadline(now + Duration::from_secs(7)), Some(false));
        assert_eq!(t.deadline(), None);
        assert_eq!(t.on_deadline(now + Duration::from_secs(8)), None);
    }

    #[test]
    fn a_start_too_soon_after_the_last_is_deferred_not_dropped() {
        let mut t = TypingState::new(Duration::from_secs(5));
        let now = t0();
        assert!(t.start(now));
        assert!(t.stop(), "stop is announced");
        let soon = now + Duration::from_millis(100);
        assert!(!t.start(soon), "within the gap: not announced yet");
        assert_eq!(t.deadline(), Some(now + TYPING_MIN_GAP));
        assert!(
            !t.start(soon),
            "a second start while deferred changes nothing"
        );
        assert_eq!(t.on_deadline(now + TYPING_MIN_GAP), Some(true));
        assert!(t.is_active());
    }

    #[test]
    fn a_stop_cancels_a_deferred_start_without_an_announcement() {
        let mut t = TypingState::new(Duration::from_secs(5));
        let now = t0();
        assert!(t.start(now));
        assert!(t.stop());
        assert!(!t.start(now + Duration::from_millis(10)));
        assert!(!t.stop(), "nothing was announced, nothing to take back");
        assert_eq!(t.deadline(), None);
        assert!(
            t.start(now + TYPING_MIN_GAP),
            "after the gap a start is announced at once"
        );
    }

    #[test]
    fn bad_frames_get_the_right_codes() {
        let code = |r: Result<ClientFrame, ServerFrame>| match r {
            Err(ServerFrame::Error { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(decode_frame("{nope", 100)), ErrorCode::ParseError);
        assert_eq!(
            code(decode_frame(r#"{"type":"dance"}"#, 100)),
            ErrorCode::UnknownType
        );
        assert_eq!(
            code(decode_frame(
                &format!(r#"{{"type":"{}"}}"#, "x".repeat(100)),
                50
            )),
            ErrorCode::MessageTooLong
        );
        assert_eq!(
            decode_frame(r#"{"type":"typing.start"}"#, 100),
            Ok(ClientFrame::TypingStart { parent_id: None })
        );
    }

    #[test]
    fn every_app_error_maps_to_one_error_code() {
        let code = |e: AppError| match ServerFrame::from(e) {
            ServerFrame::Error {
                code,
                retry_after_ms,
                client_id,
                ..
            } => {
                assert_eq!(client_id, None);
                (code, retry_after_ms)
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(AppError::Forbidden("x".into())),
            (ErrorCode::Forbidden, None)
        );
        assert_eq!(
            code(AppError::NotFound("x".into())),
            (ErrorCode::Forbidden, None)
        );
        assert_eq!(
            code(AppError::BadRequest("x".into())),
            (ErrorCode::ParseError, None)
        );
        assert_eq!(
            code(AppError::PayloadTooLarge("x".into())),
            (ErrorCode::MessageTooLong, None)
        );
        assert_eq!(
            code(AppError::RateLimited {
                retry_after_ms: 250
            }),
            (ErrorCode::RateLimited, Some(250))
        );
        assert_eq!(code(AppError::internal()), (ErrorCode::PersistFailed, None));
        assert_eq!(
            code(AppError::Unavailable("x".into())),
            (ErrorCode::PersistFailed, None)
        );
        let frame = SendError::RateLimited { retry_after_ms: 9 }.frame(ClientId::from("k"));
        assert!(matches!(
            frame,
            ServerFrame::Error { code: ErrorCode::RateLimited, retry_after_ms: Some(9), client_id: Some(ref k), .. } if k.as_str() == "k"
        ));
    }

    // ----- a session on a real server state -----

    /// A server state on a temporary SQLite database with the demo data.
    async fn server() -> (tempfile::TempDir, Application) {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::defaults_for(dir.path().to_path_buf());
        settings.listen_addr = "127.0.0.1:0".parse().unwrap();
        settings.demo_data = true;
        settings.limits.max_bad_frames = 3;
        let app = Application::build(settings).await.unwrap();
        (dir, app)
    }

    fn open(app: &Application, user: usize, after: Option<i64>, head: i64) -> Session {
        let state = app.state();
        Session::open(
            state.chat.clone(),
            DEMO_USERS[user].0,
            DEMO_CHANNELS[0].0,
            (Seq::new(head), Rev::ZERO),
            (after.map(Seq::new), None),
            state.shutdown.clone(),
        )
    }

    async fn send(app: &Application, user: usize, n: usize) {
        for i in 0..n {
            app.state()
                .chat
                .send(
                    DEMO_USERS[user].0,
                    DEMO_CHANNELS[0].0,
                    &format!("m{i}"),
                    ClientId::new(format!("{user}-{i}-{}", uuid::Uuid::new_v4())),
                    SendExtras::default(),
                )
                .await
                .unwrap();
        }
    }

    /// Sends through the session and waits for the commit.
    async fn send_via(s: &mut Session, sink: &mut Frames, text: &str, key: &str) {
        let frame = format!(r#"{{"type":"message.send","text":"{text}","clientId":"{key}"}}"#);
        s.on_text(&frame, sink).await.unwrap();
        let done = s.next_send_done().await.expect("one pending send");
        s.on_send_done(done, sink).await.unwrap();
    }

    #[tokio::test]
    async fn greeting_sends_the_roster_then_what_was_committed_meanwhile() {
        let (_dir, app) = server().await;
        send(&app, 1, 3).await;
        // The connection read head 1; the room published nothing yet.
        let mut s = open(&app, 0, None, 1);
        let mut sink = Frames::default();
        s.greet(vec![DEMO_USERS[0].0], (Seq::ZERO, Rev::ZERO), &mut sink)
            .await
            .unwrap();
        assert_eq!(sink.types()[0], "presence.state");
        assert_eq!(sink.seqs(), [2, 3]);
        // A room that published up to the head: nothing read.
        let mut s = open(&app, 0, None, 3);
        let mut sink = Frames::default();
        s.greet(vec![], (Seq::new(3), Rev::ZERO), &mut sink)
            .await
            .unwrap();
        assert_eq!(sink.types(), ["presence.state"]);
    }

    #[tokio::test]
    async fn after_seq_replays_from_storage_in_order() {
        let (_dir, app) = server().await;
        send(&app, 1, 5).await;
        let mut s = open(&app, 0, Some(2), 5);
        let mut sink = Frames::default();
        s.greet(vec![], (Seq::new(5), Rev::ZERO), &mut sink)
            .await
            .unwrap();
        assert_eq!(sink.seqs(), [3, 4, 5]);
        assert_eq!(s.last_seq(), Seq::new(5));
    }

    #[tokio::test]
    async fn live_gaps_are_filled_from_storage_and_repeats_skipped() {
        let (_dir, app) = server().await;
        send(&app, 1, 4).await;
        let mut s = open(&app, 0, None, 1);
        let mut sink = Frames::default();
        let page = app
            .state()
            .chat
            .store
            .history(DEMO_CHANNELS[0].0, HistoryCursor::Latest, 10)
            .await
            .unwrap();
        let event = |n: usize| RoomEvent::message(&page.messages[n]);
        s.on_room_event(&event(3), &mut sink).await.unwrap();
        s.on_room_event(&event(2), &mut sink).await.unwrap();
        s.on_room_event(&event(3), &mut sink).await.unwrap();
        assert_eq!(
            sink.seqs(),
            [2, 3, 4],
            "2 and 3 from storage, 4 live, no repeats"
        );
    }

    #[tokio::test]
    async fn resume_replays_after_the_cursor_then_says_done() {
        let (_dir, app) = server().await;
        send(&app, 1, 4).await;
        let mut s = open(&app, 0, None, 4);
        let mut sink = Frames::default();
        s.on_text(r#"{"type":"resume","afterSeq":2}"#, &mut sink)
            .await
            .unwrap();
        assert_eq!(sink.seqs(), [3, 4]);
        assert_eq!(sink.0.last().unwrap()["type"], "resume.done");
        assert_eq!(sink.0.last().unwrap()["headSeq"], 4);
        // A cursor past the head replays nothing and holds nothing back.
        let mut sink = Frames::default();
        s.on_text(r#"{"type":"resume","afterSeq":99}"#, &mut sink)
            .await
            .unwrap();
        assert_eq!(sink.types(), ["resume.done"]);
    }

    #[tokio::test]
    async fn a_duplicate_send_is_answered_with_the_original_once() {
        let (_dir, app) = server().await;
        let mut s = open(&app, 0, None, 0);
        let mut sink = Frames::default();
        send_via(&mut s, &mut sink, "hello", "k1").await;
        // The room copy has not reached this session: the duplicate answer
        // sends the original in order, once.
        send_via(&mut s, &mut sink, "hello", "k1").await;
        assert_eq!(sink.seqs(), [1]);
        // Already sent here: the original again, as the answer.
        send_via(&mut s, &mut sink, "hello", "k1").await;
        assert_eq!(sink.seqs(), [1, 1]);
    }

    #[tokio::test]
    async fn refused_sends_answer_with_their_client_id() {
        let (_dir, app) = server().await;
        let mut s = open(&app, 0, None, 0);
        let mut sink = Frames::default();
        s.on_text(
            r#"{"type":"message.send","text":"   ","clientId":"e1"}"#,
            &mut sink,
        )
        .await
        .unwrap();
        assert_eq!(sink.codes(), ["EMPTY_MESSAGE"]);
        assert_eq!(sink.0[0]["clientId"], "e1");
    }

    #[tokio::test]
    async fn too_many_bad_frames_in_a_row_end_the_session() {
        let (_dir, app) = server().await;
        let mut s = open(&app, 0, None, 0);
        let mut sink = Frames::default();
        assert!(s.on_text("nope", &mut sink).await.is_ok());
        assert!(s.on_binary(&mut sink).await.is_ok());
        // A good frame resets the count.
        s.on_text(r#"{"type":"presence.ping"}"#, &mut sink)
            .await
            .unwrap();
        assert!(s.on_text("nope", &mut sink).await.is_ok());
        assert!(s.on_text(r#"{"type":"x"}"#, &mut sink).await.is_ok());
        assert_eq!(
            s.on_text("nope", &mut sink).await,
            Err(End::Close(CLOSE_POLICY, "too many bad frames"))
        );
        assert_eq!(
            sink.codes(),
            [
                "PARSE_ERROR",
                "PARSE_ERROR",
                "PARSE_ERROR",
                "UNKNOWN_TYPE",
                "PARSE_ERROR"
            ]
        );
    }

    #[tokio::test]
    async fn read_moves_the_cursor_and_bad_reads_get_parse_error() {
        let (_dir, app) = server().await;
        send(&app, 1, 3).await;
        let mut s = open(&app, 0, None, 3);
        let mut sink = Frames::default();
        s.on_text(r#"{"type":"read","seq":2}"#, &mut sink)
            .await
            .unwrap();
        let unread = app.state().chat.unread(DEMO_USERS[0].0).await.unwrap();
        let general = unread
            .iter()
            .find(|e| e.channel_id == DEMO_CHANNELS[0].0)
            .unwrap();
        assert_eq!(general.unread_count, 1);
        s.on_text(r#"{"type":"read","seq":-1}"#, &mut sink)
            .await
            .unwrap();
        assert_eq!(sink.codes(), ["PARSE_ERROR"]);
    }

    #[tokio::test]
    async fn revocation_ends_the_session_with_forbidden() {
        let (_dir, app) = server().await;
        let s = open(&app, 0, None, 0);
        let mut sink = Frames::default();
        assert_eq!(s.recheck_membership(&mut sink).await, Ok(()));
        app.state()
            .chat
            .admin_set_access(DEMO_CHANNELS[0].0, DEMO_USERS[0].0, false)
            .await
            .unwrap();
        assert_eq!(
            s.recheck_membership(&mut sink).await,
            Err(End::Close(CLOSE_POLICY, "no longer a member"))
        );
        let mut s = open(&app, 1, None, 0);
        let revoked = RoomEvent::Revoked {
            user_id: Some(DEMO_USERS[1].0),
        };
        assert!(s.on_room_event(&revoked, &mut sink).await.is_err());
        let other = RoomEvent::Revoked {
            user_id: Some(DEMO_USERS[2].0),
        };
        assert!(s.on_room_event(&other, &mut sink).await.is_ok());
        assert_eq!(sink.codes(), ["FORBIDDEN", "FORBIDDEN"]);
    }

    #[tokio::test]
    async fn own_typing_and_presence_are_not_echoed_and_own_channel_activity_is_skipped() {
        let (_dir, app) = server().await;
        let mut s = open(&app, 0, None, 0);
        let mut sink = Frames::default();
        let me = DEMO_USERS[0].0;
        let other = DEMO_USERS[1].0;
        s.on_room_event(&RoomEvent::typing(me, true), &mut sink)
            .await
            .unwrap();
        s.on_room_event(&RoomEvent::typing(other, true), &mut sink)
            .await
            .unwrap();
        let json = |s: &str| Utf8Bytes::from(s.to_string());
        let updates = vec![
            (me, json(r#"{"type":"presence.update","n":1}"#)),
            (other, json(r#"{"type":"presence.update","n":2}"#)),
        ];
        s.on_room_event(&RoomEvent::Presence { updates }, &mut sink)
            .await
            .unwrap();
        let activity = |channel_id| UserEvent {
            channel_id,
            is_activity: true,
            json: json(r#"{"type":"channel.activity"}"#),
        };
        s.on_user_event(&activity(DEMO_CHANNELS[0].0), &mut sink)
            .await
            .unwrap();
        s.on_user_event(&activity(DEMO_CHANNELS[1].0), &mut sink)
            .await
            .unwrap();
        assert_eq!(
            sink.types(),
            ["typing", "presence.update", "channel.activity"]
        );
        assert_eq!(sink.0[1]["n"], 2);
    }

    #[tokio::test]
    async fn resume_is_rate_limited_like_sends() {
        let (_dir, app) = server().await;
        let mut s = open(&app, 0, None, 0);
        let mut sink = Frames::default();
        for _ in 0..50 {
            s.on_text(r#"{"type":"resume","afterSeq":0}"#, &mut sink)
                .await
                .unwrap();
        }
        let limited = sink.0.iter().find(|f| f["code"] == "RATE_LIMITED");
        assert!(limited.is_some_and(|f| f["retryAfterMs"].as_u64().is_some()));
    }
}
