//! Where an upload's bytes live: a directory on local disk or an
//! S3-compatible bucket, behind one interface (`CHAT_FILES_URL`).
//!
//! Keys are the server's own (`files/{channel}/{upload}`), checked before
//! any use, so no name a person chose ever becomes a path. Files are copied
//! in parts, never held whole in memory; on local disk an object appears
//! whole or not at all (written aside, then renamed) and is synced to disk
//! before the call returns.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, GetResultPayload, ObjectStore,
    PutMultipartOptions, PutOptions,
};
use tokio::io::AsyncReadExt;

/// The size of one part of a multipart upload to a bucket, and of the
/// largest file sent there in one request: the most file bytes one
/// transfer holds in memory (S3 takes parts of at least 5 MiB).
const PART_SIZE: u64 = 8 * 1024 * 1024;

/// The size of the chunks a local file is streamed in.
const READ_CHUNK: u64 = 256 * 1024;

/// The longest key (S3's limit).
const MAX_KEY_BYTES: usize = 1024;

/// Files on local disk or in an S3-compatible bucket.
pub struct FileStorage {
    /// The store behind it.
    backend: Backend,
    /// Turns to send a file to a bucket (see [`S3_TRANSFERS`]).
    transfers: tokio::sync::Semaphore,
}

/// Files sent to a bucket at once at most: each holds one part (up to
/// [`PART_SIZE`]) in memory while it goes, so this bounds that memory.
const S3_TRANSFERS: usize = 4;

/// The two kinds of store.
enum Backend {
    /// A directory; objects are files under it.
    Local {
        /// The store.
        store: LocalFileSystem,
        /// The directory, canonical (for syncing what was written).
        root: PathBuf,
    },
    /// A bucket, with an optional key prefix.
    S3 {
        /// The store (also signs download URLs).
        store: AmazonS3,
        /// The bucket's name (for logs).
        bucket: String,
        /// Prepended to every key, without slashes at either end.
        prefix: Option<String>,
    },
}

/// How object storage serves an object through a presigned URL (local
/// disk ignores these: the download route sets its own headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `Content-Type`.
    pub content_type: String,
    /// `Content-Disposition` (`inline`, or `attachment; filename=...`).
    pub content_disposition: String,
}

/// An object's bytes (all, or one range) as they are read: a stream of
/// chunks (an HTTP body as it is), with what is known of the object.
pub struct ObjectBody {
    /// The object's whole size in bytes.
    pub size: u64,
    /// The bytes `body` yields: all (`0..size`) or the range asked for,
    /// its end cut to the object's end.
    pub range: Range<u64>,
    /// When the object was written.
    pub last_modified: SystemTime,
    /// The bytes, in chunks.
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

impl Stream for ObjectBody {
    type Item = Result<Bytes, StorageError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.body.poll_next_unpin(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.body.size_hint()
    }
}

impl fmt::Debug for ObjectBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectBody")
            .field("size", &self.size)
            .field("range", &self.range)
            .field("last_modified", &self.last_modified)
            .finish_non_exhaustive()
    }
}

/// What went wrong with storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `CHAT_FILES_URL` names no store this server can use.
    #[error("`{url}` is not a place for files ({reason}); use a directory (`/var/lib/chat/files`, `file:///var/lib/chat/files`) or `s3://bucket[/prefix]`")]
    BadUrl {
        /// The address given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key that is not one the server makes (a bug in the caller).
    #[error("`{key}` is not a storage key: {reason}")]
    BadKey {
        /// The key given.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No object has this key.
    #[error("no stored object has the key `{key}`")]
    NotFound {
        /// The key.
        key: String,
    },
    /// A range that ends where it starts, or before.
    #[error("the byte range {start}..{end} is empty")]
    EmptyRange {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
    },
    /// A range that starts at or past the object's end (HTTP 416).
    #[error("the byte range starting at {start} lies past the end of the {size}-byte object")]
    RangeNotSatisfiable {
        /// First byte asked for.
        start: u64,
        /// The object's size.
        size: u64,
    },
    /// A local file (the upload's, or the store's) could not be read or
    /// written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The store refused or failed.
    #[error("file storage failed: {0}")]
    Store(#[from] object_store::Error),
}

impl fmt::Debug for FileStorage {
    /// The place only: the S3 client's own Debug would print credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::Local { root, .. } => write!(f, "FileStorage(local {})", root.display()),
            Backend::S3 { bucket, prefix, .. } => match prefix {
                Some(prefix) => write!(f, "FileStorage(s3://{bucket}/{prefix})"),
                None => write!(f, "FileStorage(s3://{bucket})"),
            },
        }
    }
}

