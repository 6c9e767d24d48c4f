//! What a fetched page says about itself (PROTOCOL.md "Link previews"):
//! its title, description, site name and preview image, read from the
//! `og:` and `twitter:` meta tags, else `<title>` and
//! `<meta name="description">`, as plain text.
//!
//! The HTML is read with html5ever's tokenizer only (no tree is built):
//! it decodes character references and reads broken, uppercase or
//! truncated markup as browsers do. Reading stops at the end of the head
//! once something was found, so a page cut at the byte limit still works.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// What a page says about itself: the parts of a link preview that come
/// from the page (plain text, cut to the limits below; `None` when the
/// page says nothing usable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageMeta {
    /// `og:title`, else `twitter:title`, else `<title>`.
    pub title: Option<String>,
    /// `og:description`, else `twitter:description`, else
    /// `<meta name="description">`.
    pub description: Option<String>,
    /// `og:site_name`.
    pub site_name: Option<String>,
    /// `og:image`, else `twitter:image`, resolved against the page's URL;
    /// only `http` and `https` URLs are kept.
    pub image: Option<url::Url>,
}

/// The longest title a preview carries, in characters (PROTOCOL.md: 200),
/// so that a page cannot fill a message with its title.
pub const MAX_TITLE_CHARS: usize = 200;

/// The longest description a preview carries, in characters
/// (PROTOCOL.md: 500).
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// The longest site name kept, in characters: it is shown like a title.
const MAX_SITE_NAME_CHARS: usize = MAX_TITLE_CHARS;

/// The longest image URL kept, in bytes: anything longer is not a link
/// worth fetching (and is often an inlined blob).
const MAX_IMAGE_URL_BYTES: usize = 4096;

/// How much raw `<title>` text is gathered before cleaning, in bytes;
/// generous, as whitespace runs shrink when collapsed.
const MAX_RAW_TITLE_BYTES: usize = 64 * 1024;

/// The tokenizer is fed this many bytes at a time, so that reading can
/// stop soon after the head.
const FEED_CHUNK_BYTES: usize = 4096;

/// The meta keys read, in order of preference within each field.
const TITLE_KEYS: [&str; 2] = ["og:title", "twitter:title"];
const DESCRIPTION_KEYS: [&str; 3] = ["og:description", "twitter:description", "description"];
const SITE_NAME_KEYS: [&str; 1] = ["og:site_name"];
const IMAGE_KEYS: [&str; 5] = [
    "og:image",
    "og:image:secure_url",
    "og:image:url",
    "twitter:image",
    "twitter:image:src",
];

/// Reads a page's preview metadata from its HTML (already decoded, see
/// [`decode_text`]); `page_url` is where the page was fetched from (after
/// redirects), against which a relative image URL is resolved. Never
/// fails: a page that says nothing gives [`PageMeta::default`].
pub fn read_page(html: &str, page_url: &url::Url) -> PageMeta {
    let tokenizer = Tokenizer::new(Reader::default(), TokenizerOpts::default());
    let queue = BufferQueue::default();
    let mut rest = html;
    while !rest.is_empty() && !tokenizer.sink.is_done() {
        // A chunk is never empty (a char is at most 4 bytes), so this ends.
        let cut = floor_char_boundary(rest, FEED_CHUNK_BYTES).max(1);
        let cut = (cut..=rest.len())
            .find(|&i| rest.is_char_boundary(i))
            .unwrap_or(rest.len());
        let (chunk, tail) = rest.split_at(cut);
        queue.push_back(StrTendril::from_slice(chunk));
        // The sink never asks for a script to run, so this only ends when
        // the chunk is used up.
        let _ = tokenizer.feed(&queue);
        rest = tail;
    }
    if !tokenizer.sink.is_done() {
        tokenizer.end();
    }
    let found = tokenizer.sink.state.into_inner().finish();
    found.into_meta(page_url)
}

