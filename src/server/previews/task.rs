//! The link preview task (PROTOCOL.md "Link previews"): after a message
//! with links is stored or edited on this server, its links' pages are
//! fetched in the background (through [`Fetcher`], which refuses every
//! address of the server's own networks), read ([`read_page`]), cached by
//! URL, and added to the message as a change with the next `rev`
//! (`ChangeKind::SetPreviews`, through the change writer, so it reaches
//! every member live, other servers and resumes included).
//!
//! Nothing here ever delays a send: messages are offered to a bounded
//! queue (`super::queue`), and when it is full the message simply
//! gets no preview. A preview's picture is fetched, decoded with the upload
//! limits, re-encoded as a thumbnail and stored by the server, so a page's
//! picture is never hotlinked (no reader's address reaches the other site).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::fetch::{FetchLimits, Fetcher};
use super::page::{decode_text, read_page};
use super::queue::{PreviewInbox, PreviewJob};
use crate::client::markdown::http_links;
use crate::protocol::{LinkPreview, PreviewImage, PreviewImageId, Timestamp};
use crate::server::chat::change_writer::ChangeWriter;
use crate::server::chat::uploads::Files;
use crate::server::files::images::{self, ImageLimits};
use crate::server::files::spool;
use crate::server::files::storage::ObjectInfo;
use crate::server::store::{Actor, CachedPreview, Change, ChangeKind, Store};

/// Redirects one fetch follows at most.
const MAX_REDIRECTS: u8 = 5;
/// Locks by URL hash: two messages with one new link fetch it once.
const URL_LOCKS: usize = 64;

/// What the preview task needs of the server.
pub struct PreviewParts {
    /// The cache and the messages.
    pub store: Arc<dyn Store>,
    /// Where the preview change is applied.
    pub changes: ChangeWriter,
    /// Where pictures are stored, and the decode slots they share with
    /// uploads.
    pub files: Arc<Files>,
    /// What a fetch may take.
    pub settings: PreviewSettings,
}

/// The limits of link previews (`Limits`, `Settings`).
#[derive(Debug, Clone)]
pub struct PreviewSettings {
    /// One fetch's whole time.
    pub timeout: Duration,
    /// Bytes of a page read.
    pub max_bytes: usize,
    /// Bytes of a picture at most.
    pub image_max_bytes: usize,
    /// Links of one message previewed.
    pub max_links: usize,
    /// How long a URL's result is reused.
    pub cache_for: Duration,
    /// Messages previewed at once.
    pub concurrency: usize,
    /// The picture's decode limits and thumbnail size.
    pub image: ImageLimits,
    /// Host names served from loopback (tests only).
    pub test_hosts: Vec<String>,
}

/// Starts the task on the inbox's messages. It ends at `shutdown`
/// (previews still being fetched are dropped: a message without its
/// preview is complete).
pub fn spawn(
    parts: PreviewParts,
    inbox: PreviewInbox,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let mut rx = inbox.0;
    tokio::spawn(async move {
        let fetcher = match Fetcher::new(
            FetchLimits {
                timeout: parts.settings.timeout,
                max_bytes: parts.settings.max_bytes,
                max_redirects: MAX_REDIRECTS,
            },
            parts.settings.test_hosts.clone(),
        ) {
            Ok(fetcher) => fetcher,
            Err(e) => {
                tracing::error!(error = %e, "link previews could not start; none will be made");
                return;
            }
        };
        let slots = Arc::new(Semaphore::new(parts.settings.concurrency.max(1)));
        let previewer = Arc::new(Previewer {
            parts,
            fetcher,
            url_locks: (0..URL_LOCKS).map(|_| Mutex::new(())).collect(),
        });
        loop {
            let job = tokio::select! {
                _ = shutdown.cancelled() => break,
                job = rx.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
            };
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let previewer = previewer.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let _slot = slot;
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = previewer.preview(job) => {}
                }
            });
        }
    })
}

/// The task's state, shared by the previews in progress.
struct Previewer {
    parts: PreviewParts,
    fetcher: Fetcher,
    url_locks: Vec<Mutex<()>>,
}

impl Previewer {
    /// Reads the previews of one message's links and adds them to it.
    async fn preview(&self, job: PreviewJob) {
        let links: Vec<String> = http_links(&job.text)
            .into_iter()
            .take(self.parts.settings.max_links)
            .collect();
        if links.is_empty() {
            return;
        }
        let mut previews = Vec::new();
        for link in links {
            if let Some(preview) = self.preview_of(&link).await {
                previews.push(preview);
            }
        }
        if previews.is_empty() {
            return;
        }
        let change = Change {
            channel_id: job.channel_id,
            message_id: job.message_id,
            actor: Actor::HostApp,
            kind: ChangeKind::SetPreviews {
                previews,
                for_text: job.text,
            },
            at: Utc::now(),
        };
        match self.parts.changes.apply(change).await {
            Ok(Ok(_)) => {}
            Ok(Err(why)) => {
                tracing::debug!(message_id = %job.message_id, ?why, "link previews not added");
            }
            Err(e) => {
                tracing::warn!(message_id = %job.message_id, error = %e, "adding link previews failed");
            }
        }
    }

