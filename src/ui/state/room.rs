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

use crate::client::browser::{page_is_attended, page_is_visible};
use crate::client::outbox::Outbox;
use crate::client::room_model::{self, Changed, FrameContext, RoomEffect, RoomModel, Step};
use crate::client::socket::SocketHandlers;
use crate::client::timeline::Timeline;
use crate::client::{use_chat_socket, ConnectionState, SocketSender};
use crate::protocol::{ChannelId, ClientFrame, ClientId, Seq, ServerFrame, UserId};
use crate::server_fns::history::{load_history, mark_read};
use crate::ui::state::channels::ChannelsState;

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
    channels: ChannelsState,
    socket: StoredValue<Option<SocketSender>>,
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
        has_older: bool,
        names: HashMap<UserId, String>,
        max_text_chars: usize,
        channels: ChannelsState,
    ) -> Self {
        channels.learn_names(names.clone());
        let model = RoomModel::new(first);
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
            max_text_chars,
            channels,
            socket: StoredValue::new(None),
        };

        let socket = use_chat_socket(
            channel_id,
            SocketHandlers {
                on_frame: Rc::new(move |frame| room.on_frame(frame)),
                on_state: Rc::new(move |state| room.on_state(state)),
                last_seq: Rc::new(move || {
                    room.timeline
                        .try_with_untracked(|t| t.last_seq())
                        .unwrap_or(Seq::ZERO)
                }),
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
        let on_focus = window_event_listener(leptos::ev::focus, move |_| wake());
        on_cleanup(move || {
            on_visible.remove();
            on_online.remove();
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

    /// Shows `text` at once as pending and sends it; if the socket is down
    /// it goes out after the reconnect.
    pub fn send_text(&self, text: String) {
        let mut client_id = ClientId::default();
        self.outbox.update(|o| client_id = o.add(text.clone()));
        self.send_frame(&ClientFrame::MessageSend {
            text,
            client_id,
            reply_to: None,
        });
    }

    /// Sends a failed message again with its original client id.
    pub fn retry(&self, client_id: &ClientId) {
        let mut text = None;
        self.outbox.update(|o| text = o.retry(client_id));
        if let Some(text) = text {
            self.send_frame(&ClientFrame::MessageSend {
                text,
                client_id: client_id.clone(),
                reply_to: None,
            });
        }
    }

    /// Fetches the page before the first message shown and adds it; then
    /// runs `after` (the list uses it to keep its scroll position).
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
        leptos::task::spawn_local(async move {
            let result = load_history(state.channel_id, Some(first), None, None).await;
            if let Ok(page) = result {
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

    /// A server frame for this room.
    fn on_frame(&self, frame: ServerFrame) {
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
        swap(self.timeline, &mut model.timeline, changed.timeline)
            && swap(self.outbox, &mut model.outbox, changed.outbox)
            && swap(self.online, &mut model.online, changed.online)
            && swap(self.typing, &mut model.typing, changed.typing)
            && swap(self.connection, &mut model.connection, changed.connection)
            && swap(self.revoked, &mut model.revoked, changed.revoked)
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