/// The largest index `<= max` that is a char boundary of `s`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The raw values found, before cleaning and choosing.
#[derive(Debug, Default)]
struct Found {
    /// `(key, content)` of each meta tag with a key we read, in document
    /// order.
    metas: Vec<(&'static str, String)>,
    /// The first `<title>`'s text.
    title: Option<String>,
    /// The first `<base href>`.
    base: Option<String>,
}

impl Found {
    fn is_empty(&self) -> bool {
        self.metas.is_empty() && self.title.is_none()
    }

    /// The first cleaned, non-empty value among `keys`, in key order.
    fn text(&self, keys: &[&str], max_chars: usize) -> Option<String> {
        keys.iter().find_map(|key| {
            self.metas
                .iter()
                .filter(|(k, _)| k == key)
                .find_map(|(_, v)| clean_text(v, max_chars))
        })
    }

    fn into_meta(self, page_url: &url::Url) -> PageMeta {
        let title = self.text(&TITLE_KEYS, MAX_TITLE_CHARS).or_else(|| {
            self.title
                .as_deref()
                .and_then(|t| clean_text(t, MAX_TITLE_CHARS))
        });
        let description = self.text(&DESCRIPTION_KEYS, MAX_DESCRIPTION_CHARS);
        let site_name = self.text(&SITE_NAME_KEYS, MAX_SITE_NAME_CHARS);
        let base = self
            .base
            .as_deref()
            .and_then(|b| page_url.join(b.trim()).ok())
            .filter(is_web_url);
        let base = base.as_ref().unwrap_or(page_url);
        let image = IMAGE_KEYS.iter().find_map(|key| {
            self.metas
                .iter()
                .filter(|(k, _)| k == key)
                .find_map(|(_, v)| image_url(v, base))
        });
        PageMeta {
            title,
            description,
            site_name,
            image,
        }
    }
}

fn is_web_url(url: &url::Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// An image URL as written in the page, resolved; `None` unless `http` or
/// `https`.
fn image_url(raw: &str, base: &url::Url) -> Option<url::Url> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_IMAGE_URL_BYTES {
        return None;
    }
    base.join(raw).ok().filter(is_web_url)
}

/// The tokenizer's sink: gathers what [`Found`] holds and says when to
/// stop.
#[derive(Debug, Default)]
struct Reader {
    state: RefCell<ReadState>,
}

#[derive(Debug, Default)]
struct ReadState {
    found: Found,
    /// Inside the first `<title>` (its text is being gathered).
    in_title: bool,
    title_text: String,
    /// Inside `<svg>` or `<math>`, whose `<title>` is not the page's.
    foreign_depth: usize,
    /// Nothing more is read.
    done: bool,
}

impl ReadState {
    /// What was found, with a `<title>` cut off by the end of the input
    /// taken as it is (as a browser would).
    fn finish(mut self) -> Found {
        if self.in_title {
            self.end_title();
        }
        self.found
    }

    fn end_title(&mut self) {
        self.in_title = false;
        if self.found.title.is_none() {
            self.found.title = Some(std::mem::take(&mut self.title_text));
        }
    }

    fn tag(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        match tag.kind {
            TagKind::StartTag => self.start_tag(name, tag),
            TagKind::EndTag => {
                match name {
                    "title" if self.in_title => self.end_title(),
                    "head" if !self.found.is_empty() => self.done = true,
                    "svg" | "math" => self.foreign_depth = self.foreign_depth.saturating_sub(1),
                    _ => {}
                }
                TokenSinkResult::Continue
            }
        }
    }

