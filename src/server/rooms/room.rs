//! One channel's live state: who is connected (presence) and a broadcast
//! channel of events, each serialised once for all receivers. Presence
//! changes go out in batches (`limits.presence_batch_ms`): when a hundred
//! members reconnect at once, each connection is woken once per batch, not
//! once per arrival.

use crate::protocol::{ChannelId, MemberRead, MessageId, Rev, Seq, UserId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::protocol::ws::PresenceStatus;
use crate::protocol::{Message, ServerFrame};

/// An event for every connection in a room. The JSON is built once, here,
/// not once per receiver.
#[derive(Debug, Clone)]
pub enum RoomEvent {
    /// A stored message (receivers track `seq` to skip and to fill gaps).
    Message {
        /// The message's seq.
        seq: Seq,
        /// The `message.new` frame.
        json: Utf8Bytes,
    },
    /// A stored message changed (receivers track `rev` to skip and to fill
    /// gaps, and `seq` to send a message before any change to it).
    Update {
        /// The message's seq.
        seq: Seq,
        /// The rev of the message's latest change.
        rev: Rev,
        /// The first rev this update accounts for: every change of the
        /// channel from `from_rev` to `rev` is either this one or a change
        /// to a message whose newer state comes after it (several changes
        /// to one message committed together go out as one update, with
        /// the last state). A receiver holding `from_rev - 1` misses
        /// nothing; one holding less fills the gap from storage.
        from_rev: Rev,
        /// The `message.updated` frame.
        json: Utf8Bytes,
    },
    /// A frame for every connection as it is (`member.read`).
    Broadcast {
        /// The frame.
        json: Utf8Bytes,
    },
    /// Typing started or stopped; not sent back to the typist.
    Typing {
        /// The typist.
        user_id: UserId,
        /// The `typing` frame.
        json: Utf8Bytes,
    },
    /// Access was revoked: `Some(user)` for one member, `None` for
    /// everyone (the channel was deleted). Their connections close.
    Revoked {
        /// Whose access ended.
        user_id: Option<UserId>,
    },
    /// Users came online or went offline, in the order it happened; each
    /// connection sends the frames about others.
    Presence {
        /// Each user with their `presence.update` frame.
        updates: Vec<(UserId, Utf8Bytes)>,
    },
}

/// Serialises a frame for the wire.
pub fn frame_json(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(frame).expect("server frames always serialise"))
}

impl RoomEvent {
    /// The event for a stored message.
    pub fn message(m: &Message) -> Self {
        RoomEvent::Message {
            seq: m.seq,
            json: frame_json(&ServerFrame::message_new(m)),
        }
    }

    /// The event for a changed message that accounts for the channel's
    /// revs from `from_rev` on (see [`RoomEvent::Update`]).
    pub fn update(m: &Message, from_rev: Rev) -> Self {
        RoomEvent::Update {
            seq: m.seq,
            rev: m.rev,
            from_rev,
            json: frame_json(&ServerFrame::message_updated(m)),
        }
    }

    /// The event for a typing change.
    pub fn typing(user_id: UserId, is_typing: bool) -> Self {
        RoomEvent::typing_in(user_id, None, is_typing)
    }

    /// Someone started or stopped typing in the channel (`None`) or in a
    /// thread: `typing` or `thread.typing`.
    pub fn typing_in(user_id: UserId, thread: Option<MessageId>, is_typing: bool) -> Self {
        let frame = match thread {
            None => ServerFrame::Typing { user_id, is_typing },
            Some(parent_id) => ServerFrame::ThreadTyping {
                parent_id,
                user_id,
                is_typing,
            },
        };
        RoomEvent::Typing {
            user_id,
            json: frame_json(&frame),
        }
    }
}

/// A presence change's user and `presence.update` frame.
fn presence_update(user_id: UserId, status: PresenceStatus) -> (UserId, Utf8Bytes) {
    (
        user_id,
        frame_json(&ServerFrame::PresenceUpdate { user_id, status }),
    )
}

/// A channel with at least one open connection on this server.
#[derive(Debug)]
pub struct Room {
    /// The channel.
    pub channel_id: ChannelId,
    /// Fan-out to every connection; capacity is `limits.room_buffer`. A
    /// connection that falls further behind lags and catches up from storage.
    /// Events are shared behind an `Arc`, so each of the ring's slots costs
    /// a pointer, not a whole event (rooms are many; most are quiet).
    pub(super) events: broadcast::Sender<Arc<RoomEvent>>,
    /// Open connections per user (presence).
    pub(super) online: Mutex<HashMap<UserId, u32>>,
    /// The highest seq published here (0: none yet), so a message arriving
    /// both from this server's writer and from the cluster is sent once.
    published: AtomicI64,
    /// The highest rev published here (0: none yet), as `published` for
    /// seqs.
    published_rev: AtomicI64,
    /// The lowest head a connection read before it joined (`i64::MAX`:
    /// none joined yet): where the sweep of a room that has published no
    /// message starts delivering.
    joined_seq: AtomicI64,
    /// The lowest rev a connection held when it joined (`i64::MAX`: none
    /// joined yet): where the sweep of a room that has published no change
    /// starts delivering.
    joined_rev: AtomicI64,
    /// Presence changes waiting for their batch to go out.
    pending_presence: Mutex<Vec<(UserId, Utf8Bytes)>>,
    /// Read cursors waiting for their `member.read` batch (one entry per
    /// user, the newest cursor).
    pending_reads: Mutex<Vec<MemberRead>>,
    /// How long a batch collects changes (zero: each goes out at once).
    presence_batch: Duration,
}

