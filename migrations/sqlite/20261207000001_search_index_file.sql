-- Search (PROTOCOL.md "Search"): the index moves to a database file of its
-- own beside this one (`<this file>-search`), written by a connection of
-- its own, so indexing no longer runs on this file's one writer
-- (src/server/store/sqlite_search.rs; BENCHMARKS.md "Search"). The server
-- builds it again there in the background after it starts, oldest first.
DROP TABLE message_search;
DELETE FROM meta WHERE key IN
    ('search_backlog_upto', 'search_backlog_done', 'search_paused', 'search_indexed_upto');

-- Edits and deletes of messages (and every message of a deleted channel),
-- by search key, in the change's transaction; the index applies them in
-- order and remembers the last `seq` it applied. AUTOINCREMENT: a `seq`
-- is never given twice, even after the applied rows are dropped.
CREATE TABLE search_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    search_key INTEGER NOT NULL
);
CREATE INDEX search_changes_key ON search_changes (search_key, seq);

-- The last search key given out, kept when the messages holding the
-- greatest keys leave with a deleted channel, so no key is given twice.
INSERT OR REPLACE INTO meta (key, value)
    SELECT 'search_last_key', CAST(COALESCE(MAX(search_key), 0) AS TEXT) FROM messages;
