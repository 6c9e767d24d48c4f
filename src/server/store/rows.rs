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
use serde::Deserialize;

use super::Membership;
use crate::protocol::dto::Member;
use crate::protocol::{
    Attachment, ChannelId, ChannelSummary, ClientId, LinkPreview, Message, MessageId, Pin, Quote,
    Reaction, Rev, Seq, ThreadInfo, Timestamp, UnreadEntry, UserId,
};

/// The columns [`MessageRow`] reads, in one place for every message query
/// of both dialects: `message_columns!(sqlite)` for a query on `messages`
/// alone, `message_columns!(postgres, "lm")` for one that names it `lm`.
///
/// The columns every message has are read as they are. Everything a change
/// or a quote adds (rev, edit time, tombstone, reactions, pin, quote) comes
/// in one column, `changes`: a JSON array built by the database, `NULL`
/// for a message that never changed, quotes nothing and is not deleted,
/// which most of a channel's messages are. A column is a value the driver
/// copies and a name it looks up per row, so eleven columns that are
/// almost always empty made every page of history and every channel list
/// slower (BENCHMARKS.md "Messages that change"). The quote is looked up
/// only for a reply.
macro_rules! message_columns {
    ($dialect:ident) => {
        message_columns!($dialect, "messages")
    };
    ($dialect:ident, $table:literal) => {
        concat!(
            message_columns!(@plain [$table]
                id, channel_id, seq, user_id, text, created_at, updated_at, client_id),
            ", CASE WHEN ", $table, ".rev > 0 OR ", $table, ".reply_to IS NOT NULL OR ",
            $table, ".deleted_at IS NOT NULL OR ", $table, ".parent_id IS NOT NULL OR ",
            $table, ".mentions IS NOT NULL OR ", $table, ".attachments IS NOT NULL THEN ",
            message_columns!(@changes $dialect $table),
            " END AS changes"
        )
    };
    (@plain [$table:literal] $first:ident $(, $column:ident)*) => {
        concat!(
            $table, ".", stringify!($first), " AS ", stringify!($first)
            $(, ", ", $table, ".", stringify!($column), " AS ", stringify!($column))*
        )
    };
    // The fields of `ChangeColumns`, in its order. SQLite keeps instants
    // as integer microseconds and ids as blobs (`hex` of NULL is '').
    (@changes sqlite $t:literal) => {
        concat!(
            "json_array(", $t, ".rev, ", $t, ".edited_at, ", $t, ".deleted_at IS NOT NULL, ",
            $t, ".reactions, nullif(hex(", $t, ".pinned_by), ''), ", $t, ".pinned_at, ",
            "nullif(hex(", $t, ".reply_to), ''), CASE WHEN ", $t, ".reply_to IS NULL THEN NULL \
             ELSE json((SELECT json_array(q.seq, hex(q.user_id), substr(q.text, 1, 140), \
             q.deleted_at IS NOT NULL) FROM messages q WHERE q.id = ", $t, ".reply_to)) END, ",
            "nullif(hex(", $t, ".parent_id), ''), ", $t, ".thread_only, ", $t, ".reply_count, ",
            $t, ".last_reply_at, ", $t, ".thread_participants, ", $t, ".mentions, ",
            $t, ".attachments, ", $t, ".previews)"
        )
    };
    (@changes postgres $t:literal) => {
        concat!(
            "json_build_array(", $t, ".rev, ",
            "(extract(epoch FROM ", $t, ".edited_at) * 1000000)::bigint, ",
            $t, ".deleted_at IS NOT NULL, ", $t, ".reactions, ", $t, ".pinned_by, ",
            "(extract(epoch FROM ", $t, ".pinned_at) * 1000000)::bigint, ", $t, ".reply_to, ",
            "CASE WHEN ", $t, ".reply_to IS NULL THEN NULL \
             ELSE (SELECT json_build_array(q.seq, q.user_id, substr(q.text, 1, 140), \
             q.deleted_at IS NOT NULL) FROM messages q WHERE q.id = ", $t, ".reply_to) END, ",
            $t, ".parent_id, ", $t, ".thread_only, ", $t, ".reply_count, ",
            "(extract(epoch FROM ", $t, ".last_reply_at) * 1000000)::bigint, ",
            $t, ".thread_participants, ", $t, ".mentions, ", $t, ".attachments, ", $t, ".previews)::text"
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
    #[sqlx(try_from = "Option<String>")]
    changes: MessageChanges,
}

/// The `changes` column: `None` for a message as it was sent.
#[derive(Debug)]
struct MessageChanges(Option<ChangeColumns>);

impl TryFrom<Option<String>> for MessageChanges {
    type Error = serde_json::Error;

    fn try_from(json: Option<String>) -> Result<Self, Self::Error> {
        json.as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map(MessageChanges)
    }
}

/// What a change or a quote adds to a message, as the `changes` array lists
/// it (by position).
#[derive(Debug, Deserialize)]
struct ChangeColumns {
    rev: Rev,
    /// Microseconds since the epoch.
    edited_at: Option<i64>,
    deleted: Flag,
    /// The stored summary, JSON text (see [`decode_reactions`]).
    reactions: Option<String>,
    pinned_by: Option<UserId>,
    /// Microseconds since the epoch.
    pinned_at: Option<i64>,
    reply_to: Option<MessageId>,
    /// The quoted message; `None` when it is not stored.
    quote: Option<QuoteColumns>,
    /// A thread reply's parent.
    parent_id: Option<MessageId>,
    /// A reply not also sent to the channel.
    thread_only: Flag,
    /// A parent's live replies.
    reply_count: i64,
    /// A parent's newest reply time, microseconds since the epoch (`None`:
    /// never had replies).
    last_reply_at: Option<i64>,
    /// A parent's participants, JSON text (see [`decode_user_ids`]).
    thread_participants: Option<String>,
    /// The mentioned members, JSON text (read like participants).
    mentions: Option<String>,
    /// The files it carries, JSON text (see [`decode_attachments`]).
    #[serde(default)]
    attachments: Option<String>,
    /// What its links' pages say, JSON text (see [`decode_previews`]).
    #[serde(default)]
    previews: Option<String>,
}

/// The quoted message's part of [`ChangeColumns`].
#[derive(Debug, Deserialize)]
struct QuoteColumns {
    seq: Seq,
    user_id: UserId,
    preview: Option<String>,
    deleted: Flag,
}

/// A truth value as a database puts it in JSON: `true`/`false` from
/// Postgres, `1`/`0` from SQLite.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Int(i64),
}

impl Flag {
    fn is_set(self) -> bool {
        match self {
            Flag::Bool(b) => b,
            Flag::Int(i) => i != 0,
        }
    }
}

/// Reads a stored list of user ids (the `thread_participants` and
/// `mentions` columns); one that does not decode is logged and shown as
/// empty rather than failing the whole read.
pub(super) fn decode_user_ids(json: Option<&str>) -> Vec<UserId> {
    match json {
        None | Some("") => Vec::new(),
        Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::error!(error = %e, "a stored list of user ids does not decode");
            Vec::new()
        }),
    }
}

