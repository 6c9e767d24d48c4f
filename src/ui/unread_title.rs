//! The page title and icon say how many messages wait unread in all my
//! conversations, so a tab in the background shows it ("(3) Chat", a red
//! badge on the icon).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::client::browser::set_icon;
use crate::client::format::{icon_with_unread, title_with_unread};
use crate::ui::state::channels::ChannelsState;

/// The title (server-rendered too) and, in the browser, the icon.
#[component]
pub fn UnreadTitle() -> impl IntoView {
    let channels = expect_context::<ChannelsState>();
    // The open conversation counts what arrived after my read cursor: it
    // is read while I look, and not while the tab is in the background.
    let total = Memo::new(move |_| {
        let open = channels.open.get();
        channels.list.with(|list| {
            list.iter()
                .map(|c| {
                    let behind = if open == Some(c.id) {
                        (c.head_seq.get() - c.last_read_seq.get()).max(0)
                    } else {
                        0
                    };
                    c.unread_count.max(behind).max(0)
                })
                .sum::<i64>()
        })
    });
    // Effects run only in the browser; the cleanup (when the page goes,
    // or before the next count) gives the plain icon back.
    Effect::new(move |_| {
        set_icon(icon_with_unread(total.get()).as_deref());
        on_cleanup(|| set_icon(None));
    });
    view! { <Title text=move || title_with_unread(total.get())/> }
}
