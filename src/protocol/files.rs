//! Files on the wire (PROTOCOL.md "Files and images"): an upload as the
//! upload route answers it, and the attachments a message carries, in the
//! snake_case of the JSON routes and the camelCase of the frames.

use serde::{Deserialize, Serialize};

use super::ids::{ChannelId, UploadId};
use super::timestamp::Timestamp;

/// What a client may do with a file: show an image inline (it has a size
/// and a thumbnail), or offer anything else as a card to download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    /// PNG, JPEG, GIF or WebP that decoded: `width`, `height`, a thumbnail.
    Image,
    /// Anything else (a picture that did not decode included).
    File,
}

/// A file a message carries, as the JSON routes and server functions send
/// it. The URLs are the server's own download routes, which check the
/// reader's membership on every request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attachment {
    /// The upload.
    pub id: UploadId,
    /// The file name as the uploader's browser gave it, cleaned (shown,
    /// and offered when saving; never a storage path).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256 of the bytes (also the download's `ETag`).
    pub sha256: String,
    /// The type read from the file's first bytes.
    #[serde(alias = "mimeType")]
    pub mime_type: String,
    /// Image or file.
    pub kind: AttachmentKind,
    /// An image's width as shown (after its EXIF orientation).
    #[serde(default)]
    pub width: Option<u32>,
    /// An image's height as shown.
    #[serde(default)]
    pub height: Option<u32>,
    /// `/chat/files/{id}`.
    pub url: String,
    /// `/chat/files/{id}/thumb`, for an image.
    #[serde(default, alias = "thumbUrl")]
    pub thumb_url: Option<String>,
}

impl Attachment {
    /// The download route of an upload.
    pub fn url_of(id: UploadId) -> String {
        format!("/chat/files/{id}")
    }

    /// The thumbnail route of an upload.
    pub fn thumb_url_of(id: UploadId) -> String {
        format!("/chat/files/{id}/thumb")
    }

    /// How many bytes, for people ("2.4 MB").
    pub fn size_label(&self) -> String {
        human_size(self.size)
    }
}

/// A byte count for people, in powers of 1,000 as file managers show
/// them: `999 B`, `1.2 kB`, `24 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// [`Attachment`] with the camelCase names of the frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireAttachment {
    /// The upload.
    pub id: UploadId,
    /// File name.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256.
    pub sha256: String,
    /// Sniffed type.
    #[serde(rename = "mimeType")]
    pub mime_type: String,
    /// Image or file.
    pub kind: AttachmentKind,
    /// Image width.
    #[serde(default)]
    pub width: Option<u32>,
    /// Image height.
    #[serde(default)]
    pub height: Option<u32>,
    /// Download route.
    pub url: String,
    /// Thumbnail route.
    #[serde(rename = "thumbUrl", default)]
    pub thumb_url: Option<String>,
}

impl From<&Attachment> for WireAttachment {
    fn from(a: &Attachment) -> Self {
        WireAttachment {
            id: a.id,
            name: a.name.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
            mime_type: a.mime_type.clone(),
            kind: a.kind,
            width: a.width,
            height: a.height,
            url: a.url.clone(),
            thumb_url: a.thumb_url.clone(),
        }
    }
}

impl From<WireAttachment> for Attachment {
    fn from(a: WireAttachment) -> Self {
        Attachment {
            id: a.id,
            name: a.name,
            size: a.size,
            sha256: a.sha256,
            mime_type: a.mime_type,
            kind: a.kind,
            width: a.width,
            height: a.height,
            url: a.url,
            thumb_url: a.thumb_url,
        }
    }
}

/// The upload route's answer: the stored file, not yet any message's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// What a message that takes it will carry.
    #[serde(flatten)]
    pub file: Attachment,
    /// The channel it was uploaded to (only a message of that channel may
    /// take it).
    pub channel_id: ChannelId,
    /// When it was stored (an upload no message takes is removed after
    /// the orphan lifetime).
    pub created_at: Timestamp,
}

/// The upload route's body: `{"upload": Upload}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadAnswer {
    /// The stored upload.
    pub upload: Upload,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_000), "1.0 kB");
        assert_eq!(human_size(2_400_000), "2.4 MB");
        assert_eq!(human_size(25 * 1024 * 1024), "26 MB");
        assert_eq!(human_size(999_999), "1.0 MB");
    }

    #[test]
    fn an_attachment_reads_from_either_naming() {
        let id = UploadId::new_random();
        let a = Attachment {
            id,
            name: "a.png".into(),
            size: 10,
            sha256: "ab".into(),
            mime_type: "image/png".into(),
            kind: AttachmentKind::Image,
            width: Some(3),
            height: Some(2),
            url: Attachment::url_of(id),
            thumb_url: Some(Attachment::thumb_url_of(id)),
        };
        let wire = serde_json::to_string(&WireAttachment::from(&a)).unwrap();
        assert!(wire.contains("\"mimeType\"") && wire.contains("\"thumbUrl\""));
        let back: Attachment = serde_json::from_str(&wire).unwrap();
        assert_eq!(back, a);
        let rest = serde_json::to_string(&a).unwrap();
        assert!(rest.contains("\"mime_type\"") && rest.contains("\"thumb_url\""));
    }
}