    /// One link's preview: the cached one while fresh, else fetched now
    /// (and cached, a failure too).
    async fn preview_of(&self, link: &str) -> Option<LinkPreview> {
        let _one_fetch = self.url_locks[lock_index(link)].lock().await;
        let cached = match self.parts.store.cached_preview(link).await {
            Ok(cached) => cached,
            Err(e) => {
                tracing::warn!(error = %e, "reading the link preview cache failed");
                None
            }
        };
        let now = Utc::now();
        if let Some(entry) = &cached {
            let age = now.signed_duration_since(chrono::DateTime::<Utc>::from(entry.fetched_at));
            if age
                .to_std()
                .is_ok_and(|age| age < self.parts.settings.cache_for)
            {
                return entry.preview.clone();
            }
        }
        // The URL's one picture id, shared by every fetch on every server.
        let image_id = match self
            .parts
            .store
            .reserve_preview_image(link, PreviewImageId::new_random())
            .await
        {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "reserving a link preview picture failed");
                return cached.and_then(|c| c.preview);
            }
        };
        let fetched = self.fetch(link, image_id).await;
        let entry = match cached {
            // A page that is down (or changed) keeps what was read before,
            // and a page that lost its picture keeps the stored one for
            // the older messages that show it.
            Some(old) if fetched.preview.is_none() && old.preview.is_some() => CachedPreview {
                fetched_at: Timestamp::from(now),
                ..old
            },
            Some(old) if fetched.image_key.is_none() => CachedPreview {
                image_key: old.image_key,
                image_mime: old.image_mime,
                ..fetched
            },
            _ => fetched,
        };
        let entry = CachedPreview {
            url: link.to_owned(),
            fetched_at: Timestamp::from(now),
            image_id: Some(image_id),
            ..entry
        };
        if let Err(e) = self.parts.store.save_preview(&entry).await {
            tracing::warn!(error = %e, "caching a link preview failed");
        }
        entry.preview
    }

    /// Fetches and reads one page, and its picture (stored under
    /// `image_id`'s key). Whatever fails gives an entry with no preview
    /// (or no picture); the reason is logged.
    async fn fetch(&self, link: &str, image_id: PreviewImageId) -> CachedPreview {
        let mut entry = CachedPreview {
            url: link.to_owned(),
            fetched_at: Timestamp::from(Utc::now()),
            preview: None,
            image_id: None,
            image_key: None,
            image_mime: None,
        };
        let Ok(url) = url::Url::parse(link) else {
            return entry;
        };
        let page = match self.fetcher.page(&url).await {
            Ok(page) => page,
            Err(e) => {
                tracing::info!(%link, error = %e, "no link preview");
                return entry;
            }
        };
        let text = decode_text(&page.body, page.content_type.as_deref());
        let meta = read_page(&text, &page.url);
        if meta.title.is_none() && meta.description.is_none() {
            return entry;
        }
        let mut image = None;
        if let Some(image_url) = &meta.image {
            match self.store_image(image_url, image_id).await {
                Ok((key, mime, width, height)) => {
                    entry.image_id = Some(image_id);
                    entry.image_key = Some(key);
                    entry.image_mime = Some(mime.to_owned());
                    image = Some(PreviewImage {
                        url: PreviewImage::url_of(image_id),
                        width,
                        height,
                    });
                }
                Err(why) => tracing::info!(%link, %why, "link preview without its picture"),
            }
        }
        entry.preview = Some(LinkPreview {
            url: link.to_owned(),
            title: meta.title,
            description: meta.description,
            site_name: meta.site_name,
            image,
        });
        entry
    }

    /// Fetches a page's picture, decodes it with the upload limits and
    /// stores its re-encoded thumbnail: `(key, type, width, height)`.
    async fn store_image(
        &self,
        url: &url::Url,
        id: PreviewImageId,
    ) -> Result<(String, &'static str, u32, u32), String> {
        let fetched = self
            .fetcher
            .image(url, self.parts.settings.image_max_bytes)
            .await
            .map_err(|e| e.to_string())?;
        let files = &self.parts.files;
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(fetched.body))]);
        let spooled = spool::spool(body, &files.spool_dir, u64::MAX)
            .await
            .map_err(|e| e.to_string())?;
        let permit = files
            .decoding
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let limits = self.parts.settings.image;
        let path = spooled.path.clone();
        let inspected = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            images::inspect(&path, limits)
        })
        .await
        .map_err(|e| e.to_string())?;
        drop(spooled);
        let info = inspected.map_err(|e| e.to_string())?;
        let key = format!("previews/{id}");
        let thumb = info.thumb;
        files
            .storage
            .put_bytes(
                &key,
                Bytes::from(thumb.bytes),
                &ObjectInfo {
                    content_type: thumb.mime.to_owned(),
                    content_disposition: "inline".into(),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok((key, thumb.mime, thumb.width, thumb.height))
    }
}

/// Which of the URL locks a link takes.
fn lock_index(link: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    link.hash(&mut h);
    (h.finish() % URL_LOCKS as u64) as usize
}
