//! Files (PROTOCOL.md "Files and images"): the rules of an upload and of a
//! download, for the upload route and the download routes alike.
//!
//! An upload streams to a spool file on local disk (hashed, counted and
//! cut off at the size limit as it arrives, never whole in memory), is
//! typed by its first bytes, measured and thumbnailed if it is a picture
//! (in a blocking task, with decode limits), then moved into the file
//! storage. Its row is written before its bytes go to storage, so storage
//! never holds bytes no row points to; the uploader learns the id only
//! when both are in place, so no message can name an upload whose bytes
//! are missing.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use futures_util::Stream;
use uuid::Uuid;

use super::{internal, Chat};
use crate::protocol::{AppError, ChannelId, Timestamp, Upload, UploadId, UserId};
use crate::server::files::images::{self, ImageLimits, ImageRefusal};
use crate::server::files::sniff::{self, AllowedTypes, FileKind};
use crate::server::files::spool::{self, SpoolError};
use crate::server::files::storage::{FileStorage, ObjectInfo};
use crate::server::store::UploadRecord;

/// Where files go and what they may be: built once at start-up from the
/// settings, shared by the routes through [`Chat`].
#[derive(Debug)]
pub struct Files {
    /// The storage of the bytes (local disk or object storage).
    pub storage: FileStorage,
    /// Where uploads are spooled while they arrive (always local disk).
    pub spool_dir: PathBuf,
    /// The types an upload may be.
    pub allowed: AllowedTypes,
    /// Pictures decoded at once at most (one per core): a picture at the
    /// pixel limit takes about 160 MB while it decodes, so many uploads
    /// at once wait here rather than add up.
    pub decoding: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Files {
    /// Files in `storage`, spooled in `spool_dir`, of the `allowed` types.
    pub fn new(storage: FileStorage, spool_dir: PathBuf, allowed: AllowedTypes) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Files {
            storage,
            spool_dir,
            allowed,
            decoding: std::sync::Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }
}

/// The longest file name kept, in bytes (a common file system limit).
const MAX_NAME_BYTES: usize = 255;

/// An upload's file name as people see it: the last segment of whatever
/// path the browser sent (`C:\\x\\a.png` and `../a.png` are `a.png`),
/// without control characters, at most [`MAX_NAME_BYTES`] bytes (cut at a
/// character boundary, keeping the extension where it can), `file` when
/// nothing is left. It is only shown and offered when saving; the storage
/// key never comes from it.
pub fn clean_file_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').trim().to_string();
    if cleaned.is_empty() {
        return "file".into();
    }
    if cleaned.len() <= MAX_NAME_BYTES {
        return cleaned;
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, Some(ext)),
        _ => (cleaned.as_str(), None),
    };
    let room = MAX_NAME_BYTES - ext.map_or(0, |e| e.len() + 1);
    let mut cut = room.min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    match ext {
        Some(ext) => format!("{}.{ext}", &stem[..cut]),
        None => stem[..cut].to_string(),
    }
}

/// The storage key of an upload's bytes (the server's own, never the
/// client's name).
fn file_key(channel: ChannelId, id: UploadId) -> String {
    format!("files/{channel}/{id}")
}

/// The storage key of an image upload's thumbnail, which names its type
/// (`-jpeg`, or `-png` for a picture with transparency).
fn thumb_key(channel: ChannelId, id: UploadId, mime: &str) -> String {
    let kind = if mime == "image/png" { "png" } else { "jpeg" };
    format!("thumbs/{channel}/{id}-{kind}")
}

