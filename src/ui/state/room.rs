//! [`RoomState`]: the open conversation in signals (messages, unconfirmed
//! sends, presence, typing, connection), its socket, and the methods the
//! components call. What a frame or a reconnect does is decided by the pure
//! `client::room_model`; this module moves the data between the signals and
//! that reducer and performs the effects it returns. The header, message
//! list, typing indicator and composer read these signals and call these
//! methods.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use leptos::prelude::*;

use crate::client::alerts::{alert_for, alerts_hide_text, alerts_on, AlertContext};
use crate::client::browser::{focus_by_id, page_is_attended, page_is_visible, show_notification};
use crate::client::changes::PendingChanges;
use crate::client::clock::now_ms;
use crate::client::outbox::{Outbox, ThreadTarget};
use crate::client::room_model::{self, Changed, FrameContext, RoomEffect, RoomModel, Step};
use crate::client::socket::SocketHandlers;
use crate::client::timeline::Timeline;
use crate::client::{use_chat_socket, ConnectionState, SocketSender};
use crate::protocol::{
    Attachment, ChangeRequest, ChannelId, ClientFrame, ClientId, ClientSettings, Message,
    MessageId, Rev, Seq, ServerFrame, Timestamp, UserId,
};
use crate::server_fns::history::{load_history, mark_read};
use crate::server_fns::messages::load_reads;
use crate::ui::state::channels::ChannelsState;
use crate::ui::state::thread::ThreadState;

/// Everything the open conversation's components read and change;
/// provided as context by the room component.
#[derive(Clone, Copy)]
pub struct RoomState {
    /// The channel.
    pub channel_id: ChannelId,
    /// The viewer.
    pub me: UserId,
    /// Stored messages, by seq.
    pub timeline: RwSignal<Timeline>,
    /// Our sends the server has not confirmed.
    pub outbox: RwSignal<Outbox>,
    /// Member names by id.
    pub names: RwSignal<HashMap<UserId, String>>,
    /// Who is online in the channel.
    pub online: RwSignal<HashSet<UserId>>,
    /// Who else is typing (never the viewer).
    pub typing: RwSignal<HashSet<UserId>>,
    /// The socket's state.
    pub connection: RwSignal<ConnectionState>,
    /// Whether older messages exist before the first one shown.
    pub has_older: RwSignal<bool>,
    /// Whether a page of older messages is on its way.
    pub loading_older: RwSignal<bool>,
    /// The read cursor when the channel was opened (the unread divider).
    pub unread_after_seq: Seq,
    /// The server refused the viewer (access revoked while open).
    pub revoked: RwSignal<bool>,
    /// The newest incoming message, for screen readers.
    pub announcement: RwSignal<String>,
    /// Longest text the server accepts.
    pub max_text_chars: usize,
    /// The server's limits (files a message may carry, largest file).
    pub settings: ClientSettings,
    /// Our changes to messages the server has not confirmed.
    pub changes: RwSignal<PendingChanges>,
    /// Members' read cursors ("seen by").
    pub reads: RwSignal<HashMap<UserId, Seq>>,
    /// Whether the channel shows read receipts.
    pub read_receipts: bool,
    /// The list shows a window around an older message (after a jump);
    /// newer messages load as the reader scrolls down.
    pub detached: RwSignal<bool>,
    /// A page of newer messages is on its way (while detached).
    pub loading_newer: RwSignal<bool>,
    /// Bumped when the list is replaced (a jump) or grows by paging newer:
    /// the scroll anchor does not count such messages as new.
    pub list_epoch: RwSignal<u32>,
    /// Which list of messages is shown: bumped only when a jump replaces
    /// it, so a page of older or newer messages asked for the list before
    /// is dropped (added to the new window, it would leave a gap in it and
    /// move the scroll position by a height measured in the old list).
    window: StoredValue<u32>,
    /// The message whose text the composer is editing.
    pub editing: RwSignal<Option<MessageId>>,
    /// The message the next send quotes.
    pub replying: RwSignal<Option<MessageId>>,
    /// The message a jump landed on (highlighted, scrolled to).
    pub highlight: RwSignal<Option<Seq>>,
    /// The message whose actions menu or emoji picker is open.
    pub actions_for: RwSignal<Option<(MessageId, ActionsView)>>,
    /// The message waiting for a delete confirmation.
    pub confirm_delete: RwSignal<Option<MessageId>>,
    /// Whether the pinned-messages panel is open.
    pub pins_open: RwSignal<bool>,
    /// The thread whose panel is open.
    pub thread: RwSignal<Option<ThreadState>>,
    /// The highest seq sent to this page and the rev it holds every change
    /// up to (where a reconnect resumes); not drawn.
    heads: RwSignal<(Seq, Rev)>,
    channels: ChannelsState,
    socket: StoredValue<Option<SocketSender>>,
    /// The room's reactive owner: a thread opened from a message's button
    /// must outlive that message's row (which a change redraws).
    owner: StoredValue<Option<Owner>>,
}

