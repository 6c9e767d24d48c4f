//! Changes to stored messages (PROTOCOL.md "Changes to messages"): edits,
//! deletes, reactions and pins, and what reads them (edit history,
//! reactors, pins). The input rules (the send rules for text, the reaction
//! rule for emoji), the membership check and the per-user change budget
//! are here; the rules that need the stored message (author, deleted,
//! `ifRev`, limits) are decided inside the change's transaction
//! (`store::changes::decide`), and the change writer publishes what
//! committed.

use chrono::Utc;

use super::{internal, Chat};
use crate::protocol::emoji::{parse_reaction, MAX_REACTION_BYTES};
use crate::protocol::{
    AppError, ChangeRequest, ChannelId, Message, MessageEdit, MessageId, MessageText, TextError,
    UserId,
};
use crate::server::store::{Actor, Change, ChangeKind, ChangeRefused};

/// Reactors listed by the reactions route at most.
pub const MAX_REACTORS_LISTED: u32 = 10_000;

impl Chat {
    /// Applies a member's change to a message of a channel and returns the
    /// message's state after it (a repeated reaction, pin or delete, or an
    /// edit to the same text, changes nothing and returns the current
    /// state).
    pub async fn change_message(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        message_id: MessageId,
        request: ChangeRequest,
    ) -> Result<Message, AppError> {
        let mut kind = self.change_kind(request)?;
        if let ChangeKind::Edit {
            mentions: Some(mentions),
            ..
        } = &mut kind
        {
            *mentions = self
                .keep_mentions(channel_id, std::mem::take(mentions))
                .await?;
        }
        // Membership is checked inside the change's transaction (a missing
        // channel or message is 404, no access 403), not here as well: a
        // reaction storm would pay a second query per change.
        self.change_limiter
            .check(&user_id)
            .map_err(|retry_after_ms| AppError::RateLimited { retry_after_ms })?;
        self.apply_change(Change {
            channel_id,
            message_id,
            actor: Actor::Member(user_id),
            kind,
            at: Utc::now(),
        })
        .await
    }

    /// The host app deletes a message (`hard` also wipes the stored text
    /// and edit history). No membership check or budget: the admin key is
    /// the authority.
    pub async fn admin_delete_message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        hard: bool,
    ) -> Result<Message, AppError> {
        self.apply_change(Change {
            channel_id,
            message_id,
            actor: Actor::HostApp,
            kind: ChangeKind::Delete { hard },
            at: Utc::now(),
        })
        .await
    }

    /// A message's earlier texts, for its author.
    pub async fn edits(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Vec<MessageEdit>, AppError> {
        self.require_member(channel_id, user_id).await?;
        let message = self.shown_message(channel_id, message_id).await?;
        if message.user_id != user_id {
            return Err(AppError::Forbidden(
                "only the author may read a message's edit history".into(),
            ));
        }
        self.store
            .edits(message_id)
            .await
            .map_err(|e| internal("edit history read failed", e))
    }

    /// A message's earlier texts, for the host app.
    pub async fn admin_edits(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Vec<MessageEdit>, AppError> {
        self.shown_message(channel_id, message_id).await?;
        self.store
            .edits(message_id)
            .await
            .map_err(|e| internal("edit history read failed", e))
    }

    /// Everyone who reacted to a message with an emoji, by time.
    pub async fn reactors(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        message_id: MessageId,
        emoji: &str,
    ) -> Result<Vec<UserId>, AppError> {
        let emoji = reaction(emoji)?;
        self.require_member(channel_id, user_id).await?;
        self.shown_message(channel_id, message_id).await?;
        self.store
            .reactors(message_id, &emoji, MAX_REACTORS_LISTED)
            .await
            .map_err(|e| internal("reactors read failed", e))
    }

    /// The channel's pinned messages, newest pin first.
    pub async fn pins(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
    ) -> Result<Vec<Message>, AppError> {
        self.require_member(channel_id, user_id).await?;
        let limit = u32::try_from(self.limits.max_pins_per_channel).unwrap_or(u32::MAX);
        self.store
            .pins(channel_id, limit)
            .await
            .map_err(|e| internal("pins read failed", e))
    }

    /// Checks a request's input and turns it into the store's change.
    fn change_kind(&self, request: ChangeRequest) -> Result<ChangeKind, AppError> {
        Ok(match request {
            ChangeRequest::Edit {
                text,
                if_rev,
                mentions,
            } => ChangeKind::Edit {
                text: MessageText::parse(&text, self.limits.max_text_chars)
                    .map_err(text_error)?
                    .into_string(),
                if_rev,
                mentions,
            },
            ChangeRequest::Delete => ChangeKind::Delete { hard: false },
            ChangeRequest::ReactionAdd { emoji } => ChangeKind::ReactionAdd {
                emoji: reaction(&emoji)?,
            },
            ChangeRequest::ReactionRemove { emoji } => ChangeKind::ReactionRemove {
                emoji: reaction(&emoji)?,
            },
            ChangeRequest::Pin => ChangeKind::Pin,
            ChangeRequest::Unpin => ChangeKind::Unpin,
        })
    }

    /// Queues a checked change on the change writer and maps its outcome.
    async fn apply_change(&self, change: Change) -> Result<Message, AppError> {
        match self.changes.apply(change).await {
            Ok(Ok(outcome)) => Ok(outcome.message().clone()),
            Ok(Err(refused)) => Err(refusal(refused, self)),
            Err(e) => Err(internal("a change was not stored", e)),
        }
    }

    /// A shown message of the channel (tombstones included), or 404.
    async fn shown_message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Message, AppError> {
        self.store
            .message(channel_id, message_id)
            .await
            .map_err(|e| internal("message read failed", e))?
            .ok_or_else(not_found)
    }
}

/// The reaction rule: one emoji or known `:short_code:`, in its stored form.
fn reaction(raw: &str) -> Result<String, AppError> {
    parse_reaction(raw).map_err(|e| {
        AppError::InvalidReaction(format!(
            "{e} (at most {MAX_REACTION_BYTES} bytes, e.g. \"👍\" or \":thumbsup:\")"
        ))
    })
}

/// The send rules' refusals, as for a send.
fn text_error(e: TextError) -> AppError {
    match e {
        TextError::Empty => AppError::EmptyMessage(e.to_string()),
        TextError::TooLong { .. } => AppError::PayloadTooLarge(e.to_string()),
    }
}

fn not_found() -> AppError {
    AppError::NotFound("no such message in this channel".into())
}

/// What a client is told when the transaction refused a change.
fn refusal(refused: ChangeRefused, chat: &Chat) -> AppError {
    match refused {
        ChangeRefused::NotMember => AppError::Forbidden("not a member of this channel".into()),
        ChangeRefused::NotFound => not_found(),
        ChangeRefused::NotAuthor => {
            AppError::Forbidden("only the author may edit or delete this message".into())
        }
        ChangeRefused::Deleted => AppError::Conflict("the message was deleted".into()),
        ChangeRefused::StaleRev { current } => AppError::Conflict(format!(
            "the message changed since you loaded it (it is now at rev {current})"
        )),
        ChangeRefused::TooManyReactions => AppError::LimitReached(format!(
            "a message takes at most {} different reactions",
            chat.limits.max_reactions_per_message
        )),
        ChangeRefused::TooManyPins => AppError::LimitReached(format!(
            "a channel takes at most {} pinned messages",
            chat.limits.max_pins_per_channel
        )),
    }
}
