-- Search (PROTOCOL.md "Search"): an FTS5 index of every shown message's
-- words, kept in the same transaction as the message's insert, edit and
-- delete. The words are cut by the server (src/server/search_text.rs) and
-- stored space-separated; the tokenizer below counts every letter, digit,
-- mark and symbol as part of a word, so it splits on those spaces alone and
-- never decides what a word is (Postgres gets the same words).
--
-- The index is contentless (it keeps no copy of the text) and keyed by
-- `message_search_keys.key`: an INTEGER PRIMARY KEY, so VACUUM never
-- renumbers it (the implicit rowid of `messages` has no such promise), and
-- AUTOINCREMENT, so a key is never reused. Keys rise with time: results come
-- newest first by walking the index backwards.
CREATE TABLE message_search_keys (
    key        INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB NOT NULL,
    channel_id BLOB NOT NULL
);
CREATE UNIQUE INDEX message_search_keys_message ON message_search_keys (message_id);

-- `channel` holds the message's channel id (hex) as one token, so a search
-- in one channel is an AND of two lists the index walks together, rather
-- than a walk through every channel's newer hits.
CREATE VIRTUAL TABLE message_search USING fts5(
    channel,
    words,
    content = '',
    contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* M* S* Co'"
);

-- The messages stored before this migration get their keys now, in time
-- order (so they stay older than every later message); their words are
-- indexed by the server in the background after it starts, up to this key.
INSERT INTO message_search_keys (message_id, channel_id)
    SELECT id, channel_id FROM messages
    WHERE deleted_at IS NULL
    ORDER BY created_at, rowid;
INSERT INTO meta (key, value)
    SELECT 'search_backlog_upto', CAST(COALESCE(MAX(key), 0) AS TEXT) FROM message_search_keys;
