//! PostgreSQL backend (production, several servers on one database):
//! native `uuid` and `timestamptz` columns, one pool. `seq` is taken by
//! bumping `tablos.last_seq` under that row's lock inside the insert's
//! transaction, so concurrent senders on any number of servers get 1, 2, 3
//! with no gap, in commit order; the idempotency check runs after the lock,
//! so two servers racing with the same `clientId` store it once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};

use super::batch::{self, BatchFacts};
use super::change_dialect::{define_apply_change, ChangeDialect, ChangeQueries};
use super::dialect::{all_failed, around_before_limit, around_seq, channels_of, Dialect, Queries};
use super::preview_dialect::{PreviewDialect, PreviewQueries};
use super::rows::{message_columns, HeadRow, MessageRow};
use super::thread_dialect::{define_thread_steps, ThreadDialect, ThreadQueries};
use super::upload_dialect::{define_upload_steps, UploadDialect, UploadQueries};
use super::{mentions_json, postgres_search, CommitNotice};
use super::{
    CachedPreview, Change, ChangeLimits, ChangeResult, ChangeStore, ChannelStore, HistoryCursor,
    InsertOutcome, Membership, MessageStore, MetaStore, NewMessage, PreviewStore, ReadStore,
    SearchStore, StoreError, StoreResult, ThreadRead, ThreadStore, Timeline, UploadRecord,
    UploadStore, UserRecord, UserStore,
};
use crate::protocol::dto::{Member, MemberRead, MessageEdit};
use crate::protocol::{
    ChannelId, ChannelSummary, ClientId, HistoryPage, Message, MessageId, PreviewImageId, Rev, Seq,
    ThreadSummary, Timestamp, UnreadEntry, UploadId, UserId,
};
use crate::server::search_text::SearchQuery;

/// Migrations embedded in the binary, applied at start-up.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Locks the channel's row, takes its next seq and a timestamp never earlier
/// than the previous message's (time order matches seq order).
const NEXT_SEQ: &str = "UPDATE tablos SET last_seq = last_seq + 1, \
     last_message_at = GREATEST(last_message_at, $2) \
     WHERE id = $1 RETURNING last_seq, last_message_at";
/// The stored message for an idempotency key.
const FIND_BY_CLIENT_ID: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE channel_id = $1 AND user_id = $2 AND client_id = $3"
);
/// One message the careful way (its words for search are taken in later,
/// `postgres_search`).
const INSERT_MESSAGE: &str = "INSERT INTO messages \
     (id, channel_id, seq, user_id, client_id, text, created_at, reply_to, \
      parent_id, thread_only, mentions) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
/// The fast path, step 1: lock the batch's channel rows (in id order, so
/// two servers never deadlock) and read their heads. The lock is held to
/// commit, so the key lookup that follows sees every earlier commit.
const LOCK_CHANNELS: &str = "SELECT id, last_seq, last_message_at FROM tablos \
     WHERE id = ANY($1) ORDER BY id FOR UPDATE";
/// The fast path, step 3: the stored messages among the batch's
/// idempotency keys.
const EXISTING_KEYS: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) \
     AS k(channel_id, user_id, client_id) USING (channel_id, user_id, client_id)"
);
/// The fast path, step 2: which of the batch's senders are active members
/// of their channels (read after the lock, in the same transaction as the
/// insert, so a revoked sender stores nothing).
const ACTIVE_SENDERS: &str = "SELECT tablo_id, user_id FROM tablo_access \
     JOIN unnest($1::uuid[], $2::uuid[]) AS k(tablo_id, user_id) USING (tablo_id, user_id) \
     WHERE is_active";
/// The fast path, step 4: every new row, the channels' new heads and the
/// other servers' wake-up, in one statement.
const WRITE_BATCH: &str = "WITH inserted AS ( \
       INSERT INTO messages (id, channel_id, seq, user_id, client_id, text, created_at, \
         reply_to, mentions) \
       SELECT id, channel_id, seq, user_id, client_id, text, created_at, reply_to, mentions \
       FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], \
         $5::text[], $6::text[], $7::timestamptz[], $13::uuid[], $14::text[]) \
         AS n(id, channel_id, seq, user_id, client_id, text, created_at, reply_to, \
           mentions)), \
     bumped AS ( \
       UPDATE tablos t SET last_seq = h.last_seq, last_message_at = h.last_at \
       FROM unnest($8::uuid[], $9::bigint[], $10::timestamptz[]) AS h(id, last_seq, last_at) \
       WHERE t.id = h.id) \
     SELECT pg_notify($11, p) FROM unnest($12::text[]) AS p";
/// The newest hits of one channel (`$channel`) for the tsquery `$1`, at
/// most `$3`, found in the words table alone (the planner walks the
/// channel's words backwards by seq when a word is common, or reads the
/// GIN index when it is rare) and only then joined to their messages, with
/// `$words` an extra condition on the words row `w` (a later page's seq
/// cursor) and `$shown` one on the message `m`. A deleted message's words
/// are NULL (`postgres_search`), so no hit is a deleted message.
macro_rules! newest_hits {
    ($channel:literal, $words:expr, $shown:expr) => {
        concat!(
            "SELECT m.* FROM (SELECT w.channel_id, w.seq FROM message_words w \
               WHERE w.channel_id = ",
            $channel,
            " AND w.words @@ $1::tsquery",
            $words,
            " ORDER BY w.seq DESC LIMIT $3) AS h \
             JOIN messages m ON m.channel_id = h.channel_id AND m.seq = h.seq \
             WHERE m.deleted_at IS NULL",
            $shown
        )
    };
}
/// A search's condition that the searcher (`$2`) is an active member of
/// `$channel`.
macro_rules! searcher_is_member {
    ($channel:literal) => {
        concat!(
            " AND EXISTS (SELECT 1 FROM tablo_access WHERE tablo_id = ",
            $channel,
            " AND user_id = $2 AND is_active)"
        )
    };
}
/// A search's condition that the message `m` comes after the hit `$4` of
/// an earlier page, in the order of a search across channels.
macro_rules! after_hit {
    () => {
        " AND (m.created_at, m.channel_id, m.seq) < \
           (SELECT created_at, channel_id, seq FROM messages WHERE id = $4)"
    };
}
/// The hits of one channel (`$channel`) for the tsquery `$1` that pass
/// `$after`, a condition on the message `m`, newest first, at most `$3`:
/// the later pages of a search across channels, whose cursor is the
/// message's time and so needs the message before the limit (a later page
/// in one channel keeps [`newest_hits`]' form, its cursor being a seq).
macro_rules! channel_hits {
    ($channel:literal, $after:expr) => {
        concat!(
            "SELECT m.* FROM message_words w \
             JOIN messages m ON m.channel_id = w.channel_id AND m.seq = w.seq \
             WHERE w.channel_id = ",
            $channel,
            " AND w.words @@ $1::tsquery AND m.deleted_at IS NULL",
            $after,
            " ORDER BY w.seq DESC LIMIT $3"
        )
    };
}
/// Search in all of the user's channels (`tsquery, user, limit`), newest
/// first: the newest hits of each channel, then the newest of those.
/// Ordered by `(created_at, channel_id, seq)`: within a channel that is
/// seq order.
const SEARCH_ALL: &str = concat!(
    "SELECT ",
    message_columns!(postgres, "m"),
    " FROM (SELECT tablo_id FROM tablo_access WHERE user_id = $2 AND is_active) AS a \
     CROSS JOIN LATERAL (",
    newest_hits!("a.tablo_id", "", ""),
    ") AS m ORDER BY m.created_at DESC, m.channel_id DESC, m.seq DESC LIMIT $3"
);
/// [`SEARCH_ALL`] after the hit `$4` of an earlier page.
const SEARCH_ALL_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(postgres, "m"),
    " FROM (SELECT tablo_id FROM tablo_access WHERE user_id = $2 AND is_active) AS a \
     CROSS JOIN LATERAL (",
    channel_hits!("a.tablo_id", after_hit!()),
    ") AS m ORDER BY m.created_at DESC, m.channel_id DESC, m.seq DESC LIMIT $3"
);
/// Search in all of the user's channels when they are few (at most
/// [`CHANNELS_PLANNED_APART`]): one branch per channel, the channel's id
/// written into it (`{channel}`), so each branch is planned for its own
/// channel (walk a big channel backwards or read the GIN index for it, by
/// the word's frequency) where [`SEARCH_ALL`]'s one plan serves every
/// channel alike. The branches are joined by `UNION ALL` between
/// [`SEARCH_EACH_HEAD`] and [`SEARCH_EACH_TAIL`]; arguments as
/// [`SEARCH_ALL`]'s.
const SEARCH_EACH_BRANCH: &str = concat!(
    "(",
    newest_hits!("'{channel}'", "", searcher_is_member!("m.channel_id")),
    ")"
);
/// [`SEARCH_EACH_BRANCH`] after the hit `$4` of an earlier page.
const SEARCH_EACH_BRANCH_AFTER: &str = concat!(
    "(",
    channel_hits!(
        "'{channel}'",
        concat!(searcher_is_member!("m.channel_id"), after_hit!())
    ),
    ")"
);
/// What comes before the branches of a search planned channel by channel.
const SEARCH_EACH_HEAD: &str = concat!("SELECT ", message_columns!(postgres, "m"), " FROM (");
/// What comes after them.
const SEARCH_EACH_TAIL: &str =
    ") AS m ORDER BY m.created_at DESC, m.channel_id DESC, m.seq DESC LIMIT $3";
