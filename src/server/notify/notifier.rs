//! Who gets which webhook event, from the messages this server stores
//! (each server tells about its own, so an event is sent once):
//! - `mention`: each mentioned member who is offline;
//! - `thread.reply`: each other participant of the reply's thread who is
//!   offline (and not mentioned by it);
//! - `unread.reminder`: a member who is offline when a main-timeline
//!   message arrives is reminded after the quiet time if they are still
//!   offline and still have unread messages; once per quiet time.
//!
//! Offline means no open WebSocket on this server and none in the
//! message's channel on any server (the room's roster follows the others).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::webhook::Webhook;
use crate::protocol::{ChannelId, Message, Timestamp, UserId};
use crate::server::chat::activity::MemberCache;
use crate::server::rooms::{Rooms, UserHub};
use crate::server::store::Store;

/// What the notifier reads and where it sends.
pub struct Notifier {
    /// Members, names, unread counts, thread participants.
    pub store: Arc<dyn Store>,
    /// This server's connections.
    pub users: Arc<UserHub>,
    /// Rooms (their rosters include the other servers' connections).
    pub rooms: Arc<Rooms>,
    /// Channel member lists, shared with the activity feed.
    pub members: Arc<MemberCache>,
    /// The delivery queue.
    pub webhook: Webhook,
    /// How long a member stays offline with unread messages before the
    /// reminder.
    pub reminder_after: Duration,
}

impl Notifier {
    /// Starts the task; it reads the messages this server stores from the
    /// returned sender and ends at `shutdown`.
    pub fn spawn(
        self,
        shutdown: CancellationToken,
    ) -> (mpsc::UnboundedSender<Message>, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        let task = tokio::spawn(async move {
            let mut reminders: HashMap<UserId, Instant> = HashMap::new();
            let mut tick = tokio::time::interval(
                (self.reminder_after / 4).clamp(Duration::from_millis(50), Duration::from_secs(5)),
            );
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    m = rx.recv() => match m {
                        Some(m) => self.on_stored(&m, &mut reminders).await,
                        None => break,
                    },
                    _ = tick.tick() => self.remind_due(&mut reminders).await,
                }
            }
        });
        (tx, task)
    }

    /// Whether `user` has no connection here and none in `channel_id`'s
    /// room on any server.
    fn offline(&self, user: UserId, channel_id: ChannelId) -> bool {
        !self.users.is_online(user)
            && self
                .rooms
                .get(channel_id)
                .is_none_or(|room| !room.online_users().contains(&user))
    }

    async fn on_stored(&self, m: &Message, reminders: &mut HashMap<UserId, Instant>) {
        let Some(members) = self
            .members
            .members(self.store.as_ref(), m.channel_id)
            .await
        else {
            return;
        };
        let others = || members.iter().copied().filter(|u| *u != m.user_id);
        let mentioned: Vec<UserId> = others()
            .filter(|u| m.mentions.contains(u) && self.offline(*u, m.channel_id))
            .collect();
        let mut repliers: Vec<UserId> = Vec::new();
        if let Some(parent) = m.parent_id {
            if let Ok(reads) = self.store.thread_reads(parent).await {
                repliers = reads
                    .into_iter()
                    .map(|(u, _)| u)
                    .filter(|u| *u != m.user_id && !mentioned.contains(u))
                    .filter(|u| members.contains(u) && self.offline(*u, m.channel_id))
                    .collect();
            }
        }
        if !mentioned.is_empty() || !repliers.is_empty() {
            let sender = match self.store.user_by_id(m.user_id).await {
                Ok(Some(u)) => u.display_name,
                _ => String::new(),
            };
            for (kind, users) in [("mention", &mentioned), ("thread.reply", &repliers)] {
                for user in users {
                    let name = self.channel_name(*user, m.channel_id).await;
                    self.webhook
                        .send(message_event(kind, *user, &name, m, &sender));
                }
            }
        }
        if m.in_main_timeline() {
            let due = Instant::now() + self.reminder_after;
            for user in others().filter(|u| self.offline(*u, m.channel_id)) {
                reminders.entry(user).or_insert(due);
            }
        }
    }

    /// Sends the reminders that are due to members still offline with
    /// unread messages.
    async fn remind_due(&self, reminders: &mut HashMap<UserId, Instant>) {
        let now = Instant::now();
        let due: Vec<UserId> = reminders
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(u, _)| *u)
            .collect();
        for user in due {
            reminders.remove(&user);
            if self.users.is_online(user) {
                continue;
            }
            let Ok(channels) = self.store.channels_for(user).await else {
                continue;
            };
            let unread: Vec<Value> = channels
                .iter()
                .filter(|c| c.unread_count > 0)
                .filter(|c| {
                    self.rooms
                        .get(c.id)
                        .is_none_or(|r| !r.online_users().contains(&user))
                })
                .map(|c| {
                    json!({
                        "id": c.id,
                        "name": c.name,
                        "unread_count": c.unread_count,
                        "unread_mentions": c.unread_mentions,
                    })
                })
                .collect();
            if !unread.is_empty() {
                self.webhook.send(json!({
                    "type": "unread.reminder",
                    "id": uuid::Uuid::new_v4(),
                    "created_at": Timestamp::from(chrono::Utc::now()).to_rfc3339(),
                    "user_id": user,
                    "channels": unread,
                }));
            }
        }
    }

    /// The channel's name as `user` lists it ("" when not found).
    async fn channel_name(&self, user: UserId, channel_id: ChannelId) -> String {
        self.store
            .channels_for(user)
            .await
            .ok()
            .and_then(|list| list.into_iter().find(|c| c.id == channel_id))
            .map(|c| c.name)
            .unwrap_or_default()
    }
}

/// A `mention` or `thread.reply` event for `user` about `m`.
fn message_event(kind: &str, user: UserId, channel_name: &str, m: &Message, sender: &str) -> Value {
    json!({
        "type": kind,
        "id": uuid::Uuid::new_v4(),
        "created_at": Timestamp::from(chrono::Utc::now()).to_rfc3339(),
        "user_id": user,
        "channel": {"id": m.channel_id, "name": channel_name},
        "message": {
            "id": m.id,
            "seq": m.seq,
            "parent_id": m.parent_id,
            "user_id": m.user_id,
            "sender_name": sender,
            "text": m.text,
        },
    })
}
