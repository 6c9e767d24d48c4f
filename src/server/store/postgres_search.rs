//! Postgres' search index: the words of each message in a table of their
//! own (`message_words`, GIN-indexed), written in the background by an
//! indexer instead of by the sends (migration
//! `20261208000001_search_words_table.sql`).
//!
//! Why: with the words in the messages row, every durable send wrote the
//! `tsvector` and its GIN entry into the WAL it waits for, and cost about
//! 15 % of durable writes (BENCHMARKS.md "Search"). Now a send writes no
//! words; the indexer takes them in, many messages to a transaction, with
//! `synchronous_commit = off` (derived data: a step lost in a crash is
//! simply taken again), beside the sends.
//!
//! How it stays right without sharing the sends' transactions:
//!
//! - Each channel has a mark (`search_marks`): every message up to that
//!   seq is taken in. A channel's seqs become visible in order (a send
//!   holds the channel's row lock until it commits), so the messages after
//!   the mark are exactly what is left to take in.
//! - A step locks one channel's mark, reads the messages after it, writes
//!   their words and moves the mark, in one transaction. Several servers
//!   share the work: the background indexer skips a mark another holds
//!   (`SKIP LOCKED`); a search that must catch up waits for it.
//! - Edits and deletes write the message's row of words in their own
//!   transaction (an upsert: new words, or NULL once deleted), and the
//!   indexer never overwrites a row (`ON CONFLICT DO NOTHING`), so an
//!   indexer that read a text before it changed cannot put the old words
//!   back.
//! - A search first catches up the channels it reads when little waits
//!   there, so a message is found as soon as its send is acknowledged.

use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, Transaction};

use super::StoreResult;
use crate::protocol::{ChannelId, MessageId, Seq};
use crate::server::search_text::index_words;

/// Messages one step takes: the GIN index costs less per message the
/// more are merged at once (about 8 µs a message in steps of 5,000, 6 µs
/// in steps of 20,000, no less beyond: BENCHMARKS.md "Search"), and the
/// benchmark's peak brings about 13,000 per `search_flush_ms` of 500.
pub(super) const STEP: i64 = 20_000;

/// A search first catches its channels up when at most this many messages
/// wait there (normally those of the last `search_flush_ms`). More waits
/// only while the index is built again (after an upgrade, or with search
/// turned on after a while off); a search then finds what is indexed so
/// far.
const CATCH_UP_LIMIT: i64 = 20_000;

/// The channels whose newest messages are not all taken in:
/// `(channel, mark or NULL, newest seq)`.
const BEHIND: &str = "SELECT t.id, s.indexed_seq, t.last_seq FROM tablos t \
     LEFT JOIN search_marks s ON s.channel_id = t.id \
     WHERE t.last_seq > COALESCE(s.indexed_seq, 0)";
/// [`BEHIND`] among the channels `$1` (those a search reads).
const BEHIND_AMONG: &str = "SELECT t.id, s.indexed_seq, t.last_seq FROM tablos t \
     LEFT JOIN search_marks s ON s.channel_id = t.id \
     WHERE t.id = ANY($1) AND t.last_seq > COALESCE(s.indexed_seq, 0)";
/// A channel's first mark (none is taken in yet). From `tablos`, so a
/// channel deleted meanwhile gets none.
const ADD_MARK: &str = "INSERT INTO search_marks (channel_id, indexed_seq) \
     SELECT id, 0 FROM tablos WHERE id = $1 ON CONFLICT (channel_id) DO NOTHING";
/// The channel's mark, locked for this step; none when another step holds
/// it (the background indexer moves on to other work).
const LOCK_MARK_OR_SKIP: &str =
    "SELECT indexed_seq FROM search_marks WHERE channel_id = $1 FOR UPDATE SKIP LOCKED";
/// The channel's mark, locked for this step, after any step holding it.
const LOCK_MARK: &str = "SELECT indexed_seq FROM search_marks WHERE channel_id = $1 FOR UPDATE";
/// The messages after the mark (`channel, mark, limit`), in seq order;
/// the text of a deleted one is not needed.
const AFTER_MARK: &str = "SELECT seq, CASE WHEN deleted_at IS NULL THEN text END \
     FROM messages WHERE channel_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";
/// Their words (`channel, seqs, words`), each made a `tsvector` without
/// parsing; a row an edit or delete wrote meanwhile stays.
const ADD_WORDS: &str = "INSERT INTO message_words (channel_id, seq, words) \
     SELECT $1, w.seq, array_to_tsvector(string_to_array(w.words, ' ')) \
     FROM unnest($2::bigint[], $3::text[]) AS w(seq, words) \
     ON CONFLICT (channel_id, seq) DO NOTHING";
/// The mark moved past the step (`channel, seq`).
const MOVE_MARK: &str = "UPDATE search_marks SET indexed_seq = $2 WHERE channel_id = $1";
/// An edit's or a delete's row of words (`message, words or NULL`),
/// whether or not the indexer has reached the message.
const SET_WORDS: &str = "INSERT INTO message_words (channel_id, seq, words) \
     SELECT channel_id, seq, array_to_tsvector(string_to_array($2, ' ')) \
     FROM messages WHERE id = $1 \
     ON CONFLICT (channel_id, seq) DO UPDATE SET words = excluded.words";
/// Merges the GIN index's pending list into the index.
const MERGE_PENDING: &str = "SELECT gin_clean_pending_list('message_words_search'::regclass)";

