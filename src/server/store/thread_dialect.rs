//! The SQL side of threads (PROTOCOL.md "Threads"), written once for both
//! backends like `change_dialect.rs`: a backend gives its statements as
//! [`ThreadQueries`] and gets the reads as default methods of
//! [`ThreadDialect`], and the steps inside a write transaction from
//! [`define_thread_steps!`].
//!
//! A reply changes its parent in the reply's own transaction: the parent
//! takes the channel's next rev with its new reply count, last reply time
//! and participants, and the reply's author and the parent's author get a
//! thread read cursor. A deleted reply takes one off its parent's count,
//! again as a change of the parent in the delete's transaction.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::rows::MessageRow;
use super::{StoreResult, ThreadRead};
use crate::protocol::{
    ChannelId, Message, MessageId, Seq, ThreadInfo, ThreadSummary, Timestamp, UserId,
};

/// One dialect's statements for threads. Each names its parameters in the
/// order the operation binds them.
#[derive(Debug)]
pub(super) struct ThreadQueries {
    /// `parent, channel` → [`ParentRow`], locking the parent's row until
    /// commit where the database locks rows. No row: not a message of the
    /// channel.
    pub parent: &'static str,
    /// `parent, time, participants, rev`: one more reply.
    pub add_reply: &'static str,
    /// `parent, rev`: one reply less (it was deleted).
    pub remove_reply: &'static str,
    /// `user, parent, channel, seq`: the user takes part in the thread,
    /// having read up to `seq` (never moving an existing cursor back).
    pub join: &'static str,
    /// `user, parent, seq or null` → [`CursorRow`]: moves the cursor to
    /// `seq` (null: the newest reply), never backwards, never past the
    /// newest reply. No row: the user takes no part.
    pub mark_read: &'static str,
    /// `parent, user, after` → replies after `after` by others, not
    /// deleted.
    pub unread: &'static str,
    /// `parent` → a [`ReaderRow`] per user who takes part.
    pub readers: &'static str,
    /// `user, before or null, limit` → [`ThreadSummaryRow`]s of the user's
    /// threads in channels where they are active, newest last reply first.
    pub threads_for: &'static str,
}

/// A reply's parent as the reply's transaction reads it.
#[derive(Debug, FromRow)]
pub(super) struct ParentRow {
    /// The parent's author (the first participant).
    pub user_id: UserId,
    /// Whether the parent is itself a reply (refused: one level).
    pub is_reply: bool,
    /// Whether it is deleted (refused).
    pub deleted: bool,
    /// Its participants so far (JSON), `None` before the first reply.
    pub thread_participants: Option<String>,
}

/// A thread cursor after a move.
#[derive(Debug, FromRow)]
pub(super) struct CursorRow {
    /// The thread's channel.
    pub channel_id: ChannelId,
    /// The cursor.
    pub last_read_seq: Seq,
}

/// One participant of a thread with their cursor and unread count.
#[derive(Debug, FromRow)]
pub(super) struct ReaderRow {
    pub user_id: UserId,
    pub channel_id: ChannelId,
    pub last_read_seq: Seq,
    pub unread_count: i64,
}

/// One thread of the caller: the parent's columns and the caller's state.
#[derive(Debug, FromRow)]
pub(super) struct ThreadSummaryRow {
    last_read_seq: Seq,
    unread_count: i64,
    #[sqlx(flatten)]
    parent: MessageRow,
}

impl From<ThreadSummaryRow> for ThreadSummary {
    fn from(row: ThreadSummaryRow) -> Self {
        let parent = Message::from(row.parent);
        ThreadSummary {
            channel_id: parent.channel_id,
            parent,
            unread_count: row.unread_count,
            last_read_seq: row.last_read_seq,
        }
    }
}

/// The participants after `replier`'s reply: the parent's author first,
/// then each replier in the order of their first reply, at most
/// [`ThreadInfo::MAX_PARTICIPANTS`].
pub(super) fn participants_after(
    stored: Option<&str>,
    author: UserId,
    replier: UserId,
) -> Vec<UserId> {
    let mut list = super::rows::decode_user_ids(stored);
    if list.is_empty() {
        list.push(author);
    }
    if !list.contains(&replier) && list.len() < ThreadInfo::MAX_PARTICIPANTS {
        list.push(replier);
    }
    list
}

