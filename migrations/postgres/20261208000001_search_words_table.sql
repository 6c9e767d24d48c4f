-- Search (PROTOCOL.md "Search"; BENCHMARKS.md "Postgres: the words in a
-- table of their own"): the words leave the messages row for a table of
-- their own, filled in the background by an indexer on the server (on
-- every server: they share the work channel by channel) in transactions
-- that need no flush to disk (synchronous_commit off: the words are
-- derived data, and a step lost in a crash is taken again). A send writes
-- no words at all.
--
-- message_words: one row per message the index has taken in, keyed by
-- the message's place in its channel (which never changes, and is how a
-- hit finds its message). `words` is NULL once the message is
-- deleted. Edits and deletes write their row in their own transaction
-- (an upsert), so the indexer, which never overwrites a row, cannot put
-- back words that a change has replaced. No foreign keys: a key check
-- would lock the channel's row against the sends; a deleted channel's rows
-- go in its deletion's transaction.
CREATE TABLE message_words (
    channel_id uuid NOT NULL,
    seq        bigint NOT NULL,
    words      tsvector,
    PRIMARY KEY (channel_id, seq)
);

-- search_marks: per channel, the seq up to which every message has been
-- taken in. Seqs of a channel become visible in order (each send holds the
-- channel's row lock until it commits), so the messages after the mark are
-- exactly the indexer's work. The row is locked while a step runs, which
-- is how several servers share the work (FOR UPDATE SKIP LOCKED).
CREATE TABLE search_marks (
    channel_id  uuid PRIMARY KEY REFERENCES tablos(id) ON DELETE CASCADE,
    indexed_seq bigint NOT NULL
);

-- What the messages rows already hold moves over (a database of an earlier
-- release), and each channel's mark stops before its first message still
-- without words (stored while search was off), or at its newest message.
INSERT INTO message_words (channel_id, seq, words)
    SELECT channel_id, seq, search FROM messages
    WHERE search IS NOT NULL AND deleted_at IS NULL;
INSERT INTO search_marks (channel_id, indexed_seq)
    SELECT t.id, COALESCE(u.first_unindexed - 1, t.last_seq)
    FROM tablos t LEFT JOIN (
        SELECT channel_id, min(seq) AS first_unindexed FROM messages
        WHERE search IS NULL AND deleted_at IS NULL GROUP BY channel_id
    ) AS u ON u.channel_id = t.id;

-- New entries wait in the GIN pending list, which the server merges after
-- each indexing step (gin_clean_pending_list); the limit is the backstop.
CREATE INDEX message_words_search ON message_words USING gin (words)
    WITH (fastupdate = on, gin_pending_list_limit = 4096);

-- The planner chooses, per search, between walking a channel's words
-- backwards by seq (a common word: the newest hits come first) and reading
-- the GIN index (a rare one). It judges a word by the most common words
-- ANALYZE keeps: with the default 100 (about 1,000 words listed), a word
-- missing from the list counts as fairly common, and a word no message has
-- walked the whole 1,000,000-message channel (213 ms, BENCHMARKS.md
-- "Search"); with 1,000, such words are judged rare, in 0.1 ms.
ALTER TABLE message_words ALTER COLUMN words SET STATISTICS 1000;

DROP INDEX messages_search;
DROP INDEX messages_unsearched;
ALTER TABLE messages DROP COLUMN search;
