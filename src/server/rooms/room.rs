//! One channel's live state: who is connected (presence) and a broadcast
//! channel of events, each serialised once for all receivers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::protocol::ws::PresenceStatus;
use crate::protocol::{Message, ServerFrame};

/// An event for every connection in a room. The JSON is built once, here,
/// not once per receiver.
#[derive(Debug, Clone)]
pub enum RoomEvent {
    /// A stored message (receivers track `seq` to skip and to fill gaps).
    Message {
        /// The message's seq.
        seq: i64,
        /// The `message.new` frame.
        json: Utf8Bytes,
    },
    /// Typing started or stopped; not sent back to the typist.
    Typing {
        /// The typist.
        user_id: Uuid,
        /// The `typing` frame.
        json: Utf8Bytes,
    },
    /// Access was revoked: `Some(user)` for one member, `None` for
    /// everyone (the channel was deleted). Their connections close.
    Revoked {
        /// Whose access ended.
        user_id: Option<Uuid>,
    },
    /// A user came online or went offline.
    Presence {
        /// The user.
        user_id: Uuid,
        /// The `presence.update` frame.
        json: Utf8Bytes,
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

    /// The event for a typing change.
    pub fn typing(user_id: Uuid, is_typing: bool) -> Self {
        RoomEvent::Typing {
            user_id,
            json: frame_json(&ServerFrame::Typing { user_id, is_typing }),
        }
    }

    /// The event for a presence change.
    pub fn presence(user_id: Uuid, status: PresenceStatus) -> Self {
        RoomEvent::Presence {
            user_id,
            json: frame_json(&ServerFrame::PresenceUpdate { user_id, status }),
        }
    }
}

/// A channel with at least one open connection on this server.
#[derive(Debug)]
pub struct Room {
    /// The channel.
    pub channel_id: Uuid,
    /// Fan-out to every connection; capacity is `limits.room_buffer`. A
    /// connection that falls further behind lags and catches up from storage.
    /// Events are shared behind an `Arc`, so each of the ring's slots costs
    /// a pointer, not a whole event (rooms are many; most are quiet).
    pub(super) events: broadcast::Sender<Arc<RoomEvent>>,
    /// Open connections per user (presence).
    pub(super) online: Mutex<HashMap<Uuid, u32>>,
    /// The highest seq published here (0: none yet), so a message arriving
    /// both from this server's writer and from the cluster is sent once.
    published: AtomicI64,
}

impl Room {
    pub(super) fn new(channel_id: Uuid, capacity: usize) -> Self {
        let (events, _) = broadcast::channel(capacity);
        Room {
            channel_id,
            events,
            online: Mutex::new(HashMap::new()),
            published: AtomicI64::new(0),
        }
    }

    /// Publishes a stored message unless a later or equal seq went out
    /// already (connections fill any gap from storage).
    pub fn publish_message(&self, m: &Message) {
        if self.published.fetch_max(m.seq, Ordering::SeqCst) < m.seq {
            self.publish(RoomEvent::message(m));
        }
    }

    /// The highest seq published here (0 before the first).
    pub fn published_head(&self) -> i64 {
        self.published.load(Ordering::SeqCst)
    }

    /// Records the stored head for a room that has published nothing yet
    /// (its connections caught up from storage when they joined).
    pub fn seed_published_head(&self, head: i64) {
        self.published.fetch_max(head, Ordering::SeqCst);
    }

    /// Sends an event to every connection (none listening is not an error).
    pub fn publish(&self, event: RoomEvent) {
        let _ = self.events.send(Arc::new(event));
    }

    /// Users with an open connection here.
    pub fn online_users(&self) -> Vec<Uuid> {
        let online = self.online.lock().expect("room lock poisoned");
        let mut users: Vec<Uuid> = online.keys().copied().collect();
        users.sort();
        users
    }
}
