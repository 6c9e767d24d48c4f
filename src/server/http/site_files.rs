//! The site's static files (Wasm, JS, CSS, public assets) as a browser
//! should get them: compressed, validated and cached.
//!
//! The same rules serve the site compiled into the binary (`embed-site`) and
//! the site directory cargo-leptos writes:
//!
//! - **Encodings.** A file's `.br` and `.gz` siblings (written at build time
//!   by `cargo leptos build --release --precompress`) are sent to browsers
//!   that accept them, brotli first, with `Content-Encoding` and
//!   `Vary: Accept-Encoding`. Nothing is compressed per request: a build
//!   without siblings (debug) is sent as it is.
//! - **Validators.** A strong `ETag` per file and encoding, from the
//!   SHA-256 of the file's content; `If-None-Match` answers 304.
//! - **Versioned names.** The pages ask for `pkg/chat.<hash>.wasm`, where
//!   `<hash>` is the first 16 hex digits of that SHA-256
//!   ([`SiteFiles::versioned_path`]). Such a name never changes content, so
//!   it is cached for a year (`immutable`); a name whose hash is not the
//!   current content's answers 404. Plain names still work, revalidated on
//!   every use (`no-cache`).
//!
//! Embedded files never change, so their hashes are computed once. Files on
//! disk are re-read when their size or modification time changes
//! (`cargo leptos watch` rewrites them while the server runs).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use bytes::Bytes;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use super::embedded::{content_type, EmbeddedSite};
use crate::server::hex::lower_hex;

/// How long a versioned file may be cached: a year, never revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Plain names: cache, but ask every time whether it changed.
const REVALIDATE: &str = "no-cache";
/// Hex digits of the content hash in a versioned name.
const VERSION_LEN: usize = 16;

/// The site's files, from the binary or from a directory.
pub struct SiteFiles {
    source: Source,
    /// Content hashes: for embedded files forever, for files on disk until
    /// their size or modification time changes.
    hashes: Mutex<HashMap<String, Hashed>>,
}

/// Where the files come from.
enum Source {
    Embedded(EmbeddedSite),
    Dir(PathBuf),
}

/// A file's content hash and what it was computed from.
#[derive(Clone)]
struct Hashed {
    /// Size and modification time of a file on disk (`None` when embedded).
    stamp: Option<(u64, SystemTime)>,
    /// Lowercase hex SHA-256 of the content.
    hex: String,
}

/// A site file's content in each encoding the site has.
struct Variants {
    identity: Bytes,
    br: Option<Bytes>,
    gzip: Option<Bytes>,
    hex: String,
}

/// The representation sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Brotli,
    Gzip,
}

impl SiteFiles {
    /// Files compiled into the binary.
    pub fn embedded(site: EmbeddedSite) -> Self {
        SiteFiles {
            source: Source::Embedded(site),
            hashes: Mutex::default(),
        }
    }

    /// Files in `root` (the site directory cargo-leptos writes).
    pub fn dir(root: impl Into<PathBuf>) -> Self {
        SiteFiles {
            source: Source::Dir(root.into()),
            hashes: Mutex::default(),
        }
    }

    /// The path a page should use for the site file `relative`
    /// (`pkg/chat.wasm` becomes `/pkg/chat.<hash>.wasm`), or its plain path
    /// when the file does not exist (the page still renders; the request
    /// will answer 404).
    pub fn versioned_path(&self, relative: &str) -> String {
        match self.hash(relative) {
            Some(hex) => format!("/{}", versioned_name(relative, &hex[..VERSION_LEN])),
            None => format!("/{relative}"),
        }
    }

