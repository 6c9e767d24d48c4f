//! The SQL side of changes to messages (edit, delete, reactions, pins) and
//! of what reads them (changes by rev, edit history, reactors, pins, read
//! cursors), written once for both backends like `dialect.rs`: a backend
//! gives its statements as [`ChangeQueries`] and gets the operations as
//! default methods of [`ChangeDialect`]. The transaction around a batch of
//! changes (and its savepoints) stays in the backend, which knows how its
//! database begins, commits and fails.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::changes::TargetRow;
use super::rows::MessageRow;
use super::StoreResult;
use crate::protocol::{
    ChannelId, MemberRead, Message, MessageEdit, MessageId, Rev, Seq, Timestamp, UserId,
};

/// One dialect's statements for changes. Each names its parameters in the
/// order the operation binds them.
#[derive(Debug)]
pub(super) struct ChangeQueries {
    /// `channel, user or null` → [`ChannelFactsRow`], locking the channel's
    /// row until commit where the database locks rows (Postgres `FOR
    /// UPDATE`; SQLite's writer holds the whole database already). No row:
    /// no channel.
    pub lock_channel: &'static str,
    /// `message, emoji or null, user or null` → [`TargetRow`] (`reacted`:
    /// whether that user reacted with that emoji).
    pub target: &'static str,
    /// `channel` → how many of its messages are pinned.
    pub pin_count: &'static str,
    /// `channel` → its new `last_rev`, bumped by one.
    pub bump_rev: &'static str,
    /// `message, rev, time`: keeps the current text as an earlier one.
    pub keep_old_text: &'static str,
    /// `message, text, time, rev`: the edit (its link previews go with the
    /// old text; the preview task adds the new text's).
    pub set_text: &'static str,
    /// `message, previews JSON or null, rev`: the `previews` column.
    pub set_previews: &'static str,
    /// `message, time, rev`: the tombstone (deleted, reactions, pin and
    /// link previews cleared).
    pub set_deleted: &'static str,
    /// `message, mentions JSON or null`: the `mentions` column.
    pub set_mentions: &'static str,
    /// `message`: drops its rows of unread mentions.
    pub drop_mentions: &'static str,
    /// `message, mentions JSON`: its rows of unread mentions, when it is in
    /// the main timeline (not for its own author).
    pub add_mentions: &'static str,
    /// `message`: drops its reaction rows.
    pub drop_reactions: &'static str,
    /// `message`: wipes the stored text (hard delete).
    pub wipe_text: &'static str,
    /// `message`: drops its edit history (hard delete).
    pub drop_edits: &'static str,
    /// `message, emoji, user, time`: adds a reaction row.
    pub add_reaction: &'static str,
    /// `message, emoji, user`: removes a reaction row.
    pub remove_reaction: &'static str,
    /// `message, emoji, limit` → [`FirstReactorRow`]s: the first reactors
    /// by time, each row with how many reacted with the emoji in all (no
    /// row: nobody).
    pub first_reactors: &'static str,
    /// `message, emoji, limit` → the first reactors' ids, by time (the
    /// reactions route).
    pub reactors: &'static str,
    /// `message, summary, rev`: the new reactions summary.
    pub set_reactions: &'static str,
    /// `message, by or null, at or null, rev`: pins or unpins.
    pub set_pin: &'static str,
    /// `message` → [`MessageRow`].
    pub message: &'static str,
    /// `channel, rev, limit` → [`MessageRow`]s changed after `rev`, by rev.
    pub changed_after: &'static str,
    /// `channel` → its `last_rev`.
    pub head_rev: &'static str,
    /// `message` → [`EditRow`]s, oldest first.
    pub edits: &'static str,
    /// `channel, limit` → pinned [`MessageRow`]s, newest pin first.
    pub pins: &'static str,
    /// `channel` → every active member's [`MemberRead`].
    pub reads: &'static str,
    /// `channel` → `read_receipts`.
    pub read_receipts: &'static str,
    /// `channel, on`: sets `read_receipts`.
    pub set_read_receipts: &'static str,
    /// `user, channel` → the user's unread count there.
    pub unread_count: &'static str,
}

