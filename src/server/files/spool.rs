//! An upload's body written to a temporary file as it arrives: its size,
//! SHA-256 and first bytes measured on the way, the size limit enforced
//! while it streams, and the file removed whenever the upload goes no
//! further.
//!
//! The body is never held whole in memory: one chunk at a time passes
//! through, and only the first [`HEAD_BYTES`] are kept (for type sniffing).

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::server::hex::lower_hex;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// How many of the body's first bytes [`Spooled::head`] keeps: enough for
/// every signature the type sniffer knows (office formats look a few KiB
/// into their ZIP).
pub const HEAD_BYTES: usize = 8 * 1024;

/// The prefix of every spool file's name; [`sweep_stale`] removes only
/// files with this prefix and [`PART_SUFFIX`].
const PART_PREFIX: &str = "upload-";

/// The suffix of every spool file's name.
const PART_SUFFIX: &str = ".part";

/// Why a body could not be spooled. In every case the temporary file is
/// already gone.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The body passed the size limit; reading stopped at the chunk that
    /// passed it (PROTOCOL.md: 413 `FILE_TOO_LARGE`).
    #[error("the upload is larger than the limit of {max_bytes} bytes")]
    TooLarge {
        /// The limit that was passed.
        max_bytes: u64,
    },
    /// The body's stream failed (the client went away, the multipart
    /// framing broke): the caller's side, not the server's.
    #[error("the upload's body could not be read: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The spool directory or file could not be written: the server's
    /// side (disk full, permissions).
    #[error("the upload could not be written to {}: {source}", path.display())]
    Io {
        /// The directory or file that failed.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

/// A body written whole to a temporary file, with what was learnt while
/// writing it.
///
/// It owns its file: dropping it removes the file, unless
/// [`Spooled::into_path`] took the file over. The file is synced to disk.
#[derive(Debug)]
pub struct Spooled {
    /// Where the bytes are (to copy them into storage or inspect them);
    /// removed when this is dropped.
    pub path: PathBuf,
    /// Set when [`Spooled::into_path`] handed the file over.
    kept: bool,
    /// Bytes in the body.
    pub size: u64,
    /// Hex (lowercase) SHA-256 of the body.
    pub sha256: String,
    /// The body's first [`HEAD_BYTES`] bytes (all of it when shorter).
    pub head: Vec<u8>,
    /// Whether the whole body is valid UTF-8 without a NUL byte: text,
    /// when no signature says otherwise.
    pub looks_like_text: bool,
}

impl Spooled {
    /// Takes the file over: it is no longer removed when this is dropped,
    /// and the caller answers for it.
    pub fn into_path(mut self) -> PathBuf {
        self.kept = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        if !self.kept {
            remove_part(&self.path);
        }
    }
}

/// The file being written, removed when dropped unless handed on. Every
/// way out of [`spool`] but success (an error, the limit, the request's
/// future dropped when the client goes away) drops it, so no half upload
/// stays on disk.
#[derive(Debug)]
struct PartFile {
    /// The file; empty once handed on.
    path: PathBuf,
}

impl PartFile {
    /// Hands the file on (to a [`Spooled`]); it is no longer removed here.
    fn hand_on(mut self) -> PathBuf {
        std::mem::take(&mut self.path)
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            remove_part(&self.path);
        }
    }
}

/// Removes a spool file (already gone is fine; a failure is logged, and
/// [`sweep_stale`] gets it later).
fn remove_part(path: &Path) {
    if let Err(error) = std::fs::remove_file(path) {
        if error.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), %error, "could not remove a spooled upload");
        }
    }
}

