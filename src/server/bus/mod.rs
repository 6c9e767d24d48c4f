//! The seam between several servers on one database: a [`Bus`] carries what
//! one server must tell the others (typing, read cursors, revocations,
//! presence, and wake-ups for the messages it committed), and the
//! engine-neutral [`follower`] applies what the others say to this
//! server's rooms.
//!
//! The rule book publishes through `Arc<dyn Bus>` without asking whether
//! other servers exist: on SQLite the [`local::LocalBus`] drops every event
//! and has nothing to subscribe to, so no follower runs. On Postgres the
//! [`postgres::PgBus`] uses LISTEN/NOTIFY.
//!
//! # Another engine
//!
//! A bus on another engine (NATS, Redis streams, ...) implements the trait
//! and nothing else changes:
//!
//! - `publish` / `publish_now`: send the [`BusEvent`] with this server's
//!   [`ServerId`] (any encoding; the Postgres one is compact JSON).
//! - `stored`: publish the seq ranges of a committed batch. Postgres does
//!   nothing here because its store sends them inside the commit
//!   ([`crate::server::store::CommitNotice`]); any other engine publishes
//!   them now, after the commit. A wake-up lost between the commit and the
//!   publish only delays delivery: the follower's sweep compares each room
//!   with the stored head.
//! - `subscribe`: a stream of [`Heard`] items, with [`Heard::Gap`] whenever
//!   the connection dropped and came back (the follower then sweeps).
//!
//! Delivery guarantees come from storage, not from the bus: every message
//! is read from the store by seq, so a bus may lose, repeat or reorder
//! wake-ups without a client ever seeing a gap, a repeat or a reordering.

pub mod follower;
pub mod local;
pub mod postgres;
pub mod server_id;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::protocol::{ChannelId, Message, MessageId, Rev, Seq, UserId};
pub use server_id::ServerId;

/// An event for the other servers. Field names are short: they travel in
/// every payload (Postgres NOTIFY payloads are limited to 8,000 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum BusEvent {
    /// Someone started or stopped typing.
    #[serde(rename = "typing")]
    Typing {
        /// Channel.
        c: ChannelId,
        /// Typist.
        u: UserId,
        /// Typing or not.
        t: bool,
        /// In a thread: its parent (absent: the channel).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p: Option<MessageId>,
    },
    /// A user's read cursor moved (their other tabs follow).
    #[serde(rename = "read")]
    Read {
        /// Channel.
        c: ChannelId,
        /// User.
        u: UserId,
        /// The cursor.
        s: Seq,
        /// The user's unread mentions in the channel after the move.
        #[serde(default)]
        m: i64,
    },
    /// A user's thread cursor moved (their other tabs follow).
    #[serde(rename = "thread.read")]
    ThreadRead {
        /// Channel.
        c: ChannelId,
        /// User.
        u: UserId,
        /// The thread's parent.
        p: MessageId,
        /// The cursor.
        s: Seq,
        /// The user's unread replies after it.
        n: i64,
    },
    /// A user's first connection to a channel on the sender opened (`on`)
    /// or their last one closed.
    #[serde(rename = "presence")]
    Presence {
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
        /// Channel.
        c: ChannelId,
        /// Users.
        us: Vec<UserId>,
    },
    /// Access to a channel ended for a user (`u`), or for everyone (the
    /// channel was deleted): their sockets close.
    #[serde(rename = "revoke")]
    Revoke {
        /// Channel.
        c: ChannelId,
        /// User, or everyone.
        u: Option<UserId>,
    },
    /// A server started: the others send their rosters.
    #[serde(rename = "hello")]
    Hello,
    /// A server is alive.
    #[serde(rename = "beat")]
    Beat,
    /// A server is shutting down.
    #[serde(rename = "bye")]
    Bye,
}

/// The positions (seqs or revs) one commit wrote in one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelRange<P> {
    /// Channel.
    pub channel_id: ChannelId,
    /// First position written.
    pub first: P,
    /// Last position written.
    pub last: P,
}

/// The seqs one commit stored in one channel.
pub type StoredRange = ChannelRange<Seq>;

/// The revs one batch of changes took in one channel.
pub type ChangedRange = ChannelRange<Rev>;