/// Up to this many channels a search across them is planned channel by
/// channel ([`SEARCH_EACH_BRANCH`]); beyond, planning them all would cost
/// more than it saves, and one plan serves them ([`SEARCH_ALL`]).
const CHANNELS_PLANNED_APART: usize = 32;
/// The channels a user may search.
const SEARCHABLE_CHANNELS: &str =
    "SELECT tablo_id FROM tablo_access WHERE user_id = $1 AND is_active ORDER BY tablo_id";

/// The statement of a search across `channels`, planned channel by
/// channel (after an earlier page's hit when `after`).
fn search_each_sql(channels: &[ChannelId], after: bool) -> String {
    let branch = if after {
        SEARCH_EACH_BRANCH_AFTER
    } else {
        SEARCH_EACH_BRANCH
    };
    let branches: Vec<String> = channels
        .iter()
        .map(|c| branch.replace("{channel}", &c.to_string()))
        .collect();
    format!(
        "{SEARCH_EACH_HEAD}{}{SEARCH_EACH_TAIL}",
        branches.join(" UNION ALL ")
    )
}

/// Search in one channel (`tsquery, user, limit, channel`), newest first.
const SEARCH_ONE: &str = concat!(
    "SELECT ",
    message_columns!(postgres, "m"),
    " FROM (",
    newest_hits!("$4", "", searcher_is_member!("$4")),
    ") AS m ORDER BY m.seq DESC"
);
/// [`SEARCH_ONE`] after the hit `$5` of an earlier page.
const SEARCH_ONE_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(postgres, "m"),
    " FROM (",
    newest_hits!(
        "$4",
        " AND w.seq < (SELECT seq FROM messages WHERE id = $5 AND channel_id = $4)",
        searcher_is_member!("$4")
    ),
    ") AS m ORDER BY m.seq DESC"
);
const HISTORY_LATEST: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE channel_id = $1 AND (deleted_at IS NULL OR rev > 0) \
     AND (NOT $3 OR NOT thread_only) ORDER BY seq DESC LIMIT $2"
);
const HISTORY_BEFORE_SEQ: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE channel_id = $1 AND (deleted_at IS NULL OR rev > 0) AND seq < $2 \
     AND (NOT $4 OR NOT thread_only) ORDER BY seq DESC LIMIT $3"
);
const HISTORY_BEFORE_TIME: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE channel_id = $1 AND (deleted_at IS NULL OR rev > 0) AND created_at < $2 \
     AND (NOT $4 OR NOT thread_only) ORDER BY seq DESC LIMIT $3"
);
const HISTORY_AFTER_SEQ: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE channel_id = $1 AND (deleted_at IS NULL OR rev > 0) AND seq > $2 \
     AND (NOT $4 OR NOT thread_only) ORDER BY seq ASC LIMIT $3"
);
/// A thread's newest replies (tombstones included).
const REPLIES_LATEST: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE parent_id = $1 AND (deleted_at IS NULL OR rev > 0) \
     ORDER BY seq DESC LIMIT $2"
);
/// A thread's replies before a seq.
const REPLIES_BEFORE_SEQ: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE parent_id = $1 AND (deleted_at IS NULL OR rev > 0) AND seq < $2 \
     ORDER BY seq DESC LIMIT $3"
);
/// A thread's replies after a seq.
const REPLIES_AFTER_SEQ: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE parent_id = $1 AND (deleted_at IS NULL OR rev > 0) AND seq > $2 \
     ORDER BY seq ASC LIMIT $3"
);
/// The replies after a thread cursor that the caller counts as unread:
/// others', not deleted (the thread's index range after the cursor).
macro_rules! thread_unread {
    ($parent:literal, $user:literal, $after:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM messages x WHERE x.parent_id = ",
            $parent,
            " AND x.seq > ",
            $after,
            " AND x.user_id <> ",
            $user,
            " AND x.deleted_at IS NULL)"
        )
    };
}
const MEMBERSHIP: &str =
    "SELECT (SELECT is_active FROM tablo_access WHERE tablo_id = t.id AND user_id = $2) \
       AS is_active, t.last_seq AS head_seq, t.last_rev AS head_rev \
     FROM tablos t WHERE t.id = $1";
const MEMBER_IDS: &str = "SELECT user_id FROM tablo_access WHERE tablo_id = $1 AND is_active";
const MEMBERS: &str =
    "SELECT u.id, u.display_name FROM tablo_access a JOIN users u ON u.id = a.user_id \
     WHERE a.tablo_id = $1 AND a.is_active ORDER BY u.display_name";
/// The caller's (`$1`) unread count of channel `t` with read state `r`:
/// seqs are gap-free, so the messages after the cursor are the head minus
/// the cursor, less the caller's own counted ones and those nobody counts
/// (deleted, or thread-only replies): two small, disjoint index ranges,
/// so the count does not grow with the backlog.
macro_rules! unread_count {
    () => {
        "GREATEST(0, t.last_seq - COALESCE(r.last_read_seq, 0) \
           - (SELECT COUNT(*) FROM messages m WHERE m.channel_id = t.id \
                AND m.user_id = $1 AND m.seq > COALESCE(r.last_read_seq, 0) \
                AND m.deleted_at IS NULL AND NOT m.thread_only) \
           - (SELECT COUNT(*) FROM messages m WHERE m.channel_id = t.id \
                AND m.seq > COALESCE(r.last_read_seq, 0) \
                AND (m.deleted_at IS NOT NULL OR m.thread_only))) AS unread_count"
    };
}
/// The caller's (`$1`) unread mentions in channel `t` with read state
/// `r`: their rows after the cursor (one index range), of messages still
/// shown.
macro_rules! unread_mentions {
    () => {
        "(SELECT COUNT(*) FROM message_mentions mm WHERE mm.user_id = $1 \
           AND mm.channel_id = t.id AND mm.seq > COALESCE(r.last_read_seq, 0) \
           AND EXISTS (SELECT 1 FROM messages x WHERE x.id = mm.message_id \
             AND x.deleted_at IS NULL)) AS unread_mentions"
    };
}
const CHANNELS_FOR: &str = concat!(
    "SELECT t.id AS tablo_id, t.name, t.color, t.last_seq AS head_seq, \
               t.last_rev AS head_rev, t.read_receipts, \
               (SELECT COUNT(*) FROM tablo_access a2 \
                  WHERE a2.tablo_id = t.id AND a2.is_active) AS member_count, \
               COALESCE(r.last_read_seq, 0) AS last_read_seq, \
               (SELECT COUNT(*) FROM thread_read_state s \
                  WHERE s.user_id = $1 AND s.channel_id = t.id AND EXISTS (SELECT 1 FROM messages x \
                    WHERE x.parent_id = s.parent_id AND x.seq > s.last_read_seq \
                      AND x.user_id <> $1 AND x.deleted_at IS NULL)) AS unread_threads, \
               ",
    unread_count!(),
    ", ",
    unread_mentions!(),
    ", ",
    message_columns!(postgres, "lm"),
    ", lu.display_name AS last_sender_name \
             FROM tablo_access a \
             JOIN tablos t ON t.id = a.tablo_id \
             LEFT JOIN channel_read_state r ON r.user_id = a.user_id AND r.channel_id = t.id \
             LEFT JOIN messages lm ON lm.channel_id = t.id AND lm.seq = ( \
                 SELECT seq FROM messages WHERE channel_id = t.id AND deleted_at IS NULL \
                   AND NOT thread_only ORDER BY seq DESC LIMIT 1) \
             LEFT JOIN users lu ON lu.id = lm.user_id \
             WHERE a.user_id = $1 AND a.is_active \
             ORDER BY t.last_message_at IS NULL, t.last_message_at DESC, t.name ASC"
);
const UNREAD_FOR: &str = concat!(
    "SELECT a.tablo_id AS channel_id, \
               ",
    unread_count!(),
    ", ",
    unread_mentions!(),
    " \
             FROM tablo_access a \
             JOIN tablos t ON t.id = a.tablo_id \
             LEFT JOIN channel_read_state r \
               ON r.user_id = a.user_id AND r.channel_id = a.tablo_id \
             WHERE a.user_id = $1 AND a.is_active \
             ORDER BY a.tablo_id"
);
const MARK_READ: &str =
    "INSERT INTO channel_read_state (user_id, channel_id, last_read_seq, last_read_at) \
             VALUES ($1, $2, \
               GREATEST(0, LEAST(COALESCE($3, (SELECT last_seq FROM tablos WHERE id = $2)), \
                                 (SELECT last_seq FROM tablos WHERE id = $2))), $4) \
             ON CONFLICT (user_id, channel_id) DO UPDATE SET \
               last_read_seq = GREATEST(channel_read_state.last_read_seq, \
                                        excluded.last_read_seq), \
               last_read_at = excluded.last_read_at \
             RETURNING last_read_seq";