    /// The response for a request of `path`, if it names a site file (a
    /// versioned name of an older content answers 404). Reads files on disk
    /// on a blocking thread.
    pub async fn response(
        self: &std::sync::Arc<Self>,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let relative = safe_relative(path)?;
        if relative.ends_with(".br") || relative.ends_with(".gz") {
            // Precompressed siblings are representations, not resources.
            return Some(not_found());
        }
        let (plain, version) = split_version(&relative);
        let variants = match &self.source {
            Source::Embedded(_) => self.variants(&plain)?,
            Source::Dir(_) => {
                let this = self.clone();
                let plain = plain.clone();
                tokio::task::spawn_blocking(move || this.variants(&plain))
                    .await
                    .ok()??
            }
        };
        if let Some(version) = &version {
            if !variants.hex.starts_with(version.as_str()) {
                return Some(not_found());
            }
        }
        let encoding = choose_encoding(
            headers.get(header::ACCEPT_ENCODING),
            variants.br.is_some(),
            variants.gzip.is_some(),
        );
        let etag = format!(
            "\"{}{}\"",
            &variants.hex[..32],
            match encoding {
                Encoding::Identity => "",
                Encoding::Brotli => "-br",
                Encoding::Gzip => "-gz",
            }
        );
        let cache = if version.is_some() {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let mut res = Response::new(Body::empty());
        let h = res.headers_mut();
        h.insert(header::ETAG, header_value(&etag));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if if_none_match(headers.get(header::IF_NONE_MATCH), &etag) {
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            return Some(res);
        }
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(&plain)),
        );
        let body = match encoding {
            Encoding::Identity => variants.identity,
            Encoding::Brotli => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
                variants.br.unwrap_or_default()
            }
            Encoding::Gzip => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                variants.gzip.unwrap_or_default()
            }
        };
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        if method != Method::HEAD {
            *res.body_mut() = Body::from(body);
        }
        Some(res)
    }

    /// The file's bytes in every encoding the site has, with its hash.
    fn variants(&self, relative: &str) -> Option<Variants> {
        let identity = self.read(relative)?;
        let hex = self.hash_of(relative, &identity)?;
        Some(Variants {
            br: self.read_sibling(relative, "br"),
            gzip: self.read_sibling(relative, "gz"),
            identity,
            hex,
        })
    }

    /// The content hash of `relative`, computed when not known.
    fn hash(&self, relative: &str) -> Option<String> {
        if let Some(hex) = self.known_hash(relative) {
            return Some(hex);
        }
        let bytes = self.read(relative)?;
        self.hash_of(relative, &bytes)
    }

    /// The cached hash, if it still describes the file.
    fn known_hash(&self, relative: &str) -> Option<String> {
        let cached = self.hashes.lock().get(relative).cloned()?;
        match (&self.source, cached.stamp) {
            (Source::Embedded(_), _) => Some(cached.hex),
            (Source::Dir(root), Some(stamp)) => {
                (file_stamp(&root.join(relative)) == Some(stamp)).then_some(cached.hex)
            }
            (Source::Dir(_), None) => None,
        }
    }

    /// Hashes `bytes` (the content of `relative`) and remembers it.
    fn hash_of(&self, relative: &str, bytes: &[u8]) -> Option<String> {
        if let Some(hex) = self.known_hash(relative) {
            return Some(hex);
        }
        let hex = hex_digest(bytes);
        let stamp = match &self.source {
            Source::Embedded(_) => None,
            Source::Dir(root) => Some(file_stamp(&root.join(relative))?),
        };
        self.hashes.lock().insert(
            relative.to_owned(),
            Hashed {
                stamp,
                hex: hex.clone(),
            },
        );
        Some(hex)
    }

    /// The precompressed sibling (`ext`: `br` or `gz`) of `relative`. On
    /// disk only one written no earlier than the file itself: a sibling left
    /// from an older build would send other bytes than the file.
    fn read_sibling(&self, relative: &str, ext: &str) -> Option<Bytes> {
        let sibling = format!("{relative}.{ext}");
        if let Source::Dir(root) = &self.source {
            let (_, file_time) = file_stamp(&root.join(relative))?;
            let (_, sibling_time) = file_stamp(&root.join(&sibling))?;
            if sibling_time < file_time {
                return None;
            }
        }
        self.read(&sibling)
    }

    /// A file's bytes, if it exists.
    fn read(&self, relative: &str) -> Option<Bytes> {
        match &self.source {
            Source::Embedded(site) => Some(match (site.lookup)(relative)? {
                Cow::Borrowed(b) => Bytes::from_static(b),
                Cow::Owned(v) => Bytes::from(v),
            }),
            Source::Dir(root) => {
                let path = root.join(relative);
                path.is_file()
                    .then(|| std::fs::read(path).ok())?
                    .map(Bytes::from)
            }
        }
    }
}

/// The request path as a path below the site root, if it is one: no `..`,
/// no absolute parts, not empty.
fn safe_relative(path: &str) -> Option<String> {
    let relative = path.trim_start_matches('/');
    if relative.is_empty() || relative.ends_with('/') {
        return None;
    }
    let ok = Path::new(relative)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    ok.then(|| relative.to_owned())
}

/// `pkg/chat.wasm` with version `abc` is `pkg/chat.abc.wasm`.
fn versioned_name(relative: &str, version: &str) -> String {
    let (dir, file) = relative.rsplit_once('/').unwrap_or(("", relative));
    let versioned = match file.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{version}.{ext}"),
        None => format!("{file}.{version}"),
    };
    if dir.is_empty() {
        versioned
    } else {
        format!("{dir}/{versioned}")
    }
}

