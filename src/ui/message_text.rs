//! A message's text, formatted: the tree of `client::markdown` drawn as
//! elements and text nodes (never an HTML string), the same on the server
//! (the first page) and in the browser (live messages).

use leptos::prelude::*;

use crate::client::markdown::{parse, Node};

/// Message text in the safe Markdown subset of PROTOCOL.md "Formatting";
/// links open in a new tab without an opener or a referrer. Previews (the
/// channel list, quotes, pins, the reply being written) show the text as
/// typed instead: one line of markers is easier to read than half-drawn
/// formatting.
#[component]
pub fn MessageText(
    /// The text as stored.
    text: String,
) -> impl IntoView {
    view! { <div class="text">{nodes(parse(&text))}</div> }
}

/// Draws nodes in order.
fn nodes(list: Vec<Node>) -> Vec<AnyView> {
    list.into_iter().map(node).collect()
}

/// Draws one node and what it holds.
fn node(n: Node) -> AnyView {
    match n {
        Node::Paragraph(c) => view! { <p>{nodes(c)}</p> }.into_any(),
        Node::Strong(c) => view! { <strong>{nodes(c)}</strong> }.into_any(),
        Node::Emphasis(c) => view! { <em>{nodes(c)}</em> }.into_any(),
        Node::Strikethrough(c) => view! { <del>{nodes(c)}</del> }.into_any(),
        Node::Code(t) => view! { <code>{t}</code> }.into_any(),
        Node::CodeBlock(t) => view! { <pre><code>{t}</code></pre> }.into_any(),
        Node::Quote(c) => view! { <blockquote>{nodes(c)}</blockquote> }.into_any(),
        Node::List { start: None, items } => view! { <ul>{list_items(items)}</ul> }.into_any(),
        Node::List {
            start: Some(start),
            items,
        } => {
            // `start` only when not 1, as the HTML default is.
            let start = (start != 1).then(|| start.to_string());
            view! { <ol start=start>{list_items(items)}</ol> }.into_any()
        }
        Node::Link { href, children } => view! {
            <a href=href target="_blank" rel="noopener noreferrer">{nodes(children)}</a>
        }
        .into_any(),
        Node::Text(t) => text_node(t),
        Node::LineBreak => view! { <br/> }.into_any(),
    }
}

/// A list's items.
fn list_items(items: Vec<Vec<Node>>) -> Vec<AnyView> {
    items
        .into_iter()
        .map(|item| view! { <li>{nodes(item)}</li> }.into_any())
        .collect()
}

/// Every piece of message text outside code goes through here: the one
/// place where mentions (`@Display Name`) will be highlighted.
fn text_node(text: String) -> AnyView {
    text.into_any()
}
