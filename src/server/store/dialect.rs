//! The operations whose only difference between SQLite and Postgres is the
//! SQL text, written once. A backend gives its statements ([`Queries`]) by
//! implementing [`Dialect`] for its sqlx database type, and its `Store`
//! methods call these with the connection to use (SQLite reads on its read
//! pool, writes on its one writer; Postgres has one pool). What is left in
//! `sqlite.rs` and `postgres.rs` is SQL, connections and transactions, and
//! the write path, which differs in kind (one local writer against row
//! locks shared by several servers).

use chrono::Utc;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::rows::{ChannelSummaryRow, MemberRow, MembershipRow, MessageRow, UnreadRow};
use super::{HistoryCursor, Membership, NewMessage, StoreResult, Timeline, UserRecord};
use crate::protocol::dto::Member;
use crate::protocol::{
    ChannelId, ChannelSummary, ClientId, HistoryPage, Message, MessageId, Seq, Timestamp,
    UnreadEntry, UserId,
};

/// One dialect's statements for the shared operations. Each names its
/// parameters (`?1` or `$1`) in the order the operation binds them, and
/// returns the columns of the row type the operation reads.
#[derive(Debug)]
pub(super) struct Queries {
    /// `email` (already trimmed) → [`UserRecord`], case-insensitively.
    pub user_by_email: &'static str,
    /// `id` → [`UserRecord`].
    pub user_by_id: &'static str,
    /// `channel, user, active`: grants or revokes.
    pub set_access: &'static str,
    /// `channel, user` → [`MembershipRow`] (no row: no channel).
    pub membership: &'static str,
    /// `channel` → active member ids.
    pub member_ids: &'static str,
    /// `channel` → [`MemberRow`]s by name.
    pub members: &'static str,
    /// `user` → [`ChannelSummaryRow`]s in list order.
    pub channels_for: &'static str,
    /// `channel, fetch, main only` → [`MessageRow`]s, newest first (with
    /// `main only`, no thread-only reply).
    pub history_latest: &'static str,
    /// `channel, seq, fetch, main only` → [`MessageRow`]s below `seq`,
    /// newest first.
    pub history_before_seq: &'static str,
    /// `channel, time, fetch, main only` → [`MessageRow`]s created before
    /// `time`, newest first.
    pub history_before_time: &'static str,
    /// `channel, seq, fetch, main only` → [`MessageRow`]s above `seq`,
    /// oldest first.
    pub history_after_seq: &'static str,
    /// `parent, fetch` → the thread's newest [`MessageRow`]s, newest first.
    pub replies_latest: &'static str,
    /// `parent, seq, fetch` → the thread's [`MessageRow`]s below `seq`,
    /// newest first.
    pub replies_before_seq: &'static str,
    /// `parent, seq, fetch` → the thread's [`MessageRow`]s above `seq`,
    /// oldest first.
    pub replies_after_seq: &'static str,
    /// `channel` → its newest seq (no row: no channel).
    pub head_seq: &'static str,
    /// `channel, user, clientId` → the [`MessageRow`] stored under the key.
    pub find_by_client_id: &'static str,
    /// `user, channel, seq or null, now` → the cursor after the move.
    pub mark_read: &'static str,
    /// `user` → an [`UnreadRow`] per channel of the user.
    pub unread_for: &'static str,
    /// `user, channel` → the user's unread mentions there.
    pub unread_mentions: &'static str,
    /// `key` → its value.
    pub get_meta: &'static str,
    /// `key, value`: writes a flag.
    pub set_meta: &'static str,
}

