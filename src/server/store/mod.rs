//! Storage behind one trait object, [`Store`]: SQLite (`sqlite.rs`, the
//! embedded default) and PostgreSQL (`postgres.rs`), chosen by the database
//! URL at start-up; callers never know which. Rules (who may do what,
//! limits) live in `server::chat`; the store only reads and writes rows.
//!
//! [`Store`] is the sum of one trait per noun: [`UserStore`],
//! [`ChannelStore`] (channels, access, the channel list), [`MessageStore`]
//! (history and inserts), [`ReadStore`] (read cursors, unread counts) and
//! [`MetaStore`] (flags, health). Each backend implements all five.
//!
//! What the backends share is written once:
//! - `rows.rs`: every row type, derived with sqlx's `FromRow` by column
//!   name and mapped into the wire types, for both dialects. The one
//!   dialect difference in rows, instants (INTEGER microseconds on SQLite,
//!   `timestamptz` on Postgres), is bridged on `Timestamp` there; ids are
//!   16-byte BLOBs on SQLite and `uuid` on Postgres, which the id types'
//!   own sqlx encoding already covers.
//! - `dialect.rs`: the Rust side of every operation that differs only in
//!   its SQL (binding, reading, paging, the unread filter), with each
//!   dialect's statements given as a `Queries` table.
//! - `batch.rs`: the fast batch path's decisions (seqs, times, refusals,
//!   duplicates).
//! - `conformance.rs` (tests): one suite of behaviour, run against a real
//!   SQLite file and a real Postgres database.
//!
//! The backend files keep the SQL, the connections and transactions, and
//! the write path, whose shape really differs (one local writer against
//! row locks taken by several servers). SQLite's search index lives in a
//! file of its own with a writer of its own (`sqlite_search.rs`).
//!
//! # Adding a column
//!
//! 1. A migration per backend: `migrations/sqlite/` (INTEGER microseconds
//!    for times, BLOB for ids) and `migrations/postgres/` (`timestamptz`,
//!    `uuid`), same name, same meaning.
//! 2. One line of mapping: the field on the row type in `rows.rs`, named
//!    as the column. Both dialects read it through the same derive.
//! 3. The column in the statements that read it. For `messages` that is
//!    the `message_columns!` list in `rows.rs`, which every message query
//!    of both dialects is built from; for others, the `Queries` entry of
//!    each dialect. Writes name it in their `INSERT`s.
//!
//! If the column also goes on the wire, the wire type gets its field
//! (a contract change, see PROTOCOL.md) and the row's `From` names it
//! (the compiler points there: the conversions destructure every field).
//! Then add its behaviour to `conformance.rs`, which checks both backends.

pub mod batch;
mod change_dialect;
pub mod changes;
pub mod commit_notice;
#[cfg(test)]
mod conformance;
mod dialect;
pub mod postgres;
mod postgres_search;
mod preview_dialect;
mod rows;
pub mod sqlite;
mod sqlite_conn;
mod sqlite_search;
pub mod sqlite_words;
mod sqlite_writer;
mod thread_dialect;
mod upload_dialect;

pub use changes::{
    Actor, Change, ChangeKind, ChangeLimits, ChangeOutcome, ChangeRefused, ChangeResult,
};
pub use commit_notice::CommitNotice;

use crate::protocol::{
    Attachment, ChannelId, ClientId, LinkPreview, MessageId, PreviewImageId, Rev, Seq, Timestamp,
    UploadId, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::protocol::dto::{Member, MemberRead, MessageEdit};
use crate::protocol::{ChannelSummary, HistoryPage, Message, Quote, UnreadEntry};
use crate::server::search_text::SearchQuery;

/// A storage failure. Callers map it to `PERSIST_FAILED` or a 500; the cause
/// is logged, never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Beginning or committing a transaction failed; nothing in it was stored.
    #[error("transaction failed: {0}")]
    Transaction(String),
    /// The row a write depends on does not exist (e.g. a deleted channel).
    #[error("not found: {0}")]
    NotFound(String),
    /// A message's sender is not an active member of its channel (or the
    /// channel does not exist): checked inside the insert's transaction, so
    /// no message is stored after its sender's access was revoked.
    #[error("the sender is not a member of the channel")]
    NotMember,
    /// A thread reply's parent was deleted (or is no parent of this
    /// channel): checked inside the insert's transaction, so no reply is
    /// stored under a parent deleted after the rule book's check.
    #[error("the thread's parent is deleted")]
    ParentGone,
    /// One of a message's uploads is no longer free for it (taken by
    /// another message meanwhile, or removed): checked inside the insert's
    /// transaction, so no upload is ever shared by two messages.
    #[error("an attachment is no longer available")]
    AttachmentGone,
}

