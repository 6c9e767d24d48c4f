//! Live thread unread counts: `thread.read.updated` to a user's
//! connections on this server, and after a reply is stored or deleted to
//! everyone who takes part in its thread. Apart from `threads.rs` (the
//! rule book's side) so the write paths and the follower can use it.

use std::sync::Arc;

use crate::protocol::{MessageId, ServerFrame, UserId};
use crate::server::rooms::room::frame_json;
use crate::server::rooms::users::UserEvent;
use crate::server::rooms::UserHub;
use crate::server::store::{Store, ThreadRead};

/// Sends `thread.read.updated` to the user's connections on this server.
pub fn send_thread_read(users: &UserHub, user_id: UserId, parent_id: MessageId, read: ThreadRead) {
    users.send(
        user_id,
        Arc::new(UserEvent {
            channel_id: read.channel_id,
            is_activity: false,
            json: frame_json(&ServerFrame::ThreadReadUpdated {
                channel_id: read.channel_id,
                parent_id,
                last_read_seq: read.last_read_seq,
                unread_count: read.unread_count,
            }),
        }),
    );
}

/// After a reply is stored or deleted: everyone who takes part in its
/// thread and is connected to this server gets `thread.read.updated` with
/// their unread count of it. Every server does this for its own users
/// (the follower, for replies stored elsewhere).
pub async fn announce_thread_reads(
    store: Arc<dyn Store>,
    users: Arc<UserHub>,
    parent_id: MessageId,
) {
    let reads = match store.thread_reads(parent_id).await {
        Ok(reads) => reads,
        Err(e) => {
            tracing::warn!(error = %e, "thread readers not read");
            return;
        }
    };
    for (user_id, read) in reads {
        if users.is_online(user_id) {
            send_thread_read(&users, user_id, parent_id, read);
        }
    }
}