/// The type of a thumbnail, from its key (see [`thumb_key`]).
fn thumb_type(key: &str) -> &'static str {
    if key.ends_with("-png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// What a download serves.
#[derive(Debug, Clone)]
pub struct Download {
    /// The upload.
    pub upload: UploadRecord,
    /// The storage key of the bytes to serve (the file or its thumbnail).
    pub key: String,
    /// The type to serve them as.
    pub content_type: String,
    /// Shown in the page (a picture) rather than saved.
    pub inline: bool,
    /// The entity tag: the file's SHA-256 (and `-thumb` for a thumbnail).
    pub etag: String,
}

impl Chat {
    /// `POST /chat/channels/{id}/uploads`: stores one file for `user` in
    /// `channel` from its body `chunks`, named `file_name` by the browser.
    ///
    /// # Errors
    /// 403/404 for the channel; `FileTooLarge` past the size limit;
    /// `RateLimited` past the daily bytes; `UnsupportedFileType`;
    /// `ImageTooLarge` for a picture past the pixel limit. Nothing is kept
    /// after any of them.
    pub async fn upload<S, E>(
        &self,
        user: UserId,
        channel: ChannelId,
        file_name: Option<&str>,
        chunks: S,
    ) -> Result<Upload, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::error::Error + Send + Sync + 'static,
    {
        self.require_member(channel, user).await?;
        let day_ago = Timestamp::from(Utc::now() - chrono::Duration::hours(24));
        let used = self
            .store
            .uploaded_bytes_since(user, day_ago)
            .await
            .map_err(|e| internal("reading the daily upload bytes failed", e))?;
        let daily_left = self.limits.upload_daily_bytes.saturating_sub(used);
        if daily_left == 0 {
            return Err(daily_limit());
        }
        let max_bytes = self.limits.upload_max_bytes.min(daily_left);
        let spooled = match spool::spool(chunks, &self.files.spool_dir, max_bytes).await {
            Ok(spooled) => spooled,
            Err(SpoolError::TooLarge { .. }) if max_bytes < self.limits.upload_max_bytes => {
                return Err(daily_limit())
            }
            Err(SpoolError::TooLarge { .. }) => {
                return Err(AppError::FileTooLarge(format!(
                    "a file may have at most {} bytes",
                    self.limits.upload_max_bytes
                )))
            }
            Err(SpoolError::Body(e)) => {
                return Err(AppError::BadRequest(format!(
                    "the upload did not arrive whole: {e}"
                )))
            }
            Err(e) => {
                tracing::error!(error = %e, "spooling an upload failed");
                return Err(AppError::internal());
            }
        };
        let sniffed = sniff::sniff(&spooled.head, spooled.looks_like_text);
        let sniffed = match sniffed {
            Some(s) if self.files.allowed.allows(s.mime) => s,
            other => {
                return Err(AppError::UnsupportedFileType(match other {
                    Some(s) => format!("files of type {} are not allowed here", s.mime),
                    None => "the file's type is not one this chat accepts".into(),
                }))
            }
        };
        let id = UploadId::from(Uuid::now_v7());
        let (mut is_image, mut width, mut height, mut thumb) = (false, None, None, None);
        if sniffed.kind == FileKind::Image {
            let path = spooled.path.clone();
            let limits = ImageLimits {
                max_pixels: self.limits.image_max_pixels,
                thumb_max_px: self.limits.thumb_max_px,
            };
            // Held by the blocking task itself, so a request that goes away
            // does not free its place while the picture still decodes.
            let permit = self
                .files
                .decoding
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| AppError::internal())?;
            let inspected = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                images::inspect(&path, limits)
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the image task failed");
                AppError::internal()
            })?;
            match inspected {
                Ok(info) => {
                    is_image = true;
                    width = Some(info.width);
                    height = Some(info.height);
                    thumb = Some(info.thumb);
                }
                Err(ImageRefusal::TooLarge {
                    width,
                    height,
                    max_pixels,
                }) => {
                    return Err(AppError::ImageTooLarge(format!(
                    "the image is {width}×{height} pixels; at most {max_pixels} pixels are allowed"
                )))
                }
                // Stored as a plain file, without a thumbnail.
                Err(ImageRefusal::Undecodable(why)) => {
                    tracing::info!(%why, "an uploaded picture does not decode; kept as a file");
                }
            }
        }
        let record = UploadRecord {
            id,
            channel_id: channel,
            user_id: user,
            name: clean_file_name(file_name),
            size: spooled.size,
            sha256: spooled.sha256.clone(),
            mime_type: sniffed.mime.to_string(),
            is_image,
            width,
            height,
            storage_key: file_key(channel, id),
            thumb_key: thumb.as_ref().map(|t| thumb_key(channel, id, t.mime)),
            created_at: Timestamp::from(Utc::now()),
            message_id: None,
            removed_at: None,
        };
        // The row first: storage never holds bytes no row points to.
        self.store
            .add_upload(&record)
            .await
            .map_err(|e| internal("storing an upload's row failed", e))?;
        let stored = async {
            let info = ObjectInfo {
                content_type: record.mime_type.clone(),
                content_disposition: disposition(&record, !is_image),
            };
            self.files
                .storage
                .put_file(&record.storage_key, &spooled.path, &info)
                .await?;
            if let (Some(thumb), Some(key)) = (thumb, &record.thumb_key) {
                let info = ObjectInfo {
                    content_type: thumb.mime.to_string(),
                    content_disposition: "inline".into(),
                };
                self.files
                    .storage
                    .put_bytes(key, Bytes::from(thumb.bytes), &info)
                    .await?;
            }
            Ok::<_, crate::server::files::storage::StorageError>(())
        }
        .await;
        drop(spooled);
        if let Err(e) = stored {
            tracing::error!(error = %e, upload = %id, "storing an upload's bytes failed");
            self.forget_upload_bytes(&record).await;
            return Err(AppError::Unavailable(
                "the file could not be stored; try again".into(),
            ));
        }
        Ok(Upload {
            file: record.attachment(),
            channel_id: record.channel_id,
            created_at: record.created_at,
        })
    }

    /// `GET /chat/files/{id}` (`thumb`: `/thumb`): what to serve `user`,
    /// after checking, on every request, that they may read it now.
    ///
    /// # Errors
    /// 404 for an unknown upload, one removed, one whose message was
    /// deleted, one not yet taken by a message unless `user` uploaded it,
    /// and a thumbnail of a file that has none; 403 when `user` is not (or
    /// no longer) a member of its channel.
    pub async fn download(
        &self,
        user: UserId,
        id: UploadId,
        thumb: bool,
    ) -> Result<Download, AppError> {
        let not_found = || AppError::NotFound("no such file".into());
        let upload = self
            .store
            .upload(id)
            .await
            .map_err(|e| internal("reading an upload failed", e))?
            .filter(|u| u.removed_at.is_none())
            .ok_or_else(not_found)?;
        self.require_member(upload.channel_id, user).await?;
        match upload.message_id {
            None if upload.user_id != user => return Err(not_found()),
            None => {}
            Some(message) => {
                let live = self
                    .store
                    .message(upload.channel_id, message)
                    .await
                    .map_err(|e| internal("reading an upload's message failed", e))?
                    .is_some_and(|m| !m.deleted);
                if !live {
                    return Err(not_found());
                }
            }
        }
        if thumb {
            let key = upload.thumb_key.clone().ok_or_else(not_found)?;
            return Ok(Download {
                content_type: thumb_type(&key).into(),
                key,
                inline: true,
                etag: format!("{}-thumb", upload.sha256),
                upload,
            });
        }
        let inline = upload.is_image && sniff::served_inline(&upload.mime_type);
        let content_type = if upload.mime_type == "text/plain" {
            "text/plain; charset=utf-8".to_string()
        } else {
            upload.mime_type.clone()
        };
        Ok(Download {
            key: upload.storage_key.clone(),
            content_type,
            inline,
            etag: upload.sha256.clone(),
            upload,
        })
    }

    /// Removes an upload the route stored but will not answer with (a
    /// second file part came after it): its bytes, then its row.
    pub async fn discard_upload(&self, upload: Upload) {
        match self.store.upload(upload.file.id).await {
            Ok(Some(record)) => {
                self.forget_upload_bytes(&record).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "discarding an upload failed; the orphan sweep removes it")
            }
        }
    }

    /// Deletes the bytes of uploads marked to go (deleted messages and
    /// channels, and uploads no message took within the orphan lifetime),
    /// then their rows; at most `limit` per call. Several servers may run
    /// it at once: a second delete of the same bytes or row is harmless.
    /// Returns how many uploads it removed.
    pub async fn sweep_files(&self, limit: u32) -> Result<usize, AppError> {
        let orphan_before = Timestamp::from(
            Utc::now()
                - chrono::Duration::from_std(self.limits.upload_orphan_after)
                    .unwrap_or(chrono::Duration::days(1)),
        );
        self.store
            .remove_orphan_uploads(orphan_before)
            .await
            .map_err(|e| internal("marking orphan uploads failed", e))?;
        let removed = self
            .store
            .removed_uploads(limit)
            .await
            .map_err(|e| internal("reading removed uploads failed", e))?;
        let mut done = 0;
        for upload in &removed {
            if self.forget_upload_bytes(upload).await {
                done += 1;
            }
        }
        Ok(done)
    }

    /// Deletes an upload's bytes (file and thumbnail), then its row;
    /// whether both went (a failure is logged and left for the next
    /// sweep).
    async fn forget_upload_bytes(&self, upload: &UploadRecord) -> bool {
        for key in std::iter::once(&upload.storage_key).chain(upload.thumb_key.as_ref()) {
            if let Err(e) = self.files.storage.delete(key).await {
                tracing::warn!(error = %e, upload = %upload.id, "deleting an upload's bytes failed; retried later");
                return false;
            }
        }
        match self.store.forget_upload(upload.id).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, upload = %upload.id, "forgetting an upload failed; retried later");
                false
            }
        }
    }
}

