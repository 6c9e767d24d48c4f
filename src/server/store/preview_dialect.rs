//! The SQL side of link previews (PROTOCOL.md "Link previews"), written
//! once for both backends like `upload_dialect.rs`: the cache of what each
//! fetched URL gave ([`CachedPreview`]), and where a preview's picture is
//! stored. A message's own copy of its previews is written by a change
//! (`ChangeKind::SetPreviews`), not here.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::{CachedPreview, StoreResult};
use crate::protocol::{PreviewImageId, Timestamp};

/// One dialect's statements for the preview cache.
#[derive(Debug)]
pub(super) struct PreviewQueries {
    /// `url` → [`PreviewRow`].
    pub get: &'static str,
    /// `url, fetched at, preview JSON or null, image id, image key, image
    /// type`: inserts or replaces the URL's entry.
    pub put: &'static str,
    /// `image id` → [`PreviewRow`].
    pub by_image: &'static str,
    /// `url, time, image id` → the URL's picture id: the given one when the
    /// URL has none yet (a new row, or one that never had an id), else the
    /// one it has.
    pub reserve_image: &'static str,
}

/// A row of `link_previews`.
#[derive(Debug, FromRow)]
pub(super) struct PreviewRow {
    url: String,
    fetched_at: Timestamp,
    preview: Option<String>,
    image_id: Option<PreviewImageId>,
    image_key: Option<String>,
    image_mime: Option<String>,
}

impl From<PreviewRow> for CachedPreview {
    fn from(r: PreviewRow) -> Self {
        let preview = r.preview.and_then(|json| {
            serde_json::from_str(&json)
                .map_err(|e| tracing::error!(error = %e, "a cached link preview does not decode"))
                .ok()
        });
        CachedPreview {
            url: r.url,
            fetched_at: r.fetched_at,
            preview,
            image_id: r.image_id,
            image_key: r.image_key,
            image_mime: r.image_mime,
        }
    }
}

/// A database the preview cache speaks (see the module doc).
pub(super) trait PreviewDialect: Database
where
    for<'q> <Self as Database>::Arguments<'q>: IntoArguments<'q, Self>,
    for<'q> Timestamp: Encode<'q, Self> + Type<Self>,
    for<'q> PreviewImageId: Encode<'q, Self> + Type<Self>,
    for<'q> Option<PreviewImageId>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<&'q str>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<String>: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'r> PreviewRow: FromRow<'r, Self::Row>,
    for<'r> (PreviewImageId,): FromRow<'r, Self::Row>,
{
    /// This dialect's statements.
    const PREVIEWS: PreviewQueries;

    /// The cached entry of a URL.
    async fn cached_preview<'c>(
        db: impl Executor<'c, Database = Self>,
        url: &str,
    ) -> StoreResult<Option<CachedPreview>> {
        let row: Option<PreviewRow> = sqlx::query_as(Self::PREVIEWS.get)
            .bind(url)
            .fetch_optional(db)
            .await?;
        Ok(row.map(CachedPreview::from))
    }

    /// Inserts or replaces a URL's entry.
    async fn save_preview<'c>(
        db: impl Executor<'c, Database = Self>,
        entry: &CachedPreview,
    ) -> StoreResult<()> {
        let json = entry
            .preview
            .as_ref()
            .and_then(|p| serde_json::to_string(p).ok());
        sqlx::query(Self::PREVIEWS.put)
            .bind(entry.url.as_str())
            .bind(entry.fetched_at)
            .bind(json)
            .bind(entry.image_id)
            .bind(entry.image_key.as_deref())
            .bind(entry.image_mime.as_deref())
            .execute(db)
            .await?;
        Ok(())
    }

    /// The picture id of a URL, given `candidate` when it has none, so
    /// that every fetch of a URL, on any server, stores its picture under
    /// the one id older messages name.
    async fn reserve_preview_image<'c>(
        db: impl Executor<'c, Database = Self>,
        url: &str,
        at: Timestamp,
        candidate: PreviewImageId,
    ) -> StoreResult<PreviewImageId> {
        Ok(sqlx::query_scalar(Self::PREVIEWS.reserve_image)
            .bind(url)
            .bind(at)
            .bind(candidate)
            .fetch_one(db)
            .await?)
    }

    /// The entry whose picture has this id.
    async fn preview_by_image<'c>(
        db: impl Executor<'c, Database = Self>,
        id: PreviewImageId,
    ) -> StoreResult<Option<CachedPreview>> {
        let row: Option<PreviewRow> = sqlx::query_as(Self::PREVIEWS.by_image)
            .bind(id)
            .fetch_optional(db)
            .await?;
        Ok(row.map(CachedPreview::from))
    }
}
