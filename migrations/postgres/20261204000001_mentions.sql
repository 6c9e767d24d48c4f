-- Mentions (PROTOCOL.md "Mentions"): the ids a message mentions, as its
-- sender declared them and the server kept them (active members, at most
-- 25), as a JSON array on the message; NULL when it mentions nobody.
ALTER TABLE messages ADD COLUMN mentions text;

-- Unread mention counts: one row per mention of a member in a message of
-- the main timeline, by (user, channel, seq), so "my mentions after my
-- read cursor" is one small index range. Written in the message's
-- transaction (insert, an edit that changes the mentions), removed in its
-- delete's.
CREATE TABLE message_mentions (
    user_id    uuid NOT NULL,
    channel_id uuid NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, channel_id, seq)
);
CREATE INDEX message_mentions_by_message ON message_mentions (message_id);
