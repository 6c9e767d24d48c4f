//! What the queries return, written once for both dialects: each row type
//! derives [`FromRow`] by column name and turns into the wire type it
//! feeds. The one difference between the dialects' rows, how an instant is
//! stored, is bridged on [`Timestamp`] itself (at the end of this file), so
//! a row type never says which database it came from.

use sqlx::decode::Decode;
use sqlx::encode::{Encode, IsNull};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::{ColumnIndex, Database, FromRow, Row, Type};

use chrono::{DateTime, Utc};

use super::Membership;
use crate::protocol::dto::Member;
use crate::protocol::{
    ChannelId, ChannelSummary, ClientId, Message, MessageId, Pin, Quote, Reaction, Rev, Seq,
    Timestamp, UnreadEntry, UserId,
};

/// The columns [`MessageRow`] reads, in one place for every message query
/// of both dialects: `message_columns!()` for a query on `messages` alone,
/// `message_columns!("lm")` for one that names it `lm`. Each column is
/// qualified and named back to itself; the quoted message of a reply is
/// read with it (`quote_*`, one primary-key probe each, null without a
/// quote), so a quote always shows the original as it is now.
macro_rules! message_columns {
    () => {
        message_columns!("messages")
    };
    ($table:literal) => {
        message_columns!(@list [$table]
            id, channel_id, seq, user_id, text, created_at, updated_at, client_id,
            rev, edited_at, deleted_at, reactions, reply_to, pinned_by, pinned_at)
    };
    (@list [$table:literal] $first:ident $(, $column:ident)*) => {
        concat!(
            $table, ".", stringify!($first), " AS ", stringify!($first)
            $(, ", ", $table, ".", stringify!($column), " AS ", stringify!($column))*,
            // Only a reply looks its quote up (CASE evaluates the
            // subquery only when it is taken).
            ", CASE WHEN ", $table, ".reply_to IS NULL THEN NULL ELSE \
               (SELECT q.seq FROM messages q WHERE q.id = ", $table, ".reply_to) END AS quote_seq",
            ", CASE WHEN ", $table, ".reply_to IS NULL THEN NULL ELSE \
               (SELECT q.user_id FROM messages q WHERE q.id = ", $table,
            ".reply_to) END AS quote_user_id",
            ", CASE WHEN ", $table, ".reply_to IS NULL THEN NULL ELSE \
               (SELECT substr(q.text, 1, 140) FROM messages q WHERE q.id = ", $table,
            ".reply_to) END AS quote_preview",
            ", CASE WHEN ", $table, ".reply_to IS NULL THEN NULL ELSE \
               (SELECT q.deleted_at IS NOT NULL FROM messages q WHERE q.id = ", $table,
            ".reply_to) END AS quote_deleted"
        )
    };
}
pub(crate) use message_columns;

/// A stored message: the columns of [`message_columns!`].
#[derive(Debug, FromRow)]
pub(super) struct MessageRow {
    id: MessageId,
    channel_id: ChannelId,
    seq: Seq,
    user_id: UserId,
    text: String,
    created_at: Timestamp,
    updated_at: Option<Timestamp>,
    client_id: ClientId,
    rev: Rev,
    edited_at: Option<Timestamp>,
    deleted_at: Option<Timestamp>,
    reactions: Option<String>,
    reply_to: Option<MessageId>,
    pinned_by: Option<UserId>,
    pinned_at: Option<Timestamp>,
    quote_seq: Option<Seq>,
    quote_user_id: Option<UserId>,
    quote_preview: Option<String>,
    quote_deleted: Option<bool>,
}

/// Reads a stored reactions summary (the `reactions` column); a summary
/// that does not decode is logged and shown as none rather than failing
/// the whole read.
pub(super) fn decode_reactions(json: Option<&str>) -> Vec<Reaction> {
    match json {
        None | Some("") => Vec::new(),
        Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::error!(error = %e, "a stored reactions summary does not decode");
            Vec::new()
        }),
    }
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        let MessageRow {
            id,
            channel_id,
            seq,
            user_id,
            text,
            created_at,
            updated_at,
            client_id,
            rev,
            edited_at,
            deleted_at,
            reactions,
            reply_to,
            pinned_by,
            pinned_at,
            quote_seq,
            quote_user_id,
            quote_preview,
            quote_deleted,
        } = row;
        let deleted = deleted_at.is_some();
        let reply_to = match (reply_to, quote_seq, quote_user_id) {
            (Some(id), Some(seq), Some(user_id)) if !deleted => {
                let quote_deleted = quote_deleted.unwrap_or(false);
                Some(Quote {
                    id,
                    seq,
                    user_id,
                    preview: if quote_deleted {
                        String::new()
                    } else {
                        quote_preview.unwrap_or_default()
                    },
                    deleted: quote_deleted,
                })
            }
            _ => None,
        };
        Message {
            id,
            channel_id,
            seq,
            user_id,
            text: if deleted { String::new() } else { text },
            created_at,
            updated_at,
            client_id,
            rev,
            edited_at,
            deleted,
            reactions: if deleted {
                Vec::new()
            } else {
                decode_reactions(reactions.as_deref())
            },
            reply_to,
            pinned: match (pinned_by, pinned_at) {
                (Some(by), Some(at)) if !deleted => Some(Pin { by, at }),
                _ => None,
            },
        }
    }
}