/// A database the store speaks: its [`Queries`] and, as default methods,
/// the Rust side of each shared operation (binding, reading rows, the rules
/// both backends follow). The bounds say what those need of the driver:
/// the id, seq and time types bind, and the row types read.
pub(super) trait Dialect: Database
where
    for<'q> <Self as Database>::Arguments<'q>: IntoArguments<'q, Self>,
    for<'q> ChannelId: Encode<'q, Self> + Type<Self>,
    for<'q> UserId: Encode<'q, Self> + Type<Self>,
    for<'q> MessageId: Encode<'q, Self> + Type<Self>,
    for<'q> Seq: Encode<'q, Self> + Type<Self>,
    for<'q> Option<Seq>: Encode<'q, Self> + Type<Self>,
    for<'q> ClientId: Encode<'q, Self> + Type<Self>,
    for<'q> Timestamp: Encode<'q, Self> + Type<Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'q> bool: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'r> UserRecord: FromRow<'r, Self::Row>,
    for<'r> MessageRow: FromRow<'r, Self::Row>,
    for<'r> ChannelSummaryRow: FromRow<'r, Self::Row>,
    for<'r> MemberRow: FromRow<'r, Self::Row>,
    for<'r> UnreadRow: FromRow<'r, Self::Row>,
    for<'r> MembershipRow: FromRow<'r, Self::Row>,
    for<'r> (Seq,): FromRow<'r, Self::Row>,
    for<'r> (i64,): FromRow<'r, Self::Row>,
    for<'r> (UserId,): FromRow<'r, Self::Row>,
    for<'r> (String,): FromRow<'r, Self::Row>,
{
    /// This dialect's statements.
    const SQL: Queries;

    /// User by e-mail: surrounding blanks are not part of an address.
    async fn user_by_email<'c>(
        db: impl Executor<'c, Database = Self>,
        email: &str,
    ) -> StoreResult<Option<UserRecord>> {
        Ok(sqlx::query_as(Self::SQL.user_by_email)
            .bind(email.trim())
            .fetch_optional(db)
            .await?)
    }

    /// User by id.
    async fn user_by_id<'c>(
        db: impl Executor<'c, Database = Self>,
        id: UserId,
    ) -> StoreResult<Option<UserRecord>> {
        Ok(sqlx::query_as(Self::SQL.user_by_id)
            .bind(id)
            .fetch_optional(db)
            .await?)
    }

    /// Grants or revokes access.
    async fn set_access<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
        user_id: UserId,
        active: bool,
    ) -> StoreResult<()> {
        sqlx::query(Self::SQL.set_access)
            .bind(channel_id)
            .bind(user_id)
            .bind(active)
            .execute(db)
            .await?;
        Ok(())
    }

    /// Whether the channel exists and the user's access is active.
    async fn membership<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
        user_id: UserId,
    ) -> StoreResult<Membership> {
        let row: Option<MembershipRow> = sqlx::query_as(Self::SQL.membership)
            .bind(channel_id)
            .bind(user_id)
            .fetch_optional(db)
            .await?;
        Ok(row.into())
    }

    /// Active member ids.
    async fn member_ids<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
    ) -> StoreResult<Vec<UserId>> {
        Ok(sqlx::query_scalar(Self::SQL.member_ids)
            .bind(channel_id)
            .fetch_all(db)
            .await?)
    }

    /// Active members with names.
    async fn members<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
    ) -> StoreResult<Vec<Member>> {
        let rows: Vec<MemberRow> = sqlx::query_as(Self::SQL.members)
            .bind(channel_id)
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().map(Member::from).collect())
    }

    /// The user's channel list.
    async fn channels_for<'c>(
        db: impl Executor<'c, Database = Self>,
        user_id: UserId,
    ) -> StoreResult<Vec<ChannelSummary>> {
        let rows: Vec<ChannelSummaryRow> = sqlx::query_as(Self::SQL.channels_for)
            .bind(user_id)
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().map(ChannelSummary::from).collect())
    }

    /// One history page of `timeline`: one row more than `limit` is
    /// fetched to learn whether more exist ([`page_from_rows`]).
    /// `AroundSeq` is two such pages (see [`around_seq`]); alone it reads
    /// as `AfterSeq`. A thread has no time cursor (its newest page).
    async fn history<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
        timeline: Timeline,
        cursor: HistoryCursor,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        let fetch = i64::from(limit) + 1;
        let query = if let Timeline::Thread(parent) = timeline {
            let page = |sql| sqlx::query_as::<Self, MessageRow>(sql).bind(parent);
            match cursor {
                HistoryCursor::Latest | HistoryCursor::BeforeTime(_) => {
                    page(Self::SQL.replies_latest)
                }
                HistoryCursor::BeforeSeq(seq) => page(Self::SQL.replies_before_seq).bind(seq),
                HistoryCursor::AfterSeq(seq) | HistoryCursor::AroundSeq(seq) => {
                    page(Self::SQL.replies_after_seq).bind(seq)
                }
            }
            .bind(fetch)
        } else {
            let page = |sql| sqlx::query_as::<Self, MessageRow>(sql).bind(channel_id);
            match cursor {
                HistoryCursor::Latest => page(Self::SQL.history_latest),
                HistoryCursor::BeforeSeq(seq) => page(Self::SQL.history_before_seq).bind(seq),
                HistoryCursor::BeforeTime(t) => {
                    page(Self::SQL.history_before_time).bind(Timestamp::from(t))
                }
                HistoryCursor::AfterSeq(seq) | HistoryCursor::AroundSeq(seq) => {
                    page(Self::SQL.history_after_seq).bind(seq)
                }
            }
            .bind(fetch)
            .bind(timeline == Timeline::Main)
        };
        let rows = query.fetch_all(db).await?;
        let messages = rows.into_iter().map(Message::from).collect();
        Ok(page_from_rows(messages, cursor, limit))
    }

    /// Newest seq; 0 for an empty or missing channel.
    async fn head_seq<'c>(
        db: impl Executor<'c, Database = Self>,
        channel_id: ChannelId,
    ) -> StoreResult<Seq> {
        let seq: Option<Seq> = sqlx::query_scalar(Self::SQL.head_seq)
            .bind(channel_id)
            .fetch_optional(db)
            .await?;
        Ok(seq.unwrap_or(Seq::ZERO))
    }

    /// The message stored under `m`'s idempotency key, if any.
    async fn find_by_client_id<'c>(
        db: impl Executor<'c, Database = Self>,
        m: &NewMessage,
    ) -> StoreResult<Option<Message>> {
        let row: Option<MessageRow> = sqlx::query_as(Self::SQL.find_by_client_id)
            .bind(m.channel_id)
            .bind(m.user_id)
            .bind(&m.client_id)
            .fetch_optional(db)
            .await?;
        Ok(row.map(Message::from))
    }

    /// Moves the read cursor (the SQL keeps it between its old value and
    /// the head) and stamps the time.
    async fn mark_read<'c>(
        db: impl Executor<'c, Database = Self>,
        user_id: UserId,
        channel_id: ChannelId,
        seq: Option<Seq>,
    ) -> StoreResult<Seq> {
        Ok(sqlx::query_scalar(Self::SQL.mark_read)
            .bind(user_id)
            .bind(channel_id)
            .bind(seq)
            .bind(Timestamp::from(Utc::now()))
            .fetch_one(db)
            .await?)
    }

    /// Channels with unread messages: the query counts every channel of
    /// the user (a filter in SQL would compute each count twice), the
    /// summary keeps those above zero.
    async fn unread_for<'c>(
        db: impl Executor<'c, Database = Self>,
        user_id: UserId,
    ) -> StoreResult<Vec<UnreadEntry>> {
        let rows: Vec<UnreadRow> = sqlx::query_as(Self::SQL.unread_for)
            .bind(user_id)
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().filter_map(UnreadRow::into_entry).collect())
    }

    /// The user's unread mentions in a channel (0 for a missing one).
    async fn unread_mentions<'c>(
        db: impl Executor<'c, Database = Self>,
        user_id: UserId,
        channel_id: ChannelId,
    ) -> StoreResult<i64> {
        let n: Option<i64> = sqlx::query_scalar(Self::SQL.unread_mentions)
            .bind(user_id)
            .bind(channel_id)
            .fetch_optional(db)
            .await?;
        Ok(n.unwrap_or(0))
    }

    /// A flag's value.
    async fn get_meta<'c>(
        db: impl Executor<'c, Database = Self>,
        key: &str,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(Self::SQL.get_meta)
            .bind(key)
            .fetch_optional(db)
            .await?)
    }

    /// Writes a flag.
    async fn set_meta<'c>(
        db: impl Executor<'c, Database = Self>,
        key: &str,
        value: &str,
    ) -> StoreResult<()> {
        sqlx::query(Self::SQL.set_meta)
            .bind(key)
            .bind(value)
            .execute(db)
            .await?;
        Ok(())
    }

    /// A trivial query.
    async fn ping<'c>(db: impl Executor<'c, Database = Self>) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(db).await?;
        Ok(())
    }
}

