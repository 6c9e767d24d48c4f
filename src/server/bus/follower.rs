//! The follower: applies what the other servers publish to this server's
//! rooms and users, whatever the bus engine.
//!
//! - Stored-message wake-ups: the ranges are read from the store and
//!   published to the local room (each seq once) and the activity feed.
//! - Change wake-ups: the messages changed after the room's published rev
//!   are read from the store and published as `message.updated` (each rev
//!   once); read cursors become `member.read` for the local connections.
//! - Presence: this server reports its users' first and last connection per
//!   channel, says hello at start (the others answer with their rosters),
//!   beats every sweep interval and says goodbye at shutdown; a server
//!   silent for [`SILENT_BEATS`] beats is forgotten and its users go
//!   offline.
//! - A missed wake-up delays but never loses a message: rooms remember the
//!   highest seq they published, connections fill any gap from storage, and
//!   a sweep compares each local room with the stored head after a gap in
//!   the subscription and every sweep interval.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::server_id::ServerId;
use super::{Bus, BusEvent, BusSubscription, Heard};
use crate::protocol::{ChannelId, MemberRead, Message, Rev, Seq, ServerFrame};
use crate::server::chat::activity::MemberCache;
use crate::server::chat::change_writer::announce_unread_after_deletes;
use crate::server::chat::thread_reads::send_thread_read;
use crate::server::rooms::room::frame_json;
use crate::server::rooms::users::UserEvent;
use crate::server::rooms::{RoomEvent, Rooms, UserHub};
use crate::server::store::{HistoryCursor, Store, ThreadRead};

/// Messages read per query when following a range.
const FETCH_PAGE: u32 = 500;
/// Users per roster event (keeps payloads small).
const ROSTER_CHUNK: usize = 100;
/// Beats a server may miss before it is forgotten.
pub const SILENT_BEATS: u32 = 5;

/// What the follower needs of the server.
pub struct Follower {
    /// The bus to the other servers.
    pub bus: Arc<dyn Bus>,
    /// Where messages are read from.
    pub store: Arc<dyn Store>,
    /// Local rooms.
    pub rooms: Arc<Rooms>,
    /// Local users (read cursors of their other tabs).
    pub users: Arc<UserHub>,
    /// The activity feed (channel lists of local users).
    pub activity: mpsc::UnboundedSender<Message>,
    /// The activity feed's member lists (forgotten on revocation).
    pub member_cache: Arc<MemberCache>,
    /// How often local rooms are compared with the stored heads.
    pub sweep: Duration,
}

impl Follower {
    /// Starts following; runs until `shutdown`, and ends at once when the
    /// bus has no other servers to hear. Start-up does not wait for the
    /// bus: an unreachable one is retried every second.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            let subscription = loop {
                match self.bus.subscribe().await {
                    Ok(None) => return,
                    Ok(Some(subscription)) => break subscription,
                    Err(e) => {
                        tracing::warn!(error = %e, "bus not reachable; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            };
            self.run(subscription, shutdown).await
        })
    }

    async fn run(self, mut subscription: Box<dyn BusSubscription>, shutdown: CancellationToken) {
        let me = self.bus.server_id();
        let mut changes = self.rooms.watch_presence();
        self.bus.publish_now(BusEvent::Hello).await;
        let mut heard: HashMap<ServerId, Instant> = HashMap::new();
        let mut sweep = tokio::time::interval(self.sweep);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    self.bus.publish_now(BusEvent::Bye).await;
                    return;
                }
                Some(change) = changes.recv() => {
                    self.bus.publish(BusEvent::Presence {
                        c: change.channel_id,
                        u: change.user_id,
                        on: change.online,
                    });
                }
                _ = sweep.tick() => {
                    self.bus.publish(BusEvent::Beat);
                    let silent = self.sweep * SILENT_BEATS;
                    heard.retain(|server, at| {
                        let alive = at.elapsed() < silent;
                        if !alive {
                            tracing::warn!(%server, "a server went silent; forgetting its users");
                            self.rooms.forget_server(*server);
                        }
                        alive
                    });
                    self.sweep_rooms().await;
                }
                next = subscription.next() => match next {
                    Ok(Heard::Stored { from, ranges }) if from != me => {
                        for r in ranges {
                            self.deliver(r.channel_id, r.first.prev(), r.last, true).await;
                        }
                    }
                    // Our own writer published these already.
                    Ok(Heard::Stored { .. }) => {}
                    Ok(Heard::Changed { from, ranges }) if from != me => {
                        for r in ranges {
                            self.deliver_changes(r.channel_id, r.first.get() - 1).await;
                        }
                    }
                    // Our own change writer published these already.
                    Ok(Heard::Changed { .. }) => {}
                    Ok(Heard::Event { from, event }) if from != me => {
                        self.on_event(from, event, &mut heard);
                    }
                    Ok(Heard::Event { .. }) => {}
                    // Wake-ups may have been missed.
                    Ok(Heard::Gap) => self.sweep_rooms().await,
                    Err(e) => {
                        tracing::warn!(error = %e, "bus subscription failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
            }
        }
    }

