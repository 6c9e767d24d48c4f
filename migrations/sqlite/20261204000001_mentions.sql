-- Mentions (PROTOCOL.md "Mentions"): the ids a message mentions, as its
-- sender declared them and the server kept them (active members, at most
-- 25), as a JSON array on the message; NULL when it mentions nobody.
ALTER TABLE messages ADD COLUMN mentions TEXT;

-- Unread mention counts: one row per mention of a member in a message of
-- the main timeline, by (user, channel, seq), so "my mentions after my
-- read cursor" is one small index range. Written in the message's
-- transaction (insert, an edit that changes the mentions), removed in its
-- delete's.
CREATE TABLE message_mentions (
    user_id    BLOB NOT NULL,
    channel_id BLOB NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    message_id BLOB NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, channel_id, seq)
) WITHOUT ROWID;
CREATE INDEX message_mentions_by_message ON message_mentions (message_id);
