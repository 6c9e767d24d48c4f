//! Read cursors and unread counts. Marking read never moves backwards and
//! tells every connection of the user (`read.updated`).

use crate::protocol::{ChannelId, Seq, UserId};
use crate::server::bus::BusEvent;

use super::{internal, Chat};
use crate::protocol::{AppError, ServerFrame, UnreadEntry};
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
        self.users.send(
            user_id,
            std::sync::Arc::new(UserEvent {
                channel_id,
                is_activity: false,
                json: frame_json(&ServerFrame::ReadUpdated {
                    channel_id,
                    last_read_seq: cursor,
                }),
            }),
        );
        self.bus.publish(BusEvent::Read {
            c: channel_id,
            u: user_id,
            s: cursor,
        });
        Ok(cursor)
    }

    /// Unread counts for every channel of the user that has any.
    pub async fn unread(&self, user_id: UserId) -> Result<Vec<UnreadEntry>, AppError> {
        self.store
            .unread_for(user_id)
            .await
            .map_err(|e| internal("unread query failed", e))
    }
}
