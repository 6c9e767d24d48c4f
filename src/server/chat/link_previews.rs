//! The rules of a link preview's picture (PROTOCOL.md "Link previews"):
//! which stored picture a route may serve. The pictures themselves are
//! made by `server::previews::task`.

use super::{internal, Chat};
use crate::protocol::{AppError, PreviewImageId};

/// A preview picture to serve.
#[derive(Debug, Clone)]
pub struct PreviewPicture {
    /// Its storage key.
    pub key: String,
    /// Its type (`image/jpeg` or `image/png`, as the server encoded it).
    pub content_type: String,
    /// The entity tag: the id and when the picture was fetched (a refetch
    /// stores a new picture under the same key).
    pub etag: String,
}

impl Chat {
    /// `GET /chat/previews/{id}/image`. A picture read from a public page
    /// and shared by every message that links it, so any signed-in user
    /// may see it (the id is random and only ever shown in messages); no
    /// channel is checked.
    ///
    /// # Errors
    /// `NotFound` for an unknown id or a preview without a picture.
    pub async fn preview_picture(&self, id: PreviewImageId) -> Result<PreviewPicture, AppError> {
        let entry = self
            .store
            .preview_by_image(id)
            .await
            .map_err(|e| internal("reading a link preview failed", e))?;
        match entry {
            Some(entry) => match (entry.image_key, entry.image_mime) {
                (Some(key), Some(content_type)) => Ok(PreviewPicture {
                    key,
                    content_type,
                    etag: format!("{id}-{}", entry.fetched_at.micros()),
                }),
                _ => Err(AppError::NotFound("no such picture".into())),
            },
            None => Err(AppError::NotFound("no such picture".into())),
        }
    }
}