impl StoreError {
    /// Whether the database could not be reached or written at all (its
    /// server is down, the disk is full or read-only, no connection came
    /// free in time), as opposed to a request it refused. Such failures
    /// pass when the database is back.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
            _ => false,
        }
    }
}

/// Database error codes that mean "unavailable": SQLite's (primary code in
/// the low byte) busy, read-only, I/O error, disk full and cannot-open;
/// Postgres' connection exceptions (class 08), insufficient resources
/// (53: disk full, out of memory, too many connections) and operator
/// intervention (57P: shutting down, starting up).
fn unavailable_code(code: &str) -> bool {
    if let Ok(sqlite) = code.parse::<u32>() {
        return matches!(sqlite & 0xff, 5 | 8 | 10 | 13 | 14);
    }
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// A user row, with the password hash for login (read by column name on
/// both dialects).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    /// User id.
    pub id: UserId,
    /// Login e-mail.
    pub email: String,
    /// Shown name.
    pub display_name: String,
    /// Argon2 PHC string; `None` for users who only arrive with host tokens.
    pub password_hash: Option<String>,
}

/// How a user relates to a channel, for the 404/403 decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// No such channel.
    NoChannel,
    /// The channel exists; the user has no active access.
    NotMember,
    /// Active access; the channel's newest seq and rev at the time of the
    /// check (a connecting socket starts there, saving a query).
    Member {
        /// Newest seq of the channel (0 when empty).
        head_seq: Seq,
        /// Newest rev of the channel (0 before any change).
        head_rev: Rev,
    },
}

/// Where a history page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCursor {
    /// The newest messages.
    Latest,
    /// Messages with `seq < n`, newest first, returned oldest first.
    BeforeSeq(Seq),
    /// Messages created before a time (the seed's cursor).
    BeforeTime(DateTime<Utc>),
    /// Messages with `seq > n`, oldest first.
    AfterSeq(Seq),
    /// The page around `n`: up to half the limit before it, then `n` and
    /// what follows (`hasMoreBefore` / `hasMoreAfter`).
    AroundSeq(Seq),
}

/// Which of a channel's messages a history page walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeline {
    /// Every message, thread-only replies included: resume, catch-up and
    /// other servers' deliveries, which carry all of them.
    All,
    /// The main timeline: messages that are not thread-only replies (the
    /// history route and `load_history`).
    Main,
    /// One thread's replies (the replies route).
    Thread(MessageId),
}

/// A validated message waiting to be stored.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Id to give it if it is new.
    pub id: MessageId,
    /// Channel.
    pub channel_id: ChannelId,
    /// Sender.
    pub user_id: UserId,
    /// Idempotency key.
    pub client_id: ClientId,
    /// Trimmed text.
    pub text: String,
    /// Time to store.
    pub created_at: DateTime<Utc>,
    /// The message it quotes (a message of the same channel, checked and
    /// read by the rule book before the send is queued).
    pub reply_to: Option<Quote>,
    /// For a thread reply: its thread (the parent is checked by the rule
    /// book before the send is queued, and again in the insert's
    /// transaction, which refuses a reply to a parent deleted meanwhile).
    pub thread: Option<ReplyThread>,
    /// The members it mentions, as kept by the rule book.
    pub mentions: Vec<UserId>,
    /// Its files, read by the rule book from their uploads (the insert's
    /// transaction takes each upload, refusing one no longer free).
    pub attachments: Vec<Attachment>,
}

/// Mentions as JSON text for the `mentions` column (`None`: none).
pub fn mentions_json(mentions: &[UserId]) -> Option<String> {
    (!mentions.is_empty()).then(|| serde_json::to_string(mentions).unwrap_or_default())
}

