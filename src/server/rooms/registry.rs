//! `Rooms`: channel id to live [`Room`]. Joining returns a [`RoomGuard`]
//! whose drop does the leaving (presence offline at a user's last
//! connection, room removed when empty), so no exit path can leak a room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use uuid::Uuid;

use super::room::{Room, RoomEvent};
use crate::protocol::ws::PresenceStatus;

/// All rooms with open connections on this server.
#[derive(Debug)]
pub struct Rooms {
    rooms: Mutex<HashMap<Uuid, Arc<Room>>>,
    capacity: usize,
}

/// Membership of one connection in a room; dropping it leaves the room.
#[derive(Debug)]
pub struct RoomGuard {
    rooms: Arc<Rooms>,
    /// The room joined.
    pub room: Arc<Room>,
    user_id: Uuid,
}

impl Rooms {
    /// An empty registry; each room buffers `capacity` events.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Rooms {
            rooms: Mutex::new(HashMap::new()),
            capacity,
        })
    }

    /// Joins `user_id` to the channel's room: announces them online if this
    /// is their first connection (to the others: the new connection
    /// subscribes after the announcement), subscribes, and returns the
    /// roster (self included) for `presence.state`.
    pub fn join(
        self: &Arc<Self>,
        channel_id: Uuid,
        user_id: Uuid,
    ) -> (RoomGuard, broadcast::Receiver<RoomEvent>, Vec<Uuid>) {
        let mut rooms = self.rooms.lock().expect("rooms lock poisoned");
        let room = rooms
            .entry(channel_id)
            .or_insert_with(|| Arc::new(Room::new(channel_id, self.capacity)))
            .clone();
        let mut online = room.online.lock().expect("room lock poisoned");
        let count = online.entry(user_id).or_insert(0);
        *count += 1;
        if *count == 1 {
            room.publish(RoomEvent::presence(user_id, PresenceStatus::Online));
        }
        let receiver = room.events.subscribe();
        let mut roster: Vec<Uuid> = online.keys().copied().collect();
        roster.sort();
        drop(online);
        drop(rooms);
        let guard = RoomGuard {
            rooms: self.clone(),
            room,
            user_id,
        };
        (guard, receiver, roster)
    }

    /// Channels with a room here.
    pub fn channel_ids(&self) -> Vec<Uuid> {
        self.rooms
            .lock()
            .expect("rooms lock poisoned")
            .keys()
            .copied()
            .collect()
    }

    /// The room of a channel, if anyone here is in it.
    pub fn get(&self, channel_id: Uuid) -> Option<Arc<Room>> {
        self.rooms
            .lock()
            .expect("rooms lock poisoned")
            .get(&channel_id)
            .cloned()
    }

    /// Number of live rooms.
    pub fn len(&self) -> usize {
        self.rooms.lock().expect("rooms lock poisoned").len()
    }

    /// Whether no room is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for RoomGuard {
    fn drop(&mut self) {
        let mut rooms = self.rooms.rooms.lock().expect("rooms lock poisoned");
        let mut online = self.room.online.lock().expect("room lock poisoned");
        if let Some(count) = online.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                online.remove(&self.user_id);
                self.room
                    .publish(RoomEvent::presence(self.user_id, PresenceStatus::Offline));
            }
        }
        if online.is_empty() {
            // Only remove the entry if it is still this room.
            if rooms
                .get(&self.room.channel_id)
                .is_some_and(|r| Arc::ptr_eq(r, &self.room))
            {
                rooms.remove(&self.room.channel_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_is_announced_only_at_a_users_last_connection() {
        let rooms = Rooms::new(16);
        let (channel, alice, bob) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (watcher, mut rx, _) = rooms.join(channel, alice);
        let (bob1, _, roster) = rooms.join(channel, bob);
        assert_eq!(roster.len(), 2);
        let (bob2, _, _) = rooms.join(channel, bob);
        assert!(matches!(rx.try_recv(), Ok(RoomEvent::Presence { user_id, .. }) if user_id == bob));
        drop(bob1);
        assert!(
            rx.try_recv().is_err(),
            "no offline while bob has a connection"
        );
        drop(bob2);
        assert!(matches!(rx.try_recv(), Ok(RoomEvent::Presence { user_id, .. }) if user_id == bob));
        drop(watcher);
        assert!(rooms.is_empty(), "an empty room is removed");
    }
}
