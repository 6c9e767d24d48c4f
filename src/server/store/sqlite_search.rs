//! SQLite's search index, kept in a database file of its own beside the
//! chat's (`<chat file>-search`) and written by a connection of its own.
//!
//! Why a second file: SQLite has one writer per file, and the chat's writer
//! is what bounds durable sends. Indexing inside the send transactions (or
//! beside them on the same file) put the FTS5 work on that one thread and
//! cost 10-17 % of durable writes (BENCHMARKS.md "Search"). Here the index
//! has its own writer, on its own thread, so the work runs beside the sends
//! on another core.
//!
//! How it stays right without sharing a transaction with the chat:
//!
//! - Every message has a `search_key` (given in order, never reused); the
//!   index's row for a message is its key. The index file remembers the
//!   last key it took in (`indexed_upto`), so each step takes the messages
//!   after it, by their text at that moment.
//! - An edit or a delete appends the message's key to `search_changes` in
//!   the chat file, in the change's own transaction; a deleted channel
//!   appends all its keys. The index file remembers the last change it
//!   applied (`changes_upto`): each step takes the message's row out and
//!   puts its current text back in when it is still shown.
//! - A step reads the chat file in one snapshot and writes its entries and
//!   both marks in one transaction of the index file, so a crash loses
//!   nothing the next step would not redo. The index is derived data: with
//!   its file gone, or of another format, it is built again from the
//!   messages.
//! - A search joins the index's hits to the messages by key and skips any
//!   message with a change not yet applied, so a hit is never stale; and
//!   it lets the index catch up first when little waits, so a message is
//!   found as soon as its send is acknowledged.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqliteSynchronous,
};

use super::sqlite_conn::{discard, encode, is_busy, one_writer};
use super::sqlite_words;
use super::StoreResult;

/// The index file's format; another format found in the file is dropped
/// and built again.
const FORMAT: i64 = 1;

/// Messages (and changes) one step takes: many, as FTS5 writes a segment
/// per transaction and merges them (steps of 10,000 against 2,000 cut the
/// index's cost to durable writes from about −10 % to about 0 %,
/// BENCHMARKS.md "Search"), yet a bounded transaction.
pub(super) const STEP: u32 = 10_000;

/// A search first lets the index catch up when at most this many messages
/// and changes wait (normally those of the last `search_flush_ms`, a few
/// at a team's pace, about 10,000 at the benchmark's peak). More
/// waits only while the index is built again (after an upgrade, or with
/// its file removed); a search then finds what is indexed so far.
const CATCH_UP_LIMIT: i64 = 20_000;

/// How many times a step is begun again after losing the index file's
/// write lock to another connection.
const BUSY_RETRIES: u32 = 10;
/// The pause before the first new attempt, growing by as much each time
/// (all [`BUSY_RETRIES`] wait 0.55 s in all).
const BUSY_PAUSE: Duration = Duration::from_millis(10);

/// The index file's schema: its marks, and the contentless FTS5 table:
/// one `words` column given the message's channel as a word of its own
/// and then its text ([`INDEXED_TEXT`]), cut by the chat's own tokenizer
/// (`sqlite_words.rs`); `detail=none`, as queries are ANDs of single
/// words; `contentless_delete=1` takes a row out by its key alone, since
/// the text it was indexed by may be gone.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS index_marks (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5(\
       words, content = '', contentless_delete = 1, detail = none, tokenize = 'chat_words')",
];

/// What the index is given for a message row of the chat file: its
/// channel's word (`search_text::channel_word`: a private-use mark and the
/// id's hex digits), a space, its text.
macro_rules! indexed_text {
    () => {
        "char(57344) || lower(hex(channel_id)) || ' ' || text"
    };
}

/// The mark statement (`key, value`).
const SET_MARK: &str = "INSERT INTO index_marks (key, value) VALUES (?1, ?2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";
/// A mark (`key`), absent as 0.
const GET_MARK: &str = "SELECT COALESCE((SELECT value FROM index_marks WHERE key = ?1), 0)";

/// The messages after the last indexed key (`?1`), the next `?2` in key
/// order: how many, and the last one's key (`?1` when none).
pub(super) const TAIL: &str = "SELECT COUNT(*), COALESCE(MAX(search_key), ?1) FROM \
     (SELECT search_key FROM chat.messages WHERE search_key > ?1 \
      ORDER BY search_key LIMIT ?2)";