/// What a message's open popover shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionsView {
    /// The actions menu (react, reply, edit, delete, pin, copy).
    Menu,
    /// The emoji picker.
    Picker,
}

impl RoomState {
    /// Opens the live room of `channel_id` for `me`: its first page of
    /// messages (`first`, with `has_older` before it), the members' names,
    /// the server's text limit; connects its socket, reads the channel, and
    /// reconnects and reads again when the page comes back to the front or
    /// online. Everything stops when the calling component goes away.
    pub fn open(
        channel_id: ChannelId,
        me: UserId,
        first: Timeline,
        (has_older, first_rev): (bool, Rev),
        names: HashMap<UserId, String>,
        settings: ClientSettings,
        channels: ChannelsState,
    ) -> Self {
        channels.learn_names(names.clone());
        let mut model = RoomModel::new(first);
        model.head_rev = first_rev;
        let read_receipts = channels.summary(channel_id).is_none_or(|c| c.read_receipts);
        let room = RoomState {
            channel_id,
            me,
            timeline: RwSignal::new(model.timeline),
            outbox: RwSignal::new(model.outbox),
            names: RwSignal::new(names),
            online: RwSignal::new(model.online),
            typing: RwSignal::new(model.typing),
            connection: RwSignal::new(model.connection),
            has_older: RwSignal::new(has_older),
            loading_older: RwSignal::new(false),
            unread_after_seq: channels.read_cursor(channel_id),
            revoked: RwSignal::new(model.revoked),
            announcement: RwSignal::new(String::new()),
            max_text_chars: settings.max_text_chars,
            settings,
            changes: RwSignal::new(model.changes),
            reads: RwSignal::new(model.reads),
            read_receipts,
            detached: RwSignal::new(model.detached),
            loading_newer: RwSignal::new(false),
            list_epoch: RwSignal::new(0),
            window: StoredValue::new(0),
            editing: RwSignal::new(None),
            replying: RwSignal::new(None),
            highlight: RwSignal::new(None),
            actions_for: RwSignal::new(None),
            confirm_delete: RwSignal::new(None),
            pins_open: RwSignal::new(false),
            thread: RwSignal::new(None),
            heads: RwSignal::new((model.head_seq, model.head_rev)),
            channels,
            socket: StoredValue::new(None),
            owner: StoredValue::new(Owner::current()),
        };

        let socket = use_chat_socket(
            channel_id,
            SocketHandlers {
                on_frame: Rc::new(move |frame| room.on_frame(frame)),
                on_state: Rc::new(move |state| room.on_state(state)),
                resume_from: Rc::new(move || room.heads.try_get_untracked().unwrap_or_default()),
            },
        );
        room.socket.set_value(Some(socket));

        // Opening the channel reads it.
        Effect::new(move |_| {
            let seq = room.timeline.with_untracked(|t| t.last_seq());
            leptos::task::spawn_local(async move {
                if let Ok(cursor) = mark_read(channel_id, Some(seq)).await {
                    channels.on_read(channel_id, cursor);
                }
            });
        });
        // "Seen by": every member's cursor now; `member.read` keeps it live.
        if read_receipts {
            Effect::new(move |_| {
                leptos::task::spawn_local(async move {
                    if let Ok(reads) = load_reads(channel_id).await {
                        let _ = room.reads.try_update(|r| {
                            for read in reads {
                                let cursor = r.entry(read.user_id).or_default();
                                *cursor = (*cursor).max(read.last_read_seq);
                            }
                        });
                    }
                });
            });
        }
        // Back in front, or back online: reconnect now rather than after
        // the backoff, and read what arrived meanwhile.
        let wake = move || {
            if page_is_visible() {
                socket.reconnect_now();
                room.read_if_attended();
            }
        };
        let on_visible = window_event_listener_untyped("visibilitychange", move |_| wake());
        let on_online = window_event_listener(leptos::ev::online, move |_| socket.reconnect_now());
        let on_offline = window_event_listener(leptos::ev::offline, move |_| socket.went_offline());
        let on_focus = window_event_listener(leptos::ev::focus, move |_| wake());
        on_cleanup(move || {
            on_visible.remove();
            on_online.remove();
            on_offline.remove();
            on_focus.remove();
        });
        room
    }

