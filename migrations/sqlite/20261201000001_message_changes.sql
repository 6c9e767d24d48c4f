-- Messages that change (PROTOCOL.md "Changes to messages"): a second counter
-- per channel, rev, bumped under the same write lock as last_seq whenever a
-- stored message changes; each message keeps the rev of its latest change.

ALTER TABLE tablos ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;
-- "Seen by": whether members see each other's read cursors.
ALTER TABLE tablos ADD COLUMN read_receipts INTEGER NOT NULL DEFAULT 1;

ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
-- The quoted message (same channel, checked when sent).
ALTER TABLE messages ADD COLUMN reply_to BLOB;
ALTER TABLE messages ADD COLUMN pinned_by BLOB;
ALTER TABLE messages ADD COLUMN pinned_at INTEGER;
-- The reactions summary the wire shows (JSON: [{emoji, count, user_ids}]),
-- kept in the reaction's transaction, so reading a message never
-- aggregates the reactions table.
ALTER TABLE messages ADD COLUMN reactions TEXT;
-- A row with deleted_at but rev 0 was deleted outside the chat (the seed's
-- host app set deleted_at; an import may): it stays out of history as
-- before. A delete through the chat bumps rev in the same transaction, so
-- its row (rev > 0) is a tombstone, shown in place.

-- Resume and catch-up by rev: the changed messages of a channel, by rev.
CREATE INDEX messages_changes ON messages (channel_id, rev) WHERE rev > 0;
-- The pins panel, newest pin first.
CREATE INDEX messages_pins ON messages (channel_id, pinned_at) WHERE pinned_at IS NOT NULL;

-- Earlier texts of edited messages: the text a message had before the edit
-- at `rev`.
CREATE TABLE message_edits (
    message_id BLOB NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    rev        INTEGER NOT NULL,
    text       TEXT NOT NULL,
    edited_at  INTEGER NOT NULL,
    PRIMARY KEY (message_id, rev)
) WITHOUT ROWID;

-- One row per (message, emoji, user); `id` orders reactions by time.
CREATE TABLE reactions (
    id         INTEGER PRIMARY KEY,
    message_id BLOB NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    user_id    BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX reactions_once ON reactions (message_id, emoji, user_id);
CREATE INDEX reactions_by_time ON reactions (message_id, emoji, id);
