//! [`ChannelsState`]: the channel list in signals, kept live by the open
//! room's socket. The rules it follows are `client::channel_list`'s; the
//! components (`ChannelList`, `ChannelPreview`, the chat header) only read
//! its signals.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::client::channel_list::{apply_update, read_cursor, sender_names, ListUpdate};
use crate::client::clock::now_ms;
use crate::protocol::{ChannelId, ChannelSummary, MessageId, Seq, ThreadSummary, UserId};

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
    /// My unread reply counts of the threads I take part in, by parent
    /// (with its channel): from the threads view's list, then kept live by
    /// `thread.read.updated`.
    pub thread_unread: RwSignal<HashMap<MessageId, (ChannelId, i64)>>,
    /// Bumped whenever a thread of mine changes (the threads view reloads).
    pub threads_version: RwSignal<u32>,
}

impl ChannelsState {
    /// The state of `list` as the server sent it, for the viewer `me`
    /// (called `my_name`), with `open` on screen. Starts the clock of the
    /// relative times (browser only: effects do not run on the server).
    pub fn new(
        list: Vec<ChannelSummary>,
        me: UserId,
        my_name: String,
        open: Memo<Option<ChannelId>>,
    ) -> Self {
        let names: HashMap<UserId, String> = sender_names(&list).chain([(me, my_name)]).collect();
        let state = ChannelsState {
            list: RwSignal::new(list),
            names: RwSignal::new(names),
            me,
            open,
            now_ms: RwSignal::new(now_ms()),
            thread_unread: RwSignal::new(HashMap::new()),
            threads_version: RwSignal::new(0),
        };
        tick_relative_times(state.now_ms);
        state
    }

    /// A new message somewhere, or a moved read cursor: preview, order and
    /// unread badge follow.
    pub fn apply(&self, update: ListUpdate) {
        let open = self.open.get_untracked();
        let me = self.me;
        self.names.with_untracked(|names| {
            self.list
                .update(|list| apply_update(list, names, update, me, open))
        });
    }

    /// The viewer's read cursor moved.
    pub fn on_read(&self, channel_id: ChannelId, last_read_seq: Seq) {
        self.apply(ListUpdate::Read {
            channel_id,
            last_read_seq,
            unread_mentions: None,
        });
    }

    /// Replaces the list with a fresh copy from the server (the focus
    /// backstop).
    pub fn replace(&self, fresh: Vec<ChannelSummary>) {
        self.learn_names(sender_names(&fresh));
        self.list.set(fresh);
    }

    /// Remembers names (room members, previews).
    pub fn learn_names(&self, names: impl IntoIterator<Item = (UserId, String)>) {
        self.names.update(|known| known.extend(names));
    }

    /// The list's entry for `channel_id` as it is now (not tracked).
    pub fn summary(&self, channel_id: ChannelId) -> Option<ChannelSummary> {
        self.list
            .with_untracked(|list| list.iter().find(|c| c.id == channel_id).cloned())
    }

    /// My threads as the server listed them (counts newer than the list,
    /// from live frames, are kept).
    pub fn learn_threads(&self, threads: &[ThreadSummary]) {
        self.thread_unread.update(|known| {
            for t in threads {
                known
                    .entry(t.parent.id)
                    .or_insert((t.channel_id, t.unread_count));
            }
        });
    }

    /// A thread of mine got a new unread count (a reply, or I read it).
    pub fn on_thread_read(&self, channel_id: ChannelId, parent_id: MessageId, unread: i64) {
        self.thread_unread.update(|known| {
            known.insert(parent_id, (channel_id, unread));
        });
        self.threads_version.update(|v| *v = v.wrapping_add(1));
    }

    /// My unread replies in the thread of `parent_id` (tracked).
    pub fn thread_unread_of(&self, parent_id: MessageId) -> i64 {
        self.thread_unread
            .with(|known| known.get(&parent_id).map_or(0, |(_, n)| *n))
    }

    /// How many of my threads have unread replies: what the channel list
    /// said until the threads are known, then the live count (tracked).
    pub fn threads_with_unread(&self) -> usize {
        let known = self.thread_unread.with(|known| {
            (!known.is_empty()).then(|| known.values().filter(|(_, n)| *n > 0).count())
        });
        known.unwrap_or_else(|| {
            self.list
                .with(|list| list.iter().map(|c| c.unread_threads.max(0) as usize).sum())
        })
    }

    /// The viewer's read cursor in `channel_id` as it is now (not tracked).
    pub fn read_cursor(&self, channel_id: ChannelId) -> Seq {
        self.list
            .with_untracked(|list| read_cursor(list, channel_id))
    }
}

/// Starts the half-minute clock of relative times (browser only: effects
/// do not run on the server).
fn tick_relative_times(now: RwSignal<f64>) {
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
