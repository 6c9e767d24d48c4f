//! Message text as the safe subset of Markdown of PROTOCOL.md
//! "Formatting": pulldown-cmark parses it, and this module keeps only what
//! the subset allows, as a small tree of [`Node`]s that `ui::message_text`
//! draws with text nodes and a fixed set of elements (never an HTML
//! string). Compiled for the server (first page) and the browser (live
//! messages), so both draw the same tree.
//!
//! The subset: `**bold**`, `*italic*` / `_italic_`, `~~strike~~`,
//! `` `code` ``, fenced code blocks, `> quotes`, `-` / `*` / `1.` lists,
//! `[text](url)`, `<http://...>` autolinks, and bare `http(s)://` URLs
//! (found by `client::linkify`, outside links and code).
//!
//! Everything else shows as the text the user typed, taken from the
//! source: raw and inline HTML, headings, images (their source text, in
//! which a bare http(s) URL is still a link: "its text and a link"),
//! thematic breaks, indented code blocks, and links whose target is not
//! `http:`, `https:` or `mailto:` (the whole `[text](target)` as typed).
//! Tables, footnotes, task lists and the other extensions are off, so they
//! parse as plain paragraphs.
//!
//! Line breaks: chat users press Enter for a new line, so a single newline
//! (a soft break in CommonMark) is a line break, like a hard break.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::client::linkify::{segments, Segment};

/// One piece of formatted message text. Block and inline pieces share one
/// type: a tight list item holds inline pieces directly, a loose one holds
/// paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A paragraph (`<p>`).
    Paragraph(Vec<Node>),
    /// `**bold**` (`<strong>`).
    Strong(Vec<Node>),
    /// `*italic*` or `_italic_` (`<em>`).
    Emphasis(Vec<Node>),
    /// `~~strike~~` (`<del>`).
    Strikethrough(Vec<Node>),
    /// `` `code` ``: its text, never formatted (`<code>`).
    Code(String),
    /// A fenced code block: its text without the last line end
    /// (`<pre><code>`).
    CodeBlock(String),
    /// `> quote` (`<blockquote>`).
    Quote(Vec<Node>),
    /// A list: `start` is the first number of an ordered list (`<ol>`),
    /// `None` for a bulleted one (`<ul>`); one entry per item (`<li>`).
    List {
        /// The first number of an ordered list; `None` when bulleted.
        start: Option<u64>,
        /// The items' contents.
        items: Vec<Vec<Node>>,
    },
    /// A link whose target passed [`allowed_href`].
    Link {
        /// The target: `http:`, `https:` or `mailto:`.
        href: String,
        /// What the link shows.
        children: Vec<Node>,
    },
    /// Text, drawn as a text node (the one place mentions will be found).
    Text(String),
    /// A line break (`<br>`): a newline in a paragraph.
    LineBreak,
}

/// Parses `text` into the subset's tree (see the module doc for what is
/// kept and what is shown as typed).
pub fn parse(text: &str) -> Vec<Node> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut events = Parser::new_ext(text, options).into_offset_iter();
    let mut tree = Builder::default();
    while let Some((event, range)) = events.next() {
        match event {
            Event::Start(tag) => tree.start(tag, range, text, &mut events),
            Event::End(end) => tree.end_shown(end, &text[range]),
            Event::Text(t) => tree.text(&t),
            Event::Code(t) => tree.push(Node::Code(t.into_string())),
            Event::SoftBreak | Event::HardBreak => tree.push(Node::LineBreak),
            // Inline HTML (and any other inline leaf the subset does not
            // have) is shown as its text.
            Event::InlineHtml(t) | Event::Html(t) => tree.text(&t),
            Event::Rule => tree.source_paragraph(&text[range]),
            Event::FootnoteReference(_)
            | Event::InlineMath(_)
            | Event::DisplayMath(_)
            | Event::TaskListMarker(_) => tree.text(&text[range]),
        }
    }
    let nodes = tree.finish();
    if nodes.is_empty() && !text.trim().is_empty() {
        // Only link reference definitions (`[a]: http://x`), which
        // Markdown hides: show the text as typed rather than nothing.
        let mut tree = Builder::default();
        tree.source_paragraph(text);
        return tree.finish();
    }
    nodes
}

