-- Search (BENCHMARKS.md "Search"): new entries of the GIN index wait in its
-- pending list, and the server merges the list into the index in the
-- background every `search_flush_ms` (100 ms; gin_clean_pending_list), on
-- a connection of its own. Before, the list was kept at 256 kB, and the
-- insert that filled it merged it inside a send, while the send held its
-- channel's lock. The limit is now only the backstop when the background
-- merge cannot keep up (or a server of an earlier release runs alone):
-- searches read the whole list, so it must not grow without bound.
ALTER INDEX messages_search SET (gin_pending_list_limit = 4096);
