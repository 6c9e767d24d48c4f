//! The bar above the messages: sidebar toggle, the channel's badge and
//! name, how many members are online, the pinned-messages button, and the
//! connection state.

use leptos::prelude::*;

use crate::ui::badge::ChannelBadge;
use crate::ui::sidebar::SidebarToggle;
use crate::ui::state::channels::ChannelsState;
use crate::ui::state::room::RoomState;

/// The open conversation's header.
#[component]
pub fn ChatHeader() -> impl IntoView {
    let room = expect_context::<RoomState>();
    let channels = expect_context::<ChannelsState>();
    let (name, color) = channels
        .summary(room.channel_id)
        .map(|c| (c.name, c.color))
        .unwrap_or_else(|| ("Conversation".into(), "#6366f1".into()));
    let online = move || {
        let n = room.online.with(|set| set.len());
        format!("{n} online")
    };
    let state = move || room.connection.get();
    view! {
        <header class="chat-header">
            <SidebarToggle/>
            <ChannelBadge name=name.clone() color/>
            <div class="chat-title">
                <h1>{name}</h1>
                <span class="online-count" data-testid="online-count">{online}</span>
            </div>
            <button
                type="button"
                class="icon-button pins-button"
                aria-label="Pinned messages"
                title="Pinned messages"
                aria-expanded=move || room.pins_open.get().to_string()
                on:click=move |_| {
                    room.pins_open.update(|open| *open = !*open);
                    if room.pins_open.get_untracked() {
                        room.close_thread();
                    }
                }
            >
                "📌"
            </button>
            <span
                class="connection"
                data-state=move || state().as_str()
                role="status"
                data-testid="connection-state"
            >
                <span class="connection-dot" aria-hidden="true"></span>
                {move || state().label()}
            </span>
        </header>
    }
}
