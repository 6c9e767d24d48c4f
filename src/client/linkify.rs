//! Splits message text into plain text and links. Only `http://` and
//! `https://` URLs become links; everything else stays text (rendered as a
//! text node, never as markup). `client::markdown` runs it over the text
//! outside links and code, for the bare URLs people paste.

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Plain text (line breaks included; CSS keeps them).
    Text(String),
    /// An http(s) URL.
    Link(String),
}

/// Characters that end a URL when they are its last character (so "see
/// https://x.org." links "https://x.org").
const TRAILING_PUNCTUATION: &[char] = &['.', ',', ';', ':', '!', '?', ')', ']', '}', '\'', '"'];

/// Splits `text` into text and link segments, in order.
pub fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_url_start(rest) {
        let (before, from_url) = rest.split_at(start);
        let mut end = from_url
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>')
            .unwrap_or(from_url.len());
        while end > 0 && from_url[..end].ends_with(TRAILING_PUNCTUATION) {
            end -= from_url[..end]
                .chars()
                .next_back()
                .map_or(1, char::len_utf8);
        }
        let url = &from_url[..end];
        let scheme_len = if url.starts_with("https://") { 8 } else { 7 };
        if url.len() <= scheme_len {
            // A bare scheme is not a link.
            push_text(&mut out, &rest[..start + scheme_len.min(from_url.len())]);
            rest = &rest[start + scheme_len.min(from_url.len())..];
            continue;
        }
        push_text(&mut out, before);
        out.push(Segment::Link(url.to_owned()));
        rest = &from_url[end..];
    }
    push_text(&mut out, rest);
    out
}

fn find_url_start(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

fn push_text(out: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Segment::Text(last)) = out.last_mut() {
        last.push_str(text);
    } else {
        out.push(Segment::Text(text.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Segment {
        Segment::Text(s.into())
    }
    fn link(s: &str) -> Segment {
        Segment::Link(s.into())
    }

    #[test]
    fn http_and_https_urls_become_links_and_punctuation_stays_outside() {
        assert_eq!(
            segments("see https://example.org/a?b=1. and http://x.io"),
            vec![
                text("see "),
                link("https://example.org/a?b=1"),
                text(". and "),
                link("http://x.io")
            ]
        );
    }

    #[test]
    fn other_schemes_and_markup_stay_text() {
        assert_eq!(
            segments("javascript:alert(1) <img src=x onerror=alert(1)>"),
            vec![text("javascript:alert(1) <img src=x onerror=alert(1)>")]
        );
        assert_eq!(
            segments("<a href=\"https://evil.test\">x</a>"),
            vec![
                text("<a href=\""),
                link("https://evil.test"),
                text("\">x</a>")
            ]
        );
    }

    #[test]
    fn a_bare_scheme_is_not_a_link() {
        assert_eq!(segments("https:// nothing"), vec![text("https:// nothing")]);
    }

    #[test]
    fn line_breaks_are_kept_in_text() {
        assert_eq!(
            segments("one\ntwo https://a.b\nthree"),
            vec![text("one\ntwo "), link("https://a.b"), text("\nthree")]
        );
    }
}