    /// Reads `(after, until]` of a channel and publishes it to the local
    /// room (each seq once) and, for remote writes, the activity feed.
    async fn deliver(&self, channel_id: ChannelId, mut after: Seq, until: Seq, activity: bool) {
        while after < until {
            let limit = u32::try_from(until.count_after(after))
                .unwrap_or(FETCH_PAGE)
                .min(FETCH_PAGE);
            let page = match self
                .store
                .history(channel_id, HistoryCursor::AfterSeq(after), limit)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    // The sweep retries.
                    tracing::warn!(%channel_id, error = %e, "following messages failed");
                    return;
                }
            };
            let Some(last) = page.messages.last().map(|m| m.seq) else {
                return;
            };
            let room = self.rooms.get(channel_id);
            for m in page.messages {
                if let Some(room) = &room {
                    room.publish_message(&m);
                }
                if activity {
                    let _ = self.activity.send(m);
                }
            }
            after = last;
        }
    }

    /// Reads the messages of a channel changed after `after` and publishes
    /// their current state to the local room (each rev once); a deleted
    /// one may change local members' unread counts.
    async fn deliver_changes(&self, channel_id: ChannelId, after: i64) {
        let Some(room) = self.rooms.get(channel_id) else {
            return;
        };
        let mut after = Rev::new(after.max(0)).max(room.published_rev());
        loop {
            let page = match self
                .store
                .changed_after(channel_id, after, FETCH_PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    // The sweep retries.
                    tracing::warn!(%channel_id, error = %e, "following changes failed");
                    return;
                }
            };
            let deleted: Vec<Message> = page.iter().filter(|m| m.deleted).cloned().collect();
            // The page holds every message changed after `after`, by rev: each
            // accounts for the revs since the one before it (an earlier change
            // to a message changed again is in its newer state, further on).
            for m in &page {
                room.publish_update(m, after.next());
                after = after.max(m.rev);
            }
            if !deleted.is_empty() {
                tokio::spawn(announce_unread_after_deletes(
                    self.store.clone(),
                    self.users.clone(),
                    deleted,
                ));
            }
            if page.len() < FETCH_PAGE as usize {
                return;
            }
        }
    }

    /// Backstop: every local room catches up with the stored heads.
    async fn sweep_rooms(&self) {
        for channel_id in self.rooms.channel_ids() {
            let Some(room) = self.rooms.get(channel_id) else {
                continue;
            };
            let Ok(head) = self.store.head_seq(channel_id).await else {
                continue;
            };
            // A room that published no message yet delivers from the oldest
            // head one of its connections read before joining: a message
            // committed since may be one whose wake-up is still on its way
            // (repeats are skipped by the room and the connections).
            let from = match room.published_head() {
                Seq::ZERO => room.joined_seq().unwrap_or(head),
                published => published,
            };
            if head > from {
                self.deliver(channel_id, from, head, false).await;
            } else if room.published_head() == Seq::ZERO {
                room.seed_published_head(head);
            }
            let Ok(head_rev) = self.store.head_rev(channel_id).await else {
                continue;
            };
            // A room that published no change yet delivers from the oldest
            // rev one of its connections held at join (repeats are skipped
            // by the connections; a missed wake-up is not lost).
            let from = match room.published_rev() {
                Rev::ZERO => room.joined_rev().unwrap_or(head_rev),
                published => published,
            };
            if head_rev > from {
                self.deliver_changes(channel_id, from.get()).await;
            } else if room.published_rev() == Rev::ZERO {
                room.seed_published_rev(head_rev);
            }
        }
    }

    fn on_event(&self, server: ServerId, event: BusEvent, heard: &mut HashMap<ServerId, Instant>) {
        if matches!(event, BusEvent::Bye) {
            heard.remove(&server);
            self.rooms.forget_server(server);
            return;
        }
        heard.insert(server, Instant::now());
        match event {
            BusEvent::Presence { c, u, on } => {
                self.rooms.remote_presence(server, c, u, on);
            }
            BusEvent::Revoke { c, u } => {
                self.member_cache.forget(c);
                if let Some(room) = self.rooms.get(c) {
                    room.publish(RoomEvent::Revoked { user_id: u });
                }
            }
            BusEvent::Roster { c, us } => {
                for u in us {
                    self.rooms.remote_presence(server, c, u, true);
                }
            }
            BusEvent::Hello => {
                for (channel, users) in self.rooms.local_rosters() {
                    for chunk in users.chunks(ROSTER_CHUNK) {
                        self.bus.publish(BusEvent::Roster {
                            c: channel,
                            us: chunk.to_vec(),
                        });
                    }
                }
            }
            BusEvent::Beat | BusEvent::Bye => {}
            BusEvent::Typing { c, u, t, p } => {
                if let Some(room) = self.rooms.get(c) {
                    room.publish(RoomEvent::typing_in(u, p, t));
                }
            }
            BusEvent::ThreadRead { c, u, p, s, n } => {
                let read = ThreadRead {
                    channel_id: c,
                    last_read_seq: s,
                    unread_count: n,
                };
                send_thread_read(&self.users, u, p, read);
            }
            BusEvent::Read { c, u, s, m } => {
                self.users.send(
                    u,
                    Arc::new(UserEvent {
                        channel_id: c,
                        is_activity: false,
                        json: frame_json(&ServerFrame::ReadUpdated {
                            channel_id: c,
                            last_read_seq: s,
                            unread_mentions: m,
                        }),
                    }),
                );
                // "Seen by" for this server's connections of the channel.
                if let Some(room) = self.rooms.get(c) {
                    let store = self.store.clone();
                    tokio::spawn(async move {
                        if store.read_receipts(c).await.unwrap_or(false) {
                            room.announce_read(MemberRead {
                                user_id: u,
                                last_read_seq: s,
                            });
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ClientId;
    use crate::server::bus::local::LocalBus;
    use crate::server::chat::send::SendExtras;
    use crate::server::config::Settings;
    use crate::server::demo::{DEMO_CHANNELS, DEMO_USERS};
    use crate::server::startup::Application;
    use crate::server::store::InsertOutcome;

    /// A message another server stored after a connection here read the
    /// head, and before this server heard its wake-up, reaches the room
    /// through the sweep: the sweep never takes the stored head as
    /// published for a room whose connection joined before it.
    #[tokio::test]
    async fn a_sweep_before_the_wake_up_delivers_what_came_after_the_join() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::defaults_for(dir.path().to_path_buf());
        settings.listen_addr = "127.0.0.1:0".parse().unwrap();
        settings.demo_data = true;
        let app = Application::build(settings).await.unwrap();
        let chat = app.state().chat.clone();
        let channel_id = DEMO_CHANNELS[0].0;
        let (head, head_rev) = (
            chat.store.head_seq(channel_id).await.unwrap(),
            chat.store.head_rev(channel_id).await.unwrap(),
        );

        // "This server": rooms of its own, so the other server's writer
        // (the application's) publishes nothing into them.
        let rooms = Rooms::new(64, Duration::ZERO);
        let (guard, mut events, _) = rooms.join(channel_id, DEMO_USERS[0].0);
        guard.room.note_joined_at(head, head_rev);
        let (activity, _activity_rx) = mpsc::unbounded_channel();
        let follower = Follower {
            bus: Arc::new(LocalBus::new(ServerId::new_random())),
            store: chat.store.clone(),
            rooms: rooms.clone(),
            users: chat.users.clone(),
            activity,
            member_cache: chat.member_cache.clone(),
            sweep: Duration::from_secs(3600),
        };

        let outcome = chat
            .send(
                DEMO_USERS[1].0,
                channel_id,
                "from the other server",
                ClientId::from("other-1"),
                SendExtras::default(),
            )
            .await
            .unwrap();
        let InsertOutcome::Stored(sent, _) = outcome else {
            panic!("a new clientId is stored");
        };
        follower.sweep_rooms().await;
        // The wake-up arrives after the sweep: nothing is sent twice.
        follower.deliver(channel_id, head, sent.seq, true).await;

        let mut seqs = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let RoomEvent::Message { seq, .. } = &*event {
                seqs.push(*seq);
            }
        }
        assert_eq!(seqs, [sent.seq]);
        drop(guard);
    }
}
