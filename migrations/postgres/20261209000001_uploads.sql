-- Files (PROTOCOL.md "Files and images"): one row per stored upload. The
-- bytes live in the file storage under `storage_key` (and `thumb_key`),
-- keys the server chose. A message takes an upload by setting
-- `message_id` in its insert's transaction; the message keeps a copy of
-- what it shows in `messages.attachments` (JSON), so reading history
-- joins nothing.
--
-- No foreign keys to the channel or the message: when either goes, the
-- row must stay until the janitor has deleted the bytes it points to
-- (`removed_at` marks it; a channel's delete marks all of its uploads).
CREATE TABLE uploads (
    id          uuid PRIMARY KEY,
    channel_id  uuid NOT NULL,
    user_id     uuid NOT NULL,
    name        TEXT NOT NULL,
    size        bigint NOT NULL,
    sha256      TEXT NOT NULL,
    mime_type   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    width       bigint,
    height      bigint,
    storage_key TEXT NOT NULL,
    thumb_key   TEXT,
    created_at  timestamptz NOT NULL,
    message_id  uuid,
    removed_at  timestamptz
);
-- A user's bytes of the last day (the daily quota).
CREATE INDEX uploads_by_user_time ON uploads (user_id, created_at);
-- Uploads no message took, oldest first (the orphan sweep).
CREATE INDEX uploads_unattached ON uploads (created_at)
    WHERE message_id IS NULL AND removed_at IS NULL;
-- A message's uploads (marked removed with the message).
CREATE INDEX uploads_by_message ON uploads (message_id) WHERE message_id IS NOT NULL;
-- What waits for its bytes to be deleted.
CREATE INDEX uploads_removed ON uploads (removed_at) WHERE removed_at IS NOT NULL;

ALTER TABLE messages ADD COLUMN attachments TEXT;
