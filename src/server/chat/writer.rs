//! `MessageWriter`: the single, ordered write path for messages. Sends are
//! queued, stored in batches (one transaction each: group commit), and only
//! after the commit are they published to the room, in seq order. Persist,
//! then broadcast: nobody sees a message that is not stored.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::write_queue::WriteQueue;

use crate::protocol::Message;
use crate::server::bus::Bus;
use crate::server::metrics::Metrics;
use crate::server::rooms::Rooms;
use crate::server::store::{InsertOutcome, NewMessage, Store, StoreError, StoreResult};

/// Sends waiting to be stored before new ones wait for room (backpressure).
const QUEUE_CAPACITY: usize = 8192;

struct WriteJob {
    message: NewMessage,
    reply: oneshot::Sender<StoreResult<InsertOutcome>>,
}

/// Handle to the writer task; cloning is cheap.
#[derive(Clone)]
pub struct MessageWriter {
    jobs: mpsc::Sender<WriteJob>,
}

impl MessageWriter {
    /// Starts the writer task. Stored messages are published to `rooms`,
    /// handed to `activity` (channel lists in other channels) and told to
    /// the `bus` (other servers). At
    /// `shutdown` the queue closes (later sends get `PERSIST_FAILED`), what
    /// is queued is committed, and the task ends; it also ends when every
    /// handle is dropped.
    pub fn spawn(
        store: Arc<dyn Store>,
        rooms: Arc<Rooms>,
        activity: mpsc::UnboundedSender<Message>,
        bus: Arc<dyn Bus>,
        max_batch: usize,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<WriteJob>(QUEUE_CAPACITY);
        let writer = async move {
            let mut queue = WriteQueue::new(rx, shutdown, max_batch);
            let mut jobs: Vec<WriteJob> = Vec::with_capacity(max_batch);
            while queue.next_batch(&mut jobs).await {
                let batch: Vec<NewMessage> = jobs.iter().map(|j| j.message.clone()).collect();
                let started = std::time::Instant::now();
                let results = store.insert_messages(&batch).await;
                metrics
                    .store_write_seconds
                    .observe(started.elapsed().as_secs_f64());
                bus.stored(&mut results.iter().filter_map(|r| match r {
                    Ok(InsertOutcome::Stored(m, _)) => Some(m),
                    _ => None,
                }));
                bus.changed(&mut results.iter().filter_map(|r| match r {
                    Ok(InsertOutcome::Stored(_, parent)) => parent.as_deref(),
                    _ => None,
                }));
                for (job, result) in jobs.drain(..).zip(results) {
                    match &result {
                        Ok(InsertOutcome::Stored(m, parent)) => {
                            metrics.messages_stored.inc();
                            if let Some(room) = rooms.get(m.channel_id) {
                                room.publish_message(m);
                                // The parent's change right after the reply
                                // (its rev accounts for itself alone).
                                if let Some(parent) = parent {
                                    room.publish_update(parent, parent.rev);
                                }
                            }
                            let _ = activity.send(m.clone());
                        }
                        Ok(InsertOutcome::Duplicate(_))
                        | Err(StoreError::NotMember | StoreError::ParentGone) => {}
                        Err(e) => {
                            tracing::error!(
                                channel_id = %job.message.channel_id,
                                user_id = %job.message.user_id,
                                error = %e,
                                "storing a message failed"
                            );
                        }
                    }
                    let _ = job.reply.send(result);
                }
            }
        };
        // The writer runs on a thread of its own (a one-thread runtime), not
        // among the connections' tasks: each statement of a batch waits for
        // the database and then for the writer to be polled again, and on a
        // busy server that second wait, behind thousands of ready
        // connection tasks, was most of a batch's time.
        let task =
            tokio::task::spawn_blocking(
                move || match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .thread_name("chat-writer")
                    .build()
                {
                    Ok(runtime) => runtime.block_on(writer),
                    Err(e) => tracing::error!(error = %e, "the message writer could not start"),
                },
            );
        (MessageWriter { jobs: tx }, task)
    }

    /// Queues one message for storing (waiting only for queue space) and
    /// returns a handle to its outcome. Messages queued one after another
    /// are stored in that order, so a connection may keep several sends in
    /// flight without reordering them.
    pub async fn enqueue(&self, message: NewMessage) -> StoreResult<PendingWrite> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(WriteJob { message, reply })
            .await
            .map_err(|_| StoreError::Transaction("writer stopped".into()))?;
        Ok(PendingWrite(answer))
    }

    /// Stores one message (batched with whatever else is queued) and returns
    /// once it is committed and published.
    pub async fn write(&self, message: NewMessage) -> StoreResult<InsertOutcome> {
        self.enqueue(message).await?.outcome().await
    }
}

/// A queued message; its outcome arrives once its batch is committed (and,
/// if new, published to the room).
#[derive(Debug)]
pub struct PendingWrite(oneshot::Receiver<StoreResult<InsertOutcome>>);

impl PendingWrite {
    /// Waits for the commit.
    pub async fn outcome(self) -> StoreResult<InsertOutcome> {
        self.0
            .await
            .map_err(|_| StoreError::Transaction("writer stopped".into()))?
    }
}