/// The `Content-Disposition` of a file: `attachment` (saved, never shown
/// as a page) for everything but pictures, with the name in both the
/// plain and the RFC 8187 form.
pub fn disposition(upload: &UploadRecord, attachment: bool) -> String {
    let plain: String = upload
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = upload
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!(
        "{}; filename=\"{plain}\"; filename*=UTF-8''{encoded}",
        if attachment { "attachment" } else { "inline" }
    )
}

/// The daily upload allowance is used up.
fn daily_limit() -> AppError {
    AppError::RateLimited {
        retry_after_ms: Duration::from_secs(3600).as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_their_last_segment_and_no_controls() {
        assert_eq!(clean_file_name(Some("a.png")), "a.png");
        assert_eq!(clean_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(
            clean_file_name(Some("C:\\Users\\me\\report.pdf")),
            "report.pdf"
        );
        assert_eq!(clean_file_name(Some("bad\u{0}\nname.txt")), "badname.txt");
        assert_eq!(clean_file_name(Some("evil\u{202e}gnp.exe")), "evilgnp.exe");
        assert_eq!(clean_file_name(Some("..")), "file");
        assert_eq!(clean_file_name(Some("dir/")), "file");
        assert_eq!(clean_file_name(None), "file");
        let long = format!("{}.pdf", "é".repeat(300));
        let kept = clean_file_name(Some(&long));
        assert!(
            kept.len() <= MAX_NAME_BYTES && kept.ends_with(".pdf"),
            "{kept}"
        );
    }

    #[test]
    fn dispositions_name_the_file_safely() {
        let mut u = UploadRecord {
            id: UploadId::new_random(),
            channel_id: ChannelId::new_random(),
            user_id: UserId::new_random(),
            name: "naïve \"quote\".pdf".into(),
            size: 1,
            sha256: String::new(),
            mime_type: "application/pdf".into(),
            is_image: false,
            width: None,
            height: None,
            storage_key: String::new(),
            thumb_key: None,
            created_at: Timestamp::from(Utc::now()),
            message_id: None,
            removed_at: None,
        };
        assert_eq!(
            disposition(&u, true),
            "attachment; filename=\"na_ve _quote_.pdf\"; filename*=UTF-8''na%C3%AFve%20%22quote%22.pdf"
        );
        u.name = "a.png".into();
        assert!(disposition(&u, false).starts_with("inline; "));
    }
}
