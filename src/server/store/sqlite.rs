//! SQLite backend (the embedded default): WAL mode, `synchronous=FULL` so an
//! acknowledged message survives power loss, one write connection (SQLite
//! has one writer anyway, so queuing in-process avoids `SQLITE_BUSY`) and a
//! pool of read connections. The WAL is copied into the database file by a
//! checkpoint task of its own every [`CHECKPOINT_EVERY`], not by the writer
//! at commit: a page written by many batches is copied once, and commits
//! never wait for a checkpoint.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Sqlite;
use uuid::Uuid;

use super::batch::{self, BatchFacts};
use super::change_dialect::{define_apply_change, ChangeDialect, ChangeQueries};
use super::dialect::{all_failed, around_before_limit, around_seq, channels_of, Dialect, Queries};
use super::mentions_json;
use super::preview_dialect::{PreviewDialect, PreviewQueries};
use super::rows::{message_columns, HeadRow, MessageRow};
use super::sqlite_conn::encode;
use super::sqlite_search::{SearchIndexFile, ATTACH_FOR_READING};
use super::sqlite_writer::{OneWriter, WriterGuard};
use super::thread_dialect::{define_thread_steps, ThreadDialect, ThreadQueries};
use super::upload_dialect::{define_upload_steps, UploadDialect, UploadQueries};
use super::{
    CachedPreview, Change, ChangeLimits, ChangeResult, ChangeStore, ChannelStore, HistoryCursor,
    InsertOutcome, Membership, MessageStore, MetaStore, NewMessage, PreviewStore, ReadStore,
    SearchStore, StoreError, StoreResult, ThreadRead, ThreadStore, Timeline, UploadRecord,
    UploadStore, UserRecord, UserStore,
};
use crate::protocol::dto::{Member, MemberRead, MessageEdit};
use crate::protocol::{
    ChannelId, ChannelSummary, HistoryPage, Message, MessageId, PreviewImageId, Rev, Seq,
    ThreadSummary, Timestamp, UnreadEntry, UploadId, UserId,
};
use crate::server::search_text::SearchQuery;

/// Migrations embedded in the binary, applied at start-up.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The stored message for an idempotency key.
const FIND_BY_CLIENT_ID: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE channel_id = ?1 AND user_id = ?2 AND client_id = ?3"
);
/// Takes the channel's next seq (in the insert's transaction) and its
/// timestamp: never earlier than the channel's previous message, so time
/// order matches seq order even if the clock steps back.
const NEXT_SEQ: &str = "UPDATE tablos SET last_seq = last_seq + 1, \
     last_message_at = MAX(COALESCE(last_message_at, 0), ?2) \
     WHERE id = ?1 RETURNING last_seq, last_message_at";
// The fast path takes a whole batch in two hand-overs to the connection's
// thread whatever its size: the facts (`BATCH_FACTS`), then the writes and
// the commit (`BATCH_WRITE_COMMIT`). Each is one text of several
// statements, given the batch as JSON arrays (ids as hex, unhexed in SQL),
// that the connection's thread runs in one go: a hand-over wakes both
// threads, and one per statement (seven a commit) cost about a tenth of
// the server's CPU at an ordinary load (docs/BENCHMARKS.md, issue 20).

/// The last search key given out: the greatest stored, or the one kept in
/// `meta` when the messages holding the greatest left with a deleted
/// channel, so a new message never takes a key the search index has
/// already passed.
macro_rules! last_search_key {
    () => {
        "MAX(COALESCE((SELECT search_key FROM messages WHERE search_key IS NOT NULL \
           ORDER BY search_key DESC LIMIT 1), 0), \
         COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'search_last_key'), 0))"
    };
}
/// The facts, step 1: the heads of the batch's channels (`?2`:
/// `["<channel>", ...]`, each once).
macro_rules! batch_heads {
    () => {
        "SELECT t.id AS id, t.last_seq AS last_seq, t.last_message_at AS last_message_at \
         FROM json_each(?2) AS k JOIN tablos t ON t.id = unhex(k.value)"
    };
}
#[cfg(test)]
const BATCH_HEADS: &str = batch_heads!();
/// The facts, step 2: which senders are active members (`?1`, the batch's
/// keys: `[["<channel>", "<user>", "<clientId>"], ...]`).
macro_rules! batch_senders {
    () => {
        "SELECT a.tablo_id AS tablo_id, a.user_id AS user_id \
         FROM json_each(?1) AS k JOIN tablo_access a \
           ON a.tablo_id = unhex(k.value ->> 0) AND a.user_id = unhex(k.value ->> 1) \
         WHERE a.is_active = 1"
    };
}
#[cfg(test)]
const BATCH_SENDERS: &str = batch_senders!();
/// The facts, step 3: messages already stored under the batch's
/// idempotency keys (`?1`).
macro_rules! batch_existing {
    () => {
        concat!(
            "SELECT ",
            message_columns!(sqlite, "m"),
            " FROM json_each(?1) AS k JOIN messages m \
               ON m.channel_id = unhex(k.value ->> 0) AND m.user_id = unhex(k.value ->> 1) \
               AND m.client_id = k.value ->> 2"
        )
    };
}
#[cfg(test)]
const BATCH_EXISTING: &str = batch_existing!();
/// The write, step 1: the new rows (`?1`: `[[id, channel, seq, user,
/// clientId, text, micros, replyTo, mentions], ...]`), each with the next
/// search key ([`last_search_key!`]), in batch order (the subquery is read
/// once, before the first row).
macro_rules! batch_insert {
    () => {
        concat!(
            "INSERT INTO messages \
             (id, channel_id, seq, user_id, client_id, text, created_at, reply_to, mentions, \
              search_key) \
             SELECT unhex(value ->> 0), unhex(value ->> 1), value ->> 2, unhex(value ->> 3), \
               value ->> 4, value ->> 5, value ->> 6, unhex(value ->> 7), value ->> 8, ",
            last_search_key!(),
            " + key + 1 FROM json_each(?1)"
        )
    };
}
#[cfg(test)]
const BATCH_INSERT: &str = batch_insert!();
/// The write, step 2: the channels' new heads (`?2`: `[["<channel>", seq,
/// micros], ...]`).
macro_rules! batch_bump {
    () => {
        "UPDATE tablos SET last_seq = k.value ->> 1, last_message_at = k.value ->> 2 \
         FROM json_each(?2) AS k WHERE tablos.id = unhex(k.value ->> 0)"
    };
}
#[cfg(test)]
const BATCH_BUMP: &str = batch_bump!();
/// The facts in one hand-over: the write lock taken at once (`BEGIN
/// IMMEDIATE`, so the heads read stay current), then `BATCH_HEADS`,
/// `BATCH_SENDERS` and `BATCH_EXISTING`.
const BATCH_FACTS: &str = concat!(
    "BEGIN IMMEDIATE; ",
    batch_heads!(),
    "; ",
    batch_senders!(),
    "; ",
    batch_existing!()
);
/// The rows and the heads (`BATCH_INSERT`, `BATCH_BUMP`), then the
/// commit, in one hand-over.
const BATCH_WRITE_COMMIT: &str = concat!(batch_insert!(), "; ", batch_bump!(), "; COMMIT");
/// As [`BATCH_WRITE_COMMIT`] without the commit, for a batch with mentions
/// (their rows are added after the messages', then it commits).
const BATCH_WRITE: &str = concat!(batch_insert!(), "; ", batch_bump!());
const INSERT_MESSAGE: &str = concat!(
    "INSERT INTO messages \
     (id, channel_id, seq, user_id, client_id, text, created_at, reply_to, parent_id, \
      thread_only, mentions, search_key) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ",
    last_search_key!(),
    " + 1)"
);
/// Search, on a read connection (the index file attached as `search`,
/// `sqlite_search.rs`): whether a hit's message has a change the index
/// has not applied yet, so its indexed words may be stale; it is left out
/// until they are current.
macro_rules! change_not_applied {
    () => {
        "EXISTS (SELECT 1 FROM search_changes c WHERE c.search_key = m.search_key \
           AND c.seq > COALESCE((SELECT value FROM search.index_marks \
             WHERE key = 'changes_upto'), 0))"
    };
}
/// Search: the hits of a query (`fts5 query, user, limit`), newest first,
/// in the user's channels (a search in one channel names it in the
/// query). The index is walked backwards by key and stops at `limit`.
const SEARCH: &str = concat!(
    "SELECT ",
    message_columns!(sqlite, "m"),
    " FROM search.message_search JOIN messages m ON m.search_key = message_search.rowid \
     WHERE message_search MATCH ?1 \
       AND m.channel_id IN (SELECT tablo_id FROM tablo_access WHERE user_id = ?2 AND is_active = 1) \
       AND m.deleted_at IS NULL AND NOT ",
    change_not_applied!(),
    " ORDER BY message_search.rowid DESC LIMIT ?3"
);
/// Search: the next page, after the hit `?4` (a message id).
const SEARCH_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(sqlite, "m"),
    " FROM search.message_search JOIN messages m ON m.search_key = message_search.rowid \
     WHERE message_search MATCH ?1 \
       AND message_search.rowid < (SELECT search_key FROM messages WHERE id = ?4) \
       AND m.channel_id IN (SELECT tablo_id FROM tablo_access WHERE user_id = ?2 AND is_active = 1) \
       AND m.deleted_at IS NULL AND NOT ",
    change_not_applied!(),
    " ORDER BY message_search.rowid DESC LIMIT ?3"
);
/// History: the newest page.
const HISTORY_LATEST: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE channel_id = ?1 AND (deleted_at IS NULL OR rev > 0) \
     AND (?3 = 0 OR thread_only = 0) ORDER BY seq DESC LIMIT ?2"
);
/// History: the page before a seq.
const HISTORY_BEFORE_SEQ: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE channel_id = ?1 AND (deleted_at IS NULL OR rev > 0) AND seq < ?2 \
     AND (?4 = 0 OR thread_only = 0) ORDER BY seq DESC LIMIT ?3"
);
/// History: the page before a time (the seed's cursor).
const HISTORY_BEFORE_TIME: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE channel_id = ?1 AND (deleted_at IS NULL OR rev > 0) AND created_at < ?2 \
     AND (?4 = 0 OR thread_only = 0) ORDER BY seq DESC LIMIT ?3"
);
/// History, resume and catch-up: the page after a seq.
const HISTORY_AFTER_SEQ: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE channel_id = ?1 AND (deleted_at IS NULL OR rev > 0) AND seq > ?2 \
     AND (?4 = 0 OR thread_only = 0) ORDER BY seq ASC LIMIT ?3"
);
/// A thread's newest replies (tombstones included).
const REPLIES_LATEST: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE parent_id = ?1 AND (deleted_at IS NULL OR rev > 0) \
     ORDER BY seq DESC LIMIT ?2"
);
/// A thread's replies before a seq.
const REPLIES_BEFORE_SEQ: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE parent_id = ?1 AND (deleted_at IS NULL OR rev > 0) AND seq < ?2 \
     ORDER BY seq DESC LIMIT ?3"
);
/// A thread's replies after a seq.
const REPLIES_AFTER_SEQ: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE parent_id = ?1 AND (deleted_at IS NULL OR rev > 0) AND seq > ?2 \
     ORDER BY seq ASC LIMIT ?3"
);
/// The replies after a thread cursor `c` that the caller (`u`) counts as
/// unread: others', not deleted (the thread's index range after `c`).
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
/// Whether the channel exists and the user's access is active.
const MEMBERSHIP: &str =
    "SELECT (SELECT is_active FROM tablo_access WHERE tablo_id = t.id AND user_id = ?2) \
       AS is_active, t.last_seq AS head_seq, t.last_rev AS head_rev \
     FROM tablos t WHERE t.id = ?1";