    fn socket(&self) -> Option<SocketSender> {
        self.socket.try_get_value().flatten()
    }

    /// Sends a frame if the socket is open.
    pub fn send_frame(&self, frame: &ClientFrame) -> bool {
        self.socket().is_some_and(|s| s.send(frame))
    }

    /// Shows `text` at once as pending and sends it (quoting the message
    /// being replied to, if any); if the socket is down it goes out after
    /// the reconnect.
    pub fn send_text(&self, text: String, mentions: Vec<UserId>, attachments: Vec<Attachment>) {
        let reply_to = self.replying.get_untracked();
        self.replying.set(None);
        self.send_new(text, reply_to, None, mentions, attachments);
    }

    /// Queues a new message in the outbox (shown at once as pending) and
    /// sends it; if the socket is down it goes out after the reconnect.
    pub fn send_new(
        &self,
        text: String,
        reply_to: Option<MessageId>,
        thread: Option<ThreadTarget>,
        mentions: Vec<UserId>,
        attachments: Vec<Attachment>,
    ) {
        let mut frame = None;
        self.outbox
            .update(|o| frame = Some(o.add_send(text, reply_to, thread, mentions, attachments)));
        if let Some(frame) = frame {
            self.send_frame(&frame);
        }
    }

    /// Sends a failed message again with its original client id.
    pub fn retry(&self, client_id: &ClientId) {
        let mut again = None;
        self.outbox.update(|o| again = o.retry(client_id));
        if let Some(frame) = again {
            self.send_frame(&frame);
        }
    }

    /// How the UI names `user` (not tracked): `me` for the viewer, the
    /// member's name when known, else `unknown`.
    pub fn name_or(&self, user: UserId, me: &str, unknown: &str) -> String {
        if user == self.me {
            return me.to_string();
        }
        self.names
            .with_untracked(|n| n.get(&user).cloned())
            .unwrap_or_else(|| unknown.to_string())
    }

    /// The message with `id` as the list or the open thread shows it (our
    /// waiting changes applied), if it is loaded.
    pub fn message(&self, id: MessageId) -> Option<Message> {
        let in_thread = || {
            let thread = self.thread.get_untracked()?;
            thread.model.with_untracked(|t| {
                t.replies
                    .by_id(id)
                    .cloned()
                    .or_else(|| t.parent.clone().filter(|p| p.id == id))
            })
        };
        let stored = self
            .timeline
            .with_untracked(|t| t.by_id(id).cloned())
            .or_else(in_thread)?;
        let now = Timestamp::from_millis(now_ms() as i64);
        Some(
            self.changes
                .with_untracked(|c| c.overlay(&stored, self.me, now)),
        )
    }

    /// Asks for a change to a message: shown at once, sent now (or after
    /// the reconnect); a refusal shows on the message with a retry.
    pub fn change(&self, id: MessageId, request: ChangeRequest) {
        let Some(current) = self.message(id) else {
            return;
        };
        let mut frame = None;
        self.changes
            .update(|c| frame = c.add(&current, request, self.me));
        if let Some(frame) = frame {
            self.send_frame(&frame);
        }
    }