const HEAD_SEQ: &str = "SELECT last_seq FROM tablos WHERE id = $1";
/// A user by login e-mail, case-insensitively (the unique index is on
/// `lower(email)`).
const USER_BY_EMAIL: &str = "SELECT id, email, display_name, password_hash FROM users \
     WHERE lower(email) = lower($1)";
/// A user by id.
const USER_BY_ID: &str = "SELECT id, email, display_name, password_hash FROM users WHERE id = $1";
/// Grants or revokes access.
const SET_ACCESS: &str =
    "INSERT INTO tablo_access (tablo_id, user_id, is_active) VALUES ($1, $2, $3) \
     ON CONFLICT (tablo_id, user_id) DO UPDATE SET is_active = excluded.is_active";

/// One message by id.
const MESSAGE_BY_ID: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE id = $1 AND (deleted_at IS NULL OR rev > 0)"
);
/// Resume and catch-up by rev: a channel's messages changed after a rev,
/// by rev (`rev > 0` lets the partial index serve it).
const CHANGED_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE channel_id = $1 AND rev > 0 AND rev > $2 \
     ORDER BY rev LIMIT $3"
);
/// The pins panel: newest pin first.
const PINS: &str = concat!(
    "SELECT ",
    message_columns!(postgres),
    " FROM messages WHERE channel_id = $1 AND pinned_at IS NOT NULL \
     ORDER BY pinned_at DESC LIMIT $2"
);
/// One user's (`$1`) unread mentions in one channel (`$2`).
const UNREAD_MENTIONS: &str = concat!(
    "SELECT ",
    unread_mentions!(),
    " FROM tablos t LEFT JOIN channel_read_state r ON r.user_id = $1 AND r.channel_id = t.id \
     WHERE t.id = $2"
);
/// One user's (`$1`) unread count in one channel (`$2`).
const UNREAD_COUNT: &str = concat!(
    "SELECT ",
    unread_count!(),
    " FROM tablos t LEFT JOIN channel_read_state r ON r.user_id = $1 AND r.channel_id = t.id \
     WHERE t.id = $2"
);

impl Dialect for Postgres {
    const SQL: Queries = Queries {
        user_by_email: USER_BY_EMAIL,
        user_by_id: USER_BY_ID,
        set_access: SET_ACCESS,
        membership: MEMBERSHIP,
        member_ids: MEMBER_IDS,
        members: MEMBERS,
        channels_for: CHANNELS_FOR,
        history_latest: HISTORY_LATEST,
        history_before_seq: HISTORY_BEFORE_SEQ,
        history_before_time: HISTORY_BEFORE_TIME,
        history_after_seq: HISTORY_AFTER_SEQ,
        replies_latest: REPLIES_LATEST,
        replies_before_seq: REPLIES_BEFORE_SEQ,
        replies_after_seq: REPLIES_AFTER_SEQ,
        head_seq: HEAD_SEQ,
        find_by_client_id: FIND_BY_CLIENT_ID,
        mark_read: MARK_READ,
        unread_for: UNREAD_FOR,
        unread_mentions: UNREAD_MENTIONS,
        get_meta: "SELECT value FROM meta WHERE key = $1",
        set_meta: "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    };
}

/// The statements of changes to messages (`change_dialect.rs`).
/// The statements of threads (`thread_dialect.rs`).
impl ThreadDialect for Postgres {
    const THREADS: ThreadQueries = ThreadQueries {
        // Locks the parent's row: a delete of it waits for the reply's
        // commit (and then sees the reply), or the reply sees it deleted.
        parent: "SELECT user_id, parent_id IS NOT NULL AS is_reply, \
             deleted_at IS NOT NULL AS deleted, thread_participants \
             FROM messages WHERE id = $1 AND channel_id = $2 FOR UPDATE",
        add_reply: "UPDATE messages SET reply_count = reply_count + 1, last_reply_at = $2, \
             thread_participants = $3, rev = $4 WHERE id = $1",
        remove_reply: "UPDATE messages SET reply_count = GREATEST(reply_count - 1, 0), rev = $2 \
             WHERE id = $1",
        join: "INSERT INTO thread_read_state (user_id, parent_id, channel_id, last_read_seq) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, parent_id) DO UPDATE SET \
             last_read_seq = GREATEST(thread_read_state.last_read_seq, excluded.last_read_seq)",
        mark_read: "UPDATE thread_read_state SET last_read_seq = GREATEST(last_read_seq, \
             LEAST(COALESCE($3, h.head), h.head)) \
             FROM (SELECT COALESCE(MAX(seq), 0) AS head FROM messages WHERE parent_id = $2) AS h \
             WHERE user_id = $1 AND parent_id = $2 RETURNING channel_id, last_read_seq",
        unread: concat!("SELECT ", thread_unread!("$1", "$2", "$3")),
        readers: concat!(
            "SELECT s.user_id AS user_id, s.channel_id AS channel_id, \
             s.last_read_seq AS last_read_seq, ",
            thread_unread!("s.parent_id", "s.user_id", "s.last_read_seq"),
            " AS unread_count FROM thread_read_state s WHERE s.parent_id = $1"
        ),
        threads_for: concat!(
            "SELECT s.last_read_seq AS last_read_seq, ",
            thread_unread!("s.parent_id", "s.user_id", "s.last_read_seq"),
            " AS unread_count, ",
            message_columns!(postgres, "p"),
            " FROM thread_read_state s JOIN messages p ON p.id = s.parent_id \
             JOIN tablo_access a ON a.tablo_id = s.channel_id AND a.user_id = s.user_id \
               AND a.is_active \
             WHERE s.user_id = $1 AND p.last_reply_at IS NOT NULL \
               AND ($2::timestamptz IS NULL OR p.last_reply_at < $2) \
             ORDER BY p.last_reply_at DESC LIMIT $3"
        ),
    };
}

define_thread_steps!(Postgres, sqlx::PgConnection);

/// The statements of the link preview cache (`preview_dialect.rs`).
impl PreviewDialect for Postgres {
    const PREVIEWS: PreviewQueries = PreviewQueries {
        get: "SELECT * FROM link_previews WHERE url = $1",
        put:
            "INSERT INTO link_previews (url, fetched_at, preview, image_id, image_key, image_mime) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (url) DO UPDATE SET fetched_at = excluded.fetched_at, \
             preview = excluded.preview, \
             image_id = COALESCE(link_previews.image_id, excluded.image_id), \
             image_key = excluded.image_key, image_mime = excluded.image_mime",
        by_image: "SELECT * FROM link_previews WHERE image_id = $1",
        // An old `fetched_at` for a new row: nothing is cached yet.
        reserve_image: "INSERT INTO link_previews (url, fetched_at, image_id) \
             VALUES ($1, $2, $3) ON CONFLICT (url) DO UPDATE \
             SET image_id = COALESCE(link_previews.image_id, excluded.image_id) \
             RETURNING image_id",
    };
}

/// The statements of uploads (`upload_dialect.rs`).
impl UploadDialect for Postgres {
    const UPLOADS: UploadQueries = UploadQueries {
        add: "INSERT INTO uploads (id, channel_id, user_id, name, size, sha256, mime_type, \
             kind, width, height, storage_key, thumb_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        get: "SELECT * FROM uploads WHERE id = $1",
        bytes_since: "SELECT COALESCE(SUM(size), 0)::bigint FROM uploads \
             WHERE user_id = $1 AND created_at > $2",
        take: "UPDATE uploads SET message_id = $1 WHERE id = $2 AND channel_id = $3 \
             AND user_id = $4 AND message_id IS NULL AND removed_at IS NULL",
        set_attachments: "UPDATE messages SET attachments = $2 WHERE id = $1",
        remove_for_message: "UPDATE uploads SET removed_at = $1 \
             WHERE message_id = $2 AND removed_at IS NULL",
        remove_for_channel: "UPDATE uploads SET removed_at = $1 \
             WHERE channel_id = $2 AND removed_at IS NULL",
        remove_orphans: "UPDATE uploads SET removed_at = $1 \
             WHERE message_id IS NULL AND removed_at IS NULL AND created_at < $2",
        removed: "SELECT * FROM uploads WHERE removed_at IS NOT NULL \
             ORDER BY removed_at LIMIT $1",
        forget: "DELETE FROM uploads WHERE id = $1",
    };
}

define_upload_steps!(Postgres, sqlx::PgConnection);

impl ChangeDialect for Postgres {
    const CHANGES: ChangeQueries = ChangeQueries {
        // Held to commit: changes of a channel take revs one at a time, in
        // commit order, on every server.
        lock_channel: "SELECT (SELECT a.is_active FROM tablo_access a \
             WHERE a.tablo_id = t.id AND a.user_id = $2) AS is_active FROM tablos t WHERE t.id = $1 \
             FOR UPDATE OF t",
        target: "SELECT channel_id, user_id, text, rev, deleted_at IS NOT NULL AS deleted, \
             (deleted_at IS NOT NULL AND rev = 0) AS hidden, pinned_at IS NOT NULL AS pinned, \
             reactions, mentions, previews, EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = messages.id \
               AND r.emoji = $2 AND r.user_id = $3) AS reacted \
             FROM messages WHERE id = $1",
        pin_count: "SELECT COUNT(*) FROM messages \
             WHERE channel_id = $1 AND pinned_at IS NOT NULL",
        bump_rev: "UPDATE tablos SET last_rev = last_rev + 1 WHERE id = $1 RETURNING last_rev",
        keep_old_text: "INSERT INTO message_edits (message_id, rev, text, edited_at) \
             SELECT id, $2, text, $3 FROM messages WHERE id = $1",
        set_text: "UPDATE messages SET text = $2, edited_at = $3, updated_at = $3, rev = $4, \
             previews = NULL WHERE id = $1",
        set_previews: "UPDATE messages SET previews = $2, rev = $3 WHERE id = $1",
        set_mentions: "UPDATE messages SET mentions = $2 WHERE id = $1",
        drop_mentions: "DELETE FROM message_mentions WHERE message_id = $1",
        add_mentions: "INSERT INTO message_mentions (user_id, channel_id, seq, message_id) \
             SELECT j.value::uuid, m.channel_id, m.seq, m.id \
             FROM messages m, json_array_elements_text($2::json) AS j(value) \
             WHERE m.id = $1 AND NOT m.thread_only AND j.value::uuid <> m.user_id \
             ON CONFLICT DO NOTHING",
        set_deleted: "UPDATE messages SET deleted_at = COALESCE(deleted_at, $2), \
             reactions = NULL, pinned_by = NULL, pinned_at = NULL, previews = NULL, rev = $3 \
             WHERE id = $1",
        drop_reactions: "DELETE FROM reactions WHERE message_id = $1",
        wipe_text: "UPDATE messages SET text = '' WHERE id = $1",
        drop_edits: "DELETE FROM message_edits WHERE message_id = $1",
        add_reaction: "INSERT INTO reactions (message_id, emoji, user_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (message_id, emoji, user_id) DO NOTHING",
        remove_reaction: "DELETE FROM reactions \
             WHERE message_id = $1 AND emoji = $2 AND user_id = $3",
        // The count is one uncorrelated subquery, read once per statement.
        first_reactors: "SELECT user_id, (SELECT COUNT(*) FROM reactions \
               WHERE message_id = $1 AND emoji = $2) AS total \
             FROM reactions WHERE message_id = $1 AND emoji = $2 ORDER BY id LIMIT $3",
        reactors: "SELECT user_id FROM reactions WHERE message_id = $1 AND emoji = $2 \
             ORDER BY id LIMIT $3",
        set_reactions: "UPDATE messages SET reactions = $2, rev = $3 WHERE id = $1",
        set_pin: "UPDATE messages SET pinned_by = $2, pinned_at = $3, rev = $4 WHERE id = $1",
        message: MESSAGE_BY_ID,
        changed_after: CHANGED_AFTER,
        head_rev: "SELECT last_rev FROM tablos WHERE id = $1",
        edits: "SELECT text, edited_at, rev FROM message_edits WHERE message_id = $1 ORDER BY rev",
        pins: PINS,
        reads: "SELECT a.user_id AS user_id, COALESCE(r.last_read_seq, 0) AS last_read_seq \
             FROM tablo_access a LEFT JOIN channel_read_state r \
               ON r.user_id = a.user_id AND r.channel_id = a.tablo_id \
             WHERE a.tablo_id = $1 AND a.is_active ORDER BY a.user_id",
        read_receipts: "SELECT read_receipts FROM tablos WHERE id = $1",
        set_read_receipts: "UPDATE tablos SET read_receipts = $2 WHERE id = $1",
        unread_count: UNREAD_COUNT,
    };
}

define_apply_change!(Postgres, sqlx::PgConnection, reindex_message);

/// The search index's part of an edit (`new_text`: its words) or a delete
/// (`None`: none): the message's row of words, in the change's
/// transaction (`postgres_search`). The old text is not needed, and an
/// edit while search is off gives its words too.
async fn reindex_message(
    conn: &mut sqlx::PgConnection,
    id: MessageId,
    _channel: ChannelId,
    _old_text: &str,
    new_text: Option<&str>,
) -> StoreResult<()> {
    postgres_search::set_words(conn, id, new_text).await
}

/// How long a pooled connection may sit idle before it is pinged when
/// taken. A database restart or a dropped network path breaks every idle
/// connection, and the pool only learns it when one is used: without the
/// ping, each of them would fail one request after the database is back.
/// Connections used more recently than this are trusted without a round
/// trip, so a busy server pays nothing (the same rule as HikariCP's
/// "alive bypass window" of 500 ms).
const IDLE_CHECK_AFTER: Duration = Duration::from_millis(500);

/// The Postgres store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// What each message commit notifies (the bus's wake-ups for the other
    /// servers), inside its transaction.
    notice: Option<Arc<dyn CommitNotice>>,
    /// Whether the indexer takes new messages' words in (the `search`
    /// setting; see [`PgStore::with_search_index`]).
    search_index: bool,
}

