//! The bus of several servers on one PostgreSQL database: LISTEN/NOTIFY.
//!
//! - [`MESSAGES_CHANNEL`]: sent inside each message batch's transaction by
//!   the store (through [`PgCommitNotice`]), so it goes out exactly when the
//!   batch commits; one notification per batch,
//!   `<server>|<channel>:<first seq>:<last seq>,...`, split to stay under
//!   NOTIFY's 8,000 bytes.
//! - [`EVENTS_CHANNEL`]: [`BusEvent`]s as compact JSON with the sender's id
//!   in `i`, sent one at a time in order by a small task.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::server_id::ServerId;
use super::{
    ranges_of, rev_ranges_of, Bus, BusError, BusEvent, BusSubscription, ChannelRange, Heard,
};
use crate::protocol::Message;
use crate::server::store::CommitNotice;

/// NOTIFY channel of stored-message wake-ups.
pub const MESSAGES_CHANNEL: &str = "chat_messages";
/// NOTIFY channel of change wake-ups: `<server>|<channel>:<first rev>:<last
/// rev>,...`, sent inside each batch of changes' transaction.
pub const CHANGES_CHANNEL: &str = "chat_changes";
/// NOTIFY channel of events.
pub const EVENTS_CHANNEL: &str = "chat_events";
/// Keep each payload under this (Postgres refuses 8,000 bytes and more).
pub const MAX_PAYLOAD: usize = 7_000;

/// An event with its sender, as it travels on [`EVENTS_CHANNEL`].
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// Sending server.
    i: ServerId,
    #[serde(flatten)]
    event: BusEvent,
}

/// The Postgres bus: events go out through one ordered queue.
#[derive(Debug)]
pub struct PgBus {
    id: ServerId,
    pool: PgPool,
    outbox: mpsc::UnboundedSender<BusEvent>,
}

impl PgBus {
    /// A bus over `pool` for the server `id`; starts the task that sends
    /// events in order.
    pub fn new(id: ServerId, pool: PgPool) -> Arc<Self> {
        let (outbox, mut queue) = mpsc::unbounded_channel::<BusEvent>();
        let sender_pool = pool.clone();
        tokio::spawn(async move {
            while let Some(event) = queue.recv().await {
                notify_event(&sender_pool, id, event).await;
            }
        });
        Arc::new(PgBus { id, pool, outbox })
    }
}

#[async_trait]
impl Bus for PgBus {
    fn server_id(&self) -> ServerId {
        self.id
    }

    fn publish(&self, event: BusEvent) {
        let _ = self.outbox.send(event);
    }

    async fn publish_now(&self, event: BusEvent) {
        notify_event(&self.pool, self.id, event).await;
    }

    async fn subscribe(&self) -> Result<Option<Box<dyn BusSubscription>>, BusError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(|e| BusError(e.to_string()))?;
        listener
            .listen_all([MESSAGES_CHANNEL, CHANGES_CHANNEL, EVENTS_CHANNEL])
            .await
            .map_err(|e| BusError(e.to_string()))?;
        Ok(Some(Box::new(PgSubscription(listener))))
    }
}

async fn notify_event(pool: &PgPool, from: ServerId, event: BusEvent) {
    let payload = match serde_json::to_string(&Envelope { i: from, event }) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::error!(error = %e, "bus event not encoded");
            return;
        }
    };
    if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(EVENTS_CHANNEL)
        .bind(payload)
        .execute(pool)
        .await
    {
        tracing::debug!(error = %e, "bus event not sent");
    }
}

/// LISTEN on both channels.
struct PgSubscription(PgListener);

#[async_trait]
impl BusSubscription for PgSubscription {
    async fn next(&mut self) -> Result<Heard, BusError> {
        loop {
            let Some(n) = self
                .0
                .try_recv()
                .await
                .map_err(|e| BusError(e.to_string()))?
            else {
                // The connection dropped and came back.
                return Ok(Heard::Gap);
            };
            match n.channel() {
                MESSAGES_CHANNEL => match decode_stored(n.payload()) {
                    Some((from, ranges)) => return Ok(Heard::Stored { from, ranges }),
                    None => tracing::warn!("malformed wake-up ignored"),
                },
                CHANGES_CHANNEL => match decode_stored(n.payload()) {
                    Some((from, ranges)) => return Ok(Heard::Changed { from, ranges }),
                    None => tracing::warn!("malformed change wake-up ignored"),
                },
                EVENTS_CHANNEL => match serde_json::from_str::<Envelope>(n.payload()) {
                    Ok(Envelope { i, event }) => return Ok(Heard::Event { from: i, event }),
                    Err(_) => tracing::warn!("malformed bus event ignored"),
                },
                _ => {}
            }
        }
    }
}

