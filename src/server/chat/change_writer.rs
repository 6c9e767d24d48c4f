//! `ChangeWriter`: the single, ordered write path for changes to stored
//! messages (edits, deletes, reactions, pins), beside the message writer.
//! Changes are queued, applied in batches (one transaction each, one
//! savepoint per change), and only after the commit published to the room
//! as `message.updated`, in rev order. One task on this server means this
//! server's changes reach its rooms in the order their revs were taken, so
//! connections need no gap filling for them. A storm of reactions on one
//! message costs one commit per batch, not one per reaction, and each
//! member gets one update per batch (the message's last state), not one
//! per reaction ([`coalesce`]).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::thread_reads::announce_thread_reads;
use super::write_queue::WriteQueue;

use crate::protocol::{ChannelId, Message, MessageId, Rev, ServerFrame};
use crate::server::bus::Bus;
use crate::server::previews::queue::PreviewQueue;
use crate::server::rooms::room::frame_json;
use crate::server::rooms::users::UserEvent;
use crate::server::rooms::{Rooms, UserHub};
use crate::server::store::{
    Change, ChangeKind, ChangeLimits, ChangeOutcome, ChangeResult, Store, StoreError, StoreResult,
};

/// Changes waiting to be applied before new ones wait for room.
const QUEUE_CAPACITY: usize = 4096;

struct ChangeJob {
    change: Change,
    reply: oneshot::Sender<StoreResult<ChangeResult>>,
}

/// Handle to the change writer task; cloning is cheap.
#[derive(Clone)]
pub struct ChangeWriter {
    jobs: mpsc::Sender<ChangeJob>,
}