/// Turns the rows of a history query (fetched with `limit + 1` to learn
/// whether more exist, newest first unless paging forward) into a page,
/// oldest first.
pub(super) fn page_from_rows(
    mut messages: Vec<Message>,
    cursor: HistoryCursor,
    limit: u32,
) -> HistoryPage {
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    if !matches!(cursor, HistoryCursor::AfterSeq(_)) {
        messages.reverse();
    }
    HistoryPage {
        messages,
        has_more,
        ..HistoryPage::default()
    }
}

/// The `AroundSeq(seq)` page of `limit` messages, from its two halves:
/// `before` (up to `before_limit(limit)` messages with `seq < n`) and
/// `from` (the rest, `seq >= n`).
pub(super) fn around_seq(seq: Seq, before: HistoryPage, from: HistoryPage) -> HistoryPage {
    let mut messages = before.messages;
    messages.extend(from.messages);
    let has_more_before = before.has_more || (messages.is_empty() && seq > Seq::new(1));
    HistoryPage {
        messages,
        has_more: before.has_more || from.has_more,
        has_more_before: Some(has_more_before),
        has_more_after: Some(from.has_more),
        ..HistoryPage::default()
    }
}

/// How many of an `AroundSeq` page's `limit` messages come before `n`.
pub(super) fn around_before_limit(limit: u32) -> u32 {
    limit / 2
}

/// The same failure for every message of `batch` (nothing of it was
/// stored): `step` is where the transaction failed.
pub(super) fn all_failed(
    batch: &[NewMessage],
    step: &str,
    error: &dyn std::fmt::Display,
) -> Vec<StoreResult<super::InsertOutcome>> {
    batch
        .iter()
        .map(|_| Err(super::StoreError::Transaction(format!("{step}: {error}"))))
        .collect()
}

/// The channels of a batch, each once, in id order (Postgres locks them in
/// this order, so two servers never deadlock).
pub(super) fn channels_of(batch: &[NewMessage]) -> Vec<ChannelId> {
    let mut channels: Vec<ChannelId> = batch.iter().map(|m| m.channel_id).collect();
    channels.sort_unstable();
    channels.dedup();
    channels
}