/// Defines, for one backend (`$db`, whose connection type is `$conn`), the
/// thread steps that run inside a write transaction (a macro for the
/// reason `define_apply_change!` is one):
/// - `reply_step_in`: after a reply's row is inserted, changes its parent
///   (refusing a parent deleted since the rule book checked it) and
///   records who takes part; returns the parent's new state.
/// - `reply_deleted_in`: after a reply is deleted, takes one off its
///   parent's count; returns the parent's new state.
macro_rules! define_thread_steps {
    ($db:ty, $conn:ty) => {
        /// A reply's thread step (see `thread_dialect.rs`): the parent's
        /// new rev, count, time and participants, and the thread cursors
        /// of the reply's and the parent's authors.
        pub(super) async fn reply_step_in(
            conn: &mut $conn,
            reply: &$crate::server::store::NewMessage,
            thread: $crate::server::store::ReplyThread,
            seq: $crate::protocol::Seq,
            at: $crate::protocol::Timestamp,
        ) -> $crate::server::store::StoreResult<$crate::protocol::Message> {
            use $crate::server::store::change_dialect::ChangeDialect;
            use $crate::server::store::thread_dialect::{
                participants_after, ParentRow, ThreadDialect,
            };
            use $crate::server::store::StoreError;
            let q = &<$db as ThreadDialect>::THREADS;
            let parent: Option<ParentRow> = sqlx::query_as(q.parent)
                .bind(thread.parent_id)
                .bind(reply.channel_id)
                .fetch_optional(&mut *conn)
                .await?;
            let parent = match parent {
                Some(p) if !p.is_reply && !p.deleted => p,
                _ => return Err(StoreError::ParentGone),
            };
            let rev: $crate::protocol::Rev =
                sqlx::query_scalar(<$db as ChangeDialect>::CHANGES.bump_rev)
                    .bind(reply.channel_id)
                    .fetch_one(&mut *conn)
                    .await?;
            let participants = participants_after(
                parent.thread_participants.as_deref(),
                parent.user_id,
                reply.user_id,
            );
            sqlx::query(q.add_reply)
                .bind(thread.parent_id)
                .bind(at)
                .bind(serde_json::to_string(&participants).unwrap_or_default())
                .bind(rev)
                .execute(&mut *conn)
                .await?;
            // Whom the reply mentions take part from this reply on.
            let mentioned = reply
                .mentions
                .iter()
                .filter(|u| **u != reply.user_id)
                .map(|u| (*u, seq.prev()));
            let joining = [
                (parent.user_id, $crate::protocol::Seq::ZERO),
                (reply.user_id, seq),
            ]
            .into_iter()
            .chain(mentioned);
            for (user, read) in joining {
                sqlx::query(q.join)
                    .bind(user)
                    .bind(thread.parent_id)
                    .bind(reply.channel_id)
                    .bind(read)
                    .execute(&mut *conn)
                    .await?;
            }
            <$db as ChangeDialect>::message_in(&mut *conn, thread.parent_id)
                .await?
                .ok_or(StoreError::ParentGone)
        }

        /// A deleted reply's thread step: one reply less on its parent, as
        /// a change of the parent (`None` when the parent is not stored).
        pub(super) async fn reply_deleted_in(
            conn: &mut $conn,
            channel_id: $crate::protocol::ChannelId,
            parent_id: $crate::protocol::MessageId,
        ) -> $crate::server::store::StoreResult<Option<$crate::protocol::Message>> {
            use $crate::server::store::change_dialect::ChangeDialect;
            use $crate::server::store::thread_dialect::ThreadDialect;
            let q = &<$db as ThreadDialect>::THREADS;
            let rev: $crate::protocol::Rev =
                sqlx::query_scalar(<$db as ChangeDialect>::CHANGES.bump_rev)
                    .bind(channel_id)
                    .fetch_one(&mut *conn)
                    .await?;
            sqlx::query(q.remove_reply)
                .bind(parent_id)
                .bind(rev)
                .execute(&mut *conn)
                .await?;
            <$db as ChangeDialect>::message_in(&mut *conn, parent_id).await
        }
    };
}
pub(super) use define_thread_steps;

