//! Read cursors and unread counts. Marking read never moves backwards and
//! tells every connection of the user (`read.updated`).

use crate::protocol::{ChannelId, Seq, UserId};
use crate::server::bus::BusEvent;

use super::{internal, Chat};
use crate::protocol::{AppError, MemberRead, ServerFrame, UnreadEntry};
use crate::server::rooms::room::frame_json;
use crate::server::rooms::users::UserEvent;

impl Chat {
    /// Moves the user's read cursor to `seq` (default: newest) and returns
    /// the cursor in effect.
    pub async fn mark_read(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        seq: Option<Seq>,
    ) -> Result<Seq, AppError> {
        if seq.is_some_and(|s| s < Seq::ZERO) {
            return Err(AppError::BadRequest("seq must be non-negative".into()));
        }
        self.require_member(channel_id, user_id).await?;
        let cursor = self
            .store
            .mark_read(user_id, channel_id, seq)
            .await
            .map_err(|e| internal("mark read failed", e))?;
        let unread_mentions = self
            .store
            .unread_mentions(user_id, channel_id)
            .await
            .map_err(|e| internal("unread mentions read failed", e))?;
        self.users.send(
            user_id,
            std::sync::Arc::new(UserEvent {
                channel_id,
                is_activity: false,
                json: frame_json(&ServerFrame::ReadUpdated {
                    channel_id,
                    last_read_seq: cursor,
                    unread_mentions,
                }),
            }),
        );
        self.bus.publish(BusEvent::Read {
            c: channel_id,
            u: user_id,
            s: cursor,
            m: unread_mentions,
        });
        self.announce_member_read(channel_id, user_id, cursor).await;
        Ok(cursor)
    }

    /// "Seen by": tells the channel's connections on this server that a
    /// member's cursor moved (batched `member.read`), unless the channel's
    /// read receipts are off. Other servers do the same from the bus.
    pub async fn announce_member_read(&self, channel_id: ChannelId, user_id: UserId, cursor: Seq) {
        let Some(room) = self.rooms.get(channel_id) else {
            return;
        };
        match self.store.read_receipts(channel_id).await {
            Ok(true) => room.announce_read(MemberRead {
                user_id,
                last_read_seq: cursor,
            }),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "read receipts setting not read"),
        }
    }

    /// Every member's read cursor ("seen by"); empty when the channel's
    /// read receipts are off.
    pub async fn reads(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
    ) -> Result<Vec<MemberRead>, AppError> {
        self.require_member(channel_id, user_id).await?;
        let on = self
            .store
            .read_receipts(channel_id)
            .await
            .map_err(|e| internal("reads query failed", e))?;
        if !on {
            return Ok(Vec::new());
        }
        self.store
            .reads(channel_id)
            .await
            .map_err(|e| internal("reads query failed", e))
    }

    /// Unread counts for every channel of the user that has any.
    pub async fn unread(&self, user_id: UserId) -> Result<Vec<UnreadEntry>, AppError> {
        self.store
            .unread_for(user_id)
            .await
            .map_err(|e| internal("unread query failed", e))
    }
}
