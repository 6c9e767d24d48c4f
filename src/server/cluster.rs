//! Several servers on one PostgreSQL database behave as one. Postgres
//! LISTEN/NOTIFY is the bus, and it only ever carries wake-ups:
//!
//! - `chat_messages`: sent inside each message batch's transaction (so it
//!   goes out exactly when the batch commits), one notification per batch:
//!   `<instance>|<channel>:<first seq>:<last seq>,...`. A server that hears
//!   it reads those seqs from the table and publishes them to its local
//!   room and activity feed. Payloads stay far under NOTIFY's 8,000 bytes.
//! - `chat_events`: ephemeral events as small JSON: typing, read cursors,
//!   and presence (each server reports its users' first and last
//!   connection per channel, says hello at start so the others send their
//!   rosters, beats every sweep interval, and says goodbye at shutdown; a
//!   server silent for [`SILENT_BEATS`] beats is forgotten, its users go
//!   offline).
//!
//! A missed notification delays but never loses a message: rooms remember
//! the highest seq they published, connections fill any seq gap from
//! storage, and a sweep compares each local room with the stored head when
//! the listener reconnects and every `sweep` interval.

use crate::protocol::{ChannelId, Seq, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::protocol::{Message, ServerFrame};
use crate::server::chat::activity::MemberCache;
use crate::server::rooms::room::frame_json;
use crate::server::rooms::users::UserEvent;
use crate::server::rooms::{RoomEvent, Rooms, ServerId, UserHub};
use crate::server::store::{HistoryCursor, Store};

/// NOTIFY channel of stored-message wake-ups.
pub const MESSAGES_CHANNEL: &str = "chat_messages";
/// NOTIFY channel of ephemeral events.
pub const EVENTS_CHANNEL: &str = "chat_events";
/// Keep each payload under this (Postgres refuses 8,000 bytes and more).
pub const MAX_PAYLOAD: usize = 7_000;
/// Messages read per query when following a range.
const FETCH_PAGE: u32 = 500;
/// Users per roster event (keeps payloads small).
const ROSTER_CHUNK: usize = 100;
/// Beats a server may miss before it is forgotten.
pub const SILENT_BEATS: u32 = 5;

/// The seqs one batch stored in one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRange {
    /// Channel.
    pub channel_id: ChannelId,
    /// First seq stored.
    pub first: Seq,
    /// Last seq stored.
    pub last: Seq,
}

/// Encodes the wake-ups of one committed batch, split into payloads that
/// each fit [`MAX_PAYLOAD`].
pub fn encode_stored(instance: ServerId, ranges: &[StoredRange]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::new();
    for r in ranges {
        let item = format!("{}:{}:{}", r.channel_id, r.first, r.last);
        if !current.is_empty() && current.len() + 1 + item.len() > MAX_PAYLOAD {
            payloads.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current = format!("{instance}|{item}");
        } else {
            current.push(',');
            current.push_str(&item);
        }
    }
    if !current.is_empty() {
        payloads.push(current);
    }
    payloads
}

/// Decodes a `chat_messages` payload; `None` if it is malformed.
pub fn decode_stored(payload: &str) -> Option<(ServerId, Vec<StoredRange>)> {
    let (instance, items) = payload.split_once('|')?;
    let instance = ServerId(Uuid::parse_str(instance).ok()?);
    let ranges = items
        .split(',')
        .map(|item| {
            let mut parts = item.split(':');
            let range = StoredRange {
                channel_id: parts.next()?.parse().ok()?,
                first: Seq::new(parts.next()?.parse().ok()?),
                last: Seq::new(parts.next()?.parse().ok()?),
            };
            (parts.next().is_none() && range.first <= range.last).then_some(range)
        })
        .collect::<Option<Vec<_>>>()?;
    Some((instance, ranges))
}

