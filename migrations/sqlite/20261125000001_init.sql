-- Chat schema for SQLite (the embedded default).
-- Ids are 16-byte BLOB UUIDs; times are INTEGER microseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);

-- A tablo is a channel. last_seq is the newest message seq; it is bumped in
-- the same transaction as each insert, so seq is gap-free per channel.
CREATE TABLE tablos (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    color           TEXT NOT NULL DEFAULT '#6366f1',
    created_at      INTEGER NOT NULL,
    last_seq        INTEGER NOT NULL DEFAULT 0,
    last_message_at INTEGER
);

CREATE TABLE tablo_access (
    tablo_id  BLOB NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    user_id   BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_active INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (tablo_id, user_id)
) WITHOUT ROWID;

-- "Which channels may this user use" (channel list, unread summary).
CREATE INDEX tablo_access_by_user ON tablo_access (user_id, tablo_id) WHERE is_active = 1;

CREATE TABLE messages (
    id         BLOB PRIMARY KEY NOT NULL,
    channel_id BLOB NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users(id),
    client_id  TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER,
    deleted_at INTEGER
);

-- History pages and resume range-scan by (channel, seq); the unique index is
-- also what makes a duplicate seq impossible.
CREATE UNIQUE INDEX messages_channel_seq ON messages (channel_id, seq);
-- Unread counts: a covering index over live messages, so counting never
-- touches the table.
CREATE INDEX messages_unread ON messages (channel_id, seq, user_id) WHERE deleted_at IS NULL;
-- Idempotent sends: one row per (channel, sender, clientId), forever.
CREATE UNIQUE INDEX messages_idempotency ON messages (channel_id, user_id, client_id);

CREATE TABLE channel_read_state (
    user_id       BLOB NOT NULL,
    channel_id    BLOB NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    last_read_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, channel_id)
) WITHOUT ROWID;

-- Small server flags (e.g. demo data seeded).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