/// The thread a reply goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyThread {
    /// The parent: a message of the same channel that is not a reply.
    pub parent_id: MessageId,
    /// Also sent to the channel (shown in its main timeline).
    pub show_in_channel: bool,
}

impl NewMessage {
    /// The message as stored with `seq` at `created_at`.
    pub fn stored(&self, seq: Seq, created_at: DateTime<Utc>) -> Message {
        let mut m = Message::unchanged(
            self.id,
            self.channel_id,
            seq,
            self.user_id,
            self.text.clone(),
            created_at.into(),
            self.client_id.clone(),
        );
        m.reply_to = self.reply_to.clone();
        if let Some(thread) = self.thread {
            m.parent_id = Some(thread.parent_id);
            m.show_in_channel = thread.show_in_channel;
        }
        m.mentions = self.mentions.clone();
        m.attachments = self.attachments.clone();
        m
    }

    /// Its attachments as JSON text for the `attachments` column (`None`:
    /// none).
    pub fn attachments_json(&self) -> Option<String> {
        (!self.attachments.is_empty())
            .then(|| serde_json::to_string(&self.attachments).unwrap_or_default())
    }

    /// Its mentions as JSON text for the `mentions` column (`None`: none).
    pub fn mentions_json(&self) -> Option<String> {
        mentions_json(&self.mentions)
    }

    /// The quoted message's id, as stored.
    pub fn reply_to_id(&self) -> Option<MessageId> {
        self.reply_to.as_ref().map(|q| q.id)
    }
}

/// What storing one message did.
#[derive(Debug, Clone)]
pub enum InsertOutcome {
    /// Stored now, with its new seq; for a thread reply, also its parent
    /// as the reply changed it (a new rev, in the same transaction).
    Stored(Message, Option<Box<Message>>),
    /// `(channel, sender, clientId)` was stored before: the original.
    Duplicate(Message),
}

/// A stored upload's row (PROTOCOL.md "Files and images"): what the
/// upload route answered, where its bytes are, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// The upload.
    pub id: UploadId,
    /// The channel it was uploaded to.
    pub channel_id: ChannelId,
    /// Who uploaded it.
    pub user_id: UserId,
    /// The cleaned file name.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256.
    pub sha256: String,
    /// The type its bytes show.
    pub mime_type: String,
    /// A picture that decoded (has a size and a thumbnail).
    pub is_image: bool,
    /// Width as shown.
    pub width: Option<u32>,
    /// Height as shown.
    pub height: Option<u32>,
    /// Where the bytes are in the file storage.
    pub storage_key: String,
    /// Where the thumbnail is.
    pub thumb_key: Option<String>,
    /// When it was uploaded.
    pub created_at: Timestamp,
    /// The message that took it.
    pub message_id: Option<MessageId>,
    /// When it was marked to go (its message or channel deleted, or no
    /// message took it in time); its bytes are deleted soon after.
    pub removed_at: Option<Timestamp>,
}

impl UploadRecord {
    /// What a message carrying it shows.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            id: self.id,
            name: self.name.clone(),
            size: self.size,
            sha256: self.sha256.clone(),
            mime_type: self.mime_type.clone(),
            kind: if self.is_image {
                crate::protocol::AttachmentKind::Image
            } else {
                crate::protocol::AttachmentKind::File
            },
            width: self.width,
            height: self.height,
            url: Attachment::url_of(self.id),
            thumb_url: self
                .thumb_key
                .as_ref()
                .map(|_| Attachment::thumb_url_of(self.id)),
        }
    }
}

/// Every read and write the chat needs, one object (callers hold an
/// `Arc<dyn Store>`): the noun traits below, implemented together by each
/// backend. Implementations must assign `seq` in the insert's transaction
/// (1, 2, 3 per channel, no gaps) and make `(channel, sender, clientId)`
/// unique forever. `conformance.rs` holds them to one behaviour.
pub trait Store:
    UserStore
    + ChannelStore
    + MessageStore
    + ChangeStore
    + SearchStore
    + ThreadStore
    + UploadStore
    + PreviewStore
    + ReadStore
    + MetaStore
    + 'static
{
}

