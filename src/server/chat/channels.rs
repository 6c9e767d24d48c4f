//! The channel list and channel members.

use crate::protocol::{ChannelId, UserId};

use super::{internal, Chat};
use crate::protocol::dto::Member;
use crate::protocol::{AppError, ChannelSummary};

impl Chat {
    /// Every channel the user may use, most recent activity first.
    pub async fn channels(&self, user_id: UserId) -> Result<Vec<ChannelSummary>, AppError> {
        self.store
            .channels_for(user_id)
            .await
            .map_err(|e| internal("channel list failed", e))
    }

    /// Members of a channel with their names (members only).
    pub async fn members(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
    ) -> Result<Vec<Member>, AppError> {
        self.require_member(channel_id, user_id).await?;
        self.store
            .members(channel_id)
            .await
            .map_err(|e| internal("member list failed", e))
    }
}