/// A channel with messages after its mark.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
struct Behind {
    id: ChannelId,
    indexed_seq: Option<Seq>,
    last_seq: Seq,
}

impl Behind {
    /// How many messages wait.
    fn waiting(&self) -> i64 {
        self.last_seq
            .count_after(self.indexed_seq.unwrap_or(Seq::ZERO))
    }
}

/// Whether a step waits for a mark another step holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenHeld {
    /// Move on (the background indexer: the holder does the work).
    Skip,
    /// Wait, then take what is left (a search that must find it).
    Wait,
}

/// An edit's (`Some(new text)`) or a delete's (`None`) part in the index,
/// inside the change's transaction.
pub(super) async fn set_words(
    conn: &mut PgConnection,
    id: MessageId,
    text: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(SET_WORDS)
        .bind(id)
        .bind(text.map(index_words))
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes in every message waiting in every channel, skipping channels
/// another step holds, then merges the GIN pending list. Returns how much
/// it did (messages taken in plus pages merged), 0 when nothing waited.
pub(super) async fn catch_up(pool: &PgPool) -> StoreResult<u64> {
    let behind: Vec<Behind> = sqlx::query_as(BEHIND).fetch_all(pool).await?;
    let mut done = 0u64;
    for channel in behind {
        done += catch_up_channel(pool, channel, WhenHeld::Skip).await?;
    }
    let pages: i64 = sqlx::query_scalar(MERGE_PENDING).fetch_one(pool).await?;
    Ok(done + u64::try_from(pages).unwrap_or(0))
}

/// Before a search: takes in what waits in the `channels` it reads, when
/// that is little. (The caller has the list already, so the user's
/// channels are read once per search.)
pub(super) async fn catch_up_for_search(pool: &PgPool, channels: &[ChannelId]) -> StoreResult<()> {
    let behind: Vec<Behind> = sqlx::query_as(BEHIND_AMONG)
        .bind(channels)
        .fetch_all(pool)
        .await?;
    let waiting: i64 = behind.iter().map(Behind::waiting).sum();
    if waiting == 0 || waiting > CATCH_UP_LIMIT {
        return Ok(());
    }
    for channel in behind {
        catch_up_channel(pool, channel, WhenHeld::Wait).await?;
    }
    Ok(())
}

/// Steps through one channel up to the newest seq seen when it was found
/// behind; returns how many messages it took in.
async fn catch_up_channel(pool: &PgPool, channel: Behind, held: WhenHeld) -> StoreResult<u64> {
    if channel.indexed_seq.is_none() {
        sqlx::query(ADD_MARK).bind(channel.id).execute(pool).await?;
    }
    let mut done = 0u64;
    loop {
        match step(pool, channel.id, held).await? {
            Some((taken, mark)) => {
                done += taken;
                if mark >= channel.last_seq || taken == 0 {
                    return Ok(done);
                }
            }
            None => return Ok(done),
        }
    }
}

/// One step in one channel: up to [`STEP`] messages after its mark taken
/// in, and the mark moved past them, in one transaction that does not wait
/// for the disk. Returns how many it read and the new mark, or `None` when
/// the mark is held elsewhere (and `held` is [`WhenHeld::Skip`]) or gone
/// (the channel was deleted).
async fn step(
    pool: &PgPool,
    channel: ChannelId,
    held: WhenHeld,
) -> StoreResult<Option<(u64, Seq)>> {
    let mut tx: Transaction<'_, Postgres> = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    let lock = match held {
        WhenHeld::Skip => LOCK_MARK_OR_SKIP,
        WhenHeld::Wait => LOCK_MARK,
    };
    let mark: Option<Seq> = sqlx::query_scalar(lock)
        .bind(channel)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(mark) = mark else {
        return Ok(None);
    };
    let rows: Vec<(Seq, Option<String>)> = sqlx::query_as(AFTER_MARK)
        .bind(channel)
        .bind(mark)
        .bind(STEP)
        .fetch_all(&mut *tx)
        .await?;
    let Some(&(last, _)) = rows.last() else {
        return Ok(Some((0, mark)));
    };
    let mut seqs = Vec::with_capacity(rows.len());
    let mut words = Vec::with_capacity(rows.len());
    for (seq, text) in &rows {
        if let Some(text) = text {
            seqs.push(*seq);
            words.push(index_words(text));
        }
    }
    if !seqs.is_empty() {
        sqlx::query(ADD_WORDS)
            .bind(channel)
            .bind(&seqs)
            .bind(&words)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(MOVE_MARK)
        .bind(channel)
        .bind(last)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some((rows.len() as u64, last)))
}

/// Every statement of this module, by name, for the store's plan checks
/// ([`BEHIND`], the background indexer's look over every channel, reads
/// them all and is left out.)
#[cfg(test)]
pub(super) const QUERIES: [(&str, &str); 8] = [
    ("BEHIND_AMONG", BEHIND_AMONG),
    ("ADD_MARK", ADD_MARK),
    ("LOCK_MARK_OR_SKIP", LOCK_MARK_OR_SKIP),
    ("LOCK_MARK", LOCK_MARK),
    ("AFTER_MARK", AFTER_MARK),
    ("ADD_WORDS", ADD_WORDS),
    ("MOVE_MARK", MOVE_MARK),
    ("SET_WORDS", SET_WORDS),
];