impl<T> Store for T where
    T: UserStore
        + ChannelStore
        + MessageStore
        + ChangeStore
        + SearchStore
        + ThreadStore
        + UploadStore
        + PreviewStore
        + ReadStore
        + MetaStore
        + 'static
{
}

/// Uploads: the rows of stored files (`upload_dialect.rs`).
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Writes a new upload's row, before its bytes are stored.
    async fn add_upload(&self, upload: &UploadRecord) -> StoreResult<()>;
    /// One upload's row (removed ones too).
    async fn upload(&self, id: UploadId) -> StoreResult<Option<UploadRecord>>;
    /// Bytes `user` uploaded since `since`.
    async fn uploaded_bytes_since(&self, user: UserId, since: Timestamp) -> StoreResult<u64>;
    /// Marks uploads no message took before `created_before` to go.
    async fn remove_orphan_uploads(&self, created_before: Timestamp) -> StoreResult<()>;
    /// Up to `limit` uploads whose bytes are to go, oldest mark first.
    async fn removed_uploads(&self, limit: u32) -> StoreResult<Vec<UploadRecord>>;
    /// Drops the row of an upload whose bytes are gone (or never came).
    async fn forget_upload(&self, id: UploadId) -> StoreResult<()>;
}

/// What one fetched URL gave (PROTOCOL.md "Link previews"), cached so a
/// link posted many times is fetched once per cache period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPreview {
    /// The URL as the message wrote it.
    pub url: String,
    /// When it was fetched.
    pub fetched_at: Timestamp,
    /// What the page said; `None` when the fetch failed or was refused.
    pub preview: Option<LinkPreview>,
    /// The URL's picture id, kept across refetches (the route messages
    /// name).
    pub image_id: Option<PreviewImageId>,
    /// Where its picture is stored.
    pub image_key: Option<String>,
    /// The stored picture's type.
    pub image_mime: Option<String>,
}

/// The link preview cache (`preview_dialect.rs`).
#[async_trait]
pub trait PreviewStore: Send + Sync {
    /// A URL's cached entry.
    async fn cached_preview(&self, url: &str) -> StoreResult<Option<CachedPreview>>;
    /// Writes (or replaces) a URL's entry.
    async fn save_preview(&self, entry: &CachedPreview) -> StoreResult<()>;
    /// The URL's picture id, `candidate` when it has none yet (see
    /// `preview_dialect.rs`): every fetch of one URL, on any server, stores
    /// its picture under the id older messages name.
    async fn reserve_preview_image(
        &self,
        url: &str,
        candidate: PreviewImageId,
    ) -> StoreResult<PreviewImageId>;
    /// The entry whose picture has this id (the picture route).
    async fn preview_by_image(&self, id: PreviewImageId) -> StoreResult<Option<CachedPreview>>;
}

/// Users: login and host-app sync.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// User by e-mail (case-insensitive), for login.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    /// User by id.
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<UserRecord>>;
    /// Creates or updates a user (demo data, host-app sync).
    async fn upsert_user(&self, user: &UserRecord) -> StoreResult<()>;
}

/// Channels, who may use them, and the channel list.
#[async_trait]
pub trait ChannelStore: Send + Sync {
    /// Creates or renames a channel.
    async fn upsert_channel(&self, id: ChannelId, name: &str, color: &str) -> StoreResult<()>;
    /// Deletes a channel with its messages, access and read state; returns
    /// whether it existed.
    async fn delete_channel(&self, id: ChannelId) -> StoreResult<bool>;
    /// Grants (`active`) or revokes access.
    async fn set_access(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        active: bool,
    ) -> StoreResult<()>;
    /// Whether the channel exists and the user may use it (with its head).
    async fn membership(&self, channel_id: ChannelId, user_id: UserId) -> StoreResult<Membership>;
    /// Active members of a channel.
    async fn member_ids(&self, channel_id: ChannelId) -> StoreResult<Vec<UserId>>;
    /// Active members with names, for the UI.
    async fn members(&self, channel_id: ChannelId) -> StoreResult<Vec<Member>>;
    /// The caller's channels with previews and unread counts, in one query:
    /// channels with messages first, newest message first; then channels
    /// without messages, by name.
    async fn channels_for(&self, user_id: UserId) -> StoreResult<Vec<ChannelSummary>>;
}

