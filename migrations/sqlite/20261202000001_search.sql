-- Search (PROTOCOL.md "Search"): an FTS5 index of every shown message's
-- words, kept in the same transaction as the message's insert, edit and
-- delete. The words are cut by the server (src/server/search_text.rs) and
-- stored space-separated; the tokenizer below counts every letter, digit,
-- mark and symbol as part of a word, so it splits on those spaces alone and
-- never decides what a word is (Postgres gets the same words).
--
-- The index is contentless (it keeps no copy of the text) and keyed by
-- `messages.search_key`: a column of the message's own, so VACUUM, which
-- may renumber the implicit rowid of `messages`, never disturbs it. Keys
-- rise with every message stored (the insert takes the next one), so
-- results come newest first by walking the index backwards; the index on
-- them is appended to at its end, never written in the middle.
ALTER TABLE messages ADD COLUMN search_key INTEGER;
CREATE INDEX messages_search_key ON messages (search_key) WHERE search_key IS NOT NULL;

-- `channel` holds the message's channel id (hex) as one token, so a search
-- in one channel is an AND of two lists the index walks together, rather
-- than a walk through every channel's newer hits. detail=column: which
-- column holds a word, not where in it (no phrase search), which keeps the
-- index small and cheap to write.
CREATE VIRTUAL TABLE message_search USING fts5(
    channel,
    words,
    content = '',
    contentless_delete = 1,
    detail = column,
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* M* S* Co'"
);

-- The messages stored before this migration get their keys now, in the
-- order they were stored (so they stay older than every later message);
-- their words are indexed by the server in the background after it
-- starts, up to the last of these keys.
UPDATE messages SET search_key = rowid WHERE deleted_at IS NULL;
INSERT INTO meta (key, value)
    SELECT 'search_backlog_upto', CAST(COALESCE(MAX(search_key), 0) AS TEXT) FROM messages;