/// Active member ids of a channel.
const MEMBER_IDS: &str = "SELECT user_id FROM tablo_access WHERE tablo_id = ?1 AND is_active = 1";
/// Active members with names.
const MEMBERS: &str =
    "SELECT u.id, u.display_name FROM tablo_access a JOIN users u ON u.id = a.user_id \
     WHERE a.tablo_id = ?1 AND a.is_active = 1 ORDER BY u.display_name";
/// The caller's (`?1`) unread count of channel `t` with read state `r`:
/// seqs are gap-free, so the messages after the cursor are the head minus
/// the cursor, less the caller's own counted ones and those nobody counts
/// (deleted, or thread-only replies): two small, disjoint index ranges,
/// so the count does not grow with the backlog.
macro_rules! unread_count {
    () => {
        "MAX(0, t.last_seq - COALESCE(r.last_read_seq, 0) \
           - (SELECT COUNT(*) FROM messages m WHERE m.channel_id = t.id \
                AND m.user_id = ?1 AND m.seq > COALESCE(r.last_read_seq, 0) \
                AND m.deleted_at IS NULL AND m.thread_only = 0) \
           - (SELECT COUNT(*) FROM messages m WHERE m.channel_id = t.id \
                AND m.seq > COALESCE(r.last_read_seq, 0) \
                AND (m.deleted_at IS NOT NULL OR m.thread_only = 1))) AS unread_count"
    };
}
/// The caller's (`?1`) unread mentions in channel `t` with read state
/// `r`: their rows after the cursor (one index range), of messages still
/// shown.
macro_rules! unread_mentions {
    () => {
        "(SELECT COUNT(*) FROM message_mentions mm WHERE mm.user_id = ?1 \
           AND mm.channel_id = t.id AND mm.seq > COALESCE(r.last_read_seq, 0) \
           AND EXISTS (SELECT 1 FROM messages x WHERE x.id = mm.message_id \
             AND x.deleted_at IS NULL)) AS unread_mentions"
    };
}
/// The caller's channels with previews and unread counts (one query).
const CHANNELS_FOR: &str = concat!(
    "SELECT t.id AS tablo_id, t.name, t.color, t.last_seq AS head_seq, \
               t.last_rev AS head_rev, t.read_receipts, \
               (SELECT COUNT(*) FROM tablo_access a2 \
                  WHERE a2.tablo_id = t.id AND a2.is_active = 1) AS member_count, \
               COALESCE(r.last_read_seq, 0) AS last_read_seq, \
               (SELECT COUNT(*) FROM thread_read_state s \
                  WHERE s.user_id = ?1 AND s.channel_id = t.id AND EXISTS (SELECT 1 FROM messages x \
                    WHERE x.parent_id = s.parent_id AND x.seq > s.last_read_seq \
                      AND x.user_id <> ?1 AND x.deleted_at IS NULL)) AS unread_threads, \
               ",
    unread_count!(),
    ", ",
    unread_mentions!(),
    ", ",
    message_columns!(sqlite, "lm"),
    ", lu.display_name AS last_sender_name \
             FROM tablo_access a \
             JOIN tablos t ON t.id = a.tablo_id \
             LEFT JOIN channel_read_state r ON r.user_id = a.user_id AND r.channel_id = t.id \
             LEFT JOIN messages lm ON lm.channel_id = t.id AND lm.seq = ( \
                 SELECT seq FROM messages WHERE channel_id = t.id AND deleted_at IS NULL \
                   AND thread_only = 0 ORDER BY seq DESC LIMIT 1) \
             LEFT JOIN users lu ON lu.id = lm.user_id \
             WHERE a.user_id = ?1 AND a.is_active = 1 \
             ORDER BY t.last_message_at IS NULL, t.last_message_at DESC, t.name ASC"
);
/// Unread counts of each of the caller's channels (one query; the store
/// keeps those above zero: a filter in SQL would compute every count twice).
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
             WHERE a.user_id = ?1 AND a.is_active = 1 \
             ORDER BY a.tablo_id"
);
/// Moves a read cursor forward only, clamped to the channel head.
const MARK_READ: &str =
    "INSERT INTO channel_read_state (user_id, channel_id, last_read_seq, last_read_at) \
             VALUES (?1, ?2, \
               MAX(0, MIN(COALESCE(?3, (SELECT last_seq FROM tablos WHERE id = ?2)), \
                          (SELECT last_seq FROM tablos WHERE id = ?2))), ?4) \
             ON CONFLICT (user_id, channel_id) DO UPDATE SET \
               last_read_seq = MAX(channel_read_state.last_read_seq, excluded.last_read_seq), \
               last_read_at = excluded.last_read_at \
             RETURNING last_read_seq";
/// Newest seq of a channel.
const HEAD_SEQ: &str = "SELECT last_seq FROM tablos WHERE id = ?1";
/// A user by login e-mail (the column compares case-insensitively).
const USER_BY_EMAIL: &str =
    "SELECT id, email, display_name, password_hash FROM users WHERE email = ?1";
/// A user by id.
const USER_BY_ID: &str = "SELECT id, email, display_name, password_hash FROM users WHERE id = ?1";
/// Grants or revokes access.
const SET_ACCESS: &str =
    "INSERT INTO tablo_access (tablo_id, user_id, is_active) VALUES (?1, ?2, ?3) \
     ON CONFLICT (tablo_id, user_id) DO UPDATE SET is_active = excluded.is_active";

