//! A file's type from its first bytes (never from its name or the type
//! its uploader declared), and the list of types an upload may be.
//!
//! Markup a browser could run (SVG, HTML, XML) is named as what it is,
//! even when it is valid UTF-8 text, so that [`AllowedTypes`] refuses it;
//! those types can never be allowed.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Image or file: the protocol's attachment kind, which a sniffed type
/// decides (an image that then fails to decode is stored as a file).
pub use crate::protocol::AttachmentKind as FileKind;

/// The four raster image types: the only ones shown inline, decoded for a
/// size and a thumbnail.
const INLINE_IMAGES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The type of text with no known signature.
pub const TEXT_PLAIN: &str = "text/plain";

/// Formats whose files may be plain UTF-8 text without NUL bytes; the
/// signature of any other format in a file that is such text is a chance
/// likeness (a text starting `BM` is no bitmap, one starting `MZ` no
/// program), since real files of those formats have binary bytes.
const TEXTUAL_FORMATS: [&str; 4] = [
    "application/pdf",
    "application/postscript",
    "application/rtf",
    "application/x-x509-ca-cert",
];

/// What a file's first bytes show it to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// The MIME type (lowercase, no parameters).
    pub mime: &'static str,
    /// Image (one of the four raster types) or file.
    pub kind: FileKind,
}

/// The type of a file from its first bytes (`head`, the first 8 KiB) and
/// whether the whole file is UTF-8 text without NUL bytes.
///
/// Markup (SVG, HTML, XML) is named first; then known signatures, except
/// that text whose first bytes only look like a binary format's signature
/// stays text; then other text is `text/plain`. `None` when nothing is
/// recognised (an unknown binary).
pub fn sniff(head: &[u8], looks_like_text: bool) -> Option<Sniffed> {
    if let Some(mime) = markup_type(head) {
        return Some(Sniffed::file(mime));
    }
    if let Some(found) = infer::get(head) {
        let mime = found.mime_type();
        if looks_like_text && !TEXTUAL_FORMATS.contains(&mime) {
            return Some(Sniffed::file(TEXT_PLAIN));
        }
        if found.matcher_type() == infer::MatcherType::Text {
            // infer's text guesses: HTML and XML were named above when they
            // are text; a shell script (`#!`) is text like any other, sent
            // as an attachment, never run.
            return match mime {
                "text/html" => Some(Sniffed::file("text/html")),
                "text/xml" => Some(Sniffed::file("text/xml")),
                _ if looks_like_text => Some(Sniffed::file(TEXT_PLAIN)),
                _ => None,
            };
        }
        let kind = if served_inline(mime) {
            FileKind::Image
        } else {
            FileKind::File
        };
        return Some(Sniffed { mime, kind });
    }
    looks_like_text.then(|| Sniffed::file(TEXT_PLAIN))
}

impl Sniffed {
    /// A type that is not an inline image.
    fn file(mime: &'static str) -> Self {
        Sniffed {
            mime,
            kind: FileKind::File,
        }
    }
}

/// Whether a file of this type is served inline as its type (the four
/// raster image types); every other file is served as an attachment.
pub fn served_inline(mime: &str) -> bool {
    let mime = essence(mime);
    INLINE_IMAGES
        .iter()
        .any(|image| mime.eq_ignore_ascii_case(image))
}

/// The markup type of a head that starts (after a byte order mark and
/// white space) with `<`: SVG, HTML or XML. Browsers run scripts in all
/// three, so these are told apart from plain text.
fn markup_type(head: &[u8]) -> Option<&'static str> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<") {
        return None;
    }
    let lower = head.to_ascii_lowercase();
    let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if contains(b"<svg") || contains(b"<!doctype svg") {
        return Some("image/svg+xml");
    }
    const HTML_TAGS: [&[u8]; 7] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<script",
        b"<iframe",
        b"<object",
    ];
    if HTML_TAGS.iter().any(|tag| contains(tag)) || infer::text::is_html(head) {
        return Some("text/html");
    }
    if lower.starts_with(b"<?xml") {
        return Some("text/xml");
    }
    None
}

/// The types uploads may be (`CHAT_UPLOAD_TYPES`): MIME types, `type/*`
/// wildcards and `default`, comma separated.
///
/// Active types (SVG, HTML, XHTML, XML, scripts) are refused when the list
/// is parsed, and never allowed by a wildcard either: a browser could run
/// them as a page or a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedTypes {
    /// Exact types, lowercase.
    exact: BTreeSet<String>,
    /// The top-level types of `type/*` entries, lowercase.
    wildcards: BTreeSet<String>,
    /// Whether `*/*` was listed.
    any: bool,
}