/// The shown messages with keys after `?1` up to `?2` into the index.
pub(super) const ADD_TAIL: &str = concat!(
    "INSERT INTO message_search (rowid, words) SELECT search_key, ",
    indexed_text!(),
    " FROM chat.messages WHERE search_key > ?1 AND search_key <= ?2 \
       AND deleted_at IS NULL AND text IS NOT NULL"
);
/// The changes after the last applied one (`?1`), the next `?2` in order:
/// seq and the changed key.
pub(super) const CHANGED: &str = "SELECT seq, search_key FROM chat.search_changes \
     WHERE seq > ?1 ORDER BY seq LIMIT ?2";
/// The messages of these keys (`[key, ...]`) that are still shown into the
/// index, by their current text.
pub(super) const ADD_AGAIN: &str = concat!(
    "INSERT INTO message_search (rowid, words) SELECT search_key, ",
    indexed_text!(),
    " FROM chat.messages WHERE search_key IN (SELECT value FROM json_each(?1)) \
       AND search_key IS NOT NULL AND deleted_at IS NULL AND text IS NOT NULL"
);
/// Entries out by key (`[key, ...]`).
const REMOVE: &str = "DELETE FROM message_search WHERE rowid IN (SELECT value FROM json_each(?1))";

/// On a read connection (the index attached as `search`): how many
/// messages and changes wait for the index.
const WAITING: &str = "SELECT \
     MAX(0, COALESCE((SELECT search_key FROM messages WHERE search_key IS NOT NULL \
       ORDER BY search_key DESC LIMIT 1), 0) \
       - COALESCE((SELECT value FROM search.index_marks WHERE key = 'indexed_upto'), 0)) \
     + MAX(0, COALESCE((SELECT MAX(seq) FROM search_changes), 0) \
       - COALESCE((SELECT value FROM search.index_marks WHERE key = 'changes_upto'), 0))";

/// The index file of a chat database file.
pub(super) fn index_path(chat: &Path) -> PathBuf {
    let mut name = chat.as_os_str().to_owned();
    name.push("-search");
    name.into()
}

/// The statement a read connection runs to see the index (as `search`).
pub(super) const ATTACH_FOR_READING: &str = "ATTACH DATABASE ?1 AS search";

/// The index file and its one writer connection (which sees the chat file
/// as `chat`).
#[derive(Debug)]
pub(super) struct SearchIndexFile {
    /// The writer: one connection, so steps never overlap.
    write: SqlitePool,
    /// The file, for the read connections to attach.
    path: PathBuf,
    /// The last change applied (published after its step commits), so the
    /// chat's writer can drop the rows of applied changes.
    changes_done: AtomicI64,
}

