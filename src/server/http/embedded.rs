//! The site (Wasm, JS, CSS, public assets) compiled into the binary, so a
//! release binary runs from any directory with nothing beside it. The
//! binary supplies the files (`--features embed-site`, see `main.rs`); the
//! router serves them before falling back to the pages.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};

/// Looks a site file up by its path below the site root ("pkg/chat.wasm").
pub type SiteLookup = fn(&str) -> Option<Cow<'static, [u8]>>;

/// The embedded site, when the binary has one.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedSite {
    /// The lookup the binary compiled in.
    pub lookup: SiteLookup,
}

impl EmbeddedSite {
    /// The response for `path` (a request path), if it names an embedded
    /// file.
    pub fn response(&self, path: &str) -> Option<Response<Body>> {
        let relative = path.trim_start_matches('/');
        if relative.is_empty() || relative.contains("..") {
            return None;
        }
        let bytes = (self.lookup)(relative)?;
        let mut res = Response::new(Body::from(bytes.into_owned()));
        *res.status_mut() = StatusCode::OK;
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(relative)),
        );
        // The bundle's names do not change between releases: revalidate.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Some(res)
    }
}

/// The media type of a site file, by extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(path: &str) -> Option<Cow<'static, [u8]>> {
        (path == "pkg/chat.wasm").then(|| Cow::Borrowed(&b"\0asm"[..]))
    }

    #[test]
    fn embedded_files_are_served_with_their_type_and_nothing_else() {
        let site = EmbeddedSite { lookup };
        let res = site.response("/pkg/chat.wasm").expect("served");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/wasm");
        assert!(site.response("/pkg/other.js").is_none());
        assert!(site.response("/").is_none());
        assert!(site.response("/pkg/../pkg/chat.wasm").is_none());
        assert_eq!(content_type("a/b.css"), "text/css; charset=utf-8");
    }
}
