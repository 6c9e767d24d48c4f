-- Threads (PROTOCOL.md "Threads"): a reply is a message of the channel with
-- `parent_id` set; `thread_only` marks a reply that was not also sent to
-- the channel (it stays out of the main timeline, its previews and unread
-- counts). The parent keeps its thread summary in its own row, changed in
-- each reply's transaction: the number of live replies, the newest reply's
-- time, and the participants (JSON array of user ids, at most 10).
ALTER TABLE messages ADD COLUMN parent_id uuid;
ALTER TABLE messages ADD COLUMN thread_only boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN reply_count integer NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN last_reply_at timestamptz;
ALTER TABLE messages ADD COLUMN thread_participants text;

-- A thread's history: its replies by seq.
CREATE INDEX messages_replies ON messages (parent_id, seq) WHERE parent_id IS NOT NULL;

-- Unread arithmetic (see 20261127000001) with threads: the messages after
-- the cursor are last_seq - last_read_seq, less the reader's own counted
-- ones, less those no one counts (deleted, or thread-only). The two sets
-- are disjoint, so nothing is taken off twice.
DROP INDEX messages_own;
DROP INDEX messages_deleted;
CREATE INDEX messages_own ON messages (channel_id, user_id, seq)
    WHERE deleted_at IS NULL AND NOT thread_only;
CREATE INDEX messages_uncounted ON messages (channel_id, seq)
    WHERE deleted_at IS NOT NULL OR thread_only;

-- Thread read cursors of the members who take part in a thread (wrote its
-- parent or a reply, or were mentioned in it): the newest reply seq read.
CREATE TABLE thread_read_state (
    user_id       uuid NOT NULL,
    parent_id     uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    channel_id    uuid NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    last_read_seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, parent_id)
);
-- A channel's threads of a user (the channel list's unread_threads).
CREATE INDEX thread_read_by_channel ON thread_read_state (user_id, channel_id);
-- Everyone who takes part in a thread (live thread unread counts).
CREATE INDEX thread_read_by_parent ON thread_read_state (parent_id);
