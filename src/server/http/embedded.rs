//! The site (Wasm, JS, CSS, public assets) compiled into the binary, so a
//! release binary runs from any directory with nothing beside it. The
//! binary supplies the files (`--features embed-site`, see `main.rs`);
//! `site_files` serves them.

use std::borrow::Cow;

/// Looks a site file up by its path below the site root ("pkg/chat.wasm").
pub type SiteLookup = fn(&str) -> Option<Cow<'static, [u8]>>;

/// The embedded site, when the binary has one.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedSite {
    /// The lookup the binary compiled in.
    pub lookup: SiteLookup,
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

    #[test]
    fn site_files_have_their_media_types() {
        assert_eq!(content_type("pkg/chat.wasm"), "application/wasm");
        assert_eq!(
            content_type("pkg/chat.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("a/b.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