impl FileStorage {
    /// Opens the store `CHAT_FILES_URL` names: a directory (`file:///abs`,
    /// `file://relative`, or a plain path; created if missing), or
    /// `s3://bucket[/prefix]` configured by the usual `AWS_*` variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` or
    /// `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` or `AWS_ENDPOINT` for a
    /// store other than Amazon's; an `http://` endpoint is allowed).
    /// Nothing is contacted until the store is used.
    ///
    /// # Errors
    ///
    /// [`StorageError::BadUrl`] for an address of another kind or an S3
    /// configuration that is incomplete, [`StorageError::Io`] when the
    /// directory cannot be created.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        Self::from_url_with_env(url, std::env::vars())
    }

    /// [`FileStorage::from_url`] with the environment given (for tests,
    /// which must not change the process's).
    ///
    /// # Errors
    ///
    /// As [`FileStorage::from_url`].
    pub fn from_url_with_env(
        url: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, StorageError> {
        let bad = |reason: &str| StorageError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return Self::local(Path::new(trimmed));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" if rest.is_empty() => Err(bad("it names no directory")),
            "file" => Self::local(Path::new(rest)),
            "s3" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(bad("it names no bucket"));
                }
                if !bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                {
                    return Err(bad(
                        "a bucket name has only lowercase letters, digits, `-` and `.`",
                    ));
                }
                let prefix = prefix.trim_matches('/');
                let prefix = if prefix.is_empty() {
                    None
                } else {
                    check_key(prefix).map_err(|_| {
                        bad("the prefix may have only ASCII letters, digits, `-`, `_` and `/`")
                    })?;
                    Some(prefix.to_owned())
                };
                Self::s3(url, bucket, prefix, env)
            }
            other => Err(bad(&format!(
                "`{other}://` is not a kind of storage this server knows"
            ))),
        }
    }

    /// A directory store, the directory created if missing.
    fn local(dir: &Path) -> Result<Self, StorageError> {
        let io_error = |source| StorageError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_error)?;
        let root = std::fs::canonicalize(dir).map_err(io_error)?;
        let store = LocalFileSystem::new_with_prefix(&root)?;
        Ok(FileStorage {
            backend: Backend::Local { store, root },
            transfers: tokio::sync::Semaphore::new(S3_TRANSFERS),
        })
    }

    /// A bucket store configured from `AWS_*` variables.
    fn s3(
        url: &str,
        bucket: &str,
        prefix: Option<String>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::new();
        for (name, value) in env {
            if !name.starts_with("AWS_") {
                continue;
            }
            // The names object_store knows (AWS_ENDPOINT_URL included);
            // others (AWS_PROFILE...) are not its business.
            if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        builder = builder.with_bucket_name(bucket);
        let plain_http = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .is_some_and(|endpoint| endpoint.to_ascii_lowercase().starts_with("http://"));
        if plain_http {
            builder = builder.with_allow_http(true);
        }
        let store = builder.build().map_err(|error| StorageError::BadUrl {
            url: url.to_owned(),
            reason: format!("the AWS_* variables do not configure a bucket: {error}"),
        })?;
        Ok(FileStorage {
            backend: Backend::S3 {
                store,
                bucket: bucket.to_owned(),
                prefix,
            },
            transfers: tokio::sync::Semaphore::new(S3_TRANSFERS),
        })
    }

    /// Whether files are on local disk (served by the server itself)
    /// rather than in a bucket (served through presigned URLs).
    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local { .. })
    }

    /// Stores the file at `path` under `key`, read in parts of at most
    /// 8 MiB (a multipart upload for a larger file), replacing any object
    /// with that key. On local disk the object appears whole or not at all
    /// and is synced to disk before this returns.
    ///
    /// # Errors
    ///
    /// A bad key, a file that cannot be read, or the store's failure (a
    /// multipart upload that fails is aborted).
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        headers: &ObjectInfo,
    ) -> Result<(), StorageError> {
        let location = self.location(key)?;
        if let Backend::Local { store, .. } = &self.backend {
            // Copied by the kernel (no file bytes in this process's
            // memory), then renamed into place: whole or not at all.
            let dest = store.path_to_filesystem(&location)?;
            let source = path.to_path_buf();
            tokio::task::spawn_blocking(move || copy_into_place(&source, &dest))
                .await
                .map_err(|join| StorageError::Io {
                    path: path.to_path_buf(),
                    source: io::Error::other(join),
                })??;
            return self.sync_local(&location).await;
        }
        let io_error = |source| StorageError::Io {
            path: path.to_path_buf(),
            source,
        };
        // A bucket takes parts of at least 5 MiB, held in memory while they
        // go: at most [`S3_TRANSFERS`] uploads send at once.
        let _turn = self
            .transfers
            .acquire()
            .await
            .map_err(|_| StorageError::Io {
                path: path.to_path_buf(),
                source: io::Error::other("the storage is closing"),
            })?;
        let mut file = tokio::fs::File::open(path).await.map_err(io_error)?;
        let size = file.metadata().await.map_err(io_error)?.len();
        let store = self.store();
        if size <= PART_SIZE {
            let bytes = read_part(&mut file, size).await.map_err(io_error)?;
            store
                .put_opts(
                    &location,
                    bytes.into(),
                    PutOptions::from(self.attributes(headers)),
                )
                .await?;
        } else {
            let mut upload = store
                .put_multipart_opts(
                    &location,
                    PutMultipartOptions::from(self.attributes(headers)),
                )
                .await?;
            let sent = async {
                let mut left = size;
                while left > 0 {
                    let part_size = left.min(PART_SIZE);
                    let part = read_part(&mut file, part_size).await.map_err(io_error)?;
                    upload.put_part(part.into()).await?;
                    left -= part_size;
                }
                upload.complete().await?;
                Ok::<_, StorageError>(())
            }
            .await;
            if let Err(error) = sent {
                if let Err(abort) = upload.abort().await {
                    tracing::warn!(key, %abort, "could not abort a failed multipart upload");
                }
                return Err(error);
            }
        }
        self.sync_local(&location).await
    }

    /// Stores `bytes` under `key` (a thumbnail), like
    /// [`FileStorage::put_file`].
    ///
    /// # Errors
    ///
    /// A bad key or the store's failure.
    pub async fn put_bytes(
        &self,
        key: &str,
        bytes: Bytes,
        headers: &ObjectInfo,
    ) -> Result<(), StorageError> {
        let location = self.location(key)?;
        self.store()
            .put_opts(
                &location,
                bytes.into(),
                PutOptions::from(self.attributes(headers)),
            )
            .await?;
        self.sync_local(&location).await
    }

    /// Reads the object under `key`: all of it, or the bytes of `range`
    /// (its end cut to the object's end).
    ///
    /// # Errors
    ///
    /// [`StorageError::NotFound`] for no such object,
    /// [`StorageError::EmptyRange`] and
    /// [`StorageError::RangeNotSatisfiable`] for a range with no bytes
    /// in the object, or the store's failure.
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ObjectBody, StorageError> {
        let location = self.location(key)?;
        let not_found = |error: object_store::Error| match error {
            object_store::Error::NotFound { .. } => StorageError::NotFound {
                key: key.to_owned(),
            },
            other => StorageError::Store(other),
        };
        let mut options = GetOptions::default();
        if let Some(range) = range {
            if range.end <= range.start {
                return Err(StorageError::EmptyRange {
                    start: range.start,
                    end: range.end,
                });
            }
            // Known first, so that a range past the end is told apart from
            // the store's other refusals.
            let size = self.store().head(&location).await.map_err(not_found)?.size;
            if range.start >= size {
                return Err(StorageError::RangeNotSatisfiable {
                    start: range.start,
                    size,
                });
            }
            options.range = Some(GetRange::Bounded(range.start..range.end.min(size)));
        }
        let result = self
            .store()
            .get_opts(&location, options)
            .await
            .map_err(not_found)?;
        let size = result.meta.size;
        let last_modified = SystemTime::from(result.meta.last_modified);
        let range = result.range.clone();
        let body = match result.payload {
            GetResultPayload::File(file, path) => file_chunks(file, path, range.clone()),
            GetResultPayload::Stream(body) => body.map_err(StorageError::Store).boxed(),
        };
        Ok(ObjectBody {
            size,
            range,
            last_modified,
            body,
        })
    }

    /// The size in bytes of the object under `key`.
    ///
    /// # Errors
    ///
    /// [`StorageError::NotFound`] for no such object, a bad key, or the
    /// store's failure.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        let location = self.location(key)?;
        match self.store().head(&location).await {
            Ok(meta) => Ok(meta.size),
            Err(object_store::Error::NotFound { .. }) => Err(StorageError::NotFound {
                key: key.to_owned(),
            }),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes the object under `key`; one already gone is no error.
    ///
    /// # Errors
    ///
    /// A bad key or the store's failure.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let location = self.location(key)?;
        match self.store().delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Whether an object has this key.
    ///
    /// # Errors
    ///
    /// A bad key or the store's failure.
    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        let location = self.location(key)?;
        match self.store().head(&location).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// A URL any client can download the object from for `ttl`, signed
    /// with the store's credentials: `Some` for a bucket, `None` for local
    /// disk (the server streams those itself). Signing contacts nothing,
    /// unless the credentials themselves must first be fetched (instance
    /// or container credentials).
    ///
    /// # Errors
    ///
    /// A bad key, or credentials that cannot be had.
    pub async fn presigned_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        let location = self.location(key)?;
        match &self.backend {
            Backend::Local { .. } => Ok(None),
            Backend::S3 { store, .. } => {
                let url = store.signed_url(http::Method::GET, &location, ttl).await?;
                Ok(Some(url.to_string()))
            }
        }
    }

    /// The store, whichever it is.
    fn store(&self) -> &dyn ObjectStore {
        match &self.backend {
            Backend::Local { store, .. } => store,
            Backend::S3 { store, .. } => store,
        }
    }

    /// The object path of a key: checked, under the bucket's prefix.
    fn location(&self, key: &str) -> Result<ObjectPath, StorageError> {
        check_key(key)?;
        let full = match &self.backend {
            Backend::S3 {
                prefix: Some(prefix),
                ..
            } => format!("{prefix}/{key}"),
            _ => key.to_owned(),
        };
        ObjectPath::parse(&full).map_err(|_| StorageError::BadKey {
            key: key.to_owned(),
            reason: "it is not a valid object path",
        })
    }

    /// The attributes a bucket stores with an object; none on local disk,
    /// which supports none.
    fn attributes(&self, headers: &ObjectInfo) -> Attributes {
        let mut attributes = Attributes::new();
        if let Backend::S3 { .. } = self.backend {
            attributes.insert(Attribute::ContentType, headers.content_type.clone().into());
            if !headers.content_disposition.is_empty() {
                attributes.insert(
                    Attribute::ContentDisposition,
                    headers.content_disposition.clone().into(),
                );
            }
        }
        attributes
    }

    /// On local disk, syncs a new object's file and the directories up to
    /// the root, so that it survives a crash once this returns.
    async fn sync_local(&self, location: &ObjectPath) -> Result<(), StorageError> {
        let Backend::Local { store, root } = &self.backend else {
            return Ok(());
        };
        let path = store.path_to_filesystem(location)?;
        let root = root.clone();
        tokio::task::spawn_blocking(move || sync_up_to(&path, &root))
            .await
            .map_err(|join| StorageError::Io {
                path: PathBuf::from(location.as_ref()),
                source: io::Error::other(join),
            })?
    }
}