impl SearchIndexFile {
    /// Opens (creating if missing) the index file beside the chat file
    /// `chat`, which must exist and be migrated. A file of another format
    /// is emptied, to be built again by the steps.
    pub(super) async fn open(chat: &Path) -> StoreResult<Self> {
        let path = index_path(chat);
        // Derived data: a step lost to a power cut is redone from the
        // chat file, so commits need not wait for the disk.
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let chat_file = chat.to_string_lossy().into_owned();
        let write = one_writer()
            .after_connect(move |conn, _| {
                let chat_file = chat_file.clone();
                Box::pin(async move {
                    sqlite_words::register(conn).await?;
                    sqlx::query("ATTACH DATABASE ?1 AS chat")
                        .bind(chat_file)
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&write).await?;
        }
        let format: i64 = sqlx::query_scalar(GET_MARK)
            .bind("format")
            .fetch_one(&write)
            .await?;
        if format != FORMAT {
            if format != 0 {
                tracing::info!(
                    found = format,
                    "search index of another format: building it again"
                );
            }
            Self::empty(&write).await?;
        }
        Ok(SearchIndexFile {
            write,
            path,
            changes_done: AtomicI64::new(0),
        })
    }

    /// Empties the index and its marks (the steps then index every message
    /// again, oldest first).
    async fn empty(write: &SqlitePool) -> StoreResult<()> {
        let mut tx = write.begin().await?;
        sqlx::query("INSERT INTO message_search (message_search) VALUES ('delete-all')")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM index_marks")
            .execute(&mut *tx)
            .await?;
        sqlx::query(SET_MARK)
            .bind("format")
            .bind(FORMAT)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets everything indexed, as if the file were new (tests).
    #[cfg(test)]
    pub(super) async fn forget(&self) -> StoreResult<()> {
        Self::empty(&self.write).await
    }

    /// The writer's pool (tests look into the file through it).
    #[cfg(test)]
    pub(super) fn write_pool(&self) -> SqlitePool {
        self.write.clone()
    }

    /// The file, for [`ATTACH_FOR_READING`].
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The last change applied so far (0 before the first step).
    pub(super) fn changes_done(&self) -> i64 {
        self.changes_done.load(Ordering::Acquire)
    }

    /// Steps until nothing waits; returns how many messages and changes it
    /// took.
    pub(super) async fn catch_up(&self) -> StoreResult<u64> {
        let mut total = 0u64;
        loop {
            let n = self.step(STEP).await?;
            total += n as u64;
            // Below a step's worth, neither list was full: nothing is left.
            if n < STEP as usize {
                return Ok(total);
            }
        }
    }

    /// Catches up before a search (`read`: a read connection pool with the
    /// index attached) when little waits; see [`CATCH_UP_LIMIT`].
    pub(super) async fn catch_up_for_search(&self, read: &SqlitePool) -> StoreResult<()> {
        let waiting: i64 = sqlx::query_scalar(WAITING).fetch_one(read).await?;
        if waiting > 0 && waiting <= CATCH_UP_LIMIT {
            self.catch_up().await?;
        }
        Ok(())
    }

    /// One step: up to `limit` new messages in, up to `limit` changes
    /// applied, in one transaction of the index file that reads the chat
    /// file in one snapshot. Returns how many messages and changes it took.
    ///
    /// Begun again when another connection wrote the index file between
    /// this one's first read and its first write (two servers on one
    /// file: the transaction is deferred, see [`SearchIndexFile::try_step`],
    /// so it cannot wait for the lock), at most [`BUSY_RETRIES`] times.
    pub(super) async fn step(&self, limit: u32) -> StoreResult<usize> {
        let mut attempt = 0;
        loop {
            match self.try_step(limit).await {
                Err(e) if is_busy(&e) && attempt < BUSY_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(BUSY_PAUSE * attempt).await;
                }
                done => return done,
            }
        }
    }

    /// One attempt at [`SearchIndexFile::step`].
    async fn try_step(&self, limit: u32) -> StoreResult<usize> {
        let mut conn = self.write.acquire().await?;
        // Deferred: `BEGIN IMMEDIATE` would take the write lock of every
        // attached file, the chat's included.
        if let Err(e) = sqlx::query("BEGIN").execute(&mut *conn).await {
            discard(conn).await;
            return Err(e.into());
        }
        let (taken, changes_upto) = match Self::step_in(&mut conn, limit).await {
            Ok(done) => done,
            Err(e) => {
                discard(conn).await;
                return Err(e);
            }
        };
        if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
            discard(conn).await;
            return Err(e.into());
        }
        self.changes_done.fetch_max(changes_upto, Ordering::AcqRel);
        Ok(taken)
    }

    /// The statements of [`SearchIndexFile::step`]; returns what it took
    /// and the last change applied. The texts go from the chat file into
    /// the index inside SQLite; only the changed keys come out.
    async fn step_in(conn: &mut SqliteConnection, limit: u32) -> StoreResult<(usize, i64)> {
        let mark = |key: &'static str| sqlx::query_scalar::<_, i64>(GET_MARK).bind(key);
        let indexed_upto = mark("indexed_upto").fetch_one(&mut *conn).await?;
        let changes_upto = mark("changes_upto").fetch_one(&mut *conn).await?;
        let (new, reached): (i64, i64) = sqlx::query_as(TAIL)
            .bind(indexed_upto)
            .bind(i64::from(limit))
            .fetch_one(&mut *conn)
            .await?;
        let changed: Vec<(i64, i64)> = sqlx::query_as(CHANGED)
            .bind(changes_upto)
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
        if new == 0 && changed.is_empty() {
            return Ok((0, changes_upto));
        }
        // A changed message past the last indexed key is not in the index
        // yet: the tail takes it (now or later) by its text then.
        let mut again: Vec<i64> = changed
            .iter()
            .map(|&(_, key)| key)
            .filter(|&key| key <= indexed_upto)
            .collect();
        again.sort_unstable();
        again.dedup();
        if !again.is_empty() {
            let keys = encode(&again)?;
            sqlx::query(REMOVE).bind(&keys).execute(&mut *conn).await?;
            sqlx::query(ADD_AGAIN)
                .bind(&keys)
                .execute(&mut *conn)
                .await?;
        }
        if new > 0 {
            sqlx::query(ADD_TAIL)
                .bind(indexed_upto)
                .bind(reached)
                .execute(&mut *conn)
                .await?;
        }
        let new_changes = changed.last().map_or(changes_upto, |row| row.0);
        for (key, value) in [("indexed_upto", reached), ("changes_upto", new_changes)] {
            sqlx::query(SET_MARK)
                .bind(key)
                .bind(value)
                .execute(&mut *conn)
                .await?;
        }
        let taken = usize::try_from(new).unwrap_or(0) + changed.len();
        Ok((taken, new_changes))
    }
}