    /// Adds my reaction, or takes it back when I already reacted.
    pub fn toggle_reaction(&self, id: MessageId, emoji: &str) {
        let Some(current) = self.message(id) else {
            return;
        };
        let emoji = emoji.to_string();
        let request = if current.reacted(&emoji, self.me) {
            ChangeRequest::ReactionRemove { emoji }
        } else {
            ChangeRequest::ReactionAdd { emoji }
        };
        self.change(id, request);
    }

    /// Sends a refused change again.
    pub fn retry_change(&self, client_id: &ClientId) {
        let mut frame = None;
        self.changes.update(|c| frame = c.retry(client_id));
        if let Some(frame) = frame {
            self.send_frame(&frame);
        }
    }

    /// Gives a refused change up (the message shows its stored state).
    pub fn dismiss_change(&self, client_id: &ClientId) {
        self.changes.update(|c| {
            c.dismiss(client_id);
        });
    }

    /// The composer quotes `id` in the next send.
    pub fn start_reply(&self, id: MessageId) {
        self.editing.set(None);
        self.replying.set(Some(id));
        focus_composer();
    }

    /// The composer edits `id` (one of mine).
    pub fn start_edit(&self, id: MessageId) {
        self.replying.set(None);
        self.editing.set(Some(id));
        focus_composer();
    }

    /// Saves the composer's text as the new text of the message being
    /// edited (unchanged text changes nothing).
    pub fn save_edit(&self, text: String, mentions: Vec<UserId>) {
        if let Some(id) = self.editing.get_untracked() {
            self.editing.set(None);
            self.change(
                id,
                ChangeRequest::Edit {
                    text,
                    if_rev: None,
                    mentions: Some(mentions),
                },
            );
        }
    }

    /// My latest message that can still be edited (Up-arrow in an empty
    /// composer edits it).
    pub fn my_last_message(&self) -> Option<MessageId> {
        self.timeline.with_untracked(|t| {
            t.messages()
                .rev()
                .find(|m| m.user_id == self.me && !m.deleted)
                .map(|m| m.id)
        })
    }

    /// Shows the message at `seq`, highlighted: at once when it is loaded,
    /// else after loading the page around it (the list then pages both
    /// ways, and live messages wait until it reaches the newest again).
    pub fn jump_to(&self, seq: Seq) {
        if self.timeline.with_untracked(|t| t.at(seq).is_some()) {
            self.highlight.set(None);
            self.highlight.set(Some(seq));
            return;
        }
        let state = *self;
        leptos::task::spawn_local(async move {
            let Ok(page) = load_history(state.channel_id, None, None, Some(seq)).await else {
                return;
            };
            let mut timeline = Timeline::default();
            timeline.extend(page.messages);
            state.window.update_value(|w| *w += 1);
            let _ = state.list_epoch.try_update(|e| *e += 1);
            let _ = state.timeline.try_set(timeline);
            let _ = state
                .has_older
                .try_set(page.has_more_before.unwrap_or(page.has_more));
            let _ = state.detached.try_set(page.has_more_after.unwrap_or(false));
            let _ = state.highlight.try_set(Some(seq));
            if !page.has_more_after.unwrap_or(false) {
                state.resume_live();
            }
        });
    }

    /// Back to the newest messages after a jump.
    pub fn jump_to_latest(&self) {
        let state = *self;
        leptos::task::spawn_local(async move {
            let Ok(page) = load_history(state.channel_id, None, None, None).await else {
                return;
            };
            let mut timeline = Timeline::default();
            timeline.extend(page.messages);
            state.window.update_value(|w| *w += 1);
            let _ = state.list_epoch.try_update(|e| *e += 1);
            let _ = state.timeline.try_set(timeline);
            let _ = state.has_older.try_set(page.has_more);
            let _ = state.detached.try_set(false);
            let _ = state.highlight.try_set(None);
            state.resume_live();
        });
    }