/// Copies `source` to a new file beside `dest` (the kernel copies: no
/// bytes pass through this process), syncs it and renames it to `dest`,
/// so `dest` is never seen half written. Blocking.
fn copy_into_place(source: &Path, dest: &Path) -> Result<(), StorageError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StorageError::Io { path, source }
    };
    let dir = dest.parent().ok_or_else(|| StorageError::Io {
        path: dest.to_path_buf(),
        source: io::Error::other("no parent directory"),
    })?;
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = dir.join(format!(
        ".{name}.{}.incoming",
        uuid::Uuid::new_v4().simple()
    ));
    let copied = std::fs::copy(source, &staging)
        .and_then(|_| std::fs::File::open(&staging)?.sync_all())
        .and_then(|()| std::fs::rename(&staging, dest));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&staging);
        return Err(io_error(dest)(e));
    }
    Ok(())
}

/// Syncs `path` and each directory above it up to and including `root`.
fn sync_up_to(path: &Path, root: &Path) -> Result<(), StorageError> {
    let sync = |p: &Path| {
        std::fs::File::open(p)
            .and_then(|f| f.sync_all())
            .map_err(|source| StorageError::Io {
                path: p.to_path_buf(),
                source,
            })
    };
    sync(path)?;
    // Directories can be opened and synced on Unix; elsewhere the rename
    // is as durable as the platform makes it.
    if cfg!(unix) {
        let mut dir = path.parent();
        while let Some(current) = dir {
            sync(current)?;
            if current == root || !current.starts_with(root) {
                break;
            }
            dir = current.parent();
        }
    }
    Ok(())
}