/// One message by id.
const MESSAGE_BY_ID: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE id = ?1 AND (deleted_at IS NULL OR rev > 0)"
);
/// Resume and catch-up by rev: a channel's messages changed after a rev,
/// by rev (`rev > 0` lets the partial index serve it).
const CHANGED_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE channel_id = ?1 AND rev > 0 AND rev > ?2 \
     ORDER BY rev LIMIT ?3"
);
/// The pins panel: newest pin first.
const PINS: &str = concat!(
    "SELECT ",
    message_columns!(sqlite),
    " FROM messages WHERE channel_id = ?1 AND pinned_at IS NOT NULL \
     ORDER BY pinned_at DESC LIMIT ?2"
);
/// One user's (`?1`) unread mentions in one channel (`?2`).
const UNREAD_MENTIONS: &str = concat!(
    "SELECT ",
    unread_mentions!(),
    " FROM tablos t LEFT JOIN channel_read_state r ON r.user_id = ?1 AND r.channel_id = t.id \
     WHERE t.id = ?2"
);
/// One user's (`?1`) unread count in one channel (`?2`).
const UNREAD_COUNT: &str = concat!(
    "SELECT ",
    unread_count!(),
    " FROM tablos t LEFT JOIN channel_read_state r ON r.user_id = ?1 AND r.channel_id = t.id \
     WHERE t.id = ?2"
);

impl Dialect for Sqlite {
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
        get_meta: "SELECT value FROM meta WHERE key = ?1",
        set_meta: "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    };
}

/// The statements of threads (`thread_dialect.rs`).
impl ThreadDialect for Sqlite {
    const THREADS: ThreadQueries = ThreadQueries {
        // The writer's `BEGIN IMMEDIATE` holds the database: nothing to lock.
        parent: "SELECT user_id, parent_id IS NOT NULL AS is_reply, \
             deleted_at IS NOT NULL AS deleted, thread_participants \
             FROM messages WHERE id = ?1 AND channel_id = ?2",
        add_reply: "UPDATE messages SET reply_count = reply_count + 1, last_reply_at = ?2, \
             thread_participants = ?3, rev = ?4 WHERE id = ?1",
        remove_reply: "UPDATE messages SET reply_count = MAX(reply_count - 1, 0), rev = ?2 \
             WHERE id = ?1",
        join: "INSERT INTO thread_read_state (user_id, parent_id, channel_id, last_read_seq) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id, parent_id) DO UPDATE SET \
             last_read_seq = MAX(thread_read_state.last_read_seq, excluded.last_read_seq)",
        mark_read: "UPDATE thread_read_state SET last_read_seq = MAX(last_read_seq, \
             MIN(COALESCE(?3, (SELECT COALESCE(MAX(seq), 0) FROM messages WHERE parent_id = ?2)), \
                 (SELECT COALESCE(MAX(seq), 0) FROM messages WHERE parent_id = ?2))) \
             WHERE user_id = ?1 AND parent_id = ?2 RETURNING channel_id, last_read_seq",
        unread: concat!("SELECT ", thread_unread!("?1", "?2", "?3")),
        readers: concat!(
            "SELECT s.user_id AS user_id, s.channel_id AS channel_id, \
             s.last_read_seq AS last_read_seq, ",
            thread_unread!("s.parent_id", "s.user_id", "s.last_read_seq"),
            " AS unread_count FROM thread_read_state s WHERE s.parent_id = ?1"
        ),
        threads_for: concat!(
            "SELECT s.last_read_seq AS last_read_seq, ",
            thread_unread!("s.parent_id", "s.user_id", "s.last_read_seq"),
            " AS unread_count, ",
            message_columns!(sqlite, "p"),
            " FROM thread_read_state s JOIN messages p ON p.id = s.parent_id \
             JOIN tablo_access a ON a.tablo_id = s.channel_id AND a.user_id = s.user_id \
               AND a.is_active = 1 \
             WHERE s.user_id = ?1 AND p.last_reply_at IS NOT NULL \
               AND (?2 IS NULL OR p.last_reply_at < ?2) \
             ORDER BY p.last_reply_at DESC LIMIT ?3"
        ),
    };
}

define_thread_steps!(Sqlite, SqliteConnection);

/// The statements of the link preview cache (`preview_dialect.rs`).
impl PreviewDialect for Sqlite {
    const PREVIEWS: PreviewQueries = PreviewQueries {
        get: "SELECT * FROM link_previews WHERE url = ?1",
        put:
            "INSERT INTO link_previews (url, fetched_at, preview, image_id, image_key, image_mime) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (url) DO UPDATE SET fetched_at = excluded.fetched_at, \
             preview = excluded.preview, \
             image_id = COALESCE(link_previews.image_id, excluded.image_id), \
             image_key = excluded.image_key, image_mime = excluded.image_mime",
        by_image: "SELECT * FROM link_previews WHERE image_id = ?1",
        // An old `fetched_at` for a new row: nothing is cached yet.
        reserve_image: "INSERT INTO link_previews (url, fetched_at, image_id) \
             VALUES (?1, ?2, ?3) ON CONFLICT (url) DO UPDATE \
             SET image_id = COALESCE(link_previews.image_id, excluded.image_id) \
             RETURNING image_id",
    };
}

/// The statements of uploads (`upload_dialect.rs`).
impl UploadDialect for Sqlite {
    const UPLOADS: UploadQueries = UploadQueries {
        add: "INSERT INTO uploads (id, channel_id, user_id, name, size, sha256, mime_type, \
             kind, width, height, storage_key, thumb_key, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        get: "SELECT * FROM uploads WHERE id = ?1",
        bytes_since: "SELECT COALESCE(SUM(size), 0) FROM uploads \
             WHERE user_id = ?1 AND created_at > ?2",
        take: "UPDATE uploads SET message_id = ?1 WHERE id = ?2 AND channel_id = ?3 \
             AND user_id = ?4 AND message_id IS NULL AND removed_at IS NULL",
        set_attachments: "UPDATE messages SET attachments = ?2 WHERE id = ?1",
        remove_for_message: "UPDATE uploads SET removed_at = ?1 \
             WHERE message_id = ?2 AND removed_at IS NULL",
        remove_for_channel: "UPDATE uploads SET removed_at = ?1 \
             WHERE channel_id = ?2 AND removed_at IS NULL",
        remove_orphans: "UPDATE uploads SET removed_at = ?1 \
             WHERE message_id IS NULL AND removed_at IS NULL AND created_at < ?2",
        removed: "SELECT * FROM uploads WHERE removed_at IS NOT NULL \
             ORDER BY removed_at LIMIT ?1",
        forget: "DELETE FROM uploads WHERE id = ?1",
    };
}

define_upload_steps!(Sqlite, SqliteConnection);

/// The statements of changes to messages (`change_dialect.rs`).
impl ChangeDialect for Sqlite {
    const CHANGES: ChangeQueries = ChangeQueries {
        // The writer's `BEGIN IMMEDIATE` holds the database: nothing to lock.
        lock_channel:
            "SELECT (SELECT a.is_active FROM tablo_access a \
             WHERE a.tablo_id = t.id AND a.user_id = ?2) AS is_active FROM tablos t WHERE t.id = ?1",
        target: "SELECT channel_id, user_id, text, rev, deleted_at IS NOT NULL AS deleted, \
             (deleted_at IS NOT NULL AND rev = 0) AS hidden, pinned_at IS NOT NULL AS pinned, \
             reactions, mentions, previews, EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = messages.id \
               AND r.emoji = ?2 AND r.user_id = ?3) AS reacted \
             FROM messages WHERE id = ?1",
        pin_count: "SELECT COUNT(*) FROM messages \
             WHERE channel_id = ?1 AND pinned_at IS NOT NULL",
        bump_rev: "UPDATE tablos SET last_rev = last_rev + 1 WHERE id = ?1 RETURNING last_rev",
        keep_old_text: "INSERT INTO message_edits (message_id, rev, text, edited_at) \
             SELECT id, ?2, text, ?3 FROM messages WHERE id = ?1",
        set_text: "UPDATE messages SET text = ?2, edited_at = ?3, updated_at = ?3, rev = ?4, \
             previews = NULL WHERE id = ?1",
        set_previews: "UPDATE messages SET previews = ?2, rev = ?3 WHERE id = ?1",
        set_mentions: "UPDATE messages SET mentions = ?2 WHERE id = ?1",
        drop_mentions: "DELETE FROM message_mentions WHERE message_id = ?1",
        add_mentions: "INSERT OR IGNORE INTO message_mentions (user_id, channel_id, seq, message_id) \
             SELECT unhex(replace(j.value, '-', '')), m.channel_id, m.seq, m.id \
             FROM messages m, json_each(?2) AS j \
             WHERE m.id = ?1 AND m.thread_only = 0 AND unhex(replace(j.value, '-', '')) <> m.user_id",
        set_deleted: "UPDATE messages SET deleted_at = COALESCE(deleted_at, ?2), \
             reactions = NULL, pinned_by = NULL, pinned_at = NULL, previews = NULL, rev = ?3 \
             WHERE id = ?1",
        drop_reactions: "DELETE FROM reactions WHERE message_id = ?1",
        wipe_text: "UPDATE messages SET text = '' WHERE id = ?1",
        drop_edits: "DELETE FROM message_edits WHERE message_id = ?1",
        add_reaction: "INSERT INTO reactions (message_id, emoji, user_id, created_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        remove_reaction: "DELETE FROM reactions \
             WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3",
        // The count is one uncorrelated subquery, read once per statement.
        first_reactors: "SELECT user_id, (SELECT COUNT(*) FROM reactions \
               WHERE message_id = ?1 AND emoji = ?2) AS total \
             FROM reactions WHERE message_id = ?1 AND emoji = ?2 ORDER BY id LIMIT ?3",
        reactors: "SELECT user_id FROM reactions WHERE message_id = ?1 AND emoji = ?2 \
             ORDER BY id LIMIT ?3",
        set_reactions: "UPDATE messages SET reactions = ?2, rev = ?3 WHERE id = ?1",
        set_pin: "UPDATE messages SET pinned_by = ?2, pinned_at = ?3, rev = ?4 WHERE id = ?1",
        message: MESSAGE_BY_ID,
        changed_after: CHANGED_AFTER,
        head_rev: "SELECT last_rev FROM tablos WHERE id = ?1",
        edits: "SELECT text, edited_at, rev FROM message_edits WHERE message_id = ?1 ORDER BY rev",
        pins: PINS,
        reads: "SELECT a.user_id AS user_id, COALESCE(r.last_read_seq, 0) AS last_read_seq \
             FROM tablo_access a LEFT JOIN channel_read_state r \
               ON r.user_id = a.user_id AND r.channel_id = a.tablo_id \
             WHERE a.tablo_id = ?1 AND a.is_active = 1 ORDER BY a.user_id",
        read_receipts: "SELECT read_receipts FROM tablos WHERE id = ?1",
        set_read_receipts: "UPDATE tablos SET read_receipts = ?2 WHERE id = ?1",
        unread_count: UNREAD_COUNT,
    };
}