    /// While detached: fetches the page after the last message shown; the
    /// last page ends the detachment. (Dropped when a jump replaced the
    /// list meanwhile.)
    pub fn load_newer(&self) {
        if !self.detached.get_untracked() || self.loading_newer.get_untracked() {
            return;
        }
        let last = self.timeline.with_untracked(|t| t.last_seq());
        self.loading_newer.set(true);
        let state = *self;
        let window = self.window.get_value();
        leptos::task::spawn_local(async move {
            let result = load_history(state.channel_id, None, Some(last), None).await;
            let same_window = state.window.try_get_value() == Some(window);
            if let (Ok(page), true) = (result, same_window) {
                let more = page.has_more;
                let _ = state.list_epoch.try_update(|e| *e += 1);
                let _ = state.timeline.try_update(|t| t.extend(page.messages));
                if !more {
                    let _ = state.detached.try_set(false);
                    state.resume_live();
                }
            }
            let _ = state.loading_newer.try_set(false);
        });
    }

    /// After the list reached the newest messages again: asks the socket
    /// for anything after the last one shown (messages that came live
    /// while it was detached), in order, and every change since.
    fn resume_live(&self) {
        let last = self.timeline.with_untracked(|t| t.last_seq());
        let (_, rev) = self.heads.get_untracked();
        let _ = self.heads.try_update_untracked(|h| h.0 = last);
        self.send_frame(&ClientFrame::Resume {
            after_seq: last,
            after_rev: Some(rev),
        });
    }

    /// Fetches the page before the first message shown and adds it; then
    /// runs `after` (the list uses it to keep its scroll position). When a
    /// jump replaced the list meanwhile, the page is dropped and `after`
    /// does not run.
    /// Returns at once if a page is already on its way or none is left.
    pub fn load_older(&self, after: impl FnOnce() + 'static) {
        if self.loading_older.get_untracked() || !self.has_older.get_untracked() {
            return;
        }
        let Some(first) = self.timeline.with_untracked(|t| t.first_seq()) else {
            return;
        };
        self.loading_older.set(true);
        let state = *self;
        let window = self.window.get_value();
        leptos::task::spawn_local(async move {
            let result = load_history(state.channel_id, Some(first), None, None).await;
            let same_window = state.window.try_get_value() == Some(window);
            if let (Ok(page), true) = (result, same_window) {
                let _ = state.has_older.try_set(page.has_more);
                let _ = state.timeline.try_update(|t| t.extend(page.messages));
                after();
            }
            let _ = state.loading_older.try_set(false);
        });
    }

    /// Marks everything shown as read when the reader is looking.
    pub fn read_if_attended(&self) {
        if page_is_attended() {
            if let Some(frame) = self.timeline.with_untracked(room_model::read_frame) {
                self.send_frame(&frame);
            }
        }
    }

    /// Opens the thread of `parent_id` beside the messages (the pins panel
    /// closes: one panel at a time).
    pub fn open_thread(&self, parent_id: MessageId) {
        if self
            .thread
            .get_untracked()
            .is_some_and(|t| t.parent_id == parent_id)
        {
            return;
        }
        self.pins_open.set(false);
        let (channel_id, me, socket) = (self.channel_id, self.me, self.socket());
        let open = move || ThreadState::open(channel_id, me, socket, parent_id);
        let thread = match self.owner.get_value() {
            Some(owner) => owner.with(open),
            None => open(),
        };
        self.thread.set(Some(thread));
    }

    /// Sends a reply in `thread` (shown at once as pending in its panel).
    pub fn send_in_thread(&self, thread: ThreadState, text: String, attachments: Vec<Attachment>) {
        self.send_new(
            text,
            None,
            Some(thread.next_target()),
            Vec::new(),
            attachments,
        );
    }

    /// Closes the thread panel.
    pub fn close_thread(&self) {
        self.thread.set(None);
    }