/// The per-channel ranges of `position` over a list of messages, in
/// first-seen channel order.
fn ranges_by<'a, P: Copy + Ord>(
    messages: impl IntoIterator<Item = &'a Message>,
    position: impl Fn(&Message) -> P,
) -> Vec<ChannelRange<P>> {
    let mut ranges: Vec<ChannelRange<P>> = Vec::new();
    for m in messages {
        let p = position(m);
        match ranges.iter_mut().find(|r| r.channel_id == m.channel_id) {
            Some(r) => {
                r.first = r.first.min(p);
                r.last = r.last.max(p);
            }
            None => ranges.push(ChannelRange {
                channel_id: m.channel_id,
                first: p,
                last: p,
            }),
        }
    }
    ranges
}

/// The per-channel seq ranges of a list of stored messages.
pub fn ranges_of<'a>(stored: impl IntoIterator<Item = &'a Message>) -> Vec<StoredRange> {
    ranges_by(stored, |m| m.seq)
}

/// The per-channel rev ranges of a list of changed messages.
pub fn rev_ranges_of<'a>(changed: impl IntoIterator<Item = &'a Message>) -> Vec<ChangedRange> {
    ranges_by(changed, |m| m.rev)
}

/// Something another server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// It committed these messages (read them from the store).
    Stored {
        /// The server that stored them.
        from: ServerId,
        /// What it stored.
        ranges: Vec<StoredRange>,
    },
    /// It changed stored messages at these revs (read them from the store).
    Changed {
        /// The server that changed them.
        from: ServerId,
        /// The revs it took.
        ranges: Vec<ChangedRange>,
    },
    /// An event.
    Event {
        /// The server that sent it.
        from: ServerId,
        /// What happened.
        event: BusEvent,
    },
    /// The subscription dropped and came back: anything may have been
    /// missed, so rooms are compared with storage.
    Gap,
}

/// Why the bus could not be reached (the follower retries).
#[derive(Debug, thiserror::Error)]
#[error("bus unavailable: {0}")]
pub struct BusError(pub String);

/// A transport between the servers sharing one database. See the module
/// documentation for how an engine plugs in.
#[async_trait]
pub trait Bus: Send + Sync + std::fmt::Debug + 'static {
    /// This server's id in what it publishes (new at every start).
    fn server_id(&self) -> ServerId;

    /// Publishes an event without waiting, in the order of calls (an
    /// "offline" must not overtake the "online" before it). Fire and
    /// forget: every event is advisory or repaired by a sweep.
    fn publish(&self, event: BusEvent);

    /// Publishes at once and waits until it is sent (hello at start,
    /// goodbye at shutdown).
    async fn publish_now(&self, event: BusEvent);

    /// Messages this server just committed (called by the writer after the
    /// commit, with the batch's new messages; nothing is collected for a bus
    /// that does not look). The default does nothing: right for a single
    /// server, and for Postgres, whose store sent the wake-up inside the
    /// commit.
    fn stored(&self, _messages: &mut dyn Iterator<Item = &Message>) {}

    /// Messages this server just changed (called by the change writer after
    /// the commit, each at its new rev). The default does nothing, as for
    /// [`Bus::stored`].
    fn changed(&self, _messages: &mut dyn Iterator<Item = &Message>) {}

    /// The stream of what other servers publish; `None` when there are no
    /// other servers (then no follower runs).
    async fn subscribe(&self) -> Result<Option<Box<dyn BusSubscription>>, BusError>;
}

/// An open subscription to the other servers.
#[async_trait]
pub trait BusSubscription: Send {
    /// The next thing heard (our own publications are filtered out by the
    /// follower, not here).
    async fn next(&mut self) -> Result<Heard, BusError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, MessageId};
    use uuid::Uuid;

    #[test]
    fn ranges_cover_each_channel_of_a_batch() {
        let c1 = ChannelId::from_uuid(Uuid::from_u128(1));
        let c2 = ChannelId::from_uuid(Uuid::from_u128(2));
        let m = |channel_id, seq| {
            Message::unchanged(
                MessageId::new_random(),
                channel_id,
                Seq::new(seq),
                UserId::from_uuid(Uuid::nil()),
                String::new(),
                chrono::Utc::now().into(),
                ClientId::default(),
            )
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