define_apply_change!(Sqlite, SqliteConnection, record_search_change);

/// Search, an edit or a delete of a message (`message`), for the index to
/// apply (`sqlite_search.rs`).
const RECORD_CHANGE: &str = "INSERT INTO search_changes (search_key) \
     SELECT search_key FROM messages WHERE id = ?1 AND search_key IS NOT NULL";
/// Search, every message of a channel about to be deleted (`channel`),
/// for the index to take out; and the last key given out, kept.
const RECORD_CHANNEL_CHANGES: &str = "INSERT INTO search_changes (search_key) \
     SELECT search_key FROM messages WHERE channel_id = ?1 AND search_key IS NOT NULL";
const KEEP_LAST_KEY: &str = concat!(
    "INSERT OR REPLACE INTO meta (key, value) SELECT 'search_last_key', CAST(",
    last_search_key!(),
    " AS TEXT)"
);

/// The search index's part of an edit or a delete: the change is recorded
/// in its transaction, and the index file's writer applies it (taking the
/// old words out by key, putting the current text in).
async fn record_search_change(
    conn: &mut SqliteConnection,
    id: MessageId,
    _channel: ChannelId,
    _old_text: &str,
    _new_text: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(RECORD_CHANGE)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How often the WAL is checkpointed (PASSIVE: never blocks the writer or
/// readers).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The SQLite store: a single-connection write pool and a read pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers (WAL lets them run beside the writer).
    read: SqlitePool,
    /// The one writer connection.
    write: Arc<OneWriter>,
    /// The checkpoint task, stopped with the last clone of the store.
    _checkpointer: Arc<Checkpointer>,
    /// The search index, in a file of its own with a writer of its own.
    search: Arc<SearchIndexFile>,
    /// Whether the search index is kept up (the `search` setting; see
    /// [`SqliteStore::with_search_index`]).
    search_index: bool,
    /// The last applied search change whose row the chat's writer dropped.
    changes_trimmed: Arc<std::sync::atomic::AtomicI64>,
}

/// Owns the checkpoint task; aborts it when dropped.
#[derive(Debug)]
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// When SQLite waits for the disk (`CHAT_SQLITE_SYNC`). The default syncs
/// every commit: a message acknowledged to its sender survives a power cut.
/// `Normal` is SQLite's `synchronous=NORMAL` in WAL mode, what most
/// SQLite-backed servers run with: a commit is written to the WAL but not
/// synced (the WAL is synced at each checkpoint), so a crash of the
/// process loses nothing but a power cut or a kernel crash can lose the
/// last commits (the file stays consistent). It saves a device flush per
/// commit; docs/BENCHMARKS.md (issue 20) has both measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// `synchronous=FULL`: every commit is on disk before it is
    /// acknowledged (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits reach the disk at the next checkpoint.
    Normal,
}

impl FromStr for SqliteSync {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(SqliteSync::Full),
            "normal" => Ok(SqliteSync::Normal),
            other => Err(format!("{other:?} is not full or normal")),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and migrates it,
    /// syncing every commit ([`SqliteSync::Full`]).
    pub async fn connect(url: &str, read_connections: u32) -> StoreResult<Self> {
        Self::connect_with_sync(url, read_connections, SqliteSync::Full).await
    }

