-- Unread counts become arithmetic on seq (gap-free per channel): the
-- messages after the read cursor are last_seq - last_read_seq, less the
-- reader's own live ones and any deleted ones. Both are small ranges of the
-- two indexes below, so the count no longer grows with the unread backlog.
-- The old covering index over every live message is not needed any more.
DROP INDEX messages_unread;
CREATE INDEX messages_own ON messages (channel_id, user_id, seq) WHERE deleted_at IS NULL;
CREATE INDEX messages_deleted ON messages (channel_id, seq) WHERE deleted_at IS NOT NULL;
