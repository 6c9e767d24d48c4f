//! Channel activity: after a message is stored, every online member gets a
//! `channel.activity` frame on their other connections, so channel lists
//! and unread badges stay live without polling.

use crate::protocol::ChannelId;
use crate::protocol::UserId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::protocol::{Message, ServerFrame};
use crate::server::chat::thread_reads::announce_thread_reads;
use crate::server::rooms::room::frame_json;
use crate::server::rooms::users::UserEvent;
use crate::server::rooms::UserHub;
use crate::server::store::Store;

/// How long a channel's member list is reused before it is read again.
const MEMBER_CACHE_TTL: Duration = Duration::from_secs(5);

/// Channel member lists reused for [`MEMBER_CACHE_TTL`]; a revocation
/// forgets the channel's list at once, so a revoked user gets no further
/// previews.
#[derive(Debug, Default)]
pub struct MemberCache(Mutex<HashMap<ChannelId, CachedMembers>>);

/// When a member list was read, and the list.
type CachedMembers = (Instant, Arc<Vec<UserId>>);

impl MemberCache {
    fn fresh(&self, channel_id: ChannelId) -> Option<Arc<Vec<UserId>>> {
        self.0
            .lock()
            .get(&channel_id)
            .filter(|(at, _)| at.elapsed() < MEMBER_CACHE_TTL)
            .map(|(_, list)| list.clone())
    }

    fn keep(&self, channel_id: ChannelId, list: Arc<Vec<UserId>>) {
        self.0.lock().insert(channel_id, (Instant::now(), list));
    }

    /// A channel's active members: the kept list while fresh, else read
    /// (and kept). `None` when the read failed (logged).
    pub async fn members(
        &self,
        store: &dyn Store,
        channel_id: ChannelId,
    ) -> Option<Arc<Vec<UserId>>> {
        if let Some(list) = self.fresh(channel_id) {
            return Some(list);
        }
        match store.member_ids(channel_id).await {
            Ok(ids) => {
                let list = Arc::new(ids);
                self.keep(channel_id, list.clone());
                Some(list)
            }
            Err(e) => {
                tracing::warn!(error = %e, "member list failed");
                None
            }
        }
    }

    /// Drops a channel's list (access changed).
    pub fn forget(&self, channel_id: ChannelId) {
        self.0.lock().remove(&channel_id);
    }
}

/// The `channel.activity` frame of `m`, with the receiver's unread
/// mentions when it mentions them.
fn activity_frame(m: &Message, unread_mentions: Option<i64>) -> ServerFrame {
    ServerFrame::ChannelActivity {
        channel_id: m.channel_id,
        seq: m.seq,
        message_id: m.id,
        user_id: m.user_id,
        preview: m.preview(),
        created_at: m.created_at,
        parent_id: m.parent_id,
        unread_mentions,
    }
}

/// Starts the task that turns stored messages into activity frames.
pub fn spawn(
    store: Arc<dyn Store>,
    users: Arc<UserHub>,
    members: Arc<MemberCache>,
    mut stored: mpsc::UnboundedReceiver<Message>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(m) = stored.recv().await {
            if let Some(parent_id) = m.parent_id {
                // Those who take part in the thread get their new count
                // of it; a thread-only reply is no activity of the channel.
                tokio::spawn(announce_thread_reads(
                    store.clone(),
                    users.clone(),
                    parent_id,
                ));
                if !m.in_main_timeline() {
                    continue;
                }
            }
            let Some(list) = members.members(store.as_ref(), m.channel_id).await else {
                continue;
            };
            // One event, shared by every member's connections; a member the
            // message mentions gets one of their own, with their count.
            let event = Arc::new(UserEvent {
                channel_id: m.channel_id,
                is_activity: true,
                json: frame_json(&activity_frame(&m, None)),
            });
            let mentioned = |u: &UserId| *u != m.user_id && m.mentions.contains(u);
            users.send_to_each(list.iter().copied().filter(|u| !mentioned(u)), &event);
            let to_count: Vec<UserId> = list
                .iter()
                .copied()
                .filter(|u| mentioned(u) && users.is_online(*u))
                .collect();
            if !to_count.is_empty() {
                let (store, users, m) = (store.clone(), users.clone(), m.clone());
                tokio::spawn(async move {
                    for user in to_count {
                        let count = store.unread_mentions(user, m.channel_id).await.ok();
                        users.send(
                            user,
                            Arc::new(UserEvent {
                                channel_id: m.channel_id,
                                is_activity: true,
                                json: frame_json(&activity_frame(&m, count)),
                            }),
                        );
                    }
                });
            }
        }
    })
}