/// Writes `body` to a new temporary file in `dir` (created if missing),
/// chunk by chunk, measuring it on the way.
///
/// # Errors
///
/// [`SpoolError::TooLarge`] as soon as the bytes read pass `max_bytes`
/// (the rest is not read), [`SpoolError::Body`] when the stream fails,
/// [`SpoolError::Io`] when the file cannot be written. The temporary file
/// is removed in each case.
pub async fn spool<S, E>(mut body: S, dir: &Path, max_bytes: u64) -> Result<Spooled, SpoolError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SpoolError::Io { path, source }
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(io_error(dir))?;

    let part = PartFile {
        path: dir.join(format!(
            "{PART_PREFIX}{}{PART_SUFFIX}",
            uuid::Uuid::new_v4()
        )),
    };
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(&part.path)
        .await
        .map_err(io_error(&part.path))?;

    let mut size: u64 = 0;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut text = TextCheck::default();

    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| SpoolError::Body(Box::new(error)))?;
        size = size.saturating_add(chunk.len() as u64);
        if size > max_bytes {
            return Err(SpoolError::TooLarge { max_bytes });
        }
        hasher.update(&chunk);
        if head.len() < HEAD_BYTES {
            let take = chunk.len().min(HEAD_BYTES - head.len());
            head.extend_from_slice(&chunk[..take]);
        }
        text.feed(&chunk);
        file.write_all(&chunk).await.map_err(io_error(&part.path))?;
    }
    file.flush().await.map_err(io_error(&part.path))?;
    file.sync_all().await.map_err(io_error(&part.path))?;
    drop(file);

    Ok(Spooled {
        path: part.hand_on(),
        kept: false,
        size,
        sha256: lower_hex(&hasher.finalize()),
        head,
        looks_like_text: text.finish(),
    })
}

/// Removes spool files (`upload-*.part`) in `dir` last modified more than
/// `older_than` ago: what a server killed in the middle of uploads left.
/// A missing `dir` has nothing to sweep. Blocking (call it at startup or
/// from `spawn_blocking`).
///
/// # Returns
///
/// How many files were removed.
///
/// # Errors
///
/// When `dir` cannot be listed. A file that cannot be removed is logged
/// and skipped.
pub fn sweep_stale(dir: &Path, older_than: Duration) -> io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(PART_PREFIX) && name.ends_with(PART_SUFFIX)) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        // A modification time in the future (a clock step) counts as new.
        let age = meta
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok());
        if age.is_some_and(|age| age > older_than) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %entry.path().display(), %error, "could not remove a stale spooled upload");
                }
            }
        }
    }
    Ok(removed)
}

/// Whether a byte stream fed in pieces is valid UTF-8 without a NUL byte.
/// A character cut by a chunk boundary is carried over and checked with
/// the next chunk.
#[derive(Debug)]
struct TextCheck {
    /// False once a NUL or an invalid sequence was seen.
    valid: bool,
    /// The start of a character the last chunk cut off (at most 3 bytes).
    carry: Vec<u8>,
}

impl Default for TextCheck {
    fn default() -> Self {
        TextCheck {
            valid: true,
            carry: Vec::new(),
        }
    }
}