impl Room {
    pub(super) fn new(channel_id: ChannelId, capacity: usize, presence_batch: Duration) -> Self {
        let (events, _) = broadcast::channel(capacity);
        Room {
            channel_id,
            events,
            online: Mutex::new(HashMap::new()),
            published: AtomicI64::new(0),
            published_rev: AtomicI64::new(0),
            joined_seq: AtomicI64::new(i64::MAX),
            joined_rev: AtomicI64::new(i64::MAX),
            pending_presence: Mutex::new(Vec::new()),
            pending_reads: Mutex::new(Vec::new()),
            presence_batch,
        }
    }

    /// Announces that a user came online or went offline: queued, and sent
    /// with every other change of the next `presence_batch` (the first
    /// change of a batch schedules it).
    pub fn announce(self: &Arc<Self>, user_id: UserId, status: PresenceStatus) {
        let update = presence_update(user_id, status);
        let runtime = tokio::runtime::Handle::try_current();
        let (Ok(runtime), false) = (runtime, self.presence_batch.is_zero()) else {
            self.publish(RoomEvent::Presence {
                updates: vec![update],
            });
            return;
        };
        let mut pending = self.pending_presence.lock();
        pending.push(update);
        if pending.len() == 1 {
            let room = self.clone();
            runtime.spawn(async move {
                tokio::time::sleep(room.presence_batch).await;
                room.send_presence_batch();
            });
        }
    }

    /// Publishes the queued presence changes as one event.
    fn send_presence_batch(&self) {
        let updates = std::mem::take(&mut *self.pending_presence.lock());
        if !updates.is_empty() {
            self.publish(RoomEvent::Presence { updates });
        }
    }

    /// Publishes a stored message unless a later or equal seq went out
    /// already (connections fill any gap from storage).
    pub fn publish_message(&self, m: &Message) {
        if self.published.fetch_max(m.seq.get(), Ordering::SeqCst) < m.seq.get() {
            self.publish(RoomEvent::message(m));
        }
    }

    /// Publishes a changed message unless a later or equal rev went out
    /// already (connections fill any gap from storage); it accounts for
    /// the revs from `from_rev` on (see [`RoomEvent::Update`]).
    pub fn publish_update(&self, m: &Message, from_rev: Rev) {
        if self.published_rev.fetch_max(m.rev.get(), Ordering::SeqCst) < m.rev.get() {
            self.publish(RoomEvent::update(m, from_rev));
        }
    }

    /// The highest rev published here (0 before the first).
    pub fn published_rev(&self) -> Rev {
        Rev::new(self.published_rev.load(Ordering::SeqCst))
    }

    /// Records the stored head rev for a room that has published no change
    /// yet (its connections start from storage).
    pub fn seed_published_rev(&self, head: Rev) {
        self.published_rev.fetch_max(head.get(), Ordering::SeqCst);
    }

    /// A connection is joining that will hold every message up to `seq`
    /// and every change up to `rev` once greeted (the heads it read before
    /// subscribing). Noted before the greeting, so a sweep running meanwhile
    /// never takes a later stored head as published.
    pub fn note_joined_at(&self, seq: Seq, rev: Rev) {
        self.joined_seq.fetch_min(seq.get(), Ordering::SeqCst);
        self.joined_rev.fetch_min(rev.get(), Ordering::SeqCst);
    }

    /// The lowest head a connection read before joining, if one joined.
    pub fn joined_seq(&self) -> Option<Seq> {
        let seq = self.joined_seq.load(Ordering::SeqCst);
        (seq != i64::MAX).then_some(Seq::new(seq))
    }

    /// The lowest rev a connection held when it joined, if one joined.
    pub fn joined_rev(&self) -> Option<Rev> {
        let rev = self.joined_rev.load(Ordering::SeqCst);
        (rev != i64::MAX).then_some(Rev::new(rev))
    }

    /// Announces a member's new read cursor ("seen by"): queued, and sent
    /// as one `member.read` frame with the others of the next
    /// `presence_batch`, like presence.
    pub fn announce_read(self: &Arc<Self>, read: MemberRead) {
        let runtime = tokio::runtime::Handle::try_current();
        let (Ok(runtime), false) = (runtime, self.presence_batch.is_zero()) else {
            self.publish_reads(vec![read]);
            return;
        };
        let mut pending = self.pending_reads.lock();
        match pending.iter_mut().find(|r| r.user_id == read.user_id) {
            Some(r) => r.last_read_seq = r.last_read_seq.max(read.last_read_seq),
            None => pending.push(read),
        }
        if pending.len() == 1 {
            let room = self.clone();
            runtime.spawn(async move {
                tokio::time::sleep(room.presence_batch).await;
                let updates = std::mem::take(&mut *room.pending_reads.lock());
                room.publish_reads(updates);
            });
        }
    }

    fn publish_reads(&self, updates: Vec<MemberRead>) {
        if updates.is_empty() {
            return;
        }
        self.publish(RoomEvent::Broadcast {
            json: frame_json(&ServerFrame::MemberRead {
                channel_id: self.channel_id,
                updates: updates.into_iter().map(Into::into).collect(),
            }),
        });
    }

    /// The highest seq published here (0 before the first).
    pub fn published_head(&self) -> Seq {
        Seq::new(self.published.load(Ordering::SeqCst))
    }

    /// Records the stored head for a room that has published nothing yet
    /// (its connections caught up from storage when they joined).
    pub fn seed_published_head(&self, head: Seq) {
        self.published.fetch_max(head.get(), Ordering::SeqCst);
    }

    /// Sends an event to every connection (none listening is not an error).
    pub fn publish(&self, event: RoomEvent) {
        let _ = self.events.send(Arc::new(event));
    }

    /// Users with an open connection here.
    pub fn online_users(&self) -> Vec<UserId> {
        let online = self.online.lock();
        let mut users: Vec<UserId> = online.keys().copied().collect();
        users.sort();
        users
    }
}
