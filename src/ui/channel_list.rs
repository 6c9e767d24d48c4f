//! The channel list: one `ChannelPreview` per channel (badge, name, last
//! message with its sender, relative time, unread count), most recent
//! first, kept live by the open room's socket through [`ChannelsState`].

use crate::protocol::{ChannelId, Seq, UserId};
use std::collections::HashMap;

use leptos::prelude::*;

use crate::client::channel_list::{apply_activity, apply_read, Activity};
use crate::client::clock::now_ms;
use crate::client::format::{relative_time, unread_badge};
use crate::protocol::{ChannelSummary, Timestamp};
use crate::ui::badge::ChannelBadge;

/// The channel list and what it needs to follow live frames; provided as
/// context by the chat layout.
#[derive(Clone, Copy)]
pub struct ChannelsState {
    /// The channels, most recent activity first.
    pub list: RwSignal<Vec<ChannelSummary>>,
    /// Names of users seen so far (previews of activity frames).
    pub names: RwSignal<HashMap<UserId, String>>,
    /// The viewer.
    pub me: UserId,
    /// The channel on screen.
    pub open: Memo<Option<ChannelId>>,
    /// "Now" for relative times, refreshed every half minute in the browser.
    pub now_ms: RwSignal<f64>,
}

impl ChannelsState {
    /// A new message somewhere: preview, order and unread badge follow.
    pub fn on_activity(&self, mut activity: Activity) {
        if activity.sender_name.is_none() {
            activity.sender_name = self
                .names
                .with_untracked(|n| n.get(&activity.user_id).cloned());
        }
        let open = self.open.get_untracked();
        let me = self.me;
        self.list
            .update(|list| apply_activity(list, &activity, me, open));
    }

    /// The viewer's read cursor moved.
    pub fn on_read(&self, channel_id: ChannelId, last_read_seq: Seq) {
        self.list
            .update(|list| apply_read(list, channel_id, last_read_seq));
    }

    /// Replaces the list with a fresh copy from the server (the focus
    /// backstop).
    pub fn replace(&self, fresh: Vec<ChannelSummary>) {
        self.learn_names(fresh.iter().filter_map(|c| {
            Some((
                c.last_message.as_ref()?.user_id,
                c.last_sender_name.clone()?,
            ))
        }));
        self.list.set(fresh);
    }

    /// Remembers names (room members, previews).
    pub fn learn_names(&self, names: impl IntoIterator<Item = (UserId, String)>) {
        self.names.update(|known| known.extend(names));
    }
}

/// The sidebar's list of channels.
#[component]
pub fn ChannelList() -> impl IntoView {
    let state = expect_context::<ChannelsState>();
    view! {
        <ul class="channels">
            <For
                each=move || state.list.get()
                key=|c| (c.id, c.head_seq, c.unread_count, c.last_read_seq)
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
        format!("{who}: {}", m.text.lines().next().unwrap_or(""))
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
                    {badge.map(|b| view! {
                        <span class="unread" data-testid="unread-badge" aria-label=unread_label>{b}</span>
                    })}
                </span>
            </a>
        </li>
    }
}

/// Starts the half-minute clock of relative times (browser only: effects
/// do not run on the server).
pub fn tick_relative_times(now: RwSignal<f64>) {
    Effect::new(move |_| {
        now.set(now_ms());
        if let Ok(handle) = set_interval_with_handle(
            move || now.set(now_ms()),
            std::time::Duration::from_secs(30),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
}
