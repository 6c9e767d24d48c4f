-- Search (PROTOCOL.md "Search"): each shown message's words as a tsvector,
-- written with the message (insert, edit; cleared on delete) and indexed by
-- GIN. The words are cut by the server (src/server/search_text.rs) and
-- turned into lexemes with array_to_tsvector, which does not parse: no text
-- search configuration decides what a word is (SQLite gets the same words).
-- NULL: not indexed yet (messages stored before this migration, which the
-- server indexes in the background after it starts) or deleted.
ALTER TABLE messages ADD COLUMN search tsvector;
-- New entries wait in a short pending list (256 kB) that the index merges
-- in sorted runs, much cheaper than writing each word into the index at
-- once (fastupdate off halved durable writes). The list is kept short
-- because every search reads all of it: at the default 4 MB, 1 ms
-- searches took 10-20 ms (BENCHMARKS.md "Search").
CREATE INDEX messages_search ON messages USING gin (search)
    WITH (fastupdate = on, gin_pending_list_limit = 256);
-- The messages still to index: every shown message at first, empty once the
-- server has worked through them (a new message is written with its
-- words). It also catches messages stored by a server of an earlier release
-- during a rolling upgrade.
CREATE INDEX messages_unsearched ON messages (id) WHERE search IS NULL AND deleted_at IS NULL;
