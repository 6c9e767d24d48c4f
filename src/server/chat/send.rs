//! Sending a message: text rules, the per-(user, channel) rate limit, then
//! the ordered write path, whose transaction checks membership (so nothing
//! is stored after a revoke, and a send costs no separate query).

use crate::protocol::MessageId;
use crate::protocol::{Attachment, ChannelId, ClientId, UploadId, UserId};
use chrono::Utc;
use uuid::Uuid;

use super::writer::PendingWrite;
use super::Chat;
use crate::protocol::{AppError, ErrorCode, Message, MessageText, Quote, SendRequest, TextError};
use crate::server::store::{InsertOutcome, NewMessage, ReplyThread, StoreError};

/// Why a send was refused, as the WebSocket reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Empty or too long.
    Text(TextError),
    /// Over the rate limit.
    RateLimited {
        /// Until the next token.
        retry_after_ms: u64,
    },
    /// Not (or no longer) a member.
    Forbidden,
    /// Storing failed; nothing was stored.
    PersistFailed,
    /// `replyTo` names no message of this channel.
    BadQuote,
    /// `replyTo` names a deleted message.
    QuoteDeleted,
    /// `parentId` names no message of this channel, or a reply; or
    /// `showInChannel` comes without `parentId`.
    BadParent,
    /// `parentId` names a deleted message.
    ParentDeleted,
    /// `attachments` names an upload the sender may not attach, or too
    /// many.
    BadAttachment(String),
}

impl SendError {
    /// The protocol error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            SendError::Text(TextError::Empty) => ErrorCode::EmptyMessage,
            SendError::Text(TextError::TooLong { .. }) => ErrorCode::MessageTooLong,
            SendError::RateLimited { .. } => ErrorCode::RateLimited,
            SendError::Forbidden => ErrorCode::Forbidden,
            SendError::PersistFailed => ErrorCode::PersistFailed,
            SendError::BadQuote => ErrorCode::ParseError,
            SendError::QuoteDeleted => ErrorCode::Conflict,
            SendError::BadParent => ErrorCode::ParseError,
            SendError::ParentDeleted => ErrorCode::Conflict,
            SendError::BadAttachment(_) => ErrorCode::InvalidAttachment,
        }
    }

    /// A human-readable explanation.
    pub fn message(&self) -> String {
        match self {
            SendError::Text(e) => e.to_string(),
            SendError::RateLimited { retry_after_ms } => {
                format!("too many messages; retry in {retry_after_ms} ms")
            }
            SendError::Forbidden => "you are not a member of this channel".into(),
            SendError::PersistFailed => {
                "the message was not stored; retry with the same clientId".into()
            }
            SendError::BadQuote => "replyTo must name a message of this channel".into(),
            SendError::QuoteDeleted => "the quoted message was deleted".into(),
            SendError::BadParent => "parentId must name a message of this channel that is not \
                 a reply (and showInChannel needs parentId)"
                .into(),
            SendError::ParentDeleted => "the thread's parent message was deleted".into(),
            SendError::BadAttachment(why) => why.clone(),
        }
    }
}

impl From<SendError> for AppError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Text(TextError::Empty) => AppError::EmptyMessage(e.message()),
            SendError::Text(TextError::TooLong { .. }) => AppError::PayloadTooLarge(e.message()),
            SendError::RateLimited { retry_after_ms } => AppError::RateLimited { retry_after_ms },
            SendError::Forbidden => AppError::Forbidden(e.message()),
            SendError::PersistFailed => AppError::internal(),
            SendError::BadQuote => AppError::BadRequest(e.message()),
            SendError::QuoteDeleted => AppError::Conflict(e.message()),
            SendError::BadParent => AppError::BadRequest(e.message()),
            SendError::ParentDeleted => AppError::Conflict(e.message()),
            SendError::BadAttachment(_) => AppError::InvalidAttachment(e.message()),
        }
    }
}

