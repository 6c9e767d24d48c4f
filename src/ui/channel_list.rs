//! The channel list: one `ChannelPreview` per channel (badge, name, last
//! message with its sender, relative time, unread count), most recent
//! first, kept live by the open room's socket through [`ChannelsState`].

use leptos::prelude::*;

use crate::client::format::{relative_time, unread_badge};
use crate::protocol::{ChannelSummary, Timestamp};
use crate::ui::badge::ChannelBadge;
use crate::ui::state::channels::ChannelsState;

/// The sidebar's list of channels.
#[component]
pub fn ChannelList() -> impl IntoView {
    let state = expect_context::<ChannelsState>();
    view! {
        <ul class="channels">
            <For
                each=move || state.list.get()
                // Everything a row draws: an edited or deleted last message
                // changes the preview without a new seq.
                key=|c| (
                    c.id,
                    c.head_seq,
                    c.unread_count,
                    c.last_read_seq,
                    c.last_message.as_ref().map(|m| (m.id, m.text.clone())),
                )
                let:channel
            >
                <ChannelPreview channel/>
            </For>
        </ul>
    }
}

/// One row: badge, name, "Sender: text", time, unread count.
#[component]
pub fn ChannelPreview(
    /// The channel as the list shows it.
    channel: ChannelSummary,
) -> impl IntoView {
    let state = expect_context::<ChannelsState>();
    let id = channel.id;
    let href = format!("/chat/{id}");
    let is_open = move || state.open.get() == Some(id);
    let preview = channel.last_message.as_ref().map(|m| {
        let who = if m.user_id == state.me {
            "You".to_string()
        } else {
            channel
                .last_sender_name
                .clone()
                .unwrap_or_else(|| "Someone".into())
        };
        format!("{who}: {}", m.preview().lines().next().unwrap_or(""))
    });
    let at = channel.last_message.as_ref().map(|m| m.created_at);
    let time = move || {
        let now = Timestamp::from_millis(state.now_ms.get() as i64);
        at.map(|at| relative_time(at, now)).unwrap_or_default()
    };
    let badge = unread_badge(channel.unread_count);
    let unread_label = badge
        .as_ref()
        .map(|b| format!("{b} unread"))
        .unwrap_or_default();
    // Mentions of me apart from the unread count.
    let mentions = (channel.unread_mentions > 0).then(|| {
        let n = channel.unread_mentions;
        let label = if n == 1 {
            "1 mention of you".to_string()
        } else {
            format!("{n} mentions of you")
        };
        view! {
            <span class="mention-badge" data-testid="mention-badge" aria-label=label>
                {format!("@{}", unread_badge(n).unwrap_or_default())}
            </span>
        }
    });
    view! {
        <li class="channel-preview" class:active=is_open>
            <a href=href aria-current=move || is_open().then_some("page")>
                <ChannelBadge name=channel.name.clone() color=channel.color.clone()/>
                <span class="channel-text">
                    <span class="channel-name">{channel.name.clone()}</span>
                    <span class="channel-last">{preview.unwrap_or_else(|| "No messages yet".into())}</span>
                </span>
                <span class="channel-meta">
                    <time class="channel-time">{time}</time>
                    <span class="channel-badges">
                        {mentions}
                        {badge.map(|b| view! {
                            <span class="unread" data-testid="unread-badge" aria-label=unread_label>{b}</span>
                        })}
                    </span>
                </span>
            </a>
        </li>
    }
}