/// Splits a versioned name into the plain name and the version:
/// `pkg/chat.0123456789abcdef.wasm` is `(pkg/chat.wasm, Some(0123...))`.
fn split_version(relative: &str) -> (String, Option<String>) {
    let (dir, file) = relative.rsplit_once('/').unwrap_or(("", relative));
    let parts: Vec<&str> = file.split('.').collect();
    if parts.len() >= 3 {
        let version = parts[parts.len() - 2];
        let is_version = version.len() == VERSION_LEN
            && version
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if is_version {
            let mut plain_parts = parts.clone();
            plain_parts.remove(parts.len() - 2);
            let plain = plain_parts.join(".");
            let plain = if dir.is_empty() {
                plain
            } else {
                format!("{dir}/{plain}")
            };
            return (plain, Some(version.to_owned()));
        }
    }
    (relative.to_owned(), None)
}

/// The best encoding the request accepts among those available: brotli,
/// then gzip, else the file as it is. A coding with `q=0` is refused;
/// `*` accepts any coding not named.
fn choose_encoding(accept: Option<&HeaderValue>, has_br: bool, has_gzip: bool) -> Encoding {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return Encoding::Identity;
    };
    let mut br = None;
    let mut gzip = None;
    let mut any = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").map(str::trim))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let accepted = q > 0.0;
        match coding.as_str() {
            "br" => br = Some(accepted),
            "gzip" | "x-gzip" => gzip = Some(accepted),
            "*" => any = Some(accepted),
            _ => {}
        }
    }
    let any = any.unwrap_or(false);
    if has_br && br.unwrap_or(any) {
        Encoding::Brotli
    } else if has_gzip && gzip.unwrap_or(any) {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks
/// for this header), or is `*`.
fn if_none_match(header: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(value) = header.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// 404 for a site path that names no current file.
fn not_found() -> Response<Body> {
    let mut res = Response::new(Body::from("not found (an older version of the site?)\n"));
    *res.status_mut() = StatusCode::NOT_FOUND;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    res
}

/// Size and modification time, which change when the file is rewritten.
fn file_stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Lowercase hex SHA-256.
fn hex_digest(bytes: &[u8]) -> String {
    lower_hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderValue {
        HeaderValue::from_str(v).unwrap()
    }

    #[test]
    fn the_best_accepted_encoding_is_chosen() {
        let all = |v: &str| choose_encoding(Some(&accept(v)), true, true);
        assert_eq!(all("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(all("gzip"), Encoding::Gzip);
        assert_eq!(all("br;q=0, gzip"), Encoding::Gzip);
        assert_eq!(all("identity"), Encoding::Identity);
        assert_eq!(all("*"), Encoding::Brotli);
        assert_eq!(all("*, br;q=0"), Encoding::Gzip);
        assert_eq!(all("gzip;q=0, br;q=0"), Encoding::Identity);
        assert_eq!(choose_encoding(None, true, true), Encoding::Identity);
        assert_eq!(
            choose_encoding(Some(&accept("br")), false, true),
            Encoding::Identity
        );
    }

    #[test]
    fn versioned_names_round_trip() {
        let v = "0123456789abcdef";
        assert_eq!(
            versioned_name("pkg/chat.wasm", v),
            "pkg/chat.0123456789abcdef.wasm"
        );
        assert_eq!(
            versioned_name("favicon.svg", v),
            "favicon.0123456789abcdef.svg"
        );
        assert_eq!(
            split_version("pkg/chat.0123456789abcdef.wasm"),
            ("pkg/chat.wasm".to_owned(), Some(v.to_owned()))
        );
        assert_eq!(
            split_version("pkg/chat.wasm"),
            ("pkg/chat.wasm".to_owned(), None)
        );
        // Not a version: wrong length or not lowercase hex.
        assert_eq!(split_version("pkg/chat.0123.wasm").1, None);
        assert_eq!(split_version("pkg/chat.0123456789ABCDEF.wasm").1, None);
    }

    #[test]
    fn only_paths_below_the_root_are_site_paths() {
        assert_eq!(
            safe_relative("/pkg/chat.js").as_deref(),
            Some("pkg/chat.js")
        );
        assert_eq!(safe_relative("/"), None);
        assert_eq!(safe_relative("/pkg/../../etc/passwd"), None);
        assert_eq!(safe_relative("/pkg/"), None);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let tag = "\"abc-br\"";
        assert!(if_none_match(Some(&accept("\"abc-br\"")), tag));
        assert!(if_none_match(Some(&accept("W/\"abc-br\", \"x\"")), tag));
        assert!(if_none_match(Some(&accept("*")), tag));
        assert!(!if_none_match(Some(&accept("\"abc\"")), tag));
        assert!(!if_none_match(None, tag));
    }
}