    /// [`SqliteStore::connect`] with the chosen [`SqliteSync`].
    pub async fn connect_with_sync(
        url: &str,
        read_connections: u32,
        sync: SqliteSync,
    ) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match sync {
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let write =
            Arc::new(OneWriter::open(options.clone().pragma("wal_autocheckpoint", "0")).await?);
        MIGRATOR.run(&mut *write.lock().await?).await?;
        let search = Arc::new(SearchIndexFile::open(options.get_filename()).await?);
        let checkpoint = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        // A result's rows cross from the connection's thread in one hand-off
        // instead of one per 50 (the default): a channel list of 500 rows
        // cost ten thread switches.
        // Each sees the search index as `search`.
        let index_file = search.path().to_string_lossy().into_owned();
        let read = SqlitePoolOptions::new()
            .max_connections(read_connections.max(1))
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                let index_file = index_file.clone();
                Box::pin(async move {
                    super::sqlite_words::register(conn).await?;
                    sqlx::query(ATTACH_FOR_READING)
                        .bind(index_file)
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect_with(options.read_only(true).row_buffer_size(1024))
            .await?;
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&checkpoint)
                    .await
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        });
        Ok(SqliteStore {
            read,
            write,
            _checkpointer: Arc::new(Checkpointer(task)),
            search,
            search_index: true,
            changes_trimmed: Arc::default(),
        })
    }

    /// The store with the search index kept up (`true`, as [`connect`]
    /// opens it) or not (the `search` setting, PROTOCOL.md "Search"). Off,
    /// nothing is indexed (the index file's writer rests); on again, it
    /// catches up from where it stopped, in the background.
    ///
    /// # Errors
    /// None today; kept fallible like the Postgres store's.
    ///
    /// [`connect`]: SqliteStore::connect
    pub async fn with_search_index(mut self, on: bool) -> StoreResult<Self> {
        self.search_index = on;
        Ok(self)
    }

    /// The writer connection inside `BEGIN IMMEDIATE` (the write lock
    /// taken at once, so seqs read in the transaction stay current).
    ///
    /// Write transactions are begun and ended here with plain statements
    /// rather than sqlx's `Transaction`: after a failed statement (a full
    /// disk, an I/O error) SQLite may already have rolled back, and a
    /// rollback may itself fail; sqlx would then still count the
    /// connection as inside a transaction, turn the next batch's `BEGIN`
    /// into a savepoint and its `COMMIT` into a release, and acknowledge
    /// messages that were never committed. Instead every failure ends in
    /// [`WriterGuard::discard`], which throws the connection away.
    async fn begin_write(&self) -> StoreResult<WriterGuard<'_>> {
        let mut conn = self.write.lock().await?;
        conn.began_transaction();
        if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            conn.discard().await;
            return Err(e.into());
        }
        Ok(conn)
    }

    /// The fast batch insert (`MessageStore::insert_batch_fast`) from
    /// `BEGIN` to `COMMIT` on the writer connection, in two hand-overs to
    /// its thread (three or more when messages mention someone). On an
    /// error the transaction may be open: the caller discards the
    /// connection.
    async fn insert_batch_fast_in(
        conn: &mut SqliteConnection,
        batch: &[NewMessage],
    ) -> Result<Vec<StoreResult<InsertOutcome>>, StoreError> {
        let hex = |id: Uuid| id.simple().to_string();
        let pairs: Vec<[String; 2]> = batch
            .iter()
            .map(|m| [hex(m.channel_id.uuid()), hex(m.user_id.uuid())])
            .collect();
        let keys: Vec<[&str; 3]> = pairs
            .iter()
            .zip(batch)
            .map(|(p, m)| [p[0].as_str(), p[1].as_str(), m.client_id.as_str()])
            .collect();
        let channels: Vec<String> = channels_of(batch).iter().map(|c| hex(c.uuid())).collect();
        let facts = rows_by_statement(
            conn,
            sqlx::query(BATCH_FACTS)
                .bind(encode(&keys)?)
                .bind(encode(&channels)?),
        )
        .await?;
        let [_begin, heads, senders, existing] =
            <[Vec<SqliteRow>; 4]>::try_from(facts).map_err(|f| {
                StoreError::Transaction(format!("{} results for 4 statements", f.len()))
            })?;
        let plan = batch::plan(
            batch,
            BatchFacts {
                heads: decode_rows::<HeadRow>(&heads)?
                    .into_iter()
                    .map(HeadRow::into_fact)
                    .collect(),
                senders: decode_rows::<(ChannelId, UserId)>(&senders)?
                    .into_iter()
                    .collect::<HashSet<_>>(),
                existing: decode_rows::<MessageRow>(&existing)?
                    .into_iter()
                    .map(Message::from)
                    .collect(),
            },
        );
        if plan.new.is_empty() {
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            return Ok(plan.results);
        }
        let new_rows: Vec<serde_json::Value> = plan
            .new
            .iter()
            .map(|m| {
                serde_json::json!([
                    hex(m.id.uuid()),
                    hex(m.channel_id.uuid()),
                    m.seq,
                    hex(m.user_id.uuid()),
                    m.client_id,
                    m.text,
                    m.created_at.micros(),
                    m.reply_to.as_ref().map(|q| hex(q.id.uuid())),
                    mentions_json(&m.mentions)
                ])
            })
            .collect();
        let bumps: Vec<serde_json::Value> = plan
            .heads
            .iter()
            .map(|(id, seq, at)| serde_json::json!([hex(id.uuid()), seq, at.timestamp_micros()]))
            .collect();
        let mentions = plan.new.iter().any(|m| !m.mentions.is_empty());
        let write = if mentions {
            BATCH_WRITE
        } else {
            BATCH_WRITE_COMMIT
        };
        sqlx::query(write)
            .bind(encode(&new_rows)?)
            .bind(encode(&bumps)?)
            .execute(&mut *conn)
            .await?;
        if mentions {
            for m in &plan.new {
                Self::add_mentions(conn, m.id, &m.mentions).await?;
            }
            sqlx::query("COMMIT").execute(&mut *conn).await?;
        }
        Ok(plan.results)
    }

    /// A stored message's rows of unread mentions (none for a thread-only
    /// reply or the author).
    async fn add_mentions(
        tx: &mut SqliteConnection,
        id: MessageId,
        mentions: &[UserId],
    ) -> StoreResult<()> {
        if let Some(json) = mentions_json(mentions) {
            sqlx::query(<Sqlite as ChangeDialect>::CHANGES.add_mentions)
                .bind(id)
                .bind(json)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// [`SqliteStore::insert_one`] inside a savepoint, undone alone when
    /// the message is refused or its statement fails.
    async fn insert_one_alone(
        tx: &mut SqliteConnection,
        m: &NewMessage,
    ) -> StoreResult<InsertOutcome> {
        sqlx::query("SAVEPOINT one_message")
            .execute(&mut *tx)
            .await?;
        let outcome = Self::insert_one(tx, m).await;
        if outcome.is_err() {
            sqlx::query("ROLLBACK TO one_message")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("RELEASE one_message").execute(&mut *tx).await?;
        outcome
    }

    /// One message the careful way: the sender's access, then the key,
    /// then the next seq and time, then the row (the writer's lock is held
    /// throughout, so nothing changes in between). Its words go into the
    /// search index later (`sqlite_search.rs`).
    async fn insert_one(tx: &mut SqliteConnection, m: &NewMessage) -> StoreResult<InsertOutcome> {
        // Refuses a message whose sender is not an active member of its
        // channel, inside the insert's transaction.
        if !matches!(
            Sqlite::membership(&mut *tx, m.channel_id, m.user_id).await?,
            Membership::Member { .. }
        ) {
            return Err(StoreError::NotMember);
        }
        if let Some(original) = Sqlite::find_by_client_id(&mut *tx, m).await? {
            return Ok(InsertOutcome::Duplicate(original));
        }
        let next: Option<(Seq, Timestamp)> = sqlx::query_as(NEXT_SEQ)
            .bind(m.channel_id)
            .bind(Timestamp::from(m.created_at))
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, created_at) =
            next.ok_or_else(|| StoreError::NotFound(format!("channel {}", m.channel_id)))?;
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
            .execute(&mut *tx)
            .await?;
        Self::add_mentions(tx, m.id, &m.mentions).await?;
        take_uploads_in(tx, m).await?;
        let parent = match m.thread {
            Some(thread) => Some(Box::new(
                reply_step_in(tx, m, thread, seq, created_at).await?,
            )),
            None => None,
        };
        Ok(InsertOutcome::Stored(
            m.stored(seq, DateTime::<Utc>::from(created_at)),
            parent,
        ))
    }
}

/// Runs `query`, a text of several statements, in one hand-over to the
/// connection's thread, and returns each statement's rows in order (an
/// empty list for one that returns none).
///
/// Several statements in one prepared text are SQLite's alone among sqlx's
/// drivers, and sqlx 0.8 marks `Query::fetch_many` deprecated for that
/// reason; the `Executor` method used here is not, and sqlx keeps the
/// whole text's statements prepared like any other query's.
async fn rows_by_statement<'q>(
    conn: &mut SqliteConnection,
    query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
) -> StoreResult<Vec<Vec<SqliteRow>>> {
    use futures_util::TryStreamExt;
    use sqlx::Executor;
    let mut steps = conn.fetch_many(query);
    let mut statements = vec![Vec::new()];
    while let Some(step) = steps.try_next().await? {
        match step {
            // A statement's end: the next one's rows follow.
            sqlx::Either::Left(_) => statements.push(Vec::new()),
            sqlx::Either::Right(row) => {
                if let Some(rows) = statements.last_mut() {
                    rows.push(row);
                }
            }
        }
    }
    // The list opened after the last statement's end.
    statements.pop();
    Ok(statements)
}

/// Decodes `rows` by column name (`FromRow`).
fn decode_rows<T>(rows: &[SqliteRow]) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, SqliteRow>,
{
    rows.iter()
        .map(|row| T::from_row(row).map_err(StoreError::from))
        .collect()
}

/// Commits the writer's transaction; on failure the connection is
/// discarded (see [`SqliteStore::begin_write`]).
async fn commit(mut conn: WriterGuard<'_>) -> StoreResult<()> {
    match sqlx::query("COMMIT").execute(&mut *conn).await {
        Ok(_) => {
            conn.ended_transaction();
            Ok(())
        }
        Err(e) => {
            conn.discard().await;
            Err(e.into())
        }
    }
}

/// Ends a write transaction by its outcome: commits what succeeded (a
/// failed commit fails it), discards what failed.
async fn settle<T>(conn: WriterGuard<'_>, outcome: StoreResult<T>) -> StoreResult<T> {
    match outcome {
        Ok(value) => {
            commit(conn).await?;
            Ok(value)
        }
        Err(e) => {
            conn.discard().await;
            Err(e)
        }
    }
}

// Reads go to the read pool, writes (and the flags, read at start-up
// right after they are written) to the one writer.