/// The thread a send names: `parentId` with `showInChannel`; the flag
/// alone is [`SendError::BadParent`].
///
/// # Errors
/// `showInChannel` without `parentId`.
pub fn reply_thread(
    parent_id: Option<MessageId>,
    show_in_channel: bool,
) -> Result<Option<ReplyThread>, SendError> {
    match (parent_id, show_in_channel) {
        (Some(parent_id), show_in_channel) => Ok(Some(ReplyThread {
            parent_id,
            show_in_channel,
        })),
        (None, false) => Ok(None),
        (None, true) => Err(SendError::BadParent),
    }
}

/// What a message may carry besides its text (the `message.send` frame's
/// optional fields), unchecked: the rule book checks each.
#[derive(Debug, Clone, Default)]
pub struct SendExtras {
    /// The message it quotes.
    pub reply_to: Option<MessageId>,
    /// The thread it replies in.
    pub thread: Option<ReplyThread>,
    /// The members it mentions, as declared.
    pub mentions: Vec<UserId>,
    /// The uploads it carries.
    pub attachments: Vec<UploadId>,
}

impl Chat {
    /// A send by HTTP (the route and the server function), under the
    /// frame's rules: the message, and whether it was stored now (`false`:
    /// the one stored before under its `clientId`).
    ///
    /// # Errors
    /// The frame's refusals, as [`AppError`]s.
    pub async fn send_request(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        request: SendRequest,
    ) -> Result<(Message, bool), AppError> {
        let thread = reply_thread(request.parent_id, request.show_in_channel)?;
        let extras = SendExtras {
            reply_to: request.reply_to,
            thread,
            mentions: request.mentions,
            attachments: request.attachments,
        };
        match self
            .send(
                user_id,
                channel_id,
                &request.text,
                request.client_id,
                extras,
            )
            .await?
        {
            InsertOutcome::Stored(message, _) => Ok((message, true)),
            InsertOutcome::Duplicate(message) => Ok((message, false)),
        }
    }

    /// Validates, rate-limits and stores a message. A new message is
    /// published to the room before this returns; a duplicate `clientId`
    /// returns the original untouched.
    pub async fn send(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        raw_text: &str,
        client_id: ClientId,
        extras: SendExtras,
    ) -> Result<InsertOutcome, SendError> {
        self.submit(user_id, channel_id, raw_text, client_id, extras)
            .await?
            .outcome()
            .await
    }

    /// Validates, rate-limits and queues a message for storing, returning
    /// before the commit. Submissions are stored in the order they were
    /// made, so a connection can pipeline its sends. A thread reply's
    /// parent must be a message of the channel that is not itself a reply
    /// and not deleted.
    pub async fn submit(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        raw_text: &str,
        client_id: ClientId,
        SendExtras {
            reply_to,
            thread,
            mentions,
            attachments,
        }: SendExtras,
    ) -> Result<PendingSend, SendError> {
        if attachments.len() > self.limits.max_attachments {
            return Err(SendError::BadAttachment(format!(
                "a message carries at most {} files",
                self.limits.max_attachments
            )));
        }
        // A message of files may have no text.
        let text = match MessageText::parse(raw_text, self.limits.max_text_chars) {
            Err(TextError::Empty) if !attachments.is_empty() => String::new(),
            parsed => parsed.map_err(SendError::Text)?.into_string(),
        };
        self.limiter
            .check(&(user_id, channel_id))
            .map_err(|retry_after_ms| SendError::RateLimited { retry_after_ms })?;
        let attachments = self
            .attachments(user_id, channel_id, &client_id, &attachments)
            .await?;
        let reply_to = match reply_to {
            None => None,
            Some(id) => Some(self.quote(channel_id, id).await?),
        };
        if let Some(thread) = thread {
            self.check_parent(channel_id, thread.parent_id).await?;
        }
        let mentions = self
            .keep_mentions(channel_id, mentions)
            .await
            .map_err(|_| SendError::PersistFailed)?;
        self.writer
            .enqueue(NewMessage {
                // Time-ordered (v7): the id index grows at its end instead
                // of at random pages, so a batch dirties fewer pages.
                id: MessageId::from(Uuid::now_v7()),
                channel_id,
                user_id,
                client_id,
                text,
                created_at: Utc::now(),
                reply_to,
                thread,
                mentions,
                attachments,
            })
            .await
            .map(PendingSend)
            .map_err(|_| SendError::PersistFailed)
    }
}