/// Messages: history and the batched, idempotent insert.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// One page of every message of the channel, thread-only replies
    /// included (`limit` already clamped by the caller).
    async fn history(
        &self,
        channel_id: ChannelId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        self.timeline_page(channel_id, Timeline::All, cursor, limit)
            .await
    }
    /// One page of `timeline` (`limit` already clamped by the caller). A
    /// thread has no time cursor: `BeforeTime` reads its newest page.
    async fn timeline_page(
        &self,
        channel_id: ChannelId,
        timeline: Timeline,
        cursor: HistoryCursor,
        limit: u32,
    ) -> StoreResult<HistoryPage>;
    /// Newest seq of a channel (0 when empty).
    async fn head_seq(&self, channel_id: ChannelId) -> StoreResult<Seq>;
    /// Stores a batch in one transaction (group commit), returning one result
    /// per input in order. One bad message fails alone; a failed commit fails
    /// them all. Tries the fast path; if it fails (rolled back, nothing
    /// stored), redoes the batch the careful way.
    /// A batch holding a thread reply or a message with files goes the
    /// careful way at once: a reply also changes its parent, a message
    /// with files takes its uploads, and either may be refused alone (its
    /// parent deleted, an upload taken meanwhile).
    async fn insert_messages(&self, batch: &[NewMessage]) -> Vec<StoreResult<InsertOutcome>> {
        if batch
            .iter()
            .any(|m| m.thread.is_some() || !m.attachments.is_empty())
        {
            return self.insert_batch_carefully(batch).await;
        }
        match self.insert_batch_fast(batch).await {
            Ok(results) => results,
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "batch insert failed; retrying message by message");
                self.insert_batch_carefully(batch).await
            }
        }
    }
    /// The batch in one transaction without per-message savepoints: a
    /// duplicate key or a missing channel is an outcome, any database error
    /// fails (and rolls back) the whole batch.
    async fn insert_batch_fast(
        &self,
        batch: &[NewMessage],
    ) -> StoreResult<Vec<StoreResult<InsertOutcome>>>;
    /// The batch with one savepoint per message, so a message that fails is
    /// undone alone and the rest is stored (and, on Postgres, a key raced in
    /// by another server is found after the seq row is locked).
    async fn insert_batch_carefully(&self, batch: &[NewMessage])
        -> Vec<StoreResult<InsertOutcome>>;
}

/// Changes to stored messages and what reads them. Implementations apply a
/// batch of changes in one transaction (one savepoint each), deciding each
/// with [`changes::decide`] on facts read under the channel's write lock,
/// and give every applied change the channel's next rev (gap-free, in
/// commit order, like seq).
#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// Applies a batch in order, one result per change. A refused change
    /// writes nothing; a failed commit fails them all.
    async fn apply_changes(
        &self,
        batch: &[Change],
        limits: ChangeLimits,
    ) -> Vec<StoreResult<ChangeResult>>;
    /// One message by id, if it is a shown message of `channel_id`
    /// (tombstones included).
    async fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> StoreResult<Option<Message>>;
    /// The current state of the channel's messages changed after `rev`,
    /// by rev, at most `limit`.
    async fn changed_after(
        &self,
        channel_id: ChannelId,
        rev: Rev,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// The channel's newest rev (0 when nothing changed yet).
    async fn head_rev(&self, channel_id: ChannelId) -> StoreResult<Rev>;
    /// A message's earlier texts, oldest first.
    async fn edits(&self, message_id: MessageId) -> StoreResult<Vec<MessageEdit>>;
    /// Who reacted to a message with `emoji`, by time, at most `limit`.
    async fn reactors(
        &self,
        message_id: MessageId,
        emoji: &str,
        limit: u32,
    ) -> StoreResult<Vec<UserId>>;
    /// The channel's pinned messages, newest pin first, at most `limit`.
    async fn pins(&self, channel_id: ChannelId, limit: u32) -> StoreResult<Vec<Message>>;
    /// Every active member's read cursor ("seen by").
    async fn reads(&self, channel_id: ChannelId) -> StoreResult<Vec<MemberRead>>;
    /// Whether the channel shows read receipts.
    async fn read_receipts(&self, channel_id: ChannelId) -> StoreResult<bool>;
    /// Turns the channel's read receipts on or off.
    async fn set_read_receipts(&self, channel_id: ChannelId, on: bool) -> StoreResult<()>;
    /// One user's unread count in one channel.
    async fn unread_count(&self, user_id: UserId, channel_id: ChannelId) -> StoreResult<i64>;
}