/// The `http(s)` targets of the links `text` shows, in order, each once:
/// what a link preview may fetch (PROTOCOL.md "Link previews"). Links are
/// found as the message is drawn, so a URL inside code, or one that is not
/// a link on screen, is never fetched.
pub fn http_links(text: &str) -> Vec<String> {
    fn walk(nodes: &[Node], found: &mut Vec<String>) {
        for node in nodes {
            match node {
                Node::Link { href, children } => {
                    let lower = href.get(..8).unwrap_or(href).to_ascii_lowercase();
                    if (lower.starts_with("http://") || lower.starts_with("https://"))
                        && !found.contains(href)
                    {
                        found.push(href.clone());
                    }
                    walk(children, found);
                }
                Node::Paragraph(children)
                | Node::Strong(children)
                | Node::Emphasis(children)
                | Node::Strikethrough(children)
                | Node::Quote(children) => walk(children, found),
                Node::List { items, .. } => {
                    for item in items {
                        walk(item, found);
                    }
                }
                Node::Code(_) | Node::CodeBlock(_) | Node::Text(_) | Node::LineBreak => {}
            }
        }
    }
    let mut found = Vec::new();
    walk(&parse(text), &mut found);
    found
}

/// Whether `href` may be a link's target: `http:`, `https:` or `mailto:`,
/// in any case. Anything else (`javascript:`, `data:`, relative paths)
/// could run script or point inside our own site.
pub fn allowed_href(href: &str) -> bool {
    let scheme = match href.split_once(':') {
        Some((scheme, _)) => scheme,
        None => return false,
    };
    ["http", "https", "mailto"]
        .iter()
        .any(|allowed| scheme.eq_ignore_ascii_case(allowed))
}

/// A piece of a text node once mentions are found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextPiece {
    /// Text that mentions nobody.
    Plain(String),
    /// `@Display Name` of someone in the list given to [`mentions`].
    Mention {
        /// The mention as written, `@` included.
        text: String,
        /// Whether it names the reader (drawn apart from the others).
        me: bool,
    },
}

/// Finds `@name` mentions in a text node's text. `names` are display names,
/// each with whether it is the reader. A mention starts the text or follows
/// a character that is not a letter or digit, and ends the text or comes
/// before one that is not, so `@Ann` is not found in `@Anna` or
/// `me@Ann`; names match without regard to ASCII case, and the longest
/// name wins (`@Ann Lee` over `@Ann`). Code is never a text node, so
/// mentions in code stay code.
pub fn mentions(text: &str, names: &[(String, bool)]) -> Vec<TextPiece> {
    let mut pieces = Vec::new();
    let mut plain_from = 0;
    let mut at = 0;
    while let Some(found) = text[at..].find('@') {
        let start = at + found;
        let after_at = start + 1;
        let starts_word = !text[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let best = names
            .iter()
            .filter(|(name, _)| !name.is_empty() && starts_word)
            .filter(|(name, _)| {
                let end = after_at + name.len();
                text.get(after_at..end)
                    .is_some_and(|written| written.eq_ignore_ascii_case(name))
                    && !text[end..]
                        .chars()
                        .next()
                        .is_some_and(char::is_alphanumeric)
            })
            .max_by_key(|(name, _)| name.len());
        match best {
            Some((name, me)) => {
                let end = after_at + name.len();
                if plain_from < start {
                    pieces.push(TextPiece::Plain(text[plain_from..start].to_owned()));
                }
                pieces.push(TextPiece::Mention {
                    text: text[start..end].to_owned(),
                    me: *me,
                });
                plain_from = end;
                at = end;
            }
            None => at = after_at,
        }
    }
    if plain_from < text.len() {
        pieces.push(TextPiece::Plain(text[plain_from..].to_owned()));
    }
    pieces
}

/// What an open element will become when its end event comes.
#[derive(Debug)]
enum Kind {
    Root,
    Paragraph,
    Strong,
    Emphasis,
    Strikethrough,
    Quote,
    List(Option<u64>),
    Item,
    Link(String),
}

/// An open element: its finished children, the text not yet split into
/// text and bare links, and a list's finished items.
#[derive(Debug)]
struct Frame {
    kind: Kind,
    children: Vec<Node>,
    text: String,
    items: Vec<Vec<Node>>,
}

impl Frame {
    fn new(kind: Kind) -> Self {
        Frame {
            kind,
            children: Vec::new(),
            text: String::new(),
            items: Vec::new(),
        }
    }
}

/// Builds the tree from pulldown-cmark's events: a stack of open elements.
struct Builder {
    stack: Vec<Frame>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            stack: vec![Frame::new(Kind::Root)],
        }
    }
}