    /// A server frame for this room.
    fn on_frame(&self, frame: ServerFrame) {
        self.alert_if_away(&frame);
        if let Some(thread) = self.thread.get_untracked() {
            thread.on_frame(&frame);
        }
        if let ServerFrame::ThreadReadUpdated {
            channel_id,
            parent_id,
            unread_count,
            ..
        } = &frame
        {
            self.channels
                .on_thread_read(*channel_id, *parent_id, *unread_count);
        }
        let me = self.me;
        let attended = page_is_attended();
        let mut model = RoomModel::new(Timeline::default());
        if !self.exchange(&mut model, Changed::default()) {
            return;
        }
        let step = self.names.try_with_untracked(|names| {
            room_model::apply(
                &mut model,
                frame,
                &FrameContext {
                    me,
                    names,
                    attended,
                },
            )
        });
        self.finish(model, step.unwrap_or_default());
    }

    /// While the page is in the background and the viewer turned
    /// notifications on: a mention of them, or a new reply in one of their
    /// threads, becomes a system notification.
    fn alert_if_away(&self, frame: &ServerFrame) {
        if page_is_attended() || !alerts_on() {
            return;
        }
        let before = match frame {
            ServerFrame::ThreadReadUpdated { parent_id, .. } => self
                .channels
                .thread_unread
                .with_untracked(|known| known.get(parent_id).map_or(0, |(_, n)| *n)),
            _ => 0,
        };
        let channels = self.channels;
        let channel_name = move |id| channels.summary(id).map(|c| c.name);
        let user_name = move |id| channels.names.with_untracked(|n| n.get(&id).cloned());
        let cx = AlertContext {
            me: self.me,
            channel_name: &channel_name,
            user_name: &user_name,
            thread_unread_before: before,
            hide_text: alerts_hide_text(),
        };
        if let Some(alert) = alert_for(frame, &cx) {
            show_notification(&alert.title, &alert.body, &alert.tag, &alert.href);
        }
    }

    /// The socket's state changed.
    fn on_state(&self, state: ConnectionState) {
        let mut model = RoomModel::new(Timeline::default());
        if !self.exchange(&mut model, Changed::default()) {
            return;
        }
        let step = room_model::on_connection(&mut model, state);
        self.finish(model, step);
    }

    /// Swaps the signals' data with `model`'s: the reducer runs over the
    /// data taken out (nobody notified), which then goes back the same way,
    /// notifying the readers of the parts that `changed`. Returns false
    /// once the room is gone (a late socket callback).
    fn exchange(&self, model: &mut RoomModel, changed: Changed) -> bool {
        let mut heads = (model.head_seq, model.head_rev);
        let mut detached = model.detached;
        let done = swap(self.timeline, &mut model.timeline, changed.timeline)
            && swap(self.outbox, &mut model.outbox, changed.outbox)
            && swap(self.online, &mut model.online, changed.online)
            && swap(self.typing, &mut model.typing, changed.typing)
            && swap(self.connection, &mut model.connection, changed.connection)
            && swap(self.revoked, &mut model.revoked, changed.revoked)
            && swap(self.changes, &mut model.changes, changed.changes)
            && swap(self.reads, &mut model.reads, changed.reads)
            && swap(self.heads, &mut heads, false)
            && swap(self.detached, &mut detached, false);
        (model.head_seq, model.head_rev) = heads;
        model.detached = detached;
        done
    }

    /// Puts the data back after a reducer step (notifying what changed)
    /// and performs the step's effects.
    fn finish(&self, mut model: RoomModel, Step { changed, effects }: Step) {
        self.exchange(&mut model, changed);
        for effect in effects {
            match effect {
                RoomEffect::Send(frame) => {
                    self.send_frame(&frame);
                }
                RoomEffect::List(update) => self.channels.apply(update),
                RoomEffect::Announce(text) => {
                    let _ = self.announcement.try_set(text);
                }
            }
        }
    }
}

/// Puts the keyboard in the composer (after choosing reply or edit).
fn focus_composer() {
    focus_by_id("composer-text");
}

/// Swaps a signal's value with `value`, notifying its readers only if
/// `changed`; false if the signal is gone.
fn swap<T: 'static + Send + Sync>(signal: RwSignal<T>, value: &mut T, changed: bool) -> bool {
    signal
        .try_maybe_update(|slot| {
            std::mem::swap(slot, value);
            (changed, ())
        })
        .is_some()
}