/// The types allowed by `default`: PROTOCOL.md "Uploads", with infer's
/// names for them.
const DEFAULT_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/gzip",
    "application/x-7z-compressed",
    "audio/mpeg",
    "audio/ogg",
    // Ogg with Opus inside (voice notes): infer names it apart from OGG.
    "audio/opus",
    "audio/x-wav",
    // MP4 audio and video under infer's other names for them.
    "audio/m4a",
    "video/mp4",
    "video/x-m4v",
    "video/webm",
    "video/quicktime",
    TEXT_PLAIN,
];

/// Why an allowed-types list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowedTypesError {
    /// The list names nothing.
    #[error("the upload types list is empty: list MIME types, `type/*` wildcards or `default`")]
    Empty,
    /// An entry is not a MIME type.
    #[error("`{0}` in the upload types list is not a MIME type: expected `type/subtype`, `type/*`, `*/*` or `default`")]
    NotAType(String),
    /// An entry is a type that is never allowed.
    #[error("`{0}` can never be an upload type: a browser could run it as a page or a script (SVG, HTML, XHTML, XML and scripts are refused)")]
    Forbidden(String),
}

impl AllowedTypes {
    /// Parses a comma-separated list (white space around entries and case
    /// ignored; empty entries skipped).
    ///
    /// # Errors
    ///
    /// An entry that is not a type, a never-allowed type, or no entry.
    pub fn parse(list: &str) -> Result<Self, AllowedTypesError> {
        let mut allowed = AllowedTypes {
            exact: BTreeSet::new(),
            wildcards: BTreeSet::new(),
            any: false,
        };
        let mut listed = false;
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            listed = true;
            let entry = entry.to_ascii_lowercase();
            if entry == "default" {
                allowed
                    .exact
                    .extend(DEFAULT_TYPES.iter().map(|t| (*t).to_owned()));
                continue;
            }
            let Some((top, sub)) = entry.split_once('/') else {
                return Err(AllowedTypesError::NotAType(entry));
            };
            match (top, sub) {
                ("*", "*") => allowed.any = true,
                (top, "*") if is_token(top) => {
                    allowed.wildcards.insert(top.to_owned());
                }
                (top, sub) if is_token(top) && is_token(sub) => {
                    if is_forbidden(&entry) {
                        return Err(AllowedTypesError::Forbidden(entry));
                    }
                    allowed.exact.insert(entry);
                }
                _ => return Err(AllowedTypesError::NotAType(entry)),
            }
        }
        if !listed {
            return Err(AllowedTypesError::Empty);
        }
        Ok(allowed)
    }

    /// Whether an upload of this type is allowed (case and parameters
    /// ignored). Never for an active type, whatever the list says.
    pub fn allows(&self, mime: &str) -> bool {
        let mime = essence(mime).to_ascii_lowercase();
        if is_forbidden(&mime) {
            return false;
        }
        let Some((top, _)) = mime.split_once('/') else {
            return false;
        };
        self.any || self.exact.contains(&mime) || self.wildcards.contains(top)
    }
}

impl Default for AllowedTypes {
    /// The `default` list: PNG, JPEG, GIF, WebP; PDF; ZIP and the office
    /// formats on it; gzip, 7z; MP3, OGG, WAV, MP4, WebM, QuickTime; text.
    fn default() -> Self {
        AllowedTypes {
            exact: DEFAULT_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            wildcards: BTreeSet::new(),
            any: false,
        }
    }
}

impl FromStr for AllowedTypes {
    type Err = AllowedTypesError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        AllowedTypes::parse(list)
    }
}

impl fmt::Display for AllowedTypes {
    /// The list in the form [`AllowedTypes::parse`] reads (for logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<String> = Vec::new();
        if self.any {
            entries.push("*/*".to_owned());
        }
        entries.extend(self.wildcards.iter().map(|top| format!("{top}/*")));
        entries.extend(self.exact.iter().cloned());
        f.write_str(&entries.join(","))
    }
}

/// Whether a (lowercase, parameterless) type is one a browser could run:
/// HTML, XHTML, SVG or any XML, or anything naming a script.
fn is_forbidden(mime: &str) -> bool {
    let Some((_, sub)) = mime.split_once('/') else {
        return false;
    };
    mime == "text/html"
        || sub == "xml"
        || sub.ends_with("+xml")
        || mime == "text/xsl"
        || mime.contains("script")
}

/// A MIME type without its parameters (`text/plain; charset=utf-8` ->
/// `text/plain`).
fn essence(mime: &str) -> &str {
    mime.split(';').next().unwrap_or(mime).trim()
}

