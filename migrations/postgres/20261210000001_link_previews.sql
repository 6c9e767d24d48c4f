-- Link previews (PROTOCOL.md "Link previews"): see the SQLite migration of
-- the same name for what each column is for.
ALTER TABLE messages ADD COLUMN previews TEXT;

CREATE TABLE link_previews (
    url        TEXT PRIMARY KEY,
    fetched_at timestamptz NOT NULL,
    preview    TEXT,
    image_id   uuid,
    image_key  TEXT,
    image_mime TEXT
);
CREATE UNIQUE INDEX link_previews_by_image ON link_previews (image_id)
    WHERE image_id IS NOT NULL;
