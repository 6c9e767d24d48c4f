//! `UserHub`: per-user fan-out of events that are not tied to the open
//! channel (`channel.activity`, `read.updated`), to every connection of
//! that user on this server.

use crate::protocol::{ChannelId, UserId};
use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Events buffered per user before a slow connection misses some (these
/// are hints for lists and badges; messages never travel this way).
const USER_EVENT_BUFFER: usize = 32;

/// A per-user event: the channel it is about and its serialised frame.
#[derive(Debug, Clone)]
pub struct UserEvent {
    /// The channel the event is about (a connection skips activity about
    /// its own channel, whose messages it already gets).
    pub channel_id: ChannelId,
    /// Whether this is a `channel.activity` (skipped for the same channel).
    pub is_activity: bool,
    /// The frame.
    pub json: Utf8Bytes,
}

/// Online users' event channels.
#[derive(Debug, Default)]
pub struct UserHub {
    users: Mutex<HashMap<UserId, OnlineUser>>,
}

/// One online user: the fan-out to their connections, and how many of
/// them are open on each channel.
#[derive(Debug)]
struct OnlineUser {
    /// Events are shared behind an `Arc`, so the ring each online user
    /// holds costs a pointer per slot and one event serves every member.
    events: broadcast::Sender<Arc<UserEvent>>,
    connections: HashMap<ChannelId, u32>,
}

impl UserHub {
    /// Subscribes one connection of `user_id`, open on `channel_id`.
    pub fn subscribe(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
    ) -> broadcast::Receiver<Arc<UserEvent>> {
        let mut users = self.users.lock();
        let user = users.entry(user_id).or_insert_with(|| OnlineUser {
            events: broadcast::channel(USER_EVENT_BUFFER).0,
            connections: HashMap::new(),
        });
        *user.connections.entry(channel_id).or_insert(0) += 1;
        user.events.subscribe()
    }

    /// Ends one connection's subscription (its receiver is dropped by the
    /// caller); the user's entry goes with their last connection.
    pub fn release(&self, user_id: UserId, channel_id: ChannelId) {
        let mut users = self.users.lock();
        let Some(user) = users.get_mut(&user_id) else {
            return;
        };
        if let Some(n) = user.connections.get_mut(&channel_id) {
            *n -= 1;
            if *n == 0 {
                user.connections.remove(&channel_id);
            }
        }
        if user.connections.is_empty() {
            users.remove(&user_id);
        }
    }

    /// Sends to every connection of `user_id` (if online). Activity about
    /// a channel is not sent to a user whose only open channel it is: those
    /// connections get its messages already, and would wake for nothing.
    pub fn send(&self, user_id: UserId, event: Arc<UserEvent>) {
        self.send_to_each(std::iter::once(user_id), &event);
    }

    /// [`UserHub::send`] to each of `users`, under one lock (a channel's
    /// activity goes to all its members at once).
    pub fn send_to_each(&self, users: impl IntoIterator<Item = UserId>, event: &Arc<UserEvent>) {
        let online = self.users.lock();
        for user_id in users {
            if let Some(user) = online.get(&user_id) {
                let only_there =
                    user.connections.len() == 1 && user.connections.contains_key(&event.channel_id);
                if !(event.is_activity && only_there) {
                    let _ = user.events.send(event.clone());
                }
            }
        }
    }

    /// Whether the user has a connection here.
    pub fn is_online(&self, user_id: UserId) -> bool {
        self.users.lock().contains_key(&user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(channel_id: ChannelId) -> Arc<UserEvent> {
        Arc::new(UserEvent {
            channel_id,
            is_activity: true,
            json: Utf8Bytes::from_static("{}"),
        })
    }

    #[test]
    fn activity_skips_users_whose_only_channel_it_is() {
        let hub = UserHub::default();
        let (user, a, b) = (
            UserId::new_random(),
            ChannelId::new_random(),
            ChannelId::new_random(),
        );
        let mut in_a = hub.subscribe(user, a);
        hub.send(user, activity(a));
        assert!(in_a.try_recv().is_err(), "same channel: nothing to tell");
        hub.send(user, activity(b));
        assert!(in_a.try_recv().is_ok(), "another channel: a hint");
        let mut in_b = hub.subscribe(user, b);
        hub.send(user, activity(a));
        assert!(in_b.try_recv().is_ok(), "the tab on b hears about a");
        drop(in_b);
        hub.release(user, b);
        assert!(hub.is_online(user));
        drop(in_a);
        hub.release(user, a);
        assert!(!hub.is_online(user));
    }
}
