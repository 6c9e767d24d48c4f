//! The SQL side of files (PROTOCOL.md "Files and images"), written once
//! for both backends like `thread_dialect.rs`: a backend gives its
//! statements as [`UploadQueries`] and gets the reads and writes as
//! default methods of [`UploadDialect`], and the step inside a send's
//! transaction from [`define_upload_steps!`].
//!
//! An upload's row is written before its bytes are stored and names the
//! key they go to, so no bytes are ever stored that no row points to; its
//! id reaches the uploader only once both are in place. A message takes
//! its uploads in its insert's transaction (each must still be free, the
//! sender's, of the channel), so two sends can never share one. What is
//! to go (a deleted message's files, a deleted channel's, uploads no
//! message took in time) is marked `removed_at`; the janitor deletes the
//! bytes, then the row.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::{StoreResult, UploadRecord};
use crate::protocol::{ChannelId, MessageId, Timestamp, UploadId, UserId};

/// One dialect's statements for uploads. Each names its parameters in the
/// order the operation binds them.
#[derive(Debug)]
pub(super) struct UploadQueries {
    /// `id, channel, user, name, size, sha256, mime, kind, width, height,
    /// storage key, thumb key, time`: a new upload, taken by no message.
    pub add: &'static str,
    /// `id` → the [`UploadRecord`] (removed ones too).
    pub get: &'static str,
    /// `user, since` → bytes the user uploaded since then.
    pub bytes_since: &'static str,
    /// `message, upload, channel, user`: the message takes the upload if it
    /// is free, the user's, of the channel and not removed (one row
    /// changed, or none).
    pub take: &'static str,
    /// `message, attachments JSON`: the message's copy of what it carries.
    pub set_attachments: &'static str,
    /// `time, message`: the message's uploads are to go (it was deleted).
    pub remove_for_message: &'static str,
    /// `time, channel`: the channel's uploads are to go (it was deleted).
    pub remove_for_channel: &'static str,
    /// `time, created before`: uploads no message took in time are to go.
    pub remove_orphans: &'static str,
    /// `limit` → [`UploadRecord`]s marked to go, oldest mark first.
    pub removed: &'static str,
    /// `id`: the row of an upload whose bytes are gone.
    pub forget: &'static str,
}

/// `removed` marks an upload whose bytes are to go.
#[derive(Debug, FromRow)]
pub(super) struct UploadRow {
    id: UploadId,
    channel_id: ChannelId,
    user_id: UserId,
    name: String,
    size: i64,
    sha256: String,
    mime_type: String,
    kind: String,
    width: Option<i64>,
    height: Option<i64>,
    storage_key: String,
    thumb_key: Option<String>,
    created_at: Timestamp,
    message_id: Option<MessageId>,
    removed_at: Option<Timestamp>,
}

impl From<UploadRow> for UploadRecord {
    fn from(r: UploadRow) -> Self {
        UploadRecord {
            id: r.id,
            channel_id: r.channel_id,
            user_id: r.user_id,
            name: r.name,
            size: u64::try_from(r.size).unwrap_or(0),
            sha256: r.sha256,
            mime_type: r.mime_type,
            is_image: r.kind == "image",
            width: r.width.and_then(|w| u32::try_from(w).ok()),
            height: r.height.and_then(|h| u32::try_from(h).ok()),
            storage_key: r.storage_key,
            thumb_key: r.thumb_key,
            created_at: r.created_at,
            message_id: r.message_id,
            removed_at: r.removed_at,
        }
    }
}