/// Reads a message's stored attachments (the `attachments` column); a
/// list that does not decode is logged and shown as none rather than
/// failing the whole read.
pub(super) fn decode_attachments(json: Option<&str>) -> Vec<Attachment> {
    match json {
        None | Some("") => Vec::new(),
        Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::error!(error = %e, "a stored list of attachments does not decode");
            Vec::new()
        }),
    }
}

/// Reads a message's stored link previews (the `previews` column); a
/// list that does not decode is logged and shown as none.
pub(super) fn decode_previews(json: Option<&str>) -> Vec<LinkPreview> {
    match json {
        None | Some("") => Vec::new(),
        Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::error!(error = %e, "a stored list of link previews does not decode");
            Vec::new()
        }),
    }
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
            changes: MessageChanges(changes),
        } = row;
        let mut message =
            Message::unchanged(id, channel_id, seq, user_id, text, created_at, client_id);
        message.updated_at = updated_at;
        let Some(changes) = changes else {
            return message;
        };
        message.rev = changes.rev;
        message.edited_at = changes.edited_at.map(Timestamp::from_micros);
        // A tombstone keeps its place in a thread and its thread.
        message.parent_id = changes.parent_id;
        message.show_in_channel = changes.parent_id.is_some() && !changes.thread_only.is_set();
        message.thread = changes.last_reply_at.map(|at| ThreadInfo {
            reply_count: changes.reply_count,
            last_reply_at: Timestamp::from_micros(at),
            participants: decode_user_ids(changes.thread_participants.as_deref()),
        });
        if changes.deleted.is_set() {
            message.deleted = true;
            message.text = String::new();
            return message;
        }
        message.reactions = decode_reactions(changes.reactions.as_deref());
        message.mentions = decode_user_ids(changes.mentions.as_deref());
        message.attachments = decode_attachments(changes.attachments.as_deref());
        message.previews = decode_previews(changes.previews.as_deref());
        message.reply_to = match (changes.reply_to, changes.quote) {
            (Some(id), Some(quote)) => {
                let deleted = quote.deleted.is_set();
                Some(Quote {
                    id,
                    seq: quote.seq,
                    user_id: quote.user_id,
                    preview: if deleted {
                        String::new()
                    } else {
                        quote.preview.unwrap_or_default()
                    },
                    deleted,
                })
            }
            _ => None,
        };
        message.pinned = match (changes.pinned_by, changes.pinned_at) {
            (Some(by), Some(at)) => Some(Pin {
                by,
                at: Timestamp::from_micros(at),
            }),
            _ => None,
        };
        message
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
    unread_threads: i64,
    unread_mentions: i64,
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
            unread_threads,
            unread_mentions,
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
            unread_threads,
            unread_mentions,
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
    unread_mentions: i64,
}

impl UnreadRow {
    /// The summary entry, or `None` when nothing is unread (the summary
    /// lists only channels with unread messages).
    pub(super) fn into_entry(self) -> Option<UnreadEntry> {
        (self.unread_count > 0).then_some(UnreadEntry {
            channel_id: self.channel_id,
            unread_count: self.unread_count,
            unread_mentions: self.unread_mentions,
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