impl Builder {
    /// An element starts: open the ones the subset has; show the others
    /// as their source text (skipping their events).
    fn start<'a>(
        &mut self,
        tag: Tag<'a>,
        range: Range<usize>,
        source: &str,
        events: &mut impl Iterator<Item = (Event<'a>, Range<usize>)>,
    ) {
        let kind = match tag {
            Tag::Paragraph => Kind::Paragraph,
            Tag::Strong => Kind::Strong,
            Tag::Emphasis => Kind::Emphasis,
            Tag::Strikethrough => Kind::Strikethrough,
            Tag::BlockQuote(_) => Kind::Quote,
            Tag::List(start) => Kind::List(start),
            Tag::Item => Kind::Item,
            Tag::CodeBlock(CodeBlockKind::Fenced(_)) => {
                let mut code = String::new();
                for (event, _) in events.by_ref() {
                    match event {
                        Event::Text(t) => code.push_str(&t),
                        Event::End(_) => break,
                        _ => {}
                    }
                }
                if code.ends_with('\n') {
                    code.pop();
                }
                self.push(Node::CodeBlock(code));
                return;
            }
            Tag::HtmlBlock => {
                // Its own text rather than the source, which inside a quote
                // or list carries the container's markers on each line.
                let mut html = String::new();
                for (event, _) in events.by_ref() {
                    match event {
                        Event::Html(t) | Event::Text(t) => html.push_str(&t),
                        Event::End(_) => break,
                        _ => {}
                    }
                }
                self.source_paragraph(&html);
                return;
            }
            Tag::Link {
                link_type,
                dest_url,
                ..
            } if !self.in_link() => {
                let href = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.into_string(),
                };
                if allowed_href(&href) {
                    Kind::Link(href)
                } else {
                    skip(events);
                    self.text(&source[range]);
                    return;
                }
            }
            // Links inside links, images, and the rest (headings, indented
            // code) as typed: inline ones as text within their paragraph,
            // block ones as a paragraph of their own.
            Tag::Link { .. } | Tag::Image { .. } => {
                skip(events);
                self.text(&source[range]);
                return;
            }
            _ => {
                skip(events);
                self.source_paragraph(&source[line_start(source, range.start)..range.end]);
                return;
            }
        };
        self.flush();
        self.stack.push(Frame::new(kind));
    }

    /// An element ends, `source` its text as typed: a quote or a list with
    /// nothing in it (a message of just `>`, `-` or `1.`) is shown as typed
    /// rather than as an empty bar or bullet.
    fn end_shown(&mut self, end: TagEnd, source: &str) {
        self.flush();
        let empty = self.stack.last().is_some_and(|frame| match frame.kind {
            Kind::Quote => frame.children.is_empty(),
            Kind::List(_) => frame.items.iter().all(Vec::is_empty),
            _ => false,
        });
        if empty {
            self.stack.pop();
            self.source_paragraph(source);
        } else {
            self.end(end);
        }
    }

    /// An element the subset has ends: close it into its parent.
    fn end(&mut self, _end: TagEnd) {
        self.flush();
        if self.stack.len() < 2 {
            return;
        }
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let children = frame.children;
        let node = match frame.kind {
            Kind::Root => return,
            Kind::Paragraph => Node::Paragraph(children),
            Kind::Strong => Node::Strong(children),
            Kind::Emphasis => Node::Emphasis(children),
            Kind::Strikethrough => Node::Strikethrough(children),
            Kind::Quote => Node::Quote(children),
            Kind::List(start) => Node::List {
                start,
                items: frame.items,
            },
            Kind::Link(href) => Node::Link { href, children },
            Kind::Item => {
                if let Some(parent) = self.stack.last_mut() {
                    parent.items.push(children);
                }
                return;
            }
        };
        self.push(node);
    }

    /// Text: gathered until the next element, so that a URL pulldown-cmark
    /// split in several text events is found whole.
    fn text(&mut self, text: &str) {
        if let Some(frame) = self.stack.last_mut() {
            frame.text.push_str(text);
        }
    }

    /// A finished node into the open element, after its pending text.
    fn push(&mut self, node: Node) {
        self.flush();
        if let Some(frame) = self.stack.last_mut() {
            frame.children.push(node);
        }
    }

    /// Source text shown as typed, as a paragraph: its lines with line
    /// breaks between them, bare URLs as links.
    fn source_paragraph(&mut self, source: &str) {
        let source = source.trim_end();
        if source.is_empty() {
            return;
        }
        self.flush();
        self.stack.push(Frame::new(Kind::Paragraph));
        for (i, line) in source.split('\n').enumerate() {
            if i > 0 {
                self.push(Node::LineBreak);
            }
            self.text(line.strip_suffix('\r').unwrap_or(line));
        }
        self.end(TagEnd::Paragraph);
    }

    /// Whether the open element is inside a link (no link within a link,
    /// and no bare-URL links in a link's text).
    fn in_link(&self) -> bool {
        self.stack.iter().any(|f| matches!(f.kind, Kind::Link(_)))
    }

    /// The pending text of the open element into text and bare-link nodes.
    fn flush(&mut self) {
        let in_link = self.in_link();
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        if frame.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut frame.text);
        if in_link {
            frame.children.push(Node::Text(text));
            return;
        }
        for segment in segments(&text) {
            frame.children.push(match segment {
                Segment::Text(t) => Node::Text(t),
                Segment::Link(url) => Node::Link {
                    href: url.clone(),
                    children: vec![Node::Text(url)],
                },
            });
        }
    }

    /// Closes whatever is still open (pulldown-cmark closes everything,
    /// but a tree is returned whatever happens) and returns the top level.
    fn finish(mut self) -> Vec<Node> {
        while self.stack.len() > 1 {
            self.end(TagEnd::Paragraph);
        }
        self.flush();
        self.stack.pop().map(|f| f.children).unwrap_or_default()
    }
}