#[async_trait]
impl UserStore for SqliteStore {
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        Sqlite::user_by_email(&self.read, email).await
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        Sqlite::user_by_id(&self.read, id).await
    }

    async fn upsert_user(&self, user: &UserRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, email, display_name, password_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
             display_name = excluded.display_name, \
             password_hash = COALESCE(excluded.password_hash, users.password_hash)",
        )
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(&user.password_hash)
        .bind(Timestamp::from(Utc::now()))
        .execute(&mut *self.write.lock().await?)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl ChannelStore for SqliteStore {
    async fn upsert_channel(&self, id: ChannelId, name: &str, color: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tablos (id, name, color, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, color = excluded.color",
        )
        .bind(id)
        .bind(name)
        .bind(color)
        .bind(Timestamp::from(Utc::now()))
        .execute(&mut *self.write.lock().await?)
        .await?;
        Ok(())
    }

    /// The channel's messages are handed to the search index to take out
    /// (it lives in another file, so nothing cascades into it), in the
    /// same transaction.
    async fn delete_channel(&self, id: ChannelId) -> StoreResult<bool> {
        let mut conn = self.begin_write().await?;
        let deleted = async {
            sqlx::query(KEEP_LAST_KEY).execute(&mut *conn).await?;
            sqlx::query(RECORD_CHANNEL_CHANGES)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            // Its files are to go (the janitor deletes the bytes).
            sqlx::query(<Sqlite as UploadDialect>::UPLOADS.remove_for_channel)
                .bind(Timestamp::from(Utc::now()))
                .bind(id)
                .execute(&mut *conn)
                .await?;
            let done = sqlx::query("DELETE FROM tablos WHERE id = ?1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            StoreResult::Ok(done.rows_affected() > 0)
        }
        .await;
        settle(conn, deleted).await
    }

    async fn set_access(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        active: bool,
    ) -> StoreResult<()> {
        Sqlite::set_access(&mut *self.write.lock().await?, channel_id, user_id, active).await
    }

    async fn membership(&self, channel_id: ChannelId, user_id: UserId) -> StoreResult<Membership> {
        Sqlite::membership(&self.read, channel_id, user_id).await
    }

    async fn member_ids(&self, channel_id: ChannelId) -> StoreResult<Vec<UserId>> {
        Sqlite::member_ids(&self.read, channel_id).await
    }

    async fn members(&self, channel_id: ChannelId) -> StoreResult<Vec<Member>> {
        Sqlite::members(&self.read, channel_id).await
    }

    async fn channels_for(&self, user_id: UserId) -> StoreResult<Vec<ChannelSummary>> {
        Sqlite::channels_for(&self.read, user_id).await
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn timeline_page(
        &self,
        channel_id: ChannelId,
        timeline: Timeline,
        cursor: HistoryCursor,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        let HistoryCursor::AroundSeq(seq) = cursor else {
            return Sqlite::history(&self.read, channel_id, timeline, cursor, limit).await;
        };
        let before_limit = around_before_limit(limit);
        // Read even when no message fits before `n` (a limit of 1): the
        // one row more it fetches tells whether older messages exist.
        let before = Sqlite::history(
            &self.read,
            channel_id,
            timeline,
            HistoryCursor::BeforeSeq(seq),
            before_limit,
        )
        .await?;
        let from = Sqlite::history(
            &self.read,
            channel_id,
            timeline,
            HistoryCursor::AfterSeq(seq.prev()),
            limit - before_limit,
        )
        .await?;
        Ok(around_seq(seq, before, from))
    }

    async fn head_seq(&self, channel_id: ChannelId) -> StoreResult<Seq> {
        Sqlite::head_seq(&self.read, channel_id).await
    }

    /// The fast path: two hand-overs per batch whatever its size (the
    /// facts, then the writes and the commit), seqs and times assigned here
    /// under the write lock (`BEGIN IMMEDIATE`), no savepoints. Any
    /// database error fails the whole batch (rolled back, nothing stored).
    async fn insert_batch_fast(
        &self,
        batch: &[NewMessage],
    ) -> Result<Vec<StoreResult<InsertOutcome>>, StoreError> {
        let mut conn = self.write.lock().await?;
        conn.began_transaction();
        match Self::insert_batch_fast_in(&mut conn, batch).await {
            Ok(results) => {
                conn.ended_transaction();
                Ok(results)
            }
            Err(e) => {
                conn.discard().await;
                Err(e)
            }
        }
    }

    /// The careful path: one savepoint per message, so a message that fails
    /// is undone alone and the rest of the batch is stored.
    async fn insert_batch_carefully(
        &self,
        batch: &[NewMessage],
    ) -> Vec<StoreResult<InsertOutcome>> {
        let mut tx = match self.begin_write().await {
            Ok(tx) => tx,
            Err(e) => return all_failed(batch, "begin", &e),
        };
        let mut results = Vec::with_capacity(batch.len());
        for m in batch {
            match Self::insert_one_alone(&mut tx, m).await {
                // A refusal or a statement's own error is this message's
                // outcome. A full disk, an I/O error or a busy database is
                // not: SQLite may have rolled the whole transaction back
                // with it, so the messages before it cannot be reported
                // stored.
                Err(e) if e.is_unavailable() => {
                    tx.discard().await;
                    return all_failed(batch, "insert", &e);
                }
                outcome => results.push(outcome),
            }
        }
        if let Err(e) = commit(tx).await {
            return all_failed(batch, "commit", &e);
        }
        results
    }
}

#[async_trait]
impl PreviewStore for SqliteStore {
    async fn cached_preview(&self, url: &str) -> StoreResult<Option<CachedPreview>> {
        <Sqlite as PreviewDialect>::cached_preview(&self.read, url).await
    }

    async fn save_preview(&self, entry: &CachedPreview) -> StoreResult<()> {
        <Sqlite as PreviewDialect>::save_preview(&mut *self.write.lock().await?, entry).await
    }

    async fn reserve_preview_image(
        &self,
        url: &str,
        candidate: PreviewImageId,
    ) -> StoreResult<PreviewImageId> {
        <Sqlite as PreviewDialect>::reserve_preview_image(
            &mut *self.write.lock().await?,
            url,
            Timestamp::from_micros(0),
            candidate,
        )
        .await
    }

    async fn preview_by_image(&self, id: PreviewImageId) -> StoreResult<Option<CachedPreview>> {
        <Sqlite as PreviewDialect>::preview_by_image(&self.read, id).await
    }
}

#[async_trait]
impl UploadStore for SqliteStore {
    async fn add_upload(&self, upload: &UploadRecord) -> StoreResult<()> {
        <Sqlite as UploadDialect>::add_upload(&mut *self.write.lock().await?, upload).await
    }

    async fn upload(&self, id: UploadId) -> StoreResult<Option<UploadRecord>> {
        <Sqlite as UploadDialect>::upload(&self.read, id).await
    }

    async fn uploaded_bytes_since(&self, user: UserId, since: Timestamp) -> StoreResult<u64> {
        <Sqlite as UploadDialect>::uploaded_bytes_since(&self.read, user, since).await
    }

    async fn remove_orphan_uploads(&self, created_before: Timestamp) -> StoreResult<()> {
        <Sqlite as UploadDialect>::remove_orphans(
            &mut *self.write.lock().await?,
            Timestamp::from(Utc::now()),
            created_before,
        )
        .await
    }

    async fn removed_uploads(&self, limit: u32) -> StoreResult<Vec<UploadRecord>> {
        <Sqlite as UploadDialect>::removed_uploads(&self.read, limit).await
    }

    async fn forget_upload(&self, id: UploadId) -> StoreResult<()> {
        <Sqlite as UploadDialect>::forget_upload(&mut *self.write.lock().await?, id).await
    }
}

#[async_trait]
impl ThreadStore for SqliteStore {
    async fn mark_thread_read(
        &self,
        user_id: UserId,
        parent_id: MessageId,
        seq: Option<Seq>,
    ) -> StoreResult<Option<ThreadRead>> {
        let Some(cursor) = <Sqlite as ThreadDialect>::mark_thread_read(
            &mut *self.write.lock().await?,
            user_id,
            parent_id,
            seq,
        )
        .await?
        else {
            return Ok(None);
        };
        let unread_count = <Sqlite as ThreadDialect>::thread_unread(
            &self.read,
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
        <Sqlite as ThreadDialect>::thread_reads(&self.read, parent_id).await
    }

    async fn threads_for(
        &self,
        user_id: UserId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> StoreResult<Vec<ThreadSummary>> {
        <Sqlite as ThreadDialect>::threads_for(&self.read, user_id, before, limit).await
    }
}

#[async_trait]
impl ChangeStore for SqliteStore {
    /// One write transaction for the batch, one savepoint per change, so a
    /// change whose statement fails is undone alone.
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
        let mut tx = match self.begin_write().await {
            Ok(tx) => tx,
            Err(e) => return fail_all("begin", &e),
        };
        let mut results = Vec::with_capacity(batch.len());
        // A lone change needs no savepoint: if it fails, the transaction
        // goes with it (two round trips less per change when changes are
        // few and batches hold one).
        if let [change] = batch {
            let outcome = apply_change_in(&mut tx, change, limits).await;
            if outcome.is_err() {
                tx.discard().await;
                return vec![outcome];
            }
            results.push(outcome);
        }
        // Several: each in its own savepoint, so a failing one is undone alone.
        let several: &[Change] = if batch.len() > 1 { batch } else { &[] };
        for change in several {
            if let Err(e) = sqlx::query("SAVEPOINT one_change").execute(&mut *tx).await {
                tx.discard().await;
                return fail_all("savepoint", &e);
            }
            let outcome = apply_change_in(&mut tx, change, limits).await;
            let end = match &outcome {
                // See `insert_batch_carefully`: SQLite may have rolled the
                // whole transaction back with such a failure.
                Err(e) if e.is_unavailable() => {
                    tx.discard().await;
                    return fail_all("change", e);
                }
                Err(_) => "ROLLBACK TO one_change",
                Ok(_) => "RELEASE one_change",
            };
            let mut ended = sqlx::query(end).execute(&mut *tx).await.map(|_| ());
            if ended.is_ok() && outcome.is_err() {
                ended = sqlx::query("RELEASE one_change")
                    .execute(&mut *tx)
                    .await
                    .map(|_| ());
            }
            if let Err(e) = ended {
                tx.discard().await;
                return fail_all("savepoint", &e);
            }
            results.push(outcome);
        }
        if let Err(e) = commit(tx).await {
            return fail_all("commit", &e);
        }
        results
    }

    async fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> StoreResult<Option<Message>> {
        let m = Sqlite::message_in(&self.read, message_id).await?;
        Ok(m.filter(|m| m.channel_id == channel_id))
    }

    async fn changed_after(
        &self,
        channel_id: ChannelId,
        rev: Rev,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        Sqlite::changed_after(&self.read, channel_id, rev, limit).await
    }

    async fn head_rev(&self, channel_id: ChannelId) -> StoreResult<Rev> {
        <Sqlite as ChangeDialect>::head_rev(&self.read, channel_id).await
    }

    async fn edits(&self, message_id: MessageId) -> StoreResult<Vec<MessageEdit>> {
        Sqlite::edits(&self.read, message_id).await
    }

    async fn reactors(
        &self,
        message_id: MessageId,
        emoji: &str,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        Sqlite::reactors(&self.read, message_id, emoji, limit).await
    }

    async fn pins(&self, channel_id: ChannelId, limit: u32) -> StoreResult<Vec<Message>> {
        Sqlite::pins(&self.read, channel_id, limit).await
    }

    async fn reads(&self, channel_id: ChannelId) -> StoreResult<Vec<MemberRead>> {
        Sqlite::reads(&self.read, channel_id).await
    }

    async fn read_receipts(&self, channel_id: ChannelId) -> StoreResult<bool> {
        Sqlite::read_receipts(&self.read, channel_id).await
    }

    async fn set_read_receipts(&self, channel_id: ChannelId, on: bool) -> StoreResult<()> {
        Sqlite::set_read_receipts(&mut *self.write.lock().await?, channel_id, on).await
    }

    async fn unread_count(&self, user_id: UserId, channel_id: ChannelId) -> StoreResult<i64> {
        Sqlite::unread_count(&self.read, user_id, channel_id).await
    }
}

#[async_trait]
impl ReadStore for SqliteStore {
    async fn mark_read(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        seq: Option<Seq>,
    ) -> StoreResult<Seq> {
        Sqlite::mark_read(&mut *self.write.lock().await?, user_id, channel_id, seq).await
    }

    async fn unread_for(&self, user_id: UserId) -> StoreResult<Vec<UnreadEntry>> {
        Sqlite::unread_for(&self.read, user_id).await
    }

    async fn unread_mentions(&self, user_id: UserId, channel_id: ChannelId) -> StoreResult<i64> {
        Sqlite::unread_mentions(&self.read, user_id, channel_id).await
    }
}

#[async_trait]
impl SearchStore for SqliteStore {
    async fn search(
        &self,
        user_id: UserId,
        channel_id: Option<ChannelId>,
        query: &SearchQuery,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        // Read your writes: what was acknowledged before this search is
        // found by it.
        if self.search_index {
            self.search.catch_up_for_search(&self.read).await?;
        }
        let rows: Vec<MessageRow> = sqlx::query_as(if after.is_some() {
            SEARCH_AFTER
        } else {
            SEARCH
        })
        .bind(query.fts5(channel_id.map(|c| c.uuid().simple().to_string()).as_deref()))
        .bind(user_id)
        .bind(i64::from(limit))
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    /// Lets the index file's writer take every message and change waiting,
    /// then drops the rows of the changes it applied (a small write on the
    /// chat's writer, only after edits or deletes); returns how many
    /// messages and changes it took.
    async fn flush_search_index(&self) -> StoreResult<u64> {
        if !self.search_index {
            return Ok(0);
        }
        let taken = self.search.catch_up().await?;
        let done = self.search.changes_done();
        if done > self.changes_trimmed.load(Ordering::Acquire) {
            sqlx::query("DELETE FROM search_changes WHERE seq <= ?1")
                .bind(done)
                .execute(&mut *self.write.lock().await?)
                .await?;
            self.changes_trimmed.fetch_max(done, Ordering::AcqRel);
        }
        Ok(taken)
    }

    /// On: new messages and changes wait for the index file's writer.
    fn keeps_pending_search_entries(&self) -> bool {
        self.search_index
    }
}

#[async_trait]
impl MetaStore for SqliteStore {
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
        Sqlite::get_meta(&mut *self.write.lock().await?, key).await
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        Sqlite::set_meta(&mut *self.write.lock().await?, key, value).await
    }

    async fn ping(&self) -> StoreResult<()> {
        Sqlite::ping(&self.read).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MessageId;
    use sqlx::Row;

    /// This dialect's statements of changes to messages.
    const CHANGES: ChangeQueries = <Sqlite as ChangeDialect>::CHANGES;

    /// This dialect's statements of threads.
    const THREADS: ThreadQueries = <Sqlite as ThreadDialect>::THREADS;

    /// Every query on the hot path, by name.
    const HOT_QUERIES: [(&str, &str); 64] = [
        ("FIND_BY_CLIENT_ID", FIND_BY_CLIENT_ID),
        ("BATCH_INSERT", BATCH_INSERT),
        ("INSERT_MESSAGE", INSERT_MESSAGE),
        ("NEXT_SEQ", NEXT_SEQ),
        ("BATCH_HEADS", BATCH_HEADS),
        ("BATCH_SENDERS", BATCH_SENDERS),
        ("BATCH_EXISTING", BATCH_EXISTING),
        ("BATCH_BUMP", BATCH_BUMP),
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
        ("RECORD_CHANGE", RECORD_CHANGE),
        ("RECORD_CHANNEL_CHANGES", RECORD_CHANNEL_CHANGES),
        ("KEEP_LAST_KEY", KEEP_LAST_KEY),
        ("SEARCH", SEARCH),
        ("SEARCH_AFTER", SEARCH_AFTER),
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

    fn parameter_count(sql: &str) -> usize {
        (1..=9).filter(|n| sql.contains(&format!("?{n}"))).count()
    }

    /// No query of the chat's hot path scans a table or a whole index:
    /// each one searches by an index (EXPLAIN QUERY PLAN of the real schema).
    #[tokio::test]
    async fn every_hot_query_searches_by_an_index() {
        let (_dir, store) = fresh_store().await;
        for (name, sql) in HOT_QUERIES {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query = sqlx::query(&explain);
            for _ in 0..parameter_count(sql) {
                query = query.bind(None::<i64>);
            }
            // The read pool sees the search index file too.
            let rows = query.fetch_all(&store.read).await.unwrap();
            let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
            // Walking a batch's own JSON list is expected, and so is the
            // one row of a `SELECT (subquery)`; every table it joins must
            // be searched by an index.
            for step in &plan {
                assert!(
                    !step.starts_with("SCAN ")
                        || step.contains("VIRTUAL TABLE")
                        || step == "SCAN CONSTANT ROW",
                    "{name} scans instead of searching: {plan:#?}"
                );
            }
        }
    }

    /// The database runs in WAL mode with fsync at every commit
    /// (`synchronous=FULL`), so an acknowledged message survives power loss.
    #[tokio::test]
    async fn the_database_is_wal_with_full_sync() {
        let (_dir, store) = fresh_store().await;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *store.write.lock().await.unwrap())
            .await
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *store.write.lock().await.unwrap())
            .await
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
    }

    /// The lighter setting is SQLite's `synchronous=NORMAL` on the writer
    /// (still WAL), and names other than full and normal are refused.
    #[tokio::test]
    async fn the_lighter_sync_is_normal_and_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("chat.db").display());
        let store = SqliteStore::connect_with_sync(&url, 1, SqliteSync::Normal)
            .await
            .unwrap();
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *store.write.lock().await.unwrap())
            .await
            .unwrap();
        assert_eq!(sync, 1, "synchronous=NORMAL");
        assert_eq!(SqliteSync::default(), SqliteSync::Full);
        assert_eq!(" Normal".parse::<SqliteSync>(), Ok(SqliteSync::Normal));
        assert_eq!("full".parse::<SqliteSync>(), Ok(SqliteSync::Full));
        assert!("off".parse::<SqliteSync>().is_err());
        assert!("".parse::<SqliteSync>().is_err());
    }

    /// A write transaction abandoned half-way (its future dropped, as a
    /// cancelled request drops it) is rolled back, and the next write gets
    /// a connection outside any transaction rather than one that would
    /// turn its `BEGIN` into an error and its work into part of the
    /// abandoned transaction.
    #[tokio::test]
    async fn an_abandoned_write_transaction_is_rolled_back() {
        let (_dir, store) = fresh_store().await;
        let ghost = ChannelId::from_uuid(Uuid::from_u128(7));
        {
            let mut conn = store.begin_write().await.unwrap();
            sqlx::query("INSERT INTO tablos (id, name, created_at) VALUES (?1, 'ghost', 0)")
                .bind(ghost)
                .execute(&mut *conn)
                .await
                .unwrap();
            // Dropped here without a commit.
        }
        let (channel, _user) = channel_and_user(&store).await;
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM tablos ORDER BY name")
            .fetch_all(&store.read)
            .await
            .unwrap();
        assert_eq!(
            names,
            ["c"],
            "the abandoned insert is gone, the next write stored"
        );
        // And a whole write transaction after it commits.
        assert!(store.delete_channel(channel).await.unwrap());
    }

    /// A store on a new database in a directory of its own (kept while the
    /// returned guard lives).
    async fn fresh_store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("chat.db").display());
        let store = SqliteStore::connect(&url, 1).await.unwrap();
        (dir, store)
    }

    /// A channel and a member to write with.
    async fn channel_and_user(store: &SqliteStore) -> (ChannelId, UserId) {
        let (channel, user) = (
            ChannelId::from_uuid(Uuid::from_u128(1)),
            UserId::from_uuid(Uuid::from_u128(2)),
        );
        store.upsert_channel(channel, "c", "#000000").await.unwrap();
        store
            .upsert_user(&UserRecord {
                id: user,
                email: "u@example.com".into(),
                display_name: "u".into(),
                password_hash: None,
            })
            .await
            .unwrap();
        store.set_access(channel, user, true).await.unwrap();
        (channel, user)
    }

    /// The store conformance suite on SQLite files in temporary
    /// directories.
    mod conformance {
        use super::*;
        use crate::server::store::conformance::{conformance_suite, Backend};
        use crate::server::store::Store;

        /// A store on a new database file, kept while the directory lives.
        struct SqliteBackend {
            dir: tempfile::TempDir,
            store: Arc<SqliteStore>,
        }

        impl SqliteBackend {
            fn url(&self) -> String {
                format!("sqlite://{}", self.dir.path().join("chat.db").display())
            }
        }

        impl Backend for SqliteBackend {
            async fn fresh() -> Option<Self> {
                let (dir, store) = fresh_store().await;
                Some(SqliteBackend {
                    dir,
                    store: Arc::new(store),
                })
            }

            fn store(&self) -> Arc<dyn Store> {
                self.store.clone()
            }

            async fn another(&self) -> Arc<dyn Store> {
                Arc::new(SqliteStore::connect(&self.url(), 1).await.unwrap())
            }

            async fn soft_delete(&self, channel: ChannelId, seq: Seq) {
                sqlx::query(
                    "UPDATE messages SET deleted_at = 1 \
                     WHERE channel_id = ?1 AND seq = ?2",
                )
                .bind(channel)
                .bind(seq)
                .execute(&mut *self.store.write.lock().await.unwrap())
                .await
                .unwrap();
            }

            async fn stored_text(&self, id: MessageId) -> String {
                sqlx::query_scalar("SELECT text FROM messages WHERE id = ?1")
                    .bind(id)
                    .fetch_one(&mut *self.store.write.lock().await.unwrap())
                    .await
                    .unwrap()
            }

            async fn forget_search(&self) {
                // As a new index file: nothing indexed, every message
                // waiting.
                self.store.search.forget().await.unwrap();
            }
        }

        conformance_suite!(SqliteBackend);
    }

    /// The writer never checkpoints; the checkpoint task moves committed
    /// pages from the WAL into the database file by itself.
    #[tokio::test]
    async fn the_wal_is_checkpointed_off_the_write_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()), 1)
            .await
            .unwrap();
        let (channel, user) = channel_and_user(&store).await;
        tokio::time::sleep(CHECKPOINT_EVERY * 2).await;
        let before = std::fs::metadata(&path).unwrap().len();
        let text = "x".repeat(200);
        store_texts(&store, channel, user, &vec![text.as_str(); 2000]).await;
        let deadline = std::time::Instant::now() + CHECKPOINT_EVERY * 5;
        while std::fs::metadata(&path).unwrap().len() <= before {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file did not grow: no checkpoint"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Messages in `channel` from `user` with these texts, stored now.
    async fn store_texts(
        store: &SqliteStore,
        channel: ChannelId,
        user: UserId,
        texts: &[&str],
    ) -> Vec<MessageId> {
        let batch: Vec<NewMessage> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| NewMessage {
                id: MessageId::from_uuid(Uuid::now_v7()),
                channel_id: channel,
                user_id: user,
                client_id: format!("t{i}-{}", Uuid::new_v4()).into(),
                text: (*text).into(),
                created_at: Utc::now(),
                reply_to: None,
                thread: None,
                mentions: Vec::new(),
                attachments: Vec::new(),
            })
            .collect();
        for r in store.insert_messages(&batch).await {
            r.unwrap();
        }
        batch.iter().map(|m| m.id).collect()
    }

    /// The texts a search finds (newest first).
    async fn search_texts(store: &SqliteStore, user: UserId, q: &str) -> Vec<String> {
        let query = SearchQuery::parse(q).unwrap();
        store
            .search(user, None, &query, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    /// An edit the index file has not applied yet never shows a stale hit:
    /// the message is found neither by its old words (still indexed) nor
    /// by its new ones (not yet) until the index catches up. (A store with
    /// search off searches without catching up first, as one does while
    /// the index is being built again.)
    #[tokio::test]
    async fn a_hit_with_a_change_not_yet_applied_is_left_out() {
        let (_dir, store) = fresh_store().await;
        let (channel, user) = channel_and_user(&store).await;
        let ids = store_texts(&store, channel, user, &["alpha one", "alpha two"]).await;
        assert_eq!(store.flush_search_index().await.unwrap(), 2);
        let resting = store.clone().with_search_index(false).await.unwrap();
        let edit = Change {
            channel_id: channel,
            message_id: ids[0],
            actor: super::super::Actor::Member(user),
            kind: super::super::ChangeKind::Edit {
                text: "beta one".into(),
                if_rev: None,
                mentions: None,
            },
            at: Utc::now(),
        };
        let limits = ChangeLimits {
            max_reactions_per_message: 20,
            max_pins_per_channel: 50,
        };
        for r in store.apply_changes(&[edit], limits).await {
            r.unwrap().unwrap();
        }
        assert_eq!(search_texts(&resting, user, "alpha").await, ["alpha two"]);
        assert_eq!(
            search_texts(&resting, user, "one").await,
            Vec::<String>::new()
        );
        assert_eq!(search_texts(&store, user, "one").await, ["beta one"]);
        assert_eq!(search_texts(&resting, user, "alpha").await, ["alpha two"]);
        // The applied change's row is dropped by the next merge.
        store.flush_search_index().await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM search_changes")
            .fetch_one(&store.read)
            .await
            .unwrap();
        assert_eq!(left, 0);
    }

    /// The index file keeps what it took across a restart (nothing is
    /// indexed twice), and is built again from the messages when it is
    /// lost or of another format.
    #[tokio::test]
    async fn the_index_file_survives_restarts_and_is_rebuilt_when_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::connect(&url, 1).await.unwrap();
        let (channel, user) = channel_and_user(&store).await;
        store_texts(&store, channel, user, &["kept words", "more kept words"]).await;
        assert_eq!(store.flush_search_index().await.unwrap(), 2);
        drop(store);

        let store = SqliteStore::connect(&url, 1).await.unwrap();
        assert_eq!(store.flush_search_index().await.unwrap(), 0);
        assert_eq!(search_texts(&store, user, "kept").await.len(), 2);
        // Another format: emptied and built again.
        sqlx::query("UPDATE index_marks SET value = 99 WHERE key = 'format'")
            .execute(&store.search.write_pool())
            .await
            .unwrap();
        drop(store);
        let store = SqliteStore::connect(&url, 1).await.unwrap();
        assert_eq!(store.flush_search_index().await.unwrap(), 2);
        assert_eq!(search_texts(&store, user, "words").await.len(), 2);
        drop(store);

        for suffix in ["-search", "-search-wal", "-search-shm"] {
            let file = dir.path().join(format!("chat.db{suffix}"));
            if file.exists() {
                std::fs::remove_file(file).unwrap();
            }
        }
        let store = SqliteStore::connect(&url, 1).await.unwrap();
        assert_eq!(
            search_texts(&store, user, "more").await,
            ["more kept words"]
        );
        assert_eq!(store.flush_search_index().await.unwrap(), 0);
    }

    /// The statements of the index file's writer search by an index too
    /// (run where they run: the index file, with the chat's attached).
    #[tokio::test]
    async fn the_index_steps_search_by_an_index() {
        let (_dir, store) = fresh_store().await;
        use super::super::sqlite_search::{ADD_AGAIN, ADD_TAIL, CHANGED, TAIL};
        for (name, sql) in [
            ("TAIL", TAIL),
            ("ADD_TAIL", ADD_TAIL),
            ("CHANGED", CHANGED),
            ("ADD_AGAIN", ADD_AGAIN),
        ] {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query = sqlx::query(&explain);
            for _ in 0..parameter_count(sql) {
                query = query.bind(None::<i64>);
            }
            let rows = query.fetch_all(&store.search.write_pool()).await.unwrap();
            let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
            // Walking a subquery's own rows or a JSON list is expected.
            for step in &plan {
                assert!(
                    !step.starts_with("SCAN ")
                        || step.starts_with("SCAN (subquery")
                        || step.contains("VIRTUAL TABLE"),
                    "{name} scans instead of searching: {plan:#?}"
                );
            }
        }
    }
}
