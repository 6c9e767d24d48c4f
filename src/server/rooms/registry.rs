//! `Rooms`: channel id to live [`Room`]. Joining returns a [`RoomGuard`]
//! whose drop does the leaving (presence offline at a user's last
//! connection, room removed when empty), so no exit path can leak a room.
//!
//! With several servers, a user is online in a channel when any server has
//! a connection of theirs there: `Rooms` also keeps the other servers'
//! rosters (fed by `server::bus::follower`), announces online at the first
//! connection anywhere and offline at the last, and reports its own
//! first/last connections as [`PresenceChange`]s for the other servers.

use crate::protocol::{ChannelId, UserId};
use crate::server::bus::server_id::ServerId;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{broadcast, mpsc};

use super::room::{Room, RoomEvent};
use crate::protocol::ws::PresenceStatus;

/// All rooms with open connections on this server.
#[derive(Debug)]
pub struct Rooms {
    rooms: Mutex<HashMap<ChannelId, Arc<Room>>>,
    capacity: usize,
    /// How long each room collects presence changes before sending them.
    presence_batch: Duration,
    /// Other servers' users: channel -> user -> servers with a connection.
    /// Locked after `rooms` and a room's `online`, never before.
    remote: Mutex<HashMap<ChannelId, HashMap<UserId, HashSet<ServerId>>>>,
    /// Where this server's first/last connections are reported (the
    /// cluster), when there are other servers.
    changes: Mutex<Option<mpsc::UnboundedSender<PresenceChange>>>,
}

/// A user's first connection to a channel on this server opened, or their
/// last one closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceChange {
    /// Channel.
    pub channel_id: ChannelId,
    /// User.
    pub user_id: UserId,
    /// Opened (true) or closed (false).
    pub online: bool,
}

/// Membership of one connection in a room; dropping it leaves the room.
#[derive(Debug)]
pub struct RoomGuard {
    rooms: Arc<Rooms>,
    /// The room joined.
    pub room: Arc<Room>,
    user_id: UserId,
}

impl Rooms {
    /// An empty registry; each room buffers `capacity` events and sends
    /// presence changes in batches of `presence_batch`.
    pub fn new(capacity: usize, presence_batch: Duration) -> Arc<Self> {
        Arc::new(Rooms {
            rooms: Mutex::new(HashMap::new()),
            capacity,
            presence_batch,
            remote: Mutex::new(HashMap::new()),
            changes: Mutex::new(None),
        })
    }