/// A channel's newest message as a left join gives it: the message's
/// columns, all null when the channel has none (told by its `id`).
#[derive(Debug)]
pub(super) struct LastMessage(Option<Message>);

impl<'r, R> FromRow<'r, R> for LastMessage
where
    R: Row,
    &'r str: ColumnIndex<R>,
    Option<MessageId>: Decode<'r, R::Database> + Type<R::Database>,
    MessageRow: FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let id: Option<MessageId> = row.try_get("id")?;
        Ok(LastMessage(match id {
            Some(_) => Some(MessageRow::from_row(row)?.into()),
            None => None,
        }))
    }
}

/// One row of the channel list: the channel (its id as `tablo_id`, the
/// message columns taking the plain names), the caller's read state and
/// the newest message with its sender's name.
#[derive(Debug, FromRow)]
pub(super) struct ChannelSummaryRow {
    tablo_id: ChannelId,
    name: String,
    color: String,
    member_count: i64,
    unread_count: i64,
    last_read_seq: Seq,
    head_seq: Seq,
    head_rev: Rev,
    read_receipts: bool,
    #[sqlx(flatten)]
    last_message: LastMessage,
    last_sender_name: Option<String>,
}

impl From<ChannelSummaryRow> for ChannelSummary {
    fn from(row: ChannelSummaryRow) -> Self {
        let ChannelSummaryRow {
            tablo_id,
            name,
            color,
            member_count,
            unread_count,
            last_read_seq,
            head_seq,
            head_rev,
            read_receipts,
            last_message: LastMessage(last_message),
            last_sender_name,
        } = row;
        ChannelSummary {
            id: tablo_id,
            name,
            color,
            member_count,
            unread_count,
            last_read_seq,
            head_seq,
            last_message,
            last_sender_name,
            head_rev,
            read_receipts,
        }
    }
}

/// A member with the name the UI shows.
#[derive(Debug, FromRow)]
pub(super) struct MemberRow {
    id: UserId,
    display_name: String,
}

impl From<MemberRow> for Member {
    fn from(MemberRow { id, display_name }: MemberRow) -> Self {
        Member { id, display_name }
    }
}

/// One channel's unread count for the caller (zero included: the store
/// drops those, see [`UnreadRow::into_entry`]).
#[derive(Debug, FromRow)]
pub(super) struct UnreadRow {
    channel_id: ChannelId,
    unread_count: i64,
}

impl UnreadRow {
    /// The summary entry, or `None` when nothing is unread (the summary
    /// lists only channels with unread messages).
    pub(super) fn into_entry(self) -> Option<UnreadEntry> {
        (self.unread_count > 0).then_some(UnreadEntry {
            channel_id: self.channel_id,
            unread_count: self.unread_count,
        })
    }
}

/// A channel and the caller's access to it; no row when there is no such
/// channel.
#[derive(Debug, FromRow)]
pub(super) struct MembershipRow {
    /// The access row's flag; `None` without an access row.
    is_active: Option<bool>,
    head_seq: Seq,
    head_rev: Rev,
}

impl From<Option<MembershipRow>> for Membership {
    fn from(row: Option<MembershipRow>) -> Self {
        match row {
            None => Membership::NoChannel,
            Some(MembershipRow {
                is_active: Some(true),
                head_seq,
                head_rev,
            }) => Membership::Member { head_seq, head_rev },
            Some(_) => Membership::NotMember,
        }
    }
}

/// A channel's head as a batch reads it before writing.
#[derive(Debug, FromRow)]
pub(super) struct HeadRow {
    id: ChannelId,
    last_seq: Seq,
    last_message_at: Option<Timestamp>,
}

impl HeadRow {
    /// The entry of [`super::batch::BatchFacts::heads`].
    pub(super) fn into_fact(self) -> (ChannelId, (Seq, Option<DateTime<Utc>>)) {
        (
            self.id,
            (self.last_seq, self.last_message_at.map(DateTime::from)),
        )
    }
}

// The dialect bridge. SQLite keeps an instant as INTEGER microseconds since
// the Unix epoch (UTC), Postgres as `timestamptz` (microseconds too), so a
// `Timestamp` is read and written as an `i64` on one and as chrono's
// `DateTime<Utc>` on the other, exactly as the backends did by hand before.

impl Type<Sqlite> for Timestamp {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode(self.micros(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Timestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        <i64 as Decode<'r, Sqlite>>::decode(value).map(Timestamp::from_micros)
    }
}

impl Type<Postgres> for Timestamp {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<'q, Postgres>>::encode(DateTime::from(*self), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<'r, Postgres>>::decode(value).map(Timestamp::from)
    }
}