/// Whether `s` is a MIME type or subtype name (RFC 6838 restricted-name).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 127
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mime_of(head: &[u8], text: bool) -> Option<&'static str> {
        sniff(head, text).map(|s| s.mime)
    }

    /// The four raster types are images, found by signature whatever the
    /// text flag says.
    #[test]
    fn raster_images_are_images() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
        let gif = b"GIF89a\x01\0\x01\0\0\0\0";
        let webp = b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0";
        for (head, mime) in [
            (&png[..], "image/png"),
            (&jpeg[..], "image/jpeg"),
            (&gif[..], "image/gif"),
            (&webp[..], "image/webp"),
        ] {
            let found = sniff(head, false).unwrap();
            assert_eq!(found.mime, mime);
            assert_eq!(found.kind, FileKind::Image, "{mime}");
        }
    }

    /// Other signatures give their type and kind `file` (a TIFF or BMP is
    /// an image to infer, but not one we show inline).
    #[test]
    fn other_signatures_are_files_with_their_type() {
        let cases: [(&[u8], &str); 7] = [
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
            (b"\x1f\x8b\x08\0\0\0\0\0\0\x03", "application/gzip"),
            (b"7z\xBC\xAF\x27\x1C\0\x04", "application/x-7z-compressed"),
            (b"II*\0\x08\0\0\0\0\0\0\0", "image/tiff"),
            (b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0", "image/bmp"),
            (
                b"MZ\x90\0\x03\0\0\0",
                "application/vnd.microsoft.portable-executable",
            ),
            (
                &[
                    0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0, 1,
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, 0, 0, 0, 0, 0,
                ],
                "application/x-executable",
            ),
        ];
        for (head, mime) in cases {
            let found = sniff(head, false).unwrap();
            assert_eq!(found.mime, mime);
            assert_eq!(found.kind, FileKind::File, "{mime}");
        }
        let zip = b"PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x05\0\0\0hello";
        assert_eq!(mime_of(zip, false), Some("application/zip"));
    }

    /// Text with no signature is `text/plain`; unknown binary is nothing.
    #[test]
    fn unknown_text_is_plain_and_unknown_binary_is_nothing() {
        assert_eq!(mime_of(b"hello, world\n", true), Some("text/plain"));
        assert_eq!(mime_of("grüße\n".as_bytes(), true), Some("text/plain"));
        assert_eq!(mime_of(b"", true), Some("text/plain"));
        assert_eq!(mime_of(b"\x01\x02\x03binary", false), None);
        assert_eq!(sniff(b"plain", true).unwrap().kind, FileKind::File);
    }

    /// Text whose first letters happen to match a weak binary signature
    /// (`BM` for a bitmap, `MZ` for a program, `%!` for PostScript when
    /// it is not) stays text; an all-ASCII PDF stays a PDF.
    #[test]
    fn text_is_not_mistaken_for_a_binary_format() {
        assert_eq!(
            mime_of(b"BMW 320d service notes\n", true),
            Some("text/plain")
        );
        assert_eq!(
            mime_of(b"MZ-80 emulator readme\n", true),
            Some("text/plain")
        );
        assert_eq!(
            mime_of(b"!<arch> is how ar files begin\n", true),
            Some("text/plain")
        );
        assert_eq!(
            mime_of(b"%PDF-1.1\n1 0 obj\n<< /Type /Catalog >>\n", true),
            Some("application/pdf")
        );
        assert_eq!(
            mime_of(b"%!PS-Adobe-3.0\n", true),
            Some("application/postscript")
        );
    }

    /// A shell script is text: `text/plain`, served as an attachment.
    #[test]
    fn a_shebang_is_plain_text() {
        assert_eq!(mime_of(b"#!/bin/sh\necho hi\n", true), Some("text/plain"));
        assert_eq!(mime_of(b"#!\x00\x01", false), None);
    }

    /// SVG, HTML and XML are named as such even though they are valid
    /// text, so they are never `text/plain` nor `image`.
    #[test]
    fn markup_is_named_for_what_it_is() {
        let cases: [(&[u8], &str); 9] = [
            (
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
                "image/svg+xml",
            ),
            (
                b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                "image/svg+xml",
            ),
            (
                b"\xEF\xBB\xBF  \n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x\">",
                "image/svg+xml",
            ),
            (
                b"<!-- made by hand -->\n<SVG width=\"10\">",
                "image/svg+xml",
            ),
            (b"<!DOCTYPE html><title>x</title>", "text/html"),
            (b"  <html lang=\"en\"><body>hi</body></html>", "text/html"),
            (b"<p>hello</p>", "text/html"),
            (b"<div><script>alert(1)</script></div>", "text/html"),
            (b"<?xml version=\"1.0\"?><note/>", "text/xml"),
        ];
        for (head, mime) in cases {
            let found = sniff(head, true).unwrap();
            assert_eq!(found.mime, mime, "{}", String::from_utf8_lossy(head));
            assert_eq!(found.kind, FileKind::File);
            assert!(!AllowedTypes::default().allows(found.mime), "{mime}");
        }
        // HTML in another encoding than UTF-8 is still HTML.
        assert_eq!(mime_of(b"<HTML>\xe9t\xe9</HTML>", false), Some("text/html"));
        // Text that only mentions tags is text.
        assert_eq!(mime_of(b"use <svg> for icons", true), Some("text/plain"));
    }

    /// Only the four raster types are served inline, whatever the case or
    /// parameters.
    #[test]
    fn only_raster_images_are_inline() {
        for mime in ["image/png", "image/jpeg", "IMAGE/GIF", "image/webp; q=1"] {
            assert!(served_inline(mime), "{mime}");
        }
        for mime in [
            "image/svg+xml",
            "image/tiff",
            "text/html",
            "text/plain",
            "application/pdf",
            "",
        ] {
            assert!(!served_inline(mime), "{mime}");
        }
    }

    /// The default list is the protocol's, with infer's names for office
    /// and media formats.
    #[test]
    fn the_default_list_allows_the_protocols_types() {
        let allowed = AllowedTypes::default();
        for mime in DEFAULT_TYPES {
            assert!(allowed.allows(mime), "{mime}");
        }
        assert!(allowed.allows("TEXT/PLAIN; charset=utf-8"));
        for mime in [
            "image/svg+xml",
            "image/tiff",
            "text/html",
            "application/x-executable",
            "application/vnd.microsoft.portable-executable",
            "application/msword",
            "video/x-matroska",
            "",
            "garbage",
        ] {
            assert!(!allowed.allows(mime), "{mime}");
        }
        assert_eq!(AllowedTypes::parse("default").unwrap(), allowed);
        assert_eq!(" Default ".parse::<AllowedTypes>().unwrap(), allowed);
    }

    /// Every type the default list names is one infer can report, so none
    /// of it is dead.
    #[test]
    fn the_default_types_are_infers_names() {
        for mime in DEFAULT_TYPES.iter().filter(|m| **m != TEXT_PLAIN) {
            assert!(
                infer::is_mime_supported(mime),
                "{mime} is not a type infer reports"
            );
        }
    }

    /// Exact types, wildcards and `default` combine; case and spaces do
    /// not matter.
    #[test]
    fn lists_combine_types_wildcards_and_default() {
        let allowed = AllowedTypes::parse(" image/PNG , audio/*,, application/pdf").unwrap();
        assert!(allowed.allows("image/png"));
        assert!(allowed.allows("audio/flac"));
        assert!(allowed.allows("application/pdf"));
        assert!(!allowed.allows("image/jpeg"));
        assert!(!allowed.allows("text/plain"));

        let allowed = AllowedTypes::parse("default,application/x-tar").unwrap();
        assert!(allowed.allows("application/x-tar"));
        assert!(allowed.allows("image/webp"));
        assert_eq!(
            AllowedTypes::parse("audio/*,image/png")
                .unwrap()
                .to_string(),
            "audio/*,image/png"
        );
    }

    /// A wildcard or `*/*` never lets an active type through.
    #[test]
    fn wildcards_never_allow_active_types() {
        let allowed = AllowedTypes::parse("*/*").unwrap();
        assert!(allowed.allows("application/x-executable"));
        let also = AllowedTypes::parse("image/*,text/*,application/*").unwrap();
        for list in [&allowed, &also] {
            for mime in [
                "image/svg+xml",
                "text/html",
                "application/xhtml+xml",
                "text/xml",
                "application/xml",
                "application/javascript",
                "text/javascript",
                "application/ecmascript",
                "text/x-shellscript",
            ] {
                assert!(!list.allows(mime), "{mime}");
            }
        }
    }

    /// Listing an active type is refused at parse time, naming it.
    #[test]
    fn active_types_are_refused_when_listed() {
        for mime in [
            "image/svg+xml",
            "text/html",
            "application/xhtml+xml",
            "text/xml",
            "application/xml",
            "application/javascript",
            "text/JavaScript",
            "application/x-shellscript",
        ] {
            let error = AllowedTypes::parse(&format!("default,{mime}")).unwrap_err();
            let lower = mime.to_ascii_lowercase();
            assert_eq!(error, AllowedTypesError::Forbidden(lower.clone()));
            assert!(error.to_string().contains(&lower), "{error}");
        }
    }

    /// Entries that are not types, and empty lists, are refused.
    #[test]
    fn malformed_lists_are_refused() {
        for entry in [
            "image",
            "/png",
            "image/",
            "*/png",
            "image/p ng",
            "image/png/x",
            "ima\"ge/png",
        ] {
            let error = AllowedTypes::parse(entry).unwrap_err();
            assert!(
                matches!(error, AllowedTypesError::NotAType(_)),
                "{entry}: {error:?}"
            );
        }
        assert_eq!(
            AllowedTypes::parse("").unwrap_err(),
            AllowedTypesError::Empty
        );
        assert_eq!(
            AllowedTypes::parse(" , ,").unwrap_err(),
            AllowedTypesError::Empty
        );
    }
}