/// The per-channel seq ranges of a list of stored messages, in first-seen
/// channel order.
pub fn ranges_of<'a>(stored: impl IntoIterator<Item = &'a Message>) -> Vec<StoredRange> {
    let mut ranges: Vec<StoredRange> = Vec::new();
    for m in stored {
        match ranges.iter_mut().find(|r| r.channel_id == m.channel_id) {
            Some(r) => {
                r.first = r.first.min(m.seq);
                r.last = r.last.max(m.seq);
            }
            None => ranges.push(StoredRange {
                channel_id: m.channel_id,
                first: m.seq,
                last: m.seq,
            }),
        }
    }
    ranges
}

/// An ephemeral event for the other servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum ClusterEvent {
    /// Someone started or stopped typing.
    #[serde(rename = "typing")]
    Typing {
        /// Sending server.
        i: ServerId,
        /// Channel.
        c: ChannelId,
        /// Typist.
        u: UserId,
        /// Typing or not.
        t: bool,
    },
    /// A user's read cursor moved (their other tabs follow).
    #[serde(rename = "read")]
    Read {
        /// Sending server.
        i: ServerId,
        /// Channel.
        c: ChannelId,
        /// User.
        u: UserId,
        /// The cursor.
        s: Seq,
    },
    /// A user's first connection to a channel on the sender opened (`on`)
    /// or their last one closed.
    #[serde(rename = "presence")]
    Presence {
        /// Sending server.
        i: ServerId,
        /// Channel.
        c: ChannelId,
        /// User.
        u: UserId,
        /// Online or offline.
        on: bool,
    },
    /// Users online in a channel on the sender (answer to `hello`).
    #[serde(rename = "roster")]
    Roster {
        /// Sending server.
        i: ServerId,
        /// Channel.
        c: ChannelId,
        /// Users.
        us: Vec<UserId>,
    },
    /// Access to a channel ended for a user (`u`), or for everyone (the
    /// channel was deleted): their sockets close.
    #[serde(rename = "revoke")]
    Revoke {
        /// Sending server.
        i: ServerId,
        /// Channel.
        c: ChannelId,
        /// User, or everyone.
        u: Option<UserId>,
    },
    /// A server started: the others send their rosters.
    #[serde(rename = "hello")]
    Hello {
        /// Sending server.
        i: ServerId,
    },
    /// A server is alive.
    #[serde(rename = "beat")]
    Beat {
        /// Sending server.
        i: ServerId,
    },
    /// A server is shutting down.
    #[serde(rename = "bye")]
    Bye {
        /// Sending server.
        i: ServerId,
    },
}

impl ClusterEvent {
    fn instance(&self) -> ServerId {
        match self {
            ClusterEvent::Typing { i, .. }
            | ClusterEvent::Read { i, .. }
            | ClusterEvent::Presence { i, .. }
            | ClusterEvent::Roster { i, .. }
            | ClusterEvent::Revoke { i, .. }
            | ClusterEvent::Hello { i }
            | ClusterEvent::Beat { i }
            | ClusterEvent::Bye { i } => *i,
        }
    }
}

/// This server's place in the cluster: its id and the database it shares.
#[derive(Debug)]
pub struct Cluster {
    /// This server's id (new at every start).
    pub instance: ServerId,
    pool: PgPool,
    /// Announcements go out one at a time, in order (an "offline" must not
    /// overtake the "online" before it).
    outbox: mpsc::UnboundedSender<ClusterEvent>,
}

impl Cluster {
    /// A cluster membership over `pool` for the server `instance`; starts
    /// the task that sends announcements in order.
    pub fn new(instance: ServerId, pool: PgPool) -> Arc<Self> {
        let (outbox, mut queue) = mpsc::unbounded_channel::<ClusterEvent>();
        let sender_pool = pool.clone();
        tokio::spawn(async move {
            while let Some(event) = queue.recv().await {
                notify_event(&sender_pool, &event).await;
            }
        });
        Arc::new(Cluster {
            instance,
            pool,
            outbox,
        })
    }

    /// Tells the other servers about a typing change (fire and forget:
    /// typing is advisory).
    pub fn announce_typing(&self, channel_id: ChannelId, user_id: UserId, is_typing: bool) {
        self.announce(ClusterEvent::Typing {
            i: self.instance,
            c: channel_id,
            u: user_id,
            t: is_typing,
        });
    }