/// What the change writer needs of the server.
pub struct ChangeWriterParts {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Local rooms (each change is published to its channel's room).
    pub rooms: Arc<Rooms>,
    /// Local users (a delete may change their unread counts).
    pub users: Arc<UserHub>,
    /// The other servers.
    pub bus: Arc<dyn Bus>,
    /// The count limits changes are checked against.
    pub limits: ChangeLimits,
    /// Changes applied in one transaction at most.
    pub max_batch: usize,
    /// Where edited messages go for their new link previews (`None`:
    /// previews are off).
    pub previews: Option<PreviewQueue>,
}

impl ChangeWriter {
    /// Starts the task. At `shutdown` the queue closes (later changes fail
    /// as not stored), what is queued is applied, and the task ends.
    pub fn spawn(parts: ChangeWriterParts, shutdown: CancellationToken) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<ChangeJob>(QUEUE_CAPACITY);
        let task = tokio::spawn(async move {
            let mut queue = WriteQueue::new(rx, shutdown, parts.max_batch);
            let mut jobs: Vec<ChangeJob> = Vec::with_capacity(parts.max_batch.max(1));
            while queue.next_batch(&mut jobs).await {
                let batch: Vec<Change> = jobs.iter().map(|j| j.change.clone()).collect();
                let results = parts.store.apply_changes(&batch, parts.limits).await;
                let changed: Vec<&Message> = results
                    .iter()
                    .filter_map(|r| match r {
                        Ok(Ok(outcome)) => Some(outcome.changed()),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                parts.bus.changed(&mut changed.iter().copied());
                for (m, from_rev) in coalesce(&changed) {
                    if let Some(room) = parts.rooms.get(m.channel_id) {
                        room.publish_update(m, from_rev);
                    }
                }
                let deleted: Vec<Message> = changed
                    .iter()
                    .filter(|m| m.deleted)
                    .map(|m| (*m).clone())
                    .collect();
                if !deleted.is_empty() {
                    tokio::spawn(announce_unread_after_deletes(
                        parts.store.clone(),
                        parts.users.clone(),
                        deleted,
                    ));
                }
                for (job, result) in jobs.drain(..).zip(results) {
                    // An edit drops the old text's previews; the new
                    // text's come as a change of their own.
                    if let (
                        Some(previews),
                        ChangeKind::Edit { .. },
                        Ok(Ok(ChangeOutcome::Changed(m, _))),
                    ) = (&parts.previews, &job.change.kind, &result)
                    {
                        previews.offer(m);
                    }
                    if let Err(e) = &result {
                        tracing::error!(
                            channel_id = %job.change.channel_id,
                            message_id = %job.change.message_id,
                            error = %e,
                            "applying a change failed"
                        );
                    }
                    let _ = job.reply.send(result);
                }
            }
        });
        (ChangeWriter { jobs: tx }, task)
    }

    /// Queues a change and waits until it is committed and published (or
    /// refused).
    pub async fn apply(&self, change: Change) -> StoreResult<ChangeResult> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(ChangeJob { change, reply })
            .await
            .map_err(|_| StoreError::Transaction("change writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Transaction("change writer stopped".into()))?
    }
}

/// The updates a committed batch publishes: each changed message once, in
/// its last state, by rev within its channel, each with the first rev it
/// accounts for (`RoomEvent::Update::from_rev`). A message changed several
/// times in the batch goes out once, at its last rev, and that update
/// accounts for the revs since the channel's previous update of the batch:
/// the earlier changes among them are to messages sent later in the batch
/// in a newer state. The batch's revs of a channel are consecutive (taken
/// under the channel's lock, in one transaction).
pub(crate) fn coalesce<'a>(changed: &[&'a Message]) -> Vec<(&'a Message, Rev)> {
    let mut last: HashMap<MessageId, &'a Message> = HashMap::new();
    let mut from: HashMap<ChannelId, Rev> = HashMap::new();
    for &m in changed {
        last.entry(m.id)
            .and_modify(|held| {
                if m.rev > held.rev {
                    *held = m;
                }
            })
            .or_insert(m);
        from.entry(m.channel_id)
            .and_modify(|first| *first = (*first).min(m.rev))
            .or_insert(m.rev);
    }
    let mut updates: Vec<&'a Message> = last.into_values().collect();
    updates.sort_by_key(|m| (m.channel_id, m.rev));
    updates
        .into_iter()
        .map(|m| {
            let first = from.insert(m.channel_id, m.rev.next()).unwrap_or(m.rev);
            (m, first)
        })
        .collect()
}

/// After deletes: each member with a connection on this server, other than
/// the author, whose read cursor is before the deleted message, gets `unread.updated` with the channel's new unread count
/// (a deleted message no longer counts). Every server does this for its
/// own users (the follower, for deletes made elsewhere).
pub async fn announce_unread_after_deletes(
    store: Arc<dyn Store>,
    users: Arc<UserHub>,
    deleted: Vec<Message>,
) {
    for m in deleted {
        if let Some(parent_id) = m.parent_id {
            // Its thread's unread counts changed too.
            announce_thread_reads(store.clone(), users.clone(), parent_id).await;
        }
        let Ok(reads) = store.reads(m.channel_id).await else {
            continue;
        };
        for read in reads {
            let user = read.user_id;
            // Only a message after the reader's cursor was counted.
            if user == m.user_id || read.last_read_seq >= m.seq || !users.is_online(user) {
                continue;
            }
            let Ok(unread_count) = store.unread_count(user, m.channel_id).await else {
                continue;
            };
            users.send(
                user,
                Arc::new(UserEvent {
                    channel_id: m.channel_id,
                    is_activity: false,
                    json: frame_json(&ServerFrame::UnreadUpdated {
                        channel_id: m.channel_id,
                        unread_count,
                    }),
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, Seq, Timestamp, UserId};

    fn changed(channel: ChannelId, id: MessageId, rev: i64, text: &str) -> Message {
        let mut m = Message::unchanged(
            id,
            channel,
            Seq::new(1),
            UserId::new_random(),
            text.into(),
            Timestamp::from_micros(0),
            ClientId::new("c"),
        );
        m.rev = Rev::new(rev);
        m
    }

    #[test]
    fn sends_each_message_once_in_its_last_state_accounting_for_every_rev() {
        let (x, y) = (ChannelId::new_random(), ChannelId::new_random());
        let (a, b, c) = (
            MessageId::new_random(),
            MessageId::new_random(),
            MessageId::new_random(),
        );
        // Channel x: a at 7, b at 8, a again at 9; channel y: c at 3.
        let batch = [
            changed(x, a, 7, "a1"),
            changed(y, c, 3, "c1"),
            changed(x, b, 8, "b1"),
            changed(x, a, 9, "a2"),
        ];
        let refs: Vec<&Message> = batch.iter().collect();
        let mut out: Vec<(ChannelId, String, i64, i64)> = coalesce(&refs)
            .into_iter()
            .map(|(m, from)| (m.channel_id, m.text.clone(), m.rev.get(), from.get()))
            .collect();
        out.sort_by_key(|(channel, _, rev, _)| (*channel != x, *rev));
        assert_eq!(
            out,
            [
                (x, "b1".to_string(), 8, 7),
                (x, "a2".to_string(), 9, 9),
                (y, "c1".to_string(), 3, 3),
            ]
        );
    }

    #[test]
    fn a_batch_without_repeats_goes_out_change_by_change() {
        let x = ChannelId::new_random();
        let batch: Vec<Message> = (1..=3)
            .map(|rev| changed(x, MessageId::new_random(), rev, "t"))
            .collect();
        let refs: Vec<&Message> = batch.iter().collect();
        let out: Vec<(i64, i64)> = coalesce(&refs)
            .into_iter()
            .map(|(m, from)| (m.rev.get(), from.get()))
            .collect();
        assert_eq!(out, [(1, 1), (2, 2), (3, 3)]);
    }
}