/// Search (PROTOCOL.md "Search"). The index is derived from the messages
/// and written beside the sends, never inside them (SQLite:
/// `sqlite_search`, a file of its own; Postgres: `postgres_search`, a
/// table filled by each server's indexer); this reads it and keeps it
/// caught up.
#[async_trait]
pub trait SearchStore: Send + Sync {
    /// The shown messages that hold every word of `query`, in the channels
    /// where `user_id` is an active member (only `channel_id` when given),
    /// newest first, after the hit `after` of an earlier page, at most
    /// `limit`.
    async fn search(
        &self,
        user_id: UserId,
        channel_id: Option<ChannelId>,
        query: &SearchQuery,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// Takes into the index what it does not hold yet (the messages stored
    /// since it last caught up, older ones it never held, and on SQLite the
    /// edits and deletes since), so that work runs beside the sends instead
    /// of inside them; returns how much it did (SQLite: messages and
    /// changes; Postgres: messages and GIN pending-list pages merged), 0
    /// when nothing waited. A search first lets the index catch up when
    /// little waits, so it finds what was sent either way.
    async fn flush_search_index(&self) -> StoreResult<u64> {
        Ok(0)
    }
    /// Whether new messages wait for [`SearchStore::flush_search_index`]
    /// (either backend with search on), so the server runs it only where
    /// there is an index to keep.
    fn keeps_pending_search_entries(&self) -> bool {
        false
    }
}

/// Thread read cursors (PROTOCOL.md "Thread read state"). The cursors are
/// created by the reply's transaction (its author and the parent's take
/// part); these move and read them.
#[async_trait]
pub trait ThreadStore: Send + Sync {
    /// Moves the user's cursor of a thread to `seq` (default: its newest
    /// reply), never backwards and never past the newest reply. `None` when
    /// the user takes no part in the thread (nothing to move).
    async fn mark_thread_read(
        &self,
        user_id: UserId,
        parent_id: MessageId,
        seq: Option<Seq>,
    ) -> StoreResult<Option<ThreadRead>>;
    /// Everyone who takes part in a thread, with their cursors and unread
    /// counts.
    async fn thread_reads(&self, parent_id: MessageId) -> StoreResult<Vec<(UserId, ThreadRead)>>;
    /// The user's threads in channels where they are an active member,
    /// newest last reply first, those whose last reply is before `before`
    /// when given, at most `limit`.
    async fn threads_for(
        &self,
        user_id: UserId,
        before: Option<crate::protocol::Timestamp>,
        limit: u32,
    ) -> StoreResult<Vec<crate::protocol::ThreadSummary>>;
}

/// A user's read state of one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadRead {
    /// The thread's channel.
    pub channel_id: ChannelId,
    /// The newest reply seq read.
    pub last_read_seq: Seq,
    /// Replies after it by others, not deleted.
    pub unread_count: i64,
}

/// Read cursors and the unread counts they give.
#[async_trait]
pub trait ReadStore: Send + Sync {
    /// Moves the read cursor to `seq` (default: the channel head), never
    /// backwards and never past the head. Returns the cursor after the call.
    async fn mark_read(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        seq: Option<Seq>,
    ) -> StoreResult<Seq>;
    /// Unread counts of every channel of the user with unread > 0, one query.
    async fn unread_for(&self, user_id: UserId) -> StoreResult<Vec<UnreadEntry>>;
    /// The user's unread mentions in one channel.
    async fn unread_mentions(&self, user_id: UserId, channel_id: ChannelId) -> StoreResult<i64>;
}

/// The server's own flags and health.
#[async_trait]
pub trait MetaStore: Send + Sync {
    /// Reads a small key/value flag (e.g. "demo data seeded").
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>>;
    /// Writes a small key/value flag.
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
    /// A trivial query: whether the database answers (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;
}
