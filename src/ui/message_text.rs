//! A message's text, formatted: the tree of `client::markdown` drawn as
//! elements and text nodes (never an HTML string), the same on the server
//! (the first page) and in the browser (live messages).

use leptos::prelude::*;

use crate::client::markdown::{mentions, parse, Node, TextPiece};

/// Message text in the safe Markdown subset of PROTOCOL.md "Formatting";
/// links open in a new tab without an opener or a referrer. Previews (the
/// channel list, quotes, pins, the reply being written) show the text as
/// typed instead: one line of markers is easier to read than half-drawn
/// formatting.
#[component]
pub fn MessageText(
    /// The text as stored.
    text: String,
    /// Display names to highlight as `@name` outside code, each with
    /// whether it is the reader (`mention-me`). None by default; the server
    /// and the browser must pass the same ones, or hydration differs.
    #[prop(optional)]
    mentions: Vec<(String, bool)>,
) -> impl IntoView {
    let tree = parse(&text);
    view! { <div class="text">{nodes(tree, &mentions)}</div> }
}

/// Draws nodes in order.
fn nodes(list: Vec<Node>, names: &[(String, bool)]) -> Vec<AnyView> {
    list.into_iter().map(|n| node(n, names)).collect()
}

/// Draws one node and what it holds.
fn node(n: Node, names: &[(String, bool)]) -> AnyView {
    match n {
        Node::Paragraph(c) => view! { <p>{nodes(c, names)}</p> }.into_any(),
        Node::Strong(c) => view! { <strong>{nodes(c, names)}</strong> }.into_any(),
        Node::Emphasis(c) => view! { <em>{nodes(c, names)}</em> }.into_any(),
        Node::Strikethrough(c) => view! { <del>{nodes(c, names)}</del> }.into_any(),
        Node::Code(t) => view! { <code>{t}</code> }.into_any(),
        Node::CodeBlock(t) => view! { <pre><code>{t}</code></pre> }.into_any(),
        Node::Quote(c) => view! { <blockquote>{nodes(c, names)}</blockquote> }.into_any(),
        Node::List { start: None, items } => {
            view! { <ul>{list_items(items, names)}</ul> }.into_any()
        }
        Node::List {
            start: Some(start),
            items,
        } => {
            // `start` only when not 1, as the HTML default is.
            let start = (start != 1).then(|| start.to_string());
            view! { <ol start=start>{list_items(items, names)}</ol> }.into_any()
        }
        Node::Link { href, children } => view! {
            <a href=href target="_blank" rel="noopener noreferrer">{nodes(children, names)}</a>
        }
        .into_any(),
        Node::Text(t) => text_node(t, names),
        Node::LineBreak => view! { <br/> }.into_any(),
    }
}

/// A list's items.
fn list_items(items: Vec<Vec<Node>>, names: &[(String, bool)]) -> Vec<AnyView> {
    items
        .into_iter()
        .map(|item| view! { <li>{nodes(item, names)}</li> }.into_any())
        .collect()
}

/// Every piece of message text outside code goes through here: mentions
/// of `names` become `<span class="mention">` (`mention mention-me` for
/// the reader), the rest stays a text node.
fn text_node(text: String, names: &[(String, bool)]) -> AnyView {
    if names.is_empty() {
        return text.into_any();
    }
    mentions(&text, names)
        .into_iter()
        .map(|piece| match piece {
            TextPiece::Plain(t) => t.into_any(),
            TextPiece::Mention { text, me } => {
                let class = if me { "mention mention-me" } else { "mention" };
                view! { <span class=class>{text}</span> }.into_any()
            }
        })
        .collect::<Vec<_>>()
        .into_any()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    /// The server's markup of a message, without hydration comments.
    fn html(text: &str, mentions: Vec<(String, bool)>) -> String {
        let owner = Owner::new();
        let html = owner.with(|| view! { <MessageText text=text.to_owned() mentions/> }.to_html());
        let mut out = String::new();
        let mut rest = html.as_str();
        while let Some(start) = rest.find("<!--") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find("-->")
                .map_or(rest.len(), |e| start + e + 3);
            rest = &rest[end..];
        }
        out.push_str(rest);
        out.replace("<!>", "")
    }

    #[test]
    fn formatting_is_drawn_as_elements_and_html_as_escaped_text() {
        assert_eq!(
            html("**b** <script>alert(1)</script> [x](javascript:y)", vec![]),
            "<div class=\"text\"><p><strong>b</strong> &lt;script&gt;alert(1)&lt;/script&gt; \
             [x](javascript:y)</p></div>"
        );
    }

    #[test]
    fn links_open_a_new_tab_without_opener_or_referrer_and_escape_quotes() {
        assert_eq!(
            html("[a \"b\"](https://x.io/?q=\"1\")", vec![]),
            "<div class=\"text\"><p><a href=\"https://x.io/?q=&quot;1&quot;\" target=\"_blank\" \
             rel=\"noopener noreferrer\">a \"b\"</a></p></div>"
        );
    }

    #[test]
    fn mentions_are_marked_outside_code() {
        let names = vec![("Ann".to_owned(), true), ("Bob".to_owned(), false)];
        assert_eq!(
            html("hi @Ann and *@Bob* `@Bob`", names),
            "<div class=\"text\"><p>hi <span class=\"mention mention-me\">@Ann</span> and \
             <em><span class=\"mention\">@Bob</span></em> <code>@Bob</code></p></div>"
        );
    }
}