/// Where a block shown as typed starts: back to the start of its line
/// when only indentation is before it (an indented code block's range
/// starts after its first indent).
fn line_start(source: &str, start: usize) -> usize {
    let before = &source[..start];
    let line = before.rfind('\n').map_or(0, |i| i + 1);
    if before[line..].chars().all(|c| c == ' ' || c == '\t') {
        line
    } else {
        start
    }
}

/// Skips the events of an element whose start was just read, up to and
/// including its end.
fn skip<'a>(events: &mut impl Iterator<Item = (Event<'a>, Range<usize>)>) {
    let mut depth = 1usize;
    for (event, _) in events.by_ref() {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Node::*;

    fn text(s: &str) -> Node {
        Text(s.into())
    }
    fn p(children: Vec<Node>) -> Node {
        Paragraph(children)
    }
    fn link(href: &str, children: Vec<Node>) -> Node {
        Link {
            href: href.into(),
            children,
        }
    }
    /// A message of one paragraph.
    fn one(children: Vec<Node>) -> Vec<Node> {
        vec![p(children)]
    }

    #[test]
    fn plain_text_is_one_paragraph() {
        assert_eq!(parse("hello there"), one(vec![text("hello there")]));
    }

    #[test]
    fn bold_italic_strike_and_inline_code() {
        assert_eq!(
            parse("**b** *i* _j_ ~~s~~ `c`"),
            one(vec![
                Strong(vec![text("b")]),
                text(" "),
                Emphasis(vec![text("i")]),
                text(" "),
                Emphasis(vec![text("j")]),
                text(" "),
                Strikethrough(vec![text("s")]),
                text(" "),
                Code("c".into()),
            ])
        );
    }

    #[test]
    fn nested_inline_formatting() {
        assert_eq!(
            parse("***both*** **bold _and italic_**"),
            one(vec![
                Emphasis(vec![Strong(vec![text("both")])]),
                text(" "),
                Strong(vec![text("bold "), Emphasis(vec![text("and italic")])]),
            ])
        );
    }

    #[test]
    fn a_single_newline_is_a_line_break() {
        assert_eq!(
            parse("one\ntwo\\\nthree"),
            one(vec![
                text("one"),
                LineBreak,
                text("two"),
                LineBreak,
                text("three")
            ])
        );
    }

    #[test]
    fn a_blank_line_starts_a_new_paragraph() {
        assert_eq!(
            parse("one\n\ntwo"),
            vec![p(vec![text("one")]), p(vec![text("two")])]
        );
    }

    #[test]
    fn fenced_code_keeps_markdown_characters_and_html_as_text() {
        assert_eq!(
            parse("```rust\nlet a = **b** <i>x</i> [l](javascript:x) https://a.b\n  indented\n```"),
            vec![CodeBlock(
                "let a = **b** <i>x</i> [l](javascript:x) https://a.b\n  indented".into()
            )]
        );
        assert_eq!(
            parse("`**not bold** https://a.b <b>`"),
            one(vec![Code("**not bold** https://a.b <b>".into())])
        );
    }

    #[test]
    fn quotes_hold_formatted_paragraphs() {
        assert_eq!(
            parse("> quoted **bold**\n> second line\n\nafter"),
            vec![
                Quote(vec![p(vec![
                    text("quoted "),
                    Strong(vec![text("bold")]),
                    LineBreak,
                    text("second line"),
                ])]),
                p(vec![text("after")]),
            ]
        );
    }

    #[test]
    fn bulleted_and_numbered_lists() {
        assert_eq!(
            parse("- one\n- **two**"),
            vec![List {
                start: None,
                items: vec![vec![text("one")], vec![Strong(vec![text("two")])]],
            }]
        );
        assert_eq!(
            parse("3. three\n4. four"),
            vec![List {
                start: Some(3),
                items: vec![vec![text("three")], vec![text("four")]],
            }]
        );
    }

    #[test]
    fn nested_lists() {
        assert_eq!(
            parse("* a\n  1. b\n  2. c\n* d"),
            vec![List {
                start: None,
                items: vec![
                    vec![
                        text("a"),
                        List {
                            start: Some(1),
                            items: vec![vec![text("b")], vec![text("c")]],
                        },
                    ],
                    vec![text("d")],
                ],
            }]
        );
    }

    #[test]
    fn links_to_http_https_and_mailto() {
        assert_eq!(
            parse("[site](https://example.com/a) [mail](MAILTO:a@b.co) [x](HTTP://x.y)"),
            one(vec![
                link("https://example.com/a", vec![text("site")]),
                text(" "),
                link("MAILTO:a@b.co", vec![text("mail")]),
                text(" "),
                link("HTTP://x.y", vec![text("x")]),
            ])
        );
    }

    #[test]
    fn a_link_text_is_formatted_but_not_linked_again() {
        assert_eq!(
            parse("[**see** https://other.org](https://example.com)"),
            one(vec![link(
                "https://example.com",
                vec![Strong(vec![text("see")]), text(" https://other.org")]
            )])
        );
    }

    #[test]
    fn bare_urls_become_links_without_trailing_punctuation() {
        assert_eq!(
            parse("see https://example.org/a_b_c?d=1. and *http://x.io*"),
            one(vec![
                text("see "),
                link(
                    "https://example.org/a_b_c?d=1",
                    vec![text("https://example.org/a_b_c?d=1")]
                ),
                text(". and "),
                Emphasis(vec![link("http://x.io", vec![text("http://x.io")])]),
            ])
        );
    }

    #[test]
    fn http_links_are_the_links_shown_in_order_once() {
        assert_eq!(
            http_links(
                "see https://a.example/x, [b](https://b.example) and \
                 `https://code.example` then https://a.example/x again \
                 <http://c.example> [m](mailto:x@y.z)"
            ),
            [
                "https://a.example/x",
                "https://b.example",
                "http://c.example"
            ]
        );
        assert!(http_links("no links here").is_empty());
        assert!(http_links("```\nhttps://in.code.example\n```").is_empty());
    }

    #[test]
    fn autolinks_in_angle_brackets() {
        assert_eq!(
            parse("<http://x.org/a> <a@b.co>"),
            one(vec![
                link("http://x.org/a", vec![text("http://x.org/a")]),
                text(" "),
                link("mailto:a@b.co", vec![text("a@b.co")]),
            ])
        );
        // Another scheme in angle brackets is text as typed.
        assert_eq!(
            parse("<javascript:alert(1)>"),
            one(vec![text("<javascript:alert(1)>")])
        );
    }

    #[test]
    fn a_script_element_is_text() {
        assert_eq!(
            parse("<script>alert(1)</script>"),
            one(vec![text("<script>alert(1)</script>")])
        );
        assert_eq!(
            parse("hi <script>alert(1)</script>"),
            one(vec![text("hi <script>alert(1)</script>")])
        );
    }

    #[test]
    fn inline_html_is_text() {
        assert_eq!(
            parse("a <b>x</b> <img src=x onerror=alert(1)>"),
            one(vec![text("a <b>x</b> <img src=x onerror=alert(1)>")])
        );
    }

    #[test]
    fn an_html_block_is_text_with_its_lines() {
        assert_eq!(
            parse("<div>\n<b>x</b>\n</div>"),
            one(vec![
                text("<div>"),
                LineBreak,
                text("<b>x</b>"),
                LineBreak,
                text("</div>")
            ])
        );
    }

    #[test]
    fn html_comments_are_text() {
        assert_eq!(parse("<!-- hidden -->"), one(vec![text("<!-- hidden -->")]));
        assert_eq!(
            parse("a <!-- hidden --> b"),
            one(vec![text("a <!-- hidden --> b")])
        );
    }

    #[test]
    fn javascript_and_other_targets_are_text_as_typed() {
        for source in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](data:text/html,<b>x</b>)",
            "[x](/relative/path)",
            "[x](vbscript:msgbox)",
            "[x](java%0ascript:alert(1))",
        ] {
            assert_eq!(parse(source), one(vec![text(source)]), "{source}");
        }
        // Entity-encoded schemes are decoded before the check.
        assert_eq!(
            parse("[x](&#106;avascript:alert(1))"),
            one(vec![text("[x](&#106;avascript:alert(1))")])
        );
    }

    #[test]
    fn a_reference_link_to_a_bad_target_is_text() {
        assert_eq!(
            parse("[x][r]\n\n[r]: javascript:alert(1)"),
            one(vec![text("[x][r]")])
        );
    }

    #[test]
    fn an_image_is_its_text_and_a_link_never_an_image() {
        assert_eq!(
            parse("look ![img](http://other.host/a.png) here"),
            one(vec![
                text("look ![img]("),
                link(
                    "http://other.host/a.png",
                    vec![text("http://other.host/a.png")]
                ),
                text(") here"),
            ])
        );
        assert_eq!(
            parse("![x](javascript:alert(1))"),
            one(vec![text("![x](javascript:alert(1))")])
        );
    }

    #[test]
    fn headings_are_text_as_typed() {
        assert_eq!(parse("# heading"), one(vec![text("# heading")]));
        assert_eq!(
            parse("## two *x*\nbelow"),
            vec![p(vec![text("## two *x*")]), p(vec![text("below")])]
        );
        assert_eq!(
            parse("Title\n==="),
            one(vec![text("Title"), LineBreak, text("===")])
        );
    }

    #[test]
    fn a_table_is_text() {
        assert_eq!(
            parse("| a | b |\n|---|---|\n| 1 | 2 |"),
            one(vec![
                text("| a | b |"),
                LineBreak,
                text("|---|---|"),
                LineBreak,
                text("| 1 | 2 |"),
            ])
        );
    }

    #[test]
    fn thematic_breaks_and_indented_code_are_text() {
        assert_eq!(
            parse("a\n\n***\n\nb"),
            vec![p(vec![text("a")]), p(vec![text("***")]), p(vec![text("b")])]
        );
        assert_eq!(
            parse("a\n\n    code https://a.b\n    more"),
            vec![
                p(vec![text("a")]),
                p(vec![
                    text("    code "),
                    link("https://a.b", vec![text("https://a.b")]),
                    LineBreak,
                    text("    more"),
                ]),
            ]
        );
    }

    #[test]
    fn an_empty_quote_or_list_is_text_as_typed() {
        for source in [">", "-", "1.", "-\n-"] {
            let mut expected = Vec::new();
            for (i, line) in source.lines().enumerate() {
                if i > 0 {
                    expected.push(LineBreak);
                }
                expected.push(text(line));
            }
            assert_eq!(parse(source), one(expected), "{source:?}");
        }
        // A list with one empty item among others stays a list.
        assert_eq!(
            parse("- a\n-"),
            vec![List {
                start: None,
                items: vec![vec![text("a")], vec![]],
            }]
        );
    }

    #[test]
    fn footnotes_and_task_lists_are_off() {
        assert_eq!(parse("a[^1]"), one(vec![text("a[^1]")]));
        assert_eq!(
            parse("- [ ] task"),
            vec![List {
                start: None,
                items: vec![vec![text("[ ] task")]],
            }]
        );
    }

    #[test]
    fn only_link_definitions_show_as_typed() {
        assert_eq!(
            parse("[a]: http://x.io"),
            one(vec![
                text("[a]: "),
                link("http://x.io", vec![text("http://x.io")])
            ])
        );
    }

    #[test]
    fn escapes_and_entities_are_plain_characters() {
        assert_eq!(
            parse(r"\*not italic\* &lt;b&gt;"),
            one(vec![text("*not italic* <b>")])
        );
    }

    fn plain(s: &str) -> TextPiece {
        TextPiece::Plain(s.into())
    }
    fn mention(s: &str, me: bool) -> TextPiece {
        TextPiece::Mention { text: s.into(), me }
    }
    fn names() -> Vec<(String, bool)> {
        vec![
            ("Ann".into(), false),
            ("Ann Lee".into(), true),
            ("Bob".into(), false),
            ("Zoë".into(), false),
        ]
    }

    #[test]
    fn mentions_of_known_names_are_found_the_longest_first() {
        assert_eq!(
            mentions("hi @Ann Lee and @bob, and @Ann.", &names()),
            vec![
                plain("hi "),
                mention("@Ann Lee", true),
                plain(" and "),
                mention("@bob", false),
                plain(", and "),
                mention("@Ann", false),
                plain("."),
            ]
        );
        assert_eq!(
            mentions("@Zoë!", &names()),
            vec![mention("@Zoë", false), plain("!")]
        );
    }

    #[test]
    fn a_mention_is_a_whole_name_after_a_word_break() {
        for text in ["@Anna", "me@Ann", "@Bobby", "@ Bob", "@Zoëy", "@"] {
            assert_eq!(mentions(text, &names()), vec![plain(text)], "{text}");
        }
        assert_eq!(mentions("", &names()), vec![]);
        assert_eq!(mentions("@Ann", &[]), vec![plain("@Ann")]);
    }

    #[test]
    fn mentions_in_code_stay_code() {
        // Code is never a text node: the renderer only looks in `Text`.
        assert_eq!(parse("`@Ann`"), one(vec![Code("@Ann".into())]));
    }

    #[test]
    fn only_http_https_and_mailto_targets_are_allowed() {
        assert!(allowed_href("https://a"));
        assert!(allowed_href("HtTp://a"));
        assert!(allowed_href("mailto:a@b"));
        assert!(!allowed_href("javascript:alert(1)"));
        assert!(!allowed_href(" javascript:alert(1)"));
        assert!(!allowed_href("data:text/html,x"));
        assert!(!allowed_href("/chat/x"));
        assert!(!allowed_href("//evil.example/x"));
        assert!(!allowed_href("https"));
    }
}