/// A database the thread reads speak (see the module doc).
pub(super) trait ThreadDialect: Database
where
    for<'q> <Self as Database>::Arguments<'q>: IntoArguments<'q, Self>,
    for<'q> UserId: Encode<'q, Self> + Type<Self>,
    for<'q> MessageId: Encode<'q, Self> + Type<Self>,
    for<'q> Seq: Encode<'q, Self> + Type<Self>,
    for<'q> Option<Seq>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<Timestamp>: Encode<'q, Self> + Type<Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'r> CursorRow: FromRow<'r, Self::Row>,
    for<'r> ReaderRow: FromRow<'r, Self::Row>,
    for<'r> ThreadSummaryRow: FromRow<'r, Self::Row>,
    for<'r> (i64,): FromRow<'r, Self::Row>,
{
    /// This dialect's statements.
    const THREADS: ThreadQueries;

    /// Moves a thread cursor; `None` when the user takes no part.
    async fn mark_thread_read<'c>(
        db: impl Executor<'c, Database = Self>,
        user_id: UserId,
        parent_id: MessageId,
        seq: Option<Seq>,
    ) -> StoreResult<Option<CursorRow>> {
        Ok(sqlx::query_as(Self::THREADS.mark_read)
            .bind(user_id)
            .bind(parent_id)
            .bind(seq)
            .fetch_optional(db)
            .await?)
    }

    /// Replies after `after` by others than `user_id`, not deleted.
    async fn thread_unread<'c>(
        db: impl Executor<'c, Database = Self>,
        parent_id: MessageId,
        user_id: UserId,
        after: Seq,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(Self::THREADS.unread)
            .bind(parent_id)
            .bind(user_id)
            .bind(after)
            .fetch_one(db)
            .await?)
    }

    /// Everyone who takes part in a thread.
    async fn thread_reads<'c>(
        db: impl Executor<'c, Database = Self>,
        parent_id: MessageId,
    ) -> StoreResult<Vec<(UserId, ThreadRead)>> {
        let rows: Vec<ReaderRow> = sqlx::query_as(Self::THREADS.readers)
            .bind(parent_id)
            .fetch_all(db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.user_id,
                    ThreadRead {
                        channel_id: r.channel_id,
                        last_read_seq: r.last_read_seq,
                        unread_count: r.unread_count,
                    },
                )
            })
            .collect())
    }

    /// The user's threads, newest last reply first.
    async fn threads_for<'c>(
        db: impl Executor<'c, Database = Self>,
        user_id: UserId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> StoreResult<Vec<ThreadSummary>> {
        let rows: Vec<ThreadSummaryRow> = sqlx::query_as(Self::THREADS.threads_for)
            .bind(user_id)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().map(ThreadSummary::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_start_with_the_author_and_keep_first_reply_order() {
        let (a, b, c) = (
            UserId::new_random(),
            UserId::new_random(),
            UserId::new_random(),
        );
        let first = participants_after(None, a, b);
        assert_eq!(first, [a, b]);
        let json = serde_json::to_string(&first).unwrap();
        assert_eq!(participants_after(Some(&json), a, b), [a, b]);
        assert_eq!(participants_after(Some(&json), a, c), [a, b, c]);
        assert_eq!(participants_after(None, a, a), [a]);
    }

    #[test]
    fn participants_stop_at_ten() {
        let author = UserId::new_random();
        let mut json = None;
        for _ in 0..20 {
            let list = participants_after(json.as_deref(), author, UserId::new_random());
            json = Some(serde_json::to_string(&list).unwrap());
        }
        let list = super::super::rows::decode_user_ids(json.as_deref());
        assert_eq!(list.len(), ThreadInfo::MAX_PARTICIPANTS);
        assert_eq!(list[0], author);
    }
}
