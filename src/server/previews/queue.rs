//! The queue between the writers and the link preview task: stored and
//! edited messages are offered here ([`PreviewQueue::offer`]) without ever
//! waiting, and the task (`super::task`) takes them from the inbox. Apart
//! from the task so the writers need nothing of it.

use tokio::sync::mpsc;

use crate::protocol::{ChannelId, Message, MessageId};

/// Messages waiting for their previews; past this, new ones get none.
const QUEUE_CAPACITY: usize = 1024;

/// One message to preview.
#[derive(Debug)]
pub(super) struct PreviewJob {
    pub(super) channel_id: ChannelId,
    pub(super) message_id: MessageId,
    pub(super) text: String,
}

/// Where stored and edited messages are offered for previews; cheap to
/// clone. Absent (`None` where it is held) when previews are off.
#[derive(Debug, Clone)]
pub struct PreviewQueue {
    jobs: mpsc::Sender<PreviewJob>,
}

impl PreviewQueue {
    /// Offers a message just stored or edited: queued when its text may
    /// hold a link; dropped (no preview) when the queue is full, so a
    /// burst of links never slows the writers.
    pub fn offer(&self, m: &Message) {
        if m.deleted || !m.text.contains("http") {
            return;
        }
        let job = PreviewJob {
            channel_id: m.channel_id,
            message_id: m.id,
            text: m.text.clone(),
        };
        if self.jobs.try_send(job).is_err() {
            tracing::debug!(message_id = %m.id, "link preview queue full; no preview");
        }
    }
}

/// The receiving end of a [`PreviewQueue`], for the task (`super::task::spawn`).
#[derive(Debug)]
pub struct PreviewInbox(pub(super) mpsc::Receiver<PreviewJob>);

/// A queue and its inbox: made before the writers that offer to it, which
/// the task (started later) uses in turn.
pub fn queue() -> (PreviewQueue, PreviewInbox) {
    let (jobs, inbox) = mpsc::channel::<PreviewJob>(QUEUE_CAPACITY);
    (PreviewQueue { jobs }, PreviewInbox(inbox))
}