impl PgStore {
    /// Connects to `url` with up to `max_connections` and migrates. Each
    /// committed batch of new messages sends `notice`'s notifications in its
    /// own transaction.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        notice: Option<Arc<dyn CommitNotice>>,
    ) -> StoreResult<Self> {
        // No JIT compilation: the chat's statements are short, and
        // compiling one whose estimated cost passes `jit_above_cost` (a
        // search across many channels can) takes longer than running it.
        let options = url.parse::<PgConnectOptions>()?.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            // No ping before every query (a round trip each), only before
            // one that sat idle a while: see `IDLE_CHECK_AFTER`.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < IDLE_CHECK_AFTER {
                        return Ok(true);
                    }
                    // A failed ping drops this connection; the pool opens
                    // a new one for the caller.
                    conn.ping().await.map(|()| true)
                })
            })
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore {
            pool,
            notice,
            search_index: true,
        })
    }

    /// The store with the search index kept (`true`, as [`connect`] opens
    /// it) or not (the `search` setting, PROTOCOL.md "Search"). Off: the
    /// indexer does not run, so the channels' marks stay where they are
    /// (edits and deletes still keep the words of indexed messages
    /// current). Once it is on again, the indexer takes in the messages
    /// stored meanwhile from the marks on.
    ///
    /// [`connect`]: PgStore::connect
    pub fn with_search_index(mut self, on: bool) -> Self {
        self.search_index = on;
        self
    }

    /// The pool, for the bus's listener and events.
    pub fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// The channel and payloads to notify for newly stored messages (none
    /// without a notice).
    fn notifications(&self, stored: &[Message]) -> (&str, Vec<String>) {
        match &self.notice {
            Some(notice) if !stored.is_empty() => (notice.channel(), notice.payloads(stored)),
            _ => ("", Vec::new()),
        }
    }

    /// One message the careful way (inside its savepoint): the channel's
    /// row locked and its next seq taken first, so a racing insert of the
    /// same key on another server has committed (and is visible) by the
    /// time the key is looked up.
    async fn insert_one(
        tx: &mut Transaction<'_, Postgres>,
        m: &NewMessage,
    ) -> StoreResult<InsertOutcome> {
        let next: Option<(Seq, DateTime<Utc>)> = sqlx::query_as(NEXT_SEQ)
            .bind(m.channel_id)
            .bind(m.created_at)
            .fetch_optional(&mut **tx)
            .await?;
        let (seq, created_at) = next.ok_or(StoreError::NotMember)?;
        let active: Option<bool> = sqlx::query_scalar(
            "SELECT is_active FROM tablo_access WHERE tablo_id = $1 AND user_id = $2",
        )
        .bind(m.channel_id)
        .bind(m.user_id)
        .fetch_optional(&mut **tx)
        .await?;
        if active != Some(true) {
            // The caller rolls the seq bump back with the savepoint.
            return Err(StoreError::NotMember);
        }
        if let Some(original) = Postgres::find_by_client_id(&mut **tx, m).await? {
            // The caller rolls the seq bump back with the savepoint.
            return Ok(InsertOutcome::Duplicate(original));
        }
        sqlx::query(INSERT_MESSAGE)
            .bind(m.id)
            .bind(m.channel_id)
            .bind(seq)
            .bind(m.user_id)
            .bind(&m.client_id)
            .bind(&m.text)
            .bind(created_at)
            .bind(m.reply_to_id())
            .bind(m.thread.map(|t| t.parent_id))
            .bind(m.thread.is_some_and(|t| !t.show_in_channel))
            .bind(m.mentions_json())
            .execute(&mut **tx)
            .await?;
        add_mentions(tx, m.id, &m.mentions).await?;
        take_uploads_in(tx, m).await?;
        let parent = match m.thread {
            Some(thread) => Some(Box::new(
                reply_step_in(tx, m, thread, seq, Timestamp::from(created_at)).await?,
            )),
            None => None,
        };
        Ok(InsertOutcome::Stored(m.stored(seq, created_at), parent))
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        Postgres::user_by_email(&self.pool, email).await
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        Postgres::user_by_id(&self.pool, id).await
    }

    async fn upsert_user(&self, user: &UserRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, display_name, password_hash) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
             display_name = excluded.display_name, \
             password_hash = COALESCE(excluded.password_hash, users.password_hash)",
        )
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(&user.password_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl ChannelStore for PgStore {
    async fn upsert_channel(&self, id: ChannelId, name: &str, color: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tablos (id, name, color) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, color = excluded.color",
        )
        .bind(id)
        .bind(name)
        .bind(color)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The channel's words go in the same transaction, after its mark:
    /// deleting the mark waits for an indexer step holding it, so the
    /// words that step wrote are gone too.
    async fn delete_channel(&self, id: ChannelId) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // Its files are to go (the janitor deletes the bytes).
        sqlx::query(<Postgres as UploadDialect>::UPLOADS.remove_for_channel)
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM tablos WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM message_words WHERE channel_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_access(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        active: bool,
    ) -> StoreResult<()> {
        Postgres::set_access(&self.pool, channel_id, user_id, active).await
    }

    async fn membership(&self, channel_id: ChannelId, user_id: UserId) -> StoreResult<Membership> {
        Postgres::membership(&self.pool, channel_id, user_id).await
    }

    async fn member_ids(&self, channel_id: ChannelId) -> StoreResult<Vec<UserId>> {
        Postgres::member_ids(&self.pool, channel_id).await
    }

    async fn members(&self, channel_id: ChannelId) -> StoreResult<Vec<Member>> {
        Postgres::members(&self.pool, channel_id).await
    }

    async fn channels_for(&self, user_id: UserId) -> StoreResult<Vec<ChannelSummary>> {
        Postgres::channels_for(&self.pool, user_id).await
    }
}

#[async_trait]
impl MessageStore for PgStore {
    async fn timeline_page(
        &self,
        channel_id: ChannelId,
        timeline: Timeline,
        cursor: HistoryCursor,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        let HistoryCursor::AroundSeq(seq) = cursor else {
            return Postgres::history(&self.pool, channel_id, timeline, cursor, limit).await;
        };
        let before_limit = around_before_limit(limit);
        // Read even when no message fits before `n` (a limit of 1): the
        // one row more it fetches tells whether older messages exist.
        let before = Postgres::history(
            &self.pool,
            channel_id,
            timeline,
            HistoryCursor::BeforeSeq(seq),
            before_limit,
        )
        .await?;
        let from = Postgres::history(
            &self.pool,
            channel_id,
            timeline,
            HistoryCursor::AfterSeq(seq.prev()),
            limit - before_limit,
        )
        .await?;
        Ok(around_seq(seq, before, from))
    }

    async fn head_seq(&self, channel_id: ChannelId) -> StoreResult<Seq> {
        Postgres::head_seq(&self.pool, channel_id).await
    }

    /// The fast path: four statements per batch whatever its size (lock
    /// the channels, check the senders, look the keys up, write
    /// everything), no savepoints.
    /// Seqs and timestamps are assigned here under the channels' locks. Any
    /// database error fails the whole batch (rolled back, nothing stored).
    async fn insert_batch_fast(
        &self,
        batch: &[NewMessage],
    ) -> Result<Vec<StoreResult<InsertOutcome>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let heads: Vec<HeadRow> = sqlx::query_as(LOCK_CHANNELS)
            .bind(channels_of(batch))
            .fetch_all(&mut *tx)
            .await?;
        let senders: Vec<(ChannelId, UserId)> = sqlx::query_as(ACTIVE_SENDERS)
            .bind(batch.iter().map(|m| m.channel_id).collect::<Vec<_>>())
            .bind(batch.iter().map(|m| m.user_id).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await?;
        let existing: Vec<MessageRow> = sqlx::query_as(EXISTING_KEYS)
            .bind(batch.iter().map(|m| m.channel_id).collect::<Vec<_>>())
            .bind(batch.iter().map(|m| m.user_id).collect::<Vec<_>>())
            .bind(
                batch
                    .iter()
                    .map(|m| m.client_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .fetch_all(&mut *tx)
            .await?;
        let plan = batch::plan(
            batch,
            BatchFacts {
                heads: heads.into_iter().map(HeadRow::into_fact).collect(),
                senders: senders.into_iter().collect(),
                existing: existing.into_iter().map(Message::from).collect(),
            },
        );
        if plan.new.is_empty() {
            tx.commit().await?;
            return Ok(plan.results);
        }
        let rows = NewRows::of(&plan.new);
        // Wake the other servers inside the transaction: the notification
        // is delivered exactly when (and only if) the batch commits.
        let (notify_channel, notifications) = self.notifications(&plan.new);
        let (bumped, (head_seqs, head_times)): (Vec<ChannelId>, (Vec<Seq>, Vec<DateTime<Utc>>)) =
            plan.heads
                .iter()
                .map(|(id, seq, at)| (*id, (*seq, *at)))
                .unzip();
        sqlx::query(WRITE_BATCH)
            .bind(&rows.ids)
            .bind(&rows.channel_ids)
            .bind(&rows.seqs)
            .bind(&rows.user_ids)
            .bind(&rows.client_ids)
            .bind(&rows.texts)
            .bind(&rows.created_ats)
            .bind(&bumped)
            .bind(&head_seqs)
            .bind(&head_times)
            .bind(notify_channel)
            .bind(&notifications)
            .bind(&rows.reply_tos)
            .bind(&rows.mentions)
            .execute(&mut *tx)
            .await?;
        for m in &plan.new {
            add_mentions(&mut tx, m.id, &m.mentions).await?;
        }
        tx.commit().await?;
        Ok(plan.results)
    }

    /// The careful path: one savepoint per message, the seq row locked
    /// before the key is looked up, so racing servers store a key once and
    /// a failing message is undone alone.
    async fn insert_batch_carefully(
        &self,
        batch: &[NewMessage],
    ) -> Vec<StoreResult<InsertOutcome>> {
        let fail_all = |what: &str, e: sqlx::Error| all_failed(batch, what, &e);
        let mut tx = match self.pool.begin().await {
            Ok(tx) => tx,
            Err(e) => return fail_all("begin", e),
        };
        let mut results = Vec::with_capacity(batch.len());
        for m in batch {
            if let Err(e) = sqlx::query("SAVEPOINT one_message").execute(&mut *tx).await {
                return fail_all("savepoint", e);
            }
            let outcome = Self::insert_one(&mut tx, m).await;
            // A duplicate or a failure leaves nothing behind (not even the
            // seq bump); a stored message is kept.
            let keep = matches!(outcome, Ok(InsertOutcome::Stored(..)));
            let end = if keep {
                "RELEASE SAVEPOINT one_message"
            } else {
                "ROLLBACK TO SAVEPOINT one_message"
            };
            if let Err(e) = sqlx::query(end).execute(&mut *tx).await {
                return fail_all("savepoint", e);
            }
            results.push(outcome);
        }
        // Wake the other servers, inside the transaction: the notification
        // is delivered exactly when (and only if) the batch commits.
        let stored: Vec<Message> = results
            .iter()
            .filter_map(|r| match r {
                Ok(InsertOutcome::Stored(m, _)) => Some(m.clone()),
                _ => None,
            })
            .collect();
        // Parents changed by replies wake the others' change followers.
        let parents: Vec<Message> = results
            .iter()
            .filter_map(|r| match r {
                Ok(InsertOutcome::Stored(_, Some(parent))) => Some((**parent).clone()),
                _ => None,
            })
            .collect();
        let (notify_channel, payloads) = self.notifications(&stored);
        let mut notifications: Vec<(&str, String)> =
            payloads.into_iter().map(|p| (notify_channel, p)).collect();
        if let (Some(notice), false) = (&self.notice, parents.is_empty()) {
            for payload in notice.change_payloads(&parents) {
                notifications.push((notice.changes_channel(), payload));
            }
        }
        for (channel, payload) in notifications {
            let notify = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(&mut *tx)
                .await;
            if let Err(e) = notify {
                return fail_all("notify", e);
            }
        }
        if let Err(e) = tx.commit().await {
            return fail_all("commit", e);
        }
        results
    }
}

#[async_trait]
impl PreviewStore for PgStore {
    async fn cached_preview(&self, url: &str) -> StoreResult<Option<CachedPreview>> {
        <Postgres as PreviewDialect>::cached_preview(&self.pool, url).await
    }

    async fn save_preview(&self, entry: &CachedPreview) -> StoreResult<()> {
        <Postgres as PreviewDialect>::save_preview(&self.pool, entry).await
    }

    async fn reserve_preview_image(
        &self,
        url: &str,
        candidate: PreviewImageId,
    ) -> StoreResult<PreviewImageId> {
        <Postgres as PreviewDialect>::reserve_preview_image(
            &self.pool,
            url,
            Timestamp::from_micros(0),
            candidate,
        )
        .await
    }

    async fn preview_by_image(&self, id: PreviewImageId) -> StoreResult<Option<CachedPreview>> {
        <Postgres as PreviewDialect>::preview_by_image(&self.pool, id).await
    }
}

#[async_trait]
impl UploadStore for PgStore {
    async fn add_upload(&self, upload: &UploadRecord) -> StoreResult<()> {
        <Postgres as UploadDialect>::add_upload(&self.pool, upload).await
    }

    async fn upload(&self, id: UploadId) -> StoreResult<Option<UploadRecord>> {
        <Postgres as UploadDialect>::upload(&self.pool, id).await
    }

    async fn uploaded_bytes_since(&self, user: UserId, since: Timestamp) -> StoreResult<u64> {
        <Postgres as UploadDialect>::uploaded_bytes_since(&self.pool, user, since).await
    }

    async fn remove_orphan_uploads(&self, created_before: Timestamp) -> StoreResult<()> {
        <Postgres as UploadDialect>::remove_orphans(
            &self.pool,
            Timestamp::from(Utc::now()),
            created_before,
        )
        .await
    }

    async fn removed_uploads(&self, limit: u32) -> StoreResult<Vec<UploadRecord>> {
        <Postgres as UploadDialect>::removed_uploads(&self.pool, limit).await
    }

    async fn forget_upload(&self, id: UploadId) -> StoreResult<()> {
        <Postgres as UploadDialect>::forget_upload(&self.pool, id).await
    }
}

#[async_trait]
impl ThreadStore for PgStore {
    async fn mark_thread_read(
        &self,
        user_id: UserId,
        parent_id: MessageId,
        seq: Option<Seq>,
    ) -> StoreResult<Option<ThreadRead>> {
        let Some(cursor) =
            <Postgres as ThreadDialect>::mark_thread_read(&self.pool, user_id, parent_id, seq)
                .await?
        else {
            return Ok(None);
        };
        let unread_count = <Postgres as ThreadDialect>::thread_unread(
            &self.pool,
            parent_id,
            user_id,
            cursor.last_read_seq,
        )
        .await?;
        Ok(Some(ThreadRead {
            channel_id: cursor.channel_id,
            last_read_seq: cursor.last_read_seq,
            unread_count,
        }))
    }

    async fn thread_reads(&self, parent_id: MessageId) -> StoreResult<Vec<(UserId, ThreadRead)>> {
        <Postgres as ThreadDialect>::thread_reads(&self.pool, parent_id).await
    }

    async fn threads_for(
        &self,
        user_id: UserId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> StoreResult<Vec<ThreadSummary>> {
        <Postgres as ThreadDialect>::threads_for(&self.pool, user_id, before, limit).await
    }
}

#[async_trait]
impl ChangeStore for PgStore {
    /// One transaction for the batch, one savepoint per change; each change
    /// locks its channel's row first, so revs follow commit order on every
    /// server, and the other servers' wake-up is sent inside the commit.
    async fn apply_changes(
        &self,
        batch: &[Change],
        limits: ChangeLimits,
    ) -> Vec<StoreResult<ChangeResult>> {
        let fail_all = |step: &str, e: &dyn std::fmt::Display| {
            batch
                .iter()
                .map(|_| Err(StoreError::Transaction(format!("{step}: {e}"))))
                .collect()
        };
        // Channels are locked in id order (two servers never deadlock);
        // the changes are then applied in the order given.
        let mut tx = match self.pool.begin().await {
            Ok(tx) => tx,
            Err(e) => return fail_all("begin", &e),
        };
        let mut channels: Vec<ChannelId> = batch.iter().map(|c| c.channel_id).collect();
        channels.sort_unstable();
        channels.dedup();
        if let Err(e) =
            sqlx::query("SELECT id FROM tablos WHERE id = ANY($1) ORDER BY id FOR UPDATE")
                .bind(&channels)
                .execute(&mut *tx)
                .await
        {
            return fail_all("lock", &e);
        }
        let mut results = Vec::with_capacity(batch.len());
        // A lone change needs no savepoint: if it fails, the transaction
        // goes with it (two round trips less per change when changes are
        // few and batches hold one).
        if let [change] = batch {
            let outcome = apply_change_in(&mut tx, change, limits).await;
            if outcome.is_err() {
                let _ = tx.rollback().await;
                return vec![outcome];
            }
            results.push(outcome);
        }
        // Several: each in its own savepoint, so a failing one is undone alone.
        let several: &[Change] = if batch.len() > 1 { batch } else { &[] };
        for change in several {
            if let Err(e) = sqlx::query("SAVEPOINT one_change").execute(&mut *tx).await {
                return fail_all("savepoint", &e);
            }
            let outcome = apply_change_in(&mut tx, change, limits).await;
            let end = if outcome.is_ok() {
                "RELEASE SAVEPOINT one_change"
            } else {
                "ROLLBACK TO SAVEPOINT one_change"
            };
            if let Err(e) = sqlx::query(end).execute(&mut *tx).await {
                return fail_all("savepoint", &e);
            }
            results.push(outcome);
        }
        let changed: Vec<Message> = results
            .iter()
            .filter_map(|r| match r {
                Ok(Ok(outcome)) => Some(outcome.changed().cloned()),
                _ => None,
            })
            .flatten()
            .collect();
        if let (Some(notice), false) = (&self.notice, changed.is_empty()) {
            for payload in notice.change_payloads(&changed) {
                let notify = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(notice.changes_channel())
                    .bind(payload)
                    .execute(&mut *tx)
                    .await;
                if let Err(e) = notify {
                    return fail_all("notify", &e);
                }
            }
        }
        if let Err(e) = tx.commit().await {
            return fail_all("commit", &e);
        }
        results
    }

    async fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> StoreResult<Option<Message>> {
        let m = Postgres::message_in(&self.pool, message_id).await?;
        Ok(m.filter(|m| m.channel_id == channel_id))
    }

    async fn changed_after(
        &self,
        channel_id: ChannelId,
        rev: Rev,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        Postgres::changed_after(&self.pool, channel_id, rev, limit).await
    }

    async fn head_rev(&self, channel_id: ChannelId) -> StoreResult<Rev> {
        <Postgres as ChangeDialect>::head_rev(&self.pool, channel_id).await
    }

    async fn edits(&self, message_id: MessageId) -> StoreResult<Vec<MessageEdit>> {
        Postgres::edits(&self.pool, message_id).await
    }

    async fn reactors(
        &self,
        message_id: MessageId,
        emoji: &str,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        Postgres::reactors(&self.pool, message_id, emoji, limit).await
    }

    async fn pins(&self, channel_id: ChannelId, limit: u32) -> StoreResult<Vec<Message>> {
        Postgres::pins(&self.pool, channel_id, limit).await
    }

    async fn reads(&self, channel_id: ChannelId) -> StoreResult<Vec<MemberRead>> {
        Postgres::reads(&self.pool, channel_id).await
    }

    async fn read_receipts(&self, channel_id: ChannelId) -> StoreResult<bool> {
        Postgres::read_receipts(&self.pool, channel_id).await
    }

    async fn set_read_receipts(&self, channel_id: ChannelId, on: bool) -> StoreResult<()> {
        Postgres::set_read_receipts(&self.pool, channel_id, on).await
    }

    async fn unread_count(&self, user_id: UserId, channel_id: ChannelId) -> StoreResult<i64> {
        Postgres::unread_count(&self.pool, user_id, channel_id).await
    }
}

#[async_trait]
impl ReadStore for PgStore {
    async fn mark_read(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        seq: Option<Seq>,
    ) -> StoreResult<Seq> {
        Postgres::mark_read(&self.pool, user_id, channel_id, seq).await
    }

    async fn unread_for(&self, user_id: UserId) -> StoreResult<Vec<UnreadEntry>> {
        Postgres::unread_for(&self.pool, user_id).await
    }

    async fn unread_mentions(&self, user_id: UserId, channel_id: ChannelId) -> StoreResult<i64> {
        Postgres::unread_mentions(&self.pool, user_id, channel_id).await
    }
}

#[async_trait]
impl SearchStore for PgStore {
    async fn search(
        &self,
        user_id: UserId,
        channel_id: Option<ChannelId>,
        query: &SearchQuery,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let tsquery = query.tsquery();
        let with = |sql| {
            sqlx::query_as::<_, MessageRow>(sql)
                .bind(&tsquery)
                .bind(user_id)
                .bind(i64::from(limit))
        };
        let channels: Vec<ChannelId> = match channel_id {
            // Membership is checked by the search itself.
            Some(channel) => vec![channel],
            None => {
                sqlx::query_scalar(SEARCHABLE_CHANNELS)
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        if self.search_index {
            postgres_search::catch_up_for_search(&self.pool, &channels).await?;
        }
        let each = (channel_id.is_none() && channels.len() <= CHANNELS_PLANNED_APART)
            .then(|| search_each_sql(&channels, after.is_some()));
        let q = match (channel_id, after, &each) {
            (None, None, Some(sql)) => with(sql),
            (None, Some(after), Some(sql)) => with(sql).bind(after),
            (None, None, None) => with(SEARCH_ALL),
            (None, Some(after), None) => with(SEARCH_ALL_AFTER).bind(after),
            (Some(channel), None, _) => with(SEARCH_ONE).bind(channel),
            (Some(channel), Some(after), _) => with(SEARCH_ONE_AFTER).bind(channel).bind(after),
        };
        // Planned afresh with the words each time (not a prepared
        // statement's generic plan): whether walking the channel's seq
        // index or reading the search index is faster depends on how common
        // the words are, which only the words tell.
        let rows = q.persistent(false).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    /// The indexer (`postgres_search`): takes in what waits in every
    /// channel (skipping channels another server is taking in), then
    /// merges the GIN index's pending list (a merge already running
    /// elsewhere makes this one return at once).
    fn keeps_pending_search_entries(&self) -> bool {
        self.search_index
    }

    async fn flush_search_index(&self) -> StoreResult<u64> {
        if !self.search_index {
            return Ok(0);
        }
        postgres_search::catch_up(&self.pool).await
    }
}

#[async_trait]
impl MetaStore for PgStore {
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        Postgres::get_meta(&self.pool, key).await
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        Postgres::set_meta(&self.pool, key, value).await
    }

    async fn ping(&self) -> StoreResult<()> {
        Postgres::ping(&self.pool).await
    }
}

/// A stored message's rows of unread mentions (none for a thread-only
/// reply or the author).
async fn add_mentions(
    tx: &mut Transaction<'_, Postgres>,
    id: MessageId,
    mentions: &[UserId],
) -> StoreResult<()> {
    if let Some(json) = mentions_json(mentions) {
        sqlx::query(<Postgres as ChangeDialect>::CHANGES.add_mentions)
            .bind(id)
            .bind(json)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The new rows of a batch as parallel columns: the shape `unnest` takes,
/// so a batch of any size is inserted by one statement.
#[derive(Default)]
struct NewRows {
    ids: Vec<MessageId>,
    channel_ids: Vec<ChannelId>,
    seqs: Vec<Seq>,
    user_ids: Vec<UserId>,
    client_ids: Vec<ClientId>,
    texts: Vec<String>,
    created_ats: Vec<DateTime<Utc>>,
    reply_tos: Vec<Option<MessageId>>,
    /// Each message's mentions (JSON), if any.
    mentions: Vec<Option<String>>,
}

impl NewRows {
    fn of(messages: &[Message]) -> Self {
        let mut rows = NewRows::default();
        for m in messages {
            rows.ids.push(m.id);
            rows.channel_ids.push(m.channel_id);
            rows.seqs.push(m.seq);
            rows.user_ids.push(m.user_id);
            rows.client_ids.push(m.client_id.clone());
            rows.texts.push(m.text.clone());
            rows.created_ats.push(m.created_at.into());
            rows.reply_tos.push(m.reply_to.as_ref().map(|q| q.id));
            rows.mentions.push(mentions_json(&m.mentions));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    /// This dialect's statements of changes to messages.
    const CHANGES: ChangeQueries = <Postgres as ChangeDialect>::CHANGES;

    /// This dialect's statements of threads.
    const THREADS: ThreadQueries = <Postgres as ThreadDialect>::THREADS;

    /// Every query on the hot path, by name.
    const HOT_QUERIES: [(&str, &str); 60] = [
        ("NEXT_SEQ", NEXT_SEQ),
        ("LOCK_CHANNELS", LOCK_CHANNELS),
        ("ACTIVE_SENDERS", ACTIVE_SENDERS),
        ("EXISTING_KEYS", EXISTING_KEYS),
        ("WRITE_BATCH", WRITE_BATCH),
        ("FIND_BY_CLIENT_ID", FIND_BY_CLIENT_ID),
        ("HISTORY_LATEST", HISTORY_LATEST),
        ("HISTORY_BEFORE_SEQ", HISTORY_BEFORE_SEQ),
        ("HISTORY_BEFORE_TIME", HISTORY_BEFORE_TIME),
        ("HISTORY_AFTER_SEQ", HISTORY_AFTER_SEQ),
        ("MEMBERSHIP", MEMBERSHIP),
        ("MEMBER_IDS", MEMBER_IDS),
        ("MEMBERS", MEMBERS),
        ("CHANNELS_FOR", CHANNELS_FOR),
        ("UNREAD_FOR", UNREAD_FOR),
        ("MARK_READ", MARK_READ),
        ("HEAD_SEQ", HEAD_SEQ),
        ("INSERT_MESSAGE", INSERT_MESSAGE),
        // Changes to messages and what reads them.
        ("MESSAGE_BY_ID", MESSAGE_BY_ID),
        ("CHANGED_AFTER", CHANGED_AFTER),
        ("PINS", PINS),
        ("UNREAD_COUNT", UNREAD_COUNT),
        ("CHANGES.lock_channel", CHANGES.lock_channel),
        ("CHANGES.target", CHANGES.target),
        ("CHANGES.pin_count", CHANGES.pin_count),
        ("CHANGES.bump_rev", CHANGES.bump_rev),
        ("CHANGES.keep_old_text", CHANGES.keep_old_text),
        ("CHANGES.set_text", CHANGES.set_text),
        ("CHANGES.set_deleted", CHANGES.set_deleted),
        ("SEARCH_ONE", SEARCH_ONE),
        ("SEARCH_ONE_AFTER", SEARCH_ONE_AFTER),
        ("CHANGES.drop_reactions", CHANGES.drop_reactions),
        ("CHANGES.wipe_text", CHANGES.wipe_text),
        ("CHANGES.drop_edits", CHANGES.drop_edits),
        ("CHANGES.add_reaction", CHANGES.add_reaction),
        ("CHANGES.remove_reaction", CHANGES.remove_reaction),
        ("CHANGES.first_reactors", CHANGES.first_reactors),
        ("CHANGES.reactors", CHANGES.reactors),
        ("CHANGES.set_reactions", CHANGES.set_reactions),
        ("CHANGES.set_pin", CHANGES.set_pin),
        ("CHANGES.head_rev", CHANGES.head_rev),
        ("CHANGES.edits", CHANGES.edits),
        ("CHANGES.reads", CHANGES.reads),
        ("CHANGES.read_receipts", CHANGES.read_receipts),
        ("CHANGES.set_read_receipts", CHANGES.set_read_receipts),
        // Threads.
        ("REPLIES_LATEST", REPLIES_LATEST),
        ("REPLIES_BEFORE_SEQ", REPLIES_BEFORE_SEQ),
        ("REPLIES_AFTER_SEQ", REPLIES_AFTER_SEQ),
        ("THREADS.parent", THREADS.parent),
        ("THREADS.add_reply", THREADS.add_reply),
        ("THREADS.remove_reply", THREADS.remove_reply),
        ("THREADS.join", THREADS.join),
        ("THREADS.mark_read", THREADS.mark_read),
        ("THREADS.unread", THREADS.unread),
        ("THREADS.readers", THREADS.readers),
        ("THREADS.threads_for", THREADS.threads_for),
        // Mentions.
        ("UNREAD_MENTIONS", UNREAD_MENTIONS),
        ("CHANGES.set_mentions", CHANGES.set_mentions),
        ("CHANGES.drop_mentions", CHANGES.drop_mentions),
        ("CHANGES.add_mentions", CHANGES.add_mentions),
    ];

    /// A new database of the test command's throwaway cluster
    /// (`CHAT_TEST_POSTGRES`, its admin URL), by its URL; `None` (test
    /// skipped, with a notice) without.
    async fn fresh_database() -> Option<String> {
        let Some(admin) = std::env::var("CHAT_TEST_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            eprintln!("skipped: no CHAT_TEST_POSTGRES");
            return None;
        };
        let name = format!("store_{}", Uuid::new_v4().simple());
        let admin_pool = PgPool::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin_pool)
            .await
            .unwrap();
        admin_pool.close().await;
        let base = &admin[..admin.rfind('/').unwrap()];
        Some(format!("{base}/{name}"))
    }

    /// A store on a new database (see [`fresh_database`]).
    async fn fresh_store() -> Option<PgStore> {
        let url = fresh_database().await?;
        Some(PgStore::connect(&url, 2, None).await.unwrap())
    }

    /// The store conformance suite on a fresh database each.
    mod conformance {
        use super::*;
        use crate::server::store::conformance::{conformance_suite, Backend};
        use crate::server::store::Store;
        use std::sync::Arc;

        /// A store on a database of its own.
        struct PgBackend {
            url: String,
            store: Arc<PgStore>,
        }

        impl Backend for PgBackend {
            async fn fresh() -> Option<Self> {
                let url = fresh_database().await?;
                let store = PgStore::connect(&url, 4, None).await.unwrap();
                Some(PgBackend {
                    url,
                    store: Arc::new(store),
                })
            }

            fn store(&self) -> Arc<dyn Store> {
                self.store.clone()
            }

            async fn another(&self) -> Arc<dyn Store> {
                Arc::new(PgStore::connect(&self.url, 4, None).await.unwrap())
            }

            async fn soft_delete(&self, channel: ChannelId, seq: Seq) {
                sqlx::query(
                    "UPDATE messages SET deleted_at = now() \
                     WHERE channel_id = $1 AND seq = $2",
                )
                .bind(channel)
                .bind(seq)
                .execute(&self.store.pool)
                .await
                .unwrap();
            }

            async fn stored_text(&self, id: MessageId) -> String {
                sqlx::query_scalar("SELECT text FROM messages WHERE id = $1")
                    .bind(id)
                    .fetch_one(&self.store.pool)
                    .await
                    .unwrap()
            }

            async fn forget_search(&self) {
                sqlx::query("TRUNCATE message_words, search_marks")
                    .execute(&self.store.pool)
                    .await
                    .unwrap();
            }
        }

        conformance_suite!(PgBackend);
    }

    /// The store's connections run without JIT compilation (see
    /// [`PgStore::connect`]).
    #[tokio::test]
    async fn connections_run_without_jit() {
        let Some(store) = fresh_store().await else {
            return;
        };
        let jit: String = sqlx::query_scalar("SHOW jit")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(jit, "off");
    }

    /// A database of the release before the words table (the words in
    /// each messages row; a message stored with search off has none)
    /// keeps its words through the upgrade without reading any text again,
    /// and the indexer takes in exactly the messages that had none.
    #[tokio::test]
    async fn an_older_database_keeps_its_words_through_the_upgrade() {
        let Some(url) = fresh_database().await else {
            return;
        };
        // The migrations of the release before, from the repository.
        let older = tempfile::tempdir().unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.as_str() < "20261208000001" {
                std::fs::copy(&path, older.path().join(name)).unwrap();
            }
        }
        let pool = PgPool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(older.path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        let (channel, user) = (Uuid::new_v4(), Uuid::new_v4());
        sqlx::raw_sql(&format!(
            "INSERT INTO users (id, email, display_name) VALUES ('{user}', 'a@x', 'a'); \
             INSERT INTO tablos (id, name, last_seq) VALUES ('{channel}', 'c', 4); \
             INSERT INTO tablo_access (tablo_id, user_id) VALUES ('{channel}', '{user}'); \
             INSERT INTO messages (id, channel_id, seq, user_id, client_id, text, created_at, \
               search, deleted_at) VALUES \
             (gen_random_uuid(), '{channel}', 1, '{user}', 'k1', 'alpha one', now(), \
               array_to_tsvector('{{alpha,one}}'), NULL), \
             (gen_random_uuid(), '{channel}', 2, '{user}', 'k2', 'alpha two', now(), \
               array_to_tsvector('{{alpha,two,indexed}}'), NULL), \
             (gen_random_uuid(), '{channel}', 3, '{user}', 'k3', 'alpha three', now(), \
               NULL, NULL), \
             (gen_random_uuid(), '{channel}', 4, '{user}', 'k4', 'alpha four', now(), \
               NULL, now())"
        ))
        .execute(&pool)
        .await
        .unwrap();

        let store = PgStore::connect(&url, 2, None).await.unwrap();
        let mark = || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT indexed_seq FROM search_marks WHERE channel_id = $1",
            )
            .bind(channel)
            .fetch_one(&pool)
            .await
            .unwrap()
        };
        assert_eq!(
            mark().await,
            2,
            "the mark stops before the first message without words"
        );
        let moved: Vec<String> = sqlx::query_scalar(
            "SELECT words::text FROM message_words WHERE channel_id = $1 ORDER BY seq",
        )
        .bind(channel)
        .fetch_all(&pool)
        .await
        .unwrap();
        // The stored words moved as they were (`indexed` is in no text).
        assert_eq!(moved, ["'alpha' 'one'", "'alpha' 'indexed' 'two'"]);
        store.flush_search_index().await.unwrap();
        let search = |q: &'static str| {
            let store = &store;
            async move {
                let query = SearchQuery::parse(q).unwrap();
                let hits = store
                    .search(UserId::from_uuid(user), None, &query, None, 10)
                    .await
                    .unwrap();
                hits.into_iter().map(|m| m.text).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            search("alpha").await,
            ["alpha three", "alpha two", "alpha one"]
        );
        assert_eq!(search("indexed").await, ["alpha two"]);
        assert_eq!(mark().await, 4);
    }

    /// No hot query needs a sequential scan: with sequential scans priced
    /// out (`enable_seqscan = off`), each plan finds an index for every
    /// table it reads. Runs in the test command's Postgres pass
    /// (`CHAT_TEST_POSTGRES`, the admin URL of a throwaway cluster).
    #[tokio::test]
    async fn every_hot_query_can_use_an_index() {
        let Some(store) = fresh_store().await else {
            return;
        };
        let mut conn = store.pool.acquire().await.unwrap();
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut *conn)
            .await
            .unwrap();
        // The check itself works: a query with no usable index shows a scan.
        let control: Vec<String> =
            sqlx::query_scalar("EXPLAIN SELECT key FROM meta WHERE value = 'x'")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert!(
            control.iter().any(|s| s.contains("Seq Scan")),
            "{control:#?}"
        );
        for (query_name, sql) in HOT_QUERIES.into_iter().chain(postgres_search::QUERIES) {
            // A generic plan: parameters stay parameters, as in production.
            let params = (1..=20).filter(|n| sql.contains(&format!("${n}"))).count();
            let types = match query_name {
                "NEXT_SEQ" => "uuid, timestamptz",
                "HISTORY_BEFORE_TIME" => "uuid, timestamptz, bigint, boolean",
                "HISTORY_LATEST" => "uuid, bigint, boolean",
                "HISTORY_BEFORE_SEQ" | "HISTORY_AFTER_SEQ" => "uuid, bigint, bigint, boolean",
                "THREADS.parent" | "UNREAD_MENTIONS" => "uuid, uuid",
                "CHANGES.set_mentions" | "CHANGES.add_mentions" => "uuid, text",
                "THREADS.add_reply" => "uuid, timestamptz, text, bigint",
                "THREADS.join" => "uuid, uuid, uuid, bigint",
                "THREADS.mark_read" | "THREADS.unread" => "uuid, uuid, bigint",
                "THREADS.threads_for" => "uuid, timestamptz, bigint",
                "MEMBERSHIP" => "uuid, uuid",
                "FIND_BY_CLIENT_ID" => "uuid, uuid, text",
                "MARK_READ" => "uuid, uuid, bigint, timestamptz",
                "INSERT_MESSAGE" => "uuid, uuid, bigint, uuid, text, text, timestamptz",
                "LOCK_CHANNELS" => "uuid[]",
                "EXISTING_KEYS" => "uuid[], uuid[], text[]",
                "ACTIVE_SENDERS" => "uuid[], uuid[]",
                "UNREAD_COUNT" | "CHANGES.lock_channel" => "uuid, uuid",
                "CHANGES.target" | "CHANGES.remove_reaction" => "uuid, text, uuid",
                "CHANGES.keep_old_text" => "uuid, bigint, timestamptz",
                "CHANGES.set_text" => "uuid, text, timestamptz, bigint",
                "CHANGES.set_deleted" => "uuid, timestamptz, bigint",
                "SET_WORDS" => "uuid, text",
                "BEHIND_AMONG" => "uuid[]",
                "ADD_WORDS" => "uuid, bigint[], text[]",
                "SEARCH_ONE" => "text, uuid, bigint, uuid",
                "SEARCH_ONE_AFTER" => "text, uuid, bigint, uuid, uuid",
                "CHANGES.add_reaction" => "uuid, text, uuid, timestamptz",
                "CHANGES.reactors" | "CHANGES.first_reactors" | "CHANGES.set_reactions" => {
                    "uuid, text, bigint"
                }
                "CHANGES.set_pin" => "uuid, uuid, timestamptz, bigint",
                "CHANGES.set_read_receipts" => "uuid, boolean",
                "WRITE_BATCH" => {
                    "uuid[], uuid[], bigint[], uuid[], text[], text[], timestamptz[], \
                     uuid[], bigint[], timestamptz[], text, text[]"
                }
                _ if params == 3 => "uuid, bigint, bigint",
                _ if params == 2 => "uuid, bigint",
                _ => "uuid",
            };
            sqlx::raw_sql(&format!("PREPARE q ({types}) AS {sql}"))
                .execute(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("{query_name}: {e}"));
            sqlx::query("SET plan_cache_mode = force_generic_plan")
                .execute(&mut *conn)
                .await
                .unwrap();
            let args = vec!["NULL"; params].join(", ");
            let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN EXECUTE q ({args})"))
                .fetch_all(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("{query_name}: {e}"));
            sqlx::raw_sql("DEALLOCATE q")
                .execute(&mut *conn)
                .await
                .unwrap();
            assert!(
                !plan.iter().any(|step| step.contains("Seq Scan")),
                "{query_name} scans a table: {plan:#?}"
            );
        }
    }
}