/// Defines `apply_change_in` for one backend (`$db`, whose connection
/// type is `$conn`): one change inside the caller's transaction (and
/// savepoint) that reads the facts, decides, and writes the decision with
/// the channel's next rev; a refusal or no-op writes nothing. A macro
/// rather than a default method: a generic `&mut Connection` executor in
/// an `async_trait` future hits rustc's higher-ranked lifetime limitation
/// (rust-lang/rust#100013), while the concrete types compile. `$reindex`
/// is the backend's search index part of an edit or a delete:
/// `(conn, message, channel, old text, Some(new text) | None)`.
macro_rules! define_apply_change {
    ($db:ty, $conn:ty, $reindex:path) => {
        /// One change inside the caller's transaction (and savepoint): reads
        /// the facts, decides, and writes the decision with the channel's next
        /// rev. A refusal or no-op writes nothing. Returns the outcome.
        pub(super) async fn apply_change_in(
            conn: &mut $conn,
            change: &$crate::server::store::Change,
            limits: $crate::server::store::ChangeLimits,
        ) -> $crate::server::store::StoreResult<$crate::server::store::ChangeResult> {
            use $crate::protocol::{Reaction, Rev, Timestamp, UserId};
            use $crate::server::store::change_dialect::{
                ChangeDialect, ChannelFactsRow, FirstReactorRow,
            };
            use $crate::server::store::changes::*;
            let q = &<$db as ChangeDialect>::CHANGES;
            // Facts in two statements: the channel (with the actor's
            // access), then the message (with the actor's reaction).
            let actor = match change.actor {
                Actor::Member(user) => Some(user),
                Actor::HostApp => None,
            };
            let channel: Option<ChannelFactsRow> = sqlx::query_as(q.lock_channel)
                .bind(change.channel_id)
                .bind(actor)
                .fetch_optional(&mut *conn)
                .await?;
            let Some(channel) = channel else {
                return Ok(Err(ChangeRefused::NotFound));
            };
            let member = actor.is_none() || channel.is_active == Some(true);
            let emoji = match &change.kind {
                ChangeKind::ReactionAdd { emoji } | ChangeKind::ReactionRemove { emoji } => {
                    Some(emoji.as_str())
                }
                _ => None,
            };
            let target: Option<TargetRow> = sqlx::query_as(q.target)
                .bind(change.message_id)
                .bind(emoji)
                .bind(actor)
                .fetch_optional(&mut *conn)
                .await?;
            let reacted = target.as_ref().is_some_and(|t| t.reacted);
            let pins = match change.kind {
                ChangeKind::Pin => {
                    sqlx::query_scalar(q.pin_count)
                        .bind(change.channel_id)
                        .fetch_one(&mut *conn)
                        .await?
                }
                _ => 0,
            };
            let facts = ChangeFacts {
                target,
                member,
                reacted,
                pins,
            };
            match decide(change, &facts, limits) {
                Decision::Refuse(why) => return Ok(Err(why)),
                Decision::Unchanged => {
                    let now =
                        <$db as ChangeDialect>::message_in(&mut *conn, change.message_id).await?;
                    return Ok(now
                        .map(ChangeOutcome::Unchanged)
                        .ok_or(ChangeRefused::NotFound));
                }
                Decision::Apply => {}
            }
            let rev: Rev = sqlx::query_scalar(q.bump_rev)
                .bind(change.channel_id)
                .fetch_one(&mut *conn)
                .await?;
            let at = Timestamp::from(change.at);
            let id = change.message_id;
            match &change.kind {
                ChangeKind::Edit { text, mentions, .. } => {
                    if let Some(mentions) = mentions {
                        let json = (!mentions.is_empty())
                            .then(|| serde_json::to_string(mentions).unwrap_or_default());
                        sqlx::query(q.set_mentions)
                            .bind(id)
                            .bind(json.clone())
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(q.drop_mentions)
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                        if let Some(json) = json {
                            sqlx::query(q.add_mentions)
                                .bind(id)
                                .bind(json)
                                .execute(&mut *conn)
                                .await?;
                        }
                    }
                    sqlx::query(q.keep_old_text)
                        .bind(id)
                        .bind(rev)
                        .bind(at)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(q.set_text)
                        .bind(id)
                        .bind(text.as_str())
                        .bind(at)
                        .bind(rev)
                        .execute(&mut *conn)
                        .await?;
                    if let Some(target) = &facts.target {
                        $reindex(&mut *conn, id, change.channel_id, &target.text, Some(text))
                            .await?;
                    }
                }
                ChangeKind::Delete { hard } => {
                    sqlx::query(q.set_deleted)
                        .bind(id)
                        .bind(at)
                        .bind(rev)
                        .execute(&mut *conn)
                        .await?;
                    // A tombstone's words left the index when it was made.
                    if let Some(target) = facts.target.as_ref().filter(|t| !t.deleted) {
                        $reindex(&mut *conn, id, change.channel_id, &target.text, None).await?;
                    }
                    sqlx::query(q.drop_mentions)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(q.drop_reactions)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    // Its files are to go (the janitor deletes the bytes).
                    sqlx::query(
                        <$db as $crate::server::store::upload_dialect::UploadDialect>::UPLOADS
                            .remove_for_message,
                    )
                    .bind(at)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    if *hard {
                        sqlx::query(q.wipe_text)
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(q.drop_edits)
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                ChangeKind::ReactionAdd { emoji } | ChangeKind::ReactionRemove { emoji } => {
                    let Actor::Member(user) = change.actor else {
                        return Ok(Err(ChangeRefused::NotAuthor));
                    };
                    let sql = if matches!(change.kind, ChangeKind::ReactionAdd { .. }) {
                        q.add_reaction
                    } else {
                        q.remove_reaction
                    };
                    let mut write = sqlx::query(sql).bind(id).bind(emoji.as_str()).bind(user);
                    if matches!(change.kind, ChangeKind::ReactionAdd { .. }) {
                        write = write.bind(at);
                    }
                    write.execute(&mut *conn).await?;
                    let first: Vec<FirstReactorRow> = sqlx::query_as(q.first_reactors)
                        .bind(id)
                        .bind(emoji.as_str())
                        .bind(Reaction::LISTED as i64)
                        .fetch_all(&mut *conn)
                        .await?;
                    let count = first.first().map_or(0, |r| r.total);
                    let first: Vec<UserId> = first.into_iter().map(|r| r.user_id).collect();
                    let summary = facts
                        .target
                        .as_ref()
                        .map(|t| {
                            $crate::server::store::rows::decode_reactions(t.reactions.as_deref())
                        })
                        .unwrap_or_default();
                    let summary = patch_summary(summary, emoji, count, first);
                    sqlx::query(q.set_reactions)
                        .bind(id)
                        .bind(encode_summary(&summary))
                        .bind(rev)
                        .execute(&mut *conn)
                        .await?;
                }
                ChangeKind::SetPreviews { previews, .. } => {
                    sqlx::query(q.set_previews)
                        .bind(id)
                        .bind(encode_previews(previews))
                        .bind(rev)
                        .execute(&mut *conn)
                        .await?;
                }
                ChangeKind::Pin | ChangeKind::Unpin => {
                    let (by, when) = match (&change.kind, change.actor) {
                        (ChangeKind::Pin, Actor::Member(user)) => (Some(user), Some(at)),
                        (ChangeKind::Pin, Actor::HostApp) => {
                            return Ok(Err(ChangeRefused::NotAuthor));
                        }
                        _ => (None, None),
                    };
                    sqlx::query(q.set_pin)
                        .bind(id)
                        .bind(by)
                        .bind(when)
                        .bind(rev)
                        .execute(&mut *conn)
                        .await?;
                }
            }
            let now = <$db as ChangeDialect>::message_in(&mut *conn, id).await?;
            // A deleted reply takes one off its parent's count: a change of
            // the parent, with the next rev, in this transaction
            // (`reply_deleted_in`, from `define_thread_steps!`).
            let parent = match (&change.kind, now.as_ref().and_then(|m| m.parent_id)) {
                (ChangeKind::Delete { .. }, Some(parent_id)) => {
                    reply_deleted_in(&mut *conn, change.channel_id, parent_id)
                        .await?
                        .map(Box::new)
                }
                _ => None,
            };
            Ok(now
                .map(|m| ChangeOutcome::Changed(m, parent))
                .ok_or(ChangeRefused::NotFound))
        }
    };
}
pub(super) use define_apply_change;

/// The channel a change is in, as its transaction read (and locked) it.
#[derive(Debug, FromRow)]
pub(super) struct ChannelFactsRow {
    /// The actor's access flag (`None`: no access row, or the host app).
    pub is_active: Option<bool>,
}

/// One of the first reactors with an emoji, and how many reacted with it.
#[derive(Debug, FromRow)]
pub(super) struct FirstReactorRow {
    pub user_id: UserId,
    pub total: i64,
}

/// One row of an edit history.
#[derive(Debug, FromRow)]
pub(super) struct EditRow {
    text: String,
    edited_at: Timestamp,
    rev: Rev,
}

impl From<EditRow> for MessageEdit {
    fn from(
        EditRow {
            text,
            edited_at,
            rev,
        }: EditRow,
    ) -> Self {
        MessageEdit {
            text,
            edited_at,
            rev,
        }
    }
}

/// One member's read cursor.
#[derive(Debug, FromRow)]
pub(super) struct ReadRow {
    user_id: UserId,
    last_read_seq: Seq,
}

impl From<ReadRow> for MemberRead {
    fn from(
        ReadRow {
            user_id,
            last_read_seq,
        }: ReadRow,
    ) -> Self {
        MemberRead {
            user_id,
            last_read_seq,
        }
    }
}

/// A database the change operations speak (see the module doc).
pub(super) trait ChangeDialect: Database
where
    for<'q> <Self as Database>::Arguments<'q>: IntoArguments<'q, Self>,
    for<'q> ChannelId: Encode<'q, Self> + Type<Self>,
    for<'q> UserId: Encode<'q, Self> + Type<Self>,
    for<'q> MessageId: Encode<'q, Self> + Type<Self>,
    for<'q> Rev: Encode<'q, Self> + Type<Self>,
    for<'q> Option<UserId>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<Timestamp>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<String>: Encode<'q, Self> + Type<Self>,
    for<'q> Timestamp: Encode<'q, Self> + Type<Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'q> bool: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'r> MessageRow: FromRow<'r, Self::Row>,
    for<'r> TargetRow: FromRow<'r, Self::Row>,
    for<'r> EditRow: FromRow<'r, Self::Row>,
    for<'r> ReadRow: FromRow<'r, Self::Row>,
    for<'r> (Rev,): FromRow<'r, Self::Row>,
    for<'r> (i64,): FromRow<'r, Self::Row>,
    for<'r> (bool,): FromRow<'r, Self::Row>,
    for<'r> (UserId,): FromRow<'r, Self::Row>,
{
    /// This dialect's statements.
    const CHANGES: ChangeQueries;

    /// One shown message by id (any channel; the caller checks),
    /// tombstones included.
    async fn message_in<'c>(
        db: impl Executor<'c, Database = Self>,
        id: MessageId,
    ) -> StoreResult<Option<Message>> {
        let row: Option<MessageRow> = sqlx::query_as(Self::CHANGES.message)
            .bind(id)
            .fetch_optional(db)
            .await?;
        Ok(row.map(Message::from))
    }

    /// The current state of a channel's messages changed after `rev`, by
    /// rev (at most `limit`).
    async fn changed_after<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
        rev: Rev,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let rows: Vec<MessageRow> = sqlx::query_as(Self::CHANGES.changed_after)
            .bind(channel_id)
            .bind(rev)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    /// A channel's newest rev (0 for a missing channel).
    async fn head_rev<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
    ) -> StoreResult<Rev> {
        let rev: Option<Rev> = sqlx::query_scalar(Self::CHANGES.head_rev)
            .bind(channel_id)
            .fetch_optional(db)
            .await?;
        Ok(rev.unwrap_or(Rev::ZERO))
    }

    /// A message's earlier texts, oldest first.
    async fn edits<'c>(
        db: impl Executor<'c, Database = Self>,
        id: MessageId,
    ) -> StoreResult<Vec<MessageEdit>> {
        let rows: Vec<EditRow> = sqlx::query_as(Self::CHANGES.edits)
            .bind(id)
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().map(MessageEdit::from).collect())
    }

    /// Who reacted with `emoji`, by time (at most `limit`).
    async fn reactors<'c>(
        db: impl Executor<'c, Database = Self>,
        id: MessageId,
        emoji: &str,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        Ok(sqlx::query_scalar(Self::CHANGES.reactors)
            .bind(id)
            .bind(emoji)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?)
    }

    /// The pinned messages, newest pin first (at most `limit`).
    async fn pins<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let rows: Vec<MessageRow> = sqlx::query_as(Self::CHANGES.pins)
            .bind(channel_id)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    /// Every active member's read cursor.
    async fn reads<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
    ) -> StoreResult<Vec<MemberRead>> {
        let rows: Vec<ReadRow> = sqlx::query_as(Self::CHANGES.reads)
            .bind(channel_id)
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().map(MemberRead::from).collect())
    }

    /// Whether the channel shows read receipts (true for a missing one).
    async fn read_receipts<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
    ) -> StoreResult<bool> {
        let on: Option<bool> = sqlx::query_scalar(Self::CHANGES.read_receipts)
            .bind(channel_id)
            .fetch_optional(db)
            .await?;
        Ok(on.unwrap_or(true))
    }

    /// Turns read receipts on or off.
    async fn set_read_receipts<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
        on: bool,
    ) -> StoreResult<()> {
        sqlx::query(Self::CHANGES.set_read_receipts)
            .bind(channel_id)
            .bind(on)
            .execute(db)
            .await?;
        Ok(())
    }

    /// One user's unread count in one channel.
    async fn unread_count<'c>(
        db: impl Executor<'c, Database = Self>,
        user_id: UserId,
        channel_id: ChannelId,
    ) -> StoreResult<i64> {
        let n: Option<i64> = sqlx::query_scalar(Self::CHANGES.unread_count)
            .bind(user_id)
            .bind(channel_id)
            .fetch_optional(db)
            .await?;
        Ok(n.unwrap_or(0))
    }
}
