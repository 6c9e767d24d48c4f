-- Search (PROTOCOL.md "Search"): new messages' words are taken into the
-- index by the server in the background, many messages to a transaction,
-- instead of inside each send's transaction (BENCHMARKS.md "Search").
-- `search_indexed_upto` is the last key the index has taken in; every
-- message stored so far was indexed by its send (or waits in the backlog
-- of `search_backlog_done`/`search_backlog_upto`), so it starts at the
-- last key.
INSERT OR REPLACE INTO meta (key, value)
    SELECT 'search_indexed_upto', CAST(COALESCE(MAX(search_key), 0) AS TEXT) FROM messages;
