//! A message's files in the list: pictures as thumbnails that take their
//! place before they load (their size is known, so nothing jumps when
//! they arrive) and open in a lightbox; other files as cards with an icon,
//! the name, the size and a download link.

use leptos::prelude::*;

use crate::protocol::{Attachment, AttachmentKind};

/// The longest side a picture takes in the list, in CSS pixels (the
/// thumbnail is made at most 400 on its long side).
const SHOWN_MAX_PX: f64 = 320.0;

/// The picture open in the lightbox, shared by the page.
#[derive(Clone, Copy)]
pub struct LightboxState(pub RwSignal<Option<Attachment>>);

impl LightboxState {
    /// A closed lightbox.
    pub fn new() -> Self {
        LightboxState(RwSignal::new(None))
    }
}

impl Default for LightboxState {
    fn default() -> Self {
        Self::new()
    }
}

/// The size a picture of `width` × `height` takes in the list: scaled
/// down to [`SHOWN_MAX_PX`] on its long side, never up.
pub fn shown_size(width: u32, height: u32) -> (u32, u32) {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let scale = (SHOWN_MAX_PX / w.max(h)).min(1.0);
    (
        ((w * scale).round() as u32).max(1),
        ((h * scale).round() as u32).max(1),
    )
}

/// An icon for a file's type.
pub fn file_icon(mime: &str) -> &'static str {
    match mime {
        "application/pdf" => "📄",
        m if m.starts_with("audio/") => "🎵",
        m if m.starts_with("video/") => "🎬",
        m if m.starts_with("image/") => "🖼",
        m if m.starts_with("text/") => "📝",
        m if m.contains("zip") || m.contains("7z") || m.contains("gzip") => "🗜",
        m if m.contains("spreadsheet") || m.contains("excel") => "📊",
        m if m.contains("presentation") || m.contains("powerpoint") => "📽",
        m if m.contains("word") || m.contains("opendocument.text") => "📃",
        _ => "📎",
    }
}

/// A message's files.
#[component]
pub fn AttachmentList(
    /// The files, in the order sent.
    items: Vec<Attachment>,
) -> impl IntoView {
    let (pictures, files): (Vec<Attachment>, Vec<Attachment>) = items
        .into_iter()
        .partition(|a| a.kind == AttachmentKind::Image && a.thumb_url.is_some());
    let pictures = (!pictures.is_empty()).then(|| {
        let items = pictures
            .into_iter()
            .map(|a| view! { <Picture a/> })
            .collect_view();
        view! { <div class="attachment-pictures">{items}</div> }
    });
    let files = (!files.is_empty()).then(|| {
        let items = files
            .into_iter()
            .map(|a| view! { <FileCard a/> })
            .collect_view();
        view! { <div class="attachment-files">{items}</div> }
    });
    view! {
        <div class="attachments" data-testid="attachments">
            {pictures}
            {files}
        </div>
    }
}

/// A picture: its thumbnail at the size it will have, opening the
/// lightbox.
#[component]
fn Picture(a: Attachment) -> impl IntoView {
    let lightbox = use_context::<LightboxState>();
    let (w, h) = shown_size(a.width.unwrap_or(1), a.height.unwrap_or(1));
    let label = format!("Open the picture {}", a.name);
    let src = a.thumb_url.clone().unwrap_or_else(|| a.url.clone());
    let alt = a.name.clone();
    view! {
        <button
            type="button"
            class="attachment-picture"
            aria-label=label
            style=format!("width: {w}px; aspect-ratio: {w} / {h};")
            on:click=move |_| {
                if let Some(lightbox) = lightbox {
                    lightbox.0.set(Some(a.clone()));
                }
            }
        >
            <img src=src alt=alt width=w height=h loading="lazy" decoding="async"/>
        </button>
    }
}

/// Any other file: a card with its icon, name and size, which downloads
/// it.
#[component]
fn FileCard(a: Attachment) -> impl IntoView {
    let size = a.size_label();
    view! {
        <a
            class="file-card"
            href=a.url.clone()
            download=a.name.clone()
            title=format!("Download {}", a.name)
            data-testid="file-card"
        >
            <span class="file-icon" aria-hidden="true">{file_icon(&a.mime_type)}</span>
            <span class="file-name">{a.name.clone()}</span>
            <span class="file-size">{size}</span>
        </a>
    }
}

/// The open picture over the page: Escape, the close button or a click
/// beside the picture closes it.
#[component]
pub fn Lightbox() -> impl IntoView {
    let lightbox = expect_context::<LightboxState>();
    let close_button = NodeRef::<leptos::html::Button>::new();
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && lightbox.0.with_untracked(Option::is_some) {
            ev.prevent_default();
            lightbox.0.set(None);
        }
    });
    on_cleanup(move || on_key.remove());
    // The close button takes the focus when a picture opens.
    Effect::new(move |_| {
        if lightbox.0.with(Option::is_some) {
            if let Some(button) = close_button.get() {
                let _ = button.focus();
            }
        }
    });
    move || {
        lightbox.0.get().map(|a| {
            let (w, h) = (a.width.unwrap_or(1), a.height.unwrap_or(1));
            view! {
                <div
                    class="lightbox"
                    role="dialog"
                    aria-modal="true"
                    aria-label=a.name.clone()
                    data-testid="lightbox"
                    on:click=move |_| lightbox.0.set(None)
                >
                    <img
                        src=a.url.clone()
                        alt=a.name.clone()
                        width=w
                        height=h
                        on:click=|ev| ev.stop_propagation()
                    />
                    <div class="lightbox-bar" on:click=|ev| ev.stop_propagation()>
                        <span class="lightbox-name">{a.name.clone()}</span>
                        <a class="ghost" href=a.url.clone() download=a.name.clone()>"Download"</a>
                        <button
                            type="button"
                            class="ghost"
                            node_ref=close_button
                            aria-label="Close the picture"
                            on:click=move |_| lightbox.0.set(None)
                        >
                            "✕"
                        </button>
                    </div>
                </div>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_shrink_to_the_list_and_keep_their_shape() {
        assert_eq!(shown_size(800, 600), (320, 240));
        assert_eq!(shown_size(600, 1200), (160, 320));
        assert_eq!(shown_size(100, 50), (100, 50));
        assert_eq!(shown_size(0, 0), (1, 1));
    }

    #[test]
    fn icons_follow_the_type() {
        assert_eq!(file_icon("application/pdf"), "📄");
        assert_eq!(file_icon("application/zip"), "🗜");
        assert_eq!(file_icon("text/plain"), "📝");
        assert_eq!(file_icon("application/x-unknown"), "📎");
    }
}
