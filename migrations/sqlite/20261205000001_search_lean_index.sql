-- Search (PROTOCOL.md "Search"), a leaner index that writes less with each
-- message (BENCHMARKS.md "Search"): durable writes with the former index
-- were 0.75-0.89 of the same server with search off, with this one about
-- 0.95.
--
-- * One column, `words`: the message's channel is a word of its own (a
--   private-use character and the channel id's hex digits, which no text
--   can make; src/server/search_text.rs `channel_word`), so a search in
--   one channel still walks two lists together.
-- * `detail = none`: which messages hold a word, not where (queries are
--   ANDs of single words).
-- * `columnsize = 0` and no `contentless_delete`: no row per message in
--   a second table. A message leaves the index by the 'delete' command
--   with the words it was indexed by, which the server cuts again from its
--   stored text (an edit knows the old text, a delete the last one).
--
-- The words are indexed again by the server in the background after it
-- starts, oldest first: until it has caught up, older messages are not
-- found.
DROP TABLE message_search;
CREATE VIRTUAL TABLE message_search USING fts5(
    words,
    content = '',
    detail = none,
    columnsize = 0,
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* M* S* Co'"
);
INSERT OR REPLACE INTO meta (key, value)
    SELECT 'search_backlog_upto', CAST(COALESCE(MAX(search_key), 0) AS TEXT) FROM messages;
INSERT OR REPLACE INTO meta (key, value) VALUES ('search_backlog_done', '0');
