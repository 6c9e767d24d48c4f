//! `UserHub`: per-user fan-out of events that are not tied to the open
//! channel (`channel.activity`, `read.updated`), to every connection of
//! that user on this server.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Events buffered per user before a slow connection misses some (these
/// are hints for lists and badges; messages never travel this way).
const USER_EVENT_BUFFER: usize = 64;

/// A per-user event: the channel it is about and its serialised frame.
#[derive(Debug, Clone)]
pub struct UserEvent {
    /// The channel the event is about (a connection skips activity about
    /// its own channel, whose messages it already gets).
    pub channel_id: Uuid,
    /// Whether this is a `channel.activity` (skipped for the same channel).
    pub is_activity: bool,
    /// The frame.
    pub json: Utf8Bytes,
}

/// Online users' event channels.
#[derive(Debug, Default)]
pub struct UserHub {
    users: Mutex<HashMap<Uuid, broadcast::Sender<UserEvent>>>,
}

impl UserHub {
    /// Subscribes one connection of `user_id`.
    pub fn subscribe(&self, user_id: Uuid) -> broadcast::Receiver<UserEvent> {
        let mut users = self.users.lock().expect("user hub lock poisoned");
        users
            .entry(user_id)
            .or_insert_with(|| broadcast::channel(USER_EVENT_BUFFER).0)
            .subscribe()
    }

    /// Drops the user's entry once no connection listens.
    pub fn release(&self, user_id: Uuid) {
        let mut users = self.users.lock().expect("user hub lock poisoned");
        if users
            .get(&user_id)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            users.remove(&user_id);
        }
    }

    /// Sends to every connection of `user_id` (if online).
    pub fn send(&self, user_id: Uuid, event: UserEvent) {
        let users = self.users.lock().expect("user hub lock poisoned");
        if let Some(tx) = users.get(&user_id) {
            let _ = tx.send(event);
        }
    }

    /// Whether the user has a connection here.
    pub fn is_online(&self, user_id: Uuid) -> bool {
        self.users
            .lock()
            .expect("user hub lock poisoned")
            .contains_key(&user_id)
    }
}
