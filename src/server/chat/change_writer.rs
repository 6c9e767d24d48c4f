//! `ChangeWriter`: the single, ordered write path for changes to stored
//! messages (edits, deletes, reactions, pins), beside the message writer.
//! Changes are queued, applied in batches (one transaction each, one
//! savepoint per change), and only after the commit published to the room
//! as `message.updated`, in rev order. One task on this server means this
//! server's changes reach its rooms in the order their revs were taken, so
//! connections need no gap filling for them; a storm of reactions on one
//! message costs one commit per batch, not one per reaction.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::write_queue::WriteQueue;

use crate::protocol::{Message, ServerFrame};
use crate::server::bus::Bus;
use crate::server::rooms::room::frame_json;
use crate::server::rooms::users::UserEvent;
use crate::server::rooms::{Rooms, UserHub};
use crate::server::store::{
    Change, ChangeLimits, ChangeOutcome, ChangeResult, Store, StoreError, StoreResult,
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
                        Ok(Ok(ChangeOutcome::Changed(m))) => Some(m),
                        _ => None,
                    })
                    .collect();
                parts.bus.changed(&mut changed.iter().copied());
                for m in &changed {
                    if let Some(room) = parts.rooms.get(m.channel_id) {
                        room.publish_update(m);
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
