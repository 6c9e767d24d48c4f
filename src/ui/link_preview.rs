//! A message's link previews in the list (PROTOCOL.md "Link previews"):
//! one card per linked page with its site, title, description and
//! picture. The picture is the server's copy and takes its place before
//! it loads (its size is known), so a preview arriving or loading never
//! makes the list jump more than the card itself.

use leptos::prelude::*;

use crate::protocol::LinkPreview;
use crate::ui::attachments::shown_size;

/// A message's previews, in the order of its links.
#[component]
pub fn LinkPreviewList(
    /// The previews.
    items: Vec<LinkPreview>,
) -> impl IntoView {
    let cards = items
        .into_iter()
        .map(|p| view! { <LinkPreviewCard p/> })
        .collect_view();
    view! { <div class="link-previews">{cards}</div> }
}

/// One page's card; its title opens the page in a new tab.
#[component]
fn LinkPreviewCard(p: LinkPreview) -> impl IntoView {
    let site = p.site_name.clone().unwrap_or_else(|| p.host().to_owned());
    let title = p.title.clone().map(|t| {
        view! {
            <a class="link-preview-title" href=p.url.clone() target="_blank" rel="noopener noreferrer">
                {t}
            </a>
        }
    });
    let description = p
        .description
        .clone()
        .map(|d| view! { <p class="link-preview-description">{d}</p> });
    let image = p.image.clone().map(|i| {
        let (w, h) = shown_size(i.width, i.height);
        view! {
            <a
                class="link-preview-image"
                href=p.url.clone()
                target="_blank"
                rel="noopener noreferrer"
                tabindex="-1"
                aria-hidden="true"
                style=format!("width: {w}px; aspect-ratio: {w} / {h};")
            >
                <img src=i.url alt="" width=w height=h loading="lazy" decoding="async"/>
            </a>
        }
    });
    view! {
        <div class="link-preview" data-testid="link-preview">
            <span class="link-preview-site">{site}</span>
            {title}
            {description}
            {image}
        </div>
    }
}