impl TextCheck {
    /// Checks the next piece.
    fn feed(&mut self, mut data: &[u8]) {
        if !self.valid {
            return;
        }
        if data.contains(&0) {
            self.valid = false;
            return;
        }
        // Complete the carried character a byte at a time (at most 3).
        while !self.carry.is_empty() {
            let Some((&byte, rest)) = data.split_first() else {
                return;
            };
            data = rest;
            self.carry.push(byte);
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                Err(error) if error.error_len().is_none() => {}
                Err(_) => {
                    self.valid = false;
                    return;
                }
            }
        }
        if let Err(error) = std::str::from_utf8(data) {
            match error.error_len() {
                Some(_) => self.valid = false,
                None => self.carry = data[error.valid_up_to()..].to_vec(),
            }
        }
    }

    /// The verdict once the stream ended (a cut character at the end is
    /// invalid).
    fn finish(&self) -> bool {
        self.valid && self.carry.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;
    use std::fmt;

    /// A body error as a multipart reader would give one.
    #[derive(Debug)]
    struct Broken;

    impl fmt::Display for Broken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connection reset")
        }
    }

    impl std::error::Error for Broken {}

    fn body(chunks: Vec<Vec<u8>>) -> impl Stream<Item = Result<Bytes, Broken>> + Unpin {
        stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))))
    }

    fn files_in(dir: &Path) -> Vec<PathBuf> {
        match std::fs::read_dir(dir) {
            Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A multi-chunk body lands whole in a new `upload-*.part` file (in a
    /// directory spool creates), with its size, SHA-256 and first 8 KiB.
    #[tokio::test]
    async fn a_body_in_many_chunks_is_written_whole_and_measured() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spool");
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Vec<u8>> = data.chunks(3_000).map(<[u8]>::to_vec).collect();

        let spooled = spool(body(chunks), &dir, 1 << 20).await.unwrap();

        assert_eq!(spooled.size, 50_000);
        assert_eq!(std::fs::read(&spooled.path).unwrap(), data);
        assert_eq!(spooled.sha256, lower_hex(&Sha256::digest(&data)));
        assert_eq!(spooled.head, data[..HEAD_BYTES]);
        assert!(!spooled.looks_like_text, "byte 0 is a NUL");
        let name = spooled.path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("upload-") && name.ends_with(".part"),
            "{name}"
        );
        assert_eq!(spooled.path.parent(), Some(dir.as_path()));
    }

    /// The well-known digest of "abc" (FIPS 180-2), in lowercase hex.
    #[tokio::test]
    async fn the_digest_is_lowercase_hex_sha256() {
        let tmp = tempfile::tempdir().unwrap();
        let spooled = spool(body(vec![b"a".to_vec(), b"bc".to_vec()]), tmp.path(), 10)
            .await
            .unwrap();
        assert_eq!(
            spooled.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(spooled.head, b"abc");
        assert!(spooled.looks_like_text);
    }

    /// Dropping the result removes the file; `into_path` keeps it.
    #[tokio::test]
    async fn the_file_lives_as_long_as_the_result_unless_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let spooled = spool(body(vec![b"x".to_vec()]), tmp.path(), 10)
            .await
            .unwrap();
        let path = spooled.path.to_path_buf();
        assert!(path.exists());
        drop(spooled);
        assert!(!path.exists());

        let spooled = spool(body(vec![b"y".to_vec()]), tmp.path(), 10)
            .await
            .unwrap();
        let path = spooled.into_path();
        assert!(path.exists(), "taken over, so kept");
        assert_eq!(std::fs::read(&path).unwrap(), b"y");
    }

    /// A body exactly at the limit is accepted; one byte more is refused,
    /// nothing is left behind, and the chunks after the one that passed
    /// the limit are never pulled from the stream.
    #[tokio::test]
    async fn a_body_past_the_limit_is_refused_while_streaming() {
        let tmp = tempfile::tempdir().unwrap();
        let at_limit = spool(body(vec![vec![b'a'; 60], vec![b'b'; 40]]), tmp.path(), 100)
            .await
            .unwrap();
        assert_eq!(at_limit.size, 100);
        drop(at_limit);

        let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = pulled.clone();
        let endless = stream::iter(0..).map(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, Broken>(Bytes::from(vec![b'z'; 40]))
        });
        let error = spool(endless, tmp.path(), 100).await.unwrap_err();
        assert!(
            matches!(error, SpoolError::TooLarge { max_bytes: 100 }),
            "{error:?}"
        );
        assert_eq!(pulled.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert!(
            files_in(tmp.path()).is_empty(),
            "{:?}",
            files_in(tmp.path())
        );
    }

    /// A stream that fails half way gives `Body` and leaves no file.
    #[tokio::test]
    async fn a_broken_body_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let broken = stream::iter(vec![Ok(Bytes::from_static(b"hello")), Err(Broken)]);
        let error = spool(broken, tmp.path(), 100).await.unwrap_err();
        assert!(matches!(error, SpoolError::Body(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            "the upload's body could not be read: connection reset"
        );
        assert!(files_in(tmp.path()).is_empty());
    }

    /// A spool directory that cannot be created is an `Io` error naming it.
    #[tokio::test]
    async fn an_unwritable_directory_is_an_io_error() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("not-a-dir");
        std::fs::write(&blocker, b"").unwrap();
        let error = spool(body(vec![b"x".to_vec()]), &blocker.join("spool"), 10)
            .await
            .unwrap_err();
        match error {
            SpoolError::Io { path, .. } => assert_eq!(path, blocker.join("spool")),
            other => panic!("{other:?}"),
        }
    }

    /// A future dropped mid-body (the client went away) removes its file.
    #[tokio::test]
    async fn a_cancelled_spool_removes_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Bytes, Broken>>();
        tx.send(Ok(Bytes::from_static(b"first"))).unwrap();
        let rx = Box::pin(stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let task = tokio::spawn({
            let dir = tmp.path().to_path_buf();
            async move { spool(rx, &dir, 100).await.map(|_| ()) }
        });
        // Wait until the file exists and the first chunk was taken.
        for _ in 0..200 {
            if !files_in(tmp.path()).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(files_in(tmp.path()).len(), 1);
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(files_in(tmp.path()).is_empty());
        drop(tx);
    }

    /// Multi-byte characters cut by chunk boundaries still count as text;
    /// invalid sequences, a NUL, or a character cut by the end do not.
    #[test]
    fn text_is_checked_across_chunk_boundaries() {
        fn verdict(chunks: &[&[u8]]) -> bool {
            let mut check = TextCheck::default();
            for chunk in chunks {
                check.feed(chunk);
            }
            check.finish()
        }
        let euro = "€".as_bytes(); // E2 82 AC
        let smile = "😀".as_bytes(); // F0 9F 98 80
        assert!(verdict(&[
            b"price: ",
            &euro[..1],
            &euro[1..2],
            &euro[2..],
            b"!"
        ]));
        assert!(verdict(&[&smile[..3], &smile[3..]]));
        assert!(verdict(&[&smile[..1], &[], &smile[1..2], &smile[2..]]));
        assert!(verdict(&[b""]));
        assert!(verdict(&[]));
        assert!(!verdict(&[b"abc", &euro[..2]]), "cut by the end");
        assert!(!verdict(&[&euro[..1], b"x"]), "continuation missing");
        assert!(!verdict(&[b"a\0b"]), "NUL");
        assert!(!verdict(&[&[0xff], b"abc"]));
        assert!(
            !verdict(&[b"ok", &[0xc3], &[0x28]]),
            "bad continuation in the next chunk"
        );
    }

    /// The whole body counts, not only the head: a NUL after 8 KiB makes
    /// it binary.
    #[tokio::test]
    async fn text_is_judged_on_the_whole_body() {
        let tmp = tempfile::tempdir().unwrap();
        let mut chunks = vec![vec![b'a'; HEAD_BYTES + 10]];
        chunks.push(vec![b'b', 0, b'c']);
        let spooled = spool(body(chunks), tmp.path(), 1 << 20).await.unwrap();
        assert!(!spooled.looks_like_text);
        assert_eq!(spooled.head.len(), HEAD_BYTES);
    }

    /// Only old `upload-*.part` files are swept; fresh ones, other files
    /// and a missing directory are left alone.
    #[test]
    fn sweep_removes_only_old_part_files() {
        let tmp = tempfile::tempdir().unwrap();
        let old = tmp.path().join("upload-old.part");
        let fresh = tmp.path().join("upload-fresh.part");
        let other = tmp.path().join("notes.txt");
        for path in [&old, &fresh, &other] {
            std::fs::write(path, b"x").unwrap();
        }
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for path in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        }

        let removed = sweep_stale(tmp.path(), Duration::from_secs(600)).unwrap();

        assert_eq!(removed, 1);
        assert!(!old.exists());
        assert!(fresh.exists());
        assert!(other.exists());
        assert_eq!(
            sweep_stale(&tmp.path().join("missing"), Duration::ZERO).unwrap(),
            0
        );
    }
}