    fn start_tag(&mut self, name: &str, tag: &Tag) -> TokenSinkResult<()> {
        if self.foreign_depth > 0 {
            // Foreign content has no raw-text elements of its own.
            if matches!(name, "svg" | "math") && !tag.self_closing {
                self.foreign_depth += 1;
            }
            return TokenSinkResult::Continue;
        }
        match name {
            "meta" => self.meta(tag),
            "base" if self.found.base.is_none() => {
                self.found.base = attr(tag, "href").map(str::to_owned);
            }
            "body" if !self.found.is_empty() => self.done = true,
            "svg" | "math" if !tag.self_closing => self.foreign_depth += 1,
            _ => {}
        }
        // The elements whose content is text, not markup, as the tree
        // builder would tell the tokenizer (so that `<title>a<b></title>`
        // and `<script>"<meta ...>"</script>` read right).
        match name {
            "title" if !tag.self_closing => {
                if self.found.title.is_none() {
                    self.in_title = true;
                    self.title_text.clear();
                }
                TokenSinkResult::RawData(RawKind::Rcdata)
            }
            "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "plaintext" => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        }
    }

    fn meta(&mut self, tag: &Tag) {
        let Some(content) = attr(tag, "content") else {
            return;
        };
        for key_attr in ["property", "name"] {
            let Some(key) = attr(tag, key_attr) else {
                continue;
            };
            let key = key.trim();
            let known = TITLE_KEYS
                .iter()
                .chain(&DESCRIPTION_KEYS)
                .chain(&SITE_NAME_KEYS)
                .chain(&IMAGE_KEYS)
                .find(|k| k.eq_ignore_ascii_case(key));
            if let Some(&k) = known {
                // A page may repeat a key many times; a few are enough to
                // find one usable value.
                if self.found.metas.iter().filter(|(f, _)| *f == k).count() < 4 {
                    self.found.metas.push((k, content.to_owned()));
                }
            }
        }
    }

    fn text(&mut self, text: &str) {
        if self.in_title {
            let room = MAX_RAW_TITLE_BYTES.saturating_sub(self.title_text.len());
            self.title_text
                .push_str(&text[..floor_char_boundary(text, room)]);
        }
    }
}

/// The first value of an attribute (names are lowercased by the
/// tokenizer).
fn attr<'t>(tag: &'t Tag, name: &str) -> Option<&'t str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

impl Reader {
    fn is_done(&self) -> bool {
        self.state.borrow().done
    }
}

impl TokenSink for Reader {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        if state.done {
            return TokenSinkResult::Continue;
        }
        match token {
            // Only tags may answer anything but `Continue` (the tokenizer
            // asserts it for every other token).
            Token::TagToken(tag) => state.tag(&tag),
            Token::CharacterTokens(text) => {
                state.text(&text);
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

/// Whether a character is dropped from preview text: control characters
/// and the bidirectional overrides and isolates, which could reorder the
/// text around a preview.
fn is_dropped(c: char) -> bool {
    c.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Preview text from page text: whitespace runs collapsed to one space,
/// trimmed, control and bidi override characters dropped, cut to
/// `max_chars` (ending in "…" when cut); `None` when nothing is left.
fn clean_text(raw: &str, max_chars: usize) -> Option<String> {
    if max_chars == 0 {
        return None;
    }
    let mut out = String::new();
    let mut chars = 0usize;
    let mut space = false;
    let mut cut = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if is_dropped(c) {
            continue;
        }
        let needed = if space && chars > 0 { 2 } else { 1 };
        if chars + needed > max_chars {
            cut = true;
            break;
        }
        if space && chars > 0 {
            out.push(' ');
            chars += 1;
        }
        space = false;
        out.push(c);
        chars += 1;
    }
    if cut {
        // Make room for the ellipsis within the limit.
        while chars + 1 > max_chars {
            out.pop();
            chars -= 1;
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('…');
    }
    if out.is_empty() || out == "…" {
        None
    } else {
        Some(out)
    }
}

/// Decodes a page's bytes to text: the charset named by the
/// `Content-Type` header, else by a `<meta charset>` or `<meta
/// http-equiv="Content-Type">` in the first 1024 bytes, else UTF-8. Only
/// UTF-8 and windows-1252 (which is what ISO-8859-1 and ASCII labels mean
/// on the web) are decoded; any other charset is read as UTF-8, with
/// invalid sequences replaced, which is enough for the ASCII-heavy
/// metadata of most pages.
pub fn decode_text(bytes: &[u8], content_type: Option<&str>) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let label = content_type
        .and_then(charset_param)
        .or_else(|| sniff_meta_charset(&bytes[..bytes.len().min(1024)]));
    match label.as_deref().map(Charset::from_label) {
        Some(Charset::Windows1252) => decode_windows_1252(bytes),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Charset {
    Utf8,
    Windows1252,
    Other,
}

impl Charset {
    /// The WHATWG Encoding labels of the two charsets decoded here.
    fn from_label(label: &str) -> Charset {
        let label = label.trim().to_ascii_lowercase();
        match label.as_str() {
            "utf-8" | "utf8" | "unicode-1-1-utf-8" | "unicode11utf8" | "unicode20utf8"
            | "x-unicode20utf8" => Charset::Utf8,
            "windows-1252" | "cp1252" | "x-cp1252" | "iso-8859-1" | "iso8859-1" | "iso88591"
            | "iso_8859-1" | "iso_8859-1:1987" | "iso-ir-100" | "l1" | "latin1" | "cp819"
            | "ibm819" | "csisolatin1" | "ascii" | "us-ascii" | "ansi_x3.4-1968" => {
                Charset::Windows1252
            }
            _ => Charset::Other,
        }
    }
}

/// The `charset` parameter of a `Content-Type` value.
fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// A charset named in a `<meta>` tag among the first bytes of a page
/// (`<meta charset="...">` or the `charset=` inside a
/// `content="text/html; charset=..."`): a simplified form of the HTML
/// prescan, which is all the pages that need it use.
fn sniff_meta_charset(head: &[u8]) -> Option<String> {
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let start = from + at + b"<meta".len();
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(label) = charset_in_tag(tag) {
            return Some(label);
        }
        from = end;
    }
    None
}

fn charset_in_tag(tag: &[u8]) -> Option<String> {
    let at = find(tag, b"charset")?;
    let mut rest = &tag[at + b"charset".len()..];
    rest = trim_ascii_start(rest);
    rest = rest.strip_prefix(b"=")?;
    rest = trim_ascii_start(rest);
    if let Some(r) = rest.strip_prefix(b"\"").or_else(|| rest.strip_prefix(b"'")) {
        rest = r;
    }
    let len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')))
        .unwrap_or(rest.len());
    let label = &rest[..len];
    (!label.is_empty()).then(|| String::from_utf8_lossy(label).into_owned())
}

fn trim_ascii_start(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// windows-1252 bytes 0x80-0x9F (the rest equals its code point, as in
/// ISO-8859-1); the five unassigned bytes map to the C1 controls, as the
/// WHATWG Encoding Standard says.
const WINDOWS_1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

fn decode_windows_1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url() -> url::Url {
        url::Url::parse("https://example.com/articles/one.html").unwrap()
    }

    fn read(html: &str) -> PageMeta {
        read_page(html, &page_url())
    }

    #[test]
    fn og_tags_win_over_title() {
        let meta = read(
            r#"<!doctype html><html><head>
            <title>Plain title</title>
            <meta name="description" content="Plain description">
            <meta property="og:title" content="OG title">
            <meta property="og:description" content="OG description">
            <meta property="og:site_name" content="Example">
            <meta property="og:image" content="https://cdn.example.com/a.png">
            <meta name="twitter:title" content="Twitter title">
            </head><body>text</body></html>"#,
        );
        assert_eq!(
            meta,
            PageMeta {
                title: Some("OG title".into()),
                description: Some("OG description".into()),
                site_name: Some("Example".into()),
                image: Some(url::Url::parse("https://cdn.example.com/a.png").unwrap()),
            }
        );
    }

    #[test]
    fn twitter_tags_are_the_fallback() {
        let meta = read(
            r#"<head><title>Plain</title>
            <meta name="description" content="Plain description">
            <meta name="twitter:title" content="Tw title">
            <meta name="twitter:description" content="Tw description">
            <meta name="twitter:image:src" content="/img/tw.jpg">
            </head>"#,
        );
        assert_eq!(meta.title.as_deref(), Some("Tw title"));
        assert_eq!(meta.description.as_deref(), Some("Tw description"));
        assert_eq!(
            meta.image.as_ref().map(url::Url::as_str),
            Some("https://example.com/img/tw.jpg")
        );
        assert_eq!(meta.site_name, None);
    }

    #[test]
    fn title_and_description_tags_are_the_last_resort() {
        let meta = read(
            "<head><title>  Just\n\t a   title </title>\
             <meta name=description content='Said  plainly'></head>",
        );
        assert_eq!(meta.title.as_deref(), Some("Just a title"));
        assert_eq!(meta.description.as_deref(), Some("Said plainly"));
        assert_eq!(meta.image, None);
    }

    #[test]
    fn an_empty_og_value_falls_back() {
        let meta = read(
            r#"<meta property="og:title" content="   "><meta name="twitter:title" content="T">"#,
        );
        assert_eq!(meta.title.as_deref(), Some("T"));
    }

    #[test]
    fn entities_are_decoded() {
        let meta = read(
            r#"<title>Tom &amp; Jerry&#39;s &lt;show&gt;</title>
            <meta property="og:description" content="It&#39;s &quot;fine&quot; &amp; &eacute;t&eacute; &#x1F600;">"#,
        );
        assert_eq!(meta.title.as_deref(), Some("Tom & Jerry's <show>"));
        assert_eq!(
            meta.description.as_deref(),
            Some("It's \"fine\" & été \u{1F600}")
        );
    }

    #[test]
    fn title_text_is_not_markup() {
        let meta = read("<title>a <b>bold</b> claim</title><body>");
        assert_eq!(meta.title.as_deref(), Some("a <b>bold</b> claim"));
    }

    #[test]
    fn meta_tags_in_scripts_are_not_read() {
        let meta = read(
            r#"<head><script>document.write('<meta property="og:title" content="evil">')</script>
            <meta property="og:title" content="good"></head>"#,
        );
        assert_eq!(meta.title.as_deref(), Some("good"));
    }

    #[test]
    fn relative_image_is_resolved() {
        let meta = read(r#"<meta property="og:image" content="../img/cover.png?x=1">"#);
        assert_eq!(
            meta.image.as_ref().map(url::Url::as_str),
            Some("https://example.com/img/cover.png?x=1")
        );
        let meta = read(r#"<meta property="og:image" content="//cdn.example.net/c.png">"#);
        assert_eq!(
            meta.image.as_ref().map(url::Url::as_str),
            Some("https://cdn.example.net/c.png")
        );
    }

    #[test]
    fn base_href_is_used_for_images() {
        let meta = read(
            r#"<base href="https://static.example.org/s/"><meta property="og:image" content="c.png">"#,
        );
        assert_eq!(
            meta.image.as_ref().map(url::Url::as_str),
            Some("https://static.example.org/s/c.png")
        );
    }

    #[test]
    fn javascript_and_data_images_are_dropped() {
        let meta = read(r#"<meta property="og:image" content="javascript:alert(1)">"#);
        assert_eq!(meta.image, None);
        let meta = read(r#"<meta property="og:image" content="data:image/png;base64,AAAA">"#);
        assert_eq!(meta.image, None);
        let meta = read(r#"<meta property="og:image" content="file:///etc/passwd">"#);
        assert_eq!(meta.image, None);
        // A refused og:image falls back to the twitter one.
        let meta = read(
            r#"<meta property="og:image" content="data:,x"><meta name="twitter:image" content="/t.png">"#,
        );
        assert_eq!(
            meta.image.as_ref().map(url::Url::as_str),
            Some("https://example.com/t.png")
        );
    }

    #[test]
    fn og_image_variants_are_read() {
        let meta =
            read(r#"<meta property="og:image:secure_url" content="https://x.example/s.png">"#);
        assert_eq!(
            meta.image.as_ref().map(url::Url::as_str),
            Some("https://x.example/s.png")
        );
        let meta = read(r#"<meta property="og:image:url" content="http://x.example/u.png">"#);
        assert_eq!(
            meta.image.as_ref().map(url::Url::as_str),
            Some("http://x.example/u.png")
        );
    }

    #[test]
    fn page_truncated_mid_tag() {
        let meta = read(
            r#"<html><head><meta property="og:title" content="Cut short"><meta property="og:descr"#,
        );
        assert_eq!(meta.title.as_deref(), Some("Cut short"));
        assert_eq!(meta.description, None);
        // Cut inside an attribute value: that tag is lost, the rest kept.
        let meta = read(r#"<title>Kept</title><meta property="og:title" content="Lo"#);
        assert_eq!(meta.title.as_deref(), Some("Kept"));
        // Cut inside the title: what came is the title, as in a browser.
        let meta = read("<head><title>Half a ti");
        assert_eq!(meta.title.as_deref(), Some("Half a ti"));
    }

    #[test]
    fn uppercase_tags_and_attributes() {
        let meta = read(
            r#"<HTML><HEAD><TITLE>Loud</TITLE>
            <META PROPERTY="OG:DESCRIPTION" CONTENT="Shouted">
            <Meta Name="Twitter:Image" Content="/LOUD.PNG"></HEAD>"#,
        );
        assert_eq!(meta.title.as_deref(), Some("Loud"));
        assert_eq!(meta.description.as_deref(), Some("Shouted"));
        assert_eq!(
            meta.image.as_ref().map(url::Url::as_str),
            Some("https://example.com/LOUD.PNG")
        );
    }

    #[test]
    fn no_head_at_all() {
        let meta = read("<title>Bare</title><p>Hello<meta name=description content=Body-level>");
        assert_eq!(meta.title.as_deref(), Some("Bare"));
        assert_eq!(meta.description.as_deref(), Some("Body-level"));
        assert_eq!(read("just text, no tags"), PageMeta::default());
        assert_eq!(read(""), PageMeta::default());
    }

    #[test]
    fn reading_stops_after_the_head() {
        let meta = read(
            r#"<head><title>Head title</title></head>
            <body><meta property="og:title" content="Body title">"#,
        );
        assert_eq!(meta.title.as_deref(), Some("Head title"));
        // An svg title in the body is not the page's.
        let meta = read("<body><svg><title>icon</title></svg><p>x");
        assert_eq!(meta.title, None);
    }

    #[test]
    fn huge_title_is_cut() {
        let html = format!("<title>{}</title>", "word ".repeat(10_000));
        let title = read(&html).title.unwrap();
        assert!(title.chars().count() <= MAX_TITLE_CHARS);
        assert!(title.ends_with('…'), "{title}");
        assert!(title.starts_with("word word"));
        assert!(!title.contains("  ") && !title.contains(" …"));

        let description = "é".repeat(2 * MAX_DESCRIPTION_CHARS);
        let html = format!(r#"<meta name="description" content="{description}">"#);
        let cut = read(&html).description.unwrap();
        assert_eq!(cut.chars().count(), MAX_DESCRIPTION_CHARS);
        assert!(cut.ends_with('…'));

        // Exactly at the limit: not cut.
        let exact = "x".repeat(MAX_TITLE_CHARS);
        assert_eq!(
            read(&format!("<title>{exact}</title>")).title.as_deref(),
            Some(exact.as_str())
        );
    }

    #[test]
    fn control_and_bidi_characters_are_dropped() {
        let meta = read(
            "<title>a\u{202E}b\u{2066}c\u{7}de \u{1}  f\u{2069}</title>\
             <meta property=og:site_name content='\u{202A}\u{202C}'>",
        );
        assert_eq!(meta.title.as_deref(), Some("abcde f"));
        assert_eq!(meta.site_name, None);
    }

    #[test]
    fn latin1_bytes_are_decoded() {
        let bytes = b"<title>Caf\xe9 \x93quoted\x94 \x80</title>";
        assert_eq!(
            decode_text(bytes, Some("text/html; charset=ISO-8859-1")),
            "<title>Café \u{201C}quoted\u{201D} €</title>"
        );
        assert_eq!(
            decode_text(bytes, Some("text/html;charset=\"windows-1252\"")),
            "<title>Café \u{201C}quoted\u{201D} €</title>"
        );
        let page = b"<html><head><meta charset=\"latin1\"><title>Ol\xe9</title>";
        let meta = read(&decode_text(page, Some("text/html")));
        assert_eq!(meta.title.as_deref(), Some("Olé"));
        let page = b"<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=iso-8859-1\"><title>\xc0 la</title>";
        assert_eq!(
            read(&decode_text(page, None)).title.as_deref(),
            Some("À la")
        );
    }

    #[test]
    fn utf8_is_the_default() {
        let bytes = "<title>Grüße</title>".as_bytes();
        assert_eq!(decode_text(bytes, None), "<title>Grüße</title>");
        assert_eq!(
            decode_text(bytes, Some("text/html; charset=utf-8")),
            "<title>Grüße</title>"
        );
        // The header wins over the page; an unknown charset reads as UTF-8.
        let page = "<meta charset=latin1><title>Grüße</title>".as_bytes();
        assert_eq!(
            decode_text(page, Some("text/html; charset=UTF-8")),
            "<meta charset=latin1><title>Grüße</title>"
        );
        assert_eq!(
            decode_text(bytes, Some("text/html; charset=shift_jis")),
            "<title>Grüße</title>"
        );
        // A byte order mark wins over everything.
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(bytes);
        assert_eq!(
            decode_text(&bom, Some("text/html; charset=latin1")),
            "<title>Grüße</title>"
        );
        assert_eq!(decode_text(b"\xff\xfeab", None), "\u{FFFD}\u{FFFD}ab");
    }

    #[test]
    fn garbage_bytes_do_not_panic() {
        let mut rng = fastrand::Rng::with_seed(19);
        let pieces: [&[u8]; 12] = [
            b"<",
            b">",
            b"<meta property=og:title content=",
            b"<title>",
            b"</title>",
            b"&#",
            b"&amp",
            b"\"",
            b"<!--",
            b"<script>",
            b"</head>",
            b"\xe9\x80\xff",
        ];
        for round in 0..300 {
            let mut bytes = Vec::new();
            let len = rng.usize(0..3000);
            while bytes.len() < len {
                if rng.bool() {
                    bytes.push(rng.u8(..));
                } else {
                    bytes.extend_from_slice(pieces[rng.usize(..pieces.len())]);
                }
            }
            let content_type = if round % 2 == 0 {
                Some("text/html; charset=windows-1252")
            } else {
                None
            };
            let text = decode_text(&bytes, content_type);
            let meta = read_page(&text, &page_url());
            for text in [&meta.title, &meta.description, &meta.site_name]
                .into_iter()
                .flatten()
            {
                assert!(!text.is_empty());
                assert!(!text.chars().any(is_dropped));
            }
        }
    }

    #[test]
    fn clean_text_edges() {
        assert_eq!(clean_text("", 10), None);
        assert_eq!(clean_text(" \n\t ", 10), None);
        assert_eq!(clean_text("abc", 0), None);
        assert_eq!(clean_text("abcdef", 3).as_deref(), Some("ab…"));
        assert_eq!(clean_text("ab cdef", 4).as_deref(), Some("ab…"));
        assert_eq!(clean_text("abc", 3).as_deref(), Some("abc"));
        assert_eq!(clean_text("abcd", 1), None);
        assert_eq!(clean_text("a\u{0}b\u{9f}c", 10).as_deref(), Some("abc"));
    }
}