    /// Reports this server's presence changes from now on (the cluster
    /// calls it once at start-up).
    pub fn watch_presence(&self) -> mpsc::UnboundedReceiver<PresenceChange> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.changes.lock() = Some(tx);
        rx
    }

    fn report(&self, change: PresenceChange) {
        if let Some(tx) = self.changes.lock().as_ref() {
            let _ = tx.send(change);
        }
    }

    fn online_elsewhere(&self, channel_id: ChannelId, user_id: UserId) -> bool {
        self.remote
            .lock()
            .get(&channel_id)
            .is_some_and(|users| users.contains_key(&user_id))
    }

    /// This server's rosters, for a server that just joined the cluster.
    pub fn local_rosters(&self) -> Vec<(ChannelId, Vec<UserId>)> {
        let rooms = self.rooms.lock();
        rooms
            .iter()
            .map(|(id, room)| (*id, room.online_users()))
            .collect()
    }

    /// Another server reports `user_id` online or offline in a channel.
    /// The local room hears of it only when that changes whether the user
    /// is online anywhere.
    pub fn remote_presence(
        &self,
        server: ServerId,
        channel_id: ChannelId,
        user_id: UserId,
        online: bool,
    ) {
        let rooms = self.rooms.lock();
        let room = rooms.get(&channel_id).cloned();
        let local = room
            .as_ref()
            .is_some_and(|r| r.online.lock().contains_key(&user_id));
        let mut remote = self.remote.lock();
        let users = remote.entry(channel_id).or_default();
        let was = users.contains_key(&user_id);
        if online {
            users.entry(user_id).or_default().insert(server);
        } else if let Some(servers) = users.get_mut(&user_id) {
            servers.remove(&server);
            if servers.is_empty() {
                users.remove(&user_id);
            }
        }
        let is = users.contains_key(&user_id);
        if users.is_empty() {
            remote.remove(&channel_id);
        }
        drop(remote);
        drop(rooms);
        if was != is && !local {
            if let Some(room) = room {
                let status = if is {
                    PresenceStatus::Online
                } else {
                    PresenceStatus::Offline
                };
                room.announce(user_id, status);
            }
        }
    }

    /// A server left the cluster (said goodbye or stopped answering): its
    /// users go offline wherever no other server has them.
    pub fn forget_server(&self, server: ServerId) {
        let gone: Vec<(ChannelId, UserId)> = {
            let remote = self.remote.lock();
            remote
                .iter()
                .flat_map(|(channel, users)| {
                    users
                        .iter()
                        .filter(|(_, servers)| servers.contains(&server))
                        .map(move |(user, _)| (*channel, *user))
                })
                .collect()
        };
        for (channel, user) in gone {
            self.remote_presence(server, channel, user, false);
        }
    }

    /// Joins `user_id` to the channel's room: announces them online if this
    /// is their first connection (to the others: the new connection
    /// subscribes after the announcement), subscribes, and returns the
    /// roster (self included) for `presence.state`.
    pub fn join(
        self: &Arc<Self>,
        channel_id: ChannelId,
        user_id: UserId,
    ) -> (RoomGuard, broadcast::Receiver<Arc<RoomEvent>>, Vec<UserId>) {
        let mut rooms = self.rooms.lock();
        let room = rooms
            .entry(channel_id)
            .or_insert_with(|| Arc::new(Room::new(channel_id, self.capacity, self.presence_batch)))
            .clone();
        let mut online = room.online.lock();
        let count = online.entry(user_id).or_insert(0);
        *count += 1;
        let first_here = *count == 1;
        if first_here && !self.online_elsewhere(channel_id, user_id) {
            room.announce(user_id, PresenceStatus::Online);
        }
        let receiver = room.events.subscribe();
        let mut roster: Vec<UserId> = online.keys().copied().collect();
        if let Some(users) = self.remote.lock().get(&channel_id) {
            roster.extend(users.keys().filter(|u| !online.contains_key(u)));
        }
        roster.sort();
        if first_here {
            self.report(PresenceChange {
                channel_id,
                user_id,
                online: true,
            });
        }
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
    pub fn channel_ids(&self) -> Vec<ChannelId> {
        self.rooms.lock().keys().copied().collect()
    }

    /// The room of a channel, if anyone here is in it.
    pub fn get(&self, channel_id: ChannelId) -> Option<Arc<Room>> {
        self.rooms.lock().get(&channel_id).cloned()
    }

    /// Number of live rooms.
    pub fn len(&self) -> usize {
        self.rooms.lock().len()
    }

    /// Whether no room is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for RoomGuard {
    fn drop(&mut self) {
        let mut rooms = self.rooms.rooms.lock();
        let mut online = self.room.online.lock();
        if let Some(count) = online.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                online.remove(&self.user_id);
                let channel_id = self.room.channel_id;
                if !self.rooms.online_elsewhere(channel_id, self.user_id) {
                    self.room.announce(self.user_id, PresenceStatus::Offline);
                }
                self.rooms.report(PresenceChange {
                    channel_id,
                    user_id: self.user_id,
                    online: false,
                });
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
        let rooms = Rooms::new(16, Duration::ZERO);
        let (channel, alice, bob) = (
            ChannelId::new_random(),
            UserId::new_random(),
            UserId::new_random(),
        );
        let (watcher, mut rx, _) = rooms.join(channel, alice);
        let (bob1, _, roster) = rooms.join(channel, bob);
        assert_eq!(roster.len(), 2);
        let (bob2, _, _) = rooms.join(channel, bob);
        assert!(
            matches!(rx.try_recv().as_deref(), Ok(RoomEvent::Presence { updates }) if updates[0].0 == bob)
        );
        drop(bob1);
        assert!(
            rx.try_recv().is_err(),
            "no offline while bob has a connection"
        );
        drop(bob2);
        assert!(
            matches!(rx.try_recv().as_deref(), Ok(RoomEvent::Presence { updates }) if updates[0].0 == bob)
        );
        drop(watcher);
        assert!(rooms.is_empty(), "an empty room is removed");
    }

    #[test]
    fn users_on_other_servers_count_as_online_until_their_last_server_leaves() {
        let rooms = Rooms::new(16, Duration::ZERO);
        let mut changes = rooms.watch_presence();
        let (channel, alice, bob) = (
            ChannelId::new_random(),
            UserId::new_random(),
            UserId::new_random(),
        );
        let (s1, s2) = (ServerId::new_random(), ServerId::new_random());
        rooms.remote_presence(s1, channel, bob, true);
        let (_watcher, mut rx, roster) = rooms.join(channel, alice);
        assert_eq!(
            changes.try_recv().unwrap(),
            PresenceChange {
                channel_id: channel,
                user_id: alice,
                online: true
            }
        );
        assert!(roster.contains(&bob), "a remote user is in presence.state");
        rooms.remote_presence(s2, channel, bob, true);
        assert!(rx.try_recv().is_err(), "bob was online already");
        rooms.remote_presence(s1, channel, bob, false);
        assert!(rx.try_recv().is_err(), "bob is still on s2");
        rooms.forget_server(s2);
        assert!(
            matches!(rx.try_recv().as_deref(), Ok(RoomEvent::Presence { updates }) if updates[0].0 == bob)
        );
        // A local user also online elsewhere: no offline when the local connection ends.
        rooms.remote_presence(s1, channel, bob, true);
        let _ = rx.try_recv();
        let (bob_here, _, _) = rooms.join(channel, bob);
        drop(bob_here);
        assert!(rx.try_recv().is_err(), "bob is still on s1");
        assert_eq!(rooms.local_rosters(), vec![(channel, vec![alice])]);
    }

    /// Changes within one batch window reach each connection as one event,
    /// in the order they happened.
    #[tokio::test]
    async fn presence_changes_go_out_in_one_batch() {
        let rooms = Rooms::new(16, Duration::from_millis(50));
        let channel = ChannelId::new_random();
        let (alice, bob, carol) = (
            UserId::new_random(),
            UserId::new_random(),
            UserId::new_random(),
        );
        let (_watcher, mut rx, _) = rooms.join(channel, alice);
        let (bob_here, _, _) = rooms.join(channel, bob);
        let (_carol_here, _, _) = rooms.join(channel, carol);
        drop(bob_here);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let event = rx.try_recv().expect("one batch");
        let RoomEvent::Presence { updates } = event.as_ref() else {
            panic!("{event:?}");
        };
        let order: Vec<(UserId, bool)> = updates
            .iter()
            .map(|(user, json)| (*user, json.as_str().contains("online")))
            .collect();
        assert_eq!(
            order,
            [(alice, true), (bob, true), (carol, true), (bob, false)]
        );
        assert!(rx.try_recv().is_err(), "one event for the whole batch");
    }
}