    /// Tells the other servers that a user's read cursor moved.
    pub fn announce_read(&self, channel_id: ChannelId, user_id: UserId, seq: Seq) {
        self.announce(ClusterEvent::Read {
            i: self.instance,
            c: channel_id,
            u: user_id,
            s: seq,
        });
    }

    /// Tells the other servers to close a revoked user's (or everyone's)
    /// sockets on a channel.
    pub fn announce_revoke(&self, channel_id: ChannelId, user_id: Option<UserId>) {
        self.announce(ClusterEvent::Revoke {
            i: self.instance,
            c: channel_id,
            u: user_id,
        });
    }

    fn announce(&self, event: ClusterEvent) {
        let _ = self.outbox.send(event);
    }

    /// Sends at once, bypassing the queue (hello and goodbye).
    async fn send(&self, event: &ClusterEvent) {
        notify_event(&self.pool, event).await;
    }
}

async fn notify_event(pool: &PgPool, event: &ClusterEvent) {
    let payload = serde_json::to_string(event).expect("cluster events serialise");
    if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(EVENTS_CHANNEL)
        .bind(payload)
        .execute(pool)
        .await
    {
        tracing::debug!(error = %e, "cluster event not sent");
    }
}

/// What the follower needs of the server.
pub struct Follower {
    /// This server.
    pub cluster: Arc<Cluster>,
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
    /// Starts listening; runs until `shutdown`.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move { self.run(shutdown).await })
    }

    async fn run(self, shutdown: CancellationToken) {
        let mut listener = loop {
            match self.listen().await {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(error = %e, "cluster listener not connected; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        let me = self.cluster.instance;
        let mut changes = self.rooms.watch_presence();
        self.cluster.send(&ClusterEvent::Hello { i: me }).await;
        let mut heard: HashMap<ServerId, Instant> = HashMap::new();
        let mut sweep = tokio::time::interval(self.sweep);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    self.cluster.send(&ClusterEvent::Bye { i: me }).await;
                    return;
                }
                Some(change) = changes.recv() => {
                    self.cluster.announce(ClusterEvent::Presence {
                        i: me,
                        c: change.channel_id,
                        u: change.user_id,
                        on: change.online,
                    });
                }
                _ = sweep.tick() => {
                    self.cluster.announce(ClusterEvent::Beat { i: me });
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
                next = listener.try_recv() => match next {
                    Ok(Some(n)) => match n.channel() {
                        MESSAGES_CHANNEL => self.on_stored(n.payload()).await,
                        EVENTS_CHANNEL => self.on_event(n.payload(), &mut heard),
                        _ => {}
                    },
                    // The connection dropped and came back: notifications
                    // may have been missed.
                    Ok(None) => self.sweep_rooms().await,
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster listener failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
            }
        }
    }

    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.cluster.pool).await?;
        listener
            .listen_all([MESSAGES_CHANNEL, EVENTS_CHANNEL])
            .await?;
        Ok(listener)
    }

    /// Another server stored messages: read and publish them here.
    async fn on_stored(&self, payload: &str) {
        let Some((instance, ranges)) = decode_stored(payload) else {
            tracing::warn!("malformed cluster wake-up ignored");
            return;
        };
        if instance == self.cluster.instance {
            return; // our own writer published these already
        }
        for r in ranges {
            self.deliver(r.channel_id, r.first.prev(), r.last, true)
                .await;
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

    /// Backstop: every local room catches up with the stored head.
    async fn sweep_rooms(&self) {
        for channel_id in self.rooms.channel_ids() {
            let Some(room) = self.rooms.get(channel_id) else {
                continue;
            };
            let Ok(head) = self.store.head_seq(channel_id).await else {
                continue;
            };
            let published = room.published_head();
            if published == Seq::ZERO {
                // A new room: its connections caught up from storage at join.
                room.seed_published_head(head);
            } else if head > published {
                self.deliver(channel_id, published, head, false).await;
            }
        }
    }

    fn on_event(&self, payload: &str, heard: &mut HashMap<ServerId, Instant>) {
        let Ok(event) = serde_json::from_str::<ClusterEvent>(payload) else {
            tracing::warn!("malformed cluster event ignored");
            return;
        };
        let server = event.instance();
        if server == self.cluster.instance {
            return;
        }
        if matches!(event, ClusterEvent::Bye { .. }) {
            heard.remove(&server);
            self.rooms.forget_server(server);
            return;
        }
        heard.insert(server, Instant::now());
        match event {
            ClusterEvent::Presence { c, u, on, .. } => {
                self.rooms.remote_presence(server, c, u, on);
            }
            ClusterEvent::Revoke { c, u, .. } => {
                self.member_cache.forget(c);
                if let Some(room) = self.rooms.get(c) {
                    room.publish(RoomEvent::Revoked { user_id: u });
                }
            }
            ClusterEvent::Roster { c, us, .. } => {
                for u in us {
                    self.rooms.remote_presence(server, c, u, true);
                }
            }
            ClusterEvent::Hello { .. } => {
                let me = self.cluster.instance;
                for (channel, users) in self.rooms.local_rosters() {
                    for chunk in users.chunks(ROSTER_CHUNK) {
                        self.cluster.announce(ClusterEvent::Roster {
                            i: me,
                            c: channel,
                            us: chunk.to_vec(),
                        });
                    }
                }
            }
            ClusterEvent::Beat { .. } | ClusterEvent::Bye { .. } => {}
            ClusterEvent::Typing { c, u, t, .. } => {
                if let Some(room) = self.rooms.get(c) {
                    room.publish(RoomEvent::typing(u, t));
                }
            }
            ClusterEvent::Read { c, u, s, .. } => self.users.send(
                u,
                Arc::new(UserEvent {
                    channel_id: c,
                    is_activity: false,
                    json: frame_json(&ServerFrame::ReadUpdated {
                        channel_id: c,
                        last_read_seq: s,
                    }),
                }),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, MessageId};

    #[test]
    fn wake_ups_round_trip_and_split_under_the_payload_limit() {
        let instance = ServerId::new_random();
        let ranges: Vec<StoredRange> = (0..400)
            .map(|n| StoredRange {
                channel_id: ChannelId::from_uuid(Uuid::from_u128(n)),
                first: Seq::new(1_000_000 + n as i64),
                last: Seq::new(1_000_010 + n as i64),
            })
            .collect();
        let payloads = encode_stored(instance, &ranges);
        assert!(payloads.len() > 1, "400 channels need several payloads");
        let mut decoded = Vec::new();
        for p in &payloads {
            assert!(p.len() <= MAX_PAYLOAD, "{} bytes", p.len());
            let (i, r) = decode_stored(p).expect("decodes");
            assert_eq!(i, instance);
            decoded.extend(r);
        }
        assert_eq!(decoded, ranges);
    }

    #[test]
    fn malformed_wake_ups_are_refused() {
        let i = ServerId(Uuid::nil());
        for bad in [
            "",
            "x|y",
            &format!("{i}|{i}:1"),
            &format!("{i}|{i}:2:1"),
            &format!("{i}|{i}:1:2:3"),
            &format!("{i}|nope:1:2"),
        ] {
            assert_eq!(decode_stored(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_cover_each_channel_of_a_batch() {
        let c1 = ChannelId::from_uuid(Uuid::from_u128(1));
        let c2 = ChannelId::from_uuid(Uuid::from_u128(2));
        let m = |channel_id, seq| Message {
            id: MessageId::new_random(),
            channel_id,
            seq: Seq::new(seq),
            user_id: UserId::from_uuid(Uuid::nil()),
            text: String::new(),
            created_at: chrono::Utc::now().into(),
            updated_at: None,
            client_id: ClientId::default(),
        };
        let batch = [m(c1, 5), m(c2, 1), m(c1, 6), m(c1, 7)];
        assert_eq!(
            ranges_of(&batch),
            vec![
                StoredRange {
                    channel_id: c1,
                    first: Seq::new(5),
                    last: Seq::new(7)
                },
                StoredRange {
                    channel_id: c2,
                    first: Seq::new(1),
                    last: Seq::new(1)
                },
            ]
        );
    }
}
