//! Threads (PROTOCOL.md "Threads"): a thread's history, the members' thread
//! read cursors and the threads view. Replies themselves are sent like any
//! message (`send.rs` checks the parent; the store changes it in the
//! reply's transaction).

use std::collections::HashMap;

use super::history::HistoryQuery;
use super::thread_reads::send_thread_read;
use super::{internal, Chat};
use crate::protocol::{
    AppError, ChannelId, MessageId, RepliesPage, Seq, ThreadList, Timestamp, UserId,
};
use crate::server::bus::BusEvent;
use crate::server::store::{HistoryCursor, Timeline};

/// Threads `GET /chat/threads` lists when no `limit` is given, and at most.
pub const THREADS_MAX_LIMIT: u32 = 50;

impl Chat {
    /// One page of a thread: its parent (a message of the channel that is
    /// not a reply) and its replies, paged like history (no time cursor).
    pub async fn replies(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        parent_id: MessageId,
        query: HistoryQuery,
    ) -> Result<RepliesPage, AppError> {
        let (_, head_rev) = self.require_member_heads(channel_id, user_id).await?;
        if matches!(query.cursor, HistoryCursor::BeforeTime(_)) {
            return Err(AppError::BadRequest(
                "a thread pages by seq: use before_seq, after_seq or around_seq".into(),
            ));
        }
        if matches!(query.cursor, HistoryCursor::AroundSeq(seq) if seq < Seq::new(1)) {
            return Err(AppError::BadRequest("around_seq must be at least 1".into()));
        }
        let parent = self.thread_parent(channel_id, parent_id).await?;
        let limit = query.limit.clamp(1, self.limits.history_max_limit);
        let mut page = self
            .store
            .timeline_page(channel_id, Timeline::Thread(parent_id), query.cursor, limit)
            .await
            .map_err(|e| internal("replies query failed", e))?;
        page.head_rev = head_rev;
        Ok(RepliesPage { parent, page })
    }

    /// Moves the user's read cursor of a thread (never backwards, never
    /// past the newest reply) and tells their connections, here and on
    /// the other servers. A member who takes no part in the thread has no
    /// cursor: nothing moves.
    pub async fn mark_thread_read(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        parent_id: MessageId,
        seq: Option<Seq>,
    ) -> Result<(), AppError> {
        if seq.is_some_and(|s| s < Seq::ZERO) {
            return Err(AppError::BadRequest("seq must be non-negative".into()));
        }
        self.require_member(channel_id, user_id).await?;
        self.thread_parent(channel_id, parent_id).await?;
        let read = self
            .store
            .mark_thread_read(user_id, parent_id, seq)
            .await
            .map_err(|e| internal("thread read failed", e))?;
        if let Some(read) = read {
            send_thread_read(&self.users, user_id, parent_id, read);
            self.bus.publish(BusEvent::ThreadRead {
                c: channel_id,
                u: user_id,
                p: parent_id,
                s: read.last_read_seq,
                n: read.unread_count,
            });
        }
        Ok(())
    }

    /// The threads the user takes part in, newest last reply first, those
    /// whose last reply is before `before` when given.
    pub async fn threads(
        &self,
        user_id: UserId,
        before: Option<Timestamp>,
        limit: Option<u32>,
    ) -> Result<ThreadList, AppError> {
        let limit = match limit {
            None => THREADS_MAX_LIMIT,
            Some(0) => return Err(AppError::BadRequest("limit must be at least 1".into())),
            Some(n) => n.min(THREADS_MAX_LIMIT),
        };
        let threads = self
            .store
            .threads_for(user_id, before, limit)
            .await
            .map_err(|e| internal("threads query failed", e))?;
        Ok(ThreadList { threads })
    }

    /// A thread's parent: a message of the channel that is not a reply
    /// (a tombstone still is one).
    async fn thread_parent(
        &self,
        channel_id: ChannelId,
        parent_id: MessageId,
    ) -> Result<crate::protocol::Message, AppError> {
        self.store
            .message(channel_id, parent_id)
            .await
            .map_err(|e| internal("reading a thread's parent failed", e))?
            .filter(|p| p.parent_id.is_none())
            .ok_or_else(|| AppError::NotFound("no such thread in this channel".into()))
    }
}

/// Parses the `GET /chat/threads` parameters: `limit` (1 to 50) and
/// `before` (an RFC 3339 time: threads whose last reply is older).
pub fn threads_params(
    params: &HashMap<String, String>,
) -> Result<(Option<Timestamp>, Option<u32>), AppError> {
    let before = params
        .get("before")
        .map(|raw| {
            chrono::DateTime::parse_from_rfc3339(raw.trim())
                .map(|t| Timestamp::from(t.with_timezone(&chrono::Utc)))
                .map_err(|_| AppError::BadRequest("before must be an RFC 3339 timestamp".into()))
        })
        .transpose()?;
    let limit = params
        .get("limit")
        .map(|raw| {
            raw.trim()
                .parse::<u32>()
                .map_err(|_| AppError::BadRequest("limit must be a positive integer".into()))
        })
        .transpose()?;
    Ok((before, limit))
}