/// What the Postgres store sends inside each message commit: the wake-ups
/// of [`MESSAGES_CHANNEL`] for this server.
#[derive(Debug)]
pub struct PgCommitNotice {
    /// This server.
    pub id: ServerId,
}

impl CommitNotice for PgCommitNotice {
    fn channel(&self) -> &str {
        MESSAGES_CHANNEL
    }

    fn payloads(&self, stored: &[Message]) -> Vec<String> {
        encode_stored(self.id, &ranges_of(stored))
    }

    fn changes_channel(&self) -> &str {
        CHANGES_CHANNEL
    }

    fn change_payloads(&self, changed: &[Message]) -> Vec<String> {
        encode_stored(self.id, &rev_ranges_of(changed))
    }
}

/// Encodes the wake-ups of one committed batch (seq ranges of stored
/// messages, or rev ranges of changed ones), split into payloads that each
/// fit [`MAX_PAYLOAD`].
pub fn encode_stored<P: std::fmt::Display>(
    from: ServerId,
    ranges: &[ChannelRange<P>],
) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::new();
    for r in ranges {
        let item = format!("{}:{}:{}", r.channel_id, r.first, r.last);
        if !current.is_empty() && current.len() + 1 + item.len() > MAX_PAYLOAD {
            payloads.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current = format!("{from}|{item}");
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

/// Decodes a [`MESSAGES_CHANNEL`] or [`CHANGES_CHANNEL`] payload; `None`
/// if it is malformed.
pub fn decode_stored<P: From<i64> + Ord>(
    payload: &str,
) -> Option<(ServerId, Vec<ChannelRange<P>>)> {
    let (from, items) = payload.split_once('|')?;
    let from = ServerId(Uuid::parse_str(from).ok()?);
    let ranges = items
        .split(',')
        .map(|item| {
            let mut parts = item.split(':');
            let range = ChannelRange {
                channel_id: parts.next()?.parse().ok()?,
                first: P::from(parts.next()?.parse::<i64>().ok()?),
                last: P::from(parts.next()?.parse::<i64>().ok()?),
            };
            (parts.next().is_none() && range.first <= range.last).then_some(range)
        })
        .collect::<Option<Vec<_>>>()?;
    Some((from, ranges))
}

#[cfg(test)]
mod tests {
    use super::super::StoredRange;
    use super::*;
    use crate::protocol::{ChannelId, Seq, UserId};

    #[test]
    fn wake_ups_round_trip_and_split_under_the_payload_limit() {
        let from = ServerId::new_random();
        let ranges: Vec<StoredRange> = (0..400)
            .map(|n| StoredRange {
                channel_id: ChannelId::from_uuid(Uuid::from_u128(n)),
                first: Seq::new(1_000_000 + n as i64),
                last: Seq::new(1_000_010 + n as i64),
            })
            .collect();
        let payloads = encode_stored(from, &ranges);
        assert!(payloads.len() > 1, "400 channels need several payloads");
        let mut decoded = Vec::new();
        for p in &payloads {
            assert!(p.len() <= MAX_PAYLOAD, "{} bytes", p.len());
            let (i, r) = decode_stored(p).expect("decodes");
            assert_eq!(i, from);
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
            assert_eq!(decode_stored::<Seq>(bad), None, "{bad}");
        }
    }

    /// The event payloads keep the flat shape servers of the previous
    /// release read (`{"k":..., "i":..., ...}`), so a rolling upgrade works.
    #[test]
    fn event_payloads_keep_their_shape() {
        let i = ServerId(Uuid::from_u128(1));
        let c = ChannelId::from_uuid(Uuid::from_u128(2));
        let u = UserId::from_uuid(Uuid::from_u128(3));
        let json = serde_json::to_value(Envelope {
            i,
            event: BusEvent::Typing {
                c,
                u,
                t: true,
                p: None,
            },
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"k": "typing", "i": i, "c": c, "u": u, "t": true})
        );
        let back: Envelope =
            serde_json::from_str(r#"{"k":"bye","i":"00000000-0000-0000-0000-000000000001"}"#)
                .unwrap();
        assert_eq!((back.i, back.event), (i, BusEvent::Bye));
        let read: Envelope = serde_json::from_value(
            serde_json::json!({"k": "read", "i": i, "c": c, "u": u, "s": 9}),
        )
        .unwrap();
        assert_eq!(
            read.event,
            BusEvent::Read {
                m: 0,
                c,
                u,
                s: Seq::new(9)
            }
        );
    }
}