impl Chat {
    /// The quote of a reply: the original must be a shown, live message of
    /// the same channel (a message's channel never changes, so the check
    /// holds at commit).
    async fn quote(&self, channel_id: ChannelId, id: MessageId) -> Result<Quote, SendError> {
        let original = self
            .store
            .message(channel_id, id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "reading a quoted message failed");
                SendError::PersistFailed
            })?
            .ok_or(SendError::BadQuote)?;
        if original.deleted {
            return Err(SendError::QuoteDeleted);
        }
        Ok(Quote {
            id: original.id,
            seq: original.seq,
            user_id: original.user_id,
            preview: original.text.chars().take(Quote::PREVIEW_CHARS).collect(),
            deleted: false,
        })
    }
}

impl Chat {
    /// A thread reply's parent: a message of the same channel, not a reply
    /// (one level), not deleted. The insert's transaction checks the last
    /// again, for a delete that comes in between.
    async fn check_parent(&self, channel_id: ChannelId, id: MessageId) -> Result<(), SendError> {
        let parent = self
            .store
            .message(channel_id, id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "reading a thread's parent failed");
                SendError::PersistFailed
            })?
            .filter(|p| p.channel_id == channel_id && p.parent_id.is_none())
            .ok_or(SendError::BadParent)?;
        if parent.deleted {
            return Err(SendError::ParentDeleted);
        }
        Ok(())
    }
}

impl Chat {
    /// A send's files: each upload must be the sender's, of this channel,
    /// named once, and free (not removed, taken by no message) — or taken
    /// by this very send's earlier attempt (same `clientId`), which the
    /// insert then answers with the stored original. The insert's
    /// transaction takes each upload again, so two sends racing for one
    /// cannot both have it.
    async fn attachments(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        client_id: &ClientId,
        ids: &[UploadId],
    ) -> Result<Vec<Attachment>, SendError> {
        let failed = |e: StoreError| {
            tracing::error!(error = %e, "reading a send's uploads failed");
            SendError::PersistFailed
        };
        let mut attachments = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let unknown =
                || SendError::BadAttachment(format!("no upload {id} of yours in this channel"));
            if ids[..i].contains(id) {
                return Err(SendError::BadAttachment(format!(
                    "upload {id} is named twice"
                )));
            }
            let upload = self
                .store
                .upload(*id)
                .await
                .map_err(failed)?
                .filter(|u| u.user_id == user_id && u.channel_id == channel_id)
                .ok_or_else(unknown)?;
            if upload.removed_at.is_some() {
                return Err(unknown());
            }
            if let Some(taken_by) = upload.message_id {
                let retry = self
                    .store
                    .message(channel_id, taken_by)
                    .await
                    .map_err(failed)?
                    .is_some_and(|m| m.user_id == user_id && &m.client_id == client_id);
                if !retry {
                    return Err(SendError::BadAttachment(format!(
                        "upload {id} is already attached to another message"
                    )));
                }
            }
            attachments.push(upload.attachment());
        }
        Ok(attachments)
    }
}

/// A send that passed every check and waits for its commit.
#[derive(Debug)]
pub struct PendingSend(PendingWrite);

impl PendingSend {
    /// The stored message (or the original, for a repeated `clientId`).
    pub async fn outcome(self) -> Result<InsertOutcome, SendError> {
        self.0.outcome().await.map_err(|e| match e {
            StoreError::NotMember => SendError::Forbidden,
            StoreError::ParentGone => SendError::ParentDeleted,
            StoreError::AttachmentGone => SendError::BadAttachment(
                "an attached upload was taken by another message or removed".into(),
            ),
            _ => SendError::PersistFailed,
        })
    }
}