/// Defines, for one backend (`$db`, whose connection type is `$conn`), the
/// upload step that runs inside a send's transaction (a macro for the
/// reason `define_thread_steps!` is one):
/// - `take_uploads_in`: after a message's row is inserted, takes each of
///   its uploads (refusing the message when one is no longer free) and
///   stores its attachments' copy.
macro_rules! define_upload_steps {
    ($db:ty, $conn:ty) => {
        /// A message's uploads taken in its insert's transaction (see
        /// `upload_dialect.rs`); [`StoreError::AttachmentGone`] when one
        /// is not free, the sender's and of the channel any more.
        pub(super) async fn take_uploads_in(
            conn: &mut $conn,
            m: &$crate::server::store::NewMessage,
        ) -> $crate::server::store::StoreResult<()> {
            use $crate::server::store::upload_dialect::UploadDialect;
            use $crate::server::store::StoreError;
            if m.attachments.is_empty() {
                return Ok(());
            }
            let q = &<$db as UploadDialect>::UPLOADS;
            for a in &m.attachments {
                let taken = sqlx::query(q.take)
                    .bind(m.id)
                    .bind(a.id)
                    .bind(m.channel_id)
                    .bind(m.user_id)
                    .execute(&mut *conn)
                    .await?;
                if taken.rows_affected() != 1 {
                    return Err(StoreError::AttachmentGone);
                }
            }
            sqlx::query(q.set_attachments)
                .bind(m.id)
                .bind(m.attachments_json())
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
    };
}
pub(super) use define_upload_steps;

/// A database the upload statements speak (see the module doc).
pub(super) trait UploadDialect: Database
where
    for<'q> <Self as Database>::Arguments<'q>: IntoArguments<'q, Self>,
    for<'q> UserId: Encode<'q, Self> + Type<Self>,
    for<'q> ChannelId: Encode<'q, Self> + Type<Self>,
    for<'q> MessageId: Encode<'q, Self> + Type<Self>,
    for<'q> UploadId: Encode<'q, Self> + Type<Self>,
    for<'q> Timestamp: Encode<'q, Self> + Type<Self>,
    for<'q> Option<i64>: Encode<'q, Self> + Type<Self>,
    for<'q> Option<&'q str>: Encode<'q, Self> + Type<Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> i64: Encode<'q, Self> + Type<Self>,
    for<'r> UploadRow: FromRow<'r, Self::Row>,
    for<'r> (i64,): FromRow<'r, Self::Row>,
{
    /// This dialect's statements.
    const UPLOADS: UploadQueries;

    /// Writes a new upload's row (before its bytes are stored).
    async fn add_upload<'c>(
        db: impl Executor<'c, Database = Self>,
        u: &UploadRecord,
    ) -> StoreResult<()> {
        sqlx::query(Self::UPLOADS.add)
            .bind(u.id)
            .bind(u.channel_id)
            .bind(u.user_id)
            .bind(u.name.as_str())
            .bind(i64::try_from(u.size).unwrap_or(i64::MAX))
            .bind(u.sha256.as_str())
            .bind(u.mime_type.as_str())
            .bind(if u.is_image { "image" } else { "file" })
            .bind(u.width.map(i64::from))
            .bind(u.height.map(i64::from))
            .bind(u.storage_key.as_str())
            .bind(u.thumb_key.as_deref())
            .bind(u.created_at)
            .execute(db)
            .await?;
        Ok(())
    }

    /// One upload's row, removed or not.
    async fn upload<'c>(
        db: impl Executor<'c, Database = Self>,
        id: UploadId,
    ) -> StoreResult<Option<UploadRecord>> {
        let row: Option<UploadRow> = sqlx::query_as(Self::UPLOADS.get)
            .bind(id)
            .fetch_optional(db)
            .await?;
        Ok(row.map(UploadRecord::from))
    }

    /// Bytes `user` uploaded since `since` (removed uploads count too: the
    /// quota is on what was sent).
    async fn uploaded_bytes_since<'c>(
        db: impl Executor<'c, Database = Self>,
        user: UserId,
        since: Timestamp,
    ) -> StoreResult<u64> {
        let bytes: i64 = sqlx::query_scalar(Self::UPLOADS.bytes_since)
            .bind(user)
            .bind(since)
            .fetch_one(db)
            .await?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Marks the uploads no message took before `created_before` as to go.
    async fn remove_orphans<'c>(
        db: impl Executor<'c, Database = Self>,
        now: Timestamp,
        created_before: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(Self::UPLOADS.remove_orphans)
            .bind(now)
            .bind(created_before)
            .execute(db)
            .await?;
        Ok(())
    }

    /// Up to `limit` uploads whose bytes are to go.
    async fn removed_uploads<'c>(
        db: impl Executor<'c, Database = Self>,
        limit: u32,
    ) -> StoreResult<Vec<UploadRecord>> {
        let rows: Vec<UploadRow> = sqlx::query_as(Self::UPLOADS.removed)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?;
        Ok(rows.into_iter().map(UploadRecord::from).collect())
    }

    /// Drops the row of an upload whose bytes are gone.
    async fn forget_upload<'c>(
        db: impl Executor<'c, Database = Self>,
        id: UploadId,
    ) -> StoreResult<()> {
        sqlx::query(Self::UPLOADS.forget)
            .bind(id)
            .execute(db)
            .await?;
        Ok(())
    }
}