/// Checks that a key is one the server makes: ASCII letters, digits, `-`,
/// `_` and `/` between non-empty segments, at most 1,024 bytes. No dot is
/// allowed, so no `..` can climb out of the store.
fn check_key(key: &str) -> Result<(), StorageError> {
    let bad = |reason| StorageError::BadKey {
        key: key.to_owned(),
        reason,
    };
    if key.is_empty() {
        return Err(bad("it is empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(bad("it is longer than 1,024 bytes"));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'))
    {
        return Err(bad(
            "it may have only ASCII letters, digits, `-`, `_` and `/`",
        ));
    }
    if key.split('/').any(str::is_empty) {
        return Err(bad("it has an empty segment (a `/` at an end, or `//`)"));
    }
    if key.contains("..") {
        return Err(bad("it has `..`"));
    }
    Ok(())
}

/// Reads exactly `len` bytes (at most [`PART_SIZE`]) from `file`.
async fn read_part(file: &mut tokio::fs::File, len: u64) -> io::Result<Bytes> {
    let len = usize::try_from(len).map_err(io::Error::other)?;
    let mut buffer = BytesMut::with_capacity(len);
    while buffer.len() < len {
        let room = len - buffer.len();
        let mut limited = (&mut buffer).limit(room);
        if file.read_buf(&mut limited).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file is shorter than when its copy began",
            ));
        }
    }
    Ok(buffer.freeze())
}

