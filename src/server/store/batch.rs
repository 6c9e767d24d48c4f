//! The fast batch path's decisions, shared by both backends: given what a
//! batch's transaction read under the write lock (channel heads, active
//! senders, messages already stored under the batch's keys), each message
//! is refused, answered with its original, or given the next seq and a time
//! never earlier than its channel's previous message. The backends only
//! read those facts and write the plan back.

use crate::protocol::{ChannelId, ClientId, Seq, UserId};
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{InsertOutcome, NewMessage, StoreError, StoreResult};
use crate::protocol::Message;

/// What a batch's transaction read before writing.
#[derive(Debug, Default)]
pub struct BatchFacts {
    /// Each existing channel of the batch: its newest seq and that
    /// message's time (`None` while empty).
    pub heads: HashMap<ChannelId, (Seq, Option<DateTime<Utc>>)>,
    /// `(channel, user)` pairs of the batch with active access.
    pub senders: HashSet<(ChannelId, UserId)>,
    /// Messages already stored under the batch's idempotency keys.
    pub existing: Vec<Message>,
}

/// What to write, and what to answer each message.
#[derive(Debug)]
pub struct BatchPlan {
    /// One outcome per message, in order.
    pub results: Vec<StoreResult<InsertOutcome>>,
    /// The new rows, in order.
    pub new: Vec<Message>,
    /// Each channel that got rows: its new seq and time.
    pub heads: Vec<(ChannelId, Seq, DateTime<Utc>)>,
}

/// Decides every message of the batch (in order: a key repeated within the
/// batch is answered with the earlier one).
pub fn plan(batch: &[NewMessage], facts: BatchFacts) -> BatchPlan {
    let BatchFacts {
        mut heads,
        senders,
        existing,
    } = facts;
    let mut by_key: HashMap<(ChannelId, UserId, ClientId), Message> = existing
        .into_iter()
        .map(|m| ((m.channel_id, m.user_id, m.client_id.clone()), m))
        .collect();
    let mut moved = HashSet::new();
    let mut new = Vec::new();
    let mut results = Vec::with_capacity(batch.len());
    for m in batch {
        if !senders.contains(&(m.channel_id, m.user_id)) {
            results.push(Err(StoreError::NotMember));
            continue;
        }
        let key = (m.channel_id, m.user_id, m.client_id.clone());
        if let Some(earlier) = by_key.get(&key) {
            results.push(Ok(InsertOutcome::Duplicate(earlier.clone())));
            continue;
        }
        let Some((last_seq, last_at)) = heads.get_mut(&m.channel_id) else {
            results.push(Err(StoreError::NotMember));
            continue;
        };
        // Both databases keep microseconds: assign what will be read back.
        let wanted = DateTime::from_timestamp_micros(m.created_at.timestamp_micros())
            .unwrap_or(m.created_at);
        let created_at = last_at.map_or(wanted, |t| t.max(wanted));
        *last_seq = last_seq.next();
        *last_at = Some(created_at);
        moved.insert(m.channel_id);
        let stored = m.stored(*last_seq, created_at);
        new.push(stored.clone());
        by_key.insert(key, stored.clone());
        results.push(Ok(InsertOutcome::Stored(stored, None)));
    }
    let heads = moved
        .into_iter()
        .filter_map(|id| {
            let (seq, at) = heads[&id];
            Some((id, seq, at?))
        })
        .collect();
    BatchPlan {
        results,
        new,
        heads,
    }
}
