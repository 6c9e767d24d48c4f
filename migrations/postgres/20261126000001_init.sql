-- Chat schema for PostgreSQL (production). The same tables as the SQLite
-- schema, in native types: uuid ids and timestamptz times (microseconds).

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL,
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Login looks e-mails up case-insensitively.
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- A tablo is a channel. last_seq is the newest message seq; the insert's
-- transaction bumps it under the row's lock, so seq is gap-free per channel
-- even with several servers writing.
CREATE TABLE tablos (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    color           text NOT NULL DEFAULT '#6366f1',
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seq        bigint NOT NULL DEFAULT 0,
    last_message_at timestamptz
);

CREATE TABLE tablo_access (
    tablo_id  uuid NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_active boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tablo_id, user_id)
);
-- "Which channels may this user use" (channel list, unread summary).
CREATE INDEX tablo_access_by_user ON tablo_access (user_id, tablo_id) WHERE is_active;

CREATE TABLE messages (
    id         uuid PRIMARY KEY,
    channel_id uuid NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    user_id    uuid NOT NULL REFERENCES users(id),
    client_id  text NOT NULL,
    text       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz,
    deleted_at timestamptz
);
-- History pages and resume range-scan by (channel, seq); also makes a
-- duplicate seq impossible.
CREATE UNIQUE INDEX messages_channel_seq ON messages (channel_id, seq);
-- Unread counts over live messages, index-only.
CREATE INDEX messages_unread ON messages (channel_id, seq, user_id) WHERE deleted_at IS NULL;
-- Idempotent sends: one row per (channel, sender, clientId), forever.
CREATE UNIQUE INDEX messages_idempotency ON messages (channel_id, user_id, client_id);

CREATE TABLE channel_read_state (
    user_id       uuid NOT NULL,
    channel_id    uuid NOT NULL REFERENCES tablos(id) ON DELETE CASCADE,
    last_read_seq bigint NOT NULL DEFAULT 0,
    last_read_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);

-- Small server flags (e.g. demo data seeded).
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