/// A local file's `range` as a stream of chunks of [`READ_CHUNK`] bytes,
/// each read on the blocking pool.
fn file_chunks(
    file: std::fs::File,
    path: PathBuf,
    range: Range<u64>,
) -> BoxStream<'static, Result<Bytes, StorageError>> {
    stream::try_unfold(
        (file, path, range.start, range.end),
        |(mut file, path, at, end)| async move {
            if at >= end {
                return Ok(None);
            }
            let len = (end - at).min(READ_CHUNK);
            let read = tokio::task::spawn_blocking(move || {
                let chunk = (|| {
                    // `len` is at most READ_CHUNK, so it fits a usize.
                    let mut chunk = vec![0; len as usize];
                    file.seek(SeekFrom::Start(at))?;
                    file.read_exact(&mut chunk)?;
                    Ok::<_, io::Error>(chunk)
                })();
                (file, chunk)
            })
            .await;
            let (file, chunk) = match read {
                Ok(read) => read,
                Err(join) => {
                    return Err(StorageError::Io {
                        path,
                        source: io::Error::other(join),
                    })
                }
            };
            match chunk {
                Ok(chunk) => Ok(Some((Bytes::from(chunk), (file, path, at + len, end)))),
                Err(source) => Err(StorageError::Io { path, source }),
            }
        },
    )
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADERS: ObjectInfo = ObjectInfo {
        content_type: String::new(),
        content_disposition: String::new(),
    };

    /// The bytes of a body, read as a stream (as an HTTP body reads it).
    async fn collect(body: ObjectBody) -> Vec<u8> {
        let chunks: Vec<Bytes> = body.try_collect().await.unwrap();
        chunks.concat()
    }

    fn local(dir: &Path) -> FileStorage {
        FileStorage::from_url(dir.to_str().unwrap()).unwrap()
    }

    /// A file of several parts (more than 8 MiB) goes in and comes out
    /// the same, in bounded chunks; no staging file is left beside it.
    #[tokio::test]
    async fn a_multi_part_file_round_trips_on_local_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = local(&tmp.path().join("store"));
        assert!(storage.is_local());
        let data: Vec<u8> = (0..(2 * PART_SIZE + 12_345))
            .map(|i| (i % 253) as u8)
            .collect();
        let source = tmp.path().join("upload-x.part");
        std::fs::write(&source, &data).unwrap();

        storage
            .put_file("files/chan-1/up_1", &source, &HEADERS)
            .await
            .unwrap();

        assert!(storage.exists("files/chan-1/up_1").await.unwrap());
        let body = storage.get("files/chan-1/up_1", None).await.unwrap();
        assert_eq!(body.size, data.len() as u64);
        assert_eq!(body.range, 0..data.len() as u64);
        assert!(body.last_modified <= SystemTime::now());
        let chunks: Vec<Bytes> = body.body.try_collect().await.unwrap();
        assert!(chunks.iter().all(|c| c.len() as u64 <= READ_CHUNK));
        assert_eq!(chunks.concat(), data);
        let stored = tmp.path().join("store/files/chan-1");
        let names: Vec<_> = std::fs::read_dir(&stored)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["up_1"]);
        // The source is copied, not moved.
        assert!(source.exists());
    }

    /// A small file and bytes (a thumbnail) round-trip too, and a second
    /// put replaces the first.
    #[tokio::test]
    async fn small_files_and_bytes_round_trip_and_replace() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = local(tmp.path());
        let source = tmp.path().join("small.part");
        std::fs::write(&source, b"hello").unwrap();
        storage
            .put_file("files/a/b", &source, &HEADERS)
            .await
            .unwrap();
        assert_eq!(
            collect(storage.get("files/a/b", None).await.unwrap()).await,
            b"hello"
        );

        storage
            .put_bytes("files/a/b", Bytes::from_static(b"thumb"), &HEADERS)
            .await
            .unwrap();
        assert_eq!(
            collect(storage.get("files/a/b", None).await.unwrap()).await,
            b"thumb"
        );

        let empty = tmp.path().join("empty.part");
        std::fs::write(&empty, b"").unwrap();
        storage
            .put_file("files/a/empty", &empty, &HEADERS)
            .await
            .unwrap();
        let body = storage.get("files/a/empty", None).await.unwrap();
        assert_eq!(body.size, 0);
        assert!(collect(body).await.is_empty());
    }

    /// A range gives its bytes; an end past the object is cut; a start
    /// past the end and an empty range are refused; a missing key is
    /// `NotFound`.
    #[tokio::test]
    async fn ranged_reads() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = local(tmp.path());
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 241) as u8).collect();
        storage
            .put_bytes("files/r/x", Bytes::from(data.clone()), &HEADERS)
            .await
            .unwrap();

        assert_eq!(storage.size("files/r/x").await.unwrap(), 1_000_000);
        assert!(matches!(
            storage.size("files/r/missing").await,
            Err(StorageError::NotFound { .. })
        ));
        let body = storage.get("files/r/x", Some(10..20)).await.unwrap();
        assert_eq!((body.size, body.range.clone()), (1_000_000, 10..20));
        assert_eq!(collect(body).await, &data[10..20]);

        let body = storage
            .get("files/r/x", Some(300_000..700_001))
            .await
            .unwrap();
        assert_eq!(collect(body).await, &data[300_000..700_001]);

        let body = storage
            .get("files/r/x", Some(999_990..2_000_000))
            .await
            .unwrap();
        assert_eq!(body.range, 999_990..1_000_000);
        assert_eq!(collect(body).await, &data[999_990..]);

        assert!(matches!(
            storage.get("files/r/x", Some(1_000_000..1_000_001)).await,
            Err(StorageError::RangeNotSatisfiable {
                start: 1_000_000,
                size: 1_000_000
            })
        ));
        assert!(matches!(
            storage.get("files/r/x", Some(5..5)).await,
            Err(StorageError::EmptyRange { start: 5, end: 5 })
        ));
        assert!(matches!(
            storage.get("files/r/missing", None).await,
            Err(StorageError::NotFound { .. })
        ));
        assert!(matches!(
            storage.get("files/r/missing", Some(0..1)).await,
            Err(StorageError::NotFound { .. })
        ));
    }

    /// Deleting removes the object; deleting a missing one is fine.
    #[tokio::test]
    async fn delete_is_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = local(tmp.path());
        storage
            .put_bytes("files/d/x", Bytes::from_static(b"x"), &HEADERS)
            .await
            .unwrap();
        storage.delete("files/d/x").await.unwrap();
        assert!(!storage.exists("files/d/x").await.unwrap());
        storage.delete("files/d/x").await.unwrap();
        storage.delete("files/never/was").await.unwrap();
    }

    /// The forms of a local address: a plain path, `file:///abs`, and
    /// `file://relative` (under the working directory); each is created.
    #[tokio::test]
    async fn local_addresses_in_every_form() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("plain/files");
        FileStorage::from_url(plain.to_str().unwrap()).unwrap();
        assert!(plain.is_dir());

        let url = format!("file://{}", tmp.path().join("abs/files").display());
        let storage = FileStorage::from_url(&url).unwrap();
        assert!(tmp.path().join("abs/files").is_dir());
        assert!(storage.is_local());
        assert_eq!(
            storage
                .presigned_get("files/a/b", Duration::from_secs(60))
                .await
                .unwrap(),
            None
        );

        // A relative directory, without changing this process's working
        // directory: the path relative to it.
        let cwd = std::env::current_dir().unwrap();
        let relative = pathdiff(&tmp.path().join("rel/files"), &cwd);
        FileStorage::from_url(&format!("file://{}", relative.display())).unwrap();
        assert!(tmp.path().join("rel/files").is_dir());
    }

    /// `target` relative to `base` (both absolute).
    fn pathdiff(target: &Path, base: &Path) -> PathBuf {
        let target: Vec<_> = target.components().collect();
        let base: Vec<_> = base.components().collect();
        let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
        let mut out = PathBuf::new();
        for _ in common..base.len() {
            out.push("..");
        }
        for part in &target[common..] {
            out.push(part);
        }
        out
    }

    /// Addresses of no known kind are refused with a reason.
    #[test]
    fn bad_addresses_are_refused() {
        for (url, reason) in [
            ("", "empty"),
            ("   ", "empty"),
            ("file://", "no directory"),
            ("s3://", "no bucket"),
            ("s3:///prefix", "no bucket"),
            ("s3://My_Bucket", "bucket name"),
            ("s3://bucket/../up", "prefix"),
            ("s3://bucket/a b", "prefix"),
            ("http://example.com/files", "`http://`"),
            ("gs://bucket", "`gs://`"),
        ] {
            match FileStorage::from_url_with_env(url, Vec::new()) {
                Err(error @ StorageError::BadUrl { .. }) => {
                    let message = error.to_string();
                    assert!(message.contains(reason), "{url}: {message}");
                    assert!(message.contains("s3://bucket[/prefix]"), "{message}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        // A directory under a file cannot be created.
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        assert!(matches!(
            FileStorage::from_url(blocker.join("dir").to_str().unwrap()),
            Err(StorageError::Io { .. })
        ));
    }

    /// Only the server's own key shapes are used; nothing climbs out.
    #[tokio::test]
    async fn bad_keys_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = local(&tmp.path().join("store"));
        std::fs::write(tmp.path().join("secret"), b"s").unwrap();
        let long = "a".repeat(1025);
        for key in [
            "",
            "../secret",
            "files/../../secret",
            "files/./x",
            "/files/x",
            "files/x/",
            "files//x",
            "files/x.png",
            "files/x y",
            "files/x#1",
            "files/ü",
            "files\\x",
            long.as_str(),
        ] {
            assert!(
                matches!(
                    storage.get(key, None).await,
                    Err(StorageError::BadKey { .. })
                ),
                "{key:?}"
            );
            assert!(matches!(
                storage
                    .put_bytes(key, Bytes::from_static(b"x"), &HEADERS)
                    .await,
                Err(StorageError::BadKey { .. })
            ));
            assert!(matches!(
                storage.delete(key).await,
                Err(StorageError::BadKey { .. })
            ));
        }
        assert!(check_key("files/0b5e-AF_9/0190abcd-1234").is_ok());
        assert!(check_key(&"a".repeat(1024)).is_ok());
    }

    /// The AWS variables of a bucket on a local endpoint (nothing is
    /// contacted: only loopback is named, and only signing runs).
    fn s3_env() -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_PROFILE", "ignored"),
            ("HOME", "/nowhere"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// `s3://bucket` builds from the environment, allows the `http://`
    /// endpoint, and signs download URLs for its keys.
    #[tokio::test]
    async fn an_s3_bucket_is_configured_from_the_environment() {
        let storage = FileStorage::from_url_with_env("s3://chat-files", s3_env()).unwrap();
        assert!(!storage.is_local());
        assert_eq!(format!("{storage:?}"), "FileStorage(s3://chat-files)");

        let url = storage
            .presigned_get("files/c/u", Duration::from_secs(300))
            .await
            .unwrap()
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9/chat-files/files/c/u?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        assert!(url.contains("X-Amz-Credential=AKIDEXAMPLE%2F"), "{url}");
        assert!(url.contains("%2Feu-west-3%2Fs3%2F"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(!url.contains("wJalrXUtnFEMI"), "the secret leaked: {url}");

        assert!(matches!(
            storage.presigned_get("../x", Duration::from_secs(1)).await,
            Err(StorageError::BadKey { .. })
        ));
    }

    /// A prefix in the address goes before every key; `AWS_REGION` wins
    /// over `AWS_DEFAULT_REGION`.
    #[tokio::test]
    async fn an_s3_prefix_is_put_before_keys() {
        let mut env = s3_env();
        env.push(("AWS_REGION".into(), "us-west-2".into()));
        let storage = FileStorage::from_url_with_env("s3://chat-files/team/a/", env).unwrap();
        assert_eq!(
            format!("{storage:?}"),
            "FileStorage(s3://chat-files/team/a)"
        );
        let url = storage
            .presigned_get("files/c/u", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9/chat-files/team/a/files/c/u?"),
            "{url}"
        );
        assert!(url.contains("%2Fus-west-2%2F"), "{url}");
    }

    /// A secret without its key id is a configuration error naming the
    /// problem.
    #[test]
    fn s3_configuration_errors_are_reported() {
        let mut env = s3_env();
        env.retain(|(k, _)| k != "AWS_ACCESS_KEY_ID");
        match FileStorage::from_url_with_env("s3://chat-files", env) {
            Err(StorageError::BadUrl { reason, .. }) => {
                assert!(
                    reason.contains("AWS_*") && reason.contains("AccessKeyId"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
