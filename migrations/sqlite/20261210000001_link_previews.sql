-- Link previews (PROTOCOL.md "Link previews"). A message keeps what the
-- pages it links to said in `messages.previews` (JSON), added by a change
-- after it is stored, so reading history joins nothing.
--
-- `link_previews` caches each fetched URL (failures too, with `preview`
-- NULL) so a link posted many times is fetched once per cache period. A
-- URL's picture keeps one id (`image_id`) and storage key for good: a
-- refetch writes the new picture under the same key, so older messages'
-- previews never point at a removed picture.
ALTER TABLE messages ADD COLUMN previews TEXT;

CREATE TABLE link_previews (
    url        TEXT PRIMARY KEY,
    fetched_at INTEGER NOT NULL,
    preview    TEXT,
    image_id   BLOB,
    image_key  TEXT,
    image_mime TEXT
);
CREATE UNIQUE INDEX link_previews_by_image ON link_previews (image_id)
    WHERE image_id IS NOT NULL;
